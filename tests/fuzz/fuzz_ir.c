/* libFuzzer harness for the graph IR reader. Any bytes must be read without
 * a crash, a sanitizer report or a leak outside the arena; and whatever
 * reads successfully must round-trip: print -> read -> print gives the same
 * bytes. Run with `tests/fuzz/run.sh ir`; the suite replays its seeds
 * (fuzz.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "printer.h"
#include "reader.h"

static char *print_graph(const Graph *g, size_t *len) {
  char *buf = NULL;
  FILE *f = open_memstream(&buf, len);
  if (!f) abort();
  graph_print(f, g);
  if (fclose(f) != 0) abort();
  return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FILE *sink = fopen("/dev/null", "w");
  if (!sink) abort();
  Diag *d = diag_new(sink);
  Arena *a = arena_new();
  Graph *g = graph_read(a, d, "fuzz.ir", (const char *)data, size);
  if (g) {
    size_t len1, len2;
    char *t1 = print_graph(g, &len1);
    Graph *g2 = graph_read(a, d, "fuzz2.ir", t1, len1);
    if (!g2) {
      fprintf(stderr, "printed graph does not read back:\n%s", t1);
      abort();
    }
    char *t2 = print_graph(g2, &len2);
    if (len1 != len2 || memcmp(t1, t2, len1) != 0) {
      fprintf(stderr, "round trip differs:\n%s---\n%s", t1, t2);
      abort();
    }
    free(t1);
    free(t2);
  }
  arena_free(a);
  diag_free(d);
  fclose(sink);
  return 0;
}
