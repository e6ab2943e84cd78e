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
 * A's rows k-contiguous and B stored by groups of 4 k, every column's group
 * side by side (b_at), both padded with zeros to a multiple of 4. The
 * inner loop runs over the columns: for each row of A and group of k, one
 * dot4_i8 (4 x int8 -> i32) per column into an int32 row of partial sums,
 * I8_MR rows of A sharing each load of B: the pattern of vpdpbusd (one
 * 32-bit lane per column, A's 4 bytes broadcast) and of sdot. Each op
 * only says which matrices are A and B:
 *
 *   conv2d_i8       per sample, group: y   [Fg x P]  = w   [Fg x Kc] . colT [P x Kc]
 *   conv dx         per sample, group: dcol[Kc x P]  = wT  [Kc x Fg] . dyT  [P x Fg], col2im
 *   conv dw         per sample, group: dw  [Fg x Kc] += dy [Fg x P]  . col  [Kc x P]
 *   dense_i8        y  [n x U] = x  [n x F] . w   [U x F]
 *                   or yT [U x B] = w [U x F] . xT [B x F] (U > B: w in place)
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

/* The most products of two int8 in [-127, 127] an int32 sum holds:
 * floor((2^31 - 1) / 127^2) = 133 144, a multiple of 4. */
enum { I8_CHUNK = 133144 };

static int64_t round4(int64_t k) { return (k + 3) / 4 * 4; }

/* --- quantize --- */

/* hash_bits(stream ^ seed, step): the key of this step's uniforms. */
static LExpr *rounding_key(Lower *L, const char *stream) {
  LProgram *p = L->p;
  LExpr *key = le_int(p, DT_I64, name_key(stream));
  if (L->quantize_seed) key = le_bin(p, LB_XOR, key, le_load(p, L->quantize_seed, ci(L, 0)));
  LExpr *step = L->step ? le_load(p, L->step, ci(L, 0)) : le_int(p, DT_I64, 0);
  return le_cast(p, DT_I64, le_call(p, LI_HASH_BITS, key, step));
}

/* m = max |x[i]| over i < count, in MAX_LANES independent maxima (each a
 * chain of its own, which the SLP vectoriser turns into vector max; max is
 * exact, so the order does not change the result), then a tail. */
enum { MAX_LANES = 8 };

static LStmt *max_abs(Lower *L, LBuffer *xb, LExpr *count, LVar *m) {
  LProgram *p = L->p;
  LVar *lane[MAX_LANES];
  LVar *ib = lv_loop(L, "ib"), *i = lv_loop(L, "i");
  LBlock head = {0}, body = {0};
  for (int l = 0; l < MAX_LANES; l++) {
    lane[l] = lv_local(L, "m", DT_F32);
    lblock_add(&head, ls_let(p, lane[l], cf(L, 0)));
    LExpr *xi = ld(L, xb, add(L, mul(L, ve(L, ib), ci(L, MAX_LANES)), ci(L, l)));
    lblock_add(&body, ls_assign(p, lane[l], le_bin(p, LB_MAX, ve(L, lane[l]), le_un(p, LU_ABS, xi))));
  }
  LExpr *blocks = le_bin(p, LB_DIV, count, ci(L, MAX_LANES));
  lblock_add(&head, loop(L, ib, blocks, 0, body.first));
  LExpr *tail = le_bin(p, LB_MAX, ve(L, lane[0]), le_un(p, LU_ABS, ld(L, xb, ve(L, i))));
  lblock_add(&head, ls_for(p, i, mul(L, blocks, ci(L, MAX_LANES)), count, 1, 0,
                           ls_assign(p, lane[0], tail)));
  LExpr *all[MAX_LANES];
  for (int l = 0; l < MAX_LANES; l++) all[l] = ve(L, lane[l]);
  for (int w = MAX_LANES; w > 1; w /= 2)
    for (int l = 0; l < w / 2; l++) all[l] = le_bin(p, LB_MAX, all[2 * l], all[2 * l + 1]);
  lblock_add(&head, ls_let(p, m, all[0]));
  return head.first;
}

bool lower_quantize(Lower *L, const Node *n, LowerMode mode) {
  LProgram *p = L->p;
  const Value *x = n->in[0];
  LBuffer *xb = vbuf(L, x), *qb = vbuf(L, n->out[0]), *sb = vbuf(L, n->out[1]);
  bool stochastic = mode == MODE_TRAIN && strcmp(node_str(n, "rounding"), "stochastic") == 0;
  lower_kernel(L, n, "quantize", L->entries);
  LVar *j = lv_loop(L, "j"), *s = lv_local(L, "s", DT_F32);
  LVar *m = lv_local(L, "maxabs", DT_F32);
  LStmt *reduce = max_abs(L, xb, extent(L, x), m);
  LExpr *scale = le_select(p, le_bin(p, LB_GT, ve(L, m), cf(L, 0)),
                           le_bin(p, LB_DIV, ve(L, m), cf(L, 127)), cf(L, 1));
  LStmt *head = seq3(reduce, ls_let(p, s, scale), ls_store(p, sb, ci(L, 0), ve(L, s)));
  LExpr *t = le_bin(p, LB_DIV, ld(L, xb, ve(L, j)), ve(L, s));
  LExpr *r;
  if (stochastic) {
    LVar *key = lv_local(L, "key", DT_I64);
    head = seq(head, ls_let(p, key, rounding_key(L, n->out[0]->name)));
    LExpr *u = le_call(p, LI_HASH_UNIFORM, ve(L, key), le_cast(p, DT_I64, ve(L, j)));
    r = le_un(p, LU_FLOOR, le_bin(p, LB_ADD, t, u));
  } else {
    r = le_call(p, LI_ROUND_EVEN, t, NULL);
  }
  LExpr *q = le_cast(p, DT_I8, le_call3(p, LI_CLAMP, r, cf(L, -127), cf(L, 127)));
  LStmt *body = loop(L, j, extent(L, x), LHINT_VECTORIZE, ls_store(p, qb, ve(L, j), q));
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

/* Packs rows of k-contiguous int8 (an A operand): dst[doff + r*kp + k] =
 * src[soff + r*rs + k*ks] for r < rows, k < len. The padding (len <= k <
 * kp) is never written: dst is cleared once per call (clear), and stays
 * zero. */
static LStmt *pack(Lower *L, LBuffer *dst, LExpr *doff, LExpr *rows, LExpr *len, int64_t kp,
                   LBuffer *src, LExpr *soff, int64_t rs, int64_t ks) {
  LVar *r = lv_loop(L, "r"), *k = lv_loop(L, "k");
  LExpr *from = add(L, soff, add(L, mul(L, ve(L, r), ci(L, rs)), mul(L, ve(L, k), ci(L, ks))));
  LExpr *to = add(L, doff, add(L, mul(L, ve(L, r), ci(L, kp)), ve(L, k)));
  return loop(L, r, rows, 0, loop(L, k, len, 0, ls_store(L->p, dst, to, ld(L, src, from))));
}

/* A product with fewer than I8_DOT_MAX_N columns (a narrow C: c1's weight
 * gradient has 25, a classifier's logits 10) is a dot product per element,
 * the reduction innermost, both operands by rows: a column-innermost loop
 * that short does not fill a vector. */
enum { I8_DOT_MAX_N = 32 };

static bool b_by_rows(int64_t n) { return n < I8_DOT_MAX_N; }

/* Where a B operand of n columns and kp k holds element (j, k): by rows,
 * j * kp + k, for a narrow product; otherwise by groups of 4 k, the groups
 * of every j side by side, ((k / 4) * n + j) * 4 + k % 4, so that for one
 * group of k the n columns' 4-byte groups are contiguous (the layout
 * vpdpbusd and sdot read: one 32-bit lane per column). */
static LExpr *b_at(Lower *L, int64_t n, int64_t kp, LExpr *j, LExpr *k) {
  LProgram *p = L->p;
  if (b_by_rows(n)) return add(L, mul(L, j, ci(L, kp)), k);
  LExpr *kb = le_bin(p, LB_DIV, k, ci(L, 4)), *kq = le_bin(p, LB_REM, k, ci(L, 4));
  return add(L, mul(L, add(L, mul(L, kb, ci(L, n)), j), ci(L, 4)), kq);
}

/* Packs a B operand: element (r, k) = src[soff + r*rs + k*ks] for r < rows
 * (n, or fewer: the columns past them stay zero), k < len, at doff +
 * b_at(r, k). Padding stays zero as in pack. */
static LStmt *pack_b_rows(Lower *L, LBuffer *dst, LExpr *doff, int64_t n, LExpr *rows,
                          int64_t kp, LExpr *len, LBuffer *src, LExpr *soff, int64_t rs,
                          int64_t ks) {
  LVar *r = lv_loop(L, "r"), *k = lv_loop(L, "k");
  LExpr *from = add(L, soff, add(L, mul(L, ve(L, r), ci(L, rs)), mul(L, ve(L, k), ci(L, ks))));
  LExpr *to = add(L, doff, b_at(L, n, kp, ve(L, r), ve(L, k)));
  return loop(L, r, rows, 0, loop(L, k, len, 0, ls_store(L->p, dst, to, ld(L, src, from))));
}

static LStmt *pack_b(Lower *L, LBuffer *dst, LExpr *doff, int64_t n, int64_t kp, LExpr *len,
                     LBuffer *src, LExpr *soff, int64_t rs, int64_t ks) {
  return pack_b_rows(L, dst, doff, n, ci(L, n), kp, len, src, soff, rs, ks);
}

/* --- the int8 product --- */

/* C[i, j] for i < m, j < n from A [m x kp] (rows k-contiguous) and B
 * [n x kp] stored as b_at says, kp a multiple of 4, zero-padded. The result is
 * either f32, C = scale . sum (+ bias[bias_off + j or i]), or an i64
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
  LBuffer *acc, *wide; /* scratch: i32 [I8_MR x n], i64 [I8_MR x n] when chunked */
} I8Gemm;

/* Rows of C per block: each group of B's 4 k is loaded once for I8_MR rows. */
enum { I8_MR = 4 };

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

/* The rows i0 .. i0+nr-1 of C: acc[r, :] = sum over the groups [lo, hi) of
 * k of dot4(A[i0 + r, 4kb..], B[kb, :, ..]); the inner loop runs over the
 * n columns (contiguous in acc and in B's group kb), one dot4 per row. */
static LStmt *k_groups(Lower *L, const I8Gemm *g, LExpr *i0, int nr, LExpr *lo, LExpr *hi) {
  LProgram *p = L->p;
  LVar *kb = lv_loop(L, "kb"), *j = lv_loop(L, "j");
  LBlock body = {0};
  LExpr *bj = add(L, g->boff, mul(L, add(L, mul(L, ve(L, kb), ci(L, g->n)), ve(L, j)), ci(L, 4)));
  for (int r = 0; r < nr; r++) {
    LExpr *row = add(L, i0, ci(L, r));
    LExpr *ai = add(L, g->aoff, add(L, mul(L, row, ci(L, g->kp)), mul(L, ve(L, kb), ci(L, 4))));
    LExpr *at = add(L, ci(L, r * g->n), ve(L, j));
    LExpr *dot = le_call3(p, LI_DOT4_I8, ld(L, g->acc, at), ld(L, g->a, ai), ld(L, g->b, bj));
    lblock_add(&body, ls_store(p, g->acc, at, dot));
  }
  return ls_for(p, kb, lo, hi, 1, 0, loop(L, j, ci(L, g->n), LHINT_VECTORIZE, body.first));
}

/* All of k for rows i0 .. i0+nr-1, then their epilogue. */
static LStmt *i8_rows(Lower *L, const I8Gemm *g, LExpr *i0, int nr) {
  LProgram *p = L->p;
  int64_t groups = g->kp / 4, chunk = I8_CHUNK / 4, cells = nr * g->n;
  LStmt *sum = fill_n(L, g->acc, cells, le_int(p, DT_I32, 0));
  bool chunked = groups > chunk;
  if (!chunked) {
    sum = seq(sum, k_groups(L, g, i0, nr, ci(L, 0), ci(L, groups)));
  } else { /* int32 chunks of I8_CHUNK terms, each widened into wide */
    LVar *ch = lv_loop(L, "ch"), *t = lv_loop(L, "t");
    LExpr *lo = mul(L, ve(L, ch), ci(L, chunk));
    LExpr *hi = le_bin(p, LB_MIN, add(L, lo, ci(L, chunk)), ci(L, groups));
    LStmt *fold = loop(L, t, ci(L, cells), LHINT_VECTORIZE,
                       seq(ls_store(p, g->wide, ve(L, t),
                                    le_bin(p, LB_ADD, ld(L, g->wide, ve(L, t)),
                                           le_cast(p, DT_I64, ld(L, g->acc, ve(L, t))))),
                           ls_store(p, g->acc, ve(L, t), le_int(p, DT_I32, 0))));
    sum = seq3(sum, fill_n(L, g->wide, cells, le_int(p, DT_I64, 0)),
               loop(L, ch, ci(L, (groups + chunk - 1) / chunk), 0,
                    seq(k_groups(L, g, i0, nr, lo, hi), fold)));
  }
  LVar *r = lv_loop(L, "r"), *j = lv_loop(L, "j");
  LExpr *cell = add(L, mul(L, ve(L, r), ci(L, g->n)), ve(L, j));
  LExpr *total = chunked ? ld(L, g->wide, cell) : ld(L, g->acc, cell);
  LStmt *store = i8_store(L, g, add(L, i0, ve(L, r)), ve(L, j), total);
  return seq(sum, loop(L, r, ci(L, nr), 0, loop(L, j, ci(L, g->n), LHINT_VECTORIZE, store)));
}

/* A narrow product (b_by_rows): per element, the sum over the groups [lo,
 * hi) of k of row i of A and row j of B into the i32 local acc. */
static LStmt *dot_run(Lower *L, const I8Gemm *g, LVar *i, LVar *j, LVar *acc, LExpr *lo,
                      LExpr *hi) {
  LProgram *p = L->p;
  LVar *kb = lv_loop(L, "kb");
  LExpr *k = mul(L, ve(L, kb), ci(L, 4));
  LExpr *ai = add(L, g->aoff, add(L, mul(L, ve(L, i), ci(L, g->kp)), k));
  LExpr *bj = add(L, g->boff, add(L, mul(L, ve(L, j), ci(L, g->kp)), k));
  LExpr *dot = le_call3(p, LI_DOT4_I8, ve(L, acc), ld(L, g->a, ai), ld(L, g->b, bj));
  return seq(ls_let(p, acc, le_int(p, DT_I32, 0)),
             ls_for(p, kb, lo, hi, 1, 0, ls_assign(p, acc, dot)));
}

static LStmt *i8_gemm_dots(Lower *L, const I8Gemm *g) {
  LProgram *p = L->p;
  LVar *i = lv_loop(L, "i"), *j = lv_loop(L, "j");
  int64_t groups = g->kp / 4, chunk = I8_CHUNK / 4;
  LStmt *sum;
  LExpr *total; /* the whole sum: i32 when one chunk, else i64 */
  if (groups <= chunk) {
    LVar *acc = lv_local(L, "acc", DT_I32);
    sum = dot_run(L, g, i, j, acc, ci(L, 0), ci(L, groups));
    total = ve(L, acc);
  } else { /* int32 chunks of I8_CHUNK terms, each widened into wide */
    LVar *acc = lv_local(L, "acc", DT_I32), *wide = lv_local(L, "wide", DT_I64);
    LVar *ch = lv_loop(L, "ch");
    LExpr *lo = mul(L, ve(L, ch), ci(L, chunk));
    LExpr *hi = le_bin(p, LB_MIN, add(L, lo, ci(L, chunk)), ci(L, groups));
    LStmt *part = seq(dot_run(L, g, i, j, acc, lo, hi),
                      ls_assign(p, wide, le_bin(p, LB_ADD, ve(L, wide),
                                                le_cast(p, DT_I64, ve(L, acc)))));
    sum = seq(ls_let(p, wide, le_int(p, DT_I64, 0)),
              loop(L, ch, ci(L, (groups + chunk - 1) / chunk), 0, part));
    total = ve(L, wide);
  }
  LStmt *store = i8_store(L, g, ve(L, i), ve(L, j), total);
  return loop(L, i, g->m, 0, loop(L, j, ci(L, g->n), 0, seq(sum, store)));
}

/* C = A . B^T: blocks of I8_MR rows, then the rest (one block when m is a
 * constant, single rows when it is %n). */
static LStmt *i8_gemm(Lower *L, I8Gemm *g) {
  if (b_by_rows(g->n)) return i8_gemm_dots(L, g);
  int64_t cells = I8_MR * g->n;
  g->acc = scratch(L, "acc32", DT_I32, cells);
  if (g->kp / 4 > I8_CHUNK / 4) g->wide = scratch(L, "acc64", DT_I64, cells);
  LVar *ib = lv_loop(L, "ib");
  LExpr *i0 = mul(L, ve(L, ib), ci(L, I8_MR));
  if (g->m->kind == LE_CONST) {
    int64_t m = g->m->i, blocks = m / I8_MR;
    int rest = (int)(m % I8_MR);
    LStmt *out = blocks ? loop(L, ib, ci(L, blocks), 0, i8_rows(L, g, i0, I8_MR)) : NULL;
    return rest ? seq(out, i8_rows(L, g, ci(L, m - rest), rest)) : out;
  }
  LExpr *blocks = le_bin(L->p, LB_DIV, g->m, ci(L, I8_MR));
  LVar *i = lv_loop(L, "i");
  return seq(loop(L, ib, blocks, 0, i8_rows(L, g, i0, I8_MR)),
             ls_for(L->p, i, mul(L, blocks, ci(L, I8_MR)), g->m, 1, 0, i8_rows(L, g, ve(L, i), 1)));
}

/* --- dense --- */

/* y = s_x s_w . x . w^T + b. With more units than samples in the compiled
 * batch, the weight is A, read in place (packed only when F is not a
 * multiple of 4) and x is B (B x F bytes to pack instead of U x F): the
 * result is y transposed, stored with the row stride 1. Otherwise x's rows
 * are A and w is B. */
bool lower_dense_i8(Lower *L, const Node *n, LowerMode mode) {
  (void)mode;
  const Value *x = n->in[0], *w = n->in[2], *y = n->out[0];
  int64_t f = x->type.shape.dim[1], u = y->type.shape.dim[1], fp = round4(f), b = L->p->batch;
  lower_kernel(L, n, "fwd", L->entries);
  LVar *scale = lv_local(L, "scale", DT_F32);
  LBuffer *bias = n->nin > 4 ? vbuf(L, n->in[4]) : NULL;
  if (u > b) { /* more units than samples: yT [U x B] = w . xT, w read in place */
    LBuffer *xp = scratch(L, "xp", DT_I8, b * fp);
    I8Gemm g = {.a = vbuf(L, w), .b = xp, .aoff = ci(L, 0), .boff = ci(L, 0), .kp = fp,
                .m = ci(L, u), .n = b, .c = vbuf(L, y), .coff = ci(L, 0), .crs = 1, .ccs = u,
                .scale = scale, .bias = bias, .bias_off = ci(L, 0)};
    LStmt *prep = seq3(scale_product(L, scale, n->in[1], n->in[3]), clear(L, xp),
                       pack_b_rows(L, xp, ci(L, 0), b, batch_n(L), fp, ci(L, f), vbuf(L, x),
                                   ci(L, 0), f, 1));
    if (fp != f) {
      g.a = scratch(L, "wp", DT_I8, u * fp);
      prep = seq3(prep, clear(L, g.a),
                  pack(L, g.a, ci(L, 0), ci(L, u), ci(L, f), fp, vbuf(L, w), ci(L, 0), f, 1));
    }
    lower_kernel_body(L, seq(prep, i8_gemm(L, &g)));
    return true;
  }
  LBuffer *wp = scratch(L, "wp", DT_I8, u * fp);
  I8Gemm g = {.a = vbuf(L, x), .b = wp, .aoff = ci(L, 0), .boff = ci(L, 0), .kp = fp,
              .m = batch_n(L), .n = u, .c = vbuf(L, y), .coff = ci(L, 0), .crs = u, .ccs = 1,
              .scale = scale, .bias = bias, .bias_off = ci(L, 0), .bias_by_col = true};
  LStmt *prep = seq3(scale_product(L, scale, n->in[1], n->in[3]), clear(L, wp),
                     pack_b(L, wp, ci(L, 0), u, fp, ci(L, f), vbuf(L, w), ci(L, 0), f, 1));
  if (fp != f) {
    g.a = scratch(L, "xp", DT_I8, b * fp);
    prep = seq3(prep, clear(L, g.a),
                pack(L, g.a, ci(L, 0), batch_n(L), ci(L, f), fp, vbuf(L, x), ci(L, 0), f, 1));
  }
  lower_kernel_body(L, seq(prep, i8_gemm(L, &g)));
  return true;
}

/* dx = s_e s_w . dy . w: dy's rows as they are (packed when U is not a
 * multiple of 4), w transposed into rows of U. */
bool lower_dense_i8_dx(Lower *L, const Node *n, LowerMode mode) {
  (void)mode;
  const Value *dy = n->in[0], *w = n->in[2], *dx = n->out[0];
  int64_t u = dy->type.shape.dim[1], f = dx->type.shape.dim[1], up = round4(u), b = L->p->batch;
  lower_kernel(L, n, "dx", L->entries);
  LVar *scale = lv_local(L, "scale", DT_F32);
  LBuffer *wt = scratch(L, "wt", DT_I8, f * up);
  I8Gemm g = {.a = vbuf(L, dy), .b = wt, .aoff = ci(L, 0), .boff = ci(L, 0), .kp = up,
              .m = batch_n(L), .n = f, .c = vbuf(L, dx), .coff = ci(L, 0), .crs = f, .ccs = 1,
              .scale = scale};
  LStmt *prep = seq3(scale_product(L, scale, n->in[1], n->in[3]), clear(L, wt),
                     pack_b(L, wt, ci(L, 0), f, up, ci(L, u), vbuf(L, w), ci(L, 0), 1, f));
  if (up != u) {
    g.a = scratch(L, "dyp", DT_I8, b * up);
    prep = seq3(prep, clear(L, g.a),
                pack(L, g.a, ci(L, 0), batch_n(L), ci(L, u), up, vbuf(L, dy), ci(L, 0), u, 1));
  }
  lower_kernel_body(L, seq(prep, i8_gemm(L, &g)));
  return true;
}

/* dw = s_x s_e . dy^T . x: both transposed into rows over the compiled
 * batch (the samples past %n stay zero). */
bool lower_dense_i8_dw(Lower *L, const Node *n, LowerMode mode) {
  (void)mode;
  const Value *x = n->in[0], *dy = n->in[2], *dw = n->out[0];
  int64_t u = dy->type.shape.dim[1], f = x->type.shape.dim[1], bp = round4(L->p->batch);
  lower_kernel(L, n, "dw", L->entries);
  LVar *scale = lv_local(L, "scale", DT_F32);
  LBuffer *dyt = scratch(L, "dyt", DT_I8, u * bp), *xt = scratch(L, "xt", DT_I8, f * bp);
  I8Gemm g = {.a = dyt, .b = xt, .aoff = ci(L, 0), .boff = ci(L, 0), .kp = bp, .m = ci(L, u),
              .n = f, .c = vbuf(L, dw), .coff = ci(L, 0), .crs = f, .ccs = 1, .scale = scale};
  LStmt *prep = seq3(scale_product(L, scale, n->in[1], n->in[3]), seq(clear(L, dyt), clear(L, xt)),
                     seq(pack(L, dyt, ci(L, 0), ci(L, u), batch_n(L), bp, vbuf(L, dy), ci(L, 0), 1, u),
                         pack_b(L, xt, ci(L, 0), f, bp, batch_n(L), vbuf(L, x), ci(L, 0), 1, f)));
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

/* The column matrix entry of a tap: kc * kcs + p * ps, or, for a B
 * operand of n columns and kp k (n > 0), b_at(j, k) with (j, k) = (p, kc)
 * (forward: n = P) or (kc, p) (weight gradient, k_is_pos: n = Kc). */
typedef struct ColCtx {
  LBuffer *x, *col;
  int64_t kcs, ps;
  int64_t n, kp;
  bool k_is_pos;
} ColCtx;

static LExpr *col_at(Lower *L, const ColCtx *c, const Tap *t) {
  if (c->n)
    return c->k_is_pos ? b_at(L, c->n, c->kp, tap_kc(L, t), tap_pos(L, t))
                       : b_at(L, c->n, c->kp, tap_pos(L, t), tap_kc(L, t));
  return add(L, mul(L, tap_kc(L, t), ci(L, c->kcs)), mul(L, tap_pos(L, t), ci(L, c->ps)));
}

/* im2col into int8: col[...] = x[...]. */
static LStmt *col_store(Lower *L, void *vctx, const Tap *t) {
  ColCtx *c = vctx;
  return ls_store(L->p, c->col, col_at(L, c, t), ld(L, c->x, tap_xi(L, t)));
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
  int64_t kcp = round4(g.kc);
  lower_kernel(L, n, "fwd", L->entries);
  LVar *scale = lv_local(L, "scale", DT_F32);
  LVar *s = lv_loop(L, "s"), *gv = group_loop_var(L);
  LBuffer *wp = vbuf(L, w);
  LStmt *prep = scale_product(L, scale, n->in[1], n->in[3]);
  if (kcp != g.kc) {
    wp = scratch(L, "wp", DT_I8, g.f * kcp);
    prep = seq3(prep, clear(L, wp),
                pack(L, wp, ci(L, 0), ci(L, g.f), ci(L, g.kc), kcp, vbuf(L, w), ci(L, 0), g.kc, 1));
  }
  LBuffer *colt = scratch(L, "colt", DT_I8, g.p * kcp);
  ColCtx cc = {vbuf(L, x), colt, 0, 0, g.p, kcp, false};
  I8Gemm m = {.a = wp, .b = colt, .aoff = mul(L, ve(L, gv), ci(L, g.fg * kcp)), .boff = ci(L, 0),
              .kp = kcp, .m = ci(L, g.fg), .n = g.p, .c = vbuf(L, y),
              .coff = add(L, mul(L, ve(L, s), ci(L, g.f * g.p)), mul(L, ve(L, gv), ci(L, g.fg * g.p))),
              .crs = g.p, .ccs = 1, .scale = scale, .bias = n->nin > 4 ? vbuf(L, n->in[4]) : NULL,
              .bias_off = mul(L, ve(L, gv), ci(L, g.fg))};
  LStmt *per = seq(each_tap(L, &g, s, gv, col_store, &cc), i8_gemm(L, &m));
  lower_kernel_body(L, seq3(prep, clear(L, colt), per_sample_group(L, s, gv, &g, NULL, per)));
  return true;
}

/* dcol[kc, p] = s_e s_w . sum_f w[g*Fg + f, kc] dy[s, g*Fg + f, p], then
 * dx += col2im(dcol). */
bool lower_conv_i8_dx(Lower *L, const Node *n, LowerMode mode) {
  (void)mode;
  const Value *dy = n->in[0], *w = n->in[2], *dx = n->out[0];
  Conv g = conv_geometry(n, dx, dy);
  int64_t fgp = round4(g.fg);
  lower_kernel(L, n, "dx", L->entries);
  LVar *scale = lv_local(L, "scale", DT_F32);
  LVar *s = lv_loop(L, "s"), *gv = group_loop_var(L), *g0 = group_loop_var(L);
  LBuffer *wt = scratch(L, "wt", DT_I8, g.groups * g.kc * fgp);
  LBuffer *dyt = scratch(L, "dyt", DT_I8, g.p * fgp);
  LBuffer *dcol = scratch(L, "dcol", DT_F32, g.kc * g.p);
  /* wt[g][kc, f] = w[g*Fg + f, kc] */
  LStmt *prep = seq3(scale_product(L, scale, n->in[1], n->in[3]), seq(clear(L, wt), clear(L, dyt)),
                     loop(L, g0, ci(L, g.groups), 0,
                          pack(L, wt, mul(L, ve(L, g0), ci(L, g.kc * fgp)), ci(L, g.kc), ci(L, g.fg),
                               fgp, vbuf(L, w), mul(L, ve(L, g0), ci(L, g.fg * g.kc)), 1, g.kc)));
  /* dyt[p, f] = dy[s, g*Fg + f, p] */
  LExpr *dyoff = add(L, mul(L, ve(L, s), ci(L, g.f * g.p)), mul(L, ve(L, gv), ci(L, g.fg * g.p)));
  LStmt *tr = pack_b(L, dyt, ci(L, 0), g.p, fgp, ci(L, g.fg), vbuf(L, dy), dyoff, 1, g.p);
  I8Gemm m = {.a = wt, .b = dyt, .aoff = mul(L, ve(L, gv), ci(L, g.kc * fgp)), .boff = ci(L, 0),
              .kp = fgp, .m = ci(L, g.kc), .n = g.p, .c = dcol, .coff = ci(L, 0), .crs = g.p,
              .ccs = 1, .scale = scale};
  ColCtx cc = {vbuf(L, dx), dcol, g.p, 1, 0, 0, false};
  LStmt *per = seq3(tr, i8_gemm(L, &m), each_tap(L, &g, s, gv, col_add, &cc));
  /* dx[s] = 0 first: col2im adds */
  LVar *z = lv_loop(L, "z");
  int64_t chw = g.c * g.h * g.w;
  LStmt *zero = loop(L, z, ci(L, chw), LHINT_VECTORIZE,
                     ls_store(L->p, vbuf(L, dx), add(L, mul(L, ve(L, s), ci(L, chw)), ve(L, z)), cf(L, 0)));
  lower_kernel_body(L, seq(prep, per_sample_group(L, s, gv, &g, zero, per)));
  return true;
}

/* dw[g*Fg + f, kc] = s_x s_e . sum_s sum_p dy[s, g*Fg + f, p] col[kc, p]:
 * each sample's int32 products go into an int64 accumulator. */
bool lower_conv_i8_dw(Lower *L, const Node *n, LowerMode mode) {
  (void)mode;
  const Value *x = n->in[0], *dy = n->in[2], *dw = n->out[0];
  Conv g = conv_geometry(n, x, dy);
  int64_t pp = round4(g.p);
  lower_kernel(L, n, "dw", L->entries);
  LVar *scale = lv_local(L, "scale", DT_F32);
  LVar *s = lv_loop(L, "s"), *gv = group_loop_var(L);
  LBuffer *col = scratch(L, "col", DT_I8, g.kc * pp);
  LBuffer *acc = scratch(L, "acc", DT_I64, g.f * g.kc);
  LExpr *dyoff = add(L, mul(L, ve(L, s), ci(L, g.f * g.p)), mul(L, ve(L, gv), ci(L, g.fg * g.p)));
  LStmt *per = NULL;
  I8Gemm m = {.a = vbuf(L, dy), .b = col, .aoff = dyoff, .boff = ci(L, 0), .kp = pp,
              .m = ci(L, g.fg), .n = g.kc, .c = acc, .coff = mul(L, ve(L, gv), ci(L, g.fg * g.kc)),
              .crs = g.kc, .ccs = 1};
  LStmt *prep = seq3(scale_product(L, scale, n->in[1], n->in[3]), clear(L, col), clear(L, acc));
  if (pp != g.p) {
    LBuffer *dyp = scratch(L, "dyp", DT_I8, g.fg * pp);
    prep = seq(prep, clear(L, dyp));
    LExpr *dyoff2 = add(L, mul(L, ve(L, s), ci(L, g.f * g.p)), mul(L, ve(L, gv), ci(L, g.fg * g.p)));
    per = pack(L, dyp, ci(L, 0), ci(L, g.fg), ci(L, g.p), pp, vbuf(L, dy), dyoff2, g.p, 1);
    m.a = dyp;
    m.aoff = ci(L, 0);
  }
  ColCtx cc = {vbuf(L, x), col, 0, 0, g.kc, pp, true};
  per = seq3(per, each_tap(L, &g, s, gv, col_store, &cc), i8_gemm(L, &m));
  LVar *i = lv_loop(L, "i");
  LStmt *out = loop(L, i, ci(L, g.f * g.kc), LHINT_VECTORIZE,
                    ls_store(L->p, vbuf(L, dw), ve(L, i),
                             le_bin(L->p, LB_MUL, le_cast(L->p, DT_F32, ld(L, acc, ve(L, i))),
                                    ve(L, scale))));
  lower_kernel_body(L, seq3(prep, per_sample_group(L, s, gv, &g, NULL, per), out));
  return true;
}
