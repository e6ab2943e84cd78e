/* Kernels that are the same code: resnet20's repeated blocks lower to
 * kernels that differ only in the buffers they are handed (323 kernels,
 * 97 different ones). The LLVM backend builds each once (llvm_codegen.c)
 * instead of building all and letting LLVM's mergefunc find the copies,
 * which on resnet20 was a tenth of octoc's single-threaded time. */
#ifndef OCTO_TARGETS_KERNEL_TWINS_H
#define OCTO_TARGETS_KERNEL_TWINS_H

#include <stdbool.h>

#include "entry_plan.h"

/* Whether a backend would also give kernel plans a and b the same function
 * (e.g. the same parameter attributes): the structure is kernel_twins'. */
typedef bool (*KernelCompatible)(const void *ctx, const KernelPlan *a, const KernelPlan *b);

/* twin[i] for each kernel plan i of plan: the first plan j <= i whose body
 * is i's with the buffers and scalars matched by parameter position (the
 * same statements, expressions, types, constants, hints, and variables
 * bound in the same places), with the same parameter types and reads and
 * writes, and for which compatible(ctx, j, i) holds; i itself when there
 * is none. */
void kernel_twins(const ProgramPlan *plan, KernelCompatible compatible, const void *ctx,
                  int *twin);

#endif
