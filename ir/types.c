/* Element types and shapes: names, sizes, printing. */
#include "types.h"

#include <string.h>

static const char *const dtype_names[DT_COUNT] = {"f32", "i8",  "i16", "i32",
                                                   "i64", "u8", "u16", "u32"};
static const size_t dtype_sizes[DT_COUNT] = {4, 1, 2, 4, 8, 1, 2, 4};

const char *dtype_name(DType t) { return t < DT_COUNT ? dtype_names[t] : "?"; }

bool dtype_from_name(const char *s, DType *out) {
  for (int i = 0; i < DT_COUNT; i++)
    if (strcmp(s, dtype_names[i]) == 0) {
      *out = (DType)i;
      return true;
    }
  return false;
}

size_t dtype_size(DType t) { return t < DT_COUNT ? dtype_sizes[t] : 0; }

bool dtype_is_int(DType t) { return t != DT_F32 && t < DT_COUNT; }

bool dtype_is_unsigned(DType t) { return t == DT_U8 || t == DT_U16 || t == DT_U32; }

bool dtype_int_range(DType t, int64_t *lo, int64_t *hi) {
  static const int64_t range[DT_COUNT][2] = {
      [DT_I8] = {INT8_MIN, INT8_MAX},    [DT_I16] = {INT16_MIN, INT16_MAX},
      [DT_I32] = {INT32_MIN, INT32_MAX}, [DT_I64] = {INT64_MIN, INT64_MAX},
      [DT_U8] = {0, UINT8_MAX},          [DT_U16] = {0, UINT16_MAX},
      [DT_U32] = {0, UINT32_MAX},
  };
  if (!dtype_is_int(t)) return false;
  *lo = range[t][0];
  *hi = range[t][1];
  return true;
}

Shape shape_unknown(void) {
  Shape s = {0};
  s.rank = -1;
  return s;
}

Shape shape_of(int rank, const int64_t *dims) {
  Shape s = {0};
  s.rank = rank;
  for (int i = 0; i < rank && i < MAX_RANK; i++) s.dim[i] = dims[i];
  return s;
}

bool shape_known(const Shape *s) {
  if (s->rank < 0) return false;
  for (int i = 0; i < s->rank; i++)
    if (s->dim[i] < 0) return false;
  return true;
}

bool shape_eq(const Shape *a, const Shape *b) {
  if (a->rank != b->rank) return false;
  for (int i = 0; i < a->rank; i++)
    if (a->dim[i] != b->dim[i]) return false;
  return true;
}

int64_t shape_numel(const Shape *s) {
  if (s->rank < 0) return -1;
  int64_t n = 1;
  for (int i = 0; i < s->rank; i++) {
    if (s->dim[i] < 0) return -1;
    if (s->dim[i] != 0 && n > INT64_MAX / s->dim[i]) return -1;
    n *= s->dim[i];
  }
  return n;
}

/* Appends to buf at *len; false once the buffer is full. */
static bool append(char *buf, size_t size, size_t *len, const char *fmt, long long v) {
  int k = snprintf(buf + *len, size - *len, fmt, v);
  if (k < 0 || (size_t)k >= size - *len) return false;
  *len += (size_t)k;
  return true;
}

const char *shape_str(const Shape *s, char *buf, size_t size) {
  size_t len = 0;
  if (size == 0) return buf;
  buf[0] = 0;
  if (!append(buf, size, &len, "[", 0)) return buf;
  if (s->rank < 0 && !append(buf, size, &len, "*", 0)) return buf;
  for (int i = 0; i < s->rank; i++)
    if (!(s->dim[i] < 0 ? append(buf, size, &len, i ? ",?" : "?", 0)
                        : append(buf, size, &len, i ? ",%lld" : "%lld", (long long)s->dim[i])))
      return buf;
  append(buf, size, &len, "]", 0);
  return buf;
}

const char *type_str(const TensorType *t, char *buf, size_t size) {
  char sh[160];
  snprintf(buf, size, "%s%s", dtype_name(t->dtype), shape_str(&t->shape, sh, sizeof sh));
  return buf;
}

void type_print(FILE *out, const TensorType *t) {
  char buf[200];
  fputs(type_str(t, buf, sizeof buf), out);
}
