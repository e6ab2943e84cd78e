/* Helpers shared by the loop-IR tests: a sample program that uses every
 * construct, printing to a string, reading from a string with captured
 * diagnostics, and structural equality of two programs. */
#ifndef OCTO_TESTS_LOOPKIT_H
#define OCTO_TESTS_LOOPKIT_H

#include <stdbool.h>
#include <stddef.h>

#include "loop.h"

/* Every expression and statement kind, dtype, intrinsic, home, role, hint. */
LProgram *kit_sample_program(Arena *a);
/* A small valid program: %x f32[4,8] arg readonly, %y f32[4,8] work @0,
 * kernel k: for %i in 0 .. 4 { for %j in 0 .. 8 { store %y[%i*8+%j] =
 * load %x[%i*8+%j] } }, called from train_step. */
LProgram *kit_small_program(Arena *a);

/* lprog_print into a malloc'd string. */
char *kit_print(const LProgram *p);
/* lprog_read of text; *diag (malloc'd, may be empty) holds the messages. */
LProgram *kit_read(Arena *a, const char *file, const char *text, char **diag);
/* lprog_verify; *diag holds the messages. */
bool kit_verify(const LProgram *p, char **diag);

/* Same structure, names and values (floats bit-exact, NaNs by sign). On a
 * difference returns false and says where in why. */
bool kit_equal(const LProgram *a, const LProgram *b, char *why, size_t size);

#endif
