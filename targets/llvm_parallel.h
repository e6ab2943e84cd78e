/* The LLVM backend's optimisation and code generation on two threads: a
 * module's kernels are split over two modules, each in its own LLVM
 * context, optimised at the same time, then either linked back into the
 * one module, which is emitted once, or each emitted as an object and the
 * objects joined (docs/llvm-backend.md, "Third pass", "Fourth pass"). The
 * result depends only on the module, never on which thread finishes
 * first. */
#ifndef OCTO_TARGETS_LLVM_PARALLEL_H
#define OCTO_TARGETS_LLVM_PARALLEL_H

#include <stdbool.h>
#include <stdio.h>

#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>

/* Optimises one module at -O opt_level for tm; false after an error on
 * err. */
typedef bool (*LlvmOptimise)(LLVMModuleRef mod, LLVMTargetMachineRef tm, int opt_level,
                             FILE *err);

/* Which functions of mod may move to the second module: definitions with
 * internal linkage and the noinline attribute (llvm_codegen.c's kernels)
 * that are not optnone, are only called directly by the exported entries,
 * and are never passed a constant pointer (a CONST buffer's global:
 * interprocedural constant propagation gives such a kernel the global's
 * address, which only works beside its caller). The integer constants a
 * kernel shared by twins takes (kernel_twins.h) differ between its calls,
 * so no propagation takes them in. */
bool llvm_parallel_movable(LLVMValueRef fn);

/* Optimises mod with optimise: the movable functions (above), balanced by
 * instruction count, in part on a second thread with tm_b in a context of
 * its own (whose LLVM diagnostics go to on_diag with diag_b), the rest
 * and the entries on this thread with tm_a; then the second part is linked
 * into mod and its functions become internal again. With nothing worth
 * moving, or one processor, optimise(mod, tm_a, opt_level) alone. False
 * after an error on err. */
bool llvm_parallel_optimise(LLVMModuleRef mod, int opt_level, LLVMTargetMachineRef tm_a,
                            LLVMTargetMachineRef tm_b, LlvmOptimise optimise,
                            LLVMDiagnosticHandler on_diag, void *diag_b, FILE *err);

/* Emits mod for tm as an object into *bytes (malloc'd, *len bytes); false
 * after an error on err. */
typedef bool (*LlvmEmitObject)(LLVMModuleRef mod, LLVMTargetMachineRef tm, char **bytes,
                               size_t *len, FILE *err);

/* llvm_parallel_optimise, and code generation on two threads as well: each
 * part, once optimised, is emitted as an object by emit on its thread,
 * and the two objects are joined into one (elf_merge.h) in *obj (malloc'd,
 * *obj_len bytes; the kernels that moved are local symbols again). Then
 * mod holds only the first part and must not be emitted. *obj is NULL
 * when the module was optimised whole or the parts were linked back (one
 * processor, nothing to move, objects elf_merge cannot join): then mod is
 * whole, for the caller to emit (when the objects were refused, its parts
 * have been through code generation once already, which leaves valid IR).
 * False after an error on err. */
bool llvm_parallel_compile(LLVMModuleRef mod, int opt_level, LLVMTargetMachineRef tm_a,
                           LLVMTargetMachineRef tm_b, LlvmOptimise optimise, LlvmEmitObject emit,
                           LLVMDiagnosticHandler on_diag, void *diag_b, FILE *err, char **obj,
                           size_t *obj_len);

#endif
