/* PRC's one building block, shared by the prc pass and LAC's `clip`: a
 * range_clip node of x with a layer's PRC settings. */
#ifndef OCTO_PASSES_PRC_H
#define OCTO_PASSES_PRC_H

#include "graph.h"
#include "recipe.h"

/* Inserts `%<x>.clip = range_clip "<node_name>" (%x) {method, p or z}` right
 * after `after` in the schedule (first when NULL) and returns the node. */
Node *prc_insert_clip(Graph *g, const Node *after, Value *x, const char *node_name,
                      const PrcParams *prc, SrcLoc loc);

#endif
