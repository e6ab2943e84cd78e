/* Building the graph IR from the .net syntax tree (the front end's last
 * step; passes/lower.c is the later lowering of the graph to loops).
 *
 * The network's statements are run in order over a scope of names. An
 * expression evaluates to an Lv: a tensor (a graph Value), a number, a list
 * of integers, a bare symbol (`he`, `true`) or a string. Op calls append
 * nodes and their parameters to the graph; block calls run the block's body
 * in a fresh scope whose names are prefixed with the instance's name.
 * Attribute arithmetic is folded here, with overflow and division by zero
 * reported at the operator.
 *
 * Naming (docs/language.md, "Names"): in `B = e`, the value of e is %B; the
 * single op of e that owns parameters (else the outermost op) is the layer B;
 * every other op is the layer B.<op>; repeats get .1, .2 from
 * graph_unique_name. Inside an instance `s1 = blk(...)`, B is s1.<local>.
 *
 * Errors return LV_ERROR, which every consumer passes on silently, so one
 * mistake is reported once. Recursion here follows the expression tree
 * (bounded by AST_MAX_DEPTH in the parser) and block instantiation (bounded
 * by MAX_BLOCK_DEPTH). */
#include "build_graph.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "builtins.h"
#include "strmap.h"
#include "suggest.h"

enum {
  MAX_BLOCK_DEPTH = 64,  /* nested block instances */
  MAX_NODES = 200000,    /* beyond this a network is a mistake (or an attack) */
};

/* ---- values of expressions and names ---- */

typedef enum { LV_ERROR, LV_TENSOR, LV_INT, LV_FLOAT, LV_LIST, LV_SYM, LV_STR } LvKind;

typedef struct Lv {
  LvKind kind;
  Value *t;    /* LV_TENSOR */
  int64_t i;   /* LV_INT */
  double f;    /* LV_FLOAT */
  int n;       /* LV_LIST */
  int64_t ints[MAX_RANK];
  const char *s; /* LV_SYM, LV_STR */
} Lv;

static const Lv lv_error = {LV_ERROR, NULL, 0, 0, 0, {0}, NULL};

typedef enum { BIND_VALUE, BIND_INPUT, BIND_LABEL, BIND_PARAM } BindKind;

typedef struct Binding {
  const char *name;
  BindKind kind;
  Lv val;
  SrcLoc loc;
  bool used;
  Stmt *stmt;            /* the statement that made it (warnings) */
  struct Binding *prev;  /* the binding it shadows */
  struct Binding *next;  /* every binding of the scope, in order */
} Binding;

typedef struct Scope {
  StrMap names; /* name -> newest Binding */
  Binding *first, *last;
  const Decl *block; /* NULL in the network */
  const char *prefix; /* "" in the network, "s1." in instance s1 */
} Scope;

/* The statement being lowered: how its ops are named. */
typedef struct StmtCtx {
  const char *base;    /* full binding name: "c1", "s1.h" */
  const Expr *outer;   /* its value is %base */
  const Expr *primary; /* the op that is layer `base` */
} StmtCtx;

typedef struct Lower {
  Arena *a;
  Diag *d;
  Graph *g;
  const Program *prog;
  const Decl *network;
  StrMap blocks;    /* name -> Decl */
  StrMap layers;    /* layer (node) name -> its SrcLoc */
  StrMap instances; /* block instance prefix -> the call's SrcLoc */
  StrMap failed;    /* blocks whose body reported errors: not expanded again */
  int warnings;  /* unused-binding warnings given (capped like errors) */
  const Decl *stack[MAX_BLOCK_DEPTH];
  int depth;
  Node *loss;
  bool fatal; /* stop lowering: too many nodes or errors */
} Lower;

static Lv eval(Lower *L, Scope *s, StmtCtx *ctx, const Expr *e);

static bool stopped(Lower *L) {
  if (!L->fatal && diag_too_many(L->d)) L->fatal = true;
  return L->fatal;
}

/* ---- scopes ---- */

static Binding *scope_find(const Scope *s, const char *name) { return strmap_get(&s->names, name); }

static Binding *scope_bind(Lower *L, Scope *s, const char *name, BindKind kind, Lv val,
                           SrcLoc loc, Stmt *stmt) {
  Binding *b = arena_alloc(L->a, sizeof(Binding));
  b->name = name;
  b->kind = kind;
  b->val = val;
  b->loc = loc;
  b->stmt = stmt;
  b->prev = strmap_put(L->a, &s->names, name, b);
  if (s->last)
    s->last->next = b;
  else
    s->first = b;
  s->last = b;
  return b;
}

/* ---- "did you mean" ---- */

/* A suggestion may be one edit away from a short name, two from a longer. */
static Suggest suggest_for(const char *name) {
  return suggest_start(name, strlen(name) < 4 ? 1 : 2);
}

static const char *suggest_callee(Lower *L, const char *name) {
  Suggest sg = suggest_for(name);
  for (int i = 0; builtin_at(i); i++) suggest_try(&sg, builtin_at(i)->name);
  for (const Decl *d = L->prog->decls; d; d = d->next)
    if (d->kind == DECL_BLOCK) suggest_try(&sg, d->name);
  return sg.best;
}

static const char *suggest_attr(const Builtin *b, const char *name) {
  Suggest sg = suggest_for(name);
  for (int i = 0; i < b->nattrs; i++) suggest_try(&sg, b->attrs[i].name);
  suggest_try(&sg, "name");
  return sg.best;
}

/* ---- notes pointing at related places ---- */

static void note_binding(Lower *L, const Binding *b) {
  if (!b) return;
  switch (b->kind) {
  case BIND_PARAM:
    diag_note(L->d, b->loc, "'%s' is a parameter of this block", b->name);
    break;
  case BIND_LABEL: diag_note(L->d, b->loc, "label '%s' is declared here", b->name); break;
  case BIND_INPUT: diag_note(L->d, b->loc, "input '%s' is declared here", b->name); break;
  case BIND_VALUE: diag_note(L->d, b->loc, "'%s' is assigned here", b->name); break;
  }
}

static void note_block(Lower *L, const Decl *blk) {
  diag_note(L->d, blk->loc, "block '%s' is defined here", blk->name);
}

static const char *lv_kind_name(LvKind k) {
  switch (k) {
  case LV_TENSOR: return "a tensor";
  case LV_INT: return "an integer";
  case LV_FLOAT: return "a number";
  case LV_LIST: return "a list";
  case LV_SYM: return "a name";
  case LV_STR: return "a string";
  case LV_ERROR: return "an error";
  }
  return "?";
}

/* The binding an expression names directly, for notes; NULL otherwise. */
static Binding *named_binding(const Scope *s, const Expr *e) {
  return e->kind == EX_NAME ? scope_find(s, e->name) : NULL;
}

/* ---- constant folding ---- */

static Lv lv_int(int64_t v) {
  Lv r = lv_error;
  r.kind = LV_INT;
  r.i = v;
  return r;
}

static Lv lv_float(double v) {
  Lv r = lv_error;
  r.kind = LV_FLOAT;
  r.f = v;
  return r;
}

static bool lv_is_number(const Lv *v) { return v->kind == LV_INT || v->kind == LV_FLOAT; }
static double lv_as_double(const Lv *v) { return v->kind == LV_INT ? (double)v->i : v->f; }

static Lv fold_int(Lower *L, const Expr *e, int64_t a, int64_t b) {
  int64_t r = 0;
  bool bad = false;
  switch (e->op) {
  case '+': bad = __builtin_add_overflow(a, b, &r); break;
  case '-': bad = __builtin_sub_overflow(a, b, &r); break;
  case '*': bad = __builtin_mul_overflow(a, b, &r); break;
  case '/':
    if (b == 0) {
      diag_error(L->d, e->loc, "division by zero");
      return lv_error;
    }
    bad = a == INT64_MIN && b == -1;
    if (!bad) r = a / b;
    break;
  }
  if (bad) {
    diag_error(L->d, e->loc, "integer overflow in '%c' (%" PRId64 " %c %" PRId64 ")", e->op, a,
               e->op, b);
    return lv_error;
  }
  return lv_int(r);
}

static Lv fold_float(Lower *L, const Expr *e, double a, double b) {
  double r = 0;
  switch (e->op) {
  case '+': r = a + b; break;
  case '-': r = a - b; break;
  case '*': r = a * b; break;
  case '/':
    if (b == 0) {
      diag_error(L->d, e->loc, "division by zero");
      return lv_error;
    }
    r = a / b;
    break;
  }
  if (!isfinite(r)) {
    diag_error(L->d, e->loc, "arithmetic overflow in '%c'", e->op);
    return lv_error;
  }
  return lv_float(r);
}

static Lv eval_binop(Lower *L, Scope *s, StmtCtx *ctx, const Expr *e) {
  Lv a = eval(L, s, ctx, e->lhs);
  Lv b = eval(L, s, ctx, e->rhs);
  if (a.kind == LV_ERROR || b.kind == LV_ERROR) return lv_error;
  if (!lv_is_number(&a) || !lv_is_number(&b)) {
    const Lv *bad = lv_is_number(&a) ? &b : &a;
    if (bad->kind == LV_TENSOR)
      diag_error(L->d, e->loc, "'%c' works on numbers, not tensors (use add(a, b) for tensors)",
                 e->op);
    else if (bad->kind == LV_SYM)
      diag_error(L->d, (bad == &a ? e->lhs : e->rhs)->loc, "undefined name '%s'", bad->s);
    else
      diag_error(L->d, e->loc, "'%c' needs numbers, not %s", e->op, lv_kind_name(bad->kind));
    return lv_error;
  }
  if (a.kind == LV_INT && b.kind == LV_INT) return fold_int(L, e, a.i, b.i);
  return fold_float(L, e, lv_as_double(&a), lv_as_double(&b));
}

static Lv eval_neg(Lower *L, Scope *s, StmtCtx *ctx, const Expr *e) {
  Lv a = eval(L, s, ctx, e->lhs);
  if (a.kind == LV_ERROR) return lv_error;
  if (a.kind == LV_INT) {
    if (a.i == INT64_MIN) {
      diag_error(L->d, e->loc, "integer overflow in '-'");
      return lv_error;
    }
    return lv_int(-a.i);
  }
  if (a.kind == LV_FLOAT) return lv_float(-a.f);
  if (a.kind == LV_SYM) {
    diag_error(L->d, e->lhs->loc, "undefined name '%s'", a.s);
    return lv_error;
  }
  diag_error(L->d, e->loc, "'-' needs a number, not %s", lv_kind_name(a.kind));
  return lv_error;
}

static Lv eval_list(Lower *L, Scope *s, StmtCtx *ctx, const Expr *e) {
  Lv r = lv_error;
  r.kind = LV_LIST;
  for (const Arg *p = e->args; p; p = p->next) {
    Lv v = eval(L, s, ctx, p->value);
    if (v.kind == LV_ERROR) return lv_error;
    if (v.kind != LV_INT) {
      diag_error(L->d, p->value->loc, "list elements must be integers, not %s",
                 lv_kind_name(v.kind));
      return lv_error;
    }
    if (r.n == MAX_RANK) {
      diag_error(L->d, e->loc, "list is too long (at most %d elements)", MAX_RANK);
      return lv_error;
    }
    r.ints[r.n++] = v.i;
  }
  return r;
}

static Lv eval_name(Lower *L, Scope *s, const Expr *e) {
  (void)L;
  Binding *b = scope_find(s, e->name);
  if (!b) {
    Lv r = lv_error;
    r.kind = LV_SYM; /* a symbol (`he`, `true`) or an undefined name: the user decides */
    r.s = e->name;
    return r;
  }
  b->used = true;
  return b->val;
}

/* ---- tensors ---- */

/* Evaluates an operand that must be a tensor; labels only where allowed. */
static Value *eval_tensor(Lower *L, Scope *s, StmtCtx *ctx, const Expr *e, const char *what,
                          bool label_ok) {
  Lv v = eval(L, s, ctx, e);
  if (v.kind == LV_ERROR) return NULL;
  if (v.kind == LV_SYM) {
    diag_error(L->d, e->loc, "undefined name '%s'", v.s);
    return NULL;
  }
  if (v.kind != LV_TENSOR) {
    diag_error(L->d, e->loc, "%s must be a tensor, but this is %s", what,
               lv_kind_name(v.kind));
    Binding *b = named_binding(s, e);
    if (b && b->kind == BIND_PARAM) note_block(L, s->block);
    note_binding(L, b);
    return NULL;
  }
  if (v.t->kind == VAL_LABEL && !label_ok) {
    diag_error(L->d, e->loc, "label '%s' cannot be used as a feature (%s); labels only feed a loss",
               v.t->name, what);
    diag_note(L->d, v.t->loc, "label '%s' is declared here", v.t->name);
    return NULL;
  }
  return v.t;
}

/* ---- layer names ---- */

static bool name_taken(Lower *L, const char *name, bool instance) {
  return strmap_get(&L->layers, name) || (instance && strmap_get(&L->instances, name));
}

/* base, else base.1, base.2, ...: the first that is not a layer yet (nor,
 * for block instances, an earlier instance). */
static const char *unique_layer(Lower *L, const char *base, bool instance) {
  if (!name_taken(L, base, instance)) return arena_strdup(L->a, base);
  for (int i = 1;; i++) {
    char *s = arena_printf(L->a, "%s.%d", base, i);
    if (!name_taken(L, s, instance)) return s;
  }
}

static int count_param_ops(const Expr *e) {
  if (e->kind == EX_BINOP) return count_param_ops(e->lhs) + count_param_ops(e->rhs);
  if (e->kind != EX_CALL) return 0;
  const Builtin *b = builtin_lookup(e->name);
  int n = b && b->has_params;
  for (const Arg *p = e->args; p; p = p->next) n += count_param_ops(p->value);
  return n;
}

static const Expr *find_param_op(const Expr *e) {
  if (e->kind == EX_BINOP) {
    const Expr *l = find_param_op(e->lhs);
    return l ? l : find_param_op(e->rhs);
  }
  if (e->kind != EX_CALL) return NULL;
  const Builtin *b = builtin_lookup(e->name);
  if (b && b->has_params) return e;
  for (const Arg *p = e->args; p; p = p->next) {
    const Expr *f = find_param_op(p->value);
    if (f) return f;
  }
  return NULL;
}

static StmtCtx stmt_ctx(const char *base, const Expr *value) {
  StmtCtx c = {base, value, value};
  if (count_param_ops(value) == 1) c.primary = find_param_op(value);
  return c;
}

/* ---- op calls ---- */

/* One attribute after checking: its integer, pair, number or symbol value. */
typedef struct AttrVal {
  bool set;
  int64_t i;
  int64_t pair[2];
  double f;
  Init init;
  const char *s;
  SrcLoc loc;
} AttrVal;

static bool check_range(Lower *L, const BuiltinAttr *spec, SrcLoc loc, double v) {
  bool low = spec->ends == RANGE_OPEN ? v <= spec->min : v < spec->min;
  bool high = spec->ends == RANGE_CLOSED ? v > spec->max : v >= spec->max;
  if (!low && !high) return true;
  if (spec->ends == RANGE_OPEN)
    diag_error(L->d, loc, "%s=%g is out of range (must be > %g and < %g)", spec->name, v,
               spec->min, spec->max);
  else if (spec->ends == RANGE_MAX_OPEN)
    diag_error(L->d, loc, "%s=%g is out of range (must be >= %g and < %g)", spec->name, v,
               spec->min, spec->max);
  else
    diag_error(L->d, loc, "%s=%g is out of range (must be between %g and %g)", spec->name, v,
               spec->min, spec->max);
  return false;
}

/* The generated code holds float attributes as f32: eps=1e-50 would be 0
 * there and momentum=0.999999999 would be 1, both outside the range just
 * checked in double. */
static bool check_f32(Lower *L, const BuiltinAttr *spec, SrcLoc loc, double v) {
  float f = (float)v;
  if (v != 0 && f == 0) {
    diag_error(L->d, loc, "%s=%g is 0 in f32 (the precision the trainer computes in)", spec->name,
               v);
    return false;
  }
  /* Rounding past a closed end (1e30 is 1.00000002e30f) changes nothing. */
  if (f == v || spec->ends == RANGE_CLOSED) return true;
  int errors = diag_error_count(L->d);
  if (check_range(L, spec, loc, (double)f)) return true;
  if (diag_error_count(L->d) > errors)
    diag_note(L->d, loc, "%s=%.15g is %.9g in f32 (the precision the trainer computes in)",
              spec->name, v, (double)f);
  return false;
}

static bool attr_type_error(Lower *L, Scope *s, const BuiltinAttr *spec, const Expr *e,
                            const Lv *v) {
  if (v->kind == LV_SYM && (spec->type == BA_INT || spec->type == BA_INT2 || spec->type == BA_FLOAT)) {
    diag_error(L->d, e->loc, "undefined name '%s'", v->s);
    return false;
  }
  diag_error(L->d, e->loc, "attribute '%s' must be %s, not %s", spec->name,
             builtin_type_name(spec->type), lv_kind_name(v->kind));
  Binding *b = named_binding(s, e);
  if (b && b->kind == BIND_PARAM) note_block(L, s->block);
  note_binding(L, b);
  return false;
}

static bool eval_init(Lower *L, Scope *s, StmtCtx *ctx, const BuiltinAttr *spec, const Expr *e,
                      AttrVal *out) {
  if (e->kind == EX_NAME) {
    static const InitKind allowed[] = {INIT_HE, INIT_XAVIER, INIT_ZEROS, INIT_ONES};
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
      if (strcmp(e->name, init_name(allowed[i])) == 0) {
        out->init = (Init){allowed[i], 0};
        return true;
      }
    diag_error(L->d, e->loc, "unknown initializer '%s' (use he, xavier, zeros, ones or normal(std))",
               e->name);
    return false;
  }
  if (e->kind == EX_CALL && strcmp(e->name, "normal") == 0 && e->nargs == 1 && !e->args->key) {
    Lv v = eval(L, s, ctx, e->args->value);
    if (v.kind == LV_ERROR) return false;
    /* std is an f32 in the generated code: it must be > 0 there too. */
    if (!lv_is_number(&v) || (float)lv_as_double(&v) <= 0 || lv_as_double(&v) > 1e6) {
      diag_error(L->d, e->args->value->loc, "normal(std) needs a number std > 0");
      return false;
    }
    out->init = (Init){INIT_NORMAL, lv_as_double(&v)};
    return true;
  }
  diag_error(L->d, e->loc, "attribute '%s' must be %s", spec->name, builtin_type_name(spec->type));
  return false;
}

static bool eval_attr(Lower *L, Scope *s, StmtCtx *ctx, const BuiltinAttr *spec, const Expr *e,
                      AttrVal *out) {
  out->loc = e->loc;
  if (spec->type == BA_INIT) return eval_init(L, s, ctx, spec, e, out);
  if (spec->type == BA_BOOL || spec->type == BA_NAME) {
    if (spec->type == BA_BOOL && e->kind == EX_NAME &&
        (strcmp(e->name, "true") == 0 || strcmp(e->name, "false") == 0)) {
      out->i = e->name[0] == 't';
      return true;
    }
    if (spec->type == BA_NAME && (e->kind == EX_NAME || e->kind == EX_STR) && e->name[0]) {
      out->s = e->name;
      /* Kernel names (C functions) start with the layer name. */
      char c = e->name[0];
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
      diag_error(L->d, e->loc, "layer name '%s' must start with a letter or '_' (the generated "
                               "C functions are named after it)", e->name);
      return false;
    }
    diag_error(L->d, e->loc, "attribute '%s' must be %s", spec->name,
               builtin_type_name(spec->type));
    return false;
  }
  Lv v = eval(L, s, ctx, e);
  if (v.kind == LV_ERROR) return false;
  switch (spec->type) {
  case BA_INT:
    if (v.kind != LV_INT) return attr_type_error(L, s, spec, e, &v);
    out->i = v.i;
    return check_range(L, spec, e->loc, (double)v.i);
  case BA_INT2:
    if (v.kind == LV_INT) {
      out->pair[0] = out->pair[1] = v.i;
    } else if (v.kind == LV_LIST && v.n == 2) {
      out->pair[0] = v.ints[0];
      out->pair[1] = v.ints[1];
    } else {
      return attr_type_error(L, s, spec, e, &v);
    }
    return check_range(L, spec, e->loc, (double)out->pair[0]) &&
           check_range(L, spec, e->loc, (double)out->pair[1]);
  case BA_FLOAT:
    if (!lv_is_number(&v)) return attr_type_error(L, s, spec, e, &v);
    out->f = lv_as_double(&v);
    return check_range(L, spec, e->loc, out->f) && check_f32(L, spec, e->loc, out->f);
  default: return false;
  }
}

/* Fills attrs[] from the call's keyword arguments and the defaults. */
static bool eval_attrs(Lower *L, Scope *s, StmtCtx *ctx, const Expr *call, const Builtin *b,
                       AttrVal *attrs, AttrVal *name) {
  bool ok = true;
  const Arg *seen[16] = {0};
  const Arg *seen_name = NULL;
  static const BuiltinAttr name_spec = {"name", BA_NAME, DEF_NONE, 0, NULL, 0, 0, RANGE_CLOSED, ""};
  for (const Arg *p = call->args; p; p = p->next) {
    if (!p->key) continue;
    if (strcmp(p->key, "name") == 0) {
      if (seen_name) {
        diag_error(L->d, p->key_loc, "duplicate attribute 'name'");
        diag_note(L->d, seen_name->key_loc, "first given here");
        ok = false;
        continue;
      }
      seen_name = p;
      name->set = eval_attr(L, s, ctx, &name_spec, p->value, name);
      ok &= name->set;
      continue;
    }
    int k = builtin_attr_index(b, p->key);
    if (k < 0) {
      const char *sg = suggest_attr(b, p->key);
      if (sg)
        diag_error(L->d, p->key_loc, "unknown attribute '%s' for %s; did you mean '%s'?", p->key,
                   b->name, sg);
      else
        diag_error(L->d, p->key_loc, "unknown attribute '%s' for %s", p->key, b->name);
      ok = false;
      continue;
    }
    if (seen[k]) {
      diag_error(L->d, p->key_loc, "duplicate attribute '%s'", p->key);
      diag_note(L->d, seen[k]->key_loc, "first given here");
      ok = false;
      continue;
    }
    seen[k] = p;
    attrs[k].set = eval_attr(L, s, ctx, &b->attrs[k], p->value, &attrs[k]);
    ok &= attrs[k].set;
  }
  if (!ok) return false;
  for (int k = 0; k < b->nattrs; k++) {
    const BuiltinAttr *spec = &b->attrs[k];
    if (seen[k]) continue;
    switch (spec->def) {
    case DEF_REQUIRED:
      diag_error(L->d, call->loc, "%s needs the attribute '%s' (%s)", b->name, spec->name,
                 spec->doc);
      ok = false;
      break;
    case DEF_VALUE:
      attrs[k].i = (int64_t)spec->dflt;
      attrs[k].pair[0] = attrs[k].pair[1] = (int64_t)spec->dflt;
      attrs[k].f = spec->dflt;
      attrs[k].init = (Init){(InitKind)spec->dflt, 0};
      attrs[k].set = true;
      break;
    case DEF_SAME_AS: {
      int from = builtin_attr_index(b, spec->same_as);
      attrs[k] = attrs[from];
      break;
    }
    case DEF_NONE: break;
    }
  }
  return ok;
}

static const AttrVal *attr(const Builtin *b, const AttrVal *attrs, const char *name) {
  int k = builtin_attr_index(b, name);
  return k >= 0 ? &attrs[k] : NULL;
}

static Value *add_param(Lower *L, const char *layer, const char *what, ValueKind kind, Shape shape,
                        Init init, SrcLoc loc) {
  const char *name = graph_unique_name(L->g, arena_printf(L->a, "%s.%s", layer, what));
  TensorType t = {DT_F32, shape};
  return graph_add_param(L->g, name, kind, t, init, layer, loc);
}

static Shape shape1(int64_t a) { return shape_of(1, &a); }

/* Channels (dim 1) of a value whose shape is known, else -1. */
static int64_t known_dim1(const Value *v, int rank) {
  const Shape *sh = &v->type.shape;
  return sh->rank == rank && sh->dim[1] > 0 ? sh->dim[1] : -1;
}

/* conv2d/dense: the input extent (channels or features), from the input's
 * known shape or the in_channels/in_features attribute, checked against each
 * other; -1 when unknown. */
static bool input_extent(Lower *L, const Expr *call, const Builtin *b, const AttrVal *given,
                         const Value *x, int rank, int64_t *out) {
  int64_t known = known_dim1(x, rank);
  const Shape *sh = &x->type.shape;
  if (sh->rank >= 0 && shape_known(sh) && sh->rank != rank) {
    char buf[64];
    diag_error(L->d, call->loc, "%s needs a rank-%d input, but '%s' is %s%s", b->name, rank,
               x->name, type_str(&x->type, buf, sizeof buf),
               b->op == OP_DENSE ? "; use flatten() first" : "");
    return false;
  }
  if (given->set && known > 0 && given->i != known) {
    diag_error(L->d, given->loc, "%s=%" PRId64 " but the input '%s' has %" PRId64,
               b->op == OP_DENSE ? "in_features" : "in_channels", given->i, x->name, known);
    return false;
  }
  *out = given->set ? given->i : known;
  return true;
}

/* The parameters of a new layer and its graph attributes. */
static bool make_params(Lower *L, const Expr *call, const Builtin *b, const AttrVal *A,
                        Value **in, int *nin, const char *layer) {
  Value *x = in[0];
  SrcLoc loc = call->loc;
  switch (b->op) {
  case OP_CONV2D: {
    int64_t c;
    if (!input_extent(L, call, b, attr(b, A, "in_channels"), x, 4, &c)) return false;
    int64_t f = attr(b, A, "filters")->i, g = attr(b, A, "groups")->i;
    const AttrVal *k = attr(b, A, "kernel");
    if (f % g != 0 || (c > 0 && c % g != 0)) {
      diag_error(L->d, attr(b, A, "groups")->loc.line ? attr(b, A, "groups")->loc : loc,
                 "groups=%" PRId64 " must divide filters=%" PRId64 "%s", g, f,
                 c > 0 ? " and the input channels" : "");
      return false;
    }
    int64_t wd[4] = {f, c > 0 ? c / g : -1, k->pair[0], k->pair[1]};
    in[(*nin)++] = add_param(L, layer, "weight", VAL_PARAM, shape_of(4, wd),
                             attr(b, A, "init")->init, loc);
    if (attr(b, A, "bias")->i)
      in[(*nin)++] = add_param(L, layer, "bias", VAL_PARAM, shape1(f), (Init){INIT_ZEROS, 0}, loc);
    return true;
  }
  case OP_DENSE: {
    int64_t c;
    if (!input_extent(L, call, b, attr(b, A, "in_features"), x, 2, &c)) return false;
    int64_t u = attr(b, A, "units")->i;
    int64_t wd[2] = {u, c};
    in[(*nin)++] = add_param(L, layer, "weight", VAL_PARAM, shape_of(2, wd),
                             attr(b, A, "init")->init, loc);
    if (attr(b, A, "bias")->i)
      in[(*nin)++] = add_param(L, layer, "bias", VAL_PARAM, shape1(u), (Init){INIT_ZEROS, 0}, loc);
    return true;
  }
  case OP_BATCHNORM: {
    int64_t c = x->type.shape.rank >= 2 && x->type.shape.dim[1] > 0 ? x->type.shape.dim[1] : -1;
    in[(*nin)++] = add_param(L, layer, "gamma", VAL_PARAM, shape1(c), (Init){INIT_ONES, 0}, loc);
    in[(*nin)++] = add_param(L, layer, "beta", VAL_PARAM, shape1(c), (Init){INIT_ZEROS, 0}, loc);
    in[(*nin)++] =
        add_param(L, layer, "running_mean", VAL_STATE, shape1(c), (Init){INIT_ZEROS, 0}, loc);
    in[(*nin)++] =
        add_param(L, layer, "running_var", VAL_STATE, shape1(c), (Init){INIT_ONES, 0}, loc);
    return true;
  }
  case OP_SCALE:
  case OP_BIAS:
    in[(*nin)++] = add_param(L, layer, b->op == OP_SCALE ? "scale" : "bias", VAL_PARAM, shape1(1),
                             (Init){INIT_CONST, attr(b, A, "init")->f}, loc);
    return true;
  default: return true;
  }
}

static void set_graph_attrs(Lower *L, Node *n, const Builtin *b, const AttrVal *A) {
  for (int k = 0; k < b->nattrs; k++) {
    const BuiltinAttr *spec = &b->attrs[k];
    /* Language-only attributes: they shape the parameters, not the op. */
    if (spec->type == BA_BOOL || spec->type == BA_INIT || spec->def == DEF_NONE) continue;
    if ((b->op == OP_SCALE || b->op == OP_BIAS)) continue;
    if (spec->type == BA_INT) node_set_int(L->g, n, spec->name, A[k].i);
    if (spec->type == BA_INT2) node_set_ints(L->g, n, spec->name, 2, A[k].pair);
    if (spec->type == BA_FLOAT) node_set_float(L->g, n, spec->name, A[k].f);
  }
}

static bool check_loss_operands(Lower *L, const Expr *call, const Builtin *b, Value **in) {
  Value *lab = in[1];
  if (b->op == OP_SOFTMAX_CROSS_ENTROPY && !(lab->kind == VAL_LABEL && lab->classes > 0)) {
    diag_error(L->d, call->args->next->value->loc,
               "softmax_cross_entropy needs a class label (label NAME: class[N]) as its "
               "second operand; '%s' is not one",
               lab->name);
    if (lab->kind == VAL_LABEL) diag_note(L->d, lab->loc, "label '%s' is declared here", lab->name);
    return false;
  }
  if (b->op == OP_MSE && lab->kind == VAL_LABEL && lab->classes > 0) {
    diag_error(L->d, call->args->next->value->loc,
               "mse needs a float target, but '%s' is a class label", lab->name);
    diag_note(L->d, lab->loc, "label '%s' is declared here", lab->name);
    return false;
  }
  return true;
}

static Lv lower_op(Lower *L, Scope *s, StmtCtx *ctx, const Expr *call, const Builtin *b) {
  int npos = 0;
  for (const Arg *p = call->args; p; p = p->next) npos += !p->key;
  if (npos != b->noperands) {
    diag_error(L->d, call->loc, "%s takes %d tensor operand%s, but %d %s given (attributes "
               "are written key=value)", b->name, b->noperands, b->noperands == 1 ? "" : "s",
               npos, npos == 1 ? "was" : "were");
    return lv_error;
  }
  Value *in[8] = {0};
  int nin = 0;
  bool ok = true;
  for (const Arg *p = call->args; p; p = p->next) {
    if (p->key) continue;
    char what[96];
    snprintf(what, sizeof what, "operand '%s' of %s", b->operands[nin], b->name);
    bool label_ok = (op_info(b->op)->role == OPROLE_LOSS) && nin == 1;
    in[nin] = eval_tensor(L, s, ctx, p->value, what, label_ok);
    ok &= in[nin] != NULL;
    nin++;
  }
  AttrVal attrs[16] = {0};
  AttrVal name = {0};
  ok = eval_attrs(L, s, ctx, call, b, attrs, &name) && ok;
  if (!ok || stopped(L)) return lv_error;
  if ((op_info(b->op)->role == OPROLE_LOSS) && !check_loss_operands(L, call, b, in)) return lv_error;
  if (L->g->nnodes >= MAX_NODES) {
    diag_error(L->d, call->loc, "the network is too large (more than %d ops)", MAX_NODES);
    L->fatal = true;
    return lv_error;
  }

  const char *layer;
  if (name.set) {
    const SrcLoc *prev = strmap_get(&L->layers, name.s);
    if (prev) {
      diag_error(L->d, name.loc, "layer name '%s' is already used", name.s);
      diag_note(L->d, *prev, "the layer '%s' is here", name.s);
      return lv_error;
    }
    layer = arena_strdup(L->a, name.s);
  } else if (call == ctx->primary) {
    layer = unique_layer(L, ctx->base, false);
  } else {
    layer = unique_layer(L, arena_printf(L->a, "%s.%s", ctx->base, b->name), false);
  }
  if (!make_params(L, call, b, attrs, in, &nin, layer)) return lv_error;
  const char *vname = call == ctx->outer
                          ? graph_unique_name(L->g, ctx->base)
                          : graph_unique_name(L->g, arena_printf(L->a, "%s.%s", ctx->base, b->name));
  Node *n = graph_add_node(L->g, b->op, layer, in, nin, &vname, 1, call->loc);
  strmap_put(L->a, &L->layers, n->name, &n->loc);
  set_graph_attrs(L, n, b, attrs);
  if ((op_info(b->op)->role == OPROLE_LOSS)) {
    if (L->loss) {
      diag_error(L->d, call->loc, "a network has exactly one loss, and this is a second one");
      diag_note(L->d, L->loss->loc, "the first loss is here");
      return lv_error;
    }
    L->loss = n;
  }
  Lv r = lv_error;
  r.kind = LV_TENSOR;
  r.t = n->out[0];
  return r;
}

/* ---- blocks ---- */

static void lower_body(Lower *L, Scope *s, Stmt *body, Lv *ret);

/* Binds the call's arguments to the block's parameters in the new scope. */
static bool bind_args(Lower *L, Scope *caller, StmtCtx *ctx, const Expr *call, const Decl *blk,
                      Scope *inner) {
  const Param *params[64];
  const Arg *given[64] = {0};
  int np = 0;
  for (const Param *p = blk->params; p && np < 64; p = p->next) params[np++] = p;
  int pos = 0;
  bool ok = true;
  for (const Arg *a = call->args; a; a = a->next) {
    int k = -1;
    if (!a->key) {
      if (pos >= np) {
        diag_error(L->d, a->value->loc, "block '%s' takes %d argument%s, but %d were given",
                   blk->name, np, np == 1 ? "" : "s", call->nargs);
        note_block(L, blk);
        return false;
      }
      k = pos++;
    } else {
      for (int i = 0; i < np; i++)
        if (strcmp(params[i]->name, a->key) == 0) k = i;
      if (k < 0) {
        diag_error(L->d, a->key_loc, "block '%s' has no parameter '%s'", blk->name, a->key);
        note_block(L, blk);
        ok = false;
        continue;
      }
      if (given[k]) {
        diag_error(L->d, a->key_loc, "argument '%s' is given twice", a->key);
        note_block(L, blk);
        ok = false;
        continue;
      }
    }
    given[k] = a;
  }
  for (int i = 0; i < np; i++) {
    Lv v;
    if (given[i]) {
      v = eval(L, caller, ctx, given[i]->value);
      if (v.kind == LV_SYM) {
        diag_error(L->d, given[i]->value->loc, "undefined name '%s'", v.s);
        v = lv_error;
      }
    } else if (params[i]->dflt) {
      Scope empty = {0};
      StmtCtx none = {ctx->base, NULL, NULL};
      v = eval(L, &empty, &none, params[i]->dflt);
      if (v.kind == LV_TENSOR || v.kind == LV_SYM) {
        diag_error(L->d, params[i]->dflt->loc, "a parameter default must be a constant");
        v = lv_error;
      }
    } else {
      diag_error(L->d, call->loc, "missing argument '%s' in call to block '%s'", params[i]->name,
                 blk->name);
      note_block(L, blk);
      ok = false;
      continue;
    }
    if (v.kind == LV_ERROR) {
      ok = false;
      continue;
    }
    Binding *b = scope_bind(L, inner, params[i]->name, BIND_PARAM, v, params[i]->loc, NULL);
    b->used = true; /* an unused parameter is not worth a warning */
  }
  return ok;
}

static Lv lower_block_call(Lower *L, Scope *s, StmtCtx *ctx, const Expr *call, const Decl *blk) {
  for (int i = 0; i < L->depth; i++)
    if (L->stack[i] == blk) {
      diag_error(L->d, call->loc, "block '%s' calls itself%s (blocks cannot be recursive)",
                 blk->name, L->stack[L->depth - 1] == blk ? "" : " through other blocks");
      note_block(L, blk);
      return lv_error;
    }
  if (L->depth == MAX_BLOCK_DEPTH) {
    diag_error(L->d, call->loc, "blocks are nested too deeply (more than %d)", MAX_BLOCK_DEPTH);
    return lv_error;
  }
  /* Arguments first: nested calls in them are earlier in data flow and so
   * get the lower-numbered names, as with nested ops. */
  Scope inner = {0};
  inner.block = blk;
  if (!bind_args(L, s, ctx, call, blk, &inner)) return lv_error;
  const char *prefix = call == ctx->outer
                           ? ctx->base
                           : arena_printf(L->a, "%s.%s", ctx->base, blk->name);
  prefix = unique_layer(L, prefix, true);
  /* Reserve the instance name so a second instance gets prefix.1; the
   * block's returned op may still be the layer `prefix` itself. */
  strmap_put(L->a, &L->instances, prefix, (void *)&call->loc);
  inner.prefix = arena_printf(L->a, "%s.", prefix);
  /* A block with an error in its body would repeat it for every instance:
   * report it once, then treat further calls as failed. */
  if (strmap_get(&L->failed, blk->name)) return lv_error;
  L->stack[L->depth++] = blk;
  int errors = diag_error_count(L->d);
  Lv ret = lv_error;
  lower_body(L, &inner, blk->body, &ret);
  if (diag_error_count(L->d) > errors) {
    strmap_put(L->a, &L->failed, blk->name, (void *)blk);
    ret = lv_error;
  }
  L->depth--;
  return ret;
}

static Lv eval_call(Lower *L, Scope *s, StmtCtx *ctx, const Expr *e) {
  const Builtin *b = builtin_lookup(e->name);
  if (b) return lower_op(L, s, ctx, e, b);
  const Decl *blk = strmap_get(&L->blocks, e->name);
  if (blk) return lower_block_call(L, s, ctx, e, blk);
  const char *sg = suggest_callee(L, e->name);
  if (sg)
    diag_error(L->d, e->loc, "unknown op '%s'; did you mean '%s'?", e->name, sg);
  else
    diag_error(L->d, e->loc, "unknown op or block '%s'", e->name);
  return lv_error;
}

static Lv eval(Lower *L, Scope *s, StmtCtx *ctx, const Expr *e) {
  if (stopped(L)) return lv_error;
  switch (e->kind) {
  case EX_INT: return lv_int(e->ival);
  case EX_FLOAT: return lv_float(e->fval);
  case EX_STR: {
    Lv r = lv_error;
    r.kind = LV_STR;
    r.s = e->name;
    return r;
  }
  case EX_NAME: return eval_name(L, s, e);
  case EX_CALL: return eval_call(L, s, ctx, e);
  case EX_LIST: return eval_list(L, s, ctx, e);
  case EX_BINOP: return eval_binop(L, s, ctx, e);
  case EX_NEG: return eval_neg(L, s, ctx, e);
  }
  return lv_error;
}

/* ---- statements ---- */

static bool eval_dims(Lower *L, Scope *s, const Stmt *st, int64_t *dims, int max) {
  if (st->ndims > max) {
    diag_error(L->d, st->type_loc, "too many dimensions (at most %d per sample)", max);
    return false;
  }
  int i = 0;
  bool ok = true;
  for (const Arg *p = st->dims; p; p = p->next) {
    StmtCtx none = {st->name, NULL, NULL};
    Lv v = eval(L, s, &none, p->value);
    if (v.kind == LV_ERROR) {
      ok = false;
    } else if (v.kind != LV_INT) {
      diag_error(L->d, p->value->loc, "a dimension must be an integer, not %s", lv_kind_name(v.kind));
      ok = false;
    } else if (v.i < 1 || v.i > (1 << 24)) {
      diag_error(L->d, p->value->loc, "dimension %" PRId64 " is out of range (1 to %d)", v.i,
                 1 << 24);
      ok = false;
    } else {
      dims[i] = v.i;
    }
    i++;
  }
  return ok;
}

/* An earlier input, label or binding of the same name is an error for
 * declarations (assignments may shadow). */
static bool check_fresh(Lower *L, Scope *s, const Stmt *st, const char *what) {
  Binding *prev = scope_find(s, st->name);
  if (!prev) return true;
  diag_error(L->d, st->loc, "duplicate %s name '%s'", what, st->name);
  note_binding(L, prev);
  return false;
}

/* The input or label a declaration makes, or NULL after reporting why. */
static Value *declare_input(Lower *L, Scope *s, Stmt *st, bool is_label) {
  int64_t dims[MAX_RANK] = {0};
  TensorType t = {DT_F32, {0}};
  int64_t classes = 0;
  dims[0] = L->g->batch;
  if (is_label && strcmp(st->type, "class") == 0) {
    if (st->ndims != 1) {
      diag_error(L->d, st->type_loc, "class labels take one extent: class[N]");
      return NULL;
    }
    if (!eval_dims(L, s, st, &classes, 1)) return NULL;
    if (classes < 2) {
      diag_error(L->d, st->dims->value->loc, "class[%" PRId64 "] needs at least 2 classes", classes);
      return NULL;
    }
    t.dtype = DT_I32;
    t.shape = shape_of(1, dims);
  } else {
    bool dtype_ok = dtype_from_name(st->type, &t.dtype) &&
                    (is_label ? t.dtype == DT_F32
                              : (t.dtype == DT_F32 || t.dtype == DT_U8 || t.dtype == DT_I8));
    if (!dtype_ok) {
      diag_error(L->d, st->type_loc, "unknown %s type '%s' (use %s)", is_label ? "label" : "input",
                 st->type, is_label ? "class[N] or f32[...]" : "f32, u8 or i8");
      return NULL;
    }
    if (st->ndims == 0) {
      diag_error(L->d, st->type_loc, "give the per-sample shape, e.g. %s[1, 28, 28]", st->type);
      return NULL;
    }
    if (!eval_dims(L, s, st, dims + 1, MAX_RANK - 1)) return NULL;
    t.shape = shape_of(st->ndims + 1, dims);
  }
  Value *v = graph_add_input(L->g, graph_unique_name(L->g, st->name),
                             is_label ? VAL_LABEL : VAL_INPUT, t, st->loc);
  v->classes = classes;
  return v;
}


static void lower_decl_stmt(Lower *L, Scope *s, Stmt *st) {
  bool is_label = st->kind == ST_LABEL;
  if (s->block) {
    diag_error(L->d, st->loc, "%s declarations belong in the network, not in a block",
               is_label ? "label" : "input");
    return;
  }
  if (!check_fresh(L, s, st, is_label ? "label" : "input")) return;
  /* Bound even on error (to the error value), so later uses do not
   * cascade into "undefined name". */
  Value *v = declare_input(L, s, st, is_label);
  Lv lv = lv_error;
  if (v) {
    lv.kind = LV_TENSOR;
    lv.t = v;
  }
  scope_bind(L, s, st->name, is_label ? BIND_LABEL : BIND_INPUT, lv, st->loc, st);
}

static void lower_assign(Lower *L, Scope *s, Stmt *st) {
  const char *base = arena_printf(L->a, "%s%s", s->prefix, st->name);
  StmtCtx ctx = stmt_ctx(base, st->value);
  Lv v = eval(L, s, &ctx, st->value);
  if (v.kind == LV_SYM) {
    diag_error(L->d, st->value->loc, "undefined name '%s'", v.s);
    v = lv_error;
  }
  /* Bind even on error, so later uses do not cascade into "undefined". */
  Binding *b = scope_bind(L, s, st->name, BIND_VALUE, v, st->loc, st);
  if (v.kind == LV_ERROR) b->used = true;
}

static void lower_body(Lower *L, Scope *s, Stmt *body, Lv *ret) {
  int errors = diag_error_count(L->d);
  for (Stmt *st = body; st && !stopped(L); st = st->next) {
    switch (st->kind) {
    case ST_INPUT:
    case ST_LABEL: lower_decl_stmt(L, s, st); break;
    case ST_ASSIGN: lower_assign(L, s, st); break;
    case ST_RETURN: {
      /* Placement was checked once per block (check_blocks). */
      size_t plen = strlen(s->prefix);
      const char *base = arena_strndup(L->a, s->prefix, plen ? plen - 1 : 0);
      StmtCtx ctx = stmt_ctx(base, st->value);
      *ret = eval(L, s, &ctx, st->value);
      if (ret->kind == LV_SYM) {
        diag_error(L->d, st->value->loc, "undefined name '%s'", ret->s);
        *ret = lv_error;
      }
      break;
    }
    }
  }
  /* Unused bindings: a warning, once per statement even with many
   * instances, and only in a clean body (after an error, a failed call may
   * simply not have read its arguments). */
  if (diag_error_count(L->d) > errors) return;
  for (Binding *b = s->first; b; b = b->next) {
    if (b->used || b->kind != BIND_VALUE || !b->stmt || b->stmt->warned) continue;
    if (b->val.kind == LV_TENSOR && L->loss && b->val.t == L->loss->out[0]) continue;
    b->stmt->warned = true;
    /* Warnings are not capped by Diag; a generated file with 100 000
     * unused names must not print (and quote) each one. */
    if (++L->warnings <= DIAG_MAX_ERRORS)
      diag_warning(L->d, b->loc, "'%s' is assigned but never used", b->name);
    else if (L->warnings == DIAG_MAX_ERRORS + 1)
      diag_warning(L->d, b->loc, "more unused bindings; not listing them");
  }
}

/* ---- declarations ---- */

static bool check_block(Lower *L, const Decl *blk) {
  bool ok = true;
  if (builtin_lookup(blk->name)) {
    diag_error(L->d, blk->loc, "block '%s' has the name of a built-in op", blk->name);
    ok = false;
  }
  for (const Param *p = blk->params; p; p = p->next)
    for (const Param *q = blk->params; q != p; q = q->next)
      if (strcmp(p->name, q->name) == 0) {
        diag_error(L->d, p->loc, "duplicate parameter '%s'", p->name);
        diag_note(L->d, q->loc, "first declared here");
        ok = false;
      }
  if (blk->nparams > 64) {
    diag_error(L->d, blk->loc, "block '%s' has too many parameters (at most 64)", blk->name);
    ok = false;
  }
  int nret = 0;
  for (const Stmt *st = blk->body; st; st = st->next) {
    if (st->kind != ST_RETURN) continue;
    if (++nret > 1) {
      diag_error(L->d, st->loc, "block '%s' has more than one return", blk->name);
      ok = false;
    } else if (st->next) {
      diag_error(L->d, st->loc, "return must be the last statement of block '%s'", blk->name);
      ok = false;
    }
  }
  if (nret == 0) {
    diag_error(L->d, blk->loc, "block '%s' has no return statement", blk->name);
    ok = false;
  }
  return ok;
}

static bool collect_decls(Lower *L) {
  bool ok = true;
  for (const Decl *d = L->prog->decls; d; d = d->next) {
    if (d->kind == DECL_NETWORK) {
      if (L->network) {
        diag_error(L->d, d->loc, "a file holds one network, and this is a second one");
        diag_note(L->d, L->network->loc, "the first network is '%s'", L->network->name);
        ok = false;
      } else {
        L->network = d;
      }
      continue;
    }
    const Decl *prev = strmap_get(&L->blocks, d->name);
    if (prev) {
      diag_error(L->d, d->loc, "duplicate block name '%s'", d->name);
      note_block(L, prev);
      ok = false;
      continue;
    }
    strmap_put(L->a, &L->blocks, d->name, (void *)d);
    ok &= check_block(L, d);
  }
  if (!L->network) {
    SrcLoc loc = {L->prog->file, 0, 0}; /* the whole file: no line */
    diag_error(L->d, loc, "no network in this file (write `network NAME { ... }`)");
    ok = false;
  }
  for (const Stmt *st = L->network ? L->network->body : NULL; st; st = st->next)
    if (st->kind == ST_RETURN) {
      diag_error(L->d, st->loc, "return is only allowed in a block");
      ok = false;
    }
  return ok;
}

/* Unused inputs and a missing loss are only reported for an otherwise clean
 * network: after an error they are usually its echo. */
static void check_network_uses(Lower *L, Scope *s, bool clean) {
  if (L->loss) {
    graph_add_output(L->g, L->loss->out[0]);
    graph_add_output(L->g, L->loss->in[0]);
  }
  if (!clean) return;
  for (Binding *b = s->first; b; b = b->next) {
    if (b->used || (b->kind != BIND_INPUT && b->kind != BIND_LABEL)) continue;
    if (b->kind == BIND_INPUT)
      diag_error(L->d, b->loc, "input '%s' is never used", b->name);
    else
      diag_error(L->d, b->loc, "label '%s' is never used (no loss reads it)", b->name);
  }
  if (!L->loss) {
    diag_error(L->d, L->network->loc,
               "network '%s' has no loss (add e.g. loss = softmax_cross_entropy(logits, label);)",
               L->network->name);
  }
}

Graph *build_graph(Arena *a, Diag *d, const Program *prog, int batch) {
  Lower L = {0};
  L.a = a;
  L.d = d;
  L.prog = prog;
  int errors = diag_error_count(d);
  if (!collect_decls(&L)) return NULL;
  L.g = graph_new(a, L.network->name, batch > 0 ? batch : 32);
  Scope net = {0};
  net.prefix = "";
  Lv unused;
  lower_body(&L, &net, L.network->body, &unused);
  if (!L.fatal) check_network_uses(&L, &net, diag_error_count(d) == errors);
  return diag_error_count(d) > errors ? NULL : L.g;
}
