/* The normalize-input pass: a network whose input is declared u8 takes the
 * raw bytes of its images (a quarter of the memory of floats on a device)
 * and normalises them itself. The pass puts a `normalize` node first in
 * the schedule, (p / 255 - mean) / std with the recipe's `input` mean and
 * std, and makes every user of the input read its result. A graph read
 * back from text already has the node: the pass leaves it as it is. */
#include <stdio.h>

#include "pass.h"
#include "recipe.h"

/* Whether some node already normalises v. */
static bool normalized(const Graph *g, const Value *v) {
  for (int i = 0; i < g->nnodes; i++)
    if (g->nodes[i]->op == OP_NORMALIZE && g->nodes[i]->in[0] == v) return true;
  return false;
}

static bool run_normalize_input(Module *m) {
  Graph *g = m->graph;
  Recipe defaults;
  const Recipe *r = recipe_or_defaults(m->recipe, &defaults);
  int ninputs = g->nvalues; /* the pass adds values; inputs are declared before */
  for (int i = 0; i < ninputs; i++) {
    Value *x = g->values[i];
    if (x->kind != VAL_INPUT || x->type.dtype != DT_U8 || normalized(g, x)) continue;
    char name[512];
    snprintf(name, sizeof name, "%s.normalized", x->name);
    const char *out[1] = {graph_unique_name(g, name)};
    snprintf(name, sizeof name, "%s.normalize", x->name);
    Node *n = graph_insert_node_after(g, NULL, OP_NORMALIZE, name, &x, 1, out, 1, x->loc);
    node_set_float(g, n, "mean", r->input.mean);
    node_set_float(g, n, "std", r->input.std);
    n->out[0]->type = (TensorType){DT_F32, x->type.shape};
    graph_replace_uses(g, x, n->out[0], n);
  }
  return true;
}

const Pass pass_normalize_input = {
    "normalize-input",
    "normalise u8 inputs in the program: (p/255 - mean) / std from the recipe",
    run_normalize_input};
