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

/* program t (batch 4) { ITEMS kernel k { BODY } entry train_step { k } }:
 * ITEMS are the lines of args and buffers, BODY is the kernel's, the
 * program is read from FILE (lines of messages count from its first). */
static LProgram *read_program(Arena *a, const char *file, const char *items, const char *body) {
  char *text = NULL, *diag = NULL;
  size_t size = 0;
  FILE *f = open_memstream(&text, &size);
  ck_assert_ptr_nonnull(f);
  fprintf(f, "program t (batch 4) {\n%s  kernel k {\n%s\n  }\n  entry train_step { k }\n}\n",
          items, body);
  ck_assert_int_eq(fclose(f), 0);
  LProgram *p = kit_read(a, file, text, &diag);
  ck_assert_msg(p != NULL, "%s", diag);
  free(text);
  free(diag);
  return p;
}

/* A program with one kernel `k` whose body is `body`, over the buffers
 * %x f32[4,8] arg readonly, %y f32[4,8] work @0, %s f32[8] state param @0. */
static LProgram *from_text(Arena *a, const char *body) {
  return read_program(a, "v.loops",
                      "  arg %n : i32\n"
                      "  arg %seed : i64\n"
                      "  buffer %x : f32[4,8] arg readonly\n"
                      "  buffer %y : f32[4,8] work @0\n"
                      "  buffer %s : f32[8] state param @0\n"
                      "  state_bytes 32\n"
                      "  work_bytes 128\n",
                      body);
}

/* A test that the program make(a, body) is rejected with want. */
#define REJECTS(make, name, body, want)                                                    \
  START_TEST(name) {                                                                        \
    Arena *a = arena_new();                                                                 \
    assert_rejects(make(a, body), want);                                                    \
    arena_free(a);                                                                          \
  }                                                                                         \
  END_TEST
#define TEXT_REJECTS(name, body, want) REJECTS(from_text, name, body, want)

/* The program kind and pred's dtype must agree: a regression program's pred
 * is its f32 prediction, a classifier's its i32 classes. */
static LProgram *regression_with_class_pred(Arena *a, const char *body) {
  return read_program(a, "v.loops",
                      "  arg %n : i32\n"
                      "  buffer %pr : i32[4] arg optional\n"
                      "  buffer %y : f32[4,8] work @0\n"
                      "  pred %pr\n"
                      "  kind regression\n"
                      "  work_bytes 128\n",
                      body);
}
REJECTS(regression_with_class_pred, regression_kind_needs_an_f32_pred,
        "    store %y[0] = 1.0",
        "a regression program's pred %pr is its f32 prediction, not i32")

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

/* ---- intrinsics, integer types, constant buffers ---- */

/* A program with one kernel `k` over int8 buffers: %q i8[8] work @0,
 * %u u8[8] work @64, %c f32[4] const, %t i16[2] const. */
static LProgram *from_int8_text(Arena *a, const char *body) {
  return read_program(a, "i.loops",
                      "  arg %seed : i64\n"
                      "  buffer %q : i8[8] work @0\n"
                      "  buffer %u : u8[8] work @64\n"
                      "  buffer %c : f32[4] const = [0.5, -1.0, inf, nan]\n"
                      "  buffer %t : i16[2] const = [-32768, 32767]\n"
                      "  work_bytes 128\n",
                      body);
}

#define INT8_REJECTS(name, body, want) REJECTS(from_int8_text, name, body, want)

START_TEST(every_intrinsic_with_its_types_verifies_clean) {
  Arena *a = arena_new();
  assert_clean(from_int8_text(
      a, "    for %g in 0 .. 2 {\n"
         "      let %d : i32 = dot4_i8(7, load %q[%g * 4], load %q[4 - %g * 4])\n"
         "      %d = dot4_u8i8(%d, load %u[%g * 4], load %q[%g * 4])\n"
         "      %d = dot2_i16(%d, load %t[0], load %t[0])\n"
         "      let %r : i64 = shr_round(i64(%d), 63i64)\n"
         "      let %h : u32 = hash_bits(%seed, i64(%g)) >> 8u32\n"
         "      let %w : u16 = sat_cast<u16>(load %c[%g]) * 65535u16\n"
         "      let %f : f32 = clamp(load %c[%g], -1.0, 1.0)\n"
         "      let %s : i16 = clamp(load %t[%g], -5i16, 5i16)\n"
         "      store %q[%g] = sat_cast<i8>(%r)\n"
         "      store %u[%g] = sat_cast<u8>(%h)\n"
         "    }"));
  arena_free(a);
}
END_TEST

INT8_REJECTS(store_to_a_constant_buffer_is_rejected, "    store %c[0] = 1.0",
             "i.loops:9:5: error: kernel k: store to %c, a constant buffer")
INT8_REJECTS(dot4_operand_must_be_a_load, "    let %d : i32 = dot4_i8(0, 1i8, load %q[0])",
             "i.loops:9:31: error: kernel k: dot4_i8's a must be a load (it stands for the 4 "
             "elements from its index on)")
INT8_REJECTS(dot4_operand_must_come_from_its_dtype,
             "    let %d : i32 = dot4_i8(0, load %u[0], load %q[0])",
             "dot4_i8's a must be i8, not u8")
INT8_REJECTS(dot4_group_past_the_end_is_rejected,
             "    for %i in 0 .. 2 {\n"
             "      let %d : i32 = dot4_i8(0, load %q[%i * 4 + 1], load %q[0])\n    }",
             "i.loops:10:33: error: kernel k: load from %q may go out of bounds: index up to 8, "
             "buffer has 8 elements")
INT8_REJECTS(dot2_operand_must_be_a_load, "    let %d : i32 = dot2_i16(0, load %t[0], 1i16)",
             "i.loops:9:44: error: kernel k: dot2_i16's b must be a load (it stands for the 2 "
             "elements from its index on)")
INT8_REJECTS(dot2_operand_must_be_i16, "    let %d : i32 = dot2_i16(0, load %q[0], load %t[0])",
             "dot2_i16's a must be i16, not i8")
INT8_REJECTS(dot2_pair_past_the_end_is_rejected,
             "    let %d : i32 = dot2_i16(0, load %t[0], load %t[1])",
             "load from %t may go out of bounds: index up to 2, buffer has 2 elements")
INT8_REJECTS(shr_round_takes_i32_or_i64, "    let %f : f32 = shr_round(1.0, 1.0)",
             "shr_round's x must be i32 or i64, not f32")
INT8_REJECTS(shr_round_shift_has_the_type_of_x, "    let %r : i32 = shr_round(1, 2i64)",
             "shr_round's shift (like its x) must be i32, not i64")
INT8_REJECTS(clamp_bounds_have_the_type_of_x, "    let %r : i32 = clamp(1, 0, 2i64)",
             "clamp's hi (like its x) must be i32, not i64")
INT8_REJECTS(sat_cast_to_f32_is_rejected, "    let %f : f32 = sat_cast<f32>(1)",
             "sat_cast<f32>: the result type must be i8, i16, i32, i64, u8, u16 or u32")
INT8_REJECTS(hash_bits_needs_i64_arguments, "    let %h : u32 = hash_bits(1, 2)",
             "hash_bits's arguments must be i64, not i32")
INT8_REJECTS(hash_bits_gives_u32, "    let %h : i32 = hash_bits(%seed, %seed)",
             "let %h : i32 is given a u32 value")
START_TEST(u16_and_u32_constants_must_fit) {
  Arena *a = arena_new();
  LProgram *p = kit_small_program(a);
  LVar *h = lprog_var(p, "h", DT_U16, LVAR_LOCAL), *w = lprog_var(p, "w", DT_U32, LVAR_LOCAL);
  p->kernels[0]->body->next = ls_let(p, h, le_int(p, DT_U16, 65535));
  p->kernels[0]->body->next->next = ls_let(p, w, le_int(p, DT_U32, 4294967295));
  assert_clean(p);
  p->kernels[0]->body->next->value->i = 65536;
  p->kernels[0]->body->next->next->value->i = -1;
  assert_rejects(p, "constant 65536 is out of range for u16");
  assert_rejects(p, "constant -1 is out of range for u32");
  arena_free(a);
}
END_TEST

START_TEST(intrinsic_typed_against_its_rule_is_rejected) {
  Arena *a = arena_new();
  LProgram *p = kit_small_program(a);
  LVar *seed = lprog_var(p, "seed", DT_I64, LVAR_ARG);
  LExpr *h = le_call(p, LI_HASH_BITS, le_var(p, seed), le_var(p, seed));
  ck_assert_int_eq(h->type, DT_U32);
  h->type = DT_I32; /* a lowering bug */
  LVar *v = lprog_var(p, "h", DT_I32, LVAR_LOCAL);
  p->kernels[0]->body->next = ls_let(p, v, h);
  assert_rejects(p, "hash_bits has type i32, expected u32");
  p = kit_small_program(a);
  LExpr *r = le_call(p, LI_ROUND_EVEN, le_f32(p, 1.5f), le_f32(p, 2.0f));
  LVar *f = lprog_var(p, "f", DT_F32, LVAR_LOCAL);
  p->kernels[0]->body->next = ls_let(p, f, r);
  assert_rejects(p, "round_even takes 1 argument");
  arena_free(a);
}
END_TEST

START_TEST(constant_buffer_needs_values_and_no_offset) {
  Arena *a = arena_new();
  LProgram *p = kit_small_program(a);
  float v[2] = {1, 2};
  LBuffer *c = lprog_const_buffer(p, "c", DT_F32, shape_of(1, (int64_t[]){2}), v);
  assert_clean(p);
  c->offset = 0;
  assert_rejects(p, "constant buffer %c has an offset");
  c->offset = -1;
  c->data = NULL;
  assert_rejects(p, "constant buffer %c needs a known shape and its values");
  arena_free(a);
}
END_TEST

/* The memory planner and the backends learn what a kernel reads from
 * lkernel_accesses: a dot4 operand's buffer is read. */
START_TEST(accesses_see_dot4_operands_and_constant_buffers) {
  Arena *a = arena_new();
  LProgram *p = from_int8_text(a, "    let %d : i32 = dot4_u8i8(0, load %u[4], load %q[0])\n"
                                  "    let %s : i16 = load %t[1]");
  bool reads[8], writes[8];
  lkernel_accesses(p, p->kernels[0], reads, writes);
  ck_assert(reads[lprog_find_buffer(p, "q")->id] && reads[lprog_find_buffer(p, "u")->id]);
  ck_assert(reads[lprog_find_buffer(p, "t")->id] && !reads[lprog_find_buffer(p, "c")->id]);
  ck_assert(!writes[0] && !writes[1] && !writes[2] && !writes[3]);
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
  tcase_add_test(tc, regression_kind_needs_an_f32_pred);
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
  tcase_add_test(tc, every_intrinsic_with_its_types_verifies_clean);
  tcase_add_test(tc, store_to_a_constant_buffer_is_rejected);
  tcase_add_test(tc, dot4_operand_must_be_a_load);
  tcase_add_test(tc, dot4_operand_must_come_from_its_dtype);
  tcase_add_test(tc, dot4_group_past_the_end_is_rejected);
  tcase_add_test(tc, dot2_operand_must_be_a_load);
  tcase_add_test(tc, dot2_operand_must_be_i16);
  tcase_add_test(tc, dot2_pair_past_the_end_is_rejected);
  tcase_add_test(tc, shr_round_takes_i32_or_i64);
  tcase_add_test(tc, shr_round_shift_has_the_type_of_x);
  tcase_add_test(tc, clamp_bounds_have_the_type_of_x);
  tcase_add_test(tc, sat_cast_to_f32_is_rejected);
  tcase_add_test(tc, hash_bits_needs_i64_arguments);
  tcase_add_test(tc, hash_bits_gives_u32);
  tcase_add_test(tc, u16_and_u32_constants_must_fit);
  tcase_add_test(tc, intrinsic_typed_against_its_rule_is_rejected);
  tcase_add_test(tc, constant_buffer_needs_values_and_no_offset);
  tcase_add_test(tc, accesses_see_dot4_operands_and_constant_buffers);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
