/* Print -> read -> print of the loop IR is byte-identical and rebuilds the
 * same structure; float constants round-trip bit-exactly; colliding
 * variable names are renamed so the text reads back. */
#include <check.h>
#include <stdbool.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "loop_printer.h"
#include "loop_reader.h"
#include "loopkit.h"

/* Print, read back, print again: the two texts match and so do the trees. */
static void assert_round_trip(LProgram *p) {
  Arena *a = arena_new();
  char *text = kit_print(p), *diag = NULL;
  LProgram *q = kit_read(a, "rt.loops", text, &diag);
  ck_assert_msg(q != NULL, "read failed:\n%s\n--- text:\n%s", diag, text);
  char *again = kit_print(q);
  ck_assert_str_eq(again, text);
  char why[128];
  ck_assert_msg(kit_equal(p, q, why, sizeof why), "structure: %s", why);
  free(text);
  free(again);
  free(diag);
  arena_free(a);
}

START_TEST(sample_program_prints_reads_back_and_prints_identically) {
  Arena *a = arena_new();
  assert_round_trip(kit_sample_program(a));
  arena_free(a);
}
END_TEST

START_TEST(small_program_prints_reads_back_and_prints_identically) {
  Arena *a = arena_new();
  assert_round_trip(kit_small_program(a));
  arena_free(a);
}
END_TEST

START_TEST(empty_program_round_trips) {
  Arena *a = arena_new();
  assert_round_trip(lprog_new(a, "not an identifier!", 1));
  arena_free(a);
}
END_TEST

/* The exact text of a small program pins the format documented in
 * docs/loops.md. */
START_TEST(small_program_prints_the_documented_format) {
  Arena *a = arena_new();
  char *text = kit_print(kit_small_program(a));
  const char *want = "# octo loop IR\n"
                     "program small (batch 4) {\n"
                     "  arg %n : i32\n"
                     "  buffer %x : f32[4,8] arg readonly\n"
                     "  buffer %y : f32[4,8] work @0\n"
                     "  input %x\n"
                     "  kind classifier\n"
                     "  num_classes 0\n"
                     "  state_bytes 0\n"
                     "  work_bytes 128\n"
                     "\n"
                     "  kernel k {\n"
                     "    for %i in 0 .. 4 {\n"
                     "      for %j in 0 .. 8 {\n"
                     "        store %y[%i * 8 + %j] = load %x[%i * 8 + %j]\n"
                     "      }\n"
                     "    }\n"
                     "  }\n"
                     "\n"
                     "  entry init {}\n"
                     "  entry train_step { k }\n"
                     "  entry predict {}\n"
                     "  entry eval {}\n"
                     "}\n";
  ck_assert_str_eq(text, want);
  free(text);
  arena_free(a);
}
END_TEST

/* Shortest digits that read back to the same float, always a float. */
START_TEST(floats_print_shortest_and_read_back_bit_exact) {
  struct {
    float v;
    const char *s;
  } cases[] = {
      {0.1f, "0.1"},         {1e-38f, "1e-38"},   {-0.0f, "-0.0"},   {3.4028235e38f, "3.4028235e+38"},
      {1.0f, "1.0"},         {100.0f, "100.0"},   {1e-45f, "1e-45"}, {INFINITY, "inf"},
      {-INFINITY, "-inf"},   {NAN, "nan"},        {0.5f, "0.5"},     {16777216.0f, "16777216.0"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char buf[32];
    ck_assert_str_eq(lfloat_str(cases[i].v, buf, sizeof buf), cases[i].s);
  }
  /* Every 997th bit pattern of the finite floats reads back exactly. */
  for (uint32_t bits = 0; bits < 0x7f800000u; bits += 997 * 4096 + 1) {
    float v, back;
    memcpy(&v, &bits, sizeof v);
    char buf[32];
    back = strtof(lfloat_str(v, buf, sizeof buf), NULL);
    ck_assert_msg(memcmp(&v, &back, sizeof v) == 0, "%s", buf);
  }
}
END_TEST

/* A constant buffer's values print in its dtype (floats exactly, eight a
 * line when there are more than eight) and read back bit for bit. */
START_TEST(constant_buffers_print_their_values_and_read_back_exactly) {
  Arena *a = arena_new();
  LProgram *p = lprog_new(a, "c", 1);
  const float f[] = {0.1f, -0.0f, 1e-45f, 3.4028235e38f, -INFINITY, NAN, -NAN, 1.0f, 0.5f};
  const int64_t big[] = {INT64_MIN, INT64_MAX, 0};
  const uint32_t u[] = {4294967295u, 0};
  const uint8_t none[1] = {0};
  lprog_const_buffer(p, "f", DT_F32, shape_of(2, (int64_t[]){3, 3}), f);
  lprog_const_buffer(p, "big", DT_I64, shape_of(1, (int64_t[]){3}), big);
  lprog_const_buffer(p, "u", DT_U32, shape_of(1, (int64_t[]){2}), u);
  lprog_const_buffer(p, "empty", DT_U8, shape_of(1, (int64_t[]){0}), none);
  char *text = kit_print(p);
  const char *want[] = {
      "  buffer %f : f32[3,3] const = [\n    0.1, -0.0, 1e-45, 3.4028235e+38, -inf, nan, -nan, "
      "1.0,\n    0.5\n  ]\n",
      "  buffer %big : i64[3] const = [-9223372036854775808, 9223372036854775807, 0]\n",
      "  buffer %u : u32[2] const = [4294967295, 0]\n",
      "  buffer %empty : u8[0] const = []\n"};
  for (size_t i = 0; i < sizeof want / sizeof *want; i++)
    ck_assert_msg(strstr(text, want[i]) != NULL, "no\n%s\nin\n%s", want[i], text);
  free(text);
  assert_round_trip(p);
  arena_free(a);
}
END_TEST

/* Expressions use C precedence with only the parentheses the tree needs. */
START_TEST(expressions_print_with_minimal_parentheses) {
  Arena *a = arena_new();
  LProgram *p = lprog_new(a, "e", 1);
  LVar *x = lprog_var(p, "x", DT_I32, LVAR_ARG);
  LExpr *v = le_var(p, x);
  struct {
    LExpr *e;
    const char *s;
  } cases[] = {
      {le_bin(p, LB_SUB, le_bin(p, LB_SUB, v, v), v), "%x - %x - %x"},
      {le_bin(p, LB_SUB, v, le_bin(p, LB_SUB, v, v)), "%x - (%x - %x)"},
      {le_bin(p, LB_MUL, le_bin(p, LB_ADD, v, v), v), "(%x + %x) * %x"},
      {le_bin(p, LB_ADD, le_bin(p, LB_MUL, v, v), v), "%x * %x + %x"},
      {le_bin(p, LB_LOR, le_bin(p, LB_LAND, v, v), le_bin(p, LB_LT, v, v)),
       "%x && %x || %x < %x"},
      {le_bin(p, LB_AND, le_bin(p, LB_SHL, v, v), le_bin(p, LB_EQ, v, v)), "%x << %x & %x == %x"},
      {le_un(p, LU_NEG, le_int(p, DT_I32, 3)), "-(3)"},
      {le_int(p, DT_I32, -3), "-3"},
      {le_un(p, LU_NEG, le_bin(p, LB_MUL, v, v)), "-(%x * %x)"},
      {le_bin(p, LB_MUL, le_un(p, LU_NEG, v), v), "-%x * %x"},
      {le_bin(p, LB_SUB, v, le_int(p, DT_I64, -1)), "%x - -1i64"},
      {le_cast(p, DT_U8, le_bin(p, LB_MIN, v, le_int(p, DT_I32, 255))), "u8(min(%x, 255))"},
      {le_bin(p, LB_REM, v, v), "%x % %x"},
      {le_call_to(p, LI_SAT_CAST, DT_I8, v, NULL, NULL), "sat_cast<i8>(%x)"},
      {le_call3(p, LI_CLAMP, le_bin(p, LB_ADD, v, v), le_int(p, DT_I32, -127),
                le_int(p, DT_I32, 127)), "clamp(%x + %x, -127, 127)"},
      {le_bin(p, LB_MUL, le_call(p, LI_SHR_ROUND, v, le_int(p, DT_I32, 3)), v),
       "shr_round(%x, 3) * %x"},
      {le_int(p, DT_U32, 4294967295), "4294967295u32"},
      {le_cast(p, DT_U16, v), "u16(%x)"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    ck_assert_ptr_nonnull(f);
    lexpr_print(f, cases[i].e);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_str_eq(buf, cases[i].s);
    free(buf);
  }
  arena_free(a);
}
END_TEST

/* Two sibling loops sharing one LVar, and two LVars sharing a name: the
 * printer renames the later declaration so the reader accepts the text. */
START_TEST(colliding_variable_names_are_renamed_and_read_back) {
  Arena *a = arena_new();
  LProgram *p = lprog_new(a, "c", 2);
  LBuffer *y = lprog_buffer(p, "y", DT_I32, shape_of(1, (int64_t[]){4}), LBUF_WORK, LROLE_NONE);
  LVar *i = lprog_var(p, "i", DT_I32, LVAR_LOOP);
  LVar *i2 = lprog_var(p, "i", DT_I32, LVAR_LOOP);
  LKernel *k = lprog_kernel(p, "k", NULL, (SrcLoc){0});
  LBlock b = {0};
  for (int r = 0; r < 2; r++)
    lblock_add(&b, ls_for(p, i, le_int(p, DT_I32, 0), le_int(p, DT_I32, 4), 1, 0,
                          ls_store(p, y, le_var(p, i), le_var(p, i))));
  lblock_add(&b, ls_for(p, i2, le_int(p, DT_I32, 0), le_int(p, DT_I32, 4), 1, 0,
                        ls_store(p, y, le_var(p, i2), le_int(p, DT_I32, 0))));
  k->body = b.first;
  char *text = kit_print(p), *diag = NULL;
  ck_assert_ptr_nonnull(strstr(text, "for %i in"));
  ck_assert_ptr_nonnull(strstr(text, "for %i.1 in 0 .. 4 {\n      store %y[%i.1] = %i.1"));
  ck_assert_ptr_nonnull(strstr(text, "for %i.2 in"));
  Arena *a2 = arena_new();
  LProgram *q = kit_read(a2, "c.loops", text, &diag);
  ck_assert_msg(q != NULL, "%s", diag);
  char *again = kit_print(q);
  ck_assert_str_eq(again, text);
  free(text);
  free(again);
  free(diag);
  arena_free(a2);
  arena_free(a);
}
END_TEST

/* Hand-written text with comments, odd spacing and `0..6` reads and prints
 * in the canonical form. */
START_TEST(hand_written_text_reads_and_prints_canonically) {
  const char *src = "program p(batch 2){ # comment\n"
                    " arg %n:i32 buffer %t:f32[6] work @0 work_bytes 24\n"
                    " kernel k { for %i in 0..6 step 1 { store %t[%i]=((1.5)) } }\n"
                    " entry train_step{k}}\n";
  Arena *a = arena_new();
  char *diag = NULL;
  LProgram *p = kit_read(a, "h.loops", src, &diag);
  ck_assert_msg(p != NULL, "%s", diag);
  char *text = kit_print(p);
  ck_assert_ptr_nonnull(strstr(text, "    for %i in 0 .. 6 {\n      store %t[%i] = 1.5\n"));
  free(text);
  free(diag);
  arena_free(a);
}
END_TEST

/* The annotated example in docs/loops.md reads, verifies, and prints as
 * itself minus its comments. */
START_TEST(docs_example_reads_verifies_and_prints_canonically) {
  const char *path = getenv("LOOPS_DOC");
  ck_assert_msg(path != NULL, "LOOPS_DOC is not set");
  FILE *f = fopen(path, "r");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  char line[512], *example = NULL, *canon = NULL;
  size_t esize = 0, csize = 0;
  FILE *ex = open_memstream(&example, &esize), *cn = open_memstream(&canon, &csize);
  ck_assert(ex && cn);
  bool in = false;
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "# octo loop IR", 14) == 0) in = true;
    if (!in) continue;
    fputs(line, ex);
    char *hash = strstr(line, "  #"); /* strip trailing comments */
    if (hash && line[0] != '#') {
      while (hash > line && hash[-1] == ' ') hash--;
      strcpy(hash, "\n");
    }
    fputs(line, cn);
    if (strcmp(line, "}\n") == 0) break;
  }
  ck_assert_int_eq(fclose(f), 0);
  ck_assert_int_eq(fclose(ex), 0);
  ck_assert_int_eq(fclose(cn), 0);
  ck_assert_msg(in, "no example in %s", path);
  Arena *a = arena_new();
  char *diag = NULL;
  LProgram *p = kit_read(a, "example.loops", example, &diag);
  ck_assert_msg(p != NULL, "%s", diag);
  free(diag);
  ck_assert_msg(kit_verify(p, &diag), "%s", diag);
  char *text = kit_print(p);
  ck_assert_str_eq(text, canon);
  free(text);
  free(diag);
  free(example);
  free(canon);
  arena_free(a);
}
END_TEST

START_TEST(lkernel_print_prints_one_unindented_kernel) {
  Arena *a = arena_new();
  LProgram *p = kit_small_program(a);
  char *buf = NULL;
  size_t size = 0;
  FILE *f = open_memstream(&buf, &size);
  ck_assert_ptr_nonnull(f);
  lkernel_print(f, p, p->kernels[0]);
  ck_assert_int_eq(fclose(f), 0);
  ck_assert_str_eq(buf, "kernel k {\n  for %i in 0 .. 4 {\n    for %j in 0 .. 8 {\n"
                        "      store %y[%i * 8 + %j] = load %x[%i * 8 + %j]\n    }\n  }\n}\n");
  free(buf);
  arena_free(a);
}
END_TEST

int main(void) {
  Suite *s = suite_create("loop_roundtrip");
  TCase *tc = tcase_create("roundtrip");
  tcase_add_test(tc, sample_program_prints_reads_back_and_prints_identically);
  tcase_add_test(tc, small_program_prints_reads_back_and_prints_identically);
  tcase_add_test(tc, empty_program_round_trips);
  tcase_add_test(tc, small_program_prints_the_documented_format);
  tcase_add_test(tc, floats_print_shortest_and_read_back_bit_exact);
  tcase_add_test(tc, expressions_print_with_minimal_parentheses);
  tcase_add_test(tc, constant_buffers_print_their_values_and_read_back_exactly);
  tcase_add_test(tc, colliding_variable_names_are_renamed_and_read_back);
  tcase_add_test(tc, hand_written_text_reads_and_prints_canonically);
  tcase_add_test(tc, lkernel_print_prints_one_unindented_kernel);
  tcase_add_test(tc, docs_example_reads_verifies_and_prints_canonically);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
