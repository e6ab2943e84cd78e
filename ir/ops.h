/* The graph-level operators: names, operands, results and attribute schemas.
 * This table is the single list of ops; the verifier, the IR reader and the
 * printer consult it. An op's meaning is defined by its shape rule
 * (passes/shape_infer.c) and, later, its lowering to loop IR. */
#ifndef OCTO_IR_OPS_H
#define OCTO_IR_OPS_H

#include <stdbool.h>

typedef enum {
  OP_CONV2D,
  OP_DENSE,
  OP_RELU,
  OP_RELU6,
  OP_MAXPOOL,
  OP_AVGPOOL,
  OP_GLOBAL_AVGPOOL,
  OP_FLATTEN,
  OP_ADD,
  OP_BATCHNORM,
  OP_DROPOUT,
  OP_SCALE,
  OP_BIAS,
  OP_SOFTMAX_CROSS_ENTROPY,
  OP_MSE,
  /* Training: gradients (built by passes/autodiff.c). */
  OP_CONV2D_GRAD_INPUT,
  OP_CONV2D_GRAD_WEIGHT,
  OP_DENSE_GRAD_INPUT,
  OP_DENSE_GRAD_WEIGHT,
  OP_BIAS_GRAD,
  OP_RELU_GRAD,
  OP_RELU6_GRAD,
  OP_MAXPOOL_GRAD,
  OP_AVGPOOL_GRAD,
  OP_GLOBAL_AVGPOOL_GRAD,
  OP_RESHAPE,
  OP_BATCHNORM_TRAIN,
  OP_BATCHNORM_GRAD,
  OP_DROPOUT_GRAD,
  OP_SUM,
  OP_SUM_PRODUCT,
  OP_SOFTMAX_CROSS_ENTROPY_GRAD,
  OP_MSE_GRAD,
  /* Training: parameter updates (built by passes/optimizer.c). */
  OP_LR_SCHEDULE,
  OP_SGD_UPDATE,
  OP_ADAM_UPDATE,
  OP_STEP_INCREMENT,
  OP_COUNT
} OpKind;

typedef enum { ATTR_INT, ATTR_FLOAT, ATTR_INTS, ATTR_STR } AttrKind;

/* In the graph IR every attribute of an op is explicit: the printer writes
 * all of them and the verifier requires all of them. Defaults belong to the
 * language (compiler/), not to the IR. */
typedef struct AttrSpec {
  const char *name;
  AttrKind kind;
  int ints_len; /* ATTR_INTS: required length (0 = any) */
} AttrSpec;

typedef struct OpInfo {
  const char *name;
  int min_in, max_in;          /* operand count range */
  const char *const *in_names; /* operand roles, for messages and docs */
  int nout;                    /* result count */
  const AttrSpec *attrs;
  int nattrs;
  bool is_loss; /* produces the scalar training loss */
  /* Bit i set: the op updates operand i in place (a PARAM or STATE value):
   * optimizer updates, batch-norm running statistics, the step counter.
   * Such nodes are never removed as dead and run after every reader of the
   * old value (they sit at the end of the schedule). */
  unsigned writes;
} OpInfo;

const OpInfo *op_info(OpKind op);
const char *op_name(OpKind op);
bool op_from_name(const char *name, OpKind *out);
const char *attr_kind_name(AttrKind k);
/* Gradient and update ops (built by autodiff and the optimizer), as opposed
 * to the forward ops a network is written with (batchnorm_train counts as
 * forward: it is batchnorm in training mode). */
bool op_is_training(OpKind op);

#endif
