/* Whole-file reads and atomic outputs. */
#include "files.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arena.h"

char *read_file(const char *path, size_t *len) {
  FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
  if (!f) return NULL;
  struct stat st;
  if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
    if (f != stdin) fclose(f);
    errno = EISDIR;
    return NULL;
  }
  size_t cap = 1 << 16, n = 0;
  char *buf = xmalloc(cap);
  for (;;) {
    if (n + 1 >= cap) {
      if (cap > ((size_t)1 << 40)) {
        free(buf);
        if (f != stdin) fclose(f);
        errno = EFBIG;
        return NULL;
      }
      cap *= 2;
      buf = xrealloc(buf, cap);
    }
    size_t k = fread(buf + n, 1, cap - n - 1, f);
    n += k;
    if (k == 0) break;
  }
  int failed = ferror(f);
  int saved = errno;
  if (f != stdin) fclose(f);
  if (failed) {
    free(buf);
    errno = saved ? saved : EIO;
    return NULL;
  }
  buf[n] = 0;
  *len = n;
  return buf;
}

/* Temporary files being written, removed at exit if still there: a fatal
 * error (out of memory) exits from deep inside a pass, and must not leave
 * partial outputs behind either. octoc writes at most a few at a time. */
enum { MAX_PENDING = 16 };
static char *pending[MAX_PENDING];

static void remove_pending(void) {
  for (int i = 0; i < MAX_PENDING; i++)
    if (pending[i]) remove(pending[i]);
}

static void track(char *tmp, bool on) {
  static bool registered;
  if (!registered) registered = atexit(remove_pending) == 0;
  for (int i = 0; i < MAX_PENDING; i++)
    if (on ? !pending[i] : pending[i] == tmp) {
      pending[i] = on ? tmp : NULL;
      return;
    }
}

bool output_open(Output *o, const char *path) {
  memset(o, 0, sizeof *o);
  if (!path || strcmp(path, "-") == 0) {
    o->f = stdout;
    return true;
  }
  o->path = path;
  size_t n = strlen(path) + 32;
  o->tmp = xmalloc(n);
  snprintf(o->tmp, n, "%s.tmp.%ld", path, (long)getpid());
  o->f = fopen(o->tmp, "wb");
  if (o->f) track(o->tmp, true);
  if (!o->f) {
    fprintf(stderr, "octoc: error: cannot write '%s': %s\n", path, strerror(errno));
    free(o->tmp);
    o->tmp = NULL;
    return false;
  }
  return true;
}

bool output_commit(Output *o) {
  if (!o->path) {
    if (fflush(stdout) != 0 || ferror(stdout)) {
      fprintf(stderr, "octoc: error: writing standard output: %s\n", strerror(errno));
      return false;
    }
    return true;
  }
  bool ok = fflush(o->f) == 0 && !ferror(o->f);
  int saved = errno;
  if (fclose(o->f) != 0 && ok) {
    ok = false;
    saved = errno;
  }
  o->f = NULL;
  if (ok && rename(o->tmp, o->path) != 0) {
    ok = false;
    saved = errno;
  }
  if (!ok) {
    fprintf(stderr, "octoc: error: cannot write '%s': %s\n", o->path, strerror(saved));
    remove(o->tmp);
  }
  track(o->tmp, false);
  free(o->tmp);
  o->tmp = NULL;
  return ok;
}

void output_abort(Output *o) {
  if (o->path && o->f) {
    fclose(o->f);
    remove(o->tmp);
  }
  if (o->tmp) track(o->tmp, false);
  free(o->tmp);
  memset(o, 0, sizeof *o);
}
