/* The per-layer report of `octoc --emit=report`: one row per node (layer,
 * op, output shape per sample, parameters owned, MACs per sample) and the
 * model totals. Shapes must have been inferred. */
#ifndef OCTO_PASSES_REPORT_H
#define OCTO_PASSES_REPORT_H

#include <stdio.h>

#include "graph.h"

void graph_report(FILE *out, const Graph *g);

#endif
