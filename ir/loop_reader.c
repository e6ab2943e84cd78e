/* Reads the loop IR's textual form (docs/loops.md) back into an LProgram.
 * A lexer (its character level shared with the graph-IR reader in
 * ir_scanner.c) and a recursive-descent parser, one function per grammar rule,
 * expressions by precedence climbing with C's precedence. The reader stops
 * at the first error: loop-IR text is machine-written or a small test, and
 * one precise message beats a cascade. Every construct is declared before
 * it is used, so one pass resolves all names. */
#include "loop_reader.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ir_scanner.h"

typedef enum {
  T_EOF,
  T_IDENT,  /* keywords, kernel names, dtypes, intrinsics */
  T_VAR,    /* %name: s holds the name */
  T_STRING, /* s holds the decoded bytes */
  T_INT,    /* u: the magnitude; type: its suffix (i32 when none) */
  T_FLOAT,  /* f: the magnitude */
  T_PUNCT,  /* op: one or two characters */
} TokKind;

typedef struct Token {
  TokKind kind;
  SrcLoc loc;
  const char *s;
  uint64_t u;
  float f;
  DType type;
  char op[3];
} Token;

/* A variable visible in the current kernel, or declared in it earlier. */
typedef struct Binding {
  const char *name;
  LVar *var;
  SrcLoc loc;
} Binding;

enum { MAX_DEPTH = 200 }; /* nesting of blocks and expressions */

typedef struct Reader {
  Arena *a;
  Diag *d;
  Scanner sc;
  Token tok;
  bool failed;
  int depth;
  LProgram *p;
  Binding *scope; /* visible locals and loop vars, innermost last */
  int nscope, cap_scope;
  Binding *declared; /* every variable declared in this kernel */
  int ndeclared, cap_declared;
  bool entry_seen[LENTRY_COUNT];
  bool kind_seen; /* else the kind follows pred's dtype (texts before `kind`) */
} Reader;

static void error_at(Reader *r, SrcLoc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void error_at(Reader *r, SrcLoc loc, const char *fmt, ...) {
  if (r->failed) return;
  r->failed = true;
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  diag_error(r->d, loc, "%s", buf);
}

/* ---- lexer (characters: ir_scanner.c) ---- */

static void lex_string(Reader *r, Token *t) {
  /* Raw tabs and other control bytes are allowed here; only NUL is not. */
  ScanStr str = scan_string(&r->sc, r->a, true);
  switch (str.status) {
  case SCAN_STR_OK: break;
  case SCAN_STR_UNTERMINATED: error_at(r, t->loc, "unterminated string"); break;
  case SCAN_STR_CONTROL: error_at(r, str.at, "a string cannot contain a NUL byte"); break;
  case SCAN_STR_ESCAPED_NUL: error_at(r, str.at, "\\x00 is not allowed in a string"); break;
  case SCAN_STR_BAD_ESCAPE:
    error_at(r, str.at, "unknown escape in string (use \\\" \\\\ \\n \\t or \\xHH)");
    break;
  }
  t->kind = T_STRING;
  t->s = str.s;
}

/* The suffix of an integer literal: i8 i16 i32 i64 u8 u16 u32 (f32 is a
 * float). */
static void lex_suffix(Reader *r, Token *t) {
  size_t start = r->sc.pos;
  SrcLoc loc = scan_loc(&r->sc);
  if (!scan_while(&r->sc, scan_is_alnum)) return;
  char *s = scan_copy(&r->sc, r->a, start);
  if (t->kind == T_FLOAT) {
    error_at(r, loc, "a float constant takes no suffix (f32 is implied)");
  } else if (!dtype_from_name(s, &t->type) || t->type == DT_F32) {
    error_at(r, loc, "unknown integer suffix '%s' (use i8, i16, i32, i64, u8, u16 or u32)", s);
  }
}

static void lex_number(Reader *r, Token *t) {
  size_t start = r->sc.pos;
  /* `0..6` is a range, not the float `0.` */
  bool is_float = scan_decimal(&r->sc, true);
  char *s = scan_copy(&r->sc, r->a, start);
  t->type = is_float ? DT_F32 : DT_I32;
  if (is_float) {
    t->kind = T_FLOAT;
    errno = 0;
    t->f = strtof(s, NULL);
    if (isinf(t->f)) error_at(r, t->loc, "float constant %s is out of range for f32", s);
    if (t->f == 0 && errno == ERANGE)
      error_at(r, t->loc, "float constant %s underflows to zero in f32", s);
  } else {
    t->kind = T_INT;
    errno = 0;
    unsigned long long v = strtoull(s, NULL, 10);
    if (errno == ERANGE) error_at(r, t->loc, "integer constant %s is too large", s);
    t->u = v;
  }
  lex_suffix(r, t);
}

static bool two_char_op(int a, int b) {
  static const char *const ops[] = {"..", "<<", ">>", "<=", ">=", "==", "!=", "&&", "||"};
  for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
    if (ops[i][0] == a && ops[i][1] == b) return true;
  return false;
}

static void next(Reader *r) {
  Token *t = &r->tok;
  Scanner *sc = &r->sc;
  scan_skip_blanks(sc, true);
  memset(t, 0, sizeof *t);
  t->loc = scan_loc(sc);
  if (r->failed) return; /* T_EOF: every rule stops */
  int c = scan_peek(sc, 0);
  if (c == -1) return;
  if (scan_is_alpha(c)) {
    size_t start = sc->pos;
    scan_while(sc, scan_is_alnum);
    t->kind = T_IDENT;
    t->s = scan_copy(sc, r->a, start);
  } else if (c == '%' && scan_peek(sc, 1) == '"') {
    scan_advance(sc);
    lex_string(r, t);
    t->kind = T_VAR;
    if (!*t->s) error_at(r, t->loc, "empty name");
  } else if (c == '%' && scan_is_name_char(scan_peek(sc, 1))) {
    scan_advance(sc);
    size_t start = sc->pos;
    scan_while(sc, scan_is_name_char);
    t->kind = T_VAR;
    t->s = scan_copy(sc, r->a, start);
  } else if (scan_is_digit(c)) {
    lex_number(r, t);
  } else if (c == '"') {
    lex_string(r, t);
  } else if (c == '.' && scan_peek(sc, 1) == '.') {
    scan_advance_n(sc, 2);
    t->kind = T_PUNCT;
    memcpy(t->op, "..", 3);
  } else if (strchr("{}()[],:=@?+-*/%<>&|^!", c) && c != 0) {
    t->kind = T_PUNCT;
    t->op[0] = (char)c;
    scan_advance(sc);
    if (two_char_op(c, scan_peek(sc, 0))) {
      t->op[1] = (char)scan_peek(sc, 0);
      scan_advance(sc);
    }
  } else if (c >= 32 && c < 127) {
    error_at(r, t->loc, "unexpected character '%c'", c);
  } else {
    error_at(r, t->loc, "unexpected byte 0x%02x", (unsigned)c);
  }
  if (r->failed) memset(t, 0, sizeof *t), t->loc = scan_loc(sc);
}

/* ---- token helpers ---- */

static bool is_punct(const Reader *r, const char *op) {
  return r->tok.kind == T_PUNCT && strcmp(r->tok.op, op) == 0;
}

static bool is_word(const Reader *r, const char *w) {
  return r->tok.kind == T_IDENT && strcmp(r->tok.s, w) == 0;
}

static const char *tok_desc(const Token *t, char *buf, size_t size) {
  switch (t->kind) {
  case T_EOF: return "end of file";
  case T_IDENT: snprintf(buf, size, "'%.40s'", t->s); return buf;
  case T_VAR: snprintf(buf, size, "'%%%.40s'", t->s); return buf;
  case T_STRING: return "a string";
  case T_INT: case T_FLOAT: return "a number";
  case T_PUNCT: snprintf(buf, size, "'%s'", t->op); return buf;
  }
  return "?";
}

static void error_expected(Reader *r, const char *what) {
  char buf[64];
  error_at(r, r->tok.loc, "expected %s, found %s", what, tok_desc(&r->tok, buf, sizeof buf));
}

static bool expect_punct(Reader *r, const char *op) {
  if (is_punct(r, op)) {
    next(r);
    return true;
  }
  char what[16];
  snprintf(what, sizeof what, "'%s'", op);
  error_expected(r, what);
  return false;
}

static bool expect_word(Reader *r, const char *w) {
  if (is_word(r, w)) {
    next(r);
    return true;
  }
  char what[32];
  snprintf(what, sizeof what, "'%s'", w);
  error_expected(r, what);
  return false;
}

/* A name token of the given kind; returns its text or NULL. */
static const char *expect_kind(Reader *r, TokKind kind, const char *what) {
  if (r->tok.kind != kind) {
    error_expected(r, what);
    return NULL;
  }
  const char *s = r->tok.s;
  next(r);
  return s;
}

static bool parse_dtype(Reader *r, DType *out) {
  if (r->tok.kind == T_IDENT && dtype_from_name(r->tok.s, out)) {
    next(r);
    return true;
  }
  error_expected(r, "a type (f32, i8, i16, i32, i64, u8, u16, u32)");
  return false;
}

/* An integer in [lo, hi], with an optional leading '-'. */
static bool parse_int(Reader *r, int64_t lo, int64_t hi, int64_t *out) {
  SrcLoc loc = r->tok.loc;
  bool neg = is_punct(r, "-");
  if (neg) next(r);
  if (r->tok.kind != T_INT || r->tok.type != DT_I32) {
    error_expected(r, "an integer");
    return false;
  }
  uint64_t u = r->tok.u;
  next(r);
  bool ok = neg ? u <= (uint64_t)INT64_MAX + 1 : u <= (uint64_t)INT64_MAX;
  int64_t v = !ok ? 0 : neg ? (int64_t)(0 - u) : (int64_t)u;
  if (!ok || v < lo || v > hi) {
    error_at(r, loc, "integer out of range [%lld, %lld]", (long long)lo, (long long)hi);
    return false;
  }
  *out = v;
  return true;
}

/* ---- variables and scopes ---- */

static void push_binding(Binding **items, int *n, int *cap, Binding b) {
  if (*n == *cap) {
    *cap = *cap ? *cap * 2 : 16;
    *items = xrealloc(*items, (size_t)*cap * sizeof(Binding));
  }
  (*items)[(*n)++] = b;
}

/* Checks the name of a new declaration: unique in its kernel, not a program
 * argument (which is visible everywhere). */
static bool check_new_var(Reader *r, const char *name, SrcLoc loc) {
  for (int i = 0; i < r->ndeclared; i++)
    if (strcmp(r->declared[i].name, name) == 0) {
      error_at(r, loc, "variable %%%s is already declared in this kernel (at line %d)", name,
               r->declared[i].loc.line);
      return false;
    }
  if (lprog_find_arg(r->p, name)) {
    error_at(r, loc, "variable %%%s would shadow the program argument %%%s", name, name);
    return false;
  }
  return true;
}

static LVar *declare_var(Reader *r, const char *name, DType t, LVarKind kind, SrcLoc loc) {
  LVar *v = lprog_var(r->p, name, t, kind);
  Binding b = {v->name, v, loc};
  push_binding(&r->declared, &r->ndeclared, &r->cap_declared, b);
  push_binding(&r->scope, &r->nscope, &r->cap_scope, b);
  return v;
}

static LVar *lookup_var(Reader *r, const char *name, SrcLoc loc) {
  for (int i = r->nscope - 1; i >= 0; i--)
    if (strcmp(r->scope[i].name, name) == 0) return r->scope[i].var;
  LVar *arg = lprog_find_arg(r->p, name);
  if (arg) return arg;
  for (int i = 0; i < r->ndeclared; i++)
    if (strcmp(r->declared[i].name, name) == 0) {
      error_at(r, loc, "variable %%%s is not in scope here (declared at line %d)", name,
               r->declared[i].loc.line);
      return NULL;
    }
  if (lprog_find_buffer(r->p, name))
    error_at(r, loc, "%%%s is a buffer: read it with load %%%s[index]", name, name);
  else
    error_at(r, loc, "unknown variable %%%s", name);
  return NULL;
}

static LBuffer *lookup_buffer(Reader *r) {
  SrcLoc loc = r->tok.loc;
  const char *name = expect_kind(r, T_VAR, "a buffer name (%name)");
  if (!name) return NULL;
  LBuffer *b = lprog_find_buffer(r->p, name);
  if (!b) error_at(r, loc, "unknown buffer %%%s", name);
  return b;
}

/* ---- expressions ---- */

static LExpr *parse_expr(Reader *r, int min_prec);

static LExpr *at(LExpr *e, SrcLoc loc) {
  if (e) e->loc = loc;
  return e;
}

/* The value of integer token t, negated if neg, when it fits type. */
static bool int_value(Reader *r, const Token *t, bool neg, DType type, SrcLoc loc, int64_t *out) {
  int64_t lo = 0, hi = 0;
  dtype_int_range(type, &lo, &hi);
  bool ok = neg ? t->u <= (uint64_t)INT64_MAX + 1 : t->u <= (uint64_t)INT64_MAX;
  int64_t v = !ok ? 0 : neg ? (int64_t)(0 - t->u) : (int64_t)t->u;
  if (!ok || v < lo || v > hi) {
    error_at(r, loc, "integer constant out of range for %s", dtype_name(type));
    return false;
  }
  *out = v;
  return true;
}

/* A literal after an optional '-' (the sign belongs to the constant). */
static LExpr *parse_const(Reader *r, bool neg, SrcLoc loc) {
  Token t = r->tok;
  if (t.kind == T_IDENT) { /* inf or nan */
    next(r);
    float v = strcmp(t.s, "inf") == 0 ? INFINITY : NAN;
    return at(le_f32(r->p, neg ? -v : v), loc);
  }
  next(r);
  if (t.kind == T_FLOAT) return at(le_f32(r->p, neg ? -t.f : t.f), loc);
  int64_t v;
  if (!int_value(r, &t, neg, t.type, loc, &v)) return NULL;
  return at(le_int(r->p, t.type, v), loc);
}

static bool is_literal(const Reader *r) {
  return r->tok.kind == T_INT || r->tok.kind == T_FLOAT || is_word(r, "inf") ||
         is_word(r, "nan");
}

/* ( expr {, expr} ) with exactly n arguments. */
static bool parse_call_args(Reader *r, const char *fn, SrcLoc loc, int n, LExpr **args) {
  if (!expect_punct(r, "(")) return false;
  int got = 0;
  for (;;) {
    LExpr *e = parse_expr(r, 0);
    if (!e) return false;
    if (got < n) args[got] = e;
    got++;
    if (!is_punct(r, ",")) break;
    next(r);
  }
  if (!expect_punct(r, ")")) return false;
  if (got != n) {
    error_at(r, loc, "%s takes %d argument%s, got %d", fn, n, n == 1 ? "" : "s", got);
    return false;
  }
  return true;
}

/* Operators written as calls; intrinsics come from their table. */
typedef struct Callee {
  const char *name;
  int nargs;
  LExprKind kind; /* LE_BINARY (min, max), LE_UNARY, LE_SELECT */
  int op;
} Callee;

static const Callee callees[] = {
    {"min", 2, LE_BINARY, LB_MIN},
    {"max", 2, LE_BINARY, LB_MAX},
    {"abs", 1, LE_UNARY, LU_ABS},
    {"exp", 1, LE_UNARY, LU_EXP},
    {"log", 1, LE_UNARY, LU_LOG},
    {"sqrt", 1, LE_UNARY, LU_SQRT},
    {"floor", 1, LE_UNARY, LU_FLOOR},
    {"cos", 1, LE_UNARY, LU_COS},
    {"select", 3, LE_SELECT, 0},
};

/* NAME(args), or NAME<T>(args) for an intrinsic whose result type is
 * written (sat_cast<i8>). */
static LExpr *parse_intrinsic(Reader *r, const Token *t, LIntrinsic fn) {
  const LIntrinsicInfo *in = lintrinsic_info(fn);
  DType written = DT_COUNT;
  if (in->result == LRES_WRITTEN) {
    if (!expect_punct(r, "<") || !parse_dtype(r, &written) || !expect_punct(r, ">")) return NULL;
  }
  LExpr *args[LINTRINSIC_MAX_ARGS] = {0};
  if (!parse_call_args(r, t->s, t->loc, in->nargs, args)) return NULL;
  return at(le_call_to(r->p, fn, written, args[0], args[1], args[2]), t->loc);
}

static LExpr *parse_call(Reader *r) {
  Token t = r->tok;
  next(r);
  LExpr *args[3] = {0};
  DType cast;
  LIntrinsic fn;
  if (lintrinsic_find(t.s, &fn)) return parse_intrinsic(r, &t, fn);
  if (dtype_from_name(t.s, &cast)) {
    if (!parse_call_args(r, t.s, t.loc, 1, args)) return NULL;
    return at(le_cast(r->p, cast, args[0]), t.loc);
  }
  for (size_t i = 0; i < sizeof callees / sizeof *callees; i++) {
    const Callee *c = &callees[i];
    if (strcmp(c->name, t.s) != 0) continue;
    if (!parse_call_args(r, t.s, t.loc, c->nargs, args)) return NULL;
    switch (c->kind) {
    case LE_BINARY: return at(le_bin(r->p, (LBinOp)c->op, args[0], args[1]), t.loc);
    case LE_UNARY: return at(le_un(r->p, (LUnOp)c->op, args[0]), t.loc);
    default: return at(le_select(r->p, args[0], args[1], args[2]), t.loc);
    }
  }
  error_at(r, t.loc, "unknown function '%s'", t.s);
  return NULL;
}

static LExpr *parse_primary(Reader *r) {
  SrcLoc loc = r->tok.loc;
  if (is_literal(r)) return parse_const(r, false, loc);
  if (r->tok.kind == T_VAR) {
    const char *name = r->tok.s;
    next(r);
    LVar *v = lookup_var(r, name, loc);
    return v ? at(le_var(r->p, v), loc) : NULL;
  }
  if (is_word(r, "load")) {
    next(r);
    LBuffer *b = lookup_buffer(r);
    if (!b || !expect_punct(r, "[")) return NULL;
    LExpr *index = parse_expr(r, 0);
    if (!index || !expect_punct(r, "]")) return NULL;
    return at(le_load(r->p, b, index), loc);
  }
  if (is_punct(r, "(")) {
    next(r);
    LExpr *e = parse_expr(r, 0);
    if (!e || !expect_punct(r, ")")) return NULL;
    return e;
  }
  if (r->tok.kind == T_IDENT) return parse_call(r);
  error_expected(r, "an expression");
  return NULL;
}

static LExpr *parse_unary(Reader *r) {
  SrcLoc loc = r->tok.loc;
  if (!is_punct(r, "-") && !is_punct(r, "!")) return parse_primary(r);
  bool neg = is_punct(r, "-");
  next(r);
  if (neg && is_literal(r)) return parse_const(r, true, loc);
  if (++r->depth > MAX_DEPTH) {
    error_at(r, loc, "expression nested too deeply");
    return NULL;
  }
  LExpr *a = parse_unary(r);
  r->depth--;
  return a ? at(le_un(r->p, neg ? LU_NEG : LU_NOT, a), loc) : NULL;
}

typedef struct BinTok {
  const char *op;
  LBinOp bop;
  int prec;
} BinTok;

static const BinTok bintoks[] = {
    {"||", LB_LOR, 1}, {"&&", LB_LAND, 2}, {"|", LB_OR, 3},   {"^", LB_XOR, 4},
    {"&", LB_AND, 5},  {"==", LB_EQ, 6},   {"!=", LB_NE, 6},  {"<", LB_LT, 7},
    {"<=", LB_LE, 7},  {">", LB_GT, 7},    {">=", LB_GE, 7},  {"<<", LB_SHL, 8},
    {">>", LB_SHR, 8}, {"+", LB_ADD, 9},   {"-", LB_SUB, 9},  {"*", LB_MUL, 10},
    {"/", LB_DIV, 10}, {"%", LB_REM, 10},
};

static const BinTok *binary_op(const Reader *r) {
  if (r->tok.kind != T_PUNCT) return NULL;
  for (size_t i = 0; i < sizeof bintoks / sizeof *bintoks; i++)
    if (strcmp(bintoks[i].op, r->tok.op) == 0) return &bintoks[i];
  return NULL;
}

/* Precedence climbing: all binary operators are left-associative. */
static LExpr *parse_expr(Reader *r, int min_prec) {
  if (++r->depth > MAX_DEPTH) {
    error_at(r, r->tok.loc, "expression nested too deeply");
    return NULL;
  }
  LExpr *lhs = parse_unary(r);
  const BinTok *op;
  while (lhs && (op = binary_op(r)) && op->prec >= min_prec) {
    SrcLoc loc = r->tok.loc;
    next(r);
    LExpr *rhs = parse_expr(r, op->prec + 1);
    lhs = rhs ? at(le_bin(r->p, op->bop, lhs, rhs), loc) : NULL;
  }
  r->depth--;
  return lhs;
}

/* ---- statements ---- */

static LStmt *parse_block(Reader *r);

static LStmt *parse_for(Reader *r, SrcLoc loc) {
  SrcLoc vloc = r->tok.loc;
  const char *name = expect_kind(r, T_VAR, "a loop variable (%name)");
  if (!name || !check_new_var(r, name, vloc)) return NULL;
  DType t = DT_I32;
  if (is_punct(r, ":")) {
    next(r);
    if (!parse_dtype(r, &t)) return NULL;
  }
  if (!expect_word(r, "in")) return NULL;
  /* The bounds are evaluated before the loop: they cannot see its var. */
  LExpr *lo = parse_expr(r, 0);
  if (!lo || !expect_punct(r, "..")) return NULL;
  LExpr *hi = parse_expr(r, 0);
  if (!hi) return NULL;
  int64_t step = 1;
  if (is_word(r, "step")) {
    next(r);
    if (!parse_int(r, INT64_MIN, INT64_MAX, &step)) return NULL;
  }
  unsigned hints = 0;
  for (;;) {
    if (is_word(r, "vectorize")) hints |= LHINT_VECTORIZE;
    else if (is_word(r, "unroll")) hints |= LHINT_UNROLL;
    else if (is_word(r, "scalar")) hints |= LHINT_SCALAR;
    else break;
    next(r);
  }
  int mark = r->nscope;
  LVar *v = declare_var(r, name, t, LVAR_LOOP, vloc);
  LStmt *body = parse_block(r);
  r->nscope = mark;
  if (r->failed) return NULL;
  LStmt *s = ls_for(r->p, v, lo, hi, step, hints, body);
  s->loc = loc;
  return s;
}

static LStmt *parse_let(Reader *r, SrcLoc loc) {
  SrcLoc vloc = r->tok.loc;
  const char *name = expect_kind(r, T_VAR, "a variable (%name)");
  if (!name || !check_new_var(r, name, vloc)) return NULL;
  DType t;
  if (!expect_punct(r, ":") || !parse_dtype(r, &t) || !expect_punct(r, "=")) return NULL;
  LExpr *value = parse_expr(r, 0);
  if (!value) return NULL;
  LStmt *s = ls_let(r->p, declare_var(r, name, t, LVAR_LOCAL, vloc), value);
  s->loc = loc;
  return s;
}

static LStmt *parse_assign(Reader *r, SrcLoc loc) {
  const char *name = r->tok.s;
  next(r);
  LVar *v = lookup_var(r, name, loc);
  if (!v) return NULL;
  if (v->kind != LVAR_LOCAL) {
    error_at(r, loc, "cannot assign to %s %%%s (only let locals are assignable)",
             v->kind == LVAR_LOOP ? "loop variable" : "program argument", name);
    return NULL;
  }
  if (!expect_punct(r, "=")) return NULL;
  LExpr *value = parse_expr(r, 0);
  if (!value) return NULL;
  LStmt *s = ls_assign(r->p, v, value);
  s->loc = loc;
  return s;
}

static LStmt *parse_store(Reader *r, SrcLoc loc) {
  LBuffer *b = lookup_buffer(r);
  if (!b || !expect_punct(r, "[")) return NULL;
  LExpr *index = parse_expr(r, 0);
  if (!index || !expect_punct(r, "]") || !expect_punct(r, "=")) return NULL;
  LExpr *value = parse_expr(r, 0);
  if (!value) return NULL;
  LStmt *s = ls_store(r->p, b, index, value);
  s->loc = loc;
  return s;
}

static LStmt *parse_if(Reader *r, SrcLoc loc) {
  LExpr *cond = parse_expr(r, 0);
  if (!cond) return NULL;
  LStmt *then_body = parse_block(r);
  LStmt *else_body = NULL;
  if (!r->failed && is_word(r, "else")) {
    next(r);
    else_body = parse_block(r);
  }
  if (r->failed) return NULL;
  LStmt *s = ls_if(r->p, cond, then_body, else_body);
  s->loc = loc;
  return s;
}

static LStmt *parse_stmt(Reader *r) {
  SrcLoc loc = r->tok.loc;
  if (r->tok.kind == T_VAR) return parse_assign(r, loc);
  const char *kw[] = {"for", "let", "store", "if"};
  for (int i = 0; i < 4; i++)
    if (is_word(r, kw[i])) {
      next(r);
      switch (i) {
      case 0: return parse_for(r, loc);
      case 1: return parse_let(r, loc);
      case 2: return parse_store(r, loc);
      default: return parse_if(r, loc);
      }
    }
  error_expected(r, "a statement (for, let, store, if or %var = ...)");
  return NULL;
}

/* { stmt* }: a let's local is visible up to the end of its block. */
static LStmt *parse_block(Reader *r) {
  SrcLoc loc = r->tok.loc;
  if (!expect_punct(r, "{")) return NULL;
  if (++r->depth > MAX_DEPTH) {
    error_at(r, loc, "blocks nested too deeply");
    return NULL;
  }
  int mark = r->nscope;
  LBlock b = {0};
  while (!r->failed && !is_punct(r, "}")) {
    if (r->tok.kind == T_EOF) {
      error_at(r, r->tok.loc, "expected '}' to close the block opened at line %d", loc.line);
      break;
    }
    lblock_add(&b, parse_stmt(r));
  }
  r->nscope = mark;
  r->depth--;
  if (r->failed) return NULL;
  next(r);
  return b.first;
}

/* ---- program items ---- */

static void parse_arg(Reader *r) {
  SrcLoc loc = r->tok.loc;
  const char *name = expect_kind(r, T_VAR, "an argument name (%name)");
  DType t;
  if (!name || !expect_punct(r, ":") || !parse_dtype(r, &t)) return;
  if (lprog_find_arg(r->p, name)) {
    error_at(r, loc, "duplicate program argument %%%s", name);
    return;
  }
  lprog_var(r->p, name, t, LVAR_ARG);
}

/* [d, d, ...] with ? for an unknown extent; [*] is an unknown rank. */
static bool parse_shape(Reader *r, Shape *s) {
  if (!expect_punct(r, "[")) return false;
  s->rank = 0;
  if (is_punct(r, "*")) {
    next(r);
    s->rank = -1;
    return expect_punct(r, "]");
  }
  if (is_punct(r, "]")) {
    next(r);
    return true;
  }
  for (;;) {
    if (s->rank == MAX_RANK) {
      error_at(r, r->tok.loc, "a buffer has at most %d dimensions", MAX_RANK);
      return false;
    }
    int64_t d;
    if (is_punct(r, "?")) {
      next(r);
      d = -1;
    } else if (!parse_int(r, 0, INT64_MAX, &d)) {
      return false;
    }
    s->dim[s->rank++] = d;
    if (is_punct(r, "]")) break;
    if (!expect_punct(r, ",")) return false;
  }
  next(r);
  return true;
}

/* = [v, v, ...]: a constant buffer's values, one per element, written in
 * its dtype (floats with a '.' or an exponent, integers without suffix). */
static void parse_const_data(Reader *r, LBuffer *b) {
  int64_t numel = shape_numel(&b->shape);
  if (numel < 0) {
    error_at(r, b->loc, "constant buffer %%%s needs a known shape", b->name);
    return;
  }
  /* Grown with the values read, so a huge shape costs no memory. */
  size_t esize = dtype_size(b->dtype), cap = 1;
  b->data = arena_alloc(r->a, esize);
  if (!expect_punct(r, "=") || !expect_punct(r, "[")) return;
  int64_t k = 0;
  while (!r->failed && !is_punct(r, "]")) {
    if (k && !expect_punct(r, ",")) return;
    SrcLoc loc = r->tok.loc;
    bool neg = is_punct(r, "-");
    if (neg) next(r);
    Token t = r->tok;
    if (k == numel) {
      error_at(r, loc, "constant buffer %%%s has %lld elements, but more values are given",
               b->name, (long long)numel);
      return;
    }
    if ((size_t)k == cap) {
      b->data = arena_grow(r->a, b->data, cap * esize, 2 * cap * esize);
      cap *= 2;
    }
    if (b->dtype == DT_F32) {
      if (t.kind != T_FLOAT && !is_word(r, "inf") && !is_word(r, "nan")) {
        error_expected(r, "a float value (1.0, not 1)");
        return;
      }
      float v = t.kind == T_FLOAT ? t.f : strcmp(t.s, "inf") == 0 ? INFINITY : NAN;
      lconst_set_f32(b, k, neg ? -v : v);
    } else {
      int64_t v;
      if (t.kind != T_INT || t.type != DT_I32) {
        error_expected(r, "an integer value without suffix");
        return;
      }
      if (!int_value(r, &t, neg, b->dtype, loc, &v)) return;
      lconst_set_int(b, k, v);
    }
    next(r);
    k++;
  }
  if (r->failed) return;
  if (k != numel) {
    error_at(r, r->tok.loc, "constant buffer %%%s has %lld elements, but %lld values are given",
             b->name, (long long)numel, (long long)k);
    return;
  }
  next(r);
}

static void parse_buffer(Reader *r) {
  SrcLoc loc = r->tok.loc;
  const char *name = expect_kind(r, T_VAR, "a buffer name (%name)");
  DType t;
  Shape shape;
  if (!name || !expect_punct(r, ":") || !parse_dtype(r, &t) || !parse_shape(r, &shape)) return;
  if (lprog_find_buffer(r->p, name)) {
    error_at(r, loc, "duplicate buffer %%%s", name);
    return;
  }
  static const char *const homes[] = {"state", "work", "arg", "const"};
  static const char *const roles[] = {"", "param", "optim", "stats", "internal"};
  int home = -1, role = LROLE_NONE;
  for (int i = 0; i < 4; i++)
    if (is_word(r, homes[i])) home = i;
  if (home < 0) {
    error_expected(r, "a home (state, work, arg or const)");
    return;
  }
  next(r);
  for (int i = 1; i < 5; i++)
    if (is_word(r, roles[i])) role = i;
  if (role != LROLE_NONE) next(r);
  LBuffer *b = lprog_buffer(r->p, name, t, shape, (LBufHome)home, (LBufRole)role);
  b->loc = loc;
  if (is_word(r, "readonly")) b->readonly = true, next(r);
  if (is_word(r, "optional")) b->optional = true, next(r);
  if (is_punct(r, "@")) {
    next(r);
    parse_int(r, INT64_MIN, INT64_MAX, &b->offset);
  }
  if (home == LBUF_CONST && !r->failed) parse_const_data(r, b);
}

/* loss/input/label/pred %buffer: which buffer plays that part. */
static void parse_buffer_fact(Reader *r, LBuffer **slot, const char *what) {
  SrcLoc loc = r->tok.loc;
  LBuffer *b = lookup_buffer(r);
  if (!b) return;
  if (*slot) error_at(r, loc, "the %s buffer is already given (%%%s)", what, (*slot)->name);
  *slot = b;
}

static void parse_kernel(Reader *r) {
  SrcLoc loc = r->tok.loc;
  const char *name = expect_kind(r, T_IDENT, "a kernel name");
  if (!name) return;
  if (lprog_find_kernel(r->p, name)) {
    error_at(r, loc, "duplicate kernel %s", name);
    return;
  }
  const char *origin = NULL;
  SrcLoc src = {0};
  if (is_word(r, "from")) {
    next(r);
    if (!(origin = expect_kind(r, T_STRING, "a string"))) return;
  }
  if (is_word(r, "loc")) {
    next(r);
    int64_t line, col;
    if (!expect_punct(r, "(") || !(src.file = expect_kind(r, T_STRING, "a file name")) ||
        !expect_punct(r, ":") || !parse_int(r, 0, 1 << 30, &line) || !expect_punct(r, ":") ||
        !parse_int(r, 0, 1 << 30, &col) || !expect_punct(r, ")"))
      return;
    src.line = (int)line;
    src.col = (int)col;
  }
  LKernel *k = lprog_kernel(r->p, name, origin, src);
  r->nscope = r->ndeclared = 0;
  k->body = parse_block(r);
}

static void parse_entry(Reader *r) {
  SrcLoc loc = r->tok.loc;
  const char *name = expect_kind(r, T_IDENT, "an entry name (init, train_step, predict, eval)");
  if (!name) return;
  int kind = -1;
  for (int i = 0; i < LENTRY_COUNT; i++)
    if (strcmp(lentry_name((LEntryKind)i), name) == 0) kind = i;
  if (kind < 0) {
    error_at(r, loc, "unknown entry '%s' (expected init, train_step, predict or eval)", name);
    return;
  }
  if (r->entry_seen[kind]) {
    error_at(r, loc, "entry %s is given twice", name);
    return;
  }
  r->entry_seen[kind] = true;
  if (!expect_punct(r, "{")) return;
  LKernel **calls = NULL;
  int ncalls = 0, cap = 0;
  while (!r->failed && !is_punct(r, "}")) {
    if (ncalls && !expect_punct(r, ",")) break;
    SrcLoc kloc = r->tok.loc;
    const char *kname = expect_kind(r, T_IDENT, "a kernel name");
    if (!kname) break;
    LKernel *k = lprog_find_kernel(r->p, kname);
    if (!k) {
      error_at(r, kloc, "unknown kernel %s", kname);
      break;
    }
    if (ncalls == cap) {
      cap = cap ? cap * 2 : 16;
      calls = xrealloc(calls, (size_t)cap * sizeof *calls);
    }
    calls[ncalls++] = k;
  }
  for (int i = 0; !r->failed && i < ncalls; i++) lprog_call(r->p, (LEntryKind)kind, calls[i]);
  free(calls);
  if (!r->failed) next(r);
}

static void parse_item(Reader *r) {
  SrcLoc loc = r->tok.loc;
  LProgram *p = r->p;
  int64_t v;
  if (r->tok.kind != T_IDENT) {
    error_expected(r, "a program item (arg, buffer, kernel, entry, ...)");
    return;
  }
  const char *w = r->tok.s;
  next(r);
  if (!strcmp(w, "arg")) parse_arg(r);
  else if (!strcmp(w, "buffer")) parse_buffer(r);
  else if (!strcmp(w, "kernel")) parse_kernel(r);
  else if (!strcmp(w, "entry")) parse_entry(r);
  else if (!strcmp(w, "loss")) parse_buffer_fact(r, &p->loss, "loss");
  else if (!strcmp(w, "input")) parse_buffer_fact(r, &p->input, "input");
  else if (!strcmp(w, "label")) parse_buffer_fact(r, &p->label, "label");
  else if (!strcmp(w, "pred")) parse_buffer_fact(r, &p->pred, "pred");
  else if (!strcmp(w, "epoch")) parse_buffer_fact(r, &p->epoch, "epoch");
  else if (!strcmp(w, "eval_loss")) parse_buffer_fact(r, &p->eval_loss, "eval_loss");
  else if (!strcmp(w, "eval_correct")) parse_buffer_fact(r, &p->eval_correct, "eval_correct");
  else if (!strcmp(w, "kind")) {
    SrcLoc kloc = r->tok.loc;
    const char *k = expect_kind(r, T_IDENT, "a program kind (classifier or regression)");
    if (k && !strcmp(k, "regression")) p->kind = LPROG_REGRESSION;
    else if (k && !strcmp(k, "classifier")) p->kind = LPROG_CLASSIFIER;
    else if (k) error_at(r, kloc, "unknown program kind '%s' (classifier or regression)", k);
    r->kind_seen = true;
  } else if (!strcmp(w, "num_classes")) {
    if (parse_int(r, 0, 1 << 30, &v)) p->num_classes = (int)v;
  } else if (!strcmp(w, "state_bytes")) parse_int(r, 0, INT64_MAX, &p->state_bytes);
  else if (!strcmp(w, "work_bytes")) parse_int(r, 0, INT64_MAX, &p->work_bytes);
  else error_at(r, loc, "unknown program item '%s'", w);
}

/* program NAME (batch N) { item* } */
static LProgram *parse_program(Reader *r) {
  if (!expect_word(r, "program")) return NULL;
  const char *name = NULL;
  if (r->tok.kind == T_IDENT || r->tok.kind == T_STRING) {
    name = r->tok.s;
    next(r);
  } else {
    error_expected(r, "a program name");
    return NULL;
  }
  int64_t batch;
  if (!expect_punct(r, "(") || !expect_word(r, "batch") || !parse_int(r, 1, 1 << 30, &batch) ||
      !expect_punct(r, ")") || !expect_punct(r, "{"))
    return NULL;
  r->p = lprog_new(r->a, name, (int)batch);
  while (!r->failed && !is_punct(r, "}")) {
    if (r->tok.kind == T_EOF) {
      error_at(r, r->tok.loc, "expected '}' to close the program");
      break;
    }
    parse_item(r);
  }
  if (r->failed) return NULL;
  next(r);
  if (r->tok.kind != T_EOF) error_expected(r, "end of file after the program");
  if (!r->kind_seen && r->p->pred && r->p->pred->dtype == DT_F32) r->p->kind = LPROG_REGRESSION;
  return r->failed ? NULL : r->p;
}

LProgram *lprog_read(Arena *a, Diag *d, const char *file, const char *text, size_t len) {
  Reader r = {0};
  r.a = a;
  r.d = d;
  /* Locations outlive d (the verifier may report through another Diag), so
   * they name the file with an arena copy; diag matches names by content. */
  r.sc = scanner_new(arena_strdup(a, diag_add_source(d, file, text, len)), text, len);
  next(&r);
  LProgram *p = parse_program(&r);
  free(r.scope);
  free(r.declared);
  return r.failed ? NULL : p;
}
