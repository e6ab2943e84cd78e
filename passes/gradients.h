/* The gradient rules of the differentiable ops (passes/gradients.c), named
 * by the op registry (OpInfo.grad), and the few calls autodiff
 * (passes/autodiff.c) gives them to build backward nodes. A rule is handed
 * a forward node and dy = dL/d(its result 0) and adds, for each operand that
 * wants a gradient, a node computing that operand's part of it. */
#ifndef OCTO_PASSES_GRADIENTS_H
#define OCTO_PASSES_GRADIENTS_H

#include "graph.h"

typedef struct GradBuilder GradBuilder;

Graph *grad_graph(GradBuilder *gb);
/* Whether operand `slot` of n needs a gradient (it depends on a trained
 * parameter and the op passes gradients through that slot). */
bool grad_wanted(GradBuilder *gb, const Node *n, int slot);
/* A backward node of op `op` named "<layer>.<suffix>" at fwd's location,
 * with one result: the gradient part for operand `slot` of fwd (its type),
 * returned. Attributes are the caller's to set. */
Value *grad_emit(GradBuilder *gb, OpKind op, const Node *fwd, int slot, const char *suffix,
                 Value **in, int nin);
/* The same with nout results of the given types, named by `names`. */
Node *grad_emit_node(GradBuilder *gb, OpKind op, const Node *fwd, const char *suffix,
                     Value **in, int nin, const char **names, const TensorType *types,
                     int nout);
/* The name a gradient part of v gets (%v.grad, or %v.grad.part when v has
 * several), unique in the graph. */
const char *grad_part_name(GradBuilder *gb, const Value *v);
/* Records part as (a summand of) the gradient of operand v. */
void grad_add(GradBuilder *gb, Value *v, Value *part);

/* The rules. */
void grad_linear(GradBuilder *gb, Node *n, Value *dy);      /* conv2d, dense */
void grad_from_output(GradBuilder *gb, Node *n, Value *dy); /* OP_grad(dy, y): relu & co */
void grad_maxpool(GradBuilder *gb, Node *n, Value *dy);
void grad_avgpool(GradBuilder *gb, Node *n, Value *dy);     /* avgpool, global_avgpool */
void grad_flatten(GradBuilder *gb, Node *n, Value *dy);
void grad_of_add(GradBuilder *gb, Node *n, Value *dy);      /* dy to both operands */
void grad_batchnorm(GradBuilder *gb, Node *n, Value *dy);
void grad_dropout(GradBuilder *gb, Node *n, Value *dy);
void grad_scale(GradBuilder *gb, Node *n, Value *dy);
void grad_bias(GradBuilder *gb, Node *n, Value *dy);
void grad_loss(GradBuilder *gb, Node *n, Value *dy);        /* softmax_cross_entropy, mse */
void grad_compensation(GradBuilder *gb, Node *n, Value *dy);
void grad_range_clip(GradBuilder *gb, Node *n, Value *dy);  /* straight-through mask */

#endif
