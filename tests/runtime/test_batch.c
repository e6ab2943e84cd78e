/* test_batch.c: epoch permutations (a permutation, reproducible from
 * (seed, epoch), different across epochs) and batch filling (normalization,
 * labels in permutation order, a partial last batch). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "rt.h"

static int is_permutation(const size_t *perm, size_t n) {
  char *seen = calloc(n ? n : 1, 1);
  ck_assert_ptr_nonnull(seen);
  int ok = 1;
  for (size_t i = 0; i < n; i++) {
    if (perm[i] >= n || seen[perm[i]])
      ok = 0;
    else
      seen[perm[i]] = 1;
  }
  free(seen);
  return ok;
}

START_TEST(permutation_is_a_permutation_for_many_sizes) {
  size_t sizes[] = {0, 1, 2, 3, 31, 32, 33, 600, 6001};
  for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
    size_t n = sizes[k];
    size_t *perm = malloc((n ? n : 1) * sizeof *perm);
    ck_assert_ptr_nonnull(perm);
    batch_permutation(perm, n, 7, 3);
    ck_assert_msg(is_permutation(perm, n), "n=%zu", n);
    free(perm);
  }
}
END_TEST

START_TEST(permutation_is_reproducible_from_seed_and_epoch) {
  size_t a[500], b[500];
  batch_permutation(a, 500, 123, 4);
  batch_permutation(b, 500, 99, 0); /* other calls in between change nothing */
  batch_permutation(b, 500, 123, 4);
  ck_assert_mem_eq(a, b, sizeof a);
}
END_TEST

START_TEST(permutation_differs_across_epochs_and_seeds) {
  size_t e0[500], e1[500], s1[500], id[500];
  batch_permutation(e0, 500, 1, 0);
  batch_permutation(e1, 500, 1, 1);
  batch_permutation(s1, 500, 2, 0);
  for (size_t i = 0; i < 500; i++)
    id[i] = i;
  ck_assert(memcmp(e0, e1, sizeof e0) != 0);
  ck_assert(memcmp(e0, s1, sizeof e0) != 0);
  ck_assert(memcmp(e0, id, sizeof e0) != 0);
}
END_TEST

START_TEST(permutation_positions_are_roughly_uniform) {
  /* Where element 0 lands over 4000 epochs of n=4: each slot ~1000 times. */
  int hits[4] = {0};
  size_t perm[4];
  for (uint64_t e = 0; e < 4000; e++) {
    batch_permutation(perm, 4, 5, e);
    for (int i = 0; i < 4; i++)
      if (perm[i] == 0)
        hits[i]++;
  }
  for (int i = 0; i < 4; i++)
    ck_assert_msg(hits[i] > 850 && hits[i] < 1150, "slot %d: %d", i, hits[i]);
}
END_TEST

START_TEST(batch_fill_follows_order_and_last_batch_is_partial) {
  enum { N = 70, SZ = 3 };
  uint8_t px[N * SZ], lb[N];
  for (int i = 0; i < N; i++) {
    lb[i] = (uint8_t)(i % 10);
    for (int k = 0; k < SZ; k++)
      px[i * SZ + k] = (uint8_t)i;
  }
  Dataset ds = {.images = {px, sizeof px, 2, {N, SZ}}, .labels = {lb, N, 1, {N}},
                .count = N, .sample_size = SZ, .inputs = px, .sample_bytes = SZ};
  size_t perm[N];
  batch_permutation(perm, N, 3, 0);
  uint8_t x[32 * SZ];
  int32_t y[32];
  int sizes[3], seen = 0;
  for (size_t start = 0, b = 0; start < N; start += 32, b++) {
    sizes[b] = batch_fill(&ds, perm, start, 32, x, y, NULL);
    for (int i = 0; i < sizes[b]; i++) {
      size_t s = perm[start + (size_t)i];
      ck_assert_int_eq(y[i], (int)(s % 10));
      ck_assert_int_eq(x[i * SZ + 2], px[s * SZ]); /* the pixels as they are */
      seen++;
    }
  }
  ck_assert_int_eq(sizes[0], 32);
  ck_assert_int_eq(sizes[1], 32);
  ck_assert_int_eq(sizes[2], 6);
  ck_assert_int_eq(seen, N);
  ck_assert_int_eq(batch_fill(&ds, NULL, N, 32, x, y, NULL), 0);
  ck_assert_int_eq(batch_fill(&ds, NULL, 65, 32, x, y, NULL), 5);
  ck_assert_int_eq(y[0], 65 % 10);
}
END_TEST

int main(void) {
  Suite *s = suite_create("batch");
  TCase *tc = tcase_create("batch");
  tcase_add_test(tc, permutation_is_a_permutation_for_many_sizes);
  tcase_add_test(tc, permutation_is_reproducible_from_seed_and_epoch);
  tcase_add_test(tc, permutation_differs_across_epochs_and_seeds);
  tcase_add_test(tc, permutation_positions_are_roughly_uniform);
  tcase_add_test(tc, batch_fill_follows_order_and_last_batch_is_partial);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
