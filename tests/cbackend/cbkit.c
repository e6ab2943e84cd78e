/* The C-backend test helpers of cbkit.h, on top of the conformance
 * harness (tests/conformance/harness.h). */
#include "cbkit.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "c_backend.h"
#include "harness.h"

#ifndef CONFORMANCE_SRCDIR
#error "CONFORMANCE_SRCDIR must name tests/conformance (its driver.c)"
#endif

void cb_emit(const LProgram *p, const char *dir) {
  char *cp = fmt("%s/t.c", dir), *hp = fmt("%s/t.h", dir);
  FILE *c = fopen(cp, "w"), *h = fopen(hp, "w");
  ck_assert(c && h);
  EmitOptions o = {.header_name = "t.h"};
  ck_assert(c_emit(p, &o, c, h));
  ck_assert_int_eq(fclose(c) | fclose(h), 0);
  free(cp);
  free(hp);
}

void cb_build(const char *dir, const char *cc, const char *flags, const char *src,
              const char *ldflags, const char *name) {
  char *cmd = fmt("%s %s -c '%s/%s' -o '%s/%s.o' && %s -std=c11 -O1 -I'%s' "
                     "'" CONFORMANCE_SRCDIR "/driver.c' '%s/%s.o' -o '%s/%s' %s -lm",
                     cc, flags, dir, src ? src : "t.c", dir, name, cc, dir, dir, name, dir, name,
                     ldflags ? ldflags : "");
  ck_assert_msg(sh(cmd) == 0, "build failed: %s", cmd);
  free(cmd);
}

char *cb_run(const char *dir, const char *runner, const char *name, const char *script) {
  char *sp = fmt("%s/%s.in", dir, name), *op = fmt("%s/%s.out", dir, name);
  write_text(sp, script);
  char *cmd = fmt("%s '%s/%s' < '%s' > '%s'", runner, dir, name, sp, op);
  int st = sh(cmd);
  char *out = read_text(op);
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
