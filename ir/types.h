/* Element types and static shapes, shared by the graph IR and the loop IR. */
#ifndef OCTO_IR_TYPES_H
#define OCTO_IR_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The numbers are stored in tensor tables and checkpoints (the runtime's
 * OctoDType has the same order): append new types, never renumber. */
typedef enum {
  DT_F32, DT_I8, DT_I16, DT_I32, DT_I64, DT_U8, DT_U16, DT_U32, DT_COUNT
} DType;

const char *dtype_name(DType t);             /* "f32", "i8", ... */
bool dtype_from_name(const char *s, DType *out);
size_t dtype_size(DType t);
bool dtype_is_int(DType t);                  /* every valid type but f32 */
bool dtype_is_unsigned(DType t);             /* u8, u16, u32 */
/* The values of an integer type: [*lo, *hi]; false for f32. */
bool dtype_int_range(DType t, int64_t *lo, int64_t *hi);

enum { MAX_RANK = 6 };

/* rank < 0: not inferred yet (printed `[*]`); a dim < 0 is one unknown
 * extent (printed `?`, e.g. a weight `[6,?,5,5]` before its input channels
 * are inferred, or `[?]`: rank 1, extent unknown). A rank-0 shape is a
 * scalar. */
typedef struct Shape {
  int rank;
  int64_t dim[MAX_RANK];
} Shape;

typedef struct TensorType {
  DType dtype;
  Shape shape;
} TensorType;

Shape shape_unknown(void);
Shape shape_of(int rank, const int64_t *dims);
bool shape_known(const Shape *s); /* rank and every dim known */
bool shape_eq(const Shape *a, const Shape *b);
/* Number of elements; -1 if unknown or it would overflow int64. */
int64_t shape_numel(const Shape *s);
/* `f32[32,1,28,28]`, `f32[]` for a scalar, `f32[*]` when not inferred. */
void type_print(FILE *out, const TensorType *t);
/* Same, into buf (always NUL-terminated); for diagnostics. */
const char *type_str(const TensorType *t, char *buf, size_t size);
const char *shape_str(const Shape *s, char *buf, size_t size);

#endif
