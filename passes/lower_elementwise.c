/* Lowering of the elementwise ops and small reductions: relu, relu6 and
 * their gradients, add, scale, bias, dropout (a counter-based mask that the
 * backward pass recomputes instead of storing), sum, sum_product.
 *
 * Loop shape of a map (every iteration independent): per sample, an inner
 * loop over the sample's elements whose trip count is a constant multiple of
 * VEC, then a constant tail. gcc 12 at -O2 (its "very cheap" vectoriser cost
 * model) leaves a loop scalar unless its trip count is a known multiple of
 * the vector width, so one flat loop to %n * per-sample stays scalar there.
 * Values a select picks between are loaded into locals first: a load under
 * `c ? load : 0` is conditional in C, which keeps gcc from if-converting
 * (and so vectorising) the loop. */
#include <string.h>

#include "lower.h"

enum { VEC = 8 };

/* Where a map kernel's loops are: element s * per + j (s only for a batched
 * value). */
typedef struct Elem {
  LVar *s, *j;
  int64_t per;
} Elem;

/* The flat index of the current element (a fresh expression per use). */
static LExpr *elem_index(Lower *L, const Elem *e) {
  if (!e->s) return ve(L, e->j);
  return add(L, mul(L, ve(L, e->s), ci(L, e->per)), ve(L, e->j));
}

/* The value of out[i] for element e; lets (locals the value reads) go into
 * *pre. Returns NULL for an op this file does not map. */
typedef LExpr *(*ElemValue)(Lower *L, const Node *n, LowerMode mode, const Elem *e, LBlock *pre);

/* out[i] = value(i) for every element of out: per sample (batched), loops of
 * a constant multiple of VEC elements and a constant tail. */
static bool map_kernel(Lower *L, const Node *n, LowerMode mode, ElemValue value) {
  const Value *out = n->out[0];
  bool batched = value_batched(out);
  int64_t per = batched ? per_sample(out) : shape_numel(&out->type.shape);
  Elem e = {batched ? lv_loop(L, "s") : NULL, NULL, per};
  int64_t main = per / VEC * VEC;
  LStmt *loops = NULL;
  for (int part = 0; part < 2; part++) {
    int64_t lo = part ? main : 0, hi = part ? per : main;
    if (lo == hi) continue;
    e.j = lv_loop(L, "i");
    LBlock body = {0};
    LExpr *v = value(L, n, mode, &e, &body);
    if (!v) return false;
    lblock_add(&body, ls_store(L->p, vbuf(L, out), elem_index(L, &e), v));
    loops = seq(loops, ls_for(L->p, e.j, ci(L, lo), ci(L, hi), 1, part ? 0 : LHINT_VECTORIZE,
                              body.first));
  }
  lower_kernel_body(L, batched ? loop(L, e.s, batch_n(L), 0, loops) : loops);
  return true;
}

/* A local holding in[k][i]: selects choose between locals, not loads. */
static LExpr *load_local(Lower *L, const Node *n, int k, const Elem *e, LBlock *pre) {
  LVar *v = lv_local(L, "v", DT_F32);
  lblock_add(pre, ls_let(L->p, v, ld(L, vbuf(L, n->in[k]), elem_index(L, e))));
  return ve(L, v);
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

/* dropout: x / (1 - rate) where the mask keeps the element, else 0; at
 * inference the identity. The backward pass (dropout_grad, "stream" names
 * the forward's mask) applies the same mask to dy. */
static LExpr *dropout_value(Lower *L, const Node *n, LowerMode mode, const Elem *e, LBlock *pre) {
  bool grad = n->op == OP_DROPOUT_GRAD;
  double rate = node_float(n, "rate", 0.5);
  LExpr *x = load_local(L, n, 0, e, pre);
  if (mode == MODE_INFER && !grad) return x;
  const char *stream = grad ? node_attr(n, "stream")->s : n->name ? n->name : op_name(n->op);
  LVar *i = lv_local(L, "i", DT_I32);
  lblock_add(pre, ls_let(L->p, i, elem_index(L, e)));
  LExpr *scaled = le_bin(L->p, LB_MUL, x, cf(L, (float)(1.0 / (1.0 - rate))));
  return le_select(L->p, keep_mask(L, stream, rate, i), scaled, cf(L, 0));
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

/* relu, relu6, their gradients (dy masked where the forward output y is
 * inside the linear range), add, scale, bias. */
static LExpr *map_value(Lower *L, const Node *n, LowerMode mode, const Elem *e, LBlock *pre) {
  LProgram *p = L->p;
  (void)mode;
  LExpr *zero = cf(L, 0);
  switch (n->op) {
  case OP_RELU: return le_bin(p, LB_MAX, ld(L, vbuf(L, n->in[0]), elem_index(L, e)), zero);
  case OP_RELU6:
    return le_bin(p, LB_MIN, le_bin(p, LB_MAX, ld(L, vbuf(L, n->in[0]), elem_index(L, e)), zero),
                  cf(L, 6));
  case OP_RELU_GRAD: {
    LExpr *dy = load_local(L, n, 0, e, pre);
    LExpr *y = ld(L, vbuf(L, n->in[1]), elem_index(L, e));
    return le_select(p, le_bin(p, LB_GT, y, cf(L, 0)), dy, zero);
  }
  case OP_RELU6_GRAD: {
    LExpr *dy = load_local(L, n, 0, e, pre);
    LExpr *y = load_local(L, n, 1, e, pre);
    LExpr *y2 = ve(L, y->var);
    LExpr *inside = le_bin(p, LB_LAND, le_bin(p, LB_GT, y, cf(L, 0)), le_bin(p, LB_LT, y2, cf(L, 6)));
    return le_select(p, inside, dy, zero);
  }
  case OP_ADD:
    return le_bin(p, LB_ADD, ld(L, vbuf(L, n->in[0]), elem_index(L, e)),
                  ld(L, vbuf(L, n->in[1]), elem_index(L, e)));
  case OP_SCALE:
    return le_bin(p, LB_MUL, ld(L, vbuf(L, n->in[0]), elem_index(L, e)),
                  ld(L, vbuf(L, n->in[1]), ci(L, 0)));
  case OP_BIAS:
    return le_bin(p, LB_ADD, ld(L, vbuf(L, n->in[0]), elem_index(L, e)),
                  ld(L, vbuf(L, n->in[1]), ci(L, 0)));
  default:
    diag_error(L->d, n->loc, "lower: no lowering for op '%s'", op_name(n->op));
    return NULL;
  }
}

bool lower_elementwise(Lower *L, const Node *n, LowerMode mode) {
  switch (n->op) {
  case OP_DROPOUT:
    lower_kernel(L, n, mode == MODE_INFER ? "infer" : "fwd", L->entries);
    return map_kernel(L, n, mode, dropout_value);
  case OP_DROPOUT_GRAD:
    lower_kernel(L, n, "dx", L->entries);
    return map_kernel(L, n, mode, dropout_value);
  case OP_SUM:
  case OP_SUM_PRODUCT: return lower_sum(L, n);
  default: break;
  }
  lower_kernel(L, n, n->op == OP_RELU_GRAD || n->op == OP_RELU6_GRAD ? "dx" : "fwd", L->entries);
  return map_kernel(L, n, mode, map_value);
}
