/* Graphviz output of the graph IR for `octoc --emit=dot`: one box per node
 * (op, layer name, output type, its parameters folded in), inputs and labels
 * as their own shapes, edges labelled with the tensor type they carry. */
#ifndef OCTO_PASSES_DOT_H
#define OCTO_PASSES_DOT_H

#include <stdio.h>

#include "graph.h"

void graph_print_dot(FILE *out, const Graph *g);

#endif
