/* Lowering of the losses and their gradients. softmax_cross_entropy is the
 * mean over the n samples of logsumexp(z) - z[y], computed stably (the row
 * maximum is subtracted before exp); its gradient (softmax(z) - onehot(y)) / n
 * recomputes the softmax rather than storing it. mse is the mean over all
 * n * D elements of (p - t)^2, as PyTorch's MSELoss. Labels outside [0, K)
 * are clamped, so a bad label never reads out of bounds. */
#include "lower.h"

/* Builds, for sample b of logits z [N,K]: m = max_k z, s = sum_k exp(z - m). */
static LStmt *row_max_sum(Lower *L, LBuffer *z, LExpr *row, int64_t k, LVar *m, LVar *s) {
  LProgram *p = L->p;
  LVar *c1 = lv_loop(L, "c"), *c2 = lv_loop(L, "c");
  LStmt *max_loop = ls_for(p, c1, ci(L, 1), ci(L, k), 1, 0,
                           ls_assign(p, m, le_bin(p, LB_MAX, ve(L, m),
                                                  ld(L, z, add(L, row, ve(L, c1))))));
  LExpr *e = le_un(p, LU_EXP, le_bin(p, LB_SUB, ld(L, z, add(L, row, ve(L, c2))), ve(L, m)));
  LStmt *sum_loop = loop(L, c2, ci(L, k), 0, ls_assign(p, s, le_bin(p, LB_ADD, ve(L, s), e)));
  return seq(seq3(ls_let(p, m, ld(L, z, row)), max_loop, ls_let(p, s, cf(L, 0))), sum_loop);
}

/* The label of sample b, clamped to [0, k). */
static LExpr *label_at(Lower *L, LBuffer *y, LVar *b, int64_t k) {
  LProgram *p = L->p;
  LExpr *v = ld(L, y, ve(L, b));
  return le_bin(p, LB_MIN, le_bin(p, LB_MAX, v, ci(L, 0)), ci(L, k - 1));
}

static LExpr *f32_n(Lower *L) { return le_cast(L->p, DT_F32, batch_n(L)); }

static bool softmax_ce(Lower *L, const Node *n, bool grad) {
  LProgram *p = L->p;
  const Value *logits = n->in[0];
  int64_t k = logits->type.shape.dim[1];
  LBuffer *z = vbuf(L, logits), *y = vbuf(L, n->in[1]), *out = vbuf(L, n->out[0]);
  lower_kernel(L, n, grad ? "dx" : "fwd", L->entries);
  LVar *b = lv_loop(L, "b"), *m = lv_local(L, "m", DT_F32), *s = lv_local(L, "s", DT_F32);
  LExpr *row = mul(L, ve(L, b), ci(L, k));
  LStmt *stats = row_max_sum(L, z, row, k, m, s);
  if (!grad) {
    LVar *acc = lv_local(L, "acc", DT_F32);
    LExpr *zy = ld(L, z, add(L, row, label_at(L, y, b, k)));
    LExpr *term = le_bin(p, LB_SUB, le_bin(p, LB_ADD, le_un(p, LU_LOG, ve(L, s)), ve(L, m)), zy);
    LStmt *per = seq(stats, ls_assign(p, acc, le_bin(p, LB_ADD, ve(L, acc), term)));
    lower_kernel_body(L, seq3(ls_let(p, acc, cf(L, 0)), loop(L, b, batch_n(L), 0, per),
                              ls_store(p, out, ci(L, 0), le_bin(p, LB_DIV, ve(L, acc), f32_n(L)))));
    return true;
  }
  /* dz = (exp(z - m) / s - [c == y]) / n */
  LVar *c = lv_loop(L, "c"), *inv = lv_local(L, "inv", DT_F32), *yi = lv_local(L, "y", DT_I32);
  LExpr *prob = le_bin(p, LB_MUL,
                       le_un(p, LU_EXP, le_bin(p, LB_SUB, ld(L, z, add(L, row, ve(L, c))), ve(L, m))),
                       ve(L, inv));
  LExpr *onehot = le_select(p, le_bin(p, LB_EQ, ve(L, c), ve(L, yi)), cf(L, 1), cf(L, 0));
  LExpr *scale = le_bin(p, LB_DIV, cf(L, 1), f32_n(L));
  LStmt *store = ls_store(p, out, add(L, mul(L, ve(L, b), ci(L, k)), ve(L, c)),
                          le_bin(p, LB_MUL, le_bin(p, LB_SUB, prob, onehot), scale));
  LStmt *per = seq3(stats, ls_let(p, inv, le_bin(p, LB_DIV, cf(L, 1), ve(L, s))),
                    seq(ls_let(p, yi, label_at(L, y, b, k)), loop(L, c, ci(L, k), 0, store)));
  lower_kernel_body(L, loop(L, b, batch_n(L), 0, per));
  return true;
}

static bool mse(Lower *L, const Node *n, bool grad) {
  LProgram *p = L->p;
  const Value *pred = n->in[0];
  LBuffer *a = vbuf(L, pred), *t = vbuf(L, n->in[1]), *out = vbuf(L, n->out[0]);
  lower_kernel(L, n, grad ? "dx" : "fwd", L->entries);
  LVar *i = lv_loop(L, "i");
  LExpr *count = le_bin(p, LB_MUL, le_cast(p, DT_F32, batch_n(L)), cf(L, (float)per_sample(pred)));
  LExpr *diff = le_bin(p, LB_SUB, ld(L, a, ve(L, i)), ld(L, t, ve(L, i)));
  if (grad) {
    LVar *scale = lv_local(L, "scale", DT_F32);
    LStmt *store = ls_store(p, out, ve(L, i), le_bin(p, LB_MUL, diff, ve(L, scale)));
    lower_kernel_body(L, seq(ls_let(p, scale, le_bin(p, LB_DIV, cf(L, 2), count)),
                             loop(L, i, extent(L, pred), LHINT_VECTORIZE, store)));
    return true;
  }
  LVar *acc = lv_local(L, "acc", DT_F32), *d = lv_local(L, "d", DT_F32);
  LStmt *body = seq(ls_let(p, d, diff),
                    ls_assign(p, acc, le_bin(p, LB_ADD, ve(L, acc),
                                             le_bin(p, LB_MUL, ve(L, d), ve(L, d)))));
  lower_kernel_body(L, seq3(ls_let(p, acc, cf(L, 0)), loop(L, i, extent(L, pred), 0, body),
                            ls_store(p, out, ci(L, 0), le_bin(p, LB_DIV, ve(L, acc), count))));
  return true;
}

bool lower_softmax_ce(Lower *L, const Node *n, LowerMode mode) {
  (void)mode;
  return softmax_ce(L, n, false);
}

bool lower_softmax_ce_grad(Lower *L, const Node *n, LowerMode mode) {
  (void)mode;
  return softmax_ce(L, n, true);
}

bool lower_mse(Lower *L, const Node *n, LowerMode mode) {
  (void)mode;
  return mse(L, n, false);
}

bool lower_mse_grad(Lower *L, const Node *n, LowerMode mode) {
  (void)mode;
  return mse(L, n, true);
}
