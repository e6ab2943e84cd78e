/* error.c: the runtime's error messages. Functions fill an RtErr and return
 * -1 rather than printing, so the trainer decides the stream and the exit
 * status, and tests can compare the exact text. */
#include <stdarg.h>
#include <stdlib.h>

#include "rt.h"

int rt_error(RtErr *err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  va_end(ap);
  return -1;
}

void *rt_malloc(size_t size, RtErr *err) {
  void *p = malloc(size ? size : 1);
  if (!p)
    rt_error(err, "out of memory (allocating %zu bytes)", size);
  return p;
}

const char *rt_shape_str(char *buf, size_t bufsz, int rank, const int64_t *dims) {
  size_t len = 0;
  buf[0] = '\0';
  for (int i = 0; i < rank && len < bufsz; i++) {
    int k = snprintf(buf + len, bufsz - len, "%s%lld", i ? "x" : "", (long long)dims[i]);
    if (k < 0)
      break;
    len += (size_t)k;
  }
  return buf;
}
