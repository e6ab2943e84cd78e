/* Lowering of parameter initializers into the init entry. Every draw is
 * hash_uniform(key, i) with key = seed ^ FNV-1a(parameter name): the
 * same seed gives the same network on every target, and each parameter has
 * its own stream. He and Xavier are the uniform variants (bounds
 * sqrt(6 / fan_in) and sqrt(6 / (fan_in + fan_out))); normal(std) uses the
 * sum of twelve uniforms minus six (Irwin-Hall: mean 0, variance 1), which
 * needs no trigonometry and is plenty for small noise such as LAC's. The
 * init entry zeroes the state block first, so zeros costs nothing. */
#include <math.h>

#include "lower.h"

/* fan_in = elements per output unit (numel / shape[0]); fan_out = shape[0]
 * times the receptive field (conv: kh*kw). */
static void fans(const Value *v, double *fan_in, double *fan_out) {
  const Shape *s = &v->type.shape;
  double numel = (double)shape_numel(s);
  double out = s->rank > 0 ? (double)s->dim[0] : 1;
  double receptive = 1;
  for (int i = 2; i < s->rank; i++) receptive *= (double)s->dim[i];
  *fan_in = out > 0 ? numel / out : 1;
  *fan_out = out * receptive;
}

bool lower_init(Lower *L, const Value *v) {
  LProgram *p = L->p;
  InitKind kind = v->init.kind;
  if (kind == INIT_ZEROS || kind == INIT_NONE) return true;
  if (kind == INIT_CONST && v->init.value == 0) return true;
  L->entries = 1u << LENTRY_INIT;
  char suffix[300];
  snprintf(suffix, sizeof suffix, "init_%s", v->name);
  lower_kernel(L, NULL, suffix, L->entries);
  L->k->origin = arena_printf(p->arena, "init %s %s", init_name(kind), v->name);
  L->k->loc = v->loc;
  LBuffer *b = vbuf(L, v);
  LVar *i = lv_loop(L, "i");
  /* XOR, not arithmetic: no signed overflow whatever the seed. */
  LExpr *key = le_bin(p, LB_XOR, ve(L, L->seed), le_int(p, DT_I64, name_key(v->name)));
  LExpr *index = le_cast(p, DT_I64, ve(L, i));
  double fan_in, fan_out;
  fans(v, &fan_in, &fan_out);
  LExpr *value;
  switch (kind) {
  case INIT_ONES: value = cf(L, 1); break;
  case INIT_CONST: value = cf(L, (float)v->init.value); break;
  case INIT_HE:
  case INIT_XAVIER: {
    double bound = kind == INIT_HE ? sqrt(6.0 / fan_in) : sqrt(6.0 / (fan_in + fan_out));
    LExpr *u = le_call(p, LI_HASH_UNIFORM, key, index);
    value = le_bin(p, LB_MUL, le_bin(p, LB_SUB, le_bin(p, LB_MUL, u, cf(L, 2)), cf(L, 1)),
                   cf(L, (float)bound));
    break;
  }
  case INIT_NORMAL: {
    /* twelve draws from sub-streams 12 i + j */
    LExpr *sum = NULL;
    for (int j = 0; j < 12; j++) {
      LExpr *idx = le_bin(p, LB_ADD, le_bin(p, LB_MUL, le_cast(p, DT_I64, ve(L, i)),
                                            le_int(p, DT_I64, 12)),
                          le_int(p, DT_I64, j));
      LExpr *u = le_call(p, LI_HASH_UNIFORM, key, idx);
      sum = sum ? le_bin(p, LB_ADD, sum, u) : u;
    }
    value = le_bin(p, LB_MUL, le_bin(p, LB_SUB, sum, cf(L, 6)), cf(L, (float)v->init.value));
    break;
  }
  default:
    diag_error(L->d, v->loc, "lower: no initializer lowering for '%s'", init_name(kind));
    return false;
  }
  LExpr *count = ci(L, shape_numel(&v->type.shape));
  lower_kernel_body(L, loop(L, i, count, 0, ls_store(p, b, ve(L, i), value)));
  return true;
}
