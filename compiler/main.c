/* octoc, the driver: options → recipe → front end (or IR reader) → pass
 * pipeline → the requested output. Each step is one call; the pipeline itself
 * is the pass manager's table (passes/pass_manager.c). Loop IR (.loops) skips
 * the recipe and the passes: it is read, verified and handed to the backend,
 * so a backend can be tested on hand-written programs through octoc. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "diag.h"
#include "emit.h"
#include "files.h"
#include "frontend.h"
#include "llvm_machine.h"
#include "loop_reader.h"
#include "expand_math.h"
#include "loop_verify.h"
#include "options.h"
#include "pass.h"
#include "reader.h"
#include "recipe/recipe_io.h"
#include "target.h"
#include "toolchain.h"

#ifndef OCTO_VERSION
#define OCTO_VERSION "0.0.0"
#endif

enum { EXIT_OK = 0, EXIT_INPUT = 1, EXIT_USAGE = 2 };

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* True when the first word of text outside `#` comments is `word`. */
static bool first_word_is(const char *text, const char *word) {
  const char *p = text;
  for (;;) {
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
    if (*p != '#') break;
    while (*p && *p != '\n') p++;
  }
  size_t n = strlen(word);
  return strncmp(p, word, n) == 0 && (p[n] == ' ' || p[n] == '\t');
}

typedef enum { INPUT_NET, INPUT_GRAPH_IR, INPUT_LOOP_IR } InputKind;

/* The extension decides (.net, .ir, .loops); for other names the first word
 * (`graph` or `program`) does; an unreadable file (text NULL) is a .net. */
static InputKind input_kind(const char *path, const char *text) {
  if (ends_with(path, ".ir")) return INPUT_GRAPH_IR;
  if (ends_with(path, ".loops")) return INPUT_LOOP_IR;
  if (ends_with(path, ".net") || !text) return INPUT_NET;
  if (first_word_is(text, "graph")) return INPUT_GRAPH_IR;
  if (first_word_is(text, "program")) return INPUT_LOOP_IR;
  return INPUT_NET;
}

/* Checks every pass name given to --print-before/--print-after. */
static bool check_pass_names(const char *const *names, int n, const char *opt) {
  for (int i = 0; i < n; i++) {
    if (pass_lookup(names[i])) continue;
    fprintf(stderr, "octoc: error: %s=%s: no pass named '%s'; passes:", opt, names[i], names[i]);
    int count;
    const Pass *const *all = pass_registry(&count);
    for (int j = 0; j < count; j++) fprintf(stderr, " %s", all[j]->name);
    fputc('\n', stderr);
    return false;
  }
  return true;
}

static void list_passes(void) {
  int count;
  const Pass *const *all = pass_registry(&count);
  for (int i = 0; i < count; i++) printf("%-16s %s\n", all[i]->name, all[i]->summary);
}

/* Loads --config and applies --set/--batch; returns an exit status. */
static int load_recipe(Recipe *r, Arena *a, Diag *d, const Options *o) {
  recipe_defaults(r);
  if (o->config) {
    size_t len;
    char *text = read_file(o->config, &len);
    if (!text) {
      fprintf(stderr, "octoc: error: cannot read recipe '%s': %s\n", o->config, strerror(errno));
      return EXIT_INPUT;
    }
    bool ok = recipe_load(r, a, d, o->config, text, len);
    free(text);
    if (!ok) return EXIT_INPUT;
  }
  char err[512];
  for (int i = 0; i < o->nsets; i++)
    if (!recipe_set(r, a, o->sets[i], err, sizeof err)) {
      fprintf(stderr, "octoc: error: --set %s: %s\n", o->sets[i], err);
      return EXIT_USAGE;
    }
  const struct {
    const char *flag, *key, *value;
  } shorthands[] = {{"--batch", "batch", o->batch},
                    {"--epochs", "epochs", o->epochs},
                    {"--seed", "seed", o->seed},
                    {"--lr", "optimizer.lr", o->lr},
                    {"--precision", "precision", o->precision}};
  for (size_t i = 0; i < sizeof shorthands / sizeof shorthands[0]; i++) {
    if (!shorthands[i].value) continue;
    char *assign = arena_printf(a, "%s=%s", shorthands[i].key, shorthands[i].value);
    if (!recipe_set(r, a, assign, err, sizeof err)) {
      fprintf(stderr, "octoc: error: %s %s: %s\n", shorthands[i].flag, shorthands[i].value, err);
      return EXIT_USAGE;
    }
  }
  return EXIT_OK;
}

/* text is the input file's contents, NULL when it could not be read (errno
 * then in read_errno). */
static Graph *load_model(Arena *a, Diag *d, const Options *o, const Recipe *r, const char *text,
                         size_t len, int read_errno) {
  if (!text) {
    fprintf(stderr, "octoc: error: cannot read '%s': %s\n", o->input, strerror(read_errno));
    return NULL;
  }
  Graph *g;
  if (input_kind(o->input, text) == INPUT_GRAPH_IR) {
    g = graph_read(a, d, o->input, text, len);
    if (g && o->batch && g->batch != r->batch) {
      diag_error(d, (SrcLoc){0}, "%s was built for batch %d; --batch %d cannot re-batch graph IR "
                                 "(compile the .net instead)", o->input, g->batch, r->batch);
      g = NULL;
    }
  } else {
    g = net_compile(a, d, o->input, text, len, r->batch);
  }
  return diag_error_count(d) ? NULL : g;
}

/* Every `layers:` override must name a layer of the network. */
static bool check_layer_overrides(const Recipe *r, const Graph *g, Diag *d) {
  bool ok = true;
  for (int i = 0; i < r->nlayers; i++) {
    const RecipeLayer *l = &r->layers[i];
    bool found = false;
    for (int j = 0; j < g->nnodes && !found; j++)
      found = g->nodes[j]->name && strcmp(g->nodes[j]->name, l->name) == 0;
    if (found) continue;
    if (l->loc.file)
      diag_error(d, l->loc, "no layer named '%s' in network '%s'", l->name, g->name);
    else
      fprintf(stderr, "octoc: error: --set layers.%s: no layer named '%s' in network '%s'\n",
              l->name, l->name, g->name);
    ok = false;
  }
  return ok;
}

/* What this octoc trains in: FP32 and INT8 (the quantize pass), with LAC
 * and PRC (their passes): every precision but EOQ. A recipe asking for
 * what is not implemented (EOQ) is refused for code generation rather than silently compiled
 * without it; graph-level outputs and the report only warn, so such recipes
 * can still be inspected, and the report then stops after the graph passes
 * (each layer's precision, LAC and PRC, and no memory plan). */
static bool precision_implemented(Precision p) {
  return p != PRECISION_EOQ;
}

/* The first precision the recipe asks for (globally or in a layer
 * override) that is not implemented, naming where; fp32 if none. */
static Precision requested_unimplemented(const Recipe *r, const char **where) {
  *where = "the recipe";
  if (!precision_implemented(r->precision)) return r->precision;
  for (int i = 0; i < r->nlayers; i++)
    if ((r->layers[i].set & LAYER_PRECISION) && !precision_implemented(r->layers[i].precision)) {
      *where = r->layers[i].name;
      return r->layers[i].precision;
    }
  return PRECISION_FP32;
}

static bool check_precision(const Recipe *r, const Options *o, bool generating) {
  const char *where;
  Precision p = requested_unimplemented(r, &where);
  if (p == PRECISION_FP32) return true;
  fprintf(stderr, "octoc: %s: precision '%s' (%s%s%s) is not implemented yet: this octoc trains "
                  "in fp32, int8, int8-lac, int8-prc and octo; EOQ comes later%s\n",
          generating ? "error" : "warning", precision_name(p), where,
          o->config ? " in " : "", o->config ? o->config : "",
          !generating && o->emit == EMIT_REPORT ? " (report without a memory plan)" : "");
  return !generating;
}

/* Whether the pipeline stops after the graph passes whatever the output
 * (a report of an unimplemented precision, see check_precision). */
static bool graph_passes_only(const Recipe *r, const Options *o) {
  const char *where;
  return o->emit == EMIT_REPORT && requested_unimplemented(r, &where) != PRECISION_FP32;
}

/* The standalone trainer (--main) reads IDX labels, which are bytes: a
 * classifier with more than 256 classes would build and then refuse every
 * run. The library API takes i32 labels, so only --main is refused. */
enum { MAIN_MAX_CLASSES = 256 };

static bool check_main_labels(const Options *o, const Graph *g, Diag *d) {
  if (!o->emit_main || (o->emit != EMIT_C && o->emit != EMIT_EXE)) return true;
  bool ok = true;
  for (int i = 0; i < g->nvalues; i++) {
    const Value *v = g->values[i];
    if (v->kind != VAL_LABEL || v->classes <= MAIN_MAX_CLASSES) continue;
    diag_error(d, v->loc, "label '%s' has %lld classes; the standalone trainer (--main) reads "
                          "IDX labels, which are bytes, so it takes at most %d (the library API "
                          "has no such limit)", v->name, (long long)v->classes, MAIN_MAX_CLASSES);
    ok = false;
  }
  return ok;
}

/* How many passes of the pipeline to run: the graph passes only (through
 * "verify") for graph-level outputs, all of them when loop IR is needed. */
static int pipeline_length(const Options *o, bool graph_only) {
  int count;
  const Pass *const *all = pass_registry(&count);
  if (!graph_only && (emit_needs_loops(o->emit) || o->print_after_all || o->print_before_all))
    return count;
  int n = count;
  for (int i = 0; i < count; i++)
    if (strcmp(all[i]->name, "verify") == 0) n = i + 1;
  /* ... but always far enough to honour --print-before/--print-after. */
  for (int i = 0; i < count; i++) {
    for (int j = 0; j < o->nprint_after; j++)
      if (strcmp(all[i]->name, o->print_after[j]) == 0 && i + 1 > n) n = i + 1;
    for (int j = 0; j < o->nprint_before; j++)
      if (strcmp(all[i]->name, o->print_before[j]) == 0 && i + 1 > n) n = i + 1;
  }
  return n;
}

/* The first option a loop-IR input cannot honour, with the reason; NULL when
 * there is none. Loop IR comes after the graph passes and the recipe. */
static const char *loop_ir_conflict(const Options *o, const char **why) {
  *why = "loop IR has no graph; compile the .net or .ir for it";
  if (emit_needs_graph(o->emit)) return emit_name(o->emit);
  *why = "the recipe was applied when the program was lowered; give it when compiling the .net";
  const struct {
    bool given;
    const char *name;
  } recipe[] = {{o->config != NULL, "--config"}, {o->nsets > 0, "--set"},
                {o->batch != NULL, "--batch"},   {o->epochs != NULL, "--epochs"},
                {o->seed != NULL, "--seed"},     {o->lr != NULL, "--lr"},
                {o->precision != NULL, "--precision"}},
    passes[] = {{o->nprint_before > 0, "--print-before"}, {o->nprint_after > 0, "--print-after"},
                {o->print_before_all, "--print-before-all"},
                {o->print_after_all, "--print-after-all"},
                {o->verify_each == 1, "--verify-each"}, {o->verify_each == 0, "--no-verify-each"},
                {o->no_fuse, "--no-fuse"}};
  for (size_t i = 0; i < sizeof recipe / sizeof recipe[0]; i++)
    if (recipe[i].given) return recipe[i].name;
  *why = "no passes run on loop IR (it is verified once, as read)";
  for (size_t i = 0; i < sizeof passes / sizeof passes[0]; i++)
    if (passes[i].given) return passes[i].name;
  return NULL;
}

/* Loop IR in: read, verify, emit. The trainer defaults that come from a
 * recipe (epochs, seed, input normalisation) are the recipe's defaults. */
static int compile_loops(const Options *o, const TargetConfig *target, const char *text,
                         size_t len, int read_errno) {
  const char *why, *conflict = loop_ir_conflict(o, &why);
  if (conflict) {
    fprintf(stderr, "octoc: error: %s%s: not for loop IR input '%s': %s\n",
            conflict[0] == '-' ? "" : "--emit=", conflict, o->input, why);
    return EXIT_USAGE;
  }
  if (!text) {
    fprintf(stderr, "octoc: error: cannot read '%s': %s\n", o->input, strerror(read_errno));
    return EXIT_INPUT;
  }
  Arena *a = arena_new();
  Diag *d = diag_new(stderr);
  Recipe defaults;
  recipe_defaults(&defaults);
  Module m = {.arena = a, .diag = d, .graph = NULL, .recipe = &defaults,
              .loops = lprog_read(a, d, o->input, text, len), .target = target,
              .libm_math = o->real_double};
  bool ok = m.loops && lprog_verify(m.loops, d);
  /* A program written before the pass "math" existed, or by hand, may
   * still have exp, log, cos or pow: written out as the pipeline would. */
  if (ok && !m.libm_math) {
    expand_math(m.loops);
    ok = lprog_verify(m.loops, d);
  }
  ok = ok && emit_output(o, &m);
  diag_free(d);
  arena_free(a);
  return ok ? EXIT_OK : EXIT_INPUT;
}

static int compile(const Options *o, const TargetConfig *target) {
  size_t len = 0;
  char *text = read_file(o->input, &len);
  int read_errno = errno;
  if (input_kind(o->input, text) == INPUT_LOOP_IR) {
    int status = compile_loops(o, target, text, len, read_errno);
    free(text);
    return status;
  }
  Arena *a = arena_new();
  Diag *d = diag_new(stderr);
  Recipe recipe;
  int status = load_recipe(&recipe, a, d, o);
  Graph *g = NULL;
  if (status == EXIT_OK) {
    g = load_model(a, d, o, &recipe, text, len, read_errno);
    if (!g) status = EXIT_INPUT;
  }
  if (status == EXIT_OK && !check_layer_overrides(&recipe, g, d)) status = EXIT_INPUT;
  if (status == EXIT_OK && !check_main_labels(o, g, d)) status = EXIT_INPUT;
  bool graph_only = graph_passes_only(&recipe, o);
  if (status == EXIT_OK &&
      !check_precision(&recipe, o, emit_needs_loops(o->emit) && !graph_only))
    status = EXIT_INPUT;
  Module m = {.arena = a, .diag = d, .graph = g, .recipe = &recipe, .target = target,
              .libm_math = o->real_double, .no_fuse = o->no_fuse,
              .dot4_i8 = o->backend == BACKEND_LLVM && llvm_maps_dot4_i8(target),
              .dot4_u8i8 = o->backend == BACKEND_LLVM && llvm_maps_dot4_u8i8(target)};
  if (status == EXIT_OK) {
    int count;
    const Pass *const *passes = pass_registry(&count);
    (void)count;
    PassOptions popt = {
        .print_before = o->print_before,
        .nprint_before = o->nprint_before,
        .print_after = o->print_after,
        .nprint_after = o->nprint_after,
        .print_before_all = o->print_before_all,
        .print_after_all = o->print_after_all,
#ifdef NDEBUG
        .verify_each = o->verify_each == 1,
#else
        .verify_each = o->verify_each != 0,
#endif
        .dump = stderr,
    };
    if (!pass_run(&m, passes, pipeline_length(o, graph_only), &popt)) status = EXIT_INPUT;
  }
  if (status == EXIT_OK && !emit_output(o, &m)) status = EXIT_INPUT;
  diag_free(d);
  arena_free(a);
  free(text);
  return status;
}

int main(int argc, char **argv) {
  Options o;
  if (!options_parse(&o, argc, argv, stderr)) return EXIT_USAGE;
  if (o.help) {
    options_help(stdout);
    return EXIT_OK;
  }
  if (o.version) {
    printf("octoc %s (Octo on-device training compiler)\n", OCTO_VERSION);
    return EXIT_OK;
  }
  if (o.list_targets) {
    target_list(stdout);
    return EXIT_OK;
  }
  if (o.list_passes) {
    list_passes();
    return EXIT_OK;
  }
  if (!o.input) {
    fputs("octoc: error: no input file (usage: octoc [options] MODEL.net; see --help)\n", stderr);
    return EXIT_USAGE;
  }
  if (o.target && !target_lookup(o.target)) {
    fprintf(stderr, "octoc: error: unknown target '%s'; known targets:\n", o.target);
    target_list(stderr);
    return EXIT_USAGE;
  }
  TargetConfig target;
  char err[256];
  /* No -target and no -mcpu: the host CPU with all its features, as Zig
   * does (-mcpu=generic asks for the portable baseline). */
  const char *mcpu = o.mcpu;
  if (!o.target && !mcpu && target_is_host(target_default())) mcpu = "native";
  if (!target_configure(&target, o.target ? target_lookup(o.target) : target_default(), mcpu,
                        o.mattr, err, sizeof err)) {
    fprintf(stderr, "octoc: error: %s\n", err);
    return EXIT_USAGE;
  }
  if (!emit_resolve(&o)) return EXIT_USAGE;
  if (o.emit != EMIT_NONE && !output_folder_exists(o.output)) return EXIT_INPUT;
  if (!emit_choose_backend(&o, &target)) return EXIT_USAGE;
  if (!check_pass_names(o.print_before, o.nprint_before, "--print-before") ||
      !check_pass_names(o.print_after, o.nprint_after, "--print-after"))
    return EXIT_USAGE;
  return compile(&o, &target);
}
