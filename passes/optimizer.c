/* The optimizer pass: appends, after the backward graph, the in-place update
 * of every trained parameter (SGD with momentum/Nesterov/weight decay, or
 * Adam, from the recipe), the learning-rate schedule they read, and the step
 * counter. It creates the optimizer state (momentum buffers, Adam moments)
 * as state values next to their parameter, named %P.momentum, %P.adam_m,
 * %P.adam_v, and the counters %epoch (set by the trainer) and %step. The
 * gradient of %P is %P.grad (see autodiff.c). */
#include <stdio.h>
#include <string.h>

#include "pass.h"
#include "recipe.h"

static bool has_updates(const Graph *g) {
  for (int i = 0; i < g->nnodes; i++)
    if (op_info(g->nodes[i]->op)->role == OPROLE_OPTIMIZER) return true;
  return false;
}

static Value *state_like(Graph *g, const Value *p, const char *suffix) {
  char name[512];
  snprintf(name, sizeof name, "%s.%s", p->name, suffix);
  Init zeros = {INIT_ZEROS, 0};
  return graph_add_param(g, graph_unique_name(g, name), VAL_STATE, p->type, zeros, p->layer,
                         p->loc);
}

static Value *counter(Graph *g, const char *name, DType t) {
  TensorType type = {t, shape_of(0, NULL)};
  Init zeros = {INIT_ZEROS, 0};
  return graph_add_param(g, graph_unique_name(g, name), VAL_STATE, type, zeros, NULL,
                         (SrcLoc){0});
}

static bool run_optimizer(Module *m) {
  Graph *g = m->graph;
  if (has_updates(g)) return true; /* already applied (graph IR read back) */
  Recipe defaults;
  const Recipe *r = recipe_or_defaults(m->recipe, &defaults);
  const Optimizer *o = &r->optimizer;
  Value *epoch = counter(g, "epoch", DT_I32);
  Value *step = counter(g, "step", DT_I64);

  const char *lr_name[1] = {graph_unique_name(g, "lr")};
  Node *lr = graph_add_node(g, OP_LR_SCHEDULE, "lr", &epoch, 1, lr_name, 1, (SrcLoc){0});
  lr->out[0]->type = (TensorType){DT_F32, shape_of(0, NULL)};
  node_set_float(g, lr, "lr", o->lr);
  node_set_str(g, lr, "schedule", schedule_name(r->schedule.type));
  node_set_float(g, lr, "gamma", r->schedule.gamma);
  node_set_int(g, lr, "step_epochs", r->schedule.step_epochs);
  node_set_float(g, lr, "min_lr", r->schedule.min_lr);
  node_set_int(g, lr, "epochs", r->epochs);
  node_set_int(g, lr, "warmup_epochs", r->schedule.warmup_epochs);

  int nvalues = g->nvalues; /* the loop adds state values: visit the old ones */
  for (int i = 0; i < nvalues; i++) {
    Value *p = g->values[i];
    if (p->kind != VAL_PARAM) continue;
    char name[512];
    snprintf(name, sizeof name, "%s.grad", p->name);
    Value *grad = graph_find_value(g, name);
    if (!grad) continue; /* not trained: autodiff warned */
    char node_name[512];
    snprintf(node_name, sizeof node_name, "%s.update", p->name);
    Node *n;
    if (o->type == OPTIMIZER_ADAM) {
      Value *in[6] = {p, grad, lr->out[0], state_like(g, p, "adam_m"), state_like(g, p, "adam_v"),
                      step};
      n = graph_add_node(g, OP_ADAM_UPDATE, node_name, in, 6, NULL, 0, p->loc);
      node_set_float(g, n, "beta1", o->beta1);
      node_set_float(g, n, "beta2", o->beta2);
      node_set_float(g, n, "eps", o->eps);
    } else {
      Value *in[4] = {p, grad, lr->out[0], NULL};
      int nin = 3;
      if (o->momentum != 0) in[nin++] = state_like(g, p, "momentum");
      n = graph_add_node(g, OP_SGD_UPDATE, node_name, in, nin, NULL, 0, p->loc);
      node_set_float(g, n, "momentum", o->momentum);
      node_set_int(g, n, "nesterov", o->nesterov ? 1 : 0);
    }
    node_set_float(g, n, "weight_decay", o->weight_decay);
  }
  graph_add_node(g, OP_STEP_INCREMENT, "step", &step, 1, NULL, 0, (SrcLoc){0});
  return true;
}

const Pass pass_optimizer = {"optimizer", "append the parameter updates (SGD or Adam)",
                             run_optimizer};
