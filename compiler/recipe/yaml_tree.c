/* YAML text to the recipe's tree (yaml_tree.h), with libyaml's event
 * parser: each event opens, fills or closes a node. libyaml's positions are
 * turned into the byte columns diag's caret uses. What a recipe never needs
 * (anchors, aliases, tags, a second document, deep nesting) is refused
 * here with a plain message, so the checker sees only plain data. */
#include "yaml_tree.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

/* --- errors --- */

void sink_error(ErrorSink *s, SrcLoc loc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  s->errors++;
  if (s->d) {
    char *msg = arena_vprintf(s->a, fmt, ap);
    diag_error(s->d, loc, "%s", msg);
  } else if (s->errors == 1 && s->err && s->errlen) {
    vsnprintf(s->err, s->errlen, fmt, ap);
  }
  va_end(ap);
}

void sink_note(ErrorSink *s, SrcLoc loc, const char *fmt, ...) {
  if (!s->d) return;
  va_list ap;
  va_start(ap, fmt);
  char *msg = arena_vprintf(s->a, fmt, ap);
  va_end(ap);
  diag_note(s->d, loc, "%s", msg);
}

/* Stops only after one error past the cap, so diag prints its "too many
 * errors" line; and only if this load reported something (s->errors > 0),
 * so a Diag capped by an earlier phase does not skip the checks. */
bool sink_give_up(const ErrorSink *s) {
  return s->d && s->errors > 0 && diag_error_count(s->d) > DIAG_MAX_ERRORS;
}

/* --- reading YAML events into the tree --- */

enum { MAX_DEPTH = 32 };

typedef struct Reader {
  ErrorSink *s;
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
  rd->line_start = arena_alloc(rd->s->a, (size_t)n * sizeof(size_t));
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
      sink_error(rd->s, loc, "invalid YAML: %s (byte 0x%02X)", problem,
               (unsigned)p->problem_value & 0xFFu);
    else
      sink_error(rd->s, loc, "invalid YAML: %s", problem);
    return;
  }
  SrcLoc loc = mark_loc(rd, p->problem_mark);
  size_t at = 0;
  if (rd->file && loc.line - 1 < rd->nlines)
    at = rd->line_start[loc.line - 1] + (size_t)loc.col - 1;
  if (rd->file && at < rd->len && rd->text[at] == '\t') {
    sink_error(rd->s, loc, "invalid YAML: a tab cannot indent YAML; use spaces");
    return;
  }
  int context_line = (int)p->context_mark.line + 1;
  if (p->context && context_line != loc.line)
    sink_error(rd->s, loc, "invalid YAML: %s (%s that starts on line %d)", problem, p->context,
             context_line);
  else if (p->context)
    sink_error(rd->s, loc, "invalid YAML: %s (%s)", problem, p->context);
  else
    sink_error(rd->s, loc, "invalid YAML: %s", problem);
}

static YNode *new_node(Reader *rd, YKind kind, yaml_mark_t m) {
  YNode *n = arena_alloc(rd->s->a, sizeof(YNode));
  n->kind = kind;
  n->loc = mark_loc(rd, m);
  return n;
}

void yaml_add_pair(Arena *a, YNode *m, YNode *key, YNode *value) {
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
    add_item(rd->s->a, top, n);
  } else if (!top->pending_key) {
    if (n->kind != Y_SCALAR && n->kind != Y_BAD) {
      sink_error(rd->s, n->loc, "a mapping key must be a plain name, not a %s",
               n->kind == Y_MAPPING ? "mapping" : "sequence");
      n->kind = Y_BAD;
    }
    top->pending_key = n;
  } else {
    yaml_add_pair(rd->s->a, top, top->pending_key, n);
    top->pending_key = NULL;
  }
}

/* Anchors, aliases and tags make a recipe harder to read and are never
 * needed for these few keys: reject them plainly. Returns false if `n` is
 * now Y_BAD. */
static bool plain_node(Reader *rd, YNode *n, const yaml_char_t *anchor,
                       const yaml_char_t *tag, bool implicit) {
  if (anchor) {
    sink_error(rd->s, n->loc, "YAML anchors ('&%s') are not supported in a recipe",
             (const char *)anchor);
    n->kind = Y_BAD;
  } else if (tag && !implicit) {
    sink_error(rd->s, n->loc, "YAML tags ('%s') are not supported in a recipe",
             (const char *)tag);
    n->kind = Y_BAD;
  }
  return n->kind != Y_BAD;
}

static void open_node(Reader *rd, YNode *n) {
  if (rd->depth == MAX_DEPTH) {
    sink_error(rd->s, n->loc, "YAML nested deeper than %d levels", MAX_DEPTH);
    rd->failed = true;
    return;
  }
  rd->stack[rd->depth++] = n;
}

static void close_node(Reader *rd) {
  YNode *n = rd->stack[--rd->depth];
  if (n->pending_key) { /* cannot happen with a well-formed event stream */
    yaml_add_pair(rd->s->a, n, n->pending_key, NULL);
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
      sink_error(rd->s, mark_loc(rd, e->start_mark),
               "a recipe is one YAML document; remove the second '---' and what follows");
      return false;
    }
    return true;
  case YAML_ALIAS_EVENT:
    n = new_node(rd, Y_BAD, e->start_mark);
    sink_error(rd->s, n->loc, "YAML aliases ('*%s') are not supported in a recipe",
             (const char *)e->data.alias.anchor);
    attach(rd, n);
    return true;
  case YAML_SCALAR_EVENT:
    n = new_node(rd, Y_SCALAR, e->start_mark);
    n->text = arena_strndup(rd->s->a, (const char *)e->data.scalar.value, e->data.scalar.length);
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

/* Parses rd->text into rd->root. */
static void read_events(Reader *rd) {
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

YNode *yaml_read(ErrorSink *s, const char *file, const char *text, size_t len, bool *failed) {
  Reader rd = {.s = s, .file = file, .text = text, .len = len};
  if (file) index_lines(&rd);
  read_events(&rd);
  *failed = rd.failed;
  return rd.root;
}

/* --- building and reading nodes --- */

YNode *yaml_scalar(Arena *a, const char *text) {
  YNode *n = arena_alloc(a, sizeof(YNode));
  n->kind = Y_SCALAR;
  n->text = text;
  n->plain = true;
  return n;
}

YNode *yaml_mapping(Arena *a) {
  YNode *n = arena_alloc(a, sizeof(YNode));
  n->kind = Y_MAPPING;
  return n;
}

bool yaml_is_null(const YNode *v) {
  if (!v) return true;
  if (v->kind != Y_SCALAR || !v->plain) return false;
  const char *s = v->text;
  return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
         !strcmp(s, "NULL");
}

int yaml_find_key(const YNode *m, const char *name) {
  for (int i = 0; i < m->n; i++)
    if (m->pairs[i].key->kind == Y_SCALAR && !strcmp(m->pairs[i].key->text, name)) return i;
  return -1;
}

const char *yaml_shown(Arena *a, const char *s) {
  enum { MAX = 40 };
  size_t n = strlen(s);
  char *out = arena_alloc(a, MAX + 4);
  size_t k = 0;
  for (size_t i = 0; i < n && i < MAX; i++) {
    unsigned char ch = (unsigned char)s[i];
    out[k++] = ch < 32 || ch == 127 ? '?' : (char)ch;
  }
  if (n > MAX) memcpy(out + k, "...", 4);
  return out;
}

const char *yaml_what(Arena *a, const YNode *v) {
  if (yaml_is_null(v)) return "nothing";
  if (v->kind == Y_MAPPING) return "a mapping";
  if (v->kind == Y_SEQUENCE) return "a list";
  if (!v->plain) return arena_printf(a, "string \"%s\"", yaml_shown(a, v->text));
  return arena_printf(a, "'%s'", yaml_shown(a, v->text));
}
