/* Dead-node elimination: removes nodes whose results nobody uses, unless
 * they update state in place (optimizer steps, running statistics) or
 * produce a graph output. Runs after autodiff and the optimizer so that
 * forward values only the backward pass needed, and vice versa, are dropped. */
#include "pass.h"

static bool run_dce(Module *m) {
  Graph *g = m->graph;
  bool *used = arena_alloc(g->arena, (size_t)(g->nvalues ? g->nvalues : 1) * sizeof(bool));
  bool *keep = arena_alloc(g->arena, (size_t)(g->nnodes ? g->nnodes : 1) * sizeof(bool));
  for (int i = 0; i < g->noutputs; i++) used[g->outputs[i]->id] = true;
  int kept = 0;
  for (int i = g->nnodes - 1; i >= 0; i--) {
    Node *n = g->nodes[i];
    bool live = op_info(n->op)->writes != 0;
    for (int j = 0; j < n->nout && !live; j++) live = used[n->out[j]->id];
    if (!live) continue;
    keep[i] = true;
    kept++;
    for (int j = 0; j < n->nin; j++) used[n->in[j]->id] = true;
  }
  Node **order = arena_alloc(g->arena, (size_t)(kept ? kept : 1) * sizeof(Node *));
  int k = 0;
  for (int i = 0; i < g->nnodes; i++)
    if (keep[i]) order[k++] = g->nodes[i];
  graph_set_schedule(g, order, k);
  graph_compact(g);
  return true;
}

const Pass pass_dce = {"dce", "remove nodes whose results are unused", run_dce};
