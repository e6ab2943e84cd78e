/* A map from strings to pointers, the one the compiler uses wherever it
 * looks names up: graph value names (ir/graph.c), and the front end's
 * scopes, blocks and layer names (compiler/build_graph.c). Open addressing
 * with linear probing over FNV-1a (ir/fnv.h), grown at half load; the slots
 * live in an arena, so there is nothing to free. Keys are not copied: each
 * must live as long as the map. A zeroed StrMap is an empty map. */
#ifndef OCTO_IR_STRMAP_H
#define OCTO_IR_STRMAP_H

#include <stddef.h>

#include "arena.h"

typedef struct StrMapSlot {
  const char *key; /* NULL: free */
  void *value;
} StrMapSlot;

typedef struct StrMap {
  StrMapSlot *slots;
  size_t cap;   /* a power of two, or 0 before the first put */
  size_t count; /* keys held */
} StrMap;

/* The value of key, or NULL if it has none. */
void *strmap_get(const StrMap *m, const char *key);

/* Sets key's value (value != NULL), adding the key or replacing what it
 * had; returns the value it replaced, or NULL for a new key. */
void *strmap_put(Arena *a, StrMap *m, const char *key, void *value);

#endif
