/* libFuzzer harness for recipes: any bytes through recipe_load (libyaml and
 * the key validation), diagnostics to a memstream; the first line also goes
 * through recipe_set as a `--set KEY=VALUE` override. Whatever loads must
 * survive recipe_write -> recipe_load as an equal recipe. A crash, hang,
 * leak, sanitizer report or a failed round trip is a bug; errors are not.
 * Run with `tests/fuzz/run.sh recipe`; the suite replays its seeds (fuzz.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "recipe/recipe_io.h"

/* recipe_write's text must read back to the same recipe. */
static void check_round_trip(const Recipe *r, Arena *a, Diag *d) {
  char *text = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&text, &len);
  if (!out) return;
  if (!recipe_write(out, r)) abort();
  fclose(out);
  Recipe back;
  if (!recipe_load(&back, a, d, "written.yaml", text, len) || !recipe_equal(r, &back)) {
    fwrite(text, 1, len, stderr);
    abort();
  }
  free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *msgs = NULL;
  size_t mlen = 0;
  FILE *out = open_memstream(&msgs, &mlen);
  if (!out) return 0;
  Arena *a = arena_new();
  Diag *d = diag_new(out);
  Recipe r;
  if (recipe_load(&r, a, d, "fuzz.yaml", (const char *)data, size)) check_round_trip(&r, a, d);

  size_t line = 0;
  while (line < size && line < 512 && data[line] != '\n') line++;
  char *assignment = malloc(line + 1);
  if (assignment) {
    memcpy(assignment, data, line);
    assignment[line] = 0;
    Recipe s;
    recipe_defaults(&s);
    char err[256];
    if (recipe_set(&s, a, assignment, err, sizeof err)) check_round_trip(&s, a, d);
    free(assignment);
  }
  diag_free(d);
  arena_free(a);
  fclose(out);
  free(msgs);
  return 0;
}
