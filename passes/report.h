/* The per-layer report of `octoc --emit=report`: one row per node (layer,
 * op, output shape per sample, parameters owned, MACs per sample) and the
 * model totals. Shapes must have been inferred. */
#ifndef OCTO_PASSES_REPORT_H
#define OCTO_PASSES_REPORT_H

#include <stdio.h>

#include "graph.h"

struct Recipe;

void graph_report(FILE *out, const Graph *g);
/* The same with a last column giving each conv2d/dense layer's precision
 * from the recipe, and its LAC and PRC settings where they apply. */
void graph_report_recipe(FILE *out, const Graph *g, const struct Recipe *r);

#endif
