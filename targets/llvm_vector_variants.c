/* Scalar functions with vector variants (llvm_vector_variants.h).
 *
 * LLVM 19 does not select pmaddwd for the int16 pair products of
 * passes/lower_int8.c written as plain IR (two sign extensions, two
 * multiplies and an add per lane of a vectorised loop: it shuffles the
 * even and odd halves apart first), nor sdot for the int8 quads, so
 * dot2_i16 and dot4_i8 are calls whose vector variants say pmaddwd and
 * sdot outright. The vectoriser picks the variant of its width; the
 * scalar function is what remainder iterations and unvectorised loops
 * call. Both compute the same integers. */
#include "llvm_vector_variants.h"

#include <stdio.h>
#include <string.h>

/* The functions, by the number of k one i32 lane holds (G): 2 int16 or 4
 * int8. */
typedef enum { DOT2_I16, DOT4_I8, DOT4_U8I8, NFUNCTIONS } DotFn;
static const char *const fn_name[NFUNCTIONS] = {"octo.dot2_i16", "octo.dot4_i8", "octo.dot4_u8i8"};
enum { NVARIANTS = 3 };
static const unsigned variant_lanes[NVARIANTS] = {4, 8, 16};

static void fn_attr(LLVMContextRef ctx, LLVMValueRef fn, const char *name, uint64_t val) {
  unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
  LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(ctx, kind, val));
}

/* internal, nounwind, no memory access (memory(none) is encoded 0) */
static LLVMValueRef pure_function(LLVMModuleRef mod, const char *name, LLVMTypeRef ft) {
  LLVMContextRef ctx = LLVMGetModuleContext(mod);
  LLVMValueRef fn = LLVMAddFunction(mod, name, ft);
  LLVMSetLinkage(fn, LLVMInternalLinkage);
  fn_attr(ctx, fn, "nounwind", 0);
  fn_attr(ctx, fn, "willreturn", 0);
  fn_attr(ctx, fn, "memory", 0);
  return fn;
}

/* The lanes lo .. lo+n-1 of v, as a vector of n. */
static LLVMValueRef lanes(LLVMBuilderRef b, LLVMValueRef v, unsigned lo, unsigned n,
                          unsigned step) {
  LLVMContextRef ctx = LLVMGetTypeContext(LLVMTypeOf(v));
  LLVMValueRef idx[32];
  for (unsigned i = 0; i < n; i++)
    idx[i] = LLVMConstInt(LLVMInt32TypeInContext(ctx), lo + i * step, 0);
  return LLVMBuildShuffleVector(b, v, LLVMGetPoison(LLVMTypeOf(v)), LLVMConstVector(idx, n), "");
}

/* The group products of a and c (<n x i32>, each lane g signed integers
 * of 32/g bits: two i16 for dot2_i16, four i8 for dot4_i8), summed per
 * lane, in plain IR: all g*n products widened, then each lane's g added
 * (AArch64 pairs: smull, smull2, addp). */
static LLVMValueRef groups_of(LLVMBuilderRef b, LLVMValueRef a, LLVMValueRef c, unsigned n,
                              unsigned g, bool a_unsigned) {
  LLVMContextRef ctx = LLVMGetTypeContext(LLVMTypeOf(a));
  LLVMTypeRef narrow = LLVMVectorType(LLVMIntTypeInContext(ctx, 32 / g), g * n);
  LLVMTypeRef w32 = LLVMVectorType(LLVMInt32TypeInContext(ctx), g * n);
  LLVMValueRef an = LLVMBuildBitCast(b, a, narrow, "");
  LLVMValueRef x = a_unsigned ? LLVMBuildZExt(b, an, w32, "") : LLVMBuildSExt(b, an, w32, "");
  LLVMValueRef y = LLVMBuildSExt(b, LLVMBuildBitCast(b, c, narrow, ""), w32, "");
  LLVMValueRef m = LLVMBuildMul(b, x, y, ""), s = lanes(b, m, 0, n, g);
  for (unsigned k = 1; k < g; k++) s = LLVMBuildAdd(b, s, lanes(b, m, k, n, g), "");
  return s;
}

static LLVMValueRef groups_generic(LLVMBuilderRef b, LLVMValueRef a, LLVMValueRef c, unsigned n,
                                   unsigned g) {
  return groups_of(b, a, c, n, g, false);
}

/* The pieces (a power of two of them, w lanes each) concatenated
 * pairwise into one vector; part is overwritten. */
static LLVMValueRef concat(LLVMBuilderRef b, LLVMValueRef *part, unsigned pieces, unsigned w) {
  LLVMTypeRef i32 = LLVMInt32TypeInContext(LLVMGetTypeContext(LLVMTypeOf(part[0])));
  for (; pieces > 1; pieces /= 2, w *= 2)
    for (unsigned i = 0; i < pieces / 2; i++) {
      LLVMValueRef idx[32];
      for (unsigned k = 0; k < 2 * w; k++) idx[k] = LLVMConstInt(i32, k, 0);
      part[i] = LLVMBuildShuffleVector(b, part[2 * i], part[2 * i + 1],
                                       LLVMConstVector(idx, 2 * w), "");
    }
  return part[0];
}

/* x86's 128-bit pmaddwd on a and b of 4 lanes. */
static LLVMValueRef pmadd(LLVMBuilderRef b, LLVMModuleRef mod, LLVMValueRef a, LLVMValueRef c) {
  const char *name = "llvm.x86.sse2.pmadd.wd";
  LLVMContextRef ctx = LLVMGetModuleContext(mod);
  unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
  LLVMValueRef fn = LLVMGetIntrinsicDeclaration(mod, id, NULL, 0);
  LLVMTypeRef ft = LLVMIntrinsicGetType(ctx, id, NULL, 0);
  LLVMTypeRef v16 = LLVMVectorType(LLVMInt16TypeInContext(ctx), 8);
  LLVMValueRef args[2] = {LLVMBuildBitCast(b, a, v16, ""), LLVMBuildBitCast(b, c, v16, "")};
  return LLVMBuildCall2(b, ft, fn, args, 2, "");
}

/* The pair products of n lanes (a multiple of 4) by pmaddwd: one per 4
 * lanes, the pieces concatenated pairwise. */
static LLVMValueRef pairs_x86(LLVMBuilderRef b, LLVMModuleRef mod, LLVMValueRef a, LLVMValueRef c,
                              unsigned n) {
  enum { W = 4 };
  LLVMValueRef part[16] = {0};
  unsigned pieces = n / W;
  for (unsigned i = 0; i < pieces; i++)
    part[i] = pieces == 1 ? pmadd(b, mod, a, c)
                          : pmadd(b, mod, lanes(b, a, i * W, W, 1), lanes(b, c, i * W, W, 1));
  return concat(b, part, pieces, W);
}

/* The declaration of the overloaded intrinsic `name` on the given types. */
static LLVMValueRef intrinsic_decl(LLVMModuleRef mod, const char *name, LLVMTypeRef *over,
                                   size_t nover, LLVMTypeRef *type) {
  unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
  *type = LLVMIntrinsicGetType(LLVMGetModuleContext(mod), id, over, nover);
  return LLVMGetIntrinsicDeclaration(mod, id, over, nover);
}

/* The vectors of n lanes (a multiple of 4) cut into 4-lane pieces, each
 * given to one (the Arm sdot) intrinsic call f(acc, a, b) on <4 x i32>
 * accumulators and <16 x i8> operands, the results concatenated. */
static LLVMValueRef quads_sdot(LLVMBuilderRef b, LLVMModuleRef mod, const char *name,
                               LLVMValueRef acc, LLVMValueRef a, LLVMValueRef c, unsigned n) {
  enum { W = 4 };
  LLVMContextRef ctx = LLVMGetModuleContext(mod);
  LLVMTypeRef i32 = LLVMInt32TypeInContext(ctx);
  LLVMTypeRef over[2] = {LLVMVectorType(i32, W), LLVMVectorType(LLVMInt8TypeInContext(ctx), 4 * W)};
  LLVMTypeRef ft;
  LLVMValueRef fn = intrinsic_decl(mod, name, over, 2, &ft);
  LLVMValueRef part[16] = {0};
  unsigned pieces = n / W;
  for (unsigned i = 0; i < pieces; i++) {
    LLVMValueRef args[3] = {pieces == 1 ? acc : lanes(b, acc, i * W, W, 1),
                            pieces == 1 ? a : lanes(b, a, i * W, W, 1),
                            pieces == 1 ? c : lanes(b, c, i * W, W, 1)};
    args[1] = LLVMBuildBitCast(b, args[1], over[1], "");
    args[2] = LLVMBuildBitCast(b, args[2], over[1], "");
    part[i] = LLVMBuildCall2(b, ft, fn, args, 3, "");
  }
  return concat(b, part, pieces, W);
}

/* <n x i32> of x in every lane. */
static LLVMValueRef splat(LLVMTypeRef v, uint32_t x, unsigned n) {
  LLVMValueRef lane[16];
  for (unsigned i = 0; i < n; i++) lane[i] = LLVMConstInt(LLVMGetElementType(v), x, 0);
  return LLVMConstVector(lane, n);
}

/* x86's vpdpbusd on n lanes (acc plus, per i32 lane, the four products of
 * a's unsigned and c's signed bytes, wrapping) in pieces of at most 8
 * lanes: the 128- and 256-bit forms, which AVX-VNNI and AVX512-VNNI with
 * AVX512VL both have; of 16 with AVX512-VNNI (the 512-bit form).
 * Emulated: the same integers in plain IR. */
static LLVMValueRef vpdpbusd(LLVMBuilderRef b, LLVMModuleRef mod, const VectorIsa *isa,
                             LLVMValueRef acc, LLVMValueRef a, LLVMValueRef c, unsigned n) {
  if (isa->vnni_emulated) return LLVMBuildAdd(b, acc, groups_of(b, a, c, n, 4, true), "");
  unsigned widest = isa->vnni512 ? 16 : 8, w = n < widest ? n : widest, pieces = n / w;
  const char *name = w == 4   ? "llvm.x86.avx512.vpdpbusd.128"
                     : w == 8 ? "llvm.x86.avx512.vpdpbusd.256"
                              : "llvm.x86.avx512.vpdpbusd.512";
  LLVMTypeRef ft;
  LLVMValueRef fn = intrinsic_decl(mod, name, NULL, 0, &ft);
  LLVMTypeRef param[3];
  LLVMGetParamTypes(ft, param);
  LLVMValueRef part[16] = {0};
  for (unsigned i = 0; i < pieces; i++) {
    LLVMValueRef in[3] = {acc, a, c}, args[3];
    for (int k = 0; k < 3; k++)
      args[k] = LLVMBuildBitCast(b, pieces == 1 ? in[k] : lanes(b, in[k], i * w, w, 1), param[k],
                                 "");
    part[i] = LLVMBuildCall2(b, ft, fn, args, 3, "");
  }
  return concat(b, part, pieces, w);
}

/* acc + the signed quads of a and c by vpdpbusd, which takes a unsigned:
 * with a's bytes moved up by 128 (xor 0x80) it counts 128 times c's bytes
 * too much, and c's byte sums are vpdpbusd of bytes 1 by c. Every step
 * wraps at 32 bits, so the result is the signed sum's, modulo 2^32, as
 * the scalar function's. */
static LLVMValueRef quads_vnni(LLVMBuilderRef b, LLVMModuleRef mod, const VectorIsa *isa,
                               LLVMValueRef acc, LLVMValueRef a, LLVMValueRef c, unsigned n) {
  LLVMTypeRef v = LLVMTypeOf(a);
  LLVMValueRef bias = splat(v, 0x80808080u, n), ones = splat(v, 0x01010101u, n);
  LLVMValueRef moved = vpdpbusd(b, mod, isa, acc, LLVMBuildXor(b, a, bias, ""), c, n);
  LLVMValueRef csum = vpdpbusd(b, mod, isa, LLVMConstNull(v), ones, c, n);
  return LLVMBuildSub(b, moved, LLVMBuildShl(b, csum, splat(v, 7, n), ""), "");
}

/* acc + the group products of a and c, n lanes. */
static LLVMValueRef variant_body(LLVMBuilderRef b, LLVMModuleRef mod, const VectorIsa *isa,
                                 DotFn f, LLVMValueRef acc, LLVMValueRef a, LLVMValueRef c,
                                 unsigned n) {
  if (f == DOT4_I8 && isa->sdot) return quads_sdot(b, mod, isa->sdot, acc, a, c, n);
  if (f == DOT4_I8 && isa->vnni) return quads_vnni(b, mod, isa, acc, a, c, n);
  if (f == DOT4_U8I8 && isa->vnni) return vpdpbusd(b, mod, isa, acc, a, c, n);
  if (f == DOT4_U8I8) return LLVMBuildAdd(b, acc, groups_of(b, a, c, n, 4, true), "");
  LLVMValueRef s = f == DOT4_I8 ? groups_generic(b, a, c, n, 4)
                   : isa->x86   ? pairs_x86(b, mod, a, c, n)
                                : groups_generic(b, a, c, n, 2);
  return LLVMBuildAdd(b, acc, s, "");
}

/* <n x i32> fn_name[f].vN(acc, a, b), always inlined. */
static LLVMValueRef define_variant(LLVMModuleRef mod, const VectorIsa *isa, DotFn f, unsigned n) {
  LLVMContextRef ctx = LLVMGetModuleContext(mod);
  LLVMTypeRef v32 = LLVMVectorType(LLVMInt32TypeInContext(ctx), n);
  LLVMTypeRef params[3] = {v32, v32, v32};
  char name[64];
  snprintf(name, sizeof name, "%s.v%u", fn_name[f], n);
  LLVMValueRef fn = pure_function(mod, name, LLVMFunctionType(v32, params, 3, 0));
  fn_attr(ctx, fn, "alwaysinline", 0);
  LLVMBuilderRef b = LLVMCreateBuilderInContext(ctx);
  LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(ctx, fn, "entry"));
  LLVMBuildRet(b, variant_body(b, mod, isa, f, LLVMGetParam(fn, 0), LLVMGetParam(fn, 1),
                               LLVMGetParam(fn, 2), n));
  LLVMDisposeBuilder(b);
  return fn;
}

/* dot2_i16: sext(a.lo) * sext(c.lo) + (a >> 16) * (c >> 16). */
static LLVMValueRef scalar_pairs(LLVMBuilderRef b, LLVMValueRef a, LLVMValueRef c) {
  LLVMContextRef ctx = LLVMGetTypeContext(LLVMTypeOf(a));
  LLVMTypeRef i16 = LLVMInt16TypeInContext(ctx), i32 = LLVMInt32TypeInContext(ctx);
  LLVMValueRef sixteen = LLVMConstInt(i32, 16, 0);
  LLVMValueRef alo = LLVMBuildSExt(b, LLVMBuildTrunc(b, a, i16, ""), i32, "");
  LLVMValueRef clo = LLVMBuildSExt(b, LLVMBuildTrunc(b, c, i16, ""), i32, "");
  LLVMValueRef ahi = LLVMBuildAShr(b, a, sixteen, ""), chi = LLVMBuildAShr(b, c, sixteen, "");
  return LLVMBuildAdd(b, LLVMBuildMul(b, alo, clo, ""), LLVMBuildMul(b, ahi, chi, ""), "");
}

/* dot4_i8 (dot4_u8i8: a's bytes unsigned): the four byte products of a
 * and c, summed (as a vector of 4 and its lanes added). */
static LLVMValueRef scalar_quads(LLVMBuilderRef b, LLVMValueRef a, LLVMValueRef c,
                                 bool a_unsigned) {
  LLVMValueRef m = groups_of(b, a, c, 1, 4, a_unsigned); /* <1 x i32> */
  return LLVMBuildExtractElement(b, m, LLVMConstInt(LLVMTypeOf(a), 0, 0), "");
}

/* The scalar function: acc + the group products of a and c. */
static LLVMValueRef define_scalar(LLVMModuleRef mod, DotFn f, LLVMTypeRef ft) {
  LLVMContextRef ctx = LLVMGetModuleContext(mod);
  LLVMValueRef fn = pure_function(mod, fn_name[f], ft);
  /* a call until the vectoriser has run: inlined, it would be plain IR
   * again (llvm_vector_variants_release lifts this) */
  fn_attr(ctx, fn, "noinline", 0);
  LLVMBuilderRef b = LLVMCreateBuilderInContext(ctx);
  LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(ctx, fn, "entry"));
  LLVMValueRef a = LLVMGetParam(fn, 1), c = LLVMGetParam(fn, 2);
  LLVMValueRef s = f == DOT2_I16 ? scalar_pairs(b, a, c) : scalar_quads(b, a, c, f == DOT4_U8I8);
  LLVMBuildRet(b, LLVMBuildAdd(b, LLVMGetParam(fn, 0), s, ""));
  LLVMDisposeBuilder(b);
  return fn;
}

/* Adds values to llvm.compiler.used (created, or rebuilt with them
 * appended: a module has one). */
static void keep_alive(LLVMModuleRef mod, LLVMValueRef *values, unsigned n) {
  LLVMContextRef ctx = LLVMGetModuleContext(mod);
  LLVMTypeRef ptr = LLVMPointerTypeInContext(ctx, 0);
  LLVMValueRef all[NFUNCTIONS * NVARIANTS];
  unsigned count = 0;
  LLVMValueRef old = LLVMGetNamedGlobal(mod, "llvm.compiler.used");
  if (old) {
    LLVMValueRef init = LLVMGetInitializer(old);
    int had = LLVMGetNumOperands(init);
    for (int i = 0; i < had && count < NFUNCTIONS * NVARIANTS; i++)
      all[count++] = LLVMGetOperand(init, (unsigned)i);
    LLVMDeleteGlobal(old);
  }
  for (unsigned i = 0; i < n && count < NFUNCTIONS * NVARIANTS; i++) all[count++] = values[i];
  LLVMValueRef used = LLVMAddGlobal(mod, LLVMArrayType2(ptr, count), "llvm.compiler.used");
  LLVMSetLinkage(used, LLVMAppendingLinkage);
  LLVMSetSection(used, "llvm.metadata");
  LLVMSetInitializer(used, LLVMConstArray2(ptr, all, count));
}

static LLVMValueRef dot_function(LLVMModuleRef mod, const VectorIsa *isa, DotFn f,
                                 LLVMTypeRef *type) {
  LLVMContextRef ctx = LLVMGetModuleContext(mod);
  LLVMTypeRef i32 = LLVMInt32TypeInContext(ctx);
  LLVMTypeRef params[3] = {i32, i32, i32};
  *type = LLVMFunctionType(i32, params, 3, 0);
  const char *name = fn_name[f];
  LLVMValueRef fn = LLVMGetNamedFunction(mod, name);
  if (fn) return fn;
  fn = define_scalar(mod, f, *type);
  LLVMValueRef variants[NVARIANTS];
  char abi[512];
  size_t len = 0;
  for (int i = 0; i < NVARIANTS; i++) {
    variants[i] = define_variant(mod, isa, f, variant_lanes[i]);
    int k = snprintf(abi + len, sizeof abi - len, "%s_ZGV_LLVM_N%uvvv_%s(%s.v%u)", i ? "," : "",
                     variant_lanes[i], name, name, variant_lanes[i]);
    if (k > 0) len += (size_t)k;
  }
  const char *key = "vector-function-abi-variant";
  LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                          LLVMCreateStringAttribute(ctx, key, (unsigned)strlen(key), abi,
                                                    (unsigned)strlen(abi)));
  /* kept alive (the pipeline's dead-code passes would drop them, unused)
   * until the vectoriser has called them */
  keep_alive(mod, variants, NVARIANTS);
  return fn;
}

LLVMValueRef llvm_dot2_function(LLVMModuleRef mod, const VectorIsa *isa, LLVMTypeRef *type) {
  return dot_function(mod, isa, DOT2_I16, type);
}

LLVMValueRef llvm_dot4_function(LLVMModuleRef mod, const VectorIsa *isa, LLVMTypeRef *type) {
  return dot_function(mod, isa, DOT4_I8, type);
}

LLVMValueRef llvm_dot4_u8i8_function(LLVMModuleRef mod, const VectorIsa *isa, LLVMTypeRef *type) {
  return dot_function(mod, isa, DOT4_U8I8, type);
}

bool llvm_vector_variants_release(LLVMModuleRef mod) {
  LLVMValueRef used = LLVMGetNamedGlobal(mod, "llvm.compiler.used");
  if (used) LLVMDeleteGlobal(used);
  bool any = used != NULL;
  LLVMContextRef ctx = LLVMGetModuleContext(mod);
  const char *noinline = "noinline";
  for (int f = 0; f < NFUNCTIONS; f++) {
    LLVMValueRef fn = LLVMGetNamedFunction(mod, fn_name[f]);
    if (!fn) continue;
    LLVMRemoveEnumAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                                   LLVMGetEnumAttributeKindForName(noinline, strlen(noinline)));
    fn_attr(ctx, fn, "alwaysinline", 0);
    any = true;
  }
  return any;
}
