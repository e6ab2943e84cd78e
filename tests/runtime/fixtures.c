/* fixtures.c: see fixtures.h. Failures here fail the calling test. */
#include "fixtures.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

char *fx_tempdir(void) {
  const char *base = getenv("TMPDIR");
  char *t = fx_path(base && *base ? base : "/tmp", "octo-rt-XXXXXX");
  ck_assert_msg(mkdtemp(t) != NULL, "mkdtemp failed");
  return t;
}

void fx_rmtree(const char *path) {
  struct stat st;
  if (lstat(path, &st) != 0)
    return;
  if (S_ISDIR(st.st_mode)) {
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
        continue;
      char *sub = fx_path(path, e->d_name);
      fx_rmtree(sub);
      free(sub);
    }
    if (d)
      closedir(d);
    rmdir(path);
  } else {
    unlink(path);
  }
}

char *fx_path(const char *dir, const char *name) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = malloc(n);
  ck_assert_ptr_nonnull(p);
  snprintf(p, n, "%s/%s", dir, name);
  return p;
}

void fx_write_raw(const char *path, int gz, const void *data, size_t n) {
  if (gz) {
    gzFile f = gzopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(n == 0 || gzwrite(f, data, (unsigned)n) == (int)n, 1);
    ck_assert_int_eq(gzclose(f), Z_OK);
    return;
  }
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(data, 1, n, f), n);
  ck_assert_int_eq(fclose(f), 0);
}

void fx_write_idx(const char *path, int gz, int ndims, const uint32_t *dims,
                  const uint8_t *data, size_t n) {
  size_t hdr = 4 + 4 * (size_t)ndims;
  uint8_t *buf = malloc(hdr + n + 1);
  ck_assert_ptr_nonnull(buf);
  buf[0] = 0, buf[1] = 0, buf[2] = 0x08, buf[3] = (uint8_t)ndims;
  for (int i = 0; i < ndims; i++)
    for (int k = 0; k < 4; k++)
      buf[4 + 4 * i + k] = (uint8_t)(dims[i] >> (24 - 8 * k));
  if (n)
    memcpy(buf + hdr, data, n);
  fx_write_raw(path, gz, buf, hdr + n);
  free(buf);
}

static uint64_t next(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void fx_toy_images(uint8_t *pixels, uint8_t *labels, size_t n, uint64_t seed) {
  for (size_t i = 0; i < n; i++) {
    int c = (int)(next(&seed) % 10);
    labels[i] = (uint8_t)c;
    uint8_t *img = pixels + i * 784;
    for (int p = 0; p < 784; p++) {
      int row = p / 28;
      int lit = row == 2 * c + 4 || row == 2 * c + 5;
      img[p] = (uint8_t)(lit ? 150 + next(&seed) % 106 : next(&seed) % 90);
    }
  }
}

static void write_split(const char *dir, const char *images, const char *labels, size_t n,
                        int gz, uint64_t seed) {
  uint8_t *px = malloc(n * 784), *lb = malloc(n);
  ck_assert(px && lb);
  fx_toy_images(px, lb, n, seed);
  char name[128];
  uint32_t idims[3] = {(uint32_t)n, 28, 28}, ldims[1] = {(uint32_t)n};
  snprintf(name, sizeof name, "%s%s", images, gz ? ".gz" : "");
  char *p = fx_path(dir, name);
  fx_write_idx(p, gz, 3, idims, px, n * 784);
  free(p);
  snprintf(name, sizeof name, "%s%s", labels, gz ? ".gz" : "");
  p = fx_path(dir, name);
  fx_write_idx(p, gz, 1, ldims, lb, n);
  free(p);
  free(px);
  free(lb);
}

void fx_write_toy_dataset(const char *dir, size_t ntrain, size_t ntest, int gz) {
  write_split(dir, "train-images-idx3-ubyte", "train-labels-idx1-ubyte", ntrain, gz, 11);
  write_split(dir, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", ntest, gz, 22);
}

char *fx_slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  size_t cap = 4096, n = 0;
  char *p = malloc(cap);
  ck_assert_ptr_nonnull(p);
  size_t k;
  while ((k = fread(p + n, 1, cap - n - 1, f)) > 0) {
    n += k;
    if (cap - n - 1 == 0) {
      p = realloc(p, cap *= 2);
      ck_assert_ptr_nonnull(p);
    }
  }
  ck_assert_int_eq(ferror(f), 0);
  fclose(f);
  p[n] = '\0';
  if (len)
    *len = n;
  return p;
}

int fx_exists(const char *path) {
  struct stat st;
  return lstat(path, &st) == 0;
}

int fx_run(const char *dir, const char *const *args) {
  const char *exe = getenv("TOY_TRAINER");
  ck_assert_msg(exe != NULL, "TOY_TRAINER is not set");
  char *out = fx_path(dir, "out.txt"), *err = fx_path(dir, "err.txt");
  fflush(NULL);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    if (!freopen(out, "w", stdout) || !freopen(err, "w", stderr))
      _exit(99);
    const char *argv[64] = {"toy_trainer"};
    int n = 1;
    for (; args[n - 1] && n < 63; n++)
      argv[n] = args[n - 1];
    argv[n] = NULL;
    execv(exe, (char *const *)argv);
    _exit(98);
  }
  int status;
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  free(out);
  free(err);
  ck_assert_msg(WIFEXITED(status), "trainer crashed (signal %d)",
                WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  return WEXITSTATUS(status);
}

static char *slurp_in(const char *dir, const char *name) {
  char *p = fx_path(dir, name);
  char *s = fx_slurp(p, NULL);
  free(p);
  return s;
}

char *fx_out(const char *dir) {
  return slurp_in(dir, "out.txt");
}

char *fx_err(const char *dir) {
  return slurp_in(dir, "err.txt");
}
