/* Pipeline-wide tests over every model in models/ (directory from argv[1] or
 * $MODELS): each model is compiled in-process the way octoc does it (front
 * end, default recipe, every pass of the registry) and
 *   - the graph IR dumped after every graph pass reads back (graph_read) and
 *     prints (graph_print) to the same bytes;
 *   - the loop IR dumped after every loop pass reads back (lprog_read),
 *     prints to the same bytes and verifies (lprog_verify);
 *   - the memory plan passes memplan_check and its arena is at least the
 *     peak live set; the sizes are printed (docs/memory.md, "Models").
 * Dumps come from the pass manager's own --print-after-all machinery written
 * to a memstream, so the text tested is exactly what octoc prints. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "diag.h"
#include "frontend.h"
#include "loop_printer.h"
#include "loop_reader.h"
#include "loop_verify.h"
#include "memplan.h"
#include "pass.h"
#include "printer.h"
#include "reader.h"
#include "recipe.h"

enum { MAX_MODELS = 64 };

/* Set once in main before any test runs; read-only afterwards. */
static const char *models_dir = "models";
static char *model_names[MAX_MODELS];
static int nmodels;

/* ---- helpers ---- */

static int cmp_str(const void *x, const void *y) {
  return strcmp(*(char *const *)x, *(char *const *)y);
}

/* The *.net files of models_dir, sorted so loop indices are stable. */
static void list_models(void) {
  DIR *dir = opendir(models_dir);
  if (!dir) return;
  struct dirent *e;
  while ((e = readdir(dir)) && nmodels < MAX_MODELS) {
    size_t n = strlen(e->d_name);
    if (n > 4 && strcmp(e->d_name + n - 4, ".net") == 0)
      model_names[nmodels++] = strcpy(xmalloc(n + 1), e->d_name);
  }
  closedir(dir);
  qsort(model_names, (size_t)nmodels, sizeof model_names[0], cmp_str);
}

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  size_t cap = 4096, n = 0;
  char *buf = xmalloc(cap);
  size_t got;
  while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) buf = xrealloc(buf, cap *= 2);
  }
  ck_assert_msg(!ferror(f), "cannot read %s", path);
  fclose(f);
  buf = xrealloc(buf, n + 1);
  buf[n] = '\0';
  *len = n;
  return buf;
}

/* A memstream that collects text; close with sink_close before reading. */
typedef struct Sink {
  FILE *f;
  char *text;
  size_t len;
} Sink;

static void sink_open(Sink *s) {
  s->text = NULL;
  s->len = 0;
  s->f = open_memstream(&s->text, &s->len);
  ck_assert_ptr_nonnull(s->f);
}

static void sink_close(Sink *s) {
  ck_assert_int_eq(fclose(s->f), 0);
  s->f = NULL;
}

/* One model compiled through passes[0..npasses) of the registry. */
typedef struct Build {
  char path[1024];
  Arena *a;
  Diag *d;
  Sink diags;
  Sink dumps; /* --print-after-all text when asked */
  Module m;
  Recipe recipe;
} Build;

static Build *build_model(int index, int npasses, bool dump_all) {
  Build *b = xcalloc(1, sizeof *b);
  snprintf(b->path, sizeof b->path, "%s/%s", models_dir, model_names[index]);
  size_t len;
  char *text = slurp(b->path, &len);
  b->a = arena_new();
  sink_open(&b->diags);
  b->d = diag_new(b->diags.f);
  recipe_defaults(&b->recipe);
  Graph *g = net_compile(b->a, b->d, b->path, text, len, b->recipe.batch);
  free(text);
  fflush(b->diags.f);
  ck_assert_msg(g != NULL, "%s does not compile:\n%s", b->path, b->diags.text);
  b->m = (Module){.arena = b->a, .diag = b->d, .graph = g, .recipe = &b->recipe};
  int count;
  const Pass *const *passes = pass_registry(&count);
  ck_assert_int_le(npasses, count);
  sink_open(&b->dumps);
  PassOptions opt = {.print_after_all = dump_all, .verify_each = true, .dump = b->dumps.f};
  bool ok = pass_run(&b->m, passes, npasses, &opt);
  sink_close(&b->dumps);
  fflush(b->diags.f);
  ck_assert_msg(ok, "%s: pipeline failed:\n%s", b->path, b->diags.text);
  return b;
}

static void build_free(Build *b) {
  diag_free(b->d);
  sink_close(&b->diags);
  free(b->diags.text);
  free(b->dumps.text);
  arena_free(b->a);
  free(b);
}

/* Index of a pass in the registry (-1 if none). */
static int pass_index(const char *name) {
  int count;
  const Pass *const *passes = pass_registry(&count);
  for (int i = 0; i < count; i++)
    if (strcmp(passes[i]->name, name) == 0) return i;
  return -1;
}

/* The dump printed after pass `name`: the text between its header line and
 * the next header (or the end). NULL if there is none. */
static const char *find_dump(const char *dumps, const char *name, size_t *len) {
  char header[128];
  snprintf(header, sizeof header, "*** IR Dump After %s ***\n", name);
  const char *start = strstr(dumps, header);
  if (!start) return NULL;
  start += strlen(header);
  const char *end = strstr(start, "*** IR Dump ");
  *len = end ? (size_t)(end - start) : strlen(start);
  return start;
}

/* Line number (1-based) and text of the first line where x and y differ. */
static int first_diff_line(const char *x, size_t nx, const char *y, size_t ny) {
  int line = 1;
  for (size_t i = 0; i < nx && i < ny; i++) {
    if (x[i] != y[i]) return line;
    if (x[i] == '\n') line++;
  }
  return nx == ny ? 0 : line;
}

static const char *line_at(const char *s, int line) {
  for (int l = 1; l < line && s; l++) {
    s = strchr(s, '\n');
    if (s) s++;
  }
  return s ? s : "";
}

/* Asserts that `got` equals `want` byte for byte, showing the first
 * differing line of each when not. */
static void assert_same_text(const char *what, const char *want, size_t nwant, const char *got,
                             size_t ngot) {
  int line = first_diff_line(want, nwant, got, ngot);
  ck_assert_msg(line == 0, "%s: reprint differs at line %d\n  dump:    %.200s\n  reprint: %.200s",
                what, line, line_at(want, line), line_at(got, line));
}

/* graph_read + graph_print of one dump; returns the printed text. */
static char *reprint_graph(Arena *a, Diag *d, const char *file, const char *text, size_t len,
                           size_t *outlen) {
  Graph *g = graph_read(a, d, file, text, len);
  if (!g) return NULL;
  Sink s;
  sink_open(&s);
  graph_print(s.f, g);
  sink_close(&s);
  *outlen = s.len;
  return s.text;
}

static char *reprint_loops(Arena *a, Diag *d, const char *file, const char *text, size_t len,
                           size_t *outlen, LProgram **prog) {
  LProgram *p = lprog_read(a, d, file, text, len);
  *prog = p;
  if (!p) return NULL;
  Sink s;
  sink_open(&s);
  lprog_print(s.f, p);
  sink_close(&s);
  *outlen = s.len;
  return s.text;
}

/* ---- 1. graph IR: print -> read -> print after every graph pass ---- */

START_TEST(graph_ir_reprints_byte_identical_after_every_graph_pass) {
  int nverify = pass_index("verify");
  ck_assert_int_ge(nverify, 0);
  Build *b = build_model(_i, nverify + 1, true);
  int count;
  const Pass *const *passes = pass_registry(&count);
  for (int i = 0; i <= nverify; i++) {
    size_t len, outlen = 0;
    const char *dump = find_dump(b->dumps.text, passes[i]->name, &len);
    ck_assert_msg(dump != NULL, "%s: no dump after %s", b->path, passes[i]->name);
    char what[512];
    snprintf(what, sizeof what, "%s after %s", model_names[_i], passes[i]->name);
    char *again = reprint_graph(b->a, b->d, what, dump, len, &outlen);
    fflush(b->diags.f);
    ck_assert_msg(again != NULL, "%s: graph_read failed:\n%s", what, b->diags.text);
    assert_same_text(what, dump, len, again, outlen);
    free(again);
  }
  build_free(b);
}
END_TEST

/* ---- 2. loop IR: print -> read -> print, and the read program verifies ---- */

START_TEST(loop_ir_reprints_byte_identical_and_verifies_after_every_loop_pass) {
  int count;
  const Pass *const *passes = pass_registry(&count);
  Build *b = build_model(_i, count, true);
  int nloop = 0;
  for (int i = pass_index("verify") + 1; i < count; i++, nloop++) {
    size_t len, outlen = 0;
    const char *dump = find_dump(b->dumps.text, passes[i]->name, &len);
    ck_assert_msg(dump != NULL, "%s: no dump after %s", b->path, passes[i]->name);
    ck_assert_msg(strncmp(dump, "program ", 8) == 0 || strstr(dump, "\nprogram ") != NULL,
                  "%s: dump after %s is not loop IR: %.60s", b->path, passes[i]->name, dump);
    char what[512];
    snprintf(what, sizeof what, "%s after %s", model_names[_i], passes[i]->name);
    LProgram *p;
    char *again = reprint_loops(b->a, b->d, what, dump, len, &outlen, &p);
    fflush(b->diags.f);
    ck_assert_msg(again != NULL, "%s: lprog_read failed:\n%s", what, b->diags.text);
    assert_same_text(what, dump, len, again, outlen);
    free(again);
    bool clean = lprog_verify(p, b->d);
    fflush(b->diags.f);
    ck_assert_msg(clean, "%s: lprog_verify:\n%s", what, b->diags.text);
  }
  ck_assert_int_ge(nloop, 1);
  /* The final dump is --emit=loops: it must equal printing the module's
   * program, and its plan read back must still check. */
  size_t len, outlen = 0;
  const char *last = find_dump(b->dumps.text, passes[count - 1]->name, &len);
  Sink s;
  sink_open(&s);
  lprog_print(s.f, b->m.loops);
  sink_close(&s);
  assert_same_text("final dump vs --emit=loops", s.text, s.len, last, len);
  free(s.text);
  LProgram *p;
  char *again = reprint_loops(b->a, b->d, "final", last, len, &outlen, &p);
  ck_assert_ptr_nonnull(again);
  free(again);
  char err[512];
  ck_assert_msg(memplan_check(p, err, sizeof err), "%s: re-read plan: %s", b->path, err);
  ck_assert_int_eq(p->state_bytes, b->m.loops->state_bytes);
  ck_assert_int_eq(p->work_bytes, b->m.loops->work_bytes);
  build_free(b);
}
END_TEST

/* ---- 3. the memory plan of every model ---- */

START_TEST(memplan_of_every_model_checks_and_arena_covers_peak_live) {
  int count;
  pass_registry(&count);
  Build *b = build_model(_i, count, false);
  LProgram *p = b->m.loops;
  ck_assert_ptr_nonnull(p);
  char err[512];
  ck_assert_msg(memplan_check(p, err, sizeof err), "%s: %s", b->path, err);
  int64_t state = p->state_bytes, work = p->work_bytes;
  ck_assert_int_gt(state, 0);
  /* Planning again is deterministic and gives the statistics. */
  MemPlanStats st;
  ck_assert(memplan_run(p, b->d, &st));
  ck_assert_int_eq(p->state_bytes, state);
  ck_assert_int_eq(p->work_bytes, work);
  ck_assert_int_eq(st.work_bytes, work);
  ck_assert_int_eq(st.state_bytes, state);
  ck_assert_msg(work >= st.peak_live_bytes, "%s: arena %lld < peak live %lld", b->path,
                (long long)work, (long long)st.peak_live_bytes);
  ck_assert_msg(work <= st.naive_work_bytes, "%s: arena %lld > no-sharing bound %lld", b->path,
                (long long)work, (long long)st.naive_work_bytes);
  printf("memplan %-16s state %10lld  arena %10lld  peak live %10lld  no sharing %10lld  (%s, "
         "peak in %s #%d)\n",
         model_names[_i], (long long)state, (long long)work, (long long)st.peak_live_bytes,
         (long long)st.naive_work_bytes, st.strategy, st.peak_entry ? st.peak_entry : "-",
         st.peak_kernel);
  fflush(stdout);
  build_free(b);
}
END_TEST

/* ---- the comparison itself can fail ---- */

/* A dump with one extra space (which the reader skips and the printer never
 * writes) reprints to the original, not to itself: the byte comparison the
 * round-trip tests use does see such a difference. */
START_TEST(reprint_of_respaced_dump_differs_so_comparison_detects_changes) {
  int nverify = pass_index("verify");
  Build *b = build_model(0, nverify + 1, true);
  size_t len, outlen = 0;
  const char *dump = find_dump(b->dumps.text, "verify", &len);
  ck_assert_ptr_nonnull(dump);
  /* "  input" -> "   input": whitespace the reader skips. */
  char *changed = xmalloc(len + 2);
  const char *at = strstr(dump, "\n  ");
  ck_assert_ptr_nonnull(at);
  size_t k = (size_t)(at - dump) + 1;
  memcpy(changed, dump, k);
  changed[k] = ' ';
  memcpy(changed + k + 1, dump + k, len - k);
  char *again = reprint_graph(b->a, b->d, "respaced", changed, len + 1, &outlen);
  ck_assert_ptr_nonnull(again);
  ck_assert_int_ne(first_diff_line(changed, len + 1, again, outlen), 0);
  ck_assert_int_eq(first_diff_line(dump, len, again, outlen), 0);
  free(again);
  free(changed);
  build_free(b);
}
END_TEST

START_TEST(models_dir_has_models) {
  ck_assert_msg(nmodels > 0, "no *.net in %s", models_dir);
}
END_TEST

static Suite *pipeline_suite(void) {
  Suite *s = suite_create("pipeline");
  TCase *t = tcase_create("models");
  tcase_set_timeout(t, 120);
  tcase_add_test(t, models_dir_has_models);
  tcase_add_loop_test(t, graph_ir_reprints_byte_identical_after_every_graph_pass, 0, nmodels);
  tcase_add_loop_test(t, loop_ir_reprints_byte_identical_and_verifies_after_every_loop_pass, 0,
                      nmodels);
  tcase_add_loop_test(t, memplan_of_every_model_checks_and_arena_covers_peak_live, 0, nmodels);
  if (nmodels > 0) tcase_add_test(t, reprint_of_respaced_dump_differs_so_comparison_detects_changes);
  suite_add_tcase(s, t);
  return s;
}

int main(int argc, char **argv) {
  if (argc > 1) models_dir = argv[1];
  else if (getenv("MODELS")) models_dir = getenv("MODELS");
  list_models();
  SRunner *sr = srunner_create(pipeline_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  for (int i = 0; i < nmodels; i++) free(model_names[i]);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
