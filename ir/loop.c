/* Loop IR construction: buffers (and the values of constant ones),
 * variables, kernels, entries, expressions and statements; and the
 * read/write analysis of a kernel. */
#include "loop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

LProgram *lprog_new(Arena *a, const char *name, int batch) {
  LProgram *p = arena_alloc(a, sizeof(LProgram));
  p->arena = a;
  p->name = arena_strdup(a, name);
  p->batch = batch;
  for (int i = 0; i < LENTRY_COUNT; i++) p->entries[i].kind = (LEntryKind)i;
  return p;
}

LBuffer *lprog_buffer(LProgram *p, const char *name, DType t, Shape shape, LBufHome home,
                      LBufRole role) {
  if (lprog_find_buffer(p, name)) {
    fprintf(stderr, "octoc: internal error: duplicate buffer %%%s\n", name);
    abort();
  }
  LBuffer *b = arena_alloc(p->arena, sizeof(LBuffer));
  b->id = p->nbuffers;
  b->name = arena_strdup(p->arena, name);
  b->dtype = t;
  b->shape = shape;
  b->home = home;
  b->role = role;
  b->offset = -1;
  strmap_put(p->arena, &p->buffer_names, b->name, b);
  arena_push(p->arena, (void ***)&p->buffers, &p->nbuffers, &p->cap_buffers, b);
  return b;
}

/* A program may have a million buffers and kernels (200,000 layers): names
 * are looked up in maps. */
LBuffer *lprog_find_buffer(const LProgram *p, const char *name) {
  return strmap_get(&p->buffer_names, name);
}

LKernel *lprog_find_kernel(const LProgram *p, const char *name) {
  return strmap_get(&p->kernel_names, name);
}

LBuffer *lprog_const_buffer(LProgram *p, const char *name, DType t, Shape shape,
                            const void *data) {
  int64_t n = shape_numel(&shape);
  size_t esize = dtype_size(t);
  if (n < 0 || esize == 0 || (uint64_t)n > SIZE_MAX / esize) {
    fprintf(stderr, "octoc: internal error: constant buffer %%%s needs a known shape\n", name);
    abort();
  }
  LBuffer *b = lprog_buffer(p, name, t, shape, LBUF_CONST, LROLE_NONE);
  size_t bytes = (size_t)n * esize;
  b->data = arena_alloc(p->arena, bytes ? bytes : 1); /* zeroed */
  if (data && bytes) memcpy(b->data, data, bytes);
  return b;
}

/* Element access in the buffer's own C type. */
int64_t lconst_int(const LBuffer *b, int64_t k) {
  const void *d = b->data;
  switch (b->dtype) {
  case DT_I8: return ((const int8_t *)d)[k];
  case DT_I16: return ((const int16_t *)d)[k];
  case DT_I32: return ((const int32_t *)d)[k];
  case DT_I64: return ((const int64_t *)d)[k];
  case DT_U8: return ((const uint8_t *)d)[k];
  case DT_U16: return ((const uint16_t *)d)[k];
  case DT_U32: return ((const uint32_t *)d)[k];
  default: return 0;
  }
}

float lconst_f32(const LBuffer *b, int64_t k) {
  return b->dtype == DT_F32 ? ((const float *)b->data)[k] : 0.0f;
}

void lconst_set_int(LBuffer *b, int64_t k, int64_t v) {
  void *d = b->data;
  uint64_t u = (uint64_t)v; /* two's-complement wrap, written without UB */
  switch (b->dtype) {
  case DT_I8: ((int8_t *)d)[k] = (int8_t)(uint8_t)u; break;
  case DT_I16: ((int16_t *)d)[k] = (int16_t)(uint16_t)u; break;
  case DT_I32: ((int32_t *)d)[k] = (int32_t)(uint32_t)u; break;
  case DT_I64: ((int64_t *)d)[k] = v; break;
  case DT_U8: ((uint8_t *)d)[k] = (uint8_t)u; break;
  case DT_U16: ((uint16_t *)d)[k] = (uint16_t)u; break;
  case DT_U32: ((uint32_t *)d)[k] = (uint32_t)u; break;
  default: break;
  }
}

void lconst_set_f32(LBuffer *b, int64_t k, float v) {
  if (b->dtype == DT_F32) ((float *)b->data)[k] = v;
}

LVar *lprog_var(LProgram *p, const char *name, DType t, LVarKind kind) {
  LVar *v = arena_alloc(p->arena, sizeof(LVar));
  v->id = p->nvars;
  v->name = arena_strdup(p->arena, name);
  v->dtype = t;
  v->kind = kind;
  arena_push(p->arena, (void ***)&p->vars, &p->nvars, &p->cap_vars, v);
  /* A lookup finds the first argument of a name (the reader refuses a
   * second one). */
  if (kind == LVAR_ARG && !lprog_find_arg(p, v->name))
    strmap_put(p->arena, &p->arg_names, v->name, v);
  return v;
}

LVar *lprog_find_arg(const LProgram *p, const char *name) {
  return strmap_get(&p->arg_names, name);
}

LKernel *lprog_kernel(LProgram *p, const char *name, const char *origin, SrcLoc loc) {
  LKernel *k = arena_alloc(p->arena, sizeof(LKernel));
  k->id = p->nkernels;
  k->name = arena_strdup(p->arena, name);
  k->origin = origin ? arena_strdup(p->arena, origin) : NULL;
  k->loc = loc;
  /* Names should be unique (the verifier says so when they are not); a
   * lookup finds the first kernel of a name. */
  if (!lprog_find_kernel(p, k->name)) strmap_put(p->arena, &p->kernel_names, k->name, k);
  arena_push(p->arena, (void ***)&p->kernels, &p->nkernels, &p->cap_kernels, k);
  return k;
}

void lprog_call(LProgram *p, LEntryKind entry, LKernel *k) {
  LEntry *e = &p->entries[entry];
  arena_push(p->arena, (void ***)&e->calls, &e->ncalls, &e->cap_calls, k);
}

const char *lentry_name(LEntryKind k) {
  static const char *const names[LENTRY_COUNT] = {"init", "train_step", "predict", "eval"};
  return k < LENTRY_COUNT ? names[k] : "?";
}

int lentry_results(const LProgram *p, LEntryKind e, const LBuffer *out[2]) {
  int n = 0;
  if (e == LENTRY_TRAIN_STEP && p->loss) out[n++] = p->loss;
  if (e == LENTRY_EVAL && p->eval_loss) out[n++] = p->eval_loss;
  if (e == LENTRY_EVAL && p->eval_correct) out[n++] = p->eval_correct;
  return n;
}

static LExpr *new_expr(LProgram *p, LExprKind kind, DType type) {
  LExpr *e = arena_alloc(p->arena, sizeof(LExpr));
  e->kind = kind;
  e->type = type;
  return e;
}

LExpr *le_clone(LProgram *p, const LExpr *e) {
  if (!e) return NULL;
  LExpr *c = new_expr(p, e->kind, e->type);
  *c = *e;
  c->a = le_clone(p, e->a);
  c->b = le_clone(p, e->b);
  c->c = le_clone(p, e->c);
  return c;
}

LExpr *le_int(LProgram *p, DType t, int64_t v) {
  LExpr *e = new_expr(p, LE_CONST, t);
  e->i = v;
  return e;
}

LExpr *le_f32(LProgram *p, float v) {
  LExpr *e = new_expr(p, LE_CONST, DT_F32);
  e->f = v;
  return e;
}

LExpr *le_var(LProgram *p, LVar *v) {
  LExpr *e = new_expr(p, LE_VAR, v->dtype);
  e->var = v;
  return e;
}

LExpr *le_load(LProgram *p, LBuffer *b, LExpr *index) {
  LExpr *e = new_expr(p, LE_LOAD, b->dtype);
  e->buf = b;
  e->a = index;
  return e;
}

static bool is_compare(LBinOp op) {
  return op == LB_LT || op == LB_LE || op == LB_GT || op == LB_GE || op == LB_EQ || op == LB_NE ||
         op == LB_LAND || op == LB_LOR;
}

LExpr *le_bin(LProgram *p, LBinOp op, LExpr *a, LExpr *b) {
  LExpr *e = new_expr(p, LE_BINARY, is_compare(op) ? DT_I32 : a->type);
  e->bop = op;
  e->a = a;
  e->b = b;
  return e;
}

LExpr *le_un(LProgram *p, LUnOp op, LExpr *a) {
  LExpr *e = new_expr(p, LE_UNARY, op == LU_NOT ? DT_I32 : a->type);
  e->uop = op;
  e->a = a;
  return e;
}

LExpr *le_cast(LProgram *p, DType t, LExpr *a) {
  LExpr *e = new_expr(p, LE_CAST, t);
  e->a = a;
  return e;
}

LExpr *le_select(LProgram *p, LExpr *c, LExpr *a, LExpr *b) {
  LExpr *e = new_expr(p, LE_SELECT, a->type);
  e->a = c;
  e->b = a;
  e->c = b;
  return e;
}

LExpr *le_call_to(LProgram *p, LIntrinsic fn, DType t, LExpr *a, LExpr *b, LExpr *c) {
  LExpr *args[LINTRINSIC_MAX_ARGS] = {a, b, c};
  DType types[LINTRINSIC_MAX_ARGS];
  for (int k = 0; k < LINTRINSIC_MAX_ARGS; k++) types[k] = args[k] ? args[k]->type : DT_COUNT;
  LExpr *e = new_expr(p, LE_CALL, lintrinsic_result(fn, types, t));
  e->fn = fn;
  e->a = a;
  e->b = b;
  e->c = c;
  return e;
}

LExpr *le_call(LProgram *p, LIntrinsic fn, LExpr *a, LExpr *b) {
  return le_call_to(p, fn, DT_COUNT, a, b, NULL);
}

LExpr *le_call3(LProgram *p, LIntrinsic fn, LExpr *a, LExpr *b, LExpr *c) {
  return le_call_to(p, fn, DT_COUNT, a, b, c);
}

void lblock_add(LBlock *b, LStmt *s) {
  if (!s) return;
  if (b->last) b->last->next = s;
  else b->first = s;
  b->last = s;
  while (b->last->next) b->last = b->last->next; /* s may be a list */
}

static LStmt *new_stmt(LProgram *p, LStmtKind kind) {
  LStmt *s = arena_alloc(p->arena, sizeof(LStmt));
  s->kind = kind;
  return s;
}

LStmt *ls_for(LProgram *p, LVar *var, LExpr *lo, LExpr *hi, int64_t step, unsigned hints,
              LStmt *body) {
  LStmt *s = new_stmt(p, LS_FOR);
  s->var = var;
  s->lo = lo;
  s->hi = hi;
  s->step = step;
  s->hints = hints;
  s->body = body;
  return s;
}

LStmt *ls_let(LProgram *p, LVar *local, LExpr *value) {
  LStmt *s = new_stmt(p, LS_LET);
  s->var = local;
  s->value = value;
  return s;
}

LStmt *ls_assign(LProgram *p, LVar *local, LExpr *value) {
  LStmt *s = new_stmt(p, LS_ASSIGN);
  s->var = local;
  s->value = value;
  return s;
}

LStmt *ls_store(LProgram *p, LBuffer *buf, LExpr *index, LExpr *value) {
  LStmt *s = new_stmt(p, LS_STORE);
  s->buf = buf;
  s->index = index;
  s->value = value;
  return s;
}

LStmt *ls_if(LProgram *p, LExpr *cond, LStmt *then_body, LStmt *else_body) {
  LStmt *s = new_stmt(p, LS_IF);
  s->cond = cond;
  s->body = then_body;
  s->else_body = else_body;
  return s;
}

static void expr_reads(const LExpr *e, bool *reads) {
  if (!e) return;
  if (e->kind == LE_LOAD) reads[e->buf->id] = true;
  expr_reads(e->a, reads);
  expr_reads(e->b, reads);
  expr_reads(e->c, reads);
}

static void stmt_accesses(const LStmt *s, bool *reads, bool *writes) {
  for (; s; s = s->next) {
    expr_reads(s->lo, reads);
    expr_reads(s->hi, reads);
    expr_reads(s->value, reads);
    expr_reads(s->index, reads);
    expr_reads(s->cond, reads);
    if (s->kind == LS_STORE) writes[s->buf->id] = true;
    stmt_accesses(s->body, reads, writes);
    stmt_accesses(s->else_body, reads, writes);
  }
}

void lkernel_accesses(const LProgram *p, const LKernel *k, bool *reads, bool *writes) {
  memset(reads, 0, (size_t)p->nbuffers * sizeof(bool));
  memset(writes, 0, (size_t)p->nbuffers * sizeof(bool));
  stmt_accesses(k->body, reads, writes);
}

static void vars_expr(bool *used, const LExpr *e) {
  if (!e) return;
  if (e->kind == LE_VAR) used[e->var->id] = true;
  vars_expr(used, e->a);
  vars_expr(used, e->b);
  vars_expr(used, e->c);
}

static void stmt_vars(const LStmt *s, bool *mentioned, bool *read) {
  for (; s; s = s->next) {
    if (s->var) mentioned[s->var->id] = true;
    const LExpr *exprs[] = {s->lo, s->hi, s->value, s->index, s->cond};
    for (int i = 0; i < 5; i++) {
      vars_expr(mentioned, exprs[i]);
      vars_expr(read, exprs[i]);
    }
    stmt_vars(s->body, mentioned, read);
    stmt_vars(s->else_body, mentioned, read);
  }
}

void lkernel_vars(const LProgram *p, const LKernel *k, bool *mentioned, bool *read) {
  memset(mentioned, 0, (size_t)p->nvars * sizeof(bool));
  memset(read, 0, (size_t)p->nvars * sizeof(bool));
  stmt_vars(k->body, mentioned, read);
}

/* ---- the same analyses as lists (LUses) ---- */

void luses_init(LUses *u, int universe) {
  u->universe = universe;
  u->n = 0;
  u->ids = xcalloc((size_t)universe + 1, sizeof(int));
  u->a = xcalloc((size_t)universe + 1, sizeof(bool));
  u->b = xcalloc((size_t)universe + 1, sizeof(bool));
}

void luses_free(LUses *u) {
  free(u->ids);
  free(u->a);
  free(u->b);
  *u = (LUses){0};
}

/* Sets flag a and/or b of id, listing the id when it had neither. */
static void use(LUses *u, int id, bool a, bool b) {
  if (!u->a[id] && !u->b[id] && (a || b)) u->ids[u->n++] = id;
  u->a[id] |= a;
  u->b[id] |= b;
}

static void uses_clear(LUses *u) {
  for (int i = 0; i < u->n; i++) u->a[u->ids[i]] = u->b[u->ids[i]] = false;
  u->n = 0;
}

static int int_cmp(const void *x, const void *y) {
  int a = *(const int *)x, b = *(const int *)y;
  return a < b ? -1 : a > b;
}

static void expr_buffer_uses(const LExpr *e, LUses *u) {
  for (; e; e = e->c) { /* the third operand iteratively: select chains */
    if (e->kind == LE_LOAD) use(u, e->buf->id, true, false);
    expr_buffer_uses(e->a, u);
    expr_buffer_uses(e->b, u);
  }
}

static void stmt_buffer_uses(const LStmt *s, LUses *u) {
  for (; s; s = s->next) {
    const LExpr *exprs[] = {s->lo, s->hi, s->value, s->index, s->cond};
    for (int i = 0; i < 5; i++) expr_buffer_uses(exprs[i], u);
    if (s->kind == LS_STORE) use(u, s->buf->id, false, true);
    stmt_buffer_uses(s->body, u);
    stmt_buffer_uses(s->else_body, u);
  }
}

void lkernel_buffer_uses(const LKernel *k, LUses *u) {
  uses_clear(u);
  stmt_buffer_uses(k->body, u);
  qsort(u->ids, (size_t)u->n, sizeof(int), int_cmp);
}

static void expr_var_uses(const LExpr *e, LUses *u) {
  for (; e; e = e->c) {
    if (e->kind == LE_VAR) use(u, e->var->id, true, true);
    expr_var_uses(e->a, u);
    expr_var_uses(e->b, u);
  }
}

static void stmt_var_uses(const LStmt *s, LUses *u) {
  for (; s; s = s->next) {
    if (s->var) use(u, s->var->id, true, false);
    const LExpr *exprs[] = {s->lo, s->hi, s->value, s->index, s->cond};
    for (int i = 0; i < 5; i++) expr_var_uses(exprs[i], u);
    stmt_var_uses(s->body, u);
    stmt_var_uses(s->else_body, u);
  }
}

void lkernel_var_uses(const LKernel *k, LUses *u) {
  uses_clear(u);
  stmt_var_uses(k->body, u);
  qsort(u->ids, (size_t)u->n, sizeof(int), int_cmp);
}
