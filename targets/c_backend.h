/* The C backend (targets/backend.h: c_backend) prints a planned loop-IR
 * program's kernels and entries as C99. c_emit and c_emit_main are the
 * whole trainer in one call (plan, code, header; standalone main), for the
 * driver and the tests: a NAME.c + NAME.h pair with the API of DESIGN.md
 * §6, and optionally a NAME_main.c that hands the model to the runtime's
 * octo_main().
 *
 * It knows loops, scalar expressions and the entry contract; it knows no op.
 * docs/c-backend.md describes the emitted code and its memory contract. */
#ifndef OCTO_TARGETS_C_BACKEND_H
#define OCTO_TARGETS_C_BACKEND_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "backend.h"
#include "loop.h"
#include "lprog_hash.h"

/* Prints the program's .c to c_out and its .h to h_out. The symbol prefix is
 * the program name made a C identifier (lenet5_init, LENET5_BATCH). Returns
 * false, with a message, for a program the backend cannot print (a kernel
 * writing state in predict, init using the work arena, an unplanned buffer,
 * an ARG buffer that is not x/y/pred, a label or pred that is neither a
 * classifier's, i32 [batch], nor a regression model's, f32 [batch, ...],
 * ...), or on an output error. A program whose pred is f32 is a regression
 * model: float y, and predict writes the prediction (docs/c-backend.md). */
bool c_emit(const LProgram *p, const EmitOptions *o, FILE *c_out, FILE *h_out);

/* Prints NAME_main.c: a main() that fills the runtime's OctoModel and calls
 * octo_main(). It includes the header named in o->header_name and
 * octo_runtime.h; link it with the runtime library. */
bool c_emit_main(const LProgram *p, const EmitOptions *o, FILE *out);


/* The program name made a C identifier: [A-Za-z0-9_], not starting with a
 * digit. Lower-case is kept as written. Allocated in p->arena. */
const char *c_prefix(const LProgram *p);

#endif
