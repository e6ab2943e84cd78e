/* The lowering pass: turns the training graph into a loop-IR program. It
 * maps every graph value to a buffer (parameters and state to the state
 * block, intermediates to the work arena, inputs and labels to the entry's
 * arguments; flatten and reshape alias their input), then lowers the nodes
 * in schedule order into the train_step entry, the nodes the logits depend
 * on into predict (in inference mode: batch-norm running statistics, no
 * dropout), and the initializers into init. The op families live in
 * lower_*.c; this file only sequences them. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fnv.h"
#include "lower.h"
#include "pass.h"

/* --- the small vocabulary shared by the op families --- */

LKernel *lower_kernel(Lower *L, const Node *n, const char *suffix, unsigned entries) {
  char name[256], origin[256];
  if (n)
    snprintf(name, sizeof name, "%s_%s", n->name ? n->name : op_name(n->op), suffix);
  else
    snprintf(name, sizeof name, "%s", suffix);
  for (char *c = name; *c; c++)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')))
      *c = '_';
  /* Kernel names are unique: add a counter when taken. */
  char unique[300];
  snprintf(unique, sizeof unique, "%s", name);
  for (int i = 1; lprog_find_kernel(L->p, unique); i++)
    snprintf(unique, sizeof unique, "%s_%d", name, i);
  if (n)
    snprintf(origin, sizeof origin, "%s %s", op_name(n->op), n->name ? n->name : "");
  else
    snprintf(origin, sizeof origin, "%s", suffix);
  LKernel *k = lprog_kernel(L->p, unique, origin, n ? n->loc : (SrcLoc){0});
  for (int e = 0; e < LENTRY_COUNT; e++)
    if (entries & (1u << e)) lprog_call(L->p, (LEntryKind)e, k);
  L->k = k;
  L->nvars = 0;
  return k;
}

void lower_kernel_body(Lower *L, LStmt *body) { L->k->body = body; }

static LVar *fresh(Lower *L, const char *hint, DType t, LVarKind kind) {
  char name[64];
  snprintf(name, sizeof name, "%s%d", hint, L->nvars++);
  return lprog_var(L->p, name, t, kind);
}

LVar *lv_loop(Lower *L, const char *hint) { return fresh(L, hint, DT_I32, LVAR_LOOP); }
LVar *lv_local(Lower *L, const char *hint, DType t) { return fresh(L, hint, t, LVAR_LOCAL); }

LExpr *ci(Lower *L, int64_t v) { return le_int(L->p, DT_I32, v); }
LExpr *cf(Lower *L, float v) { return le_f32(L->p, v); }
LExpr *ve(Lower *L, LVar *v) { return le_var(L->p, v); }

/* Folds constants so printed loops stay readable (0 + x, 1 * x). */
static bool is_const(const LExpr *e, int64_t v) {
  return e->kind == LE_CONST && e->type != DT_F32 && e->i == v;
}

LExpr *add(Lower *L, LExpr *a, LExpr *b) {
  if (is_const(a, 0)) return b;
  if (is_const(b, 0)) return a;
  if (a->kind == LE_CONST && b->kind == LE_CONST && a->type == DT_I32 && b->type == DT_I32)
    return ci(L, a->i + b->i);
  return le_bin(L->p, LB_ADD, a, b);
}

LExpr *sub(Lower *L, LExpr *a, LExpr *b) {
  if (is_const(b, 0)) return a;
  return le_bin(L->p, LB_SUB, a, b);
}

LExpr *mul(Lower *L, LExpr *a, LExpr *b) {
  if (is_const(a, 1)) return b;
  if (is_const(b, 1)) return a;
  if (is_const(a, 0) || is_const(b, 0)) return ci(L, 0);
  if (a->kind == LE_CONST && b->kind == LE_CONST && a->type == DT_I32 && b->type == DT_I32)
    return ci(L, a->i * b->i);
  return le_bin(L->p, LB_MUL, a, b);
}

LExpr *ld(Lower *L, LBuffer *b, LExpr *index) { return le_load(L->p, b, index); }

LExpr *ld_f32(Lower *L, LBuffer *b, LExpr *index) {
  LExpr *v = le_load(L->p, b, index);
  return b->dtype == DT_I8 ? le_cast(L->p, DT_F32, v) : v;
}

LStmt *value_loop(Lower *L, const Value *v, LVar *j, LExpr *first, LExpr *count,
                  unsigned hints, ElemBody body, void *ctx) {
  if (v->def && route_grad_inlined(v->def))
    return routed_loop(L, v->def, v, first, count, hints, false, body, ctx);
  VElem e = {v, first, j, NULL, NULL, 0};
  return loop(L, j, count, hints, body(L, ctx, &e));
}

LStmt *value_extrema_loop(Lower *L, const Value *v, LVar *j, LExpr *count, ElemBody body,
                          void *ctx, bool *zero) {
  *zero = false;
  if (!(v->def && route_grad_inlined(v->def))) return value_loop(L, v, j, NULL, count, 0, body, ctx);
  *zero = node_ints(v->def, "kernel", 0, 1) * node_ints(v->def, "kernel", 1, 1) > 1;
  /* the window loop vectorised, its min/max reductions included (as the
   * products' max|y| in their epilogues): without the hint LLVM keeps it
   * scalar and branches on every compare */
  return routed_loop(L, v->def, v, NULL, count, LHINT_VECTORIZE, true, body, ctx);
}

LExpr *value_first(Lower *L, const Value *v) {
  if (v->def && route_grad_inlined(v->def)) { /* tap 0 of window 0 */
    LExpr *route = le_cast(L->p, DT_I32, ld(L, vbuf(L, v->def->in[1]), ci(L, 0)));
    return le_select(L->p, le_bin(L->p, LB_EQ, route, ci(L, 0)),
                     ld(L, vbuf(L, v->def->in[0]), ci(L, 0)), cf(L, 0));
  }
  return ld(L, vbuf(L, v), ci(L, 0));
}

LExpr *elem_value(Lower *L, const VElem *e) {
  if (e->route && e->tap < 0) /* the window's routed element, or 0 */
    return le_select(L->p, le_bin(L->p, LB_GE, ve(L, e->route), ci(L, 0)), ve(L, e->dy), cf(L, 0));
  if (e->route)
    return le_select(L->p, le_bin(L->p, LB_EQ, ve(L, e->route), ci(L, e->tap)), ve(L, e->dy),
                     cf(L, 0));
  LExpr *at = e->first ? add(L, le_clone(L->p, e->first), ve(L, e->j)) : ve(L, e->j);
  return ld(L, vbuf(L, e->v), at);
}

LStmt *loop(Lower *L, LVar *var, LExpr *hi, unsigned hints, LStmt *body) {
  return ls_for(L->p, var, ci(L, 0), hi, 1, hints, body);
}

LStmt *chunked_loop(Lower *L, LVar *var, int64_t n, unsigned hints, ChunkBody body, void *ctx) {
  LStmt *out = NULL;
  int64_t lo = 0;
  for (int64_t size = 8; size >= 1 && lo < n; size /= 2) {
    int64_t hi = size == 8 ? n / 8 * 8 : (n - lo >= size ? lo + size : lo);
    if (hi > lo) out = seq(out, ls_for(L->p, var, ci(L, lo), ci(L, hi), 1, hints, body(L, ctx)));
    lo = hi;
  }
  return out;
}

LStmt *ordered_sum(Lower *L, LBuffer *src, LExpr *first, int64_t count, LBuffer *dst, LExpr *at) {
  LProgram *p = L->p;
  LVar *sum = lv_local(L, "sum", DT_F32), *k = lv_loop(L, "k");
  LExpr *from = first ? add(L, first, ve(L, k)) : ve(L, k);
  return seq3(ls_let(p, sum, cf(L, 0)),
              loop(L, k, ci(L, count), 0,
                   ls_assign(p, sum, le_bin(p, LB_ADD, ve(L, sum), ld(L, src, from)))),
              ls_store(p, dst, at, ve(L, sum)));
}

LStmt *seq(LStmt *a, LStmt *b) {
  LBlock blk = {0};
  lblock_add(&blk, a);
  lblock_add(&blk, b);
  return blk.first;
}

LStmt *seq3(LStmt *a, LStmt *b, LStmt *c) { return seq(seq(a, b), c); }

LExpr *batch_n(Lower *L) { return ve(L, L->n); }

int64_t per_sample(const Value *v) {
  int64_t s = 1;
  for (int i = 1; i < v->type.shape.rank; i++) s *= v->type.shape.dim[i];
  return s;
}

LBuffer *vbuf(Lower *L, const Value *v) { return L->buf[v->id]; }

/* FNV-1a from 1469598103934665603, not FNV's basis (a digit short of it):
 * the keys seed every initialisation and dropout stream, so this start
 * value is part of what a seed means and must not change. */
int64_t name_key(const char *s) {
  return (int64_t)(fnv1a_str(UINT64_C(1469598103934665603), s) >> 1);
}

bool value_batched(const Value *v) {
  switch (v->kind) {
  case VAL_INPUT:
  case VAL_LABEL: return true;
  case VAL_PARAM:
  case VAL_STATE: return false;
  case VAL_NODE: break;
  }
  const Node *n = v->def;
  switch (op_info(n->op)->batch) {
  case BATCH_ALL: return true;
  case BATCH_NONE: return false;
  case BATCH_FIRST: return v->def_index == 0;
  case BATCH_AS_INPUT0: return value_batched(n->in[0]);
  case BATCH_FIRST_AS_INPUT0: return v->def_index == 0 && value_batched(n->in[0]);
  }
  return true;
}

LExpr *extent(Lower *L, const Value *v) {
  if (value_batched(v)) return mul(L, batch_n(L), ci(L, per_sample(v)));
  return ci(L, shape_numel(&v->type.shape));
}

LBuffer *scratch(Lower *L, const char *hint, DType t, int64_t numel) {
  char name[256];
  snprintf(name, sizeof name, "%s.%s", L->k->name, hint);
  int64_t dims[1] = {numel};
  return lprog_buffer(L->p, name, t, shape_of(1, dims), LBUF_WORK, LROLE_NONE);
}

/* --- buffers --- */

/* The role of a state value, from the operands of the nodes that use it
 * (the registry says which are optimizer state and bookkeeping). */
static LBufRole state_role(const Graph *g, const Value *v) {
  if (v->kind == VAL_PARAM) return LROLE_PARAM;
  for (int i = 0; i < g->nnodes; i++) {
    const Node *n = g->nodes[i];
    const OpInfo *info = op_info(n->op);
    for (int j = 0; j < n->nin; j++) {
      if (n->in[j] != v) continue;
      if (info->internal_state >> j & 1u) return LROLE_INTERNAL;
      if (info->optim_state >> j & 1u) return LROLE_OPTIM;
    }
  }
  return LROLE_BUFFER;
}

static bool is_alias(const Node *n) { return op_info(n->op)->alias; }

/* Buffers are created in an order that depends only on the graph's meaning,
 * not on how it was built (the front end interleaves parameters and node
 * results, the IR reader declares all values first): inputs, labels,
 * parameters and state in value order, then node results in schedule order.
 * So a model compiled from .net and from its .ir gives the same program and
 * the same checkpoint hash. */
static void map_value(Lower *L, const Value *v) {
  Graph *g = L->g;
  LProgram *p = L->p;
  switch (v->kind) {
  case VAL_INPUT:
  case VAL_LABEL: {
    LBuffer *b = lprog_buffer(p, v->name, v->type.dtype, v->type.shape, LBUF_ARG, LROLE_NONE);
    b->readonly = true;
    if (v->kind == VAL_INPUT) p->input = b;
    else {
      p->label = b;
      p->num_classes = (int)v->classes;
    }
    L->buf[v->id] = b;
    break;
  }
  case VAL_PARAM:
  case VAL_STATE:
    L->buf[v->id] =
        lprog_buffer(p, v->name, v->type.dtype, v->type.shape, LBUF_STATE, state_role(g, v));
    break;
  case VAL_NODE:
    /* an inlined routed error has no buffer: its readers compute it */
    if (v->def && route_grad_inlined(v->def)) break;
    if (v->def && is_alias(v->def)) L->buf[v->id] = L->buf[v->def->in[0]->id];
    else
      L->buf[v->id] =
          lprog_buffer(p, v->name, v->type.dtype, v->type.shape, LBUF_WORK, LROLE_NONE);
    break;
  }
}

/* "pred", or "pred.1", "pred.2", ... when a graph value already has the name
 * (a network may well call its prediction `pred`). */
static const char *pred_name(Lower *L) {
  static const char base[] = "pred";
  if (!lprog_find_buffer(L->p, base)) return base;
  for (int i = 1;; i++) {
    const char *name = arena_printf(L->p->arena, "%s.%d", base, i);
    if (!lprog_find_buffer(L->p, name)) return name;
  }
}

/* The pred buffer is what train_step_pred and predict hand back per sample:
 * a classifier's class (i32[batch], the argmax of the logits), a regression
 * model's prediction itself (f32, the prediction's shape). */
static void map_buffers(Lower *L, const Value *prediction, bool regression) {
  Graph *g = L->g;
  for (int i = 0; i < g->nvalues; i++)
    if (g->values[i]->kind != VAL_NODE) map_value(L, g->values[i]);
  for (int i = 0; i < g->nnodes; i++)
    for (int j = 0; j < g->nodes[i]->nout; j++) map_value(L, g->nodes[i]->out[j]);
  int64_t dims[1] = {g->batch};
  LProgram *p = L->p;
  if (regression)
    p->pred = lprog_buffer(p, pred_name(L), DT_F32, prediction->type.shape, LBUF_ARG,
                           LROLE_NONE);
  else
    p->pred = lprog_buffer(p, pred_name(L), DT_I32, shape_of(1, dims), LBUF_ARG, LROLE_NONE);
  p->pred->optional = true;
}

/* --- sequencing --- */

/* The int8 products (the quantize pass builds them) carry precision int8;
 * an fp32 product op marked for another precision (by hand-written IR,
 * without the quantize pass) is refused, not lowered as fp32. */
static bool is_int8_op(OpKind op) {
  return op == OP_CONV2D_I8 || op == OP_CONV2D_I8_GRAD_INPUT || op == OP_CONV2D_I8_GRAD_WEIGHT ||
         op == OP_DENSE_I8 || op == OP_DENSE_I8_GRAD_INPUT || op == OP_DENSE_I8_GRAD_WEIGHT;
}

static bool lower_node(Lower *L, const Node *n, LowerMode mode) {
  const Attr *prec = node_attr(n, "precision");
  if (prec && prec->kind == ATTR_STR && strcmp(prec->s, "fp32") != 0 && !is_int8_op(n->op)) {
    char w[160];
    diag_error(L->d, n->loc, "lower: %s has precision '%s' but is an fp32 op; the quantize pass "
               "turns it into an int8 product", node_describe(n, w, sizeof w), prec->s);
    return false;
  }
  return op_info(n->op)->lower(L, n, mode);
}

/* Nodes whose forward meaning differs between training and inference:
 * their op's, or a clip that counts its clipped elements (prc.stats) in
 * training only. */
static bool mode_dependent(const Node *n) {
  const char *stats = node_str(n, "stats");
  return op_info(n->op)->mode_dependent || (stats && *stats);
}

/* Marks the nodes the value v depends on. */
static void mark_ancestors(const Graph *g, const Value *v, bool *needed_node) {
  bool *need = arena_alloc(g->arena, (size_t)(g->nvalues ? g->nvalues : 1) * sizeof(bool));
  need[v->id] = true;
  for (int i = g->nnodes - 1; i >= 0; i--) {
    const Node *n = g->nodes[i];
    bool any = false;
    for (int j = 0; j < n->nout; j++) any |= need[n->out[j]->id];
    if (!any) continue;
    needed_node[i] = true;
    for (int j = 0; j < n->nin; j++) need[n->in[j]->id] = true;
  }
}

/* The epoch counter, if a learning-rate schedule reads it. */
static const Value *find_epoch(const Graph *g) {
  for (int i = 0; i < g->nnodes; i++)
    if (g->nodes[i]->op == OP_LR_SCHEDULE) {
      const char *kind = node_attr(g->nodes[i], "schedule")->s;
      if (strcmp(kind, "constant") != 0 || node_int(g->nodes[i], "warmup_epochs", 0) > 0)
        return g->nodes[i]->in[0];
    }
  return NULL;
}

static const Value *find_step(const Graph *g) {
  for (int i = 0; i < g->nnodes; i++)
    if (g->nodes[i]->op == OP_STEP_INCREMENT) return g->nodes[i]->in[0];
  return NULL;
}

/* Sets the local arg to the class of sample b: the first index of the
 * largest of the k logits in row b. */
static LStmt *argmax_row(Lower *L, const LBuffer *in, int64_t k, LVar *b, LVar *arg) {
  LVar *c = lv_loop(L, "c"), *best = lv_local(L, "best", DT_F32);
  LExpr *row = mul(L, ve(L, b), ci(L, k));
  LExpr *x = ld(L, (LBuffer *)in, add(L, row, ve(L, c)));
  LStmt *update = ls_if(L->p, le_bin(L->p, LB_GT, x, ve(L, best)),
                        seq(ls_assign(L->p, best, ld(L, (LBuffer *)in, add(L, row, ve(L, c)))),
                            ls_assign(L->p, arg, ve(L, c))),
                        NULL);
  return seq3(ls_let(L->p, best, ld(L, (LBuffer *)in, row)), ls_let(L->p, arg, ci(L, 0)),
              ls_for(L->p, c, ci(L, 1), ci(L, k), 1, 0, update));
}

/* The predicted class per sample: argmax over the logits' last dimension. */
static void lower_argmax(Lower *L, const Value *logits, unsigned entries) {
  lower_kernel(L, logits->def, "argmax", entries);
  LBuffer *in = vbuf(L, logits), *out = L->p->pred;
  LVar *b = lv_loop(L, "b"), *arg = lv_local(L, "arg", DT_I32);
  LStmt *body = argmax_row(L, in, logits->type.shape.dim[1], b, arg);
  body = seq(body, ls_store(L->p, out, ve(L, b), ve(L, arg)));
  lower_kernel_body(L, loop(L, b, batch_n(L), 0, body));
}

/* eval's results: the loss summed over the n samples (the loss ops give
 * the mean) and, for a classifier, how many samples' argmax is their label.
 * The loss kernel and the inference kernels before it run first. */
static void lower_eval_result(Lower *L, const Value *loss, const Value *logits, bool regression) {
  LProgram *p = L->p;
  int64_t one[1] = {1};
  p->eval_loss = lprog_buffer(p, "eval.loss_sum", DT_F32, shape_of(0, one), LBUF_WORK,
                              LROLE_NONE);
  lower_kernel(L, NULL, "eval_result", 1u << LENTRY_EVAL);
  LExpr *count = le_cast(p, DT_F32, batch_n(L));
  LStmt *body = ls_store(p, p->eval_loss, ci(L, 0),
                         le_bin(p, LB_MUL, ld(L, vbuf(L, loss), ci(L, 0)), count));
  if (!regression) {
    p->eval_correct = lprog_buffer(p, "eval.correct", DT_I32, shape_of(0, one), LBUF_WORK,
                                   LROLE_NONE);
    LVar *b = lv_loop(L, "b"), *arg = lv_local(L, "arg", DT_I32);
    LVar *right = lv_local(L, "right", DT_I32);
    LStmt *per = seq(argmax_row(L, vbuf(L, logits), logits->type.shape.dim[1], b, arg),
                     ls_assign(p, right, add(L, ve(L, right),
                                             le_bin(p, LB_EQ, ve(L, arg),
                                                    ld(L, p->label, ve(L, b))))));
    body = seq3(body, ls_let(p, right, ci(L, 0)),
                seq(loop(L, b, batch_n(L), 0, per),
                    ls_store(p, p->eval_correct, ci(L, 0), ve(L, right))));
  }
  lower_kernel_body(L, body);
}

/* A regression model's prediction per sample is the values themselves: the
 * kernel copies them to pred, in the prediction's element order. */
static void lower_output(Lower *L, const Value *prediction, unsigned entries) {
  lower_kernel(L, prediction->def, "output", entries);
  LBuffer *in = vbuf(L, prediction), *out = L->p->pred;
  LVar *i = lv_loop(L, "i");
  LStmt *copy = ls_store(L->p, out, ve(L, i), ld(L, in, ve(L, i)));
  lower_kernel_body(L, loop(L, i, extent(L, prediction), LHINT_VECTORIZE, copy));
}

/* The generated code indexes every buffer with 32-bit integers (loop
 * variables and index arithmetic are i32), so a tensor of more than
 * INT32_MAX elements is refused at its layer, before anything is lowered,
 * instead of overflowing an index (issue 10 item 3; the loop verifier
 * refuses any index arithmetic that could still overflow). On a 32-bit
 * target no buffer can exceed INT32_MAX bytes either. */
static bool check_index_limits(const Graph *g, Diag *d, const TargetConfig *target) {
  bool narrow = target && target->target && target_is_32bit(target->target);
  for (int i = 0; i < g->nvalues; i++) {
    const Value *v = g->values[i];
    int64_t numel = shape_numel(&v->type.shape), bytes;
    if (numel < 0) continue;
    bool too_many = numel > INT32_MAX;
    bool too_big = narrow && (__builtin_mul_overflow(numel, (int64_t)dtype_size(v->type.dtype),
                                                     &bytes) || bytes > INT32_MAX);
    if (!too_many && !too_big) continue;
    const Node *n = v->def;
    SrcLoc loc = v->loc.file || !n ? v->loc : n->loc;
    char what[300];
    if (n)
      snprintf(what, sizeof what, "%s '%s': its result %%%s", op_name(n->op),
               n->name ? n->name : "", v->name);
    else
      snprintf(what, sizeof what, "%s '%s'",
               v->kind == VAL_INPUT ? "input" : v->kind == VAL_LABEL ? "label"
               : v->kind == VAL_PARAM ? "parameter" : "state", v->name);
    if (too_many)
      diag_error(d, loc, "%s has %lld elements at batch %d, more than the %d that 32-bit indices "
                 "reach; use a smaller batch or layer", what, (long long)numel, g->batch,
                 INT32_MAX);
    else
      diag_error(d, loc, "%s needs %lld bytes at batch %d, more than a buffer can have on the "
                 "32-bit target %s (%d bytes); use a smaller batch or layer", what,
                 (long long)numel * (long long)dtype_size(v->type.dtype), g->batch,
                 target->target->name, INT32_MAX);
    return false;
  }
  return true;
}

/* A state buffer that init sets to the run's seed (i64, one element), with
 * its init kernel. */
static LBuffer *lower_seed_buffer(Lower *L, const char *buffer, const char *kernel,
                                  const char *origin) {
  LProgram *p = L->p;
  LBuffer *b = lprog_buffer(p, buffer, DT_I64, shape_of(0, NULL), LBUF_STATE, LROLE_INTERNAL);
  L->entries = 1u << LENTRY_INIT;
  lower_kernel(L, NULL, kernel, L->entries);
  L->k->origin = origin;
  lower_kernel_body(L, ls_store(p, b, ci(L, 0), ve(L, L->seed)));
  return b;
}

/* A model with dropout keeps init's seed in the state (after every other
 * state buffer, so models without dropout keep their layout): the masks
 * mix it in, so they follow the run's seed like the initialisation. */
static void lower_dropout_seed(Lower *L) {
  bool dropout = false;
  for (int i = 0; i < L->g->nnodes; i++) dropout |= L->g->nodes[i]->op == OP_DROPOUT;
  if (dropout)
    L->dropout_seed = lower_seed_buffer(L, "dropout.seed", "init_dropout_seed",
                                        "init dropout.seed");
}

/* The same for stochastic rounding (quantize): its own buffer, after
 * dropout's, so that models without it keep their layout. */
static void lower_quantize_seed(Lower *L) {
  bool stochastic = false;
  for (int i = 0; i < L->g->nnodes; i++) {
    const Node *n = L->g->nodes[i];
    stochastic |= n->op == OP_QUANTIZE && strcmp(node_str(n, "rounding"), "stochastic") == 0;
  }
  if (stochastic)
    L->quantize_seed = lower_seed_buffer(L, "quantize.seed", "init_quantize_seed",
                                         "init quantize.seed");
}

static bool run_lower(Module *m) {
  Graph *g = m->graph;
  const Value *loss = g->noutputs ? g->outputs[0] : NULL;
  if (!loss || !loss->def || op_info(loss->def->op)->role != OPROLE_LOSS) {
    diag_error(m->diag, (SrcLoc){0}, "lower: graph '%s' has no loss output", g->name);
    return false;
  }
  if (m->target && !m->target->has_fpu)
    diag_warning(m->diag, (SrcLoc){0},
                 "target %s has no FPU: this fp32 trainer will compute every float in software "
                 "(slow); integer-only trainers come with the EOQ precision",
                 m->target->target->name);
  if (!check_index_limits(g, m->diag, m->target)) return false;
  LProgram *p = lprog_new(m->arena, g->name, g->batch);
  Lower L = {.p = p, .g = g, .d = m->diag, .recipe = m->recipe, .dot4_i8 = m->dot4_i8,
             .dot4_u8i8 = m->dot4_u8i8,
             .b_align = m->target && m->target->vector_bits >= 512 ? 16 : 8,
             .f32_lanes = target_f32_lanes(m->target)};
  L.buf = arena_alloc(m->arena, (size_t)(g->nvalues ? g->nvalues : 1) * sizeof(LBuffer *));
  L.n = lprog_var(p, "n", DT_I32, LVAR_ARG);
  L.seed = lprog_var(p, "seed", DT_I64, LVAR_ARG);
  /* What predict returns: the second output, else the loss's prediction.
   * An mse loss makes a regression model: pred is the prediction itself. */
  const Value *logits = g->noutputs > 1 ? g->outputs[1] : loss->def->in[0];
  /* The program's kind is decided here, once: an mse loss makes a
   * regression model (pred is the prediction), anything else a classifier. */
  bool regression = loss->def->op == OP_MSE;
  p->kind = regression ? LPROG_REGRESSION : LPROG_CLASSIFIER;
  map_buffers(&L, logits, regression);
  const Value *step = find_step(g);
  L.step = step ? vbuf(&L, step) : NULL;
  const Value *epoch = find_epoch(g);
  p->epoch = epoch ? vbuf(&L, epoch) : NULL;
  p->loss = vbuf(&L, loss);

  bool ok = true;
  for (int i = 0; i < g->nvalues && ok; i++)
    if (value_is_persistent(g->values[i])) ok = lower_init(&L, g->values[i]);
  lower_dropout_seed(&L);
  lower_quantize_seed(&L);

  /* predict runs what the logits need, eval what the loss needs, both in
   * inference mode; train_step runs everything in training mode. */
  size_t nn = (size_t)(g->nnodes ? g->nnodes : 1);
  bool *predict = arena_alloc(m->arena, nn * sizeof(bool));
  bool *eval = arena_alloc(m->arena, nn * sizeof(bool));
  mark_ancestors(g, logits, predict);
  mark_ancestors(g, loss, eval);
  const unsigned train = 1u << LENTRY_TRAIN_STEP;
  for (int i = 0; i < g->nnodes && ok; i++) {
    const Node *n = g->nodes[i];
    unsigned infer = (predict[i] ? 1u << LENTRY_PREDICT : 0) | (eval[i] ? 1u << LENTRY_EVAL : 0);
    if (infer && mode_dependent(n)) {
      L.entries = infer;
      ok = lower_node(&L, n, MODE_INFER);
      L.entries = train;
      ok = ok && lower_node(&L, n, MODE_TRAIN);
    } else {
      L.entries = train | infer;
      ok = lower_node(&L, n, MODE_TRAIN);
    }
    if (ok && n->nout && n->out[0] == logits) {
      unsigned both = train | 1u << LENTRY_PREDICT;
      if (regression) lower_output(&L, logits, both);
      else lower_argmax(&L, logits, both);
    }
  }
  if (!ok) return false;
  lower_eval_result(&L, loss, logits, regression);
  m->loops = p;
  return true;
}

const Pass pass_lower = {"lower", "lower the training graph to loop IR", run_lower};
