/* Test helpers for the pass tests (see testkit.h). */
#include "testkit.h"

#include <stdlib.h>
#include <string.h>

extern const Pass pass_shape_infer;

void kit_init(Kit *k, const char *name) {
  memset(k, 0, sizeof *k);
  k->arena = arena_new();
  k->g = graph_new(k->arena, name, 32);
  k->err = open_memstream(&k->text, &k->len);
  if (!k->err) abort();
  k->diag = diag_new(k->err);
  k->file = diag_add_source(k->diag, "test.net", "", 0);
  k->m = (Module){.arena = k->arena, .diag = k->diag, .graph = k->g};
}

void kit_free(Kit *k) {
  diag_free(k->diag);
  fclose(k->err);
  free(k->text);
  arena_free(k->arena);
}

const char *kit_messages(Kit *k) {
  fflush(k->err);
  return k->text ? k->text : "";
}

bool kit_contains(Kit *k, const char *s) { return strstr(kit_messages(k), s) != NULL; }

int kit_count(Kit *k, const char *s) {
  int n = 0;
  for (const char *p = kit_messages(k); (p = strstr(p, s)); p += strlen(s)) n++;
  return n;
}

SrcLoc kit_loc(Kit *k) { return (SrcLoc){k->file, ++k->line, 3}; }

Value *kit_input(Kit *k, const char *name, int rank, const int64_t *dims) {
  TensorType t = {DT_F32, shape_of(rank, dims)};
  return graph_add_input(k->g, name, VAL_INPUT, t, kit_loc(k));
}

Value *kit_label(Kit *k, const char *name, int64_t classes) {
  int64_t n = k->g->batch;
  TensorType t = {DT_I32, shape_of(1, &n)};
  Value *v = graph_add_input(k->g, name, VAL_LABEL, t, kit_loc(k));
  v->classes = classes;
  return v;
}

static Value *persistent(Kit *k, const char *name, ValueKind kind, int rank,
                         const int64_t *dims) {
  TensorType t = {DT_F32, rank < 0 ? shape_unknown() : shape_of(rank, dims)};
  char layer[64];
  snprintf(layer, sizeof layer, "%s", name);
  char *dot = strchr(layer, '.');
  if (dot) *dot = 0;
  Init init = {kind == VAL_PARAM ? INIT_HE : INIT_ZEROS, 0};
  return graph_add_param(k->g, name, kind, t, init, layer, kit_loc(k));
}

Value *kit_param(Kit *k, const char *name, int rank, const int64_t *dims) {
  return persistent(k, name, VAL_PARAM, rank, dims);
}

Value *kit_state(Kit *k, const char *name, int rank, const int64_t *dims) {
  return persistent(k, name, VAL_STATE, rank, dims);
}

Node *kit_node(Kit *k, OpKind op, const char *name, Value **in, int nin) {
  const char *out = graph_unique_name(k->g, name ? name : op_name(op));
  return graph_add_node(k->g, op, name, in, nin, &out, 1, kit_loc(k));
}

static void set_pair(Kit *k, Node *n, const char *attr, int64_t v) {
  int64_t pair[2] = {v, v};
  node_set_ints(k->g, n, attr, 2, pair);
}

Node *kit_conv(Kit *k, const char *name, Value *x, int64_t filters, int64_t kernel,
               int64_t stride, int64_t pad, int64_t groups) {
  char wn[64], bn[64];
  snprintf(wn, sizeof wn, "%s.weight", name);
  snprintf(bn, sizeof bn, "%s.bias", name);
  int64_t wd[4] = {filters, -1, kernel, kernel};
  Value *in[3] = {x, kit_param(k, wn, 4, wd), kit_param(k, bn, 1, &filters)};
  Node *n = kit_node(k, OP_CONV2D, name, in, 3);
  node_set_int(k->g, n, "filters", filters);
  set_pair(k, n, "kernel", kernel);
  set_pair(k, n, "stride", stride);
  set_pair(k, n, "pad", pad);
  node_set_int(k->g, n, "groups", groups);
  return n;
}

Node *kit_dense(Kit *k, const char *name, Value *x, int64_t units) {
  char wn[64], bn[64];
  snprintf(wn, sizeof wn, "%s.weight", name);
  snprintf(bn, sizeof bn, "%s.bias", name);
  int64_t wd[2] = {units, -1};
  Value *in[3] = {x, kit_param(k, wn, 2, wd), kit_param(k, bn, 1, &units)};
  Node *n = kit_node(k, OP_DENSE, name, in, 3);
  node_set_int(k->g, n, "units", units);
  return n;
}

Node *kit_pool(Kit *k, OpKind op, const char *name, Value *x, int64_t kernel, int64_t stride,
               int64_t pad) {
  Node *n = kit_node(k, op, name, &x, 1);
  set_pair(k, n, "kernel", kernel);
  set_pair(k, n, "stride", stride);
  set_pair(k, n, "pad", pad);
  return n;
}

Node *kit_unary(Kit *k, OpKind op, const char *name, Value *x) {
  Node *n = kit_node(k, op, name, &x, 1);
  if (op == OP_DROPOUT) node_set_float(k->g, n, "rate", 0.5);
  return n;
}

void kit_lenet(Kit *k) {
  int64_t img[4] = {32, 1, 28, 28};
  Value *x = kit_input(k, "image", 4, img);
  Value *digit = kit_label(k, "digit", 10);
  Value *h = kit_conv(k, "c1", x, 6, 5, 1, 2, 1)->out[0];
  h = kit_unary(k, OP_RELU, "relu", h)->out[0];
  h = kit_pool(k, OP_MAXPOOL, "p1", h, 2, 2, 0)->out[0];
  h = kit_conv(k, "c2", h, 16, 5, 1, 0, 1)->out[0];
  h = kit_unary(k, OP_RELU, "relu.1", h)->out[0];
  h = kit_pool(k, OP_MAXPOOL, "p2", h, 2, 2, 0)->out[0];
  h = kit_unary(k, OP_FLATTEN, "flatten", h)->out[0];
  h = kit_dense(k, "d1", h, 120)->out[0];
  h = kit_unary(k, OP_RELU, "relu.2", h)->out[0];
  h = kit_dense(k, "d2", h, 84)->out[0];
  h = kit_unary(k, OP_RELU, "relu.3", h)->out[0];
  h = kit_dense(k, "d3", h, 10)->out[0];
  Value *ce[2] = {h, digit};
  graph_add_output(k->g, kit_node(k, OP_SOFTMAX_CROSS_ENTROPY, "loss", ce, 2)->out[0]);
}

bool kit_shape_is(const Value *v, int rank, const int64_t *dims) {
  Shape s = shape_of(rank, dims);
  return shape_eq(&v->type.shape, &s);
}

bool kit_run_shape_infer(Kit *k) { return pass_shape_infer.run(&k->m); }
