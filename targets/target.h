/* The target table (DESIGN.md §8): every target octoc knows, by short name
 * or triple, and the configuration of one compilation's target (the row
 * with the user's -mcpu and -mattr applied), which the pipeline carries in
 * its Module so that lowering can shape loops for the target and a pass can
 * refuse what the target cannot do. Nothing outside targets/ knows a
 * target's details beyond these fields. */
#ifndef OCTO_TARGETS_TARGET_H
#define OCTO_TARGETS_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef enum { ARCH_X86_64, ARCH_ARM, ARCH_AARCH64, ARCH_RISCV64, ARCH_RISCV32 } TargetArch;

struct Backend;

typedef struct Target {
  const char *name;     /* -target name */
  const char *triple;   /* LLVM triple */
  TargetArch arch;
  const char *cpu;      /* default -mcpu */
  const char *features; /* default -mattr: comma-separated +name / -name */
  bool hosted;          /* Linux userland: can link and run under qemu-user */
  const char *cross_cc; /* Debian cross compiler for hosted targets, or NULL */
  const char *qemu;     /* qemu-user binary, or NULL when native/bare metal */
  const char *notes;
  const struct Backend *backend; /* prints the code (targets/backend.h) */
} Target;

const Target *target_default(void);
/* 32-bit pointers (armv7, Cortex-M, riscv32): no buffer, state block or
 * work arena of more than INT32_MAX bytes can exist there. */
static inline bool target_is_32bit(const Target *t) {
  return t->arch == ARCH_ARM || t->arch == ARCH_RISCV32;
}
/* By short name ("armv7") or by triple ("armv7-linux-gnueabihf"); NULL if unknown. */
const Target *target_lookup(const char *name);
/* t is the machine octoc runs on (x86_64 on an x86-64 host). */
bool target_is_host(const Target *t);
void target_list(FILE *out);

/* One compilation's target: what the code may use. */
typedef struct TargetConfig {
  const Target *target;
  const char *cpu;      /* -mcpu, else the row's; "native": the host's own */
  const char *mattr;    /* -mattr, applied after the row's features; NULL if none */
  int vector_bits;      /* widest SIMD register: 0 (none), 128, 256, 512 */
  bool has_fpu;         /* hardware floating point (else soft-float or integer-only) */
  bool has_dot_i8;      /* a 4 x int8 dot-product instruction (VNNI vpdpbusd, Arm sdot) */
  /* x86's vpdpbusd comes in two encodings: AVX-VNNI's (VEX) and
   * AVX512-VNNI's (EVEX), which takes 128- and 256-bit registers only with
   * AVX512VL. has_dot_i8 on x86 is vex, or evex with vl. */
  bool x86_vnni_vex, x86_vnni_evex, x86_avx512vl;
} TargetConfig;

/* Applies -mcpu and -mattr (either may be NULL) to target t. False, with a
 * one-line reason in err, for a malformed -mattr (items must be +name or
 * -name) or -mcpu=native on a target that is not this host's. Feature names
 * octoc does not know are kept: a backend checks them. */
bool target_configure(TargetConfig *out, const Target *t, const char *mcpu, const char *mattr,
                      char *err, size_t errlen);

/* Floats in one vector register that fp32 loops are vectorised into on c:
 * 16 with 512-bit vectors, 8, 4; 0 when they stay scalar (no vector unit,
 * armv7's non-IEEE NEON) or c is NULL. */
static inline int target_f32_lanes(const TargetConfig *c) {
  /* armv7's NEON flushes subnormals to zero: LLVM keeps IEEE float
   * arithmetic out of it without fast-math */
  if (!c || c->target->arch == ARCH_ARM) return 0;
  return c->vector_bits / 32;
}

#endif
