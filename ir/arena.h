/* Arena allocation for one compilation: everything the front end, the IRs and
 * the passes create lives until arena_free(). Out of memory is fatal (the
 * compiler prints a message and exits 1); callers never see NULL. */
#ifndef OCTO_IR_ARENA_H
#define OCTO_IR_ARENA_H

#include <stdarg.h>
#include <stddef.h>

typedef struct Arena Arena;

Arena *arena_new(void);
void arena_free(Arena *a);
/* Zeroed, aligned for any type. */
void *arena_alloc(Arena *a, size_t size);
/* Grow an array allocated in the arena: returns a new block holding the old
 * contents (old_size bytes) followed by zeroes. */
void *arena_grow(Arena *a, void *old, size_t old_size, size_t new_size);
/* Appends item to the pointer array *items (n used, cap allocated), growing
 * it in the arena: the builders' one way to grow a list. */
void arena_push(Arena *a, void ***items, int *n, int *cap, void *item);
char *arena_strdup(Arena *a, const char *s);
char *arena_strndup(Arena *a, const char *s, size_t n);
char *arena_printf(Arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
char *arena_vprintf(Arena *a, const char *fmt, va_list ap);

/* Fatal allocation failure outside an arena (malloc wrappers). */
void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
/* a followed by b, in a new malloc'd string (paths: stem + suffix). */
char *xconcat(const char *a, const char *b);
_Noreturn void die_oom(void);

#endif
