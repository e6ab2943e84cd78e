/* test_idx.c: the IDX reader and dataset checks: good files (plain and gzip,
 * told apart by content), and each malformed file with its exact message. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "fixtures.h"
#include "rt.h"
#include "toy_model.h"

static char *dir;

static void setup(void) {
  dir = fx_tempdir();
}

static void teardown(void) {
  fx_rmtree(dir);
  free(dir);
}

/* Reads path expecting failure; returns the message (static buffer). */
static const char *read_error(const char *path) {
  static RtErr err;
  IdxFile f;
  ck_assert_int_eq(idx_read(path, "pixels", &f, &err), -1);
  ck_assert_ptr_null(f.data);
  return err.msg;
}

static void check_msg(const char *got, const char *path, const char *rest) {
  char want[1024];
  snprintf(want, sizeof want, "%s%s", path, rest);
  ck_assert_str_eq(got, want);
}

static void write_good(const char *path, int gz) {
  uint8_t px[2 * 3 * 4];
  for (int i = 0; i < 24; i++)
    px[i] = (uint8_t)(i * 10);
  uint32_t dims[3] = {2, 3, 4};
  fx_write_idx(path, gz, 3, dims, px, sizeof px);
}

static void check_good(const char *path) {
  RtErr err;
  IdxFile f;
  ck_assert_msg(idx_read(path, "pixels", &f, &err) == 0, "%s", err.msg);
  ck_assert_int_eq(f.ndims, 3);
  ck_assert_int_eq(f.dims[0], 2);
  ck_assert_int_eq(f.dims[1], 3);
  ck_assert_int_eq(f.dims[2], 4);
  ck_assert_uint_eq(f.size, 24);
  for (int i = 0; i < 24; i++)
    ck_assert_int_eq(f.data[i], i * 10);
  idx_free(&f);
}

START_TEST(reads_plain_idx_dims_and_pixels) {
  char *p = fx_path(dir, "plain");
  write_good(p, 0);
  check_good(p);
  free(p);
}
END_TEST

START_TEST(reads_gzip_detected_by_magic_not_by_name) {
  char *gz_no_suffix = fx_path(dir, "images");
  char *plain_named_gz = fx_path(dir, "images.gz");
  write_good(gz_no_suffix, 1);
  write_good(plain_named_gz, 0);
  size_t len;
  char *raw = fx_slurp(gz_no_suffix, &len);
  ck_assert_int_eq((uint8_t)raw[0], 0x1f);
  ck_assert_int_eq((uint8_t)raw[1], 0x8b);
  free(raw);
  check_good(gz_no_suffix);
  check_good(plain_named_gz);
  free(gz_no_suffix);
  free(plain_named_gz);
}
END_TEST

START_TEST(truncated_pixels_error_names_file_and_counts) {
  for (int gz = 0; gz < 2; gz++) {
    char *p = fx_path(dir, gz ? "train-images-idx3-ubyte.gz" : "train-images-idx3-ubyte");
    uint8_t px[1200] = {0};
    uint32_t dims[3] = {60000, 28, 28};
    fx_write_idx(p, gz, 3, dims, px, sizeof px);
    check_msg(read_error(p), p, ": truncated: expected 47040000 bytes of pixels, got 1200");
    free(p);
  }
}
END_TEST

START_TEST(truncated_gzip_stream_is_truncated_not_a_crash) {
  char *full = fx_path(dir, "full.gz"), *cut = fx_path(dir, "cut.gz");
  uint8_t px[4000];
  for (int i = 0; i < 4000; i++)
    px[i] = (uint8_t)(i * 7919 >> 3);
  uint32_t dims[2] = {4, 1000};
  fx_write_idx(full, 1, 2, dims, px, sizeof px);
  size_t len;
  char *raw = fx_slurp(full, &len);
  fx_write_raw(cut, 0, raw, len / 2);
  const char *msg = read_error(cut);
  char want[512];
  snprintf(want, sizeof want, "%s: truncated: expected 4000 bytes of pixels, got ", cut);
  ck_assert_msg(strncmp(msg, want, strlen(want)) == 0, "got: %s", msg);
  free(raw);
  free(full);
  free(cut);
}
END_TEST

START_TEST(gzip_without_its_trailer_is_truncated) {
  char *full = fx_path(dir, "full.gz"), *cut = fx_path(dir, "cut.gz");
  uint32_t dims[2] = {3, 4};
  uint8_t px[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  fx_write_idx(full, 1, 2, dims, px, sizeof px);
  size_t len;
  char *raw = fx_slurp(full, &len);
  const size_t cuts[3] = {8, 4, 1}; /* the whole trailer, its size, its last byte */
  for (int i = 0; i < 3; i++) {
    fx_write_raw(cut, 0, raw, len - cuts[i]);
    check_msg(read_error(cut), cut, ": truncated: the gzip stream ends before its CRC trailer");
  }
  free(raw);
  free(full);
  free(cut);
}
END_TEST

START_TEST(gzip_read_error_names_the_file_once) {
  char *p = fx_path(dir, "crc.gz");
  uint32_t dims[2] = {3, 4};
  uint8_t px[12] = {0};
  fx_write_idx(p, 1, 2, dims, px, sizeof px);
  size_t len;
  char *raw = fx_slurp(p, &len);
  raw[len - 8] ^= 0x01; /* the CRC-32 of the trailer */
  fx_write_raw(p, 0, raw, len);
  check_msg(read_error(p), p, ": read error: incorrect data check");
  free(raw);
  free(p);
}
END_TEST

START_TEST(trailing_garbage_is_an_error) {
  for (int gz = 0; gz < 2; gz++) {
    char *p = fx_path(dir, gz ? "t.gz" : "t");
    uint8_t px[13] = {0};
    uint32_t dims[2] = {3, 4};
    fx_write_idx(p, gz, 2, dims, px, sizeof px);
    check_msg(read_error(p), p, ": trailing garbage after 12 bytes of pixels");
    free(p);
  }
}
END_TEST

START_TEST(wrong_magic_is_an_error) {
  char *p = fx_path(dir, "zip");
  uint8_t bytes[16] = {'P', 'K', 3, 4};
  fx_write_raw(p, 0, bytes, sizeof bytes);
  check_msg(read_error(p), p, ": not an IDX file (magic bytes 50 4b 03 04)");
  free(p);
}
END_TEST

START_TEST(non_byte_element_type_is_an_error) {
  char *p = fx_path(dir, "floats");
  uint8_t bytes[12] = {0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0};
  fx_write_raw(p, 0, bytes, sizeof bytes);
  check_msg(read_error(p), p,
            ": unsupported IDX element type 0x0d (only unsigned bytes, 0x08, are supported)");
  free(p);
}
END_TEST

START_TEST(zero_dimension_is_an_error) {
  char *p = fx_path(dir, "zero");
  uint32_t dims[3] = {5, 0, 28};
  fx_write_idx(p, 0, 3, dims, NULL, 0);
  check_msg(read_error(p), p, ": dimension 2 of 3 is 0 (each must be at least 1)");
  free(p);
}
END_TEST

START_TEST(zero_and_too_many_dimension_counts_are_errors) {
  char *p = fx_path(dir, "nodims");
  fx_write_idx(p, 0, 0, NULL, (const uint8_t *)"x", 1);
  check_msg(read_error(p), p, ": IDX file has 0 dimensions");
  uint32_t dims[5] = {1, 1, 1, 1, 1};
  fx_write_idx(p, 0, 5, dims, (const uint8_t *)"x", 1);
  check_msg(read_error(p), p, ": IDX file has 5 dimensions (at most 4 are supported)");
  free(p);
}
END_TEST

START_TEST(overflowing_dimensions_are_an_error_not_an_allocation) {
  char *p = fx_path(dir, "huge");
  uint32_t dims[3] = {0xffffffffu, 0xffffffffu, 0xffffffffu};
  fx_write_idx(p, 0, 3, dims, NULL, 0);
  char rest[256];
  snprintf(rest, sizeof rest,
           ": dimensions 4294967295x4294967295x4294967295 are too large (more than %d GiB)",
           sizeof(size_t) >= 8 ? 16 : 1);
  check_msg(read_error(p), p, rest);
  /* Past the maximum (1 TB) but representable: too large, before any read. */
  uint32_t big[2] = {0xffffffu, 0xffffu};
  fx_write_idx(p, 0, 2, big, (const uint8_t *)"abc", 3);
  snprintf(rest, sizeof rest, ": dimensions 16777215x65535 are too large (more than %d GiB)",
           sizeof(size_t) >= 8 ? 16 : 1);
  check_msg(read_error(p), p, rest);
  /* Large but allowed (4 GiB of float32): must report truncation, not try
   * to allocate it. */
  uint8_t head[16] = {0, 0, 0x0d, 2, 0, 0, 0x80, 0, 0, 0, 0x80, 0};
  fx_write_raw(p, 0, head, sizeof head);
  if (sizeof(size_t) >= 8) {
    IdxFile f;
    RtErr err;
    ck_assert_int_eq(idx_read_targets(p, &f, &err), -1);
    check_msg(err.msg, p, ": truncated: expected 4294967296 bytes of targets, got 4");
  }
  free(p);
}
END_TEST

START_TEST(truncated_header_is_an_error) {
  char *p = fx_path(dir, "short");
  uint8_t bytes[6] = {0, 0, 8, 3, 0, 0};
  fx_write_raw(p, 0, bytes, 2);
  check_msg(read_error(p), p, ": truncated: expected a 4-byte IDX header, got 2 bytes");
  fx_write_raw(p, 0, bytes, 6);
  check_msg(read_error(p), p, ": truncated: expected 12 bytes of dimensions, got 2");
  free(p);
}
END_TEST

START_TEST(missing_file_is_an_error) {
  char *p = fx_path(dir, "absent");
  check_msg(read_error(p), p, ": cannot open: No such file or directory");
  free(p);
}
END_TEST

START_TEST(random_bytes_never_crash_the_reader) {
  char *p = fx_path(dir, "fuzz");
  uint64_t s = 42;
  for (int iter = 0; iter < 300; iter++) {
    uint8_t bytes[64];
    size_t n = (size_t)(rt_splitmix64(&s) % sizeof bytes);
    for (size_t i = 0; i < n; i++)
      bytes[i] = (uint8_t)rt_splitmix64(&s);
    if (iter % 2 && n >= 4) /* a plausible header half of the time */
      bytes[0] = bytes[1] = 0, bytes[2] = 8, bytes[3] = (uint8_t)(1 + bytes[3] % 4);
    fx_write_raw(p, iter % 3 == 0, bytes, n);
    RtErr err;
    IdxFile f;
    if (idx_read(p, "pixels", &f, &err) == 0)
      idx_free(&f);
  }
  free(p);
}
END_TEST

/* --- datasets --- */

static void write_split(const char *images, const char *labels, uint32_t n_img, uint32_t rows,
                        uint32_t n_lab, uint8_t label) {
  size_t sz = (size_t)n_img * rows * rows;
  uint8_t *px = calloc(sz, 1), *lb = malloc(n_lab);
  ck_assert(px && lb);
  memset(lb, label, n_lab);
  uint32_t idims[3] = {n_img, rows, rows}, ldims[1] = {n_lab};
  fx_write_idx(images, 0, 3, idims, px, sz);
  fx_write_idx(labels, 0, 1, ldims, lb, n_lab);
  free(px);
  free(lb);
}

static const char *dataset_error(const char *images, const char *labels) {
  static RtErr err;
  Dataset ds;
  ck_assert_int_eq(dataset_load(&ds, images, labels, &toy_model, &err), -1);
  return err.msg;
}

START_TEST(dataset_loads_matching_images_and_labels) {
  char *im = fx_path(dir, "im"), *lb = fx_path(dir, "lb");
  write_split(im, lb, 7, 28, 7, 9);
  RtErr err;
  Dataset ds;
  ck_assert_msg(dataset_load(&ds, im, lb, &toy_model, &err) == 0, "%s", err.msg);
  ck_assert_uint_eq(ds.count, 7);
  ck_assert_uint_eq(ds.sample_size, 784);
  ck_assert_int_eq(ds.labels.data[6], 9);
  dataset_free(&ds);
  free(im);
  free(lb);
}
END_TEST

START_TEST(dataset_count_mismatch_names_both_files) {
  char *im = fx_path(dir, "im"), *lb = fx_path(dir, "lb");
  write_split(im, lb, 5, 28, 4, 0);
  char want[1024];
  snprintf(want, sizeof want, "%s has 5 images but %s has 4 labels", im, lb);
  ck_assert_str_eq(dataset_error(im, lb), want);
  free(im);
  free(lb);
}
END_TEST

START_TEST(dataset_label_out_of_range_is_an_error) {
  char *im = fx_path(dir, "im"), *lb = fx_path(dir, "lb");
  write_split(im, lb, 3, 28, 3, 10);
  char want[1024];
  snprintf(want, sizeof want,
           "%s: label 10 of sample 0 is out of range (the model has 10 classes)", lb);
  ck_assert_str_eq(dataset_error(im, lb), want);
  free(im);
  free(lb);
}
END_TEST

START_TEST(dataset_wrong_sample_shape_names_model_shape) {
  char *im = fx_path(dir, "train-images-idx3-ubyte"), *lb = fx_path(dir, "lb");
  write_split(im, lb, 2, 32, 2, 0);
  char want[1024];
  snprintf(want, sizeof want, "model expects 1x28x28 samples but %s has 32x32", im);
  ck_assert_str_eq(dataset_error(im, lb), want);
  free(im);
  free(lb);
}
END_TEST

START_TEST(dataset_labels_must_be_one_dimensional) {
  char *im = fx_path(dir, "im"), *lb = fx_path(dir, "lb");
  write_split(im, lb, 2, 28, 2, 0);
  uint32_t dims[2] = {2, 1};
  fx_write_idx(lb, 0, 2, dims, (const uint8_t *)"\0\0", 2);
  char want[1024];
  snprintf(want, sizeof want, "%s: expected labels with 1 dimension, found 2", lb);
  ck_assert_str_eq(dataset_error(im, lb), want);
  free(im);
  free(lb);
}
END_TEST

START_TEST(dataset_path_prefers_plain_then_gz_and_reports_missing) {
  char out[4096];
  RtErr err;
  ck_assert_int_eq(dataset_path(out, sizeof out, dir, "stem", &err), -1);
  char want[1024];
  snprintf(want, sizeof want, "%s: no stem or stem.gz (use --data DIR to point at the dataset)",
           dir);
  ck_assert_str_eq(err.msg, want);
  char *gz = fx_path(dir, "stem.gz"), *plain = fx_path(dir, "stem");
  fx_write_raw(gz, 0, "x", 1);
  ck_assert_int_eq(dataset_path(out, sizeof out, dir, "stem", &err), 0);
  ck_assert_str_eq(out, gz);
  fx_write_raw(plain, 0, "x", 1);
  ck_assert_int_eq(dataset_path(out, sizeof out, dir, "stem", &err), 0);
  ck_assert_str_eq(out, plain);
  free(gz);
  free(plain);
}
END_TEST

/* Float32 targets (IDX 0x0D): big-endian floats read back exactly, u8
 * targets as their value; the image reader still refuses 0x0D. */
START_TEST(float32_targets_read_back_exactly_and_images_refuse_them) {
  char *p = fx_path(dir, "targets");
  const float vals[3] = {1.5f, -0.25f, 3.0e-8f};
  uint8_t raw[4 + 8 + 12] = {0, 0, 0x0d, 2, 0, 0, 0, 3, 0, 0, 0, 1};
  for (int i = 0; i < 3; i++) {
    uint32_t bits;
    memcpy(&bits, &vals[i], sizeof bits);
    for (int b = 0; b < 4; b++) raw[12 + 4 * i + b] = (uint8_t)(bits >> (24 - 8 * b));
  }
  fx_write_raw(p, 0, raw, sizeof raw);
  RtErr err;
  IdxFile f;
  ck_assert_msg(idx_read_targets(p, &f, &err) == 0, "%s", err.msg);
  ck_assert_int_eq(f.type, IDX_F32);
  ck_assert_uint_eq(f.size, 3);
  for (int i = 0; i < 3; i++) ck_assert(idx_float(&f, (size_t)i) == vals[i]);
  idx_free(&f);
  ck_assert_int_eq(idx_read(p, "pixels", &f, &err), -1);
  ck_assert_ptr_nonnull(strstr(err.msg, "unsupported IDX element type 0x0d"));
  uint8_t bytes[2] = {7, 200};
  uint32_t dims[2] = {2, 1};
  fx_write_idx(p, 1, 2, dims, bytes, 2);
  ck_assert_msg(idx_read_targets(p, &f, &err) == 0, "%s", err.msg);
  ck_assert(idx_float(&f, 0) == 7.0f && idx_float(&f, 1) == 200.0f);
  idx_free(&f);
  free(p);
}
END_TEST

/* A header whose shape the model cannot take is refused before its payload
 * is read: here there is none at all (a gzip bomb would be gigabytes). */
START_TEST(dataset_checks_headers_before_any_payload) {
  char *im = fx_path(dir, "im.gz"), *lb = fx_path(dir, "lb");
  uint32_t bomb[3] = {1, 65536, 65536};
  fx_write_idx(im, 1, 3, bomb, NULL, 0);
  uint8_t labels[2] = {0, 1};
  uint32_t ldims[1] = {2};
  fx_write_idx(lb, 0, 1, ldims, labels, 2);
  char want[1024];
  snprintf(want, sizeof want, "model expects 1x28x28 samples but %s has 65536x65536", im);
  ck_assert_str_eq(dataset_error(im, lb), want);
  /* 60000 images declared, none there: the labels' count (2) disagrees,
   * which their header shows before the images' payload is read. */
  uint32_t many[3] = {60000, 28, 28};
  fx_write_idx(im, 1, 3, many, NULL, 0);
  snprintf(want, sizeof want, "%s has 60000 images but %s has 2 labels", im, lb);
  ck_assert_str_eq(dataset_error(im, lb), want);
  free(im);
  free(lb);
}
END_TEST

static Suite *idx_suite(void) {
  Suite *s = suite_create("idx");
  TCase *tc = tcase_create("idx");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, reads_plain_idx_dims_and_pixels);
  tcase_add_test(tc, float32_targets_read_back_exactly_and_images_refuse_them);
  tcase_add_test(tc, reads_gzip_detected_by_magic_not_by_name);
  tcase_add_test(tc, truncated_pixels_error_names_file_and_counts);
  tcase_add_test(tc, truncated_gzip_stream_is_truncated_not_a_crash);
  tcase_add_test(tc, gzip_without_its_trailer_is_truncated);
  tcase_add_test(tc, gzip_read_error_names_the_file_once);
  tcase_add_test(tc, trailing_garbage_is_an_error);
  tcase_add_test(tc, wrong_magic_is_an_error);
  tcase_add_test(tc, non_byte_element_type_is_an_error);
  tcase_add_test(tc, zero_dimension_is_an_error);
  tcase_add_test(tc, zero_and_too_many_dimension_counts_are_errors);
  tcase_add_test(tc, overflowing_dimensions_are_an_error_not_an_allocation);
  tcase_add_test(tc, truncated_header_is_an_error);
  tcase_add_test(tc, missing_file_is_an_error);
  tcase_add_test(tc, random_bytes_never_crash_the_reader);
  tcase_add_test(tc, dataset_loads_matching_images_and_labels);
  tcase_add_test(tc, dataset_count_mismatch_names_both_files);
  tcase_add_test(tc, dataset_label_out_of_range_is_an_error);
  tcase_add_test(tc, dataset_wrong_sample_shape_names_model_shape);
  tcase_add_test(tc, dataset_labels_must_be_one_dimensional);
  tcase_add_test(tc, dataset_checks_headers_before_any_payload);
  tcase_add_test(tc, dataset_path_prefers_plain_then_gz_and_reports_missing);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(idx_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
