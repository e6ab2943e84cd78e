/* A bump allocator in chunks. Chosen because compiler data has one lifetime
 * (the compilation), so per-object frees would be pure bookkeeping. */
#include "arena.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct Chunk {
  struct Chunk *next;
  size_t size, used;
  _Alignas(max_align_t) unsigned char data[];
} Chunk;

struct Arena {
  Chunk *head;
};

_Noreturn void die_oom(void) {
  fputs("octoc: error: out of memory\n", stderr);
  exit(1);
}

void *xmalloc(size_t size) {
  void *p = malloc(size ? size : 1);
  if (!p) die_oom();
  return p;
}

void *xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p) die_oom();
  return p;
}

void *xrealloc(void *p, size_t size) {
  void *q = realloc(p, size ? size : 1);
  if (!q) die_oom();
  return q;
}

char *xconcat(const char *a, const char *b) {
  size_t na = strlen(a), nb = strlen(b);
  char *s = xmalloc(na + nb + 1);
  memcpy(s, a, na);
  memcpy(s + na, b, nb + 1);
  return s;
}

Arena *arena_new(void) { return xcalloc(1, sizeof(Arena)); }

void arena_free(Arena *a) {
  if (!a) return;
  for (Chunk *c = a->head, *next; c; c = next) {
    next = c->next;
    free(c);
  }
  free(a);
}

void *arena_alloc(Arena *a, size_t size) {
  const size_t align = _Alignof(max_align_t);
  size = (size + align - 1) & ~(align - 1);
  if (size == 0) size = align;
  Chunk *c = a->head;
  if (!c || c->size - c->used < size) {
    size_t cap = size > 64 * 1024 ? size : 64 * 1024;
    if (cap > SIZE_MAX - sizeof(Chunk)) die_oom();
    c = malloc(sizeof(Chunk) + cap);
    if (!c) die_oom();
    c->size = cap;
    c->used = 0;
    c->next = a->head;
    a->head = c;
  }
  void *p = c->data + c->used;
  c->used += size;
  memset(p, 0, size);
  return p;
}

void *arena_grow(Arena *a, void *old, size_t old_size, size_t new_size) {
  void *p = arena_alloc(a, new_size);
  if (old && old_size) memcpy(p, old, old_size < new_size ? old_size : new_size);
  return p;
}

void arena_push(Arena *a, void ***items, int *n, int *cap, void *item) {
  if (*n == *cap) {
    int nc = *cap ? *cap * 2 : 16;
    *items = arena_grow(a, *items, (size_t)*cap * sizeof(void *), (size_t)nc * sizeof(void *));
    *cap = nc;
  }
  (*items)[(*n)++] = item;
}

char *arena_strndup(Arena *a, const char *s, size_t n) {
  char *p = arena_alloc(a, n + 1);
  memcpy(p, s, n);
  p[n] = 0;
  return p;
}

char *arena_strdup(Arena *a, const char *s) { return arena_strndup(a, s, strlen(s)); }

char *arena_vprintf(Arena *a, const char *fmt, va_list ap) {
  /* Spelled out so gcc's -Wformat-truncation (under the sanitizers) can see
   * fmt is never NULL. */
  if (!fmt) fmt = "";
  va_list ap2;
  va_copy(ap2, ap);
  char probe[1];
  int n = vsnprintf(probe, sizeof probe, fmt, ap2);
  va_end(ap2);
  if (n < 0) n = 0;
  char *p = arena_alloc(a, (size_t)n + 1);
  vsnprintf(p, (size_t)n + 1, fmt, ap);
  return p;
}

char *arena_printf(Arena *a, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *p = arena_vprintf(a, fmt, ap);
  va_end(ap);
  return p;
}
