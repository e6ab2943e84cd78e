/* elf_merge (targets/elf_merge.h), which joins the two objects of the LLVM
 * backend's two-thread code generation: on objects LLVM writes for small
 * modules, a joined host object linked and run, a kernel made local, every
 * target's objects joined and read back, and what it must refuse
 * (truncated input, two definitions, different machines). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <llvm-c/Core.h>
#include <llvm-c/IRReader.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>

#include "elf_merge.h"

/* f, exported, calls k, hidden and defined in the other object; both call
 * abs, which neither defines. */
static const char *const ir_a =
    "declare hidden i32 @k(i32)\n"
    "declare i32 @abs(i32)\n"
    "@table = constant [2 x i32] [i32 1, i32 2]\n"
    "define i32 @f(i32 %x) {\n"
    "  %a = call i32 @k(i32 %x)\n"
    "  %b = call i32 @abs(i32 %x)\n"
    "  %c = add i32 %a, %b\n"
    "  %t = load i32, ptr @table\n"
    "  %d = add i32 %c, %t\n"
    "  ret i32 %d\n"
    "}\n";
static const char *const ir_b =
    "declare i32 @abs(i32)\n"
    "define hidden i32 @k(i32 %x) {\n"
    "  %a = call i32 @abs(i32 %x)\n"
    "  %b = mul i32 %a, 3\n"
    "  ret i32 %b\n"
    "}\n";
/* ir_a with an optnone function: Arm's build attributes then record no
 * single optimisation goal for it, and "speed" for ir_b */
static const char *const ir_a_optnone =
    "declare hidden i32 @k(i32)\n"
    "define i32 @f(i32 %x) {\n"
    "  %a = call i32 @k(i32 %x)\n"
    "  ret i32 %a\n"
    "}\n"
    "define void @init(ptr %p) #0 {\n"
    "  store i32 1, ptr %p\n"
    "  ret void\n"
    "}\n"
    "attributes #0 = { noinline optnone }\n";
/* k defined in both */
static const char *const ir_k_again =
    "define hidden i32 @k(i32 %x) {\n"
    "  ret i32 %x\n"
    "}\n";

typedef struct Bytes {
  unsigned char *p;
  size_t len;
} Bytes;

/* The object LLVM writes for ir, triple and cpu (position-independent). */
static Bytes object_for(const char *ir, const char *triple, const char *cpu) {
  LLVMContextRef ctx = LLVMContextCreate();
  LLVMMemoryBufferRef src = LLVMCreateMemoryBufferWithMemoryRangeCopy(ir, strlen(ir), "t");
  LLVMModuleRef mod = NULL;
  char *msg = NULL;
  ck_assert_msg(!LLVMParseIRInContext(ctx, src, &mod, &msg), "%s", msg ? msg : "");
  LLVMTargetRef t;
  ck_assert_msg(!LLVMGetTargetFromTriple(triple, &t, &msg), "%s", msg ? msg : "");
  LLVMTargetMachineRef tm = LLVMCreateTargetMachine(t, triple, cpu, "", LLVMCodeGenLevelDefault,
                                                    LLVMRelocPIC, LLVMCodeModelDefault);
  LLVMSetTarget(mod, triple);
  LLVMMemoryBufferRef out = NULL;
  ck_assert_msg(!LLVMTargetMachineEmitToMemoryBuffer(tm, mod, LLVMObjectFile, &msg, &out), "%s",
                msg ? msg : "");
  Bytes b = {malloc(LLVMGetBufferSize(out)), LLVMGetBufferSize(out)};
  ck_assert_ptr_nonnull(b.p);
  memcpy(b.p, LLVMGetBufferStart(out), b.len);
  LLVMDisposeMemoryBuffer(out);
  LLVMDisposeModule(mod);
  LLVMDisposeTargetMachine(tm);
  LLVMContextDispose(ctx);
  return b;
}

static Bytes object_of(const char *ir, const char *triple) { return object_for(ir, triple, ""); }

static bool merge(Bytes a, Bytes b, Bytes *out, char *why, size_t whylen) {
  return elf_merge(a.p, a.len, b.p, b.len, &out->p, &out->len, why, whylen);
}

static void write_file(const char *path, Bytes b) {
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(b.p, 1, b.len, f), b.len);
  ck_assert_int_eq(fclose(f), 0);
}

static const char *host_triple = "x86_64-unknown-linux-gnu";

START_TEST(host_object_links_and_runs) {
  Bytes a = object_of(ir_a, host_triple), b = object_of(ir_b, host_triple), j;
  char why[200] = "", dir[] = "/tmp/elfmergeXXXXXX";
  ck_assert_msg(merge(a, b, &j, why, sizeof why), "%s", why);
  ck_assert_ptr_nonnull(mkdtemp(dir));
  char path[256], cmd[1024];
  snprintf(path, sizeof path, "%s/j.o", dir);
  write_file(path, j);
  /* f(-5) = k(-5) + abs(-5) + table[0] = 15 + 5 + 1 */
  snprintf(cmd, sizeof cmd,
           "cd %s && printf 'int f(int);\\nint main(void) { return f(-5) != 21; }\\n' > m.c && "
           "cc -o m m.c j.o && ./m",
           dir);
  ck_assert_msg(system(cmd) == 0, "the joined object did not link and run: %s", cmd);
  /* k is local in the joined object: a program that calls it does not link */
  snprintf(cmd, sizeof cmd,
           "cd %s && printf 'int k(int);\\nint main(void) { return k(1); }\\n' > k.c && "
           "! cc -o k k.c j.o 2>/dev/null",
           dir);
  ck_assert_msg(system(cmd) == 0, "k was still global after the join");
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  ck_assert_int_eq(system(cmd), 0);
  free(a.p), free(b.p), free(j.p);
}
END_TEST

/* Every target's objects join, the same bytes each time, and the result
 * reads back (it joins again with a third object). */
START_TEST(every_target_joins) {
  static const char *const triples[] = {
      "x86_64-unknown-linux-gnu", "armv7-unknown-linux-gnueabihf", "thumbv7em-none-eabihf",
      "aarch64-unknown-linux-gnu", "riscv64-unknown-linux-gnu", "riscv32-unknown-elf"};
  for (size_t i = 0; i < sizeof triples / sizeof triples[0]; i++) {
    Bytes a = object_of(ir_a, triples[i]), b = object_of(ir_b, triples[i]), j, j2, j3;
    Bytes c = object_of("define void @other() {\n  ret void\n}\n", triples[i]);
    char why[200] = "";
    ck_assert_msg(merge(a, b, &j, why, sizeof why), "%s: %s", triples[i], why);
    ck_assert_msg(merge(a, b, &j2, why, sizeof why), "%s: %s", triples[i], why);
    ck_assert_uint_eq(j.len, j2.len);
    ck_assert(memcmp(j.p, j2.p, j.len) == 0);
    ck_assert_msg(merge(j, c, &j3, why, sizeof why), "%s, read back: %s", triples[i], why);
    free(a.p), free(b.p), free(c.p), free(j.p), free(j2.p), free(j3.p);
  }
}
END_TEST

/* Arm objects whose build attributes differ only in the optimisation
 * goals join, the goals dropped (mixed: what one object of both would
 * say); attributes that differ otherwise (another CPU) do not. */
START_TEST(arm_goals_join) {
  static const char *const triples[] = {"armv7-unknown-linux-gnueabihf", "thumbv7em-none-eabihf"};
  for (size_t i = 0; i < 2; i++) {
    Bytes a = object_of(ir_a_optnone, triples[i]), b = object_of(ir_b, triples[i]), j;
    char why[200] = "";
    ck_assert_msg(a.len != b.len || memcmp(a.p, b.p, a.len) != 0, "same objects");
    ck_assert_msg(merge(a, b, &j, why, sizeof why), "%s: %s", triples[i], why);
    char dir[] = "/tmp/elfmergeXXXXXX", cmd[512];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(cmd, sizeof cmd, "%s/j.o", dir);
    write_file(cmd, j);
    /* the goals are gone, the architecture is still there (when llvm-readelf is at hand) */
    snprintf(cmd, sizeof cmd,
             "! command -v llvm-readelf-19 >/dev/null || { llvm-readelf-19 -A %s/j.o > %s/a && "
             "! grep -q optimization_goals %s/a && grep -q CPU_arch %s/a; }",
             dir, dir, dir, dir);
    ck_assert_msg(system(cmd) == 0, "%s: the joined attributes", triples[i]);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
    free(b.p), free(j.p);
    Bytes other = object_for(ir_b, triples[i], i == 0 ? "cortex-a53" : "cortex-m7");
    ck_assert(!merge(a, other, &j, why, sizeof why));
    ck_assert_msg(strstr(why, "ARM.attributes differ"), "%s", why);
    free(a.p), free(other.p);
  }
}
END_TEST

START_TEST(refuses_what_it_cannot_join) {
  Bytes a = object_of(ir_a, host_triple), b = object_of(ir_b, host_triple), j;
  Bytes again = object_of(ir_k_again, host_triple);
  Bytes arm = object_of(ir_b, "aarch64-unknown-linux-gnu");
  char why[200] = "";
  ck_assert(!merge(b, again, &j, why, sizeof why));
  ck_assert_ptr_null(j.p);
  ck_assert_msg(strstr(why, "both objects define k"), "%s", why);
  ck_assert(!merge(a, arm, &j, why, sizeof why));
  ck_assert_msg(strstr(why, "different machines"), "%s", why);
  /* every cut of either object is refused, never read past */
  for (size_t n = 0; n < a.len; n++) {
    Bytes cut = {a.p, n};
    ck_assert_msg(!merge(cut, b, &j, why, sizeof why), "a cut at %zu joined", n);
  }
  for (size_t n = 0; n < b.len; n += 7) {
    Bytes cut = {b.p, n};
    ck_assert_msg(!merge(a, cut, &j, why, sizeof why), "b cut at %zu joined", n);
  }
  /* bytes that are not ELF */
  Bytes text = {(unsigned char *)"not an object at all, but long enough to be read as one....", 60};
  ck_assert(!merge(text, b, &j, why, sizeof why));
  ck_assert_msg(strstr(why, "not a little-endian ELF"), "%s", why);
  free(a.p), free(b.p), free(again.p), free(arm.p);
}
END_TEST

int main(void) {
  LLVMInitializeAllTargetInfos();
  LLVMInitializeAllTargets();
  LLVMInitializeAllTargetMCs();
  LLVMInitializeAllAsmPrinters();
  Suite *s = suite_create("elf_merge");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 120);
#if defined(__x86_64__) /* the joined object is an x86-64 one, run here */
  tcase_add_test(tc, host_object_links_and_runs);
#endif
  tcase_add_test(tc, every_target_joins);
  tcase_add_test(tc, arm_goals_join);
  tcase_add_test(tc, refuses_what_it_cannot_join);
  suite_add_tcase(s, tc);
  SRunner *r = srunner_create(s);
  srunner_run_all(r, CK_NORMAL);
  int failed = srunner_ntests_failed(r);
  srunner_free(r);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
