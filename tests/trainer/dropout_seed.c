/* The dropout masks follow the seed init received, which the state keeps
 * (tensor "dropout.seed"): with the same parameters, two seeds drop
 * different units (different losses), the same seed the same ones; and a
 * state copied out and back in (what a checkpoint and --resume do, after
 * an init with another seed) continues bit for bit. Built against the C of
 * tests/trainer/dropout.net by dropout_seed.sh. Prints what it found and
 * exits 1 on a failure. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dropnet.h"

static uint8_t xs[DROPNET_BATCH * DROPNET_INPUT_SIZE];
static int32_t ys[DROPNET_BATCH];

static unsigned char *block(size_t bytes) {
  unsigned char *b = aligned_alloc(DROPNET_STATE_ALIGN, (bytes + 63) / 64 * 64 + 64);
  if (!b) exit(2);
  return b;
}

static uint32_t loss_bits(float loss) {
  uint32_t u;
  memcpy(&u, &loss, sizeof u);
  return u;
}

static uint32_t step(unsigned char *state, unsigned char *work) {
  return loss_bits(dropnet_train_step(state, work, xs, ys, DROPNET_BATCH));
}

int main(void) {
  for (int i = 0; i < DROPNET_BATCH * DROPNET_INPUT_SIZE; i++) xs[i] = (uint8_t)(i * 37 % 251);
  for (int i = 0; i < DROPNET_BATCH; i++) ys[i] = i % 10;
  const dropnet_tensor_info *seed = NULL;
  for (int i = 0; dropnet_tensors[i].name; i++)
    if (strcmp(dropnet_tensors[i].name, "dropout.seed") == 0) seed = &dropnet_tensors[i];
  if (!seed || seed->bytes != 8) {
    printf("FAIL: no 8-byte tensor dropout.seed in the state\n");
    return 1;
  }
  unsigned char *s1 = block(DROPNET_STATE_BYTES), *s2 = block(DROPNET_STATE_BYTES);
  unsigned char *s3 = block(DROPNET_STATE_BYTES), *work = block(DROPNET_WORK_BYTES);
  int fails = 0;

  /* Same parameters, seeds 1 and 7 for the masks only. */
  if (dropnet_init(s1, 1) != 0) return 2;
  int64_t kept;
  memcpy(&kept, s1 + seed->offset, 8);
  if (kept != 1) printf("FAIL: init kept seed %lld, not 1\n", (long long)kept), fails++;
  memcpy(s2, s1, DROPNET_STATE_BYTES);
  memcpy(s3, s1, DROPNET_STATE_BYTES);
  int64_t seven = 7;
  memcpy(s2 + seed->offset, &seven, 8);
  uint32_t a = step(s1, work), b = step(s2, work), c = step(s3, work);
  printf("loss bits: seed 1 %08x, seed 7 %08x, seed 1 again %08x\n", a, b, c);
  if (a == b) printf("FAIL: seeds 1 and 7 drop the same units\n"), fails++;
  if (a != c) printf("FAIL: seed 1 twice gives two losses\n"), fails++;

  /* Resume: six straight steps against three, the state saved and loaded
   * into a block init filled from another seed, and three more. */
  uint32_t straight[6], resumed[6];
  dropnet_init(s1, 5);
  for (int t = 0; t < 6; t++) straight[t] = step(s1, work);
  dropnet_init(s2, 5);
  for (int t = 0; t < 3; t++) resumed[t] = step(s2, work);
  memcpy(s3, s2, DROPNET_STATE_BYTES); /* the checkpoint */
  dropnet_init(s2, 99);
  memcpy(s2, s3, DROPNET_STATE_BYTES); /* --resume */
  for (int t = 3; t < 6; t++) resumed[t] = step(s2, work);
  if (memcmp(straight, resumed, sizeof straight) != 0)
    printf("FAIL: the resumed losses differ from the straight run's\n"), fails++;
  if (memcmp(s1, s2, DROPNET_STATE_BYTES) != 0)
    printf("FAIL: the resumed state differs from the straight run's\n"), fails++;
  free(s1), free(s2), free(s3), free(work);
  if (fails) return 1;
  printf("PASS\n");
  return 0;
}
