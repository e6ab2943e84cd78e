/* The op table. Adding an op: an enum entry in ops.h, a row here, a shape rule
 * in passes/shape_infer.c (and later a gradient and a loop-IR lowering). */
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

static const AttrSpec conv_attrs[] = {
    {"filters", ATTR_INT, 0}, {"kernel", ATTR_INTS, 2}, {"stride", ATTR_INTS, 2},
    {"pad", ATTR_INTS, 2},    {"groups", ATTR_INT, 0},
};
static const AttrSpec dense_attrs[] = {{"units", ATTR_INT, 0}};
static const AttrSpec pool_attrs[] = {
    {"kernel", ATTR_INTS, 2}, {"stride", ATTR_INTS, 2}, {"pad", ATTR_INTS, 2}};
static const AttrSpec bn_attrs[] = {{"eps", ATTR_FLOAT, 0}, {"momentum", ATTR_FLOAT, 0}};
static const AttrSpec dropout_attrs[] = {{"rate", ATTR_FLOAT, 0}};

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const OpInfo table[OP_COUNT] = {
    [OP_CONV2D] = {"conv2d", 2, 3, in_xwb, 1, conv_attrs, N(conv_attrs), false},
    [OP_DENSE] = {"dense", 2, 3, in_xwb, 1, dense_attrs, N(dense_attrs), false},
    [OP_RELU] = {"relu", 1, 1, in_x, 1, NULL, 0, false},
    [OP_RELU6] = {"relu6", 1, 1, in_x, 1, NULL, 0, false},
    [OP_MAXPOOL] = {"maxpool", 1, 1, in_x, 1, pool_attrs, N(pool_attrs), false},
    [OP_AVGPOOL] = {"avgpool", 1, 1, in_x, 1, pool_attrs, N(pool_attrs), false},
    [OP_GLOBAL_AVGPOOL] = {"global_avgpool", 1, 1, in_x, 1, NULL, 0, false},
    [OP_FLATTEN] = {"flatten", 1, 1, in_x, 1, NULL, 0, false},
    [OP_ADD] = {"add", 2, 2, in_ab, 1, NULL, 0, false},
    [OP_BATCHNORM] = {"batchnorm", 5, 5, in_bn, 1, bn_attrs, N(bn_attrs), false},
    [OP_DROPOUT] = {"dropout", 1, 1, in_x, 1, dropout_attrs, N(dropout_attrs), false},
    [OP_SCALE] = {"scale", 2, 2, in_scale, 1, NULL, 0, false},
    [OP_BIAS] = {"bias", 2, 2, in_bias, 1, NULL, 0, false},
    [OP_SOFTMAX_CROSS_ENTROPY] = {"softmax_cross_entropy", 2, 2, in_ce, 1, NULL, 0, true},
    [OP_MSE] = {"mse", 2, 2, in_mse, 1, NULL, 0, true},
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
