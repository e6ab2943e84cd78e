/* Writing what octoc produces: text dumps of the graph and loop IR, the
 * report, C source and header, an object file, or a ready-to-run standalone
 * trainer (C compiled and linked with the runtime by the system compiler). */
#ifndef OCTO_COMPILER_EMIT_H
#define OCTO_COMPILER_EMIT_H

#include <stdbool.h>

#include "options.h"
#include "pass.h"
#include "target.h"

/* Decides what to write when --emit is not given: from -o's extension
 * (.c .o .s .ll .bc .ir .loops .dot), an executable for --main with a plain name, an
 * object (NAME.o) when there is no -o. False (usage error) when it cannot
 * tell. */
bool emit_resolve(Options *o);
/* Settles --backend for what is emitted and checks the target for it:
 * LLVM for objects and --main trainers when octoc has it (not for a
 * bare-metal image or --emit-real=double), the C backend otherwise. For
 * LLVM, LLVM must know -mcpu and -mattr; for the C backend, its compiler
 * must take them. False after an error (a usage error). */
bool emit_choose_backend(Options *o, const TargetConfig *tc);
/* True for the outputs that need the loop IR (the whole pipeline). */
bool emit_needs_loops(EmitKind k);
/* True for the outputs printed from the graph (ir, report, dot, recipe): a
 * loop-IR input, whose Module has no graph, cannot give them. */
bool emit_needs_graph(EmitKind k);
/* Writes the output. False after an error message. */
bool emit_output(const Options *o, const Module *m);

/* For the bare-metal image (baremetal.c), which builds like an executable
 * with other tools: writes BASE.c, BASE.h and (with o->emit_main)
 * BASE_main.c; and places a built file at out as every output is placed. */
bool emit_write_c_files(const Options *o, const Module *m, const char *base);
bool emit_place_built(const char *built, const char *out, bool executable);

#endif
