/* octoc's command line: parsing and help. Exit status 2 for usage errors is
 * the driver's; this file only parses and reports. */
#ifndef OCTO_COMPILER_OPTIONS_H
#define OCTO_COMPILER_OPTIONS_H

#include <stdbool.h>
#include <stdio.h>

typedef enum {
  EMIT_DEFAULT, /* nothing asked: check the model and say what can be emitted */
  EMIT_NONE,
  EMIT_IR,
  EMIT_REPORT,
  EMIT_DOT,
  EMIT_RECIPE, /* the effective recipe as YAML */
  EMIT_LOOPS,
  EMIT_C,
  EMIT_LLVM,
  EMIT_ASM,
  EMIT_BC,  /* LLVM bitcode */
  EMIT_OBJ,
  EMIT_EXE, /* not an --emit kind: --main with an output name without extension */
} EmitKind;

enum { MAX_LIST_OPTIONS = 64 };

/* Which code generator makes objects and executables (--backend): LLVM
 * when octoc has it, else the C backend through the system C compiler. */
typedef enum { BACKEND_DEFAULT, BACKEND_C, BACKEND_LLVM } BackendKind;

typedef struct Options {
  const char *input;
  const char *output; /* -o; NULL = stdout for text */
  const char *target, *mcpu, *mattr;
  EmitKind emit;
  BackendKind backend; /* --backend=c|llvm; emit.c settles the default */
  const char *config;                     /* --config recipe.yaml */
  const char *sets[MAX_LIST_OPTIONS];     /* --set key=value, in order */
  int nsets;
  /* Shorthands for recipe keys, validated by the recipe: --batch N,
   * --epochs N, --seed N, --lr X (optimizer.lr), --precision P. */
  const char *batch, *epochs, *seed, *lr, *precision;
  int opt_level;                          /* -O0..-O3 */
  const char *print_before[MAX_LIST_OPTIONS];
  int nprint_before;
  const char *print_after[MAX_LIST_OPTIONS];
  int nprint_after;
  bool print_before_all, print_after_all;
  int verify_each; /* -1 = default for the build type */
  bool no_fuse;    /* --no-fuse: skip the fuse pass */
  bool emit_main;  /* --main */
  /* A bare-metal image's samples (docs/baremetal.md): --data DIR (IDX
   * files), --samples N (the first N); NULL when not given. */
  const char *data_dir, *samples;
  bool real_double; /* --emit-real=double: the C backend's double-precision build */
  bool verbose;    /* -v */
  bool help, version, list_passes, list_targets;
} Options;

/* Returns true when argv parsed; otherwise has printed a usage error to err. */
bool options_parse(Options *o, int argc, char **argv, FILE *err);
void options_help(FILE *out);
const char *emit_name(EmitKind k);

#endif
