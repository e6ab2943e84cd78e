/* The graph verifier: SSA (every operand defined before use, one definition),
 * operand counts and attribute schemas against ir/ops.h, dtypes, and (once
 * shapes are inferred) shapes against each op's rule. Reports through Diag
 * at the node's source location; returns true when the graph is valid. */
#ifndef OCTO_IR_VERIFY_H
#define OCTO_IR_VERIFY_H

#include <stdbool.h>

#include "diag.h"
#include "graph.h"

typedef enum {
  VERIFY_STRUCTURE, /* before shape inference: shapes may be unknown */
  VERIFY_SHAPES,    /* every value's shape known and consistent */
} VerifyLevel;

bool graph_verify(const Graph *g, Diag *d, VerifyLevel level);

#endif
