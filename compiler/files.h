/* File I/O for the driver: whole-file reads and outputs that appear only when
 * complete (written to a temporary file, renamed on success), so a failed
 * compilation never leaves a partial output behind. */
#ifndef OCTO_COMPILER_FILES_H
#define OCTO_COMPILER_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Reads all of path ("-" = standard input). Returns a malloc'd buffer with a
 * NUL after len bytes, or NULL with errno set. */
char *read_file(const char *path, size_t *len);

typedef struct Output {
  const char *path; /* final name; NULL = standard output */
  char *tmp;        /* temporary name while writing */
  FILE *f;
} Output;

/* Opens path for writing through a temporary file (NULL or "-": stdout). */
bool output_open(Output *o, const char *path);
/* Flushes, checks for write errors, renames into place. Reports errors on
 * stderr and removes the temporary file. */
bool output_commit(Output *o);
/* Drops the output: removes the temporary file. */
void output_abort(Output *o);

#endif
