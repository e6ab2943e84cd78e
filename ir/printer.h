/* The graph IR's textual form, printing side. The text parses back with
 * graph_read (ir/reader.h): print -> read -> print is byte-identical. The
 * grammar is documented in docs/ir.md. */
#ifndef OCTO_IR_PRINTER_H
#define OCTO_IR_PRINTER_H

#include <stdio.h>

#include "graph.h"

/* Prints g: declarations (inputs, labels, params, state) in value order,
 * then nodes in schedule order, then the outputs. */
void graph_print(FILE *out, const Graph *g);

/* The pieces, shared with the reader's messages and with other dumps. */
/* A number that reads back as the same double and always as a float:
 * shortest round-trip digits, with ".0" added when they look like an
 * integer; "inf", "-inf", "nan". */
void print_float(FILE *out, double v);
/* A name: bare when it is [A-Za-z_][A-Za-z0-9_.]*, else a quoted string. */
void print_name(FILE *out, const char *s);
/* A quoted string with \" \\ \n \t and \xHH escapes for control bytes. */
void print_string(FILE *out, const char *s);
/* %name: bare when made of [A-Za-z0-9_.], else %"quoted". */
void print_value_ref(FILE *out, const Value *v);

#endif
