/* octo_baremetal.h: what the no-OS trainer (baremetal_main.c) links with
 * besides the model: two files octoc writes per image, and the board's
 * instruction counter. The runtime itself is the same on every board; a
 * board differs only in its linker script (targets/boards/) and counter.
 * docs/baremetal.md describes the image. */
#ifndef OCTO_BAREMETAL_H
#define OCTO_BAREMETAL_H

#include <stddef.h>
#include <stdint.h>

/* The training samples compiled into the image (NAME_data.c), in the order
 * of the IDX files they came from: count samples of sample_bytes pixels,
 * and one class per sample. */
typedef struct {
  const uint8_t *pixels;
  const int32_t *labels;
  int count;
  int sample_bytes;
  const char *source; /* the IDX file the samples came from, for the log */
} OctoSubset;
extern const OctoSubset octo_subset;

/* The model's state block and work arena (NAME_board.c): static arrays of
 * the sizes the model's header gives, so that a model too big for the
 * board's RAM fails at link time, not when the board runs. */
typedef struct {
  void *state, *work;
  size_t state_bytes, work_bytes;
} OctoBlocks;
extern const OctoBlocks octo_blocks;

/* The board (board_*.c): its name, and the instructions it has executed so
 * far, exact under QEMU's -icount shift=0 (docs/baremetal.md), or 0 where
 * the board has no counter (the host build). */
const char *octo_board_name(void);
uint64_t octo_board_instructions(void);

#endif
