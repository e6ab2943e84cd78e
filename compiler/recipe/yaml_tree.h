/* A recipe's YAML as a small tree: scalars, mappings and sequences, each
 * with its source location, read with libyaml's event parser. The tree is
 * what load.c checks against the key table; set.c builds a one-key tree for
 * a --set override, so both go through the same checks. Also the place
 * where the errors of one load or override go (ErrorSink). Everything is
 * allocated in the sink's arena. */
#ifndef OCTO_COMPILER_RECIPE_YAML_TREE_H
#define OCTO_COMPILER_RECIPE_YAML_TREE_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "diag.h"

/* Where the errors of one recipe_load (a Diag, every error with its source
 * line) or one recipe_set (a buffer for the first error) go. */
typedef struct ErrorSink {
  Arena *a;
  Diag *d;     /* file mode */
  char *err;   /* --set mode: the first error only */
  size_t errlen;
  int errors;
} ErrorSink;

void sink_error(ErrorSink *s, SrcLoc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A note under the last error (file mode only: --set prints one line). */
void sink_note(ErrorSink *s, SrcLoc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* True once the Diag is past its error cap: loops stop, so a megabyte of
 * garbage keys does not cost quadratic time. */
bool sink_give_up(const ErrorSink *s);

typedef enum { Y_SCALAR, Y_MAPPING, Y_SEQUENCE, Y_BAD } YKind;

typedef struct YNode YNode;
typedef struct YPair {
  YNode *key, *value; /* value NULL: none given */
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

/* Parses text into a tree (NULL for an empty stream). `file` is the name
 * diag_add_source returned (locations point into it), or NULL for a --set
 * value (no locations). A syntax error is reported and sets *failed; the
 * tree is then partial. */
YNode *yaml_read(ErrorSink *s, const char *file, const char *text, size_t len, bool *failed);

/* Building trees by hand (set.c): a plain scalar, an empty mapping, a pair. */
YNode *yaml_scalar(Arena *a, const char *text);
YNode *yaml_mapping(Arena *a);
void yaml_add_pair(Arena *a, YNode *m, YNode *key, YNode *value);

/* An absent or null value: nothing, `~`, `null`, an empty plain scalar. */
bool yaml_is_null(const YNode *v);
/* The index of the first pair of mapping m whose key is `name`, or -1. */
int yaml_find_key(const YNode *m, const char *name);

/* Text for messages: s cut to 40 bytes with control bytes as '?'. */
const char *yaml_shown(Arena *a, const char *s);
/* What the user wrote, for "got ...": "nothing", "a mapping", "a list",
 * "string \"x\"" (quoted) or "'x'" (plain). */
const char *yaml_what(Arena *a, const YNode *v);

#endif
