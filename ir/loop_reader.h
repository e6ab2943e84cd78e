/* The loop IR's textual form, reading side: a hand-written lexer and a
 * recursive-descent parser for the text lprog_print writes (grammar in
 * docs/loops.md), so tests and backends can start from loop-IR text. */
#ifndef OCTO_IR_LOOP_READER_H
#define OCTO_IR_LOOP_READER_H

#include <stddef.h>

#include "arena.h"
#include "diag.h"
#include "loop.h"

/* Parses one program from text[0..len) (need not be NUL-terminated; any
 * bytes are accepted and never crash the reader). Registers the text with
 * diag_add_source under `file` and reports the first error as file:line:col
 * with the source line and a caret; returns NULL then.
 *
 * The reader checks syntax, names (declared before use, unique), scopes (a
 * variable is visible only where the docs say, no shadowing) and that only
 * locals are assigned. Types, bounds and the memory plan are lprog_verify's
 * job; every buffer, statement and expression it builds carries its SrcLoc
 * so the verifier's messages point into this text. */
LProgram *lprog_read(Arena *a, Diag *d, const char *file, const char *text, size_t len);

#endif
