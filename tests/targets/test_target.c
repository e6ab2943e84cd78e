/* The target configuration (targets/target.h): what each row of the table
 * gives by default, and what -mcpu and -mattr change. */
#include <check.h>
#include <stdlib.h>

#include "target.h"

static TargetConfig config(const char *name, const char *mcpu, const char *mattr) {
  TargetConfig c;
  char err[256];
  const Target *t = target_lookup(name);
  ck_assert_ptr_nonnull(t);
  ck_assert_msg(target_configure(&c, t, mcpu, mattr, err, sizeof err), "%s", err);
  return c;
}

START_TEST(rows_give_their_vector_width_fpu_and_dot_product) {
  TargetConfig x86 = config("x86_64", NULL, NULL), arm = config("armv7", NULL, NULL);
  TargetConfig m4 = config("cortex-m4", NULL, NULL), rv32 = config("riscv32", NULL, NULL);
  TargetConfig rv64 = config("riscv64-linux-gnu", NULL, NULL), a64 = config("aarch64", NULL, NULL);
  ck_assert_int_eq(x86.vector_bits, 128);
  ck_assert(x86.has_fpu); /* not a feature: SSE2 floats are part of x86-64 */
  ck_assert_int_eq(arm.vector_bits, 128);
  ck_assert(arm.has_fpu);
  ck_assert_int_eq(m4.vector_bits, 0);
  ck_assert(m4.has_fpu);
  ck_assert(!rv32.has_fpu);
  ck_assert(rv64.has_fpu);
  ck_assert(a64.has_fpu && !a64.has_dot_i8);
  ck_assert_str_eq(arm.cpu, "cortex-a7");
  ck_assert_ptr_null(arm.mattr);
}
END_TEST

START_TEST(mattr_turns_features_on_and_off) {
  TargetConfig c = config("x86_64", "skylake-avx512", "+avx512f,+avx512vnni");
  ck_assert_int_eq(c.vector_bits, 512);
  ck_assert(c.has_dot_i8);
  ck_assert_str_eq(c.cpu, "skylake-avx512");
  ck_assert_str_eq(c.mattr, "+avx512f,+avx512vnni");
  /* x86 vpdpbusd: AVX-VNNI, or AVX512-VNNI with AVX512VL (the 128- and
   * 256-bit forms); by -mattr or implied by -mcpu */
  c = config("x86_64", NULL, "+avx512f,+avx512vnni");
  ck_assert(!c.has_dot_i8);
  c = config("x86_64", NULL, "+avx512f,+avx512vnni,+avx512vl");
  ck_assert(c.has_dot_i8);
  c = config("x86_64", NULL, "+avx2,+avxvnni");
  ck_assert(c.has_dot_i8);
  c = config("x86_64", "sapphirerapids", NULL);
  ck_assert(c.has_dot_i8);
  c = config("x86_64", "alderlake", NULL);
  ck_assert(c.has_dot_i8);
  c = config("x86_64", "alderlake", "-avx2"); /* LLVM drops AVX-VNNI with AVX2 */
  ck_assert(!c.has_dot_i8);
  c = config("x86_64", "icelake-server", "-avx512vl");
  ck_assert(!c.has_dot_i8);
  c = config("x86_64", "sapphirerapids", "-avx512f"); /* AVX-VNNI is left */
  ck_assert(c.has_dot_i8);
  c = config("x86_64", "znver3", NULL);
  ck_assert(!c.has_dot_i8);
  c = config("x86_64", NULL, "+avx512f,-avx512f");
  ck_assert_int_eq(c.vector_bits, 256);
  c = config("armv7", NULL, "-neon");
  ck_assert_int_eq(c.vector_bits, 0);
  c = config("aarch64", NULL, "+dotprod");
  ck_assert(c.has_dot_i8);
  c = config("aarch64", NULL, NULL); /* the default CPU (generic) has none */
  ck_assert(!c.has_dot_i8);
  c = config("aarch64", "cortex-a76", NULL); /* a CPU that implies it */
  ck_assert(c.has_dot_i8);
  c = config("aarch64", "cortex-a76", "-dotprod");
  ck_assert(!c.has_dot_i8);
  c = config("armv7", "cortex-a55", NULL);
  ck_assert(c.has_dot_i8);
  c = config("armv7", "cortex-a53", NULL);
  ck_assert(!c.has_dot_i8);
  c = config("riscv32", NULL, "+f");
  ck_assert(c.has_fpu);
  c = config("riscv64", NULL, "+some-future-feature"); /* kept for the backend */
  ck_assert(c.has_fpu);
}
END_TEST

START_TEST(bad_mattr_and_foreign_native_cpu_are_refused) {
  TargetConfig c;
  char err[256];
  ck_assert(!target_configure(&c, target_lookup("x86_64"), NULL, "avx2", err, sizeof err));
  ck_assert_str_eq(err, "-mattr=avx2: 'avx2' is not +FEATURE or -FEATURE");
  ck_assert(!target_configure(&c, target_lookup("x86_64"), NULL, "+avx2,,+fma", err, sizeof err));
  ck_assert(!target_configure(&c, target_lookup("armv7"), "native", NULL, err, sizeof err));
  ck_assert_str_eq(err, "-mcpu=native: target armv7 is not this machine's; name its CPU "
                        "(default cortex-a7)");
}
END_TEST

int main(void) {
  Suite *s = suite_create("targets");
  TCase *tc = tcase_create("configure");
  tcase_add_test(tc, rows_give_their_vector_width_fpu_and_dot_product);
  tcase_add_test(tc, mattr_turns_features_on_and_off);
  tcase_add_test(tc, bad_mattr_and_foreign_native_cpu_are_refused);
  suite_add_tcase(s, tc);
  SRunner *r = srunner_create(s);
  srunner_run_all(r, CK_NORMAL);
  int failed = srunner_ntests_failed(r);
  srunner_free(r);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
