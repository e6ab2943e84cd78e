/* Scalar functions with vector variants (llvm_vector_variants.h).
 *
 * LLVM 19 does not select pmaddwd for the int16 pair products of
 * passes/lower_int8.c written as plain IR (two sign extensions, two
 * multiplies and an add per lane of a vectorised loop: it shuffles the
 * even and odd halves apart first), so dot2_i16 is a call whose vector
 * variants say pmaddwd outright. The vectoriser picks the variant of its
 * width; the scalar function is what remainder iterations and unvectorised
 * loops call. Both compute the same integers. */
#include "llvm_vector_variants.h"

#include <stdio.h>
#include <string.h>

static const char *const DOT2 = "octo.dot2_i16";
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

/* The pair products of a and b (<n x i32>, each lane two i16), summed per
 * lane, in plain IR: all 2n products widened, then the even and odd ones
 * added (AArch64: smull, smull2, addp). */
static LLVMValueRef pairs_generic(LLVMBuilderRef b, LLVMValueRef a, LLVMValueRef c, unsigned n) {
  LLVMContextRef ctx = LLVMGetTypeContext(LLVMTypeOf(a));
  LLVMTypeRef v16 = LLVMVectorType(LLVMInt16TypeInContext(ctx), 2 * n);
  LLVMTypeRef w32 = LLVMVectorType(LLVMInt32TypeInContext(ctx), 2 * n);
  LLVMValueRef x = LLVMBuildSExt(b, LLVMBuildBitCast(b, a, v16, ""), w32, "");
  LLVMValueRef y = LLVMBuildSExt(b, LLVMBuildBitCast(b, c, v16, ""), w32, "");
  LLVMValueRef m = LLVMBuildMul(b, x, y, "");
  return LLVMBuildAdd(b, lanes(b, m, 0, n, 2), lanes(b, m, 1, n, 2), "");
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
  LLVMValueRef part[16];
  unsigned pieces = n / W, w = W;
  for (unsigned i = 0; i < pieces; i++)
    part[i] = pieces == 1 ? pmadd(b, mod, a, c)
                          : pmadd(b, mod, lanes(b, a, i * W, W, 1), lanes(b, c, i * W, W, 1));
  LLVMTypeRef i32 = LLVMInt32TypeInContext(LLVMGetModuleContext(mod));
  for (; pieces > 1; pieces /= 2, w *= 2)
    for (unsigned i = 0; i < pieces / 2; i++) {
      LLVMValueRef idx[32];
      for (unsigned k = 0; k < 2 * w; k++) idx[k] = LLVMConstInt(i32, k, 0);
      part[i] = LLVMBuildShuffleVector(b, part[2 * i], part[2 * i + 1], LLVMConstVector(idx, 2 * w), "");
    }
  return part[0];
}

/* <n x i32> octo.dot2_i16.vN(acc, a, b), always inlined. */
static LLVMValueRef define_variant(LLVMModuleRef mod, const VectorIsa *isa, unsigned n) {
  LLVMContextRef ctx = LLVMGetModuleContext(mod);
  LLVMTypeRef v32 = LLVMVectorType(LLVMInt32TypeInContext(ctx), n);
  LLVMTypeRef params[3] = {v32, v32, v32};
  char name[64];
  snprintf(name, sizeof name, "%s.v%u", DOT2, n);
  LLVMValueRef fn = pure_function(mod, name, LLVMFunctionType(v32, params, 3, 0));
  fn_attr(ctx, fn, "alwaysinline", 0);
  LLVMBuilderRef b = LLVMCreateBuilderInContext(ctx);
  LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(ctx, fn, "entry"));
  LLVMValueRef a = LLVMGetParam(fn, 1), c = LLVMGetParam(fn, 2);
  LLVMValueRef s = isa->x86 ? pairs_x86(b, mod, a, c, n) : pairs_generic(b, a, c, n);
  LLVMBuildRet(b, LLVMBuildAdd(b, LLVMGetParam(fn, 0), s, ""));
  LLVMDisposeBuilder(b);
  return fn;
}

/* The scalar function: acc + sext(a.lo) * sext(b.lo) + (a >> 16) * (b >> 16). */
static LLVMValueRef define_scalar(LLVMModuleRef mod, LLVMTypeRef ft) {
  LLVMContextRef ctx = LLVMGetModuleContext(mod);
  LLVMTypeRef i16 = LLVMInt16TypeInContext(ctx), i32 = LLVMInt32TypeInContext(ctx);
  LLVMValueRef fn = pure_function(mod, DOT2, ft);
  /* a call until the vectoriser has run: inlined, it would be plain IR
   * again (llvm_vector_variants_release lifts this) */
  fn_attr(ctx, fn, "noinline", 0);
  LLVMBuilderRef b = LLVMCreateBuilderInContext(ctx);
  LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(ctx, fn, "entry"));
  LLVMValueRef a = LLVMGetParam(fn, 1), c = LLVMGetParam(fn, 2);
  LLVMValueRef sixteen = LLVMConstInt(i32, 16, 0);
  LLVMValueRef alo = LLVMBuildSExt(b, LLVMBuildTrunc(b, a, i16, ""), i32, "");
  LLVMValueRef clo = LLVMBuildSExt(b, LLVMBuildTrunc(b, c, i16, ""), i32, "");
  LLVMValueRef ahi = LLVMBuildAShr(b, a, sixteen, ""), chi = LLVMBuildAShr(b, c, sixteen, "");
  LLVMValueRef s = LLVMBuildAdd(b, LLVMBuildMul(b, alo, clo, ""), LLVMBuildMul(b, ahi, chi, ""), "");
  LLVMBuildRet(b, LLVMBuildAdd(b, LLVMGetParam(fn, 0), s, ""));
  LLVMDisposeBuilder(b);
  return fn;
}

LLVMValueRef llvm_dot2_function(LLVMModuleRef mod, const VectorIsa *isa, LLVMTypeRef *type) {
  LLVMContextRef ctx = LLVMGetModuleContext(mod);
  LLVMTypeRef i32 = LLVMInt32TypeInContext(ctx);
  LLVMTypeRef params[3] = {i32, i32, i32};
  *type = LLVMFunctionType(i32, params, 3, 0);
  LLVMValueRef fn = LLVMGetNamedFunction(mod, DOT2);
  if (fn) return fn;
  fn = define_scalar(mod, *type);
  LLVMValueRef variants[NVARIANTS];
  char abi[512];
  size_t len = 0;
  for (int i = 0; i < NVARIANTS; i++) {
    variants[i] = define_variant(mod, isa, variant_lanes[i]);
    int k = snprintf(abi + len, sizeof abi - len, "%s_ZGV_LLVM_N%uvvv_%s(%s.v%u)", i ? "," : "",
                     variant_lanes[i], DOT2, DOT2, variant_lanes[i]);
    if (k > 0) len += (size_t)k;
  }
  const char *key = "vector-function-abi-variant";
  LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                          LLVMCreateStringAttribute(ctx, key, (unsigned)strlen(key), abi,
                                                    (unsigned)strlen(abi)));
  /* kept alive (the pipeline's dead-code passes would drop them, unused)
   * until the vectoriser has called them */
  LLVMTypeRef ptr = LLVMPointerTypeInContext(ctx, 0);
  LLVMValueRef used = LLVMAddGlobal(mod, LLVMArrayType2(ptr, NVARIANTS), "llvm.compiler.used");
  LLVMSetLinkage(used, LLVMAppendingLinkage);
  LLVMSetSection(used, "llvm.metadata");
  LLVMSetInitializer(used, LLVMConstArray2(ptr, variants, NVARIANTS));
  return fn;
}

bool llvm_vector_variants_release(LLVMModuleRef mod) {
  LLVMValueRef fn = LLVMGetNamedFunction(mod, DOT2);
  LLVMValueRef used = LLVMGetNamedGlobal(mod, "llvm.compiler.used");
  if (used) LLVMDeleteGlobal(used);
  if (!fn) return used != NULL;
  LLVMContextRef ctx = LLVMGetModuleContext(mod);
  const char *noinline = "noinline";
  LLVMRemoveEnumAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                                 LLVMGetEnumAttributeKindForName(noinline, strlen(noinline)));
  fn_attr(ctx, fn, "alwaysinline", 0);
  return true;
}
