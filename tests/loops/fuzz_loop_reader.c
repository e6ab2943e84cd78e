/* libFuzzer harness for the loop-IR reader (not part of the meson build):
 *   clang-19 -g -O1 -fsanitize=fuzzer,address,undefined -D_POSIX_C_SOURCE=200809L \
 *     -Iir ir/arena.c ir/diag.c ir/types.c ir/ir_scanner.c ir/intrinsics.c ir/loop*.c \
 *     tests/loops/fuzz_loop_reader.c -lm
 *   ./a.out -max_total_time=60 tests/loops/bad
 * Any input must read or fail cleanly; what reads must verify without a
 * crash and print -> read -> print identically. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loop_printer.h"
#include "loop_reader.h"
#include "loop_verify.h"

static char *print_program(const LProgram *p) {
  char *buf = NULL;
  size_t size = 0;
  FILE *f = open_memstream(&buf, &size);
  if (!f) abort();
  lprog_print(f, p);
  if (fclose(f) != 0) abort();
  return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FILE *sink = fopen("/dev/null", "w");
  if (!sink) abort();
  Arena *a = arena_new();
  Diag *d = diag_new(sink);
  LProgram *p = lprog_read(a, d, "fuzz.loops", (const char *)data, size);
  if (p) {
    lprog_verify(p, d);
    char *once = print_program(p);
    LProgram *q = lprog_read(a, d, "again.loops", once, strlen(once));
    if (!q) abort();
    char *twice = print_program(q);
    if (strcmp(once, twice) != 0) abort();
    free(once);
    free(twice);
  }
  diag_free(d);
  arena_free(a);
  fclose(sink);
  return 0;
}
