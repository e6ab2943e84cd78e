/* The generated trainer's API as text, written from its entry plan for
 * every backend alike: the header NAME.h (sizes, shapes, the entries'
 * prototypes, the tensor table's type), the rows of the tensor table, and
 * NAME_main.c, which hands the model to the runtime's octo_main(). */
#ifndef OCTO_TARGETS_API_WRITER_H
#define OCTO_TARGETS_API_WRITER_H

#include <stdbool.h>
#include <stdio.h>

#include "backend.h"

bool api_write_header(FILE *out, const ProgramPlan *plan, const EmitOptions *o);
/* The rows of the tensor table, in offset order: numbers for the generated
 * NAME_tensors[], OctoDType/OctoTensorKind names (octo_names) for main. */
void api_write_tensor_rows(FILE *out, const ProgramPlan *plan, bool octo_names,
                           bool real_double);
/* NAME_main.c; false, with a message, for a model the runtime cannot train
 * (inputs or targets of rank above 4, an autoencoder whose output is not
 * the input's size, a --emit-real=double build) or on an output error. */
bool api_write_main(FILE *out, const ProgramPlan *plan, const EmitOptions *o);
/* NAME_HASH: the program's hash, tagged for a double build. */
uint64_t api_hash(const ProgramPlan *plan, bool real_double);
/* A planned size or offset as printed: doubled in a double build. */
long long api_bytes(int64_t v, bool real_double);

#endif
