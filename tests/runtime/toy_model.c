/* toy_model.c: test fixture. Softmax regression (logits = W x + b) trained by
 * plain minibatch SGD on the mean cross-entropy, on bytes it normalises to
 * p/255 itself. State layout, like a generated model's: weight f32[10,784]
 * at 0, bias f32[10] at 31360, step counter i64 at 31400. Work: gradients,
 * one sample's logits and its normalised pixels. Written simply; it only
 * needs to learn and to be deterministic. */
#include <math.h>
#include <string.h>

#include "toy_model.h"

enum {
  W_OFF = 0,
  B_OFF = TOY_CLASSES * TOY_IN * 4,
  STEP_OFF = B_OFF + TOY_CLASSES * 4,
  STATE_BYTES = STEP_OFF + 8,
  WORK_BYTES = (TOY_CLASSES * TOY_IN + 2 * TOY_CLASSES + TOY_IN) * 4,
};

static const float lr = 0.1f;

static uint64_t mix(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static int toy_init(void *state, uint64_t seed) {
  float *w = (float *)((char *)state + W_OFF);
  for (int i = 0; i < TOY_CLASSES * TOY_IN; i++)
    w[i] = (float)((double)(mix(&seed) >> 11) / 9007199254740992.0 - 0.5) * 0.02f;
  memset((char *)state + B_OFF, 0, TOY_CLASSES * 4);
  memset((char *)state + STEP_OFF, 0, 8);
  return 0;
}

static int logits_argmax(const float *w, const float *b, const float *x, float *z) {
  int best = 0;
  for (int c = 0; c < TOY_CLASSES; c++) {
    float s = b[c];
    for (int i = 0; i < TOY_IN; i++)
      s += w[c * TOY_IN + i] * x[i];
    z[c] = s;
    if (s > z[best])
      best = c;
  }
  return best;
}

/* Sample s of the bytes x as the floats p/255. */
static const float *pixels(const uint8_t *x, int s, float *xs) {
  for (int i = 0; i < TOY_IN; i++) xs[i] = (float)((double)x[(size_t)s * TOY_IN + i] / 255.0);
  return xs;
}

static int toy_train_step(void *state, void *work, const void *xv, const void *yv, int n,
                          void *predv, void *lossv) {
  const uint8_t *x = xv;
  const int32_t *y = yv;
  int32_t *pred = predv;
  float *w = (float *)((char *)state + W_OFF), *b = (float *)((char *)state + B_OFF);
  float *gw = work, *gb = gw + TOY_CLASSES * TOY_IN, *z = gb + TOY_CLASSES;
  float *xbuf = z + TOY_CLASSES;
  memset(gw, 0, (TOY_CLASSES * TOY_IN + TOY_CLASSES) * 4);
  double loss = 0;
  for (int s = 0; s < n; s++) {
    const float *xs = pixels(x, s, xbuf);
    int best = logits_argmax(w, b, xs, z);
    if (pred)
      pred[s] = best;
    float zmax = z[best], sum = 0;
    for (int c = 0; c < TOY_CLASSES; c++)
      sum += (z[c] = expf(z[c] - zmax));
    loss += -log(z[y[s]] / sum);
    for (int c = 0; c < TOY_CLASSES; c++) {
      float g = (z[c] / sum - (c == y[s])) / (float)n;
      gb[c] += g;
      for (int i = 0; i < TOY_IN; i++)
        gw[c * TOY_IN + i] += g * xs[i];
    }
  }
  for (int i = 0; i < TOY_CLASSES * TOY_IN; i++)
    w[i] -= lr * gw[i];
  for (int c = 0; c < TOY_CLASSES; c++)
    b[c] -= lr * gb[c];
  int64_t step;
  memcpy(&step, (char *)state + STEP_OFF, 8);
  step++;
  memcpy((char *)state + STEP_OFF, &step, 8);
  float mean = (float)(loss / n);
  memcpy(lossv, &mean, sizeof mean);
  return 0;
}

/* The summed cross-entropy and the number right of n labelled samples. */
static int toy_eval(const void *state, void *work, const void *xv, const void *yv, int n,
                    void *loss_sum, int32_t *correct) {
  const float *w = (const float *)((const char *)state + W_OFF);
  const float *b = (const float *)((const char *)state + B_OFF);
  const int32_t *y = yv;
  float *z = (float *)work, *xbuf = z + TOY_CLASSES;
  double loss = 0;
  int32_t right = 0;
  for (int s = 0; s < n; s++) {
    int best = logits_argmax(w, b, pixels(xv, s, xbuf), z);
    right += best == y[s];
    float zmax = z[best], sum = 0;
    for (int c = 0; c < TOY_CLASSES; c++)
      sum += expf(z[c] - zmax);
    loss += -log(expf(z[y[s]] - zmax) / sum);
  }
  float total = (float)loss;
  memcpy(loss_sum, &total, sizeof total);
  if (correct)
    *correct = right;
  return 0;
}

static const OctoTensorInfo toy_tensors[] = {
    {"toy.weight", OCTO_F32, OCTO_TENSOR_PARAM, 2, {TOY_CLASSES, TOY_IN}, W_OFF, B_OFF - W_OFF},
    {"toy.bias", OCTO_F32, OCTO_TENSOR_PARAM, 1, {TOY_CLASSES}, B_OFF, STEP_OFF - B_OFF},
    {"step", OCTO_I64, OCTO_TENSOR_INTERNAL, 0, {0}, STEP_OFF, 8},
};

const OctoModel toy_model = {
    .name = "toy",
    .batch = TOY_BATCH,
    .input_rank = 3,
    .input_shape = {1, 28, 28},
    .input_dtype = OCTO_U8,
    .num_classes = TOY_CLASSES,
    .state_bytes = STATE_BYTES,
    .work_bytes = WORK_BYTES,
    .state_align = 64,
    .hash = 0x70790000c0ffee01ull,
    .tensors = toy_tensors,
    .ntensors = 3,
    .epochs_default = 3,
    .seed_default = 1,
    .loss_dtype = OCTO_F32,
    .init = toy_init,
    .train_step = toy_train_step,
    .eval = toy_eval,
};
