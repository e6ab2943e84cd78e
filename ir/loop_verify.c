/* Checks a loop-IR program (rules in docs/loops.md): types with no implicit
 * conversion, variable scopes, buffer homes and the memory plan, entries,
 * the bounds of loads and stores whose index is affine in loop variables,
 * that index arithmetic stays within its type, and (ir/loop_overlap.c) that
 * no two buffers share bytes while both hold values. Bounds are best effort: an index is checked when it is a
 * linear combination of loop variables whose ranges are known (constant or
 * affine bounds, %n counted as the batch) and the access is not under an
 * `if` (conditions often guard padding, which this analysis cannot see). */
#include "loop_verify.h"

#include "loop_overlap.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* The values a loop variable takes: [lo, hi], when known. */
typedef struct Range {
  bool known;
  int64_t lo, hi;
} Range;

typedef struct Ctx {
  const LProgram *p;
  Diag *d;
  const LKernel *k;
  bool in_predict; /* the kernel is called from predict */
  int under_if;
  const LVar **scope; /* visible loop vars and locals, innermost last */
  int nscope, cap_scope;
  Range *range; /* by var id */
  bool ok;
} Ctx;

static void verr(Ctx *c, SrcLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void verr(Ctx *c, SrcLoc loc, const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  c->ok = false;
  if (c->k) diag_error(c->d, loc, "kernel %s: %s", c->k->name, buf);
  else diag_error(c->d, loc, "%s", buf);
}

static bool is_int(DType t) { return dtype_is_int(t); }
static const char *tn(DType t) { return (unsigned)t < DT_COUNT ? dtype_name(t) : "?"; }

static bool valid_name(const char *s) {
  if (!s || !*s) return false;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
          *s == '_' || *s == '.'))
      return false;
  return true;
}

static bool valid_ident(const char *s) {
  return valid_name(s) && !strchr(s, '.') && !(*s >= '0' && *s <= '9');
}

static bool own_buffer(const LProgram *p, const LBuffer *b) {
  return b && b->id >= 0 && b->id < p->nbuffers && p->buffers[b->id] == b;
}

static bool own_var(const LProgram *p, const LVar *v) {
  return v && v->id >= 0 && v->id < p->nvars && p->vars[v->id] == v;
}

static bool in_scope(const Ctx *c, const LVar *v) {
  for (int i = c->nscope - 1; i >= 0; i--)
    if (c->scope[i] == v) return true;
  return false;
}

static void push_scope(Ctx *c, const LVar *v) {
  if (c->nscope == c->cap_scope) {
    c->cap_scope = c->cap_scope ? c->cap_scope * 2 : 16;
    c->scope = xrealloc(c->scope, (size_t)c->cap_scope * sizeof *c->scope);
  }
  c->scope[c->nscope++] = v;
}

/* ---- affine index analysis ---- */

enum { MAX_TERMS = 16 };

/* lo..hi + sum coef[i] * var[i]: the constant part is an interval so that
 * a cast whose operand does not fit its type (it wraps) can stand for every
 * value of that type while the loop variables stay exact. */
typedef struct Lin {
  int n;
  const LVar *var[MAX_TERMS];
  int64_t coef[MAX_TERMS];
  int64_t lo, hi;
} Lin;

static bool lin_add_term(Lin *l, const LVar *v, int64_t coef) {
  for (int i = 0; i < l->n; i++)
    if (l->var[i] == v) return !__builtin_add_overflow(l->coef[i], coef, &l->coef[i]);
  if (l->n == MAX_TERMS) return false;
  l->var[l->n] = v;
  l->coef[l->n++] = coef;
  return true;
}

/* [lo, hi] * k, as an interval. */
static bool scale_interval(int64_t *lo, int64_t *hi, int64_t k) {
  int64_t a, b;
  if (__builtin_mul_overflow(*lo, k, &a) || __builtin_mul_overflow(*hi, k, &b)) return false;
  *lo = a < b ? a : b;
  *hi = a < b ? b : a;
  return true;
}

static bool lin_scale(Lin *l, int64_t k) {
  for (int i = 0; i < l->n; i++)
    if (__builtin_mul_overflow(l->coef[i], k, &l->coef[i])) return false;
  return scale_interval(&l->lo, &l->hi, k);
}

static bool lin_add(Lin *l, const Lin *m, int64_t sign) {
  for (int i = 0; i < m->n; i++) {
    int64_t coef;
    if (__builtin_mul_overflow(m->coef[i], sign, &coef) || !lin_add_term(l, m->var[i], coef))
      return false;
  }
  int64_t lo = m->lo, hi = m->hi;
  return scale_interval(&lo, &hi, sign) && !__builtin_add_overflow(l->lo, lo, &l->lo) &&
         !__builtin_add_overflow(l->hi, hi, &l->hi);
}

static bool is_n(const LVar *v) { return v->kind == LVAR_ARG && strcmp(v->name, "n") == 0; }

static Range lin_range(const Ctx *c, const Lin *l);

/* A cast keeps its operand's value only when every value the operand can
 * take fits the cast's type; otherwise it wraps, and the result is any
 * value of that type. */
static bool lin_cast(const Ctx *c, DType t, Lin *l) {
  int64_t lo, hi;
  if (!dtype_int_range(t, &lo, &hi)) return false;
  Range r = lin_range(c, l);
  if (!r.known) return false;
  if (r.lo >= lo && r.hi <= hi) return true;
  memset(l, 0, sizeof *l);
  l->lo = lo;
  l->hi = hi;
  return true;
}

/* Arithmetic in i32 and i64 is exact where it is defined (check_fits
 * refuses what may overflow); in the narrower and unsigned types it wraps. */
static bool lin_wrap(const Ctx *c, DType t, Lin *l) {
  return t == DT_I32 || t == DT_I64 || lin_cast(c, t, l);
}

/* The values of a op b for the operators that are not linear, as an
 * interval (the loop variables' identities are lost): division and
 * remainder by a positive constant, min and max. */
static bool lin_interval(const Ctx *c, const LExpr *e, Lin *out, Range a, Range b) {
  if (!a.known || !b.known) return false;
  int64_t lo, hi;
  switch (e->bop) {
  case LB_DIV: /* truncation is monotonic in a */
    if (b.lo != b.hi || b.lo <= 0) return false;
    lo = a.lo / b.lo;
    hi = a.hi / b.lo;
    break;
  case LB_REM:
    if (b.lo != b.hi || b.lo <= 0) return false;
    lo = a.lo >= 0 ? 0 : -(b.lo - 1);
    hi = a.hi <= 0 ? 0 : b.lo - 1;
    if (a.lo >= 0 && a.hi < b.lo) lo = a.lo, hi = a.hi;
    break;
  case LB_MIN:
    lo = a.lo < b.lo ? a.lo : b.lo;
    hi = a.hi < b.hi ? a.hi : b.hi;
    break;
  case LB_MAX:
    lo = a.lo > b.lo ? a.lo : b.lo;
    hi = a.hi > b.hi ? a.hi : b.hi;
    break;
  default: return false;
  }
  memset(out, 0, sizeof *out);
  out->lo = lo;
  out->hi = hi;
  return lin_wrap(c, e->type, out);
}

/* e as a linear form over loop vars (and %n); false if it is not one. */
static bool linearize(const Ctx *c, const LExpr *e, Lin *out) {
  memset(out, 0, sizeof *out);
  if (!e || !is_int(e->type)) return false;
  switch (e->kind) {
  case LE_CONST: out->lo = out->hi = e->i; return true;
  case LE_VAR:
    if (!e->var || !(e->var->kind == LVAR_LOOP || is_n(e->var))) return false;
    return lin_add_term(out, e->var, 1);
  case LE_CAST:
    return e->a && is_int(e->a->type) && linearize(c, e->a, out) && lin_cast(c, e->type, out);
  case LE_UNARY:
    return e->uop == LU_NEG && linearize(c, e->a, out) && lin_scale(out, -1) &&
           lin_wrap(c, e->type, out);
  case LE_BINARY: {
    Lin b;
    if (!linearize(c, e->a, out) || !linearize(c, e->b, &b)) return false;
    if (e->bop == LB_ADD) return lin_add(out, &b, 1) && lin_wrap(c, e->type, out);
    if (e->bop == LB_SUB) return lin_add(out, &b, -1) && lin_wrap(c, e->type, out);
    if (e->bop != LB_MUL) return lin_interval(c, e, out, lin_range(c, out), lin_range(c, &b));
    if (b.n == 0 && b.lo == b.hi) return lin_scale(out, b.lo) && lin_wrap(c, e->type, out);
    if (out->n == 0 && out->lo == out->hi) {
      int64_t k = out->lo;
      *out = b;
      return lin_scale(out, k) && lin_wrap(c, e->type, out);
    }
    return false;
  }
  case LE_SELECT: {
    Lin b;
    if (!linearize(c, e->b, out) || !linearize(c, e->c, &b)) return false;
    Range x = lin_range(c, out), y = lin_range(c, &b);
    if (!x.known || !y.known) return false;
    memset(out, 0, sizeof *out);
    out->lo = x.lo < y.lo ? x.lo : y.lo;
    out->hi = x.hi > y.hi ? x.hi : y.hi;
    return true;
  }
  case LE_LOAD: /* a stored i8/u8/i16/u16: any value of its type (a wider
                   one is data the analysis cannot bound: unchecked) */
    return dtype_size(e->type) < 4 && dtype_int_range(e->type, &out->lo, &out->hi);
  default: return false;
  }
}

static Range var_range(const Ctx *c, const LVar *v) {
  if (is_n(v)) return (Range){true, 0, c->p->batch};
  return own_var(c->p, v) ? c->range[v->id] : (Range){0};
}

/* The minimum and maximum of l over the ranges of its variables. */
static Range lin_range(const Ctx *c, const Lin *l) {
  Range r = {true, l->lo, l->hi};
  for (int i = 0; i < l->n; i++) {
    Range v = var_range(c, l->var[i]);
    if (!v.known || !scale_interval(&v.lo, &v.hi, l->coef[i]) ||
        __builtin_add_overflow(r.lo, v.lo, &r.lo) || __builtin_add_overflow(r.hi, v.hi, &r.hi))
      return (Range){0};
  }
  return r;
}

static Range expr_range(const Ctx *c, const LExpr *e) {
  Lin l;
  return linearize(c, e, &l) ? lin_range(c, &l) : (Range){0};
}

/* Signed integer arithmetic that overflows is undefined in C (and wraps in
 * LLVM only with the wrong flags): an affine expression (index arithmetic,
 * loop bounds) whose values can leave its type is refused. Unsigned types
 * wrap by definition (the hash arithmetic relies on it). */
static void check_fits(Ctx *c, const LExpr *e, SrcLoc loc) {
  if (e->type != DT_I32 && e->type != DT_I64) return;
  int64_t lo, hi;
  Range r = expr_range(c, e);
  if (!r.known || !dtype_int_range(e->type, &lo, &hi)) return;
  if (r.lo < lo || r.hi > hi)
    verr(c, loc, "%s arithmetic may overflow: its value ranges over %lld .. %lld", tn(e->type),
         (long long)r.lo, (long long)r.hi);
}

/* The access reaches elements index .. index + extra (3 for a dot4
 * operand, which stands for 4 elements; 1 for a dot2's). */
static void check_bounds(Ctx *c, SrcLoc loc, const char *what, const LBuffer *b,
                         const LExpr *index, int extra) {
  if (c->under_if) return;
  int64_t numel = shape_numel(&b->shape);
  Range r = expr_range(c, index);
  if (numel < 0 || !r.known || __builtin_add_overflow(r.hi, extra, &r.hi)) return;
  if (r.lo < 0)
    verr(c, loc, "%s %%%s may go out of bounds: index down to %lld", what, b->name,
         (long long)r.lo);
  else if (r.hi >= numel)
    verr(c, loc, "%s %%%s may go out of bounds: index up to %lld, buffer has %lld elements",
         what, b->name, (long long)r.hi, (long long)numel);
}

/* ---- expressions ---- */

static void check_expr(Ctx *c, const LExpr *e, SrcLoc at);

static bool want(Ctx *c, const LExpr *e, SrcLoc at, const char *what) {
  if (e) return true;
  verr(c, at, "%s is missing an operand", what);
  return false;
}

/* Where to report a problem with e: its own place, else its parent's. */
static SrcLoc where(const LExpr *e, SrcLoc parent) { return e->loc.file ? e->loc : parent; }

static void need_type(Ctx *c, const LExpr *e, DType t, const char *what, SrcLoc parent) {
  if (e->type != t) verr(c, where(e, parent), "%s must be %s, not %s", what, tn(t), tn(e->type));
}

static void check_const(Ctx *c, const LExpr *e, SrcLoc loc) {
  int64_t lo, hi;
  if (dtype_int_range(e->type, &lo, &hi) && (e->i < lo || e->i > hi))
    verr(c, loc, "constant %lld is out of range for %s", (long long)e->i, tn(e->type));
}

static void check_var(Ctx *c, const LExpr *e, SrcLoc loc) {
  const LVar *v = e->var;
  if (!own_var(c->p, v)) {
    verr(c, loc, "use of a variable that is not in the program");
    return;
  }
  if (v->kind != LVAR_ARG && !in_scope(c, v))
    verr(c, loc, "variable %%%s is used out of its scope", v->name);
  if (e->type != v->dtype)
    verr(c, loc, "use of %%%s has type %s but the variable is %s", v->name, tn(e->type),
         tn(v->dtype));
}

static void check_index(Ctx *c, const LExpr *index, const char *what, const LBuffer *b,
                        SrcLoc loc) {
  if (index->type != DT_I32 && index->type != DT_I64)
    verr(c, where(index, loc), "%s %%%s: index must be i32 or i64, not %s", what, b->name,
         tn(index->type));
}

/* extra: elements read past the index (3 for a dot4 operand, 1 for a dot2). */
static void check_load(Ctx *c, const LExpr *e, SrcLoc loc, int extra) {
  if (!own_buffer(c->p, e->buf)) {
    verr(c, loc, "load from a buffer that is not in the program");
    return;
  }
  if (!want(c, e->a, loc, "load")) return;
  check_expr(c, e->a, loc);
  check_index(c, e->a, "load from", e->buf, loc);
  if (e->type != e->buf->dtype)
    verr(c, loc, "load from %%%s has type %s but the buffer is %s", e->buf->name, tn(e->type),
         tn(e->buf->dtype));
  check_bounds(c, loc, "load from", e->buf, e->a, extra);
}

/* % is allowed on f32: it is C's fmodf (truncated remainder). */
static bool int_only(LBinOp op) {
  return op == LB_SHL || op == LB_SHR || op == LB_AND || op == LB_OR ||
         op == LB_XOR || op == LB_LAND || op == LB_LOR;
}

static bool compares(LBinOp op) { return op >= LB_LT && op <= LB_LOR; }

static void check_binary(Ctx *c, const LExpr *e, SrcLoc loc) {
  if (!want(c, e->a, loc, "binary operator") || !want(c, e->b, loc, "binary operator"))
    return;
  if ((unsigned)e->bop > LB_LOR) {
    verr(c, loc, "unknown binary operator %d", (int)e->bop);
    return;
  }
  check_expr(c, e->a, loc);
  check_expr(c, e->b, loc);
  if (e->a->type != e->b->type) {
    verr(c, loc, "operands have different types (%s and %s); cast one explicitly",
         tn(e->a->type), tn(e->b->type));
    return;
  }
  if (e->bop == LB_ADD || e->bop == LB_SUB || e->bop == LB_MUL) check_fits(c, e, loc);
  if (int_only(e->bop) && !is_int(e->a->type))
    verr(c, loc, "operator needs integer operands, not %s", tn(e->a->type));
  if ((e->bop == LB_LAND || e->bop == LB_LOR) && e->a->type != DT_I32)
    verr(c, loc, "&& and || take i32 conditions, not %s", tn(e->a->type));
  DType want_t = compares(e->bop) ? DT_I32 : e->a->type;
  if (e->type != want_t)
    verr(c, loc, "binary expression has type %s, expected %s", tn(e->type), tn(want_t));
}

static void check_unary(Ctx *c, const LExpr *e, SrcLoc loc) {
  if (!want(c, e->a, loc, "unary operator")) return;
  check_expr(c, e->a, loc);
  DType t = e->a->type;
  DType want_t = t;
  switch (e->uop) {
  case LU_NEG: case LU_ABS: break;
  case LU_NOT:
    if (t != DT_I32) verr(c, loc, "! takes an i32 condition, not %s", tn(t));
    want_t = DT_I32;
    break;
  case LU_EXP: case LU_LOG: case LU_SQRT: case LU_FLOOR: case LU_COS:
    if (t != DT_F32) verr(c, loc, "exp, log, sqrt, floor and cos take f32, not %s", tn(t));
    break;
  default: verr(c, loc, "unknown unary operator %d", (int)e->uop); return;
  }
  if (e->type != want_t)
    verr(c, loc, "unary expression has type %s, expected %s", tn(e->type), tn(want_t));
}

/* An intrinsic call, by its table row: operand count, each operand's type
 * (its own set or another operand's type), group-of-4 loads, the result. */
static void check_call(Ctx *c, const LExpr *e, SrcLoc loc) {
  const LIntrinsicInfo *in = lintrinsic_info(e->fn);
  if (!in) {
    verr(c, loc, "unknown intrinsic %d", (int)e->fn);
    return;
  }
  const LExpr *args[LINTRINSIC_MAX_ARGS] = {e->a, e->b, e->c};
  DType types[LINTRINSIC_MAX_ARGS];
  for (int k = 0; k < LINTRINSIC_MAX_ARGS; k++) {
    types[k] = args[k] ? args[k]->type : DT_COUNT;
    if (k >= in->nargs && args[k]) {
      verr(c, loc, "%s takes %d argument%s", in->name, in->nargs, in->nargs == 1 ? "" : "s");
      return;
    }
    if (k < in->nargs && !want(c, args[k], loc, in->name)) return;
  }
  /* One message shape for intrinsics whose operands share one rule. */
  bool uniform = true;
  for (int k = 1; k < in->nargs; k++)
    uniform &= in->arg[k].same_as < 0 && in->arg[k].types == in->arg[0].types;
  for (int k = 0; k < in->nargs; k++) {
    const LOperand *o = &in->arg[k];
    if (o->group > 1 && args[k]->kind != LE_LOAD) {
      verr(c, where(args[k], loc), "%s's %s must be a load (it stands for the %d elements from "
           "its index on)", in->name, o->name, o->group);
      continue;
    }
    if (o->group > 1) check_load(c, args[k], where(args[k], loc), o->group - 1);
    else check_expr(c, args[k], loc);
    unsigned allowed = lintrinsic_allowed(e->fn, k, types);
    if ((unsigned)types[k] < DT_COUNT && !(allowed & (1u << types[k]))) {
      char set[64], what[64];
      if (o->same_as >= 0)
        snprintf(what, sizeof what, "%s's %s (like its %s)", in->name, o->name,
                 in->arg[o->same_as].name);
      else if (uniform)
        snprintf(what, sizeof what, "%s's argument%s", in->name, in->nargs == 1 ? "" : "s");
      else
        snprintf(what, sizeof what, "%s's %s", in->name, o->name);
      verr(c, where(args[k], loc), "%s must be %s, not %s", what,
           dtype_set_str(allowed, set, sizeof set), tn(types[k]));
    }
  }
  if (in->result == LRES_WRITTEN && !(in->result_types & (1u << e->type))) {
    char set[64];
    verr(c, loc, "%s<%s>: the result type must be %s", in->name, tn(e->type),
         dtype_set_str(in->result_types, set, sizeof set));
    return;
  }
  DType want_t = lintrinsic_result(e->fn, types, e->type);
  if ((unsigned)want_t < DT_COUNT && e->type != want_t)
    verr(c, loc, "%s has type %s, expected %s", in->name, tn(e->type), tn(want_t));
}

static void check_expr(Ctx *c, const LExpr *e, SrcLoc at) {
  if (!e) {
    verr(c, at, "missing expression");
    return;
  }
  SrcLoc loc = where(e, at); /* builder exprs have none: point at the parent */
  if ((unsigned)e->type >= DT_COUNT) {
    verr(c, loc, "expression has an invalid type %d", (int)e->type);
    return;
  }
  switch (e->kind) {
  case LE_CONST: check_const(c, e, loc); return;
  case LE_VAR: check_var(c, e, loc); return;
  case LE_LOAD: check_load(c, e, loc, 0); return;
  case LE_BINARY: check_binary(c, e, loc); return;
  case LE_UNARY: check_unary(c, e, loc); return;
  case LE_CAST:
    if (want(c, e->a, loc, "cast")) check_expr(c, e->a, loc);
    return;
  case LE_SELECT:
    if (!want(c, e->a, loc, "select") || !want(c, e->b, loc, "select") ||
        !want(c, e->c, loc, "select"))
      return;
    check_expr(c, e->a, loc);
    check_expr(c, e->b, loc);
    check_expr(c, e->c, loc);
    need_type(c, e->a, DT_I32, "select's condition", loc);
    if (e->b->type != e->c->type)
      verr(c, loc, "select's values have different types (%s and %s)", tn(e->b->type),
           tn(e->c->type));
    else if (e->type != e->b->type)
      verr(c, loc, "select has type %s, its values %s", tn(e->type), tn(e->b->type));
    return;
  case LE_CALL: check_call(c, e, loc); return;
  }
  verr(c, loc, "unknown expression kind %d", (int)e->kind);
}

/* ---- statements ---- */

static void check_block(Ctx *c, const LStmt *s, SrcLoc at);

static SrcLoc stmt_loc(const LStmt *s, SrcLoc at) { return s->loc.file ? s->loc : at; }

static bool declare(Ctx *c, const LVar *v, LVarKind kind, SrcLoc loc) {
  const char *what = kind == LVAR_LOOP ? "for" : "let";
  if (!own_var(c->p, v)) {
    verr(c, loc, "%s declares a variable that is not in the program", what);
    return false;
  }
  if (v->kind != kind) {
    verr(c, loc, "%s declares %%%s, which is not a %s variable", what, v->name,
         kind == LVAR_LOOP ? "loop" : "local");
    return false;
  }
  if (in_scope(c, v)) {
    verr(c, loc, "%%%s is declared again inside its own scope", v->name);
    return false;
  }
  return true;
}

/* The loop variable's range for bounds checks: [min lo, max hi - 1]. */
static Range loop_range(const Ctx *c, const LStmt *s) {
  Range lo = expr_range(c, s->lo), hi = expr_range(c, s->hi);
  if (!lo.known || !hi.known || hi.hi == INT64_MIN || hi.hi - 1 < lo.lo) return (Range){0};
  return (Range){true, lo.lo, hi.hi - 1};
}

static void check_for(Ctx *c, const LStmt *s, SrcLoc loc) {
  if (!want(c, s->lo, loc, "for") || !want(c, s->hi, loc, "for")) return;
  check_expr(c, s->lo, loc);
  check_expr(c, s->hi, loc);
  if (!declare(c, s->var, LVAR_LOOP, loc)) return;
  const LVar *v = s->var;
  if (v->dtype != DT_I32 && v->dtype != DT_I64)
    verr(c, loc, "loop variable %%%s must be i32 or i64, not %s", v->name, tn(v->dtype));
  if (s->lo->type != v->dtype || s->hi->type != v->dtype)
    verr(c, loc, "bounds of %%%s must be %s, not %s .. %s", v->name, tn(v->dtype),
         tn(s->lo->type), tn(s->hi->type));
  if (s->step <= 0) verr(c, loc, "loop step must be positive, not %lld", (long long)s->step);
  if (s->hints & ~(unsigned)(LHINT_VECTORIZE | LHINT_UNROLL | LHINT_SCALAR))
    verr(c, loc, "unknown loop hints 0x%x", s->hints);
  if ((s->hints & LHINT_SCALAR) && (s->hints & LHINT_VECTORIZE))
    verr(c, loc, "loop %%%s is both vectorize and scalar", s->var->name);
  int mark = c->nscope;
  Range saved = c->range[v->id];
  c->range[v->id] = loop_range(c, s);
  push_scope(c, v);
  check_block(c, s->body, loc);
  c->nscope = mark;
  c->range[v->id] = saved;
}

static void check_store(Ctx *c, const LStmt *s, SrcLoc loc) {
  const LBuffer *b = s->buf;
  if (!own_buffer(c->p, b)) {
    verr(c, loc, "store to a buffer that is not in the program");
    return;
  }
  if (!want(c, s->index, loc, "store") || !want(c, s->value, loc, "store")) return;
  check_expr(c, s->index, loc);
  check_expr(c, s->value, loc);
  check_index(c, s->index, "store to", b, loc);
  if (s->value->type != b->dtype)
    verr(c, loc, "store to %%%s: value is %s but the buffer is %s", b->name,
         tn(s->value->type), tn(b->dtype));
  if (b->home == LBUF_ARG && b->readonly)
    verr(c, loc, "store to %%%s, a readonly argument buffer", b->name);
  if (b->home == LBUF_CONST) verr(c, loc, "store to %%%s, a constant buffer", b->name);
  if (b->home == LBUF_STATE && c->in_predict)
    verr(c, loc, "store to state buffer %%%s, but the kernel is called from predict "
         "(predict takes const state)", b->name);
  check_bounds(c, loc, "store to", b, s->index, 0);
}

static void check_stmt(Ctx *c, const LStmt *s, SrcLoc at) {
  SrcLoc loc = stmt_loc(s, at);
  switch (s->kind) {
  case LS_FOR: check_for(c, s, loc); return;
  case LS_LET:
    if (!want(c, s->value, loc, "let")) return;
    check_expr(c, s->value, loc);
    if (!declare(c, s->var, LVAR_LOCAL, loc)) return;
    if (s->value->type != s->var->dtype)
      verr(c, loc, "let %%%s : %s is given a %s value", s->var->name, tn(s->var->dtype),
           tn(s->value->type));
    push_scope(c, s->var);
    return;
  case LS_ASSIGN:
    if (!want(c, s->value, loc, "assignment")) return;
    check_expr(c, s->value, loc);
    if (!own_var(c->p, s->var)) {
      verr(c, loc, "assignment to a variable that is not in the program");
    } else if (s->var->kind != LVAR_LOCAL) {
      verr(c, loc, "assignment to %%%s, which is not a let local", s->var->name);
    } else if (!in_scope(c, s->var)) {
      verr(c, loc, "assignment to %%%s out of its scope", s->var->name);
    } else if (s->value->type != s->var->dtype) {
      verr(c, loc, "assignment of a %s value to %%%s : %s", tn(s->value->type), s->var->name,
           tn(s->var->dtype));
    }
    return;
  case LS_STORE: check_store(c, s, loc); return;
  case LS_IF:
    if (!want(c, s->cond, loc, "if")) return;
    check_expr(c, s->cond, loc);
    need_type(c, s->cond, DT_I32, "if's condition", loc);
    c->under_if++;
    check_block(c, s->body, loc);
    check_block(c, s->else_body, loc);
    c->under_if--;
    return;
  }
  verr(c, loc, "unknown statement kind %d", (int)s->kind);
}

/* A block's lets are visible up to its end. */
static void check_block(Ctx *c, const LStmt *s, SrcLoc at) {
  int mark = c->nscope;
  for (; s && !diag_too_many(c->d); s = s->next) check_stmt(c, s, at);
  c->nscope = mark;
}

/* ---- the program ---- */

static void check_buffer(Ctx *c, const LBuffer *b, int i) {
  const LProgram *p = c->p;
  SrcLoc loc = b->loc;
  if (b->id != i) verr(c, loc, "buffer %%%s has id %d at position %d", b->name, b->id, i);
  if (!b->name || !*b->name) verr(c, loc, "buffer %d has no name", i);
  if ((unsigned)b->dtype >= DT_COUNT || (unsigned)b->home > LBUF_CONST ||
      (unsigned)b->role > LROLE_INTERNAL) {
    verr(c, loc, "buffer %%%s has an invalid dtype, home or role", b->name);
    return;
  }
  if ((b->home == LBUF_STATE) != (b->role != LROLE_NONE))
    verr(c, loc, "buffer %%%s: state buffers and only they have a role", b->name);
  if (b->home != LBUF_ARG && (b->readonly || b->optional))
    verr(c, loc, "buffer %%%s: only arg buffers are readonly or optional", b->name);
  if (b->home == LBUF_ARG || b->home == LBUF_CONST) {
    const char *what = b->home == LBUF_ARG ? "arg" : "constant";
    if (b->offset != -1) verr(c, loc, "%s buffer %%%s has an offset", what, b->name);
    if (b->home == LBUF_CONST && (shape_numel(&b->shape) < 0 || !b->data))
      verr(c, loc, "constant buffer %%%s needs a known shape and its values", b->name);
    return;
  }
  const char *block = b->home == LBUF_STATE ? "state_bytes" : "work_bytes";
  int64_t limit = b->home == LBUF_STATE ? p->state_bytes : p->work_bytes;
  int64_t numel = shape_numel(&b->shape), bytes, end;
  if (b->offset == -1) return; /* not planned yet */
  if (b->offset < 0) {
    verr(c, loc, "buffer %%%s has a negative offset %lld", b->name, (long long)b->offset);
  } else if (numel < 0) {
    verr(c, loc, "buffer %%%s is planned but its shape is not known", b->name);
  } else if (__builtin_mul_overflow(numel, (int64_t)dtype_size(b->dtype), &bytes) ||
             __builtin_add_overflow(b->offset, bytes, &end) || end > limit) {
    verr(c, loc, "buffer %%%s (%lld bytes at @%lld) does not fit in %s %lld", b->name,
         (long long)(numel * (int64_t)dtype_size(b->dtype)), (long long)b->offset, block,
         (long long)limit);
  }
}

static void check_program_facts(Ctx *c) {
  const LProgram *p = c->p;
  SrcLoc none = {0};
  if (p->batch <= 0) verr(c, none, "batch must be positive, not %d", p->batch);
  if (p->loss) {
    if (!own_buffer(p, p->loss)) verr(c, none, "the loss buffer is not in the program");
    else if (p->loss->dtype != DT_F32 || shape_numel(&p->loss->shape) != 1)
      verr(c, p->loss->loc, "the loss buffer %%%s must be f32 with one element", p->loss->name);
  }
  if (p->kind == LPROG_REGRESSION && p->num_classes != 0)
    verr(c, none, "a regression program has no classes (num_classes %d)", p->num_classes);
  if (p->pred && (p->pred->dtype == DT_F32) != (p->kind == LPROG_REGRESSION))
    verr(c, p->pred->loc, "a %s's pred %%%s is %s, not %s",
         p->kind == LPROG_REGRESSION ? "regression program" : "classifier", p->pred->name,
         p->kind == LPROG_REGRESSION ? "its f32 prediction" : "its i32 classes",
         dtype_name(p->pred->dtype));
  const LBuffer *scalars[] = {p->eval_loss, p->eval_correct};
  const DType scalar_types[] = {DT_F32, DT_I32};
  const char *scalar_names[] = {"eval_loss", "eval_correct"};
  for (int i = 0; i < 2; i++) {
    const LBuffer *b = scalars[i];
    if (!b) continue;
    if (!own_buffer(p, b)) verr(c, none, "the %s buffer is not in the program", scalar_names[i]);
    else if (b->dtype != scalar_types[i] || shape_numel(&b->shape) != 1 || b->home != LBUF_WORK)
      verr(c, b->loc, "the %s buffer %%%s must be a %s work buffer with one element",
           scalar_names[i], b->name, dtype_name(scalar_types[i]));
  }
  const LBuffer *args[] = {p->input, p->label, p->pred};
  const char *names[] = {"input", "label", "pred"};
  for (int i = 0; i < 3; i++)
    if (args[i] && (!own_buffer(p, args[i]) || args[i]->home != LBUF_ARG))
      verr(c, none, "the %s buffer must be an arg buffer of the program", names[i]);
  for (int i = 0; i < p->nvars; i++) {
    const LVar *v = p->vars[i];
    if (v->id != i || !v->name || !*v->name || (unsigned)v->dtype >= DT_COUNT)
      verr(c, none, "variable %d ('%s') has a bad id, name or type", i, v->name);
  }
}

/* Per kernel position: called from predict or eval. One pass over the
 * calls (a program may have hundreds of thousands of kernels). */
static bool *inference_kernels(const LProgram *p) {
  bool *in = xcalloc((size_t)p->nkernels + 1, sizeof(bool));
  LEntryKind es[] = {LENTRY_PREDICT, LENTRY_EVAL};
  for (int e = 0; e < 2; e++)
    for (int i = 0; i < p->entries[es[e]].ncalls; i++) {
      const LKernel *k = p->entries[es[e]].calls[i];
      if (k && k->id >= 0 && k->id < p->nkernels && p->kernels[k->id] == k) in[k->id] = true;
    }
  return in;
}

static void check_kernels(Ctx *c) {
  const LProgram *p = c->p;
  bool *in_predict = inference_kernels(p);
  Arena *names_arena = arena_new();
  StrMap names = {0};
  for (int i = 0; i < p->nkernels && !diag_too_many(c->d); i++) {
    const LKernel *k = p->kernels[i];
    c->k = NULL;
    if (k->id != i || !valid_ident(k->name))
      verr(c, k->loc, "kernel %d ('%s') has a bad id or name (want [A-Za-z_][A-Za-z0-9_]*)", i,
           k->name);
    if (k->name && strmap_put(names_arena, &names, k->name, (void *)k))
      verr(c, k->loc, "duplicate kernel %s", k->name);
    c->k = k;
    c->in_predict = in_predict[i];
    c->nscope = 0;
    c->under_if = 0;
    check_block(c, k->body, (SrcLoc){0});
  }
  free(in_predict);
  arena_free(names_arena);
  c->k = NULL;
  for (int e = 0; e < LENTRY_COUNT; e++)
    for (int i = 0; i < p->entries[e].ncalls; i++) {
      const LKernel *k = p->entries[e].calls[i];
      if (!k || k->id < 0 || k->id >= p->nkernels || p->kernels[k->id] != k)
        verr(c, (SrcLoc){0}, "entry %s calls a kernel that is not in the program (call %d)",
             lentry_name((LEntryKind)e), i);
    }
}

bool lprog_verify(const LProgram *p, Diag *d) {
  Ctx c = {0};
  c.p = p;
  c.d = d;
  c.ok = true;
  c.range = xcalloc((size_t)p->nvars + 1, sizeof(Range));
  check_program_facts(&c);
  for (int i = 0; i < p->nbuffers; i++) check_buffer(&c, p->buffers[i], i);
  check_kernels(&c);
  if (c.ok && !lprog_check_overlaps(p, d)) c.ok = false;
  free(c.range);
  free(c.scope);
  return c.ok;
}
