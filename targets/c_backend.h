/* The C backend: prints a loop-IR program (ir/loop.h) as a C99 trainer, a
 * NAME.c + NAME.h pair with the API of DESIGN.md §6, and optionally a
 * NAME_main.c that hands the model to the runtime's octo_main().
 *
 * It knows loops, scalar expressions and the entry contract; it knows no op.
 * docs/c-backend.md describes the emitted code and its memory contract. */
#ifndef OCTO_TARGETS_C_BACKEND_H
#define OCTO_TARGETS_C_BACKEND_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "loop.h"

typedef struct CEmitOptions {
  const char *header_name; /* "lenet5.h", used in the .c's #include; NULL: NAME.h */
  bool with_main;          /* c_emit_main() is to be called too (informative) */
  int epochs_default;      /* for the standalone trainer's OctoModel */
  uint64_t seed_default;
  /* The recipe's input normalisation, printed as NAME_INPUT_MEAN/_STD and
   * the trainer's --normalize default. std <= 0: not given, 0 and 1. */
  double input_mean, input_std;
  FILE *errors;            /* where c_emit reports why it refuses; NULL: stderr */
  /* Print every f32 as double (types, constants, math functions, the API's
   * x and loss) and double every byte offset and size: the same program
   * computed wider, a reference for gradient checks. c_emit_main refuses. */
  bool real_double;
} CEmitOptions;

/* Prints the program's .c to c_out and its .h to h_out. The symbol prefix is
 * the program name made a C identifier (lenet5_init, LENET5_BATCH). Returns
 * false, with a message, for a program the backend cannot print (a kernel
 * writing state in predict, init using the work arena, an unplanned buffer,
 * an ARG buffer that is not x/y/pred, a label or pred that is neither a
 * classifier's, i32 [batch], nor a regression model's, f32 [batch, ...],
 * ...), or on an output error. A program whose pred is f32 is a regression
 * model: float y, and predict writes the prediction (docs/c-backend.md). */
bool c_emit(const LProgram *p, const CEmitOptions *o, FILE *c_out, FILE *h_out);

/* Prints NAME_main.c: a main() that fills the runtime's OctoModel and calls
 * octo_main(). It includes the header named in o->header_name and
 * octo_runtime.h; link it with the runtime library. */
bool c_emit_main(const LProgram *p, const CEmitOptions *o, FILE *out);

/* FNV-1a 64 over a canonical serialisation of the program: buffers (name,
 * dtype, shape, home, role, offset, flags), variables (dtype, kind), kernels
 * (statements and expressions), entries and sizes. Cosmetics (kernel and
 * variable names, origins, source locations) do not count, so re-wording a
 * comment in model.net keeps checkpoints valid. */
uint64_t lprog_hash(const LProgram *p);

/* The program name made a C identifier: [A-Za-z0-9_], not starting with a
 * digit. Lower-case is kept as written. Allocated in p->arena. */
const char *c_prefix(const LProgram *p);

#endif
