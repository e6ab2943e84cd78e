/* The training recipe: every compile-time training choice that is not the
 * network (batch, optimizer, schedule, precision, rounding, LAC, PRC, EOQ and
 * per-layer overrides), as the passes read it. Plain data with enums, so a
 * pass reads fields, never strings; recipe.c holds the defaults, the names,
 * the per-layer view and equality. It sits with the passes because they are
 * configured with it (Module.recipe); reading and writing it as YAML, and
 * --set, is the driver's business (compiler/recipe/). docs/recipe.md
 * documents each key. */
#ifndef OCTO_PASSES_RECIPE_H
#define OCTO_PASSES_RECIPE_H

#include <stdbool.h>
#include <stdint.h>

#include "diag.h"

typedef enum {
  PRECISION_FP32,
  PRECISION_INT8,
  PRECISION_INT8_LAC,
  PRECISION_INT8_PRC,
  PRECISION_OCTO, /* int8 + LAC + PRC */
  PRECISION_EOQ,
  PRECISION_COUNT
} Precision;

typedef enum { ROUND_NEAREST, ROUND_STOCHASTIC, ROUND_COUNT } RoundMode;
typedef enum { OPTIMIZER_SGD, OPTIMIZER_ADAM, OPTIMIZER_COUNT } OptimizerType;
typedef enum {
  SCHEDULE_CONSTANT,
  SCHEDULE_STEP,
  SCHEDULE_COSINE,
  SCHEDULE_EXPONENTIAL,
  SCHEDULE_COUNT
} ScheduleType;
typedef enum { LAC_ELEMENT, LAC_CHANNEL, LAC_GRANULARITY_COUNT } LacGranularity;
typedef enum { PRC_SCALE, PRC_SIGMA, PRC_METHOD_COUNT } PrcMethod;

/* PrcParams.tensors is a set of these bits: which tensors are clipped before
 * they are quantized. */
enum {
  PRC_ERROR = 1 << 0,      /* backward: the upstream error e */
  PRC_ACTIVATION = 1 << 1, /* backward: the saved activation used for dW */
  PRC_WEIGHT = 1 << 2,     /* backward: the weight used for dx */
  PRC_FORWARD_X = 1 << 3,  /* forward: the input x */
  PRC_FORWARD_W = 1 << 4,  /* forward: the weight w */
  PRC_TENSOR_KINDS = 5
};

typedef struct Optimizer {
  OptimizerType type;
  double lr;
  double weight_decay;
  double momentum; /* sgd */
  bool nesterov;   /* sgd */
  double beta1, beta2, eps; /* adam */
} Optimizer;

/* How the trainer turns a stored pixel p (0..255) into the network's input:
 * (p / 255 - mean) / std. Part of the model's contract: the header repeats
 * it for code that runs predict on the device. */
typedef struct InputNormalize {
  double mean;
  double std; /* > 0 */
} InputNormalize;

typedef struct LrSchedule {
  ScheduleType type;
  int step_epochs;   /* step: decay every N epochs */
  double gamma;      /* step, exponential: decay factor */
  double min_lr;     /* cosine: floor */
  int warmup_epochs; /* any type: linear warm-up from 0 (0 = none) */
} LrSchedule;

typedef struct Rounding {
  RoundMode forward, backward, weight_update;
} Rounding;

typedef struct LacParams {
  LacGranularity granularity;
  double lambda;   /* L2 penalty on mu and beta */
  double init_std; /* std of the initial noise of mu and beta */
  bool clip;       /* range-clip the compensated output (PRC) */
} LacParams;

typedef struct PrcParams {
  PrcMethod method;
  double p; /* scale: clip to [p min t, p max t] */
  double z; /* sigma: clip to mean +- z sigma */
  unsigned tensors; /* PRC_ERROR | ... */
  bool stats;       /* count each clip's clipped elements (docs/int8.md, Diagnostics) */
} PrcParams;

typedef struct EoqParams {
  bool fixup;        /* replace batch-norm by Fixup init and scalars */
  bool pow2_scales;  /* power-of-two scales: every rescale is a shift */
  bool integer_only; /* no floating point in the emitted trainer */
} EoqParams;

/* RecipeLayer.set: which fields a per-layer override gives; the rest come
 * from the global settings. */
enum {
  LAYER_PRECISION = 1 << 0,
  LAYER_ROUND_FORWARD = 1 << 1,
  LAYER_ROUND_BACKWARD = 1 << 2,
  LAYER_ROUND_WEIGHT_UPDATE = 1 << 3,
  LAYER_LAC_GRANULARITY = 1 << 4,
  LAYER_LAC_LAMBDA = 1 << 5,
  LAYER_LAC_INIT_STD = 1 << 6,
  LAYER_LAC_CLIP = 1 << 7,
  LAYER_PRC_METHOD = 1 << 8,
  LAYER_PRC_P = 1 << 9,
  LAYER_PRC_Z = 1 << 10,
  LAYER_PRC_TENSORS = 1 << 11,
  LAYER_PRC_STATS = 1 << 12
};

/* One `layers: { name: {...} }` entry. The name is not checked against the
 * network here: the driver does it and reports at `loc` (the key's position
 * in the recipe; loc.file == NULL when the override came from the CLI). */
typedef struct RecipeLayer {
  const char *name;
  SrcLoc loc;
  unsigned set;
  Precision precision;
  Rounding rounding;
  LacParams lac;
  PrcParams prc;
} RecipeLayer;

/* The effective settings of one layer: global merged with its override. */
typedef struct LayerSettings {
  Precision precision;
  Rounding rounding;
  LacParams lac;
  PrcParams prc;
} LayerSettings;

typedef struct Recipe {
  int batch;
  int epochs; /* default epoch count of the generated --main trainer */
  uint64_t seed;
  Optimizer optimizer;
  LrSchedule schedule; /* key `lr_schedule` */
  double loss_scale;
  InputNormalize input; /* key `input` */
  Precision precision;
  Rounding rounding;
  LacParams lac;
  PrcParams prc;
  EoqParams eoq;
  RecipeLayer *layers; /* in the arena of whoever built the recipe */
  int nlayers;
} Recipe;

/* Limits (inclusive) of the integer keys; docs/recipe.md repeats them. */
enum {
  RECIPE_MAX_BATCH = 65536,
  RECIPE_MAX_EPOCHS = 1000000,
  RECIPE_MAX_LAYERS = 4096
};

void recipe_defaults(Recipe *r);
/* r, or (r NULL: a module built without a recipe) *defaults filled with
 * the defaults. */
const Recipe *recipe_or_defaults(const Recipe *r, Recipe *defaults);
/* The optimizer and schedule defaults of one type (what `type: adam` resets
 * the other optimizer keys to). */
Optimizer optimizer_defaults(OptimizerType t);
LrSchedule schedule_defaults(ScheduleType t);

/* Field-by-field equality (layer order and source locations ignored). */
bool recipe_equal(const Recipe *x, const Recipe *y);

/* The override for a layer, or NULL. */
const RecipeLayer *recipe_find_layer(const Recipe *r, const char *name);
/* The effective precision/rounding/LAC/PRC of a layer: the global settings
 * with the fields its override sets replaced. */
LayerSettings recipe_layer(const Recipe *r, const char *name);

/* What a precision turns on. */
bool precision_is_int8(Precision p); /* every precision except fp32 */
bool precision_has_lac(Precision p); /* int8-lac, octo */
bool precision_has_prc(Precision p); /* int8-prc, octo */

/* Names as written in a recipe ("int8-lac", "stochastic", ...). The
 * *_from_name functions return false for an unknown name. */
const char *precision_name(Precision p);
bool precision_from_name(const char *s, Precision *out);
const char *round_mode_name(RoundMode m);
const char *optimizer_name(OptimizerType t);
const char *schedule_name(ScheduleType t);
const char *lac_granularity_name(LacGranularity g);
const char *prc_method_name(PrcMethod m);
/* Name of one PRC_* bit ("error", "forward_x", ...). */
const char *prc_tensor_name(unsigned bit);

/* The same names as tables, indexed by the enum (PRC bit i for tensors). */
extern const char *const precision_names[PRECISION_COUNT];
extern const char *const round_mode_names[ROUND_COUNT];
extern const char *const optimizer_names[OPTIMIZER_COUNT];
extern const char *const schedule_names[SCHEDULE_COUNT];
extern const char *const lac_granularity_names[LAC_GRANULARITY_COUNT];
extern const char *const prc_method_names[PRC_METHOD_COUNT];
extern const char *const prc_tensor_names[PRC_TENSOR_KINDS];

#endif
