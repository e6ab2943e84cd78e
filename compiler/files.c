/* Whole-file reads with a size limit, and outputs that appear only when
 * complete: a regular file (or a symlink's target) is written under a
 * temporary name beside it and renamed into place; a device or a FIFO is
 * written directly, since renaming over it would replace the node itself. */
#include "files.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arena.h"
#include "cleanup.h"

char *read_file(const char *path, size_t *len) {
  FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
  if (!f) return NULL;
  struct stat st;
  if (fstat(fileno(f), &st) == 0 && (S_ISDIR(st.st_mode) ||
                                     (S_ISREG(st.st_mode) && st.st_size > READ_FILE_MAX))) {
    if (f != stdin) fclose(f);
    errno = S_ISDIR(st.st_mode) ? EISDIR : EFBIG;
    return NULL;
  }
  /* Devices and pipes have no size: read at most one byte past the limit,
   * so /dev/zero is refused after 1 GiB rather than read forever. */
  size_t cap = 1 << 16, n = 0, limit = (size_t)READ_FILE_MAX + 1;
  char *buf = xmalloc(cap);
  for (;;) {
    if (n + 1 >= cap) {
      cap = cap * 2 < limit + 1 ? cap * 2 : limit + 1;
      buf = xrealloc(buf, cap);
    }
    size_t k = fread(buf + n, 1, cap - n - 1, f);
    n += k;
    if (k == 0 || n == limit) break;
  }
  int failed = ferror(f);
  int saved = errno;
  if (f != stdin) fclose(f);
  if (failed || n == limit) {
    free(buf);
    errno = failed ? (saved ? saved : EIO) : EFBIG;
    return NULL;
  }
  buf[n] = 0;
  *len = n;
  return buf;
}

static char *copy_string(const char *s) {
  size_t n = strlen(s) + 1;
  return memcpy(xmalloc(n), s, n);
}

/* The target of the symlink at path, as a name usable from here: a relative
 * target is relative to the link's folder. NULL with errno on failure. */
static char *link_target(const char *path) {
  size_t cap = 256;
  for (;;) {
    char *buf = xmalloc(cap);
    ssize_t n = readlink(path, buf, cap);
    if (n < 0) {
      free(buf);
      return NULL;
    }
    if ((size_t)n < cap) {
      buf[n] = 0;
      const char *slash = strrchr(path, '/');
      if (buf[0] == '/' || !slash) return buf;
      size_t dir = (size_t)(slash - path) + 1;
      char *joined = xmalloc(dir + (size_t)n + 1);
      memcpy(joined, path, dir);
      memcpy(joined + dir, buf, (size_t)n + 1);
      free(buf);
      return joined;
    }
    free(buf);
    cap *= 2;
  }
}

/* path with the symlinks of its last component followed (at most 40, as
 * the kernel does): the file to replace, never the link. A dangling link
 * gives its target's name, which the output then creates. */
static char *follow_links(const char *path) {
  char *p = copy_string(path);
  for (int hops = 0;; hops++) {
    struct stat st;
    if (lstat(p, &st) != 0 || !S_ISLNK(st.st_mode)) return p;
    char *next = hops < 40 ? link_target(p) : NULL;
    if (hops == 40) errno = ELOOP;
    free(p);
    if (!next) return NULL;
    p = next;
  }
}

static bool open_failed(Output *o, int err) {
  fprintf(stderr, "octoc: error: cannot write '%s': %s\n", o->path, strerror(err));
  if (o->tmp) cleanup_drop_file(o->tmp);
  free(o->target);
  free(o->tmp);
  o->target = o->tmp = NULL;
  return false;
}

/* An existing file that is not regular: a character device (/dev/null, a
 * terminal) or a FIFO is written directly, a folder is an error, anything
 * else (a disk, a socket) is refused. */
static bool open_special(Output *o, const struct stat *st) {
  if (S_ISDIR(st->st_mode)) return open_failed(o, EISDIR);
  if (!S_ISCHR(st->st_mode) && !S_ISFIFO(st->st_mode)) {
    fprintf(stderr, "octoc: error: cannot write '%s': not a regular file, character device "
                    "or FIFO\n", o->path);
    return false;
  }
  o->f = fopen(o->path, "wb");
  return o->f ? true : open_failed(o, errno);
}

bool output_open(Output *o, const char *path) {
  memset(o, 0, sizeof *o);
  if (!path || strcmp(path, "-") == 0) {
    o->f = stdout;
    return true;
  }
  o->path = path;
  struct stat st;
  if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) return open_special(o, &st);
  o->target = follow_links(path);
  if (!o->target) return open_failed(o, errno);
  size_t n = strlen(o->target) + 32;
  o->tmp = xmalloc(n);
  snprintf(o->tmp, n, "%s.tmp.%ld", o->target, (long)getpid());
  /* Tracked before it exists: a signal in between leaves nothing. */
  if (!cleanup_add_file(o->tmp)) return open_failed(o, EMFILE);
  o->f = fopen(o->tmp, "wb");
  if (!o->f) return open_failed(o, errno);
  return true;
}

bool output_folder_exists(const char *path) {
  struct stat st;
  if (!path || strcmp(path, "-") == 0 || lstat(path, &st) == 0) return true;
  const char *slash = strrchr(path, '/');
  char *dir;
  if (!slash) {
    dir = copy_string(".");
  } else {
    size_t n = slash == path ? 1 : (size_t)(slash - path); /* "/x": the root */
    dir = xmalloc(n + 1);
    memcpy(dir, path, n);
    dir[n] = 0;
  }
  int err = stat(dir, &st) != 0 ? errno : S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
  free(dir);
  if (err) fprintf(stderr, "octoc: error: cannot write '%s': %s\n", path, strerror(err));
  return err == 0;
}

/* Drops the names, untracking the temporary file. */
static void forget(Output *o) {
  if (o->tmp) cleanup_drop_file(o->tmp);
  free(o->tmp);
  free(o->target);
  o->tmp = o->target = NULL;
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
  if (ok && o->tmp && rename(o->tmp, o->target) != 0) {
    ok = false;
    saved = errno;
  }
  if (!ok) {
    fprintf(stderr, "octoc: error: cannot write '%s': %s\n", o->path, strerror(saved));
    if (o->tmp) remove(o->tmp);
  }
  forget(o);
  return ok;
}

void output_abort(Output *o) {
  if (o->path && o->f) {
    fclose(o->f);
    if (o->tmp) remove(o->tmp);
  }
  forget(o);
  memset(o, 0, sizeof *o);
}
