/* See layer_walk.h. */
#include "layer_walk.h"

const char *layer_label(const Node *n) { return n->name ? n->name : op_name(n->op); }

void walk_product_layers(Module *m, void (*visit)(Graph *g, Node *n, const LayerSettings *ls)) {
  Graph *g = m->graph;
  Recipe defaults;
  const Recipe *r = recipe_or_defaults(m->recipe, &defaults);
  int nnodes = g->nnodes; /* visit inserts nodes: walk a copy of the schedule */
  Node **layers = arena_alloc(g->arena, (size_t)(nnodes ? nnodes : 1) * sizeof(Node *));
  for (int i = 0; i < nnodes; i++) layers[i] = g->nodes[i];
  for (int i = 0; i < nnodes; i++) {
    Node *n = layers[i];
    if (n->op != OP_CONV2D && n->op != OP_DENSE) continue;
    LayerSettings ls = recipe_layer(r, layer_label(n));
    visit(g, n, &ls);
  }
}
