/* Loop-IR programs for the tests of the intrinsics, the u16/u32 types and
 * constant buffers (test_intrinsics.c), and of the determinism rules
 * (test_determinism.c). Each is loop-IR text, read back with lprog_read,
 * verified and planned by the memory planner, as a lowering's output would
 * be. All are named "t", for the generic driver.c; their inputs and
 * outputs are state tensors of the dtypes driver.c reads and writes (u16
 * and u32 values travel as i64 and are cast inside the kernels). */
#ifndef OCTO_TESTS_CBACKEND_PROGRAMS_INT_H
#define OCTO_TESTS_CBACKEND_PROGRAMS_INT_H

#include "loop.h"

/* sat_cast: inputs si32 i32[SAT_N], si64 i64[SAT_N], sf f32[SAT_N];
 * sat[(s * SAT_NT + t) * SAT_N + i] = i64(sat_cast<sat_targets[t]>(source
 * s at i)), sources 0 si32, 1 si64, 2 sf, 3 u32(si64), 4 i16(si32).
 *
 * shr_round: x32 i32[SHR_NX], s32 i32[SHR_NS] and x64, s64 (i64):
 * r32[i * SHR_NS + j] = shr_round(x32[i], s32[j]), r64 likewise.
 *
 * clamp: cx, clo, chi i64[CL_N]; cl[t * CL_N + i] = i64(clamp(T(cx[i]),
 * T(clo[i]), T(chi[i]))) for T = sat_targets[t]; fx, flo, fhi f32[CL_N]:
 * clf[i] = clamp(fx[i], flo[i], fhi[i]).
 *
 * dot4: a8, b8 i8[4 * DOT_G], au8 u8[4 * DOT_G], acc i32[DOT_G]:
 * d8[g] = dot4_i8(acc[g], a8[4g..], b8[4g..]), du8[g] = dot4_u8i8(acc[g],
 * au8[4g..], b8[4g..]); d8s[g] reads a8 from the odd index 4g + 1 (g <
 * DOT_G - 1).
 *
 * dot2: a16, b16 i16[2 * DOT2_N], acc2 i32[DOT2_N]: d16[j] =
 * dot2_i16(acc2[j], a16[2j..], b16[2j..]), and in a vectorised loop
 * d16v[j] = dot2_i16(acc2[j], a16[0..1], b16[2j..]) (one pair of a for
 * every lane, as the int8 GEMM's pair form has it).
 *
 * hash_bits: keys i64[HASH_NK]; for index k of HASH_NI:
 * hb[key * HASH_NI + k] = i64(hash_bits(key, k * 1000003 - 5)) and hu[...]
 * = hash_uniform of the same key and index. */
enum {
  SAT_N = 40, SAT_NT = 7, SAT_NS = 5,
  SHR_NX = 40, SHR_NS = 16,
  CL_N = 16,
  DOT_G = 8,
  DOT2_N = 40,
  HASH_NK = 4, HASH_NI = 256,
};
extern const DType sat_targets[SAT_NT];
LProgram *prog_intrinsics(Arena *a, Diag *d);

/* u16 and u32 arithmetic: ua, ub i64[UOPS_N] hold u16 values, va, vb
 * i64[UOPS_N] u32 values; o16[i * UOP_COUNT + op] = i64(op(u16(ua[i]),
 * u16(ub[i]))) and o32 likewise (shift counts are b & 15 and b & 31).
 *
 * Constant buffers: lut f32[256] (the 0..255 pixel normalisation table
 * (k / 255 - 0.5) / 0.5), tab i8[5], big u32[3], ext i64[2], special f32[4]
 * (nan, -inf, -0.0, 1e-45), and `unused` (no kernel reads it) and `uncalled`
 * (read only by a kernel no entry calls). px i32[8] state: lo[i] =
 * lut[px[i]], co[...] = every element of tab, big, ext as i64, sp = special. */
typedef enum {
  UOP_ADD, UOP_SUB, UOP_MUL, UOP_DIV, UOP_REM, UOP_MIN, UOP_MAX, UOP_SHL, UOP_SHR, UOP_AND,
  UOP_OR, UOP_XOR, UOP_LT, UOP_GE, UOP_EQ, UOP_NE, UOP_NEG, UOP_ABS, UOP_SELECT, UOP_TO_F32,
  UOP_TO_I32, UOP_HALF, UOP_COUNT
} UOp;
enum { UOPS_N = 12, LUT_N = 256, PX_N = 8 };
extern const int8_t tab_values[5];
extern const uint32_t big_values[3];
extern const int64_t ext_values[2];
extern const float special_values[4];
LProgram *prog_uints_consts(Arena *a, Diag *d);

/* a*b+c patterns (test_determinism.c): fa, fb, fc f32[FMA_N];
 * o[op * FMA_N + i] for FMA_OPS patterns: a*b+c, c+a*b, a*b-c, c-a*b,
 * t = a*b then t + c (across statements), and dot[0] = sum_i a_i*b_i in
 * index order. */
enum { FMA_N = 256, FMA_OPS = 5 };
LProgram *prog_fma(Arena *a, Diag *d);

/* Reads, verifies and memory-plans program text (block sizes rounded up
 * to MEMPLAN_ALIGN); NULL (messages in d) on an error. */
LProgram *prog_from_text(Arena *a, Diag *d, const char *text);

#endif
