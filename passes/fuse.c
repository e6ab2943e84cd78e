/* The fuse pass: folds the elementwise nodes around the INT8 products into
 * the kernels that produce or consume their values, so those values are
 * never written to memory and read back. It runs after dce, on the complete
 * training graph, and rewrites three patterns:
 *
 *   product epilogue   conv2d_i8 / dense_i8 -> compensation -> relu
 *                      the product's kernel adds LAC's alpha mu + beta and
 *                      applies relu to each sample's output right after
 *                      computing it, while it is in the cache (attribute
 *                      epilogue = "compensation", "relu" or
 *                      "compensation_relu"; alpha, mu and beta become its
 *                      last three operands)
 *   clip + quantize    range_clip -> quantize (every user of the clip)
 *                      the quantize computes the range and quantizes the
 *                      clipped values (attributes clip = "scale"|"sigma",
 *                      p, z): no clipped f32 copy
 *   max|y| in place    a conv2d_i8 / dense_i8 whose result y (or a
 *                      flatten of it) a quantize reads: the product also
 *                      computes max|y| as a second result, %y.amax, the
 *                      quantize's second operand, and the quantize skips
 *                      its own pass over y
 *   shared range       a tensor quantized plainly, then through a scale
 *                      clip (a weight: forward, then dx): the first
 *                      quantize finds its min and max (%x.range, a third
 *                      result), the clipping ones skip their pass over x
 *   pool + relu mask   maxpool_grad_i8 -> relu_grad_i8 of the same saved
 *                      int8 activation: the error is routed and masked in
 *                      one pass (epilogue = "relu_grad")
 *   dx + relu mask     conv2d_i8_grad_input / dense_i8_grad_input ->
 *                      relu_grad_i8: each sample's dx is masked as soon as
 *                      it is computed (epilogue = "relu_grad", the saved
 *                      int8 activation its fifth operand)
 *   LAC + bias grads   compensation_grad (per element) and bias_grad of
 *                      the same error: the bias gradient becomes the
 *                      compensation gradient's fourth result, summed from
 *                      the per-element batch sums that kernel already has
 *                      (bias_grad's per-position line, the same sums in
 *                      the same order), so the error is read once
 *
 * A value is folded only when the next node is its sole reader and it is
 * not a graph output. The fused node takes over the last value's name, so
 * every later reader is unchanged, and lists what it absorbed in its
 * `fused` attribute (for dumps and --emit=report). Each fused kernel does
 * the same float operations in the same order as the kernels it replaces:
 * the program computes the same bits (tests/e2e/fuse_identical.sh).
 * --no-fuse skips the pass. */
#include <stdio.h>
#include <string.h>

#include "lower.h"
#include "pass.h"

/* n's operands followed by the k values of more. */
static void append_operands(Graph *g, Node *n, Value *const *more, int k) {
  Value **in = arena_alloc(g->arena, (size_t)(n->nin + k) * sizeof(Value *));
  memcpy(in, n->in, (size_t)n->nin * sizeof(Value *));
  memcpy(in + n->nin, more, (size_t)k * sizeof(Value *));
  n->in = in;
  n->nin += k;
}

/* The only node that reads v, when exactly one does and v is not a graph
 * output; NULL otherwise. */
static Node *sole_reader(const Graph *g, const Value *v) {
  for (int i = 0; i < g->noutputs; i++)
    if (g->outputs[i] == v) return NULL;
  Node *users[2];
  if (value_users(g, v, users, 2) != 1) return NULL;
  int reads = 0;
  for (int i = 0; i < users[0]->nin; i++) reads += users[0]->in[i] == v;
  return reads == 1 ? users[0] : NULL;
}

/* next, when it is an op `op` reading v as operand 0 and v's sole reader. */
static Node *fusible_next(const Graph *g, const Value *v, OpKind op) {
  Node *next = sole_reader(g, v);
  return next && next->op == op && next->in[0] == v ? next : NULL;
}

/* Appends node `gone`'s name to n's `fused` list and marks it removed. */
static void absorb(Graph *g, Node *n, const Node *gone, bool *removed) {
  const char *was = node_str(n, "fused");
  const char *name = gone->name ? gone->name : op_name(gone->op);
  node_set_str(g, n, "fused",
               was && *was ? arena_printf(g->arena, "%s %s", was, name) : name);
  removed[gone->id] = true;
}

/* n's result becomes `last`, the value of the last node it absorbed: the
 * readers of `last` now read n's. */
static void take_result(Node *n, Value *last) {
  n->out[0]->def = NULL; /* graph_compact drops it */
  last->def = n;
  last->def_index = 0;
  n->out[0] = last;
}

/* The quantizes of y that can take max|y| from y's producer: no clip of
 * their own, not already given one; also those of a flatten or reshape of
 * y (an alias: the same elements). */
static int plain_quantizes(const Graph *g, const Value *y, Node **q, int max) {
  Node *users[16];
  int nu = value_users(g, y, users, 16), k = 0;
  if (nu > 16) return 0;
  for (int i = 0; i < nu && k < max; i++) {
    if (op_info(users[i]->op)->alias && users[i]->in[0] == y) {
      k += plain_quantizes(g, users[i]->out[0], q + k, max - k);
      continue;
    }
    const char *clip = node_str(users[i], "clip");
    if (users[i]->op == OP_QUANTIZE && users[i]->nin == 1 && users[i]->in[0] == y &&
        (!clip || strcmp(clip, "none") == 0))
      q[k++] = users[i];
  }
  return k;
}

/* The product's kernel also computes max|y| (a second result, %y.amax) for
 * the quantizes of y, which then skip their own pass over y. */
static void fuse_amax(Graph *g, Node *n) {
  if (n->nout != 1) return;
  Node *q[16];
  int nq = plain_quantizes(g, n->out[0], q, 16);
  if (!nq) return;
  char name[512];
  snprintf(name, sizeof name, "%s.amax", n->out[0]->name);
  TensorType scalar = {DT_F32, shape_of(0, NULL)};
  Value *amax = node_add_result(g, n, graph_unique_name(g, name), scalar);
  for (int i = 0; i < nq; i++) append_operands(g, q[i], &amax, 1);
}

/* A routed maxpool (passes/quantize.c) reading a conv2d_i8's result folds
 * into the product: each sample's output is pooled while it is in the
 * cache, and the unpooled output never exists whole (attributes pool = the
 * window, pool_mask). The product's results become the pooled y, max|y|
 * for y's quantizes (as fuse_amax gives) and the route. */
static bool fuse_pool(Graph *g, Node *n, bool *removed) {
  if (n->op != OP_CONV2D_I8 || n->nout != 1) return false;
  Node *pool = fusible_next(g, n->out[0], OP_MAXPOOL_ROUTE);
  if (!pool) return false;
  int64_t window[2] = {node_ints(pool, "kernel", 0, 1), node_ints(pool, "kernel", 1, 1)};
  node_set_ints(g, n, "pool", 2, window);
  node_set_str(g, n, "pool_mask", node_str(pool, "mask"));
  absorb(g, n, pool, removed);
  Value *route = pool->out[1];
  take_result(n, pool->out[0]);
  char name[512];
  snprintf(name, sizeof name, "%s.amax", n->out[0]->name);
  TensorType scalar = {DT_F32, shape_of(0, NULL)};
  Value *amax = node_add_result(g, n, graph_unique_name(g, name), scalar);
  Value **out = arena_alloc(g->arena, 3 * sizeof(Value *));
  out[0] = n->out[0], out[1] = amax, out[2] = route;
  route->def = n;
  route->def_index = 2;
  n->out = out;
  n->nout = 3;
  Node *q[16];
  int nq = plain_quantizes(g, n->out[0], q, 16);
  for (int i = 0; i < nq; i++) append_operands(g, q[i], &amax, 1);
  return true;
}

static void fuse_product(Graph *g, Node *n, bool *removed) {
  const char *ep = node_str(n, "epilogue");
  if (ep && strcmp(ep, "none") != 0) return;
  Node *comp = fusible_next(g, n->out[0], OP_COMPENSATION);
  Node *relu = fusible_next(g, comp ? comp->out[0] : n->out[0], OP_RELU);
  if (!comp && !relu) {
    if (!fuse_pool(g, n, removed)) fuse_amax(g, n);
    return;
  }
  node_set_str(g, n, "epilogue", comp ? (relu ? "compensation_relu" : "compensation") : "relu");
  if (comp) {
    append_operands(g, n, comp->in + 1, 3); /* alpha, mu, beta */
    absorb(g, n, comp, removed);
  }
  if (relu) absorb(g, n, relu, removed);
  take_result(n, (relu ? relu : comp)->out[0]);
  if (!fuse_pool(g, n, removed)) fuse_amax(g, n);
}

static void fuse_clip(Graph *g, Node *clip, bool *removed) {
  Value *v = clip->out[0];
  for (int i = 0; i < g->noutputs; i++)
    if (g->outputs[i] == v) return;
  enum { MAX_READERS = 8 };
  Node *readers[MAX_READERS];
  int nr = value_users(g, v, readers, MAX_READERS);
  if (nr < 1 || nr > MAX_READERS) return;
  for (int i = 0; i < nr; i++) {
    const char *c = node_str(readers[i], "clip");
    if (readers[i]->op != OP_QUANTIZE || readers[i]->in[0] != v || (c && strcmp(c, "none") != 0))
      return;
  }
  for (int i = 0; i < nr; i++) {
    Node *q = readers[i];
    q->in[0] = clip->in[0];
    node_set_str(g, q, "clip", node_str(clip, "method"));
    if (strcmp(node_str(clip, "method"), "sigma") == 0)
      node_set_float(g, q, "z", node_float(clip, "z", 2.576));
    else
      node_set_float(g, q, "p", node_float(clip, "p", 0.95));
    const char *stats = node_str(clip, "stats"); /* its counters: in one kernel only */
    if (i == 0 && stats && *stats) node_set_str(g, q, "stats", stats);
    absorb(g, q, clip, removed);
  }
}

static void fuse_pool_grad(Graph *g, Node *n, bool *removed) {
  const char *ep = node_str(n, "epilogue");
  if (ep && strcmp(ep, "none") != 0) return;
  Node *mask = fusible_next(g, n->out[0], OP_RELU_GRAD_I8);
  if (!mask || mask->in[1] != n->in[1]) return;
  node_set_str(g, n, "epilogue", "relu_grad");
  absorb(g, n, mask, removed);
  take_result(n, mask->out[0]);
}

/* An input gradient followed by the relu mask of the layer below: the
 * product's kernel masks each sample's dx as it finishes it. */
static void fuse_input_grad(Graph *g, Node *n, bool *removed) {
  const char *ep = node_str(n, "epilogue");
  if (ep && strcmp(ep, "none") != 0) return;
  Node *mask = fusible_next(g, n->out[0], OP_RELU_GRAD_I8);
  if (!mask) return;
  node_set_str(g, n, "epilogue", "relu_grad");
  append_operands(g, n, mask->in + 1, 1); /* the saved int8 activation */
  absorb(g, n, mask, removed);
  take_result(n, mask->out[0]);
}

/* A routed pool gradient (passes/quantize.c) whose readers all read its
 * result element by element (compensation_grad, bias_grad and quantize, in
 * any number) is inlined: each reader walks the windows and computes the
 * routed error where it reads it (lower.h, value_loop), so the error, kh*kw
 * times the size of what it is routed from, is never stored. Only readers
 * whose results do not depend on the order of the elements: per-element
 * sums (bias_grad, compensation_grad per element) and integer reductions
 * (a quantize's max|x|, the scale clip's min and max), not the float sums
 * of the sigma clip or of per-channel compensation; so the program
 * computes the same bits. */
static void inline_route_grad(Graph *g, Node *n) {
  if (route_grad_readers_route(g, n, true)) node_set_int(g, n, "inline", 1);
}

/* The bias_grad reading compensation_grad c's error (per element), when
 * every reader of its result comes after c, folds into c as a fourth
 * result. */
static void fuse_bias_grad(Graph *g, Node *c, int at, bool *removed) {
  const char *gran = node_str(c, "granularity");
  if (c->nout != 3 || (gran && strcmp(gran, "channel") == 0)) return;
  Node *users[16];
  int nu = value_users(g, c->in[0], users, 16);
  if (nu > 16) return;
  Node *b = NULL;
  for (int i = 0; i < nu && !b; i++)
    if (users[i]->op == OP_BIAS_GRAD && !removed[users[i]->id]) b = users[i];
  if (!b) return;
  Node *readers[16];
  int nr = value_users(g, b->out[0], readers, 16);
  if (nr > 16) return;
  for (int i = 0; i < nr; i++)
    for (int k = 0; k <= at; k++)
      if (g->nodes[k] == readers[i]) return;
  for (int i = 0; i < g->noutputs; i++)
    if (g->outputs[i] == b->out[0]) return;
  Value *db = b->out[0];
  Value **out = arena_alloc(g->arena, 4 * sizeof(Value *));
  memcpy(out, c->out, 3 * sizeof(Value *));
  out[3] = db;
  db->def = c;
  db->def_index = 3;
  c->out = out;
  c->nout = 4;
  absorb(g, c, b, removed);
}

/* A tensor quantized plainly (max|x|) and later through a scale clip
 * ([p min, p max]), as a weight is for the forward product and for the
 * input gradient: the plain quantize (the first, run in every entry that
 * runs a later one) reduces x to its min and max instead of max|x| (the
 * larger magnitude of the two: the same float), and gives them as a third
 * result, x.range, to the clipping quantizes, which then skip their own
 * pass over x. Not for a routed error (its zeros are implicit) or a value
 * whose quantizes already take max|x| from its producer. */
static void share_range(Graph *g, int at) {
  Node *q = g->nodes[at];
  const char *clip = node_str(q, "clip");
  if (q->op != OP_QUANTIZE || q->nin != 1 || q->nout != 2 || (clip && strcmp(clip, "none") != 0))
    return;
  Value *x = q->in[0];
  if (x->def && x->def->op == OP_MAXPOOL_ROUTE_GRAD) return;
  Node *readers[16];
  int nr = 0;
  for (int i = at + 1; i < g->nnodes && nr < 16; i++) {
    Node *u = g->nodes[i];
    const char *c = node_str(u, "clip");
    if (u->op == OP_QUANTIZE && u->nin == 1 && u->in[0] == x && c && strcmp(c, "scale") == 0)
      readers[nr++] = u;
  }
  if (!nr) return;
  char name[512];
  snprintf(name, sizeof name, "%s.range", x->name);
  int64_t two = 2;
  TensorType pair = {DT_F32, shape_of(1, &two)};
  Value *range = node_add_result(g, q, graph_unique_name(g, name), pair);
  for (int i = 0; i < nr; i++) append_operands(g, readers[i], &range, 1);
}

static bool run_fuse(Module *m) {
  if (m->no_fuse) return true;
  Graph *g = m->graph;
  bool *removed = arena_alloc(g->arena, (size_t)(g->next_node_id ? g->next_node_id : 1));
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = g->nodes[i];
    if (removed[n->id]) continue;
    switch (n->op) {
    case OP_CONV2D_I8:
    case OP_DENSE_I8: fuse_product(g, n, removed); break;
    case OP_RANGE_CLIP: fuse_clip(g, n, removed); break;
    case OP_MAXPOOL_GRAD_I8: fuse_pool_grad(g, n, removed); break;
    case OP_CONV2D_I8_GRAD_INPUT:
    case OP_DENSE_I8_GRAD_INPUT: fuse_input_grad(g, n, removed); break;
    case OP_COMPENSATION_GRAD: fuse_bias_grad(g, n, i, removed); break;
    default: break;
    }
  }
  graph_drop_nodes(g, removed);
  /* after the clips are in their quantizes: shared ranges, the routed
   * gradients' readers */
  for (int i = 0; i < g->nnodes; i++) share_range(g, i);
  for (int i = 0; i < g->nnodes; i++)
    if (g->nodes[i]->op == OP_MAXPOOL_ROUTE_GRAD) inline_route_grad(g, g->nodes[i]);
  return true;
}

const Pass pass_fuse = {"fuse",
                        "fold compensation, relu, range clips and relu masks into the int8 "
                        "kernels next to them",
                        run_fuse};
