/* The memory planner: static byte offsets for every STATE and WORK buffer of
 * a loop program, so the emitted trainer needs no malloc. The caller owns one
 * persistent state block and one per-call work arena whose sizes are
 * compile-time constants (TensorFlow Lite Micro's discipline).
 *
 * STATE buffers are laid out in buffer order, each 64-byte aligned: the
 * order is part of the checkpoint format, so it never depends on sizes.
 * WORK buffers share the arena: two may overlap in bytes unless they are
 * live at the same kernel call of some entry (see docs/memory.md for the
 * liveness rules and the placement algorithm). ARG buffers are the caller's
 * pointers and are not planned. */
#ifndef OCTO_PASSES_MEMPLAN_H
#define OCTO_PASSES_MEMPLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "diag.h"
#include "loop.h"

/* Every planned buffer starts at a multiple of this many bytes of its block:
 * a cache line on the targets we have, and enough for any SIMD load (AVX-512
 * is 64 bytes wide). The caller aligns the blocks themselves the same way. */
enum { MEMPLAN_ALIGN = 64 };

/* How WORK buffers are ordered before each is put at the lowest aligned
 * offset that overlaps no conflicting buffer already placed. */
typedef enum {
  MEMPLAN_GREEDY_BY_SIZE,   /* largest first, ties by buffer id (TFLite Micro) */
  MEMPLAN_FIRST_FIT_BY_USE, /* by first use (entry, then call), ties by id */
  MEMPLAN_BEST,             /* run both, keep the smaller arena (greedy on ties) */
  MEMPLAN_SWEEP,            /* what any strategy becomes past MEMPLAN_SWEEP_FROM work
                               buffers: linear-scan first fit (docs/memory.md) */
} MemPlanStrategy;

/* Programs with more work buffers than this are placed by the sweep: the
 * greedy orders cost time quadratic in the number of buffers. */
enum { MEMPLAN_SWEEP_FROM = 4096 };

typedef struct MemPlanStats {
  int64_t state_bytes;      /* persistent block */
  int64_t work_bytes;       /* the planned arena */
  int64_t naive_work_bytes; /* sum of all work buffers, each rounded up to
                               MEMPLAN_ALIGN (no sharing): an upper bound */
  int64_t peak_live_bytes;  /* max over calls of live bytes: a lower bound */
  const char *peak_entry;   /* entry name where the peak is ("init", ...);
                               NULL when no work buffer is ever live */
  int peak_kernel;          /* index of the call in that entry; -1 if none */
  const char *strategy;     /* the placement kept: "greedy-by-size", ... */
} MemPlanStats;

/* Assigns offsets to every STATE and WORK buffer and sets p->state_bytes /
 * p->work_bytes, with the MEMPLAN_BEST strategy. Errors (a buffer with an
 * unknown shape, a size or total that overflows int64) go to d; then it
 * returns false and leaves the plan unset. stats may be NULL. */
bool memplan_run(LProgram *p, Diag *d, MemPlanStats *stats);
/* The same with a chosen strategy (tests and docs/memory.md compare them). */
bool memplan_run_strategy(LProgram *p, Diag *d, MemPlanStrategy how, MemPlanStats *stats);

/* Checker, independent of how the plan was made: true iff every planned
 * buffer fits its block and is aligned, and no two buffers share bytes while
 * both hold values (the loop verifier's rule: STATE ever, WORK at one call
 * of some entry). Writes the first
 * violation to err (always NUL-terminated when errlen > 0). */
bool memplan_check(const LProgram *p, char *err, size_t errlen);

/* The report section: per buffer offset, size and lifetime; totals. stats
 * may be NULL (they are recomputed from the program then). */
void memplan_print(FILE *out, const LProgram *p, const MemPlanStats *s);

/* Lowers the peak of live work bytes without changing a value computed
 * (passes/memplan_shrink.c, docs/memory.md): moves calls up to right after
 * what they depend on when that frees bytes sooner (an optimizer update
 * after its gradient's last use), then lets an elementwise kernel write
 * over its input when the input dies there (the output buffer is renamed
 * the input, so `restrict` holds). The memplan pass runs it before placing
 * buffers. */
typedef struct MemPlanShrink {
  int hoisted;  /* calls moved up */
  int in_place; /* buffers renamed into their kernel's input */
} MemPlanShrink;
void memplan_shrink(LProgram *p, MemPlanShrink *out);

/* Size in bytes of a buffer (numel x dtype size, a scalar has one element);
 * -1 if its shape is unknown or the size overflows int64. */
int64_t memplan_buffer_bytes(const LBuffer *b);

#endif
