/* Building the graph IR from the syntax tree of one .net file (the front
 * end's last step). Resolves names and block calls, checks every op call
 * against builtins.c, folds constant attribute arithmetic, names layers and
 * parameters (docs/language.md, "Names"), and reports every problem it
 * finds with a location. Not to be confused with passes/lower.c, which
 * lowers the finished graph to loops. */
#ifndef OCTO_COMPILER_BUILD_GRAPH_H
#define OCTO_COMPILER_BUILD_GRAPH_H

#include "ast.h"
#include "graph.h"

/* NULL if errors were reported. Warnings do not fail. */
Graph *build_graph(Arena *a, Diag *d, const Program *prog, int batch);

#endif
