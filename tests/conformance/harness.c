/* Helpers for tests that build and run programs (harness.h). */
#include "harness.h"

#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

static char *vfmt(const char *f, va_list ap) {
  char *s = NULL;
  ck_assert_int_ge(vasprintf(&s, f, ap), 0);
  return s;
}

char *fmt(const char *f, ...) {
  va_list ap;
  va_start(ap, f);
  char *s = vfmt(f, ap);
  va_end(ap);
  return s;
}

char *append(char *s, const char *f, ...) {
  va_list ap;
  va_start(ap, f);
  char *t = vfmt(f, ap);
  va_end(ap);
  char *r = fmt("%s%s", s ? s : "", t);
  free(s);
  free(t);
  return r;
}

int sh(const char *cmd) {
  int st = system(cmd);
  return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* No ck_assert here: a test program also asks before its tests run. */
bool have(const char *tool) {
  char cmd[512];
  int n = snprintf(cmd, sizeof cmd, "command -v '%s' >/dev/null 2>&1", tool);
  return n > 0 && (size_t)n < sizeof cmd && !strchr(tool, '\'') && sh(cmd) == 0;
}

char *read_text(const char *path) {
  FILE *f = fopen(path, "r");
  ck_assert_msg(f != NULL, "open %s: %s", path, strerror(errno));
  char *s = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&s, &len);
  ck_assert_ptr_nonnull(m);
  int c;
  while ((c = fgetc(f)) != EOF) ck_assert_int_ne(fputc(c, m), EOF);
  ck_assert_msg(!ferror(f), "read %s: %s", path, strerror(errno));
  fclose(f);
  ck_assert_int_eq(fclose(m), 0);
  return s;
}

void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  ck_assert_msg(f != NULL, "open %s: %s", path, strerror(errno));
  ck_assert_int_eq(fputs(text, f) >= 0, 1);
  ck_assert_int_eq(fclose(f), 0);
}

const char *fresh_dir(Arena *a, const char *root, const char *name) {
  ck_assert_msg(mkdir(root, 0777) == 0 || errno == EEXIST, "mkdir %s: %s", root, strerror(errno));
  char *d = arena_printf(a, "%s/%s", root, name);
  char *cmd = fmt("rm -rf '%s' && mkdir -p '%s'", d, d);
  ck_assert_int_eq(sh(cmd), 0);
  free(cmd);
  return d;
}

int numbers(const char *out, const char *key, double *v, int max) {
  char *pat = fmt("\n%s ", key);
  char *all = fmt("\n%s", out);
  const char *at = strstr(all, pat);
  ck_assert_msg(at != NULL, "no line '%s' in:\n%s", key, out);
  at += strlen(pat);
  int n = 0;
  while (n < max && *at && *at != '\n') {
    char *end;
    v[n] = strtod(at, &end);
    if (end == at) break;
    n++;
    at = end;
  }
  free(pat);
  free(all);
  return n;
}

float ref_hash_uniform(int64_t key, int64_t index) {
  uint64_t z = (uint64_t)key ^ ((uint64_t)index * UINT64_C(0x9E3779B97F4A7C15));
  z += UINT64_C(0x9E3779B97F4A7C15);
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  z ^= z >> 31;
  return (float)(uint32_t)(z >> 40) * (1.0f / 16777216.0f);
}
