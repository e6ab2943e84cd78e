/* The C-backend test helpers of cbkit.h. */
#include "cbkit.h"

#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "c_backend.h"

#ifndef CBACKEND_SRCDIR
#error "CBACKEND_SRCDIR must name tests/cbackend"
#endif

static char *vfmt(const char *f, va_list ap) {
  char *s = NULL;
  ck_assert_int_ge(vasprintf(&s, f, ap), 0);
  return s;
}

char *cb_fmt(const char *f, ...) {
  va_list ap;
  va_start(ap, f);
  char *s = vfmt(f, ap);
  va_end(ap);
  return s;
}

char *cb_append(char *s, const char *f, ...) {
  va_list ap;
  va_start(ap, f);
  char *t = vfmt(f, ap);
  va_end(ap);
  char *r = cb_fmt("%s%s", s ? s : "", t);
  free(s);
  free(t);
  return r;
}

const char *cb_dir(Arena *a, const char *name) {
  mkdir("cbtmp", 0777);
  char *d = arena_printf(a, "cbtmp/%s", name);
  char *cmd = cb_fmt("rm -rf '%s' && mkdir -p '%s'", d, d);
  ck_assert_int_eq(cb_sh(cmd), 0);
  free(cmd);
  return d;
}

void cb_write(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  ck_assert_msg(f != NULL, "open %s: %s", path, strerror(errno));
  ck_assert_int_ge(fputs(text, f), 0);
  ck_assert_int_eq(fclose(f), 0);
}

char *cb_slurp(const char *path) {
  FILE *f = fopen(path, "r");
  ck_assert_msg(f != NULL, "open %s: %s", path, strerror(errno));
  char *s = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&s, &len);
  ck_assert_ptr_nonnull(m);
  int c;
  while ((c = fgetc(f)) != EOF) fputc(c, m);
  ck_assert_int_eq(ferror(f), 0);
  ck_assert_int_eq(fclose(f), 0);
  ck_assert_int_eq(fclose(m), 0);
  return s;
}

int cb_sh(const char *cmd) {
  int st = system(cmd);
  return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

bool cb_have(const char *tool) {
  char *cmd = cb_fmt("command -v %s >/dev/null 2>&1", tool);
  bool ok = cb_sh(cmd) == 0;
  free(cmd);
  return ok;
}

void cb_emit(const LProgram *p, const char *dir) {
  char *cp = cb_fmt("%s/t.c", dir), *hp = cb_fmt("%s/t.h", dir);
  FILE *c = fopen(cp, "w"), *h = fopen(hp, "w");
  ck_assert(c && h);
  CEmitOptions o = {.header_name = "t.h"};
  ck_assert(c_emit(p, &o, c, h));
  ck_assert_int_eq(fclose(c) | fclose(h), 0);
  free(cp);
  free(hp);
}

void cb_build(const char *dir, const char *cc, const char *flags, const char *src,
              const char *ldflags, const char *name) {
  char *cmd = cb_fmt("%s %s -c '%s/%s' -o '%s/%s.o' && %s -std=c11 -O1 -I'%s' "
                     "'" CBACKEND_SRCDIR "/driver.c' '%s/%s.o' -o '%s/%s' %s -lm",
                     cc, flags, dir, src ? src : "t.c", dir, name, cc, dir, dir, name, dir, name,
                     ldflags ? ldflags : "");
  ck_assert_msg(cb_sh(cmd) == 0, "build failed: %s", cmd);
  free(cmd);
}

char *cb_run(const char *dir, const char *runner, const char *name, const char *script) {
  char *sp = cb_fmt("%s/%s.in", dir, name), *op = cb_fmt("%s/%s.out", dir, name);
  cb_write(sp, script);
  char *cmd = cb_fmt("%s '%s/%s' < '%s' > '%s'", runner, dir, name, sp, op);
  int st = cb_sh(cmd);
  char *out = cb_slurp(op);
  ck_assert_msg(st == 0, "%s exited %d:\n%.3000s", cmd, st, out);
  ck_assert_msg(strstr(out, "done\n") != NULL, "driver did not finish:\n%.3000s", out);
  free(sp);
  free(op);
  free(cmd);
  return out;
}

/* The text after "\nNAME " (or at the start). */
static const char *line_of(const char *out, const char *name) {
  size_t n = strlen(name);
  for (const char *at = out; at && *at; at = strchr(at, '\n'), at = at ? at + 1 : NULL)
    if (strncmp(at, name, n) == 0 && at[n] == ' ') return at + n;
  ck_assert_msg(0, "no line '%s' in:\n%.2000s", name, out);
  return NULL;
}

int cb_ints(const char *out, const char *name, int64_t *v, int max) {
  const char *at = line_of(out, name);
  int n = 0;
  while (n < max && *at && *at != '\n') {
    char *end;
    errno = 0;
    v[n] = strtoll(at, &end, 10);
    if (end == at) break;
    ck_assert_int_eq(errno, 0);
    n++;
    at = end;
  }
  return n;
}

int cb_floats(const char *out, const char *name, float *v, int max) {
  const char *at = line_of(out, name);
  int n = 0;
  while (n < max && *at && *at != '\n') {
    char *end;
    v[n] = strtof(at, &end); /* %.9g: every float reads back exactly */
    if (end == at) break;
    n++;
    at = end;
  }
  return n;
}
