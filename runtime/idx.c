/* idx.c: IDX dataset files (the MNIST / Fashion-MNIST format), plain or gzip.
 *
 * An IDX file is: two zero bytes, an element-type byte (0x08 = unsigned
 * byte, the only type datasets of images and labels use; regression targets
 * may also be 0x0D, big-endian float32), a dimension count, that many
 * big-endian u32 extents, then the elements. zlib's gzopen/gzread
 * read both plain and gzip files: it tells them apart by the magic bytes
 * 1f 8b, never by the file name. Every malformed file is an error that names
 * the file; nothing is trusted before it is checked, and the buffer grows
 * with the data actually read, so a lying header cannot make us allocate
 * terabytes. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "rt.h"

/* Larger than any dataset this runtime is for; keeps size arithmetic exact. */
#define IDX_MAX_BYTES ((uint64_t)1 << 40)

static const char *gz_message(gzFile gz) {
  int code;
  const char *s = gzerror(gz, &code);
  if (code == Z_ERRNO)
    return strerror(errno);
  return s && *s ? s : "unknown error";
}

/* Reads up to len bytes; returns the count, or -1 on a read error. A short
 * count means end of file (zlib reports a truncated gzip stream as a short
 * read, which the caller turns into "truncated"). */
static int64_t gz_read_all(gzFile gz, uint8_t *buf, size_t len) {
  size_t got = 0;
  while (got < len) {
    size_t chunk = len - got;
    if (chunk > (1u << 30))
      chunk = 1u << 30;
    int k = gzread(gz, buf + got, (unsigned)chunk);
    if (k < 0)
      return -1;
    if (k == 0)
      break;
    got += (size_t)k;
  }
  return (int64_t)got;
}

/* accept_f32: float32 elements (0x0D) are allowed besides bytes. */
static int read_header(gzFile gz, const char *path, int accept_f32, IdxFile *f,
                       uint64_t *total, RtErr *err) {
  uint8_t magic[4];
  int64_t k = gz_read_all(gz, magic, 4);
  if (k < 0)
    return rt_error(err, "%s: read error: %s", path, gz_message(gz));
  if (k < 4)
    return rt_error(err, "%s: truncated: expected a 4-byte IDX header, got %lld bytes",
                    path, (long long)k);
  if (magic[0] != 0 || magic[1] != 0)
    return rt_error(err, "%s: not an IDX file (magic bytes %02x %02x %02x %02x)", path,
                    magic[0], magic[1], magic[2], magic[3]);
  if (accept_f32 && magic[2] != IDX_U8 && magic[2] != IDX_F32)
    return rt_error(err,
                    "%s: unsupported IDX element type 0x%02x (targets are float32, 0x0d, or "
                    "unsigned bytes, 0x08)",
                    path, magic[2]);
  if (!accept_f32 && magic[2] != IDX_U8)
    return rt_error(err,
                    "%s: unsupported IDX element type 0x%02x (only unsigned bytes, 0x08, "
                    "are supported)",
                    path, magic[2]);
  f->type = magic[2];
  int ndims = magic[3];
  if (ndims == 0)
    return rt_error(err, "%s: IDX file has 0 dimensions", path);
  if (ndims > IDX_MAX_DIMS)
    return rt_error(err, "%s: IDX file has %d dimensions (at most %d are supported)", path,
                    ndims, IDX_MAX_DIMS);
  uint8_t raw[4 * IDX_MAX_DIMS];
  size_t want = 4 * (size_t)ndims;
  k = gz_read_all(gz, raw, want);
  if (k < 0)
    return rt_error(err, "%s: read error: %s", path, gz_message(gz));
  if ((size_t)k < want)
    return rt_error(err, "%s: truncated: expected %zu bytes of dimensions, got %lld", path,
                    want, (long long)k);
  f->ndims = ndims;
  uint64_t n = 1;
  int overflow = 0;
  for (int i = 0; i < ndims; i++) {
    const uint8_t *b = raw + 4 * i;
    uint64_t d = (uint64_t)b[0] << 24 | (uint64_t)b[1] << 16 | (uint64_t)b[2] << 8 | b[3];
    if (d == 0)
      return rt_error(err, "%s: dimension %d of %d is 0 (each must be at least 1)", path,
                      i + 1, ndims);
    f->dims[i] = (int64_t)d;
    if (!overflow && n > IDX_MAX_BYTES / d)
      overflow = 1;
    else
      n *= d;
  }
  if (overflow) {
    char shape[128];
    return rt_error(err, "%s: dimensions %s are too large (more than 2^40 elements)", path,
                    rt_shape_str(shape, sizeof shape, ndims, f->dims));
  }
  *total = n;
  return 0;
}

static size_t elem_bytes(const IdxFile *f) { return f->type == IDX_F32 ? 4 : 1; }

/* The payload, grown as it arrives; then one probe byte for trailing data. */
static int read_payload(gzFile gz, const char *path, const char *what, IdxFile *f,
                        uint64_t count, RtErr *err) {
  uint64_t total = count * elem_bytes(f); /* bytes; count <= 2^40, no overflow */
  size_t cap = total < (1u << 20) ? (size_t)total : (1u << 20);
  size_t got = 0;
  f->data = rt_malloc(cap, err);
  if (!f->data)
    return -1;
  for (;;) {
    int64_t k = gz_read_all(gz, f->data + got, cap - got);
    if (k < 0)
      return rt_error(err, "%s: read error: %s", path, gz_message(gz));
    got += (size_t)k;
    if (got < cap || cap == total)
      break;
    size_t ncap = cap * 2 < total ? cap * 2 : (size_t)total;
    uint8_t *p = realloc(f->data, ncap);
    if (!p)
      return rt_error(err, "%s: out of memory (allocating %zu bytes)", path, ncap);
    f->data = p;
    cap = ncap;
  }
  if (got < total)
    return rt_error(err, "%s: truncated: expected %llu bytes of %s, got %zu", path,
                    (unsigned long long)total, what, got);
  uint8_t probe;
  int64_t extra = gz_read_all(gz, &probe, 1);
  if (extra < 0)
    return rt_error(err, "%s: read error: %s", path, gz_message(gz));
  if (extra > 0)
    return rt_error(err, "%s: trailing garbage after %llu bytes of %s", path,
                    (unsigned long long)total, what);
  f->size = (size_t)count;
  return 0;
}

static int idx_read_as(const char *path, const char *what, int accept_f32, IdxFile *out,
                       RtErr *err) {
  memset(out, 0, sizeof *out);
  errno = 0;
  gzFile gz = gzopen(path, "rb");
  if (!gz)
    return rt_error(err, "%s: cannot open: %s", path, errno ? strerror(errno) : "out of memory");
  uint64_t total = 0;
  int rc = read_header(gz, path, accept_f32, out, &total, err);
  if (rc == 0)
    rc = read_payload(gz, path, what, out, total, err);
  gzclose(gz);
  if (rc != 0)
    idx_free(out);
  return rc;
}

int idx_read(const char *path, const char *what, IdxFile *out, RtErr *err) {
  return idx_read_as(path, what, 0, out, err);
}

int idx_read_targets(const char *path, IdxFile *out, RtErr *err) {
  return idx_read_as(path, "targets", 1, out, err);
}

float idx_float(const IdxFile *f, size_t i) {
  if (f->type != IDX_F32)
    return (float)f->data[i];
  const uint8_t *b = f->data + 4 * i;
  uint32_t bits = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
  float v;
  memcpy(&v, &bits, sizeof v);
  return v;
}

void idx_free(IdxFile *f) {
  free(f->data);
  memset(f, 0, sizeof *f);
}

/* Per-sample shapes match when equal after dropping leading 1s, so a model
 * input of 1x28x28 (one channel) accepts a 28x28 IDX image. */
static int shape_matches(int ra, const int64_t *a, int rb, const int64_t *b) {
  while (ra > 0 && a[0] == 1)
    a++, ra--;
  while (rb > 0 && b[0] == 1)
    b++, rb--;
  if (ra != rb)
    return 0;
  for (int i = 0; i < ra; i++)
    if (a[i] != b[i])
      return 0;
  return 1;
}

/* The images of either kind of split: at least 2 dimensions, each sample
 * of the model's input shape; sets count and sample_size. */
static int check_images(Dataset *ds, const char *images, const OctoModel *m, RtErr *err) {
  IdxFile *im = &ds->images;
  if (im->ndims < 2)
    return rt_error(err, "%s: expected images with at least 2 dimensions, found %d", images,
                    im->ndims);
  if (!shape_matches(m->input_rank, m->input_shape, im->ndims - 1, im->dims + 1)) {
    char want[128], have[128];
    return rt_error(err, "model expects %s samples but %s has %s",
                    rt_shape_str(want, sizeof want, m->input_rank, m->input_shape), images,
                    rt_shape_str(have, sizeof have, im->ndims - 1, im->dims + 1));
  }
  ds->count = (size_t)im->dims[0];
  ds->sample_size = im->size / ds->count;
  return 0;
}

static int check_dataset(Dataset *ds, const char *images, const char *labels,
                         const OctoModel *m, RtErr *err) {
  IdxFile *im = &ds->images, *lb = &ds->labels;
  if (check_images(ds, images, m, err))
    return -1;
  if (lb->ndims != 1)
    return rt_error(err, "%s: expected labels with 1 dimension, found %d", labels,
                    lb->ndims);
  if (im->dims[0] != lb->dims[0])
    return rt_error(err, "%s has %lld images but %s has %lld labels", images,
                    (long long)im->dims[0], labels, (long long)lb->dims[0]);
  for (size_t i = 0; i < lb->size; i++)
    if (lb->data[i] >= m->num_classes)
      return rt_error(err, "%s: label %d of sample %zu is out of range (the model has %d classes)",
                      labels, lb->data[i], i, m->num_classes);
  return 0;
}

/* One target's shape for messages: "2x3", or "1" for a scalar. */
static const char *target_shape(char *buf, size_t bufsz, int rank, const int64_t *dims) {
  if (rank == 0)
    return snprintf(buf, bufsz, "1"), buf;
  return rt_shape_str(buf, bufsz, rank, dims);
}

/* A regression split: images as for a classifier, then (when the model has
 * a label) one target per image of the model's target shape, all finite,
 * converted to floats. */
static int check_regression(Dataset *ds, const char *images, const char *targets,
                            const OctoModel *m, RtErr *err) {
  IdxFile *im = &ds->images, *tg = &ds->labels;
  if (check_images(ds, images, m, err))
    return -1;
  if (!targets)
    return 0;
  if (im->dims[0] != tg->dims[0])
    return rt_error(err, "%s has %lld images but %s has %lld targets", images,
                    (long long)im->dims[0], targets, (long long)tg->dims[0]);
  if (!shape_matches(m->label_rank, m->label_shape, tg->ndims - 1, tg->dims + 1)) {
    char want[128], have[128];
    return rt_error(err, "model expects targets of %s values per sample but %s has %s",
                    target_shape(want, sizeof want, m->label_rank, m->label_shape), targets,
                    target_shape(have, sizeof have, tg->ndims - 1, tg->dims + 1));
  }
  size_t per = (size_t)m->label_size;
  if (!(ds->targets = rt_malloc(tg->size * sizeof(float), err)))
    return -1;
  for (size_t i = 0; i < tg->size; i++) {
    float v = idx_float(tg, i);
    if (!isfinite(v))
      return rt_error(err, "%s: target %zu of sample %zu is %s (targets must be finite)",
                      targets, i % per, i / per, isnan(v) ? "nan" : "infinite");
    ds->targets[i] = v;
  }
  ds->target_size = per;
  idx_free(tg); /* the floats are all the trainer needs */
  return 0;
}

int dataset_load(Dataset *ds, const char *images, const char *labels, const OctoModel *m,
                 RtErr *err) {
  memset(ds, 0, sizeof *ds);
  int rc = idx_read(images, "pixels", &ds->images, err);
  if (rt_regression(m)) {
    if (rc == 0 && labels)
      rc = idx_read_targets(labels, &ds->labels, err);
    if (rc == 0)
      rc = check_regression(ds, images, labels, m, err);
    if (rc != 0)
      dataset_free(ds);
    return rc;
  }
  if (rc == 0)
    rc = idx_read(labels, "labels", &ds->labels, err);
  if (rc == 0)
    rc = check_dataset(ds, images, labels, m, err);
  if (rc != 0)
    dataset_free(ds);
  return rc;
}

void dataset_free(Dataset *ds) {
  idx_free(&ds->images);
  idx_free(&ds->labels);
  free(ds->targets);
  ds->targets = NULL;
  ds->count = ds->sample_size = ds->target_size = 0;
}

int dataset_path(char *out, size_t outsz, const char *dir, const char *stem, RtErr *err) {
  struct stat st;
  const char *sep = dir[0] && dir[strlen(dir) - 1] == '/' ? "" : "/";
  const char *suffix[2] = {"", ".gz"};
  for (int i = 0; i < 2; i++) {
    int k = snprintf(out, outsz, "%s%s%s%s", dir, sep, stem, suffix[i]);
    if (k < 0 || (size_t)k >= outsz)
      return rt_error(err, "%s: path too long", dir);
    if (stat(out, &st) == 0)
      return 0;
  }
  return rt_error(err, "%s: no %s or %s.gz (use --data DIR to point at the dataset)", dir,
                  stem, stem);
}
