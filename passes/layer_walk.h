/* The walk the precision passes (lac, prc) share: every conv2d and dense of
 * the graph with its layer's effective settings from the recipe. */
#ifndef OCTO_PASSES_LAYER_WALK_H
#define OCTO_PASSES_LAYER_WALK_H

#include "pass.h"
#include "recipe.h"

/* Calls visit for each conv2d/dense node scheduled when the walk starts
 * (visit may insert nodes), with recipe_layer's settings for its name (the
 * recipe's defaults when the module has none). */
void walk_product_layers(Module *m, void (*visit)(Graph *g, Node *n, const LayerSettings *ls));

/* "c1", or the op's name for an unnamed node (how autodiff names its
 * backward nodes, "<label>.dx"). */
const char *layer_label(const Node *n);

#endif
