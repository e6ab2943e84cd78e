/* tests/regression: regression models through the generated C API. octoc
 * compiles linear.net (f32[8] -> f32[2], mse against a float label) and
 * autoenc.net (no label) to C, the system compiler makes shared objects
 * (tests/gradcheck/gc_model.c), and the tests call NAME_train_step_pred and
 * NAME_predict and NAME_eval: training on y = A x + b reaches a loss an
 * untrained or broken model cannot; predict's outputs are train_step_pred's;
 * the loss is the mean squared error of those outputs and eval's loss sum
 * is it times n (the standalone trainer's test loss is eval's); n < BATCH
 * touches only n rows; bad arguments are refused. */
#include <check.h>
#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gc_model.h"

enum { BATCH = 32, IN = 8, OUT = 2, TRAIN = 512, TEST = 128 };

typedef float StepPred(void *, void *, const float *, const float *, int, float *);
typedef int Predict(const void *, void *, const float *, float *, int);
typedef int Eval(const void *, void *, const float *, const float *, int, float *, int32_t *);

/* A model built from tests/regression/NAME.net and its two entries. */
typedef struct Reg {
  GcModel m;
  char *dir;
  StepPred *step;
  Predict *predict;
  Eval *eval;
  void *state;
} Reg;

static void reg_open(Reg *r, const char *file, const char *prefix) {
  const char *src = getenv("REG_MODELS");
  char net[4096];
  snprintf(net, sizeof net, "%s/%s.net", src ? src : ".", file);
  r->dir = gc_tmpdir();
  ck_assert(r->dir);
  GcBuild b = {.net = net, .prefix = prefix, .dir = r->dir, .tag = file, .batch = BATCH};
  ck_assert_msg(gc_build_one(&b, false, &r->m), "building %s", net);
  char name[256];
  snprintf(name, sizeof name, "%s_train_step_pred", prefix);
  void *s = dlsym(r->m.so, name);
  snprintf(name, sizeof name, "%s_predict", prefix);
  void *p = dlsym(r->m.so, name);
  snprintf(name, sizeof name, "%s_eval", prefix);
  void *e = dlsym(r->m.so, name);
  ck_assert(s && p && e);
  /* POSIX guarantees data and function pointers convert through dlsym. */
  memcpy(&r->step, &s, sizeof s);
  memcpy(&r->predict, &p, sizeof p);
  memcpy(&r->eval, &e, sizeof e);
  r->state = gc_alloc(r->m.state_bytes);
  ck_assert_int_eq(r->m.init(r->state, 7), 0);
}

static void reg_close(Reg *r) {
  free(r->state);
  gc_close(&r->m);
  gc_rmdir(r->dir);
  free(r->dir);
}

static uint64_t next(uint64_t *s) {
  uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

static float uniform(uint64_t *s) { return (float)(next(s) >> 40) / (float)(1 << 24) * 2 - 1; }

/* n samples of x uniform in [-1, 1)^8 and y = A x + b, A and b fixed. */
static void linear_data(float *x, float *y, int n, uint64_t seed) {
  uint64_t ab = 99, s = seed;
  float a[OUT][IN], b[OUT];
  for (int j = 0; j < OUT; j++) {
    for (int i = 0; i < IN; i++) a[j][i] = uniform(&ab) * 0.5f;
    b[j] = uniform(&ab);
  }
  for (int k = 0; k < n; k++) {
    for (int i = 0; i < IN; i++) x[k * IN + i] = uniform(&s);
    for (int j = 0; j < OUT; j++) {
      float t = b[j];
      for (int i = 0; i < IN; i++) t += a[j][i] * x[k * IN + i];
      y[k * OUT + j] = t;
    }
  }
}

/* Sum of (p[i] - t[i])^2 over count floats, in double: the test's own
 * reference of the mse loss. */
static double squared_error(const float *p, const float *t, size_t count) {
  double sum = 0;
  for (size_t i = 0; i < count; i++) sum += ((double)p[i] - t[i]) * ((double)p[i] - t[i]);
  return sum;
}

/* The test loss as the standalone trainer computes it: eval's sums over
 * the batches, per sample. Each sum agrees with the mse of predict's
 * outputs, which the reference recomputes. */
static double test_loss(Reg *r, const float *x, const float *y, int n) {
  float out[BATCH * OUT];
  double sum = 0;
  for (int s = 0; s < n; s += BATCH) {
    int k = n - s < BATCH ? n - s : BATCH;
    float loss_sum;
    int32_t correct = -1;
    ck_assert_int_eq(r->eval(r->state, r->m.work, x + s * IN, y + s * OUT, k, &loss_sum,
                             &correct), 0);
    ck_assert_int_eq(correct, 0); /* no classes */
    ck_assert_int_eq(r->predict(r->state, r->m.work, x + s * IN, out, k), 0);
    double mine = squared_error(out, y + s * OUT, (size_t)k * OUT) / OUT;
    ck_assert_msg(fabs(loss_sum - mine) <= 1e-5 * mine + 1e-7, "eval %.9g, predict's %.9g",
                  loss_sum, mine);
    sum += loss_sum;
  }
  return sum / n;
}

START_TEST(regression_learns_linear_targets_below_an_untrained_models_loss) {
  Reg r;
  reg_open(&r, "linear", "reg_linear");
  static float x[TRAIN * IN], y[TRAIN * OUT], tx[TEST * IN], ty[TEST * OUT];
  linear_data(x, y, TRAIN, 1);
  linear_data(tx, ty, TEST, 2);
  double before = test_loss(&r, tx, ty, TEST);
  for (int epoch = 0; epoch < 40; epoch++)
    for (int s = 0; s < TRAIN; s += BATCH) {
      float loss = r.step(r.state, r.m.work, x + s * IN, y + s * OUT, BATCH, NULL);
      ck_assert(isfinite(loss));
    }
  double after = test_loss(&r, tx, ty, TEST);
  printf("linear: test loss %.6f untrained, %.6f after 40 epochs\n", before, after);
  ck_assert_msg(after < 0.02 && after < before / 20, "test loss %g (untrained %g)", after, before);
  reg_close(&r);
}
END_TEST

START_TEST(predict_outputs_equal_train_step_preds_and_loss_is_the_trainers_formula) {
  Reg r;
  reg_open(&r, "linear", "reg_linear");
  float x[BATCH * IN], y[BATCH * OUT], pred[BATCH * OUT], out[BATCH * OUT];
  linear_data(x, y, BATCH, 3);
  ck_assert_int_eq(r.predict(r.state, r.m.work, x, out, BATCH), 0);
  float loss = r.step(r.state, r.m.work, x, y, BATCH, pred);
  /* pred is computed before the update, by the same forward kernels. */
  for (int i = 0; i < BATCH * OUT; i++) ck_assert_float_eq(pred[i], out[i]);
  double formula = squared_error(pred, y, BATCH * OUT) / (BATCH * OUT);
  ck_assert_msg(fabs(loss - formula) <= 1e-6 * formula, "loss %.9g, formula %.9g", loss, formula);
  /* The update changed the state: predict now differs. */
  ck_assert_int_eq(r.predict(r.state, r.m.work, x, out, BATCH), 0);
  ck_assert(memcmp(out, pred, sizeof out) != 0);
  reg_close(&r);
}
END_TEST

START_TEST(partial_batch_writes_n_rows_and_matches_the_full_batch) {
  Reg r;
  reg_open(&r, "linear", "reg_linear");
  enum { N = 5 };
  float x[BATCH * IN], y[BATCH * OUT], full[BATCH * OUT], part[BATCH * OUT], pred[BATCH * OUT];
  linear_data(x, y, BATCH, 4);
  ck_assert_int_eq(r.predict(r.state, r.m.work, x, full, BATCH), 0);
  for (int i = 0; i < BATCH * OUT; i++) part[i] = pred[i] = -12345.0f;
  ck_assert_int_eq(r.predict(r.state, r.m.work, x, part, N), 0);
  float loss = r.step(r.state, r.m.work, x, y, N, pred);
  double formula = squared_error(pred, y, N * OUT) / (N * OUT);
  ck_assert_msg(fabs(loss - formula) <= 1e-6 * formula, "loss %.9g, formula %.9g", loss, formula);
  for (int i = 0; i < BATCH * OUT; i++) {
    float want = i < N * OUT ? full[i] : -12345.0f;
    ck_assert_float_eq(part[i], want);
    ck_assert_float_eq(pred[i], want);
  }
  reg_close(&r);
}
END_TEST

START_TEST(bad_arguments_give_nan_and_minus_one) {
  Reg r;
  reg_open(&r, "linear", "reg_linear");
  float x[BATCH * IN] = {0}, y[BATCH * OUT] = {0}, out[BATCH * OUT];
  ck_assert(isnan(r.step(r.state, r.m.work, x, NULL, BATCH, NULL))); /* the label is read */
  ck_assert(isnan(r.step(r.state, r.m.work, x, y, 0, NULL)));
  ck_assert(isnan(r.step(r.state, r.m.work, x, y, BATCH + 1, NULL)));
  ck_assert_int_eq(r.predict(r.state, r.m.work, x, NULL, BATCH), -1);
  ck_assert_int_eq(r.predict(r.state, r.m.work, x, out, BATCH + 1), -1);
  float sum;
  ck_assert_int_eq(r.eval(r.state, r.m.work, x, NULL, BATCH, &sum, NULL), -1);
  ck_assert_int_eq(r.eval(r.state, r.m.work, x, y, BATCH, NULL, NULL), -1);
  ck_assert_int_eq(r.eval(r.state, r.m.work, x, y, 0, &sum, NULL), -1);
  ck_assert_int_eq(r.eval(r.state, r.m.work, x, y, BATCH, &sum, NULL), 0);
  reg_close(&r);
}
END_TEST

START_TEST(model_without_label_trains_with_null_y_towards_its_input) {
  Reg r;
  reg_open(&r, "autoenc", "reg_autoenc");
  ck_assert_int_eq(r.m.label_size, 0);
  enum { D = 6 };
  float x[BATCH * D], out[BATCH * D];
  uint64_t s = 5;
  for (int i = 0; i < BATCH * D; i++) x[i] = uniform(&s);
  ck_assert_int_eq(r.predict(r.state, r.m.work, x, out, BATCH), 0);
  double before = squared_error(out, x, BATCH * D) / (BATCH * D);
  float first = r.step(r.state, r.m.work, x, NULL, BATCH, NULL);
  ck_assert_msg(fabs(first - before) <= 1e-6 * before, "loss %g, predict's mse %g", first, before);
  for (int i = 0; i < 300; i++) ck_assert(isfinite(r.step(r.state, r.m.work, x, NULL, BATCH, NULL)));
  ck_assert_int_eq(r.predict(r.state, r.m.work, x, out, BATCH), 0);
  double after = squared_error(out, x, BATCH * D) / (BATCH * D);
  printf("autoenc: reconstruction %.6f before, %.6f after\n", before, after);
  ck_assert_msg(after < before / 2, "reconstruction %g, untrained %g", after, before);
  reg_close(&r);
}
END_TEST

int main(void) {
  Suite *s = suite_create("regression");
  TCase *tc = tcase_create("regression");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, regression_learns_linear_targets_below_an_untrained_models_loss);
  tcase_add_test(tc, predict_outputs_equal_train_step_preds_and_loss_is_the_trainers_formula);
  tcase_add_test(tc, partial_batch_writes_n_rows_and_matches_the_full_batch);
  tcase_add_test(tc, bad_arguments_give_nan_and_minus_one);
  tcase_add_test(tc, model_without_label_trains_with_null_y_towards_its_input);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
