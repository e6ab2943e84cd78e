/* llvm_machine.h for an octoc built without LLVM (meson -Dllvm=disabled):
 * every request for the LLVM backend is an error that says so. */
#include "llvm_machine.h"

static void not_built_in(FILE *err) {
  fprintf(err, "octoc: error: this octoc was built without LLVM: use --backend=c (objects "
               "through the C compiler) or rebuild with LLVM >= 15\n");
}

bool llvm_built_in(void) { return false; }

bool llvm_maps_dot4_i8(const TargetConfig *tc) {
  (void)tc;
  return false;
}

bool llvm_maps_dot4_u8i8(const TargetConfig *tc) {
  (void)tc;
  return false;
}

bool llvm_check_target(const TargetConfig *tc, FILE *err) {
  (void)tc;
  not_built_in(err);
  return false;
}

bool llvm_compile(const ProgramPlan *plan, const TargetConfig *tc, int opt_level,
                  LlvmOutputKind kind, char **bytes, size_t *len, FILE *err) {
  (void)plan;
  (void)tc;
  (void)opt_level;
  (void)kind;
  *bytes = NULL;
  *len = 0;
  not_built_in(err);
  return false;
}
