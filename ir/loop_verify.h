/* The loop IR verifier: the rules every program must keep before a backend
 * prints it (listed in docs/loops.md). Lowerings run it after building a
 * program; tests run it on programs read from text. */
#ifndef OCTO_IR_LOOP_VERIFY_H
#define OCTO_IR_LOOP_VERIFY_H

#include <stdbool.h>

#include "diag.h"
#include "loop.h"

/* Checks types, scopes, buffers, the memory plan, entries and (best effort)
 * the index bounds of affine loads and stores. Reports every problem to d,
 * at the SrcLoc the reader recorded when the program came from text, and
 * names the kernel in the message ("kernel c1_fwd: ..."). True when clean. */
bool lprog_verify(const LProgram *p, Diag *d);

#endif
