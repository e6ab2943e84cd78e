/* The int8 pair form's chunked reduction (run by pair_accumulator.sh). The
 * model `pacc` is one dense layer, y = x . w^T + b, over PACC_INPUT_SIZE
 * (more than 133 144) features into 32 units: 32 columns, the pair form,
 * whose k is cut into int32 chunks widened into int64. Every x and w is
 * +-1 or +-A, so each quantizes to +-127 exactly (scales 1/127 and A/127)
 * and each product is +-127^2: a row of one sign sums past 2^31 and a
 * naive int32 sum wraps. The signs differ per sample and unit, so both
 * the register blocks of 4 rows and the single rows (n = 30) are checked,
 * with positive and negative totals, against an exact int64 reference.
 * Exit 0 when every output is A . sum(sign products) + b within 1e-5 of
 * A . PACC_INPUT_SIZE. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pacc.h"

enum { SAMPLES = 30, UNITS = PACC_OUTPUT_SIZE };
static const float A = 0.5f;

/* The signs: sample s has its first s * 3001 features negative; unit j is
 * negative for even j, and flips its last j * 1777 features. */
static int x_sign(int s, int64_t k) { return k < (int64_t)s * 3001 ? -1 : 1; }
static int w_sign(int j, int64_t k) {
  int v = j % 2 ? 1 : -1;
  return k >= PACC_INPUT_SIZE - (int64_t)j * 1777 ? -v : v;
}

static void *tensor(unsigned char *state, const char *name) {
  for (const pacc_tensor_info *t = pacc_tensors; t->name; t++)
    if (strcmp(t->name, name) == 0) return state + t->offset;
  return NULL;
}

int main(void) {
  const int64_t f = PACC_INPUT_SIZE;
  unsigned char *state = aligned_alloc(64, (PACC_STATE_BYTES + 63) / 64 * 64);
  unsigned char *work = aligned_alloc(64, (PACC_WORK_BYTES + 63) / 64 * 64 + 64);
  float *x = malloc((size_t)SAMPLES * f * sizeof(float));
  float *y = malloc((size_t)SAMPLES * UNITS * sizeof(float));
  if (!state || !work || !x || !y || pacc_init(state, 1) != 0) return 2;
  float *w = tensor(state, "y.weight"), *b = tensor(state, "y.bias");
  if (!w || !b) return 2;
  for (int j = 0; j < UNITS; j++) {
    b[j] = (float)j;
    for (int64_t k = 0; k < f; k++) w[j * f + k] = (float)w_sign(j, k) * A;
  }
  for (int s = 0; s < SAMPLES; s++)
    for (int64_t k = 0; k < f; k++) x[s * f + k] = (float)x_sign(s, k);
  if (pacc_predict(state, work, x, y, SAMPLES) != 0) return 2;
  int bad = 0;
  double tol = 1e-5 * (double)A * (double)f;
  for (int s = 0; s < SAMPLES; s++)
    for (int j = 0; j < UNITS; j++) {
      int64_t dot = 0;
      for (int64_t k = 0; k < f; k++) dot += x_sign(s, k) * w_sign(j, k);
      double want = (double)A * (double)dot + j, got = y[s * UNITS + j];
      if (!(fabs(got - want) <= tol) && bad++ < 5)
        fprintf(stderr, "FAIL: y[%d, %d] = %.3f, expected %.3f (int8 sum %lld x 127^2)\n", s, j,
                got, want, (long long)dot);
    }
  printf("%d x %d outputs over %lld terms: %s\n", SAMPLES, UNITS, (long long)f,
         bad ? "wrapped" : "exact");
  free(y), free(x), free(work), free(state);
  return bad != 0;
}
