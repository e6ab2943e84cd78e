/* Helpers of the C-backend tests that compile and run emitted code:
 * emitting a program as t.c / t.h, building it with the conformance
 * driver (tests/conformance/driver.c) and reading the driver's output.
 * Files, folders and shell commands are the conformance harness's. They
 * abort the Check test on any failure. */
#ifndef OCTO_TESTS_CBACKEND_CBKIT_H
#define OCTO_TESTS_CBACKEND_CBKIT_H

#include <stdbool.h>
#include <stdint.h>

#include "loop.h"

#include "harness.h"

/* Emits p as dir/t.c and dir/t.h (the C backend's default options). */
void cb_emit(const LProgram *p, const char *dir);
/* Compiles dir/SRC (t.c when NULL) with `cc FLAGS` into dir/NAME.o and
 * links it with driver.c and LDFLAGS: dir/NAME. */
void cb_build(const char *dir, const char *cc, const char *flags, const char *src,
              const char *ldflags, const char *name);
/* Runs dir/NAME (through runner when not "") on a driver script; the
 * driver's output, which must end with "done". */
char *cb_run(const char *dir, const char *runner, const char *name, const char *script);
/* The values of the driver's line "NAME v v v" (get NAME), exactly: as
 * integers or as floats (NaN as printed). Returns how many. */
int cb_ints(const char *out, const char *name, int64_t *v, int max);
int cb_floats(const char *out, const char *name, float *v, int max);

#endif
