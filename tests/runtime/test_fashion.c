/* test_fashion.c: the toy trainer on real Fashion-MNIST (--limit 2000
 * --epochs 1) reaches more than 60% test accuracy. Skipped (exit 77) when
 * Debian's dataset-fashion-mnist is not installed. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixtures.h"

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

START_TEST(toy_model_learns_fashion_mnist_subset_above_60_percent) {
  char *dir = fx_tempdir();
  char *log = fx_path(dir, "run.csv");
  const char *args[] = {"--data", FASHION_DIR, "--limit", "2000", "--epochs", "1",
                        "--log", log, NULL};
  ck_assert_int_eq(fx_run(dir, args), 0);
  char *out = fx_out(dir);
  const char *f = strstr(out, "final test accuracy: ");
  ck_assert_msg(f != NULL, "output: %s", out);
  double acc = atof(f + strlen("final test accuracy: "));
  ck_assert_msg(acc > 60.0, "accuracy %.2f%%", acc);
  char *csv = fx_slurp(log, NULL);
  ck_assert_ptr_nonnull(strstr(csv, "\n1,"));
  free(csv);
  free(out);
  free(log);
  fx_rmtree(dir);
  free(dir);
}
END_TEST

int main(void) {
  if (access(FASHION_DIR "/train-images-idx3-ubyte.gz", R_OK) != 0 &&
      access(FASHION_DIR "/train-images-idx3-ubyte", R_OK) != 0) {
    printf("skipped: no Fashion-MNIST in " FASHION_DIR "\n");
    return 77;
  }
  Suite *s = suite_create("fashion");
  TCase *tc = tcase_create("fashion");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, toy_model_learns_fashion_mnist_subset_above_60_percent);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
