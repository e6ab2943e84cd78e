/* The 64-bit FNV-1a hash, the one hash function of the compiler: string
 * maps (ir/strmap.c), the per-parameter random streams (passes/lower.c's
 * name_key) and the program hash in every checkpoint header
 * (targets/c_backend.c) all step it here. Header-only: one multiply and one
 * xor per byte, inlined where it runs. The start value is the caller's,
 * because name_key starts from its own (see there) and a hash can be
 * continued over several pieces. */
#ifndef OCTO_IR_FNV_H
#define OCTO_IR_FNV_H

#include <stddef.h>
#include <stdint.h>

/* FNV's offset basis and prime for 64 bits. */
#define FNV1A_OFFSET_BASIS UINT64_C(0xcbf29ce484222325)
#define FNV1A_PRIME UINT64_C(0x100000001b3)

/* h continued over n bytes. */
static inline uint64_t fnv1a_bytes(uint64_t h, const void *data, size_t n) {
  const unsigned char *b = data;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * FNV1A_PRIME;
  return h;
}

/* h continued over the bytes of s, without its NUL. */
static inline uint64_t fnv1a_str(uint64_t h, const char *s) {
  for (; *s; s++) h = (h ^ (unsigned char)*s) * FNV1A_PRIME;
  return h;
}

#endif
