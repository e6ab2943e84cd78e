/* Running the system C compiler for the driver: octoc writes C, then (for an
 * object or a ready-to-run trainer) compiles and links it the way a compiler
 * driver such as clang does, showing the commands with -v. */
#ifndef OCTO_COMPILER_TOOLCHAIN_H
#define OCTO_COMPILER_TOOLCHAIN_H

#include <stdbool.h>

#include "target.h"

enum { TOOL_MAX_ARGS = 64 };

typedef struct Command {
  const char *argv[TOOL_MAX_ARGS + 1];
  int argc;
} Command;

void cmd_add(Command *c, const char *arg);
/* Runs the command, waits; prints it first when verbose. False (with a
 * message) when it cannot start or exits non-zero. */
bool cmd_run(const Command *c, bool verbose);

/* The C compiler for a target: $CC for the host, the Debian cross compiler
 * for hosted targets (arm-linux-gnueabihf-gcc, ...), NULL when none fits. */
const char *target_cc(const Target *t);

/* The C compiler's flags for the target's -mcpu and -mattr (nothing when
 * neither was given: the compiler's defaults for the target): x86-64
 * -march=CPU and -mFEATURE / -mno-FEATURE, AArch64 -mcpu=CPU+feat+nofeat,
 * 32-bit ARM and RISC-V -mcpu=CPU. False, with a message, for what the C
 * compiler cannot express (-mattr on 32-bit ARM or RISC-V). */
bool target_cc_flags(const TargetConfig *tc, Command *cmd);

/* Where the runtime library and its header are: the build tree when octoc
 * runs from it, else the installed copies; $OCTO_RUNTIME_DIR (a folder with
 * libocto-runtime.a and octo_runtime.h) overrides both. Returns false with a
 * message when neither exists. */
bool runtime_paths(const char **libfile, const char **incdir);
/* Where the runtime's sources are, for a trainer built for another
 * architecture (the library is this host's): the source tree when octoc
 * runs from its build tree, else the installed copies;
 * $OCTO_RUNTIME_SRC_DIR overrides. False, with a message, when missing. */
bool runtime_source_dir(const char **dir);
/* The runtime's source files (runtime/meson.build's list), NULL-terminated. */
const char *const *runtime_source_files(void);
/* The -fsanitize=... flag the runtime library needs at link time (the build
 * tree of a -Db_sanitize build), or NULL. Call after runtime_paths. */
const char *runtime_link_flag(void);

/* A fresh private directory under $TMPDIR (or /tmp); remove it with
 * tmpdir_remove, which deletes the files octoc put there. */
char *tmpdir_create(void);
void tmpdir_remove(char *dir);

#endif
