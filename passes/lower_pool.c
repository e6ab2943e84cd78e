/* Lowering of the pooling ops and their gradients: maxpool, avgpool (padded
 * zeros count, PyTorch's count_include_pad=True), global_avgpool, and
 * maxpool_grad / avgpool_grad / global_avgpool_grad. Tensors are NCHW; every
 * kernel walks the n*C planes of its batch one after the other.
 *
 * Loop orders (docs/lowering.md, "## pooling"): the windowed ops keep one
 * output row in flight and, for each window tap (kh, kw), sweep that row with
 * the innermost loop over ow, which is independent per iteration and so
 * vectorises; the padding is handled by clamping the loop bounds (kh at run
 * time, kw at compile time) instead of testing every element. maxpool_grad
 * finds each window's argmax once (scalar scan, first maximum wins) and
 * scatters dy there. global_avgpool sums each contiguous H*W plane into
 * LANES independent partial sums. */
#include <math.h>
#include <string.h>

#include "lower.h"

/* Partial sums per plane: wide enough for one AVX-512 vector of f32. */
enum { LANES = 16 };

/* The window geometry: x is the pooled input [N,C,H,W], y the pooled
 * result [N,C,OH,OW]. */
typedef struct Pool {
  int64_t c, h, w, oh, ow;
  int64_t kh, kw, sh, sw, ph, pw;
} Pool;

static Pool pool_geom(const Node *n, const Value *x, const Value *y) {
  Pool g;
  g.c = x->type.shape.dim[1];
  g.h = x->type.shape.dim[2];
  g.w = x->type.shape.dim[3];
  g.oh = y->type.shape.dim[2];
  g.ow = y->type.shape.dim[3];
  g.kh = node_ints(n, "kernel", 0, 1);
  g.kw = node_ints(n, "kernel", 1, 1);
  g.sh = node_ints(n, "stride", 0, 1);
  g.sw = node_ints(n, "stride", 1, 1);
  g.ph = node_ints(n, "pad", 0, 0);
  g.pw = node_ints(n, "pad", 1, 0);
  return g;
}

static LExpr *fbin(Lower *L, LBinOp op, LExpr *a, LExpr *b) { return le_bin(L->p, op, a, b); }

/* for v in [lo, hi) */
static LStmt *range(Lower *L, LVar *v, LExpr *lo, LExpr *hi, unsigned hints, LStmt *body) {
  return ls_for(L->p, v, lo, hi, 1, hints, body);
}

/* The output columns [lo, hi) whose tap kw lands inside the input row:
 * 0 <= ow*sw + kw - pw < w. Known at compile time. */
static void tap_columns(const Pool *g, int64_t kw, int64_t *lo, int64_t *hi) {
  int64_t first = 0;
  if (g->pw > kw) first = (g->pw - kw + g->sw - 1) / g->sw;
  int64_t last = (g->w - 1 + g->pw - kw) / g->sw + 1; /* one past */
  *lo = first;
  *hi = last < g->ow ? last : g->ow;
}

/* Windows wider than TAP_LOOP_FROM taps per row are not unrolled: the kw
 * taps become a loop whose column range is computed at run time (compile
 * time and C size stay linear in the kernel). The same taps in the same
 * order, so the same results bit for bit. */
enum { TAP_LOOP_FROM = 64 };

/* tap_columns for a tap kw that is a loop variable: lo and hi declared with
 * the same truncating divisions at run time. */
static LStmt *tap_columns_at(Lower *L, const Pool *g, LVar *kw, LVar *lo, LVar *hi) {
  LExpr *first = sub(L, ci(L, g->pw + g->sw - 1), ve(L, kw));
  LExpr *last = sub(L, ci(L, g->w - 1 + g->pw), ve(L, kw));
  if (g->sw != 1) {
    first = fbin(L, LB_DIV, first, ci(L, g->sw));
    last = fbin(L, LB_DIV, last, ci(L, g->sw));
  }
  return seq(ls_let(L->p, lo, fbin(L, LB_MAX, ci(L, 0), first)),
             ls_let(L->p, hi, fbin(L, LB_MIN, add(L, last, ci(L, 1)), ci(L, g->ow))));
}

/* The taps of output position o (along one axis: window k, stride st, pad
 * pd, input extent len) that land inside the input:
 * [max(0, pd - o*st), min(k, len + pd - o*st)). Never empty: pad < window
 * (shape rules). */
static LExpr *taps_lo(Lower *L, int64_t st, int64_t pd, LVar *o) {
  return fbin(L, LB_MAX, ci(L, 0), sub(L, ci(L, pd), mul(L, ve(L, o), ci(L, st))));
}

static LExpr *taps_hi(Lower *L, int64_t k, int64_t len, int64_t st, int64_t pd, LVar *o) {
  return fbin(L, LB_MIN, ci(L, k), sub(L, ci(L, len + pd), mul(L, ve(L, o), ci(L, st))));
}

static LExpr *tap_rows_lo(Lower *L, const Pool *g, LVar *oh) { return taps_lo(L, g->sh, g->ph, oh); }

static LExpr *tap_rows_hi(Lower *L, const Pool *g, LVar *oh) {
  return taps_hi(L, g->kh, g->h, g->sh, g->ph, oh);
}

/* Input row index of tap kh for output row oh: oh*sh - ph + kh. */
static LExpr *input_row(Lower *L, const Pool *g, LVar *oh, LVar *kh) {
  return add(L, sub(L, mul(L, ve(L, oh), ci(L, g->sh)), ci(L, g->ph)), ve(L, kh));
}

/* Unpadded windows of at most WINDOW_MAX taps are computed whole: one
 * expression over the taps per output element, one store, no running row. */
enum { WINDOW_MAX = 25 };

static bool whole_windows(const Pool *g) {
  return g->ph == 0 && g->pw == 0 && g->kh * g->kw <= WINDOW_MAX;
}

/* maxpool / avgpool forward without padding: y[oh, ow] = the taps combined
 * in row-major order, max(max(x00, x01), ...) or (0 + x00 + x01 + ...) / (kh*kw)
 * (the same operations in the same order as the running-row form below, so
 * the same result bit for bit). */
static bool lower_pool_fwd_whole(Lower *L, const Node *n, const Pool *g, bool is_max) {
  LProgram *p = L->p;
  LBuffer *x = vbuf(L, n->in[0]), *y = vbuf(L, n->out[0]);
  LVar *pl = lv_loop(L, "p"), *oh = lv_loop(L, "oh"), *ow = lv_loop(L, "ow");
  LVar *xr = lv_local(L, "xr", DT_I32);
  LExpr *acc = is_max ? NULL : cf(L, 0);
  for (int64_t kh = 0; kh < g->kh; kh++)
    for (int64_t kw = 0; kw < g->kw; kw++) {
      LExpr *xi = add(L, add(L, ve(L, xr), mul(L, ve(L, ow), ci(L, g->sw))), ci(L, kh * g->w + kw));
      LExpr *v = ld(L, x, xi);
      acc = !acc ? v : fbin(L, is_max ? LB_MAX : LB_ADD, acc, v);
    }
  if (!is_max) acc = fbin(L, LB_MUL, acc, cf(L, (float)(1.0 / (double)(g->kh * g->kw))));
  LExpr *yi = add(L, add(L, mul(L, ve(L, pl), ci(L, g->oh * g->ow)), mul(L, ve(L, oh), ci(L, g->ow))),
                  ve(L, ow));
  LStmt *line = loop(L, ow, ci(L, g->ow), LHINT_VECTORIZE, ls_store(p, y, yi, acc));
  LStmt *row = seq(ls_let(p, xr, add(L, mul(L, ve(L, pl), ci(L, g->h * g->w)),
                                     mul(L, ve(L, oh), ci(L, g->sh * g->w)))),
                   line);
  LExpr *planes = mul(L, batch_n(L), ci(L, g->c));
  lower_kernel_body(L, loop(L, pl, planes, 0, loop(L, oh, ci(L, g->oh), 0, row)));
  return true;
}

/* maxpool / avgpool forward. Per plane p and output row oh:
 *   y[row + ow] = init                          (ow vectorised)
 *   for each valid tap (kh, kw): y[row + ow] = op(y[row + ow], x[...])
 *   avgpool: y[row + ow] *= 1/(kh*kw) */
static bool lower_pool_fwd(Lower *L, const Node *n, bool is_max) {
  LProgram *p = L->p;
  const Value *xv = n->in[0], *yv = n->out[0];
  Pool g = pool_geom(n, xv, yv);
  lower_kernel(L, n, "fwd", L->entries);
  if (whole_windows(&g)) return lower_pool_fwd_whole(L, n, &g, is_max);
  LBuffer *x = vbuf(L, xv), *y = vbuf(L, yv);
  LVar *pl = lv_loop(L, "p"), *oh = lv_loop(L, "oh"), *kh = lv_loop(L, "kh");
  LVar *yr = lv_local(L, "yr", DT_I32), *xr = lv_local(L, "xr", DT_I32);

  /* yr: start of the output row; xr: start of the tap's input row. */
  LStmt *row = ls_let(p, yr, add(L, mul(L, ve(L, pl), ci(L, g.oh * g.ow)),
                                 mul(L, ve(L, oh), ci(L, g.ow))));
  LVar *o0 = lv_loop(L, "ow");
  LStmt *init = range(L, o0, ci(L, 0), ci(L, g.ow), LHINT_VECTORIZE,
                      ls_store(p, y, add(L, ve(L, yr), ve(L, o0)),
                               cf(L, is_max ? -INFINITY : 0.0f)));
  LBlock taps = {0};
  lblock_add(&taps, ls_let(p, xr, add(L, mul(L, ve(L, pl), ci(L, g.h * g.w)),
                                     mul(L, input_row(L, &g, oh, kh), ci(L, g.w)))));
  if (g.kw > TAP_LOOP_FROM) {
    LVar *kw = lv_loop(L, "kw"), *o = lv_loop(L, "ow");
    LVar *lo = lv_local(L, "owlo", DT_I32), *hi = lv_local(L, "owhi", DT_I32);
    LExpr *xi = sub(L, add(L, add(L, ve(L, xr), mul(L, ve(L, o), ci(L, g.sw))), ve(L, kw)),
                    ci(L, g.pw));
    LExpr *val = fbin(L, is_max ? LB_MAX : LB_ADD, ld(L, y, add(L, ve(L, yr), ve(L, o))),
                      ld(L, x, xi));
    LStmt *run = range(L, o, ve(L, lo), ve(L, hi), LHINT_VECTORIZE,
                       ls_store(p, y, add(L, ve(L, yr), ve(L, o)), val));
    lblock_add(&taps, loop(L, kw, ci(L, g.kw), 0, seq(tap_columns_at(L, &g, kw, lo, hi), run)));
  }
  for (int64_t kw = 0; kw < g.kw && g.kw <= TAP_LOOP_FROM; kw++) {
    int64_t lo, hi;
    tap_columns(&g, kw, &lo, &hi);
    if (lo >= hi) continue;
    LVar *o = lv_loop(L, "ow");
    LExpr *xi = add(L, add(L, ve(L, xr), mul(L, ve(L, o), ci(L, g.sw))), ci(L, kw - g.pw));
    LExpr *cur = ld(L, y, add(L, ve(L, yr), ve(L, o)));
    LExpr *val = fbin(L, is_max ? LB_MAX : LB_ADD, cur, ld(L, x, xi));
    lblock_add(&taps, range(L, o, ci(L, lo), ci(L, hi), LHINT_VECTORIZE,
                            ls_store(p, y, add(L, ve(L, yr), ve(L, o)), val)));
  }
  LStmt *body = seq3(row, init,
                     range(L, kh, tap_rows_lo(L, &g, oh), tap_rows_hi(L, &g, oh), 0, taps.first));
  if (!is_max) {
    LVar *o = lv_loop(L, "ow");
    LExpr *scaled = fbin(L, LB_MUL, ld(L, y, add(L, ve(L, yr), ve(L, o))),
                         cf(L, (float)(1.0 / (double)(g.kh * g.kw))));
    body = seq(body, range(L, o, ci(L, 0), ci(L, g.ow), LHINT_VECTORIZE,
                           ls_store(p, y, add(L, ve(L, yr), ve(L, o)), scaled)));
  }
  LExpr *planes = mul(L, batch_n(L), ci(L, g.c));
  lower_kernel_body(L, loop(L, pl, planes, 0, loop(L, oh, ci(L, g.oh), 0, body)));
  return true;
}

/* dx[base + i] = 0 for the plane's h*w elements. */
static LStmt *zero_plane(Lower *L, LBuffer *dx, LVar *base, int64_t len) {
  LVar *i = lv_loop(L, "i");
  return loop(L, i, ci(L, len), LHINT_VECTORIZE,
              ls_store(L->p, dx, add(L, ve(L, base), ve(L, i)), cf(L, 0)));
}

/* maxpool_grad for unpadded windows that tile the input (kernel == stride):
 * every input element is in at most one window, so dx is written, not
 * accumulated. Per window the argmax is found without branches (the first
 * strict maximum in row-major tap order, as the general scan below: best
 * starts at -inf and tap 0 is the fallback, so a window of -inf or NaN
 * routes to its first tap), then the taps are zeroed and dy is stored at the
 * winner. Inputs past the
 * last whole window (H or W not a multiple of the stride) are zeroed first. */
static bool tiling_windows(const Pool *g) {
  return whole_windows(g) && g->kh == g->sh && g->kw == g->sw;
}

/* d = dy where the saved int8 activation at `at` is positive, else 0: a
 * fused relu_grad_i8 (passes/fuse.c, maxpool_grad_i8's epilogue
 * "relu_grad"), selected as relu_grad_i8's kernel does (dy in a local: a
 * select between values). */
static LStmt *masked_dy(Lower *L, LBuffer *x, LExpr *at, LExpr *dy, LVar *d) {
  return ls_let(L->p, d, relu_mask(L, ld_f32(L, x, at), dy));
}

static bool relu_grad_epilogue(const Node *n) {
  const char *e = node_str(n, "epilogue");
  return e && strcmp(e, "relu_grad") == 0;
}

static void lower_maxpool_grad_tiled(Lower *L, const Pool *g, LBuffer *dy, LBuffer *x, LBuffer *dx,
                                     bool relu_mask) {
  LProgram *p = L->p;
  LVar *pl = lv_loop(L, "p"), *oh = lv_loop(L, "oh"), *ow = lv_loop(L, "ow");
  LVar *base = lv_local(L, "base", DT_I32), *xw = lv_local(L, "xw", DT_I32);
  LVar *best = lv_local(L, "best", DT_F32), *arg = lv_local(L, "arg", DT_I32);
  int64_t taps = g->kh * g->kw;
  LVar *v[WINDOW_MAX];
  LBlock win = {0};
  /* xw: the window's first input element; tap t is at xw + its offset */
  LExpr *xw0 = add(L, add(L, ve(L, base), mul(L, ve(L, oh), ci(L, g->sh * g->w))),
                   mul(L, ve(L, ow), ci(L, g->sw)));
  lblock_add(&win, ls_let(p, xw, xw0));
  for (int64_t t = 0; t < taps; t++) {
    v[t] = lv_local(L, "v", DT_F32);
    lblock_add(&win, ls_let(p, v[t], ld_f32(L, x, add(L, ve(L, xw), ci(L, t / g->kw * g->w + t % g->kw)))));
  }
  /* arg is the winning tap's offset: the stores below need no compare on
   * it (compares on arg let gcc turn the selects back into branches). */
  lblock_add(&win, ls_let(p, best, cf(L, -INFINITY)));
  lblock_add(&win, ls_let(p, arg, ci(L, 0)));
  for (int64_t t = 0; t < taps; t++) {
    LVar *c = lv_local(L, "c", DT_I32);
    int64_t off = t / g->kw * g->w + t % g->kw;
    lblock_add(&win, ls_let(p, c, fbin(L, LB_GT, ve(L, v[t]), ve(L, best))));
    if (t + 1 < taps) lblock_add(&win, ls_assign(p, best, le_select(p, ve(L, c), ve(L, v[t]), ve(L, best))));
    /* arg = c ? off : arg as bit operations, arg ^ ((arg ^ off) & -c): as a
     * select gcc -O2 branched on it (mispredicted on a third of windows) */
    LExpr *diff = fbin(L, LB_AND, fbin(L, LB_XOR, ve(L, arg), ci(L, off)), le_un(p, LU_NEG, ve(L, c)));
    lblock_add(&win, ls_assign(p, arg, fbin(L, LB_XOR, ve(L, arg), diff)));
  }
  for (int64_t t = 0; t < taps; t++)
    lblock_add(&win, ls_store(p, dx, add(L, ve(L, xw), ci(L, t / g->kw * g->w + t % g->kw)), cf(L, 0)));
  LExpr *dyi = add(L, add(L, mul(L, ve(L, pl), ci(L, g->oh * g->ow)), mul(L, ve(L, oh), ci(L, g->ow))),
                   ve(L, ow));
  if (relu_mask) {
    LVar *dv = lv_local(L, "dy", DT_F32), *d = lv_local(L, "d", DT_F32);
    lblock_add(&win, ls_let(p, dv, ld(L, dy, dyi)));
    lblock_add(&win, masked_dy(L, x, add(L, ve(L, xw), ve(L, arg)), ve(L, dv), d));
    lblock_add(&win, ls_store(p, dx, add(L, ve(L, xw), ve(L, arg)), ve(L, d)));
  } else {
    lblock_add(&win, ls_store(p, dx, add(L, ve(L, xw), ve(L, arg)), ld(L, dy, dyi)));
  }
  bool covered = g->oh * g->sh == g->h && g->ow * g->sw == g->w;
  LStmt *plane = seq3(ls_let(p, base, mul(L, ve(L, pl), ci(L, g->h * g->w))),
                      covered ? NULL : zero_plane(L, dx, base, g->h * g->w),
                      loop(L, oh, ci(L, g->oh), 0, loop(L, ow, ci(L, g->ow), 0, win.first)));
  lower_kernel_body(L, loop(L, pl, mul(L, batch_n(L), ci(L, g->c)), 0, plane));
}

/* maxpool_grad(dy, x): per window, one scalar scan in row-major tap order
 * keeps the first maximum (strict >), then dx[arg] += dy. Padded taps are
 * outside the clamped bounds, so they never win. */
bool lower_maxpool_grad(Lower *L, const Node *n, LowerMode mode) {
  (void)mode;
  LProgram *p = L->p;
  const Value *dyv = n->in[0], *xv = n->in[1], *dxv = n->out[0];
  Pool g = pool_geom(n, xv, dyv);
  LBuffer *dy = vbuf(L, dyv), *x = vbuf(L, xv), *dx = vbuf(L, dxv);
  lower_kernel(L, n, "dx", L->entries);
  if (tiling_windows(&g)) {
    lower_maxpool_grad_tiled(L, &g, dy, x, dx, relu_grad_epilogue(n));
    return true;
  }
  LVar *pl = lv_loop(L, "p"), *oh = lv_loop(L, "oh"), *ow = lv_loop(L, "ow");
  LVar *kh = lv_loop(L, "kh"), *kw = lv_loop(L, "kw");
  LVar *base = lv_local(L, "base", DT_I32), *h0 = lv_local(L, "h0", DT_I32);
  LVar *h1 = lv_local(L, "h1", DT_I32), *w0 = lv_local(L, "w0", DT_I32);
  LVar *w1 = lv_local(L, "w1", DT_I32), *best = lv_local(L, "best", DT_F32);
  LVar *arg = lv_local(L, "arg", DT_I32), *idx = lv_local(L, "idx", DT_I32);
  LVar *v = lv_local(L, "v", DT_F32), *dyi = lv_local(L, "dyi", DT_I32);

  LExpr *row0 = sub(L, mul(L, ve(L, oh), ci(L, g.sh)), ci(L, g.ph));
  LStmt *bounds = seq(ls_let(p, w0, taps_lo(L, g.sw, g.pw, ow)),
                      ls_let(p, w1, taps_hi(L, g.kw, g.w, g.sw, g.pw, ow)));
  /* idx = base + (row0 + kh) * w + col0 + kw */
  LExpr *at = add(L, add(L, ve(L, base),
                         mul(L, add(L, sub(L, mul(L, ve(L, oh), ci(L, g.sh)), ci(L, g.ph)),
                                    ve(L, kh)),
                             ci(L, g.w))),
                  add(L, sub(L, mul(L, ve(L, ow), ci(L, g.sw)), ci(L, g.pw)), ve(L, kw)));
  /* branch-free: c = v > best; best = c ? v : best; arg = c ? idx : arg */
  LVar *c = lv_local(L, "c", DT_I32);
  LBlock tap_b = {0};
  lblock_add(&tap_b, ls_let(p, idx, at));
  lblock_add(&tap_b, ls_let(p, v, ld_f32(L, x, ve(L, idx))));
  lblock_add(&tap_b, ls_let(p, c, fbin(L, LB_GT, ve(L, v), ve(L, best))));
  lblock_add(&tap_b, ls_assign(p, best, le_select(p, ve(L, c), ve(L, v), ve(L, best))));
  lblock_add(&tap_b, ls_assign(p, arg, le_select(p, ve(L, c), ve(L, idx), ve(L, arg))));
  LStmt *tap = tap_b.first;
  LStmt *scan = range(L, kh, ve(L, h0), ve(L, h1), 0,
                      range(L, kw, ve(L, w0), ve(L, w1), 0, tap));
  /* arg starts at the first valid tap, so a window of -inf still routes. */
  LExpr *first = add(L, add(L, ve(L, base), mul(L, add(L, row0, ve(L, h0)), ci(L, g.w))),
                     add(L, sub(L, mul(L, ve(L, ow), ci(L, g.sw)), ci(L, g.pw)), ve(L, w0)));
  LExpr *dy_at = add(L, add(L, mul(L, ve(L, pl), ci(L, g.oh * g.ow)),
                            mul(L, ve(L, oh), ci(L, g.ow))),
                     ve(L, ow));
  LStmt *route = ls_store(p, dx, ve(L, arg),
                          fbin(L, LB_ADD, ld(L, dx, ve(L, arg)), ld(L, dy, ve(L, dyi))));
  if (relu_grad_epilogue(n)) {
    LVar *dv = lv_local(L, "dy", DT_F32), *d = lv_local(L, "d", DT_F32);
    route = seq3(ls_let(p, dv, ld(L, dy, ve(L, dyi))),
                 masked_dy(L, x, ve(L, arg), ve(L, dv), d),
                 ls_store(p, dx, ve(L, arg), fbin(L, LB_ADD, ld(L, dx, ve(L, arg)), ve(L, d))));
  }
  LBlock win = {0};
  lblock_add(&win, bounds);
  lblock_add(&win, ls_let(p, best, cf(L, -INFINITY)));
  lblock_add(&win, ls_let(p, arg, first));
  lblock_add(&win, scan);
  lblock_add(&win, ls_let(p, dyi, dy_at));
  lblock_add(&win, route);

  LStmt *rows = seq3(ls_let(p, h0, tap_rows_lo(L, &g, oh)), ls_let(p, h1, tap_rows_hi(L, &g, oh)),
                     loop(L, ow, ci(L, g.ow), 0, win.first));
  LStmt *plane = seq3(ls_let(p, base, mul(L, ve(L, pl), ci(L, g.h * g.w))),
                      zero_plane(L, dx, base, g.h * g.w), loop(L, oh, ci(L, g.oh), 0, rows));
  lower_kernel_body(L, loop(L, pl, mul(L, batch_n(L), ci(L, g.c)), 0, plane));
  return true;
}

/* avgpool_grad(dy): the forward's loop nest with the data flow reversed:
 * per tap, dx[row + ow*sw + kw - pw] += dy[ow] / (kh*kw); distinct ow hit
 * distinct dx elements, so the ow loop vectorises. */
bool lower_avgpool_grad(Lower *L, const Node *n, LowerMode mode) {
  (void)mode;
  LProgram *p = L->p;
  const Value *dyv = n->in[0], *dxv = n->out[0];
  Pool g = pool_geom(n, dxv, dyv);
  LBuffer *dy = vbuf(L, dyv), *dx = vbuf(L, dxv);
  lower_kernel(L, n, "dx", L->entries);
  LVar *pl = lv_loop(L, "p"), *oh = lv_loop(L, "oh"), *kh = lv_loop(L, "kh");
  LVar *base = lv_local(L, "base", DT_I32), *yr = lv_local(L, "yr", DT_I32);
  LVar *xr = lv_local(L, "xr", DT_I32);
  float inv = (float)(1.0 / (double)(g.kh * g.kw));

  LBlock taps = {0};
  lblock_add(&taps, ls_let(p, xr, add(L, ve(L, base), mul(L, input_row(L, &g, oh, kh), ci(L, g.w)))));
  if (g.kw > TAP_LOOP_FROM) {
    LVar *kw = lv_loop(L, "kw"), *o = lv_loop(L, "ow");
    LVar *lo = lv_local(L, "owlo", DT_I32), *hi = lv_local(L, "owhi", DT_I32);
    LExpr *at[2];
    for (int i = 0; i < 2; i++)
      at[i] = sub(L, add(L, add(L, ve(L, xr), mul(L, ve(L, o), ci(L, g.sw))), ve(L, kw)),
                  ci(L, g.pw));
    LExpr *contrib = fbin(L, LB_MUL, ld(L, dy, add(L, ve(L, yr), ve(L, o))), cf(L, inv));
    LStmt *run = range(L, o, ve(L, lo), ve(L, hi), LHINT_VECTORIZE,
                       ls_store(p, dx, at[0], fbin(L, LB_ADD, ld(L, dx, at[1]), contrib)));
    lblock_add(&taps, loop(L, kw, ci(L, g.kw), 0, seq(tap_columns_at(L, &g, kw, lo, hi), run)));
  }
  for (int64_t kw = 0; kw < g.kw && g.kw <= TAP_LOOP_FROM; kw++) {
    int64_t lo, hi;
    tap_columns(&g, kw, &lo, &hi);
    if (lo >= hi) continue;
    LVar *o = lv_loop(L, "ow");
    LExpr *xi = add(L, add(L, ve(L, xr), mul(L, ve(L, o), ci(L, g.sw))), ci(L, kw - g.pw));
    LExpr *xi2 = add(L, add(L, ve(L, xr), mul(L, ve(L, o), ci(L, g.sw))), ci(L, kw - g.pw));
    LExpr *contrib = fbin(L, LB_MUL, ld(L, dy, add(L, ve(L, yr), ve(L, o))), cf(L, inv));
    lblock_add(&taps, range(L, o, ci(L, lo), ci(L, hi), LHINT_VECTORIZE,
                            ls_store(p, dx, xi, fbin(L, LB_ADD, ld(L, dx, xi2), contrib))));
  }
  LStmt *row = seq(ls_let(p, yr, add(L, mul(L, ve(L, pl), ci(L, g.oh * g.ow)),
                                     mul(L, ve(L, oh), ci(L, g.ow)))),
                   range(L, kh, tap_rows_lo(L, &g, oh), tap_rows_hi(L, &g, oh), 0, taps.first));
  LStmt *plane = seq3(ls_let(p, base, mul(L, ve(L, pl), ci(L, g.h * g.w))),
                      zero_plane(L, dx, base, g.h * g.w), loop(L, oh, ci(L, g.oh), 0, row));
  lower_kernel_body(L, loop(L, pl, mul(L, batch_n(L), ci(L, g.c)), 0, plane));
  return true;
}

/* global_avgpool: y[p] = mean of plane p. The plane sum goes into LANES
 * independent partial sums (a scratch row, inner loop vectorised), then the
 * lanes and the tail are added in a fixed order. */
bool lower_global_avgpool(Lower *L, const Node *n, LowerMode mode) {
  (void)mode;
  LProgram *p = L->p;
  const Value *xv = n->in[0];
  int64_t c = xv->type.shape.dim[1], hw = xv->type.shape.dim[2] * xv->type.shape.dim[3];
  LBuffer *x = vbuf(L, xv), *y = vbuf(L, n->out[0]);
  lower_kernel(L, n, "fwd", L->entries);
  LVar *pl = lv_loop(L, "p"), *base = lv_local(L, "base", DT_I32);
  LVar *acc = lv_local(L, "acc", DT_F32);
  int64_t blocks = hw / LANES;
  LBlock body = {0};
  lblock_add(&body, ls_let(p, base, mul(L, ve(L, pl), ci(L, hw))));
  lblock_add(&body, ls_let(p, acc, cf(L, 0)));
  if (blocks > 0) {
    LBuffer *part = scratch(L, "lanes", DT_F32, LANES);
    LVar *j0 = lv_loop(L, "j"), *blk = lv_loop(L, "blk"), *j = lv_loop(L, "j");
    LVar *j2 = lv_loop(L, "j"), *o = lv_local(L, "o", DT_I32);
    lblock_add(&body, loop(L, j0, ci(L, LANES), LHINT_VECTORIZE, ls_store(p, part, ve(L, j0), cf(L, 0))));
    LExpr *sum = fbin(L, LB_ADD, ld(L, part, ve(L, j)), ld(L, x, add(L, ve(L, o), ve(L, j))));
    LStmt *lane = loop(L, j, ci(L, LANES), LHINT_VECTORIZE, ls_store(p, part, ve(L, j), sum));
    lblock_add(&body, loop(L, blk, ci(L, blocks), 0,
                           seq(ls_let(p, o, add(L, ve(L, base), mul(L, ve(L, blk), ci(L, LANES)))),
                               lane)));
    lblock_add(&body, loop(L, j2, ci(L, LANES), 0,
                           ls_assign(p, acc, fbin(L, LB_ADD, ve(L, acc), ld(L, part, ve(L, j2))))));
  }
  if (blocks * LANES < hw) {
    LVar *i = lv_loop(L, "i");
    LExpr *term = ld(L, x, add(L, ve(L, base), ve(L, i)));
    lblock_add(&body, range(L, i, ci(L, blocks * LANES), ci(L, hw), 0,
                            ls_assign(p, acc, fbin(L, LB_ADD, ve(L, acc), term))));
  }
  lblock_add(&body, ls_store(p, y, ve(L, pl),
                             fbin(L, LB_MUL, ve(L, acc), cf(L, (float)(1.0 / (double)hw)))));
  lower_kernel_body(L, loop(L, pl, mul(L, batch_n(L), ci(L, c)), 0, body.first));
  return true;
}

/* global_avgpool_grad: dx[p, i] = dy[p] / (h*w), one broadcast per plane. */
bool lower_global_avgpool_grad(Lower *L, const Node *n, LowerMode mode) {
  (void)mode;
  LProgram *p = L->p;
  const Value *dxv = n->out[0];
  int64_t c = dxv->type.shape.dim[1], hw = dxv->type.shape.dim[2] * dxv->type.shape.dim[3];
  LBuffer *dy = vbuf(L, n->in[0]), *dx = vbuf(L, dxv);
  lower_kernel(L, n, "dx", L->entries);
  LVar *pl = lv_loop(L, "p"), *i = lv_loop(L, "i"), *v = lv_local(L, "v", DT_F32);
  LExpr *at = add(L, mul(L, ve(L, pl), ci(L, hw)), ve(L, i));
  LStmt *body = seq(ls_let(p, v, fbin(L, LB_MUL, ld(L, dy, ve(L, pl)),
                                      cf(L, (float)(1.0 / (double)hw)))),
                    loop(L, i, ci(L, hw), LHINT_VECTORIZE, ls_store(p, dx, at, ve(L, v))));
  lower_kernel_body(L, loop(L, pl, mul(L, batch_n(L), ci(L, c)), 0, body));
  return true;
}

bool lower_maxpool(Lower *L, const Node *n, LowerMode mode) {
  (void)mode; /* pooling means the same in training and inference */
  return lower_pool_fwd(L, n, true);
}

bool lower_avgpool(Lower *L, const Node *n, LowerMode mode) {
  (void)mode;
  return lower_pool_fwd(L, n, false);
}

/* --- the routed maxpool (passes/quantize.c) ---
 *
 * maxpool_route(x) = (y, route) for windows that tile x (kernel = stride,
 * no pad): y is maxpool's (the max of the taps in row-major order), route
 * the tap of the first strictly greatest value (a scan from -inf, tap 0
 * the fallback, as maxpool_grad's), or -1 under mask "relu" when that value
 * is not positive, where the relu's gradient is 0. One byte per window is
 * what backward keeps instead of the window's kh*kw inputs.
 *
 * maxpool_route_grad(dy, route)[p, i, j] = dy[p, i/kh, j/kw] when (i, j) is
 * its window's route, else 0: maxpool_grad followed by relu_grad on the
 * f32 values, exactly. routed_loop is that meaning: the kernel stores
 * every element, or, inlined (passes/fuse.c), each reader computes the
 * elements where it reads them (value_loop, lower.h) and dx is never
 * stored. */

LStmt *pool_route_window(Lower *L, const PoolRoute *pr, LBuffer *x, LExpr *xw, LVar **ymax,
                         LVar **route) {
  LProgram *p = L->p;
  int64_t taps = pr->kh * pr->kw;
  LVar *at = lv_local(L, "xw", DT_I32), *best = lv_local(L, "best", DT_F32);
  LVar *arg = lv_local(L, "arg", DT_I32), *y = lv_local(L, "ymax", DT_F32);
  LVar *v[WINDOW_MAX];
  LBlock b = {0};
  lblock_add(&b, ls_let(p, at, xw));
  LExpr *mx = NULL;
  for (int64_t t = 0; t < taps; t++) {
    v[t] = lv_local(L, "v", DT_F32);
    LExpr *off = ci(L, t / pr->kw * pr->row + t % pr->kw);
    lblock_add(&b, ls_let(p, v[t], ld(L, x, add(L, ve(L, at), off))));
    mx = mx ? fbin(L, LB_MAX, mx, ve(L, v[t])) : ve(L, v[t]);
  }
  lblock_add(&b, ls_let(p, y, mx));
  lblock_add(&b, ls_let(p, best, cf(L, -INFINITY)));
  lblock_add(&b, ls_let(p, arg, ci(L, 0)));
  for (int64_t t = 0; t < taps; t++) {
    LVar *c = lv_local(L, "c", DT_I32);
    lblock_add(&b, ls_let(p, c, fbin(L, LB_GT, ve(L, v[t]), ve(L, best))));
    if (t + 1 < taps || pr->relu_mask)
      lblock_add(&b, ls_assign(p, best, le_select(p, ve(L, c), ve(L, v[t]), ve(L, best))));
    lblock_add(&b, ls_assign(p, arg, le_select(p, ve(L, c), ci(L, t), ve(L, arg))));
  }
  if (pr->relu_mask)
    lblock_add(&b, ls_assign(p, arg, le_select(p, fbin(L, LB_GT, ve(L, best), cf(L, 0)),
                                               ve(L, arg), ci(L, -1))));
  *ymax = y;
  *route = arg;
  return b.first;
}

static bool route_relu_mask(const Node *n) {
  const char *m = node_str(n, "mask");
  return m && strcmp(m, "relu") == 0;
}

bool lower_maxpool_route(Lower *L, const Node *n, LowerMode mode) {
  (void)mode;
  LProgram *p = L->p;
  Pool g = pool_geom(n, n->in[0], n->out[0]);
  lower_kernel(L, n, "fwd", L->entries);
  LBuffer *x = vbuf(L, n->in[0]), *y = vbuf(L, n->out[0]), *route = vbuf(L, n->out[1]);
  LVar *pl = lv_loop(L, "p"), *oh = lv_loop(L, "oh"), *ow = lv_loop(L, "ow");
  LVar *yi = lv_local(L, "yi", DT_I32), *ymax, *arg;
  PoolRoute pr = {g.kh, g.kw, g.w, route_relu_mask(n)};
  LExpr *xw = add(L, add(L, mul(L, ve(L, pl), ci(L, g.h * g.w)), mul(L, ve(L, oh), ci(L, g.kh * g.w))),
                  mul(L, ve(L, ow), ci(L, g.kw)));
  LStmt *win = pool_route_window(L, &pr, x, xw, &ymax, &arg);
  LExpr *at = add(L, add(L, mul(L, ve(L, pl), ci(L, g.oh * g.ow)), mul(L, ve(L, oh), ci(L, g.ow))),
                  ve(L, ow));
  LStmt *body = seq3(win, ls_let(p, yi, at),
                     seq(ls_store(p, y, ve(L, yi), ve(L, ymax)),
                         ls_store(p, route, ve(L, yi), le_cast(p, DT_I8, ve(L, arg)))));
  LStmt *rows = loop(L, oh, ci(L, g.oh), 0, loop(L, ow, ci(L, g.ow), LHINT_VECTORIZE, body));
  lower_kernel_body(L, loop(L, pl, mul(L, batch_n(L), ci(L, g.c)), 0, rows));
  return true;
}

bool route_grad_inlined(const Node *n) {
  return n->op == OP_MAXPOOL_ROUTE_GRAD && node_int(n, "inline", 0) != 0;
}

/* The window at wi_at (an index into the pooled error and the route):
 * wi, its route and its error dy, as locals. */
static void read_window(Lower *L, const Node *n, LExpr *wi_at, LVar *wi, LVar *route, LVar *dy,
                        LBlock *out) {
  LProgram *p = L->p;
  lblock_add(out, ls_let(p, wi, wi_at));
  lblock_add(out, ls_let(p, route, le_cast(p, DT_I32, ld(L, vbuf(L, n->in[1]), ve(L, wi)))));
  lblock_add(out, ls_let(p, dy, ld(L, vbuf(L, n->in[0]), ve(L, wi))));
}

/* A routed gradient's planes: h x w elements, kh x kw windows, oh x ow of
 * them (ohw). */
typedef struct RouteGeom {
  int64_t h, w, kh, kw, oh, ow, ohw, hw;
} RouteGeom;

static RouteGeom route_geom(const Node *n) {
  RouteGeom g = {node_ints(n, "input_size", 0, 1), node_ints(n, "input_size", 1, 1),
                 node_ints(n, "kernel", 0, 1), node_ints(n, "kernel", 1, 1), 0, 0, 0, 0};
  g.oh = g.h / g.kh, g.ow = g.w / g.kw, g.ohw = g.oh * g.ow, g.hw = g.h * g.w;
  return g;
}

/* One window of a row (routed_loop): its route and error, then the body
 * per tap. */
typedef struct RoutedRow {
  const Node *n;
  RouteGeom g;
  const Value *v;
  LExpr *first;
  ElemBody body;
  void *ctx;
  LVar *oh, *o, *pj, *pw;
} RoutedRow;

static LStmt *routed_row_body(Lower *L, void *vctx) {
  const RoutedRow *r = vctx;
  LProgram *p = L->p;
  int64_t w = r->g.w, kh = r->g.kh, kw = r->g.kw, ow = r->g.ow;
  LVar *wi = lv_local(L, "wi", DT_I32), *route = lv_local(L, "route", DT_I32);
  LVar *dy = lv_local(L, "dy", DT_F32);
  LBlock win = {0};
  read_window(L, r->n, add(L, add(L, ve(L, r->pw), mul(L, ve(L, r->oh), ci(L, ow))), ve(L, r->o)),
              wi, route, dy, &win);
  for (int64_t t = 0; t < kh * kw; t++) {
    LVar *j = lv_local(L, "j", DT_I32);
    LExpr *row = add(L, mul(L, ve(L, r->oh), ci(L, kh)), ci(L, t / kw));
    LExpr *at = add(L, add(L, ve(L, r->pj), mul(L, row, ci(L, w))),
                    add(L, mul(L, ve(L, r->o), ci(L, kw)), ci(L, t % kw)));
    lblock_add(&win, ls_let(p, j, at));
    VElem e = {r->v, r->first, j, route, dy, t};
    lblock_add(&win, r->body(L, r->ctx, &e));
  }
  return win.first;
}

/* The elements of v (= maxpool_route_grad n's result) in count / (h*w)
 * whole planes from element `first`: per window, its route and error are
 * read once, then body runs for each tap with that tap's element, dy where
 * the tap is the route, else 0; a row's windows in chunked_loop's chunks. */
LStmt *routed_loop(Lower *L, const Node *n, const Value *v, LExpr *first, LExpr *count,
                   unsigned hints, bool per_window, ElemBody body, void *ctx) {
  LProgram *p = L->p;
  RouteGeom g = route_geom(n);
  int64_t ohw = g.ohw, hw = g.hw;
  LVar *q = lv_loop(L, "q");
  LExpr *plane0 = first ? fbin(L, LB_DIV, first, ci(L, hw)) : ci(L, 0);
  LExpr *planes = fbin(L, LB_DIV, count, ci(L, hw));
  if (per_window) {
    /* value_extrema_loop: the windows of whole planes are consecutive, so
     * one flat loop over them (no per-row remainder), the body once per
     * window with its routed element */
    LVar *wi = lv_local(L, "wi", DT_I32), *route = lv_local(L, "route", DT_I32);
    LVar *dy = lv_local(L, "dy", DT_F32);
    LBlock win = {0};
    read_window(L, n, add(L, mul(L, plane0, ci(L, ohw)), ve(L, q)), wi, route, dy, &win);
    VElem e = {v, first, NULL, route, dy, -1};
    lblock_add(&win, body(L, ctx, &e));
    return loop(L, q, mul(L, planes, ci(L, ohw)), hints, win.first);
  }
  RoutedRow r = {n, g, v, first, body, ctx, lv_loop(L, "oh"), lv_loop(L, "ow"),
                 lv_local(L, "pj", DT_I32), lv_local(L, "pw", DT_I32)};
  LStmt *rows = loop(L, r.oh, ci(L, g.oh), 0, chunked_loop(L, r.o, g.ow, hints, routed_row_body, &r));
  LStmt *plane = seq3(ls_let(p, r.pj, mul(L, ve(L, q), ci(L, hw))),
                      ls_let(p, r.pw, mul(L, add(L, plane0, ve(L, q)), ci(L, ohw))), rows);
  return loop(L, q, planes, 0, plane);
}

/* routed_loop in plane order, for sums over the batch (compensation_grad):
 * per plane, its windows in one flat vectorised loop (no per-row
 * remainder), the body once per tap t with e->j = plane * h*w + t * ohw +
 * window, so that every tap's elements are contiguous (in the natural
 * order they are kw apart, in rows of ow windows). routed_unplane puts a
 * buffer of such sums in the natural order. */
LStmt *routed_plane_loop(Lower *L, const Node *n, const Value *v, LExpr *first, LExpr *count,
                         ElemBody body, void *ctx) {
  LProgram *p = L->p;
  RouteGeom g = route_geom(n);
  int64_t ohw = g.ohw, hw = g.hw;
  LVar *pl = lv_loop(L, "pl"), *q = lv_loop(L, "q");
  LVar *wi = lv_local(L, "wi", DT_I32), *route = lv_local(L, "route", DT_I32);
  LVar *dy = lv_local(L, "dy", DT_F32);
  LExpr *plane0 = first ? fbin(L, LB_DIV, le_clone(p, first), ci(L, hw)) : ci(L, 0);
  LBlock win = {0};
  read_window(L, n, add(L, mul(L, add(L, plane0, ve(L, pl)), ci(L, ohw)), ve(L, q)), wi, route, dy,
              &win);
  for (int64_t t = 0; t < g.kh * g.kw; t++) {
    LVar *j = lv_local(L, "j", DT_I32);
    lblock_add(&win, ls_let(p, j, add(L, add(L, mul(L, ve(L, pl), ci(L, hw)), ci(L, t * ohw)), ve(L, q))));
    VElem e = {v, first, j, route, dy, t};
    lblock_add(&win, body(L, ctx, &e));
  }
  return loop(L, pl, fbin(L, LB_DIV, count, ci(L, hw)), 0, loop(L, q, ci(L, ohw), LHINT_VECTORIZE, win.first));
}

/* dst[natural] = src[plane order] for the `planes` planes of routed_plane_loop's
 * sums: the window taps only (rows and columns no window covers, when the
 * windows do not tile the plane, are left as they are). */
LStmt *routed_unplane(Lower *L, const Node *n, LBuffer *dst, LBuffer *src, int64_t planes) {
  LProgram *p = L->p;
  RouteGeom g = route_geom(n);
  int64_t w = g.w, kh = g.kh, kw = g.kw, oh = g.oh, ow = g.ow, ohw = g.ohw, hw = g.hw;
  LVar *pl = lv_loop(L, "pl"), *i = lv_loop(L, "i"), *a = lv_loop(L, "a"), *j = lv_loop(L, "j");
  LBlock taps = {0};
  for (int64_t b = 0; b < kw; b++) {
    LExpr *row = add(L, mul(L, ve(L, i), ci(L, kh)), ve(L, a));
    LExpr *to = add(L, add(L, mul(L, ve(L, pl), ci(L, hw)), mul(L, row, ci(L, w))),
                    add(L, mul(L, ve(L, j), ci(L, kw)), ci(L, b)));
    LExpr *tap = add(L, mul(L, ve(L, a), ci(L, kw)), ci(L, b));
    LExpr *from = add(L, add(L, mul(L, ve(L, pl), ci(L, hw)), mul(L, tap, ci(L, ohw))),
                      add(L, mul(L, ve(L, i), ci(L, ow)), ve(L, j)));
    lblock_add(&taps, ls_store(p, dst, to, ld(L, src, from)));
  }
  return loop(L, pl, ci(L, planes), 0,
              loop(L, i, ci(L, oh), 0, loop(L, a, ci(L, kh), 0, loop(L, j, ci(L, ow), LHINT_VECTORIZE, taps.first))));
}

static LStmt *store_routed(Lower *L, void *ctx, const VElem *e) {
  const Node *n = ctx;
  return ls_store(L->p, vbuf(L, n->out[0]), ve(L, e->j), elem_value(L, e));
}

bool route_grad_readers_route(const Graph *g, const Node *n, bool same_bits) {
  const Value *e = n->out[0];
  for (int i = 0; i < g->noutputs; i++)
    if (g->outputs[i] == e) return false;
  enum { MAX_READERS = 8 };
  Node *readers[MAX_READERS];
  int nr = value_users(g, e, readers, MAX_READERS);
  if (nr < 1 || nr > MAX_READERS) return false;
  for (int i = 0; i < nr; i++) {
    const Node *r = readers[i];
    if (r->op != OP_COMPENSATION_GRAD && r->op != OP_BIAS_GRAD && r->op != OP_QUANTIZE) return false;
    for (int k = 0; k < r->nin; k++)
      if ((k == 0) != (r->in[k] == e)) return false;
    const char *gran = node_str(r, "granularity"), *clip = node_str(r, "clip");
    if (same_bits && ((gran && strcmp(gran, "element") != 0) || (clip && strcmp(clip, "sigma") == 0)))
      return false;
  }
  return true;
}

bool lower_maxpool_route_grad(Lower *L, const Node *n, LowerMode mode) {
  (void)mode;
  if (route_grad_inlined(n)) { /* its readers route (value_loop) */
    if (route_grad_readers_route(L->g, n, false)) return true;
    char w[160];
    diag_error(L->d, n->loc, "lower: %s has inline = 1, but its result is a graph output or is "
               "read by an op other than compensation_grad, bias_grad and quantize (as their "
               "first operand), or has no reader", node_describe(n, w, sizeof w));
    return false;
  }
  lower_kernel(L, n, "dx", L->entries);
  lower_kernel_body(L, routed_loop(L, n, n->out[0], NULL, extent(L, n->out[0]),
                                   LHINT_VECTORIZE, false, store_routed, (void *)n));
  return true;
}
