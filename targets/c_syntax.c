/* C text helpers (c_syntax.h). */
#include "c_syntax.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void c_string(FILE *out, const char *s) {
  fputc('"', out);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') fprintf(out, "\\%c", c);
    else if (c < 32 || c >= 127) fprintf(out, "\\%03o", c);
    else fputc(c, out);
  }
  fputc('"', out);
}

void c_comment_text(FILE *out, const char *s) {
  for (; *s; s++) {
    if (s[0] == '*' && s[1] == '/') fputs("* ", out);
    else if (s[0] == '?' && s[1] == '?') fputs("? ", out);
    else fputc((unsigned char)*s < 32 ? ' ' : *s, out);
  }
}

bool c_float(FILE *out, float f, bool real_double) {
  if (isnan(f)) {
    fputs("NAN", out);
    return true;
  }
  if (isinf(f)) {
    fputs(f < 0 ? "(-INFINITY)" : "INFINITY", out);
    return true;
  }
  /* %.9g round-trips every float exactly. A double build keeps the float's
   * exact value (the same program, only computed wider): the shortest %g
   * that reads back as that double. */
  char buf[48];
  snprintf(buf, sizeof buf, "%.9g", (double)f);
  for (int prec = 10; real_double && strtod(buf, NULL) != (double)f && prec <= 17; prec++)
    snprintf(buf, sizeof buf, "%.*g", prec, (double)f);
  bool has_point = strpbrk(buf, ".e") != NULL;
  const char *suffix = real_double ? "" : "f";
  if (signbit(f)) fprintf(out, "(%s%s%s)", buf, has_point ? "" : ".0", suffix);
  else fprintf(out, "%s%s%s", buf, has_point ? "" : ".0", suffix);
  return false;
}

void c_int(FILE *out, DType t, int64_t v) {
  if (t == DT_U32) {
    /* unsigned int: a large decimal would otherwise be a long and widen
     * the arithmetic around it. */
    fprintf(out, "%lldu", (long long)v);
  } else if (t == DT_I64) {
    if (v == INT64_MIN) fputs("(-INT64_C(9223372036854775807) - 1)", out);
    else if (v < 0) fprintf(out, "(INT64_C(%lld))", (long long)v);
    else fprintf(out, "INT64_C(%lld)", (long long)v);
  } else if (v == INT32_MIN) {
    fputs("(-2147483647 - 1)", out);
  } else if (v < 0) {
    fprintf(out, "(%lld)", (long long)v);
  } else {
    fprintf(out, "%lld", (long long)v);
  }
}

const char *c_type(DType t, bool real_double) {
  switch (t) {
  case DT_F32: return real_double ? "double" : "float";
  case DT_I8: return "int8_t";
  case DT_I16: return "int16_t";
  case DT_I32: return "int32_t";
  case DT_I64: return "int64_t";
  case DT_U8: return "uint8_t";
  case DT_U16: return "uint16_t";
  case DT_U32: return "uint32_t";
  default: return "?";
  }
}
