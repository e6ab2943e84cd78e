/* Shape rules: one function per op computing the result types and the exact
 * operand types from the data operands and the attributes (NCHW, batch
 * first). The shape-inference pass uses expect_in to fill a parameter's
 * unknown extents; the verifier uses the same rule to check a finished graph,
 * so the two can never disagree.
 *
 * Operands whose shape is (partly) unknown are accepted wherever the rule can
 * compute them; a known extent that disagrees is an error. Arithmetic is
 * int64 with explicit overflow checks: an absurd size is an error message,
 * never undefined behaviour. */
#include "shape_rules.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* No tensor may hold more elements than this (2^40): far beyond any device,
 * and small enough that element counts times 8 bytes never overflow. */
static const int64_t MAX_ELEMS = (int64_t)1 << 40;

/* The state of one rule application. */
struct ShapeRule {
  const Node *n;
  const TensorType *in;
  TensorType *expect;
  TensorType *out;
  char *err;
  size_t errlen;
};
typedef struct ShapeRule Rule;


/* Writes "<op 'name'><sep><message>" to the error buffer; returns false. */
__attribute__((format(printf, 3, 4))) static bool fail(Rule *r, const char *sep,
                                                       const char *fmt, ...) {
  char w[160];
  int k = snprintf(r->err, r->errlen, "%s%s", node_describe(r->n, w, sizeof w), sep);
  if (k < 0 || (size_t)k >= r->errlen) return false;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->err + k, r->errlen - (size_t)k, fmt, ap);
  va_end(ap);
  return false;
}

static const char *ty(const TensorType *t, char *buf, size_t size) {
  return type_str(t, buf, size);
}

static bool mul_ok(int64_t a, int64_t b, int64_t *res) {
  if (a < 0 || b < 0) return false;
  if (a != 0 && b > INT64_MAX / a) return false;
  *res = a * b;
  return true;
}

/* A result or expected operand type; fails if it is absurdly large. */
static bool set_type(Rule *r, TensorType *t, DType dt, int rank, const int64_t *dims) {
  t->dtype = dt;
  t->shape = shape_of(rank, dims);
  int64_t numel = shape_numel(&t->shape);
  if (numel < 0 || numel > MAX_ELEMS) {
    char b[200];
    return fail(r, ": ", "tensor %s is too large (more than 2^40 elements)", ty(t, b, sizeof b));
  }
  return true;
}

static const char *role(const Node *n, int i) {
  const OpInfo *info = op_info(n->op);
  return info && i < info->max_in ? info->in_names[i] : "operand";
}

/* Operand i must be usable as a reference: every extent known. */
static bool need_known(Rule *r, int i) {
  char b[200];
  const Shape *s = &r->in[i].shape;
  if (!shape_known(s))
    return fail(r, ": ", "%s '%s' has no inferred shape (%s)", role(r->n, i), r->n->in[i]->name,
                ty(&r->in[i], b, sizeof b));
  /* bounding every extent keeps the window arithmetic below overflow-free */
  int64_t numel = shape_numel(s);
  bool big = numel < 0 || numel > MAX_ELEMS;
  for (int k = 0; k < s->rank; k++) big = big || s->dim[k] > MAX_ELEMS;
  if (big)
    return fail(r, ": ", "%s %s is too large (more than 2^40 elements)", role(r->n, i),
                ty(&r->in[i], b, sizeof b));
  return true;
}

static bool need_rank(Rule *r, int i, int rank) {
  if (r->in[i].shape.rank == rank) return true;
  char b[200];
  return fail(r, ": ", "%s %s has rank %d, expected rank %d", role(r->n, i),
              ty(&r->in[i], b, sizeof b), r->in[i].shape.rank, rank);
}

/* Operand i must have type expect[i] (already set): its dtype, and its rank
 * and extents where known. */
static bool check_operand(Rule *r, int i) {
  const TensorType *have = &r->in[i], *want = &r->expect[i];
  bool ok = have->dtype == want->dtype;
  if (ok && have->shape.rank >= 0) {
    ok = have->shape.rank == want->shape.rank;
    for (int k = 0; ok && k < want->shape.rank; k++)
      ok = have->shape.dim[k] < 0 || have->shape.dim[k] == want->shape.dim[k];
  }
  if (ok) return true;
  char b1[200], b2[200];
  return fail(r, ": ", "%s '%s' is %s but must be %s", role(r->n, i), r->n->in[i]->name,
              ty(have, b1, sizeof b1), ty(want, b2, sizeof b2));
}

static bool expect_operand(Rule *r, int i, DType dt, int rank, const int64_t *dims) {
  return set_type(r, &r->expect[i], dt, rank, dims) && check_operand(r, i);
}

/* The operand keeps exactly the type of another one (same-shape ops). */
static bool expect_same(Rule *r, int i, const TensorType *t) {
  r->expect[i] = *t;
  return check_operand(r, i);
}

static bool get_int(Rule *r, const char *name, int64_t min, int64_t *v) {
  const Attr *a = node_attr(r->n, name);
  if (!a || a->kind != ATTR_INT) return fail(r, ": ", "missing integer attribute '%s'", name);
  if (a->i < min || a->i > MAX_ELEMS)
    return fail(r, ": ", "attribute %s=%lld is out of range", name, (long long)a->i);
  *v = a->i;
  return true;
}

static bool get_pair(Rule *r, const char *name, int64_t min, int64_t v[2]) {
  const Attr *a = node_attr(r->n, name);
  if (!a || a->kind != ATTR_INTS || a->n != 2)
    return fail(r, ": ", "missing attribute '%s' (a list of 2 integers)", name);
  for (int k = 0; k < 2; k++) {
    if (a->ints[k] < min || a->ints[k] > MAX_ELEMS)
      return fail(r, ": ", "attribute %s=[%lld,%lld] is out of range", name,
                  (long long)a->ints[0], (long long)a->ints[1]);
    v[k] = a->ints[k];
  }
  return true;
}

/* The window attributes shared by conv2d and the pools. */
typedef struct Window {
  int64_t kernel[2], stride[2], pad[2];
} Window;

static bool get_window(Rule *r, Window *w) {
  return get_pair(r, "kernel", 1, w->kernel) && get_pair(r, "stride", 1, w->stride) &&
         get_pair(r, "pad", 0, w->pad);
}

/* Output extents of a sliding window over input extents in[2]; `what`
 * names the window in messages ("kernel" or "window"), `shown` is the input
 * type they mention (NULL for a gradient op, whose input is its
 * input_size attribute). Forward ops and their gradients share this check,
 * so a gradient op read from text cannot describe a window that no forward
 * op has (a kernel wider than its padded input makes the extent formula
 * truncate to a plausible size and the lowering write out of bounds). */
static bool slide_over(Rule *r, const Window *w, const int64_t in[2], const TensorType *shown,
                       const char *what, int64_t hw[2]) {
  int64_t padded[2];
  for (int k = 0; k < 2; k++) {
    /* extents and pads are <= 2^40, so this cannot overflow */
    padded[k] = in[k] + 2 * w->pad[k];
  }
  if (w->kernel[0] > padded[0] || w->kernel[1] > padded[1]) {
    char b[200];
    bool pad = w->pad[0] || w->pad[1];
    if (!shown)
      return fail(r, ": ", "%s %lldx%lld is larger than its %sinput_size %lldx%lld", what,
                  (long long)w->kernel[0], (long long)w->kernel[1], pad ? "padded " : "",
                  (long long)padded[0], (long long)padded[1]);
    return fail(r, ": ", "%s %lldx%lld is larger than its %sinput %lldx%lld (%s)", what,
                (long long)w->kernel[0], (long long)w->kernel[1], pad ? "padded " : "",
                (long long)padded[0], (long long)padded[1], ty(shown, b, sizeof b));
  }
  for (int k = 0; k < 2; k++) hw[k] = (padded[k] - w->kernel[k]) / w->stride[k] + 1;
  return true;
}

/* The same over x [N,C,H,W], operand 0. */
static bool slide(Rule *r, const Window *w, const char *what, int64_t hw[2]) {
  return slide_over(r, w, &r->in[0].shape.dim[2], &r->in[0], what, hw);
}

/* A pooling window: its attributes, and a pad smaller than the window (a
 * window of padding only would have no element to take). */
static bool pool_window(Rule *r, Window *w) {
  if (!get_window(r, w)) return false;
  for (int k = 0; k < 2; k++)
    if (w->pad[k] >= w->kernel[k])
      return fail(r, ": ", "pad %lld must be smaller than the window %lld", (long long)w->pad[k],
                  (long long)w->kernel[k]);
  return true;
}

/* A gradient op's dy must have exactly the extents its forward produced. */
static bool dy_extents_match(Rule *r, const int64_t hw[2], const int64_t in_hw[2]) {
  const int64_t *dy = r->in[0].shape.dim;
  for (int k = 0; k < 2; k++)
    if (hw[k] != dy[2 + k])
      return fail(r, ": ", "dy extent %lld does not match input_size %lld", (long long)dy[2 + k],
                  (long long)in_hw[k]);
  return true;
}

bool rule_conv2d(Rule *r) {
  int64_t filters, groups;
  Window w;
  if (!need_known(r, 0) || !need_rank(r, 0, 4)) return false;
  if (!get_int(r, "filters", 1, &filters) || !get_int(r, "groups", 1, &groups) ||
      !get_window(r, &w))
    return false;
  const int64_t *x = r->in[0].shape.dim;
  char b[200];
  if (x[1] % groups)
    return fail(r, ": ", "input channels %lld of %s are not divisible by groups=%lld",
                (long long)x[1], ty(&r->in[0], b, sizeof b), (long long)groups);
  if (filters % groups)
    return fail(r, ": ", "filters=%lld is not divisible by groups=%lld", (long long)filters,
                (long long)groups);
  int64_t cin = x[1] / groups;
  const Shape *ws = &r->in[1].shape;
  if (ws->rank == 4 && ws->dim[1] >= 0 && ws->dim[1] != cin)
    return fail(r, " ", "declares %lld input channels but its input %s has %lld%s",
                (long long)ws->dim[1], ty(&r->in[0], b, sizeof b), (long long)cin,
                groups > 1 ? " per group" : "");
  int64_t hw[2];
  if (!slide(r, &w, "kernel", hw)) return false;
  DType dt = r->in[0].dtype;
  int64_t wdims[4] = {filters, cin, w.kernel[0], w.kernel[1]};
  if (!expect_operand(r, 1, dt, 4, wdims)) return false;
  if (r->n->nin > 2 && !expect_operand(r, 2, dt, 1, &filters)) return false;
  int64_t odims[4] = {x[0], filters, hw[0], hw[1]};
  return set_type(r, &r->out[0], dt, 4, odims);
}

bool rule_dense(Rule *r) {
  int64_t units;
  char b[200];
  if (!need_known(r, 0)) return false;
  if (r->in[0].shape.rank != 2)
    return fail(r, ": ", "input %s has rank %d but dense takes [batch, features]%s",
                ty(&r->in[0], b, sizeof b), r->in[0].shape.rank,
                r->in[0].shape.rank > 2 ? "; insert flatten() before it" : "");
  if (!get_int(r, "units", 1, &units)) return false;
  int64_t f = r->in[0].shape.dim[1];
  const Shape *ws = &r->in[1].shape;
  if (ws->rank == 2 && ws->dim[1] >= 0 && ws->dim[1] != f)
    return fail(r, " ", "declares %lld inputs but its input %s has %lld", (long long)ws->dim[1],
                ty(&r->in[0], b, sizeof b), (long long)f);
  DType dt = r->in[0].dtype;
  int64_t wdims[2] = {units, f};
  if (!expect_operand(r, 1, dt, 2, wdims)) return false;
  if (r->n->nin > 2 && !expect_operand(r, 2, dt, 1, &units)) return false;
  int64_t odims[2] = {r->in[0].shape.dim[0], units};
  return set_type(r, &r->out[0], dt, 2, odims);
}

/* relu, relu6, dropout: the result is the input's type. */
bool rule_same(Rule *r) {
  if (!need_known(r, 0)) return false;
  r->expect[0] = r->in[0];
  r->out[0] = r->in[0];
  return true;
}

bool rule_pool(Rule *r) {
  Window w;
  if (!need_known(r, 0) || !need_rank(r, 0, 4) || !pool_window(r, &w)) return false;
  int64_t hw[2];
  if (!slide(r, &w, "window", hw)) return false;
  const int64_t *x = r->in[0].shape.dim;
  r->expect[0] = r->in[0];
  int64_t odims[4] = {x[0], x[1], hw[0], hw[1]};
  return set_type(r, &r->out[0], r->in[0].dtype, 4, odims);
}

bool rule_global_avgpool(Rule *r) {
  if (!need_known(r, 0) || !need_rank(r, 0, 4)) return false;
  r->expect[0] = r->in[0];
  return set_type(r, &r->out[0], r->in[0].dtype, 2, r->in[0].shape.dim);
}

bool rule_flatten(Rule *r) {
  if (!need_known(r, 0)) return false;
  const Shape *s = &r->in[0].shape;
  if (s->rank < 1) return fail(r, ": ", "cannot flatten a scalar");
  int64_t f = 1;
  for (int k = 1; k < s->rank; k++)
    if (!mul_ok(f, s->dim[k], &f) || f > MAX_ELEMS)
      return fail(r, ": ", "flattened size overflows");
  r->expect[0] = r->in[0];
  int64_t odims[2] = {s->dim[0], f};
  return set_type(r, &r->out[0], r->in[0].dtype, 2, odims);
}

bool rule_add(Rule *r) {
  /* Either operand may be the reference (a parameter may be added). */
  int ref = shape_known(&r->in[0].shape) || !shape_known(&r->in[1].shape) ? 0 : 1;
  if (!need_known(r, ref)) return false;
  const TensorType *a = &r->in[ref], *o = &r->in[1 - ref];
  bool same = a->dtype == o->dtype && (o->shape.rank < 0 || o->shape.rank == a->shape.rank);
  for (int k = 0; same && o->shape.rank >= 0 && k < a->shape.rank; k++)
    same = o->shape.dim[k] < 0 || o->shape.dim[k] == a->shape.dim[k];
  if (!same) {
    char b1[200], b2[200];
    return fail(r, ": ", "shapes %s and %s differ", ty(&r->in[0], b1, sizeof b1),
                ty(&r->in[1], b2, sizeof b2));
  }
  r->expect[0] = r->expect[1] = *a;
  r->out[0] = *a;
  return true;
}

bool rule_batchnorm(Rule *r) {
  if (!need_known(r, 0)) return false;
  int rank = r->in[0].shape.rank;
  char b[200];
  if (rank != 2 && rank != 4)
    return fail(r, ": ", "input %s has rank %d; batchnorm takes [N,C] or [N,C,H,W]",
                ty(&r->in[0], b, sizeof b), rank);
  r->expect[0] = r->in[0];
  int64_t c = r->in[0].shape.dim[1];
  for (int i = 1; i < 5; i++)
    if (!expect_operand(r, i, r->in[0].dtype, 1, &c)) return false;
  r->out[0] = r->in[0];
  return true;
}

/* scale(x, s) and bias(x, b): one scalar parameter of shape [1]. */
bool rule_scalar_param(Rule *r) {
  if (!need_known(r, 0)) return false;
  r->expect[0] = r->in[0];
  int64_t one = 1;
  if (!expect_operand(r, 1, r->in[0].dtype, 1, &one)) return false;
  r->out[0] = r->in[0];
  return true;
}

bool rule_softmax_cross_entropy(Rule *r) {
  char b[200];
  if (!need_known(r, 0)) return false;
  if (r->in[0].shape.rank != 2)
    return fail(r, ": ", "logits %s have rank %d but must be [batch, classes]",
                ty(&r->in[0], b, sizeof b), r->in[0].shape.rank);
  int64_t k = r->in[0].shape.dim[1];
  const Value *label = r->n->in[1];
  /* classes < 0: not known (the caller blanked it); 0: float targets */
  if (label->classes == 0)
    return fail(r, ": ", "label '%s' must be class labels (class[N])", label->name);
  if (label->classes > 0 && label->classes != k)
    return fail(r, ": ", "label '%s' declares class[%lld] but logits %s have %lld classes",
                label->name, (long long)label->classes, ty(&r->in[0], b, sizeof b),
                (long long)k);
  r->expect[0] = r->in[0];
  if (!expect_operand(r, 1, DT_I32, 1, r->in[0].shape.dim)) return false;
  return set_type(r, &r->out[0], DT_F32, 0, NULL);
}

bool rule_mse(Rule *r) {
  if (!need_known(r, 0)) return false;
  r->expect[0] = r->in[0];
  if (!expect_same(r, 1, &r->in[0])) return false;
  return set_type(r, &r->out[0], DT_F32, 0, NULL);
}

/* --- training ops: gradients and updates (built by autodiff/optimizer) --- */

/* The result has exactly operand i's type. */
static bool result_like(Rule *r, int i) {
  if (!need_known(r, i)) return false;
  r->expect[i] = r->in[i];
  r->out[0] = r->in[i];
  return true;
}

bool rule_conv2d_grad_input(Rule *r) {
  int64_t filters, groups, in_hw[2];
  Window w;
  if (!need_known(r, 0) || !need_rank(r, 0, 4) || !need_known(r, 1) || !need_rank(r, 1, 4))
    return false;
  if (!get_int(r, "filters", 1, &filters) || !get_int(r, "groups", 1, &groups) ||
      !get_window(r, &w) || !get_pair(r, "input_size", 1, in_hw))
    return false;
  if (filters % groups)
    return fail(r, ": ", "filters=%lld is not divisible by groups=%lld", (long long)filters,
                (long long)groups);
  const int64_t *dy = r->in[0].shape.dim, *wt = r->in[1].shape.dim;
  int64_t c;
  if (!mul_ok(wt[1], groups, &c) || c > MAX_ELEMS)
    return fail(r, ": ", "weight %lld x groups=%lld input channels is too large",
                (long long)wt[1], (long long)groups);
  int64_t hw[2];
  if (!slide_over(r, &w, in_hw, NULL, "kernel", hw)) return false;
  int64_t dy_dims[4] = {dy[0], filters, hw[0], hw[1]};
  int64_t w_dims[4] = {filters, wt[1], w.kernel[0], w.kernel[1]};
  if (!expect_operand(r, 0, r->in[0].dtype, 4, dy_dims) ||
      !expect_operand(r, 1, r->in[0].dtype, 4, w_dims))
    return false;
  int64_t out[4] = {dy[0], c, in_hw[0], in_hw[1]};
  return set_type(r, &r->out[0], r->in[0].dtype, 4, out);
}

bool rule_conv2d_grad_weight(Rule *r) {
  int64_t filters, groups, hw[2];
  Window w;
  if (!need_known(r, 0) || !need_rank(r, 0, 4)) return false;
  if (!get_int(r, "filters", 1, &filters) || !get_int(r, "groups", 1, &groups) ||
      !get_window(r, &w) || !slide(r, &w, "kernel", hw))
    return false;
  const int64_t *x = r->in[0].shape.dim;
  if (x[1] % groups) return fail(r, ": ", "input channels not divisible by groups");
  if (filters % groups)
    return fail(r, ": ", "filters=%lld is not divisible by groups=%lld", (long long)filters,
                (long long)groups);
  r->expect[0] = r->in[0];
  int64_t dy_dims[4] = {x[0], filters, hw[0], hw[1]};
  if (!expect_operand(r, 1, r->in[0].dtype, 4, dy_dims)) return false;
  int64_t out[4] = {filters, x[1] / groups, w.kernel[0], w.kernel[1]};
  return set_type(r, &r->out[0], r->in[0].dtype, 4, out);
}

bool rule_dense_grad_input(Rule *r) {
  int64_t units;
  if (!need_known(r, 0) || !need_rank(r, 0, 2) || !need_known(r, 1) || !need_rank(r, 1, 2) ||
      !get_int(r, "units", 1, &units))
    return false;
  int64_t n = r->in[0].shape.dim[0], f = r->in[1].shape.dim[1];
  int64_t dy_dims[2] = {n, units}, w_dims[2] = {units, f}, out[2] = {n, f};
  return expect_operand(r, 0, r->in[0].dtype, 2, dy_dims) &&
         expect_operand(r, 1, r->in[0].dtype, 2, w_dims) &&
         set_type(r, &r->out[0], r->in[0].dtype, 2, out);
}

bool rule_dense_grad_weight(Rule *r) {
  int64_t units;
  if (!need_known(r, 0) || !need_rank(r, 0, 2) || !get_int(r, "units", 1, &units)) return false;
  int64_t n = r->in[0].shape.dim[0], f = r->in[0].shape.dim[1];
  r->expect[0] = r->in[0];
  int64_t dy_dims[2] = {n, units}, out[2] = {units, f};
  return expect_operand(r, 1, r->in[0].dtype, 2, dy_dims) &&
         set_type(r, &r->out[0], r->in[0].dtype, 2, out);
}

bool rule_bias_grad(Rule *r) {
  if (!need_known(r, 0)) return false;
  if (r->in[0].shape.rank < 2) return fail(r, ": ", "needs a [batch, channels, ...] input");
  r->expect[0] = r->in[0];
  return set_type(r, &r->out[0], r->in[0].dtype, 1, &r->in[0].shape.dim[1]);
}

/* relu_grad(dy, y), mse_grad(p, t), sum_product's operands: equal types. */
bool rule_pair_same(Rule *r) {
  if (!result_like(r, 0)) return false;
  return expect_same(r, 1, &r->in[0]);
}

bool rule_maxpool_grad(Rule *r) {
  Window w;
  int64_t hw[2];
  if (!need_known(r, 1) || !need_rank(r, 1, 4) || !pool_window(r, &w)) return false;
  const int64_t *x = r->in[1].shape.dim;
  if (!slide_over(r, &w, &x[2], &r->in[1], "window", hw)) return false;
  int64_t dy_dims[4] = {x[0], x[1], hw[0], hw[1]};
  r->expect[1] = r->in[1];
  if (!expect_operand(r, 0, r->in[0].dtype, 4, dy_dims)) return false;
  r->out[0] = r->in[1]; /* dtypes: the registry's (maxpool_grad_i8: x is i8) */
  return true;
}

/* The routed maxpool's windows (passes/quantize.c) tile the input
 * exactly: kernel == stride, no pad, extents that are multiples of the
 * kernel, so every input element is in one window; and at most 25 taps,
 * so the route (the tap of the max) fits a byte with -1 to spare. */
static bool route_window(Rule *r, Window *w, const int64_t in[2], int64_t hw[2]) {
  if (!pool_window(r, w)) return false;
  for (int k = 0; k < 2; k++)
    if (w->stride[k] != w->kernel[k] || w->pad[k] != 0 || in[k] % w->kernel[k] != 0)
      return fail(r, ": ", "a routed maxpool's windows must tile its input: stride = kernel, "
                  "no pad, and extents %lldx%lld multiples of the kernel %lldx%lld",
                  (long long)in[0], (long long)in[1], (long long)w->kernel[0],
                  (long long)w->kernel[1]);
  if (w->kernel[0] * w->kernel[1] > 25)
    return fail(r, ": ", "a routed maxpool's window has at most 25 taps (it has %lldx%lld)",
                (long long)w->kernel[0], (long long)w->kernel[1]);
  for (int k = 0; k < 2; k++) hw[k] = in[k] / w->kernel[k];
  return true;
}

/* maxpool_route(x): the pooled x and an i8 route of the same shape. */
bool rule_maxpool_route(Rule *r) {
  Window w;
  int64_t hw[2];
  if (!need_known(r, 0) || !need_rank(r, 0, 4) ||
      !route_window(r, &w, &r->in[0].shape.dim[2], hw))
    return false;
  const int64_t *x = r->in[0].shape.dim;
  r->expect[0] = r->in[0];
  int64_t odims[4] = {x[0], x[1], hw[0], hw[1]};
  return set_type(r, &r->out[0], r->in[0].dtype, 4, odims) &&
         set_type(r, &r->out[1], DT_I8, 4, odims);
}

/* maxpool_route_grad(dy, route): dx of the input_size; route shaped as dy. */
bool rule_maxpool_route_grad(Rule *r) {
  Window w;
  int64_t in_hw[2], hw[2];
  if (!need_known(r, 0) || !need_rank(r, 0, 4) || !get_pair(r, "input_size", 1, in_hw) ||
      !route_window(r, &w, in_hw, hw) || !dy_extents_match(r, hw, in_hw))
    return false;
  const int64_t *dy = r->in[0].shape.dim;
  r->expect[0] = r->in[0];
  if (!expect_operand(r, 1, DT_I8, 4, dy)) return false;
  int64_t out[4] = {dy[0], dy[1], in_hw[0], in_hw[1]};
  return set_type(r, &r->out[0], r->in[0].dtype, 4, out);
}

bool rule_avgpool_grad(Rule *r) {
  Window w;
  int64_t in_hw[2];
  int64_t hw[2];
  if (!need_known(r, 0) || !need_rank(r, 0, 4) || !pool_window(r, &w) ||
      !get_pair(r, "input_size", 1, in_hw) || !slide_over(r, &w, in_hw, NULL, "window", hw) ||
      !dy_extents_match(r, hw, in_hw))
    return false;
  const int64_t *dy = r->in[0].shape.dim;
  r->expect[0] = r->in[0];
  int64_t out[4] = {dy[0], dy[1], in_hw[0], in_hw[1]};
  return set_type(r, &r->out[0], r->in[0].dtype, 4, out);
}

bool rule_global_avgpool_grad(Rule *r) {
  int64_t in_hw[2];
  if (!need_known(r, 0) || !need_rank(r, 0, 2) || !get_pair(r, "input_size", 1, in_hw))
    return false;
  r->expect[0] = r->in[0];
  int64_t out[4] = {r->in[0].shape.dim[0], r->in[0].shape.dim[1], in_hw[0], in_hw[1]};
  return set_type(r, &r->out[0], r->in[0].dtype, 4, out);
}

bool rule_reshape(Rule *r) {
  const Attr *a = node_attr(r->n, "shape");
  if (!need_known(r, 0)) return false;
  if (!a || a->kind != ATTR_INTS || a->n < 1)
    return fail(r, ": ", "missing attribute 'shape' (a list of integers)");
  if (!set_type(r, &r->out[0], r->in[0].dtype, a->n, a->ints)) return false;
  if (shape_numel(&r->out[0].shape) != shape_numel(&r->in[0].shape)) {
    char b1[200], b2[200];
    return fail(r, ": ", "cannot reshape %s to %s", ty(&r->in[0], b1, sizeof b1),
                ty(&r->out[0], b2, sizeof b2));
  }
  r->expect[0] = r->in[0];
  return true;
}

bool rule_batchnorm_train(Rule *r) {
  if (!rule_batchnorm(r)) return false;
  int64_t c = r->in[0].shape.dim[1];
  return set_type(r, &r->out[1], r->in[0].dtype, 1, &c) &&
         set_type(r, &r->out[2], r->in[0].dtype, 1, &c);
}

bool rule_batchnorm_grad(Rule *r) {
  if (!need_known(r, 1)) return false;
  int rank = r->in[1].shape.rank;
  if (rank != 2 && rank != 4) return fail(r, ": ", "x must be [N,C] or [N,C,H,W]");
  r->expect[1] = r->in[1];
  if (!expect_same(r, 0, &r->in[1])) return false;
  int64_t c = r->in[1].shape.dim[1];
  for (int i = 2; i < 5; i++)
    if (!expect_operand(r, i, r->in[1].dtype, 1, &c)) return false;
  r->out[0] = r->in[1];
  return set_type(r, &r->out[1], r->in[1].dtype, 1, &c) &&
         set_type(r, &r->out[2], r->in[1].dtype, 1, &c);
}

bool rule_sum(Rule *r) {
  if (!need_known(r, 0)) return false;
  r->expect[0] = r->in[0];
  if (r->n->nin > 1 && !expect_same(r, 1, &r->in[0])) return false; /* sum_product */
  int64_t one = 1;
  return set_type(r, &r->out[0], DT_F32, 1, &one);
}

/* relu_grad_i8, leaky_relu_grad_i8: y (i8) has dy's shape. */
bool rule_grad_of_int8(Rule *r) {
  if (!need_known(r, 0)) return false;
  r->expect[1] = r->in[0];
  r->expect[1].dtype = DT_I8;
  r->out[0] = r->in[0];
  return check_operand(r, 1);
}

/* quantize: q has x's shape (i8), the scale is a scalar (f32[]). A
 * second operand is max|x| (f32[]), or x's [min, max] (f32[2]) for a
 * quantize that clips by the scale method; a third result is x's [min,
 * max] (passes/fuse.c). */
bool rule_quantize(Rule *r) {
  if (!need_known(r, 0)) return false;
  r->expect[0] = r->in[0];
  const char *clip = node_str(r->n, "clip");
  bool range_in = clip && strcmp(clip, "scale") == 0;
  const int64_t two = 2;
  if (clip && strcmp(clip, "sigma") == 0) {
    if (r->n->nin > 1)
      return fail(r, ": ", "a sigma clip computes its own range; '%s' cannot be given",
                  r->n->in[1]->name);
    if (r->n->nout > 2)
      return fail(r, ": ", "a sigma clip finds no [min, max] to give as '%s'",
                  r->n->out[2]->name);
  }
  if (r->n->nin > 1 &&
      !expect_operand(r, 1, DT_F32, range_in ? 1 : 0, range_in ? &two : NULL))
    return false;
  r->out[0] = r->in[0];
  if (r->n->nout > 2 && !set_type(r, &r->out[2], DT_F32, 1, &two)) return false;
  return set_type(r, &r->out[1], DT_F32, 0, NULL);
}

/* The fp32 op whose shapes an INT8 product has. */
static OpKind int8_twin(OpKind op) {
  switch (op) {
  case OP_CONV2D_I8: return OP_CONV2D;
  case OP_CONV2D_I8_GRAD_INPUT: return OP_CONV2D_GRAD_INPUT;
  case OP_CONV2D_I8_GRAD_WEIGHT: return OP_CONV2D_GRAD_WEIGHT;
  case OP_DENSE_I8: return OP_DENSE;
  case OP_DENSE_I8_GRAD_INPUT: return OP_DENSE_GRAD_INPUT;
  default: return OP_DENSE_GRAD_WEIGHT;
  }
}

/* conv2d_i8, dense_i8 and their gradients: (a, a_scale, b, b_scale
 * [, bias]) has the shapes of the fp32 twin's (a, b [, bias]), with scalar
 * scales; the rule is the twin's, applied to the operands without scales. */
static bool pooled_product(Rule *r) {
  const Node *n = r->n;
  if (n->op != OP_CONV2D_I8 || n->nout != 3)
    return fail(r, ": ", "a product with a folded pool is a conv2d_i8 with three results (the "
                "pooled y, its max|y| and the route); it has %d", n->nout);
  Window w = {{node_ints(n, "pool", 0, 0), node_ints(n, "pool", 1, 0)}, {0, 0}, {0, 0}};
  w.stride[0] = w.kernel[0], w.stride[1] = w.kernel[1];
  const int64_t *y = r->out[0].shape.dim;
  int64_t hw[2];
  for (int k = 0; k < 2; k++)
    if (w.kernel[k] < 1 || y[2 + k] % w.kernel[k] != 0 || w.kernel[0] * w.kernel[1] > 25)
      return fail(r, ": ", "pool [%lld, %lld] does not tile the product's %lldx%lld output "
                  "(at most 25 taps)", (long long)w.kernel[0], (long long)w.kernel[1],
                  (long long)y[2], (long long)y[3]);
  for (int k = 0; k < 2; k++) hw[k] = y[2 + k] / w.kernel[k];
  int64_t odims[4] = {y[0], y[1], hw[0], hw[1]};
  return set_type(r, &r->out[0], DT_F32, 4, odims) && set_type(r, &r->out[1], DT_F32, 0, NULL) &&
         set_type(r, &r->out[2], DT_I8, 4, odims);
}

bool rule_int8_product(Rule *r) {
  const Node *n = r->n;
  Node twin = *n;
  Value *vin[3];
  TensorType tin[3], texp[3];
  int lac = product_epilogue_operands(n);
  twin.op = int8_twin(n->op);
  twin.nin = n->nin - lac - 2;
  if (twin.nin < 2)
    return fail(r, ": ", "epilogue \"%s\" reads %d operand%s after the product's own; it has "
                "only %d operands", node_str(n, "epilogue"), lac, lac == 1 ? "" : "s", n->nin);
  twin.in = vin;
  for (int i = 0; i < twin.nin; i++) {
    int k = i < 2 ? 2 * i : 4;
    vin[i] = n->in[k];
    tin[i] = r->in[k];
    tin[i].dtype = DT_F32;
    texp[i] = tin[i];
  }
  Rule tr = {&twin, tin, texp, r->out, r->err, r->errlen};
  if (!op_info(twin.op)->shape(&tr)) return false;
  for (int i = 0; i < twin.nin; i++) r->expect[i < 2 ? 2 * i : 4] = texp[i];
  if (!expect_operand(r, 1, DT_F32, 0, NULL) || !expect_operand(r, 3, DT_F32, 0, NULL)) return false;
  /* a fused relu mask: the saved int8 activation, shaped as the result */
  if (lac == 1) return expect_operand(r, n->nin - 1, DT_I8, r->out[0].shape.rank, r->out[0].shape.dim);
  /* a fused compensation's alpha, mu, beta: per element of a sample of the
   * result, or per channel, all three alike (as compensation's own rule) */
  for (int i = n->nin - lac; i < n->nin; i++) {
    const Shape *y = &r->out[0].shape;
    bool channel = r->in[n->nin - lac].shape.rank == 1 && y->rank > 2;
    if (!expect_operand(r, i, DT_F32, channel ? 1 : y->rank - 1, &y->dim[1])) return false;
  }
  /* a folded routed maxpool (passes/fuse.c): the pooled y, max|pooled y|
   * and the route, as maxpool_route would give them */
  if (node_attr(n, "pool")) return pooled_product(r);
  /* a fused product's second result: max |y| over the samples computed */
  return n->nout < 2 || set_type(r, &r->out[1], DT_F32, 0, NULL);
}

int product_epilogue_operands(const Node *n) {
  const char *e = node_str(n, "epilogue");
  if (!e) return 0;
  if (n->op == OP_CONV2D_I8 || n->op == OP_DENSE_I8) return strncmp(e, "compensation", 12) == 0 ? 3 : 0;
  if (n->op == OP_CONV2D_I8_GRAD_INPUT || n->op == OP_DENSE_I8_GRAD_INPUT)
    return strcmp(e, "relu_grad") == 0 ? 1 : 0;
  return 0;
}

bool rule_softmax_cross_entropy_grad(Rule *r) {
  if (!rule_softmax_cross_entropy(r)) return false;
  r->out[0] = r->in[0];
  return true;
}

/* A scalar (rank 0) operand of the given dtype. */
static bool expect_scalar(Rule *r, int i, DType dt) { return expect_operand(r, i, dt, 0, NULL); }

bool rule_lr_schedule(Rule *r) {
  return expect_scalar(r, 0, DT_I32) && set_type(r, &r->out[0], DT_F32, 0, NULL);
}

/* param, grad, lr, then the state operands first..last shaped as param. */
static bool update_operands(Rule *r, int last) {
  if (!need_known(r, 0)) return false;
  r->expect[0] = r->in[0];
  if (!expect_same(r, 1, &r->in[0]) || !expect_scalar(r, 2, DT_F32)) return false;
  for (int i = 3; i <= last; i++)
    if (!expect_same(r, i, &r->in[0])) return false;
  return true;
}

bool rule_sgd_update(Rule *r) { return update_operands(r, r->n->nin - 1); }

bool rule_adam_update(Rule *r) { return update_operands(r, 4) && expect_scalar(r, 5, DT_I64); }

bool rule_step_increment(Rule *r) { return expect_scalar(r, 0, DT_I64); }

/* LAC's alpha, mu and beta (operands 1-3): one value per element of a
 * sample ([C,H,W]; [units] after a dense) or per channel ([C]). */
static bool lac_params(Rule *r) {
  if (!need_known(r, 0)) return false;
  const Shape *x = &r->in[0].shape;
  if (x->rank < 2) return fail(r, ": ", "needs a [batch, channels, ...] input");
  r->expect[0] = r->in[0];
  const char *g = node_str(r->n, "granularity");
  bool channel = g && strcmp(g, "channel") == 0;
  int rank = channel ? 1 : x->rank - 1;
  for (int i = 1; i < 4; i++)
    if (!expect_operand(r, i, r->in[0].dtype, rank, &x->dim[1])) return false;
  return true;
}

bool rule_compensation(Rule *r) {
  if (!lac_params(r)) return false;
  r->out[0] = r->in[0];
  return true;
}

/* d alpha, d mu, d beta; a fourth result (passes/fuse.c) is the bias
 * gradient of the same error, [C], which the kernel sums from the
 * per-element batch sums it has: per element only (per channel, its sums
 * run in another order than bias_grad's). */
bool rule_compensation_grad(Rule *r) {
  const char *g = node_str(r->n, "granularity");
  if (r->n->nout == 4 && g && strcmp(g, "channel") == 0)
    return fail(r, ": ", "a bias gradient result needs granularity \"element\"");
  if (!lac_params(r)) return false;
  for (int i = 0; i < 3; i++) r->out[i] = r->expect[i + 1];
  return r->n->nout < 4 ||
         set_type(r, &r->out[3], r->in[0].dtype, 1, &r->in[0].shape.dim[1]);
}

bool shape_rule(const Node *n, const TensorType *in, TensorType *expect_in, TensorType *out,
                char *err, size_t errlen) {
  Rule r = {n, in, expect_in, out, err, errlen};
  if (errlen) err[0] = 0;
  const OpInfo *info = op_info(n->op);
  if (!info) return fail(&r, ": ", "unknown op");
  if (n->nin < info->min_in || n->nin > info->max_in || !op_result_count_ok(info, n->nout))
    return fail(&r, ": ", "has %d operands and %d results", n->nin, n->nout);
  for (int i = 0; i < n->nin; i++) expect_in[i] = in[i];
  if (!info->shape(&r)) return false;
  /* The rules compute shapes; dtypes are the registry's. */
  DType t = op_elem_type(n, in);
  for (int i = 0; i < n->nin; i++)
    expect_in[i].dtype = dtype_slot_resolve(info->in_types[i], t);
  for (int j = 0; j < n->nout; j++) out[j].dtype = dtype_slot_resolve(info->out_types[j], t);
  for (int i = 0; i < n->nin; i++)
    if (expect_in[i].dtype != in[i].dtype) {
      char b1[200], b2[200];
      return fail(&r, ": ", "%s '%s' is %s but must be %s", role(n, i), n->in[i]->name,
                  ty(&in[i], b1, sizeof b1), ty(&expect_in[i], b2, sizeof b2));
    }
  return true;
}

DType op_elem_type(const Node *n, const TensorType *in) {
  const OpInfo *info = op_info(n->op);
  for (int i = 0; i < n->nin && i < info->max_in; i++) {
    if (info->in_types[i] != DTS_T) continue;
    if (!in && !n->in[i]) break;
    DType t = in ? in[i].dtype : n->in[i]->type.dtype;
    if (info->elem_types >> t & 1u) return t;
    break;
  }
  /* No T operand, or one of a dtype the op does not take: the op's first
   * element type, so that messages say what the operand must be. */
  for (int d = 0; d < DT_COUNT; d++)
    if (info->elem_types >> d & 1u) return (DType)d;
  return DT_F32;
}

/* Spatial product per sample: MACs of one output element times the output
 * elements, with checked arithmetic; -1 if unknown or it overflows. */
static int64_t product(const int64_t *f, int count) {
  int64_t p = 1;
  for (int i = 0; i < count; i++)
    if (!mul_ok(p, f[i], &p)) return -1;
  return p;
}

/* MACs of a conv2d with input channels c, output [f, oh, ow] per sample. */
static int64_t conv_macs(const Node *n, int64_t c, int64_t f, int64_t oh, int64_t ow) {
  int64_t groups = node_int(n, "groups", 1);
  if (groups < 1) return -1;
  int64_t fs[6] = {oh, ow, f, c / groups, node_ints(n, "kernel", 0, -1),
                   node_ints(n, "kernel", 1, -1)};
  return product(fs, 6);
}

/* x [N,C,H,W] -> y [N,F,OH,OW]. */
int64_t macs_conv2d(const Node *n) {
  const Shape *x = &n->in[0]->type.shape, *y = &n->out[0]->type.shape;
  if (x->rank != 4 || y->rank != 4 || !shape_known(x) || !shape_known(y)) return -1;
  return conv_macs(n, x->dim[1], y->dim[1], y->dim[2], y->dim[3]);
}

/* (x, dy) -> dw: the forward's products. */
int64_t macs_conv2d_grad_weight(const Node *n) {
  const Shape *x = &n->in[0]->type.shape, *dy = &n->in[1]->type.shape;
  if (x->rank != 4 || dy->rank != 4 || !shape_known(x) || !shape_known(dy)) return -1;
  return conv_macs(n, x->dim[1], dy->dim[1], dy->dim[2], dy->dim[3]);
}

/* (dy [N,F,OH,OW], w) -> dx [N,C,H,W]. */
int64_t macs_conv2d_grad_input(const Node *n) {
  const Shape *dy = &n->in[0]->type.shape, *dx = &n->out[0]->type.shape;
  if (dy->rank != 4 || dx->rank != 4 || !shape_known(dy) || !shape_known(dx)) return -1;
  return conv_macs(n, dx->dim[1], dy->dim[1], dy->dim[2], dy->dim[3]);
}

/* units x features products: the weight is operand 1 (dense, dense_grad_input). */
int64_t macs_dense(const Node *n) {
  const Shape *w = &n->in[1]->type.shape;
  return w->rank == 2 && shape_known(w) ? product(w->dim, 2) : -1;
}

/* ... or the result (dense_grad_weight). */
int64_t macs_dense_grad_weight(const Node *n) {
  const Shape *w = &n->out[0]->type.shape;
  return w->rank == 2 && shape_known(w) ? product(w->dim, 2) : -1;
}

/* The int8 products: their fp32 twin's count, on the operands without
 * scales. */
int64_t macs_int8_product(const Node *n) {
  Node twin = *n;
  Value *vin[3];
  int lac = product_epilogue_operands(n);
  twin.op = int8_twin(n->op);
  twin.nin = n->nin - lac - 2;
  if (twin.nin < 2) return -1;
  twin.in = vin;
  for (int i = 0; i < twin.nin; i++) vin[i] = n->in[i < 2 ? 2 * i : 4];
  return op_info(twin.op)->macs(&twin);
}

int64_t node_macs_per_sample(const Node *n, int batch) {
  (void)batch; /* per sample: independent of the batch */
  const OpInfo *info = op_info(n->op);
  if (!info || !info->macs || n->nin < 2 || n->nout < 1) return 0;
  return info->macs(n);
}
