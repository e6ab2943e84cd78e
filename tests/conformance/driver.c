/* A generic driver for a compiled trainer named "t" (t.h and t.o, from any
 * backend), linked by the conformance suite on the host and for cross
 * targets (run under qemu). It reads commands from
 * stdin and prints results, reaching tensors through the emitted tensor
 * table, so one driver runs every test program:
 *
 *   meta                     sizes, hash and the tensor table
 *   init SEED                t_init; prints "init RET"
 *   set NAME v...            writes every element of a state tensor
 *   get NAME                 prints "NAME v..." (%.9g for f32)
 *   step N WITHPRED x... y...  t_train_step_pred (or t_train_step when
 *                            WITHPRED is 0); prints "loss L" and "pred ..."
 *   predict N x...           prints "predict RET" and "cls ..."
 *   eval N x... y...         t_eval: prints "eval RET LOSS_SUM CORRECT"
 *   bad                      calls each entry with bad arguments
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "t.h"

static unsigned char *state, *work;

static const t_tensor_info *find(const char *name) {
  for (int i = 0; t_tensors[i].name; i++)
    if (strcmp(t_tensors[i].name, name) == 0) return &t_tensors[i];
  fprintf(stderr, "driver: no tensor %s\n", name);
  exit(2);
}

static size_t esize(int dtype) {
  static const size_t sizes[] = {4, 1, 2, 4, 8, 1, 2, 4};
  return sizes[dtype];
}

static void set(void) {
  char name[128];
  if (scanf("%127s", name) != 1) exit(2);
  const t_tensor_info *t = find(name);
  size_t n = t->bytes / esize(t->dtype);
  unsigned char *p = state + t->offset;
  for (size_t i = 0; i < n; i++) {
    double d;
    long long v;
    if (t->dtype == 0) {
      if (scanf("%lf", &d) != 1) exit(2);
      float f = (float)d;
      memcpy(p + i * 4, &f, 4);
      continue;
    }
    if (scanf("%lld", &v) != 1) exit(2);
    switch (t->dtype) {
    case 1: { int8_t x = (int8_t)v; memcpy(p + i, &x, 1); break; }
    case 2: { int16_t x = (int16_t)v; memcpy(p + i * 2, &x, 2); break; }
    case 3: { int32_t x = (int32_t)v; memcpy(p + i * 4, &x, 4); break; }
    case 4: { int64_t x = (int64_t)v; memcpy(p + i * 8, &x, 8); break; }
    default: { uint8_t x = (uint8_t)v; memcpy(p + i, &x, 1); break; }
    }
  }
}

static void get(void) {
  char name[128];
  if (scanf("%127s", name) != 1) exit(2);
  const t_tensor_info *t = find(name);
  size_t n = t->bytes / esize(t->dtype);
  const unsigned char *p = state + t->offset;
  printf("%s", name);
  for (size_t i = 0; i < n; i++) {
    switch (t->dtype) {
    case 0: { float f; memcpy(&f, p + i * 4, 4); printf(" %.9g", (double)f); break; }
    case 1: { int8_t x; memcpy(&x, p + i, 1); printf(" %d", x); break; }
    case 2: { int16_t x; memcpy(&x, p + i * 2, 2); printf(" %d", x); break; }
    case 3: { int32_t x; memcpy(&x, p + i * 4, 4); printf(" %" PRId32, x); break; }
    case 4: { int64_t x; memcpy(&x, p + i * 8, 8); printf(" %" PRId64, x); break; }
    default: { uint8_t x; memcpy(&x, p + i, 1); printf(" %u", x); break; }
    }
  }
  printf("\n");
}

static float xs[T_BATCH * T_INPUT_SIZE + 1];
static int32_t ys[T_BATCH + 1], preds[T_BATCH + 1];

static int read_batch(int n, int with_y) {
  for (int i = 0; i < n * T_INPUT_SIZE; i++)
    if (scanf("%f", &xs[i]) != 1) exit(2);
  for (int i = 0; with_y && i < n; i++)
    if (scanf("%" SCNd32, &ys[i]) != 1) exit(2);
  return n;
}

static void print_preds(const char *what, int n) {
  printf("%s", what);
  for (int i = 0; i < n; i++) printf(" %" PRId32, preds[i]);
  printf("\n");
}

static void step(void) {
  int n, with_pred;
  if (scanf("%d %d", &n, &with_pred) != 2) exit(2);
  read_batch(n, 1);
  float loss = with_pred ? t_train_step_pred(state, work, xs, ys, n, preds)
                         : t_train_step(state, work, xs, ys, n);
  printf("loss %.9g\n", (double)loss);
  if (with_pred) print_preds("pred", n);
}

static void predict(void) {
  int n;
  if (scanf("%d", &n) != 1) exit(2);
  read_batch(n, 0);
  printf("predict %d\n", t_predict(state, work, xs, preds, n));
  print_preds("cls", n);
}

/* eval: the summed loss and the number right of a labelled batch (a
 * program without the entry prints "eval none"). */
static void eval(void) {
  int n;
  if (scanf("%d", &n) != 1) exit(2);
  read_batch(n, 1);
#ifdef T_HAS_EVAL
  float sum = -1;
  int32_t correct = -1;
  int rc = t_eval(state, work, xs, ys, n, &sum, &correct);
  printf("eval %d %.9g %" PRId32 "\n", rc, (double)sum, correct);
#else
  printf("eval none\n");
#endif
}

static void bad(void) {
  printf("bad n=0 %d\n", isnan(t_train_step(state, work, xs, ys, 0)) != 0);
  printf("bad n>batch %d\n", isnan(t_train_step(state, work, xs, ys, T_BATCH + 1)) != 0);
  printf("bad x=NULL %d\n", isnan(t_train_step(state, work, NULL, ys, 1)) != 0);
  printf("bad y=NULL %d\n", isnan(t_train_step(state, work, xs, NULL, 1)) != 0);
  printf("bad state=NULL %d\n", isnan(t_train_step(NULL, work, xs, ys, 1)) != 0);
  printf("bad predict n=0 %d\n", t_predict(state, work, xs, preds, 0));
  printf("bad predict state=NULL %d\n", t_predict(NULL, work, xs, preds, 1));
  printf("bad init NULL %d\n", t_init(NULL, 1));
  /* Labels outside 0..classes-1 and misaligned pointers: refused, and the
   * state is exactly as before (snapshot compared byte for byte). */
  unsigned char *before = malloc(T_STATE_BYTES + 1);
  if (!before) exit(2);
  memcpy(before, state, T_STATE_BYTES);
  const int32_t labels[] = {T_NUM_CLASSES, 200, -1, 1000000, INT32_MIN};
  for (size_t i = 0; i < sizeof labels / sizeof *labels; i++) {
    for (int k = 0; k < T_BATCH; k++) ys[k] = k % T_NUM_CLASSES;
    ys[T_BATCH - 1] = labels[i];
    float loss = t_train_step_pred(state, work, xs, ys, T_BATCH, preds);
    printf("bad label %" PRId32 " %d", labels[i], isnan(loss) != 0);
#ifdef T_HAS_EVAL
    float sum = 0;
    printf(" eval %d", t_eval(state, work, xs, ys, T_BATCH, &sum, NULL));
#endif
    printf(" state %s\n", memcmp(before, state, T_STATE_BYTES) ? "changed" : "same");
  }
  for (int k = 0; k < T_BATCH; k++) ys[k] = k % T_NUM_CLASSES;
  /* One byte off: state+1 is misaligned; the real state stays untouched. */
  printf("bad misaligned state %d", isnan(t_train_step(state + 1, work, xs, ys, 1)) != 0);
  printf(" work %d", isnan(t_train_step(state, work + 1, xs, ys, 1)) != 0);
  printf(" x %d", isnan(t_train_step(state, work, (const float *)((char *)xs + 1), ys, 1)) != 0);
  printf(" y %d", isnan(t_train_step(state, work, xs, (const int32_t *)((char *)ys + 2), 1)) != 0);
  printf(" predict %d", t_predict(state + 8, work, xs, preds, 1));
  printf(" init %d", t_init(state + 16, 1));
  printf(" state %s\n", memcmp(before, state, T_STATE_BYTES) ? "changed" : "same");
  free(before);
}

static void meta(void) {
  printf("batch %d state %d work %d ntensors %d input_rank %d input_size %d classes %d\n",
         T_BATCH, T_STATE_BYTES, T_WORK_BYTES, T_NTENSORS, T_INPUT_RANK, T_INPUT_SIZE,
         T_NUM_CLASSES);
  printf("hash %016llx\n", (unsigned long long)T_HASH);
  for (int i = 0; i < T_NTENSORS; i++) {
    const t_tensor_info *t = &t_tensors[i];
    printf("tensor %s dtype %d role %d rank %d shape", t->name, t->dtype, t->role, t->rank);
    for (int d = 0; d < t->rank; d++) printf(" %lld", (long long)t->shape[d]);
    printf(" offset %zu bytes %zu\n", t->offset, t->bytes);
  }
}

int main(void) {
  /* One spare block past each end catches an emitted write outside its block
   * when run under ASan-free builds too (checked below). */
  state = aligned_alloc(T_STATE_ALIGN, T_STATE_BYTES + 2 * T_STATE_ALIGN);
  work = aligned_alloc(T_STATE_ALIGN, T_WORK_BYTES + 2 * T_STATE_ALIGN);
  if (!state || !work) return 1;
  memset(state, 0xA5, T_STATE_BYTES + 2 * T_STATE_ALIGN);
  memset(work, 0xA5, T_WORK_BYTES + 2 * T_STATE_ALIGN);
  state += T_STATE_ALIGN;
  work += T_STATE_ALIGN;
  char cmd[32];
  while (scanf("%31s", cmd) == 1) {
    if (strcmp(cmd, "meta") == 0) meta();
    else if (strcmp(cmd, "init") == 0) {
      unsigned long long seed;
      if (scanf("%llu", &seed) != 1) return 2;
      printf("init %d\n", t_init(state, seed));
    } else if (strcmp(cmd, "set") == 0) set();
    else if (strcmp(cmd, "get") == 0) get();
    else if (strcmp(cmd, "step") == 0) step();
    else if (strcmp(cmd, "predict") == 0) predict();
    else if (strcmp(cmd, "eval") == 0) eval();
    else if (strcmp(cmd, "bad") == 0) bad();
    else {
      fprintf(stderr, "driver: unknown command %s\n", cmd);
      return 2;
    }
  }
  for (int i = 0; i < T_STATE_ALIGN; i++)
    if (state[-1 - i] != 0xA5 || state[T_STATE_BYTES + i] != 0xA5 ||
        work[-1 - i] != 0xA5 || work[T_WORK_BYTES + i] != 0xA5) {
      printf("guard overwritten\n");
      return 3;
    }
  printf("done\n");
  return 0;
}
