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

bool emit_resolve(Options *o) {
  if (o->emit != EMIT_DEFAULT) {
    if (o->emit == EMIT_LLVM || o->emit == EMIT_ASM) {
      fprintf(stderr, "octoc: error: --emit=%s needs the LLVM backend, which is not available "
                      "yet; use --emit=c or --emit=obj\n", emit_name(o->emit));
      return false;
    }
    return true;
  }
  if (!o->output) {
    o->emit = o->emit_main ? EMIT_EXE : EMIT_OBJ;
    return true;
  }
  static const struct {
    const char *ext;
    EmitKind kind;
  } by_ext[] = {{".c", EMIT_C},     {".o", EMIT_OBJ}, {".ir", EMIT_IR},
                {".loops", EMIT_LOOPS}, {".dot", EMIT_DOT}, {".yaml", EMIT_RECIPE}};
  const char *ext = extension(o->output);
  for (size_t i = 0; i < sizeof by_ext / sizeof by_ext[0]; i++)
    if (strcmp(ext, by_ext[i].ext) == 0) {
      o->emit = by_ext[i].kind;
      return true;
    }
  if (strcmp(ext, ".ll") == 0 || strcmp(ext, ".s") == 0 || strcmp(ext, ".bc") == 0) {
    fprintf(stderr, "octoc: error: -o %s needs the LLVM backend, which is not available yet; "
                    "name the output .c or .o\n", o->output);
    return false;
  }
  if (o->emit_main) {
    o->emit = EMIT_EXE;
    return true;
  }
  fprintf(stderr, "octoc: error: cannot tell what to write to '%s': name it .c, .o, .ir, "
                  ".loops or .dot, use --emit=KIND, or add --main for a trainer executable\n",
          o->output);
  return false;
}

bool emit_needs_loops(EmitKind k) {
  return k == EMIT_LOOPS || k == EMIT_C || k == EMIT_OBJ || k == EMIT_EXE || k == EMIT_REPORT;
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

/* Writes BASE.c, BASE.h and, with --main, BASE_main.c. */
static bool write_c(const Options *o, const Module *m, const char *base) {
  char *c_path = xconcat(base, ".c"), *h_path = xconcat(base, ".h"), *m_path = xconcat(base, "_main.c");
  char *header = xconcat(base_name(base), ".h");
  EmitOptions copt = {.header_name = header, .with_main = o->emit_main,
                       .epochs_default = m->recipe ? m->recipe->epochs : 5,
                       .seed_default = m->recipe ? m->recipe->seed : 1,
                       .input_mean = m->recipe ? m->recipe->input.mean : 0,
                       .input_std = m->recipe ? m->recipe->input.std : 1,
                       .real_double = o->real_double};
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
static bool place_output(const char *built, const char *out, bool executable) {
  size_t len;
  char *bytes = read_file(built, &len);
  if (!bytes) {
    fprintf(stderr, "octoc: error: cannot read the compiler's output: %s\n", strerror(errno));
    return false;
  }
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
  free(bytes);
  return ok;
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
    char *rt_sources[TOOL_MAX_ARGS];
    int n_rt_sources = 0;
    cmd_add(&cmd, cc);
    ok = add_opt_flags(&cmd, o, m->target);
    const char *lib = NULL, *inc = NULL;
    /* The runtime library is this host's: a trainer for another
     * architecture compiles the runtime's sources with its own compiler,
     * linked statically so that it runs on a device (or under qemu-user)
     * without that target's shared C library installed. */
    bool cross = o->emit == EMIT_EXE && !target_is_host(t);
    if (o->emit == EMIT_EXE) {
      ok = ok && (cross ? runtime_source_dir(&inc) : runtime_paths(&lib, &inc));
      cmd_add(&cmd, "-I");
      cmd_add(&cmd, inc ? inc : ".");
    } else {
      cmd_add(&cmd, "-c");
    }
    cmd_add(&cmd, "-o");
    cmd_add(&cmd, result);
    cmd_add(&cmd, c_file);
    if (o->emit == EMIT_EXE && ok) {
      cmd_add(&cmd, main_file);
      if (cross) {
        char *dir = xconcat(inc, "/");
        for (const char *const *f = runtime_source_files(); *f; f++)
          cmd_add(&cmd, rt_sources[n_rt_sources++] = xconcat(dir, *f));
        free(dir);
        cmd_add(&cmd, "-DOCTO_RUNTIME_VERSION=\"" OCTO_VERSION "\"");
        cmd_add(&cmd, "-D_POSIX_C_SOURCE=200809L"); /* as runtime/ is built */
        cmd_add(&cmd, "-static");
      } else {
        cmd_add(&cmd, lib);
        if (runtime_link_flag()) cmd_add(&cmd, runtime_link_flag());
      }
      cmd_add(&cmd, "-lm");
    }
    ok = ok && cmd_run(&cmd, o->verbose);
    for (int i = 0; i < n_rt_sources; i++) free(rt_sources[i]);
  }
  struct stat out_st;
  bool out_special = stat(out, &out_st) == 0 && !S_ISREG(out_st.st_mode);
  if (ok && o->emit == EMIT_OBJ && !out_special) {
    /* The header goes beside the object: out.o → out.h (not beside a
     * device or FIFO: there is no "beside" /dev/null). */
    char *stem = strip_ext(out), *h_dst = xconcat(stem, ".h");
    size_t len;
    char *text = read_file(h_file, &len);
    Output h;
    ok = text && output_open(&h, h_dst);
    if (ok) {
      ok = fwrite(text, 1, len, h.f) == len;
      ok = ok ? output_commit(&h) : (output_abort(&h), false);
    }
    free(text);
    free(stem);
    free(h_dst);
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
    bool ok = bare && o->emit == EMIT_EXE ? baremetal_build(o, m, out) : build_binary(o, m, out);
    free(def);
    return ok;
  }
  default: return emit_text(o, m);
  }
}
