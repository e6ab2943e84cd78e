/* The name helpers every phase shares: FNV-1a (ir/fnv.h) against the
 * published test vectors, the string map (ir/strmap.c) through growth and
 * replacement, and "did you mean" (ir/suggest.c): the distance, its length
 * cap, the caller's limit and which of equally close names wins. */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "fnv.h"
#include "strmap.h"
#include "suggest.h"

START_TEST(fnv1a_matches_the_published_vectors) {
  ck_assert(fnv1a_str(FNV1A_OFFSET_BASIS, "") == UINT64_C(0xcbf29ce484222325));
  ck_assert(fnv1a_str(FNV1A_OFFSET_BASIS, "a") == UINT64_C(0xaf63dc4c8601ec8c));
  ck_assert(fnv1a_str(FNV1A_OFFSET_BASIS, "foobar") == UINT64_C(0x85944171f73967e8));
  ck_assert(fnv1a_bytes(FNV1A_OFFSET_BASIS, "foobar", 6) == UINT64_C(0x85944171f73967e8));
  /* a hash continued over pieces is the hash of the whole */
  uint64_t h = fnv1a_bytes(FNV1A_OFFSET_BASIS, "foo", 3);
  ck_assert(fnv1a_str(h, "bar") == UINT64_C(0x85944171f73967e8));
  /* bytes above 0x7f hash as unsigned, whatever char is */
  ck_assert(fnv1a_str(FNV1A_OFFSET_BASIS, "\xff") ==
            fnv1a_bytes(FNV1A_OFFSET_BASIS, (const unsigned char[]){0xff}, 1));
}
END_TEST

START_TEST(strmap_gets_what_was_put_and_null_otherwise) {
  Arena *a = arena_new();
  StrMap m = {0};
  ck_assert_ptr_null(strmap_get(&m, "x")); /* empty, no slots yet */
  int one = 1, two = 2;
  ck_assert_ptr_null(strmap_put(a, &m, "x", &one));
  ck_assert_ptr_eq(strmap_get(&m, "x"), &one);
  ck_assert_ptr_null(strmap_get(&m, "y"));
  ck_assert_ptr_null(strmap_get(&m, "")); /* the empty string is a key like any */
  ck_assert_ptr_null(strmap_put(a, &m, "", &two));
  ck_assert_ptr_eq(strmap_get(&m, ""), &two);
  ck_assert_uint_eq(m.count, 2);
  arena_free(a);
}
END_TEST

START_TEST(strmap_put_replaces_and_returns_the_old_value) {
  Arena *a = arena_new();
  StrMap m = {0};
  int one = 1, two = 2;
  strmap_put(a, &m, "w", &one);
  char key[] = "w"; /* an equal string at another address is the same key */
  ck_assert_ptr_eq(strmap_put(a, &m, key, &two), &one);
  ck_assert_ptr_eq(strmap_get(&m, "w"), &two);
  ck_assert_uint_eq(m.count, 1);
  arena_free(a);
}
END_TEST

START_TEST(strmap_keeps_every_key_through_growth) {
  enum { N = 5000 };
  Arena *a = arena_new();
  StrMap m = {0};
  char **keys = malloc(N * sizeof *keys);
  ck_assert_ptr_nonnull(keys);
  for (int i = 0; i < N; i++) {
    keys[i] = arena_printf(a, "layer%d.weight", i);
    ck_assert_ptr_null(strmap_put(a, &m, keys[i], keys[i]));
    ck_assert_uint_le(m.count * 2, m.cap); /* never above half full */
  }
  ck_assert_uint_eq(m.count, N);
  for (int i = 0; i < N; i++) {
    char probe[32];
    snprintf(probe, sizeof probe, "layer%d.weight", i);
    ck_assert_ptr_eq(strmap_get(&m, probe), keys[i]);
  }
  ck_assert_ptr_null(strmap_get(&m, "layer5000.weight"));
  free(keys);
  arena_free(a);
}
END_TEST

START_TEST(edit_distance_counts_edits_and_a_swap_as_one) {
  ck_assert_int_eq(edit_distance("", ""), 0);
  ck_assert_int_eq(edit_distance("", "abc"), 3);
  ck_assert_int_eq(edit_distance("relu", "relu"), 0);
  ck_assert_int_eq(edit_distance("kitten", "sitting"), 3);
  ck_assert_int_eq(edit_distance("untis", "units"), 1); /* a swap */
  ck_assert_int_eq(edit_distance("mes", "mse"), 1);
  ck_assert_int_eq(edit_distance("ab", "ba"), 1);
  ck_assert_int_eq(edit_distance("abc", "ca"), 3); /* no edits inside a swapped pair */
  ck_assert_int_eq(edit_distance("lerning", "learning"), 1);
}
END_TEST

START_TEST(edit_distance_of_a_too_long_name_is_int_max) {
  char longer[SUGGEST_MAX_LEN + 2];
  memset(longer, 'a', sizeof longer - 1);
  longer[sizeof longer - 1] = 0;
  ck_assert_int_eq(edit_distance(longer, "a"), INT_MAX);
  ck_assert_int_eq(edit_distance("a", longer), INT_MAX);
  longer[SUGGEST_MAX_LEN] = 0; /* exactly the limit still counts */
  ck_assert_int_eq(edit_distance(longer, longer), 0);
}
END_TEST

START_TEST(suggest_keeps_the_first_closest_within_the_limit) {
  Suggest s = suggest_start("relo", 1);
  suggest_try(&s, "dense");
  ck_assert_ptr_null(s.best);
  suggest_try(&s, "relu");
  suggest_try(&s, "rela"); /* as close: the first one stays */
  ck_assert_str_eq(s.best, "relu");
  suggest_try(&s, "relo"); /* closer wins */
  ck_assert_str_eq(s.best, "relo");
  ck_assert_int_eq(s.distance, 0);

  Suggest far = suggest_start("abcdef", 2);
  suggest_try(&far, "abcxyz");
  ck_assert_ptr_null(far.best);
}
END_TEST

int main(void) {
  Suite *s = suite_create("ir-names");
  TCase *tc = tcase_create("names");
  tcase_add_test(tc, fnv1a_matches_the_published_vectors);
  tcase_add_test(tc, strmap_gets_what_was_put_and_null_otherwise);
  tcase_add_test(tc, strmap_put_replaces_and_returns_the_old_value);
  tcase_add_test(tc, strmap_keeps_every_key_through_growth);
  tcase_add_test(tc, edit_distance_counts_edits_and_a_swap_as_one);
  tcase_add_test(tc, edit_distance_of_a_too_long_name_is_int_max);
  tcase_add_test(tc, suggest_keeps_the_first_closest_within_the_limit);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
