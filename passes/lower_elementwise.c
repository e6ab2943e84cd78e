/* Lowering of the elementwise ops and small reductions: relu, relu6 and
 * their gradients, add, scale, bias, dropout (a counter-based mask that the
 * backward pass recomputes instead of storing), sum, sum_product. One flat
 * loop over the elements, vectorisable: every iteration is independent. */
#include <string.h>

#include "lower.h"

/* out[i] = value (built over loop var i), for every element of out. */
static bool map_kernel(Lower *L, const Node *n, const char *suffix, LVar *i, LExpr *value) {
  const Value *out = n->out[0];
  LStmt *store = ls_store(L->p, vbuf(L, out), ve(L, i), value);
  lower_kernel_body(L, loop(L, i, extent(L, out), LHINT_VECTORIZE, store));
  (void)suffix;
  return true;
}

/* hash_uniform(stream ^ step, i) >= rate: the dropout keep mask. */
static LExpr *keep_mask(Lower *L, const char *stream, double rate, LVar *i) {
  LProgram *p = L->p;
  LExpr *key = le_int(p, DT_I64, name_key(stream));
  /* A new mask every step: the key mixes in the step counter (XOR: no
   * signed overflow; hash_uniform scrambles the bits). */
  if (L->step) key = le_bin(p, LB_XOR, key, le_load(p, L->step, ci(L, 0)));
  LExpr *u = le_call(p, LI_HASH_UNIFORM, key, le_cast(p, DT_I64, ve(L, i)));
  return le_bin(p, LB_GE, u, cf(L, (float)rate));
}

static bool lower_dropout(Lower *L, const Node *n, LowerMode mode, bool grad) {
  double rate = node_float(n, "rate", 0.5);
  lower_kernel(L, n, grad ? "dx" : mode == MODE_INFER ? "infer" : "fwd", L->entries);
  LVar *i = lv_loop(L, "i");
  LExpr *x = ld(L, vbuf(L, n->in[0]), ve(L, i));
  if (mode == MODE_INFER && !grad) return map_kernel(L, n, "", i, x);
  const char *stream = grad ? node_attr(n, "stream")->s : n->name ? n->name : op_name(n->op);
  LExpr *scaled = le_bin(L->p, LB_MUL, x, cf(L, (float)(1.0 / (1.0 - rate))));
  return map_kernel(L, n, "", i, le_select(L->p, keep_mask(L, stream, rate, i), scaled, cf(L, 0)));
}

/* out[0] = sum over i of a[i] (* b[i]): a scalar reduction. */
static bool lower_sum(Lower *L, const Node *n) {
  lower_kernel(L, n, "sum", L->entries);
  LVar *i = lv_loop(L, "i"), *acc = lv_local(L, "acc", DT_F32);
  LExpr *term = ld(L, vbuf(L, n->in[0]), ve(L, i));
  if (n->op == OP_SUM_PRODUCT) term = le_bin(L->p, LB_MUL, term, ld(L, vbuf(L, n->in[1]), ve(L, i)));
  LStmt *body = seq3(ls_let(L->p, acc, cf(L, 0)),
                     loop(L, i, extent(L, n->in[0]), 0,
                          ls_assign(L->p, acc, le_bin(L->p, LB_ADD, ve(L, acc), term))),
                     ls_store(L->p, vbuf(L, n->out[0]), ci(L, 0), ve(L, acc)));
  lower_kernel_body(L, body);
  return true;
}

bool lower_elementwise(Lower *L, const Node *n, LowerMode mode) {
  LProgram *p = L->p;
  switch (n->op) {
  case OP_DROPOUT: return lower_dropout(L, n, mode, false);
  case OP_DROPOUT_GRAD: return lower_dropout(L, n, mode, true);
  case OP_SUM:
  case OP_SUM_PRODUCT: return lower_sum(L, n);
  default: break;
  }
  lower_kernel(L, n, n->op == OP_RELU_GRAD || n->op == OP_RELU6_GRAD ? "dx" : "fwd", L->entries);
  LVar *i = lv_loop(L, "i");
  LExpr *a = ld(L, vbuf(L, n->in[0]), ve(L, i));
  LExpr *zero = cf(L, 0);
  switch (n->op) {
  case OP_RELU: return map_kernel(L, n, "", i, le_bin(p, LB_MAX, a, zero));
  case OP_RELU6:
    return map_kernel(L, n, "", i, le_bin(p, LB_MIN, le_bin(p, LB_MAX, a, zero), cf(L, 6)));
  case OP_RELU_GRAD: {
    LExpr *y = ld(L, vbuf(L, n->in[1]), ve(L, i));
    return map_kernel(L, n, "", i, le_select(p, le_bin(p, LB_GT, y, cf(L, 0)), a, zero));
  }
  case OP_RELU6_GRAD: {
    LExpr *y = ld(L, vbuf(L, n->in[1]), ve(L, i));
    LExpr *y2 = ld(L, vbuf(L, n->in[1]), ve(L, i));
    LExpr *inside = le_bin(p, LB_LAND, le_bin(p, LB_GT, y, cf(L, 0)), le_bin(p, LB_LT, y2, cf(L, 6)));
    return map_kernel(L, n, "", i, le_select(p, inside, a, zero));
  }
  case OP_ADD:
    return map_kernel(L, n, "", i, le_bin(p, LB_ADD, a, ld(L, vbuf(L, n->in[1]), ve(L, i))));
  case OP_SCALE:
    return map_kernel(L, n, "", i, le_bin(p, LB_MUL, a, ld(L, vbuf(L, n->in[1]), ci(L, 0))));
  case OP_BIAS:
    return map_kernel(L, n, "", i, le_bin(p, LB_ADD, a, ld(L, vbuf(L, n->in[1]), ci(L, 0))));
  default:
    diag_error(L->d, n->loc, "lower: no lowering for op '%s'", op_name(n->op));
    return false;
  }
}
