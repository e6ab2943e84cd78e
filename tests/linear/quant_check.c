/* The quantize kernel (passes/lower_int8.c) through generated code, run by
 * quantize.sh: the model `q` is one dense layer on x f32[1000] at batch 1;
 * the driver sets x, runs predict (nearest rounding) or train_step (the
 * recipe's forward rounding) and reads x's int8 copy and scale from the
 * work arena (offsets from --emit=loops, passed as arguments):
 *
 *   quant_check MODE Q_OFFSET SCALE_OFFSET
 *     nearest     ties go to even (0.5 -> 0, 1.5 -> 2, -2.5 -> -2), s = max|x| / 127
 *     saturate    +-max|x| -> +-127, never -128, with either rounding, many steps
 *     zero        an all-zero x has s = 1 and q = 0
 *     stochastic  unbiased: E[q] = x / s for x / s in {0.3, -0.7, 2.25}
 *                 over 200 steps x 333 elements (see below)
 *     biased      the same statistic with nearest rounding is off (the
 *                 check can fail)
 *
 * The stochastic test: each element's q is x/s rounded down or up, with
 * P(up) = frac(x/s); the mean of N = 66 600 independent draws has standard
 * deviation sqrt(p(1-p)/N) <= 0.0019. The test fails when the mean is off
 * by more than 6 of those (0.0116): for a truly uniform u a false failure
 * has probability 2e-9 per value. The draws are a deterministic function
 * of (seed, step, tensor, element), so the outcome is fixed for the seed
 * used here. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "q.h"

enum { N = 1000, STEPS = 200 };

static unsigned char *state, *work;
static long q_off, s_off;
static float x[N];

static const int8_t *q(void) { return (const int8_t *)(work + q_off); }
static float scale(void) { return *(const float *)(work + s_off); }

static int predict(void) {
  int32_t cls;
  return q_predict(state, work, x, &cls, 1);
}

static int step(void) {
  int32_t y = 0;
  float loss = q_train_step(state, work, x, &y, 1);
  return isfinite(loss) ? 0 : -1;
}

static int fail(const char *what) {
  fprintf(stderr, "FAIL %s\n", what);
  return 1;
}

/* x = 127 * [0.5, 1.5, 2.5, -0.5, -2.5, 3.5, 126.5, ...] / 127: s = 1. */
static int check_nearest(void) {
  static const float in[] = {0.5f, 1.5f, 2.5f, -0.5f, -2.5f, 3.5f, -3.5f, 126.5f, 0.49f, -1.51f};
  static const int out[] = {0, 2, 2, 0, -2, 4, -4, 126, 0, -2};
  memset(x, 0, sizeof x);
  for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) x[i] = in[i];
  x[N - 1] = 127;
  if (predict() != 0) return fail("predict");
  if (scale() != 1.0f) return fail("scale of max|x| = 127 is not 1");
  for (size_t i = 0; i < sizeof in / sizeof in[0]; i++)
    if (q()[i] != out[i]) {
      fprintf(stderr, "FAIL nearest: %g -> %d, expected %d\n", in[i], q()[i], out[i]);
      return 1;
    }
  if (q()[N - 1] != 127) return fail("max -> 127");
  printf("nearest: ties to even, s = 1\n");
  return 0;
}

static int check_saturate(void) {
  for (int i = 0; i < N; i++) x[i] = (float)((i % 2 ? -1 : 1) * (3.0 + 1e-3 * i));
  x[7] = 3.999f, x[8] = -3.999f;
  for (int t = 0; t < STEPS; t++) {
    if ((t ? step() : predict()) != 0) return fail("step");
    int lo = 0, hi = 0;
    for (int i = 0; i < N; i++) {
      if (q()[i] < lo) lo = q()[i];
      if (q()[i] > hi) hi = q()[i];
    }
    if (lo < -127 || hi > 127) return fail("a value outside [-127, 127]");
    if (hi != 127 || lo != -127) {
      fprintf(stderr, "FAIL saturate: step %d range [%d, %d], expected [-127, 127]\n", t, lo, hi);
      return 1;
    }
  }
  printf("saturate: always within [-127, 127], the extremes at +-127\n");
  return 0;
}

static int check_zero(void) {
  memset(x, 0, sizeof x);
  if (step() != 0 || predict() != 0) return fail("step");
  if (scale() != 1.0f) return fail("scale of an all-zero tensor is not 1");
  for (int i = 0; i < N; i++)
    if (q()[i] != 0) return fail("q of an all-zero tensor is not 0");
  printf("zero: s = 1, q = 0\n");
  return 0;
}

/* Mean of q over the elements of each value, over STEPS train steps. */
static int check_mean(int stochastic) {
  static const double v[3] = {0.3, -0.7, 2.25};
  double sum[3] = {0};
  long count[3] = {0};
  for (int i = 0; i < N - 1; i++) x[i] = (float)v[i % 3];
  x[N - 1] = 127;
  for (int t = 0; t < STEPS; t++) {
    if (step() != 0) return fail("step");
    if (scale() != 1.0f) return fail("scale");
    for (int i = 0; i < N - 1; i++) sum[i % 3] += q()[i], count[i % 3]++;
  }
  int bad = 0;
  for (int k = 0; k < 3; k++) {
    double mean = sum[k] / count[k], err = fabs(mean - v[k]);
    printf("%s: mean of q for x/s = %g is %.5f (%ld draws)\n",
           stochastic ? "stochastic" : "nearest", v[k], mean, count[k]);
    bad |= err > 0.0116;
  }
  if (stochastic && bad) return fail("stochastic rounding is biased");
  if (!stochastic && !bad) return fail("nearest rounding looked unbiased: the statistic cannot fail");
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: quant_check MODE Q_OFFSET SCALE_OFFSET\n");
    return 2;
  }
  q_off = atol(argv[2]), s_off = atol(argv[3]);
  state = aligned_alloc(64, (Q_STATE_BYTES + 63) / 64 * 64);
  work = aligned_alloc(64, (Q_WORK_BYTES + 63) / 64 * 64 + 64);
  if (!state || !work || q_init(state, 7) != 0) return 2;
  const char *mode = argv[1];
  if (strcmp(mode, "nearest") == 0) return check_nearest();
  if (strcmp(mode, "saturate") == 0) return check_saturate();
  if (strcmp(mode, "zero") == 0) return check_zero();
  if (strcmp(mode, "stochastic") == 0) return check_mean(1);
  if (strcmp(mode, "biased") == 0) return check_mean(0);
  fprintf(stderr, "unknown mode %s\n", mode);
  return 2;
}
