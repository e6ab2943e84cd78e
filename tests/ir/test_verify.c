/* The graph verifier: valid graphs pass, and each check, fed a graph broken
 * in exactly its way, reports its own message at the right location. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "graphs.h"
#include "verify.h"

/* Verifies g, asserting it fails with a message containing `needle`. */
static void expect_error(const Graph *g, VerifyLevel level, const char *needle) {
  char *out = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&out, &len);
  ck_assert_ptr_nonnull(f);
  Diag *d = diag_new(f);
  bool ok = graph_verify(g, d, level);
  ck_assert_int_eq(fclose(f), 0);
  ck_assert_msg(!ok, "graph verified; expected: %s", needle);
  ck_assert_msg(strstr(out, needle) != NULL, "expected `%s` in:\n%s", needle, out);
  diag_free(d);
  free(out);
}

static Node *find_node(const Graph *g, const char *name) {
  for (int i = 0; i < g->nnodes; i++)
    if (g->nodes[i]->name && strcmp(g->nodes[i]->name, name) == 0) return g->nodes[i];
  ck_abort_msg("no node %s", name);
  return NULL;
}

static Value *val(const Graph *g, const char *name) {
  Value *v = graph_find_value(g, name);
  ck_assert_ptr_nonnull(v);
  return v;
}

static Attr *attr(Node *n, const char *name) {
  for (int i = 0; i < n->nattrs; i++)
    if (strcmp(n->attrs[i].name, name) == 0) return &n->attrs[i];
  ck_abort_msg("no attr %s", name);
  return NULL;
}

static Arena *arena;
static Graph *g;
static void setup(void) {
  arena = arena_new();
  g = build_lenet(arena);
}
static void teardown(void) { arena_free(arena); }

#define L(line) "models/lenet5.net:" #line ":3: error: "

START_TEST(valid_graphs_pass_both_levels) {
  Diag *d = diag_new(stderr);
  ck_assert(graph_verify(g, d, VERIFY_STRUCTURE));
  ck_assert(graph_verify(g, d, VERIFY_SHAPES));
  ck_assert(graph_verify(build_all_ops(arena), d, VERIFY_SHAPES));
  ck_assert(graph_verify(build_lenet_unknown(arena), d, VERIFY_STRUCTURE));
  ck_assert_int_eq(diag_error_count(d), 0);
  diag_free(d);
}
END_TEST

/* ---- SSA ---- */

START_TEST(operand_used_before_its_definition) {
  Node *t = g->nodes[0];
  g->nodes[0] = g->nodes[1];
  g->nodes[1] = t;
  expect_error(g, VERIFY_STRUCTURE, L(7) "relu 'relu': x '%c1' is used before it is defined");
}
END_TEST

START_TEST(node_twice_in_schedule) {
  g->nodes[1] = g->nodes[0];
  expect_error(g, VERIFY_STRUCTURE, L(6) "conv2d 'c1' appears twice in the schedule");
}
END_TEST

START_TEST(node_missing_from_schedule) {
  g->nnodes--; /* drop the loss */
  expect_error(g, VERIFY_STRUCTURE,
               L(14) "value '%loss' is defined by a node that is not in the schedule");
}
END_TEST

START_TEST(operand_from_another_graph) {
  Graph *other = build_lenet(arena);
  find_node(g, "relu")->in[0] = other->values[0];
  expect_error(g, VERIFY_STRUCTURE, L(7) "relu 'relu': x (operand 1) is not a value of this graph");
}
END_TEST

START_TEST(result_not_marked_as_defined_by_its_node) {
  val(g, "p1")->def = find_node(g, "c1");
  expect_error(g, VERIFY_STRUCTURE, L(7) "value '%p1' is not a result of its defining node");
}
END_TEST

START_TEST(declaration_with_a_defining_node) {
  val(g, "image")->def = g->nodes[0];
  expect_error(g, VERIFY_STRUCTURE, L(3) "input '%image' has a defining node");
}
END_TEST

START_TEST(value_id_out_of_place) {
  val(g, "image")->id = 5;
  expect_error(g, VERIFY_STRUCTURE, L(3) "value '%image' has id 5 but is value #0");
}
END_TEST

START_TEST(output_listed_twice) {
  graph_add_output(g, val(g, "loss"));
  expect_error(g, VERIFY_STRUCTURE, L(14) "value '%loss' is listed twice as an output");
}
END_TEST

START_TEST(output_not_in_graph) {
  Graph *other = build_lenet(arena);
  graph_add_output(g, other->values[3]);
  expect_error(g, VERIFY_STRUCTURE, "graph 'lenet5': output 3 is not a value of this graph");
}
END_TEST

/* ---- op table ---- */

START_TEST(wrong_operand_count) {
  find_node(g, "c1")->nin = 1;
  expect_error(g, VERIFY_STRUCTURE, L(6) "conv2d 'c1' takes 2 to 3 operands, got 1");
}
END_TEST

START_TEST(wrong_result_count) {
  find_node(g, "relu")->nout = 0;
  expect_error(g, VERIFY_STRUCTURE, L(7) "relu 'relu' has 1 result, got 0");
}
END_TEST

START_TEST(missing_attribute) {
  find_node(g, "c1")->nattrs--; /* groups */
  expect_error(g, VERIFY_STRUCTURE, L(6) "conv2d 'c1' is missing attribute 'groups' (integer)");
}
END_TEST

START_TEST(unknown_attribute) {
  node_set_int(g, find_node(g, "d1"), "unit", 3);
  expect_error(g, VERIFY_STRUCTURE, L(11) "dense 'd1' has no attribute 'unit'");
}
END_TEST

START_TEST(attribute_of_the_wrong_kind) {
  node_set_int(g, find_node(g, "c1"), "kernel", 5);
  expect_error(g, VERIFY_STRUCTURE,
               L(6) "conv2d 'c1': attribute 'kernel' must be an integer list, not an integer");
}
END_TEST

START_TEST(float_attribute_given_as_integer) {
  node_set_int(g, find_node(g, "bn2"), "eps", 1);
  expect_error(g, VERIFY_STRUCTURE,
               L(9) "batchnorm 'bn2': attribute 'eps' must be a number, not an integer");
}
END_TEST

START_TEST(integer_list_of_the_wrong_length) {
  int64_t k[3] = {5, 5, 5};
  node_set_ints(g, find_node(g, "c1"), "kernel", 3, k);
  expect_error(g, VERIFY_STRUCTURE, L(6) "conv2d 'c1': attribute 'kernel' needs 2 elements, got 3");
}
END_TEST

START_TEST(attribute_given_twice) {
  Node *n = find_node(g, "d1");
  node_set_int(g, n, "units2", 1);
  n->attrs[1].name = "units";
  expect_error(g, VERIFY_STRUCTURE, L(11) "dense 'd1': attribute 'units' given twice");
}
END_TEST

START_TEST(attribute_out_of_range) {
  attr(find_node(g, "p1"), "stride")->ints[1] = 0;
  expect_error(g, VERIFY_STRUCTURE,
               L(7) "maxpool 'p1': attribute stride has element 0; elements must be >= 1");
}
END_TEST

START_TEST(integer_attribute_out_of_range) {
  attr(find_node(g, "c2"), "filters")->i = 0;
  expect_error(g, VERIFY_STRUCTURE, L(8) "conv2d 'c2': attribute filters=0 must be >= 1");
}
END_TEST

START_TEST(float_attribute_out_of_range) {
  attr(find_node(g, "bn2"), "momentum")->f = 1.5;
  expect_error(g, VERIFY_STRUCTURE,
               L(9) "batchnorm 'bn2': attribute momentum=1.5 is out of range (0 <= momentum < 1)");
}
END_TEST

START_TEST(unknown_op) {
  find_node(g, "relu")->op = OP_COUNT;
  expect_error(g, VERIFY_STRUCTURE, L(7) "node 'relu' has an unknown op");
}
END_TEST

/* ---- values and dtypes ---- */

START_TEST(param_without_initializer) {
  val(g, "c1.bias")->init.kind = INIT_NONE;
  expect_error(g, VERIFY_STRUCTURE, L(6) "param '%c1.bias' has no initializer");
}
END_TEST

START_TEST(normal_init_without_std) {
  val(g, "c1.weight")->init = (Init){INIT_NORMAL, 0};
  expect_error(g, VERIFY_STRUCTURE,
               L(6) "param '%c1.weight': init normal needs a standard deviation > 0");
}
END_TEST

START_TEST(class_label_must_be_i32) {
  val(g, "digit")->type.dtype = DT_F32;
  expect_error(g, VERIFY_STRUCTURE,
               "models/lenet5.net:4:3: error: label '%digit' holds class ids (classes 10) but is "
               "f32[32]; class labels are i32");
}
END_TEST

START_TEST(float_target_label_must_be_f32) {
  Graph *h = build_all_ops(arena);
  val(h, "target")->type.dtype = DT_I32;
  expect_error(h, VERIFY_STRUCTURE,
               "models/lenet5.net:3:3: error: label '%target' holds float targets (no classes) "
               "but is i32[4,3]");
}
END_TEST

START_TEST(negative_classes) {
  val(g, "digit")->classes = -2;
  expect_error(g, VERIFY_STRUCTURE, "error: label '%digit' has -2 classes");
}
END_TEST

START_TEST(softmax_cross_entropy_label_operand_must_be_i32) {
  Graph *h = build_all_ops(arena);
  find_node(h, "mse")->op = OP_SOFTMAX_CROSS_ENTROPY;
  expect_error(h, VERIFY_STRUCTURE,
               L(14) "softmax_cross_entropy 'mse': label '%target' is f32[4,3] but must be i32");
}
END_TEST

START_TEST(operand_must_be_f32) {
  val(g, "image")->type.dtype = DT_U8;
  expect_error(g, VERIFY_STRUCTURE,
               L(6) "conv2d 'c1': x '%image' is u8[32,1,28,28] but must be f32");
}
END_TEST

START_TEST(result_must_be_f32) {
  val(g, "p1")->type.dtype = DT_I8;
  expect_error(g, VERIFY_STRUCTURE, L(7) "maxpool 'p1': result '%p1' is i8[32,6,14,14] but must be f32");
}
END_TEST

/* ---- shapes ---- */

START_TEST(unknown_shapes_fail_the_shape_level) {
  Graph *h = build_lenet_unknown(arena);
  expect_error(h, VERIFY_SHAPES, L(6) "param '%c1.weight' has no inferred shape (f32[6,?,5,5])");
}
END_TEST

START_TEST(input_batch_must_match_the_graph) {
  val(g, "image")->type.shape.dim[0] = 16;
  expect_error(g, VERIFY_SHAPES, L(3) "input '%image' is f32[16,1,28,28] but the batch is 32");
}
END_TEST

START_TEST(conv_weight_channels_must_match_input) {
  val(g, "c1.weight")->type.shape.dim[1] = 3;
  expect_error(g, VERIFY_SHAPES,
               L(6) "conv2d 'c1' declares 3 input channels but its input f32[32,1,28,28] has 1");
}
END_TEST

START_TEST(conv_result_must_match_the_rule) {
  val(g, "c1")->type.shape.dim[2] = 24;
  expect_error(g, VERIFY_SHAPES,
               L(6) "conv2d 'c1': result '%c1' is f32[32,6,24,28] but the shape rule gives "
                    "f32[32,6,28,28]");
}
END_TEST

START_TEST(dense_weight_must_match_features) {
  val(g, "d1.weight")->type.shape.dim[1] = 256;
  expect_error(g, VERIFY_SHAPES,
               L(11) "dense 'd1' declares 256 inputs but its input f32[32,400] has 400");
}
END_TEST

START_TEST(pool_result_must_match_the_rule) {
  val(g, "p2")->type.shape.dim[3] = 4;
  expect_error(g, VERIFY_SHAPES,
               L(10) "maxpool 'p2': result '%p2' is f32[32,16,5,4] but the shape rule gives "
                     "f32[32,16,5,5]");
}
END_TEST

START_TEST(batchnorm_params_must_have_channels) {
  val(g, "bn2.running_var")->type.shape.dim[0] = 6;
  expect_error(g, VERIFY_SHAPES,
               L(9) "batchnorm 'bn2': running_var 'bn2.running_var' is f32[6] but must be f32[16]");
}
END_TEST

START_TEST(add_operands_must_have_equal_shapes) {
  Graph *h = build_all_ops(arena);
  Node *n = find_node(h, "res");
  n->in[1] = val(h, "dw.weight");
  expect_error(h, VERIFY_SHAPES,
               L(7) "add 'res': shapes f32[4,8,8,8] and f32[8,1,3,3] differ");
}
END_TEST

START_TEST(scale_parameter_must_be_one_element) {
  Graph *h = build_all_ops(arena);
  val(h, "s.scale")->type.shape.dim[0] = 8;
  expect_error(h, VERIFY_SHAPES, L(5) "scale 's': scale 's.scale' is f32[8] but must be f32[1]");
}
END_TEST

START_TEST(loss_must_be_scalar) {
  val(g, "loss")->type.shape = shape_of(1, (int64_t[]){32});
  expect_error(g, VERIFY_SHAPES,
               L(14) "softmax_cross_entropy 'loss': result '%loss' is f32[32] but the shape rule "
                     "gives f32[]");
}
END_TEST

START_TEST(label_classes_must_match_logits) {
  val(g, "digit")->classes = 12;
  expect_error(g, VERIFY_SHAPES,
               L(14) "softmax_cross_entropy 'loss': label 'digit' declares class[12] but logits "
                     "f32[32,10] have 10 classes");
}
END_TEST

START_TEST(training_graph_with_counters_and_zero_flags_passes) {
  Diag *d = diag_new(stderr);
  ck_assert(graph_verify(build_training(arena), d, VERIFY_SHAPES));
  diag_free(d);
}
END_TEST

START_TEST(updated_in_place_operand_must_be_persistent) {
  Graph *h = build_training(arena);
  Node *sgd = find_node(h, "b");
  ck_assert_int_eq(sgd->op, OP_SGD_UPDATE);
  sgd->in[3] = val(h, "b.grad"); /* a node result as the momentum buffer */
  expect_error(h, VERIFY_STRUCTURE,
               "models/lenet5.net:10:3: error: sgd_update 'b': momentum '%b.grad' is updated in "
               "place, so it must be a param or state, not a value");
}
END_TEST

START_TEST(step_counter_must_be_i64) {
  Graph *h = build_training(arena);
  val(h, "step")->type.dtype = DT_I32;
  expect_error(h, VERIFY_STRUCTURE,
               "models/lenet5.net:11:3: error: adam_update 'c': step '%step' is i32[] but must be i64");
}
END_TEST

START_TEST(epoch_counter_must_be_i32) {
  Graph *h = build_training(arena);
  val(h, "epoch")->type.dtype = DT_F32;
  expect_error(h, VERIFY_STRUCTURE,
               L(9) "lr_schedule 'lr': epoch '%epoch' is f32[] but must be i32");
}
END_TEST

START_TEST(adam_beta_out_of_range) {
  Graph *h = build_training(arena);
  Node *adam = find_node(h, "c");
  attr(adam, "beta2")->f = 1.0;
  expect_error(h, VERIFY_STRUCTURE,
               "models/lenet5.net:11:3: error: adam_update 'c': attribute beta2=1 is out of range "
               "(0 <= beta2 < 1)");
}
END_TEST

START_TEST(multi_result_types_must_match_the_rule) {
  Graph *h = build_training(arena);
  val(h, "bn.invstd")->type.shape.dim[0] = 3;
  expect_error(h, VERIFY_SHAPES,
               L(5) "batchnorm_train 'bn': result '%bn.invstd' is f32[3] but the shape rule gives "
                    "f32[4]");
}
END_TEST

START_TEST(structure_errors_skip_shape_checks) {
  /* A missing attribute must not reach the shape rules (one message). */
  find_node(g, "c1")->nattrs--;
  char *out = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&out, &len);
  ck_assert_ptr_nonnull(f);
  Diag *d = diag_new(f);
  ck_assert(!graph_verify(g, d, VERIFY_SHAPES));
  ck_assert_int_eq(diag_error_count(d), 1);
  ck_assert_int_eq(fclose(f), 0);
  diag_free(d);
  free(out);
}
END_TEST

static Suite *verify_suite(void) {
  Suite *s = suite_create("ir-verify");
  TCase *tc = tcase_create("verify");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, valid_graphs_pass_both_levels);
  tcase_add_test(tc, operand_used_before_its_definition);
  tcase_add_test(tc, node_twice_in_schedule);
  tcase_add_test(tc, node_missing_from_schedule);
  tcase_add_test(tc, operand_from_another_graph);
  tcase_add_test(tc, result_not_marked_as_defined_by_its_node);
  tcase_add_test(tc, declaration_with_a_defining_node);
  tcase_add_test(tc, value_id_out_of_place);
  tcase_add_test(tc, output_listed_twice);
  tcase_add_test(tc, output_not_in_graph);
  tcase_add_test(tc, wrong_operand_count);
  tcase_add_test(tc, wrong_result_count);
  tcase_add_test(tc, missing_attribute);
  tcase_add_test(tc, unknown_attribute);
  tcase_add_test(tc, attribute_of_the_wrong_kind);
  tcase_add_test(tc, float_attribute_given_as_integer);
  tcase_add_test(tc, integer_list_of_the_wrong_length);
  tcase_add_test(tc, attribute_given_twice);
  tcase_add_test(tc, attribute_out_of_range);
  tcase_add_test(tc, integer_attribute_out_of_range);
  tcase_add_test(tc, float_attribute_out_of_range);
  tcase_add_test(tc, unknown_op);
  tcase_add_test(tc, param_without_initializer);
  tcase_add_test(tc, normal_init_without_std);
  tcase_add_test(tc, class_label_must_be_i32);
  tcase_add_test(tc, float_target_label_must_be_f32);
  tcase_add_test(tc, negative_classes);
  tcase_add_test(tc, softmax_cross_entropy_label_operand_must_be_i32);
  tcase_add_test(tc, operand_must_be_f32);
  tcase_add_test(tc, result_must_be_f32);
  tcase_add_test(tc, unknown_shapes_fail_the_shape_level);
  tcase_add_test(tc, input_batch_must_match_the_graph);
  tcase_add_test(tc, conv_weight_channels_must_match_input);
  tcase_add_test(tc, conv_result_must_match_the_rule);
  tcase_add_test(tc, dense_weight_must_match_features);
  tcase_add_test(tc, pool_result_must_match_the_rule);
  tcase_add_test(tc, batchnorm_params_must_have_channels);
  tcase_add_test(tc, add_operands_must_have_equal_shapes);
  tcase_add_test(tc, scale_parameter_must_be_one_element);
  tcase_add_test(tc, loss_must_be_scalar);
  tcase_add_test(tc, label_classes_must_match_logits);
  tcase_add_test(tc, training_graph_with_counters_and_zero_flags_passes);
  tcase_add_test(tc, updated_in_place_operand_must_be_persistent);
  tcase_add_test(tc, step_counter_must_be_i64);
  tcase_add_test(tc, epoch_counter_must_be_i32);
  tcase_add_test(tc, adam_beta_out_of_range);
  tcase_add_test(tc, multi_result_types_must_match_the_rule);
  tcase_add_test(tc, structure_errors_skip_shape_checks);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(verify_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
