/* The hash of a loop-IR program (ir/lprog_hash.c), NAME_HASH in the
 * generated header and the identity a checkpoint is checked against. */
#ifndef OCTO_IR_LPROG_HASH_H
#define OCTO_IR_LPROG_HASH_H

#include <stdint.h>

#include "loop.h"

/* FNV-1a 64 over a canonical serialisation of the program: buffers (name,
 * dtype, shape, home, role, offset, flags, constant data), variables
 * (dtype, kind), kernels (statements and expressions), entries and sizes.
 * Cosmetics (kernel and variable names, origins, source locations) do not
 * count, so re-wording a comment in model.net keeps checkpoints valid. */
uint64_t lprog_hash(const LProgram *p);

#endif
