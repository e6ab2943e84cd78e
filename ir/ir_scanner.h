/* The character level shared by the two IR readers: ir/reader.c (graph IR,
 * docs/ir.md) and ir/loop_reader.c (loop IR, docs/loops.md). Both languages
 * spell blanks, `#` comments, names, strings with escapes and decimal
 * numbers alike; a Scanner walks the text byte by byte, keeps the line and
 * column for SrcLocs, and never reads outside the buffer.
 *
 * The scanner reports nothing itself: what a token means, what its limits
 * are and how an error is worded stay in each reader (their grammars and
 * messages differ, and tests pin the messages). A scan that can fail says
 * what went wrong and where, and the reader words it. */
#ifndef OCTO_IR_IR_SCANNER_H
#define OCTO_IR_IR_SCANNER_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "diag.h"

typedef struct Scanner {
  const char *file; /* goes into every SrcLoc the scanner makes */
  const char *text;
  size_t len, pos;
  int line, col; /* of text[pos], from 1 */
} Scanner;

Scanner scanner_new(const char *file, const char *text, size_t len);

/* The byte `ahead` bytes from the cursor (0..255), or -1 past the end. */
int scan_peek(const Scanner *s, size_t ahead);
/* Moves past one byte, counting lines; does nothing at the end. */
void scan_advance(Scanner *s);
void scan_advance_n(Scanner *s, int n);
SrcLoc scan_loc(const Scanner *s);

bool scan_is_alpha(int c);     /* [A-Za-z_] */
bool scan_is_digit(int c);     /* [0-9] */
bool scan_is_alnum(int c);     /* [A-Za-z0-9_] */
bool scan_is_name_char(int c); /* [A-Za-z0-9_.]: bare names and %names */
int scan_hex_value(int c);     /* 0..15, or -1 if c is no hex digit */

/* Moves past every byte for which pred holds; returns how many. */
size_t scan_while(Scanner *s, bool (*pred)(int c));
/* The text from `start` to the cursor, copied into the arena. */
char *scan_copy(const Scanner *s, Arena *a, size_t start);

/* Up to (not past) the next newline or the end. */
void scan_skip_line(Scanner *s);
/* Spaces, tabs, CRs and `#` comments; newlines too if `newlines` (the graph
 * IR is line-based and makes a token of them, the loop IR is not). */
void scan_skip_blanks(Scanner *s, bool newlines);

/* At a digit: moves past `[0-9]+ [ '.' [0-9]* ] [ [eE] [+-]? [0-9]+ ]` and
 * returns whether it had a fraction or an exponent (a float). With
 * dot_needs_digit a '.' belongs to the number only when a digit follows, so
 * that `0..6` is a range; otherwise `1.` is a float. An `e` without digits
 * after it is left for the caller (it is not part of the number). */
bool scan_decimal(Scanner *s, bool dot_needs_digit);

typedef enum {
  SCAN_STR_OK,
  SCAN_STR_UNTERMINATED, /* the line or the text ended first */
  SCAN_STR_BAD_ESCAPE,   /* a backslash not followed by " \ n t or xHH */
  SCAN_STR_ESCAPED_NUL,  /* \x00 */
  SCAN_STR_CONTROL,      /* a raw control byte (see scan_string) */
} ScanStrStatus;

typedef struct ScanStr {
  ScanStrStatus status;
  const char *s; /* the decoded bytes, NUL-terminated (on failure: so far) */
  SrcLoc at;     /* the backslash or byte at fault (not set if OK) */
  int byte;      /* SCAN_STR_CONTROL: the byte */
} ScanStr;

/* At a '"': reads a string up to its closing quote, decoding \" \\ \n \t
 * and \xHH. A raw NUL is always SCAN_STR_CONTROL; other raw control bytes
 * (below 32, and 127) are too unless raw_controls allows them. On failure
 * the cursor is left at the fault. */
ScanStr scan_string(Scanner *s, Arena *a, bool raw_controls);

#endif
