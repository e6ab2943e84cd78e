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

#endif
