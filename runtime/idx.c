/* idx.c: IDX dataset files (the MNIST / Fashion-MNIST format), plain or gzip.
 *
 * An IDX file is: two zero bytes, an element-type byte (0x08 = unsigned
 * byte, the only type datasets of images and labels use; regression targets
 * may also be 0x0D, big-endian float32), a dimension count, that many
 * big-endian u32 extents, then the elements. A file may be plain or gzip
 * (decoded by gunzip.c): they are told apart by the magic bytes 1f 8b,
 * never by the file name. Every malformed file is an error that names
 * the file; nothing is trusted before it is checked. The header is read and
 * checked first (against the model and the other file of the split, when
 * the caller knows them, and against a maximum size), so a gzip bomb whose
 * header disagrees costs nothing; then the payload is read (or decoded)
 * into a buffer that grows with the data actually there up to one byte
 * more than the declared size, so a lying header cannot make us allocate terabytes. A file longer
 * or shorter than its header says, or a gzip stream without its trailer, is
 * an error. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rt.h"

/* The largest payload read: more than any dataset this runtime holds in
 * memory, and sizes stay exact in size_t (1 GiB on a 32-bit target). */
static unsigned idx_max_gib(void) { return sizeof(size_t) >= 8 ? 16 : 1; }

/* An IDX file being read. A plain file streams from f. A gzip file is
 * read whole, still compressed, and decoded twice: first only as far as the
 * longest header can reach (head), then, once the header has been checked,
 * the whole stream, up to one byte more than the header declares. */
typedef struct {
  const char *path;
  FILE *f;          /* plain: the rest of the file */
  uint8_t peek[2];  /* the first bytes, read to tell gzip (1f 8b) from plain */
  size_t npeek, peeked;
  uint8_t *z;       /* gzip: the compressed file */
  size_t zlen;
  GzOut head;       /* gzip: the decoded start of the stream */
  GzStatus head_status;
  size_t head_pos;  /* bytes of head read: the IDX header's length, after read_header */
  const char *msg;  /* why the last read failed */
} IdxSource;

/* The most bytes a gzip file may hold: as much as the largest payload. */
static size_t idx_max_bytes(void) { return (size_t)idx_max_gib() << 30; }

/* Reads up to len bytes; returns the count, or -1 with src->msg set. A
 * short count means the data ends there (the caller says "truncated"). */
static int64_t src_read(IdxSource *src, uint8_t *buf, size_t len) {
  size_t got = 0;
  if (src->z) {
    size_t have = src->head.len - src->head_pos;
    got = len < have ? len : have;
    memcpy(buf, src->head.data + src->head_pos, got);
    src->head_pos += got;
    if (got < len && src->head_status == GZ_CORRUPT) {
      src->msg = src->head.msg;
      return -1;
    }
    if (got < len && src->head_status == GZ_NOMEM) {
      src->msg = strerror(ENOMEM);
      return -1;
    }
    return (int64_t)got;
  }
  for (; got < len && src->peeked < src->npeek; got++)
    buf[got] = src->peek[src->peeked++];
  got += fread(buf + got, 1, len - got, src->f);
  if (got < len && ferror(src->f)) {
    src->msg = strerror(errno ? errno : EIO);
    return -1;
  }
  return (int64_t)got;
}

/* The rest of a gzip file into src->z, after the two bytes already read. */
static int slurp_gzip(IdxSource *src, RtErr *err) {
  size_t cap = 1u << 20, len = 2, max = idx_max_bytes();
  uint8_t *z = rt_malloc(cap, err);
  if (!z)
    return -1;
  memcpy(z, src->peek, 2);
  for (;;) {
    len += fread(z + len, 1, cap - len, src->f);
    if (ferror(src->f)) {
      free(z);
      return rt_error(err, "%s: read error: %s", src->path, strerror(errno ? errno : EIO));
    }
    if (len < cap)
      break;
    if (cap >= max) {
      free(z);
      return rt_error(err, "%s: the gzip file is larger than %u GiB", src->path, idx_max_gib());
    }
    size_t ncap = cap * 2 < max ? cap * 2 : max;
    uint8_t *p = realloc(z, ncap);
    if (!p) {
      free(z);
      return rt_error(err, "%s: out of memory (allocating %zu bytes)", src->path, ncap);
    }
    z = p;
    cap = ncap;
  }
  src->z = z;
  src->zlen = len;
  fclose(src->f);
  src->f = NULL;
  /* The header is at most 4 + 4 * IDX_MAX_DIMS bytes: decode no further. */
  src->head_status = rt_gunzip(z, len, 4 + 4 * IDX_MAX_DIMS, &src->head);
  return 0;
}

/* accept_f32: float32 elements (0x0D) are allowed besides bytes. Sets the
 * type, dims and size (the declared element count); data stays NULL. */
static int read_header(IdxSource *src, int accept_f32, IdxFile *f, RtErr *err) {
  const char *path = src->path;
  uint8_t magic[4];
  int64_t k = src_read(src, magic, 4);
  if (k < 0)
    return rt_error(err, "%s: read error: %s", path, src->msg);
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
  k = src_read(src, raw, want);
  if (k < 0)
    return rt_error(err, "%s: read error: %s", path, src->msg);
  if ((size_t)k < want)
    return rt_error(err, "%s: truncated: expected %zu bytes of dimensions, got %lld", path,
                    want, (long long)k);
  f->ndims = ndims;
  uint64_t elem = f->type == IDX_F32 ? 4 : 1, bytes = elem;
  uint64_t max = (uint64_t)idx_max_gib() << 30;
  int too_large = 0;
  for (int i = 0; i < ndims; i++) {
    const uint8_t *b = raw + 4 * i;
    uint64_t d = (uint64_t)b[0] << 24 | (uint64_t)b[1] << 16 | (uint64_t)b[2] << 8 | b[3];
    if (d == 0)
      return rt_error(err, "%s: dimension %d of %d is 0 (each must be at least 1)", path,
                      i + 1, ndims);
    f->dims[i] = (int64_t)d;
    if (bytes > max / d)
      too_large = 1;
    else
      bytes *= d;
  }
  if (too_large) {
    char shape[128];
    return rt_error(err, "%s: dimensions %s are too large (more than %u GiB)", path,
                    rt_shape_str(shape, sizeof shape, ndims, f->dims), idx_max_gib());
  }
  f->size = (size_t)(bytes / elem);
  return 0;
}

static size_t elem_bytes(const IdxFile *f) { return f->type == IDX_F32 ? 4 : 1; }

static int idx_open(IdxSource *src, const char *path, int accept_f32, IdxFile *f,
                    RtErr *err) {
  memset(f, 0, sizeof *f);
  memset(src, 0, sizeof *src);
  src->path = path;
  errno = 0;
  src->f = fopen(path, "rb");
  if (!src->f)
    return rt_error(err, "%s: cannot open: %s", path, errno ? strerror(errno) : "out of memory");
  src->npeek = fread(src->peek, 1, 2, src->f);
  if (ferror(src->f))
    return rt_error(err, "%s: read error: %s", path, strerror(errno ? errno : EIO));
  if (src->npeek == 2 && src->peek[0] == 0x1f && src->peek[1] == 0x8b && slurp_gzip(src, err) != 0)
    return -1;
  return read_header(src, accept_f32, f, err);
}

static void idx_close(IdxSource *src) {
  if (src->f)
    fclose(src->f);
  free(src->z);
  free(src->head.data);
  memset(src, 0, sizeof *src);
}

/* A plain payload, grown as it arrives up to exactly the declared size;
 * then one probe byte for trailing data. */
static int read_plain_payload(IdxSource *src, const char *what, IdxFile *f, RtErr *err) {
  const char *path = src->path;
  size_t total = f->size * elem_bytes(f); /* bytes; at most idx_max_gib(), no overflow */
  size_t cap = total < (1u << 20) ? total : (1u << 20);
  size_t got = 0;
  f->data = rt_malloc(cap, err);
  if (!f->data)
    return -1;
  for (;;) {
    int64_t k = src_read(src, f->data + got, cap - got);
    if (k < 0)
      return rt_error(err, "%s: read error: %s", path, src->msg);
    got += (size_t)k;
    if (got < cap || cap == total)
      break;
    size_t ncap = cap * 2 < total ? cap * 2 : total;
    uint8_t *p = realloc(f->data, ncap);
    if (!p)
      return rt_error(err, "%s: out of memory (allocating %zu bytes)", path, ncap);
    f->data = p;
    cap = ncap;
  }
  if (got < total)
    return rt_error(err, "%s: truncated: expected %zu bytes of %s, got %zu", path, total,
                    what, got);
  uint8_t probe;
  int64_t extra = src_read(src, &probe, 1);
  if (extra < 0)
    return rt_error(err, "%s: read error: %s", path, src->msg);
  if (extra > 0)
    return rt_error(err, "%s: trailing garbage after %zu bytes of %s", path, total, what);
  return 0;
}

/* A gzip payload: the whole stream decoded again, up to one byte past the
 * declared size (so a longer stream shows), then the header cut off. */
static int read_gzip_payload(IdxSource *src, const char *what, IdxFile *f, RtErr *err) {
  const char *path = src->path;
  size_t hdr = src->head_pos, total = f->size * elem_bytes(f);
  GzOut o = {0};
  GzStatus status = rt_gunzip(src->z, src->zlen, hdr + total + 1, &o);
  f->data = o.data;
  if (status == GZ_CORRUPT)
    return rt_error(err, "%s: read error: %s", path, o.msg);
  if (status == GZ_NOMEM)
    return rt_error(err, "%s: out of memory (decoding %zu bytes)", path, hdr + total);
  size_t got = o.len > hdr ? o.len - hdr : 0; /* the header decoded as the first time */
  if (status == GZ_FULL || got > total)
    return rt_error(err, "%s: trailing garbage after %zu bytes of %s", path, total, what);
  if (got < total)
    return rt_error(err, "%s: truncated: expected %zu bytes of %s, got %zu", path, total,
                    what, got);
  if (status == GZ_TRUNCATED)
    return rt_error(err, "%s: truncated: the gzip stream ends before its CRC trailer", path);
  memmove(o.data, o.data + hdr, total);
  uint8_t *shrunk = realloc(o.data, total);
  if (shrunk)
    f->data = shrunk;
  return 0;
}

static int read_payload(IdxSource *src, const char *what, IdxFile *f, RtErr *err) {
  return src->z ? read_gzip_payload(src, what, f, err) : read_plain_payload(src, what, f, err);
}

static int idx_read_as(const char *path, const char *what, int accept_f32, IdxFile *out,
                       RtErr *err) {
  IdxSource src = {0};
  int rc = idx_open(&src, path, accept_f32, out, err);
  if (rc == 0)
    rc = read_payload(&src, what, out, err);
  idx_close(&src);
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
 * of the model's input shape and type; sets count and sample_size. */
static int check_images(Dataset *ds, const char *images, const OctoModel *m, RtErr *err) {
  IdxFile *im = &ds->images;
  if (m->input_dtype == OCTO_U8 && im->type == IDX_F32)
    return rt_error(err, "%s holds float32 samples, but model '%s' takes bytes (its input is "
                    "u8)", images, m->name);
  if (m->input_dtype == OCTO_F32 && im->type != IDX_F32)
    return rt_error(err, "%s holds bytes, but model '%s' takes float32 samples (declare its "
                    "input u8 and it normalises pixels itself, or give float32 IDX samples)",
                    images, m->name);
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

/* A classifier's labels, from their header: 1 dimension, one per image. */
static int check_label_header(const Dataset *ds, const char *images, const char *labels,
                              RtErr *err) {
  const IdxFile *im = &ds->images, *lb = &ds->labels;
  if (lb->ndims != 1)
    return rt_error(err, "%s: expected labels with 1 dimension, found %d", labels,
                    lb->ndims);
  if (im->dims[0] != lb->dims[0])
    return rt_error(err, "%s has %lld images but %s has %lld labels", images,
                    (long long)im->dims[0], labels, (long long)lb->dims[0]);
  return 0;
}

static int check_label_values(const Dataset *ds, const char *labels, const OctoModel *m,
                              RtErr *err) {
  const IdxFile *lb = &ds->labels;
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

/* A regression model's targets, from their header: one per image, each of
 * the model's target shape. */
static int check_target_header(const Dataset *ds, const char *images, const char *targets,
                               const OctoModel *m, RtErr *err) {
  const IdxFile *im = &ds->images, *tg = &ds->labels;
  if (im->dims[0] != tg->dims[0])
    return rt_error(err, "%s has %lld images but %s has %lld targets", images,
                    (long long)im->dims[0], targets, (long long)tg->dims[0]);
  if (!shape_matches(m->label_rank, m->label_shape, tg->ndims - 1, tg->dims + 1)) {
    char want[128], have[128];
    return rt_error(err, "model expects targets of %s values per sample but %s has %s",
                    target_shape(want, sizeof want, m->label_rank, m->label_shape), targets,
                    target_shape(have, sizeof have, tg->ndims - 1, tg->dims + 1));
  }
  return 0;
}

/* The targets, all finite, converted to floats (the IDX copy is freed). */
static int convert_targets(Dataset *ds, const char *targets, const OctoModel *m,
                           RtErr *err) {
  IdxFile *tg = &ds->labels;
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

/* The samples as the model takes them: the bytes themselves, or float32
 * samples converted to host floats (all finite). */
static int convert_inputs(Dataset *ds, const char *images, const OctoModel *m, RtErr *err) {
  IdxFile *im = &ds->images;
  if (m->input_dtype == OCTO_U8) {
    ds->inputs = im->data;
    ds->sample_bytes = ds->sample_size;
    return 0;
  }
  if (!(ds->floats = rt_malloc(im->size * sizeof(float), err)))
    return -1;
  for (size_t i = 0; i < im->size; i++) {
    float v = idx_float(im, i);
    if (!isfinite(v))
      return rt_error(err, "%s: value %zu of sample %zu is %s (samples must be finite)", images,
                      i % ds->sample_size, i / ds->sample_size, isnan(v) ? "nan" : "infinite");
    ds->floats[i] = v;
  }
  ds->inputs = (const uint8_t *)ds->floats;
  ds->sample_bytes = ds->sample_size * sizeof(float);
  return 0;
}

/* Both headers are read and checked before either payload: a file whose
 * header disagrees with the model or with the other file is refused before
 * a byte of its data is read (or inflated). */
int dataset_load(Dataset *ds, const char *images, const char *labels, const OctoModel *m,
                 RtErr *err) {
  memset(ds, 0, sizeof *ds);
  int regression = rt_regression(m);
  IdxSource im = {0}, lb = {0};
  int rc = idx_open(&im, images, m->input_dtype == OCTO_F32, &ds->images, err);
  if (rc == 0)
    rc = check_images(ds, images, m, err);
  if (rc == 0 && labels)
    rc = idx_open(&lb, labels, regression, &ds->labels, err);
  if (rc == 0 && labels)
    rc = regression ? check_target_header(ds, images, labels, m, err)
                    : check_label_header(ds, images, labels, err);
  if (rc == 0)
    rc = read_payload(&im, "pixels", &ds->images, err);
  if (rc == 0 && labels)
    rc = read_payload(&lb, regression ? "targets" : "labels", &ds->labels, err);
  idx_close(&im);
  idx_close(&lb);
  if (rc == 0)
    rc = convert_inputs(ds, images, m, err);
  if (rc == 0 && labels)
    rc = regression ? convert_targets(ds, labels, m, err)
                    : check_label_values(ds, labels, m, err);
  if (rc != 0)
    dataset_free(ds);
  return rc;
}

void dataset_free(Dataset *ds) {
  idx_free(&ds->images);
  idx_free(&ds->labels);
  free(ds->targets);
  free(ds->floats);
  ds->targets = ds->floats = NULL;
  ds->inputs = NULL;
  ds->count = ds->sample_size = ds->sample_bytes = ds->target_size = 0;
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
