/* The character level shared by the graph-IR and loop-IR readers: a cursor
 * with line and column, character classes, blanks and comments, and the
 * spans of names, decimal numbers and strings. See ir_scanner.h. */
#include "ir_scanner.h"

Scanner scanner_new(const char *file, const char *text, size_t len) {
  Scanner s = {file, text, len, 0, 1, 1};
  return s;
}

int scan_peek(const Scanner *s, size_t ahead) {
  return s->pos + ahead < s->len ? (unsigned char)s->text[s->pos + ahead] : -1;
}

void scan_advance(Scanner *s) {
  if (s->pos >= s->len) return;
  if (s->text[s->pos] == '\n') {
    s->line++;
    s->col = 1;
  } else {
    s->col++;
  }
  s->pos++;
}

void scan_advance_n(Scanner *s, int n) {
  for (int i = 0; i < n; i++) scan_advance(s);
}

SrcLoc scan_loc(const Scanner *s) { return (SrcLoc){s->file, s->line, s->col}; }

bool scan_is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool scan_is_digit(int c) { return c >= '0' && c <= '9'; }
bool scan_is_alnum(int c) { return scan_is_alpha(c) || scan_is_digit(c); }
bool scan_is_name_char(int c) { return scan_is_alnum(c) || c == '.'; }

int scan_hex_value(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

size_t scan_while(Scanner *s, bool (*pred)(int c)) {
  size_t start = s->pos;
  while (pred(scan_peek(s, 0))) scan_advance(s);
  return s->pos - start;
}

char *scan_copy(const Scanner *s, Arena *a, size_t start) {
  return arena_strndup(a, s->text + start, s->pos - start);
}

void scan_skip_line(Scanner *s) {
  while (s->pos < s->len && s->text[s->pos] != '\n') scan_advance(s);
}

void scan_skip_blanks(Scanner *s, bool newlines) {
  for (;;) {
    int c = scan_peek(s, 0);
    if (c == ' ' || c == '\t' || c == '\r' || (c == '\n' && newlines))
      scan_advance(s);
    else if (c == '#')
      scan_skip_line(s);
    else
      return;
  }
}

bool scan_decimal(Scanner *s, bool dot_needs_digit) {
  bool is_float = false;
  scan_while(s, scan_is_digit);
  if (scan_peek(s, 0) == '.' && (!dot_needs_digit || scan_is_digit(scan_peek(s, 1)))) {
    is_float = true;
    scan_advance(s);
    scan_while(s, scan_is_digit);
  }
  int e = scan_peek(s, 0);
  if (e == 'e' || e == 'E') {
    int k = 1;
    if (scan_peek(s, k) == '+' || scan_peek(s, k) == '-') k++;
    if (scan_is_digit(scan_peek(s, k))) {
      is_float = true;
      scan_advance_n(s, k);
      scan_while(s, scan_is_digit);
    }
  }
  return is_float;
}

/* Decodes the escape at the cursor (a backslash) into *c; returns how many
 * bytes it spans, or 0 if it is no escape of the language. */
static int decode_escape(const Scanner *s, int *c) {
  int e = scan_peek(s, 1);
  if (e == '"' || e == '\\') *c = e;
  else if (e == 'n') *c = '\n';
  else if (e == 't') *c = '\t';
  else if (e == 'x' && scan_hex_value(scan_peek(s, 2)) >= 0 && scan_hex_value(scan_peek(s, 3)) >= 0)
    *c = scan_hex_value(scan_peek(s, 2)) * 16 + scan_hex_value(scan_peek(s, 3));
  else
    return 0;
  return e == 'x' ? 4 : 2;
}

static ScanStr string_fail(ScanStrStatus status, const char *so_far, SrcLoc at, int byte) {
  ScanStr r = {status, so_far, at, byte};
  return r;
}

ScanStr scan_string(Scanner *s, Arena *a, bool raw_controls) {
  scan_advance(s); /* " */
  size_t cap = 16, n = 0;
  char *buf = arena_alloc(a, cap); /* zeroed: NUL-terminated as it grows */
  for (;;) {
    int c = scan_peek(s, 0);
    SrcLoc here = scan_loc(s);
    if (c == '"') {
      scan_advance(s);
      return (ScanStr){SCAN_STR_OK, buf, {0}, 0};
    }
    if (c == -1 || c == '\n') return string_fail(SCAN_STR_UNTERMINATED, buf, here, 0);
    if (c == '\\') {
      int span = decode_escape(s, &c);
      if (span == 0) return string_fail(SCAN_STR_BAD_ESCAPE, buf, here, 0);
      if (c == 0) return string_fail(SCAN_STR_ESCAPED_NUL, buf, here, 0);
      scan_advance_n(s, span);
    } else if (c == 0 || (!raw_controls && (c < 32 || c == 127))) {
      return string_fail(SCAN_STR_CONTROL, buf, here, c);
    } else {
      scan_advance(s);
    }
    if (n + 1 >= cap) {
      buf = arena_grow(a, buf, cap, cap * 2);
      cap *= 2;
    }
    buf[n++] = (char)c;
  }
}
