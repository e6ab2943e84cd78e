/* test_progress.c: what the trainer prints and logs: the stable epoch line,
 * the TTY bar (redrawn with '\r', rate-limited, erased before the epoch
 * line), --quiet, and the CSV log (header once, rows, errors). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "fixtures.h"
#include "rt.h"

static const EpochStats stats = {1, 5, 0.61234, 77.849, 82.1, 12.34, 2456.4, 0, 0};

/* Everything written to f so far, malloc'd. */
static char *contents(FILE *f) {
  long n = ftell(f);
  ck_assert_int_ge(n, 0);
  char *s = malloc((size_t)n + 1);
  ck_assert_ptr_nonnull(s);
  rewind(f);
  ck_assert_uint_eq(fread(s, 1, (size_t)n, f), (size_t)n);
  s[n] = '\0';
  return s;
}

static int count_char(const char *s, char c) {
  int n = 0;
  for (; *s; s++)
    n += *s == c;
  return n;
}

START_TEST(epoch_line_has_the_stable_format) {
  char line[256];
  progress_format(line, sizeof line, &stats);
  ck_assert_str_eq(line, "epoch 1/5  loss 0.6123  train_acc 77.85%  test_acc 82.10%  "
                         "time 12.3s  2456 samples/s");
}
END_TEST

START_TEST(plain_output_is_one_line_per_epoch_without_bar) {
  FILE *f = tmpfile();
  ck_assert_ptr_nonnull(f);
  Progress p;
  progress_init(&p, f, 0, 0, 100);
  progress_epoch_start(&p);
  for (size_t done = 10; done <= 100; done += 10)
    progress_update(&p, 1, 5, done, 1.0 * (double)done, done / 2);
  progress_epoch_end(&p, &stats);
  char *s = contents(f);
  ck_assert_int_eq(count_char(s, '\r'), 0);
  ck_assert_int_eq(count_char(s, '\n'), 1);
  ck_assert_int_eq(strncmp(s, "epoch 1/5  loss 0.6123", 22), 0);
  free(s);
  fclose(f);
}
END_TEST

START_TEST(tty_bar_is_rate_limited_and_erased_before_epoch_line) {
  FILE *f = tmpfile();
  ck_assert_ptr_nonnull(f);
  Progress p;
  progress_init(&p, f, 1, 0, 100000);
  progress_epoch_start(&p);
  /* 1000 quick updates: one draw, plus the final one at 100%. */
  for (size_t done = 1; done < 1000; done++)
    progress_update(&p, 2, 5, done, 0.5 * (double)done, done);
  progress_update(&p, 2, 5, 100000, 50000.0, 75000);
  char *s = contents(f);
  ck_assert_int_eq(count_char(s, '\r'), 2);
  ck_assert_ptr_nonnull(strstr(s, "\repoch 2/5 [........................]   0%"));
  ck_assert_ptr_nonnull(strstr(s, "\repoch 2/5 [########################] 100%"));
  ck_assert_ptr_nonnull(strstr(s, "loss 0.5000  acc 75.00%  ETA 0s\033[K"));
  free(s);
  progress_epoch_end(&p, &stats);
  s = contents(f);
  ck_assert_ptr_nonnull(strstr(s, "\r\033[Kepoch 1/5  loss 0.6123"));
  free(s);
  fclose(f);
}
END_TEST

START_TEST(quiet_prints_no_bar_and_no_epoch_line) {
  FILE *f = tmpfile();
  ck_assert_ptr_nonnull(f);
  Progress p;
  progress_init(&p, f, 1, 1, 10);
  progress_epoch_start(&p);
  progress_update(&p, 1, 1, 10, 5.0, 5);
  progress_epoch_end(&p, &stats);
  ck_assert_int_eq(ftell(f), 0);
  fclose(f);
}
END_TEST

START_TEST(csv_log_writes_header_once_and_rows) {
  char *dir = fx_tempdir(), *path = fx_path(dir, "log.csv");
  RtErr err;
  CsvLog l = {0};
  ck_assert_int_eq(csvlog_open(&l, path, 1, 0, &err), 0); /* append to nothing: new file */
  ck_assert_int_eq(csvlog_row(&l, &stats, &err), 0);
  ck_assert_int_eq(csvlog_close(&l, &err), 0);
  ck_assert_int_eq(csvlog_open(&l, path, 1, 0, &err), 0);
  EpochStats s2 = stats;
  s2.epoch = 2;
  ck_assert_int_eq(csvlog_row(&l, &s2, &err), 0);
  ck_assert_int_eq(csvlog_close(&l, &err), 0);
  char *csv = fx_slurp(path, NULL);
  ck_assert_str_eq(csv, "epoch,loss,train_acc,test_acc,seconds,samples_per_s\n"
                        "1,0.612340,77.8490,82.1000,12.340,2456.4\n"
                        "2,0.612340,77.8490,82.1000,12.340,2456.4\n");
  free(csv);
  /* Not appending: the file starts over. */
  ck_assert_int_eq(csvlog_open(&l, path, 0, 0, &err), 0);
  ck_assert_int_eq(csvlog_close(&l, &err), 0);
  csv = fx_slurp(path, NULL);
  ck_assert_str_eq(csv, "epoch,loss,train_acc,test_acc,seconds,samples_per_s\n");
  free(csv);
  fx_rmtree(dir);
  free(dir);
  free(path);
}
END_TEST

/* prc.stats: the counters found by name in the tensor table (internal i64
 * scalars <clip>.seen and <clip>.clipped, both present), a column per clip,
 * clipped / seen in a row (empty when the clip saw nothing), and the reset
 * the trainer does at each epoch's start. */
START_TEST(csv_log_has_a_rate_column_per_clip) {
  static const OctoTensorInfo t[] = {
      {"w", OCTO_F32, OCTO_TENSOR_PARAM, 1, {4}, 0, 16},
      {"c1.prc.error.seen", OCTO_I64, OCTO_TENSOR_INTERNAL, 0, {0}, 16, 8},
      {"c1.prc.error.clipped", OCTO_I64, OCTO_TENSOR_INTERNAL, 0, {0}, 24, 8},
      {"step", OCTO_I64, OCTO_TENSOR_INTERNAL, 0, {0}, 32, 8},
      {"d.prc.weight.clipped", OCTO_I64, OCTO_TENSOR_INTERNAL, 0, {0}, 40, 8},
      {"d.prc.weight.seen", OCTO_I64, OCTO_TENSOR_INTERNAL, 0, {0}, 48, 8},
      {"lone.clipped", OCTO_I64, OCTO_TENSOR_INTERNAL, 0, {0}, 56, 8}, /* no .seen */
      {"f.seen", OCTO_F32, OCTO_TENSOR_BUFFER, 0, {0}, 64, 4},         /* not counters */
      {"f.clipped", OCTO_F32, OCTO_TENSOR_BUFFER, 0, {0}, 68, 4},
  };
  OctoModel m = {.name = "clips", .tensors = t, .ntensors = (int)(sizeof t / sizeof t[0])};
  int64_t state[9] = {0};
  state[2] = 200, state[3] = 5, state[4] = 77, state[5] = 0, state[6] = 0, state[7] = 3;
  RtErr err;
  ClipStats cs;
  ck_assert_int_eq(clipstats_find(&cs, &m, &err), 0);
  ck_assert_int_eq(cs.n, 2);
  ck_assert_str_eq(cs.clip[0].name, "c1.prc.error");
  ck_assert_str_eq(cs.clip[1].name, "d.prc.weight");
  char *dir = fx_tempdir(), *path = fx_path(dir, "log.csv");
  CsvLog l = {.clips = &cs, .state = state};
  ck_assert_int_eq(csvlog_open(&l, path, 0, 0, &err), 0);
  ck_assert_int_eq(csvlog_row(&l, &stats, &err), 0);
  clipstats_reset(&cs, state);
  ck_assert(state[2] == 0 && state[3] == 0 && state[6] == 0 && state[5] == 0);
  ck_assert(state[4] == 77 && state[7] == 3); /* step and the lone counter kept */
  state[2] = 8, state[3] = 8, state[6] = 4, state[5] = 1;
  ck_assert_int_eq(csvlog_row(&l, &stats, &err), 0);
  ck_assert_int_eq(csvlog_close(&l, &err), 0);
  char *csv = fx_slurp(path, NULL);
  ck_assert_str_eq(csv, "epoch,loss,train_acc,test_acc,seconds,samples_per_s,c1.prc.error,d.prc.weight\n"
                        "1,0.612340,77.8490,82.1000,12.340,2456.4,0.025,\n"
                        "1,0.612340,77.8490,82.1000,12.340,2456.4,1,0.25\n");
  free(csv);
  clipstats_free(&cs);
  ck_assert_int_eq(cs.n, 0);
  fx_rmtree(dir);
  free(dir);
  free(path);
}
END_TEST

START_TEST(csv_log_in_missing_folder_is_an_error) {
  RtErr err;
  CsvLog l = {0};
  ck_assert_int_eq(csvlog_open(&l, "/nonexistent-octo/log.csv", 0, 0, &err), -1);
  ck_assert_str_eq(err.msg, "/nonexistent-octo/log.csv: cannot open log: No such file or directory");
  ck_assert_ptr_null(l.f);
}
END_TEST

int main(void) {
  Suite *s = suite_create("progress");
  TCase *tc = tcase_create("progress");
  tcase_add_test(tc, epoch_line_has_the_stable_format);
  tcase_add_test(tc, plain_output_is_one_line_per_epoch_without_bar);
  tcase_add_test(tc, tty_bar_is_rate_limited_and_erased_before_epoch_line);
  tcase_add_test(tc, quiet_prints_no_bar_and_no_epoch_line);
  tcase_add_test(tc, csv_log_writes_header_once_and_rows);
  tcase_add_test(tc, csv_log_has_a_rate_column_per_clip);
  tcase_add_test(tc, csv_log_in_missing_folder_is_an_error);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
