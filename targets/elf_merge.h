/* Two ELF relocatable objects joined into one, as `ld -r` would for the
 * simple objects LLVM writes for octoc: the LLVM backend's code generation
 * on two threads (llvm_parallel.c) emits each half of a module as its own
 * object, and `-o x.o` must be one object.
 *
 * Little-endian ELF32 and ELF64 of one machine (every target of
 * targets/target.c). The sections of both are kept (the second's after
 * the first's), the symbol tables and the relocations renumbered; a global
 * symbol one object defines and the other only references is resolved to
 * the definition, and made local when it is hidden (a kernel defined in
 * one half and called from the other: local, as it was in the one
 * module). Arm build attributes that differ only in the optimisation
 * goals are joined without them (mixed goals, as one module's object
 * says). What this does not know (section groups, extended section
 * indices, two definitions of one name, other differing attributes) is
 * refused with a reason rather than joined wrongly; the caller then emits
 * the module whole. */
#ifndef OCTO_TARGETS_ELF_MERGE_H
#define OCTO_TARGETS_ELF_MERGE_H

#include <stdbool.h>
#include <stddef.h>

/* *out (malloc'd, *len bytes) gets a and b joined; false, with a one-line
 * reason in why, when they cannot be (then *out is NULL). */
bool elf_merge(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen,
               unsigned char **out, size_t *len, char *why, size_t whylen);

#endif
