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
} OpInfo;

const OpInfo *op_info(OpKind op);
const char *op_name(OpKind op);
bool op_from_name(const char *name, OpKind *out);
const char *attr_kind_name(AttrKind k);

#endif
