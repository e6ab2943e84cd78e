/* The LLVM backend's code generator: a planned loop-IR program
 * (targets/entry_plan.h) as an LLVM module, through the LLVM C API only.
 * It exports what the C backend's NAME.c exports (the entries, the tensor
 * table), with the same ABI, so the header and the standalone main that
 * targets/api_writer.c writes from the plan fit either object.
 *
 * Kernels become internal functions with a noalias pointer per buffer
 * (aligned as the memory plan guarantees), the entries call them; loop
 * hints become llvm.loop metadata. The rule of docs/loops.md holds: every
 * float operation is emitted as written, without contract flags or
 * llvm.fmuladd, so the module computes the C backend's bits. Each loop-IR
 * operation is mapped as the C backend prints it (docs/llvm-backend.md). */
#ifndef OCTO_TARGETS_LLVM_CODEGEN_H
#define OCTO_TARGETS_LLVM_CODEGEN_H

#include <stdbool.h>
#include <stdio.h>

#include <llvm-c/Core.h>

#include "backend.h"
#include "llvm_vector_variants.h"

typedef struct LlvmCodegenOptions {
  /* The C ABI extends 32-bit integer arguments and results to the register
   * width (RISC-V 64): the exported entries say so with signext. */
  bool sign_extend_i32;
  VectorIsa isa; /* what dot2_i16's vector variants may use */
  /* kernels of the same code (kernel_twins.h) become one function: from
   * -O1, as LLVM's mergefunc would */
  bool merge_twins;
  FILE *errors; /* where refusals go; NULL: stderr */
} LlvmCodegenOptions;

/* Fills mod (its data layout and triple already set: the tensor table's
 * size_t is the target's pointer width) with the plan's kernels, entries
 * and tensor table. False, after "octoc: error: LLVM backend: ..." lines,
 * for a program the backend refuses (raw exp/log/cos/pow in f32, a double
 * build) or an unknown operation (an internal error naming it). */
bool llvm_codegen(const ProgramPlan *plan, LLVMModuleRef mod, const LlvmCodegenOptions *o);

#endif
