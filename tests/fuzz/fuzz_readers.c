/* fuzz_readers.c: libFuzzer harness for the trainer's file readers. The
 * input is written to a memfd (a file that lives in memory, named through
 * /proc/self/fd) as it is and gzipped, and read back by idx_read,
 * idx_read_targets and dataset_load (the input cut in two: images and
 * labels, for the toy model), and, as it is, by ckpt_load for the toy
 * model. A crash, hang, leak or sanitizer report is a bug, and so is a
 * broken promise of the readers: a failure must leave a message naming
 * the file, an empty IdxFile and the caller's state untouched; a success
 * must hold exactly the elements the header declares.
 *
 * Run with `tests/fuzz/run.sh readers`; the suite replays its seeds
 * (tests/fuzz/corpus/readers, fuzz.h). */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include "fuzz.h"
#include "rt.h"
#include "toy_model.h"

/* A memfd and its name. */
typedef struct {
  int fd;
  char path[64];
} MemFile;

static void mem_open(MemFile *m, const char *name) {
  m->fd = memfd_create(name, 0);
  if (m->fd < 0) {
    perror("memfd_create");
    abort();
  }
  snprintf(m->path, sizeof m->path, "/proc/self/fd/%d", m->fd);
}

static void mem_set(MemFile *m, const uint8_t *data, size_t size) {
  if (ftruncate(m->fd, 0) != 0)
    abort();
  size_t done = 0;
  while (done < size) {
    ssize_t k = pwrite(m->fd, data + done, size - done, (off_t)done);
    if (k <= 0)
      abort();
    done += (size_t)k;
  }
}

/* data as one gzip member, malloc'd (NULL if zlib fails). */
static uint8_t *gzip_bytes(const uint8_t *data, size_t size, size_t *out_len) {
  z_stream z;
  memset(&z, 0, sizeof z);
  if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return NULL;
  uLong cap = deflateBound(&z, (uLong)size) + 32;
  uint8_t *out = malloc(cap);
  if (!out) {
    deflateEnd(&z);
    return NULL;
  }
  z.next_in = (Bytef *)data;
  z.avail_in = (uInt)size;
  z.next_out = out;
  z.avail_out = (uInt)cap;
  int rc = deflate(&z, Z_FINISH);
  *out_len = z.total_out;
  deflateEnd(&z);
  if (rc != Z_STREAM_END) {
    free(out);
    return NULL;
  }
  return out;
}

/* A failure names the file somewhere in its message. */
static void check_named(const RtErr *err, const char *path) {
  if (!strstr(err->msg, path)) {
    fprintf(stderr, "message does not name %s: %s\n", path, err->msg);
    abort();
  }
}

static void check_idx(const char *path, int targets) {
  IdxFile f;
  RtErr err;
  int rc = targets ? idx_read_targets(path, &f, &err) : idx_read(path, "pixels", &f, &err);
  if (rc != 0) {
    check_named(&err, path);
    if (f.data || f.size || f.ndims)
      abort(); /* a failed read leaves an empty IdxFile */
    return;
  }
  uint64_t n = 1;
  for (int i = 0; i < f.ndims; i++)
    n *= (uint64_t)f.dims[i];
  if (!f.data || n != f.size)
    abort();
  volatile float last = idx_float(&f, f.size - 1); /* the whole payload is there */
  (void)last;
  idx_free(&f);
}

/* The input cut in two at the big-endian u16 it starts with. */
static void check_dataset(MemFile *im, MemFile *lb, const uint8_t *data, size_t size) {
  if (size < 2)
    return;
  size_t cut = (size_t)data[0] << 8 | data[1];
  if (cut > size - 2)
    cut = size - 2;
  mem_set(im, data + 2, cut);
  mem_set(lb, data + 2 + cut, size - 2 - cut);
  Dataset ds;
  RtErr err;
  if (dataset_load(&ds, im->path, lb->path, &toy_model, &err) != 0) {
    if (!strstr(err.msg, im->path) && !strstr(err.msg, lb->path))
      abort();
    return;
  }
  if (ds.count == 0 || ds.count * ds.sample_size != ds.images.size ||
      ds.labels.size != ds.count)
    abort();
  dataset_free(&ds);
}

static void check_checkpoint(const char *path) {
  static uint8_t *state;
  if (!state && !(state = malloc(toy_model.state_bytes)))
    abort();
  memset(state, 0xab, toy_model.state_bytes);
  uint64_t seed;
  int epochs;
  RtErr err;
  if (ckpt_load(path, &toy_model, state, &seed, &epochs, &err) == 0)
    return;
  check_named(&err, path);
  for (size_t i = 0; i < toy_model.state_bytes; i++)
    if (state[i] != 0xab)
      abort(); /* a refused checkpoint leaves the state untouched */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static MemFile plain, gz, im, lb;
  if (!plain.path[0]) {
    mem_open(&plain, "plain");
    mem_open(&gz, "gzipped");
    mem_open(&im, "images");
    mem_open(&lb, "labels");
  }
  mem_set(&plain, data, size);
  check_idx(plain.path, 0);
  check_idx(plain.path, 1);
  check_checkpoint(plain.path);
  size_t zlen;
  uint8_t *z = gzip_bytes(data, size, &zlen);
  if (z) {
    mem_set(&gz, z, zlen);
    check_idx(gz.path, 0);
    check_idx(gz.path, 1);
    free(z);
  }
  check_dataset(&im, &lb, data, size);
  return 0;
}
