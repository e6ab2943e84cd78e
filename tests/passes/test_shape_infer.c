/* Shape inference: every op's rule on good input (exact shapes, filled
 * parameter shapes), every documented error message, notes at the value to
 * blame, several independent errors in one run without cascades, and
 * overflow-safe arithmetic. */
#include <check.h>
#include <stdlib.h>

#include "shape_rules.h"
#include "testkit.h"

static const int64_t X4[4] = {32, 1, 28, 28};

static void ck_shape(const Value *v, int rank, const int64_t *dims) {
  char b[200];
  ck_assert_msg(kit_shape_is(v, rank, dims), "%s has %s", v->name,
                type_str(&v->type, b, sizeof b));
}

static void ck_ok(Kit *k) {
  bool ok = kit_run_shape_infer(k);
  ck_assert_msg(ok, "shape-infer failed: %s", kit_messages(k));
  ck_assert_int_eq(diag_error_count(k->diag), 0);
}

static void ck_error(Kit *k, const char *msg) {
  ck_assert(!kit_run_shape_infer(k));
  ck_assert_msg(kit_contains(k, msg), "expected \"%s\" in:\n%s", msg, kit_messages(k));
}

START_TEST(conv2d_computes_output_and_fills_weight_in_channels) {
  Kit k;
  kit_init(&k, "t");
  Node *n = kit_conv(&k, "c1", kit_input(&k, "x", 4, X4), 6, 5, 1, 2, 1);
  ck_ok(&k);
  ck_shape(n->out[0], 4, (int64_t[]){32, 6, 28, 28});
  ck_shape(n->in[1], 4, (int64_t[]){6, 1, 5, 5});
  ck_shape(n->in[2], 1, (int64_t[]){6});
  kit_free(&k);
}
END_TEST

START_TEST(conv2d_stride_and_groups_give_depthwise_shapes) {
  Kit k;
  kit_init(&k, "t");
  Value *x = kit_input(&k, "x", 4, (int64_t[]){8, 16, 15, 15});
  Node *n = kit_conv(&k, "dw", x, 16, 3, 2, 1, 16);
  ck_ok(&k);
  ck_shape(n->out[0], 4, (int64_t[]){8, 16, 8, 8});
  ck_shape(n->in[1], 4, (int64_t[]){16, 1, 3, 3});
  kit_free(&k);
}
END_TEST

START_TEST(conv2d_rejects_channels_not_divisible_by_groups) {
  Kit k;
  kit_init(&k, "t");
  kit_conv(&k, "g", kit_input(&k, "x", 4, (int64_t[]){8, 6, 8, 8}), 8, 3, 1, 1, 4);
  ck_error(&k, "conv2d 'g': input channels 6 of f32[8,6,8,8] are not divisible by groups=4");
  kit_free(&k);
}
END_TEST

START_TEST(conv2d_rejects_filters_not_divisible_by_groups) {
  Kit k;
  kit_init(&k, "t");
  kit_conv(&k, "g", kit_input(&k, "x", 4, (int64_t[]){8, 8, 8, 8}), 6, 3, 1, 1, 4);
  ck_error(&k, "conv2d 'g': filters=6 is not divisible by groups=4");
  kit_free(&k);
}
END_TEST

START_TEST(conv2d_rejects_kernel_larger_than_padded_input) {
  Kit k;
  kit_init(&k, "t");
  kit_conv(&k, "c3", kit_input(&k, "x", 4, (int64_t[]){32, 16, 4, 4}), 8, 5, 1, 0, 1);
  ck_error(&k, "conv2d 'c3': kernel 5x5 is larger than its input 4x4 (f32[32,16,4,4])");
  kit_free(&k);
}
END_TEST

START_TEST(conv2d_rejects_rank_other_than_4) {
  Kit k;
  kit_init(&k, "t");
  kit_conv(&k, "c1", kit_input(&k, "x", 2, (int64_t[]){32, 784}), 8, 3, 1, 0, 1);
  ck_error(&k, "conv2d 'c1': x f32[32,784] has rank 2, expected rank 4");
  kit_free(&k);
}
END_TEST

START_TEST(conv2d_rejects_declared_in_channels_with_note_at_weight) {
  Kit k;
  kit_init(&k, "t");
  Node *n = kit_conv(&k, "c1", kit_input(&k, "x", 4, X4), 6, 5, 1, 2, 1);
  n->in[1]->type.shape.dim[1] = 3; /* as if in_channels=3 was written */
  ck_error(&k, "conv2d 'c1' declares 3 input channels but its input f32[32,1,28,28] has 1");
  ck_assert(kit_contains(&k, "note: parameter 'c1.weight' is declared here as f32[6,3,5,5]"));
  kit_free(&k);
}
END_TEST

START_TEST(conv2d_rejects_wrong_bias_length) {
  Kit k;
  kit_init(&k, "t");
  Node *n = kit_conv(&k, "c1", kit_input(&k, "x", 4, X4), 6, 5, 1, 2, 1);
  n->in[2]->type.shape.dim[0] = 7;
  ck_error(&k, "conv2d 'c1': bias 'c1.bias' is f32[7] but must be f32[6]");
  kit_free(&k);
}
END_TEST

START_TEST(dense_computes_output_and_fills_weight) {
  Kit k;
  kit_init(&k, "t");
  Node *n = kit_dense(&k, "d1", kit_input(&k, "x", 2, (int64_t[]){32, 576}), 120);
  ck_ok(&k);
  ck_shape(n->out[0], 2, (int64_t[]){32, 120});
  ck_shape(n->in[1], 2, (int64_t[]){120, 576});
  kit_free(&k);
}
END_TEST

START_TEST(dense_rejects_declared_inputs_that_differ) {
  Kit k;
  kit_init(&k, "t");
  Node *n = kit_dense(&k, "d1", kit_input(&k, "x", 2, (int64_t[]){32, 576}), 120);
  n->in[1]->type.shape.dim[1] = 400;
  ck_error(&k, "dense 'd1' declares 400 inputs but its input f32[32,576] has 576");
  ck_assert(kit_contains(&k, "note: parameter 'd1.weight' is declared here as f32[120,400]"));
  kit_free(&k);
}
END_TEST

START_TEST(dense_on_rank4_input_suggests_flatten) {
  Kit k;
  kit_init(&k, "t");
  kit_dense(&k, "d1", kit_input(&k, "x", 4, X4), 10);
  ck_error(&k, "dense 'd1': input f32[32,1,28,28] has rank 4 but dense takes [batch, features]; "
               "insert flatten() before it");
  kit_free(&k);
}
END_TEST

START_TEST(elementwise_ops_keep_the_input_shape) {
  Kit k;
  kit_init(&k, "t");
  Value *x = kit_input(&k, "x", 4, X4);
  Node *a = kit_unary(&k, OP_RELU, "r", x);
  Node *b = kit_unary(&k, OP_RELU6, "r6", a->out[0]);
  Node *c = kit_unary(&k, OP_DROPOUT, "drop", b->out[0]);
  ck_ok(&k);
  ck_shape(a->out[0], 4, X4);
  ck_shape(b->out[0], 4, X4);
  ck_shape(c->out[0], 4, X4);
  kit_free(&k);
}
END_TEST

START_TEST(pools_compute_windows_with_stride_and_pad) {
  Kit k;
  kit_init(&k, "t");
  Value *x = kit_input(&k, "x", 4, (int64_t[]){32, 6, 28, 28});
  Node *mp = kit_pool(&k, OP_MAXPOOL, "p1", x, 2, 2, 0);
  Node *ap = kit_pool(&k, OP_AVGPOOL, "p2", x, 3, 2, 1);
  ck_ok(&k);
  ck_shape(mp->out[0], 4, (int64_t[]){32, 6, 14, 14});
  ck_shape(ap->out[0], 4, (int64_t[]){32, 6, 14, 14});
  kit_free(&k);
}
END_TEST

START_TEST(maxpool_rejects_window_larger_than_input) {
  Kit k;
  kit_init(&k, "t");
  kit_pool(&k, OP_MAXPOOL, "p2", kit_input(&k, "x", 4, (int64_t[]){32, 16, 1, 1}), 2, 2, 0);
  ck_error(&k, "maxpool 'p2': window 2x2 is larger than its input 1x1 (f32[32,16,1,1])");
  kit_free(&k);
}
END_TEST

START_TEST(pool_rejects_pad_not_smaller_than_kernel) {
  Kit k;
  kit_init(&k, "t");
  kit_pool(&k, OP_AVGPOOL, "p", kit_input(&k, "x", 4, X4), 2, 2, 2);
  ck_error(&k, "avgpool 'p': pad 2 must be smaller than the window 2");
  kit_free(&k);
}
END_TEST

START_TEST(global_avgpool_and_flatten_reduce_rank) {
  Kit k;
  kit_init(&k, "t");
  Value *x = kit_input(&k, "x", 4, (int64_t[]){32, 16, 5, 5});
  Node *gp = kit_unary(&k, OP_GLOBAL_AVGPOOL, "gap", x);
  Node *fl = kit_unary(&k, OP_FLATTEN, "fl", x);
  ck_ok(&k);
  ck_shape(gp->out[0], 2, (int64_t[]){32, 16});
  ck_shape(fl->out[0], 2, (int64_t[]){32, 400});
  kit_free(&k);
}
END_TEST

START_TEST(add_of_equal_shapes_keeps_the_shape) {
  Kit k;
  kit_init(&k, "t");
  Value *x = kit_input(&k, "x", 4, X4);
  Value *in[2] = {x, kit_unary(&k, OP_RELU, "r", x)->out[0]};
  Node *n = kit_node(&k, OP_ADD, "sum", in, 2);
  ck_ok(&k);
  ck_shape(n->out[0], 4, X4);
  kit_free(&k);
}
END_TEST

START_TEST(add_rejects_different_shapes_with_note_at_producer) {
  Kit k;
  kit_init(&k, "t");
  Value *a = kit_input(&k, "a", 4, (int64_t[]){32, 16, 14, 14});
  Value *b = kit_input(&k, "b", 4, (int64_t[]){32, 32, 14, 14});
  Value *in[2] = {a, kit_conv(&k, "down", b, 32, 1, 2, 0, 1)->out[0]};
  kit_node(&k, OP_ADD, "r1.add", in, 2);
  ck_error(&k, "add 'r1.add': shapes f32[32,16,14,14] and f32[32,32,7,7] differ");
  ck_assert(kit_contains(&k, "note: 'down' (f32[32,32,7,7]) is computed here"));
  kit_free(&k);
}
END_TEST

START_TEST(batchnorm_fills_per_channel_params_for_rank2_and_rank4) {
  Kit k;
  kit_init(&k, "t");
  Value *x4 = kit_input(&k, "x4", 4, (int64_t[]){32, 6, 8, 8});
  Value *x2 = kit_input(&k, "x2", 2, (int64_t[]){32, 10});
  Value *in4[5] = {x4, kit_param(&k, "bn.gamma", -1, NULL), kit_param(&k, "bn.beta", -1, NULL),
                   kit_state(&k, "bn.mean", -1, NULL), kit_state(&k, "bn.var", -1, NULL)};
  Value *in2[5] = {x2, kit_param(&k, "bm.gamma", -1, NULL), kit_param(&k, "bm.beta", -1, NULL),
                   kit_state(&k, "bm.mean", -1, NULL), kit_state(&k, "bm.var", -1, NULL)};
  Node *a = kit_node(&k, OP_BATCHNORM, "bn", in4, 5);
  Node *b = kit_node(&k, OP_BATCHNORM, "bm", in2, 5);
  ck_ok(&k);
  ck_shape(a->out[0], 4, (int64_t[]){32, 6, 8, 8});
  for (int i = 1; i < 5; i++) ck_shape(a->in[i], 1, (int64_t[]){6});
  ck_shape(b->out[0], 2, (int64_t[]){32, 10});
  ck_shape(b->in[4], 1, (int64_t[]){10});
  kit_free(&k);
}
END_TEST

START_TEST(batchnorm_rejects_rank3) {
  Kit k;
  kit_init(&k, "t");
  Value *x = kit_input(&k, "x", 3, (int64_t[]){32, 6, 8});
  Value *in[5] = {x, kit_param(&k, "bn.gamma", -1, NULL), kit_param(&k, "bn.beta", -1, NULL),
                  kit_state(&k, "bn.mean", -1, NULL), kit_state(&k, "bn.var", -1, NULL)};
  kit_node(&k, OP_BATCHNORM, "bn", in, 5);
  ck_error(&k, "batchnorm 'bn': input f32[32,6,8] has rank 3");
  kit_free(&k);
}
END_TEST

START_TEST(scale_and_bias_take_a_scalar_param) {
  Kit k;
  kit_init(&k, "t");
  Value *x = kit_input(&k, "x", 4, X4);
  Value *s[2] = {x, kit_param(&k, "f.scale", -1, NULL)};
  Node *a = kit_node(&k, OP_SCALE, "f.s", s, 2);
  Value *b[2] = {a->out[0], kit_param(&k, "f.bias", 1, (int64_t[]){3})};
  kit_node(&k, OP_BIAS, "f.b", b, 2);
  ck_error(&k, "bias 'f.b': bias 'f.bias' is f32[3] but must be f32[1]");
  ck_shape(a->out[0], 4, X4);
  ck_shape(a->in[1], 1, (int64_t[]){1});
  kit_free(&k);
}
END_TEST

START_TEST(softmax_cross_entropy_gives_a_scalar_loss) {
  Kit k;
  kit_init(&k, "t");
  Value *in[2] = {kit_input(&k, "logits", 2, (int64_t[]){32, 10}), kit_label(&k, "y", 10)};
  Node *n = kit_node(&k, OP_SOFTMAX_CROSS_ENTROPY, "loss", in, 2);
  ck_ok(&k);
  ck_shape(n->out[0], 0, NULL);
  ck_assert_int_eq(n->out[0]->type.dtype, DT_F32);
  kit_free(&k);
}
END_TEST

START_TEST(softmax_cross_entropy_rejects_class_count_mismatch) {
  Kit k;
  kit_init(&k, "t");
  Value *in[2] = {kit_input(&k, "logits", 2, (int64_t[]){32, 12}), kit_label(&k, "digit", 10)};
  kit_node(&k, OP_SOFTMAX_CROSS_ENTROPY, "loss", in, 2);
  ck_error(&k, "label 'digit' declares class[10] but logits f32[32,12] have 12 classes");
  ck_assert(kit_contains(&k, "note: label 'digit' is declared here as class[10]"));
  kit_free(&k);
}
END_TEST

START_TEST(mse_needs_equal_shapes_and_gives_a_scalar) {
  Kit k;
  kit_init(&k, "t");
  Value *p = kit_input(&k, "p", 2, (int64_t[]){32, 3});
  Value *good[2] = {p, kit_input(&k, "t", 2, (int64_t[]){32, 3})};
  Value *bad[2] = {p, kit_input(&k, "u", 2, (int64_t[]){32, 4})};
  Node *n = kit_node(&k, OP_MSE, "l1", good, 2);
  kit_node(&k, OP_MSE, "l2", bad, 2);
  ck_error(&k, "mse 'l2': target 'u' is f32[32,4] but must be f32[32,3]");
  ck_shape(n->out[0], 0, NULL);
  kit_free(&k);
}
END_TEST

START_TEST(lenet_infers_every_shape) {
  Kit k;
  kit_init(&k, "lenet5");
  kit_lenet(&k);
  ck_ok(&k);
  for (int i = 0; i < k.g->nvalues; i++)
    ck_assert_msg(shape_known(&k.g->values[i]->type.shape), "%s", k.g->values[i]->name);
  ck_shape(graph_find_value(k.g, "p2"), 4, (int64_t[]){32, 16, 5, 5});
  ck_shape(graph_find_value(k.g, "d1.weight"), 2, (int64_t[]){120, 400});
  ck_shape(graph_find_value(k.g, "c2.weight"), 4, (int64_t[]){16, 6, 5, 5});
  kit_free(&k);
}
END_TEST

START_TEST(independent_errors_are_all_reported_without_cascades) {
  Kit k;
  kit_init(&k, "t");
  /* two branches, each with one mistake and more layers after it */
  Value *x = kit_input(&k, "x", 4, (int64_t[]){32, 16, 1, 1});
  Value *h = kit_pool(&k, OP_MAXPOOL, "p2", x, 2, 2, 0)->out[0];
  h = kit_unary(&k, OP_RELU, "r", h)->out[0];
  h = kit_dense(&k, "after", kit_unary(&k, OP_FLATTEN, "f", h)->out[0], 10)->out[0];
  Value *y = kit_input(&k, "y", 4, X4);
  Value *z = kit_dense(&k, "d1", y, 10)->out[0];
  Value *in[2] = {h, z};
  kit_node(&k, OP_ADD, "join", in, 2);
  ck_assert(!kit_run_shape_infer(&k));
  ck_assert_int_eq(diag_error_count(k.diag), 2);
  ck_assert(kit_contains(&k, "maxpool 'p2'"));
  ck_assert(kit_contains(&k, "dense 'd1'"));
  ck_assert(!kit_contains(&k, "'after'"));
  ck_assert(!kit_contains(&k, "'join'"));
  ck_assert(!shape_known(&h->type.shape));
  kit_free(&k);
}
END_TEST

START_TEST(errors_are_reported_at_the_node_location) {
  Kit k;
  kit_init(&k, "t");
  Value *x = kit_input(&k, "x", 4, (int64_t[]){32, 16, 1, 1}); /* line 1 */
  kit_pool(&k, OP_MAXPOOL, "p2", x, 2, 2, 0);                 /* line 2 */
  ck_error(&k, "test.net:2:3: error: maxpool 'p2'");
  kit_free(&k);
}
END_TEST

START_TEST(absurd_sizes_are_errors_not_overflow) {
  Kit k;
  kit_init(&k, "t");
  Value *x = kit_input(&k, "x", 4, (int64_t[]){1, 1, 1 << 20, 1 << 20});
  kit_conv(&k, "huge", x, 1 << 20, 1, 1, 0, 1);
  ck_error(&k, "conv2d 'huge': tensor f32[1,1048576,1048576,1048576] is too large");
  kit_free(&k);
}
END_TEST

START_TEST(huge_input_extents_are_rejected_before_arithmetic) {
  Kit k;
  kit_init(&k, "t");
  Value *x = kit_input(&k, "x", 4, (int64_t[]){1, 1, 1, INT64_MAX});
  kit_pool(&k, OP_MAXPOOL, "p", x, 2, 2, 1);
  ck_error(&k, "maxpool 'p': x f32[1,1,1,9223372036854775807] is too large");
  kit_free(&k);
}
END_TEST

START_TEST(shared_weight_filled_by_first_use_is_checked_at_second) {
  Kit k;
  kit_init(&k, "t");
  Value *w = kit_param(&k, "tied.weight", 2, (int64_t[]){10, -1});
  Value *a[2] = {kit_input(&k, "a", 2, (int64_t[]){32, 20}), w};
  Value *b[2] = {kit_input(&k, "b", 2, (int64_t[]){32, 30}), w};
  Node *n1 = kit_node(&k, OP_DENSE, "u1", a, 2);
  Node *n2 = kit_node(&k, OP_DENSE, "u2", b, 2);
  node_set_int(k.g, n1, "units", 10);
  node_set_int(k.g, n2, "units", 10);
  ck_error(&k, "dense 'u2' declares 20 inputs but its input f32[32,30] has 30");
  ck_shape(w, 2, (int64_t[]){10, 20});
  kit_free(&k);
}
END_TEST

START_TEST(missing_attribute_is_an_error_not_a_crash) {
  Kit k;
  kit_init(&k, "t");
  Value *x = kit_input(&k, "x", 4, X4);
  kit_node(&k, OP_MAXPOOL, "p", &x, 1);
  ck_error(&k, "maxpool 'p': missing attribute 'kernel'");
  kit_free(&k);
}
END_TEST

START_TEST(macs_per_sample_for_conv_dense_and_others) {
  Kit k;
  kit_init(&k, "lenet5");
  kit_lenet(&k);
  ck_ok(&k);
  int64_t want[] = {117600, 240000, 48000, 10080, 840};
  const char *names[] = {"c1", "c2", "d1", "d2", "d3"};
  int found = 0;
  for (int i = 0; i < k.g->nnodes; i++) {
    Node *n = k.g->nodes[i];
    int64_t macs = node_macs_per_sample(n, k.g->batch);
    bool counted = false;
    for (int j = 0; j < 5; j++)
      if (strcmp(n->name, names[j]) == 0) {
        ck_assert_int_eq(macs, want[j]);
        counted = true;
        found++;
      }
    if (!counted) ck_assert_int_eq(macs, 0);
  }
  ck_assert_int_eq(found, 5);
  kit_free(&k);
}
END_TEST

START_TEST(input_without_shape_is_reported_once_and_not_cascaded) {
  Kit k;
  kit_init(&k, "t");
  TensorType unknown = {DT_F32, shape_unknown()};
  Value *x = graph_add_input(k.g, "x", VAL_INPUT, unknown, kit_loc(&k));
  Value *h = kit_unary(&k, OP_RELU, NULL, x)->out[0];
  kit_unary(&k, OP_RELU, "r2", h);
  ck_error(&k, "relu: input 'x' has no known shape (f32[*])");
  ck_assert_int_eq(diag_error_count(k.diag), 1);
  kit_free(&k);
}
END_TEST

START_TEST(rule_on_an_inferred_graph_expects_exactly_the_operand_types) {
  Kit k;
  kit_init(&k, "lenet5");
  kit_lenet(&k);
  ck_ok(&k);
  for (int i = 0; i < k.g->nnodes; i++) {
    const Node *n = k.g->nodes[i];
    TensorType in[8], expect[8], out[8];
    char err[256];
    for (int j = 0; j < n->nin; j++) in[j] = n->in[j]->type;
    ck_assert_msg(shape_rule(n, in, expect, out, err, sizeof err), "%s", err);
    for (int j = 0; j < n->nin; j++) ck_assert(shape_eq(&expect[j].shape, &in[j].shape));
    ck_assert(shape_eq(&out[0].shape, &n->out[0]->type.shape));
  }
  kit_free(&k);
}
END_TEST

START_TEST(rule_rejects_wrong_operand_count) {
  Kit k;
  kit_init(&k, "t");
  Value *x = kit_input(&k, "x", 2, (int64_t[]){2, 3});
  Value *in[2] = {x, x};
  Node *n = kit_node(&k, OP_RELU, "r", in, 2);
  TensorType t[2] = {x->type, x->type}, e[2], o[1];
  char err[256];
  ck_assert(!shape_rule(n, t, e, o, err, sizeof err));
  ck_assert_str_eq(err, "relu 'r': has 2 operands and 1 results");
  kit_free(&k);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("shape_infer");
  TCase *t = tcase_create("rules");
  tcase_add_test(t, conv2d_computes_output_and_fills_weight_in_channels);
  tcase_add_test(t, conv2d_stride_and_groups_give_depthwise_shapes);
  tcase_add_test(t, conv2d_rejects_channels_not_divisible_by_groups);
  tcase_add_test(t, conv2d_rejects_filters_not_divisible_by_groups);
  tcase_add_test(t, conv2d_rejects_kernel_larger_than_padded_input);
  tcase_add_test(t, conv2d_rejects_rank_other_than_4);
  tcase_add_test(t, conv2d_rejects_declared_in_channels_with_note_at_weight);
  tcase_add_test(t, conv2d_rejects_wrong_bias_length);
  tcase_add_test(t, dense_computes_output_and_fills_weight);
  tcase_add_test(t, dense_rejects_declared_inputs_that_differ);
  tcase_add_test(t, dense_on_rank4_input_suggests_flatten);
  tcase_add_test(t, elementwise_ops_keep_the_input_shape);
  tcase_add_test(t, pools_compute_windows_with_stride_and_pad);
  tcase_add_test(t, maxpool_rejects_window_larger_than_input);
  tcase_add_test(t, pool_rejects_pad_not_smaller_than_kernel);
  tcase_add_test(t, global_avgpool_and_flatten_reduce_rank);
  tcase_add_test(t, add_of_equal_shapes_keeps_the_shape);
  tcase_add_test(t, add_rejects_different_shapes_with_note_at_producer);
  tcase_add_test(t, batchnorm_fills_per_channel_params_for_rank2_and_rank4);
  tcase_add_test(t, batchnorm_rejects_rank3);
  tcase_add_test(t, scale_and_bias_take_a_scalar_param);
  tcase_add_test(t, softmax_cross_entropy_gives_a_scalar_loss);
  tcase_add_test(t, softmax_cross_entropy_rejects_class_count_mismatch);
  tcase_add_test(t, mse_needs_equal_shapes_and_gives_a_scalar);
  tcase_add_test(t, lenet_infers_every_shape);
  tcase_add_test(t, independent_errors_are_all_reported_without_cascades);
  tcase_add_test(t, errors_are_reported_at_the_node_location);
  tcase_add_test(t, absurd_sizes_are_errors_not_overflow);
  tcase_add_test(t, huge_input_extents_are_rejected_before_arithmetic);
  tcase_add_test(t, shared_weight_filled_by_first_use_is_checked_at_second);
  tcase_add_test(t, missing_attribute_is_an_error_not_a_crash);
  tcase_add_test(t, macs_per_sample_for_conv_dense_and_others);
  tcase_add_test(t, input_without_shape_is_reported_once_and_not_cascaded);
  tcase_add_test(t, rule_on_an_inferred_graph_expects_exactly_the_operand_types);
  tcase_add_test(t, rule_rejects_wrong_operand_count);
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
