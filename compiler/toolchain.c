/* External tools: the C compiler and the runtime's location. */
#include "toolchain.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "arena.h"
#include "cleanup.h"

void cmd_add(Command *c, const char *arg) {
  if (c->argc < TOOL_MAX_ARGS) c->argv[c->argc++] = arg;
  c->argv[c->argc] = NULL;
}

static void print_command(const Command *c) {
  for (int i = 0; i < c->argc; i++) fprintf(stderr, "%s%s", i ? " " : "", c->argv[i]);
  fputc('\n', stderr);
}

/* The C compiler runs in its own process group, so that stopping octoc can
 * stop the compiler processes its driver started too — unless a terminal
 * with `stty tostop` would then stop the group for writing a diagnostic
 * (it is not the terminal's foreground group), which would hang octoc. */
static bool may_lead_group(void) {
  struct termios tio;
  return !(tcgetattr(STDERR_FILENO, &tio) == 0 && (tio.c_lflag & TOSTOP));
}

bool cmd_run(const Command *c, bool verbose) {
  if (c->argc == 0 || c->argc >= TOOL_MAX_ARGS) {
    fputs("octoc: internal error: bad command line\n", stderr);
    return false;
  }
  if (verbose) print_command(c);
  fflush(stdout);
  fflush(stderr);
  bool own_group = may_lead_group();
  sigset_t old;
  cleanup_hold(&old);
  pid_t pid = fork();
  if (pid < 0) {
    cleanup_release(&old);
    fprintf(stderr, "octoc: error: cannot run %s: %s\n", c->argv[0], strerror(errno));
    return false;
  }
  if (pid == 0) {
    if (own_group) setpgid(0, 0);
    cleanup_release(&old);
    execvp(c->argv[0], (char *const *)c->argv);
    fprintf(stderr, "octoc: error: cannot run %s: %s\n", c->argv[0], strerror(errno));
    _exit(127);
  }
  if (own_group) setpgid(pid, pid); /* also here: whichever runs first */
  cleanup_set_child(pid, own_group);
  cleanup_release(&old);
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) {
      fprintf(stderr, "octoc: error: waiting for %s: %s\n", c->argv[0], strerror(errno));
      cleanup_set_child(0, false);
      return false;
    }
  cleanup_set_child(0, false);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127) return false; /* reported by the child */
  fprintf(stderr, "octoc: error: %s failed (%s %d)\n", c->argv[0],
          WIFEXITED(status) ? "exit status" : "signal",
          WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
  return false;
}

/* The items of -mattr one at a time: sets *item and *len, false at the end. */
static bool next_feature(const char **p, const char **item, size_t *len) {
  if (!*p || !**p) return false;
  const char *end = strchr(*p, ',');
  *item = *p;
  *len = end ? (size_t)(end - *p) : strlen(*p);
  *p = end ? end + 1 : NULL;
  return true;
}

/* A flag built in static storage the command keeps pointing at: the
 * driver runs one compile per process. */
static const char *flag(const char *fmt, const char *a, size_t alen) {
  static char buf[16][256];
  static int used;
  if (used == 16) return NULL;
  snprintf(buf[used], sizeof buf[used], fmt, (int)alen, a);
  return buf[used++];
}

bool target_cc_flags(const TargetConfig *tc, Command *cmd) {
  const Target *t = tc->target;
  bool cpu_given = tc->cpu != t->cpu;
  const char *item, *p = tc->mattr;
  size_t len;
  switch (t->arch) {
  case ARCH_X86_64:
    if (cpu_given) cmd_add(cmd, flag("-march=%.*s", tc->cpu, strlen(tc->cpu)));
    while (next_feature(&p, &item, &len))
      cmd_add(cmd, flag(item[0] == '+' ? "-m%.*s" : "-mno-%.*s", item + 1, len - 1));
    return true;
  case ARCH_AARCH64: {
    /* gcc spells features as +name / +noname after the CPU. */
    char spec[512];
    size_t k = (size_t)snprintf(spec, sizeof spec, "-mcpu=%s", tc->cpu);
    if (!cpu_given && !tc->mattr) return true;
    while (next_feature(&p, &item, &len) && k < sizeof spec)
      k += (size_t)snprintf(spec + k, sizeof spec - k, "+%s%.*s", item[0] == '+' ? "" : "no",
                            (int)len - 1, item + 1);
    cmd_add(cmd, flag("%.*s", spec, strlen(spec)));
    return true;
  }
  case ARCH_ARM:
  case ARCH_RISCV64:
  case ARCH_RISCV32:
    if (tc->mattr) {
      fprintf(stderr, "octoc: error: -mattr=%s: the C backend's compiler for %s takes the "
                      "CPU only (-mcpu=NAME); use --emit=c and your own flags\n",
              tc->mattr, t->name);
      return false;
    }
    if (cpu_given) cmd_add(cmd, flag("-mcpu=%.*s", tc->cpu, strlen(tc->cpu)));
    return true;
  }
  return true;
}

const char *target_cc(const Target *t) {
  if (t == target_default()) {
    const char *cc = getenv("CC");
    return cc && *cc ? cc : "cc";
  }
  return t->cross_cc;
}

static bool exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

static bool using_build_tree;

const char *runtime_link_flag(void) {
  static char flag[128];
  const char *san = OCTO_RUNTIME_BUILD_SANITIZE;
  if (!using_build_tree || !*san || strcmp(san, "none") == 0) return NULL;
  snprintf(flag, sizeof flag, "-fsanitize=%s", san);
  return flag;
}

bool runtime_paths(const char **libfile, const char **incdir) {
  static char lib_buf[4096], inc_buf[4096];
  using_build_tree = false;
  const char *dir = getenv("OCTO_RUNTIME_DIR");
  if (dir && *dir) {
    snprintf(lib_buf, sizeof lib_buf, "%s/libocto-runtime.a", dir);
    snprintf(inc_buf, sizeof inc_buf, "%s", dir);
  } else if (exists(OCTO_RUNTIME_BUILD_LIB)) {
    using_build_tree = true;
    snprintf(lib_buf, sizeof lib_buf, "%s", OCTO_RUNTIME_BUILD_LIB);
    snprintf(inc_buf, sizeof inc_buf, "%s", OCTO_RUNTIME_SOURCE_INC);
  } else {
    snprintf(lib_buf, sizeof lib_buf, "%s", OCTO_RUNTIME_INSTALLED_LIB);
    snprintf(inc_buf, sizeof inc_buf, "%s", OCTO_RUNTIME_INSTALLED_INC);
  }
  if (!exists(lib_buf)) {
    fprintf(stderr, "octoc: error: the trainer runtime library is missing (looked for %s); "
                    "build or install Octo, or set OCTO_RUNTIME_DIR\n", lib_buf);
    return false;
  }
  *libfile = lib_buf;
  *incdir = inc_buf;
  return true;
}

char *tmpdir_create(void) {
  const char *base = getenv("TMPDIR");
  if (!base || !*base) base = "/tmp";
  size_t n = strlen(base) + 32;
  char *dir = xmalloc(n);
  snprintf(dir, n, "%s/octoc-XXXXXX", base);
  if (!mkdtemp(dir)) {
    fprintf(stderr, "octoc: error: cannot create a temporary directory in %s: %s\n", base,
            strerror(errno));
    free(dir);
    return NULL;
  }
  cleanup_set_folder(dir);
  return dir;
}

void tmpdir_remove(char *dir) {
  if (!dir) return;
  DIR *d = opendir(dir);
  if (d) {
    struct dirent *e;
    while ((e = readdir(d))) {
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
      size_t n = strlen(dir) + strlen(e->d_name) + 2;
      char *path = xmalloc(n);
      snprintf(path, n, "%s/%s", dir, e->d_name);
      remove(path);
      free(path);
    }
    closedir(d);
  }
  rmdir(dir);
  cleanup_set_folder(NULL);
  free(dir);
}
