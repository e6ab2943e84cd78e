/* Tests of the C backend: emit hand-built loop-IR programs (programs.c),
 * compile them with gcc, clang and the cross compilers under the strictest
 * flags, run them through a generic driver (driver.c) and compare with
 * references computed here. Exact for integer kernels, a tolerance for
 * float maths that goes through libm. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "c_backend.h"
#include "loop_printer.h"
#include "loop_reader.h"
#include "loop_verify.h"
#include "programs.h"

#ifndef CBACKEND_SRCDIR
#error "CBACKEND_SRCDIR must name tests/cbackend"
#endif
#ifndef RUNTIME_DIR
#error "RUNTIME_DIR must name runtime/"
#endif

#define STRICT "-std=c99 -Wall -Wextra -Werror -pedantic -O2"

/* ---- helpers -------------------------------------------------------- */

static char *fmt(const char *f, ...) {
  va_list ap;
  va_start(ap, f);
  char *s = NULL;
  ck_assert_int_ge(vasprintf(&s, f, ap), 0);
  va_end(ap);
  return s;
}

/* A fresh directory per test under the build directory's cbtmp/. */
static const char *test_dir(Arena *a, const char *name) {
  mkdir("cbtmp", 0777);
  char *d = arena_printf(a, "cbtmp/%s", name);
  char *cmd = fmt("rm -rf '%s' && mkdir -p '%s'", d, d);
  ck_assert_int_eq(system(cmd), 0);
  free(cmd);
  return d;
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  ck_assert_msg(f != NULL, "open %s: %s", path, strerror(errno));
  ck_assert_int_eq(fputs(text, f) >= 0, 1);
  ck_assert_int_eq(fclose(f), 0);
}

static char *read_file(const char *path) {
  FILE *f = fopen(path, "r");
  ck_assert_msg(f != NULL, "open %s: %s", path, strerror(errno));
  char *s = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&s, &len);
  int c;
  while ((c = fgetc(f)) != EOF) fputc(c, m);
  fclose(f);
  fclose(m);
  return s;
}

/* Emits t.c, t.h and t_main.c into dir. */
static void emit_to(LProgram *p, const char *dir) {
  char *cp = fmt("%s/t.c", dir), *hp = fmt("%s/t.h", dir), *mp = fmt("%s/t_main.c", dir);
  FILE *c = fopen(cp, "w"), *h = fopen(hp, "w"), *m = fopen(mp, "w");
  ck_assert(c && h && m);
  CEmitOptions o = {.header_name = "t.h", .with_main = true, .epochs_default = 3, .seed_default = 7};
  ck_assert(c_emit(p, &o, c, h));
  ck_assert(c_emit_main(p, &o, m));
  ck_assert_int_eq(fclose(c) | fclose(h) | fclose(m), 0);
  free(cp), free(hp), free(mp);
}

static int sh(const char *cmd) {
  int st = system(cmd);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static bool have(const char *tool) {
  char *cmd = fmt("command -v %s >/dev/null 2>&1", tool);
  bool ok = sh(cmd) == 0;
  free(cmd);
  return ok;
}

/* Compiles dir/t.c with cc under STRICT and links the driver: dir/NAME. */
static void build(const char *dir, const char *cc, const char *name, const char *ldflags) {
  char *cmd = fmt("%s " STRICT " -c '%s/t.c' -o '%s/t_%s.o' && "
                  "%s -std=c11 -O1 -I'%s' '" CBACKEND_SRCDIR "/driver.c' '%s/t_%s.o' -o '%s/%s' %s -lm",
                  cc, dir, dir, name, cc, dir, dir, name, dir, name, ldflags);
  ck_assert_msg(sh(cmd) == 0, "build failed: %s", cmd);
  free(cmd);
}

/* Runs dir/NAME (through runner, e.g. qemu, if not "") on a script. */
static char *run(const char *dir, const char *runner, const char *name, const char *script) {
  char *sp = fmt("%s/%s.in", dir, name), *op = fmt("%s/%s.out", dir, name);
  write_file(sp, script);
  char *cmd = fmt("%s '%s/%s' < '%s' > '%s'", runner, dir, name, sp, op);
  int st = sh(cmd);
  char *out = read_file(op);
  ck_assert_msg(st == 0, "%s exited %d:\n%s", cmd, st, out);
  ck_assert_msg(strstr(out, "done\n") != NULL, "driver did not finish:\n%s", out);
  free(sp), free(op), free(cmd);
  return out;
}

/* The numbers after "KEY " on the line that starts with it. */
static int numbers(const char *out, const char *key, double *v, int max) {
  char *pat = fmt("\n%s ", key);
  char *all = fmt("\n%s", out);
  const char *at = strstr(all, pat);
  ck_assert_msg(at != NULL, "no line '%s' in:\n%s", key, out);
  at += strlen(pat);
  int n = 0;
  while (n < max && *at && *at != '\n') {
    char *end;
    v[n] = strtod(at, &end);
    if (end == at) break;
    n++;
    at = end;
  }
  free(pat), free(all);
  return n;
}

static char *append(char *s, const char *f, ...) {
  va_list ap;
  va_start(ap, f);
  char *t = NULL;
  ck_assert_int_ge(vasprintf(&t, f, ap), 0);
  va_end(ap);
  char *r = fmt("%s%s", s ? s : "", t);
  free(s), free(t);
  return r;
}

/* ---- softmax reference ---------------------------------------------- */

static float hash_uniform(int64_t key, int64_t index) {
  uint64_t z = (uint64_t)key ^ ((uint64_t)index * UINT64_C(0x9E3779B97F4A7C15));
  z += UINT64_C(0x9E3779B97F4A7C15);
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  z ^= z >> 31;
  return (float)(uint32_t)(z >> 40) * (1.0f / 16777216.0f);
}

typedef struct Ref {
  float w[SM_C * SM_D], b[SM_C];
} Ref;

static void ref_init(Ref *r, uint64_t seed) {
  memset(r, 0, sizeof *r);
  for (int i = 0; i < SM_C * SM_D; i++)
    r->w[i] = (hash_uniform((int64_t)seed, i) - 0.5f) * SM_INIT_SCALE;
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
      x[s * SM_D + k] = (k == y[s] ? 1.5f : 0.0f) + hash_uniform(step, s * SM_D + k) - 0.5f;
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

/* Runs `steps` training steps (n = 8, 8, 5 cycling) through a compiled
 * driver and the reference, comparing loss, predictions and weights. */
static void softmax_against_reference(const char *dir, const char *runner, const char *exe, int steps) {
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
  char *out = run(dir, runner, exe, script);
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

/* ---- tests: text of the emitted code -------------------------------- */

static char *emit_text(LProgram *p, char **header) {
  char *c = NULL, *h = NULL;
  size_t cl = 0, hl = 0;
  FILE *cf = open_memstream(&c, &cl), *hf = open_memstream(&h, &hl);
  CEmitOptions o = {.header_name = "t.h"};
  ck_assert(c_emit(p, &o, cf, hf));
  fclose(cf);
  fclose(hf);
  if (header) *header = h;
  else free(h);
  return c;
}

START_TEST(header_declares_api_sizes_and_table) {
  Arena *a = arena_new();
  LProgram *p = prog_softmax(a);
  char *h;
  char *c = emit_text(p, &h);
  const char *want[] = {
      "#ifndef T_H", "#include <stdint.h>", "#include <stddef.h>", "extern \"C\" {",
      "#define T_BATCH 8\n", "#define T_STATE_ALIGN 64\n", "#define T_INPUT_RANK 1\n",
      "#define T_INPUT_SHAPE {4}\n", "#define T_INPUT_SIZE 4\n", "#define T_NUM_CLASSES 3\n",
      "#define T_NTENSORS 3\n", "int t_init(void *state, uint64_t seed);",
      "float t_train_step(void *state, void *work, const float *x, const int32_t *y, int n);",
      "int t_predict(const void *state, void *work, const float *x, int32_t *cls, int n);",
      "extern const t_tensor_info t_tensors[];", "int64_t shape[6];"};
  for (size_t i = 0; i < sizeof want / sizeof *want; i++)
    ck_assert_msg(strstr(h, want[i]) != NULL, "header lacks '%s':\n%.2000s", want[i], h);
  char *hash = fmt("#define T_HASH 0x%016llxULL\n", (unsigned long long)lprog_hash(p));
  ck_assert_msg(strstr(h, hash) != NULL, "header lacks %s", hash);
  char *sizes = fmt("#define T_STATE_BYTES %lld\n#define T_WORK_BYTES %lld\n",
                    (long long)p->state_bytes, (long long)p->work_bytes);
  ck_assert_msg(strstr(h, sizes) != NULL, "header lacks %s", sizes);
  /* table rows: name, dtype, role (PARAM 0 / INTERNAL 3), rank, shape, offset, bytes */
  ck_assert_msg(strstr(c, "{\"fc.weight\", 0, 0, 2, {3, 4, 0, 0, 0, 0}, 0, 48},"), "%.2000s", c);
  ck_assert_msg(strstr(c, "{\"step\", 3, 3, 0, {0, 0, 0, 0, 0, 0}, 128, 4},"), "%.2000s", c);
  free(c), free(h), free(hash), free(sizes);
  arena_free(a);
}
END_TEST

START_TEST(kernels_print_as_readable_c_with_hints) {
  Arena *a = arena_new();
  char *c = emit_text(prog_softmax(a), NULL);
  const char *want[] = {
      "/* kernel fc_fwd: dense fc (model.net:3:8) */",
      "static void t_k_fc_fwd(const float *restrict x, const float *restrict fc_weight,\n"
      "    const float *restrict fc_bias, float *restrict logits, int32_t n) {\n",
      "  for (int32_t s = 0; s < n; s++) {",
      "#if defined(__clang__)\n#pragma clang loop vectorize(enable)\n#elif defined(__GNUC__)\n"
      "#pragma GCC ivdep\n#endif\n",
      "#pragma clang loop unroll(full)\n", "#pragma GCC unroll 4\n",
      "octo_hash_uniform(seed, ((int64_t)i))",
      "  memset(state, 0, T_STATE_BYTES);",
      "t_k_fc_fwd(x, (const float *)(st + 0), (const float *)(st + 64), (float *)(wk + 64), (int32_t)n);",
      "if (!pred) pred = pred_scratch;", "return octo_nan();", "const unsigned char *st = (const unsigned char *)state;"};
  for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
    if (!strstr(c, want[i])) fprintf(stderr, "%s", c);
    ck_assert_msg(strstr(c, want[i]) != NULL, "source lacks '%s' (source on stderr)", want[i]);
  }
  free(c);
  arena_free(a);
}
END_TEST

/* Every #include is an allowed header; no allocation; the only statics are
 * functions (const data is `const`). */
static void check_portability_text(const char *c, bool math_allowed) {
  const char *allowed[] = {"<stdint.h>", "<stddef.h>", "<string.h>", "\"t.h\"", "<math.h>"};
  int nallowed = math_allowed ? 5 : 4;
  for (const char *l = c; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
    if (strncmp(l, "#include ", 9) == 0) {
      bool ok = false;
      for (int i = 0; i < nallowed; i++) ok |= strncmp(l + 9, allowed[i], strlen(allowed[i])) == 0;
      ck_assert_msg(ok, "disallowed include: %.40s", l);
    }
    if (strncmp(l, "static ", 7) == 0)
      ck_assert_msg(strncmp(l, "static void ", 12) == 0 || strncmp(l, "static inline ", 14) == 0 ||
                        strncmp(l, "static float octo_nan(void)", 27) == 0,
                    "unexpected static: %.60s", l);
  }
  const char *banned[] = {"malloc", "calloc", "realloc", "free(", "printf", "stdio", "stdlib"};
  for (size_t i = 0; i < sizeof banned / sizeof *banned; i++)
    ck_assert_msg(strstr(c, banned[i]) == NULL, "source uses %s", banned[i]);
}

START_TEST(source_uses_only_allowed_headers_and_no_static_data) {
  Arena *a = arena_new();
  LProgram *progs[] = {prog_softmax(a), prog_intops(a), prog_floatops(a)};
  for (int i = 0; i < 3; i++) {
    char *c = emit_text(progs[i], NULL);
    check_portability_text(c, true);
    free(c);
  }
  /* the integer program needs no <math.h> at all */
  char *c = emit_text(prog_intops(a), NULL);
  ck_assert_msg(strstr(c, "#include <math.h>") == NULL, "intops includes math.h");
  free(c);
  arena_free(a);
}
END_TEST

/* Built as firmware is (no PIC), nm shows no data or bss symbol at all; in
 * a PIE build the tensor table's string pointers need relocations, so it
 * lands in .data.rel.ro (read-only after relocation), never .data/.bss. */
START_TEST(objects_have_no_data_or_bss_symbols) {
  Arena *a = arena_new();
  LProgram *progs[] = {prog_softmax(a), prog_intops(a), prog_floatops(a)};
  const char *dir = test_dir(a, "nm");
  for (int i = 0; i < 3; i++) {
    emit_to(progs[i], dir);
    char *cmd = fmt("cc " STRICT " -fno-pic -c '%s/t.c' -o '%s/t.o' && nm --defined-only '%s/t.o' > '%s/nm.txt'"
                    " && cc " STRICT " -fPIE -c '%s/t.c' -o '%s/t_pie.o' && objdump -t '%s/t_pie.o' > '%s/objdump.txt'",
                    dir, dir, dir, dir, dir, dir, dir, dir);
    ck_assert_int_eq(sh(cmd), 0);
    char *nmp = fmt("%s/nm.txt", dir), *odp = fmt("%s/objdump.txt", dir);
    char *syms = read_file(nmp), *od = read_file(odp);
    ck_assert_msg(strstr(syms, " R t_tensors") != NULL, "tensor table not read-only:\n%.2000s", syms);
    /* lines are "ADDRESS KIND NAME" */
    for (const char *l = syms; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
      char kind;
      ck_assert_int_eq(sscanf(l, "%*s %c", &kind), 1);
      ck_assert_msg(strchr("bBdD", kind) == NULL, "mutable data symbol: %.60s", l);
    }
    ck_assert_msg(strstr(od, " .data\t") == NULL && strstr(od, " .bss\t") == NULL,
                  "PIE object has .data/.bss symbols:\n%.2000s", od);
    ck_assert_msg(strstr(od, ".data.rel.ro") == NULL || strstr(od, "t_tensors") != NULL, "%s", od);
    free(cmd), free(nmp), free(odp), free(syms), free(od);
  }
  arena_free(a);
}
END_TEST

/* ---- tests: running the emitted code -------------------------------- */

START_TEST(softmax_gcc_matches_reference) {
  Arena *a = arena_new();
  const char *dir = test_dir(a, "softmax_gcc");
  emit_to(prog_softmax(a), dir);
  build(dir, "cc", "run", "");
  softmax_against_reference(dir, "", "run", 6);
  arena_free(a);
}
END_TEST

START_TEST(softmax_clang_matches_reference) {
  if (!have("clang-19")) {
    printf("clang-19 not installed: skipped\n");
    return;
  }
  Arena *a = arena_new();
  const char *dir = test_dir(a, "softmax_clang");
  emit_to(prog_softmax(a), dir);
  build(dir, "clang-19", "run", "");
  softmax_against_reference(dir, "", "run", 6);
  arena_free(a);
}
END_TEST

START_TEST(softmax_loss_falls_over_20_steps) {
  Arena *a = arena_new();
  const char *dir = test_dir(a, "softmax_falls");
  emit_to(prog_softmax(a), dir);
  build(dir, "cc", "run", "");
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
  char *out = run(dir, "", "run", script);
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
  const char *dir = test_dir(a, "predict");
  emit_to(prog_softmax(a), dir);
  build(dir, "cc", "run", "");
  Ref r;
  ref_init(&r, 5);
  float x[SM_BATCH * SM_D], lg[SM_BATCH * SM_C];
  int32_t y[SM_BATCH];
  make_batch(3, 6, x, y);
  ref_logits(&r, x, 6, lg);
  char *script = fmt("init 5\npredict 6");
  script = batch_text(script, x, NULL, 6);
  script = append(script, "get fc.weight\nget step\n");
  char *out = run(dir, "", "run", script);
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

START_TEST(train_step_without_pred_equals_train_step_pred) {
  Arena *a = arena_new();
  const char *dir = test_dir(a, "nopred");
  emit_to(prog_softmax(a), dir);
  build(dir, "cc", "run", "");
  float x[SM_BATCH * SM_D];
  int32_t y[SM_BATCH];
  make_batch(1, SM_BATCH, x, y);
  char *script = fmt("init 9\nstep %d 0", SM_BATCH);
  script = batch_text(script, x, y, SM_BATCH);
  script = append(script, "init 9\nstep %d 1", SM_BATCH);
  script = batch_text(script, x, y, SM_BATCH);
  char *out = run(dir, "", "run", script);
  const char *l1 = strstr(out, "loss "), *l2 = strstr(l1 + 1, "loss ");
  ck_assert_ptr_nonnull(l2);
  ck_assert_msg(strtod(l1 + 5, NULL) == strtod(l2 + 5, NULL), "%s", out);
  free(script), free(out);
  arena_free(a);
}
END_TEST

START_TEST(bad_arguments_return_nan_or_minus_one) {
  Arena *a = arena_new();
  const char *dir = test_dir(a, "bad");
  emit_to(prog_softmax(a), dir);
  build(dir, "cc", "run", "");
  char *out = run(dir, "", "run", "init 1\nbad\nget step\n");
  const char *want[] = {"bad n=0 1\n", "bad n>batch 1\n", "bad x=NULL 1\n", "bad y=NULL 1\n",
                        "bad state=NULL 1\n", "bad predict n=0 -1\n",
                        "bad predict state=NULL -1\n", "bad init NULL -1\n", "step 0\n"};
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

static void intops_with(const char *cc, const char *name) {
  Arena *a = arena_new();
  const char *dir = test_dir(a, name);
  emit_to(prog_intops(a), dir);
  build(dir, cc, "run", "");
  char *script = intops_script();
  char *out = run(dir, "", "run", script);
  check_intops(out);
  free(script), free(out);
  arena_free(a);
}

START_TEST(intops_gcc_exact_for_every_type) { intops_with("cc", "intops_gcc"); }
END_TEST

START_TEST(intops_clang_exact_for_every_type) {
  if (!have("clang-19")) {
    printf("clang-19 not installed: skipped\n");
    return;
  }
  intops_with("clang-19", "intops_clang");
}
END_TEST

/* The emitted code itself has no undefined behaviour on these inputs: the
 * shift, abs and narrow-type helpers keep UBSan quiet, and ASan sees no
 * access outside the planned buffers. */
START_TEST(emitted_code_clean_under_ubsan_and_asan) {
  const char *san = "cc -fsanitize=undefined,address -fno-sanitize-recover=all";
  intops_with(san, "intops_san");
  Arena *a = arena_new();
  const char *dir = test_dir(a, "softmax_san");
  emit_to(prog_softmax(a), dir);
  build(dir, san, "run", "");
  softmax_against_reference(dir, "", "run", 6);
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

static void floatops_with(const char *cc, const char *name) {
  Arena *a = arena_new();
  const char *dir = test_dir(a, name);
  emit_to(prog_floatops(a), dir);
  build(dir, cc, "run", "");
  char *script = fmt("init 0\nset fa");
  for (int i = 0; i < IO_N; i++) script = append(script, " %.9g", (double)fo_a[i]);
  script = append(script, "\nset fb");
  for (int i = 0; i < IO_N; i++) script = append(script, " %.9g", (double)fo_b[i]);
  script = append(script, "\nstep 1 0 0 0\nget fo\nget fi\nget hu\nget consts\n");
  char *out = run(dir, "", "run", script);
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
  for (int i = 0; i < IO_N; i++) ck_assert_float_eq((float)v[i], hash_uniform(12345, i));
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

START_TEST(floatops_gcc_match_libm_and_exact_constants) { floatops_with("cc", "floatops_gcc"); }
END_TEST

START_TEST(floatops_clang_match_libm_and_exact_constants) {
  if (!have("clang-19")) {
    printf("clang-19 not installed: skipped\n");
    return;
  }
  floatops_with("clang-19", "floatops_clang");
}
END_TEST

/* ---- cross targets -------------------------------------------------- */

START_TEST(cross_compilers_compile_warning_free) {
  const char *ccs[] = {"arm-linux-gnueabihf-gcc", "aarch64-linux-gnu-gcc", "riscv64-linux-gnu-gcc"};
  Arena *a = arena_new();
  LProgram *progs[] = {prog_softmax(a), prog_intops(a), prog_floatops(a)};
  const char *dir = test_dir(a, "cross");
  int compiled = 0;
  for (int i = 0; i < 3; i++) {
    emit_to(progs[i], dir);
    for (int c = 0; c < 3; c++) {
      if (!have(ccs[c])) {
        printf("%s not installed: skipped\n", ccs[c]);
        continue;
      }
      char *cmd = fmt("%s " STRICT " -c '%s/t.c' -o '%s/t_cross.o'", ccs[c], dir, dir);
      ck_assert_msg(sh(cmd) == 0, "failed: %s", cmd);
      free(cmd);
      compiled++;
    }
  }
  printf("cross: %d compilations\n", compiled);
  arena_free(a);
}
END_TEST

static void qemu_matches_host(const char *cc, const char *qemu, const char *sysroot) {
  if (!have(cc) || !have(qemu)) {
    printf("%s or %s not installed: skipped\n", cc, qemu);
    return;
  }
  Arena *a = arena_new();
  const char *dir = test_dir(a, qemu);
  emit_to(prog_intops(a), dir);
  build(dir, "cc", "host", "");
  build(dir, cc, "target", "-static");
  char *script = intops_script();
  char *runner = fmt("%s -L %s", qemu, sysroot);
  char *host = run(dir, "", "host", script);
  char *target = run(dir, runner, "target", script);
  ck_assert_str_eq(target, host);
  check_intops(target);
  free(host), free(target);
  /* softmax: float maths through libm, against the reference */
  emit_to(prog_softmax(a), dir);
  build(dir, cc, "target", "-static");
  softmax_against_reference(dir, runner, "target", 6);
  free(script), free(runner);
  arena_free(a);
}

START_TEST(qemu_arm_output_matches_host) {
  qemu_matches_host("arm-linux-gnueabihf-gcc", "qemu-arm", "/usr/arm-linux-gnueabihf");
}
END_TEST

START_TEST(qemu_aarch64_output_matches_host) {
  qemu_matches_host("aarch64-linux-gnu-gcc", "qemu-aarch64", "/usr/aarch64-linux-gnu");
}
END_TEST

START_TEST(qemu_riscv64_output_matches_host) {
  qemu_matches_host("riscv64-linux-gnu-gcc", "qemu-riscv64", "/usr/riscv64-linux-gnu");
}
END_TEST

/* ---- the standalone trainer main ------------------------------------ */

/* An IDX file: magic 0x0000 08 NDIMS (u8 data), big-endian dims, bytes. */
static void write_idx(const char *path, int ndims, const uint32_t *dims, const uint8_t *data, size_t n) {
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  uint8_t head[4] = {0, 0, 8, (uint8_t)ndims};
  ck_assert_int_eq(fwrite(head, 1, 4, f), 4);
  for (int i = 0; i < ndims; i++) {
    uint8_t d[4] = {(uint8_t)(dims[i] >> 24), (uint8_t)(dims[i] >> 16), (uint8_t)(dims[i] >> 8),
                    (uint8_t)dims[i]};
    ck_assert_int_eq(fwrite(d, 1, 4, f), 4);
  }
  ck_assert_int_eq(fwrite(data, 1, n, f), n);
  ck_assert_int_eq(fclose(f), 0);
}

/* Separable 4-feature samples: feature `label` is 255, the others below 60. */
static void write_split(const char *dir, const char *prefix, uint32_t count, int64_t seed) {
  uint8_t px[256 * SM_D], lb[256];
  ck_assert_uint_le(count, 256);
  for (uint32_t s = 0; s < count; s++) {
    lb[s] = (uint8_t)(hash_uniform(seed, s) * SM_C);
    for (int k = 0; k < SM_D; k++)
      px[s * SM_D + k] = k == lb[s] ? 255 : (uint8_t)(hash_uniform(seed + 1, s * SM_D + k) * 60);
  }
  char *ip = fmt("%s/%s-images-idx3-ubyte", dir, prefix), *lp = fmt("%s/%s-labels-idx1-ubyte", dir, prefix);
  write_idx(ip, 2, (uint32_t[]){count, SM_D}, px, (size_t)count * SM_D);
  write_idx(lp, 1, (uint32_t[]){count}, lb, count);
  free(ip), free(lp);
}

/* The generated trainer, linked with the runtime, trains the softmax model
 * on an IDX dataset through octo_main and reaches a high test accuracy. */
static void trainer_learns_separable_idx(const char *dir) {
  write_split(dir, "train", 96, 11);
  write_split(dir, "t10k", 30, 23);
  char *cmd = fmt("'%s/trainer' --data '%s' --epochs 5 --quiet > '%s/train.txt' 2>&1", dir, dir, dir);
  int st = sh(cmd);
  char *op = fmt("%s/train.txt", dir);
  char *out = read_file(op);
  ck_assert_msg(st == 0, "trainer exited %d:\n%s", st, out);
  const char *at = strstr(out, "final test accuracy: ");
  ck_assert_msg(at != NULL, "no accuracy in:\n%s", out);
  double acc = strtod(at + strlen("final test accuracy: "), NULL);
  ck_assert_msg(acc >= 90.0, "accuracy %.2f%% too low:\n%s", acc, out);
  free(cmd), free(op), free(out);
}

START_TEST(main_fills_octo_model_and_links_with_runtime) {
  Arena *a = arena_new();
  const char *dir = test_dir(a, "main");
  emit_to(prog_softmax(a), dir);
  char *m = fmt("%s/t_main.c", dir);
  char *text = read_file(m);
  const char *want[] = {"#include \"octo_runtime.h\"", ".train_step = t_train_step_pred,",
                        ".hash = T_HASH,", ".epochs_default = 3,", ".seed_default = UINT64_C(7),",
                        "{\"fc.weight\", OCTO_F32, OCTO_TENSOR_PARAM, 2, {3, 4, 0, 0, 0, 0}, 0, 48},",
                        "return octo_main(&model, argc, argv);"};
  for (size_t i = 0; i < sizeof want / sizeof *want; i++)
    ck_assert_msg(strstr(text, want[i]) != NULL, "main lacks '%s':\n%.3000s", want[i], text);
  char *cmd = fmt("cc " STRICT " -I'" RUNTIME_DIR "' -I'%s' -c '%s' -o '%s/t_main.o'", dir, m, dir);
  ck_assert_msg(sh(cmd) == 0, "failed: %s", cmd);
  const char *lib = getenv("RUNTIME_LIB");
  if (lib && access(lib, R_OK) == 0) {
    const char *flags = getenv("CB_LINK_FLAGS"); /* the runtime's sanitizers */
    char *link = fmt("cc " STRICT " -c '%s/t.c' -o '%s/t.o' && cc %s '%s/t_main.o' '%s/t.o' '%s' -lz -lm "
                     "-o '%s/trainer' && '%s/trainer' --help > '%s/help.txt'",
                     dir, dir, flags ? flags : "", dir, dir, lib, dir, dir, dir);
    ck_assert_msg(sh(link) == 0, "failed: %s", link);
    free(link);
    trainer_learns_separable_idx(dir);
  }
  free(m), free(text), free(cmd);
  arena_free(a);
}
END_TEST

/* Names are arbitrary strings in the IR: they must not break the C. */
START_TEST(odd_names_are_escaped_and_compile) {
  Arena *a = arena_new();
  LProgram *p = prog_softmax(a);
  p->name = "my-net */ v2";
  lprog_find_buffer(p, "fc.weight")->name = "fc\"weight\\*/";
  lprog_find_buffer(p, "logits")->name = "int";
  p->kernels[1]->origin = "dense */ #include <stdio.h>";
  p->kernels[1]->name = "expf";
  ck_assert_str_eq(c_prefix(p), "my_net____v2");
  const char *dir = test_dir(a, "odd");
  emit_to(p, dir);
  char *cmd = fmt("cc " STRICT " -c '%s/t.c' -o '%s/t.o' && cc " STRICT " -I'" RUNTIME_DIR "' "
                  "-c '%s/t_main.c' -o '%s/t_main.o'", dir, dir, dir, dir);
  ck_assert_msg(sh(cmd) == 0, "failed: %s", cmd);
  char *cp = fmt("%s/t.c", dir);
  char *c = read_file(cp);
  ck_assert_msg(strstr(c, "{\"fc\\\"weight\\\\*/\", 0, 0, 2,") != NULL, "%.3000s", c);
  ck_assert_msg(strstr(c, "float *restrict int_2") != NULL, "%.3000s", c);
  ck_assert_msg(strstr(c, "int my_net____v2_init(void *state, uint64_t seed) {") != NULL, "%.3000s", c);
  free(cmd), free(cp), free(c);
  arena_free(a);
}
END_TEST

/* ---- refusals and the hash ------------------------------------------ */

static char *emit_error(LProgram *p) {
  char *err = NULL, *c = NULL, *h = NULL;
  size_t el = 0, cl = 0, hl = 0;
  FILE *ef = open_memstream(&err, &el), *cf = open_memstream(&c, &cl), *hf = open_memstream(&h, &hl);
  CEmitOptions o = {.header_name = "t.h", .errors = ef};
  ck_assert(!c_emit(p, &o, cf, hf));
  fclose(ef), fclose(cf), fclose(hf);
  free(c), free(h);
  return err;
}

START_TEST(emit_refuses_state_write_in_predict) {
  Arena *a = arena_new();
  LProgram *p = prog_softmax(a);
  lprog_call(p, LENTRY_PREDICT, p->kernels[4]); /* sgd writes the weights */
  char *err = emit_error(p);
  ck_assert_msg(strstr(err, "kernel 'sgd': predict writes state buffer %fc.weight"), "%s", err);
  free(err);
  arena_free(a);
}
END_TEST

START_TEST(emit_refuses_work_in_init_and_unplanned_buffers) {
  Arena *a = arena_new();
  LProgram *p = prog_softmax(a);
  lprog_call(p, LENTRY_INIT, p->kernels[1]); /* fc_fwd: work buffer, x, n */
  char *err = emit_error(p);
  ck_assert_msg(strstr(err, "init uses work buffer %logits"), "%s", err);
  ck_assert_msg(strstr(err, "init uses ARG buffer %x"), "%s", err);
  ck_assert_msg(strstr(err, "init has no argument 'n'"), "%s", err);
  free(err);
  p = prog_softmax(a);
  lprog_find_buffer(p, "fc.bias")->offset = -1;
  err = emit_error(p);
  ck_assert_msg(strstr(err, "buffer %fc.bias is not planned"), "%s", err);
  free(err);
  arena_free(a);
}
END_TEST

START_TEST(hash_ignores_cosmetics_and_sees_semantics) {
  Arena *a = arena_new();
  uint64_t h0 = lprog_hash(prog_softmax(a));
  ck_assert_uint_eq(lprog_hash(prog_softmax(a)), h0);
  LProgram *p = prog_softmax(a);
  p->kernels[1]->loc.line = 99;
  p->kernels[1]->origin = "renamed";
  p->kernels[1]->name = "other";
  ck_assert_uint_eq(lprog_hash(p), h0);
  p = prog_softmax(a);
  p->kernels[4]->body->body->value->b->a->f = 0.25f; /* the SGD learning rate */
  ck_assert_uint_ne(lprog_hash(p), h0);
  p = prog_softmax(a);
  lprog_find_buffer(p, "fc.bias")->offset += 64;
  ck_assert_uint_ne(lprog_hash(p), h0);
  p = prog_softmax(a);
  p->batch = 16;
  ck_assert_uint_ne(lprog_hash(p), h0);
  ck_assert_uint_ne(lprog_hash(prog_intops(a)), h0);
  arena_free(a);
}
END_TEST

/* The test programs are valid loop IR (what a lowering must produce), and
 * the hash survives print -> read, where variables are created anew. */
START_TEST(programs_verify_and_hash_survives_text_round_trip) {
  Arena *a = arena_new();
  LProgram *progs[] = {prog_softmax(a), prog_intops(a), prog_floatops(a)};
  for (int i = 0; i < 3; i++) {
    char *err = NULL, *text = NULL;
    size_t el = 0, tl = 0;
    FILE *ef = open_memstream(&err, &el), *tf = open_memstream(&text, &tl);
    Diag *d = diag_new(ef);
    bool ok = lprog_verify(progs[i], d);
    lprog_print(tf, progs[i]);
    fclose(tf);
    LProgram *back = ok ? lprog_read(a, d, "t.loops", text, tl) : NULL;
    diag_free(d);
    fclose(ef);
    ck_assert_msg(ok, "program %d does not verify:\n%.3000s", i, err);
    ck_assert_msg(back != NULL, "program %d does not read back:\n%.3000s", i, err);
    ck_assert_uint_eq(lprog_hash(back), lprog_hash(progs[i]));
    free(err), free(text);
  }
  arena_free(a);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("cbackend");
  TCase *text = tcase_create("text");
  tcase_add_test(text, header_declares_api_sizes_and_table);
  tcase_add_test(text, kernels_print_as_readable_c_with_hints);
  tcase_add_test(text, source_uses_only_allowed_headers_and_no_static_data);
  tcase_add_test(text, emit_refuses_state_write_in_predict);
  tcase_add_test(text, emit_refuses_work_in_init_and_unplanned_buffers);
  tcase_add_test(text, hash_ignores_cosmetics_and_sees_semantics);
  tcase_add_test(text, programs_verify_and_hash_survives_text_round_trip);
  suite_add_tcase(s, text);
  TCase *runs = tcase_create("runs");
  tcase_set_timeout(runs, 120);
  tcase_add_test(runs, objects_have_no_data_or_bss_symbols);
  tcase_add_test(runs, softmax_gcc_matches_reference);
  tcase_add_test(runs, softmax_clang_matches_reference);
  tcase_add_test(runs, softmax_loss_falls_over_20_steps);
  tcase_add_test(runs, predict_reads_state_only_and_matches_argmax);
  tcase_add_test(runs, train_step_without_pred_equals_train_step_pred);
  tcase_add_test(runs, bad_arguments_return_nan_or_minus_one);
  tcase_add_test(runs, intops_gcc_exact_for_every_type);
  tcase_add_test(runs, intops_clang_exact_for_every_type);
  tcase_add_test(runs, emitted_code_clean_under_ubsan_and_asan);
  tcase_add_test(runs, floatops_gcc_match_libm_and_exact_constants);
  tcase_add_test(runs, floatops_clang_match_libm_and_exact_constants);
  tcase_add_test(runs, cross_compilers_compile_warning_free);
  tcase_add_test(runs, qemu_arm_output_matches_host);
  tcase_add_test(runs, qemu_aarch64_output_matches_host);
  tcase_add_test(runs, qemu_riscv64_output_matches_host);
  tcase_add_test(runs, main_fills_octo_model_and_links_with_runtime);
  tcase_add_test(runs, odd_names_are_escaped_and_compile);
  suite_add_tcase(s, runs);
  return s;
}

int main(void) {
  SRunner *r = srunner_create(suite());
  srunner_run_all(r, CK_NORMAL);
  int failed = srunner_ntests_failed(r);
  srunner_free(r);
  return failed ? 1 : 0;
}
