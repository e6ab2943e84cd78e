/* The test programs of programs.h, built with the loop-IR builder. */
#include "programs.h"

#include <math.h>
#include <string.h>

static Shape shape1(int64_t d0) { return shape_of(1, (int64_t[]){d0}); }
static Shape shape2(int64_t d0, int64_t d1) { return shape_of(2, (int64_t[]){d0, d1}); }
static Shape scalar(void) { return shape_of(0, NULL); }

static LExpr *i32(LProgram *p, int64_t v) { return le_int(p, DT_I32, v); }
static LExpr *var(LProgram *p, LVar *v) { return le_var(p, v); }
static LExpr *add(LProgram *p, LExpr *a, LExpr *b) { return le_bin(p, LB_ADD, a, b); }
static LExpr *mul(LProgram *p, LExpr *a, LExpr *b) { return le_bin(p, LB_MUL, a, b); }
/* a * k + b, the usual flat index. */
static LExpr *idx2(LProgram *p, LVar *a, int64_t k, LExpr *b) {
  return add(p, mul(p, var(p, a), i32(p, k)), b);
}
static LVar *loopvar(LProgram *p, const char *name) { return lprog_var(p, name, DT_I32, LVAR_LOOP); }
static LVar *local(LProgram *p, const char *name, DType t) { return lprog_var(p, name, t, LVAR_LOCAL); }
static LStmt *loop(LProgram *p, LVar *v, int64_t lo, LExpr *hi, unsigned hints, LStmt *body) {
  return ls_for(p, v, i32(p, lo), hi, 1, hints, body);
}
static LStmt *seq(LStmt *a, LStmt *b) {
  LBlock blk = {0};
  lblock_add(&blk, a);
  lblock_add(&blk, b);
  return blk.first;
}

void plan_offsets(LProgram *p) {
  int64_t at[2] = {0, 0};
  for (int i = 0; i < p->nbuffers; i++) {
    LBuffer *b = p->buffers[i];
    if (b->home == LBUF_ARG) continue;
    int h = b->home == LBUF_STATE ? 0 : 1;
    b->offset = at[h];
    at[h] += (shape_numel(&b->shape) * (int64_t)dtype_size(b->dtype) + 63) / 64 * 64;
  }
  p->state_bytes = at[0];
  p->work_bytes = at[1];
}

/* Arguments shared by every test program: x, y, pred, n, seed, loss. */
typedef struct Common {
  LBuffer *x, *y, *pred, *loss;
  LVar *n, *seed;
} Common;

static Common common(LProgram *p, int batch, int64_t features) {
  Common c;
  c.x = lprog_buffer(p, "x", DT_F32, shape2(batch, features), LBUF_ARG, LROLE_NONE);
  c.x->readonly = true;
  c.y = lprog_buffer(p, "y", DT_I32, shape1(batch), LBUF_ARG, LROLE_NONE);
  c.y->readonly = true;
  c.pred = lprog_buffer(p, "pred", DT_I32, shape1(batch), LBUF_ARG, LROLE_NONE);
  c.pred->optional = true;
  c.loss = lprog_buffer(p, "loss", DT_F32, scalar(), LBUF_WORK, LROLE_NONE);
  c.n = lprog_var(p, "n", DT_I32, LVAR_ARG);
  c.seed = lprog_var(p, "seed", DT_I64, LVAR_ARG);
  p->input = c.x;
  p->label = c.y;
  p->pred = c.pred;
  p->loss = c.loss;
  return c;
}

/* ---- softmax regression --------------------------------------------- */

typedef struct Sm {
  LProgram *p;
  Common c;
  LBuffer *w, *b, *steps, *logits, *dlogits, *dw, *db;
} Sm;

static LKernel *sm_init(Sm *s) {
  LProgram *p = s->p;
  LKernel *k = lprog_kernel(p, "init_w", "dense fc (init he)", (SrcLoc){"model.net", 3, 8});
  LVar *i = loopvar(p, "i");
  LExpr *u = le_call(p, LI_HASH_UNIFORM, var(p, s->c.seed), le_cast(p, DT_I64, var(p, i)));
  LExpr *v = mul(p, le_bin(p, LB_SUB, u, le_f32(p, 0.5f)), le_f32(p, SM_INIT_SCALE));
  k->body = loop(p, i, 0, i32(p, SM_C * SM_D), LHINT_VECTORIZE, ls_store(p, s->w, var(p, i), v));
  return k;
}

/* logits[s,c] = b[c] + sum_k x[s,k] w[c,k] */
static LKernel *sm_forward(Sm *s) {
  LProgram *p = s->p;
  LKernel *k = lprog_kernel(p, "fc_fwd", "dense fc", (SrcLoc){"model.net", 3, 8});
  LVar *si = loopvar(p, "s"), *ci = loopvar(p, "c"), *ki = loopvar(p, "k");
  LVar *acc = local(p, "acc", DT_F32);
  LExpr *xv = le_load(p, s->c.x, idx2(p, si, SM_D, var(p, ki)));
  LExpr *wv = le_load(p, s->w, idx2(p, ci, SM_D, var(p, ki)));
  LStmt *inner = loop(p, ki, 0, i32(p, SM_D), LHINT_UNROLL,
                      ls_assign(p, acc, add(p, var(p, acc), mul(p, xv, wv))));
  LStmt *body = seq(ls_let(p, acc, le_load(p, s->b, var(p, ci))),
                    seq(inner, ls_store(p, s->logits, idx2(p, si, SM_C, var(p, ci)), var(p, acc))));
  k->body = loop(p, si, 0, var(p, s->c.n), 0, loop(p, ci, 0, i32(p, SM_C), 0, body));
  return k;
}

/* am = argmax_c logits[s,c]; m and am are the running max and index. */
static LStmt *sm_argmax_of(Sm *s, LVar *si, LVar *m, LVar *am) {
  LProgram *p = s->p;
  LVar *ci = loopvar(p, "c");
  LExpr *lv = le_load(p, s->logits, idx2(p, si, SM_C, var(p, ci)));
  LStmt *upd = ls_if(p, le_bin(p, LB_GT, lv, var(p, m)),
                     seq(ls_assign(p, m, le_load(p, s->logits, idx2(p, si, SM_C, var(p, ci)))),
                         ls_assign(p, am, var(p, ci))),
                     NULL);
  LStmt *init = seq(ls_let(p, m, le_load(p, s->logits, idx2(p, si, SM_C, i32(p, 0)))),
                    ls_let(p, am, i32(p, 0)));
  return seq(init, loop(p, ci, 1, i32(p, SM_C), 0, upd));
}

/* ... and pred[s] = am. */
static LStmt *sm_argmax(Sm *s, LVar *si, LVar *m, LVar *am) {
  return seq(sm_argmax_of(s, si, m, am), ls_store(s->p, s->c.pred, var(s->p, si), var(s->p, am)));
}

static LKernel *sm_predict(Sm *s) {
  LProgram *p = s->p;
  LKernel *k = lprog_kernel(p, "argmax", "argmax of fc", (SrcLoc){"model.net", 4, 3});
  LVar *si = loopvar(p, "s");
  k->body = loop(p, si, 0, var(p, s->c.n), 0,
                 sm_argmax(s, si, local(p, "m", DT_F32), local(p, "am", DT_I32)));
  return k;
}

/* loss = mean(logsumexp - logit[y]); dlogits = (softmax - onehot) / n. */
static LKernel *sm_loss(Sm *s) {
  LProgram *p = s->p;
  LKernel *k = lprog_kernel(p, "sce", "softmax_cross_entropy loss", (SrcLoc){"model.net", 4, 3});
  LVar *si = loopvar(p, "s"), *c1 = loopvar(p, "c"), *c2 = loopvar(p, "c");
  LVar *total = local(p, "total", DT_F32), *m = local(p, "m", DT_F32);
  LVar *am = local(p, "am", DT_I32), *sum = local(p, "sum", DT_F32);
  LExpr *nf = le_cast(p, DT_F32, var(p, s->c.n));
  LExpr *yv = le_load(p, s->c.y, var(p, si));
  LExpr *e1 = le_un(p, LU_EXP, le_bin(p, LB_SUB, le_load(p, s->logits, idx2(p, si, SM_C, var(p, c1))), var(p, m)));
  LStmt *sum_loop = loop(p, c1, 0, i32(p, SM_C), 0, ls_assign(p, sum, add(p, var(p, sum), e1)));
  LExpr *lse = add(p, var(p, m), le_un(p, LU_LOG, var(p, sum)));
  LExpr *ly = le_load(p, s->logits, idx2(p, si, SM_C, yv));
  LStmt *acc = ls_assign(p, total, add(p, var(p, total), le_bin(p, LB_SUB, lse, ly)));
  LExpr *e2 = le_un(p, LU_EXP, le_bin(p, LB_SUB, le_load(p, s->logits, idx2(p, si, SM_C, var(p, c2))), var(p, m)));
  LExpr *onehot = le_select(p, le_bin(p, LB_EQ, var(p, c2), le_load(p, s->c.y, var(p, si))),
                            le_f32(p, 1.0f), le_f32(p, 0.0f));
  LExpr *g = le_bin(p, LB_DIV, le_bin(p, LB_SUB, le_bin(p, LB_DIV, e2, var(p, sum)), onehot), nf);
  LStmt *grad = loop(p, c2, 0, i32(p, SM_C), 0, ls_store(p, s->dlogits, idx2(p, si, SM_C, var(p, c2)), g));
  LStmt *body = seq(sm_argmax(s, si, m, am),
                    seq(ls_let(p, sum, le_f32(p, 0.0f)), seq(sum_loop, seq(acc, grad))));
  k->body = seq(ls_let(p, total, le_f32(p, 0.0f)),
                seq(loop(p, si, 0, var(p, s->c.n), 0, body),
                    ls_store(p, s->c.loss, i32(p, 0), le_bin(p, LB_DIV, var(p, total), nf))));
  return k;
}

/* eval: the summed cross-entropy (logsumexp - logit[y]) and the number of
 * samples whose argmax is their label. */
static LKernel *sm_eval(Sm *s) {
  LProgram *p = s->p;
  LKernel *k = lprog_kernel(p, "sce_eval", "eval", (SrcLoc){"model.net", 4, 3});
  LVar *si = loopvar(p, "s"), *c1 = loopvar(p, "c");
  LVar *total = local(p, "total", DT_F32), *m = local(p, "m", DT_F32);
  LVar *am = local(p, "am", DT_I32), *sum = local(p, "sum", DT_F32);
  LVar *right = local(p, "right", DT_I32);
  LExpr *yv = le_load(p, s->c.y, var(p, si));
  LExpr *e1 = le_un(p, LU_EXP, le_bin(p, LB_SUB, le_load(p, s->logits, idx2(p, si, SM_C, var(p, c1))), var(p, m)));
  LStmt *sum_loop = loop(p, c1, 0, i32(p, SM_C), 0, ls_assign(p, sum, add(p, var(p, sum), e1)));
  LExpr *lse = add(p, var(p, m), le_un(p, LU_LOG, var(p, sum)));
  LExpr *ly = le_load(p, s->logits, idx2(p, si, SM_C, yv));
  LStmt *body = seq(sm_argmax_of(s, si, m, am),
                    seq(ls_let(p, sum, le_f32(p, 0.0f)),
                        seq(sum_loop,
                            seq(ls_assign(p, total, add(p, var(p, total), le_bin(p, LB_SUB, lse, ly))),
                                ls_assign(p, right, add(p, var(p, right),
                                                        le_bin(p, LB_EQ, var(p, am),
                                                               le_load(p, s->c.y, var(p, si)))))))));
  k->body = seq(seq(ls_let(p, total, le_f32(p, 0.0f)), ls_let(p, right, i32(p, 0))),
                seq(loop(p, si, 0, var(p, s->c.n), 0, body),
                    seq(ls_store(p, p->eval_loss, i32(p, 0), var(p, total)),
                        ls_store(p, p->eval_correct, i32(p, 0), var(p, right)))));
  return k;
}

/* dw[c,k] = sum_s dlogits[s,c] x[s,k]; db[c] = sum_s dlogits[s,c]. */
static LKernel *sm_grads(Sm *s) {
  LProgram *p = s->p;
  LKernel *k = lprog_kernel(p, "fc_dw", "dense fc (backward)", (SrcLoc){"model.net", 3, 8});
  LVar *ci = loopvar(p, "c"), *ki = loopvar(p, "k"), *si = loopvar(p, "s"), *s2 = loopvar(p, "s");
  LVar *acc = local(p, "acc", DT_F32), *acc2 = local(p, "acc", DT_F32);
  LExpr *d = le_load(p, s->dlogits, idx2(p, si, SM_C, var(p, ci)));
  LExpr *xv = le_load(p, s->c.x, idx2(p, si, SM_D, var(p, ki)));
  LStmt *sl = loop(p, si, 0, var(p, s->c.n), 0, ls_assign(p, acc, add(p, var(p, acc), mul(p, d, xv))));
  LStmt *kbody = seq(ls_let(p, acc, le_f32(p, 0.0f)),
                     seq(sl, ls_store(p, s->dw, idx2(p, ci, SM_D, var(p, ki)), var(p, acc))));
  LExpr *d2 = le_load(p, s->dlogits, idx2(p, s2, SM_C, var(p, ci)));
  LStmt *bl = loop(p, s2, 0, var(p, s->c.n), 0, ls_assign(p, acc2, add(p, var(p, acc2), d2)));
  LStmt *cbody = seq(loop(p, ki, 0, i32(p, SM_D), 0, kbody),
                     seq(ls_let(p, acc2, le_f32(p, 0.0f)),
                         seq(bl, ls_store(p, s->db, var(p, ci), var(p, acc2)))));
  k->body = loop(p, ci, 0, i32(p, SM_C), 0, cbody);
  return k;
}

static LKernel *sm_sgd(Sm *s) {
  LProgram *p = s->p;
  LKernel *k = lprog_kernel(p, "sgd", "optimizer sgd", (SrcLoc){NULL, 0, 0});
  LVar *i = loopvar(p, "i"), *j = loopvar(p, "i");
  LExpr *nw = le_bin(p, LB_SUB, le_load(p, s->w, var(p, i)),
                     mul(p, le_f32(p, SM_LR), le_load(p, s->dw, var(p, i))));
  LExpr *nb = le_bin(p, LB_SUB, le_load(p, s->b, var(p, j)),
                     mul(p, le_f32(p, SM_LR), le_load(p, s->db, var(p, j))));
  LExpr *st = add(p, le_load(p, s->steps, i32(p, 0)), i32(p, 1));
  k->body = seq(loop(p, i, 0, i32(p, SM_C * SM_D), LHINT_VECTORIZE, ls_store(p, s->w, var(p, i), nw)),
                seq(loop(p, j, 0, i32(p, SM_C), LHINT_VECTORIZE | LHINT_UNROLL, ls_store(p, s->b, var(p, j), nb)),
                    ls_store(p, s->steps, i32(p, 0), st)));
  return k;
}

LProgram *prog_softmax(Arena *a) {
  Sm s = {0};
  LProgram *p = s.p = lprog_new(a, "t", SM_BATCH);
  s.c = common(p, SM_BATCH, SM_D);
  p->num_classes = SM_C;
  s.w = lprog_buffer(p, "fc.weight", DT_F32, shape2(SM_C, SM_D), LBUF_STATE, LROLE_PARAM);
  s.b = lprog_buffer(p, "fc.bias", DT_F32, shape1(SM_C), LBUF_STATE, LROLE_PARAM);
  s.steps = lprog_buffer(p, "step", DT_I32, scalar(), LBUF_STATE, LROLE_INTERNAL);
  s.logits = lprog_buffer(p, "logits", DT_F32, shape2(SM_BATCH, SM_C), LBUF_WORK, LROLE_NONE);
  s.dlogits = lprog_buffer(p, "logits.grad", DT_F32, shape2(SM_BATCH, SM_C), LBUF_WORK, LROLE_NONE);
  s.dw = lprog_buffer(p, "fc.weight.grad", DT_F32, shape2(SM_C, SM_D), LBUF_WORK, LROLE_NONE);
  s.db = lprog_buffer(p, "fc.bias.grad", DT_F32, shape1(SM_C), LBUF_WORK, LROLE_NONE);
  p->eval_loss = lprog_buffer(p, "eval.loss_sum", DT_F32, scalar(), LBUF_WORK, LROLE_NONE);
  p->eval_correct = lprog_buffer(p, "eval.correct", DT_I32, scalar(), LBUF_WORK, LROLE_NONE);
  LKernel *init = sm_init(&s), *fwd = sm_forward(&s), *loss = sm_loss(&s);
  LKernel *grads = sm_grads(&s), *sgd = sm_sgd(&s), *pred = sm_predict(&s);
  LKernel *eval = sm_eval(&s);
  lprog_call(p, LENTRY_INIT, init);
  lprog_call(p, LENTRY_TRAIN_STEP, fwd);
  lprog_call(p, LENTRY_TRAIN_STEP, loss);
  lprog_call(p, LENTRY_TRAIN_STEP, grads);
  lprog_call(p, LENTRY_TRAIN_STEP, sgd);
  lprog_call(p, LENTRY_PREDICT, fwd);
  lprog_call(p, LENTRY_PREDICT, pred);
  lprog_call(p, LENTRY_EVAL, fwd);
  lprog_call(p, LENTRY_EVAL, eval);
  plan_offsets(p);
  return p;
}

/* ---- integer operations --------------------------------------------- */

static const DType int_types[5] = {DT_I8, DT_I16, DT_I32, DT_I64, DT_U8};

static LExpr *nonzero(LProgram *p, DType t, LExpr *a) {
  return t == DT_I32 ? a : le_bin(p, LB_NE, a, le_int(p, t, 0));
}

static LExpr *int_op(LProgram *p, IntOp op, DType t, LExpr *a, LExpr *b) {
  static const LBinOp bops[] = {
      [IO_ADD] = LB_ADD, [IO_SUB] = LB_SUB, [IO_MUL] = LB_MUL, [IO_DIV] = LB_DIV,
      [IO_REM] = LB_REM, [IO_MIN] = LB_MIN, [IO_MAX] = LB_MAX, [IO_AND] = LB_AND,
      [IO_OR] = LB_OR,   [IO_XOR] = LB_XOR, [IO_LT] = LB_LT,   [IO_LE] = LB_LE,
      [IO_GT] = LB_GT,   [IO_GE] = LB_GE,   [IO_EQ] = LB_EQ,   [IO_NE] = LB_NE};
  switch (op) {
  case IO_SHL: case IO_SHR: /* counts b & 7: always inside the width */
    return le_bin(p, op == IO_SHL ? LB_SHL : LB_SHR, a, le_bin(p, LB_AND, b, le_int(p, t, 7)));
  case IO_NEG: return le_un(p, LU_NEG, a);
  case IO_NOT: return le_cast(p, t, le_un(p, LU_NOT, nonzero(p, t, a)));
  case IO_LAND: case IO_LOR: /* logical operators take i32 conditions */
    return le_cast(p, t, le_bin(p, op == IO_LAND ? LB_LAND : LB_LOR, nonzero(p, t, a), nonzero(p, t, b)));
  case IO_ABS: return le_un(p, LU_ABS, a);
  case IO_SELECT: return le_select(p, le_bin(p, LB_LT, a, b), b, a);
  case IO_SUMHALF: return le_bin(p, LB_DIV, le_bin(p, LB_ADD, a, b), le_int(p, t, 2));
  case IO_SHLSHR:
    return le_bin(p, LB_SHR, le_bin(p, LB_SHL, a, le_int(p, t, 3)), le_int(p, t, 3));
  default: {
    LExpr *e = le_bin(p, bops[op], a, b);
    return e->type == t ? e : le_cast(p, t, e);
  }
  }
}

static LKernel *int_kernel(LProgram *p, DType t, LBuffer *a, LBuffer *b, LBuffer *o) {
  LKernel *k = lprog_kernel(p, arena_printf(p->arena, "ops_%s", dtype_name(t)), "intops", (SrcLoc){0});
  LVar *i = loopvar(p, "i");
  LVar *av = local(p, "a", t), *bv = local(p, "b", t);
  LBlock blk = {0};
  lblock_add(&blk, ls_let(p, av, le_load(p, a, var(p, i))));
  lblock_add(&blk, ls_let(p, bv, le_load(p, b, var(p, i))));
  for (int op = 0; op < IO_NOPS; op++)
    lblock_add(&blk, ls_store(p, o, idx2(p, i, IO_NOPS, i32(p, op)),
                              int_op(p, (IntOp)op, t, var(p, av), var(p, bv))));
  k->body = loop(p, i, 0, i32(p, IO_N), t == DT_I32 ? LHINT_VECTORIZE : 0, blk.first);
  return k;
}

static LKernel *cast_kernel(LProgram *p, LBuffer **srcs, LBuffer **dsts) {
  LKernel *k = lprog_kernel(p, "casts", "casts", (SrcLoc){0});
  LVar *i = loopvar(p, "i");
  LBlock blk = {0};
  for (int d = 0; d < 5; d++)
    for (int s = 0; s < 6; s++)
      lblock_add(&blk, ls_store(p, dsts[d], idx2(p, i, 6, i32(p, s)),
                                le_cast(p, int_types[d], le_load(p, srcs[s], var(p, i)))));
  k->body = loop(p, i, 0, i32(p, IO_N), LHINT_UNROLL, blk.first);
  return k;
}

/* loss = number of i32 sums a+b that are positive: an int-to-float path. */
static LKernel *int_loss(LProgram *p, Common *c, LBuffer *a, LBuffer *b) {
  LKernel *k = lprog_kernel(p, "count", "loss", (SrcLoc){0});
  LVar *i = loopvar(p, "i"), *cnt = local(p, "cnt", DT_I32);
  LExpr *pos = le_bin(p, LB_GT, add(p, le_load(p, a, var(p, i)), le_load(p, b, var(p, i))), i32(p, 0));
  k->body = seq(ls_let(p, cnt, i32(p, 0)),
                seq(loop(p, i, 0, i32(p, IO_N), 0, ls_assign(p, cnt, add(p, var(p, cnt), pos))),
                    ls_store(p, c->loss, i32(p, 0), le_cast(p, DT_F32, var(p, cnt)))));
  return k;
}

LProgram *prog_intops(Arena *a) {
  LProgram *p = lprog_new(a, "t", 4);
  Common c = common(p, 4, 1);
  LBuffer *srcs[6], *dsts[5];
  LKernel *ks[5];
  for (int ti = 0; ti < 5; ti++) {
    DType t = int_types[ti];
    const char *n = dtype_name(t);
    LBuffer *av = lprog_buffer(p, arena_printf(a, "a_%s", n), t, shape1(IO_N), LBUF_STATE, LROLE_PARAM);
    LBuffer *bv = lprog_buffer(p, arena_printf(a, "b_%s", n), t, shape1(IO_N), LBUF_STATE, LROLE_PARAM);
    LBuffer *ov = lprog_buffer(p, arena_printf(a, "o_%s", n), t, shape1(IO_N * IO_NOPS),
                               LBUF_STATE, LROLE_BUFFER);
    dsts[ti] = lprog_buffer(p, arena_printf(a, "c_%s", n), t, shape1(IO_N * 6), LBUF_STATE,
                            LROLE_BUFFER);
    srcs[ti] = av;
    ks[ti] = int_kernel(p, t, av, bv, ov);
  }
  srcs[5] = lprog_buffer(p, "fa", DT_F32, shape1(IO_N), LBUF_STATE, LROLE_PARAM);
  for (int ti = 0; ti < 5; ti++) lprog_call(p, LENTRY_TRAIN_STEP, ks[ti]);
  lprog_call(p, LENTRY_TRAIN_STEP, cast_kernel(p, srcs, dsts));
  lprog_call(p, LENTRY_TRAIN_STEP,
             int_loss(p, &c, lprog_find_buffer(p, "a_i32"), lprog_find_buffer(p, "b_i32")));
  plan_offsets(p);
  return p;
}

/* ---- float operations ----------------------------------------------- */

const float fc_values[FC_N] = {0.1f, -0.0f, 1e-45f, 3.40282347e38f, -2.5f, 16777217.0f,
                               1.17549435e-38f, 7.0f, -INFINITY};

static LExpr *float_op(LProgram *p, FloatOp op, LExpr *a, LExpr *b) {
  switch (op) {
  case FO_ADD: return le_bin(p, LB_ADD, a, b);
  case FO_SUB: return le_bin(p, LB_SUB, a, b);
  case FO_MUL: return le_bin(p, LB_MUL, a, b);
  case FO_DIV: return le_bin(p, LB_DIV, a, b);
  case FO_REM: return le_bin(p, LB_REM, a, b);
  case FO_MIN: return le_bin(p, LB_MIN, a, b);
  case FO_MAX: return le_bin(p, LB_MAX, a, b);
  case FO_NEG: return le_un(p, LU_NEG, a);
  case FO_ABS: return le_un(p, LU_ABS, a);
  case FO_EXP: return le_un(p, LU_EXP, a);
  case FO_LOG: return le_un(p, LU_LOG, b);
  case FO_SQRT: return le_un(p, LU_SQRT, b);
  case FO_FLOOR: return le_un(p, LU_FLOOR, a);
  case FO_COS: return le_un(p, LU_COS, a);
  case FO_ROUND: return le_call(p, LI_ROUND_EVEN, a, NULL);
  case FO_POW: return le_call(p, LI_POW, b, a);
  case FO_LT: return le_cast(p, DT_F32, le_bin(p, LB_LT, a, b));
  case FO_GE: return le_cast(p, DT_F32, le_bin(p, LB_GE, a, b));
  case FO_NE: return le_cast(p, DT_F32, le_bin(p, LB_NE, a, b));
  case FO_SELECT: return le_select(p, le_bin(p, LB_GT, a, b), a, le_un(p, LU_NEG, b));
  case FO_FROM_I32: return le_cast(p, DT_F32, le_cast(p, DT_I32, mul(p, a, le_f32(p, 100.0f))));
  default: return le_f32(p, 0.0f);
  }
}

LProgram *prog_floatops(Arena *a) {
  LProgram *p = lprog_new(a, "t", 4);
  Common c = common(p, 4, 1);
  LBuffer *fa = lprog_buffer(p, "fa", DT_F32, shape1(IO_N), LBUF_STATE, LROLE_PARAM);
  LBuffer *fb = lprog_buffer(p, "fb", DT_F32, shape1(IO_N), LBUF_STATE, LROLE_PARAM);
  LBuffer *fo = lprog_buffer(p, "fo", DT_F32, shape1(IO_N * FO_NOPS), LBUF_STATE, LROLE_BUFFER);
  LBuffer *fi = lprog_buffer(p, "fi", DT_F32, shape1(IO_N), LBUF_STATE, LROLE_BUFFER);
  LBuffer *hu = lprog_buffer(p, "hu", DT_F32, shape1(IO_N), LBUF_STATE, LROLE_BUFFER);
  LBuffer *cs = lprog_buffer(p, "consts", DT_F32, shape1(FC_N), LBUF_STATE, LROLE_OPTIM);

  LKernel *k = lprog_kernel(p, "fops", "floatops", (SrcLoc){"f.net", 1, 1});
  LVar *i = loopvar(p, "i");
  LVar *av = local(p, "a", DT_F32), *bv = local(p, "b", DT_F32);
  LBlock blk = {0};
  lblock_add(&blk, ls_let(p, av, le_load(p, fa, var(p, i))));
  lblock_add(&blk, ls_let(p, bv, le_load(p, fb, var(p, i))));
  /* a local never read: legal IR, must not warn in C */
  LVar *dead = local(p, "dead", DT_F32);
  lblock_add(&blk, ls_let(p, dead, mul(p, var(p, av), le_f32(p, 2.0f))));
  lblock_add(&blk, ls_assign(p, dead, var(p, bv)));
  for (int op = 0; op < FO_NOPS; op++)
    lblock_add(&blk, ls_store(p, fo, idx2(p, i, FO_NOPS, i32(p, op)),
                              float_op(p, (FloatOp)op, var(p, av), var(p, bv))));
  lblock_add(&blk, ls_if(p, le_bin(p, LB_GT, var(p, av), le_f32(p, 0.0f)),
                         ls_store(p, fi, var(p, i), le_f32(p, 1.0f)),
                         ls_store(p, fi, var(p, i), le_f32(p, -1.0f))));
  lblock_add(&blk, ls_store(p, hu, var(p, i),
                            le_call(p, LI_HASH_UNIFORM, le_int(p, DT_I64, 12345),
                                    le_cast(p, DT_I64, var(p, i)))));
  LBlock body = {0};
  lblock_add(&body, loop(p, i, 0, i32(p, IO_N), LHINT_VECTORIZE, blk.first));
  for (int j = 0; j < FC_N; j++) lblock_add(&body, ls_store(p, cs, i32(p, j), le_f32(p, fc_values[j])));
  /* loss = 0.25f + fo[0] * 0 keeps a load from state in the loss path */
  lblock_add(&body, ls_store(p, c.loss, i32(p, 0), le_f32(p, 0.25f)));
  k->body = body.first;
  lprog_call(p, LENTRY_TRAIN_STEP, k);
  plan_offsets(p);
  return p;
}
