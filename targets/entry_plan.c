/* Building the entry plan (entry_plan.h) of a planned loop-IR program, and
 * the ABI checks that make sure it fits the API. */
#include "entry_plan.h"

#include <stdarg.h>
#include <string.h>

#include "lprog_hash.h"

typedef struct Builder {
  ProgramPlan *plan;
  const LProgram *p;
  const char *who;
  FILE *err;
  bool ok;
  LUses bufs, vars; /* scratch for one kernel */
} Builder;

__attribute__((format(printf, 3, 4))) static void fail(Builder *B, const LKernel *k,
                                                       const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(B->err, "octoc: error: %s: ", B->who);
  if (k) fprintf(B->err, "kernel '%s': ", k->name);
  vfprintf(B->err, fmt, ap);
  fputc('\n', B->err);
  va_end(ap);
  B->ok = false;
}

int64_t plan_buffer_bytes(const LBuffer *b) {
  int64_t n = shape_numel(&b->shape);
  return n < 0 ? -1 : n * (int64_t)dtype_size(b->dtype);
}

int64_t plan_sample_numel(const LBuffer *b) {
  int64_t n = 1;
  for (int d = 1; d < b->shape.rank; d++) n *= b->shape.dim[d];
  return n;
}

static bool is_ident_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

char *plan_ident(Arena *a, const char *s) {
  if (!s || !*s) s = "v";
  size_t len = strlen(s);
  char *r = arena_alloc(a, len + 2);
  size_t j = 0;
  if ((s[0] >= '0' && s[0] <= '9') || s[0] == '_') r[j++] = 'v';
  for (size_t i = 0; i < len; i++) r[j++] = is_ident_char(s[i]) ? s[i] : '_';
  r[j] = 0;
  return r;
}

static char *upper(Arena *a, const char *s) {
  char *r = arena_strdup(a, s);
  for (char *c = r; *c; c++)
    if (*c >= 'a' && *c <= 'z') *c = (char)(*c - 'a' + 'A');
  return r;
}

ArgBase plan_arg_base(const ProgramPlan *plan, const LBuffer *b) {
  const LProgram *p = plan->p;
  if (b == p->input) return AT_X;
  if (b == p->label) return AT_Y;
  if (b == p->pred) return AT_PRED;
  if (b->home == LBUF_CONST) return AT_CONST;
  return b->home == LBUF_STATE ? AT_STATE : AT_WORK;
}

/* --- what a kernel touches --- */

static void plan_kernel(Builder *B, KernelPlan *kp, const LKernel *k) {
  const LProgram *p = B->p;
  Arena *a = p->arena;
  LUses *bu = &B->bufs, *vu = &B->vars;
  lkernel_buffer_uses(k, bu);
  lkernel_var_uses(k, vu);
  kp->kernel = k;
  kp->bufs = arena_alloc(a, (size_t)(bu->n + 1) * sizeof(LBuffer *));
  kp->reads = arena_alloc(a, (size_t)(bu->n + 1) * sizeof(bool));
  kp->writes = arena_alloc(a, (size_t)(bu->n + 1) * sizeof(bool));
  for (int j = 0; j < bu->n; j++) {
    int i = bu->ids[j];
    kp->bufs[kp->nbufs] = p->buffers[i];
    kp->reads[kp->nbufs] = bu->a[i];
    kp->writes[kp->nbufs++] = bu->b[i];
  }
  kp->scalars = arena_alloc(a, (size_t)(vu->n + 1) * sizeof(LVar *));
  for (int j = 0; j < vu->n; j++)
    if (p->vars[vu->ids[j]]->kind == LVAR_ARG) kp->scalars[kp->nscalars++] = p->vars[vu->ids[j]];
}

/* --- the ABI checks --- */

/* A buffer touched in an entry must be placed and visible to that entry. */
static void check_buffer(Builder *B, const LKernel *k, EntryKind ek, const LBuffer *b,
                         bool writes) {
  const LProgram *p = B->p;
  if (b->home == LBUF_CONST) {
    if (writes) fail(B, k, "writes the constant buffer %%%s", b->name);
    else if (!b->data || plan_buffer_bytes(b) < 0)
      fail(B, k, "constant buffer %%%s has no known shape or no values", b->name);
    return;
  }
  if (b->home == LBUF_ARG) {
    if (b != p->input && b != p->label && b != p->pred)
      fail(B, k, "ARG buffer %%%s is not the program's input, label or pred", b->name);
    else if (ek == ENTRY_INIT)
      fail(B, k, "init uses ARG buffer %%%s (init has no batch arguments)", b->name);
    else if (ek == ENTRY_PREDICT && b == p->label)
      fail(B, k, "predict reads the labels %%%s", b->name);
    else if (ek == ENTRY_EVAL && b == p->pred)
      fail(B, k, "eval uses pred %%%s (it returns the loss sum and the count)", b->name);
    else if (writes && b != p->pred)
      fail(B, k, "writes the read-only argument %%%s", b->name);
    return;
  }
  int64_t bytes = plan_buffer_bytes(b);
  int64_t limit = b->home == LBUF_STATE ? p->state_bytes : p->work_bytes;
  if (bytes < 0 || b->offset < 0 || b->offset + bytes > limit)
    fail(B, k, "buffer %%%s is not planned inside its block (offset %lld, %lld bytes, block %lld)",
         b->name, (long long)b->offset, (long long)bytes, (long long)limit);
  if (b->offset % (int64_t)dtype_size(b->dtype) != 0)
    fail(B, k, "buffer %%%s offset %lld is not aligned for %s", b->name, (long long)b->offset,
         dtype_name(b->dtype));
  if (ek == ENTRY_INIT && b->home == LBUF_WORK)
    fail(B, k, "init uses work buffer %%%s (init has no work arena)", b->name);
  if ((ek == ENTRY_PREDICT || ek == ENTRY_EVAL) && b->home == LBUF_STATE && writes)
    fail(B, k, "%s writes state buffer %%%s", ek == ENTRY_EVAL ? "eval" : "predict", b->name);
}

static void check_call(Builder *B, EntryKind ek, const KernelPlan *kp) {
  const LKernel *k = kp->kernel;
  for (int i = 0; i < kp->nbufs; i++) check_buffer(B, k, ek, kp->bufs[i], kp->writes[i]);
  for (int i = 0; i < kp->nscalars; i++) {
    const LVar *v = kp->scalars[i];
    bool is_n = strcmp(v->name, "n") == 0, is_seed = strcmp(v->name, "seed") == 0;
    if (!is_n && !is_seed) fail(B, k, "unknown scalar argument '%s'", v->name);
    else if (is_n && ek == ENTRY_INIT) fail(B, k, "init has no argument 'n'");
    else if (is_seed && ek != ENTRY_INIT) fail(B, k, "only init has the argument 'seed'");
    else if (v->dtype == DT_F32) fail(B, k, "scalar argument '%s' is not an integer", v->name);
  }
}

/* An ARG buffer of known shape whose first dimension is the batch. */
static bool batch_shaped(const LProgram *p, const LBuffer *b) {
  return b->home == LBUF_ARG && b->shape.rank >= 1 && shape_known(&b->shape) &&
         b->shape.dim[0] == p->batch;
}

/* The two kinds of program (LProgram.kind): a classifier (label i32
 * [batch] class indices, pred i32 [batch] classes) and a regression model
 * (label f32 [batch, ...] or none, pred f32 [batch, ...]: the prediction
 * itself). Label and pred must agree with the kind. */
static void check_targets(Builder *B) {
  const LProgram *p = B->p;
  const LBuffer *y = p->label, *pr = p->pred;
  bool reg = B->plan->regression;
  if (y && (y->home != LBUF_ARG || (y->dtype != DT_I32 && y->dtype != DT_F32)))
    fail(B, NULL, "label %%%s must be an ARG buffer: i32 [batch] class indices or f32 "
         "[batch, ...] targets", y->name);
  else if (y && y->dtype == DT_F32 && !reg)
    fail(B, NULL, "label %%%s holds float targets, so pred must be an f32 [batch, ...] "
         "ARG buffer (the prediction), not %s", y->name, pr ? dtype_name(pr->dtype) : "absent");
  else if (y && y->dtype == DT_I32 && reg)
    fail(B, NULL, "label %%%s holds class indices, so pred must be an i32 [batch] ARG "
         "buffer (the classes), not f32", y->name);
  else if (y && y->dtype == DT_F32 && !batch_shaped(p, y))
    fail(B, NULL, "float label %%%s needs a known shape [%d, ...] (the batch first)", y->name,
         p->batch);
  if (pr && (pr->home != LBUF_ARG || (pr->dtype != DT_I32 && pr->dtype != DT_F32)))
    fail(B, NULL, "pred %%%s must be an ARG buffer: i32 [batch] classes or f32 [batch, ...] "
         "predictions", pr->name);
  else if (reg && !batch_shaped(p, pr))
    fail(B, NULL, "pred %%%s needs a known shape [%d, ...] (the batch first)", pr->name,
         p->batch);
  else if (pr && pr->optional && plan_buffer_bytes(pr) < 0)
    fail(B, NULL, "optional pred %%%s needs a known shape for its scratch", pr->name);
}

static void check_program(Builder *B) {
  const LProgram *p = B->p;
  for (int ek = 0; ek < ENTRY_COUNT; ek++) {
    const EntryPlan *e = &B->plan->entries[ek];
    for (int c = 0; c < e->ncalls; c++) check_call(B, (EntryKind)ek, e->calls[c].kp);
  }
  if (p->input && ((p->input->dtype != DT_F32 && p->input->dtype != DT_U8) ||
                   p->input->home != LBUF_ARG))
    fail(B, NULL, "input %%%s must be an f32 or u8 ARG buffer", p->input->name);
  check_targets(B);
  if (!p->loss) {
    fail(B, NULL, "the program has no loss buffer");
  } else if (p->loss->dtype != DT_F32 || p->loss->home == LBUF_ARG) {
    fail(B, NULL, "loss %%%s must be an f32 state or work buffer", p->loss->name);
  } else {
    check_buffer(B, NULL, ENTRY_TRAIN_STEP, p->loss, false);
  }
  /* eval is optional (hand-written programs may have none); lowering
   * always makes it. */
  if (p->eval_loss && (p->eval_loss->dtype != DT_F32 || p->eval_loss->home != LBUF_WORK))
    fail(B, NULL, "eval's loss sum %%%s must be an f32 work buffer", p->eval_loss->name);
  else if (p->eval_loss)
    check_buffer(B, NULL, ENTRY_EVAL, p->eval_loss, false);
  if (p->eval_correct && !p->eval_loss)
    fail(B, NULL, "eval's count %%%s without its loss sum", p->eval_correct->name);
  if (p->eval_correct && (p->eval_correct->dtype != DT_I32 || p->eval_correct->home != LBUF_WORK))
    fail(B, NULL, "eval's count %%%s must be an i32 work buffer", p->eval_correct->name);
  else if (p->eval_correct)
    check_buffer(B, NULL, ENTRY_EVAL, p->eval_correct, false);
  if (p->epoch && (p->epoch->dtype != DT_I32 || p->epoch->home != LBUF_STATE))
    fail(B, NULL, "epoch %%%s must be an i32 state buffer", p->epoch->name);
  else if (p->epoch)
    check_buffer(B, NULL, ENTRY_TRAIN_STEP, p->epoch, false);
  if (p->batch < 1) fail(B, NULL, "batch %d is not positive", p->batch);
  if (p->input && (p->input->shape.rank < 1 || !shape_known(&p->input->shape)))
    fail(B, NULL, "input %%%s needs a known shape with a batch dimension", p->input->name);
  for (int i = 0; i < p->nbuffers; i++)
    if (p->buffers[i]->home == LBUF_STATE && plan_buffer_bytes(p->buffers[i]) < 0)
      fail(B, NULL, "state buffer %%%s has no known shape", p->buffers[i]->name);
}

/* --- entries --- */

static LEntryKind program_entry(EntryKind ek) {
  switch (ek) {
  case ENTRY_INIT: return LENTRY_INIT;
  case ENTRY_TRAIN_STEP: return LENTRY_TRAIN_STEP;
  case ENTRY_EVAL: return LENTRY_EVAL;
  default: return LENTRY_PREDICT;
  }
}

/* Whether every train_step kernel that touches pred only writes it and
 * writes nothing else, so that it can be skipped when pred is NULL. */
static bool pred_only_kernels(const ProgramPlan *plan, const EntryPlan *e) {
  const LBuffer *pred = plan->p->pred;
  for (int c = 0; c < e->ncalls; c++) {
    const KernelPlan *kp = e->calls[c].kp;
    bool touches = false, other = false;
    for (int i = 0; i < kp->nbufs; i++) {
      if (kp->bufs[i] != pred) {
        other |= kp->writes[i];
        continue;
      }
      if (kp->reads[i]) return false;
      touches = kp->writes[i];
    }
    if (touches && other) return false;
  }
  return true;
}

static void plan_entry(Builder *B, EntryKind ek) {
  ProgramPlan *plan = B->plan;
  const LProgram *p = B->p;
  EntryPlan *e = &plan->entries[ek];
  e->kind = ek;
  e->exists = ek == ENTRY_SET_EPOCH ? p->epoch != NULL : ek == ENTRY_EVAL ? p->eval_loss != NULL
                                                                           : true;
  if (ek == ENTRY_SET_EPOCH) {
    e->uses_state = e->exists;
    return;
  }
  const LEntry *le = &p->entries[program_entry(ek)];
  e->calls = arena_alloc(p->arena, (size_t)(le->ncalls + 1) * sizeof(CallPlan));
  for (int c = 0; c < le->ncalls; c++) {
    const KernelPlan *kp = plan->kernel_of[le->calls[c]->id];
    e->calls[e->ncalls++].kp = kp;
    for (int i = 0; i < kp->nbufs; i++) {
      switch (plan_arg_base(plan, kp->bufs[i])) {
      case AT_STATE: e->uses_state = true; break;
      case AT_WORK: e->uses_work = true; break;
      case AT_X: e->uses_x = true; break;
      case AT_Y: e->uses_y = true; break;
      case AT_PRED: e->uses_pred = true; break;
      case AT_CONST: break;
      }
    }
    for (int i = 0; i < kp->nscalars; i++) {
      if (strcmp(kp->scalars[i]->name, "n") == 0) e->uses_n = true;
      else e->uses_seed = true;
    }
  }
  /* A regression model without a label ignores y: NULL is fine then. */
  e->y_required = (ek == ENTRY_TRAIN_STEP || ek == ENTRY_EVAL) && (!plan->regression || p->label);
  if (e->y_required && !plan->regression && p->num_classes > 0) e->label_classes = p->num_classes;
  const LBuffer *results[2];
  for (int i = 0, n = lentry_results(p, program_entry(ek), results); i < n; i++) {
    if (results[i]->home == LBUF_STATE) e->uses_state = true;
    if (results[i]->home == LBUF_WORK) e->uses_work = true;
  }
  if (!e->uses_pred) e->pred = PRED_UNUSED;
  else if (ek == ENTRY_PREDICT || !p->pred->optional) e->pred = PRED_REQUIRED;
  else if (plan->regression && pred_only_kernels(plan, e)) e->pred = PRED_SKIP;
  else e->pred = PRED_SCRATCH;
  if (e->pred == PRED_SKIP)
    for (int c = 0; c < e->ncalls; c++) {
      const KernelPlan *kp = e->calls[c].kp;
      for (int i = 0; i < kp->nbufs; i++)
        if (kp->bufs[i] == p->pred && kp->writes[i]) e->calls[c].only_with_pred = true;
    }
}

/* State buffers in offset order: the tensor table. */
static void plan_tensors(ProgramPlan *plan) {
  const LProgram *p = plan->p;
  const LBuffer **list = arena_alloc(p->arena, (size_t)(p->nbuffers + 1) * sizeof(LBuffer *));
  int n = 0;
  for (int i = 0; i < p->nbuffers; i++)
    if (p->buffers[i]->home == LBUF_STATE) list[n++] = p->buffers[i];
  for (int i = 1; i < n; i++) /* insertion sort: stable, tables are small */
    for (int j = i; j > 0 && list[j - 1]->offset > list[j]->offset; j--) {
      const LBuffer *t = list[j];
      list[j] = list[j - 1];
      list[j - 1] = t;
    }
  plan->tensors = list;
  plan->ntensors = n;
}

bool plan_build(ProgramPlan *plan, const LProgram *p, const char *who, FILE *err) {
  memset(plan, 0, sizeof *plan);
  Arena *a = p->arena;
  plan->p = p;
  plan->prefix = plan_ident(a, p->name);
  plan->PREFIX = upper(a, plan->prefix);
  plan->regression = p->kind == LPROG_REGRESSION;
  plan->input_dtype = p->input && p->input->dtype == DT_U8 ? DT_U8 : DT_F32;
  Builder B = {plan, p, who, err ? err : stderr, true, {0}, {0}};
  luses_init(&B.bufs, p->nbuffers);
  luses_init(&B.vars, p->nvars);
  plan->kernel_of = arena_alloc(a, (size_t)(p->nkernels + 1) * sizeof(KernelPlan *));
  plan->kernels = arena_alloc(a, (size_t)(p->nkernels + 1) * sizeof(KernelPlan));
  bool *called = arena_alloc(a, (size_t)p->nkernels + 1);
  for (int ek = 0; ek < LENTRY_COUNT; ek++)
    for (int c = 0; c < p->entries[ek].ncalls; c++) called[p->entries[ek].calls[c]->id] = true;
  for (int i = 0; i < p->nkernels; i++) {
    if (!called[i]) continue;
    KernelPlan *kp = &plan->kernels[plan->nkernels++];
    plan_kernel(&B, kp, p->kernels[i]);
    plan->kernel_of[i] = kp;
  }
  luses_free(&B.bufs);
  luses_free(&B.vars);
  for (int ek = 0; ek < ENTRY_COUNT; ek++) plan_entry(&B, (EntryKind)ek);
  check_program(&B);
  plan_tensors(plan);
  plan->loss = p->loss;
  plan->eval_loss = p->eval_loss;
  plan->eval_correct = p->eval_correct;
  plan->hash = lprog_hash(p);
  return B.ok;
}

int plan_tensor_kind(LBufRole r) {
  switch (r) {
  case LROLE_PARAM: return 0;
  case LROLE_OPTIM: return 1;
  case LROLE_BUFFER: return 2;
  default: return 3;
  }
}
