/* cross_driver.c: trains the generated lenet5 on a plain IDX subset and prints
 * every step's loss, so the same program built for x86-64, armv7, aarch64 and
 * riscv64 (run under qemu) can be compared number by number.
 *
 * Only libc and libm: the cross toolchains have no zlib, so the test script
 * gunzips the samples first. Usage:
 *   cross_driver IMAGES LABELS STEPS
 * Output: one line per step, "step K loss L A" with L printed by %.9g (enough
 * digits to round-trip a float) and A by %a (the bits, for the parity
 * tests), then "classes" and the predicted classes of the first batch after
 * training. Exit 1 on any error, with a message.
 * Built with -DEPOCH_STEPS=K (a model with a learning-rate schedule), it
 * moves to the next epoch every K steps, so the schedule's cos or pow runs
 * on new arguments. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lenet5.h"

enum { SAMPLE = LENET5_INPUT_SIZE, BATCH = LENET5_BATCH };

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reads the IDX header of path (magic 00 00 08 rank, then rank big-endian
 * extents), checks it against the rank and per-sample extents wanted, and
 * returns the file positioned at the data. */
static FILE *open_idx(const char *path, int rank, uint32_t rows, uint32_t cols,
                      uint32_t *count) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    return NULL;
  }
  unsigned char h[16];
  size_t want = 4 + 4 * (size_t)rank;
  if (fread(h, 1, want, f) != want) {
    fprintf(stderr, "%s: truncated IDX header\n", path);
    fclose(f);
    return NULL;
  }
  if (h[0] != 0 || h[1] != 0 || h[2] != 8 || h[3] != rank) {
    fprintf(stderr, "%s: not an unsigned-byte IDX file of rank %d\n", path, rank);
    fclose(f);
    return NULL;
  }
  *count = be32(h + 4);
  if (rank == 3 && (be32(h + 8) != rows || be32(h + 12) != cols)) {
    fprintf(stderr, "%s: images are not %ux%u\n", path, rows, cols);
    fclose(f);
    return NULL;
  }
  return f;
}

/* Reads n samples: the pixels as they are to x (lenet5 takes bytes and
 * normalises them itself), labels to y. */
static int load(const char *ipath, const char *lpath, size_t n, uint8_t *x, int32_t *y) {
  uint32_t ni, nl;
  FILE *fi = open_idx(ipath, 3, 28, 28, &ni);
  if (!fi)
    return -1;
  FILE *fl = open_idx(lpath, 1, 0, 0, &nl);
  if (!fl) {
    fclose(fi);
    return -1;
  }
  int rc = -1;
  unsigned char *buf = malloc(n * SAMPLE);
  if (!buf) {
    fprintf(stderr, "out of memory\n");
  } else if (ni < n || nl < n) {
    fprintf(stderr, "%s/%s: %u images and %u labels, need %zu\n", ipath, lpath, ni, nl, n);
  } else if (fread(buf, SAMPLE, n, fi) != n) {
    fprintf(stderr, "%s: truncated pixels\n", ipath);
  } else {
    memcpy(x, buf, n * SAMPLE);
    if (fread(buf, 1, n, fl) != n) {
      fprintf(stderr, "%s: truncated labels\n", lpath);
    } else {
      rc = 0;
      for (size_t i = 0; i < n; i++) {
        y[i] = buf[i];
        if (buf[i] >= LENET5_NUM_CLASSES) {
          fprintf(stderr, "%s: label %u out of range\n", lpath, buf[i]);
          rc = -1;
        }
      }
    }
  }
  free(buf);
  fclose(fi);
  fclose(fl);
  return rc;
}

/* C11 aligned_alloc wants a size that is a multiple of the alignment. */
static size_t round_up(size_t bytes) {
  return (bytes + LENET5_STATE_ALIGN - 1) / LENET5_STATE_ALIGN * LENET5_STATE_ALIGN;
}

/* init(seed 1), steps consecutive batches in file order, one line per loss;
 * then predict on the first batch with the trained state. */
static int train(size_t steps, const uint8_t *x, const int32_t *y) {
  void *state = aligned_alloc(LENET5_STATE_ALIGN, round_up(LENET5_STATE_BYTES));
  void *work = aligned_alloc(LENET5_STATE_ALIGN, round_up(LENET5_WORK_BYTES));
  int rc = 1;
  if (!state || !work) {
    fprintf(stderr, "out of memory\n");
    goto done;
  }
  if (lenet5_init(state, 1) != 0) {
    fprintf(stderr, "lenet5_init failed\n");
    goto done;
  }
  for (size_t s = 0; s < steps; s++) {
#ifdef EPOCH_STEPS
    if (s % EPOCH_STEPS == 0) lenet5_set_epoch(state, (int)(s / EPOCH_STEPS));
#endif
    float loss = lenet5_train_step(state, work, x + s * BATCH * SAMPLE, y + s * BATCH, BATCH);
    printf("step %zu loss %.9g %a\n", s + 1, loss, (double)loss);
  }
  int32_t cls[BATCH];
  if (lenet5_predict(state, work, x, cls, BATCH) != 0) {
    fprintf(stderr, "lenet5_predict failed\n");
    goto done;
  }
  printf("classes");
  for (int i = 0; i < BATCH; i++)
    printf(" %d", (int)cls[i]);
  printf("\n");
  rc = 0;
done:
  free(state);
  free(work);
  return rc;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s IMAGES LABELS STEPS\n", argv[0]);
    return 2;
  }
  char *end;
  long steps = strtol(argv[3], &end, 10);
  if (*end || steps < 1 || steps > 1000) {
    fprintf(stderr, "%s: bad step count '%s'\n", argv[0], argv[3]);
    return 2;
  }
  size_t n = (size_t)steps * BATCH;
  uint8_t *x = malloc(n * SAMPLE * sizeof *x);
  int32_t *y = malloc(n * sizeof *y);
  int rc = 1;
  if (!x || !y)
    fprintf(stderr, "out of memory\n");
  else if (load(argv[1], argv[2], n, x, y) == 0)
    rc = train((size_t)steps, x, y);
  free(x);
  free(y);
  if (fflush(stdout) != 0 || ferror(stdout)) {
    perror("stdout");
    rc = 1;
  }
  return rc;
}
