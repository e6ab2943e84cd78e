/* board_mps2.c: QEMU's mps2-an386 (Cortex-M4). The instruction count
 * comes from SysTick on the processor clock (25 MHz): under -icount
 * shift=0 QEMU advances its clock 1 ns per instruction, so one tick is 40
 * instructions (docs/baremetal.md: measured against riscv32's exact
 * counter). SysTick is 24 bits; its interrupt counts the wraps. Without
 * -icount the count follows the host's clock and means nothing. */
#include "octo_baremetal.h"

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)

enum { INSNS_PER_TICK = 40 };

static volatile uint32_t wraps;
static int started;

/* picolibc's vector table calls this weak handler's replacement. */
void arm_systick_isr(void) { wraps++; }

const char *octo_board_name(void) { return "mps2-an386 (Cortex-M4)"; }

uint64_t octo_board_instructions(void) {
  if (!started) {
    SYST_RVR = 0xFFFFFFu;
    SYST_CVR = 0;
    SYST_CSR = 7; /* enable, interrupt on wrap, processor clock */
    /* Writing CVR zeroes it; it counts from RVR after the next tick. */
    while (SYST_CVR == 0) continue;
    started = 1;
  }
  uint32_t w, v;
  do {
    w = wraps;
    v = SYST_CVR;
  } while (w != wraps);
  uint64_t ticks = ((uint64_t)w << 24) + (0xFFFFFFu - v);
  return ticks * INSNS_PER_TICK;
}
