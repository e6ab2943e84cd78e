/* The lac pass (loss-aware compensation, the Octo paper's LAC): after every
 * conv2d and dense whose layer's precision has LAC (int8-lac, octo; per
 * layer from the recipe) it inserts a compensation node
 *
 *   %y.lac = compensation "<layer>.lac" (%y, %<layer>.lac.alpha,
 *            %<layer>.lac.mu, %<layer>.lac.beta) {granularity, lambda}
 *
 * and makes every user of %y read %y.lac, so it sits before any batch-norm
 * and the activation. alpha starts at 1, mu and beta at N(0, init_std^2)
 * from the trainer's seeded init; they are parameters of the layer, trained
 * by autodiff and the optimizer like its weights and saved in checkpoints.
 * Their shape is the layer's output per sample ([C,H,W]; [units] after a
 * dense) for granularity element, [C] for channel. With `lac.clip` the
 * compensated output is range-clipped (PRC's settings of the layer), whose
 * gradient is the straight-through mask.
 *
 * It runs after shape inference (the parameters' shapes come from the
 * layer's output) and before autodiff. A layer that already has its
 * compensation (a graph read back from text) is left as it is. */
#include <stdio.h>

#include "layer_walk.h"
#include "prc.h"

/* Whether some node already compensates v. */
static bool compensated(const Graph *g, const Value *v) {
  for (int i = 0; i < g->nnodes; i++)
    if (g->nodes[i]->op == OP_COMPENSATION && g->nodes[i]->in[0] == v) return true;
  return false;
}

static Value *lac_param(Graph *g, const Node *n, const char *what, Shape shape, Init init) {
  char name[512];
  snprintf(name, sizeof name, "%s.lac.%s", layer_label(n), what);
  TensorType t = {n->out[0]->type.dtype, shape};
  return graph_add_param(g, graph_unique_name(g, name), VAL_PARAM, t, init, layer_label(n), n->loc);
}

static void compensate(Graph *g, Node *n, const LacParams *lac, const PrcParams *prc) {
  Value *y = n->out[0];
  const Shape *s = &y->type.shape;
  Shape shape = lac->granularity == LAC_CHANNEL ? shape_of(1, &s->dim[1])
                                                : shape_of(s->rank - 1, &s->dim[1]);
  Init ones = {INIT_ONES, 0};
  Init noise = {lac->init_std > 0 ? INIT_NORMAL : INIT_ZEROS, lac->init_std};
  Value *in[4] = {y, lac_param(g, n, "alpha", shape, ones), lac_param(g, n, "mu", shape, noise),
                  lac_param(g, n, "beta", shape, noise)};
  char name[512], node_name[512];
  snprintf(name, sizeof name, "%s.lac", y->name);
  const char *out[1] = {graph_unique_name(g, name)};
  snprintf(node_name, sizeof node_name, "%s.lac", layer_label(n));
  Node *c = graph_insert_node_after(g, n, OP_COMPENSATION, node_name, in, 4, out, 1, n->loc);
  c->out[0]->type = y->type;
  node_set_str(g, c, "granularity", lac_granularity_name(lac->granularity));
  node_set_float(g, c, "lambda", lac->lambda);
  graph_replace_uses(g, y, c->out[0], c);
  if (!lac->clip) return;
  snprintf(node_name, sizeof node_name, "%s.lac.clip", layer_label(n));
  Node *clip = prc_insert_clip(g, c, c->out[0], node_name, prc, n->loc);
  graph_replace_uses(g, c->out[0], clip->out[0], clip);
}

static void visit(Graph *g, Node *n, const LayerSettings *ls) {
  if (precision_has_lac(ls->precision) && !compensated(g, n->out[0]))
    compensate(g, n, &ls->lac, &ls->prc);
}

static bool run_lac(Module *m) {
  walk_product_layers(m, visit);
  return true;
}

const Pass pass_lac = {"lac",
                       "insert LAC compensation layers after int8 conv2d/dense (int8-lac, octo)",
                       run_lac};
