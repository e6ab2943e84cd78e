/* trainer_main.c: octo_main, the standalone trainer that `octoc --main` links.
 *
 * The flow reads top to bottom in run(): parse options, load and check both
 * dataset splits (every data error comes before any training), allocate the
 * state and work blocks once, init or resume, open the log, then per epoch:
 * shuffle, train, evaluate, print, log, checkpoint. The model's maths is all
 * behind the descriptor's function pointers; this file only moves data.
 * `--benchmark STEPS` takes a side road after parsing: no dataset, just timed
 * train_step calls on fixed pseudo-random data (see benchmark()).
 * A regression model (num_classes 0) takes the same road with float targets
 * (train-targets.idx) instead of labels, and prints and logs losses
 * instead of accuracies. The test loss and accuracy are the model's own
 * (its eval entry); the inputs go to the model as the dataset stores them.
 * Exit status: 0 ok, 1 runtime error, 2 usage error. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rt.h"

#ifndef OCTO_RUNTIME_VERSION
#define OCTO_RUNTIME_VERSION "unknown"
#endif

#define DEFAULT_DATA_DIR "/usr/share/datasets/fashion-mnist"

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2, EXIT_DONE = -1 };

typedef struct {
  const char *data_dir, *save, *resume, *log;
  int epochs;
  uint64_t seed;
  int seed_given;
  size_t limit, test_limit; /* 0: all samples */
  int quiet;
  int benchmark; /* timed steps for --benchmark; 0: train normally */
} Options;

/* Everything one run owns; freed by run_free whatever happened. */
typedef struct {
  const OctoModel *m;
  const char *prog;
  Options opt;
  Dataset train, test;
  void *state, *work;
  void *x;        /* a batch of inputs, in the model's input_dtype */
  int32_t *y, *pred;
  float *t;       /* regression: a batch of targets */
  size_t *perm;
  uint64_t seed;
  int done; /* epochs already trained */
  CsvLog log;
  ClipStats clips; /* PRC clip-rate counters (prc.stats), zeroed each epoch */
  Progress progress;
} Run;

/* --- options --- */

static void usage(FILE *out, const OctoModel *m, const char *prog) {
  fprintf(out,
          "usage: %s [options]\n"
          "Train the '%s' network on an IDX dataset (images + %s).\n\n"
          "  --data DIR          dataset folder with train-images-idx3-ubyte[.gz],\n"
          "                      t10k-images-idx3-ubyte[.gz] and %s\n"
          "                      (default " DEFAULT_DATA_DIR ")\n"
          "  --epochs N          train until N epochs are done (default %d)\n"
          "  --seed N            seed of initialization and shuffling (default %llu)\n"
          "  --limit N           train on the first N training samples only\n"
          "  --test-limit N      evaluate on the first N test samples only\n"
          "  --save FILE         write a checkpoint to FILE after every epoch\n"
          "  --resume FILE       continue from a checkpoint (same --data/--limit for the\n"
          "                      same results as an uninterrupted run)\n"
          "  --log FILE          write one CSV row per epoch (appended when resuming)\n"
          "  --quiet             print only the final test %s\n"
          "  --benchmark STEPS   no training run: time STEPS train steps on fixed\n"
          "                      pseudo-random inputs and labels (no dataset needed)\n"
          "                      and print the samples per second\n"
          "  --help, --version\n\n"
          "Exit status: 0 success, 1 runtime error (data, checkpoint, I/O), 2 usage error.\n",
          prog, m->name, !rt_regression(m) ? "labels" : m->label_size ? "targets" : "no labels",
          !rt_regression(m) ? "train-labels-idx1-ubyte[.gz],\n"
                              "                      t10k-labels-idx1-ubyte[.gz]"
          : m->label_size   ? "train-targets.idx[.gz],\n"
                              "                      t10k-targets.idx[.gz] (float32 targets)"
                            : "no labels (the model\n"
                              "                      reproduces its input)",
          m->epochs_default, (unsigned long long)m->seed_default,
          rt_regression(m) ? "loss" : "accuracy");
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out) {
  if (!s || *s < '0' || *s > '9')
    return -1;
  errno = 0;
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end || v > max)
    return -1;
  *out = v;
  return 0;
}

/* Applies one option with its value; returns 0 or -1 (bad value). */
static int set_option(Options *o, const char *name, const char *val) {
  uint64_t v;
  if (!strcmp(name, "--data"))
    return val && *val ? (o->data_dir = val, 0) : -1;
  if (!strcmp(name, "--save"))
    return val && *val ? (o->save = val, 0) : -1;
  if (!strcmp(name, "--resume"))
    return val && *val ? (o->resume = val, 0) : -1;
  if (!strcmp(name, "--log"))
    return val && *val ? (o->log = val, 0) : -1;
  if (!strcmp(name, "--seed")) {
    o->seed_given = 1;
    return parse_u64(val, UINT64_MAX, &o->seed);
  }
  if (parse_u64(val, 1000000000, &v) != 0)
    return -1;
  if (!strcmp(name, "--epochs"))
    o->epochs = (int)v;
  else if (v == 0)
    return -1;
  else if (!strcmp(name, "--limit"))
    o->limit = (size_t)v;
  else if (!strcmp(name, "--benchmark"))
    o->benchmark = (int)v;
  else
    o->test_limit = (size_t)v;
  return 0;
}

static const char *const value_options[] = {"--data", "--epochs", "--seed", "--limit",
                                            "--test-limit", "--save",
                                            "--resume", "--log", "--benchmark", NULL};

static int takes_value(const char *name) {
  for (int i = 0; value_options[i]; i++)
    if (!strcmp(name, value_options[i]))
      return 1;
  return 0;
}

static int usage_error(const char *prog, const char *what, const char *name, const char *val) {
  fprintf(stderr, "%s: error: %s '%s'", prog, what, name);
  if (val)
    fprintf(stderr, ": '%s'", val);
  fprintf(stderr, "\nTry '%s --help'.\n", prog);
  return EXIT_USAGE;
}

/* Returns EXIT_OK to go on, EXIT_DONE after --help/--version, or EXIT_USAGE. */
static int parse_options(Run *r, int argc, char **argv) {
  Options *o = &r->opt;
  o->data_dir = DEFAULT_DATA_DIR;
  o->epochs = r->m->epochs_default;
  o->seed = r->m->seed_default;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
      usage(stdout, r->m, r->prog);
      return EXIT_DONE;
    }
    if (!strcmp(arg, "--version")) {
      printf("%s trainer (octo-runtime %s)\n", r->m->name, OCTO_RUNTIME_VERSION);
      return EXIT_DONE;
    }
    if (!strcmp(arg, "--quiet") || !strcmp(arg, "-q")) {
      o->quiet = 1;
      continue;
    }
    if (!strncmp(arg, "--normalize", 11))
      return usage_error(r->prog, "no longer an option (the model normalises its input itself, "
                         "as compiled: octoc --set input.mean=M --set input.std=S)", arg, NULL);
    char name[32];
    const char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    if (len >= sizeof name)
      return usage_error(r->prog, "unknown option", arg, NULL);
    memcpy(name, arg, len);
    name[len] = '\0';
    if (!takes_value(name))
      return usage_error(r->prog, "unknown option", arg, NULL);
    const char *val = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
    if (!val)
      return usage_error(r->prog, "missing value for option", name, NULL);
    if (set_option(o, name, val) != 0)
      return usage_error(r->prog, "bad value for option", name, val);
  }
  /* A benchmark neither reads nor writes files: refuse what it would ignore. */
  if (o->benchmark && (o->save || o->resume || o->log))
    return usage_error(r->prog, "--benchmark cannot be combined with option",
                       o->save ? "--save" : o->resume ? "--resume" : "--log", NULL);
  return EXIT_OK;
}

/* --- setup --- */

/* A classifier has 1..256 classes; a regression model none, an output and
 * a target shape whose product is label_size (0: no label; the model's
 * loss then compares with something it computes from its input). */
static int check_kind(const OctoModel *m, RtErr *err) {
  if (!rt_regression(m))
    return m->num_classes >= 1 && m->num_classes <= 256
               ? 0
               : rt_error(err, "invalid model descriptor: %d classes (1..256)", m->num_classes);
  if (m->output_size < 1 || m->label_rank < 0 || m->label_rank > 4)
    return rt_error(err, "invalid model descriptor: regression sizes");
  int64_t size = m->label_rank ? 1 : 0;
  for (int i = 0; i < m->label_rank; i++) {
    if (m->label_shape[i] < 1 || m->label_shape[i] > (1 << 24))
      return rt_error(err, "invalid model descriptor: target dimension %d", i);
    size *= m->label_shape[i];
  }
  if (size != m->label_size)
    return rt_error(err, "invalid model descriptor: label_size %d is not the target shape's %lld",
                    m->label_size, (long long)size);
  return 0;
}

static int check_model(const OctoModel *m, RtErr *err) {
  if (!m->name || m->batch < 1 || m->input_rank < 1 || m->input_rank > 4 || !m->init ||
      !m->train_step || !m->eval || m->ntensors < 0 || (m->ntensors && !m->tensors))
    return rt_error(err, "invalid model descriptor");
  if (m->input_dtype != OCTO_U8 && m->input_dtype != OCTO_F32)
    return rt_error(err, "invalid model descriptor: inputs must be u8 or f32");
  if (m->loss_dtype != OCTO_F32)
    return rt_error(err, "invalid model descriptor: this runtime reads f32 losses");
  if (m->state_align < sizeof(void *) || (m->state_align & (m->state_align - 1)))
    return rt_error(err, "invalid model descriptor: state_align %zu", m->state_align);
  for (int i = 0; i < m->input_rank; i++)
    if (m->input_shape[i] < 1 || m->input_shape[i] > (1 << 24))
      return rt_error(err, "invalid model descriptor: input dimension %d", i);
  if (check_kind(m, err) != 0)
    return -1;
  for (int i = 0; i < m->ntensors; i++) {
    const OctoTensorInfo *t = &m->tensors[i];
    if (!t->name || t->rank < 0 || t->rank > OCTO_MAX_RANK || t->offset > m->state_bytes ||
        t->bytes > m->state_bytes - t->offset)
      return rt_error(err, "invalid model descriptor: tensor %d lies outside the state", i);
  }
  return 0;
}

static int load_split(Dataset *ds, const char *dir, const char *images, const char *labels,
                      const OctoModel *m, size_t limit, RtErr *err) {
  char ipath[4096], lpath[4096];
  if (dataset_path(ipath, sizeof ipath, dir, images, err) ||
      (labels && dataset_path(lpath, sizeof lpath, dir, labels, err)) ||
      dataset_load(ds, ipath, labels ? lpath : NULL, m, err))
    return -1;
  if (limit && limit < ds->count)
    ds->count = limit;
  return 0;
}

static int load_data(Run *r, RtErr *err) {
  const char *dir = r->opt.data_dir;
  /* A regression model reads float targets, or none when it has no label. */
  int reg = rt_regression(r->m), targets = r->m->label_size > 0;
  const char *train_labels = !reg ? "train-labels-idx1-ubyte" : targets ? "train-targets.idx" : NULL;
  const char *test_labels = !reg ? "t10k-labels-idx1-ubyte" : targets ? "t10k-targets.idx" : NULL;
  if (load_split(&r->train, dir, "train-images-idx3-ubyte", train_labels, r->m, r->opt.limit,
                 err) ||
      load_split(&r->test, dir, "t10k-images-idx3-ubyte", test_labels, r->m, r->opt.test_limit,
                 err))
    return -1;
  return 0;
}

static void *aligned_block(size_t bytes, size_t align, RtErr *err) {
  void *p = NULL;
  size_t size = bytes ? (bytes + align - 1) / align * align : align;
  if (size < bytes || posix_memalign(&p, align, size) != 0) {
    rt_error(err, "out of memory (allocating %zu bytes)", bytes);
    return NULL;
  }
  memset(p, 0, size);
  return p;
}

static int alloc_blocks(Run *r, RtErr *err) {
  const OctoModel *m = r->m;
  size_t b = (size_t)m->batch;
  if (!(r->state = aligned_block(m->state_bytes, m->state_align, err)) ||
      !(r->work = aligned_block(m->work_bytes, m->state_align, err)) ||
      !(r->x = rt_malloc(b * r->train.sample_bytes, err)) ||
      !(r->y = rt_malloc(b * sizeof(int32_t), err)) ||
      !(r->pred = rt_malloc(b * sizeof(int32_t), err)) ||
      !(r->perm = rt_malloc(r->train.count * sizeof(size_t), err)))
    return -1;
  if (rt_regression(m) && !(r->t = rt_malloc(b * ((size_t)m->label_size + 1) * sizeof(float), err)))
    return -1;
  return 0;
}

static int init_or_resume(Run *r, RtErr *err) {
  if (!r->opt.resume) {
    r->seed = r->opt.seed;
    if (r->m->init(r->state, r->seed) != 0)
      return rt_error(err, "model initialization failed");
    return 0;
  }
  if (ckpt_load(r->opt.resume, r->m, r->state, &r->seed, &r->done, err) != 0)
    return -1;
  if (r->opt.seed_given && r->opt.seed != r->seed)
    fprintf(stderr, "%s: warning: --seed %llu ignored: resuming with the checkpoint's seed %llu\n",
            r->prog, (unsigned long long)r->opt.seed, (unsigned long long)r->seed);
  if (!r->opt.quiet)
    printf("resuming from %s after epoch %d\n", r->opt.resume, r->done);
  return 0;
}

/* --- training --- */

/* The labels or targets a batch passes as y: NULL for a model without. */
static const void *batch_y(const Run *r) {
  if (!rt_regression(r->m))
    return r->y;
  return r->m->label_size ? r->t : NULL;
}

/* One epoch of training; a classifier's predictions before each update
 * count towards the training accuracy. */
static int train_epoch(Run *r, int epoch, double *loss_sum, size_t *correct, RtErr *err) {
  const OctoModel *m = r->m;
  int reg = rt_regression(m);
  size_t n = r->train.count;
  batch_permutation(r->perm, n, r->seed, (uint64_t)epoch);
  clipstats_reset(&r->clips, r->state);
  if (m->set_epoch)
    m->set_epoch(r->state, epoch);
  *loss_sum = 0;
  *correct = 0;
  for (size_t start = 0; start < n; start += (size_t)m->batch) {
    int k = batch_fill(&r->train, r->perm, start, m->batch, r->x, reg ? NULL : r->y, r->t);
    float loss;
    if (m->train_step(r->state, r->work, r->x, batch_y(r), k, reg ? NULL : r->pred, &loss) != 0)
      return rt_error(err, "the model refused a training batch");
    if (!isfinite(loss))
      return rt_error(err, "training diverged: loss is %g in epoch %d at sample %zu", loss,
                      epoch + 1, start);
    *loss_sum += (double)loss * k;
    for (int i = 0; !reg && i < k; i++)
      *correct += r->pred[i] == r->y[i];
    progress_update(&r->progress, epoch + 1, r->opt.epochs, start + (size_t)k, *loss_sum,
                    *correct);
  }
  return 0;
}

/* The model's own evaluation of the test split: the mean loss per sample
 * and the accuracy in percent (a classifier). -1 with err set. */
static int evaluate(Run *r, double *test_loss, double *test_acc, RtErr *err) {
  const OctoModel *m = r->m;
  int reg = rt_regression(m);
  double sum = 0;
  size_t right = 0;
  for (size_t start = 0; start < r->test.count; start += (size_t)m->batch) {
    int k = batch_fill(&r->test, NULL, start, m->batch, r->x, reg ? NULL : r->y, r->t);
    float loss_sum;
    int32_t correct = 0;
    if (m->eval(r->state, r->work, r->x, batch_y(r), k, &loss_sum, &correct) != 0)
      return rt_error(err, "evaluation failed");
    sum += (double)loss_sum;
    right += (size_t)correct;
  }
  *test_loss = sum / (double)r->test.count;
  *test_acc = 100.0 * (double)right / (double)r->test.count;
  return 0;
}

/* One epoch; *test is the test accuracy or, for regression, the test loss. */
static int run_epoch(Run *r, int epoch, double *test, RtErr *err) {
  int reg = rt_regression(r->m);
  EpochStats s = {.epoch = epoch + 1, .epochs = r->opt.epochs, .regression = reg};
  double loss_sum;
  size_t correct = 0;
  progress_epoch_start(&r->progress);
  double t0 = rt_now();
  if (train_epoch(r, epoch, &loss_sum, &correct, err) != 0)
    return -1;
  double train_time = rt_now() - t0;
  if (evaluate(r, &s.test_loss, &s.test_acc, err) != 0)
    return -1;
  *test = reg ? s.test_loss : s.test_acc;
  s.seconds = rt_now() - t0;
  s.loss = loss_sum / (double)r->train.count;
  if (!reg)
    s.train_acc = 100.0 * (double)correct / (double)r->train.count;
  s.samples_per_s = train_time > 0 ? (double)r->train.count / train_time : 0;
  progress_epoch_end(&r->progress, &s);
  if (r->opt.log && csvlog_row(&r->log, &s, err) != 0)
    return -1;
  if (r->opt.save && ckpt_save(r->opt.save, r->m, r->state, r->seed, epoch + 1, err) != 0)
    return -1;
  return 0;
}

static int train(Run *r, RtErr *err) {
  double test = -1; /* accuracy, or a regression model's loss */
  if (r->opt.save && ckpt_check_writable(r->opt.save, err) != 0)
    return -1;
  int reg = rt_regression(r->m);
  if (clipstats_find(&r->clips, r->m, err) != 0)
    return -1;
  r->log.clips = &r->clips;
  r->log.state = r->state;
  if (r->opt.log && csvlog_open(&r->log, r->opt.log, r->opt.resume != NULL, reg, err) != 0)
    return -1;
  progress_init(&r->progress, stdout, isatty(fileno(stdout)), r->opt.quiet, r->train.count);
  r->progress.regression = reg;
  if (r->done >= r->opt.epochs && !r->opt.quiet)
    printf("nothing to train: %d of %d epochs done\n", r->done, r->opt.epochs);
  for (int e = r->done; e < r->opt.epochs; e++)
    if (run_epoch(r, e, &test, err) != 0)
      return -1;
  if (test < 0) {
    double loss, acc;
    if (evaluate(r, &loss, &acc, err) != 0)
      return -1;
    test = reg ? loss : acc;
  }
  if (reg)
    printf("final test loss: %.6f\n", test);
  else
    printf("final test accuracy: %.2f%%\n", test);
  if (csvlog_close(&r->log, err) != 0)
    return -1;
  if (fflush(stdout) != 0 || ferror(stdout))
    return rt_error(err, "cannot write to standard output: %s", strerror(errno));
  return 0;
}

/* --- benchmark --- */

enum { BENCH_WARMUP = 3 }; /* untimed steps: page faults, caches, branch predictors */

/* Fixed pseudo-random batch: random bytes (or floats in [0, 1)), labels
 * uniform over the classes (regression targets uniform in [0, 1)); the
 * same for every run of a given seed. */
static void bench_fill(Run *r, size_t numel) {
  uint64_t s = r->opt.seed ^ 0xbe7c4a11u;
  for (size_t i = 0; i < numel; i++) {
    uint64_t z = rt_splitmix64(&s);
    if (r->m->input_dtype == OCTO_U8)
      ((uint8_t *)r->x)[i] = (uint8_t)(z >> 56);
    else
      ((float *)r->x)[i] = (float)(z >> 40) / (float)(1 << 24);
  }
  if (rt_regression(r->m)) {
    size_t nt = (size_t)r->m->batch * (size_t)r->m->label_size;
    for (size_t i = 0; i < nt; i++)
      r->t[i] = (float)(rt_splitmix64(&s) >> 40) / (float)(1 << 24);
    return;
  }
  for (int i = 0; i < r->m->batch; i++)
    r->y[i] = (int32_t)(rt_splitmix64(&s) % (uint64_t)r->m->num_classes);
}

static float bench_step(Run *r) {
  float loss;
  if (r->m->train_step(r->state, r->work, r->x, batch_y(r), r->m->batch, NULL, &loss) != 0)
    return NAN;
  return loss;
}

static int bench_steps(Run *r, int steps, RtErr *err) {
  for (int i = 0; i < steps; i++) {
    float loss = bench_step(r);
    if (!isfinite(loss))
      return rt_error(err, "benchmark diverged: loss is %g at step %d", loss, i + 1);
  }
  return 0;
}

/* Inits the model, runs BENCH_WARMUP untimed and then opt.benchmark timed
 * full-batch train steps, and prints the training throughput. */
static int benchmark(Run *r, RtErr *err) {
  const OctoModel *m = r->m;
  size_t sample = 1;
  for (int i = 0; i < m->input_rank; i++)
    sample *= (size_t)m->input_shape[i];
  size_t numel = sample * (size_t)m->batch;
  if (!(r->state = aligned_block(m->state_bytes, m->state_align, err)) ||
      !(r->work = aligned_block(m->work_bytes, m->state_align, err)) ||
      !(r->x = rt_malloc(numel * (m->input_dtype == OCTO_U8 ? 1 : sizeof(float)), err)) ||
      !(r->y = rt_malloc((size_t)m->batch * sizeof(int32_t), err)) ||
      !(r->t = rt_malloc((size_t)m->batch * ((size_t)m->label_size + 1) * sizeof(float), err)))
    return -1;
  if (m->init(r->state, r->opt.seed) != 0)
    return rt_error(err, "model initialization failed");
  if (m->set_epoch)
    m->set_epoch(r->state, 0);
  bench_fill(r, numel);
  if (bench_steps(r, BENCH_WARMUP, err) != 0)
    return -1;
  double t0 = rt_now();
  if (bench_steps(r, r->opt.benchmark, err) != 0)
    return -1;
  double dt = rt_now() - t0;
  double samples = (double)r->opt.benchmark * m->batch;
  printf("benchmark: %d steps, batch %d, %.1f samples/s\n", r->opt.benchmark, m->batch,
         dt > 0 ? samples / dt : 0.0);
  if (fflush(stdout) != 0 || ferror(stdout))
    return rt_error(err, "cannot write to standard output: %s", strerror(errno));
  return 0;
}

static void run_free(Run *r) {
  RtErr ignored;
  csvlog_close(&r->log, &ignored);
  clipstats_free(&r->clips);
  dataset_free(&r->train);
  dataset_free(&r->test);
  free(r->state);
  free(r->work);
  free(r->x);
  free(r->y);
  free(r->pred);
  free(r->t);
  free(r->perm);
}

static const char *base_name(const char *path) {
  const char *s = path ? strrchr(path, '/') : NULL;
  return s ? s + 1 : path;
}

int octo_main(const OctoModel *m, int argc, char **argv) {
  Run r = {.m = m};
  RtErr err = {{0}};
  r.prog = argc > 0 && argv[0] && argv[0][0] ? base_name(argv[0]) : m->name;
  int status = parse_options(&r, argc, argv);
  if (status != EXIT_OK)
    return status == EXIT_DONE ? EXIT_OK : status;
  int failed = r.opt.benchmark
                   ? check_model(m, &err) || benchmark(&r, &err)
                   : check_model(m, &err) || load_data(&r, &err) || alloc_blocks(&r, &err) ||
                         init_or_resume(&r, &err) || train(&r, &err);
  if (failed) {
    fflush(stdout);
    fprintf(stderr, "%s: error: %s\n", r.prog, err.msg);
    status = EXIT_RUNTIME;
  }
  run_free(&r);
  return status;
}
