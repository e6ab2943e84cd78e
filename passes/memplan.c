/* The memory planner: static offsets for every STATE and WORK buffer of one
 * loop program (see memplan.h and docs/memory.md).
 *
 * Liveness is per entry: a WORK buffer is live from the first call that
 * touches it to the last one (closed interval); the loss is also live until
 * the entry returns, since train_step reads it after its last kernel. Two WORK
 * buffers conflict when their intervals overlap in some entry (one offset
 * serves every entry); two buffers touched by one kernel therefore always
 * conflict, which the C backend's `restrict` needs.
 *
 * Placement is TFLite Micro's greedy planner: buffers in some order, each at
 * the lowest 64-byte-aligned offset that overlaps no conflicting buffer
 * already placed. The order is largest-first or first-use; MEMPLAN_BEST runs
 * both and keeps the smaller arena. The checker re-derives liveness another
 * way, so a planner bug does not hide behind the same code. */
#include "memplan.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "loop_overlap.h"
#include "pass.h"
#include "target.h"

/* Per entry, per buffer: the first and last call index that touches it, -1
 * when the entry never touches it. */
typedef struct Live {
  int n;
  int *first[LENTRY_COUNT];
  int *last[LENTRY_COUNT];
} Live;

/* A buffer waiting to be placed and its sort keys (smaller goes first). */
typedef struct Order {
  int64_t k1, k2;
  int id;
} Order;

static int64_t align_up(int64_t x) {
  return (x + MEMPLAN_ALIGN - 1) / MEMPLAN_ALIGN * MEMPLAN_ALIGN;
}

/* Largest size or total we accept: every aligned sum below stays in int64. */
static const int64_t max_bytes = INT64_MAX - 2 * MEMPLAN_ALIGN;

int64_t memplan_buffer_bytes(const LBuffer *b) {
  int64_t n = shape_numel(&b->shape); /* rank 0: 1 */
  int64_t esize = (int64_t)dtype_size(b->dtype);
  if (n < 0 || esize <= 0) return -1;
  if (n > max_bytes / esize) return -1;
  return n * esize;
}

/* ARG buffers are the caller's pointers; CONST buffers are data of the
 * generated code (their values are in the program): neither has bytes in
 * the state block or the work arena. */
static bool is_planned(const LBuffer *b) {
  return b->home == LBUF_STATE || b->home == LBUF_WORK;
}

/* ---- liveness ---- */

static void touch(Live *lv, int e, int b, int call) {
  if (lv->first[e][b] < 0) lv->first[e][b] = call;
  lv->last[e][b] = call;
}

/* One walk over every call's buffer list: linear in the program's size. */
static void live_compute(const LProgram *p, Live *lv) {
  int n = p->nbuffers;
  lv->n = n;
  LUses u;
  luses_init(&u, n);
  for (int e = 0; e < LENTRY_COUNT; e++) {
    lv->first[e] = xmalloc(((size_t)n + 1) * sizeof(int));
    lv->last[e] = xmalloc(((size_t)n + 1) * sizeof(int));
    for (int b = 0; b < n; b++) lv->first[e][b] = lv->last[e][b] = -1;
    const LEntry *en = &p->entries[e];
    for (int i = 0; i < en->ncalls; i++) {
      lkernel_buffer_uses(en->calls[i], &u);
      for (int j = 0; j < u.n; j++) touch(lv, e, u.ids[j], i);
    }
    /* An entry returns its results after its last kernel. */
    const LBuffer *results[2];
    int nr = en->ncalls > 0 ? lentry_results(p, (LEntryKind)e, results) : 0;
    for (int i = 0; i < nr; i++) touch(lv, e, results[i]->id, en->ncalls - 1);
  }
  luses_free(&u);
}

static void live_free(Live *lv) {
  for (int e = 0; e < LENTRY_COUNT; e++) {
    free(lv->first[e]);
    free(lv->last[e]);
  }
}

static bool conflict(const Live *lv, int a, int b) {
  for (int e = 0; e < LENTRY_COUNT; e++) {
    if (lv->first[e][a] < 0 || lv->first[e][b] < 0) continue;
    if (lv->first[e][a] <= lv->last[e][b] && lv->first[e][b] <= lv->last[e][a]) return true;
  }
  return false;
}

/* ---- sizes, state layout ---- */

/* Fills size[] for planned buffers; reports unknown or oversized ones. */
static bool buffer_sizes(const LProgram *p, Diag *d, int64_t *size) {
  bool ok = true;
  for (int i = 0; i < p->nbuffers; i++) {
    const LBuffer *b = p->buffers[i];
    size[i] = 0;
    if (!is_planned(b)) continue;
    size[i] = memplan_buffer_bytes(b);
    if (size[i] >= 0) continue;
    char ty[96];
    TensorType t = {b->dtype, b->shape};
    diag_error(d, (SrcLoc){0},
               "memory plan: buffer %%%s has %s type %s; every state and work buffer needs a "
               "known, int64-sized shape",
               b->name, shape_known(&b->shape) ? "an oversized" : "an unknown",
               type_str(&t, ty, sizeof ty));
    ok = false;
  }
  return ok;
}

/* Sum of the aligned sizes of the buffers living in `home`; -1 on overflow. */
static int64_t aligned_total(const LProgram *p, const int64_t *size, LBufHome home) {
  int64_t total = 0;
  for (int i = 0; i < p->nbuffers; i++) {
    if (p->buffers[i]->home != home) continue;
    int64_t a = align_up(size[i]);
    if (total > max_bytes - a) return -1;
    total += a;
  }
  return total;
}

/* STATE buffers in buffer order, each aligned: checkpoints depend on it. */
static int64_t layout_state(const LProgram *p, const int64_t *size, int64_t *off) {
  int64_t end = 0, next = 0;
  for (int i = 0; i < p->nbuffers; i++) {
    if (p->buffers[i]->home != LBUF_STATE) continue;
    off[i] = next;
    end = next + size[i];
    next = align_up(end);
  }
  return end;
}

/* ---- work placement ---- */

static int order_cmp(const void *x, const void *y) {
  const Order *a = x, *b = y;
  if (a->k1 != b->k1) return a->k1 < b->k1 ? -1 : 1;
  if (a->k2 != b->k2) return a->k2 < b->k2 ? -1 : 1;
  return a->id < b->id ? -1 : a->id > b->id;
}

/* The WORK buffers in placement order; returns how many. */
static int work_order(const LProgram *p, const Live *lv, const int64_t *size,
                      MemPlanStrategy how, int *ids) {
  Order *o = xcalloc((size_t)p->nbuffers + 1, sizeof(Order));
  int n = 0;
  for (int i = 0; i < p->nbuffers; i++) {
    if (p->buffers[i]->home != LBUF_WORK) continue;
    Order x = {0, 0, i};
    if (how == MEMPLAN_GREEDY_BY_SIZE) {
      x.k1 = -size[i];
    } else {
      x.k1 = LENTRY_COUNT; /* never touched: last */
      for (int e = LENTRY_COUNT - 1; e >= 0; e--)
        if (lv->first[e][i] >= 0) x.k1 = e, x.k2 = lv->first[e][i];
    }
    o[n++] = x;
  }
  qsort(o, (size_t)n, sizeof(Order), order_cmp);
  for (int i = 0; i < n; i++) ids[i] = o[i].id;
  free(o);
  return n;
}

/* Lowest aligned offset for buffer b that overlaps no conflicting buffer in
 * placed[0..np), which is sorted by offset. */
static int64_t lowest_offset(const Live *lv, int b, const int *placed, int np,
                             const int64_t *size, const int64_t *off) {
  int64_t at = 0;
  for (int j = 0; j < np; j++) {
    int q = placed[j];
    if (size[q] == 0 || !conflict(lv, b, q)) continue;
    if (at + size[b] <= off[q]) break; /* fits in the gap before q */
    int64_t end = align_up(off[q] + size[q]);
    if (end > at) at = end;
  }
  return at;
}

/* Places ids[0..n) in that order; returns the arena size. */
static int64_t place(const Live *lv, const int *ids, int n, const int64_t *size,
                     int64_t *off) {
  int *placed = xcalloc((size_t)n + 1, sizeof(int));
  int64_t bytes = 0;
  for (int i = 0; i < n; i++) {
    int b = ids[i];
    off[b] = lowest_offset(lv, b, placed, i, size, off);
    if (off[b] + size[b] > bytes) bytes = off[b] + size[b];
    int j = i; /* insert keeping placed[] sorted by offset */
    while (j > 0 && off[placed[j - 1]] > off[b]) {
      placed[j] = placed[j - 1];
      j--;
    }
    placed[j] = b;
  }
  free(placed);
  return bytes;
}

static const char *strategy_name(MemPlanStrategy how) {
  switch (how) {
  case MEMPLAN_GREEDY_BY_SIZE: return "greedy-by-size";
  case MEMPLAN_FIRST_FIT_BY_USE: return "first-fit-by-use";
  case MEMPLAN_SWEEP: return "sweep";
  case MEMPLAN_BEST: break;
  }
  return "best";
}

/* ---- the sweep, for large programs ---- */

static int count_work(const LProgram *p) {
  int n = 0;
  for (int i = 0; i < p->nbuffers; i++) n += p->buffers[i]->home == LBUF_WORK;
  return n;
}

/* A buffer's lifetime on one timeline: the entries' calls one after the
 * other (init, train_step, predict, eval), from its first call in its first
 * entry to its last call in its last entry. It covers every per-entry
 * interval, so buffers whose timeline spans do not meet conflict nowhere. */
typedef struct Span {
  int64_t start, end; /* end < 0: never touched */
  int id;
} Span;

static int span_by_start(const void *x, const void *y) {
  const Span *a = x, *b = y;
  if (a->start != b->start) return a->start < b->start ? -1 : 1;
  return a->id < b->id ? -1 : a->id > b->id;
}

static int span_by_end(const void *x, const void *y) {
  const Span *a = x, *b = y;
  if (a->end != b->end) return a->end < b->end ? -1 : 1;
  return a->id < b->id ? -1 : a->id > b->id;
}

/* Free space below the arena's high-water mark: holes sorted by offset,
 * never adjacent (freeing merges neighbours). Offsets and lengths are
 * multiples of MEMPLAN_ALIGN. */
typedef struct Holes {
  int64_t *off, *len;
  int n, cap;
  int64_t top; /* everything from top up is free */
} Holes;

/* The lowest aligned offset with `bytes` free (first fit). */
static int64_t holes_take(Holes *h, int64_t bytes) {
  for (int i = 0; i < h->n; i++) {
    if (h->len[i] < bytes && !(i == h->n - 1 && h->off[i] + h->len[i] == h->top)) continue;
    int64_t at = h->off[i];
    if (h->len[i] < bytes) { /* the last hole touches top: grow through it */
      h->top = at + bytes;
      h->len[i] = bytes;
    }
    h->off[i] += bytes;
    h->len[i] -= bytes;
    if (h->len[i] == 0) {
      memmove(h->off + i, h->off + i + 1, (size_t)(h->n - i - 1) * sizeof(int64_t));
      memmove(h->len + i, h->len + i + 1, (size_t)(h->n - i - 1) * sizeof(int64_t));
      h->n--;
    }
    return at;
  }
  int64_t at = h->top;
  h->top += bytes;
  return at;
}

static void holes_give(Holes *h, int64_t at, int64_t bytes) {
  int lo = 0, hi = h->n; /* first hole after `at` */
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    if (h->off[mid] < at) lo = mid + 1;
    else hi = mid;
  }
  bool joins_prev = lo > 0 && h->off[lo - 1] + h->len[lo - 1] == at;
  bool joins_next = lo < h->n && at + bytes == h->off[lo];
  if (joins_prev && joins_next) {
    h->len[lo - 1] += bytes + h->len[lo];
    memmove(h->off + lo, h->off + lo + 1, (size_t)(h->n - lo - 1) * sizeof(int64_t));
    memmove(h->len + lo, h->len + lo + 1, (size_t)(h->n - lo - 1) * sizeof(int64_t));
    h->n--;
  } else if (joins_prev) {
    h->len[lo - 1] += bytes;
  } else if (joins_next) {
    h->off[lo] = at;
    h->len[lo] += bytes;
  } else {
    if (h->n == h->cap) {
      h->cap = h->cap ? h->cap * 2 : 64;
      h->off = xrealloc(h->off, (size_t)h->cap * sizeof(int64_t));
      h->len = xrealloc(h->len, (size_t)h->cap * sizeof(int64_t));
    }
    memmove(h->off + lo + 1, h->off + lo, (size_t)(h->n - lo) * sizeof(int64_t));
    memmove(h->len + lo + 1, h->len + lo, (size_t)(h->n - lo) * sizeof(int64_t));
    h->off[lo] = at;
    h->len[lo] = bytes;
    h->n++;
  }
}

/* Linear-scan placement: walk the spans by start; a buffer takes the lowest
 * free aligned offset when it starts and gives it back once the sweep is
 * past its end (closed intervals: a buffer ending at call t still blocks one
 * starting at t). A buffer never touched, or of no bytes, goes to 0. */
static int64_t sweep(const LProgram *p, const Live *lv, const int64_t *size, int64_t *off) {
  Span *by_start = xcalloc((size_t)p->nbuffers + 1, sizeof(Span));
  int n = 0;
  for (int i = 0; i < p->nbuffers; i++) {
    if (p->buffers[i]->home != LBUF_WORK) continue;
    Span s = {-1, -1, i};
    int64_t base = 0;
    for (int e = 0; e < LENTRY_COUNT; e++) {
      if (lv->first[e][i] >= 0) {
        if (s.start < 0) s.start = base + lv->first[e][i];
        s.end = base + lv->last[e][i];
      }
      base += p->entries[e].ncalls;
    }
    off[i] = 0;
    if (s.end >= 0 && size[i] > 0) by_start[n++] = s;
  }
  Span *by_end = xcalloc((size_t)n + 1, sizeof(Span));
  memcpy(by_end, by_start, (size_t)n * sizeof(Span));
  qsort(by_start, (size_t)n, sizeof(Span), span_by_start);
  qsort(by_end, (size_t)n, sizeof(Span), span_by_end);
  Holes h = {0};
  int64_t bytes = 0;
  for (int i = 0, j = 0; i < n; i++) {
    for (; j < n && by_end[j].end < by_start[i].start; j++)
      holes_give(&h, off[by_end[j].id], align_up(size[by_end[j].id]));
    int b = by_start[i].id;
    off[b] = holes_take(&h, align_up(size[b]));
    if (off[b] + size[b] > bytes) bytes = off[b] + size[b];
  }
  free(h.off);
  free(h.len);
  free(by_start);
  free(by_end);
  return bytes;
}

/* ---- statistics ---- */

static void stats_fill(const LProgram *p, const Live *lv, const int64_t *size, MemPlanStats *s) {
  s->state_bytes = p->state_bytes;
  s->work_bytes = p->work_bytes;
  s->naive_work_bytes = 0;
  for (int i = 0; i < p->nbuffers; i++)
    if (p->buffers[i]->home == LBUF_WORK) s->naive_work_bytes += align_up(size[i]);
  s->peak_live_bytes = 0;
  s->peak_entry = NULL;
  s->peak_kernel = -1;
  for (int e = 0; e < LENTRY_COUNT; e++) {
    /* delta[c]: bytes that become live at call c minus those that died
     * after call c-1; the running sum is the live bytes at c. */
    int nc = p->entries[e].ncalls;
    int64_t *delta = xcalloc((size_t)nc + 1, sizeof(int64_t));
    for (int i = 0; i < p->nbuffers; i++) {
      if (p->buffers[i]->home != LBUF_WORK || lv->first[e][i] < 0) continue;
      delta[lv->first[e][i]] += size[i];
      delta[lv->last[e][i] + 1] -= size[i];
    }
    int64_t live = 0;
    for (int c = 0; c < nc; c++) {
      live += delta[c];
      if (live > s->peak_live_bytes) {
        s->peak_live_bytes = live;
        s->peak_entry = lentry_name((LEntryKind)e);
        s->peak_kernel = c;
      }
    }
    free(delta);
  }
}

/* ---- the pass ---- */

/* Places the work buffers with `how` (BEST tries both) into off[]; returns
 * the arena size and the strategy kept in *kept. Past MEMPLAN_SWEEP_FROM work
 * buffers the greedy placement (quadratic: each buffer looks at every one
 * placed before it) gives way to the sweep. */
static int64_t plan_work(const LProgram *p, const Live *lv, const int64_t *size,
                         MemPlanStrategy how, int64_t *off, MemPlanStrategy *kept) {
  int nb = p->nbuffers;
  if (count_work(p) > MEMPLAN_SWEEP_FROM) {
    *kept = MEMPLAN_SWEEP;
    return sweep(p, lv, size, off);
  }
  int *ids = xcalloc((size_t)nb + 1, sizeof(int));
  MemPlanStrategy first = how == MEMPLAN_BEST ? MEMPLAN_GREEDY_BY_SIZE : how;
  int n = work_order(p, lv, size, first, ids);
  int64_t bytes = place(lv, ids, n, size, off);
  *kept = first;
  if (how == MEMPLAN_BEST) {
    int64_t *alt = xcalloc((size_t)nb + 1, sizeof(int64_t));
    memcpy(alt, off, (size_t)nb * sizeof(int64_t));
    work_order(p, lv, size, MEMPLAN_FIRST_FIT_BY_USE, ids);
    int64_t alt_bytes = place(lv, ids, n, size, alt);
    if (alt_bytes < bytes) {
      memcpy(off, alt, (size_t)nb * sizeof(int64_t));
      bytes = alt_bytes;
      *kept = MEMPLAN_FIRST_FIT_BY_USE;
    }
    free(alt);
  }
  free(ids);
  return bytes;
}

bool memplan_run_strategy(LProgram *p, Diag *d, MemPlanStrategy how, MemPlanStats *stats) {
  int nb = p->nbuffers;
  int64_t *size = xcalloc((size_t)nb + 1, sizeof(int64_t));
  int64_t *off = xcalloc((size_t)nb + 1, sizeof(int64_t));
  bool ok = buffer_sizes(p, d, size);
  if (ok && (aligned_total(p, size, LBUF_STATE) < 0 || aligned_total(p, size, LBUF_WORK) < 0)) {
    diag_error(d, (SrcLoc){0}, "memory plan: program '%s' needs more than 2^63 bytes", p->name);
    ok = false;
  }
  if (ok) {
    Live lv;
    live_compute(p, &lv);
    MemPlanStrategy kept;
    int64_t state = layout_state(p, size, off);
    int64_t work = plan_work(p, &lv, size, how, off, &kept);
    for (int i = 0; i < nb; i++)
      if (is_planned(p->buffers[i])) p->buffers[i]->offset = off[i];
    p->state_bytes = state;
    p->work_bytes = work;
    if (stats) {
      stats_fill(p, &lv, size, stats);
      stats->strategy = strategy_name(kept);
    }
    live_free(&lv);
  }
  free(size);
  free(off);
  return ok;
}

bool memplan_run(LProgram *p, Diag *d, MemPlanStats *stats) {
  return memplan_run_strategy(p, d, MEMPLAN_BEST, stats);
}

/* lower refused every buffer too large for a 32-bit target; the blocks
 * that hold them can still be. The error is at the network's first input:
 * the batch scales it. */
static bool blocks_fit_target(Module *m) {
  const Target *t = m->target ? m->target->target : NULL;
  if (!t || !target_is_32bit(t)) return true;
  const struct {
    const char *what;
    int64_t bytes;
  } blocks[] = {{"state block", m->loops->state_bytes}, {"work arena", m->loops->work_bytes}};
  SrcLoc where = {0};
  for (int i = 0; m->graph && i < m->graph->nvalues && !where.file; i++)
    if (m->graph->values[i]->kind == VAL_INPUT) where = m->graph->values[i]->loc;
  for (int i = 0; i < 2; i++)
    if (blocks[i].bytes > INT32_MAX) {
      diag_error(m->diag, where,
                 "the %s needs %lld bytes at batch %d, more than the 32-bit target %s can "
                 "address in one block (%d bytes); use a smaller batch or model",
                 blocks[i].what, (long long)blocks[i].bytes, m->loops->batch, t->name,
                 INT32_MAX);
      return false;
    }
  return true;
}

static bool run_pass(Module *m) {
  if (!m->loops) {
    diag_error(m->diag, (SrcLoc){0}, "memory plan: no loop program (lower to loop IR first)");
    return false;
  }
  memplan_shrink(m->loops, NULL);
  return memplan_run(m->loops, m->diag, NULL) && blocks_fit_target(m);
}

const Pass pass_memplan = {
    "memplan", "assign static offsets to state buffers and the work arena", run_pass};

/* ---- the checker ---- */

static bool fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool fail(char *err, size_t errlen, const char *fmt, ...) {
  if (err && errlen > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return false;
}

/* Each planned buffer: known size, planned, aligned, inside its block. */
static bool check_fits(const LProgram *p, char *err, size_t errlen) {
  for (int i = 0; i < p->nbuffers; i++) {
    const LBuffer *b = p->buffers[i];
    if (!is_planned(b)) continue;
    int64_t s = memplan_buffer_bytes(b);
    int64_t block = b->home == LBUF_STATE ? p->state_bytes : p->work_bytes;
    const char *where = b->home == LBUF_STATE ? "state block" : "work arena";
    if (s < 0) return fail(err, errlen, "buffer %%%s has no known size", b->name);
    if (b->offset < 0) return fail(err, errlen, "buffer %%%s is not planned", b->name);
    if (b->offset % MEMPLAN_ALIGN != 0)
      return fail(err, errlen, "buffer %%%s at offset %lld is not %d-byte aligned", b->name,
                  (long long)b->offset, MEMPLAN_ALIGN);
    if (block < 0 || s > block || b->offset > block - s)
      return fail(err, errlen, "buffer %%%s [%lld, +%lld) does not fit the %s of %lld bytes",
                  b->name, (long long)b->offset, (long long)s, where, (long long)block);
  }
  return true;
}

/* The overlap rule is the loop verifier's (ir/loop_overlap.c, which knows
 * nothing of how the plan was made); its message goes into err. */
static bool check_overlaps(const LProgram *p, char *err, size_t errlen) {
  char *text = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&text, &len);
  if (!out) return fail(err, errlen, "out of memory");
  Diag *d = diag_new(out);
  bool ok = lprog_check_overlaps(p, d);
  diag_free(d);
  fclose(out);
  if (!ok) fail(err, errlen, "%s", text ? text : "");
  free(text);
  return ok;
}

bool memplan_check(const LProgram *p, char *err, size_t errlen) {
  if (err && errlen > 0) err[0] = '\0';
  return check_fits(p, err, errlen) && check_overlaps(p, err, errlen);
}

/* ---- the report ---- */

static const char *role_name(LBufRole r) {
  switch (r) {
  case LROLE_PARAM: return "param";
  case LROLE_OPTIM: return "optim";
  case LROLE_BUFFER: return "buffer";
  case LROLE_INTERNAL: return "internal";
  case LROLE_NONE: break;
  }
  return "-";
}

static void print_lifetime(FILE *out, const Live *lv, int b) {
  int width = 0;
  for (int e = 0; e < LENTRY_COUNT; e++) {
    if (lv->first[e][b] < 0) continue;
    width += fprintf(out, "%s%s[%d..%d]", width ? " " : "", lentry_name((LEntryKind)e),
                     lv->first[e][b], lv->last[e][b]);
  }
  if (!width) width = fprintf(out, "unused");
  fprintf(out, "%*s ", width < 32 ? 32 - width : 0, "");
}

static int offset_cmp(const void *x, const void *y) {
  const LBuffer *a = *(const LBuffer *const *)x, *b = *(const LBuffer *const *)y;
  if (a->offset != b->offset) return a->offset < b->offset ? -1 : 1;
  return a->id < b->id ? -1 : a->id > b->id;
}

static void print_state(FILE *out, const LProgram *p) {
  int n = 0;
  for (int i = 0; i < p->nbuffers; i++) n += p->buffers[i]->home == LBUF_STATE;
  fprintf(out, "state block: %lld bytes, %d buffers (%d-byte aligned, in buffer order)\n",
          (long long)p->state_bytes, n, MEMPLAN_ALIGN);
  if (n) fprintf(out, "  %12s %12s  %-8s  buffer\n", "offset", "bytes", "role");
  for (int i = 0; i < p->nbuffers; i++) {
    const LBuffer *b = p->buffers[i];
    if (b->home != LBUF_STATE) continue;
    fprintf(out, "  %12lld %12lld  %-8s  %%%s\n", (long long)b->offset,
            (long long)memplan_buffer_bytes(b), role_name(b->role), b->name);
  }
}

static void print_work(FILE *out, const LProgram *p, const Live *lv, const MemPlanStats *s) {
  const LBuffer **w = xcalloc((size_t)p->nbuffers + 1, sizeof(LBuffer *));
  int n = 0;
  for (int i = 0; i < p->nbuffers; i++)
    if (p->buffers[i]->home == LBUF_WORK) w[n++] = p->buffers[i];
  qsort(w, (size_t)n, sizeof(LBuffer *), offset_cmp);
  fprintf(out, "work arena: %lld bytes, %d buffers", (long long)p->work_bytes, n);
  if (s->strategy) fprintf(out, " (%s)", s->strategy);
  fprintf(out, "\n  naive (no sharing): %lld bytes\n", (long long)s->naive_work_bytes);
  fprintf(out, "  peak live: %lld bytes", (long long)s->peak_live_bytes);
  if (s->peak_entry) {
    const LEntry *en = NULL;
    for (int e = 0; e < LENTRY_COUNT; e++)
      if (strcmp(lentry_name((LEntryKind)e), s->peak_entry) == 0) en = &p->entries[e];
    fprintf(out, " at %s call %d", s->peak_entry, s->peak_kernel);
    if (en && s->peak_kernel >= 0 && s->peak_kernel < en->ncalls)
      fprintf(out, " (%s)", en->calls[s->peak_kernel]->name);
  }
  fprintf(out, "\n");
  if (n) fprintf(out, "  %12s %12s  %-32s buffer\n", "offset", "bytes", "lifetime (calls)");
  for (int i = 0; i < n; i++) {
    fprintf(out, "  %12lld %12lld  ", (long long)w[i]->offset,
            (long long)memplan_buffer_bytes(w[i]));
    print_lifetime(out, lv, w[i]->id);
    fprintf(out, "%%%s\n", w[i]->name);
  }
  free(w);
}

static int bytes_desc_cmp(const void *x, const void *y) {
  const LBuffer *a = *(const LBuffer *const *)x, *b = *(const LBuffer *const *)y;
  int64_t sa = memplan_buffer_bytes(a), sb = memplan_buffer_bytes(b);
  if (sa != sb) return sa > sb ? -1 : 1;
  return a->id < b->id ? -1 : a->id > b->id;
}

/* What to shrink: the work buffers live at the peak call, largest first. */
static void print_peak(FILE *out, const LProgram *p, const Live *lv, const MemPlanStats *s) {
  int e = -1;
  for (int i = 0; s->peak_entry && i < LENTRY_COUNT; i++)
    if (strcmp(lentry_name((LEntryKind)i), s->peak_entry) == 0) e = i;
  if (e < 0 || s->peak_kernel < 0) return;
  const LBuffer **w = xcalloc((size_t)p->nbuffers + 1, sizeof(LBuffer *));
  int n = 0;
  for (int i = 0; i < p->nbuffers; i++)
    if (p->buffers[i]->home == LBUF_WORK && lv->first[e][i] >= 0 &&
        lv->first[e][i] <= s->peak_kernel && s->peak_kernel <= lv->last[e][i])
      w[n++] = p->buffers[i];
  qsort(w, (size_t)n, sizeof(LBuffer *), bytes_desc_cmp);
  fprintf(out, "live at the peak (%s call %d): %d buffers, %lld bytes\n", s->peak_entry,
          s->peak_kernel, n, (long long)s->peak_live_bytes);
  fprintf(out, "  %12s  %-32s buffer\n", "bytes", "lifetime (calls)");
  for (int i = 0; i < n; i++) {
    fprintf(out, "  %12lld  ", (long long)memplan_buffer_bytes(w[i]));
    print_lifetime(out, lv, w[i]->id);
    fprintf(out, "%%%s\n", w[i]->name);
  }
  free(w);
}

void memplan_print(FILE *out, const LProgram *p, const MemPlanStats *s) {
  Live lv;
  live_compute(p, &lv);
  MemPlanStats mine = {0};
  if (!s) {
    int64_t *size = xcalloc((size_t)p->nbuffers + 1, sizeof(int64_t));
    for (int i = 0; i < p->nbuffers; i++) {
      int64_t b = is_planned(p->buffers[i]) ? memplan_buffer_bytes(p->buffers[i]) : 0;
      size[i] = b < 0 ? 0 : b;
    }
    stats_fill(p, &lv, size, &mine);
    free(size);
    s = &mine;
  }
  fprintf(out, "memory plan for %s\n", p->name);
  print_state(out, p);
  print_work(out, p, &lv, s);
  print_peak(out, p, &lv, s);
  live_free(&lv);
}
