/* The test programs of programs_int.h, written as loop-IR text. */
#include "programs_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loop_printer.h"
#include "loop_reader.h"
#include "loop_verify.h"
#include "memplan.h"

const DType sat_targets[SAT_NT] = {DT_I8, DT_U8, DT_I16, DT_U16, DT_I32, DT_U32, DT_I64};

const int8_t tab_values[5] = {-128, -1, 0, 1, 127};
const uint32_t big_values[3] = {0, 2147483648u, 4294967295u};
const int64_t ext_values[2] = {INT64_MIN, INT64_MAX};
const float special_values[4] = {NAN, -INFINITY, -0.0f, 1e-45f};

LProgram *prog_from_text(Arena *a, Diag *d, const char *text) {
  LProgram *p = lprog_read(a, d, "t.loops", text, strlen(text));
  if (!p || !lprog_verify(p, d) || !memplan_run(p, d, NULL)) return NULL;
  /* driver.c allocates the blocks with aligned_alloc, whose size must be a
   * multiple of the alignment (ASan checks it): round the blocks up. */
  p->state_bytes = (p->state_bytes + MEMPLAN_ALIGN - 1) / MEMPLAN_ALIGN * MEMPLAN_ALIGN;
  p->work_bytes = (p->work_bytes + MEMPLAN_ALIGN - 1) / MEMPLAN_ALIGN * MEMPLAN_ALIGN;
  return p;
}

/* Text built with printf-style appends. */
typedef struct Text {
  char *s;
  size_t len;
  FILE *f;
} Text;

static void text_open(Text *t) {
  t->s = NULL;
  t->len = 0;
  t->f = open_memstream(&t->s, &t->len);
  if (!t->f) abort();
}

static void put(Text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(Text *t, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfprintf(t->f, fmt, ap);
  va_end(ap);
}

/* Closes the text and reads the program from it. */
static LProgram *text_program(Text *t, Arena *a, Diag *d) {
  if (fclose(t->f) != 0) abort();
  LProgram *p = prog_from_text(a, d, t->s);
  free(t->s);
  return p;
}

/* The entry arguments driver.c passes (one sample, nothing read) and a
 * zero loss. */
static void header(Text *t) {
  put(t, "program t (batch 1) {\n  arg %%n : i32\n  arg %%seed : i64\n"
         "  buffer %%x : f32[1,1] arg readonly\n  buffer %%y : i32[1] arg readonly\n"
         "  buffer %%loss : f32[] work\n");
}

static void facts_and_loss_kernel(Text *t) {
  put(t, "  loss %%loss\n  input %%x\n  label %%y\n  num_classes 2\n"
         "  kernel zero_loss {\n    store %%loss[0] = 0.0\n  }\n");
}

/* ---- intrinsics ---- */

static const char *const sat_sources[SAT_NS] = {
    "load %si32[%i]", "load %si64[%i]", "load %sf[%i]", "u32(load %si64[%i])",
    "i16(load %si32[%i])"};

static void sat_kernel(Text *t) {
  put(t, "  kernel sat {\n    for %%i in 0 .. %d {\n", SAT_N);
  for (int s = 0; s < SAT_NS; s++)
    for (int k = 0; k < SAT_NT; k++) {
      put(t, "      store %%sat[%%i + %d] = i64(sat_cast<%s>(", (s * SAT_NT + k) * SAT_N,
          dtype_name(sat_targets[k]));
      put(t, "%s))\n", sat_sources[s]);
    }
  put(t, "    }\n  }\n");
}

static void clamp_kernel(Text *t) {
  put(t, "  kernel clampk {\n    for %%i in 0 .. %d {\n", CL_N);
  for (int k = 0; k < SAT_NT; k++) {
    const char *T = dtype_name(sat_targets[k]);
    put(t, "      store %%cl[%%i + %d] = i64(clamp(%s(load %%cx[%%i]), %s(load %%clo[%%i]), "
           "%s(load %%chi[%%i])))\n", k * CL_N, T, T, T);
  }
  put(t, "      store %%clf[%%i] = clamp(load %%fx[%%i], load %%flo[%%i], load %%fhi[%%i])\n"
         "    }\n  }\n");
}

LProgram *prog_intrinsics(Arena *a, Diag *d) {
  Text t;
  text_open(&t);
  header(&t);
  put(&t, "  buffer %%si32 : i32[%d] state param\n  buffer %%si64 : i64[%d] state param\n"
          "  buffer %%sf : f32[%d] state param\n  buffer %%sat : i64[%d] state stats\n",
      SAT_N, SAT_N, SAT_N, SAT_N * SAT_NT * SAT_NS);
  put(&t, "  buffer %%x32 : i32[%d] state param\n  buffer %%s32 : i32[%d] state param\n"
          "  buffer %%x64 : i64[%d] state param\n  buffer %%s64 : i64[%d] state param\n"
          "  buffer %%r32 : i32[%d] state stats\n  buffer %%r64 : i64[%d] state stats\n",
      SHR_NX, SHR_NS, SHR_NX, SHR_NS, SHR_NX * SHR_NS, SHR_NX * SHR_NS);
  put(&t, "  buffer %%cx : i64[%d] state param\n  buffer %%clo : i64[%d] state param\n"
          "  buffer %%chi : i64[%d] state param\n  buffer %%cl : i64[%d] state stats\n"
          "  buffer %%fx : f32[%d] state param\n  buffer %%flo : f32[%d] state param\n"
          "  buffer %%fhi : f32[%d] state param\n  buffer %%clf : f32[%d] state stats\n",
      CL_N, CL_N, CL_N, CL_N * SAT_NT, CL_N, CL_N, CL_N, CL_N);
  put(&t, "  buffer %%a8 : i8[%d] state param\n  buffer %%b8 : i8[%d] state param\n"
          "  buffer %%au8 : u8[%d] state param\n  buffer %%acc : i32[%d] state param\n"
          "  buffer %%d8 : i32[%d] state stats\n  buffer %%du8 : i32[%d] state stats\n"
          "  buffer %%d8s : i32[%d] state stats\n",
      4 * DOT_G, 4 * DOT_G, 4 * DOT_G, DOT_G, DOT_G, DOT_G, DOT_G - 1);
  put(&t, "  buffer %%a16 : i16[%d] state param\n  buffer %%b16 : i16[%d] state param\n"
          "  buffer %%acc2 : i32[%d] state param\n  buffer %%d16 : i32[%d] state stats\n"
          "  buffer %%d16v : i32[%d] state stats\n",
      2 * DOT2_N, 2 * DOT2_N, DOT2_N, DOT2_N, DOT2_N);
  put(&t, "  buffer %%keys : i64[%d] state param\n  buffer %%hb : i64[%d] state stats\n"
          "  buffer %%hu : f32[%d] state stats\n",
      HASH_NK, HASH_NK * HASH_NI, HASH_NK * HASH_NI);
  facts_and_loss_kernel(&t);
  sat_kernel(&t);
  put(&t, "  kernel shr {\n    for %%i in 0 .. %d {\n      for %%j in 0 .. %d {\n"
          "        store %%r32[%%i * %d + %%j] = shr_round(load %%x32[%%i], load %%s32[%%j])\n"
          "        store %%r64[%%i * %d + %%j] = shr_round(load %%x64[%%i], load %%s64[%%j])\n"
          "      }\n    }\n  }\n",
      SHR_NX, SHR_NS, SHR_NS, SHR_NS);
  clamp_kernel(&t);
  put(&t, "  kernel dot {\n    for %%g in 0 .. %d {\n"
          "      store %%d8[%%g] = dot4_i8(load %%acc[%%g], load %%a8[%%g * 4], load %%b8[%%g * 4])\n"
          "      store %%du8[%%g] = dot4_u8i8(load %%acc[%%g], load %%au8[%%g * 4], "
          "load %%b8[%%g * 4])\n    }\n"
          "    for %%h in 0 .. %d {\n"
          "      store %%d8s[%%h] = dot4_i8(load %%acc[%%h], load %%a8[%%h * 4 + 1], "
          "load %%b8[%%h * 4])\n    }\n"
          "    for %%j in 0 .. %d {\n"
          "      store %%d16[%%j] = dot2_i16(load %%acc2[%%j], load %%a16[%%j * 2], load %%b16[%%j * 2])\n"
          "    }\n"
          "    for %%v in 0 .. %d vectorize {\n"
          "      store %%d16v[%%v] = dot2_i16(load %%acc2[%%v], load %%a16[0], load %%b16[%%v * 2])\n"
          "    }\n  }\n",
      DOT_G, DOT_G - 1, DOT2_N, DOT2_N);
  put(&t, "  kernel hash {\n    for %%k in 0 .. %d {\n      for %%i in 0 .. %d vectorize {\n"
          "        let %%index : i64 = i64(%%i) * 1000003i64 - 5i64\n"
          "        store %%hb[%%k * %d + %%i] = i64(hash_bits(load %%keys[%%k], %%index))\n"
          "        store %%hu[%%k * %d + %%i] = hash_uniform(load %%keys[%%k], %%index)\n"
          "      }\n    }\n  }\n",
      HASH_NK, HASH_NI, HASH_NI, HASH_NI);
  put(&t, "  entry train_step { zero_loss, sat, shr, clampk, dot, hash }\n}\n");
  return text_program(&t, a, d);
}

/* ---- u16, u32 and constant buffers ---- */

/* op(a, b) at type T (u16 or u32); shift counts are b & (bits - 1). */
static void uops(Text *t, const char *T, int bits, const char *out) {
  static const char *const forms[UOP_COUNT] = {
      [UOP_ADD] = "%a + %b",     [UOP_SUB] = "%a - %b",       [UOP_MUL] = "%a * %b",
      [UOP_DIV] = "%a / %b",     [UOP_REM] = "%a % %b",       [UOP_MIN] = "min(%a, %b)",
      [UOP_MAX] = "max(%a, %b)", [UOP_SHL] = "%a << (%b & ",  [UOP_SHR] = "%a >> (%b & ",
      [UOP_AND] = "%a & %b",     [UOP_OR] = "%a | %b",        [UOP_XOR] = "%a ^ %b",
      [UOP_LT] = "%a < %b",      [UOP_GE] = "%a >= %b",       [UOP_EQ] = "%a == %b",
      [UOP_NE] = "%a != %b",     [UOP_NEG] = "-%a",           [UOP_ABS] = "abs(%a)",
      [UOP_SELECT] = "select(%a < %b, %b, %a)",               [UOP_TO_F32] = "i64(f32(%a))",
      [UOP_TO_I32] = "i32(%a)",  [UOP_HALF] = "(%a + %b) / 2",
  };
  for (int op = 0; op < UOP_COUNT; op++) {
    put(t, "      store %%%s[%%i * %d + %d] = i64(%s", out, UOP_COUNT, op, forms[op]);
    if (op == UOP_SHL || op == UOP_SHR) put(t, "%d%s)", bits - 1, T);
    if (op == UOP_HALF) put(t, "%s", T);
    put(t, ")\n");
  }
}

static void const_f32(Text *t, const char *name, int n, const float *v) {
  put(t, "  buffer %%%s : f32[%d] const = [", name, n);
  for (int i = 0; i < n; i++) {
    char buf[32];
    put(t, "%s%s", i ? ", " : "", lfloat_str(v[i], buf, sizeof buf));
  }
  put(t, "]\n");
}

LProgram *prog_uints_consts(Arena *a, Diag *d) {
  Text t;
  text_open(&t);
  header(&t);
  put(&t, "  buffer %%ua : i64[%d] state param\n  buffer %%ub : i64[%d] state param\n"
          "  buffer %%va : i64[%d] state param\n  buffer %%vb : i64[%d] state param\n"
          "  buffer %%o16 : i64[%d] state stats\n  buffer %%o32 : i64[%d] state stats\n",
      UOPS_N, UOPS_N, UOPS_N, UOPS_N, UOPS_N * UOP_COUNT, UOPS_N * UOP_COUNT);
  float lut[LUT_N];
  for (int k = 0; k < LUT_N; k++) lut[k] = ((float)k / 255.0f - 0.5f) / 0.5f;
  const_f32(&t, "lut", LUT_N, lut);
  put(&t, "  buffer %%tab : i8[5] const = [%d, %d, %d, %d, %d]\n", tab_values[0], tab_values[1],
      tab_values[2], tab_values[3], tab_values[4]);
  put(&t, "  buffer %%big : u32[3] const = [%u, %u, %u]\n", big_values[0], big_values[1],
      big_values[2]);
  put(&t, "  buffer %%ext : i64[2] const = [%lld, %lld]\n", (long long)ext_values[0],
      (long long)ext_values[1]);
  const_f32(&t, "special", 4, special_values);
  put(&t, "  buffer %%unused : f32[2] const = [1.0, 2.0]\n"
          "  buffer %%uncalled : i32[1] const = [3]\n"
          "  buffer %%px : i32[%d] state param\n  buffer %%lo : f32[%d] state stats\n"
          "  buffer %%co : i64[10] state stats\n  buffer %%sp : f32[4] state stats\n",
      PX_N, PX_N);
  facts_and_loss_kernel(&t);
  put(&t, "  kernel u16ops {\n    for %%i in 0 .. %d {\n"
          "      let %%a : u16 = u16(load %%ua[%%i])\n      let %%b : u16 = u16(load %%ub[%%i])\n",
      UOPS_N);
  uops(&t, "u16", 16, "o16");
  put(&t, "    }\n  }\n  kernel u32ops {\n    for %%i in 0 .. %d {\n"
          "      let %%a : u32 = u32(load %%va[%%i])\n      let %%b : u32 = u32(load %%vb[%%i])\n",
      UOPS_N);
  uops(&t, "u32", 32, "o32");
  put(&t, "    }\n  }\n");
  put(&t, "  kernel lookup {\n"
          "    for %%i in 0 .. %d {\n      store %%lo[%%i] = load %%lut[load %%px[%%i]]\n    }\n"
          "    for %%j in 0 .. 5 {\n      store %%co[%%j] = i64(load %%tab[%%j])\n    }\n"
          "    for %%k in 0 .. 3 {\n      store %%co[5 + %%k] = i64(load %%big[%%k])\n    }\n"
          "    for %%m in 0 .. 2 {\n      store %%co[8 + %%m] = load %%ext[%%m]\n    }\n"
          "    for %%s in 0 .. 4 {\n      store %%sp[%%s] = load %%special[%%s]\n    }\n  }\n",
      PX_N);
  put(&t, "  kernel never_called {\n    store %%co[0] = i64(load %%uncalled[0])\n  }\n");
  put(&t, "  entry train_step { zero_loss, u16ops, u32ops, lookup }\n}\n");
  return text_program(&t, a, d);
}

/* ---- a*b+c ---- */

LProgram *prog_fma(Arena *a, Diag *d) {
  Text t;
  text_open(&t);
  header(&t);
  put(&t, "  buffer %%fa : f32[%d] state param\n  buffer %%fb : f32[%d] state param\n"
          "  buffer %%fc : f32[%d] state param\n  buffer %%o : f32[%d] state stats\n"
          "  buffer %%dot : f32[1] state stats\n",
      FMA_N, FMA_N, FMA_N, FMA_N * FMA_OPS);
  facts_and_loss_kernel(&t);
  put(&t, "  kernel fma {\n    for %%i in 0 .. %d vectorize {\n"
          "      store %%o[%%i] = load %%fa[%%i] * load %%fb[%%i] + load %%fc[%%i]\n"
          "      store %%o[%%i + %d] = load %%fc[%%i] + load %%fa[%%i] * load %%fb[%%i]\n"
          "      store %%o[%%i + %d] = load %%fa[%%i] * load %%fb[%%i] - load %%fc[%%i]\n"
          "      store %%o[%%i + %d] = load %%fc[%%i] - load %%fa[%%i] * load %%fb[%%i]\n"
          "      let %%p : f32 = load %%fa[%%i] * load %%fb[%%i]\n"
          "      store %%o[%%i + %d] = %%p + load %%fc[%%i]\n    }\n"
          "    let %%acc : f32 = 0.0\n    for %%j in 0 .. %d {\n"
          "      %%acc = %%acc + load %%fa[%%j] * load %%fb[%%j]\n    }\n"
          "    store %%dot[0] = %%acc\n  }\n",
      FMA_N, FMA_N, 2 * FMA_N, 3 * FMA_N, 4 * FMA_N, FMA_N);
  put(&t, "  entry train_step { zero_loss, fma }\n}\n");
  return text_program(&t, a, d);
}
