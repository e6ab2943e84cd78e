/* Reads the graph IR's textual form (docs/ir.md) back into a Graph. A small
 * lexer (its character level shared with the loop-IR reader in
 * ir_scanner.c) and a recursive-descent parser, one function per grammar
 * rule. The
 * language is line-based: a statement ends at the end of its line, so after
 * an error the parser skips to the next line and goes on, which reports the
 * first error of every line and never cascades. The op table (ir/ops.c)
 * is checked here, where the reader still knows each attribute's column;
 * SSA, dtypes and shapes are left to graph_verify, run at the end. */
#include "reader.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ir_scanner.h"
#include "suggest.h"
#include "verify.h"

typedef enum {
  T_EOF,
  T_NL,
  T_IDENT,  /* bare word: keywords, ops, dtypes, bare names */
  T_VALUE,  /* %name; s holds the name */
  T_STRING, /* "..."; s holds the decoded bytes */
  T_INT,
  T_FLOAT,
  T_PUNCT,  /* one of ( ) { } [ ] , : = ? * */
  T_ERROR,  /* the lexer already reported it */
} TokKind;

typedef struct Token {
  TokKind kind;
  SrcLoc loc;
  const char *s;
  int64_t i;
  double f;
  char c; /* T_PUNCT */
} Token;

typedef struct Reader {
  Arena *a;
  Diag *d;
  Scanner sc; /* its file is interned by diag_add_source */
  Token tok;
  int err_line; /* the line of the last reported error */
  int errors;
  Graph *g;
  SrcLoc *val_pos; /* where each value (by id) is defined in this text */
  int cap_val_pos;
  SrcLoc *node_pos; /* where each node (by id) starts */
  int cap_node_pos;
} Reader;

/* ---- diagnostics ---- */

/* Reports unless this line already has an error; returns whether it did. */
static bool error_at(Reader *r, SrcLoc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool error_at(Reader *r, SrcLoc loc, const char *fmt, ...) {
  r->errors++;
  if (loc.line == r->err_line) return false;
  r->err_line = loc.line;
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  diag_error(r->d, loc, "%s", buf);
  return true;
}

/* A suggestion may be a third of the name's length away. */
static Suggest suggest_for(const char *name) {
  return suggest_start(name, (int)strlen(name) / 3 + 1);
}

/* ---- lexer (characters: ir_scanner.c) ---- */

/* Error token: reported, and the rest of the line is dropped so the
 * parser's recovery starts cleanly on the next line. */
static void lex_fail(Reader *r, Token *t) {
  scan_skip_line(&r->sc);
  t->kind = T_ERROR;
}

static void lex_string(Reader *r, Token *t) {
  ScanStr str = scan_string(&r->sc, r->a, false);
  switch (str.status) {
  case SCAN_STR_OK:
    t->kind = T_STRING;
    t->s = str.s;
    return;
  case SCAN_STR_UNTERMINATED: error_at(r, t->loc, "unterminated string"); break;
  case SCAN_STR_BAD_ESCAPE:
    error_at(r, str.at, "unknown escape sequence in string (use \\\" \\\\ \\n \\t or \\xHH)");
    break;
  case SCAN_STR_ESCAPED_NUL: error_at(r, str.at, "a string cannot contain a NUL byte"); break;
  case SCAN_STR_CONTROL:
    error_at(r, str.at, "control character 0x%02x in string; write it as \\x%02x", str.byte,
             str.byte);
    break;
  }
  lex_fail(r, t);
}

/* Integers are decimal int64; floats have a '.' or an exponent (or are
 * -inf; bare inf and nan are words the parser accepts where numbers go). */
static void lex_number(Reader *r, Token *t) {
  Scanner *sc = &r->sc;
  size_t start = sc->pos;
  if (scan_peek(sc, 0) == '-') scan_advance(sc);
  if (scan_peek(sc, 0) == 'i' && scan_peek(sc, 1) == 'n' && scan_peek(sc, 2) == 'f' &&
      !scan_is_name_char(scan_peek(sc, 3))) {
    scan_advance_n(sc, 3);
    t->kind = T_FLOAT;
    t->f = -INFINITY;
    return;
  }
  if (!scan_is_digit(scan_peek(sc, 0))) {
    error_at(r, t->loc, "expected a number after '-'");
    lex_fail(r, t);
    return;
  }
  bool is_float = scan_decimal(sc, false);
  if (scan_while(sc, scan_is_name_char)) {
    error_at(r, t->loc, "invalid number '%.*s'", (int)(sc->pos - start < 40 ? sc->pos - start : 40),
             sc->text + start);
    lex_fail(r, t);
    return;
  }
  char *s = scan_copy(sc, r->a, start);
  errno = 0;
  if (is_float) {
    double v = strtod(s, NULL);
    if (errno == ERANGE && isinf(v)) {
      error_at(r, t->loc, "number '%s' is out of range", s);
      t->kind = T_ERROR;
      return;
    }
    t->kind = T_FLOAT;
    t->f = v;
  } else {
    long long v = strtoll(s, NULL, 10);
    if (errno == ERANGE) {
      error_at(r, t->loc, "integer '%.40s' is too large (the limit is %lld)", s, LLONG_MAX);
      t->kind = T_ERROR;
      return;
    }
    t->kind = T_INT;
    t->i = v;
  }
}

static void lex_word(Reader *r, Token *t) {
  size_t start = r->sc.pos;
  scan_while(&r->sc, scan_is_name_char);
  t->kind = T_IDENT;
  t->s = scan_copy(&r->sc, r->a, start);
}

static void lex_value(Reader *r, Token *t) {
  scan_advance(&r->sc); /* % */
  if (scan_peek(&r->sc, 0) == '"') {
    lex_string(r, t);
    if (t->kind == T_STRING) t->kind = T_VALUE;
    return;
  }
  size_t start = r->sc.pos;
  if (!scan_while(&r->sc, scan_is_name_char)) {
    error_at(r, t->loc, "expected a value name after '%%'");
    lex_fail(r, t);
    return;
  }
  t->kind = T_VALUE;
  t->s = scan_copy(&r->sc, r->a, start);
}

static void next(Reader *r) {
  Token *t = &r->tok;
  memset(t, 0, sizeof *t);
  scan_skip_blanks(&r->sc, false);
  t->loc = scan_loc(&r->sc);
  int c = scan_peek(&r->sc, 0);
  if (c == -1) {
    t->kind = T_EOF;
  } else if (c == '\n') {
    scan_advance(&r->sc);
    t->kind = T_NL;
  } else if (c == '"') {
    lex_string(r, t);
  } else if (c == '%') {
    lex_value(r, t);
  } else if (scan_is_digit(c) || c == '-') {
    lex_number(r, t);
  } else if (scan_is_alpha(c)) {
    lex_word(r, t);
  } else if (strchr("(){}[],:=?*", c) && c != 0) {
    scan_advance(&r->sc);
    t->kind = T_PUNCT;
    t->c = (char)c;
  } else {
    if (c >= 33 && c < 127)
      error_at(r, t->loc, "unexpected character '%c'", c);
    else
      error_at(r, t->loc, "unexpected byte 0x%02x", c);
    lex_fail(r, t);
  }
}

/* ---- parser helpers ---- */

static const char *tok_desc(Reader *r, const Token *t) {
  switch (t->kind) {
  case T_EOF: return "end of file";
  case T_NL: return "end of line";
  case T_IDENT: return arena_printf(r->a, "'%.40s'", t->s);
  case T_VALUE: return arena_printf(r->a, "value '%%%.40s'", t->s);
  case T_STRING: return "a string";
  case T_INT: return arena_printf(r->a, "number '%lld'", (long long)t->i);
  case T_FLOAT: return "a number";
  case T_PUNCT: return arena_printf(r->a, "'%c'", t->c);
  case T_ERROR: break;
  }
  return "an invalid token";
}

static bool is_punct(const Reader *r, char c) { return r->tok.kind == T_PUNCT && r->tok.c == c; }
static bool is_word_tok(const Reader *r, const char *w) {
  return r->tok.kind == T_IDENT && strcmp(r->tok.s, w) == 0;
}

static bool expected(Reader *r, const char *what) {
  error_at(r, r->tok.loc, "expected %s, found %s", what, tok_desc(r, &r->tok));
  return false;
}

static bool expect_punct(Reader *r, char c) {
  if (!is_punct(r, c)) return expected(r, arena_printf(r->a, "'%c'", c));
  next(r);
  return true;
}

static bool expect_word(Reader *r, const char *w) {
  if (!is_word_tok(r, w)) return expected(r, arena_printf(r->a, "'%s'", w));
  next(r);
  return true;
}

static void skip_newlines(Reader *r) {
  while (r->tok.kind == T_NL) next(r);
}

/* Drops the rest of a bad statement. */
static void skip_line(Reader *r) {
  while (r->tok.kind != T_NL && r->tok.kind != T_EOF) next(r);
}

static bool parse_int(Reader *r, int64_t lo, int64_t hi, const char *what, int64_t *out) {
  if (r->tok.kind != T_INT) return expected(r, what);
  if (r->tok.i < lo || r->tok.i > hi) {
    error_at(r, r->tok.loc, "%s must be between %lld and %lld, got %lld", what, (long long)lo,
             (long long)hi, (long long)r->tok.i);
    return false;
  }
  *out = r->tok.i;
  next(r);
  return true;
}

/* number := INT | FLOAT | inf | nan */
static bool parse_number(Reader *r, double *out) {
  if (r->tok.kind == T_INT) *out = (double)r->tok.i;
  else if (r->tok.kind == T_FLOAT) *out = r->tok.f;
  else if (is_word_tok(r, "inf")) *out = INFINITY;
  else if (is_word_tok(r, "nan")) *out = NAN;
  else return expected(r, "a number");
  next(r);
  return true;
}

/* name := IDENT | STRING */
static bool parse_name(Reader *r, const char *what, const char **out) {
  if (r->tok.kind != T_IDENT && r->tok.kind != T_STRING) return expected(r, what);
  *out = r->tok.s;
  next(r);
  return true;
}

static void record_pos(Reader *r, SrcLoc **arr, int *cap, int id, SrcLoc loc) {
  if (id >= *cap) {
    int nc = *cap ? *cap * 2 : 64;
    while (nc <= id) nc *= 2;
    *arr = arena_grow(r->a, *arr, (size_t)*cap * sizeof(SrcLoc), (size_t)nc * sizeof(SrcLoc));
    *cap = nc;
  }
  (*arr)[id] = loc;
}

/* A value name about to be defined: fails on a redefinition. */
static bool check_new_value(Reader *r, const Token *name) {
  Value *prev = graph_find_value(r->g, name->s);
  if (!prev) return true;
  if (error_at(r, name->loc, "redefinition of value '%%%s'", name->s))
    diag_note(r->d, r->val_pos[prev->id], "previous definition of '%%%s' is here", name->s);
  return false;
}

/* ---- types and locations ---- */

static bool star_not_alone(Reader *r) {
  error_at(r, r->tok.loc,
           "'*' (an unknown rank) stands alone as [*]; write '?' for one unknown extent");
  return false;
}

/* dim := INT | '?' ; an unknown extent is stored as -1 */
static bool parse_dim(Reader *r, int64_t *out) {
  if (is_punct(r, '?')) {
    next(r);
    *out = -1;
    return true;
  }
  if (is_punct(r, '*')) return star_not_alone(r);
  if (r->tok.kind != T_INT) return expected(r, "a dimension (an integer >= 0 or '?')");
  if (r->tok.i < 0) {
    error_at(r, r->tok.loc, "dimension %lld is negative; write '?' for an unknown extent",
             (long long)r->tok.i);
    return false;
  }
  *out = r->tok.i;
  next(r);
  return true;
}

/* dims := '*' | [ dim (',' dim)* ]   ('[*]' is an unknown rank, '[?]' one
 * unknown extent) */
static bool parse_dims(Reader *r, Shape *s) {
  if (is_punct(r, ']')) {
    s->rank = 0;
    return true;
  }
  if (is_punct(r, '*')) {
    next(r);
    *s = shape_unknown();
    return is_punct(r, ',') ? star_not_alone(r) : true;
  }
  if (!parse_dim(r, &s->dim[0])) return false;
  s->rank = 1;
  while (is_punct(r, ',')) {
    next(r);
    if (s->rank == MAX_RANK) {
      error_at(r, r->tok.loc, "too many dimensions (at most %d)", MAX_RANK);
      return false;
    }
    if (!parse_dim(r, &s->dim[s->rank])) return false;
    s->rank++;
  }
  return true;
}

/* type := DTYPE '[' dims ']' */
static bool parse_type(Reader *r, TensorType *t) {
  if (r->tok.kind != T_IDENT) return expected(r, "a type such as f32[32,10]");
  if (!dtype_from_name(r->tok.s, &t->dtype)) {
    Suggest sg = suggest_for(r->tok.s);
    for (int i = 0; i < DT_COUNT; i++) suggest_try(&sg, dtype_name((DType)i));
    const char *best = sg.best;
    error_at(r, r->tok.loc, "unknown element type '%.40s'%s%s%s", r->tok.s,
             best ? "; did you mean '" : " (f32, i8, i16, i32, i64 or u8)", best ? best : "",
             best ? "'?" : "");
    return false;
  }
  next(r);
  memset(&t->shape, 0, sizeof t->shape);
  if (!expect_punct(r, '[')) return false;
  if (!parse_dims(r, &t->shape)) return false;
  return expect_punct(r, ']');
}

/* loc := 'loc' '(' STRING ':' INT ':' INT ')' ; optional */
static bool parse_loc(Reader *r, SrcLoc *loc) {
  *loc = (SrcLoc){0};
  if (!is_word_tok(r, "loc")) return true;
  next(r);
  if (!expect_punct(r, '(')) return false;
  if (r->tok.kind != T_STRING) return expected(r, "a file name string");
  const char *file = r->tok.s;
  next(r);
  int64_t line, col;
  if (!expect_punct(r, ':') || !parse_int(r, 0, INT_MAX, "a line number", &line) ||
      !expect_punct(r, ':') || !parse_int(r, 0, INT_MAX, "a column number", &col) ||
      !expect_punct(r, ')'))
    return false;
  *loc = (SrcLoc){file, (int)line, (int)col};
  return true;
}

/* ---- declarations ---- */

typedef struct DeclTail {
  int64_t classes;
  Init init;
  const char *layer;
  bool has_classes, has_init, has_layer;
} DeclTail;

/* init := 'init' IDENT [ '(' number ')' ] */
static bool parse_init(Reader *r, Init *init) {
  if (r->tok.kind != T_IDENT) return expected(r, "an initializer name");
  if (!init_from_name(r->tok.s, &init->kind)) {
    Suggest sg = suggest_for(r->tok.s);
    for (int i = 0; i < INIT_COUNT; i++) suggest_try(&sg, init_name((InitKind)i));
    const char *best = sg.best;
    if (best)
      error_at(r, r->tok.loc, "unknown initializer '%.40s'; did you mean '%s'?", r->tok.s, best);
    else
      error_at(r, r->tok.loc,
               "unknown initializer '%.40s' (zeros, ones, const, he, xavier, normal)", r->tok.s);
    return false;
  }
  next(r);
  if (!is_punct(r, '(')) return true;
  next(r);
  return parse_number(r, &init->value) && expect_punct(r, ')');
}

/* One of: 'classes' INT | init | 'layer' name; each at most once. */
static bool parse_decl_tail(Reader *r, ValueKind kind, DeclTail *dt) {
  Token key = r->tok;
  bool persistent = kind == VAL_PARAM || kind == VAL_STATE;
  bool *seen = is_word_tok(r, "classes") ? &dt->has_classes
               : is_word_tok(r, "init")  ? &dt->has_init
                                         : &dt->has_layer;
  if (*seen) {
    error_at(r, key.loc, "'%s' given twice", key.s);
    return false;
  }
  *seen = true;
  if (seen == &dt->has_classes && kind != VAL_LABEL) {
    error_at(r, key.loc, "'classes' is only allowed on a label");
    return false;
  }
  if (seen != &dt->has_classes && !persistent) {
    error_at(r, key.loc, "'%s' is only allowed on a param or a state", key.s);
    return false;
  }
  next(r);
  if (seen == &dt->has_classes)
    return parse_int(r, 0, INT64_MAX, "the number of classes", &dt->classes);
  if (seen == &dt->has_init) return parse_init(r, &dt->init);
  return parse_name(r, "a layer name", &dt->layer);
}

/* decl := ('input'|'label'|'param'|'state') VALUE ':' type tail* loc? */
static bool parse_decl(Reader *r, ValueKind kind) {
  next(r);
  if (r->tok.kind != T_VALUE) return expected(r, "a value name such as %x");
  Token name = r->tok;
  if (!check_new_value(r, &name)) return false;
  next(r);
  TensorType type;
  if (!expect_punct(r, ':') || !parse_type(r, &type)) return false;
  DeclTail dt = {0};
  while (is_word_tok(r, "classes") || is_word_tok(r, "init") || is_word_tok(r, "layer"))
    if (!parse_decl_tail(r, kind, &dt)) return false;
  SrcLoc loc;
  if (!parse_loc(r, &loc)) return false;
  Value *v = kind == VAL_PARAM || kind == VAL_STATE
                 ? graph_add_param(r->g, name.s, kind, type, dt.init, dt.layer, loc)
                 : graph_add_input(r->g, name.s, kind, type, loc);
  v->classes = dt.classes;
  record_pos(r, &r->val_pos, &r->cap_val_pos, v->id, name.loc);
  return true;
}

/* ---- nodes ---- */

static Value *lookup_value(Reader *r, const Token *t) {
  Value *v = graph_find_value(r->g, t->s);
  if (v) return v;
  Suggest sg = suggest_for(t->s);
  for (int i = 0; i < r->g->nvalues; i++) suggest_try(&sg, r->g->values[i]->name);
  const char *best = sg.best;
  if (best)
    error_at(r, t->loc, "use of undefined value '%%%s'; did you mean '%%%s'?", t->s, best);
  else
    error_at(r, t->loc, "use of undefined value '%%%s'", t->s);
  return NULL;
}

static bool parse_op(Reader *r, OpKind *op) {
  if (r->tok.kind != T_IDENT) return expected(r, "an op name");
  if (op_from_name(r->tok.s, op)) {
    next(r);
    return true;
  }
  Suggest sg = suggest_for(r->tok.s);
  for (int i = 0; i < OP_COUNT; i++) suggest_try(&sg, op_name((OpKind)i));
  const char *best = sg.best;
  if (best)
    error_at(r, r->tok.loc, "unknown op '%.40s'; did you mean '%s'?", r->tok.s, best);
  else
    error_at(r, r->tok.loc, "unknown op '%.40s'", r->tok.s);
  return false;
}

/* operands := '(' [ VALUE (',' VALUE)* ] ')' */
static bool parse_operands(Reader *r, const OpInfo *info, Value ***in, int *nin) {
  SrcLoc open = r->tok.loc;
  if (!expect_punct(r, '(')) return false;
  int cap = 4;
  *in = arena_alloc(r->a, (size_t)cap * sizeof(Value *));
  *nin = 0;
  while (!is_punct(r, ')')) {
    if (*nin && !expect_punct(r, ',')) return false;
    if (r->tok.kind != T_VALUE) return expected(r, "an operand such as %x");
    Value *v = lookup_value(r, &r->tok);
    if (!v) return false;
    if (*nin == cap) {
      *in = arena_grow(r->a, *in, (size_t)cap * sizeof(Value *), (size_t)cap * 2 * sizeof(Value *));
      cap *= 2;
    }
    (*in)[(*nin)++] = v;
    next(r);
  }
  if (*nin < info->min_in || *nin > info->max_in) {
    char roles[128] = "";
    for (int i = 0; i < info->max_in; i++) {
      size_t l = strlen(roles);
      snprintf(roles + l, sizeof roles - l, "%s%s", i ? ", " : "", info->in_names[i]);
    }
    if (info->min_in == info->max_in)
      error_at(r, open, "%s takes %d operand%s (%s), got %d", info->name, info->min_in,
               info->min_in == 1 ? "" : "s", roles, *nin);
    else
      error_at(r, open, "%s takes %d to %d operands (%s), got %d", info->name, info->min_in,
               info->max_in, roles, *nin);
    return false;
  }
  return expect_punct(r, ')');
}


/* attr-value := INT | number | '[' [INT (',' INT)*] ']' | STRING */
static bool parse_attr_value(Reader *r, Attr *a) {
  if (r->tok.kind == T_INT) {
    a->kind = ATTR_INT;
    a->i = r->tok.i;
    next(r);
    return true;
  }
  if (r->tok.kind == T_STRING) {
    a->kind = ATTR_STR;
    a->s = r->tok.s;
    next(r);
    return true;
  }
  if (is_punct(r, '[')) {
    a->kind = ATTR_INTS;
    next(r);
    while (!is_punct(r, ']')) {
      if (a->n && !expect_punct(r, ',')) return false;
      if (a->n == MAX_RANK) {
        error_at(r, r->tok.loc, "too many elements in an integer list (at most %d)", MAX_RANK);
        return false;
      }
      if (!parse_int(r, INT64_MIN, INT64_MAX, "an integer", &a->ints[a->n])) return false;
      a->n++;
    }
    next(r);
    return true;
  }
  a->kind = ATTR_FLOAT;
  return parse_number(r, &a->f) ? true : false;
}

static bool word_listed(const char *s, const char *const *list) {
  for (; *list; list++)
    if (strcmp(s, *list) == 0) return true;
  return false;
}

/* "fp32, int8" in the graph's arena. */
static const char *word_list(Reader *r, const char *const *list) {
  const char *s = "";
  for (int i = 0; list[i]; i++) s = arena_printf(r->g->arena, "%s%s%s", s, i ? ", " : "", list[i]);
  return s;
}

/* One attribute, checked against the op's schema where it stands. */
static bool parse_attr(Reader *r, Graph *g, Node *n, const OpInfo *info) {
  SrcLoc nloc = r->tok.loc;
  const char *name;
  if (!parse_name(r, "an attribute name", &name)) return false;
  const AttrSpec *spec = op_attr_spec(info, name);
  if (!spec) {
    Suggest sg = suggest_for(name);
    for (int i = 0; i < info->nattrs; i++) suggest_try(&sg, info->attrs[i].name);
    const char *best = sg.best;
    if (best)
      error_at(r, nloc, "%s has no attribute '%s'; did you mean '%s'?", info->name, name, best);
    else
      error_at(r, nloc, "%s has no attribute '%s'", info->name, name);
    return false;
  }
  if (node_attr(n, name)) {
    error_at(r, nloc, "attribute '%s' given twice", name);
    return false;
  }
  if (!expect_punct(r, '=')) return false;
  SrcLoc vloc = r->tok.loc;
  Attr a = {0};
  if (!parse_attr_value(r, &a)) return false;
  if (a.kind != spec->kind) {
    error_at(r, vloc, "attribute '%s' of %s must be %s %s", name, info->name,
             spec->kind == ATTR_FLOAT || spec->kind == ATTR_STR ? "a" : "an",
             attr_kind_name(spec->kind));
    return false;
  }
  switch (a.kind) {
  case ATTR_INT: node_set_int(g, n, name, a.i); break;
  case ATTR_FLOAT: node_set_float(g, n, name, a.f); break;
  case ATTR_STR:
    if (spec->choices && !word_listed(a.s, spec->choices)) {
      error_at(r, vloc, "attribute '%s' of %s must be one of %s, not \"%.40s\"", name,
               info->name, word_list(r, spec->choices), a.s);
      return false;
    }
    node_set_str(g, n, name, a.s);
    break;
  case ATTR_INTS:
    if (spec->ints_len && a.n != spec->ints_len) {
      error_at(r, vloc, "attribute '%s' of %s needs %d elements, got %d", name, info->name,
               spec->ints_len, a.n);
      return false;
    }
    node_set_ints(g, n, name, a.n, a.ints);
    break;
  }
  return true;
}

/* attrs := '{' [attr (',' attr)*] '}' ; then every attribute must be there */
static bool parse_attrs(Reader *r, Node *n, const OpInfo *info, SrcLoc oploc) {
  if (is_punct(r, '{')) {
    next(r);
    while (!is_punct(r, '}')) {
      if (n->nattrs && !expect_punct(r, ',')) return false;
      if (!parse_attr(r, r->g, n, info)) return false;
    }
    next(r);
  }
  for (int i = 0; i < info->nattrs; i++)
    if (!info->attrs[i].optional && !node_attr(n, info->attrs[i].name)) {
      error_at(r, oploc, "%s is missing attribute '%s' (%s)", info->name, info->attrs[i].name,
               attr_kind_name(info->attrs[i].kind));
      return false;
    }
  return true;
}

/* node := [VALUE (',' VALUE)* '='] OP [STRING] operands [attrs]
 *         [':' type (',' type)*] loc? */
static bool parse_node(Reader *r) {
  SrcLoc start = r->tok.loc;
  Token names[16];
  int nres = 0;
  if (r->tok.kind == T_VALUE) {
    for (;;) {
      if (r->tok.kind != T_VALUE) return expected(r, "a result name such as %x");
      if (nres == (int)(sizeof names / sizeof names[0])) {
        error_at(r, r->tok.loc, "too many results");
        return false;
      }
      if (!check_new_value(r, &r->tok)) return false;
      for (int i = 0; i < nres; i++)
        if (strcmp(names[i].s, r->tok.s) == 0) {
          error_at(r, r->tok.loc, "result '%%%s' named twice", r->tok.s);
          return false;
        }
      names[nres++] = r->tok;
      next(r);
      if (!is_punct(r, ',')) break;
      next(r);
    }
    if (!expect_punct(r, '=')) return false;
  }
  SrcLoc oploc = r->tok.loc;
  OpKind op;
  if (!parse_op(r, &op)) return false;
  const OpInfo *info = op_info(op);
  if (!op_result_count_ok(info, nres)) {
    if (info->max_out > info->nout)
      error_at(r, nres ? start : oploc, "%s has %d to %d results, but %d %s named", info->name,
               info->nout, info->max_out, nres, nres == 1 ? "is" : "are");
    else
      error_at(r, nres ? start : oploc, "%s has %d result%s, but %d %s named", info->name,
               info->nout, info->nout == 1 ? "" : "s", nres, nres == 1 ? "is" : "are");
    return false;
  }
  const char *node_name = NULL;
  if (r->tok.kind == T_STRING) {
    node_name = r->tok.s;
    next(r);
  }
  Value **in;
  int nin;
  if (!parse_operands(r, info, &in, &nin)) return false;
  /* The node exists from here (its attributes are stored on it); if the
   * rest fails the whole read fails, so a half-built node is harmless. */
  const char *out_names[16];
  for (int i = 0; i < nres; i++) out_names[i] = names[i].s;
  Node *n = graph_add_node(r->g, op, node_name, in, nin, out_names, nres, (SrcLoc){0});
  record_pos(r, &r->node_pos, &r->cap_node_pos, n->id, start);
  for (int i = 0; i < nres; i++)
    record_pos(r, &r->val_pos, &r->cap_val_pos, n->out[i]->id, names[i].loc);
  if (!parse_attrs(r, n, info, oploc)) return false;
  if (is_punct(r, ':')) {
    next(r);
    for (int i = 0; i < nres; i++) {
      if (i && !is_punct(r, ',')) {
        error_at(r, r->tok.loc, "%s has %d results but %d result type%s given", info->name,
                 nres, i, i == 1 ? " is" : "s are");
        return false;
      }
      if (i) next(r);
      if (!parse_type(r, &n->out[i]->type)) return false;
    }
  }
  if (!parse_loc(r, &n->loc)) return false;
  for (int i = 0; i < nres; i++) n->out[i]->loc = n->loc;
  return true;
}

/* output := 'output' [VALUE (',' VALUE)*] */
static bool parse_output(Reader *r) {
  next(r);
  bool first = true;
  while (r->tok.kind != T_NL && r->tok.kind != T_EOF && !is_punct(r, '}')) {
    if (!first && !expect_punct(r, ',')) return false;
    first = false;
    if (r->tok.kind != T_VALUE) return expected(r, "an output value such as %loss");
    Value *v = lookup_value(r, &r->tok);
    if (!v) return false;
    graph_add_output(r->g, v);
    next(r);
  }
  return true;
}

static bool parse_stmt(Reader *r) {
  if (is_word_tok(r, "input")) return parse_decl(r, VAL_INPUT);
  if (is_word_tok(r, "label")) return parse_decl(r, VAL_LABEL);
  if (is_word_tok(r, "param")) return parse_decl(r, VAL_PARAM);
  if (is_word_tok(r, "state")) return parse_decl(r, VAL_STATE);
  if (is_word_tok(r, "output")) return parse_output(r);
  if (r->tok.kind == T_VALUE || r->tok.kind == T_IDENT) return parse_node(r);
  return expected(r, "a declaration, a node or '}'");
}

/* ---- the graph ---- */

/* header := 'graph' name '(' 'batch' INT ')' '{' */
static bool parse_header(Reader *r) {
  const char *name;
  int64_t batch;
  if (!expect_word(r, "graph") || !parse_name(r, "a graph name", &name) ||
      !expect_punct(r, '(') || !expect_word(r, "batch") ||
      !parse_int(r, 1, INT_MAX, "the batch size", &batch) || !expect_punct(r, ')') ||
      !expect_punct(r, '{'))
    return false;
  r->g = graph_new(r->a, name, (int)batch);
  return true;
}

static void parse_body(Reader *r, SrcLoc open) {
  for (;;) {
    skip_newlines(r);
    if (diag_too_many(r->d)) return;
    if (is_punct(r, '}')) {
      next(r);
      return;
    }
    if (r->tok.kind == T_EOF) {
      if (error_at(r, r->tok.loc, "unexpected end of file: the graph is not closed with '}'"))
        diag_note(r->d, open, "the graph starts here");
      return;
    }
    if (parse_stmt(r) && r->tok.kind != T_NL && r->tok.kind != T_EOF && !is_punct(r, '}'))
      expected(r, "the end of the statement");
    if (r->tok.kind == T_EOF || !is_punct(r, '}')) skip_line(r);
  }
}

static void parse_file(Reader *r) {
  skip_newlines(r);
  SrcLoc open = r->tok.loc;
  if (!parse_header(r)) return;
  parse_body(r, open);
  skip_newlines(r);
  if (r->tok.kind != T_EOF && r->errors == 0)
    error_at(r, r->tok.loc, "unexpected %s after the end of the graph", tok_desc(r, &r->tok));
}

/* ---- verification at the text's positions ---- */

static bool all_shapes_known(const Graph *g) {
  for (int i = 0; i < g->nvalues; i++)
    if (!shape_known(&g->values[i]->type.shape)) return false;
  return true;
}

/* The verifier reports at node and value locations; while it runs they are
 * swapped for positions in this text, so its messages quote the IR line the
 * user gave us rather than the .net line the graph came from. */
static bool verify_here(Reader *r) {
  Graph *g = r->g;
  SrcLoc *vsave = arena_alloc(r->a, (size_t)(g->nvalues + 1) * sizeof(SrcLoc));
  SrcLoc *nsave = arena_alloc(r->a, (size_t)(g->nnodes + 1) * sizeof(SrcLoc));
  for (int i = 0; i < g->nvalues; i++) {
    vsave[i] = g->values[i]->loc;
    g->values[i]->loc = r->val_pos[i];
  }
  for (int i = 0; i < g->nnodes; i++) {
    nsave[i] = g->nodes[i]->loc;
    g->nodes[i]->loc = r->node_pos[g->nodes[i]->id];
  }
  bool ok = graph_verify(g, r->d, all_shapes_known(g) ? VERIFY_SHAPES : VERIFY_STRUCTURE);
  for (int i = 0; i < g->nvalues; i++) g->values[i]->loc = vsave[i];
  for (int i = 0; i < g->nnodes; i++) g->nodes[i]->loc = nsave[i];
  return ok;
}

Graph *graph_read(Arena *a, Diag *d, const char *file, const char *text, size_t len) {
  Reader r = {0};
  r.a = a;
  r.d = d;
  r.sc = scanner_new(diag_add_source(d, file, text, len), text, len);
  r.err_line = -1;
  next(&r);
  parse_file(&r);
  if (r.errors || !r.g) return NULL;
  return verify_here(&r) ? r.g : NULL;
}
