/* The loop IR (TVM's TIR, in small): what every graph op lowers to and what
 * the backends print. A Program has buffers (placed in the persistent state
 * block, the per-step work arena, or passed by the caller), kernels (one per
 * fused graph node: loops, scalar locals, loads, stores) and entries (the
 * API functions init / train_step / predict as sequences of kernel calls).
 *
 * Nothing here knows what a convolution is: a kernel is loops over scalar
 * expressions. An op's meaning lives in its lowering (passes/lower_*.c).
 * Speed comes from how a lowering orders and blocks its loops: innermost
 * loops run over contiguous memory so C compilers and LLVM vectorise them. */
#ifndef OCTO_IR_LOOP_H
#define OCTO_IR_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "diag.h"
#include "intrinsics.h"
#include "strmap.h"
#include "types.h"

/* Where a buffer lives. STATE and WORK buffers have a byte offset into the
 * caller's state block / work arena (assigned by the memory planner; -1 until
 * then). ARG buffers are the entry's pointer arguments (x, y, pred/cls).
 * CONST buffers are read-only tables whose values are part of the program
 * (LBuffer.data): never planned, never stored to; a backend prints them as
 * data of the generated code (lookup tables). */
typedef enum { LBUF_STATE, LBUF_WORK, LBUF_ARG, LBUF_CONST } LBufHome;

/* What a state buffer holds, for the trainer's tensor table (checkpoints). */
typedef enum {
  LROLE_NONE,     /* work and arg buffers */
  LROLE_PARAM,    /* trained parameter */
  LROLE_OPTIM,    /* optimizer state: momentum, Adam moments */
  LROLE_BUFFER,   /* non-trained state: batch-norm running statistics */
  LROLE_INTERNAL, /* step counter and the like */
} LBufRole;

typedef struct LBuffer {
  int id;
  const char *name; /* printed %name; the graph value's name where there is one */
  DType dtype;
  Shape shape;      /* logical shape (for the parameter table and dumps) */
  LBufHome home;
  LBufRole role;
  int64_t offset;   /* bytes into its home block; -1 = not planned */
  bool readonly;    /* ARG buffers the entry only reads (x, y) */
  bool optional;    /* ARG buffers the caller may pass as NULL (train_step's
                       pred): the backend then supplies scratch space */
  /* CONST buffers: the values, numel elements of the dtype's C type (float,
   * int8_t, ..., uint32_t) in the host's representation; read them with
   * lconst_int / lconst_f32. NULL for other homes. */
  void *data;
  SrcLoc loc;       /* where the loop-IR text declared it (reader only) */
} LBuffer;

/* Scalar variables: loop counters, mutable locals, and the program's scalar
 * arguments (`n`: samples in this step, `seed`: for init). */
typedef enum { LVAR_LOOP, LVAR_LOCAL, LVAR_ARG } LVarKind;

typedef struct LVar {
  int id;
  const char *name;
  DType dtype;
  LVarKind kind;
} LVar;

typedef enum {
  LE_CONST,  /* .i (integer types) or .f (f32) */
  LE_VAR,    /* .var */
  LE_LOAD,   /* .buf[.a]: a flat element index */
  LE_BINARY, /* .bop(.a, .b) */
  LE_UNARY,  /* .uop(.a) */
  LE_CAST,   /* (.type).a: float→int rounds toward zero, int→int wraps */
  LE_SELECT, /* .a ? .b : .c */
  LE_CALL,   /* .fn(.a, .b, .c) intrinsics (ir/intrinsics.h) */
} LExprKind;

typedef enum {
  LB_ADD, LB_SUB, LB_MUL, LB_DIV, LB_REM, LB_MIN, LB_MAX,
  LB_SHL, LB_SHR, LB_AND, LB_OR, LB_XOR,
  LB_LT, LB_LE, LB_GT, LB_GE, LB_EQ, LB_NE, /* result i32 0/1 */
  LB_LAND, LB_LOR,
} LBinOp;

typedef enum { LU_NEG, LU_NOT, LU_ABS, LU_EXP, LU_LOG, LU_SQRT, LU_FLOOR, LU_COS } LUnOp;

typedef struct LExpr {
  LExprKind kind;
  DType type; /* result type */
  int64_t i;
  float f;
  LVar *var;
  struct LBuffer *buf;
  LBinOp bop;
  LUnOp uop;
  LIntrinsic fn;
  struct LExpr *a, *b, *c;
  SrcLoc loc; /* in the loop-IR text when read back, for the verifier */
} LExpr;

typedef enum {
  LS_FOR,    /* for .var in [.lo, .hi) step .step { .body } */
  LS_LET,    /* declare local .var = .value */
  LS_ASSIGN, /* .var = .value */
  LS_STORE,  /* .buf[.index] = .value */
  LS_IF,     /* if (.cond) { .body } else { .else_body } */
} LStmtKind;

/* Hints a lowering gives the backends; never change meaning. */
enum {
  LHINT_VECTORIZE = 1u << 0, /* iterations independent: vectorise */
  LHINT_UNROLL = 1u << 1,    /* unroll fully (small constant trip count) */
  /* one iteration at a time, not vectorised: a copy of groups of
   * adjacent elements (int8 quads) that a vectoriser would turn into
   * gathers and scatters, while one iteration's copies merge into one
   * wide load and store */
  LHINT_SCALAR = 1u << 2,
};

typedef struct LStmt {
  LStmtKind kind;
  struct LStmt *next; /* the next statement in the same block */
  LVar *var;
  LExpr *lo, *hi;
  int64_t step;
  unsigned hints;
  struct LStmt *body, *else_body;
  LExpr *value, *index, *cond;
  LBuffer *buf;
  SrcLoc loc; /* in the loop-IR text when read back, for the verifier */
} LStmt;

typedef struct LKernel {
  int id;
  const char *name;   /* c1_fwd, c1_dw, ... */
  const char *origin; /* the graph node it implements, for comments */
  SrcLoc loc;
  LStmt *body;
} LKernel;

/* The API's entries as kernel sequences: init (state from a seed),
 * train_step (one step; the loss), predict (inference), eval (inference on a
 * labelled batch: the summed loss and the number correct). */
typedef enum { LENTRY_INIT, LENTRY_TRAIN_STEP, LENTRY_PREDICT, LENTRY_EVAL, LENTRY_COUNT } LEntryKind;

typedef struct LEntry {
  LEntryKind kind;
  LKernel **calls; /* in order */
  int ncalls, cap_calls;
} LEntry;

/* What the program learns, decided once by the lowering: a classifier
 * (i32 class labels, pred the argmax class) or a regression model (float
 * targets or none, pred the prediction itself). */
typedef enum { LPROG_CLASSIFIER, LPROG_REGRESSION } LProgKind;

typedef struct LProgram {
  Arena *arena;
  const char *name;
  int batch;
  LProgKind kind;
  LBuffer **buffers;
  int nbuffers, cap_buffers;
  LVar **vars; /* every variable; ARG ones are the entries' scalar arguments */
  int nvars, cap_vars;
  LKernel **kernels;
  int nkernels, cap_kernels;
  LEntry entries[LENTRY_COUNT];
  int64_t state_bytes, work_bytes; /* after memory planning */
  LBuffer *loss;                   /* f32[] the train_step result */
  /* The entries' pointer arguments (ARG buffers): the input batch x (f32),
   * the labels y (i32 classes, or f32 targets; NULL for an autoencoder),
   * and what the model predicts (train_step's optional pred, predict's
   * output): i32 classes, or a regression model's f32 prediction. */
  LBuffer *input, *label, *pred;
  /* i32[] state the trainer sets before each epoch (NAME_set_epoch), read by
   * epoch-based learning-rate schedules; NULL when nothing reads it. */
  LBuffer *epoch;
  /* What eval hands back: f32[] the loss summed over the n samples, and
   * i32[] how many a classifier got right (NULL for a regression model). */
  LBuffer *eval_loss, *eval_correct;
  int num_classes; /* 0 for float targets */
  StrMap buffer_names, kernel_names; /* name -> LBuffer / LKernel */
  StrMap arg_names;                  /* name -> LVar of kind LVAR_ARG */
} LProgram;

LProgram *lprog_new(Arena *a, const char *name, int batch);
LBuffer *lprog_buffer(LProgram *p, const char *name, DType t, Shape shape, LBufHome home,
                      LBufRole role);
LBuffer *lprog_find_buffer(const LProgram *p, const char *name);
LKernel *lprog_find_kernel(const LProgram *p, const char *name);
/* A CONST buffer holding a copy of data (numel(shape) elements of t's C
 * type; NULL: zeros). The shape must be known. */
LBuffer *lprog_const_buffer(LProgram *p, const char *name, DType t, Shape shape,
                            const void *data);
/* Element k of a CONST buffer: an integer type's value, or an f32's. */
int64_t lconst_int(const LBuffer *b, int64_t k);
float lconst_f32(const LBuffer *b, int64_t k);
/* Sets element k (integers wrap to the dtype, as a C conversion would). */
void lconst_set_int(LBuffer *b, int64_t k, int64_t v);
void lconst_set_f32(LBuffer *b, int64_t k, float v);
LVar *lprog_var(LProgram *p, const char *name, DType t, LVarKind kind);
LVar *lprog_find_arg(const LProgram *p, const char *name);
LKernel *lprog_kernel(LProgram *p, const char *name, const char *origin, SrcLoc loc);
void lprog_call(LProgram *p, LEntryKind entry, LKernel *k);
const char *lentry_name(LEntryKind k); /* "init", "train_step", "predict", "eval" */
/* The buffers entry e reads after its last kernel to return them (train
 * step: the loss; eval: the loss sum and the count): live to the end of
 * the entry. Fills out[0..2), returns how many. */
int lentry_results(const LProgram *p, LEntryKind e, const LBuffer *out[2]);

/* Which buffers a kernel reads and writes: reads[b->id], writes[b->id] for
 * every buffer (arrays of p->nbuffers, filled by the call). The memory
 * planner's liveness and the verifier use it. */
void lkernel_accesses(const LProgram *p, const LKernel *k, bool *reads, bool *writes);
/* Which variables a kernel mentions (declared, assigned or read: any
 * position) and which its expressions read: arrays of p->nvars, filled. */
void lkernel_vars(const LProgram *p, const LKernel *k, bool *mentioned, bool *read);

/* The same two analyses as lists, for passes that walk every kernel of a
 * large program: ids[0..n) are the distinct buffer (or variable) ids the
 * kernel touches, ascending, and a[id], b[id] their two flags (reads and
 * writes, or mentioned and read), false at every id not listed. One LUses
 * serves kernel after kernel: each fill clears only what the previous fill
 * set, so a pass over K kernels costs their size, not K times the number of
 * buffers. */
typedef struct LUses {
  int universe; /* the flag arrays' length: p->nbuffers or p->nvars */
  int *ids;
  int n;
  bool *a, *b;
} LUses;
void luses_init(LUses *u, int universe);
void luses_free(LUses *u);
void lkernel_buffer_uses(const LKernel *k, LUses *u); /* a: reads, b: writes */
void lkernel_var_uses(const LKernel *k, LUses *u);    /* a: mentioned, b: read */

/* Expression constructors (types follow C rules; the verifier checks). */
LExpr *le_int(LProgram *p, DType t, int64_t v);
LExpr *le_f32(LProgram *p, float v);
LExpr *le_var(LProgram *p, LVar *v);
LExpr *le_load(LProgram *p, LBuffer *b, LExpr *index);
LExpr *le_bin(LProgram *p, LBinOp op, LExpr *a, LExpr *b);
LExpr *le_un(LProgram *p, LUnOp op, LExpr *a);
LExpr *le_cast(LProgram *p, DType t, LExpr *a);
LExpr *le_select(LProgram *p, LExpr *c, LExpr *a, LExpr *b);
/* Intrinsic calls: the result type comes from the intrinsic's table row.
 * le_call and le_call3 pass up to two or three operands (NULL for none);
 * le_call_to also gives the type an LRES_WRITTEN intrinsic (sat_cast<T>)
 * returns. */
LExpr *le_call(LProgram *p, LIntrinsic fn, LExpr *a, LExpr *b);
LExpr *le_call3(LProgram *p, LIntrinsic fn, LExpr *a, LExpr *b, LExpr *c);
LExpr *le_call_to(LProgram *p, LIntrinsic fn, DType t, LExpr *a, LExpr *b, LExpr *c);
/* A deep copy of e: an expression is a tree, used in one place. */
LExpr *le_clone(LProgram *p, const LExpr *e);

/* Statement constructors; a block is a linked list built with an LBlock. */
typedef struct LBlock {
  LStmt *first, *last;
} LBlock;
void lblock_add(LBlock *b, LStmt *s);
LStmt *ls_for(LProgram *p, LVar *var, LExpr *lo, LExpr *hi, int64_t step, unsigned hints,
              LStmt *body);
LStmt *ls_let(LProgram *p, LVar *local, LExpr *value);
LStmt *ls_assign(LProgram *p, LVar *local, LExpr *value);
LStmt *ls_store(LProgram *p, LBuffer *buf, LExpr *index, LExpr *value);
LStmt *ls_if(LProgram *p, LExpr *cond, LStmt *then_body, LStmt *else_body);

#endif
