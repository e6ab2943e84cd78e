/* Lowering of the INT8 ops (DESIGN.md section 5, docs/int8.md): quantize,
 * and the int8 products of conv2d and dense, forward and both backward
 * products. Their meaning is written here and nowhere else.
 *
 *   quantize    s = max|x| / 127 (1 when x is all zero), q = clamp(round(x / s),
 *               -127, 127); round is nearest-even, or floor(x / s + u) with u
 *               uniform in [0, 1) from the seeded counter-based RNG (the
 *               stream is the result's name, mixed with init's seed and the
 *               step, like dropout's masks). At inference always nearest.
 *   *_i8        C[i, j] = s_a s_b . sum_k A[i, k] B[j, k] (+ bias), the sum
 *               of int8 x int8 products in int32.
 *
 * Every product is one emitter, i8_gemm: C [m x n] = A [m x k] . B^T with
 * both operands widened to int16 once (the packs and im2col) and padded
 * with zeros to a multiple of 16 k. Each element of C is one dot product
 * summed in int32, k innermost, which gcc turns into vpmaddwd (2x4
 * register blocks for a large B); a reduction of at most 16 runs k-major
 * across an int32 row instead (B stored [k x n], b_at). Each op only says
 * which matrices are A and B:
 *
 *   conv2d_i8       per sample, group: y   [Fg x P]  = w   [Fg x Kc] . colT [P x Kc]
 *   conv dx         per sample, group: dcol[Kc x P]  = wT  [Kc x Fg] . dyT  [P x Fg], col2im
 *   conv dw         per sample, group: dw  [Fg x Kc] += dy [Fg x P]  . col  [Kc x P]
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

/* The reduction length of every product is padded with zeros to a
 * multiple of 16 (one 256-bit vector of int16): the k loop then has no
 * scalar remainder. */
enum { I8_KALIGN = 16 };

static int64_t round_k(int64_t k) { return (k + I8_KALIGN - 1) / I8_KALIGN * I8_KALIGN; }

/* --- quantize --- */

/* hash_bits(stream ^ seed, step): the key of this step's uniforms. */
static LExpr *rounding_key(Lower *L, const char *stream) {
  LProgram *p = L->p;
  LExpr *key = le_int(p, DT_I64, name_key(stream));
  if (L->quantize_seed) key = le_bin(p, LB_XOR, key, le_load(p, L->quantize_seed, ci(L, 0)));
  LExpr *step = L->step ? le_load(p, L->step, ci(L, 0)) : le_int(p, DT_I64, 0);
  return le_cast(p, DT_I64, le_call(p, LI_HASH_BITS, key, step));
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
static LStmt *max_abs(Lower *L, LBuffer *xb, LExpr *count, LVar *m, LVar *lo, LVar *hi) {
  LProgram *p = L->p;
  LVar *bits = lv_local(L, "mbits", DT_I32), *i = lv_loop(L, "i");
  LExpr *x = clipped(L, ld(L, xb, ve(L, i)), lo, hi);
  LStmt *reduce = loop(L, i, count, 0,
                       ls_assign(p, bits, le_bin(p, LB_MAX, ve(L, bits), abs_bits(L, x))));
  return seq3(ls_let(p, bits, le_int(p, DT_I32, 0)), reduce,
              ls_let(p, m, le_call(p, LI_BITS_F32, ve(L, bits), NULL)));
}

bool lower_quantize(Lower *L, const Node *n, LowerMode mode) {
  LProgram *p = L->p;
  const Value *x = n->in[0];
  LBuffer *xb = vbuf(L, x), *qb = vbuf(L, n->out[0]), *sb = vbuf(L, n->out[1]);
  bool stochastic = mode == MODE_TRAIN && strcmp(node_str(n, "rounding"), "stochastic") == 0;
  lower_kernel(L, n, "quantize", L->entries);
  LVar *j = lv_loop(L, "j"), *s = lv_local(L, "s", DT_F32);
  LVar *m = lv_local(L, "maxabs", DT_F32);
  /* a fused range clip (passes/fuse.c): x's range first, then every read
   * of x clipped, as range_clip's kernel stored it (no f32 copy here) */
  const char *clip = node_str(n, "clip");
  LVar *lo = NULL, *hi = NULL;
  LStmt *range = NULL;
  if (clip && strcmp(clip, "none") != 0) {
    lo = lv_local(L, "lo", DT_F32), hi = lv_local(L, "hi", DT_F32);
    range = lower_clip_range(L, clip, node_float(n, "p", 0.95), node_float(n, "z", 2.576), x,
                             lo, hi);
  }
  /* max|x| from x's producer (passes/fuse.c: its second result), else here */
  LStmt *reduce = n->nin > 1 ? ls_let(p, m, ld(L, vbuf(L, n->in[1]), ci(L, 0)))
                             : max_abs(L, xb, extent(L, x), m, lo, hi);
  LExpr *scale = le_select(p, le_bin(p, LB_GT, ve(L, m), cf(L, 0)),
                           le_bin(p, LB_DIV, ve(L, m), cf(L, 127)), cf(L, 1));
  LStmt *head = seq(range, seq3(reduce, ls_let(p, s, scale), ls_store(p, sb, ci(L, 0), ve(L, s))));
  LExpr *t = le_bin(p, LB_DIV, clipped(L, ld(L, xb, ve(L, j)), lo, hi), ve(L, s));
  LExpr *q;
  LStmt *draw = NULL;
  if (stochastic) {
    /* floor(y) as trunc(y) - (trunc(y) > y), in int32: the same integer
     * for |y| <= 128 (here |x / s| <= 127, u < 1), and gcc vectorises it,
     * where floorf under C's default trapping-math stays a libm call */
    LVar *key = lv_local(L, "key", DT_I64), *y = lv_local(L, "y", DT_F32);
    LVar *tr = lv_local(L, "tr", DT_I32);
    head = seq(head, ls_let(p, key, rounding_key(L, n->out[0]->name)));
    LExpr *u = le_call(p, LI_HASH_UNIFORM, ve(L, key), le_cast(p, DT_I64, ve(L, j)));
    draw = seq(ls_let(p, y, le_bin(p, LB_ADD, t, u)), ls_let(p, tr, le_cast(p, DT_I32, ve(L, y))));
    LExpr *above = le_bin(p, LB_GT, le_cast(p, DT_F32, ve(L, tr)), ve(L, y));
    LExpr *fl = le_bin(p, LB_SUB, ve(L, tr), above);
    q = le_cast(p, DT_I8, le_call3(p, LI_CLAMP, fl, ci(L, -127), ci(L, 127)));
  } else {
    LExpr *r = le_call(p, LI_ROUND_EVEN, t, NULL);
    q = le_cast(p, DT_I8, le_call3(p, LI_CLAMP, r, cf(L, -127), cf(L, 127)));
  }
  LStmt *body = loop(L, j, extent(L, x), LHINT_VECTORIZE, seq(draw, ls_store(p, qb, ve(L, j), q)));
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
 * int16 x int16 pairs (vpmaddwd on x86, smlal on Arm). */
static LStmt *store_as(Lower *L, LBuffer *dst, LExpr *at, LExpr *v) {
  if (v->type != dst->dtype) v = le_cast(L->p, dst->dtype, v);
  return ls_store(L->p, dst, at, v);
}

/* Packs rows of k-contiguous int16: dst[doff + r*kp + k] = src[soff + r*rs
 * + k*ks] for r < rows, k < len, and 0 for len <= k < kp (so the padding
 * needs no clearing pass). */
static LStmt *pack(Lower *L, LBuffer *dst, LExpr *doff, LExpr *rows, LExpr *len, int64_t kp,
                   LBuffer *src, LExpr *soff, int64_t rs, int64_t ks) {
  LVar *r = lv_loop(L, "r"), *k = lv_loop(L, "k"), *kz = lv_loop(L, "k");
  LExpr *from = add(L, soff, add(L, mul(L, ve(L, r), ci(L, rs)), mul(L, ve(L, k), ci(L, ks))));
  LExpr *to = add(L, doff, add(L, mul(L, ve(L, r), ci(L, kp)), ve(L, k)));
  LExpr *pad_at = add(L, add(L, doff, mul(L, ve(L, r), ci(L, kp))), ve(L, kz));
  LStmt *copy = loop(L, k, len, 0, store_as(L, dst, to, ld(L, src, from)));
  LStmt *pad = len->kind == LE_CONST && len->i == kp
                    ? NULL
                    : ls_for(L->p, kz, len, ci(L, kp), 1, 0,
                             ls_store(L->p, dst, pad_at, zero_of(L, dst->dtype)));
  return loop(L, r, rows, 0, seq(copy, pad));
}

/* A product whose reduction is at most I8_SHORT_K long (a conv's input
 * gradient over few filters, a dense weight gradient over the batch) runs
 * the other way round: B stored k-major, [kp x n], and for each row of A
 * and each k one multiply-add across a row of int32 sums (a short dot
 * product would spend more on its horizontal sum than on the products). */
enum { I8_SHORT_K = 16 };

static bool k_short(int64_t kp) { return kp <= I8_SHORT_K; }

/* Where a B operand of n columns and kp k holds element (j, k). */
static LExpr *b_at(Lower *L, int64_t n, int64_t kp, LExpr *j, LExpr *k) {
  if (k_short(kp)) return add(L, mul(L, k, ci(L, n)), j);
  return add(L, mul(L, j, ci(L, kp)), k);
}

/* Packs a B operand: element (r, k) = src[soff + r*rs + k*ks] for r <
 * rows, k < len, at doff + b_at(r, k), and 0 for len <= k < kp. */
static LStmt *pack_b(Lower *L, LBuffer *dst, LExpr *doff, int64_t n, LExpr *rows, LExpr *len,
                     int64_t kp, LBuffer *src, LExpr *soff, int64_t rs, int64_t ks) {
  LVar *r = lv_loop(L, "r"), *k = lv_loop(L, "k"), *kz = lv_loop(L, "k");
  LExpr *from = add(L, soff, add(L, mul(L, ve(L, r), ci(L, rs)), mul(L, ve(L, k), ci(L, ks))));
  LStmt *copy = loop(L, k, len, 0, store_as(L, dst, add(L, doff, b_at(L, n, kp, ve(L, r), ve(L, k))),
                                            ld(L, src, from)));
  LStmt *pad = len->kind == LE_CONST && len->i == kp
                   ? NULL
                   : ls_for(L->p, kz, len, ci(L, kp), 1, 0,
                            ls_store(L->p, dst, add(L, doff, b_at(L, n, kp, ve(L, r), ve(L, kz))),
                                     zero_of(L, dst->dtype)));
  return loop(L, r, rows, 0, seq(copy, pad));
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
    ep.per_element = shape_numel(&alpha->type.shape) == per_sample(n->out[0]);
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

/* y[base + c*positions + q] for the channels c < channels (the first being
 * channel c0 of a sample) and positions q < positions: the epilogue, in
 * place. NULL when there is none. */
static LStmt *epilogue_pass(Lower *L, const Epilogue *ep, LBuffer *y, LExpr *base, LExpr *c0,
                            int64_t channels, int64_t positions) {
  if (!has_epilogue(ep)) return NULL;
  LProgram *p = L->p;
  LVar *c = lv_loop(L, "c"), *q = lv_loop(L, "q");
  LExpr *at = add(L, base, add(L, mul(L, ve(L, c), ci(L, positions)), ve(L, q)));
  LExpr *v = ld(L, y, at);
  if (ep->alpha) {
    LExpr *ch = add(L, c0, ve(L, c));
    LExpr *e = ep->per_element ? add(L, mul(L, ch, ci(L, positions)), ve(L, q)) : ch;
    LExpr *am = le_bin(p, LB_MUL, ld(L, ep->alpha, e), ld(L, ep->mu, e));
    v = le_bin(p, LB_ADD, v, le_bin(p, LB_ADD, am, ld(L, ep->beta, e)));
  }
  if (ep->relu) v = le_bin(p, LB_MAX, v, cf(L, 0));
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

/* C[i, j] for i < m, j < n from A [m x kp] and B [n x kp], both int16
 * rows k-contiguous, kp a multiple of I8_KALIGN, zero-padded. The result
 * is either f32, C = scale . sum (+ bias[bias_off + j or i]), or an i64
 * accumulator, C += sum. */
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
} I8Gemm;

/* The epilogue of C[row, j] given its whole sum. */
static LStmt *i8_store(Lower *L, const I8Gemm *g, LExpr *row, LExpr *j, LExpr *total) {
  LProgram *p = L->p;
  LExpr *at = add(L, g->coff, add(L, mul(L, row, ci(L, g->crs)), mul(L, j, ci(L, g->ccs))));
  if (g->c->dtype == DT_I64)
    return ls_store(p, g->c, at, le_bin(p, LB_ADD, ld(L, g->c, at), le_cast(p, DT_I64, total)));
  LExpr *v = le_bin(p, LB_MUL, le_cast(p, DT_F32, total), ve(L, g->scale));
  if (g->bias) v = le_bin(p, LB_ADD, v, ld(L, g->bias, add(L, g->bias_off, g->bias_by_col ? j : row)));
  return ls_store(p, g->c, at, v);
}

/* buf[t] = v for t in [0, count). */
static LStmt *fill_n(Lower *L, LBuffer *buf, int64_t count, LExpr *v) {
  LVar *t = lv_loop(L, "t");
  return loop(L, t, ci(L, count), LHINT_VECTORIZE, ls_store(L->p, buf, ve(L, t), v));
}

/* Register blocks: a block of C of up to I8_MR x I8_NR elements keeps one
 * int32 sum per element, the k loop innermost, so every row of A it loads
 * serves I8_NR columns and every row of B I8_MR rows (gcc vectorises the k
 * loop, each sum a vector of partial sums: vpmovsx-free vpmaddwd + vpaddd
 * per 16 k). A product whose B fits the L1 cache does single elements
 * (I8_SMALL_B bytes): its reloads are cheap and a single dot product runs
 * with the least overhead (callgrind and timings in docs/int8.md). */
enum { I8_MR = 2, I8_NR = 4, I8_SMALL_B = 32 * 1024 };

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

/* The block of C at rows i0 .. i0+mr-1, columns j0 .. j0+nr-1: the sums
 * over [0, kp) in int32, cut into I8_CHUNK-term chunks widened into int64
 * when longer. */
static LStmt *i8_block(Lower *L, const I8Gemm *g, Origin i0, Origin j0, int mr, int nr) {
  LProgram *p = L->p;
  LVar *acc[I8_MR * I8_NR], *wide[I8_MR * I8_NR];
  LVar *k = lv_loop(L, "k");
  bool chunked = g->kp > I8_CHUNK;
  LVar *ch = chunked ? lv_loop(L, "ch") : NULL;
  LExpr *lo = chunked ? mul(L, ve(L, ch), ci(L, I8_CHUNK)) : ci(L, 0);
  LExpr *hi = chunked ? le_bin(p, LB_MIN, add(L, mul(L, ve(L, ch), ci(L, I8_CHUNK)), ci(L, I8_CHUNK)),
                               ci(L, g->kp))
                      : ci(L, g->kp);
  LBlock init = {0}, body = {0}, fold = {0}, wides = {0}, out = {0};
  for (int r = 0; r < mr; r++)
    for (int c = 0; c < nr; c++) {
      int t = r * nr + c;
      acc[t] = lv_local(L, "acc", DT_I32);
      lblock_add(&init, ls_let(p, acc[t], le_int(p, DT_I32, 0)));
      LExpr *ai = add(L, g->aoff, add(L, mul(L, at_origin(L, i0, r), ci(L, g->kp)), ve(L, k)));
      LExpr *bj = add(L, g->boff, add(L, mul(L, at_origin(L, j0, c), ci(L, g->kp)), ve(L, k)));
      LExpr *prod = le_bin(p, LB_MUL, le_cast(p, DT_I32, ld(L, g->a, ai)),
                           le_cast(p, DT_I32, ld(L, g->b, bj)));
      lblock_add(&body, ls_assign(p, acc[t], le_bin(p, LB_ADD, ve(L, acc[t]), prod)));
      if (chunked) {
        wide[t] = lv_local(L, "wide", DT_I64);
        lblock_add(&wides, ls_let(p, wide[t], le_int(p, DT_I64, 0)));
        lblock_add(&fold, ls_assign(p, wide[t], le_bin(p, LB_ADD, ve(L, wide[t]),
                                                       le_cast(p, DT_I64, ve(L, acc[t])))));
      }
      LExpr *total = chunked ? ve(L, wide[t]) : ve(L, acc[t]);
      lblock_add(&out, i8_store(L, g, at_origin(L, i0, r), at_origin(L, j0, c), total));
    }
  LStmt *sum = seq(init.first, ls_for(p, k, lo, hi, 1, 0, body.first));
  if (chunked) {
    int64_t chunks = (g->kp + I8_CHUNK - 1) / I8_CHUNK;
    sum = seq(wides.first, loop(L, ch, ci(L, chunks), 0, seq(sum, fold.first)));
  }
  return seq(sum, out.first);
}

/* C = A . B^T for a short k (k_short): per row of A, acc[j] += A[i, k] .
 * B[k, j] across the n columns, k by k, then the epilogue. */
static LStmt *i8_gemm_short(Lower *L, const I8Gemm *g) {
  LProgram *p = L->p;
  LBuffer *acc = scratch(L, "acc32", DT_I32, g->n);
  LVar *i = lv_loop(L, "i"), *k = lv_loop(L, "k"), *j = lv_loop(L, "j"), *j2 = lv_loop(L, "j");
  LExpr *ai = add(L, g->aoff, add(L, mul(L, ve(L, i), ci(L, g->kp)), ve(L, k)));
  LExpr *bk = add(L, g->boff, add(L, mul(L, ve(L, k), ci(L, g->n)), ve(L, j)));
  LExpr *prod = le_bin(p, LB_MUL, le_cast(p, DT_I32, ld(L, g->a, ai)), le_cast(p, DT_I32, ld(L, g->b, bk)));
  LStmt *mac = ls_store(p, acc, ve(L, j), le_bin(p, LB_ADD, ld(L, acc, ve(L, j)), prod));
  LStmt *sum = seq(fill_n(L, acc, g->n, le_int(p, DT_I32, 0)),
                   loop(L, k, ci(L, g->kp), 0, loop(L, j, ci(L, g->n), LHINT_VECTORIZE, mac)));
  LStmt *out = loop(L, j2, ci(L, g->n), 0, i8_store(L, g, ve(L, i), ve(L, j2), ld(L, acc, ve(L, j2))));
  return loop(L, i, g->m, 0, seq(sum, out));
}

/* C = A . B^T: I8_MR x I8_NR blocks (the last columns in a narrower block),
 * then the rows past the last whole block one element at a time; single
 * elements throughout for a small B. */
static LStmt *i8_gemm(Lower *L, const I8Gemm *g) {
  LProgram *p = L->p;
  LVar *i = lv_loop(L, "i"), *j = lv_loop(L, "j");
  if (k_short(g->kp)) return i8_gemm_short(L, g);
  LStmt *single = loop(L, j, ci(L, g->n), 0,
                       i8_block(L, g, (Origin){i, 1, 0}, (Origin){j, 1, 0}, 1, 1));
  if (g->n * g->kp * 2 <= I8_SMALL_B || g->n < I8_NR) return loop(L, i, g->m, 0, single);
  LVar *ib = lv_loop(L, "ib"), *jb = lv_loop(L, "jb");
  Origin i0 = {ib, I8_MR, 0};
  int64_t nb = g->n / I8_NR;
  int nrest = (int)(g->n % I8_NR);
  LStmt *row = loop(L, jb, ci(L, nb), 0, i8_block(L, g, i0, (Origin){jb, I8_NR, 0}, I8_MR, I8_NR));
  if (nrest) row = seq(row, i8_block(L, g, i0, (Origin){NULL, 0, g->n - nrest}, I8_MR, nrest));
  LExpr *mb = le_bin(p, LB_DIV, g->m, ci(L, I8_MR));
  return seq(loop(L, ib, mb, 0, row),
             ls_for(p, i, mul(L, mb, ci(L, I8_MR)), g->m, 1, 0, single));
}

/* --- dense --- */

/* y = s_x s_w . x . w^T + b. With more units than samples in the compiled
 * batch, the weight is A and x is B: the result is y transposed, stored
 * with the row stride 1 (B, x, is the small operand then). Otherwise x's
 * rows are A and w is B. */
bool lower_dense_i8(Lower *L, const Node *n, LowerMode mode) {
  (void)mode;
  const Value *x = n->in[0], *w = n->in[2], *y = n->out[0];
  int64_t f = x->type.shape.dim[1], u = y->type.shape.dim[1], fp = round_k(f), b = L->p->batch;
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
  LBuffer *xp = scratch(L, "xp", DT_I16, b * fp), *wp = scratch(L, "wp", DT_I16, u * fp);
  LStmt *prep = seq(scale_product(L, scale, n->in[1], n->in[3]), amax_start(L, &ep));
  if (u > b) { /* more units than samples: yT [U x B] = w . xT */
    I8Gemm g = {.a = wp, .b = xp, .aoff = ci(L, 0), .boff = ci(L, 0), .kp = fp, .m = ci(L, u),
                .n = b, .c = vbuf(L, y), .coff = ci(L, 0), .crs = 1, .ccs = u, .scale = scale,
                .bias = bias, .bias_off = ci(L, 0)};
    /* the samples past %n are columns of yT too: zeros, not stale data */
    prep = seq3(prep, pack(L, wp, ci(L, 0), ci(L, u), ci(L, f), fp, vbuf(L, w), ci(L, 0), f, 1),
                seq(clear(L, xp), pack_b(L, xp, ci(L, 0), b, batch_n(L), ci(L, f), fp, vbuf(L, x),
                                         ci(L, 0), f, 1)));
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
  int64_t u = dy->type.shape.dim[1], f = dx->type.shape.dim[1], up = round_k(u), b = L->p->batch;
  lower_kernel(L, n, "dx", L->entries);
  LVar *scale = lv_local(L, "scale", DT_F32);
  LBuffer *wt = scratch(L, "wt", DT_I16, f * up), *dyp = scratch(L, "dyp", DT_I16, b * up);
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
  int64_t u = dy->type.shape.dim[1], f = x->type.shape.dim[1], bp = round_k(L->p->batch);
  lower_kernel(L, n, "dw", L->entries);
  LVar *scale = lv_local(L, "scale", DT_F32);
  LBuffer *dyt = scratch(L, "dyt", DT_I16, u * bp), *xt = scratch(L, "xt", DT_I16, f * bp);
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

/* The taps in the image: per (c, kh, kw), the rows oh and columns ow whose
 * input pixel is inside, as loop bounds (no test per element, so the inner
 * copy is a plain loop). */
static LStmt *each_tap(Lower *L, const Conv *g, LVar *s, LVar *gv, TapFn fn, void *ctx) {
  LProgram *p = L->p;
  Tap t = {g, s, gv, lv_loop(L, "c"), lv_loop(L, "kh"), lv_loop(L, "kw"), lv_loop(L, "oh"),
           lv_loop(L, "ow")};
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

/* The column matrix entry of a tap: kc * kcs + p * ps, the strides of
 * b_at's layout for the B operands (forward colT: column p, k = kc; weight
 * gradient col: column kc, k = p) or of dcol [Kc x P] (input gradient). */
typedef struct ColCtx {
  LBuffer *x, *col;
  int64_t kcs, ps;
} ColCtx;

static LExpr *col_at(Lower *L, const ColCtx *c, const Tap *t) {
  return add(L, mul(L, tap_kc(L, t), ci(L, c->kcs)), mul(L, tap_pos(L, t), ci(L, c->ps)));
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

/* y[s, g*Fg + f, p] = s_x s_w . sum_kc w[g*Fg + f, kc] colT[p, kc] + b. */
bool lower_conv_i8(Lower *L, const Node *n, LowerMode mode) {
  (void)mode;
  const Value *x = n->in[0], *w = n->in[2], *y = n->out[0];
  Conv g = conv_geometry(n, x, y);
  int64_t kcp = round_k(g.kc);
  lower_kernel(L, n, "fwd", L->entries);
  LVar *scale = lv_local(L, "scale", DT_F32);
  LVar *s = lv_loop(L, "s"), *gv = group_loop_var(L);
  LBuffer *wp = scratch(L, "wp", DT_I16, g.f * kcp);
  LStmt *prep = seq(scale_product(L, scale, n->in[1], n->in[3]),
                    pack(L, wp, ci(L, 0), ci(L, g.f), ci(L, g.kc), kcp, vbuf(L, w), ci(L, 0), g.kc, 1));
  /* cleared once: the taps on the padding and the k padding stay zero */
  LBuffer *colt = scratch(L, "colt", DT_I16, g.p * kcp);
  ColCtx cc = {vbuf(L, x), colt, k_short(kcp) ? g.p : 1, k_short(kcp) ? 1 : kcp};
  I8Gemm m = {.a = wp, .b = colt, .aoff = mul(L, ve(L, gv), ci(L, g.fg * kcp)), .boff = ci(L, 0),
              .kp = kcp, .m = ci(L, g.fg), .n = g.p, .c = vbuf(L, y),
              .coff = add(L, mul(L, ve(L, s), ci(L, g.f * g.p)), mul(L, ve(L, gv), ci(L, g.fg * g.p))),
              .crs = g.p, .ccs = 1, .scale = scale, .bias = product_bias(L, n),
              .bias_off = mul(L, ve(L, gv), ci(L, g.fg))};
  Epilogue ep = product_epilogue(L, n);
  LExpr *ybase = add(L, mul(L, ve(L, s), ci(L, g.f * g.p)), mul(L, ve(L, gv), ci(L, g.fg * g.p)));
  LStmt *post = epilogue_pass(L, &ep, vbuf(L, y), ybase, mul(L, ve(L, gv), ci(L, g.fg)), g.fg, g.p);
  LStmt *per = seq3(each_tap(L, &g, s, gv, col_store, &cc), i8_gemm(L, &m), post);
  lower_kernel_body(L, seq3(seq(prep, amax_start(L, &ep)), clear(L, colt),
                            seq(per_sample_group(L, s, gv, &g, NULL, per), amax_store(L, &ep))));
  return true;
}

/* dcol[kc, p] = s_e s_w . sum_f w[g*Fg + f, kc] dy[s, g*Fg + f, p], then
 * dx += col2im(dcol). */
bool lower_conv_i8_dx(Lower *L, const Node *n, LowerMode mode) {
  (void)mode;
  const Value *dy = n->in[0], *w = n->in[2], *dx = n->out[0];
  Conv g = conv_geometry(n, dx, dy);
  int64_t fgp = round_k(g.fg);
  lower_kernel(L, n, "dx", L->entries);
  LVar *scale = lv_local(L, "scale", DT_F32);
  LVar *s = lv_loop(L, "s"), *gv = group_loop_var(L), *g0 = group_loop_var(L);
  LBuffer *wt = scratch(L, "wt", DT_I16, g.groups * g.kc * fgp);
  LBuffer *dyt = scratch(L, "dyt", DT_I16, g.p * fgp);
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
  ColCtx cc = {vbuf(L, dx), dcol, g.p, 1};
  LStmt *per = seq3(tr, i8_gemm(L, &m), each_tap(L, &g, s, gv, col_add, &cc));
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

/* dw[g*Fg + f, kc] = s_x s_e . sum_s sum_p dy[s, g*Fg + f, p] col[kc, p]:
 * each sample's int32 products go into an int64 accumulator. */
bool lower_conv_i8_dw(Lower *L, const Node *n, LowerMode mode) {
  (void)mode;
  const Value *x = n->in[0], *dy = n->in[2], *dw = n->out[0];
  Conv g = conv_geometry(n, x, dy);
  int64_t pp = round_k(g.p);
  lower_kernel(L, n, "dw", L->entries);
  LVar *scale = lv_local(L, "scale", DT_F32);
  LVar *s = lv_loop(L, "s"), *gv = group_loop_var(L);
  LBuffer *col = scratch(L, "col", DT_I16, g.kc * pp);
  LBuffer *dyp = scratch(L, "dyp", DT_I16, g.fg * pp);
  LBuffer *acc = scratch(L, "acc", DT_I64, g.f * g.kc);
  LExpr *dyoff = add(L, mul(L, ve(L, s), ci(L, g.f * g.p)), mul(L, ve(L, gv), ci(L, g.fg * g.p)));
  I8Gemm m = {.a = dyp, .b = col, .aoff = ci(L, 0), .boff = ci(L, 0), .kp = pp, .m = ci(L, g.fg),
              .n = g.kc, .c = acc, .coff = mul(L, ve(L, gv), ci(L, g.fg * g.kc)), .crs = g.kc,
              .ccs = 1};
  /* col cleared once: the taps on the padding and the k padding stay zero */
  LStmt *prep = seq3(scale_product(L, scale, n->in[1], n->in[3]), clear(L, col), clear(L, acc));
  ColCtx cc = {vbuf(L, x), col, k_short(pp) ? 1 : pp, k_short(pp) ? g.kc : 1};
  LStmt *per = seq3(pack(L, dyp, ci(L, 0), ci(L, g.fg), ci(L, g.p), pp, vbuf(L, dy), dyoff, g.p, 1),
                    each_tap(L, &g, s, gv, col_store, &cc), i8_gemm(L, &m));
  LVar *i = lv_loop(L, "i");
  LStmt *out = loop(L, i, ci(L, g.f * g.kc), LHINT_VECTORIZE,
                    ls_store(L->p, vbuf(L, dw), ve(L, i),
                             le_bin(L->p, LB_MUL, le_cast(L->p, DT_F32, ld(L, acc, ve(L, i))),
                                    ve(L, scale))));
  lower_kernel_body(L, seq3(prep, per_sample_group(L, s, gv, &g, NULL, per), out));
  return true;
}
