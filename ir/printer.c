/* Prints the graph IR in its textual form (docs/ir.md). The output is
 * deterministic and exact: every float is written with the fewest digits
 * that read back to the same double, names that are not plain identifiers
 * are quoted, and nothing depends on other lines (no column padding), so a
 * printed graph reads back (ir/reader.c) and prints to the same bytes. */
#include "printer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void print_float(FILE *out, double v) {
  if (isnan(v)) {
    fputs("nan", out);
    return;
  }
  if (isinf(v)) {
    fputs(v < 0 ? "-inf" : "inf", out);
    return;
  }
  char buf[40];
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (strtod(buf, NULL) == v) break;
  }
  fputs(buf, out);
  /* An integer-looking float would read back as an int attribute. */
  if (!strpbrk(buf, ".e")) fputs(".0", out);
}

static bool is_ident_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.';
}

void print_string(FILE *out, const char *s) {
  fputc('"', out);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\')
      fprintf(out, "\\%c", *p);
    else if (*p == '\n')
      fputs("\\n", out);
    else if (*p == '\t')
      fputs("\\t", out);
    else if (*p < 32 || *p == 127)
      fprintf(out, "\\x%02x", *p);
    else
      fputc(*p, out);
  }
  fputc('"', out);
}

/* Bare names must not start with a digit or '.', so they never look like a
 * number, and must not be a keyword-free word the reader treats specially
 * ("nan" and "inf" only matter where numbers go, and names never go there). */
void print_name(FILE *out, const char *s) {
  bool bare = s[0] && !(s[0] >= '0' && s[0] <= '9') && s[0] != '.';
  for (const char *p = s; *p && bare; p++) bare = is_ident_char((unsigned char)*p);
  if (bare)
    fputs(s, out);
  else
    print_string(out, s);
}

void print_value_ref(FILE *out, const Value *v) {
  if (!v) {
    fputs("%<null>", out);
    return;
  }
  bool bare = v->name[0] != 0;
  for (const char *p = v->name; *p && bare; p++) bare = is_ident_char((unsigned char)*p);
  fputc('%', out);
  if (bare)
    fputs(v->name, out);
  else
    print_string(out, v->name);
}

static void print_loc(FILE *out, SrcLoc loc) {
  if (!loc.file) return;
  fputs("  loc(", out);
  print_string(out, loc.file);
  fprintf(out, ":%d:%d)", loc.line, loc.col);
}

static const char *decl_keyword(ValueKind k) {
  switch (k) {
  case VAL_INPUT: return "input";
  case VAL_LABEL: return "label";
  case VAL_PARAM: return "param";
  case VAL_STATE: return "state";
  case VAL_NODE: break;
  }
  return "?";
}

static void print_init(FILE *out, Init init) {
  fprintf(out, " init %s", init_name(init.kind));
  /* The value matters for const and normal; any other kind carries one
   * only if a pass set it, and then it is printed too so nothing is lost. */
  if (init.kind == INIT_CONST || init.kind == INIT_NORMAL || init.value != 0) {
    fputc('(', out);
    print_float(out, init.value);
    fputc(')', out);
  }
}

static void print_decl(FILE *out, const Value *v) {
  fprintf(out, "  %s ", decl_keyword(v->kind));
  print_value_ref(out, v);
  fputs(" : ", out);
  type_print(out, &v->type);
  if (v->kind == VAL_LABEL && v->classes)
    fprintf(out, " classes %lld", (long long)v->classes);
  if (v->kind == VAL_PARAM || v->kind == VAL_STATE) {
    if (v->init.kind != INIT_NONE) print_init(out, v->init);
    if (v->layer) {
      fputs(" layer ", out);
      print_name(out, v->layer);
    }
  }
  print_loc(out, v->loc);
  fputc('\n', out);
}

static void print_attr(FILE *out, const Attr *a) {
  print_name(out, a->name);
  fputs(" = ", out);
  switch (a->kind) {
  case ATTR_INT: fprintf(out, "%lld", (long long)a->i); break;
  case ATTR_FLOAT: print_float(out, a->f); break;
  case ATTR_INTS:
    fputc('[', out);
    for (int i = 0; i < a->n; i++) fprintf(out, i ? ", %lld" : "%lld", (long long)a->ints[i]);
    fputc(']', out);
    break;
  case ATTR_STR: print_string(out, a->s ? a->s : ""); break;
  }
}

static void print_node(FILE *out, const Node *n) {
  fputs("  ", out);
  for (int i = 0; i < n->nout; i++) {
    if (i) fputs(", ", out);
    print_value_ref(out, n->out[i]);
  }
  if (n->nout) fputs(" = ", out);
  fputs(op_name(n->op), out);
  if (n->name) {
    fputc(' ', out);
    print_string(out, n->name);
  }
  fputs(" (", out);
  for (int i = 0; i < n->nin; i++) {
    if (i) fputs(", ", out);
    print_value_ref(out, n->in[i]);
  }
  fputc(')', out);
  if (n->nattrs) {
    fputs(" {", out);
    for (int i = 0; i < n->nattrs; i++) {
      if (i) fputs(", ", out);
      print_attr(out, &n->attrs[i]);
    }
    fputc('}', out);
  }
  for (int i = 0; i < n->nout; i++) {
    fputs(i ? ", " : " : ", out);
    if (n->out[i])
      type_print(out, &n->out[i]->type);
    else
      fputs("?", out);
  }
  print_loc(out, n->loc);
  fputc('\n', out);
}

void graph_print(FILE *out, const Graph *g) {
  fputs("graph ", out);
  print_name(out, g->name ? g->name : "");
  fprintf(out, " (batch %d) {\n", g->batch);
  for (int i = 0; i < g->nvalues; i++)
    if (g->values[i]->kind != VAL_NODE) print_decl(out, g->values[i]);
  for (int i = 0; i < g->nnodes; i++) print_node(out, g->nodes[i]);
  if (g->noutputs) {
    fputs("  output ", out);
    for (int i = 0; i < g->noutputs; i++) {
      if (i) fputs(", ", out);
      print_value_ref(out, g->outputs[i]);
    }
    fputc('\n', out);
  }
  fputs("}\n", out);
}
