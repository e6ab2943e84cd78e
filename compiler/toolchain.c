/* External tools: the C compiler and the runtime's location. */
#include "toolchain.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arena.h"
#include "cleanup.h"

void cmd_add(Command *c, const char *arg) {
  if (c->argc < TOOL_MAX_ARGS) c->argv[c->argc++] = arg;
  c->argv[c->argc] = NULL;
}

static void print_command(const Command *c) {
  for (int i = 0; i < c->argc; i++) fprintf(stderr, "%s%s", i ? " " : "", c->argv[i]);
  fputc('\n', stderr);
}

/* The Debian packages that give each C compiler octoc runs, and its C
 * library's headers, beside the target table (targets/target.c names the
 * cross compilers). setup.sh installs all of them; tests/setup checks that. */
static const struct {
  const char *tool, *package, *libc;
} tool_packages[] = {
    {"cc", "gcc", "libc6-dev"},
    {"gcc", "gcc", "libc6-dev"},
    {"clang-19", "clang-19", "libc6-dev"},
    {"arm-linux-gnueabihf-gcc", "gcc-arm-linux-gnueabihf", "libc6-dev-armhf-cross"},
    {"aarch64-linux-gnu-gcc", "gcc-aarch64-linux-gnu", "libc6-dev-arm64-cross"},
    {"riscv64-linux-gnu-gcc", "gcc-riscv64-linux-gnu", "libc6-dev-riscv64-cross"},
    /* bare-metal boards (compiler/baremetal.c): picolibc is their C library */
    {"arm-none-eabi-gcc", "gcc-arm-none-eabi", "picolibc-arm-none-eabi"},
    {"riscv64-unknown-elf-gcc", "gcc-riscv64-unknown-elf", "picolibc-riscv64-unknown-elf"},
};

/* The row of a command's program (by its last path component), or -1. */
static int tool_row(const char *program) {
  const char *slash = strrchr(program, '/');
  const char *name = slash ? slash + 1 : program;
  for (size_t i = 0; i < sizeof tool_packages / sizeof tool_packages[0]; i++)
    if (strcmp(tool_packages[i].tool, name) == 0) return (int)i;
  return -1;
}

/* The compiler's error output, kept to find a missing header in it. Its
 * first part is enough: the compiler stops at the first missing header. */
enum { KEPT_OUTPUT = 1 << 16 };

/* Copies the child's stderr (the pipe fd) through to ours, keeping the
 * first KEPT_OUTPUT bytes in kept (NUL-terminated). */
static void pass_through(int fd, char *kept) {
  size_t n = 0;
  char buf[4096];
  for (;;) {
    ssize_t k = read(fd, buf, sizeof buf);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) break;
    fwrite(buf, 1, (size_t)k, stderr);
    size_t room = KEPT_OUTPUT - 1 - n;
    size_t take = (size_t)k < room ? (size_t)k : room;
    memcpy(kept + n, buf, take);
    n += take;
  }
  kept[n] = 0;
}

/* The header a compiler said it could not find: gcc's "fatal error:
 * NAME.h: No such file or directory" or clang's "fatal error: 'NAME.h'
 * file not found". Copies NAME.h into name; false when there is none. */
static bool missing_header(const char *text, char *name, size_t size) {
  static const char *const fatal = "fatal error: ";
  for (const char *p = strstr(text, fatal); p; p = strstr(p + 1, fatal)) {
    const char *start = p + strlen(fatal);
    bool quoted = *start == '\'';
    if (quoted) start++;
    const char *end = start + strcspn(start, quoted ? "'\n" : ":\n");
    const char *rest = quoted ? "' file not found" : ": No such file or directory";
    if (end - start < 3 || strncmp(end - 2, ".h", 2) != 0 || strncmp(end, rest, strlen(rest)) != 0)
      continue;
    snprintf(name, size, "%.*s", (int)(end - start), start);
    return true;
  }
  return false;
}

/* gcc's "cannot read spec file 'NAME'": a C library that comes as a specs
 * file (picolibc.specs) is not installed. */
static bool missing_specs(const char *text, char *name, size_t size) {
  static const char *const what = "cannot read spec file '";
  const char *p = strstr(text, what);
  if (!p) return false;
  p += strlen(what);
  snprintf(name, size, "%.*s", (int)strcspn(p, "'\n"), p);
  return true;
}

bool cmd_run(const Command *c, bool verbose) {
  if (c->argc == 0 || c->argc >= TOOL_MAX_ARGS) {
    fputs("octoc: internal error: bad command line\n", stderr);
    return false;
  }
  if (verbose) print_command(c);
  fflush(stdout);
  fflush(stderr);
  int row = tool_row(c->argv[0]);
  int err_pipe[2];
  if (pipe(err_pipe) != 0) {
    fprintf(stderr, "octoc: error: cannot run %s: %s\n", c->argv[0], strerror(errno));
    return false;
  }
  /* The compiler leads its own process group, so that stopping octoc
   * stops the processes the compiler's driver started too (gcc's driver
   * stopped alone leaves cc1 running). Its diagnostics go to the pipe, so
   * a terminal's `stty tostop` cannot stop it for writing to the terminal. */
  sigset_t old;
  cleanup_hold(&old);
  pid_t pid = fork();
  if (pid < 0) {
    cleanup_release(&old);
    fprintf(stderr, "octoc: error: cannot run %s: %s\n", c->argv[0], strerror(errno));
    close(err_pipe[0]);
    close(err_pipe[1]);
    return false;
  }
  if (pid == 0) {
    setpgid(0, 0);
    cleanup_release(&old);
    close(err_pipe[0]);
    if (dup2(err_pipe[1], 2) < 0) _exit(127);
    close(err_pipe[1]);
    execvp(c->argv[0], (char *const *)c->argv);
    int e = errno;
    if (e == ENOENT && row >= 0)
      fprintf(stderr, "octoc: error: cannot run %s: %s (Debian: apt install %s %s)\n",
              c->argv[0], strerror(e), tool_packages[row].package, tool_packages[row].libc);
    else
      fprintf(stderr, "octoc: error: cannot run %s: %s\n", c->argv[0], strerror(e));
    _exit(127);
  }
  setpgid(pid, pid); /* also here: whichever runs first */
  cleanup_set_child(pid, true);
  cleanup_release(&old);
  close(err_pipe[1]);
  char *kept = xmalloc(KEPT_OUTPUT);
  pass_through(err_pipe[0], kept);
  close(err_pipe[0]);
  int status;
  bool waited = true;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) {
      fprintf(stderr, "octoc: error: waiting for %s: %s\n", c->argv[0], strerror(errno));
      waited = false;
      break;
    }
  cleanup_set_child(0, false);
  char header[256];
  bool no_header = waited && row >= 0 && missing_header(kept, header, sizeof header);
  char specs[256];
  bool no_specs = waited && row >= 0 && !no_header && missing_specs(kept, specs, sizeof specs);
  free(kept);
  if (!waited) return false;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127) return false; /* reported by the child */
  if (no_header) {
    fprintf(stderr, "octoc: error: %s failed: the C library header '%s' is missing (Debian: "
                    "apt install %s)\n", c->argv[0], header, tool_packages[row].libc);
    return false;
  }
  if (no_specs) {
    fprintf(stderr, "octoc: error: %s failed: the C library's '%s' is missing (Debian: apt "
                    "install %s)\n", c->argv[0], specs, tool_packages[row].libc);
    return false;
  }
  fprintf(stderr, "octoc: error: %s failed (%s %d)\n", c->argv[0],
          WIFEXITED(status) ? "exit status" : "signal",
          WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
  return false;
}

/* The items of -mattr one at a time: sets *item and *len, false at the end. */
static bool next_feature(const char **p, const char **item, size_t *len) {
  if (!*p || !**p) return false;
  const char *end = strchr(*p, ',');
  *item = *p;
  *len = end ? (size_t)(end - *p) : strlen(*p);
  *p = end ? end + 1 : NULL;
  return true;
}

/* A flag built in static storage the command keeps pointing at: the
 * driver runs one compile per process. */
static const char *flag(const char *fmt, const char *a, size_t alen) {
  static char buf[16][256];
  static int used;
  if (used == 16) return NULL;
  snprintf(buf[used], sizeof buf[used], fmt, (int)alen, a);
  return buf[used++];
}

bool target_cc_flags(const TargetConfig *tc, Command *cmd) {
  const Target *t = tc->target;
  /* "generic": the compiler's own baseline, no CPU flag */
  bool cpu_given = tc->cpu != t->cpu && strcmp(tc->cpu, "generic") != 0;
  const char *item, *p = tc->mattr;
  size_t len;
  switch (t->arch) {
  case ARCH_X86_64:
    if (cpu_given) cmd_add(cmd, flag("-march=%.*s", tc->cpu, strlen(tc->cpu)));
    while (next_feature(&p, &item, &len))
      cmd_add(cmd, flag(item[0] == '+' ? "-m%.*s" : "-mno-%.*s", item + 1, len - 1));
    return true;
  case ARCH_AARCH64: {
    /* gcc spells features as +name / +noname after the CPU. */
    char spec[512];
    size_t k = (size_t)snprintf(spec, sizeof spec, "-mcpu=%s", tc->cpu);
    if (!cpu_given && !tc->mattr) return true;
    while (next_feature(&p, &item, &len) && k < sizeof spec)
      k += (size_t)snprintf(spec + k, sizeof spec - k, "+%s%.*s", item[0] == '+' ? "" : "no",
                            (int)len - 1, item + 1);
    cmd_add(cmd, flag("%.*s", spec, strlen(spec)));
    return true;
  }
  case ARCH_ARM:
  case ARCH_RISCV64:
  case ARCH_RISCV32:
    if (tc->mattr) {
      fprintf(stderr, "octoc: error: -mattr=%s: the C backend's compiler for %s takes the "
                      "CPU only (-mcpu=NAME); use --emit=c and your own flags\n",
              tc->mattr, t->name);
      return false;
    }
    if (cpu_given) cmd_add(cmd, flag("-mcpu=%.*s", tc->cpu, strlen(tc->cpu)));
    return true;
  }
  return true;
}

const char *target_cc(const Target *t) {
  if (t == target_default()) {
    const char *cc = getenv("CC");
    return cc && *cc ? cc : "cc";
  }
  return t->cross_cc;
}

static bool exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

static bool using_build_tree;

const char *runtime_link_flag(void) {
  static char flag[128];
  const char *san = OCTO_RUNTIME_BUILD_SANITIZE;
  if (!using_build_tree || !*san || strcmp(san, "none") == 0) return NULL;
  snprintf(flag, sizeof flag, "-fsanitize=%s", san);
  return flag;
}

bool runtime_paths(const char **libfile, const char **incdir) {
  static char lib_buf[4096], inc_buf[4096];
  using_build_tree = false;
  const char *dir = getenv("OCTO_RUNTIME_DIR");
  if (dir && *dir) {
    snprintf(lib_buf, sizeof lib_buf, "%s/libocto-runtime.a", dir);
    snprintf(inc_buf, sizeof inc_buf, "%s", dir);
  } else if (exists(OCTO_RUNTIME_BUILD_LIB)) {
    using_build_tree = true;
    snprintf(lib_buf, sizeof lib_buf, "%s", OCTO_RUNTIME_BUILD_LIB);
    snprintf(inc_buf, sizeof inc_buf, "%s", OCTO_RUNTIME_SOURCE_INC);
  } else {
    snprintf(lib_buf, sizeof lib_buf, "%s", OCTO_RUNTIME_INSTALLED_LIB);
    snprintf(inc_buf, sizeof inc_buf, "%s", OCTO_RUNTIME_INSTALLED_INC);
  }
  if (!exists(lib_buf)) {
    fprintf(stderr, "octoc: error: the trainer runtime library is missing (looked for %s); "
                    "build or install Octo, or set OCTO_RUNTIME_DIR\n", lib_buf);
    return false;
  }
  *libfile = lib_buf;
  *incdir = inc_buf;
  return true;
}

bool runtime_source_dir(const char **dir) {
  static char probe[4096];
  const char *d = getenv("OCTO_RUNTIME_SRC_DIR");
  if (!d || !*d) d = exists(OCTO_RUNTIME_SOURCE_INC "/trainer_main.c") ? OCTO_RUNTIME_SOURCE_INC
                                                                       : OCTO_RUNTIME_INSTALLED_SRC;
  snprintf(probe, sizeof probe, "%s/trainer_main.c", d);
  if (!exists(probe)) {
    fprintf(stderr, "octoc: error: the trainer runtime's sources are missing (looked for %s); "
                    "build or install Octo, or set OCTO_RUNTIME_SRC_DIR\n", probe);
    return false;
  }
  *dir = d;
  return true;
}

const char *const *runtime_source_files(void) {
  enum { MAX_SOURCES = 32 };
  static char list[] = OCTO_RUNTIME_SOURCES;
  static const char *files[MAX_SOURCES + 1];
  if (!files[0]) { /* split "a.c,b.c,..." once */
    int n = 0;
    for (char *p = list; p && *p && n < MAX_SOURCES; n++) {
      files[n] = p;
      p = strchr(p, ',');
      if (p) *p++ = '\0';
    }
    files[n] = NULL;
  }
  return files;
}

char *tmpdir_create(void) {
  const char *base = getenv("TMPDIR");
  if (!base || !*base) base = "/tmp";
  size_t n = strlen(base) + 32;
  char *dir = xmalloc(n);
  snprintf(dir, n, "%s/octoc-XXXXXX", base);
  if (!mkdtemp(dir)) {
    fprintf(stderr, "octoc: error: cannot create a temporary directory in %s: %s\n", base,
            strerror(errno));
    free(dir);
    return NULL;
  }
  cleanup_set_folder(dir);
  return dir;
}

void tmpdir_remove(char *dir) {
  if (!dir) return;
  DIR *d = opendir(dir);
  if (d) {
    struct dirent *e;
    while ((e = readdir(d))) {
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
      size_t n = strlen(dir) + strlen(e->d_name) + 2;
      char *path = xmalloc(n);
      snprintf(path, n, "%s/%s", dir, e->d_name);
      remove(path);
      free(path);
    }
    closedir(d);
  }
  rmdir(dir);
  cleanup_set_folder(NULL);
  free(dir);
}
