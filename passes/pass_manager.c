/* The pass manager: the pipeline as one table, read top to bottom (QBE's
 * main.c in data form), and the loop that runs it with LLVM-style dumps
 * (--print-before/--print-after/--print-after-all) and, on request, the
 * verifier after every pass so a broken pass is caught where it broke.
 * Whatever is requested, invalid IR never reaches a backend: the pipeline's
 * own `verify` pass checks the graph after the graph passes, and the loop IR
 * is verified after every pass that builds or changes it (lower, memplan),
 * so a release build (no verify-each) refuses it too. */
#include <stdlib.h>
#include <string.h>

#include "pass.h"
#include "loop_printer.h"
#include "loop_verify.h"
#include "printer.h"
#include "verify.h"

/* Each pass lives in its own file, passes/<name>.c. */
extern const Pass pass_normalize_input;
extern const Pass pass_shape_infer;
extern const Pass pass_lac;
extern const Pass pass_autodiff;
extern const Pass pass_optimizer;
extern const Pass pass_prc;
extern const Pass pass_quantize;
extern const Pass pass_dce;
extern const Pass pass_fuse;
extern const Pass pass_lower;
extern const Pass pass_memplan;
extern const Pass pass_math;

static bool verify_graph(Module *m) { return graph_verify(m->graph, m->diag, VERIFY_SHAPES); }

static const Pass pass_verify = {
    "verify",
    "check the graph IR: structure, attributes and every shape against its op rule",
    verify_graph,
};

/* The pipeline, in order. Adding a pass is one line here. */
static const Pass *const registry[] = {
    &pass_normalize_input, /* u8 inputs: the program normalises its pixels */
    &pass_shape_infer, /* graph IR: every shape from the inputs */
    &pass_lac,         /* + LAC compensation layers (int8-lac, octo) */
    &pass_autodiff,    /* + the backward graph */
    &pass_optimizer,   /* + the parameter updates */
    &pass_prc,         /* + PRC range clips of what products quantize */
    &pass_quantize,    /* INT8 layers: int8 products of quantized operands */
    &pass_dce,         /* - what nothing needs */
    &pass_fuse,        /* INT8 kernels absorb the elementwise nodes next to them */
    &pass_verify,      /* the training graph is complete */
    &pass_lower,       /* loop IR: one kernel per node */
    &pass_math,        /* exp, log, cos, pow as arithmetic: the same bits everywhere */
    &pass_memplan,     /* offsets in the state block and the work arena */
};

const Pass *const *pass_registry(int *count) {
  *count = (int)(sizeof registry / sizeof registry[0]);
  return registry;
}

const Pass *pass_lookup(const char *name) {
  int n;
  const Pass *const *all = pass_registry(&n);
  for (int i = 0; i < n; i++)
    if (strcmp(all[i]->name, name) == 0) return all[i];
  return NULL;
}

static bool name_in(const char *name, const char *const *list, int n) {
  for (int i = 0; i < n; i++)
    if (list[i] && strcmp(list[i], name) == 0) return true;
  return false;
}

/* Dumps the IR the module is at: the graph, or the loop IR once lowered. */
static void print_ir(FILE *out, const Module *m) {
  if (m->loops)
    lprog_print(out, m->loops);
  else
    graph_print(out, m->graph);
}

/* The dump is built in memory and written at once: stderr is unbuffered,
 * and a resnet20 loop-IR dump written piecemeal takes seconds. */
static void dump(const PassOptions *opt, const char *when, const Pass *p, const Module *m) {
  FILE *out = opt->dump ? opt->dump : stderr;
  fprintf(out, "*** IR Dump %s %s ***\n", when, p->name);
  char *text = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&text, &len);
  if (mem) {
    print_ir(mem, m);
    if (fclose(mem) == 0 && text) fwrite(text, 1, len, out);
    free(text);
  } else {
    print_ir(out, m);
  }
  fflush(out);
}

/* Shapes are checked by the verifier once every value has one: after
 * shape-infer, or from the start when the graph came in inferred. */
static bool all_shapes_known(const Graph *g) {
  for (int i = 0; i < g->nvalues; i++)
    if (!shape_known(&g->values[i]->type.shape)) return false;
  return true;
}

static bool verify_after(Module *m, const Pass *p, bool shapes) {
  bool ok = m->loops ? lprog_verify(m->loops, m->diag)
                     : graph_verify(m->graph, m->diag, shapes ? VERIFY_SHAPES : VERIFY_STRUCTURE);
  if (ok) return true;
  SrcLoc none = {0};
  diag_error(m->diag, none, "internal error: pass '%s' produced invalid IR", p->name);
  return false;
}

bool pass_run(Module *m, const Pass *const *passes, int n, const PassOptions *opt) {
  static const PassOptions no_options = {0};
  if (!opt) opt = &no_options;
  bool shapes = all_shapes_known(m->graph);
  for (int i = 0; i < n; i++) {
    const Pass *p = passes[i];
    if (opt->print_before_all || name_in(p->name, opt->print_before, opt->nprint_before))
      dump(opt, "Before", p, m);
    int errors = diag_error_count(m->diag);
    if (!p->run(m) || diag_error_count(m->diag) > errors) {
      if (p == &pass_verify && !opt->verify_each) {
        SrcLoc none = {0};
        diag_error(m->diag, none, "internal error: a pass before '%s' produced invalid IR "
                   "(--verify-each names it)", p->name);
      }
      return false;
    }
    if (p == &pass_shape_infer) shapes = true;
    if (opt->print_after_all || name_in(p->name, opt->print_after, opt->nprint_after))
      dump(opt, "After", p, m);
    if ((opt->verify_each || m->loops) && !verify_after(m, p, shapes)) return false;
  }
  return true;
}
