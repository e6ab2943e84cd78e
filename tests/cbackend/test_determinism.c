/* The loop IR's determinism rule (docs/loops.md): every f32 operation is
 * rounded as written, so no a*b+c may become a fused multiply-add, whatever
 * flags the user builds the emitted C with. A program of a*b+c patterns
 * (programs_int.c: prog_fma) is emitted and compiled with DET_CC DET_FLAGS
 * (say gcc -O3 -march=native -std=gnu11, where gcc fuses by default);
 * DET_OBJDUMP -d of the object must show no instruction matching DET_FMA
 * (an extended regex: that target's fused multiply-adds), and the results,
 * run through driver.c (by DET_RUNNER, e.g. qemu, when set), must equal the
 * unfused reference computed here bit for bit.
 *
 * The control: the same C with the determinism pragmas removed. With
 * DET_CONTROL=fuses it must contain fused multiply-adds and give other
 * numbers, which proves that the checks above can fail; the test is then
 * skipped (77) on a machine whose compiler does not fuse at all. It is
 * skipped too when the compiler, objdump or runner is not installed. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbkit.h"
#include "programs_int.h"

static const char *env(const char *name) {
  const char *v = getenv(name);
  return v ? v : "";
}

static float fa[FMA_N], fb[FMA_N], fc[FMA_N];

/* Values whose product is inexact; c near -a*b half of the time, where a
 * fused multiply-add differs most from the rounded product. */
static void inputs(void) {
  uint64_t z = 0x243F6A8885A308D3u;
  for (int i = 0; i < FMA_N; i++) {
    z = z * 6364136223846793005u + 1442695040888963407u;
    fa[i] = ((float)(uint32_t)(z >> 40) / 16777216.0f - 0.5f) * 4.0f;
    z = z * 6364136223846793005u + 1442695040888963407u;
    fb[i] = ((float)(uint32_t)(z >> 40) / 16777216.0f - 0.5f) * 4.0f;
    z = z * 6364136223846793005u + 1442695040888963407u;
    float c = ((float)(uint32_t)(z >> 40) / 16777216.0f - 0.5f) * 4.0f;
    fc[i] = i % 2 ? c : -(fa[i] * fb[i]) * (1.0f + c * 0x1p-20f);
  }
}

/* Each product rounded to f32 before the sum: the IR's meaning. */
static float mul(float a, float b) {
  volatile float p = a * b;
  return p;
}

static void reference(float *o, float *dot) {
  for (int i = 0; i < FMA_N; i++) {
    float p = mul(fa[i], fb[i]);
    o[i] = p + fc[i];
    o[FMA_N + i] = fc[i] + p;
    o[2 * FMA_N + i] = p - fc[i];
    o[3 * FMA_N + i] = fc[i] - p;
    o[4 * FMA_N + i] = p + fc[i];
  }
  float acc = 0.0f;
  for (int j = 0; j < FMA_N; j++) acc = acc + mul(fa[j], fb[j]);
  *dot = acc;
}

/* Fused multiply-adds in dir/NAME.o. */
static int count_fma(const char *dir, const char *name) {
  char *cmd = fmt("%s -d '%s/%s.o' | grep -cE '%s' > '%s/%s.fma'; true", env("DET_OBJDUMP"),
                     dir, name, env("DET_FMA"), dir, name);
  ck_assert_int_eq(sh(cmd), 0);
  char *path = fmt("%s/%s.fma", dir, name);
  char *text = read_text(path);
  int n = atoi(text);
  free(cmd), free(path), free(text);
  return n;
}

static char *set_floats(char *s, const char *name, const float *v) {
  s = append(s, "set %s", name);
  for (int i = 0; i < FMA_N; i++) s = append(s, " %.9g", (double)v[i]);
  return append(s, "\n");
}

/* Builds dir/SRC as NAME, runs it; returns how many of the 5 * FMA_N + 1
 * results differ from the reference in any bit. */
static int differences(const char *dir, const char *src, const char *name, int *fmas) {
  const char *cc = env("DET_CC");
  const char *ld = strcmp(env("DET_RUNNER"), "") ? "-static" : "";
  cb_build(dir, cc, env("DET_FLAGS"), src, ld, name);
  *fmas = count_fma(dir, name);
  char *script = set_floats(fmt("init 0\n"), "fa", fa);
  script = set_floats(script, "fb", fb);
  script = set_floats(script, "fc", fc);
  script = append(script, "step 1 0 0 0\nget o\nget dot\n");
  char *out = cb_run(dir, env("DET_RUNNER"), name, script);
  static float got[FMA_N * FMA_OPS], want[FMA_N * FMA_OPS];
  float dot, want_dot;
  ck_assert_int_eq(cb_floats(out, "o", got, FMA_N * FMA_OPS), FMA_N * FMA_OPS);
  ck_assert_int_eq(cb_floats(out, "dot", &dot, 1), 1);
  reference(want, &want_dot);
  int n = memcmp(&dot, &want_dot, sizeof dot) != 0;
  for (int i = 0; i < FMA_N * FMA_OPS; i++) n += memcmp(&got[i], &want[i], sizeof got[i]) != 0;
  free(script), free(out);
  return n;
}

START_TEST(no_fused_multiply_add_and_unfused_results_bit_for_bit) {
  Arena *a = arena_new();
  Diag *d = diag_new(stderr);
  LProgram *p = prog_fma(a, d);
  diag_free(d);
  ck_assert_ptr_nonnull(p);
  char *tag = fmt("det_%s_%s", env("DET_CC"), env("DET_FLAGS"));
  for (char *c = tag; *c; c++)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9'))) *c = '_';
  const char *dir = fresh_dir(a, "cbtmp", tag);
  free(tag);
  cb_emit(p, dir);
  /* The control: the determinism pragmas taken out. */
  char *cmd = fmt("grep -v -e 'FP_CONTRACT' -e 'fp-contract' '%s/t.c' > '%s/fused.c'", dir, dir);
  ck_assert_int_eq(sh(cmd), 0);
  free(cmd);
  inputs();
  int fmas, control_fmas;
  int diff = differences(dir, "t.c", "det", &fmas);
  int control_diff = differences(dir, "fused.c", "control", &control_fmas);
  printf("%s %s: %d fused multiply-adds, %d results differ; without the pragmas: %d and %d\n",
         env("DET_CC"), env("DET_FLAGS"), fmas, diff, control_fmas, control_diff);
  ck_assert_msg(fmas == 0, "%d fused multiply-adds in the emitted code", fmas);
  ck_assert_msg(diff == 0, "%d results differ from the unfused reference", diff);
  if (strcmp(env("DET_CONTROL"), "fuses") == 0)
    ck_assert_msg(control_fmas > 0 && control_diff > 0,
                  "the control did not fuse (%d) or gave the same numbers (%d differences): the "
                  "test proves nothing", control_fmas, control_diff);
  arena_free(a);
}
END_TEST

/* Whether `cc flags` fuses a*b+c here (a probe without Check). */
static bool compiler_fuses(void) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd,
           "d=$(mktemp -d) && printf 'float f(float a, float b, float c) { return a * b + c; }\\n'"
           " > $d/p.c && %s %s -c $d/p.c -o $d/p.o && %s -d $d/p.o | grep -qE '%s'; "
           "r=$?; rm -rf $d; exit $r",
           env("DET_CC"), env("DET_FLAGS"), env("DET_OBJDUMP"), env("DET_FMA"));
  return system(cmd) == 0;
}

static bool installed(const char *cmdline) {
  char tool[128], cmd[256];
  if (sscanf(cmdline, "%127s", tool) != 1) return false;
  snprintf(cmd, sizeof cmd, "command -v '%s' > /dev/null 2>&1", tool);
  return system(cmd) == 0;
}

int main(void) {
  const char *need[] = {env("DET_CC"), env("DET_OBJDUMP"), env("DET_RUNNER")};
  for (int i = 0; i < 3; i++)
    if (*need[i] && !installed(need[i])) {
      printf("%s is not installed: skipped\n", need[i]);
      return 77;
    }
  if (strcmp(env("DET_CONTROL"), "fuses") == 0 && !compiler_fuses()) {
    printf("%s %s does not fuse a*b+c on this machine: nothing to prove, skipped\n",
           env("DET_CC"), env("DET_FLAGS"));
    return 77;
  }
  Suite *s = suite_create("determinism");
  TCase *tc = tcase_create("fma");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, no_fused_multiply_add_and_unfused_results_bit_for_bit);
  suite_add_tcase(s, tc);
  SRunner *r = srunner_create(s);
  srunner_run_all(r, CK_NORMAL);
  int failed = srunner_ntests_failed(r);
  srunner_free(r);
  return failed ? 1 : 0;
}
