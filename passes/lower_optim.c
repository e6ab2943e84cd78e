/* Lowering of the optimizer: the learning-rate schedule (from the epoch the
 * trainer sets), SGD with momentum / Nesterov / weight decay and Adam, as
 * PyTorch defines them, and the step counter. Updates run in place on the
 * state block, one vectorisable loop per parameter. */
#include <string.h>

#include "lower.h"

static LExpr *f(Lower *L, double v) { return cf(L, (float)v); }
static LExpr *fmul(Lower *L, LExpr *a, LExpr *b) { return le_bin(L->p, LB_MUL, a, b); }
static LExpr *fadd(Lower *L, LExpr *a, LExpr *b) { return le_bin(L->p, LB_ADD, a, b); }

/* lr(e) for epoch e (0-based), then a linear warm-up over the first epochs. */
bool lower_lr_schedule(Lower *L, const Node *n, LowerMode mode) {
  (void)mode;
  LProgram *p = L->p;
  lower_kernel(L, n, "lr", L->entries);
  const char *kind = node_attr(n, "schedule") ? node_attr(n, "schedule")->s : "constant";
  double lr = node_float(n, "lr", 0.01), gamma = node_float(n, "gamma", 0.1);
  int64_t step_epochs = node_int(n, "step_epochs", 1), warmup = node_int(n, "warmup_epochs", 0);
  LVar *e = lv_local(L, "e", DT_F32), *rate = lv_local(L, "lr", DT_F32);
  LExpr *epoch = le_cast(p, DT_F32, ld(L, vbuf(L, n->in[0]), ci(L, 0)));
  LExpr *value;
  if (strcmp(kind, "step") == 0) {
    LExpr *k = le_un(p, LU_FLOOR, le_bin(p, LB_DIV, ve(L, e), f(L, (double)step_epochs)));
    value = fmul(L, f(L, lr), le_call(p, LI_POW, f(L, gamma), k));
  } else if (strcmp(kind, "exponential") == 0) {
    value = fmul(L, f(L, lr), le_call(p, LI_POW, f(L, gamma), ve(L, e)));
  } else if (strcmp(kind, "cosine") == 0) {
    /* min + (lr - min) (1 + cos(pi t)) / 2, t = min(e / epochs, 1) */
    double min_lr = node_float(n, "min_lr", 0), epochs = (double)node_int(n, "epochs", 1);
    LExpr *t = le_bin(p, LB_MIN, le_bin(p, LB_DIV, ve(L, e), f(L, epochs)), f(L, 1));
    LExpr *c = le_un(p, LU_COS, fmul(L, t, f(L, 3.14159265358979323846)));
    value = fadd(L, f(L, min_lr), fmul(L, f(L, (lr - min_lr) / 2), fadd(L, f(L, 1), c)));
  } else {
    value = f(L, lr);
  }
  /* The epoch is read only by schedules that use it (no unused locals in
   * the emitted C). */
  bool uses_epoch = strcmp(kind, "constant") != 0 || warmup > 0;
  LStmt *body = uses_epoch ? seq(ls_let(p, e, epoch), ls_let(p, rate, value))
                           : ls_let(p, rate, value);
  if (warmup > 0) {
    LExpr *ramp = le_bin(p, LB_DIV, fadd(L, ve(L, e), f(L, 1)), f(L, (double)warmup + 1));
    body = seq(body, ls_if(p, le_bin(p, LB_LT, ve(L, e), f(L, (double)warmup)),
                           ls_assign(p, rate, fmul(L, ve(L, rate), ramp)), NULL));
  }
  lower_kernel_body(L, seq(body, ls_store(p, vbuf(L, n->out[0]), ci(L, 0), ve(L, rate))));
  return true;
}

/* SGD (PyTorch semantics): g = grad + wd * w; buf = momentum * buf + g;
 * g = nesterov ? g + momentum * buf : buf; w -= lr * g. */
bool lower_sgd(Lower *L, const Node *n, LowerMode mode) {
  (void)mode;
  LProgram *p = L->p;
  lower_kernel(L, n, "sgd", L->entries);
  double momentum = node_float(n, "momentum", 0), wd = node_float(n, "weight_decay", 0);
  bool nesterov = node_int(n, "nesterov", 0) != 0;
  LBuffer *w = vbuf(L, n->in[0]), *grad = vbuf(L, n->in[1]), *lrb = vbuf(L, n->in[2]);
  LBuffer *buf = n->nin > 3 ? vbuf(L, n->in[3]) : NULL;
  LVar *i = lv_loop(L, "i"), *lr = lv_local(L, "lr", DT_F32), *g = lv_local(L, "g", DT_F32);
  LExpr *gi = ld(L, grad, ve(L, i));
  if (wd != 0) gi = fadd(L, gi, fmul(L, f(L, wd), ld(L, w, ve(L, i))));
  LStmt *body = ls_let(p, g, gi);
  if (buf && momentum != 0) {
    LVar *v = lv_local(L, "v", DT_F32);
    body = seq3(body, ls_let(p, v, fadd(L, fmul(L, f(L, momentum), ld(L, buf, ve(L, i))), ve(L, g))),
                ls_store(p, buf, ve(L, i), ve(L, v)));
    body = seq(body, ls_assign(p, g, nesterov ? fadd(L, ve(L, g), fmul(L, f(L, momentum), ve(L, v)))
                                              : ve(L, v)));
  }
  body = seq(body, ls_store(p, w, ve(L, i),
                            le_bin(p, LB_SUB, ld(L, w, ve(L, i)), fmul(L, ve(L, lr), ve(L, g)))));
  int64_t count = shape_numel(&n->in[0]->type.shape);
  lower_kernel_body(L, seq(ls_let(p, lr, ld(L, lrb, ci(L, 0))),
                           loop(L, i, ci(L, count), LHINT_VECTORIZE, body)));
  return true;
}

/* Adam (PyTorch semantics, L2 weight decay): t = step + 1;
 * m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
 * w -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps). */
bool lower_adam(Lower *L, const Node *n, LowerMode mode) {
  (void)mode;
  LProgram *p = L->p;
  lower_kernel(L, n, "adam", L->entries);
  double b1 = node_float(n, "beta1", 0.9), b2 = node_float(n, "beta2", 0.999);
  double eps = node_float(n, "eps", 1e-8), wd = node_float(n, "weight_decay", 0);
  LBuffer *w = vbuf(L, n->in[0]), *grad = vbuf(L, n->in[1]), *lrb = vbuf(L, n->in[2]);
  LBuffer *mb = vbuf(L, n->in[3]), *vb = vbuf(L, n->in[4]), *step = vbuf(L, n->in[5]);
  LVar *i = lv_loop(L, "i"), *lr = lv_local(L, "lr", DT_F32), *t = lv_local(L, "t", DT_F32);
  LVar *c1 = lv_local(L, "c1", DT_F32), *c2 = lv_local(L, "c2", DT_F32);
  LVar *g = lv_local(L, "g", DT_F32), *m = lv_local(L, "m", DT_F32), *v = lv_local(L, "v", DT_F32);
  LExpr *gi = ld(L, grad, ve(L, i));
  if (wd != 0) gi = fadd(L, gi, fmul(L, f(L, wd), ld(L, w, ve(L, i))));
  LStmt *pre = seq3(ls_let(p, lr, ld(L, lrb, ci(L, 0))),
                    ls_let(p, t, fadd(L, le_cast(p, DT_F32, ld(L, step, ci(L, 0))), f(L, 1))),
                    seq(ls_let(p, c1, le_bin(p, LB_SUB, f(L, 1), le_call(p, LI_POW, f(L, b1), ve(L, t)))),
                        ls_let(p, c2, le_bin(p, LB_SUB, f(L, 1), le_call(p, LI_POW, f(L, b2), ve(L, t))))));
  LStmt *body = seq3(ls_let(p, g, gi),
                     ls_let(p, m, fadd(L, fmul(L, f(L, b1), ld(L, mb, ve(L, i))), fmul(L, f(L, 1 - b1), ve(L, g)))),
                     ls_let(p, v, fadd(L, fmul(L, f(L, b2), ld(L, vb, ve(L, i))),
                                       fmul(L, f(L, 1 - b2), fmul(L, ve(L, g), ve(L, g))))));
  LExpr *mhat = le_bin(p, LB_DIV, ve(L, m), ve(L, c1));
  LExpr *denom = fadd(L, le_un(p, LU_SQRT, le_bin(p, LB_DIV, ve(L, v), ve(L, c2))), f(L, eps));
  LExpr *neww = le_bin(p, LB_SUB, ld(L, w, ve(L, i)), le_bin(p, LB_DIV, fmul(L, ve(L, lr), mhat), denom));
  body = seq3(body, ls_store(p, mb, ve(L, i), ve(L, m)),
              seq(ls_store(p, vb, ve(L, i), ve(L, v)), ls_store(p, w, ve(L, i), neww)));
  int64_t count = shape_numel(&n->in[0]->type.shape);
  lower_kernel_body(L, seq(pre, loop(L, i, ci(L, count), LHINT_VECTORIZE, body)));
  return true;
}

bool lower_step_increment(Lower *L, const Node *n, LowerMode mode) {
  (void)mode;
  LProgram *p = L->p;
  lower_kernel(L, n, "step", L->entries);
  LBuffer *s = vbuf(L, n->in[0]);
  lower_kernel_body(L, ls_store(p, s, ci(L, 0),
                                le_bin(p, LB_ADD, ld(L, s, ci(L, 0)), le_int(p, DT_I64, 1))));
  return true;
}
