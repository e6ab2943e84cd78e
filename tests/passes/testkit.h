/* Helpers for the pass tests: a graph under construction with a Diag that
 * writes to memory (so messages can be asserted), and one-line builders for
 * every op with the language's usual attributes. */
#ifndef OCTO_TESTS_PASSES_TESTKIT_H
#define OCTO_TESTS_PASSES_TESTKIT_H

#include <stdbool.h>
#include <stdio.h>

#include "graph.h"
#include "pass.h"

typedef struct Kit {
  Arena *arena;
  Graph *g;
  Diag *diag;
  FILE *err; /* the Diag's memstream */
  char *text;
  size_t len;
  Module m;
  int line; /* each built node gets the next source line */
  const char *file;
} Kit;

void kit_init(Kit *k, const char *name);
void kit_free(Kit *k);
/* Everything the Diag printed so far (NUL-terminated). */
const char *kit_messages(Kit *k);
bool kit_contains(Kit *k, const char *s);
int kit_count(Kit *k, const char *s); /* occurrences of s in the messages */

SrcLoc kit_loc(Kit *k);
Value *kit_input(Kit *k, const char *name, int rank, const int64_t *dims);
Value *kit_label(Kit *k, const char *name, int64_t classes);
Value *kit_param(Kit *k, const char *name, int rank, const int64_t *dims);
Value *kit_state(Kit *k, const char *name, int rank, const int64_t *dims);
Node *kit_node(Kit *k, OpKind op, const char *name, Value **in, int nin);
/* conv2d(x, weight [filters,?,kh,kw], bias [filters]) with square attrs. */
Node *kit_conv(Kit *k, const char *name, Value *x, int64_t filters, int64_t kernel,
               int64_t stride, int64_t pad, int64_t groups);
Node *kit_dense(Kit *k, const char *name, Value *x, int64_t units);
Node *kit_pool(Kit *k, OpKind op, const char *name, Value *x, int64_t kernel, int64_t stride,
               int64_t pad);
Node *kit_unary(Kit *k, OpKind op, const char *name, Value *x);
/* LeNet-5 of DESIGN.md (c1 pad 2), batch 32, not yet inferred. */
void kit_lenet(Kit *k);

bool kit_shape_is(const Value *v, int rank, const int64_t *dims);
bool kit_run_shape_infer(Kit *k);

#endif
