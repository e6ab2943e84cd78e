/* Diagnostics shared by every phase: `file:line:col: error: message`, the
 * source line and a caret, as gcc and clang print them. Phases report and go
 * on; the driver checks diag_error_count() and exits 1. */
#ifndef OCTO_IR_DIAG_H
#define OCTO_IR_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* A point in a source file. file == NULL or line == 0 means "no location". */
typedef struct SrcLoc {
  const char *file;
  int line, col;
} SrcLoc;

typedef enum { DIAG_ERROR, DIAG_WARNING, DIAG_NOTE } DiagLevel;

typedef struct Diag Diag;

/* Diagnostics go to `out` (stderr in the driver, a memstream in tests). */
Diag *diag_new(FILE *out);
void diag_free(Diag *d);

/* Register a source buffer so messages can quote its lines. The text is
 * copied. Returns the interned file name to use in SrcLoc.file. */
const char *diag_add_source(Diag *d, const char *file, const char *text, size_t len);

void diag_report(Diag *d, DiagLevel level, SrcLoc loc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void diag_error(Diag *d, SrcLoc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void diag_warning(Diag *d, SrcLoc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void diag_note(Diag *d, SrcLoc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

int diag_error_count(const Diag *d);
/* After this many errors further ones are dropped and one line says so; a
 * phase may stop early when it returns true. */
bool diag_too_many(const Diag *d);
enum { DIAG_MAX_ERRORS = 20 };

#endif
