/* gen_regdata: writes a small synthetic regression dataset in IDX form, for
 * the trainer tests (no python in the test suite):
 *   gen_regdata DIR NTRAIN NTEST [TDIM [SEED]]
 * DIR/{train,t10k}-images-idx3-ubyte: NTRAIN / NTEST images of 4x4 random
 * pixels (IDX u8); DIR/{train,t10k}-targets.idx: per image TDIM float32
 * targets (IDX 0x0D, big-endian), t = A x + b on the pixels normalised as
 * the trainer does by default, x = (p / 255 - 0.5) / 0.5, with A and b
 * drawn from SEED. A network that learns the map reaches a test loss near
 * 0; predicting the mean leaves the targets' variance (about 0.3 per
 * value). Exit status 0, or 1 with a message on an I/O error. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { SIDE = 4, PIXELS = SIDE * SIDE, MAX_TDIM = 16 };

static uint64_t next(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static double uniform(uint64_t *s) { return (double)(next(s) >> 11) * 0x1p-53; }

static int put_be32(FILE *f, uint32_t v) {
  unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                        (unsigned char)(v >> 8), (unsigned char)v};
  return fwrite(b, 1, 4, f) == 4 ? 0 : -1;
}

static FILE *create(const char *dir, const char *name) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f) perror(path);
  return f;
}

static int finish(FILE *f, const char *name) {
  int bad = ferror(f);
  if (fclose(f) != 0 || bad) {
    fprintf(stderr, "gen_regdata: cannot write %s\n", name);
    return -1;
  }
  return 0;
}

/* One split: images and targets of n samples. */
static int split(const char *dir, const char *prefix, long n, int tdim, const double *a,
                 const double *b, uint64_t *rng) {
  char iname[64], tname[64];
  snprintf(iname, sizeof iname, "%s-images-idx3-ubyte", prefix);
  snprintf(tname, sizeof tname, "%s-targets.idx", prefix);
  FILE *fi = create(dir, iname), *ft = create(dir, tname);
  if (!fi || !ft) {
    if (fi) fclose(fi);
    if (ft) fclose(ft);
    return -1;
  }
  int rc = fwrite("\0\0\x08\x03", 1, 4, fi) == 4 && put_be32(fi, (uint32_t)n) == 0 &&
                   put_be32(fi, SIDE) == 0 && put_be32(fi, SIDE) == 0 &&
                   fwrite("\0\0\x0d\x02", 1, 4, ft) == 4 && put_be32(ft, (uint32_t)n) == 0 &&
                   put_be32(ft, (uint32_t)tdim) == 0
               ? 0
               : -1;
  for (long s = 0; s < n && rc == 0; s++) {
    unsigned char px[PIXELS];
    double x[PIXELS];
    for (int i = 0; i < PIXELS; i++) {
      px[i] = (unsigned char)(next(rng) >> 56);
      x[i] = ((double)px[i] / 255.0 - 0.5) / 0.5;
    }
    if (fwrite(px, 1, PIXELS, fi) != PIXELS) rc = -1;
    for (int j = 0; j < tdim && rc == 0; j++) {
      double t = b[j];
      for (int i = 0; i < PIXELS; i++) t += a[j * PIXELS + i] * x[i];
      float v = (float)t;
      uint32_t bits;
      memcpy(&bits, &v, sizeof bits);
      rc = put_be32(ft, bits);
    }
  }
  if (finish(fi, iname) != 0) rc = -1;
  if (finish(ft, tname) != 0) rc = -1;
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 4 || argc > 6) {
    fprintf(stderr, "usage: gen_regdata DIR NTRAIN NTEST [TDIM [SEED]]\n");
    return 2;
  }
  long ntrain = atol(argv[2]), ntest = atol(argv[3]);
  int tdim = argc > 4 ? atoi(argv[4]) : 2;
  uint64_t rng = argc > 5 ? strtoull(argv[5], NULL, 10) : 1;
  if (ntrain < 1 || ntest < 1 || tdim < 1 || tdim > MAX_TDIM) {
    fprintf(stderr, "gen_regdata: bad sizes\n");
    return 2;
  }
  /* A's rows have norm ~1 over the 16 pixels, so targets stay O(1). */
  double a[MAX_TDIM * PIXELS], b[MAX_TDIM];
  for (int i = 0; i < tdim * PIXELS; i++) a[i] = (2 * uniform(&rng) - 1) * 0.4;
  for (int j = 0; j < tdim; j++) b[j] = 2 * uniform(&rng) - 1;
  if (mkdir(argv[1], 0777) != 0 && errno != EEXIST) {
    perror(argv[1]);
    return 1;
  }
  uint64_t data = rng ^ 0x5eedull;
  if (split(argv[1], "train", ntrain, tdim, a, b, &data) != 0 ||
      split(argv[1], "t10k", ntest, tdim, a, b, &data) != 0)
    return 1;
  return 0;
}
