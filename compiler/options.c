/* octoc's options: a table-free hand parser, because the accepted spellings
 * follow clang/LLVM habits (-O2, -target X, --emit=ir, --print-after=P). */
#include "options.h"

#include <string.h>

static const struct {
  const char *name;
  EmitKind kind;
} emit_kinds[] = {
    {"none", EMIT_NONE}, {"ir", EMIT_IR},       {"report", EMIT_REPORT}, {"dot", EMIT_DOT},
    {"recipe", EMIT_RECIPE}, {"loops", EMIT_LOOPS}, {"c", EMIT_C},   {"llvm", EMIT_LLVM},
    {"asm", EMIT_ASM},   {"bc", EMIT_BC},       {"obj", EMIT_OBJ},
};

const char *emit_name(EmitKind k) {
  for (size_t i = 0; i < sizeof emit_kinds / sizeof emit_kinds[0]; i++)
    if (emit_kinds[i].kind == k) return emit_kinds[i].name;
  return "default";
}

void options_help(FILE *out) {
  fputs(
      "usage: octoc [options] MODEL.net|MODEL.ir|PROGRAM.loops\n"
      "\n"
      "Compiles a network description into a training program.\n"
      "Loop IR (.loops, as --emit=loops writes it) is read, verified and emitted as\n"
      "it is: --emit=loops, c, obj, none and --main, without recipe or pass options.\n"
      "\n"
      "Output:\n"
      "  -o FILE               write the output to FILE (default: standard output)\n"
      "  --emit=KIND           what to produce:\n"
      "                          ir      the graph IR after the pipeline (reads back with octoc)\n"
      "                          report  per-layer shapes, parameters and MACs\n"
      "                          dot     the graph for Graphviz (dot -Tsvg)\n"
      "                          recipe  the effective training recipe as YAML\n"
      "                          loops   the loop IR after lowering and memory planning\n"
      "                          c       NAME.c and NAME.h: the trainer as C99 source\n"
      "                          obj     NAME.o and NAME.h (by LLVM, or --backend=c)\n"
      "                          asm     the target's assembly (LLVM)\n"
      "                          llvm    LLVM IR as text, after optimisation (LLVM)\n"
      "                          bc      LLVM bitcode (LLVM)\n"
      "                          none    check only\n"
      "                        without --emit, -o's extension decides (.c .o .s .ll .bc\n"
      "                        .ir .loops .dot); without -o, octoc writes NAME.o and NAME.h\n"
      "  --backend=llvm|c      what makes objects and --main trainers: LLVM (the default\n"
      "                        when octoc has it) or the C backend through the system C\n"
      "                        compiler; --emit=c is always the C backend\n"
      "  --main                a standalone trainer: with -o NAME (no extension), a\n"
      "                        ready-to-run executable linked with the Octo runtime;\n"
      "                        with --emit=c, also NAME_main.c\n"
      "  --data DIR, --samples N  a bare-metal trainer (-target cortex-m4|riscv32):\n"
      "                        the first N (default 256) samples of DIR's train-*-ubyte\n"
      "                        files (default $OCTO_DATA or Debian's Fashion-MNIST)\n"
      "                        compiled into the image\n"
      "  --emit-real=float|double  testing aid: with double, the C backend prints every\n"
      "                        f32 as double (and doubles every size and offset), the\n"
      "                        same program computed wider, e.g. as the reference of a\n"
      "                        gradient check; not for --main (default: float)\n"
      "\n"
      "Training recipe:\n"
      "  --config FILE         read the recipe (YAML) from FILE\n"
      "  --set KEY=VALUE       override one recipe key, e.g. --set optimizer.lr=0.05\n"
      "  --batch N             batch size (same as --set batch=N)\n"
      "  --epochs N, --seed N  the trainer's default epochs and seed\n"
      "  --lr X                learning rate (--set optimizer.lr=X)\n"
      "  --precision P         fp32, int8, int8-lac, int8-prc, octo (eoq: not yet)\n"
      "\n"
      "Target:\n"
      "  -target NAME|TRIPLE   x86_64 (default), armv7, cortex-m4, aarch64, riscv64, riscv32\n"
      "  -mcpu=CPU, -mattr=A   passed to the backend; without -target and -mcpu,\n"
      "                        the host CPU with all its features (-mcpu=native);\n"
      "                        -mcpu=generic gives a portable object\n"
      "  -O0 .. -O3            optimisation level (default -O2)\n"
      "  --list-targets        print the target table\n"
      "\n"
      "Inspecting the pipeline (dumps go to standard error):\n"
      "  --print-before=PASS   print the IR before PASS (repeatable, or comma-separated)\n"
      "  --print-after=PASS    print the IR after PASS\n"
      "  --print-before-all, --print-after-all\n"
      "  --verify-each, --no-verify-each   run the IR verifier after every pass\n"
      "  --no-fuse             skip the fuse pass: every node its own kernel (the\n"
      "                        fused program computes the same bits)\n"
      "  --list-passes         print the pass pipeline\n"
      "\n"
      "  -v                    show what octoc does\n"
      "  --help, --version\n"
      "\n"
      "Exit status: 0 success, 1 error in the input, 2 usage error.\n",
      out);
}

static bool set_emit(Options *o, const char *v, FILE *err) {
  for (size_t i = 0; i < sizeof emit_kinds / sizeof emit_kinds[0]; i++)
    if (strcmp(emit_kinds[i].name, v) == 0) {
      o->emit = emit_kinds[i].kind;
      return true;
    }
  fprintf(err, "octoc: error: unknown --emit kind '%s' (ir, report, dot, recipe, none, loops, c, "
               "llvm, asm, bc, obj)\n", v);
  return false;
}

static bool set_backend(Options *o, const char *v, FILE *err) {
  if (strcmp(v, "c") == 0 || strcmp(v, "llvm") == 0) {
    o->backend = strcmp(v, "c") == 0 ? BACKEND_C : BACKEND_LLVM;
    return true;
  }
  fprintf(err, "octoc: error: unknown --backend '%s' (llvm, c)\n", v);
  return false;
}

static bool set_real(Options *o, const char *v, FILE *err) {
  if (strcmp(v, "float") == 0 || strcmp(v, "double") == 0) {
    o->real_double = strcmp(v, "double") == 0;
    return true;
  }
  fprintf(err, "octoc: error: unknown --emit-real type '%s' (float, double)\n", v);
  return false;
}

/* Adds the comma-separated names in v to list. */
static bool add_names(const char **list, int *n, char *v, const char *opt, FILE *err) {
  for (char *save = NULL, *tok = strtok_r(v, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    if (*n == MAX_LIST_OPTIONS) {
      fprintf(err, "octoc: error: too many %s options\n", opt);
      return false;
    }
    list[(*n)++] = tok;
  }
  return true;
}

/* Matches "--name=value" or "--name value"; advances *i for the latter. */
static const char *value_of(const char *arg, const char *name, int argc, char **argv, int *i,
                            bool *missing) {
  size_t n = strlen(name);
  if (strncmp(arg, name, n) != 0) return NULL;
  if (arg[n] == '=') return arg + n + 1;
  if (arg[n] != 0) return NULL;
  if (*i + 1 >= argc) {
    *missing = true;
    return NULL;
  }
  return argv[++*i];
}

bool options_parse(Options *o, int argc, char **argv, FILE *err) {
  memset(o, 0, sizeof *o);
  o->opt_level = 2;
  o->verify_each = -1;
  for (int i = 1; i < argc; i++) {
    char *a = argv[i];
    const char *v;
    bool missing = false;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) o->help = true;
    else if (strcmp(a, "--version") == 0) o->version = true;
    else if (strcmp(a, "-v") == 0) o->verbose = true;
    else if (strcmp(a, "--main") == 0) o->emit_main = true;
    else if (strcmp(a, "--list-passes") == 0) o->list_passes = true;
    else if (strcmp(a, "--list-targets") == 0) o->list_targets = true;
    else if (strcmp(a, "--print-after-all") == 0) o->print_after_all = true;
    else if (strcmp(a, "--print-before-all") == 0) o->print_before_all = true;
    else if (strcmp(a, "--verify-each") == 0) o->verify_each = 1;
    else if (strcmp(a, "--no-verify-each") == 0) o->verify_each = 0;
    else if (strcmp(a, "--no-fuse") == 0) o->no_fuse = true;
    else if (a[0] == '-' && a[1] == 'O' && a[2] >= '0' && a[2] <= '3' && a[3] == 0)
      o->opt_level = a[2] - '0';
    else if (strncmp(a, "-mcpu=", 6) == 0) o->mcpu = a + 6;
    else if (strncmp(a, "-mattr=", 7) == 0) o->mattr = a + 7;
    else if ((v = value_of(a, "-o", argc, argv, &i, &missing))) o->output = v;
    else if ((v = value_of(a, "-target", argc, argv, &i, &missing)) ||
             (v = value_of(a, "--target", argc, argv, &i, &missing)))
      o->target = v;
    else if ((v = value_of(a, "--emit-real", argc, argv, &i, &missing))) {
      if (!set_real(o, v, err)) return false;
    } else if ((v = value_of(a, "--backend", argc, argv, &i, &missing))) {
      if (!set_backend(o, v, err)) return false;
    } else if ((v = value_of(a, "--emit", argc, argv, &i, &missing))) {
      if (!set_emit(o, v, err)) return false;
    } else if ((v = value_of(a, "--config", argc, argv, &i, &missing))) o->config = v;
    else if ((v = value_of(a, "--batch", argc, argv, &i, &missing))) o->batch = v;
    else if ((v = value_of(a, "--epochs", argc, argv, &i, &missing))) o->epochs = v;
    else if ((v = value_of(a, "--seed", argc, argv, &i, &missing))) o->seed = v;
    else if ((v = value_of(a, "--lr", argc, argv, &i, &missing))) o->lr = v;
    else if ((v = value_of(a, "--precision", argc, argv, &i, &missing))) o->precision = v;
    else if ((v = value_of(a, "--data", argc, argv, &i, &missing))) o->data_dir = v;
    else if ((v = value_of(a, "--samples", argc, argv, &i, &missing))) o->samples = v;
    else if ((v = value_of(a, "--set", argc, argv, &i, &missing))) {
      if (o->nsets == MAX_LIST_OPTIONS) {
        fprintf(err, "octoc: error: too many --set options\n");
        return false;
      }
      o->sets[o->nsets++] = v;
    } else if ((v = value_of(a, "--print-after", argc, argv, &i, &missing))) {
      if (!add_names(o->print_after, &o->nprint_after, (char *)v, "--print-after", err))
        return false;
    } else if ((v = value_of(a, "--print-before", argc, argv, &i, &missing))) {
      if (!add_names(o->print_before, &o->nprint_before, (char *)v, "--print-before", err))
        return false;
    } else if (missing) {
      fprintf(err, "octoc: error: option '%s' needs a value\n", a);
      return false;
    } else if (a[0] == '-' && a[1] != 0) {
      fprintf(err, "octoc: error: unknown option '%s' (see octoc --help)\n", a);
      return false;
    } else if (o->input) {
      fprintf(err, "octoc: error: more than one input file ('%s' and '%s')\n", o->input, a);
      return false;
    } else {
      o->input = a;
    }
  }
  return true;
}
