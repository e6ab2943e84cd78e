/* The per-layer report (--emit=report). The table is a list of columns, each
 * a title and a function that formats one cell, so later stages add
 * precision or memory-plan columns with one line each; widths are measured
 * before printing so the columns stay aligned whatever the names. */
#include "report.h"

#include <string.h>

#include "recipe.h"
#include "shape_rules.h"

/* What a cell sees: the graph and, when there is one, the recipe. */
typedef struct Report {
  const Graph *g;
  const Recipe *r; /* NULL: no precision column */
} Report;

typedef struct Column {
  const char *title;
  bool numeric; /* right-aligned */
  void (*cell)(const Report *rp, const Node *n, char *buf, size_t size);
} Column;

/* 1234567 -> "1,234,567"; negative (unknown or overflow) -> "?". */
static void format_count(int64_t v, char *buf, size_t size) {
  if (v < 0) {
    snprintf(buf, size, "?");
    return;
  }
  char digits[32];
  int len = snprintf(digits, sizeof digits, "%lld", (long long)v);
  size_t o = 0;
  for (int i = 0; i < len && o + 1 < size; i++) {
    if (i > 0 && (len - i) % 3 == 0 && o + 2 < size) buf[o++] = ',';
    buf[o++] = digits[i];
  }
  buf[o] = 0;
}

/* Sum of a and b, -1 if either is unknown or the sum overflows. */
static int64_t add_count(int64_t a, int64_t b) {
  if (a < 0 || b < 0 || a > INT64_MAX - b) return -1;
  return a + b;
}

/* The parameter an operand is, or that a quantize node made it from (an
 * int8 product reads its weight through a quantize): NULL if none. */
static const Value *operand_param(const Value *v) {
  if (v->kind == VAL_NODE && v->def && v->def->op == OP_QUANTIZE && v->def_index == 0 &&
      v->def->nin == 1)
    v = v->def->in[0];
  return v->kind == VAL_PARAM ? v : NULL;
}

static int64_t node_params(const Node *n) {
  int64_t sum = 0;
  for (int i = 0; i < n->nin; i++) {
    const Value *p = operand_param(n->in[i]);
    if (p) sum = add_count(sum, shape_numel(&p->type.shape));
  }
  return sum;
}

static void cell_layer(const Report *rp, const Node *n, char *buf, size_t size) {
  (void)rp;
  snprintf(buf, size, "%s", n->name ? n->name : "-");
}

static void cell_op(const Report *rp, const Node *n, char *buf, size_t size) {
  (void)rp;
  snprintf(buf, size, "%s", op_name(n->op));
}

/* The first result's shape without the batch dimension; a scalar is []. */
static void cell_shape(const Report *rp, const Node *n, char *buf, size_t size) {
  (void)rp;
  if (n->nout < 1) {
    snprintf(buf, size, "-");
    return;
  }
  Shape s = n->out[0]->type.shape;
  if (s.rank > 0) {
    for (int i = 1; i < s.rank; i++) s.dim[i - 1] = s.dim[i];
    s.rank--;
  }
  shape_str(&s, buf, size);
}

static void cell_params(const Report *rp, const Node *n, char *buf, size_t size) {
  (void)rp;
  format_count(node_params(n), buf, size);
}

static void cell_macs(const Report *rp, const Node *n, char *buf, size_t size) {
  format_count(node_macs_per_sample(n, rp->g->batch), buf, size);
}

/* A product layer's precision from the recipe (its override, else the
 * global), with its LAC and PRC settings where the precision has them:
 * "octo  lac element lambda=0.1  prc scale p=0.95 [error,activation,weight]". */
static void cell_precision(const Report *rp, const Node *n, char *buf, size_t size) {
  bool product = n->op == OP_CONV2D || n->op == OP_DENSE || n->op == OP_CONV2D_I8 ||
                 n->op == OP_DENSE_I8;
  if (!product || !n->name) {
    snprintf(buf, size, "-");
    return;
  }
  LayerSettings ls = recipe_layer(rp->r, n->name);
  size_t k = 0;
#define PUT(...) (k += (size_t)snprintf(buf + k, k < size ? size - k : 0, __VA_ARGS__))
  PUT("%s", precision_name(ls.precision));
  if (precision_has_lac(ls.precision))
    PUT("  lac %s lambda=%g%s", lac_granularity_name(ls.lac.granularity), ls.lac.lambda,
        ls.lac.clip ? " clip" : "");
  if (precision_has_prc(ls.precision)) {
    if (ls.prc.method == PRC_SIGMA) PUT("  prc sigma z=%g [", ls.prc.z);
    else PUT("  prc scale p=%g [", ls.prc.p);
    const char *sep = "";
    for (int b = 0; b < PRC_TENSOR_KINDS; b++)
      if (ls.prc.tensors >> b & 1u) {
        PUT("%s%s", sep, prc_tensor_name(1u << b));
        sep = ",";
      }
    PUT("]");
  }
#undef PUT
}

/* The nodes the fuse pass folded into this one (passes/fuse.c); the column
 * is there only when the graph was fused. */
static void cell_fused(const Report *rp, const Node *n, char *buf, size_t size) {
  (void)rp;
  const char *f = node_str(n, "fused");
  snprintf(buf, size, "%s", f && *f ? f : "-");
}

static const Column columns[] = {
    {"layer", false, cell_layer},
    {"op", false, cell_op},
    {"output/sample", false, cell_shape},
    {"params", true, cell_params},
    {"MACs/sample", true, cell_macs},
    {"fused", false, cell_fused},
    {"precision", false, cell_precision},
};
enum { NALL = sizeof columns / sizeof columns[0], CELL = 160 };

static void print_cell(FILE *out, const Column *c, const char *text, int width, bool last) {
  if (c->numeric)
    fprintf(out, "%*s", width, text);
  else if (last)
    fputs(text, out);
  else
    fprintf(out, "%-*s", width, text);
  fputs(last ? "\n" : "  ", out);
}

/* Whether a node is part of training rather than a layer: a backward or
 * update op, or a quantize or range clip whose results only such nodes
 * read (PRC's clips of e, of the saved activation, of the weight for dx,
 * and their quantizations). depth bounds the walk through clip chains. */
static bool training_only_at(const Graph *g, const Node *n, int depth) {
  if (op_is_training(n->op)) return true;
  if ((n->op != OP_RANGE_CLIP && n->op != OP_QUANTIZE) || depth > 4) return false;
  int readers = 0;
  for (int o = 0; o < n->nout; o++) {
    Node *users[64];
    int k = value_users(g, n->out[o], users, 64);
    if (k > 64) return false;
    for (int i = 0; i < k; i++)
      if (!training_only_at(g, users[i], depth + 1)) return false;
    readers += k;
  }
  return readers > 0;
}

/* Rows are the network's layers: a quantize belongs to the int8 product
 * that reads it (its precision column says int8), and training-only nodes
 * count in the training totals. */
static bool training_only(const Graph *g, const Node *n) {
  return n->op == OP_QUANTIZE || training_only_at(g, n, 0);
}

/* The table lists the layers of the network (forward nodes); the backward
 * and update nodes count in the training totals. */
static bool any_fused(const Graph *g) {
  for (int i = 0; i < g->nnodes; i++) {
    const char *f = node_str(g->nodes[i], "fused");
    if (f && *f) return true;
  }
  return false;
}

static void print_table(FILE *out, const Report *rp) {
  const Graph *g = rp->g;
  /* the fused column only for a fused graph, precision only with a recipe */
  const Column *cols[NALL];
  int ncols = 0;
  for (int c = 0; c < NALL; c++) {
    if (columns[c].cell == cell_fused && !any_fused(g)) continue;
    if (columns[c].cell == cell_precision && !rp->r) continue;
    cols[ncols++] = &columns[c];
  }
  int width[NALL];
  char buf[CELL];
  for (int c = 0; c < ncols; c++) {
    width[c] = (int)strlen(cols[c]->title);
    for (int i = 0; i < g->nnodes; i++) {
      if (training_only(g, g->nodes[i])) continue;
      cols[c]->cell(rp, g->nodes[i], buf, sizeof buf);
      if ((int)strlen(buf) > width[c]) width[c] = (int)strlen(buf);
    }
  }
  for (int c = 0; c < ncols; c++)
    print_cell(out, cols[c], cols[c]->title, width[c], c == ncols - 1);
  for (int c = 0; c < ncols; c++) {
    for (int k = 0; k < width[c]; k++) fputc('-', out);
    fputs(c == ncols - 1 ? "\n" : "  ", out);
  }
  for (int i = 0; i < g->nnodes; i++)
    for (int c = 0; c < ncols && !training_only(g, g->nodes[i]); c++) {
      cols[c]->cell(rp, g->nodes[i], buf, sizeof buf);
      print_cell(out, cols[c], buf, width[c], c == ncols - 1);
    }
}

static void print_total(FILE *out, const char *what, int64_t v) {
  char buf[CELL];
  format_count(v, buf, sizeof buf);
  fprintf(out, "%-30s %15s\n", what, buf);
}

/* Totals count each parameter once, even if several nodes share it. */
static void print_totals(FILE *out, const Graph *g) {
  int64_t params = 0, bytes = 0, macs = 0;
  for (int i = 0; i < g->nvalues; i++) {
    const Value *v = g->values[i];
    if (v->kind != VAL_PARAM) continue;
    int64_t numel = shape_numel(&v->type.shape);
    params = add_count(params, numel);
    int64_t size = (int64_t)dtype_size(v->type.dtype);
    bytes = add_count(bytes, numel >= 0 && numel <= INT64_MAX / 8 ? numel * size : -1);
  }
  int64_t train_macs = 0;
  bool training = false;
  for (int i = 0; i < g->nnodes; i++) {
    int64_t m = node_macs_per_sample(g->nodes[i], g->batch);
    train_macs = add_count(train_macs, m);
    if (op_is_training(g->nodes[i]->op)) training = true;
    else macs = add_count(macs, m);
  }
  int64_t step = macs >= 0 && g->batch > 0 && macs <= INT64_MAX / g->batch
                     ? macs * g->batch
                     : -1;
  fputc('\n', out);
  print_total(out, "parameters", params);
  print_total(out, "parameter bytes", bytes);
  print_total(out, "MACs per sample", macs);
  print_total(out, "MACs per batch step (forward)", step);
  if (training) print_total(out, "MACs per sample (training)", train_macs);
}

/* Every kernel the fuse pass built, the backward and quantize ones too:
 * "p1.dx  maxpool_grad_i8 [relu_grad] <- p1.relu.dx". */
static void print_fusions(FILE *out, const Graph *g) {
  int kernels = 0, folded = 0;
  for (int i = 0; i < g->nnodes; i++) {
    const char *f = node_str(g->nodes[i], "fused");
    if (!f || !*f) continue;
    kernels++;
    folded++;
    for (const char *c = f; *c; c++) folded += *c == ' ';
  }
  if (!kernels) return;
  fprintf(out, "\nfused kernels: %d nodes folded into %d\n", folded, kernels);
  for (int i = 0; i < g->nnodes; i++) {
    const Node *n = g->nodes[i];
    const char *f = node_str(n, "fused");
    if (!f || !*f) continue;
    const char *how = node_str(n, n->op == OP_QUANTIZE ? "clip" : "epilogue");
    if (node_attr(n, "pool")) /* a folded routed maxpool */
      how = arena_printf(g->arena, "%s+maxpool", how && strcmp(how, "none") != 0 ? how : "");
    fprintf(out, "  %-28s %-18s %-25s <- %s\n", n->name ? n->name : "-", op_name(n->op),
            how ? how : "", f);
  }
  /* the routed errors each reader computes for itself */
  for (int i = 0; i < g->nnodes; i++) {
    const Node *n = g->nodes[i];
    if (n->op != OP_MAXPOOL_ROUTE_GRAD || !node_int(n, "inline", 0)) continue;
    Node *readers[8];
    int nr = value_users(g, n->out[0], readers, 8);
    fprintf(out, "  %-28s %-18s %-25s ->", n->name ? n->name : "-", op_name(n->op), "inline");
    for (int k = 0; k < nr && k < 8; k++) fprintf(out, " %s", readers[k]->name ? readers[k]->name : "-");
    fputc('\n', out);
  }
}

void graph_report_recipe(FILE *out, const Graph *g, const struct Recipe *r) {
  Report rp = {g, r};
  fprintf(out, "model %s, batch %d\n\n", g->name, g->batch);
  print_table(out, &rp);
  print_totals(out, g);
  print_fusions(out, g);
}

void graph_report(FILE *out, const Graph *g) { graph_report_recipe(out, g, NULL); }
