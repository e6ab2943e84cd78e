/* Shape rules: for each op, the result types and the exact operand types it
 * requires, computed from its data operands and attributes. Written once and
 * used twice: the shape-inference pass fills unknown shapes from them (e.g. a
 * weight's input-channel extent), the verifier checks a graph against them. */
#ifndef OCTO_IR_SHAPE_RULES_H
#define OCTO_IR_SHAPE_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "graph.h"

/* in[i] is the current type of operand i (parameters may still have unknown
 * dims: -1, or rank -1). On success fills expect_in[i] (the fully known type
 * operand i must have) and out[j] for every result, and returns true. On a
 * mismatch writes a user-facing message without location, naming the node
 * (e.g. "dense 'd1' declares 400 inputs but its input f32[32,16,6,6] has 576
 * features per sample") to err and returns false. */
bool shape_rule(const Node *n, const TensorType *in, TensorType *expect_in, TensorType *out,
                char *err, size_t errlen);

/* Multiply-accumulates per sample for one forward evaluation of n (0 for ops
 * without a product); shapes must be known. */
int64_t node_macs_per_sample(const Node *n, int batch);

/* The element type T of node n (ops.h): the dtype of its first T operand,
 * with operand types in[] (NULL: the operands' own types). An operand of a
 * dtype the op does not take gives the op's first element type, which is
 * what the messages then ask for. */
DType op_elem_type(const Node *n, const TensorType *in);

/* The rules the op registry (ir/ops.c) names, one per op or family. A rule
 * reads the operand types and attributes of the node it is applied to and
 * sets the expected operand types and the result types. */
typedef struct ShapeRule ShapeRule;
bool rule_conv2d(ShapeRule *r);
bool rule_dense(ShapeRule *r);
bool rule_same(ShapeRule *r); /* the result is the input's type */
bool rule_pool(ShapeRule *r);
bool rule_global_avgpool(ShapeRule *r);
bool rule_flatten(ShapeRule *r);
bool rule_add(ShapeRule *r);
bool rule_batchnorm(ShapeRule *r);
bool rule_scalar_param(ShapeRule *r);
bool rule_softmax_cross_entropy(ShapeRule *r);
bool rule_mse(ShapeRule *r);
bool rule_conv2d_grad_input(ShapeRule *r);
bool rule_conv2d_grad_weight(ShapeRule *r);
bool rule_dense_grad_input(ShapeRule *r);
bool rule_dense_grad_weight(ShapeRule *r);
bool rule_bias_grad(ShapeRule *r);
bool rule_pair_same(ShapeRule *r); /* two operands and the result of one type */
bool rule_maxpool_grad(ShapeRule *r);
bool rule_maxpool_route(ShapeRule *r);
bool rule_maxpool_route_grad(ShapeRule *r);
bool rule_avgpool_grad(ShapeRule *r);
bool rule_global_avgpool_grad(ShapeRule *r);
bool rule_reshape(ShapeRule *r);
bool rule_batchnorm_train(ShapeRule *r);
bool rule_batchnorm_grad(ShapeRule *r);
bool rule_sum(ShapeRule *r);
bool rule_softmax_cross_entropy_grad(ShapeRule *r);
bool rule_lr_schedule(ShapeRule *r);
bool rule_sgd_update(ShapeRule *r);
bool rule_adam_update(ShapeRule *r);
bool rule_step_increment(ShapeRule *r);
bool rule_compensation(ShapeRule *r);      /* compensation(x, alpha, mu, beta) */
bool rule_compensation_grad(ShapeRule *r); /* (dalpha, dmu, dbeta) of the same */
bool rule_quantize(ShapeRule *r);
bool rule_grad_of_int8(ShapeRule *r); /* relu_grad_i8, leaky_relu_grad_i8 */
bool rule_int8_product(ShapeRule *r); /* conv2d_i8, dense_i8 and their gradients */

/* MACs per sample of the product ops (OpInfo.macs); -1 if a shape is unknown. */
int64_t macs_conv2d(const Node *n);
int64_t macs_conv2d_grad_input(const Node *n);
int64_t macs_conv2d_grad_weight(const Node *n);
int64_t macs_dense(const Node *n);
int64_t macs_dense_grad_weight(const Node *n);
int64_t macs_int8_product(const Node *n); /* conv2d_i8, dense_i8 and their gradients */

/* How many operands an INT8 product's fused epilogue (passes/fuse.c) reads
 * after its own: LAC's alpha, mu and beta (3) for a conv2d_i8 or dense_i8
 * whose epilogue compensates, the saved int8 activation (1) for an input
 * gradient whose epilogue is the relu mask, else 0. */
int product_epilogue_operands(const Node *n);

#endif
