/* tests/bitexact/harness.c: drives one generated trainer through its C API
 * for a fixed number of steps on deterministic data and prints every loss as
 * its bit pattern, a checksum of one predict call and of the final state
 * block. The table in expected/ was made by the compiler before the "make
 * room" refactor (issue 9); any change to the printed bits means a generated
 * trainer computes something else.
 *
 * Built by run.sh with -include NAME.h -DPFX=name -DPFXU=NAME. Pixels are
 * bytes from a fixed LCG; a model whose header says its input is u8 takes
 * them as they are, one that takes floats gets (p/255 - mean) / std
 * computed the way the runtime does. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define FN(s) CAT(PFX, s)
#define M(s) CAT(PFXU, s)

enum { STEPS = 100 };

static uint32_t lcg = 12345u;
static uint32_t next(void) {
  lcg = lcg * 1664525u + 1013904223u;
  return lcg >> 8;
}

static uint64_t fnv(const void *p, size_t n, uint64_t h) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
  return h;
}

static uint32_t bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

#if M(_NUM_CLASSES) > 0
typedef int32_t label_t;
#define LABELS M(_BATCH)
#define OUT_SIZE 1
typedef int32_t out_t;
#else
typedef float label_t;
#define LABELS (M(_BATCH) * (M(_LABEL_SIZE) > 0 ? M(_LABEL_SIZE) : 1))
#define OUT_SIZE M(_OUTPUT_SIZE)
typedef float out_t;
#endif

#ifdef OCTO_INPUT_U8
typedef uint8_t input_t;
#else
typedef float input_t;
#endif

int main(void) {
  size_t align = M(_STATE_ALIGN);
  size_t sb = (M(_STATE_BYTES) + align - 1) / align * align;
  size_t wb = (M(_WORK_BYTES) + align - 1) / align * align;
  void *state = aligned_alloc(align, sb ? sb : align);
  void *work = aligned_alloc(align, wb ? wb : align);
  size_t nx = (size_t)M(_BATCH) * M(_INPUT_SIZE);
  input_t *x = malloc(nx * sizeof *x);
  label_t *y = malloc((size_t)LABELS * sizeof *y);
  out_t *out = malloc((size_t)M(_BATCH) * OUT_SIZE * sizeof *out);
  if (!state || !work || !x || !y || !out) return 2;
  memset(state, 0, sb);
  memset(work, 0, wb ? wb : align);
  if (FN(_init)(state, 1) != 0) return 3;
  double mean = M(_INPUT_MEAN), sd = M(_INPUT_STD);
  for (int step = 0; step < STEPS; step++) {
    /* A partial batch now and then, as the last batch of an epoch. */
    int n = step % 25 == 24 ? M(_BATCH) - M(_BATCH) / 3 : M(_BATCH);
    if (n < 1) n = 1;
    for (size_t i = 0; i < (size_t)n * M(_INPUT_SIZE); i++) {
      unsigned p = next() & 255;
#ifdef OCTO_INPUT_U8
      x[i] = (uint8_t)p;
#else
      x[i] = (float)(((double)p / 255.0 - mean) / sd);
#endif
    }
#if M(_NUM_CLASSES) > 0
    for (int i = 0; i < n; i++) y[i] = (int32_t)(next() % M(_NUM_CLASSES));
#else
    for (int i = 0; i < LABELS; i++) y[i] = (float)((int)(next() % 2001) - 1000) / 1000.0f;
#endif
    float loss = FN(_train_step)(state, work, x, y, n);
    printf("%d %08x\n", step, bits(loss));
  }
  if (FN(_predict)(state, work, x, out, M(_BATCH)) != 0) return 4;
  printf("predict %016llx\n",
         (unsigned long long)fnv(out, (size_t)M(_BATCH) * OUT_SIZE * sizeof *out, 14695981039346656037ull));
  printf("state %016llx\n", (unsigned long long)fnv(state, M(_STATE_BYTES), 14695981039346656037ull));
  free(state);
  free(work);
  free(x);
  free(y);
  free(out);
  return 0;
}
