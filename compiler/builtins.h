/* The language-level signatures of the built-in ops: which tensor operands a
 * call takes, which attributes, their types, defaults and allowed ranges.
 * The graph IR (ir/ops.h) has no defaults; this table is where `stride=1`
 * and `init=he` live. build_graph.c checks every call against it; docs/language.md
 * lists the same table for users. */
#ifndef OCTO_COMPILER_BUILTINS_H
#define OCTO_COMPILER_BUILTINS_H

#include <stdbool.h>

#include "ops.h"

typedef enum {
  BA_INT,   /* an integer expression */
  BA_INT2,  /* an integer (both extents) or a list [h, w] */
  BA_FLOAT, /* a number (integers are converted) */
  BA_BOOL,  /* true or false */
  BA_INIT,  /* he, xavier, zeros, ones or normal(std) */
  BA_NAME,  /* "text" or a bare identifier */
} BuiltinAttrType;

typedef enum {
  DEF_REQUIRED, /* the call must give it */
  DEF_VALUE,    /* default in `dflt` (BA_BOOL: 0/1; BA_INIT: an InitKind) */
  DEF_SAME_AS,  /* default is the value of attribute `same_as` */
  DEF_NONE,     /* optional without a value: absent means "unknown" */
} DefaultKind;

/* Which ends of [min, max] a numeric attribute may take: the graph
 * verifier (ir/verify.c) refuses eps = 0 and momenta or rates of 1, so the
 * front end does too, at the attribute. */
typedef enum {
  RANGE_CLOSED,   /* min <= v <= max */
  RANGE_MAX_OPEN, /* min <= v < max */
  RANGE_OPEN,     /* min < v < max */
} RangeEnds;

typedef struct BuiltinAttr {
  const char *name;
  BuiltinAttrType type;
  DefaultKind def;
  double dflt;
  const char *same_as;
  double min, max;    /* allowed numeric range (BA_INT, BA_INT2, BA_FLOAT) */
  RangeEnds ends;      /* which ends of the range are allowed */
  const char *doc;
} BuiltinAttr;

typedef struct Builtin {
  const char *name;
  OpKind op;
  int noperands;                  /* tensor operands, positional */
  const char *const *operands;    /* their names, for messages */
  const BuiltinAttr *attrs;
  int nattrs;
  bool has_params; /* owns PARAM/STATE values (weights, scalars) */
  const char *doc;
} Builtin;

/* Every op also takes name="..." (the layer name); it is not in the table. */
const Builtin *builtin_lookup(const char *name);
const Builtin *builtin_at(int i); /* NULL past the end; for docs and suggestions */
int builtin_attr_index(const Builtin *b, const char *name); /* -1 if absent */
const char *builtin_type_name(BuiltinAttrType t);

#endif
