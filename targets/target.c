/* The target table. Adding a target is adding a row. */
#include "target.h"

#include <string.h>

static const Target targets[] = {
    {"x86_64", "x86_64-linux-gnu", "x86-64-v2", "", true, true, NULL, NULL,
     "host default; AVX2 / AVX-512 VNNI with -mcpu=native"},
    {"armv7", "armv7-linux-gnueabihf", "cortex-a7", "+neon,+vfp4", true, true,
     "arm-linux-gnueabihf-gcc", "qemu-arm", "cortex-a7, NEON, hard float"},
    {"cortex-m4", "thumbv7em-none-eabihf", "cortex-m4", "+vfp4d16sp", true, false, NULL, NULL,
     "bare metal, single-precision FPU"},
    {"aarch64", "aarch64-linux-gnu", "cortex-a53", "+neon", true, true, "aarch64-linux-gnu-gcc",
     "qemu-aarch64", "64-bit ARM Linux"},
    {"riscv64", "riscv64-linux-gnu", "generic-rv64", "+m,+a,+f,+d,+c", true, true,
     "riscv64-linux-gnu-gcc", "qemu-riscv64", "rv64gc, lp64d"},
    {"riscv32", "riscv32-unknown-elf", "generic-rv32", "+m,+a,+c", false, false, NULL, NULL,
     "rv32imac, ilp32, no FPU: integer-only trainers"},
};

enum { NTARGETS = sizeof targets / sizeof targets[0] };

const Target *target_default(void) { return &targets[0]; }

const Target *target_lookup(const char *name) {
  for (int i = 0; i < NTARGETS; i++)
    if (strcmp(targets[i].name, name) == 0 || strcmp(targets[i].triple, name) == 0)
      return &targets[i];
  /* Common spellings of the same triples. */
  if (strcmp(name, "x86_64-pc-linux-gnu") == 0 || strcmp(name, "x86_64-unknown-linux-gnu") == 0 ||
      strcmp(name, "x86-64") == 0)
    return &targets[0];
  if (strcmp(name, "arm") == 0 || strcmp(name, "arm-linux-gnueabihf") == 0) return &targets[1];
  if (strcmp(name, "arm64") == 0 || strcmp(name, "aarch64-unknown-linux-gnu") == 0)
    return &targets[3];
  return NULL;
}

void target_list(FILE *out) {
  fprintf(out, "%-10s %-24s %-13s %s\n", "target", "triple", "cpu", "notes");
  for (int i = 0; i < NTARGETS; i++)
    fprintf(out, "%-10s %-24s %-13s %s\n", targets[i].name, targets[i].triple, targets[i].cpu,
            targets[i].notes);
}
