/* Test driver for the pooling and batch-norm lowerings: compiled together
 * with the C that octoc generated for one small model (network `m`, made by
 * run.sh), it sets the parameters through the tensor table, runs train_step
 * and predict, and compares against a naive double-precision reference:
 * the forward values, the loss, the gradients (work buffers and, with SGD
 * lr=1 momentum=0, the parameter updates), the saved batch statistics and
 * the running-statistics update.
 *
 * Usage: check KIND OFFSETS key=value...
 *   KIND     maxpool | avgpool | gap | bn
 *   OFFSETS  file of "name offset bytes" lines: the planned work buffers
 *   keys     c h w (h = w = 0: bn on [N,C]), kh kw sh sw ph pw, n, ties,
 *            eps, mom, infer (1: also check predict), noscale (1: bn
 *            directly on x, no scale layer: its dx is not computed), seed
 * The model is x -> scale -> OP -> [flatten] -> softmax_cross_entropy, so the
 * gradient of OP's input is the work buffer `s.grad` and the scale's
 * update is -sum(s.grad * x). */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "m.h"

typedef struct Args {
  const char *kind;
  int c, h, w, kh, kw, sh, sw, ph, pw, n, ties, infer, noscale;
  double eps, mom;
  unsigned seed;
} Args;

typedef struct Buf {
  char name[128];
  long off, bytes;
} Buf;

/* The run's context: the work-buffer plan, the failure count, the RNG. */
typedef struct Check {
  Buf bufs[512];
  int nbufs;
  int failures;
  unsigned rng;
} Check;

static void die(const char *msg, const char *what) {
  fprintf(stderr, "check: %s%s\n", msg, what ? what : "");
  exit(2);
}

static void read_offsets(Check *k, const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) die("cannot open ", path);
  while (k->nbufs < 512 && fscanf(f, "%127s %ld %ld", k->bufs[k->nbufs].name,
                                  &k->bufs[k->nbufs].off, &k->bufs[k->nbufs].bytes) == 3)
    k->nbufs++;
  if (ferror(f)) die("cannot read ", path);
  fclose(f);
}

static const Buf *lookup_buf(const Check *k, const char *name) {
  for (int i = 0; i < k->nbufs; i++)
    if (strcmp(k->bufs[i].name, name) == 0) return &k->bufs[i];
  return NULL;
}

static const Buf *find_buf(const Check *k, const char *name) {
  const Buf *b = lookup_buf(k, name);
  if (!b) die("no work buffer ", name);
  return b;
}

static float *state_tensor(unsigned char *state, const char *name) {
  for (int i = 0; m_tensors[i].name; i++)
    if (strcmp(m_tensors[i].name, name) == 0) return (float *)(state + m_tensors[i].offset);
  die("no state tensor ", name);
  return NULL;
}

static double uniform(Check *k, double lo, double hi) {
  k->rng = k->rng * 1664525u + 1013904223u;
  return lo + (hi - lo) * ((k->rng >> 8) / 16777216.0);
}

/* |got - ref| <= 1e-4 |ref| + 1e-5 max|ref| for every element. */
static void compare(Check *k, const char *what, const float *got, const double *ref, long count) {
  double maxabs = 0;
  for (long i = 0; i < count; i++) maxabs = fmax(maxabs, fabs(ref[i]));
  long bad = 0;
  for (long i = 0; i < count; i++) {
    double tol = 1e-4 * fabs(ref[i]) + 1e-5 * maxabs + 1e-7;
    if (!(fabs(got[i] - ref[i]) <= tol)) {
      if (bad < 5)
        fprintf(stderr, "FAIL %s[%ld]: got %.9g, expected %.9g\n", what, i, (double)got[i],
                ref[i]);
      bad++;
    }
  }
  if (bad) k->failures++;
  printf("%s %s (%ld values, max|ref| %.3g)\n", bad ? "FAIL" : "ok  ", what, count, maxabs);
}

static void compare1(Check *k, const char *what, float got, double ref) {
  compare(k, what, &got, &ref, 1);
}

/* A work buffer read after train_step: the planner may give bytes of it to
 * a buffer that a later kernel writes (lr, the scale's gradient), so those
 * elements are not compared (they take the reference value; the count is
 * printed). The rest must be intact. */
static float *work_copy(const Check *k, const unsigned char *work, const char *name, const double *ref,
                        long count) {
  static const char *const later[] = {"lr", "s.scale.grad"};
  const Buf *b = find_buf(k, name);
  float *out = malloc(sizeof(float) * (size_t)(count > 0 ? count : 1));
  if (!out) die("out of memory", NULL);
  memcpy(out, work + b->off, sizeof(float) * (size_t)count);
  long skipped = 0;
  for (int i = 0; i < 2; i++) {
    const Buf *o = lookup_buf(k, later[i]);
    if (!o) continue;
    for (long e = 0; e < count; e++) {
      long at = b->off + e * (long)sizeof(float);
      if (at < o->off + o->bytes && o->off < at + (long)sizeof(float)) {
        out[e] = (float)ref[e];
        skipped++;
      }
    }
  }
  if (skipped) printf("note %s: %ld element(s) reused by later kernels, not compared\n", name, skipped);
  return out;
}

/* compare() of a work buffer, through work_copy(). */
static void compare_work(Check *k, const char *what, const unsigned char *work, const char *name,
                         const double *ref, long count) {
  float *got = work_copy(k, work, name, ref, count);
  compare(k, what, got, ref, count);
  free(got);
}

/* --- the reference --- */

/* Mean softmax cross-entropy over n rows of k logits, and its gradient. */
static double ref_ce(const double *z, const int32_t *y, int n, int k, double *dz) {
  double loss = 0;
  for (int b = 0; b < n; b++) {
    const double *r = z + (long)b * k;
    double m = r[0], s = 0;
    for (int i = 1; i < k; i++) m = fmax(m, r[i]);
    for (int i = 0; i < k; i++) s += exp(r[i] - m);
    loss += log(s) + m - r[y[b]];
    for (int i = 0; i < k; i++)
      dz[(long)b * k + i] = (exp(r[i] - m) / s - (i == y[b])) / n;
  }
  return loss / n;
}

typedef struct Geo {
  int c, h, w, oh, ow;
} Geo;

/* Pool forward (max: first maximum; avg: padded zeros count) and, when dy
 * is given, its gradient into dx. */
static void ref_pool(const Args *a, const Geo *g, int n, const double *x, double *y,
                     const double *dy, double *dx) {
  bool is_max = strcmp(a->kind, "maxpool") == 0;
  if (dx) memset(dx, 0, sizeof(double) * (size_t)n * g->c * g->h * g->w);
  for (long p = 0; p < (long)n * g->c; p++)
    for (int oh = 0; oh < g->oh; oh++)
      for (int ow = 0; ow < g->ow; ow++) {
        double acc = is_max ? -INFINITY : 0;
        long arg = -1;
        for (int i = 0; i < a->kh; i++)
          for (int j = 0; j < a->kw; j++) {
            int ih = oh * a->sh - a->ph + i, iw = ow * a->sw - a->pw + j;
            if (ih < 0 || ih >= g->h || iw < 0 || iw >= g->w) continue;
            long at = (p * g->h + ih) * g->w + iw;
            if (!is_max) {
              acc += x[at];
              if (dx) dx[at] += dy[(p * g->oh + oh) * g->ow + ow] / (a->kh * a->kw);
            } else if (arg < 0 || x[at] > acc) {
              acc = x[at];
              arg = at;
            }
          }
        long o = (p * g->oh + oh) * g->ow + ow;
        y[o] = is_max ? acc : acc / (a->kh * a->kw);
        if (dx && is_max) dx[arg] += dy[o];
      }
}

static void ref_gap(const Geo *g, int n, const double *x, double *y, const double *dy,
                    double *dx) {
  long hw = (long)g->h * g->w;
  for (long p = 0; p < (long)n * g->c; p++) {
    double s = 0;
    for (long i = 0; i < hw; i++) s += x[p * hw + i];
    y[p] = s / hw;
    if (dx)
      for (long i = 0; i < hw; i++) dx[p * hw + i] = dy[p] / hw;
  }
}

/* --- the runs --- */

typedef struct Run {
  Check *k;
  Args a;
  Geo g;
  long in_numel, out_numel; /* per sample */
  unsigned char *state, *work;
  float *x;
  int32_t *y;
  double *sx;               /* x * scale, as the model computes it in f32 */
  float scale;
} Run;

static void setup(Run *r) {
  r->state = aligned_alloc(64, M_STATE_BYTES ? (M_STATE_BYTES + 63) / 64 * 64 : 64);
  r->work = aligned_alloc(64, M_WORK_BYTES ? (M_WORK_BYTES + 63) / 64 * 64 : 64);
  r->x = malloc(sizeof(float) * M_BATCH * r->in_numel);
  r->y = malloc(sizeof(int32_t) * M_BATCH);
  r->sx = malloc(sizeof(double) * M_BATCH * r->in_numel);
  if (!r->state || !r->work || !r->x || !r->y || !r->sx) die("out of memory", NULL);
  if (m_init(r->state, 7) != 0) die("init failed", NULL);
  memset(r->work, 0xff, M_WORK_BYTES); /* NaN: nothing may rely on zeroed work */
  r->scale = (float)uniform(r->k, 0.6, 1.4);
  if (r->a.ties || r->a.noscale) r->scale = 1.0f;
  if (!r->a.noscale) *state_tensor(r->state, "s.scale") = r->scale;
  for (long i = 0; i < M_BATCH * r->in_numel; i++) {
    /* ties: few distinct values, so windows hold equal maxima */
    r->x[i] = r->a.ties ? (float)((int)uniform(r->k, 0, 3) * 0.5) : (float)uniform(r->k, -2, 2);
    if (strcmp(r->a.kind, "bn") == 0) r->x[i] += 3.0f; /* a mean to subtract */
    r->sx[i] = (double)(r->x[i] * r->scale);
  }
}

static void random_labels(Run *r, int k) {
  for (int b = 0; b < M_BATCH; b++) r->y[b] = (int32_t)uniform(r->k, 0, k);
}

/* scale update with lr=1: -sum(dsx * x) over the n samples. The sum may
 * cancel (batch-norm makes the loss scale-invariant, so it is ~0), so the
 * tolerance is relative to sum |dsx * x|, the float rounding it can carry. */
static void check_scale(Run *r, const double *dsx) {
  double ds = 0, mag = 0;
  for (long i = 0; i < r->a.n * r->in_numel; i++) {
    ds += dsx[i] * r->x[i];
    mag += fabs(dsx[i] * r->x[i]);
  }
  double got = *state_tensor(r->state, "s.scale") - r->scale;
  bool ok = fabs(got + ds) <= 1e-4 * fabs(ds) + 1e-5 * mag + 1e-7;
  if (!ok) {
    fprintf(stderr, "FAIL scale update: got %.9g, expected %.9g (sum |terms| %.3g)\n", got, -ds,
            mag);
    r->k->failures++;
  }
  printf("%s scale update (-sum dx*x = %.3g, sum |terms| %.3g)\n", ok ? "ok  " : "FAIL", -ds,
         mag);
}

static void run_pool(Run *r) {
  const Args *a = &r->a;
  bool gap = strcmp(a->kind, "gap") == 0;
  Geo *g = &r->g;
  int n = a->n;
  long k = r->out_numel;
  double *z = calloc((size_t)M_BATCH * k, sizeof(double));
  double *dz = calloc((size_t)M_BATCH * k, sizeof(double));
  double *dsx = calloc((size_t)M_BATCH * r->in_numel, sizeof(double));
  if (!z || !dz || !dsx) die("out of memory", NULL);
  random_labels(r, (int)k);
  if (gap) ref_gap(g, n, r->sx, z, NULL, NULL);
  else ref_pool(a, g, n, r->sx, z, NULL, NULL);
  double loss = ref_ce(z, r->y, n, (int)k, dz);
  if (gap) ref_gap(g, n, r->sx, z, dz, dsx);
  else ref_pool(a, g, n, r->sx, z, dz, dsx);

  float got = m_train_step(r->state, r->work, r->x, r->y, n);
  compare1(r->k, "loss", got, loss);
  compare_work(r->k, "dx (s.grad)", r->work, "s.grad", dsx, n * r->in_numel);
  check_scale(r, dsx);

  /* predict with the updated scale: the logits are the pooled values */
  float s2 = *state_tensor(r->state, "s.scale");
  for (long i = 0; i < n * r->in_numel; i++) r->sx[i] = (double)(r->x[i] * s2);
  if (gap) ref_gap(g, n, r->sx, z, NULL, NULL);
  else ref_pool(a, g, n, r->sx, z, NULL, NULL);
  int32_t cls[M_BATCH];
  memset(r->work, 0xff, M_WORK_BYTES);
  if (m_predict(r->state, r->work, r->x, cls, n) != 0) die("predict failed", NULL);
  compare(r->k, "forward (predict logits)", (const float *)(r->work + find_buf(r->k, "p")->off), z, n * k);
  free(z);
  free(dz);
  free(dsx);
}

/* Batch-norm reference over x [n, C, hw]: training forward and backward. */
typedef struct BnRef {
  double *y, *mean, *invstd, *rm, *rv, *dx, *dg, *db;
} BnRef;

static void ref_bn(const Run *r, const float *gamma, const float *beta, const float *rm,
                   const float *rv, BnRef *o, const double *dy) {
  int c = r->g.c, n = r->a.n;
  long hw = r->in_numel / c;
  double m_count = (double)n * hw;
  for (int ch = 0; ch < c; ch++) {
    double s = 0, sq = 0;
    for (int b = 0; b < n; b++)
      for (long i = 0; i < hw; i++) s += r->sx[((long)b * c + ch) * hw + i];
    double mean = s / m_count;
    for (int b = 0; b < n; b++)
      for (long i = 0; i < hw; i++) {
        double d = r->sx[((long)b * c + ch) * hw + i] - mean;
        sq += d * d;
      }
    double var = sq / m_count, inv = 1 / sqrt(var + r->a.eps);
    o->mean[ch] = mean;
    o->invstd[ch] = inv;
    o->rm[ch] = (1 - r->a.mom) * rm[ch] + r->a.mom * mean;
    o->rv[ch] = (1 - r->a.mom) * rv[ch] + r->a.mom * var * m_count / (m_count - 1);
    double db = 0, dg = 0;
    for (int b = 0; b < n; b++)
      for (long i = 0; i < hw; i++) {
        long at = ((long)b * c + ch) * hw + i;
        double xh = (r->sx[at] - mean) * inv;
        o->y[at] = gamma[ch] * xh + beta[ch];
        if (dy) {
          db += dy[at];
          dg += dy[at] * xh;
        }
      }
    o->db[ch] = db;
    o->dg[ch] = dg;
    if (!dy) continue;
    for (int b = 0; b < n; b++)
      for (long i = 0; i < hw; i++) {
        long at = ((long)b * c + ch) * hw + i;
        double xh = (r->sx[at] - mean) * inv;
        o->dx[at] = gamma[ch] * inv / m_count * (m_count * dy[at] - db - xh * dg);
      }
  }
}

static double *dalloc(long count) {
  double *p = calloc((size_t)(count > 0 ? count : 1), sizeof(double));
  if (!p) die("out of memory", NULL);
  return p;
}

static void run_bn(Run *r) {
  int c = r->g.c, n = r->a.n;
  long k = r->in_numel, total = (long)M_BATCH * k;
  float *gamma = state_tensor(r->state, "h.gamma"), *beta = state_tensor(r->state, "h.beta");
  float *rm = state_tensor(r->state, "h.running_mean");
  float *rv = state_tensor(r->state, "h.running_var");
  float g0[c], b0[c], rm0[c], rv0[c];
  for (int i = 0; i < c; i++) {
    g0[i] = gamma[i] = (float)uniform(r->k, 0.5, 1.5);
    b0[i] = beta[i] = (float)uniform(r->k, -0.5, 0.5);
    rm0[i] = rm[i] = (float)uniform(r->k, -1, 1);
    rv0[i] = rv[i] = (float)uniform(r->k, 0.5, 2);
  }
  random_labels(r, (int)k);
  BnRef o = {dalloc(total), dalloc(c), dalloc(c), dalloc(c), dalloc(c),
             dalloc(total), dalloc(c), dalloc(c)};
  double *dz = dalloc(total);
  ref_bn(r, g0, b0, rm0, rv0, &o, NULL);
  double loss = ref_ce(o.y, r->y, n, (int)k, dz);
  ref_bn(r, g0, b0, rm0, rv0, &o, dz);

  float got = m_train_step(r->state, r->work, r->x, r->y, n);
  compare1(r->k, "loss (train-mode forward)", got, loss);
  compare_work(r->k, "saved mean", r->work, "h.mean", o.mean, c);
  compare_work(r->k, "saved invstd", r->work, "h.invstd", o.invstd, c);
  compare(r->k, "running_mean", rm, o.rm, c);
  compare(r->k, "running_var", rv, o.rv, c);
  float dgot[c], bgot[c];
  double dref[c], bref[c];
  for (int i = 0; i < c; i++) {
    dgot[i] = gamma[i] - g0[i];
    bgot[i] = beta[i] - b0[i];
    dref[i] = -o.dg[i];
    bref[i] = -o.db[i];
  }
  compare(r->k, "gamma update (-dgamma)", dgot, dref, c);
  compare(r->k, "beta update (-dbeta)", bgot, bref, c);
  if (!r->a.noscale) {
    compare_work(r->k, "dx (s.grad)", r->work, "s.grad", o.dx, n * k);
    check_scale(r, o.dx);
  }

  if (r->a.infer) {
    /* predict: running statistics and the updated gamma, beta, scale */
    float s2 = r->a.noscale ? 1.0f : *state_tensor(r->state, "s.scale");
    double *ref = dalloc(total);
    long hw = k / c;
    for (long i = 0; i < n * k; i++) {
      int ch = (int)((i / hw) % c);
      double sx = (double)(r->x[i] * s2);
      ref[i] = gamma[ch] * (sx - rm[ch]) / sqrt(rv[ch] + r->a.eps) + beta[ch];
    }
    int32_t cls[M_BATCH];
    memset(r->work, 0xff, M_WORK_BYTES);
    if (m_predict(r->state, r->work, r->x, cls, n) != 0) die("predict failed", NULL);
    compare(r->k, "inference forward (predict logits)", (const float *)(r->work + find_buf(r->k, "h")->off),
            ref, n * k);
    free(ref);
  }
  double *all[] = {o.y, o.mean, o.invstd, o.rm, o.rv, o.dx, o.dg, o.db, dz};
  for (int i = 0; i < 9; i++) free(all[i]);
}

static int arg_int(const char *kv, const char *key, int *out) {
  size_t len = strlen(key);
  if (strncmp(kv, key, len) != 0 || kv[len] != '=') return 0;
  *out = atoi(kv + len + 1);
  return 1;
}

static int arg_double(const char *kv, const char *key, double *out) {
  size_t len = strlen(key);
  if (strncmp(kv, key, len) != 0 || kv[len] != '=') return 0;
  *out = atof(kv + len + 1);
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 3) die("usage: check KIND OFFSETS key=value...", NULL);
  Check k = {0};
  Run r = {.k = &k};
  Args *a = &r.a;
  a->kind = argv[1];
  a->kh = a->kw = a->sh = a->sw = 1;
  a->n = M_BATCH;
  a->eps = 1e-5;
  a->mom = 0.1;
  int seed = 1;
  read_offsets(&k, argv[2]);
  for (int i = 3; i < argc; i++) {
    const char *kv = argv[i];
    if (!(arg_int(kv, "c", &a->c) || arg_int(kv, "h", &a->h) || arg_int(kv, "w", &a->w) ||
          arg_int(kv, "kh", &a->kh) || arg_int(kv, "kw", &a->kw) || arg_int(kv, "sh", &a->sh) ||
          arg_int(kv, "sw", &a->sw) || arg_int(kv, "ph", &a->ph) || arg_int(kv, "pw", &a->pw) ||
          arg_int(kv, "n", &a->n) || arg_int(kv, "ties", &a->ties) ||
          arg_int(kv, "infer", &a->infer) || arg_int(kv, "noscale", &a->noscale) || arg_int(kv, "seed", &seed) ||
          arg_double(kv, "eps", &a->eps) || arg_double(kv, "mom", &a->mom)))
      die("bad argument ", kv);
  }
  k.rng = (unsigned)seed;
  Geo *g = &r.g;
  g->c = a->c;
  g->h = a->h ? a->h : 1;
  g->w = a->w ? a->w : 1;
  g->oh = (g->h + 2 * a->ph - a->kh) / a->sh + 1;
  g->ow = (g->w + 2 * a->pw - a->kw) / a->sw + 1;
  r.in_numel = (long)g->c * g->h * g->w;
  bool gap = strcmp(a->kind, "gap") == 0, bn = strcmp(a->kind, "bn") == 0;
  r.out_numel = gap ? g->c : bn ? r.in_numel : (long)g->c * g->oh * g->ow;
  if (a->n < 1 || a->n > M_BATCH) die("n outside 1..batch", NULL);
  if (M_INPUT_SIZE != r.in_numel) die("model input size differs from c*h*w", NULL);
  setup(&r);
  printf("%s c=%d h=%d w=%d window %dx%d stride %dx%d pad %dx%d batch %d n %d\n", a->kind,
         g->c, a->h, a->w, a->kh, a->kw, a->sh, a->sw, a->ph, a->pw, M_BATCH, a->n);
  if (bn) run_bn(&r);
  else run_pool(&r);
  free(r.state);
  free(r.work);
  free(r.x);
  free(r.y);
  free(r.sx);
  return k.failures ? 1 : 0;
}
