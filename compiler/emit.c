/* Outputs. Every file appears complete or not at all: text goes through
 * Output (temporary file + rename), and the C compiler writes into a private
 * temporary directory whose result is renamed into place. */
#include "emit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api_writer.h"
#include "baremetal.h"
#include "c_backend.h"
#include "cleanup.h"
#include "dot.h"
#include "files.h"
#include "llvm_machine.h"
#include "loop_printer.h"
#include "memplan.h"
#include "printer.h"
#include "recipe/recipe_io.h"
#include "report.h"
#include "toolchain.h"

static const char *extension(const char *path) {
  const char *slash = strrchr(path, '/');
  const char *dot = strrchr(slash ? slash + 1 : path, '.');
  return dot ? dot : "";
}

static bool is_llvm_kind(EmitKind k) { return k == EMIT_LLVM || k == EMIT_ASM || k == EMIT_BC; }

bool emit_resolve(Options *o) {
  if (o->emit != EMIT_DEFAULT) return true;
  if (!o->output) {
    o->emit = o->emit_main ? EMIT_EXE : EMIT_OBJ;
    return true;
  }
  static const struct {
    const char *ext;
    EmitKind kind;
  } by_ext[] = {{".c", EMIT_C},         {".o", EMIT_OBJ},   {".s", EMIT_ASM},
                {".ll", EMIT_LLVM},     {".bc", EMIT_BC},   {".ir", EMIT_IR},
                {".loops", EMIT_LOOPS}, {".dot", EMIT_DOT}, {".yaml", EMIT_RECIPE}};
  const char *ext = extension(o->output);
  for (size_t i = 0; i < sizeof by_ext / sizeof by_ext[0]; i++)
    if (strcmp(ext, by_ext[i].ext) == 0) {
      o->emit = by_ext[i].kind;
      return true;
    }
  if (o->emit_main) {
    o->emit = EMIT_EXE;
    return true;
  }
  fprintf(stderr, "octoc: error: cannot tell what to write to '%s': name it .c, .o, .s, .ll, "
                  ".bc, .ir, .loops or .dot, use --emit=KIND, or add --main for a trainer "
                  "executable\n", o->output);
  return false;
}

bool emit_choose_backend(Options *o, const TargetConfig *tc) {
  bool builds = o->emit == EMIT_OBJ || o->emit == EMIT_EXE;
  /* A bare-metal image links with the boards' C toolchain (baremetal.c). */
  bool bare_exe = o->emit == EMIT_EXE && o->emit_main && board_for(tc->target);
  if (is_llvm_kind(o->emit)) {
    if (o->backend == BACKEND_C) {
      fprintf(stderr, "octoc: error: --emit=%s is the LLVM backend's output, not the C "
                      "backend's (drop --backend=c)\n", emit_name(o->emit));
      return false;
    }
    o->backend = BACKEND_LLVM;
  }
  if (o->emit == EMIT_C && o->backend == BACKEND_LLVM) {
    fputs("octoc: error: --emit=c is the C backend's output; --backend=llvm writes objects, "
          "assembly (--emit=asm), IR (--emit=llvm) or bitcode (--emit=bc)\n", stderr);
    return false;
  }
  if (o->backend == BACKEND_DEFAULT)
    o->backend = builds && llvm_built_in() && !o->real_double && !bare_exe ? BACKEND_LLVM
                                                                            : BACKEND_C;
  if (o->backend == BACKEND_LLVM) {
    if (o->real_double) {
      fputs("octoc: error: --emit-real=double is the C backend's testing aid; use "
            "--backend=c\n", stderr);
      return false;
    }
    if (bare_exe) {
      fprintf(stderr, "octoc: error: the bare-metal image for %s is built through the C "
                      "backend; drop --backend=llvm (or write an object, -o NAME.o)\n",
              tc->target->name);
      return false;
    }
    return !(builds || is_llvm_kind(o->emit)) || llvm_check_target(tc, stderr);
  }
  Command probe = {0}; /* the C compiler must be able to take -mcpu/-mattr */
  return !builds || target_cc_flags(tc, &probe);
}

bool emit_needs_loops(EmitKind k) {
  return k == EMIT_LOOPS || k == EMIT_C || k == EMIT_OBJ || k == EMIT_EXE || k == EMIT_REPORT ||
         is_llvm_kind(k);
}

bool emit_needs_graph(EmitKind k) {
  return k == EMIT_IR || k == EMIT_REPORT || k == EMIT_DOT || k == EMIT_RECIPE;
}

/* "dir/name.ext" → "dir/name" (malloc'd). */
static char *strip_ext(const char *path) {
  size_t n = strlen(path) - strlen(extension(path));
  char *s = xmalloc(n + 1);
  memcpy(s, path, n);
  s[n] = 0;
  return s;
}

static const char *base_name(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

/* The target's backend writes the code, the plan's API writer the header
 * and the standalone main. */
static bool write_trainer(const Module *m, const EmitOptions *eo, bool with_main, FILE *code,
                          FILE *header, FILE *main_c) {
  const Backend *be = m->target ? m->target->target->backend : &c_backend;
  ProgramPlan plan;
  char who[64];
  snprintf(who, sizeof who, "%s backend", be->name);
  if (!plan_build(&plan, m->loops, who, stderr) || !be->emit_code(&plan, eo, code)) return false;
  if (!api_write_header(header, &plan, eo)) {
    fprintf(stderr, "octoc: error: cannot write the header: %s\n", strerror(errno));
    return false;
  }
  return !with_main || api_write_main(main_c, &plan, eo);
}

/* What the trainer's header and main take from the recipe. */
static EmitOptions trainer_options(const Options *o, const Module *m, const char *header) {
  EmitOptions e = {.header_name = header, .with_main = o->emit_main,
                   .epochs_default = m->recipe ? m->recipe->epochs : 5,
                   .seed_default = m->recipe ? m->recipe->seed : 1,
                   .input_mean = m->recipe ? m->recipe->input.mean : 0,
                   .input_std = m->recipe ? m->recipe->input.std : 1,
                   .real_double = o->real_double};
  return e;
}

/* Writes BASE.c, BASE.h and, with --main, BASE_main.c. */
static bool write_c(const Options *o, const Module *m, const char *base) {
  char *c_path = xconcat(base, ".c"), *h_path = xconcat(base, ".h"), *m_path = xconcat(base, "_main.c");
  char *header = xconcat(base_name(base), ".h");
  EmitOptions copt = trainer_options(o, m, header);
  Output c, h, mo;
  bool ok = output_open(&c, c_path);
  if (ok && !output_open(&h, h_path)) {
    output_abort(&c);
    ok = false;
  }
  if (ok && o->emit_main && !output_open(&mo, m_path)) {
    output_abort(&c);
    output_abort(&h);
    ok = false;
  }
  if (ok) {
    bool written = write_trainer(m, &copt, o->emit_main, c.f, h.f, o->emit_main ? mo.f : NULL);
    if (!written) {
      output_abort(&c);
      output_abort(&h);
      if (o->emit_main) output_abort(&mo);
      ok = false;
    } else {
      /* Commit in order; after a failure drop the rest (no temp file and no
       * header without its source is left). */
      ok = output_commit(&c);
      if (ok) ok = output_commit(&h);
      else output_abort(&h);
      if (o->emit_main) {
        if (ok) ok = output_commit(&mo);
        else output_abort(&mo);
      }
    }
  }
  free(c_path);
  free(h_path);
  free(m_path);
  free(header);
  return ok;
}

/* -O, the target's -mcpu/-mattr, C99. No -ffp-contract: the emitted C
 * keeps a*b+c unfused itself (docs/loops.md), whatever the flags. */
static bool add_opt_flags(Command *cmd, const Options *o, const TargetConfig *tc) {
  static const char *const levels[] = {"-O0", "-O1", "-O2", "-O3"};
  cmd_add(cmd, levels[o->opt_level]);
  if (!target_cc_flags(tc, cmd)) return false;
  cmd_add(cmd, "-std=c99");
  return true;
}

/* Copies the compiler's output into -o's file the way every output is
 * written (files.c: a device or FIFO directly, a symlink's target, a
 * regular file through a temporary name), executable for a trainer. */
static bool write_bytes(const char *out, const char *bytes, size_t len, bool executable) {
  Output h;
  bool ok = output_open(&h, out);
  if (ok) {
    ok = fwrite(bytes, 1, len, h.f) == len;
    if (ok && executable && h.tmp) {
      mode_t mask = umask(0);
      umask(mask);
      ok = fchmod(fileno(h.f), 0777 & ~mask) == 0;
    }
    ok = ok ? output_commit(&h) : (output_abort(&h), false);
  }
  return ok;
}

static bool place_output(const char *built, const char *out, bool executable) {
  size_t len;
  char *bytes = read_file(built, &len);
  if (!bytes) {
    fprintf(stderr, "octoc: error: cannot read the compiler's output: %s\n", strerror(errno));
    return false;
  }
  bool ok = write_bytes(out, bytes, len, executable);
  free(bytes);
  return ok;
}

/* The header goes beside an object: out.o -> out.h (not beside a device
 * or FIFO: there is no "beside" /dev/null). */
static bool write_header_beside(const char *out, const char *text, size_t len) {
  struct stat st;
  if (stat(out, &st) == 0 && !S_ISREG(st.st_mode)) return true;
  char *stem = strip_ext(out), *h_dst = xconcat(stem, ".h");
  bool ok = write_bytes(h_dst, text, len, false);
  free(stem);
  free(h_dst);
  return ok;
}

/* The runtime a standalone trainer links with: this host's library, or,
 * for another architecture, the runtime's sources compiled by the target's
 * compiler and linked statically, so that the trainer runs on the device
 * (or under qemu-user) without that target's shared C library. */
typedef struct RuntimeLink {
  bool cross;
  const char *inc, *lib;
  char *sources[TOOL_MAX_ARGS];
  int nsources;
} RuntimeLink;

static bool runtime_find(RuntimeLink *rl, const Target *t) {
  memset(rl, 0, sizeof *rl);
  rl->cross = !target_is_host(t);
  return rl->cross ? runtime_source_dir(&rl->inc) : runtime_paths(&rl->lib, &rl->inc);
}

/* The runtime's part of the link command, after the trainer's files. */
static void runtime_add_args(RuntimeLink *rl, Command *cmd) {
  if (rl->cross) {
    char *dir = xconcat(rl->inc, "/");
    for (const char *const *f = runtime_source_files(); *f; f++)
      cmd_add(cmd, rl->sources[rl->nsources++] = xconcat(dir, *f));
    free(dir);
    cmd_add(cmd, "-DOCTO_RUNTIME_VERSION=\"" OCTO_VERSION "\"");
    cmd_add(cmd, "-D_POSIX_C_SOURCE=200809L"); /* as runtime/ is built */
    cmd_add(cmd, "-static");
  } else {
    cmd_add(cmd, rl->lib);
    if (runtime_link_flag()) cmd_add(cmd, runtime_link_flag());
  }
  cmd_add(cmd, "-lm");
}

static void runtime_link_free(RuntimeLink *rl) {
  for (int i = 0; i < rl->nsources; i++) free(rl->sources[i]);
  rl->nsources = 0;
}

/* Compiles the C for an object (plus the header beside it) or links a
 * standalone trainer with the runtime. */
static bool build_binary(const Options *o, const Module *m, const char *out) {
  const LProgram *p = m->loops;
  const Target *t = m->target->target;
  const char *cc = target_cc(t);
  if (!cc) {
    fprintf(stderr, "octoc: error: no C compiler for target %s (%s); use --emit=c and your "
                    "toolchain\n", t->name, t->triple);
    return false;
  }
  char *dir = tmpdir_create();
  if (!dir) return false;
  const char *prefix = c_prefix(p);
  char *base = xmalloc(strlen(dir) + strlen(prefix) + 2);
  sprintf(base, "%s/%s", dir, prefix);
  Options copy = *o;
  copy.emit_main = o->emit == EMIT_EXE;
  char *result = xconcat(base, ".out"); /* in the private folder, placed at the end */
  char *c_file = xconcat(base, ".c"), *main_file = xconcat(base, "_main.c"), *h_file = xconcat(base, ".h");
  /* What the folder will hold, removed if octoc is stopped (the table has
   * room: octoc writes nothing else meanwhile). */
  const char *made[] = {c_file, main_file, h_file, result};
  for (int i = 0; i < 4; i++) cleanup_add_file(made[i]);
  bool ok = write_c(&copy, m, base);
  if (ok) {
    Command cmd = {0};
    RuntimeLink rl = {0};
    cmd_add(&cmd, cc);
    ok = add_opt_flags(&cmd, o, m->target);
    if (o->emit == EMIT_EXE) {
      ok = ok && runtime_find(&rl, t);
      cmd_add(&cmd, "-I");
      cmd_add(&cmd, rl.inc ? rl.inc : ".");
    } else {
      cmd_add(&cmd, "-c");
    }
    cmd_add(&cmd, "-o");
    cmd_add(&cmd, result);
    cmd_add(&cmd, c_file);
    if (o->emit == EMIT_EXE && ok) {
      cmd_add(&cmd, main_file);
      runtime_add_args(&rl, &cmd);
    }
    ok = ok && cmd_run(&cmd, o->verbose);
    runtime_link_free(&rl);
  }
  if (ok && o->emit == EMIT_OBJ) {
    size_t len;
    char *text = read_file(h_file, &len);
    ok = text && write_header_beside(out, text, len);
    free(text);
  }
  ok = ok && place_output(result, out, o->emit == EMIT_EXE);
  tmpdir_remove(dir);
  for (int i = 0; i < 4; i++) cleanup_drop_file(made[i]);
  free(h_file);
  free(result);
  free(c_file);
  free(main_file);
  free(base);
  return ok;
}

/* ---- the LLVM backend ---- */

static LlvmOutputKind llvm_output_kind(EmitKind k) {
  switch (k) {
  case EMIT_ASM: return LLVM_OUT_ASM;
  case EMIT_LLVM: return LLVM_OUT_IR;
  case EMIT_BC: return LLVM_OUT_BC;
  default: return LLVM_OUT_OBJ;
  }
}

/* The plan compiled by LLVM in memory (*bytes malloc'd). */
static bool llvm_build(const Options *o, const Module *m, LlvmOutputKind kind, ProgramPlan *plan,
                       char **bytes, size_t *len) {
  *bytes = NULL;
  if (!m->target) {
    fputs("octoc: internal error: no target configuration\n", stderr);
    return false;
  }
  return plan_build(plan, m->loops, "LLVM backend", stderr) &&
         llvm_compile(plan, m->target, o->opt_level, kind, bytes, len, stderr);
}

/* The header text of a plan (malloc'd). */
static char *header_text(const Options *o, const Module *m, const ProgramPlan *plan,
                         size_t *len) {
  char *text = NULL;
  FILE *f = open_memstream(&text, len);
  if (!f) {
    fprintf(stderr, "octoc: error: cannot open a memory stream: %s\n", strerror(errno));
    return NULL;
  }
  EmitOptions eo = trainer_options(o, m, NULL);
  bool ok = api_write_header(f, plan, &eo);
  if (fclose(f) != 0 || !ok) {
    fprintf(stderr, "octoc: error: cannot write the header\n");
    free(text);
    return NULL;
  }
  return text;
}

/* --emit=asm|llvm|bc, or an object (and its header beside it). */
static bool llvm_emit_file(const Options *o, const Module *m, const char *out) {
  ProgramPlan plan;
  char *bytes;
  size_t len, hlen = 0;
  if (!llvm_build(o, m, llvm_output_kind(o->emit), &plan, &bytes, &len)) return false;
  bool ok = true;
  if (o->emit == EMIT_OBJ) {
    char *h = header_text(o, m, &plan, &hlen);
    ok = h && write_header_beside(out, h, hlen);
    free(h);
  }
  ok = ok && write_bytes(out, bytes, len, false);
  free(bytes);
  return ok;
}

/* A standalone trainer: LLVM's object, NAME_main.c from the plan, linked
 * with the runtime by the target's C compiler as the C path links. */
static bool llvm_build_exe(const Options *o, const Module *m, const char *out) {
  const Target *t = m->target->target;
  const char *cc = target_cc(t);
  if (!cc) {
    fprintf(stderr, "octoc: error: no C compiler to link a trainer for target %s (%s); write "
                    "an object (-o NAME.o) and link it yourself\n", t->name, t->triple);
    return false;
  }
  ProgramPlan plan;
  char *obj;
  size_t len, hlen = 0;
  if (!llvm_build(o, m, LLVM_OUT_OBJ, &plan, &obj, &len)) return false;
  char *dir = tmpdir_create();
  if (!dir) {
    free(obj);
    return false;
  }
  const char *prefix = plan.prefix;
  char *base = xmalloc(strlen(dir) + strlen(prefix) + 2);
  sprintf(base, "%s/%s", dir, prefix);
  char *o_file = xconcat(base, ".o"), *main_file = xconcat(base, "_main.c");
  char *h_file = xconcat(base, ".h"), *result = xconcat(base, ".out");
  char *header = xconcat(prefix, ".h");
  const char *made[] = {o_file, main_file, h_file, result};
  for (int i = 0; i < 4; i++) cleanup_add_file(made[i]);
  char *h = header_text(o, m, &plan, &hlen);
  bool ok = h != NULL;
  FILE *f;
  ok = ok && (f = fopen(o_file, "wb")) && (fwrite(obj, 1, len, f) == len) + (fclose(f) == 0) == 2;
  ok = ok && (f = fopen(h_file, "wb")) && (fwrite(h, 1, hlen, f) == hlen) + (fclose(f) == 0) == 2;
  if (h && !ok) fprintf(stderr, "octoc: error: cannot write in %s: %s\n", dir, strerror(errno));
  if (ok) {
    EmitOptions eo = trainer_options(o, m, header);
    ok = (f = fopen(main_file, "w")) != NULL;
    bool written = ok && api_write_main(f, &plan, &eo);
    ok = ok && (fclose(f) == 0) && written;
  }
  RuntimeLink rl;
  ok = ok && runtime_find(&rl, t);
  if (ok) {
    Command cmd = {0};
    cmd_add(&cmd, cc);
    cmd_add(&cmd, "-O2");
    cmd_add(&cmd, "-I");
    cmd_add(&cmd, rl.inc);
    cmd_add(&cmd, "-o");
    cmd_add(&cmd, result);
    cmd_add(&cmd, main_file);
    cmd_add(&cmd, o_file);
    runtime_add_args(&rl, &cmd);
    ok = cmd_run(&cmd, o->verbose);
    runtime_link_free(&rl);
  }
  ok = ok && place_output(result, out, true);
  tmpdir_remove(dir);
  for (int i = 0; i < 4; i++) cleanup_drop_file(made[i]);
  free(h);
  free(obj);
  free(header);
  free(result);
  free(h_file);
  free(main_file);
  free(o_file);
  free(base);
  return ok;
}

static bool emit_text(const Options *o, const Module *m) {
  if (emit_needs_graph(o->emit) && !m->graph) {
    fprintf(stderr, "octoc: error: --emit=%s needs a graph, and this input has none\n",
            emit_name(o->emit));
    return false;
  }
  Output out;
  if (!output_open(&out, o->output)) return false;
  bool ok = true;
  switch (o->emit) {
  case EMIT_IR: graph_print(out.f, m->graph); break;
  case EMIT_REPORT:
    graph_report_recipe(out.f, m->graph, m->recipe);
    if (m->loops) {
      fputc('\n', out.f);
      memplan_print(out.f, m->loops, NULL);
    }
    break;
  case EMIT_DOT: graph_print_dot(out.f, m->graph); break;
  case EMIT_RECIPE: ok = recipe_write(out.f, m->recipe); break;
  case EMIT_LOOPS: lprog_print(out.f, m->loops); break;
  default: break;
  }
  if (!ok) {
    output_abort(&out);
    return false;
  }
  return output_commit(&out);
}

bool emit_write_c_files(const Options *o, const Module *m, const char *base) {
  return write_c(o, m, base);
}

bool emit_place_built(const char *built, const char *out, bool executable) {
  return place_output(built, out, executable);
}

bool emit_output(const Options *o, const Module *m) {
  const Target *t = m->target ? m->target->target : target_default();
  if (!baremetal_check_options(o, t)) return false;
  /* A bare-metal trainer: its own sources (--emit=c) or image. */
  bool bare = o->emit_main && board_for(t);
  switch (o->emit) {
  case EMIT_NONE: return true;
  case EMIT_C: {
    char *base = o->output ? strip_ext(o->output) : xconcat(c_prefix(m->loops), "");
    bool ok = !bare || baremetal_write_sources(o, m, base);
    if (ok && !write_c(o, m, base)) {
      if (bare) baremetal_remove_sources(base);
      ok = false;
    }
    free(base);
    return ok;
  }
  case EMIT_OBJ:
  case EMIT_EXE: {
    const char *prefix = c_prefix(m->loops);
    char *def = o->emit == EMIT_OBJ ? xconcat(prefix, ".o") : xconcat(prefix, "");
    const char *out = o->output ? o->output : def;
    bool ok = bare && o->emit == EMIT_EXE  ? baremetal_build(o, m, out)
              : o->backend != BACKEND_LLVM  ? build_binary(o, m, out)
              : o->emit == EMIT_EXE         ? llvm_build_exe(o, m, out)
                                            : llvm_emit_file(o, m, out);
    free(def);
    return ok;
  }
  case EMIT_LLVM:
  case EMIT_ASM:
  case EMIT_BC: return llvm_emit_file(o, m, o->output);
  default: return emit_text(o, m);
  }
}
