/* test_trainer.c: octo_main end to end, through the toy trainer run as a
 * process: training lowers the loss, the epoch line and CSV formats, exit
 * codes (2 usage, 1 runtime), errors before training, and a resumed run
 * that is bit-identical to an uninterrupted one. */
#include <check.h>
#include <math.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fixtures.h"
#include "rt.h"
#include "toy_model.h"

static char *dir, *data;

static void setup(void) {
  dir = fx_tempdir();
  data = fx_path(dir, "data");
  ck_assert_int_eq(mkdir(data, 0755), 0);
  fx_write_toy_dataset(data, 600, 100, 0);
}

static void teardown(void) {
  fx_rmtree(dir);
  free(dir);
  free(data);
}

typedef struct {
  int epoch, epochs;
  double loss, train_acc, test_acc;
  char numbers[128]; /* "loss .. train_acc .. test_acc .." verbatim */
} EpochLine;

static const char epoch_re[] =
    "^epoch ([0-9]+)/([0-9]+)  loss ([0-9]+\\.[0-9]{4})  train_acc ([0-9]+\\.[0-9]{2})%  "
    "test_acc ([0-9]+\\.[0-9]{2})%  time ([0-9]+\\.[0-9])s  ([0-9]+) samples/s$";

/* Every line that starts with "epoch " must match the stable format. */
static int parse_epochs(const char *out, EpochLine *lines, int max) {
  regex_t re;
  ck_assert_int_eq(regcomp(&re, epoch_re, REG_EXTENDED), 0);
  int n = 0;
  const char *p = out;
  while (*p) {
    const char *nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) : strlen(p);
    char line[512];
    ck_assert_uint_lt(len, sizeof line);
    memcpy(line, p, len);
    line[len] = '\0';
    if (strncmp(line, "epoch ", 6) == 0) {
      regmatch_t m[8];
      ck_assert_msg(regexec(&re, line, 8, m, 0) == 0, "bad epoch line: '%s'", line);
      ck_assert_int_lt(n, max);
      EpochLine *e = &lines[n++];
      e->epoch = atoi(line + m[1].rm_so);
      e->epochs = atoi(line + m[2].rm_so);
      e->loss = atof(line + m[3].rm_so);
      e->train_acc = atof(line + m[4].rm_so);
      e->test_acc = atof(line + m[5].rm_so);
      size_t k = (size_t)(m[6].rm_so - m[3].rm_so);
      memcpy(e->numbers, line + m[3].rm_so, k);
      e->numbers[k] = '\0';
    }
    p += len + (nl != NULL);
  }
  regfree(&re);
  return n;
}

static double final_accuracy(const char *out) {
  const char *f = strstr(out, "final test accuracy: ");
  ck_assert_msg(f != NULL, "no final line in: %s", out);
  return atof(f + strlen("final test accuracy: "));
}

START_TEST(training_lowers_loss_and_prints_stable_epoch_lines) {
  const char *args[] = {"--data", data, "--epochs", "3", NULL};
  ck_assert_int_eq(fx_run(dir, args), 0);
  char *out = fx_out(dir);
  EpochLine e[8];
  ck_assert_int_eq(parse_epochs(out, e, 8), 3);
  for (int i = 0; i < 3; i++) {
    ck_assert_int_eq(e[i].epoch, i + 1);
    ck_assert_int_eq(e[i].epochs, 3);
  }
  ck_assert_double_lt(e[2].loss, e[0].loss);
  ck_assert_double_gt(e[2].test_acc, 90.0);
  ck_assert_double_eq_tol(final_accuracy(out), e[2].test_acc, 1e-9);
  free(out);
}
END_TEST

START_TEST(gzip_dataset_trains_like_plain) {
  char *gzdata = fx_path(dir, "gz");
  ck_assert_int_eq(mkdir(gzdata, 0755), 0);
  fx_write_toy_dataset(gzdata, 600, 100, 1);
  const char *a1[] = {"--data", data, "--epochs", "1", NULL};
  const char *a2[] = {"--data", gzdata, "--epochs", "1", NULL};
  EpochLine e1[2], e2[2];
  ck_assert_int_eq(fx_run(dir, a1), 0);
  char *o1 = fx_out(dir);
  ck_assert_int_eq(parse_epochs(o1, e1, 2), 1);
  ck_assert_int_eq(fx_run(dir, a2), 0);
  char *o2 = fx_out(dir);
  ck_assert_int_eq(parse_epochs(o2, e2, 2), 1);
  ck_assert_str_eq(e1[0].numbers, e2[0].numbers);
  free(o1);
  free(o2);
  free(gzdata);
}
END_TEST

START_TEST(log_csv_has_header_and_one_row_per_epoch) {
  char *log = fx_path(dir, "run.csv");
  const char *args[] = {"--data", data, "--epochs", "2", "--log", log, NULL};
  ck_assert_int_eq(fx_run(dir, args), 0);
  char *csv = fx_slurp(log, NULL);
  char *out = fx_out(dir);
  EpochLine e[4];
  ck_assert_int_eq(parse_epochs(out, e, 4), 2);
  const char *header = "epoch,loss,train_acc,test_acc,seconds,samples_per_s\n";
  ck_assert_int_eq(strncmp(csv, header, strlen(header)), 0);
  const char *row = csv + strlen(header);
  for (int i = 0; i < 2; i++) {
    int ep;
    double loss, tr, te, secs, rate;
    ck_assert_int_eq(sscanf(row, "%d,%lf,%lf,%lf,%lf,%lf", &ep, &loss, &tr, &te, &secs, &rate), 6);
    ck_assert_int_eq(ep, i + 1);
    ck_assert_double_eq_tol(loss, e[i].loss, 1e-4);
    ck_assert_double_eq_tol(te, e[i].test_acc, 1e-2);
    row = strchr(row, '\n') + 1;
  }
  ck_assert_str_eq(row, "");
  free(csv);
  free(out);
  free(log);
}
END_TEST

START_TEST(bad_flags_exit_2) {
  const char *bad[][4] = {
      {"--bogus", NULL},        {"--epochs", "abc", NULL}, {"--epochs", NULL},
      {"--limit", "0", NULL},   {"--seed", "-1", NULL},    {"--normalize", "0.5", NULL},
      {"--normalize=0.1,0", NULL}, {"--epochs=", NULL},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ck_assert_msg(fx_run(dir, bad[i]) == 2, "args %s", bad[i][0]);
    char *err = fx_err(dir);
    ck_assert_msg(strstr(err, "error: ") && strstr(err, "--help"), "stderr: %s", err);
    free(err);
  }
  const char *epochs[] = {"--epochs", "abc", NULL};
  ck_assert_int_eq(fx_run(dir, epochs), 2);
  char *err = fx_err(dir);
  ck_assert_str_eq(err, "toy_trainer: error: bad value for option '--epochs': 'abc'\n"
                        "Try 'toy_trainer --help'.\n");
  free(err);
}
END_TEST

START_TEST(help_and_version_exit_0) {
  const char *help[] = {"--help", NULL}, *version[] = {"--version", NULL};
  ck_assert_int_eq(fx_run(dir, help), 0);
  char *out = fx_out(dir);
  ck_assert_ptr_nonnull(strstr(out, "--resume FILE"));
  free(out);
  ck_assert_int_eq(fx_run(dir, version), 0);
  out = fx_out(dir);
  ck_assert_ptr_nonnull(strstr(out, "toy trainer (octo-runtime "));
  free(out);
}
END_TEST

START_TEST(bad_data_exits_1_before_training) {
  char *missing = fx_path(dir, "nowhere");
  const char *a1[] = {"--data", missing, NULL};
  ck_assert_int_eq(fx_run(dir, a1), 1);
  char *err = fx_err(dir);
  ck_assert_ptr_nonnull(strstr(err, "no train-images-idx3-ubyte or train-images-idx3-ubyte.gz"));
  free(err);
  /* A broken test split is found before the first epoch. */
  char *labels = fx_path(data, "t10k-labels-idx1-ubyte");
  uint32_t dims[1] = {100};
  uint8_t lb[100] = {0};
  lb[50] = 42;
  fx_write_idx(labels, 0, 1, dims, lb, 100);
  char *log = fx_path(dir, "run.csv"), *ck = fx_path(dir, "c.ckpt");
  const char *a2[] = {"--data", data, "--log", log, "--save", ck, NULL};
  ck_assert_int_eq(fx_run(dir, a2), 1);
  err = fx_err(dir);
  ck_assert_ptr_nonnull(strstr(err, "label 42 of sample 50 is out of range"));
  char *out = fx_out(dir);
  ck_assert_str_eq(out, "");
  ck_assert_int_eq(fx_exists(log), 0);
  ck_assert_int_eq(fx_exists(ck), 0);
  free(err);
  free(out);
  free(missing);
  free(labels);
  free(log);
  free(ck);
}
END_TEST

START_TEST(bad_log_path_exits_1_before_training) {
  char *log = fx_path(dir, "missing/run.csv");
  const char *args[] = {"--data", data, "--log", log, NULL};
  ck_assert_int_eq(fx_run(dir, args), 1);
  char *out = fx_out(dir), *err = fx_err(dir);
  ck_assert_ptr_null(strstr(out, "epoch "));
  ck_assert_ptr_nonnull(strstr(err, "cannot open log"));
  free(out);
  free(err);
  free(log);
}
END_TEST

START_TEST(unwritable_save_path_exits_1_before_training) {
  char *ck = fx_path(dir, "missing/c.ckpt");
  const char *args[] = {"--data", data, "--epochs", "1", "--save", ck, NULL};
  ck_assert_int_eq(fx_run(dir, args), 1);
  char *err = fx_err(dir), *out = fx_out(dir);
  ck_assert_ptr_nonnull(strstr(err, "cannot write checkpoint"));
  ck_assert_ptr_null(strstr(out, "epoch "));
  ck_assert_int_eq(fx_exists(ck), 0);
  free(err);
  free(out);
  free(ck);
}
END_TEST

START_TEST(corrupt_or_foreign_checkpoint_exits_1) {
  char *ck = fx_path(dir, "c.ckpt");
  const char *save[] = {"--data", data, "--epochs", "1", "--save", ck, NULL};
  ck_assert_int_eq(fx_run(dir, save), 0);
  size_t len;
  char *raw = fx_slurp(ck, &len);
  raw[len / 2] ^= 0x10;
  fx_write_raw(ck, 0, raw, len);
  const char *resume[] = {"--data", data, "--resume", ck, NULL};
  ck_assert_int_eq(fx_run(dir, resume), 1);
  char *err = fx_err(dir);
  ck_assert_ptr_nonnull(strstr(err, "corrupt (CRC mismatch)"));
  free(err);
  free(raw);
  free(ck);
}
END_TEST

START_TEST(quiet_prints_only_the_final_line) {
  const char *args[] = {"--data", data, "--epochs", "1", "--quiet", NULL};
  ck_assert_int_eq(fx_run(dir, args), 0);
  char *out = fx_out(dir);
  ck_assert_int_eq(strncmp(out, "final test accuracy: ", 21), 0);
  ck_assert_ptr_eq(strchr(out, '\n'), out + strlen(out) - 1); /* one line only */
  free(out);
}
END_TEST

START_TEST(limit_uses_first_samples_and_changes_training) {
  const char *full[] = {"--data", data, "--epochs", "1", NULL};
  const char *lim[] = {"--data", data, "--epochs", "1", "--limit", "64", "--test-limit", "10", NULL};
  EpochLine a[2], b[2];
  ck_assert_int_eq(fx_run(dir, full), 0);
  char *o1 = fx_out(dir);
  ck_assert_int_eq(parse_epochs(o1, a, 2), 1);
  ck_assert_int_eq(fx_run(dir, lim), 0);
  char *o2 = fx_out(dir);
  ck_assert_int_eq(parse_epochs(o2, b, 2), 1);
  ck_assert_str_ne(a[0].numbers, b[0].numbers);
  /* 10 test samples: accuracy is a multiple of 10%. */
  ck_assert_double_eq_tol(b[0].test_acc / 10.0, (double)(int)(b[0].test_acc / 10.0 + 0.5), 1e-9);
  free(o1);
  free(o2);
}
END_TEST

START_TEST(resume_is_bit_identical_to_uninterrupted_run) {
  char *straight = fx_path(dir, "straight.ckpt"), *split = fx_path(dir, "split.ckpt");
  const char *a[] = {"--data", data, "--epochs", "3", "--seed", "9", "--save", straight, NULL};
  ck_assert_int_eq(fx_run(dir, a), 0);
  char *o1 = fx_out(dir);
  const char *b[] = {"--data", data, "--epochs", "2", "--seed", "9", "--save", split, NULL};
  ck_assert_int_eq(fx_run(dir, b), 0);
  const char *c[] = {"--data", data, "--epochs", "3", "--resume", split, "--save", split, NULL};
  ck_assert_int_eq(fx_run(dir, c), 0);
  char *o2 = fx_out(dir);
  EpochLine e1[4], e2[4];
  ck_assert_int_eq(parse_epochs(o1, e1, 4), 3);
  ck_assert_int_eq(parse_epochs(o2, e2, 4), 1);
  ck_assert_int_eq(e2[0].epoch, 3);
  ck_assert_str_eq(e1[2].numbers, e2[0].numbers);
  /* The two checkpoints (state block, seed, epoch count) are byte-identical. */
  size_t l1, l2;
  char *c1 = fx_slurp(straight, &l1), *c2 = fx_slurp(split, &l2);
  ck_assert_uint_eq(l1, l2);
  ck_assert_mem_eq(c1, c2, l1);
  /* And they differ from a 2-epoch state (the resume did train). */
  const char *d[] = {"--data", data, "--epochs", "2", "--seed", "9", "--save", split, NULL};
  ck_assert_int_eq(fx_run(dir, d), 0);
  char *c3 = fx_slurp(split, NULL);
  ck_assert(memcmp(c1, c3, l1) != 0);
  free(o1);
  free(o2);
  free(c1);
  free(c2);
  free(c3);
  free(straight);
  free(split);
}
END_TEST

START_TEST(resume_of_finished_run_only_evaluates) {
  char *ck = fx_path(dir, "c.ckpt");
  const char *a[] = {"--data", data, "--epochs", "1", "--save", ck, NULL};
  ck_assert_int_eq(fx_run(dir, a), 0);
  char *o1 = fx_out(dir);
  const char *b[] = {"--data", data, "--epochs", "1", "--resume", ck, NULL};
  ck_assert_int_eq(fx_run(dir, b), 0);
  char *o2 = fx_out(dir);
  EpochLine e[2];
  ck_assert_int_eq(parse_epochs(o2, e, 2), 0);
  ck_assert_ptr_nonnull(strstr(o2, "nothing to train: 1 of 1 epochs done"));
  ck_assert_double_eq_tol(final_accuracy(o1), final_accuracy(o2), 1e-9);
  free(o1);
  free(o2);
  free(ck);
}
END_TEST

START_TEST(octo_main_in_process_returns_status_without_exiting) {
  char *argv[] = {"toy", "--epochs", "x", NULL};
  FILE *saved = freopen("/dev/null", "w", stderr);
  ck_assert_ptr_nonnull(saved);
  ck_assert_int_eq(octo_main(&toy_model, 3, argv), 2);
}
END_TEST

static int nan_step(void *state, void *work, const void *x, const void *y, int n, void *pred,
                    void *loss) {
  (void)state, (void)work, (void)x, (void)y;
  for (int i = 0; i < n; i++)
    ((int32_t *)pred)[i] = 0;
  float nan = NAN;
  memcpy(loss, &nan, sizeof nan);
  return 0;
}

static void silence(void) {
  ck_assert_ptr_nonnull(freopen("/dev/null", "w", stdout));
  ck_assert_ptr_nonnull(freopen("/dev/null", "w", stderr));
}

START_TEST(diverging_model_exits_1_and_saves_nothing) {
  OctoModel m = toy_model;
  m.train_step = nan_step;
  char *ck = fx_path(dir, "c.ckpt");
  char *argv[] = {"toy", "--data", data, "--save", ck, NULL};
  silence();
  ck_assert_int_eq(octo_main(&m, 5, argv), 1);
  ck_assert_int_eq(fx_exists(ck), 0);
  free(ck);
}
END_TEST

START_TEST(invalid_descriptor_exits_1) {
  OctoModel m = toy_model;
  m.state_align = 48;
  char *argv[] = {"toy", "--data", data, NULL};
  silence();
  ck_assert_int_eq(octo_main(&m, 3, argv), 1);
  m = toy_model;
  m.eval = NULL;
  ck_assert_int_eq(octo_main(&m, 3, argv), 1);
  m = toy_model;
  m.loss_dtype = OCTO_I32; /* this runtime reads f32 losses */
  ck_assert_int_eq(octo_main(&m, 3, argv), 1);
}
END_TEST

START_TEST(resume_appends_to_existing_log) {
  char *ck = fx_path(dir, "c.ckpt"), *log = fx_path(dir, "run.csv");
  const char *a[] = {"--data", data, "--epochs", "1", "--save", ck, "--log", log, NULL};
  ck_assert_int_eq(fx_run(dir, a), 0);
  const char *b[] = {"--data", data, "--epochs", "2", "--resume", ck, "--log", log, NULL};
  ck_assert_int_eq(fx_run(dir, b), 0);
  char *csv = fx_slurp(log, NULL);
  const char *rows = strchr(csv, '\n') + 1;
  ck_assert_int_eq(strncmp(rows, "1,", 2), 0);
  ck_assert_int_eq(strncmp(strchr(rows, '\n') + 1, "2,", 2), 0);
  ck_assert_ptr_null(strstr(rows, "epoch,"));
  free(csv);
  free(ck);
  free(log);
}
END_TEST

/* --benchmark: a process run without any dataset prints one stable line. */
START_TEST(benchmark_runs_without_dataset_and_prints_throughput) {
  char *missing = fx_path(dir, "nowhere");
  const char *a[] = {"--data", missing, "--benchmark", "40", NULL};
  ck_assert_int_eq(fx_run(dir, a), 0);
  char *out = fx_out(dir);
  regex_t re;
  regmatch_t m[2];
  ck_assert_int_eq(regcomp(&re, "^benchmark: 40 steps, batch 32, ([0-9]+\\.[0-9]) samples/s\n$",
                           REG_EXTENDED),
                   0);
  ck_assert_msg(regexec(&re, out, 2, m, 0) == 0, "stdout: '%s'", out);
  ck_assert_double_gt(atof(out + m[1].rm_so), 0);
  regfree(&re);
  free(out);
  free(missing);
}
END_TEST

START_TEST(benchmark_bad_steps_or_file_options_exit_2) {
  const char *bad[][4] = {{"--benchmark", "0", NULL},    {"--benchmark", "x", NULL},
                          {"--benchmark", NULL},         {"--benchmark=5", "--save", "c", NULL},
                          {"--benchmark=5", "--log", "l", NULL}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ck_assert_msg(fx_run(dir, bad[i]) == 2, "args %s %s", bad[i][0], bad[i][1]);
    char *out = fx_out(dir);
    ck_assert_ptr_null(strstr(out, "benchmark:"));
    free(out);
  }
  const char *save[] = {"--benchmark", "5", "--save", "c.ckpt", NULL};
  ck_assert_int_eq(fx_run(dir, save), 2);
  char *err = fx_err(dir);
  ck_assert_str_eq(err, "toy_trainer: error: --benchmark cannot be combined with option '--save'\n"
                        "Try 'toy_trainer --help'.\n");
  free(err);
}
END_TEST

/* In-process: count the calls and check each is a full batch of valid,
 * identical data (the inputs are fixed, not redrawn per step). */
typedef struct {
  int calls, bad;
  uint8_t first_x;
  int32_t first_y;
} StepLog;
static StepLog step_log;

static int counting_step(void *state, void *work, const void *xv, const void *yv, int n,
                         void *pred, void *loss) {
  (void)state, (void)work, (void)pred;
  const uint8_t *x = xv;
  const int32_t *y = yv;
  if (step_log.calls++ == 0) {
    step_log.first_x = x[0];
    step_log.first_y = y[0];
  }
  if (n != TOY_BATCH || x[0] != step_log.first_x || y[0] != step_log.first_y)
    step_log.bad++;
  for (int i = 0; i < n; i++)
    step_log.bad += y[i] < 0 || y[i] >= TOY_CLASSES;
  float one = 1.0f;
  memcpy(loss, &one, sizeof one);
  return 0;
}

START_TEST(benchmark_calls_train_step_steps_plus_warmup_times_on_fixed_batches) {
  OctoModel m = toy_model;
  m.train_step = counting_step;
  step_log = (StepLog){0};
  char *argv[] = {"toy", "--benchmark", "17", NULL};
  ck_assert_ptr_nonnull(freopen("/dev/null", "w", stdout));
  ck_assert_int_eq(octo_main(&m, 3, argv), 0);
  ck_assert_int_eq(step_log.calls, 17 + 3);
  ck_assert_int_eq(step_log.bad, 0);
}
END_TEST

/* The benchmark passes pred = NULL, which the API allows. */
static int nan_step_no_pred(void *state, void *work, const void *x, const void *y, int n,
                            void *pred, void *loss) {
  (void)state, (void)work, (void)x, (void)y, (void)n;
  ck_assert_ptr_null(pred);
  float nan = NAN;
  memcpy(loss, &nan, sizeof nan);
  return 0;
}

START_TEST(benchmark_diverging_model_exits_1) {
  OctoModel m = toy_model;
  m.train_step = nan_step_no_pred;
  char *argv[] = {"toy", "--benchmark", "5", NULL};
  silence();
  ck_assert_int_eq(octo_main(&m, 3, argv), 1);
}
END_TEST

int main(void) {
  Suite *s = suite_create("trainer");
  TCase *tc = tcase_create("trainer");
  tcase_set_timeout(tc, 60);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, training_lowers_loss_and_prints_stable_epoch_lines);
  tcase_add_test(tc, gzip_dataset_trains_like_plain);
  tcase_add_test(tc, log_csv_has_header_and_one_row_per_epoch);
  tcase_add_test(tc, bad_flags_exit_2);
  tcase_add_test(tc, help_and_version_exit_0);
  tcase_add_test(tc, bad_data_exits_1_before_training);
  tcase_add_test(tc, bad_log_path_exits_1_before_training);
  tcase_add_test(tc, unwritable_save_path_exits_1_before_training);
  tcase_add_test(tc, corrupt_or_foreign_checkpoint_exits_1);
  tcase_add_test(tc, quiet_prints_only_the_final_line);
  tcase_add_test(tc, limit_uses_first_samples_and_changes_training);
  tcase_add_test(tc, resume_is_bit_identical_to_uninterrupted_run);
  tcase_add_test(tc, resume_of_finished_run_only_evaluates);
  tcase_add_test(tc, octo_main_in_process_returns_status_without_exiting);
  tcase_add_test(tc, diverging_model_exits_1_and_saves_nothing);
  tcase_add_test(tc, invalid_descriptor_exits_1);
  tcase_add_test(tc, resume_appends_to_existing_log);
  tcase_add_test(tc, benchmark_runs_without_dataset_and_prints_throughput);
  tcase_add_test(tc, benchmark_bad_steps_or_file_options_exit_2);
  tcase_add_test(tc, benchmark_calls_train_step_steps_plus_warmup_times_on_fixed_batches);
  tcase_add_test(tc, benchmark_diverging_model_exits_1);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
