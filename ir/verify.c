/* The graph verifier (ir/verify.h). It checks, it never infers: values are
 * well formed and SSA (one definition, operands defined earlier in the
 * schedule), every node matches its row of the op table (ir/ops.c: operand
 * and result counts, every attribute present with its kind and list length,
 * no unknown ones, sane ranges), dtypes are the ones each op takes, and at
 * VERIFY_SHAPES every shape is known and equals what the op's shape rule
 * (ir/shape_rules.c) computes, so inference and verification can never
 * disagree. Every message names the node and points at its location. */
#include "verify.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shape_rules.h"

typedef struct Verifier {
  const Graph *g;
  Diag *d;
  int errors;
  bool *defined;   /* by value id: defined so far in schedule order */
  bool *scheduled; /* by node id: seen in the schedule */
  int nnode_ids;
} Verifier;

static void fail(Verifier *v, SrcLoc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(Verifier *v, SrcLoc loc, const char *fmt, ...) {
  char buf[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  v->errors++;
  diag_error(v->d, loc, "%s", buf);
}


static const char *kind_name(ValueKind k) {
  static const char *const names[] = {"input", "label", "param", "state", "value"};
  return k <= VAL_NODE ? names[k] : "value";
}

static bool in_graph(const Graph *g, const Value *v) {
  return v && v->id >= 0 && v->id < g->nvalues && g->values[v->id] == v;
}

/* ---- values ---- */

static void check_init(Verifier *v, const Value *val) {
  if (val->init.kind == INIT_NONE || val->init.kind >= INIT_COUNT)
    fail(v, val->loc, "%s '%%%s' has no initializer", kind_name(val->kind), val->name);
  else if (val->init.kind == INIT_NORMAL && !(val->init.value > 0))
    fail(v, val->loc, "%s '%%%s': init normal needs a standard deviation > 0", kind_name(val->kind),
         val->name);
}

static void check_label(Verifier *v, const Value *val) {
  char b[200];
  if (val->classes < 0)
    fail(v, val->loc, "label '%%%s' has %lld classes", val->name, (long long)val->classes);
  else if (val->classes > 0 && val->type.dtype != DT_I32)
    fail(v, val->loc, "label '%%%s' holds class ids (classes %lld) but is %s; class labels are i32",
         val->name, (long long)val->classes, type_str(&val->type, b, sizeof b));
  else if (val->classes == 0 && val->type.dtype != DT_F32)
    fail(v, val->loc, "label '%%%s' holds float targets (no classes) but is %s", val->name,
         type_str(&val->type, b, sizeof b));
}

static void check_value(Verifier *v, int i) {
  const Graph *g = v->g;
  const Value *val = g->values[i];
  if (!val) {
    fail(v, (SrcLoc){0}, "graph '%s': value #%d is null", g->name, i);
    return;
  }
  if (val->id != i) {
    fail(v, val->loc, "value '%%%s' has id %d but is value #%d", val->name, val->id, i);
    return;
  }
  if (graph_find_value(g, val->name) != val)
    fail(v, val->loc, "value '%%%s' is not the value of that name in the graph", val->name);
  if (val->kind > VAL_NODE || val->type.dtype >= DT_COUNT || val->type.shape.rank > MAX_RANK) {
    fail(v, val->loc, "value '%%%s' has an invalid kind, dtype or rank", val->name);
    return;
  }
  if (val->kind == VAL_NODE) {
    const Node *n = val->def;
    if (!n || val->def_index < 0 || val->def_index >= n->nout || n->out[val->def_index] != val)
      fail(v, val->loc, "value '%%%s' is not a result of its defining node", val->name);
    return;
  }
  if (val->def)
    fail(v, val->loc, "%s '%%%s' has a defining node", kind_name(val->kind), val->name);
  v->defined[i] = true; /* declarations are defined before the first node */
  if (val->kind == VAL_PARAM || val->kind == VAL_STATE) check_init(v, val);
  if (val->kind == VAL_LABEL) check_label(v, val);
}

/* ---- nodes ---- */

/* "an integer", "a number": the article for an attribute kind. */
static const char *a_kind(AttrKind k) { return k == ATTR_FLOAT || k == ATTR_STR ? "a" : "an"; }

/* "fp32, int8": a NULL-terminated word list for messages. */
static const char *words(const char *const *list, char *buf, size_t size) {
  size_t k = 0;
  buf[0] = 0;
  for (int i = 0; list[i] && k < size; i++)
    k += (size_t)snprintf(buf + k, size - k, "%s%s", i ? ", " : "", list[i]);
  return buf;
}

static bool word_in(const char *s, const char *const *list) {
  for (; s && *list; list++)
    if (strcmp(s, *list) == 0) return true;
  return false;
}

static bool name_in(const char *name, const char *const *list) {
  for (; *list; list++)
    if (strcmp(name, *list) == 0) return true;
  return false;
}

/* Ranges of the attributes whose meaning every op shares: window and layer
 * sizes are >= 1, pads >= 0, eps in (0,1), rates and momenta in [0,1).
 * Other attributes (counts of epochs, flags, learning rates) are the
 * recipe's to validate. */
static void check_attr_range(Verifier *v, const Node *n, const Attr *a) {
  static const char *const sizes[] = {"filters", "groups", "units", "kernel", "stride", NULL};
  static const char *const pads[] = {"pad", NULL};
  static const char *const unit_rates[] = {"rate", "momentum", "beta1", "beta2", NULL};
  char w[160];
  bool size = name_in(a->name, sizes), pad = name_in(a->name, pads);
  if (size || pad) {
    int64_t min = size ? 1 : 0;
    if (a->kind == ATTR_INT && a->i < min)
      fail(v, n->loc, "%s: attribute %s=%lld must be >= %lld", node_describe(n, w, sizeof w), a->name,
           (long long)a->i, (long long)min);
    for (int k = 0; a->kind == ATTR_INTS && k < a->n; k++)
      if (a->ints[k] < min) {
        fail(v, n->loc, "%s: attribute %s has element %lld; elements must be >= %lld",
             node_describe(n, w, sizeof w), a->name, (long long)a->ints[k], (long long)min);
        break;
      }
    return;
  }
  if (a->kind != ATTR_FLOAT) return;
  bool eps = strcmp(a->name, "eps") == 0;
  if (eps && !(a->f > 0 && a->f < 1))
    fail(v, n->loc, "%s: attribute eps=%g is out of range (0 < eps < 1)", node_describe(n, w, sizeof w),
         a->f);
  if (name_in(a->name, unit_rates) && !(a->f >= 0 && a->f < 1))
    fail(v, n->loc, "%s: attribute %s=%g is out of range (0 <= %s < 1)", node_describe(n, w, sizeof w),
         a->name, a->f, a->name);
}

static void check_attrs(Verifier *v, const Node *n, const OpInfo *info) {
  char w[160], ws[160];
  for (int i = 0; i < n->nattrs; i++) {
    const Attr *a = &n->attrs[i];
    const AttrSpec *spec = a->name ? op_attr_spec(info, a->name) : NULL;
    if (!spec) {
      fail(v, n->loc, "%s has no attribute '%s'", node_describe(n, w, sizeof w), a->name ? a->name : "");
      continue;
    }
    for (int j = 0; j < i; j++)
      if (strcmp(n->attrs[j].name, a->name) == 0)
        fail(v, n->loc, "%s: attribute '%s' given twice", node_describe(n, w, sizeof w), a->name);
    if (a->kind != spec->kind)
      fail(v, n->loc, "%s: attribute '%s' must be %s %s, not %s %s", node_describe(n, w, sizeof w),
           a->name, a_kind(spec->kind), attr_kind_name(spec->kind), a_kind(a->kind),
           attr_kind_name(a->kind));
    else if (a->kind == ATTR_INTS && spec->ints_len && a->n != spec->ints_len)
      fail(v, n->loc, "%s: attribute '%s' needs %d elements, got %d", node_describe(n, w, sizeof w),
           a->name, spec->ints_len, a->n);
    else if (a->kind == ATTR_STR && spec->choices && !word_in(a->s, spec->choices))
      fail(v, n->loc, "%s: attribute %s=\"%s\" is not one of %s", node_describe(n, w, sizeof w),
           a->name, a->s, words(spec->choices, ws, sizeof ws));
    else
      check_attr_range(v, n, a);
  }
  for (int i = 0; i < info->nattrs; i++)
    if (!info->attrs[i].optional && !node_attr(n, info->attrs[i].name))
      fail(v, n->loc, "%s is missing attribute '%s' (%s)", node_describe(n, w, sizeof w),
           info->attrs[i].name, attr_kind_name(info->attrs[i].kind));
}

static void check_operand(Verifier *v, const Node *n, const OpInfo *info, int i) {
  char w[160], b[200];
  const Value *x = n->in[i];
  const char *role = i < info->max_in ? info->in_names[i] : "operand";
  if (!in_graph(v->g, x)) {
    fail(v, n->loc, "%s: %s (operand %d) is not a value of this graph", node_describe(n, w, sizeof w), role,
         i + 1);
    return;
  }
  if (!v->defined[x->id]) {
    fail(v, n->loc, "%s: %s '%%%s' is used before it is defined", node_describe(n, w, sizeof w), role,
         x->name);
    if (x->def) diag_note(v->d, x->def->loc, "'%%%s' is defined here", x->name);
  }
  if ((info->writes >> i & 1u) && !value_is_persistent(x))
    fail(v, n->loc, "%s: %s '%%%s' is updated in place, so it must be a param or state, not %s %s",
         node_describe(n, w, sizeof w), role, x->name, x->kind == VAL_INPUT ? "an" : "a",
         kind_name(x->kind));
  DType want = i < info->max_in ? dtype_slot_resolve(info->in_types[i], op_elem_type(n, NULL))
                                 : x->type.dtype;
  if (x->type.dtype != want)
    fail(v, n->loc, "%s: %s '%%%s' is %s but must be %s", node_describe(n, w, sizeof w), role, x->name,
         type_str(&x->type, b, sizeof b), dtype_name(want));
}

static void check_result(Verifier *v, const Node *n, int j) {
  char w[160], b[200];
  const Value *r = n->out[j];
  if (!in_graph(v->g, r) || r->def != n || r->def_index != j) {
    fail(v, n->loc, "%s: result %d is not a value defined by this node", node_describe(n, w, sizeof w),
         j + 1);
    return;
  }
  /* One definition: a node scheduled twice is caught in check_node, a value
   * claimed by two nodes fails the def test above. */
  v->defined[r->id] = true;
  const OpInfo *info = op_info(n->op);
  DType want = j < info->nout ? dtype_slot_resolve(info->out_types[j], op_elem_type(n, NULL))
                              : r->type.dtype;
  if (r->type.dtype != want)
    fail(v, n->loc, "%s: result '%%%s' is %s but must be %s", node_describe(n, w, sizeof w), r->name,
         type_str(&r->type, b, sizeof b), dtype_name(want));
}

static void check_node(Verifier *v, int pos) {
  const Node *n = v->g->nodes[pos];
  char w[160];
  if (!n) {
    fail(v, (SrcLoc){0}, "graph '%s': node #%d of the schedule is null", v->g->name, pos);
    return;
  }
  if (n->id < 0 || n->id >= v->nnode_ids || v->scheduled[n->id]) {
    fail(v, n->loc, "%s appears twice in the schedule or has a bad id", node_describe(n, w, sizeof w));
    return;
  }
  v->scheduled[n->id] = true;
  const OpInfo *info = op_info(n->op);
  if (!info) {
    fail(v, n->loc, "node '%s' has an unknown op (%d)", n->name ? n->name : "", (int)n->op);
    return;
  }
  if (n->nin < info->min_in || n->nin > info->max_in) {
    if (info->min_in == info->max_in)
      fail(v, n->loc, "%s takes %d operand%s, got %d", node_describe(n, w, sizeof w), info->min_in,
           info->min_in == 1 ? "" : "s", n->nin);
    else
      fail(v, n->loc, "%s takes %d to %d operands, got %d", node_describe(n, w, sizeof w), info->min_in,
           info->max_in, n->nin);
  }
  if (!op_result_count_ok(info, n->nout))
    fail(v, n->loc, "%s has %d result%s, got %d", node_describe(n, w, sizeof w), info->nout,
         info->nout == 1 ? "" : "s", n->nout);
  for (int i = 0; i < n->nin; i++) check_operand(v, n, info, i);
  for (int j = 0; j < n->nout; j++) check_result(v, n, j);
  check_attrs(v, n, info);
}

static void check_outputs(Verifier *v) {
  const Graph *g = v->g;
  for (int i = 0; i < g->nvalues; i++) {
    const Value *val = g->values[i];
    if (val && val->id == i && val->kind == VAL_NODE && !v->defined[i])
      fail(v, val->loc, "value '%%%s' is defined by a node that is not in the schedule",
           val->name);
  }
  for (int i = 0; i < g->noutputs; i++) {
    const Value *o = g->outputs[i];
    if (!in_graph(g, o)) {
      fail(v, (SrcLoc){0}, "graph '%s': output %d is not a value of this graph", g->name, i + 1);
      continue;
    }
    for (int j = 0; j < i; j++)
      if (g->outputs[j] == o) fail(v, o->loc, "value '%%%s' is listed twice as an output", o->name);
  }
}

/* ---- shapes ---- */

static void check_value_shape(Verifier *v, const Value *val) {
  char b[200];
  if (!shape_known(&val->type.shape)) {
    fail(v, val->loc, "%s '%%%s' has no inferred shape (%s)", kind_name(val->kind), val->name,
         type_str(&val->type, b, sizeof b));
    return;
  }
  bool per_step = val->kind == VAL_INPUT || val->kind == VAL_LABEL;
  if (per_step && (val->type.shape.rank < 1 || val->type.shape.dim[0] != v->g->batch))
    fail(v, val->loc, "%s '%%%s' is %s but the batch is %d", kind_name(val->kind), val->name,
         type_str(&val->type, b, sizeof b), v->g->batch);
}

static bool node_shapes_known(const Node *n) {
  for (int i = 0; i < n->nin; i++)
    if (!shape_known(&n->in[i]->type.shape)) return false;
  for (int j = 0; j < n->nout; j++)
    if (!shape_known(&n->out[j]->type.shape)) return false;
  return true;
}

/* Operands and results must equal what the op's shape rule computes. */
static void check_node_shapes(Verifier *v, const Node *n) {
  enum { MAX_IO = 8 };
  TensorType in[MAX_IO], expect[MAX_IO], out[MAX_IO];
  char err[512], w[160], b1[200], b2[200];
  if (n->nin > MAX_IO || n->nout > MAX_IO || !node_shapes_known(n)) return;
  for (int i = 0; i < n->nin; i++) in[i] = n->in[i]->type;
  memset(out, 0, sizeof out);
  if (!shape_rule(n, in, expect, out, err, sizeof err)) {
    fail(v, n->loc, "%s", err);
    return;
  }
  const OpInfo *info = op_info(n->op);
  for (int i = 0; i < n->nin; i++)
    if (in[i].dtype != expect[i].dtype || !shape_eq(&in[i].shape, &expect[i].shape))
      fail(v, n->loc, "%s: %s '%%%s' is %s but must be %s", node_describe(n, w, sizeof w),
           info->in_names[i], n->in[i]->name, type_str(&in[i], b1, sizeof b1),
           type_str(&expect[i], b2, sizeof b2));
  for (int j = 0; j < n->nout; j++) {
    const TensorType *t = &n->out[j]->type;
    if (t->dtype != out[j].dtype || !shape_eq(&t->shape, &out[j].shape))
      fail(v, n->loc, "%s: result '%%%s' is %s but the shape rule gives %s", node_describe(n, w, sizeof w),
           n->out[j]->name, type_str(t, b1, sizeof b1), type_str(&out[j], b2, sizeof b2));
  }
}

static void check_shapes(Verifier *v) {
  const Graph *g = v->g;
  for (int i = 0; i < g->nvalues; i++) check_value_shape(v, g->values[i]);
  for (int i = 0; i < g->nnodes; i++) check_node_shapes(v, g->nodes[i]);
}

bool graph_verify(const Graph *g, Diag *d, VerifyLevel level) {
  Verifier v = {g, d, 0, NULL, NULL, 0};
  v.defined = xcalloc((size_t)g->nvalues + 1, sizeof(bool));
  v.nnode_ids = g->next_node_id;
  v.scheduled = xcalloc((size_t)v.nnode_ids + 1, sizeof(bool));
  for (int i = 0; i < g->nvalues; i++) check_value(&v, i);
  for (int i = 0; i < g->nnodes; i++) check_node(&v, i);
  check_outputs(&v);
  /* Shape rules assume a structurally sound graph. */
  if (level == VERIFY_SHAPES && v.errors == 0) check_shapes(&v);
  free(v.defined);
  free(v.scheduled);
  return v.errors == 0;
}
