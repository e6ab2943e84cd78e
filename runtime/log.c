/* log.c: the --log CSV file, one row per epoch, for plotting
 * (tools/plot-log.sh) and for comparing runs:
 *   epoch,loss,train_acc,test_acc,seconds,samples_per_s
 * Accuracies are percentages, like the printed lines. A regression model
 * has no accuracies; its log is
 *   epoch,loss,test_loss,seconds,samples_per_s
 * with both losses mean squared errors. A model compiled with prc.stats adds
 * one column per PRC clip, named after it (c1.prc.error, ...): the share of
 * its elements clipped over the epoch (clipstats.c). Each row is flushed
 * when written, so a run killed mid-training keeps the epochs it finished. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "rt.h"

static const char csv_header[] = "epoch,loss,train_acc,test_acc,seconds,samples_per_s";
static const char csv_header_regression[] = "epoch,loss,test_loss,seconds,samples_per_s";

static int has_clips(const CsvLog *l) { return l->clips && l->clips->n > 0 && l->state; }

/* The header line: the fixed columns, then a clip's name per clip. */
static int write_header(const CsvLog *l) {
  if (fputs(l->regression ? csv_header_regression : csv_header, l->f) == EOF)
    return -1;
  for (int i = 0; has_clips(l) && i < l->clips->n; i++)
    if (fprintf(l->f, ",%s", l->clips->clip[i].name) < 0)
      return -1;
  return fputc('\n', l->f) == EOF ? -1 : 0;
}

int csvlog_open(CsvLog *l, const char *path, int append, int regression, RtErr *err) {
  struct stat st;
  int keep = append && stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
  l->path = path;
  l->regression = regression;
  l->f = fopen(path, keep ? "a" : "w");
  if (!l->f)
    return rt_error(err, "%s: cannot open log: %s", path, strerror(errno));
  if (!keep && (write_header(l) != 0 || fflush(l->f) != 0)) {
    int e = errno;
    fclose(l->f);
    l->f = NULL;
    return rt_error(err, "%s: cannot write log: %s", path, strerror(e));
  }
  return 0;
}

int csvlog_row(CsvLog *l, const EpochStats *s, RtErr *err) {
  int rc = l->regression
               ? fprintf(l->f, "%d,%.8g,%.8g,%.3f,%.1f", s->epoch, s->loss, s->test_loss,
                         s->seconds, s->samples_per_s)
               : fprintf(l->f, "%d,%.6f,%.4f,%.4f,%.3f,%.1f", s->epoch, s->loss, s->train_acc,
                         s->test_acc, s->seconds, s->samples_per_s);
  for (int i = 0; rc >= 0 && has_clips(l) && i < l->clips->n; i++) {
    double rate;
    rc = clipstats_rate(l->clips, i, l->state, &rate) ? fprintf(l->f, ",%.6g", rate)
                                                     : fputc(',', l->f);
  }
  if (rc >= 0)
    rc = fputc('\n', l->f);
  if (rc < 0 || fflush(l->f) != 0)
    return rt_error(err, "%s: cannot write log: %s", l->path, strerror(errno));
  return 0;
}

int csvlog_close(CsvLog *l, RtErr *err) {
  if (!l->f)
    return 0;
  int rc = fclose(l->f);
  l->f = NULL;
  if (rc != 0)
    return rt_error(err, "%s: cannot write log: %s", l->path, strerror(errno));
  return 0;
}
