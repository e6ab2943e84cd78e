/* twins_dump FILE.loops: each called kernel that kernel_twins
 * (targets/kernel_twins.h) finds to be the same code as an earlier one,
 * as "KERNEL -> FIRST", for tests/targets/kernel_twins.sh to check. */
#include <stdio.h>
#include <stdlib.h>

#include "arena.h"
#include "diag.h"
#include "entry_plan.h"
#include "kernel_twins.h"
#include "loop_reader.h"
#include "loop_verify.h"

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: twins_dump FILE.loops\n");
    return 2;
  }
  FILE *f = fopen(argv[1], "rb");
  if (!f) {
    perror(argv[1]);
    return 1;
  }
  static char text[1 << 22];
  size_t len = fread(text, 1, sizeof text, f);
  fclose(f);
  if (len == sizeof text) {
    fprintf(stderr, "%s: too long for this test\n", argv[1]);
    return 1;
  }
  Arena *a = arena_new();
  Diag *d = diag_new(stderr);
  LProgram *p = lprog_read(a, d, argv[1], text, len);
  ProgramPlan plan;
  if (!p || !lprog_verify(p, d) || !plan_build(&plan, p, "twins_dump", stderr)) return 1;
  int *twin = calloc((size_t)plan.nkernels + 1, sizeof *twin);
  KernelConsts *kc = calloc((size_t)plan.nkernels + 1, sizeof *kc);
  if (!twin || !kc) return 1;
  kernel_twins(&plan, NULL, NULL, twin, kc);
  int n = 0;
  for (int i = 0; i < plan.nkernels; i++) {
    if (twin[i] != i) {
      printf("%s -> %s", plan.kernels[i].kernel->name, plan.kernels[twin[i]].kernel->name);
      n++;
    } else if (kc[i].n) {
      printf("%s", plan.kernels[i].kernel->name);
    }
    if (kc[i].n) { /* the constants passed as arguments */
      printf(" (");
      for (int s = 0; s < kc[i].n; s++) printf("%s%lld", s ? ", " : "", (long long)kc[i].value[s]);
      printf(")");
    }
    if (twin[i] != i || kc[i].n) printf("\n");
  }
  printf("%d of %d kernels are twins\n", n, plan.nkernels);
  free(kc);
  free(twin);
  diag_free(d);
  arena_free(a);
  return 0;
}
