/* The quantize pass (DESIGN.md section 5, docs/int8.md): every conv2d and
 * dense whose layer's precision is an INT8 one (int8, int8-lac, int8-prc,
 * octo; from the recipe and its per-layer overrides, or the node's own
 * `precision` attribute) becomes an int8 product, and so do its two
 * backward products (the `.dx` and `.dw` nodes autodiff built for it):
 *
 *   y  = conv2d(x, w, b)            ->  y  = conv2d_i8(qx, sx, qw, sw, b)
 *   dx = conv2d_grad_input(e, w)    ->  dx = conv2d_i8_grad_input(qe, se, qw, sw)
 *   dw = conv2d_grad_weight(x, e)   ->  dw = conv2d_i8_grad_weight(qx, sx, qe, se)
 *
 * with (q, s) = quantize(t) for each f32 operand t, whatever it is (the
 * tensor itself, or a range-clipped copy PRC put there). A tensor is
 * quantized once per rounding mode, just before its first product, so the
 * forward's int8 x is what the weight gradient reads: the activation saved
 * for backward is int8 with its scale. Rounding follows the tensor's class:
 * operands of the forward product (activations, weights) take the recipe's
 * `rounding.forward`, the error and the tensors quantized only for backward
 * take `rounding.backward`. A clip of the saved activation that PRC placed
 * in the backward pass is moved next to the forward product, so that it
 * too is quantized there and only int8 is kept.
 *
 * In such a model, the activations relu_grad, leaky_relu_grad and
 * maxpool_grad read (for a sign or an argmax) are saved as int8 too
 * (int8_saved_activations).
 *
 * Nodes are rewritten in place (op and operands change; the result, its
 * name and the attributes stay), so everything downstream (bias gradient,
 * compensation, the optimizer) reads the same values as before. */
#include <stdio.h>
#include <string.h>

#include "pass.h"
#include "recipe.h"

static const char *const round_attr[ROUND_COUNT] = {"nearest", "stochastic"};

/* The precision of forward product n: its attribute if it has one, else its
 * layer's setting in the recipe. */
static Precision layer_precision(const Module *m, const Node *n) {
  const Attr *a = node_attr(n, "precision");
  Precision p;
  if (a && a->kind == ATTR_STR && precision_from_name(a->s, &p)) return p;
  if (!m->recipe || !n->name) return m->recipe ? m->recipe->precision : PRECISION_FP32;
  return recipe_layer(m->recipe, n->name).precision;
}

/* Its rounding: the layer's in the recipe; a `rounding` attribute on the
 * node sets the forward class (what the node's own operands take). */
static Rounding layer_rounding(const Module *m, const Node *n) {
  Rounding r = {ROUND_NEAREST, ROUND_NEAREST, ROUND_NEAREST};
  if (m->recipe) r = n->name ? recipe_layer(m->recipe, n->name).rounding : m->recipe->rounding;
  const Attr *a = node_attr(n, "rounding");
  if (a && a->kind == ATTR_STR)
    r.forward = strcmp(a->s, "stochastic") == 0 ? ROUND_STOCHASTIC : ROUND_NEAREST;
  return r;
}

static int schedule_index(const Graph *g, const Node *n) {
  for (int i = 0; i < g->nnodes; i++)
    if (g->nodes[i] == n) return i;
  return -1;
}

/* The node scheduled just before n (NULL: n is first). */
static const Node *before(const Graph *g, const Node *n) {
  int i = schedule_index(g, n);
  return i > 0 ? g->nodes[i - 1] : NULL;
}

/* The quantized copy of t with rounding r: the existing quantize node, or a
 * new one scheduled right before `user`. */
static Node *quantized(Graph *g, Value *t, RoundMode r, const Node *user) {
  for (int i = 0; i < g->nnodes; i++) {
    Node *q = g->nodes[i];
    if (q->op == OP_QUANTIZE && q->in[0] == t && strcmp(node_str(q, "rounding"), round_attr[r]) == 0)
      return q;
  }
  char qname[512], sname[512];
  snprintf(qname, sizeof qname, "%s.q", t->name);
  snprintf(sname, sizeof sname, "%s.scale", t->name);
  const char *names[2] = {graph_unique_name(g, qname), NULL};
  names[1] = graph_unique_name(g, sname);
  Value *in[1] = {t};
  const char *layer = user->name ? user->name : t->name;
  Node *q = graph_insert_node_after(g, before(g, user), OP_QUANTIZE, layer, in, 1, names, 2,
                                    user->loc);
  if (r != ROUND_NEAREST) node_set_str(g, q, "rounding", round_attr[r]);
  q->out[0]->type = (TensorType){DT_I8, t->type.shape};
  q->out[1]->type = (TensorType){DT_F32, shape_of(0, NULL)};
  return q;
}

/* Node n becomes op with operands (qa, sa, qb, sb [, bias]). */
static void rewrite(Graph *g, Node *n, OpKind op, const Node *qa, const Node *qb, Value *bias) {
  int nin = bias ? 5 : 4;
  Value **in = arena_alloc(g->arena, (size_t)nin * sizeof(Value *));
  in[0] = qa->out[0], in[1] = qa->out[1], in[2] = qb->out[0], in[3] = qb->out[1];
  if (bias) in[4] = bias;
  n->op = op;
  n->in = in;
  n->nin = nin;
  node_set_str(g, n, "precision", "int8");
}

/* The backward node autodiff named "<layer>.<suffix>" with the given op. */
static Node *backward_node(const Graph *g, const Node *fwd, OpKind op, const char *suffix) {
  if (!fwd->name) return NULL;
  char name[512];
  snprintf(name, sizeof name, "%s.%s", fwd->name, suffix);
  for (int i = 0; i < g->nnodes; i++)
    if (g->nodes[i]->op == op && g->nodes[i]->name && strcmp(g->nodes[i]->name, name) == 0)
      return g->nodes[i];
  return NULL;
}

/* Whether every operand of n is available right after `at` runs. */
static bool ready_after(const Graph *g, const Node *n, const Node *at) {
  int limit = schedule_index(g, at);
  for (int i = 0; i < n->nin; i++) {
    const Node *d = n->in[i]->def;
    if (d && schedule_index(g, d) > limit) return false;
  }
  return true;
}

/* The weight gradient's activation operand a, when it is not x itself:
 * if it is a precision node (a PRC clip) of values the forward already
 * has, the node moves right after the forward product, so it is clipped
 * and quantized there and the f32 activation is not kept for backward.
 * Returns the node before which a's quantize goes. */
static const Node *saved_operand_site(Graph *g, Node *fwd, Node *dw, Value *a) {
  Node *d = a->def;
  if (!d) return dw;
  int at = schedule_index(g, d), f = schedule_index(g, fwd);
  if (at > f && op_info(d->op)->role == OPROLE_QUANTIZE && ready_after(g, d, fwd)) {
    graph_move_after(g, d, fwd);
    at = schedule_index(g, d);
  }
  return at <= f + 1 ? g->nodes[at + 1] : dw;
}

static void quantize_layer(Module *m, Node *fwd) {
  Graph *g = m->graph;
  bool conv = fwd->op == OP_CONV2D;
  Rounding r = layer_rounding(m, fwd);
  Node *dx = backward_node(g, fwd, conv ? OP_CONV2D_GRAD_INPUT : OP_DENSE_GRAD_INPUT, "dx");
  Node *dw = backward_node(g, fwd, conv ? OP_CONV2D_GRAD_WEIGHT : OP_DENSE_GRAD_WEIGHT, "dw");
  Node *qx = quantized(g, fwd->in[0], r.forward, fwd);
  Node *qw = quantized(g, fwd->in[1], r.forward, fwd);
  rewrite(g, fwd, conv ? OP_CONV2D_I8 : OP_DENSE_I8, qx, qw, fwd->nin > 2 ? fwd->in[2] : NULL);
  if (dw) {
    Value *a = dw->in[0], *e = dw->in[1];
    Node *qa = qx;
    if (a != qx->in[0]) qa = quantized(g, a, r.backward, saved_operand_site(g, fwd, dw, a));
    /* before dx too when dx reads the same error (it may read a clipped
     * copy PRC made elsewhere) */
    bool shared = dx && dx->in[0] == e && schedule_index(g, dx) < schedule_index(g, dw);
    const Node *first = shared ? dx : dw;
    Node *qe = quantized(g, e, r.backward, first);
    rewrite(g, dw, conv ? OP_CONV2D_I8_GRAD_WEIGHT : OP_DENSE_I8_GRAD_WEIGHT, qa, qe, NULL);
  }
  if (dx) {
    Value *e = dx->in[0], *w = dx->in[1];
    Node *qe = quantized(g, e, r.backward, dx);
    Node *qb = w == qw->in[0] ? qw : quantized(g, w, r.backward, dx);
    rewrite(g, dx, conv ? OP_CONV2D_I8_GRAD_INPUT : OP_DENSE_I8_GRAD_INPUT, qe, qb, NULL);
  }
}

/* The int8 op reading the saved activation of a relu, leaky relu or
 * maxpool gradient (OP_COUNT: none). */
static OpKind int8_reader(OpKind op) {
  switch (op) {
  case OP_RELU_GRAD: return OP_RELU_GRAD_I8;
  case OP_LEAKY_RELU_GRAD: return OP_LEAKY_RELU_GRAD_I8;
  case OP_MAXPOOL_GRAD: return OP_MAXPOOL_GRAD_I8;
  default: return OP_COUNT;
  }
}

/* In an INT8 model, the activations that relu_grad, leaky_relu_grad and
 * maxpool_grad read only for a sign (y > 0) or an argmax are saved as int8:
 * the copy the next layer's product quantizes anyway, else one quantized
 * (nearest) right after the forward node that makes them, so the f32
 * activation dies in the forward pass; the gradient op reads q (q > 0, the
 * argmax of q: the first of equal maxima). A positive y that rounds to 0
 * (under s/2; with stochastic rounding, with probability 1 - y/s) passes no
 * gradient. (relu6_grad needs y < 6, i.e. the
 * scale; batchnorm_grad needs the values: they keep f32.) */
static void int8_saved_activations(Graph *g) {
  int count = g->nnodes;
  Node **nodes = arena_alloc(g->arena, (size_t)(count ? count : 1) * sizeof(Node *));
  for (int i = 0; i < count; i++) nodes[i] = g->nodes[i];
  for (int i = 0; i < count; i++) {
    Node *n = nodes[i];
    OpKind to = int8_reader(n->op);
    Value *v = n->in[1];
    if (to == OP_COUNT || !v->def || v->type.dtype != DT_F32 ||
        op_info(v->def->op)->role == OPROLE_BACKWARD)
      continue;
    Node *q = NULL; /* an int8 copy the forward makes anyway serves */
    for (int j = 0; j < g->nnodes && !q; j++)
      if (g->nodes[j]->op == OP_QUANTIZE && g->nodes[j]->in[0] == v) q = g->nodes[j];
    if (!q) q = quantized(g, v, ROUND_NEAREST, g->nodes[schedule_index(g, v->def) + 1]);
    n->in[1] = q->out[0];
    n->op = to;
  }
}

/* The forward maxpool that maxpool_grad `grad` differentiates: the one
 * reading the same x with the same window. */
static Node *forward_pool(const Graph *g, const Node *grad) {
  static const char *const window[] = {"kernel", "stride", "pad"};
  for (int i = 0; i < g->nnodes; i++) {
    Node *f = g->nodes[i];
    bool same = f->op == OP_MAXPOOL && f->in[0] == grad->in[1];
    for (int a = 0; same && a < 3; a++)
      for (int k = 0; k < 2; k++)
        same = same && node_ints(f, window[a], k, -1) == node_ints(grad, window[a], k, -2);
    if (same) return f;
  }
  return NULL;
}

/* Windows that tile the input exactly, of at most 25 taps (the route's
 * rule, ir/shape_rules.c). */
static bool routable(const Node *f) {
  const Shape *x = &f->in[0]->type.shape;
  if (x->rank != 4) return false;
  for (int k = 0; k < 2; k++) {
    int64_t kk = node_ints(f, "kernel", k, 0);
    if (kk < 1 || node_ints(f, "stride", k, 0) != kk || node_ints(f, "pad", k, 1) != 0 ||
        x->dim[2 + k] % kk != 0)
      return false;
  }
  return node_ints(f, "kernel", 0, 0) * node_ints(f, "kernel", 1, 0) <= 25;
}

/* In an INT8 model a maxpool whose windows tile its input keeps for
 * backward one byte per window, its route (the tap of the max), instead of
 * its input: maxpool_route / maxpool_route_grad (lower_pool.c). A
 * relu_grad right after the pool's gradient, masking by the pool's input,
 * folds into the route (-1 where the window's max is not positive). Both
 * are exact: the same gradient as maxpool_grad and relu_grad on the f32
 * values, where an int8 copy's argmax and sign would differ from them in
 * ties and near zero. */
static void route_maxpools(Graph *g) {
  int count = g->nnodes;
  Node **nodes = arena_alloc(g->arena, (size_t)(count ? count : 1) * sizeof(Node *));
  bool *removed = arena_alloc(g->arena, (size_t)(g->next_node_id ? g->next_node_id : 1));
  for (int i = 0; i < count; i++) nodes[i] = g->nodes[i];
  bool any = false;
  for (int i = 0; i < count; i++) {
    Node *m = nodes[i];
    Node *f = m->op == OP_MAXPOOL_GRAD ? forward_pool(g, m) : NULL;
    if (!f || !routable(f)) continue;
    Value *x = m->in[1];
    Node *users[2], *mask = NULL;
    bool output = false;
    for (int k = 0; k < g->noutputs; k++) output = output || g->outputs[k] == m->out[0];
    if (!output && value_users(g, m->out[0], users, 2) == 1 && users[0]->op == OP_RELU_GRAD &&
        users[0]->in[0] == m->out[0] && users[0]->in[1] == x)
      mask = users[0];
    char name[512];
    snprintf(name, sizeof name, "%s.route", f->out[0]->name);
    TensorType rt = {DT_I8, f->out[0]->type.shape};
    f->op = OP_MAXPOOL_ROUTE;
    Value *route = node_add_result(g, f, graph_unique_name(g, name), rt);
    if (mask) node_set_str(g, f, "mask", "relu");
    m->op = OP_MAXPOOL_ROUTE_GRAD;
    m->in[1] = route;
    int64_t hw[2] = {x->type.shape.dim[2], x->type.shape.dim[3]};
    node_set_ints(g, m, "input_size", 2, hw);
    if (mask) { /* m's result becomes the mask's, which every reader reads */
      m->out[0]->def = NULL;
      mask->out[0]->def = m;
      mask->out[0]->def_index = 0;
      m->out[0] = mask->out[0];
      removed[mask->id] = any = true;
    }
  }
  if (any) graph_drop_nodes(g, removed);
}

/* A per-layer `precision:` other than fp32 on a layer that is not conv2d
 * or dense has no int8 lowering: a located error, not a float layer. */
static bool check_overrides(Module *m) {
  const Recipe *r = m->recipe;
  bool ok = true;
  for (int i = 0; r && i < r->nlayers; i++) {
    const RecipeLayer *l = &r->layers[i];
    if (!(l->set & LAYER_PRECISION) || !precision_is_int8(l->precision)) continue;
    for (int j = 0; j < m->graph->nnodes; j++) {
      const Node *n = m->graph->nodes[j];
      if (!n->name || strcmp(n->name, l->name) != 0 || op_info(n->op)->role == OPROLE_BACKWARD)
        continue;
      if (n->op == OP_CONV2D || n->op == OP_DENSE) continue;
      SrcLoc loc = l->loc.file ? l->loc : n->loc;
      diag_error(m->diag, loc, "layer '%s' is %s, which has no %s lowering: only conv2d and dense "
                 "layers take an INT8 precision (remove its `precision:` override)", l->name,
                 op_name(n->op), precision_name(l->precision));
      ok = false;
    }
  }
  return ok;
}

static bool run_quantize(Module *m) {
  if (!check_overrides(m)) return false;
  Graph *g = m->graph;
  /* The forward products, listed first: the rewrite inserts nodes. */
  int count = 0;
  Node **fwd = arena_alloc(g->arena, (size_t)(g->nnodes ? g->nnodes : 1) * sizeof(Node *));
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = g->nodes[i];
    if ((n->op == OP_CONV2D || n->op == OP_DENSE) && precision_is_int8(layer_precision(m, n)))
      fwd[count++] = n;
  }
  for (int i = 0; i < count; i++) quantize_layer(m, fwd[i]);
  if (count) {
    route_maxpools(g);
    int8_saved_activations(g);
  }
  return true;
}

const Pass pass_quantize = {
    "quantize",
    "INT8 layers: conv2d and dense, forward and backward, become int8 products of quantized "
    "operands",
    run_quantize,
};
