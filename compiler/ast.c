/* Syntax tree constructors: thin helpers so the bison actions stay one line
 * each. Every node lives in the compilation arena. */
#include "ast.h"

#include <inttypes.h>
#include <stdio.h>

static Expr *new_expr(Arena *a, ExprKind kind, SrcLoc loc) {
  Expr *e = arena_alloc(a, sizeof(Expr));
  e->kind = kind;
  e->loc = loc;
  e->depth = 1;
  return e;
}

Expr *ast_int(Arena *a, SrcLoc loc, int64_t v) {
  Expr *e = new_expr(a, EX_INT, loc);
  e->ival = v;
  return e;
}

Expr *ast_float(Arena *a, SrcLoc loc, double v) {
  Expr *e = new_expr(a, EX_FLOAT, loc);
  e->fval = v;
  return e;
}

Expr *ast_str(Arena *a, SrcLoc loc, const char *s) {
  Expr *e = new_expr(a, EX_STR, loc);
  e->name = s;
  return e;
}

Expr *ast_name(Arena *a, SrcLoc loc, const char *name) {
  Expr *e = new_expr(a, EX_NAME, loc);
  e->name = name;
  return e;
}

static int args_depth(const Arg *args) {
  int d = 0;
  for (const Arg *p = args; p; p = p->next)
    if (p->value && p->value->depth > d) d = p->value->depth;
  return d;
}

Expr *ast_call(Arena *a, SrcLoc loc, const char *callee, ArgList args) {
  Expr *e = new_expr(a, EX_CALL, loc);
  e->name = callee;
  e->args = args.head;
  e->nargs = args.n;
  e->depth = 1 + args_depth(args.head);
  return e;
}

Expr *ast_list(Arena *a, SrcLoc loc, ArgList elems) {
  Expr *e = new_expr(a, EX_LIST, loc);
  e->args = elems.head;
  e->nargs = elems.n;
  e->depth = 1 + args_depth(elems.head);
  return e;
}

Expr *ast_binop(Arena *a, SrcLoc loc, int op, Expr *lhs, Expr *rhs) {
  Expr *e = new_expr(a, EX_BINOP, loc);
  e->op = op;
  e->lhs = lhs;
  e->rhs = rhs;
  e->depth = 1 + (lhs->depth > rhs->depth ? lhs->depth : rhs->depth);
  return e;
}

Expr *ast_neg(Arena *a, SrcLoc loc, Expr *x) {
  Expr *e = new_expr(a, EX_NEG, loc);
  e->lhs = x;
  e->depth = 1 + x->depth;
  return e;
}

Arg *ast_arg(Arena *a, const char *key, SrcLoc key_loc, Expr *value) {
  Arg *p = arena_alloc(a, sizeof(Arg));
  p->key = key;
  p->key_loc = key_loc;
  p->value = value;
  return p;
}

ArgList arglist_append(ArgList l, Arg *arg) {
  if (l.tail)
    l.tail->next = arg;
  else
    l.head = arg;
  l.tail = arg;
  l.n++;
  return l;
}

StmtList stmtlist_append(StmtList l, Stmt *s) {
  if (l.tail)
    l.tail->next = s;
  else
    l.head = s;
  l.tail = s;
  return l;
}

ParamList paramlist_append(ParamList l, Param *p) {
  if (l.tail)
    l.tail->next = p;
  else
    l.head = p;
  l.tail = p;
  l.n++;
  return l;
}

Stmt *ast_stmt(Arena *a, StmtKind kind, SrcLoc loc, const char *name) {
  Stmt *s = arena_alloc(a, sizeof(Stmt));
  s->kind = kind;
  s->loc = loc;
  s->name = name;
  return s;
}

Param *ast_param(Arena *a, SrcLoc loc, const char *name, Expr *dflt) {
  Param *p = arena_alloc(a, sizeof(Param));
  p->loc = loc;
  p->name = name;
  p->dflt = dflt;
  return p;
}

Decl *ast_decl(Arena *a, DeclKind kind, SrcLoc loc, const char *name) {
  Decl *d = arena_alloc(a, sizeof(Decl));
  d->kind = kind;
  d->loc = loc;
  d->name = name;
  return d;
}

void program_add(Program *p, Decl *d) {
  if (!p->tail) p->tail = &p->decls;
  *p->tail = d;
  p->tail = &d->next;
}

static void print_args(FILE *out, const Arg *args) {
  for (const Arg *p = args; p; p = p->next) {
    if (p->key) fprintf(out, "%s=", p->key);
    ast_print_expr(out, p->value);
    if (p->next) fputs(", ", out);
  }
}

void ast_print_expr(FILE *out, const Expr *e) {
  switch (e->kind) {
  case EX_INT: fprintf(out, "%" PRId64, e->ival); break;
  case EX_FLOAT: fprintf(out, "%g", e->fval); break;
  case EX_STR: fprintf(out, "\"%s\"", e->name); break;
  case EX_NAME: fputs(e->name, out); break;
  case EX_CALL:
    fprintf(out, "%s(", e->name);
    print_args(out, e->args);
    fputc(')', out);
    break;
  case EX_LIST:
    fputc('[', out);
    print_args(out, e->args);
    fputc(']', out);
    break;
  case EX_BINOP:
    fputc('(', out);
    ast_print_expr(out, e->lhs);
    fprintf(out, " %c ", e->op);
    ast_print_expr(out, e->rhs);
    fputc(')', out);
    break;
  case EX_NEG:
    fputs("-", out);
    ast_print_expr(out, e->lhs);
    break;
  }
}
