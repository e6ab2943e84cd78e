/* The int8 weight gradient of a reduction too long for int32 (run by
 * accumulator.sh). The model `acc` is a 1x1 conv of one filter, w = 3, on
 * an all-ones input, trained with mse against that input (SGD, lr 1,
 * momentum 0): dW = d/dw mean((w - 1)^2) = 2 (w - 1) = 4 whatever the
 * batch and image size. Every quantized x and error is 127, so the int8
 * reduction sums 127 * 127 over batch x H x W terms: more than 133 144 of
 * them overflow a naive int32 sum (wrapping to a negative or tiny value).
 * Exit 0 when the update is -4 within 1e-3. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acc.h"

int main(void) {
  unsigned char *state = aligned_alloc(64, (ACC_STATE_BYTES + 63) / 64 * 64);
  unsigned char *work = aligned_alloc(64, (ACC_WORK_BYTES + 63) / 64 * 64 + 64);
  size_t nx = (size_t)ACC_BATCH * ACC_INPUT_SIZE;
  float *x = malloc(nx * sizeof(float));
  if (!state || !work || !x || acc_init(state, 1) != 0) return 2;
  float *w = NULL;
  for (const acc_tensor_info *t = acc_tensors; t->name; t++)
    if (strcmp(t->name, "c.weight") == 0) w = (float *)(state + t->offset);
  if (!w) return 2;
  *w = 3;
  for (size_t i = 0; i < nx; i++) x[i] = 1;
  float loss = acc_train_step(state, work, x, NULL, ACC_BATCH);
  double dw = 3.0 - (double)*w;
  printf("%d x %d terms: loss %.6f, dW %.6f (expected 4)\n", ACC_BATCH, ACC_INPUT_SIZE, loss, dw);
  if (!(fabs(dw - 4) <= 4e-3)) {
    fprintf(stderr, "FAIL: dW %.6f, expected 4: the int8 reduction overflowed\n", dw);
    return 1;
  }
  free(x), free(work), free(state);
  return 0;
}
