/* Bare-metal images: the board table, the two generated files, and the
 * compile and link steps with the board's cross gcc and picolibc. */
#include "baremetal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "arena.h"
#include "c_backend.h"
#include "cleanup.h"
#include "emit.h"
#include "files.h"
#include "rt.h"
#include "toolchain.h"

#define DEFAULT_DATA_DIR "/usr/share/datasets/fashion-mnist"
enum { DEFAULT_SAMPLES = 256 };

static const Board boards[] = {
    {"cortex-m4", "mps2-an386", "arm-none-eabi-gcc",
     {"-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard", NULL},
     "mps2-an386.ld", "board_mps2.c", 4 << 20, 4 << 20, 64 << 10,
     "qemu-system-arm -M mps2-an386 -nographic -semihosting-config enable=on,target=native "
     "-kernel IMAGE"},
    {"riscv32", "virt", "riscv64-unknown-elf-gcc",
     {"-march=rv32imac", "-mabi=ilp32", "-mcmodel=medany", NULL, NULL},
     "virt-rv32.ld", "board_virt_rv32.c", 4 << 20, 12 << 20, 64 << 10,
     "qemu-system-riscv32 -M virt -bios none -m 16M -nographic "
     "-semihosting-config enable=on,target=native -kernel IMAGE"},
};

const Board *board_for(const Target *t) {
  for (size_t i = 0; i < sizeof boards / sizeof boards[0]; i++)
    if (strcmp(boards[i].target, t->name) == 0) return &boards[i];
  return NULL;
}

bool baremetal_check_options(const Options *o, const Target *t) {
  if (!o->data_dir && !o->samples) return true;
  if (board_for(t) && o->emit_main && (o->emit == EMIT_EXE || o->emit == EMIT_C)) return true;
  fprintf(stderr, "octoc: error: --data and --samples choose the samples of a bare-metal "
                  "trainer (-target cortex-m4 or riscv32, --main)\n");
  return false;
}

static bool exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

/* The runtime's no-OS sources and the boards' linker scripts: the source
 * tree when octoc runs from its build tree, else the installed copies;
 * $OCTO_BAREMETAL_DIR (a folder holding both) overrides. */
static bool baremetal_dirs(const char **rtdir, const char **boarddir) {
  const char *dir = getenv("OCTO_BAREMETAL_DIR");
  if (dir && *dir) {
    *rtdir = *boarddir = dir;
  } else if (exists(OCTO_BAREMETAL_SOURCE_DIR "/baremetal_main.c")) {
    *rtdir = OCTO_BAREMETAL_SOURCE_DIR;
    *boarddir = OCTO_BOARDS_SOURCE_DIR;
  } else {
    *rtdir = *boarddir = OCTO_BAREMETAL_INSTALLED_DIR;
  }
  static char probe[4096];
  snprintf(probe, sizeof probe, "%s/baremetal_main.c", *rtdir);
  if (!exists(probe)) {
    fprintf(stderr, "octoc: error: the bare-metal runtime is missing (looked for %s); build "
                    "or install Octo, or set OCTO_BAREMETAL_DIR\n", probe);
    return false;
  }
  return true;
}

/* --samples: a positive count (default 256). */
static bool sample_count(const Options *o, size_t *count) {
  *count = DEFAULT_SAMPLES;
  if (!o->samples) return true;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(o->samples, &end, 10);
  if (!isdigit((unsigned char)o->samples[0]) || *end || errno || v == 0 || v > 1000000) {
    fprintf(stderr, "octoc: error: --samples %s: expected a count from 1 to 1000000\n",
            o->samples);
    return false;
  }
  *count = (size_t)v;
  return true;
}

/* BASE_data.c: the first --samples samples of --data's training split;
 * *bytes: their size in the image. */
static bool write_data(const Options *o, const char *path, size_t *bytes) {
  size_t count;
  if (!sample_count(o, &count)) return false;
  const char *dir = o->data_dir;
  if (!dir) dir = getenv("OCTO_DATA");
  if (!dir || !*dir) dir = DEFAULT_DATA_DIR;
  RtErr err;
  char images[4096], labels[4096];
  if (dataset_path(images, sizeof images, dir, "train-images-idx3-ubyte", &err) != 0 ||
      dataset_path(labels, sizeof labels, dir, "train-labels-idx1-ubyte", &err) != 0) {
    fprintf(stderr, "octoc: error: %s (Debian: apt install dataset-fashion-mnist)\n", err.msg);
    return false;
  }
  Output out;
  if (!output_open(&out, path)) return false;
  if (subset_write_c(out.f, images, labels, count, bytes, &err) != 0) {
    output_abort(&out);
    fprintf(stderr, "octoc: error: %s\n", err.msg);
    return false;
  }
  return output_commit(&out);
}

/* BASE_board.c: the blocks as static arrays of the header's sizes. */
static bool write_board(const Module *m, const char *base, const char *path) {
  const char *prefix = c_prefix(m->loops);
  char P[256];
  size_t n = strlen(prefix) < sizeof P - 1 ? strlen(prefix) : sizeof P - 1;
  for (size_t i = 0; i < n; i++) P[i] = (char)toupper((unsigned char)prefix[i]);
  P[n] = 0;
  const char *slash = strrchr(base, '/');
  Output out;
  if (!output_open(&out, path)) return false;
  fprintf(out.f,
          "/* The state block and work arena of a bare-metal image of model %s, written\n"
          " * by octoc: static arrays, so that ld places them in the board's RAM and a\n"
          " * model too big for it fails to link. */\n"
          "#include <stdint.h>\n\n#include \"octo_baremetal.h\"\n#include \"%s.h\"\n\n",
          prefix, slash ? slash + 1 : base);
  fprintf(out.f,
          "static uint8_t state[%s_STATE_BYTES > 0 ? %s_STATE_BYTES : 1]\n"
          "    __attribute__((aligned(%s_STATE_ALIGN)));\n"
          "static uint8_t work[%s_WORK_BYTES > 0 ? %s_WORK_BYTES : 1]\n"
          "    __attribute__((aligned(%s_STATE_ALIGN)));\n\n"
          "const OctoBlocks octo_blocks = {state, work, %s_STATE_BYTES, %s_WORK_BYTES};\n",
          P, P, P, P, P, P, P, P);
  if (fflush(out.f) != 0 || ferror(out.f)) {
    output_abort(&out);
    fprintf(stderr, "octoc: error: cannot write %s: %s\n", path, strerror(errno));
    return false;
  }
  return output_commit(&out);
}

void baremetal_remove_sources(const char *base) {
  char *board = xconcat(base, "_board.c"), *data = xconcat(base, "_data.c");
  remove(board);
  remove(data);
  free(board);
  free(data);
}

/* Writes both files; *data_bytes: the samples' size in the image. */
static bool write_sources(const Options *o, const Module *m, const char *base,
                          size_t *data_bytes) {
  char *board = xconcat(base, "_board.c"), *data = xconcat(base, "_data.c");
  bool ok = write_data(o, data, data_bytes);
  if (ok && !write_board(m, base, board)) {
    remove(data);
    ok = false;
  }
  free(board);
  free(data);
  return ok;
}

bool baremetal_write_sources(const Options *o, const Module *m, const char *base) {
  size_t data_bytes;
  return write_sources(o, m, base, &data_bytes);
}

/* The samples and the code (at most CODE_RESERVE: lenet5's image has 250
 * KiB of code and library) must fit the board's flash: said here rather
 * than by ld's region overflow after a long compile. */
enum { CODE_RESERVE = 512 << 10 };
static bool check_flash(const Board *b, size_t data_bytes) {
  if ((long long)data_bytes + CODE_RESERVE <= b->flash_bytes) return true;
  fprintf(stderr, "octoc: error: the samples (%zu bytes) and the code (up to %d bytes) do not "
                  "fit the %s board's %lld bytes of flash; lower --samples\n", data_bytes,
          CODE_RESERVE, b->machine, b->flash_bytes);
  return false;
}

/* The state block, the work arena and the stack must fit the board's RAM;
 * said here in the model's terms rather than by ld's region overflow. */
static bool check_ram(const Module *m, const Board *b) {
  long long need = (long long)m->loops->state_bytes + (long long)m->loops->work_bytes;
  if (need + b->stack_bytes <= b->ram_bytes) return true;
  fprintf(stderr, "octoc: error: model %s does not fit the %s board: its state block (%lld "
                  "bytes) and work arena (%lld bytes) need %lld bytes of RAM, the board has "
                  "%lld beside its %lld-byte stack; a smaller --batch shrinks the arena\n",
          c_prefix(m->loops), b->machine, (long long)m->loops->state_bytes,
          (long long)m->loops->work_bytes, need, b->ram_bytes - b->stack_bytes, b->stack_bytes);
  return false;
}

/* The board's cross gcc with the target's ABI flags, picolibc's specs. */
static bool board_command(Command *cmd, const Options *o, const Module *m, const Board *b) {
  static const char *const levels[] = {"-O0", "-O1", "-O2", "-O3"};
  cmd_add(cmd, b->cc);
  for (int i = 0; b->cflags[i]; i++) cmd_add(cmd, b->cflags[i]);
  if (!target_cc_flags(m->target, cmd)) return false;
  cmd_add(cmd, levels[o->opt_level]);
  cmd_add(cmd, "--specs=picolibc.specs");
  return true;
}

/* The image's C files: the trainer's code first (what a backend that
 * writes objects itself would replace), then NAME_main.c, NAME_board.c,
 * NAME_data.c, the no-OS runtime and the board's counter. */
enum { NSOURCES = 6 };

/* Compile step: each C file to its object with the board's cross gcc. */
static bool compile_objects(const Options *o, const Module *m, const Board *b,
                            char *const *src, char *const *obj, const char *const incs[3]) {
  for (int i = 0; i < NSOURCES; i++) {
    Command cmd = {0};
    if (!board_command(&cmd, o, m, b)) return false;
    cmd_add(&cmd, "-std=c99");
    for (int k = 0; k < 3; k++) {
      cmd_add(&cmd, "-I");
      cmd_add(&cmd, incs[k]);
    }
    cmd_add(&cmd, "-c");
    cmd_add(&cmd, "-o");
    cmd_add(&cmd, obj[i]);
    cmd_add(&cmd, src[i]);
    if (!cmd_run(&cmd, o->verbose)) return false;
  }
  return true;
}

/* Link step: the objects, picolibc with semihosting (its crt0 gives main
 * the command line, its exit ends QEMU with the status), the board's map. */
static bool link_image(const Options *o, const Module *m, const Board *b, char *const *obj,
                       const char *lds, const char *image) {
  Command cmd = {0};
  if (!board_command(&cmd, o, m, b)) return false;
  cmd_add(&cmd, "--oslib=semihost");
  cmd_add(&cmd, "--crt0=semihost");
  cmd_add(&cmd, "-T");
  cmd_add(&cmd, lds);
  cmd_add(&cmd, "-o");
  cmd_add(&cmd, image);
  for (int i = 0; i < NSOURCES; i++) cmd_add(&cmd, obj[i]);
  cmd_add(&cmd, "-lm");
  if (cmd_run(&cmd, o->verbose)) return true;
  fprintf(stderr, "octoc: note: if ld says \"region `ram' overflowed\", the model's blocks do "
                  "not fit the board's RAM (%s): lower --batch; `flash': the samples and code "
                  "do not fit: lower --samples\n", b->ldscript);
  return false;
}

bool baremetal_build(const Options *o, const Module *m, const char *out) {
  const Board *b = board_for(m->target->target);
  const char *rtdir, *boarddir, *lib, *inc;
  if (!b || !check_ram(m, b) || !baremetal_dirs(&rtdir, &boarddir) || !runtime_paths(&lib, &inc))
    return false;
  char *dir = tmpdir_create();
  if (!dir) return false;
  const char *prefix = c_prefix(m->loops);
  char *base = xmalloc(strlen(dir) + strlen(prefix) + 2);
  sprintf(base, "%s/%s", dir, prefix);
  char *rt_slash = xconcat(rtdir, "/"), *boards_slash = xconcat(boarddir, "/");
  char *src[NSOURCES] = {xconcat(base, ".c"),         xconcat(base, "_main.c"),
                         xconcat(base, "_board.c"),   xconcat(base, "_data.c"),
                         xconcat(rt_slash, "baremetal_main.c"), xconcat(rt_slash, b->board_c)};
  char *obj[NSOURCES], *h = xconcat(base, ".h");
  char *image = xconcat(base, ".elf"), *lds = xconcat(boards_slash, b->ldscript);
  /* What the folder will hold, removed if octoc is stopped. */
  for (int i = 0; i < NSOURCES; i++) {
    char name[32];
    snprintf(name, sizeof name, "/obj%d.o", i);
    obj[i] = xconcat(dir, name);
    cleanup_add_file(obj[i]);
    if (i < 4) cleanup_add_file(src[i]);
  }
  cleanup_add_file(h);
  cleanup_add_file(image);
  Options copy = *o;
  copy.emit_main = true;
  size_t data_bytes = 0;
  const char *incs[3] = {dir, rtdir, inc};
  bool ok = emit_write_c_files(&copy, m, base) && write_sources(o, m, base, &data_bytes) &&
            check_flash(b, data_bytes) && compile_objects(o, m, b, src, obj, incs) &&
            link_image(o, m, b, obj, lds, image) && emit_place_built(image, out, true);
  tmpdir_remove(dir);
  for (int i = 0; i < NSOURCES; i++) {
    cleanup_drop_file(obj[i]);
    if (i < 4) cleanup_drop_file(src[i]);
    free(obj[i]);
    free(src[i]);
  }
  cleanup_drop_file(h);
  cleanup_drop_file(image);
  free(h);
  free(image);
  free(rt_slash);
  free(boards_slash);
  free(lds);
  free(base);
  return ok;
}
