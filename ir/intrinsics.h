/* The loop IR's intrinsics, one table row each: the text name, the operands
 * and the types they may have, the rule that gives the result type, and the
 * operands that stand for a group of 4 consecutive elements. The reader, the
 * printer, the verifier and the model hash read this table and nothing else;
 * only a backend maps each intrinsic to code (docs/loops.md lists their
 * meaning, docs/c-backend.md the C).
 *
 * Adding an intrinsic is one enum value, one row in intrinsics.c, one line
 * of docs and one case in each backend. The enum numbers go into the model
 * hash (lprog_hash): append, never renumber. */
#ifndef OCTO_IR_INTRINSICS_H
#define OCTO_IR_INTRINSICS_H

#include <stdbool.h>
#include <stddef.h>

#include "types.h"

typedef enum {
  LI_ROUND_EVEN,   /* round_even(x f32) -> f32: round half to even */
  LI_HASH_UNIFORM, /* hash_uniform(key i64, index i64) -> f32 in [0,1) */
  LI_POW,          /* pow(a f32, b f32) -> f32 */
  LI_SAT_CAST,     /* sat_cast<T>(x int|f32) -> T: saturating conversion */
  LI_SHR_ROUND,    /* shr_round(x i32|i64, s same) -> x's type: x / 2^s, ties to even */
  LI_CLAMP,        /* clamp(x, lo, hi) -> x's type */
  LI_DOT4_I8,      /* dot4_i8(acc i32, a i8x4, b i8x4) -> i32 */
  LI_DOT4_U8I8,    /* dot4_u8i8(acc i32, a u8x4, b i8x4) -> i32 */
  LI_HASH_BITS,    /* hash_bits(key i64, index i64) -> u32 */
  LI_F32_BITS,     /* f32_bits(x f32) -> i32: the same 32 bits */
  LI_BITS_F32,     /* bits_f32(x i32) -> f32: the same 32 bits */
  LI_DOT2_I16,     /* dot2_i16(acc i32, a i16x2, b i16x2) -> i32 */
  LI_COUNT
} LIntrinsic;

/* Sets of dtypes as bit masks, for the operand and result rules. */
enum {
  TS_F32 = 1u << DT_F32,
  TS_I8 = 1u << DT_I8,
  TS_I16 = 1u << DT_I16,
  TS_I32 = 1u << DT_I32,
  TS_I64 = 1u << DT_I64,
  TS_U8 = 1u << DT_U8,
  TS_U16 = 1u << DT_U16,
  TS_U32 = 1u << DT_U32,
  TS_INT = TS_I8 | TS_I16 | TS_I32 | TS_I64 | TS_U8 | TS_U16 | TS_U32,
  TS_ANY = TS_INT | TS_F32,
};

enum { LINTRINSIC_MAX_ARGS = 3 }; /* operands a, b, c of an LExpr */

typedef struct LOperand {
  const char *name; /* for messages and docs: "acc", "index" */
  unsigned types;   /* allowed dtypes (TS_ set), when same_as < 0 */
  int same_as;      /* >= 0: must have that operand's type */
  /* > 1: a load from a buffer of this dtype that stands for the `group`
   * elements from its index on (dot4: 4, dot2: 2). The verifier checks
   * index + group - 1 too. 0: an ordinary operand. */
  int group;
} LOperand;

typedef enum {
  LRES_FIXED,   /* always result_type */
  LRES_OPERAND, /* the type of operand result_operand */
  LRES_WRITTEN, /* written in the text, NAME<T>(...); one of result_types */
} LResultRule;

typedef struct LIntrinsicInfo {
  const char *name;
  int nargs;
  LOperand arg[LINTRINSIC_MAX_ARGS];
  LResultRule result;
  DType result_type;     /* LRES_FIXED */
  int result_operand;    /* LRES_OPERAND */
  unsigned result_types; /* LRES_WRITTEN */
} LIntrinsicInfo;

/* The row of fn; NULL when fn is not an intrinsic. */
const LIntrinsicInfo *lintrinsic_info(LIntrinsic fn);
/* The intrinsic named s ("round_even"); false when there is none. */
bool lintrinsic_find(const char *s, LIntrinsic *out);
/* The result type of fn on operands of these types (nargs of them, any
 * value where an operand is missing); `written` is used by LRES_WRITTEN
 * only. DT_COUNT when the rule cannot tell (a missing operand). */
DType lintrinsic_result(LIntrinsic fn, const DType *args, DType written);
/* The types operand k of fn may have, given the operands' types: its own
 * set, or the bit of the operand it must match. */
unsigned lintrinsic_allowed(LIntrinsic fn, int k, const DType *args);
/* "i32 or i64", "f32": a type set for messages. */
const char *dtype_set_str(unsigned set, char *buf, size_t size);

#endif
