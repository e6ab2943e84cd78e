/* test_checkpoint.c: checkpoint round trip, and every refusal (corrupt byte,
 * truncation, foreign model, other tensor table, not a checkpoint) leaving
 * the caller's state untouched; failed saves leave the old file intact and
 * no temporary file behind. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixtures.h"
#include "rt.h"
#include "toy_model.h"

static char *dir, *ckpt;
static uint8_t *state, *other;

static void setup(void) {
  dir = fx_tempdir();
  ckpt = fx_path(dir, "model.ckpt");
  state = malloc(toy_model.state_bytes);
  other = malloc(toy_model.state_bytes);
  ck_assert(state && other);
  ck_assert_int_eq(toy_model.init(state, 5), 0);
  memset(other, 0xab, toy_model.state_bytes);
}

static void teardown(void) {
  fx_rmtree(dir);
  free(dir);
  free(ckpt);
  free(state);
  free(other);
}

static void save_ok(const char *path, const OctoModel *m, int epochs) {
  RtErr err;
  ck_assert_msg(ckpt_save(path, m, state, 77, epochs, &err) == 0, "%s", err.msg);
}

/* Loads expecting failure; checks `other` is untouched; returns the message. */
static const char *load_error(const char *path) {
  static RtErr err;
  uint64_t seed = 0;
  int epochs = -1;
  ck_assert_int_eq(ckpt_load(path, &toy_model, other, &seed, &epochs, &err), -1);
  for (size_t i = 0; i < toy_model.state_bytes; i++)
    ck_assert_int_eq(other[i], 0xab);
  return err.msg;
}

static void check_msg(const char *got, const char *path, const char *rest) {
  char want[1024];
  snprintf(want, sizeof want, "%s%s", path, rest);
  ck_assert_str_eq(got, want);
}

static int temp_files_in(const char *d) {
  char *probe;
  char name[64];
  snprintf(name, sizeof name, "model.ckpt.tmp.%ld", (long)getpid());
  probe = fx_path(d, name);
  int e = fx_exists(probe);
  free(probe);
  return e;
}

START_TEST(round_trip_restores_state_seed_and_epochs) {
  save_ok(ckpt, &toy_model, 4);
  RtErr err;
  uint64_t seed = 0;
  int epochs = 0;
  ck_assert_msg(ckpt_load(ckpt, &toy_model, other, &seed, &epochs, &err) == 0, "%s", err.msg);
  ck_assert_mem_eq(other, state, toy_model.state_bytes);
  ck_assert_uint_eq(seed, 77);
  ck_assert_int_eq(epochs, 4);
  ck_assert_int_eq(temp_files_in(dir), 0);
}
END_TEST

START_TEST(file_starts_with_magic_version_and_size) {
  save_ok(ckpt, &toy_model, 1);
  size_t len;
  char *raw = fx_slurp(ckpt, &len);
  ck_assert_mem_eq(raw, "OCTOCKPT", 8);
  ck_assert_int_eq(raw[8], CKPT_VERSION);
  uint64_t total = 0;
  for (int i = 0; i < 8; i++)
    total |= (uint64_t)(uint8_t)raw[16 + i] << (8 * i);
  ck_assert_uint_eq(total, len);
  free(raw);
}
END_TEST

START_TEST(corrupted_byte_is_a_crc_error) {
  save_ok(ckpt, &toy_model, 1);
  size_t len;
  char *raw = fx_slurp(ckpt, &len);
  raw[len - 100] ^= 0x01; /* inside the state block */
  fx_write_raw(ckpt, 0, raw, len);
  check_msg(load_error(ckpt), ckpt, ": corrupt (CRC mismatch)");
  raw[len - 100] ^= 0x01;
  raw[len - 1] ^= 0x80; /* the CRC itself */
  fx_write_raw(ckpt, 0, raw, len);
  check_msg(load_error(ckpt), ckpt, ": corrupt (CRC mismatch)");
  free(raw);
}
END_TEST

START_TEST(truncated_checkpoint_is_an_error) {
  save_ok(ckpt, &toy_model, 1);
  size_t len;
  char *raw = fx_slurp(ckpt, &len);
  fx_write_raw(ckpt, 0, raw, 1000);
  char rest[128];
  snprintf(rest, sizeof rest, ": truncated (expected %zu bytes, got 1000)", len);
  check_msg(load_error(ckpt), ckpt, rest);
  fx_write_raw(ckpt, 0, raw, 12);
  check_msg(load_error(ckpt), ckpt, ": truncated (12 bytes)");
  free(raw);
}
END_TEST

START_TEST(foreign_model_hash_is_refused_with_both_names) {
  OctoModel mlp = toy_model;
  mlp.name = "mlp";
  mlp.hash = 0x1234;
  save_ok(ckpt, &mlp, 1);
  check_msg(load_error(ckpt), ckpt,
            ": checkpoint is for model 'mlp' (hash 0000000000001234), this trainer is 'toy' "
            "(hash 70790000c0ffee01)");
}
END_TEST

START_TEST(other_tensor_table_is_refused) {
  OctoTensorInfo t[3];
  memcpy(t, toy_model.tensors, sizeof t);
  t[1].shape[0] = 11;
  OctoModel m = toy_model;
  m.tensors = t;
  save_ok(ckpt, &m, 1);
  check_msg(load_error(ckpt), ckpt, ": tensor 1 ('toy.bias') differs from this trainer's");
}
END_TEST

START_TEST(non_checkpoint_and_unknown_version_are_refused) {
  fx_write_raw(ckpt, 0, "hello, world", 12);
  check_msg(load_error(ckpt), ckpt, ": not an Octo checkpoint");
  save_ok(ckpt, &toy_model, 1);
  size_t len;
  char *raw = fx_slurp(ckpt, &len);
  raw[8] = 9;
  fx_write_raw(ckpt, 0, raw, len);
  check_msg(load_error(ckpt), ckpt,
            ": checkpoint format version 9 is not supported (this runtime reads version 1)");
  free(raw);
  char *missing = fx_path(dir, "none.ckpt");
  check_msg(load_error(missing), missing, ": cannot open: No such file or directory");
  free(missing);
}
END_TEST

START_TEST(save_into_missing_directory_fails_and_leaves_nothing) {
  char *path = fx_path(dir, "no/such/dir/model.ckpt");
  RtErr err;
  ck_assert_int_eq(ckpt_save(path, &toy_model, state, 1, 1, &err), -1);
  check_msg(err.msg, path, ": cannot write checkpoint: No such file or directory");
  free(path);
}
END_TEST

START_TEST(writable_check_rejects_missing_folder_and_directory_target) {
  RtErr err;
  ck_assert_int_eq(ckpt_check_writable(ckpt, &err), 0);
  char *missing = fx_path(dir, "no/model.ckpt");
  ck_assert_int_eq(ckpt_check_writable(missing, &err), -1);
  ck_assert_ptr_nonnull(strstr(err.msg, "No such file or directory"));
  ck_assert_int_eq(mkdir(ckpt, 0755), 0);
  ck_assert_int_eq(ckpt_check_writable(ckpt, &err), -1);
  check_msg(err.msg, ckpt, ": cannot write checkpoint: not a regular file");
  free(missing);
}
END_TEST

START_TEST(failed_write_keeps_old_checkpoint_and_removes_temp) {
  save_ok(ckpt, &toy_model, 1);
  size_t len;
  char *before = fx_slurp(ckpt, &len);
  /* The temp file's name is fixed (FILE.tmp.<pid>): make it a link to
   * /dev/full so every write fails with ENOSPC, as on a full disk. */
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld", ckpt, (long)getpid());
  ck_assert_int_eq(symlink("/dev/full", tmp), 0);
  RtErr err;
  ck_assert_int_eq(ckpt_save(ckpt, &toy_model, other, 1, 2, &err), -1);
  check_msg(err.msg, ckpt, ": cannot write checkpoint: No space left on device");
  ck_assert_int_eq(fx_exists(tmp), 0);
  size_t len2;
  char *after = fx_slurp(ckpt, &len2);
  ck_assert_uint_eq(len, len2);
  ck_assert_mem_eq(before, after, len);
  free(before);
  free(after);
}
END_TEST

START_TEST(failed_rename_removes_temp) {
  /* FILE is a directory: the rename fails after a complete write. */
  ck_assert_int_eq(mkdir(ckpt, 0755), 0);
  char *inside = fx_path(ckpt, "keep");
  fx_write_raw(inside, 0, "x", 1);
  RtErr err;
  ck_assert_int_eq(ckpt_save(ckpt, &toy_model, state, 1, 1, &err), -1);
  ck_assert_msg(strstr(err.msg, ": cannot write checkpoint: ") != NULL, "%s", err.msg);
  ck_assert_int_eq(temp_files_in(dir), 0);
  ck_assert_int_eq(fx_exists(inside), 1);
  free(inside);
}
END_TEST

START_TEST(save_replaces_previous_checkpoint) {
  save_ok(ckpt, &toy_model, 1);
  state[0] ^= 0xff;
  save_ok(ckpt, &toy_model, 2);
  RtErr err;
  uint64_t seed;
  int epochs;
  ck_assert_int_eq(ckpt_load(ckpt, &toy_model, other, &seed, &epochs, &err), 0);
  ck_assert_int_eq(epochs, 2);
  ck_assert_mem_eq(other, state, toy_model.state_bytes);
}
END_TEST

int main(void) {
  Suite *s = suite_create("checkpoint");
  TCase *tc = tcase_create("checkpoint");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, round_trip_restores_state_seed_and_epochs);
  tcase_add_test(tc, file_starts_with_magic_version_and_size);
  tcase_add_test(tc, corrupted_byte_is_a_crc_error);
  tcase_add_test(tc, truncated_checkpoint_is_an_error);
  tcase_add_test(tc, foreign_model_hash_is_refused_with_both_names);
  tcase_add_test(tc, other_tensor_table_is_refused);
  tcase_add_test(tc, non_checkpoint_and_unknown_version_are_refused);
  tcase_add_test(tc, save_into_missing_directory_fails_and_leaves_nothing);
  tcase_add_test(tc, writable_check_rejects_missing_folder_and_directory_target);
  tcase_add_test(tc, failed_write_keeps_old_checkpoint_and_removes_temp);
  tcase_add_test(tc, failed_rename_removes_temp);
  tcase_add_test(tc, save_replaces_previous_checkpoint);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
