/* Lowering of the linear layers: conv2d and dense, forward and backward
 * (grad_input, grad_weight, bias_grad). Every one of them is a matrix
 * product, so this file has one GEMM loop-nest emitter and each op only
 * says which buffers play C, A and B:
 *
 *   conv2d        per sample and group: y   [Fg x P]  = w  [Fg x Kc] . col [Kc x P]
 *   conv dx       per sample and group: dcol[Kc x P]  = wT [Kc x Fg] . dy  [Fg x P], col2im
 *   conv dw       per sample and group: dw  [Fg x Kc] += dy [Fg x P]  . colT[P x Kc]
 *                 or (Fg % 8 == 0):     dwT [Kc x Fg] += col[Kc x P]  . dyT [P x Fg]
 *   dense         y  [n x U] = x  [n x F] . wT [F x U]   (w transposed once per step)
 *                 or yt [U x B] = w [U x F] . xt [F x B] (the batch transposed)
 *   dense dx      dx [n x F] = dy [n x U] . w  [U x F]
 *                 or dxt [F x B] = wT [F x U] . dyt [U x B]
 *   dense dw      dw [U x F] = dyT[U x n] . x  [n x F]
 *
 * (Kc = C/groups * kh * kw, P = OH * OW, B the compiled batch; each "or" is
 * taken when its transposes move fewer floats.) The GEMM's innermost loop
 * is an axpy over a contiguous row of B and C, C[i,:] += A[i,k] * B[k,:],
 * with a register block of MR rows and KU steps of k whose A values are
 * hoisted into locals: no float reduction in the innermost loop, so C
 * compilers vectorise it without -ffast-math. The inner loop's trip count is
 * split into whole vectors of the target (or a multiple of 8), a block of 4
 * and a short tail, because gcc -O2 only vectorises loops it needs no
 * epilogue for; C is done in column panels of two vectors, each register
 * block's C set to its start (bias or 0) just before its k loop, so it stays
 * in registers; a short constant k is done whole in one pass over the
 * columns, with no k loop and no panels. docs/lowering.md records the
 * choices and the measurements behind them. */
#include "lower.h"

/* Register block of the GEMM: rows of C per pass (a matrix of at most
 * GEMM_MR_MAX rows is one block), steps of k per pass, and the multiple of
 * the vectorised part of the inner loop. */
enum { GEMM_MR = 4, GEMM_MR_MAX = 6, GEMM_KU = 4, GEMM_VEC = 8 };
/* With the target's vector width known (L->f32_lanes), C is done in column
 * panels of GEMM_NV vectors, each vector's columns a loop of their own: a
 * loop of one vector iteration inside the k-block loop leaves C's MR x
 * GEMM_NV vectors at addresses fixed across k, so LLVM keeps them in
 * registers for the whole of k (LICM's promotion) instead of loading and
 * storing them per k block. Without it (scalar targets), the widest panel
 * is GEMM_NC floats: MR rows of it are 16 KB. */
enum { GEMM_NV = 2, GEMM_NC = 1024 };
/* A constant k of at most GEMM_KSHORT steps is done whole in one pass of
 * the column loops (short_k): no k loop to keep C in registers across, so
 * no panels and no init loops either. */
enum { GEMM_KSHORT = 12 };

/* A GEMM operand: element (i, j) lives at buf[off + i*rs + j*cs], where off
 * is an expression of the enclosing loops (sample, group). A row or column
 * table (an i32 const buffer) replaces i*rs or j*cs by rtab[i] or ctab[j]:
 * the implicit column matrix of a stride-1 conv (conv_implicit). */
typedef struct Mat {
  LBuffer *buf;
  LExpr *off;
  int64_t rs, cs;
  LBuffer *rtab, *ctab;
} Mat;

/* What C holds before the product: GEMM_ACC accumulates into C as it is;
 * GEMM_SET overwrites it (C = 0 + A.B), GEMM_BIAS sets it to the bias
 * (bias[off + row], or bias[off + col] with bias_by_col) plus A.B. With a
 * constant k each register block's C starts from init_loops; with a
 * runtime k the caller fills C and asks for GEMM_ACC. */
typedef enum { GEMM_ACC, GEMM_SET, GEMM_BIAS } GemmInit;

/* C [m x n] (+)= A [m x k] . B [k x n]; m and k may be runtime (%n), n is a
 * constant (the contiguous dimension of B and C). */
typedef struct Gemm {
  Mat c, a, b;
  LExpr *m, *k;
  int64_t n;
  GemmInit init;
  LBuffer *bias;
  LExpr *bias_off;
  bool bias_by_col;
} Gemm;

static Mat mat(LBuffer *buf, LExpr *off, int64_t rs, int64_t cs) {
  return (Mat){buf, off, rs, cs, NULL, NULL};
}

/* tab[i], read at compile time when i is a constant. */
static LExpr *tab_at(Lower *L, LBuffer *tab, LExpr *i) {
  return i->kind == LE_CONST ? ci(L, lconst_int(tab, i->i)) : ld(L, tab, i);
}

static LExpr *at(Lower *L, const Mat *m, LExpr *i, LExpr *j) {
  LExpr *row = m->rtab ? tab_at(L, m->rtab, i) : mul(L, i, ci(L, m->rs));
  LExpr *col = m->ctab ? tab_at(L, m->ctab, j) : mul(L, j, ci(L, m->cs));
  return add(L, m->off, add(L, row, col));
}

static LExpr *fadd(Lower *L, LExpr *a, LExpr *b) { return le_bin(L->p, LB_ADD, a, b); }
static LExpr *fmul(Lower *L, LExpr *a, LExpr *b) { return le_bin(L->p, LB_MUL, a, b); }
static LExpr *imax(Lower *L, LExpr *a, LExpr *b) { return le_bin(L->p, LB_MAX, a, b); }
static LExpr *imin(Lower *L, LExpr *a, LExpr *b) { return le_bin(L->p, LB_MIN, a, b); }
static LExpr *idiv(Lower *L, LExpr *a, int64_t b) {
  if (b == 1) return a;
  if (a->kind == LE_CONST) return ci(L, a->i / b);
  return le_bin(L->p, LB_DIV, a, ci(L, b));
}
static bool is_constant(const LExpr *e) { return e->kind == LE_CONST; }
static int64_t round_up(int64_t x, int64_t to) { return (x + to - 1) / to * to; }

/* for var in [lo, hi) with hints. */
static LStmt *range(Lower *L, LVar *v, LExpr *lo, LExpr *hi, unsigned hints, LStmt *body) {
  return ls_for(L->p, v, lo, hi, 1, hints, body);
}

/* --- the GEMM emitter --- */

/* What C[i, j] starts from: the bias or nothing. */
static LExpr *c_start(Lower *L, const Gemm *g, LExpr *i, LVar *j) {
  if (g->init != GEMM_BIAS) return NULL;
  return ld(L, g->bias, add(L, g->bias_off, g->bias_by_col ? ve(L, j) : i));
}

/* The column loops of an n-column panel, as cut points: cut[0] = 0 <
 * ... < cut[parts] = n; part i is vectorised when vec[i]. With the vector
 * width known: one loop per whole vector (all whole vectors one loop when
 * whole: C is not kept across k then), then the rest in halving
 * vectors down to 4 lanes, then a scalar tail under 4. Without: [0, n8) a
 * multiple of 8 lanes, [n8, n4) one block of 4 (an SSE vector, so gcc -O2
 * vectorises it too), [n4, n) scalar. */
enum { GEMM_PARTS_MAX = GEMM_NV + 8 };
static int column_parts(const Lower *L, int64_t n, bool whole, int64_t *cut, bool *vec) {
  int parts = 0;
  int64_t at = 0, lanes = L->f32_lanes;
  cut[0] = 0;
  if (lanes < 4) {
    int64_t ends[3] = {n / GEMM_VEC * GEMM_VEC, n / 4 * 4, n};
    for (int i = 0; i < 3; i++) {
      if (ends[i] == at) continue;
      vec[parts] = i < 2;
      cut[++parts] = at = ends[i];
    }
    return parts;
  }
  if (whole && n >= lanes) {
    vec[parts] = true;
    cut[++parts] = at = n / lanes * lanes;
  }
  for (int64_t w = lanes; w >= 4; w /= 2)
    while (n - at >= w && parts < GEMM_PARTS_MAX - 1) {
      vec[parts] = true;
      cut[++parts] = at += w;
    }
  if (at < n) {
    vec[parts] = false;
    cut[++parts] = n;
  }
  return parts;
}

/* What C[i0+r, j] gets in a panel's column loops (row r, column j, C's
 * element ci_), given the block's A locals a and its k steps k0.. k0+nk-1;
 * a NULL a asks for C's start instead. With whole (a short k: k0 = 0, nk
 * = k), C's start (or C itself with GEMM_ACC) plus each GEMM_KU steps' sum
 * in turn: the additions of the k loop, in its order. */
typedef struct RowStep {
  LExpr *k0;
  int nk;
  LVar **a;
  bool whole;
} RowStep;

static LExpr *row_value(Lower *L, const Gemm *g, const RowStep *st, LExpr *i, int r, LVar *j,
                        LExpr *ci_) {
  /* C's start (the bias or 0): all of it without A, the first term of a
   * whole k that does not accumulate */
  bool from_start = !st->a || (st->whole && g->init != GEMM_ACC);
  LExpr *v = from_start ? c_start(L, g, i, j) : ld(L, g->c.buf, ci_);
  if (!v) v = cf(L, 0);
  if (!st->a) return v;
  for (int q0 = 0; q0 < st->nk; q0 += GEMM_KU) {
    LExpr *sum = NULL;
    for (int q = q0; q < st->nk && q < q0 + GEMM_KU; q++) {
      LExpr *bq = ld(L, g->b.buf, at(L, &g->b, add(L, st->k0, ci(L, q)), ve(L, j)));
      LExpr *t = fmul(L, ve(L, st->a[r * st->nk + q]), bq);
      sum = sum ? fadd(L, sum, t) : t;
    }
    v = fadd(L, v, sum);
  }
  return v;
}

/* The loops column_parts cuts, each storing row_value into C[i0+r, j] for
 * the rows i0..i0+nr-1. */
static LStmt *panel_loops(Lower *L, const Gemm *g, LExpr *i0, int nr, const RowStep *st) {
  int64_t cut[GEMM_PARTS_MAX + 1];
  bool vec[GEMM_PARTS_MAX];
  int parts = column_parts(L, g->n, st->whole, cut, vec);
  LStmt *out = NULL;
  for (int part = 0; part < parts; part++) {
    LVar *j = lv_loop(L, "j");
    LBlock body = {0};
    for (int r = 0; r < nr; r++) {
      LExpr *i = add(L, i0, ci(L, r)), *ci_ = at(L, &g->c, i, ve(L, j));
      lblock_add(&body, ls_store(L->p, g->c.buf, ci_, row_value(L, g, st, i, r, j, ci_)));
    }
    unsigned hint = vec[part] ? LHINT_VECTORIZE : 0;
    out = seq(out, range(L, j, ci(L, cut[part]), ci(L, cut[part + 1]), hint, body.first));
  }
  return out;
}

/* C[i0+r, j] = its start (the bias or 0) before the first k block, which
 * then adds like the others. (The first k block used to store start + sum
 * itself: a second copy of the block's loops, a tenth of resnet20's compile
 * time; with C in registers across k the fill costs nothing measurable, and
 * 0 + x and bias + x give the same bits.) */
static LStmt *init_loops(Lower *L, const Gemm *g, LExpr *i0, int nr) {
  RowStep start = {NULL, 0, NULL, false};
  return panel_loops(L, g, i0, nr, &start);
}

/* One register block: hoist the nr x nk A values, then the column loops of
 * C[i0+r, j] += sum_q a[r][q] * B[k0+q, j] (whole: all of a short k). */
static LStmt *gemm_block(Lower *L, const Gemm *g, LExpr *i0, int nr, LExpr *k0, int nk,
                         bool whole) {
  LVar *a[GEMM_MR_MAX * GEMM_KSHORT];
  LBlock lets = {0};
  for (int r = 0; r < nr; r++)
    for (int q = 0; q < nk; q++) {
      a[r * nk + q] = lv_local(L, "a", DT_F32);
      LExpr *v = ld(L, g->a.buf, at(L, &g->a, add(L, i0, ci(L, r)), add(L, k0, ci(L, q))));
      lblock_add(&lets, ls_let(L->p, a[r * nk + q], v));
    }
  RowStep step = {k0, nk, a, whole};
  return seq(lets.first, panel_loops(L, g, i0, nr, &step));
}

/* All of k for the rows i0..i0+nr-1: blocks of GEMM_KU steps, then the rest
 * (one block when k is a constant, a loop of single steps when runtime).
 * With a constant k and a GEMM_SET/BIAS init, C starts from init_loops; a
 * runtime k (%n) keeps GEMM_ACC and a fill by the caller (with %n = 0 C must
 * still be defined). */
static bool short_k(const Gemm *g) { return is_constant(g->k) && g->k->i <= GEMM_KSHORT; }

static LStmt *gemm_rows(Lower *L, const Gemm *g, LExpr *i0, int nr) {
  LStmt *out = NULL;
  if (short_k(g) && g->k->i > 0) return gemm_block(L, g, i0, nr, ci(L, 0), (int)g->k->i, true);
  if (is_constant(g->k)) {
    int64_t k = g->k->i, blocks = k / GEMM_KU;
    int rest = (int)(k % GEMM_KU);
    if (g->init != GEMM_ACC) out = init_loops(L, g, i0, nr);
    if (blocks > 0) {
      LVar *kb = lv_loop(L, "kb");
      LExpr *k0 = mul(L, ve(L, kb), ci(L, GEMM_KU));
      LStmt *block = gemm_block(L, g, i0, nr, k0, GEMM_KU, false);
      out = seq(out, range(L, kb, ci(L, 0), ci(L, blocks), 0, block));
    }
    if (rest) out = seq(out, gemm_block(L, g, i0, nr, ci(L, k - rest), rest, false));
    return out;
  }
  LVar *kb = lv_loop(L, "kb");
  LExpr *k0 = mul(L, ve(L, kb), ci(L, GEMM_KU));
  LStmt *block = gemm_block(L, g, i0, nr, k0, GEMM_KU, false);
  out = range(L, kb, ci(L, 0), idiv(L, g->k, GEMM_KU), 0, block);
  LVar *k = lv_loop(L, "k");
  LExpr *lo = mul(L, idiv(L, g->k, GEMM_KU), ci(L, GEMM_KU));
  return seq(out, range(L, k, lo, g->k, 0, gemm_block(L, g, i0, nr, ve(L, k), 1, false)));
}

/* The rows of a register block for a constant m: GEMM_MR, or when that
 * leaves a rest, the first of 6, 5, 3 that divides m (one loop nest instead
 * of a second one for the rest: compile time; the sums are the same). */
static int block_rows(int64_t m) {
  static const int mr[] = {GEMM_MR, 6, 5, 3};
  for (size_t i = 0; i < sizeof mr / sizeof mr[0]; i++)
    if (m % mr[i] == 0) return mr[i];
  return GEMM_MR;
}

/* C += A . B: row blocks of block_rows (GEMM_MR for a runtime m), then the
 * remaining rows. */
static LStmt *gemm_panel(Lower *L, const Gemm *g) {
  if (is_constant(g->m) && g->m->i <= GEMM_MR_MAX)
    return g->m->i > 0 ? gemm_rows(L, g, ci(L, 0), (int)g->m->i) : NULL;
  int mr = is_constant(g->m) ? block_rows(g->m->i) : GEMM_MR;
  LStmt *out = NULL;
  LExpr *mblocks = idiv(L, g->m, mr);
  if (!is_constant(mblocks) || mblocks->i > 0) {
    LVar *ib = lv_loop(L, "ib");
    LExpr *i0 = mul(L, ve(L, ib), ci(L, mr));
    out = range(L, ib, ci(L, 0), mblocks, 0, gemm_rows(L, g, i0, mr));
  }
  if (is_constant(g->m)) {
    int rest = (int)(g->m->i % mr);
    if (rest) out = seq(out, gemm_rows(L, g, ci(L, g->m->i - rest), rest));
  } else {
    LVar *i = lv_loop(L, "i");
    LExpr *lo = mul(L, idiv(L, g->m, GEMM_MR), ci(L, GEMM_MR));
    out = seq(out, range(L, i, lo, g->m, 0, gemm_rows(L, g, ve(L, i), 1)));
  }
  return out;
}

/* The columns [j0, j0 + n) of g as a GEMM of its own (C and B are
 * contiguous along j). */
static Gemm gemm_cols(Lower *L, const Gemm *g, LExpr *j0, int64_t n) {
  Gemm h = *g;
  h.c.off = add(L, g->c.off, j0);
  h.b.off = add(L, g->b.off, j0);
  if (g->bias_by_col) h.bias_off = add(L, g->bias_off, j0);
  h.n = n;
  return h;
}

/* C (+)= A . B in column panels (GEMM_NV vectors, or GEMM_NC floats
 * without the vector width): for jc { for i-block { for k-block { for j in
 * panel } } }. Without the vector width, the panels keep the MR rows of C
 * that every k block reads and writes back in L1 (simplecnn's fc1 weight
 * gradient: 4 rows of 4320 floats are 69 KB). */
static LStmt *gemm(Lower *L, const Gemm *g) {
  int64_t nc = L->f32_lanes >= 4 ? GEMM_NV * L->f32_lanes : GEMM_NC;
  if (g->n <= nc || short_k(g)) return gemm_panel(L, g);
  LVar *jc = lv_loop(L, "jc");
  Gemm panel = gemm_cols(L, g, mul(L, ve(L, jc), ci(L, nc)), nc);
  LStmt *out = loop(L, jc, ci(L, g->n / nc), 0, gemm_panel(L, &panel));
  if (g->n % nc) {
    Gemm last = gemm_cols(L, g, ci(L, g->n / nc * nc), g->n % nc);
    out = seq(out, gemm_panel(L, &last));
  }
  return out;
}

/* --- small loops --- */

/* buf[off + i] = value for i in [0, count). */
static LStmt *fill(Lower *L, LBuffer *buf, LExpr *off, LExpr *count, float value) {
  LVar *i = lv_loop(L, "i");
  return loop(L, i, count, LHINT_VECTORIZE, ls_store(L->p, buf, add(L, off, ve(L, i)), cf(L, value)));
}

/* --- convolution geometry --- */

/* x is the conv input [N,C,H,W], y its output [N,F,OH,OW]. */
Conv conv_geometry(const Node *n, const Value *x, const Value *y) {
  Conv g;
  g.c = x->type.shape.dim[1], g.h = x->type.shape.dim[2], g.w = x->type.shape.dim[3];
  g.f = y->type.shape.dim[1], g.oh = y->type.shape.dim[2], g.ow = y->type.shape.dim[3];
  g.kh = node_ints(n, "kernel", 0, 1), g.kw = node_ints(n, "kernel", 1, 1);
  g.sh = node_ints(n, "stride", 0, 1), g.sw = node_ints(n, "stride", 1, 1);
  g.ph = node_ints(n, "pad", 0, 0), g.pw = node_ints(n, "pad", 1, 0);
  g.groups = node_int(n, "groups", 1);
  g.cg = g.c / g.groups, g.fg = g.f / g.groups;
  g.kc = g.cg * g.kh * g.kw;
  g.p = g.oh * g.ow;
  return g;
}

/* A 1x1, stride-1, unpadded conv reads its input as the column matrix. */
static bool conv_direct(const Conv *g) {
  return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->ph == 0 && g->pw == 0;
}

/* The output positions o in [lo, hi) whose input o*s - pad + k is inside
 * [0, size): lo = ceil((pad - k) / s) clamped at 0, hi = ceil((size + pad -
 * k) / s) clamped at out. (C division truncates toward zero: a negative
 * numerator only ever gives a value the clamps replace.) */
static LExpr *valid_lo(Lower *L, LExpr *k, int64_t pad, int64_t s) {
  if (pad == 0) return ci(L, 0);
  return imax(L, ci(L, 0), idiv(L, add(L, ci(L, pad + s - 1), le_un(L->p, LU_NEG, k)), s));
}
static LExpr *valid_hi(Lower *L, LExpr *k, int64_t size, int64_t pad, int64_t s, int64_t out) {
  if (pad == 0) return ci(L, out); /* unpadded: every output sees its whole window */
  return imin(L, ci(L, out), idiv(L, sub(L, ci(L, size + pad + s - 1), k), s));
}

/* The output range [lo, hi) of a constant tap k (valid_lo / valid_hi with
 * the same truncating division), computed at compile time. */
static void valid_range(int64_t k, int64_t size, int64_t pad, int64_t s, int64_t out,
                        int64_t *lo, int64_t *hi) {
  int64_t l = pad == 0 ? 0 : (pad + s - 1 - k) / s;
  int64_t h = pad == 0 ? out : (size + pad + s - 1 - k) / s;
  *lo = l > 0 ? l : 0;
  *hi = h < out ? h : out;
}

/* Where col holds element (rowb + kw, oh*OW + o): row-major [rows x P], or
 * transposed [P x rows] (the layout the weight gradient reads). */
static LExpr *col_at(Lower *L, const Conv *g, bool transposed, LVar *rowb, LExpr *kw, LExpr *oh,
                     LExpr *o) {
  LExpr *row = add(L, ve(L, rowb), kw);
  LExpr *pos = add(L, mul(L, oh, ci(L, g->ow)), o);
  if (transposed) return add(L, mul(L, pos, ci(L, g->c * g->kh * g->kw)), row);
  return add(L, mul(L, row, ci(L, g->p)), pos);
}

/* col[row, oh*OW + o] = 0 for o in [lo, hi). */
static LStmt *zero_span(Lower *L, const Conv *g, LBuffer *col, bool transposed, LVar *rowb,
                        LExpr *kw, LExpr *oh, LExpr *lo, LExpr *hi) {
  LVar *o = lv_loop(L, "z");
  LStmt *st = ls_store(L->p, col, col_at(L, g, transposed, rowb, kw, oh, ve(L, o)), cf(L, 0));
  return range(L, o, lo, hi, LHINT_VECTORIZE, st);
}

/* The same for a constant tap and bounds; nothing if empty. */
static LStmt *zero_run(Lower *L, const Conv *g, LBuffer *col, bool transposed, LVar *rowb,
                       int64_t kw, LExpr *oh, int64_t lo, int64_t hi) {
  if (lo >= hi) return NULL;
  return zero_span(L, g, col, transposed, rowb, ci(L, kw), oh, ci(L, lo), ci(L, hi));
}

/* One column row of the im2col walk: tap (kh, kw) of channel c, kw a
 * compile-time constant, so the valid ow range [lo, hi) and the zero runs
 * of the padding have constant bounds. (With runtime bounds gcc -O2 turns
 * the short copies into memcpy calls or `rep movs`, which cost more than
 * the copy.) */
static LStmt *im2col_tap(Lower *L, const Conv *g, LBuffer *x, LExpr *xoff, LBuffer *col,
                         bool transposed, bool scatter, LVar *c, LVar *kh, LVar *rowb,
                         LVar *ohlo, LVar *ohhi, int64_t kw) {
  LProgram *p = L->p;
  int64_t lo, hi;
  valid_range(kw, g->w, g->pw, g->sw, g->ow, &lo, &hi);
  LVar *oh = lv_loop(L, "oh");
  LStmt *line = NULL;
  if (lo < hi) {
    LVar *ow = lv_loop(L, "ow");
    LExpr *ih = add(L, sub(L, mul(L, ve(L, oh), ci(L, g->sh)), ci(L, g->ph)), ve(L, kh));
    LExpr *iw = add(L, mul(L, ve(L, ow), ci(L, g->sw)), ci(L, kw - g->pw));
    LExpr *xi = add(L, xoff, add(L, mul(L, add(L, mul(L, ve(L, c), ci(L, g->h)), ih), ci(L, g->w)), iw));
    LExpr *ci_ = col_at(L, g, transposed, rowb, ci(L, kw), ve(L, oh), ve(L, ow));
    LStmt *inner = scatter ? ls_store(p, x, xi, fadd(L, ld(L, x, xi), ld(L, col, ci_)))
                           : ls_store(p, col, ci_, ld(L, x, xi));
    line = range(L, ow, ci(L, lo), ci(L, hi), LHINT_VECTORIZE, inner);
  }
  if (!scatter && g->pw)
    line = seq3(zero_run(L, g, col, transposed, rowb, kw, ve(L, oh), 0, lo < hi ? lo : g->ow), line,
                lo < hi ? zero_run(L, g, col, transposed, rowb, kw, ve(L, oh), hi, g->ow) : NULL);
  if (!line) return NULL;
  LStmt *lines = range(L, oh, ve(L, ohlo), ve(L, ohhi), 0, line);
  if (!scatter && g->ph) {
    /* whole output lines that read only padding */
    LVar *o1 = lv_loop(L, "oz"), *o2 = lv_loop(L, "oz");
    LStmt *top = range(L, o1, ci(L, 0), ve(L, ohlo), 0,
                       zero_run(L, g, col, transposed, rowb, kw, ve(L, o1), 0, g->ow));
    LStmt *bottom = range(L, o2, ve(L, ohhi), ci(L, g->oh), 0,
                          zero_run(L, g, col, transposed, rowb, kw, ve(L, o2), 0, g->ow));
    lines = seq3(top, lines, bottom);
  }
  return lines;
}

/* Kernels wider than TAP_LOOP_FROM taps per row are not unrolled: the kw
 * taps become a loop (compile time and C size stay linear in the kernel,
 * not in kernel x code per tap). Every shipped model is far below. */
enum { TAP_LOOP_FROM = 64 };

/* im2col_tap for a tap kw that is a loop variable: the same stores in the
 * same order, the valid ow range [owlo, owhi) and the zero runs computed at
 * run time (owlo clamped at OW, so an empty range zeroes the whole line). */
static LStmt *im2col_tap_loop(Lower *L, const Conv *g, LBuffer *x, LExpr *xoff, LBuffer *col,
                              bool transposed, bool scatter, LVar *c, LVar *kh, LVar *rowb,
                              LVar *ohlo, LVar *ohhi, LVar *kw) {
  LProgram *p = L->p;
  LVar *owlo = lv_local(L, "owlo", DT_I32), *owhi = lv_local(L, "owhi", DT_I32);
  LStmt *bounds = seq(ls_let(p, owlo, imin(L, ci(L, g->ow), valid_lo(L, ve(L, kw), g->pw, g->sw))),
                      ls_let(p, owhi, valid_hi(L, ve(L, kw), g->w, g->pw, g->sw, g->ow)));
  LVar *oh = lv_loop(L, "oh"), *ow = lv_loop(L, "ow");
  LExpr *ih = add(L, sub(L, mul(L, ve(L, oh), ci(L, g->sh)), ci(L, g->ph)), ve(L, kh));
  LExpr *iw = sub(L, add(L, mul(L, ve(L, ow), ci(L, g->sw)), ve(L, kw)), ci(L, g->pw));
  LExpr *xi = add(L, xoff, add(L, mul(L, add(L, mul(L, ve(L, c), ci(L, g->h)), ih), ci(L, g->w)), iw));
  LExpr *ci_ = col_at(L, g, transposed, rowb, ve(L, kw), ve(L, oh), ve(L, ow));
  LStmt *inner = scatter ? ls_store(p, x, xi, fadd(L, ld(L, x, xi), ld(L, col, ci_)))
                         : ls_store(p, col, ci_, ld(L, x, xi));
  LStmt *line = range(L, ow, ve(L, owlo), ve(L, owhi), LHINT_VECTORIZE, inner);
  if (!scatter && g->pw)
    line = seq3(zero_span(L, g, col, transposed, rowb, ve(L, kw), ve(L, oh), ci(L, 0), ve(L, owlo)),
                line,
                zero_span(L, g, col, transposed, rowb, ve(L, kw), ve(L, oh),
                          imax(L, ve(L, owlo), ve(L, owhi)), ci(L, g->ow)));
  LStmt *lines = range(L, oh, ve(L, ohlo), ve(L, ohhi), 0, line);
  if (!scatter && g->ph) {
    LVar *o1 = lv_loop(L, "oz"), *o2 = lv_loop(L, "oz");
    LStmt *top = range(L, o1, ci(L, 0), ve(L, ohlo), 0,
                       zero_span(L, g, col, transposed, rowb, ve(L, kw), ve(L, o1), ci(L, 0),
                                 ci(L, g->ow)));
    LStmt *bottom = range(L, o2, ve(L, ohhi), ci(L, g->oh), 0,
                          zero_span(L, g, col, transposed, rowb, ve(L, kw), ve(L, o2), ci(L, 0),
                                    ci(L, g->ow)));
    lines = seq3(top, lines, bottom);
  }
  return seq(bounds, lines);
}

/* The im2col traversal of one sample (its input at x[xoff..]): for every
 * column row (c, kh, kw), row = (c*KH + kh)*KW + kw, and output position
 * (oh, ow), the input element x[c, oh*sh - ph + kh, ow*sw - pw + kw] or
 * zero where that is padding. The valid oh range is computed per kh at run
 * time, the ow range per kw at compile time (the kw taps are unrolled), so
 * the copy loops have no test inside. With scatter it runs backwards
 * (col2im): x[...] += col[row, p], padding dropped; x must be zeroed first. */
static LStmt *im2col(Lower *L, const Conv *g, LBuffer *x, LExpr *xoff, LBuffer *col,
                     bool transposed, bool scatter) {
  LProgram *p = L->p;
  LVar *c = lv_loop(L, "c"), *kh = lv_loop(L, "kh");
  LVar *ohlo = lv_local(L, "ohlo", DT_I32), *ohhi = lv_local(L, "ohhi", DT_I32);
  LVar *rowb = lv_local(L, "row", DT_I32);
  LBlock per = {0};
  lblock_add(&per, ls_let(p, rowb, mul(L, add(L, mul(L, ve(L, c), ci(L, g->kh)), ve(L, kh)), ci(L, g->kw))));
  lblock_add(&per, ls_let(p, ohlo, valid_lo(L, ve(L, kh), g->ph, g->sh)));
  lblock_add(&per, ls_let(p, ohhi, valid_hi(L, ve(L, kh), g->h, g->ph, g->sh, g->oh)));
  if (g->kw > TAP_LOOP_FROM) {
    LVar *kw = lv_loop(L, "kw");
    lblock_add(&per, loop(L, kw, ci(L, g->kw), 0,
                          im2col_tap_loop(L, g, x, xoff, col, transposed, scatter, c, kh, rowb,
                                          ohlo, ohhi, kw)));
  }
  for (int64_t kw = 0; kw < g->kw && g->kw <= TAP_LOOP_FROM; kw++) {
    LStmt *tap = im2col_tap(L, g, x, xoff, col, transposed, scatter, c, kh, rowb, ohlo, ohhi, kw);
    if (tap) lblock_add(&per, tap);
  }
  return loop(L, c, ci(L, g->c), 0, loop(L, kh, ci(L, g->kh), 0, per.first));
}

/* The transposed column matrix colT [P x rows] of one sample, written in
 * its own row order: per output row oh, channel c and tap row kh, each
 * output position's KW taps are KW consecutive floats. So the stores run
 * along colT (one output line's rows, OW*rows floats, stay in L1 across the
 * (c, kh) passes) instead of jumping `rows` floats per store as the
 * row-by-row walk does. Input rows outside the image are zeros (an `if` per
 * (oh, kh)); the ow positions whose taps all land inside are one loop, the
 * few at the padded ends are unrolled with their valid taps known at
 * compile time. */
static LStmt *im2col_t_taps(Lower *L, const Conv *g, LBuffer *x, LExpr *xrow, LBuffer *colt,
                            LVar *oh, LVar *rowb, LExpr *ow, bool *valid) {
  LProgram *p = L->p;
  int64_t rows = g->c * g->kh * g->kw;
  LBlock b = {0};
  for (int64_t kw = 0; kw < g->kw; kw++) {
    LExpr *pos = add(L, mul(L, ve(L, oh), ci(L, g->ow)), ow);
    LExpr *at = add(L, mul(L, pos, ci(L, rows)), add(L, ve(L, rowb), ci(L, kw)));
    LExpr *v = cf(L, 0);
    if (!valid || valid[kw])
      v = ld(L, x, add(L, xrow, add(L, mul(L, ow, ci(L, g->sw)), ci(L, kw - g->pw))));
    lblock_add(&b, ls_store(p, colt, at, v));
  }
  return b.first;
}

static LStmt *im2col_t(Lower *L, const Conv *g, LBuffer *x, LExpr *xoff, LBuffer *colt) {
  LProgram *p = L->p;
  LVar *oh = lv_loop(L, "oh"), *c = lv_loop(L, "c"), *kh = lv_loop(L, "kh");
  LVar *ih = lv_local(L, "ih", DT_I32), *rowb = lv_local(L, "row", DT_I32);
  LVar *xr = lv_local(L, "xr", DT_I32);
  /* ow in [olo, ohi) has every tap inside the row */
  int64_t olo = 0, ohi = g->ow;
  for (int64_t kw = 0; kw < g->kw; kw++) {
    int64_t lo, hi;
    valid_range(kw, g->w, g->pw, g->sw, g->ow, &lo, &hi);
    if (lo > olo) olo = lo;
    if (hi < ohi) ohi = hi;
  }
  if (ohi < olo) ohi = olo;
  LBlock copy = {0}, zero = {0};
  if (olo < ohi) {
    LVar *ow = lv_loop(L, "ow");
    lblock_add(&copy, range(L, ow, ci(L, olo), ci(L, ohi), 0,
                            im2col_t_taps(L, g, x, ve(L, xr), colt, oh, rowb, ve(L, ow), NULL)));
  }
  for (int64_t o = 0; o < g->ow; o++) {
    if (o >= olo && o < ohi) continue;
    bool valid[64];
    for (int64_t kw = 0; kw < g->kw && kw < 64; kw++) {
      int64_t iw = o * g->sw - g->pw + kw;
      valid[kw] = iw >= 0 && iw < g->w;
    }
    lblock_add(&copy, im2col_t_taps(L, g, x, ve(L, xr), colt, oh, rowb, ci(L, o), valid));
  }
  LVar *oz = lv_loop(L, "ow");
  bool none[64] = {false};
  lblock_add(&zero, loop(L, oz, ci(L, g->ow), 0, im2col_t_taps(L, g, x, NULL, colt, oh, rowb, ve(L, oz), none)));
  LExpr *xrow = add(L, xoff, mul(L, add(L, mul(L, ve(L, c), ci(L, g->h)), ve(L, ih)), ci(L, g->w)));
  LStmt *inside = seq(ls_let(p, xr, xrow), copy.first);
  LStmt *body = inside;
  if (g->ph) {
    LExpr *in = le_bin(p, LB_LAND, le_bin(p, LB_GE, ve(L, ih), ci(L, 0)),
                       le_bin(p, LB_LT, ve(L, ih), ci(L, g->h)));
    body = ls_if(p, in, inside, zero.first);
  }
  LBlock per = {0};
  lblock_add(&per, ls_let(p, ih, add(L, sub(L, mul(L, ve(L, oh), ci(L, g->sh)), ci(L, g->ph)), ve(L, kh))));
  lblock_add(&per, ls_let(p, rowb, mul(L, add(L, mul(L, ve(L, c), ci(L, g->kh)), ve(L, kh)), ci(L, g->kw))));
  lblock_add(&per, body);
  return loop(L, oh, ci(L, g->oh), 0, loop(L, c, ci(L, g->c), 0, loop(L, kh, ci(L, g->kh), 0, per.first)));
}

/* --- the ops --- */

/* The loop over the samples of this step, s in [0, %n). */
static LStmt *per_sample_loop(Lower *L, LVar *s, LStmt *body) {
  return loop(L, s, batch_n(L), 0, body);
}

/* The loop over groups around body (no loop for one group: g is then 0). */
static LStmt *per_group(Lower *L, const Conv *g, LVar *gv, LStmt *body) {
  if (g->groups == 1) return body;
  return loop(L, gv, ci(L, g->groups), 0, body);
}
/* The group loop's counter; none for one group. */
static LVar *group_var(Lower *L, const Conv *g) {
  return g->groups > 1 ? lv_loop(L, "g") : NULL;
}
static LExpr *group_off(Lower *L, const Conv *g, LVar *gv, int64_t stride) {
  return g->groups == 1 ? ci(L, 0) : mul(L, ve(L, gv), ci(L, stride));
}

/* wt[f, u] = w[u, f]: the forward product wants w's rows as columns. */
static LStmt *transpose(Lower *L, LBuffer *w, LBuffer *wt, int64_t units, int64_t features) {
  LVar *u = lv_loop(L, "u"), *f = lv_loop(L, "f");
  LExpr *src = add(L, mul(L, ve(L, u), ci(L, features)), ve(L, f));
  LExpr *dst = add(L, mul(L, ve(L, f), ci(L, units)), ve(L, u));
  return loop(L, u, ci(L, units), 0,
              loop(L, f, ci(L, features), 0, ls_store(L->p, wt, dst, ld(L, w, src))));
}

/* --- the implicit column matrix of a stride-1 conv --- */

/* A stride-1 conv reads its column matrix from its input padded once: the
 * padded buffer holds each channel as an HP x WP plane, padding zeros
 * included, and column row (c, kh, kw) over the output grid of OH rows of
 * WP columns is that plane shifted by kh*WP + kw:
 *   B[(c, kh, kw), j] = xpad[c*HP*WP + kh*WP + kw + j],
 * a row table and a contiguous run, so no im2col copies it (its stores were
 * a fifth of resnet20's step). The product runs over the OH*WP grid columns
 * rounded up to whole vectors instead of OH*OW, and the grid columns with
 * ow >= OW (and those past OH*WP) are dropped. The input gradient is the
 * same product over dy padded by KH-1-ph, KW-1-pw with the weights flipped
 * ("full" convolution: dx[c, ih, iw] = sum over f, kh, kw of
 * w[f, c, KH-1-kh, KW-1-kw] * dypad[f, ih + kh, iw + kw]), so no dcol and no
 * col2im; the weight gradient reduces over the grid columns, with dy's
 * transposed rows zero at the dropped ones. Taken for one group, when
 * implicit_pays; small planes with many channels go transposed instead
 * (flip_pays). */
typedef struct Implicit {
  int64_t wp;    /* padded plane width */
  int64_t plane; /* floats per padded plane */
  int64_t n;     /* grid columns computed: a multiple of IMPLICIT_ALIGN */
  int64_t size;  /* floats of the padded buffer: the planes and the tail the
                    last plane's shifted reads run into */
} Implicit;

/* The grid columns computed are a multiple of this on every target (the
 * widest vector's floats), so the choice below and every sum are the same
 * on all of them: a trainer's bits do not depend on the vector width. */
enum { IMPLICIT_ALIGN = 16 };

/* ch planes of rows x cols, padded by pt rows and pl columns on each side,
 * read by a kh x kw window. */
static Implicit implicit_layout(int64_t ch, int64_t rows, int64_t cols, int64_t pt, int64_t pl,
                                int64_t kh, int64_t kw) {
  Implicit im;
  int64_t hp = rows + 2 * pt;
  im.wp = cols + 2 * pl;
  im.plane = hp * im.wp;
  im.n = round_up((hp - kh + 1) * im.wp, IMPLICIT_ALIGN);
  im.size = (ch - 1) * im.plane + (kh - 1) * im.wp + kw - 1 + im.n;
  return im;
}

/* Whether the product over the grid is worth it against the conv's P
 * output positions, the columns of its im2col products: every product over
 * the grid has the same rows and k as the im2col one (the input gradient's
 * too: C rows by F*KH*KW, against Kc rows by F), so the grid's size decides.
 * The forward and input-gradient products, vectorised along the grid, pay
 * up to 4/3 of P (a short output row had a scalar tail too; an unpadded
 * conv's input gradient rarely: lenet5's c2 would be 256 for 100, most of
 * it multiplying the zeros around dy); the weight gradient, which reduces
 * over the grid, up to 9/8 (resnet20's 28x28 stage, 848 for 784: its
 * im2col cost more; not the 14x14 one, 224 for 196). The buffer must be
 * small enough to index. */
static bool implicit_fits(const Implicit *im) { return im->size < (int64_t)1 << 30; }

static bool implicit_pays(const Implicit *im, int64_t useful, bool reduces) {
  bool pays = reduces ? 8 * im->n <= 9 * useful : 3 * im->n <= 4 * useful;
  return pays && implicit_fits(im);
}

static bool conv_implicit(const Conv *g) {
  return g->sh == 1 && g->sw == 1 && g->groups == 1 && !conv_direct(g);
}

/* The i32 const table `name` holding v[0..count): the program's own when
 * it has it already (the name says everything in it, so twin kernels share
 * one). */
static LBuffer *i32_table(Lower *L, const char *name, const int32_t *v, int64_t count) {
  LBuffer *t = lprog_find_buffer(L->p, name);
  if (t) return t;
  int64_t dims[1] = {count};
  return lprog_const_buffer(L->p, name, DT_I32, shape_of(1, dims), v);
}

/* The i32 table t -> base + (t / (kh*kw))*s_ch + (t / kw % kh)*s_h +
 * (t % kw)*s_w for t < count, one per program and shape (twin kernels
 * share it). */
static LBuffer *tap_table(Lower *L, int64_t count, int64_t kh, int64_t kw, int64_t s_ch,
                          int64_t s_h, int64_t s_w, int64_t base) {
  const char *name = arena_printf(L->p->arena, "taps_%lld_%lldx%lld_%lld_%lld_%lld_%lld",
                                  (long long)count, (long long)kh, (long long)kw, (long long)s_ch,
                                  (long long)s_h, (long long)s_w, (long long)base);
  int32_t *v = arena_alloc(L->p->arena, (size_t)count * sizeof *v);
  for (int64_t i = 0; i < count; i++)
    v[i] = (int32_t)(base + i / (kh * kw) * s_ch + i / kw % kh * s_h + i % kw * s_w);
  return i32_table(L, name, v, count);
}

/* The i32 table of output positions on the grid: p -> (p / cols)*wp +
 * p % cols for p < rows*cols, 0 for the padding rows up to prows. */
static LBuffer *position_table(Lower *L, int64_t rows, int64_t cols, int64_t wp, int64_t prows) {
  const char *name = arena_printf(L->p->arena, "positions_%lldx%lld_%lld_%lld", (long long)rows,
                                  (long long)cols, (long long)wp, (long long)prows);
  int32_t *v = arena_alloc(L->p->arena, (size_t)prows * sizeof *v);
  for (int64_t p = 0; p < prows; p++)
    v[p] = p < rows * cols ? (int32_t)(p / cols * wp + p % cols) : 0;
  return i32_table(L, name, v, prows);
}

/* The row table of the implicit column matrix over a padded buffer:
 * (c, kh, kw) -> c*plane + kh*wp + kw. A kernel takes its tables before
 * its scratch buffers, so twin kernels list their parameters alike. */
static LBuffer *implicit_taps(Lower *L, const Implicit *im, int64_t ch, int64_t kh, int64_t kw) {
  return tap_table(L, ch * kh * kw, kh, kw, im->plane, im->wp, 1, 0);
}

static Mat implicit_cols(Lower *L, LBuffer *pad, LBuffer *taps) {
  Mat m = mat(pad, ci(L, 0), 0, 1);
  m.rtab = taps;
  return m;
}

/* pad[c*plane + (r + pt)*wp + pl + q] = v[voff + (c*rows + r)*cols + q]:
 * the interior of the padded planes (the padding is zeroed once per call). */
static LStmt *pad_copy(Lower *L, LBuffer *v, LExpr *voff, LBuffer *pad, const Implicit *im,
                       int64_t ch, int64_t rows, int64_t cols, int64_t pt, int64_t pl) {
  LVar *c = lv_loop(L, "c"), *r = lv_loop(L, "r"), *q = lv_loop(L, "q");
  LExpr *line = mul(L, add(L, ve(L, r), ci(L, pt)), ci(L, im->wp));
  LExpr *to = add(L, add(L, mul(L, ve(L, c), ci(L, im->plane)), line), add(L, ve(L, q), ci(L, pl)));
  LExpr *row = add(L, mul(L, ve(L, c), ci(L, rows)), ve(L, r));
  LExpr *from = add(L, voff, add(L, mul(L, row, ci(L, cols)), ve(L, q)));
  LStmt *copy = ls_store(L->p, pad, to, ld(L, v, from));
  return loop(L, c, ci(L, ch), 0,
              loop(L, r, ci(L, rows), 0, loop(L, q, ci(L, cols), LHINT_VECTORIZE, copy)));
}

/* out[ooff + (c*rows + r)*cols + q] = grid[c*n + r*wp + q]: the grid's
 * kept columns. */
static LStmt *grid_out(Lower *L, LBuffer *grid, const Implicit *im, LBuffer *out, LExpr *ooff,
                       int64_t ch, int64_t rows, int64_t cols) {
  LVar *c = lv_loop(L, "c"), *r = lv_loop(L, "r"), *q = lv_loop(L, "q");
  LExpr *from = add(L, add(L, mul(L, ve(L, c), ci(L, im->n)), mul(L, ve(L, r), ci(L, im->wp))),
                    ve(L, q));
  LExpr *row = add(L, mul(L, ve(L, c), ci(L, rows)), ve(L, r));
  LExpr *to = add(L, ooff, add(L, mul(L, row, ci(L, cols)), ve(L, q)));
  LStmt *copy = ls_store(L->p, out, to, ld(L, grid, from));
  return loop(L, c, ci(L, ch), 0,
              loop(L, r, ci(L, rows), 0, loop(L, q, ci(L, cols), LHINT_VECTORIZE, copy)));
}

/* The products over the grid, like the im2col ones, take channels as rows
 * and positions as columns, and pay for whole vectors of columns: at least
 * P rounded up to 16 (64 for a 7x7 layer's 49 positions, 16 for a 3x3
 * plane's 9). With few output positions and many channels the transposed
 * form does less: output positions as rows (padded to a whole register
 * block, so no row runs alone) and channels as columns, each A element read
 * from the padded input through a position table and the tap table. Every
 * output adds the same products in the same order either way (x*w and w*x
 * are the same float), so the choice changes no bit. Taken for 32 or more
 * channels (two vectors a row) when it computes at most 7/8 of the
 * channels-as-rows form. */
static bool flip_pays(int64_t positions, int64_t channels) {
  int64_t rows = round_up(positions, GEMM_MR), cols = round_up(channels, IMPLICIT_ALIGN);
  return channels >= 2 * IMPLICIT_ALIGN &&
         8 * rows * cols < 7 * channels * round_up(positions, IMPLICIT_ALIGN);
}

/* out[ooff + c*P + p] = t[p*N + c] for c < N, p < P. */
static LStmt *positions_out(Lower *L, LBuffer *t, LBuffer *out, LExpr *ooff, int64_t n, int64_t p) {
  LVar *c = lv_loop(L, "c"), *q = lv_loop(L, "p");
  LExpr *to = add(L, ooff, add(L, mul(L, ve(L, c), ci(L, p)), ve(L, q)));
  LExpr *from = add(L, mul(L, ve(L, q), ci(L, n)), ve(L, c));
  LStmt *copy = ls_store(L->p, out, to, ld(L, t, from));
  return loop(L, c, ci(L, n), 0, loop(L, q, ci(L, p), LHINT_VECTORIZE, copy));
}

/* The transposed product over the padded input: t [P' x N] = A . bt, A[p,
 * k] = pad[pos[p] + taps[k]], then out = t transposed. */
static LStmt *flipped_product(Lower *L, LBuffer *pad, LBuffer *pos, LBuffer *taps, LBuffer *bt,
                              LBuffer *t, int64_t prows, int64_t k, int64_t n, LBuffer *bias) {
  Mat a = mat(pad, ci(L, 0), 0, 0);
  a.rtab = pos, a.ctab = taps;
  Gemm m = {.c = mat(t, ci(L, 0), n, 1), .a = a, .b = mat(bt, ci(L, 0), n, 1),
            .m = ci(L, prows), .k = ci(L, k), .n = n, .init = bias ? GEMM_BIAS : GEMM_SET,
            .bias = bias, .bias_off = ci(L, 0), .bias_by_col = true};
  return gemm(L, &m);
}

/* The forward product transposed: yt [P' x F] = X(xpad[s])^T . w^T. */
static void lower_conv_fwd_flipped(Lower *L, const Node *n, const Conv *g, const Implicit *im) {
  LBuffer *xb = vbuf(L, n->in[0]), *wb = vbuf(L, n->in[1]), *yb = vbuf(L, n->out[0]);
  LBuffer *bias = n->nin > 2 ? vbuf(L, n->in[2]) : NULL;
  int64_t prows = round_up(g->p, GEMM_MR);
  LBuffer *taps = implicit_taps(L, im, g->c, g->kh, g->kw);
  LBuffer *pos = position_table(L, g->oh, g->ow, im->wp, prows);
  LBuffer *xpad = scratch(L, "xpad", DT_F32, im->size);
  LBuffer *wt = scratch(L, "wt", DT_F32, g->kc * g->f);
  LBuffer *yt = scratch(L, "yt", DT_F32, prows * g->f);
  LVar *s = lv_loop(L, "s");
  LExpr *xoff = mul(L, ve(L, s), ci(L, g->c * g->h * g->w));
  LStmt *body = seq3(pad_copy(L, xb, xoff, xpad, im, g->c, g->h, g->w, g->ph, g->pw),
                     flipped_product(L, xpad, pos, taps, wt, yt, prows, g->kc, g->f, bias),
                     positions_out(L, yt, yb, mul(L, ve(L, s), ci(L, g->f * g->p)), g->f, g->p));
  LStmt *once = seq(fill(L, xpad, ci(L, 0), ci(L, im->size), 0), transpose(L, wb, wt, g->f, g->kc));
  lower_kernel_body(L, seq(once, per_sample_loop(L, s, body)));
}

/* The input gradient's product transposed: dxt [P' x C] = X(dypad[s])^T .
 * wf, wf[(f, kh, kw), c] = w[f, c, KH-1-kh, KW-1-kw] (built once per call). */
static void lower_conv_dx_flipped(Lower *L, const Node *n, const Conv *g, const Implicit *im) {
  LProgram *p = L->p;
  LBuffer *dyb = vbuf(L, n->in[0]), *wb = vbuf(L, n->in[1]), *dxb = vbuf(L, n->out[0]);
  int64_t taps_n = g->kh * g->kw, k = g->f * taps_n, hw = g->h * g->w;
  int64_t prows = round_up(hw, GEMM_MR);
  LBuffer *taps = implicit_taps(L, im, g->f, g->kh, g->kw);
  LBuffer *pos = position_table(L, g->h, g->w, im->wp, prows);
  LBuffer *dypad = scratch(L, "dypad", DT_F32, im->size);
  LBuffer *wf = scratch(L, "wf", DT_F32, k * g->c);
  LBuffer *dxt = scratch(L, "dxt", DT_F32, prows * g->c);
  LVar *s = lv_loop(L, "s");
  LVar *kv = lv_loop(L, "k"), *c = lv_loop(L, "c");
  LExpr *tap = sub(L, ci(L, taps_n - 1), le_bin(p, LB_REM, ve(L, kv), ci(L, taps_n)));
  LExpr *filter = mul(L, idiv(L, ve(L, kv), taps_n), ci(L, g->kc));
  LExpr *from = add(L, add(L, filter, mul(L, ve(L, c), ci(L, taps_n))), tap);
  LExpr *to = add(L, mul(L, ve(L, kv), ci(L, g->c)), ve(L, c));
  LStmt *flip = loop(L, kv, ci(L, k), 0, loop(L, c, ci(L, g->c), 0, ls_store(p, wf, to, ld(L, wb, from))));
  LExpr *dyoff = mul(L, ve(L, s), ci(L, g->f * g->p));
  LStmt *body = seq3(pad_copy(L, dyb, dyoff, dypad, im, g->f, g->oh, g->ow, g->kh - 1 - g->ph,
                              g->kw - 1 - g->pw),
                     flipped_product(L, dypad, pos, taps, wf, dxt, prows, k, g->c, NULL),
                     positions_out(L, dxt, dxb, mul(L, ve(L, s), ci(L, g->c * hw)), g->c, hw));
  LStmt *once = seq(fill(L, dypad, ci(L, 0), ci(L, im->size), 0), flip);
  lower_kernel_body(L, seq(once, per_sample_loop(L, s, body)));
}

/* y[s] = b + w . B(xpad[s]) over the grid, then its kept columns. */
static void lower_conv_fwd_implicit(Lower *L, const Node *n, const Conv *g, const Implicit *im) {
  LBuffer *xb = vbuf(L, n->in[0]), *wb = vbuf(L, n->in[1]), *yb = vbuf(L, n->out[0]);
  LBuffer *bias = n->nin > 2 ? vbuf(L, n->in[2]) : NULL;
  LBuffer *taps = implicit_taps(L, im, g->c, g->kh, g->kw);
  LBuffer *xpad = scratch(L, "xpad", DT_F32, im->size);
  LBuffer *grid = scratch(L, "grid", DT_F32, g->f * im->n);
  LVar *s = lv_loop(L, "s");
  LExpr *xoff = mul(L, ve(L, s), ci(L, g->c * g->h * g->w));
  Gemm m = {.c = mat(grid, ci(L, 0), im->n, 1), .a = mat(wb, ci(L, 0), g->kc, 1),
            .b = implicit_cols(L, xpad, taps), .m = ci(L, g->f),
            .k = ci(L, g->kc), .n = im->n, .init = bias ? GEMM_BIAS : GEMM_SET, .bias = bias,
            .bias_off = ci(L, 0)};
  LStmt *body = seq3(pad_copy(L, xb, xoff, xpad, im, g->c, g->h, g->w, g->ph, g->pw), gemm(L, &m),
                     grid_out(L, grid, im, yb, mul(L, ve(L, s), ci(L, g->f * g->p)), g->f, g->oh, g->ow));
  lower_kernel_body(L, seq(fill(L, xpad, ci(L, 0), ci(L, im->size), 0), per_sample_loop(L, s, body)));
}

/* dx[s] = w flipped . B(dypad[s]) over the grid, then its kept columns. */
static void lower_conv_dx_implicit(Lower *L, const Node *n, const Conv *g, const Implicit *im) {
  LBuffer *dyb = vbuf(L, n->in[0]), *wb = vbuf(L, n->in[1]), *dxb = vbuf(L, n->out[0]);
  int64_t taps = g->kh * g->kw;
  /* A[c, (f, kh, kw)] = w[f, c, KH-1-kh, KW-1-kw] */
  Mat a = mat(wb, ci(L, 0), taps, 0);
  a.ctab = tap_table(L, g->f * taps, g->kh, g->kw, g->kc, -g->kw, -1, taps - 1);
  LBuffer *rows = implicit_taps(L, im, g->f, g->kh, g->kw);
  LBuffer *dypad = scratch(L, "dypad", DT_F32, im->size);
  LBuffer *grid = scratch(L, "grid", DT_F32, g->c * im->n);
  LVar *s = lv_loop(L, "s");
  Gemm m = {.c = mat(grid, ci(L, 0), im->n, 1), .a = a,
            .b = implicit_cols(L, dypad, rows), .m = ci(L, g->c),
            .k = ci(L, g->f * taps), .n = im->n, .init = GEMM_SET};
  LExpr *dyoff = mul(L, ve(L, s), ci(L, g->f * g->p));
  LStmt *body = seq3(pad_copy(L, dyb, dyoff, dypad, im, g->f, g->oh, g->ow, g->kh - 1 - g->ph,
                              g->kw - 1 - g->pw),
                     gemm(L, &m),
                     grid_out(L, grid, im, dxb, mul(L, ve(L, s), ci(L, g->c * g->h * g->w)), g->c,
                              g->h, g->w));
  lower_kernel_body(L, seq(fill(L, dypad, ci(L, 0), ci(L, im->size), 0), per_sample_loop(L, s, body)));
}

/* dw[(g*Fg + f)*Kc + r] = dwt[(g*Kc + r)*Fg + f], as one loop over the F
 * filters (filter ff is in group ff / Fg). */
static LStmt *dw_from_dwt(Lower *L, const Conv *g, LBuffer *dwt, LBuffer *dwb) {
  LProgram *p = L->p;
  LVar *ff = lv_loop(L, "f"), *r = lv_loop(L, "r");
  LExpr *grp = idiv(L, ve(L, ff), g->fg);
  LExpr *fin = sub(L, ve(L, ff), mul(L, idiv(L, ve(L, ff), g->fg), ci(L, g->fg)));
  LExpr *from = add(L, mul(L, add(L, mul(L, grp, ci(L, g->kc)), ve(L, r)), ci(L, g->fg)), fin);
  return loop(L, ff, ci(L, g->f), 0,
              loop(L, r, ci(L, g->kc), 0,
                   ls_store(p, dwb, add(L, mul(L, ve(L, ff), ci(L, g->kc)), ve(L, r)), ld(L, dwt, from))));
}

/* dwT [Kc x F] += B(xpad[s]) [Kc x grid] . dyg [grid x F] over the samples,
 * dyg[j, f] = dy[s, f, oh, ow] at grid column j = oh*WP + ow and 0 at the
 * dropped ones; then dw = dwT transposed once. */
static void lower_conv_dw_implicit(Lower *L, const Node *n, const Conv *g, const Implicit *im) {
  LProgram *p = L->p;
  LBuffer *xb = vbuf(L, n->in[0]), *dyb = vbuf(L, n->in[1]), *dwb = vbuf(L, n->out[0]);
  LBuffer *taps = implicit_taps(L, im, g->c, g->kh, g->kw);
  LBuffer *xpad = scratch(L, "xpad", DT_F32, im->size);
  LBuffer *dyg = scratch(L, "dyg", DT_F32, im->n * g->f);
  LBuffer *dwt = scratch(L, "dwt", DT_F32, g->f * g->kc);
  LVar *s = lv_loop(L, "s");
  LExpr *xoff = mul(L, ve(L, s), ci(L, g->c * g->h * g->w));
  LVar *f = lv_loop(L, "f"), *r = lv_loop(L, "r"), *q = lv_loop(L, "q");
  LExpr *src = add(L, mul(L, ve(L, s), ci(L, g->f * g->p)),
                   add(L, mul(L, ve(L, f), ci(L, g->p)), add(L, mul(L, ve(L, r), ci(L, g->ow)), ve(L, q))));
  LExpr *dst = add(L, mul(L, add(L, mul(L, ve(L, r), ci(L, im->wp)), ve(L, q)), ci(L, g->f)), ve(L, f));
  LStmt *tr = loop(L, f, ci(L, g->f), 0,
                   loop(L, r, ci(L, g->oh), 0, loop(L, q, ci(L, g->ow), 0, ls_store(p, dyg, dst, ld(L, dyb, src)))));
  Gemm m = {.c = mat(dwt, ci(L, 0), g->f, 1), .a = implicit_cols(L, xpad, taps),
            .b = mat(dyg, ci(L, 0), g->f, 1), .m = ci(L, g->kc), .k = ci(L, im->n), .n = g->f};
  LStmt *per = seq3(pad_copy(L, xb, xoff, xpad, im, g->c, g->h, g->w, g->ph, g->pw), tr, gemm(L, &m));
  LStmt *zero = seq3(fill(L, xpad, ci(L, 0), ci(L, im->size), 0),
                     fill(L, dyg, ci(L, 0), ci(L, im->n * g->f), 0),
                     fill(L, dwt, ci(L, 0), ci(L, g->f * g->kc), 0));
  lower_kernel_body(L, seq3(zero, per_sample_loop(L, s, per), dw_from_dwt(L, g, dwt, dwb)));
}

/* y[s, f, :] = b[f] + w[f, :] . col(x[s]) per group. */
bool lower_conv_fwd(Lower *L, const Node *n, LowerMode mode) {
  (void)mode;
  const Value *x = n->in[0], *y = n->out[0];
  Conv g = conv_geometry(n, x, y);
  lower_kernel(L, n, "fwd", L->entries);
  Implicit im = implicit_layout(g.c, g.h, g.w, g.ph, g.pw, g.kh, g.kw);
  if (conv_implicit(&g) && implicit_fits(&im) && flip_pays(g.p, g.f)) {
    lower_conv_fwd_flipped(L, n, &g, &im);
    return true;
  }
  if (conv_implicit(&g) && implicit_pays(&im, g.p, false)) {
    lower_conv_fwd_implicit(L, n, &g, &im);
    return true;
  }
  LBuffer *xb = vbuf(L, x), *wb = vbuf(L, n->in[1]), *yb = vbuf(L, y);
  LBuffer *bias = n->nin > 2 ? vbuf(L, n->in[2]) : NULL;
  LVar *s = lv_loop(L, "s"), *gv = group_var(L, &g);
  LExpr *xoff = mul(L, ve(L, s), ci(L, g.c * g.h * g.w));
  LStmt *cols = NULL;
  Mat b;
  if (conv_direct(&g)) {
    b = mat(xb, add(L, xoff, group_off(L, &g, gv, g.cg * g.p)), g.p, 1);
  } else {
    LBuffer *col = scratch(L, "col", DT_F32, g.c * g.kh * g.kw * g.p);
    cols = im2col(L, &g, xb, xoff, col, false, false);
    b = mat(col, group_off(L, &g, gv, g.kc * g.p), g.p, 1);
  }
  Gemm m = {.c = mat(yb, add(L, mul(L, ve(L, s), ci(L, g.f * g.p)), group_off(L, &g, gv, g.fg * g.p)),
                     g.p, 1),
            .a = mat(wb, group_off(L, &g, gv, g.fg * g.kc), g.kc, 1),
            .b = b, .m = ci(L, g.fg), .k = ci(L, g.kc), .n = g.p};
  m.init = bias ? GEMM_BIAS : GEMM_SET;
  m.bias = bias, m.bias_off = group_off(L, &g, gv, g.fg);
  LStmt *body = seq(cols, per_group(L, &g, gv, gemm(L, &m)));
  lower_kernel_body(L, per_sample_loop(L, s, body));
  return true;
}

/* dx[s] = col2im(w^T . dy[s]) per group; a direct conv writes dx itself. */
bool lower_conv_dx(Lower *L, const Node *n, LowerMode mode) {
  (void)mode;
  const Value *dy = n->in[0], *dx = n->out[0];
  Conv g = conv_geometry(n, dx, dy);
  lower_kernel(L, n, "dx", L->entries);
  if (conv_implicit(&g) && g.ph < g.kh && g.pw < g.kw) {
    Implicit im = implicit_layout(g.f, g.oh, g.ow, g.kh - 1 - g.ph, g.kw - 1 - g.pw, g.kh, g.kw);
    if (implicit_fits(&im) && flip_pays(g.h * g.w, g.c)) {
      lower_conv_dx_flipped(L, n, &g, &im);
      return true;
    }
    if (implicit_pays(&im, g.p, false)) {
      lower_conv_dx_implicit(L, n, &g, &im);
      return true;
    }
  }
  LBuffer *dyb = vbuf(L, dy), *wb = vbuf(L, n->in[1]), *dxb = vbuf(L, dx);
  LVar *s = lv_loop(L, "s"), *gv = group_var(L, &g);
  LExpr *xoff = mul(L, ve(L, s), ci(L, g.c * g.h * g.w));
  Gemm m = {.a = mat(wb, group_off(L, &g, gv, g.fg * g.kc), 1, g.kc),
            .b = mat(dyb, add(L, mul(L, ve(L, s), ci(L, g.f * g.p)), group_off(L, &g, gv, g.fg * g.p)),
                     g.p, 1),
            .m = ci(L, g.kc), .k = ci(L, g.fg), .n = g.p, .init = GEMM_SET};
  LStmt *body;
  if (conv_direct(&g)) {
    m.c = mat(dxb, add(L, xoff, group_off(L, &g, gv, g.cg * g.p)), g.p, 1);
    body = per_group(L, &g, gv, gemm(L, &m));
  } else {
    LBuffer *col = scratch(L, "dcol", DT_F32, g.c * g.kh * g.kw * g.p);
    m.c = mat(col, group_off(L, &g, gv, g.kc * g.p), g.p, 1);
    LStmt *products = per_group(L, &g, gv, gemm(L, &m));
    LStmt *clear = fill(L, dxb, xoff, ci(L, g.c * g.h * g.w), 0);
    body = seq3(products, clear, im2col(L, &g, dxb, xoff, col, false, true));
  }
  lower_kernel_body(L, per_sample_loop(L, s, body));
  return true;
}

/* dw[f, :] = sum over s of dy[s, f, :] . colT(x[s]) per group. */
/* The weight gradient's product needs either the column matrix transposed
 * (colT [P x Kc], inner loop over Kc) or dy transposed (dwT [Kc x Fg] +=
 * col [Kc x P] . dyT [P x Fg], inner loop over Fg). colT costs Kc*P scalar
 * strided stores per sample, dyT F*P; the second also keeps the ordinary
 * (contiguous, vectorised) im2col and skips it for a direct conv. It is
 * taken when the filters per group fill whole vectors (Fg a multiple of 8)
 * and the transposed dy is at most half the transposed column matrix
 * (LeNet's c2: 1600 instead of 15 000 moves per sample). */
static bool conv_dw_by_dyt(const Conv *g) {
  return g->fg % 8 == 0 && 2 * g->f <= g->c * g->kh * g->kw;
}

/* dwT[g] [Kc x Fg] += col[g] [Kc x P] . dyT[g] [P x Fg] over the samples,
 * then dw[g*Fg + f, r] = dwT[g, r, f] once. */
static bool lower_conv_dw_dyt(Lower *L, const Node *n, const Conv *g) {
  LProgram *p = L->p;
  LBuffer *xb = vbuf(L, n->in[0]), *dyb = vbuf(L, n->in[1]), *dwb = vbuf(L, n->out[0]);
  LVar *s = lv_loop(L, "s"), *gv = group_var(L, g);
  LExpr *xoff = mul(L, ve(L, s), ci(L, g->c * g->h * g->w));
  int64_t rows = g->c * g->kh * g->kw;
  LBuffer *dyt = scratch(L, "dyt", DT_F32, g->p * g->f);
  LBuffer *dwt = scratch(L, "dwt", DT_F32, g->f * g->kc);
  LStmt *cols = NULL;
  Mat a;
  if (conv_direct(g)) {
    a = mat(xb, add(L, xoff, group_off(L, g, gv, g->cg * g->p)), g->p, 1);
  } else {
    LBuffer *col = scratch(L, "col", DT_F32, rows * g->p);
    cols = im2col(L, g, xb, xoff, col, false, false);
    a = mat(col, group_off(L, g, gv, g->kc * g->p), g->p, 1);
  }
  /* dyt[p, f] = dy[s, f, p]: reads contiguous, writes F apart */
  LVar *f = lv_loop(L, "f"), *q = lv_loop(L, "q");
  LExpr *src = add(L, mul(L, ve(L, s), ci(L, g->f * g->p)), add(L, mul(L, ve(L, f), ci(L, g->p)), ve(L, q)));
  LStmt *tr = loop(L, f, ci(L, g->f), 0,
                   loop(L, q, ci(L, g->p), 0,
                        ls_store(p, dyt, add(L, mul(L, ve(L, q), ci(L, g->f)), ve(L, f)), ld(L, dyb, src))));
  Gemm m = {.c = mat(dwt, group_off(L, g, gv, g->kc * g->fg), g->fg, 1), .a = a,
            .b = mat(dyt, group_off(L, g, gv, g->fg), g->f, 1),
            .m = ci(L, g->kc), .k = ci(L, g->p), .n = g->fg};
  LStmt *per = seq3(cols, tr, per_group(L, g, gv, gemm(L, &m)));
  LStmt *zero = fill(L, dwt, ci(L, 0), ci(L, g->f * g->kc), 0);
  lower_kernel_body(L, seq3(zero, per_sample_loop(L, s, per), dw_from_dwt(L, g, dwt, dwb)));
  return true;
}


bool lower_conv_dw(Lower *L, const Node *n, LowerMode mode) {
  (void)mode;
  const Value *x = n->in[0], *dy = n->in[1], *dw = n->out[0];
  Conv g = conv_geometry(n, x, dy);
  lower_kernel(L, n, "dw", L->entries);
  if (conv_dw_by_dyt(&g)) {
    Implicit im = implicit_layout(g.c, g.h, g.w, g.ph, g.pw, g.kh, g.kw);
    if (conv_implicit(&g) && implicit_pays(&im, g.p, true)) {
      lower_conv_dw_implicit(L, n, &g, &im);
      return true;
    }
    return lower_conv_dw_dyt(L, n, &g);
  }
  LBuffer *xb = vbuf(L, x), *dyb = vbuf(L, dy), *dwb = vbuf(L, dw);
  LVar *s = lv_loop(L, "s"), *gv = group_var(L, &g);
  LExpr *xoff = mul(L, ve(L, s), ci(L, g.c * g.h * g.w));
  int64_t rows = g.c * g.kh * g.kw;
  LBuffer *colt = scratch(L, "colt", DT_F32, rows * g.p);
  Gemm m = {.c = mat(dwb, group_off(L, &g, gv, g.fg * g.kc), g.kc, 1),
            .a = mat(dyb, add(L, mul(L, ve(L, s), ci(L, g.f * g.p)), group_off(L, &g, gv, g.fg * g.p)),
                     g.p, 1),
            .b = mat(colt, group_off(L, &g, gv, g.kc), rows, 1),
            .m = ci(L, g.fg), .k = ci(L, g.p), .n = g.kc};
  LStmt *cols = g.kw <= 64 ? im2col_t(L, &g, xb, xoff, colt) : im2col(L, &g, xb, xoff, colt, true, false);
  LStmt *per = seq(cols, per_group(L, &g, gv, gemm(L, &m)));
  LStmt *zero = fill(L, dwb, ci(L, 0), ci(L, g.f * g.kc), 0);
  lower_kernel_body(L, seq(zero, per_sample_loop(L, s, per)));
  return true;
}

/* t[f, i] = v[i, f] ([n x len] -> [len x B], B the compiled batch) for the
 * samples present and 0 for the rest of the batch: a product over all B
 * columns of t then reads defined values; the extra columns are dropped. */
static LStmt *batch_to_cols(Lower *L, LBuffer *v, LBuffer *t, int64_t len) {
  int64_t b = L->p->batch;
  LVar *i = lv_loop(L, "i"), *f = lv_loop(L, "f"), *f2 = lv_loop(L, "f"), *i2 = lv_loop(L, "i");
  LStmt *copy = loop(L, i, batch_n(L), 0,
                     loop(L, f, ci(L, len), 0,
                          ls_store(L->p, t, add(L, mul(L, ve(L, f), ci(L, b)), ve(L, i)),
                                   ld(L, v, add(L, mul(L, ve(L, i), ci(L, len)), ve(L, f))))));
  LStmt *pad = loop(L, f2, ci(L, len), 0,
                    range(L, i2, batch_n(L), ci(L, b), 0,
                          ls_store(L->p, t, add(L, mul(L, ve(L, f2), ci(L, b)), ve(L, i2)), cf(L, 0))));
  return seq(copy, pad);
}

/* v[i, f] = t[f, i] for the samples present ([len x B] -> [n x len]). */
static LStmt *cols_to_batch(Lower *L, LBuffer *t, LBuffer *v, int64_t len) {
  int64_t b = L->p->batch;
  LVar *i = lv_loop(L, "s"), *f = lv_loop(L, "f");
  return loop(L, i, batch_n(L), 0,
              loop(L, f, ci(L, len), 0,
                   ls_store(L->p, v, add(L, mul(L, ve(L, i), ci(L, len)), ve(L, f)),
                            ld(L, t, add(L, mul(L, ve(L, f), ci(L, b)), ve(L, i))))));
}

/* Whether a dense layer's products go through the batch transposed (F*B +
 * U*B moves per step) rather than w transposed or streamed once per
 * MR samples (U*F). */
static bool dense_by_cols(Lower *L, int64_t f, int64_t u) {
  int64_t b = L->p->batch;
  return f * b + u * b < f * u;
}

/* For a small compiled batch the transposed copy of w would cost as much as
 * the product itself, so y[i, u] is a dot product of the contiguous rows
 * x[i, :] and w[u, :], kept in DENSE_LANES independent partial sums (a fixed
 * summation order, no loop-carried dependency between lanes). The partial
 * sums are a small scratch row updated by a vectorised loop over the lanes,
 * one vector multiply and add per DENSE_LANES terms for both backends (as
 * DENSE_LANES scalars, gcc's SLP vectoriser found the vector and LLVM's
 * built only pairs of lanes: 4x the instructions). */
enum { DENSE_DOT_MAX_BATCH = 4, DENSE_LANES = 8 };

static LStmt *dense_dot(Lower *L, const Node *n, int64_t f, int64_t u) {
  LProgram *p = L->p;
  LBuffer *xb = vbuf(L, n->in[0]), *wb = vbuf(L, n->in[1]), *yb = vbuf(L, n->out[0]);
  LBuffer *acc = scratch(L, "acc", DT_F32, DENSE_LANES);
  LVar *i = lv_loop(L, "i"), *uv = lv_loop(L, "u"), *fb = lv_loop(L, "fb"), *ft = lv_loop(L, "f");
  LVar *l0 = lv_loop(L, "l"), *l1 = lv_loop(L, "l");
  LBlock body = {0};
  lblock_add(&body, loop(L, l0, ci(L, DENSE_LANES), LHINT_VECTORIZE,
                         ls_store(p, acc, ve(L, l0), cf(L, 0))));
  LExpr *xrow = mul(L, ve(L, i), ci(L, f)), *wrow = mul(L, ve(L, uv), ci(L, f));
  LExpr *k = add(L, mul(L, ve(L, fb), ci(L, DENSE_LANES)), ve(L, l1));
  LExpr *prod = fmul(L, ld(L, xb, add(L, xrow, k)), ld(L, wb, add(L, wrow, k)));
  LStmt *lanes = loop(L, l1, ci(L, DENSE_LANES), LHINT_VECTORIZE,
                      ls_store(p, acc, ve(L, l1), fadd(L, ld(L, acc, ve(L, l1)), prod)));
  int64_t full = f / DENSE_LANES;
  lblock_add(&body, loop(L, fb, ci(L, full), 0, lanes));
  LExpr *tail = fmul(L, ld(L, xb, add(L, xrow, ve(L, ft))), ld(L, wb, add(L, wrow, ve(L, ft))));
  lblock_add(&body, range(L, ft, ci(L, full * DENSE_LANES), ci(L, f), 0,
                          ls_store(p, acc, ci(L, 0), fadd(L, ld(L, acc, ci(L, 0)), tail))));
  /* pairwise: ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) */
  LExpr *sum[DENSE_LANES];
  for (int l = 0; l < DENSE_LANES; l++) sum[l] = ld(L, acc, ci(L, l));
  for (int w = DENSE_LANES; w > 1; w /= 2)
    for (int l = 0; l < w / 2; l++) sum[l] = fadd(L, sum[2 * l], sum[2 * l + 1]);
  LExpr *value = n->nin > 2 ? fadd(L, ld(L, vbuf(L, n->in[2]), ve(L, uv)), sum[0]) : sum[0];
  lblock_add(&body, ls_store(p, yb, add(L, mul(L, ve(L, i), ci(L, u)), ve(L, uv)), value));
  return loop(L, i, batch_n(L), 0, loop(L, uv, ci(L, u), 0, body.first));
}

/* y = b + x . w^T. The GEMM's inner loop runs along a contiguous row of B,
 * so one operand must be transposed: either w ([U x F] -> wt [F x U], U*F
 * moves per step) for y = x . wt, or x and y (F*B + U*B moves, B the
 * compiled batch) for yt [U x B] = w . xt, which reads w in place, once.
 * The cheaper one is taken: the transposed x/y when the batch is small
 * against the layer (mlp's 784 x 256 layer at batch 32: 33 K moves instead
 * of 200 K, and w, 800 KB, is streamed once instead of once per 4 samples).
 * For a small compiled batch the products are dot products (dense_dot). */
bool lower_dense_fwd(Lower *L, const Node *n, LowerMode mode) {
  (void)mode;
  LProgram *p = L->p;
  const Value *x = n->in[0], *y = n->out[0];
  int64_t f = x->type.shape.dim[1], u = y->type.shape.dim[1], b = p->batch;
  lower_kernel(L, n, "fwd", L->entries);
  if (b <= DENSE_DOT_MAX_BATCH) {
    lower_kernel_body(L, dense_dot(L, n, f, u));
    return true;
  }
  LBuffer *wb = vbuf(L, n->in[1]), *xb = vbuf(L, x), *yb = vbuf(L, y);
  LBuffer *bias = n->nin > 2 ? vbuf(L, n->in[2]) : NULL;
  if (!dense_by_cols(L, f, u)) {
    LBuffer *wt = scratch(L, "wt", DT_F32, f * u);
    Gemm m = {.c = mat(yb, ci(L, 0), u, 1), .a = mat(xb, ci(L, 0), f, 1),
              .b = mat(wt, ci(L, 0), u, 1), .m = batch_n(L), .k = ci(L, f), .n = u,
              .init = bias ? GEMM_BIAS : GEMM_SET, .bias = bias, .bias_off = ci(L, 0),
              .bias_by_col = true};
    lower_kernel_body(L, seq(transpose(L, wb, wt, u, f), gemm(L, &m)));
    return true;
  }
  LBuffer *xt = scratch(L, "xt", DT_F32, f * b), *yt = scratch(L, "yt", DT_F32, u * b);
  Gemm m = {.c = mat(yt, ci(L, 0), b, 1), .a = mat(wb, ci(L, 0), f, 1), .b = mat(xt, ci(L, 0), b, 1),
            .m = ci(L, u), .k = ci(L, f), .n = b, .init = bias ? GEMM_BIAS : GEMM_SET,
            .bias = bias, .bias_off = ci(L, 0)};
  lower_kernel_body(L, seq3(batch_to_cols(L, xb, xt, f), gemm(L, &m), cols_to_batch(L, yt, yb, u)));
  return true;
}

/* dx = dy . w, as dx [n x F] = dy [n x U] . w [U x F] (w streamed once per
 * MR samples), or, when the transposes are cheaper (dense_by_cols), as
 * dxt [F x B] = w^T [F x U] . dyt [U x B], which reads w once. */
bool lower_dense_dx(Lower *L, const Node *n, LowerMode mode) {
  (void)mode;
  const Value *dy = n->in[0], *dx = n->out[0];
  int64_t u = dy->type.shape.dim[1], f = dx->type.shape.dim[1], b = L->p->batch;
  lower_kernel(L, n, "dx", L->entries);
  if (b > DENSE_DOT_MAX_BATCH && dense_by_cols(L, f, u)) {
    LBuffer *dyt = scratch(L, "dyt", DT_F32, u * b), *dxt = scratch(L, "dxt", DT_F32, f * b);
    Gemm m = {.c = mat(dxt, ci(L, 0), b, 1), .a = mat(vbuf(L, n->in[1]), ci(L, 0), 1, f),
              .b = mat(dyt, ci(L, 0), b, 1), .m = ci(L, f), .k = ci(L, u), .n = b, .init = GEMM_SET};
    lower_kernel_body(L, seq3(batch_to_cols(L, vbuf(L, dy), dyt, u), gemm(L, &m),
                              cols_to_batch(L, dxt, vbuf(L, dx), f)));
    return true;
  }
  Gemm m = {.c = mat(vbuf(L, dx), ci(L, 0), f, 1), .a = mat(vbuf(L, dy), ci(L, 0), u, 1),
            .b = mat(vbuf(L, n->in[1]), ci(L, 0), f, 1), .m = batch_n(L), .k = ci(L, u), .n = f,
            .init = GEMM_SET};
  lower_kernel_body(L, gemm(L, &m));
  return true;
}

/* dw = dy^T . x: row u of dw gathers dy[s, u] * x[s, :] over the samples. */
bool lower_dense_dw(Lower *L, const Node *n, LowerMode mode) {
  (void)mode;
  const Value *x = n->in[0], *dy = n->in[1], *dw = n->out[0];
  int64_t u = dy->type.shape.dim[1], f = x->type.shape.dim[1];
  lower_kernel(L, n, "dw", L->entries);
  Gemm m = {.c = mat(vbuf(L, dw), ci(L, 0), f, 1), .a = mat(vbuf(L, dy), ci(L, 0), 1, u),
            .b = mat(vbuf(L, x), ci(L, 0), f, 1), .m = ci(L, u), .k = batch_n(L), .n = f};
  LStmt *zero = fill(L, m.c.buf, ci(L, 0), ci(L, u * f), 0);
  lower_kernel_body(L, seq(zero, gemm(L, &m)));
  return true;
}

/* value_loop's body: line[i] += dy element. */
static LStmt *add_to_line(Lower *L, void *line, const VElem *e) {
  return ls_store(L->p, line, ve(L, e->j), fadd(L, ld(L, line, ve(L, e->j)), elem_value(L, e)));
}

/* db[c] = sum of dy[s, c, ...] over the samples and positions. Per channel
 * the samples are added as rows into a line of partial sums (an axpy over
 * the contiguous positions), and only that line is reduced at the end. */
bool lower_bias_grad(Lower *L, const Node *n, LowerMode mode) {
  (void)mode;
  LProgram *p = L->p;
  const Value *dy = n->in[0];
  int64_t ch = dy->type.shape.dim[1], hw = per_sample(dy) / ch;
  lower_kernel(L, n, "db", L->entries);
  LBuffer *db = vbuf(L, n->out[0]);
  LVar *s = lv_loop(L, "s"), *c = lv_loop(L, "c");
  if (hw == 1) {
    LExpr *idx = add(L, mul(L, ve(L, s), ci(L, ch)), ve(L, c));
    LStmt *acc = ls_store(p, db, ve(L, c), fadd(L, ld(L, db, ve(L, c)), ld(L, vbuf(L, dy), idx)));
    LStmt *rows = per_sample_loop(L, s, loop(L, c, ci(L, ch), LHINT_VECTORIZE, acc));
    lower_kernel_body(L, seq(fill(L, db, ci(L, 0), ci(L, ch), 0), rows));
    return true;
  }
  LBuffer *line = scratch(L, "line", DT_F32, hw);
  LVar *i = lv_loop(L, "i");
  LExpr *first = mul(L, add(L, mul(L, ve(L, s), ci(L, ch)), ve(L, c)), ci(L, hw));
  LStmt *rows = per_sample_loop(L, s, value_loop(L, dy, i, first, ci(L, hw), LHINT_VECTORIZE,
                                                 add_to_line, line));
  LStmt *reduce = ordered_sum(L, line, NULL, hw, db, ve(L, c));
  LStmt *per = seq3(fill(L, line, ci(L, 0), ci(L, hw), 0), rows, reduce);
  lower_kernel_body(L, loop(L, c, ci(L, ch), 0, per));
  return true;
}
