/* libFuzzer harness for the .net front end: any bytes through net_compile,
 * diagnostics to a memstream (so message formatting is exercised too). A
 * crash, hang, leak, ASan or UBSan report is a bug; errors are not.
 * Run with `tests/fuzz/run.sh net`; the suite replays its seeds (fuzz.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "frontend.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&text, &len);
  if (!out) return 0;
  Arena *a = arena_new();
  Diag *d = diag_new(out);
  Graph *g = net_compile(a, d, "fuzz.net", (const char *)data, size, 8);
  /* A graph is only returned without errors. */
  if (g && diag_error_count(d) > 0) abort();
  diag_free(d);
  arena_free(a);
  fclose(out);
  free(text);
  return 0;
}
