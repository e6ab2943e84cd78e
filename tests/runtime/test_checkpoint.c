/* test_checkpoint.c: checkpoint round trip, and every refusal (corrupt byte,
 * truncation, trailing bytes, endless input, foreign model, other tensor
 * table, not a checkpoint) leaving the caller's state untouched; failed
 * saves leave the old file intact and no temporary file behind, and a save
 * removes the temporary files of dead processes beside it. */
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

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

/* Bytes after the state block: with the size field and CRC patched to match
 * (a crafted file) or not (bytes appended), the message counts them. */
START_TEST(trailing_bytes_after_the_state_block_are_counted) {
  save_ok(ckpt, &toy_model, 1);
  size_t len;
  char *raw = fx_slurp(ckpt, &len);
  uint8_t *longer = calloc(len + 10, 1);
  ck_assert_ptr_nonnull(longer);
  memcpy(longer, raw, len - 4);
  uint64_t total = len + 10;
  for (int i = 0; i < 8; i++)
    longer[16 + i] = (uint8_t)(total >> (8 * i));
  uint32_t crc = (uint32_t)crc32_z(crc32(0L, Z_NULL, 0), longer, len + 6);
  for (int i = 0; i < 4; i++)
    longer[len + 6 + i] = (uint8_t)(crc >> (8 * i));
  fx_write_raw(ckpt, 0, longer, len + 10);
  check_msg(load_error(ckpt), ckpt, ": corrupt (10 trailing bytes after the state block)");
  memcpy(longer, raw, len);
  fx_write_raw(ckpt, 0, longer, len + 3);
  check_msg(load_error(ckpt), ckpt, ": corrupt (3 trailing bytes after the state block)");
  free(longer);
  free(raw);
}
END_TEST

/* Input that never ends is read only to the checkpoint's size: /dev/zero,
 * and a FIFO that gives a whole checkpoint and then zeros forever. */
START_TEST(endless_input_is_read_only_to_the_checkpoint_size) {
  check_msg(load_error("/dev/zero"), "/dev/zero", ": not an Octo checkpoint");
  save_ok(ckpt, &toy_model, 1);
  size_t len;
  char *raw = fx_slurp(ckpt, &len);
  char *fifo = fx_path(dir, "endless");
  ck_assert_int_eq(mkfifo(fifo, 0600), 0);
  pid_t child = fork();
  ck_assert_int_ne(child, -1);
  if (child == 0) {
    signal(SIGPIPE, SIG_IGN);
    int fd = open(fifo, O_WRONLY);
    static const char zeros[4096];
    if (fd < 0 || write(fd, raw, len) != (ssize_t)len)
      _exit(1);
    while (write(fd, zeros, sizeof zeros) > 0)
      ;
    _exit(0); /* the reader closed: EPIPE */
  }
  check_msg(load_error(fifo), fifo, ": corrupt (trailing bytes after the state block)");
  int status;
  ck_assert_int_eq(waitpid(child, &status, 0), child);
  ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  free(fifo);
  free(raw);
}
END_TEST

/* The pid of a process that has exited and been reaped. */
static long dead_pid(void) {
  pid_t child = fork();
  ck_assert_int_ne(child, -1);
  if (child == 0)
    _exit(0);
  ck_assert_int_eq(waitpid(child, NULL, 0), child);
  return (long)child;
}

static char *plant(const char *fmt, long pid) {
  char name[128];
  snprintf(name, sizeof name, fmt, pid);
  char *p = fx_path(dir, name);
  fx_write_raw(p, 0, "stale", 5);
  return p;
}

/* Only FILE.tmp.<pid> of a dead process, a regular file beside FILE, goes;
 * a live process's, other names and other kinds of file stay. */
START_TEST(save_removes_temp_files_of_dead_processes_only) {
  long dead = dead_pid(), dead_dir = dead_pid(), dead_link = dead_pid();
  char *gone = plant("model.ckpt.tmp.%ld", dead);
  char *keep[] = {
      plant("model.ckpt.tmp.%ld", (long)getppid()), /* alive: the test runner */
      plant("model.ckpt.tmp.0%ld", dead),           /* leading zero */
      plant("model.ckpt.tmp.%ldx", dead),           /* not only digits */
      plant("model.ckpt.tmp.-%ld", dead),           /* a sign */
      plant("model.ckpt.tmp%ld", dead),             /* not the pattern */
      plant("other.ckpt.tmp.%ld", dead),            /* another FILE */
      plant("model.ckpt.tmp.%ld", 0),               /* kill(0) means the group */
  };
  char name[128];
  snprintf(name, sizeof name, "model.ckpt.tmp.%ld", dead_dir);
  char *as_dir = fx_path(dir, name);
  ck_assert_int_eq(mkdir(as_dir, 0755), 0);
  snprintf(name, sizeof name, "model.ckpt.tmp.%ld", dead_link);
  char *as_link = fx_path(dir, name);
  ck_assert_int_eq(symlink("model.ckpt", as_link), 0);
  save_ok(ckpt, &toy_model, 1);
  ck_assert_msg(!fx_exists(gone), "%s was not removed", gone);
  for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
    ck_assert_msg(fx_exists(keep[i]), "%s was removed", keep[i]);
    free(keep[i]);
  }
  struct stat st;
  ck_assert(stat(as_dir, &st) == 0 && S_ISDIR(st.st_mode));
  ck_assert(lstat(as_link, &st) == 0 && S_ISLNK(st.st_mode));
  free(gone);
  free(as_dir);
  free(as_link);
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
  tcase_add_test(tc, trailing_bytes_after_the_state_block_are_counted);
  tcase_add_test(tc, endless_input_is_read_only_to_the_checkpoint_size);
  tcase_add_test(tc, save_removes_temp_files_of_dead_processes_only);
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
