/* A backend prints the code of one planned program (targets/entry_plan.h):
 * the kernels and the entry functions, in its language. It is a struct of
 * functions, as QBE's targets are; the table of targets (target.h) names the
 * backend of each. Everything else a generated trainer has (its header,
 * tensor table, standalone main) comes from the plan through
 * targets/api_writer.c, the same for every backend. */
#ifndef OCTO_TARGETS_BACKEND_H
#define OCTO_TARGETS_BACKEND_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "entry_plan.h"

/* What every emitter of a trainer takes. */
typedef struct EmitOptions {
  const char *header_name; /* "lenet5.h", as the code includes it; NULL: NAME.h */
  bool with_main;          /* a standalone main is written too (informative) */
  int epochs_default;      /* for the standalone trainer's OctoModel */
  uint64_t seed_default;
  /* The recipe's input normalisation, printed as NAME_INPUT_MEAN/_STD (a
   * u8-input model computes it itself). std <= 0: not given, 0 and 1. */
  double input_mean, input_std;
  FILE *errors;            /* where refusals are reported; NULL: stderr */
  /* C backend only: print every f32 as double (types, constants, math
   * functions, the API's x and loss) and double every byte offset and size:
   * the same program computed wider, a reference for gradient checks. The
   * standalone main refuses it. */
  bool real_double;
} EmitOptions;

typedef struct Backend {
  const char *name;        /* "c" */
  const char *code_suffix; /* the file emit_code writes: ".c" */
  /* Writes the plan's kernels and entries. False, after a message on
   * o->errors, for a program it cannot print or on an output error. */
  bool (*emit_code)(const ProgramPlan *plan, const EmitOptions *o, FILE *out);
} Backend;

extern const Backend c_backend; /* targets/c_backend.c */

#endif
