/* The op registry: one row per graph-level operator (ir/ops.c) with
 * everything the compiler knows about it: its role, operands and results,
 * the dtypes they take, its attributes (optional ones with defaults), its
 * shape rule, its gradient builder, its lowering to loop IR, whether its
 * results carry the batch, and how its operands live. The verifier, the IR
 * reader and printer, shape inference, autodiff, the lowering and the
 * report all read this table; none of them lists ops of its own. Adding an
 * op is a row here plus its lowering (and, if differentiable, the row of
 * its gradient op). docs/ir.md describes the fields. */
#ifndef OCTO_IR_OPS_H
#define OCTO_IR_OPS_H

#include <stdbool.h>
#include <stdint.h>

#include "types.h"

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
  OP_LR_SCHEDULE,
  OP_SGD_UPDATE,
  OP_ADAM_UPDATE,
  OP_STEP_INCREMENT,
  OP_LEAKY_RELU,
  OP_LEAKY_RELU_GRAD,
  OP_NORMALIZE,
  OP_COMPENSATION,      /* LAC: y = x + alpha * mu + beta (passes/lac.c) */
  OP_COMPENSATION_GRAD, /* its parameter gradients, with the L2 penalty */
  OP_RANGE_CLIP,        /* PRC: clip to a range computed from the tensor (passes/prc.c) */
  OP_RANGE_CLIP_GRAD,   /* dy where x was inside the range (straight-through mask) */
  /* INT8 (passes/quantize.c builds them, passes/lower_int8.c lowers them) */
  OP_QUANTIZE,
  OP_CONV2D_I8,
  OP_CONV2D_I8_GRAD_INPUT,
  OP_CONV2D_I8_GRAD_WEIGHT,
  OP_DENSE_I8,
  OP_DENSE_I8_GRAD_INPUT,
  OP_DENSE_I8_GRAD_WEIGHT,
  OP_RELU_GRAD_I8,
  OP_LEAKY_RELU_GRAD_I8,
  OP_MAXPOOL_GRAD_I8,
  /* maxpool saving each window's route (the tap of its max) instead of its
   * input, and the gradient routed by it (passes/quantize.c) */
  OP_MAXPOOL_ROUTE,
  OP_MAXPOOL_ROUTE_GRAD,
  OP_COUNT
} OpKind;

/* What an op is for. Passes ask the role, never the op's position in the
 * enum: a new forward op appended after the gradients is still forward. */
typedef enum {
  OPROLE_FORWARD,   /* a layer networks are written with */
  OPROLE_LOSS,      /* a forward op that produces the scalar training loss */
  OPROLE_BACKWARD,  /* a gradient (built by autodiff) */
  OPROLE_OPTIMIZER, /* parameter updates, their schedule, the step counter */
  OPROLE_QUANTIZE,  /* precision changes: quantize, dequantize, clip (INT8) */
} OpRole;

typedef enum { ATTR_INT, ATTR_FLOAT, ATTR_INTS, ATTR_STR } AttrKind;

/* One attribute of an op. A required attribute is on every node (the
 * printer writes it, the reader and verifier demand it). An optional one
 * may be absent and then means its default; the printer writes it only when
 * the node has it, so graphs without it print as before. A string
 * attribute with `choices` takes only those words. */
typedef struct AttrSpec {
  const char *name;
  AttrKind kind;
  int ints_len;             /* ATTR_INTS: required length (0 = any) */
  bool optional;
  int64_t dflt_i;           /* optional ATTR_INT */
  double dflt_f;            /* optional ATTR_FLOAT */
  const char *dflt_s;       /* optional ATTR_STR */
  const char *const *choices; /* ATTR_STR: allowed words, NULL-terminated; NULL = any */
} AttrSpec;

/* Dtype rules. Every operand and result slot names a dtype: a fixed one, or
 * the op's element type T (the dtype of its first T slot, which must be in
 * OpInfo.elem_types), or T's accumulator (f32 for f32, i32 for i8: an i8 x
 * i8 product sums in i32). */
enum { DTS_T = -1, DTS_ACC = -2 };
typedef int DTypeSlot; /* a DType, DTS_T or DTS_ACC */

/* Which results of a node have the batch as their first dimension (the
 * lowering loops over them to %n, the samples in this step). */
typedef enum {
  BATCH_ALL,       /* every result (layers, input gradients) */
  BATCH_NONE,      /* reductions over the batch: weight gradients, losses */
  BATCH_FIRST,     /* result 0 only (batchnorm_train's y, not its statistics) */
  BATCH_AS_INPUT0, /* as operand 0 (add: of activations or of gradients) */
  BATCH_FIRST_AS_INPUT0, /* result 0 as operand 0, the others none (quantize's
                            q and its scalar scale) */
} BatchRule;

/* A node's two meanings where they differ: training (batch statistics,
 * dropout masks) and inference (running statistics, identity). */
typedef enum { MODE_TRAIN, MODE_INFER } LowerMode;

struct Node;
struct Value;
struct ShapeRule;
struct GradBuilder;
struct Lower;

/* Computes result types and expected operand types (ir/shape_rules.c). */
typedef bool (*OpShapeFn)(struct ShapeRule *r);
/* Emits the gradient nodes of a forward node given dL/d(its result 0)
 * (passes/gradients.c). */
typedef void (*OpGradFn)(struct GradBuilder *gb, struct Node *n, struct Value *dy);
/* Lowers a node to loop-IR kernels (passes/lower_*.c); false after an error. */
typedef bool (*OpLowerFn)(struct Lower *L, const struct Node *n, LowerMode mode);
/* Multiply-accumulates per sample of one evaluation, for the report; -1 if
 * unknown (ir/shape_rules.c). */
typedef int64_t (*OpMacsFn)(const struct Node *n);

typedef struct OpInfo {
  const char *name;
  OpRole role;
  int min_in, max_in;          /* operand count range */
  const char *const *in_names; /* operand roles, for messages and docs */
  int nout;                    /* result count */
  int max_out;                 /* > nout: up to this many results may be given
                                  (a fused product's max|y|); 0: exactly nout */
  const DTypeSlot *in_types;   /* max_in entries */
  const DTypeSlot *out_types;  /* nout entries */
  unsigned elem_types;         /* bit d: DType d may be T (0: no T slot) */
  const AttrSpec *attrs;
  int nattrs;
  /* Bit i set: the op updates operand i in place (a PARAM or STATE value):
   * optimizer updates, batch-norm running statistics, the step counter.
   * Such nodes are never removed as dead and run after every reader of the
   * old value (they sit at the end of the schedule). */
  unsigned writes;
  /* Bit i set: operand i carries no gradient (labels, targets, running
   * statistics). */
  unsigned no_grad;
  /* Bit i set: operand i is optimizer state (momentum, Adam moments) or
   * bookkeeping (step and epoch counters), for the checkpoint tensor table. */
  unsigned optim_state, internal_state;
  BatchRule batch;
  bool alias;          /* result 0 is operand 0 reshaped: same memory, no code */
  bool mode_dependent; /* lowered twice: for train_step and for predict */
  OpShapeFn shape;
  OpGradFn grad;       /* NULL: not differentiable (backward, optimizer ops) */
  OpLowerFn lower;
  OpMacsFn macs;       /* NULL: no products */
} OpInfo;

const OpInfo *op_info(OpKind op);
/* Whether a node of this op may have nout results. */
bool op_result_count_ok(const OpInfo *info, int nout);
const char *op_name(OpKind op);
bool op_from_name(const char *name, OpKind *out);
const char *attr_kind_name(AttrKind k);
const AttrSpec *op_attr_spec(const OpInfo *info, const char *name);
/* Gradient and update ops (built by autodiff and the optimizer), as opposed
 * to the forward ops and losses a network is written with. */
bool op_is_training(OpKind op);

/* The dtype slot i of the operands (or results) resolved for element type
 * t: a fixed dtype, t, or t's accumulator. */
DType dtype_slot_resolve(DTypeSlot s, DType t);
DType dtype_accumulator(DType t);

/* Precision and rounding of a layer's products: the optional attributes
 * `precision` and `rounding` of conv2d, dense and their gradients. */
extern const char *const op_precision_names[];
extern const char *const op_rounding_names[];

#endif
