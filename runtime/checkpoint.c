/* checkpoint.c: saving and restoring the whole state block of a model.
 *
 * Layout (little-endian, byte offsets; docs/trainer.md has the reference):
 *    0  8  magic "OCTOCKPT"
 *    8  4  u32 format version (CKPT_VERSION)
 *   12  4  u32 reserved, 0
 *   16  8  u64 total file size, CRC included
 *   24  8  u64 model hash
 *   32  8  u64 seed of the run
 *   40  8  u64 epochs done
 *   48  ..  str model name (u32 length + bytes), u32 tensor count, per tensor:
 *           str name, u8 dtype, u8 kind, u8 rank, u8 0, rank x i64 shape,
 *           u64 offset, u64 bytes; then u64 state bytes and the state block
 *  end  4  u32 CRC-32 (zlib's, crc32.c) of every byte before it
 *
 * Saving writes FILE.tmp.<pid> beside FILE, syncs it, renames it over FILE
 * and syncs the directory: a crash leaves the old or the new checkpoint,
 * never half of one. SIGINT, SIGTERM or SIGHUP during a save removes the
 * temporary file before the signal ends the process; one left by a process
 * that could not clean up (kill -9, a power cut) is removed by the next save
 * beside the same FILE. Loading reads at most the size this trainer's
 * checkpoint has plus one byte, and checks everything (magic, version, size,
 * CRC, hash, tensor table) before it touches the caller's state. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rt.h"

static const char ckpt_magic[8] = {'O', 'C', 'T', 'O', 'C', 'K', 'P', 'T'};

/* --- a growable byte buffer for the header --- */

typedef struct {
  uint8_t *p;
  size_t len, cap;
  int oom;
} Buf;

static void put_bytes(Buf *b, const void *src, size_t n) {
  if (b->oom)
    return;
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n)
      cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p) {
      b->oom = 1;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, src, n);
  b->len += n;
}

static void put_u(Buf *b, uint64_t v, int bytes) {
  uint8_t raw[8];
  for (int i = 0; i < bytes; i++)
    raw[i] = (uint8_t)(v >> (8 * i));
  put_bytes(b, raw, (size_t)bytes);
}

static void put_str(Buf *b, const char *s) {
  size_t n = strlen(s);
  put_u(b, n, 4);
  put_bytes(b, s, n);
}

/* Everything before the state bytes. total_at = offset of the size field. */
static void put_header(Buf *b, const OctoModel *m, uint64_t seed, int epochs_done) {
  put_bytes(b, ckpt_magic, 8);
  put_u(b, CKPT_VERSION, 4);
  put_u(b, 0, 4);
  put_u(b, 0, 8); /* total size, patched once known */
  put_u(b, m->hash, 8);
  put_u(b, seed, 8);
  put_u(b, (uint64_t)epochs_done, 8);
  put_str(b, m->name);
  put_u(b, (uint64_t)m->ntensors, 4);
  for (int i = 0; i < m->ntensors; i++) {
    const OctoTensorInfo *t = &m->tensors[i];
    put_str(b, t->name);
    put_u(b, (uint64_t)t->dtype, 1);
    put_u(b, (uint64_t)t->kind, 1);
    put_u(b, (uint64_t)t->rank, 1);
    put_u(b, 0, 1);
    for (int d = 0; d < t->rank; d++)
      put_u(b, (uint64_t)t->shape[d], 8);
    put_u(b, t->offset, 8);
    put_u(b, t->bytes, 8);
  }
  put_u(b, m->state_bytes, 8);
  uint64_t total = b->len + m->state_bytes + 4;
  if (!b->oom)
    for (int i = 0; i < 8; i++)
      b->p[16 + i] = (uint8_t)(total >> (8 * i));
}

/* --- saving --- */

static int write_all(FILE *f, const void *p, size_t n) {
  return fwrite(p, 1, n, f) == n ? 0 : -1;
}

/* The folder part of path ("." if none). */
static int dir_of(const char *path, char *dir, size_t dirsz) {
  const char *slash = strrchr(path, '/');
  if (!slash)
    strcpy(dir, ".");
  else if (slash == path)
    strcpy(dir, "/");
  else {
    size_t n = (size_t)(slash - path);
    if (n >= dirsz)
      return -1;
    memcpy(dir, path, n);
    dir[n] = '\0';
  }
  return 0;
}

static int sync_dir(const char *path) {
  char dir[4096];
  if (dir_of(path, dir, sizeof dir) != 0)
    return -1;
  int fd = open(dir, O_RDONLY);
  if (fd < 0)
    return -1;
  /* Some file systems cannot sync a directory; that is not a failed save. */
  int rc = fsync(fd) == 0 || errno == EINVAL || errno == ENOTSUP ? 0 : -1;
  close(fd);
  return rc;
}

static int write_file(FILE *f, const Buf *hdr, const void *state, size_t state_bytes) {
  uint32_t crc = rt_crc32(0, hdr->p, hdr->len);
  crc = rt_crc32(crc, state, state_bytes);
  uint8_t tail[4];
  for (int i = 0; i < 4; i++)
    tail[i] = (uint8_t)(crc >> (8 * i));
  if (write_all(f, hdr->p, hdr->len) || write_all(f, state, state_bytes) ||
      write_all(f, tail, 4) || fflush(f) != 0 || fsync(fileno(f)) != 0)
    return -1;
  return 0;
}

/* --- the temporary file on SIGINT, SIGTERM and SIGHUP --- */

/* The one temporary file being written ("" when none), for the handler. */
static char saving[4096];
static const int stop_signals[] = {SIGINT, SIGTERM, SIGHUP};
enum { NSTOP = sizeof stop_signals / sizeof stop_signals[0] };
static struct sigaction previous[NSTOP];
static int guarded[NSTOP];

/* Async-signal-safe: unlink, then the signal again with the action it had
 * before the save (by default, ending the process with it). */
static void unlink_and_reraise(int sig) {
  if (saving[0])
    unlink(saving);
  for (int i = 0; i < NSTOP; i++)
    if (stop_signals[i] == sig)
      sigaction(sig, &previous[i], NULL);
  raise(sig);
}

/* From here to guard_end a stop signal removes tmp first. A signal that is
 * ignored (nohup) stays ignored. */
static void guard_begin(const char *tmp) {
  strcpy(saving, tmp); /* before the handler can run; tmp fits, as ckpt_save's */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = unlink_and_reraise;
  sigemptyset(&sa.sa_mask);
  for (int i = 0; i < NSTOP; i++)
    sigaddset(&sa.sa_mask, stop_signals[i]);
  for (int i = 0; i < NSTOP; i++)
    guarded[i] = sigaction(stop_signals[i], NULL, &previous[i]) == 0 &&
                 previous[i].sa_handler != SIG_IGN &&
                 sigaction(stop_signals[i], &sa, NULL) == 0;
}

static void guard_end(void) {
  for (int i = 0; i < NSTOP; i++)
    if (guarded[i])
      sigaction(stop_signals[i], &previous[i], NULL);
  saving[0] = '\0';
}

/* The pid of a name that is exactly BASE.tmp.<pid> (decimal, no sign or
 * leading zero), else 0. */
static long stale_pid(const char *name, const char *base) {
  size_t n = strlen(base);
  if (strncmp(name, base, n) != 0 || strncmp(name + n, ".tmp.", 5) != 0)
    return 0;
  const char *d = name + n + 5;
  if (*d < '1' || *d > '9')
    return 0;
  long pid = 0;
  for (; *d; d++) {
    if (*d < '0' || *d > '9' || pid > 99999999)
      return 0;
    pid = pid * 10 + (*d - '0');
  }
  return pid;
}

/* Removes the FILE.tmp.<pid> files beside path whose process is gone (a
 * save cut short by kill -9): regular files only, and only when kill says
 * no such process. Best effort: a stale file that stays does no harm. */
static void remove_stale_temps(const char *path) {
  char dir[4096];
  if (dir_of(path, dir, sizeof dir) != 0)
    return;
  const char *slash = strrchr(path, '/');
  const char *base = slash ? slash + 1 : path;
  DIR *d = opendir(dir);
  if (!d)
    return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    long pid = stale_pid(e->d_name, base);
    if (pid == 0 || pid == (long)getpid())
      continue;
    char name[8192];
    struct stat st;
    int k = snprintf(name, sizeof name, "%s/%s", dir, e->d_name);
    if (k < 0 || (size_t)k >= sizeof name || lstat(name, &st) != 0 || !S_ISREG(st.st_mode))
      continue;
    if (kill((pid_t)pid, 0) == -1 && errno == ESRCH)
      unlink(name);
  }
  closedir(d);
}

int ckpt_check_writable(const char *path, RtErr *err) {
  char dir[4096];
  struct stat st;
  if (dir_of(path, dir, sizeof dir) != 0)
    return rt_error(err, "%s: cannot write checkpoint: path too long", path);
  if (stat(dir, &st) != 0)
    return rt_error(err, "%s: cannot write checkpoint: %s: %s", path, dir, strerror(errno));
  if (!S_ISDIR(st.st_mode) || access(dir, W_OK | X_OK) != 0)
    return rt_error(err, "%s: cannot write checkpoint: %s is not a writable folder", path, dir);
  if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
    return rt_error(err, "%s: cannot write checkpoint: not a regular file", path);
  return 0;
}

int ckpt_save(const char *path, const OctoModel *m, const void *state, uint64_t seed,
              int epochs_done, RtErr *err) {
  char tmp[4096];
  int k = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
  if (k < 0 || (size_t)k >= sizeof tmp)
    return rt_error(err, "%s: cannot write checkpoint: path too long", path);
  Buf hdr = {0};
  put_header(&hdr, m, seed, epochs_done);
  if (hdr.oom) {
    free(hdr.p);
    return rt_error(err, "%s: cannot write checkpoint: out of memory", path);
  }
  remove_stale_temps(path);
  guard_begin(tmp);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    int e = errno;
    guard_end();
    free(hdr.p);
    return rt_error(err, "%s: cannot write checkpoint: %s", path, strerror(e));
  }
  FILE *f = fdopen(fd, "wb");
  if (!f) {
    int e = errno;
    close(fd);
    unlink(tmp);
    guard_end();
    free(hdr.p);
    return rt_error(err, "%s: cannot write checkpoint: %s", path, strerror(e));
  }
  int rc = write_file(f, &hdr, state, m->state_bytes);
  int e = errno;
  free(hdr.p);
  if (fclose(f) != 0 && rc == 0) {
    rc = -1;
    e = errno;
  }
  if (rc == 0 && rename(tmp, path) != 0) {
    rc = -1;
    e = errno;
  }
  if (rc != 0)
    unlink(tmp);
  guard_end();
  if (rc != 0)
    return rt_error(err, "%s: cannot write checkpoint: %s", path, strerror(e));
  if (sync_dir(path) != 0)
    return rt_error(err, "%s: checkpoint written but its directory could not be synced: %s",
                    path, strerror(errno));
  return 0;
}

/* --- loading --- */

typedef struct {
  const uint8_t *p;
  size_t len, pos;
  int bad;
} Reader;

static uint64_t get_u(Reader *r, int bytes) {
  if (r->bad || r->len - r->pos < (size_t)bytes) {
    r->bad = 1;
    return 0;
  }
  uint64_t v = 0;
  for (int i = 0; i < bytes; i++)
    v |= (uint64_t)r->p[r->pos + (size_t)i] << (8 * i);
  r->pos += (size_t)bytes;
  return v;
}

/* A length-prefixed string compared with want (no copy needed). */
static int get_str_eq(Reader *r, const char *want, char *copy, size_t copysz) {
  uint64_t n = get_u(r, 4);
  if (r->bad || r->len - r->pos < n) {
    r->bad = 1;
    return 0;
  }
  const char *s = (const char *)r->p + r->pos;
  r->pos += n;
  if (copy) {
    size_t c = n < copysz - 1 ? (size_t)n : copysz - 1;
    memcpy(copy, s, c);
    copy[c] = '\0';
  }
  return strlen(want) == n && memcmp(want, s, n) == 0;
}

/* The size of this trainer's checkpoint: its header's length depends only
 * on the model (name and tensor table), then the state block and the CRC.
 * 0 when it cannot be computed (out of memory). */
static size_t ckpt_size(const OctoModel *m) {
  Buf hdr = {0};
  put_header(&hdr, m, 0, 0);
  size_t n = 0;
  if (!hdr.oom && m->state_bytes < SIZE_MAX - hdr.len - 5)
    n = hdr.len + m->state_bytes + 4;
  free(hdr.p);
  return n;
}

/* At most max bytes of path into a new buffer, so /dev/zero or a huge file
 * costs no more than a checkpoint. *size is the file's size when it is a
 * regular file, else 0. */
static int read_at_most(const char *path, size_t max, uint8_t **data, size_t *len,
                        uint64_t *size, RtErr *err) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return rt_error(err, "%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  *size = fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
  uint8_t *p = malloc(max);
  size_t n = p ? fread(p, 1, max, f) : 0;
  int oom = !p, bad = oom || ferror(f);
  int e = errno;
  fclose(f);
  if (bad) {
    free(p);
    return rt_error(err, "%s: read error: %s", path, oom ? "out of memory" : strerror(e));
  }
  *data = p;
  *len = n;
  return 0;
}

/* whole: p holds the whole file. Otherwise it holds the first bytes of a
 * file longer than this trainer's checkpoint: only the magic and version
 * are checked here, the body checks say what differs. */
static int check_frame(const char *path, const uint8_t *p, size_t len, int whole,
                       RtErr *err) {
  if (len < 8 || memcmp(p, ckpt_magic, 8) != 0)
    return rt_error(err, "%s: not an Octo checkpoint", path);
  Reader r = {p, len, 8, 0};
  uint64_t version = get_u(&r, 4);
  get_u(&r, 4);
  uint64_t total = get_u(&r, 8);
  if (r.bad)
    return rt_error(err, "%s: truncated (%zu bytes)", path, len);
  if (version != CKPT_VERSION)
    return rt_error(err, "%s: checkpoint format version %llu is not supported (this runtime "
                    "reads version %d)", path, (unsigned long long)version, CKPT_VERSION);
  if (!whole)
    return 0;
  if (total > len)
    return rt_error(err, "%s: truncated (expected %llu bytes, got %zu)", path,
                    (unsigned long long)total, len);
  if (total < len || total < 28)
    return rt_error(err, "%s: corrupt (the file has %zu bytes, its header says %llu)", path,
                    len, (unsigned long long)total);
  uint32_t crc = rt_crc32(0, p, len - 4);
  uint32_t stored = (uint32_t)p[len - 4] | (uint32_t)p[len - 3] << 8 |
                    (uint32_t)p[len - 2] << 16 | (uint32_t)p[len - 1] << 24;
  if ((uint32_t)crc != stored)
    return rt_error(err, "%s: corrupt (CRC mismatch)", path);
  return 0;
}

static int check_tensor(Reader *r, const OctoTensorInfo *t) {
  int same = get_str_eq(r, t->name, NULL, 0);
  same &= get_u(r, 1) == (uint64_t)t->dtype;
  same &= get_u(r, 1) == (uint64_t)t->kind;
  uint64_t rank = get_u(r, 1);
  get_u(r, 1);
  if (rank > OCTO_MAX_RANK) {
    r->bad = 1;
    return 0;
  }
  same &= rank == (uint64_t)t->rank;
  for (uint64_t d = 0; d < rank; d++) {
    uint64_t v = get_u(r, 8);
    same &= (int)d < t->rank && v == (uint64_t)t->shape[d];
  }
  same &= get_u(r, 8) == t->offset;
  same &= get_u(r, 8) == t->bytes;
  return same;
}

/* The body after the frame checks: identity, tensor table, state size. */
/* extra: the bytes past this trainer's checkpoint size when known (a
 * regular file), for the message about trailing bytes. */
static int check_body(const char *path, Reader *r, const OctoModel *m, uint64_t extra,
                      uint64_t *seed, uint64_t *epochs, RtErr *err) {
  uint64_t hash = get_u(r, 8);
  *seed = get_u(r, 8);
  *epochs = get_u(r, 8);
  char name[128];
  int same_name = get_str_eq(r, m->name, name, sizeof name);
  if (r->bad)
    return rt_error(err, "%s: corrupt (malformed header)", path);
  if (hash != m->hash || !same_name)
    return rt_error(err, "%s: checkpoint is for model '%s' (hash %016llx), this trainer is "
                    "'%s' (hash %016llx)", path, name, (unsigned long long)hash, m->name,
                    (unsigned long long)m->hash);
  uint64_t nt = get_u(r, 4);
  if (!r->bad && nt != (uint64_t)m->ntensors)
    return rt_error(err, "%s: checkpoint has %llu tensors, this trainer has %d", path,
                    (unsigned long long)nt, m->ntensors);
  for (int i = 0; i < m->ntensors && !r->bad; i++)
    if (!check_tensor(r, &m->tensors[i]) && !r->bad)
      return rt_error(err, "%s: tensor %d ('%s') differs from this trainer's", path, i,
                      m->tensors[i].name);
  uint64_t sb = get_u(r, 8);
  if (r->bad)
    return rt_error(err, "%s: corrupt (malformed header)", path);
  if (sb != m->state_bytes)
    return rt_error(err, "%s: state block has %llu bytes, this trainer's has %zu", path,
                    (unsigned long long)sb, m->state_bytes);
  size_t rest = r->len - r->pos; /* the state block and the CRC */
  if (rest < sb + 4)
    return rt_error(err, "%s: corrupt (the state block is cut short)", path);
  if (rest > sb + 4 && extra)
    return rt_error(err, "%s: corrupt (%llu trailing bytes after the state block)", path,
                    (unsigned long long)extra);
  if (rest > sb + 4)
    return rt_error(err, "%s: corrupt (trailing bytes after the state block)", path);
  if (*epochs > 1000000000)
    return rt_error(err, "%s: corrupt (epoch count %llu)", path, (unsigned long long)*epochs);
  return 0;
}

int ckpt_load(const char *path, const OctoModel *m, void *state, uint64_t *seed,
              int *epochs_done, RtErr *err) {
  size_t want = ckpt_size(m);
  if (want == 0)
    return rt_error(err, "%s: cannot read checkpoint: out of memory", path);
  uint8_t *p = NULL;
  size_t len = 0;
  uint64_t size = 0;
  if (read_at_most(path, want + 1, &p, &len, &size, err) != 0)
    return -1;
  int rc = check_frame(path, p, len, len <= want, err);
  Reader r = {p, len, 24, 0};
  uint64_t s = 0, e = 0;
  if (rc == 0)
    rc = check_body(path, &r, m, size > want ? size - want : 0, &s, &e, err);
  if (rc == 0) {
    memcpy(state, p + r.pos, m->state_bytes);
    *seed = s;
    *epochs_done = (int)e;
  }
  free(p);
  return rc;
}
