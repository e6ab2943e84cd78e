/* The loop-IR verifier's check that no two buffers share bytes while both
 * hold values (docs/loops.md, "Overlap"). The C backend passes every buffer
 * of a kernel as a `restrict` pointer and the memory planner lets work
 * buffers whose lifetimes are disjoint share bytes, so the rule is the
 * planner's: state buffers persist and never overlap; two work buffers may
 * overlap only when no entry has a call at which both are live (touched at
 * or before it and at or after it, the entry's results live to its end).
 *
 * It runs on every compile and on programs of any size, so it is a sweep:
 * per entry, calls in order, buffers enter at their first call and leave
 * after their last, and each entering buffer is checked against the live
 * ones with a max-segment tree over their start offsets (the live buffers
 * are disjoint, so the one that starts last before the new buffer's end is
 * the only one that can reach into it). O(B log B) per entry. */
#include "loop_overlap.h"

#include <stdlib.h>
#include <string.h>

static int64_t buffer_bytes(const LBuffer *b) {
  int64_t numel = shape_numel(&b->shape), bytes;
  if (numel < 0 || __builtin_mul_overflow(numel, (int64_t)dtype_size(b->dtype), &bytes))
    return -1;
  return bytes;
}

/* A buffer placed in its block: [offset, end), end > offset. */
static bool placed(const LBuffer *b, int64_t *end) {
  int64_t bytes = buffer_bytes(b);
  return b->offset >= 0 && bytes > 0 && !__builtin_add_overflow(b->offset, bytes, end);
}

static int by_offset(const void *x, const void *y) {
  const LBuffer *a = *(const LBuffer *const *)x, *b = *(const LBuffer *const *)y;
  if (a->offset != b->offset) return a->offset < b->offset ? -1 : 1;
  return (a->id > b->id) - (a->id < b->id);
}

static void report(Diag *d, const LBuffer *a, const LBuffer *b, const char *when) {
  int64_t ea = 0, eb = 0;
  placed(a, &ea);
  placed(b, &eb);
  diag_error(d, b->loc, "%s buffers %%%s [%lld, %lld) and %%%s [%lld, %lld) overlap%s",
             a->home == LBUF_STATE ? "state" : "work", a->name, (long long)a->offset,
             (long long)ea, b->name, (long long)b->offset, (long long)eb, when);
}

/* State persists: sorted by offset, each must start at or after the
 * furthest end before it. */
static bool check_state(const LProgram *p, Diag *d) {
  const LBuffer **s = xcalloc((size_t)p->nbuffers + 1, sizeof *s);
  int n = 0;
  int64_t end;
  for (int i = 0; i < p->nbuffers; i++)
    if (p->buffers[i]->home == LBUF_STATE && placed(p->buffers[i], &end)) s[n++] = p->buffers[i];
  qsort(s, (size_t)n, sizeof *s, by_offset);
  bool ok = true;
  const LBuffer *reach = NULL; /* the buffer that ends furthest so far */
  int64_t reach_end = 0;
  for (int i = 0; i < n && ok; i++) {
    if (reach && s[i]->offset < reach_end) {
      report(d, reach, s[i], "");
      ok = false;
    }
    if (placed(s[i], &end) && end > reach_end) reach = s[i], reach_end = end;
  }
  free(s);
  return ok;
}

/* ---- which calls touch a buffer ---- */

typedef struct Lifetimes {
  int *first, *last; /* by buffer id; -1: not touched in this entry */
  LUses uses;        /* one call's buffers */
} Lifetimes;

static void touch(Lifetimes *lt, int id, int call) {
  if (lt->first[id] < 0) lt->first[id] = call;
  lt->last[id] = call;
}

/* ---- the live work buffers, by start offset ---- */

/* A max-segment tree over the distinct start offsets of the work buffers:
 * leaf k holds the end of the live buffer that starts at starts[k] (-1:
 * none) and which buffer it is. */
typedef struct Live {
  int size;          /* leaves, a power of two */
  int64_t *end;      /* 2*size nodes: the largest end below */
  const LBuffer **who;
  const int64_t *starts;
  int nstarts;
} Live;

static int leaf_of(const Live *t, int64_t offset) { /* first start >= offset */
  int lo = 0, hi = t->nstarts;
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    if (t->starts[mid] < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

static void live_set(Live *t, int leaf, int64_t end, const LBuffer *b) {
  int i = leaf + t->size;
  t->end[i] = end;
  t->who[i] = b;
  for (i /= 2; i >= 1; i /= 2) {
    int l = 2 * i, r = l + 1;
    int m = t->end[l] >= t->end[r] ? l : r;
    t->end[i] = t->end[m];
    t->who[i] = t->who[m];
  }
}

/* The live buffer with the largest end among those starting before
 * leaf k (NULL if none). */
static const LBuffer *live_reach(const Live *t, int k, int64_t *end) {
  const LBuffer *best = NULL;
  *end = -1;
  for (int l = t->size, r = t->size + k; l < r; l /= 2, r /= 2) {
    if (l & 1) {
      if (t->end[l] > *end) *end = t->end[l], best = t->who[l];
      l++;
    }
    if (r & 1) {
      r--;
      if (t->end[r] > *end) *end = t->end[r], best = t->who[r];
    }
  }
  return best;
}

/* A buffer with the call it enters or leaves at, for sorting. */
typedef struct Keyed {
  const LBuffer *b;
  int key;
} Keyed;
static int by_key(const void *x, const void *y) {
  const Keyed *a = x, *b = y;
  if (a->key != b->key) return (a->key > b->key) - (a->key < b->key);
  return (a->b->id > b->b->id) - (a->b->id < b->b->id);
}

static bool check_entry(const LProgram *p, Diag *d, LEntryKind e, const LBuffer **work,
                        int nwork, Live *t, Lifetimes *lt) {
  const LEntry *en = &p->entries[e];
  if (en->ncalls == 0) return true;
  for (int i = 0; i < p->nbuffers; i++) lt->first[i] = lt->last[i] = -1;
  for (int c = 0; c < en->ncalls; c++) {
    lkernel_buffer_uses(en->calls[c], &lt->uses);
    for (int j = 0; j < lt->uses.n; j++) touch(lt, lt->uses.ids[j], c);
  }
  const LBuffer *results[2];
  for (int i = 0, nr = lentry_results(p, e, results); i < nr; i++)
    touch(lt, results[i]->id, en->ncalls - 1); /* read after the last call */
  Keyed *enter = xcalloc((size_t)nwork + 1, sizeof *enter);
  Keyed *leave = xcalloc((size_t)nwork + 1, sizeof *leave);
  int n = 0;
  for (int i = 0; i < nwork; i++) {
    int id = work[i]->id;
    if (lt->first[id] < 0) continue;
    enter[n] = (Keyed){work[i], lt->first[id]};
    leave[n++] = (Keyed){work[i], lt->last[id]};
  }
  qsort(enter, (size_t)n, sizeof *enter, by_key);
  qsort(leave, (size_t)n, sizeof *leave, by_key);
  for (int i = 0; i < 2 * t->size; i++) t->end[i] = -1, t->who[i] = NULL;
  bool ok = true;
  for (int in = 0, out = 0; in < n && ok; in++) {
    const LBuffer *b = enter[in].b;
    int call = enter[in].key;
    for (; out < n && leave[out].key < call; out++) { /* left before this call */
      int k = leaf_of(t, leave[out].b->offset);
      if (t->who[k + t->size] == leave[out].b) live_set(t, k, -1, NULL);
    }
    int64_t end, reach_end;
    placed(b, &end);
    const LBuffer *other = live_reach(t, leaf_of(t, end), &reach_end);
    if (other && reach_end > b->offset) {
      char when[160];
      snprintf(when, sizeof when, " while both are live at %s call %d (%s)", lentry_name(e),
               call, en->calls[call] ? en->calls[call]->name : "?");
      report(d, other, b, when);
      ok = false;
    } else {
      live_set(t, leaf_of(t, b->offset), end, b);
    }
  }
  free(enter);
  free(leave);
  return ok;
}

bool lprog_check_overlaps(const LProgram *p, Diag *d) {
  if (!check_state(p, d)) return false;
  const LBuffer **work = xcalloc((size_t)p->nbuffers + 1, sizeof *work);
  int nwork = 0;
  int64_t end;
  for (int i = 0; i < p->nbuffers; i++)
    if (p->buffers[i]->home == LBUF_WORK && placed(p->buffers[i], &end))
      work[nwork++] = p->buffers[i];
  qsort(work, (size_t)nwork, sizeof *work, by_offset);
  int64_t *starts = xcalloc((size_t)nwork + 1, sizeof *starts);
  int nstarts = 0;
  for (int i = 0; i < nwork; i++)
    if (nstarts == 0 || starts[nstarts - 1] != work[i]->offset) starts[nstarts++] = work[i]->offset;
  Live t = {.size = 1, .starts = starts, .nstarts = nstarts};
  while (t.size < nstarts + 1) t.size *= 2;
  t.end = xcalloc((size_t)t.size * 2, sizeof *t.end);
  t.who = xcalloc((size_t)t.size * 2, sizeof *t.who);
  Lifetimes lt = {xcalloc((size_t)p->nbuffers + 1, sizeof(int)),
                  xcalloc((size_t)p->nbuffers + 1, sizeof(int)), {0}};
  luses_init(&lt.uses, p->nbuffers);
  bool ok = true;
  for (int e = 0; e < LENTRY_COUNT && ok; e++)
    ok = check_entry(p, d, (LEntryKind)e, work, nwork, &t, &lt);
  free(lt.first);
  free(lt.last);
  luses_free(&lt.uses);
  free(t.end);
  free(t.who);
  free(starts);
  free(work);
  return ok;
}
