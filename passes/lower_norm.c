/* Lowering of batch-norm: batchnorm (running statistics), batchnorm_train
 * (batch statistics, saved mean/invstd, running-statistics update in place)
 * and batchnorm_grad (dx, dgamma, dbeta), with PyTorch's semantics. The
 * channel is dim 1 of x [N,C] or [N,C,H,W]; a channel's statistics run over
 * the %n samples and the H*W positions, M = n*H*W elements.
 *
 * Two layouts, two loop orders (docs/lowering.md, "## batch-norm"):
 *  - planes (H*W > 1): per channel, the n contiguous planes of H*W. The
 *    sums go into LANES independent partial sums so the inner loop
 *    vectorises; per-channel constants are hoisted into locals and the
 *    elementwise pass runs over the contiguous plane.
 *  - rows ([N,C], H*W = 1): a channel's elements are C apart, so the sums
 *    become axpys over the batch (acc[c] += x[b,c], vectorised over c) and
 *    the per-channel constants live in scratch rows of C.
 * Statistics take two passes (mean, then the centred sum of squares), not
 * E[x^2] - E[x]^2, which cancels catastrophically for large means. */
#include "lower.h"

/* Partial sums per channel: one AVX-512 vector of f32. */
enum { LANES = 16 };

typedef struct Norm {
  int64_t c, hw;
} Norm;

static Norm norm_geom(const Value *x) {
  Norm g;
  g.c = x->type.shape.dim[1];
  g.hw = per_sample(x) / g.c;
  return g;
}

static LExpr *fbin(Lower *L, LBinOp op, LExpr *a, LExpr *b) { return le_bin(L->p, op, a, b); }
static LExpr *fadd(Lower *L, LExpr *a, LExpr *b) { return le_bin(L->p, LB_ADD, a, b); }
static LExpr *fsub(Lower *L, LExpr *a, LExpr *b) { return le_bin(L->p, LB_SUB, a, b); }
static LExpr *fmul(Lower *L, LExpr *a, LExpr *b) { return le_bin(L->p, LB_MUL, a, b); }
static LExpr *fdiv(Lower *L, LExpr *a, LExpr *b) { return le_bin(L->p, LB_DIV, a, b); }
static LExpr *ldv(Lower *L, LBuffer *b, LVar *i) { return ld(L, b, ve(L, i)); }
static LStmt *let(Lower *L, LVar *v, LExpr *e) { return ls_let(L->p, v, e); }
static LStmt *st(Lower *L, LBuffer *b, LVar *i, LExpr *e) { return ls_store(L->p, b, ve(L, i), e); }

/* M = n * H * W as f32. */
static LExpr *count(Lower *L, const Norm *g) {
  return fmul(L, le_cast(L->p, DT_F32, batch_n(L)), cf(L, (float)g->hw));
}

/* 1 / sqrt(v + eps) */
static LExpr *rsqrt_eps(Lower *L, LExpr *v, double eps) {
  return fdiv(L, cf(L, 1), le_un(L->p, LU_SQRT, fadd(L, v, cf(L, (float)eps))));
}

/* A term summed over a channel, built from the element index (a local):
 * x, x - m, dy, dy * (x - m), (x - m)^2. */
typedef struct Term {
  LBuffer *a, *b; /* a[idx] (* b[idx] when b) */
  LVar *center;   /* subtracted from the x factor when set */
  bool square;    /* (a[idx] - center)^2 */
} Term;

static LExpr *term_at(Lower *L, const Term *t, LVar *idx) {
  if (t->square) {
    LExpr *d = fsub(L, ldv(L, t->a, idx), ve(L, t->center));
    LExpr *d2 = fsub(L, ldv(L, t->a, idx), ve(L, t->center));
    return fmul(L, d, d2);
  }
  if (!t->b) return ldv(L, t->a, idx);
  LExpr *xb = ldv(L, t->b, idx);
  if (t->center) xb = fsub(L, xb, ve(L, t->center));
  return fmul(L, ldv(L, t->a, idx), xb);
}

/* Planes layout: for channel c (its loop var), sum[k] = Σ_b Σ_i term_k over
 * the n planes, each term in LANES partial sums part_k[LANES] (the inner
 * loop over lanes is independent per iteration) and the tail in sum[k]. */
static LStmt *plane_sums(Lower *L, const Norm *g, LVar *c, const Term *t, LBuffer **part,
                         LVar **sum, int nterms) {
  LProgram *p = L->p;
  int64_t blocks = g->hw / LANES;
  LBlock out = {0};
  LVar *b = lv_loop(L, "b"), *base = lv_local(L, "base", DT_I32);
  LBlock per = {0};
  lblock_add(&per, let(L, base, mul(L, add(L, mul(L, ve(L, b), ci(L, g->c)), ve(L, c)),
                                    ci(L, g->hw))));
  for (int k = 0; k < nterms; k++) lblock_add(&out, let(L, sum[k], cf(L, 0)));
  if (blocks > 0) {
    for (int k = 0; k < nterms; k++) {
      LVar *j = lv_loop(L, "j");
      lblock_add(&out, loop(L, j, ci(L, LANES), LHINT_VECTORIZE, st(L, part[k], j, cf(L, 0))));
    }
    LVar *blk = lv_loop(L, "blk"), *j = lv_loop(L, "j"), *idx = lv_local(L, "idx", DT_I32);
    LBlock lane = {0};
    lblock_add(&lane, let(L, idx, add(L, add(L, ve(L, base), mul(L, ve(L, blk), ci(L, LANES))),
                                     ve(L, j))));
    for (int k = 0; k < nterms; k++)
      lblock_add(&lane, st(L, part[k], j, fadd(L, ldv(L, part[k], j), term_at(L, &t[k], idx))));
    lblock_add(&per, loop(L, blk, ci(L, blocks), 0,
                          loop(L, j, ci(L, LANES), LHINT_VECTORIZE, lane.first)));
  }
  if (blocks * LANES < g->hw) {
    LVar *i = lv_loop(L, "i"), *idx = lv_local(L, "idx", DT_I32);
    LBlock tail = {0};
    lblock_add(&tail, let(L, idx, add(L, ve(L, base), ve(L, i))));
    for (int k = 0; k < nterms; k++)
      lblock_add(&tail, ls_assign(p, sum[k], fadd(L, ve(L, sum[k]), term_at(L, &t[k], idx))));
    lblock_add(&per, ls_for(p, i, ci(L, blocks * LANES), ci(L, g->hw), 1, 0, tail.first));
  }
  lblock_add(&out, loop(L, b, batch_n(L), 0, per.first));
  if (blocks > 0)
    for (int k = 0; k < nterms; k++) {
      LVar *j = lv_loop(L, "j");
      lblock_add(&out, loop(L, j, ci(L, LANES), 0,
                            ls_assign(p, sum[k], fadd(L, ve(L, sum[k]), ldv(L, part[k], j)))));
    }
  return out.first;
}

/* Planes layout, elementwise pass of channel c: out[idx] = f(idx) for the
 * n planes, inner loop over the contiguous plane. */
typedef LExpr *(*ElemFn)(Lower *L, const void *ctx, LVar *idx);

static LStmt *plane_map(Lower *L, const Norm *g, LVar *c, LBuffer *out, ElemFn f,
                        const void *ctx) {
  LVar *b = lv_loop(L, "b"), *i = lv_loop(L, "i");
  LVar *base = lv_local(L, "base", DT_I32), *idx = lv_local(L, "idx", DT_I32);
  LStmt *inner = seq(let(L, idx, add(L, ve(L, base), ve(L, i))), st(L, out, idx, f(L, ctx, idx)));
  LStmt *per = seq(let(L, base, mul(L, add(L, mul(L, ve(L, b), ci(L, g->c)), ve(L, c)),
                                    ci(L, g->hw))),
                   loop(L, i, ci(L, g->hw), LHINT_VECTORIZE, inner));
  return loop(L, b, batch_n(L), 0, per);
}

/* Rows layout: for b < n, for c < C (vectorised): out[b*C + c] = f(idx). */
static LStmt *row_map(Lower *L, const Norm *g, LVar *c, LBuffer *out, ElemFn f, const void *ctx) {
  LVar *b = lv_loop(L, "b"), *idx = lv_local(L, "idx", DT_I32);
  LStmt *inner = seq(let(L, idx, add(L, mul(L, ve(L, b), ci(L, g->c)), ve(L, c))),
                     st(L, out, idx, f(L, ctx, idx)));
  return loop(L, b, batch_n(L), 0, loop(L, c, ci(L, g->c), LHINT_VECTORIZE, inner));
}

/* Rows layout: acc[c] = Σ_b term(b*C + c), as axpys over the batch. */
static LStmt *row_sums(Lower *L, const Norm *g, const Term *t, LBuffer **acc, int nterms) {
  LBlock out = {0}, lane = {0};
  for (int k = 0; k < nterms; k++) {
    LVar *c = lv_loop(L, "c");
    lblock_add(&out, loop(L, c, ci(L, g->c), LHINT_VECTORIZE, st(L, acc[k], c, cf(L, 0))));
  }
  LVar *b = lv_loop(L, "b"), *c = lv_loop(L, "c"), *idx = lv_local(L, "idx", DT_I32);
  lblock_add(&lane, let(L, idx, add(L, mul(L, ve(L, b), ci(L, g->c)), ve(L, c))));
  for (int k = 0; k < nterms; k++)
    lblock_add(&lane, st(L, acc[k], c, fadd(L, ldv(L, acc[k], c), term_at(L, &t[k], idx))));
  lblock_add(&out, loop(L, b, batch_n(L), 0, loop(L, c, ci(L, g->c), LHINT_VECTORIZE, lane.first)));
  return out.first;
}

/* y = (x - center) * a + s, with per-channel center, a, s as locals
 * (planes) or loaded from rows of C at the channel (rows). */
typedef struct Affine {
  LBuffer *x;
  LVar *center, *a, *s;             /* planes: locals */
  LBuffer *center_row, *a_row, *s_row; /* rows: per-channel buffers */
  LVar *c;                          /* rows: the channel loop var */
} Affine;

static LExpr *affine_at(Lower *L, const void *ctx, LVar *idx) {
  const Affine *f = ctx;
  if (f->a_row) {
    LExpr *d = fsub(L, ldv(L, f->x, idx), ldv(L, f->center_row, f->c));
    return fadd(L, fmul(L, d, ldv(L, f->a_row, f->c)), ldv(L, f->s_row, f->c));
  }
  LExpr *d = fsub(L, ldv(L, f->x, idx), ve(L, f->center));
  return fadd(L, fmul(L, d, ve(L, f->a)), ve(L, f->s));
}

/* dx = g * dy + k * (x - m) + s: batchnorm_grad's input gradient. */
typedef struct GradX {
  LBuffer *dy, *x;
  LVar *g, *k, *m, *s;              /* planes */
  LBuffer *g_row, *k_row, *m_row, *s_row; /* rows */
  LVar *c;
} GradX;

static LExpr *gradx_at(Lower *L, const void *ctx, LVar *idx) {
  const GradX *f = ctx;
  if (f->g_row) {
    LExpr *t = fmul(L, ldv(L, f->dy, idx), ldv(L, f->g_row, f->c));
    LExpr *u = fmul(L, fsub(L, ldv(L, f->x, idx), ldv(L, f->m_row, f->c)), ldv(L, f->k_row, f->c));
    return fadd(L, fadd(L, t, u), ldv(L, f->s_row, f->c));
  }
  LExpr *t = fmul(L, ldv(L, f->dy, idx), ve(L, f->g));
  LExpr *u = fmul(L, fsub(L, ldv(L, f->x, idx), ve(L, f->m)), ve(L, f->k));
  return fadd(L, fadd(L, t, u), ve(L, f->s));
}

/* Inference: y = (x - running_mean) * (gamma / sqrt(running_var + eps)) + beta. */
static bool lower_bn_infer(Lower *L, const Node *n) {
  const Value *xv = n->in[0];
  Norm g = norm_geom(xv);
  double eps = node_float(n, "eps", 1e-5);
  LBuffer *x = vbuf(L, xv), *gamma = vbuf(L, n->in[1]), *beta = vbuf(L, n->in[2]);
  LBuffer *rm = vbuf(L, n->in[3]), *rv = vbuf(L, n->in[4]), *y = vbuf(L, n->out[0]);
  lower_kernel(L, n, "infer", L->entries);
  LVar *c = lv_loop(L, "c");
  if (g.hw == 1) {
    LBuffer *a = scratch(L, "scale", DT_F32, g.c);
    LStmt *consts = loop(L, c, ci(L, g.c), LHINT_VECTORIZE,
                         st(L, a, c, fmul(L, ldv(L, gamma, c), rsqrt_eps(L, ldv(L, rv, c), eps))));
    Affine f = {.x = x, .center_row = rm, .a_row = a, .s_row = beta, .c = lv_loop(L, "c")};
    lower_kernel_body(L, seq(consts, row_map(L, &g, f.c, y, affine_at, &f)));
    return true;
  }
  Affine f = {.x = x, .center = lv_local(L, "m", DT_F32), .a = lv_local(L, "a", DT_F32),
              .s = lv_local(L, "s", DT_F32)};
  LStmt *consts = seq3(let(L, f.center, ldv(L, rm, c)),
                       let(L, f.a, fmul(L, ldv(L, gamma, c), rsqrt_eps(L, ldv(L, rv, c), eps))),
                       let(L, f.s, ldv(L, beta, c)));
  lower_kernel_body(L, loop(L, c, ci(L, g.c), 0, seq(consts, plane_map(L, &g, c, y, affine_at, &f))));
  return true;
}

/* running = (1 - m) * running + m * value */
static LStmt *running_update(Lower *L, LBuffer *run, LVar *c, LExpr *value, double m) {
  LExpr *old = fmul(L, cf(L, (float)(1.0 - m)), ldv(L, run, c));
  return st(L, run, c, fadd(L, old, fmul(L, cf(L, (float)m), value)));
}

/* var * M / (M - 1): the unbiased estimate for the running variance. With
 * M = 1 (one sample of [N,C]) PyTorch refuses; we keep the biased 0. */
static LExpr *unbiased(Lower *L, const Norm *g, LExpr *var) {
  LExpr *den = fbin(L, LB_MAX, fsub(L, count(L, g), cf(L, 1)), cf(L, 1));
  return fdiv(L, fmul(L, var, count(L, g)), den);
}

/* Training, planes layout: per channel, mean pass, centred-square pass,
 * statistics and running update, then the normalising pass. */
static void bn_train_planes(Lower *L, const Node *n, const Norm *g, double eps, double mom) {
  LBuffer *x = vbuf(L, n->in[0]), *gamma = vbuf(L, n->in[1]), *beta = vbuf(L, n->in[2]);
  LBuffer *rm = vbuf(L, n->in[3]), *rv = vbuf(L, n->in[4]);
  LBuffer *y = vbuf(L, n->out[0]), *mean = vbuf(L, n->out[1]), *invstd = vbuf(L, n->out[2]);
  LBuffer *part = g->hw >= LANES ? scratch(L, "lanes", DT_F32, LANES) : NULL;
  LVar *c = lv_loop(L, "c"), *s = lv_local(L, "sum", DT_F32), *sq = lv_local(L, "sq", DT_F32);
  LVar *m = lv_local(L, "mean", DT_F32), *var = lv_local(L, "var", DT_F32);
  LVar *inv = lv_local(L, "inv", DT_F32);
  Term tm = {.a = x}, tv = {.a = x, .center = m, .square = true};
  Affine f = {.x = x, .center = m, .a = lv_local(L, "a", DT_F32), .s = lv_local(L, "s", DT_F32)};
  LBlock body = {0};
  lblock_add(&body, plane_sums(L, g, c, &tm, &part, &s, 1));
  lblock_add(&body, let(L, m, fdiv(L, ve(L, s), count(L, g))));
  lblock_add(&body, plane_sums(L, g, c, &tv, &part, &sq, 1));
  lblock_add(&body, let(L, var, fdiv(L, ve(L, sq), count(L, g))));
  lblock_add(&body, let(L, inv, rsqrt_eps(L, ve(L, var), eps)));
  lblock_add(&body, st(L, mean, c, ve(L, m)));
  lblock_add(&body, st(L, invstd, c, ve(L, inv)));
  lblock_add(&body, running_update(L, rm, c, ve(L, m), mom));
  lblock_add(&body, running_update(L, rv, c, unbiased(L, g, ve(L, var)), mom));
  lblock_add(&body, let(L, f.a, fmul(L, ldv(L, gamma, c), ve(L, inv))));
  lblock_add(&body, let(L, f.s, ldv(L, beta, c)));
  lblock_add(&body, plane_map(L, g, c, y, affine_at, &f));
  lower_kernel_body(L, loop(L, c, ci(L, g->c), 0, body.first));
}

/* Training, rows layout: the sums as axpys into the mean and invstd rows
 * (invstd first holds the centred sum of squares), then per channel the
 * statistics, then the normalising pass. */
static void bn_train_rows(Lower *L, const Node *n, const Norm *g, double eps, double mom) {
  LBuffer *x = vbuf(L, n->in[0]), *gamma = vbuf(L, n->in[1]), *beta = vbuf(L, n->in[2]);
  LBuffer *rm = vbuf(L, n->in[3]), *rv = vbuf(L, n->in[4]);
  LBuffer *y = vbuf(L, n->out[0]), *mean = vbuf(L, n->out[1]), *invstd = vbuf(L, n->out[2]);
  LBuffer *a = scratch(L, "scale", DT_F32, g->c);
  LVar *c1 = lv_loop(L, "c"), *c2 = lv_loop(L, "c"), *var = lv_local(L, "var", DT_F32);
  LVar *cm = lv_local(L, "m", DT_F32), *rc = lv_local(L, "rc", DT_F32);
  Term tm = {.a = x};
  LBlock body = {0};
  lblock_add(&body, row_sums(L, g, &tm, &mean, 1));
  lblock_add(&body, let(L, rc, fdiv(L, cf(L, 1), count(L, g))));
  lblock_add(&body, loop(L, c1, ci(L, g->c), LHINT_VECTORIZE,
                         st(L, mean, c1, fmul(L, ldv(L, mean, c1), ve(L, rc)))));
  /* Σ_b (x - mean[c])^2: the centre is per element here, so a
   * dedicated axpy rather than a Term. */
  LVar *c0 = lv_loop(L, "c"), *b = lv_loop(L, "b"), *cc = lv_loop(L, "c");
  LVar *d = lv_local(L, "d", DT_F32);
  lblock_add(&body, loop(L, c0, ci(L, g->c), LHINT_VECTORIZE, st(L, invstd, c0, cf(L, 0))));
  LExpr *xi = ld(L, x, add(L, mul(L, ve(L, b), ci(L, g->c)), ve(L, cc)));
  LStmt *sq = seq(let(L, d, fsub(L, xi, ldv(L, mean, cc))),
                  st(L, invstd, cc, fadd(L, ldv(L, invstd, cc), fmul(L, ve(L, d), ve(L, d)))));
  lblock_add(&body, loop(L, b, batch_n(L), 0, loop(L, cc, ci(L, g->c), LHINT_VECTORIZE, sq)));
  LBlock stats = {0};
  lblock_add(&stats, let(L, var, fmul(L, ldv(L, invstd, c2), ve(L, rc))));
  lblock_add(&stats, let(L, cm, ldv(L, mean, c2)));
  lblock_add(&stats, st(L, invstd, c2, rsqrt_eps(L, ve(L, var), eps)));
  lblock_add(&stats, running_update(L, rm, c2, ve(L, cm), mom));
  lblock_add(&stats, running_update(L, rv, c2, unbiased(L, g, ve(L, var)), mom));
  lblock_add(&stats, st(L, a, c2, fmul(L, ldv(L, gamma, c2), ldv(L, invstd, c2))));
  lblock_add(&body, loop(L, c2, ci(L, g->c), LHINT_VECTORIZE, stats.first));
  Affine f = {.x = x, .center_row = mean, .a_row = a, .s_row = beta, .c = lv_loop(L, "c")};
  lblock_add(&body, row_map(L, g, f.c, y, affine_at, &f));
  lower_kernel_body(L, body.first);
}

static bool lower_bn_train(Lower *L, const Node *n) {
  Norm g = norm_geom(n->in[0]);
  double eps = node_float(n, "eps", 1e-5), mom = node_float(n, "momentum", 0.1);
  lower_kernel(L, n, "fwd", L->entries);
  if (g.hw == 1) bn_train_rows(L, n, &g, eps, mom);
  else bn_train_planes(L, n, &g, eps, mom);
  return true;
}

/* batchnorm_grad(dy, x, gamma, mean, invstd) -> (dx, dgamma, dbeta):
 *   dbeta = Σ dy, dgamma = invstd * Σ dy (x - mean),
 *   dx = g dy + k (x - mean) + s  with  g = gamma invstd,
 *        k = -g invstd dgamma / M,  s = -g dbeta / M.
 * dx is skipped when nothing reads it (x needs no gradient). */
static bool dx_needed(Lower *L, const Node *n) {
  return value_users(L->g, n->out[0], NULL, 0) > 0;
}

static void bn_grad_planes(Lower *L, const Node *n, const Norm *g) {
  LBuffer *dy = vbuf(L, n->in[0]), *x = vbuf(L, n->in[1]), *gamma = vbuf(L, n->in[2]);
  LBuffer *mean = vbuf(L, n->in[3]), *invstd = vbuf(L, n->in[4]);
  LBuffer *dx = vbuf(L, n->out[0]), *dg = vbuf(L, n->out[1]), *db = vbuf(L, n->out[2]);
  LBuffer *part[2] = {NULL, NULL};
  if (g->hw >= LANES) {
    part[0] = scratch(L, "lanes_db", DT_F32, LANES);
    part[1] = scratch(L, "lanes_dg", DT_F32, LANES);
  }
  LVar *c = lv_loop(L, "c"), *m = lv_local(L, "m", DT_F32), *inv = lv_local(L, "inv", DT_F32);
  LVar *sums[2] = {lv_local(L, "sdb", DT_F32), lv_local(L, "sdg", DT_F32)};
  LVar *gdg = lv_local(L, "dg", DT_F32);
  Term t[2] = {{.a = dy}, {.a = dy, .b = x, .center = m}};
  LBlock body = {0};
  lblock_add(&body, let(L, m, ldv(L, mean, c)));
  lblock_add(&body, let(L, inv, ldv(L, invstd, c)));
  lblock_add(&body, plane_sums(L, g, c, t, part, sums, 2));
  lblock_add(&body, let(L, gdg, fmul(L, ve(L, sums[1]), ve(L, inv))));
  lblock_add(&body, st(L, db, c, ve(L, sums[0])));
  lblock_add(&body, st(L, dg, c, ve(L, gdg)));
  if (dx_needed(L, n)) {
    GradX f = {.dy = dy, .x = x, .m = m, .g = lv_local(L, "g", DT_F32),
               .k = lv_local(L, "k", DT_F32), .s = lv_local(L, "s", DT_F32)};
    LExpr *rm = fdiv(L, cf(L, 1), count(L, g));
    lblock_add(&body, let(L, f.g, fmul(L, ldv(L, gamma, c), ve(L, inv))));
    lblock_add(&body, let(L, f.k, fmul(L, fmul(L, le_un(L->p, LU_NEG, ve(L, f.g)), ve(L, inv)),
                                       fmul(L, ve(L, gdg), rm))));
    LExpr *rm2 = fdiv(L, cf(L, 1), count(L, g));
    lblock_add(&body, let(L, f.s, fmul(L, le_un(L->p, LU_NEG, ve(L, f.g)),
                                       fmul(L, ve(L, sums[0]), rm2))));
    lblock_add(&body, plane_map(L, g, c, dx, gradx_at, &f));
  }
  lower_kernel_body(L, loop(L, c, ci(L, g->c), 0, body.first));
}

static void bn_grad_rows(Lower *L, const Node *n, const Norm *g) {
  LBuffer *dy = vbuf(L, n->in[0]), *x = vbuf(L, n->in[1]), *gamma = vbuf(L, n->in[2]);
  LBuffer *mean = vbuf(L, n->in[3]), *invstd = vbuf(L, n->in[4]);
  LBuffer *dx = vbuf(L, n->out[0]), *dg = vbuf(L, n->out[1]), *db = vbuf(L, n->out[2]);
  LBlock body = {0};
  /* Σ_b dy and Σ_b dy (x - mean[c]) as axpys into the db and dg rows. */
  LBuffer *acc[2] = {db, dg};
  LVar *b = lv_loop(L, "b"), *c = lv_loop(L, "c"), *idx = lv_local(L, "idx", DT_I32);
  for (int k = 0; k < 2; k++) {
    LVar *c0 = lv_loop(L, "c");
    lblock_add(&body, loop(L, c0, ci(L, g->c), LHINT_VECTORIZE, st(L, acc[k], c0, cf(L, 0))));
  }
  LBlock lane = {0};
  lblock_add(&lane, let(L, idx, add(L, mul(L, ve(L, b), ci(L, g->c)), ve(L, c))));
  lblock_add(&lane, st(L, db, c, fadd(L, ldv(L, db, c), ldv(L, dy, idx))));
  LExpr *xc = fsub(L, ldv(L, x, idx), ldv(L, mean, c));
  lblock_add(&lane, st(L, dg, c, fadd(L, ldv(L, dg, c), fmul(L, ldv(L, dy, idx), xc))));
  lblock_add(&body, loop(L, b, batch_n(L), 0, loop(L, c, ci(L, g->c), LHINT_VECTORIZE, lane.first)));
  LVar *c1 = lv_loop(L, "c");
  lblock_add(&body, loop(L, c1, ci(L, g->c), LHINT_VECTORIZE,
                         st(L, dg, c1, fmul(L, ldv(L, dg, c1), ldv(L, invstd, c1)))));
  if (dx_needed(L, n)) {
    LBuffer *gr = scratch(L, "g", DT_F32, g->c), *kr = scratch(L, "k", DT_F32, g->c);
    LBuffer *sr = scratch(L, "s", DT_F32, g->c);
    LVar *c2 = lv_loop(L, "c"), *gg = lv_local(L, "g", DT_F32), *inv = lv_local(L, "inv", DT_F32);
    LVar *rc = lv_local(L, "rc", DT_F32);
    LBlock k = {0};
    lblock_add(&k, let(L, inv, ldv(L, invstd, c2)));
    lblock_add(&k, let(L, gg, fmul(L, ldv(L, gamma, c2), ve(L, inv))));
    lblock_add(&k, st(L, gr, c2, ve(L, gg)));
    lblock_add(&k, st(L, kr, c2, fmul(L, fmul(L, le_un(L->p, LU_NEG, ve(L, gg)), ve(L, inv)),
                                      fmul(L, ldv(L, dg, c2), ve(L, rc)))));
    lblock_add(&k, st(L, sr, c2, fmul(L, le_un(L->p, LU_NEG, ve(L, gg)),
                                      fmul(L, ldv(L, db, c2), ve(L, rc)))));
    lblock_add(&body, let(L, rc, fdiv(L, cf(L, 1), count(L, g))));
    lblock_add(&body, loop(L, c2, ci(L, g->c), LHINT_VECTORIZE, k.first));
    GradX f = {.dy = dy, .x = x, .g_row = gr, .k_row = kr, .m_row = mean, .s_row = sr,
               .c = lv_loop(L, "c")};
    lblock_add(&body, row_map(L, g, f.c, dx, gradx_at, &f));
  }
  lower_kernel_body(L, body.first);
}

bool lower_batchnorm_grad(Lower *L, const Node *n, LowerMode mode) {
  (void)mode;
  Norm g = norm_geom(n->in[1]);
  lower_kernel(L, n, "bwd", L->entries);
  if (g.hw == 1) bn_grad_rows(L, n, &g);
  else bn_grad_planes(L, n, &g);
  return true;
}

/* batchnorm is inference (running statistics); batchnorm_train is either,
 * by the entry it is lowered for. */
bool lower_batchnorm(Lower *L, const Node *n, LowerMode mode) {
  if (n->op == OP_BATCHNORM_TRAIN && mode == MODE_TRAIN) return lower_bn_train(L, n);
  return lower_bn_infer(L, n);
}
