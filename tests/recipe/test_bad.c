/* Bad recipes: every tests/recipe/bad/NAME.yaml starts with one or more
 * `# expect: :LINE:COL: error: TEXT` lines. Loading it must fail, print each
 * `NAME.yaml:LINE:COL: error: TEXT...` line, and print no other error. One
 * Check loop iteration per file; the folder comes from meson (argv[1]). */
#include <check.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "recipe/recipe_io.h"

enum { MAX_FILES = 256, MAX_BYTES = 1 << 20 };

typedef struct Corpus {
  const char *dir;
  char *names[MAX_FILES];
  int n;
} Corpus;

/* Check's loop tests get only an index; the corpus is built once in main
 * before the suite runs and never changes afterwards. */
static Corpus corpus;

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_corpus(const char *dir) {
  corpus.dir = dir;
  DIR *d = opendir(dir);
  if (!d) {
    perror(dir);
    exit(2);
  }
  for (struct dirent *e; (e = readdir(d));) {
    size_t n = strlen(e->d_name);
    if (n < 6 || strcmp(e->d_name + n - 5, ".yaml") != 0) continue;
    if (corpus.n == MAX_FILES) break;
    char *name = strdup(e->d_name);
    if (!name) {
      perror("strdup");
      exit(2);
    }
    corpus.names[corpus.n++] = name;
  }
  closedir(d);
  qsort(corpus.names, (size_t)corpus.n, sizeof(char *), by_name);
}

static char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  char *buf = malloc(MAX_BYTES + 1);
  ck_assert(buf != NULL);
  *len = fread(buf, 1, MAX_BYTES, f);
  ck_assert_msg(!ferror(f), "cannot read %s", path);
  fclose(f);
  buf[*len] = 0;
  return buf;
}

static int count_errors(const char *out) {
  int n = 0;
  for (const char *p = out; (p = strstr(p, ": error: ")); p++) n++;
  return n;
}

START_TEST(bad_recipe_reports_its_expected_errors) {
  const char *name = corpus.names[_i];
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", corpus.dir, name);
  size_t len;
  char *text = read_all(path, &len);

  char *out = NULL;
  size_t outlen = 0;
  FILE *mem = open_memstream(&out, &outlen);
  ck_assert(mem != NULL);
  Arena *a = arena_new();
  Diag *d = diag_new(mem);
  Recipe r;
  bool ok = recipe_load(&r, a, d, name, text, len);
  ck_assert(fclose(mem) == 0);

  int expects = 0;
  for (const char *line = text; strncmp(line, "# expect: ", 10) == 0; expects++) {
    const char *end = strchr(line, '\n');
    ck_assert_msg(end != NULL, "%s: expect line without newline", name);
    size_t n = (size_t)(end - line - 10);
    char *want = malloc(strlen(name) + n + 1);
    ck_assert(want != NULL);
    sprintf(want, "%s%.*s", name, (int)n, line + 10);
    ck_assert_msg(strstr(out, want) != NULL, "%s: missing\n  %s\ngot:\n%s", name, want, out);
    free(want);
    line = end + 1;
  }
  ck_assert_msg(expects > 0, "%s has no '# expect: ' first line", name);
  ck_assert_msg(!ok, "%s loaded without error", name);
  ck_assert_msg(count_errors(out) == expects, "%s: %d expected errors, got:\n%s", name,
                expects, out);
  diag_free(d);
  arena_free(a);
  free(out);
  free(text);
}
END_TEST

START_TEST(bad_folder_holds_at_least_25_cases) {
  ck_assert_int_ge(corpus.n, 25);
}
END_TEST

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s BAD_DIR\n", argv[0]);
    return 2;
  }
  list_corpus(argv[1]);
  Suite *s = suite_create("recipe_bad");
  TCase *tc = tcase_create("bad");
  tcase_add_test(tc, bad_folder_holds_at_least_25_cases);
  tcase_add_loop_test(tc, bad_recipe_reports_its_expected_errors, 0, corpus.n);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  for (int i = 0; i < corpus.n; i++) free(corpus.names[i]);
  return failed ? 1 : 0;
}
