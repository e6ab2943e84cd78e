/* Front-end unit tests: the scanner's tokens and locations, the parser's
 * tree, and lowering to the graph IR (ops, attributes, parameter names and
 * shapes, locations, naming rules, blocks, folding), and every model in
 * models/ (directory from argv[1] or $MODELS). */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ast.h"
#include "frontend.h"
#include "parser.h"
#include "lexer.h"

static const char *models_dir = "models";

/* One compilation with diagnostics captured in a memstream. */
typedef struct Run {
  Arena *a;
  Diag *d;
  FILE *out;
  char *text;
  size_t len;
  Graph *g;
} Run;

static Run *run_compile(const char *src) {
  Run *r = calloc(1, sizeof(Run));
  ck_assert_ptr_nonnull(r);
  r->out = open_memstream(&r->text, &r->len);
  ck_assert_ptr_nonnull(r->out);
  r->a = arena_new();
  r->d = diag_new(r->out);
  r->g = net_compile(r->a, r->d, "t.net", src, strlen(src), 32);
  fflush(r->out);
  return r;
}

static void run_free(Run *r) {
  diag_free(r->d);
  arena_free(r->a);
  fclose(r->out);
  free(r->text);
  free(r);
}

static Node *find_node(const Graph *g, const char *name) {
  for (int i = 0; i < g->nnodes; i++)
    if (strcmp(g->nodes[i]->name, name) == 0) return g->nodes[i];
  return NULL;
}

static void assert_shape(const Value *v, int rank, const int64_t *dims) {
  ck_assert_ptr_nonnull(v);
  ck_assert_int_eq(v->type.shape.rank, rank);
  for (int i = 0; i < rank; i++) ck_assert_int_eq(v->type.shape.dim[i], dims[i]);
}

/* ---- scanner ---- */

typedef struct Tok {
  int kind;
  SrcLoc loc;
  YYSTYPE val;
} Tok;

static int scan_all(const char *src, Tok *toks, int max, Diag *d, Arena *a) {
  ParseState st = {0};
  st.arena = a;
  st.diag = d;
  st.file = "t.net";
  st.line = st.col = 1;
  yyscan_t sc;
  ck_assert_int_eq(yylex_init_extra(&st, &sc), 0);
  yy_scan_bytes(src, (int)strlen(src), sc);
  int n = 0;
  for (;;) {
    Tok t = {0};
    t.kind = yylex(&t.val, &t.loc, sc);
    if (t.kind == YYEOF || n == max) break;
    toks[n++] = t;
  }
  yylex_destroy(sc);
  return n;
}

START_TEST(lexer_tokens_have_one_based_locations_and_tabs_count_one) {
  Arena *a = arena_new();
  Diag *d = diag_new(stderr);
  Tok t[32];
  int n = scan_all("network n {  # comment\n\tc1 = f(x, k=3, r=0.5, s=\"q\");\n}", t, 32, d, a);
  ck_assert_int_eq(n, 23);
  ck_assert_int_eq(t[0].kind, NETWORK);
  ck_assert_int_eq(t[0].loc.line, 1);
  ck_assert_int_eq(t[0].loc.col, 1);
  ck_assert_int_eq(t[1].kind, IDENT);
  ck_assert_str_eq(t[1].val.str, "n");
  ck_assert_int_eq(t[1].loc.col, 9);
  ck_assert_int_eq(t[3].kind, IDENT); /* c1 after a tab: column 2 */
  ck_assert_str_eq(t[3].val.str, "c1");
  ck_assert_int_eq(t[3].loc.line, 2);
  ck_assert_int_eq(t[3].loc.col, 2);
  ck_assert_int_eq(t[4].kind, '=');
  ck_assert_int_eq(t[11].kind, INT);
  ck_assert_int_eq(t[11].val.ival, 3);
  ck_assert_int_eq(t[11].loc.col, 14);
  ck_assert_int_eq(t[15].kind, FLOAT);
  ck_assert(t[15].val.fval == 0.5);
  ck_assert_int_eq(t[19].kind, STRING);
  ck_assert_str_eq(t[19].val.str, "q");
  ck_assert_int_eq(t[22].kind, '}');
  ck_assert_int_eq(t[22].loc.line, 3);
  ck_assert_int_eq(t[22].loc.col, 1);
  ck_assert_int_eq(diag_error_count(d), 0);
  diag_free(d);
  arena_free(a);
}
END_TEST

START_TEST(lexer_reports_integer_overflow_at_the_literal) {
  Arena *a = arena_new();
  char *buf;
  size_t len;
  FILE *out = open_memstream(&buf, &len);
  Diag *d = diag_new(out);
  Tok t[8];
  int n = scan_all("x 9223372036854775807 9223372036854775808", t, 8, d, a);
  ck_assert_int_eq(n, 3);
  ck_assert_int_eq(t[1].val.ival, INT64_MAX);
  ck_assert_int_eq(diag_error_count(d), 1);
  fflush(out);
  ck_assert_ptr_nonnull(strstr(buf, "t.net:1:23: error: integer literal is too large"));
  diag_free(d);
  fclose(out);
  free(buf);
  arena_free(a);
}
END_TEST

START_TEST(lexer_keywords_and_float_forms) {
  Arena *a = arena_new();
  Diag *d = diag_new(stderr);
  Tok t[16];
  int n = scan_all("block input label return networks 1e-5 .5 2. 7", t, 16, d, a);
  ck_assert_int_eq(n, 9);
  ck_assert_int_eq(t[0].kind, BLOCK);
  ck_assert_int_eq(t[1].kind, INPUT);
  ck_assert_int_eq(t[2].kind, LABEL);
  ck_assert_int_eq(t[3].kind, RETURN);
  ck_assert_int_eq(t[4].kind, IDENT); /* a keyword prefix is still a name */
  ck_assert_int_eq(t[5].kind, FLOAT);
  ck_assert(t[5].val.fval == 1e-5);
  ck_assert_int_eq(t[6].kind, FLOAT);
  ck_assert_int_eq(t[7].kind, FLOAT);
  ck_assert_int_eq(t[8].kind, INT);
  diag_free(d);
  arena_free(a);
}
END_TEST

/* ---- parser ---- */

START_TEST(parser_builds_decls_statements_and_nested_calls) {
  const char *src = "block b(x, ch, stride=1) { return relu(x); }\n"
                    "network n {\n"
                    "  input image: f32[1, 28, 28];\n"
                    "  y = conv2d(image, filters=2*3, kernel=[3, 5]);\n"
                    "}\n";
  Arena *a = arena_new();
  Diag *d = diag_new(stderr);
  diag_add_source(d, "t.net", src, strlen(src));
  Program *p = net_parse(a, d, "t.net", src, strlen(src));
  ck_assert_ptr_nonnull(p);
  Decl *blk = p->decls, *net = blk->next;
  ck_assert_int_eq(blk->kind, DECL_BLOCK);
  ck_assert_str_eq(blk->name, "b");
  ck_assert_int_eq(blk->nparams, 3);
  ck_assert_ptr_null(blk->params->dflt);
  ck_assert_int_eq(blk->params->next->next->dflt->ival, 1);
  ck_assert_int_eq(blk->body->kind, ST_RETURN);
  ck_assert_int_eq(net->kind, DECL_NETWORK);
  ck_assert_int_eq(net->loc.line, 2);
  ck_assert_int_eq(net->loc.col, 9);
  Stmt *in = net->body, *as = in->next;
  ck_assert_int_eq(in->kind, ST_INPUT);
  ck_assert_str_eq(in->type, "f32");
  ck_assert_int_eq(in->ndims, 3);
  ck_assert_int_eq(as->kind, ST_ASSIGN);
  ck_assert_str_eq(as->name, "y");
  char *buf;
  size_t len;
  FILE *out = open_memstream(&buf, &len);
  ast_print_expr(out, as->value);
  fclose(out);
  ck_assert_str_eq(buf, "conv2d(image, filters=(2 * 3), kernel=[3, 5])");
  free(buf);
  ck_assert_int_eq(as->value->loc.line, 4);
  ck_assert_int_eq(as->value->loc.col, 7);
  diag_free(d);
  arena_free(a);
}
END_TEST

START_TEST(parser_recovers_and_reports_several_syntax_errors) {
  Run *r = run_compile("network n {\n  a = relu(;\n  b = ;\n  c = relu(a);\n}\n");
  ck_assert_ptr_null(r->g);
  ck_assert_int_eq(diag_error_count(r->d), 2);
  ck_assert_ptr_nonnull(strstr(r->text, "t.net:2:12: error: syntax error: unexpected ';'"));
  ck_assert_ptr_nonnull(strstr(r->text, "t.net:3:7: error: syntax error: unexpected ';'"));
  run_free(r);
}
END_TEST

START_TEST(parser_operator_precedence) {
  const char *src = "network n { x = 1 + 2 * 3 - -4 / 2; }";
  Arena *a = arena_new();
  Diag *d = diag_new(stderr);
  Program *p = net_parse(a, d, "t.net", src, strlen(src));
  ck_assert_ptr_nonnull(p);
  char *buf;
  size_t len;
  FILE *out = open_memstream(&buf, &len);
  ast_print_expr(out, p->decls->body->value);
  fclose(out);
  ck_assert_str_eq(buf, "((1 + (2 * 3)) - (-4 / 2))");
  free(buf);
  diag_free(d);
  arena_free(a);
}
END_TEST

/* ---- lowering ---- */

static const char *lenet =
    "network lenet5 {\n"
    "  input  image: f32[1, 28, 28];\n"
    "  label  digit: class[10];\n"
    "  c1 = conv2d(image, filters=6, kernel=5, pad=2);\n"
    "  p1 = maxpool(relu(c1), kernel=2, stride=2);\n"
    "  c2 = conv2d(p1, filters=16, kernel=5);\n"
    "  p2 = maxpool(relu(c2), kernel=2, stride=2);\n"
    "  d1 = relu(dense(flatten(p2), units=120));\n"
    "  d2 = relu(dense(d1, units=84));\n"
    "  logits = dense(d2, units=10);\n"
    "  loss = softmax_cross_entropy(logits, digit);\n"
    "}\n";

START_TEST(lower_lenet_ops_attrs_and_schedule) {
  Run *r = run_compile(lenet);
  ck_assert_msg(r->g != NULL, "%s", r->text);
  Graph *g = r->g;
  ck_assert_str_eq(g->name, "lenet5");
  ck_assert_int_eq(g->batch, 32);
  static const OpKind ops[] = {OP_CONV2D, OP_RELU,    OP_MAXPOOL, OP_CONV2D, OP_RELU,
                               OP_MAXPOOL, OP_FLATTEN, OP_DENSE,   OP_RELU,   OP_DENSE,
                               OP_RELU,    OP_DENSE,   OP_SOFTMAX_CROSS_ENTROPY};
  ck_assert_int_eq(g->nnodes, 13);
  for (int i = 0; i < 13; i++) ck_assert_int_eq(g->nodes[i]->op, ops[i]);
  Node *c1 = find_node(g, "c1");
  ck_assert_int_eq(node_int(c1, "filters", 0), 6);
  ck_assert_int_eq(node_ints(c1, "kernel", 1, 0), 5);
  ck_assert_int_eq(node_ints(c1, "pad", 0, -1), 2);
  ck_assert_int_eq(node_ints(c1, "stride", 0, -1), 1);
  ck_assert_int_eq(node_int(c1, "groups", 0), 1);
  ck_assert_int_eq(c1->nattrs, 5);
  ck_assert_int_eq(c1->loc.line, 4);
  ck_assert_int_eq(c1->loc.col, 8);
  ck_assert_int_eq(c1->nin, 3);
  ck_assert_int_eq(node_ints(find_node(g, "p1"), "stride", 0, 0), 2);
  ck_assert_int_eq(node_int(find_node(g, "d1"), "units", 0), 120);
  ck_assert_int_eq(g->noutputs, 2);
  ck_assert_str_eq(g->outputs[0]->name, "loss");
  ck_assert_str_eq(g->outputs[1]->name, "logits");
  run_free(r);
}
END_TEST

START_TEST(lower_lenet_params_names_shapes_and_inits) {
  Run *r = run_compile(lenet);
  Graph *g = r->g;
  ck_assert_ptr_nonnull(g);
  assert_shape(graph_find_value(g, "image"), 4, (int64_t[]){32, 1, 28, 28});
  Value *digit = graph_find_value(g, "digit");
  ck_assert_int_eq(digit->kind, VAL_LABEL);
  ck_assert_int_eq(digit->type.dtype, DT_I32);
  ck_assert_int_eq(digit->classes, 10);
  assert_shape(digit, 1, (int64_t[]){32});
  Value *w1 = graph_find_value(g, "c1.weight");
  assert_shape(w1, 4, (int64_t[]){6, 1, 5, 5}); /* input channels known from the input */
  ck_assert_int_eq(w1->init.kind, INIT_HE);
  ck_assert_str_eq(w1->layer, "c1");
  Value *b1 = graph_find_value(g, "c1.bias");
  assert_shape(b1, 1, (int64_t[]){6});
  ck_assert_int_eq(b1->init.kind, INIT_ZEROS);
  assert_shape(graph_find_value(g, "c2.weight"), 4, (int64_t[]){16, -1, 5, 5});
  assert_shape(graph_find_value(g, "d1.weight"), 2, (int64_t[]){120, -1});
  assert_shape(graph_find_value(g, "logits.weight"), 2, (int64_t[]){10, -1});
  /* Node results have unknown shapes until shape inference. */
  ck_assert_int_lt(graph_find_value(g, "c1")->type.shape.rank, 0);
  run_free(r);
}
END_TEST

START_TEST(lower_nested_names_follow_the_binding) {
  Run *r = run_compile(lenet);
  Graph *g = r->g;
  ck_assert_ptr_nonnull(g);
  /* d1 = relu(dense(flatten(p2))): dense owns the parameters, so it is the
   * layer d1; the others are d1.<op>; the bound value is %d1. */
  Node *dense = find_node(g, "d1");
  ck_assert_int_eq(dense->op, OP_DENSE);
  ck_assert_str_eq(dense->out[0]->name, "d1.dense");
  ck_assert_int_eq(find_node(g, "d1.relu")->op, OP_RELU);
  ck_assert_str_eq(find_node(g, "d1.relu")->out[0]->name, "d1");
  ck_assert_int_eq(find_node(g, "d1.flatten")->op, OP_FLATTEN);
  /* p1 = maxpool(relu(c1)): no parameters, the outermost op is p1. */
  ck_assert_int_eq(find_node(g, "p1")->op, OP_MAXPOOL);
  ck_assert_int_eq(find_node(g, "p1.relu")->op, OP_RELU);
  run_free(r);
}
END_TEST

START_TEST(lower_two_param_ops_in_one_binding) {
  Run *r = run_compile("network n {\n input x: f32[4];\n label y: f32[2];\n"
                       " h = batchnorm(dense(dense(x, units=3), units=2));\n"
                       " loss = mse(h, y);\n}\n");
  ck_assert_msg(r->g != NULL, "%s", r->text);
  Graph *g = r->g;
  ck_assert_int_eq(find_node(g, "h")->op, OP_BATCHNORM);
  ck_assert_int_eq(find_node(g, "h.dense")->op, OP_DENSE);
  ck_assert_int_eq(find_node(g, "h.dense.1")->op, OP_DENSE);
  assert_shape(graph_find_value(g, "h.dense.weight"), 2, (int64_t[]){3, 4});
  ck_assert_int_eq(graph_find_value(g, "h.running_var")->kind, VAL_STATE);
  ck_assert_int_eq(graph_find_value(g, "h.running_var")->init.kind, INIT_ONES);
  ck_assert_int_eq(graph_find_value(g, "h.gamma")->kind, VAL_PARAM);
  ck_assert(node_float(find_node(g, "h"), "eps", 0) == 1e-5);
  ck_assert(node_float(find_node(g, "h"), "momentum", 0) == 0.1);
  Value *y = graph_find_value(g, "y");
  ck_assert_int_eq(y->classes, 0);
  assert_shape(y, 2, (int64_t[]){32, 2});
  ck_assert_int_eq(g->outputs[0]->def->op, OP_MSE);
  run_free(r);
}
END_TEST

static const char *blocks_src =
    "block basic(x, ch, stride=1) {\n"
    "  h = relu(conv2d(x, filters=ch, kernel=3, stride=stride, pad=1));\n"
    "  h = conv2d(h, filters=ch * 2 / 2, kernel=3, pad=1, bias=false);\n"
    "  return relu(add(h, x));\n"
    "}\n"
    "network n {\n"
    "  input image: f32[16, 8, 8];\n"
    "  label digit: class[10];\n"
    "  s1 = basic(image, 16);\n"
    "  s1 = basic(s1, ch=16, stride=1);\n"
    "  logits = dense(flatten(s1), units=10, name=\"fc\");\n"
    "  loss = softmax_cross_entropy(logits, digit);\n"
    "}\n";

START_TEST(lower_blocks_prefix_instances_and_rebinding_never_collides) {
  Run *r = run_compile(blocks_src);
  ck_assert_msg(r->g != NULL, "%s", r->text);
  Graph *g = r->g;
  assert_shape(graph_find_value(g, "s1.h.weight"), 4, (int64_t[]){16, 16, 3, 3});
  ck_assert_ptr_nonnull(graph_find_value(g, "s1.h.bias"));
  /* Second conv: bias=false, filters folded from ch * 2 / 2. */
  Node *h1 = find_node(g, "s1.h.1");
  ck_assert_int_eq(h1->nin, 2);
  ck_assert_int_eq(node_int(h1, "filters", 0), 16);
  ck_assert_ptr_null(graph_find_value(g, "s1.h.1.bias"));
  /* The block's result is the instance's layer and value. */
  ck_assert_int_eq(find_node(g, "s1")->op, OP_RELU);
  ck_assert_str_eq(find_node(g, "s1")->out[0]->name, "s1");
  ck_assert_int_eq(find_node(g, "s1.add")->op, OP_ADD);
  /* The re-bound second instance is s1.1. */
  ck_assert_ptr_nonnull(graph_find_value(g, "s1.1.h.weight"));
  ck_assert_str_eq(find_node(g, "s1.1")->out[0]->name, "s1.1");
  ck_assert_ptr_eq(find_node(g, "s1.1.h")->in[0], graph_find_value(g, "s1"));
  /* name= overrides the layer name. */
  ck_assert_int_eq(find_node(g, "fc")->op, OP_DENSE);
  ck_assert_ptr_nonnull(graph_find_value(g, "fc.weight"));
  ck_assert_str_eq(graph_find_value(g, "fc.weight")->layer, "fc");
  ck_assert_int_eq(g->nnodes, 13);
  run_free(r);
}
END_TEST

START_TEST(lower_names_are_deterministic) {
  Run *r1 = run_compile(blocks_src), *r2 = run_compile(blocks_src);
  ck_assert_int_eq(r1->g->nvalues, r2->g->nvalues);
  for (int i = 0; i < r1->g->nvalues; i++)
    ck_assert_str_eq(r1->g->values[i]->name, r2->g->values[i]->name);
  for (int i = 0; i < r1->g->nnodes; i++)
    ck_assert_str_eq(r1->g->nodes[i]->name, r2->g->nodes[i]->name);
  run_free(r1);
  run_free(r2);
}
END_TEST

START_TEST(lower_attribute_forms_defaults_and_scalars) {
  Run *r = run_compile(
      "network n {\n  input x: u8[4, 9, 9];\n  label y: class[4];\n  ch = 4;\n"
      "  a = conv2d(x, filters=ch * 2, kernel=[3, 1], stride=[2, 1], groups=ch / 2,"
      " init=normal(0.01));\n"
      "  b = avgpool(scale(bias(a, init=0.5), init=2), kernel=[2, 3]);\n"
      "  c = dense(flatten(b), units=4, init=xavier, bias=false, in_features=96);\n"
      "  loss = softmax_cross_entropy(c, y);\n}\n");
  ck_assert_msg(r->g != NULL, "%s", r->text);
  Graph *g = r->g;
  ck_assert_int_eq(graph_find_value(g, "x")->type.dtype, DT_U8);
  Node *a = find_node(g, "a");
  ck_assert_int_eq(node_int(a, "filters", 0), 8);
  ck_assert_int_eq(node_int(a, "groups", 0), 2);
  ck_assert_int_eq(node_ints(a, "kernel", 0, 0), 3);
  ck_assert_int_eq(node_ints(a, "kernel", 1, 0), 1);
  ck_assert_int_eq(node_ints(a, "stride", 0, 0), 2);
  Value *w = graph_find_value(g, "a.weight");
  assert_shape(w, 4, (int64_t[]){8, 2, 3, 1}); /* 4 channels / 2 groups */
  ck_assert_int_eq(w->init.kind, INIT_NORMAL);
  ck_assert(w->init.value == 0.01);
  /* Pool stride defaults to the kernel. */
  Node *b = find_node(g, "b");
  ck_assert_int_eq(node_ints(b, "stride", 0, 0), 2);
  ck_assert_int_eq(node_ints(b, "stride", 1, 0), 3);
  Value *sb = graph_find_value(g, "b.bias.bias");
  ck_assert_int_eq(sb->init.kind, INIT_CONST);
  ck_assert(sb->init.value == 0.5);
  assert_shape(sb, 1, (int64_t[]){1});
  ck_assert(graph_find_value(g, "b.scale.scale")->init.value == 2.0);
  Value *cw = graph_find_value(g, "c.weight");
  assert_shape(cw, 2, (int64_t[]){4, 96});
  ck_assert_int_eq(cw->init.kind, INIT_XAVIER);
  ck_assert_ptr_null(graph_find_value(g, "c.bias"));
  run_free(r);
}
END_TEST

START_TEST(lower_reports_several_errors_with_locations) {
  Run *r = run_compile("network n {\n  input x: f32[4];\n  label y: class[2];\n"
                       "  a = dense(x, unit=3);\n  b = relu(q);\n"
                       "  c = dense(x, units=2);\n  loss = softmax_cross_entropy(c, y);\n}\n");
  ck_assert_ptr_null(r->g);
  ck_assert_int_eq(diag_error_count(r->d), 2);
  ck_assert_ptr_nonnull(strstr(r->text, "t.net:4:16: error: unknown attribute 'unit' for dense; "
                                        "did you mean 'units'?"));
  ck_assert_ptr_nonnull(strstr(r->text, "t.net:5:12: error: undefined name 'q'"));
  run_free(r);
}
END_TEST

START_TEST(lower_unused_binding_is_a_warning_only) {
  Run *r = run_compile("network n {\n  input x: f32[4];\n  label y: class[2];\n"
                       "  spare = relu(x);\n  c = dense(x, units=2);\n"
                       "  loss = softmax_cross_entropy(c, y);\n}\n");
  ck_assert_msg(r->g != NULL, "%s", r->text);
  ck_assert_ptr_nonnull(strstr(r->text, "t.net:4:3: warning: 'spare' is assigned but never used"));
  run_free(r);
}
END_TEST

/* ---- models ---- */

START_TEST(every_model_lowers_without_errors) {
  DIR *dir = opendir(models_dir);
  ck_assert_msg(dir != NULL, "cannot open %s", models_dir);
  int count = 0;
  struct dirent *e;
  while ((e = readdir(dir))) {
    size_t n = strlen(e->d_name);
    if (n < 5 || strcmp(e->d_name + n - 4, ".net") != 0) continue;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", models_dir, e->d_name);
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    static char buf[1 << 20];
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    ck_assert(!ferror(f));
    fclose(f);
    buf[len] = 0;
    Run *r = run_compile(buf);
    ck_assert_msg(r->g != NULL, "%s:\n%s", path, r->text);
    ck_assert_msg(r->len == 0, "%s has diagnostics:\n%s", path, r->text);
    ck_assert_int_eq(r->g->noutputs, 2);
    ck_assert_int_eq(r->g->outputs[0]->def->op, OP_SOFTMAX_CROSS_ENTROPY);
    run_free(r);
    count++;
  }
  closedir(dir);
  ck_assert_int_ge(count, 7);
}
END_TEST

static Run *run_model(const char *name) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", models_dir, name);
  FILE *f = fopen(path, "rb");
  ck_assert_ptr_nonnull(f);
  static char buf[1 << 20];
  size_t len = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[len] = 0;
  return run_compile(buf);
}

static int count_op(const Graph *g, OpKind op) {
  int n = 0;
  for (int i = 0; i < g->nnodes; i++) n += g->nodes[i]->op == op;
  return n;
}

START_TEST(resnet20_has_19_convs_one_dense_and_two_projections) {
  Run *r = run_model("resnet20.net");
  ck_assert_ptr_nonnull(r->g);
  ck_assert_int_eq(count_op(r->g, OP_CONV2D), 21); /* 19 + 2 projection shortcuts */
  ck_assert_int_eq(count_op(r->g, OP_DENSE), 1);
  ck_assert_int_eq(count_op(r->g, OP_ADD), 9);
  ck_assert_int_eq(count_op(r->g, OP_GLOBAL_AVGPOOL), 1);
  Node *sc = find_node(r->g, "s3a.shortcut.conv2d");
  ck_assert_ptr_nonnull(sc);
  ck_assert_int_eq(node_ints(sc, "stride", 0, 0), 2);
  ck_assert_int_eq(node_ints(sc, "kernel", 0, 0), 1);
  run_free(r);
}
END_TEST

START_TEST(mobilenet_uses_depthwise_groups) {
  Run *r = run_model("mobilenet_tiny.net");
  ck_assert_ptr_nonnull(r->g);
  Node *dw = find_node(r->g, "b2.dw.conv2d");
  ck_assert_ptr_nonnull(dw);
  ck_assert_int_eq(node_int(dw, "groups", 0), 32);
  ck_assert_int_eq(node_int(dw, "filters", 0), 32);
  ck_assert_int_eq(count_op(r->g, OP_RELU6), 9);
  run_free(r);
}
END_TEST

static int node_index(const Graph *g, const char *name) {
  for (int i = 0; i < g->nnodes; i++)
    if (strcmp(g->nodes[i]->name, name) == 0) return i;
  return -1;
}

START_TEST(nested_block_instances_are_numbered_in_data_flow_order) {
  Run *r = run_model("vgg11_small.net");
  ck_assert_ptr_nonnull(r->g);
  /* s3 = maxpool(conv_bn(conv_bn(s2, 32), 32)): the inner instance runs
   * first and is s3.conv_bn; the outer one is s3.conv_bn.1. */
  int inner = node_index(r->g, "s3.conv_bn.conv2d");
  int outer = node_index(r->g, "s3.conv_bn.1.conv2d");
  ck_assert_int_ge(inner, 0);
  ck_assert_int_gt(outer, inner);
  ck_assert_ptr_eq(r->g->nodes[inner]->in[0], graph_find_value(r->g, "s2"));
  ck_assert_int_eq(count_op(r->g, OP_BATCHNORM), 8);
  run_free(r);
}
END_TEST

static Suite *frontend_suite(void) {
  Suite *s = suite_create("frontend");
  TCase *lex = tcase_create("lexer");
  tcase_add_test(lex, lexer_tokens_have_one_based_locations_and_tabs_count_one);
  tcase_add_test(lex, lexer_reports_integer_overflow_at_the_literal);
  tcase_add_test(lex, lexer_keywords_and_float_forms);
  suite_add_tcase(s, lex);
  TCase *parse = tcase_create("parser");
  tcase_add_test(parse, parser_builds_decls_statements_and_nested_calls);
  tcase_add_test(parse, parser_recovers_and_reports_several_syntax_errors);
  tcase_add_test(parse, parser_operator_precedence);
  suite_add_tcase(s, parse);
  TCase *low = tcase_create("lower");
  tcase_add_test(low, lower_lenet_ops_attrs_and_schedule);
  tcase_add_test(low, lower_lenet_params_names_shapes_and_inits);
  tcase_add_test(low, lower_nested_names_follow_the_binding);
  tcase_add_test(low, lower_two_param_ops_in_one_binding);
  tcase_add_test(low, lower_blocks_prefix_instances_and_rebinding_never_collides);
  tcase_add_test(low, lower_names_are_deterministic);
  tcase_add_test(low, lower_attribute_forms_defaults_and_scalars);
  tcase_add_test(low, lower_reports_several_errors_with_locations);
  tcase_add_test(low, lower_unused_binding_is_a_warning_only);
  suite_add_tcase(s, low);
  TCase *models = tcase_create("models");
  tcase_add_test(models, every_model_lowers_without_errors);
  tcase_add_test(models, resnet20_has_19_convs_one_dense_and_two_projections);
  tcase_add_test(models, mobilenet_uses_depthwise_groups);
  tcase_add_test(models, nested_block_instances_are_numbered_in_data_flow_order);
  suite_add_tcase(s, models);
  return s;
}

int main(int argc, char **argv) {
  if (argc > 1)
    models_dir = argv[1];
  else if (getenv("MODELS"))
    models_dir = getenv("MODELS");
  SRunner *sr = srunner_create(frontend_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
