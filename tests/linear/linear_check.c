/* Checks the generated conv2d/dense kernels of one test model against a
 * naive double-precision reference. run.sh writes the model `m` from a layer
 * spec, compiles it with octoc --emit=c (SGD, lr 1, momentum 0, so a
 * parameter's update is minus its gradient) and builds this driver with it;
 * the same spec is passed here:
 *
 *   linear_check N LOGITS_OFFSET in=C,H,W LAYER...
 *     LAYER = conv:F,kh,kw,sh,sw,ph,pw,groups,bias | dense:U,bias
 *
 * The layers run in a chain (a conv after a dense is not allowed), with a
 * flatten before the first dense, into softmax_cross_entropy. The driver
 * sets every parameter to known random values through the tensor table,
 * runs predict (and compares the logits, read from the work arena at
 * LOGITS_OFFSET, the offset --emit=loops shows), then train_step on N
 * samples (compares the loss and every parameter's update with the
 * reference gradients). A gradient of an earlier layer depends on the input
 * gradients of the later ones, so those are covered too. Exit status 0 when
 * everything agrees within 1e-4 relative.
 *
 * With LINEAR_INT8=1 in the environment the model was compiled with
 * --precision int8 and nearest rounding: the reference quantizes like the
 * kernels (passes/lower_int8.c, in float: s = max|t| / 127, q =
 * clamp(rint(t * (1 / s)), -127, 127)) the layer input and weight for the forward
 * and the weight gradient, and the error for both backward products, and
 * computes on the dequantized values, so it agrees with the int32 sums up
 * to the float rounding of the epilogue. A single dense layer is also
 * checked against the fp32 op on the raw inputs, within the analytic bound
 * of the quantization error: |y - y^| <= sum_k |x_k| s_w/2 + (|w_k| +
 * s_w/2) s_x/2. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "m.h"

enum { MAX_LAYERS = 8 };

typedef struct Layer {
  int conv; /* 1 conv, 0 dense */
  int f, kh, kw, sh, sw, ph, pw, groups, bias;
  int c, h, w, oh, ow; /* input channels/extents and output extents */
  float *weight, *bias_p; /* in the state block */
  double *wd, *bd;        /* the initial values, as doubles */
  double *out, *dout;     /* [n, f, oh, ow] */
  double *gw, *gb;        /* reference gradients */
} Layer;

static unsigned long long rng = 88172645463325252ull;
static double urand(void) { /* xorshift64, uniform in [-1, 1) */
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return (double)(rng >> 11) / 9007199254740992.0 * 2 - 1;
}

static void *xalloc(size_t bytes) {
  void *p = calloc(1, bytes ? bytes : 1);
  if (!p) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  return p;
}

static const m_tensor_info *tensor(const char *name) {
  for (const m_tensor_info *t = m_tensors; t->name; t++)
    if (strcmp(t->name, name) == 0) return t;
  return NULL;
}

/* The parameter `l<i>.<what>` in the state block, with its initial values. */
static float *param(unsigned char *state, int i, const char *what, size_t count, double scale,
                    double **copy) {
  char name[64];
  snprintf(name, sizeof name, "l%d.%s", i, what);
  const m_tensor_info *t = tensor(name);
  if (!t || t->bytes != count * sizeof(float)) {
    fprintf(stderr, "tensor %s missing or of the wrong size\n", name);
    exit(2);
  }
  float *p = (float *)(state + t->offset);
  *copy = xalloc(count * sizeof(double));
  for (size_t k = 0; k < count; k++) (*copy)[k] = p[k] = (float)(scale * urand());
  return p;
}

static int int8_mode;

/* The kernels' per-tensor quantization, in float, dequantized into out;
 * returns the scale. */
static double quantize_ref(const double *t, size_t count, double *out) {
  float m = 0;
  for (size_t i = 0; i < count; i++) m = fmaxf(m, fabsf((float)t[i]));
  float s = m > 0 ? m / 127.0f : 1.0f, inv = 1.0f / s;
  for (size_t i = 0; i < count; i++) {
    float r = rintf((float)t[i] * inv);
    r = r < -127 ? -127 : r > 127 ? 127 : r;
    out[i] = (double)r * s;
  }
  return s;
}

static size_t out_size(const Layer *l) { return (size_t)l->f * l->oh * l->ow; }
static size_t in_size(const Layer *l) { return (size_t)l->c * l->h * l->w; }
static size_t weight_size(const Layer *l) {
  return (size_t)l->f * (l->c / l->groups) * l->kh * l->kw;
}

/* Forward (and, with dy, backward) of one layer for n samples. A dense
 * layer is a conv whose kernel covers the whole (flattened) input. */
static void layer_ref(const Layer *l, int n, const double *x, double *y, const double *dy,
                      double *dx, const double *dy_bias) {
  int cg = l->c / l->groups, fg = l->f / l->groups;
  for (int s = 0; s < n; s++)
    for (int f = 0; f < l->f; f++)
      for (int oh = 0; oh < l->oh; oh++)
        for (int ow = 0; ow < l->ow; ow++) {
          size_t o = (((size_t)s * l->f + f) * l->oh + oh) * l->ow + ow;
          double acc = l->bias ? l->bd[f] : 0, e = dy ? dy[o] : 0;
          int g = f / fg;
          for (int cc = 0; cc < cg; cc++)
            for (int kh = 0; kh < l->kh; kh++)
              for (int kw = 0; kw < l->kw; kw++) {
                int ih = oh * l->sh - l->ph + kh, iw = ow * l->sw - l->pw + kw;
                if (ih < 0 || ih >= l->h || iw < 0 || iw >= l->w) continue;
                int c = g * cg + cc;
                size_t xi = (((size_t)s * l->c + c) * l->h + ih) * l->w + iw;
                size_t wi = (((size_t)f * cg + cc) * l->kh + kh) * l->kw + kw;
                if (!dy) acc += l->wd[wi] * x[xi];
                else {
                  l->gw[wi] += e * x[xi];
                  if (dx) dx[xi] += e * l->wd[wi];
                }
              }
          if (!dy) y[o] = acc;
          else if (l->bias) l->gb[f] += dy_bias[o];
        }
}

/* max |got - want| <= tol * max(max |want|, floor). */
static int compare(const char *what, const float *got, const double *want, size_t count,
                   double sign) {
  double peak = 1e-3, worst = 0;
  size_t at = 0;
  for (size_t i = 0; i < count; i++) peak = fmax(peak, fabs(want[i]));
  for (size_t i = 0; i < count; i++) {
    double e = fabs(sign * (double)got[i] - want[i]);
    if (!(e <= worst)) worst = e, at = i;
  }
  if (!(worst <= 1e-4 * peak)) {
    fprintf(stderr, "FAIL %s: element %zu is %.8g, reference %.8g (peak %.3g)\n", what, at,
            sign * (double)got[at], want[at], peak);
    return 1;
  }
  return 0;
}

static int parse_layer(const char *spec, Layer *l) {
  memset(l, 0, sizeof *l);
  if (sscanf(spec, "conv:%d,%d,%d,%d,%d,%d,%d,%d,%d", &l->f, &l->kh, &l->kw, &l->sh, &l->sw,
             &l->ph, &l->pw, &l->groups, &l->bias) == 9) {
    l->conv = 1;
    return 1;
  }
  if (sscanf(spec, "dense:%d,%d", &l->f, &l->bias) == 2) {
    l->kh = l->kw = l->sh = l->sw = l->groups = 1;
    return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  int c, h, w, nl = argc - 4;
  if (argc < 5 || nl > MAX_LAYERS || sscanf(argv[3], "in=%d,%d,%d", &c, &h, &w) != 3) {
    fprintf(stderr, "usage: linear_check N LOGITS_OFFSET in=C,H,W LAYER...\n");
    return 2;
  }
  int n = atoi(argv[1]);
  long logits_off = atol(argv[2]);
  Layer ls[MAX_LAYERS];
  unsigned char *state = aligned_alloc(64, (M_STATE_BYTES + 63) / 64 * 64);
  unsigned char *work = aligned_alloc(64, (M_WORK_BYTES + 63) / 64 * 64 + 64);
  if (!state || !work || m_init(state, 1) != 0) return 2;
  for (int i = 0; i < nl; i++) {
    Layer *l = &ls[i];
    if (!parse_layer(argv[4 + i], l)) {
      fprintf(stderr, "bad layer spec %s\n", argv[4 + i]);
      return 2;
    }
    if (!l->conv) { /* flatten */
      c = c * h * w;
      h = w = 1;
    }
    l->c = c, l->h = h, l->w = w;
    if (l->conv) {
      l->oh = (h + 2 * l->ph - l->kh) / l->sh + 1;
      l->ow = (w + 2 * l->pw - l->kw) / l->sw + 1;
    } else {
      l->oh = l->ow = 1;
      l->kh = 1, l->kw = 1; /* a 1x1 conv over the flattened features */
    }
    /* weights ~ U(-a, a) with a = sqrt(3 / fan_in): unit-variance outputs,
     * so the softmax does not saturate and every logit's gradient counts */
    double fan_in = (double)(l->c / l->groups) * l->kh * l->kw;
    l->weight = param(state, i, "weight", weight_size(l), sqrt(3 / fan_in), &l->wd);
    if (l->bias) l->bias_p = param(state, i, "bias", (size_t)l->f, 0.5, &l->bd);
    c = l->f, h = l->oh, w = l->ow;
  }
  int k = ls[nl - 1].f;
  if (k != M_NUM_CLASSES) return 2;

  /* inputs */
  size_t insz = in_size(&ls[0]);
  float *x = xalloc((size_t)n * insz * sizeof(float));
  double *xd = xalloc((size_t)n * insz * sizeof(double));
  int32_t *y = xalloc((size_t)n * sizeof(int32_t)), *cls = xalloc((size_t)n * sizeof(int32_t));
  for (size_t i = 0; i < (size_t)n * insz; i++) xd[i] = x[i] = (float)urand();
  for (int s = 0; s < n; s++) {
    int v = (int)((urand() + 1) * 0.5 * k);
    y[s] = v < k ? v : k - 1;
  }

  /* reference forward */
  const char *mode = getenv("LINEAR_INT8");
  int8_mode = mode && strcmp(mode, "1") == 0;
  const double *in = xd;
  double *xq[MAX_LAYERS], *wq[MAX_LAYERS], sx[MAX_LAYERS], sw[MAX_LAYERS];
  for (int i = 0; i < nl; i++) {
    Layer *l = &ls[i];
    l->out = xalloc((size_t)n * out_size(l) * sizeof(double));
    if (int8_mode) { /* the layer on its quantized input and weight */
      xq[i] = xalloc((size_t)n * in_size(l) * sizeof(double));
      wq[i] = xalloc(weight_size(l) * sizeof(double));
      sx[i] = quantize_ref(in, (size_t)n * in_size(l), xq[i]);
      sw[i] = quantize_ref(l->wd, weight_size(l), wq[i]);
      Layer lq = *l;
      lq.wd = wq[i];
      layer_ref(&lq, n, xq[i], l->out, NULL, NULL, NULL);
    } else {
      layer_ref(l, n, in, l->out, NULL, NULL, NULL);
    }
    in = l->out;
  }
  int bound_fails = 0;
  if (int8_mode && nl == 1 && !ls[0].conv) { /* against fp32 within the analytic bound */
    Layer *l = &ls[0];
    size_t nx = (size_t)n * in_size(l), nw = weight_size(l), ny = (size_t)n * out_size(l);
    double *exact = xalloc(ny * sizeof(double)), *bound = xalloc(ny * sizeof(double));
    double *ax = xalloc(nx * sizeof(double)), *aw = xalloc(nw * sizeof(double));
    double *hx = xalloc(nx * sizeof(double)), *hw = xalloc(nw * sizeof(double));
    double *part = xalloc(ny * sizeof(double));
    layer_ref(l, n, xd, exact, NULL, NULL, NULL);
    for (size_t k = 0; k < nx; k++) ax[k] = fabs(xd[k]), hx[k] = sx[0] / 2;
    for (size_t k = 0; k < nw; k++) aw[k] = fabs(l->wd[k]) + sw[0] / 2, hw[k] = sw[0] / 2;
    Layer lb = *l;
    lb.bias = 0;
    lb.wd = hw;
    layer_ref(&lb, n, ax, bound, NULL, NULL, NULL);
    lb.wd = aw;
    layer_ref(&lb, n, hx, part, NULL, NULL, NULL);
    double worst = 0;
    for (size_t k = 0; k < ny; k++) {
      double err = fabs(l->out[k] - exact[k]), b = bound[k] + part[k];
      if (err > b * (1 + 1e-6) + 1e-6) {
        fprintf(stderr, "FAIL int8 vs fp32: output %zu differs by %.6g, bound %.6g\n", k, err, b);
        bound_fails = 1;
        break;
      }
      if (b > 0 && err / b > worst) worst = err / b;
    }
    if (!bound_fails) printf("int8 vs fp32: largest error %.3f of the bound\n", worst);
    free(exact), free(bound), free(ax), free(aw), free(hx), free(hw), free(part);
  }
  const double *z = ls[nl - 1].out;
  double loss = 0, *dz = xalloc((size_t)n * k * sizeof(double));
  for (int s = 0; s < n; s++) {
    double mx = z[s * k], sum = 0;
    for (int j = 1; j < k; j++) mx = fmax(mx, z[s * k + j]);
    for (int j = 0; j < k; j++) sum += exp(z[s * k + j] - mx);
    loss += log(sum) + mx - z[s * k + y[s]];
    for (int j = 0; j < k; j++)
      dz[s * k + j] = (exp(z[s * k + j] - mx) / sum - (j == y[s])) / n;
  }
  loss /= n;
  /* reference backward */
  const double *dy = dz;
  for (int i = nl - 1; i >= 0; i--) {
    Layer *l = &ls[i];
    l->gw = xalloc(weight_size(l) * sizeof(double));
    l->gb = xalloc((size_t)l->f * sizeof(double));
    double *dx = i ? xalloc((size_t)n * in_size(l) * sizeof(double)) : NULL;
    if (int8_mode) { /* int8 error, the forward's int8 input and weight; fp32 bias gradient */
      size_t ny = (size_t)n * out_size(l);
      double *eq = xalloc(ny * sizeof(double));
      quantize_ref(dy, ny, eq);
      Layer lq = *l;
      lq.wd = wq[i];
      layer_ref(&lq, n, xq[i], NULL, eq, dx, dy);
    } else {
      layer_ref(l, n, i ? ls[i - 1].out : xd, NULL, dy, dx, dy);
    }
    dy = dx;
  }

  int fails = bound_fails;
  /* predict: the classes and the logits left in the work arena */
  if (m_predict(state, work, x, cls, n) != 0) return 2;
  fails += compare("logits", (const float *)(work + logits_off), z, (size_t)n * k, 1);
  for (int s = 0; s < n; s++) {
    int best = 0;
    for (int j = 1; j < k; j++)
      if (z[s * k + j] > z[s * k + best]) best = j;
    if (cls[s] != best && fabs(z[s * k + cls[s]] - z[s * k + best]) > 1e-5) {
      fprintf(stderr, "FAIL predict: sample %d class %d, reference %d\n", s, cls[s], best);
      fails++;
    }
  }
  /* train_step: loss and updates (w_new - w_old = -grad) */
  float got_loss = m_train_step(state, work, x, y, n);
  if (!(fabs(got_loss - loss) <= 1e-4 * fmax(1, fabs(loss)))) {
    fprintf(stderr, "FAIL loss %.8g, reference %.8g\n", got_loss, loss);
    fails++;
  }
  for (int i = 0; i < nl; i++) {
    Layer *l = &ls[i];
    char what[64];
    size_t nw = weight_size(l);
    float *upd = xalloc(nw * sizeof(float));
    for (size_t j = 0; j < nw; j++) upd[j] = (float)((double)l->weight[j] - l->wd[j]);
    snprintf(what, sizeof what, "l%d.weight gradient", i);
    fails += compare(what, upd, l->gw, nw, -1);
    if (l->bias) {
      for (int j = 0; j < l->f; j++) upd[j] = (float)((double)l->bias_p[j] - l->bd[j]);
      snprintf(what, sizeof what, "l%d.bias gradient", i);
      fails += compare(what, upd, l->gb, (size_t)l->f, -1);
    }
    free(upd);
  }
  if (!fails) printf("ok: n=%d batch=%d loss %.6f\n", n, M_BATCH, loss);
  return fails ? 1 : 0;
}
