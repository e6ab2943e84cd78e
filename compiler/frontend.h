/* The front end's entry point: .net source text to graph IR. */
#ifndef OCTO_COMPILER_FRONTEND_H
#define OCTO_COMPILER_FRONTEND_H

#include <stddef.h>

#include "arena.h"
#include "diag.h"
#include "graph.h"

/* Parses and lowers one .net file. Registers the text with diag_add_source.
 * Returns NULL after reporting errors (file:line:col, several per run).
 * Node results and parameters whose shapes depend on the input get unknown
 * shapes (dims -1 / rank -1): the shape-inference pass fills them in. */
Graph *net_compile(Arena *a, Diag *d, const char *file, const char *text, size_t len, int batch);

/* Parse only (for tests and tools): the syntax tree, or NULL after syntax
 * errors. The text must have been registered as `file` already if quoted
 * diagnostics are wanted; net_compile does that. */
struct Program;
struct Program *net_parse(Arena *a, Diag *d, const char *file, const char *text, size_t len);

#endif
