/* Bad input for the front end. Every file NAME.net in tests/frontend/bad starts with
 * `# expect: <text>` lines; each text must appear in the diagnostics (a
 * memstream), the compile must fail, and nothing may crash; an optional
 * `# expect-count: N` line pins the number of errors. The hostile
 * inputs (1 MB lines, 10 000-deep nesting, NUL bytes, random bytes) are
 * generated here rather than committed. argv[1] is the bad/ directory. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"

static const char *bad_dir = "bad";

/* malloc that cannot return NULL, so the compiler sees it too. */
static void *tmalloc(size_t n) {
  void *p = malloc(n);
  if (!p) abort();
  return p;
}
static char **files;
static int nfiles;

typedef struct Result {
  Graph *g;
  int errors;
  char *text;
  size_t len;
} Result;

/* Compiles len bytes; the diagnostics text is returned (caller frees). */
static Result compile_bytes(const char *name, const char *src, size_t len) {
  Result r = {0};
  FILE *out = open_memstream(&r.text, &r.len);
  ck_assert_ptr_nonnull(out);
  Arena *a = arena_new();
  Diag *d = diag_new(out);
  r.g = net_compile(a, d, name, src, len, 32);
  r.errors = diag_error_count(d);
  diag_free(d);
  arena_free(a);
  fclose(out);
  return r;
}

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
  long n = ftell(f);
  ck_assert_int_ge(n, 0);
  rewind(f);
  char *buf = tmalloc((size_t)n + 1);
  *len = fread(buf, 1, (size_t)n, f);
  ck_assert_int_eq(*len, (size_t)n);
  fclose(f);
  buf[*len] = 0;
  return buf;
}

START_TEST(bad_file_reports_its_expected_diagnostics) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", bad_dir, files[_i]);
  size_t len;
  char *src = read_file(path, &len);
  Result r = compile_bytes(files[_i], src, len);
  ck_assert_msg(r.g == NULL, "%s compiled without errors", files[_i]);
  ck_assert_int_gt(r.errors, 0);
  int expects = 0;
  for (const char *p = src; p < src + len;) {
    const char *eol = memchr(p, '\n', (size_t)(src + len - p));
    size_t n = eol ? (size_t)(eol - p) : (size_t)(src + len - p);
    if (n > 10 && strncmp(p, "# expect: ", 10) == 0) {
      char want[512];
      size_t w = n - 10 < sizeof want - 1 ? n - 10 : sizeof want - 1;
      memcpy(want, p + 10, w);
      want[w] = 0;
      ck_assert_msg(strstr(r.text, want) != NULL, "%s: expected \"%s\" in:\n%s", files[_i], want,
                    r.text);
      expects++;
    }
    p += n + 1;
  }
  ck_assert_msg(expects > 0, "%s has no # expect: line", files[_i]);
  /* `# expect-count: N`: exactly N errors. */
  const char *cnt = strstr(src, "# expect-count: ");
  if (cnt)
    ck_assert_msg(r.errors == atoi(cnt + 16), "%s: %d errors, expected %d:\n%s", files[_i],
                  r.errors, atoi(cnt + 16), r.text);
  free(r.text);
  free(src);
}
END_TEST

START_TEST(bad_dir_has_at_least_40_cases) { ck_assert_int_ge(nfiles, 40); }
END_TEST

/* ---- generated hostile inputs ---- */

static Result compile_str(const char *src) { return compile_bytes("gen.net", src, strlen(src)); }

static void expect_error(Result r, const char *want) {
  ck_assert_ptr_null(r.g);
  ck_assert_int_gt(r.errors, 0);
  ck_assert_msg(strstr(r.text, want) != NULL, "expected \"%s\" in:\n%.2000s", want, r.text);
  free(r.text);
}

START_TEST(empty_input_is_no_network) {
  expect_error(compile_bytes("gen.net", "", 0), "gen.net: error: no network in this file");
  expect_error(compile_bytes("gen.net", NULL, 0), "gen.net: error: no network in this file");
}
END_TEST

/* The f32 check of float attributes refuses only what lands on an excluded
 * end (eps 0, momentum 1): init=1e30 is 1.00000002e30 in f32, past the
 * closed end of its range, and stays accepted, as are values at the ends. */
START_TEST(f32_rounding_past_a_closed_end_is_accepted) {
  static const char *const ok[] = {"bias(x, init=1e30)", "scale(x, init=-1e30)",
                                   "batchnorm(x, eps=0.9999999)", "dropout(x, rate=0)"};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    char src[512];
    snprintf(src, sizeof src, "network n {\n  input x: f32[1, 4, 4];\n  label y: class[3];\n"
                              "  h = %s;\n  loss = softmax_cross_entropy(dense(flatten(h), "
                              "units=3), y);\n}\n", ok[i]);
    Result r = compile_str(src);
    ck_assert_msg(r.g != NULL && r.errors == 0, "%s refused:\n%s", ok[i], r.text);
    free(r.text);
  }
}
END_TEST

START_TEST(nul_bytes_are_errors_not_terminators) {
  static const char src[] = "network n {\0 x = relu(y); }";
  expect_error(compile_bytes("gen.net", src, sizeof src - 1), "gen.net:1:12: error: unexpected byte 0x00");
}
END_TEST

START_TEST(one_megabyte_line_is_handled) {
  size_t n = 1 << 20;
  char *src = tmalloc(n + 64);
  strcpy(src, "network n { x = ");
  size_t k = strlen(src);
  memset(src + k, 'a', n);
  strcpy(src + k + n, " }");
  expect_error(compile_str(src), "error: syntax error: unexpected '}'");
  free(src);
}
END_TEST

START_TEST(one_megabyte_argument_list_is_handled) {
  size_t reps = 1 << 18;
  char *src = tmalloc(reps * 4 + 64);
  char *p = src + sprintf(src, "network n { input x: f32[2]; y = add(x");
  for (size_t i = 0; i < reps; i++) p += sprintf(p, ", x");
  strcpy(p, "); }");
  expect_error(compile_str(src), "error: add takes 2 tensor operands, but 262145 were given");
  free(src);
}
END_TEST

static char *append(char *p, const char *s) {
  size_t n = strlen(s);
  memcpy(p, s, n);
  return p + n;
}

/* pre, depth x open, mid, depth x close, post: e.g. "((((1))))". */
static char *repeat_wrap(const char *pre, const char *open, const char *mid, const char *close,
                         int depth, const char *post) {
  size_t n = strlen(pre) + strlen(post) + strlen(mid) +
             (size_t)depth * (strlen(open) + strlen(close)) + 1;
  char *s = tmalloc(n);
  char *p = append(s, pre);
  for (int i = 0; i < depth; i++) p = append(p, open);
  p = append(p, mid);
  for (int i = 0; i < depth; i++) p = append(p, close);
  p = append(p, post);
  *p = 0;
  return s;
}

START_TEST(deep_parentheses_are_a_nesting_error) {
  char *src = repeat_wrap("network n { x = ", "(", "1", ")", 10000, "; }");
  expect_error(compile_str(src), "error: nesting too deep");
  free(src);
}
END_TEST

START_TEST(deep_calls_are_a_nesting_error) {
  char *src = repeat_wrap("network n { input x: f32[2]; y = ", "relu(", "x", ")", 10000, "; }");
  expect_error(compile_str(src), "error: nesting too deep");
  free(src);
}
END_TEST

START_TEST(deep_lists_are_a_nesting_error) {
  char *src = repeat_wrap("network n { y = ", "[", "1", "]", 10000, "; }");
  expect_error(compile_str(src), "error: nesting too deep");
  free(src);
}
END_TEST

START_TEST(long_operator_chains_are_a_nesting_error) {
  char *src = repeat_wrap("network n { y = 1", "", "", "+1", 100000, "; }");
  expect_error(compile_str(src), "error: expression nesting too deep");
  free(src);
  src = repeat_wrap("network n { y = ", "-", "1", "", 100000, "; }");
  expect_error(compile_str(src), "nesting too deep");
  free(src);
}
END_TEST

START_TEST(calls_nested_within_the_limit_still_compile) {
  char *src = repeat_wrap("network n { input x: f32[2]; label t: f32[2]; y = ", "relu(", "x", ")",
                          150, "; loss = mse(y, t); }");
  Result r = compile_str(src);
  ck_assert_msg(r.g != NULL, "%.2000s", r.text);
  ck_assert_int_eq(r.g == NULL, 0);
  free(r.text);
  free(src);
}
END_TEST

START_TEST(huge_integers_never_wrap) {
  expect_error(compile_str("network n { y = 18446744073709551617; }"),
               "gen.net:1:17: error: integer literal is too large");
  expect_error(compile_str("network n { input x: f32[2]; y = dense(x, units=9223372036854775807 + 1); }"),
               "error: integer overflow in '+'");
  expect_error(compile_str("network n { input x: f32[2]; y = dense(x, units=-9223372036854775807 - 2); }"),
               "error: integer overflow in '-'");
  expect_error(compile_str("network n { input x: f32[2]; y = dense(x, units=9223372036854775807); }"),
               "error: units=9.22337e+18 is out of range");
}
END_TEST

START_TEST(random_bytes_never_crash) {
  unsigned seed = 12345;
  char buf[4096];
  for (int iter = 0; iter < 300; iter++) {
    size_t n = (size_t)(iter * 13 % 4096);
    for (size_t i = 0; i < n; i++) {
      seed = seed * 1103515245u + 12345u;
      /* Mix language tokens in so the parser gets past the first token. */
      static const char *const toks[] = {"network ", "block ", "x", "(", ")", "{", "}", ";",
                                         "=", ",", "relu", "conv2d", "[", "]", "1", "input "};
      if ((seed >> 16) % 3 == 0)
        buf[i] = (char)(seed >> 8);
      else
        buf[i] = toks[(seed >> 16) % 16][0];
    }
    Result r = compile_bytes("gen.net", buf, n);
    ck_assert_ptr_null(r.g);
    free(r.text);
  }
}
END_TEST

START_TEST(block_explosion_is_bounded) {
  /* Each block calls the previous one twice: 2^40 ops if unbounded. */
  char src[8192];
  char *p = src + sprintf(src, "block b0(x) { return relu(x); }\n");
  for (int i = 1; i <= 40; i++)
    p += sprintf(p, "block b%d(x) { return add(b%d(x), b%d(x)); }\n", i, i - 1, i - 1);
  sprintf(p, "network n { input x: f32[2]; label t: f32[2]; loss = mse(b40(x), t); }\n");
  expect_error(compile_str(src), "error: the network is too large");
}
END_TEST

START_TEST(many_unused_bindings_give_capped_warnings) {
  size_t reps = 50000;
  char *src = tmalloc(reps * 24 + 200);
  char *p = src + sprintf(src, "network n { input x: f32[2]; label t: f32[2];\n");
  for (size_t i = 0; i < reps; i++) p += sprintf(p, " v%zu = relu(x);\n", i);
  strcpy(p, " loss = mse(x, t); }");
  Result r = compile_str(src);
  ck_assert_msg(r.g != NULL, "%.2000s", r.text);
  ck_assert_ptr_nonnull(strstr(r.text, "warning: more unused bindings; not listing them"));
  ck_assert_int_lt(r.len, 10000);
  free(r.text);
  free(src);
}
END_TEST

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_files(void) {
  DIR *dir = opendir(bad_dir);
  if (!dir) return;
  struct dirent *e;
  int cap = 0;
  while ((e = readdir(dir))) {
    size_t n = strlen(e->d_name);
    if (n < 5 || strcmp(e->d_name + n - 4, ".net") != 0) continue;
    if (nfiles == cap) {
      cap = cap ? cap * 2 : 64;
      files = realloc(files, (size_t)cap * sizeof(char *));
      if (!files) abort();
    }
    files[nfiles] = strdup(e->d_name);
    if (!files[nfiles]) abort();
    nfiles++;
  }
  closedir(dir);
  qsort(files, (size_t)nfiles, sizeof(char *), cmp_str);
}

int main(int argc, char **argv) {
  if (argc > 1) bad_dir = argv[1];
  list_files();
  Suite *s = suite_create("frontend-bad");
  TCase *tc = tcase_create("bad-files");
  tcase_add_test(tc, bad_dir_has_at_least_40_cases);
  tcase_add_loop_test(tc, bad_file_reports_its_expected_diagnostics, 0, nfiles);
  suite_add_tcase(s, tc);
  TCase *gen = tcase_create("hostile");
  tcase_set_timeout(gen, 60);
  tcase_add_test(gen, empty_input_is_no_network);
  tcase_add_test(gen, nul_bytes_are_errors_not_terminators);
  tcase_add_test(gen, f32_rounding_past_a_closed_end_is_accepted);
  tcase_add_test(gen, one_megabyte_line_is_handled);
  tcase_add_test(gen, one_megabyte_argument_list_is_handled);
  tcase_add_test(gen, deep_parentheses_are_a_nesting_error);
  tcase_add_test(gen, deep_calls_are_a_nesting_error);
  tcase_add_test(gen, deep_lists_are_a_nesting_error);
  tcase_add_test(gen, long_operator_chains_are_a_nesting_error);
  tcase_add_test(gen, calls_nested_within_the_limit_still_compile);
  tcase_add_test(gen, huge_integers_never_wrap);
  tcase_add_test(gen, random_bytes_never_crash);
  tcase_add_test(gen, block_explosion_is_bounded);
  tcase_add_test(gen, many_unused_bindings_give_capped_warnings);
  suite_add_tcase(s, gen);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  for (int i = 0; i < nfiles; i++) free(files[i]);
  free(files);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
