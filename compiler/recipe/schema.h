/* The recipe's keys as one table: for each key its place (section, name),
 * the type and range of its value, the field it is stored in, whether a
 * per-layer override may give it, and which optimizer or schedule type it
 * belongs to. The loader (load.c), --set (set.c), the writer (write.c), the
 * "did you mean" of an unknown key and the docs test all walk this table;
 * docs/recipe.md describes the same keys for users. */
#ifndef OCTO_COMPILER_RECIPE_SCHEMA_H
#define OCTO_COMPILER_RECIPE_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include "recipe.h"
#include "yaml_tree.h"

/* An interval of a real-valued key. hi = INFINITY: unbounded above. */
typedef struct Range {
  double lo, hi;
  bool lo_open, hi_open;
} Range;

typedef enum {
  VALUE_INT,      /* int within [min, max] */
  VALUE_U64,      /* uint64_t, 0 ... UINT64_MAX */
  /* A real number kept as a double in Recipe and used as f32 by the emitted
   * trainer. Checked against `range` as a double today; checking it in f32
   * too (issue 10 item 8) changes only load.c's check_f32. */
  VALUE_F32,
  VALUE_F32_PAIR, /* [a, b]: two VALUE_F32 in consecutive double fields;
                     names[0..1] name them in messages */
  VALUE_BOOL,
  VALUE_NAME,     /* one of names[0..nnames), stored as its index (an enum) */
  VALUE_NAME_SET, /* a list of distinct names: bit i of an unsigned for names[i] */
  VALUE_LAYERS    /* the per-layer overrides: a mapping of layer names to keys */
} ValueKind;

typedef struct RecipeKey {
  const char *section; /* "optimizer", or NULL for a top-level key */
  const char *name;    /* "lr" */
  ValueKind kind;
  long long min, max;       /* VALUE_INT */
  Range range;              /* VALUE_F32, VALUE_F32_PAIR */
  const char *const *names; /* VALUE_NAME, VALUE_NAME_SET, VALUE_F32_PAIR */
  int nnames;
  size_t offset;       /* of the field in Recipe */
  unsigned layer_bit;  /* LAYER_*: a layer override may give the key; 0: it may not */
  size_t layer_offset; /* of the field in RecipeLayer, when layer_bit != 0 */
  unsigned types;      /* typed section: bit t if the key applies to type t; 0: to all */
} RecipeKey;

extern const RecipeKey recipe_keys[];
extern const int recipe_nkeys;

/* A section whose key `type` decides which of its other keys apply
 * (optimizer, lr_schedule). The type is read first; a different type resets
 * the section to that type's defaults. A key of another type is refused
 * with "'PATH' <wrong_type_before>TYPES<wrong_type_after>CURRENT". */
typedef struct TypedSection {
  const char *section;
  void (*set_type)(Recipe *r, int type); /* applies a valid type */
  const char *wrong_type_before, *wrong_type_after;
} TypedSection;

/* The typed section named `section`, or NULL. */
const TypedSection *schema_typed_section(const char *section);

/* The keys of one mapping, in table order: section NULL is the top level
 * (its keys and the names of its sections); in_layer limits them to what
 * a layer override may give. Returns the count (at most SCHEMA_MAX_KEYS). */
enum { SCHEMA_MAX_KEYS = 16 };
int schema_names(const char *section, bool in_layer, const char **out);
/* The row of key `name` of a mapping, or NULL (unknown, or a section). */
const RecipeKey *schema_key(const char *section, const char *name, bool in_layer);
/* Whether a top-level name is a section (a mapping of keys). */
bool schema_is_section(const char *name);
/* The key a name from another framework means ("learning_rate" -> "lr"),
 * or NULL. */
const char *schema_alias(const char *name);

/* The field a key is stored in: in r, or in layer l when l != NULL. */
void *schema_field(const RecipeKey *k, Recipe *r, RecipeLayer *l);
const void *schema_field_const(const RecipeKey *k, const Recipe *r, const RecipeLayer *l);
/* The current type of a typed section. */
int schema_type_of(const TypedSection *t, const Recipe *r);

/* load.c: checks a tree (a whole recipe file, or the one-key tree of a
 * --set) against the table and stores every valid value into r. */
void schema_apply(ErrorSink *s, const YNode *root, Recipe *r);
/* load.c: the allocated length of a layer array of n entries (they grow by
 * doubling), so that set.c can copy one that load.c then extends. */
int layers_capacity(int n);

#endif
