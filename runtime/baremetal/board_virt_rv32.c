/* board_virt_rv32.c: QEMU's riscv32 virt board (rv32imac). The count is
 * the instret CSR, which QEMU makes exact under -icount shift=0 (without
 * it, QEMU returns the host's clock instead). Read as instreth, instret,
 * instreth again so a carry between the two halves is not missed. */
#include "octo_baremetal.h"

const char *octo_board_name(void) { return "virt (rv32imac)"; }

/* The CSR instructions are the Zicsr extension, which binutils 2.40 wants
 * named although rv32imac (gcc's multilib) implies it. */
#define CSR_READ(name, v)                                                                  \
  __asm__ volatile(".option push\n.option arch, +zicsr\ncsrr %0, " name "\n.option pop" \
                   : "=r"(v))

uint64_t octo_board_instructions(void) {
  uint32_t hi, lo, hi2;
  do {
    CSR_READ("instreth", hi);
    CSR_READ("instret", lo);
    CSR_READ("instreth", hi2);
  } while (hi != hi2);
  return ((uint64_t)hi << 32) | lo;
}
