/* Fuzz harness: the runtime's gzip decoder (runtime/gunzip.c) against
 * zlib. Each input is decoded as a gzip file by both; they must agree on
 * whether it is a complete, valid gzip file and, when it is, on every
 * byte. Then the input itself, gzipped by zlib at a level taken from its
 * first byte, must decode back to the input. A disagreement aborts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "fuzz.h"
#include "rt.h"

enum { LIMIT = 1 << 22 }; /* bytes of output either decoder may write */

/* zlib's verdict: 1 when data is one or more complete gzip members whose
 * output fits in LIMIT, with that output in *out. */
static int zlib_gunzip(const uint8_t *data, size_t size, uint8_t **out, size_t *len) {
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  if (inflateInit2(&zs, 15 + 16) != Z_OK) abort();
  uint8_t *buf = malloc(LIMIT);
  if (!buf) abort();
  zs.next_in = (Bytef *)data;
  zs.avail_in = (uInt)size;
  zs.next_out = buf;
  zs.avail_out = LIMIT;
  int ok = 0;
  for (;;) {
    int rc = inflate(&zs, Z_NO_FLUSH);
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0) {
        ok = 1;
        break;
      }
      if (inflateReset(&zs) != Z_OK) abort(); /* the next member */
      continue;
    }
    if (rc != Z_OK || zs.avail_out == 0 || zs.avail_in == 0) break;
  }
  *len = LIMIT - zs.avail_out;
  inflateEnd(&zs);
  *out = buf;
  return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > (1u << 20)) return 0;
  GzOut ours = {0};
  GzStatus st = rt_gunzip(data, size, LIMIT, &ours);
  uint8_t *ref;
  size_t ref_len;
  int ref_ok = zlib_gunzip(data, size, &ref, &ref_len);
  if ((st == GZ_DONE) != ref_ok) {
    fprintf(stderr, "gunzip says %d (%s), zlib says %s\n", st, ours.msg ? ours.msg : "",
            ref_ok ? "valid" : "invalid");
    abort();
  }
  if (ref_ok && (ours.len != ref_len || (ref_len && memcmp(ours.data, ref, ref_len) != 0))) {
    fprintf(stderr, "gunzip and zlib decode different bytes\n");
    abort();
  }
  free(ours.data);
  free(ref);

  int level = size ? data[0] % 10 : 6;
  uLong bound = compressBound((uLong)size) + 64;
  uint8_t *z = malloc(bound);
  if (!z) abort();
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) abort();
  zs.next_in = (Bytef *)data;
  zs.avail_in = (uInt)size;
  zs.next_out = z;
  zs.avail_out = (uInt)bound;
  if (deflate(&zs, Z_FINISH) != Z_STREAM_END) abort();
  size_t zlen = bound - zs.avail_out;
  deflateEnd(&zs);
  GzOut back = {0};
  if (rt_gunzip(z, zlen, size, &back) != GZ_DONE || back.len != size ||
      (size && memcmp(back.data, data, size) != 0)) {
    fprintf(stderr, "zlib's gzip of the input (level %d) does not decode back\n", level);
    abort();
  }
  free(back.data);
  free(z);
  return 0;
}
