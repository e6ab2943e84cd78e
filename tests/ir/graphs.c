/* Test graphs for the IR tests, built the way the front end's lowering and
 * the passes build them. */
#include "graphs.h"

#include <math.h>

SrcLoc test_loc(int line, int col) { return (SrcLoc){"models/lenet5.net", line, col}; }

TensorType tt(DType dt, int rank, const int64_t *dims) {
  TensorType t = {dt, rank < 0 ? shape_unknown() : shape_of(rank, dims)};
  return t;
}

TensorType f32_4(int64_t a, int64_t b, int64_t c, int64_t d) {
  int64_t dims[4] = {a, b, c, d};
  return tt(DT_F32, 4, dims);
}

TensorType f32_2(int64_t a, int64_t b) {
  int64_t dims[2] = {a, b};
  return tt(DT_F32, 2, dims);
}

TensorType f32_1(int64_t a) { return tt(DT_F32, 1, &a); }

TensorType f32_unknown(void) { return tt(DT_F32, -1, NULL); }

Node *add_node(Graph *g, OpKind op, const char *name, Value **in, int nin, const char *out,
               TensorType t, int line) {
  const char *names[1] = {out};
  Node *n = graph_add_node(g, op, name, in, nin, names, 1, test_loc(line, 3));
  n->out[0]->type = t;
  return n;
}

void set_window(Graph *g, Node *n, int64_t k, int64_t s, int64_t p) {
  int64_t kk[2] = {k, k}, ss[2] = {s, s}, pp[2] = {p, p};
  node_set_ints(g, n, "kernel", 2, kk);
  node_set_ints(g, n, "stride", 2, ss);
  node_set_ints(g, n, "pad", 2, pp);
}

static Value *param(Graph *g, const char *name, TensorType t, InitKind k, const char *layer,
                    int line) {
  Init init = {k, 0};
  return graph_add_param(g, name, VAL_PARAM, t, init, layer, test_loc(line, 3));
}

static Node *conv(Graph *g, const char *name, Value *x, int64_t filters, int64_t k, int64_t pad,
                  bool known, int64_t cin, TensorType out, int line) {
  char wn[64], bn[64];
  snprintf(wn, sizeof wn, "%s.weight", name);
  snprintf(bn, sizeof bn, "%s.bias", name);
  TensorType wt = f32_4(filters, known ? cin : -1, k, k);
  Value *in[3] = {x, param(g, wn, wt, INIT_HE, name, line), param(g, bn, f32_1(filters),
                                                                  INIT_ZEROS, name, line)};
  Node *n = add_node(g, OP_CONV2D, name, in, 3, name, out, line);
  node_set_int(g, n, "filters", filters);
  set_window(g, n, k, 1, pad);
  node_set_int(g, n, "groups", 1);
  return n;
}

static Node *dense(Graph *g, const char *name, Value *x, int64_t units, int64_t f, bool known,
                   TensorType out, int line) {
  char wn[64], bn[64];
  snprintf(wn, sizeof wn, "%s.weight", name);
  snprintf(bn, sizeof bn, "%s.bias", name);
  Value *in[3] = {x, param(g, wn, f32_2(units, known ? f : -1), INIT_XAVIER, name, line),
                  param(g, bn, f32_1(units), INIT_ZEROS, name, line)};
  Node *n = add_node(g, OP_DENSE, name, in, 3, name, out, line);
  node_set_int(g, n, "units", units);
  return n;
}

static Node *unary(Graph *g, OpKind op, const char *name, Value *x, TensorType out, int line) {
  return add_node(g, op, name, &x, 1, name, out, line);
}

static Node *pool(Graph *g, OpKind op, const char *name, Value *x, TensorType out, int line) {
  Node *n = unary(g, op, name, x, out, line);
  set_window(g, n, 2, 2, 0);
  return n;
}

static Node *batchnorm(Graph *g, const char *name, Value *x, int64_t c, TensorType out,
                       int line) {
  char b[4][64];
  const char *suffix[4] = {"gamma", "beta", "running_mean", "running_var"};
  InitKind kinds[4] = {INIT_ONES, INIT_ZEROS, INIT_ZEROS, INIT_ONES};
  Value *in[5] = {x};
  for (int i = 0; i < 4; i++) {
    snprintf(b[i], sizeof b[i], "%s.%s", name, suffix[i]);
    Init init = {kinds[i], 0};
    in[i + 1] = graph_add_param(g, b[i], i < 2 ? VAL_PARAM : VAL_STATE, f32_1(c), init, name,
                                test_loc(line, 3));
  }
  Node *n = add_node(g, OP_BATCHNORM, name, in, 5, name, out, line);
  node_set_float(g, n, "eps", 1e-5);
  node_set_float(g, n, "momentum", 0.1);
  return n;
}

static Graph *lenet(Arena *a, bool known) {
  Graph *g = graph_new(a, "lenet5", 32);
  TensorType u = f32_unknown();
  int64_t n32 = 32;
  Value *x = graph_add_input(g, "image", VAL_INPUT, f32_4(32, 1, 28, 28), test_loc(3, 3));
  Value *y = graph_add_input(g, "digit", VAL_LABEL, tt(DT_I32, 1, &n32), test_loc(4, 3));
  y->classes = 10;
  Node *c1 = conv(g, "c1", x, 6, 5, 2, known, 1, known ? f32_4(32, 6, 28, 28) : u, 6);
  Node *r1 = unary(g, OP_RELU, "relu", c1->out[0], known ? f32_4(32, 6, 28, 28) : u, 7);
  Node *p1 = pool(g, OP_MAXPOOL, "p1", r1->out[0], known ? f32_4(32, 6, 14, 14) : u, 7);
  Node *c2 = conv(g, "c2", p1->out[0], 16, 5, 0, known, 6, known ? f32_4(32, 16, 10, 10) : u, 8);
  Node *bn = batchnorm(g, "bn2", c2->out[0], 16, known ? f32_4(32, 16, 10, 10) : u, 9);
  Node *r2 = unary(g, OP_RELU, "relu.1", bn->out[0], known ? f32_4(32, 16, 10, 10) : u, 10);
  Node *p2 = pool(g, OP_MAXPOOL, "p2", r2->out[0], known ? f32_4(32, 16, 5, 5) : u, 10);
  Node *fl = unary(g, OP_FLATTEN, "flatten", p2->out[0], known ? f32_2(32, 400) : u, 11);
  Node *d1 = dense(g, "d1", fl->out[0], 120, 400, known, known ? f32_2(32, 120) : u, 11);
  Node *r3 = unary(g, OP_RELU, "relu.2", d1->out[0], known ? f32_2(32, 120) : u, 11);
  Node *lg = dense(g, "logits", r3->out[0], 10, 120, known, known ? f32_2(32, 10) : u, 13);
  Value *ce_in[2] = {lg->out[0], y};
  Node *loss = add_node(g, OP_SOFTMAX_CROSS_ENTROPY, "loss", ce_in, 2, "loss",
                        known ? tt(DT_F32, 0, NULL) : u, 14);
  graph_add_output(g, loss->out[0]);
  graph_add_output(g, lg->out[0]);
  return g;
}

Graph *build_lenet(Arena *a) { return lenet(a, true); }
Graph *build_lenet_unknown(Arena *a) { return lenet(a, false); }

Graph *build_all_ops(Arena *a) {
  Graph *g = graph_new(a, "all_ops", 4);
  Value *x = graph_add_input(g, "x", VAL_INPUT, f32_4(4, 8, 8, 8), test_loc(2, 3));
  Value *t = graph_add_input(g, "target", VAL_LABEL, f32_2(4, 3), test_loc(3, 3));
  /* depthwise conv without bias */
  Value *dw_in[2] = {x, param(g, "dw.weight", f32_4(8, 1, 3, 3), INIT_HE, "dw", 4)};
  Node *dw = add_node(g, OP_CONV2D, "dw", dw_in, 2, "dw", f32_4(4, 8, 8, 8), 4);
  node_set_int(g, dw, "filters", 8);
  set_window(g, dw, 3, 1, 1);
  node_set_int(g, dw, "groups", 8);
  Value *s_in[2] = {dw->out[0], param(g, "s.scale", f32_1(1), INIT_ONES, "s", 5)};
  Node *sc = add_node(g, OP_SCALE, "s", s_in, 2, "s", f32_4(4, 8, 8, 8), 5);
  Value *b_in[2] = {sc->out[0], param(g, "b.bias", f32_1(1), INIT_ZEROS, "b", 6)};
  Node *bi = add_node(g, OP_BIAS, "b", b_in, 2, "b", f32_4(4, 8, 8, 8), 6);
  Value *add_in[2] = {bi->out[0], x};
  Node *ad = add_node(g, OP_ADD, "res", add_in, 2, "res", f32_4(4, 8, 8, 8), 7);
  Node *r6 = unary(g, OP_RELU6, "r6", ad->out[0], f32_4(4, 8, 8, 8), 8);
  Node *ap = pool(g, OP_AVGPOOL, "ap", r6->out[0], f32_4(4, 8, 4, 4), 9);
  Node *gp = unary(g, OP_GLOBAL_AVGPOOL, "gap", ap->out[0], f32_2(4, 8), 10);
  Node *dr = unary(g, OP_DROPOUT, "drop", gp->out[0], f32_2(4, 8), 11);
  node_set_float(g, dr, "rate", 0.5);
  Node *bn = batchnorm(g, "bn", dr->out[0], 8, f32_2(4, 8), 12);
  Node *fc = dense(g, "fc", bn->out[0], 3, 8, true, f32_2(4, 3), 13);
  Value *m_in[2] = {fc->out[0], t};
  Node *m = add_node(g, OP_MSE, "mse", m_in, 2, "loss", tt(DT_F32, 0, NULL), 14);
  graph_add_output(g, m->out[0]);
  return g;
}

Graph *build_odd(Arena *a) {
  Graph *g = graph_new(a, "odd graph \"v2\"", 2);
  SrcLoc none = {0};
  SrcLoc weird = {"dir with space/q\"uote\\.net", 0, 0};
  Value *x = graph_add_input(g, "in put\n", VAL_INPUT, f32_2(2, 4), none);
  Value *y = graph_add_input(g, "7", VAL_LABEL, f32_2(2, 3), weird);
  /* every init kind, with the values a pass might set */
  Init inits[] = {{INIT_ZEROS, 0}, {INIT_ONES, 0},   {INIT_CONST, 1},  {INIT_CONST, -2.5e-300},
                  {INIT_HE, 3},    {INIT_XAVIER, 0}, {INIT_NORMAL, 1e-3}, {INIT_CONST, NAN},
                  {INIT_CONST, -INFINITY}, {INIT_CONST, 0.1 + 0.2}, {INIT_CONST, -0.0},
                  {INIT_CONST, 4.9406564584124654e-324}};
  int ninits = (int)(sizeof inits / sizeof inits[0]);
  for (int i = 0; i < ninits; i++) {
    char name[32];
    snprintf(name, sizeof name, "p%d.w", i);
    graph_add_param(g, name, i % 2 ? VAL_STATE : VAL_PARAM, f32_1(1), inits[i],
                    i % 3 == 0 ? "layer with space" : i % 3 == 1 ? "L.1" : NULL, none);
  }
  Value *w = graph_add_param(g, "w\xc3\xa9ight\t\x01", VAL_PARAM, f32_2(3, 4),
                             (Init){INIT_NORMAL, 0.02}, "\xc3\xa9", weird);
  Value *in[2] = {x, w};
  const char *res[1] = {"1.result"};
  Node *d = graph_add_node(g, OP_DENSE, "dense \"quoted\"", in, 2, res, 1, none);
  d->out[0]->type = f32_2(2, 3);
  node_set_int(g, d, "units", 3);
  Value *dr_in = d->out[0];
  Node *dr = graph_add_node(g, OP_DROPOUT, NULL, &dr_in, 1, (const char *[]){"%drop"}, 1,
                            (SrcLoc){"x.net", 123456, 7});
  dr->out[0]->type = f32_2(2, 3);
  node_set_float(g, dr, "rate", 1.0 / 3.0);
  Value *m_in[2] = {dr->out[0], y};
  Node *m = graph_add_node(g, OP_MSE, "", m_in, 2, (const char *[]){""}, 1, none);
  m->out[0]->type = tt(DT_F32, 0, NULL);
  return g;
}

static Value *state(Graph *g, const char *name, TensorType t, const char *layer) {
  return graph_add_param(g, name, VAL_STATE, t, (Init){INIT_ZEROS, 0}, layer, test_loc(20, 1));
}

Graph *build_training(Arena *a) {
  Graph *g = graph_new(a, "train", 2);
  int64_t n2 = 2;
  TensorType scalar = tt(DT_F32, 0, NULL);
  Value *x = graph_add_input(g, "x", VAL_INPUT, f32_2(2, 3), test_loc(2, 3));
  Value *y = graph_add_input(g, "y", VAL_LABEL, tt(DT_I32, 1, &n2), test_loc(3, 3));
  y->classes = 4;
  Value *fc_in[2] = {x, param(g, "fc.weight", f32_2(4, 3), INIT_XAVIER, "fc", 4)};
  Node *fc = add_node(g, OP_DENSE, "fc", fc_in, 2, "fc", f32_2(2, 4), 4);
  node_set_int(g, fc, "units", 4);
  Value *bn_in[5] = {fc->out[0], param(g, "bn.gamma", f32_1(4), INIT_ONES, "bn", 5),
                     param(g, "bn.beta", f32_1(4), INIT_ZEROS, "bn", 5),
                     state(g, "bn.running_mean", f32_1(4), "bn"),
                     state(g, "bn.running_var", f32_1(4), "bn")};
  const char *bn_out[3] = {"bn", "bn.mean", "bn.invstd"};
  Node *bn = graph_add_node(g, OP_BATCHNORM_TRAIN, "bn", bn_in, 5, bn_out, 3, test_loc(5, 3));
  bn->out[0]->type = f32_2(2, 4);
  bn->out[1]->type = f32_1(4);
  bn->out[2]->type = f32_1(4);
  node_set_float(g, bn, "eps", 1e-5);
  node_set_float(g, bn, "momentum", 0.1);
  Value *ce_in[2] = {bn->out[0], y};
  Node *loss = add_node(g, OP_SOFTMAX_CROSS_ENTROPY, "loss", ce_in, 2, "loss", scalar, 6);
  Node *dl = add_node(g, OP_SOFTMAX_CROSS_ENTROPY_GRAD, "loss", ce_in, 2, "loss.grad",
                      f32_2(2, 4), 6);
  Node *dd = unary(g, OP_DROPOUT_GRAD, "drop", dl->out[0], f32_2(2, 4), 7);
  node_set_float(g, dd, "rate", 0.25);
  node_set_str(g, dd, "stream", "drop \"1\"");
  Node *sum = unary(g, OP_SUM, "b.grad", dd->out[0], f32_1(1), 8);
  Value *epoch = state(g, "epoch", tt(DT_I32, 0, NULL), NULL);
  Node *lr = unary(g, OP_LR_SCHEDULE, "lr", epoch, scalar, 9);
  node_set_float(g, lr, "lr", 0.01);
  node_set_str(g, lr, "schedule", "cosine");
  node_set_float(g, lr, "gamma", 0.1);
  node_set_int(g, lr, "step_epochs", 0);
  node_set_float(g, lr, "min_lr", 0);
  node_set_int(g, lr, "epochs", 10);
  node_set_int(g, lr, "warmup_epochs", 0);
  Value *sgd_in[4] = {param(g, "b", f32_1(1), INIT_ZEROS, "b", 8), sum->out[0], lr->out[0],
                      state(g, "b.momentum", f32_1(1), "b")};
  Node *sgd = graph_add_node(g, OP_SGD_UPDATE, "b", sgd_in, 4, NULL, 0, test_loc(10, 3));
  node_set_float(g, sgd, "momentum", 0.9);
  node_set_float(g, sgd, "weight_decay", 5e-4);
  node_set_int(g, sgd, "nesterov", 0);
  Value *step = state(g, "step", tt(DT_I64, 0, NULL), NULL);
  Value *adam_in[6] = {param(g, "c", f32_1(1), INIT_ONES, "c", 11), sum->out[0], lr->out[0],
                       state(g, "c.adam_m", f32_1(1), "c"), state(g, "c.adam_v", f32_1(1), "c"),
                       step};
  Node *adam = graph_add_node(g, OP_ADAM_UPDATE, "c", adam_in, 6, NULL, 0, test_loc(11, 3));
  node_set_float(g, adam, "beta1", 0.9);
  node_set_float(g, adam, "beta2", 0.999);
  node_set_float(g, adam, "eps", 1e-8);
  node_set_float(g, adam, "weight_decay", 0);
  graph_add_node(g, OP_STEP_INCREMENT, "step", &step, 1, NULL, 0, test_loc(12, 3));
  graph_add_output(g, loss->out[0]);
  return g;
}
