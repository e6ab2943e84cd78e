/* lprog_verify: one test per rule, each on a program broken on purpose
 * (built with the builder or read from text), plus the clean programs that
 * must pass. Messages from text point at file:line:col. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "loopkit.h"

/* Verification fails and the messages contain want. */
static void assert_rejects(const LProgram *p, const char *want) {
  char *diag = NULL;
  ck_assert_msg(!kit_verify(p, &diag), "verified, but want: %s", want);
  ck_assert_msg(strstr(diag, want) != NULL, "want \"%s\" in:\n%s", want, diag);
  free(diag);
}

static void assert_clean(const LProgram *p) {
  char *diag = NULL;
  ck_assert_msg(kit_verify(p, &diag), "%s", diag);
  free(diag);
}

/* A program with one kernel `k` whose body is `body`, over the buffers
 * %x f32[4,8] arg readonly, %y f32[4,8] work @0, %s f32[8] state param @0. */
static LProgram *from_text(Arena *a, const char *body) {
  char *text = NULL, *diag = NULL;
  size_t size = 0;
  FILE *f = open_memstream(&text, &size);
  ck_assert_ptr_nonnull(f);
  fprintf(f,
          "program t (batch 4) {\n"
          "  arg %%n : i32\n"
          "  arg %%seed : i64\n"
          "  buffer %%x : f32[4,8] arg readonly\n"
          "  buffer %%y : f32[4,8] work @0\n"
          "  buffer %%s : f32[8] state param @0\n"
          "  state_bytes 32\n"
          "  work_bytes 128\n"
          "  kernel k {\n%s\n  }\n"
          "  entry train_step { k }\n"
          "}\n",
          body);
  ck_assert_int_eq(fclose(f), 0);
  LProgram *p = kit_read(a, "v.loops", text, &diag);
  ck_assert_msg(p != NULL, "%s", diag);
  free(text);
  free(diag);
  return p;
}

#define TEXT_REJECTS(name, body, want)                                                     \
  START_TEST(name) {                                                                        \
    Arena *a = arena_new();                                                                 \
    assert_rejects(from_text(a, body), want);                                               \
    arena_free(a);                                                                          \
  }                                                                                         \
  END_TEST

START_TEST(sample_and_small_programs_verify_clean) {
  Arena *a = arena_new();
  assert_clean(kit_sample_program(a));
  assert_clean(kit_small_program(a));
  assert_clean(from_text(a, "    store %y[0] = 7.5 % 2.0")); /* fmodf */
  assert_clean(from_text(a, "    for %b in 0 .. %n {\n"
                            "      for %i in 0 .. 8 vectorize {\n"
                            "        store %y[%b * 8 + %i] = load %x[%b * 8 + %i] * 2.0\n"
                            "      }\n    }"));
  arena_free(a);
}
END_TEST

/* ---- types ---- */

TEXT_REJECTS(binary_operands_of_different_types_are_rejected,
             "    let %a : i64 = 1i64 + 2",
             "v.loops:10:25: error: kernel k: operands have different types (i64 and i32)")
TEXT_REJECTS(let_with_value_of_another_type_is_rejected, "    let %a : f32 = 1",
             "v.loops:10:5: error: kernel k: let %a : f32 is given a i32 value")
TEXT_REJECTS(store_of_wrong_dtype_is_rejected, "    store %y[0] = 1",
             "v.loops:10:5: error: kernel k: store to %y: value is i32 but the buffer is f32")
TEXT_REJECTS(float_load_index_is_rejected, "    store %y[0] = load %x[1.0]",
             "v.loops:10:27: error: kernel k: load from %x: index must be i32 or i64, not f32")
TEXT_REJECTS(exp_of_an_integer_is_rejected, "    let %a : i32 = exp(1)",
             "exp, log, sqrt, floor and cos take f32, not i32")
TEXT_REJECTS(hash_uniform_needs_i64_arguments, "    store %y[0] = hash_uniform(%seed, 3)",
             "hash_uniform's arguments must be i64, not i32")
TEXT_REJECTS(select_condition_must_be_i32, "    store %y[0] = select(1.0, 2.0, 3.0)",
             "select's condition must be i32, not f32")
TEXT_REJECTS(if_condition_must_be_i32, "    if 1.0 {\n    }", "if's condition must be i32")
TEXT_REJECTS(shift_of_floats_is_rejected, "    store %y[0] = 1.0 << 2.0",
             "operator needs integer operands, not f32")
TEXT_REJECTS(loop_bounds_must_match_the_loop_var_type, "    for %i : i64 in 0 .. 4 {\n    }",
             "bounds of %i must be i64, not i32 .. i32")

START_TEST(comparison_typed_other_than_i32_is_rejected) {
  Arena *a = arena_new();
  LProgram *p = kit_small_program(a);
  LExpr *cmp = le_bin(p, LB_LT, le_int(p, DT_I32, 1), le_int(p, DT_I32, 2));
  cmp->type = DT_I64; /* a lowering bug */
  LVar *v = lprog_var(p, "c", DT_I64, LVAR_LOCAL);
  p->kernels[0]->body->next = ls_let(p, v, cmp);
  assert_rejects(p, "binary expression has type i64, expected i32");
  arena_free(a);
}
END_TEST

START_TEST(constant_out_of_range_for_its_type_is_rejected) {
  Arena *a = arena_new();
  LProgram *p = kit_small_program(a);
  LVar *v = lprog_var(p, "c", DT_I8, LVAR_LOCAL);
  p->kernels[0]->body->next = ls_let(p, v, le_int(p, DT_I8, 300));
  /* No text: the message has no location, but names the kernel. */
  assert_rejects(p, "octoc: error: kernel k: constant 300 is out of range for i8");
  arena_free(a);
}
END_TEST

/* ---- variables ---- */

START_TEST(loop_var_used_after_its_loop_is_rejected) {
  Arena *a = arena_new();
  LProgram *p = kit_small_program(a);
  LStmt *loop = p->kernels[0]->body;
  LVar *i = loop->var;
  loop->next = ls_store(p, lprog_find_buffer(p, "y"), le_var(p, i), le_f32(p, 0));
  assert_rejects(p, "kernel k: variable %i is used out of its scope");
  arena_free(a);
}
END_TEST

START_TEST(assignment_to_a_loop_var_is_rejected) {
  Arena *a = arena_new();
  LProgram *p = kit_small_program(a);
  LStmt *inner = p->kernels[0]->body->body;
  inner->body->next = ls_assign(p, inner->var, le_int(p, DT_I32, 0));
  assert_rejects(p, "kernel k: assignment to %j, which is not a let local");
  arena_free(a);
}
END_TEST

START_TEST(redeclaring_a_var_inside_its_own_scope_is_rejected) {
  Arena *a = arena_new();
  LProgram *p = kit_small_program(a);
  LStmt *outer = p->kernels[0]->body;
  outer->body->body = ls_for(p, outer->var, le_int(p, DT_I32, 0), le_int(p, DT_I32, 1), 1, 0,
                             NULL);
  assert_rejects(p, "kernel k: %i is declared again inside its own scope");
  arena_free(a);
}
END_TEST

/* ---- loops ---- */

TEXT_REJECTS(loop_step_must_be_positive, "    for %i in 0 .. 4 step -1 {\n    }",
             "v.loops:10:5: error: kernel k: loop step must be positive, not -1")

START_TEST(zero_loop_step_is_rejected) {
  Arena *a = arena_new();
  LProgram *p = kit_small_program(a);
  p->kernels[0]->body->step = 0;
  assert_rejects(p, "loop step must be positive, not 0");
  arena_free(a);
}
END_TEST

/* ---- buffers and the memory plan ---- */

START_TEST(buffer_from_another_program_is_rejected) {
  Arena *a = arena_new();
  LProgram *p = kit_small_program(a), *other = kit_small_program(a);
  LStmt *store = p->kernels[0]->body->body->body;
  store->buf = lprog_find_buffer(other, "y");
  assert_rejects(p, "kernel k: store to a buffer that is not in the program");
  arena_free(a);
}
END_TEST

START_TEST(negative_offset_is_rejected) {
  Arena *a = arena_new();
  LProgram *p = kit_small_program(a);
  lprog_find_buffer(p, "y")->offset = -8;
  assert_rejects(p, "buffer %y has a negative offset -8");
  arena_free(a);
}
END_TEST

START_TEST(buffer_past_work_bytes_is_rejected) {
  Arena *a = arena_new();
  LProgram *p = kit_small_program(a);
  lprog_find_buffer(p, "y")->offset = 4;
  assert_rejects(p, "buffer %y (128 bytes at @4) does not fit in work_bytes 128");
  lprog_find_buffer(p, "y")->offset = -1; /* unplanned: no fit check */
  assert_clean(p);
  arena_free(a);
}
END_TEST

START_TEST(state_buffer_without_a_role_is_rejected) {
  Arena *a = arena_new();
  LProgram *p = kit_small_program(a);
  lprog_buffer(p, "w", DT_F32, shape_of(0, NULL), LBUF_STATE, LROLE_NONE);
  assert_rejects(p, "buffer %w: state buffers and only they have a role");
  arena_free(a);
}
END_TEST

TEXT_REJECTS(store_to_a_readonly_arg_is_rejected, "    store %x[0] = 1.0",
             "v.loops:10:5: error: kernel k: store to %x, a readonly argument buffer")

START_TEST(predict_kernel_storing_state_is_rejected) {
  Arena *a = arena_new();
  LProgram *p = from_text(a, "    store %s[0] = 1.0");
  assert_clean(p); /* from train_step it may */
  lprog_call(p, LENTRY_PREDICT, p->kernels[0]);
  assert_rejects(p, "v.loops:10:5: error: kernel k: store to state buffer %s, but the kernel is "
                    "called from predict (predict takes const state)");
  arena_free(a);
}
END_TEST

START_TEST(entry_calling_a_foreign_kernel_is_rejected) {
  Arena *a = arena_new();
  LProgram *p = kit_small_program(a), *other = kit_small_program(a);
  lprog_call(p, LENTRY_INIT, other->kernels[0]);
  assert_rejects(p, "entry init calls a kernel that is not in the program (call 0)");
  arena_free(a);
}
END_TEST

START_TEST(loss_must_be_one_f32_element) {
  Arena *a = arena_new();
  LProgram *p = kit_small_program(a);
  p->loss = lprog_find_buffer(p, "y");
  assert_rejects(p, "the loss buffer %y must be f32 with one element");
  arena_free(a);
}
END_TEST

/* ---- bounds ---- */

TEXT_REJECTS(affine_store_past_the_end_is_rejected,
             "    for %b in 0 .. 4 {\n      for %i in 0 .. 9 {\n"
             "        store %y[%b * 8 + %i] = 0.0\n      }\n    }",
             "v.loops:12:9: error: kernel k: store to %y may go out of bounds: index up to 32, "
             "buffer has 32 elements")
TEXT_REJECTS(affine_load_before_the_start_is_rejected,
             "    for %i in 0 .. 8 {\n      store %y[%i] = load %x[%i - 1]\n    }",
             "load from %x may go out of bounds: index down to -1")
TEXT_REJECTS(loop_to_n_is_bounded_by_the_batch,
             "    for %b in 0 .. %n {\n      store %s[%b * 2 + 2] = 0.0\n    }",
             "store to %s may go out of bounds: index up to 8, buffer has 8 elements")

START_TEST(guarded_and_non_affine_accesses_are_not_bounds_checked) {
  Arena *a = arena_new();
  /* Padding guards an access the analysis would flag; a let index is not
   * affine in loop vars; %i - %i cancels exactly. */
  assert_clean(from_text(a, "    for %i in 0 .. 10 {\n"
                            "      if %i < 8 {\n        store %s[%i] = 0.0\n      }\n"
                            "      let %j : i32 = %i + 100\n"
                            "      store %s[%i - %i] = load %x[%j * 0]\n    }"));
  arena_free(a);
}
END_TEST

int main(void) {
  Suite *s = suite_create("loop_verify");
  TCase *tc = tcase_create("verify");
  tcase_add_test(tc, sample_and_small_programs_verify_clean);
  tcase_add_test(tc, binary_operands_of_different_types_are_rejected);
  tcase_add_test(tc, let_with_value_of_another_type_is_rejected);
  tcase_add_test(tc, store_of_wrong_dtype_is_rejected);
  tcase_add_test(tc, float_load_index_is_rejected);
  tcase_add_test(tc, exp_of_an_integer_is_rejected);
  tcase_add_test(tc, hash_uniform_needs_i64_arguments);
  tcase_add_test(tc, select_condition_must_be_i32);
  tcase_add_test(tc, if_condition_must_be_i32);
  tcase_add_test(tc, shift_of_floats_is_rejected);
  tcase_add_test(tc, loop_bounds_must_match_the_loop_var_type);
  tcase_add_test(tc, comparison_typed_other_than_i32_is_rejected);
  tcase_add_test(tc, constant_out_of_range_for_its_type_is_rejected);
  tcase_add_test(tc, loop_var_used_after_its_loop_is_rejected);
  tcase_add_test(tc, assignment_to_a_loop_var_is_rejected);
  tcase_add_test(tc, redeclaring_a_var_inside_its_own_scope_is_rejected);
  tcase_add_test(tc, loop_step_must_be_positive);
  tcase_add_test(tc, zero_loop_step_is_rejected);
  tcase_add_test(tc, buffer_from_another_program_is_rejected);
  tcase_add_test(tc, negative_offset_is_rejected);
  tcase_add_test(tc, buffer_past_work_bytes_is_rejected);
  tcase_add_test(tc, state_buffer_without_a_role_is_rejected);
  tcase_add_test(tc, store_to_a_readonly_arg_is_rejected);
  tcase_add_test(tc, predict_kernel_storing_state_is_rejected);
  tcase_add_test(tc, entry_calling_a_foreign_kernel_is_rejected);
  tcase_add_test(tc, loss_must_be_one_f32_element);
  tcase_add_test(tc, affine_store_past_the_end_is_rejected);
  tcase_add_test(tc, affine_load_before_the_start_is_rejected);
  tcase_add_test(tc, loop_to_n_is_bounded_by_the_batch);
  tcase_add_test(tc, guarded_and_non_affine_accesses_are_not_bounds_checked);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
