/* The graph IR's textual form: print -> read -> print is byte-identical, and
 * the graph read back equals the one printed, field by field. Also pins the
 * exact text of a small graph, the printer's float format, and the
 * multi-result and string-attribute syntax. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "graphs.h"
#include "printer.h"
#include "reader.h"
#include "verify.h"

/* Runs print on g into a malloc'd string. */
static char *print_to_string(const Graph *g) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  ck_assert_ptr_nonnull(f);
  graph_print(f, g);
  ck_assert_int_eq(fclose(f), 0);
  return buf;
}

static void same_loc(SrcLoc a, SrcLoc b) {
  ck_assert_int_eq(!a.file, !b.file);
  if (!a.file) return;
  ck_assert_str_eq(a.file, b.file);
  ck_assert_int_eq(a.line, b.line);
  ck_assert_int_eq(a.col, b.col);
}

static void same_type(const TensorType *a, const TensorType *b) {
  ck_assert_int_eq(a->dtype, b->dtype);
  ck_assert_msg(shape_eq(&a->shape, &b->shape), "shapes differ");
}

/* Doubles equal bit for bit (so -0.0 and 0.0 differ), any NaN equals NaN. */
static void same_double(double a, double b) {
  if (isnan(a)) {
    ck_assert(isnan(b));
    return;
  }
  ck_assert_msg(memcmp(&a, &b, sizeof a) == 0, "%.17g != %.17g", a, b);
}

static void same_str(const char *a, const char *b) {
  ck_assert_int_eq(!a, !b);
  if (a) ck_assert_str_eq(a, b);
}

static void same_value(const Value *a, const Value *b) {
  ck_assert_str_eq(a->name, b->name);
  ck_assert_int_eq(a->kind, b->kind);
  same_type(&a->type, &b->type);
  same_loc(a->loc, b->loc);
  ck_assert_int_eq(a->init.kind, b->init.kind);
  same_double(a->init.value, b->init.value);
  same_str(a->layer, b->layer);
  ck_assert_int_eq(a->classes, b->classes);
  ck_assert_int_eq(!a->def, !b->def);
  ck_assert_int_eq(a->def_index, b->def_index);
}

static void same_attr(const Attr *a, const Attr *b) {
  ck_assert_str_eq(a->name, b->name);
  ck_assert_int_eq(a->kind, b->kind);
  ck_assert_int_eq(a->i, b->i);
  same_double(a->f, b->f);
  ck_assert_int_eq(a->n, b->n);
  for (int k = 0; k < a->n; k++) ck_assert_int_eq(a->ints[k], b->ints[k]);
  same_str(a->s, b->s);
}

static void same_node(const Node *a, const Node *b) {
  ck_assert_int_eq(a->op, b->op);
  same_str(a->name, b->name);
  same_loc(a->loc, b->loc);
  ck_assert_int_eq(a->nin, b->nin);
  for (int i = 0; i < a->nin; i++) ck_assert_str_eq(a->in[i]->name, b->in[i]->name);
  ck_assert_int_eq(a->nout, b->nout);
  for (int i = 0; i < a->nout; i++) same_value(a->out[i], b->out[i]);
  ck_assert_int_eq(a->nattrs, b->nattrs);
  for (int i = 0; i < a->nattrs; i++) same_attr(&a->attrs[i], &b->attrs[i]);
}

/* Values are matched by name: the reader numbers declarations first, the
 * builder numbers them in creation order. */
static void same_graph(const Graph *a, const Graph *b) {
  ck_assert_str_eq(a->name, b->name);
  ck_assert_int_eq(a->batch, b->batch);
  ck_assert_int_eq(a->nvalues, b->nvalues);
  for (int i = 0; i < a->nvalues; i++) {
    const Value *vb = graph_find_value(b, a->values[i]->name);
    ck_assert_msg(vb != NULL, "value %s lost", a->values[i]->name);
    same_value(a->values[i], vb);
  }
  ck_assert_int_eq(a->nnodes, b->nnodes);
  for (int i = 0; i < a->nnodes; i++) same_node(a->nodes[i], b->nodes[i]);
  ck_assert_int_eq(a->noutputs, b->noutputs);
  for (int i = 0; i < a->noutputs; i++)
    ck_assert_str_eq(a->outputs[i]->name, b->outputs[i]->name);
}

/* print -> read -> print; returns the graph read back. */
static void round_trip(Graph *(*build)(Arena *)) {
  Arena *a = arena_new();
  char *errs = NULL;
  size_t errlen = 0;
  FILE *ef = open_memstream(&errs, &errlen);
  ck_assert_ptr_nonnull(ef);
  Diag *d = diag_new(ef);
  Graph *g = build(a);
  char *text1 = print_to_string(g);
  Graph *back = graph_read(a, d, "roundtrip.ir", text1, strlen(text1));
  fflush(ef);
  ck_assert_msg(back != NULL, "read failed:\n%s\ntext:\n%s", errs, text1);
  char *text2 = print_to_string(back);
  ck_assert_str_eq(text1, text2);
  same_graph(g, back);
  ck_assert_int_eq(diag_error_count(d), 0);
  free(text1);
  free(text2);
  diag_free(d);
  ck_assert_int_eq(fclose(ef), 0);
  free(errs);
  arena_free(a);
}

START_TEST(lenet_with_shapes_round_trips_byte_identical) { round_trip(build_lenet); }
END_TEST

START_TEST(unknown_shapes_round_trip_byte_identical) { round_trip(build_lenet_unknown); }
END_TEST

START_TEST(every_op_round_trips_byte_identical) { round_trip(build_all_ops); }
END_TEST

START_TEST(odd_names_inits_floats_and_no_locations_round_trip) { round_trip(build_odd); }
END_TEST

START_TEST(training_ops_with_several_or_no_results_round_trip) { round_trip(build_training); }
END_TEST

/* The test graphs are valid: the round trip is not hiding a reader that
 * accepts anything. */
START_TEST(test_graphs_verify) {
  Arena *a = arena_new();
  Diag *d = diag_new(stderr);
  ck_assert(graph_verify(build_lenet(a), d, VERIFY_SHAPES));
  ck_assert(graph_verify(build_lenet_unknown(a), d, VERIFY_STRUCTURE));
  ck_assert(graph_verify(build_all_ops(a), d, VERIFY_SHAPES));
  ck_assert(graph_verify(build_odd(a), d, VERIFY_SHAPES));
  ck_assert(graph_verify(build_training(a), d, VERIFY_SHAPES));
  diag_free(d);
  arena_free(a);
}
END_TEST

static const char small_text[] =
    "graph tiny (batch 2) {\n"
    "  input %x : f32[2,3]  loc(\"t.net\":2:3)\n"
    "  label %y : i32[2] classes 4  loc(\"t.net\":3:3)\n"
    "  param %fc.weight : f32[4,3] init xavier layer fc  loc(\"t.net\":4:3)\n"
    "  param %fc.bias : f32[4] init const(0.5) layer fc\n"
    "  %fc = dense \"fc\" (%x, %fc.weight, %fc.bias) {units = 4} : f32[2,4]  loc(\"t.net\":4:3)\n"
    "  %loss = softmax_cross_entropy \"loss\" (%fc, %y) : f32[]  loc(\"t.net\":5:3)\n"
    "  output %loss, %fc\n"
    "}\n";

/* The exact format, so a change to it is a decision, not an accident. */
START_TEST(small_graph_prints_in_the_documented_format) {
  Arena *a = arena_new();
  Graph *g = graph_new(a, "tiny", 2);
  int64_t two = 2;
  SrcLoc l2 = {"t.net", 2, 3}, l3 = {"t.net", 3, 3}, l4 = {"t.net", 4, 3}, l5 = {"t.net", 5, 3};
  Value *x = graph_add_input(g, "x", VAL_INPUT, f32_2(2, 3), l2);
  Value *y = graph_add_input(g, "y", VAL_LABEL, tt(DT_I32, 1, &two), l3);
  y->classes = 4;
  Value *w = graph_add_param(g, "fc.weight", VAL_PARAM, f32_2(4, 3), (Init){INIT_XAVIER, 0},
                             "fc", l4);
  Value *b = graph_add_param(g, "fc.bias", VAL_PARAM, f32_1(4), (Init){INIT_CONST, 0.5}, "fc",
                             (SrcLoc){0});
  Value *in[3] = {x, w, b};
  Node *fc = graph_add_node(g, OP_DENSE, "fc", in, 3, (const char *[]){"fc"}, 1, l4);
  fc->out[0]->type = f32_2(2, 4);
  node_set_int(g, fc, "units", 4);
  Value *ce_in[2] = {fc->out[0], y};
  Node *l = graph_add_node(g, OP_SOFTMAX_CROSS_ENTROPY, "loss", ce_in, 2,
                           (const char *[]){"loss"}, 1, l5);
  l->out[0]->type = tt(DT_F32, 0, NULL);
  graph_add_output(g, l->out[0]);
  graph_add_output(g, fc->out[0]);
  char *text = print_to_string(g);
  ck_assert_str_eq(text, small_text);
  free(text);
  arena_free(a);
}
END_TEST

/* Hand-written input: comments, blank lines, omitted result types, integer
 * init values, extra spaces; read, then printed canonically. */
START_TEST(reader_accepts_comments_blank_lines_and_loose_spacing) {
  static const char text[] =
      "# a comment line\n"
      "\n"
      "graph tiny   (batch 2)   {   # trailing comment\n"
      "  input %x : f32[2,3]\n"
      "\n"
      "  param %w : f32[4,3] init const(1) layer fc   # integer init value\n"
      "  %h = dense \"fc\" (%x,%w) {units=4}\n"
      "  output %h\n"
      "}\n"
      "# done\n";
  Arena *a = arena_new();
  Diag *d = diag_new(stderr);
  Graph *g = graph_read(a, d, "loose.ir", text, sizeof text - 1);
  ck_assert_ptr_nonnull(g);
  char *out = print_to_string(g);
  ck_assert_str_eq(out, "graph tiny (batch 2) {\n"
                        "  input %x : f32[2,3]\n"
                        "  param %w : f32[4,3] init const(1.0) layer fc\n"
                        "  %h = dense \"fc\" (%x, %w) {units = 4} : f32[*]\n"
                        "  output %h\n"
                        "}\n");
  free(out);
  diag_free(d);
  arena_free(a);
}
END_TEST

static char *float_str(double v) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  ck_assert_ptr_nonnull(f);
  print_float(f, v);
  ck_assert_int_eq(fclose(f), 0);
  return buf;
}

START_TEST(floats_print_shortest_and_always_as_floats) {
  struct {
    double v;
    const char *text;
  } cases[] = {{1, "1.0"},           {0.1, "0.1"},       {1e-5, "1e-05"},
               {0.1 + 0.2, "0.30000000000000004"}, {-0.0, "-0.0"}, {1e20, "1e+20"},
               {INFINITY, "inf"},    {-INFINITY, "-inf"}, {NAN, "nan"},
               {123456789, "123456789.0"}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *s = float_str(cases[i].v);
    ck_assert_str_eq(s, cases[i].text);
    free(s);
  }
}
END_TEST

/* No op has two results yet; the printer's multi-result form is pinned
 * here, and the reader parses it (and rejects it against the op table). */
START_TEST(multi_result_nodes_print_and_parse_comma_separated_results) {
  Arena *a = arena_new();
  Graph *g = graph_new(a, "m", 1);
  Value *x = graph_add_input(g, "x", VAL_INPUT, f32_1(1), (SrcLoc){0});
  Node *n = graph_add_node(g, OP_RELU, "r", &x, 1, (const char *[]){"a", "b.1"}, 2, (SrcLoc){0});
  n->out[1]->type = f32_1(1);
  node_set_str(g, n, "mode", "a \"b\"\n");
  char *text = print_to_string(g);
  ck_assert_str_eq(text, "graph m (batch 1) {\n"
                         "  input %x : f32[1]\n"
                         "  %a, %b.1 = relu \"r\" (%x) {mode = \"a \\\"b\\\"\\n\"} : f32[*], f32[1]\n"
                         "}\n");
  char *errs = NULL;
  size_t errlen = 0;
  FILE *ef = open_memstream(&errs, &errlen);
  ck_assert_ptr_nonnull(ef);
  Diag *d = diag_new(ef);
  ck_assert_ptr_null(graph_read(a, d, "m.ir", text, strlen(text)));
  ck_assert_int_eq(fclose(ef), 0);
  ck_assert_msg(strstr(errs, "m.ir:3:3: error: relu has 1 result, but 2 are named"), "%s", errs);
  free(errs);
  free(text);
  diag_free(d);
  arena_free(a);
}
END_TEST

/* A graph the reader returns is one the verifier accepts: it runs it. */
START_TEST(reader_runs_the_verifier_at_the_ir_line) {
  static const char text[] = "graph g (batch 2) {\n"
                             "  input %x : f32[2,3]\n"
                             "  param %w : f32[4,5] init he  loc(\"m.net\":7:1)\n"
                             "  %h = dense \"fc\" (%x, %w) {units = 4} : f32[2,4]  loc(\"m.net\":7:1)\n"
                             "}\n";
  Arena *a = arena_new();
  char *errs = NULL;
  size_t errlen = 0;
  FILE *ef = open_memstream(&errs, &errlen);
  ck_assert_ptr_nonnull(ef);
  Diag *d = diag_new(ef);
  ck_assert_ptr_null(graph_read(a, d, "v.ir", text, sizeof text - 1));
  ck_assert_int_eq(fclose(ef), 0);
  ck_assert_msg(strstr(errs, "v.ir:4:3: error: dense 'fc' declares 5 inputs but its input "
                             "f32[2,3] has 3"),
                "%s", errs);
  free(errs);
  diag_free(d);
  arena_free(a);
}
END_TEST

/* An unknown rank is `[*]`, a rank-1 shape with an unknown extent `[?]`:
 * the two print apart and read back as what they were (they once both
 * printed `[?]`, which read back as an unknown rank). */
START_TEST(unknown_rank_star_and_unknown_extent_question_mark_stay_apart) {
  char buf[64];
  Shape unknown = shape_unknown();
  Shape one = shape_of(1, (int64_t[]){-1});
  Shape weight = shape_of(4, (int64_t[]){6, -1, 5, 5});
  ck_assert_str_eq(shape_str(&unknown, buf, sizeof buf), "[*]");
  ck_assert_str_eq(shape_str(&one, buf, sizeof buf), "[?]");
  ck_assert_str_eq(shape_str(&weight, buf, sizeof buf), "[6,?,5,5]");
  TensorType t = {DT_I64, unknown};
  ck_assert_str_eq(type_str(&t, buf, sizeof buf), "i64[*]");

  static const char text[] = "graph g (batch 2) {\n"
                             "  param %any : f32[*] init zeros\n"
                             "  param %one : f32[?] init zeros\n"
                             "  param %w : f32[6,?,5,5] init he\n"
                             "}\n";
  Arena *a = arena_new();
  Diag *d = diag_new(stderr);
  Graph *g = graph_read(a, d, "shapes.ir", text, sizeof text - 1);
  ck_assert_ptr_nonnull(g);
  const Shape *s_any = &graph_find_value(g, "any")->type.shape;
  const Shape *s_one = &graph_find_value(g, "one")->type.shape;
  const Shape *s_w = &graph_find_value(g, "w")->type.shape;
  ck_assert_int_eq(s_any->rank, -1);
  ck_assert_int_eq(s_one->rank, 1);
  ck_assert_int_eq(s_one->dim[0], -1);
  ck_assert(shape_eq(s_w, &weight));
  char *out = print_to_string(g);
  ck_assert_str_eq(out, text);
  free(out);
  diag_free(d);
  arena_free(a);
}
END_TEST

static Suite *roundtrip_suite(void) {
  Suite *s = suite_create("ir-roundtrip");
  TCase *tc = tcase_create("roundtrip");
  tcase_add_test(tc, lenet_with_shapes_round_trips_byte_identical);
  tcase_add_test(tc, unknown_shapes_round_trip_byte_identical);
  tcase_add_test(tc, every_op_round_trips_byte_identical);
  tcase_add_test(tc, odd_names_inits_floats_and_no_locations_round_trip);
  tcase_add_test(tc, training_ops_with_several_or_no_results_round_trip);
  tcase_add_test(tc, test_graphs_verify);
  tcase_add_test(tc, small_graph_prints_in_the_documented_format);
  tcase_add_test(tc, reader_accepts_comments_blank_lines_and_loose_spacing);
  tcase_add_test(tc, floats_print_shortest_and_always_as_floats);
  tcase_add_test(tc, multi_result_nodes_print_and_parse_comma_separated_results);
  tcase_add_test(tc, reader_runs_the_verifier_at_the_ir_line);
  tcase_add_test(tc, unknown_rank_star_and_unknown_extent_question_mark_stay_apart);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(roundtrip_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
