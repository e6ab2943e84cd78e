/* net_compile: register the source, scan and parse it (lexer.l, parser.y),
 * and build the graph IR from the tree (build_graph.c). Building runs only
 * on a tree without syntax errors, so one typo does not cascade into a page
 * of "undefined name". */
#include "frontend.h"

#include <limits.h>

#include "ast.h"
#include "build_graph.h"
#include "parser.h"
#include "lexer.h"

Program *net_parse(Arena *a, Diag *d, const char *file, const char *text, size_t len) {
  ParseState *st = arena_alloc(a, sizeof(ParseState));
  st->arena = a;
  st->diag = d;
  st->file = file;
  st->line = 1;
  st->col = 1;
  if (len > INT_MAX / 2) {
    diag_error(d, (SrcLoc){file, 0, 0}, "file is too large (%zu bytes)", len);
    return NULL;
  }
  yyscan_t scanner;
  if (yylex_init_extra(st, &scanner) != 0) die_oom();
  yy_scan_bytes(text ? text : "", (int)len, scanner);
  int rc = yyparse(scanner, st);
  yylex_destroy(scanner);
  if (rc != 0 || st->syntax_errors > 0 || st->fatal) {
    /* Scanner errors (bad characters, huge literals) count too. */
    return NULL;
  }
  st->prog.file = file;
  return &st->prog;
}

Graph *net_compile(Arena *a, Diag *d, const char *file, const char *text, size_t len,
                   int batch) {
  const char *name = diag_add_source(d, file, text ? text : "", text ? len : 0);
  int errors_before = diag_error_count(d);
  Program *prog = net_parse(a, d, name, text, text ? len : 0);
  if (!prog || diag_error_count(d) > errors_before) return NULL;
  Graph *g = build_graph(a, d, prog, batch);
  if (!g || diag_error_count(d) > errors_before) return NULL;
  return g;
}
