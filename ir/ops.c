/* The op table. Adding an op: an enum entry in ops.h, a row here, a shape rule
 * in ir/shape_rules.c, a gradient in passes/autodiff.c and a lowering to loop
 * IR in passes/lower_*.c. */
#include "ops.h"

#include <string.h>

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
static const char *const in_bn_grad[] = {"dy", "x", "gamma", "mean", "invstd"};
static const char *const in_ce_grad[] = {"logits", "label"};
static const char *const in_epoch[] = {"epoch"};
static const char *const in_sgd[] = {"param", "grad", "lr", "momentum"};
static const char *const in_adam[] = {"param", "grad", "lr", "m", "v", "step"};
static const char *const in_step[] = {"step"};

static const AttrSpec conv_attrs[] = {
    {"filters", ATTR_INT, 0}, {"kernel", ATTR_INTS, 2}, {"stride", ATTR_INTS, 2},
    {"pad", ATTR_INTS, 2},    {"groups", ATTR_INT, 0},
};
static const AttrSpec dense_attrs[] = {{"units", ATTR_INT, 0}};
static const AttrSpec pool_attrs[] = {
    {"kernel", ATTR_INTS, 2}, {"stride", ATTR_INTS, 2}, {"pad", ATTR_INTS, 2}};
static const AttrSpec bn_attrs[] = {{"eps", ATTR_FLOAT, 0}, {"momentum", ATTR_FLOAT, 0}};
static const AttrSpec dropout_attrs[] = {{"rate", ATTR_FLOAT, 0}};
static const AttrSpec conv_grad_input_attrs[] = {
    {"filters", ATTR_INT, 0}, {"kernel", ATTR_INTS, 2}, {"stride", ATTR_INTS, 2},
    {"pad", ATTR_INTS, 2},    {"groups", ATTR_INT, 0},  {"input_size", ATTR_INTS, 2},
};
static const AttrSpec pool_grad_attrs[] = {
    {"kernel", ATTR_INTS, 2}, {"stride", ATTR_INTS, 2}, {"pad", ATTR_INTS, 2},
    {"input_size", ATTR_INTS, 2}};
static const AttrSpec input_size_attrs[] = {{"input_size", ATTR_INTS, 2}};
static const AttrSpec reshape_attrs[] = {{"shape", ATTR_INTS, 0}};
static const AttrSpec dropout_grad_attrs[] = {{"rate", ATTR_FLOAT, 0}, {"stream", ATTR_STR, 0}};
static const AttrSpec lr_attrs[] = {
    {"lr", ATTR_FLOAT, 0},          {"schedule", ATTR_STR, 0},  {"gamma", ATTR_FLOAT, 0},
    {"step_epochs", ATTR_INT, 0},   {"min_lr", ATTR_FLOAT, 0},  {"epochs", ATTR_INT, 0},
    {"warmup_epochs", ATTR_INT, 0},
};
static const AttrSpec sgd_attrs[] = {
    {"momentum", ATTR_FLOAT, 0}, {"weight_decay", ATTR_FLOAT, 0}, {"nesterov", ATTR_INT, 0}};
static const AttrSpec adam_attrs[] = {
    {"beta1", ATTR_FLOAT, 0}, {"beta2", ATTR_FLOAT, 0}, {"eps", ATTR_FLOAT, 0},
    {"weight_decay", ATTR_FLOAT, 0}};

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const OpInfo table[OP_COUNT] = {
    [OP_CONV2D] = {"conv2d", 2, 3, in_xwb, 1, conv_attrs, N(conv_attrs), false, 0},
    [OP_DENSE] = {"dense", 2, 3, in_xwb, 1, dense_attrs, N(dense_attrs), false, 0},
    [OP_RELU] = {"relu", 1, 1, in_x, 1, NULL, 0, false, 0},
    [OP_RELU6] = {"relu6", 1, 1, in_x, 1, NULL, 0, false, 0},
    [OP_MAXPOOL] = {"maxpool", 1, 1, in_x, 1, pool_attrs, N(pool_attrs), false, 0},
    [OP_AVGPOOL] = {"avgpool", 1, 1, in_x, 1, pool_attrs, N(pool_attrs), false, 0},
    [OP_GLOBAL_AVGPOOL] = {"global_avgpool", 1, 1, in_x, 1, NULL, 0, false, 0},
    [OP_FLATTEN] = {"flatten", 1, 1, in_x, 1, NULL, 0, false, 0},
    [OP_ADD] = {"add", 2, 2, in_ab, 1, NULL, 0, false, 0},
    [OP_BATCHNORM] = {"batchnorm", 5, 5, in_bn, 1, bn_attrs, N(bn_attrs), false, 0},
    [OP_DROPOUT] = {"dropout", 1, 1, in_x, 1, dropout_attrs, N(dropout_attrs), false, 0},
    [OP_SCALE] = {"scale", 2, 2, in_scale, 1, NULL, 0, false, 0},
    [OP_BIAS] = {"bias", 2, 2, in_bias, 1, NULL, 0, false, 0},
    [OP_SOFTMAX_CROSS_ENTROPY] = {"softmax_cross_entropy", 2, 2, in_ce, 1, NULL, 0, true, 0},
    [OP_MSE] = {"mse", 2, 2, in_mse, 1, NULL, 0, true, 0},
    [OP_CONV2D_GRAD_INPUT] = {"conv2d_grad_input", 2, 2, in_dy_w, 1, conv_grad_input_attrs,
                              N(conv_grad_input_attrs), false, 0},
    [OP_CONV2D_GRAD_WEIGHT] = {"conv2d_grad_weight", 2, 2, in_x_dy, 1, conv_attrs,
                               N(conv_attrs), false, 0},
    [OP_DENSE_GRAD_INPUT] = {"dense_grad_input", 2, 2, in_dy_w, 1, dense_attrs, N(dense_attrs),
                             false, 0},
    [OP_DENSE_GRAD_WEIGHT] = {"dense_grad_weight", 2, 2, in_x_dy, 1, dense_attrs,
                              N(dense_attrs), false, 0},
    [OP_BIAS_GRAD] = {"bias_grad", 1, 1, in_dy, 1, NULL, 0, false, 0},
    [OP_RELU_GRAD] = {"relu_grad", 2, 2, in_dy_y, 1, NULL, 0, false, 0},
    [OP_RELU6_GRAD] = {"relu6_grad", 2, 2, in_dy_y, 1, NULL, 0, false, 0},
    [OP_MAXPOOL_GRAD] = {"maxpool_grad", 2, 2, in_dy_x, 1, pool_attrs, N(pool_attrs), false, 0},
    [OP_AVGPOOL_GRAD] = {"avgpool_grad", 1, 1, in_dy, 1, pool_grad_attrs, N(pool_grad_attrs),
                         false, 0},
    [OP_GLOBAL_AVGPOOL_GRAD] = {"global_avgpool_grad", 1, 1, in_dy, 1, input_size_attrs,
                                N(input_size_attrs), false, 0},
    [OP_RESHAPE] = {"reshape", 1, 1, in_x, 1, reshape_attrs, N(reshape_attrs), false, 0},
    [OP_BATCHNORM_TRAIN] = {"batchnorm_train", 5, 5, in_bn, 3, bn_attrs, N(bn_attrs), false,
                            (1u << 3) | (1u << 4)},
    [OP_BATCHNORM_GRAD] = {"batchnorm_grad", 5, 5, in_bn_grad, 3, NULL, 0, false, 0},
    [OP_DROPOUT_GRAD] = {"dropout_grad", 1, 1, in_dy, 1, dropout_grad_attrs,
                         N(dropout_grad_attrs), false, 0},
    [OP_SUM] = {"sum", 1, 1, in_x, 1, NULL, 0, false, 0},
    [OP_SUM_PRODUCT] = {"sum_product", 2, 2, in_ab, 1, NULL, 0, false, 0},
    [OP_SOFTMAX_CROSS_ENTROPY_GRAD] = {"softmax_cross_entropy_grad", 2, 2, in_ce_grad, 1, NULL,
                                       0, false, 0},
    [OP_MSE_GRAD] = {"mse_grad", 2, 2, in_mse, 1, NULL, 0, false, 0},
    [OP_LR_SCHEDULE] = {"lr_schedule", 1, 1, in_epoch, 1, lr_attrs, N(lr_attrs), false, 0},
    [OP_SGD_UPDATE] = {"sgd_update", 3, 4, in_sgd, 0, sgd_attrs, N(sgd_attrs), false,
                       (1u << 0) | (1u << 3)},
    [OP_ADAM_UPDATE] = {"adam_update", 6, 6, in_adam, 0, adam_attrs, N(adam_attrs), false,
                        (1u << 0) | (1u << 3) | (1u << 4)},
    [OP_STEP_INCREMENT] = {"step_increment", 1, 1, in_step, 0, NULL, 0, false, 1u << 0},
};

const OpInfo *op_info(OpKind op) { return op < OP_COUNT ? &table[op] : NULL; }

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

bool op_is_training(OpKind op) { return op >= OP_CONV2D_GRAD_INPUT && op != OP_BATCHNORM_TRAIN; }
