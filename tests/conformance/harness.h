/* What the conformance suite and the C backend tests share for building and
 * running programs from a Check test: formatted strings, shell commands,
 * whole-file reads and writes, scratch folders, parsing the driver's output,
 * and the reference of the hash_uniform intrinsic. Every helper fails the
 * current Check test (ck_assert) on an I/O error instead of returning one. */
#ifndef OCTO_TESTS_CONFORMANCE_HARNESS_H
#define OCTO_TESTS_CONFORMANCE_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"

/* printf into a malloc'd string. */
char *fmt(const char *f, ...);
/* s (malloc'd or NULL) followed by the formatted text; frees s. */
char *append(char *s, const char *f, ...);
/* Runs cmd with /bin/sh; its exit status, or -1 when it did not exit. */
int sh(const char *cmd);
/* True when `tool` is found on PATH (callable outside a Check test). */
bool have(const char *tool);
/* The whole file as a malloc'd string. */
char *read_text(const char *path);
void write_text(const char *path, const char *text);
/* An empty folder root/name (removed first if it exists), in the arena. */
const char *fresh_dir(Arena *a, const char *root, const char *name);
/* The numbers after "KEY " on the first line of out that starts with it. */
int numbers(const char *out, const char *key, double *v, int max);
/* The C backend's hash_uniform(key, index): SplitMix64, 24 bits in [0, 1). */
float ref_hash_uniform(int64_t key, int64_t index);

#endif
