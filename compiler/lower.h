/* Lowering: the syntax tree of one .net file to the graph IR. Resolves names
 * and block calls, checks every op call against builtins.c, folds constant
 * attribute arithmetic, names layers and parameters (docs/language.md,
 * "Names"), and reports every problem it finds with a location. */
#ifndef OCTO_COMPILER_LOWER_H
#define OCTO_COMPILER_LOWER_H

#include "ast.h"
#include "graph.h"

/* NULL if errors were reported. Warnings do not fail. */
Graph *lower_program(Arena *a, Diag *d, const Program *prog, int batch);

#endif
