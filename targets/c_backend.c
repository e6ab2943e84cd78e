/* The C backend: prints the kernels and entries of a planned loop-IR
 * program (targets/entry_plan.h) as C99, NAME.c; the header and the
 * standalone main come from the plan (targets/api_writer.c).
 *
 * Each kernel becomes one `static void` function whose parameters are a
 * `restrict` pointer per buffer it touches (const when it only reads) and the
 * scalar arguments it uses; the entry functions compute each pointer as
 * base + offset and call the kernels in order. Restrict parameters are what
 * gcc and clang understand best for vectorisation, and the memory planner
 * guarantees that the buffers of one kernel never overlap.
 *
 * The emitted .c needs nothing but <stdint.h>, <stddef.h>, <string.h> and,
 * when a kernel uses float maths, <math.h>; it has no mutable static data.
 * The semantics chosen for C's undefined corners are in docs/c-backend.md. */
#include "c_backend.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "api_writer.h"
#include "c_syntax.h"

/* Helpers a kernel may call; each is printed only if used (an unused static
 * function would be a warning under some compilers). */
typedef enum {
  H_SHL32, H_SHR32, H_SHL64, H_SHR64,
  H_MIN32, H_MAX32, H_MIN64, H_MAX64, H_MINF, H_MAXF,
  H_ABS32, H_ABS64, H_HASH,
  H_MINU32, H_MAXU32, H_SHR_ROUND32, H_SHR_ROUND64,
  H_CLAMP32, H_CLAMP64, H_CLAMPU32, H_CLAMPF, H_DOT4_I8, H_DOT4_U8I8, H_DOT2_I16, H_HASH_BITS,
  H_F32_BITS, H_BITS_F32, H_MATH, H_COUNT
} Helper;

/* The C name of each helper (the reserved names below list them too). */
static const char *const helper_names[H_COUNT] = {
    [H_SHL32] = "octo_shl_i32",   [H_SHR32] = "octo_shr_i32",
    [H_SHL64] = "octo_shl_i64",   [H_SHR64] = "octo_shr_i64",
    [H_MIN32] = "octo_min_i32",   [H_MAX32] = "octo_max_i32",
    [H_MIN64] = "octo_min_i64",   [H_MAX64] = "octo_max_i64",
    [H_MINF] = "octo_min_f32",    [H_MAXF] = "octo_max_f32",
    [H_ABS32] = "octo_abs_i32",   [H_ABS64] = "octo_abs_i64",
    [H_HASH] = "octo_hash_uniform",
    [H_MINU32] = "octo_min_u32",  [H_MAXU32] = "octo_max_u32",
    [H_SHR_ROUND32] = "octo_shr_round_i32", [H_SHR_ROUND64] = "octo_shr_round_i64",
    [H_CLAMP32] = "octo_clamp_i32", [H_CLAMP64] = "octo_clamp_i64",
    [H_CLAMPU32] = "octo_clamp_u32", [H_CLAMPF] = "octo_clamp_f32",
    [H_DOT4_I8] = "octo_dot4_i8", [H_DOT4_U8I8] = "octo_dot4_u8i8",
    [H_DOT2_I16] = "octo_dot2_i16",
    [H_HASH_BITS] = "octo_hash_bits",
    [H_F32_BITS] = "octo_f32_bits", [H_BITS_F32] = "octo_bits_f32",
};

/* The saturating casts' helpers, octo_sat_T_FROM, are printed from a
 * template per target type T and source class FROM: i32 (sources that fit
 * an int32_t), i64 (i64, u32) and f32 (the real type). */
typedef enum { SAT_I32, SAT_I64, SAT_REAL, SAT_COUNT } SatFrom;
static const char *const sat_from_names[SAT_COUNT] = {"i32", "i64", "f32"};

/* C names of one kernel's buffers and variables (indexed by id). */
typedef struct Scope {
  const char **buf_name; /* p->nbuffers */
  const char **var_name; /* p->nvars */
  StrMap taken; /* the C names given out, each to itself */
} Scope;

typedef struct Emit {
  const LProgram *p;
  const ProgramPlan *plan;
  Arena *arena;
  FILE *out;
  FILE *err;
  const char *pfx; /* C identifier prefix: lenet5 */
  const char *PFX; /* macro prefix: LENET5 */
  bool dbl;        /* --emit-real=double: f32 printed as double, bytes doubled */
  bool ok;
  bool need[H_COUNT];
  bool need_sat[DT_COUNT][SAT_COUNT];
  const char **const_name; /* per buffer id: the C array of a CONST buffer */
  char *consts;            /* their definitions, printed before the prologue */
  const char **kname; /* per kernel id: emitted function name */
  Scope sc;
  LUses bufs; /* the kernel's buffers: a = reads, b = writes */
  LUses vars; /* its variables: a = mentioned, b = read by an expression */
} Emit;

static void fail(Emit *E, const LKernel *k, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(Emit *E, const LKernel *k, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(E->err, "octoc: error: C backend: ");
  if (k) fprintf(E->err, "kernel '%s': ", k->name);
  vfprintf(E->err, fmt, ap);
  fputc('\n', E->err);
  va_end(ap);
  E->ok = false;
}

static void out(Emit *E, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void out(Emit *E, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfprintf(E->out, fmt, ap);
  va_end(ap);
}

static void indent(Emit *E, int depth) {
  for (int i = 0; i < depth; i++) fputs("  ", E->out);
}

static void cstring(Emit *E, const char *s) { c_string(E->out, s); }
static void comment_text(Emit *E, const char *s) { c_comment_text(E->out, s); }

/* ---- names ---------------------------------------------------------- */

static const char *const reserved[] = {
    "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else",
    "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long", "register",
    "restrict", "return", "short", "signed", "sizeof", "static", "struct", "switch",
    "typedef", "union", "unsigned", "void", "volatile", "while", "_Bool", "_Complex",
    "_Imaginary", "int8_t", "int16_t", "int32_t", "int64_t", "uint8_t", "uint16_t", "uint32_t",
    "uint64_t", "size_t", "NULL", "NAN", "INFINITY", "INT64_C", "UINT64_C", "expf", "logf",
    "sqrtf", "floorf", "rintf", "powf", "fmodf", "fabsf", "cosf", "exp", "log", "sqrt", "floor",
    "rint", "pow", "fmod", "fabs", "cos", "memset", "memcpy", "n", "seed",
    /* the emitted helpers (keep in step with the helper table below) and the runtime */
    "octo_abs_i32", "octo_abs_i64", "octo_hash_uniform", "octo_max_f32", "octo_max_i32",
    "octo_max_i64", "octo_min_f32", "octo_min_i32", "octo_min_i64", "octo_nan", "octo_shl_i32",
    "octo_shl_i64", "octo_shr_i32", "octo_shr_i64", "octo_main", "octo_min_u32",
    "octo_max_u32", "octo_shr_round_i32", "octo_shr_round_i64", "octo_clamp_i32",
    "octo_clamp_i64", "octo_clamp_u32", "octo_clamp_f32", "octo_dot4_i8", "octo_dot4_u8i8",
    "octo_dot2_i16",
    "octo_hash_bits", "octo_misaligned", "octo_bad_labels", "octo_f32_bits", "octo_bits_f32",
};

/* octo_sat_T_FROM, the saturating-cast helpers. */
static bool is_sat_helper(const char *s) {
  const char *prefix = "octo_sat_";
  if (strncmp(s, prefix, strlen(prefix)) != 0) return false;
  for (int t = 0; t < DT_COUNT; t++)
    for (int f = 0; f < SAT_COUNT; f++) {
      char name[40];
      snprintf(name, sizeof name, "octo_sat_%s_%s", dtype_name((DType)t), sat_from_names[f]);
      if (strcmp(s, name) == 0) return true;
    }
  return false;
}

/* Exact names only: a prefix rule would reserve every kernel of a model
 * whose own name starts with it (octo_simplecnn_k_...). */
static bool is_reserved(const char *s) {
  for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
    if (strcmp(s, reserved[i]) == 0) return true;
  return is_sat_helper(s);
}

static bool scope_taken(const Scope *sc, const char *s) { return strmap_get(&sc->taken, s); }

static void scope_take(Emit *E, Scope *sc, const char *s) {
  strmap_put(E->arena, &sc->taken, s, (void *)s);
}

/* `base`, or `base_2`, `base_3`, ... whichever is free and not reserved. */
static const char *scope_unique(Emit *E, Scope *sc, const char *name) {
  const char *base = plan_ident(E->arena, name);
  const char *s = base;
  for (int k = 2; is_reserved(s) || scope_taken(sc, s); k++)
    s = arena_printf(E->arena, "%s_%d", base, k);
  scope_take(E, sc, s);
  return s;
}

const char *c_prefix(const LProgram *p) { return plan_ident(p->arena, p->name); }

/* ---- types and constants ------------------------------------------- */

static const char *ctype(const Emit *E, DType t) { return c_type(t, E->dbl); }

/* A planned byte offset or size as printed: doubled in a double build, so
 * every f32 buffer has room for its doubles and the plan's disjointness and
 * alignment carry over (integer buffers just get spare room). */
static long long bytes_out(const Emit *E, int64_t v) { return api_bytes(v, E->dbl); }

/* Types narrower than int: C computes in int, the IR wraps to the type. */
static bool is_narrow(DType t) {
  return t == DT_I8 || t == DT_I16 || t == DT_U8 || t == DT_U16;
}

static const char *use_helper(Emit *E, Helper h) {
  E->need[h] = true;
  return helper_names[h];
}

static void print_f32(Emit *E, float f) {
  if (c_float(E->out, f, E->dbl)) E->need[H_MATH] = true;
}

static void print_int(Emit *E, DType t, int64_t v) { c_int(E->out, t, v); }

/* ---- expressions ---------------------------------------------------- */

static void expr(Emit *E, const LKernel *k, const LExpr *e);
static void atom(Emit *E, const LKernel *k, const LExpr *e);

static const char *binop_token(LBinOp op) {
  switch (op) {
  case LB_ADD: return "+";
  case LB_SUB: return "-";
  case LB_MUL: return "*";
  case LB_DIV: return "/";
  case LB_REM: return "%";
  case LB_SHL: return "<<";
  case LB_SHR: return ">>";
  case LB_AND: return "&";
  case LB_OR: return "|";
  case LB_XOR: return "^";
  case LB_LT: return "<";
  case LB_LE: return "<=";
  case LB_GT: return ">";
  case LB_GE: return ">=";
  case LB_EQ: return "==";
  case LB_NE: return "!=";
  case LB_LAND: return "&&";
  case LB_LOR: return "||";
  default: return NULL;
  }
}

/* A <math.h> function at the real type: expf for float, exp for double. */
static const char *mathfn(Emit *E, const char *name) {
  E->need[H_MATH] = true;
  return E->dbl ? name : arena_printf(E->arena, "%sf", name);
}

static void call3(Emit *E, const LKernel *k, const char *fn, const LExpr *a, const LExpr *b,
                  const LExpr *c) {
  out(E, "%s(", fn);
  expr(E, k, a);
  if (b) {
    out(E, ", ");
    expr(E, k, b);
  }
  if (c) {
    out(E, ", ");
    expr(E, k, c);
  }
  out(E, ")");
}

static void call2(Emit *E, const LKernel *k, const char *fn, const LExpr *a, const LExpr *b) {
  call3(E, k, fn, a, b, NULL);
}

/* The helper for min/max/shifts at the operand type's width. Narrow
 * types compute at 32 bits and are cast back by the caller; u32 min and
 * max compare unsigned. */
static const char *int_helper(Emit *E, LBinOp op, DType t) {
  bool w = t == DT_I64, u = t == DT_U32;
  Helper h;
  switch (op) {
  case LB_MIN: h = w ? H_MIN64 : u ? H_MINU32 : H_MIN32; break;
  case LB_MAX: h = w ? H_MAX64 : u ? H_MAXU32 : H_MAX32; break;
  case LB_SHL: h = w ? H_SHL64 : H_SHL32; break;
  default: h = w ? H_SHR64 : H_SHR32; break;
  }
  return use_helper(E, h);
}

/* Does e print as a bare `a op b` (no call, no cast wrapper)? Only those
 * need parentheses where they are operands. */
static bool plain_binary(const LExpr *e) {
  if (e->kind != LE_BINARY) return false;
  DType t = e->a->type;
  if (e->bop == LB_MIN || e->bop == LB_MAX) return false;
  if (t == DT_F32) return e->bop != LB_REM;
  if (is_narrow(e->type)) return false;
  if (e->bop == LB_SHL) return t == DT_U32;
  return e->bop != LB_SHR || dtype_is_unsigned(t);
}

static bool is_additive(LBinOp op) { return op == LB_ADD || op == LB_SUB; }
static bool is_multiplicative(LBinOp op) { return op == LB_MUL || op == LB_DIV || op == LB_REM; }
static bool is_comparison(LBinOp op) { return op >= LB_LT && op <= LB_NE; }

/* Parentheses are dropped only where C's precedence is obvious to a reader
 * and to gcc's -Wparentheses: products in sums, left operands of the same
 * level, arithmetic in comparisons, comparisons in && and ||. */
static bool needs_parens(LBinOp parent, LBinOp child, bool right) {
  bool arith = is_additive(child) || is_multiplicative(child);
  if (is_additive(parent)) return !(is_multiplicative(child) || (is_additive(child) && !right));
  if (is_multiplicative(parent)) return !(parent == LB_MUL && child == LB_MUL && !right);
  if (is_comparison(parent)) return !arith;
  if (parent == LB_LAND || parent == LB_LOR) return !(is_comparison(child) || arith);
  return true;
}

/* An operand where a bare binary must be parenthesised. */
static void atom(Emit *E, const LKernel *k, const LExpr *e) {
  bool paren = e && plain_binary(e);
  if (paren) out(E, "(");
  expr(E, k, e);
  if (paren) out(E, ")");
}

static void operand(Emit *E, const LKernel *k, LBinOp parent, const LExpr *e, bool right) {
  if (e && plain_binary(e) && !needs_parens(parent, e->bop, right)) expr(E, k, e);
  else atom(E, k, e);
}

static void infix(Emit *E, const LKernel *k, const LExpr *e, const char *tok) {
  if (!tok) {
    fail(E, k, "unknown binary operator %d", (int)e->bop);
    return;
  }
  operand(E, k, e->bop, e->a, false);
  out(E, " %s ", tok);
  operand(E, k, e->bop, e->b, true);
}

static void binary_f32(Emit *E, const LKernel *k, const LExpr *e) {
  switch (e->bop) {
  case LB_MIN: E->need[H_MINF] = true; call2(E, k, "octo_min_f32", e->a, e->b); return;
  case LB_MAX: E->need[H_MAXF] = true; call2(E, k, "octo_max_f32", e->a, e->b); return;
  case LB_REM: call2(E, k, mathfn(E, "fmod"), e->a, e->b); return;
  case LB_SHL: case LB_SHR: case LB_AND: case LB_OR: case LB_XOR:
    fail(E, k, "bit operation on f32");
    return;
  default: infix(E, k, e, binop_token(e->bop)); return;
  }
}

static void binary(Emit *E, const LKernel *k, const LExpr *e) {
  DType t = e->a->type;
  if (t == DT_F32) {
    binary_f32(E, k, e);
    return;
  }
  bool narrow = is_narrow(e->type); /* comparisons have type i32 */
  if (narrow) out(E, "((%s)", ctype(E, e->type));
  if (e->bop == LB_MIN || e->bop == LB_MAX || (e->bop == LB_SHL && t != DT_U32) ||
      (e->bop == LB_SHR && !dtype_is_unsigned(t))) {
    call2(E, k, int_helper(E, e->bop, t), e->a, e->b);
  } else if (e->bop == LB_MUL && t == DT_U16) {
    /* uint16_t promotes to int, where 65535 * 65535 overflows: multiply
     * as unsigned int instead. */
    out(E, "((uint32_t)");
    atom(E, k, e->a);
    out(E, " * ");
    atom(E, k, e->b);
    out(E, ")");
  } else {
    if (narrow) out(E, "(");
    infix(E, k, e, binop_token(e->bop));
    if (narrow) out(E, ")");
  }
  if (narrow) out(E, ")");
}

/* exp, log, cos and pow reach a backend only in the double build (the
 * gradient checks' reference, libm's); an f32 program has them written out
 * by the pass "math", so the same bits come out on every target. */
static bool raw_math(Emit *E, const LKernel *k, const char *fn) {
  if (E->dbl) return true;
  fail(E, k, "%s was not written out by the pass \"math\" (passes/expand_math.c)", fn);
  return false;
}

static void prefix(Emit *E, const LKernel *k, const char *op, const LExpr *a) {
  out(E, "(%s", op);
  atom(E, k, a);
  out(E, ")");
}

static void unary(Emit *E, const LKernel *k, const LExpr *e) {
  DType t = e->a->type;
  if (e->uop == LU_NOT) {
    prefix(E, k, "!", e->a);
    return;
  }
  if (t == DT_F32) {
    static const char *const fns[] = {[LU_ABS] = "fabs", [LU_EXP] = "exp", [LU_LOG] = "log",
                                      [LU_SQRT] = "sqrt", [LU_FLOOR] = "floor",
                                      [LU_COS] = "cos"};
    if (e->uop == LU_NEG) {
      prefix(E, k, "-", e->a);
      return;
    }
    if ((unsigned)e->uop >= sizeof fns / sizeof fns[0] || !fns[e->uop]) {
      fail(E, k, "unknown unary operator %d", (int)e->uop);
      return;
    }
    if ((e->uop == LU_EXP || e->uop == LU_LOG || e->uop == LU_COS) && !raw_math(E, k, fns[e->uop]))
      return;
    call2(E, k, mathfn(E, fns[e->uop]), e->a, NULL);
    return;
  }
  bool narrow = is_narrow(t);
  if (narrow) out(E, "((%s)", ctype(E, t));
  if (e->uop == LU_NEG) {
    prefix(E, k, "-", e->a);
  } else if (e->uop == LU_ABS && t == DT_U32) {
    atom(E, k, e->a); /* unsigned: abs is the value itself */
  } else if (e->uop == LU_ABS) {
    Helper h = t == DT_I64 ? H_ABS64 : H_ABS32;
    E->need[h] = true;
    call2(E, k, h == H_ABS64 ? "octo_abs_i64" : "octo_abs_i32", e->a, NULL);
  } else {
    fail(E, k, "float function on integer operand");
  }
  if (narrow) out(E, ")");
}

/* sat_cast<T>(x): a plain cast when every value of x's type fits T, else
 * the helper for T and x's class. */
static void sat_cast(Emit *E, const LKernel *k, const LExpr *e) {
  DType t = e->type, from = e->a->type;
  int64_t tlo, thi, flo, fhi;
  if (!dtype_int_range(t, &tlo, &thi)) {
    fail(E, k, "sat_cast to %s", dtype_name(t));
    return;
  }
  if (dtype_int_range(from, &flo, &fhi) && flo >= tlo && fhi <= thi) {
    out(E, "((%s)", ctype(E, t));
    atom(E, k, e->a);
    out(E, ")");
    return;
  }
  SatFrom f = from == DT_F32 ? SAT_REAL : from == DT_I64 || from == DT_U32 ? SAT_I64 : SAT_I32;
  E->need_sat[t][f] = true;
  call2(E, k, arena_printf(E->arena, "octo_sat_%s_%s", dtype_name(t), sat_from_names[f]), e->a,
        NULL);
}

/* clamp at the operand type's width; narrow types clamp at 32 bits (the
 * result is inside [lo, hi], so the cast back is exact). */
static void clamp(Emit *E, const LKernel *k, const LExpr *e) {
  DType t = e->type;
  Helper h = t == DT_F32 ? H_CLAMPF : t == DT_I64 ? H_CLAMP64 : t == DT_U32 ? H_CLAMPU32 : H_CLAMP32;
  bool narrow = is_narrow(t);
  if (narrow) out(E, "((%s)", ctype(E, t));
  call3(E, k, use_helper(E, h), e->a, e->b, e->c);
  if (narrow) out(E, ")");
}

/* A dot4 or dot2 operand: the address of the elements its load starts at. */
static void group_ptr(Emit *E, const LKernel *k, const LExpr *load) {
  if (!load || load->kind != LE_LOAD) {
    fail(E, k, "a dot4 or dot2 operand is not a load");
    return;
  }
  out(E, "&%s[", E->sc.buf_name[load->buf->id]);
  expr(E, k, load->a);
  out(E, "]");
}

static void dot_group(Emit *E, const LKernel *k, const LExpr *e, Helper h) {
  out(E, "%s(", use_helper(E, h));
  expr(E, k, e->a);
  out(E, ", ");
  group_ptr(E, k, e->b);
  out(E, ", ");
  group_ptr(E, k, e->c);
  out(E, ")");
}

static void intrinsic(Emit *E, const LKernel *k, const LExpr *e) {
  switch (e->fn) {
  case LI_ROUND_EVEN: call2(E, k, mathfn(E, "rint"), e->a, NULL); return;
  case LI_POW:
    if (raw_math(E, k, "pow")) call2(E, k, mathfn(E, "pow"), e->a, e->b);
    return;
  case LI_HASH_UNIFORM:
    E->need[H_HASH] = true;
    call2(E, k, "octo_hash_uniform", e->a, e->b);
    return;
  case LI_SAT_CAST: sat_cast(E, k, e); return;
  case LI_SHR_ROUND:
    call2(E, k, use_helper(E, e->type == DT_I64 ? H_SHR_ROUND64 : H_SHR_ROUND32), e->a, e->b);
    return;
  case LI_CLAMP: clamp(E, k, e); return;
  case LI_DOT4_I8: dot_group(E, k, e, H_DOT4_I8); return;
  case LI_DOT4_U8I8: dot_group(E, k, e, H_DOT4_U8I8); return;
  case LI_DOT2_I16: dot_group(E, k, e, H_DOT2_I16); return;
  case LI_HASH_BITS: call2(E, k, use_helper(E, H_HASH_BITS), e->a, e->b); return;
  case LI_F32_BITS:
  case LI_BITS_F32:
    if (E->dbl) {
      fail(E, k, "%s is about f32's bits: there is no double build of it",
           lintrinsic_info(e->fn)->name);
      return;
    }
    call2(E, k, use_helper(E, e->fn == LI_F32_BITS ? H_F32_BITS : H_BITS_F32), e->a, NULL);
    return;
  case LI_COUNT: break;
  }
  fail(E, k, "unknown intrinsic %d", (int)e->fn);
}

static void expr(Emit *E, const LKernel *k, const LExpr *e) {
  if (!e) {
    fail(E, k, "missing operand");
    return;
  }
  switch (e->kind) {
  case LE_CONST:
    if (e->type == DT_F32) print_f32(E, e->f);
    else print_int(E, e->type, e->i);
    return;
  case LE_VAR: out(E, "%s", E->sc.var_name[e->var->id]); return;
  case LE_LOAD:
    out(E, "%s[", E->sc.buf_name[e->buf->id]);
    expr(E, k, e->a);
    out(E, "]");
    return;
  case LE_BINARY: binary(E, k, e); return;
  case LE_UNARY: unary(E, k, e); return;
  case LE_CAST:
    out(E, "((%s)", ctype(E, e->type));
    atom(E, k, e->a);
    out(E, ")");
    return;
  case LE_SELECT:
    out(E, "(");
    expr(E, k, e->a);
    out(E, " ? ");
    expr(E, k, e->b);
    out(E, " : ");
    expr(E, k, e->c);
    out(E, ")");
    return;
  case LE_CALL: intrinsic(E, k, e); return;
  }
  fail(E, k, "unknown expression kind %d", (int)e->kind);
}

/* ---- statements ----------------------------------------------------- */

static void block(Emit *E, const LKernel *k, const LStmt *s, int depth);

/* Hints become pragmas only the compiler that knows them sees, so -Wall's
 * -Wunknown-pragmas stays quiet everywhere. */
static void loop_hints(Emit *E, const LStmt *s) {
  if (!s->hints) return;
  int64_t trip = -1;
  if (s->lo->kind == LE_CONST && s->hi->kind == LE_CONST && s->step > 0)
    trip = (s->hi->i - s->lo->i + s->step - 1) / s->step;
  out(E, "#if defined(__clang__)\n");
  if (s->hints & LHINT_VECTORIZE) out(E, "#pragma clang loop vectorize(enable)\n");
  if (s->hints & LHINT_UNROLL) out(E, "#pragma clang loop unroll(full)\n");
  if (s->hints & LHINT_SCALAR) out(E, "#pragma clang loop vectorize(disable)\n");
  out(E, "#elif defined(__GNUC__)\n");
  if (s->hints & LHINT_VECTORIZE) out(E, "#pragma GCC ivdep\n");
  if ((s->hints & LHINT_UNROLL) && trip > 1 && trip < 65535)
    out(E, "#pragma GCC unroll %lld\n", (long long)trip);
  out(E, "#endif\n");
}

static void stmt_for(Emit *E, const LKernel *k, const LStmt *s, int depth) {
  if (s->step <= 0) {
    fail(E, k, "loop step %lld is not positive", (long long)s->step);
    return;
  }
  const char *v = E->sc.var_name[s->var->id];
  loop_hints(E, s);
  indent(E, depth);
  out(E, "for (%s %s = ", ctype(E, s->var->dtype), v);
  expr(E, k, s->lo);
  out(E, "; %s < ", v);
  expr(E, k, s->hi);
  if (s->step == 1) out(E, "; %s++) {\n", v);
  else out(E, "; %s += %lld) {\n", v, (long long)s->step);
  block(E, k, s->body, depth + 1);
  indent(E, depth);
  out(E, "}\n");
}

static void stmt(Emit *E, const LKernel *k, const LStmt *s, int depth) {
  switch (s->kind) {
  case LS_FOR: stmt_for(E, k, s, depth); return;
  case LS_LET:
    indent(E, depth);
    out(E, "%s %s = ", ctype(E, s->var->dtype), E->sc.var_name[s->var->id]);
    expr(E, k, s->value);
    out(E, ";\n");
    if (!E->vars.b[s->var->id]) {
      indent(E, depth);
      out(E, "(void)%s; /* never read */\n", E->sc.var_name[s->var->id]);
    }
    return;
  case LS_ASSIGN:
    indent(E, depth);
    out(E, "%s = ", E->sc.var_name[s->var->id]);
    expr(E, k, s->value);
    out(E, ";\n");
    return;
  case LS_STORE:
    indent(E, depth);
    out(E, "%s[", E->sc.buf_name[s->buf->id]);
    expr(E, k, s->index);
    out(E, "] = ");
    expr(E, k, s->value);
    out(E, ";\n");
    return;
  case LS_IF:
    indent(E, depth);
    out(E, "if (");
    expr(E, k, s->cond);
    out(E, ") {\n");
    block(E, k, s->body, depth + 1);
    indent(E, depth);
    if (s->else_body) {
      out(E, "} else {\n");
      block(E, k, s->else_body, depth + 1);
      indent(E, depth);
    }
    out(E, "}\n");
    return;
  }
  fail(E, k, "unknown statement kind %d", (int)s->kind);
}

static void block(Emit *E, const LKernel *k, const LStmt *s, int depth) {
  for (; s && E->ok; s = s->next) stmt(E, k, s, depth);
}

/* ---- kernels -------------------------------------------------------- */

/* Fills E->bufs and E->vars for kernel k and names its buffers and
 * variables in E->sc (buffers first, each list in id order). The previous
 * kernel's names are cleared first: only what a kernel uses has a name. */
static void kernel_scope(Emit *E, const LKernel *k) {
  const LProgram *p = E->p;
  for (int j = 0; j < E->bufs.n; j++) E->sc.buf_name[E->bufs.ids[j]] = NULL;
  for (int j = 0; j < E->vars.n; j++) E->sc.var_name[E->vars.ids[j]] = NULL;
  lkernel_buffer_uses(k, &E->bufs);
  /* A local that is never read gets a (void) cast: -Wunused-variable would
   * stop a -Werror build of a legal program. */
  lkernel_var_uses(k, &E->vars);
  E->sc.taken = (StrMap){0};
  for (int j = 0; j < E->bufs.n; j++)
    E->sc.buf_name[E->bufs.ids[j]] = scope_unique(E, &E->sc, p->buffers[E->bufs.ids[j]]->name);
  for (int j = 0; j < E->vars.n; j++) {
    const LVar *v = p->vars[E->vars.ids[j]];
    if (v->kind == LVAR_ARG) E->sc.var_name[v->id] = v->name; /* n, seed: checked */
    else E->sc.var_name[v->id] = scope_unique(E, &E->sc, v->name);
  }
}

static void kernel_comment(Emit *E, const LKernel *k) {
  out(E, "/* kernel ");
  comment_text(E, k->name);
  if (k->origin) {
    out(E, ": ");
    comment_text(E, k->origin);
  }
  if (k->loc.file && k->loc.line > 0) {
    out(E, " (");
    comment_text(E, k->loc.file);
    out(E, ":%d:%d)", k->loc.line, k->loc.col);
  }
  out(E, " */\n");
}

/* Parameters: one restrict pointer per buffer (const if only read), in
 * buffer order, then the scalar arguments it uses, in variable order. */
/* One item of a parameter or argument list that wraps before column 100,
 * continuing lines with four spaces. *col is the current column. */
static void list_item(Emit *E, int *col, bool first, const char *item) {
  int len = (int)strlen(item);
  if (first) {
    out(E, "%s", item);
    *col += len;
  } else if (*col + 2 + len > 98) {
    out(E, ",\n    %s", item);
    *col = 4 + len;
  } else {
    out(E, ", %s", item);
    *col += 2 + len;
  }
}

static void kernel_params(Emit *E, int col) {
  const LProgram *p = E->p;
  bool any = false;
  for (int j = 0; j < E->bufs.n; j++) {
    int i = E->bufs.ids[j];
    list_item(E, &col, !any,
              arena_printf(E->arena, "%s%s *restrict %s", E->bufs.b[i] ? "" : "const ",
                           ctype(E, p->buffers[i]->dtype), E->sc.buf_name[i]));
    any = true;
  }
  for (int j = 0; j < E->vars.n; j++) {
    int i = E->vars.ids[j];
    if (p->vars[i]->kind != LVAR_ARG) continue;
    list_item(E, &col, !any,
              arena_printf(E->arena, "%s %s", ctype(E, p->vars[i]->dtype), p->vars[i]->name));
    any = true;
  }
  if (!any) out(E, "void");
}

static void emit_kernel(Emit *E, const LKernel *k) {
  kernel_scope(E, k);
  kernel_comment(E, k);
  out(E, "static void %s(", E->kname[k->id]);
  kernel_params(E, (int)strlen(E->kname[k->id]) + 13);
  out(E, ") {\n");
  block(E, k, k->body, 1);
  out(E, "}\n\n");
}

/* ---- the source ----------------------------------------------------- */

static const char *const helper_text[H_COUNT] = {
    [H_SHL32] = "/* << on the unsigned bits: defined for negative values. */\n"
                "static inline int32_t octo_shl_i32(int32_t a, int32_t s) {\n"
                "  return (int32_t)((uint32_t)a << s);\n}\n",
    [H_SHR32] = "/* Arithmetic >> without relying on implementation-defined behaviour. */\n"
                "static inline int32_t octo_shr_i32(int32_t a, int32_t s) {\n"
                "  return a < 0 ? ~(~a >> s) : a >> s;\n}\n",
    [H_SHL64] = "static inline int64_t octo_shl_i64(int64_t a, int64_t s) {\n"
                "  return (int64_t)((uint64_t)a << s);\n}\n",
    [H_SHR64] = "static inline int64_t octo_shr_i64(int64_t a, int64_t s) {\n"
                "  return a < 0 ? ~(~a >> s) : a >> s;\n}\n",
    [H_MIN32] = "static inline int32_t octo_min_i32(int32_t a, int32_t b) {\n"
                "  return a < b ? a : b;\n}\n",
    [H_MAX32] = "static inline int32_t octo_max_i32(int32_t a, int32_t b) {\n"
                "  return a > b ? a : b;\n}\n",
    [H_MIN64] = "static inline int64_t octo_min_i64(int64_t a, int64_t b) {\n"
                "  return a < b ? a : b;\n}\n",
    [H_MAX64] = "static inline int64_t octo_max_i64(int64_t a, int64_t b) {\n"
                "  return a > b ? a : b;\n}\n",
    [H_MINF] = "static inline float octo_min_f32(float a, float b) { return a < b ? a : b; }\n",
    [H_MAXF] = "static inline float octo_max_f32(float a, float b) { return a > b ? a : b; }\n",
    [H_ABS32] = "/* |INT32_MIN| wraps to INT32_MIN instead of being undefined. */\n"
                "static inline int32_t octo_abs_i32(int32_t a) {\n"
                "  return a < 0 ? (int32_t)(0u - (uint32_t)a) : a;\n}\n",
    [H_ABS64] = "static inline int64_t octo_abs_i64(int64_t a) {\n"
                "  return a < 0 ? (int64_t)(0u - (uint64_t)a) : a;\n}\n",
    [H_HASH] = "/* Counter-based uniform [0,1): splitmix64(key ^ index * golden), top 24 bits. */\n"
               "static inline float octo_hash_uniform(int64_t key, int64_t index) {\n"
               "  uint64_t z = (uint64_t)key ^ ((uint64_t)index * UINT64_C(0x9E3779B97F4A7C15));\n"
               "  z += UINT64_C(0x9E3779B97F4A7C15);\n"
               "  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);\n"
               "  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);\n"
               "  z ^= z >> 31;\n"
               "  return (float)(uint32_t)(z >> 40) * (1.0f / 16777216.0f);\n"
               "}\n",
    [H_MINU32] = "static inline uint32_t octo_min_u32(uint32_t a, uint32_t b) {\n"
                 "  return a < b ? a : b;\n}\n",
    [H_MAXU32] = "static inline uint32_t octo_max_u32(uint32_t a, uint32_t b) {\n"
                 "  return a > b ? a : b;\n}\n",
    [H_SHR_ROUND32] =
        "/* x / 2^s rounded half to even, defined for every x and s: s <= 0 gives x,\n"
        " * s >= 32 gives 0 (|x / 2^s| <= 1/2 then, which rounds to 0). */\n"
        "static inline int32_t octo_shr_round_i32(int32_t x, int32_t s) {\n"
        "  if (s <= 0) return x;\n"
        "  if (s > 31) return 0;\n"
        "  int32_t q = x < 0 ? ~(~x >> s) : x >> s; /* floor(x / 2^s) */\n"
        "  uint32_t r = (uint32_t)x & ((UINT32_C(1) << s) - 1u), half = UINT32_C(1) << (s - 1);\n"
        "  return q + (r > half || (r == half && (q & 1)));\n}\n",
    [H_SHR_ROUND64] =
        "static inline int64_t octo_shr_round_i64(int64_t x, int64_t s) {\n"
        "  if (s <= 0) return x;\n"
        "  if (s > 63) return 0;\n"
        "  int64_t q = x < 0 ? ~(~x >> s) : x >> s;\n"
        "  uint64_t r = (uint64_t)x & ((UINT64_C(1) << s) - 1u), half = UINT64_C(1) << (s - 1);\n"
        "  return q + (r > half || (r == half && (q & 1)));\n}\n",
    [H_CLAMP32] = "static inline int32_t octo_clamp_i32(int32_t x, int32_t lo, int32_t hi) {\n"
                  "  return x < lo ? lo : x > hi ? hi : x;\n}\n",
    [H_CLAMP64] = "static inline int64_t octo_clamp_i64(int64_t x, int64_t lo, int64_t hi) {\n"
                  "  return x < lo ? lo : x > hi ? hi : x;\n}\n",
    [H_CLAMPU32] = "static inline uint32_t octo_clamp_u32(uint32_t x, uint32_t lo, uint32_t hi) {\n"
                   "  return x < lo ? lo : x > hi ? hi : x;\n}\n",
    [H_CLAMPF] = "/* A NaN x stays NaN; a NaN bound bounds nothing. */\n"
                 "static inline float octo_clamp_f32(float x, float lo, float hi) {\n"
                 "  return x < lo ? lo : x > hi ? hi : x;\n}\n",
    [H_DOT4_I8] =
        "/* acc + a[0]*b[0] + ... + a[3]*b[3]: the products and their sum fit an int\n"
        " * (|sum| <= 65536), the accumulation wraps at 32 bits. */\n"
        "static inline int32_t octo_dot4_i8(int32_t acc, const int8_t *a, const int8_t *b) {\n"
        "  int32_t s = a[0] * b[0] + a[1] * b[1] + a[2] * b[2] + a[3] * b[3];\n"
        "  return (int32_t)((uint32_t)acc + (uint32_t)s);\n}\n",
    [H_DOT4_U8I8] =
        "/* The same with unsigned a (|sum| <= 130560). */\n"
        "static inline int32_t octo_dot4_u8i8(int32_t acc, const uint8_t *a, const int8_t *b) {\n"
        "  int32_t s = a[0] * b[0] + a[1] * b[1] + a[2] * b[2] + a[3] * b[3];\n"
        "  return (int32_t)((uint32_t)acc + (uint32_t)s);\n}\n",
    [H_DOT2_I16] =
        "/* acc + a[0]*b[0] + a[1]*b[1] (x86's pmaddwd and an add): each product\n"
        " * fits an int, their sum and the accumulation wrap at 32 bits. */\n"
        "static inline int32_t octo_dot2_i16(int32_t acc, const int16_t *a, const int16_t *b) {\n"
        "  uint32_t s = (uint32_t)(a[0] * b[0]) + (uint32_t)(a[1] * b[1]);\n"
        "  return (int32_t)((uint32_t)acc + s);\n}\n",
    [H_HASH_BITS] =
        "/* octo_hash_uniform's splitmix64, keeping the top 32 bits:\n"
        " * hash_uniform(k, i) == (hash_bits(k, i) >> 8) * 2^-24. */\n"
        "static inline uint32_t octo_hash_bits(int64_t key, int64_t index) {\n"
        "  uint64_t z = (uint64_t)key ^ ((uint64_t)index * UINT64_C(0x9E3779B97F4A7C15));\n"
        "  z += UINT64_C(0x9E3779B97F4A7C15);\n"
        "  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);\n"
        "  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);\n"
        "  z ^= z >> 31;\n"
        "  return (uint32_t)(z >> 32);\n}\n",
    [H_F32_BITS] = "/* The bits of a float, and back (a union: defined behaviour since C99 TC3). */\n"
                   "static inline int32_t octo_f32_bits(float x) {\n"
                   "  union { float f; int32_t i; } u;\n  u.f = x;\n  return u.i;\n}\n",
    [H_BITS_F32] = "static inline float octo_bits_f32(int32_t x) {\n"
                   "  union { float f; int32_t i; } u;\n  u.i = x;\n  return u.f;\n}\n",
    [H_MATH] = NULL,
};

/* The double build's versions of the helpers that mention float. The hash
 * variate is the same number: its 24 bits are exact in either type. */
static const char *const helper_text_double[H_COUNT] = {
    [H_MINF] = "static inline double octo_min_f32(double a, double b) { return a < b ? a : b; }\n",
    [H_MAXF] = "static inline double octo_max_f32(double a, double b) { return a > b ? a : b; }\n",
    [H_CLAMPF] = "/* A NaN x stays NaN; a NaN bound bounds nothing. */\n"
                 "static inline double octo_clamp_f32(double x, double lo, double hi) {\n"
                 "  return x < lo ? lo : x > hi ? hi : x;\n}\n",
    [H_HASH] = "/* Counter-based uniform [0,1): splitmix64(key ^ index * golden), top 24 bits. */\n"
               "static inline double octo_hash_uniform(int64_t key, int64_t index) {\n"
               "  uint64_t z = (uint64_t)key ^ ((uint64_t)index * UINT64_C(0x9E3779B97F4A7C15));\n"
               "  z += UINT64_C(0x9E3779B97F4A7C15);\n"
               "  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);\n"
               "  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);\n"
               "  z ^= z >> 31;\n"
               "  return (double)(uint32_t)(z >> 40) * (1.0 / 16777216.0);\n"
               "}\n",
};

static const char *helper(const Emit *E, Helper h) {
  return E->dbl && helper_text_double[h] ? helper_text_double[h] : helper_text[h];
}

/* octo_sat_T_FROM(x): x clamped to T's range, then converted. Only the
 * comparisons x's class can fail are printed (others would be warned about
 * as always false); from the real type, NaN gives 0, and a value between
 * T's minimum and maximum + 1 (both exact: 0, -2^(b-1) or 2^b) truncates. */
static void print_sat_helper(Emit *E, DType t, SatFrom f) {
  const char *T = ctype(E, t);
  int64_t lo, hi;
  dtype_int_range(t, &lo, &hi);
  if (f == SAT_REAL) {
    const char *R = ctype(E, DT_F32), *sfx = E->dbl ? "" : "f";
    out(E, "static inline %s octo_sat_%s_f32(%s x) {\n  return x != x ? 0 : x <= %.1f%s ? ", T,
        dtype_name(t), R, (double)lo, sfx);
    print_int(E, t, lo);
    out(E, " : x >= %.1f%s ? ", (double)hi + 1.0, sfx);
    print_int(E, t, hi);
    out(E, " : (%s)x;\n}\n", T);
    return;
  }
  DType from = f == SAT_I64 ? DT_I64 : DT_I32;
  int64_t flo, fhi;
  dtype_int_range(from, &flo, &fhi);
  out(E, "static inline %s octo_sat_%s_%s(%s x) {\n  return ", T, dtype_name(t), sat_from_names[f],
      ctype(E, from));
  if (lo > flo) {
    out(E, "x < ");
    print_int(E, from, lo);
    out(E, " ? ");
    print_int(E, t, lo);
    out(E, " : ");
  }
  if (hi < fhi) {
    out(E, "x > ");
    print_int(E, from, hi);
    out(E, " ? ");
    print_int(E, t, hi);
    out(E, " : ");
  }
  out(E, "(%s)x;\n}\n", T);
}

/* What an entry passes for a kernel's buffer parameter. */
static const char *call_arg(Emit *E, EntryKind ek, const LBuffer *b, bool writes) {
  switch (plan_arg_base(E->plan, b)) {
  case AT_X: return "x";
  case AT_Y: return "y";
  case AT_PRED: return ek != ENTRY_PREDICT ? "pred" : E->plan->regression ? "out" : "cls";
  case AT_CONST: return E->const_name[b->id];
  case AT_STATE:
  case AT_WORK: break;
  }
  return arena_printf(E->arena, "(%s%s *)(%s + %lld)", writes ? "" : "const ", ctype(E, b->dtype),
                      b->home == LBUF_STATE ? "st" : "wk", bytes_out(E, b->offset));
}

static void emit_calls(Emit *E, const EntryPlan *e) {
  for (int c = 0; c < e->ncalls; c++) {
    const KernelPlan *kp = e->calls[c].kp;
    const char *name = E->kname[kp->kernel->id];
    bool guard = e->calls[c].only_with_pred;
    out(E, "  %s%s(", guard ? "if (pred) " : "", name);
    int col = (int)strlen(name) + 3 + (guard ? 10 : 0);
    bool any = false;
    for (int i = 0; i < kp->nbufs; i++) {
      list_item(E, &col, !any, call_arg(E, e->kind, kp->bufs[i], kp->writes[i]));
      any = true;
    }
    for (int i = 0; i < kp->nscalars; i++) {
      const LVar *v = kp->scalars[i];
      list_item(E, &col, !any, arena_printf(E->arena, "(%s)%s", ctype(E, v->dtype), v->name));
      any = true;
    }
    out(E, ");\n");
  }
}

/* What the header promises the caller and an entry relies on, checked
 * before anything is touched (a bad argument): state and work aligned to
 * STATE_ALIGN, the other pointers to their element type (strict-alignment
 * cores fault on a misaligned load), and a classifier's labels in
 * 0 .. classes-1 (the loss would read another sample's logits). ptrs: the
 * entry's pointer arguments other than state and work. */
static void emit_arg_checks(Emit *E, const EntryPlan *e, bool work, const char *const *ptrs,
                            int nptrs, const char *fail) {
  const char *items[8];
  int n = 0;
  items[n++] = arena_printf(E->arena, "octo_misaligned(state, %s_STATE_ALIGN)", E->PFX);
  if (work) items[n++] = arena_printf(E->arena, "octo_misaligned(work, %s_STATE_ALIGN)", E->PFX);
  for (int i = 0; i < nptrs && n < 7; i++)
    items[n++] = arena_printf(E->arena, "octo_misaligned(%s, sizeof *%s)", ptrs[i], ptrs[i]);
  if (e->label_classes > 0)
    items[n++] = arena_printf(E->arena, "octo_bad_labels(y, n, %d)", e->label_classes);
  out(E, "  if (%s", items[0]);
  int col = 6 + (int)strlen(items[0]);
  for (int i = 1; i < n; i++) {
    bool wrap = col + 4 + (int)strlen(items[i]) > 96;
    out(E, wrap ? " ||\n      %s" : " || %s", items[i]);
    col = (wrap ? 6 : col + 4) + (int)strlen(items[i]);
  }
  out(E, ")\n    return %s;\n", fail);
}

static void emit_init(Emit *E) {
  const EntryPlan *e = &E->plan->entries[ENTRY_INIT];
  out(E, "int %s_init(void *state, uint64_t seed) {\n", E->pfx);
  out(E, "  if (!state) return -1;\n");
  emit_arg_checks(E, e, false, NULL, 0, "-1");
  out(E, "  memset(state, 0, %s_STATE_BYTES);\n", E->PFX);
  if (e->uses_state) out(E, "  unsigned char *st = (unsigned char *)state;\n");
  if (!e->uses_seed) out(E, "  (void)seed;\n");
  emit_calls(E, e);
  out(E, "  return 0;\n}\n\n");
}

static void emit_train_step(Emit *E) {
  const LProgram *p = E->p;
  const EntryPlan *e = &E->plan->entries[ENTRY_TRAIN_STEP];
  const char *R = ctype(E, DT_F32);
  /* y: class indices, or a regression's float targets; pred likewise. */
  const char *Y = E->plan->regression ? R : "int32_t", *X = ctype(E, E->plan->input_dtype);
  out(E, "%s %s_train_step_pred(void *state, void *work, const %s *x, const %s *y, "
         "int n,\n      %s *pred) {\n", R, E->pfx, X, Y, Y);
  if (e->pred == PRED_SCRATCH)
    out(E, "  %s pred_scratch[%lld];\n", Y, (long long)shape_numel(&p->pred->shape));
  out(E, "  if (!state || (!work && %s_WORK_BYTES > 0) || !x || %sn < 1 || n > %s_BATCH)\n"
         "    return octo_nan();\n", E->PFX, e->y_required ? "!y || " : "", E->PFX);
  const char *ptrs[] = {"x", "y", "pred"};
  emit_arg_checks(E, e, true, ptrs, 3, "octo_nan()");
  switch (e->pred) {
  case PRED_SKIP: break; /* the pred kernels are called under if (pred) */
  case PRED_SCRATCH: out(E, "  if (!pred) pred = pred_scratch;\n"); break;
  case PRED_REQUIRED: out(E, "  if (!pred) return octo_nan();\n"); break;
  case PRED_UNUSED: out(E, "  (void)pred;\n"); break;
  }
  if (e->uses_state) out(E, "  unsigned char *st = (unsigned char *)state;\n");
  if (e->uses_work) out(E, "  unsigned char *wk = (unsigned char *)work;\n");
  if (!e->uses_x) out(E, "  (void)x;\n");
  if (!e->uses_y) out(E, "  (void)y;\n");
  emit_calls(E, e);
  out(E, "  return ((const %s *)(%s + %lld))[0];\n}\n\n", R,
      p->loss->home == LBUF_STATE ? "st" : "wk", bytes_out(E, p->loss->offset));
  out(E, "%s %s_train_step(void *state, void *work, const %s *x, const %s *y, int n) {\n"
         "  return %s_train_step_pred(state, work, x, y, n, NULL);\n}\n\n", R, E->pfx, X, Y, E->pfx);
}

static void emit_predict(Emit *E) {
  const EntryPlan *e = &E->plan->entries[ENTRY_PREDICT];
  bool reg = E->plan->regression;
  /* A classifier's predict writes classes to cls, a regression model's its
   * prediction to out. */
  const char *cls = reg ? "out" : "cls";
  out(E, "int %s_predict(const void *state, void *work, const %s *x, %s *%s, int n) {\n", E->pfx,
      ctype(E, E->plan->input_dtype), reg ? ctype(E, DT_F32) : "int32_t", cls);
  out(E, "  if (!state || (!work && %s_WORK_BYTES > 0) || !x || %sn < 1 || n > %s_BATCH)\n"
         "    return -1;\n", E->PFX, e->uses_pred ? (reg ? "!out || " : "!cls || ") : "", E->PFX);
  const char *ptrs[] = {"x", cls};
  emit_arg_checks(E, e, true, ptrs, 2, "-1");
  /* predict's kernels only read state (checked), so const stays honest. */
  if (e->uses_state) out(E, "  const unsigned char *st = (const unsigned char *)state;\n");
  if (e->uses_work) out(E, "  unsigned char *wk = (unsigned char *)work;\n");
  if (!e->uses_x) out(E, "  (void)x;\n");
  if (!e->uses_pred) out(E, "  (void)%s;\n", cls);
  if (!e->uses_n) out(E, "  (void)n;\n");
  emit_calls(E, e);
  out(E, "  return 0;\n}\n\n");
}

/* Inference on a labelled batch: the summed loss and, for a classifier,
 * the number correct (0 for a regression model). */
static void emit_eval(Emit *E) {
  const ProgramPlan *plan = E->plan;
  const EntryPlan *e = &plan->entries[ENTRY_EVAL];
  if (!e->exists) return;
  const char *R = ctype(E, DT_F32), *Y = plan->regression ? R : "int32_t";
  out(E, "int %s_eval(const void *state, void *work, const %s *x, const %s *y, int n,\n"
         "    %s *loss_sum, int32_t *correct) {\n", E->pfx, ctype(E, plan->input_dtype), Y, R);
  out(E, "  if (!state || (!work && %s_WORK_BYTES > 0) || !x || %s!loss_sum || n < 1 ||\n"
         "      n > %s_BATCH)\n    return -1;\n", E->PFX, e->y_required ? "!y || " : "", E->PFX);
  const char *ptrs[] = {"x", "y", "loss_sum", "correct"};
  emit_arg_checks(E, e, true, ptrs, 4, "-1");
  if (e->uses_state) out(E, "  const unsigned char *st = (const unsigned char *)state;\n");
  if (e->uses_work) out(E, "  unsigned char *wk = (unsigned char *)work;\n");
  if (!e->uses_x) out(E, "  (void)x;\n");
  if (!e->uses_y) out(E, "  (void)y;\n");
  emit_calls(E, e);
  out(E, "  *loss_sum = ((const %s *)(wk + %lld))[0];\n", R,
      bytes_out(E, plan->eval_loss->offset));
  if (plan->eval_correct)
    out(E, "  if (correct) *correct = ((const int32_t *)(wk + %lld))[0];\n",
        bytes_out(E, plan->eval_correct->offset));
  else
    out(E, "  if (correct) *correct = 0;\n");
  out(E, "  return 0;\n}\n\n");
}

/* The epoch the schedule kernels read: a plain store into its state
 * buffer, so the trainer (or any caller) sets it between steps. */
static void emit_set_epoch(Emit *E) {
  if (!E->plan->entries[ENTRY_SET_EPOCH].exists) return;
  out(E, "void %s_set_epoch(void *state, int epoch) {\n"
         "  if (!state || octo_misaligned(state, %s_STATE_ALIGN)) return;\n"
         "  ((int32_t *)((unsigned char *)state + %lld))[0] = (int32_t)epoch;\n}\n\n",
      E->pfx, E->PFX, bytes_out(E, E->p->epoch->offset));
}

/* The CONST buffers the called kernels read become file-scope arrays,
 * PREFIX_const_NAME (an unused static const would be a warning), printed
 * to E->consts before the kernels refer to them. */
static void emit_consts(Emit *E) {
  const LProgram *p = E->p;
  bool *used = arena_alloc(p->arena, (size_t)p->nbuffers + 1);
  for (int i = 0; i < E->plan->nkernels; i++) {
    const KernelPlan *kp = &E->plan->kernels[i];
    for (int b = 0; b < kp->nbufs; b++) used[kp->bufs[b]->id] |= kp->reads[b];
  }
  size_t len = 0;
  FILE *saved = E->out;
  E->out = open_memstream(&E->consts, &len);
  if (!E->out) {
    E->out = saved;
    fail(E, NULL, "cannot open a memory stream");
    return;
  }
  Scope names = {0};
  for (int i = 0; i < p->nbuffers; i++) {
    const LBuffer *b = p->buffers[i];
    if (b->home != LBUF_CONST || !used[i]) continue;
    int64_t n = shape_numel(&b->shape);
    E->const_name[i] =
        scope_unique(E, &names, arena_printf(E->arena, "%s_const_%s", E->pfx, b->name));
    out(E, "/* constant buffer ");
    comment_text(E, b->name);
    out(E, " */\nstatic const %s %s[%lld] = {", ctype(E, b->dtype), E->const_name[i],
        (long long)(n > 0 ? n : 1));
    for (int64_t j = 0; j < n; j++) {
      out(E, j % 8 ? " " : "\n  ");
      if (b->dtype == DT_F32) print_f32(E, lconst_f32(b, j));
      else print_int(E, b->dtype, lconst_int(b, j));
      out(E, ",");
    }
    out(E, n > 0 ? "\n};\n" : "0};\n");
  }
  if (fclose(E->out) != 0) fail(E, NULL, "memory stream error");
  E->out = saved;
  if (len == 0) {
    free(E->consts);
    E->consts = NULL;
  }
}

/* Kernel function names: prefix_k_name, made unique. Only called kernels
 * are printed (an unused static function would be a warning), but every
 * kernel is named, so the names do not depend on which are called. */
static void name_kernels(Emit *E) {
  const LProgram *p = E->p;
  Scope names = {0};
  for (int i = 0; i < p->nkernels; i++)
    E->kname[i] =
        scope_unique(E, &names, arena_printf(E->arena, "%s_k_%s", E->pfx, p->kernels[i]->name));
}

static void emit_source(Emit *E, FILE *c_out, const char *header, const char *kernels) {
  E->out = c_out;
  out(E, "/* %s.c: the trainer of model '", E->pfx);
  comment_text(E, E->p->name);
  out(E, "', generated by octoc. Do not edit.\n"
         " * C99, freestanding apart from string.h and math.h: no heap, no mutable\n"
         " * static data; all memory is the caller's. See ");
  comment_text(E, header);
  out(E, " for the API. */\n");
  if (E->need[H_MATH]) out(E, "#include <math.h>\n");
  out(E, "#include <stddef.h>\n#include <stdint.h>\n#include <string.h>\n\n#include ");
  cstring(E, header);
  out(E, "\n\n");
  out(E, "/* Loop-IR floating point is IEEE binary32 with every operation rounded as\n"
         " * written (docs/loops.md): no a*b+c may become a fused multiply-add, whatever\n"
         " * the flags this file is built with. clang honours the C99 pragma; gcc\n"
         " * ignores it (and fuses by default in GNU C) but honours its own. */\n"
         "#if defined(__clang__)\n#pragma STDC FP_CONTRACT OFF\n#elif defined(__GNUC__)\n"
         "#pragma GCC optimize(\"fp-contract=off\")\n#endif\n\n");
  out(E, "/* Loop hints are requests: clang must not fail the build on a loop it\n"
         " * could not vectorise. */\n#if defined(__clang__)\n"
         "#pragma clang diagnostic ignored \"-Wpass-failed\"\n#endif\n\n");
  if (E->dbl)
    out(E, "/* NAN without <math.h>, for integer-only trainers. */\n"
           "static double octo_nan(void) {\n  uint64_t bits = UINT64_C(0x7ff8000000000000);\n"
           "  double f;\n  memcpy(&f, &bits, sizeof f);\n  return f;\n}\n\n");
  else
    out(E, "/* NAN without <math.h>, for integer-only trainers. */\n"
           "static float octo_nan(void) {\n  uint32_t bits = UINT32_C(0x7fc00000);\n  float f;\n"
           "  memcpy(&f, &bits, sizeof f);\n  return f;\n}\n\n");
  out(E, "/* Whether p is not a multiple of align bytes (NULL is aligned). */\n"
         "static inline int octo_misaligned(const void *p, size_t align) {\n"
         "  return (uintptr_t)p %% align != 0;\n}\n\n");
  if (E->plan->entries[ENTRY_TRAIN_STEP].label_classes > 0 ||
      E->plan->entries[ENTRY_EVAL].label_classes > 0)
    out(E, "/* Whether a label of y[0..n) is not a class (0 .. classes-1). */\n"
           "static inline int octo_bad_labels(const int32_t *y, int n, int32_t classes) {\n"
           "  for (int i = 0; i < n; i++)\n"
           "    if (y[i] < 0 || y[i] >= classes) return 1;\n"
           "  return 0;\n}\n\n");
  for (int h = 0; h < H_COUNT; h++)
    if (E->need[h] && helper(E, h)) out(E, "%s", helper(E, h));
  for (int t = 0; t < DT_COUNT; t++)
    for (int f = 0; f < SAT_COUNT; f++)
      if (E->need_sat[t][f]) print_sat_helper(E, (DType)t, (SatFrom)f);
  if (E->consts) out(E, "\n%s", E->consts);
  out(E, "\nconst %s_tensor_info %s_tensors[] = {\n", E->pfx, E->pfx);
  api_write_tensor_rows(E->out, E->plan, false, E->dbl);
  out(E, "  {NULL, 0, 0, 0, {0, 0, 0, 0, 0, 0}, 0, 0},\n};\n\n");
  fputs(kernels, c_out);
}

static void emit_init_state(Emit *E, const ProgramPlan *plan, const EmitOptions *o) {
  const LProgram *p = plan->p;
  memset(E, 0, sizeof *E);
  E->p = p;
  E->plan = plan;
  E->arena = p->arena;
  E->err = o && o->errors ? o->errors : stderr;
  E->ok = true;
  E->dbl = o && o->real_double;
  E->pfx = plan->prefix;
  E->PFX = plan->PREFIX;
  E->sc.buf_name = arena_alloc(p->arena, (size_t)(p->nbuffers + 1) * sizeof(char *));
  E->sc.var_name = arena_alloc(p->arena, (size_t)(p->nvars + 1) * sizeof(char *));
  E->kname = arena_alloc(p->arena, (size_t)(p->nkernels + 1) * sizeof(char *));
  E->const_name = arena_alloc(p->arena, (size_t)(p->nbuffers + 1) * sizeof(char *));
  luses_init(&E->bufs, p->nbuffers);
  luses_init(&E->vars, p->nvars);
}

/* The C backend's part: NAME.c, the kernels and entries of the plan. */
static bool emit_code(const ProgramPlan *plan, const EmitOptions *o, FILE *c_out) {
  Emit E;
  emit_init_state(&E, plan, o);
  const char *header =
      o && o->header_name ? o->header_name : arena_printf(E.arena, "%s.h", E.pfx);
  name_kernels(&E);
  emit_consts(&E);
  if (!E.ok) {
    luses_free(&E.bufs);
    luses_free(&E.vars);
    return false;
  }
  /* Kernels and entries go to memory first: they decide which helpers and
   * headers the prologue needs. */
  char *text = NULL;
  size_t len = 0;
  E.out = open_memstream(&text, &len);
  if (!E.out) {
    fail(&E, NULL, "cannot open a memory stream");
    free(E.consts);
    luses_free(&E.bufs);
    luses_free(&E.vars);
    return false;
  }
  for (int i = 0; i < plan->nkernels && E.ok; i++) emit_kernel(&E, plan->kernels[i].kernel);
  luses_free(&E.bufs);
  luses_free(&E.vars);
  if (E.ok) {
    emit_init(&E);
    emit_train_step(&E);
    emit_predict(&E);
    emit_eval(&E);
    emit_set_epoch(&E);
  }
  if (fclose(E.out) != 0) fail(&E, NULL, "memory stream error");
  if (E.ok) {
    emit_source(&E, c_out, header, text);
    if (fflush(c_out) != 0 || ferror(c_out)) fail(&E, NULL, "write error: %s", strerror(errno));
  }
  free(text);
  free(E.consts);
  return E.ok;
}

const Backend c_backend = {"C", ".c", emit_code};

bool c_emit(const LProgram *p, const EmitOptions *o, FILE *c_out, FILE *h_out) {
  ProgramPlan plan;
  FILE *err = o && o->errors ? o->errors : stderr;
  if (!plan_build(&plan, p, "C backend", err) || !emit_code(&plan, o, c_out)) return false;
  if (!api_write_header(h_out, &plan, o)) {
    fprintf(err, "octoc: error: C backend: write error: %s\n", strerror(errno));
    return false;
  }
  return true;
}

bool c_emit_main(const LProgram *p, const EmitOptions *o, FILE *out) {
  ProgramPlan plan;
  return plan_build(&plan, p, "C backend", o && o->errors ? o->errors : stderr) &&
         api_write_main(out, &plan, o);
}
