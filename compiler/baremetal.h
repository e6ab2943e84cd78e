/* Bare-metal images (docs/baremetal.md): for a target without an operating
 * system (cortex-m4, riscv32), `--main` builds an ELF image that QEMU's
 * board runs: the trainer's C and NAME_main.c as for every target, plus
 * NAME_board.c (static state block and work arena), NAME_data.c (the
 * training samples), the runtime's no-OS part (runtime/baremetal/), picolibc
 * with semihosting, and the board's linker script (targets/boards/). The
 * compile step (each C file to an object with the board's cross gcc) and
 * the link step are separate, so that objects from another code generator
 * can replace the compiled C. */
#ifndef OCTO_COMPILER_BAREMETAL_H
#define OCTO_COMPILER_BAREMETAL_H

#include <stdbool.h>

#include "options.h"
#include "pass.h"
#include "target.h"

/* One board per bare-metal target: the QEMU machine the image is for. */
typedef struct Board {
  const char *target;      /* the target table's name */
  const char *machine;     /* QEMU's -M */
  const char *cc;          /* Debian's cross gcc */
  const char *cflags[5];   /* the target's ABI, NULL-terminated */
  const char *ldscript;    /* in targets/boards/ */
  const char *board_c;     /* the board's counter, in runtime/baremetal/ */
  long long flash_bytes;   /* the linker script's flash region */
  long long ram_bytes;     /* the linker script's RAM region */
  long long stack_bytes;   /* of which the stack */
  const char *run;         /* the QEMU command line, IMAGE for the image */
} Board;

/* The board of a bare-metal target; NULL for a hosted one. */
const Board *board_for(const Target *t);

/* --data and --samples are for bare-metal trainers only: false, with a
 * usage message, when they are given for anything else. */
bool baremetal_check_options(const Options *o, const Target *t);

/* Writes BASE_board.c and BASE_data.c (the samples, read from --data's IDX
 * files) beside the trainer's C. False after a message; nothing is left
 * behind. */
bool baremetal_write_sources(const Options *o, const Module *m, const char *base);

/* Removes what baremetal_write_sources wrote (after a later failure). */
void baremetal_remove_sources(const char *base);

/* Builds the image into out. False after a message. */
bool baremetal_build(const Options *o, const Module *m, const char *out);

#endif
