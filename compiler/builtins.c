/* The built-in op signatures (see builtins.h). One row per op, one line per
 * attribute: name, type, default, range. Ranges keep later arithmetic on
 * shapes far from int64 overflow: no extent above 2^24. */
#include "builtins.h"

#include <string.h>

#include "graph.h"

enum { BIG = 1 << 24 };

static const char *const ops_x[] = {"x"};
static const char *const ops_ab[] = {"a", "b"};
static const char *const ops_ce[] = {"logits", "label"};
static const char *const ops_mse[] = {"prediction", "target"};

static const BuiltinAttr conv2d_attrs[] = {
    {"filters", BA_INT, DEF_REQUIRED, 0, NULL, 1, BIG, RANGE_CLOSED, "output channels"},
    {"kernel", BA_INT2, DEF_REQUIRED, 0, NULL, 1, BIG, RANGE_CLOSED, "kernel extent, k or [kh, kw]"},
    {"stride", BA_INT2, DEF_VALUE, 1, NULL, 1, BIG, RANGE_CLOSED, "step, s or [sh, sw]"},
    {"pad", BA_INT2, DEF_VALUE, 0, NULL, 0, BIG, RANGE_CLOSED, "zero padding on each side"},
    {"groups", BA_INT, DEF_VALUE, 1, NULL, 1, BIG, RANGE_CLOSED, "channel groups (depthwise: = channels)"},
    {"bias", BA_BOOL, DEF_VALUE, 1, NULL, 0, 0, RANGE_CLOSED, "add a learned bias per filter"},
    {"init", BA_INIT, DEF_VALUE, INIT_HE, NULL, 0, 0, RANGE_CLOSED, "weight initializer"},
    {"in_channels", BA_INT, DEF_NONE, 0, NULL, 1, BIG, RANGE_CLOSED, "input channels, if known"},
};

static const BuiltinAttr dense_attrs[] = {
    {"units", BA_INT, DEF_REQUIRED, 0, NULL, 1, BIG, RANGE_CLOSED, "output features"},
    {"bias", BA_BOOL, DEF_VALUE, 1, NULL, 0, 0, RANGE_CLOSED, "add a learned bias per unit"},
    {"init", BA_INIT, DEF_VALUE, INIT_HE, NULL, 0, 0, RANGE_CLOSED, "weight initializer"},
    {"in_features", BA_INT, DEF_NONE, 0, NULL, 1, BIG, RANGE_CLOSED, "input features, if known"},
};

static const BuiltinAttr leaky_relu_attrs[] = {
    {"alpha", BA_FLOAT, DEF_VALUE, 0.01, NULL, 0, 1, RANGE_MAX_OPEN, "slope for x < 0"},
};

static const BuiltinAttr pool_attrs[] = {
    {"kernel", BA_INT2, DEF_REQUIRED, 0, NULL, 1, BIG, RANGE_CLOSED, "window extent, k or [kh, kw]"},
    {"stride", BA_INT2, DEF_SAME_AS, 0, "kernel", 1, BIG, RANGE_CLOSED, "step (default: the kernel)"},
    {"pad", BA_INT2, DEF_VALUE, 0, NULL, 0, BIG, RANGE_CLOSED, "padding on each side"},
};

static const BuiltinAttr bn_attrs[] = {
    {"eps", BA_FLOAT, DEF_VALUE, 1e-5, NULL, 0, 1, RANGE_OPEN, "added to the variance"},
    {"momentum", BA_FLOAT, DEF_VALUE, 0.1, NULL, 0, 1, RANGE_MAX_OPEN, "running-statistics update rate"},
};

static const BuiltinAttr dropout_attrs[] = {
    {"rate", BA_FLOAT, DEF_VALUE, 0.5, NULL, 0, 1, RANGE_MAX_OPEN, "probability of zeroing an element"},
};

static const BuiltinAttr scale_attrs[] = {
    {"init", BA_FLOAT, DEF_VALUE, 1.0, NULL, -1e30, 1e30, RANGE_CLOSED, "initial multiplier"},
};

static const BuiltinAttr bias_attrs[] = {
    {"init", BA_FLOAT, DEF_VALUE, 0.0, NULL, -1e30, 1e30, RANGE_CLOSED, "initial offset"},
};

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const Builtin table[] = {
    {"conv2d", OP_CONV2D, 1, ops_x, conv2d_attrs, N(conv2d_attrs), true, "2-D convolution"},
    {"dense", OP_DENSE, 1, ops_x, dense_attrs, N(dense_attrs), true, "fully connected layer"},
    {"relu", OP_RELU, 1, ops_x, NULL, 0, false, "max(x, 0)"},
    {"relu6", OP_RELU6, 1, ops_x, NULL, 0, false, "min(max(x, 0), 6)"},
    {"leaky_relu", OP_LEAKY_RELU, 1, ops_x, leaky_relu_attrs, N(leaky_relu_attrs), false,
     "x if x > 0, else alpha * x"},
    {"maxpool", OP_MAXPOOL, 1, ops_x, pool_attrs, N(pool_attrs), false, "max pooling"},
    {"avgpool", OP_AVGPOOL, 1, ops_x, pool_attrs, N(pool_attrs), false, "average pooling"},
    {"global_avgpool", OP_GLOBAL_AVGPOOL, 1, ops_x, NULL, 0, false, "[N,C,H,W] -> [N,C]"},
    {"flatten", OP_FLATTEN, 1, ops_x, NULL, 0, false, "[N,...] -> [N,F]"},
    {"add", OP_ADD, 2, ops_ab, NULL, 0, false, "element-wise sum"},
    {"batchnorm", OP_BATCHNORM, 1, ops_x, bn_attrs, N(bn_attrs), true, "batch normalization"},
    {"dropout", OP_DROPOUT, 1, ops_x, dropout_attrs, N(dropout_attrs), false, "dropout"},
    {"scale", OP_SCALE, 1, ops_x, scale_attrs, N(scale_attrs), true, "x * s (Fixup scalar)"},
    {"bias", OP_BIAS, 1, ops_x, bias_attrs, N(bias_attrs), true, "x + b (Fixup scalar)"},
    {"softmax_cross_entropy", OP_SOFTMAX_CROSS_ENTROPY, 2, ops_ce, NULL, 0, false,
     "mean cross-entropy of softmax(logits) against class labels"},
    {"mse", OP_MSE, 2, ops_mse, NULL, 0, false, "mean squared error"},
};

const Builtin *builtin_lookup(const char *name) {
  for (int i = 0; i < N(table); i++)
    if (strcmp(table[i].name, name) == 0) return &table[i];
  return NULL;
}

const Builtin *builtin_at(int i) { return i >= 0 && i < N(table) ? &table[i] : NULL; }

int builtin_attr_index(const Builtin *b, const char *name) {
  for (int i = 0; i < b->nattrs; i++)
    if (strcmp(b->attrs[i].name, name) == 0) return i;
  return -1;
}

const char *builtin_type_name(BuiltinAttrType t) {
  switch (t) {
  case BA_INT: return "an integer";
  case BA_INT2: return "an integer or a list [h, w]";
  case BA_FLOAT: return "a number";
  case BA_BOOL: return "true or false";
  case BA_INIT: return "an initializer (he, xavier, zeros, ones, normal(std))";
  case BA_NAME: return "a name";
  }
  return "?";
}
