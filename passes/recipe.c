/* The recipe's data model: defaults, the names of the enums, the per-layer
 * view (global settings merged with an override) and equality. Reading,
 * validating and writing YAML is compiler/recipe/. The defaults follow the
 * Octo authors' demo where the recipe mirrors it. */
#include "recipe.h"

#include <string.h>

const char *const precision_names[PRECISION_COUNT] = {"fp32",     "int8", "int8-lac",
                                                     "int8-prc", "octo", "eoq"};
const char *const round_mode_names[ROUND_COUNT] = {"nearest", "stochastic"};
const char *const optimizer_names[OPTIMIZER_COUNT] = {"sgd", "adam"};
const char *const schedule_names[SCHEDULE_COUNT] = {"constant", "step", "cosine",
                                                    "exponential"};
const char *const lac_granularity_names[LAC_GRANULARITY_COUNT] = {"element", "channel"};
const char *const prc_method_names[PRC_METHOD_COUNT] = {"scale", "sigma"};
const char *const prc_tensor_names[PRC_TENSOR_KINDS] = {"error", "activation", "weight",
                                                        "forward_x", "forward_w"};

Optimizer optimizer_defaults(OptimizerType t) {
  Optimizer o = {.type = t};
  if (t == OPTIMIZER_ADAM) {
    o.lr = 0.001;
    o.beta1 = 0.9;
    o.beta2 = 0.999;
    o.eps = 1e-8;
  } else {
    o.lr = 0.01;
    o.momentum = 0.9;
  }
  return o;
}

LrSchedule schedule_defaults(ScheduleType t) {
  LrSchedule s = {.type = t};
  if (t == SCHEDULE_STEP) {
    s.step_epochs = 1;
    s.gamma = 0.1;
  } else if (t == SCHEDULE_EXPONENTIAL) {
    s.gamma = 0.95;
  }
  return s;
}

void recipe_defaults(Recipe *r) {
  memset(r, 0, sizeof *r);
  r->batch = 32;
  r->epochs = 5;
  r->seed = 1;
  r->optimizer = optimizer_defaults(OPTIMIZER_SGD);
  r->schedule = schedule_defaults(SCHEDULE_CONSTANT);
  r->loss_scale = 1;
  /* Pixels in [-1, 1]: zero-centred inputs train better than [0, 1] (lenet5
   * on Fashion-MNIST, docs/benchmarks.md) and use the whole range of a
   * symmetric int8 scale. */
  r->input = (InputNormalize){0.5, 0.5};
  r->precision = PRECISION_FP32;
  /* The demo rounds the forward pass stochastically, the backward to nearest. */
  r->rounding = (Rounding){ROUND_STOCHASTIC, ROUND_NEAREST, ROUND_STOCHASTIC};
  r->lac = (LacParams){LAC_ELEMENT, 0.1, 1e-3, false};
  r->prc = (PrcParams){PRC_SCALE, 0.95, 2.576, PRC_ERROR | PRC_ACTIVATION | PRC_WEIGHT, false};
  r->eoq = (EoqParams){true, true, false};
}

/* --- names --- */

static const char *name_of(const char *const *names, int n, int i) {
  return i >= 0 && i < n ? names[i] : "?";
}

const Recipe *recipe_or_defaults(const Recipe *r, Recipe *defaults) {
  if (r) return r;
  recipe_defaults(defaults);
  return defaults;
}

const char *precision_name(Precision p) { return name_of(precision_names, PRECISION_COUNT, (int)p); }
const char *round_mode_name(RoundMode m) { return name_of(round_mode_names, ROUND_COUNT, (int)m); }
const char *optimizer_name(OptimizerType t) {
  return name_of(optimizer_names, OPTIMIZER_COUNT, (int)t);
}
const char *schedule_name(ScheduleType t) { return name_of(schedule_names, SCHEDULE_COUNT, (int)t); }
const char *lac_granularity_name(LacGranularity g) {
  return name_of(lac_granularity_names, LAC_GRANULARITY_COUNT, (int)g);
}
const char *prc_method_name(PrcMethod m) { return name_of(prc_method_names, PRC_METHOD_COUNT, (int)m); }

const char *prc_tensor_name(unsigned bit) {
  for (int i = 0; i < PRC_TENSOR_KINDS; i++)
    if (bit == 1u << i) return prc_tensor_names[i];
  return "?";
}

bool precision_from_name(const char *s, Precision *out) {
  for (int i = 0; i < PRECISION_COUNT; i++)
    if (strcmp(s, precision_names[i]) == 0) {
      *out = (Precision)i;
      return true;
    }
  return false;
}

bool precision_is_int8(Precision p) { return p != PRECISION_FP32; }
bool precision_has_lac(Precision p) { return p == PRECISION_INT8_LAC || p == PRECISION_OCTO; }
bool precision_has_prc(Precision p) { return p == PRECISION_INT8_PRC || p == PRECISION_OCTO; }

/* --- per-layer view --- */

const RecipeLayer *recipe_find_layer(const Recipe *r, const char *name) {
  for (int i = 0; i < r->nlayers; i++)
    if (strcmp(r->layers[i].name, name) == 0) return &r->layers[i];
  return NULL;
}

LayerSettings recipe_layer(const Recipe *r, const char *name) {
  LayerSettings s = {r->precision, r->rounding, r->lac, r->prc};
  const RecipeLayer *l = recipe_find_layer(r, name);
  if (!l) return s;
  unsigned m = l->set;
  if (m & LAYER_PRECISION) s.precision = l->precision;
  if (m & LAYER_ROUND_FORWARD) s.rounding.forward = l->rounding.forward;
  if (m & LAYER_ROUND_BACKWARD) s.rounding.backward = l->rounding.backward;
  if (m & LAYER_ROUND_WEIGHT_UPDATE) s.rounding.weight_update = l->rounding.weight_update;
  if (m & LAYER_LAC_GRANULARITY) s.lac.granularity = l->lac.granularity;
  if (m & LAYER_LAC_LAMBDA) s.lac.lambda = l->lac.lambda;
  if (m & LAYER_LAC_INIT_STD) s.lac.init_std = l->lac.init_std;
  if (m & LAYER_LAC_CLIP) s.lac.clip = l->lac.clip;
  if (m & LAYER_PRC_METHOD) s.prc.method = l->prc.method;
  if (m & LAYER_PRC_P) s.prc.p = l->prc.p;
  if (m & LAYER_PRC_Z) s.prc.z = l->prc.z;
  if (m & LAYER_PRC_TENSORS) s.prc.tensors = l->prc.tensors;
  if (m & LAYER_PRC_STATS) s.prc.stats = l->prc.stats;
  return s;
}

/* --- equality --- */

static bool optimizer_equal(const Optimizer *x, const Optimizer *y) {
  return x->type == y->type && x->lr == y->lr && x->weight_decay == y->weight_decay &&
         x->momentum == y->momentum && x->nesterov == y->nesterov && x->beta1 == y->beta1 &&
         x->beta2 == y->beta2 && x->eps == y->eps;
}

static bool schedule_equal(const LrSchedule *x, const LrSchedule *y) {
  return x->type == y->type && x->step_epochs == y->step_epochs && x->gamma == y->gamma &&
         x->min_lr == y->min_lr && x->warmup_epochs == y->warmup_epochs;
}

static bool settings_equal(const LayerSettings *x, const LayerSettings *y) {
  return x->precision == y->precision && x->rounding.forward == y->rounding.forward &&
         x->rounding.backward == y->rounding.backward &&
         x->rounding.weight_update == y->rounding.weight_update &&
         x->lac.granularity == y->lac.granularity && x->lac.lambda == y->lac.lambda &&
         x->lac.init_std == y->lac.init_std && x->lac.clip == y->lac.clip &&
         x->prc.method == y->prc.method && x->prc.p == y->prc.p && x->prc.z == y->prc.z &&
         x->prc.tensors == y->prc.tensors && x->prc.stats == y->prc.stats;
}

/* Overrides are equal when they set the same fields to the same values; the
 * fields they leave unset do not matter. */
static bool layers_equal(const Recipe *x, const Recipe *y) {
  if (x->nlayers != y->nlayers) return false;
  for (int i = 0; i < x->nlayers; i++) {
    const RecipeLayer *lx = &x->layers[i];
    const RecipeLayer *ly = recipe_find_layer(y, lx->name);
    if (!ly || ly->set != lx->set) return false;
    LayerSettings sx = recipe_layer(x, lx->name), sy = recipe_layer(y, lx->name);
    if (!settings_equal(&sx, &sy)) return false;
  }
  return true;
}

bool recipe_equal(const Recipe *x, const Recipe *y) {
  LayerSettings gx = {x->precision, x->rounding, x->lac, x->prc};
  LayerSettings gy = {y->precision, y->rounding, y->lac, y->prc};
  return x->batch == y->batch && x->epochs == y->epochs && x->seed == y->seed &&
         optimizer_equal(&x->optimizer, &y->optimizer) &&
         schedule_equal(&x->schedule, &y->schedule) && x->loss_scale == y->loss_scale &&
         x->input.mean == y->input.mean && x->input.std == y->input.std &&
         settings_equal(&gx, &gy) && x->eoq.fixup == y->eoq.fixup &&
         x->eoq.pow2_scales == y->eoq.pow2_scales &&
         x->eoq.integer_only == y->eoq.integer_only && layers_equal(x, y);
}
