/* The C backend: prints a loop-IR program as a C99 trainer (NAME.c, NAME.h,
 * and optionally NAME_main.c for the standalone trainer).
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

#include "fnv.h"

/* Helpers a kernel may call; each is printed only if used (an unused static
 * function would be a warning under some compilers). */
typedef enum {
  H_SHL32, H_SHR32, H_SHL64, H_SHR64,
  H_MIN32, H_MAX32, H_MIN64, H_MAX64, H_MINF, H_MAXF,
  H_ABS32, H_ABS64, H_HASH,
  H_MINU32, H_MAXU32, H_SHR_ROUND32, H_SHR_ROUND64,
  H_CLAMP32, H_CLAMP64, H_CLAMPU32, H_CLAMPF, H_DOT4_I8, H_DOT4_U8I8, H_HASH_BITS,
  H_MATH, H_COUNT
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
    [H_HASH_BITS] = "octo_hash_bits",
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
  const char **taken;
  int ntaken, cap_taken;
} Scope;

typedef struct Emit {
  const LProgram *p;
  Arena *arena;
  FILE *out;
  FILE *err;
  const char *pfx; /* C identifier prefix: lenet5 */
  const char *PFX; /* macro prefix: LENET5 */
  bool dbl;        /* --emit-real=double: f32 printed as double, bytes doubled */
  float in_mean, in_std; /* the recipe's input normalisation */
  bool ok;
  bool need[H_COUNT];
  bool need_sat[DT_COUNT][SAT_COUNT];
  const char **const_name; /* per buffer id: the C array of a CONST buffer */
  char *consts;            /* their definitions, printed before the prologue */
  const char **kname; /* per kernel id: emitted function name */
  Scope sc;
  bool *reads, *writes; /* scratch for lkernel_accesses */
  bool *var_used;       /* scratch: variables a kernel mentions */
  bool *var_read;       /* scratch: variables an expression of the kernel reads */
  /* pred is f32: a regression model. y and pred are floats, and predict
   * writes the prediction itself, not a class (docs/c-backend.md). */
  bool reg;
  /* Regression train_step: the kernels that only fill pred are skipped when
   * pred is NULL, instead of writing to a stack scratch the size of the
   * whole prediction (set by emit_train_step when that is possible). */
  bool pred_guard;
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

/* A C string literal; names may hold any byte (the loop IR text quotes them). */
static void cstring(Emit *E, const char *s) {
  fputc('"', E->out);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') fprintf(E->out, "\\%c", c);
    else if (c < 32 || c >= 127) fprintf(E->out, "\\%03o", c);
    else fputc(c, E->out);
  }
  fputc('"', E->out);
}

/* Text inside a comment: no line breaks, no comment end, no trigraphs. */
static void comment_text(Emit *E, const char *s) {
  for (; *s; s++) {
    if (s[0] == '*' && s[1] == '/') fputs("* ", E->out);
    else if (s[0] == '?' && s[1] == '?') fputs("? ", E->out);
    else fputc((unsigned char)*s < 32 ? ' ' : *s, E->out);
  }
}

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
    "octo_hash_bits",
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

static bool is_ident_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* A C identifier from any name: other characters become '_', and a name
 * that would start with a digit or '_' (reserved forms) gets a 'v'. */
static char *c_ident(Arena *a, const char *s) {
  if (!s || !*s) s = "v";
  size_t len = strlen(s);
  char *r = arena_alloc(a, len + 2);
  size_t j = 0;
  if ((s[0] >= '0' && s[0] <= '9') || s[0] == '_') r[j++] = 'v';
  for (size_t i = 0; i < len; i++) r[j++] = is_ident_char(s[i]) ? s[i] : '_';
  r[j] = 0;
  return r;
}

static bool scope_taken(const Scope *sc, const char *s) {
  for (int i = 0; i < sc->ntaken; i++)
    if (strcmp(sc->taken[i], s) == 0) return true;
  return false;
}

static void scope_take(Emit *E, Scope *sc, const char *s) {
  if (sc->ntaken == sc->cap_taken) {
    int nc = sc->cap_taken ? sc->cap_taken * 2 : 32;
    sc->taken = arena_grow(E->arena, sc->taken, (size_t)sc->cap_taken * sizeof(char *),
                           (size_t)nc * sizeof(char *));
    sc->cap_taken = nc;
  }
  sc->taken[sc->ntaken++] = s;
}

/* `base`, or `base_2`, `base_3`, ... whichever is free and not reserved. */
static const char *scope_unique(Emit *E, Scope *sc, const char *name) {
  const char *base = c_ident(E->arena, name);
  const char *s = base;
  for (int k = 2; is_reserved(s) || scope_taken(sc, s); k++)
    s = arena_printf(E->arena, "%s_%d", base, k);
  scope_take(E, sc, s);
  return s;
}

const char *c_prefix(const LProgram *p) { return c_ident(p->arena, p->name); }

static const char *upper(Arena *a, const char *s) {
  char *r = arena_strdup(a, s);
  for (char *c = r; *c; c++)
    if (*c >= 'a' && *c <= 'z') *c = (char)(*c - 'a' + 'A');
  return r;
}

/* ---- types and constants ------------------------------------------- */

static const char *ctype(const Emit *E, DType t) {
  switch (t) {
  case DT_F32: return E->dbl ? "double" : "float";
  case DT_I8: return "int8_t";
  case DT_I16: return "int16_t";
  case DT_I32: return "int32_t";
  case DT_I64: return "int64_t";
  case DT_U8: return "uint8_t";
  case DT_U16: return "uint16_t";
  case DT_U32: return "uint32_t";
  default: return "?";
  }
}

/* A planned byte offset or size as printed: doubled in a double build, so
 * every f32 buffer has room for its doubles and the plan's disjointness and
 * alignment carry over (integer buffers just get spare room). */
static long long bytes_out(const Emit *E, int64_t v) { return (long long)(E->dbl ? 2 * v : v); }

/* Types narrower than int: C computes in int, the IR wraps to the type. */
static bool is_narrow(DType t) {
  return t == DT_I8 || t == DT_I16 || t == DT_U8 || t == DT_U16;
}

static const char *use_helper(Emit *E, Helper h) {
  E->need[h] = true;
  return helper_names[h];
}

static void print_f32(Emit *E, float f) {
  if (isnan(f)) {
    E->need[H_MATH] = true;
    out(E, "NAN");
    return;
  }
  if (isinf(f)) {
    E->need[H_MATH] = true;
    out(E, f < 0 ? "(-INFINITY)" : "INFINITY");
    return;
  }
  /* %.9g round-trips every float exactly. A double build keeps the float's
   * exact value (the same program, only computed wider): the shortest %g
   * that reads back as that double. */
  char buf[48];
  snprintf(buf, sizeof buf, "%.9g", (double)f);
  for (int prec = 10; E->dbl && strtod(buf, NULL) != (double)f && prec <= 17; prec++)
    snprintf(buf, sizeof buf, "%.*g", prec, (double)f);
  bool has_point = strpbrk(buf, ".e") != NULL;
  const char *suffix = E->dbl ? "" : "f";
  if (signbit(f)) out(E, "(%s%s%s)", buf, has_point ? "" : ".0", suffix);
  else out(E, "%s%s%s", buf, has_point ? "" : ".0", suffix);
}

static void print_int(Emit *E, DType t, int64_t v) {
  if (t == DT_U32) {
    /* unsigned int: a large decimal would otherwise be a long and widen
     * the arithmetic around it. */
    out(E, "%lldu", (long long)v);
  } else if (t == DT_I64) {
    if (v == INT64_MIN) out(E, "(-INT64_C(9223372036854775807) - 1)");
    else if (v < 0) out(E, "(INT64_C(%lld))", (long long)v);
    else out(E, "INT64_C(%lld)", (long long)v);
  } else if (v == INT32_MIN) {
    out(E, "(-2147483647 - 1)");
  } else if (v < 0) {
    out(E, "(%lld)", (long long)v);
  } else {
    out(E, "%lld", (long long)v);
  }
}

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

/* A dot4 operand: the address of the 4 elements its load starts at. */
static void group_ptr(Emit *E, const LKernel *k, const LExpr *load) {
  if (!load || load->kind != LE_LOAD) {
    fail(E, k, "a dot4 operand is not a load");
    return;
  }
  out(E, "&%s[", E->sc.buf_name[load->buf->id]);
  expr(E, k, load->a);
  out(E, "]");
}

static void dot4(Emit *E, const LKernel *k, const LExpr *e, Helper h) {
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
  case LI_POW: call2(E, k, mathfn(E, "pow"), e->a, e->b); return;
  case LI_HASH_UNIFORM:
    E->need[H_HASH] = true;
    call2(E, k, "octo_hash_uniform", e->a, e->b);
    return;
  case LI_SAT_CAST: sat_cast(E, k, e); return;
  case LI_SHR_ROUND:
    call2(E, k, use_helper(E, e->type == DT_I64 ? H_SHR_ROUND64 : H_SHR_ROUND32), e->a, e->b);
    return;
  case LI_CLAMP: clamp(E, k, e); return;
  case LI_DOT4_I8: dot4(E, k, e, H_DOT4_I8); return;
  case LI_DOT4_U8I8: dot4(E, k, e, H_DOT4_U8I8); return;
  case LI_HASH_BITS: call2(E, k, use_helper(E, H_HASH_BITS), e->a, e->b); return;
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
    if (!E->var_read[s->var->id]) {
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

static void mark_vars_expr(bool *used, const LExpr *e) {
  if (!e) return;
  if (e->kind == LE_VAR) used[e->var->id] = true;
  mark_vars_expr(used, e->a);
  mark_vars_expr(used, e->b);
  mark_vars_expr(used, e->c);
}

/* Every variable a statement list mentions (declared, assigned or read). */
static void mark_vars(bool *used, const LStmt *s) {
  for (; s; s = s->next) {
    if (s->var) used[s->var->id] = true;
    mark_vars_expr(used, s->lo);
    mark_vars_expr(used, s->hi);
    mark_vars_expr(used, s->value);
    mark_vars_expr(used, s->index);
    mark_vars_expr(used, s->cond);
    mark_vars(used, s->body);
    mark_vars(used, s->else_body);
  }
}

/* Only the variables read in expressions: a local that is never read gets
 * a (void) cast, since -Wunused-variable would stop a -Werror build of a
 * legal program. */
static void mark_reads(bool *read, const LStmt *s) {
  for (; s; s = s->next) {
    mark_vars_expr(read, s->lo);
    mark_vars_expr(read, s->hi);
    mark_vars_expr(read, s->value);
    mark_vars_expr(read, s->index);
    mark_vars_expr(read, s->cond);
    mark_reads(read, s->body);
    mark_reads(read, s->else_body);
  }
}

/* Fills E->reads/writes/var_used for kernel k and names its buffers and
 * variables in E->sc. */
static void kernel_scope(Emit *E, const LKernel *k) {
  const LProgram *p = E->p;
  lkernel_accesses(p, k, E->reads, E->writes);
  memset(E->var_used, 0, (size_t)p->nvars * sizeof(bool));
  memset(E->var_read, 0, (size_t)p->nvars * sizeof(bool));
  mark_vars(E->var_used, k->body);
  mark_reads(E->var_read, k->body);
  E->sc.ntaken = 0;
  for (int i = 0; i < p->nbuffers; i++)
    E->sc.buf_name[i] =
        E->reads[i] || E->writes[i] ? scope_unique(E, &E->sc, p->buffers[i]->name) : NULL;
  for (int i = 0; i < p->nvars; i++) {
    const LVar *v = p->vars[i];
    if (!E->var_used[i]) E->sc.var_name[i] = NULL;
    else if (v->kind == LVAR_ARG) E->sc.var_name[i] = v->name; /* n, seed: checked */
    else E->sc.var_name[i] = scope_unique(E, &E->sc, v->name);
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
  for (int i = 0; i < p->nbuffers; i++) {
    if (!E->sc.buf_name[i]) continue;
    list_item(E, &col, !any,
              arena_printf(E->arena, "%s%s *restrict %s", E->writes[i] ? "" : "const ",
                           ctype(E, p->buffers[i]->dtype), E->sc.buf_name[i]));
    any = true;
  }
  for (int i = 0; i < p->nvars; i++) {
    if (!E->var_used[i] || p->vars[i]->kind != LVAR_ARG) continue;
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

/* ---- checks --------------------------------------------------------- */

static int64_t buffer_bytes(const LBuffer *b) {
  int64_t n = shape_numel(&b->shape);
  return n < 0 ? -1 : n * (int64_t)dtype_size(b->dtype);
}

/* A buffer touched in an entry must be placed and visible to that entry. */
static void check_buffer(Emit *E, const LKernel *k, LEntryKind ek, const LBuffer *b, bool writes) {
  const LProgram *p = E->p;
  if (b->home == LBUF_CONST) {
    if (writes) fail(E, k, "writes the constant buffer %%%s", b->name);
    else if (!b->data || buffer_bytes(b) < 0)
      fail(E, k, "constant buffer %%%s has no known shape or no values", b->name);
    return;
  }
  if (b->home == LBUF_ARG) {
    if (b != p->input && b != p->label && b != p->pred)
      fail(E, k, "ARG buffer %%%s is not the program's input, label or pred", b->name);
    else if (ek == LENTRY_INIT)
      fail(E, k, "init uses ARG buffer %%%s (init has no batch arguments)", b->name);
    else if (ek == LENTRY_PREDICT && b == p->label)
      fail(E, k, "predict reads the labels %%%s", b->name);
    else if (writes && b != p->pred)
      fail(E, k, "writes the read-only argument %%%s", b->name);
    return;
  }
  int64_t bytes = buffer_bytes(b);
  int64_t limit = b->home == LBUF_STATE ? p->state_bytes : p->work_bytes;
  if (bytes < 0 || b->offset < 0 || b->offset + bytes > limit)
    fail(E, k, "buffer %%%s is not planned inside its block (offset %lld, %lld bytes, block %lld)",
         b->name, (long long)b->offset, (long long)bytes, (long long)limit);
  if (b->offset % (int64_t)dtype_size(b->dtype) != 0)
    fail(E, k, "buffer %%%s offset %lld is not aligned for %s", b->name, (long long)b->offset,
         dtype_name(b->dtype));
  if (ek == LENTRY_INIT && b->home == LBUF_WORK)
    fail(E, k, "init uses work buffer %%%s (init has no work arena)", b->name);
  if (ek == LENTRY_PREDICT && b->home == LBUF_STATE && writes)
    fail(E, k, "predict writes state buffer %%%s", b->name);
}

static void check_call(Emit *E, LEntryKind ek, const LKernel *k) {
  const LProgram *p = E->p;
  kernel_scope(E, k);
  for (int i = 0; i < p->nbuffers; i++)
    if (E->reads[i] || E->writes[i]) check_buffer(E, k, ek, p->buffers[i], E->writes[i]);
  for (int i = 0; i < p->nvars; i++) {
    const LVar *v = p->vars[i];
    if (!E->var_used[i] || v->kind != LVAR_ARG) continue;
    bool is_n = strcmp(v->name, "n") == 0, is_seed = strcmp(v->name, "seed") == 0;
    if (!is_n && !is_seed) fail(E, k, "unknown scalar argument '%s'", v->name);
    else if (is_n && ek == LENTRY_INIT) fail(E, k, "init has no argument 'n'");
    else if (is_seed && ek != LENTRY_INIT) fail(E, k, "only init has the argument 'seed'");
    else if (v->dtype == DT_F32) fail(E, k, "scalar argument '%s' is not an integer", v->name);
  }
}

/* An ARG buffer of known shape whose first dimension is the batch. */
static bool batch_shaped(const LProgram *p, const LBuffer *b) {
  return b->home == LBUF_ARG && b->shape.rank >= 1 && shape_known(&b->shape) &&
         b->shape.dim[0] == p->batch;
}

/* The two kinds of program: a classifier (label i32 [batch] class indices,
 * pred i32 [batch] classes) and a regression model (label f32 [batch, ...]
 * or none, pred f32 [batch, ...]: the prediction itself). pred's dtype
 * decides the kind; the label must agree with it. */
static void check_targets(Emit *E) {
  const LProgram *p = E->p;
  const LBuffer *y = p->label, *pr = p->pred;
  if (y && (y->home != LBUF_ARG || (y->dtype != DT_I32 && y->dtype != DT_F32)))
    fail(E, NULL, "label %%%s must be an ARG buffer: i32 [batch] class indices or f32 "
         "[batch, ...] targets", y->name);
  else if (y && y->dtype == DT_F32 && !E->reg)
    fail(E, NULL, "label %%%s holds float targets, so pred must be an f32 [batch, ...] "
         "ARG buffer (the prediction), not %s", y->name, pr ? dtype_name(pr->dtype) : "absent");
  else if (y && y->dtype == DT_I32 && E->reg)
    fail(E, NULL, "label %%%s holds class indices, so pred must be an i32 [batch] ARG "
         "buffer (the classes), not f32", y->name);
  else if (y && y->dtype == DT_F32 && !batch_shaped(p, y))
    fail(E, NULL, "float label %%%s needs a known shape [%d, ...] (the batch first)", y->name,
         p->batch);
  if (pr && (pr->home != LBUF_ARG || (pr->dtype != DT_I32 && pr->dtype != DT_F32)))
    fail(E, NULL, "pred %%%s must be an ARG buffer: i32 [batch] classes or f32 [batch, ...] "
         "predictions", pr->name);
  else if (E->reg && !batch_shaped(p, pr))
    fail(E, NULL, "pred %%%s needs a known shape [%d, ...] (the batch first)", pr->name,
         p->batch);
  else if (pr && pr->optional && buffer_bytes(pr) < 0)
    fail(E, NULL, "optional pred %%%s needs a known shape for its scratch", pr->name);
}

static void check_program(Emit *E) {
  const LProgram *p = E->p;
  for (int ek = 0; ek < LENTRY_COUNT; ek++)
    for (int c = 0; c < p->entries[ek].ncalls; c++)
      check_call(E, (LEntryKind)ek, p->entries[ek].calls[c]);
  if (p->input && (p->input->dtype != DT_F32 || p->input->home != LBUF_ARG))
    fail(E, NULL, "input %%%s must be an f32 ARG buffer", p->input->name);
  check_targets(E);
  if (!p->loss) {
    fail(E, NULL, "the program has no loss buffer");
  } else if (p->loss->dtype != DT_F32 || p->loss->home == LBUF_ARG) {
    fail(E, NULL, "loss %%%s must be an f32 state or work buffer", p->loss->name);
  } else {
    check_buffer(E, NULL, LENTRY_TRAIN_STEP, p->loss, false);
  }
  if (p->epoch && (p->epoch->dtype != DT_I32 || p->epoch->home != LBUF_STATE))
    fail(E, NULL, "epoch %%%s must be an i32 state buffer", p->epoch->name);
  else if (p->epoch)
    check_buffer(E, NULL, LENTRY_TRAIN_STEP, p->epoch, false);
  if (p->batch < 1) fail(E, NULL, "batch %d is not positive", p->batch);
  if (p->input && (p->input->shape.rank < 1 || !shape_known(&p->input->shape)))
    fail(E, NULL, "input %%%s needs a known shape with a batch dimension", p->input->name);
  for (int i = 0; i < p->nbuffers; i++)
    if (p->buffers[i]->home == LBUF_STATE && buffer_bytes(p->buffers[i]) < 0)
      fail(E, NULL, "state buffer %%%s has no known shape", p->buffers[i]->name);
}

/* ---- the header ----------------------------------------------------- */

/* A double build's state is not a float build's: its NAME_HASH differs, so
 * no checkpoint passes from one to the other. */
static uint64_t emitted_hash(const Emit *E) {
  uint64_t h = lprog_hash(E->p);
  if (!E->dbl) return h;
  static const char tag[] = "real=double";
  return fnv1a_bytes(h, tag, sizeof tag - 1);
}

/* OctoTensorKind numbering (runtime/octo_runtime.h): PARAM 0, OPTIM 1,
 * BUFFER 2, INTERNAL 3. A state buffer without a role counts as internal. */
static int tensor_role(LBufRole r) {
  switch (r) {
  case LROLE_PARAM: return 0;
  case LROLE_OPTIM: return 1;
  case LROLE_BUFFER: return 2;
  default: return 3;
  }
}

static const char *const role_enum[] = {"OCTO_TENSOR_PARAM", "OCTO_TENSOR_OPTIM",
                                        "OCTO_TENSOR_BUFFER", "OCTO_TENSOR_INTERNAL"};
static const char *const dtype_enum[DT_COUNT] = {"OCTO_F32", "OCTO_I8",  "OCTO_I16",
                                                  "OCTO_I32", "OCTO_I64", "OCTO_U8",
                                                  "OCTO_U16", "OCTO_U32"};

/* State buffers in offset order: the tensor table. */
static int state_tensors(const LProgram *p, const LBuffer **list) {
  int n = 0;
  for (int i = 0; i < p->nbuffers; i++)
    if (p->buffers[i]->home == LBUF_STATE) list[n++] = p->buffers[i];
  for (int i = 1; i < n; i++) /* insertion sort: stable, tables are small */
    for (int j = i; j > 0 && list[j - 1]->offset > list[j]->offset; j--) {
      const LBuffer *t = list[j];
      list[j] = list[j - 1];
      list[j - 1] = t;
    }
  return n;
}

static void print_tensor_row(Emit *E, const LBuffer *b, bool octo_names) {
  int role = tensor_role(b->role);
  out(E, "  {");
  cstring(E, b->name);
  out(E, ", ");
  if (octo_names) out(E, "%s, %s, ", dtype_enum[b->dtype], role_enum[role]);
  else out(E, "%d, %d, ", (int)b->dtype, role);
  out(E, "%d, {", b->shape.rank);
  for (int d = 0; d < MAX_RANK; d++)
    out(E, "%s%lld", d ? ", " : "", (long long)(d < b->shape.rank ? b->shape.dim[d] : 0));
  out(E, "}, %lld, %lld},\n", bytes_out(E, b->offset), bytes_out(E, buffer_bytes(b)));
}

/* Elements per sample of a batch-shaped buffer (its shape without dim 0). */
static int64_t sample_numel(const LBuffer *b) {
  int64_t n = 1;
  for (int d = 1; d < b->shape.rank; d++) n *= b->shape.dim[d];
  return n;
}

/* A regression model's target and output sizes (checked batch-shaped). */
static void emit_sizes(Emit *E) {
  const LProgram *p = E->p;
  const char *P = E->PFX;
  const LBuffer *y = p->label;
  int rank = y ? y->shape.rank - 1 : 0;
  out(E, "/* Regression: y holds %s_LABEL_SIZE floats per sample (one target of shape\n"
         " * %s_LABEL_SHAPE; 0: the model has no label, y is unused and may be NULL),\n"
         " * predict and train_step_pred write %s_OUTPUT_SIZE floats per sample. */\n",
      P, P, P);
  out(E, "#define %s_LABEL_RANK %d\n#define %s_LABEL_SHAPE {", P, rank, P);
  for (int d = 0; d < rank; d++) out(E, "%s%lld", d ? ", " : "", (long long)y->shape.dim[d + 1]);
  out(E, "%s}\n", rank ? "" : "0");
  out(E, "#define %s_LABEL_SIZE %lld\n", P, (long long)(y ? sample_numel(y) : 0));
  out(E, "#define %s_OUTPUT_SIZE %lld\n", P, (long long)sample_numel(p->pred));
}

/* The classifier's entries: int32 class indices in y, classes out. */
static void emit_classifier_api(Emit *E) {
  const char *P = E->PFX, *f = E->pfx, *R = ctype(E, DT_F32);
  out(E, "/* One training step on n samples: the mean loss, or NAN for bad arguments\n"
         " * (a NULL pointer, n outside 1..%s_BATCH). _pred also writes each sample's\n"
         " * predicted class (before the update) to pred, unless pred is NULL. */\n", P);
  out(E, "%s %s_train_step(void *state, void *work, const %s *x, const int32_t *y, "
         "int n);\n", R, f, R);
  out(E, "%s %s_train_step_pred(void *state, void *work, const %s *x, const int32_t *y, "
         "int n,\n"
         "      int32_t *pred);\n", R, f, R);
  out(E, "/* Classes of n samples into cls; the state is only read. 0, or -1 for bad "
         "arguments. */\n");
  out(E, "int %s_predict(const void *state, void *work, const %s *x, int32_t *cls, "
         "int n);\n", f, R);
}

/* The regression entries: float targets in y, the prediction out. */
static void emit_regression_api(Emit *E) {
  const char *P = E->PFX, *f = E->pfx, *R = ctype(E, DT_F32);
  out(E, "/* One training step on n samples: the mean loss, or NAN for bad arguments\n"
         " * (a NULL pointer%s, n outside 1..%s_BATCH). _pred also writes each\n"
         " * sample's prediction (before the update; %s_OUTPUT_SIZE %ss) to pred,\n"
         " * unless pred is NULL. */\n", E->p->label ? "" : " other than y", P, P, R);
  out(E, "%s %s_train_step(void *state, void *work, const %s *x, const %s *y, int n);\n", R, f,
      R, R);
  out(E, "%s %s_train_step_pred(void *state, void *work, const %s *x, const %s *y, int n,\n"
         "      %s *pred);\n", R, f, R, R, R);
  out(E, "/* Predictions of n samples into out (n x %s_OUTPUT_SIZE %ss); the state is\n"
         " * only read. 0, or -1 for bad arguments. */\n", P, R);
  out(E, "int %s_predict(const void *state, void *work, const %s *x, %s *out, int n);\n", f, R,
      R);
}

static void emit_header(Emit *E, int ntensors) {
  const LProgram *p = E->p;
  const char *P = E->PFX, *f = E->pfx, *R = ctype(E, DT_F32);
  out(E, "/* %s.h: the trainer API of model '", f);
  comment_text(E, p->name);
  out(E, "', generated by octoc. Do not edit.\n");
  out(E, " *\n"
         " * Memory is the caller's: a state block of %s_STATE_BYTES (parameters and\n"
         " * optimizer state, kept between calls) and a work arena of %s_WORK_BYTES\n"
         " * (one call's scratch), both aligned to %s_STATE_ALIGN bytes and never\n"
         " * shared between two threads at once. x holds n samples of\n"
         " * %s_INPUT_SIZE %ss, ", P, P, P, P, R);
  if (!E->reg)
    out(E, "y n class indices; 1 <= n <= %s_BATCH.\n", P);
  else if (p->label)
    out(E, "y n targets of\n"
           " * %s_LABEL_SIZE %ss each; 1 <= n <= %s_BATCH.\n", P, R, P);
  else
    out(E, "y is unused (the model has no label: its\n"
           " * target is the input) and may be NULL; 1 <= n <= %s_BATCH.\n", P);
  out(E, " * Tensor table: dtype 0 f32, 1 i8, 2 i16, 3 i32, 4 i64, 5 u8, 6 u16,\n"
         " * 7 u32; role 0 parameter, 1 optimizer state, 2 buffer, 3 internal\n"
         " * (OctoDType and OctoTensorKind of octo_runtime.h). See docs/c-backend.md. */\n");
  if (E->dbl)
    out(E, "/* Built with --emit-real=double: every f32 of the program is a double\n"
           " * (tensor table rows of dtype 0 hold doubles) and every size and offset\n"
           " * is twice the float build's. A testing aid, see docs/c-backend.md. */\n");
  out(E, "#ifndef %s_H\n#define %s_H\n\n#include <stddef.h>\n#include <stdint.h>\n\n", P, P);
  out(E, "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");
  out(E, "#define %s_BATCH %d\n", P, p->batch);
  out(E, "#define %s_STATE_BYTES %lld\n", P, bytes_out(E, p->state_bytes));
  out(E, "#define %s_WORK_BYTES %lld\n", P, bytes_out(E, p->work_bytes));
  out(E, "#define %s_STATE_ALIGN 64\n", P);
  out(E, "#define %s_HASH 0x%016llxULL\n", P, (unsigned long long)emitted_hash(E));
  const Shape *in = p->input ? &p->input->shape : NULL;
  int rank = in ? in->rank - 1 : 0;
  int64_t size = 1;
  out(E, "#define %s_INPUT_RANK %d\n#define %s_INPUT_SHAPE {", P, rank, P);
  for (int d = 0; d < rank; d++) {
    out(E, "%s%lld", d ? ", " : "", (long long)in->dim[d + 1]);
    size *= in->dim[d + 1];
  }
  out(E, "%s}\n", rank ? "" : "0");
  out(E, "#define %s_INPUT_SIZE %lld\n", P, (long long)(in ? size : 0));
  out(E, "#define %s_NUM_CLASSES %d\n", P, p->num_classes);
  if (E->reg) emit_sizes(E);
  out(E, "/* The input the model was trained on (recipe key `input`): a pixel p in\n"
         " * 0..255 reaches x as (p / 255 - %s_INPUT_MEAN) / %s_INPUT_STD. */\n", P, P);
  out(E, "#define %s_INPUT_MEAN ", P);
  print_f32(E, E->in_mean);
  out(E, "\n#define %s_INPUT_STD ", P);
  print_f32(E, E->in_std);
  out(E, "\n\n");
  out(E, "/* Zeroes the state, then initialises it from seed. 0, or -1 if state is NULL. */\n");
  out(E, "int %s_init(void *state, uint64_t seed);\n", f);
  if (E->reg) emit_regression_api(E);
  else emit_classifier_api(E);
  if (p->epoch)
    out(E, "/* Tells the learning-rate schedule which epoch (0-based) the next steps\n"
           " * belong to; call it before each epoch. */\n"
           "void %s_set_epoch(void *state, int epoch);\n", f);
  out(E, "\n");
  out(E, "/* The state block's tensors, in offset order, for checkpoints and export. */\n");
  out(E, "typedef struct %s_tensor_info {\n  const char *name;\n  int dtype;\n  int role;\n"
         "  int rank;\n  int64_t shape[6];\n  size_t offset, bytes;\n} %s_tensor_info;\n", f, f);
  out(E, "#define %s_NTENSORS %d\n", P, ntensors);
  out(E, "/* %s_NTENSORS entries, then one with name NULL. */\n", P);
  out(E, "extern const %s_tensor_info %s_tensors[];\n\n", f, f);
  out(E, "#ifdef __cplusplus\n}\n#endif\n\n#endif\n");
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

/* The state/work byte pointer an entry passes to a kernel parameter. */
static const char *call_arg(Emit *E, LEntryKind ek, const LBuffer *b, bool writes) {
  const LProgram *p = E->p;
  if (b == p->input) return "x";
  if (b == p->label) return "y";
  if (b == p->pred) return ek != LENTRY_PREDICT ? "pred" : E->reg ? "out" : "cls";
  if (b->home == LBUF_CONST) return E->const_name[b->id];
  return arena_printf(E->arena, "(%s%s *)(%s + %lld)", writes ? "" : "const ", ctype(E, b->dtype),
                      b->home == LBUF_STATE ? "st" : "wk", bytes_out(E, b->offset));
}

static void emit_calls(Emit *E, LEntryKind ek) {
  const LProgram *p = E->p;
  const LEntry *en = &p->entries[ek];
  for (int c = 0; c < en->ncalls; c++) {
    const LKernel *k = en->calls[c];
    kernel_scope(E, k);
    bool guard = E->pred_guard && ek == LENTRY_TRAIN_STEP && E->writes[p->pred->id];
    out(E, "  %s%s(", guard ? "if (pred) " : "", E->kname[k->id]);
    int col = (int)strlen(E->kname[k->id]) + 3 + (guard ? 10 : 0);
    bool any = false;
    for (int i = 0; i < p->nbuffers; i++) {
      if (!E->sc.buf_name[i]) continue;
      list_item(E, &col, !any, call_arg(E, ek, p->buffers[i], E->writes[i]));
      any = true;
    }
    for (int i = 0; i < p->nvars; i++) {
      const LVar *v = p->vars[i];
      if (!E->var_used[i] || v->kind != LVAR_ARG) continue;
      list_item(E, &col, !any, arena_printf(E->arena, "(%s)%s", ctype(E, v->dtype), v->name));
      any = true;
    }
    out(E, ");\n");
  }
}

/* What an entry's kernels use, to silence unused parameters. */
static void entry_uses(Emit *E, LEntryKind ek, bool *bufs, bool *n_used, bool *seed_used) {
  const LProgram *p = E->p;
  const LEntry *en = &p->entries[ek];
  memset(bufs, 0, (size_t)p->nbuffers * sizeof(bool));
  *n_used = *seed_used = false;
  for (int c = 0; c < en->ncalls; c++) {
    kernel_scope(E, en->calls[c]);
    for (int i = 0; i < p->nbuffers; i++) bufs[i] |= E->reads[i] || E->writes[i];
    for (int i = 0; i < p->nvars; i++) {
      if (!E->var_used[i] || p->vars[i]->kind != LVAR_ARG) continue;
      if (strcmp(p->vars[i]->name, "n") == 0) *n_used = true;
      else *seed_used = true;
    }
  }
}

static bool home_used(const LProgram *p, const bool *bufs, LBufHome h) {
  for (int i = 0; i < p->nbuffers; i++)
    if (bufs[i] && p->buffers[i]->home == h) return true;
  return false;
}

static bool arg_used(const LBuffer *b, const bool *bufs) { return b && bufs[b->id]; }

static void emit_init(Emit *E, bool *bufs) {
  bool n_used, seed_used;
  entry_uses(E, LENTRY_INIT, bufs, &n_used, &seed_used);
  out(E, "int %s_init(void *state, uint64_t seed) {\n", E->pfx);
  out(E, "  if (!state) return -1;\n");
  out(E, "  memset(state, 0, %s_STATE_BYTES);\n", E->PFX);
  if (home_used(E->p, bufs, LBUF_STATE)) out(E, "  unsigned char *st = (unsigned char *)state;\n");
  if (!seed_used) out(E, "  (void)seed;\n");
  emit_calls(E, LENTRY_INIT);
  out(E, "  return 0;\n}\n\n");
}

/* Whether every train_step kernel that touches pred only writes it and
 * writes nothing else, so that it can be skipped when pred is NULL. */
static bool pred_only_kernels(Emit *E) {
  const LProgram *p = E->p;
  const LEntry *en = &p->entries[LENTRY_TRAIN_STEP];
  int id = p->pred->id;
  for (int c = 0; c < en->ncalls; c++) {
    lkernel_accesses(p, en->calls[c], E->reads, E->writes);
    if (E->reads[id]) return false;
    if (!E->writes[id]) continue;
    for (int i = 0; i < p->nbuffers; i++)
      if (E->writes[i] && i != id) return false;
  }
  return true;
}

static void emit_train_step(Emit *E, bool *bufs) {
  const LProgram *p = E->p;
  bool n_used, seed_used;
  entry_uses(E, LENTRY_TRAIN_STEP, bufs, &n_used, &seed_used);
  bufs[p->loss->id] = true;
  bool pred_used = arg_used(p->pred, bufs);
  E->pred_guard = pred_used && E->reg && p->pred->optional && pred_only_kernels(E);
  const char *R = ctype(E, DT_F32);
  /* y: class indices, or a regression's float targets; pred likewise. */
  const char *Y = E->reg ? R : "int32_t";
  out(E, "%s %s_train_step_pred(void *state, void *work, const %s *x, const %s *y, "
         "int n,\n      %s *pred) {\n", R, E->pfx, R, Y, Y);
  if (pred_used && p->pred->optional && !E->pred_guard)
    out(E, "  %s pred_scratch[%lld];\n", Y, (long long)shape_numel(&p->pred->shape));
  /* A regression model without a label ignores y: NULL is fine then. */
  bool y_needed = !E->reg || p->label;
  out(E, "  if (!state || (!work && %s_WORK_BYTES > 0) || !x || %sn < 1 || n > %s_BATCH)\n"
         "    return octo_nan();\n", E->PFX, y_needed ? "!y || " : "", E->PFX);
  if (E->pred_guard) {
    /* The pred kernels are called under if (pred). */
  } else if (pred_used) {
    if (p->pred->optional) out(E, "  if (!pred) pred = pred_scratch;\n");
    else out(E, "  if (!pred) return octo_nan();\n");
  } else {
    out(E, "  (void)pred;\n");
  }
  if (home_used(p, bufs, LBUF_STATE)) out(E, "  unsigned char *st = (unsigned char *)state;\n");
  if (home_used(p, bufs, LBUF_WORK)) out(E, "  unsigned char *wk = (unsigned char *)work;\n");
  if (!arg_used(p->input, bufs)) out(E, "  (void)x;\n");
  if (!arg_used(p->label, bufs)) out(E, "  (void)y;\n");
  emit_calls(E, LENTRY_TRAIN_STEP);
  out(E, "  return ((const %s *)(%s + %lld))[0];\n}\n\n", R,
      p->loss->home == LBUF_STATE ? "st" : "wk", bytes_out(E, p->loss->offset));
  out(E, "%s %s_train_step(void *state, void *work, const %s *x, const %s *y, int n) {\n"
         "  return %s_train_step_pred(state, work, x, y, n, NULL);\n}\n\n", R, E->pfx, R, Y, E->pfx);
  E->pred_guard = false;
}

static void emit_predict(Emit *E, bool *bufs) {
  const LProgram *p = E->p;
  bool n_used, seed_used;
  entry_uses(E, LENTRY_PREDICT, bufs, &n_used, &seed_used);
  bool cls_used = arg_used(p->pred, bufs);
  /* A classifier's predict writes classes to cls, a regression model's its
   * prediction to out. */
  const char *cls = E->reg ? "out" : "cls";
  out(E, "int %s_predict(const void *state, void *work, const %s *x, %s *%s, int n) {\n", E->pfx,
      ctype(E, DT_F32), E->reg ? ctype(E, DT_F32) : "int32_t", cls);
  out(E, "  if (!state || (!work && %s_WORK_BYTES > 0) || !x || %sn < 1 || n > %s_BATCH)\n"
         "    return -1;\n", E->PFX, cls_used ? (E->reg ? "!out || " : "!cls || ") : "", E->PFX);
  /* predict's kernels only read state (checked), so const stays honest. */
  if (home_used(p, bufs, LBUF_STATE))
    out(E, "  const unsigned char *st = (const unsigned char *)state;\n");
  if (home_used(p, bufs, LBUF_WORK)) out(E, "  unsigned char *wk = (unsigned char *)work;\n");
  if (!arg_used(p->input, bufs)) out(E, "  (void)x;\n");
  if (!cls_used) out(E, "  (void)%s;\n", cls);
  if (!n_used) out(E, "  (void)n;\n");
  emit_calls(E, LENTRY_PREDICT);
  out(E, "  return 0;\n}\n\n");
}

/* The epoch the schedule kernels read: a plain store into its state
 * buffer, so the trainer (or any caller) sets it between steps. */
static void emit_set_epoch(Emit *E) {
  const LBuffer *b = E->p->epoch;
  if (!b) return;
  out(E, "void %s_set_epoch(void *state, int epoch) {\n"
         "  if (!state) return;\n"
         "  ((int32_t *)((unsigned char *)state + %lld))[0] = (int32_t)epoch;\n}\n\n",
      E->pfx, bytes_out(E, b->offset));
}

/* The CONST buffers the called kernels read become file-scope arrays,
 * PREFIX_const_NAME (an unused static const would be a warning), printed
 * to E->consts before the kernels refer to them. */
static void emit_consts(Emit *E, const bool *called) {
  const LProgram *p = E->p;
  bool *used = arena_alloc(p->arena, (size_t)p->nbuffers + 1);
  for (int i = 0; i < p->nkernels; i++) {
    if (!called[i]) continue;
    lkernel_accesses(p, p->kernels[i], E->reads, E->writes);
    for (int b = 0; b < p->nbuffers; b++) used[b] |= E->reads[b];
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
 * are printed (an unused static function would be a warning). */
static void name_kernels(Emit *E, bool *called) {
  const LProgram *p = E->p;
  Scope names = {0};
  memset(called, 0, (size_t)p->nkernels * sizeof(bool));
  for (int ek = 0; ek < LENTRY_COUNT; ek++)
    for (int c = 0; c < p->entries[ek].ncalls; c++) called[p->entries[ek].calls[c]->id] = true;
  for (int i = 0; i < p->nkernels; i++)
    E->kname[i] =
        scope_unique(E, &names, arena_printf(E->arena, "%s_k_%s", E->pfx, p->kernels[i]->name));
}

static void emit_source(Emit *E, FILE *c_out, const char *header, const char *kernels, int ntensors,
                        const LBuffer **tensors) {
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
  for (int h = 0; h < H_COUNT; h++)
    if (E->need[h] && helper(E, h)) out(E, "%s", helper(E, h));
  for (int t = 0; t < DT_COUNT; t++)
    for (int f = 0; f < SAT_COUNT; f++)
      if (E->need_sat[t][f]) print_sat_helper(E, (DType)t, (SatFrom)f);
  if (E->consts) out(E, "\n%s", E->consts);
  out(E, "\nconst %s_tensor_info %s_tensors[] = {\n", E->pfx, E->pfx);
  for (int i = 0; i < ntensors; i++) print_tensor_row(E, tensors[i], false);
  out(E, "  {NULL, 0, 0, 0, {0, 0, 0, 0, 0, 0}, 0, 0},\n};\n\n");
  fputs(kernels, c_out);
}

static void emit_init_state(Emit *E, const LProgram *p, const CEmitOptions *o) {
  memset(E, 0, sizeof *E);
  E->p = p;
  E->arena = p->arena;
  E->err = o && o->errors ? o->errors : stderr;
  E->ok = true;
  E->dbl = o && o->real_double;
  E->reg = p->pred && p->pred->dtype == DT_F32;
  bool given = o && o->input_std > 0;
  E->in_mean = given ? (float)o->input_mean : 0.0f;
  E->in_std = given ? (float)o->input_std : 1.0f;
  E->pfx = c_prefix(p);
  E->PFX = upper(p->arena, E->pfx);
  E->sc.buf_name = arena_alloc(p->arena, (size_t)(p->nbuffers + 1) * sizeof(char *));
  E->sc.var_name = arena_alloc(p->arena, (size_t)(p->nvars + 1) * sizeof(char *));
  E->kname = arena_alloc(p->arena, (size_t)(p->nkernels + 1) * sizeof(char *));
  E->const_name = arena_alloc(p->arena, (size_t)(p->nbuffers + 1) * sizeof(char *));
  E->reads = arena_alloc(p->arena, (size_t)(p->nbuffers + 1));
  E->writes = arena_alloc(p->arena, (size_t)(p->nbuffers + 1));
  E->var_used = arena_alloc(p->arena, (size_t)(p->nvars + 1));
  E->var_read = arena_alloc(p->arena, (size_t)(p->nvars + 1));
}

bool c_emit(const LProgram *p, const CEmitOptions *o, FILE *c_out, FILE *h_out) {
  Emit E;
  emit_init_state(&E, p, o);
  check_program(&E);
  if (!E.ok) return false;
  const char *header = o && o->header_name ? o->header_name : arena_printf(p->arena, "%s.h", E.pfx);
  bool *called = arena_alloc(p->arena, (size_t)p->nkernels + 1);
  bool *bufs = arena_alloc(p->arena, (size_t)p->nbuffers + 1);
  name_kernels(&E, called);
  emit_consts(&E, called);
  if (!E.ok) return false;

  /* Kernels and entries go to memory first: they decide which helpers and
   * headers the prologue needs. */
  char *text = NULL;
  size_t len = 0;
  E.out = open_memstream(&text, &len);
  if (!E.out) {
    fail(&E, NULL, "cannot open a memory stream");
    return false;
  }
  for (int i = 0; i < p->nkernels && E.ok; i++)
    if (called[i]) emit_kernel(&E, p->kernels[i]);
  if (E.ok) {
    emit_init(&E, bufs);
    emit_train_step(&E, bufs);
    emit_predict(&E, bufs);
    emit_set_epoch(&E);
  }
  if (fclose(E.out) != 0) fail(&E, NULL, "memory stream error");
  if (E.ok) {
    const LBuffer **tensors = arena_alloc(p->arena, (size_t)(p->nbuffers + 1) * sizeof(LBuffer *));
    int ntensors = state_tensors(p, tensors);
    emit_source(&E, c_out, header, text, ntensors, tensors);
    E.out = h_out;
    emit_header(&E, ntensors);
    if (fflush(c_out) != 0 || ferror(c_out) || fflush(h_out) != 0 || ferror(h_out))
      fail(&E, NULL, "write error: %s", strerror(errno));
  }
  free(text);
  free(E.consts);
  return E.ok;
}

/* What the runtime needs of a regression model: a target of rank 4 at most
 * (IDX files), and without a label an output the size of the input, since
 * the trainer's target is then the input itself (an autoencoder). */
static bool main_regression_ok(Emit *E) {
  const LProgram *p = E->p;
  if (!E->reg) return true;
  check_targets(E);
  if (!E->ok || !p->input) return E->ok;
  int label_rank = p->label ? p->label->shape.rank - 1 : 0;
  int64_t in = sample_numel(p->input), outn = sample_numel(p->pred);
  if (label_rank > 4)
    fail(E, NULL, "the runtime takes targets of rank 4 at most, not %d", label_rank);
  else if (!p->label && outn != in)
    fail(E, NULL, "a model without label is trained to reproduce its input, but its "
         "prediction has %lld values per sample and the input %lld",
         (long long)outn, (long long)in);
  return E->ok;
}

bool c_emit_main(const LProgram *p, const CEmitOptions *o, FILE *fout) {
  Emit E;
  emit_init_state(&E, p, o);
  E.out = fout;
  const char *header = o && o->header_name ? o->header_name : arena_printf(p->arena, "%s.h", E.pfx);
  int rank = p->input ? p->input->shape.rank - 1 : 0;
  if (E.dbl) {
    fail(&E, NULL, "the standalone trainer runs float builds only, not --emit-real=double");
    return false;
  }
  if (rank > 4) {
    fail(&E, NULL, "the runtime takes inputs of rank 4 at most, not %d", rank);
    return false;
  }
  if (!main_regression_ok(&E)) return false;
  const LBuffer **tensors = arena_alloc(p->arena, (size_t)(p->nbuffers + 1) * sizeof(LBuffer *));
  int ntensors = state_tensors(p, tensors);
  const char *f = E.pfx, *P = E.PFX;
  out(&E, "/* %s_main.c: the standalone trainer of model '", f);
  comment_text(&E, p->name);
  out(&E, "', generated by octoc.\n"
          " * Link with %s.c and the Octo runtime (pkg-config octo-runtime). */\n", f);
  out(&E, "#include <stddef.h>\n#include <stdint.h>\n\n#include \"octo_runtime.h\"\n#include ");
  cstring(&E, header);
  out(&E, "\n\n");
  out(&E, "static const OctoTensorInfo tensors[] = {\n");
  for (int i = 0; i < ntensors; i++) print_tensor_row(&E, tensors[i], true);
  out(&E, "  {NULL, OCTO_F32, OCTO_TENSOR_INTERNAL, 0, {0, 0, 0, 0, 0, 0}, 0, 0},\n};\n\n");
  out(&E, "int main(int argc, char **argv) {\n  static const OctoModel model = {\n");
  out(&E, "    .name = ");
  cstring(&E, p->name);
  out(&E, ",\n    .batch = %s_BATCH,\n    .input_rank = %s_INPUT_RANK,\n", P, P);
  out(&E, "    .input_shape = %s_INPUT_SHAPE,\n    .num_classes = %s_NUM_CLASSES,\n", P, P);
  out(&E, "    .state_bytes = %s_STATE_BYTES,\n    .work_bytes = %s_WORK_BYTES,\n", P, P);
  out(&E, "    .state_align = %s_STATE_ALIGN,\n    .hash = %s_HASH,\n", P, P);
  out(&E, "    .tensors = tensors,\n    .ntensors = %d,\n", ntensors);
  out(&E, "    .input_mean = %s_INPUT_MEAN,\n    .input_std = %s_INPUT_STD,\n", P, P);
  out(&E, "    .epochs_default = %d,\n    .seed_default = UINT64_C(%llu),\n",
      o ? o->epochs_default : 0, (unsigned long long)(o ? o->seed_default : 0));
  if (E.reg) {
    out(&E, "    .init = %s_init,\n    .train_step = NULL,\n    .predict = NULL,\n", f);
  } else {
    out(&E, "    .init = %s_init,\n    .train_step = %s_train_step_pred,\n", f, f);
    out(&E, "    .predict = %s_predict,\n", f);
  }
  if (p->epoch) out(&E, "    .set_epoch = %s_set_epoch,\n", f);
  else out(&E, "    .set_epoch = NULL,\n");
  if (E.reg) {
    out(&E, "    .label_rank = %s_LABEL_RANK,\n    .label_shape = %s_LABEL_SHAPE,\n", P, P);
    out(&E, "    .label_size = %s_LABEL_SIZE,\n    .output_size = %s_OUTPUT_SIZE,\n", P, P);
    out(&E, "    .train_step_f32 = %s_train_step_pred,\n    .predict_f32 = %s_predict,\n", f, f);
  }
  out(&E, "  };\n  return octo_main(&model, argc, argv);\n}\n");
  if (fflush(fout) != 0 || ferror(fout)) fail(&E, NULL, "write error: %s", strerror(errno));
  return E.ok;
}

/* ---- the model hash ------------------------------------------------- */

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
  free(H.scope);
  return H.h;
}
