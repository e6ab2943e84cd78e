/* reprint: reads IR text files and prints them back, failing unless the
 * result is byte-identical to the file (print -> read -> print for text
 * octoc printed). Used by cli_roundtrip.sh on octoc's --print-after dumps
 * and --emit=loops output, so the round trip is checked with the library
 * reader and printer rather than through another octoc run (which would
 * re-run the pipeline on the graph).
 *   reprint graph FILE...   graph_read + graph_print
 *   reprint loops FILE...   lprog_read + lprog_print, and lprog_verify clean
 * Exit status 0 when every file round-trips, 1 otherwise. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "diag.h"
#include "loop_printer.h"
#include "loop_reader.h"
#include "loop_verify.h"
#include "printer.h"
#include "reader.h"

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 4096, n = 0, got;
  char *buf = xmalloc(cap);
  while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) buf = xrealloc(buf, cap *= 2);
  }
  bool bad = ferror(f);
  if (fclose(f) != 0 || bad) {
    free(buf);
    return NULL;
  }
  *len = n;
  return buf;
}

/* Prints what the reader built into a memstream; NULL if nothing was read. */
static char *reprint(Arena *a, Diag *d, bool loops, const char *path, const char *text, size_t len,
                     size_t *outlen) {
  Graph *g = NULL;
  LProgram *p = NULL;
  if (loops) p = lprog_read(a, d, path, text, len);
  else g = graph_read(a, d, path, text, len);
  if (!g && !p) return NULL;
  if (p && !lprog_verify(p, d)) return NULL;
  char *out = NULL;
  FILE *f = open_memstream(&out, outlen);
  if (!f) {
    perror("reprint: open_memstream");
    exit(2);
  }
  if (p) lprog_print(f, p);
  else graph_print(f, g);
  if (fclose(f) != 0) {
    perror("reprint: memstream");
    exit(2);
  }
  return out;
}

/* Reports the first differing line; true when x and y are equal. */
static bool same(const char *path, const char *x, size_t nx, const char *y, size_t ny) {
  size_t i = 0, line_start = 0;
  int line = 1;
  for (; i < nx && i < ny && x[i] == y[i]; i++)
    if (x[i] == '\n') {
      line++;
      line_start = i + 1;
    }
  if (i == nx && i == ny) return true;
  const char *xe = memchr(x + line_start, '\n', nx - line_start);
  const char *ye = memchr(y + line_start, '\n', ny - line_start);
  int xl = (int)((xe ? (size_t)(xe - x) : nx) - line_start);
  int yl = (int)((ye ? (size_t)(ye - y) : ny) - line_start);
  fprintf(stderr, "%s:%d: reprint differs\n  file:    %.*s\n  reprint: %.*s\n", path, line, xl,
          x + line_start, yl, y + line_start);
  return false;
}

static bool check_file(bool loops, const char *path) {
  size_t len, outlen = 0;
  char *text = slurp(path, &len);
  if (!text) {
    fprintf(stderr, "reprint: cannot read %s\n", path);
    return false;
  }
  Arena *a = arena_new();
  Diag *d = diag_new(stderr);
  char *out = reprint(a, d, loops, path, text, len, &outlen);
  bool ok = out && same(path, text, len, out, outlen);
  if (!out) fprintf(stderr, "reprint: %s does not read back\n", path);
  free(out);
  free(text);
  diag_free(d);
  arena_free(a);
  return ok;
}

int main(int argc, char **argv) {
  if (argc < 3 || (strcmp(argv[1], "graph") != 0 && strcmp(argv[1], "loops") != 0)) {
    fputs("usage: reprint graph|loops FILE...\n", stderr);
    return 2;
  }
  bool loops = strcmp(argv[1], "loops") == 0;
  bool ok = true;
  for (int i = 2; i < argc; i++) ok = check_file(loops, argv[i]) && ok;
  return ok ? 0 : 1;
}
