/* Unit tests of the recipe loader: defaults, every key, the shipped recipes,
 * command-line overrides, the write/load round trip and the per-layer view.
 * Bad inputs with their exact diagnostics are in test_bad.c. The shipped
 * recipes' folder comes from meson in $OCTO_MODELS. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "recipe/recipe_io.h"

/* --- helpers --- */

typedef struct Loaded {
  Recipe r;
  bool ok;
  char *out; /* diagnostics (malloc'd) */
} Loaded;

static Loaded load(Arena *a, const char *file, const char *text, size_t len) {
  Loaded l = {0};
  size_t n = 0;
  FILE *mem = open_memstream(&l.out, &n);
  ck_assert(mem != NULL);
  Diag *d = diag_new(mem);
  l.ok = recipe_load(&l.r, a, d, file, text, len);
  diag_free(d);
  ck_assert(fclose(mem) == 0);
  return l;
}

/* Loads text that must be valid and print nothing. */
static Recipe load_ok(Arena *a, const char *text) {
  Loaded l = load(a, "recipe.yaml", text, strlen(text));
  ck_assert_msg(l.ok && l.out[0] == 0, "unexpected diagnostics:\n%s", l.out);
  free(l.out);
  return l.r;
}

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  ck_assert(fseek(f, 0, SEEK_END) == 0);
  long n = ftell(f);
  ck_assert(n >= 0);
  ck_assert(fseek(f, 0, SEEK_SET) == 0);
  char *buf = malloc((size_t)n + 1);
  ck_assert(buf != NULL);
  *len = fread(buf, 1, (size_t)n, f);
  ck_assert(*len == (size_t)n);
  fclose(f);
  buf[*len] = 0;
  return buf;
}

static const char *models_dir(void) {
  const char *d = getenv("OCTO_MODELS");
  ck_assert_msg(d != NULL, "OCTO_MODELS is not set (run through meson test)");
  return d;
}

static const char *const shipped[] = {"fp32", "int8", "int8-lac", "int8-prc", "octo", "eoq"};

static Recipe load_shipped(Arena *a, const char *name) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.yaml", models_dir(), name);
  size_t len;
  char *text = slurp(path, &len);
  Loaded l = load(a, path, text, len);
  ck_assert_msg(l.ok && l.out[0] == 0, "%s:\n%s", path, l.out);
  free(l.out);
  free(text);
  return l.r;
}

/* recipe_write to a string. */
static char *written(const Recipe *r) {
  char *out = NULL;
  size_t n = 0;
  FILE *mem = open_memstream(&out, &n);
  ck_assert(mem != NULL);
  ck_assert(recipe_write(mem, r));
  ck_assert(fclose(mem) == 0);
  return out;
}

/* write -> load must give an equal recipe, and writing that again the same
 * text. */
static void check_round_trip(const Recipe *r) {
  Arena *a = arena_new();
  char *text = written(r);
  Recipe back = load_ok(a, text);
  ck_assert_msg(recipe_equal(r, &back), "round trip changed the recipe:\n%s", text);
  char *again = written(&back);
  ck_assert_str_eq(text, again);
  free(again);
  free(text);
  arena_free(a);
}

static void set_ok(Recipe *r, Arena *a, const char *assignment) {
  char err[256];
  bool ok = recipe_set(r, a, assignment, err, sizeof err);
  ck_assert_msg(ok, "recipe_set(\"%s\") failed: %s", assignment, err);
}

/* A rejected override reports `want` (a substring) and leaves r unchanged. */
static void set_fails(const char *assignment, const char *want) {
  Arena *a = arena_new();
  Recipe r, before;
  recipe_defaults(&r);
  set_ok(&r, a, "layers.c1.precision=fp32");
  before = r;
  char err[512];
  ck_assert_msg(!recipe_set(&r, a, assignment, err, sizeof err), "'%s' was accepted",
                assignment);
  ck_assert_msg(strstr(err, want) != NULL, "'%s': error '%s' lacks '%s'", assignment, err,
                want);
  ck_assert(recipe_equal(&r, &before));
  ck_assert_int_eq(r.layers[0].precision, PRECISION_FP32);
  arena_free(a);
}

/* --- defaults --- */

START_TEST(defaults_are_the_reference_recipe) {
  Recipe r;
  recipe_defaults(&r);
  ck_assert_int_eq(r.batch, 32);
  ck_assert_int_eq(r.epochs, 5);
  ck_assert(r.seed == 1);
  ck_assert_int_eq(r.optimizer.type, OPTIMIZER_SGD);
  ck_assert(r.optimizer.lr == 0.01 && r.optimizer.momentum == 0.9);
  ck_assert(r.optimizer.weight_decay == 0 && !r.optimizer.nesterov);
  ck_assert_int_eq(r.schedule.type, SCHEDULE_CONSTANT);
  ck_assert_int_eq(r.schedule.warmup_epochs, 0);
  ck_assert(r.loss_scale == 1);
  ck_assert(r.input.mean == 0.5 && r.input.std == 0.5);
  ck_assert_int_eq(r.precision, PRECISION_FP32);
  ck_assert_int_eq(r.rounding.forward, ROUND_STOCHASTIC);
  ck_assert_int_eq(r.rounding.backward, ROUND_NEAREST);
  ck_assert_int_eq(r.rounding.weight_update, ROUND_STOCHASTIC);
  ck_assert_int_eq(r.lac.granularity, LAC_ELEMENT);
  ck_assert(r.lac.lambda == 0.1 && r.lac.init_std == 1e-3 && !r.lac.clip);
  ck_assert_int_eq(r.prc.method, PRC_SCALE);
  ck_assert(r.prc.p == 0.95 && r.prc.z == 2.576);
  ck_assert_uint_eq(r.prc.tensors, PRC_ERROR | PRC_ACTIVATION | PRC_WEIGHT);
  ck_assert(r.eoq.fixup && r.eoq.pow2_scales && !r.eoq.integer_only);
  ck_assert_int_eq(r.nlayers, 0);
}
END_TEST

START_TEST(adam_and_schedule_defaults_per_type) {
  Optimizer o = optimizer_defaults(OPTIMIZER_ADAM);
  ck_assert(o.lr == 0.001 && o.beta1 == 0.9 && o.beta2 == 0.999 && o.eps == 1e-8);
  LrSchedule s = schedule_defaults(SCHEDULE_STEP);
  ck_assert(s.step_epochs == 1 && s.gamma == 0.1);
  ck_assert(schedule_defaults(SCHEDULE_EXPONENTIAL).gamma == 0.95);
  ck_assert(schedule_defaults(SCHEDULE_COSINE).min_lr == 0);
}
END_TEST

START_TEST(empty_or_comment_only_file_is_the_default_recipe) {
  Arena *a = arena_new();
  Recipe def;
  recipe_defaults(&def);
  const char *texts[] = {"", "# nothing here\n\n   # still nothing\n", "---\n", "~\n", "\n\n"};
  for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
    Recipe r = load_ok(a, texts[i]);
    ck_assert_msg(recipe_equal(&r, &def), "text %zu", i);
  }
  Loaded l = load(a, "null.yaml", NULL, 0);
  ck_assert(l.ok);
  free(l.out);
  arena_free(a);
}
END_TEST

/* --- every key --- */

static const char every_key[] =
    "batch: 64\n"
    "epochs: 12\n"
    "seed: 18446744073709551615\n"
    "optimizer: {type: sgd, lr: 0.05, momentum: 0.5, weight_decay: 1e-4, nesterov: true}\n"
    "lr_schedule: {type: step, step_epochs: 3, gamma: 0.5, warmup_epochs: 2}\n"
    "loss_scale: 128\n"
    "input: {mean: 0.1307, std: 0.3081}\n"
    "precision: octo\n"
    "rounding: {forward: nearest, backward: stochastic, weight_update: nearest}\n"
    "lac: {granularity: channel, lambda: 0.25, init_std: 0.01, clip: true}\n"
    "prc: {method: sigma, p: 0.9, z: 3, tensors: [forward_x, forward_w, error]}\n"
    "eoq: {fixup: false, pow2_scales: false, integer_only: true}\n"
    "layers:\n"
    "  c1: {precision: fp32}\n"
    "  \"d 2\":\n"
    "    rounding: {backward: nearest}\n"
    "    lac: {lambda: 0.5}\n"
    "    prc: {tensors: []}\n";

START_TEST(every_key_is_parsed_into_its_field) {
  Arena *a = arena_new();
  Recipe r = load_ok(a, every_key);
  ck_assert_int_eq(r.batch, 64);
  ck_assert_int_eq(r.epochs, 12);
  ck_assert(r.seed == UINT64_MAX);
  ck_assert_int_eq(r.optimizer.type, OPTIMIZER_SGD);
  ck_assert(r.optimizer.lr == 0.05 && r.optimizer.momentum == 0.5);
  ck_assert(r.optimizer.weight_decay == 1e-4 && r.optimizer.nesterov);
  ck_assert_int_eq(r.schedule.type, SCHEDULE_STEP);
  ck_assert(r.schedule.step_epochs == 3 && r.schedule.gamma == 0.5);
  ck_assert_int_eq(r.schedule.warmup_epochs, 2);
  ck_assert(r.loss_scale == 128);
  ck_assert(r.input.mean == 0.1307 && r.input.std == 0.3081);
  ck_assert_int_eq(r.precision, PRECISION_OCTO);
  ck_assert_int_eq(r.rounding.forward, ROUND_NEAREST);
  ck_assert_int_eq(r.rounding.backward, ROUND_STOCHASTIC);
  ck_assert_int_eq(r.rounding.weight_update, ROUND_NEAREST);
  ck_assert_int_eq(r.lac.granularity, LAC_CHANNEL);
  ck_assert(r.lac.lambda == 0.25 && r.lac.init_std == 0.01 && r.lac.clip);
  ck_assert_int_eq(r.prc.method, PRC_SIGMA);
  ck_assert(r.prc.p == 0.9 && r.prc.z == 3);
  ck_assert_uint_eq(r.prc.tensors, PRC_FORWARD_X | PRC_FORWARD_W | PRC_ERROR);
  ck_assert(!r.eoq.fixup && !r.eoq.pow2_scales && r.eoq.integer_only);
  ck_assert_int_eq(r.nlayers, 2);
  const RecipeLayer *c1 = recipe_find_layer(&r, "c1");
  ck_assert(c1 && c1->set == LAYER_PRECISION && c1->precision == PRECISION_FP32);
  ck_assert_int_eq(c1->loc.line, 14);
  ck_assert_int_eq(c1->loc.col, 3);
  ck_assert_str_eq(c1->loc.file, "recipe.yaml");
  const RecipeLayer *d2 = recipe_find_layer(&r, "d 2");
  ck_assert(d2 != NULL);
  ck_assert_uint_eq(d2->set, LAYER_ROUND_BACKWARD | LAYER_LAC_LAMBDA | LAYER_PRC_TENSORS);
  ck_assert_uint_eq(d2->prc.tensors, 0);
  arena_free(a);
}
END_TEST

START_TEST(adam_keys_parsed_and_type_switch_resets_to_adam_defaults) {
  Arena *a = arena_new();
  Recipe r = load_ok(a, "optimizer:\n  betas: [0.8, 0.99]\n  type: adam\n  eps: 1e-6\n");
  ck_assert_int_eq(r.optimizer.type, OPTIMIZER_ADAM);
  ck_assert(r.optimizer.lr == 0.001); /* adam's default, not sgd's 0.01 */
  ck_assert(r.optimizer.beta1 == 0.8 && r.optimizer.beta2 == 0.99);
  ck_assert(r.optimizer.eps == 1e-6);
  ck_assert(r.optimizer.momentum == 0);
  arena_free(a);
}
END_TEST

START_TEST(schedule_types_cosine_and_exponential_parsed) {
  Arena *a = arena_new();
  Recipe r = load_ok(a, "lr_schedule: {warmup_epochs: 1, type: cosine, min_lr: 1e-5}\n");
  ck_assert_int_eq(r.schedule.type, SCHEDULE_COSINE);
  ck_assert(r.schedule.min_lr == 1e-5 && r.schedule.warmup_epochs == 1);
  r = load_ok(a, "lr_schedule: {type: exponential}\n");
  ck_assert_int_eq(r.schedule.type, SCHEDULE_EXPONENTIAL);
  ck_assert(r.schedule.gamma == 0.95);
  arena_free(a);
}
END_TEST

START_TEST(numbers_accept_ints_exponents_and_signs_and_quoted_enums) {
  Arena *a = arena_new();
  Recipe r = load_ok(a, "optimizer: {lr: 1}\nloss_scale: +2.5E+2\nbatch: +8\n"
                        "precision: \"int8-lac\"\nlac: {lambda: .5}\n");
  ck_assert(r.optimizer.lr == 1 && r.loss_scale == 250 && r.batch == 8);
  ck_assert_int_eq(r.precision, PRECISION_INT8_LAC);
  ck_assert(r.lac.lambda == 0.5);
  arena_free(a);
}
END_TEST

START_TEST(empty_section_counts_as_empty_mapping) {
  Arena *a = arena_new();
  Recipe def, r = load_ok(a, "optimizer:\nlac:\nlayers:\n");
  recipe_defaults(&def);
  ck_assert(recipe_equal(&r, &def));
  r = load_ok(a, "layers:\n  c3:\n");
  ck_assert_int_eq(r.nlayers, 1); /* kept, so the driver checks the name */
  ck_assert_uint_eq(r.layers[0].set, 0);
  arena_free(a);
}
END_TEST

/* --- errors: behaviour not covered by the bad/ folder --- */

START_TEST(error_keeps_valid_keys_over_defaults) {
  Arena *a = arena_new();
  const char *text = "batch: 64\nprecision: int4\noptimizer: {lr: 0.5, momentum: 2}\n";
  Loaded l = load(a, "r.yaml", text, strlen(text));
  ck_assert(!l.ok);
  ck_assert_int_eq(l.r.batch, 64);
  ck_assert_int_eq(l.r.precision, PRECISION_FP32);
  ck_assert(l.r.optimizer.lr == 0.5 && l.r.optimizer.momentum == 0.9);
  free(l.out);
  arena_free(a);
}
END_TEST

START_TEST(error_quotes_source_line_with_caret) {
  Arena *a = arena_new();
  const char *text = "batch: 32\noptimizer:\n  lr: -1\n";
  Loaded l = load(a, "my.yaml", text, strlen(text));
  ck_assert(!l.ok);
  ck_assert_str_eq(l.out, "my.yaml:3:7: error: 'optimizer.lr' must be > 0, got -1\n"
                          "    lr: -1\n"
                          "        ^\n");
  free(l.out);
  arena_free(a);
}
END_TEST

START_TEST(duplicate_key_points_back_to_the_first) {
  Arena *a = arena_new();
  const char *text = "lac:\n  clip: true\n  clip: false\n";
  Loaded l = load(a, "d.yaml", text, strlen(text));
  ck_assert(!l.ok);
  ck_assert_ptr_nonnull(strstr(l.out, "d.yaml:3:3: error: duplicate key 'clip'"));
  ck_assert_ptr_nonnull(strstr(l.out, "d.yaml:2:3: note: 'clip' first given here"));
  ck_assert(l.r.lac.clip); /* the first one counts */
  free(l.out);
  arena_free(a);
}
END_TEST

START_TEST(many_unknown_keys_stop_at_the_error_cap) {
  Arena *a = arena_new();
  size_t cap = 200000, n = 0;
  char *text = malloc(cap);
  ck_assert(text != NULL);
  for (int i = 0; n + 32 < cap; i++) n += (size_t)snprintf(text + n, cap - n, "k%d: 1\n", i);
  Loaded l = load(a, "big.yaml", text, n);
  ck_assert(!l.ok);
  ck_assert_ptr_nonnull(strstr(l.out, "too many errors"));
  ck_assert_int_le(l.r.batch, 32);
  free(l.out);
  free(text);
  arena_free(a);
}
END_TEST

START_TEST(errors_still_found_when_diag_already_capped) {
  Arena *a = arena_new();
  char *out = NULL;
  size_t n = 0;
  FILE *mem = open_memstream(&out, &n);
  ck_assert(mem != NULL);
  Diag *d = diag_new(mem);
  for (int i = 0; i <= DIAG_MAX_ERRORS; i++) diag_error(d, (SrcLoc){0}, "earlier phase");
  Recipe r;
  ck_assert(!recipe_load(&r, a, d, "late.yaml", "batch: 0\n", 9));
  ck_assert(recipe_load(&r, a, d, "fine.yaml", "batch: 7\n", 9));
  ck_assert_int_eq(r.batch, 7);
  diag_free(d);
  ck_assert(fclose(mem) == 0);
  free(out);
  arena_free(a);
}
END_TEST

/* Every prefix of every shipped recipe: loads or fails cleanly, never
 * crashes (run under ASan in CI). */
START_TEST(every_prefix_of_shipped_recipes_loads_or_fails_cleanly) {
  for (size_t f = 0; f < sizeof shipped / sizeof shipped[0]; f++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.yaml", models_dir(), shipped[f]);
    size_t len;
    char *text = slurp(path, &len);
    for (size_t n = 0; n <= len; n++) {
      Arena *a = arena_new();
      char *copy = malloc(n + 1);
      ck_assert(copy != NULL);
      memcpy(copy, text, n); /* exact-length buffer: ASan sees overreads */
      Loaded l = load(a, "prefix.yaml", copy, n);
      ck_assert(l.ok || strstr(l.out, "error: ") != NULL);
      free(l.out);
      free(copy);
      arena_free(a);
    }
    free(text);
  }
}
END_TEST

/* Deterministic byte mutations (xorshift) of the octo recipe: YAML's
 * special characters, control bytes and high bytes at random places. Every
 * result loads or fails with a diagnostic; nothing crashes or leaks. */
START_TEST(mutated_recipes_load_or_fail_cleanly) {
  char path[4096];
  snprintf(path, sizeof path, "%s/octo.yaml", models_dir());
  size_t len;
  char *text = slurp(path, &len);
  static const char alphabet[] = ":-[]{},&*!|>'\"#%@`?\t\n\r\0\x80\xff 0a.";
  uint64_t x = 88172645463325252u;
  int failures = 0;
  for (int iter = 0; iter < 1500; iter++) {
    char *copy = malloc(len + 1);
    ck_assert(copy != NULL);
    memcpy(copy, text, len);
    for (int k = 0; k < 1 + iter % 4; k++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      copy[x % len] = alphabet[(x >> 32) % (sizeof alphabet - 1)];
    }
    Arena *a = arena_new();
    Loaded l = load(a, "mutant.yaml", copy, len);
    ck_assert_msg(l.ok || strstr(l.out, "error: ") != NULL, "failed without a message");
    failures += !l.ok;
    free(l.out);
    free(copy);
    arena_free(a);
  }
  ck_assert_int_gt(failures, 50); /* the mutations do break things */
  free(text);
}
END_TEST

/* --- shipped recipes --- */

START_TEST(shipped_recipes_load_cleanly_with_their_precision) {
  static const Precision want[] = {PRECISION_FP32,     PRECISION_INT8, PRECISION_INT8_LAC,
                                   PRECISION_INT8_PRC, PRECISION_OCTO, PRECISION_EOQ};
  Arena *a = arena_new();
  for (size_t i = 0; i < sizeof shipped / sizeof shipped[0]; i++) {
    Recipe r = load_shipped(a, shipped[i]);
    ck_assert_msg(r.precision == want[i], "%s", shipped[i]);
    ck_assert_str_eq(precision_name(r.precision), shipped[i]);
  }
  arena_free(a);
}
END_TEST

START_TEST(shipped_fp32_is_the_reference_recipe) {
  Arena *a = arena_new();
  Recipe r = load_shipped(a, "fp32"), def;
  recipe_defaults(&def);
  ck_assert_int_eq(r.batch, 32);
  ck_assert_int_eq(r.epochs, 5);
  ck_assert(r.seed == 1);
  ck_assert_int_eq(r.optimizer.type, OPTIMIZER_SGD);
  ck_assert(r.optimizer.lr == 0.01 && r.optimizer.momentum == 0.9);
  ck_assert(recipe_equal(&r, &def));
  arena_free(a);
}
END_TEST

/* --- command-line overrides --- */

START_TEST(set_overrides_scalars_enums_lists_and_layers) {
  Arena *a = arena_new();
  Recipe r;
  recipe_defaults(&r);
  set_ok(&r, a, "batch=64");
  set_ok(&r, a, "optimizer.lr=0.05");
  set_ok(&r, a, "precision=octo");
  set_ok(&r, a, " seed = 42 ");
  set_ok(&r, a, "layers.c1.precision=fp32");
  set_ok(&r, a, "layers.c1.lac.lambda=0.3");
  set_ok(&r, a, "prc.tensors=[error, forward_w]");
  set_ok(&r, a, "lr_schedule.type=step");
  set_ok(&r, a, "lr_schedule.step_epochs=4");
  ck_assert_int_eq(r.batch, 64);
  ck_assert(r.optimizer.lr == 0.05);
  ck_assert_int_eq(r.precision, PRECISION_OCTO);
  ck_assert(r.seed == 42);
  ck_assert_uint_eq(r.prc.tensors, PRC_ERROR | PRC_FORWARD_W);
  ck_assert(r.schedule.type == SCHEDULE_STEP && r.schedule.step_epochs == 4);
  ck_assert_int_eq(r.nlayers, 1);
  const RecipeLayer *c1 = recipe_find_layer(&r, "c1");
  ck_assert_uint_eq(c1->set, LAYER_PRECISION | LAYER_LAC_LAMBDA);
  ck_assert(c1->lac.lambda == 0.3);
  ck_assert_ptr_null(c1->loc.file);
  arena_free(a);
}
END_TEST

START_TEST(set_optimizer_type_resets_only_when_it_changes) {
  Arena *a = arena_new();
  Recipe r;
  recipe_defaults(&r);
  set_ok(&r, a, "optimizer.lr=0.2");
  set_ok(&r, a, "optimizer.type=sgd");
  ck_assert(r.optimizer.lr == 0.2);
  set_ok(&r, a, "optimizer.type=adam");
  ck_assert(r.optimizer.lr == 0.001);
  set_ok(&r, a, "optimizer.betas=[0.5, 0.6]");
  ck_assert(r.optimizer.beta1 == 0.5 && r.optimizer.beta2 == 0.6);
  arena_free(a);
}
END_TEST

START_TEST(set_merges_into_a_layer_override_from_the_file) {
  Arena *a = arena_new();
  Recipe r = load_ok(a, "layers:\n  c2:\n    precision: int8\n");
  Recipe file = r;
  set_ok(&r, a, "layers.c2.prc.p=0.5");
  ck_assert_int_eq(r.nlayers, 1);
  ck_assert_uint_eq(r.layers[0].set, LAYER_PRECISION | LAYER_PRC_P);
  ck_assert_int_eq(r.layers[0].loc.line, 2); /* the file's location stays */
  /* the recipe from before the override is not modified behind its back */
  ck_assert_uint_eq(file.layers[0].set, LAYER_PRECISION);
  arena_free(a);
}
END_TEST

START_TEST(set_adds_many_layers) {
  Arena *a = arena_new();
  Recipe r;
  recipe_defaults(&r);
  for (int i = 0; i < 100; i++) {
    char s[64];
    snprintf(s, sizeof s, "layers.l%d.precision=%s", i, i % 2 ? "int8" : "fp32");
    set_ok(&r, a, s);
  }
  ck_assert_int_eq(r.nlayers, 100);
  for (int i = 0; i < 100; i++) {
    char s[16];
    snprintf(s, sizeof s, "l%d", i);
    ck_assert_int_eq(recipe_layer(&r, s).precision, i % 2 ? PRECISION_INT8 : PRECISION_FP32);
  }
  arena_free(a);
}
END_TEST

START_TEST(set_rejects_bad_overrides_and_leaves_recipe_unchanged) {
  set_fails("batch", "expected key=value");
  set_fails("bacth=3", "unknown key 'bacth'; did you mean 'batch'?");
  set_fails("optimizer.lerning=3", "unknown key 'lerning' in 'optimizer'");
  set_fails("batch=0", "'batch' must be between 1 and 65536, got 0");
  set_fails("batch=", "'batch' needs a value");
  set_fails("optimizer.lr=abc", "'optimizer.lr' must be a number, got 'abc'");
  set_fails("optimizer.lr=-1", "'optimizer.lr' must be > 0");
  set_fails("optimizer.lr=nan", "must be a finite number");
  set_fails("precision=int4", "one of fp32, int8, int8-lac, int8-prc, octo, eoq");
  set_fails("optimizer.betas=[0.9,0.99]", "setting of the adam optimizer, not of sgd");
  set_fails("optimizer.=1", "empty key");
  set_fails("optimizer.lr=[", "bad value for 'optimizer.lr': invalid YAML");
  set_fails("optimizer=3", "'optimizer' must be a mapping");
  set_fails("prc.tensors=error", "must be a list");
  set_fails("layers.c1.precision=int4", "'layers.c1.precision' must be one of");
  set_fails("layers.c1.speed=1", "unknown key 'speed' in 'layers.c1'");
  set_fails("prc.p=1.5", "'prc.p' must be in (0, 1]");
  set_fails("input.std=0", "'input.std' must be > 0");
  /* Key text that a YAML file could not hold (found by tests/fuzz/fuzz_recipe.c:
   * --emit=recipe then wrote a file that did not read back). */
  set_fails("layers.c\x9a.prc.p=0.5", "is not UTF-8 text without control characters");
  set_fails("layers.c\xc0\xaf.prc.p=0.5", "is not UTF-8 text");
  set_fails("layers.c\xed\xa0\x80.prc.p=0.5", "is not UTF-8 text");
  set_fails("layers.c\t1.prc.p=0.5", "is not UTF-8 text");
}
END_TEST

/* recipe_write's text for r, checked to read back as an equal recipe; the
 * caller frees it. */
static char *written_reads_back(const Recipe *r, Arena *a) {
  char *text = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&text, &len);
  ck_assert(out && recipe_write(out, r));
  fclose(out);
  Recipe back;
  Diag *d = diag_new(stderr);
  ck_assert(recipe_load(&back, a, d, "written.yaml", text, len));
  ck_assert(recipe_equal(r, &back));
  diag_free(d);
  return text;
}

/* A layer name whose written form is longer than YAML's 1024-character limit
 * for an implicit key (300 tabs read from "\t" escapes, written as \x09)
 * is written as an explicit key and reads back (found by fuzz_recipe.c). */
START_TEST(long_layer_name_is_written_as_an_explicit_key) {
  Arena *a = arena_new();
  char yaml[1024] = "layers:\n  \"";
  for (int i = 0; i < 300; i++) strcat(yaml, "\\t");
  strcat(yaml, "\": {prc: {p: 0.5}}\n");
  Recipe r = load_ok(a, yaml);
  ck_assert_int_eq(r.nlayers, 1);
  ck_assert_uint_eq(strlen(r.layers[0].name), 300);
  char *text = written_reads_back(&r, a);
  ck_assert_msg(strstr(text, "\n  ? \"\\x09") != NULL, "no explicit key in:\n%s", text);
  free(text);
  arena_free(a);
}
END_TEST

/* Layer names holding characters libyaml refuses in a file (C1 controls,
 * U+FFFE, U+FFFF) or reads as line breaks (NEL, U+2028, U+2029) are written
 * as escapes and read back: the fuzzer found a --set name with U+FFFF that
 * --emit=recipe wrote raw, into a file that did not load. */
START_TEST(layer_names_with_unwritable_characters_are_escaped) {
  static const char *const escapes[] = {"\\x80", "\\x85", "\\x9f", "\\u2028", "\\u2029",
                                        "\\ufffe", "\\uffff", "\\u00a0", "\\ufeff"};
  for (size_t i = 0; i < sizeof escapes / sizeof escapes[0]; i++) {
    Arena *a = arena_new();
    char yaml[128];
    snprintf(yaml, sizeof yaml, "layers:\n  \"c%sd\": {prc: {p: 0.5}}\n", escapes[i]);
    Recipe r = load_ok(a, yaml);
    ck_assert_int_eq(r.nlayers, 1);
    free(written_reads_back(&r, a));
    arena_free(a);
  }
  Arena *a = arena_new();
  Recipe r;
  recipe_defaults(&r);
  set_ok(&r, a, "layers.dtype\xef\xbf\xbf" "c!:.prc.tensors=[error,weight]"); /* the fuzzer's */
  set_ok(&r, a, "layers.e\xc2\x85" "f.prc.p=0.5");
  ck_assert_int_eq(r.nlayers, 2);
  char *text = written_reads_back(&r, a);
  ck_assert_msg(strstr(text, "\\uffff") && strstr(text, "\\x85"), "not escaped:\n%s", text);
  free(text);
  arena_free(a);
}
END_TEST

START_TEST(set_accepts_a_utf8_layer_name_and_writes_it_back) {
  Arena *a = arena_new();
  Recipe r;
  recipe_defaults(&r);
  set_ok(&r, a, "layers.c\xc3\xa9.prc.p=0.5");
  ck_assert_int_eq(r.nlayers, 1);
  ck_assert_str_eq(r.layers[0].name, "c\xc3\xa9");
  free(written_reads_back(&r, a));
  arena_free(a);
}
END_TEST

START_TEST(set_error_fits_a_small_buffer) {
  Arena *a = arena_new();
  Recipe r;
  recipe_defaults(&r);
  char err[8];
  memset(err, 'x', sizeof err);
  ck_assert(!recipe_set(&r, a, "precision=int4", err, sizeof err));
  ck_assert_int_eq(strlen(err), 7);
  ck_assert(!recipe_set(&r, a, "precision=int4", NULL, 0));
  arena_free(a);
}
END_TEST

/* --- round trip --- */

START_TEST(round_trip_of_defaults_and_every_key) {
  Arena *a = arena_new();
  Recipe r;
  recipe_defaults(&r);
  check_round_trip(&r);
  r = load_ok(a, every_key);
  check_round_trip(&r);
  arena_free(a);
}
END_TEST

START_TEST(round_trip_of_adam_cosine_and_odd_layer_names) {
  Arena *a = arena_new();
  Recipe r;
  recipe_defaults(&r);
  set_ok(&r, a, "optimizer.type=adam");
  set_ok(&r, a, "optimizer.lr=0.0003");
  set_ok(&r, a, "optimizer.betas=[0.1, 0.123456789012345]");
  set_ok(&r, a, "lr_schedule.type=cosine");
  set_ok(&r, a, "lr_schedule.min_lr=1e-7");
  set_ok(&r, a, "layers.null.precision=eoq");
  set_ok(&r, a, "layers.x: y.rounding.forward=nearest");
  set_ok(&r, a, "layers.empty=");
  ck_assert_int_eq(r.nlayers, 3);
  ck_assert_ptr_nonnull(recipe_find_layer(&r, "x: y"));
  check_round_trip(&r);
  set_ok(&r, a, "lr_schedule.type=exponential");
  set_ok(&r, a, "lr_schedule.gamma=0.3");
  check_round_trip(&r);
  arena_free(a);
}
END_TEST

START_TEST(round_trip_of_every_shipped_recipe) {
  Arena *a = arena_new();
  for (size_t i = 0; i < sizeof shipped / sizeof shipped[0]; i++) {
    Recipe r = load_shipped(a, shipped[i]);
    check_round_trip(&r);
  }
  arena_free(a);
}
END_TEST

START_TEST(recipe_equal_sees_each_difference) {
  Arena *a = arena_new();
  Recipe x, y;
  recipe_defaults(&x);
  const char *changes[] = {"batch=2", "seed=7", "optimizer.weight_decay=0.1",
                           "lr_schedule.warmup_epochs=1", "loss_scale=4", "input.mean=0", "input.std=2", "precision=int8",
                           "rounding.backward=stochastic", "lac.clip=true", "prc.z=1",
                           "eoq.integer_only=true", "layers.c1.prc.method=sigma"};
  for (size_t i = 0; i < sizeof changes / sizeof changes[0]; i++) {
    y = x;
    set_ok(&y, a, changes[i]);
    ck_assert_msg(!recipe_equal(&x, &y), "%s not seen", changes[i]);
  }
  arena_free(a);
}
END_TEST

/* --- per-layer view --- */

START_TEST(layer_view_merges_override_fields_over_globals) {
  Arena *a = arena_new();
  Recipe r = load_ok(a, "precision: octo\n"
                        "lac: {lambda: 0.2, granularity: element}\n"
                        "prc: {method: scale, p: 0.9}\n"
                        "layers:\n"
                        "  c1: {precision: fp32}\n"
                        "  d1:\n"
                        "    lac: {granularity: channel}\n"
                        "    prc: {z: 1.5}\n"
                        "    rounding: {forward: nearest}\n");
  LayerSettings c1 = recipe_layer(&r, "c1");
  ck_assert_int_eq(c1.precision, PRECISION_FP32);
  ck_assert(c1.lac.lambda == 0.2);
  LayerSettings d1 = recipe_layer(&r, "d1");
  ck_assert_int_eq(d1.precision, PRECISION_OCTO);
  ck_assert_int_eq(d1.lac.granularity, LAC_CHANNEL);
  ck_assert(d1.lac.lambda == 0.2); /* from the global lac */
  ck_assert(d1.prc.z == 1.5 && d1.prc.p == 0.9);
  ck_assert_int_eq(d1.rounding.forward, ROUND_NEAREST);
  ck_assert_int_eq(d1.rounding.backward, ROUND_NEAREST);
  ck_assert_int_eq(d1.rounding.weight_update, ROUND_STOCHASTIC);
  LayerSettings other = recipe_layer(&r, "c9");
  ck_assert_int_eq(other.precision, PRECISION_OCTO);
  ck_assert_int_eq(other.lac.granularity, LAC_ELEMENT);
  ck_assert_ptr_null(recipe_find_layer(&r, "c9"));
  /* a later global change shows through the fields a layer leaves unset */
  set_ok(&r, a, "lac.lambda=0.7");
  ck_assert(recipe_layer(&r, "d1").lac.lambda == 0.7);
  arena_free(a);
}
END_TEST

START_TEST(precision_predicates_and_names) {
  ck_assert(!precision_is_int8(PRECISION_FP32) && precision_is_int8(PRECISION_EOQ));
  ck_assert(precision_has_lac(PRECISION_OCTO) && precision_has_lac(PRECISION_INT8_LAC));
  ck_assert(!precision_has_lac(PRECISION_INT8_PRC) && !precision_has_lac(PRECISION_EOQ));
  ck_assert(precision_has_prc(PRECISION_OCTO) && precision_has_prc(PRECISION_INT8_PRC));
  ck_assert(!precision_has_prc(PRECISION_INT8_LAC));
  Precision p;
  ck_assert(precision_from_name("int8-prc", &p) && p == PRECISION_INT8_PRC);
  ck_assert(!precision_from_name("int4", &p));
  ck_assert_str_eq(prc_tensor_name(PRC_FORWARD_X), "forward_x");
  ck_assert_str_eq(prc_tensor_name(3), "?");
  ck_assert_str_eq(round_mode_name(ROUND_STOCHASTIC), "stochastic");
  ck_assert_str_eq(schedule_name(SCHEDULE_EXPONENTIAL), "exponential");
}
END_TEST

int main(void) {
  Suite *s = suite_create("recipe");
  TCase *tc = tcase_create("recipe");
  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, defaults_are_the_reference_recipe);
  tcase_add_test(tc, adam_and_schedule_defaults_per_type);
  tcase_add_test(tc, empty_or_comment_only_file_is_the_default_recipe);
  tcase_add_test(tc, every_key_is_parsed_into_its_field);
  tcase_add_test(tc, adam_keys_parsed_and_type_switch_resets_to_adam_defaults);
  tcase_add_test(tc, schedule_types_cosine_and_exponential_parsed);
  tcase_add_test(tc, numbers_accept_ints_exponents_and_signs_and_quoted_enums);
  tcase_add_test(tc, empty_section_counts_as_empty_mapping);
  tcase_add_test(tc, error_keeps_valid_keys_over_defaults);
  tcase_add_test(tc, error_quotes_source_line_with_caret);
  tcase_add_test(tc, duplicate_key_points_back_to_the_first);
  tcase_add_test(tc, many_unknown_keys_stop_at_the_error_cap);
  tcase_add_test(tc, errors_still_found_when_diag_already_capped);
  tcase_add_test(tc, every_prefix_of_shipped_recipes_loads_or_fails_cleanly);
  tcase_add_test(tc, mutated_recipes_load_or_fail_cleanly);
  tcase_add_test(tc, shipped_recipes_load_cleanly_with_their_precision);
  tcase_add_test(tc, shipped_fp32_is_the_reference_recipe);
  tcase_add_test(tc, set_overrides_scalars_enums_lists_and_layers);
  tcase_add_test(tc, set_optimizer_type_resets_only_when_it_changes);
  tcase_add_test(tc, set_merges_into_a_layer_override_from_the_file);
  tcase_add_test(tc, set_adds_many_layers);
  tcase_add_test(tc, set_rejects_bad_overrides_and_leaves_recipe_unchanged);
  tcase_add_test(tc, set_accepts_a_utf8_layer_name_and_writes_it_back);
  tcase_add_test(tc, long_layer_name_is_written_as_an_explicit_key);
  tcase_add_test(tc, layer_names_with_unwritable_characters_are_escaped);
  tcase_add_test(tc, set_error_fits_a_small_buffer);
  tcase_add_test(tc, round_trip_of_defaults_and_every_key);
  tcase_add_test(tc, round_trip_of_adam_cosine_and_odd_layer_names);
  tcase_add_test(tc, round_trip_of_every_shipped_recipe);
  tcase_add_test(tc, recipe_equal_sees_each_difference);
  tcase_add_test(tc, layer_view_merges_override_fields_over_globals);
  tcase_add_test(tc, precision_predicates_and_names);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
