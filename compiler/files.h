/* File I/O for the driver: whole-file reads with a size limit, and outputs
 * that appear only when complete (written to a temporary file, renamed on
 * success), so a failed or interrupted compilation never leaves a partial
 * output behind. Devices and FIFOs are written directly, never replaced. */
#ifndef OCTO_COMPILER_FILES_H
#define OCTO_COMPILER_FILES_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* The largest input read (1 GiB, the front end's limit): anything longer,
 * /dev/zero included, is refused after reading at most one byte more. */
enum { READ_FILE_MAX = INT_MAX / 2 };

/* Reads all of path ("-" = standard input). Returns a malloc'd buffer with a
 * NUL after len bytes, or NULL with errno set (EISDIR for a folder, EFBIG
 * past READ_FILE_MAX). */
char *read_file(const char *path, size_t *len);

typedef struct Output {
  const char *path; /* the name given, for messages; NULL = standard output */
  char *target;     /* path with its symlinks followed: the file replaced */
  char *tmp;        /* temporary name beside target while writing; NULL when
                       a device or FIFO is written directly */
  FILE *f;
} Output;

/* Opens path for writing (NULL or "-": stdout): a regular file or a new
 * name through a temporary file beside it (beside a symlink's target for a
 * symlink), a character device or FIFO directly. A folder or any other
 * kind of file is an error naming path. */
bool output_open(Output *o, const char *path);
/* Before any work: true when path (NULL or "-": stdout) names something
 * that exists or a new name in an existing folder. Otherwise reports
 * "cannot write 'path': ..." on stderr and returns false, so a compilation
 * whose output has nowhere to go stops before the C compiler runs. */
bool output_folder_exists(const char *path);
/* Flushes, checks for write errors, renames into place. Reports errors on
 * stderr and removes the temporary file. */
bool output_commit(Output *o);
/* Drops the output: removes the temporary file. */
void output_abort(Output *o);

#endif
