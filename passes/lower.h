/* Lowering graph IR to loop IR: the shared context and the small loop-
 * building vocabulary every op's lowering uses. Each op family lowers in its
 * own file (lower_linear.c, lower_pool.c, ...); an op's meaning is written
 * there and nowhere else.
 *
 * Conventions. Tensors are dense, row-major, batch first (NCHW). A kernel's
 * loops over the batch run to %n (the samples in this step, n <= batch), so
 * a partial batch does only its share of the work. Integer index arithmetic
 * is i32 (the verifier bounds every buffer below 2^31 elements). */
#ifndef OCTO_PASSES_LOWER_H
#define OCTO_PASSES_LOWER_H

#include "graph.h"
#include "loop.h"

struct Recipe;

struct Lower {
  LProgram *p;
  Graph *g;
  Diag *d;
  const struct Recipe *recipe;
  LBuffer **buf; /* by graph value id: its buffer (aliases share one) */
  LVar *n;       /* the %n argument: samples in this step */
  LVar *seed;    /* the %seed argument of init */
  LBuffer *step; /* i64[] state: steps taken (RNG streams, Adam) */
  /* i64[] state: the seed init received, for the dropout masks (so they
   * follow the run's seed and a checkpoint carries it); NULL without
   * dropout. */
  LBuffer *dropout_seed;
  /* i64[] state: init's seed for stochastic rounding (quantize); NULL when
   * no quantize rounds stochastically. */
  LBuffer *quantize_seed;
  LBuffer *epoch; /* i32[] state: set by the trainer each epoch (lr schedules) */
  /* The kernel being built, a counter for unique var names, and the
   * entries (1 << LEntryKind) new kernels are called from. */
  LKernel *k;
  int nvars;
  unsigned entries;
  bool dot4_i8; /* Module.dot4_i8: the int8 products in quads (lower_int8.c) */
  bool dot4_u8i8; /* Module.dot4_u8i8: A's quads moved into unsigned range */
  /* the int8 products' B columns are padded to a multiple of this: one
   * vector of int32 sums (8, or 16 for a target with 512-bit vectors) */
  int64_t b_align;
  /* floats in one vector register of the target (16 with 512-bit vectors,
   * 8, 4); 0 when it has none or is unknown: the fp32 GEMM's panels
   * (lower_linear.c) follow it */
  int64_t f32_lanes;
};
typedef struct Lower Lower;

/* Starts a kernel for graph node n (name = "<layer>_<suffix>"), called from
 * the given entries (a bit mask of 1 << LEntryKind; op families pass
 * L->entries). */
LKernel *lower_kernel(Lower *L, const Node *n, const char *suffix, unsigned entries);
void lower_kernel_body(Lower *L, LStmt *body);

/* A fresh loop counter / local, unique in the kernel. */
LVar *lv_loop(Lower *L, const char *hint);
LVar *lv_local(Lower *L, const char *hint, DType t);

/* Shorthands over the builder: i32 constant, var, + * - / on i32. */
LExpr *ci(Lower *L, int64_t v);
LExpr *cf(Lower *L, float v);
LExpr *ve(Lower *L, LVar *v);
LExpr *add(Lower *L, LExpr *a, LExpr *b);
LExpr *sub(Lower *L, LExpr *a, LExpr *b);
LExpr *mul(Lower *L, LExpr *a, LExpr *b);
LExpr *ld(Lower *L, LBuffer *b, LExpr *index);
/* A load, converted to f32 when the buffer holds int8 (a saved activation
 * read by relu_grad_i8 or maxpool_grad_i8); other buffers as they are. */
LExpr *ld_f32(Lower *L, LBuffer *b, LExpr *index);
/* A loop over count elements of value v from element `first` (NULL: 0):
 * body(j) once per element, j its offset from first, which the body reads
 * with elem_value. The order of the elements is unspecified: bodies that
 * only update per-element results or integer reductions. For a value an
 * inlined maxpool_route_grad defines (passes/fuse.c), the loop walks the
 * windows and computes each routed element where it is read (lower_pool.c,
 * routed_loop), so the value is never stored; first and count are then
 * whole planes of it. Otherwise it is the plain loop: for j < count. */
typedef struct VElem {
  const Value *v;
  LExpr *first;   /* NULL: 0 */
  LVar *j;        /* the element's offset from first */
  LVar *route, *dy; /* routed: the window's route and error, and this tap */
  int64_t tap;
} VElem;
typedef LStmt *(*ElemBody)(Lower *L, void *ctx, const VElem *e);
LStmt *value_loop(Lower *L, const Value *v, LVar *j, LExpr *first, LExpr *count,
                  unsigned hints, ElemBody body, void *ctx);
/* v's element 0. */
LExpr *value_first(Lower *L, const Value *v);
/* The element e is at (a fresh expression each call). */
LExpr *elem_value(Lower *L, const VElem *e);
/* For reductions that an element counted twice or in any order does not
 * change (min, max): value_loop, except that a routed value's windows are
 * visited once each, with the one element that may be nonzero (dy where
 * the route is a tap, else 0; the body must not use e->j); the window's
 * other elements are 0, and *zero tells the caller to fold a 0 in. */
LStmt *value_extrema_loop(Lower *L, const Value *v, LVar *j, LExpr *count, ElemBody body,
                          void *ctx, bool *zero);
LStmt *routed_loop(Lower *L, const Node *route_grad, const Value *v, LExpr *first, LExpr *count,
                   unsigned hints, bool per_window, ElemBody body, void *ctx);
/* routed_loop's elements in plane order (each tap's contiguous), for sums;
 * routed_unplane copies such sums of `planes` planes to the natural order. */
LStmt *routed_plane_loop(Lower *L, const Node *route_grad, const Value *v, LExpr *first,
                         LExpr *count, ElemBody body, void *ctx);
LStmt *routed_unplane(Lower *L, const Node *route_grad, LBuffer *dst, LBuffer *src, int64_t planes);
bool route_grad_inlined(const Node *n);
/* Whether every reader of maxpool_route_grad n's result can compute the
 * routed elements itself (compensation_grad, bias_grad and quantize reading
 * it as their first operand only, and it is not a graph output); with
 * same_bits, only readers whose results do not depend on the order of the
 * elements (no per-channel compensation, no sigma clip). */
bool route_grad_readers_route(const Graph *g, const Node *n, bool same_bits);
/* for var in [0, hi) with hints. */
LStmt *loop(Lower *L, LVar *var, LExpr *hi, unsigned hints, LStmt *body);
/* for var in [0, n) as loops over chunks of all whole eights, then 4, 2
 * and 1 (those that fit), each with a fresh body from body(L, ctx): a
 * short row (12 or 14 pooling windows) vectorised 8 + 4 (+ 2) wide
 * instead of 4 wide with a scalar tail. */
typedef LStmt *(*ChunkBody)(Lower *L, void *ctx);
LStmt *chunked_loop(Lower *L, LVar *var, int64_t n, unsigned hints, ChunkBody body, void *ctx);
/* dst[at] = src[first + k] summed over k < count from 0, in order (not
 * vectorised: the order fixes the bits; bias_grad's and the fused bias
 * gradient's sums are this one loop). */
LStmt *ordered_sum(Lower *L, LBuffer *src, LExpr *first, int64_t count, LBuffer *dst, LExpr *at);
/* Sequence of statements (NULLs skipped), as one list. */
LStmt *seq(LStmt *a, LStmt *b);
LStmt *seq3(LStmt *a, LStmt *b, LStmt *c);

/* The batch extent of a kernel's loops: %n. */
LExpr *batch_n(Lower *L);
/* Elements per sample of value v (product of dims after the first). */
int64_t per_sample(const Value *v);

/* A 63-bit FNV-1a hash of a name: the key of its random stream (init,
 * dropout), the same on every target. */
int64_t name_key(const char *s);

/* Whether v's first dimension is the batch (so loops over it stop at %n),
 * and the element count a kernel touches: %n * per-sample, or all of it. */
bool value_batched(const Value *v);
LExpr *extent(Lower *L, const Value *v);
/* The buffer holding graph value v. */
LBuffer *vbuf(Lower *L, const Value *v);
/* A scratch work buffer private to the current kernel. */
LBuffer *scratch(Lower *L, const char *hint, DType t, int64_t numel);

/* The lowering of each op, named by its registry row (ir/ops.c): lower node
 * n for the entries in L->entries, in the given mode. They return false
 * after reporting an error. */
/* lower_linear.c */
bool lower_conv_fwd(Lower *L, const Node *n, LowerMode mode);
bool lower_conv_dx(Lower *L, const Node *n, LowerMode mode);
bool lower_conv_dw(Lower *L, const Node *n, LowerMode mode);
bool lower_dense_fwd(Lower *L, const Node *n, LowerMode mode);
bool lower_dense_dx(Lower *L, const Node *n, LowerMode mode);
bool lower_dense_dw(Lower *L, const Node *n, LowerMode mode);
bool lower_bias_grad(Lower *L, const Node *n, LowerMode mode);
/* lower_pool.c */
bool lower_maxpool(Lower *L, const Node *n, LowerMode mode);
bool lower_avgpool(Lower *L, const Node *n, LowerMode mode);
bool lower_global_avgpool(Lower *L, const Node *n, LowerMode mode);
bool lower_maxpool_grad(Lower *L, const Node *n, LowerMode mode);
bool lower_maxpool_route(Lower *L, const Node *n, LowerMode mode);
/* One window of a routed maxpool (lower_pool.c), for maxpool_route and
 * conv2d_i8's pooled epilogue: the taps of x from element xw, rows `row`
 * apart; *ymax gets the window's max, *route its route (i32 locals). */
typedef struct PoolRoute {
  int64_t kh, kw, row;
  bool relu_mask;
} PoolRoute;
LStmt *pool_route_window(Lower *L, const PoolRoute *pr, LBuffer *x, LExpr *xw, LVar **ymax,
                         LVar **route);
bool lower_maxpool_route_grad(Lower *L, const Node *n, LowerMode mode);
bool lower_avgpool_grad(Lower *L, const Node *n, LowerMode mode);
bool lower_global_avgpool_grad(Lower *L, const Node *n, LowerMode mode);
/* lower_norm.c */
bool lower_batchnorm(Lower *L, const Node *n, LowerMode mode); /* and batchnorm_train */
bool lower_batchnorm_grad(Lower *L, const Node *n, LowerMode mode);
/* lower_loss.c */
bool lower_softmax_ce(Lower *L, const Node *n, LowerMode mode);
bool lower_softmax_ce_grad(Lower *L, const Node *n, LowerMode mode);
bool lower_mse(Lower *L, const Node *n, LowerMode mode);
bool lower_mse_grad(Lower *L, const Node *n, LowerMode mode);
/* lower_optim.c */
bool lower_lr_schedule(Lower *L, const Node *n, LowerMode mode);
bool lower_sgd(Lower *L, const Node *n, LowerMode mode);
bool lower_adam(Lower *L, const Node *n, LowerMode mode);
bool lower_step_increment(Lower *L, const Node *n, LowerMode mode);
/* lower_elementwise.c */
bool lower_relu(Lower *L, const Node *n, LowerMode mode);
bool lower_relu6(Lower *L, const Node *n, LowerMode mode);
bool lower_leaky_relu(Lower *L, const Node *n, LowerMode mode);
bool lower_relu_grad(Lower *L, const Node *n, LowerMode mode);
bool lower_relu6_grad(Lower *L, const Node *n, LowerMode mode);
bool lower_leaky_relu_grad(Lower *L, const Node *n, LowerMode mode);
bool lower_add(Lower *L, const Node *n, LowerMode mode);
bool lower_scale(Lower *L, const Node *n, LowerMode mode);
bool lower_bias(Lower *L, const Node *n, LowerMode mode);
bool lower_dropout(Lower *L, const Node *n, LowerMode mode);
bool lower_dropout_grad(Lower *L, const Node *n, LowerMode mode);
bool lower_sum(Lower *L, const Node *n, LowerMode mode); /* and sum_product */
bool lower_alias(Lower *L, const Node *n, LowerMode mode); /* flatten, reshape: no code */
bool lower_normalize(Lower *L, const Node *n, LowerMode mode);
/* relu's gradient: dy where y > 0, else 0 (dy a local: a select between
 * values), for relu_grad and the kernels that fuse it (lower_elementwise.c) */
LExpr *relu_mask(Lower *L, LExpr *y, LExpr *dy);
/* lower_compensation.c */
bool lower_compensation(Lower *L, const Node *n, LowerMode mode);
bool lower_compensation_grad(Lower *L, const Node *n, LowerMode mode);
/* lower_clip.c */
/* A clip's counters (recipe key prc.stats): i64[] state buffers
 * <name>.seen and <name>.clipped, role internal (in the tensor table and
 * checkpoints, not trained), that lower_clip_range increments by the
 * elements of x it saw and those outside [lo, hi]. */
typedef struct ClipCounters {
  LBuffer *seen, *clipped;
} ClipCounters;
/* The counters of node n (a range_clip, or a node a clip was fused into)
 * when its `stats` attribute names them and mode is MODE_TRAIN (predict and
 * eval only read the state); NULL otherwise: no counting. */
const ClipCounters *lower_clip_counters(Lower *L, const Node *n, LowerMode mode);
bool lower_range_clip(Lower *L, const Node *n, LowerMode mode);
bool lower_range_clip_grad(Lower *L, const Node *n, LowerMode mode);
/* Statements computing a range clip's lo and hi (locals) from x, the
 * elements a kernel touches (the %n samples of a batched value, else all
 * of it): method "scale" ([p min, p max]) or "sigma" (mean +- z sd). Also
 * for a quantize that clips first (passes/fuse.c). *mn and *mx (when not
 * NULL) get locals holding x's min and max, or NULL when the method does
 * not compute them (sigma). With `range` (scale only), x's [min, max]
 * come from that buffer instead of a pass over x. */
LStmt *lower_clip_range(Lower *L, const char *method, double p, double z, const Value *x,
                        LBuffer *range, LVar *lo, LVar *hi, LVar **mn, LVar **mx,
                        const ClipCounters *count);
/* Statements setting *mn and *mx (new locals) to x's min and max (as
 * lower_clip_range's scale method finds them), with loop variable i. */
LStmt *lower_min_max(Lower *L, const Value *x, LVar *i, LVar **mn, LVar **mx);
/* A convolution's geometry (lower_linear.c), shared by the fp32 and int8
 * lowerings. */
typedef struct Conv {
  int64_t c, h, w;     /* input channels, height, width */
  int64_t f, oh, ow;   /* filters, output height, width */
  int64_t kh, kw, sh, sw, ph, pw, groups;
  int64_t cg, fg, kc;  /* channels and filters per group, Kc = cg*kh*kw */
  int64_t p;           /* oh * ow */
} Conv;
/* x is the conv input [N,C,H,W], y its output [N,F,OH,OW]. */
Conv conv_geometry(const Node *n, const Value *x, const Value *y);
/* lower_int8.c */
bool lower_quantize(Lower *L, const Node *n, LowerMode mode);
bool lower_conv_i8(Lower *L, const Node *n, LowerMode mode);
bool lower_conv_i8_dx(Lower *L, const Node *n, LowerMode mode);
bool lower_conv_i8_dw(Lower *L, const Node *n, LowerMode mode);
bool lower_dense_i8(Lower *L, const Node *n, LowerMode mode);
bool lower_dense_i8_dx(Lower *L, const Node *n, LowerMode mode);
bool lower_dense_i8_dw(Lower *L, const Node *n, LowerMode mode);
/* Initializer of a parameter/state buffer, called from init. */
bool lower_init(Lower *L, const Value *v);

#endif
