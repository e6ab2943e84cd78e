/* The program hash (lprog_hash.h): FNV-1a over a canonical serialisation of
 * a loop-IR program. Every generated trainer carries it (NAME_HASH) and
 * every checkpoint records it, so a checkpoint of another model is refused;
 * it lives with the IR because every backend must compute the same one. */
#include "lprog_hash.h"

#include <stdlib.h>
#include <string.h>

#include "fnv.h"
#include "intrinsics.h"

/* Variables are hashed as the number of their declaration (for, let) in
 * the kernel, resolved by scope like the printer and reader do, and scalar
 * arguments by name. So a program re-read from its text, whose variables
 * may be created in another order or split where a lowering reused one
 * LVar for two loops, hashes the same. */
typedef struct Binding {
  const LVar *var;
  int number;
} Binding;

typedef struct Hasher {
  uint64_t h;
  Binding *scope;
  int nscope, cap_scope;
  int next; /* declarations so far in this kernel */
} Hasher;

static void declare(Hasher *H, const LVar *v) {
  if (H->nscope == H->cap_scope) {
    H->cap_scope = H->cap_scope ? H->cap_scope * 2 : 32;
    H->scope = xrealloc(H->scope, (size_t)H->cap_scope * sizeof(Binding));
  }
  H->scope[H->nscope++] = (Binding){v, H->next++};
}

static void hbytes(Hasher *H, const void *data, size_t n) { H->h = fnv1a_bytes(H->h, data, n); }

/* Integers go in as 8 little-endian bytes, whatever the host. */
static void hint(Hasher *H, int64_t v) {
  unsigned char b[8];
  for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)v >> (8 * i));
  hbytes(H, b, 8);
}

static void hstr(Hasher *H, const char *s) {
  size_t n = s ? strlen(s) : 0;
  hint(H, (int64_t)n);
  hbytes(H, s ? s : "", n);
}

static void hvar(Hasher *H, const LVar *v) {
  if (!v) {
    hint(H, -1);
    return;
  }
  hint(H, v->kind);
  hint(H, v->dtype);
  if (v->kind == LVAR_ARG) {
    hstr(H, v->name); /* n, seed: part of the API */
    return;
  }
  int number = -2; /* used outside any declaration: invalid, but hashable */
  for (int i = H->nscope - 1; i >= 0; i--)
    if (H->scope[i].var == v) {
      number = H->scope[i].number;
      break;
    }
  hint(H, number);
}

static void hexpr(Hasher *H, const LExpr *e) {
  if (!e) {
    hint(H, -1);
    return;
  }
  hint(H, e->kind);
  hint(H, e->type);
  switch (e->kind) {
  case LE_CONST:
    if (e->type == DT_F32) {
      uint32_t bits;
      memcpy(&bits, &e->f, sizeof bits);
      hint(H, bits);
    } else {
      hint(H, e->i);
    }
    break;
  case LE_VAR: hvar(H, e->var); break;
  case LE_LOAD: hint(H, e->buf->id); break;
  case LE_BINARY: hint(H, e->bop); break;
  case LE_UNARY: hint(H, e->uop); break;
  case LE_CALL: hint(H, e->fn); break;
  default: break;
  }
  hexpr(H, e->a);
  hexpr(H, e->b);
  hexpr(H, e->c);
}

static void hstmts(Hasher *H, const LStmt *s) {
  int mark = H->nscope; /* a block's lets end with it */
  for (; s; s = s->next) {
    hint(H, s->kind);
    hexpr(H, s->lo); /* bounds and let values come before the declaration */
    hexpr(H, s->hi);
    hexpr(H, s->value);
    int loop_mark = H->nscope;
    if (s->kind == LS_FOR || s->kind == LS_LET) declare(H, s->var);
    hvar(H, s->var);
    hint(H, s->buf ? s->buf->id : -1);
    hint(H, s->step);
    hint(H, s->hints);
    hexpr(H, s->index);
    hexpr(H, s->cond);
    hstmts(H, s->body);
    hint(H, -2); /* end of body */
    hstmts(H, s->else_body);
    hint(H, -3);
    if (s->kind == LS_FOR) H->nscope = loop_mark;
  }
  H->nscope = mark;
}

/* A constant buffer's values are program: f32 by bit pattern. */
static void hconst(Hasher *H, const LBuffer *b) {
  int64_t n = b->data ? shape_numel(&b->shape) : -1;
  hint(H, n);
  for (int64_t k = 0; k < n; k++) {
    if (b->dtype == DT_F32) {
      float f = lconst_f32(b, k);
      uint32_t bits;
      memcpy(&bits, &f, sizeof bits);
      hint(H, bits);
    } else {
      hint(H, lconst_int(b, k));
    }
  }
}

static int64_t buf_id(const LBuffer *b) { return b ? b->id : -1; }

uint64_t lprog_hash(const LProgram *p) {
  Hasher H = {FNV1A_OFFSET_BASIS, NULL, 0, 0, 0};
  hstr(&H, "octo-lprog-2");
  hint(&H, p->batch);
  hint(&H, p->num_classes);
  hint(&H, p->kind);
  hint(&H, p->state_bytes);
  hint(&H, p->work_bytes);
  hint(&H, p->nbuffers);
  for (int i = 0; i < p->nbuffers; i++) {
    const LBuffer *b = p->buffers[i];
    hstr(&H, b->name);
    hint(&H, b->dtype);
    hint(&H, b->shape.rank);
    for (int d = 0; d < b->shape.rank && d < MAX_RANK; d++) hint(&H, b->shape.dim[d]);
    hint(&H, b->home);
    hint(&H, b->role);
    hint(&H, b->offset);
    hint(&H, (b->readonly ? 1 : 0) | (b->optional ? 2 : 0));
    if (b->home == LBUF_CONST) hconst(&H, b);
  }
  hint(&H, p->nkernels);
  for (int i = 0; i < p->nkernels; i++) {
    H.nscope = 0;
    H.next = 0;
    hstmts(&H, p->kernels[i]->body);
    hint(&H, -4);
  }
  for (int e = 0; e < LENTRY_COUNT; e++) {
    hint(&H, p->entries[e].ncalls);
    for (int c = 0; c < p->entries[e].ncalls; c++) hint(&H, p->entries[e].calls[c]->id);
  }
  hint(&H, buf_id(p->loss));
  hint(&H, buf_id(p->input));
  hint(&H, buf_id(p->label));
  hint(&H, buf_id(p->pred));
  hint(&H, buf_id(p->eval_loss));
  hint(&H, buf_id(p->eval_correct));
  free(H.scope);
  return H.h;
}
