/* The recipe as text: reading a recipe.yaml (libyaml), a command-line
 * override (--set KEY=VALUE) and writing the effective recipe as YAML
 * (--emit=recipe). All three follow one table of keys (schema.c), so the
 * file, the command line and the writer know the same keys with the same
 * types and ranges. The data they fill is passes/recipe.h. Files here:
 *   yaml_tree.c  YAML text -> a tree of scalars, mappings and sequences
 *   schema.c     the table: every key, its type, range and field
 *   load.c       tree -> Recipe, checking each key against the table
 *   set.c        KEY.PATH=VALUE -> a one-key tree -> load.c's check
 *   write.c      Recipe -> YAML, walking the table */
#ifndef OCTO_COMPILER_RECIPE_IO_H
#define OCTO_COMPILER_RECIPE_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "arena.h"
#include "diag.h"
#include "recipe.h"

/* Parses YAML text into r (reset to defaults first). Every key is validated;
 * errors go to d as `file:line:col: error: ...` with the source line (the
 * text is registered with diag_add_source). Several errors are reported per
 * run. Returns false on any error; r then holds the defaults merged with the
 * valid keys. An empty file (or only comments) is the default recipe. Layer
 * overrides are allocated in a. */
bool recipe_load(Recipe *r, Arena *a, Diag *d, const char *file, const char *text,
                 size_t len);

/* One command-line override `key.path=value`, e.g. "optimizer.lr=0.05",
 * "batch=64", "precision=octo", "layers.c1.precision=fp32",
 * "prc.tensors=[error,weight]". The value is a YAML flow value validated like
 * the file. On error r is unchanged, err gets one line and false returns. */
bool recipe_set(Recipe *r, Arena *a, const char *assignment, char *err, size_t errlen);

/* Writes the effective recipe as YAML that recipe_load reads back to an
 * equal recipe. Returns false on an output error. */
bool recipe_write(FILE *out, const Recipe *r);

#endif
