/* A generated trainer loaded into the test: octoc compiles a .net to C (float
 * or --emit-real=double), the system compiler makes it a shared object with
 * a small shim exporting the header's sizes, and dlopen loads it. Two builds
 * of one model export the same symbol names, so each lives in its own
 * RTLD_LOCAL object. */
#ifndef OCTO_TESTS_GC_MODEL_H
#define OCTO_TESTS_GC_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The layout of the emitted NAME_tensor_info (docs/c-backend.md). */
typedef struct GcTensor {
  const char *name;
  int dtype; /* 0 f32 (a double in a double build), 1 i8, 2 i16, 3 i32, 4 i64, 5 u8 */
  int role;  /* 0 parameter, 1 optimizer state, 2 buffer, 3 internal */
  int rank;
  int64_t shape[6];
  size_t offset, bytes;
} GcTensor;

typedef struct GcModel {
  void *so;
  bool dbl; /* a --emit-real=double build */
  size_t state_bytes, work_bytes;
  int batch, input_size, num_classes, ntensors;
  int label_size; /* floats per sample of a float label (regression); 0: none */
  const GcTensor *tensors;
  int (*init)(void *state, uint64_t seed);
  float (*step_f)(void *state, void *work, const float *x, const int32_t *y, int n);
  double (*step_d)(void *state, void *work, const double *x, const int32_t *y, int n);
  /* The same entries of a regression model (a float label or none): its y
   * is float (double in a double build). Set instead of step_f/step_d. */
  float (*step_rf)(void *state, void *work, const float *x, const float *y, int n);
  double (*step_rd)(void *state, void *work, const double *x, const double *y, int n);
  void (*set_epoch)(void *state, int epoch); /* NULL when the model has none */
  void *work;                                /* work_bytes, 64-aligned */
} GcModel;

/* How to build: the tools come from the environment (OCTOC, GC_CC,
 * GC_CFLAGS; see meson.build). */
typedef struct GcBuild {
  const char *net;    /* path of the .net file */
  const char *prefix; /* its network name: the C symbol prefix */
  const char *dir;    /* scratch directory for the generated files */
  const char *tag;    /* distinguishes builds of one model in dir */
  const char *sets[8]; /* --set KEY=VALUE overrides, NULL-terminated */
  int batch;
} GcBuild;

/* Builds and loads the float build into f and the double build into d (the
 * two compile in parallel). false with a message on stderr on any failure. */
bool gc_build_pair(const GcBuild *b, GcModel *f, GcModel *d);
/* One build; real_double chooses the variant. */
bool gc_build_one(const GcBuild *b, bool real_double, GcModel *m);
void gc_close(GcModel *m);

/* A 64-aligned, zeroed block of n bytes (n rounded up); abort on OOM. */
void *gc_alloc(size_t n);
const GcTensor *gc_tensor(const GcModel *m, const char *name);
size_t gc_numel(const GcTensor *t);
/* Element i of an f32 tensor (float or double by build) as a double. */
double gc_get(const GcModel *m, const void *state, const GcTensor *t, size_t i);
void gc_set(const GcModel *m, void *state, const GcTensor *t, size_t i, double v);
/* Copies a float build's state into its double build's state: f32 tensors
 * widened element by element, the others byte for byte. */
void gc_widen_state(const GcModel *f, const void *fstate, const GcModel *d, void *dstate);
/* train_step with x given both ways (xf for a float build, xd for double),
 * and the labels: class indices y, or float targets (yf, yd) for a
 * regression model. */
double gc_step(const GcModel *m, void *state, const float *xf, const double *xd,
               const int32_t *y, const float *yf, const double *yd, int n);

/* Runs a command (PATH lookup); true when it exits 0. */
bool gc_run(char *const *argv);

/* A scratch directory under $TMPDIR (malloc'd), and its removal. */
char *gc_tmpdir(void);
void gc_rmdir(const char *dir);

#endif
