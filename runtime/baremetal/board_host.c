/* board_host.c: the no-OS trainer built for the host, to compare its
 * losses with the boards' (tests/baremetal). No instruction counter. */
#include "octo_baremetal.h"

const char *octo_board_name(void) { return "host"; }
uint64_t octo_board_instructions(void) { return 0; }
