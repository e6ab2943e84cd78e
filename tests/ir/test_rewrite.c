/* Graph rewriting (ir/graph.h): inserting a node after another, replacing
 * the uses of a value, moving and removing nodes, as the INT8 passes will
 * (a compensation node after each conv, a clip around a tensor, a fused op
 * for a chain). Each rewrite leaves a graph that verifies. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "graphs.h"
#include "verify.h"

static Arena *arena;
static Graph *g;
static void setup(void) {
  arena = arena_new();
  g = build_lenet(arena);
}
static void teardown(void) { arena_free(arena); }

static bool verifies(const Graph *graph) {
  char *out = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&out, &len);
  ck_assert_ptr_nonnull(f);
  Diag *d = diag_new(f);
  bool ok = graph_verify(graph, d, VERIFY_SHAPES);
  ck_assert_int_eq(fclose(f), 0);
  if (!ok) fprintf(stderr, "%s", out);
  diag_free(d);
  free(out);
  return ok;
}

static int position(const Graph *graph, const Node *n) {
  for (int i = 0; i < graph->nnodes; i++)
    if (graph->nodes[i] == n) return i;
  return -1;
}

static Node *node(const char *name) {
  for (int i = 0; i < g->nnodes; i++)
    if (g->nodes[i]->name && strcmp(g->nodes[i]->name, name) == 0) return g->nodes[i];
  ck_abort_msg("no node %s", name);
  return NULL;
}

/* c1 -> relu becomes c1 -> leaky_relu -> relu: the new node comes right
 * after c1 and takes over every use of c1's result but its own. */
START_TEST(insert_after_and_replace_uses_wrap_a_value) {
  Node *c1 = node("c1");
  Value *y = c1->out[0];
  Value *in[1] = {y};
  const char *names[1] = {"c1.wrapped"};
  Node *w = graph_insert_node_after(g, c1, OP_LEAKY_RELU, "wrap", in, 1, names, 1, c1->loc);
  w->out[0]->type = y->type;
  ck_assert_int_eq(position(g, w), position(g, c1) + 1);
  int users_before = value_users(g, y, NULL, 0);
  ck_assert_int_eq(graph_replace_uses(g, y, w->out[0], w), users_before - 1);
  ck_assert_int_eq(value_users(g, y, NULL, 0), 1); /* only the wrapper reads it */
  ck_assert(verifies(g));
}
END_TEST

START_TEST(insert_after_null_puts_the_node_first) {
  Value *x = graph_find_value(g, "image");
  Value *in[1] = {x};
  const char *names[1] = {"first"};
  Node *n = graph_insert_node_after(g, NULL, OP_RELU, "first", in, 1, names, 1, x->loc);
  n->out[0]->type = x->type;
  ck_assert_ptr_eq(g->nodes[0], n);
  ck_assert(verifies(g));
}
END_TEST

START_TEST(replace_uses_reaches_graph_outputs) {
  Value *loss = g->outputs[0];
  Node *ce = loss->def;
  Value *in[2] = {ce->in[0], ce->in[1]};
  const char *names[1] = {"loss2"};
  Node *again = graph_insert_node_after(g, ce, ce->op, "ce2", in, 2, names, 1, ce->loc);
  again->out[0]->type = loss->type;
  ck_assert_int_eq(graph_replace_uses(g, loss, again->out[0], NULL), 1);
  ck_assert_ptr_eq(g->outputs[0], again->out[0]);
  /* the old loss node is dead now and can go */
  ck_assert(graph_remove_node(g, ce));
  graph_compact(g);
  ck_assert_ptr_null(graph_find_value(g, "loss"));
  ck_assert(verifies(g));
}
END_TEST

START_TEST(remove_refuses_a_node_whose_result_is_used) {
  Node *c1 = node("c1");
  int n = g->nnodes;
  ck_assert(!graph_remove_node(g, c1));
  ck_assert_int_eq(g->nnodes, n);
  ck_assert(verifies(g));
}
END_TEST

START_TEST(move_after_goes_both_ways) {
  int n = g->nnodes;
  Node *last = g->nodes[n - 1], *first = g->nodes[0];
  ck_assert(graph_move_after(g, last, first)); /* backwards */
  ck_assert_ptr_eq(g->nodes[1], last);
  ck_assert(graph_move_after(g, last, g->nodes[n - 1])); /* and forwards again */
  ck_assert_ptr_eq(g->nodes[n - 1], last);
  ck_assert_ptr_eq(g->nodes[0], first);
  ck_assert(verifies(g));
  Node stranger = {0};
  ck_assert(!graph_move_after(g, &stranger, NULL));
  ck_assert(!graph_move_after(g, last, &stranger));
}
END_TEST

/* An optional attribute reads as its registry default until a node has it. */
START_TEST(optional_attributes_default_from_the_registry) {
  Node *c1 = node("c1");
  ck_assert_str_eq(node_str(c1, "precision"), "fp32");
  ck_assert_str_eq(node_str(c1, "rounding"), "nearest");
  node_set_str(g, c1, "precision", "int8");
  ck_assert_str_eq(node_str(c1, "precision"), "int8");
  ck_assert(verifies(g));
  node_set_str(g, c1, "rounding", "upwards");
  ck_assert(!verifies(g));
}
END_TEST

int main(void) {
  Suite *s = suite_create("graph rewriting");
  TCase *tc = tcase_create("rewrite");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, insert_after_and_replace_uses_wrap_a_value);
  tcase_add_test(tc, insert_after_null_puts_the_node_first);
  tcase_add_test(tc, replace_uses_reaches_graph_outputs);
  tcase_add_test(tc, remove_refuses_a_node_whose_result_is_used);
  tcase_add_test(tc, move_after_goes_both_ways);
  tcase_add_test(tc, optional_attributes_default_from_the_registry);
  suite_add_tcase(s, tc);
  SRunner *r = srunner_create(s);
  srunner_run_all(r, CK_NORMAL);
  int failed = srunner_ntests_failed(r);
  srunner_free(r);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
