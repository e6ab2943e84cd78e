/* Test graphs built with the graph builder (ir/graph.h), shared by the IR
 * tests: the printer/reader round trip and the verifier. */
#ifndef OCTO_TESTS_IR_GRAPHS_H
#define OCTO_TESTS_IR_GRAPHS_H

#include "graph.h"

/* Location in the pretend source "models/lenet5.net". */
SrcLoc test_loc(int line, int col);
TensorType tt(DType dt, int rank, const int64_t *dims);
TensorType f32_4(int64_t a, int64_t b, int64_t c, int64_t d);
TensorType f32_2(int64_t a, int64_t b);
TensorType f32_1(int64_t a);
TensorType f32_unknown(void);

/* Appends a one-result node whose result is named `out` and typed t. */
Node *add_node(Graph *g, OpKind op, const char *name, Value **in, int nin, const char *out,
               TensorType t, int line);
/* conv2d/pool attributes, all explicit. */
void set_window(Graph *g, Node *n, int64_t k, int64_t s, int64_t p);

/* LeNet-5 with batchnorm, every shape inferred; verifies at VERIFY_SHAPES. */
Graph *build_lenet(Arena *a);
/* The same before shape inference: weights f32[6,?,5,5], results f32[*]. */
Graph *build_lenet_unknown(Arena *a);
/* Every op of the table once (and conv2d without bias, depthwise conv2d),
 * shapes known; a float-target label for mse. */
Graph *build_all_ops(Arena *a);
/* Names that need quoting, every init kind, awkward floats, values without
 * a location, no outputs. Verifies at VERIFY_SHAPES. */
Graph *build_odd(Arena *a);

/* Training ops as autodiff and the optimizer build them: a three-result
 * batchnorm_train, zero-result updates, string attributes, i32 and i64
 * counters. Shapes known; verifies at VERIFY_SHAPES. */
Graph *build_training(Arena *a);

#endif
