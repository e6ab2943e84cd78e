/* Gradient checks of every op through the generated C (tests/gradcheck).
 *
 * Each model of models/ is compiled twice by octoc: the float trainer gives
 * the analytic gradients (plain SGD with lr 1, no momentum, no decay: one
 * train_step moves every parameter by minus its gradient), and the
 * --emit-real=double build of the same program is the reference: central
 * differences of the loss train_step returns (computed before the update),
 * each on a fresh copy of the double state. Both start from the same state
 * (the float init, widened), so they evaluate the same function at the same
 * point; dropout's mask depends only on the copied step counter.
 *
 * Also here: the double build equals the float build up to float rounding,
 * and NAME_set_epoch drives an epoch-based learning-rate schedule. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gc_model.h"

/* Per tensor, ‖g − g_ref‖ / ‖g_ref‖ must stay below this (the issue's
 * acceptance). Per element, |g − g_ref| / (|g_ref| + floor) must stay below
 * ELEM_TOL, where the floor (a fraction of the tensor's largest reference
 * gradient) keeps elements near zero from failing on float noise: the
 * analytic gradient w − w' carries an absolute error of about ulp(w). */
static const double NORM_TOL = 1e-3;
static const double ELEM_TOL = 1e-2;
static const double ELEM_FLOOR = 1e-3;
enum { MAX_SAMPLES = 200, BATCH = 4 };

typedef struct Case {
  const char *op;
  const char *file; /* in models/, network gc_<file stem> */
  /* LAC's L2 penalty of the model's compensation layers: their mu and beta
   * gradients are the loss's plus lambda times the parameter (the penalty is
   * not part of the loss train_step returns, like weight decay). */
  double lac_lambda;
} Case;

static const Case cases[] = {
    {"conv2d", "conv2d", 0},
    {"conv2d (padded input)", "conv2d_implicit", 0},
    {"conv2d (positions as rows)", "conv2d_transposed", 0},
    {"dense", "dense", 0},
    {"relu", "relu", 0},
    {"relu6", "relu6", 0},
    {"leaky_relu", "leaky_relu", 0},
    {"maxpool", "maxpool", 0},
    {"avgpool", "avgpool", 0},
    {"global_avgpool", "global_avgpool", 0},
    {"flatten", "flatten", 0},
    {"add", "add", 0},
    {"batchnorm", "batchnorm", 0},
    {"dropout", "dropout", 0},
    {"scale, bias", "scale_bias", 0},
    {"softmax_cross_entropy", "softmax_cross_entropy", 0},
    {"mse", "mse", 0},
    {"mse (float label)", "mse_label", 0},
    {"compensation (element)", "lac_element.ir", 0.1},
    {"compensation (channel)", "lac_channel.ir", 0.1},
};
enum { NCASES = sizeof cases / sizeof cases[0] };

/* splitmix64: seeded data, no global state. */
typedef struct Rng {
  uint64_t s;
} Rng;

static uint64_t rng_next(Rng *r) {
  uint64_t z = (r->s += UINT64_C(0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

static double rng_uniform(Rng *r) { return (double)(rng_next(r) >> 11) * 0x1p-53; }

/* A batch of inputs in [-1, 1) (as float and, the same values, as double)
 * and labels in [0, classes), or float targets in [-1, 1) for a regression
 * model with a label (tf/td, the same values). */
typedef struct Batch {
  float *xf;
  double *xd;
  int32_t y[BATCH];
  float *tf;
  double *td;
} Batch;

static void batch_make(Batch *b, const GcModel *m, uint64_t seed) {
  Rng r = {seed};
  size_t n = (size_t)m->batch * (size_t)m->input_size;
  b->xf = malloc(n * sizeof(float));
  b->xd = malloc(n * sizeof(double));
  ck_assert(b->xf && b->xd && m->batch <= BATCH);
  for (size_t i = 0; i < n; i++) {
    b->xf[i] = (float)(2 * rng_uniform(&r) - 1);
    b->xd[i] = b->xf[i];
  }
  for (int i = 0; i < BATCH; i++)
    b->y[i] = m->num_classes > 0 ? (int32_t)(rng_next(&r) % (uint64_t)m->num_classes) : 0;
  size_t nt = (size_t)m->batch * (size_t)m->label_size;
  b->tf = malloc((nt + 1) * sizeof(float));
  b->td = malloc((nt + 1) * sizeof(double));
  ck_assert(b->tf && b->td);
  for (size_t i = 0; i < nt; i++) {
    b->tf[i] = (float)(2 * rng_uniform(&r) - 1);
    b->td[i] = b->tf[i];
  }
}

static void batch_free(Batch *b) {
  free(b->xf);
  free(b->xd);
  free(b->tf);
  free(b->td);
}

/* A model file's stem: "lac_element" of "lac_element.ir". */
static size_t stem_length(const char *file) {
  const char *dot = strrchr(file, '.');
  return dot ? (size_t)(dot - file) : strlen(file);
}

/* file: a .net without its extension, or a graph .ir with it (for graphs
 * with nodes the .net language has no words for). */
static GcBuild build_of(const char *file, const char *dir, const char *tag) {
  const char *models = getenv("GC_MODELS");
  if (!models) models = "models";
  GcBuild b = {0};
  size_t n = strlen(models) + strlen(file) + 8;
  char *net = malloc(n), *prefix = malloc(strlen(file) + 4);
  ck_assert(net && prefix);
  /* strcat, not snprintf: gcc's -Wformat-truncation misfires here under
   * the sanitizers. */
  strcat(strcat(strcat(strcpy(net, models), "/"), file), strchr(file, '.') ? "" : ".net");
  strncat(strcpy(prefix, "gc_"), file, stem_length(file));
  b.net = net;
  b.prefix = prefix;
  b.dir = dir;
  b.tag = tag;
  b.batch = BATCH;
  return b;
}

static void build_free(GcBuild *b) {
  free((char *)b->net);
  free((char *)b->prefix);
}

/* Which elements of a tensor to check: all, or a seeded sample. */
static size_t sample(size_t numel, size_t *idx, Rng *r) {
  size_t *all = malloc(numel * sizeof(size_t));
  ck_assert(all);
  for (size_t i = 0; i < numel; i++) all[i] = i;
  size_t k = numel < MAX_SAMPLES ? numel : MAX_SAMPLES;
  for (size_t i = 0; i < k; i++) { /* partial Fisher-Yates */
    size_t j = i + (size_t)(rng_next(r) % (numel - i));
    size_t t = all[i];
    all[i] = all[j];
    all[j] = t;
    idx[i] = all[i];
  }
  free(all);
  return k;
}

/* The reference: (L(w+h) − L(w−h)) / 2h on fresh copies of the double
 * state, h relative to |w| (with a floor for zero-initialised biases). */
static double central_difference(const GcModel *d, const void *base, void *scratch,
                                 const GcTensor *t, size_t i, const Batch *b) {
  double w = gc_get(d, base, t, i);
  double h = 1e-6 * fmax(fabs(w), 0.1);
  double loss[2];
  for (int s = 0; s < 2; s++) {
    memcpy(scratch, base, d->state_bytes);
    gc_set(d, scratch, t, i, s == 0 ? w + h : w - h);
    loss[s] = gc_step(d, scratch, b->xf, b->xd, b->y, b->tf, b->td, d->batch);
  }
  return (loss[0] - loss[1]) / (2 * h);
}

typedef struct Errors {
  size_t checked;
  double ref_norm, rel_err, max_elem_err;
} Errors;

static Errors compare(const double *g, const double *ref, size_t n) {
  Errors e = {n, 0, 0, 0};
  double diff2 = 0, ref2 = 0, ref_max = 0;
  for (size_t i = 0; i < n; i++) {
    diff2 += (g[i] - ref[i]) * (g[i] - ref[i]);
    ref2 += ref[i] * ref[i];
    ref_max = fmax(ref_max, fabs(ref[i]));
  }
  e.ref_norm = sqrt(ref2);
  e.rel_err = ref2 > 0 ? sqrt(diff2 / ref2) : sqrt(diff2);
  for (size_t i = 0; i < n; i++)
    e.max_elem_err =
        fmax(e.max_elem_err, fabs(g[i] - ref[i]) / (fabs(ref[i]) + ELEM_FLOOR * ref_max + 1e-30));
  return e;
}

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* The compensation parameters the L2 penalty applies to. */
static bool is_lac_penalized(const char *name) {
  return ends_with(name, ".lac.mu") || ends_with(name, ".lac.beta");
}

/* Checks every parameter tensor of one model; prints one table row each. */
static void check_case(const Case *c) {
  char *dir = gc_tmpdir();
  ck_assert(dir);
  GcBuild b = build_of(c->file, dir, c->file);
  b.sets[0] = "optimizer.momentum=0";
  b.sets[1] = "optimizer.lr=1";
  b.sets[2] = "optimizer.weight_decay=0";
  GcModel f, d;
  ck_assert_msg(gc_build_pair(&b, &f, &d), "building %s failed", b.net);

  unsigned char *s0 = gc_alloc(f.state_bytes), *s1 = gc_alloc(f.state_bytes);
  ck_assert_int_eq(f.init(s0, 7), 0);
  memcpy(s1, s0, f.state_bytes);
  Batch data;
  batch_make(&data, &f, 11);
  double loss_f = gc_step(&f, s1, data.xf, data.xd, data.y, data.tf, data.td, f.batch);
  void *dbase = gc_alloc(d.state_bytes), *dscratch = gc_alloc(d.state_bytes);
  gc_widen_state(&f, s0, &d, dbase);
  memcpy(dscratch, dbase, d.state_bytes);
  double loss_d = gc_step(&d, dscratch, data.xf, data.xd, data.y, data.tf, data.td, d.batch);
  ck_assert_msg(fabs(loss_f - loss_d) <= 1e-5 * fmax(1, fabs(loss_d)),
                "%s: float loss %.9g, double loss %.9g", c->op, loss_f, loss_d);

  Rng r = {5};
  int nparams = 0;
  for (int k = 0; k < f.ntensors; k++) {
    const GcTensor *t = &f.tensors[k];
    if (t->role != 0 || t->dtype != 0) continue;
    nparams++;
    size_t numel = gc_numel(t), idx[MAX_SAMPLES];
    size_t n = sample(numel, idx, &r);
    double g[MAX_SAMPLES], ref[MAX_SAMPLES];
    for (size_t j = 0; j < n; j++) {
      g[j] = gc_get(&f, s0, t, idx[j]) - gc_get(&f, s1, t, idx[j]); /* lr 1: w − w' = g */
      ref[j] = central_difference(&d, dbase, dscratch, &d.tensors[k], idx[j], &data);
      if (is_lac_penalized(t->name)) ref[j] += c->lac_lambda * gc_get(&f, s0, t, idx[j]);
    }
    Errors e = compare(g, ref, n);
    printf("| %s | %s | %zu/%zu | %.3e | %.2e | %.2e |\n", c->op, t->name, n, numel, e.ref_norm,
           e.rel_err, e.max_elem_err);
    fflush(stdout);
    ck_assert_msg(e.ref_norm > 0, "%s: %s has no gradient at all (dead model?)", c->op, t->name);
    ck_assert_msg(e.rel_err < NORM_TOL, "%s: %s: relative error %.3g >= %g", c->op, t->name,
                  e.rel_err, NORM_TOL);
    ck_assert_msg(e.max_elem_err < ELEM_TOL, "%s: %s: element error %.3g >= %g", c->op, t->name,
                  e.max_elem_err, ELEM_TOL);
  }
  ck_assert_msg(nparams > 0, "%s: no parameters to check", c->op);
  free(s0);
  free(s1);
  free(dbase);
  free(dscratch);
  batch_free(&data);
  gc_close(&f);
  gc_close(&d);
  build_free(&b);
  gc_rmdir(dir);
  free(dir);
}

START_TEST(analytic_gradients_match_double_central_differences) { check_case(&cases[_i]); }
END_TEST

/* ---- the double build ------------------------------------------------ */

static double tensor_max_abs(const GcModel *m, const void *s, const GcTensor *t) {
  double mx = 0;
  for (size_t i = 0; i < gc_numel(t); i++) mx = fmax(mx, fabs(gc_get(m, s, t, i)));
  return mx;
}

/* Largest |a − b| over an f32 tensor, relative to the tensor's magnitude. */
static double tensor_rel_diff(const GcModel *f, const void *sf, const GcModel *d, const void *sd,
                              int k) {
  const GcTensor *tf = &f->tensors[k], *td = &d->tensors[k];
  double diff = 0, scale = fmax(tensor_max_abs(d, sd, td), 1e-3);
  for (size_t i = 0; i < gc_numel(tf); i++)
    diff = fmax(diff, fabs(gc_get(f, sf, tf, i) - gc_get(d, sd, td, i)));
  return diff / scale;
}

START_TEST(double_build_matches_float_build_up_to_float_rounding) {
  char *dir = gc_tmpdir();
  ck_assert(dir);
  GcBuild b = build_of("mixed", dir, "mixed"); /* the default recipe: momentum 0.9 */
  GcModel f, d;
  ck_assert(gc_build_pair(&b, &f, &d));
  /* The layout: every size and offset doubled, the same rows. */
  ck_assert_uint_eq(d.state_bytes, 2 * f.state_bytes);
  ck_assert_uint_eq(d.work_bytes, 2 * f.work_bytes);
  ck_assert_int_eq(d.ntensors, f.ntensors);
  for (int k = 0; k < f.ntensors; k++) {
    ck_assert_str_eq(d.tensors[k].name, f.tensors[k].name);
    ck_assert_uint_eq(d.tensors[k].offset, 2 * f.tensors[k].offset);
    ck_assert_uint_eq(d.tensors[k].bytes, 2 * f.tensors[k].bytes);
  }
  void *sf = gc_alloc(f.state_bytes), *sd = gc_alloc(d.state_bytes);
  ck_assert_int_eq(f.init(sf, 3), 0);
  ck_assert_int_eq(d.init(sd, 3), 0);
  /* init is the same function: equal up to the float rounding of its result. */
  for (int k = 0; k < f.ntensors; k++)
    if (f.tensors[k].dtype == 0)
      ck_assert_msg(tensor_rel_diff(&f, sf, &d, sd, k) < 1e-6, "init of %s differs",
                    f.tensors[k].name);
  /* Training from one state: losses and every tensor agree to float rounding. */
  gc_widen_state(&f, sf, &d, sd);
  for (int step = 0; step < 5; step++) {
    Batch data;
    batch_make(&data, &f, 100 + (uint64_t)step);
    double lf = gc_step(&f, sf, data.xf, data.xd, data.y, data.tf, data.td, f.batch);
    double ld = gc_step(&d, sd, data.xf, data.xd, data.y, data.tf, data.td, d.batch);
    ck_assert_msg(isfinite(ld) && fabs(lf - ld) <= 1e-5 * fmax(1, fabs(ld)),
                  "step %d: float loss %.9g, double loss %.9g", step, lf, ld);
    batch_free(&data);
  }
  for (int k = 0; k < f.ntensors; k++) {
    const GcTensor *tf = &f.tensors[k], *td = &d.tensors[k];
    if (tf->dtype == 0)
      ck_assert_msg(tensor_rel_diff(&f, sf, &d, sd, k) < 1e-4, "%s differs after 5 steps",
                    tf->name);
    else
      ck_assert_msg(memcmp((char *)sf + tf->offset, (char *)sd + td->offset, tf->bytes) == 0,
                    "integer tensor %s differs", tf->name);
  }
  /* A bad call still returns NaN in the double API. */
  ck_assert(isnan(d.step_d(sd, d.work, NULL, NULL, 1)));
  free(sf);
  free(sd);
  gc_close(&f);
  gc_close(&d);
  build_free(&b);
  gc_rmdir(dir);
  free(dir);
}
END_TEST

/* ---- set_epoch ------------------------------------------------------- */

/* Each parameter's change over one step from s0 at the given epoch. */
static size_t step_delta(const GcModel *m, const void *s0, int epoch, const Batch *data,
                         double *delta, size_t cap) {
  unsigned char *s = gc_alloc(m->state_bytes);
  memcpy(s, s0, m->state_bytes);
  m->set_epoch(s, epoch);
  gc_step(m, s, data->xf, data->xd, data->y, data->tf, data->td, m->batch);
  size_t n = 0;
  for (int k = 0; k < m->ntensors; k++) {
    const GcTensor *t = &m->tensors[k];
    if (t->role != 0 || t->dtype != 0) continue;
    for (size_t i = 0; i < gc_numel(t) && n < cap; i++)
      delta[n++] = gc_get(m, s0, t, i) - gc_get(m, s, t, i);
  }
  free(s);
  return n;
}

static bool text_has(const char *path, const char *needle) {
  FILE *f = fopen(path, "r");
  if (!f) return false;
  char buf[1 << 14];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = 0;
  fclose(f);
  return strstr(buf, needle) != NULL;
}

static void emit_main_c(const GcBuild *b, const char *out, const char *extra) {
  char *argv[] = {getenv("OCTOC") ? getenv("OCTOC") : "octoc", (char *)b->net, "--emit=c",
                  "--main", "-o", (char *)out, extra ? "--set" : NULL, (char *)extra, NULL};
  ck_assert(gc_run(argv));
}

START_TEST(set_epoch_halves_the_update_with_a_step_schedule) {
  char *dir = gc_tmpdir();
  ck_assert(dir);
  GcBuild b = build_of("dense", dir, "sched");
  b.sets[0] = "optimizer.momentum=0";
  b.sets[1] = "optimizer.lr=0.5";
  b.sets[2] = "lr_schedule.type=step";
  b.sets[3] = "lr_schedule.step_epochs=1";
  b.sets[4] = "lr_schedule.gamma=0.5";
  GcModel m;
  ck_assert(gc_build_one(&b, false, &m));
  ck_assert_msg(m.set_epoch != NULL, "no gc_dense_set_epoch with a step schedule");
  void *s0 = gc_alloc(m.state_bytes);
  ck_assert_int_eq(m.init(s0, 9), 0);
  Batch data;
  batch_make(&data, &m, 21);
  enum { CAP = 256 };
  double d0[CAP], d1[CAP], d2[CAP];
  size_t n = step_delta(&m, s0, 0, &data, d0, CAP);
  ck_assert_uint_eq(step_delta(&m, s0, 1, &data, d1, CAP), n);
  ck_assert_uint_eq(step_delta(&m, s0, 2, &data, d2, CAP), n);
  double n0 = 0, e1 = 0, e2 = 0;
  for (size_t i = 0; i < n; i++) {
    n0 += d0[i] * d0[i];
    e1 += (d1[i] - 0.5 * d0[i]) * (d1[i] - 0.5 * d0[i]);
    e2 += (d2[i] - 0.25 * d0[i]) * (d2[i] - 0.25 * d0[i]);
  }
  ck_assert(n0 > 0);
  ck_assert_msg(sqrt(e1 / n0) < 1e-4, "epoch 1 is not half of epoch 0 (%g)", sqrt(e1 / n0));
  ck_assert_msg(sqrt(e2 / n0) < 1e-4, "epoch 2 is not a quarter of epoch 0 (%g)", sqrt(e2 / n0));
  /* The standalone trainer gets it through OctoModel.set_epoch; a constant
   * schedule has none. */
  char *with = malloc(strlen(dir) + 16), *without = malloc(strlen(dir) + 16);
  ck_assert(with && without);
  sprintf(with, "%s/with.c", dir);
  sprintf(without, "%s/without.c", dir);
  emit_main_c(&b, with, "lr_schedule.type=step");
  emit_main_c(&b, without, NULL);
  sprintf(with, "%s/with_main.c", dir);
  sprintf(without, "%s/without_main.c", dir);
  ck_assert(text_has(with, ".set_epoch = gc_dense_set_epoch,"));
  ck_assert(text_has(without, ".set_epoch = NULL,"));
  sprintf(without, "%s/without.h", dir);
  ck_assert(!text_has(without, "set_epoch"));
  free(with);
  free(without);
  free(s0);
  batch_free(&data);
  gc_close(&m);
  build_free(&b);
  gc_rmdir(dir);
  free(dir);
}
END_TEST

/* ---- range_clip: its bounds, values and straight-through mask --------- */

/* A regression model p = dense(x) -> compensation -> range_clip -> mse,
 * with p.weight set to the identity so the clip sees x: the 32 integers
 * x[i] = (5 i mod 13) - 4 in [-4, 8] (min -4, max 8, sum 64, sum of squares
 * 598), targets 0.25. The expected loss and beta gradient are worked out
 * here from the range found by hand. */
enum { CLIP_N = 4, CLIP_D = 8 };

typedef struct ClipCase {
  const char *file;
  double lo, hi; /* the range worked out by hand */
} ClipCase;

/* scale, p = 0.5: [0.5 * -4, 0.5 * 8]. sigma, z = 1: sum of squares of x is
 * 598, so the variance is 598/32 - 2^2 = 14.6875 and sd = 3.83243 (to 6
 * digits): [2 - 3.83243, 2 + 3.83243]. */
static const ClipCase clip_cases[] = {
    {"clip_scale.ir", -2.0, 4.0},
    {"clip_sigma.ir", 2.0 - 3.8324274291889730, 2.0 + 3.8324274291889730},
};

static void check_clip(const ClipCase *cc) {
  char *dir = gc_tmpdir();
  ck_assert(dir);
  GcBuild b = build_of(cc->file, dir, "clip");
  b.sets[0] = "optimizer.momentum=0";
  b.sets[1] = "optimizer.lr=1";
  b.sets[2] = "optimizer.weight_decay=0";
  GcModel m;
  ck_assert_msg(gc_build_one(&b, false, &m), "building %s failed", b.net);
  ck_assert_int_eq(m.batch, CLIP_N);
  unsigned char *s0 = gc_alloc(m.state_bytes), *s1 = gc_alloc(m.state_bytes);
  ck_assert_int_eq(m.init(s0, 7), 0);
  /* p = identity(x): the clip sees x (alpha 1, mu 0, beta 0 from init) */
  const GcTensor *w = gc_tensor(&m, "p.weight"), *beta = gc_tensor(&m, "p.lac.beta");
  ck_assert(w && beta && gc_tensor(&m, "p.lac.mu"));
  for (int i = 0; i < CLIP_D; i++)
    for (int j = 0; j < CLIP_D; j++) gc_set(&m, s0, w, (size_t)(i * CLIP_D + j), i == j);
  memcpy(s1, s0, m.state_bytes);
  float x[CLIP_N * CLIP_D], t[CLIP_N * CLIP_D];
  double sum = 0, sq = 0, mn = 1e9, mx = -1e9;
  for (int i = 0; i < CLIP_N * CLIP_D; i++) {
    x[i] = (float)((5 * i) % 13 - 4);
    t[i] = 0.25f;
    sum += x[i];
    sq += (double)x[i] * x[i];
    mn = fmin(mn, x[i]);
    mx = fmax(mx, x[i]);
  }
  /* the hand-worked figures are those of the data */
  ck_assert(mn == -4 && mx == 8 && sum == 64 && sq == 598);
  double loss = gc_step(&m, s1, x, NULL, NULL, t, NULL, CLIP_N);
  /* expected: y = clip(x), loss = mean (y - t)^2, dbeta = sum over the
   * batch of [lo <= x <= hi] * 2 (y - t) / (N D) */
  double want_loss = 0, dbeta[CLIP_D] = {0};
  int below = 0, above = 0;
  for (int i = 0; i < CLIP_N * CLIP_D; i++) {
    double y = fmin(fmax(x[i], cc->lo), cc->hi);
    below += x[i] < cc->lo;
    above += x[i] > cc->hi;
    want_loss += (y - t[i]) * (y - t[i]) / (CLIP_N * CLIP_D);
    if (x[i] >= cc->lo && x[i] <= cc->hi) dbeta[i % CLIP_D] += 2 * (y - t[i]) / (CLIP_N * CLIP_D);
  }
  ck_assert_msg(below > 0 && above > 0, "%s: the data must be clipped on both sides", cc->file);
  printf("| range_clip %s | [%.6g, %.6g] | %d below, %d above | loss %.9g (want %.9g) |\n",
         cc->file, cc->lo, cc->hi, below, above, loss, want_loss);
  ck_assert_msg(fabs(loss - want_loss) <= 1e-5 * want_loss, "%s: loss %.9g, want %.9g",
                cc->file, loss, want_loss);
  for (int k = 0; k < CLIP_D; k++) {
    double g = gc_get(&m, s0, beta, (size_t)k) - gc_get(&m, s1, beta, (size_t)k);
    ck_assert_msg(fabs(g - dbeta[k]) <= 1e-5, "%s: dbeta[%d] = %.9g, want %.9g (mask)",
                  cc->file, k, g, dbeta[k]);
  }
  free(s0);
  free(s1);
  gc_close(&m);
  build_free(&b);
  gc_rmdir(dir);
  free(dir);
}

START_TEST(range_clip_bounds_values_and_straight_through_mask) { check_clip(&clip_cases[_i]); }
END_TEST

static Suite *gradcheck_suite(void) {
  Suite *s = suite_create("gradcheck");
  for (int i = 0; i < NCASES; i++) {
    /* One case per op, named for it: CK_RUN_CASE=batchnorm runs one. */
    char *name = strndup(cases[i].file, stem_length(cases[i].file));
    if (!name) abort();
    TCase *tc = tcase_create(name); /* Check keeps the pointer */
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, analytic_gradients_match_double_central_differences, i, i + 1);
    suite_add_tcase(s, tc);
  }
  TCase *dbl = tcase_create("double_build");
  tcase_set_timeout(dbl, 120);
  tcase_add_test(dbl, double_build_matches_float_build_up_to_float_rounding);
  suite_add_tcase(s, dbl);
  TCase *clip = tcase_create("range_clip");
  tcase_set_timeout(clip, 120);
  tcase_add_loop_test(clip, range_clip_bounds_values_and_straight_through_mask, 0,
                      (int)(sizeof clip_cases / sizeof clip_cases[0]));
  suite_add_tcase(s, clip);
  TCase *ep = tcase_create("set_epoch");
  tcase_set_timeout(ep, 120);
  tcase_add_test(ep, set_epoch_halves_the_update_with_a_step_schedule);
  suite_add_tcase(s, ep);
  return s;
}

int main(void) {
  printf("| op | tensor | checked | ‖g_ref‖ | rel. error | max element error |\n"
         "|---|---|---|---|---|---|\n");
  SRunner *sr = srunner_create(gradcheck_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
