/* Before the memory planner places buffers, two rewrites of the loop program
 * that lower the peak of live bytes without changing any value computed
 * (docs/memory.md, "Shrinking the peak"):
 *
 * 1. Hoisting. In each entry a call moves up to just after the last call it
 *    depends on (a read after a write, a write after a read or a write, on
 *    any buffer) when that frees bytes sooner: it is the last call touching
 *    more work bytes than it is the first to touch, or it creates at most
 *    one alignment unit (a scalar such as the learning rate). This is what
 *    lets an optimizer update run right after its gradient's last use, so a
 *    weight gradient no longer lives to the end of the step.
 *
 * 2. In place. When a kernel reads work buffer A for the last time and
 *    writes work buffer B for the first time, both of one dtype and size,
 *    and the kernel is elementwise between them (every load of A and store
 *    of B in one loop body, at one injective index, loads before stores),
 *    B is renamed A: the kernel then writes over its input. One buffer, so
 *    the C backend's `restrict` still holds. The liveness of the memory
 *    planner (first and last call per entry) decides; nothing is guessed
 *    from op names. */
#include <stdlib.h>
#include <string.h>

#include "memplan.h"
#include "pass.h"

/* Entries longer than this are left in order: hoisting is quadratic. */
enum { SHRINK_MAX_CALLS = 2048 };

/* Buffers smaller than this are not renamed into their input: it would
 * save a few bytes and make the kernel store, say, a gradient into a
 * buffer named after a batch statistic. */
enum { SHRINK_INPLACE_MIN_BYTES = 4096 };

/* ---- per-call buffer sets ---- */

typedef struct CallUses {
  int n;
  int *ids;
  bool *reads, *writes;
} CallUses;

static void uses_of(const LKernel *k, LUses *u, CallUses *c) {
  lkernel_buffer_uses(k, u);
  c->n = u->n;
  c->ids = xcalloc((size_t)u->n + 1, sizeof(int));
  c->reads = xcalloc((size_t)u->n + 1, sizeof(bool));
  c->writes = xcalloc((size_t)u->n + 1, sizeof(bool));
  for (int i = 0; i < u->n; i++) {
    c->ids[i] = u->ids[i];
    c->reads[i] = u->a[u->ids[i]];
    c->writes[i] = u->b[u->ids[i]];
  }
}

static void uses_free(CallUses *c) {
  free(c->ids);
  free(c->reads);
  free(c->writes);
}

/* Does call c have to stay after call d? (ids are sorted: a merge walk.) */
static bool depends(const CallUses *c, const CallUses *d) {
  int i = 0, j = 0;
  while (i < c->n && j < d->n) {
    if (c->ids[i] < d->ids[j]) i++;
    else if (c->ids[i] > d->ids[j]) j++;
    else {
      if (c->writes[i] || d->writes[j]) return true;
      i++, j++;
    }
  }
  return false;
}

/* The buffers an entry hands back after its last kernel, and the program's
 * named buffers: never renamed, and kept alive to the end. */
static bool is_special(const LProgram *p, const LBuffer *b) {
  return b == p->loss || b == p->eval_loss || b == p->eval_correct || b == p->input ||
         b == p->label || b == p->pred || b == p->epoch;
}

/* ---- hoisting ---- */

/* first[b], last[b]: the calls of the entry touching b, -1 if none. */
static void entry_live(const LProgram *p, const CallUses *cu, int n, int *first, int *last) {
  for (int b = 0; b < p->nbuffers; b++) first[b] = last[b] = -1;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < cu[i].n; j++) {
      int b = cu[i].ids[j];
      if (first[b] < 0) first[b] = i;
      last[b] = i;
    }
}

/* The entry's live work bytes at each call (live[0..n)), with the
 * planner's liveness (results live to the end). Fills first/last. */
static void live_bytes(const LProgram *p, const CallUses *cu, int n, int *first, int *last,
                       int64_t *live) {
  entry_live(p, cu, n, first, last);
  memset(live, 0, ((size_t)n + 1) * sizeof(int64_t));
  for (int b = 0; b < p->nbuffers; b++) {
    const LBuffer *buf = p->buffers[b];
    int64_t bytes = memplan_buffer_bytes(buf);
    if (buf->home != LBUF_WORK || first[b] < 0 || bytes <= 0) continue;
    live[first[b]] += bytes;
    live[is_special(p, buf) ? n : last[b] + 1] -= bytes;
  }
  for (int c = 1; c < n; c++) live[c] += live[c - 1];
}

static int64_t max_over(const int64_t *live, int lo, int hi) {
  int64_t m = 0;
  for (int c = lo; c <= hi; c++)
    if (live[c] > m) m = live[c];
  return m;
}

/* A call that computes a scalar from the state alone (the learning rate
 * of a schedule): cheap to run first, and what optimizer updates wait for. */
static bool tiny_producer(const LProgram *p, const CallUses *c) {
  int64_t written = 0;
  for (int j = 0; j < c->n; j++) {
    const LBuffer *b = p->buffers[c->ids[j]];
    if (b->home != LBUF_WORK) continue;
    if (c->reads[j]) return false;
    written += memplan_buffer_bytes(b);
  }
  return written > 0 && written <= MEMPLAN_ALIGN;
}

static void move_call(LEntry *en, CallUses *cu, int from, int to) {
  LKernel *k = en->calls[from];
  CallUses c = cu[from];
  if (to < from) {
    memmove(en->calls + to + 1, en->calls + to, (size_t)(from - to) * sizeof(LKernel *));
    memmove(cu + to + 1, cu + to, (size_t)(from - to) * sizeof(CallUses));
  } else {
    memmove(en->calls + from, en->calls + from + 1, (size_t)(to - from) * sizeof(LKernel *));
    memmove(cu + from, cu + from + 1, (size_t)(to - from) * sizeof(CallUses));
  }
  en->calls[to] = k;
  cu[to] = c;
}

/* Bytes of the work buffers that call `from` is the last to touch (they
 * die sooner if it moves up) and the first to touch (they are born
 * sooner); a buffer it alone touches is neither. */
static void gain(const LProgram *p, const CallUses *cu, int from, const int *first,
                 const int *last, int64_t *kills, int64_t *creates) {
  const CallUses *c = &cu[from];
  *kills = *creates = 0;
  for (int j = 0; j < c->n; j++) {
    const LBuffer *b = p->buffers[c->ids[j]];
    int64_t bytes = memplan_buffer_bytes(b);
    if (b->home != LBUF_WORK || bytes <= 0 || first[b->id] == last[b->id]) continue;
    if (last[b->id] == from && !is_special(p, b)) *kills += bytes;
    if (first[b->id] == from) *creates += bytes;
  }
}

/* Moves each call (in order) up to right after its last dependency when
 * that frees more bytes sooner than it allocates sooner and the live bytes
 * over the calls it passes do not grow (a tiny producer may add one
 * alignment unit). Only those calls change what is live, so the entry's
 * peak never grows either. Returns how many calls moved. */
static int hoist_entry(LProgram *p, LEntry *en, LUses *u) {
  int n = en->ncalls, moved = 0;
  if (n < 2 || n > SHRINK_MAX_CALLS) return 0;
  CallUses *cu = xcalloc((size_t)n, sizeof(CallUses));
  for (int i = 0; i < n; i++) uses_of(en->calls[i], u, &cu[i]);
  int *first = xcalloc((size_t)p->nbuffers + 1, sizeof(int));
  int *last = xcalloc((size_t)p->nbuffers + 1, sizeof(int));
  int64_t *live = xcalloc((size_t)n + 1, sizeof(int64_t));
  live_bytes(p, cu, n, first, last, live);
  for (int i = 1; i < n; i++) {
    int to = i;
    while (to > 0 && !depends(&cu[i], &cu[to - 1])) to--;
    if (to == i) continue;
    int64_t kills, creates;
    gain(p, cu, i, first, last, &kills, &creates);
    bool tiny = tiny_producer(p, &cu[i]);
    if (!tiny && !(kills > 0 && creates <= kills)) continue;
    int64_t before = max_over(live, to, i);
    move_call(en, cu, i, to);
    live_bytes(p, cu, n, first, last, live);
    if (max_over(live, to, i) <= before + (tiny ? MEMPLAN_ALIGN : 0)) {
      moved++;
    } else {
      move_call(en, cu, to, i);
      live_bytes(p, cu, n, first, last, live);
    }
  }
  for (int i = 0; i < n; i++) uses_free(&cu[i]);
  free(cu);
  free(first);
  free(last);
  free(live);
  return moved;
}

/* ---- in place: is kernel k elementwise from A to B? ---- */

static bool expr_equal(const LExpr *a, const LExpr *b) {
  if (!a || !b) return a == b;
  if (a->kind != b->kind || a->type != b->type) return false;
  switch (a->kind) {
  case LE_CONST: return a->i == b->i && a->f == b->f;
  case LE_VAR: return a->var == b->var;
  case LE_BINARY: return a->bop == b->bop && expr_equal(a->a, b->a) && expr_equal(a->b, b->b);
  default: return false; /* indices we accept are built of the above */
  }
}

/* Counts loads of buf in e; *idx gets one of their indices. */
static int loads_in(const LExpr *e, const LBuffer *buf, const LExpr **idx) {
  if (!e) return 0;
  int n = 0;
  if (e->kind == LE_LOAD && e->buf == buf) {
    *idx = e->a;
    n++;
  }
  return n + loads_in(e->a, buf, idx) + loads_in(e->b, buf, idx) + loads_in(e->c, buf, idx);
}

/* Every load of buf in e has index `want`? */
static bool loads_at(const LExpr *e, const LBuffer *buf, const LExpr *want) {
  if (!e) return true;
  if (e->kind == LE_LOAD && e->buf == buf && !expr_equal(e->a, want)) return false;
  return loads_at(e->a, buf, want) && loads_at(e->b, buf, want) && loads_at(e->c, buf, want);
}

/* Accesses of buf (loads and stores) anywhere in a statement list. */
static int touches(const LStmt *s, const LBuffer *buf, bool nested_only_first) {
  int n = 0;
  const LExpr *dummy;
  for (; s; s = s->next) {
    n += loads_in(s->lo, buf, &dummy) + loads_in(s->hi, buf, &dummy) +
         loads_in(s->value, buf, &dummy) + loads_in(s->index, buf, &dummy) +
         loads_in(s->cond, buf, &dummy);
    if (s->kind == LS_STORE && s->buf == buf) n++;
    n += touches(s->body, buf, false) + touches(s->else_body, buf, false);
    if (nested_only_first) break;
  }
  return n;
}

static bool mentions_loop(const LExpr *e, LVar *const *loops, int nloops) {
  if (!e) return false;
  if (e->kind == LE_VAR)
    for (int i = 0; i < nloops; i++)
      if (loops[i] == e->var) return true;
  return mentions_loop(e->a, loops, nloops) || mentions_loop(e->b, loops, nloops) ||
         mentions_loop(e->c, loops, nloops);
}

/* Is the index Σ coef[i]·loops[i] + (constants and arguments)? Adds each
 * enclosing loop's coefficient (times scale) into coef. */
static bool affine(const LExpr *e, LVar *const *loops, int nloops, int64_t *coef,
                   int64_t scale) {
  if (!mentions_loop(e, loops, nloops)) return e->kind != LE_LOAD && e->kind != LE_CALL;
  if (e->kind == LE_VAR) {
    for (int i = 0; i < nloops; i++)
      if (loops[i] == e->var) coef[i] += scale;
    return true;
  }
  if (e->kind != LE_BINARY) return false;
  if (e->bop == LB_ADD)
    return affine(e->a, loops, nloops, coef, scale) && affine(e->b, loops, nloops, coef, scale);
  if (e->bop == LB_MUL && e->b->kind == LE_CONST)
    return affine(e->a, loops, nloops, coef, scale * e->b->i);
  if (e->bop == LB_MUL && e->a->kind == LE_CONST)
    return affine(e->b, loops, nloops, coef, scale * e->a->i);
  return false;
}

static bool const_of(const LExpr *e, int64_t *v) {
  if (e->kind != LE_CONST || e->type == DT_F32) return false;
  *v = e->i;
  return true;
}

enum { MAX_NEST = 16 };

/* Does the index visit a distinct element in every iteration of the nest?
 * Sorted by coefficient, each loop's step must pass over everything the
 * inner (smaller) ones span; only the outermost-stride loop may have an
 * extent unknown at compile time (the batch). */
static bool injective(const LExpr *index, LStmt *const *nest, int depth) {
  LVar *loops[MAX_NEST];
  int64_t coef[MAX_NEST] = {0}, ext[MAX_NEST];
  for (int i = 0; i < depth; i++) loops[i] = nest[i]->var;
  if (!affine(index, loops, depth, coef, 1)) return false;
  for (int i = 0; i < depth; i++) {
    int64_t lo, hi, step = nest[i]->step > 0 ? nest[i]->step : 1;
    coef[i] *= step;
    if (coef[i] <= 0) return false; /* a loop the index ignores repeats elements */
    ext[i] = const_of(nest[i]->lo, &lo) && const_of(nest[i]->hi, &hi)
                 ? (hi > lo ? (hi - lo + step - 1) / step : 0)
                 : -1;
  }
  bool used[MAX_NEST] = {false};
  int64_t span = 0; /* largest offset the loops taken so far reach */
  for (int k = 0; k < depth; k++) {
    int m = -1;
    for (int i = 0; i < depth; i++)
      if (!used[i] && (m < 0 || coef[i] < coef[m])) m = i;
    used[m] = true;
    if (coef[m] <= span) return false;
    if (k == depth - 1) break;
    if (ext[m] < 0 || (ext[m] > 0 && coef[m] > (INT64_MAX / 2 - span) / ext[m])) return false;
    if (ext[m] > 0) span += coef[m] * (ext[m] - 1);
  }
  return true;
}

/* Loads of a and stores to b in one statement list (no nesting):
 * every store at `*index` (set by the first), every load of a at it too, and
 * no load of a after the first store of b. */
static bool block_elementwise(const LStmt *s, const LBuffer *a, const LBuffer *b,
                              const LExpr **index) {
  bool stored = false;
  for (; s; s = s->next) {
    if (s->kind == LS_FOR || s->kind == LS_IF) {
      if (touches(s, a, true) || touches(s, b, true)) return false;
      continue;
    }
    const LExpr *li = NULL;
    int na = loads_in(s->value, a, &li) + loads_in(s->index, a, &li) + loads_in(s->cond, a, &li);
    const LExpr *bi = NULL;
    if (loads_in(s->value, b, &bi) + loads_in(s->index, b, &bi) + loads_in(s->cond, b, &bi))
      return false;
    if (na && stored) return false;
    if (s->kind == LS_STORE && s->buf == a) return false;
    if (s->kind == LS_STORE && s->buf == b) {
      if (loads_in(s->index, a, &li)) return false;
      if (!*index) *index = s->index;
      if (!expr_equal(s->index, *index)) return false;
      stored = true;
    }
    if (na && !*index) *index = li;
    if (na && !(loads_at(s->value, a, *index) && loads_at(s->cond, a, *index))) return false;
  }
  return stored;
}

/* The body of kernel k writes b from a elementwise: the top-level statement
 * holding b's stores is a loop nest whose innermost block is elementwise
 * between them at an injective index; statements before it may read a (the
 * reductions of a clip or a quantize), statements after it touch neither. */
static bool kernel_elementwise(const LKernel *k, const LBuffer *a, const LBuffer *b) {
  const LStmt *s = k->body;
  for (; s && !touches(s, b, true); s = s->next) continue;
  if (!s || touches(s->next, a, false) || touches(s->next, b, false)) return false;
  LStmt *nest[MAX_NEST];
  int depth = 0;
  const LStmt *blk = s;
  /* Descend while the block is one loop (possibly after lets that touch
   * neither buffer) holding every access. */
  for (;;) {
    const LStmt *loop = NULL;
    for (const LStmt *t = blk; t; t = t->next) {
      if (!touches(t, a, true) && !touches(t, b, true)) continue;
      if (loop || t->kind != LS_FOR) {
        loop = NULL;
        break;
      }
      loop = t;
    }
    if (!loop || depth == MAX_NEST) break;
    const LExpr *ignored;
    if (loads_in(loop->lo, a, &ignored) + loads_in(loop->hi, a, &ignored) +
        loads_in(loop->lo, b, &ignored) + loads_in(loop->hi, b, &ignored))
      return false;
    nest[depth++] = (LStmt *)loop;
    blk = loop->body;
  }
  if (depth == 0) return false;
  const LExpr *index = NULL;
  return block_elementwise(blk, a, b, &index) && index && injective(index, nest, depth);
}

/* ---- in place: the rename ---- */

static void rename_expr(LExpr *e, const LBuffer *from, LBuffer *to) {
  if (!e) return;
  if (e->kind == LE_LOAD && e->buf == from) e->buf = to;
  rename_expr(e->a, from, to);
  rename_expr(e->b, from, to);
  rename_expr(e->c, from, to);
}

static void rename_stmts(LStmt *s, const LBuffer *from, LBuffer *to) {
  for (; s; s = s->next) {
    if (s->buf == from) s->buf = to;
    rename_expr(s->lo, from, to);
    rename_expr(s->hi, from, to);
    rename_expr(s->value, from, to);
    rename_expr(s->index, from, to);
    rename_expr(s->cond, from, to);
    rename_stmts(s->body, from, to);
    rename_stmts(s->else_body, from, to);
  }
}

/* Per entry, per buffer: first and last call touching it (-1: none). */
typedef struct Spans {
  int *first[LENTRY_COUNT], *last[LENTRY_COUNT];
} Spans;

/* May b become a? In every entry touching both, their calls meet only at
 * one call, of kernel k: a's last and b's first. */
static bool spans_allow(const LProgram *p, const Spans *sp, int a, int b, const LKernel *k) {
  for (int e = 0; e < LENTRY_COUNT; e++) {
    int fa = sp->first[e][a], la = sp->last[e][a], fb = sp->first[e][b], lb = sp->last[e][b];
    if (fa < 0 || fb < 0) continue;
    if (la < fb || lb < fa) continue; /* apart: one buffer serves both */
    if (la != fb || p->entries[e].calls[la] != k) return false;
  }
  return true;
}

static void spans_merge(Spans *sp, int a, int b) {
  for (int e = 0; e < LENTRY_COUNT; e++) {
    int *f = sp->first[e], *l = sp->last[e];
    if (f[b] < 0) continue;
    if (f[a] < 0 || f[b] < f[a]) f[a] = f[b];
    if (l[b] > l[a]) l[a] = l[b];
    f[b] = l[b] = -1;
  }
}

static bool same_size(const LBuffer *a, const LBuffer *b) {
  int64_t sa = memplan_buffer_bytes(a), sb = memplan_buffer_bytes(b);
  return a->dtype == b->dtype && sa >= 0 && sa == sb &&
         shape_numel(&a->shape) == shape_numel(&b->shape);
}

/* Drops the renamed buffers from the program (their names now find the
 * buffer that replaced them) and renumbers the rest. */
static void drop_buffers(LProgram *p, const bool *gone, LBuffer *const *alias) {
  int n = 0;
  for (int i = 0; i < p->nbuffers; i++) {
    LBuffer *b = p->buffers[i];
    if (gone[i]) {
      LBuffer *to = alias[i];
      while (gone[to->id]) to = alias[to->id];
      strmap_put(p->arena, &p->buffer_names, b->name, to);
      continue;
    }
    p->buffers[n++] = b;
  }
  /* ids only after every alias chain is followed */
  p->nbuffers = n;
  for (int i = 0; i < n; i++) p->buffers[i]->id = i;
}

/* The kernels that mention each buffer, as lists that a merge joins, so
 * that renaming a buffer visits only them (renaming in every kernel for
 * every merge was a quarter of resnet20's front end). */
typedef struct Users {
  int *head, *tail, *next, *kernel; /* per buffer: first and last node; per node */
} Users;

static void users_of(const LProgram *p, LUses *u, Users *us) {
  int nb = p->nbuffers, n = 0, cap = 0;
  us->head = xcalloc((size_t)nb + 1, sizeof(int));
  us->tail = xcalloc((size_t)nb + 1, sizeof(int));
  us->next = us->kernel = NULL;
  for (int b = 0; b < nb; b++) us->head[b] = us->tail[b] = -1;
  for (int ki = 0; ki < p->nkernels; ki++) {
    lkernel_buffer_uses(p->kernels[ki], u);
    if (n + u->n > cap) {
      cap = 2 * (n + u->n);
      us->next = xrealloc(us->next, (size_t)cap * sizeof(int));
      us->kernel = xrealloc(us->kernel, (size_t)cap * sizeof(int));
    }
    for (int j = 0; j < u->n; j++, n++) {
      int b = u->ids[j];
      us->kernel[n] = ki;
      us->next[n] = -1;
      if (us->tail[b] < 0) us->head[b] = n;
      else us->next[us->tail[b]] = n;
      us->tail[b] = n;
    }
  }
}

/* b's name becomes a's in the kernels that mention b, which a's list
 * then includes. */
static void rename_buffer(LProgram *p, Users *us, LBuffer *b, LBuffer *a) {
  for (int n = us->head[b->id]; n >= 0; n = us->next[n])
    rename_stmts(p->kernels[us->kernel[n]]->body, b, a);
  if (us->head[b->id] < 0) return;
  if (us->tail[a->id] < 0) us->head[a->id] = us->head[b->id];
  else us->next[us->tail[a->id]] = us->head[b->id];
  us->tail[a->id] = us->tail[b->id];
  us->head[b->id] = us->tail[b->id] = -1;
}

static void users_free(Users *us) {
  free(us->head);
  free(us->tail);
  free(us->next);
  free(us->kernel);
}

static int inplace(LProgram *p) {
  int nb = p->nbuffers, merged = 0;
  Spans sp;
  LUses u;
  luses_init(&u, nb);
  Users users;
  users_of(p, &u, &users);
  for (int e = 0; e < LENTRY_COUNT; e++) {
    sp.first[e] = xcalloc((size_t)nb + 1, sizeof(int));
    sp.last[e] = xcalloc((size_t)nb + 1, sizeof(int));
    for (int b = 0; b < nb; b++) sp.first[e][b] = sp.last[e][b] = -1;
    const LEntry *en = &p->entries[e];
    for (int i = 0; i < en->ncalls; i++) {
      lkernel_buffer_uses(en->calls[i], &u);
      for (int j = 0; j < u.n; j++) {
        if (sp.first[e][u.ids[j]] < 0) sp.first[e][u.ids[j]] = i;
        sp.last[e][u.ids[j]] = i;
      }
    }
  }
  bool *gone = xcalloc((size_t)nb + 1, sizeof(bool));
  LBuffer **alias = xcalloc((size_t)nb + 1, sizeof(LBuffer *));
  int *reads = xcalloc((size_t)nb + 1, sizeof(int));
  for (int ki = 0; ki < p->nkernels; ki++) {
    LKernel *k = p->kernels[ki];
    lkernel_buffer_uses(k, &u);
    int nr = 0;
    for (int j = 0; j < u.n; j++)
      if (u.a[u.ids[j]] && !u.b[u.ids[j]]) reads[nr++] = u.ids[j];
    for (int j = 0; j < u.n; j++) {
      int bi = u.ids[j];
      LBuffer *b = p->buffers[bi];
      if (!u.b[bi] || u.a[bi] || b->home != LBUF_WORK || is_special(p, b) ||
          memplan_buffer_bytes(b) < SHRINK_INPLACE_MIN_BYTES)
        continue;
      for (int r = 0; r < nr; r++) {
        LBuffer *a = p->buffers[reads[r]];
        if (a->home != LBUF_WORK || is_special(p, a) || !same_size(a, b)) continue;
        if (!spans_allow(p, &sp, a->id, b->id, k) || !kernel_elementwise(k, a, b)) continue;
        rename_buffer(p, &users, b, a);
        spans_merge(&sp, a->id, b->id);
        gone[bi] = true;
        alias[bi] = a;
        merged++;
        break;
      }
    }
  }
  if (merged) drop_buffers(p, gone, alias);
  for (int e = 0; e < LENTRY_COUNT; e++) {
    free(sp.first[e]);
    free(sp.last[e]);
  }
  free(gone);
  free(alias);
  free(reads);
  users_free(&users);
  luses_free(&u);
  return merged;
}

void memplan_shrink(LProgram *p, MemPlanShrink *out) {
  MemPlanShrink r = {0, 0};
  LUses u;
  luses_init(&u, p->nbuffers);
  for (int e = 0; e < LENTRY_COUNT; e++) r.hoisted += hoist_entry(p, &p->entries[e], &u);
  luses_free(&u);
  r.in_place = inplace(p);
  if (out) *out = r;
}
