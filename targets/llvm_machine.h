/* The LLVM backend's driver: a target machine from the target table (the
 * triple, CPU, features and float ABI of a TargetConfig), the module from
 * llvm_codegen.c, verified, optimised with the new pass manager
 * (default<O0..O3>) and emitted as an object, assembly, textual IR or
 * bitcode. Without -target the CPU is the host's with all its features;
 * -mcpu=generic is LLVM's portable CPU. targets/llvm_none.c stands in
 * when octoc is built without LLVM. */
#ifndef OCTO_TARGETS_LLVM_MACHINE_H
#define OCTO_TARGETS_LLVM_MACHINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "backend.h"
#include "target.h"

typedef enum { LLVM_OUT_OBJ, LLVM_OUT_ASM, LLVM_OUT_IR, LLVM_OUT_BC } LlvmOutputKind;

/* Whether this octoc has the LLVM backend. */
bool llvm_built_in(void);

/* Checks that LLVM knows the configuration's CPU and every -mattr
 * feature. False, after an error on err that lists the known ones. */
bool llvm_check_target(const TargetConfig *tc, FILE *err);
/* Whether the backend turns the loop IR's dot4_i8 into the target's 4 x
 * int8 dot-product instruction (Arm sdot with dotprod; x86 VNNI's
 * vpdpbusd, unsigned x signed, with a correction): then the int8
 * products are worth lowering in int8 quads (Module.dot4_i8). */
bool llvm_maps_dot4_i8(const TargetConfig *tc);
/* Whether dot4_u8i8 (unsigned x signed quads) is one instruction: x86's
 * vpdpbusd. Then the int8 products take one operand moved into unsigned
 * range and correct the sums once, at the end (Module.dot4_u8i8). */
bool llvm_maps_dot4_u8i8(const TargetConfig *tc);

/* Compiles the plan for tc at -O opt_level (0..3) into *bytes (malloc'd,
 * *len bytes): nothing is written anywhere, so a failure leaves no file.
 * False after an error on err. */
bool llvm_compile(const ProgramPlan *plan, const TargetConfig *tc, int opt_level,
                  LlvmOutputKind kind, char **bytes, size_t *len, FILE *err);

#endif
