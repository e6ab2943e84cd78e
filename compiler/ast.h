/* The syntax tree of a .net file, as the parser builds it. Plain structs in
 * the compilation arena, linked lists in source order. Nothing here knows
 * about ops or shapes: names are resolved and attributes checked when the
 * graph IR is built from the tree (build_graph.c). */
#ifndef OCTO_COMPILER_AST_H
#define OCTO_COMPILER_AST_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "diag.h"

/* Deeper nesting of parentheses, brackets or operators is an error: it keeps
 * the parser stack and the recursion in lowering bounded. */
enum { AST_MAX_DEPTH = 200 };

typedef enum {
  EX_INT,   /* 42 */
  EX_FLOAT, /* 1e-5 */
  EX_STR,   /* "fc1" */
  EX_NAME,  /* x, he, true */
  EX_CALL,  /* op(args, key=value) */
  EX_LIST,  /* [a, b] */
  EX_BINOP, /* a + b: op is '+', '-', '*' or '/' */
  EX_NEG,   /* -a */
} ExprKind;

typedef struct Expr Expr;

/* A call argument or list element; key is NULL for positional ones. */
typedef struct Arg {
  const char *key;
  SrcLoc key_loc;
  Expr *value;
  struct Arg *next;
} Arg;

struct Expr {
  ExprKind kind;
  SrcLoc loc; /* the operator for EX_BINOP/EX_NEG, the name for EX_CALL */
  int depth;  /* 1 + the deepest sub-expression */
  int64_t ival;
  double fval;
  const char *name; /* EX_NAME, EX_CALL (callee), EX_STR (contents) */
  int op;           /* EX_BINOP */
  Expr *lhs, *rhs;  /* EX_BINOP; EX_NEG uses lhs */
  Arg *args;        /* EX_CALL, EX_LIST */
  int nargs;
};

typedef enum {
  ST_INPUT,  /* input NAME: TYPE[dims]; */
  ST_LABEL,  /* label NAME: class[N]; or label NAME: f32[dims]; */
  ST_ASSIGN, /* NAME = expr; */
  ST_RETURN, /* return expr; */
} StmtKind;

typedef struct Stmt {
  StmtKind kind;
  SrcLoc loc;        /* the statement's first token */
  const char *name;  /* bound or declared name */
  const char *type;  /* ST_INPUT/ST_LABEL: f32, u8, i8, class */
  SrcLoc type_loc;
  Arg *dims;         /* ST_INPUT/ST_LABEL */
  int ndims;
  Expr *value;       /* ST_ASSIGN/ST_RETURN */
  bool warned;       /* unused-binding warning already given (blocks) */
  struct Stmt *next;
} Stmt;

typedef struct Param {
  const char *name;
  SrcLoc loc;
  Expr *dflt; /* NULL: required */
  struct Param *next;
} Param;

typedef enum { DECL_NETWORK, DECL_BLOCK } DeclKind;

typedef struct Decl {
  DeclKind kind;
  const char *name;
  SrcLoc loc; /* the name */
  Param *params; /* blocks */
  int nparams;
  Stmt *body;
  struct Decl *next;
} Decl;

typedef struct Program {
  const char *file; /* the source's name, for errors about the whole file */
  Decl *decls;
  Decl **tail; /* append point, so long files build in linear time */
} Program;

/* Lists under construction: head and the last element, for O(1) append. */
typedef struct ArgList {
  Arg *head, *tail;
  int n;
} ArgList;
typedef struct StmtList {
  Stmt *head, *tail;
} StmtList;
typedef struct ParamList {
  Param *head, *tail;
  int n;
} ParamList;

Expr *ast_int(Arena *a, SrcLoc loc, int64_t v);
Expr *ast_float(Arena *a, SrcLoc loc, double v);
Expr *ast_str(Arena *a, SrcLoc loc, const char *s);
Expr *ast_name(Arena *a, SrcLoc loc, const char *name);
Expr *ast_call(Arena *a, SrcLoc loc, const char *callee, ArgList args);
Expr *ast_list(Arena *a, SrcLoc loc, ArgList elems);
Expr *ast_binop(Arena *a, SrcLoc loc, int op, Expr *lhs, Expr *rhs);
Expr *ast_neg(Arena *a, SrcLoc loc, Expr *e);

Arg *ast_arg(Arena *a, const char *key, SrcLoc key_loc, Expr *value);
ArgList arglist_append(ArgList l, Arg *arg);
StmtList stmtlist_append(StmtList l, Stmt *s);
ParamList paramlist_append(ParamList l, Param *p);

Stmt *ast_stmt(Arena *a, StmtKind kind, SrcLoc loc, const char *name);
Param *ast_param(Arena *a, SrcLoc loc, const char *name, Expr *dflt);
Decl *ast_decl(Arena *a, DeclKind kind, SrcLoc loc, const char *name);
void program_add(Program *p, Decl *d);

/* Debug dump of an expression (one line), used by tests. */
void ast_print_expr(FILE *out, const Expr *e);

#endif
