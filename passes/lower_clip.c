/* Lowering of PRC's range clip (passes/prc.c inserts it) and of its
 * straight-through gradient. The range is computed from the whole tensor
 * every time it runs (per tensor, as the int8 scales are):
 *
 *   scale:  [p min t, p max t]
 *   sigma:  [mean - z sd, mean + z sd]   (sd: population standard deviation)
 *
 * For a tensor of one sign the scale method's bound on the side of zero lies
 * beyond the data (p min t < min t when min t > 0), so only the tail away
 * from zero is cut: what the authors' demo's np.clip(t, p t.min(), p t.max())
 * does too. docs/int8.md (## PRC) discusses it.
 *
 * range_clip(x) = min(max(x, lo), hi); range_clip_grad(dy, x) = dy where
 * lo <= x <= hi, else 0, with the range recomputed from x (the same
 * statements), so nothing is saved between the passes. */
#include <string.h>

#include "lower.h"

/* An f32's bits as an i32 that orders like the number: negative numbers'
 * magnitude bits flipped, bits ^ ((bits >> 31) & 0x7fffffff); the same
 * map takes a key back to the bits. */
static LExpr *flip_negative(Lower *L, LExpr *bits) {
  LProgram *p = L->p;
  LExpr *sign = le_bin(p, LB_SHR, bits, ci(L, 31));
  return le_bin(p, LB_XOR, bits, le_bin(p, LB_AND, sign, ci(L, 0x7fffffff)));
}

static LExpr *ordered_key(Lower *L, LExpr *x) {
  return flip_negative(L, le_call(L->p, LI_F32_BITS, x, NULL));
}

static LExpr *from_ordered_key(Lower *L, LExpr *key) {
  return le_call(L->p, LI_BITS_F32, flip_negative(L, key), NULL);
}

/* value_loop bodies (lower.h): the sum, the squared deviations from the
 * mean, and the min and max order keys. */
typedef struct RangeAcc {
  LVar *sum, *mean, *ss, *kmn, *kmx;
} RangeAcc;

static LStmt *sum_body(Lower *L, void *ctx, const VElem *e) {
  RangeAcc *a = ctx;
  return ls_assign(L->p, a->sum, le_bin(L->p, LB_ADD, ve(L, a->sum), elem_value(L, e)));
}

static LStmt *deviation_body(Lower *L, void *ctx, const VElem *e) {
  RangeAcc *a = ctx;
  LProgram *p = L->p;
  LVar *d = lv_local(L, "d", DT_F32);
  return seq(ls_let(p, d, le_bin(p, LB_SUB, elem_value(L, e), ve(L, a->mean))),
             ls_assign(p, a->ss, le_bin(p, LB_ADD, ve(L, a->ss),
                                        le_bin(p, LB_MUL, ve(L, d), ve(L, d)))));
}

static LStmt *min_max_body(Lower *L, void *ctx, const VElem *e) {
  RangeAcc *a = ctx;
  LProgram *p = L->p;
  return seq(ls_assign(p, a->kmn, le_bin(p, LB_MIN, ve(L, a->kmn), ordered_key(L, elem_value(L, e)))),
             ls_assign(p, a->kmx, le_bin(p, LB_MAX, ve(L, a->kmx), ordered_key(L, elem_value(L, e)))));
}

/* --- clip rates (recipe key prc.stats, docs/int8.md "Diagnostics") --- */

/* The i64[] state buffer <name>.<what>, created once: a second kernel
 * counting into the same counters would count every element twice. */
static LBuffer *counter(Lower *L, const Node *n, const char *name, const char *what) {
  LProgram *p = L->p;
  const char *full = arena_printf(p->arena, "%s.%s", name, what);
  if (lprog_find_buffer(p, full)) {
    char w[160];
    diag_error(L->d, n->loc, "lower: %s: clip counter '%s' exists already",
               node_describe(n, w, sizeof w), full);
    return NULL;
  }
  return lprog_buffer(p, full, DT_I64, shape_of(0, NULL), LBUF_STATE, LROLE_INTERNAL);
}

const ClipCounters *lower_clip_counters(Lower *L, const Node *n, LowerMode mode) {
  const char *name = node_str(n, "stats");
  if (mode != MODE_TRAIN || !name || !*name) return NULL;
  ClipCounters *c = arena_alloc(L->p->arena, sizeof *c);
  c->seen = counter(L, n, name, "seen");
  c->clipped = counter(L, n, name, "clipped");
  return c->seen && c->clipped ? c : NULL;
}

/* seen += the elements of x the kernel touches, clipped += those outside
 * [lo, hi] (a NaN is neither below nor above: not clipped). A pass of its
 * own after the range: only trainers with prc.stats pay for it. */
typedef struct CountAcc {
  LVar *sum, *lo, *hi;
} CountAcc;

static LStmt *count_body(Lower *L, void *ctx, const VElem *e) {
  CountAcc *a = ctx;
  LProgram *p = L->p;
  LVar *v = lv_local(L, "x", DT_F32);
  LExpr *outside = le_bin(p, LB_OR, le_bin(p, LB_LT, ve(L, v), ve(L, a->lo)),
                          le_bin(p, LB_GT, ve(L, v), ve(L, a->hi)));
  return seq(ls_let(p, v, elem_value(L, e)),
             ls_assign(p, a->sum, le_bin(p, LB_ADD, ve(L, a->sum), le_cast(p, DT_I64, outside))));
}

static LStmt *count_clipped(Lower *L, const ClipCounters *c, const Value *x, LVar *lo, LVar *hi) {
  LProgram *p = L->p;
  LVar *i = lv_loop(L, "i"), *sum = lv_local(L, "clipped", DT_I64);
  CountAcc acc = {sum, lo, hi};
  LStmt *add_clipped = ls_store(p, c->clipped, ci(L, 0),
                                le_bin(p, LB_ADD, ld(L, c->clipped, ci(L, 0)), ve(L, sum)));
  LStmt *add_seen = ls_store(p, c->seen, ci(L, 0),
                             le_bin(p, LB_ADD, ld(L, c->seen, ci(L, 0)),
                                    le_cast(p, DT_I64, extent(L, x))));
  return seq3(ls_let(p, sum, le_int(p, DT_I64, 0)),
              value_loop(L, x, i, NULL, extent(L, x), 0, count_body, &acc),
              seq(add_clipped, add_seen));
}

LStmt *lower_min_max(Lower *L, const Value *x, LVar *i, LVar **mn_out, LVar **mx_out) {
  /* min and max as integer reductions of order keys (ordered_key), which
   * vectorise, where a float compare-and-select chain stays scalar: for
   * numbers the same min and max (a -0 against a +0 may come out as the
   * other zero, which clips every value to the same result) */
  LProgram *p = L->p;
  LBlock b = {0};
  LVar *kmn = lv_local(L, "kmn", DT_I32), *kmx = lv_local(L, "kmx", DT_I32);
  LVar *mn = lv_local(L, "mn", DT_F32), *mx = lv_local(L, "mx", DT_F32);
  RangeAcc acc = {NULL, NULL, NULL, kmn, kmx};
  lblock_add(&b, ls_let(p, kmn, ordered_key(L, value_first(L, x))));
  lblock_add(&b, ls_let(p, kmx, ordered_key(L, value_first(L, x))));
  bool zero;
  lblock_add(&b, value_extrema_loop(L, x, i, extent(L, x), min_max_body, &acc, &zero));
  if (zero) { /* the routed error's zeros: +0's order key is 0 */
    lblock_add(&b, ls_assign(p, kmn, le_bin(p, LB_MIN, ve(L, kmn), ci(L, 0))));
    lblock_add(&b, ls_assign(p, kmx, le_bin(p, LB_MAX, ve(L, kmx), ci(L, 0))));
  }
  lblock_add(&b, ls_let(p, mn, from_ordered_key(L, ve(L, kmn))));
  lblock_add(&b, ls_let(p, mx, from_ordered_key(L, ve(L, kmx))));
  *mn_out = mn;
  *mx_out = mx;
  return b.first;
}

LStmt *lower_clip_range(Lower *L, const char *method, double pv, double zv, const Value *x,
                        LBuffer *range, LVar *lo, LVar *hi, LVar **mn_out, LVar **mx_out,
                        const ClipCounters *count) {
  LProgram *p = L->p;
  if (mn_out) *mn_out = NULL;
  if (mx_out) *mx_out = NULL;
  LBlock b = {0};
  LVar *i = lv_loop(L, "i");
  if (method && strcmp(method, "sigma") == 0) {
    float z = (float)zv;
    LVar *sum = lv_local(L, "sum", DT_F32), *mean = lv_local(L, "mean", DT_F32);
    LVar *ss = lv_local(L, "ss", DT_F32);
    LVar *sd = lv_local(L, "sd", DT_F32), *i2 = lv_loop(L, "i");
    LExpr *elems = le_cast(p, DT_F32, extent(L, x));
    RangeAcc acc = {sum, mean, ss, NULL, NULL};
    lblock_add(&b, ls_let(p, sum, cf(L, 0)));
    lblock_add(&b, value_loop(L, x, i, NULL, extent(L, x), 0, sum_body, &acc));
    lblock_add(&b, ls_let(p, mean, le_bin(p, LB_DIV, ve(L, sum), elems)));
    lblock_add(&b, ls_let(p, ss, cf(L, 0)));
    lblock_add(&b, value_loop(L, x, i2, NULL, extent(L, x), 0, deviation_body, &acc));
    LExpr *var = le_bin(p, LB_DIV, ve(L, ss), le_cast(p, DT_F32, extent(L, x)));
    lblock_add(&b, ls_let(p, sd, le_un(p, LU_SQRT, var)));
    LExpr *spread = le_bin(p, LB_MUL, cf(L, z), ve(L, sd));
    lblock_add(&b, ls_let(p, lo, le_bin(p, LB_SUB, ve(L, mean), spread)));
    lblock_add(&b, ls_let(p, hi, le_bin(p, LB_ADD, ve(L, mean),
                                        le_bin(p, LB_MUL, cf(L, z), ve(L, sd)))));
  } else {
    float pf = (float)pv;
    LVar *mn, *mx;
    if (range) { /* from an earlier quantize of x (passes/fuse.c) */
      mn = lv_local(L, "mn", DT_F32), mx = lv_local(L, "mx", DT_F32);
      lblock_add(&b, ls_let(p, mn, ld(L, range, ci(L, 0))));
      lblock_add(&b, ls_let(p, mx, ld(L, range, ci(L, 1))));
    } else {
      lblock_add(&b, lower_min_max(L, x, i, &mn, &mx));
    }
    lblock_add(&b, ls_let(p, lo, le_bin(p, LB_MUL, cf(L, pf), ve(L, mn))));
    lblock_add(&b, ls_let(p, hi, le_bin(p, LB_MUL, cf(L, pf), ve(L, mx))));
    if (mn_out) *mn_out = mn;
    if (mx_out) *mx_out = mx;
  }
  if (count) lblock_add(&b, count_clipped(L, count, x, lo, hi));
  return b.first;
}

/* range_clip(x): out = min(max(x, lo), hi). range_clip_grad(dy, x): out =
 * dy where lo <= x <= hi, else 0, with x and dy in locals so the select
 * chooses between values, not loads (see lower_elementwise.c). */
static bool clip_kernel(Lower *L, const Node *n, LowerMode mode, bool grad) {
  LProgram *p = L->p;
  const Value *x = n->in[grad ? 1 : 0];
  lower_kernel(L, n, grad ? "dx" : "clip", L->entries);
  LVar *lo = lv_local(L, "lo", DT_F32), *hi = lv_local(L, "hi", DT_F32), *i = lv_loop(L, "i");
  LVar *xv = lv_local(L, "x", DT_F32);
  LBlock b = {0};
  lblock_add(&b, ls_let(p, xv, ld(L, vbuf(L, x), ve(L, i))));
  LExpr *v;
  if (grad) {
    LVar *dv = lv_local(L, "dy", DT_F32);
    lblock_add(&b, ls_let(p, dv, ld(L, vbuf(L, n->in[0]), ve(L, i))));
    LExpr *inside = le_bin(p, LB_LAND, le_bin(p, LB_GE, ve(L, xv), ve(L, lo)),
                           le_bin(p, LB_LE, ve(L, xv), ve(L, hi)));
    v = le_select(p, inside, ve(L, dv), cf(L, 0));
  } else {
    v = le_bin(p, LB_MIN, le_bin(p, LB_MAX, ve(L, xv), ve(L, lo)), ve(L, hi));
  }
  lblock_add(&b, ls_store(p, vbuf(L, n->out[0]), ve(L, i), v));
  LStmt *apply = loop(L, i, extent(L, x), LHINT_VECTORIZE, b.first);
  LStmt *range = lower_clip_range(L, node_str(n, "method"), node_float(n, "p", 0.95),
                                  node_float(n, "z", 2.576), x, NULL, lo, hi, NULL, NULL,
                                  grad ? NULL : lower_clip_counters(L, n, mode));
  lower_kernel_body(L, seq(range, apply));
  return true;
}

bool lower_range_clip(Lower *L, const Node *n, LowerMode mode) {
  return clip_kernel(L, n, mode, false);
}

bool lower_range_clip_grad(Lower *L, const Node *n, LowerMode mode) {
  return clip_kernel(L, n, mode, true);
}
