/* exp, log, cos and pow written out in the loop IR (see expand_math.c): the
 * pass "math" runs after lowering; a loop-IR input that still has them
 * goes through expand_math before its backend. */
#ifndef OCTO_PASSES_EXPAND_MATH_H
#define OCTO_PASSES_EXPAND_MATH_H

#include "loop.h"

/* Replaces every f32 exp, log, cos and every pow of p in place. */
void expand_math(LProgram *p);

#endif
