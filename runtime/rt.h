/* rt.h: the runtime's internal interfaces, one section per file: error
 * messages, IDX datasets, batching, checkpoints, progress output, CSV log.
 * Shared by trainer_main.c and the tests; not installed. Every function that
 * can fail returns 0 or -1 and leaves a complete message in an RtErr, so the
 * caller decides where it goes; the runtime never exits on its own. */
#ifndef OCTO_RT_H
#define OCTO_RT_H

#include <stdint.h>
#include <stdio.h>

#include "octo_runtime.h"

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

/* --- idx.c --- */

enum { IDX_MAX_DIMS = 4 };

/* One IDX file of unsigned bytes: dims[0] is the sample count. */
typedef struct {
  uint8_t *data;
  size_t size;
  int ndims;
  int64_t dims[IDX_MAX_DIMS];
} IdxFile;

/* Reads a plain or gzip IDX file (told apart by the magic bytes 1f 8b);
 * `what` names the payload in messages ("pixels", "labels"). */
int idx_read(const char *path, const char *what, IdxFile *out, RtErr *err);
void idx_free(IdxFile *f);

/* Images and labels of one split, checked against the model. */
typedef struct {
  IdxFile images, labels;
  size_t count;       /* samples in use (after --limit) */
  size_t sample_size; /* bytes (= floats) per sample */
} Dataset;

int dataset_load(Dataset *ds, const char *images, const char *labels,
                 const OctoModel *m, RtErr *err);
void dataset_free(Dataset *ds);
/* DIR/STEM if it exists, else DIR/STEM.gz; error if neither. */
int dataset_path(char *out, size_t outsz, const char *dir, const char *stem, RtErr *err);

/* --- batch.c --- */

uint64_t rt_splitmix64(uint64_t *state);
/* The order of epoch `epoch`, a pure function of (seed, epoch, n). */
void batch_permutation(size_t *perm, size_t n, uint64_t seed, uint64_t epoch);
/* pixel value -> float: (p/255 - mean) / std. */
void normalize_table(float lut[256], float mean, float std);
/* Fills up to `batch` samples order[start..] (identity if order == NULL);
 * returns how many (the last batch may be partial). */
int batch_fill(const Dataset *ds, const size_t *order, size_t start, int batch,
               const float lut[256], float *x, int32_t *y);

/* --- checkpoint.c --- */

enum { CKPT_VERSION = 1 };

int ckpt_save(const char *path, const OctoModel *m, const void *state,
              uint64_t seed, int epochs_done, RtErr *err);
/* Early check (before training) that FILE's folder exists and is writable. */
int ckpt_check_writable(const char *path, RtErr *err);
/* Verifies everything before writing to state; on error state is untouched. */
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
} EpochStats;

typedef struct {
  FILE *out;
  int bar;             /* redraw a progress bar (stdout is a TTY, not --quiet) */
  int quiet;
  size_t total;        /* training samples per epoch */
  double epoch_start, last_draw;
  int drawn;
} Progress;

double rt_now(void);
void progress_init(Progress *p, FILE *out, int bar, int quiet, size_t total);
void progress_epoch_start(Progress *p);
void progress_update(Progress *p, int epoch, int epochs, size_t done,
                     double loss_sum, size_t correct);
void progress_epoch_end(Progress *p, const EpochStats *s);
/* The stable one-line format of an epoch (no newline). */
void progress_format(char *buf, size_t bufsz, const EpochStats *s);

/* --- log.c --- */

typedef struct {
  FILE *f;
  const char *path;
} CsvLog;

/* append != 0 and a non-empty file: continue it without a new header. */
int csvlog_open(CsvLog *l, const char *path, int append, RtErr *err);
int csvlog_row(CsvLog *l, const EpochStats *s, RtErr *err);
int csvlog_close(CsvLog *l, RtErr *err);

#endif
