/* progress.c: what the trainer prints while it trains.
 *
 * On a terminal, a one-line bar redrawn in place with '\r' (at most ten times
 * a second, so printing never costs training time); elsewhere (a pipe, a log
 * file, CI) one plain line per epoch in a stable format that scripts parse:
 *   epoch 1/5  loss 0.6123  train_acc 77.85%  test_acc 82.10%  time 12.3s  2456 samples/s
 * (a regression model: `loss 0.012345  test_loss 0.013456` and no accuracies).
 * The epoch line is printed in both cases; the bar is erased before it. */
#include <string.h>
#include <time.h>

#include "rt.h"

enum { BAR_WIDTH = 24 };

double rt_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void progress_init(Progress *p, FILE *out, int bar, int quiet, size_t total) {
  memset(p, 0, sizeof *p);
  p->out = out;
  p->bar = bar && !quiet;
  p->quiet = quiet;
  p->total = total;
}

void progress_epoch_start(Progress *p) {
  p->epoch_start = rt_now();
  p->last_draw = 0;
}

void progress_update(Progress *p, int epoch, int epochs, size_t done, double loss_sum,
                     size_t correct) {
  if (!p->bar || done == 0)
    return;
  double now = rt_now();
  if (now - p->last_draw < 0.1 && done < p->total)
    return;
  p->last_draw = now;
  double elapsed = now - p->epoch_start;
  double rate = elapsed > 0 ? (double)done / elapsed : 0;
  double eta = rate > 0 ? (double)(p->total - done) / rate : 0;
  char bar[BAR_WIDTH + 1];
  int fill = (int)((double)BAR_WIDTH * (double)done / (double)p->total);
  for (int i = 0; i < BAR_WIDTH; i++)
    bar[i] = i < fill ? '#' : '.';
  bar[BAR_WIDTH] = '\0';
  /* \033[K clears what a longer previous line left behind. */
  if (p->regression)
    fprintf(p->out, "\repoch %d/%d [%s] %3.0f%%  %.0f samples/s  loss %.6f  ETA %.0fs\033[K",
            epoch, epochs, bar, 100.0 * (double)done / (double)p->total, rate,
            loss_sum / (double)done, eta);
  else
    fprintf(p->out, "\repoch %d/%d [%s] %3.0f%%  %.0f samples/s  loss %.4f  acc %.2f%%  ETA %.0fs\033[K",
            epoch, epochs, bar, 100.0 * (double)done / (double)p->total, rate,
            loss_sum / (double)done, 100.0 * (double)correct / (double)done, eta);
  fflush(p->out);
  p->drawn = 1;
}

void progress_format(char *buf, size_t bufsz, const EpochStats *s) {
  if (s->regression) {
    snprintf(buf, bufsz, "epoch %d/%d  loss %.6f  test_loss %.6f  time %.1fs  %.0f samples/s",
             s->epoch, s->epochs, s->loss, s->test_loss, s->seconds, s->samples_per_s);
    return;
  }
  snprintf(buf, bufsz,
           "epoch %d/%d  loss %.4f  train_acc %.2f%%  test_acc %.2f%%  time %.1fs  %.0f samples/s",
           s->epoch, s->epochs, s->loss, s->train_acc, s->test_acc, s->seconds,
           s->samples_per_s);
}

void progress_epoch_end(Progress *p, const EpochStats *s) {
  if (p->drawn) {
    fputs("\r\033[K", p->out);
    p->drawn = 0;
  }
  if (p->quiet)
    return;
  char line[256];
  progress_format(line, sizeof line, s);
  fprintf(p->out, "%s\n", line);
  fflush(p->out);
}
