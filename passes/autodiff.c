/* Reverse-mode automatic differentiation at compile time: appends to the
 * graph, after the forward nodes, the nodes that compute the gradient of the
 * loss with respect to every trainable parameter. Only gradients on a path
 * from a parameter to the loss are built, so nothing is computed for, say,
 * the input image.
 *
 * Naming (the optimizer pass relies on it, and it reads back from text): the
 * gradient of parameter %P is the value %P.grad. Other gradients are named
 * after their value (%c1.grad); when several users contribute, the parts are
 * summed with add nodes. Backward nodes are named after the forward node with
 * a suffix (c1.dx, c1.dw, c1.db) and carry its source location.
 *
 * Batch-norm needs its batch statistics in backward, so its forward node is
 * turned into batchnorm_train, which also returns the batch mean and inverse
 * standard deviation and updates the running statistics in place. */
#include <stdio.h>
#include <string.h>

#include "pass.h"

typedef struct Autodiff {
  Graph *g;
  Diag *d;
  bool *needs_grad;  /* by value id: depends on a trainable parameter */
  int *contributions; /* by value id: how many gradient parts will arrive */
  Value ***parts;    /* by value id: the parts that arrived */
  int *nparts;
  Value **grad;      /* by value id: the summed gradient, once complete */
} Autodiff;

/* Operand slots that carry a gradient, per op (labels, targets and running
 * statistics do not). */
static bool differentiable(OpKind op, int slot) {
  switch (op) {
  case OP_BATCHNORM: return slot <= 2;
  case OP_SOFTMAX_CROSS_ENTROPY:
  case OP_MSE: return slot == 0;
  default: return true;
  }
}

static const char *node_label(const Node *n) { return n->name ? n->name : op_name(n->op); }

/* Counts, for every value, the gradient contributions the reverse walk will
 * produce, and marks the loss as the root. Returns false if there is
 * nothing to train. */
static void count_contributions(Autodiff *ad, Value *loss) {
  Graph *g = ad->g;
  bool *reaches = arena_alloc(g->arena, (size_t)g->nvalues * sizeof(bool));
  reaches[loss->id] = true;
  for (int i = g->nnodes - 1; i >= 0; i--) {
    Node *n = g->nodes[i];
    bool live = false;
    for (int j = 0; j < n->nout; j++) live |= reaches[n->out[j]->id];
    if (!live) continue;
    for (int j = 0; j < n->nin; j++) {
      Value *v = n->in[j];
      if (!ad->needs_grad[v->id] || !differentiable(n->op, j)) continue;
      reaches[v->id] = true;
      ad->contributions[v->id]++;
    }
  }
}

static void mark_needs_grad(Autodiff *ad) {
  Graph *g = ad->g;
  for (int i = 0; i < g->nvalues; i++) ad->needs_grad[i] = g->values[i]->kind == VAL_PARAM;
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = g->nodes[i];
    bool any = false;
    for (int j = 0; j < n->nin; j++) any |= ad->needs_grad[n->in[j]->id] && differentiable(n->op, j);
    for (int j = 0; j < n->nout; j++) ad->needs_grad[n->out[j]->id] = any;
  }
}

/* The name the next gradient part of v gets: %v.grad when it is the only
 * part, else %v.grad.part, made unique. */
static const char *part_name(Autodiff *ad, const Value *v) {
  char base[512];
  if (ad->contributions[v->id] == 1)
    snprintf(base, sizeof base, "%s.grad", v->name);
  else
    snprintf(base, sizeof base, "%s.grad.part", v->name);
  return graph_unique_name(ad->g, base);
}

static Node *grad_node(Autodiff *ad, OpKind op, const Node *fwd, const char *suffix, Value **in,
                       int nin, const char **names, const TensorType *types, int nout) {
  char name[512];
  snprintf(name, sizeof name, "%s.%s", node_label(fwd), suffix);
  Node *n = graph_add_node(ad->g, op, name, in, nin, names, nout, fwd->loc);
  for (int i = 0; i < nout; i++) n->out[i]->type = types[i];
  return n;
}

/* Emits a one-result gradient node for operand `slot` of fwd and records it. */
static Value *emit1(Autodiff *ad, OpKind op, const Node *fwd, int slot, const char *suffix,
                    Value **in, int nin) {
  Value *target = fwd->in[slot];
  const char *names[1] = {part_name(ad, target)};
  Node *n = grad_node(ad, op, fwd, suffix, in, nin, names, &target->type, 1);
  return n->out[0];
}

static void add_part(Autodiff *ad, Value *v, Value *part) {
  int id = v->id;
  if (!ad->parts[id])
    ad->parts[id] = arena_alloc(ad->g->arena, (size_t)ad->contributions[id] * sizeof(Value *));
  if (ad->nparts[id] < ad->contributions[id]) ad->parts[id][ad->nparts[id]++] = part;
}

/* Sums the parts of v's gradient (all have arrived: every user of v comes
 * after v in the schedule and has been visited). */
static Value *finish_grad(Autodiff *ad, Value *v) {
  int id = v->id;
  if (ad->grad[id] || ad->nparts[id] == 0) return ad->grad[id];
  Value *sum = ad->parts[id][0];
  for (int i = 1; i < ad->nparts[id]; i++) {
    char base[512];
    snprintf(base, sizeof base, i + 1 == ad->nparts[id] ? "%s.grad" : "%s.grad.sum", v->name);
    const char *names[1] = {graph_unique_name(ad->g, base)};
    Value *in[2] = {sum, ad->parts[id][i]};
    char node_name[512];
    snprintf(node_name, sizeof node_name, "%s.grad_sum", v->name);
    Node *n = graph_add_node(ad->g, OP_ADD, node_name, in, 2, names, 1, v->loc);
    n->out[0]->type = v->type;
    sum = n->out[0];
  }
  ad->grad[id] = sum;
  return sum;
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

static bool want(Autodiff *ad, const Node *n, int slot) {
  return slot < n->nin && ad->needs_grad[n->in[slot]->id] && differentiable(n->op, slot);
}

/* conv2d and dense: dx, dweight, dbias. */
static void backprop_linear(Autodiff *ad, Node *n, Value *dy) {
  Graph *g = ad->g;
  bool conv = n->op == OP_CONV2D;
  if (want(ad, n, 0)) {
    Value *in[2] = {dy, n->in[1]};
    Value *dx = emit1(ad, conv ? OP_CONV2D_GRAD_INPUT : OP_DENSE_GRAD_INPUT, n, 0, "dx", in, 2);
    copy_attrs(g, dx->def, n);
    if (conv) set_input_size(g, dx->def, n->in[0]);
    add_part(ad, n->in[0], dx);
  }
  if (want(ad, n, 1)) {
    Value *in[2] = {n->in[0], dy};
    Value *dw = emit1(ad, conv ? OP_CONV2D_GRAD_WEIGHT : OP_DENSE_GRAD_WEIGHT, n, 1, "dw", in, 2);
    copy_attrs(g, dw->def, n);
    add_part(ad, n->in[1], dw);
  }
  if (want(ad, n, 2)) {
    Value *in[1] = {dy};
    add_part(ad, n->in[2], emit1(ad, OP_BIAS_GRAD, n, 2, "db", in, 1));
  }
}

static void backprop_batchnorm(Autodiff *ad, Node *n, Value *dy) {
  Graph *g = ad->g;
  /* The forward node becomes batchnorm_train with the saved statistics. */
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
    if (want(ad, n, i)) {
      names[i] = part_name(ad, n->in[i]);
    } else {
      snprintf(name, sizeof name, "%s.unused_grad", n->in[i]->name);
      names[i] = graph_unique_name(g, name);
    }
  }
  Node *b = grad_node(ad, OP_BATCHNORM_GRAD, n, "grad", in, 5, names, types, 3);
  for (int i = 0; i < 3; i++)
    if (want(ad, n, i)) add_part(ad, n->in[i], b->out[i]);
}

/* Emits the gradient nodes of one forward node, given dL/d(its result). */
static void backprop(Autodiff *ad, Node *n, Value *dy) {
  Graph *g = ad->g;
  Value *in[3];
  switch (n->op) {
  case OP_CONV2D:
  case OP_DENSE: backprop_linear(ad, n, dy); return;
  case OP_RELU:
  case OP_RELU6:
    in[0] = dy;
    in[1] = n->out[0];
    add_part(ad, n->in[0],
             emit1(ad, n->op == OP_RELU ? OP_RELU_GRAD : OP_RELU6_GRAD, n, 0, "dx", in, 2));
    return;
  case OP_MAXPOOL: {
    in[0] = dy;
    in[1] = n->in[0];
    Value *dx = emit1(ad, OP_MAXPOOL_GRAD, n, 0, "dx", in, 2);
    copy_attrs(g, dx->def, n);
    add_part(ad, n->in[0], dx);
    return;
  }
  case OP_AVGPOOL:
  case OP_GLOBAL_AVGPOOL: {
    in[0] = dy;
    Value *dx = emit1(ad, n->op == OP_AVGPOOL ? OP_AVGPOOL_GRAD : OP_GLOBAL_AVGPOOL_GRAD, n, 0,
                      "dx", in, 1);
    copy_attrs(g, dx->def, n);
    set_input_size(g, dx->def, n->in[0]);
    add_part(ad, n->in[0], dx);
    return;
  }
  case OP_FLATTEN: {
    in[0] = dy;
    Value *dx = emit1(ad, OP_RESHAPE, n, 0, "dx", in, 1);
    const Shape *s = &n->in[0]->type.shape;
    node_set_ints(g, dx->def, "shape", s->rank, s->dim);
    add_part(ad, n->in[0], dx);
    return;
  }
  case OP_ADD:
    /* d(a+b) = dy for both: no node, the parts are dy itself. */
    for (int i = 0; i < 2; i++)
      if (want(ad, n, i)) add_part(ad, n->in[i], dy);
    return;
  case OP_BATCHNORM: backprop_batchnorm(ad, n, dy); return;
  case OP_DROPOUT: {
    in[0] = dy;
    Value *dx = emit1(ad, OP_DROPOUT_GRAD, n, 0, "dx", in, 1);
    node_set_float(g, dx->def, "rate", node_float(n, "rate", 0.5));
    node_set_str(g, dx->def, "stream", node_label(n));
    add_part(ad, n->in[0], dx);
    return;
  }
  case OP_SCALE:
    if (want(ad, n, 0)) {
      in[0] = dy;
      in[1] = n->in[1];
      add_part(ad, n->in[0], emit1(ad, OP_SCALE, n, 0, "dx", in, 2));
    }
    if (want(ad, n, 1)) {
      in[0] = dy;
      in[1] = n->in[0];
      add_part(ad, n->in[1], emit1(ad, OP_SUM_PRODUCT, n, 1, "dscale", in, 2));
    }
    return;
  case OP_BIAS:
    if (want(ad, n, 0)) add_part(ad, n->in[0], dy);
    if (want(ad, n, 1)) {
      in[0] = dy;
      add_part(ad, n->in[1], emit1(ad, OP_SUM, n, 1, "dbias", in, 1));
    }
    return;
  case OP_SOFTMAX_CROSS_ENTROPY:
  case OP_MSE:
    in[0] = n->in[0];
    in[1] = n->in[1];
    add_part(ad, n->in[0],
             emit1(ad, n->op == OP_MSE ? OP_MSE_GRAD : OP_SOFTMAX_CROSS_ENTROPY_GRAD, n, 0, "dx",
                   in, 2));
    return;
  default:
    diag_error(ad->d, n->loc, "autodiff: no gradient for op '%s'", op_name(n->op));
    return;
  }
}

static Value *find_loss(const Graph *g) {
  for (int i = 0; i < g->noutputs; i++) {
    Value *v = g->outputs[i];
    if (v->def && op_info(v->def->op)->is_loss) return v;
  }
  return NULL;
}

/* A graph read back from text may already hold its backward part. */
static bool has_gradients(const Graph *g) {
  for (int i = 0; i < g->nnodes; i++)
    if (g->nodes[i]->op >= OP_CONV2D_GRAD_INPUT) return true;
  return false;
}

static bool run_autodiff(Module *m) {
  Graph *g = m->graph;
  if (has_gradients(g)) return true;
  Value *loss = find_loss(g);
  if (!loss) {
    diag_error(m->diag, (SrcLoc){0}, "autodiff: graph '%s' has no loss output", g->name);
    return false;
  }
  Autodiff ad = {.g = g, .d = m->diag};
  size_t nv = (size_t)g->nvalues;
  ad.needs_grad = arena_alloc(g->arena, nv * sizeof(bool));
  ad.contributions = arena_alloc(g->arena, nv * sizeof(int));
  ad.parts = arena_alloc(g->arena, nv * sizeof(Value **));
  ad.nparts = arena_alloc(g->arena, nv * sizeof(int));
  ad.grad = arena_alloc(g->arena, nv * sizeof(Value *));
  mark_needs_grad(&ad);
  count_contributions(&ad, loss);

  /* The loss's own gradient is 1: the loss op's gradient node folds it in. */
  int nforward = g->nnodes;
  Node **forward = arena_alloc(g->arena, (size_t)(nforward ? nforward : 1) * sizeof(Node *));
  memcpy(forward, g->nodes, (size_t)nforward * sizeof(Node *));
  for (int i = nforward - 1; i >= 0; i--) {
    Node *n = forward[i];
    if (n->nout == 0) continue;
    Value *y = n->out[0];
    Value *dy = y == loss ? loss : finish_grad(&ad, y);
    if (!dy) continue;
    backprop(&ad, n, dy);
  }
  int trained = 0;
  for (int i = 0; i < (int)nv; i++) {
    Value *v = g->values[i];
    if (v->kind != VAL_PARAM) continue;
    if (finish_grad(&ad, v)) trained++;
    else
      diag_warning(m->diag, v->loc, "parameter '%s' does not affect the loss and is not trained",
                   v->name);
  }
  if (trained == 0 && !diag_error_count(m->diag))
    diag_error(m->diag, loss->loc, "autodiff: the loss depends on no trainable parameter");
  return diag_error_count(m->diag) == 0;
}

const Pass pass_autodiff = {"autodiff", "append the backward graph (reverse-mode, compile time)",
                            run_autodiff};
