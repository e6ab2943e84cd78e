/* batch.c: the order of the training samples and the filling of batches.
 *
 * The permutation of an epoch is a pure function of (seed, epoch): a
 * splitmix64 stream keyed by both drives a Fisher-Yates shuffle. A resumed
 * run therefore reproduces the order of every later epoch from the two
 * numbers in the checkpoint, with no RNG state to save. Pixels become floats
 * through a 256-entry table, so a batch costs one lookup per pixel. A
 * regression split copies its float targets alongside; rt_squared_error is
 * the test loss of such a model (the mse loss's sum, in double). */
#include <string.h>

#include "rt.h"

uint64_t rt_splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Uniform in [0, bound) without modulo bias (rejection of the short tail). */
static uint64_t uniform_below(uint64_t *state, uint64_t bound) {
  uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  uint64_t r;
  do
    r = rt_splitmix64(state);
  while (r >= limit);
  return r % bound;
}

void batch_permutation(size_t *perm, size_t n, uint64_t seed, uint64_t epoch) {
  /* Mix seed and epoch through splitmix so nearby seeds/epochs decorrelate. */
  uint64_t key = seed;
  uint64_t state = rt_splitmix64(&key) ^ (epoch * 0xd1b54a32d192ed03ull);
  rt_splitmix64(&state);
  for (size_t i = 0; i < n; i++)
    perm[i] = i;
  for (size_t i = n; i > 1; i--) {
    size_t j = (size_t)uniform_below(&state, i);
    size_t t = perm[i - 1];
    perm[i - 1] = perm[j];
    perm[j] = t;
  }
}

void normalize_table(float lut[256], float mean, float std) {
  for (int p = 0; p < 256; p++)
    lut[p] = (float)(((double)p / 255.0 - mean) / std);
}

/* Both fills: pixels into x, and class labels into y or float targets
 * into t (whichever is not NULL). */
static int fill(const Dataset *ds, const size_t *order, size_t start, int batch,
                const float lut[256], float *x, int32_t *y, float *t) {
  size_t left = start < ds->count ? ds->count - start : 0;
  int n = left < (size_t)batch ? (int)left : batch;
  size_t per = ds->target_size;
  for (int i = 0; i < n; i++) {
    size_t s = order ? order[start + (size_t)i] : start + (size_t)i;
    const uint8_t *px = ds->images.data + s * ds->sample_size;
    float *dst = x + (size_t)i * ds->sample_size;
    for (size_t k = 0; k < ds->sample_size; k++)
      dst[k] = lut[px[k]];
    if (y)
      y[i] = ds->labels.data[s];
    if (t && per)
      memcpy(t + (size_t)i * per, ds->targets + s * per, per * sizeof(float));
  }
  return n;
}

int batch_fill(const Dataset *ds, const size_t *order, size_t start, int batch,
               const float lut[256], float *x, int32_t *y) {
  return fill(ds, order, start, batch, lut, x, y, NULL);
}

int batch_fill_targets(const Dataset *ds, const size_t *order, size_t start, int batch,
                       const float lut[256], float *x, float *t) {
  return fill(ds, order, start, batch, lut, x, NULL, t);
}

double rt_squared_error(const float *p, const float *t, size_t count) {
  double sum = 0;
  for (size_t i = 0; i < count; i++) {
    double d = (double)p[i] - (double)t[i];
    sum += d * d;
  }
  return sum;
}
