/* The LLVM backend's code generator (llvm_codegen.h): loop IR to LLVM IR.
 *
 * Every operation is built the way the C backend prints it and a C
 * compiler reads that C: narrow integers compute at 32 bits and wrap back,
 * signed i32/i64 arithmetic is nsw (C's signed overflow), min/max/clamp are
 * compare-and-select (C's `a < b ? a : b`, whatever NaN does), ?: && || and
 * if branch (only the taken side is evaluated), f32 operations carry no
 * fast-math flag. Locals live in allocas that mem2reg promotes. */
#include "llvm_codegen.h"

#include "kernel_twins.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <llvm-c/DebugInfo.h>
#include <llvm-c/Target.h>

typedef struct Gen {
  const ProgramPlan *plan;
  const LProgram *p;
  LLVMContextRef ctx;
  LLVMModuleRef mod;
  LLVMBuilderRef b, ab; /* code, and the allocas of the entry block */
  FILE *err;
  bool ok, signext;
  VectorIsa isa;
  LLVMTypeRef ty[DT_COUNT];
  LLVMTypeRef i1, i8, i32, i64, f32, ptr, voidt, intptr;
  unsigned loop_kind; /* the "llvm.loop" metadata kind */
  LLVMValueRef *kfn;  /* per kernel id: its function (called ones only) */
  LLVMTypeRef *kfn_type;
  const KernelConsts *kconst; /* per kernel plan: the constants its function takes as arguments */
  const KernelConsts *cur_consts; /* the kernel being defined's */
  LLVMValueRef *cglobal; /* per buffer id: a CONST buffer's array */
  LLVMValueRef bad_labels; /* i1 octo_bad_labels(ptr y, i32 n, i32 classes) */
  /* the kernel being written */
  const LKernel *k;
  LLVMValueRef fn;
  LLVMValueRef *bufp;  /* per buffer id: its pointer parameter */
  LLVMValueRef *slot;  /* per variable id: a local's alloca */
  LLVMValueRef *param; /* per variable id: an ARG scalar's parameter */
  bool *assigned;      /* per variable id: the target of an assignment */
} Gen;

static void fail(Gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(Gen *g, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(g->err, "octoc: error: LLVM backend: ");
  if (g->k) fprintf(g->err, "kernel '%s': ", g->k->name);
  vfprintf(g->err, fmt, ap);
  fputc('\n', g->err);
  va_end(ap);
  g->ok = false;
}

static bool is_narrow(DType t) {
  return t == DT_I8 || t == DT_I16 || t == DT_U8 || t == DT_U16;
}

static bool valid_type(DType t) { return (unsigned)t < DT_COUNT; }

static LLVMValueRef undef(Gen *g, DType t) {
  return LLVMGetUndef(valid_type(t) ? g->ty[t] : g->i32);
}

static LLVMValueRef cint(LLVMTypeRef t, int64_t v) {
  return LLVMConstInt(t, (unsigned long long)v, 1);
}

/* An f32 constant with exactly f's bits (a NaN's payload included). */
static LLVMValueRef cf32(Gen *g, float f) {
  if (!isnan(f)) return LLVMConstReal(g->f32, (double)f);
  uint32_t bits;
  memcpy(&bits, &f, sizeof bits);
  return LLVMConstBitCast(LLVMConstInt(g->i32, bits, 0), g->f32);
}

static void add_attr(Gen *g, LLVMValueRef fn, unsigned idx, const char *name, uint64_t val) {
  unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
  LLVMAddAttributeAtIndex(fn, idx, LLVMCreateEnumAttribute(g->ctx, kind, val));
}

/* C's conversion of v from type `from` to `to`: float->int truncates
 * toward zero, int->int wraps or extends by the source's signedness. */
static LLVMValueRef convert(Gen *g, LLVMValueRef v, DType from, DType to) {
  if (from == to || !valid_type(from) || !valid_type(to)) return v;
  LLVMTypeRef t = g->ty[to];
  if (from == DT_F32)
    return dtype_is_unsigned(to) ? LLVMBuildFPToUI(g->b, v, t, "") : LLVMBuildFPToSI(g->b, v, t, "");
  if (to == DT_F32)
    return dtype_is_unsigned(from) ? LLVMBuildUIToFP(g->b, v, t, "") : LLVMBuildSIToFP(g->b, v, t, "");
  unsigned wf = LLVMGetIntTypeWidth(g->ty[from]), wt = LLVMGetIntTypeWidth(t);
  if (wf == wt) return v;
  if (wf > wt) return LLVMBuildTrunc(g->b, v, t, "");
  return dtype_is_unsigned(from) ? LLVMBuildZExt(g->b, v, t, "") : LLVMBuildSExt(g->b, v, t, "");
}

/* A value of type t extended to LLVM type to, by t's signedness. */
static LLVMValueRef extend(Gen *g, LLVMValueRef v, DType t, LLVMTypeRef to) {
  if (LLVMGetIntTypeWidth(LLVMTypeOf(v)) == LLVMGetIntTypeWidth(to)) return v;
  return dtype_is_unsigned(t) ? LLVMBuildZExt(g->b, v, to, "") : LLVMBuildSExt(g->b, v, to, "");
}

/* C's truth of a value: != 0 (for f32, NaN is true). */
static LLVMValueRef truth(Gen *g, LLVMValueRef v, DType t) {
  if (t == DT_F32) return LLVMBuildFCmp(g->b, LLVMRealUNE, v, LLVMConstReal(g->f32, 0.0), "");
  return LLVMBuildICmp(g->b, LLVMIntNE, v, LLVMConstNull(LLVMTypeOf(v)), "");
}

static LLVMValueRef call_intrinsic(Gen *g, const char *name, LLVMTypeRef overload,
                                   LLVMValueRef *args, unsigned nargs) {
  unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
  LLVMValueRef fn = LLVMGetIntrinsicDeclaration(g->mod, id, &overload, 1);
  LLVMTypeRef ft = LLVMIntrinsicGetType(g->ctx, id, &overload, 1);
  return LLVMBuildCall2(g->b, ft, fn, args, nargs, "");
}

static LLVMBasicBlockRef new_block(Gen *g, const char *name) {
  return LLVMAppendBasicBlockInContext(g->ctx, g->fn, name);
}

/* ---- expressions ---------------------------------------------------- */

/* Whether local v lives at pointer width: an i32 loop counter, or a let
 * never assigned again, on a 64-bit target. Its value is the same wherever
 * its i32 arithmetic is defined (nsw), and LLVM gets 64-bit induction
 * variables and indices instead of widening i32 ones (IndVarSimplify).
 * Assigned locals (the int8 GEMMs' accumulators) stay i32: at 64 bits
 * their vectorised sums took twice the lanes. */
static bool wide_var(Gen *g, const LVar *v) {
  return v->kind != LVAR_ARG && v->dtype == DT_I32 && !g->assigned[v->id] &&
         LLVMGetIntTypeWidth(g->intptr) > 32;
}

/* Marks the variables the statements assign (not their lets). */
static void mark_assigned(Gen *g, const LStmt *s) {
  for (; s; s = s->next) {
    if (s->kind == LS_ASSIGN) g->assigned[s->var->id] = true;
    mark_assigned(g, s->body);
    mark_assigned(g, s->else_body);
  }
}

static LLVMValueRef var_slot(Gen *g, const LVar *v) {
  LLVMTypeRef t = wide_var(g, v) ? g->intptr : g->ty[v->dtype];
  if (!g->slot[v->id]) g->slot[v->id] = LLVMBuildAlloca(g->ab, t, v->name);
  return g->slot[v->id];
}

/* A local's value as its loop IR type. */
static LLVMValueRef read_var(Gen *g, const LVar *v) {
  if (!wide_var(g, v)) return LLVMBuildLoad2(g->b, g->ty[v->dtype], var_slot(g, v), v->name);
  return LLVMBuildTrunc(g->b, LLVMBuildLoad2(g->b, g->intptr, var_slot(g, v), v->name), g->i32, "");
}

/* x, a value of v's loop IR type, stored in v. */
static void write_var(Gen *g, const LVar *v, LLVMValueRef x) {
  if (wide_var(g, v)) x = LLVMBuildSExt(g->b, x, g->intptr, "");
  LLVMBuildStore(g->b, x, var_slot(g, v));
}

static LLVMValueRef expr(Gen *g, const LExpr *e);

/* The argument that stands for constant e in a kernel shared with its twins
 * (kernel_twins.h), or NULL. */
static LLVMValueRef shared_const(Gen *g, const LExpr *e) {
  if (!g->cur_consts) return NULL;
  for (int i = 0; i < g->cur_consts->n; i++)
    if (g->cur_consts->slot[i] == e)
      return LLVMGetParam(g->fn, LLVMCountParams(g->fn) - (unsigned)(g->cur_consts->n - i));
  return NULL;
}

/* An index as a pointer-width integer. Where that is wider than i32, the
 * i32 + - * of the index are computed at that width, nsw: wherever the i32
 * arithmetic is defined (nsw, C's signed overflow) the numbers are the
 * same, and LLVM gets sext(i) * c + sext(j) instead of sext(i * c + j),
 * which its induction-variable widening and strength reduction spent much
 * of the compile time on. */
static LLVMValueRef wide_index(Gen *g, const LExpr *e) {
  bool wider = LLVMGetIntTypeWidth(g->intptr) > 32;
  if (wider && e && e->type == DT_I32 && e->kind == LE_CONST && !shared_const(g, e))
    return cint(g->intptr, e->i);
  if (e && e->kind == LE_VAR && wide_var(g, e->var))
    return LLVMBuildLoad2(g->b, g->intptr, var_slot(g, e->var), e->var->name);
  if (wider && e && e->type == DT_I32 && e->kind == LE_BINARY && e->a->type == DT_I32 &&
      e->b->type == DT_I32) {
    switch (e->bop) {
    case LB_ADD: return LLVMBuildNSWAdd(g->b, wide_index(g, e->a), wide_index(g, e->b), "");
    case LB_SUB: return LLVMBuildNSWSub(g->b, wide_index(g, e->a), wide_index(g, e->b), "");
    case LB_MUL: return LLVMBuildNSWMul(g->b, wide_index(g, e->a), wide_index(g, e->b), "");
    default: break;
    }
  }
  return extend(g, expr(g, e), e ? e->type : DT_I32, g->intptr);
}

/* The address of element idx (an integer expression) of buffer b. */
static LLVMValueRef element_ptr(Gen *g, const LBuffer *b, const LExpr *idx, int64_t plus) {
  LLVMValueRef base = g->bufp[b->id];
  if (!base) {
    fail(g, "buffer '%s' is not a parameter of the kernel", b->name);
    return LLVMConstNull(g->ptr);
  }
  LLVMValueRef i = wide_index(g, idx);
  if (plus) i = LLVMBuildNSWAdd(g->b, i, cint(g->intptr, plus), "");
  return LLVMBuildInBoundsGEP2(g->b, g->ty[b->dtype], base, &i, 1, "");
}

static LLVMValueRef load(Gen *g, const LBuffer *b, const LExpr *idx, int64_t plus) {
  LLVMValueRef v = LLVMBuildLoad2(g->b, g->ty[b->dtype], element_ptr(g, b, idx, plus), "");
  LLVMSetAlignment(v, (unsigned)dtype_size(b->dtype));
  return v;
}

static LLVMValueRef icmp(Gen *g, LBinOp op, bool u, LLVMValueRef a, LLVMValueRef b) {
  LLVMIntPredicate pr;
  switch (op) {
  case LB_LT: pr = u ? LLVMIntULT : LLVMIntSLT; break;
  case LB_LE: pr = u ? LLVMIntULE : LLVMIntSLE; break;
  case LB_GT: pr = u ? LLVMIntUGT : LLVMIntSGT; break;
  case LB_GE: pr = u ? LLVMIntUGE : LLVMIntSGE; break;
  case LB_EQ: pr = LLVMIntEQ; break;
  default: pr = LLVMIntNE; break;
  }
  return LLVMBuildICmp(g->b, pr, a, b, "");
}

static LLVMValueRef fcmp(Gen *g, LBinOp op, LLVMValueRef a, LLVMValueRef b) {
  LLVMRealPredicate pr;
  switch (op) {
  case LB_LT: pr = LLVMRealOLT; break;
  case LB_LE: pr = LLVMRealOLE; break;
  case LB_GT: pr = LLVMRealOGT; break;
  case LB_GE: pr = LLVMRealOGE; break;
  case LB_EQ: pr = LLVMRealOEQ; break;
  default: pr = LLVMRealUNE; break; /* C's != is true for NaN */
  }
  return LLVMBuildFCmp(g->b, pr, a, b, "");
}

static bool is_comparison(LBinOp op) { return op >= LB_LT && op <= LB_NE; }

/* a && b, a || b: b is evaluated only when a does not decide. */
static LLVMValueRef logical(Gen *g, const LExpr *e) {
  LLVMValueRef a = truth(g, expr(g, e->a), e->a->type);
  LLVMBasicBlockRef from = LLVMGetInsertBlock(g->b);
  LLVMBasicBlockRef rhs = new_block(g, "rhs"), end = new_block(g, "logic.end");
  bool and = e->bop == LB_LAND;
  LLVMBuildCondBr(g->b, a, and ? rhs : end, and ? end : rhs);
  LLVMPositionBuilderAtEnd(g->b, rhs);
  LLVMValueRef bv = truth(g, expr(g, e->b), e->b->type);
  LLVMBasicBlockRef rhs_end = LLVMGetInsertBlock(g->b);
  LLVMBuildBr(g->b, end);
  LLVMPositionBuilderAtEnd(g->b, end);
  LLVMValueRef phi = LLVMBuildPhi(g->b, g->i1, "");
  LLVMValueRef vals[2] = {LLVMConstInt(g->i1, !and, 0), bv};
  LLVMBasicBlockRef blocks[2] = {from, rhs_end};
  LLVMAddIncoming(phi, vals, blocks, 2);
  return LLVMBuildZExt(g->b, phi, g->ty[e->type], "");
}

static LLVMValueRef binary_f32(Gen *g, const LExpr *e, LLVMValueRef a, LLVMValueRef b) {
  switch (e->bop) {
  case LB_ADD: return LLVMBuildFAdd(g->b, a, b, "");
  case LB_SUB: return LLVMBuildFSub(g->b, a, b, "");
  case LB_MUL: return LLVMBuildFMul(g->b, a, b, "");
  case LB_DIV: return LLVMBuildFDiv(g->b, a, b, "");
  case LB_REM: return LLVMBuildFRem(g->b, a, b, ""); /* fmodf */
  case LB_MIN: return LLVMBuildSelect(g->b, fcmp(g, LB_LT, a, b), a, b, "");
  case LB_MAX: return LLVMBuildSelect(g->b, fcmp(g, LB_GT, a, b), a, b, "");
  default: break;
  }
  if (is_comparison(e->bop)) return LLVMBuildZExt(g->b, fcmp(g, e->bop, a, b), g->ty[e->type], "");
  fail(g, "bit operation on f32");
  return undef(g, e->type);
}

static LLVMValueRef binary(Gen *g, const LExpr *e) {
  if (e->bop == LB_LAND || e->bop == LB_LOR) return logical(g, e);
  DType t = e->a->type;
  LLVMValueRef a = expr(g, e->a), b = convert(g, expr(g, e->b), e->b->type, t);
  if (t == DT_F32) return binary_f32(g, e, a, b);
  /* Narrow types compute in int, as C promotes them, and wrap back. */
  bool u = dtype_is_unsigned(t), narrow = is_narrow(t), sgn = !u && !narrow;
  if (narrow) {
    a = extend(g, a, t, g->i32);
    b = extend(g, b, t, g->i32);
  }
  LLVMBuilderRef B = g->b;
  LLVMValueRef r;
  switch (e->bop) {
  case LB_ADD: r = sgn ? LLVMBuildNSWAdd(B, a, b, "") : LLVMBuildAdd(B, a, b, ""); break;
  case LB_SUB: r = sgn ? LLVMBuildNSWSub(B, a, b, "") : LLVMBuildSub(B, a, b, ""); break;
  case LB_MUL: r = sgn ? LLVMBuildNSWMul(B, a, b, "") : LLVMBuildMul(B, a, b, ""); break;
  case LB_DIV: r = u ? LLVMBuildUDiv(B, a, b, "") : LLVMBuildSDiv(B, a, b, ""); break;
  case LB_REM: r = u ? LLVMBuildURem(B, a, b, "") : LLVMBuildSRem(B, a, b, ""); break;
  case LB_MIN: r = LLVMBuildSelect(B, icmp(g, LB_LT, u, a, b), a, b, ""); break;
  case LB_MAX: r = LLVMBuildSelect(B, icmp(g, LB_GT, u, a, b), a, b, ""); break;
  case LB_SHL: r = LLVMBuildShl(B, a, b, ""); break; /* on the unsigned bits */
  case LB_SHR: r = u ? LLVMBuildLShr(B, a, b, "") : LLVMBuildAShr(B, a, b, ""); break;
  case LB_AND: r = LLVMBuildAnd(B, a, b, ""); break;
  case LB_OR: r = LLVMBuildOr(B, a, b, ""); break;
  case LB_XOR: r = LLVMBuildXor(B, a, b, ""); break;
  default:
    if (is_comparison(e->bop))
      return LLVMBuildZExt(B, icmp(g, e->bop, u, a, b), g->ty[e->type], "");
    fail(g, "internal error: no case for binary operator %d", (int)e->bop);
    return undef(g, e->type);
  }
  return narrow ? LLVMBuildTrunc(B, r, g->ty[e->type], "") : r;
}

/* exp, log, cos and pow in f32 are written out by the pass "math" (the
 * same bits on every target); the C backend refuses them the same way. */
static LLVMValueRef raw_math(Gen *g, const LExpr *e, const char *fn) {
  fail(g, "%s was not written out by the pass \"math\" (passes/expand_math.c)", fn);
  return undef(g, e->type);
}

static LLVMValueRef unary(Gen *g, const LExpr *e) {
  DType t = e->a->type;
  LLVMValueRef a = expr(g, e->a);
  if (e->uop == LU_NOT)
    return LLVMBuildZExt(g->b, LLVMBuildNot(g->b, truth(g, a, t), ""), g->ty[e->type], "");
  if (t == DT_F32) {
    switch (e->uop) {
    case LU_NEG: return LLVMBuildFNeg(g->b, a, "");
    case LU_ABS: return call_intrinsic(g, "llvm.fabs", g->f32, &a, 1);
    case LU_SQRT: return call_intrinsic(g, "llvm.sqrt", g->f32, &a, 1);
    case LU_FLOOR: return call_intrinsic(g, "llvm.floor", g->f32, &a, 1);
    case LU_EXP: return raw_math(g, e, "exp");
    case LU_LOG: return raw_math(g, e, "log");
    case LU_COS: return raw_math(g, e, "cos");
    default: break;
    }
    fail(g, "internal error: no case for unary operator %d", (int)e->uop);
    return undef(g, e->type);
  }
  LLVMValueRef zero = LLVMConstNull(LLVMTypeOf(a));
  bool sgn = !dtype_is_unsigned(t) && !is_narrow(t);
  switch (e->uop) {
  case LU_NEG: return sgn ? LLVMBuildNSWNeg(g->b, a, "") : LLVMBuildNeg(g->b, a, "");
  case LU_ABS:
    if (dtype_is_unsigned(t)) return a; /* unsigned: the value itself */
    /* |MIN| wraps to MIN, as octo_abs_i32 */
    return LLVMBuildSelect(g->b, LLVMBuildICmp(g->b, LLVMIntSLT, a, zero, ""),
                           LLVMBuildSub(g->b, zero, a, ""), a, "");
  default: break;
  }
  fail(g, "float function on integer operand");
  return undef(g, e->type);
}

/* splitmix64(key ^ index * golden), as octo_hash_uniform and
 * octo_hash_bits compute it: z after the final xor-shift. */
static LLVMValueRef splitmix(Gen *g, const LExpr *e) {
  LLVMBuilderRef B = g->b;
  LLVMValueRef key = convert(g, expr(g, e->a), e->a->type, DT_I64);
  LLVMValueRef idx = convert(g, expr(g, e->b), e->b->type, DT_I64);
  LLVMValueRef golden = LLVMConstInt(g->i64, 0x9E3779B97F4A7C15ull, 0);
  LLVMValueRef z = LLVMBuildXor(B, key, LLVMBuildMul(B, idx, golden, ""), "");
  z = LLVMBuildAdd(B, z, golden, "");
  z = LLVMBuildXor(B, z, LLVMBuildLShr(B, z, cint(g->i64, 30), ""), "");
  z = LLVMBuildMul(B, z, LLVMConstInt(g->i64, 0xBF58476D1CE4E5B9ull, 0), "");
  z = LLVMBuildXor(B, z, LLVMBuildLShr(B, z, cint(g->i64, 27), ""), "");
  z = LLVMBuildMul(B, z, LLVMConstInt(g->i64, 0x94D049BB133111EBull, 0), "");
  return LLVMBuildXor(B, z, LLVMBuildLShr(B, z, cint(g->i64, 31), ""), "");
}

static LLVMValueRef hash_uniform(Gen *g, const LExpr *e) {
  LLVMValueRef top = LLVMBuildTrunc(g->b, LLVMBuildLShr(g->b, splitmix(g, e), cint(g->i64, 40), ""),
                                    g->i32, "");
  LLVMValueRef f = LLVMBuildUIToFP(g->b, top, g->f32, ""); /* < 2^24: exact */
  return LLVMBuildFMul(g->b, f, cf32(g, 1.0f / 16777216.0f), "");
}

static LLVMValueRef hash_bits(Gen *g, const LExpr *e) {
  return LLVMBuildTrunc(g->b, LLVMBuildLShr(g->b, splitmix(g, e), cint(g->i64, 32), ""), g->i32,
                        "");
}

/* sat_cast<T>(x): x clamped to T's range, then converted; from f32, NaN
 * gives 0 and the bounds are T's minimum and maximum + 1 (exact floats).
 * Integer sources compare at 64 bits, where every source value is exact. */
static LLVMValueRef sat_cast(Gen *g, const LExpr *e) {
  DType t = e->type, from = e->a->type;
  int64_t lo, hi, flo, fhi;
  if (!dtype_int_range(t, &lo, &hi)) {
    fail(g, "sat_cast to %s", dtype_name(t));
    return undef(g, t);
  }
  LLVMValueRef x = expr(g, e->a);
  if (dtype_int_range(from, &flo, &fhi) && flo >= lo && fhi <= hi) return convert(g, x, from, t);
  LLVMBuilderRef B = g->b;
  LLVMTypeRef T = g->ty[t];
  if (from == DT_F32) {
    LLVMValueRef nan = LLVMBuildFCmp(B, LLVMRealUNO, x, x, "");
    LLVMValueRef below = LLVMBuildFCmp(B, LLVMRealOLE, x, LLVMConstReal(g->f32, (double)lo), "");
    LLVMValueRef above =
        LLVMBuildFCmp(B, LLVMRealOGE, x, LLVMConstReal(g->f32, (double)hi + 1.0), "");
    LLVMValueRef r = convert(g, LLVMBuildFreeze(B, x, ""), DT_F32, t);
    r = LLVMBuildFreeze(B, r, ""); /* out of range is selected away */
    r = LLVMBuildSelect(B, above, cint(T, hi), r, "");
    r = LLVMBuildSelect(B, below, cint(T, lo), r, "");
    return LLVMBuildSelect(B, nan, LLVMConstNull(T), r, "");
  }
  LLVMValueRef w = extend(g, x, from, g->i64);
  LLVMValueRef r = LLVMBuildTrunc(B, w, T, "");
  if (LLVMGetIntTypeWidth(T) == 64) r = w;
  r = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSGT, w, cint(g->i64, hi), ""), cint(T, hi), r, "");
  return LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSLT, w, cint(g->i64, lo), ""), cint(T, lo), r,
                         "");
}

/* shr_round(x, s): x / 2^s rounded half to even; s <= 0 gives x, s beyond
 * the width gives 0 (octo_shr_round_i32). The shift amount is kept in
 * range so that no shift is poison before the selects. */
static LLVMValueRef shr_round(Gen *g, const LExpr *e) {
  LLVMBuilderRef B = g->b;
  DType t = e->type;
  LLVMTypeRef T = g->ty[t];
  int64_t width = (int64_t)LLVMGetIntTypeWidth(T);
  LLVMValueRef x = expr(g, e->a), s = convert(g, expr(g, e->b), e->b->type, t);
  LLVMValueRef one = cint(T, 1);
  LLVMValueRef none = LLVMBuildICmp(B, LLVMIntSLE, s, LLVMConstNull(T), "");
  LLVMValueRef all = LLVMBuildICmp(B, LLVMIntSGT, s, cint(T, width - 1), "");
  LLVMValueRef sc = LLVMBuildSelect(B, LLVMBuildOr(B, none, all, ""), one, s, "");
  LLVMValueRef q = LLVMBuildAShr(B, x, sc, ""); /* floor(x / 2^s) */
  LLVMValueRef r = LLVMBuildAnd(B, x, LLVMBuildSub(B, LLVMBuildShl(B, one, sc, ""), one, ""), "");
  LLVMValueRef half = LLVMBuildShl(B, one, LLVMBuildSub(B, sc, one, ""), "");
  LLVMValueRef odd = LLVMBuildTrunc(B, LLVMBuildAnd(B, q, one, ""), g->i1, "");
  LLVMValueRef up = LLVMBuildOr(B, LLVMBuildICmp(B, LLVMIntUGT, r, half, ""),
                                LLVMBuildAnd(B, LLVMBuildICmp(B, LLVMIntEQ, r, half, ""), odd, ""),
                                "");
  LLVMValueRef res = LLVMBuildAdd(B, q, LLVMBuildZExt(B, up, T, ""), "");
  res = LLVMBuildSelect(B, all, LLVMConstNull(T), res, "");
  return LLVMBuildSelect(B, none, x, res, "");
}

/* clamp(x, lo, hi) = x < lo ? lo : x > hi ? hi : x (a NaN x stays NaN). */
static LLVMValueRef clamp(Gen *g, const LExpr *e) {
  DType t = e->type;
  LLVMValueRef x = expr(g, e->a);
  LLVMValueRef lo = convert(g, expr(g, e->b), e->b->type, t);
  LLVMValueRef hi = convert(g, expr(g, e->c), e->c->type, t);
  bool u = dtype_is_unsigned(t);
  LLVMValueRef lt = t == DT_F32 ? fcmp(g, LB_LT, x, lo) : icmp(g, LB_LT, u, x, lo);
  LLVMValueRef gt = t == DT_F32 ? fcmp(g, LB_GT, x, hi) : icmp(g, LB_GT, u, x, hi);
  return LLVMBuildSelect(g->b, lt, lo, LLVMBuildSelect(g->b, gt, hi, x, ""), "");
}

/* dot2_i16, dot4_i8 and dot4_u8i8: a call of octo.dot2_i16 (octo.dot4_i8, octo.dot4_u8i8) on the two
 * pairs (quads), each loaded as one i32 (the low half is the first element
 * on a little-endian target, the last on a big-endian one: the same for
 * both operands, so the sum is the same). The loop vectoriser turns the
 * call into pmaddwd (sdot) (llvm_vector_variants.c). */
static LLVMValueRef dot_call(Gen *g, const LExpr *e) {
  LLVMValueRef acc = expr(g, e->a);
  if (!e->b || !e->c || e->b->kind != LE_LOAD || e->c->kind != LE_LOAD) {
    fail(g, "a %s operand is not a load", lintrinsic_info(e->fn)->name);
    return undef(g, e->type);
  }
  LLVMValueRef args[3] = {acc, NULL, NULL};
  for (int k = 0; k < 2; k++) {
    const LExpr *ld = k ? e->c : e->b;
    args[k + 1] = LLVMBuildLoad2(g->b, g->i32, element_ptr(g, ld->buf, ld->a, 0), "");
    LLVMSetAlignment(args[k + 1], (unsigned)dtype_size(ld->buf->dtype));
  }
  LLVMTypeRef ft;
  LLVMValueRef fn = e->fn == LI_DOT4_I8     ? llvm_dot4_function(g->mod, &g->isa, &ft)
                     : e->fn == LI_DOT4_U8I8 ? llvm_dot4_u8i8_function(g->mod, &g->isa, &ft)
                                             : llvm_dot2_function(g->mod, &g->isa, &ft);
  return LLVMBuildCall2(g->b, ft, fn, args, 3, "");
}

static LLVMValueRef intrinsic(Gen *g, const LExpr *e) {
  switch (e->fn) {
  case LI_ROUND_EVEN: { /* rintf in the default rounding mode */
    LLVMValueRef a = expr(g, e->a);
    return call_intrinsic(g, "llvm.rint", g->f32, &a, 1);
  }
  case LI_POW: return raw_math(g, e, "pow");
  case LI_HASH_UNIFORM: return hash_uniform(g, e);
  case LI_HASH_BITS: return hash_bits(g, e);
  case LI_SAT_CAST: return sat_cast(g, e);
  case LI_SHR_ROUND: return shr_round(g, e);
  case LI_CLAMP: return clamp(g, e);
  case LI_DOT4_I8: return dot_call(g, e);
  case LI_DOT4_U8I8: return dot_call(g, e);
  case LI_DOT2_I16: return dot_call(g, e);
  case LI_F32_BITS: return LLVMBuildBitCast(g->b, expr(g, e->a), g->i32, "");
  case LI_BITS_F32: return LLVMBuildBitCast(g->b, expr(g, e->a), g->f32, "");
  case LI_COUNT: break;
  }
  /* A new row of ir/intrinsics.h needs its case here: never guess. */
  const LIntrinsicInfo *in = lintrinsic_info(e->fn);
  fail(g, "internal error: no case for intrinsic '%s' (%d)", in ? in->name : "?", (int)e->fn);
  return undef(g, e->type);
}

/* c ? a : b, evaluating only the side taken. */
static LLVMValueRef select_expr(Gen *g, const LExpr *e) {
  LLVMValueRef c = truth(g, expr(g, e->a), e->a->type);
  LLVMBasicBlockRef then = new_block(g, "sel.then"), other = new_block(g, "sel.else"),
                    end = new_block(g, "sel.end");
  LLVMBuildCondBr(g->b, c, then, other);
  LLVMPositionBuilderAtEnd(g->b, then);
  LLVMValueRef a = convert(g, expr(g, e->b), e->b->type, e->type);
  LLVMBasicBlockRef then_end = LLVMGetInsertBlock(g->b);
  LLVMBuildBr(g->b, end);
  LLVMPositionBuilderAtEnd(g->b, other);
  LLVMValueRef b = convert(g, expr(g, e->c), e->c->type, e->type);
  LLVMBasicBlockRef other_end = LLVMGetInsertBlock(g->b);
  LLVMBuildBr(g->b, end);
  LLVMPositionBuilderAtEnd(g->b, end);
  LLVMValueRef phi = LLVMBuildPhi(g->b, g->ty[e->type], "");
  LLVMValueRef vals[2] = {a, b};
  LLVMBasicBlockRef blocks[2] = {then_end, other_end};
  LLVMAddIncoming(phi, vals, blocks, 2);
  return phi;
}

static LLVMValueRef expr(Gen *g, const LExpr *e) {
  if (!e) {
    fail(g, "missing operand");
    return LLVMGetUndef(g->i32);
  }
  if (!valid_type(e->type)) {
    fail(g, "internal error: expression of no type");
    return LLVMGetUndef(g->i32);
  }
  switch (e->kind) {
  case LE_CONST: {
    LLVMValueRef arg = shared_const(g, e);
    if (arg) return arg;
    return e->type == DT_F32 ? cf32(g, e->f) : cint(g->ty[e->type], e->i);
  }
  case LE_VAR:
    if (e->var->kind == LVAR_ARG) {
      if (!g->param[e->var->id]) {
        fail(g, "scalar '%s' is not a parameter of the kernel", e->var->name);
        return undef(g, e->type);
      }
      return g->param[e->var->id];
    }
    return read_var(g, e->var);
  case LE_LOAD: return load(g, e->buf, e->a, 0);
  case LE_BINARY: return binary(g, e);
  case LE_UNARY: return unary(g, e);
  case LE_CAST: return convert(g, expr(g, e->a), e->a->type, e->type);
  case LE_SELECT: return select_expr(g, e);
  case LE_CALL: return intrinsic(g, e);
  }
  fail(g, "internal error: no case for expression kind %d", (int)e->kind);
  return undef(g, e->type);
}

/* ---- statements ----------------------------------------------------- */

static void block(Gen *g, const LStmt *s);

/* Whether a loop's body has a loop in it. */
static bool has_inner_loop(const LStmt *s) {
  for (; s; s = s->next) {
    if (s->kind == LS_FOR) return true;
    if (s->kind == LS_IF && (has_inner_loop(s->body) || has_inner_loop(s->else_body))) return true;
  }
  return false;
}

/* The float operations of an expression. */
static int float_ops(const LExpr *e) {
  if (!e) return 0;
  bool op = e->type == DT_F32 && (e->kind == LE_BINARY || e->kind == LE_UNARY ||
                                  e->kind == LE_SELECT || e->kind == LE_CALL);
  return op + float_ops(e->a) + float_ops(e->b) + float_ops(e->c);
}

/* The float operations of one iteration of a loop body without inner loops. */
static int body_float_ops(const LStmt *s) {
  int n = 0;
  for (; s; s = s->next) {
    n += float_ops(s->value) + float_ops(s->index) + float_ops(s->cond);
    if (s->kind == LS_IF) n += body_float_ops(s->body) + body_float_ops(s->else_body);
  }
  return n;
}

/* The loop's hints as llvm.loop metadata on its latch branch: vectorize
 * as clang's `#pragma clang loop vectorize(enable)`, scalar as
 * `vectorize(disable)`, unroll as `unroll(full)`. LLVM does not unroll a loop the loop IR vectorises
 * (its tiles are unrolled already) nor an outer loop: unrolled, they were
 * blocks of thousands of instructions (lenet5's logits_fwd: 2,761) that
 * took most of the compile time and no step time. Small inner loops it
 * still unrolls (a 2x2 max-pool's gradient: 3x faster), but not one whose
 * iteration does more than UNROLL_FLOAT_OPS_MAX float operations, where a
 * loop's overhead is nothing beside its work (the softmax loss's class
 * loops, an exp each: 812 lines of IR unrolled, 203 not). */
enum { UNROLL_FLOAT_OPS_MAX = 16 };
static void loop_hints(Gen *g, LLVMValueRef latch_br, const LStmt *loop) {
  unsigned hints = loop->hints;
  bool no_unroll = !(hints & LHINT_UNROLL) &&
                   ((hints & LHINT_VECTORIZE) || has_inner_loop(loop->body) ||
                    body_float_ops(loop->body) > UNROLL_FLOAT_OPS_MAX);
  if (!(hints & (LHINT_VECTORIZE | LHINT_UNROLL | LHINT_SCALAR)) && !no_unroll) return;
  LLVMMetadataRef self = LLVMTemporaryMDNode(g->ctx, NULL, 0);
  LLVMMetadataRef ops[4];
  size_t n = 0;
  ops[n++] = self;
  if (hints & LHINT_VECTORIZE) {
    const char *s = "llvm.loop.vectorize.enable";
    LLVMMetadataRef item[2] = {LLVMMDStringInContext2(g->ctx, s, strlen(s)),
                               LLVMValueAsMetadata(LLVMConstInt(g->i1, 1, 0))};
    ops[n++] = LLVMMDNodeInContext2(g->ctx, item, 2);
  }
  if (hints & LHINT_SCALAR) { /* clang's vectorize(disable) */
    const char *s = "llvm.loop.vectorize.width";
    LLVMMetadataRef item[2] = {LLVMMDStringInContext2(g->ctx, s, strlen(s)),
                               LLVMValueAsMetadata(LLVMConstInt(g->i32, 1, 0))};
    ops[n++] = LLVMMDNodeInContext2(g->ctx, item, 2);
  }
  if (hints & LHINT_UNROLL || no_unroll) {
    const char *s = hints & LHINT_UNROLL ? "llvm.loop.unroll.full" : "llvm.loop.unroll.disable";
    LLVMMetadataRef item = LLVMMDStringInContext2(g->ctx, s, strlen(s));
    ops[n++] = LLVMMDNodeInContext2(g->ctx, &item, 1);
  }
  LLVMMetadataRef node = LLVMMDNodeInContext2(g->ctx, ops, n);
  LLVMMetadataReplaceAllUsesWith(self, node);
  LLVMSetMetadata(latch_br, g->loop_kind, LLVMMetadataAsValue(g->ctx, node));
}

/* e as a value of a loop counter of type t, at pointer width if wide. */
static LLVMValueRef counter_value(Gen *g, const LExpr *e, DType t, bool wide) {
  if (wide && e && e->type == DT_I32) return wide_index(g, e);
  LLVMValueRef v = convert(g, expr(g, e), e ? e->type : t, t);
  return wide ? LLVMBuildSExt(g->b, v, g->intptr, "") : v;
}

/* for (T v = lo; v < hi; v += step): hi is evaluated before each
 * iteration, as C does; a signed counter's increment is nsw. */
static void stmt_for(Gen *g, const LStmt *s) {
  if (s->step <= 0) {
    fail(g, "loop step %lld is not positive", (long long)s->step);
    return;
  }
  DType t = s->var->dtype;
  bool wide = wide_var(g, s->var);
  LLVMTypeRef T = wide ? g->intptr : g->ty[t];
  LLVMValueRef v = var_slot(g, s->var);
  LLVMBuildStore(g->b, counter_value(g, s->lo, t, wide), v);
  LLVMBasicBlockRef cond = new_block(g, "for.cond"), body = new_block(g, "for.body"),
                    latch = new_block(g, "for.inc"), exit = new_block(g, "for.end");
  LLVMBuildBr(g->b, cond);
  LLVMPositionBuilderAtEnd(g->b, cond);
  LLVMValueRef i = LLVMBuildLoad2(g->b, T, v, "");
  LLVMValueRef hi = counter_value(g, s->hi, t, wide);
  LLVMBuildCondBr(g->b, icmp(g, LB_LT, dtype_is_unsigned(t), i, hi), body, exit);
  LLVMPositionBuilderAtEnd(g->b, body);
  block(g, s->body);
  LLVMBuildBr(g->b, latch);
  LLVMPositionBuilderAtEnd(g->b, latch);
  i = LLVMBuildLoad2(g->b, T, v, "");
  LLVMValueRef step = cint(T, s->step);
  bool sgn = !dtype_is_unsigned(t) && !is_narrow(t);
  LLVMBuildStore(g->b, sgn ? LLVMBuildNSWAdd(g->b, i, step, "") : LLVMBuildAdd(g->b, i, step, ""),
                 v);
  loop_hints(g, LLVMBuildBr(g->b, cond), s);
  LLVMPositionBuilderAtEnd(g->b, exit);
}

static void stmt_if(Gen *g, const LStmt *s) {
  LLVMValueRef c = truth(g, expr(g, s->cond), s->cond->type);
  LLVMBasicBlockRef then = new_block(g, "if.then"), end = new_block(g, "if.end");
  LLVMBasicBlockRef other = s->else_body ? new_block(g, "if.else") : end;
  LLVMBuildCondBr(g->b, c, then, other);
  LLVMPositionBuilderAtEnd(g->b, then);
  block(g, s->body);
  LLVMBuildBr(g->b, end);
  if (s->else_body) {
    LLVMPositionBuilderAtEnd(g->b, other);
    block(g, s->else_body);
    LLVMBuildBr(g->b, end);
  }
  LLVMPositionBuilderAtEnd(g->b, end);
}

static void stmt(Gen *g, const LStmt *s) {
  switch (s->kind) {
  case LS_FOR: stmt_for(g, s); return;
  case LS_LET:
  case LS_ASSIGN:
    if (wide_var(g, s->var) && s->value && s->value->type == DT_I32)
      LLVMBuildStore(g->b, wide_index(g, s->value), var_slot(g, s->var));
    else
      write_var(g, s->var, convert(g, expr(g, s->value), s->value->type, s->var->dtype));
    return;
  case LS_STORE: {
    LLVMValueRef v = convert(g, expr(g, s->value), s->value->type, s->buf->dtype);
    LLVMValueRef st = LLVMBuildStore(g->b, v, element_ptr(g, s->buf, s->index, 0));
    LLVMSetAlignment(st, (unsigned)dtype_size(s->buf->dtype));
    return;
  }
  case LS_IF: stmt_if(g, s); return;
  }
  fail(g, "internal error: no case for statement kind %d", (int)s->kind);
}

static void block(Gen *g, const LStmt *s) {
  for (; s && g->ok; s = s->next) stmt(g, s);
}

/* ---- kernels -------------------------------------------------------- */

/* The alignment the plan guarantees a buffer: state and work offsets
 * within 64-byte aligned blocks, the caller's arrays their element type. */
static unsigned buffer_align(const LBuffer *b) {
  unsigned elem = (unsigned)dtype_size(b->dtype);
  if ((b->home != LBUF_STATE && b->home != LBUF_WORK) || b->offset < 0) return elem;
  unsigned a = 64;
  while (a > elem && b->offset % a != 0) a /= 2;
  return a;
}

/* Whether only NAME_init calls the kernel: it runs once per run, not once
 * per step. */
static bool init_only(const ProgramPlan *plan, const KernelPlan *kp) {
  for (int e = 0; e < ENTRY_COUNT; e++) {
    const EntryPlan *ep = &plan->entries[e];
    if (e == ENTRY_INIT || !ep->exists) continue;
    for (int c = 0; c < ep->ncalls; c++)
      if (ep->calls[c].kp == kp) return false;
  }
  return true;
}

/* KernelCompatible: kernels of the same code also get the same function
 * here when their parameters' alignments and their optnone agree. */
static bool same_function(const void *ctx, const KernelPlan *a, const KernelPlan *b) {
  const ProgramPlan *plan = ctx;
  if (init_only(plan, a) != init_only(plan, b)) return false;
  for (int i = 0; i < a->nbufs; i++)
    if (buffer_align(a->bufs[i]) != buffer_align(b->bufs[i])) return false;
  return true;
}

/* A kernel's function: its buffers, its entry scalars, then the constants
 * it shares with its twins as arguments (kernel_twins.h). */
static void declare_kernel(Gen *g, const KernelPlan *kp, const KernelConsts *kc) {
  int n = kp->nbufs + kp->nscalars + kc->n;
  LLVMTypeRef *params = arena_alloc(g->p->arena, (size_t)(n + 1) * sizeof *params);
  for (int i = 0; i < kp->nbufs; i++) params[i] = g->ptr;
  for (int i = 0; i < kp->nscalars; i++) params[kp->nbufs + i] = g->ty[kp->scalars[i]->dtype];
  for (int i = 0; i < kc->n; i++) params[kp->nbufs + kp->nscalars + i] = g->ty[kc->slot[i]->type];
  LLVMTypeRef ft = LLVMFunctionType(g->voidt, params, (unsigned)n, 0);
  const char *name = arena_printf(g->p->arena, "%s_k_%s", g->plan->prefix, kp->kernel->name);
  LLVMValueRef fn = LLVMAddFunction(g->mod, name, ft);
  LLVMSetLinkage(fn, LLVMInternalLinkage);
  add_attr(g, fn, LLVMAttributeFunctionIndex, "nounwind", 0);
  /* Kernels stay functions: inlined, lenet5's train_step became one
   * function of 12,600 instructions, which LLVM's schedulers take
   * superlinear time over; a call per kernel and step costs nothing
   * measurable. Identical kernels (resnet20's repeated blocks) are then
   * merged into one by llvm_machine.c's pipeline. */
  add_attr(g, fn, LLVMAttributeFunctionIndex, "noinline", 0);
  /* The initialisers run once per run: no optimisation, LLVM's fast
   * instruction selection; the same bits, as no pass changes them. */
  if (init_only(g->plan, kp)) add_attr(g, fn, LLVMAttributeFunctionIndex, "optnone", 0);
  for (int i = 0; i < kp->nbufs; i++) {
    unsigned idx = (unsigned)i + 1;
    add_attr(g, fn, idx, "noalias", 0); /* the planner keeps a kernel's buffers apart */
    add_attr(g, fn, idx, "nocapture", 0);
    add_attr(g, fn, idx, "align", buffer_align(kp->bufs[i]));
    if (!kp->writes[i]) add_attr(g, fn, idx, "readonly", 0);
  }
  g->kfn[kp->kernel->id] = fn;
  g->kfn_type[kp->kernel->id] = ft;
}

static void define_kernel(Gen *g, const KernelPlan *kp, const KernelConsts *kc) {
  const LKernel *k = kp->kernel;
  g->k = k;
  g->cur_consts = kc->n ? kc : NULL;
  g->fn = g->kfn[k->id];
  memset(g->bufp, 0, (size_t)(g->p->nbuffers + 1) * sizeof *g->bufp);
  memset(g->slot, 0, (size_t)(g->p->nvars + 1) * sizeof *g->slot);
  memset(g->param, 0, (size_t)(g->p->nvars + 1) * sizeof *g->param);
  memset(g->assigned, 0, (size_t)(g->p->nvars + 1) * sizeof *g->assigned);
  mark_assigned(g, k->body);
  for (int i = 0; i < kp->nbufs; i++) g->bufp[kp->bufs[i]->id] = LLVMGetParam(g->fn, (unsigned)i);
  for (int i = 0; i < kp->nscalars; i++)
    g->param[kp->scalars[i]->id] = LLVMGetParam(g->fn, (unsigned)(kp->nbufs + i));
  LLVMBasicBlockRef allocas = new_block(g, "entry"), body = new_block(g, "body");
  LLVMPositionBuilderAtEnd(g->ab, allocas);
  LLVMPositionBuilderAtEnd(g->b, body);
  block(g, k->body);
  LLVMBuildRetVoid(g->b);
  LLVMBuildBr(g->ab, body);
  g->k = NULL;
  g->cur_consts = NULL;
}

/* ---- entries -------------------------------------------------------- */

static LLVMValueRef entry_function(Gen *g, const char *what, LLVMTypeRef ret,
                                   LLVMTypeRef *params, unsigned n) {
  const char *name = arena_printf(g->p->arena, "%s_%s", g->plan->prefix, what);
  LLVMValueRef fn = LLVMAddFunction(g->mod, name, LLVMFunctionType(ret, params, n, 0));
  add_attr(g, fn, LLVMAttributeFunctionIndex, "nounwind", 0);
  if (g->signext) {
    if (ret == g->i32) add_attr(g, fn, LLVMAttributeReturnIndex, "signext", 0);
    for (unsigned i = 0; i < n; i++)
      if (params[i] == g->i32) add_attr(g, fn, i + 1, "signext", 0);
  }
  g->fn = fn;
  LLVMPositionBuilderAtEnd(g->b, new_block(g, "entry"));
  return fn;
}

/* Continues in a new block when bad is false, else jumps to fail. */
static void guard(Gen *g, LLVMValueRef bad, LLVMBasicBlockRef fail_bb) {
  LLVMBasicBlockRef next = new_block(g, "ok");
  LLVMBuildCondBr(g->b, bad, fail_bb, next);
  LLVMPositionBuilderAtEnd(g->b, next);
}

static LLVMBasicBlockRef fail_block(Gen *g, LLVMValueRef value) {
  LLVMBasicBlockRef here = LLVMGetInsertBlock(g->b), bb = new_block(g, "bad_args");
  LLVMPositionBuilderAtEnd(g->b, bb);
  if (value) LLVMBuildRet(g->b, value);
  else LLVMBuildRetVoid(g->b);
  LLVMPositionBuilderAtEnd(g->b, here);
  return bb;
}

static LLVMValueRef is_null(Gen *g, LLVMValueRef p) { return LLVMBuildIsNull(g->b, p, ""); }

static LLVMValueRef any(Gen *g, LLVMValueRef a, LLVMValueRef b) {
  return a ? LLVMBuildOr(g->b, a, b, "") : b;
}

/* octo_misaligned(p, align): p is not a multiple of align (NULL is). */
static LLVMValueRef misaligned(Gen *g, LLVMValueRef p, unsigned align) {
  if (align <= 1) return LLVMConstInt(g->i1, 0, 0);
  LLVMValueRef bits = LLVMBuildPtrToInt(g->b, p, g->intptr, "");
  LLVMValueRef low = LLVMBuildAnd(g->b, bits, cint(g->intptr, align - 1), "");
  return LLVMBuildICmp(g->b, LLVMIntNE, low, LLVMConstNull(g->intptr), "");
}

/* i1 octo_bad_labels(const i32 *y, i32 n, i32 classes): a label of
 * y[0..n) outside 0 .. classes-1. */
static LLVMValueRef bad_labels_fn(Gen *g) {
  if (g->bad_labels) return g->bad_labels;
  LLVMValueRef saved_fn = g->fn;
  LLVMBasicBlockRef saved_bb = LLVMGetInsertBlock(g->b);
  LLVMTypeRef params[3] = {g->ptr, g->i32, g->i32};
  LLVMValueRef fn = LLVMAddFunction(g->mod, "octo_bad_labels",
                                    LLVMFunctionType(g->i1, params, 3, 0));
  LLVMSetLinkage(fn, LLVMInternalLinkage);
  add_attr(g, fn, LLVMAttributeFunctionIndex, "nounwind", 0);
  g->fn = fn;
  LLVMBasicBlockRef entry = new_block(g, "entry"), loop = new_block(g, "loop"),
                    body = new_block(g, "body"), bad = new_block(g, "bad"), ok = new_block(g, "ok");
  LLVMValueRef y = LLVMGetParam(fn, 0), n = LLVMGetParam(fn, 1), classes = LLVMGetParam(fn, 2);
  LLVMPositionBuilderAtEnd(g->b, entry);
  LLVMBuildBr(g->b, loop);
  LLVMPositionBuilderAtEnd(g->b, loop);
  LLVMValueRef i = LLVMBuildPhi(g->b, g->i32, "i");
  LLVMBuildCondBr(g->b, LLVMBuildICmp(g->b, LLVMIntSLT, i, n, ""), body, ok);
  LLVMPositionBuilderAtEnd(g->b, body);
  LLVMValueRef idx = LLVMBuildSExt(g->b, i, g->intptr, "");
  LLVMValueRef label =
      LLVMBuildLoad2(g->b, g->i32, LLVMBuildInBoundsGEP2(g->b, g->i32, y, &idx, 1, ""), "");
  LLVMValueRef out = LLVMBuildOr(g->b, LLVMBuildICmp(g->b, LLVMIntSLT, label, cint(g->i32, 0), ""),
                                 LLVMBuildICmp(g->b, LLVMIntSGE, label, classes, ""), "");
  LLVMValueRef next = LLVMBuildNSWAdd(g->b, i, cint(g->i32, 1), "");
  LLVMBuildCondBr(g->b, out, bad, loop);
  LLVMValueRef vals[2] = {cint(g->i32, 0), next};
  LLVMBasicBlockRef from[2] = {entry, body};
  LLVMAddIncoming(i, vals, from, 2);
  LLVMPositionBuilderAtEnd(g->b, bad);
  LLVMBuildRet(g->b, LLVMConstInt(g->i1, 1, 0));
  LLVMPositionBuilderAtEnd(g->b, ok);
  LLVMBuildRet(g->b, LLVMConstInt(g->i1, 0, 0));
  g->bad_labels = fn;
  g->fn = saved_fn;
  LLVMPositionBuilderAtEnd(g->b, saved_bb);
  return fn;
}

static LLVMValueRef bad_labels(Gen *g, LLVMValueRef y, LLVMValueRef n, int classes) {
  LLVMValueRef fn = bad_labels_fn(g);
  LLVMValueRef args[3] = {y, n, cint(g->i32, classes)};
  return LLVMBuildCall2(g->b, LLVMGlobalGetValueType(fn), fn, args, 3, "");
}

/* What an entry has at hand for its kernels' arguments. */
typedef struct EntryArgs {
  LLVMValueRef state, work, x, y, pred, n, seed;
} EntryArgs;

static LLVMValueRef byte_ptr(Gen *g, LLVMValueRef base, int64_t offset) {
  LLVMValueRef off = cint(g->intptr, offset);
  return LLVMBuildInBoundsGEP2(g->b, g->i8, base, &off, 1, "");
}

static LLVMValueRef call_arg(Gen *g, const LBuffer *b, const EntryArgs *a) {
  switch (plan_arg_base(g->plan, b)) {
  case AT_X: return a->x;
  case AT_Y: return a->y;
  case AT_PRED: return a->pred;
  case AT_CONST: return g->cglobal[b->id];
  case AT_STATE: return byte_ptr(g, a->state, b->offset);
  case AT_WORK: return byte_ptr(g, a->work, b->offset);
  }
  return LLVMConstNull(g->ptr);
}

static void emit_calls(Gen *g, const EntryPlan *e, const EntryArgs *a) {
  for (int c = 0; c < e->ncalls && g->ok; c++) {
    const KernelPlan *kp = e->calls[c].kp;
    LLVMBasicBlockRef after = NULL;
    if (e->calls[c].only_with_pred) {
      LLVMBasicBlockRef call = new_block(g, "with_pred");
      after = new_block(g, "after");
      LLVMBuildCondBr(g->b, is_null(g, a->pred), after, call);
      LLVMPositionBuilderAtEnd(g->b, call);
    }
    const KernelConsts *kc = &g->kconst[kp - g->plan->kernels];
    int n = kp->nbufs + kp->nscalars + kc->n;
    LLVMValueRef *args = arena_alloc(g->p->arena, (size_t)(n + 1) * sizeof *args);
    for (int i = 0; i < kc->n; i++)
      args[kp->nbufs + kp->nscalars + i] = cint(g->ty[kc->slot[i]->type], kc->value[i]);
    for (int i = 0; i < kp->nbufs; i++) args[i] = call_arg(g, kp->bufs[i], a);
    for (int i = 0; i < kp->nscalars; i++) {
      const LVar *v = kp->scalars[i];
      bool is_n = strcmp(v->name, "n") == 0;
      LLVMValueRef s = is_n ? a->n : a->seed;
      if (!s) {
        fail(g, "kernel '%s' reads '%s', which its entry does not have", kp->kernel->name,
             v->name);
        return;
      }
      /* (T)n from int, (T)seed from uint64_t (the same bits as i64) */
      args[kp->nbufs + i] = convert(g, s, is_n ? DT_I32 : DT_I64, v->dtype);
    }
    const LKernel *k = kp->kernel;
    LLVMBuildCall2(g->b, g->kfn_type[k->id], g->kfn[k->id], args, (unsigned)n, "");
    if (after) {
      LLVMBuildBr(g->b, after);
      LLVMPositionBuilderAtEnd(g->b, after);
    }
  }
}

static LLVMValueRef load_at(Gen *g, LLVMTypeRef t, LLVMValueRef base, int64_t offset) {
  LLVMValueRef v = LLVMBuildLoad2(g->b, t, byte_ptr(g, base, offset), "");
  LLVMSetAlignment(v, 4);
  return v;
}

/* n outside 1 .. BATCH */
static LLVMValueRef bad_n(Gen *g, LLVMValueRef n) {
  return LLVMBuildOr(g->b, LLVMBuildICmp(g->b, LLVMIntSLT, n, cint(g->i32, 1), ""),
                     LLVMBuildICmp(g->b, LLVMIntSGT, n, cint(g->i32, g->p->batch), ""), "");
}

static LLVMValueRef no_work(Gen *g, LLVMValueRef work) {
  return g->p->work_bytes > 0 ? is_null(g, work) : LLVMConstInt(g->i1, 0, 0);
}

static unsigned input_size(Gen *g) { return (unsigned)dtype_size(g->plan->input_dtype); }

/* The arguments every batch entry checks (train step, predict, eval): the
 * state, work arena and input present, and each aligned as the API says. */
static LLVMValueRef batch_args_missing(Gen *g, const EntryArgs *a) {
  return any(g, any(g, is_null(g, a->state), no_work(g, a->work)), is_null(g, a->x));
}

static LLVMValueRef batch_args_misaligned(Gen *g, const EntryArgs *a) {
  LLVMValueRef c = any(g, misaligned(g, a->state, 64), misaligned(g, a->work, 64));
  return any(g, c, misaligned(g, a->x, input_size(g)));
}

static void emit_init(Gen *g) {
  const EntryPlan *e = &g->plan->entries[ENTRY_INIT];
  LLVMTypeRef params[2] = {g->ptr, g->i64};
  LLVMValueRef fn = entry_function(g, "init", g->i32, params, 2);
  EntryArgs a = {.state = LLVMGetParam(fn, 0), .seed = LLVMGetParam(fn, 1)};
  LLVMBasicBlockRef bad = fail_block(g, cint(g->i32, -1));
  guard(g, is_null(g, a.state), bad);
  guard(g, misaligned(g, a.state, 64), bad);
  LLVMBuildMemSet(g->b, a.state, LLVMConstInt(g->i8, 0, 0), cint(g->intptr, g->p->state_bytes), 64);
  emit_calls(g, e, &a);
  LLVMBuildRet(g->b, cint(g->i32, 0));
}

static LLVMValueRef nan_value(Gen *g) { return cf32(g, NAN); }

static void emit_train_step(Gen *g) {
  const ProgramPlan *plan = g->plan;
  const EntryPlan *e = &plan->entries[ENTRY_TRAIN_STEP];
  LLVMTypeRef params[6] = {g->ptr, g->ptr, g->ptr, g->ptr, g->i32, g->ptr};
  LLVMValueRef fn = entry_function(g, "train_step_pred", g->f32, params, 6);
  EntryArgs a = {LLVMGetParam(fn, 0), LLVMGetParam(fn, 1), LLVMGetParam(fn, 2),
                 LLVMGetParam(fn, 3), LLVMGetParam(fn, 5), LLVMGetParam(fn, 4), NULL};
  LLVMValueRef scratch = NULL;
  if (e->pred == PRED_SCRATCH) {
    DType pt = plan->regression ? DT_F32 : DT_I32;
    LLVMTypeRef at = LLVMArrayType(g->ty[pt], (unsigned)shape_numel(&g->p->pred->shape));
    scratch = LLVMBuildAlloca(g->b, at, "pred_scratch");
  }
  LLVMBasicBlockRef bad = fail_block(g, nan_value(g));
  LLVMValueRef c = batch_args_missing(g, &a);
  if (e->y_required) c = any(g, c, is_null(g, a.y));
  guard(g, any(g, c, bad_n(g, a.n)), bad);
  c = batch_args_misaligned(g, &a);
  c = any(g, c, misaligned(g, a.y, 4));
  guard(g, any(g, c, misaligned(g, a.pred, 4)), bad);
  if (e->label_classes > 0) guard(g, bad_labels(g, a.y, a.n, e->label_classes), bad);
  switch (e->pred) {
  case PRED_SKIP:
  case PRED_UNUSED: break;
  case PRED_SCRATCH: a.pred = LLVMBuildSelect(g->b, is_null(g, a.pred), scratch, a.pred, ""); break;
  case PRED_REQUIRED: guard(g, is_null(g, a.pred), bad); break;
  }
  emit_calls(g, e, &a);
  const LBuffer *loss = g->p->loss;
  LLVMBuildRet(g->b, load_at(g, g->f32, loss->home == LBUF_STATE ? a.state : a.work, loss->offset));
  /* NAME_train_step: the same with pred = NULL */
  LLVMValueRef full = fn;
  LLVMValueRef short_fn = entry_function(g, "train_step", g->f32, params, 5);
  LLVMValueRef args[6];
  for (unsigned i = 0; i < 5; i++) args[i] = LLVMGetParam(short_fn, i);
  args[5] = LLVMConstNull(g->ptr);
  LLVMValueRef call = LLVMBuildCall2(g->b, LLVMGlobalGetValueType(full), full, args, 6, "");
  LLVMBuildRet(g->b, call);
}

static void emit_predict(Gen *g) {
  const EntryPlan *e = &g->plan->entries[ENTRY_PREDICT];
  LLVMTypeRef params[5] = {g->ptr, g->ptr, g->ptr, g->ptr, g->i32};
  LLVMValueRef fn = entry_function(g, "predict", g->i32, params, 5);
  EntryArgs a = {LLVMGetParam(fn, 0), LLVMGetParam(fn, 1), LLVMGetParam(fn, 2), NULL,
                 LLVMGetParam(fn, 3), LLVMGetParam(fn, 4), NULL};
  LLVMBasicBlockRef bad = fail_block(g, cint(g->i32, -1));
  LLVMValueRef c = batch_args_missing(g, &a);
  if (e->uses_pred) c = any(g, c, is_null(g, a.pred));
  guard(g, any(g, c, bad_n(g, a.n)), bad);
  c = batch_args_misaligned(g, &a);
  guard(g, any(g, c, misaligned(g, a.pred, 4)), bad);
  emit_calls(g, e, &a);
  LLVMBuildRet(g->b, cint(g->i32, 0));
}

static void emit_eval(Gen *g) {
  const ProgramPlan *plan = g->plan;
  const EntryPlan *e = &plan->entries[ENTRY_EVAL];
  if (!e->exists) return;
  LLVMTypeRef params[7] = {g->ptr, g->ptr, g->ptr, g->ptr, g->i32, g->ptr, g->ptr};
  LLVMValueRef fn = entry_function(g, "eval", g->i32, params, 7);
  EntryArgs a = {LLVMGetParam(fn, 0), LLVMGetParam(fn, 1), LLVMGetParam(fn, 2),
                 LLVMGetParam(fn, 3), NULL, LLVMGetParam(fn, 4), NULL};
  LLVMValueRef loss_sum = LLVMGetParam(fn, 5), correct = LLVMGetParam(fn, 6);
  LLVMBasicBlockRef bad = fail_block(g, cint(g->i32, -1));
  LLVMValueRef c = batch_args_missing(g, &a);
  if (e->y_required) c = any(g, c, is_null(g, a.y));
  c = any(g, c, is_null(g, loss_sum));
  guard(g, any(g, c, bad_n(g, a.n)), bad);
  c = batch_args_misaligned(g, &a);
  c = any(g, c, misaligned(g, a.y, 4));
  c = any(g, c, misaligned(g, loss_sum, 4));
  guard(g, any(g, c, misaligned(g, correct, 4)), bad);
  if (e->label_classes > 0) guard(g, bad_labels(g, a.y, a.n, e->label_classes), bad);
  emit_calls(g, e, &a);
  LLVMValueRef st = LLVMBuildStore(g->b, load_at(g, g->f32, a.work, plan->eval_loss->offset),
                                   loss_sum);
  LLVMSetAlignment(st, 4);
  LLVMBasicBlockRef store = new_block(g, "correct"), done = new_block(g, "done");
  LLVMBuildCondBr(g->b, is_null(g, correct), done, store);
  LLVMPositionBuilderAtEnd(g->b, store);
  LLVMValueRef v = plan->eval_correct ? load_at(g, g->i32, a.work, plan->eval_correct->offset)
                                      : cint(g->i32, 0);
  st = LLVMBuildStore(g->b, v, correct);
  LLVMSetAlignment(st, 4);
  LLVMBuildBr(g->b, done);
  LLVMPositionBuilderAtEnd(g->b, done);
  LLVMBuildRet(g->b, cint(g->i32, 0));
}

static void emit_set_epoch(Gen *g) {
  if (!g->plan->entries[ENTRY_SET_EPOCH].exists) return;
  LLVMTypeRef params[2] = {g->ptr, g->i32};
  LLVMValueRef fn = entry_function(g, "set_epoch", g->voidt, params, 2);
  LLVMValueRef state = LLVMGetParam(fn, 0);
  LLVMBasicBlockRef bad = fail_block(g, NULL);
  guard(g, any(g, is_null(g, state), misaligned(g, state, 64)), bad);
  LLVMValueRef st =
      LLVMBuildStore(g->b, LLVMGetParam(fn, 1), byte_ptr(g, state, g->p->epoch->offset));
  LLVMSetAlignment(st, 4);
  LLVMBuildRetVoid(g->b);
}

/* ---- data ----------------------------------------------------------- */

/* The CONST buffers the called kernels read, as internal constant arrays. */
static void emit_consts(Gen *g) {
  const LProgram *p = g->p;
  for (int i = 0; i < g->plan->nkernels; i++) {
    const KernelPlan *kp = &g->plan->kernels[i];
    for (int j = 0; j < kp->nbufs; j++) {
      const LBuffer *b = kp->bufs[j];
      if (b->home != LBUF_CONST || g->cglobal[b->id]) continue;
      int64_t n = shape_numel(&b->shape);
      if (n < 1) n = 1;
      LLVMValueRef *vals = malloc((size_t)n * sizeof *vals);
      if (!vals) {
        fail(g, "out of memory");
        return;
      }
      for (int64_t k = 0; k < n; k++)
        vals[k] = b->dtype == DT_F32 ? cf32(g, b->data ? lconst_f32(b, k) : 0.0f)
                                     : cint(g->ty[b->dtype], b->data ? lconst_int(b, k) : 0);
      LLVMValueRef init = LLVMConstArray2(g->ty[b->dtype], vals, (uint64_t)n);
      free(vals);
      const char *name = arena_printf(p->arena, "%s_const_%s", g->plan->prefix, b->name);
      LLVMValueRef gv = LLVMAddGlobal(g->mod, LLVMTypeOf(init), name);
      LLVMSetInitializer(gv, init);
      LLVMSetGlobalConstant(gv, 1);
      LLVMSetLinkage(gv, LLVMInternalLinkage);
      LLVMSetAlignment(gv, 64);
      g->cglobal[b->id] = gv;
    }
  }
}

/* const NAME_tensor_info NAME_tensors[]: {name, dtype, role, rank,
 * shape[6], offset, bytes} rows and a NULL-named end, laid out by the
 * target's data layout as its C compiler lays out the header's struct. */
static void emit_tensor_table(Gen *g) {
  const ProgramPlan *plan = g->plan;
  LLVMTypeRef shape_t = LLVMArrayType(g->i64, 6);
  LLVMTypeRef fields[7] = {g->ptr, g->i32, g->i32, g->i32, shape_t, g->intptr, g->intptr};
  LLVMTypeRef row_t = LLVMStructTypeInContext(g->ctx, fields, 7, 0);
  int n = plan->ntensors + 1;
  LLVMValueRef *rows = arena_alloc(g->p->arena, (size_t)n * sizeof *rows);
  for (int i = 0; i < n; i++) {
    const LBuffer *b = i < plan->ntensors ? plan->tensors[i] : NULL;
    LLVMValueRef dims[6];
    for (int d = 0; d < 6; d++)
      dims[d] = cint(g->i64, b && d < b->shape.rank && d < MAX_RANK ? b->shape.dim[d] : 0);
    LLVMValueRef name = LLVMConstNull(g->ptr);
    if (b) {
      LLVMValueRef s = LLVMConstStringInContext(g->ctx, b->name, (unsigned)strlen(b->name), 0);
      name = LLVMAddGlobal(g->mod, LLVMTypeOf(s), ".tensor_name");
      LLVMSetInitializer(name, s);
      LLVMSetGlobalConstant(name, 1);
      LLVMSetLinkage(name, LLVMPrivateLinkage);
      LLVMSetUnnamedAddress(name, LLVMGlobalUnnamedAddr);
    }
    LLVMValueRef v[7] = {name,
                         cint(g->i32, b ? (int)b->dtype : 0),
                         cint(g->i32, b ? plan_tensor_kind(b->role) : 0),
                         cint(g->i32, b ? b->shape.rank : 0),
                         LLVMConstArray2(g->i64, dims, 6),
                         cint(g->intptr, b ? b->offset : 0),
                         cint(g->intptr, b ? plan_buffer_bytes(b) : 0)};
    rows[i] = LLVMConstNamedStruct(row_t, v, 7);
  }
  LLVMValueRef table = LLVMConstArray2(row_t, rows, (uint64_t)n);
  const char *name = arena_printf(g->p->arena, "%s_tensors", plan->prefix);
  LLVMValueRef gv = LLVMAddGlobal(g->mod, LLVMTypeOf(table), name);
  LLVMSetInitializer(gv, table);
  LLVMSetGlobalConstant(gv, 1);
}

bool llvm_codegen(const ProgramPlan *plan, LLVMModuleRef mod, const LlvmCodegenOptions *o) {
  const LProgram *p = plan->p;
  Gen G = {0}, *g = &G;
  g->plan = plan;
  g->p = p;
  g->mod = mod;
  g->ctx = LLVMGetModuleContext(mod);
  g->err = o && o->errors ? o->errors : stderr;
  g->signext = o && o->sign_extend_i32;
  if (o) g->isa = o->isa;
  g->ok = true;
  g->i1 = LLVMInt1TypeInContext(g->ctx);
  g->i8 = LLVMInt8TypeInContext(g->ctx);
  g->i32 = LLVMInt32TypeInContext(g->ctx);
  g->i64 = LLVMInt64TypeInContext(g->ctx);
  g->f32 = LLVMFloatTypeInContext(g->ctx);
  g->ptr = LLVMPointerTypeInContext(g->ctx, 0);
  g->voidt = LLVMVoidTypeInContext(g->ctx);
  LLVMTargetDataRef td = LLVMGetModuleDataLayout(mod);
  g->intptr = LLVMIntPtrTypeInContext(g->ctx, td);
  LLVMTypeRef i16 = LLVMInt16TypeInContext(g->ctx);
  g->ty[DT_F32] = g->f32;
  g->ty[DT_I8] = g->ty[DT_U8] = g->i8;
  g->ty[DT_I16] = g->ty[DT_U16] = i16;
  g->ty[DT_I32] = g->ty[DT_U32] = g->i32;
  g->ty[DT_I64] = g->i64;
  g->loop_kind = LLVMGetMDKindIDInContext(g->ctx, "llvm.loop", 9);
  Arena *a = p->arena;
  g->kfn = arena_alloc(a, (size_t)(p->nkernels + 1) * sizeof *g->kfn);
  g->kfn_type = arena_alloc(a, (size_t)(p->nkernels + 1) * sizeof *g->kfn_type);
  g->cglobal = arena_alloc(a, (size_t)(p->nbuffers + 1) * sizeof *g->cglobal);
  g->bufp = arena_alloc(a, (size_t)(p->nbuffers + 1) * sizeof *g->bufp);
  g->slot = arena_alloc(a, (size_t)(p->nvars + 1) * sizeof *g->slot);
  g->param = arena_alloc(a, (size_t)(p->nvars + 1) * sizeof *g->param);
  g->assigned = arena_alloc(a, (size_t)(p->nvars + 1) * sizeof *g->assigned);
  memset(g->assigned, 0, (size_t)(p->nvars + 1) * sizeof *g->assigned);
  g->b = LLVMCreateBuilderInContext(g->ctx);
  g->ab = LLVMCreateBuilderInContext(g->ctx);
  emit_consts(g);
  emit_tensor_table(g);
  /* identical kernels built once (kernel_twins.h), from -O1 */
  int *twin = arena_alloc(g->p->arena, (size_t)(plan->nkernels + 1) * sizeof *twin);
  KernelConsts *kc = arena_alloc(g->p->arena, (size_t)(plan->nkernels + 1) * sizeof *kc);
  for (int i = 0; i < plan->nkernels; i++) twin[i] = i, kc[i].n = 0;
  if (o && o->merge_twins) kernel_twins(plan, same_function, plan, twin, kc);
  g->kconst = kc;
  for (int i = 0; i < plan->nkernels; i++) {
    const KernelPlan *kp = &plan->kernels[i], *first = &plan->kernels[twin[i]];
    if (twin[i] == i) {
      declare_kernel(g, kp, &kc[i]);
    } else {
      g->kfn[kp->kernel->id] = g->kfn[first->kernel->id];
      g->kfn_type[kp->kernel->id] = g->kfn_type[first->kernel->id];
    }
  }
  for (int i = 0; i < plan->nkernels && g->ok; i++)
    if (twin[i] == i) define_kernel(g, &plan->kernels[i], &kc[i]);
  if (g->ok) {
    emit_init(g);
    emit_train_step(g);
    emit_predict(g);
    emit_eval(g);
    emit_set_epoch(g);
  }
  LLVMDisposeBuilder(g->b);
  LLVMDisposeBuilder(g->ab);
  return g->ok;
}
