/* A replay main for a fuzz harness: feeds every file named on the command
 * line, and every file under every folder named (recursively, in name
 * order), to LLVMFuzzerTestOneInput, each in a buffer of exactly its size
 * (no NUL after it, so a sanitized build sees an over-read). The suite runs
 * each harness this way over its seed corpus: a harness that no longer
 * compiles, or crashes on a seed, fails the suite. Exit 1 when a path cannot
 * be read or no input was found. */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Reads the size bytes of path into a malloc'd buffer of exactly that size. */
static uint8_t *slurp(const char *path, size_t size) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  uint8_t *data = malloc(size ? size : 1);
  bool ok = data && fread(data, 1, size, f) == size && fgetc(f) == EOF && !ferror(f);
  fclose(f);
  if (!ok) {
    free(data);
    return NULL;
  }
  return data;
}

static bool replay(const char *path, long *count);

static int not_hidden(const struct dirent *e) { return e->d_name[0] != '.'; }

static bool replay_dir(const char *dir, long *count) {
  struct dirent **names;
  int n = scandir(dir, &names, not_hidden, alphasort);
  if (n < 0) {
    fprintf(stderr, "replay: cannot list %s: %s\n", dir, strerror(errno));
    return false;
  }
  bool ok = true;
  for (int i = 0; i < n; i++) {
    size_t len = strlen(dir) + strlen(names[i]->d_name) + 2;
    char *path = malloc(len);
    if (!path) {
      ok = false;
    } else {
      snprintf(path, len, "%s/%s", dir, names[i]->d_name);
      ok = replay(path, count) && ok;
      free(path);
    }
    free(names[i]);
  }
  free(names);
  return ok;
}

static bool replay(const char *path, long *count) {
  struct stat st;
  if (stat(path, &st) != 0) {
    fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
    return false;
  }
  if (S_ISDIR(st.st_mode)) return replay_dir(path, count);
  size_t size = (size_t)st.st_size;
  uint8_t *data = slurp(path, size);
  if (!data) {
    fprintf(stderr, "replay: cannot read %s: %s\n", path, strerror(errno));
    return false;
  }
  LLVMFuzzerTestOneInput(data, size);
  free(data);
  (*count)++;
  return true;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s FILE|FOLDER...\n", argv[0]);
    return 2;
  }
  long count = 0;
  bool ok = true;
  for (int i = 1; i < argc; i++) ok = replay(argv[i], &count) && ok;
  printf("replayed %ld inputs through the harness\n", count);
  if (count == 0) fprintf(stderr, "replay: no inputs found\n");
  return ok && count > 0 ? 0 : 1;
}
