/* The pass manager: the registry order and lookup, LLVM-style dumps before
 * and after a pass, stopping at a pass that fails or reports errors, and
 * verify_each catching a deliberately broken pass. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "loop.h"
#include "testkit.h"

extern const Pass pass_shape_infer;

/* A dump stream in memory. */
typedef struct Dump {
  FILE *f;
  char *text;
  size_t len;
} Dump;

static void dump_open(Dump *d) {
  d->text = NULL;
  d->f = open_memstream(&d->text, &d->len);
  ck_assert_ptr_nonnull(d->f);
}

static const char *dump_text(Dump *d) {
  fflush(d->f);
  return d->text ? d->text : "";
}

static void dump_close(Dump *d) {
  fclose(d->f);
  free(d->text);
}

/* Test-only passes. `count` records that it ran by appending '+' to the
 * graph's name, which the test reads back (no globals). */
static bool count_run(Module *m) {
  m->graph->name = arena_printf(m->arena, "%s+", m->graph->name);
  return true;
}
static bool fail_run(Module *m) {
  (void)m;
  return false;
}
static bool error_run(Module *m) {
  SrcLoc none = {0};
  diag_error(m->diag, none, "something went wrong");
  return true; /* forgot to say so: the manager must still stop */
}
/* Breaks a known shape after inference: the verifier must notice. */
static bool break_shapes_run(Module *m) {
  Value *v = graph_find_value(m->graph, "c1");
  v->type.shape.dim[1] = 7;
  return true;
}
/* Drops a node's attributes before inference: a structural break. */
static bool break_structure_run(Module *m) {
  m->graph->nodes[0]->nattrs = 0;
  return true;
}

/* Moves a state buffer past the end of the state block: only the loop-IR
 * verifier can see it. */
static bool break_loops_run(Module *m) {
  LProgram *p = m->loops;
  for (int i = 0; i < p->nbuffers; i++)
    if (p->buffers[i]->home == LBUF_STATE) {
      p->buffers[i]->offset = p->state_bytes;
      break;
    }
  return true;
}

static const Pass count_pass = {"count", "appends + to the graph name", count_run};
static const Pass fail_pass = {"fail", "fails", fail_run};
static const Pass error_pass = {"error", "reports an error", error_run};
static const Pass break_shapes_pass = {"break-shapes", "corrupts a shape", break_shapes_run};
static const Pass break_loops_pass = {"break-loops", "misplaces a buffer", break_loops_run};
static const Pass break_structure_pass = {"break-structure", "drops attributes",
                                          break_structure_run};

START_TEST(registry_lists_the_pipeline_in_order) {
  static const char *const order[] = {"normalize-input", "shape-infer", "lac",
                                      "autodiff",        "optimizer",   "prc",
                                      "quantize",        "dce",         "fuse",
                                      "verify",          "lower",       "math",
                                      "memplan"};
  int n = 0;
  const Pass *const *all = pass_registry(&n);
  ck_assert_int_eq(n, (int)(sizeof order / sizeof order[0]));
  for (int i = 0; i < n; i++) ck_assert_str_eq(all[i]->name, order[i]);
  for (int i = 0; i < n; i++) {
    ck_assert_ptr_nonnull(all[i]->summary);
    ck_assert_ptr_eq(pass_lookup(all[i]->name), all[i]);
  }
}
END_TEST

START_TEST(lookup_of_unknown_name_is_null) {
  ck_assert_ptr_null(pass_lookup("no-such-pass"));
  ck_assert_ptr_null(pass_lookup(""));
}
END_TEST

START_TEST(whole_registry_runs_cleanly_on_lenet) {
  Kit k;
  kit_init(&k, "lenet5");
  kit_lenet(&k);
  int n = 0;
  const Pass *const *all = pass_registry(&n);
  PassOptions opt = {.verify_each = true};
  ck_assert_msg(pass_run(&k.m, all, n, &opt), "%s", kit_messages(&k));
  ck_assert_int_eq(diag_error_count(k.diag), 0);
  ck_assert(kit_shape_is(graph_find_value(k.g, "d1.weight"), 2, (int64_t[]){120, 400}));
  kit_free(&k);
}
END_TEST

START_TEST(print_before_and_after_dump_the_graph_around_the_pass) {
  Kit k;
  kit_init(&k, "lenet5");
  kit_lenet(&k);
  Dump d;
  dump_open(&d);
  const char *names[] = {"shape-infer"};
  PassOptions opt = {.print_before = names, .nprint_before = 1, .print_after = names,
                     .nprint_after = 1, .dump = d.f};
  const Pass *p[] = {&pass_shape_infer};
  ck_assert(pass_run(&k.m, p, 1, &opt));
  const char *text = dump_text(&d);
  const char *before = strstr(text, "*** IR Dump Before shape-infer ***\n");
  const char *after = strstr(text, "*** IR Dump After shape-infer ***\n");
  ck_assert_ptr_nonnull(before);
  ck_assert_ptr_nonnull(after);
  ck_assert_ptr_eq(before, text);
  ck_assert(after > before);
  /* the inferred conv output appears only after the pass */
  const char *inferred = strstr(text, "f32[32,6,28,28]");
  ck_assert_ptr_nonnull(inferred);
  ck_assert(inferred > after);
  ck_assert_ptr_nonnull(strstr(text, "lenet5"));
  dump_close(&d);
  kit_free(&k);
}
END_TEST

START_TEST(print_after_all_dumps_after_every_pass_and_nothing_before) {
  Kit k;
  kit_init(&k, "t");
  kit_lenet(&k);
  Dump d;
  dump_open(&d);
  PassOptions opt = {.print_after_all = true, .dump = d.f};
  const Pass *p[] = {&pass_shape_infer, &count_pass};
  ck_assert(pass_run(&k.m, p, 2, &opt));
  const char *text = dump_text(&d);
  ck_assert_ptr_nonnull(strstr(text, "*** IR Dump After shape-infer ***"));
  ck_assert_ptr_nonnull(strstr(text, "*** IR Dump After count ***"));
  ck_assert_ptr_null(strstr(text, "Dump Before"));
  dump_close(&d);
  kit_free(&k);
}
END_TEST

START_TEST(no_dump_unless_asked) {
  Kit k;
  kit_init(&k, "t");
  kit_lenet(&k);
  Dump d;
  dump_open(&d);
  const char *other[] = {"verify"};
  PassOptions opt = {.print_after = other, .nprint_after = 1, .dump = d.f};
  const Pass *p[] = {&pass_shape_infer};
  ck_assert(pass_run(&k.m, p, 1, &opt));
  ck_assert_str_eq(dump_text(&d), "");
  dump_close(&d);
  kit_free(&k);
}
END_TEST

START_TEST(a_failing_pass_stops_the_pipeline) {
  Kit k;
  kit_init(&k, "g");
  kit_lenet(&k);
  Dump d;
  dump_open(&d);
  PassOptions opt = {.print_after_all = true, .dump = d.f};
  const Pass *p[] = {&count_pass, &fail_pass, &count_pass};
  ck_assert(!pass_run(&k.m, p, 3, &opt));
  ck_assert_str_eq(k.g->name, "g+");
  ck_assert_ptr_null(strstr(dump_text(&d), "After fail"));
  dump_close(&d);
  kit_free(&k);
}
END_TEST

START_TEST(new_errors_stop_the_pipeline_even_if_the_pass_returns_true) {
  Kit k;
  kit_init(&k, "g");
  kit_lenet(&k);
  const Pass *p[] = {&error_pass, &count_pass};
  ck_assert(!pass_run(&k.m, p, 2, NULL));
  ck_assert_str_eq(k.g->name, "g");
  kit_free(&k);
}
END_TEST

START_TEST(shape_errors_stop_before_later_passes) {
  Kit k;
  kit_init(&k, "g");
  kit_lenet(&k);
  graph_find_value(k.g, "d1.weight")->type.shape.dim[1] = 401;
  const Pass *p[] = {&pass_shape_infer, &count_pass};
  ck_assert(!pass_run(&k.m, p, 2, NULL));
  ck_assert_str_eq(k.g->name, "g");
  ck_assert(kit_contains(&k, "dense 'd1' declares 401 inputs"));
  kit_free(&k);
}
END_TEST

START_TEST(verify_each_catches_a_pass_that_breaks_shapes) {
  Kit k;
  kit_init(&k, "g");
  kit_lenet(&k);
  PassOptions opt = {.verify_each = true};
  const Pass *p[] = {&pass_shape_infer, &break_shapes_pass, &count_pass};
  ck_assert(!pass_run(&k.m, p, 3, &opt));
  ck_assert(kit_contains(&k, "internal error: pass 'break-shapes' produced invalid IR"));
  ck_assert_str_eq(k.g->name, "g");
  kit_free(&k);
}
END_TEST

START_TEST(verify_each_checks_structure_before_shape_inference) {
  Kit k;
  kit_init(&k, "g");
  kit_lenet(&k);
  PassOptions opt = {.verify_each = true};
  const Pass *p[] = {&count_pass, &break_structure_pass, &pass_shape_infer};
  ck_assert(!pass_run(&k.m, p, 3, &opt));
  ck_assert(kit_contains(&k, "internal error: pass 'break-structure' produced invalid IR"));
  ck_assert(!kit_contains(&k, "internal error: pass 'count'"));
  kit_free(&k);
}
END_TEST

START_TEST(without_verify_each_a_broken_pass_goes_unnoticed) {
  Kit k;
  kit_init(&k, "g");
  kit_lenet(&k);
  const Pass *p[] = {&pass_shape_infer, &break_shapes_pass};
  ck_assert(pass_run(&k.m, p, 2, NULL));
  ck_assert_int_eq(diag_error_count(k.diag), 0);
  kit_free(&k);
}
END_TEST

/* What a release build runs (no verify-each, octoc's default under NDEBUG):
 * the loop IR is still verified before anything can reach a backend. */
START_TEST(without_verify_each_a_pass_that_breaks_loop_ir_is_caught) {
  Kit k;
  kit_init(&k, "lenet5");
  kit_lenet(&k);
  int n = 0;
  const Pass *const *all = pass_registry(&n);
  const Pass *p[16];
  ck_assert_int_lt(n, 16);
  for (int i = 0; i < n; i++) p[i] = all[i];
  p[n] = &break_loops_pass;
  PassOptions opt = {.verify_each = false};
  ck_assert(!pass_run(&k.m, p, n + 1, &opt));
  ck_assert_msg(kit_contains(&k, "internal error: pass 'break-loops' produced invalid IR"), "%s",
                kit_messages(&k));
  ck_assert(!kit_contains(&k, "internal error: pass 'memplan'"));
  kit_free(&k);
}
END_TEST

/* The graph verifier is a pass of the pipeline; without verify-each its
 * failure is an internal error too (it cannot name the pass that broke). */
START_TEST(without_verify_each_the_verify_pass_reports_an_internal_error) {
  Kit k;
  kit_init(&k, "g");
  kit_lenet(&k);
  const Pass *p[] = {&pass_shape_infer, &break_shapes_pass, pass_lookup("verify")};
  ck_assert(!pass_run(&k.m, p, 3, NULL));
  ck_assert_msg(kit_contains(&k, "internal error: a pass before 'verify' produced invalid IR"),
                "%s", kit_messages(&k));
  kit_free(&k);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("pass_manager");
  TCase *t = tcase_create("run");
  tcase_add_test(t, registry_lists_the_pipeline_in_order);
  tcase_add_test(t, lookup_of_unknown_name_is_null);
  tcase_add_test(t, whole_registry_runs_cleanly_on_lenet);
  tcase_add_test(t, print_before_and_after_dump_the_graph_around_the_pass);
  tcase_add_test(t, print_after_all_dumps_after_every_pass_and_nothing_before);
  tcase_add_test(t, no_dump_unless_asked);
  tcase_add_test(t, a_failing_pass_stops_the_pipeline);
  tcase_add_test(t, new_errors_stop_the_pipeline_even_if_the_pass_returns_true);
  tcase_add_test(t, shape_errors_stop_before_later_passes);
  tcase_add_test(t, verify_each_catches_a_pass_that_breaks_shapes);
  tcase_add_test(t, verify_each_checks_structure_before_shape_inference);
  tcase_add_test(t, without_verify_each_a_broken_pass_goes_unnoticed);
  tcase_add_test(t, without_verify_each_a_pass_that_breaks_loop_ir_is_caught);
  tcase_add_test(t, without_verify_each_the_verify_pass_reports_an_internal_error);
  suite_add_tcase(s, t);
  return s;
}

int main(void) {
  SRunner *r = srunner_create(suite());
  srunner_run_all(r, CK_NORMAL);
  int failed = srunner_ntests_failed(r);
  srunner_free(r);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
