/* libFuzzer harness for the whole pipeline octoc runs for --emit=c: .net
 * bytes → net_compile → every pass (verifying after each, as a debug octoc
 * does) → loop verify → the plan, the C code, the header and the standalone
 * main, written to a memstream. Errors in the input are fine; an internal
 * error (a pass that produced invalid IR, a pass or the backend failing
 * without saying why, a refusal the front end should have made) is a
 * finding and aborts, as do crashes and sanitizer reports.
 *
 * Shapes stay small so one run is fast: the batch is 2, and a model with a
 * value of more than 2^22 elements, a network of more than 2000 ops or an
 * attribute number above 4096 (a kernel that wide is unrolled tap by tap)
 * is skipped after shape inference. Run with `tests/fuzz/run.sh pipeline`;
 * the suite replays its seeds (fuzz.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_writer.h"
#include "c_backend.h"
#include "entry_plan.h"
#include "frontend.h"
#include "fuzz.h"
#include "loop_verify.h"
#include "pass.h"
#include "recipe.h"

enum { FUZZ_BATCH = 2, MAX_VALUE_NUMEL = 1 << 22, MAX_OPS = 2000, MAX_ATTR_INT = 4096 };

/* True when the graph is small enough to compile in well under a second. */
static bool small_enough(const Graph *g) {
  if (g->nnodes > MAX_OPS) return false;
  for (int i = 0; i < g->nvalues; i++) {
    const Shape *s = &g->values[i]->type.shape;
    if (shape_known(s) && shape_numel(s) > MAX_VALUE_NUMEL) return false;
  }
  for (int i = 0; i < g->nnodes; i++)
    for (int j = 0; j < g->nodes[i]->nattrs; j++) {
      const Attr *at = &g->nodes[i]->attrs[j];
      if (at->kind == ATTR_INT && at->i > MAX_ATTR_INT) return false;
      for (int k = 0; at->kind == ATTR_INTS && k < at->n; k++)
        if (at->ints[k] > MAX_ATTR_INT) return false;
    }
  return true;
}

/* True when a diagnostic so far is an internal error: a message line
 * ("octoc: error: internal error: ..." or "fuzz.net:L:C: error: internal
 * error: ..."), not a quoted source line (those start with spaces), which
 * may hold any text. */
static bool says_internal(FILE *diag_out, char **text) {
  fflush(diag_out);
  for (const char *line = *text; line && *line;) {
    const char *end = strchr(line, '\n');
    size_t n = end ? (size_t)(end - line) : strlen(line);
    static const char *const marks[] = {"octoc: error: internal error", "error: internal error"};
    if (strncmp(line, marks[0], strlen(marks[0])) == 0) return true;
    if (strncmp(line, "fuzz.net:", 9) == 0) {
      const char *hit = strstr(line, marks[1]);
      if (hit && (size_t)(hit - line) < n) return true;
    }
    line = end ? end + 1 : NULL;
  }
  return false;
}

/* A finding: print what the pipeline said, then abort for libFuzzer. */
static void finding(const char *what, FILE *diag_out, char **text) {
  fflush(diag_out);
  fprintf(stderr, "fuzz_pipeline: %s\n%s", what, *text ? *text : "");
  abort();
}

/* Plan and C emission, as write_c in compiler/emit.c does it. */
static void emit_c(const Module *m, const Recipe *r) {
  char *text = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&text, &len);
  if (!out) return;
  ProgramPlan plan;
  EmitOptions eo = {.header_name = "fuzz.h", .with_main = true, .epochs_default = r->epochs,
                    .seed_default = r->seed, .input_mean = r->input.mean,
                    .input_std = r->input.std, .errors = out};
  bool ok = plan_build(&plan, m->loops, "c backend", out) && c_backend.emit_code(&plan, &eo, out) &&
            api_write_header(out, &plan, &eo) && api_write_main(out, &plan, &eo);
  fclose(out);
  if (!ok) {
    fprintf(stderr, "fuzz_pipeline: the C backend refused a verified program\n%s",
            text ? text : "");
    abort();
  }
  free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&text, &len);
  if (!out) return 0;
  Arena *a = arena_new();
  Diag *d = diag_new(out);
  Recipe r;
  recipe_defaults(&r);
  r.batch = FUZZ_BATCH;
  Graph *g = net_compile(a, d, "fuzz.net", (const char *)data, size, FUZZ_BATCH);
  if (g && diag_error_count(d) > 0) finding("a graph returned with errors", out, &text);
  if (g) {
    Module m = {.arena = a, .diag = d, .graph = g, .recipe = &r};
    int count;
    const Pass *const *passes = pass_registry(&count);
    PassOptions popt = {.verify_each = true, .dump = out};
    /* Up to shape inference first, to see the sizes. */
    int first = 0;
    for (int i = 0; i < count; i++)
      if (strcmp(passes[i]->name, "shape-infer") == 0) first = i + 1;
    bool ok = pass_run(&m, passes, first, &popt);
    if (ok && small_enough(m.graph)) {
      ok = pass_run(&m, passes + first, count - first, &popt);
      if (ok && (!m.loops || !lprog_verify(m.loops, d)))
        finding("the pipeline ended without a verified program", out, &text);
      if (ok) emit_c(&m, &r);
    }
    if (says_internal(out, &text)) finding("internal error", out, &text);
    if (!ok && diag_error_count(d) == 0) finding("a pass failed without an error", out, &text);
  }
  diag_free(d);
  arena_free(a);
  fclose(out);
  free(text);
  return 0;
}
