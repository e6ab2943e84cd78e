/* Lowering of LAC's compensation layer (passes/lac.c inserts it):
 *
 *   y[s,k] = x[s,k] + alpha[p] * mu[p] + beta[p]
 *
 * with p = k (granularity element: one parameter per element of a sample)
 * or p = the channel of k (granularity channel). Its gradient,
 * compensation_grad(dy, alpha, mu, beta), with S[p] the sum of dy over the
 * batch (and, per channel, over the channel's positions):
 *
 *   dalpha = S * mu,  dmu = alpha * S + lambda mu,  dbeta = S + lambda beta
 *
 * The L2 penalty lambda/2 (|mu|^2 + |beta|^2) enters the gradient only, like
 * the optimizer's weight decay: train_step's loss is the task loss. */
#include <string.h>

#include "lower.h"

/* Channels and positions per channel of a [N, C, ...] value. */
static void channels(const Value *x, int64_t *c, int64_t *hw) {
  *c = x->type.shape.dim[1];
  *hw = per_sample(x) / *c;
}

static bool per_channel(const Node *n) {
  const char *g = node_str(n, "granularity");
  return g && strcmp(g, "channel") == 0;
}

/* alpha[k] * mu[k] + beta[k]. */
static LExpr *offset(Lower *L, const Node *n, LVar *k) {
  LExpr *am = le_bin(L->p, LB_MUL, ld(L, vbuf(L, n->in[1]), ve(L, k)),
                     ld(L, vbuf(L, n->in[2]), ve(L, k)));
  return le_bin(L->p, LB_ADD, am, ld(L, vbuf(L, n->in[3]), ve(L, k)));
}

bool lower_compensation(Lower *L, const Node *n, LowerMode mode) {
  (void)mode;
  LProgram *p = L->p;
  const Value *x = n->in[0];
  LBuffer *xb = vbuf(L, x), *yb = vbuf(L, n->out[0]);
  int64_t per = per_sample(x), ch, hw;
  channels(x, &ch, &hw);
  lower_kernel(L, n, "fwd", L->entries);
  LVar *s = lv_loop(L, "s");
  LStmt *body;
  if (!per_channel(n)) {
    LVar *j = lv_loop(L, "j");
    LExpr *idx = add(L, mul(L, ve(L, s), ci(L, per)), ve(L, j));
    LExpr *v = le_bin(p, LB_ADD, ld(L, xb, idx), offset(L, n, j));
    body = loop(L, j, ci(L, per), LHINT_VECTORIZE,
                ls_store(p, yb, add(L, mul(L, ve(L, s), ci(L, per)), ve(L, j)), v));
  } else {
    /* the channel's offset once, then a vector loop over its positions */
    LVar *c = lv_loop(L, "c"), *i = lv_loop(L, "i"), *off = lv_local(L, "off", DT_F32);
    LExpr *base = mul(L, add(L, mul(L, ve(L, s), ci(L, ch)), ve(L, c)), ci(L, hw));
    LExpr *idx = add(L, base, ve(L, i));
    LExpr *idx2 = add(L, mul(L, add(L, mul(L, ve(L, s), ci(L, ch)), ve(L, c)), ci(L, hw)),
                      ve(L, i));
    LStmt *row = loop(L, i, ci(L, hw), LHINT_VECTORIZE,
                      ls_store(p, yb, idx, le_bin(p, LB_ADD, ld(L, xb, idx2), ve(L, off))));
    body = loop(L, c, ci(L, ch), 0, seq(ls_let(p, off, offset(L, n, c)), row));
  }
  lower_kernel_body(L, loop(L, s, batch_n(L), 0, body));
  return true;
}

/* value_loop bodies: sums[j] += e, and acc += e. */
static LStmt *add_element(Lower *L, void *sums, const VElem *e) {
  LExpr *sum = le_bin(L->p, LB_ADD, ld(L, sums, ve(L, e->j)), elem_value(L, e));
  return ls_store(L->p, sums, ve(L, e->j), sum);
}

static LStmt *sum_element(Lower *L, void *acc, const VElem *e) {
  return ls_assign(L->p, acc, le_bin(L->p, LB_ADD, ve(L, acc), elem_value(L, e)));
}

/* A fused bias gradient (passes/fuse.c, fourth result): db[c] = the sum
 * over c's positions of S, the batch sums of the error, from 0 in order,
 * as bias_grad's kernel sums its per-position line (the same sums of the
 * same elements in the same order): the same bits. NULL without it. */
static LStmt *bias_from_sums(Lower *L, const Node *n, LBuffer *sums, int64_t ch, int64_t hw) {
  if (n->nout < 4) return NULL;
  LVar *c = lv_loop(L, "c");
  return loop(L, c, ci(L, ch), 0,
              ordered_sum(L, sums, mul(L, ve(L, c), ci(L, hw)), hw, vbuf(L, n->out[3]), ve(L, c)));
}

enum { ROUTED_PLANES_MIN_BATCH = 4 };

bool lower_compensation_grad(Lower *L, const Node *n, LowerMode mode) {
  (void)mode;
  LProgram *p = L->p;
  const Value *dy = n->in[0];
  LBuffer *alpha = vbuf(L, n->in[1]), *mu = vbuf(L, n->in[2]), *beta = vbuf(L, n->in[3]);
  LBuffer *da = vbuf(L, n->out[0]), *dm = vbuf(L, n->out[1]), *db = vbuf(L, n->out[2]);
  int64_t per = per_sample(dy), ch, hw;
  channels(dy, &ch, &hw);
  bool channel = per_channel(n);
  int64_t np = channel ? ch : per;
  float lambda = (float)node_float(n, "lambda", 0);
  lower_kernel(L, n, "grad", L->entries);

  /* S accumulates in dbeta: zero it, then add each sample's dy. */
  LVar *z = lv_loop(L, "z");
  LStmt *zero = loop(L, z, ci(L, np), LHINT_VECTORIZE, ls_store(p, db, ve(L, z), cf(L, 0)));
  LVar *s = lv_loop(L, "s");
  LStmt *sum, *unplane = NULL;
  if (!channel && dy->def && route_grad_inlined(dy->def) && L->p->batch >= ROUTED_PLANES_MIN_BATCH) {
    /* A routed error (a pooled conv's): S summed in plane order, each
     * window tap's sums contiguous (4 windows at a time over rows of 12
     * or 14, kw-strided read-modify-writes, cost 3x more), then put in
     * the natural order once: the same sums in the same order. The two
     * extra passes (zero, reorder) are per step, so at small batches they
     * cost more than they save: lenet5 octo, instructions per 10 steps,
     * direct -> plane order, batch 1 12.38 M -> 12.66 M, 2 16.52 M ->
     * 16.69 M, 4 24.20 M -> 24.12 M, 32 137.4 M -> 133.8 M. */
    LBuffer *planes = scratch(L, "planes", DT_F32, per);
    LVar *zp = lv_loop(L, "z");
    zero = seq(zero, loop(L, zp, ci(L, per), LHINT_VECTORIZE, ls_store(p, planes, ve(L, zp), cf(L, 0))));
    sum = routed_plane_loop(L, dy->def, dy, mul(L, ve(L, s), ci(L, per)), ci(L, per), add_element,
                            planes);
    unplane = routed_unplane(L, dy->def, db, planes, ch);
  } else if (!channel) {
    LVar *j = lv_loop(L, "j");
    sum = value_loop(L, dy, j, mul(L, ve(L, s), ci(L, per)), ci(L, per), LHINT_VECTORIZE,
                     add_element, db);
  } else {
    LVar *c = lv_loop(L, "c"), *i = lv_loop(L, "i"), *acc = lv_local(L, "acc", DT_F32);
    LExpr *first = mul(L, add(L, mul(L, ve(L, s), ci(L, ch)), ve(L, c)), ci(L, hw));
    LStmt *row = value_loop(L, dy, i, first, ci(L, hw), 0, sum_element, acc);
    LStmt *store = ls_store(p, db, ve(L, c),
                            le_bin(p, LB_ADD, ld(L, db, ve(L, c)), ve(L, acc)));
    sum = loop(L, c, ci(L, ch), 0, seq3(ls_let(p, acc, cf(L, 0)), row, store));
  }
  LStmt *accumulate = seq(loop(L, s, batch_n(L), 0, sum), unplane);

  /* The three gradients from S, mu, alpha, beta. */
  LVar *k = lv_loop(L, "k"), *S = lv_local(L, "S", DT_F32);
  LExpr *dalpha = le_bin(p, LB_MUL, ve(L, S), ld(L, mu, ve(L, k)));
  LExpr *dmu = le_bin(p, LB_ADD, le_bin(p, LB_MUL, ld(L, alpha, ve(L, k)), ve(L, S)),
                      le_bin(p, LB_MUL, cf(L, lambda), ld(L, mu, ve(L, k))));
  LExpr *dbeta = le_bin(p, LB_ADD, ve(L, S), le_bin(p, LB_MUL, cf(L, lambda), ld(L, beta, ve(L, k))));
  LBlock b = {0};
  lblock_add(&b, ls_let(p, S, ld(L, db, ve(L, k))));
  lblock_add(&b, ls_store(p, da, ve(L, k), dalpha));
  lblock_add(&b, ls_store(p, dm, ve(L, k), dmu));
  lblock_add(&b, ls_store(p, db, ve(L, k), dbeta));
  LStmt *finish = loop(L, k, ci(L, np), LHINT_VECTORIZE, b.first);
  lower_kernel_body(L, seq3(zero, seq(accumulate, bias_from_sums(L, n, db, ch, hw)), finish));
  return true;
}
