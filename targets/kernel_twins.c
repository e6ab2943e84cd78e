/* kernel_twins.h: a structural hash of each kernel plan (variables numbered
 * by first appearance, buffers by parameter position) picks the
 * candidates; a walk of both bodies side by side, with a one-to-one map of
 * their variables, decides. */
#include "kernel_twins.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fnv.h"

/* One side of a comparison: a kernel plan's parameter positions by
 * buffer id, and its variables' partners by variable id. */
typedef struct Side {
  int *pos;  /* by buffer id: parameter position + 1, 0 when not a parameter */
  int *peer; /* by variable id: the other side's variable id + 1, 0 when unmatched */
} Side;

typedef struct Twins {
  Side s[2];
  int *touched[2]; /* the variable ids set in s[k].peer, to clear them after */
  int ntouched[2];
  int next; /* hashing: the number the next new variable gets */
  int fixed; /* > 0 inside a vectorised, unrolled or innermost loop: constants match */
  /* same_code's walk: the first kernel's outer integer constants, in
   * order, and the second's value at each */
  const LExpr **rec_a;
  int64_t *rec_b;
  int nrec, caprec;
  bool oom;
} Twins;

static bool record(Twins *t, const LExpr *a, int64_t b) {
  if (t->nrec == t->caprec) {
    int cap = t->caprec ? 2 * t->caprec : 64;
    const LExpr **ra = realloc(t->rec_a, (size_t)cap * sizeof *ra);
    if (ra) t->rec_a = ra;
    int64_t *rb = ra ? realloc(t->rec_b, (size_t)cap * sizeof *rb) : NULL;
    if (!rb) {
      t->oom = true;
      return false;
    }
    t->rec_b = rb;
    t->caprec = cap;
  }
  t->rec_a[t->nrec] = a;
  t->rec_b[t->nrec++] = b;
  return true;
}

/* Whether the constants of loop s (bounds and body) must match: a loop the
 * vectoriser or an unroller works on, which wants them known. */
static bool fixes_constants(const LStmt *s) {
  if (s->kind != LS_FOR) return false;
  if (s->hints & (LHINT_VECTORIZE | LHINT_UNROLL | LHINT_SCALAR)) return true;
  for (const LStmt *b = s->body; b; b = b->next)
    if (b->kind == LS_FOR || b->kind == LS_IF) return false;
  return true;
}

static void set_params(Twins *t, int k, const KernelPlan *kp, bool on) {
  for (int i = 0; i < kp->nbufs; i++) t->s[k].pos[kp->bufs[i]->id] = on ? i + 1 : 0;
}

static void clear_peers(Twins *t, int k) {
  for (int i = 0; i < t->ntouched[k]; i++) t->s[k].peer[t->touched[k][i]] = 0;
  t->ntouched[k] = 0;
}

static void pair(Twins *t, const LVar *a, const LVar *b) {
  t->s[0].peer[a->id] = b->id + 1;
  t->s[1].peer[b->id] = a->id + 1;
  t->touched[0][t->ntouched[0]++] = a->id;
  t->touched[1][t->ntouched[1]++] = b->id;
}

/* a and b are partners: matched to each other, or both new and now
 * matched, with the same type and kind. */
static bool same_var(Twins *t, const LVar *a, const LVar *b) {
  if (!a || !b) return a == b;
  if (a->dtype != b->dtype || a->kind != b->kind) return false;
  int pa = t->s[0].peer[a->id], pb = t->s[1].peer[b->id];
  if (!pa && !pb) {
    pair(t, a, b);
    return true;
  }
  return pa == b->id + 1 && pb == a->id + 1;
}

static bool same_buf(const Twins *t, const LBuffer *a, const LBuffer *b) {
  if (!a || !b) return a == b;
  int pa = t->s[0].pos[a->id], pb = t->s[1].pos[b->id];
  return pa && pa == pb;
}

static bool same_expr(Twins *t, const LExpr *a, const LExpr *b) {
  if (!a || !b) return a == b;
  if (a->kind != b->kind || a->type != b->type) return false;
  switch (a->kind) {
  case LE_CONST:
    if (a->type == DT_F32) return memcmp(&a->f, &b->f, sizeof a->f) == 0;
    if (!t->fixed) return record(t, a, b->i);
    return a->i == b->i;
  case LE_VAR: return same_var(t, a->var, b->var);
  case LE_LOAD: return same_buf(t, a->buf, b->buf) && same_expr(t, a->a, b->a);
  case LE_BINARY:
    if (a->bop != b->bop) return false;
    break;
  case LE_UNARY:
    if (a->uop != b->uop) return false;
    break;
  case LE_CALL:
    if (a->fn != b->fn) return false;
    break;
  case LE_CAST:
  case LE_SELECT: break;
  }
  return same_expr(t, a->a, b->a) && same_expr(t, a->b, b->b) && same_expr(t, a->c, b->c);
}

static bool same_stmts(Twins *t, const LStmt *a, const LStmt *b) {
  for (; a && b; a = a->next, b = b->next) {
    if (a->kind != b->kind || a->step != b->step || a->hints != b->hints ||
        !same_var(t, a->var, b->var) || !same_buf(t, a->buf, b->buf))
      return false;
    /* (an if's condition and branches keep the enclosing loop's rule) */
    bool fixes = fixes_constants(a);
    t->fixed += fixes;
    bool same = same_expr(t, a->lo, b->lo) && same_expr(t, a->hi, b->hi) &&
                same_expr(t, a->value, b->value) && same_expr(t, a->index, b->index) &&
                same_expr(t, a->cond, b->cond) && same_stmts(t, a->body, b->body) &&
                same_stmts(t, a->else_body, b->else_body);
    t->fixed -= fixes;
    if (!same) return false;
  }
  return !a && !b;
}

static bool same_params(const KernelPlan *a, const KernelPlan *b) {
  if (a->nbufs != b->nbufs || a->nscalars != b->nscalars) return false;
  for (int i = 0; i < a->nbufs; i++)
    if (a->bufs[i]->dtype != b->bufs[i]->dtype || a->reads[i] != b->reads[i] ||
        a->writes[i] != b->writes[i])
      return false;
  for (int i = 0; i < a->nscalars; i++)
    if (a->scalars[i]->dtype != b->scalars[i]->dtype || a->scalars[i]->kind != b->scalars[i]->kind)
      return false;
  return true;
}

/* Whether a and b are the same code up to outer integer constants, which
 * t->rec_a/rec_b list. */
static bool same_code(Twins *t, const KernelPlan *a, const KernelPlan *b) {
  t->nrec = 0;
  t->fixed = 0;
  if (!same_params(a, b)) return false;
  set_params(t, 0, a, true);
  set_params(t, 1, b, true);
  bool same = true;
  for (int i = 0; same && i < a->nscalars; i++) same = same_var(t, a->scalars[i], b->scalars[i]);
  same = same && same_stmts(t, a->kernel->body, b->kernel->body);
  set_params(t, 0, a, false);
  set_params(t, 1, b, false);
  clear_peers(t, 0);
  clear_peers(t, 1);
  return same && !t->oom;
}

/* --- the hash: what same_code compares, variables numbered in order --- */

static uint64_t mix(uint64_t h, int64_t v) { return fnv1a_bytes(h, &v, sizeof v); }

static uint64_t hash_var(Twins *t, uint64_t h, const LVar *v) {
  if (!v) return mix(h, -1);
  if (!t->s[0].peer[v->id]) {
    t->s[0].peer[v->id] = ++t->next;
    t->touched[0][t->ntouched[0]++] = v->id;
  }
  return mix(mix(mix(h, t->s[0].peer[v->id]), v->dtype), v->kind);
}

static uint64_t hash_expr(Twins *t, uint64_t h, const LExpr *e) {
  if (!e) return mix(h, -2);
  h = mix(mix(h, e->kind), e->type);
  switch (e->kind) {
  case LE_CONST: {
    int32_t bits;
    memcpy(&bits, &e->f, sizeof bits);
    if (e->type != DT_F32 && !t->fixed) return mix(h, -4); /* may differ: an argument */
    return mix(h, e->type == DT_F32 ? bits : e->i);
  }
  case LE_VAR: return hash_var(t, h, e->var);
  case LE_LOAD: h = mix(h, t->s[0].pos[e->buf->id]); break;
  case LE_BINARY: h = mix(h, e->bop); break;
  case LE_UNARY: h = mix(h, e->uop); break;
  case LE_CALL: h = mix(h, e->fn); break;
  case LE_CAST:
  case LE_SELECT: break;
  }
  return hash_expr(t, hash_expr(t, hash_expr(t, h, e->a), e->b), e->c);
}

static uint64_t hash_stmts(Twins *t, uint64_t h, const LStmt *s) {
  for (; s; s = s->next) {
    h = mix(mix(mix(h, s->kind), s->step), s->hints);
    h = hash_var(t, h, s->var);
    h = mix(h, s->buf ? t->s[0].pos[s->buf->id] : -1);
    bool fixes = fixes_constants(s);
    t->fixed += fixes;
    h = hash_expr(t, hash_expr(t, hash_expr(t, h, s->lo), s->hi), s->value);
    h = hash_expr(t, hash_expr(t, h, s->index), s->cond);
    h = hash_stmts(t, hash_stmts(t, h, s->body), s->else_body);
    t->fixed -= fixes;
  }
  return mix(h, -3);
}

static uint64_t hash_kernel(Twins *t, const KernelPlan *kp) {
  uint64_t h = mix(mix(FNV1A_OFFSET_BASIS, kp->nbufs), kp->nscalars);
  for (int i = 0; i < kp->nbufs; i++)
    h = mix(mix(mix(h, kp->bufs[i]->dtype), kp->reads[i]), kp->writes[i]);
  set_params(t, 0, kp, true);
  t->next = 0;
  t->fixed = 0;
  for (int i = 0; i < kp->nscalars; i++) h = hash_var(t, h, kp->scalars[i]);
  h = hash_stmts(t, h, kp->kernel->body);
  set_params(t, 0, kp, false);
  clear_peers(t, 0);
  return h;
}

/* A group's argument positions (indices into its first plan's walk of
 * outer constants), ascending. */
typedef struct Slots {
  int n;
  int pos[TWIN_CONSTS_MAX];
} Slots;

/* slots plus the positions where the walk's two sides differ, if that
 * stays within TWIN_CONSTS_MAX. */
static bool widen(const Twins *t, Slots *slots) {
  Slots w = *slots;
  for (int p = 0; p < t->nrec; p++) {
    if (t->rec_a[p]->i == t->rec_b[p]) continue;
    int at = 0;
    while (at < w.n && w.pos[at] < p) at++;
    if (at < w.n && w.pos[at] == p) continue;
    if (w.n == TWIN_CONSTS_MAX) return false;
    memmove(&w.pos[at + 1], &w.pos[at], (size_t)(w.n - at) * sizeof w.pos[0]);
    w.pos[at] = p;
    w.n++;
  }
  *slots = w;
  return true;
}

void kernel_twins(const ProgramPlan *plan, KernelCompatible compatible, const void *ctx,
                  int *twin, KernelConsts *consts) {
  const LProgram *p = plan->p;
  int n = plan->nkernels;
  Twins t = {0};
  size_t nv = (size_t)p->nvars + 1, nb = (size_t)p->nbuffers + 1;
  for (int k = 0; k < 2; k++) {
    t.s[k].pos = calloc(nb, sizeof(int));
    t.s[k].peer = calloc(nv, sizeof(int));
    /* a variable is touched once per walk: at most every variable */
    t.touched[k] = calloc(nv, sizeof(int));
  }
  uint64_t *hash = calloc((size_t)n + 1, sizeof *hash);
  Slots *slots = calloc((size_t)n + 1, sizeof *slots);
  int64_t **vals = calloc((size_t)n + 1, sizeof *vals); /* a twin's walk values */
  bool ok = hash && slots && vals && t.s[0].pos && t.s[1].pos && t.s[0].peer && t.s[1].peer &&
            t.touched[0] && t.touched[1];
  for (int i = 0; i < n; i++) {
    twin[i] = i;
    consts[i].n = 0;
    if (!ok) continue; /* out of memory: every kernel its own, as before */
    hash[i] = hash_kernel(&t, &plan->kernels[i]);
    for (int j = 0; j < i; j++) {
      if (twin[j] != j || hash[j] != hash[i]) continue;
      if ((!compatible || compatible(ctx, &plan->kernels[j], &plan->kernels[i])) &&
          same_code(&t, &plan->kernels[j], &plan->kernels[i]) && widen(&t, &slots[j])) {
        vals[i] = malloc(((size_t)t.nrec + 1) * sizeof *vals[i]);
        if (!vals[i]) {
          ok = false;
          break;
        }
        if (t.nrec) memcpy(vals[i], t.rec_b, (size_t)t.nrec * sizeof *vals[i]);
        twin[i] = j;
        break;
      }
    }
  }
  /* the arguments: each group's first plan walked against itself */
  for (int j = 0; ok && j < n; j++) {
    if (twin[j] != j || slots[j].n == 0) continue;
    if (!same_code(&t, &plan->kernels[j], &plan->kernels[j])) {
      ok = false;
      break;
    }
    for (int s = 0; s < slots[j].n; s++) consts[j].slot[s] = t.rec_a[slots[j].pos[s]];
  }
  for (int i = 0; i < n; i++) {
    int j = twin[i];
    if (!ok) { /* out of memory on the way: every kernel its own */
      twin[i] = i;
      consts[i].n = 0;
      continue;
    }
    consts[i].n = slots[j].n;
    for (int s = 0; s < slots[j].n; s++) {
      consts[i].slot[s] = consts[j].slot[s];
      consts[i].value[s] = i == j ? consts[j].slot[s]->i : vals[i][slots[j].pos[s]];
    }
  }
  for (int k = 0; k < 2; k++) {
    free(t.s[k].pos);
    free(t.s[k].peer);
    free(t.touched[k]);
  }
  for (int i = 0; vals && i < n; i++) free(vals[i]);
  free(vals);
  free(slots);
  free(hash);
  free(t.rec_a);
  free(t.rec_b);
}
