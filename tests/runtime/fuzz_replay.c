/* fuzz_replay.c: a main for a libFuzzer harness without libFuzzer, so the
 * suite runs the seed corpus through the harness in every build (plain,
 * and sanitized in the ASan build): each file in each folder named on the
 * command line (or each file named) goes once to LLVMFuzzerTestOneInput.
 * Exit 1 if a folder is empty or a file cannot be read; the harness aborts
 * on a finding. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    return -1;
  }
  size_t cap = 1 << 16, n = 0;
  uint8_t *buf = malloc(cap);
  while (buf) {
    n += fread(buf + n, 1, cap - n, f);
    if (n < cap)
      break;
    uint8_t *more = realloc(buf, cap * 2);
    if (!more)
      free(buf);
    buf = more;
    cap *= 2;
  }
  int bad = !buf || ferror(f);
  fclose(f);
  if (bad) {
    fprintf(stderr, "%s: cannot read\n", path);
    free(buf);
    return -1;
  }
  LLVMFuzzerTestOneInput(buf, n);
  free(buf);
  return 0;
}

int main(int argc, char **argv) {
  int count = 0;
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0) {
      perror(argv[i]);
      return 1;
    }
    if (!S_ISDIR(st.st_mode)) {
      if (replay_file(argv[i]) != 0)
        return 1;
      count++;
      continue;
    }
    DIR *d = opendir(argv[i]);
    if (!d) {
      perror(argv[i]);
      return 1;
    }
    int before = count;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      if (e->d_name[0] == '.')
        continue;
      char path[4096];
      snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
      if (replay_file(path) != 0) {
        closedir(d);
        return 1;
      }
      count++;
    }
    closedir(d);
    if (count == before) {
      fprintf(stderr, "%s: no inputs\n", argv[i]);
      return 1;
    }
  }
  printf("%d inputs replayed\n", count);
  return count ? 0 : 1;
}
