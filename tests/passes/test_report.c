/* The per-layer report and the DOT output: LeNet-5's parameter and MAC
 * totals, aligned columns, DOT content, escaping, and (Check case
 * "graphviz", its own meson test: SKIP without Graphviz) that `dot -Tsvg`
 * accepts the file. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dot.h"
#include "report.h"
#include "testkit.h"

/* Output of fn(g) as a malloc'd string. */
static char *capture(void (*fn)(FILE *, const Graph *), const Graph *g) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  ck_assert_ptr_nonnull(f);
  fn(f, g);
  ck_assert_int_eq(fclose(f), 0);
  return text;
}

static void lenet(Kit *k) {
  kit_init(k, "lenet5");
  kit_lenet(k);
  ck_assert_msg(kit_run_shape_infer(k), "%s", kit_messages(k));
}

/* The line of text that starts with `start`, copied into buf. */
static const char *line_starting(const char *text, const char *start, char *buf, size_t size) {
  for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
    if (strncmp(p, start, strlen(start)) == 0) {
      size_t n = strcspn(p, "\n");
      if (n >= size) n = size - 1;
      memcpy(buf, p, n);
      buf[n] = 0;
      return buf;
    }
  return NULL;
}

static void ck_line_has(const char *text, const char *start, const char *want) {
  char buf[256];
  const char *line = line_starting(text, start, buf, sizeof buf);
  ck_assert_msg(line, "no line starting with '%s' in:\n%s", start, text);
  ck_assert_msg(strstr(line, want), "line '%s' lacks '%s'", line, want);
}

START_TEST(report_totals_for_lenet5) {
  Kit k;
  lenet(&k);
  char *r = capture(graph_report, k.g);
  ck_assert_msg(strstr(r, "model lenet5, batch 32"), "%s", r);
  ck_line_has(r, "parameters ", "61,706");
  ck_line_has(r, "parameter bytes", "246,824");
  ck_line_has(r, "MACs per sample", "416,520");
  ck_line_has(r, "MACs per batch step (forward)", "13,328,640");
  free(r);
  kit_free(&k);
}
END_TEST

START_TEST(report_rows_give_shape_params_and_macs_per_layer) {
  Kit k;
  lenet(&k);
  char *r = capture(graph_report, k.g);
  const char *rows[][4] = {
      {"c1 ", "[6,28,28]", "156", "117,600"},   {"c2 ", "[16,10,10]", "2,416", "240,000"},
      {"d1 ", "[120]", "48,120", "48,000"},     {"d2 ", "[84]", "10,164", "10,080"},
      {"d3 ", "[10]", "850", "840"},            {"p2 ", "[16,5,5]", " 0", " 0"},
      {"flatten ", "[400]", " 0", " 0"},        {"loss ", "[]", " 0", " 0"},
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
    for (int j = 1; j < 4; j++) ck_line_has(r, rows[i][0], rows[i][j]);
  free(r);
  kit_free(&k);
}
END_TEST

START_TEST(report_columns_are_aligned) {
  Kit k;
  lenet(&k);
  char *r = capture(graph_report, k.g);
  char buf[256];
  const char *header = line_starting(r, "layer", buf, sizeof buf);
  ck_assert_ptr_nonnull(header);
  int op_col = (int)(strstr(header, "op") - header);
  int end = (int)strlen(header); /* the last column is right-aligned */
  const char *layers[] = {"c1 ", "relu.3 ", "flatten ", "loss "};
  for (int i = 0; i < 4; i++) {
    const char *line = line_starting(r, layers[i], buf, sizeof buf);
    ck_assert_ptr_nonnull(line);
    ck_assert_int_eq((int)strlen(line), end);
    ck_assert_msg(line[op_col - 1] == ' ' && line[op_col] != ' ', "'%s'", line);
  }
  free(r);
  kit_free(&k);
}
END_TEST

START_TEST(report_counts_a_shared_parameter_once_in_totals) {
  Kit k;
  kit_init(&k, "tied");
  Value *w = kit_param(&k, "w", 2, (int64_t[]){4, 4});
  Value *x = kit_input(&k, "x", 2, (int64_t[]){2, 4});
  Value *a[2] = {x, w};
  Node *n1 = kit_node(&k, OP_DENSE, "u1", a, 2);
  Value *b[2] = {n1->out[0], w};
  Node *n2 = kit_node(&k, OP_DENSE, "u2", b, 2);
  node_set_int(k.g, n1, "units", 4);
  node_set_int(k.g, n2, "units", 4);
  ck_assert(kit_run_shape_infer(&k));
  char *r = capture(graph_report, k.g);
  ck_line_has(r, "u1 ", "16");
  ck_line_has(r, "u2 ", "16");
  ck_line_has(r, "parameters ", " 16");
  ck_line_has(r, "parameter bytes", " 64");
  free(r);
  kit_free(&k);
}
END_TEST

START_TEST(dot_has_inputs_nodes_params_and_typed_edges) {
  Kit k;
  lenet(&k);
  char *d = capture(graph_print_dot, k.g);
  ck_assert_msg(strstr(d, "digraph \"lenet5\" {"), "%s", d);
  ck_assert(strstr(d, "[shape=invhouse, label=\"image\\nf32[32,1,28,28]\"]"));
  ck_assert(strstr(d, "[shape=house, label=\"digit\\nclass[10] i32[32]\"]"));
  ck_assert(strstr(d, "label=\"conv2d c1\\nf32[32,6,28,28]\\nc1.weight f32[6,1,5,5]\\nc1.bias f32[6]\""));
  ck_assert(strstr(d, "label=\"f32[32,16,5,5]\""));
  ck_assert(strstr(d, "peripheries=2, label=\"softmax_cross_entropy loss"));
  ck_assert(strstr(d, "v0 -> n"));
  ck_assert_int_eq(d[strlen(d) - 2], '}');
  free(d);
  kit_free(&k);
}
END_TEST

START_TEST(dot_escapes_quotes_backslashes_and_control_bytes) {
  Kit k;
  kit_init(&k, "we\"ird");
  Value *x = kit_input(&k, "a\"b\\c\nd", 2, (int64_t[]){2, 3});
  kit_unary(&k, OP_RELU, "r\"1", x);
  ck_assert(kit_run_shape_infer(&k));
  char *d = capture(graph_print_dot, k.g);
  ck_assert(strstr(d, "digraph \"we\\\"ird\""));
  ck_assert(strstr(d, "label=\"a\\\"b\\\\c?d\\n"));
  ck_assert(strstr(d, "relu r\\\"1"));
  free(d);
  kit_free(&k);
}
END_TEST

static bool have_dot(void) { return system("command -v dot >/dev/null 2>&1") == 0; }

/* Runs Graphviz on the DOT text (main() skips this case without it). */
static void ck_graphviz_accepts(const char *text) {
  ck_assert_msg(have_dot(), "Graphviz (dot) is not installed");
  char path[] = "/tmp/octo_dot_XXXXXX";
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  size_t len = strlen(text);
  ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
  ck_assert_int_eq(close(fd), 0);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "dot -Tsvg %s -o /dev/null 2>/dev/null", path);
  int rc = system(cmd);
  unlink(path);
  ck_assert_msg(rc == 0, "dot -Tsvg rejected:\n%s", text);
}

START_TEST(dot_output_is_valid_graphviz) {
  Kit k;
  lenet(&k);
  char *d = capture(graph_print_dot, k.g);
  ck_graphviz_accepts(d);
  free(d);
  kit_free(&k);
  kit_init(&k, "we\"ird\\");
  Value *x = kit_input(&k, "a\"b\\c\nd\\", 2, (int64_t[]){2, 3});
  kit_unary(&k, OP_RELU, "r\"1\\", x);
  ck_assert(kit_run_shape_infer(&k));
  d = capture(graph_print_dot, k.g);
  ck_graphviz_accepts(d);
  free(d);
  kit_free(&k);
}
END_TEST

START_TEST(graphviz_check_can_fail_on_broken_dot) {
  ck_assert_msg(have_dot(), "Graphviz (dot) is not installed");
  int rc = system("echo 'digraph \"x { a -> ' | dot -Tsvg -o /dev/null 2>/dev/null");
  ck_assert_int_ne(rc, 0);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("report");
  TCase *t = tcase_create("report");
  tcase_add_test(t, report_totals_for_lenet5);
  tcase_add_test(t, report_rows_give_shape_params_and_macs_per_layer);
  tcase_add_test(t, report_columns_are_aligned);
  tcase_add_test(t, report_counts_a_shared_parameter_once_in_totals);
  tcase_add_test(t, dot_has_inputs_nodes_params_and_typed_edges);
  tcase_add_test(t, dot_escapes_quotes_backslashes_and_control_bytes);
  suite_add_tcase(s, t);
  TCase *g = tcase_create("graphviz");
  tcase_add_test(g, dot_output_is_valid_graphviz);
  tcase_add_test(g, graphviz_check_can_fail_on_broken_dot);
  suite_add_tcase(s, g);
  return s;
}

int main(void) {
  const char *only = getenv("CK_RUN_CASE");
  if (only && strcmp(only, "graphviz") == 0 && !have_dot()) {
    printf("SKIP: Graphviz (dot) is not installed\n");
    return 77;
  }
  SRunner *r = srunner_create(suite());
  srunner_run_all(r, CK_NORMAL);
  int failed = srunner_ntests_failed(r);
  srunner_free(r);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
