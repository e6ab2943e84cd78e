/* The memory planner: liveness rules (chains, late reads, the loss, several
 * entries, same-kernel conflicts), the state layout, errors, the checker
 * catching bad plans, random programs, and the two placement orders compared
 * on layered models. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "progkit.h"

#define N_CHAIN 8

static MemPlanStats plan_with(Kit *k, MemPlanStrategy how) {
  MemPlanStats s;
  memset(&s, 0, sizeof s);
  ck_assert_msg(memplan_run_strategy(k->p, k->diag, how, &s), "memplan_run failed: %s",
                kit_messages(k));
  char err[512];
  ck_assert_msg(memplan_check(k->p, err, sizeof err), "memplan_check: %s", err);
  return s;
}

static MemPlanStats plan_ok(Kit *k) {
  return plan_with(k, MEMPLAN_BEST);
}

/* ---- liveness ---- */

START_TEST(chain_of_equal_buffers_uses_two_slots) {
  Kit k;
  kit_init(&k, "chain");
  LBuffer *b[N_CHAIN];
  for (int i = 0; i < N_CHAIN; i++) {
    b[i] = kit_buf(&k, arena_printf(k.arena, "b%d", i), LBUF_WORK, 1000);
    kit_call(&k, LENTRY_TRAIN_STEP, arena_printf(k.arena, "k%d", i),
             (LBuffer *[]){i ? b[i - 1] : NULL, NULL}, (LBuffer *[]){b[i], NULL});
  }
  MemPlanStats s = plan_ok(&k);
  int64_t slot = 4032; /* 4000 bytes rounded up to 64 */
  ck_assert_int_eq(k.p->work_bytes, slot + 4000);
  ck_assert_int_eq(s.work_bytes, k.p->work_bytes);
  ck_assert_int_eq(s.naive_work_bytes, N_CHAIN * slot);
  ck_assert_int_eq(s.peak_live_bytes, 8000);
  for (int i = 0; i < N_CHAIN; i++) {
    ck_assert(b[i]->offset == 0 || b[i]->offset == slot);
    if (i) ck_assert_int_ne(b[i]->offset, b[i - 1]->offset);
  }
  kit_free(&k);
}
END_TEST

START_TEST(buffer_read_much_later_stays_alive) {
  Kit k;
  kit_init(&k, "skip");
  LBuffer *skip = kit_buf(&k, "skip", LBUF_WORK, 1000);
  LBuffer *b[N_CHAIN];
  for (int i = 0; i < N_CHAIN; i++) {
    b[i] = kit_buf(&k, arena_printf(k.arena, "b%d", i), LBUF_WORK, 1000);
    LBuffer *extra_w = i == 0 ? skip : NULL, *extra_r = i == N_CHAIN - 1 ? skip : NULL;
    kit_call(&k, LENTRY_TRAIN_STEP, arena_printf(k.arena, "k%d", i),
             (LBuffer *[]){extra_r, i ? b[i - 1] : NULL, NULL},
             (LBuffer *[]){b[i], extra_w, NULL});
  }
  MemPlanStats s = plan_ok(&k);
  for (int i = 0; i < N_CHAIN; i++) ck_assert_msg(!kit_overlap(skip, b[i]), "skip overlaps b%d", i);
  ck_assert_int_eq(s.work_bytes, 2 * 4032 + 4000);
  ck_assert_int_eq(s.peak_live_bytes, 12000);
  kit_free(&k);
}
END_TEST

/* loss written by the first kernel, then kernels on other buffers: the
 * entry still returns the loss, so nothing after may reuse its bytes. */
static void loss_program(Kit *k, LBuffer **loss, LBuffer **later) {
  *loss = kit_buf(k, "loss", LBUF_WORK, 0);
  LBuffer *a = kit_buf(k, "a", LBUF_WORK, 16);
  *later = kit_buf(k, "later", LBUF_WORK, 16);
  kit_call(k, LENTRY_TRAIN_STEP, "k0", NULL, (LBuffer *[]){*loss, a, NULL});
  kit_call(k, LENTRY_TRAIN_STEP, "k1", (LBuffer *[]){a, NULL}, (LBuffer *[]){*later, NULL});
}

START_TEST(loss_lives_to_end_of_train_step) {
  Kit k;
  kit_init(&k, "loss");
  LBuffer *loss, *later;
  loss_program(&k, &loss, &later);
  k.p->loss = loss;
  plan_ok(&k);
  ck_assert(!kit_overlap(loss, later));
  kit_free(&k);
}
END_TEST

START_TEST(without_loss_mark_the_scalar_is_reused) {
  /* The contrast to the test above: the extension is what keeps them apart. */
  Kit k;
  kit_init(&k, "noloss");
  LBuffer *loss, *later;
  loss_program(&k, &loss, &later);
  plan_ok(&k);
  ck_assert(kit_overlap(loss, later));
  kit_free(&k);
}
END_TEST

START_TEST(checker_catches_loss_overwritten_after_last_write) {
  Kit k;
  kit_init(&k, "losscheck");
  LBuffer *loss, *later;
  loss_program(&k, &loss, &later);
  plan_ok(&k);
  k.p->loss = loss; /* the plan above ignored it */
  char err[512];
  ck_assert(!memplan_check(k.p, err, sizeof err));
  ck_assert_ptr_nonnull(strstr(err, "%loss"));
  kit_free(&k);
}
END_TEST

START_TEST(written_never_read_buffer_is_allocated_and_live_at_its_kernel) {
  Kit k;
  kit_init(&k, "dead");
  LBuffer *in = kit_buf(&k, "in", LBUF_WORK, 100);
  LBuffer *dead = kit_buf(&k, "dead", LBUF_WORK, 100);
  LBuffer *out = kit_buf(&k, "out", LBUF_WORK, 100);
  kit_call(&k, LENTRY_TRAIN_STEP, "k0", NULL, (LBuffer *[]){in, NULL});
  kit_call(&k, LENTRY_TRAIN_STEP, "k1", (LBuffer *[]){in, NULL}, (LBuffer *[]){dead, out, NULL});
  kit_call(&k, LENTRY_TRAIN_STEP, "k2", (LBuffer *[]){out, NULL}, NULL);
  MemPlanStats s = plan_ok(&k);
  ck_assert_int_ge(dead->offset, 0);
  ck_assert(!kit_overlap(dead, in));
  ck_assert(!kit_overlap(dead, out));
  ck_assert_int_eq(s.peak_live_bytes, 1200);
  ck_assert_str_eq(s.peak_entry, "train_step");
  ck_assert_int_eq(s.peak_kernel, 1);
  kit_free(&k);
}
END_TEST

START_TEST(buffers_in_two_entries_conflict_if_live_together_in_either) {
  Kit k;
  kit_init(&k, "entries");
  LBuffer *a = kit_buf(&k, "a", LBUF_WORK, 64);
  LBuffer *b = kit_buf(&k, "b", LBUF_WORK, 64);
  LBuffer *c = kit_buf(&k, "c", LBUF_WORK, 64);
  LBuffer *d = kit_buf(&k, "d", LBUF_WORK, 64);
  /* train_step: a then b (disjoint); c then d (disjoint). */
  kit_call(&k, LENTRY_TRAIN_STEP, "t0", NULL, (LBuffer *[]){a, c, NULL});
  kit_call(&k, LENTRY_TRAIN_STEP, "t1", NULL, (LBuffer *[]){b, d, NULL});
  /* predict: a and b together; c and d still apart. */
  kit_call(&k, LENTRY_PREDICT, "p0", (LBuffer *[]){a, NULL}, (LBuffer *[]){c, NULL});
  kit_call(&k, LENTRY_PREDICT, "p1", (LBuffer *[]){a, NULL}, (LBuffer *[]){b, NULL});
  kit_call(&k, LENTRY_PREDICT, "p2", (LBuffer *[]){b, NULL}, (LBuffer *[]){d, NULL});
  plan_ok(&k);
  ck_assert(!kit_overlap(a, b));
  ck_assert(!kit_overlap(a, c) && !kit_overlap(b, d));
  ck_assert_int_eq(k.p->work_bytes, 2 * 256); /* a|d and b|c share slots */
  kit_free(&k);
}
END_TEST

START_TEST(checker_catches_overlap_live_only_in_second_entry) {
  Kit k;
  kit_init(&k, "entries2");
  LBuffer *a = kit_buf(&k, "a", LBUF_WORK, 8);
  LBuffer *b = kit_buf(&k, "b", LBUF_WORK, 8);
  kit_call(&k, LENTRY_TRAIN_STEP, "t0", NULL, (LBuffer *[]){a, NULL});
  kit_call(&k, LENTRY_TRAIN_STEP, "t1", NULL, (LBuffer *[]){b, NULL});
  kit_call(&k, LENTRY_PREDICT, "p0", NULL, (LBuffer *[]){a, NULL});
  kit_call(&k, LENTRY_PREDICT, "p1", NULL, (LBuffer *[]){b, NULL});
  kit_call(&k, LENTRY_PREDICT, "p2", (LBuffer *[]){a, NULL}, NULL);
  plan_ok(&k);
  ck_assert(!kit_overlap(a, b));
  b->offset = a->offset;
  char err[512];
  ck_assert(!memplan_check(k.p, err, sizeof err));
  ck_assert_ptr_nonnull(strstr(err, "predict call 1"));
  kit_free(&k);
}
END_TEST

START_TEST(same_kernel_buffers_always_conflict) {
  Kit k;
  kit_init(&k, "same");
  LBuffer *in = kit_buf(&k, "in", LBUF_WORK, 256);
  LBuffer *o1 = kit_buf(&k, "o1", LBUF_WORK, 256);
  LBuffer *o2 = kit_buf(&k, "o2", LBUF_WORK, 256);
  kit_call(&k, LENTRY_TRAIN_STEP, "only", (LBuffer *[]){in, NULL}, (LBuffer *[]){o1, o2, NULL});
  plan_ok(&k);
  ck_assert(!kit_overlap(in, o1) && !kit_overlap(in, o2) && !kit_overlap(o1, o2));
  ck_assert_int_eq(k.p->work_bytes, 3 * 1024);
  o2->offset = in->offset; /* an in-place reuse the backend's restrict forbids */
  char err[512];
  ck_assert(!memplan_check(k.p, err, sizeof err));
  ck_assert_ptr_nonnull(strstr(err, "only"));
  kit_free(&k);
}
END_TEST

START_TEST(checker_catches_overlap_across_calls_not_in_one_kernel) {
  Kit k;
  kit_init(&k, "across");
  LBuffer *a = kit_buf(&k, "a", LBUF_WORK, 10);
  LBuffer *b = kit_buf(&k, "b", LBUF_WORK, 10);
  kit_call(&k, LENTRY_TRAIN_STEP, "k0", NULL, (LBuffer *[]){a, NULL});
  kit_call(&k, LENTRY_TRAIN_STEP, "k1", NULL, (LBuffer *[]){b, NULL});
  kit_call(&k, LENTRY_TRAIN_STEP, "k2", (LBuffer *[]){a, NULL}, NULL);
  plan_ok(&k);
  ck_assert(!kit_overlap(a, b));
  b->offset = a->offset;
  char err[512];
  ck_assert(!memplan_check(k.p, err, sizeof err));
  ck_assert_ptr_nonnull(strstr(err, "train_step call 1 (k1)"));
  kit_free(&k);
}
END_TEST

START_TEST(unused_work_buffer_gets_offset_zero) {
  Kit k;
  kit_init(&k, "unused");
  LBuffer *u = kit_buf(&k, "u", LBUF_WORK, 10);
  plan_ok(&k);
  ck_assert_int_eq(u->offset, 0);
  ck_assert_int_eq(k.p->work_bytes, 40);
  kit_free(&k);
}
END_TEST

/* ---- state ---- */

START_TEST(state_in_buffer_order_aligned_total_exact) {
  Kit k;
  kit_init(&k, "state");
  int64_t d3[3] = {2, 3, 5};
  LBuffer *s0 = kit_buf(&k, "s0", LBUF_STATE, 10);            /* 40 bytes */
  LBuffer *w0 = kit_buf(&k, "w0", LBUF_WORK, 1000);
  LBuffer *s1 = kit_typed(&k, "s1", LBUF_STATE, DT_I8, shape_of(0, NULL)); /* 1 */
  LBuffer *s2 = kit_typed(&k, "s2", LBUF_STATE, DT_I64, shape_of(3, d3));  /* 240 */
  LBuffer *arg = kit_buf(&k, "arg", LBUF_ARG, 10);
  LBuffer *s3 = kit_typed(&k, "s3", LBUF_STATE, DT_I16, shape_of(1, (int64_t[]){3})); /* 6 */
  kit_call(&k, LENTRY_TRAIN_STEP, "k", (LBuffer *[]){s0, s1, arg, NULL},
           (LBuffer *[]){w0, s2, NULL});
  plan_ok(&k);
  ck_assert_int_eq(s0->offset, 0);
  ck_assert_int_eq(s1->offset, 64);
  ck_assert_int_eq(s2->offset, 128);
  ck_assert_int_eq(s3->offset, 384);
  ck_assert_int_eq(k.p->state_bytes, 390);
  ck_assert_int_eq(arg->offset, -1); /* the caller's pointer: not planned */
  ck_assert_int_eq(w0->offset, 0);
  ck_assert_int_eq(k.p->work_bytes, 4000);
  kit_free(&k);
}
END_TEST

START_TEST(checker_catches_state_overlap_misalignment_and_overflow) {
  Kit k;
  kit_init(&k, "statebad");
  LBuffer *s0 = kit_buf(&k, "s0", LBUF_STATE, 100);
  LBuffer *s1 = kit_buf(&k, "s1", LBUF_STATE, 100);
  plan_ok(&k);
  char err[512];
  s1->offset = 64;
  ck_assert(!memplan_check(k.p, err, sizeof err));
  ck_assert_ptr_nonnull(strstr(err, "overlap"));
  s1->offset = 480;
  ck_assert(!memplan_check(k.p, err, sizeof err));
  ck_assert_ptr_nonnull(strstr(err, "aligned"));
  s1->offset = 512; /* aligned and disjoint, but past state_bytes */
  ck_assert(!memplan_check(k.p, err, sizeof err));
  ck_assert_ptr_nonnull(strstr(err, "does not fit"));
  s1->offset = 448; /* back to the plan */
  ck_assert(memplan_check(k.p, err, sizeof err));
  s0->offset = -1;
  ck_assert(!memplan_check(k.p, err, sizeof err));
  ck_assert_ptr_nonnull(strstr(err, "not planned"));
  kit_free(&k);
}
END_TEST

/* ---- errors ---- */

START_TEST(unknown_shape_is_an_error_naming_the_buffer) {
  Kit k;
  kit_init(&k, "unknown");
  kit_typed(&k, "mystery", LBUF_WORK, DT_F32, shape_unknown());
  kit_typed(&k, "halfknown", LBUF_STATE, DT_F32, shape_of(2, (int64_t[]){4, -1}));
  kit_typed(&k, "argok", LBUF_ARG, DT_F32, shape_unknown()); /* not planned: fine */
  ck_assert(!memplan_run(k.p, k.diag, NULL));
  ck_assert_int_eq(diag_error_count(k.diag), 2);
  ck_assert_ptr_nonnull(strstr(kit_messages(&k), "%mystery"));
  ck_assert_ptr_nonnull(strstr(kit_messages(&k), "%halfknown"));
  ck_assert_ptr_nonnull(strstr(kit_messages(&k), "unknown"));
  kit_free(&k);
}
END_TEST

START_TEST(size_overflow_is_an_error_not_a_wrap) {
  Kit k;
  kit_init(&k, "huge");
  int64_t dims[2] = {INT64_C(1) << 31, INT64_C(1) << 30}; /* 2^61 f32 = 2^63 bytes */
  kit_typed(&k, "huge", LBUF_WORK, DT_F32, shape_of(2, dims));
  ck_assert_int_eq(memplan_buffer_bytes(k.p->buffers[0]), -1);
  ck_assert(!memplan_run(k.p, k.diag, NULL));
  ck_assert_ptr_nonnull(strstr(kit_messages(&k), "oversized"));
  kit_free(&k);
}
END_TEST

START_TEST(total_overflow_is_an_error) {
  Kit k;
  kit_init(&k, "huge2");
  int64_t n = INT64_C(1) << 60; /* 2^62 bytes each: fits alone, not four */
  for (int i = 0; i < 4; i++)
    kit_typed(&k, arena_printf(k.arena, "big%d", i), LBUF_STATE, DT_F32, shape_of(1, &n));
  ck_assert(!memplan_run(k.p, k.diag, NULL));
  ck_assert_ptr_nonnull(strstr(kit_messages(&k), "2^63"));
  kit_free(&k);
}
END_TEST

/* ---- random programs ---- */

typedef struct Rng {
  uint64_t s;
} Rng;

static uint32_t rnd(Rng *r, uint32_t n) {
  r->s = r->s * 6364136223846793005ULL + 1442695040888963407ULL;
  return (uint32_t)(r->s >> 33) % n;
}

static LBuffer *random_buffer(Kit *k, Rng *r, int i) {
  static const DType types[] = {DT_F32, DT_I8, DT_I16, DT_I32, DT_I64, DT_U8};
  LBufHome home = rnd(r, 10) < 7 ? LBUF_WORK : rnd(r, 2) ? LBUF_STATE : LBUF_ARG;
  Shape s = shape_of(0, NULL);
  int rank = (int)rnd(r, 4);
  s.rank = rank;
  for (int d = 0; d < rank; d++) s.dim[d] = rnd(r, 12) == 0 ? 0 : 1 + rnd(r, rank == 1 ? 600 : 20);
  return kit_typed(k, arena_printf(k->arena, "r%d", i), home, types[rnd(r, 6)], s);
}

static void random_program(Kit *k, Rng *r) {
  int nb = 1 + (int)rnd(r, 40), nk = 1 + (int)rnd(r, 30);
  LBuffer **b = calloc((size_t)nb, sizeof *b);
  ck_assert_ptr_nonnull(b);
  for (int i = 0; i < nb; i++) b[i] = random_buffer(k, r, i);
  for (int i = 0; i < nk; i++) {
    LBuffer *rd[5] = {0}, *wr[5] = {0};
    int nr = (int)rnd(r, 4), nw = (int)rnd(r, 3);
    for (int j = 0; j < nr; j++) rd[j] = b[rnd(r, (uint32_t)nb)];
    for (int j = 0; j < nw; j++) wr[j] = b[rnd(r, (uint32_t)nb)];
    LKernel *kern = kit_kernel(k, arena_printf(k->arena, "k%d", i), rd, wr);
    int calls = 1 + (int)rnd(r, 2); /* some kernels run in two entries or twice */
    for (int c = 0; c < calls; c++) lprog_call(k->p, (LEntryKind)rnd(r, LENTRY_COUNT), kern);
  }
  if (rnd(r, 2)) {
    LBuffer *l = b[rnd(r, (uint32_t)nb)];
    if (l->home == LBUF_WORK) k->p->loss = l;
  }
  /* Shuffle the calls of each entry a little: kernels appear in any order. */
  for (int e = 0; e < LENTRY_COUNT; e++) {
    LEntry *en = &k->p->entries[e];
    for (int i = en->ncalls - 1; i > 0; i--) {
      int j = (int)rnd(r, (uint32_t)i + 1);
      LKernel *t = en->calls[i];
      en->calls[i] = en->calls[j];
      en->calls[j] = t;
    }
  }
  free(b);
}

/* Two WORK buffers of nonzero size touched by one call, if any. */
static bool find_conflicting_pair(const LProgram *p, LBuffer **x, LBuffer **y) {
  bool *rd = calloc((size_t)p->nbuffers + 1, 1), *wr = calloc((size_t)p->nbuffers + 1, 1);
  ck_assert(rd && wr);
  bool found = false;
  for (int e = 0; e < LENTRY_COUNT && !found; e++) {
    for (int c = 0; c < p->entries[e].ncalls && !found; c++) {
      lkernel_accesses(p, p->entries[e].calls[c], rd, wr);
      LBuffer *first = NULL;
      for (int i = 0; i < p->nbuffers && !found; i++) {
        LBuffer *b = p->buffers[i];
        if (!(rd[i] || wr[i]) || b->home != LBUF_WORK || memplan_buffer_bytes(b) == 0) continue;
        if (!first) first = b;
        else *x = first, *y = b, found = true;
      }
    }
  }
  free(rd);
  free(wr);
  return found;
}

static void corrupt_and_expect_failure(LProgram *p) {
  char err[512];
  LBuffer *x, *y;
  if (find_conflicting_pair(p, &x, &y)) {
    int64_t saved = y->offset;
    y->offset = x->offset;
    ck_assert_msg(!memplan_check(p, err, sizeof err), "overlap of %%%s and %%%s not caught",
                  x->name, y->name);
    y->offset = saved;
    x->offset += 32;
    ck_assert(!memplan_check(p, err, sizeof err));
    x->offset -= 32;
  }
  if (p->work_bytes > 0) {
    p->work_bytes--;
    ck_assert_msg(!memplan_check(p, err, sizeof err), "arena shrunk by one byte not caught");
    p->work_bytes++;
  }
  ck_assert(memplan_check(p, err, sizeof err));
}

START_TEST(random_programs_plan_valid_and_bounded) {
  static const MemPlanStrategy how[] = {MEMPLAN_GREEDY_BY_SIZE, MEMPLAN_FIRST_FIT_BY_USE,
                                        MEMPLAN_BEST};
  for (uint64_t seed = 1; seed <= 400; seed++) {
    Rng r = {seed * 0x9E3779B97F4A7C15ULL};
    Kit k;
    kit_init(&k, "random");
    random_program(&k, &r);
    int64_t bytes[3];
    for (int h = 0; h < 3; h++) {
      MemPlanStats s;
      ck_assert_msg(memplan_run_strategy(k.p, k.diag, how[h], &s), "seed %d: %s", (int)seed,
                    kit_messages(&k));
      char err[512];
      ck_assert_msg(memplan_check(k.p, err, sizeof err), "seed %d strategy %d: %s", (int)seed, h,
                    err);
      ck_assert_int_ge(s.work_bytes, s.peak_live_bytes);
      ck_assert_int_le(s.work_bytes, s.naive_work_bytes);
      ck_assert_int_eq(s.work_bytes, k.p->work_bytes);
      bytes[h] = s.work_bytes;
    }
    ck_assert_int_le(bytes[2], bytes[0]);
    ck_assert_int_le(bytes[2], bytes[1]);
    corrupt_and_expect_failure(k.p);
    kit_free(&k);
  }
}
END_TEST

START_TEST(plan_is_deterministic) {
  for (uint64_t seed = 1; seed <= 50; seed++) {
    int64_t off[2][64];
    int n = 0;
    for (int run = 0; run < 2; run++) {
      Rng r = {seed};
      Kit k;
      kit_init(&k, "det");
      random_program(&k, &r);
      ck_assert(memplan_run(k.p, k.diag, NULL));
      n = k.p->nbuffers;
      for (int i = 0; i < n; i++) off[run][i] = k.p->buffers[i]->offset;
      kit_free(&k);
    }
    for (int i = 0; i < n; i++) ck_assert_int_eq(off[0][i], off[1][i]);
  }
}
END_TEST

/* s (small) feeds big, big feeds t: s and t never meet. Largest-first puts
 * big at 0 and both small ones after it; first-use puts s at 0, big after
 * it, and t back at 0. Pins each order. */
static void small_big_small(Kit *k, LBuffer **s, LBuffer **big, LBuffer **t) {
  *big = kit_buf(k, "big", LBUF_WORK, 1000); /* lowest id: id order != use order */
  *s = kit_buf(k, "s", LBUF_WORK, 16);
  *t = kit_buf(k, "t", LBUF_WORK, 16);
  kit_call(k, LENTRY_TRAIN_STEP, "k0", NULL, (LBuffer *[]){*s, NULL});
  kit_call(k, LENTRY_TRAIN_STEP, "k1", (LBuffer *[]){*s, NULL}, (LBuffer *[]){*big, NULL});
  kit_call(k, LENTRY_TRAIN_STEP, "k2", (LBuffer *[]){*big, NULL}, (LBuffer *[]){*t, NULL});
}

START_TEST(greedy_places_largest_first_first_fit_by_first_use) {
  Kit k;
  LBuffer *s, *big, *t;
  kit_init(&k, "order1");
  small_big_small(&k, &s, &big, &t);
  MemPlanStats st = plan_with(&k, MEMPLAN_GREEDY_BY_SIZE);
  ck_assert_str_eq(st.strategy, "greedy-by-size");
  ck_assert_int_eq(big->offset, 0);
  ck_assert_int_eq(s->offset, 4032);
  ck_assert_int_eq(t->offset, 4032);
  ck_assert_int_eq(k.p->work_bytes, 4096);
  kit_free(&k);
  kit_init(&k, "order2");
  small_big_small(&k, &s, &big, &t);
  st = plan_with(&k, MEMPLAN_FIRST_FIT_BY_USE);
  ck_assert_str_eq(st.strategy, "first-fit-by-use");
  ck_assert_int_eq(s->offset, 0);
  ck_assert_int_eq(big->offset, 64);
  ck_assert_int_eq(t->offset, 0);
  ck_assert_int_eq(k.p->work_bytes, 4064);
  kit_free(&k);
  kit_init(&k, "order3"); /* BEST keeps the smaller: first-fit here */
  small_big_small(&k, &s, &big, &t);
  st = plan_with(&k, MEMPLAN_BEST);
  ck_assert_str_eq(st.strategy, "first-fit-by-use");
  ck_assert_int_eq(k.p->work_bytes, 4064);
  kit_free(&k);
}
END_TEST

/* ---- layered models: greedy-by-size vs first-fit-by-use ---- */

static const int64_t lenet_act[] = {784, 4704, 1176, 1600, 400, 120, 84, 10};
static const int64_t lenet_par[] = {0, 156, 0, 2416, 0, 48120, 10164, 850};
static const int64_t mlp_act[] = {784, 256, 128, 10};
static const int64_t mlp_par[] = {0, 200960, 32896, 1290};

static void compare_on(const char *name, int nlayers, const int64_t *act, const int64_t *par) {
  int64_t bytes[3];
  MemPlanStats s[3];
  static const MemPlanStrategy how[] = {MEMPLAN_GREEDY_BY_SIZE, MEMPLAN_FIRST_FIT_BY_USE,
                                        MEMPLAN_BEST};
  for (int h = 0; h < 3; h++) {
    Kit k;
    kit_init(&k, name);
    kit_layered_model(&k, nlayers, act, par);
    s[h] = plan_with(&k, how[h]);
    bytes[h] = s[h].work_bytes;
    ck_assert_int_lt(s[h].work_bytes, s[h].naive_work_bytes);
    ck_assert_int_ge(s[h].work_bytes, s[h].peak_live_bytes);
    kit_free(&k);
  }
  printf("%-8s state %8lld  naive %9lld  peak-live %9lld  greedy-by-size %9lld  "
         "first-fit-by-use %9lld  kept %s\n",
         name, (long long)s[2].state_bytes, (long long)s[2].naive_work_bytes,
         (long long)s[2].peak_live_bytes, (long long)bytes[0], (long long)bytes[1],
         s[2].strategy);
  ck_assert_int_eq(bytes[2], bytes[0] < bytes[1] ? bytes[0] : bytes[1]);
}

START_TEST(best_is_min_of_both_orders_on_layered_models) {
  compare_on("lenet5", 7, lenet_act, lenet_par);
  compare_on("mlp", 3, mlp_act, mlp_par);
}
END_TEST

START_TEST(greedy_by_size_lenet5_is_peak_live_plus_padding) {
  /* The numbers docs/memory.md quotes for the LeNet-5-shaped step. */
  Kit k;
  kit_init(&k, "lenet5");
  kit_layered_model(&k, 7, lenet_act, lenet_par);
  MemPlanStats s;
  ck_assert(memplan_run_strategy(k.p, k.diag, MEMPLAN_GREEDY_BY_SIZE, &s));
  ck_assert_str_eq(s.strategy, "greedy-by-size");
  char err[512];
  ck_assert_msg(memplan_check(k.p, err, sizeof err), "%s", err);
  /* Optimal up to alignment padding: at most 63 bytes per work buffer. */
  ck_assert_int_le(s.work_bytes, s.peak_live_bytes + (int64_t)MEMPLAN_ALIGN * k.p->nbuffers);
  kit_free(&k);
}
END_TEST

/* memplan_check for large programs (it costs calls x buffers^2): with the
 * per-entry intervals from lkernel_accesses, every pair of work buffers
 * that shares bytes must be live at no common call. */
static void check_large_plan(const LProgram *p) {
  int n = p->nbuffers;
  int *first = xcalloc((size_t)n * LENTRY_COUNT, sizeof(int));
  int *last = xcalloc((size_t)n * LENTRY_COUNT, sizeof(int));
  bool *r = xcalloc((size_t)n, sizeof(bool)), *w = xcalloc((size_t)n, sizeof(bool));
  for (int i = 0; i < n * LENTRY_COUNT; i++) first[i] = last[i] = -1;
  for (int e = 0; e < LENTRY_COUNT; e++)
    for (int c = 0; c < p->entries[e].ncalls; c++) {
      lkernel_accesses(p, p->entries[e].calls[c], r, w);
      for (int b = 0; b < n; b++) {
        if (!r[b] && !w[b]) continue;
        if (first[b * LENTRY_COUNT + e] < 0) first[b * LENTRY_COUNT + e] = c;
        last[b * LENTRY_COUNT + e] = c;
      }
    }
  for (int a = 0; a < n; a++)
    for (int b = a + 1; b < n; b++) {
      const LBuffer *x = p->buffers[a], *y = p->buffers[b];
      if (x->home != LBUF_WORK || y->home != LBUF_WORK || !kit_overlap(x, y)) continue;
      for (int e = 0; e < LENTRY_COUNT; e++) {
        int fa = first[a * LENTRY_COUNT + e], fb = first[b * LENTRY_COUNT + e];
        bool both = fa >= 0 && fb >= 0 && fa <= last[b * LENTRY_COUNT + e] &&
                    fb <= last[a * LENTRY_COUNT + e];
        ck_assert_msg(!both, "%%%s and %%%s share bytes and are live together in %s", x->name,
                      y->name, lentry_name((LEntryKind)e));
      }
    }
  free(first);
  free(last);
  free(r);
  free(w);
}

/* Past MEMPLAN_SWEEP_FROM work buffers the planner sweeps the buffers'
 * timeline spans (linear scan) instead of the quadratic greedy orders: the
 * plan must still keep live buffers apart and stay near the peak of live
 * bytes. */
START_TEST(large_programs_are_swept_and_stay_near_peak_live) {
  enum { LAYERS = 1600 };
  int64_t act[LAYERS + 1], par[LAYERS + 1];
  for (int i = 0; i <= LAYERS; i++) {
    act[i] = 16 + (i * 37) % 200; /* varied sizes leave holes to reuse */
    par[i] = i == 0 ? 0 : (i % 3 == 0 ? 0 : 64);
  }
  Kit k;
  kit_init(&k, "deep");
  kit_layered_model(&k, LAYERS, act, par);
  int nwork = 0;
  for (int i = 0; i < k.p->nbuffers; i++) nwork += k.p->buffers[i]->home == LBUF_WORK;
  ck_assert_int_gt(nwork, MEMPLAN_SWEEP_FROM);
  MemPlanStats s;
  ck_assert_msg(memplan_run(k.p, k.diag, &s), "%s", kit_messages(&k));
  ck_assert_str_eq(s.strategy, "sweep");
  check_large_plan(k.p);
  printf("deep: %d work buffers, peak-live %lld, swept arena %lld, naive %lld\n", nwork,
         (long long)s.peak_live_bytes, (long long)s.work_bytes, (long long)s.naive_work_bytes);
  ck_assert_int_ge(s.work_bytes, s.peak_live_bytes);
  ck_assert_int_le(s.work_bytes, s.peak_live_bytes + s.peak_live_bytes / 4);
  kit_free(&k);
}
END_TEST

/* ---- report ---- */

START_TEST(print_lists_offsets_lifetimes_and_totals) {
  Kit k;
  kit_init(&k, "tiny");
  LBuffer *w = kit_buf(&k, "w", LBUF_STATE, 4);
  LBuffer *a = kit_buf(&k, "a", LBUF_WORK, 16);
  LBuffer *b = kit_buf(&k, "b", LBUF_WORK, 16);
  kit_buf(&k, "never", LBUF_WORK, 1);
  k.p->loss = kit_buf(&k, "loss", LBUF_WORK, 0);
  kit_call(&k, LENTRY_TRAIN_STEP, "fwd", (LBuffer *[]){w, NULL}, (LBuffer *[]){a, NULL});
  kit_call(&k, LENTRY_TRAIN_STEP, "bwd", (LBuffer *[]){a, NULL}, (LBuffer *[]){b, k.p->loss, NULL});
  kit_call(&k, LENTRY_TRAIN_STEP, "upd", (LBuffer *[]){b, NULL}, (LBuffer *[]){w, NULL});
  kit_call(&k, LENTRY_PREDICT, "pred", (LBuffer *[]){w, NULL}, (LBuffer *[]){a, NULL});
  MemPlanStats s = plan_ok(&k);
  char *text = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&text, &len);
  ck_assert_ptr_nonnull(out);
  memplan_print(out, k.p, &s);
  fclose(out);
  ck_assert_ptr_nonnull(strstr(text, "memory plan for tiny"));
  ck_assert_ptr_nonnull(strstr(text, "state block: 16 bytes, 1 buffers"));
  ck_assert_ptr_nonnull(strstr(text, "param     %w"));
  ck_assert_ptr_nonnull(strstr(text, "train_step[0..1] predict[0..0]"));
  ck_assert_ptr_nonnull(strstr(text, "train_step[1..2]"));
  ck_assert_ptr_nonnull(strstr(text, "unused"));
  ck_assert_ptr_nonnull(strstr(text, "peak live: 132 bytes at train_step call 1 (bwd)"));
  ck_assert_ptr_nonnull(strstr(text, "naive (no sharing): 256 bytes"));
  /* The peak's live set, largest first: a and b (64 bytes), then the loss;
   * %never is not live there. */
  const char *peak = strstr(text, "live at the peak (train_step call 1): 3 buffers, 132 bytes");
  ck_assert_ptr_nonnull(peak);
  const char *pa = strstr(peak, "%a\n"), *pb = strstr(peak, "%b\n"), *pl = strstr(peak, "%loss\n");
  ck_assert_ptr_nonnull(pa);
  ck_assert_ptr_nonnull(pb);
  ck_assert_ptr_nonnull(pl);
  ck_assert(pa < pb && pb < pl);
  ck_assert_ptr_null(strstr(peak, "%never"));
  /* Without stats the totals are recomputed, not left blank. */
  char *text2 = NULL;
  out = open_memstream(&text2, &len);
  ck_assert_ptr_nonnull(out);
  memplan_print(out, k.p, NULL);
  fclose(out);
  ck_assert_ptr_nonnull(strstr(text2, "peak live: 132 bytes at train_step call 1 (bwd)"));
  free(text);
  free(text2);
  kit_free(&k);
}
END_TEST

static Suite *memplan_suite(void) {
  Suite *s = suite_create("memplan");
  TCase *live = tcase_create("liveness");
  tcase_add_test(live, chain_of_equal_buffers_uses_two_slots);
  tcase_add_test(live, buffer_read_much_later_stays_alive);
  tcase_add_test(live, loss_lives_to_end_of_train_step);
  tcase_add_test(live, without_loss_mark_the_scalar_is_reused);
  tcase_add_test(live, checker_catches_loss_overwritten_after_last_write);
  tcase_add_test(live, written_never_read_buffer_is_allocated_and_live_at_its_kernel);
  tcase_add_test(live, buffers_in_two_entries_conflict_if_live_together_in_either);
  tcase_add_test(live, checker_catches_overlap_live_only_in_second_entry);
  tcase_add_test(live, same_kernel_buffers_always_conflict);
  tcase_add_test(live, checker_catches_overlap_across_calls_not_in_one_kernel);
  tcase_add_test(live, unused_work_buffer_gets_offset_zero);
  suite_add_tcase(s, live);
  TCase *state = tcase_create("state");
  tcase_add_test(state, state_in_buffer_order_aligned_total_exact);
  tcase_add_test(state, checker_catches_state_overlap_misalignment_and_overflow);
  suite_add_tcase(s, state);
  TCase *errors = tcase_create("errors");
  tcase_add_test(errors, unknown_shape_is_an_error_naming_the_buffer);
  tcase_add_test(errors, size_overflow_is_an_error_not_a_wrap);
  tcase_add_test(errors, total_overflow_is_an_error);
  suite_add_tcase(s, errors);
  TCase *rand = tcase_create("random");
  tcase_set_timeout(rand, 60);
  tcase_add_test(rand, random_programs_plan_valid_and_bounded);
  tcase_add_test(rand, plan_is_deterministic);
  suite_add_tcase(s, rand);
  TCase *models = tcase_create("models");
  tcase_set_timeout(models, 60); /* the swept program: thousands of buffers */
  tcase_add_test(models, greedy_places_largest_first_first_fit_by_first_use);
  tcase_add_test(models, best_is_min_of_both_orders_on_layered_models);
  tcase_add_test(models, greedy_by_size_lenet5_is_peak_live_plus_padding);
  tcase_add_test(models, large_programs_are_swept_and_stay_near_peak_live);
  tcase_add_test(models, print_lists_offsets_lifetimes_and_totals);
  suite_add_tcase(s, models);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(memplan_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
