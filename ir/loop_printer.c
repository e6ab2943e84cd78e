/* Prints the loop IR as text (grammar in docs/loops.md). Expressions are
 * infix with C precedence and only the parentheses the tree needs, so the
 * reader rebuilds the same tree and a second print is byte-identical.
 *
 * Variable names must be unique within a kernel for the text to read back;
 * the builder does not enforce that (a lowering may reuse one LVar for two
 * sibling loops, or two LVars may share a name), so the printer renames a
 * declaration whose name is already taken in the kernel to NAME.1, NAME.2. */
#include "loop_printer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A variable visible at the current point, under its printed name. */
typedef struct Binding {
  const LVar *var;
  const char *name;
} Binding;

/* Printer state for one kernel: visible bindings (a stack cut back at the end
 * of each block) and every name declared so far (owned copies). */
typedef struct Names {
  Binding *scope;
  int nscope, cap_scope;
  char **used;
  int nused, cap_used;
} Names;

static void names_free(Names *n) {
  for (int i = 0; i < n->nused; i++) free(n->used[i]);
  free(n->used);
  free(n->scope);
}

static bool name_used(const Names *n, const char *s) {
  for (int i = 0; i < n->nused; i++)
    if (strcmp(n->used[i], s) == 0) return true;
  return false;
}

static const char *use_name(Names *n, const char *s) {
  if (n->nused == n->cap_used) {
    n->cap_used = n->cap_used ? n->cap_used * 2 : 16;
    n->used = xrealloc(n->used, (size_t)n->cap_used * sizeof(char *));
  }
  size_t len = strlen(s);
  char *copy = xmalloc(len + 1);
  memcpy(copy, s, len + 1);
  n->used[n->nused++] = copy;
  return copy;
}

/* Picks the printed name of a new declaration: its own, or NAME.k when that
 * is taken in this kernel. */
static const char *pick_name(Names *n, const LVar *v) {
  if (!name_used(n, v->name)) return use_name(n, v->name);
  size_t size = strlen(v->name) + 24;
  char *buf = xmalloc(size);
  for (int k = 1;; k++) {
    snprintf(buf, size, "%s.%d", v->name, k);
    if (!name_used(n, buf)) break;
  }
  const char *name = use_name(n, buf);
  free(buf);
  return name;
}

/* Makes a declaration visible (after its initialiser or bounds printed). */
static void bind(Names *n, const LVar *v, const char *name) {
  if (n->nscope == n->cap_scope) {
    n->cap_scope = n->cap_scope ? n->cap_scope * 2 : 16;
    n->scope = xrealloc(n->scope, (size_t)n->cap_scope * sizeof(Binding));
  }
  n->scope[n->nscope++] = (Binding){v, name};
}

/* The innermost visible binding; a variable used out of scope (an invalid
 * program, which the verifier reports) prints under its own name. */
static const char *var_name(const Names *n, const LVar *v) {
  if (!v) return "<null>";
  if (n)
    for (int i = n->nscope - 1; i >= 0; i--)
      if (n->scope[i].var == v) return n->scope[i].name;
  return v->name;
}

const char *lfloat_str(float v, char *buf, size_t size) {
  if (isnan(v)) {
    snprintf(buf, size, "%s", signbit(v) ? "-nan" : "nan");
    return buf;
  }
  if (isinf(v)) {
    snprintf(buf, size, "%s", v < 0 ? "-inf" : "inf");
    return buf;
  }
  for (int prec = 1; prec <= 9; prec++) {
    snprintf(buf, size, "%.*g", prec, (double)v);
    if (strtof(buf, NULL) == v) break;
  }
  /* %g picks an exponent for integral values like 100 ("1e+02"): spell
   * those out ("100.0") up to 16 digits, which reads as well and still
   * round-trips (such a float is an integer, printed exactly). */
  const char *e = strchr(buf, 'e');
  if (e && e[1] == '+' && atoi(e + 2) <= 15) snprintf(buf, size, "%.0f", (double)v);
  if (!strpbrk(buf, ".e")) {
    size_t len = strlen(buf);
    if (len + 3 <= size) memcpy(buf + len, ".0", 3);
  }
  return buf;
}

static void print_string(FILE *out, const char *s) {
  fputc('"', out);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') fprintf(out, "\\%c", c);
    else if (c == '\n') fputs("\\n", out);
    else if (c == '\t') fputs("\\t", out);
    else if (c < 32 || c == 127) fprintf(out, "\\x%02x", c);
    else fputc(c, out);
  }
  fputc('"', out);
}

static bool plain_name(const char *s) {
  if (!*s) return false;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
          *s == '_' || *s == '.'))
      return false;
  return true;
}

/* %name for variables and buffers; %"..." when the name (a graph value's)
 * has other characters. */
static void print_ref(FILE *out, const char *name) {
  fputc('%', out);
  if (plain_name(name)) fputs(name, out);
  else print_string(out, name);
}

/* ---- expressions ---- */

enum { PREC_UNARY = 11, PREC_PRIMARY = 12 };

/* C's binary precedence; min and max print as calls (primary). */
static int binop_prec(LBinOp op) {
  switch (op) {
  case LB_LOR: return 1;
  case LB_LAND: return 2;
  case LB_OR: return 3;
  case LB_XOR: return 4;
  case LB_AND: return 5;
  case LB_EQ: case LB_NE: return 6;
  case LB_LT: case LB_LE: case LB_GT: case LB_GE: return 7;
  case LB_SHL: case LB_SHR: return 8;
  case LB_ADD: case LB_SUB: return 9;
  case LB_MUL: case LB_DIV: case LB_REM: return 10;
  case LB_MIN: case LB_MAX: return PREC_PRIMARY;
  }
  return PREC_PRIMARY;
}

static const char *binop_str(LBinOp op) {
  static const char *const s[] = {
      [LB_ADD] = "+",  [LB_SUB] = "-",  [LB_MUL] = "*",   [LB_DIV] = "/",  [LB_REM] = "%",
      [LB_MIN] = "min", [LB_MAX] = "max", [LB_SHL] = "<<", [LB_SHR] = ">>", [LB_AND] = "&",
      [LB_OR] = "|",   [LB_XOR] = "^",  [LB_LT] = "<",    [LB_LE] = "<=",  [LB_GT] = ">",
      [LB_GE] = ">=",  [LB_EQ] = "==",  [LB_NE] = "!=",   [LB_LAND] = "&&", [LB_LOR] = "||",
  };
  return (unsigned)op < sizeof s / sizeof *s && s[op] ? s[op] : "?";
}

static const char *unop_str(LUnOp op) {
  static const char *const s[] = {
      [LU_NEG] = "-",   [LU_NOT] = "!",   [LU_ABS] = "abs",    [LU_EXP] = "exp",
      [LU_LOG] = "log", [LU_SQRT] = "sqrt", [LU_FLOOR] = "floor", [LU_COS] = "cos",
  };
  return (unsigned)op < sizeof s / sizeof *s && s[op] ? s[op] : "?";
}

static int expr_prec(const LExpr *e) {
  if (e->kind == LE_BINARY) return binop_prec(e->bop);
  if (e->kind == LE_UNARY && (e->uop == LU_NEG || e->uop == LU_NOT)) return PREC_UNARY;
  /* A negative constant reads back as one token only where a unary operator
   * may stand; as a primary it would be ambiguous after NEG, see below. */
  return PREC_PRIMARY;
}

static void print_expr(FILE *out, const Names *n, const LExpr *e, int min_prec);

static void print_const(FILE *out, const LExpr *e) {
  if (e->type == DT_F32) {
    char buf[32];
    fputs(lfloat_str(e->f, buf, sizeof buf), out);
    return;
  }
  fprintf(out, "%lld", (long long)e->i);
  if (e->type != DT_I32) fputs(dtype_name(e->type), out);
}

static void print_args(FILE *out, const Names *n, const LExpr *a, const LExpr *b,
                       const LExpr *c) {
  fputc('(', out);
  print_expr(out, n, a, 0);
  if (b) {
    fputs(", ", out);
    print_expr(out, n, b, 0);
  }
  if (c) {
    fputs(", ", out);
    print_expr(out, n, c, 0);
  }
  fputc(')', out);
}

static void print_unary(FILE *out, const Names *n, const LExpr *e) {
  if (e->uop != LU_NEG && e->uop != LU_NOT) {
    fputs(unop_str(e->uop), out);
    print_args(out, n, e->a, NULL, NULL);
    return;
  }
  fputs(unop_str(e->uop), out);
  /* `-3` is the constant -3; the negation of the constant 3 is `-(3)`. */
  bool paren = e->uop == LU_NEG && e->a && e->a->kind == LE_CONST;
  if (paren) fputc('(', out);
  print_expr(out, n, e->a, paren ? 0 : PREC_UNARY);
  if (paren) fputc(')', out);
}

/* NAME(args) or NAME<T>(args), as the intrinsic's table row says. */
static void print_call(FILE *out, const Names *n, const LExpr *e) {
  const LIntrinsicInfo *in = lintrinsic_info(e->fn);
  if (!in) {
    fputs("?", out);
    print_args(out, n, e->a, e->b, e->c);
    return;
  }
  fputs(in->name, out);
  if (in->result == LRES_WRITTEN) fprintf(out, "<%s>", dtype_name(e->type));
  print_args(out, n, e->a, in->nargs > 1 ? e->b : NULL, in->nargs > 2 ? e->c : NULL);
}

static void print_expr(FILE *out, const Names *n, const LExpr *e, int min_prec) {
  if (!e) {
    fputs("<null>", out);
    return;
  }
  int prec = expr_prec(e);
  bool paren = prec < min_prec;
  if (paren) fputc('(', out);
  switch (e->kind) {
  case LE_CONST: print_const(out, e); break;
  case LE_VAR: print_ref(out, var_name(n, e->var)); break;
  case LE_LOAD:
    fputs("load ", out);
    print_ref(out, e->buf ? e->buf->name : "<null>");
    fputc('[', out);
    print_expr(out, n, e->a, 0);
    fputc(']', out);
    break;
  case LE_BINARY:
    if (prec == PREC_PRIMARY) {
      fputs(binop_str(e->bop), out);
      print_args(out, n, e->a, e->b, NULL);
      break;
    }
    print_expr(out, n, e->a, prec);
    fprintf(out, " %s ", binop_str(e->bop));
    print_expr(out, n, e->b, prec + 1);
    break;
  case LE_UNARY: print_unary(out, n, e); break;
  case LE_CAST:
    fputs(dtype_name(e->type), out);
    print_args(out, n, e->a, NULL, NULL);
    break;
  case LE_SELECT:
    fputs("select", out);
    print_args(out, n, e->a, e->b, e->c);
    break;
  case LE_CALL: print_call(out, n, e); break;
  }
  if (paren) fputc(')', out);
}

void lexpr_print(FILE *out, const LExpr *e) { print_expr(out, NULL, e, 0); }

/* ---- statements and kernels ---- */

static void indent(FILE *out, int depth) {
  for (int i = 0; i < depth; i++) fputs("  ", out);
}

static void print_block(FILE *out, Names *n, const LStmt *s, int depth);

static void print_for(FILE *out, Names *n, const LStmt *s, int depth) {
  int mark = n->nscope;
  const char *name = s->var ? pick_name(n, s->var) : "<null>";
  fputs("for ", out);
  print_ref(out, name);
  if (s->var && s->var->dtype != DT_I32) fprintf(out, " : %s", dtype_name(s->var->dtype));
  fputs(" in ", out);
  print_expr(out, n, s->lo, 0);
  fputs(" .. ", out);
  print_expr(out, n, s->hi, 0);
  if (s->step != 1) fprintf(out, " step %lld", (long long)s->step);
  if (s->hints & LHINT_VECTORIZE) fputs(" vectorize", out);
  if (s->hints & LHINT_UNROLL) fputs(" unroll", out);
  if (s->hints & LHINT_SCALAR) fputs(" scalar", out);
  fputs(" {\n", out);
  if (s->var) bind(n, s->var, name); /* the bounds cannot see the loop var */
  print_block(out, n, s->body, depth + 1);
  indent(out, depth);
  fputs("}\n", out);
  n->nscope = mark;
}

static void print_stmt(FILE *out, Names *n, const LStmt *s, int depth) {
  indent(out, depth);
  switch (s->kind) {
  case LS_FOR: print_for(out, n, s, depth); return;
  case LS_LET: {
    const char *name = s->var ? pick_name(n, s->var) : "<null>";
    fputs("let ", out);
    print_ref(out, name);
    fprintf(out, " : %s = ", s->var ? dtype_name(s->var->dtype) : "?");
    print_expr(out, n, s->value, 0); /* the value cannot see the new local */
    fputc('\n', out);
    if (s->var) bind(n, s->var, name);
    return;
  }
  case LS_ASSIGN:
    print_ref(out, var_name(n, s->var));
    fputs(" = ", out);
    print_expr(out, n, s->value, 0);
    fputc('\n', out);
    return;
  case LS_STORE:
    fputs("store ", out);
    print_ref(out, s->buf ? s->buf->name : "<null>");
    fputc('[', out);
    print_expr(out, n, s->index, 0);
    fputs("] = ", out);
    print_expr(out, n, s->value, 0);
    fputc('\n', out);
    return;
  case LS_IF:
    fputs("if ", out);
    print_expr(out, n, s->cond, 0);
    fputs(" {\n", out);
    print_block(out, n, s->body, depth + 1);
    indent(out, depth);
    if (s->else_body) {
      fputs("} else {\n", out);
      print_block(out, n, s->else_body, depth + 1);
      indent(out, depth);
    }
    fputs("}\n", out);
    return;
  }
}

static void print_block(FILE *out, Names *n, const LStmt *s, int depth) {
  int mark = n->nscope;
  for (; s; s = s->next) print_stmt(out, n, s, depth);
  n->nscope = mark;
}

/* The program's scalar arguments (n, seed) in variable order: every kernel
 * sees them. Collected once per program, not once per kernel (a program
 * may have a million variables and hundreds of thousands of kernels). */
typedef struct Args {
  const LVar **vars;
  int n;
} Args;

static Args args_of(const LProgram *p) {
  Args a = {xcalloc((size_t)p->nvars + 1, sizeof(LVar *)), 0};
  for (int i = 0; i < p->nvars; i++)
    if (p->vars[i]->kind == LVAR_ARG) a.vars[a.n++] = p->vars[i];
  return a;
}

static void print_kernel(FILE *out, const Args *args, const LKernel *k, int depth) {
  Names n = {0};
  for (int i = 0; i < args->n; i++) bind(&n, args->vars[i], pick_name(&n, args->vars[i]));
  indent(out, depth);
  fprintf(out, "kernel %s", k->name);
  if (k->origin) {
    fputs(" from ", out);
    print_string(out, k->origin);
  }
  if (k->loc.file) {
    fputs(" loc(", out);
    print_string(out, k->loc.file);
    fprintf(out, ":%d:%d)", k->loc.line, k->loc.col);
  }
  fputs(" {\n", out);
  print_block(out, &n, k->body, depth + 1);
  indent(out, depth);
  fputs("}\n", out);
  names_free(&n);
}

void lkernel_print(FILE *out, const LProgram *p, const LKernel *k) {
  Args args = args_of(p);
  print_kernel(out, &args, k, 0);
  free(args.vars);
}

/* ---- the program ---- */

static bool is_ident(const char *s) {
  if (!*s || !(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z'))) return false;
  for (; *s; s++)
    if (!(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
          (*s >= '0' && *s <= '9')))
      return false;
  return true;
}

static void print_shape(FILE *out, const Shape *s) {
  fputc('[', out);
  if (s->rank < 0) fputc('*', out);
  for (int i = 0; i < s->rank && i < MAX_RANK; i++) {
    if (i) fputc(',', out);
    if (s->dim[i] < 0) fputc('?', out);
    else fprintf(out, "%lld", (long long)s->dim[i]);
  }
  fputc(']', out);
}

/* A constant buffer's values: `[v, v, v]`, or eight a line when longer. */
static void print_const_data(FILE *out, const LBuffer *b) {
  int64_t numel = shape_numel(&b->shape);
  bool wrap = numel > 8;
  fputs(" = [", out);
  for (int64_t k = 0; b->data && k < numel; k++) {
    if (wrap && k % 8 == 0) fputs(k ? ",\n    " : "\n    ", out);
    else if (k) fputs(", ", out);
    if (b->dtype == DT_F32) {
      char buf[32];
      fputs(lfloat_str(lconst_f32(b, k), buf, sizeof buf), out);
    } else {
      fprintf(out, "%lld", (long long)lconst_int(b, k));
    }
  }
  fputs(wrap ? "\n  ]" : "]", out);
}

static void print_buffer(FILE *out, const LBuffer *b) {
  static const char *const homes[] = {[LBUF_STATE] = "state", [LBUF_WORK] = "work",
                                      [LBUF_ARG] = "arg", [LBUF_CONST] = "const"};
  static const char *const roles[] = {[LROLE_NONE] = "",       [LROLE_PARAM] = " param",
                                      [LROLE_OPTIM] = " optim", [LROLE_BUFFER] = " stats",
                                      [LROLE_INTERNAL] = " internal"};
  fputs("  buffer ", out);
  print_ref(out, b->name);
  fprintf(out, " : %s", dtype_name(b->dtype));
  print_shape(out, &b->shape);
  fprintf(out, " %s%s", (unsigned)b->home <= LBUF_CONST ? homes[b->home] : "?",
          (unsigned)b->role <= LROLE_INTERNAL ? roles[b->role] : " ?");
  if (b->readonly) fputs(" readonly", out);
  if (b->optional) fputs(" optional", out);
  if (b->offset != -1) fprintf(out, " @%lld", (long long)b->offset);
  if (b->home == LBUF_CONST) print_const_data(out, b);
  fputc('\n', out);
}

static void print_facts(FILE *out, const LProgram *p) {
  const LBuffer *bufs[] = {p->loss, p->input, p->label, p->pred, p->epoch, p->eval_loss,
                           p->eval_correct};
  const char *words[] = {"loss", "input", "label", "pred", "epoch", "eval_loss", "eval_correct"};
  for (int i = 0; i < 7; i++) {
    if (!bufs[i]) continue;
    fprintf(out, "  %s ", words[i]);
    print_ref(out, bufs[i]->name);
    fputc('\n', out);
  }
  fprintf(out, "  kind %s\n", p->kind == LPROG_REGRESSION ? "regression" : "classifier");
  fprintf(out, "  num_classes %d\n", p->num_classes);
  fprintf(out, "  state_bytes %lld\n", (long long)p->state_bytes);
  fprintf(out, "  work_bytes %lld\n", (long long)p->work_bytes);
}

static void print_entry(FILE *out, const LEntry *e) {
  fprintf(out, "  entry %s {", lentry_name(e->kind));
  for (int i = 0; i < e->ncalls; i++)
    fprintf(out, "%s%s", i ? ", " : " ", e->calls[i] ? e->calls[i]->name : "<null>");
  fputs(e->ncalls ? " }\n" : "}\n", out);
}

void lprog_print(FILE *out, const LProgram *p) {
  fputs("# octo loop IR\nprogram ", out);
  if (is_ident(p->name)) fputs(p->name, out);
  else print_string(out, p->name);
  fprintf(out, " (batch %d) {\n", p->batch);
  for (int i = 0; i < p->nvars; i++)
    if (p->vars[i]->kind == LVAR_ARG) {
      fputs("  arg ", out);
      print_ref(out, p->vars[i]->name);
      fprintf(out, " : %s\n", dtype_name(p->vars[i]->dtype));
    }
  for (int i = 0; i < p->nbuffers; i++) print_buffer(out, p->buffers[i]);
  print_facts(out, p);
  Args args = args_of(p);
  for (int i = 0; i < p->nkernels; i++) {
    fputc('\n', out);
    print_kernel(out, &args, p->kernels[i], 1);
  }
  free(args.vars);
  fputc('\n', out);
  for (int i = 0; i < LENTRY_COUNT; i++) print_entry(out, &p->entries[i]);
  fputs("}\n", out);
}
