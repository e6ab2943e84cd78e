/* Loop-IR test helpers: see loopkit.h. */
#include "loopkit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loop_printer.h"
#include "loop_reader.h"
#include "loop_verify.h"

static Shape shp(int rank, int64_t d0, int64_t d1, int64_t d2, int64_t d3) {
  int64_t d[4] = {d0, d1, d2, d3};
  return shape_of(rank, d);
}

static LBuffer *planned(LBuffer *b, int64_t offset) {
  b->offset = offset;
  return b;
}

/* Float constants that test the shortest round-trip printing. */
static const float odd_floats[] = {0.1f, 1e-38f, -0.0f, 3.4028235e38f, 1.0f, 1e-45f, 123456789.0f,
                                   0.3333333f, 16777216.0f, -2.5e-7f};

static LStmt *expr_zoo(LProgram *p, LBuffer *t0, LBuffer *q8, LBuffer *q16, LBuffer *u8b,
                       LVar *seed, LVar *i) {
  LBlock b = {0};
  LVar *acc = lprog_var(p, "acc", DT_F32, LVAR_LOCAL);
  LExpr *vi = le_var(p, i);
  lblock_add(&b, ls_let(p, acc, le_load(p, t0, vi)));
  for (size_t k = 0; k < sizeof odd_floats / sizeof *odd_floats; k++)
    lblock_add(&b, ls_assign(p, acc, le_bin(p, LB_ADD, le_var(p, acc), le_f32(p, odd_floats[k]))));
  lblock_add(&b, ls_assign(p, acc, le_f32(p, INFINITY)));
  lblock_add(&b, ls_assign(p, acc, le_f32(p, -INFINITY)));
  lblock_add(&b, ls_assign(p, acc, le_f32(p, NAN)));
  lblock_add(&b, ls_assign(p, acc, le_un(p, LU_NEG, le_f32(p, 2.0f))));
  lblock_add(&b, ls_assign(p, acc, le_un(p, LU_NEG, le_f32(p, -2.0f))));
  /* Every unary function and intrinsic. */
  LUnOp fns[] = {LU_ABS, LU_EXP, LU_LOG, LU_SQRT, LU_FLOOR, LU_NEG};
  for (size_t k = 0; k < sizeof fns / sizeof *fns; k++)
    lblock_add(&b, ls_assign(p, acc, le_un(p, fns[k], le_var(p, acc))));
  lblock_add(&b, ls_assign(p, acc, le_call(p, LI_ROUND_EVEN, le_var(p, acc), NULL)));
  lblock_add(&b, ls_assign(p, acc, le_call(p, LI_POW, le_var(p, acc), le_f32(p, 0.5f))));
  lblock_add(&b, ls_assign(p, acc, le_call(p, LI_HASH_UNIFORM, le_var(p, seed),
                                           le_cast(p, DT_I64, le_var(p, i)))));
  /* Precedence: (a - b) - c, a - (b - c), (a + b) * c, -(a * b), min/max. */
  LExpr *a = le_var(p, acc);
  lblock_add(&b, ls_assign(p, acc, le_bin(p, LB_SUB, le_bin(p, LB_SUB, a, le_f32(p, 1)),
                                          le_f32(p, 2))));
  lblock_add(&b, ls_assign(p, acc, le_bin(p, LB_SUB, a, le_bin(p, LB_SUB, le_f32(p, 1), a))));
  lblock_add(&b, ls_assign(p, acc, le_bin(p, LB_MUL, le_bin(p, LB_ADD, a, a), a)));
  lblock_add(&b, ls_assign(p, acc, le_un(p, LU_NEG, le_bin(p, LB_MUL, a, a))));
  lblock_add(&b, ls_assign(p, acc, le_bin(p, LB_DIV, le_bin(p, LB_MIN, a, le_f32(p, 6)),
                                          le_bin(p, LB_MAX, a, le_f32(p, 0)))));
  /* Integer operators, every one, in a chain that needs parentheses. */
  LVar *k = lprog_var(p, "k", DT_I32, LVAR_LOCAL);
  lblock_add(&b, ls_let(p, k, le_int(p, DT_I32, -2147483647 - 1)));
  LBinOp iops[] = {LB_ADD, LB_SUB, LB_MUL, LB_DIV, LB_REM, LB_SHL, LB_SHR, LB_AND, LB_OR,
                   LB_XOR, LB_LT,  LB_LE,  LB_GT,  LB_GE,  LB_EQ,  LB_NE,  LB_LAND, LB_LOR};
  for (size_t j = 0; j < sizeof iops / sizeof *iops; j++) {
    LExpr *lhs = le_bin(p, iops[(j + 3) % 18], le_var(p, k), le_int(p, DT_I32, (int64_t)j - 3));
    LExpr *rhs = le_bin(p, iops[(j + 7) % 18], le_int(p, DT_I32, 7), le_var(p, k));
    lblock_add(&b, ls_assign(p, k, le_bin(p, iops[j], lhs, rhs)));
  }
  lblock_add(&b, ls_assign(p, k, le_un(p, LU_NOT, le_un(p, LU_NOT, le_var(p, k)))));
  lblock_add(&b, ls_assign(p, k, le_un(p, LU_NEG, le_int(p, DT_I32, 3))));
  lblock_add(&b, ls_assign(p, k, le_un(p, LU_NEG, le_un(p, LU_NEG, le_var(p, k)))));
  lblock_add(&b, ls_assign(p, k, le_bin(p, LB_SUB, le_var(p, k), le_int(p, DT_I32, -3))));
  lblock_add(&b, ls_assign(p, k, le_bin(p, LB_MUL, le_int(p, DT_I32, -3), le_var(p, k))));
  /* Every dtype: constants at their extremes, casts, select. */
  LVar *w = lprog_var(p, "w", DT_I64, LVAR_LOCAL);
  lblock_add(&b, ls_let(p, w, le_bin(p, LB_ADD, le_int(p, DT_I64, INT64_MIN),
                                     le_int(p, DT_I64, INT64_MAX))));
  lblock_add(&b, ls_store(p, q8, le_int(p, DT_I32, 0),
                          le_select(p, le_var(p, k), le_int(p, DT_I8, -128),
                                    le_cast(p, DT_I8, le_var(p, acc)))));
  lblock_add(&b, ls_store(p, q8, le_int(p, DT_I32, 1), le_int(p, DT_I8, 127)));
  lblock_add(&b, ls_store(p, q16, le_cast(p, DT_I32, le_var(p, w)),
                          le_bin(p, LB_MAX, le_int(p, DT_I16, -32768), le_int(p, DT_I16, 32767))));
  lblock_add(&b, ls_store(p, u8b, le_int(p, DT_I32, 2),
                          le_bin(p, LB_MIN, le_int(p, DT_U8, 255), le_int(p, DT_U8, 0))));
  lblock_add(&b, ls_store(p, t0, vi, le_cast(p, DT_F32, le_load(p, q16, le_int(p, DT_I64, 3)))));
  return b.first;
}

/* Values of the constant buffers: floats that test exact printing, and
 * integers at their type's extremes (more than 8: the text wraps). */
static const float lut_values[] = {0.0f, -0.0f, 1e-45f, 3.4028235e38f, 0.1f, -2.5f};
static const int16_t tab_values[] = {-32768, 32767, 0, 1, -1, 2, 3, 4, 5, 6, 7, 8};
static const uint32_t u32_values[] = {0, 4294967295u, 7};

/* The integer side: u16 and u32, every new intrinsic, constant buffers. */
static LKernel *int8_kernel(LProgram *p, LVar *seed) {
  LBuffer *a8 = lprog_buffer(p, "a8", DT_I8, shp(1, 16, 0, 0, 0), LBUF_WORK, LROLE_NONE);
  LBuffer *u8 = lprog_buffer(p, "au8", DT_U8, shp(1, 16, 0, 0, 0), LBUF_WORK, LROLE_NONE);
  LBuffer *o32 = lprog_buffer(p, "o32", DT_I32, shp(1, 4, 0, 0, 0), LBUF_WORK, LROLE_NONE);
  LBuffer *o16 = lprog_buffer(p, "o16", DT_U16, shp(1, 4, 0, 0, 0), LBUF_WORK, LROLE_NONE);
  LBuffer *lut = lprog_const_buffer(p, "lut", DT_F32, shp(1, 6, 0, 0, 0), lut_values);
  LBuffer *tab = lprog_const_buffer(p, "tab", DT_I16, shp(2, 3, 4, 0, 0), tab_values);
  LBuffer *big = lprog_const_buffer(p, "big", DT_U32, shp(1, 3, 0, 0, 0), u32_values);
  LKernel *k = lprog_kernel(p, "int8_ops", "dense q (int8)", (SrcLoc){0});
  LVar *g = lprog_var(p, "g", DT_I32, LVAR_LOOP);
  LVar *acc = lprog_var(p, "acc", DT_I32, LVAR_LOCAL);
  LVar *h = lprog_var(p, "h", DT_U16, LVAR_LOCAL);
  LVar *u = lprog_var(p, "u", DT_U32, LVAR_LOCAL);
  LVar *l = lprog_var(p, "l", DT_I64, LVAR_LOCAL);
  LVar *f = lprog_var(p, "f", DT_F32, LVAR_LOCAL);
  LExpr *g4 = le_bin(p, LB_MUL, le_var(p, g), le_int(p, DT_I32, 4));
  LBlock b = {0};
  lblock_add(&b, ls_let(p, acc, le_call3(p, LI_DOT4_I8, le_int(p, DT_I32, 0), le_load(p, a8, g4),
                                         le_load(p, a8, g4))));
  lblock_add(&b, ls_assign(p, acc, le_call3(p, LI_DOT4_U8I8, le_var(p, acc), le_load(p, u8, g4),
                                            le_load(p, a8, g4))));
  lblock_add(&b, ls_assign(p, acc, le_call(p, LI_SHR_ROUND, le_var(p, acc), le_int(p, DT_I32, 3))));
  lblock_add(&b, ls_assign(p, acc, le_call3(p, LI_CLAMP, le_var(p, acc), le_int(p, DT_I32, -127),
                                            le_int(p, DT_I32, 127))));
  lblock_add(&b, ls_store(p, a8, g4, le_call_to(p, LI_SAT_CAST, DT_I8, le_var(p, acc), NULL, NULL)));
  lblock_add(&b, ls_let(p, h, le_call_to(p, LI_SAT_CAST, DT_U16, le_load(p, lut, le_var(p, g)),
                                         NULL, NULL)));
  lblock_add(&b, ls_assign(p, h, le_bin(p, LB_MUL, le_int(p, DT_U16, 65535), le_var(p, h))));
  lblock_add(&b, ls_let(p, u, le_call(p, LI_HASH_BITS, le_var(p, seed),
                                      le_cast(p, DT_I64, le_var(p, g)))));
  lblock_add(&b, ls_assign(p, u, le_bin(p, LB_SHR, le_var(p, u),
                                        le_load(p, big, le_int(p, DT_I32, 2)))));
  lblock_add(&b, ls_assign(p, u, le_bin(p, LB_ADD, le_var(p, u), le_int(p, DT_U32, 4294967295))));
  lblock_add(&b, ls_let(p, l, le_call(p, LI_SHR_ROUND, le_cast(p, DT_I64, le_var(p, acc)),
                                      le_int(p, DT_I64, 40))));
  lblock_add(&b, ls_let(p, f, le_call3(p, LI_CLAMP, le_load(p, lut, le_var(p, g)), le_f32(p, 0.0f),
                                       le_f32(p, 1.0f))));
  lblock_add(&b, ls_store(p, o16, le_var(p, g), le_var(p, h)));
  LExpr *sum = le_bin(p, LB_ADD, le_cast(p, DT_I32, le_var(p, u)),
                      le_cast(p, DT_I32, le_load(p, tab, le_bin(p, LB_ADD, g4, le_int(p, DT_I32, 1)))));
  sum = le_bin(p, LB_ADD, sum, le_cast(p, DT_I32, le_bin(p, LB_ADD, le_var(p, l),
                                                         le_cast(p, DT_I64, le_var(p, f)))));
  lblock_add(&b, ls_store(p, o32, le_var(p, g), sum));
  k->body = ls_for(p, g, le_int(p, DT_I32, 0), le_int(p, DT_I32, 3), 1, 0, b.first);
  return k;
}

LProgram *kit_sample_program(Arena *a) {
  LProgram *p = lprog_new(a, "zoo", 8);
  LVar *n = lprog_var(p, "n", DT_I32, LVAR_ARG);
  LVar *seed = lprog_var(p, "seed", DT_I64, LVAR_ARG);
  LBuffer *x = lprog_buffer(p, "x", DT_F32, shp(4, 8, 1, 4, 4), LBUF_ARG, LROLE_NONE);
  x->readonly = true;
  LBuffer *y = lprog_buffer(p, "y", DT_I32, shp(1, 8, 0, 0, 0), LBUF_ARG, LROLE_NONE);
  y->readonly = true;
  LBuffer *pred = lprog_buffer(p, "pred", DT_I32, shp(1, 8, 0, 0, 0), LBUF_ARG, LROLE_NONE);
  pred->optional = true;
  LBuffer *wt = planned(lprog_buffer(p, "c1.weight", DT_F32, shp(4, 6, 1, 3, 3), LBUF_STATE,
                                     LROLE_PARAM), 0);
  planned(lprog_buffer(p, "c1.weight.mom", DT_F32, shp(4, 6, 1, 3, 3), LBUF_STATE, LROLE_OPTIM),
          216);
  planned(lprog_buffer(p, "bn.running_mean", DT_F32, shp(1, 6, 0, 0, 0), LBUF_STATE,
                       LROLE_BUFFER), 432);
  LBuffer *step = planned(lprog_buffer(p, "step", DT_I64, shp(0, 0, 0, 0, 0), LBUF_STATE,
                                       LROLE_INTERNAL), 456);
  LBuffer *t0 = planned(lprog_buffer(p, "t0", DT_F32, shp(4, 8, 6, 2, 2), LBUF_WORK,
                                     LROLE_NONE), 0);
  LBuffer *loss = planned(lprog_buffer(p, "loss", DT_F32, shp(0, 0, 0, 0, 0), LBUF_WORK,
                                       LROLE_NONE), 768);
  LBuffer *q8 = lprog_buffer(p, "q8", DT_I8, shp(1, 16, 0, 0, 0), LBUF_WORK, LROLE_NONE);
  LBuffer *q16 = lprog_buffer(p, "q16", DT_I16, shp(1, 4, 0, 0, 0), LBUF_WORK, LROLE_NONE);
  LBuffer *u8b = lprog_buffer(p, "u8", DT_U8, shp(1, 4, 0, 0, 0), LBUF_WORK, LROLE_NONE);
  lprog_buffer(p, "unknown_dim", DT_F32, shp(2, -1, 3, 0, 0), LBUF_WORK, LROLE_NONE);
  lprog_buffer(p, "unknown_rank", DT_F32, shape_unknown(), LBUF_WORK, LROLE_NONE);
  p->loss = loss;
  p->input = x;
  p->label = y;
  p->pred = pred;
  p->num_classes = 10;
  p->state_bytes = 464;
  p->work_bytes = 772;

  /* init: a loop with step and unroll, hash_uniform seeding. */
  LKernel *init = lprog_kernel(p, "c1_init", "init c1.weight", (SrcLoc){"models/zoo.net", 3, 5});
  LVar *i0 = lprog_var(p, "i", DT_I32, LVAR_LOOP);
  init->body = ls_for(p, i0, le_int(p, DT_I32, 0), le_int(p, DT_I32, 54), 1, LHINT_UNROLL,
                      ls_store(p, wt, le_var(p, i0),
                               le_call(p, LI_HASH_UNIFORM, le_var(p, seed),
                                       le_cast(p, DT_I64, le_var(p, i0)))));
  LVar *s0 = lprog_var(p, "s", DT_I64, LVAR_LOOP);
  lblock_add(&(LBlock){init->body, init->body},
             ls_for(p, s0, le_int(p, DT_I64, 0), le_int(p, DT_I64, 1), 3, 0,
                    ls_store(p, step, le_var(p, s0), le_int(p, DT_I64, 0))));

  /* forward: nested loops with every hint, if/else, the expression zoo. */
  LKernel *fwd = lprog_kernel(p, "c1_fwd", "conv2d \"c1\"\twith\\escapes\n", (SrcLoc){0});
  LVar *b = lprog_var(p, "b", DT_I32, LVAR_LOOP);
  LVar *j = lprog_var(p, "j", DT_I32, LVAR_LOOP);
  LStmt *then_s = ls_store(p, loss, le_int(p, DT_I32, 0), le_f32(p, 0));
  LStmt *iff = ls_if(p, le_bin(p, LB_LT, le_var(p, b), le_int(p, DT_I32, 3)), then_s,
                     ls_store(p, pred, le_var(p, b), le_load(p, y, le_var(p, b))));
  LStmt *only_then = ls_if(p, le_bin(p, LB_EQ, le_var(p, j), le_int(p, DT_I32, 0)),
                           expr_zoo(p, t0, q8, q16, u8b, seed, j), NULL);
  LStmt *inner = ls_for(p, j, le_int(p, DT_I32, 0), le_int(p, DT_I32, 24), 2,
                        LHINT_VECTORIZE | LHINT_UNROLL, only_then);
  LBlock body = {0};
  lblock_add(&body, iff);
  lblock_add(&body, inner);
  lblock_add(&body, ls_if(p, le_int(p, DT_I32, 1), NULL, NULL)); /* empty if */
  fwd->body = ls_for(p, b, le_int(p, DT_I32, 0), le_var(p, n), 1, LHINT_VECTORIZE, body.first);

  /* Names from the graph may hold any character: they print quoted. */
  LBuffer *odd = lprog_buffer(p, "conv/1 \"w\"", DT_F32, shp(1, 2, 0, 0, 0), LBUF_WORK,
                              LROLE_NONE);
  LVar *oddv = lprog_var(p, "x-y", DT_F32, LVAR_LOCAL);
  LKernel *quoted = lprog_kernel(p, "quoted", NULL, (SrcLoc){0});
  quoted->body = ls_let(p, oddv, le_load(p, odd, le_int(p, DT_I32, 1)));
  quoted->body->next = ls_store(p, odd, le_int(p, DT_I32, 0), le_var(p, oddv));
  lprog_call(p, LENTRY_PREDICT, quoted);
  LKernel *empty = lprog_kernel(p, "empty_kernel", NULL, (SrcLoc){"a b.net", 0, 0});
  (void)empty;
  lprog_call(p, LENTRY_INIT, init);
  lprog_call(p, LENTRY_TRAIN_STEP, fwd);
  lprog_call(p, LENTRY_TRAIN_STEP, empty);
  lprog_call(p, LENTRY_TRAIN_STEP, int8_kernel(p, seed));
  return p;
}

LProgram *kit_small_program(Arena *a) {
  LProgram *p = lprog_new(a, "small", 4);
  lprog_var(p, "n", DT_I32, LVAR_ARG);
  LBuffer *x = lprog_buffer(p, "x", DT_F32, shp(2, 4, 8, 0, 0), LBUF_ARG, LROLE_NONE);
  x->readonly = true;
  LBuffer *y = planned(lprog_buffer(p, "y", DT_F32, shp(2, 4, 8, 0, 0), LBUF_WORK, LROLE_NONE), 0);
  p->work_bytes = 128;
  p->input = x;
  LVar *i = lprog_var(p, "i", DT_I32, LVAR_LOOP);
  LVar *j = lprog_var(p, "j", DT_I32, LVAR_LOOP);
  LExpr *idx = le_bin(p, LB_ADD, le_bin(p, LB_MUL, le_var(p, i), le_int(p, DT_I32, 8)),
                      le_var(p, j));
  LStmt *st = ls_store(p, y, idx, le_load(p, x, idx));
  LKernel *k = lprog_kernel(p, "k", NULL, (SrcLoc){0});
  k->body = ls_for(p, i, le_int(p, DT_I32, 0), le_int(p, DT_I32, 4), 1, 0,
                   ls_for(p, j, le_int(p, DT_I32, 0), le_int(p, DT_I32, 8), 1, 0, st));
  lprog_call(p, LENTRY_TRAIN_STEP, k);
  return p;
}

static FILE *mem_open(char **buf, size_t *size) {
  FILE *f = open_memstream(buf, size);
  if (!f) abort();
  return f;
}

char *kit_print(const LProgram *p) {
  char *buf = NULL;
  size_t size = 0;
  FILE *f = mem_open(&buf, &size);
  lprog_print(f, p);
  if (fclose(f) != 0) abort();
  return buf;
}

LProgram *kit_read(Arena *a, const char *file, const char *text, char **diag) {
  size_t size = 0;
  FILE *f = mem_open(diag, &size);
  Diag *d = diag_new(f);
  LProgram *p = lprog_read(a, d, file, text, strlen(text));
  diag_free(d);
  if (fclose(f) != 0) abort();
  return p;
}

bool kit_verify(const LProgram *p, char **diag) {
  size_t size = 0;
  FILE *f = mem_open(diag, &size);
  Diag *d = diag_new(f);
  bool ok = lprog_verify(p, d);
  diag_free(d);
  if (fclose(f) != 0) abort();
  return ok;
}

/* ---- structural equality ---- */

typedef struct Eq {
  char *why;
  size_t size;
  bool ok;
} Eq;

static bool differ(Eq *q, const char *what) {
  if (q->ok) snprintf(q->why, q->size, "%s differs", what);
  q->ok = false;
  return false;
}

static bool str_eq(const char *a, const char *b) {
  return a == b || (a && b && strcmp(a, b) == 0);
}

static bool float_eq(float a, float b) {
  if (isnan(a) || isnan(b)) return isnan(a) && isnan(b) && signbit(a) == signbit(b);
  return memcmp(&a, &b, sizeof a) == 0;
}

static bool expr_eq(Eq *q, const LExpr *a, const LExpr *b) {
  if (!a || !b) return a == b ? true : differ(q, "expression presence");
  if (a->kind != b->kind || a->type != b->type) return differ(q, "expression kind/type");
  switch (a->kind) {
  case LE_CONST:
    if (a->type == DT_F32 ? !float_eq(a->f, b->f) : a->i != b->i) return differ(q, "constant");
    break;
  case LE_VAR:
    if (!str_eq(a->var->name, b->var->name) || a->var->kind != b->var->kind ||
        a->var->dtype != b->var->dtype)
      return differ(q, "variable");
    break;
  case LE_LOAD:
    if (!str_eq(a->buf->name, b->buf->name)) return differ(q, "load buffer");
    break;
  case LE_BINARY:
    if (a->bop != b->bop) return differ(q, "binary op");
    break;
  case LE_UNARY:
    if (a->uop != b->uop) return differ(q, "unary op");
    break;
  case LE_CALL:
    if (a->fn != b->fn) return differ(q, "intrinsic");
    break;
  default: break;
  }
  return expr_eq(q, a->a, b->a) && expr_eq(q, a->b, b->b) && expr_eq(q, a->c, b->c);
}

static bool stmts_eq(Eq *q, const LStmt *a, const LStmt *b) {
  for (; a && b; a = a->next, b = b->next) {
    if (a->kind != b->kind || a->step != b->step || a->hints != b->hints)
      return differ(q, "statement kind/step/hints");
    if ((a->var || b->var) &&
        (!a->var || !b->var || !str_eq(a->var->name, b->var->name) ||
         a->var->dtype != b->var->dtype || a->var->kind != b->var->kind))
      return differ(q, "statement variable");
    if ((a->buf || b->buf) && (!a->buf || !b->buf || !str_eq(a->buf->name, b->buf->name)))
      return differ(q, "statement buffer");
    if (!expr_eq(q, a->lo, b->lo) || !expr_eq(q, a->hi, b->hi) ||
        !expr_eq(q, a->value, b->value) || !expr_eq(q, a->index, b->index) ||
        !expr_eq(q, a->cond, b->cond) || !stmts_eq(q, a->body, b->body) ||
        !stmts_eq(q, a->else_body, b->else_body))
      return false;
  }
  return a || b ? differ(q, "block length") : true;
}

static bool buffer_eq(Eq *q, const LBuffer *a, const LBuffer *b) {
  if (!a || !b) return a == b ? true : differ(q, "buffer presence");
  if (!str_eq(a->name, b->name) || a->dtype != b->dtype || a->shape.rank != b->shape.rank ||
      a->home != b->home || a->role != b->role || a->offset != b->offset ||
      a->readonly != b->readonly || a->optional != b->optional)
    return differ(q, a->name);
  for (int i = 0; i < a->shape.rank; i++)
    if (a->shape.dim[i] != b->shape.dim[i]) return differ(q, "buffer shape");
  if (a->home != LBUF_CONST) return true;
  if (!a->data || !b->data) return differ(q, "constant buffer values");
  for (int64_t k = 0; k < shape_numel(&a->shape); k++)
    if (a->dtype == DT_F32 ? !float_eq(lconst_f32(a, k), lconst_f32(b, k))
                           : lconst_int(a, k) != lconst_int(b, k))
      return differ(q, "constant buffer value");
  return true;
}

static bool args_eq(Eq *q, const LProgram *a, const LProgram *b) {
  int i = 0, j = 0;
  for (;;) {
    while (i < a->nvars && a->vars[i]->kind != LVAR_ARG) i++;
    while (j < b->nvars && b->vars[j]->kind != LVAR_ARG) j++;
    if (i == a->nvars || j == b->nvars) return i == a->nvars && j == b->nvars ? true : differ(q, "args");
    if (!str_eq(a->vars[i]->name, b->vars[j]->name) || a->vars[i]->dtype != b->vars[j]->dtype)
      return differ(q, "arg");
    i++, j++;
  }
}

bool kit_equal(const LProgram *a, const LProgram *b, char *why, size_t size) {
  Eq q = {why, size, true};
  if (!str_eq(a->name, b->name) || a->batch != b->batch || a->num_classes != b->num_classes ||
      a->state_bytes != b->state_bytes || a->work_bytes != b->work_bytes)
    return differ(&q, "program header");
  if (!args_eq(&q, a, b)) return false;
  if (a->nbuffers != b->nbuffers) return differ(&q, "buffer count");
  for (int i = 0; i < a->nbuffers; i++)
    if (!buffer_eq(&q, a->buffers[i], b->buffers[i])) return false;
  if (!buffer_eq(&q, a->loss, b->loss) || !buffer_eq(&q, a->input, b->input) ||
      !buffer_eq(&q, a->label, b->label) || !buffer_eq(&q, a->pred, b->pred))
    return false;
  if (a->nkernels != b->nkernels) return differ(&q, "kernel count");
  for (int i = 0; i < a->nkernels; i++) {
    const LKernel *ka = a->kernels[i], *kb = b->kernels[i];
    if (!str_eq(ka->name, kb->name) || !str_eq(ka->origin, kb->origin) ||
        !str_eq(ka->loc.file, kb->loc.file) || ka->loc.line != kb->loc.line ||
        ka->loc.col != kb->loc.col)
      return differ(&q, "kernel header");
    if (!stmts_eq(&q, ka->body, kb->body)) return false;
  }
  for (int e = 0; e < LENTRY_COUNT; e++) {
    if (a->entries[e].ncalls != b->entries[e].ncalls) return differ(&q, "entry length");
    for (int i = 0; i < a->entries[e].ncalls; i++)
      if (!str_eq(a->entries[e].calls[i]->name, b->entries[e].calls[i]->name))
        return differ(&q, "entry call");
  }
  return true;
}
