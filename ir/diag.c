/* Diagnostics: formatting, the quoted source line and caret, the error cap. */
#include "diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

typedef struct Source {
  struct Source *next;
  char *file;
  char *text;
  size_t len;
} Source;

struct Diag {
  FILE *out;
  Source *sources;
  int errors;
  bool capped; /* the "too many errors" line was printed */
  bool last_dropped; /* notes attached to a dropped error are dropped too */
};

Diag *diag_new(FILE *out) {
  Diag *d = xcalloc(1, sizeof(Diag));
  d->out = out;
  return d;
}

void diag_free(Diag *d) {
  if (!d) return;
  for (Source *s = d->sources, *n; s; s = n) {
    n = s->next;
    free(s->file);
    free(s->text);
    free(s);
  }
  free(d);
}

static Source *find_source(Diag *d, const char *file) {
  for (Source *s = d->sources; s; s = s->next)
    if (s->file == file || strcmp(s->file, file) == 0) return s;
  return NULL;
}

const char *diag_add_source(Diag *d, const char *file, const char *text, size_t len) {
  Source *s = find_source(d, file);
  if (s) {
    free(s->text);
  } else {
    s = xcalloc(1, sizeof(Source));
    size_t n = strlen(file);
    s->file = xmalloc(n + 1);
    memcpy(s->file, file, n + 1);
    s->next = d->sources;
    d->sources = s;
  }
  s->text = xmalloc(len + 1);
  if (len) memcpy(s->text, text, len);
  s->text[len] = 0;
  s->len = len;
  return s->file;
}

/* Print the quoted line and a caret under column `col` (1-based, bytes).
 * Long lines are cut around the caret so a 1 MB line stays readable. */
static void quote_line(FILE *out, const Source *s, int line, int col) {
  size_t pos = 0;
  for (int l = 1; l < line && pos < s->len; pos++)
    if (s->text[pos] == '\n') l++;
  if (pos >= s->len && !(pos == s->len && line >= 1)) return;
  size_t end = pos;
  while (end < s->len && s->text[end] != '\n') end++;
  size_t width = end - pos;
  size_t c = col > 0 ? (size_t)col - 1 : 0;
  if (c > width) c = width;
  enum { WINDOW = 120 };
  size_t from = 0;
  if (width > WINDOW && c > WINDOW / 2) from = c - WINDOW / 2;
  size_t to = from + WINDOW < width ? from + WINDOW : width;
  fputs("  ", out);
  if (from) fputs("...", out);
  for (size_t i = from; i < to; i++) {
    unsigned char ch = (unsigned char)s->text[pos + i];
    fputc(ch == '\t' ? ' ' : (ch < 32 || ch == 127) ? '?' : ch, out);
  }
  if (to < width) fputs("...", out);
  fputs("\n  ", out);
  if (from) fputs("   ", out);
  for (size_t i = from; i < c; i++) fputc(' ', out);
  fputs("^\n", out);
}

static void vreport(Diag *d, DiagLevel level, SrcLoc loc, const char *fmt, va_list ap) {
  if (level == DIAG_NOTE && d->last_dropped) return;
  if (level == DIAG_ERROR) {
    if (d->errors >= DIAG_MAX_ERRORS) {
      d->errors++;
      d->last_dropped = true;
      if (!d->capped) {
        fprintf(d->out, "octoc: too many errors (%d), stopping here\n", DIAG_MAX_ERRORS);
        d->capped = true;
      }
      return;
    }
    d->errors++;
  }
  if (level != DIAG_NOTE) d->last_dropped = false;
  static const char *const names[] = {"error", "warning", "note"};
  if (loc.file && loc.line > 0)
    fprintf(d->out, "%s:%d:%d: %s: ", loc.file, loc.line, loc.col, names[level]);
  else if (loc.file)
    fprintf(d->out, "%s: %s: ", loc.file, names[level]);
  else
    fprintf(d->out, "octoc: %s: ", names[level]);
  vfprintf(d->out, fmt, ap);
  fputc('\n', d->out);
  if (loc.file && loc.line > 0) {
    Source *s = find_source(d, loc.file);
    if (s) quote_line(d->out, s, loc.line, loc.col);
  }
  fflush(d->out);
}

void diag_report(Diag *d, DiagLevel level, SrcLoc loc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vreport(d, level, loc, fmt, ap);
  va_end(ap);
}

void diag_error(Diag *d, SrcLoc loc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vreport(d, DIAG_ERROR, loc, fmt, ap);
  va_end(ap);
}

void diag_warning(Diag *d, SrcLoc loc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vreport(d, DIAG_WARNING, loc, fmt, ap);
  va_end(ap);
}

void diag_note(Diag *d, SrcLoc loc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vreport(d, DIAG_NOTE, loc, fmt, ap);
  va_end(ap);
}

int diag_error_count(const Diag *d) { return d->errors; }

bool diag_too_many(const Diag *d) { return d->errors >= DIAG_MAX_ERRORS; }
