/* math_ulp: the error of the loop IR's exp, log, cos and pow
 * (passes/expand_math.c, compiled by octoc from unary.loops and pow.loops)
 * in units in the last place, against the C library's double-precision
 * functions: exp, log and cos over f32 bit patterns 0, STRIDE, 2 STRIDE, ...
 * (STRIDE 1: every one of the 2^32 floats), pow over POW_SAMPLES pairs of
 * four kinds (see pow_pair).
 *   math_ulp STRIDE MAX_ULP POW_SAMPLES POW_MAX_ULP
 * Prints the largest error of each function and where it is; exit 1 when
 * one is above its limit, or a special value is wrong (NaN, inf, 0 where
 * the rounded reference is one).
 *   math_ulp --digest STRIDE POW_SAMPLES
 * Prints a hash (FNV-1a) of the bits of every result instead, one line per
 * function: built for another target, it must print the same lines
 * (tests/math/cross_bits.sh). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mathp.h"
#include "mathu.h"

enum { FNS = 3, CHUNK = MATHU_BATCH };

static const char *const names[FNS] = {"exp", "log", "cos"};

static double reference(int fn, float x) {
  switch (fn) {
  case 0: return exp((double)x);
  case 1: return log((double)x);
  default: return cos((double)x);
  }
}

static float from_bits(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

/* The spacing of floats at the rounded reference's magnitude (subnormal
 * spacing below 2^-126). */
static double ulp_at(float r) {
  int e;
  frexpf(fabsf(r), &e);
  return ldexp(1.0, (e - 24 < -149 ? -149 : e - 24));
}

/* The error of got in ulps; INFINITY for a wrong special value. */
static double ulp_error(float got, double want) {
  float r = (float)want;
  if (isnan(r)) return isnan(got) ? 0 : INFINITY;
  if (isinf(r) || isinf(got) || isnan(got)) return got == r ? 0 : INFINITY;
  return fabs((double)got - want) / ulp_at(r);
}

static uint64_t rng = 0x9E3779B97F4A7C15u;
static uint32_t next(void) { /* xorshift64* */
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return (uint32_t)((rng * UINT64_C(2685821657736338717)) >> 32);
}
static float uniform(float lo, float hi) { return lo + (hi - lo) * (float)(next() >> 8) * 0x1p-24f; }

/* Sample k's pair: 0: a in [2^-8, 2^8), b in [-16, 16); 1: any bits for
 * both (specials, overflow, underflow); 2: a in (-2, 2), b an integer in
 * [-200, 200]; 3: what the optimizers and schedules ask, a decay factor
 * (0.9, 0.999, 0.1, 0.5, ...) to an integer power up to 2^20. */
static void pow_pair(uint64_t k, float *a, float *b) {
  static const float decay[] = {0.9f, 0.999f, 0.1f, 0.5f, 0.95f, 0.99f, 0.9999f};
  switch (k % 4) {
  case 0: *a = from_bits(0x3B800000u + next() % (0x43800000u - 0x3B800000u));
          *b = uniform(-16, 16); break;
  case 1: *a = from_bits(next()); *b = from_bits(next()); break;
  case 2: *a = uniform(-2, 2); *b = (float)((int)(next() % 401) - 200); break;
  default: *a = decay[next() % 7]; *b = (float)(next() % (1u << 20)); break;
  }
}

static int check_pow(uint64_t samples, double limit, float *x, float *out, void *state,
                     void *work) {
  double worst = 0;
  float wa = 0, wb = 0;
  for (uint64_t k = 0; k < samples;) {
    int n = 0;
    for (; n < CHUNK && k < samples; n++, k++) pow_pair(k, &x[2 * n], &x[2 * n + 1]);
    if (mathp_predict(state, work, x, out, n) != 0) {
      fprintf(stderr, "math_ulp: pow predict failed\n");
      return 1;
    }
    for (int i = 0; i < n; i++) {
      double err = ulp_error(out[i], pow((double)x[2 * i], (double)x[2 * i + 1]));
      if (!(err <= worst)) {
        worst = err;
        wa = x[2 * i];
        wb = x[2 * i + 1];
      }
    }
  }
  printf("pow: max error %.3f ulp at (%a, %a) (%.9g, %.9g) over %llu pairs\n", worst,
         (double)wa, (double)wb, (double)wa, (double)wb, (unsigned long long)samples);
  return worst <= limit ? 0 : 1;
}

static uint64_t fnv(uint64_t h, float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  for (int i = 0; i < 4; i++) h = (h ^ ((u >> (8 * i)) & 0xFF)) * UINT64_C(0x100000001b3);
  return h;
}

/* The --digest mode: the same inputs, a hash of the outputs' bits. */
static int digest(uint64_t stride, uint64_t samples, float *x, float *out, void *state,
                  void *work) {
  uint64_t h[FNS + 1];
  for (int f = 0; f <= FNS; f++) h[f] = UINT64_C(0xcbf29ce484222325);
  for (uint64_t u = 0; u < (UINT64_C(1) << 32);) {
    int n = 0;
    for (; n < CHUNK && u < (UINT64_C(1) << 32); n++, u += stride) x[n] = from_bits((uint32_t)u);
    if (mathu_predict(state, work, x, out, n) != 0) return 1;
    for (int i = 0; i < n * FNS; i++) h[i % FNS] = fnv(h[i % FNS], out[i]);
  }
  for (uint64_t k = 0; k < samples;) {
    int n = 0;
    for (; n < CHUNK && k < samples; n++, k++) pow_pair(k, &x[2 * n], &x[2 * n + 1]);
    if (mathp_predict(state, work, x, out, n) != 0) return 1;
    for (int i = 0; i < n; i++) h[FNS] = fnv(h[FNS], out[i]);
  }
  for (int f = 0; f <= FNS; f++)
    printf("%s %016llx\n", f < FNS ? names[f] : "pow", (unsigned long long)h[f]);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "--digest") == 0) {
    static _Alignas(64) unsigned char work[MATHU_WORK_BYTES + 64], state[64];
    float *x = malloc(sizeof(float) * CHUNK * 2), *out = malloc(sizeof(float) * CHUNK * FNS);
    uint64_t stride = strtoull(argv[2], NULL, 10);
    int rc = !x || !out || stride == 0 ||
             digest(stride, strtoull(argv[3], NULL, 10), x, out, state, work);
    if (rc) fprintf(stderr, "math_ulp: --digest failed\n");
    free(x);
    free(out);
    return rc;
  }
  if (argc != 5) {
    fprintf(stderr, "usage: math_ulp STRIDE MAX_ULP POW_SAMPLES POW_MAX_ULP\n");
    return 2;
  }
  uint64_t stride = strtoull(argv[1], NULL, 10);
  double limit = strtod(argv[2], NULL);
  if (stride == 0) {
    fprintf(stderr, "math_ulp: STRIDE must be at least 1\n");
    return 2;
  }
  static _Alignas(64) unsigned char work[MATHU_WORK_BYTES + 64], state[64];
  float *x = malloc(sizeof(float) * CHUNK * 2), *out = malloc(sizeof(float) * CHUNK * FNS);
  if (!x || !out) {
    fprintf(stderr, "math_ulp: out of memory\n");
    return 1;
  }
  double worst[FNS] = {0};
  float worst_at[FNS] = {0};
  uint64_t count = 0;
  for (uint64_t u = 0; u < (UINT64_C(1) << 32);) {
    int n = 0;
    for (; n < CHUNK && u < (UINT64_C(1) << 32); n++, u += stride) x[n] = from_bits((uint32_t)u);
    if (mathu_predict(state, work, x, out, n) != 0) {
      fprintf(stderr, "math_ulp: predict failed\n");
      return 1;
    }
    for (int i = 0; i < n; i++)
      for (int f = 0; f < FNS; f++) {
        double err = ulp_error(out[i * FNS + f], reference(f, x[i]));
        if (!(err <= worst[f])) {
          worst[f] = err;
          worst_at[f] = x[i];
        }
      }
    count += (uint64_t)n;
  }
  int bad = 0;
  for (int f = 0; f < FNS; f++) {
    printf("%s: max error %.3f ulp at %a (%.9g) over %llu inputs\n", names[f], worst[f],
           (double)worst_at[f], (double)worst_at[f], (unsigned long long)count);
    if (!(worst[f] <= limit)) bad = 1;
  }
  if (check_pow(strtoull(argv[3], NULL, 10), strtod(argv[4], NULL), x, out, state, work) != 0)
    bad = 1;
  free(x);
  free(out);
  return bad;
}
