/* The gradient rule of every differentiable op, named by its row of the op
 * registry (ir/ops.c). Backward ops follow one naming convention: the
 * gradient op of `X` is `X_grad` (relu -> relu_grad, mse -> mse_grad), so a
 * rule shared by several ops finds its backward op by name. Backward nodes
 * are named after the forward node with a suffix (c1.dx, c1.dw, c1.db) and
 * carry its source location (grad_emit). */
#include "gradients.h"

#include <stdio.h>
#include <stdlib.h>

/* X_grad for node n's op X; a missing row is a bug in the registry. */
static OpKind grad_op(const Node *n) {
  char name[128];
  snprintf(name, sizeof name, "%s_grad", op_name(n->op));
  OpKind op;
  if (!op_from_name(name, &op)) {
    fprintf(stderr, "octoc: internal error: no op '%s' in the registry\n", name);
    abort();
  }
  return op;
}

static void copy_attrs(Graph *g, Node *to, const Node *from) {
  for (int i = 0; i < from->nattrs; i++) {
    const Attr *a = &from->attrs[i];
    switch (a->kind) {
    case ATTR_INT: node_set_int(g, to, a->name, a->i); break;
    case ATTR_FLOAT: node_set_float(g, to, a->name, a->f); break;
    case ATTR_INTS: node_set_ints(g, to, a->name, a->n, a->ints); break;
    case ATTR_STR: node_set_str(g, to, a->name, a->s); break;
    }
  }
}

static void set_input_size(Graph *g, Node *n, const Value *x) {
  int64_t hw[2] = {x->type.shape.dim[2], x->type.shape.dim[3]};
  node_set_ints(g, n, "input_size", 2, hw);
}

/* conv2d and dense: dx, dweight, dbias. */
void grad_linear(GradBuilder *gb, Node *n, Value *dy) {
  Graph *g = grad_graph(gb);
  bool conv = n->op == OP_CONV2D;
  if (grad_wanted(gb, n, 0)) {
    Value *in[2] = {dy, n->in[1]};
    Value *dx = grad_emit(gb, conv ? OP_CONV2D_GRAD_INPUT : OP_DENSE_GRAD_INPUT, n, 0, "dx", in, 2);
    copy_attrs(g, dx->def, n);
    if (conv) set_input_size(g, dx->def, n->in[0]);
    grad_add(gb, n->in[0], dx);
  }
  if (grad_wanted(gb, n, 1)) {
    Value *in[2] = {n->in[0], dy};
    Value *dw = grad_emit(gb, conv ? OP_CONV2D_GRAD_WEIGHT : OP_DENSE_GRAD_WEIGHT, n, 1, "dw", in, 2);
    copy_attrs(g, dw->def, n);
    grad_add(gb, n->in[1], dw);
  }
  if (grad_wanted(gb, n, 2)) {
    Value *in[1] = {dy};
    grad_add(gb, n->in[2], grad_emit(gb, OP_BIAS_GRAD, n, 2, "db", in, 1));
  }
}

/* Activations whose derivative is a function of their output y:
 * X_grad(dy, y), with X's attributes. */
void grad_from_output(GradBuilder *gb, Node *n, Value *dy) {
  Value *in[2] = {dy, n->out[0]};
  Value *dx = grad_emit(gb, grad_op(n), n, 0, "dx", in, 2);
  copy_attrs(grad_graph(gb), dx->def, n);
  grad_add(gb, n->in[0], dx);
}

void grad_maxpool(GradBuilder *gb, Node *n, Value *dy) {
  Value *in[2] = {dy, n->in[0]};
  Value *dx = grad_emit(gb, OP_MAXPOOL_GRAD, n, 0, "dx", in, 2);
  copy_attrs(grad_graph(gb), dx->def, n);
  grad_add(gb, n->in[0], dx);
}

/* avgpool and global_avgpool: spread dy back over the input's extent. */
void grad_avgpool(GradBuilder *gb, Node *n, Value *dy) {
  Value *in[1] = {dy};
  Value *dx = grad_emit(gb, grad_op(n), n, 0, "dx", in, 1);
  copy_attrs(grad_graph(gb), dx->def, n);
  set_input_size(grad_graph(gb), dx->def, n->in[0]);
  grad_add(gb, n->in[0], dx);
}

void grad_flatten(GradBuilder *gb, Node *n, Value *dy) {
  Value *in[1] = {dy};
  Value *dx = grad_emit(gb, OP_RESHAPE, n, 0, "dx", in, 1);
  const Shape *s = &n->in[0]->type.shape;
  node_set_ints(grad_graph(gb), dx->def, "shape", s->rank, s->dim);
  grad_add(gb, n->in[0], dx);
}

/* d(a+b) = dy for both: no node, the parts are dy itself. */
void grad_of_add(GradBuilder *gb, Node *n, Value *dy) {
  for (int i = 0; i < 2; i++)
    if (grad_wanted(gb, n, i)) grad_add(gb, n->in[i], dy);
}

/* Batch-norm needs its batch statistics in backward, so its forward node is
 * turned into batchnorm_train, which also returns the batch mean and inverse
 * standard deviation and updates the running statistics in place. */
void grad_batchnorm(GradBuilder *gb, Node *n, Value *dy) {
  Graph *g = grad_graph(gb);
  TensorType stat = n->in[1]->type;
  char name[512];
  snprintf(name, sizeof name, "%s.mean", n->out[0]->name);
  Value *mean = node_add_result(g, n, graph_unique_name(g, name), stat);
  snprintf(name, sizeof name, "%s.invstd", n->out[0]->name);
  Value *invstd = node_add_result(g, n, graph_unique_name(g, name), stat);
  n->op = OP_BATCHNORM_TRAIN;

  Value *in[5] = {dy, n->in[0], n->in[1], mean, invstd};
  const char *names[3];
  TensorType types[3] = {n->in[0]->type, n->in[1]->type, n->in[2]->type};
  for (int i = 0; i < 3; i++) {
    if (grad_wanted(gb, n, i)) {
      names[i] = grad_part_name(gb, n->in[i]);
    } else {
      snprintf(name, sizeof name, "%s.unused_grad", n->in[i]->name);
      names[i] = graph_unique_name(g, name);
    }
  }
  Node *b = grad_emit_node(gb, OP_BATCHNORM_GRAD, n, "grad", in, 5, names, types, 3);
  for (int i = 0; i < 3; i++)
    if (grad_wanted(gb, n, i)) grad_add(gb, n->in[i], b->out[i]);
}

/* The backward mask is the forward's: dropout_grad's "stream" names it. */
void grad_dropout(GradBuilder *gb, Node *n, Value *dy) {
  Graph *g = grad_graph(gb);
  Value *in[1] = {dy};
  Value *dx = grad_emit(gb, OP_DROPOUT_GRAD, n, 0, "dx", in, 1);
  node_set_float(g, dx->def, "rate", node_float(n, "rate", 0.5));
  node_set_str(g, dx->def, "stream", n->name ? n->name : op_name(n->op));
  grad_add(gb, n->in[0], dx);
}

/* y = x * s: dx = dy * s, ds = sum(dy * x). */
void grad_scale(GradBuilder *gb, Node *n, Value *dy) {
  if (grad_wanted(gb, n, 0)) {
    Value *in[2] = {dy, n->in[1]};
    grad_add(gb, n->in[0], grad_emit(gb, OP_SCALE, n, 0, "dx", in, 2));
  }
  if (grad_wanted(gb, n, 1)) {
    Value *in[2] = {dy, n->in[0]};
    grad_add(gb, n->in[1], grad_emit(gb, OP_SUM_PRODUCT, n, 1, "dscale", in, 2));
  }
}

/* y = x + b: dx = dy, db = sum(dy). */
void grad_bias(GradBuilder *gb, Node *n, Value *dy) {
  if (grad_wanted(gb, n, 0)) grad_add(gb, n->in[0], dy);
  if (grad_wanted(gb, n, 1)) {
    Value *in[1] = {dy};
    grad_add(gb, n->in[1], grad_emit(gb, OP_SUM, n, 1, "dbias", in, 1));
  }
}

/* The loss's own gradient is 1: its gradient node folds it in and reads
 * the forward's operands, not dy. */
void grad_loss(GradBuilder *gb, Node *n, Value *dy) {
  (void)dy;
  Value *in[2] = {n->in[0], n->in[1]};
  grad_add(gb, n->in[0], grad_emit(gb, grad_op(n), n, 0, "dx", in, 2));
}

/* y = x + alpha * mu + beta: dx = dy (no node); one compensation_grad node
 * gives dalpha, dmu and dbeta (with the L2 penalty on mu and beta). */
void grad_compensation(GradBuilder *gb, Node *n, Value *dy) {
  Graph *g = grad_graph(gb);
  if (grad_wanted(gb, n, 0)) grad_add(gb, n->in[0], dy);
  bool any = false;
  for (int i = 1; i < 4; i++) any |= grad_wanted(gb, n, i);
  if (!any) return;
  Value *in[4] = {dy, n->in[1], n->in[2], n->in[3]};
  const char *names[3];
  TensorType types[3];
  char name[512];
  for (int i = 0; i < 3; i++) {
    types[i] = n->in[i + 1]->type;
    if (grad_wanted(gb, n, i + 1)) {
      names[i] = grad_part_name(gb, n->in[i + 1]);
    } else {
      snprintf(name, sizeof name, "%s.unused_grad", n->in[i + 1]->name);
      names[i] = graph_unique_name(g, name);
    }
  }
  Node *c = grad_emit_node(gb, OP_COMPENSATION_GRAD, n, "grad", in, 4, names, types, 3);
  copy_attrs(g, c, n);
  for (int i = 0; i < 3; i++)
    if (grad_wanted(gb, n, i + 1)) grad_add(gb, n->in[i + 1], c->out[i]);
}

/* A clip of a forward tensor passes dy where x was inside the range
 * (range_clip_grad recomputes the range from x). */
void grad_range_clip(GradBuilder *gb, Node *n, Value *dy) {
  if (!grad_wanted(gb, n, 0)) return;
  Value *in[2] = {dy, n->in[0]};
  Value *dx = grad_emit(gb, OP_RANGE_CLIP_GRAD, n, 0, "dx", in, 2);
  copy_attrs(grad_graph(gb), dx->def, n);
  grad_add(gb, n->in[0], dx);
}
