/* The intrinsics, the u16/u32 types and constant buffers through the C
 * backend. The programs of programs_int.c are emitted, compiled with the
 * compiler named by INTR_CC under strict flags, run by driver.c and compared
 * with references computed here, exactly (bit for bit for floats), on edge
 * cases: type extremes, NaN and infinities, ties, shifts past the width,
 * wrapping accumulators.
 *
 * CK_RUN_CASE=text checks what needs no compiler: the programs verify,
 * round-trip through text with the same hash, the memory planner leaves
 * constant buffers alone, and the emitted C has the expected shape.
 * CK_RUN_CASE=runs compiles and runs; it exits 77 (skip) when INTR_CC is
 * not installed. With INTR_OCTOC (an octoc), the runs go through the LLVM
 * backend instead: the program as loop-IR text, `octoc t.loops
 * --backend=llvm -o t.o`, linked with the driver by cc. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "c_backend.h"
#include "cbkit.h"
#include "loop_printer.h"
#include "loop_reader.h"
#include "memplan.h"
#include "programs_int.h"

#define STRICT "-std=c99 -Wall -Wextra -Werror -pedantic -O2"

static const char *compiler(void) {
  const char *cc = getenv("INTR_CC");
  return cc && *cc ? cc : "cc";
}

/* The octoc whose LLVM backend builds the programs, or NULL (the C backend). */
static const char *llvm_octoc(void) {
  const char *o = getenv("INTR_OCTOC");
  return o && *o ? o : NULL;
}

/* p through octoc's LLVM backend: dir/t.loops to dir/t.o and dir/t.h,
 * linked with the driver as dir/NAME. */
static void llvm_build(const LProgram *p, const char *dir, const char *name) {
  char *lp = fmt("%s/t.loops", dir);
  FILE *f = fopen(lp, "w");
  ck_assert_ptr_nonnull(f);
  lprog_print(f, p);
  ck_assert_int_eq(fclose(f), 0);
  char *cmd = fmt("'%s' '%s' --backend=llvm -o '%s/t.o' && cc -std=c11 -O1 -I'%s' "
                  "'" CONFORMANCE_SRCDIR "/driver.c' '%s/t.o' -o '%s/%s' -lm",
                  llvm_octoc(), lp, dir, dir, dir, dir, name);
  ck_assert_msg(sh(cmd) == 0, "build failed: %s", cmd);
  free(cmd);
  free(lp);
}

/* A program of programs_int.c; fails the test with the messages. */
static LProgram *program(Arena *a, LProgram *(*make)(Arena *, Diag *)) {
  char *err = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&err, &len);
  ck_assert_ptr_nonnull(f);
  Diag *d = diag_new(f);
  LProgram *p = make(a, d);
  diag_free(d);
  ck_assert_int_eq(fclose(f), 0);
  ck_assert_msg(p != NULL, "%s", err);
  free(err);
  return p;
}

/* c_emit into strings: the source in *c, the refusals in *err. */
static bool emit(const LProgram *p, char **c, char **err) {
  char *h = NULL;
  size_t cl = 0, hl = 0, el = 0;
  FILE *cf = open_memstream(c, &cl), *hf = open_memstream(&h, &hl), *ef = open_memstream(err, &el);
  ck_assert(cf && hf && ef);
  EmitOptions o = {.header_name = "t.h", .errors = ef};
  bool ok = c_emit(p, &o, cf, hf);
  ck_assert_int_eq(fclose(cf) | fclose(hf) | fclose(ef), 0);
  free(h);
  return ok;
}

static char *emit_text(const LProgram *p) {
  char *c = NULL, *err = NULL;
  ck_assert_msg(emit(p, &c, &err), "%s", err);
  free(err);
  return c;
}

/* ---- inputs and references ---------------------------------------- */

static const int32_t sat_i32[SAT_N] = {
    INT32_MIN, INT32_MIN + 1, -2147483520, -70000, -65536, -32769, -32768, -32767, -256, -129,
    -128, -127, -2, -1, 0, 1, 2, 126, 127, 128,
    129, 254, 255, 256, 257, 32766, 32767, 32768, 65534, 65535,
    65536, 65537, 100000, 16777217, 1 << 30, INT32_MAX - 1, INT32_MAX, 7, -7, 1000};
static const int64_t sat_i64[SAT_N] = {
    INT64_MIN, INT64_MIN + 1, -(1LL << 53), -4294967297LL, -4294967296LL, -2147483649LL,
    -2147483648LL, -2147483647LL, -65537, -32769,
    -129, -128, -1, 0, 1, 127, 128, 255, 256, 32767,
    32768, 65535, 65536, 2147483647LL, 2147483648LL, 2147483649LL, 4294967294LL, 4294967295LL,
    4294967296LL, 4294967297LL,
    1LL << 53, 9007199254740993LL, INT64_MAX - 1, INT64_MAX, 3000000000LL, -3000000000LL, 42,
    -42, 1LL << 62, -(1LL << 62)};
static const float sat_f32[SAT_N] = {
    NAN, -NAN, INFINITY, -INFINITY, -0.0f, 0.0f, 0.25f, 0.5f, 0.75f, 0.999f,
    -0.5f, -0.999f, -1.0f, -1.5f, 1.5f, 126.9f, 127.0f, 127.5f, 128.0f, -128.5f,
    -128.0f, -129.0f, 254.9f, 255.0f, 255.99f, 256.0f, 32767.5f, 32768.0f, -32768.9f, 65535.5f,
    65536.0f, 2147483520.0f, 2147483648.0f, -2147483648.0f, -2147483904.0f, 4294967040.0f,
    4294967296.0f, 9223371487098961920.0f, 9223372036854775808.0f, -9223372036854775808.0f};

/* Saturation to t's range; from a float: NaN is 0, in range truncates. */
static int64_t sat_int(DType t, int64_t v) {
  int64_t lo, hi;
  ck_assert(dtype_int_range(t, &lo, &hi));
  return v < lo ? lo : v > hi ? hi : v;
}

static int64_t sat_float(DType t, float x) {
  int64_t lo, hi;
  ck_assert(dtype_int_range(t, &lo, &hi));
  if (isnan(x)) return 0;
  if (x <= (double)lo) return lo;
  if ((double)x >= (double)hi + 1.0) return hi; /* hi + 1 is a power of two */
  return (int64_t)truncf(x);
}

static int64_t sat_ref(int source, DType t, int i) {
  switch (source) {
  case 0: return sat_int(t, sat_i32[i]);
  case 1: return sat_int(t, sat_i64[i]);
  case 2: return sat_float(t, sat_f32[i]);
  case 3: return sat_int(t, (uint32_t)sat_i64[i]);
  default: return sat_int(t, (int16_t)sat_i32[i]);
  }
}

static const int32_t shr_x32[SHR_NX] = {
    INT32_MIN, INT32_MIN + 1, -1610612736, -1073741824, -1000001, -192, -64, -12, -11, -10,
    -9, -8, -7, -6, -5, -4, -3, -2, -1, 0,
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
    11, 12, 24, 64, 192, 1000001, 1073741824, 1610612736, INT32_MAX - 1, INT32_MAX};
static const int32_t shr_s32[SHR_NS] = {-1, 0, 1, 2, 3, 4, 5, 7, 8, 15, 16, 30, 31, 32, 33, 100};
static const int64_t shr_x64[SHR_NX] = {
    INT64_MIN, INT64_MIN + 1, INT64_MAX, INT64_MAX - 1, -(3LL << 61), 3LL << 61, 1LL << 62,
    -(1LL << 62), (1LL << 32) + (1LL << 31), -((1LL << 32) + (1LL << 31)),
    5 * (1LL << 32) + (1LL << 31), -(5 * (1LL << 32) + (1LL << 31)), (1LL << 33) + (1LL << 31),
    -((1LL << 33) + (1LL << 31)), 4294967295LL, -4294967296LL, 1234567890123LL,
    -1234567890123LL, 0, 1,
    -1, 2, -2, 3, -3, 4, -4, 5, -5, 6,
    -6, 7, -7, 8, -8, 12, -12, 1LL << 40, (1LL << 40) + 1, -(1LL << 40) - 1};
static const int64_t shr_s64[SHR_NS] = {-5, 0, 1, 2, 3, 4, 7, 8, 31, 32, 33, 61, 62, 63, 64, 200};

/* x / 2^s rounded to nearest, ties to even, in long double (exact here:
 * a 64-bit significand holds every int64, and 2^-s only moves the
 * exponent); s <= 0 is x. */
static int64_t shr_ref(int64_t x, int64_t s) {
  if (s <= 0) return x;
  return (int64_t)rintl(ldexpl((long double)x, -(int)s));
}

static const int64_t cl_x[CL_N] = {5,  -5,        15,        0,         -128,        200,
                                   70000, -70000, INT32_MIN, INT32_MAX, INT64_MIN,   INT64_MAX,
                                   3000000000LL, 5, 50, 65535};
static const int64_t cl_lo[CL_N] = {0, 0, 0, 0, -127, 0, -100, -100, -5, -5, -1, -1, 0, 10, 10, 1};
static const int64_t cl_hi[CL_N] = {10, 10, 10, 0, 127, 100, 100, 100, 5, 5, 1, 1,
                                    4000000000LL, 0, 0, 65534};
static const float cl_fx[CL_N] = {0.5f, -1, 2, NAN, 0.5f, 2, 0.5f, -INFINITY,
                                  INFINITY, -0.0f, 0.0f, 1e-45f, 5, 50, 3, -2.5f};
static const float cl_flo[CL_N] = {0, 0, 0, 0, NAN, NAN, 0, -1, -1, 0.0f, -0.0f, 0, 10, 10, 3, -2.5f};
static const float cl_fhi[CL_N] = {1, 1, 1, 1, 1, 1, NAN, 1, 1, 1, 1, 1e-45f, 0, 0, 3, -1};

/* v converted to t as C converts (wrapping), then widened back. */
static int64_t wrap(DType t, int64_t v) {
  switch (t) {
  case DT_I8: return (int8_t)v;
  case DT_I16: return (int16_t)v;
  case DT_I32: return (int32_t)v;
  case DT_U8: return (uint8_t)v;
  case DT_U16: return (uint16_t)v;
  case DT_U32: return (uint32_t)v;
  default: return v;
  }
}

/* The documented clamp: x < lo ? lo : x > hi ? hi : x. */
static int64_t clamp_ref(int64_t x, int64_t lo, int64_t hi) { return x < lo ? lo : x > hi ? hi : x; }
static float clampf_ref(float x, float lo, float hi) { return x < lo ? lo : x > hi ? hi : x; }

static int8_t dot_a8[4 * DOT_G], dot_b8[4 * DOT_G];
static uint8_t dot_au8[4 * DOT_G];
static int32_t dot_acc[DOT_G];

static uint64_t splitmix(int64_t key, int64_t index) {
  uint64_t z = (uint64_t)key ^ ((uint64_t)index * UINT64_C(0x9E3779B97F4A7C15));
  z += UINT64_C(0x9E3779B97F4A7C15);
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

/* Extremes first (every product at its largest, accumulators that wrap),
 * then pseudo-random groups. */
static void dot_inputs(void) {
  for (int k = 0; k < 4 * DOT_G; k++) {
    uint64_t z = splitmix(77, k);
    dot_a8[k] = (int8_t)(uint8_t)z;
    dot_b8[k] = (int8_t)(uint8_t)(z >> 8);
    dot_au8[k] = (uint8_t)(z >> 16);
  }
  for (int k = 0; k < 4; k++) {
    dot_a8[k] = dot_b8[k] = -128;
    dot_au8[k] = 255;
    dot_a8[4 + k] = 127;
    dot_b8[4 + k] = -128;
    dot_au8[4 + k] = 255;
    dot_a8[8 + k] = (int8_t)(k + 1);
    dot_b8[8 + k] = (int8_t)(k + 5);
  }
  int32_t acc[DOT_G] = {0, INT32_MIN + 100, INT32_MAX, -7, 123456, -123456, INT32_MIN, INT32_MAX - 1};
  memcpy(dot_acc, acc, sizeof acc);
}

static int16_t dot2_a[2 * DOT2_N], dot2_b[2 * DOT2_N];
static int32_t dot2_acc[DOT2_N];

/* The extremes (both pairs -32768 * -32768: the sum 2^31 wraps, as x86's
 * pmaddwd does), then pseudo-random pairs and accumulators. */
static void dot2_inputs(void) {
  for (int k = 0; k < 2 * DOT2_N; k++) {
    uint64_t z = splitmix(91, k);
    dot2_a[k] = (int16_t)(uint16_t)z;
    dot2_b[k] = (int16_t)(uint16_t)(z >> 16);
    if (k < DOT2_N) dot2_acc[k] = (int32_t)(uint32_t)(z >> 32);
  }
  dot2_a[0] = dot2_a[1] = dot2_b[0] = dot2_b[1] = INT16_MIN;
  dot2_a[2] = dot2_b[3] = INT16_MIN;
  dot2_a[3] = dot2_b[2] = INT16_MAX;
  dot2_acc[0] = 0;
  dot2_acc[1] = INT32_MAX;
}

static int32_t dot2_ref(int32_t acc, const int16_t *a, const int16_t *b) {
  int64_t s = (int64_t)a[0] * b[0] + (int64_t)a[1] * b[1];
  return (int32_t)(uint32_t)((uint64_t)(int64_t)acc + (uint64_t)s); /* wraps at 32 bits */
}

static int32_t dot_ref(int32_t acc, const int8_t *a, const uint8_t *au, const int8_t *b) {
  int64_t s = 0;
  for (int k = 0; k < 4; k++) s += (int64_t)(a ? a[k] : au[k]) * b[k];
  return (int32_t)(uint32_t)((uint64_t)(int64_t)acc + (uint64_t)s); /* wraps at 32 bits */
}

static const int64_t hash_keys[HASH_NK] = {0, -1, INT64_MIN, 0x123456789abcdefLL};

/* ---- the text case -------------------------------------------------- */

START_TEST(programs_verify_plan_and_round_trip_with_the_same_hash) {
  Arena *a = arena_new();
  LProgram *(*makers[])(Arena *, Diag *) = {prog_intrinsics, prog_uints_consts, prog_fma};
  for (size_t i = 0; i < sizeof makers / sizeof *makers; i++) {
    LProgram *p = program(a, makers[i]);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(f);
    lprog_print(f, p);
    ck_assert_int_eq(fclose(f), 0);
    Diag *d = diag_new(stderr);
    LProgram *back = lprog_read(a, d, "back.loops", text, len);
    diag_free(d);
    ck_assert_msg(back != NULL, "program %zu does not read back", i);
    ck_assert_uint_eq(lprog_hash(back), lprog_hash(p));
    free(text);
  }
  arena_free(a);
}
END_TEST

/* Constant buffers are data of the program: never planned, no bytes of the
 * state block or the work arena; their values are part of the hash. */
START_TEST(memory_planner_ignores_constant_buffers_and_hash_sees_their_values) {
  Arena *a = arena_new();
  LProgram *p = program(a, prog_uints_consts);
  int64_t end = 0;
  for (int i = 0; i < p->nbuffers; i++) {
    const LBuffer *b = p->buffers[i];
    if (b->home == LBUF_CONST) ck_assert_int_eq(b->offset, -1);
    if (b->home == LBUF_STATE && b->offset + memplan_buffer_bytes(b) > end)
      end = b->offset + memplan_buffer_bytes(b);
  }
  /* No byte for the constant buffers (the block is rounded up to 64). */
  ck_assert_int_eq(p->state_bytes, (end + 63) / 64 * 64);
  char err[256];
  ck_assert_msg(memplan_check(p, err, sizeof err), "%s", err);
  char *report = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&report, &len);
  ck_assert_ptr_nonnull(f);
  memplan_print(f, p, NULL);
  ck_assert_int_eq(fclose(f), 0);
  ck_assert_msg(strstr(report, "%lut") == NULL, "%s", report);
  free(report);
  uint64_t h = lprog_hash(p);
  LBuffer *lut = lprog_find_buffer(p, "lut");
  lconst_set_f32(lut, 17, nextafterf(lconst_f32(lut, 17), 0.0f));
  ck_assert_uint_ne(lprog_hash(p), h);
  LProgram *q = program(a, prog_uints_consts);
  ck_assert_uint_eq(lprog_hash(q), h);
  lconst_set_int(lprog_find_buffer(q, "big"), 2, 4294967294);
  ck_assert_uint_ne(lprog_hash(q), h);
  arena_free(a);
}
END_TEST

START_TEST(emitted_c_has_const_arrays_helpers_and_the_determinism_pragmas) {
  Arena *a = arena_new();
  char *c = emit_text(program(a, prog_uints_consts));
  const char *want[] = {
      "#pragma STDC FP_CONTRACT OFF\n", "#pragma GCC optimize(\"fp-contract=off\")\n",
      "#include <math.h>\n", /* the NaN constant */
      "/* constant buffer lut */\nstatic const float t_const_lut[256] = {\n  (-1.0f), ",
      "static const uint32_t t_const_big[3] = {\n  0u, 2147483648u, 4294967295u,\n};\n",
      "static const int64_t t_const_ext[2] = {\n  (-INT64_C(9223372036854775807) - 1), "
      "INT64_C(9223372036854775807),\n};\n",
      "static const float t_const_special[4] = {\n  NAN, (-INFINITY), (-0.0f), 1.40129846e-45f,\n};",
      "const float *restrict lut", "t_const_lut, t_const_tab, t_const_big, t_const_ext",
      "((uint16_t)((uint32_t)a * b))", "static inline uint32_t octo_min_u32(", "4294967295u",
      "uint32_t a = ((uint32_t)va[i]);"};
  for (size_t i = 0; i < sizeof want / sizeof *want; i++)
    ck_assert_msg(strstr(c, want[i]) != NULL, "no '%s' in:\n%s", want[i], c);
  ck_assert_msg(strstr(c, "unused") == NULL && strstr(c, "uncalled") == NULL,
                "unread constant buffers are printed:\n%s", c);
  free(c);
  c = emit_text(program(a, prog_intrinsics));
  const char *want2[] = {
      "octo_dot4_i8(acc[g], &a8[g * 4], &b8[g * 4])", "octo_dot4_u8i8(acc[g], &au8[g * 4]",
      "octo_dot2_i16(acc2[v], &a16[0], &b16[v * 2])",
      "static inline int8_t octo_sat_i8_i32(int32_t x) {\n  return x < (-128) ? (-128) : "
      "x > 127 ? 127 : (int8_t)x;\n}\n",
      "static inline uint32_t octo_sat_u32_i32(int32_t x) {\n  return x < 0 ? 0u : (uint32_t)x;\n}\n",
      "static inline int64_t octo_sat_i64_f32(float x) {\n  return x != x ? 0 : x <= "
      "-9223372036854775808.0f ? (-INT64_C(9223372036854775807) - 1) : x >= "
      "9223372036854775808.0f ? INT64_C(9223372036854775807) : (int64_t)x;\n}\n",
      "((int32_t)((int16_t)si32[i]))", /* sat_cast<i32> of an i16: a plain cast */
      "octo_sat_u16_i64(((uint32_t)si64[i]))", "octo_shr_round_i64(x64[i], s64[j])",
      "((int8_t)octo_clamp_i32(((int8_t)cx[i]), ", "octo_clamp_u32(", "octo_clamp_f32(",
      "octo_hash_bits(keys[k], index)"};
  for (size_t i = 0; i < sizeof want2 / sizeof *want2; i++)
    ck_assert_msg(strstr(c, want2[i]) != NULL, "no '%s' in:\n%s", want2[i], c);
  free(c);
  arena_free(a);
}
END_TEST

/* The backend's own checks, for programs that skipped the verifier. */
START_TEST(emit_refuses_stores_to_constant_buffers) {
  Arena *a = arena_new();
  LProgram *p = program(a, prog_uints_consts);
  LBuffer *lut = lprog_find_buffer(p, "lut");
  LKernel *k = lprog_kernel(p, "bad", NULL, (SrcLoc){0});
  k->body = ls_store(p, lut, le_int(p, DT_I32, 0), le_f32(p, 1.0f));
  lprog_call(p, LENTRY_TRAIN_STEP, k);
  char *err = NULL, *c = NULL;
  ck_assert(!emit(p, &c, &err));
  ck_assert_msg(strstr(err, "kernel 'bad': writes the constant buffer %lut") != NULL, "%s", err);
  free(err), free(c);
  arena_free(a);
}
END_TEST

/* ---- the runs case -------------------------------------------------- */

static char *set_ints(char *s, const char *name, const int64_t *v, int n) {
  s = append(s, "set %s", name);
  for (int i = 0; i < n; i++) s = append(s, " %lld", (long long)v[i]);
  return append(s, "\n");
}

static char *set_floats(char *s, const char *name, const float *v, int n) {
  s = append(s, "set %s", name);
  for (int i = 0; i < n; i++) s = append(s, " %.9g", (double)v[i]);
  return append(s, "\n");
}

/* Emits, builds and runs one program on a script of `set`s, one step and
 * the `get`s; returns the driver's output. */
static char *run_program(Arena *a, LProgram *p, const char *name, char *sets, const char *gets) {
  /* One directory per compiler: the cases run in parallel. */
  char *tag = fmt("%s_%s", name, llvm_octoc() ? "llvm" : compiler());
  for (char *c = tag; *c; c++)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9'))) *c = '_';
  tag[48 < strlen(tag) ? 48 : strlen(tag)] = 0;
  const char *dir = fresh_dir(a, "cbtmp", tag);
  free(tag);
  if (llvm_octoc()) {
    llvm_build(p, dir, "run");
  } else {
    cb_emit(p, dir);
    cb_build(dir, compiler(), STRICT, NULL, NULL, "run");
  }
  char *script = append(fmt("init 0\n%s", sets), "step 1 0 0 0\n%s", gets);
  free(sets);
  char *out = cb_run(dir, "", "run", script);
  free(script);
  return out;
}

static bool same_float(float a, float b) {
  return isnan(a) ? isnan(b) : memcmp(&a, &b, sizeof a) == 0;
}

START_TEST(intrinsics_compute_their_documented_values_exactly) {
  Arena *a = arena_new();
  dot_inputs();
  int64_t v[HASH_NK * HASH_NI];
  char *s = NULL;
  for (int i = 0; i < SAT_N; i++) v[i] = sat_i32[i];
  s = set_ints(s, "si32", v, SAT_N);
  s = set_ints(s, "si64", sat_i64, SAT_N);
  s = set_floats(s, "sf", sat_f32, SAT_N);
  for (int i = 0; i < SHR_NX; i++) v[i] = shr_x32[i];
  s = set_ints(s, "x32", v, SHR_NX);
  for (int i = 0; i < SHR_NS; i++) v[i] = shr_s32[i];
  s = set_ints(s, "s32", v, SHR_NS);
  s = set_ints(s, "x64", shr_x64, SHR_NX);
  s = set_ints(s, "s64", shr_s64, SHR_NS);
  s = set_ints(s, "cx", cl_x, CL_N);
  s = set_ints(s, "clo", cl_lo, CL_N);
  s = set_ints(s, "chi", cl_hi, CL_N);
  s = set_floats(s, "fx", cl_fx, CL_N);
  s = set_floats(s, "flo", cl_flo, CL_N);
  s = set_floats(s, "fhi", cl_fhi, CL_N);
  for (int i = 0; i < 4 * DOT_G; i++) v[i] = dot_a8[i];
  s = set_ints(s, "a8", v, 4 * DOT_G);
  for (int i = 0; i < 4 * DOT_G; i++) v[i] = dot_b8[i];
  s = set_ints(s, "b8", v, 4 * DOT_G);
  for (int i = 0; i < 4 * DOT_G; i++) v[i] = dot_au8[i];
  s = set_ints(s, "au8", v, 4 * DOT_G);
  for (int i = 0; i < DOT_G; i++) v[i] = dot_acc[i];
  s = set_ints(s, "acc", v, DOT_G);
  dot2_inputs();
  for (int i = 0; i < 2 * DOT2_N; i++) v[i] = dot2_a[i];
  s = set_ints(s, "a16", v, 2 * DOT2_N);
  for (int i = 0; i < 2 * DOT2_N; i++) v[i] = dot2_b[i];
  s = set_ints(s, "b16", v, 2 * DOT2_N);
  for (int i = 0; i < DOT2_N; i++) v[i] = dot2_acc[i];
  s = set_ints(s, "acc2", v, DOT2_N);
  s = set_ints(s, "keys", hash_keys, HASH_NK);
  char *out = run_program(a, program(a, prog_intrinsics), "intrinsics", s,
                          "get sat\nget r32\nget r64\nget cl\nget clf\nget d8\nget du8\nget d8s\n"
                          "get d16\nget d16v\nget hb\nget hu\n");

  static int64_t got[SAT_N * SAT_NT * SAT_NS];
  ck_assert_int_eq(cb_ints(out, "sat", got, SAT_N * SAT_NT * SAT_NS), SAT_N * SAT_NT * SAT_NS);
  for (int src = 0; src < SAT_NS; src++)
    for (int t = 0; t < SAT_NT; t++)
      for (int i = 0; i < SAT_N; i++) {
        int64_t want = sat_ref(src, sat_targets[t], i), g = got[(src * SAT_NT + t) * SAT_N + i];
        ck_assert_msg(g == want, "sat_cast<%s> of source %d element %d: got %lld, want %lld",
                      dtype_name(sat_targets[t]), src, i, (long long)g, (long long)want);
      }

  ck_assert_int_eq(cb_ints(out, "r32", got, SHR_NX * SHR_NS), SHR_NX * SHR_NS);
  for (int i = 0; i < SHR_NX; i++)
    for (int j = 0; j < SHR_NS; j++)
      ck_assert_msg(got[i * SHR_NS + j] == shr_ref(shr_x32[i], shr_s32[j]),
                    "shr_round(%d, %d): got %lld, want %lld", shr_x32[i], shr_s32[j],
                    (long long)got[i * SHR_NS + j], (long long)shr_ref(shr_x32[i], shr_s32[j]));
  ck_assert_int_eq(cb_ints(out, "r64", got, SHR_NX * SHR_NS), SHR_NX * SHR_NS);
  for (int i = 0; i < SHR_NX; i++)
    for (int j = 0; j < SHR_NS; j++)
      ck_assert_msg(got[i * SHR_NS + j] == shr_ref(shr_x64[i], shr_s64[j]),
                    "shr_round(%lldi64, %lld): got %lld, want %lld", (long long)shr_x64[i],
                    (long long)shr_s64[j], (long long)got[i * SHR_NS + j],
                    (long long)shr_ref(shr_x64[i], shr_s64[j]));

  ck_assert_int_eq(cb_ints(out, "cl", got, CL_N * SAT_NT), CL_N * SAT_NT);
  for (int t = 0; t < SAT_NT; t++)
    for (int i = 0; i < CL_N; i++) {
      DType T = sat_targets[t];
      int64_t want = clamp_ref(wrap(T, cl_x[i]), wrap(T, cl_lo[i]), wrap(T, cl_hi[i]));
      ck_assert_msg(got[t * CL_N + i] == want, "clamp at %s, row %d: got %lld, want %lld",
                    dtype_name(T), i, (long long)got[t * CL_N + i], (long long)want);
    }
  float f[HASH_NK * HASH_NI];
  ck_assert_int_eq(cb_floats(out, "clf", f, CL_N), CL_N);
  for (int i = 0; i < CL_N; i++) {
    float want = clampf_ref(cl_fx[i], cl_flo[i], cl_fhi[i]);
    ck_assert_msg(same_float(f[i], want), "clamp f32 row %d: got %.9g, want %.9g", i,
                  (double)f[i], (double)want);
  }

  ck_assert_int_eq(cb_ints(out, "d8", got, DOT_G), DOT_G);
  for (int g = 0; g < DOT_G; g++)
    ck_assert_int_eq(got[g], dot_ref(dot_acc[g], dot_a8 + 4 * g, NULL, dot_b8 + 4 * g));
  ck_assert_int_eq(cb_ints(out, "du8", got, DOT_G), DOT_G);
  for (int g = 0; g < DOT_G; g++)
    ck_assert_int_eq(got[g], dot_ref(dot_acc[g], NULL, dot_au8 + 4 * g, dot_b8 + 4 * g));
  ck_assert_int_eq(cb_ints(out, "d8s", got, DOT_G - 1), DOT_G - 1);
  for (int g = 0; g < DOT_G - 1; g++)
    ck_assert_int_eq(got[g], dot_ref(dot_acc[g], dot_a8 + 4 * g + 1, NULL, dot_b8 + 4 * g));
  ck_assert_int_eq(cb_ints(out, "d16", got, DOT2_N), DOT2_N);
  for (int j = 0; j < DOT2_N; j++)
    ck_assert_int_eq(got[j], dot2_ref(dot2_acc[j], dot2_a + 2 * j, dot2_b + 2 * j));
  ck_assert_int_eq(cb_ints(out, "d16v", got, DOT2_N), DOT2_N);
  for (int j = 0; j < DOT2_N; j++)
    ck_assert_int_eq(got[j], dot2_ref(dot2_acc[j], dot2_a, dot2_b + 2 * j));

  /* hash_bits is splitmix64's top 32 bits, and on every value
   * hash_uniform == (hash_bits >> 8) * 2^-24 exactly. */
  ck_assert_int_eq(cb_ints(out, "hb", got, HASH_NK * HASH_NI), HASH_NK * HASH_NI);
  ck_assert_int_eq(cb_floats(out, "hu", f, HASH_NK * HASH_NI), HASH_NK * HASH_NI);
  for (int k = 0; k < HASH_NK; k++)
    for (int i = 0; i < HASH_NI; i++) {
      int64_t index = (int64_t)i * 1000003 - 5, bits = got[k * HASH_NI + i];
      ck_assert_int_eq(bits, (int64_t)(splitmix(hash_keys[k], index) >> 32));
      float u = (float)((uint32_t)bits >> 8) * 0x1p-24f;
      ck_assert_msg(same_float(f[k * HASH_NI + i], u), "key %d index %lld: %.9g != %.9g", k,
                    (long long)index, (double)f[k * HASH_NI + i], (double)u);
    }
  free(out);
  arena_free(a);
}
END_TEST

static const int64_t u16_a[UOPS_N] = {0, 1, 2, 255, 256, 32767, 32768, 65534, 65535, 12345, 40000, 65535};
static const int64_t u16_b[UOPS_N] = {1, 65535, 3, 256, 255, 32768, 32767, 65535, 2, 54321, 3, 65535};
static const int64_t u32_a[UOPS_N] = {0, 1, 2, 65535, 65536, 2147483647, 2147483648LL, 4294967294LL,
                                      4294967295LL, 3000000000LL, 123456789, 4294967295LL};
static const int64_t u32_b[UOPS_N] = {1, 4294967295LL, 3, 65536, 65535, 2147483648LL, 2147483647,
                                      4294967295LL, 2, 3000000000LL, 31, 4294967295LL};
static const int32_t px_values[PX_N] = {0, 1, 127, 128, 254, 255, 64, 200};

/* op on unsigned values of `bits` bits, computed in 64 bits and wrapped. */
static int64_t uop_ref(UOp op, int bits, uint64_t a, uint64_t b) {
  uint64_t m = bits == 16 ? 0xFFFFu : 0xFFFFFFFFu;
  switch (op) {
  case UOP_ADD: return (int64_t)((a + b) & m);
  case UOP_SUB: return (int64_t)((a - b) & m);
  case UOP_MUL: return (int64_t)((a * b) & m);
  case UOP_DIV: return (int64_t)(a / b);
  case UOP_REM: return (int64_t)(a % b);
  case UOP_MIN: return (int64_t)(a < b ? a : b);
  case UOP_MAX: return (int64_t)(a > b ? a : b);
  case UOP_SHL: return (int64_t)((a << (b & (uint64_t)(bits - 1))) & m);
  case UOP_SHR: return (int64_t)(a >> (b & (uint64_t)(bits - 1)));
  case UOP_AND: return (int64_t)(a & b);
  case UOP_OR: return (int64_t)(a | b);
  case UOP_XOR: return (int64_t)(a ^ b);
  case UOP_LT: return a < b;
  case UOP_GE: return a >= b;
  case UOP_EQ: return a == b;
  case UOP_NE: return a != b;
  case UOP_NEG: return (int64_t)((0 - a) & m);
  case UOP_ABS: return (int64_t)a;
  case UOP_SELECT: return (int64_t)(a < b ? b : a);
  case UOP_TO_F32: return (int64_t)(float)a;
  case UOP_TO_I32: return (int32_t)(uint32_t)a;
  case UOP_HALF: return (int64_t)(((a + b) & m) / 2);
  case UOP_COUNT: break;
  }
  return 0;
}

START_TEST(u16_u32_arithmetic_wraps_and_constant_buffers_read_exactly) {
  Arena *a = arena_new();
  char *s = set_ints(NULL, "ua", u16_a, UOPS_N);
  s = set_ints(s, "ub", u16_b, UOPS_N);
  s = set_ints(s, "va", u32_a, UOPS_N);
  s = set_ints(s, "vb", u32_b, UOPS_N);
  int64_t v[UOPS_N * UOP_COUNT];
  for (int i = 0; i < PX_N; i++) v[i] = px_values[i];
  s = set_ints(s, "px", v, PX_N);
  char *out = run_program(a, program(a, prog_uints_consts), "uints", s,
                          "get o16\nget o32\nget lo\nget co\nget sp\n");
  const char *names[2] = {"o16", "o32"};
  const int64_t *as[2] = {u16_a, u32_a}, *bs[2] = {u16_b, u32_b};
  for (int w = 0; w < 2; w++) {
    ck_assert_int_eq(cb_ints(out, names[w], v, UOPS_N * UOP_COUNT), UOPS_N * UOP_COUNT);
    for (int i = 0; i < UOPS_N; i++)
      for (int op = 0; op < UOP_COUNT; op++) {
        int64_t want = uop_ref((UOp)op, w ? 32 : 16, (uint64_t)as[w][i], (uint64_t)bs[w][i]);
        ck_assert_msg(v[i * UOP_COUNT + op] == want, "%s op %d of %lld, %lld: got %lld, want %lld",
                      names[w] + 1, op, (long long)as[w][i], (long long)bs[w][i],
                      (long long)v[i * UOP_COUNT + op], (long long)want);
      }
  }
  float f[PX_N];
  ck_assert_int_eq(cb_floats(out, "lo", f, PX_N), PX_N);
  for (int i = 0; i < PX_N; i++)
    ck_assert(same_float(f[i], ((float)px_values[i] / 255.0f - 0.5f) / 0.5f));
  ck_assert_int_eq(cb_ints(out, "co", v, 10), 10);
  for (int i = 0; i < 5; i++) ck_assert_int_eq(v[i], tab_values[i]);
  for (int i = 0; i < 3; i++) ck_assert_int_eq(v[5 + i], big_values[i]);
  for (int i = 0; i < 2; i++) ck_assert_int_eq(v[8 + i], ext_values[i]);
  ck_assert_int_eq(cb_floats(out, "sp", f, 4), 4);
  for (int i = 0; i < 4; i++) ck_assert(same_float(f[i], special_values[i]));
  ck_assert(signbit(f[2]));
  free(out);
  arena_free(a);
}
END_TEST

int main(void) {
  const char *which = getenv("CK_RUN_CASE");
  if (which && strcmp(which, "runs") == 0) {
    /* The compiler's first word must be installed, else the case skips. */
    char tool[64], cmd[128];
    bool found = sscanf(compiler(), "%63s", tool) == 1;
    snprintf(cmd, sizeof cmd, "command -v '%s' > /dev/null 2>&1", tool);
    if (!found || system(cmd) != 0) {
      printf("%s is not installed: skipped\n", compiler());
      return 77;
    }
  }
  Suite *s = suite_create("intrinsics");
  TCase *text = tcase_create("text");
  tcase_add_test(text, programs_verify_plan_and_round_trip_with_the_same_hash);
  tcase_add_test(text, memory_planner_ignores_constant_buffers_and_hash_sees_their_values);
  tcase_add_test(text, emitted_c_has_const_arrays_helpers_and_the_determinism_pragmas);
  tcase_add_test(text, emit_refuses_stores_to_constant_buffers);
  suite_add_tcase(s, text);
  TCase *runs = tcase_create("runs");
  tcase_set_timeout(runs, 120);
  tcase_add_test(runs, intrinsics_compute_their_documented_values_exactly);
  tcase_add_test(runs, u16_u32_arithmetic_wraps_and_constant_buffers_read_exactly);
  suite_add_tcase(s, runs);
  SRunner *r = srunner_create(s);
  srunner_run_all(r, CK_NORMAL);
  int failed = srunner_ntests_failed(r);
  srunner_free(r);
  return failed ? 1 : 0;
}
