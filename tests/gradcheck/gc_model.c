/* Builds a .net into a loaded trainer: octoc --emit=c, the system C compiler
 * (-shared, with a shim exporting the header's macros), dlopen. The float
 * and the double build of a model compile side by side (two cores). */
#include "gc_model.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *env_or(const char *name, const char *def) {
  const char *v = getenv(name);
  return v && *v ? v : def;
}

static char *fmt(const char *f, const char *a, const char *b) {
  size_t n = strlen(f) + strlen(a) + strlen(b) + 1;
  char *s = malloc(n);
  if (!s) abort();
  snprintf(s, n, f, a, b);
  return s;
}

/* Starts argv[0] with PATH lookup; -1 if it could not. */
static pid_t spawn(char *const *argv) {
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) {
    execvp(argv[0], argv);
    fprintf(stderr, "gradcheck: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  if (pid < 0) fprintf(stderr, "gradcheck: fork: %s\n", strerror(errno));
  return pid;
}

static bool finished_ok(pid_t pid, const char *what) {
  int status;
  if (pid < 0) return false;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return false;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
  fprintf(stderr, "gradcheck: %s failed (status %d)\n", what, status);
  return false;
}

bool gc_run(char *const *argv) { return finished_ok(spawn(argv), argv[0]); }

/* The argument lists of one build's two commands; strings are malloc'd
 * and kept in `owned` so one free releases them. */
typedef struct Cmd {
  char *argv[48];
  int argc;
  char *owned[48];
  int nowned;
} Cmd;

static void arg(Cmd *c, const char *s) {
  if (c->argc < 47) c->argv[c->argc++] = (char *)s;
  c->argv[c->argc] = NULL;
}

static char *own(Cmd *c, char *s) {
  if (c->nowned < 48) c->owned[c->nowned++] = s;
  return s;
}

static void cmd_free(Cmd *c) {
  for (int i = 0; i < c->nowned; i++) free(c->owned[i]);
  c->argc = c->nowned = 0;
}

static char *base_path(const GcBuild *b, bool dbl) {
  char *dir_tag = fmt("%s/%s", b->dir, b->tag);
  char *base = fmt("%s%s", dir_tag, dbl ? "_d" : "_f");
  free(dir_tag);
  return base;
}

static void octoc_cmd(Cmd *c, const GcBuild *b, const char *base, bool dbl) {
  arg(c, env_or("OCTOC", "octoc"));
  arg(c, b->net);
  arg(c, "--emit=c");
  if (dbl) arg(c, "--emit-real=double");
  arg(c, "--batch");
  char num[24];
  snprintf(num, sizeof num, "%d", b->batch);
  arg(c, own(c, fmt("%s%s", num, "")));
  for (int i = 0; i < 8 && b->sets[i]; i++) {
    arg(c, "--set");
    arg(c, b->sets[i]);
  }
  arg(c, "-o");
  arg(c, own(c, fmt("%s.c", base, "")));
}

/* The shim turns the header's macros into data symbols for dlsym. */
static bool write_shim(const GcBuild *b, const char *base, const char *header) {
  char *path = fmt("%s_shim.c", base, "");
  FILE *f = fopen(path, "w");
  bool ok = f != NULL;
  if (f) {
    char up[128];
    size_t i = 0;
    for (; b->prefix[i] && i + 1 < sizeof up; i++)
      up[i] = (char)(b->prefix[i] >= 'a' && b->prefix[i] <= 'z' ? b->prefix[i] - 32 : b->prefix[i]);
    up[i] = 0;
    fprintf(f, "#include \"%s\"\n"
               "#ifndef %s_LABEL_SIZE\n#define %s_LABEL_SIZE 0\n#endif\n"
               "const size_t gc_sizes[7] = {%s_STATE_BYTES, %s_WORK_BYTES, %s_BATCH,\n"
               "    %s_INPUT_SIZE, %s_NUM_CLASSES, %s_NTENSORS, %s_LABEL_SIZE};\n",
            header, up, up, up, up, up, up, up, up, up);
    ok = !ferror(f);
    ok = fclose(f) == 0 && ok;
  }
  if (!ok) fprintf(stderr, "gradcheck: cannot write %s\n", path);
  free(path);
  return ok;
}

static void cc_cmd(Cmd *c, const char *base) {
  arg(c, env_or("GC_CC", "cc"));
  char *flags = own(c, fmt("%s%s", env_or("GC_CFLAGS", "-O1"), ""));
  for (char *save = NULL, *t = strtok_r(flags, " ", &save); t; t = strtok_r(NULL, " ", &save))
    arg(c, t);
  arg(c, "-std=c99");
  arg(c, "-Wall");
  arg(c, "-Wextra");
  arg(c, "-Werror");
  arg(c, "-fPIC");
  arg(c, "-shared");
  arg(c, "-o");
  arg(c, own(c, fmt("%s.so", base, "")));
  arg(c, own(c, fmt("%s.c", base, "")));
  arg(c, own(c, fmt("%s_shim.c", base, "")));
  arg(c, "-lm");
}

static void *sym(GcModel *m, const char *prefix, const char *name, bool required) {
  char *s = fmt("%s%s", prefix, name);
  void *p = dlsym(m->so, s);
  if (!p && required) fprintf(stderr, "gradcheck: no symbol %s\n", s);
  free(s);
  return p;
}

static bool load(const GcBuild *b, const char *base, bool dbl, GcModel *m) {
  memset(m, 0, sizeof *m);
  m->dbl = dbl;
  char *so = fmt("%s.so", base, "");
  m->so = dlopen(so, RTLD_NOW | RTLD_LOCAL);
  free(so);
  if (!m->so) {
    fprintf(stderr, "gradcheck: dlopen: %s\n", dlerror());
    return false;
  }
  const size_t *sizes = sym(m, "", "gc_sizes", true);
  void *init = sym(m, b->prefix, "_init", true), *step = sym(m, b->prefix, "_train_step", true);
  m->tensors = sym(m, b->prefix, "_tensors", true);
  if (!sizes || !init || !step || !m->tensors) return false;
  /* POSIX guarantees data and function pointers convert through dlsym. */
  memcpy(&m->init, &init, sizeof init);
  /* A regression model (no classes) takes float targets. */
  bool regression = sizes[4] == 0;
  if (regression && dbl) memcpy(&m->step_rd, &step, sizeof step);
  else if (regression) memcpy(&m->step_rf, &step, sizeof step);
  else if (dbl) memcpy(&m->step_d, &step, sizeof step);
  else memcpy(&m->step_f, &step, sizeof step);
  void *se = sym(m, b->prefix, "_set_epoch", false);
  if (se) memcpy(&m->set_epoch, &se, sizeof se);
  m->state_bytes = sizes[0];
  m->work_bytes = sizes[1];
  m->batch = (int)sizes[2];
  m->input_size = (int)sizes[3];
  m->num_classes = (int)sizes[4];
  m->ntensors = (int)sizes[5];
  m->label_size = (int)sizes[6];
  m->work = gc_alloc(m->work_bytes);
  return true;
}

bool gc_build_pair(const GcBuild *b, GcModel *f, GcModel *d) {
  char *base[2] = {base_path(b, false), base_path(b, true)};
  Cmd c[2] = {0};
  pid_t pid[2];
  bool ok = true;
  for (int v = 0; v < 2; v++) {
    octoc_cmd(&c[v], b, base[v], v == 1);
    pid[v] = spawn(c[v].argv);
  }
  for (int v = 0; v < 2; v++) ok = finished_ok(pid[v], "octoc") && ok;
  for (int v = 0; v < 2 && ok; v++) {
    char *slash = strrchr(base[v], '/');
    char *header = fmt("%s.h", slash ? slash + 1 : base[v], "");
    ok = write_shim(b, base[v], header);
    free(header);
  }
  for (int v = 0; v < 2; v++) {
    cmd_free(&c[v]);
    if (ok) {
      cc_cmd(&c[v], base[v]);
      pid[v] = spawn(c[v].argv);
    }
  }
  for (int v = 0; v < 2 && ok; v++) ok = finished_ok(pid[v], "cc") && ok;
  ok = ok && load(b, base[0], false, f) && load(b, base[1], true, d);
  for (int v = 0; v < 2; v++) {
    cmd_free(&c[v]);
    free(base[v]);
  }
  return ok;
}

bool gc_build_one(const GcBuild *b, bool real_double, GcModel *m) {
  char *base = base_path(b, real_double);
  Cmd c = {0};
  octoc_cmd(&c, b, base, real_double);
  bool ok = finished_ok(spawn(c.argv), "octoc");
  char *slash = strrchr(base, '/');
  char *header = fmt("%s.h", slash ? slash + 1 : base, "");
  ok = ok && write_shim(b, base, header);
  free(header);
  cmd_free(&c);
  if (ok) {
    cc_cmd(&c, base);
    ok = finished_ok(spawn(c.argv), "cc");
    cmd_free(&c);
  }
  ok = ok && load(b, base, real_double, m);
  free(base);
  return ok;
}

void gc_close(GcModel *m) {
  if (m->so) dlclose(m->so);
  free(m->work);
  memset(m, 0, sizeof *m);
}

void *gc_alloc(size_t n) {
  size_t size = (n + 63) / 64 * 64;
  void *p = aligned_alloc(64, size ? size : 64);
  if (!p) abort();
  memset(p, 0, size ? size : 64);
  return p;
}

const GcTensor *gc_tensor(const GcModel *m, const char *name) {
  for (int i = 0; i < m->ntensors; i++)
    if (strcmp(m->tensors[i].name, name) == 0) return &m->tensors[i];
  return NULL;
}

size_t gc_numel(const GcTensor *t) {
  size_t n = 1;
  for (int d = 0; d < t->rank; d++) n *= (size_t)t->shape[d];
  return n;
}

double gc_get(const GcModel *m, const void *state, const GcTensor *t, size_t i) {
  const unsigned char *p = (const unsigned char *)state + t->offset;
  if (m->dbl) return ((const double *)p)[i];
  return ((const float *)p)[i];
}

void gc_set(const GcModel *m, void *state, const GcTensor *t, size_t i, double v) {
  unsigned char *p = (unsigned char *)state + t->offset;
  if (m->dbl) ((double *)p)[i] = v;
  else ((float *)p)[i] = (float)v;
}

void gc_widen_state(const GcModel *f, const void *fstate, const GcModel *d, void *dstate) {
  for (int i = 0; i < f->ntensors; i++) {
    const GcTensor *tf = &f->tensors[i], *td = &d->tensors[i];
    if (tf->dtype == 0) {
      for (size_t j = 0; j < gc_numel(tf); j++) gc_set(d, dstate, td, j, gc_get(f, fstate, tf, j));
    } else {
      memcpy((unsigned char *)dstate + td->offset, (const unsigned char *)fstate + tf->offset,
             tf->bytes);
    }
  }
}

double gc_step(const GcModel *m, void *state, const float *xf, const double *xd,
               const int32_t *y, const float *yf, const double *yd, int n) {
  if (m->step_rd) return m->step_rd(state, m->work, xd, yd, n);
  if (m->step_rf) return m->step_rf(state, m->work, xf, yf, n);
  return m->dbl ? m->step_d(state, m->work, xd, y, n) : m->step_f(state, m->work, xf, y, n);
}

char *gc_tmpdir(void) {
  char *t = fmt("%s/octo-gradcheck-XXXXXX", env_or("TMPDIR", "/tmp"), "");
  if (!mkdtemp(t)) {
    fprintf(stderr, "gradcheck: mkdtemp: %s\n", strerror(errno));
    free(t);
    return NULL;
  }
  return t;
}

/* The directory holds only the flat files this module wrote. */
void gc_rmdir(const char *dir) {
  char *argv[] = {"rm", "-rf", (char *)dir, NULL};
  finished_ok(spawn(argv), "rm");
}
