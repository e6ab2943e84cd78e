/* rt.h: the runtime's internal interfaces, one section per file: error
 * messages, IDX datasets, batching, checkpoints, progress output, clip
 * rates, CSV log.
 * Shared by trainer_main.c and the tests; not installed. Every function that
 * can fail returns 0 or -1 and leaves a complete message in an RtErr, so the
 * caller decides where it goes; the runtime never exits on its own. */
#ifndef OCTO_RT_H
#define OCTO_RT_H

#include <stdint.h>
#include <stdio.h>

#include "octo_runtime.h"

/* A regression model (float targets, mse) rather than a classifier. */
static inline int rt_regression(const OctoModel *m) { return m->num_classes == 0; }

/* --- error.c --- */

enum { RT_ERR_LEN = 1024 };
typedef struct {
  char msg[RT_ERR_LEN];
} RtErr;

int rt_error(RtErr *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* malloc that reports failure in err instead of returning NULL silently. */
void *rt_malloc(size_t size, RtErr *err);
/* "1x28x28" into buf. */
const char *rt_shape_str(char *buf, size_t bufsz, int rank, const int64_t *dims);

/* --- crc32.c --- */

/* The CRC-32 of gzip and zlib: rt_crc32(0, p, n), continued by passing the
 * previous result as crc. */
uint32_t rt_crc32(uint32_t crc, const void *data, size_t len);

/* --- gunzip.c --- */

typedef enum {
  GZ_DONE,      /* every member decoded, its CRC-32 and length checked */
  GZ_FULL,      /* the stream holds more than the limit: exactly limit bytes decoded */
  GZ_TRUNCATED, /* the input ends inside a member */
  GZ_CORRUPT,   /* not a valid gzip stream: msg says why */
  GZ_NOMEM,     /* the output buffer could not grow */
} GzStatus;

typedef struct {
  uint8_t *data; /* malloc'd (NULL when nothing was written); the caller frees it */
  size_t len;    /* bytes decoded, whatever the status */
  const char *msg;
} GzOut;

/* Decodes the gzip file in[0..n) (one or more members) into out, writing
 * at most limit bytes. */
GzStatus rt_gunzip(const uint8_t *in, size_t n, size_t limit, GzOut *out);

/* --- idx.c --- */

enum { IDX_MAX_DIMS = 4 };
enum { IDX_U8 = 0x08, IDX_F32 = 0x0d }; /* element types */

/* One IDX file: dims[0] is the sample count. */
typedef struct {
  uint8_t *data;  /* the elements as stored (float32 still big-endian) */
  size_t size;    /* element count (= bytes for IDX_U8) */
  int ndims;
  int64_t dims[IDX_MAX_DIMS];
  int type;       /* IDX_U8, or IDX_F32 for targets (0 is read as IDX_U8) */
} IdxFile;

/* Reads a plain or gzip IDX file of unsigned bytes (told apart by the magic
 * bytes 1f 8b); `what` names the payload in messages ("pixels", "labels").
 * The header is checked before the payload is read (at most 16 GiB, 1 GiB
 * where size_t has 32 bits); the file must end exactly where its header
 * says, a gzip stream with its trailer. */
int idx_read(const char *path, const char *what, IdxFile *out, RtErr *err);
/* The same for regression targets: float32 (0x0D) or unsigned bytes. */
int idx_read_targets(const char *path, IdxFile *out, RtErr *err);
/* Element i as a float: a byte's value, or the float32. */
float idx_float(const IdxFile *f, size_t i);
void idx_free(IdxFile *f);

/* Images and labels (or regression targets) of one split, checked against
 * the model. */
typedef struct {
  IdxFile images, labels;
  size_t count;        /* samples in use (after --limit) */
  size_t sample_size;  /* elements per sample */
  /* The samples as the model takes them (its input_dtype), sample_bytes
   * each: the pixels themselves for u8 inputs, host floats for f32 ones. */
  const uint8_t *inputs;
  size_t sample_bytes;
  float *floats;       /* f32 inputs: the converted images (freed with the split) */
  float *targets;      /* regression: count x target_size floats (labels is freed) */
  size_t target_size;  /* floats per sample; 0 for a classifier or a model without label */
} Dataset;

/* For a regression model, `labels` names the targets file, or is NULL when
 * the model has no label (its target is the input). Both headers are
 * checked against the model and each other before either payload is read. */
int dataset_load(Dataset *ds, const char *images, const char *labels,
                 const OctoModel *m, RtErr *err);
void dataset_free(Dataset *ds);
/* DIR/STEM if it exists, else DIR/STEM.gz; error if neither. */
int dataset_path(char *out, size_t outsz, const char *dir, const char *stem, RtErr *err);

/* --- subset.c --- */

/* Writes NAME_data.c of a bare-metal image (runtime/baremetal/
 * octo_baremetal.h's OctoSubset): the first count samples of an IDX image
 * file and its label file, both read and checked first. *bytes: the size
 * of the two arrays in the image. */
int subset_write_c(FILE *out, const char *images, const char *labels, size_t count,
                   size_t *bytes, RtErr *err);

/* --- batch.c --- */

uint64_t rt_splitmix64(uint64_t *state);
/* The order of epoch `epoch`, a pure function of (seed, epoch, n). */
void batch_permutation(size_t *perm, size_t n, uint64_t seed, uint64_t epoch);
/* Fills up to `batch` samples order[start..] (identity if order == NULL):
 * their inputs as they are to x, a classifier's labels to y (as int32),
 * a regression model's targets to t (skipped when NULL or the model has
 * none). Returns how many (the last batch may be partial). */
int batch_fill(const Dataset *ds, const size_t *order, size_t start, int batch, void *x,
               int32_t *y, float *t);

/* --- checkpoint.c --- */

enum { CKPT_VERSION = 1 };

/* Writes FILE.tmp.<pid> and renames it over FILE. SIGINT, SIGTERM and
 * SIGHUP during the save remove the temporary file, then end the process
 * as they would have; FILE.tmp.<pid> files of processes that are gone are
 * removed first. */
int ckpt_save(const char *path, const OctoModel *m, const void *state,
              uint64_t seed, int epochs_done, RtErr *err);
/* Early check (before training) that FILE's folder exists and is writable. */
int ckpt_check_writable(const char *path, RtErr *err);
/* Verifies everything before writing to state; on error state is untouched.
 * Reads at most one byte more than this trainer's checkpoint has. */
int ckpt_load(const char *path, const OctoModel *m, void *state,
              uint64_t *seed, int *epochs_done, RtErr *err);

/* --- progress.c --- */

typedef struct {
  int epoch, epochs;   /* epoch is 1-based */
  double loss;         /* mean training loss */
  double train_acc;    /* percent */
  double test_acc;     /* percent */
  double seconds;      /* wall time of the epoch, evaluation included */
  double samples_per_s;/* training samples per second of training time */
  int regression;      /* a regression model: test_loss instead of accuracies */
  double test_loss;    /* mean squared error on the test split */
} EpochStats;

typedef struct {
  FILE *out;
  int bar;             /* redraw a progress bar (stdout is a TTY, not --quiet) */
  int quiet;
  size_t total;        /* training samples per epoch */
  double epoch_start, last_draw;
  int drawn;
  int regression;      /* the bar shows no accuracy (set after progress_init) */
} Progress;

double rt_now(void);
void progress_init(Progress *p, FILE *out, int bar, int quiet, size_t total);
void progress_epoch_start(Progress *p);
void progress_update(Progress *p, int epoch, int epochs, size_t done,
                     double loss_sum, size_t correct);
void progress_epoch_end(Progress *p, const EpochStats *s);
/* The stable one-line format of an epoch (no newline). */
void progress_format(char *buf, size_t bufsz, const EpochStats *s);

/* --- clipstats.c --- */

/* One PRC clip's counters (recipe key prc.stats): byte offsets in the
 * state block of its internal i64 scalars <name>.seen and <name>.clipped. */
typedef struct {
  char *name; /* the clip node's, e.g. "c1.prc.error" */
  size_t seen, clipped;
} ClipStat;

typedef struct {
  ClipStat *clip;
  int n;
} ClipStats;

/* The clips of the model's tensor table (none without prc.stats). */
int clipstats_find(ClipStats *cs, const OctoModel *m, RtErr *err);
/* Zeroes every counter: at the start of an epoch. */
void clipstats_reset(const ClipStats *cs, void *state);
/* 1 and clip i's clipped / seen in *rate, or 0 when it saw nothing. */
int clipstats_rate(const ClipStats *cs, int i, const void *state, double *rate);
void clipstats_free(ClipStats *cs);

/* --- log.c --- */

typedef struct {
  FILE *f;
  const char *path;
  int regression;
  /* Set before csvlog_open to add a clip-rate column per clip (its name;
   * empty in a row when the clip saw nothing); NULL or none: no columns. */
  const ClipStats *clips;
  const void *state;
} CsvLog;

/* append != 0 and a non-empty file: continue it without a new header. A
 * regression log has the columns epoch,loss,test_loss,seconds,samples_per_s. */
int csvlog_open(CsvLog *l, const char *path, int append, int regression, RtErr *err);
int csvlog_row(CsvLog *l, const EpochStats *s, RtErr *err);
int csvlog_close(CsvLog *l, RtErr *err);

#endif
