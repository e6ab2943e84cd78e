/* The prc pass (parameterized range clipping, the Octo paper's PRC): for
 * every conv2d and dense whose layer's precision has PRC (int8-prc, octo;
 * per layer from the recipe) it clips, before they reach a product, the
 * tensors `prc.tensors` names:
 *
 *   error       the upstream error e, as the dx and dW products read it
 *   activation  the saved activation x, as the dW product reads it
 *   weight      the weight w, as the dx product reads it
 *   forward_x   the forward input x (the dW product then reads the clipped x)
 *   forward_w   the forward weight w (the dx product then reads the clipped w)
 *
 * Each clip is a range_clip node (f32 -> f32, method scale or sigma from
 * the layer's settings) read by those products only: the bias gradient and
 * every other user still see the unclipped tensor. The quantize pass, which
 * runs next, quantizes whatever reaches a product's operand, so a clip is
 * what it quantizes; without quantization the clip is an ordinary float op.
 *
 * It runs after autodiff and the optimizer: the three backward clips get no
 * gradient. The forward clips do need one, the straight-through mask: the
 * pass puts a range_clip_grad after the layer's dx (for forward_x) and dW
 * (for forward_w) node, which passes the gradient where the unclipped value
 * was inside the range. Tensors already clipped (a graph read back from
 * text) are left as they are. */
#include "prc.h"

#include <stdio.h>
#include <string.h>

#include "layer_walk.h"

Node *prc_insert_clip(Graph *g, const Node *after, Value *x, const char *node_name,
                      const PrcParams *prc, SrcLoc loc) {
  char name[512];
  snprintf(name, sizeof name, "%s.clip", x->name);
  const char *out[1] = {graph_unique_name(g, name)};
  Node *c = graph_insert_node_after(g, after, OP_RANGE_CLIP, node_name, &x, 1, out, 1, loc);
  c->out[0]->type = x->type;
  node_set_str(g, c, "method", prc_method_name(prc->method));
  if (prc->method == PRC_SIGMA) node_set_float(g, c, "z", prc->z);
  else node_set_float(g, c, "p", prc->p);
  if (prc->stats) node_set_str(g, c, "stats", node_name); /* its counters' name */
  return c;
}

/* The node scheduled just before n (NULL when n is first or unscheduled). */
static const Node *before(const Graph *g, const Node *n) {
  for (int i = 1; i < g->nnodes; i++)
    if (g->nodes[i] == n) return g->nodes[i - 1];
  return NULL;
}

static int position(const Graph *g, const Node *n) {
  for (int i = 0; i < g->nnodes; i++)
    if (g->nodes[i] == n) return i;
  return -1;
}

/* The layer's backward product of op `op`, named "<layer>.<suffix>" by
 * autodiff (gradients.c); NULL when autodiff built none. */
static Node *product_grad(const Graph *g, const Node *n, OpKind op, const char *suffix) {
  char name[512];
  snprintf(name, sizeof name, "%s.%s", layer_label(n), suffix);
  for (int i = 0; i < g->nnodes; i++) {
    Node *b = g->nodes[i];
    if (b->op == op && b->name && strcmp(b->name, name) == 0) return b;
  }
  return NULL;
}

/* Whether v is this layer's PRC clip already (a graph read back from text);
 * a clip of something else (LAC's clip of the layer before) does not count. */
static bool is_prc_clip(const Value *v, const Node *layer) {
  if (!v->def || v->def->op != OP_RANGE_CLIP || !v->def->name) return false;
  char prefix[512];
  int k = snprintf(prefix, sizeof prefix, "%s.prc.", layer_label(layer));
  return k > 0 && strncmp(v->def->name, prefix, (size_t)k) == 0;
}

/* Operand `slot` of `node` (node NULL: none). */
typedef struct Use {
  Node *node;
  int slot;
} Use;

/* Clips the value uses[0..n) read (all read the same one) with one
 * range_clip scheduled before the first of them, which they then read.
 * Returns the clip, or NULL when there is no use or it is clipped already. */
static Node *clip_uses(Graph *g, Use *uses, int n, const char *what, const Node *layer,
                       const PrcParams *prc) {
  const Use *first = NULL;
  for (int i = 0; i < n; i++)
    if (uses[i].node && (!first || position(g, uses[i].node) < position(g, first->node)))
      first = &uses[i];
  if (!first) return NULL;
  Value *v = first->node->in[first->slot];
  if (is_prc_clip(v, layer)) return NULL;
  char node_name[512];
  snprintf(node_name, sizeof node_name, "%s.prc.%s", layer_label(layer), what);
  Node *c = prc_insert_clip(g, before(g, first->node), v, node_name, prc, layer->loc);
  for (int i = 0; i < n; i++)
    if (uses[i].node) uses[i].node->in[uses[i].slot] = c->out[0];
  return c;
}

/* After node b (a product's gradient): the straight-through mask of the
 * forward clip of x, which every user of b's result then reads instead. */
static void mask_gradient(Graph *g, Node *b, Value *x, const Node *clip) {
  Value *in[2] = {b->out[0], x};
  char name[512], node_name[512];
  snprintf(name, sizeof name, "%s.masked", b->out[0]->name);
  const char *out[1] = {graph_unique_name(g, name)};
  snprintf(node_name, sizeof node_name, "%s.mask", clip->name);
  Node *m = graph_insert_node_after(g, b, OP_RANGE_CLIP_GRAD, node_name, in, 2, out, 1, b->loc);
  m->out[0]->type = b->out[0]->type;
  for (int i = 0; i < clip->nattrs; i++) {
    const Attr *a = &clip->attrs[i];
    if (strcmp(a->name, "stats") == 0) continue; /* the clip counts, not its mask */
    if (a->kind == ATTR_STR) node_set_str(g, m, a->name, a->s);
    else node_set_float(g, m, a->name, a->f);
  }
  graph_replace_uses(g, b->out[0], m->out[0], m);
}

static void clip_layer(Graph *g, Node *n, const PrcParams *prc) {
  bool conv = n->op == OP_CONV2D;
  Node *dx = product_grad(g, n, conv ? OP_CONV2D_GRAD_INPUT : OP_DENSE_GRAD_INPUT, "dx");
  Node *dw = product_grad(g, n, conv ? OP_CONV2D_GRAD_WEIGHT : OP_DENSE_GRAD_WEIGHT, "dw");
  unsigned t = prc->tensors;
  /* forward: the layer and the other operand's product read the clipped
   * tensor; the gradient of the unclipped one is masked */
  if (t & PRC_FORWARD_X) {
    Value *x = n->in[0];
    Use uses[2] = {{n, 0}, {dw, 0}};
    Node *c = clip_uses(g, uses, 2, "forward_x", n, prc);
    if (c && dx) mask_gradient(g, dx, x, c);
  }
  if (t & PRC_FORWARD_W) {
    Value *w = n->in[1];
    Use uses[2] = {{n, 1}, {dx, 1}};
    Node *c = clip_uses(g, uses, 2, "forward_w", n, prc);
    if (c && dw) mask_gradient(g, dw, w, c);
  }
  /* backward: what the products read, nothing else */
  if (t & PRC_ERROR) {
    Use uses[2] = {{dx, 0}, {dw, 1}};
    clip_uses(g, uses, 2, "error", n, prc);
  }
  if (t & PRC_ACTIVATION) {
    Use uses[1] = {{dw, 0}};
    clip_uses(g, uses, 1, "activation", n, prc);
  }
  if (t & PRC_WEIGHT) {
    Use uses[1] = {{dx, 1}};
    clip_uses(g, uses, 1, "weight", n, prc);
  }
}

static void visit(Graph *g, Node *n, const LayerSettings *ls) {
  if (precision_has_prc(ls->precision)) clip_layer(g, n, &ls->prc);
}

static bool run_prc(Module *m) {
  walk_product_layers(m, visit);
  return true;
}

const Pass pass_prc = {"prc",
                       "range-clip the tensors int8 products will quantize (int8-prc, octo)",
                       run_prc};
