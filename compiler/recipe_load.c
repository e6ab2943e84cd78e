/* Reading a recipe: YAML text (libyaml's event parser) becomes a small tree
 * of scalars, mappings and sequences with source locations; the checker then
 * walks that tree key by key, validating each value into the Recipe. A
 * command-line override `a.b=value` is turned into the same kind of tree
 * ({a: {b: value}}) and goes through the same checker, so the file and the
 * CLI accept exactly the same things. Errors go to a Diag (file) or to one
 * message buffer (CLI). */
#include "recipe.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

/* --- the YAML tree --- */

typedef enum { Y_SCALAR, Y_MAPPING, Y_SEQUENCE, Y_BAD } YKind;

typedef struct YNode YNode;
typedef struct YPair {
  YNode *key, *value;
} YPair;

struct YNode {
  YKind kind; /* Y_BAD: already reported (an alias, a tagged node); skipped */
  SrcLoc loc;
  const char *text; /* scalar */
  bool plain;       /* scalar written without quotes: may be a number/bool/null */
  YPair *pairs;     /* mapping */
  YNode **items;    /* sequence */
  int n, cap;
  YNode *pending_key; /* mapping under construction: key waiting for its value */
};

/* Where errors go, and what the checker needs. */
typedef struct Check {
  Arena *a;
  Diag *d;     /* file mode */
  char *err;   /* CLI mode: the first error only */
  size_t errlen;
  int errors;
} Check;

static void verror(Check *c, SrcLoc loc, const char *fmt, va_list ap) {
  c->errors++;
  if (c->d) {
    char *msg = arena_vprintf(c->a, fmt, ap);
    diag_error(c->d, loc, "%s", msg);
  } else if (c->errors == 1 && c->err && c->errlen) {
    vsnprintf(c->err, c->errlen, fmt, ap);
  }
}

__attribute__((format(printf, 3, 4))) static void error_at(Check *c, SrcLoc loc,
                                                            const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  verror(c, loc, fmt, ap);
  va_end(ap);
}

/* Stop early once the diagnostics are capped (a megabyte of garbage keys
 * must not cost quadratic time), but only after one error past the cap, so
 * diag prints its "too many errors" line. */
static bool give_up(const Check *c) {
  /* c->errors > 0: a Diag capped by an earlier phase must not skip the checks. */
  return c->d && c->errors > 0 && diag_error_count(c->d) > DIAG_MAX_ERRORS;
}

/* --- reading YAML events into the tree --- */

enum { MAX_DEPTH = 32 };

typedef struct Reader {
  Check *c;
  const char *file; /* interned by diag; NULL in CLI mode */
  const char *text;
  size_t len;
  size_t *line_start; /* byte offset of each line (split at '\n', as diag) */
  int nlines;
  YNode *stack[MAX_DEPTH];
  int depth;
  YNode *root;
  bool failed; /* a syntax error: the tree is partial */
} Reader;

static void index_lines(Reader *rd) {
  int n = 1;
  for (size_t i = 0; i < rd->len; i++)
    if (rd->text[i] == '\n') n++;
  rd->line_start = arena_alloc(rd->c->a, (size_t)n * sizeof(size_t));
  rd->nlines = 0;
  /* libyaml skips a UTF-8 byte order mark before counting columns. */
  bool bom = rd->len >= 3 && memcmp(rd->text, "\xEF\xBB\xBF", 3) == 0;
  rd->line_start[rd->nlines++] = bom ? 3 : 0;
  for (size_t i = 0; i < rd->len; i++)
    if (rd->text[i] == '\n') rd->line_start[rd->nlines++] = i + 1;
}

/* libyaml counts columns in characters; diag's caret counts bytes. */
static SrcLoc mark_loc(const Reader *rd, yaml_mark_t m) {
  SrcLoc loc = {rd->file, (int)m.line + 1, (int)m.column + 1};
  if (!rd->file || m.line >= (size_t)rd->nlines) return loc;
  size_t pos = rd->line_start[m.line];
  for (size_t ch = 0; ch < m.column && pos < rd->len && rd->text[pos] != '\n'; ch++) {
    pos++;
    while (pos < rd->len && ((unsigned char)rd->text[pos] & 0xC0) == 0x80) pos++;
  }
  loc.col = (int)(pos - rd->line_start[m.line]) + 1;
  return loc;
}

static SrcLoc offset_loc(const Reader *rd, size_t off) {
  SrcLoc loc = {rd->file, 1, 1};
  if (!rd->file) return loc;
  int lo = 0, hi = rd->nlines - 1;
  while (lo < hi) { /* last line starting at or before off */
    int mid = (lo + hi + 1) / 2;
    if (rd->line_start[mid] <= off) lo = mid;
    else hi = mid - 1;
  }
  loc.line = lo + 1;
  loc.col = off >= rd->line_start[lo] ? (int)(off - rd->line_start[lo]) + 1 : 1;
  return loc;
}

static void syntax_error(Reader *rd, yaml_parser_t *p) {
  rd->failed = true;
  const char *problem = p->problem ? p->problem : "cannot parse the input";
  if (p->error == YAML_READER_ERROR) {
    SrcLoc loc = offset_loc(rd, p->problem_offset);
    if (p->problem_value != -1)
      error_at(rd->c, loc, "invalid YAML: %s (byte 0x%02X)", problem,
               (unsigned)p->problem_value & 0xFFu);
    else
      error_at(rd->c, loc, "invalid YAML: %s", problem);
    return;
  }
  SrcLoc loc = mark_loc(rd, p->problem_mark);
  size_t at = 0;
  if (rd->file && loc.line - 1 < rd->nlines)
    at = rd->line_start[loc.line - 1] + (size_t)loc.col - 1;
  if (rd->file && at < rd->len && rd->text[at] == '\t') {
    error_at(rd->c, loc, "invalid YAML: a tab cannot indent YAML; use spaces");
    return;
  }
  int context_line = (int)p->context_mark.line + 1;
  if (p->context && context_line != loc.line)
    error_at(rd->c, loc, "invalid YAML: %s (%s that starts on line %d)", problem, p->context,
             context_line);
  else if (p->context)
    error_at(rd->c, loc, "invalid YAML: %s (%s)", problem, p->context);
  else
    error_at(rd->c, loc, "invalid YAML: %s", problem);
}

static YNode *new_node(Reader *rd, YKind kind, yaml_mark_t m) {
  YNode *n = arena_alloc(rd->c->a, sizeof(YNode));
  n->kind = kind;
  n->loc = mark_loc(rd, m);
  return n;
}

static void add_pair(Arena *a, YNode *m, YNode *key, YNode *value) {
  if (m->n == m->cap) {
    int cap = m->cap ? 2 * m->cap : 8;
    m->pairs = arena_grow(a, m->pairs, (size_t)m->cap * sizeof(YPair), (size_t)cap * sizeof(YPair));
    m->cap = cap;
  }
  m->pairs[m->n++] = (YPair){key, value};
}

static void add_item(Arena *a, YNode *s, YNode *item) {
  if (s->n == s->cap) {
    int cap = s->cap ? 2 * s->cap : 8;
    s->items = arena_grow(a, s->items, (size_t)s->cap * sizeof(YNode *), (size_t)cap * sizeof(YNode *));
    s->cap = cap;
  }
  s->items[s->n++] = item;
}

/* A finished node goes into the open container (or becomes the root). */
static void attach(Reader *rd, YNode *n) {
  if (rd->depth == 0) {
    rd->root = n;
    return;
  }
  YNode *top = rd->stack[rd->depth - 1];
  if (top->kind == Y_SEQUENCE) {
    add_item(rd->c->a, top, n);
  } else if (!top->pending_key) {
    if (n->kind != Y_SCALAR && n->kind != Y_BAD) {
      error_at(rd->c, n->loc, "a mapping key must be a plain name, not a %s",
               n->kind == Y_MAPPING ? "mapping" : "sequence");
      n->kind = Y_BAD;
    }
    top->pending_key = n;
  } else {
    add_pair(rd->c->a, top, top->pending_key, n);
    top->pending_key = NULL;
  }
}

/* Anchors, aliases and tags make a recipe harder to read and are never
 * needed for these few keys: reject them plainly. Returns false if `n` is
 * now Y_BAD. */
static bool plain_node(Reader *rd, YNode *n, const yaml_char_t *anchor,
                       const yaml_char_t *tag, bool implicit) {
  if (anchor) {
    error_at(rd->c, n->loc, "YAML anchors ('&%s') are not supported in a recipe",
             (const char *)anchor);
    n->kind = Y_BAD;
  } else if (tag && !implicit) {
    error_at(rd->c, n->loc, "YAML tags ('%s') are not supported in a recipe",
             (const char *)tag);
    n->kind = Y_BAD;
  }
  return n->kind != Y_BAD;
}

static void open_node(Reader *rd, YNode *n) {
  if (rd->depth == MAX_DEPTH) {
    error_at(rd->c, n->loc, "YAML nested deeper than %d levels", MAX_DEPTH);
    rd->failed = true;
    return;
  }
  rd->stack[rd->depth++] = n;
}

static void close_node(Reader *rd) {
  YNode *n = rd->stack[--rd->depth];
  if (n->pending_key) { /* cannot happen with a well-formed event stream */
    add_pair(rd->c->a, n, n->pending_key, NULL);
    n->pending_key = NULL;
  }
  attach(rd, n);
}

/* Handles one event; returns false at the end of input or on an error that
 * stops reading. */
static bool on_event(Reader *rd, yaml_event_t *e, int *documents) {
  YNode *n;
  switch (e->type) {
  case YAML_STREAM_END_EVENT:
    return false;
  case YAML_DOCUMENT_START_EVENT:
    if (++*documents > 1) {
      error_at(rd->c, mark_loc(rd, e->start_mark),
               "a recipe is one YAML document; remove the second '---' and what follows");
      return false;
    }
    return true;
  case YAML_ALIAS_EVENT:
    n = new_node(rd, Y_BAD, e->start_mark);
    error_at(rd->c, n->loc, "YAML aliases ('*%s') are not supported in a recipe",
             (const char *)e->data.alias.anchor);
    attach(rd, n);
    return true;
  case YAML_SCALAR_EVENT:
    n = new_node(rd, Y_SCALAR, e->start_mark);
    n->text = arena_strndup(rd->c->a, (const char *)e->data.scalar.value, e->data.scalar.length);
    n->plain = e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    plain_node(rd, n, e->data.scalar.anchor, e->data.scalar.tag,
               e->data.scalar.plain_implicit || e->data.scalar.quoted_implicit);
    attach(rd, n);
    return true;
  case YAML_SEQUENCE_START_EVENT:
    n = new_node(rd, Y_SEQUENCE, e->start_mark);
    plain_node(rd, n, e->data.sequence_start.anchor, e->data.sequence_start.tag,
               e->data.sequence_start.implicit);
    open_node(rd, n);
    return !rd->failed;
  case YAML_MAPPING_START_EVENT:
    n = new_node(rd, Y_MAPPING, e->start_mark);
    plain_node(rd, n, e->data.mapping_start.anchor, e->data.mapping_start.tag,
               e->data.mapping_start.implicit);
    open_node(rd, n);
    return !rd->failed;
  case YAML_SEQUENCE_END_EVENT:
  case YAML_MAPPING_END_EVENT:
    close_node(rd);
    return true;
  default:
    return true;
  }
}

/* Parses rd->text into rd->root (NULL for an empty stream). */
static void read_yaml(Reader *rd) {
  yaml_parser_t p;
  if (!yaml_parser_initialize(&p)) die_oom();
  yaml_parser_set_input_string(&p, (const unsigned char *)rd->text, rd->len);
  int documents = 0;
  for (;;) {
    yaml_event_t e;
    if (!yaml_parser_parse(&p, &e)) {
      if (p.error == YAML_MEMORY_ERROR) die_oom();
      syntax_error(rd, &p);
      break;
    }
    bool more = on_event(rd, &e, &documents);
    yaml_event_delete(&e);
    if (!more) break;
  }
  yaml_parser_delete(&p);
}

/* --- scalars --- */

static bool is_null(const YNode *v) {
  if (!v) return true;
  if (v->kind != Y_SCALAR || !v->plain) return false;
  const char *s = v->text;
  return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
         !strcmp(s, "NULL");
}

/* A value as it appears in a message: short and printable. */
static const char *shown(Check *c, const char *s) {
  enum { MAX = 40 };
  size_t n = strlen(s);
  char *out = arena_alloc(c->a, MAX + 4);
  size_t k = 0;
  for (size_t i = 0; i < n && i < MAX; i++) {
    unsigned char ch = (unsigned char)s[i];
    out[k++] = ch < 32 || ch == 127 ? '?' : (char)ch;
  }
  if (n > MAX) memcpy(out + k, "...", 4);
  return out;
}

/* "a mapping", "a list", "string 'x'", "'x'": what the user wrote. */
static const char *what(Check *c, const YNode *v) {
  if (is_null(v)) return "nothing";
  if (v->kind == Y_MAPPING) return "a mapping";
  if (v->kind == Y_SEQUENCE) return "a list";
  if (!v->plain) return arena_printf(c->a, "string \"%s\"", shown(c, v->text));
  return arena_printf(c->a, "'%s'", shown(c, v->text));
}

/* YAML 1.2 core-schema decimal integer. */
static bool int_syntax(const char *s) {
  if (*s == '+' || *s == '-') s++;
  if (!*s) return false;
  for (; *s; s++)
    if (*s < '0' || *s > '9') return false;
  return true;
}

/* YAML 1.2 core-schema float (finite form), integers included. */
static bool float_syntax(const char *s) {
  if (*s == '+' || *s == '-') s++;
  int digits = 0;
  while (*s >= '0' && *s <= '9') s++, digits++;
  if (*s == '.') {
    s++;
    while (*s >= '0' && *s <= '9') s++, digits++;
  }
  if (!digits) return false;
  if (*s == 'e' || *s == 'E') {
    s++;
    if (*s == '+' || *s == '-') s++;
    if (*s < '0' || *s > '9') return false;
    while (*s >= '0' && *s <= '9') s++;
  }
  return *s == 0;
}

/* .inf, .nan and the spellings people try (nan, inf, Infinity). */
static bool nonfinite_syntax(const char *s) {
  if (*s == '+' || *s == '-') s++;
  if (*s == '.') s++;
  static const char *const words[] = {"inf", "nan", "infinity"};
  for (int i = 0; i < 3; i++)
    if (strcasecmp(s, words[i]) == 0) return true;
  return false;
}

/* Common checks of a scalar value; false (reported) if v is not one. */
static bool want_scalar(Check *c, const YNode *v, SrcLoc at, const char *path,
                        const char *kind) {
  if (v && v->kind == Y_BAD) return false;
  if (is_null(v)) {
    error_at(c, v ? v->loc : at, "'%s' needs a value (%s)", path, kind);
    return false;
  }
  if (v->kind != Y_SCALAR) {
    error_at(c, v->loc, "'%s' must be %s, got %s", path, kind, what(c, v));
    return false;
  }
  return true;
}

static bool get_int(Check *c, const YNode *v, SrcLoc at, const char *path, long long lo,
                    long long hi, int *out) {
  if (!want_scalar(c, v, at, path, "an integer")) return false;
  if (!v->plain || !int_syntax(v->text)) {
    error_at(c, v->loc, "'%s' must be an integer, got %s", path, what(c, v));
    return false;
  }
  errno = 0;
  long long x = strtoll(v->text, NULL, 10);
  if (errno == ERANGE || x < lo || x > hi) {
    error_at(c, v->loc, "'%s' must be between %lld and %lld, got %s", path, lo, hi,
             shown(c, v->text));
    return false;
  }
  *out = (int)x;
  return true;
}

static bool get_u64(Check *c, const YNode *v, SrcLoc at, const char *path, uint64_t *out) {
  if (!want_scalar(c, v, at, path, "an integer")) return false;
  if (!v->plain || !int_syntax(v->text)) {
    error_at(c, v->loc, "'%s' must be an integer, got %s", path, what(c, v));
    return false;
  }
  errno = 0;
  const char *s = v->text[0] == '+' ? v->text + 1 : v->text;
  unsigned long long x = strtoull(s, NULL, 10);
  if (s[0] == '-' || errno == ERANGE || x > UINT64_MAX) {
    error_at(c, v->loc, "'%s' must be between 0 and %llu, got %s", path,
             (unsigned long long)UINT64_MAX, shown(c, v->text));
    return false;
  }
  *out = (uint64_t)x;
  return true;
}

/* An interval for a float key. hi = INFINITY means unbounded above. */
typedef struct Range {
  double lo, hi;
  bool lo_open, hi_open;
} Range;

static const Range POSITIVE = {0, INFINITY, true, true};
static const Range NONNEGATIVE = {0, INFINITY, false, true};
static const Range UNIT_OPEN_HI = {0, 1, false, true};   /* [0, 1) */
static const Range UNIT_OPEN_LO = {0, 1, true, false};   /* (0, 1] */
static const Range UNIT = {0, 1, false, false};          /* [0, 1] */

static bool in_range(double x, Range r) {
  if (r.lo_open ? !(x > r.lo) : !(x >= r.lo)) return false;
  if (isinf(r.hi)) return true;
  return r.hi_open ? x < r.hi : x <= r.hi;
}

static const char *range_str(Check *c, Range r) {
  if (isinf(r.hi)) return arena_printf(c->a, "%s %g", r.lo_open ? ">" : ">=", r.lo);
  return arena_printf(c->a, "in %c%g, %g%c", r.lo_open ? '(' : '[', r.lo, r.hi,
                      r.hi_open ? ')' : ']');
}

static bool get_double(Check *c, const YNode *v, SrcLoc at, const char *path, Range r,
                       double *out) {
  if (!want_scalar(c, v, at, path, "a number")) return false;
  if (v->plain && nonfinite_syntax(v->text)) {
    error_at(c, v->loc, "'%s' must be a finite number, got %s", path, shown(c, v->text));
    return false;
  }
  if (!v->plain || !float_syntax(v->text)) {
    error_at(c, v->loc, "'%s' must be a number, got %s", path, what(c, v));
    return false;
  }
  errno = 0;
  double x = strtod(v->text, NULL);
  if (errno == ERANGE && isinf(x)) {
    error_at(c, v->loc, "'%s' is too large to be a number: %s", path, shown(c, v->text));
    return false;
  }
  if (!in_range(x, r)) {
    error_at(c, v->loc, "'%s' must be %s, got %s", path, range_str(c, r), shown(c, v->text));
    return false;
  }
  *out = x;
  return true;
}

static bool get_bool(Check *c, const YNode *v, SrcLoc at, const char *path, bool *out) {
  if (!want_scalar(c, v, at, path, "true or false")) return false;
  const char *s = v->text;
  if (v->plain && (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))) {
    *out = true;
    return true;
  }
  if (v->plain && (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))) {
    *out = false;
    return true;
  }
  error_at(c, v->loc, "'%s' must be true or false, got %s", path, what(c, v));
  return false;
}

static const char *join(Check *c, const char *const *names, int n) {
  const char *s = "";
  for (int i = 0; i < n; i++) s = arena_printf(c->a, "%s%s%s", s, i ? ", " : "", names[i]);
  return s;
}

/* A name from a fixed list; quoted or plain. */
static bool get_enum(Check *c, const YNode *v, SrcLoc at, const char *path,
                     const char *const *names, int n, int *out) {
  if (!want_scalar(c, v, at, path, arena_printf(c->a, "one of %s", join(c, names, n))))
    return false;
  for (int i = 0; i < n; i++)
    if (strcmp(v->text, names[i]) == 0) {
      *out = i;
      return true;
    }
  error_at(c, v->loc, "'%s' must be one of %s; got %s", path, join(c, names, n), what(c, v));
  return false;
}

/* --- keys --- */

/* Optimal string alignment distance: a swap of two letters costs 1. */
static int distance(const char *a, const char *b) {
  enum { N = 32 };
  size_t la = strlen(a), lb = strlen(b);
  if (la >= N || lb >= N) return 99;
  int d[N][N];
  for (size_t i = 0; i <= la; i++) d[i][0] = (int)i;
  for (size_t j = 0; j <= lb; j++) d[0][j] = (int)j;
  for (size_t i = 1; i <= la; i++)
    for (size_t j = 1; j <= lb; j++) {
      int cost = a[i - 1] != b[j - 1];
      int best = d[i - 1][j - 1] + cost;
      if (d[i - 1][j] + 1 < best) best = d[i - 1][j] + 1;
      if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
          d[i - 2][j - 2] + 1 < best)
        best = d[i - 2][j - 2] + 1;
      d[i][j] = best;
    }
  return d[la][lb];
}

/* Names people bring from other frameworks. */
static const char *const aliases[][2] = {
    {"learning_rate", "lr"},     {"batch_size", "batch"},   {"num_epochs", "epochs"},
    {"schedule", "lr_schedule"}, {"scheduler", "lr_schedule"}, {"lr_scheduler", "lr_schedule"},
    {"dtype", "precision"},      {"quantization", "precision"}, {"beta", "betas"},
    {"epsilon", "eps"},          {"decay", "weight_decay"},  {"step_size", "step_epochs"},
};

static const char *suggest(const char *key, const char *const *keys) {
  for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
    if (strcmp(key, aliases[i][0]) == 0)
      for (int k = 0; keys[k]; k++)
        if (strcmp(keys[k], aliases[i][1]) == 0) return keys[k];
  const char *best = NULL;
  int best_d = 1 + (int)strlen(key) / 4;
  if (best_d > 3) best_d = 3;
  for (int k = 0; keys[k]; k++) {
    int dist = distance(key, keys[k]);
    if (dist <= best_d) {
      best = keys[k];
      best_d = dist - 1; /* strictly better from now on */
    }
  }
  return best;
}

/* A mapping value: false (reported, unless empty or already reported) if v
 * is not one. An empty value (`lac:`) counts as an empty mapping. */
static bool want_mapping(Check *c, const YNode *v, const char *path) {
  if (is_null(v) || v->kind == Y_BAD) return false;
  if (v->kind != Y_MAPPING) {
    error_at(c, v->loc, "'%s' must be a mapping of keys to values, got %s", path, what(c, v));
    return false;
  }
  return true;
}

enum { MAX_KEYS = 16 };

static int count_keys(const char *const *keys) {
  int n = 0;
  while (keys[n]) n++;
  return n;
}

static void unseen(int *seen) {
  for (int i = 0; i < MAX_KEYS; i++) seen[i] = -1;
}

/* The key of pair i of mapping m, if it is one of `keys` (NULL-terminated)
 * and not a repeat; else reports and returns NULL. `seen` holds, per key, the
 * pair that first used it (-1 before). */
static const char *known_key(Check *c, const YNode *m, int i, const char *const *keys,
                             int *seen, const char *path) {
  const YNode *k = m->pairs[i].key;
  if (k->kind == Y_BAD) return NULL;
  for (int j = 0; keys[j]; j++) {
    if (strcmp(k->text, keys[j]) != 0) continue;
    if (seen[j] >= 0) {
      error_at(c, k->loc, "duplicate key '%s'", keys[j]);
      if (c->d) diag_note(c->d, m->pairs[seen[j]].key->loc, "'%s' first given here", keys[j]);
      return NULL;
    }
    seen[j] = i;
    return keys[j];
  }
  const char *near = suggest(k->text, keys);
  const char *in = path ? arena_printf(c->a, " in '%s'", path) : "";
  if (near)
    error_at(c, k->loc, "unknown key '%s'%s; did you mean '%s'?", shown(c, k->text), in, near);
  else
    error_at(c, k->loc, "unknown key '%s'%s; expected one of %s", shown(c, k->text), in,
             join(c, keys, count_keys(keys)));
  return NULL;
}

/* The dotted path of a key, for messages ("optimizer.lr"). */
static const char *sub(Check *c, const char *path, const char *key) {
  return path ? arena_printf(c->a, "%s.%s", path, key) : key;
}

static void mark_set(unsigned *set, unsigned bit) {
  if (set) *set |= bit;
}

/* --- sections: rounding, lac, prc (global or per layer), eoq --- */

static const char *const rounding_keys[] = {"forward", "backward", "weight_update", NULL};

static void load_rounding(Check *c, const YNode *m, const char *path, Rounding *dst,
                          unsigned *set) {
  if (!want_mapping(c, m, path)) return;
  int seen[MAX_KEYS];
  unseen(seen);
  for (int i = 0; i < m->n && !give_up(c); i++) {
    const char *k = known_key(c, m, i, rounding_keys, seen, path);
    int x;
    if (!k || !get_enum(c, m->pairs[i].value, m->pairs[i].key->loc, sub(c, path, k),
                        round_mode_names, ROUND_COUNT, &x))
      continue;
    if (!strcmp(k, "forward")) {
      dst->forward = (RoundMode)x;
      mark_set(set, LAYER_ROUND_FORWARD);
    } else if (!strcmp(k, "backward")) {
      dst->backward = (RoundMode)x;
      mark_set(set, LAYER_ROUND_BACKWARD);
    } else {
      dst->weight_update = (RoundMode)x;
      mark_set(set, LAYER_ROUND_WEIGHT_UPDATE);
    }
  }
}

static const char *const lac_keys[] = {"granularity", "lambda", "init_std", "clip", NULL};

static void load_lac(Check *c, const YNode *m, const char *path, LacParams *dst, unsigned *set) {
  if (!want_mapping(c, m, path)) return;
  int seen[MAX_KEYS];
  unseen(seen);
  for (int i = 0; i < m->n && !give_up(c); i++) {
    const char *k = known_key(c, m, i, lac_keys, seen, path);
    if (!k) continue;
    const YNode *v = m->pairs[i].value;
    SrcLoc at = m->pairs[i].key->loc;
    const char *p = sub(c, path, k);
    int g;
    if (!strcmp(k, "granularity")) {
      if (get_enum(c, v, at, p, lac_granularity_names, LAC_GRANULARITY_COUNT, &g)) {
        dst->granularity = (LacGranularity)g;
        mark_set(set, LAYER_LAC_GRANULARITY);
      }
    } else if (!strcmp(k, "lambda")) {
      if (get_double(c, v, at, p, NONNEGATIVE, &dst->lambda)) mark_set(set, LAYER_LAC_LAMBDA);
    } else if (!strcmp(k, "init_std")) {
      if (get_double(c, v, at, p, NONNEGATIVE, &dst->init_std))
        mark_set(set, LAYER_LAC_INIT_STD);
    } else {
      if (get_bool(c, v, at, p, &dst->clip)) mark_set(set, LAYER_LAC_CLIP);
    }
  }
}

/* prc.tensors: a list of distinct tensor names; [] turns PRC off. */
static bool get_tensors(Check *c, const YNode *v, SrcLoc at, const char *path, unsigned *out) {
  if (v && v->kind == Y_BAD) return false;
  if (is_null(v) || v->kind != Y_SEQUENCE) {
    error_at(c, v ? v->loc : at, "'%s' must be a list such as [error, activation], got %s",
             path, what(c, v));
    return false;
  }
  unsigned set = 0;
  bool ok = true;
  for (int i = 0; i < v->n && !give_up(c); i++) {
    int t;
    const char *p = arena_printf(c->a, "%s[%d]", path, i);
    if (!get_enum(c, v->items[i], v->loc, p, prc_tensor_names, PRC_TENSOR_KINDS, &t)) {
      ok = false;
    } else if (set & (1u << t)) {
      error_at(c, v->items[i]->loc, "'%s' lists '%s' twice", path, prc_tensor_names[t]);
      ok = false;
    } else {
      set |= 1u << t;
    }
  }
  if (ok) *out = set;
  return ok;
}

static const char *const prc_keys[] = {"method", "p", "z", "tensors", NULL};

static void load_prc(Check *c, const YNode *m, const char *path, PrcParams *dst, unsigned *set) {
  if (!want_mapping(c, m, path)) return;
  int seen[MAX_KEYS];
  unseen(seen);
  for (int i = 0; i < m->n && !give_up(c); i++) {
    const char *k = known_key(c, m, i, prc_keys, seen, path);
    if (!k) continue;
    const YNode *v = m->pairs[i].value;
    SrcLoc at = m->pairs[i].key->loc;
    const char *p = sub(c, path, k);
    int x;
    if (!strcmp(k, "method")) {
      if (get_enum(c, v, at, p, prc_method_names, PRC_METHOD_COUNT, &x)) {
        dst->method = (PrcMethod)x;
        mark_set(set, LAYER_PRC_METHOD);
      }
    } else if (!strcmp(k, "p")) {
      if (get_double(c, v, at, p, UNIT_OPEN_LO, &dst->p)) mark_set(set, LAYER_PRC_P);
    } else if (!strcmp(k, "z")) {
      if (get_double(c, v, at, p, POSITIVE, &dst->z)) mark_set(set, LAYER_PRC_Z);
    } else {
      if (get_tensors(c, v, at, p, &dst->tensors)) mark_set(set, LAYER_PRC_TENSORS);
    }
  }
}

static const char *const input_keys[] = {"mean", "std", NULL};

static void load_input(Check *c, const YNode *m, InputNormalize *dst) {
  if (!want_mapping(c, m, "input")) return;
  int seen[MAX_KEYS];
  unseen(seen);
  for (int i = 0; i < m->n && !give_up(c); i++) {
    const char *k = known_key(c, m, i, input_keys, seen, "input");
    if (!k) continue;
    bool mean = !strcmp(k, "mean");
    get_double(c, m->pairs[i].value, m->pairs[i].key->loc, sub(c, "input", k),
               mean ? UNIT : POSITIVE, mean ? &dst->mean : &dst->std);
  }
}

static const char *const eoq_keys[] = {"fixup", "pow2_scales", "integer_only", NULL};

static void load_eoq(Check *c, const YNode *m, EoqParams *dst) {
  if (!want_mapping(c, m, "eoq")) return;
  int seen[MAX_KEYS];
  unseen(seen);
  for (int i = 0; i < m->n && !give_up(c); i++) {
    const char *k = known_key(c, m, i, eoq_keys, seen, "eoq");
    if (!k) continue;
    bool *field = !strcmp(k, "fixup")         ? &dst->fixup
                  : !strcmp(k, "pow2_scales") ? &dst->pow2_scales
                                              : &dst->integer_only;
    get_bool(c, m->pairs[i].value, m->pairs[i].key->loc, sub(c, "eoq", k), field);
  }
}

/* --- optimizer and schedule: keys depend on the type --- */

/* The index of the first pair whose key is `name`, or -1. */
static int find_key(const YNode *m, const char *name) {
  for (int i = 0; i < m->n; i++)
    if (m->pairs[i].key->kind == Y_SCALAR && !strcmp(m->pairs[i].key->text, name)) return i;
  return -1;
}

static const char *const optimizer_keys[] = {"type",     "lr",    "weight_decay", "momentum",
                                             "nesterov", "betas", "eps",          NULL};

/* The optimizer type a key belongs to, or -1 for keys every type has. */
static int optimizer_key_type(const char *k) {
  if (!strcmp(k, "momentum") || !strcmp(k, "nesterov")) return OPTIMIZER_SGD;
  if (!strcmp(k, "betas") || !strcmp(k, "eps")) return OPTIMIZER_ADAM;
  return -1;
}

static void load_betas(Check *c, const YNode *v, SrcLoc at, Optimizer *o) {
  if (v && v->kind == Y_BAD) return;
  if (is_null(v) || v->kind != Y_SEQUENCE || v->n != 2) {
    const char *got = v && v->kind == Y_SEQUENCE
                          ? arena_printf(c->a, "a list of %d", v->n)
                          : what(c, v);
    error_at(c, v ? v->loc : at, "'optimizer.betas' must be a list of two numbers "
             "[beta1, beta2], got %s", got);
    return;
  }
  double b1 = o->beta1, b2 = o->beta2;
  bool ok1 = get_double(c, v->items[0], v->loc, "optimizer.betas[0]", UNIT_OPEN_HI, &b1);
  bool ok2 = get_double(c, v->items[1], v->loc, "optimizer.betas[1]", UNIT_OPEN_HI, &b2);
  if (ok1 && ok2) {
    o->beta1 = b1;
    o->beta2 = b2;
  }
}

/* `type` is read first whatever its position: it decides which keys are
 * valid, and a new type starts from that type's defaults. */
static void load_optimizer(Check *c, const YNode *m, Optimizer *o) {
  if (!want_mapping(c, m, "optimizer")) return;
  int seen[MAX_KEYS];
  unseen(seen);
  int ti = find_key(m, "type");
  bool typed = true; /* false: the values cannot be judged, only the keys */
  if (ti >= 0) {
    int t;
    typed = get_enum(c, m->pairs[ti].value, m->pairs[ti].key->loc, "optimizer.type",
                     optimizer_names, OPTIMIZER_COUNT, &t);
    if (typed && (OptimizerType)t != o->type) *o = optimizer_defaults((OptimizerType)t);
  }
  for (int i = 0; i < m->n && !give_up(c); i++) {
    const char *k = known_key(c, m, i, optimizer_keys, seen, "optimizer");
    if (!k || i == ti || !typed) continue;
    const YNode *v = m->pairs[i].value;
    SrcLoc at = m->pairs[i].key->loc;
    const char *p = sub(c, "optimizer", k);
    int owner = optimizer_key_type(k);
    if (owner >= 0 && owner != (int)o->type) {
      error_at(c, at, "'%s' is a setting of the %s optimizer, not of %s", p,
               optimizer_names[owner], optimizer_names[o->type]);
      continue;
    }
    if (!strcmp(k, "lr")) get_double(c, v, at, p, POSITIVE, &o->lr);
    else if (!strcmp(k, "weight_decay")) get_double(c, v, at, p, NONNEGATIVE, &o->weight_decay);
    else if (!strcmp(k, "momentum")) get_double(c, v, at, p, UNIT_OPEN_HI, &o->momentum);
    else if (!strcmp(k, "nesterov")) get_bool(c, v, at, p, &o->nesterov);
    else if (!strcmp(k, "betas")) load_betas(c, v, at, o);
    else get_double(c, v, at, p, POSITIVE, &o->eps);
  }
}

static const char *const schedule_keys[] = {"type",   "step_epochs",   "gamma",
                                            "min_lr", "warmup_epochs", NULL};

/* Whether a schedule key applies to type t; `types` names those it does. */
static bool schedule_key_fits(const char *k, ScheduleType t, const char **types) {
  if (!strcmp(k, "step_epochs")) {
    *types = "step";
    return t == SCHEDULE_STEP;
  }
  if (!strcmp(k, "gamma")) {
    *types = "step and exponential";
    return t == SCHEDULE_STEP || t == SCHEDULE_EXPONENTIAL;
  }
  if (!strcmp(k, "min_lr")) {
    *types = "cosine";
    return t == SCHEDULE_COSINE;
  }
  return true;
}

static void load_schedule(Check *c, const YNode *m, LrSchedule *s) {
  if (!want_mapping(c, m, "lr_schedule")) return;
  int seen[MAX_KEYS];
  unseen(seen);
  int ti = find_key(m, "type");
  bool typed = true;
  if (ti >= 0) {
    int t;
    typed = get_enum(c, m->pairs[ti].value, m->pairs[ti].key->loc, "lr_schedule.type",
                     schedule_names, SCHEDULE_COUNT, &t);
    if (typed && (ScheduleType)t != s->type) {
      int warmup = s->warmup_epochs; /* shared by every type: keep it */
      *s = schedule_defaults((ScheduleType)t);
      s->warmup_epochs = warmup;
    }
  }
  for (int i = 0; i < m->n && !give_up(c); i++) {
    const char *k = known_key(c, m, i, schedule_keys, seen, "lr_schedule");
    if (!k || i == ti || !typed) continue;
    const YNode *v = m->pairs[i].value;
    SrcLoc at = m->pairs[i].key->loc;
    const char *p = sub(c, "lr_schedule", k);
    const char *types = "";
    if (!schedule_key_fits(k, s->type, &types)) {
      error_at(c, at, "'%s' applies to schedule type %s, not %s", p, types,
               schedule_names[s->type]);
      continue;
    }
    if (!strcmp(k, "step_epochs")) get_int(c, v, at, p, 1, RECIPE_MAX_EPOCHS, &s->step_epochs);
    else if (!strcmp(k, "gamma")) get_double(c, v, at, p, UNIT_OPEN_LO, &s->gamma);
    else if (!strcmp(k, "min_lr")) get_double(c, v, at, p, NONNEGATIVE, &s->min_lr);
    else get_int(c, v, at, p, 0, RECIPE_MAX_EPOCHS, &s->warmup_epochs);
  }
}

/* --- per-layer overrides --- */

static int layer_capacity(int n) {
  int cap = 8;
  while (cap < n) cap *= 2;
  return cap;
}

/* The override entry for `name`, appended if new. Arrays are grown by
 * doubling, so their capacity is always layer_capacity(nlayers). */
static RecipeLayer *layer_entry(Check *c, Recipe *r, const char *name, SrcLoc loc) {
  for (int i = 0; i < r->nlayers; i++)
    if (!strcmp(r->layers[i].name, name)) return &r->layers[i];
  int cap = layer_capacity(r->nlayers);
  if (!r->layers || r->nlayers == cap) {
    int ncap = r->layers ? 2 * cap : cap;
    r->layers = arena_grow(c->a, r->layers, (size_t)r->nlayers * sizeof(RecipeLayer),
                           (size_t)ncap * sizeof(RecipeLayer));
  }
  RecipeLayer *l = &r->layers[r->nlayers++];
  /* The location outlives the Diag that interned the file name. */
  if (loc.file) loc.file = arena_strdup(c->a, loc.file);
  *l = (RecipeLayer){.name = arena_strdup(c->a, name), .loc = loc};
  return l;
}

static const char *const layer_keys[] = {"precision", "rounding", "lac", "prc", NULL};

static void load_layer(Check *c, const YNode *m, const char *path, RecipeLayer *l) {
  if (!want_mapping(c, m, path)) return;
  int seen[MAX_KEYS];
  unseen(seen);
  for (int i = 0; i < m->n && !give_up(c); i++) {
    const char *k = known_key(c, m, i, layer_keys, seen, path);
    if (!k) continue;
    const YNode *v = m->pairs[i].value;
    const char *p = sub(c, path, k);
    int x;
    if (!strcmp(k, "precision")) {
      if (get_enum(c, v, m->pairs[i].key->loc, p, precision_names, PRECISION_COUNT, &x)) {
        l->precision = (Precision)x;
        l->set |= LAYER_PRECISION;
      }
    } else if (!strcmp(k, "rounding")) {
      load_rounding(c, v, p, &l->rounding, &l->set);
    } else if (!strcmp(k, "lac")) {
      load_lac(c, v, p, &l->lac, &l->set);
    } else {
      load_prc(c, v, p, &l->prc, &l->set);
    }
  }
}

static bool repeated_layer(Check *c, const YNode *m, int i) {
  const YNode *k = m->pairs[i].key;
  for (int j = 0; j < i; j++) {
    const YNode *first = m->pairs[j].key;
    if (first->kind == Y_SCALAR && !strcmp(first->text, k->text)) {
      error_at(c, k->loc, "duplicate layer '%s'", shown(c, k->text));
      if (c->d) diag_note(c->d, first->loc, "'%s' first given here", shown(c, k->text));
      return true;
    }
  }
  return false;
}

static void load_layers(Check *c, const YNode *m, Recipe *r) {
  if (!want_mapping(c, m, "layers")) return;
  if (m->n > RECIPE_MAX_LAYERS) {
    error_at(c, m->loc, "'layers' has %d entries; at most %d are allowed", m->n,
             RECIPE_MAX_LAYERS);
    return;
  }
  for (int i = 0; i < m->n && !give_up(c); i++) {
    const YNode *k = m->pairs[i].key;
    if (k->kind == Y_BAD) continue;
    if (!*k->text) {
      error_at(c, k->loc, "a layer override needs the layer's name");
      continue;
    }
    if (repeated_layer(c, m, i)) continue;
    if (r->nlayers == RECIPE_MAX_LAYERS && !recipe_find_layer(r, k->text)) {
      error_at(c, k->loc, "more than %d layer overrides", RECIPE_MAX_LAYERS);
      return;
    }
    RecipeLayer *l = layer_entry(c, r, k->text, k->loc);
    load_layer(c, m->pairs[i].value, arena_printf(c->a, "layers.%s", shown(c, k->text)), l);
  }
}

/* --- the whole recipe --- */

static const char *const top_keys[] = {"batch",      "epochs",    "seed",     "optimizer",
                                       "lr_schedule", "loss_scale", "input",    "precision", "rounding",
                                       "lac",        "prc",       "eoq",      "layers",
                                       NULL};

static void load_top_key(Check *c, const char *k, const YNode *v, SrcLoc at, Recipe *r) {
  int x;
  if (!strcmp(k, "batch")) get_int(c, v, at, k, 1, RECIPE_MAX_BATCH, &r->batch);
  else if (!strcmp(k, "epochs")) get_int(c, v, at, k, 1, RECIPE_MAX_EPOCHS, &r->epochs);
  else if (!strcmp(k, "seed")) get_u64(c, v, at, k, &r->seed);
  else if (!strcmp(k, "optimizer")) load_optimizer(c, v, &r->optimizer);
  else if (!strcmp(k, "lr_schedule")) load_schedule(c, v, &r->schedule);
  else if (!strcmp(k, "loss_scale")) get_double(c, v, at, k, POSITIVE, &r->loss_scale);
  else if (!strcmp(k, "input")) load_input(c, v, &r->input);
  else if (!strcmp(k, "precision")) {
    if (get_enum(c, v, at, k, precision_names, PRECISION_COUNT, &x)) r->precision = (Precision)x;
  } else if (!strcmp(k, "rounding")) load_rounding(c, v, k, &r->rounding, NULL);
  else if (!strcmp(k, "lac")) load_lac(c, v, k, &r->lac, NULL);
  else if (!strcmp(k, "prc")) load_prc(c, v, k, &r->prc, NULL);
  else if (!strcmp(k, "eoq")) load_eoq(c, v, &r->eoq);
  else load_layers(c, v, r);
}

static void load_recipe(Check *c, const YNode *root, Recipe *r) {
  if (is_null(root) || root->kind == Y_BAD) return; /* empty: the defaults */
  if (root->kind != Y_MAPPING) {
    error_at(c, root->loc, "a recipe is a mapping of keys to values (such as 'batch: 32'), "
             "got %s", what(c, root));
    return;
  }
  int seen[MAX_KEYS];
  unseen(seen);
  for (int i = 0; i < root->n && !give_up(c); i++) {
    const char *k = known_key(c, root, i, top_keys, seen, NULL);
    if (k) load_top_key(c, k, root->pairs[i].value, root->pairs[i].key->loc, r);
  }
}

bool recipe_load(Recipe *r, Arena *a, Diag *d, const char *file, const char *text,
                 size_t len) {
  recipe_defaults(r);
  if (!text) text = "", len = 0;
  Check c = {.a = a, .d = d};
  Reader rd = {.c = &c, .file = diag_add_source(d, file, text, len), .text = text, .len = len};
  index_lines(&rd);
  read_yaml(&rd);
  if (!rd.failed) load_recipe(&c, rd.root, r);
  return c.errors == 0;
}

/* --- command-line overrides --- */

static YNode *scalar_node(Arena *a, const char *text) {
  YNode *n = arena_alloc(a, sizeof(YNode));
  n->kind = Y_SCALAR;
  n->text = text;
  n->plain = true;
  return n;
}

/* "a.b.c" and a value become {a: {b: {c: value}}}; NULL (reported) if a
 * part of the path is empty. */
static YNode *path_tree(Check *c, const char *path, YNode *value) {
  const char *dot = strrchr(path, '.');
  const char *last = dot ? dot + 1 : path;
  if (!*last) {
    error_at(c, (SrcLoc){0}, "empty key in '%s'", path);
    return NULL;
  }
  YNode *m = arena_alloc(c->a, sizeof(YNode));
  m->kind = Y_MAPPING;
  add_pair(c->a, m, scalar_node(c->a, arena_strdup(c->a, last)), value);
  if (!dot) return m;
  return path_tree(c, arena_strndup(c->a, path, (size_t)(dot - path)), m);
}

static const char *trim(Arena *a, const char *s, size_t n) {
  while (n && (*s == ' ' || *s == '\t')) s++, n--;
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
  return arena_strndup(a, s, n);
}

/* The key path of an override does not go through libyaml, which checks a
 * file's text: it must be what a YAML file could hold (well-formed UTF-8,
 * no control characters), or --emit=recipe would write a file that cannot
 * be read back. */
static bool key_text_ok(const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    unsigned c = *p;
    int more = c < 0x80              ? 0
               : (c & 0xE0) == 0xC0 ? 1
               : (c & 0xF0) == 0xE0 ? 2
               : (c & 0xF8) == 0xF0 ? 3
                                    : -1;
    if (more < 0 || c < 0x20 || c == 0x7F || c == 0xC0 || c == 0xC1 || c > 0xF4) return false;
    unsigned cp = more ? c & (0x3Fu >> more) : c;
    for (int i = 1; i <= more; i++) {
      if ((p[i] & 0xC0) != 0x80) return false;
      cp = cp << 6 | (p[i] & 0x3Fu);
    }
    /* Overlong forms, surrogates and code points past U+10FFFF. */
    if ((more == 2 && cp < 0x800) || (more == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    p += 1 + more;
  }
  return true;
}

bool recipe_set(Recipe *r, Arena *a, const char *assignment, char *err, size_t errlen) {
  if (errlen) err[0] = 0;
  Check c = {.a = a, .err = err, .errlen = errlen};
  const char *eq = strchr(assignment, '=');
  if (!eq) {
    error_at(&c, (SrcLoc){0}, "expected key=value (such as optimizer.lr=0.05), got '%s'",
             shown(&c, assignment));
    return false;
  }
  const char *path = trim(a, assignment, (size_t)(eq - assignment));
  if (!key_text_ok(path)) {
    error_at(&c, (SrcLoc){0}, "the key '%s' is not UTF-8 text without control characters",
             shown(&c, path));
    return false;
  }
  Reader rd = {.c = &c, .text = eq + 1, .len = strlen(eq + 1)};
  read_yaml(&rd);
  if (rd.failed) {
    if (errlen) {
      char *msg = arena_strdup(a, err);
      snprintf(err, errlen, "bad value for '%s': %s", shown(&c, path), msg);
    }
    return false;
  }
  YNode *value = rd.root ? rd.root : scalar_node(a, "");
  YNode *tree = path_tree(&c, path, value);
  if (!tree) return false;
  /* Work on a copy so a rejected override leaves r as it was. */
  Recipe tmp = *r;
  if (r->nlayers) {
    size_t bytes = (size_t)layer_capacity(r->nlayers) * sizeof(RecipeLayer);
    tmp.layers = arena_alloc(a, bytes);
    memcpy(tmp.layers, r->layers, (size_t)r->nlayers * sizeof(RecipeLayer));
  }
  load_recipe(&c, tree, &tmp);
  if (c.errors) return false;
  *r = tmp;
  return true;
}
