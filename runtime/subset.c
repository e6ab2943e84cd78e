/* subset.c: the samples a bare-metal image trains on, as C. octoc runs it
 * on the host when it builds an image for a board without files
 * (docs/baremetal.md): the first COUNT samples of an IDX image file and its
 * label file become NAME_data.c, two const arrays and the OctoSubset that
 * runtime/baremetal/baremetal_main.c reads. Both files are read and checked
 * like the trainer's datasets (idx.c) before anything is written. */
#include <string.h>

#include "rt.h"

/* The bytes as a C initializer, 24 to a line. */
static void write_bytes(FILE *out, const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    fprintf(out, "%s%u,", i % 24 == 0 ? (i ? "\n  " : "  ") : "", p[i]);
  fputc('\n', out);
}

/* The file's name without its folder, with anything but [A-Za-z0-9._-]
 * made '_': it goes into a C string and a comment. */
static void plain_name(char *buf, size_t size, const char *path) {
  const char *slash = strrchr(path, '/');
  snprintf(buf, size, "%s", slash ? slash + 1 : path);
  for (char *c = buf; *c; c++)
    if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", *c)) *c = '_';
}

int subset_write_c(FILE *out, const char *images, const char *labels, size_t count,
                   size_t *bytes, RtErr *err) {
  IdxFile img = {0}, lab = {0};
  if (idx_read(images, "pixels", &img, err) != 0) return -1;
  if (idx_read(labels, "labels", &lab, err) != 0) {
    idx_free(&img);
    return -1;
  }
  int rc = -1;
  size_t sample = img.dims[0] ? img.size / (size_t)img.dims[0] : 0;
  if (img.ndims < 2 || lab.ndims != 1)
    rt_error(err, "%s and %s: expected images (N x ...) and one label per image", images,
             labels);
  else if (img.dims[0] != lab.dims[0])
    rt_error(err, "%s has %lld images, %s %lld labels", images, (long long)img.dims[0], labels,
             (long long)lab.dims[0]);
  else if (count == 0 || count > (size_t)img.dims[0])
    rt_error(err, "--samples %zu: %s has %lld samples (1 to %lld)", count, images,
             (long long)img.dims[0], (long long)img.dims[0]);
  else if (sample == 0 || sample > 1 << 24)
    rt_error(err, "%s: %zu bytes per sample", images, sample);
  else
    rc = 0;
  if (rc == 0) {
    *bytes = count * sample + count * sizeof(int32_t);
    char name[256];
    plain_name(name, sizeof name, images);
    fprintf(out, "/* The first %zu samples of %s, compiled into a bare-metal\n"
                 " * image by octoc (runtime/subset.c). */\n"
                 "#include \"octo_baremetal.h\"\n\n", count, name);
    fprintf(out, "static const uint8_t pixels[%zu] = {\n", count * sample);
    write_bytes(out, img.data, count * sample);
    fprintf(out, "};\n\nstatic const int32_t labels[%zu] = {\n", count);
    write_bytes(out, lab.data, count);
    fprintf(out, "};\n\nconst OctoSubset octo_subset = {pixels, labels, %zu, %zu, \"%s\"};\n",
            count, sample, name);
    if (fflush(out) != 0 || ferror(out)) rc = rt_error(err, "write error");
  }
  idx_free(&img);
  idx_free(&lab);
  return rc;
}
