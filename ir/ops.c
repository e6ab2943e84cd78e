/* The op registry (see ops.h): one row per op. A row names the functions
 * that give the op its meaning: the shape rule (ir/shape_rules.c), the
 * gradient builder (passes/gradients.c) and the lowering to loop IR
 * (passes/lower_*.c). Because of those two, whatever links the IR links the
 * passes too (meson builds them as one group). */
#include "ops.h"

#include <string.h>

#include "gradients.h"
#include "lower.h"
#include "shape_rules.h"

/* --- operand names --- */

static const char *const in_x[] = {"x"};
static const char *const in_xwb[] = {"x", "weight", "bias"};
static const char *const in_ab[] = {"a", "b"};
static const char *const in_bn[] = {"x", "gamma", "beta", "running_mean", "running_var"};
static const char *const in_scale[] = {"x", "scale"};
static const char *const in_bias[] = {"x", "bias"};
static const char *const in_ce[] = {"logits", "label"};
static const char *const in_mse[] = {"prediction", "target"};
static const char *const in_dy[] = {"dy"};
static const char *const in_dy_w[] = {"dy", "weight"};
static const char *const in_x_dy[] = {"x", "dy"};
static const char *const in_dy_y[] = {"dy", "y"};
static const char *const in_dy_x[] = {"dy", "x"};
static const char *const in_dy_route[] = {"dy", "route"};
static const char *const in_bn_grad[] = {"dy", "x", "gamma", "mean", "invstd"};
static const char *const in_epoch[] = {"epoch"};
static const char *const in_sgd[] = {"param", "grad", "lr", "momentum"};
static const char *const in_adam[] = {"param", "grad", "lr", "m", "v", "step"};
static const char *const in_step[] = {"step"};
static const char *const in_comp[] = {"x", "alpha", "mu", "beta"};
static const char *const in_comp_grad[] = {"dy", "alpha", "mu", "beta"};
/* INT8 products: the two quantized operands, each followed by its scale,
 * in the order of the fp32 op's operands (and its bias). */
/* A fused product (passes/fuse.c): LAC's alpha, mu and beta follow the bias
 * (or the weight scale, without a bias) when its epilogue compensates. */
/* A quantize whose max|x| its producer computed (passes/fuse.c). */
static const char *const in_x_stats[] = {"x", "amax or range"};
static const char *const in_q_xwb_lac[] = {"x",    "x_scale", "weight", "weight_scale",
                                           "bias", "alpha",   "mu",     "beta"};
/* an input gradient; with a fused relu mask (passes/fuse.c) also the saved
 * int8 activation */
static const char *const in_q_dy_w_mask[] = {"dy", "dy_scale", "weight", "weight_scale", "mask"};
static const char *const in_q_x_dy[] = {"x", "x_scale", "dy", "dy_scale"};

/* --- dtype slots --- */

static const DTypeSlot t1[] = {DTS_T};
static const DTypeSlot t2[] = {DTS_T, DTS_T};
static const DTypeSlot t3[] = {DTS_T, DTS_T, DTS_T};
static const DTypeSlot t4[] = {DTS_T, DTS_T, DTS_T, DTS_T};
static const DTypeSlot t5[] = {DTS_T, DTS_T, DTS_T, DTS_T, DTS_T};
static const DTypeSlot t_class[] = {DTS_T, DT_I32};
static const DTypeSlot f32_1[] = {DT_F32};
static const DTypeSlot u8_1[] = {DT_U8};
static const DTypeSlot i32_1[] = {DT_I32};
static const DTypeSlot i64_1[] = {DT_I64};
static const DTypeSlot t_sgd[] = {DTS_T, DTS_T, DT_F32, DTS_T};
static const DTypeSlot t_adam[] = {DTS_T, DTS_T, DT_F32, DTS_T, DTS_T, DT_I64};
static const DTypeSlot i8_scale_range[] = {DT_I8, DT_F32, DT_F32};
static const DTypeSlot q_pair_bias[] = {DT_I8, DT_F32, DT_I8, DT_F32, DT_F32};
static const DTypeSlot q_pair_bias_lac[] = {DT_I8,  DT_F32, DT_I8,  DT_F32,
                                            DT_F32, DT_F32, DT_F32, DT_F32};
static const DTypeSlot f32_2[] = {DT_F32, DT_F32};
static const DTypeSlot q_pair_mask[] = {DT_I8, DT_F32, DT_I8, DT_F32, DT_I8};
static const DTypeSlot f32_i8[] = {DT_F32, DT_I8};
/* conv2d_i8's results: y, max|y|, and with a folded pool the route */
static const DTypeSlot f32_f32_i8[] = {DT_F32, DT_F32, DT_I8};

enum { F32_ONLY = 1u << DT_F32 };

/* --- attributes --- */

const char *const op_precision_names[] = {"fp32", "int8", NULL};
const char *const op_rounding_names[] = {"nearest", "stochastic", NULL};

/* Attribute rows several ops share, as list pieces (each a plain
 * initializer list, so every table below still reads as its full row). */
#define CONV_GEOMETRY                                         \
  {"filters", ATTR_INT, 0, false, 0, 0, NULL, NULL},          \
  {"kernel", ATTR_INTS, 2, false, 0, 0, NULL, NULL},          \
  {"stride", ATTR_INTS, 2, false, 0, 0, NULL, NULL},          \
  {"pad", ATTR_INTS, 2, false, 0, 0, NULL, NULL},             \
  {"groups", ATTR_INT, 0, false, 0, 0, NULL, NULL}
#define INPUT_SIZE {"input_size", ATTR_INTS, 2, false, 0, 0, NULL, NULL}
#define UNITS {"units", ATTR_INT, 0, false, 0, 0, NULL, NULL}
/* Every product op (conv2d, dense and their gradients) also takes the
 * optional `precision` and `rounding` (fp32 and nearest-even when absent). */
#define PRECISION                                                   \
  {"precision", ATTR_STR, 0, true, 0, 0, "fp32", op_precision_names}, \
  {"rounding", ATTR_STR, 0, true, 0, 0, "nearest", op_rounding_names}
/* What passes/fuse.c folded into a node: its epilogue (or the clip a
 * quantize applies first), and the names of the nodes it replaced, for
 * dumps and the report. Optional: an unfused node prints as before. */
#define EPILOGUE(words) {"epilogue", ATTR_STR, 0, true, 0, 0, "none", words}
#define FUSED {"fused", ATTR_STR, 0, true, 0, 0, "", NULL}
static const char *const product_epilogue_words[] = {"none", "relu", "compensation",
                                                     "compensation_relu", NULL};
/* a backward kernel's: the relu mask of the saved int8 activation */
static const char *const mask_epilogue_words[] = {"none", "relu_grad", NULL};
static const char *const quantize_clip_words[] = {"none", "scale", "sigma", NULL};

/* a routed maxpool's mask (below), and a product's folded routed pool */
static const char *const route_mask_words[] = {"none", "relu", NULL};
#define POOLED                                                          \
  {"pool", ATTR_INTS, 2, true, 0, 0, NULL, NULL},                       \
  {"pool_mask", ATTR_STR, 0, true, 0, 0, "none", route_mask_words}

static const AttrSpec conv_attrs[] = {CONV_GEOMETRY, PRECISION};
static const AttrSpec conv_grad_input_attrs[] = {CONV_GEOMETRY, INPUT_SIZE, PRECISION};
static const AttrSpec dense_attrs[] = {UNITS, PRECISION};
static const AttrSpec conv_i8_attrs[] = {CONV_GEOMETRY, PRECISION,
                                         EPILOGUE(product_epilogue_words), FUSED, POOLED};
static const AttrSpec dense_i8_attrs[] = {UNITS, PRECISION, EPILOGUE(product_epilogue_words),
                                          FUSED};
static const AttrSpec conv_i8_grad_input_attrs[] = {CONV_GEOMETRY, INPUT_SIZE, PRECISION,
                                                    EPILOGUE(mask_epilogue_words), FUSED};
static const AttrSpec dense_i8_grad_input_attrs[] = {UNITS, PRECISION,
                                                     EPILOGUE(mask_epilogue_words), FUSED};
static const AttrSpec pool_i8_grad_attrs[] = {
    {"kernel", ATTR_INTS, 2, false, 0, 0, NULL, NULL},
    {"stride", ATTR_INTS, 2, false, 0, 0, NULL, NULL},
    {"pad", ATTR_INTS, 2, false, 0, 0, NULL, NULL},
    EPILOGUE(mask_epilogue_words),
    FUSED,
};
/* A routed maxpool: mask "relu" when a relu made its input and its
 * gradient folds the relu's (the route of a window whose max is not
 * positive is -1: no gradient); the gradient's input_size is the pooled
 * input's extent, and `inline` (passes/fuse.c) says its readers compute
 * the routed error themselves, so it has no kernel and no buffer. */
static const AttrSpec pool_route_attrs[] = {
    {"kernel", ATTR_INTS, 2, false, 0, 0, NULL, NULL},
    {"stride", ATTR_INTS, 2, false, 0, 0, NULL, NULL},
    {"pad", ATTR_INTS, 2, false, 0, 0, NULL, NULL},
    {"mask", ATTR_STR, 0, true, 0, 0, "none", route_mask_words},
};
static const AttrSpec pool_route_grad_attrs[] = {
    {"kernel", ATTR_INTS, 2, false, 0, 0, NULL, NULL},
    {"stride", ATTR_INTS, 2, false, 0, 0, NULL, NULL},
    {"pad", ATTR_INTS, 2, false, 0, 0, NULL, NULL},
    {"input_size", ATTR_INTS, 2, false, 0, 0, NULL, NULL},
    {"inline", ATTR_INT, 0, true, 0, 0, NULL, NULL},
    FUSED,
};
static const AttrSpec pool_attrs[] = {
    {"kernel", ATTR_INTS, 2, false, 0, 0, NULL, NULL},
    {"stride", ATTR_INTS, 2, false, 0, 0, NULL, NULL},
    {"pad", ATTR_INTS, 2, false, 0, 0, NULL, NULL},
};
static const AttrSpec pool_grad_attrs[] = {
    {"kernel", ATTR_INTS, 2, false, 0, 0, NULL, NULL},
    {"stride", ATTR_INTS, 2, false, 0, 0, NULL, NULL},
    {"pad", ATTR_INTS, 2, false, 0, 0, NULL, NULL},
    {"input_size", ATTR_INTS, 2, false, 0, 0, NULL, NULL},
};
static const AttrSpec bn_attrs[] = {
    {"eps", ATTR_FLOAT, 0, false, 0, 0, NULL, NULL},
    {"momentum", ATTR_FLOAT, 0, false, 0, 0, NULL, NULL},
};
static const AttrSpec dropout_attrs[] = {{"rate", ATTR_FLOAT, 0, false, 0, 0, NULL, NULL}};
static const AttrSpec dropout_grad_attrs[] = {
    {"rate", ATTR_FLOAT, 0, false, 0, 0, NULL, NULL},
    {"stream", ATTR_STR, 0, false, 0, 0, NULL, NULL},
};
static const AttrSpec input_size_attrs[] = {{"input_size", ATTR_INTS, 2, false, 0, 0, NULL, NULL}};
static const AttrSpec reshape_attrs[] = {{"shape", ATTR_INTS, 0, false, 0, 0, NULL, NULL}};
static const AttrSpec normalize_attrs[] = {
    {"mean", ATTR_FLOAT, 0, false, 0, 0, NULL, NULL},
    {"std", ATTR_FLOAT, 0, false, 0, 0, NULL, NULL},
};
static const AttrSpec leaky_attrs[] = {{"alpha", ATTR_FLOAT, 0, true, 0, 0.01, NULL, NULL}};
static const AttrSpec lr_attrs[] = {
    {"lr", ATTR_FLOAT, 0, false, 0, 0, NULL, NULL},
    {"schedule", ATTR_STR, 0, false, 0, 0, NULL, NULL},
    {"gamma", ATTR_FLOAT, 0, false, 0, 0, NULL, NULL},
    {"step_epochs", ATTR_INT, 0, false, 0, 0, NULL, NULL},
    {"min_lr", ATTR_FLOAT, 0, false, 0, 0, NULL, NULL},
    {"epochs", ATTR_INT, 0, false, 0, 0, NULL, NULL},
    {"warmup_epochs", ATTR_INT, 0, false, 0, 0, NULL, NULL},
};
static const AttrSpec sgd_attrs[] = {
    {"momentum", ATTR_FLOAT, 0, false, 0, 0, NULL, NULL},
    {"weight_decay", ATTR_FLOAT, 0, false, 0, 0, NULL, NULL},
    {"nesterov", ATTR_INT, 0, false, 0, 0, NULL, NULL},
};
static const AttrSpec quantize_attrs[] = {
    {"rounding", ATTR_STR, 0, true, 0, 0, "nearest", op_rounding_names},
    {"clip", ATTR_STR, 0, true, 0, 0, "none", quantize_clip_words},
    {"p", ATTR_FLOAT, 0, true, 0, 0.95, NULL, NULL},
    {"z", ATTR_FLOAT, 0, true, 0, 2.576, NULL, NULL},
    {"stats", ATTR_STR, 0, true, 0, 0, "", NULL}, /* the fused clip's counters (prc.stats) */
    FUSED,
};
static const AttrSpec adam_attrs[] = {
    {"beta1", ATTR_FLOAT, 0, false, 0, 0, NULL, NULL},
    {"beta2", ATTR_FLOAT, 0, false, 0, 0, NULL, NULL},
    {"eps", ATTR_FLOAT, 0, false, 0, 0, NULL, NULL},
    {"weight_decay", ATTR_FLOAT, 0, false, 0, 0, NULL, NULL},
};

/* LAC: parameters per output element ([C,H,W]) or per channel ([C]); the
 * L2 penalty lambda/2 (|mu|^2 + |beta|^2) is the gradient's business. */
static const char *const lac_granularity_words[] = {"element", "channel", NULL};
static const AttrSpec compensation_attrs[] = {
    {"granularity", ATTR_STR, 0, false, 0, 0, NULL, lac_granularity_words},
    {"lambda", ATTR_FLOAT, 0, false, 0, 0, NULL, NULL},
};
/* its gradient may carry a fused bias gradient (passes/fuse.c) */
static const AttrSpec compensation_grad_attrs[] = {
    {"granularity", ATTR_STR, 0, false, 0, 0, NULL, lac_granularity_words},
    {"lambda", ATTR_FLOAT, 0, false, 0, 0, NULL, NULL},
    FUSED,
};
/* PRC: [p min t, p max t] (scale) or mean +- z sigma (sigma), per tensor. */
static const char *const prc_method_words[] = {"scale", "sigma", NULL};
static const AttrSpec range_clip_attrs[] = {
    {"method", ATTR_STR, 0, false, 0, 0, NULL, prc_method_words},
    {"p", ATTR_FLOAT, 0, true, 0, 0.95, NULL, NULL},
    {"z", ATTR_FLOAT, 0, true, 0, 2.576, NULL, NULL},
    {"stats", ATTR_STR, 0, true, 0, 0, "", NULL}, /* counters <stats>.seen/.clipped (prc.stats) */
};

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* The rows. Fields are named so that a row reads as a description. */
static const OpInfo table[OP_COUNT] = {
    /* --- forward --- */
    [OP_CONV2D] = {.name = "conv2d", .role = OPROLE_FORWARD, .min_in = 2, .max_in = 3,
                   .in_names = in_xwb, .nout = 1, .in_types = t3, .out_types = t1,
                   .elem_types = F32_ONLY, .attrs = conv_attrs, .nattrs = N(conv_attrs),
                   .shape = rule_conv2d, .grad = grad_linear, .lower = lower_conv_fwd,
                   .macs = macs_conv2d},
    [OP_DENSE] = {.name = "dense", .role = OPROLE_FORWARD, .min_in = 2, .max_in = 3,
                  .in_names = in_xwb, .nout = 1, .in_types = t3, .out_types = t1,
                  .elem_types = F32_ONLY, .attrs = dense_attrs, .nattrs = N(dense_attrs),
                  .shape = rule_dense, .grad = grad_linear, .lower = lower_dense_fwd,
                  .macs = macs_dense},
    [OP_RELU] = {.name = "relu", .role = OPROLE_FORWARD, .min_in = 1, .max_in = 1,
                 .in_names = in_x, .nout = 1, .in_types = t1, .out_types = t1,
                 .elem_types = F32_ONLY, .shape = rule_same, .grad = grad_from_output,
                 .lower = lower_relu},
    [OP_RELU6] = {.name = "relu6", .role = OPROLE_FORWARD, .min_in = 1, .max_in = 1,
                  .in_names = in_x, .nout = 1, .in_types = t1, .out_types = t1,
                  .elem_types = F32_ONLY, .shape = rule_same, .grad = grad_from_output,
                  .lower = lower_relu6},
    [OP_LEAKY_RELU] = {.name = "leaky_relu", .role = OPROLE_FORWARD, .min_in = 1, .max_in = 1,
                       .in_names = in_x, .nout = 1, .in_types = t1, .out_types = t1,
                       .elem_types = F32_ONLY, .attrs = leaky_attrs, .nattrs = N(leaky_attrs),
                       .shape = rule_same, .grad = grad_from_output, .lower = lower_leaky_relu},
    /* Raw pixels to the network's floats: (p / 255 - mean) / std. */
    [OP_NORMALIZE] = {.name = "normalize", .role = OPROLE_FORWARD, .min_in = 1, .max_in = 1,
                      .in_names = in_x, .nout = 1, .in_types = u8_1, .out_types = f32_1,
                      .attrs = normalize_attrs, .nattrs = N(normalize_attrs),
                      .shape = rule_same, .lower = lower_normalize},
    [OP_MAXPOOL] = {.name = "maxpool", .role = OPROLE_FORWARD, .min_in = 1, .max_in = 1,
                    .in_names = in_x, .nout = 1, .in_types = t1, .out_types = t1,
                    .elem_types = F32_ONLY, .attrs = pool_attrs, .nattrs = N(pool_attrs),
                    .shape = rule_pool, .grad = grad_maxpool, .lower = lower_maxpool},
    [OP_AVGPOOL] = {.name = "avgpool", .role = OPROLE_FORWARD, .min_in = 1, .max_in = 1,
                    .in_names = in_x, .nout = 1, .in_types = t1, .out_types = t1,
                    .elem_types = F32_ONLY, .attrs = pool_attrs, .nattrs = N(pool_attrs),
                    .shape = rule_pool, .grad = grad_avgpool, .lower = lower_avgpool},
    [OP_GLOBAL_AVGPOOL] = {.name = "global_avgpool", .role = OPROLE_FORWARD, .min_in = 1,
                           .max_in = 1, .in_names = in_x, .nout = 1, .in_types = t1,
                           .out_types = t1, .elem_types = F32_ONLY,
                           .shape = rule_global_avgpool, .grad = grad_avgpool,
                           .lower = lower_global_avgpool},
    [OP_FLATTEN] = {.name = "flatten", .role = OPROLE_FORWARD, .min_in = 1, .max_in = 1,
                    .in_names = in_x, .nout = 1, .in_types = t1, .out_types = t1,
                    .elem_types = F32_ONLY, .alias = true, .shape = rule_flatten,
                    .grad = grad_flatten, .lower = lower_alias},
    [OP_ADD] = {.name = "add", .role = OPROLE_FORWARD, .min_in = 2, .max_in = 2,
                .in_names = in_ab, .nout = 1, .in_types = t2, .out_types = t1,
                .elem_types = F32_ONLY, .batch = BATCH_AS_INPUT0, .shape = rule_add,
                .grad = grad_of_add, .lower = lower_add},
    [OP_BATCHNORM] = {.name = "batchnorm", .role = OPROLE_FORWARD, .min_in = 5, .max_in = 5,
                      .in_names = in_bn, .nout = 1, .in_types = t5, .out_types = t1,
                      .elem_types = F32_ONLY, .attrs = bn_attrs, .nattrs = N(bn_attrs),
                      .no_grad = (1u << 3) | (1u << 4), .mode_dependent = true,
                      .shape = rule_batchnorm, .grad = grad_batchnorm,
                      .lower = lower_batchnorm},
    [OP_DROPOUT] = {.name = "dropout", .role = OPROLE_FORWARD, .min_in = 1, .max_in = 1,
                    .in_names = in_x, .nout = 1, .in_types = t1, .out_types = t1,
                    .elem_types = F32_ONLY, .attrs = dropout_attrs, .nattrs = N(dropout_attrs),
                    .mode_dependent = true, .shape = rule_same, .grad = grad_dropout,
                    .lower = lower_dropout},
    [OP_SCALE] = {.name = "scale", .role = OPROLE_FORWARD, .min_in = 2, .max_in = 2,
                  .in_names = in_scale, .nout = 1, .in_types = t2, .out_types = t1,
                  .elem_types = F32_ONLY, .shape = rule_scalar_param, .grad = grad_scale,
                  .lower = lower_scale},
    [OP_BIAS] = {.name = "bias", .role = OPROLE_FORWARD, .min_in = 2, .max_in = 2,
                 .in_names = in_bias, .nout = 1, .in_types = t2, .out_types = t1,
                 .elem_types = F32_ONLY, .shape = rule_scalar_param, .grad = grad_bias,
                 .lower = lower_bias},
    [OP_RESHAPE] = {.name = "reshape", .role = OPROLE_BACKWARD, .min_in = 1, .max_in = 1,
                    .in_names = in_x, .nout = 1, .in_types = t1, .out_types = t1,
                    .elem_types = F32_ONLY, .attrs = reshape_attrs, .nattrs = N(reshape_attrs),
                    .alias = true, .shape = rule_reshape, .lower = lower_alias},
    [OP_BATCHNORM_TRAIN] = {.name = "batchnorm_train", .role = OPROLE_FORWARD, .min_in = 5,
                            .max_in = 5, .in_names = in_bn, .nout = 3, .in_types = t5,
                            .out_types = t3, .elem_types = F32_ONLY, .attrs = bn_attrs,
                            .nattrs = N(bn_attrs), .writes = (1u << 3) | (1u << 4),
                            .no_grad = (1u << 3) | (1u << 4), .batch = BATCH_FIRST,
                            .mode_dependent = true, .shape = rule_batchnorm_train,
                            .lower = lower_batchnorm},
    /* --- losses --- */
    [OP_SOFTMAX_CROSS_ENTROPY] = {.name = "softmax_cross_entropy", .role = OPROLE_LOSS,
                                  .min_in = 2, .max_in = 2, .in_names = in_ce, .nout = 1,
                                  .in_types = t_class, .out_types = f32_1,
                                  .elem_types = F32_ONLY, .no_grad = 1u << 1,
                                  .batch = BATCH_NONE, .shape = rule_softmax_cross_entropy,
                                  .grad = grad_loss, .lower = lower_softmax_ce},
    [OP_MSE] = {.name = "mse", .role = OPROLE_LOSS, .min_in = 2, .max_in = 2,
                .in_names = in_mse, .nout = 1, .in_types = t2, .out_types = f32_1,
                .elem_types = F32_ONLY, .no_grad = 1u << 1, .batch = BATCH_NONE,
                .shape = rule_mse, .grad = grad_loss, .lower = lower_mse},
    /* --- gradients --- */
    [OP_CONV2D_GRAD_INPUT] = {.name = "conv2d_grad_input", .role = OPROLE_BACKWARD, .min_in = 2,
                              .max_in = 2, .in_names = in_dy_w, .nout = 1, .in_types = t2,
                              .out_types = t1, .elem_types = F32_ONLY,
                              .attrs = conv_grad_input_attrs,
                              .nattrs = N(conv_grad_input_attrs),
                              .shape = rule_conv2d_grad_input, .lower = lower_conv_dx,
                              .macs = macs_conv2d_grad_input},
    [OP_CONV2D_GRAD_WEIGHT] = {.name = "conv2d_grad_weight", .role = OPROLE_BACKWARD,
                               .min_in = 2, .max_in = 2, .in_names = in_x_dy, .nout = 1,
                               .in_types = t2, .out_types = t1, .elem_types = F32_ONLY,
                               .attrs = conv_attrs, .nattrs = N(conv_attrs),
                               .batch = BATCH_NONE, .shape = rule_conv2d_grad_weight,
                               .lower = lower_conv_dw, .macs = macs_conv2d_grad_weight},
    [OP_DENSE_GRAD_INPUT] = {.name = "dense_grad_input", .role = OPROLE_BACKWARD, .min_in = 2,
                             .max_in = 2, .in_names = in_dy_w, .nout = 1, .in_types = t2,
                             .out_types = t1, .elem_types = F32_ONLY, .attrs = dense_attrs,
                             .nattrs = N(dense_attrs), .shape = rule_dense_grad_input,
                             .lower = lower_dense_dx, .macs = macs_dense},
    [OP_DENSE_GRAD_WEIGHT] = {.name = "dense_grad_weight", .role = OPROLE_BACKWARD, .min_in = 2,
                              .max_in = 2, .in_names = in_x_dy, .nout = 1, .in_types = t2,
                              .out_types = t1, .elem_types = F32_ONLY, .attrs = dense_attrs,
                              .nattrs = N(dense_attrs), .batch = BATCH_NONE,
                              .shape = rule_dense_grad_weight, .lower = lower_dense_dw,
                              .macs = macs_dense_grad_weight},
    [OP_BIAS_GRAD] = {.name = "bias_grad", .role = OPROLE_BACKWARD, .min_in = 1, .max_in = 1,
                      .in_names = in_dy, .nout = 1, .in_types = t1, .out_types = t1,
                      .elem_types = F32_ONLY, .batch = BATCH_NONE, .shape = rule_bias_grad,
                      .lower = lower_bias_grad},
    [OP_RELU_GRAD] = {.name = "relu_grad", .role = OPROLE_BACKWARD, .min_in = 2, .max_in = 2,
                      .in_names = in_dy_y, .nout = 1, .in_types = t2, .out_types = t1,
                      .elem_types = F32_ONLY, .shape = rule_pair_same, .lower = lower_relu_grad},
    [OP_RELU6_GRAD] = {.name = "relu6_grad", .role = OPROLE_BACKWARD, .min_in = 2, .max_in = 2,
                       .in_names = in_dy_y, .nout = 1, .in_types = t2, .out_types = t1,
                       .elem_types = F32_ONLY, .shape = rule_pair_same,
                       .lower = lower_relu6_grad},
    [OP_LEAKY_RELU_GRAD] = {.name = "leaky_relu_grad", .role = OPROLE_BACKWARD, .min_in = 2,
                            .max_in = 2, .in_names = in_dy_y, .nout = 1, .in_types = t2,
                            .out_types = t1, .elem_types = F32_ONLY, .attrs = leaky_attrs,
                            .nattrs = N(leaky_attrs), .shape = rule_pair_same,
                            .lower = lower_leaky_relu_grad},
    [OP_MAXPOOL_GRAD] = {.name = "maxpool_grad", .role = OPROLE_BACKWARD, .min_in = 2,
                         .max_in = 2, .in_names = in_dy_x, .nout = 1, .in_types = t2,
                         .out_types = t1, .elem_types = F32_ONLY, .attrs = pool_attrs,
                         .nattrs = N(pool_attrs), .shape = rule_maxpool_grad,
                         .lower = lower_maxpool_grad},
    [OP_AVGPOOL_GRAD] = {.name = "avgpool_grad", .role = OPROLE_BACKWARD, .min_in = 1,
                         .max_in = 1, .in_names = in_dy, .nout = 1, .in_types = t1,
                         .out_types = t1, .elem_types = F32_ONLY, .attrs = pool_grad_attrs,
                         .nattrs = N(pool_grad_attrs), .shape = rule_avgpool_grad,
                         .lower = lower_avgpool_grad},
    [OP_GLOBAL_AVGPOOL_GRAD] = {.name = "global_avgpool_grad", .role = OPROLE_BACKWARD,
                                .min_in = 1, .max_in = 1, .in_names = in_dy, .nout = 1,
                                .in_types = t1, .out_types = t1, .elem_types = F32_ONLY,
                                .attrs = input_size_attrs, .nattrs = N(input_size_attrs),
                                .shape = rule_global_avgpool_grad,
                                .lower = lower_global_avgpool_grad},
    [OP_BATCHNORM_GRAD] = {.name = "batchnorm_grad", .role = OPROLE_BACKWARD, .min_in = 5,
                           .max_in = 5, .in_names = in_bn_grad, .nout = 3, .in_types = t5,
                           .out_types = t3, .elem_types = F32_ONLY, .batch = BATCH_FIRST,
                           .shape = rule_batchnorm_grad, .lower = lower_batchnorm_grad},
    [OP_DROPOUT_GRAD] = {.name = "dropout_grad", .role = OPROLE_BACKWARD, .min_in = 1,
                         .max_in = 1, .in_names = in_dy, .nout = 1, .in_types = t1,
                         .out_types = t1, .elem_types = F32_ONLY, .attrs = dropout_grad_attrs,
                         .nattrs = N(dropout_grad_attrs), .shape = rule_same,
                         .lower = lower_dropout_grad},
    [OP_SUM] = {.name = "sum", .role = OPROLE_BACKWARD, .min_in = 1, .max_in = 1,
                .in_names = in_x, .nout = 1, .in_types = t1, .out_types = f32_1,
                .elem_types = F32_ONLY, .batch = BATCH_NONE, .shape = rule_sum,
                .lower = lower_sum},
    [OP_SUM_PRODUCT] = {.name = "sum_product", .role = OPROLE_BACKWARD, .min_in = 2, .max_in = 2,
                        .in_names = in_ab, .nout = 1, .in_types = t2, .out_types = f32_1,
                        .elem_types = F32_ONLY, .batch = BATCH_NONE, .shape = rule_sum,
                        .lower = lower_sum},
    [OP_SOFTMAX_CROSS_ENTROPY_GRAD] = {.name = "softmax_cross_entropy_grad",
                                       .role = OPROLE_BACKWARD, .min_in = 2, .max_in = 2,
                                       .in_names = in_ce, .nout = 1, .in_types = t_class,
                                       .out_types = t1, .elem_types = F32_ONLY,
                                       .shape = rule_softmax_cross_entropy_grad,
                                       .lower = lower_softmax_ce_grad},
    [OP_MSE_GRAD] = {.name = "mse_grad", .role = OPROLE_BACKWARD, .min_in = 2, .max_in = 2,
                     .in_names = in_mse, .nout = 1, .in_types = t2, .out_types = t1,
                     .elem_types = F32_ONLY, .shape = rule_pair_same, .lower = lower_mse_grad},
    /* --- optimizer --- */
    [OP_LR_SCHEDULE] = {.name = "lr_schedule", .role = OPROLE_OPTIMIZER, .min_in = 1,
                        .max_in = 1, .in_names = in_epoch, .nout = 1, .in_types = i32_1,
                        .out_types = f32_1, .attrs = lr_attrs, .nattrs = N(lr_attrs),
                        .internal_state = 1u << 0, .batch = BATCH_NONE,
                        .shape = rule_lr_schedule, .lower = lower_lr_schedule},
    [OP_SGD_UPDATE] = {.name = "sgd_update", .role = OPROLE_OPTIMIZER, .min_in = 3, .max_in = 4,
                       .in_names = in_sgd, .nout = 0, .in_types = t_sgd,
                       .elem_types = F32_ONLY, .attrs = sgd_attrs, .nattrs = N(sgd_attrs),
                       .writes = (1u << 0) | (1u << 3), .optim_state = 1u << 3,
                       .batch = BATCH_NONE, .shape = rule_sgd_update, .lower = lower_sgd},
    [OP_ADAM_UPDATE] = {.name = "adam_update", .role = OPROLE_OPTIMIZER, .min_in = 6,
                        .max_in = 6, .in_names = in_adam, .nout = 0, .in_types = t_adam,
                        .elem_types = F32_ONLY, .attrs = adam_attrs, .nattrs = N(adam_attrs),
                        .writes = (1u << 0) | (1u << 3) | (1u << 4),
                        .optim_state = (1u << 3) | (1u << 4), .internal_state = 1u << 5,
                        .batch = BATCH_NONE, .shape = rule_adam_update, .lower = lower_adam},
    [OP_STEP_INCREMENT] = {.name = "step_increment", .role = OPROLE_OPTIMIZER, .min_in = 1,
                           .max_in = 1, .in_names = in_step, .nout = 0, .in_types = i64_1,
                           .writes = 1u << 0, .internal_state = 1u << 0, .batch = BATCH_NONE,
                           .shape = rule_step_increment, .lower = lower_step_increment},
    /* --- LAC and PRC (issue 11) --- */
    [OP_COMPENSATION] = {.name = "compensation", .role = OPROLE_FORWARD, .min_in = 4,
                         .max_in = 4, .in_names = in_comp, .nout = 1, .in_types = t4,
                         .out_types = t1, .elem_types = F32_ONLY, .attrs = compensation_attrs,
                         .nattrs = N(compensation_attrs), .shape = rule_compensation,
                         .grad = grad_compensation, .lower = lower_compensation},
    [OP_COMPENSATION_GRAD] = {.name = "compensation_grad", .role = OPROLE_BACKWARD, .min_in = 4,
                              .max_in = 4, .in_names = in_comp_grad, .nout = 3, .max_out = 4,
                              .in_types = t4, .out_types = t4, .elem_types = F32_ONLY,
                              .attrs = compensation_grad_attrs,
                              .nattrs = N(compensation_grad_attrs),
                              .batch = BATCH_NONE, .shape = rule_compensation_grad,
                              .lower = lower_compensation_grad},
    /* A clip of a forward tensor (LAC's output, PRC's forward x and w) has the
     * straight-through gradient; one PRC puts on a backward tensor has none
     * (it is inserted after autodiff). */
    [OP_RANGE_CLIP] = {.name = "range_clip", .role = OPROLE_QUANTIZE, .min_in = 1, .max_in = 1,
                       .in_names = in_x, .nout = 1, .in_types = t1, .out_types = t1,
                       .elem_types = F32_ONLY, .attrs = range_clip_attrs,
                       .nattrs = N(range_clip_attrs), .batch = BATCH_AS_INPUT0,
                       .shape = rule_same, .grad = grad_range_clip, .lower = lower_range_clip},
    [OP_RANGE_CLIP_GRAD] = {.name = "range_clip_grad", .role = OPROLE_BACKWARD, .min_in = 2,
                            .max_in = 2, .in_names = in_dy_x, .nout = 1, .in_types = t2,
                            .out_types = t1, .elem_types = F32_ONLY, .attrs = range_clip_attrs,
                            .nattrs = N(range_clip_attrs), .batch = BATCH_AS_INPUT0,
                            .shape = rule_pair_same, .lower = lower_range_clip_grad},
    /* --- INT8 (DESIGN.md section 5; docs/int8.md) --- */
    /* q = clamp(round(x / s), -127, 127) with s = max|x| / 127 (1 for an
     * all-zero x), per tensor, computed at run time. passes/fuse.c may give
     * it max|x| or x's [min, max] as a second operand, or a third result
     * (x's [min, max] for later quantizes of x). */
    [OP_QUANTIZE] = {.name = "quantize", .role = OPROLE_QUANTIZE, .min_in = 1, .max_in = 2,
                     .in_names = in_x_stats, .nout = 2, .max_out = 3, .in_types = f32_2,
                     .out_types = i8_scale_range,
                     .attrs = quantize_attrs, .nattrs = N(quantize_attrs),
                     .batch = BATCH_FIRST_AS_INPUT0, .mode_dependent = true,
                     .shape = rule_quantize, .lower = lower_quantize},
    /* The products of conv2d and dense on quantized operands: int8 x int8
     * summed in int32, times the two scales, plus the bias. */
    [OP_CONV2D_I8] = {.name = "conv2d_i8", .role = OPROLE_FORWARD, .min_in = 4, .max_in = 8,
                      .in_names = in_q_xwb_lac, .nout = 1, .max_out = 3,
                      .in_types = q_pair_bias_lac, .out_types = f32_f32_i8, .batch = BATCH_FIRST, .attrs = conv_i8_attrs, .nattrs = N(conv_i8_attrs),
                      .shape = rule_int8_product, .lower = lower_conv_i8,
                      .macs = macs_int8_product},
    [OP_CONV2D_I8_GRAD_INPUT] = {.name = "conv2d_i8_grad_input", .role = OPROLE_BACKWARD,
                                 .min_in = 4, .max_in = 5, .in_names = in_q_dy_w_mask,
                                 .nout = 1, .in_types = q_pair_mask, .out_types = f32_1,
                                 .attrs = conv_i8_grad_input_attrs,
                                 .nattrs = N(conv_i8_grad_input_attrs),
                                 .shape = rule_int8_product, .lower = lower_conv_i8_dx,
                                 .macs = macs_int8_product},
    [OP_CONV2D_I8_GRAD_WEIGHT] = {.name = "conv2d_i8_grad_weight", .role = OPROLE_BACKWARD,
                                  .min_in = 4, .max_in = 4, .in_names = in_q_x_dy, .nout = 1,
                                  .in_types = q_pair_bias, .out_types = f32_1,
                                  .attrs = conv_attrs, .nattrs = N(conv_attrs),
                                  .batch = BATCH_NONE, .shape = rule_int8_product,
                                  .lower = lower_conv_i8_dw, .macs = macs_int8_product},
    [OP_DENSE_I8] = {.name = "dense_i8", .role = OPROLE_FORWARD, .min_in = 4, .max_in = 8,
                     .in_names = in_q_xwb_lac, .nout = 1, .max_out = 2,
                     .in_types = q_pair_bias_lac, .out_types = f32_2, .batch = BATCH_FIRST, .attrs = dense_i8_attrs, .nattrs = N(dense_i8_attrs),
                     .shape = rule_int8_product, .lower = lower_dense_i8, .macs = macs_int8_product},
    [OP_DENSE_I8_GRAD_INPUT] = {.name = "dense_i8_grad_input", .role = OPROLE_BACKWARD,
                                .min_in = 4, .max_in = 5, .in_names = in_q_dy_w_mask,
                                .nout = 1, .in_types = q_pair_mask, .out_types = f32_1,
                                .attrs = dense_i8_grad_input_attrs,
                                .nattrs = N(dense_i8_grad_input_attrs),
                                .shape = rule_int8_product, .lower = lower_dense_i8_dx,
                                .macs = macs_int8_product},
    [OP_DENSE_I8_GRAD_WEIGHT] = {.name = "dense_i8_grad_weight", .role = OPROLE_BACKWARD,
                                 .min_in = 4, .max_in = 4, .in_names = in_q_x_dy, .nout = 1,
                                 .in_types = q_pair_bias, .out_types = f32_1,
                                 .attrs = dense_attrs, .nattrs = N(dense_attrs),
                                 .batch = BATCH_NONE, .shape = rule_int8_product,
                                 .lower = lower_dense_i8_dw, .macs = macs_int8_product},
    /* The backward ops that read a saved activation only for its sign or
     * its argmax, reading the int8 copy the forward quantized (the f32
     * activation then dies in the forward pass). */
    [OP_RELU_GRAD_I8] = {.name = "relu_grad_i8", .role = OPROLE_BACKWARD, .min_in = 2,
                         .max_in = 2, .in_names = in_dy_y, .nout = 1, .in_types = f32_i8,
                         .out_types = f32_1, .shape = rule_grad_of_int8,
                         .lower = lower_relu_grad},
    [OP_LEAKY_RELU_GRAD_I8] = {.name = "leaky_relu_grad_i8", .role = OPROLE_BACKWARD,
                               .min_in = 2, .max_in = 2, .in_names = in_dy_y, .nout = 1,
                               .in_types = f32_i8, .out_types = f32_1, .attrs = leaky_attrs,
                               .nattrs = N(leaky_attrs), .shape = rule_grad_of_int8,
                               .lower = lower_leaky_relu_grad},
    [OP_MAXPOOL_GRAD_I8] = {.name = "maxpool_grad_i8", .role = OPROLE_BACKWARD, .min_in = 2,
                            .max_in = 2, .in_names = in_dy_x, .nout = 1, .in_types = f32_i8,
                            .out_types = f32_1, .attrs = pool_i8_grad_attrs,
                            .nattrs = N(pool_i8_grad_attrs), .shape = rule_maxpool_grad,
                            .lower = lower_maxpool_grad},
    [OP_MAXPOOL_ROUTE] = {.name = "maxpool_route", .role = OPROLE_FORWARD, .min_in = 1,
                          .max_in = 1, .in_names = in_x, .nout = 2, .in_types = f32_1,
                          .out_types = f32_i8, .attrs = pool_route_attrs,
                          .nattrs = N(pool_route_attrs), .shape = rule_maxpool_route,
                          .lower = lower_maxpool_route},
    [OP_MAXPOOL_ROUTE_GRAD] = {.name = "maxpool_route_grad", .role = OPROLE_BACKWARD,
                               .min_in = 2, .max_in = 2, .in_names = in_dy_route, .nout = 1,
                               .in_types = f32_i8, .out_types = f32_1,
                               .attrs = pool_route_grad_attrs,
                               .nattrs = N(pool_route_grad_attrs),
                               .shape = rule_maxpool_route_grad,
                               .lower = lower_maxpool_route_grad},
};

const OpInfo *op_info(OpKind op) { return op < OP_COUNT ? &table[op] : NULL; }

bool op_result_count_ok(const OpInfo *info, int nout) {
  return nout == info->nout || (nout > info->nout && nout <= info->max_out);
}

const char *op_name(OpKind op) { return op < OP_COUNT ? table[op].name : "?"; }

bool op_from_name(const char *name, OpKind *out) {
  for (int i = 0; i < OP_COUNT; i++)
    if (strcmp(table[i].name, name) == 0) {
      *out = (OpKind)i;
      return true;
    }
  return false;
}

const char *attr_kind_name(AttrKind k) {
  switch (k) {
  case ATTR_INT: return "integer";
  case ATTR_FLOAT: return "number";
  case ATTR_INTS: return "integer list";
  case ATTR_STR: return "name";
  }
  return "?";
}

const AttrSpec *op_attr_spec(const OpInfo *info, const char *name) {
  for (int i = 0; i < info->nattrs; i++)
    if (strcmp(info->attrs[i].name, name) == 0) return &info->attrs[i];
  return NULL;
}

bool op_is_training(OpKind op) {
  return op < OP_COUNT &&
         (table[op].role == OPROLE_BACKWARD || table[op].role == OPROLE_OPTIMIZER);
}

DType dtype_accumulator(DType t) {
  switch (t) {
  case DT_I8:
  case DT_U8:
  case DT_I16: return DT_I32;
  default: return t;
  }
}

DType dtype_slot_resolve(DTypeSlot s, DType t) {
  if (s == DTS_T) return t;
  if (s == DTS_ACC) return dtype_accumulator(t);
  return (DType)s;
}
