/* clipstats.c: the PRC clip-rate counters of a trainer compiled with the
 * recipe key prc.stats (docs/int8.md, "Diagnostics"). Each clip has two
 * internal i64 scalars in the state block, <clip>.seen and <clip>.clipped,
 * that its kernel increments; the runtime finds them in the tensor table
 * by those names, zeroes them at the start of every epoch and logs
 * clipped / seen per clip as a column of the --log CSV. A model without
 * them has no columns. */
#include <stdlib.h>
#include <string.h>

#include "rt.h"

static const char seen_suffix[] = ".seen", clipped_suffix[] = ".clipped";

/* Whether tensor t is a counter: an internal i64 scalar named <prefix><suffix>;
 * *prefix_len gets the prefix's length. */
static int is_counter(const OctoTensorInfo *t, const char *suffix, size_t *prefix_len) {
  size_t n = strlen(t->name), k = strlen(suffix);
  if (t->kind != OCTO_TENSOR_INTERNAL || t->dtype != OCTO_I64 || t->bytes != sizeof(int64_t) ||
      n <= k || strcmp(t->name + n - k, suffix) != 0)
    return 0;
  *prefix_len = n - k;
  return 1;
}

/* The <prefix>.seen counter of a .clipped one, or NULL. */
static const OctoTensorInfo *seen_of(const OctoModel *m, const char *prefix, size_t len) {
  for (int i = 0; i < m->ntensors; i++) {
    const OctoTensorInfo *t = &m->tensors[i];
    size_t n;
    if (is_counter(t, seen_suffix, &n) && n == len && strncmp(t->name, prefix, len) == 0)
      return t;
  }
  return NULL;
}

int clipstats_find(ClipStats *cs, const OctoModel *m, RtErr *err) {
  memset(cs, 0, sizeof *cs);
  for (int i = 0; i < m->ntensors; i++) {
    const OctoTensorInfo *t = &m->tensors[i];
    size_t len;
    const OctoTensorInfo *seen;
    if (!is_counter(t, clipped_suffix, &len) || !(seen = seen_of(m, t->name, len)))
      continue;
    ClipStat *more = realloc(cs->clip, (size_t)(cs->n + 1) * sizeof *more);
    char *name = malloc(len + 1);
    if (!more || !name) {
      free(name);
      if (more)
        cs->clip = more;
      clipstats_free(cs);
      return rt_error(err, "out of memory");
    }
    memcpy(name, t->name, len);
    name[len] = '\0';
    cs->clip = more;
    cs->clip[cs->n++] = (ClipStat){name, seen->offset, t->offset};
  }
  return 0;
}

/* The counters are read and written with memcpy: the state block's
 * alignment is the model's business. */
void clipstats_reset(const ClipStats *cs, void *state) {
  const int64_t zero = 0;
  for (int i = 0; i < cs->n; i++) {
    memcpy((char *)state + cs->clip[i].seen, &zero, sizeof zero);
    memcpy((char *)state + cs->clip[i].clipped, &zero, sizeof zero);
  }
}

int clipstats_rate(const ClipStats *cs, int i, const void *state, double *rate) {
  int64_t seen, clipped;
  memcpy(&seen, (const char *)state + cs->clip[i].seen, sizeof seen);
  memcpy(&clipped, (const char *)state + cs->clip[i].clipped, sizeof clipped);
  if (seen <= 0)
    return 0;
  *rate = (double)clipped / (double)seen;
  return 1;
}

void clipstats_free(ClipStats *cs) {
  for (int i = 0; i < cs->n; i++)
    free(cs->clip[i].name);
  free(cs->clip);
  cs->clip = NULL;
  cs->n = 0;
}
