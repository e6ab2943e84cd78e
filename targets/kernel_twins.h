/* Kernels that are the same code: resnet20's repeated blocks lower to
 * kernels that differ only in the buffers they are handed (323 kernels,
 * 97 different ones). The LLVM backend builds each once (llvm_codegen.c)
 * instead of building all and letting LLVM's mergefunc find the copies,
 * which on resnet20 was a tenth of octoc's single-threaded time. */
#ifndef OCTO_TARGETS_KERNEL_TWINS_H
#define OCTO_TARGETS_KERNEL_TWINS_H

#include <stdbool.h>
#include <stdint.h>

#include "entry_plan.h"

/* Whether a backend would also give kernel plans a and b the same function
 * (e.g. the same parameter attributes): the structure is kernel_twins'. */
typedef bool (*KernelCompatible)(const void *ctx, const KernelPlan *a, const KernelPlan *b);

/* Twins may also differ in the integer constants of their outer code
 * (outside every vectorised loop and every innermost loop: the bounds of
 * outer loops, the offsets computed there), which then become arguments
 * of the one function: batch-norm over 16 or 32 channels of a 14 x 14
 * plane is one function with the channel count as an argument. Constants
 * the vectoriser or an unroller would use stay constants and must match.
 * KernelConsts says, per kernel plan, which constants of its group's
 * function are arguments and what this kernel passes. */
enum { TWIN_CONSTS_MAX = 8 };
typedef struct KernelConsts {
  int n;                                 /* arguments of the group's function */
  const LExpr *slot[TWIN_CONSTS_MAX];    /* the group's first plan: its constants made arguments */
  int64_t value[TWIN_CONSTS_MAX];        /* this plan's value of each */
} KernelConsts;

/* twin[i] for each kernel plan i of plan: the first plan j <= i whose body
 * is i's with the buffers and scalars matched by parameter position (the
 * same statements, expressions, types, constants but the outer integer
 * ones above, hints, and variables bound in the same places), with the same
 * parameter types and reads and writes, at most TWIN_CONSTS_MAX outer
 * constants in which the group differs, and for which compatible(ctx, j,
 * i) holds; i itself when there is none. consts[i] as above (n = 0 for a
 * kernel whose group's plans all have the same constants). */
void kernel_twins(const ProgramPlan *plan, KernelCompatible compatible, const void *ctx,
                  int *twin, KernelConsts *consts);

#endif
