/* The entry plan: the API every generated trainer exports (DESIGN.md §6),
 * worked out once from a planned loop-IR program, as data a backend prints.
 * It holds what does not depend on the language the code is written in:
 * the symbols (NAME_init, NAME_train_step, ...), which entries exist, each
 * entry's arguments, the checks it makes of them, the kernels it calls and
 * where each kernel's buffers live (state block, work arena, the caller's
 * x / y / pred, a constant), how pred is treated when the caller passes
 * NULL, where the loss is read, the checkpoint tensor table and the hash.
 * plan_build also checks that the program fits that API (the ABI checks:
 * a kernel writing state in predict, init touching the work arena, an
 * unplanned buffer, ...). A backend (targets/backend.h) prints only code;
 * the header and the standalone trainer's main are written from the plan
 * (targets/api_writer.c), so every backend exports the same API. */
#ifndef OCTO_TARGETS_ENTRY_PLAN_H
#define OCTO_TARGETS_ENTRY_PLAN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "loop.h"

/* The API's functions. set_epoch exists when a schedule reads the epoch. */
typedef enum {
  ENTRY_INIT,       /* int NAME_init(void *state, uint64_t seed) */
  ENTRY_TRAIN_STEP, /* NAME_train_step_pred (and NAME_train_step, pred = NULL) */
  ENTRY_PREDICT,    /* int NAME_predict(const void *state, void *work, x, out, n) */
  ENTRY_EVAL,       /* int NAME_eval(const void *state, void *work, x, y, n, loss_sum, correct) */
  ENTRY_SET_EPOCH,  /* void NAME_set_epoch(void *state, int epoch): a store, no kernel */
  ENTRY_COUNT
} EntryKind;

/* Where a kernel's buffer argument points when an entry calls it. */
typedef enum {
  AT_STATE, /* state + offset */
  AT_WORK,  /* work + offset */
  AT_X,     /* the caller's input batch */
  AT_Y,     /* the caller's labels or targets */
  AT_PRED,  /* the caller's pred (train step) or output (predict) */
  AT_CONST, /* a constant buffer of the program */
} ArgBase;

/* One kernel as a function: the buffers it touches (in buffer order, with
 * whether it reads and writes them) and the entry scalars it reads (n,
 * seed; in variable order). Only kernels some entry calls are planned. */
typedef struct KernelPlan {
  const LKernel *kernel;
  const LBuffer **bufs;
  bool *reads, *writes;
  int nbufs;
  const LVar **scalars;
  int nscalars;
} KernelPlan;

typedef struct CallPlan {
  const KernelPlan *kp;
  bool only_with_pred; /* skipped when the caller's pred is NULL (PRED_SKIP) */
} CallPlan;

/* What an entry does with a NULL pred. */
typedef enum {
  PRED_UNUSED,   /* no kernel of the entry touches pred */
  PRED_REQUIRED, /* NULL is a bad argument */
  PRED_SCRATCH,  /* NULL: the entry supplies scratch of the pred's size */
  PRED_SKIP,     /* NULL: the kernels that only fill pred are not called */
} PredUse;

typedef struct EntryPlan {
  EntryKind kind;
  bool exists;
  CallPlan *calls;
  int ncalls;
  /* What its kernels use: unused arguments are only checked or ignored. */
  bool uses_state, uses_work, uses_x, uses_y, uses_pred, uses_n, uses_seed;
  bool y_required; /* a NULL y is a bad argument (false: a model without label) */
  /* A classifier's train_step and eval refuse a batch with a label outside
   * 0 .. label_classes-1 (a bad argument) before touching anything; 0: no
   * check (regression, other entries). */
  int label_classes;
  PredUse pred;
} EntryPlan;

typedef struct ProgramPlan {
  const LProgram *p;
  const char *prefix; /* symbol prefix: the program name as a C identifier (lenet5) */
  const char *PREFIX; /* macro prefix (LENET5) */
  bool regression;    /* float targets and predictions, else a classifier */
  DType input_dtype;  /* x: f32, or u8 raw pixels the program normalises */
  KernelPlan *kernels; /* called kernels, in kernel order */
  int nkernels;
  const KernelPlan **kernel_of; /* by kernel id: its plan, NULL if never called */
  EntryPlan entries[ENTRY_COUNT];
  /* What train_step and eval return, read after their last kernel. */
  const LBuffer *loss, *eval_loss, *eval_correct;
  const LBuffer **tensors; /* the state block's buffers in offset order: the tensor table */
  int ntensors;
  uint64_t hash;
} ProgramPlan;

/* Works out the plan of a memory-planned program. False, after one line per
 * problem on err ("octoc: error: <who>: ..."), for a program that does not
 * fit the API. */
bool plan_build(ProgramPlan *plan, const LProgram *p, const char *who, FILE *err);

/* Where buffer b is bound when entry ek calls a kernel. */
ArgBase plan_arg_base(const ProgramPlan *plan, const LBuffer *b);

/* Bytes of a buffer of known shape; -1 if unknown. */
int64_t plan_buffer_bytes(const LBuffer *b);
/* Elements per sample of a batch-shaped buffer (its shape without dim 0). */
int64_t plan_sample_numel(const LBuffer *b);

/* Any name made a C identifier ([A-Za-z0-9_], not starting with a digit or
 * '_'); symbols are C identifiers whatever the backend. In arena a. */
char *plan_ident(Arena *a, const char *s);

/* A state buffer's OctoTensorKind in the checkpoint tensor table
 * (runtime/octo_runtime.h): PARAM 0, OPTIM 1, BUFFER 2, INTERNAL 3; a
 * buffer without a role counts as internal. */
int plan_tensor_kind(LBufRole r);

#endif
