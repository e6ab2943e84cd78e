/* Micro-benchmark of one generated trainer's train_step (not a test: run by
 * bench.sh, which compiles a model as `m` with octoc --emit=c). Prints the
 * samples per second of train_step on random data at the compiled batch,
 * the best of several timed rounds. Usage: bench_step [N] [MIN_SECONDS] */
#define _POSIX_C_SOURCE 200112L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "m.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : M_BATCH;
  double min_s = argc > 2 ? atof(argv[2]) : 0.5;
  if (n < 1 || n > M_BATCH) return 2;
  void *state = aligned_alloc(64, (M_STATE_BYTES + 63) / 64 * 64);
  void *work = aligned_alloc(64, (M_WORK_BYTES + 63) / 64 * 64 + 64);
  float *x = malloc(sizeof(float) * M_INPUT_SIZE * (size_t)n);
  int32_t *y = malloc(sizeof(int32_t) * (size_t)n);
  if (!state || !work || !x || !y || m_init(state, 1) != 0) return 2;
  unsigned r = 12345;
  for (size_t i = 0; i < (size_t)M_INPUT_SIZE * (size_t)n; i++) {
    r = r * 1103515245u + 12345u;
    x[i] = (float)(r >> 8) / 16777216.0f;
  }
  for (int i = 0; i < n; i++) y[i] = i % M_NUM_CLASSES;
  double best = 1e30;
  float loss = 0;
  for (int round = 0; round < 5; round++) {
    long steps = 0;
    double t0 = now(), t;
    do {
      loss += m_train_step(state, work, x, y, n);
      steps++;
    } while ((t = now() - t0) < min_s / 5);
    if (t / (double)steps < best) best = t / (double)steps;
  }
  printf("batch %d n %d: %.1f us/step, %.0f samples/s (loss sum %g)\n", M_BATCH, n, best * 1e6,
         n / best, (double)loss);
  return 0;
}
