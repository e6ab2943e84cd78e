/* memplan_shrink (passes/memplan_shrink.c): which calls move up, which
 * kernels come to write over their input, and which must not. Every
 * shrunk program must still plan and pass memplan_check. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "progkit.h"

enum { N = 2048 }; /* f32 elements: 8 KB, above the in-place minimum */

static LExpr *ci(Kit *k, int64_t v) { return le_int(k->p, DT_I32, v); }

static LVar *loopvar(Kit *k) {
  return lprog_var(k->p, arena_printf(k->arena, "i%d", k->nlocals++), DT_I32, LVAR_LOOP);
}

/* for i in 0..n { store b[i + shift] = load a[i] * 2 } */
static LKernel *scale_kernel(Kit *k, const char *name, LBuffer *a, LBuffer *b, int64_t n,
                             int64_t shift) {
  LProgram *p = k->p;
  LVar *i = loopvar(k);
  LExpr *at = le_var(p, i);
  LExpr *out = shift ? le_bin(p, LB_ADD, le_var(p, i), ci(k, shift)) : le_var(p, i);
  LStmt *st = ls_store(p, b, out, le_bin(p, LB_MUL, le_load(p, a, at), le_f32(p, 2.0f)));
  LKernel *kern = lprog_kernel(p, name, name, (SrcLoc){0});
  kern->body = ls_for(p, i, ci(k, 0), ci(k, n), 1, LHINT_VECTORIZE, st);
  return kern;
}

/* for s in 0..outer { for j in 0..inner { store b[s*stride + j] = load a[same] } } */
static LKernel *nest_kernel(Kit *k, const char *name, LBuffer *a, LBuffer *b, int64_t outer,
                            int64_t inner, int64_t stride) {
  LProgram *p = k->p;
  LVar *s = loopvar(k), *j = loopvar(k);
  LExpr *at = le_bin(p, LB_ADD, le_bin(p, LB_MUL, le_var(p, s), ci(k, stride)), le_var(p, j));
  LStmt *st = ls_store(p, b, at, le_load(p, a, at));
  LStmt *in = ls_for(p, j, ci(k, 0), ci(k, inner), 1, 0, st);
  LKernel *kern = lprog_kernel(p, name, name, (SrcLoc){0});
  kern->body = ls_for(p, s, ci(k, 0), ci(k, outer), 1, 0, in);
  return kern;
}

/* A program: state w -> (make) a -> (k) b -> (use) loss; k is given. */
typedef struct Chain {
  LBuffer *w, *a, *b;
} Chain;

static Chain chain(Kit *k, int64_t n) {
  Chain c;
  c.w = kit_buf(k, "w", LBUF_STATE, n);
  c.a = kit_buf(k, "a", LBUF_WORK, n);
  c.b = kit_buf(k, "b", LBUF_WORK, n);
  k->p->loss = kit_buf(k, "loss", LBUF_WORK, 0);
  kit_call(k, LENTRY_TRAIN_STEP, "make", (LBuffer *[]){c.w, NULL}, (LBuffer *[]){c.a, NULL});
  return c;
}

static void finish(Kit *k, Chain *c) {
  kit_call(k, LENTRY_TRAIN_STEP, "use", (LBuffer *[]){c->b, NULL},
           (LBuffer *[]){k->p->loss, NULL});
}

static void plans(Kit *k) {
  MemPlanStats s;
  ck_assert_msg(memplan_run(k->p, k->diag, &s), "%s", kit_messages(k));
  char err[512];
  ck_assert_msg(memplan_check(k->p, err, sizeof err), "%s", err);
}

/* Renamed: b's name finds a, the kernel stores into a, b is gone. */
static void assert_merged(Kit *k, Chain *c, const LKernel *kern, int nbuffers_before) {
  ck_assert_ptr_eq(lprog_find_buffer(k->p, "b"), c->a);
  ck_assert_ptr_eq(kern->body->kind == LS_FOR ? kern->body->body->buf : NULL, c->a);
  ck_assert_int_eq(k->p->nbuffers, nbuffers_before - 1);
  for (int i = 0; i < k->p->nbuffers; i++) ck_assert_int_eq(k->p->buffers[i]->id, i);
}

START_TEST(elementwise_kernel_writes_over_its_dying_input) {
  Kit k;
  kit_init(&k, "inplace");
  Chain c = chain(&k, N);
  LKernel *kern = scale_kernel(&k, "scale", c.a, c.b, N, 0);
  lprog_call(k.p, LENTRY_TRAIN_STEP, kern);
  finish(&k, &c);
  int before = k.p->nbuffers;
  MemPlanShrink r;
  memplan_shrink(k.p, &r);
  ck_assert_int_eq(r.in_place, 1);
  assert_merged(&k, &c, kern, before);
  plans(&k);
  /* one 8 KB buffer and the loss, not two */
  ck_assert_int_le(k.p->work_bytes, N * 4 + MEMPLAN_ALIGN);
  kit_free(&k);
}
END_TEST

START_TEST(input_read_later_is_not_overwritten) {
  Kit k;
  kit_init(&k, "live");
  Chain c = chain(&k, N);
  lprog_call(k.p, LENTRY_TRAIN_STEP, scale_kernel(&k, "scale", c.a, c.b, N, 0));
  /* reads b too, so it cannot move above the kernel */
  kit_call(&k, LENTRY_TRAIN_STEP, "reread", (LBuffer *[]){c.a, c.b, NULL},
           (LBuffer *[]){c.w, NULL});
  finish(&k, &c);
  MemPlanShrink r;
  memplan_shrink(k.p, &r);
  ck_assert_int_eq(r.in_place, 0);
  ck_assert_ptr_eq(lprog_find_buffer(k.p, "b"), c.b);
  plans(&k);
  kit_free(&k);
}
END_TEST

START_TEST(input_live_in_another_entry_is_not_overwritten) {
  Kit k;
  kit_init(&k, "entries");
  Chain c = chain(&k, N);
  LKernel *kern = scale_kernel(&k, "scale", c.a, c.b, N, 0);
  lprog_call(k.p, LENTRY_TRAIN_STEP, kern);
  finish(&k, &c);
  /* predict reads a after the same kernel */
  kit_call(&k, LENTRY_PREDICT, "make2", (LBuffer *[]){c.w, NULL}, (LBuffer *[]){c.a, NULL});
  lprog_call(k.p, LENTRY_PREDICT, kern);
  kit_call(&k, LENTRY_PREDICT, "late", (LBuffer *[]){c.a, c.b, NULL}, (LBuffer *[]){c.w, NULL});
  MemPlanShrink r;
  memplan_shrink(k.p, &r);
  ck_assert_int_eq(r.in_place, 0);
  plans(&k);
  kit_free(&k);
}
END_TEST

START_TEST(shifted_index_is_not_elementwise) {
  Kit k;
  kit_init(&k, "shift");
  Chain c = chain(&k, N);
  /* b[i + 1] = 2 a[i]: in place, a[i + 1] would be overwritten before it is read */
  lprog_call(k.p, LENTRY_TRAIN_STEP, scale_kernel(&k, "shift", c.a, c.b, N - 1, 1));
  finish(&k, &c);
  MemPlanShrink r;
  memplan_shrink(k.p, &r);
  ck_assert_int_eq(r.in_place, 0);
  plans(&k);
  kit_free(&k);
}
END_TEST

START_TEST(repeated_elements_are_not_elementwise) {
  /* for s in 0..4, j in 0..N/4: b[j] = a[j] (s ignored: each element four
   * times; in place that is harmless here but not in general: refused) */
  Kit k;
  kit_init(&k, "repeat");
  Chain c = chain(&k, N);
  lprog_call(k.p, LENTRY_TRAIN_STEP, nest_kernel(&k, "rep", c.a, c.b, 4, N / 4, 0));
  finish(&k, &c);
  MemPlanShrink r;
  memplan_shrink(k.p, &r);
  ck_assert_int_eq(r.in_place, 0);
  kit_free(&k);
  /* strides that overlap: s * (N/8) + j with j < N/4 visits elements twice */
  kit_init(&k, "overlap");
  c = chain(&k, N);
  lprog_call(k.p, LENTRY_TRAIN_STEP, nest_kernel(&k, "ovl", c.a, c.b, 4, N / 4, N / 8));
  finish(&k, &c);
  memplan_shrink(k.p, &r);
  ck_assert_int_eq(r.in_place, 0);
  kit_free(&k);
  /* the per-sample nest the lowerings emit: s * (N/4) + j, j < N/4 */
  kit_init(&k, "nest");
  c = chain(&k, N);
  LKernel *kern = nest_kernel(&k, "nest", c.a, c.b, 4, N / 4, N / 4);
  lprog_call(k.p, LENTRY_TRAIN_STEP, kern);
  finish(&k, &c);
  memplan_shrink(k.p, &r);
  ck_assert_int_eq(r.in_place, 1);
  ck_assert_ptr_eq(lprog_find_buffer(k.p, "b"), c.a);
  plans(&k);
  kit_free(&k);
}
END_TEST

START_TEST(load_after_store_is_not_elementwise) {
  Kit k;
  kit_init(&k, "order");
  Chain c = chain(&k, N);
  LProgram *p = k.p;
  LVar *i = loopvar(&k);
  LVar *t = lprog_var(p, "t", DT_F32, LVAR_LOCAL);
  LBlock body = {0};
  lblock_add(&body, ls_store(p, c.b, le_var(p, i), le_f32(p, 0.0f)));
  lblock_add(&body, ls_let(p, t, le_load(p, c.a, le_var(p, i))));
  lblock_add(&body, ls_store(p, c.b, le_var(p, i), le_var(p, t)));
  LKernel *kern = lprog_kernel(p, "late_load", "late_load", (SrcLoc){0});
  kern->body = ls_for(p, i, ci(&k, 0), ci(&k, N), 1, 0, body.first);
  lprog_call(p, LENTRY_TRAIN_STEP, kern);
  finish(&k, &c);
  MemPlanShrink r;
  memplan_shrink(p, &r);
  ck_assert_int_eq(r.in_place, 0);
  kit_free(&k);
}
END_TEST

START_TEST(reduction_before_the_elementwise_loop_is_allowed) {
  /* a range clip: m = max a[i] over a first loop, then b[i] = min(a[i], m) */
  Kit k;
  kit_init(&k, "clip");
  Chain c = chain(&k, N);
  LProgram *p = k.p;
  LVar *i = loopvar(&k), *j = loopvar(&k);
  LVar *m = lprog_var(p, "m", DT_F32, LVAR_LOCAL);
  LBlock body = {0};
  lblock_add(&body, ls_let(p, m, le_load(p, c.a, ci(&k, 0))));
  lblock_add(&body, ls_for(p, i, ci(&k, 0), ci(&k, N), 1, 0,
                           ls_assign(p, m, le_bin(p, LB_MAX, le_var(p, m),
                                                  le_load(p, c.a, le_var(p, i))))));
  lblock_add(&body, ls_for(p, j, ci(&k, 0), ci(&k, N), 1, LHINT_VECTORIZE,
                           ls_store(p, c.b, le_var(p, j),
                                    le_bin(p, LB_MIN, le_load(p, c.a, le_var(p, j)),
                                           le_var(p, m)))));
  LKernel *kern = lprog_kernel(p, "clip", "clip", (SrcLoc){0});
  kern->body = body.first;
  lprog_call(p, LENTRY_TRAIN_STEP, kern);
  finish(&k, &c);
  int before = p->nbuffers;
  MemPlanShrink r;
  memplan_shrink(p, &r);
  ck_assert_int_eq(r.in_place, 1);
  ck_assert_ptr_eq(lprog_find_buffer(p, "b"), c.a);
  ck_assert_int_eq(p->nbuffers, before - 1);
  ck_assert_ptr_eq(kern->body->next->next->body->buf, c.a);
  plans(&k);
  kit_free(&k);
}
END_TEST

START_TEST(small_buffers_keep_their_names) {
  Kit k;
  kit_init(&k, "small");
  Chain c = chain(&k, 16);
  lprog_call(k.p, LENTRY_TRAIN_STEP, scale_kernel(&k, "scale", c.a, c.b, 16, 0));
  finish(&k, &c);
  MemPlanShrink r;
  memplan_shrink(k.p, &r);
  ck_assert_int_eq(r.in_place, 0);
  kit_free(&k);
}
END_TEST

/* ---- hoisting ---- */

static int position(const LEntry *en, const char *name) {
  for (int i = 0; i < en->ncalls; i++)
    if (strcmp(en->calls[i]->name, name) == 0) return i;
  return -1;
}

START_TEST(update_moves_up_to_its_gradient_and_the_peak_falls) {
  /* dw writes a 64 KB gradient g; two big unrelated buffers live after it
   * (h1 -> h2); the update reads g and the learning rate, which a tiny
   * schedule kernel computes at the very end. Both move up: lr first, then
   * the update right after dw, so g is dead before h1 and h2 exist. */
  Kit k;
  kit_init(&k, "hoist");
  LBuffer *x = kit_buf(&k, "x", LBUF_STATE, 4);
  LBuffer *w = kit_buf(&k, "w", LBUF_STATE, 16384);
  LBuffer *step = kit_buf(&k, "step", LBUF_STATE, 0);
  LBuffer *g = kit_buf(&k, "g", LBUF_WORK, 16384);
  LBuffer *h1 = kit_buf(&k, "h1", LBUF_WORK, 16384);
  LBuffer *h2 = kit_buf(&k, "h2", LBUF_WORK, 16384);
  LBuffer *lr = kit_buf(&k, "lr", LBUF_WORK, 0);
  k.p->loss = kit_buf(&k, "loss", LBUF_WORK, 0);
  LEntryKind T = LENTRY_TRAIN_STEP;
  kit_call(&k, T, "dw", (LBuffer *[]){x, NULL}, (LBuffer *[]){g, NULL});
  kit_call(&k, T, "f1", (LBuffer *[]){x, NULL}, (LBuffer *[]){h1, NULL});
  kit_call(&k, T, "f2", (LBuffer *[]){h1, NULL}, (LBuffer *[]){h2, NULL});
  kit_call(&k, T, "f3", (LBuffer *[]){h2, NULL}, (LBuffer *[]){k.p->loss, NULL});
  kit_call(&k, T, "lr", (LBuffer *[]){step, NULL}, (LBuffer *[]){lr, NULL});
  kit_call(&k, T, "sgd", (LBuffer *[]){g, lr, w, NULL}, (LBuffer *[]){w, NULL});
  MemPlanStats before;
  ck_assert(memplan_run(k.p, k.diag, &before));
  MemPlanShrink r;
  memplan_shrink(k.p, &r);
  ck_assert_int_eq(r.hoisted, 2);
  const LEntry *en = &k.p->entries[T];
  ck_assert_int_eq(position(en, "lr"), 0);
  ck_assert_int_eq(position(en, "sgd"), position(en, "dw") + 1);
  MemPlanStats after;
  ck_assert(memplan_run(k.p, k.diag, &after));
  ck_assert_int_lt(after.peak_live_bytes, before.peak_live_bytes);
  char err[512];
  ck_assert_msg(memplan_check(k.p, err, sizeof err), "%s", err);
  kit_free(&k);
}
END_TEST

START_TEST(a_call_never_passes_what_it_depends_on) {
  /* f1 reads w, which sgd writes: sgd may not move above f1 (a write after
   * a read), nor above dw (it reads g, which dw writes). */
  Kit k;
  kit_init(&k, "deps");
  LBuffer *x = kit_buf(&k, "x", LBUF_STATE, 4);
  LBuffer *w = kit_buf(&k, "w", LBUF_STATE, 16384);
  LBuffer *g = kit_buf(&k, "g", LBUF_WORK, 16384);
  LBuffer *h1 = kit_buf(&k, "h1", LBUF_WORK, 16384);
  k.p->loss = kit_buf(&k, "loss", LBUF_WORK, 0);
  LEntryKind T = LENTRY_TRAIN_STEP;
  kit_call(&k, T, "dw", (LBuffer *[]){x, NULL}, (LBuffer *[]){g, NULL});
  kit_call(&k, T, "f0", (LBuffer *[]){x, NULL}, (LBuffer *[]){k.p->loss, NULL});
  kit_call(&k, T, "f1", (LBuffer *[]){w, NULL}, (LBuffer *[]){h1, NULL});
  kit_call(&k, T, "f2", (LBuffer *[]){h1, NULL}, (LBuffer *[]){x, NULL});
  kit_call(&k, T, "sgd", (LBuffer *[]){g, w, NULL}, (LBuffer *[]){w, NULL});
  MemPlanShrink r;
  memplan_shrink(k.p, &r);
  const LEntry *en = &k.p->entries[T];
  ck_assert_int_gt(position(en, "sgd"), position(en, "f1"));
  ck_assert_int_gt(position(en, "sgd"), position(en, "dw"));
  ck_assert_int_eq(position(en, "sgd"), position(en, "f1") + 1); /* passed f2 only */
  ck_assert_int_eq(position(en, "f2"), position(en, "sgd") + 1);
  ck_assert_int_ge(r.hoisted, 1);
  kit_free(&k);
}
END_TEST

static Suite *shrink_suite(void) {
  Suite *s = suite_create("memplan_shrink");
  TCase *t = tcase_create("inplace");
  tcase_add_test(t, elementwise_kernel_writes_over_its_dying_input);
  tcase_add_test(t, input_read_later_is_not_overwritten);
  tcase_add_test(t, input_live_in_another_entry_is_not_overwritten);
  tcase_add_test(t, shifted_index_is_not_elementwise);
  tcase_add_test(t, repeated_elements_are_not_elementwise);
  tcase_add_test(t, load_after_store_is_not_elementwise);
  tcase_add_test(t, reduction_before_the_elementwise_loop_is_allowed);
  tcase_add_test(t, small_buffers_keep_their_names);
  suite_add_tcase(s, t);
  TCase *h = tcase_create("hoist");
  tcase_add_test(h, update_moves_up_to_its_gradient_and_the_peak_falls);
  tcase_add_test(h, a_call_never_passes_what_it_depends_on);
  suite_add_tcase(s, h);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(shrink_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
