/* The LLVM backend's driver (llvm_machine.h). */
#include "llvm_machine.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/BitWriter.h>
#include <llvm-c/Core.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include <llvm/Config/llvm-config.h>

#include "llvm_codegen.h"
#include "llvm_parallel.h"
#include "llvm_vector_variants.h"

bool llvm_built_in(void) { return true; }

static void init_llvm(void) {
  static bool done;
  if (done) return;
  LLVMInitializeAllTargetInfos();
  LLVMInitializeAllTargets();
  LLVMInitializeAllTargetMCs();
  LLVMInitializeAllAsmPrinters();
  done = true;
}

/* The row's triple as LLVM reads it: "armv7-linux-gnueabihf" unnormalised
 * would make "linux" the vendor and lose the hard-float environment.
 * Static storage: one compilation per process. */
static const char *llvm_triple(const Target *t) {
  static char buf[128];
  char *n = LLVMNormalizeTargetTriple(t->triple);
  snprintf(buf, sizeof buf, "%s", n ? n : t->triple);
  LLVMDisposeMessage(n);
  return buf;
}

/* The configuration as LLVM takes it: the CPU name and one feature string
 * (the row's features, the host's for -mcpu=native, then -mattr; a later
 * item wins). malloc'd. */
typedef struct Machine {
  char *cpu, *features;
  const char *abi; /* RISC-V: the float ABI of the row's triple; else "" */
} Machine;

static char *join3(const char *a, const char *b, const char *c) {
  size_t n = strlen(a) + strlen(b) + strlen(c) + 3;
  char *s = malloc(n);
  if (!s) return NULL;
  snprintf(s, n, "%s%s%s%s%s", a, *a && *b ? "," : "", b, (*a || *b) && *c ? "," : "", c);
  return s;
}

static bool machine_of(const TargetConfig *tc, Machine *m) {
  const Target *t = tc->target;
  bool native = strcmp(tc->cpu, "native") == 0;
  char *host = native ? LLVMGetHostCPUFeatures() : NULL;
  m->cpu = native ? LLVMGetHostCPUName() : NULL;
  char *cpu = m->cpu ? strdup(m->cpu) : strdup(tc->cpu);
  if (m->cpu) LLVMDisposeMessage(m->cpu);
  m->cpu = cpu;
  m->features = join3(t->features, host ? host : "", tc->mattr ? tc->mattr : "");
  if (host) LLVMDisposeMessage(host);
  m->abi = t->arch == ARCH_RISCV64 ? "lp64d" : t->arch == ARCH_RISCV32 ? "ilp32" : "";
  return m->cpu && m->features;
}

static void machine_free(Machine *m) {
  free(m->cpu);
  free(m->features);
}

/* LLVM's target for a triple; NULL, with a message, when LLVM has none. */
static LLVMTargetRef lookup_target(const char *triple, FILE *err) {
  LLVMTargetRef target;
  char *msg = NULL;
  if (LLVMGetTargetFromTriple(triple, &target, &msg)) {
    fprintf(err, "octoc: error: LLVM has no target for %s: %s\n", triple, msg ? msg : "");
    LLVMDisposeMessage(msg);
    return NULL;
  }
  return target;
}

static LLVMTargetMachineRef create_machine(const TargetConfig *tc, const Machine *m,
                                           int opt_level, FILE *err) {
  init_llvm();
  const char *triple = llvm_triple(tc->target);
  LLVMTargetRef target = lookup_target(triple, err);
  if (!target) return NULL;
  static const LLVMCodeGenOptLevel levels[] = {LLVMCodeGenLevelNone, LLVMCodeGenLevelLess,
                                               LLVMCodeGenLevelDefault,
                                               LLVMCodeGenLevelAggressive};
  /* Linux objects go into PIE executables; bare-metal images are static. */
  LLVMRelocMode reloc = tc->target->hosted ? LLVMRelocPIC : LLVMRelocStatic;
#if LLVM_VERSION_MAJOR >= 18
  LLVMTargetMachineOptionsRef o = LLVMCreateTargetMachineOptions();
  LLVMTargetMachineOptionsSetCPU(o, m->cpu);
  LLVMTargetMachineOptionsSetFeatures(o, m->features);
  if (*m->abi) LLVMTargetMachineOptionsSetABI(o, m->abi);
  LLVMTargetMachineOptionsSetCodeGenOptLevel(o, levels[opt_level & 3]);
  LLVMTargetMachineOptionsSetRelocMode(o, reloc);
  LLVMTargetMachineRef tm = LLVMCreateTargetMachineWithOptions(target, triple, o);
  LLVMDisposeTargetMachineOptions(o);
#else
  LLVMTargetMachineRef tm = LLVMCreateTargetMachine(target, triple, m->cpu,
                                                    m->features, levels[opt_level & 3], reloc,
                                                    LLVMCodeModelDefault);
#endif
  if (!tm) fprintf(err, "octoc: error: LLVM cannot make a target machine for %s\n", triple);
  return tm;
}

/* What LLVM writes to stderr while f(arg) runs: its MCSubtargetInfo lists
 * CPUs and features, and warns about unknown ones, only there. malloc'd
 * (empty on failure). */
static char *stderr_of(void (*f)(void *), void *arg) {
  char *text = NULL;
  size_t len = 0;
  FILE *tmp = tmpfile();
  int saved = tmp ? dup(2) : -1;
  if (saved < 0) {
    if (tmp) fclose(tmp);
    f(arg);
    return calloc(1, 1);
  }
  fflush(stderr);
  dup2(fileno(tmp), 2);
  f(arg);
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  long n = fseek(tmp, 0, SEEK_END) == 0 ? ftell(tmp) : -1;
  if (n > 0 && fseek(tmp, 0, SEEK_SET) == 0) {
    text = malloc((size_t)n + 1);
    if (text) {
      len = fread(text, 1, (size_t)n, tmp);
      text[len] = 0;
    }
  }
  fclose(tmp);
  return text ? text : calloc(1, 1);
}

typedef struct HelpRequest {
  const TargetConfig *tc;
} HelpRequest;

static void ask_help(void *arg) {
  const HelpRequest *h = arg;
  Machine m = {strdup("help"), strdup(""), ""};
  if (m.cpu && m.features) {
    LLVMTargetMachineRef tm = create_machine(h->tc, &m, 0, stderr);
    if (tm) LLVMDisposeTargetMachine(tm);
  }
  machine_free(&m);
}

/* The names of one section of LLVM's help ("Available CPUs for this
 * target:", a blank line, lines "  NAME - description.", a blank line). Is
 * name (len bytes) one of them? With list, prints them all instead. */
static bool help_has(const char *help, const char *section, const char *name, size_t len,
                     FILE *list) {
  const char *p = strstr(help, section);
  if (!p) return false;
  p = strchr(p, '\n');
  while (p && p[1] == '\n') p++; /* the blank line under the title */
  int col = 0;
  while (p && p[1] && p[1] != '\n') {
    p++;
    const char *s = p + strspn(p, " ");
    const char *e = s + strcspn(s, " \n");
    if (list && e > s) {
      col += (int)(e - s) + 1;
      if (col > 90) {
        fputs("\n ", list);
        col = (int)(e - s) + 1;
      }
      fprintf(list, " %.*s", (int)(e - s), s);
    } else if (!list && (size_t)(e - s) == len && strncmp(s, name, len) == 0) {
      return true;
    }
    p = strchr(p, '\n');
  }
  return false;
}

bool llvm_check_target(const TargetConfig *tc, FILE *err) {
  init_llvm();
  const char *triple = llvm_triple(tc->target);
  LLVMTargetRef target = lookup_target(triple, err);
  if (!target) return false;
  bool special = strcmp(tc->cpu, "native") == 0 || strcmp(tc->cpu, "generic") == 0;
  if (special && !tc->mattr) return true;
  HelpRequest h = {tc};
  char *help = stderr_of(ask_help, &h);
  bool ok = true;
  if (!special && !help_has(help, "Available CPUs for this target:", tc->cpu, strlen(tc->cpu),
                            NULL)) {
    fprintf(err, "octoc: error: unknown -mcpu=%s for target %s (%s); LLVM knows:\n", tc->cpu,
            tc->target->name, triple);
    help_has(help, "Available CPUs for this target:", NULL, 0, err);
    fputc('\n', err);
    ok = false;
  }
  for (const char *p = tc->mattr; ok && p && *p;) {
    size_t n = strcspn(p, ",");
    if (n > 1 && !help_has(help, "Available features for this target:", p + 1, n - 1, NULL)) {
      fprintf(err, "octoc: error: unknown -mattr feature '%.*s' for target %s (%s); LLVM "
                   "knows:\n", (int)(n - 1), p + 1, tc->target->name, triple);
      help_has(help, "Available features for this target:", NULL, 0, err);
      fputc('\n', err);
      ok = false;
    }
    p = p[n] ? p + n + 1 : p + n;
  }
  free(help);
  return ok;
}

/* LLVM's diagnostics: errors are reported, remarks and warnings (a loop
 * hint LLVM could not follow) are not octoc's to print. */
typedef struct DiagState {
  FILE *err;
  bool failed;
} DiagState;

static void on_diagnostic(LLVMDiagnosticInfoRef info, void *arg) {
  DiagState *d = arg;
  if (LLVMGetDiagInfoSeverity(info) != LLVMDSError) return;
  char *text = LLVMGetDiagInfoDescription(info);
  fprintf(d->err, "octoc: error: LLVM: %s\n", text ? text : "(no message)");
  LLVMDisposeMessage(text);
  d->failed = true;
}

static bool copy_out(const char *data, size_t n, char **bytes, size_t *len, FILE *err) {
  *bytes = malloc(n + 1);
  if (!*bytes) {
    fprintf(err, "octoc: error: out of memory\n");
    return false;
  }
  memcpy(*bytes, data, n);
  (*bytes)[n] = 0;
  *len = n;
  return true;
}

static bool emit_module(LLVMModuleRef mod, LLVMTargetMachineRef tm, LlvmOutputKind kind,
                        char **bytes, size_t *len, FILE *err) {
  if (kind == LLVM_OUT_IR) {
    char *text = LLVMPrintModuleToString(mod);
    bool ok = copy_out(text, strlen(text), bytes, len, err);
    LLVMDisposeMessage(text);
    return ok;
  }
  LLVMMemoryBufferRef buf = NULL;
  char *msg = NULL;
  if (kind == LLVM_OUT_BC) {
    buf = LLVMWriteBitcodeToMemoryBuffer(mod);
  } else if (LLVMTargetMachineEmitToMemoryBuffer(
                 tm, mod, kind == LLVM_OUT_ASM ? LLVMAssemblyFile : LLVMObjectFile, &msg, &buf)) {
    fprintf(err, "octoc: error: LLVM cannot emit code: %s\n", msg ? msg : "");
    LLVMDisposeMessage(msg);
    return false;
  }
  if (!buf) {
    fprintf(err, "octoc: error: LLVM wrote nothing\n");
    return false;
  }
  bool ok = copy_out(LLVMGetBufferStart(buf), LLVMGetBufferSize(buf), bytes, len, err);
  LLVMDisposeMemoryBuffer(buf);
  return ok;
}

static bool emit_object(LLVMModuleRef mod, LLVMTargetMachineRef tm, char **bytes, size_t *len,
                        FILE *err) {
  return emit_module(mod, tm, LLVM_OUT_OBJ, bytes, len, err);
}

/* Arm's sdot intrinsic when the target has dotprod (dot4_i8's vector
 * variants, llvm_vector_variants.h), else NULL. */
static const char *sdot_intrinsic(const TargetConfig *tc) {
  if (!tc->has_dot_i8) return NULL;
  if (tc->target->arch == ARCH_AARCH64) return "llvm.aarch64.neon.sdot";
  if (tc->target->arch == ARCH_ARM) return "llvm.arm.neon.sdot";
  return NULL;
}

/* OCTO_EMULATE_VNNI=1: on x86, dot4_i8's variants as with vpdpbusd, but
 * vpdpbusd written as plain IR, so that a CPU without VNNI runs the
 * quads and the steps around vpdpbusd (tests/cross, x86_64). */
static bool vnni_emulated(const TargetConfig *tc) {
  const char *e = getenv("OCTO_EMULATE_VNNI");
  return tc->target->arch == ARCH_X86_64 && e && strcmp(e, "1") == 0;
}

/* x86's vpdpbusd, real or emulated, for dot4_i8's variants. */
static bool vnni(const TargetConfig *tc) {
  return tc->target->arch == ARCH_X86_64 && (tc->has_dot_i8 || vnni_emulated(tc));
}

bool llvm_maps_dot4_i8(const TargetConfig *tc) { return sdot_intrinsic(tc) != NULL || vnni(tc); }

bool llvm_maps_dot4_u8i8(const TargetConfig *tc) { return vnni(tc); }

/* False, after the message on err, for an error from LLVMRunPasses. */
static bool passes_ran(LLVMErrorRef e, FILE *err) {
  if (!e) return true;
  char *text = LLVMGetErrorMessage(e);
  fprintf(err, "octoc: internal error: LLVM passes: %s\n", text);
  LLVMDisposeErrorMessage(text);
  return false;
}

/* The -O pipeline after mergefunc (llvm_parallel.h's LlvmOptimise: it
 * runs on either thread, touching nothing but mod and tm). */
static bool optimise(LLVMModuleRef mod, LLVMTargetMachineRef tm, int opt_level, FILE *err) {
  char pipeline[32];
  snprintf(pipeline, sizeof pipeline, "default<O%d>", opt_level & 3);
  LLVMPassBuilderOptionsRef po = LLVMCreatePassBuilderOptions();
  /* clang's choices per level: the vectorisers from -O2 on */
  LLVMPassBuilderOptionsSetLoopVectorization(po, opt_level >= 2);
  LLVMPassBuilderOptionsSetSLPVectorization(po, opt_level >= 2);
  /* unrolling too, but not of the loops llvm_codegen.c marks (its
   * loop_hints: the loop IR's vectorised and outer loops) */
  LLVMPassBuilderOptionsSetLoopUnrolling(po, opt_level >= 1);
  LLVMErrorRef e = LLVMRunPasses(mod, pipeline, tm, po);
  /* the vectoriser has run: the vector variants' bodies go in place */
  if (!e && llvm_vector_variants_release(mod))
    e = LLVMRunPasses(mod, "always-inline,globaldce", tm, po);
  LLVMDisposePassBuilderOptions(po);
  return passes_ran(e, err);
}

bool llvm_compile(const ProgramPlan *plan, const TargetConfig *tc, int opt_level,
                  LlvmOutputKind kind, char **bytes, size_t *len, FILE *err) {
  *bytes = NULL;
  *len = 0;
  Machine m = {0};
  if (!machine_of(tc, &m)) {
    machine_free(&m);
    fprintf(err, "octoc: error: out of memory\n");
    return false;
  }
  LLVMTargetMachineRef tm = create_machine(tc, &m, opt_level, err);
  machine_free(&m);
  if (!tm) return false;
  LLVMContextRef ctx = LLVMContextCreate();
  DiagState diag = {err, false};
  LLVMContextSetDiagnosticHandler(ctx, on_diagnostic, &diag);
  LLVMModuleRef mod = LLVMModuleCreateWithNameInContext(plan->prefix, ctx);
  LLVMSetTarget(mod, llvm_triple(tc->target));
  LLVMTargetDataRef td = LLVMCreateTargetDataLayout(tm);
  LLVMSetModuleDataLayout(mod, td);
  LLVMDisposeTargetData(td);
  const char *abi = tc->target->arch == ARCH_RISCV64 ? "lp64d"
                    : tc->target->arch == ARCH_RISCV32 ? "ilp32" : NULL;
  if (abi)
    LLVMAddModuleFlag(mod, LLVMModuleFlagBehaviorError, "target-abi", 10,
                      LLVMValueAsMetadata(LLVMMDStringInContext(ctx, abi, (unsigned)strlen(abi))));
  LlvmCodegenOptions co = {.sign_extend_i32 = tc->target->arch == ARCH_RISCV64,
                           .merge_twins = opt_level > 0,
                           .isa = {.x86 = tc->target->arch == ARCH_X86_64,
                                   .sdot = sdot_intrinsic(tc),
                                   .vnni = vnni(tc),
                                   .vnni_emulated = vnni_emulated(tc),
                                   .vnni512 = tc->x86_vnni_evex && !vnni_emulated(tc)},
                           .errors = err};
  bool ok = llvm_codegen(plan, mod, &co);
  char *msg = NULL;
  if (ok && LLVMVerifyModule(mod, LLVMReturnStatusAction, &msg)) {
    fprintf(err, "octoc: internal error: LLVM backend: the module does not verify: %s\n",
            msg ? msg : "");
    ok = false;
  }
  LLVMDisposeMessage(msg);
  if (ok && opt_level > 0) {
    /* mergefunc first: identical kernels (the same layer shape in
     * resnet20's blocks: 323 kernels become 97) are optimised and
     * emitted once, and never split over the two threads below. */
    LLVMPassBuilderOptionsRef po = LLVMCreatePassBuilderOptions();
    ok = passes_ran(LLVMRunPasses(mod, "mergefunc", tm, po), err);
    LLVMDisposePassBuilderOptions(po);
  }
  if (ok) {
    DiagState diag_b = {err, false};
    LLVMTargetMachineRef tm_b = NULL;
    if (opt_level > 0) {
      Machine m2 = {0};
      if (machine_of(tc, &m2)) tm_b = create_machine(tc, &m2, opt_level, err);
      machine_free(&m2);
    }
    /* an object: code generation on the two threads too */
    ok = tm_b ? llvm_parallel_compile(mod, opt_level, tm, tm_b, optimise,
                                      kind == LLVM_OUT_OBJ ? emit_object : NULL, on_diagnostic,
                                      &diag_b, err, bytes, len)
              : optimise(mod, tm, opt_level, err);
    ok = ok && !diag_b.failed;
    if (tm_b) LLVMDisposeTargetMachine(tm_b);
  }
  ok = ok && (*bytes || emit_module(mod, tm, kind, bytes, len, err)) && !diag.failed;
  if (!ok) {
    free(*bytes);
    *bytes = NULL;
    *len = 0;
  }
  LLVMDisposeModule(mod);
  LLVMContextDispose(ctx);
  LLVMDisposeTargetMachine(tm);
  return ok;
}
