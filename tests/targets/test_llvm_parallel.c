/* The LLVM backend's two-thread optimisation (targets/llvm_parallel.h) on
 * a small module: which kernels may move, what each thread's module
 * holds, and that the linked result has every function back, internal,
 * the same on every run. */
#include <check.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <llvm-c/IRReader.h>

#include "llvm_parallel.h"

/* big has the most instructions and moves (reading exported data); small
 * then stays, as big alone outweighs what the first side has (the entry,
 * table_reader, helper); the initialiser (optnone) and table_reader (given
 * a constant global) never move; helper is called by kernels, not by the
 * entry: not a kernel. */
static const char *const ir =
    "@table = internal constant [4 x float] [float 1.0, float 2.0, float 3.0, float 4.0]\n"
    "@exported = constant i32 7\n"
    "define internal i32 @helper(i32 %x) #0 {\n"
    "  %y = mul i32 %x, 3\n"
    "  ret i32 %y\n"
    "}\n"
    "define internal void @big(ptr %p) #0 {\n"
    "  %a = load i32, ptr %p\n"
    "  %b = call i32 @helper(i32 %a)\n"
    "  %c = add i32 %b, 1\n"
    "  %d = mul i32 %c, %a\n"
    "  %e = xor i32 %d, 5\n"
    "  %f = sub i32 %e, %b\n"
    "  %g = shl i32 %f, 2\n"
    "  %h = or i32 %g, %c\n"
    "  %i = add i32 %h, %d\n"
    "  %j = mul i32 %i, %e\n"
    "  %k = xor i32 %j, %f\n"
    "  %l = sub i32 %k, %g\n"
    "  %m = load i32, ptr @exported\n"
    "  %n = add i32 %l, %m\n"
    "  store i32 %n, ptr %p\n"
    "  ret void\n"
    "}\n"
    "define internal void @small(ptr %p) #0 {\n"
    "  store i32 1, ptr %p\n"
    "  ret void\n"
    "}\n"
    "define internal void @table_reader(ptr %t, ptr %p) #0 {\n"
    "  %a = load float, ptr %t\n"
    "  %b = fadd float %a, 1.0\n"
    "  %c = fmul float %b, %a\n"
    "  store float %c, ptr %p\n"
    "  ret void\n"
    "}\n"
    "define internal void @init(ptr %p) #1 {\n"
    "  store i32 0, ptr %p\n"
    "  ret void\n"
    "}\n"
    "define void @entry(ptr %p) {\n"
    "  call void @init(ptr %p)\n"
    "  call void @big(ptr %p)\n"
    "  call void @small(ptr %p)\n"
    "  call void @table_reader(ptr @table, ptr %p)\n"
    "  ret void\n"
    "}\n"
    "attributes #0 = { noinline nounwind }\n"
    "attributes #1 = { noinline nounwind optnone }\n";

static LLVMModuleRef parse(LLVMContextRef ctx) {
  LLVMMemoryBufferRef buf = LLVMCreateMemoryBufferWithMemoryRangeCopy(ir, strlen(ir), "test");
  LLVMModuleRef mod = NULL;
  char *msg = NULL;
  ck_assert_msg(!LLVMParseIRInContext(ctx, buf, &mod, &msg), "%s", msg ? msg : "");
  return mod;
}

/* What each part held when optimised: its defined functions, in order,
 * space-separated; [0] the part with the entry, [1] the other. Each slot is
 * written by one thread only. */
static char seen[2][256];
static pthread_t seen_thread[2];

static bool record(LLVMModuleRef mod, LLVMTargetMachineRef tm, int opt_level, FILE *err) {
  (void)tm;
  (void)opt_level;
  (void)err;
  LLVMValueRef entry = LLVMGetNamedFunction(mod, "entry");
  int part = entry && !LLVMIsDeclaration(entry) ? 0 : 1;
  seen[part][0] = 0;
  seen_thread[part] = pthread_self();
  for (LLVMValueRef f = LLVMGetFirstFunction(mod); f; f = LLVMGetNextFunction(f)) {
    if (LLVMIsDeclaration(f)) continue;
    size_t len;
    const char *name = LLVMGetValueName2(f, &len);
    size_t at = strlen(seen[part]);
    snprintf(seen[part] + at, sizeof seen[part] - at, "%s%.*s", at ? " " : "", (int)len, name);
  }
  if (part == 1) { /* big reads @exported: declared here, defined once */
    LLVMValueRef exported = LLVMGetNamedGlobal(mod, "exported");
    ck_assert(exported && LLVMIsDeclaration(exported));
    ck_assert_ptr_null(LLVMGetNamedGlobal(mod, "table"));
  }
  return true;
}

static void on_diag(LLVMDiagnosticInfoRef info, void *arg) {
  (void)info;
  (void)arg;
}

/* The module after llvm_parallel_optimise, printed (malloc'd). */
static char *optimised_text(void) {
  LLVMContextRef ctx = LLVMContextCreate();
  LLVMModuleRef mod = parse(ctx);
  memset(seen, 0, sizeof seen);
  ck_assert(llvm_parallel_optimise(mod, 2, NULL, NULL, record, on_diag, NULL, stderr));
  char *msg = NULL;
  ck_assert_msg(!LLVMVerifyModule(mod, LLVMReturnStatusAction, &msg), "%s", msg);
  LLVMDisposeMessage(msg);
  const char *all[] = {"helper", "big", "small", "table_reader", "init", "entry"};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
    LLVMValueRef f = LLVMGetNamedFunction(mod, all[i]);
    ck_assert_msg(f && !LLVMIsDeclaration(f), "%s is not defined", all[i]);
    if (strcmp(all[i], "entry") == 0) continue;
    ck_assert_msg(LLVMGetLinkage(f) == LLVMInternalLinkage, "%s is not internal", all[i]);
    ck_assert_int_eq(LLVMGetVisibility(f), LLVMDefaultVisibility);
  }
  LLVMValueRef exported = LLVMGetNamedGlobal(mod, "exported");
  ck_assert(exported && !LLVMIsDeclaration(exported));
  char *text = LLVMPrintModuleToString(mod);
  char *copy = strdup(text);
  LLVMDisposeMessage(text);
  LLVMDisposeModule(mod);
  LLVMContextDispose(ctx);
  ck_assert_ptr_nonnull(copy);
  return copy;
}

START_TEST(kernels_move_unless_optnone_or_given_a_constant) {
  LLVMContextRef ctx = LLVMContextCreate();
  LLVMModuleRef mod = parse(ctx);
  ck_assert(llvm_parallel_movable(LLVMGetNamedFunction(mod, "big")));
  ck_assert(llvm_parallel_movable(LLVMGetNamedFunction(mod, "small")));
  ck_assert(!llvm_parallel_movable(LLVMGetNamedFunction(mod, "init")));
  ck_assert(!llvm_parallel_movable(LLVMGetNamedFunction(mod, "table_reader")));
  ck_assert(!llvm_parallel_movable(LLVMGetNamedFunction(mod, "helper")));
  ck_assert(!llvm_parallel_movable(LLVMGetNamedFunction(mod, "entry")));
  LLVMDisposeModule(mod);
  LLVMContextDispose(ctx);
}
END_TEST

START_TEST(each_thread_gets_its_part_and_the_link_restores_the_module) {
  char *first = optimised_text();
  /* the second part: the largest kernel and the helper it calls */
  ck_assert_str_eq(seen[1], "helper big");
  ck_assert_str_eq(seen[0], "helper small table_reader init entry");
  ck_assert(!pthread_equal(seen_thread[0], seen_thread[1]));
  char *second = optimised_text();
  ck_assert_str_eq(first, second);
  free(first);
  free(second);
}
END_TEST

int main(void) {
  Suite *s = suite_create("llvm_parallel");
  TCase *tc = tcase_create("split");
  tcase_add_test(tc, kernels_move_unless_optnone_or_given_a_constant);
  /* one processor: the pipeline stays on one thread, nothing splits */
  bool two = sysconf(_SC_NPROCESSORS_ONLN) >= 2;
  if (two) tcase_add_test(tc, each_thread_gets_its_part_and_the_link_restores_the_module);
  suite_add_tcase(s, tc);
  SRunner *r = srunner_create(s);
  srunner_run_all(r, CK_NORMAL);
  int failed = srunner_ntests_failed(r);
  srunner_free(r);
  if (failed) return EXIT_FAILURE;
  if (!two) {
    printf("SKIP: one processor, the two-thread case cannot run\n");
    return 77;
  }
  return EXIT_SUCCESS;
}
