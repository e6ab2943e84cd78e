/* The LLVM backend's optimisation on two threads (llvm_parallel.h).
 *
 * LLVM allows one thread per context. The module is copied into a second
 * context through bitcode; each copy keeps the definitions of its own
 * part (the other part's kernels become declarations there, or go), both
 * are optimised at once, and the second comes back through bitcode to be
 * linked into the first. Kernels only call intrinsics and the module's
 * internal helpers, never each other, so no part needs the other's
 * bodies. */
#include "llvm_parallel.h"

#include "elf_merge.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <llvm-c/BitReader.h>
#include <llvm-c/BitWriter.h>
#include <llvm-c/Linker.h>

static bool has_attr(LLVMValueRef fn, const char *name) {
  unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
  return LLVMGetEnumAttributeAtIndex(fn, LLVMAttributeFunctionIndex, kind) != NULL;
}

static bool is_local(LLVMValueRef g) {
  LLVMLinkage l = LLVMGetLinkage(g);
  return l == LLVMInternalLinkage || l == LLVMPrivateLinkage;
}

/* A kernel: an internal noinline definition that only the entries (the
 * exported functions) call, and only directly. */
static bool is_kernel(LLVMValueRef fn) {
  if (LLVMIsDeclaration(fn) || LLVMGetLinkage(fn) != LLVMInternalLinkage ||
      !has_attr(fn, "noinline"))
    return false;
  for (LLVMUseRef u = LLVMGetFirstUse(fn); u; u = LLVMGetNextUse(u)) {
    LLVMValueRef call = LLVMIsACallInst(LLVMGetUser(u));
    if (!call || LLVMGetCalledValue(call) != fn ||
        is_local(LLVMGetBasicBlockParent(LLVMGetInstructionParent(call))))
      return false;
  }
  return true;
}

bool llvm_parallel_movable(LLVMValueRef fn) {
  if (!is_kernel(fn) || has_attr(fn, "optnone")) return false;
  for (LLVMUseRef u = LLVMGetFirstUse(fn); u; u = LLVMGetNextUse(u)) {
    LLVMValueRef call = LLVMGetUser(u);
    unsigned n = LLVMGetNumArgOperands(call);
    for (unsigned i = 0; i < n; i++) {
      LLVMValueRef arg = LLVMGetOperand(call, i);
      if (LLVMIsConstant(arg) && LLVMGetTypeKind(LLVMTypeOf(arg)) == LLVMPointerTypeKind)
        return false;
    }
  }
  return true;
}

/* What optimising fn costs, roughly: its instructions. */
static long cost_of(LLVMValueRef fn) {
  long n = 0;
  for (LLVMBasicBlockRef b = LLVMGetFirstBasicBlock(fn); b; b = LLVMGetNextBasicBlock(b))
    for (LLVMValueRef i = LLVMGetFirstInstruction(b); i; i = LLVMGetNextInstruction(i)) n++;
  return n;
}

/* A list of function names (each strdup'd). */
typedef struct Names {
  char **name;
  int n;
} Names;

static bool add_name(Names *l, LLVMValueRef fn) {
  size_t len;
  const char *name = LLVMGetValueName2(fn, &len);
  char *copy = strndup(name, len);
  if (!copy) return false;
  l->name[l->n++] = copy;
  return true;
}

static bool listed(const Names *l, LLVMValueRef fn) {
  size_t len;
  const char *name = LLVMGetValueName2(fn, &len);
  for (int i = 0; i < l->n; i++)
    if (strlen(l->name[i]) == len && memcmp(l->name[i], name, len) == 0) return true;
  return false;
}

static void free_names(Names *l) {
  for (int i = 0; i < l->n; i++) free(l->name[i]);
  free(l->name);
  l->name = NULL;
  l->n = 0;
}

/* moved: what the second thread optimises; dropped: the definitions it
 * does not need (the entries, the other kernels). */
typedef struct Split {
  Names moved, dropped;
} Split;

typedef struct Candidate {
  LLVMValueRef fn;
  long cost;
  int index; /* module order: ties go by it, so the split is the same every run */
} Candidate;

static int by_cost(const void *pa, const void *pb) {
  const Candidate *a = pa, *b = pb;
  if (a->cost != b->cost) return a->cost > b->cost ? -1 : 1;
  return a->index - b->index;
}

/* The movable functions, largest first, each to the side with less so
 * far; the first side starts with what cannot move. False when out of
 * memory; s->moved.n = 0 when nothing moves. */
static bool split_of(LLVMModuleRef mod, Split *s) {
  int count = 0;
  for (LLVMValueRef f = LLVMGetFirstFunction(mod); f; f = LLVMGetNextFunction(f)) count++;
  Candidate *c = malloc((size_t)(count + 1) * sizeof *c);
  s->moved = (Names){malloc((size_t)(count + 1) * sizeof(char *)), 0};
  s->dropped = (Names){malloc((size_t)(count + 1) * sizeof(char *)), 0};
  bool ok = c && s->moved.name && s->dropped.name;
  int nc = 0;
  long a = 0, b = 0;
  for (LLVMValueRef f = LLVMGetFirstFunction(mod); ok && f; f = LLVMGetNextFunction(f)) {
    if (llvm_parallel_movable(f)) {
      c[nc] = (Candidate){f, cost_of(f), nc};
      nc++;
      continue;
    }
    /* an optnone initialiser skips the pipeline but not code generation
     * (at -O0), and costs more than its instruction count says: counted
     * 3/2 (measured per thread, pipeline and emission: resnet20's halves
     * took 0.93 s and 0.71 s with it counted 0, 0.74 s and 0.74-0.82 s at
     * 3/2) */
    if (!LLVMIsDeclaration(f)) a += has_attr(f, "optnone") ? cost_of(f) * 3 / 2 : cost_of(f);
    if (!LLVMIsDeclaration(f) && (!is_local(f) || is_kernel(f))) ok = add_name(&s->dropped, f);
  }
  if (ok) qsort(c, (size_t)nc, sizeof *c, by_cost);
  for (int i = 0; ok && i < nc; i++) {
    bool to_b = b <= a;
    *(to_b ? &b : &a) += c[i].cost;
    ok = add_name(to_b ? &s->moved : &s->dropped, c[i].fn);
  }
  free(c);
  if (!ok) {
    free_names(&s->moved);
    free_names(&s->dropped);
  }
  return ok;
}

static void copy_attributes(LLVMValueRef from, LLVMValueRef to) {
  unsigned nparams = LLVMCountParams(from);
  for (unsigned idx = 0; idx <= nparams + 1; idx++) {
    LLVMAttributeIndex at =
        idx == nparams + 1 ? (LLVMAttributeIndex)LLVMAttributeFunctionIndex : idx;
    LLVMAttributeRef attrs[64];
    unsigned n = LLVMGetAttributeCountAtIndex(from, at);
    if (n == 0 || n > 64) continue; /* a kernel's parameter has a handful */
    LLVMGetAttributesAtIndex(from, at, attrs);
    for (unsigned i = 0; i < n; i++) LLVMAddAttributeAtIndex(to, at, attrs[i]);
  }
}

/* fn, defined here, becomes a declaration of the same name and attributes
 * (its definition arrives with the other part); hidden, so that a call to
 * it is direct even in position-independent code. */
static bool declare_instead(LLVMModuleRef mod, LLVMValueRef fn) {
  size_t len;
  const char *name = LLVMGetValueName2(fn, &len);
  char *saved = strndup(name, len);
  if (!saved) return false;
  LLVMSetValueName2(fn, "", 0);
  LLVMValueRef decl = LLVMAddFunction(mod, saved, LLVMGlobalGetValueType(fn));
  free(saved);
  copy_attributes(fn, decl);
  LLVMSetVisibility(decl, LLVMHiddenVisibility);
  LLVMReplaceAllUsesWith(fn, decl);
  LLVMDeleteFunction(fn);
  return true;
}

/* The first part: the second part's functions become declarations. */
static bool keep_part_a(LLVMModuleRef mod, const Split *s) {
  LLVMValueRef f = LLVMGetFirstFunction(mod);
  while (f) {
    LLVMValueRef next = LLVMGetNextFunction(f);
    if (!LLVMIsDeclaration(f) && listed(&s->moved, f) && !declare_instead(mod, f)) return false;
    f = next;
  }
  return true;
}

/* The second part: its functions, made visible to the linker (hidden),
 * and the helpers they call; the dropped functions go, callers before
 * callees, then the data no one uses (exported data still used becomes a
 * declaration: one definition, the first part's). False if a dropped
 * function is still called (by a moved one: an internal error). */
static bool keep_part_b(LLVMModuleRef mod, const Split *s) {
  for (LLVMValueRef f = LLVMGetFirstFunction(mod); f; f = LLVMGetNextFunction(f)) {
    if (LLVMIsDeclaration(f) || !listed(&s->moved, f)) continue;
    LLVMSetLinkage(f, LLVMExternalLinkage);
    LLVMSetVisibility(f, LLVMHiddenVisibility);
  }
  for (bool progress = true; progress;) {
    progress = false;
    LLVMValueRef f = LLVMGetFirstFunction(mod);
    while (f) {
      LLVMValueRef next = LLVMGetNextFunction(f);
      if (!LLVMIsDeclaration(f) && !LLVMGetFirstUse(f) && listed(&s->dropped, f)) {
        LLVMDeleteFunction(f);
        progress = true;
      }
      f = next;
    }
  }
  for (LLVMValueRef f = LLVMGetFirstFunction(mod); f; f = LLVMGetNextFunction(f))
    if (!LLVMIsDeclaration(f) && listed(&s->dropped, f)) return false;
  for (bool progress = true; progress;) {
    progress = false;
    LLVMValueRef g = LLVMGetFirstGlobal(mod);
    while (g) {
      LLVMValueRef next = LLVMGetNextGlobal(g);
      size_t len;
      const char *name = LLVMGetValueName2(g, &len);
      bool llvm_own = len >= 5 && strncmp(name, "llvm.", 5) == 0;
      if (!llvm_own && !LLVMIsDeclaration(g) && !LLVMGetFirstUse(g)) {
        LLVMDeleteGlobal(g);
        progress = true;
      } else if (!llvm_own && !LLVMIsDeclaration(g) && !is_local(g)) {
        LLVMSetInitializer(g, NULL); /* exported data a moved kernel reads: the first part's */
      }
      g = next;
    }
  }
  return true;
}

/* mod copied into ctx through bitcode; NULL after an error on err. */
static LLVMModuleRef copy_into(LLVMModuleRef mod, LLVMContextRef ctx, FILE *err) {
  LLVMMemoryBufferRef buf = LLVMWriteBitcodeToMemoryBuffer(mod);
  if (!buf) {
    fprintf(err, "octoc: internal error: LLVM backend: cannot write the module's bitcode\n");
    return NULL;
  }
  LLVMModuleRef copy = NULL;
  if (LLVMParseBitcodeInContext2(ctx, buf, &copy)) {
    fprintf(err, "octoc: internal error: LLVM backend: cannot read the module's bitcode back\n");
    copy = NULL;
  }
  LLVMDisposeMemoryBuffer(buf);
  return copy;
}

typedef struct Job {
  LLVMModuleRef mod;
  LLVMTargetMachineRef tm;
  LlvmOptimise optimise;
  LlvmEmitObject emit; /* NULL: optimise only */
  int opt_level;
  FILE *err;
  bool ok;
  char *obj;
  size_t len;
} Job;

static void *run_job(void *arg) {
  Job *j = arg;
  j->ok = j->optimise(j->mod, j->tm, j->opt_level, j->err) &&
          (!j->emit || j->emit(j->mod, j->tm, &j->obj, &j->len, j->err));
  return NULL;
}

/* The two objects joined into *obj; false (nothing set) when elf_merge
 * cannot join them, which only costs the time of emitting them. */
static bool joined(const Job *a, const Job *b, char **obj, size_t *len) {
  unsigned char *out = NULL;
  size_t n = 0;
  char why[200];
  if (!elf_merge((const unsigned char *)a->obj, a->len, (const unsigned char *)b->obj, b->len,
                 &out, &n, why, sizeof why))
    return false;
  *obj = (char *)out;
  *len = n;
  return true;
}

bool llvm_parallel_optimise(LLVMModuleRef mod, int opt_level, LLVMTargetMachineRef tm_a,
                            LLVMTargetMachineRef tm_b, LlvmOptimise optimise,
                            LLVMDiagnosticHandler on_diag, void *diag_b, FILE *err) {
  return llvm_parallel_compile(mod, opt_level, tm_a, tm_b, optimise, NULL, on_diag, diag_b, err,
                               NULL, NULL);
}

bool llvm_parallel_compile(LLVMModuleRef mod, int opt_level, LLVMTargetMachineRef tm_a,
                           LLVMTargetMachineRef tm_b, LlvmOptimise optimise, LlvmEmitObject emit,
                           LLVMDiagnosticHandler on_diag, void *diag_b, FILE *err, char **obj,
                           size_t *obj_len) {
  Split s = {{0}, {0}};
  if (obj) *obj = NULL, *obj_len = 0;
  /* one processor: a second thread would only add the split's cost */
  bool two = LLVMIsMultithreaded() && sysconf(_SC_NPROCESSORS_ONLN) > 1;
  if (!two || !split_of(mod, &s) || s.moved.n == 0) {
    free_names(&s.moved);
    free_names(&s.dropped);
    return optimise(mod, tm_a, opt_level, err);
  }
  LLVMContextRef ctx_b = LLVMContextCreate();
  LLVMContextSetDiagnosticHandler(ctx_b, on_diag, diag_b);
  LLVMModuleRef mod_b = copy_into(mod, ctx_b, err);
  bool ok = mod_b != NULL;
  if (ok && !keep_part_b(mod_b, &s)) {
    fprintf(err, "octoc: internal error: LLVM backend: a kernel calls another kernel\n");
    ok = false;
  }
  ok = ok && keep_part_a(mod, &s);
  bool done = false; /* the whole module's object is in *obj */
  if (ok) {
    Job a = {mod, tm_a, optimise, obj ? emit : NULL, opt_level, err, false, NULL, 0};
    Job b = {mod_b, tm_b, optimise, obj ? emit : NULL, opt_level, err, false, NULL, 0};
    pthread_t thread;
    bool threaded = pthread_create(&thread, NULL, run_job, &b) == 0;
    if (!threaded) run_job(&b); /* the same result, one after the other */
    run_job(&a);
    if (threaded) pthread_join(thread, NULL);
    ok = a.ok && b.ok;
    done = ok && a.emit && joined(&a, &b, obj, obj_len);
    free(a.obj);
    free(b.obj);
  }
  /* not joined as objects: the second part goes back into mod, whose
   * caller emits it whole */
  LLVMModuleRef back = ok && !done ? copy_into(mod_b, LLVMGetModuleContext(mod), err) : NULL;
  if (mod_b) LLVMDisposeModule(mod_b);
  LLVMContextDispose(ctx_b);
  /* LLVMLinkModules2 consumes back */
  if (back && LLVMLinkModules2(mod, back)) {
    fprintf(err, "octoc: internal error: LLVM backend: cannot link the two parts\n");
    ok = false;
  }
  ok = ok && (done || back != NULL);
  for (int i = 0; ok && !done && i < s.moved.n; i++) {
    LLVMValueRef f = LLVMGetNamedFunction(mod, s.moved.name[i]);
    if (f) {
      LLVMSetLinkage(f, LLVMInternalLinkage);
      LLVMSetVisibility(f, LLVMDefaultVisibility);
    }
  }
  free_names(&s.moved);
  free_names(&s.dropped);
  return ok;
}
