/* The loop IR's textual form, printing side. The text parses back with
 * lprog_read (ir/loop_reader.h): print -> read -> print is byte-identical.
 * The grammar and the meaning of every construct are in docs/loops.md. */
#ifndef OCTO_IR_LOOP_PRINTER_H
#define OCTO_IR_LOOP_PRINTER_H

#include <stdio.h>

#include "loop.h"

/* The whole program: header, args, buffers, program facts, kernels, entries. */
void lprog_print(FILE *out, const LProgram *p);

/* One kernel, unindented (as a standalone dump or a backend comment). */
void lkernel_print(FILE *out, const LProgram *p, const LKernel *k);

/* One expression with minimal parentheses; variables print under their own
 * names (lprog_print renames colliding declarations, this does not). */
void lexpr_print(FILE *out, const LExpr *e);

/* An f32 constant as the shortest decimal that reads back (strtof) to the
 * same float, always recognisable as a float: "0.1", "1.0", "-0.0",
 * "3.4028235e+38", "123456792.0", "inf", "-inf", "nan". Give it 24 bytes. */
const char *lfloat_str(float v, char *buf, size_t size);

#endif
