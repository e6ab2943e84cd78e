/* Graphviz output (--emit=dot). Data flows top to bottom: inputs and labels
 * are house shapes, every node a box labelled with its op, layer name and
 * output type. Parameters and state are folded into their node's box (a
 * picture with a separate ellipse per weight is unreadable); edges carry the
 * type of the tensor. Identifiers are generated (n<id>, v<id>), and every
 * user-given string is escaped inside quotes, so any name is safe. */
#include "dot.h"

#include <stdbool.h>

/* Writes s inside a DOT string, escaping quotes and backslashes; control
 * bytes become '?' so the file stays one statement per line. */
static void put_escaped(FILE *out, const char *s) {
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      fputc('\\', out);
      fputc(c, out);
    } else if (c < 32 || c == 127)
      fputc('?', out);
    else
      fputc(c, out);
  }
}

static void put_type(FILE *out, const TensorType *t) {
  char buf[200];
  put_escaped(out, type_str(t, buf, sizeof buf));
}

/* The DOT id of the thing that produces v: its node, or the value itself. */
static void put_source(FILE *out, const Value *v) {
  if (v->kind == VAL_NODE && v->def)
    fprintf(out, "n%d", v->def->id);
  else
    fprintf(out, "v%d", v->id);
}

static bool is_output(const Graph *g, const Value *v) {
  for (int i = 0; i < g->noutputs; i++)
    if (g->outputs[i] == v) return true;
  return false;
}

static void print_value(FILE *out, const Value *v) {
  fprintf(out, "  v%d [shape=%s, label=\"", v->id, v->kind == VAL_LABEL ? "house" : "invhouse");
  put_escaped(out, v->name);
  fputs("\\n", out);
  if (v->kind == VAL_LABEL && v->classes > 0)
    fprintf(out, "class[%lld] ", (long long)v->classes);
  put_type(out, &v->type);
  fputs("\"];\n", out);
}

static void print_node(FILE *out, const Graph *g, const Node *n) {
  bool out_node = false;
  for (int j = 0; j < n->nout; j++) out_node = out_node || is_output(g, n->out[j]);
  fprintf(out, "  n%d [shape=box%s, label=\"", n->id, out_node ? ", peripheries=2" : "");
  fputs(op_name(n->op), out);
  if (n->name) {
    fputs(" ", out);
    put_escaped(out, n->name);
  }
  for (int j = 0; j < n->nout; j++) {
    fputs("\\n", out);
    put_type(out, &n->out[j]->type);
  }
  for (int i = 0; i < n->nin; i++) {
    const Value *p = n->in[i];
    if (!value_is_persistent(p)) continue;
    fputs("\\n", out);
    put_escaped(out, p->name);
    fputs(" ", out);
    put_type(out, &p->type);
  }
  fputs("\"];\n", out);
}

static void print_edges(FILE *out, const Node *n) {
  for (int i = 0; i < n->nin; i++) {
    const Value *v = n->in[i];
    if (value_is_persistent(v)) continue;
    fputs("  ", out);
    put_source(out, v);
    fprintf(out, " -> n%d [label=\"", n->id);
    put_type(out, &v->type);
    fputs("\"];\n", out);
  }
}

void graph_print_dot(FILE *out, const Graph *g) {
  fputs("digraph \"", out);
  put_escaped(out, g->name);
  fputs("\" {\n", out);
  fputs("  rankdir=TB;\n  node [fontname=\"Helvetica\", fontsize=10];\n", out);
  fputs("  edge [fontname=\"Helvetica\", fontsize=9];\n", out);
  for (int i = 0; i < g->nvalues; i++) {
    const Value *v = g->values[i];
    if (v->kind == VAL_INPUT || v->kind == VAL_LABEL) print_value(out, v);
  }
  for (int i = 0; i < g->nnodes; i++) print_node(out, g, g->nodes[i]);
  for (int i = 0; i < g->nnodes; i++) print_edges(out, g->nodes[i]);
  fputs("}\n", out);
}
