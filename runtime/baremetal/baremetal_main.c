/* baremetal_main.c: octo_main for a board without an operating system.
 *
 * The generated NAME_main.c hands the model to octo_main() on every target;
 * on a bare-metal board this file is that octo_main. There are no files:
 * the samples are compiled into the image (octo_subset), the state block
 * and work arena are static arrays (octo_blocks), and the output goes to
 * picolibc's stdout, which semihosting carries to the host (QEMU's
 * -semihosting). It trains on the samples in their file order, batch after
 * batch, for the recipe's epochs, prints every step's loss (decimal and the
 * float's bits, so that two boards can be compared bit for bit) and the
 * board's instruction count, then evaluates the samples once. main()
 * returns the status, which picolibc's exit hands to the host through
 * semihosting: 0 ok, 1 runtime error, 2 usage error.
 *
 * The same file builds for the host (with board_host.c): the parity test
 * runs it there to compare losses with the boards'.
 *
 * Options (QEMU: -semihosting-config enable=on,arg=NAME,arg=--epochs,arg=2):
 * --epochs N, --steps N (stop after N steps), --seed N. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "octo_baremetal.h"
#include "octo_runtime.h"

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

typedef struct {
  long epochs, steps; /* steps 0: no limit */
  uint64_t seed;
} Options;

/* A non-negative decimal number that fits a long; false otherwise. */
static int parse_count(const char *s, long *out) {
  char *end;
  if (!s || *s < '0' || *s > '9') return 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (*end || v > 0x7fffffffUL) return 0;
  *out = (long)v;
  return 1;
}

static int parse_options(Options *o, int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    long v;
    if (strcmp(a, "--epochs") && strcmp(a, "--steps") && strcmp(a, "--seed")) {
      /* QEMU's first semihosting argument is the program's name. */
      if (i == 1 && a[0] != '-') continue;
      printf("error: unknown option '%s' (--epochs N, --steps N, --seed N)\n", a);
      return 0;
    }
    if (i + 1 >= argc || !parse_count(argv[i + 1], &v)) {
      printf("error: %s needs a number\n", a);
      return 0;
    }
    i++;
    if (a[2] == 'e') o->epochs = v;
    else if (a[3] == 't') o->steps = v;
    else o->seed = (uint64_t)v;
  }
  return 1;
}

/* The model must take what the image holds: one byte per input element,
 * a class per sample, and blocks of the sizes it was compiled for. */
static int check_model(const OctoModel *m) {
  int64_t numel = 1;
  for (int i = 0; i < m->input_rank; i++) numel *= m->input_shape[i];
  if (m->input_dtype != OCTO_U8 || m->num_classes <= 0) {
    printf("error: model %s is not a classifier of u8 images; the bare-metal trainer trains "
           "only those\n", m->name);
    return 0;
  }
  if (numel != octo_subset.sample_bytes) {
    printf("error: model %s takes %lld bytes per sample, the image holds %d\n", m->name,
           (long long)numel, octo_subset.sample_bytes);
    return 0;
  }
  if (octo_blocks.state_bytes < m->state_bytes || octo_blocks.work_bytes < m->work_bytes) {
    printf("error: the image's blocks (%lu + %lu bytes) are smaller than the model's "
           "(%lu + %lu)\n", (unsigned long)octo_blocks.state_bytes,
           (unsigned long)octo_blocks.work_bytes, (unsigned long)m->state_bytes,
           (unsigned long)m->work_bytes);
    return 0;
  }
  for (int i = 0; i < octo_subset.count; i++)
    if (octo_subset.labels[i] < 0 || octo_subset.labels[i] >= m->num_classes) {
      printf("error: sample %d has class %ld; model %s has %d classes\n", i,
             (long)octo_subset.labels[i], m->name, m->num_classes);
      return 0;
    }
  return 1;
}

static uint32_t float_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

/* Trains; EXIT_OK or EXIT_RUNTIME. */
static int train(const OctoModel *m, const Options *o) {
  const OctoSubset *d = &octo_subset;
  void *state = octo_blocks.state, *work = octo_blocks.work;
  if (m->init(state, o->seed) != 0) {
    printf("error: init failed\n");
    return EXIT_RUNTIME;
  }
  long step = 0;
  uint64_t before = octo_board_instructions();
  for (long e = 0; e < o->epochs && (!o->steps || step < o->steps); e++) {
    if (m->set_epoch) m->set_epoch(state, (int)e);
    for (int i = 0; i < d->count && (!o->steps || step < o->steps); i += m->batch) {
      int n = d->count - i < m->batch ? d->count - i : m->batch;
      float loss;
      if (m->train_step(state, work, d->pixels + (size_t)i * (size_t)d->sample_bytes,
                        d->labels + i, n, NULL, &loss) != 0) {
        printf("error: train_step refused its arguments at step %ld\n", step + 1);
        return EXIT_RUNTIME;
      }
      uint64_t now = octo_board_instructions();
      step++;
      printf("step %ld loss %.9g bits 0x%08lx insns %llu\n", step, (double)loss,
             (unsigned long)float_bits(loss), (unsigned long long)(now - before));
      before = now;
      if (!isfinite(loss)) {
        printf("error: the loss is not finite at step %ld\n", step);
        return EXIT_RUNTIME;
      }
    }
  }
  /* One pass of eval over the same samples: how much the steps learnt. */
  double loss_sum = 0;
  long correct = 0;
  for (int i = 0; i < d->count; i += m->batch) {
    int n = d->count - i < m->batch ? d->count - i : m->batch;
    float l = 0;
    int32_t c = 0;
    if (m->eval(state, work, d->pixels + (size_t)i * (size_t)d->sample_bytes, d->labels + i, n,
                &l, &c) != 0) {
      printf("error: eval refused its arguments\n");
      return EXIT_RUNTIME;
    }
    loss_sum += l;
    correct += c;
  }
  printf("eval loss %.6f accuracy %.4f (%ld/%d) after %ld steps\n", loss_sum / d->count,
         (double)correct / d->count, correct, d->count, step);
  return EXIT_OK;
}

int octo_main(const OctoModel *m, int argc, char **argv) {
  Options o = {m->epochs_default, 0, m->seed_default};
  printf("octo bare-metal trainer: model %s on %s\n", m->name, octo_board_name());
  if (!parse_options(&o, argc, argv)) return EXIT_USAGE;
  if (!check_model(m)) return EXIT_RUNTIME;
  printf("samples %d (%s), batch %d, epochs %ld, seed %llu, state %lu bytes, work %lu bytes\n",
         octo_subset.count, octo_subset.source, m->batch, o.epochs, (unsigned long long)o.seed,
         (unsigned long)m->state_bytes, (unsigned long)m->work_bytes);
  int status = train(m, &o);
  fflush(stdout);
  return status;
}
