/* The conformance suite: what every backend must compute. Each hand-built
 * loop-IR program of programs.c is printed as loop-IR text and compiled by
 * octoc itself (`octoc t.loops $OCTO_CONFORMANCE_BACKEND -o t.o`, which also
 * writes t.h); the generic driver (driver.c) is linked with the object, run
 * on a script, and its output compared with references computed here: exact
 * for integer kernels and the API's edge cases, a tolerance for float maths
 * that goes through libm. The suite knows no backend; the environment says
 * how to build (docs/conformance.md):
 *
 *   OCTOC                       the octoc to run
 *   OCTO_CONFORMANCE_BACKEND    octoc options that select the backend
 *   OCTO_CONFORMANCE_CC         optional: octoc writes t.c, and this compiler
 *                               command makes t.o (C-backend variants)
 *   OCTO_CONFORMANCE_LINK       links the driver with t.o (default: cc)
 *   OCTO_CONFORMANCE_RUN        optional: runs the driver (e.g. qemu-arm -L ..)
 *
 * A tool named by one of them that is not installed makes the whole run a
 * skip (exit 77), never a pass. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "expand_math.h"
#include "lprog_hash.h"
#include "harness.h"
#include "loop_printer.h"
#include "programs.h"

#ifndef DRIVER_C
#error "DRIVER_C must name tests/conformance/driver.c"
#endif

/* How this run builds and runs a program: from the environment. */
typedef struct Config {
  const char *octoc, *backend, *cc, *link, *runner;
  char *root; /* this run's scratch folder */
} Config;

static Config config;

static const char *env_or(const char *name, const char *fallback) {
  const char *v = getenv(name);
  return v && *v ? v : fallback;
}

/* Builds p (named "t") in the folder `name` under the run's root: t.loops,
 * then octoc's t.o and t.h (or t.c compiled by OCTO_CONFORMANCE_CC), then
 * the driver linked with it as `run`. Returns the folder. The programs are
 * deterministic, so a program that an earlier test of this run built is not
 * built again (the root is new for every run). */
static const char *build_program(Arena *a, LProgram *p, const char *name) {
  const char *dir = arena_printf(a, "%s/%s", config.root, name);
  char *exe = fmt("%s/run", dir);
  bool built = access(exe, X_OK) == 0;
  free(exe);
  if (built) return dir;
  dir = fresh_dir(a, config.root, name);
  char *loops = fmt("%s/t.loops", dir);
  FILE *f = fopen(loops, "w");
  ck_assert_ptr_nonnull(f);
  lprog_print(f, p);
  ck_assert_int_eq(fclose(f), 0);
  char *compile = config.cc
      ? fmt("'%s' '%s' %s -o '%s/t.c' && %s -c '%s/t.c' -o '%s/t.o'", config.octoc, loops,
            config.backend, dir, config.cc, dir, dir)
      : fmt("'%s' '%s' %s -o '%s/t.o'", config.octoc, loops, config.backend, dir);
  ck_assert_msg(sh(compile) == 0, "failed: %s", compile);
  char *link = fmt("%s -std=c11 -O1 -I'%s' '" DRIVER_C "' '%s/t.o' -o '%s/run' -lm", config.link,
                   dir, dir, dir);
  ck_assert_msg(sh(link) == 0, "failed: %s", link);
  free(loops);
  free(compile);
  free(link);
  return dir;
}

/* Runs the driver built in dir on a script; its output, which must end the
 * script cleanly ("done"). */
static char *run_driver(const char *dir, const char *script) {
  char *in = fmt("%s/script.in", dir), *outp = fmt("%s/script.out", dir);
  write_text(in, script);
  char *cmd = fmt("%s '%s/run' < '%s' > '%s'", config.runner ? config.runner : "", dir, in, outp);
  int st = sh(cmd);
  char *out = read_text(outp);
  ck_assert_msg(st == 0, "%s exited %d:\n%s", cmd, st, out);
  ck_assert_msg(strstr(out, "done\n") != NULL, "driver did not finish:\n%s", out);
  free(in);
  free(outp);
  free(cmd);
  return out;
}

/* ---- softmax regression: the reference ------------------------------- */

typedef struct Ref {
  float w[SM_C * SM_D], b[SM_C];
} Ref;

static void ref_init(Ref *r, uint64_t seed) {
  memset(r, 0, sizeof *r);
  for (int i = 0; i < SM_C * SM_D; i++)
    r->w[i] = (ref_hash_uniform((int64_t)seed, i) - 0.5f) * SM_INIT_SCALE;
}

static void ref_logits(const Ref *r, const float *x, int n, float *lg) {
  for (int s = 0; s < n; s++)
    for (int c = 0; c < SM_C; c++) {
      float acc = r->b[c];
      for (int k = 0; k < SM_D; k++) acc = acc + x[s * SM_D + k] * r->w[c * SM_D + k];
      lg[s * SM_C + c] = acc;
    }
}

static int argmax(const float *v) {
  int am = 0;
  for (int c = 1; c < SM_C; c++)
    if (v[c] > v[am]) am = c;
  return am;
}

static float ref_step(Ref *r, const float *x, const int32_t *y, int n, int32_t *pred) {
  float lg[SM_BATCH * SM_C], dl[SM_BATCH * SM_C], total = 0;
  ref_logits(r, x, n, lg);
  for (int s = 0; s < n; s++) {
    const float *l = lg + s * SM_C;
    pred[s] = argmax(l);
    float m = l[pred[s]], sum = 0;
    for (int c = 0; c < SM_C; c++) sum = sum + expf(l[c] - m);
    total = total + ((m + logf(sum)) - l[y[s]]);
    for (int c = 0; c < SM_C; c++) dl[s * SM_C + c] = (expf(l[c] - m) / sum - (c == y[s])) / (float)n;
  }
  for (int c = 0; c < SM_C; c++) {
    for (int k = 0; k < SM_D; k++) {
      float acc = 0;
      for (int s = 0; s < n; s++) acc = acc + dl[s * SM_C + c] * x[s * SM_D + k];
      r->w[c * SM_D + k] = r->w[c * SM_D + k] - SM_LR * acc;
    }
    float acc = 0;
    for (int s = 0; s < n; s++) acc = acc + dl[s * SM_C + c];
    r->b[c] = r->b[c] - SM_LR * acc;
  }
  return total / (float)n;
}

/* Separable data: class s % 3, feature c is large for class c. */
static void make_batch(int step, int n, float *x, int32_t *y) {
  for (int s = 0; s < n; s++) {
    y[s] = (s + step) % SM_C;
    for (int k = 0; k < SM_D; k++)
      x[s * SM_D + k] = (k == y[s] ? 1.5f : 0.0f) + ref_hash_uniform(step, s * SM_D + k) - 0.5f;
  }
}

static char *batch_text(char *s, const float *x, const int32_t *y, int n) {
  for (int i = 0; i < n * SM_D; i++) s = append(s, " %.9g", (double)x[i]);
  for (int i = 0; y && i < n; i++) s = append(s, " %d", y[i]);
  return append(s, "\n");
}

static void assert_close(double got, double want, double tol, const char *what) {
  ck_assert_msg(fabs(got - want) <= tol * (1 + fabs(want)), "%s: got %.9g, want %.9g", what, got, want);
}

/* Runs `steps` training steps (n = 8, 8, 5 cycling) through the built
 * driver in dir and the reference, comparing loss, predictions and weights. */
static void softmax_against_reference(const char *dir, int steps) {
  Ref r;
  ref_init(&r, 42);
  char *script = fmt("init 42\nget fc.weight\n");
  float losses[64];
  int32_t preds[64][SM_BATCH];
  int ns[64];
  for (int t = 0; t < steps; t++) {
    float x[SM_BATCH * SM_D];
    int32_t y[SM_BATCH];
    ns[t] = t % 3 == 2 ? 5 : SM_BATCH;
    make_batch(t, ns[t], x, y);
    script = append(script, "step %d 1", ns[t]);
    script = batch_text(script, x, y, ns[t]);
    losses[t] = ref_step(&r, x, y, ns[t], preds[t]);
  }
  script = append(script, "get fc.weight\nget fc.bias\nget step\n");
  char *out = run_driver(dir, script);
  double v[64];
  const char *at = out;
  for (int t = 0; t < steps; t++) {
    at = strstr(at, "loss ");
    ck_assert_ptr_nonnull(at);
    assert_close(strtod(at + 5, NULL), losses[t], 1e-5, "loss");
    const char *pl = strstr(at, "pred ");
    ck_assert_ptr_nonnull(pl);
    char *end;
    pl += 5;
    for (int s = 0; s < ns[t]; s++) {
      long pv = strtol(pl, &end, 10);
      ck_assert_int_eq(pv, preds[t][s]);
      pl = end;
    }
    at = pl;
  }
  /* the last fc.weight line holds the trained weights */
  const char *last = NULL;
  for (const char *q = strstr(out, "fc.weight "); q; q = strstr(q + 1, "fc.weight ")) last = q;
  char *tail = fmt("\n%s", last);
  ck_assert_int_eq(numbers(tail, "fc.weight", v, 64), SM_C * SM_D);
  for (int i = 0; i < SM_C * SM_D; i++) assert_close(v[i], r.w[i], 1e-5, "weight");
  ck_assert_int_eq(numbers(out, "fc.bias", v, 64), SM_C);
  for (int i = 0; i < SM_C; i++) assert_close(v[i], r.b[i], 1e-5, "bias");
  ck_assert_int_eq(numbers(out, "step", v, 4), 1);
  ck_assert_int_eq((int)v[0], steps);
  free(script), free(out), free(tail);
}

/* ---- the API around the kernels ------------------------------------ */

/* The header's sizes, hash and tensor table describe the program that was
 * compiled (the same numbers the loop IR says). */
START_TEST(header_and_tensor_table_describe_the_program) {
  Arena *a = arena_new();
  LProgram *p = prog_softmax(a);
  const char *dir = build_program(a, p, "softmax");
  char *out = run_driver(dir, "meta\n");
  /* octoc writes the softmax's exp and log out first (the pass "math"):
   * the hash is that program's */
  expand_math(p);
  char *want = fmt("batch %d state %lld work %lld ntensors 3 input_rank 1 input_size %d classes %d\n"
                   "hash %016llx\n",
                   SM_BATCH, (long long)p->state_bytes, (long long)p->work_bytes, SM_D, SM_C,
                   (unsigned long long)lprog_hash(p));
  ck_assert_msg(strncmp(out, want, strlen(want)) == 0, "want:\n%sgot:\n%s", want, out);
  const char *rows[] = {"tensor fc.weight dtype 0 role 0 rank 2 shape 3 4 offset 0 bytes 48\n",
                        "tensor fc.bias dtype 0 role 0 rank 1 shape 3 offset 64 bytes 12\n",
                        "tensor step dtype 3 role 3 rank 0 shape offset 128 bytes 4\n"};
  for (size_t i = 0; i < sizeof rows / sizeof *rows; i++)
    ck_assert_msg(strstr(out, rows[i]) != NULL, "no '%s' in:\n%s", rows[i], out);
  free(out);
  free(want);
  arena_free(a);
}
END_TEST

/* ---- softmax regression: training ---------------------------------- */

START_TEST(softmax_trains_like_the_reference) {
  Arena *a = arena_new();
  softmax_against_reference(build_program(a, prog_softmax(a), "softmax"), 6);
  arena_free(a);
}
END_TEST

START_TEST(softmax_loss_falls_over_20_steps) {
  Arena *a = arena_new();
  const char *dir = build_program(a, prog_softmax(a), "softmax");
  char *script = fmt("init 7\n");
  for (int t = 0; t < 20; t++) {
    float x[SM_BATCH * SM_D];
    int32_t y[SM_BATCH];
    make_batch(t, SM_BATCH, x, y);
    script = append(script, "step %d 0", SM_BATCH);
    script = batch_text(script, x, y, SM_BATCH);
  }
  float x[SM_BATCH * SM_D];
  int32_t y[SM_BATCH];
  make_batch(99, SM_BATCH, x, y);
  script = append(script, "predict %d", SM_BATCH);
  script = batch_text(script, x, NULL, SM_BATCH);
  char *out = run_driver(dir, script);
  double first = 0, last = 0;
  int k = 0;
  for (const char *at = strstr(out, "loss "); at; at = strstr(at + 1, "loss ")) {
    double l = strtod(at + 5, NULL);
    if (k++ == 0) first = l;
    last = l;
  }
  ck_assert_int_eq(k, 20);
  ck_assert_msg(first > 1.0 && last < 0.5 * first, "loss did not fall: %g -> %g", first, last);
  double cls[SM_BATCH];
  ck_assert_int_eq(numbers(out, "cls", cls, SM_BATCH), SM_BATCH);
  for (int s = 0; s < SM_BATCH; s++) ck_assert_int_eq((int)cls[s], y[s]);
  free(script), free(out);
  arena_free(a);
}
END_TEST

START_TEST(predict_reads_state_only_and_matches_argmax) {
  Arena *a = arena_new();
  const char *dir = build_program(a, prog_softmax(a), "softmax");
  Ref r;
  ref_init(&r, 5);
  float x[SM_BATCH * SM_D], lg[SM_BATCH * SM_C];
  int32_t y[SM_BATCH];
  make_batch(3, 6, x, y);
  ref_logits(&r, x, 6, lg);
  char *script = fmt("init 5\npredict 6");
  script = batch_text(script, x, NULL, 6);
  script = append(script, "get fc.weight\nget step\n");
  char *out = run_driver(dir, script);
  double v[16];
  ck_assert_int_eq(numbers(out, "predict", v, 1), 1);
  ck_assert_int_eq((int)v[0], 0);
  ck_assert_int_eq(numbers(out, "cls", v, 16), 6);
  for (int s = 0; s < 6; s++) ck_assert_int_eq((int)v[s], argmax(lg + s * SM_C));
  ck_assert_int_eq(numbers(out, "fc.weight", v, 16), SM_C * SM_D);
  for (int i = 0; i < SM_C * SM_D; i++) ck_assert_float_eq((float)v[i], r.w[i]);
  ck_assert_int_eq(numbers(out, "step", v, 1), 1);
  ck_assert_int_eq((int)v[0], 0);
  free(script), free(out);
  arena_free(a);
}
END_TEST

/* eval: inference on a labelled batch gives the summed cross-entropy of the
 * reference and how many argmaxes hit their label, and leaves the state. */
START_TEST(eval_sums_the_loss_and_counts_the_right_classes) {
  Arena *a = arena_new();
  const char *dir = build_program(a, prog_softmax(a), "softmax");
  Ref r;
  ref_init(&r, 5);
  float x[SM_BATCH * SM_D], lg[SM_BATCH * SM_C];
  int32_t y[SM_BATCH];
  make_batch(4, 7, x, y);
  ref_logits(&r, x, 7, lg);
  double want = 0;
  int right = 0;
  for (int s = 0; s < 7; s++) {
    const float *z = lg + s * SM_C;
    double mx = z[argmax(z)], sum = 0;
    for (int c = 0; c < SM_C; c++) sum += exp(z[c] - mx);
    want += mx + log(sum) - z[y[s]];
    right += argmax(z) == y[s];
  }
  char *script = fmt("init 5\neval 7");
  script = batch_text(script, x, y, 7);
  script = append(script, "get step\n");
  char *out = run_driver(dir, script);
  double v[4];
  ck_assert_int_eq(numbers(out, "eval", v, 4), 3);
  ck_assert_int_eq((int)v[0], 0);
  ck_assert_msg(fabs(v[1] - want) <= 1e-5 * fabs(want), "eval loss sum %.9g, reference %.9g",
                v[1], want);
  ck_assert_int_eq((int)v[2], right);
  ck_assert_int_eq(numbers(out, "step", v, 1), 1);
  ck_assert_int_eq((int)v[0], 0);
  free(script), free(out);
  arena_free(a);
}
END_TEST

START_TEST(train_step_without_pred_equals_train_step_pred) {
  Arena *a = arena_new();
  const char *dir = build_program(a, prog_softmax(a), "softmax");
  float x[SM_BATCH * SM_D];
  int32_t y[SM_BATCH];
  make_batch(1, SM_BATCH, x, y);
  char *script = fmt("init 9\nstep %d 0", SM_BATCH);
  script = batch_text(script, x, y, SM_BATCH);
  script = append(script, "init 9\nstep %d 1", SM_BATCH);
  script = batch_text(script, x, y, SM_BATCH);
  char *out = run_driver(dir, script);
  const char *l1 = strstr(out, "loss "), *l2 = strstr(l1 + 1, "loss ");
  ck_assert_ptr_nonnull(l2);
  ck_assert_msg(strtod(l1 + 5, NULL) == strtod(l2 + 5, NULL), "%s", out);
  free(script), free(out);
  arena_free(a);
}
END_TEST

START_TEST(bad_arguments_return_nan_or_minus_one) {
  Arena *a = arena_new();
  const char *dir = build_program(a, prog_softmax(a), "softmax");
  char *out = run_driver(dir, "init 1\nbad\nget step\n");
  const char *want[] = {"bad n=0 1\n", "bad n>batch 1\n", "bad x=NULL 1\n", "bad y=NULL 1\n",
                        "bad state=NULL 1\n", "bad predict n=0 -1\n",
                        "bad predict state=NULL -1\n", "bad init NULL -1\n",
                        "bad label 3 1 eval -1 state same\n",
                        "bad label 200 1 eval -1 state same\n",
                        "bad label -1 1 eval -1 state same\n",
                        "bad label 1000000 1 eval -1 state same\n",
                        "bad label -2147483648 1 eval -1 state same\n",
                        "bad misaligned state 1 work 1 x 1 y 1 predict -1 init -1 state same\n",
                        "step 0\n"};
  for (size_t i = 0; i < sizeof want / sizeof *want; i++)
    ck_assert_msg(strstr(out, want[i]) != NULL, "no '%s' in:\n%s", want[i], out);
  free(out);
  arena_free(a);
}
END_TEST

/* ---- integer operations --------------------------------------------- */

static const int64_t io_a[5][IO_N] = {
    {-128, -7, -1, 0, 1, 5, 100, 127},
    {-32768, -7, -1, 0, 1, 5, 1000, 32767},
    {-40000, -7, -1, 0, 1, 5, 30000, 46340},
    {-3000000000LL, -7, -1, 0, 1, 5, 123456789012LL, 3000000000LL},
    {0, 1, 5, 100, 200, 255, 128, 7}};
static const int64_t io_b[5][IO_N] = {
    {-1, -2, 7, 1, -128, 9, -5, 127},
    {-1, -2, 7, 1, -128, 9, -5, 32767},
    {3, -2, 7, 1, -1, 9, -5, 46340},
    {3, -2, 7, 1, -1, 9, -50000, 3000000000LL},
    {3, 2, 7, 1, 255, 9, 5, 128}};
static const double io_fa[IO_N] = {0.5, 1.99, 100.7, 3, 126.9, 0, 42.42, 7.5};
static const char *const io_names[5] = {"i8", "i16", "i32", "i64", "u8"};
static const int io_bits[5] = {8, 16, 32, 64, 8};

static int64_t wrap(int t, int64_t v) {
  switch (t) {
  case 0: return (int8_t)v;
  case 1: return (int16_t)v;
  case 2: return (int32_t)v;
  case 4: return (uint8_t)v;
  default: return v;
  }
}

static int64_t ref_intop(int t, IntOp op, int64_t a, int64_t b) {
  int s = (int)(b & 7);
  switch (op) {
  case IO_ADD: return wrap(t, a + b);
  case IO_SUB: return wrap(t, a - b);
  case IO_MUL: return wrap(t, (int64_t)((uint64_t)a * (uint64_t)b));
  case IO_DIV: return wrap(t, a / b);
  case IO_REM: return wrap(t, a % b);
  case IO_MIN: return a < b ? a : b;
  case IO_MAX: return a > b ? a : b;
  case IO_SHL: return wrap(t, (int64_t)((uint64_t)a << s));
  case IO_SHR: return wrap(t, a >> s);
  case IO_AND: return a & b;
  case IO_OR: return a | b;
  case IO_XOR: return wrap(t, a ^ b);
  case IO_LT: return a < b;
  case IO_LE: return a <= b;
  case IO_GT: return a > b;
  case IO_GE: return a >= b;
  case IO_EQ: return a == b;
  case IO_NE: return a != b;
  case IO_LAND: return a && b;
  case IO_LOR: return a || b;
  case IO_NEG: return wrap(t, (int64_t)(0 - (uint64_t)a));
  case IO_NOT: return !a;
  case IO_ABS: return wrap(t, a < 0 ? (int64_t)(0 - (uint64_t)a) : a);
  case IO_SELECT: return a < b ? b : a;
  case IO_SUMHALF: return wrap(t, wrap(t, a + b) / 2);
  case IO_SHLSHR: return wrap(t, wrap(t, (int64_t)((uint64_t)a << 3)) >> 3);
  default: return 0;
  }
}

static char *intops_script(void) {
  char *s = fmt("init 0\n");
  for (int t = 0; t < 5; t++) {
    s = append(s, "set a_%s", io_names[t]);
    for (int i = 0; i < IO_N; i++) s = append(s, " %lld", (long long)io_a[t][i]);
    s = append(s, "\nset b_%s", io_names[t]);
    for (int i = 0; i < IO_N; i++) s = append(s, " %lld", (long long)io_b[t][i]);
    s = append(s, "\n");
  }
  s = append(s, "set fa");
  for (int i = 0; i < IO_N; i++) s = append(s, " %.9g", io_fa[i]);
  s = append(s, "\nstep 1 0 0 0\n");
  for (int t = 0; t < 5; t++) s = append(s, "get o_%s\nget c_%s\n", io_names[t], io_names[t]);
  return s;
}

/* Compares every o_T and c_T with the reference; exact. */
static void check_intops(const char *out) {
  double v[IO_N * IO_NOPS];
  int64_t iv[IO_N * IO_NOPS];
  for (int t = 0; t < 5; t++) {
    char *key = fmt("o_%s", io_names[t]);
    /* %.17g of a double loses nothing for |v| < 2^53; parse as integers */
    const char *at = strstr(out, key);
    ck_assert_ptr_nonnull(at);
    at += strlen(key);
    for (int i = 0; i < IO_N * IO_NOPS; i++) {
      char *end;
      iv[i] = strtoll(at, &end, 10);
      ck_assert_ptr_ne(end, at);
      at = end;
    }
    for (int i = 0; i < IO_N; i++)
      for (int op = 0; op < IO_NOPS; op++) {
        int64_t want = ref_intop(t, (IntOp)op, io_a[t][i], io_b[t][i]);
        ck_assert_msg(iv[i * IO_NOPS + op] == want, "%s op %d element %d: got %lld want %lld",
                      io_names[t], op, i, (long long)iv[i * IO_NOPS + op], (long long)want);
      }
    free(key);
    key = fmt("c_%s", io_names[t]);
    at = strstr(out, key);
    ck_assert_ptr_nonnull(at);
    at += strlen(key);
    for (int i = 0; i < IO_N * 6; i++) {
      char *end;
      iv[i] = strtoll(at, &end, 10);
      at = end;
    }
    for (int i = 0; i < IO_N; i++)
      for (int s = 0; s < 6; s++) {
        int64_t src = s < 5 ? io_a[s][i] : (int64_t)(float)io_fa[i];
        int64_t want = wrap(t, src);
        if (io_bits[t] == 64) want = src;
        ck_assert_msg(iv[i * 6 + s] == want, "cast %s<-%d element %d: got %lld want %lld",
                      io_names[t], s, i, (long long)iv[i * 6 + s], (long long)want);
      }
    free(key);
  }
  (void)v;
  /* loss = count of positive a_i32 + b_i32 */
  int cnt = 0;
  for (int i = 0; i < IO_N; i++) cnt += io_a[2][i] + io_b[2][i] > 0;
  double l[1];
  ck_assert_int_eq(numbers(out, "loss", l, 1), 1);
  ck_assert_int_eq((int)l[0], cnt);
}

START_TEST(intops_exact_for_every_type) {
  Arena *a = arena_new();
  const char *dir = build_program(a, prog_intops(a), "intops");
  char *script = intops_script();
  char *out = run_driver(dir, script);
  check_intops(out);
  free(script);
  free(out);
  arena_free(a);
}
END_TEST

/* ---- float operations ----------------------------------------------- */

static const float fo_a[IO_N] = {-2.5f, -0.75f, 0.0f, 0.5f, 1.5f, 2.5f, 3.25f, -1.0f};
static const float fo_b[IO_N] = {0.5f, 2.0f, 1.0f, 0.25f, 3.0f, 1.5f, 10.0f, 4.0f};

static float ref_floatop(FloatOp op, float a, float b) {
  switch (op) {
  case FO_ADD: return a + b;
  case FO_SUB: return a - b;
  case FO_MUL: return a * b;
  case FO_DIV: return a / b;
  case FO_REM: return fmodf(a, b);
  case FO_MIN: return a < b ? a : b;
  case FO_MAX: return a > b ? a : b;
  case FO_NEG: return -a;
  case FO_ABS: return fabsf(a);
  case FO_EXP: return expf(a);
  case FO_LOG: return logf(b);
  case FO_SQRT: return sqrtf(b);
  case FO_FLOOR: return floorf(a);
  case FO_COS: return cosf(a);
  case FO_ROUND: return rintf(a);
  case FO_POW: return powf(b, a);
  case FO_LT: return a < b;
  case FO_GE: return a >= b;
  case FO_NE: return a != b;
  case FO_SELECT: return a > b ? a : -b;
  case FO_FROM_I32: return (float)(int32_t)(a * 100.0f);
  default: return 0;
  }
}

START_TEST(floatops_match_libm_and_exact_constants) {
  Arena *a = arena_new();
  const char *dir = build_program(a, prog_floatops(a), "floatops");
  char *script = fmt("init 0\nset fa");
  for (int i = 0; i < IO_N; i++) script = append(script, " %.9g", (double)fo_a[i]);
  script = append(script, "\nset fb");
  for (int i = 0; i < IO_N; i++) script = append(script, " %.9g", (double)fo_b[i]);
  script = append(script, "\nstep 1 0 0 0\nget fo\nget fi\nget hu\nget consts\n");
  char *out = run_driver(dir, script);
  double v[IO_N * FO_NOPS];
  ck_assert_int_eq(numbers(out, "fo", v, IO_N * FO_NOPS), IO_N * FO_NOPS);
  for (int i = 0; i < IO_N; i++)
    for (int op = 0; op < FO_NOPS; op++) {
      float want = ref_floatop((FloatOp)op, fo_a[i], fo_b[i]);
      ck_assert_msg(fabs(v[i * FO_NOPS + op] - want) <= 1e-6 * (1 + fabs(want)),
                    "op %d element %d: got %.9g want %.9g", op, i, v[i * FO_NOPS + op], (double)want);
    }
  ck_assert_int_eq(numbers(out, "fi", v, IO_N), IO_N);
  for (int i = 0; i < IO_N; i++) ck_assert_float_eq((float)v[i], fo_a[i] > 0 ? 1.0f : -1.0f);
  ck_assert_int_eq(numbers(out, "hu", v, IO_N), IO_N);
  for (int i = 0; i < IO_N; i++) ck_assert_float_eq((float)v[i], ref_hash_uniform(12345, i));
  /* constants print exactly: the bits read back equal the IR's */
  ck_assert_int_eq(numbers(out, "consts", v, FC_N), FC_N);
  for (int i = 0; i < FC_N; i++) {
    float got = (float)v[i];
    ck_assert_msg(memcmp(&got, &fc_values[i], 4) == 0, "constant %d: got %.9g want %.9g", i, v[i],
                  (double)fc_values[i]);
  }
  ck_assert_msg(signbit((float)v[1]), "-0.0f lost its sign");
  free(script), free(out);
  arena_free(a);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("conformance");
  TCase *tc = tcase_create("conformance");
  /* qemu and the sanitizers make a test take seconds */
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, header_and_tensor_table_describe_the_program);
  tcase_add_test(tc, softmax_trains_like_the_reference);
  tcase_add_test(tc, softmax_loss_falls_over_20_steps);
  tcase_add_test(tc, predict_reads_state_only_and_matches_argmax);
  tcase_add_test(tc, eval_sums_the_loss_and_counts_the_right_classes);
  tcase_add_test(tc, train_step_without_pred_equals_train_step_pred);
  tcase_add_test(tc, bad_arguments_return_nan_or_minus_one);
  tcase_add_test(tc, intops_exact_for_every_type);
  tcase_add_test(tc, floatops_match_libm_and_exact_constants);
  suite_add_tcase(s, tc);
  return s;
}

/* The first word of a command: the tool it needs. */
static char *tool_of(const char *command) {
  size_t n = strcspn(command, " \t");
  char *t = malloc(n + 1);
  if (!t) return NULL;
  memcpy(t, command, n);
  t[n] = 0;
  return t;
}

/* Exit 77 (skip) when a tool this run names is not installed. */
static bool tools_missing(void) {
  const char *commands[] = {config.cc, config.link, config.runner};
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) {
    if (!commands[i]) continue;
    char *tool = tool_of(commands[i]);
    bool missing = !tool || !have(tool);
    if (missing) printf("SKIP: %s is not installed\n", tool ? tool : commands[i]);
    free(tool);
    if (missing) return true;
  }
  return false;
}

int main(void) {
  config.octoc = getenv("OCTOC");
  config.backend = getenv("OCTO_CONFORMANCE_BACKEND");
  if (!config.octoc || access(config.octoc, X_OK) != 0 || !config.backend) {
    fprintf(stderr, "conformance: set OCTOC (an executable octoc) and OCTO_CONFORMANCE_BACKEND\n");
    return 1;
  }
  config.cc = env_or("OCTO_CONFORMANCE_CC", NULL);
  config.link = env_or("OCTO_CONFORMANCE_LINK", "cc");
  config.runner = env_or("OCTO_CONFORMANCE_RUN", NULL);
  if (tools_missing()) return 77;
  char root[] = "conformance-XXXXXX";
  if (!mkdtemp(root)) {
    perror("conformance: mkdtemp");
    return 1;
  }
  config.root = root;
  printf("conformance: octoc PROGRAM.loops %s%s%s; driver linked by %s%s%s\n", config.backend,
         config.cc ? ", C compiled by " : "", config.cc ? config.cc : "", config.link,
         config.runner ? ", run by " : "", config.runner ? config.runner : "");
  SRunner *r = srunner_create(suite());
  srunner_run_all(r, CK_NORMAL);
  int failed = srunner_ntests_failed(r);
  srunner_free(r);
  /* keep the folder of a failed run to look at */
  if (!failed) {
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (sh(cmd) != 0) fprintf(stderr, "conformance: could not remove %s\n", root);
  } else {
    printf("conformance: files of this run in %s\n", root);
  }
  return failed ? 1 : 0;
}
