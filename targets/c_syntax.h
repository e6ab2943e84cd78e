/* C text that both the C backend (the kernels and entries of NAME.c) and
 * the API writer (NAME.h, the tensor table, NAME_main.c) print: string
 * literals, comment text, exact constants and type names. */
#ifndef OCTO_TARGETS_C_SYNTAX_H
#define OCTO_TARGETS_C_SYNTAX_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "types.h"

/* A C string literal of any bytes (names may hold any byte). */
void c_string(FILE *out, const char *s);
/* Text inside a comment: no line breaks, no comment end, no trigraphs. */
void c_comment_text(FILE *out, const char *s);
/* f as a constant of C type float, or double (real_double) with the same
 * exact value. Returns true when the text needs <math.h> (NAN, INFINITY). */
bool c_float(FILE *out, float f, bool real_double);
/* v as a constant of the C type of t. */
void c_int(FILE *out, DType t, int64_t v);
/* The C type of dtype t (f32: float, or double for real_double). */
const char *c_type(DType t, bool real_double);

#endif
