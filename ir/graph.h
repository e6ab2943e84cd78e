/* The graph IR: tensors (values) with dtype and static shape, nodes with an
 * op, attributes, operands and results, parameters with initializers, and a
 * source location on everything. Shapes include the batch dimension (the
 * batch is a compile option, Graph.batch). Nodes are kept in schedule order,
 * which is always a topological order; values are SSA (one definition).
 *
 * Later stages extend this without changing its shape: int8 tensors are
 * values of dtype i8 whose scale is a separate f32[] value (a quantize node
 * has two results), backward and optimizer nodes are ordinary nodes, fused
 * nodes are ops with more operands and attributes. */
#ifndef OCTO_IR_GRAPH_H
#define OCTO_IR_GRAPH_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "diag.h"
#include "ops.h"
#include "types.h"

typedef enum {
  VAL_INPUT, /* per-step features, e.g. the image batch */
  VAL_LABEL, /* per-step targets: class ids (i32) or float targets */
  VAL_PARAM, /* persistent and trained: weights, biases */
  VAL_STATE, /* persistent, not trained by gradients: running statistics */
  VAL_NODE,  /* the result of a node */
} ValueKind;

typedef enum {
  INIT_NONE,   /* inputs and node results */
  INIT_ZEROS,
  INIT_ONES,
  INIT_CONST,  /* every element = Init.value */
  INIT_HE,     /* He/Kaiming uniform, fan_in = numel / shape[0] */
  INIT_XAVIER, /* Glorot uniform, fan_in + fan_out */
  INIT_NORMAL, /* N(0, Init.value^2) */
  INIT_COUNT
} InitKind;

typedef struct Init {
  InitKind kind;
  double value;
} Init;

const char *init_name(InitKind k); /* "he", "zeros", ... */
bool init_from_name(const char *s, InitKind *out);

struct Node;

typedef struct Value {
  int id; /* index in Graph.values */
  const char *name; /* unique within the graph; printed as %name */
  ValueKind kind;
  TensorType type;
  SrcLoc loc;
  struct Node *def; /* VAL_NODE: the defining node */
  int def_index;    /* ... and which of its results */
  Init init;        /* VAL_PARAM / VAL_STATE */
  const char *layer; /* VAL_PARAM / VAL_STATE: owning layer ("c1" of c1.weight) */
  int64_t classes;  /* VAL_LABEL: N of class[N]; 0 for float targets */
} Value;

typedef struct Attr {
  const char *name;
  AttrKind kind;
  int64_t i;                 /* ATTR_INT */
  double f;                  /* ATTR_FLOAT */
  int n;                     /* ATTR_INTS: length */
  int64_t ints[MAX_RANK];    /* ATTR_INTS */
  const char *s;             /* ATTR_STR */
} Attr;

typedef struct Node {
  int id; /* unique, in creation order; passes may reorder Graph.nodes */
  OpKind op;
  const char *name; /* layer name ("c1"); generated for anonymous layers */
  Value **in;
  int nin;
  Value **out;
  int nout;
  Attr *attrs;
  int nattrs, cap_attrs;
  SrcLoc loc;
} Node;

typedef struct Graph {
  Arena *arena;
  const char *name;
  int batch;
  Value **values; /* every value: inputs, params, state, results */
  int nvalues, cap_values;
  Node **nodes; /* schedule order */
  int nnodes, cap_nodes;
  Value **outputs; /* the loss first */
  int noutputs, cap_outputs;
  struct NameTable *names; /* value-name lookup */
  int next_node_id;
} Graph;

Graph *graph_new(Arena *a, const char *name, int batch);

/* Returns `base` if no value has that name yet, else `base.1`, `base.2`, ... */
const char *graph_unique_name(Graph *g, const char *base);
Value *graph_find_value(const Graph *g, const char *name);

/* Names must be unique (use graph_unique_name); these abort on a duplicate,
 * which is a bug in the caller, not a user error. */
Value *graph_add_input(Graph *g, const char *name, ValueKind kind, TensorType type, SrcLoc loc);
Value *graph_add_param(Graph *g, const char *name, ValueKind kind, TensorType type, Init init,
                       const char *layer, SrcLoc loc);
/* Appends a node at the end of the schedule. Its nout results are named by
 * out_names (each must be unique) and get an unknown f32 type until shape
 * inference runs. */
Node *graph_add_node(Graph *g, OpKind op, const char *name, Value **in, int nin,
                     const char *const *out_names, int nout, SrcLoc loc);
void graph_add_output(Graph *g, Value *v);

/* Rewriting, for passes that insert, wrap or swap nodes (LAC puts a node
 * after each conv, PRC wraps a tensor in a clip, fuse swaps an op for a
 * fused one). Schedule edits are linear in the schedule's length. */
/* graph_add_node, then placed right after `after` in the schedule (first
 * when after is NULL); `after` must be scheduled. */
Node *graph_insert_node_after(Graph *g, const Node *after, OpKind op, const char *name,
                              Value **in, int nin, const char *const *out_names, int nout,
                              SrcLoc loc);
/* Moves scheduled node n right after `after` (first when NULL). False if
 * either is not in the schedule. The caller keeps the order topological. */
bool graph_move_after(Graph *g, Node *n, const Node *after);
/* Every operand that reads `from`, in every scheduled node but `except`
 * (the node that wraps `from`, say), and every graph output, becomes `to`.
 * Returns how many uses changed. */
int graph_replace_uses(Graph *g, const Value *from, Value *to, const Node *except);
/* Takes n out of the schedule; false (and nothing changes) if n is not
 * scheduled or one of its results is still used or a graph output. Its
 * results disappear at the next graph_compact. */
bool graph_remove_node(Graph *g, Node *n);
/* Adds a result to an existing node (used when a pass turns an op into its
 * training form with extra saved results). */
Value *node_add_result(Graph *g, Node *n, const char *name, TensorType type);
/* Replaces the schedule with nodes[0..n) (a pass that removes or reorders
 * nodes builds the new order and installs it). */
void graph_set_schedule(Graph *g, Node **nodes, int n);
/* Drops node results whose node is no longer scheduled and renumbers
 * Value.id densely (call after graph_set_schedule removed nodes). */
void graph_compact(Graph *g);
/* Takes the nodes marked removed[node id] out of the schedule (the order of
 * the rest kept), then graph_compact: for passes that fold nodes away. */
void graph_drop_nodes(Graph *g, const bool *removed);

/* Attributes. set_* replace an existing attribute of the same name. */
void node_set_int(Graph *g, Node *n, const char *name, int64_t v);
void node_set_float(Graph *g, Node *n, const char *name, double v);
void node_set_ints(Graph *g, Node *n, const char *name, int len, const int64_t *v);
void node_set_str(Graph *g, Node *n, const char *name, const char *v);
const Attr *node_attr(const Node *n, const char *name);
int64_t node_int(const Node *n, const char *name, int64_t dflt);
double node_float(const Node *n, const char *name, double dflt);
/* A string attribute, or the registry's default for an optional one (NULL
 * if neither). */
const char *node_str(const Node *n, const char *name);
/* Element i of an int list; dflt if absent or too short. */
int64_t node_ints(const Node *n, const char *name, int i, int64_t dflt);

/* Users of a value (nodes that read it), in schedule order. Returns a count;
 * fills up to max entries. */
int value_users(const Graph *g, const Value *v, Node **users, int max);
bool value_is_persistent(const Value *v); /* PARAM or STATE */
/* "conv2d 'c1'", or "conv2d" for an unnamed node: how messages name a node. */
const char *node_describe(const Node *n, char *buf, size_t size);

#endif
