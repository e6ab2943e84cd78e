/* The table of every recipe key (schema.h), in the order the writer prints
 * them and messages list them, and the lookups over it. Adding a key is
 * one row here, a field in passes/recipe.h and a line in docs/recipe.md
 * (tests/recipe checks that every row is documented). */
#include "schema.h"

#include <math.h>
#include <string.h>

/* The table reads and writes enum fields through int pointers and the
 * prc.tensors bit set through an unsigned pointer. */
_Static_assert(sizeof(Precision) == sizeof(int), "enum fields are int-sized");
_Static_assert(sizeof(RoundMode) == sizeof(int), "enum fields are int-sized");
_Static_assert(sizeof(OptimizerType) == sizeof(int), "enum fields are int-sized");
_Static_assert(sizeof(ScheduleType) == sizeof(int), "enum fields are int-sized");
_Static_assert(sizeof(LacGranularity) == sizeof(int), "enum fields are int-sized");
_Static_assert(sizeof(PrcMethod) == sizeof(int), "enum fields are int-sized");
/* optimizer.betas is a VALUE_F32_PAIR: beta2 must follow beta1. */
_Static_assert(offsetof(Optimizer, beta2) == offsetof(Optimizer, beta1) + sizeof(double),
               "beta1 and beta2 are consecutive");

static const char *const beta_names[2] = {"beta1", "beta2"};

/* A range is {lo, hi, lo_open, hi_open}; the comment after it says it in
 * the words messages use. */
const RecipeKey recipe_keys[] = {
    {NULL, "batch", VALUE_INT, .min = 1, .max = RECIPE_MAX_BATCH,
     .offset = offsetof(Recipe, batch)},
    {NULL, "epochs", VALUE_INT, .min = 1, .max = RECIPE_MAX_EPOCHS,
     .offset = offsetof(Recipe, epochs)},
    {NULL, "seed", VALUE_U64, .offset = offsetof(Recipe, seed)},

    {"optimizer", "type", VALUE_NAME, .names = optimizer_names, .nnames = OPTIMIZER_COUNT,
     .offset = offsetof(Recipe, optimizer.type)},
    {"optimizer", "lr", VALUE_F32, .range = {0, INFINITY, true, true}, /* > 0 */
     .offset = offsetof(Recipe, optimizer.lr)},
    {"optimizer", "weight_decay", VALUE_F32, .range = {0, INFINITY, false, true}, /* >= 0 */
     .offset = offsetof(Recipe, optimizer.weight_decay)},
    {"optimizer", "momentum", VALUE_F32, .range = {0, 1, false, true}, /* [0, 1) */
     .offset = offsetof(Recipe, optimizer.momentum), .types = 1u << OPTIMIZER_SGD},
    {"optimizer", "nesterov", VALUE_BOOL, .offset = offsetof(Recipe, optimizer.nesterov),
     .types = 1u << OPTIMIZER_SGD},
    {"optimizer", "betas", VALUE_F32_PAIR, .range = {0, 1, false, true}, /* [0, 1) */
     .names = beta_names, .nnames = 2, .offset = offsetof(Recipe, optimizer.beta1),
     .types = 1u << OPTIMIZER_ADAM},
    {"optimizer", "eps", VALUE_F32, .range = {0, INFINITY, true, true}, /* > 0 */
     .offset = offsetof(Recipe, optimizer.eps), .types = 1u << OPTIMIZER_ADAM},

    {"lr_schedule", "type", VALUE_NAME, .names = schedule_names, .nnames = SCHEDULE_COUNT,
     .offset = offsetof(Recipe, schedule.type)},
    {"lr_schedule", "step_epochs", VALUE_INT, .min = 1, .max = RECIPE_MAX_EPOCHS,
     .offset = offsetof(Recipe, schedule.step_epochs), .types = 1u << SCHEDULE_STEP},
    {"lr_schedule", "gamma", VALUE_F32, .range = {0, 1, true, false}, /* (0, 1] */
     .offset = offsetof(Recipe, schedule.gamma),
     .types = 1u << SCHEDULE_STEP | 1u << SCHEDULE_EXPONENTIAL},
    {"lr_schedule", "min_lr", VALUE_F32, .range = {0, INFINITY, false, true}, /* >= 0 */
     .offset = offsetof(Recipe, schedule.min_lr), .types = 1u << SCHEDULE_COSINE},
    {"lr_schedule", "warmup_epochs", VALUE_INT, .min = 0, .max = RECIPE_MAX_EPOCHS,
     .offset = offsetof(Recipe, schedule.warmup_epochs)},

    {NULL, "loss_scale", VALUE_F32, .range = {0, INFINITY, true, true}, /* > 0 */
     .offset = offsetof(Recipe, loss_scale)},

    {"input", "mean", VALUE_F32, .range = {0, 1, false, false}, /* [0, 1] */
     .offset = offsetof(Recipe, input.mean)},
    {"input", "std", VALUE_F32, .range = {0, INFINITY, true, true}, /* > 0 */
     .offset = offsetof(Recipe, input.std)},

    {NULL, "precision", VALUE_NAME, .names = precision_names, .nnames = PRECISION_COUNT,
     .offset = offsetof(Recipe, precision), .layer_bit = LAYER_PRECISION,
     .layer_offset = offsetof(RecipeLayer, precision)},

    {"rounding", "forward", VALUE_NAME, .names = round_mode_names, .nnames = ROUND_COUNT,
     .offset = offsetof(Recipe, rounding.forward), .layer_bit = LAYER_ROUND_FORWARD,
     .layer_offset = offsetof(RecipeLayer, rounding.forward)},
    {"rounding", "backward", VALUE_NAME, .names = round_mode_names, .nnames = ROUND_COUNT,
     .offset = offsetof(Recipe, rounding.backward), .layer_bit = LAYER_ROUND_BACKWARD,
     .layer_offset = offsetof(RecipeLayer, rounding.backward)},
    {"rounding", "weight_update", VALUE_NAME, .names = round_mode_names, .nnames = ROUND_COUNT,
     .offset = offsetof(Recipe, rounding.weight_update), .layer_bit = LAYER_ROUND_WEIGHT_UPDATE,
     .layer_offset = offsetof(RecipeLayer, rounding.weight_update)},

    {"lac", "granularity", VALUE_NAME, .names = lac_granularity_names,
     .nnames = LAC_GRANULARITY_COUNT, .offset = offsetof(Recipe, lac.granularity),
     .layer_bit = LAYER_LAC_GRANULARITY, .layer_offset = offsetof(RecipeLayer, lac.granularity)},
    {"lac", "lambda", VALUE_F32, .range = {0, INFINITY, false, true}, /* >= 0 */
     .offset = offsetof(Recipe, lac.lambda), .layer_bit = LAYER_LAC_LAMBDA,
     .layer_offset = offsetof(RecipeLayer, lac.lambda)},
    {"lac", "init_std", VALUE_F32, .range = {0, INFINITY, false, true}, /* >= 0 */
     .offset = offsetof(Recipe, lac.init_std), .layer_bit = LAYER_LAC_INIT_STD,
     .layer_offset = offsetof(RecipeLayer, lac.init_std)},
    {"lac", "clip", VALUE_BOOL, .offset = offsetof(Recipe, lac.clip),
     .layer_bit = LAYER_LAC_CLIP, .layer_offset = offsetof(RecipeLayer, lac.clip)},

    {"prc", "method", VALUE_NAME, .names = prc_method_names, .nnames = PRC_METHOD_COUNT,
     .offset = offsetof(Recipe, prc.method), .layer_bit = LAYER_PRC_METHOD,
     .layer_offset = offsetof(RecipeLayer, prc.method)},
    {"prc", "p", VALUE_F32, .range = {0, 1, true, false}, /* (0, 1] */
     .offset = offsetof(Recipe, prc.p), .layer_bit = LAYER_PRC_P,
     .layer_offset = offsetof(RecipeLayer, prc.p)},
    {"prc", "z", VALUE_F32, .range = {0, INFINITY, true, true}, /* > 0 */
     .offset = offsetof(Recipe, prc.z), .layer_bit = LAYER_PRC_Z,
     .layer_offset = offsetof(RecipeLayer, prc.z)},
    {"prc", "tensors", VALUE_NAME_SET, .names = prc_tensor_names, .nnames = PRC_TENSOR_KINDS,
     .offset = offsetof(Recipe, prc.tensors), .layer_bit = LAYER_PRC_TENSORS,
     .layer_offset = offsetof(RecipeLayer, prc.tensors)},
    {"prc", "stats", VALUE_BOOL, .offset = offsetof(Recipe, prc.stats),
     .layer_bit = LAYER_PRC_STATS, .layer_offset = offsetof(RecipeLayer, prc.stats)},

    {"eoq", "fixup", VALUE_BOOL, .offset = offsetof(Recipe, eoq.fixup)},
    {"eoq", "pow2_scales", VALUE_BOOL, .offset = offsetof(Recipe, eoq.pow2_scales)},
    {"eoq", "integer_only", VALUE_BOOL, .offset = offsetof(Recipe, eoq.integer_only)},

    {NULL, "layers", VALUE_LAYERS, .offset = offsetof(Recipe, layers)},
};

const int recipe_nkeys = (int)(sizeof recipe_keys / sizeof recipe_keys[0]);

/* --- typed sections --- */

static void set_optimizer_type(Recipe *r, int type) {
  if ((OptimizerType)type != r->optimizer.type)
    r->optimizer = optimizer_defaults((OptimizerType)type);
}

static void set_schedule_type(Recipe *r, int type) {
  if ((ScheduleType)type == r->schedule.type) return;
  int warmup = r->schedule.warmup_epochs; /* shared by every type: kept */
  r->schedule = schedule_defaults((ScheduleType)type);
  r->schedule.warmup_epochs = warmup;
}

static const TypedSection typed_sections[] = {
    {"optimizer", set_optimizer_type, "is a setting of the ", " optimizer, not of "},
    {"lr_schedule", set_schedule_type, "applies to schedule type ", ", not "},
};

const TypedSection *schema_typed_section(const char *section) {
  if (!section) return NULL;
  for (size_t i = 0; i < sizeof typed_sections / sizeof typed_sections[0]; i++)
    if (!strcmp(typed_sections[i].section, section)) return &typed_sections[i];
  return NULL;
}

/* --- lookups --- */

/* The name of row k at the top level: its own, or its section's. */
static const char *top_name(const RecipeKey *k) { return k->section ? k->section : k->name; }

static bool in_view(const RecipeKey *k, bool in_layer) { return !in_layer || k->layer_bit; }

int schema_names(const char *section, bool in_layer, const char **out) {
  int n = 0;
  for (int i = 0; i < recipe_nkeys; i++) {
    const RecipeKey *k = &recipe_keys[i];
    if (!in_view(k, in_layer)) continue;
    const char *name;
    if (section)
      name = k->section && !strcmp(k->section, section) ? k->name : NULL;
    else
      name = top_name(k);
    if (!name || (n > 0 && !strcmp(out[n - 1], name))) continue; /* a section's later rows */
    if (n < SCHEMA_MAX_KEYS) out[n++] = name;
  }
  return n;
}

const RecipeKey *schema_key(const char *section, const char *name, bool in_layer) {
  for (int i = 0; i < recipe_nkeys; i++) {
    const RecipeKey *k = &recipe_keys[i];
    bool same_section = section ? k->section && !strcmp(k->section, section) : !k->section;
    if (same_section && in_view(k, in_layer) && !strcmp(k->name, name)) return k;
  }
  return NULL;
}

bool schema_is_section(const char *name) {
  for (int i = 0; i < recipe_nkeys; i++)
    if (recipe_keys[i].section && !strcmp(recipe_keys[i].section, name)) return true;
  return false;
}

/* Names people bring from other frameworks. */
static const char *const aliases[][2] = {
    {"learning_rate", "lr"},     {"batch_size", "batch"},   {"num_epochs", "epochs"},
    {"schedule", "lr_schedule"}, {"scheduler", "lr_schedule"}, {"lr_scheduler", "lr_schedule"},
    {"dtype", "precision"},      {"quantization", "precision"}, {"beta", "betas"},
    {"epsilon", "eps"},          {"decay", "weight_decay"},  {"step_size", "step_epochs"},
};

const char *schema_alias(const char *name) {
  for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
    if (!strcmp(name, aliases[i][0])) return aliases[i][1];
  return NULL;
}

void *schema_field(const RecipeKey *k, Recipe *r, RecipeLayer *l) {
  return l ? (char *)l + k->layer_offset : (char *)r + k->offset;
}

const void *schema_field_const(const RecipeKey *k, const Recipe *r, const RecipeLayer *l) {
  return l ? (const char *)l + k->layer_offset : (const char *)r + k->offset;
}

int schema_type_of(const TypedSection *t, const Recipe *r) {
  const RecipeKey *k = schema_key(t->section, "type", false);
  return *(const int *)schema_field_const(k, r, NULL);
}
