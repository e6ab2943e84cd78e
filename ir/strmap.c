/* The string map of strmap.h: open addressing over FNV-1a. Where a key
 * lands depends only on the hash, never on insertion order, and nothing
 * iterates the slots, so the map cannot change what the compiler emits. */
#include "strmap.h"

#include <string.h>

#include "fnv.h"

/* The slot holding key, or the free slot where it would go. The table is
 * never full (grown at half load), so the probe ends. */
static StrMapSlot *find_slot(const StrMap *m, const char *key) {
  size_t mask = m->cap - 1;
  for (size_t i = fnv1a_str(FNV1A_OFFSET_BASIS, key) & mask;; i = (i + 1) & mask)
    if (!m->slots[i].key || strcmp(m->slots[i].key, key) == 0) return &m->slots[i];
}

void *strmap_get(const StrMap *m, const char *key) {
  if (!m->cap) return NULL;
  return find_slot(m, key)->value;
}

/* Doubles the table (16 slots at first) and puts every key back. The old
 * slots stay in the arena until it is freed. */
static void grow(Arena *a, StrMap *m) {
  StrMap old = *m;
  m->cap = old.cap ? old.cap * 2 : 16;
  m->slots = arena_alloc(a, m->cap * sizeof(StrMapSlot));
  for (size_t i = 0; i < old.cap; i++)
    if (old.slots[i].key) *find_slot(m, old.slots[i].key) = old.slots[i];
}

void *strmap_put(Arena *a, StrMap *m, const char *key, void *value) {
  if ((m->count + 1) * 2 > m->cap) grow(a, m);
  StrMapSlot *s = find_slot(m, key);
  void *old = s->value;
  if (!s->key) {
    s->key = key;
    m->count++;
  }
  s->value = value;
  return old;
}
