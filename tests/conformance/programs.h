/* Hand-built loop-IR programs for the conformance suite (the lowering passes
 * are not needed): a softmax-regression trainer, an integer-operations
 * program covering every operator at every integer type, and a float program
 * covering float operators, intrinsics, casts, constants, if/else and hints.
 * All are named "t" so one generic driver (driver.c) runs each of them. */
#ifndef OCTO_TESTS_CONFORMANCE_PROGRAMS_H
#define OCTO_TESTS_CONFORMANCE_PROGRAMS_H

#include "loop.h"

/* Softmax regression: x f32[SM_BATCH, SM_D], SM_C classes, SGD with SM_LR. */
enum { SM_BATCH = 8, SM_D = 4, SM_C = 3 };
#define SM_LR 0.5f
#define SM_INIT_SCALE 0.2f
LProgram *prog_softmax(Arena *a);

/* Integer ops: state tensors a_T, b_T (T = i8 i16 i32 i64 u8) of IO_N
 * elements; train_step writes o_T[i * IO_NOPS + op] = op(a_T[i], b_T[i]) for
 * the ops in io_ops, and c_T[i * 6 + s] = (T)src_s[i] for the casts from
 * a_i8 a_i16 a_i32 a_i64 a_u8 fa (fa: f32 inputs). */
enum { IO_N = 8 };
typedef enum {
  IO_ADD, IO_SUB, IO_MUL, IO_DIV, IO_REM, IO_MIN, IO_MAX, IO_SHL, IO_SHR, IO_AND, IO_OR,
  IO_XOR, IO_LT, IO_LE, IO_GT, IO_GE, IO_EQ, IO_NE, IO_LAND, IO_LOR, IO_NEG, IO_NOT, IO_ABS,
  IO_SELECT,
  IO_SUMHALF, /* (a + b) / 2: wraps the sum first at narrow types */
  IO_SHLSHR,  /* (a << 3) >> 3: sign-extends from bit width-4 */
  IO_NOPS
} IntOp;
LProgram *prog_intops(Arena *a);

/* Float ops: state fa, fb (fb > 0) of IO_N elements; train_step writes
 * fo[i * FO_NOPS + op]; fi[i] = 1 or -1 by if/else on fa[i] > 0; and
 * consts[] = the FC_ constants below; hu[i] = hash_uniform(seed-like key
 * 12345, i). */
typedef enum {
  FO_ADD, FO_SUB, FO_MUL, FO_DIV, FO_REM, FO_MIN, FO_MAX, FO_NEG, FO_ABS, FO_EXP, FO_LOG,
  FO_SQRT, FO_FLOOR, FO_COS, FO_ROUND, FO_POW, FO_LT, FO_GE, FO_NE, FO_SELECT, FO_FROM_I32,
  FO_NOPS
} FloatOp;
enum { FC_N = 9 };
extern const float fc_values[FC_N];
LProgram *prog_floatops(Arena *a);

/* Assigns 64-byte aligned offsets to every state and work buffer in order
 * and sets state_bytes/work_bytes (the memory planner's job elsewhere). */
void plan_offsets(LProgram *p);

#endif
