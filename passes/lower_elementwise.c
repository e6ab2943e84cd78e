/* Lowering of the elementwise ops and small reductions: relu, relu6,
 * leaky_relu and their gradients, add, scale, bias, dropout (a counter-based
 * mask that the backward pass recomputes instead of storing), sum,
 * sum_product. Each op is a function giving the value of one element; one
 * map kernel puts it in loops.
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
  lblock_add(pre, ls_let(L->p, v, ld_f32(L, vbuf(L, n->in[k]), elem_index(L, e))));
  return ve(L, v);
}

/* hash_uniform(hash_bits(stream ^ seed, step), i) >= rate: the dropout
 * keep mask. A new mask every step and for every seed: the run's seed
 * (kept in the state by init) picks the stream, hash_bits mixes in the
 * step (XOR, not arithmetic: no signed overflow; splitmix64 scrambles
 * the bits, so seed s at step t shares no mask with seed s' at step t'). */
static LExpr *keep_mask(Lower *L, const char *stream, double rate, LVar *i) {
  LProgram *p = L->p;
  LExpr *key = le_int(p, DT_I64, name_key(stream));
  if (L->dropout_seed) key = le_bin(p, LB_XOR, key, le_load(p, L->dropout_seed, ci(L, 0)));
  LExpr *step = L->step ? le_load(p, L->step, ci(L, 0)) : le_int(p, DT_I64, 0);
  key = le_cast(p, DT_I64, le_call(p, LI_HASH_BITS, key, step));
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
bool lower_sum(Lower *L, const Node *n, LowerMode mode) {
  (void)mode;
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

/* One element of operand k. */
static LExpr *elem(Lower *L, const Node *n, int k, const Elem *e) {
  return ld_f32(L, vbuf(L, n->in[k]), elem_index(L, e));
}

static LExpr *relu_value(Lower *L, const Node *n, LowerMode mode, const Elem *e, LBlock *pre) {
  (void)mode, (void)pre;
  return le_bin(L->p, LB_MAX, elem(L, n, 0, e), cf(L, 0));
}

static LExpr *relu6_value(Lower *L, const Node *n, LowerMode mode, const Elem *e, LBlock *pre) {
  (void)mode, (void)pre;
  LProgram *p = L->p;
  return le_bin(p, LB_MIN, le_bin(p, LB_MAX, elem(L, n, 0, e), cf(L, 0)), cf(L, 6));
}

/* x where x > 0, alpha * x elsewhere. */
static LExpr *leaky_relu_value(Lower *L, const Node *n, LowerMode mode, const Elem *e,
                               LBlock *pre) {
  (void)mode;
  LProgram *p = L->p;
  LExpr *x = load_local(L, n, 0, e, pre);
  LExpr *scaled = le_bin(p, LB_MUL, ve(L, x->var), cf(L, (float)node_float(n, "alpha", 0.01)));
  return le_select(p, le_bin(p, LB_GT, x, cf(L, 0)), ve(L, x->var), scaled);
}

/* The gradients: dy where the forward output y is inside the linear range. */
static LExpr *relu_grad_value(Lower *L, const Node *n, LowerMode mode, const Elem *e,
                              LBlock *pre) {
  (void)mode;
  return relu_mask(L, elem(L, n, 1, e), load_local(L, n, 0, e, pre));
}

LExpr *relu_mask(Lower *L, LExpr *y, LExpr *dy) {
  return le_select(L->p, le_bin(L->p, LB_GT, y, cf(L, 0)), dy, cf(L, 0));
}

static LExpr *relu6_grad_value(Lower *L, const Node *n, LowerMode mode, const Elem *e,
                               LBlock *pre) {
  (void)mode;
  LProgram *p = L->p;
  LExpr *dy = load_local(L, n, 0, e, pre);
  LExpr *y = load_local(L, n, 1, e, pre);
  LExpr *y2 = ve(L, y->var);
  LExpr *inside = le_bin(p, LB_LAND, le_bin(p, LB_GT, y, cf(L, 0)), le_bin(p, LB_LT, y2, cf(L, 6)));
  return le_select(p, inside, dy, cf(L, 0));
}

/* dy where y > 0, alpha * dy elsewhere (y and x have the same sign for
 * alpha > 0). */
static LExpr *leaky_relu_grad_value(Lower *L, const Node *n, LowerMode mode, const Elem *e,
                                    LBlock *pre) {
  (void)mode;
  LProgram *p = L->p;
  LExpr *dy = load_local(L, n, 0, e, pre);
  LExpr *scaled = le_bin(p, LB_MUL, ve(L, dy->var), cf(L, (float)node_float(n, "alpha", 0.01)));
  return le_select(p, le_bin(p, LB_GT, elem(L, n, 1, e), cf(L, 0)), ve(L, dy->var), scaled);
}

static LExpr *add_value(Lower *L, const Node *n, LowerMode mode, const Elem *e, LBlock *pre) {
  (void)mode, (void)pre;
  return le_bin(L->p, LB_ADD, elem(L, n, 0, e), elem(L, n, 1, e));
}

/* scale and bias: x and the scalar parameter. */
static LExpr *scale_value(Lower *L, const Node *n, LowerMode mode, const Elem *e, LBlock *pre) {
  (void)mode, (void)pre;
  return le_bin(L->p, LB_MUL, elem(L, n, 0, e), ld(L, vbuf(L, n->in[1]), ci(L, 0)));
}

static LExpr *bias_value(Lower *L, const Node *n, LowerMode mode, const Elem *e, LBlock *pre) {
  (void)mode, (void)pre;
  return le_bin(L->p, LB_ADD, elem(L, n, 0, e), ld(L, vbuf(L, n->in[1]), ci(L, 0)));
}

/* A map kernel named <layer>_<suffix>. */
static bool map_op(Lower *L, const Node *n, LowerMode mode, const char *suffix, ElemValue value) {
  lower_kernel(L, n, suffix, L->entries);
  return map_kernel(L, n, mode, value);
}

bool lower_relu(Lower *L, const Node *n, LowerMode mode) {
  return map_op(L, n, mode, "fwd", relu_value);
}

bool lower_relu6(Lower *L, const Node *n, LowerMode mode) {
  return map_op(L, n, mode, "fwd", relu6_value);
}

bool lower_leaky_relu(Lower *L, const Node *n, LowerMode mode) {
  return map_op(L, n, mode, "fwd", leaky_relu_value);
}

bool lower_relu_grad(Lower *L, const Node *n, LowerMode mode) {
  return map_op(L, n, mode, "dx", relu_grad_value);
}

bool lower_relu6_grad(Lower *L, const Node *n, LowerMode mode) {
  return map_op(L, n, mode, "dx", relu6_grad_value);
}

bool lower_leaky_relu_grad(Lower *L, const Node *n, LowerMode mode) {
  return map_op(L, n, mode, "dx", leaky_relu_grad_value);
}

bool lower_add(Lower *L, const Node *n, LowerMode mode) {
  return map_op(L, n, mode, "fwd", add_value);
}

bool lower_scale(Lower *L, const Node *n, LowerMode mode) {
  return map_op(L, n, mode, "fwd", scale_value);
}

bool lower_bias(Lower *L, const Node *n, LowerMode mode) {
  return map_op(L, n, mode, "fwd", bias_value);
}

bool lower_dropout(Lower *L, const Node *n, LowerMode mode) {
  return map_op(L, n, mode, mode == MODE_INFER ? "infer" : "fwd", dropout_value);
}

bool lower_dropout_grad(Lower *L, const Node *n, LowerMode mode) {
  return map_op(L, n, mode, "dx", dropout_value);
}

/* (p / 255 - mean) / std for the 256 byte values, as the runtime computed
 * them before the program did (mean and std as floats, the arithmetic in
 * double): a table lookup per pixel gives the very same floats. */
static LBuffer *normalize_table(Lower *L, const Node *n) {
  const char *name = arena_printf(L->p->arena, "%s.table", n->out[0]->name);
  LBuffer *t = lprog_find_buffer(L->p, name);
  if (t) return t;
  float lut[256];
  double mean = (float)node_float(n, "mean", 0.5), sd = (float)node_float(n, "std", 0.5);
  for (int v = 0; v < 256; v++) lut[v] = (float)(((double)v / 255.0 - mean) / sd);
  int64_t dims[1] = {256};
  return lprog_const_buffer(L->p, name, DT_F32, shape_of(1, dims), lut);
}

static LExpr *normalize_value(Lower *L, const Node *n, LowerMode mode, const Elem *e,
                              LBlock *pre) {
  (void)mode, (void)pre;
  LExpr *pixel = le_cast(L->p, DT_I32, elem(L, n, 0, e));
  return ld(L, normalize_table(L, n), pixel);
}

bool lower_normalize(Lower *L, const Node *n, LowerMode mode) {
  return map_op(L, n, mode, "fwd", normalize_value);
}

/* flatten and reshape: the result aliases the operand (lower.c maps both to
 * one buffer), so there is no code. */
bool lower_alias(Lower *L, const Node *n, LowerMode mode) {
  (void)L, (void)n, (void)mode;
  return true;
}
