/* Test helpers for the memory planner: build loop programs whose kernels
 * touch given buffers (the bodies are minimal loads and stores: the planner
 * only looks at which buffers a kernel reads and writes). */
#ifndef OCTO_TESTS_MEMPLAN_PROGKIT_H
#define OCTO_TESTS_MEMPLAN_PROGKIT_H

#include <stdio.h>

#include "loop.h"
#include "memplan.h"

typedef struct Kit {
  Arena *arena;
  LProgram *p;
  Diag *diag;
  FILE *err;
  char *text;
  size_t len;
  int nlocals;
} Kit;

void kit_init(Kit *k, const char *name);
void kit_free(Kit *k);
const char *kit_messages(Kit *k);

/* An f32[n] buffer (n = 0 gives a rank-0 scalar). */
LBuffer *kit_buf(Kit *k, const char *name, LBufHome home, int64_t n);
LBuffer *kit_typed(Kit *k, const char *name, LBufHome home, DType t, Shape s);
/* A kernel reading reads[] and writing writes[] (NULL-terminated arrays). */
LKernel *kit_kernel(Kit *k, const char *name, LBuffer *const *reads, LBuffer *const *writes);
/* The same, appended to an entry. */
LKernel *kit_call(Kit *k, LEntryKind e, const char *name, LBuffer *const *reads,
                  LBuffer *const *writes);

/* True iff the byte ranges of two buffers intersect. */
int kit_overlap(const LBuffer *a, const LBuffer *b);

/* A layered network's training step, as the lowering would emit it:
 * forward kernels saving every activation, a loss kernel, backward kernels
 * producing each layer's error and weight gradient, an SGD update per layer,
 * and a predict entry. act[i] are per-sample activation sizes (f32 elements,
 * act[0] is the input), par[i] the parameter elements of layer i (0: none). */
void kit_layered_model(Kit *k, int nlayers, const int64_t *act, const int64_t *par);

#endif
