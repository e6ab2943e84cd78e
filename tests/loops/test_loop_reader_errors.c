/* The reader's error messages: every tests/loops/bad/NAME.loops file fails
 * to read with the `# expect: :LINE:COL: error: MSG` lines it carries, and
 * mangled text (random byte edits of a valid program) never crashes. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loop_reader.h"
#include "loopkit.h"

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  char *buf = NULL;
  size_t cap = 0, n = 0;
  for (;;) {
    if (n + 4096 + 1 > cap) {
      cap = cap ? cap * 2 : 8192;
      buf = xrealloc(buf, cap);
    }
    size_t got = fread(buf + n, 1, 4096, f);
    n += got;
    if (got < 4096) break;
  }
  ck_assert_msg(!ferror(f), "cannot read %s", path);
  ck_assert_int_eq(fclose(f), 0);
  buf[n] = 0;
  *len = n;
  return buf;
}

/* Runs one bad file; returns how many expect lines it had. */
static int check_bad_file(const char *dir, const char *name) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  size_t len;
  char *text = slurp(path, &len);
  Arena *a = arena_new();
  char *diag = NULL;
  LProgram *p = kit_read(a, name, text, &diag);
  ck_assert_msg(p == NULL, "%s: read succeeded", name);
  int expects = 0;
  for (char *line = strstr(text, "# expect: "); line; line = strstr(line + 1, "# expect: ")) {
    char *end = strchr(line, '\n');
    char want[512];
    size_t n = (size_t)(end ? end - line : (ptrdiff_t)strlen(line)) - 10;
    snprintf(want, sizeof want, "%s%.*s\n", name, (int)n, line + 10);
    ck_assert_msg(strstr(diag, want) != NULL, "%s: want\n%sgot\n%s", name, want, diag);
    expects++;
  }
  ck_assert_msg(expects > 0, "%s has no # expect: line", name);
  free(diag);
  free(text);
  arena_free(a);
  return expects;
}

START_TEST(every_bad_file_reports_its_expected_error) {
  const char *dir = getenv("LOOPS_BAD_DIR");
  ck_assert_msg(dir != NULL, "LOOPS_BAD_DIR is not set");
  DIR *dp = opendir(dir);
  ck_assert_msg(dp != NULL, "cannot open %s", dir);
  int files = 0;
  for (struct dirent *e; (e = readdir(dp));) {
    size_t n = strlen(e->d_name);
    if (n > 6 && strcmp(e->d_name + n - 6, ".loops") == 0) {
      check_bad_file(dir, e->d_name);
      files++;
    }
  }
  ck_assert_int_eq(closedir(dp), 0);
  ck_assert_int_ge(files, 15);
}
END_TEST

/* The caret line under the message points at the column. */
START_TEST(errors_quote_the_line_with_a_caret) {
  Arena *a = arena_new();
  char *diag = NULL;
  ck_assert_ptr_null(kit_read(a, "c.loops", "program p (batch 1) {\n  bogus 1\n}\n", &diag));
  ck_assert_str_eq(diag, "c.loops:2:3: error: unknown program item 'bogus'\n"
                         "    bogus 1\n"
                         "    ^\n");
  free(diag);
  arena_free(a);
}
END_TEST

/* A deterministic generator (xorshift), so a failure reproduces. */
static uint64_t next_rand(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

START_TEST(mangled_programs_never_crash_the_reader) {
  Arena *src_arena = arena_new();
  char *good = kit_print(kit_sample_program(src_arena));
  size_t len = strlen(good);
  static const char alphabet[] = "{}()[],:=@?+-*/%<>&|^!.#\"\\ \n0123456789eix%load";
  uint64_t seed = 0x9e3779b97f4a7c15u;
  int accepted = 0;
  FILE *sink = fopen("/dev/null", "w");
  ck_assert_ptr_nonnull(sink);
  for (int round = 0; round < 3000; round++) {
    char *text = xmalloc(len + 1);
    memcpy(text, good, len + 1);
    int edits = 1 + (int)(next_rand(&seed) % 4);
    size_t n = len;
    for (int e = 0; e < edits; e++) {
      size_t at = next_rand(&seed) % n;
      uint64_t how = next_rand(&seed) % 3;
      if (how == 0) text[at] = alphabet[next_rand(&seed) % (sizeof alphabet - 1)];
      else if (how == 1) text[at] = (char)(next_rand(&seed) & 0xff);
      else n = at + 1; /* truncate */
    }
    Arena *a = arena_new();
    Diag *d = diag_new(sink);
    LProgram *p = lprog_read(a, d, "fuzz.loops", text, n);
    if (p) accepted++;
    ck_assert_int_eq(p == NULL, diag_error_count(d) > 0);
    diag_free(d);
    arena_free(a);
    free(text);
  }
  ck_assert_int_eq(fclose(sink), 0);
  ck_assert_int_gt(accepted, 0); /* some edits land in comments or strings */
  free(good);
  arena_free(src_arena);
}
END_TEST

int main(void) {
  Suite *s = suite_create("loop_reader_errors");
  TCase *tc = tcase_create("errors");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, every_bad_file_reports_its_expected_error);
  tcase_add_test(tc, errors_quote_the_line_with_a_caret);
  tcase_add_test(tc, mangled_programs_never_crash_the_reader);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
