/* batch.c: the order of the training samples and the filling of batches.
 *
 * The permutation of an epoch is a pure function of (seed, epoch): a
 * splitmix64 stream keyed by both drives a Fisher-Yates shuffle. A resumed
 * run therefore reproduces the order of every later epoch from the two
 * numbers in the checkpoint, with no RNG state to save. A batch is copies:
 * the samples as the model takes them (it normalises pixels itself), the
 * labels widened to int32, a regression split's float targets. */
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

int batch_fill(const Dataset *ds, const size_t *order, size_t start, int batch, void *x,
               int32_t *y, float *t) {
  size_t left = start < ds->count ? ds->count - start : 0;
  int n = left < (size_t)batch ? (int)left : batch;
  size_t per = ds->target_size, bytes = ds->sample_bytes;
  for (int i = 0; i < n; i++) {
    size_t s = order ? order[start + (size_t)i] : start + (size_t)i;
    memcpy((uint8_t *)x + (size_t)i * bytes, ds->inputs + s * bytes, bytes);
    if (y)
      y[i] = ds->labels.data[s];
    if (t && per)
      memcpy(t + (size_t)i * per, ds->targets + s * per, per * sizeof(float));
  }
  return n;
}
