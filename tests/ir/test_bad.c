/* Reader errors: every .ir file in tests/ir/bad is a broken IR file whose
 * `# expect: :LINE:COL: error: text` (or `note:`) lines say what the reader
 * must report. Each file is one test: graph_read must return NULL, print
 * every expected line (file:LINE:COL: level: text, as a prefix match of the
 * message), and report exactly as many errors as expected, so a file
 * cannot pass by accident on an earlier, different error. */
#include <check.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "reader.h"

enum { MAX_FILES = 256 };
static const char *bad_dir;
static char *files[MAX_FILES];
static int nfiles;

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_files(void) {
  DIR *dir = opendir(bad_dir);
  if (!dir) {
    perror(bad_dir);
    exit(EXIT_FAILURE);
  }
  struct dirent *e;
  while ((e = readdir(dir)) && nfiles < MAX_FILES) {
    size_t n = strlen(e->d_name);
    if (n > 3 && strcmp(e->d_name + n - 3, ".ir") == 0) files[nfiles++] = strdup(e->d_name);
  }
  closedir(dir);
  qsort(files, (size_t)nfiles, sizeof files[0], cmp_str);
}

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  char *buf = NULL;
  size_t cap = 0;
  *len = 0;
  for (;;) {
    if (*len + 4096 > cap) {
      cap = cap * 2 + 4096;
      buf = realloc(buf, cap + 1);
      ck_assert_ptr_nonnull(buf);
    }
    size_t k = fread(buf + *len, 1, cap - *len, f);
    *len += k;
    if (k == 0) break;
  }
  ck_assert_int_eq(ferror(f), 0);
  ck_assert_int_eq(fclose(f), 0);
  buf[*len] = 0;
  return buf;
}

/* Checks each `# expect: ` line of text against the diagnostics `out`;
 * returns the number of expected errors. */
static int check_expectations(const char *name, const char *text, size_t len, const char *out) {
  static const char tag[] = "# expect: ";
  int errors = 0, expects = 0;
  for (const char *p = text; p < text + len;) {
    const char *eol = memchr(p, '\n', (size_t)(text + len - p));
    if (!eol) eol = text + len;
    const char *t = NULL;
    for (const char *q = p; !t && q + sizeof tag - 1 <= eol; q++)
      if (memcmp(q, tag, sizeof tag - 1) == 0) t = q;
    if (t) {
      t += sizeof tag - 1;
      char want[600];
      snprintf(want, sizeof want, "%s%.*s", name, (int)(eol - t), t);
      ck_assert_msg(strstr(out, want) != NULL, "%s: expected\n  %s\nin:\n%s", name, want, out);
      expects++;
      if (strstr(want, ": error: ")) errors++;
    }
    p = eol + 1;
  }
  ck_assert_msg(expects > 0, "%s has no `# expect:` lines", name);
  return errors;
}

START_TEST(bad_file_reports_expected_errors) {
  const char *name = files[_i];
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", bad_dir, name);
  size_t len;
  char *text = slurp(path, &len);
  char *out = NULL;
  size_t outlen = 0;
  FILE *f = open_memstream(&out, &outlen);
  ck_assert_ptr_nonnull(f);
  Diag *d = diag_new(f);
  Arena *a = arena_new();
  Graph *g = graph_read(a, d, name, text, len);
  int nerr = diag_error_count(d);
  ck_assert_int_eq(fclose(f), 0);
  ck_assert_msg(g == NULL, "%s: read succeeded", name);
  int want = check_expectations(name, text, len, out);
  ck_assert_msg(nerr == want, "%s: %d errors reported, %d expected:\n%s", name, nerr, want, out);
  arena_free(a);
  diag_free(d);
  free(out);
  free(text);
}
END_TEST

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s tests/ir/bad\n", argv[0]);
    return EXIT_FAILURE;
  }
  bad_dir = argv[1];
  list_files();
  if (nfiles < 20) {
    fprintf(stderr, "%s: only %d .ir files; expected at least 20\n", bad_dir, nfiles);
    return EXIT_FAILURE;
  }
  Suite *s = suite_create("ir-bad-input");
  TCase *tc = tcase_create("bad");
  tcase_add_loop_test(tc, bad_file_reports_expected_errors, 0, nfiles);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  for (int i = 0; i < nfiles; i++) free(files[i]);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
