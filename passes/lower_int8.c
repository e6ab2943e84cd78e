/* Lowering of the INT8 ops (DESIGN.md section 5, docs/int8.md): quantize,
 * and the int8 products of conv2d and dense, forward and both backward
 * products. Their meaning is written here and nowhere else.
 *
 *   quantize    s = max|x| / 127 (1 when x is all zero), q = clamp(round(x *
 *               (1/s)), -127, 127); round is nearest-even, or floor(x * (1/s)
 *               + u) with u uniform in [0, 1) from the seeded counter-based
 *               RNG (uniform32: the stream is the result's name, mixed with
 *               init's seed and the step, like dropout's masks). At
 *               inference always nearest.
 *   *_i8        C[i, j] = s_a s_b . sum_k A[i, k] B[j, k] (+ bias), the sum
 *               of int8 x int8 products in int32.
 *
 * Every product is one emitter, i8_gemm: C [m x n] = A [m x k] . B^T with
 * both operands widened to int16 once (the packs and im2col), A's rows
 * k-contiguous, and summed by dot2_i16 (a pair of int16 products, x86's
 * pmaddwd), in one of two forms chosen by the number of columns n:
 *
 *   pair form   (n >= I8_PAIR_N) B stored in pairs of k, [k/2 x n x 2]
 *               (b_at), k padded to even, n to whole 8-lane vectors. The
 *               innermost loop runs across a row of int32 sums, acc[j] =
 *               dot2_i16(acc[j], A[i, 2q..2q+1], B[q, j, 0..1]): the A pair
 *               broadcast, one pmaddwd per 8 columns, with a register block
 *               of rows and pairs, the way the f32 GEMM of lower_linear.c is
 *               blocked.
 *   quad form   the pair form with groups of G = 4 k instead of 2, when
 *               Module.dot4_i8 is set (a target with a 4 x int8 dot
 *               product, Arm sdot, through the LLVM backend, which maps
 *               dot4_i8 to it; the C backend keeps the pairs): operands
 *               packed as int8 (not widened), k padded to a multiple of 4,
 *               B in quads [k/4 x n x 4], acc[j] = dot4_i8(acc[j], A[i,
 *               4q..4q+3], B[q, j, 0..3]). The helpers below say "pair"
 *               for a group of group_k(L) k of either size. The sums are
 *               the same integers, so the trainer's losses are the same
 *               bits.
 *   dot form    (narrow: a weight gradient over few taps, a dense layer at
 *               batch 1) B stored in rows of k, [n x kp], kp padded to 16:
 *               each element a dot product along k, 8 int32 partial sums
 *               (one pmaddwd per 16 k) summed at the end.
 *
 * Each op only says which matrices are A and B:
 *
 *   conv2d_i8       per sample, group: y   [Fg x P]  = w   [Fg x Kc] . col  [P x Kc]
 *   conv dx         per sample, group: dcol[Kc x P]  = wT  [Kc x Fg] . dy   [P x Fg], col2im
 *   conv dw         per sample, group: dw  [Fg x Kc] += dy [Fg x P]  . colT [Kc x P]
 *                   (stride 1, Fg <= 8: B read from the zero-bordered input
 *                   itself, conv_dw_wide)
 *   dense_i8        y  [n x U] = x  [n x F] . w   [U x F]
 *                   or yT [U x B] = w [U x F] . xT [B x F] (U > B)
 *   dense dx        dx [n x F] = dy [n x U] . wT  [F x U]
 *   dense dw        dw [U x F] = dyT[U x B] . xT  [F x B]   (B the compiled batch)
 *
 * (the right-hand matrix is B, written [n x k].) Accumulators: a sum of
 * more than I8_CHUNK products of +-127 can leave int32, so longer
 * reductions are cut into chunks summed in int32 and widened into an int64
 * total, and the conv weight gradient sums each sample's int32 products
 * into an int64 accumulator: never a wrap. */
#include <string.h>

#include "lower.h"
#include "shape_rules.h"

/* The most products of two int8 in [-127, 127] an int32 sum holds:
 * floor((2^31 - 1) / 127^2) = 133 144, a multiple of 4. */
enum { I8_CHUNK = 133144 };

/* A product with at least I8_PAIR_N columns (n) runs across rows of C,
 * B stored in pairs of k (the pair form: pair_panel); a narrower one as dot
 * products along k, B stored in rows of k (dot_gemm): c1's weight
 * gradient, 6 x 25 over 784 k, took 2.8x the instructions in the pair
 * form. */
enum { I8_PAIR_N = 32 };

static bool pair_form(int64_t n) { return n >= I8_PAIR_N; }

/* The k one step of the pair form sums: 4 int8 (dot4_i8) where
 * Module.dot4_i8 allows it, else 2 int16 (dot2_i16). */
static int64_t group_k(const Lower *L) { return L->dot4_i8 ? 4 : 2; }

/* The element type of a product's packed operands (A, B and their
 * staging buffers): int8 in the quad form, else int16. */
static DType operand_type(const Lower *L, int64_t n) {
  return pair_form(n) && L->dot4_i8 ? DT_I8 : DT_I16;
}

/* Whether a product of n columns and kp k (in the pair form) stores A's
 * quads moved into unsigned range, a + 128 as u8 (Module.dot4_u8i8: x86
 * VNNI's vpdpbusd is unsigned x signed): each step is then one dot4_u8i8,
 * whose sums exceed the true ones by 128 times B's column sums, taken off
 * once per element (column_sums, pair_block). The sums wrap modulo 2^32
 * and the true one fits an int32, so the difference is exact; a longer
 * reduction than I8_CHUNK (widened in chunks) keeps the signed quads. */
static bool unsigned_a(const Lower *L, int64_t n, int64_t kp) {
  return L->dot4_u8i8 && L->dot4_i8 && pair_form(n) && kp <= I8_CHUNK;
}

/* The element type of a product's packed A (its rows of kp k). */
static DType a_type(const Lower *L, int64_t n, int64_t kp) {
  return unsigned_a(L, n, kp) ? DT_U8 : operand_type(L, n);
}

/* The pair form's step on A's group at a and B's at b (loads of G
 * elements each) into sum. */
static LExpr *group_step(Lower *L, LExpr *sum, LExpr *a, LExpr *b) {
  LIntrinsic fn = !L->dot4_i8 ? LI_DOT2_I16 : a->buf->dtype == DT_U8 ? LI_DOT4_U8I8 : LI_DOT4_I8;
  return le_call3(L->p, fn, sum, a, b);
}

/* A B operand's columns as stored: in the pair form, a whole number of
 * vectors of int32 sums (L->b_align lanes; the columns past n are zero),
 * so that the vectorised loops over them have no scalar remainder: with
 * 16 on a 512-bit target, lenet5 octo's c2 forward product is zmm
 * vpdpbusd (padded to 8, LLVM took ymm), the step 8 % faster. */
static int64_t b_cols(const Lower *L, int64_t n) {
  return pair_form(n) ? (n + L->b_align - 1) / L->b_align * L->b_align : n;
}

/* The elements of a B operand of n columns and kp k. */
static int64_t b_size(const Lower *L, int64_t n, int64_t kp) { return b_cols(L, n) * kp; }

/* The reduction length padded with zeros: to whole pairs (groups of
 * group_k), or to a multiple of 16 (one 256-bit vector of int16) for a dot
 * product, whose k loop then has no scalar remainder. */
static int64_t round_k(const Lower *L, int64_t k, int64_t n) {
  int64_t align = pair_form(n) ? group_k(L) : 16;
  return (k + align - 1) / align * align;
}

/* --- quantize --- */

/* hash_bits(stream ^ seed, step): the u32 key of this step's uniforms. */
static LExpr *rounding_key(Lower *L, const char *stream) {
  LProgram *p = L->p;
  LExpr *key = le_int(p, DT_I64, name_key(stream));
  if (L->quantize_seed) key = le_bin(p, LB_XOR, key, le_load(p, L->quantize_seed, ci(L, 0)));
  LExpr *step = L->step ? le_load(p, L->step, ci(L, 0)) : le_int(p, DT_I64, 0);
  return le_call(p, LI_HASH_BITS, key, step);
}

static LExpr *u32c(Lower *L, uint32_t v) { return le_int(L->p, DT_U32, v); }

/* The uniform in [0, 1) of element `index` under the step's key:
 * h = key ^ index * 0x9E3779B9, mixed by lowbias32 (C. Wellons' 32-bit
 * integer hash: three xor-shifts, two multiplies; a bijection, so each
 * index of a step gets its own h), then h's top 24 bits / 2^24. Written
 * in u32 arithmetic, it vectorises 8 lanes per AVX2 register: the
 * hash_uniform intrinsic's splitmix64 needs 64-bit multiplies, which AVX2
 * does not have, and cost 12 instructions an element (the weight
 * quantize of octo_simplecnn's fc1 was 13 % of its step). */
static LExpr *uniform32(Lower *L, LVar *key, LExpr *index, LBlock *out) {
  LProgram *p = L->p;
  LVar *h = lv_local(L, "h", DT_U32);
  LExpr *idx = le_bin(p, LB_MUL, le_cast(p, DT_U32, index), u32c(L, 0x9E3779B9u));
  lblock_add(out, ls_let(p, h, le_bin(p, LB_XOR, ve(L, key), idx)));
  static const struct { uint32_t shift, mul; } mix[] = {{16, 0x7feb352du}, {15, 0x846ca68bu}};
  for (size_t i = 0; i < 2; i++) {
    LExpr *x = le_bin(p, LB_XOR, ve(L, h), le_bin(p, LB_SHR, ve(L, h), u32c(L, mix[i].shift)));
    lblock_add(out, ls_assign(p, h, le_bin(p, LB_MUL, x, u32c(L, mix[i].mul))));
  }
  LExpr *x = le_bin(p, LB_XOR, ve(L, h), le_bin(p, LB_SHR, ve(L, h), u32c(L, 16)));
  LExpr *top = le_bin(p, LB_SHR, x, u32c(L, 8)); /* < 2^24: exact as f32 */
  return le_bin(p, LB_MUL, le_cast(p, DT_F32, top), cf(L, 1.0f / 16777216.0f));
}

/* m = max |x[i]| over i < count, as an integer maximum of the bits of
 * |x[i]| (the sign bit cleared): for floats that are not NaN the order of
 * |x| is the order of those bits as int32, so the result is the same
 * float, and an integer max reduction vectorises (vpmaxsd) where the
 * float one, with C's NaN rules, stays scalar. A NaN in x gives a NaN
 * scale (its bits are above infinity's) instead of being skipped. */
/* The bits of |x| as an int32 (x's bits, sign cleared). */
static LExpr *abs_bits(Lower *L, LExpr *x) {
  return le_bin(L->p, LB_AND, le_call(L->p, LI_F32_BITS, x, NULL), le_int(L->p, DT_I32, 0x7fffffff));
}

/* v clipped to [lo, hi] as range_clip computes it; v itself without a
 * clip (lo NULL). */
static LExpr *clipped(Lower *L, LExpr *v, LVar *lo, LVar *hi) {
  if (!lo) return v;
  return le_bin(L->p, LB_MIN, le_bin(L->p, LB_MAX, v, ve(L, lo)), ve(L, hi));
}

/* ... of x clipped to [lo, hi] when lo is not NULL. */
typedef struct MaxAbs {
  LVar *bits, *lo, *hi;
} MaxAbs;

static LStmt *max_abs_body(Lower *L, void *ctx, const VElem *e) {
  MaxAbs *a = ctx;
  LExpr *x = clipped(L, elem_value(L, e), a->lo, a->hi);
  return ls_assign(L->p, a->bits, le_bin(L->p, LB_MAX, ve(L, a->bits), abs_bits(L, x)));
}

static LStmt *max_abs(Lower *L, const Value *xv, LExpr *count, LVar *m, LVar *lo, LVar *hi) {
  LProgram *p = L->p;
  MaxAbs a = {lv_local(L, "mbits", DT_I32), lo, hi};
  bool zero;
  LStmt *reduce = value_extrema_loop(L, xv, lv_loop(L, "i"), count, max_abs_body, &a, &zero);
  if (zero) /* the routed error's zeros */
    reduce = seq(reduce, ls_assign(p, a.bits, le_bin(p, LB_MAX, ve(L, a.bits),
                                                     abs_bits(L, clipped(L, cf(L, 0), lo, hi)))));
  return seq3(ls_let(p, a.bits, le_int(p, DT_I32, 0)), reduce,
              ls_let(p, m, le_call(p, LI_BITS_F32, ve(L, a.bits), NULL)));
}

/* q[j] = x[j] (clipped to [lo, hi] with a clip) / s, rounded to nearest
 * even, or stochastically with the uniform of (key, j) when key is set. */
typedef struct QuantizeElem {
  LBuffer *q;
  LVar *inv, *lo, *hi, *key; /* inv = 1 / s */
  LVar *qdy;                 /* a routed window's error, quantized once */
} QuantizeElem;

/* round_even(clip(x) / s) clamped to +-127, as int8. */
static LExpr *nearest_q(Lower *L, const QuantizeElem *c, LExpr *x) {
  LProgram *p = L->p;
  LExpr *t = le_bin(p, LB_MUL, clipped(L, x, c->lo, c->hi), ve(L, c->inv));
  LExpr *r = le_call(p, LI_ROUND_EVEN, t, NULL);
  return le_cast(p, DT_I8, le_call3(p, LI_CLAMP, r, cf(L, -127), cf(L, 127)));
}

static LStmt *quantize_elem(Lower *L, void *ctx, const VElem *e) {
  QuantizeElem *c = ctx;
  LProgram *p = L->p;
  if (!c->key && e->route && e->tap >= 0) {
    /* A routed error (routed_loop: taps 0, 1, ... of one window in turn)
     * rounded to nearest: a window's taps are its error dy at the route
     * and 0 elsewhere, and 0 quantizes to 0 (a clip's range holds 0: the
     * routed zeros are in its min and max), so dy is quantized once per
     * window and each tap selects it or 0, the same int8 as quantizing
     * every tap (4x fewer float conversions for a 2x2 pool) */
    LStmt *once = NULL;
    if (e->tap == 0) {
      c->qdy = lv_local(L, "qdy", DT_I8);
      once = ls_let(p, c->qdy, nearest_q(L, c, ve(L, e->dy)));
    }
    LExpr *hit = le_bin(p, LB_EQ, ve(L, e->route), ci(L, e->tap));
    return seq(once, ls_store(p, c->q, ve(L, e->j),
                              le_select(p, hit, ve(L, c->qdy), le_int(p, DT_I8, 0))));
  }
  if (!c->key) return ls_store(p, c->q, ve(L, e->j), nearest_q(L, c, elem_value(L, e)));
  /* floor(y) as trunc(y) - (trunc(y) > y), in int32: the same integer
   * for |y| <= 128 (here |x / s| <= 127, u < 1), and gcc vectorises it,
   * where floorf under C's default trapping-math stays a libm call */
  LExpr *t = le_bin(p, LB_MUL, clipped(L, elem_value(L, e), c->lo, c->hi), ve(L, c->inv));
  LVar *y = lv_local(L, "y", DT_F32), *tr = lv_local(L, "tr", DT_I32);
  LBlock b = {0};
  LExpr *u = uniform32(L, c->key, ve(L, e->j), &b);
  lblock_add(&b, ls_let(p, y, le_bin(p, LB_ADD, t, u)));
  lblock_add(&b, ls_let(p, tr, le_cast(p, DT_I32, ve(L, y))));
  LExpr *above = le_bin(p, LB_GT, le_cast(p, DT_F32, ve(L, tr)), ve(L, y));
  LExpr *fl = le_bin(p, LB_SUB, ve(L, tr), above);
  LExpr *q = le_cast(p, DT_I8, le_call3(p, LI_CLAMP, fl, ci(L, -127), ci(L, 127)));
  return seq(b.first, ls_store(p, c->q, ve(L, e->j), q));
}

bool lower_quantize(Lower *L, const Node *n, LowerMode mode) {
  LProgram *p = L->p;
  const Value *x = n->in[0];
  LBuffer *qb = vbuf(L, n->out[0]), *sb = vbuf(L, n->out[1]);
  bool stochastic = mode == MODE_TRAIN && strcmp(node_str(n, "rounding"), "stochastic") == 0;
  lower_kernel(L, n, "quantize", L->entries);
  LVar *j = lv_loop(L, "j"), *s = lv_local(L, "s", DT_F32);
  LVar *m = lv_local(L, "maxabs", DT_F32);
  /* a fused range clip (passes/fuse.c): x's range first, then every read
   * of x clipped, as range_clip's kernel stored it (no f32 copy here) */
  const char *clip = node_str(n, "clip");
  bool clips = clip && strcmp(clip, "none") != 0;
  LVar *lo = NULL, *hi = NULL, *mn = NULL, *mx = NULL;
  LStmt *range = NULL;
  if (clips) {
    /* x's [min, max] from an earlier quantize of x (passes/fuse.c) */
    LBuffer *given = n->nin > 1 ? vbuf(L, n->in[1]) : NULL;
    lo = lv_local(L, "lo", DT_F32), hi = lv_local(L, "hi", DT_F32);
    range = lower_clip_range(L, clip, node_float(n, "p", 0.95), node_float(n, "z", 2.576), x,
                             given, lo, hi, &mn, &mx, lower_clip_counters(L, n, mode));
  } else if (n->nout > 2) {
    range = lower_min_max(L, x, lv_loop(L, "i"), &mn, &mx);
  }
  if (n->nout > 2) { /* x's min and max for later quantizes of x (passes/fuse.c) */
    LBuffer *out = vbuf(L, n->out[2]); /* a sigma clip has none: rule_quantize */
    range = seq3(range, ls_store(p, out, ci(L, 0), ve(L, mn)), ls_store(p, out, ci(L, 1), ve(L, mx)));
  }
  /* max|x| from x's producer (passes/fuse.c: its second result); when x's
   * min and max are known (a scale clip's range, or computed for later
   * quantizes), from those two: the clip is monotone, its largest
   * magnitude is at an end, and the bits' max is the one max_abs's pass
   * would find; else a pass here */
  LStmt *reduce;
  if (n->nin > 1 && !clips) {
    reduce = ls_let(p, m, ld(L, vbuf(L, n->in[1]), ci(L, 0)));
  } else if (mn && mx) {
    LExpr *bits = le_bin(p, LB_MAX, abs_bits(L, clipped(L, ve(L, mn), lo, hi)),
                         abs_bits(L, clipped(L, ve(L, mx), lo, hi)));
    reduce = ls_let(p, m, le_call(p, LI_BITS_F32, bits, NULL));
  } else {
    reduce = max_abs(L, x, extent(L, x), m, lo, hi);
  }
  LExpr *scale = le_select(p, le_bin(p, LB_GT, ve(L, m), cf(L, 0)),
                           le_bin(p, LB_DIV, ve(L, m), cf(L, 127)), cf(L, 1));
  LStmt *head = seq(range, seq3(reduce, ls_let(p, s, scale), ls_store(p, sb, ci(L, 0), ve(L, s))));
  /* x times 1 / s, as PyTorch's fake_quantize does: a division per
   * element cost more than the rest of the element's work */
  LVar *inv = lv_local(L, "inv", DT_F32);
  head = seq(head, ls_let(p, inv, le_bin(p, LB_DIV, cf(L, 1), ve(L, s))));
  QuantizeElem qe = {qb, inv, lo, hi, NULL, NULL};
  if (stochastic) {
    qe.key = lv_local(L, "key", DT_U32);
    head = seq(head, ls_let(p, qe.key, rounding_key(L, n->out[0]->name)));
  }
  LStmt *body = value_loop(L, x, j, NULL, extent(L, x), LHINT_VECTORIZE, quantize_elem, &qe);
  lower_kernel_body(L, seq(head, body));
  return true;
}

/* --- small loops --- */

static LExpr *zero_of(Lower *L, DType t) {
  return t == DT_F32 ? cf(L, 0) : le_int(L->p, t, 0);
}

/* buf[i] = 0 for the whole buffer. */
static LStmt *clear(Lower *L, LBuffer *buf) {
  LVar *i = lv_loop(L, "i");
  return loop(L, i, ci(L, shape_numel(&buf->shape)), LHINT_VECTORIZE,
              ls_store(L->p, buf, ve(L, i), zero_of(L, buf->dtype)));
}

/* The product of the two scalar scales, as a local. */
static LStmt *scale_product(Lower *L, LVar *out, const Value *sa, const Value *sb) {
  LProgram *p = L->p;
  return ls_let(p, out, le_bin(p, LB_MUL, ld(L, vbuf(L, sa), ci(L, 0)), ld(L, vbuf(L, sb), ci(L, 0))));
}

/* A load converted to the store's element type: the operands are packed
 * from int8 into int16, once, so that the product's reduction is a sum of
 * int16 x int16 pairs (vpmaddwd on x86, smlal on Arm); in the quad form
 * they stay int8 (no conversion). */
static LStmt *store_as(Lower *L, LBuffer *dst, LExpr *at, LExpr *v) {
  if (v->type != dst->dtype) v = le_cast(L->p, dst->dtype, v);
  return ls_store(L->p, dst, at, v);
}

/* Packs rows of k-contiguous elements (int16, int8 or u8): dst[doff + r*kp
 * + k] = src[soff + r*rs + k*ks] for r < rows, k < len, and 0 for len <= k
 * < kp (so the padding needs no clearing pass). A u8 dst (unsigned_a)
 * takes src + 128. */
static LStmt *pack(Lower *L, LBuffer *dst, LExpr *doff, LExpr *rows, LExpr *len, int64_t kp,
                   LBuffer *src, LExpr *soff, int64_t rs, int64_t ks) {
  LVar *r = lv_loop(L, "r"), *k = lv_loop(L, "k"), *kz = lv_loop(L, "k");
  LExpr *from = add(L, soff, add(L, mul(L, ve(L, r), ci(L, rs)), mul(L, ve(L, k), ci(L, ks))));
  LExpr *to = add(L, doff, add(L, mul(L, ve(L, r), ci(L, kp)), ve(L, k)));
  LExpr *pad_at = add(L, add(L, doff, mul(L, ve(L, r), ci(L, kp))), ve(L, kz));
  LExpr *v = ld(L, src, from);
  if (dst->dtype == DT_U8) v = le_bin(L->p, LB_ADD, le_cast(L->p, DT_I32, v), ci(L, 128));
  LStmt *copy = loop(L, k, len, 0, store_as(L, dst, to, v));
  LStmt *pad = len->kind == LE_CONST && len->i == kp
                    ? NULL
                    : ls_for(L->p, kz, len, ci(L, kp), 1, 0,
                             ls_store(L->p, dst, pad_at, zero_of(L, dst->dtype)));
  return loop(L, r, rows, 0, seq(copy, pad));
}

/* Where a B operand of n columns and kp k holds element (j, k): in pairs
 * (groups of G = group_k) of k, [k/G x n x G], so that the G terms of a
 * pair of column j are one int32, or in rows of k, [n x kp]. */
static LExpr *b_at(Lower *L, int64_t n, int64_t kp, LExpr *j, LExpr *k) {
  LProgram *p = L->p;
  if (!pair_form(n)) return add(L, mul(L, j, ci(L, kp)), k);
  n = b_cols(L, n);
  int64_t G = group_k(L);
  LExpr *pair = le_bin(p, LB_DIV, k, ci(L, G)), *half = le_bin(p, LB_REM, k, ci(L, G));
  return add(L, add(L, mul(L, pair, ci(L, G * n)), mul(L, j, ci(L, G))), half);
}

/* Packs a B operand in pairs (pair form, b_at): element (r, k) =
 * src[soff + r*rs + k*ks], each whole pair (group of G = group_k) G
 * stores at a time, looping over whichever of r and k the source is
 * contiguous along (innermost r, vectorised, for a source stored by k
 * rows: a transposed weight, an error by channels), then the last k of a
 * partial group and the zero k. */
static LStmt *pack_b_pairs(Lower *L, LBuffer *dst, LExpr *doff, int64_t n, LExpr *rows, LExpr *len,
                           int64_t kp, LBuffer *src, LExpr *soff, int64_t rs, int64_t ks) {
  LProgram *p = L->p;
  int64_t G = group_k(L);
  LVar *r = lv_loop(L, "r"), *q = lv_loop(L, "q");
  LBlock pair = {0};
  for (int64_t h = 0; h < G; h++) {
    LExpr *k = add(L, mul(L, ve(L, q), ci(L, G)), ci(L, h));
    LExpr *from = add(L, soff, add(L, mul(L, ve(L, r), ci(L, rs)), mul(L, k, ci(L, ks))));
    LExpr *to = add(L, doff, add(L, mul(L, add(L, mul(L, ve(L, q), ci(L, b_cols(L, n))), ve(L, r)),
                                        ci(L, G)), ci(L, h)));
    lblock_add(&pair, store_as(L, dst, to, ld(L, src, from)));
  }
  LExpr *pairs = le_bin(p, LB_DIV, len, ci(L, G));
  /* along k: each group's G stores are one copy of G adjacent elements
   * (scalar: vectorised across groups they were byte scatters) */
  LStmt *whole = rs == 1 ? loop(L, q, pairs, 0, loop(L, r, rows, LHINT_VECTORIZE, pair.first))
                         : loop(L, r, rows, 0, loop(L, q, pairs, ks == 1 ? LHINT_SCALAR : 0, pair.first));
  /* k from G * (len / G): the last k of a partial group, then the zeros */
  LStmt *odd = NULL, *zero = NULL;
  if (len->kind != LE_CONST || len->i % G) {
    LVar *r2 = lv_loop(L, "r"), *k = lv_loop(L, "k");
    LExpr *from = add(L, soff, add(L, mul(L, ve(L, r2), ci(L, rs)), mul(L, ve(L, k), ci(L, ks))));
    odd = ls_for(p, k, mul(L, le_bin(p, LB_DIV, len, ci(L, G)), ci(L, G)), len, 1, 0,
                 loop(L, r2, rows, 0, store_as(L, dst, add(L, doff, b_at(L, n, kp, ve(L, r2), ve(L, k))),
                                               ld(L, src, from))));
  }
  if (len->kind != LE_CONST || len->i != kp) {
    LVar *r3 = lv_loop(L, "r"), *kz = lv_loop(L, "k");
    zero = ls_for(p, kz, len, ci(L, kp), 1, 0,
                  loop(L, r3, rows, 0,
                       ls_store(p, dst, add(L, doff, b_at(L, n, kp, ve(L, r3), ve(L, kz))),
                                zero_of(L, dst->dtype))));
  }
  return seq3(whole, odd, zero);
}

/* Packs a B operand: element (r, k) = src[soff + r*rs + k*ks] for r <
 * rows, k < len, at doff + b_at(r, k), and 0 for len <= k < kp and for
 * the columns from rows to the padded width (b_cols): the samples past %n
 * when rows is the batch's, the padding columns. */
static LStmt *pack_b(Lower *L, LBuffer *dst, LExpr *doff, int64_t n, LExpr *rows, LExpr *len,
                     int64_t kp, LBuffer *src, LExpr *soff, int64_t rs, int64_t ks) {
  LStmt *out;
  if (pair_form(n)) {
    out = pack_b_pairs(L, dst, doff, n, rows, len, kp, src, soff, rs, ks);
  } else {
    LVar *r = lv_loop(L, "r"), *k = lv_loop(L, "k"), *kz = lv_loop(L, "k");
    LExpr *from = add(L, soff, add(L, mul(L, ve(L, r), ci(L, rs)), mul(L, ve(L, k), ci(L, ks))));
    LStmt *copy = loop(L, k, len, 0, store_as(L, dst, add(L, doff, b_at(L, n, kp, ve(L, r), ve(L, k))),
                                              ld(L, src, from)));
    LStmt *pad = len->kind == LE_CONST && len->i == kp
                     ? NULL
                     : ls_for(L->p, kz, len, ci(L, kp), 1, 0,
                              ls_store(L->p, dst, add(L, doff, b_at(L, n, kp, ve(L, r), ve(L, kz))),
                                       zero_of(L, dst->dtype)));
    out = loop(L, r, rows, 0, seq(copy, pad));
  }
  if (rows->kind != LE_CONST || rows->i < b_cols(L, n)) {
    LVar *c = lv_loop(L, "c"), *kc = lv_loop(L, "k");
    LStmt *zero = ls_store(L->p, dst, add(L, le_clone(L->p, doff), b_at(L, n, kp, ve(L, c), ve(L, kc))),
                           zero_of(L, dst->dtype));
    out = seq(out, ls_for(L->p, c, le_clone(L->p, rows), ci(L, b_cols(L, n)), 1, 0,
                          loop(L, kc, ci(L, kp), 0, zero)));
  }
  return out;
}

/* --- the int8 product --- */

/* A forward product's fused epilogue (passes/fuse.c): LAC's
 * + alpha[e] mu[e] + beta[e], then relu, applied to the product's output
 * right after it is computed, while it is in the L1 cache (per sample for
 * a conv), in a vectorised pass: the compensation and relu kernels it
 * replaces did the same operations, in the same order, over the whole
 * tensor in memory, so the fused program computes the same bits. e is the
 * element of a sample ([C,H,W] or [units]), or its channel. */
typedef struct Epilogue {
  LBuffer *alpha, *mu, *beta; /* NULL: no compensation */
  bool per_element;           /* alpha has one element per element of a sample */
  bool relu;
  /* a second result: max |y| over the computed samples, for the quantize
   * that reads y (passes/fuse.c), as the integer max of the bits of |y|
   * that quantize's own reduction takes (max_abs): the same float */
  LBuffer *amax;
  LVar *bits;
  /* per element, from batch 2: alpha mu + beta computed once per step
   * into this scratch (offset_prep), the same float the epilogue computed
   * per sample from three loads */
  LBuffer *offset;
  LStmt *offset_prep;
} Epilogue;

static Epilogue product_epilogue(Lower *L, const Node *n) {
  Epilogue ep = {0};
  const char *e = node_str(n, "epilogue");
  ep.relu = e && strlen(e) >= 4 && strcmp(e + strlen(e) - 4, "relu") == 0;
  if (product_epilogue_operands(n)) {
    const Value *alpha = n->in[n->nin - 3];
    ep.alpha = vbuf(L, alpha);
    ep.mu = vbuf(L, n->in[n->nin - 2]);
    ep.beta = vbuf(L, n->in[n->nin - 1]);
    /* a folded pool's y is the pooled one: the product's is pool times larger */
    int64_t pool = node_ints(n, "pool", 0, 1) * node_ints(n, "pool", 1, 1);
    ep.per_element = shape_numel(&alpha->type.shape) == per_sample(n->out[0]) * pool;
    if (ep.per_element && L->p->batch >= 2) {
      LProgram *p = L->p;
      int64_t count = shape_numel(&alpha->type.shape);
      ep.offset = scratch(L, "lac", DT_F32, count);
      LVar *e = lv_loop(L, "e");
      LExpr *am = le_bin(p, LB_MUL, ld(L, ep.alpha, ve(L, e)), ld(L, ep.mu, ve(L, e)));
      LStmt *set = ls_store(p, ep.offset, ve(L, e), le_bin(p, LB_ADD, am, ld(L, ep.beta, ve(L, e))));
      ep.offset_prep = loop(L, e, ci(L, count), LHINT_VECTORIZE, set);
    }
  }
  if (n->nout > 1) {
    ep.amax = vbuf(L, n->out[1]);
    ep.bits = lv_local(L, "mbits", DT_I32);
  }
  return ep;
}

static bool has_epilogue(const Epilogue *ep) { return ep->alpha || ep->relu || ep->amax; }

/* Around the product: the max starts at 0 and is stored as a float after. */
static LStmt *amax_start(Lower *L, const Epilogue *ep) {
  return ep->amax ? ls_let(L->p, ep->bits, le_int(L->p, DT_I32, 0)) : NULL;
}
static LStmt *amax_store(Lower *L, const Epilogue *ep) {
  if (!ep->amax) return NULL;
  return ls_store(L->p, ep->amax, ci(L, 0), le_call(L->p, LI_BITS_F32, ve(L, ep->bits), NULL));
}

/* v + alpha[e] mu[e] + beta[e] (e: channel ch's position q, or ch), then
 * relu: the epilogue's value of the product's result v. */
static LExpr *epilogue_value(Lower *L, const Epilogue *ep, LExpr *v, LExpr *ch, LExpr *q,
                             int64_t positions) {
  LProgram *p = L->p;
  if (ep->alpha) {
    LExpr *e = ep->per_element ? add(L, mul(L, ch, ci(L, positions)), q) : ch, *offset;
    if (ep->offset) { /* alpha mu + beta, computed once per step */
      offset = ld(L, ep->offset, e);
    } else {
      LExpr *am = le_bin(p, LB_MUL, ld(L, ep->alpha, e), ld(L, ep->mu, le_clone(p, e)));
      offset = le_bin(p, LB_ADD, am, ld(L, ep->beta, le_clone(p, e)));
    }
    v = le_bin(p, LB_ADD, v, offset);
  }
  if (ep->relu) v = le_bin(p, LB_MAX, v, cf(L, 0));
  return v;
}

/* y[base + c*positions + q] for the channels c < channels (the first being
 * channel c0 of a sample) and positions q < positions: the epilogue, in
 * place. NULL when there is none. */
static LStmt *epilogue_pass(Lower *L, const Epilogue *ep, LBuffer *y, LExpr *base, LExpr *c0,
                            int64_t channels, int64_t positions) {
  if (!has_epilogue(ep)) return NULL;
  LProgram *p = L->p;
  LVar *c = lv_loop(L, "c"), *q = lv_loop(L, "q");
  LExpr *at = add(L, base, add(L, mul(L, ve(L, c), ci(L, positions)), ve(L, q)));
  LExpr *v = epilogue_value(L, ep, ld(L, y, at), add(L, c0, ve(L, c)), ve(L, q), positions);
  LStmt *body;
  if (ep->amax) {
    LVar *t = lv_local(L, "y", DT_F32);
    body = seq3(ls_let(p, t, v), ep->alpha || ep->relu ? ls_store(p, y, at, ve(L, t)) : NULL,
                ls_assign(p, ep->bits, le_bin(p, LB_MAX, ve(L, ep->bits), abs_bits(L, ve(L, t)))));
  } else {
    body = ls_store(p, y, at, v);
  }
  return loop(L, c, ci(L, channels), 0, loop(L, q, ci(L, positions), LHINT_VECTORIZE, body));
}

/* An input gradient's fused relu mask (passes/fuse.c, epilogue
 * "relu_grad"): dx[base + i] = dx where the saved int8 activation there is
 * positive, else 0, for i < count, as relu_grad_i8's kernel selects it (dx
 * in a local: a select between values), on the sample just computed. NULL
 * without the epilogue. */
static LStmt *relu_mask_pass(Lower *L, const Node *n, LBuffer *dx, LExpr *base, int64_t count) {
  if (!product_epilogue_operands(n)) return NULL;
  LProgram *p = L->p;
  LBuffer *mask = vbuf(L, n->in[n->nin - 1]);
  LVar *i = lv_loop(L, "i"), *d = lv_local(L, "dx", DT_F32);
  LExpr *y = ld_f32(L, mask, add(L, base, ve(L, i)));
  LStmt *body = seq(ls_let(p, d, ld(L, dx, add(L, base, ve(L, i)))),
                    ls_store(p, dx, add(L, base, ve(L, i)), relu_mask(L, y, ve(L, d))));
  return loop(L, i, ci(L, count), LHINT_VECTORIZE, body);
}

/* The bias of a conv2d_i8 or dense_i8 node: the operand after the scales,
 * when there is one before the compensation's. */
static LBuffer *product_bias(Lower *L, const Node *n) {
  return n->nin - product_epilogue_operands(n) > 4 ? vbuf(L, n->in[4]) : NULL;
}

/* C[i, j] for i < m, j < n from A [m x kp] (rows, k-contiguous) and B
 * [n x kp] (in pairs of k, b_at), kp whole pairs, zero-padded; int16, or
 * int8 in the quad form. The result is either f32, C = scale . sum (+
 * bias[bias_off + j or i]), or an i64 accumulator, C += sum. */
typedef struct I8Gemm {
  LBuffer *a, *b;
  LExpr *aoff, *boff;
  int64_t kp;
  LExpr *m;
  int64_t n;
  LBuffer *c;
  LExpr *coff;
  int64_t crs, ccs;
  LVar *scale;   /* f32 result */
  LBuffer *bias; /* or NULL */
  LExpr *bias_off;
  bool bias_by_col;
  /* dot form: B's row j is the tap j = (c, kh, kw) of a zero-bordered
   * input (xpad, conv_dw_wide), at xpad_tap, not at j * kp */
  const Conv *b_taps;
  /* f32 result: the epilogue applied as each element is stored (C's row
   * r is channel ep_c0 + r, its column the position), or NULL */
  const Epilogue *ep;
  LExpr *ep_c0;
  int64_t ep_positions;
  /* set by i8_gemm: the int32 sums of a block, and their int64 totals
   * for a reduction longer than I8_CHUNK (else acc) */
  LBuffer *acc, *total;
  /* set by i8_gemm when A is u8 (unsigned_a): B's column sums over k of
   * the panel (int32), and four bytes of 1 that make them with dot4_u8i8 */
  LBuffer *csum, *ones;
} I8Gemm;

/* The epilogue of C[row, j] given its whole sum. */
static LStmt *i8_store(Lower *L, const I8Gemm *g, LExpr *row, LExpr *j, LExpr *total) {
  LProgram *p = L->p;
  LExpr *at = add(L, g->coff, add(L, mul(L, row, ci(L, g->crs)), mul(L, j, ci(L, g->ccs))));
  if (g->c->dtype == DT_I64)
    return ls_store(p, g->c, at, le_bin(p, LB_ADD, ld(L, g->c, at), le_cast(p, DT_I64, total)));
  LExpr *v = le_bin(p, LB_MUL, le_cast(p, DT_F32, total), ve(L, g->scale));
  if (g->bias) v = le_bin(p, LB_ADD, v, ld(L, g->bias, add(L, g->bias_off, g->bias_by_col ? j : row)));
  if (g->ep)
    v = epilogue_value(L, g->ep, v, add(L, le_clone(p, g->ep_c0), le_clone(p, row)), le_clone(p, j),
                       g->ep_positions);
  return ls_store(p, g->c, at, v);
}

/* buf[t] = v for t in [0, count). */
static LStmt *fill_n(Lower *L, LBuffer *buf, int64_t count, LExpr *v) {
  LVar *t = lv_loop(L, "t");
  return loop(L, t, ci(L, count), LHINT_VECTORIZE, ls_store(L->p, buf, ve(L, t), v));
}

/* The zero-bordered input xpad: a group's channels, each padded_h x
 * padded_w. */
static int64_t padded_h(const Conv *g) { return g->h + 2 * g->ph; }
static int64_t padded_w(const Conv *g) { return g->w + 2 * g->pw; }
static int64_t xpad_numel(const Conv *g) { return g->cg * padded_h(g) * padded_w(g); }

/* xpad's index of tap (c, kh, kw) at output (0, 0) */
static LExpr *xpad_tap(Lower *L, const Conv *g, LExpr *c, LExpr *kh, LExpr *kw) {
  return add(L, mul(L, add(L, mul(L, c, ci(L, padded_h(g))), kh), ci(L, padded_w(g))), kw);
}

static LExpr *div_or_self(Lower *L, LExpr *a, int64_t d) {
  return d == 1 ? a : le_bin(L->p, LB_DIV, a, ci(L, d));
}
static LExpr *rem_of(Lower *L, LExpr *a, int64_t d) { return le_bin(L->p, LB_REM, a, ci(L, d)); }

/* Where B's row j starts: j * kp, or for b_taps the tap j's place in
 * xpad. */
static LExpr *b_row(Lower *L, const I8Gemm *g, LExpr *j) {
  const Conv *t = g->b_taps;
  if (!t) return mul(L, j, ci(L, g->kp));
  /* j = (c * KH + kh) * KW + kw */
  LExpr *c = div_or_self(L, le_clone(L->p, j), t->kh * t->kw);
  LExpr *kh = t->kh == 1 ? ci(L, 0) : rem_of(L, div_or_self(L, le_clone(L->p, j), t->kw), t->kh);
  LExpr *kw = t->kw == 1 ? ci(L, 0) : rem_of(L, j, t->kw);
  return xpad_tap(L, t, c, kh, kw);
}

/* The register block: I8_MR rows of C per pass over B (each pair of B
 * serves them all) and I8_KU pairs of k per pass (each row of int32 sums
 * is loaded and stored once per I8_KU pairs); a matrix of at most
 * I8_MR_MAX rows is one block. Columns in panels of I8_NC, so that the
 * block's sums stay in the L1 cache. I8_KU 8 rather than 4 (callgrind,
 * per 10 steps at batch 32, octo): lenet5 151.7 M -> 147.8 M,
 * octo_simplecnn 259.4 M -> 251.3 M; 16 was worse (153.9 M, 263.6 M).
 * It costs octoc 16 % more instructions on lenet5 octo (6.92 G -> 8.04 G),
 * int8 modes only. */
enum { I8_MR = 4, I8_MR_MAX = 6, I8_KU = 8, I8_NC = 1024 };
/* The dot form's register block: a block of C of up to I8_DOT_MR x
 * I8_DOT_NR elements keeps one vector of partial sums per element, so
 * every step of a row of A it loads serves I8_DOT_NR columns and every
 * step of B I8_DOT_MR rows. */
enum { I8_DOT_MR = 2, I8_DOT_NR = 4 };

/* A block origin, v * step + base (v NULL: just base), built afresh per
 * use from loop variables so the verifier bounds every load. */
typedef struct Origin {
  LVar *v;
  int64_t step, base;
} Origin;

static LExpr *at_origin(Lower *L, Origin o, int64_t plus) {
  if (!o.v) return ci(L, o.base + plus);
  LExpr *e = o.step == 1 ? ve(L, o.v) : mul(L, ve(L, o.v), ci(L, o.step));
  return o.base + plus ? add(L, e, ci(L, o.base + plus)) : e;
}

/* The int32 lanes of the dot form's partial sums: a step of k is 16
 * int16, one pmaddwd of 256 bits, a pair per lane. */
enum { I8_LANES = 8, I8_DOT_STEP = 2 * I8_LANES };

/* The lanes of C[i0 + r, j0 + c] summed: an int32 (a reduction of at
 * most I8_CHUNK products). */
static LExpr *lane_sum(Lower *L, const I8Gemm *g, int t) {
  LExpr *sum = NULL;
  for (int l = 0; l < I8_LANES; l++) {
    LExpr *v = ld(L, g->acc, ci(L, t * I8_LANES + l));
    sum = sum ? le_bin(L->p, LB_ADD, sum, v) : v;
  }
  return sum;
}

/* The dot form's block of C at rows i0 .. i0+mr-1, columns j0 .. j0+nr-1:
 * each element's dot product over [0, kp) as I8_LANES partial sums,
 * lane l taking the pairs 2l, 2l+1 of every step of k (dot2_i16 in a
 * vectorised loop over the lanes: pmaddwd), summed at the end; a reduction
 * longer than I8_CHUNK in chunks whose sums are widened into int64. */
static LStmt *dot_block(Lower *L, const I8Gemm *g, Origin i0, Origin j0, int mr, int nr) {
  LProgram *p = L->p;
  int nt = mr * nr;
  int64_t steps = g->kp / I8_DOT_STEP, per = I8_CHUNK / I8_DOT_STEP;
  bool chunked = steps > per;
  LVar *kb = lv_loop(L, "kb"), *l = lv_loop(L, "l");
  LVar *ch = chunked ? lv_loop(L, "ch") : NULL;
  LBlock body = {0}, fold = {0}, wides = {0}, out = {0};
  LVar *wide[I8_DOT_MR * I8_DOT_NR];
  for (int t = 0; t < nt; t++) {
    int r = t / nr, c = t % nr;
    LExpr *at = add(L, ci(L, t * I8_LANES), ve(L, l));
    LExpr *k = add(L, mul(L, ve(L, kb), ci(L, I8_DOT_STEP)), mul(L, ve(L, l), ci(L, 2)));
    LExpr *ai = add(L, g->aoff, add(L, mul(L, at_origin(L, i0, r), ci(L, g->kp)), k));
    LExpr *bj = add(L, g->boff, add(L, b_row(L, g, at_origin(L, j0, c)),
                                    add(L, mul(L, ve(L, kb), ci(L, I8_DOT_STEP)),
                                        mul(L, ve(L, l), ci(L, 2)))));
    LExpr *d = le_call3(p, LI_DOT2_I16, ld(L, g->acc, at), ld(L, g->a, ai), ld(L, g->b, bj));
    lblock_add(&body, ls_store(p, g->acc, add(L, ci(L, t * I8_LANES), ve(L, l)), d));
    LExpr *total = lane_sum(L, g, t);
    if (chunked) {
      wide[t] = lv_local(L, "wide", DT_I64);
      lblock_add(&wides, ls_let(p, wide[t], le_int(p, DT_I64, 0)));
      lblock_add(&fold, ls_assign(p, wide[t], le_bin(p, LB_ADD, ve(L, wide[t]),
                                                     le_cast(p, DT_I64, total))));
      total = ve(L, wide[t]);
    }
    lblock_add(&out, i8_store(L, g, at_origin(L, i0, r), at_origin(L, j0, c), total));
  }
  LExpr *lo = chunked ? mul(L, ve(L, ch), ci(L, per)) : ci(L, 0);
  LExpr *hi = chunked ? le_bin(p, LB_MIN, add(L, mul(L, ve(L, ch), ci(L, per)), ci(L, per)),
                               ci(L, steps))
                      : ci(L, steps);
  LStmt *sum = seq(fill_n(L, g->acc, nt * I8_LANES, le_int(p, DT_I32, 0)),
                   ls_for(p, kb, lo, hi, 1, 0, loop(L, l, ci(L, I8_LANES), LHINT_VECTORIZE, body.first)));
  if (chunked) {
    int64_t chunks = (steps + per - 1) / per;
    sum = seq(wides.first, loop(L, ch, ci(L, chunks), 0, seq(sum, fold.first)));
  }
  return seq(sum, out.first);
}

/* C = A . B^T in the dot form: I8_DOT_MR x I8_DOT_NR blocks (the last columns in a narrower block),
 * then the rows past the last whole block one element at a time; single
 * elements throughout for a small B. */
static LStmt *dot_gemm(Lower *L, const I8Gemm *gemm) {
  LProgram *p = L->p;
  I8Gemm h = *gemm, *g = &h;
  g->acc = g->total = scratch(L, "lanes", DT_I32, I8_DOT_MR * I8_DOT_NR * I8_LANES);
  LVar *i = lv_loop(L, "i"), *j = lv_loop(L, "j");
  LStmt *single = loop(L, j, ci(L, g->n), 0,
                       dot_block(L, g, (Origin){i, 1, 0}, (Origin){j, 1, 0}, 1, 1));
  if (g->n < I8_DOT_NR) return loop(L, i, g->m, 0, single);
  LVar *ib = lv_loop(L, "ib"), *jb = lv_loop(L, "jb");
  Origin i0 = {ib, I8_DOT_MR, 0};
  int64_t nb = g->n / I8_DOT_NR;
  int nrest = (int)(g->n % I8_DOT_NR);
  LStmt *row = loop(L, jb, ci(L, nb), 0, dot_block(L, g, i0, (Origin){jb, I8_DOT_NR, 0}, I8_DOT_MR, I8_DOT_NR));
  if (nrest) row = seq(row, dot_block(L, g, i0, (Origin){NULL, 0, g->n - nrest}, I8_DOT_MR, nrest));
  LExpr *mb = le_bin(p, LB_DIV, g->m, ci(L, I8_DOT_MR));
  return seq(loop(L, ib, mb, 0, row),
             ls_for(p, i, mul(L, mb, ci(L, I8_DOT_MR)), g->m, 1, 0, single));
}

/* One block's pass: rows i0 .. i0+mr-1, columns j0 .. j0+nc-1, pairs q0 ..
 * q0+nq-1 of k: acc[r, j] = dot2_i16 (or dot4_i8) chain over the pairs,
 * from acc[r, j] (from 0 in a first pass). */
static LStmt *pair_pass(Lower *L, const I8Gemm *g, LBuffer *acc, Origin i0, int mr, LExpr *j0,
                        int64_t nc, Origin q0, int nq, bool first) {
  LProgram *p = L->p;
  LVar *j = lv_loop(L, "j");
  LBlock body = {0};
  int64_t G = group_k(L);
  for (int r = 0; r < mr; r++) {
    LExpr *at = add(L, ci(L, r * nc), ve(L, j));
    LExpr *sum = first ? le_int(p, DT_I32, 0) : ld(L, acc, at);
    for (int q = 0; q < nq; q++) {
      LExpr *a = add(L, g->aoff, add(L, mul(L, at_origin(L, i0, r), ci(L, g->kp)),
                                     mul(L, at_origin(L, q0, q), ci(L, G))));
      LExpr *b = add(L, g->boff, add(L, mul(L, at_origin(L, q0, q), ci(L, G * b_cols(L, g->n))),
                                     mul(L, add(L, j0, ve(L, j)), ci(L, G))));
      sum = group_step(L, sum, ld(L, g->a, a), ld(L, g->b, b));
    }
    lblock_add(&body, ls_store(p, acc, add(L, ci(L, r * nc), ve(L, j)), sum));
  }
  return loop(L, j, ci(L, nc), LHINT_VECTORIZE, body.first);
}

/* The passes over pairs [q_lo, q_hi) of k, I8_KU at a time, then the
 * rest: the first pass stores (first) or all accumulate. */
static LStmt *pair_passes(Lower *L, const I8Gemm *g, LBuffer *acc, Origin i0, int mr, LExpr *j0,
                          int64_t nc, LExpr *q_lo, LExpr *q_hi, int64_t pairs, bool first) {
  int64_t blocks = pairs / I8_KU;
  int rest = (int)(pairs % I8_KU);
  LStmt *out = NULL;
  int64_t kb0 = first && blocks > 0 ? 1 : 0;
  if (kb0) out = pair_pass(L, g, acc, i0, mr, j0, nc, (Origin){NULL, 0, 0}, I8_KU, true);
  if (blocks > kb0) {
    LVar *kb = lv_loop(L, "kb");
    LExpr *lo = q_lo ? le_bin(L->p, LB_DIV, q_lo, ci(L, I8_KU)) : ci(L, kb0);
    LExpr *hi = q_hi ? le_bin(L->p, LB_DIV, q_hi, ci(L, I8_KU)) : ci(L, blocks);
    out = seq(out, ls_for(L->p, kb, lo, hi, 1, 0,
                          pair_pass(L, g, acc, i0, mr, j0, nc, (Origin){kb, I8_KU, 0}, I8_KU, false)));
  }
  if (rest)
    out = seq(out, pair_pass(L, g, acc, i0, mr, j0, nc, (Origin){NULL, 0, pairs - rest}, rest,
                             first && !blocks));
  return out;
}

/* total[t] += acc[t], widened, for t in [0, count). */
static LStmt *widen_into(Lower *L, LBuffer *total, LBuffer *acc, int64_t count) {
  LProgram *p = L->p;
  LVar *t = lv_loop(L, "t");
  LExpr *sum = le_bin(p, LB_ADD, ld(L, total, ve(L, t)), le_cast(p, DT_I64, ld(L, acc, ve(L, t))));
  return loop(L, t, ci(L, count), LHINT_VECTORIZE, ls_store(p, total, ve(L, t), sum));
}

/* The block of C at rows i0 .. i0+mr-1, columns j0 .. j0+nc-1 (nv of
 * them in C, the rest B's padding): its sums in int32, or, for a reduction
 * longer than I8_CHUNK, chunks of it summed in int32 and widened into
 * int64 totals; then the epilogue. */
static LStmt *pair_block(Lower *L, const I8Gemm *g, Origin i0, int mr, LExpr *j0, int64_t nc,
                         int64_t nv) {
  LProgram *p = L->p;
  LBuffer *acc = g->acc, *total = g->total;
  int64_t pairs = g->kp / group_k(L);
  LStmt *sums;
  if (total == acc) {
    sums = pair_passes(L, g, acc, i0, mr, j0, nc, NULL, NULL, pairs, true);
  } else {
    /* chunks of at most I8_CHUNK / G pairs, rounded down to a multiple of
     * I8_KU (I8_CHUNK / 4 is not one): the blocks of each chunk, then the
     * last pairs (fewer than I8_KU) as one more */
    int64_t per = I8_CHUNK / group_k(L) / I8_KU * I8_KU, whole = pairs / I8_KU * I8_KU;
    int64_t chunks = (whole + per - 1) / per;
    LVar *ch = lv_loop(L, "ch");
    LExpr *lo = mul(L, ve(L, ch), ci(L, per));
    LExpr *hi = le_bin(p, LB_MIN, add(L, mul(L, ve(L, ch), ci(L, per)), ci(L, per)), ci(L, whole));
    LStmt *chunk = seq3(fill_n(L, acc, mr * nc, le_int(p, DT_I32, 0)),
                        pair_passes(L, g, acc, i0, mr, j0, nc, lo, hi, whole, false),
                        widen_into(L, total, acc, mr * nc));
    sums = seq(fill_n(L, total, mr * nc, le_int(p, DT_I64, 0)), loop(L, ch, ci(L, chunks), 0, chunk));
    if (pairs > whole)
      sums = seq3(sums, pair_pass(L, g, acc, i0, mr, j0, nc, (Origin){NULL, 0, whole},
                                  (int)(pairs - whole), true),
                  widen_into(L, total, acc, mr * nc));
  }
  LBlock out = {0};
  for (int r = 0; r < mr; r++) {
    LVar *j = lv_loop(L, "j");
    LExpr *sum = ld(L, total, add(L, ci(L, r * nc), ve(L, j)));
    if (g->csum) /* A moved up by 128: i32(u32(sum) - (u32(csum[j]) << 7)), wrapping */
      sum = le_cast(p, DT_I32,
                    le_bin(p, LB_SUB, le_cast(p, DT_U32, sum),
                           le_bin(p, LB_SHL, le_cast(p, DT_U32, ld(L, g->csum, ve(L, j))),
                                  le_int(p, DT_U32, 7))));
    lblock_add(&out, loop(L, j, ci(L, nv), LHINT_VECTORIZE,
                          i8_store(L, g, at_origin(L, i0, r), add(L, j0, ve(L, j)), sum)));
  }
  return seq(sums, out.first);
}

/* csum[j] = the sum over k of B's column j0 + j, for j < nc: dot4_u8i8
 * of bytes 1 and each quad of B, once per panel for all its rows. */
static LStmt *column_sums(Lower *L, const I8Gemm *g, LExpr *j0, int64_t nc) {
  LProgram *p = L->p;
  int64_t G = group_k(L); /* 4: A is u8 only in the quad form */
  LVar *q = lv_loop(L, "q"), *j = lv_loop(L, "j");
  LExpr *b = add(L, g->boff, add(L, mul(L, ve(L, q), ci(L, G * b_cols(L, g->n))),
                                 mul(L, add(L, le_clone(p, j0), ve(L, j)), ci(L, G))));
  LExpr *sum = le_call3(p, LI_DOT4_U8I8, ld(L, g->csum, ve(L, j)), ld(L, g->ones, ci(L, 0)),
                        ld(L, g->b, b));
  return seq3(fill_n(L, g->ones, G, le_int(p, DT_U8, 1)),
              fill_n(L, g->csum, nc, le_int(p, DT_I32, 0)),
              loop(L, q, ci(L, g->kp / G), 0,
                   loop(L, j, ci(L, nc), LHINT_VECTORIZE, ls_store(p, g->csum, ve(L, j), sum))));
}

/* The columns j0 .. j0+nv-1 of C: blocks of I8_MR rows, then the rest
 * (one block when m is a constant, single rows when it is %n); B's
 * column sums first when A is u8. */
static LStmt *pair_panel(Lower *L, const I8Gemm *g, LExpr *j0, int64_t nv) {
  int64_t nc = b_cols(L, nv);
  LProgram *p = L->p;
  LStmt *sums = g->csum ? column_sums(L, g, j0, nc) : NULL;
  if (g->m->kind == LE_CONST && g->m->i <= I8_MR_MAX)
    return g->m->i > 0
               ? seq(sums, pair_block(L, g, (Origin){NULL, 0, 0}, (int)g->m->i, j0, nc, nv))
               : NULL;
  LVar *ib = lv_loop(L, "ib"), *i = lv_loop(L, "i");
  LExpr *mb = le_bin(p, LB_DIV, g->m, ci(L, I8_MR));
  LStmt *out = seq(sums, loop(L, ib, mb, 0, pair_block(L, g, (Origin){ib, I8_MR, 0}, I8_MR, j0, nc, nv)));
  if (g->m->kind == LE_CONST) {
    int rest = (int)(g->m->i % I8_MR);
    return rest ? seq(out, pair_block(L, g, (Origin){NULL, 0, g->m->i - rest}, rest, j0, nc, nv)) : out;
  }
  return seq(out, ls_for(p, i, mul(L, mb, ci(L, I8_MR)), g->m, 1, 0,
                         pair_block(L, g, (Origin){i, 1, 0}, 1, j0, nc, nv)));
}

/* C = A . B^T: in the pair form, in column panels of I8_NC; in the dot
 * form for few columns. */
static LStmt *i8_gemm(Lower *L, const I8Gemm *gemm) {
  if (!pair_form(gemm->n)) return dot_gemm(L, gemm);
  I8Gemm h = *gemm, *g = &h;
  int64_t nc = b_cols(L, g->n < I8_NC ? g->n : I8_NC);
  g->acc = g->total = scratch(L, "acc32", DT_I32, I8_MR_MAX * nc);
  if (g->kp > I8_CHUNK) g->total = scratch(L, "acc64", DT_I64, I8_MR_MAX * nc);
  if (g->a->dtype == DT_U8) {
    g->csum = scratch(L, "csum", DT_I32, nc);
    g->ones = scratch(L, "ones", DT_U8, 4);
  }
  if (g->n <= I8_NC) return pair_panel(L, g, ci(L, 0), g->n);
  LVar *jc = lv_loop(L, "jc");
  LStmt *out = loop(L, jc, ci(L, g->n / I8_NC), 0, pair_panel(L, g, mul(L, ve(L, jc), ci(L, I8_NC)), I8_NC));
  if (g->n % I8_NC) out = seq(out, pair_panel(L, g, ci(L, g->n / I8_NC * I8_NC), g->n % I8_NC));
  return out;
}

/* --- dense --- */

/* y = s_x s_w . x . w^T + b. With more units than samples in the compiled
 * batch, the weight is A and x is B: the result is y transposed, stored
 * with the row stride 1 (B, x, is the small operand then). Otherwise x's
 * rows are A and w is B. */
bool lower_dense_i8(Lower *L, const Node *n, LowerMode mode) {
  (void)mode;
  const Value *x = n->in[0], *w = n->in[2], *y = n->out[0];
  int64_t f = x->type.shape.dim[1], u = y->type.shape.dim[1], b = L->p->batch,
          fp = round_k(L, f, u > b ? b : u);
  lower_kernel(L, n, "fwd", L->entries);
  LVar *scale = lv_local(L, "scale", DT_F32);
  LBuffer *bias = product_bias(L, n);
  Epilogue ep = product_epilogue(L, n);
  LVar *s = lv_loop(L, "s");
  /* per sample, the units (y is [n x U] in both orientations) */
  LStmt *post = has_epilogue(&ep)
                    ? seq(loop(L, s, batch_n(L), 0,
                               epilogue_pass(L, &ep, vbuf(L, y), mul(L, ve(L, s), ci(L, u)),
                                             ci(L, 0), 1, u)),
                          amax_store(L, &ep))
                    : NULL;
  int64_t cols = u > b ? b : u;
  LBuffer *xp = scratch(L, "xp", u > b ? operand_type(L, cols) : a_type(L, cols, fp),
                        u > b ? b_size(L, b, fp) : b * fp);
  LBuffer *wp = scratch(L, "wp", u > b ? a_type(L, cols, fp) : operand_type(L, cols),
                        u > b ? u * fp : b_size(L, u, fp));
  LStmt *prep = seq3(scale_product(L, scale, n->in[1], n->in[3]), amax_start(L, &ep),
                     ep.offset_prep);
  if (u > b) { /* more units than samples: yT [U x B] = w . xT */
    I8Gemm g = {.a = wp, .b = xp, .aoff = ci(L, 0), .boff = ci(L, 0), .kp = fp, .m = ci(L, u),
                .n = b, .c = vbuf(L, y), .coff = ci(L, 0), .crs = 1, .ccs = u, .scale = scale,
                .bias = bias, .bias_off = ci(L, 0)};
    /* the samples past %n are columns of yT too: zeros, not stale data */
    prep = seq3(prep, pack(L, wp, ci(L, 0), ci(L, u), ci(L, f), fp, vbuf(L, w), ci(L, 0), f, 1),
                pack_b(L, xp, ci(L, 0), b, batch_n(L), ci(L, f), fp, vbuf(L, x), ci(L, 0), f, 1));
    lower_kernel_body(L, seq3(prep, i8_gemm(L, &g), post));
    return true;
  }
  I8Gemm g = {.a = xp, .b = wp, .aoff = ci(L, 0), .boff = ci(L, 0), .kp = fp, .m = batch_n(L),
              .n = u, .c = vbuf(L, y), .coff = ci(L, 0), .crs = u, .ccs = 1, .scale = scale,
              .bias = bias, .bias_off = ci(L, 0), .bias_by_col = true};
  prep = seq3(prep, pack_b(L, wp, ci(L, 0), u, ci(L, u), ci(L, f), fp, vbuf(L, w), ci(L, 0), f, 1),
              pack(L, xp, ci(L, 0), batch_n(L), ci(L, f), fp, vbuf(L, x), ci(L, 0), f, 1));
  lower_kernel_body(L, seq3(prep, i8_gemm(L, &g), post));
  return true;
}

/* dx = s_e s_w . dy . w: dy's rows as they are, w transposed into rows of
 * U. */
bool lower_dense_i8_dx(Lower *L, const Node *n, LowerMode mode) {
  (void)mode;
  const Value *dy = n->in[0], *w = n->in[2], *dx = n->out[0];
  int64_t u = dy->type.shape.dim[1], f = dx->type.shape.dim[1], up = round_k(L, u, f),
          b = L->p->batch;
  lower_kernel(L, n, "dx", L->entries);
  LVar *scale = lv_local(L, "scale", DT_F32);
  LBuffer *wt = scratch(L, "wt", operand_type(L, f), b_size(L, f, up));
  LBuffer *dyp = scratch(L, "dyp", a_type(L, f, up), b * up);
  I8Gemm g = {.a = dyp, .b = wt, .aoff = ci(L, 0), .boff = ci(L, 0), .kp = up,
              .m = batch_n(L), .n = f, .c = vbuf(L, dx), .coff = ci(L, 0), .crs = f, .ccs = 1,
              .scale = scale};
  LStmt *prep = seq3(scale_product(L, scale, n->in[1], n->in[3]),
                     pack_b(L, wt, ci(L, 0), f, ci(L, f), ci(L, u), up, vbuf(L, w), ci(L, 0), 1, f),
                     pack(L, dyp, ci(L, 0), batch_n(L), ci(L, u), up, vbuf(L, dy), ci(L, 0), u, 1));
  LVar *s = lv_loop(L, "s");
  LStmt *mask = relu_mask_pass(L, n, vbuf(L, dx), mul(L, ve(L, s), ci(L, f)), f);
  lower_kernel_body(L, seq3(prep, i8_gemm(L, &g), mask ? loop(L, s, batch_n(L), 0, mask) : NULL));
  return true;
}

/* dw = s_x s_e . dy^T . x: both transposed into rows over the compiled
 * batch (the samples past %n are zero padding). */
bool lower_dense_i8_dw(Lower *L, const Node *n, LowerMode mode) {
  (void)mode;
  const Value *x = n->in[0], *dy = n->in[2], *dw = n->out[0];
  int64_t u = dy->type.shape.dim[1], f = x->type.shape.dim[1], bp = round_k(L, L->p->batch, f);
  lower_kernel(L, n, "dw", L->entries);
  LVar *scale = lv_local(L, "scale", DT_F32);
  LBuffer *dyt = scratch(L, "dyt", a_type(L, f, bp), u * bp);
  LBuffer *xt = scratch(L, "xt", operand_type(L, f), b_size(L, f, bp));
  I8Gemm g = {.a = dyt, .b = xt, .aoff = ci(L, 0), .boff = ci(L, 0), .kp = bp, .m = ci(L, u),
              .n = f, .c = vbuf(L, dw), .coff = ci(L, 0), .crs = f, .ccs = 1, .scale = scale};
  LStmt *prep = seq3(scale_product(L, scale, n->in[1], n->in[3]),
                     pack(L, dyt, ci(L, 0), ci(L, u), batch_n(L), bp, vbuf(L, dy), ci(L, 0), 1, u),
                     pack_b(L, xt, ci(L, 0), f, ci(L, f), batch_n(L), bp, vbuf(L, x), ci(L, 0), 1, f));
  lower_kernel_body(L, seq(prep, i8_gemm(L, &g)));
  return true;
}

/* --- convolution --- */

/* One tap of the im2col walk: channel cl of group gv, kernel offset (kh,
 * kw), output position (oh, ow) of sample s. The tap_* functions build a
 * fresh expression per use. */
typedef struct Tap {
  const Conv *g;
  LVar *s, *gv, *cl, *kh, *kw, *oh, *ow;
} Tap;

static LExpr *tap_ih(Lower *L, const Tap *t) {
  return add(L, sub(L, mul(L, ve(L, t->oh), ci(L, t->g->sh)), ci(L, t->g->ph)), ve(L, t->kh));
}
static LExpr *tap_iw(Lower *L, const Tap *t) {
  return add(L, sub(L, mul(L, ve(L, t->ow), ci(L, t->g->sw)), ci(L, t->g->pw)), ve(L, t->kw));
}
/* x[s, gv*Cg + cl, ih, iw] */
static LExpr *tap_xi(Lower *L, const Tap *t) {
  const Conv *g = t->g;
  LExpr *chan = add(L, mul(L, ve(L, t->gv), ci(L, g->cg)), ve(L, t->cl));
  LExpr *row = add(L, mul(L, add(L, mul(L, ve(L, t->s), ci(L, g->c)), chan), ci(L, g->h)), tap_ih(L, t));
  return add(L, mul(L, row, ci(L, g->w)), tap_iw(L, t));
}
static LExpr *tap_kc(Lower *L, const Tap *t) {
  return add(L, mul(L, add(L, mul(L, ve(L, t->cl), ci(L, t->g->kh)), ve(L, t->kh)), ci(L, t->g->kw)),
             ve(L, t->kw));
}
static LExpr *tap_pos(Lower *L, const Tap *t) {
  return add(L, mul(L, ve(L, t->oh), ci(L, t->g->ow)), ve(L, t->ow));
}

/* What is done at a tap whose input pixel is inside the image (taps on the
 * padding are skipped: their column entries stay zero, or receive
 * nothing). */
typedef LStmt *(*TapFn)(Lower *L, void *ctx, const Tap *t);

/* The output positions o whose input o*s - pad + k lies in [0, size):
 * [max(0, ceil((pad - k) / s)), min(out, ceil((size + pad - k) / s))), with
 * C's truncating division (a negative numerator only gives a value the
 * clamp replaces). Unpadded, every output sees its whole window. */
static LExpr *valid_lo(Lower *L, LVar *k, int64_t pad, int64_t s) {
  if (pad == 0) return ci(L, 0);
  LProgram *p = L->p;
  LExpr *num = sub(L, ci(L, pad + s - 1), ve(L, k));
  return le_bin(p, LB_MAX, ci(L, 0), s == 1 ? num : le_bin(p, LB_DIV, num, ci(L, s)));
}
static LExpr *valid_hi(Lower *L, LVar *k, int64_t size, int64_t pad, int64_t s, int64_t out) {
  if (pad == 0) return ci(L, out);
  LProgram *p = L->p;
  LExpr *num = sub(L, ci(L, size + pad + s - 1), ve(L, k));
  return le_bin(p, LB_MIN, ci(L, out), s == 1 ? num : le_bin(p, LB_DIV, num, ci(L, s)));
}

/* Wide rows: an output row of a few columns more than a multiple of the
 * vector width (lenet5's c2: 10, c1: 28) costs a scalar remainder per row
 * of every tap. Written `wide` columns at a time instead (ow rounded up
 * to 8), each row but the last spills into the start of the next, which
 * the next row then overwrites (the rows are written in order), and the
 * last row is written exactly. The spill stays inside the tap's own
 * positions (wide <= 2 OW); the reads past a row's end must stay inside
 * the source (the callers check the largest index read, wide_reach).
 * 0: not worth it (OW a multiple of 8) or not possible. */
static int64_t wide_cols(const Conv *g) {
  int64_t wide = (g->ow + 7) / 8 * 8;
  return g->oh >= 2 && wide != g->ow && wide <= 2 * g->ow ? wide : 0;
}

/* The wide rows' largest source offset from a tap's origin: row OH-2's
 * element wide-1. */
static int64_t wide_reach(const Conv *g, int64_t row_pitch, int64_t wide) {
  return (g->oh - 2) * g->sh * row_pitch + (wide - 1) * g->sw;
}

/* An unpadded im2col by rows (COL_ROWS) in wide rows: the source is x's
 * plane (H x W), so its last tap's wide rows must end inside it. */
static int64_t each_tap_wide(const Conv *g) {
  int64_t wide = wide_cols(g);
  if (!wide || g->ph || g->pw) return 0;
  int64_t last_tap = (g->kh - 1) * g->w + g->kw - 1;
  return last_tap + wide_reach(g, g->w, wide) < g->h * g->w ? wide : 0;
}

/* An im2col's output rows: all OH exact, or (wide > 0) rows 0 .. OH-2
 * `wide` columns each and the last exact (wide_cols); `last` is a second
 * copy of the body for the last row. */
static LStmt *im2col_rows(Lower *L, const Conv *g, LVar *oh, LVar *ow, int64_t wide, LStmt *body,
                        LStmt *last) {
  LProgram *p = L->p;
  if (!wide) return loop(L, oh, ci(L, g->oh), 0, loop(L, ow, ci(L, g->ow), LHINT_VECTORIZE, body));
  return seq(ls_for(p, oh, ci(L, 0), ci(L, g->oh - 1), 1, 0,
                    ls_for(p, ow, ci(L, 0), ci(L, wide), 1, LHINT_VECTORIZE, body)),
             ls_for(p, oh, ci(L, g->oh - 1), ci(L, g->oh), 1, 0,
                    ls_for(p, ow, ci(L, 0), ci(L, g->ow), 1, LHINT_VECTORIZE, last)));
}

/* The taps in the image: per (c, kh, kw), the rows oh and columns ow whose
 * input pixel is inside, as loop bounds (no test per element, so the inner
 * copy is a plain loop). With wide > 0 (each_tap_wide: unpadded, every
 * row whole), rows 0 .. OH-2 `wide` columns each and row OH-1 exact. */
static LStmt *each_tap(Lower *L, const Conv *g, LVar *s, LVar *gv, TapFn fn, void *ctx,
                       int64_t wide) {
  LProgram *p = L->p;
  Tap t = {g, s, gv, lv_loop(L, "c"), lv_loop(L, "kh"), lv_loop(L, "kw"), lv_loop(L, "oh"),
           lv_loop(L, "ow")};
  if (wide) {
    LStmt *body = fn(L, ctx, &t), *last = fn(L, ctx, &t);
    return loop(L, t.cl, ci(L, g->cg), 0,
                loop(L, t.kh, ci(L, g->kh), 0,
                     loop(L, t.kw, ci(L, g->kw), 0, im2col_rows(L, g, t.oh, t.ow, wide, body, last))));
  }
  /* the bounds are locals: the verifier does not bound a load whose loop
   * runs between them (it cannot see that they keep the pixel inside) */
  LVar *ohlo = lv_local(L, "ohlo", DT_I32), *ohhi = lv_local(L, "ohhi", DT_I32);
  LVar *owlo = lv_local(L, "owlo", DT_I32), *owhi = lv_local(L, "owhi", DT_I32);
  LStmt *row = seq3(ls_let(p, owlo, valid_lo(L, t.kw, g->pw, g->sw)),
                    ls_let(p, owhi, valid_hi(L, t.kw, g->w, g->pw, g->sw, g->ow)),
                    ls_for(p, t.ow, ve(L, owlo), ve(L, owhi), 1, 0, fn(L, ctx, &t)));
  LStmt *rows = ls_for(p, t.oh, ve(L, ohlo), ve(L, ohhi), 1, 0, row);
  LStmt *per_kh = seq3(ls_let(p, ohlo, valid_lo(L, t.kh, g->ph, g->sh)),
                       ls_let(p, ohhi, valid_hi(L, t.kh, g->h, g->ph, g->sh, g->oh)),
                       loop(L, t.kw, ci(L, g->kw), 0, rows));
  return loop(L, t.cl, ci(L, g->cg), 0, loop(L, t.kh, ci(L, g->kh), 0, per_kh));
}

/* Where the column matrix holds a tap (kc, p): as a B operand in b_at's
 * pairs with the positions as columns (forward: k = kc) or the kc as
 * columns (weight gradient: k = p), or as the rows of dcol [Kc x P]
 * (input gradient). n is the number of columns, kp the padded k of a B. */
typedef enum { COL_B_BY_POS, COL_B_BY_KC, COL_ROWS } ColLayout;

typedef struct ColCtx {
  LBuffer *x, *col;
  ColLayout layout;
  int64_t n, kp;
} ColCtx;

static LExpr *col_at(Lower *L, const ColCtx *c, const Tap *t) {
  switch (c->layout) {
  case COL_B_BY_POS: return b_at(L, c->n, c->kp, tap_pos(L, t), tap_kc(L, t));
  case COL_B_BY_KC: return b_at(L, c->n, c->kp, tap_kc(L, t), tap_pos(L, t));
  case COL_ROWS: break;
  }
  return add(L, mul(L, tap_kc(L, t), ci(L, c->n)), tap_pos(L, t));
}

/* im2col, widening: col[...] = x[...]. */
static LStmt *col_store(Lower *L, void *vctx, const Tap *t) {
  ColCtx *c = vctx;
  return store_as(L, c->col, col_at(L, c, t), ld(L, c->x, tap_xi(L, t)));
}

/* col2im: dx[...] += dcol[...] (x is dx here). */
static LStmt *col_add(Lower *L, void *vctx, const Tap *t) {
  ColCtx *c = vctx;
  LExpr *sum = le_bin(L->p, LB_ADD, ld(L, c->x, tap_xi(L, t)), ld(L, c->col, col_at(L, c, t)));
  return ls_store(L->p, c->x, tap_xi(L, t), sum);
}

static LVar *group_loop_var(Lower *L) { return lv_loop(L, "g"); }


/* for s < %n: for g < groups: body */
static LStmt *per_sample_group(Lower *L, LVar *s, LVar *gv, const Conv *g, LStmt *per_sample,
                               LStmt *per_group) {
  return loop(L, s, batch_n(L), 0, seq(per_sample, loop(L, gv, ci(L, g->groups), 0, per_group)));
}

/* One window of pool_pass's rows: pooled, stored with its route, and
 * max|y| folded in. */
typedef struct PoolWindow {
  const Node *n;
  const Conv *g;
  const PoolRoute *pr;
  LBuffer *tile;
  LVar *s, *ch, *i, *j, *bits;
} PoolWindow;

static LStmt *pool_window(Lower *L, void *ctx) {
  const PoolWindow *w = ctx;
  LProgram *p = L->p;
  const Conv *g = w->g;
  int64_t kh = w->pr->kh, kw = w->pr->kw, poh = g->oh / kh, pow_ = g->ow / kw;
  LVar *yi = lv_local(L, "yi", DT_I32), *ymax, *arg;
  LExpr *xw = add(L, add(L, mul(L, ve(L, w->ch), ci(L, g->p)), mul(L, ve(L, w->i), ci(L, kh * g->ow))),
                  mul(L, ve(L, w->j), ci(L, kw)));
  LStmt *win = pool_route_window(L, w->pr, w->tile, xw, &ymax, &arg);
  LExpr *at = add(L, add(L, mul(L, ve(L, w->s), ci(L, g->f * poh * pow_)),
                         mul(L, ve(L, w->ch), ci(L, poh * pow_))),
                  add(L, mul(L, ve(L, w->i), ci(L, pow_)), ve(L, w->j)));
  LBlock b = {0};
  lblock_add(&b, win);
  lblock_add(&b, ls_let(p, yi, at));
  lblock_add(&b, ls_store(p, vbuf(L, w->n->out[0]), ve(L, yi), ve(L, ymax)));
  lblock_add(&b, ls_store(p, vbuf(L, w->n->out[2]), ve(L, yi), le_cast(p, DT_I8, ve(L, arg))));
  return b.first;
}

/* A folded routed maxpool (passes/fuse.c, attribute pool): the group's
 * channels of the sample just computed, in `tile` ([F, OH, OW]), pooled
 * into y (result 0) and the route (result 2) as maxpool_route's kernel
 * pools them (lower_pool.c), a row's windows in chunked_loop's chunks;
 * then max|pooled y| folded into bits in one pass over them (contiguous,
 * still in the cache): folded per window, each row's chunks ended in a
 * horizontal reduction of their own. */
static LStmt *pool_pass(Lower *L, const Node *n, const Conv *g, LBuffer *tile, LVar *s, LVar *gv,
                        LVar *bits) {
  LProgram *p = L->p;
  int64_t kh = node_ints(n, "pool", 0, 1), kw = node_ints(n, "pool", 1, 1);
  int64_t poh = g->oh / kh, pow_ = g->ow / kw;
  const char *mask = node_str(n, "pool_mask");
  PoolRoute pr = {kh, kw, g->ow, mask && strcmp(mask, "relu") == 0};
  PoolWindow w = {n, g, &pr, tile, s, lv_local(L, "ch", DT_I32), lv_loop(L, "i"), lv_loop(L, "j"),
                  bits};
  LVar *c = lv_loop(L, "c");
  LStmt *rows = loop(L, w.i, ci(L, poh), 0, chunked_loop(L, w.j, pow_, LHINT_VECTORIZE, pool_window, &w));
  LExpr *first = add(L, mul(L, ve(L, gv), ci(L, g->fg)), ve(L, c));
  LStmt *pooled = loop(L, c, ci(L, g->fg), 0, seq(ls_let(p, w.ch, first), rows));
  if (!bits) return pooled;
  int64_t per = poh * pow_;
  LVar *t = lv_loop(L, "t");
  LExpr *at = add(L, add(L, mul(L, ve(L, s), ci(L, g->f * per)), mul(L, ve(L, gv), ci(L, g->fg * per))),
                  ve(L, t));
  LExpr *m = le_bin(p, LB_MAX, ve(L, bits), abs_bits(L, ld(L, vbuf(L, n->out[0]), at)));
  return seq(pooled, loop(L, t, ci(L, g->fg * per), LHINT_VECTORIZE, ls_assign(p, bits, m)));
}

/* xpad[c, ph + i, pw + j] = x[s, g*Cg + c, i, j], widened to xpad's
 * int16; its border (cleared once) stays zero. */
static LStmt *fill_xpad(Lower *L, const Conv *g, LBuffer *x, LBuffer *xpad, LVar *s, LVar *gv) {
  LVar *c = lv_loop(L, "c"), *i = lv_loop(L, "i"), *j = lv_loop(L, "j");
  LExpr *chan = add(L, add(L, mul(L, ve(L, s), ci(L, g->c)), mul(L, ve(L, gv), ci(L, g->cg))),
                    ve(L, c));
  LExpr *from = add(L, mul(L, add(L, mul(L, chan, ci(L, g->h)), ve(L, i)), ci(L, g->w)), ve(L, j));
  LExpr *to = xpad_tap(L, g, ve(L, c), add(L, ve(L, i), ci(L, g->ph)), add(L, ve(L, j), ci(L, g->pw)));
  return loop(L, c, ci(L, g->cg), 0,
              loop(L, i, ci(L, g->h), 0,
                   loop(L, j, ci(L, g->w), LHINT_VECTORIZE, store_as(L, xpad, to, ld(L, x, from)))));
}

/* colt's half h of pair `pair` at output (oh, ow) = xpad at tap + (oh, ow) */
static LStmt *pair_half(Lower *L, const Conv *g, LBuffer *xpad, LBuffer *colt, LExpr *tap,
                        LExpr *pair, int h, LVar *oh, LVar *ow) {
  LExpr *from = add(L, add(L, tap, mul(L, ve(L, oh), ci(L, g->sh * padded_w(g)))),
                    mul(L, ve(L, ow), ci(L, g->sw)));
  LExpr *pos = add(L, mul(L, ve(L, oh), ci(L, g->ow)), ve(L, ow));
  LExpr *to = add(L, add(L, mul(L, pair, ci(L, 2 * b_cols(L, g->p))), mul(L, pos, ci(L, 2))), ci(L, h));
  return store_as(L, colt, to, ld(L, xpad, from));
}

/* A padded conv's forward B operand in the pair form, straight from the
 * image: its sample's group first copied into xpad, a zero-bordered int16
 * image, so that every tap's rows run over all output columns with
 * constant bounds; then colt[b_at(P, kcp, pos, kc)] = the tap (kc, pos),
 * each pair of taps (2q, 2q + 1) one vectorised pass over the positions
 * with two int16 stores (the pairs interleaved in registers). (The
 * im2col by tap skipped the padding with per-tap bounds, one store at a
 * time, and then needed a second pass to interleave.) An odd kc's last
 * pair keeps its zero half from colt's single clear. */
static LStmt *im2col_pairs(Lower *L, const Conv *g, LBuffer *x, LBuffer *xpad, LBuffer *colt,
                           LVar *s, LVar *gv) {
  LProgram *p = L->p;
  LBlock b = {0};
  lblock_add(&b, fill_xpad(L, g, x, xpad, s, gv));
  int64_t taps = g->kh * g->kw;
  LVar *q = lv_loop(L, "q"), *oh = lv_loop(L, "oh"), *ow = lv_loop(L, "ow");
  LBlock pre = {0}, body = {0}, body2 = {0};
  /* wide rows (each_tap's): the last tap's rows end inside xpad */
  int64_t wide = wide_cols(g), pw = padded_w(g);
  int64_t last_tap = ((g->cg - 1) * padded_h(g) + g->kh - 1) * pw + g->kw - 1;
  if (wide && last_tap + wide_reach(g, pw, wide) >= xpad_numel(g)) wide = 0;
  for (int h = 0; h < 2; h++) {
    /* tap k = 2q + h: channel k / (KH KW), row k / KW % KH, column k % KW */
    LVar *tap = lv_local(L, h ? "tapb" : "tapa", DT_I32);
    LExpr *k[3];
    for (int i = 0; i < 3; i++) k[i] = add(L, mul(L, ve(L, q), ci(L, 2)), ci(L, h));
    LExpr *kc = le_bin(p, LB_DIV, k[0], ci(L, taps));
    LExpr *kh = le_bin(p, LB_REM, le_bin(p, LB_DIV, k[1], ci(L, g->kw)), ci(L, g->kh));
    LExpr *kw = le_bin(p, LB_REM, k[2], ci(L, g->kw));
    lblock_add(&pre, ls_let(p, tap, xpad_tap(L, g, kc, kh, kw)));
    lblock_add(&body, pair_half(L, g, xpad, colt, ve(L, tap), ve(L, q), h, oh, ow));
    if (wide) lblock_add(&body2, pair_half(L, g, xpad, colt, ve(L, tap), ve(L, q), h, oh, ow));
  }
  lblock_add(&pre, im2col_rows(L, g, oh, ow, wide, body.first, body2.first));
  lblock_add(&b, loop(L, q, ci(L, g->kc / 2), 0, pre.first));
  if (g->kc % 2) { /* the last tap alone, its pair's other half zero */
    LVar *oh1 = lv_loop(L, "oh"), *ow1 = lv_loop(L, "ow");
    int64_t k = g->kc - 1;
    LStmt *half[2];
    for (int i = 0; i < 2; i++) {
      LExpr *tap = xpad_tap(L, g, ci(L, k / taps), ci(L, k / g->kw % g->kh), ci(L, k % g->kw));
      half[i] = pair_half(L, g, xpad, colt, tap, ci(L, k / 2), 0, oh1, ow1);
    }
    lblock_add(&b, im2col_rows(L, g, oh1, ow1, wide, half[0], half[1]));
  }
  return b.first;
}

/* y[s, g*Fg + f, p] = s_x s_w . sum_kc w[g*Fg + f, kc] colT[p, kc] + b;
 * with a folded pool, each sample's y in a tile, pooled (pool_pass). */
bool lower_conv_i8(Lower *L, const Node *n, LowerMode mode) {
  (void)mode;
  const Value *x = n->in[0], *w = n->in[2], *y = n->out[0];
  Conv g = conv_geometry(n, x, y);
  bool pooled = node_attr(n, "pool") != NULL;
  if (pooled) { /* y is the pooled output: the product's own is pool times larger */
    g.oh *= node_ints(n, "pool", 0, 1);
    g.ow *= node_ints(n, "pool", 1, 1);
    g.p = g.oh * g.ow;
  }
  int64_t kcp = round_k(L, g.kc, g.p);
  lower_kernel(L, n, "fwd", L->entries);
  LVar *scale = lv_local(L, "scale", DT_F32);
  LVar *s = lv_loop(L, "s"), *gv = group_loop_var(L);
  LBuffer *wp = scratch(L, "wp", a_type(L, g.p, kcp), g.f * kcp);
  LStmt *prep = seq(scale_product(L, scale, n->in[1], n->in[3]),
                    pack(L, wp, ci(L, 0), ci(L, g.f), ci(L, g.kc), kcp, vbuf(L, w), ci(L, 0), g.kc, 1));
  /* the im2col's buffer is cleared once: the taps on the padding and the
   * k padding stay zero (in the pair form pack_b then writes all of colt) */
  LBuffer *colt = scratch(L, "colt", operand_type(L, g.p), b_size(L, g.p, kcp));
  ColCtx cc = {vbuf(L, x), colt, COL_B_BY_POS, g.p, kcp};
  LBuffer *xpad = NULL, *rows = NULL;
  if (pair_form(g.p) && (g.ph || g.pw) && !L->dot4_i8) {
    xpad = scratch(L, "xpad", DT_I16, xpad_numel(&g));
  } else if (pair_form(g.p)) {
    /* im2col by rows, then interleaved into pairs (the quad form's way
     * for a padded conv too: im2col_pairs is written for pairs) */
    rows = scratch(L, "colrows", operand_type(L, g.p), kcp * g.p);
    cc = (ColCtx){vbuf(L, x), rows, COL_ROWS, g.p, kcp};
  }
  LBuffer *out = pooled ? scratch(L, "tile", DT_F32, g.f * g.p) : vbuf(L, y);
  LExpr *sample = pooled ? ci(L, 0) : mul(L, ve(L, s), ci(L, g.f * g.p));
  I8Gemm m = {.a = wp, .b = colt, .aoff = mul(L, ve(L, gv), ci(L, g.fg * kcp)), .boff = ci(L, 0),
              .kp = kcp, .m = ci(L, g.fg), .n = g.p, .c = out,
              .coff = add(L, sample, mul(L, ve(L, gv), ci(L, g.fg * g.p))),
              .crs = g.p, .ccs = 1, .scale = scale, .bias = product_bias(L, n),
              .bias_off = mul(L, ve(L, gv), ci(L, g.fg))};
  Epilogue ep = product_epilogue(L, n);
  LBuffer *amax = ep.amax; /* pooled: of the pooled values, in pool_pass */
  LStmt *post = NULL;
  if (pooled) {
    /* the compensation and relu as the product stores each element (the
     * same operations in the same order as epilogue_pass's), instead of a
     * second pass over the tile; max|y| is the pool's */
    ep.amax = NULL;
    m.ep = &ep, m.ep_c0 = mul(L, ve(L, gv), ci(L, g.fg)), m.ep_positions = g.p;
    post = pool_pass(L, n, &g, out, s, gv, ep.bits);
  } else {
    LExpr *ybase = add(L, mul(L, ve(L, s), ci(L, g.f * g.p)), mul(L, ve(L, gv), ci(L, g.fg * g.p)));
    post = epilogue_pass(L, &ep, out, ybase, mul(L, ve(L, gv), ci(L, g.fg)), g.fg, g.p);
  }
  ep.amax = amax;
  LStmt *im2col = xpad ? im2col_pairs(L, &g, vbuf(L, x), xpad, colt, s, gv)
                      : each_tap(L, &g, s, gv, col_store, &cc, rows ? each_tap_wide(&g) : 0);
  /* rows [kcp x P] into pairs: rows 2t and 2t+1 interleaved, vectorised
   * (an im2col writing the pairs itself stored one int16 at a time) */
  if (rows)
    im2col = seq(im2col, pack_b(L, colt, ci(L, 0), g.p, ci(L, g.p), ci(L, kcp), kcp, rows, ci(L, 0),
                                1, g.p));
  LStmt *per = seq3(im2col, i8_gemm(L, &m), post);
  LStmt *clears = xpad ? seq(clear(L, xpad), clear(L, colt)) : clear(L, rows ? rows : colt);
  lower_kernel_body(L, seq3(seq3(prep, amax_start(L, &ep), ep.offset_prep), clears,
                            seq(per_sample_group(L, s, gv, &g, NULL, per), amax_store(L, &ep))));
  return true;
}

/* dcol[kc, p] = s_e s_w . sum_f w[g*Fg + f, kc] dy[s, g*Fg + f, p], then
 * dx += col2im(dcol). */
bool lower_conv_i8_dx(Lower *L, const Node *n, LowerMode mode) {
  (void)mode;
  const Value *dy = n->in[0], *w = n->in[2], *dx = n->out[0];
  Conv g = conv_geometry(n, dx, dy);
  int64_t fgp = round_k(L, g.fg, g.p);
  lower_kernel(L, n, "dx", L->entries);
  LVar *scale = lv_local(L, "scale", DT_F32);
  LVar *s = lv_loop(L, "s"), *gv = group_loop_var(L), *g0 = group_loop_var(L);
  LBuffer *wt = scratch(L, "wt", a_type(L, g.p, fgp), g.groups * g.kc * fgp);
  LBuffer *dyt = scratch(L, "dyt", operand_type(L, g.p), b_size(L, g.p, fgp));
  LBuffer *dcol = scratch(L, "dcol", DT_F32, g.kc * g.p);
  /* wt[g][kc, f] = w[g*Fg + f, kc] */
  LStmt *prep = seq(scale_product(L, scale, n->in[1], n->in[3]),
                    loop(L, g0, ci(L, g.groups), 0,
                         pack(L, wt, mul(L, ve(L, g0), ci(L, g.kc * fgp)), ci(L, g.kc), ci(L, g.fg),
                              fgp, vbuf(L, w), mul(L, ve(L, g0), ci(L, g.fg * g.kc)), 1, g.kc)));
  /* dyt[p, f] = dy[s, g*Fg + f, p] */
  LExpr *dyoff = add(L, mul(L, ve(L, s), ci(L, g.f * g.p)), mul(L, ve(L, gv), ci(L, g.fg * g.p)));
  LStmt *tr = pack_b(L, dyt, ci(L, 0), g.p, ci(L, g.p), ci(L, g.fg), fgp, vbuf(L, dy), dyoff, 1, g.p);
  I8Gemm m = {.a = wt, .b = dyt, .aoff = mul(L, ve(L, gv), ci(L, g.kc * fgp)), .boff = ci(L, 0),
              .kp = fgp, .m = ci(L, g.kc), .n = g.p, .c = dcol, .coff = ci(L, 0), .crs = g.p,
              .ccs = 1, .scale = scale};
  ColCtx cc = {vbuf(L, dx), dcol, COL_ROWS, g.p, 0};
  LStmt *per = seq3(tr, i8_gemm(L, &m), each_tap(L, &g, s, gv, col_add, &cc, 0));
  /* dx[s] = 0 first: col2im adds */
  LVar *z = lv_loop(L, "z");
  int64_t chw = g.c * g.h * g.w;
  LStmt *zero = loop(L, z, ci(L, chw), LHINT_VECTORIZE,
                     ls_store(L->p, vbuf(L, dx), add(L, mul(L, ve(L, s), ci(L, chw)), ve(L, z)), cf(L, 0)));
  LStmt *mask = relu_mask_pass(L, n, vbuf(L, dx), mul(L, ve(L, s), ci(L, chw)), chw);
  LStmt *sample = seq3(zero, loop(L, gv, ci(L, g.groups), 0, per), mask);
  lower_kernel_body(L, seq(prep, loop(L, s, batch_n(L), 0, sample)));
  return true;
}

/* A stride-1 conv's weight gradient in the dot form (few taps: c1 of
 * lenet5, 6 x 25 over 784 positions) on wide rows: the positions laid out
 * with the padded input's row width Wp, p' = oh*Wp + ow, so that tap
 * (c, kh, kw)'s inputs at all positions are xpad from xpad_tap(c, kh, kw)
 * on, contiguous: B is xpad itself (b_taps), no im2col. dyw holds the
 * error at p' (zero at ow >= OW, whose products vanish), its k padded to
 * whole dot steps; xpad has that much zero past its last tap. The sums
 * are the same integers as the im2col's. */
static int64_t wide_n(const Conv *g) { return (g->oh - 1) * padded_w(g) + g->ow; }

/* Only for few filters per group: the im2col it saves is written once
 * and read by the Fg rows of the error, while its own costs (the longer
 * k, the error packed by rows) grow with Fg. Per-kernel callgrind counts
 * (5 steps, batch 32, octo), im2col -> wide: Fg 1 (mobilenet_tiny's
 * depthwise b1) 36.1 M -> 8.5 M, Fg 6 (lenet5's c1, 20 steps) 42.2 M ->
 * 29.1 M, Fg 8 (vgg11_small's s1) 6.53 M -> 6.50 M; but Fg 30
 * (octo_simplecnn's c1, 20 steps) 77.0 M -> 103.0 M, Fg 32 (alexnet_small's
 * c1) 16.8 M -> 25.0 M. */
enum { I8_WIDE_DW_MAX_FG = 8 };

static bool conv_dw_wide(const Conv *g) {
  return g->sh == 1 && g->sw == 1 && !pair_form(g->kc) && g->fg <= I8_WIDE_DW_MAX_FG;
}

static LStmt *conv_dw_wide_product(Lower *L, const Conv *g, const I8Gemm *m, LBuffer *x,
                                   LBuffer *dy, LExpr *dyoff, LVar *s, LVar *gv, LStmt **once) {
  int64_t kp = round_k(L, wide_n(g), g->kc), wp = padded_w(g);
  /* the last tap's run reads kp elements from its place on */
  int64_t last = ((g->cg - 1) * padded_h(g) + g->kh - 1) * wp + g->kw - 1;
  int64_t size = last + kp > xpad_numel(g) ? last + kp : xpad_numel(g);
  LBuffer *xpad = scratch(L, "xpad", DT_I16, size);
  LBuffer *dyw = scratch(L, "dyw", DT_I16, g->fg * kp);
  *once = seq(clear(L, xpad), clear(L, dyw));
  LVar *f = lv_loop(L, "f"), *oh = lv_loop(L, "oh"), *ow = lv_loop(L, "ow");
  LExpr *from = add(L, dyoff, add(L, mul(L, ve(L, f), ci(L, g->p)),
                                  add(L, mul(L, ve(L, oh), ci(L, g->ow)), ve(L, ow))));
  LExpr *to = add(L, mul(L, ve(L, f), ci(L, kp)), add(L, mul(L, ve(L, oh), ci(L, wp)), ve(L, ow)));
  LStmt *pack_dy = loop(L, f, ci(L, g->fg), 0,
                        loop(L, oh, ci(L, g->oh), 0,
                             loop(L, ow, ci(L, g->ow), LHINT_VECTORIZE, store_as(L, dyw, to, ld(L, dy, from)))));
  I8Gemm w = *m;
  w.a = dyw, w.b = xpad, w.kp = kp, w.b_taps = g;
  return seq3(pack_dy, fill_xpad(L, g, x, xpad, s, gv), i8_gemm(L, &w));
}

/* dw = s_x s_e . the int64 totals */
static LStmt *dw_out(Lower *L, const Value *dw, LBuffer *acc, LVar *scale, const Conv *g) {
  LVar *i = lv_loop(L, "i");
  return loop(L, i, ci(L, g->f * g->kc), LHINT_VECTORIZE,
              ls_store(L->p, vbuf(L, dw), ve(L, i),
                       le_bin(L->p, LB_MUL, le_cast(L->p, DT_F32, ld(L, acc, ve(L, i))), ve(L, scale))));
}

/* dw[g*Fg + f, kc] = s_x s_e . sum_s sum_p dy[s, g*Fg + f, p] col[kc, p]:
 * each sample's int32 products go into an int64 accumulator. (An int32
 * one where the batch's products fit was tried and dropped: the C
 * backend's code for tests/linear's conv_k5_s2_p2_rect_kernel then gave
 * a wrong weight gradient under gcc 12.2 -O2, and the right one under
 * clang -O2, gcc -O0, gcc without SLP vectorisation or without the
 * kernel's restrict; the cause was not found.) */
bool lower_conv_i8_dw(Lower *L, const Node *n, LowerMode mode) {
  (void)mode;
  const Value *x = n->in[0], *dy = n->in[2], *dw = n->out[0];
  Conv g = conv_geometry(n, x, dy);
  lower_kernel(L, n, "dw", L->entries);
  LVar *scale = lv_local(L, "scale", DT_F32);
  LVar *s = lv_loop(L, "s"), *gv = group_loop_var(L);
  LBuffer *acc = scratch(L, "acc", DT_I64, g.f * g.kc);
  LExpr *dyoff = add(L, mul(L, ve(L, s), ci(L, g.f * g.p)), mul(L, ve(L, gv), ci(L, g.fg * g.p)));
  I8Gemm m = {.aoff = ci(L, 0), .boff = ci(L, 0), .m = ci(L, g.fg), .n = g.kc, .c = acc,
              .coff = mul(L, ve(L, gv), ci(L, g.fg * g.kc)), .crs = g.kc, .ccs = 1};
  LStmt *prep = seq(scale_product(L, scale, n->in[1], n->in[3]), clear(L, acc)), *per;
  if (conv_dw_wide(&g)) {
    LStmt *once = NULL;
    per = conv_dw_wide_product(L, &g, &m, vbuf(L, x), vbuf(L, dy), dyoff, s, gv, &once);
    prep = seq(prep, once);
  } else {
    int64_t pp = round_k(L, g.p, g.kc);
    LBuffer *col = scratch(L, "col", operand_type(L, g.kc), b_size(L, g.kc, pp));
    LBuffer *dyp = scratch(L, "dyp", a_type(L, g.kc, pp), g.fg * pp);
    m.a = dyp, m.b = col, m.kp = pp;
    /* the im2col's buffer is cleared once: the taps on the padding and the
     * k padding stay zero (in the pair form pack_b then writes all of col) */
    ColCtx cc = {vbuf(L, x), col, COL_B_BY_KC, g.kc, pp};
    LBuffer *rows = NULL;
    if (pair_form(g.kc)) { /* im2col by rows of positions, then their pairs transposed */
      rows = scratch(L, "colrows", operand_type(L, g.kc), g.kc * pp);
      cc = (ColCtx){vbuf(L, x), rows, COL_ROWS, pp, pp};
      prep = seq(prep, clear(L, rows));
    } else {
      prep = seq(prep, clear(L, col));
    }
    LStmt *im2col = each_tap(L, &g, s, gv, col_store, &cc, rows ? each_tap_wide(&g) : 0);
    /* rows [Kc x pp] into pairs: each row's pairs moved two int16 at a
     * time (an im2col writing them itself stored one int16 at a time) */
    if (rows)
      im2col = seq(im2col, pack_b(L, col, ci(L, 0), g.kc, ci(L, g.kc), ci(L, pp), pp, rows,
                                  ci(L, 0), pp, 1));
    per = seq3(pack(L, dyp, ci(L, 0), ci(L, g.fg), ci(L, g.p), pp, vbuf(L, dy), dyoff, g.p, 1),
               im2col, i8_gemm(L, &m));
  }
  lower_kernel_body(L, seq3(prep, per_sample_group(L, s, gv, &g, NULL, per),
                            dw_out(L, dw, acc, scale, &g)));
  return true;
}
