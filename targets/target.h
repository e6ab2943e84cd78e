/* The target table (DESIGN.md §8): every target octoc knows, by short name
 * or triple. Nothing outside targets/ knows a target's details. */
#ifndef OCTO_TARGETS_TARGET_H
#define OCTO_TARGETS_TARGET_H

#include <stdbool.h>
#include <stdio.h>

typedef struct Target {
  const char *name;     /* -target name */
  const char *triple;   /* LLVM triple */
  const char *cpu;      /* default -mcpu */
  const char *features; /* default -mattr */
  bool has_fpu;         /* false: integer-only trainers */
  bool hosted;          /* Linux userland: can link and run under qemu-user */
  const char *cross_cc; /* Debian cross compiler for hosted targets, or NULL */
  const char *qemu;     /* qemu-user binary, or NULL when native/bare metal */
  const char *notes;
} Target;

const Target *target_default(void);
/* By short name ("armv7") or by triple ("armv7-linux-gnueabihf"); NULL if unknown. */
const Target *target_lookup(const char *name);
void target_list(FILE *out);

#endif
