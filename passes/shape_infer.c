/* The shape-inference pass: walks the nodes in schedule order, applies each
 * op's shape rule (ir/shape_rules.c), fills the unknown extents of parameters
 * (a weight declared [6,?,5,5] learns its input channels) and sets every
 * result type.
 *
 * A mismatch is reported at the node, with a note at the value that
 * disagrees. The node's results are then marked poisoned and left unknown:
 * nodes downstream of an error are skipped silently, so one mistake gives one
 * message while independent mistakes are all reported in the same run. */
#include <stdlib.h>
#include <string.h>

#include "pass.h"
#include "shape_rules.h"

/* One node's operand and result types, in scratch memory. */
typedef struct Types {
  TensorType *in, *expect, *out;
} Types;

static void poison(const Node *n, bool *poisoned) {
  for (int j = 0; j < n->nout; j++) {
    n->out[j]->type.shape = shape_unknown();
    poisoned[n->out[j]->id] = true;
  }
}

static const char *kind_word(const Value *v) {
  switch (v->kind) {
  case VAL_INPUT: return "input";
  case VAL_LABEL: return "label";
  case VAL_PARAM: return "parameter";
  case VAL_STATE: return "state";
  case VAL_NODE: break;
  }
  return "value";
}

/* Which operand is to blame for a failed rule: the last one whose type,
 * once forgotten, lets the rule succeed (parameters and second operands
 * come last, the data input first). -1 if none alone is. */
static int blame(const Node *n, const Types *t, char *err, size_t errlen) {
  int nin = n->nin;
  Value **vals = xcalloc((size_t)nin, sizeof(Value *));
  TensorType *in = xcalloc((size_t)nin, sizeof(TensorType));
  int found = -1;
  for (int i = nin - 1; i >= 0 && found < 0; i--) {
    Value blank = *n->in[i];
    blank.type.shape = shape_unknown();
    blank.classes = -1;
    Node probe = *n;
    probe.in = vals;
    for (int k = 0; k < nin; k++) {
      vals[k] = k == i ? &blank : n->in[k];
      in[k] = k == i ? blank.type : t->in[k];
    }
    if (shape_rule(&probe, in, t->expect, t->out, err, errlen)) found = i;
  }
  free(vals);
  free(in);
  return found;
}

static void note_blamed(Diag *d, const Value *v) {
  char b[200];
  type_str(&v->type, b, sizeof b);
  if (v->kind == VAL_NODE)
    diag_note(d, v->loc, "'%s' (%s) is computed here", v->name, b);
  else if (v->kind == VAL_LABEL && v->classes > 0)
    diag_note(d, v->loc, "label '%s' is declared here as class[%lld]", v->name,
              (long long)v->classes);
  else
    diag_note(d, v->loc, "%s '%s' is declared here as %s", kind_word(v), v->name, b);
}

/* Applies the rule to one node. Returns false if it reported an error. */
/* A result type written in the input (graph IR text) is a claim: an unknown
 * rank claims nothing, otherwise dtype, rank and every known extent must be
 * what the shape rule gives. */
static bool declared_fits(const TensorType *declared, const TensorType *inferred) {
  if (declared->shape.rank < 0) return true;
  if (declared->dtype != inferred->dtype || declared->shape.rank != inferred->shape.rank)
    return false;
  for (int i = 0; i < declared->shape.rank; i++)
    if (declared->shape.dim[i] >= 0 && declared->shape.dim[i] != inferred->shape.dim[i])
      return false;
  return true;
}

static bool check_declared(Diag *d, const Node *n, const TensorType *out) {
  bool ok = true;
  for (int j = 0; j < n->nout; j++) {
    const Value *v = n->out[j];
    if (declared_fits(&v->type, &out[j])) continue;
    char have[200], want[200];
    diag_error(d, n->loc, "%s%s%s%s: result '%s' is declared %s (rank %d) but the shape rule gives %s (rank %d)",
               op_name(n->op), n->name ? " '" : "", n->name ? n->name : "", n->name ? "'" : "",
               v->name, type_str(&v->type, have, sizeof have), v->type.shape.rank,
               type_str(&out[j], want, sizeof want), out[j].shape.rank);
    ok = false;
  }
  return ok;
}

static bool infer_node(Diag *d, const Node *n, bool *poisoned, const Types *t) {
  for (int i = 0; i < n->nin; i++) {
    const Value *v = n->in[i];
    if (poisoned[v->id]) {
      poison(n, poisoned);
      return true; /* already reported upstream: do not cascade */
    }
    if (!value_is_persistent(v) && !shape_known(&v->type.shape)) {
      char b[200];
      diag_error(d, n->loc, "%s%s%s%s: %s '%s' has no known shape (%s)", op_name(n->op),
                 n->name ? " '" : "", n->name ? n->name : "", n->name ? "'" : "", kind_word(v),
                 v->name, type_str(&v->type, b, sizeof b));
      poison(n, poisoned);
      return false;
    }
    t->in[i] = v->type;
  }
  char err[512];
  if (!shape_rule(n, t->in, t->expect, t->out, err, sizeof err)) {
    diag_error(d, n->loc, "%s", err);
    char scratch[512];
    int culprit = blame(n, t, scratch, sizeof scratch);
    if (culprit >= 0) note_blamed(d, n->in[culprit]);
    poison(n, poisoned);
    return false;
  }
  /* A wrong declaration is reported, and the rule's type replaces it, so
   * the nodes downstream are checked too instead of cascading. */
  bool fits = check_declared(d, n, t->out);
  for (int i = 0; i < n->nin; i++)
    if (value_is_persistent(n->in[i])) n->in[i]->type = t->expect[i];
  for (int j = 0; j < n->nout; j++) n->out[j]->type = t->out[j];
  return fits;
}

static int max_operands(const Graph *g) {
  int m = 1;
  for (int i = 0; i < g->nnodes; i++) {
    if (g->nodes[i]->nin > m) m = g->nodes[i]->nin;
    if (g->nodes[i]->nout > m) m = g->nodes[i]->nout;
  }
  return m;
}

static bool shape_infer(Module *m) {
  Graph *g = m->graph;
  bool *poisoned = xcalloc((size_t)g->nvalues + 1, sizeof(bool));
  size_t k = (size_t)max_operands(g);
  Types t = {xcalloc(k, sizeof(TensorType)), xcalloc(k, sizeof(TensorType)),
             xcalloc(k, sizeof(TensorType))};
  bool ok = true;
  for (int i = 0; i < g->nnodes && !diag_too_many(m->diag); i++)
    ok = infer_node(m->diag, g->nodes[i], poisoned, &t) && ok;
  free(t.in);
  free(t.expect);
  free(t.out);
  free(poisoned);
  return ok;
}

const Pass pass_shape_infer = {
    "shape-infer",
    "infer every tensor shape from the inputs; fill parameter shapes",
    shape_infer,
};
