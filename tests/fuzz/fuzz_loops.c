/* libFuzzer harness for the loop-IR reader and verifier. Any input must
 * read or fail cleanly; what reads must verify without a crash and print ->
 * read -> print identically. Run with `tests/fuzz/run.sh loops`; the suite
 * replays its seeds (fuzz.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
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
