/* Graph IR construction: values, nodes, attributes, the name table. */
#include "graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"

/* graph.h names this struct: the map from value names to values. */
typedef struct NameTable {
  StrMap values;
} NameTable;

static const char *const init_names[INIT_COUNT] = {
    "none", "zeros", "ones", "const", "he", "xavier", "normal"};

const char *init_name(InitKind k) { return k < INIT_COUNT ? init_names[k] : "?"; }

bool init_from_name(const char *s, InitKind *out) {
  for (int i = 0; i < INIT_COUNT; i++)
    if (strcmp(s, init_names[i]) == 0) {
      *out = (InitKind)i;
      return true;
    }
  return false;
}

/* Every value name is unique: a repeat is a bug in the pass that made it. */
static void name_insert(Graph *g, Value *v) {
  if (strmap_put(g->arena, &g->names->values, v->name, v)) {
    fprintf(stderr, "octoc: internal error: duplicate value name %%%s\n", v->name);
    abort();
  }
}

Graph *graph_new(Arena *a, const char *name, int batch) {
  Graph *g = arena_alloc(a, sizeof(Graph));
  g->arena = a;
  g->name = arena_strdup(a, name);
  g->batch = batch;
  g->names = arena_alloc(a, sizeof(NameTable));
  return g;
}

Value *graph_find_value(const Graph *g, const char *name) {
  return strmap_get(&g->names->values, name);
}

const char *graph_unique_name(Graph *g, const char *base) {
  if (!graph_find_value(g, base)) return arena_strdup(g->arena, base);
  for (int i = 1;; i++) {
    char *s = arena_printf(g->arena, "%s.%d", base, i);
    if (!graph_find_value(g, s)) return s;
  }
}

static Value *new_value(Graph *g, const char *name, ValueKind kind, TensorType type, SrcLoc loc) {
  Value *v = arena_alloc(g->arena, sizeof(Value));
  v->id = g->nvalues;
  v->name = arena_strdup(g->arena, name);
  v->kind = kind;
  v->type = type;
  v->loc = loc;
  name_insert(g, v);
  arena_push(g->arena, (void ***)&g->values, &g->nvalues, &g->cap_values, v);
  return v;
}

Value *graph_add_input(Graph *g, const char *name, ValueKind kind, TensorType type, SrcLoc loc) {
  return new_value(g, name, kind, type, loc);
}

Value *graph_add_param(Graph *g, const char *name, ValueKind kind, TensorType type, Init init,
                       const char *layer, SrcLoc loc) {
  Value *v = new_value(g, name, kind, type, loc);
  v->init = init;
  v->layer = layer ? arena_strdup(g->arena, layer) : NULL;
  return v;
}

Node *graph_add_node(Graph *g, OpKind op, const char *name, Value **in, int nin,
                     const char *const *out_names, int nout, SrcLoc loc) {
  Node *n = arena_alloc(g->arena, sizeof(Node));
  n->id = g->next_node_id++;
  n->op = op;
  n->name = name ? arena_strdup(g->arena, name) : NULL;
  n->loc = loc;
  n->nin = nin;
  n->in = arena_alloc(g->arena, (size_t)(nin ? nin : 1) * sizeof(Value *));
  for (int i = 0; i < nin; i++) n->in[i] = in[i];
  n->nout = nout;
  n->out = arena_alloc(g->arena, (size_t)(nout ? nout : 1) * sizeof(Value *));
  for (int i = 0; i < nout; i++) {
    TensorType t = {DT_F32, shape_unknown()};
    Value *v = new_value(g, out_names[i], VAL_NODE, t, loc);
    v->def = n;
    v->def_index = i;
    n->out[i] = v;
  }
  arena_push(g->arena, (void ***)&g->nodes, &g->nnodes, &g->cap_nodes, n);
  return n;
}

/* Position of n in the schedule, or -1. */
static int schedule_index(const Graph *g, const Node *n) {
  for (int i = 0; i < g->nnodes; i++)
    if (g->nodes[i] == n) return i;
  return -1;
}

bool graph_move_after(Graph *g, Node *n, const Node *after) {
  int from = schedule_index(g, n);
  int to = after ? schedule_index(g, after) + 1 : 0;
  if (from < 0 || (after && to == 0)) return false;
  if (from < to) to--; /* n leaves a hole before the target */
  if (from < to)
    memmove(&g->nodes[from], &g->nodes[from + 1], (size_t)(to - from) * sizeof(Node *));
  else if (from > to)
    memmove(&g->nodes[to + 1], &g->nodes[to], (size_t)(from - to) * sizeof(Node *));
  g->nodes[to] = n;
  return true;
}

Node *graph_insert_node_after(Graph *g, const Node *after, OpKind op, const char *name,
                              Value **in, int nin, const char *const *out_names, int nout,
                              SrcLoc loc) {
  Node *n = graph_add_node(g, op, name, in, nin, out_names, nout, loc);
  if (!graph_move_after(g, n, after)) {
    fprintf(stderr, "octoc: internal error: insert after a node that is not scheduled\n");
    abort();
  }
  return n;
}

int graph_replace_uses(Graph *g, const Value *from, Value *to, const Node *except) {
  int count = 0;
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = g->nodes[i];
    if (n == except) continue;
    for (int j = 0; j < n->nin; j++)
      if (n->in[j] == from) {
        n->in[j] = to;
        count++;
      }
  }
  for (int i = 0; i < g->noutputs; i++)
    if (g->outputs[i] == from) {
      g->outputs[i] = to;
      count++;
    }
  return count;
}

bool graph_remove_node(Graph *g, Node *n) {
  int at = schedule_index(g, n);
  if (at < 0) return false;
  for (int j = 0; j < n->nout; j++) {
    Node *user;
    if (value_users(g, n->out[j], &user, 1) > 0) return false;
    for (int i = 0; i < g->noutputs; i++)
      if (g->outputs[i] == n->out[j]) return false;
  }
  memmove(&g->nodes[at], &g->nodes[at + 1], (size_t)(g->nnodes - at - 1) * sizeof(Node *));
  g->nnodes--;
  return true;
}

Value *node_add_result(Graph *g, Node *n, const char *name, TensorType type) {
  Value **out = arena_alloc(g->arena, (size_t)(n->nout + 1) * sizeof(Value *));
  for (int i = 0; i < n->nout; i++) out[i] = n->out[i];
  Value *v = new_value(g, name, VAL_NODE, type, n->loc);
  v->def = n;
  v->def_index = n->nout;
  out[n->nout++] = v;
  n->out = out;
  return v;
}

void graph_set_schedule(Graph *g, Node **nodes, int n) {
  Node **copy = arena_alloc(g->arena, (size_t)(n ? n : 1) * sizeof(Node *));
  for (int i = 0; i < n; i++) copy[i] = nodes[i];
  g->nodes = copy;
  g->nnodes = n;
  g->cap_nodes = n ? n : 1;
}

void graph_drop_nodes(Graph *g, const bool *removed) {
  int kept = 0;
  Node **order = arena_alloc(g->arena, (size_t)(g->nnodes ? g->nnodes : 1) * sizeof(Node *));
  for (int i = 0; i < g->nnodes; i++)
    if (!removed[g->nodes[i]->id]) order[kept++] = g->nodes[i];
  graph_set_schedule(g, order, kept);
  graph_compact(g);
}

void graph_compact(Graph *g) {
  bool *scheduled = arena_alloc(g->arena, (size_t)(g->next_node_id ? g->next_node_id : 1));
  for (int i = 0; i < g->nnodes; i++) scheduled[g->nodes[i]->id] = true;
  g->names = arena_alloc(g->arena, sizeof(NameTable));
  int k = 0;
  for (int i = 0; i < g->nvalues; i++) {
    Value *v = g->values[i];
    if (v->kind == VAL_NODE && !(v->def && scheduled[v->def->id])) continue;
    v->id = k;
    g->values[k++] = v;
    name_insert(g, v);
  }
  g->nvalues = k;
}

void graph_add_output(Graph *g, Value *v) {
  arena_push(g->arena, (void ***)&g->outputs, &g->noutputs, &g->cap_outputs, v);
}

static Attr *attr_slot(Graph *g, Node *n, const char *name) {
  for (int i = 0; i < n->nattrs; i++)
    if (strcmp(n->attrs[i].name, name) == 0) {
      memset(&n->attrs[i], 0, sizeof(Attr));
      n->attrs[i].name = arena_strdup(g->arena, name);
      return &n->attrs[i];
    }
  if (n->nattrs == n->cap_attrs) {
    int nc = n->cap_attrs ? n->cap_attrs * 2 : 4;
    n->attrs = arena_grow(g->arena, n->attrs, (size_t)n->cap_attrs * sizeof(Attr),
                          (size_t)nc * sizeof(Attr));
    n->cap_attrs = nc;
  }
  Attr *a = &n->attrs[n->nattrs++];
  a->name = arena_strdup(g->arena, name);
  return a;
}

void node_set_int(Graph *g, Node *n, const char *name, int64_t v) {
  Attr *a = attr_slot(g, n, name);
  a->kind = ATTR_INT;
  a->i = v;
}

void node_set_float(Graph *g, Node *n, const char *name, double v) {
  Attr *a = attr_slot(g, n, name);
  a->kind = ATTR_FLOAT;
  a->f = v;
}

void node_set_ints(Graph *g, Node *n, const char *name, int len, const int64_t *v) {
  Attr *a = attr_slot(g, n, name);
  a->kind = ATTR_INTS;
  a->n = len < MAX_RANK ? len : MAX_RANK;
  for (int i = 0; i < a->n; i++) a->ints[i] = v[i];
}

void node_set_str(Graph *g, Node *n, const char *name, const char *v) {
  Attr *a = attr_slot(g, n, name);
  a->kind = ATTR_STR;
  a->s = arena_strdup(g->arena, v);
}

const Attr *node_attr(const Node *n, const char *name) {
  for (int i = 0; i < n->nattrs; i++)
    if (strcmp(n->attrs[i].name, name) == 0) return &n->attrs[i];
  return NULL;
}

int64_t node_int(const Node *n, const char *name, int64_t dflt) {
  const Attr *a = node_attr(n, name);
  return a && a->kind == ATTR_INT ? a->i : dflt;
}

double node_float(const Node *n, const char *name, double dflt) {
  const Attr *a = node_attr(n, name);
  if (a && a->kind == ATTR_FLOAT) return a->f;
  if (a && a->kind == ATTR_INT) return (double)a->i;
  return dflt;
}

const char *node_str(const Node *n, const char *name) {
  const Attr *a = node_attr(n, name);
  if (a && a->kind == ATTR_STR) return a->s;
  const OpInfo *info = op_info(n->op);
  const AttrSpec *spec = info ? op_attr_spec(info, name) : NULL;
  return spec && spec->kind == ATTR_STR ? spec->dflt_s : NULL;
}

int64_t node_ints(const Node *n, const char *name, int i, int64_t dflt) {
  const Attr *a = node_attr(n, name);
  return a && a->kind == ATTR_INTS && i < a->n ? a->ints[i] : dflt;
}

int value_users(const Graph *g, const Value *v, Node **users, int max) {
  int count = 0;
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = g->nodes[i];
    for (int j = 0; j < n->nin; j++)
      if (n->in[j] == v) {
        if (count < max) users[count] = n;
        count++;
        break;
      }
  }
  return count;
}

bool value_is_persistent(const Value *v) { return v->kind == VAL_PARAM || v->kind == VAL_STATE; }

const char *node_describe(const Node *n, char *buf, size_t size) {
  if (n->name)
    snprintf(buf, size, "%s '%s'", op_name(n->op), n->name);
  else
    snprintf(buf, size, "%s", op_name(n->op));
  return buf;
}
