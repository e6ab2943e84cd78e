/* The pass manager: a named list of passes over a Module, run in order, with
 * the verifier between passes (every pass in debug builds; in every build
 * after the passes that build or change the loop IR) and LLVM-style dumps:
 * --print-before=P, --print-after=P, --print-after-all (to the dump stream). */
#ifndef OCTO_PASSES_PASS_H
#define OCTO_PASSES_PASS_H

#include <stdbool.h>
#include <stdio.h>

#include "arena.h"
#include "diag.h"
#include "graph.h"
#include "target.h"

struct Recipe;
struct LProgram;

/* Everything one compilation has: the graph, the recipe it was built with,
 * the target it is for, and after lowering the loop IR. */
typedef struct Module {
  Arena *arena;
  Diag *diag;
  Graph *graph;
  const struct Recipe *recipe;  /* may be NULL: defaults */
  struct LProgram *loops;       /* after lowering to loop IR; NULL before */
  const TargetConfig *target;   /* may be NULL: the host's default target */
  /* Keep exp, log, cos and pow as the C library's: --emit-real=double,
   * the gradient checks' double-precision reference. Otherwise the pass
   * "math" writes them out in the loop IR. */
  bool libm_math;
  /* --no-fuse: the fuse pass leaves every node its own kernel. */
  bool no_fuse;
  /* The int8 products may sum int8 quads (dot4_i8): the target has a 4 x
   * int8 dot product and the backend (LLVM) maps dot4_i8 to it
   * (llvm_maps_dot4_i8); the C backend keeps the int16 pairs
   * (passes/lower_int8.c). */
  bool dot4_i8;
  /* ... and may move one operand into unsigned range (dot4_u8i8: x86
   * VNNI's vpdpbusd is unsigned x signed), the sums corrected once per
   * element (passes/lower_int8.c). */
  bool dot4_u8i8;
} Module;

typedef struct Pass {
  const char *name;    /* used by --print-after=NAME */
  const char *summary; /* one line, for `octoc --list-passes` */
  bool (*run)(Module *m); /* false: errors were reported, stop */
} Pass;

typedef struct PassOptions {
  const char *const *print_before; /* pass names */
  int nprint_before;
  const char *const *print_after;
  int nprint_after;
  bool print_before_all, print_after_all;
  bool verify_each; /* verify after every pass (the loop IR always is) */
  FILE *dump;       /* where dumps go: stderr in the driver */
} PassOptions;

/* All passes octoc knows, in pipeline order. */
const Pass *const *pass_registry(int *count);
const Pass *pass_lookup(const char *name);
/* Runs passes[0..n) in order. Stops at the first pass that fails or leaves
 * errors in m->diag, or (with verify_each, and after every pass once there
 * is loop IR) leaves IR the verifier refuses: an internal error naming the
 * pass. Returns true when all ran cleanly. */
bool pass_run(Module *m, const Pass *const *passes, int n, const PassOptions *opt);

#endif
