/* The transcendental functions of the loop IR (exp, log, cos, pow) written
 * out as fixed sequences of + - * /, floor, casts, bit casts (f32_bits,
 * bits_f32) and selects, so every target and backend computes the same bits:
 * a C library's expf/logf/cosf/powf differ between glibc versions,
 * architectures and picolibc. Each function is range reduction + a minimax
 * polynomial (Cephes' single-precision coefficients; cos reduces with the
 * bits of 2/pi in integer arithmetic, so huge arguments stay exact). The
 * maximum errors over every f32 input are in docs/loops.md (measured by
 * tests/math/).
 *
 * The rewrite works statement by statement: each exp(...) in an expression
 * becomes a local computed by `let`s placed just before the statement that
 * used it (a select evaluates both arms anyway, so hoisting out of one is
 * the same program). The right operand of && and || is only evaluated when
 * needed, so an expression there turns into an `if`. */
#include "expand_math.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "pass.h"

/* Where the sequence goes: the statements before the one being rewritten. */
typedef struct MB {
  LProgram *p;
  LBlock *pre;
  int *count; /* locals made in this kernel so far: names stay unique */
} MB;

static LExpr *let(MB *b, const char *name, LExpr *e) {
  char unique[64];
  snprintf(unique, sizeof unique, "%s%d", name, (*b->count)++);
  LVar *v = lprog_var(b->p, unique, e->type, LVAR_LOCAL);
  lblock_add(b->pre, ls_let(b->p, v, e));
  return le_var(b->p, v);
}

/* A local's value again: the same LVar, a new reference (trees are not
 * shared). */
static LExpr *again(MB *b, const LExpr *var) { return le_var(b->p, var->var); }

static LExpr *F(MB *b, double v) { return le_f32(b->p, (float)v); }
static LExpr *I(MB *b, int64_t v) { return le_int(b->p, DT_I32, v); }
static LExpr *J(MB *b, int64_t v) { return le_int(b->p, DT_I64, v); }
static LExpr *bin(MB *b, LBinOp op, LExpr *x, LExpr *y) { return le_bin(b->p, op, x, y); }
static LExpr *add(MB *b, LExpr *x, LExpr *y) { return bin(b, LB_ADD, x, y); }
static LExpr *sub(MB *b, LExpr *x, LExpr *y) { return bin(b, LB_SUB, x, y); }
static LExpr *mul(MB *b, LExpr *x, LExpr *y) { return bin(b, LB_MUL, x, y); }
static LExpr *sel(MB *b, LExpr *c, LExpr *x, LExpr *y) { return le_select(b->p, c, x, y); }
static LExpr *bits_of(MB *b, LExpr *x) { return le_call(b->p, LI_F32_BITS, x, NULL); }
static LExpr *from_bits(MB *b, LExpr *i) { return le_call(b->p, LI_BITS_F32, i, NULL); }

/* 2^k for an i32 k in [-126, 127]: the exponent field alone. */
static LExpr *pow2(MB *b, LExpr *k) {
  return from_bits(b, bin(b, LB_SHL, add(b, k, I(b, 127)), I(b, 23)));
}

/* Horner's rule, c[0] the highest coefficient: ((c0 x + c1) x + c2) ... */
static LExpr *horner(MB *b, const LExpr *x, const double *c, int n) {
  LExpr *acc = F(b, c[0]);
  for (int i = 1; i < n; i++) acc = add(b, mul(b, acc, again(b, x)), F(b, c[i]));
  return acc;
}

/* ln 2 as C1 + C2: C1 has 9 significant bits, so k * C1 is exact for every
 * |k| <= 2^15. */
static const double LN2_C1 = 0.693359375, LN2_C2 = -2.12194440e-4;

/* exp(x + lo) (lo: NULL, or a small correction pow's double-float gives):
 * k = round(x / ln 2), r = x - k ln 2 (Cody-Waite, two parts) + lo, exp(r)
 * by a degree-7 polynomial, then times 2^k in two halves so that results
 * down to the subnormals are rounded once. */
static LExpr *expand_exp(MB *b, LExpr *arg, LExpr *lo) {
  static const double P[] = {1.9875691500E-4, 1.3981999507E-3, 8.3334519073E-3,
                             4.1665795894E-2, 1.6666665459E-1, 5.0000001201E-1};
  LExpr *x = let(b, "exp_x", arg);
  /* Outside [-104, 88.8] the result is 0 or inf (selected at the end);
   * clamping keeps the integer k in range for every input, NaN too. */
  LExpr *xc = let(b, "exp_xc", bin(b, LB_MAX, bin(b, LB_MIN, again(b, x), F(b, 88.8)),
                                   F(b, -104.0)));
  LExpr *k = let(b, "exp_k", le_un(b->p, LU_FLOOR, add(b, mul(b, again(b, xc),
                                                               F(b, 1.44269504088896341)),
                                                       F(b, 0.5))));
  LExpr *r = sub(b, sub(b, again(b, xc), mul(b, again(b, k), F(b, LN2_C1))),
                 mul(b, again(b, k), F(b, LN2_C2)));
  r = let(b, "exp_r", lo ? add(b, r, lo) : r);
  LExpr *z = let(b, "exp_z", mul(b, again(b, r), again(b, r)));
  LExpr *y = let(b, "exp_y", add(b, add(b, mul(b, horner(b, r, P, 6), again(b, z)), again(b, r)),
                                 F(b, 1)));
  LExpr *ki = let(b, "exp_n", le_cast(b->p, DT_I32, again(b, k)));
  LExpr *k1 = let(b, "exp_n1", bin(b, LB_SHR, again(b, ki), I(b, 1)));
  LExpr *scaled = mul(b, mul(b, again(b, y), pow2(b, again(b, k1))),
                      pow2(b, sub(b, again(b, ki), again(b, k1))));
  LExpr *r1 = sel(b, bin(b, LB_LT, again(b, x), F(b, -104.0)), F(b, 0), scaled);
  LExpr *r2 = sel(b, bin(b, LB_GT, again(b, x), F(b, 88.8)), F(b, INFINITY), r1);
  return let(b, "exp_res", sel(b, bin(b, LB_NE, again(b, x), again(b, x)), again(b, x), r2));
}

/* log(x): x = m 2^e with m in [sqrt(1/2), sqrt(2)), log(1 + f) for f = m - 1
 * by a degree-9 polynomial, plus e ln 2 in two parts. Subnormals are scaled
 * by 2^23 first. */
static LExpr *expand_log(MB *b, LExpr *arg) {
  static const double P[] = {7.0376836292E-2,  -1.1514610310E-1, 1.1676998740E-1,
                             -1.2420140846E-1, 1.4249322787E-1,  -1.6668057665E-1,
                             2.0000714765E-1,  -2.4999993993E-1, 3.3333331174E-1};
  LExpr *x = let(b, "log_x", arg);
  LExpr *tiny = let(b, "log_sub", bin(b, LB_LT, again(b, x), F(b, 0x1p-126)));
  LExpr *xs = sel(b, again(b, tiny), mul(b, again(b, x), F(b, 0x1p23)), again(b, x));
  LExpr *bits = let(b, "log_bits", bits_of(b, xs));
  /* m in [0.5, 1): the mantissa with the exponent of 0.5 */
  LExpr *m0 = let(b, "log_m", from_bits(b, bin(b, LB_OR, bin(b, LB_AND, again(b, bits),
                                                               I(b, 0x7FFFFF)),
                                                   I(b, 0x3F000000))));
  LExpr *e0 = sub(b, bin(b, LB_AND, bin(b, LB_SHR, again(b, bits), I(b, 23)), I(b, 255)),
                  sel(b, again(b, tiny), I(b, 126 + 23), I(b, 126)));
  LExpr *lo = let(b, "log_lo", bin(b, LB_LT, again(b, m0), F(b, 0.70710678118654752)));
  LExpr *e = let(b, "log_e", le_cast(b->p, DT_F32, sub(b, e0, again(b, lo))));
  /* f = 2m - 1 or m - 1: both exact */
  LExpr *f = let(b, "log_f", sub(b, sel(b, again(b, lo), add(b, again(b, m0), again(b, m0)),
                                        again(b, m0)),
                                 F(b, 1)));
  LExpr *z = let(b, "log_z", mul(b, again(b, f), again(b, f)));
  LExpr *y = mul(b, mul(b, horner(b, f, P, 9), again(b, f)), again(b, z));
  y = add(b, y, mul(b, F(b, LN2_C2), again(b, e)));
  y = add(b, y, mul(b, F(b, -0.5), again(b, z)));
  LExpr *res = add(b, add(b, again(b, f), y), mul(b, F(b, LN2_C1), again(b, e)));
  /* log(+inf) = inf, log(+-0) = -inf, log(x < 0) = NaN, NaN stays NaN */
  res = sel(b, bin(b, LB_EQ, again(b, x), F(b, INFINITY)), again(b, x), res);
  res = sel(b, bin(b, LB_EQ, again(b, x), F(b, 0)), F(b, -INFINITY), res);
  res = sel(b, bin(b, LB_LT, again(b, x), F(b, 0)), F(b, NAN), res);
  return let(b, "log_res", sel(b, bin(b, LB_NE, again(b, x), again(b, x)), again(b, x), res));
}

/* 2/pi in 28-bit chunks: 2/pi = sum_j TWO_OVER_PI[j] 2^(-28 (j + 1)), 196
 * bits, enough for the largest f32 (2^128) and 60 bits of fraction. */
static const int64_t TWO_OVER_PI[] = {0xa2f9836, 0xe4e4415, 0x29fc275, 0x7d1f534,
                                      0xddc0db6, 0x295993c, 0x439041f};
enum { INV_PIO2_CHUNKS = 7, INV_PIO2_TERMS = 4 };

/* A const table, one per program: the buffer named `name` (or name_2, ...)
 * that holds exactly these values, else a new one under the first free
 * name (a program read from text may have a buffer of that name already). */
static LBuffer *const_table(LProgram *p, const char *name, DType t, Shape s, const void *data) {
  char unique[64];
  snprintf(unique, sizeof unique, "%s", name);
  for (int k = 2;; k++) {
    LBuffer *b = lprog_find_buffer(p, unique);
    if (!b) return lprog_const_buffer(p, unique, t, s, data);
    if (b->home == LBUF_CONST && b->dtype == t && shape_numel(&b->shape) == shape_numel(&s) &&
        memcmp(b->data, data, (size_t)shape_numel(&s) * dtype_size(t)) == 0)
      return b;
    snprintf(unique, sizeof unique, "%s_%d", name, k);
  }
}

static LBuffer *two_over_pi(LProgram *p) {
  Shape s = {.rank = 1, .dim = {INV_PIO2_CHUNKS}};
  return const_table(p, "octo_two_over_pi", DT_I64, s, TWO_OVER_PI);
}

/* cos(x), Payne-Hanek style in integers for every finite x: |x| = m 2^s
 * (m < 2^24), y = |x| 2/pi mod 4 in 60-bit fixed point from four 28-bit
 * chunks of 2/pi, rounded to the nearest integer n (the quadrant); the
 * remainder times pi/2 is r in [-pi/4, pi/4], computed from its top 31
 * bits so it is rounded once. Then +-cos(r) or +-sin(r) by the quadrant. */
static LExpr *expand_cos(MB *b, LExpr *arg) {
  static const double C[] = {2.443315711809948E-005, -1.388731625493765E-003,
                             4.166664568298827E-002};
  static const double S[] = {-1.9515295891E-4, 8.3321608736E-3, -1.6666654611E-1};
  LProgram *p = b->p;
  LExpr *x = let(b, "cos_x", arg);
  LExpr *ax = let(b, "cos_bits", bin(b, LB_AND, bits_of(b, again(b, x)), I(b, 0x7FFFFFFF)));
  LExpr *ex = let(b, "cos_e", bin(b, LB_SHR, again(b, ax), I(b, 23)));
  /* subnormals: exponent 1 without the implicit bit */
  LExpr *m = let(b, "cos_m",
                 le_cast(p, DT_I64, bin(b, LB_OR, bin(b, LB_AND, again(b, ax), I(b, 0x7FFFFF)),
                                        sel(b, bin(b, LB_EQ, again(b, ex), I(b, 0)), I(b, 0),
                                            I(b, 0x800000)))));
  LExpr *s = let(b, "cos_s", sub(b, bin(b, LB_MAX, again(b, ex), I(b, 1)), I(b, 150)));
  /* Chunk j weighs 2^(s + 32 - 28 j) in units of 2^-60; the first chunk
   * whose weight is below 2^62 (the ones before are multiples of 4):
   * j0 = floor((s - 30) / 28) + 1, at least 0. */
  LExpr *j0 = let(b, "cos_j",
                  bin(b, LB_MAX, sub(b, bin(b, LB_DIV, add(b, again(b, s), I(b, 166)), I(b, 28)),
                                     I(b, 6)),
                      I(b, 0)));
  LExpr *e0 = let(b, "cos_w", sub(b, add(b, again(b, s), I(b, 32)),
                                  mul(b, again(b, j0), I(b, 28))));
  LBuffer *table = two_over_pi(p);
  const int64_t mask62 = ((int64_t)1 << 62) - 1;
  LExpr *acc = NULL;
  for (int t = 0; t < INV_PIO2_TERMS; t++) {
    LExpr *prod = let(b, "cos_p", mul(b, again(b, m),
                                       le_load(p, table, add(b, again(b, j0), I(b, t)))));
    LExpr *w = let(b, "cos_sh", sub(b, again(b, e0), I(b, 28 * t)));
    /* w >= 0: the bits below 2^62 shifted up; w < 0: shifted down. Both
     * arms are evaluated, so both shift counts are clamped into range. */
    LExpr *sl = let(b, "cos_l", le_cast(p, DT_I64, le_call3(p, LI_CLAMP, again(b, w), I(b, 0),
                                                           I(b, 61))));
    LExpr *sr = le_cast(p, DT_I64, le_call3(p, LI_CLAMP, le_un(p, LU_NEG, again(b, w)), I(b, 0),
                                           I(b, 63)));
    LExpr *low = sub(b, bin(b, LB_SHL, J(b, 1), sub(b, J(b, 62), again(b, sl))), J(b, 1));
    LExpr *up = bin(b, LB_SHL, bin(b, LB_AND, again(b, prod), low), again(b, sl));
    LExpr *term = sel(b, bin(b, LB_GE, again(b, w), I(b, 0)), up,
                      bin(b, LB_SHR, again(b, prod), sr));
    acc = acc ? bin(b, LB_AND, add(b, acc, term), J(b, mask62)) : term;
    acc = let(b, "cos_y", acc);
  }
  /* round to the nearest quadrant: f in [-2^59, 2^59) */
  LExpr *half = let(b, "cos_up", le_cast(p, DT_I64, bin(b, LB_GE, bin(b, LB_AND, again(b, acc),
                                                                      J(b, ((int64_t)1 << 60) - 1)),
                                                          J(b, (int64_t)1 << 59))));
  LExpr *q = let(b, "cos_q", bin(b, LB_AND, le_cast(p, DT_I32, add(b, bin(b, LB_SHR, again(b, acc),
                                                                         J(b, 60)),
                                                                  again(b, half))),
                                 I(b, 3)));
  LExpr *frac = let(b, "cos_f", sub(b, bin(b, LB_AND, again(b, acc), J(b, ((int64_t)1 << 60) - 1)),
                                   mul(b, again(b, half), J(b, (int64_t)1 << 60))));
  /* r = frac 2^-60 pi/2 from frac's top 31 bits times round(pi/2 2^31) */
  LExpr *fexp = bin(b, LB_AND, bin(b, LB_SHR, bits_of(b, le_cast(p, DT_F32, again(b, frac))),
                                   I(b, 23)),
                    I(b, 255));
  LExpr *sh = let(b, "cos_k", bin(b, LB_MAX, sub(b, fexp, I(b, 127 + 30)), I(b, 0)));
  LExpr *prod = mul(b, bin(b, LB_SHR, again(b, frac), le_cast(p, DT_I64, again(b, sh))),
                    J(b, 3373259426));
  LExpr *r = let(b, "cos_r", mul(b, le_cast(p, DT_F32, prod),
                                 pow2(b, sub(b, again(b, sh), I(b, 60 + 31)))));
  LExpr *z = let(b, "cos_z", mul(b, again(b, r), again(b, r)));
  LExpr *c = let(b, "cos_c", add(b, sub(b, mul(b, mul(b, horner(b, z, C, 3), again(b, z)),
                                                 again(b, z)),
                                          mul(b, F(b, 0.5), again(b, z))),
                                 F(b, 1)));
  LExpr *sn = let(b, "cos_sin", add(b, mul(b, mul(b, horner(b, z, S, 3), again(b, z)),
                                           again(b, r)),
                                    again(b, r)));
  /* quadrant 0: cos r, 1: -sin r, 2: -cos r, 3: sin r */
  LExpr *odd = let(b, "cos_odd", bin(b, LB_AND, again(b, q), I(b, 1)));
  LExpr *v = sel(b, again(b, odd), again(b, sn), again(b, c));
  LExpr *neg = bin(b, LB_EQ, bin(b, LB_AND, add(b, again(b, q), I(b, 1)), I(b, 2)), I(b, 2));
  LExpr *res = let(b, "cos_v", v);
  res = sel(b, neg, le_un(p, LU_NEG, again(b, res)), again(b, res));
  /* NaN stays the same NaN, +-inf gives NaN: both without arithmetic, whose
   * NaN bits differ between targets (x86's default NaN has the sign bit
   * set, RISC-V's is canonical) */
  return let(b, "cos_res", sel(b, bin(b, LB_EQ, again(b, ex), I(b, 255)),
                               sel(b, bin(b, LB_NE, again(b, x), again(b, x)), again(b, x),
                                   F(b, NAN)),
                               res));
}

/* Double-float arithmetic (Dekker; exact because the loop IR never fuses
 * or reassociates): hi + lo pairs with twice f32's precision. */

/* s + err = x + y exactly (Knuth's two-sum). x, y: locals. */
static void two_sum(MB *b, const LExpr *x, const LExpr *y, LExpr **s, LExpr **err) {
  *s = let(b, "dd_s", add(b, again(b, x), again(b, y)));
  LExpr *bb = let(b, "dd_b", sub(b, again(b, *s), again(b, x)));
  *err = let(b, "dd_e", add(b, sub(b, again(b, x), sub(b, again(b, *s), again(b, bb))),
                            sub(b, again(b, y), again(b, bb))));
}

/* x = hi + lo, 12 significant bits each (Veltkamp). x: a local. */
static void split(MB *b, const LExpr *x, LExpr **hi, LExpr **lo) {
  LExpr *c = let(b, "dd_c", mul(b, F(b, 4097), again(b, x)));
  *hi = let(b, "dd_h", sub(b, again(b, c), sub(b, again(b, c), again(b, x))));
  *lo = let(b, "dd_l", sub(b, again(b, x), again(b, *hi)));
}

/* p + err = x y exactly (Dekker's two-product). x, y: locals. */
static void two_prod(MB *b, const LExpr *x, const LExpr *y, LExpr **p, LExpr **err) {
  LExpr *xh, *xl, *yh, *yl;
  *p = let(b, "dd_p", mul(b, again(b, x), again(b, y)));
  split(b, x, &xh, &xl);
  split(b, y, &yh, &yl);
  LExpr *e = sub(b, mul(b, again(b, xh), again(b, yh)), again(b, *p));
  e = add(b, e, mul(b, again(b, xh), again(b, yl)));
  e = add(b, e, mul(b, again(b, xl), again(b, yh)));
  *err = let(b, "dd_pe", add(b, e, mul(b, again(b, xl), again(b, yl))));
}

#include "log_table.h"

enum { LOG_OFF = 0x3f330000 };
/* ln 2 = LN2_HI + LN2_LO, LN2_HI with 16 significant bits: k LN2_HI is
 * exact for |k| < 256. */
static const double LN2_HI = 0.693145751953125, LN2_LO = 1.428606765330187045e-06;

static LBuffer *log_table(LProgram *p) {
  Shape s = {.rank = 2, .dim = {128, 3}};
  return const_table(p, "octo_log_table", DT_F32, s, LOG_TABLE);
}

/* log(x) for a positive finite x (a local) as hi + lo, about 2^-40 relative:
 * x = 2^k z with z in [0.7, 1.4); z / c for the interval's c (LOG_TABLE:
 * 1/c rounded to f32, and log c in two parts) is 1 + r exactly, |r| <
 * 2^-7; log(1 + r) = r - r^2/2 (in double-float) + r^3 P(r). */
static void log_dd(MB *b, const LExpr *x, LExpr **hi, LExpr **lo) {
  LProgram *p = b->p;
  LExpr *tiny = let(b, "lg_sub", bin(b, LB_LT, again(b, x), F(b, 0x1p-126)));
  LExpr *bits = let(b, "lg_bits", bits_of(b, sel(b, again(b, tiny), mul(b, again(b, x),
                                                                          F(b, 0x1p23)),
                                                  again(b, x))));
  LExpr *tmp = let(b, "lg_t", sub(b, again(b, bits), I(b, LOG_OFF)));
  LExpr *row = let(b, "lg_i", mul(b, bin(b, LB_AND, bin(b, LB_SHR, again(b, tmp), I(b, 16)),
                                         I(b, 127)),
                                  I(b, 3)));
  LExpr *k = let(b, "lg_k", le_cast(p, DT_F32, sub(b, bin(b, LB_SHR, again(b, tmp), I(b, 23)),
                                                   sel(b, again(b, tiny), I(b, 23), I(b, 0)))));
  LExpr *z = let(b, "lg_z", from_bits(b, sub(b, again(b, bits),
                                              bin(b, LB_AND, again(b, tmp), I(b, -0x800000)))));
  LBuffer *table = log_table(p);
  LExpr *invc = let(b, "lg_inv", le_load(p, table, again(b, row)));
  LExpr *pz, *pe;
  two_prod(b, z, invc, &pz, &pe);
  LExpr *rh = let(b, "lg_rh", sub(b, again(b, pz), F(b, 1))); /* exact: pz near 1 */
  LExpr *r, *re;
  two_sum(b, rh, pe, &r, &re);
  LExpr *q, *qe;
  two_prod(b, r, r, &q, &qe);
  LExpr *mhq = let(b, "lg_hq", mul(b, F(b, -0.5), again(b, q)));
  LExpr *s, *se;
  two_sum(b, r, mhq, &s, &se);
  static const double P[] = {1.0 / 7, -1.0 / 6, 1.0 / 5, -1.0 / 4, 1.0 / 3};
  LExpr *poly = mul(b, mul(b, horner(b, r, P, 5), again(b, r)), again(b, q));
  /* the low parts: re (1 - r), -qe / 2, r^3 P(r) */
  LExpr *low = add(b, sub(b, sub(b, add(b, again(b, se), again(b, re)),
                                 mul(b, F(b, 0.5), again(b, qe))),
                          mul(b, again(b, r), again(b, re))),
                   poly);
  LExpr *a = let(b, "lg_a", mul(b, again(b, k), F(b, LN2_HI)));
  LExpr *ch = let(b, "lg_ch", le_load(p, table, add(b, again(b, row), I(b, 1))));
  LExpr *t1, *e1, *t2, *e2;
  two_sum(b, a, ch, &t1, &e1);
  two_sum(b, t1, s, &t2, &e2);
  LExpr *small = add(b, mul(b, again(b, k), F(b, LN2_LO)),
                     le_load(p, table, add(b, again(b, row), I(b, 2))));
  *hi = t2;
  *lo = let(b, "lg_lo", add(b, add(b, add(b, again(b, e1), again(b, e2)), small), low));
}

/* pow(a, b) = exp(b log |a|), with log |a| and its product by b in
 * double-float so the result is rounded about once; with C99's special
 * cases (Annex F.9.4.4): b = 0 or a = 1 gives 1, NaN in gives NaN, |a| = 1
 * gives 1 (with a = -1 and an odd b, -1), a < 0 takes the sign (-1)^b for
 * an integer b and is NaN otherwise, and +-0 and +-inf follow from
 * log |a| = -inf or inf. */
static LExpr *expand_pow(MB *b, LExpr *arg_a, LExpr *arg_b) {
  LProgram *p = b->p;
  LExpr *a = let(b, "pow_a", arg_a), *y = let(b, "pow_b", arg_b);
  LExpr *aa = let(b, "pow_abs", le_un(p, LU_ABS, again(b, a)));
  LExpr *lh, *ll;
  log_dd(b, aa, &lh, &ll);
  lh = let(b, "pow_lh", sel(b, bin(b, LB_EQ, again(b, aa), F(b, 0)), F(b, -INFINITY),
                            sel(b, bin(b, LB_EQ, again(b, aa), F(b, INFINITY)), F(b, INFINITY),
                                again(b, lh))));
  LExpr *wh, *we;
  two_prod(b, y, lh, &wh, &we);
  LExpr *wl = add(b, again(b, we), mul(b, again(b, y), again(b, ll)));
  LExpr *mag = let(b, "pow_mag", expand_exp(b, again(b, wh), wl));
  /* b is an integer (+-inf counts: no sign, no NaN), and an odd one (all
   * of |b| >= 2^24 are even) */
  LExpr *integer = let(b, "pow_int", bin(b, LB_EQ, le_un(p, LU_FLOOR, again(b, y)), again(b, y)));
  LExpr *small = bin(b, LB_LT, le_un(p, LU_ABS, again(b, y)), F(b, 0x1p24));
  LExpr *bi = le_cast(p, DT_I32, sel(b, small, again(b, y), F(b, 0)));
  LExpr *odd = let(b, "pow_odd", bin(b, LB_AND, bi, I(b, 1)));
  LExpr *negative = bin(b, LB_LT, bits_of(b, again(b, a)), I(b, 0));
  LExpr *res = sel(b, bin(b, LB_EQ, again(b, aa), F(b, 1)), F(b, 1), again(b, mag));
  res = let(b, "pow_v", res);
  res = sel(b, bin(b, LB_LAND, negative, again(b, odd)), le_un(p, LU_NEG, again(b, res)),
            again(b, res));
  LExpr *finite_neg = bin(b, LB_LAND, bin(b, LB_LT, again(b, a), F(b, 0)),
                          bin(b, LB_GT, again(b, a), F(b, -INFINITY)));
  res = sel(b, bin(b, LB_LAND, finite_neg, bin(b, LB_EQ, again(b, integer), I(b, 0))), F(b, NAN),
            res);
  LExpr *any_nan = bin(b, LB_LOR, bin(b, LB_NE, again(b, a), again(b, a)),
                       bin(b, LB_NE, again(b, y), again(b, y)));
  res = sel(b, any_nan, F(b, NAN), res);
  res = sel(b, bin(b, LB_EQ, again(b, a), F(b, 1)), F(b, 1), res);
  return let(b, "pow_res", sel(b, bin(b, LB_EQ, again(b, y), F(b, 0)), F(b, 1), res));
}

static bool is_math(const LExpr *e) {
  if (e->kind == LE_UNARY)
    return e->type == DT_F32 && (e->uop == LU_EXP || e->uop == LU_LOG || e->uop == LU_COS);
  return e->kind == LE_CALL && e->fn == LI_POW;
}

static bool has_math(const LExpr *e) {
  if (!e) return false;
  return is_math(e) || has_math(e->a) || has_math(e->b) || has_math(e->c);
}

static LStmt *rewrite_block(LProgram *p, LStmt *first, int *count);

/* e with every math call replaced by a local computed in b->pre (operands
 * first, so nested calls come out in evaluation order). The nodes on the
 * way are copied, not changed: a lowering may share a subtree between two
 * statements, and each gets its own locals. */
static LExpr *rewrite_expr(MB *b, LExpr *e) {
  if (!e || !has_math(e)) return e;
  if (e->kind == LE_BINARY && (e->bop == LB_LAND || e->bop == LB_LOR) && has_math(e->b)) {
    /* t = a != 0; if (t) or if (!t): t = b != 0 -- b runs only when needed */
    LExpr *t = let(b, "cond", bin(b, LB_NE, rewrite_expr(b, e->a), I(b, 0)));
    LBlock inner = {0};
    MB ib = {b->p, &inner, b->count};
    LExpr *rhs = bin(&ib, LB_NE, rewrite_expr(&ib, e->b), I(&ib, 0));
    lblock_add(&inner, ls_assign(b->p, t->var, rhs));
    LExpr *when = e->bop == LB_LAND ? again(b, t) : bin(b, LB_EQ, again(b, t), I(b, 0));
    lblock_add(b->pre, ls_if(b->p, when, inner.first, NULL));
    return again(b, t);
  }
  LExpr *copy = arena_alloc(b->p->arena, sizeof *copy);
  *copy = *e;
  e = copy;
  e->a = rewrite_expr(b, e->a);
  e->b = rewrite_expr(b, e->b);
  e->c = rewrite_expr(b, e->c);
  if (!is_math(e)) return e;
  if (e->kind == LE_CALL) return expand_pow(b, e->a, e->b);
  switch (e->uop) {
  case LU_EXP: return expand_exp(b, e->a, NULL);
  case LU_LOG: return expand_log(b, e->a);
  default: return expand_cos(b, e->a);
  }
}

/* One statement: its own expressions' sequences go before it (a loop's
 * bounds are evaluated once, before it runs), then its bodies. */
static LStmt *rewrite_stmt(LProgram *p, LStmt *s, LBlock *out, int *count) {
  MB b = {p, out, count};
  switch (s->kind) {
  case LS_FOR:
    s->lo = rewrite_expr(&b, s->lo);
    s->hi = rewrite_expr(&b, s->hi);
    s->body = rewrite_block(p, s->body, count);
    break;
  case LS_IF:
    s->cond = rewrite_expr(&b, s->cond);
    s->body = rewrite_block(p, s->body, count);
    s->else_body = rewrite_block(p, s->else_body, count);
    break;
  case LS_STORE:
    s->index = rewrite_expr(&b, s->index);
    s->value = rewrite_expr(&b, s->value);
    break;
  case LS_LET:
  case LS_ASSIGN: s->value = rewrite_expr(&b, s->value); break;
  }
  return s;
}

static LStmt *rewrite_block(LProgram *p, LStmt *first, int *count) {
  LBlock out = {0};
  for (LStmt *s = first, *next; s; s = next) {
    next = s->next;
    s->next = NULL;
    lblock_add(&out, rewrite_stmt(p, s, &out, count));
  }
  return out.first;
}

void expand_math(LProgram *p) {
  for (int k = 0; k < p->nkernels; k++) {
    int count = 0;
    p->kernels[k]->body = rewrite_block(p, p->kernels[k]->body, &count);
  }
}

static bool run_pass(Module *m) {
  if (m->loops && !m->libm_math) expand_math(m->loops);
  return true;
}

const Pass pass_math = {
    "math",
    "write exp, log, cos and pow out as arithmetic, the same bits on every target",
    run_pass};
