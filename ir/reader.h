/* The graph IR's textual form, reading side: a hand-written lexer and
 * recursive-descent parser for the text graph_print writes (grammar in
 * docs/ir.md), so a test or a pipeline can start from any stage. */
#ifndef OCTO_IR_READER_H
#define OCTO_IR_READER_H

#include <stddef.h>

#include "arena.h"
#include "diag.h"
#include "graph.h"

/* Parses one graph from text[0..len) (need not be NUL-terminated; any bytes
 * are accepted and never crash the reader). Registers the text with
 * diag_add_source under `file`, reports errors as file:line:col with the
 * source line and a caret (the first error of each line; parsing resumes on
 * the next line), and returns NULL if there was any.
 *
 * On a clean parse it runs graph_verify at VERIFY_SHAPES when every value's
 * shape is fully known, else at VERIFY_STRUCTURE; verifier errors point at
 * the statement's line in this text (the graph keeps its own loc(...)
 * locations). Returns NULL if the graph does not verify. */
Graph *graph_read(Arena *a, Diag *d, const char *file, const char *text, size_t len);

#endif
