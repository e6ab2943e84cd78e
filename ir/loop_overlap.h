/* Part of the loop-IR verifier: no two planned buffers share bytes while
 * both hold values (state: ever; work: at one call of an entry). */
#ifndef OCTO_IR_LOOP_OVERLAP_H
#define OCTO_IR_LOOP_OVERLAP_H

#include <stdbool.h>

#include "diag.h"
#include "loop.h"

/* Reports the first overlap in d and returns false. Buffers not planned
 * yet (offset -1) and empty ones are skipped. Expects a program whose
 * buffers and calls the rest of the verifier accepted. */
bool lprog_check_overlaps(const LProgram *p, Diag *d);

#endif
