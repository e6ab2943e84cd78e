/* The .net grammar. A pure (reentrant) bison parser: the actions only build
 * the syntax tree (ast.c); every check that needs names, ops or numbers is in
 * build_graph.c. Syntax errors say what was found and what was expected, and the
 * parser recovers at ';' (statements) and '}' (declarations), so one run
 * reports several errors. */
%define api.pure full
%define api.location.type {SrcLoc}
%define parse.error custom
%locations
%param {yyscan_t scanner}
%parse-param {ParseState *st}

%code requires {
#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "ast.h"
#include "diag.h"

#ifndef YY_TYPEDEF_YY_SCANNER_T
#define YY_TYPEDEF_YY_SCANNER_T
typedef void *yyscan_t;
#endif

/* Shared by the scanner and the parser for one parse. */
typedef struct ParseState {
  Arena *arena;
  Diag *diag;
  const char *file;
  int line, col;       /* scanner position, 1-based */
  int nesting;         /* open ( and [ */
  bool fatal;          /* stop: the input cannot be parsed further */
  bool deep_reported;  /* "nesting too deep" said once */
  int syntax_errors;
  char last_text[40];  /* text of the last token, for messages */
  Program prog;
} ParseState;

/* A location is a SrcLoc: the first token of the construct. */
#define YYLLOC_DEFAULT(Cur, Rhs, N)                                    \
  do {                                                                 \
    if (N) (Cur) = YYRHSLOC(Rhs, 1);                                   \
    else { (Cur) = YYRHSLOC(Rhs, 0); }                                 \
  } while (0)
}

%code provides {
int yylex(YYSTYPE *lval, YYLTYPE *lloc, yyscan_t scanner);
}

%code {
#include <stdio.h>
#include <string.h>

static void yyerror(YYLTYPE *loc, yyscan_t scanner, ParseState *st, const char *msg);
static Expr *check_depth(ParseState *st, Expr *e);
}

/* yynerrs is kept for yacc compatibility; st->syntax_errors is what we use.
 * Reading it here keeps clang's -Wunused-but-set-variable quiet. */
%initial-action { (void)yynerrs; }

%union {
  int64_t ival;
  double fval;
  const char *str;
  Expr *expr;
  Arg *arg;
  ArgList args;
  Stmt *stmt;
  StmtList stmts;
  Param *param;
  ParamList params;
  Decl *decl;
}

%token NETWORK "'network'" BLOCK "'block'" INPUT "'input'" LABEL "'label'" RETURN "'return'"
%token <str> IDENT "identifier" STRING "string"
%token <ival> INT "integer"
%token <fval> FLOAT "number"

%type <expr> expr unary primary
%type <arg> arg
%type <args> args args_opt elems elems_opt
%type <stmt> stmt
%type <stmts> stmts
%type <param> param
%type <params> params params_opt
%type <decl> decl

%left '+' '-'
%left '*' '/'

%%

program:
    %empty
  | program decl            { if ($2) program_add(&st->prog, $2); }
  ;

decl:
    NETWORK IDENT '{' stmts '}' {
      $$ = ast_decl(st->arena, DECL_NETWORK, @2, $2);
      $$->body = $4.head;
    }
  | BLOCK IDENT '(' params_opt ')' '{' stmts '}' {
      $$ = ast_decl(st->arena, DECL_BLOCK, @2, $2);
      $$->params = $4.head;
      $$->nparams = $4.n;
      $$->body = $7.head;
    }
  | error '}'               { $$ = NULL; }
  ;

params_opt:
    %empty                  { $$ = (ParamList){0}; }
  | params
  ;

params:
    param                   { $$ = paramlist_append((ParamList){0}, $1); }
  | params ',' param        { $$ = paramlist_append($1, $3); }
  ;

param:
    IDENT                   { $$ = ast_param(st->arena, @1, $1, NULL); }
  | IDENT '=' expr          { $$ = ast_param(st->arena, @1, $1, $3); }
  ;

stmts:
    %empty                  { $$ = (StmtList){0}; }
  | stmts stmt              { $$ = $2 ? stmtlist_append($1, $2) : $1; }
  ;

stmt:
    INPUT IDENT ':' IDENT '[' elems_opt ']' ';' {
      $$ = ast_stmt(st->arena, ST_INPUT, @2, $2);
      $$->type = $4;
      $$->type_loc = @4;
      $$->dims = $6.head;
      $$->ndims = $6.n;
    }
  | LABEL IDENT ':' IDENT '[' elems_opt ']' ';' {
      $$ = ast_stmt(st->arena, ST_LABEL, @2, $2);
      $$->type = $4;
      $$->type_loc = @4;
      $$->dims = $6.head;
      $$->ndims = $6.n;
    }
  | IDENT '=' expr ';' {
      $$ = ast_stmt(st->arena, ST_ASSIGN, @1, $1);
      $$->value = $3;
    }
  | RETURN expr ';' {
      $$ = ast_stmt(st->arena, ST_RETURN, @1, NULL);
      $$->value = $2;
    }
  | error ';'               { $$ = NULL; }
  ;

expr:
    unary
  | expr '+' expr           { $$ = check_depth(st, ast_binop(st->arena, @2, '+', $1, $3)); }
  | expr '-' expr           { $$ = check_depth(st, ast_binop(st->arena, @2, '-', $1, $3)); }
  | expr '*' expr           { $$ = check_depth(st, ast_binop(st->arena, @2, '*', $1, $3)); }
  | expr '/' expr           { $$ = check_depth(st, ast_binop(st->arena, @2, '/', $1, $3)); }
  ;

unary:
    primary
  | '-' unary               { $$ = check_depth(st, ast_neg(st->arena, @1, $2)); }
  ;

primary:
    INT                     { $$ = ast_int(st->arena, @1, $1); }
  | FLOAT                   { $$ = ast_float(st->arena, @1, $1); }
  | STRING                  { $$ = ast_str(st->arena, @1, $1); }
  | IDENT                   { $$ = ast_name(st->arena, @1, $1); }
  | IDENT '(' args_opt ')'  { $$ = check_depth(st, ast_call(st->arena, @1, $1, $3)); }
  | '(' expr ')'            { $$ = $2; }
  | '[' elems_opt ']'       { $$ = check_depth(st, ast_list(st->arena, @1, $2)); }
  ;

args_opt:
    %empty                  { $$ = (ArgList){0}; }
  | args
  ;

args:
    arg                     { $$ = arglist_append((ArgList){0}, $1); }
  | args ',' arg            { $$ = arglist_append($1, $3); }
  ;

arg:
    expr                    { $$ = ast_arg(st->arena, NULL, @1, $1); }
  | IDENT '=' expr          { $$ = ast_arg(st->arena, $1, @1, $3); }
  ;

elems_opt:
    %empty                  { $$ = (ArgList){0}; }
  | elems
  ;

elems:
    expr                    { $$ = arglist_append((ArgList){0}, ast_arg(st->arena, NULL, @1, $1)); }
  | elems ',' expr          { $$ = arglist_append($1, ast_arg(st->arena, NULL, @3, $3)); }
  ;

%%

/* Deep operator chains (1+1+...+1, - - - x) are cut here, like the ( [
 * nesting in the scanner, so lowering never recurses without bound. */
static Expr *check_depth(ParseState *st, Expr *e) {
  if (e->depth > AST_MAX_DEPTH && !st->deep_reported) {
    diag_error(st->diag, e->loc, "expression nesting too deep (more than %d levels)",
               AST_MAX_DEPTH);
    st->deep_reported = true;
    st->syntax_errors++;
  }
  return e;
}

static void yyerror(YYLTYPE *loc, yyscan_t scanner, ParseState *st, const char *msg) {
  (void)scanner;
  st->syntax_errors++;
  if (st->fatal) return;
  if (strcmp(msg, "memory exhausted") == 0) {
    diag_error(st->diag, *loc, "nesting too deep (the parser stack is full)");
    st->fatal = true;
    return;
  }
  diag_error(st->diag, *loc, "%s", msg);
}

/* "syntax error: unexpected identifier 'foo', expected ';' or ','" */
static int yyreport_syntax_error(const yypcontext_t *ctx, yyscan_t scanner, ParseState *st) {
  (void)scanner;
  st->syntax_errors++;
  /* After a fatal scanner error the parser sees a premature end of input;
   * that is not worth a second message. */
  if (st->fatal) return 0;
  enum { MAX_EXPECTED = 5 };
  yysymbol_kind_t all[YYNTOKENS], expected[MAX_EXPECTED];
  int nall = yypcontext_expected_tokens(ctx, all, YYNTOKENS);
  /* After a complete expression every operator could follow; listing them
   * hides the likely fix (a missing ';' or ')'), so they are left out when
   * something else is possible. */
  int n = 0;
  for (int i = 0; i < nall; i++) {
    yysymbol_kind_t k = all[i];
    const char *name = yysymbol_name(k);
    bool op = strlen(name) == 3 && name[0] == '\'' && strchr("+-*/", name[1]);
    if (op && nall > 4) continue;
    if (n == MAX_EXPECTED) {
      n = 0; /* too many to be useful */
      break;
    }
    expected[n++] = k;
  }
  yysymbol_kind_t tok = yypcontext_token(ctx);
  char buf[400];
  int len = 0;
  if (tok == YYSYMBOL_YYEOF)
    len = snprintf(buf, sizeof buf, "syntax error: unexpected end of file");
  else if (tok == YYSYMBOL_IDENT || tok == YYSYMBOL_INT || tok == YYSYMBOL_FLOAT)
    len = snprintf(buf, sizeof buf, "syntax error: unexpected %s '%s'", yysymbol_name(tok),
                   st->last_text);
  else
    len = snprintf(buf, sizeof buf, "syntax error: unexpected %s", yysymbol_name(tok));
  /* n < 0 or too many: do not list them, a long list helps nobody. */
  for (int i = 0; n > 0 && i < n && len > 0 && (size_t)len < sizeof buf; i++)
    len += snprintf(buf + len, sizeof buf - (size_t)len, "%s%s",
                    i == 0 ? ", expected " : i == n - 1 ? " or " : ", ",
                    yysymbol_name(expected[i]));
  diag_error(st->diag, *yypcontext_location(ctx), "%s", buf);
  return 0;
}
