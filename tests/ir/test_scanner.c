/* The character level shared by the two IR readers (ir/ir_scanner.c): line
 * and column tracking, blanks and comments with and without newlines, the
 * extent of decimal numbers (`1.` is a float, `0..6` is a range when a dot
 * needs a digit), and string decoding with each way a string can fail. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ir_scanner.h"

static Scanner over(const char *text) { return scanner_new("s.ir", text, strlen(text)); }

START_TEST(advance_counts_lines_and_columns_and_stops_at_the_end) {
  Scanner s = over("ab\nc");
  scan_advance_n(&s, 3);
  ck_assert_int_eq(s.line, 2);
  ck_assert_int_eq(s.col, 1);
  ck_assert_int_eq(scan_peek(&s, 0), 'c');
  ck_assert_int_eq(scan_peek(&s, 1), -1);
  scan_advance_n(&s, 5);
  ck_assert_uint_eq(s.pos, 4);
  ck_assert_int_eq(scan_loc(&s).col, 2);
}
END_TEST

START_TEST(blanks_skip_comments_and_newlines_only_when_asked) {
  Scanner s = over("  # note\n\t x");
  scan_skip_blanks(&s, false);
  ck_assert_int_eq(scan_peek(&s, 0), '\n');
  scan_skip_blanks(&s, true);
  ck_assert_int_eq(scan_peek(&s, 0), 'x');
  ck_assert_int_eq(s.line, 2);
  ck_assert_int_eq(s.col, 3);
}
END_TEST

/* Scans a decimal at the start of text; returns where it stopped. */
static size_t decimal_end(const char *text, bool dot_needs_digit, bool *is_float) {
  Scanner s = over(text);
  *is_float = scan_decimal(&s, dot_needs_digit);
  return s.pos;
}

START_TEST(decimals_end_where_the_number_ends) {
  bool f;
  ck_assert_uint_eq(decimal_end("123,", false, &f), 3);
  ck_assert(!f);
  ck_assert_uint_eq(decimal_end("1.5e-3]", false, &f), 6);
  ck_assert(f);
  ck_assert_uint_eq(decimal_end("1.)", false, &f), 2);
  ck_assert(f);
  ck_assert_uint_eq(decimal_end("0..6", true, &f), 1);
  ck_assert(!f);
  ck_assert_uint_eq(decimal_end("2e+", true, &f), 1);
  ck_assert(!f);
  ck_assert_uint_eq(decimal_end("7E2x", true, &f), 3);
  ck_assert(f);
}
END_TEST

START_TEST(strings_decode_every_escape) {
  Arena *a = arena_new();
  Scanner s = over("\"a\\\"b\\\\\\n\\t\\x41\" rest");
  ScanStr r = scan_string(&s, a, false);
  ck_assert_int_eq(r.status, SCAN_STR_OK);
  ck_assert_str_eq(r.s, "a\"b\\\n\tA");
  ck_assert_int_eq(scan_peek(&s, 0), ' ');
  arena_free(a);
}
END_TEST

static ScanStr fail_at(Arena *a, const char *text, bool raw_controls) {
  Scanner s = over(text);
  return scan_string(&s, a, raw_controls);
}

START_TEST(strings_report_what_failed_and_where) {
  Arena *a = arena_new();
  ScanStr r = fail_at(a, "\"abc\nx\"", false);
  ck_assert_int_eq(r.status, SCAN_STR_UNTERMINATED);
  ck_assert_str_eq(r.s, "abc");
  r = fail_at(a, "\"ab\\q\"", false);
  ck_assert_int_eq(r.status, SCAN_STR_BAD_ESCAPE);
  ck_assert_int_eq(r.at.col, 4);
  r = fail_at(a, "\"\\x00\"", true);
  ck_assert_int_eq(r.status, SCAN_STR_ESCAPED_NUL);
  ck_assert_int_eq(r.at.col, 2);
  r = fail_at(a, "\"a\tb\"", false);
  ck_assert_int_eq(r.status, SCAN_STR_CONTROL);
  ck_assert_int_eq(r.byte, '\t');
  ck_assert_int_eq(r.at.col, 3);
  r = fail_at(a, "\"a\tb\"", true); /* the loop IR allows a raw tab */
  ck_assert_int_eq(r.status, SCAN_STR_OK);
  ck_assert_str_eq(r.s, "a\tb");
  static const char nul[] = "\"a\0b\"";
  Scanner s = scanner_new("s.ir", nul, sizeof nul - 1);
  r = scan_string(&s, a, true); /* but never a raw NUL */
  ck_assert_int_eq(r.status, SCAN_STR_CONTROL);
  ck_assert_int_eq(r.byte, 0);
  arena_free(a);
}
END_TEST

START_TEST(long_strings_grow_without_limit) {
  Arena *a = arena_new();
  size_t n = 10000;
  char *text = malloc(n + 3);
  ck_assert_ptr_nonnull(text);
  text[0] = '"';
  memset(text + 1, 'z', n);
  text[n + 1] = '"';
  text[n + 2] = 0;
  ScanStr r = fail_at(a, text, false);
  ck_assert_int_eq(r.status, SCAN_STR_OK);
  ck_assert_uint_eq(strlen(r.s), n);
  free(text);
  arena_free(a);
}
END_TEST

int main(void) {
  Suite *s = suite_create("ir-scanner");
  TCase *tc = tcase_create("scanner");
  tcase_add_test(tc, advance_counts_lines_and_columns_and_stops_at_the_end);
  tcase_add_test(tc, blanks_skip_comments_and_newlines_only_when_asked);
  tcase_add_test(tc, decimals_end_where_the_number_ends);
  tcase_add_test(tc, strings_decode_every_escape);
  tcase_add_test(tc, strings_report_what_failed_and_where);
  tcase_add_test(tc, long_strings_grow_without_limit);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
