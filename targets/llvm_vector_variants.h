/* Intrinsics the LLVM backend emits as calls to a small scalar function
 * with vector variants (LLVM's vector function ABI, "VFABI"): the loop
 * vectoriser replaces the call in a vectorised loop by the variant of its
 * width, whose body is the target's instruction (x86 pmaddwd for dot2_i16,
 * Arm sdot for dot4_i8) where LLVM's instruction selection would not find
 * it in plain IR. After
 * the optimisation pipeline, llvm_vector_variants_release lets the inliner
 * put the bodies in place (docs/llvm-backend.md, "int8 dot products"). */
#ifndef OCTO_TARGETS_LLVM_VECTOR_VARIANTS_H
#define OCTO_TARGETS_LLVM_VECTOR_VARIANTS_H

#include <stdbool.h>

#include <llvm-c/Core.h>

/* What the target offers the variants' bodies. */
typedef struct VectorIsa {
  /* x86: the variants are SSE2's 128-bit pmaddwd (every x86-64 has it),
   * concatenated, which LLVM's instruction selection joins into the
   * widest pmaddwd the CPU has (a ymm one with AVX2). Elsewhere they are
   * plain vector IR. */
  bool x86;
  /* The intrinsic of Arm's sdot (4 x int8 dot products into 4 int32
   * lanes: "llvm.aarch64.neon.sdot", or "llvm.arm.neon.sdot" on 32-bit
   * Arm) when the target has dotprod: dot4_i8's variants call it once
   * per 4 lanes. NULL: plain vector IR. */
  const char *sdot;
  /* x86's vpdpbusd (AVX-VNNI, or AVX512-VNNI with AVX512VL): dot4_i8's
   * variants call it on 128- and 256-bit pieces, with one operand moved
   * into unsigned range and the difference taken off (vpdpbusd is
   * unsigned x signed). vnni_emulated: the same steps with vpdpbusd
   * written as plain IR, for testing the rest on a CPU without VNNI
   * (OCTO_EMULATE_VNNI, docs/llvm-backend.md). */
  bool vnni, vnni_emulated;
  /* AVX512-VNNI: vpdpbusd on 512-bit pieces too (16 lanes). */
  bool vnni512;
} VectorIsa;

/* i32 octo.dot2_i16(i32 acc, i32 a, i32 b): acc + a.lo * b.lo + a.hi *
 * b.hi, the halves signed 16-bit, wrapping at 32 bits; declared with its
 * variants on the first call for the module. *type gets its function
 * type. */
LLVMValueRef llvm_dot2_function(LLVMModuleRef mod, const VectorIsa *isa, LLVMTypeRef *type);
/* i32 octo.dot4_i8(i32 acc, i32 a, i32 b): acc plus the four products of
 * a's and b's bytes (signed 8-bit), wrapping at 32 bits; likewise. */
LLVMValueRef llvm_dot4_function(LLVMModuleRef mod, const VectorIsa *isa, LLVMTypeRef *type);

/* i32 octo.dot4_u8i8(i32 acc, i32 a, i32 b): acc plus the four products
 * of a's bytes (unsigned) and b's (signed), wrapping at 32 bits: with
 * VNNI, one vpdpbusd per piece and nothing else; likewise. */
LLVMValueRef llvm_dot4_u8i8_function(LLVMModuleRef mod, const VectorIsa *isa, LLVMTypeRef *type);

/* After vectorisation: whether the module has such functions; if so, they
 * become always-inline and the variants lose the llvm.compiler.used entry
 * that kept them until the vectoriser ran, so that an "always-inline,
 * globaldce" pipeline puts the bodies in place and drops the rest. */
bool llvm_vector_variants_release(LLVMModuleRef mod);

#endif
