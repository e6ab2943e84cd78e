/* The intrinsic table (see intrinsics.h) and the type rules read from it. */
#include "intrinsics.h"

#include <stdio.h>
#include <string.h>

static const LIntrinsicInfo table[LI_COUNT] = {
    [LI_ROUND_EVEN] = {"round_even", 1, {{"x", TS_F32, -1, 0}}, LRES_FIXED, DT_F32, 0, 0},
    [LI_HASH_UNIFORM] = {"hash_uniform", 2,
                         {{"key", TS_I64, -1, 0}, {"index", TS_I64, -1, 0}},
                         LRES_FIXED, DT_F32, 0, 0},
    [LI_POW] = {"pow", 2, {{"a", TS_F32, -1, 0}, {"b", TS_F32, -1, 0}}, LRES_FIXED,
                DT_F32, 0, 0},
    [LI_SAT_CAST] = {"sat_cast", 1, {{"x", TS_ANY, -1, 0}}, LRES_WRITTEN, DT_COUNT, 0,
                     TS_INT},
    [LI_SHR_ROUND] = {"shr_round", 2, {{"x", TS_I32 | TS_I64, -1, 0}, {"shift", 0, 0, 0}},
                      LRES_OPERAND, DT_COUNT, 0, 0},
    [LI_CLAMP] = {"clamp", 3,
                  {{"x", TS_ANY, -1, 0}, {"lo", 0, 0, 0}, {"hi", 0, 0, 0}},
                  LRES_OPERAND, DT_COUNT, 0, 0},
    [LI_DOT4_I8] = {"dot4_i8", 3,
                    {{"acc", TS_I32, -1, 0}, {"a", TS_I8, -1, 4}, {"b", TS_I8, -1, 4}},
                    LRES_FIXED, DT_I32, 0, 0},
    [LI_DOT4_U8I8] = {"dot4_u8i8", 3,
                      {{"acc", TS_I32, -1, 0}, {"a", TS_U8, -1, 4}, {"b", TS_I8, -1, 4}},
                      LRES_FIXED, DT_I32, 0, 0},
    [LI_HASH_BITS] = {"hash_bits", 2,
                      {{"key", TS_I64, -1, 0}, {"index", TS_I64, -1, 0}}, LRES_FIXED,
                      DT_U32, 0, 0},
    [LI_F32_BITS] = {"f32_bits", 1, {{"x", TS_F32, -1, 0}}, LRES_FIXED, DT_I32, 0, 0},
    [LI_BITS_F32] = {"bits_f32", 1, {{"x", TS_I32, -1, 0}}, LRES_FIXED, DT_F32, 0, 0},
    [LI_DOT2_I16] = {"dot2_i16", 3,
                     {{"acc", TS_I32, -1, 0}, {"a", TS_I16, -1, 2}, {"b", TS_I16, -1, 2}},
                     LRES_FIXED, DT_I32, 0, 0},
};

const LIntrinsicInfo *lintrinsic_info(LIntrinsic fn) {
  return (unsigned)fn < LI_COUNT ? &table[fn] : NULL;
}

bool lintrinsic_find(const char *s, LIntrinsic *out) {
  for (int i = 0; i < LI_COUNT; i++)
    if (strcmp(table[i].name, s) == 0) {
      *out = (LIntrinsic)i;
      return true;
    }
  return false;
}

static bool valid(DType t) { return (unsigned)t < DT_COUNT; }

DType lintrinsic_result(LIntrinsic fn, const DType *args, DType written) {
  const LIntrinsicInfo *in = lintrinsic_info(fn);
  if (!in) return DT_COUNT;
  switch (in->result) {
  case LRES_FIXED: return in->result_type;
  case LRES_OPERAND: return valid(args[in->result_operand]) ? args[in->result_operand] : DT_COUNT;
  case LRES_WRITTEN: return written;
  }
  return DT_COUNT;
}

unsigned lintrinsic_allowed(LIntrinsic fn, int k, const DType *args) {
  const LIntrinsicInfo *in = lintrinsic_info(fn);
  if (!in || k < 0 || k >= in->nargs) return 0;
  const LOperand *o = &in->arg[k];
  if (o->same_as < 0) return o->types;
  DType t = args[o->same_as];
  return valid(t) ? 1u << t : 0;
}

const char *dtype_set_str(unsigned set, char *buf, size_t size) {
  int n = 0, total = 0;
  for (int t = 0; t < DT_COUNT; t++) total += (set >> t) & 1;
  size_t len = 0;
  if (size) buf[0] = 0;
  for (int t = 0; t < DT_COUNT && len < size; t++) {
    if (!((set >> t) & 1)) continue;
    const char *sep = n == 0 ? "" : n == total - 1 ? " or " : ", ";
    int k = snprintf(buf + len, size - len, "%s%s", sep, dtype_name((DType)t));
    if (k < 0) break;
    len += (size_t)k;
    n++;
  }
  return buf;
}
