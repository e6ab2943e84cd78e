/* Test helpers for the memory planner (see progkit.h). */
#include "progkit.h"

#include <stdlib.h>
#include <string.h>

void kit_init(Kit *k, const char *name) {
  memset(k, 0, sizeof *k);
  k->arena = arena_new();
  k->p = lprog_new(k->arena, name, 32);
  k->err = open_memstream(&k->text, &k->len);
  if (!k->err) abort();
  k->diag = diag_new(k->err);
}

void kit_free(Kit *k) {
  diag_free(k->diag);
  fclose(k->err);
  free(k->text);
  arena_free(k->arena);
}

const char *kit_messages(Kit *k) {
  fflush(k->err);
  return k->text ? k->text : "";
}

LBuffer *kit_typed(Kit *k, const char *name, LBufHome home, DType t, Shape s) {
  LBufRole role = home == LBUF_STATE ? LROLE_PARAM : LROLE_NONE;
  return lprog_buffer(k->p, name, t, s, home, role);
}

LBuffer *kit_buf(Kit *k, const char *name, LBufHome home, int64_t n) {
  Shape s = shape_of(n ? 1 : 0, &n);
  return kit_typed(k, name, home, DT_F32, s);
}

LKernel *kit_kernel(Kit *k, const char *name, LBuffer *const *reads, LBuffer *const *writes) {
  LProgram *p = k->p;
  LBlock body = {0};
  for (int i = 0; reads && reads[i]; i++) {
    char *v = arena_printf(k->arena, "t%d", k->nlocals++);
    LVar *local = lprog_var(p, v, reads[i]->dtype, LVAR_LOCAL);
    lblock_add(&body, ls_let(p, local, le_load(p, reads[i], le_int(p, DT_I64, 0))));
  }
  for (int i = 0; writes && writes[i]; i++)
    lblock_add(&body, ls_store(p, writes[i], le_int(p, DT_I64, 0),
                               le_cast(p, writes[i]->dtype, le_f32(p, 1.0f))));
  LKernel *kern = lprog_kernel(p, name, name, (SrcLoc){0});
  kern->body = body.first;
  return kern;
}

LKernel *kit_call(Kit *k, LEntryKind e, const char *name, LBuffer *const *reads,
                  LBuffer *const *writes) {
  LKernel *kern = kit_kernel(k, name, reads, writes);
  lprog_call(k->p, e, kern);
  return kern;
}

int kit_overlap(const LBuffer *a, const LBuffer *b) {
  int64_t sa = memplan_buffer_bytes(a), sb = memplan_buffer_bytes(b);
  return sa > 0 && sb > 0 && a->offset < b->offset + sb && b->offset < a->offset + sa;
}

void kit_layered_model(Kit *k, int nlayers, const int64_t *act, const int64_t *par) {
  LProgram *p = k->p;
  int64_t batch = p->batch;
  LBuffer *x = kit_buf(k, "x", LBUF_ARG, batch * act[0]);
  LBuffer *y = lprog_buffer(p, "y", DT_I32, shape_of(1, &batch), LBUF_ARG, LROLE_NONE);
  LBuffer *cls = lprog_buffer(p, "cls", DT_I32, shape_of(1, &batch), LBUF_ARG, LROLE_NONE);
  p->input = x, p->label = y, p->pred = cls;
  size_t nl = (size_t)nlayers + 1;
  LBuffer **a = calloc(nl, sizeof *a), **g = calloc(nl, sizeof *g);
  LBuffer **w = calloc(nl, sizeof *w), **dw = calloc(nl, sizeof *dw);
  if (!a || !g || !w || !dw) abort();
  a[0] = x;
  for (int i = 1; i <= nlayers; i++) {
    a[i] = kit_buf(k, arena_printf(k->arena, "a%d", i), LBUF_WORK, batch * act[i]);
    g[i] = kit_buf(k, arena_printf(k->arena, "g%d", i), LBUF_WORK, batch * act[i]);
    if (par[i] > 0) {
      w[i] = kit_buf(k, arena_printf(k->arena, "w%d", i), LBUF_STATE, par[i]);
      dw[i] = kit_buf(k, arena_printf(k->arena, "dw%d", i), LBUF_WORK, par[i]);
    }
  }
  p->loss = kit_buf(k, "loss", LBUF_WORK, 0);
  for (int e = LENTRY_TRAIN_STEP; e <= LENTRY_PREDICT; e++) {
    for (int i = 1; i <= nlayers; i++)
      kit_call(k, (LEntryKind)e, arena_printf(k->arena, "l%d_fwd", i),
               (LBuffer *[]){a[i - 1], w[i], NULL}, (LBuffer *[]){a[i], NULL});
  }
  kit_call(k, LENTRY_PREDICT, "argmax", (LBuffer *[]){a[nlayers], NULL},
           (LBuffer *[]){cls, NULL});
  kit_call(k, LENTRY_TRAIN_STEP, "loss", (LBuffer *[]){a[nlayers], y, NULL},
           (LBuffer *[]){p->loss, g[nlayers], NULL});
  for (int i = nlayers; i >= 1; i--) {
    if (dw[i])
      kit_call(k, LENTRY_TRAIN_STEP, arena_printf(k->arena, "l%d_dw", i),
               (LBuffer *[]){g[i], a[i - 1], NULL}, (LBuffer *[]){dw[i], NULL});
    if (i > 1)
      kit_call(k, LENTRY_TRAIN_STEP, arena_printf(k->arena, "l%d_dx", i),
               (LBuffer *[]){g[i], a[i], w[i], NULL}, (LBuffer *[]){g[i - 1], NULL});
  }
  for (int i = 1; i <= nlayers; i++)
    if (w[i])
      kit_call(k, LENTRY_TRAIN_STEP, arena_printf(k->arena, "l%d_sgd", i),
               (LBuffer *[]){w[i], dw[i], NULL}, (LBuffer *[]){w[i], NULL});
  LBuffer **params = calloc((size_t)nlayers + 1, sizeof *params);
  if (!params) abort();
  int np = 0;
  for (int i = 1; i <= nlayers; i++)
    if (w[i]) params[np++] = w[i];
  kit_call(k, LENTRY_INIT, "init", NULL, params);
  free(params);
  free(a), free(g), free(w), free(dw);
}
