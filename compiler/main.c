/* octoc, the driver: options → recipe → front end (or IR reader) → pass
 * pipeline → the requested output. Each step is one call; the pipeline itself
 * is the pass manager's table (passes/pass_manager.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "diag.h"
#include "emit.h"
#include "files.h"
#include "frontend.h"
#include "options.h"
#include "pass.h"
#include "reader.h"
#include "recipe/recipe_io.h"
#include "target.h"

#ifndef OCTO_VERSION
#define OCTO_VERSION "0.0.0"
#endif

enum { EXIT_OK = 0, EXIT_INPUT = 1, EXIT_USAGE = 2 };

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* An input is graph IR if it is named *.ir, or (for other names) if its first
 * word outside comments is `graph`. */
static bool looks_like_ir(const char *path, const char *text) {
  if (ends_with(path, ".ir")) return true;
  if (ends_with(path, ".net")) return false;
  const char *p = text;
  for (;;) {
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
    if (*p != '#') break;
    while (*p && *p != '\n') p++;
  }
  return strncmp(p, "graph", 5) == 0 && (p[5] == ' ' || p[5] == '\t');
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

static Graph *load_model(Arena *a, Diag *d, const Options *o, const Recipe *r) {
  size_t len;
  char *text = read_file(o->input, &len);
  if (!text) {
    fprintf(stderr, "octoc: error: cannot read '%s': %s\n", o->input, strerror(errno));
    return NULL;
  }
  Graph *g;
  if (looks_like_ir(o->input, text)) {
    g = graph_read(a, d, o->input, text, len);
    if (g && o->batch && g->batch != r->batch) {
      diag_error(d, (SrcLoc){0}, "%s was built for batch %d; --batch %d cannot re-batch graph IR "
                                 "(compile the .net instead)", o->input, g->batch, r->batch);
      g = NULL;
    }
  } else {
    g = net_compile(a, d, o->input, text, len, r->batch);
  }
  free(text);
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

/* This octoc trains in FP32 only: a recipe asking for INT8, LAC, PRC or EOQ
 * is refused for code generation rather than silently compiled as FP32
 * (graph-level outputs only warn, so such recipes can still be inspected). */
static bool check_precision(const Recipe *r, const Options *o, bool generating) {
  Precision p = r->precision;
  const char *where = "the recipe";
  for (int i = 0; i < r->nlayers && p == PRECISION_FP32; i++)
    if ((r->layers[i].set & LAYER_PRECISION) && r->layers[i].precision != PRECISION_FP32) {
      p = r->layers[i].precision;
      where = r->layers[i].name;
    }
  if (p == PRECISION_FP32) return true;
  fprintf(stderr, "octoc: %s: precision '%s' (%s%s%s) is not implemented yet: this octoc trains "
                  "in fp32 only; INT8, LAC, PRC and EOQ come with the INT8 passes\n",
          generating ? "error" : "warning", precision_name(p), where,
          o->config ? " in " : "", o->config ? o->config : "");
  return !generating;
}

/* How many passes of the pipeline to run: the graph passes only (through
 * "verify") for graph-level outputs, all of them when loop IR is needed. */
static int pipeline_length(const Options *o) {
  int count;
  const Pass *const *all = pass_registry(&count);
  if (emit_needs_loops(o->emit) || o->print_after_all || o->print_before_all) return count;
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

static int compile(const Options *o, const Target *target) {
  Arena *a = arena_new();
  Diag *d = diag_new(stderr);
  Recipe recipe;
  int status = load_recipe(&recipe, a, d, o);
  Graph *g = NULL;
  if (status == EXIT_OK) {
    g = load_model(a, d, o, &recipe);
    if (!g) status = EXIT_INPUT;
  }
  if (status == EXIT_OK && !check_layer_overrides(&recipe, g, d)) status = EXIT_INPUT;
  if (status == EXIT_OK && !check_precision(&recipe, o, emit_needs_loops(o->emit)))
    status = EXIT_INPUT;
  Module m = {a, d, g, &recipe, NULL};
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
    if (!pass_run(&m, passes, pipeline_length(o), &popt)) status = EXIT_INPUT;
  }
  if (status == EXIT_OK && !emit_output(o, &m, target)) status = EXIT_INPUT;
  diag_free(d);
  arena_free(a);
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
  const Target *target = o.target ? target_lookup(o.target) : target_default();
  if (!emit_resolve(&o)) return EXIT_USAGE;
  if (!check_pass_names(o.print_before, o.nprint_before, "--print-before") ||
      !check_pass_names(o.print_after, o.nprint_after, "--print-after"))
    return EXIT_USAGE;
  return compile(&o, target);
}
