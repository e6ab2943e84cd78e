/* Reverse-mode automatic differentiation at compile time: appends to the
 * graph, after the forward nodes, the nodes that compute the gradient of the
 * loss with respect to every trainable parameter. Only gradients on a path
 * from a parameter to the loss are built, so nothing is computed for, say,
 * the input image. Each op's own rule is its registry row's gradient builder
 * (passes/gradients.c); this file walks the graph backwards, hands each rule
 * dy, and sums the parts that several users contribute.
 *
 * Naming (the optimizer pass relies on it, and it reads back from text): the
 * gradient of parameter %P is the value %P.grad. Other gradients are named
 * after their value (%c1.grad); when several users contribute, the parts are
 * summed with add nodes. */
#include <stdio.h>
#include <string.h>

#include "gradients.h"
#include "pass.h"

/* The walk's state; gradient rules see it through gradients.h. */
struct GradBuilder {
  Graph *g;
  Diag *d;
  bool *needs_grad;  /* by value id: depends on a trainable parameter */
  int *contributions; /* by value id: how many gradient parts will arrive */
  Value ***parts;    /* by value id: the parts that arrived */
  int *nparts;
  Value **grad;      /* by value id: the summed gradient, once complete */
};

/* Operand slots that carry a gradient: all but the op's no_grad ones
 * (labels, targets, running statistics). */
static bool differentiable(OpKind op, int slot) { return !(op_info(op)->no_grad >> slot & 1u); }

static const char *node_label(const Node *n) { return n->name ? n->name : op_name(n->op); }

/* Counts, for every value, the gradient contributions the reverse walk will
 * produce, and marks the loss as the root. Returns false if there is
 * nothing to train. */
static void count_contributions(GradBuilder *ad, Value *loss) {
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

static void mark_needs_grad(GradBuilder *ad) {
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
const char *grad_part_name(GradBuilder *ad, const Value *v) {
  char base[512];
  if (ad->contributions[v->id] == 1)
    snprintf(base, sizeof base, "%s.grad", v->name);
  else
    snprintf(base, sizeof base, "%s.grad.part", v->name);
  return graph_unique_name(ad->g, base);
}

Node *grad_emit_node(GradBuilder *ad, OpKind op, const Node *fwd, const char *suffix, Value **in,
                     int nin, const char **names, const TensorType *types, int nout) {
  char name[512];
  snprintf(name, sizeof name, "%s.%s", node_label(fwd), suffix);
  Node *n = graph_add_node(ad->g, op, name, in, nin, names, nout, fwd->loc);
  for (int i = 0; i < nout; i++) n->out[i]->type = types[i];
  return n;
}

Value *grad_emit(GradBuilder *ad, OpKind op, const Node *fwd, int slot, const char *suffix,
                 Value **in, int nin) {
  Value *target = fwd->in[slot];
  const char *names[1] = {grad_part_name(ad, target)};
  Node *n = grad_emit_node(ad, op, fwd, suffix, in, nin, names, &target->type, 1);
  return n->out[0];
}

void grad_add(GradBuilder *ad, Value *v, Value *part) {
  int id = v->id;
  if (!ad->parts[id])
    ad->parts[id] = arena_alloc(ad->g->arena, (size_t)ad->contributions[id] * sizeof(Value *));
  if (ad->nparts[id] < ad->contributions[id]) ad->parts[id][ad->nparts[id]++] = part;
}

/* Sums the parts of v's gradient (all have arrived: every user of v comes
 * after v in the schedule and has been visited). */
static Value *finish_grad(GradBuilder *ad, Value *v) {
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

Graph *grad_graph(GradBuilder *ad) { return ad->g; }

bool grad_wanted(GradBuilder *ad, const Node *n, int slot) {
  return slot < n->nin && ad->needs_grad[n->in[slot]->id] && differentiable(n->op, slot);
}

/* Emits the gradient nodes of one forward node, given dL/d(its result). */
static void backprop(GradBuilder *ad, Node *n, Value *dy) {
  OpGradFn rule = op_info(n->op)->grad;
  if (!rule) {
    diag_error(ad->d, n->loc, "autodiff: no gradient for op '%s'", op_name(n->op));
    return;
  }
  rule(ad, n, dy);
}

static Value *find_loss(const Graph *g) {
  for (int i = 0; i < g->noutputs; i++) {
    Value *v = g->outputs[i];
    if (v->def && op_info(v->def->op)->role == OPROLE_LOSS) return v;
  }
  return NULL;
}

/* A graph read back from text may already hold its backward part. */
static bool has_gradients(const Graph *g) {
  for (int i = 0; i < g->nnodes; i++)
    if (op_info(g->nodes[i]->op)->role == OPROLE_BACKWARD) return true;
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
  GradBuilder ad = {.g = g, .d = m->diag};
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
