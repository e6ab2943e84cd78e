/* fixtures.h: helpers shared by the runtime tests: temporary folders, IDX
 * files written byte by byte (plain or gzip), a generated toy dataset, and
 * running the toy trainer as a separate process to see its exit status. */
#ifndef OCTO_TESTS_RUNTIME_FIXTURES_H
#define OCTO_TESTS_RUNTIME_FIXTURES_H

#include <stddef.h>
#include <stdint.h>

char *fx_tempdir(void);
void fx_rmtree(const char *path);
/* dir/name, malloc'd. */
char *fx_path(const char *dir, const char *name);
void fx_write_raw(const char *path, int gz, const void *data, size_t n);
/* An IDX u8 file with the given dims, followed by n bytes of data. */
void fx_write_idx(const char *path, int gz, int ndims, const uint32_t *dims,
                  const uint8_t *data, size_t n);
/* Separable images: class c lights rows 2c+4 and 2c+5 over background noise. */
void fx_toy_images(uint8_t *pixels, uint8_t *labels, size_t n, uint64_t seed);
/* The four Fashion-MNIST-named files in dir. */
void fx_write_toy_dataset(const char *dir, size_t ntrain, size_t ntest, int gz);
char *fx_slurp(const char *path, size_t *len);
int fx_exists(const char *path);
/* Runs $TOY_TRAINER with args (NULL-terminated), stdout/stderr into files in
 * dir ("out.txt", "err.txt"); returns the exit status. */
int fx_run(const char *dir, const char *const *args);
/* Contents of dir/out.txt or dir/err.txt from the last fx_run (malloc'd). */
char *fx_out(const char *dir);
char *fx_err(const char *dir);

#endif
