/* Tests of what is C-specific in the C backend, on the hand-built loop-IR
 * programs of the conformance suite (tests/conformance/programs.c): the text
 * of the emitted header and source, what it refuses, portability (allowed
 * headers, no mutable data), NAME_main.c linked with the runtime, and escaped
 * names. What the emitted code computes is the conformance suite's job; the
 * C backend runs it with several compilers and targets (meson.build). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "c_backend.h"
#include "expand_math.h"
#include "harness.h"
#include "loop_printer.h"
#include "loop_reader.h"
#include "loop_verify.h"
#include "programs.h"

#ifndef RUNTIME_DIR
#error "RUNTIME_DIR must name runtime/"
#endif

#define STRICT "-std=c99 -Wall -Wextra -Werror -pedantic -O2"

/* Emits t.c, t.h and, for a program with an eval entry (the standalone
 * trainer needs it), t_main.c into dir. */
static void emit_to(LProgram *p, const char *dir) {
  char *cp = fmt("%s/t.c", dir), *hp = fmt("%s/t.h", dir), *mp = fmt("%s/t_main.c", dir);
  FILE *c = fopen(cp, "w"), *h = fopen(hp, "w"), *m = fopen(mp, "w");
  ck_assert(c && h && m);
  EmitOptions o = {.header_name = "t.h", .with_main = true, .epochs_default = 3, .seed_default = 7};
  expand_math(p); /* as octoc does before any backend */
  ck_assert(c_emit(p, &o, c, h));
  if (p->eval_loss) ck_assert(c_emit_main(p, &o, m));
  ck_assert_int_eq(fclose(c) | fclose(h) | fclose(m), 0);
  free(cp), free(hp), free(mp);
}

/* A fresh folder per test under the build folder's cbtmp/. */
static const char *test_dir(Arena *a, const char *name) { return fresh_dir(a, "cbtmp", name); }

/* ---- tests: text of the emitted code -------------------------------- */

static char *emit_text(LProgram *p, char **header) {
  char *c = NULL, *h = NULL;
  size_t cl = 0, hl = 0;
  FILE *cf = open_memstream(&c, &cl), *hf = open_memstream(&h, &hl);
  EmitOptions o = {.header_name = "t.h"};
  expand_math(p);
  ck_assert(c_emit(p, &o, cf, hf));
  fclose(cf);
  fclose(hf);
  if (header) *header = h;
  else free(h);
  return c;
}

START_TEST(header_declares_api_sizes_and_table) {
  Arena *a = arena_new();
  LProgram *p = prog_softmax(a);
  char *h;
  char *c = emit_text(p, &h);
  const char *want[] = {
      "#ifndef T_H", "#include <stdint.h>", "#include <stddef.h>", "extern \"C\" {",
      "#define T_BATCH 8\n", "#define T_STATE_ALIGN 64\n", "#define T_INPUT_RANK 1\n",
      "#define T_INPUT_SHAPE {4}\n", "#define T_INPUT_SIZE 4\n", "#define T_NUM_CLASSES 3\n",
      "#define T_NTENSORS 3\n", "int t_init(void *state, uint64_t seed);",
      "float t_train_step(void *state, void *work, const float *x, const int32_t *y, int n);",
      "int t_predict(const void *state, void *work, const float *x, int32_t *cls, int n);",
      "extern const t_tensor_info t_tensors[];", "int64_t shape[6];"};
  for (size_t i = 0; i < sizeof want / sizeof *want; i++)
    ck_assert_msg(strstr(h, want[i]) != NULL, "header lacks '%s':\n%.2000s", want[i], h);
  char *hash = fmt("#define T_HASH 0x%016llxULL\n", (unsigned long long)lprog_hash(p));
  ck_assert_msg(strstr(h, hash) != NULL, "header lacks %s", hash);
  char *sizes = fmt("#define T_STATE_BYTES %lld\n#define T_WORK_BYTES %lld\n",
                    (long long)p->state_bytes, (long long)p->work_bytes);
  ck_assert_msg(strstr(h, sizes) != NULL, "header lacks %s", sizes);
  /* table rows: name, dtype, role (PARAM 0 / INTERNAL 3), rank, shape, offset, bytes */
  ck_assert_msg(strstr(c, "{\"fc.weight\", 0, 0, 2, {3, 4, 0, 0, 0, 0}, 0, 48},"), "%.2000s", c);
  ck_assert_msg(strstr(c, "{\"step\", 3, 3, 0, {0, 0, 0, 0, 0, 0}, 128, 4},"), "%.2000s", c);
  free(c), free(h), free(hash), free(sizes);
  arena_free(a);
}
END_TEST

START_TEST(kernels_print_as_readable_c_with_hints) {
  Arena *a = arena_new();
  char *c = emit_text(prog_softmax(a), NULL);
  const char *want[] = {
      "/* kernel fc_fwd: dense fc (model.net:3:8) */",
      "static void t_k_fc_fwd(const float *restrict x, const float *restrict fc_weight,\n"
      "    const float *restrict fc_bias, float *restrict logits, int32_t n) {\n",
      "  for (int32_t s = 0; s < n; s++) {",
      "#if defined(__clang__)\n#pragma clang loop vectorize(enable)\n#elif defined(__GNUC__)\n"
      "#pragma GCC ivdep\n#endif\n",
      "#pragma clang loop unroll(full)\n", "#pragma GCC unroll 4\n",
      "octo_hash_uniform(seed, ((int64_t)i))",
      "  memset(state, 0, T_STATE_BYTES);",
      "t_k_fc_fwd(x, (const float *)(st + 0), (const float *)(st + 64), (float *)(wk + 64), (int32_t)n);",
      "if (!pred) pred = pred_scratch;", "return octo_nan();", "const unsigned char *st = (const unsigned char *)state;"};
  for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
    if (!strstr(c, want[i])) fprintf(stderr, "%s", c);
    ck_assert_msg(strstr(c, want[i]) != NULL, "source lacks '%s' (source on stderr)", want[i]);
  }
  free(c);
  arena_free(a);
}
END_TEST

/* Every #include is an allowed header; no allocation; the only statics are
 * functions and const data (a const buffer's table, such as cos's bits of
 * 2/pi). */
static void check_portability_text(const char *c, bool math_allowed) {
  const char *allowed[] = {"<stdint.h>", "<stddef.h>", "<string.h>", "\"t.h\"", "<math.h>"};
  int nallowed = math_allowed ? 5 : 4;
  for (const char *l = c; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
    if (strncmp(l, "#include ", 9) == 0) {
      bool ok = false;
      for (int i = 0; i < nallowed; i++) ok |= strncmp(l + 9, allowed[i], strlen(allowed[i])) == 0;
      ck_assert_msg(ok, "disallowed include: %.40s", l);
    }
    if (strncmp(l, "static ", 7) == 0)
      ck_assert_msg(strncmp(l, "static void ", 12) == 0 || strncmp(l, "static inline ", 14) == 0 ||
                        strncmp(l, "static const ", 13) == 0 ||
                        strncmp(l, "static float octo_nan(void)", 27) == 0,
                    "unexpected static: %.60s", l);
  }
  const char *banned[] = {"malloc", "calloc", "realloc", "free(", "printf", "stdio", "stdlib"};
  for (size_t i = 0; i < sizeof banned / sizeof *banned; i++)
    ck_assert_msg(strstr(c, banned[i]) == NULL, "source uses %s", banned[i]);
}

START_TEST(source_uses_only_allowed_headers_and_no_static_data) {
  Arena *a = arena_new();
  LProgram *progs[] = {prog_softmax(a), prog_intops(a), prog_floatops(a)};
  for (int i = 0; i < 3; i++) {
    char *c = emit_text(progs[i], NULL);
    check_portability_text(c, true);
    free(c);
  }
  /* the integer program needs no <math.h> at all */
  char *c = emit_text(prog_intops(a), NULL);
  ck_assert_msg(strstr(c, "#include <math.h>") == NULL, "intops includes math.h");
  free(c);
  arena_free(a);
}
END_TEST

/* Built as firmware is (no PIC), nm shows no data or bss symbol at all; in
 * a PIE build the tensor table's string pointers need relocations, so it
 * lands in .data.rel.ro (read-only after relocation), never .data/.bss. */
START_TEST(objects_have_no_data_or_bss_symbols) {
  Arena *a = arena_new();
  LProgram *progs[] = {prog_softmax(a), prog_intops(a), prog_floatops(a)};
  const char *dir = test_dir(a, "nm");
  for (int i = 0; i < 3; i++) {
    emit_to(progs[i], dir);
    char *cmd = fmt("cc " STRICT " -fno-pic -c '%s/t.c' -o '%s/t.o' && nm --defined-only '%s/t.o' > '%s/nm.txt'"
                    " && cc " STRICT " -fPIE -c '%s/t.c' -o '%s/t_pie.o' && objdump -t '%s/t_pie.o' > '%s/objdump.txt'",
                    dir, dir, dir, dir, dir, dir, dir, dir);
    ck_assert_int_eq(sh(cmd), 0);
    char *nmp = fmt("%s/nm.txt", dir), *odp = fmt("%s/objdump.txt", dir);
    char *syms = read_text(nmp), *od = read_text(odp);
    ck_assert_msg(strstr(syms, " R t_tensors") != NULL, "tensor table not read-only:\n%.2000s", syms);
    /* lines are "ADDRESS KIND NAME" */
    for (const char *l = syms; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
      char kind;
      ck_assert_int_eq(sscanf(l, "%*s %c", &kind), 1);
      ck_assert_msg(strchr("bBdD", kind) == NULL, "mutable data symbol: %.60s", l);
    }
    ck_assert_msg(strstr(od, " .data\t") == NULL && strstr(od, " .bss\t") == NULL,
                  "PIE object has .data/.bss symbols:\n%.2000s", od);
    ck_assert_msg(strstr(od, ".data.rel.ro") == NULL || strstr(od, "t_tensors") != NULL, "%s", od);
    free(cmd), free(nmp), free(odp), free(syms), free(od);
  }
  arena_free(a);
}
END_TEST

/* ---- the standalone trainer main ------------------------------------ */

/* An IDX file: magic 0x0000 TYPE NDIMS (0x08 bytes, 0x0D big-endian
 * float32), big-endian dims, n bytes of data as given. */
static void write_idx(const char *path, int type, int ndims, const uint32_t *dims,
                      const uint8_t *data, size_t n) {
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  uint8_t head[4] = {0, 0, (uint8_t)type, (uint8_t)ndims};
  ck_assert_int_eq(fwrite(head, 1, 4, f), 4);
  for (int i = 0; i < ndims; i++) {
    uint8_t d[4] = {(uint8_t)(dims[i] >> 24), (uint8_t)(dims[i] >> 16), (uint8_t)(dims[i] >> 8),
                    (uint8_t)dims[i]};
    ck_assert_int_eq(fwrite(d, 1, 4, f), 4);
  }
  ck_assert_int_eq(fwrite(data, 1, n, f), n);
  ck_assert_int_eq(fclose(f), 0);
}

/* Separable 4-feature samples: feature `label` is 1, the others below
 * 0.25, as float32 samples (the model's input is f32). */
static void write_split(const char *dir, const char *prefix, uint32_t count, int64_t seed) {
  uint8_t px[256 * SM_D * 4], lb[256];
  ck_assert_uint_le(count, 256);
  for (uint32_t s = 0; s < count; s++) {
    lb[s] = (uint8_t)(ref_hash_uniform(seed, s) * SM_C);
    for (int k = 0; k < SM_D; k++) {
      float v = k == lb[s] ? 1.0f : ref_hash_uniform(seed + 1, s * SM_D + k) * 0.25f;
      uint32_t bits;
      memcpy(&bits, &v, 4);
      for (int b = 0; b < 4; b++) px[(s * SM_D + k) * 4 + b] = (uint8_t)(bits >> (24 - 8 * b));
    }
  }
  char *ip = fmt("%s/%s-images-idx3-ubyte", dir, prefix), *lp = fmt("%s/%s-labels-idx1-ubyte", dir, prefix);
  write_idx(ip, 0x0D, 2, (uint32_t[]){count, SM_D}, px, (size_t)count * SM_D * 4);
  write_idx(lp, 0x08, 1, (uint32_t[]){count}, lb, count);
  free(ip), free(lp);
}

/* The generated trainer, linked with the runtime, trains the softmax model
 * on an IDX dataset through octo_main and reaches a high test accuracy. */
static void trainer_learns_separable_idx(const char *dir) {
  write_split(dir, "train", 96, 11);
  write_split(dir, "t10k", 30, 23);
  char *cmd = fmt("'%s/trainer' --data '%s' --epochs 5 --quiet > '%s/train.txt' 2>&1", dir, dir, dir);
  int st = sh(cmd);
  char *op = fmt("%s/train.txt", dir);
  char *out = read_text(op);
  ck_assert_msg(st == 0, "trainer exited %d:\n%s", st, out);
  const char *at = strstr(out, "final test accuracy: ");
  ck_assert_msg(at != NULL, "no accuracy in:\n%s", out);
  double acc = strtod(at + strlen("final test accuracy: "), NULL);
  ck_assert_msg(acc >= 90.0, "accuracy %.2f%% too low:\n%s", acc, out);
  free(cmd), free(op), free(out);
}

START_TEST(main_fills_octo_model_and_links_with_runtime) {
  Arena *a = arena_new();
  const char *dir = test_dir(a, "main");
  emit_to(prog_softmax(a), dir);
  char *m = fmt("%s/t_main.c", dir);
  char *text = read_text(m);
  const char *want[] = {"#include \"octo_runtime.h\"", ".train_step = train_step,",
                        ".eval = eval,", ".input_dtype = OCTO_F32,",
                        ".hash = T_HASH,", ".epochs_default = 3,", ".seed_default = UINT64_C(7),",
                        "{\"fc.weight\", OCTO_F32, OCTO_TENSOR_PARAM, 2, {3, 4, 0, 0, 0, 0}, 0, 48},",
                        "return octo_main(&model, argc, argv);"};
  for (size_t i = 0; i < sizeof want / sizeof *want; i++)
    ck_assert_msg(strstr(text, want[i]) != NULL, "main lacks '%s':\n%.3000s", want[i], text);
  char *cmd = fmt("cc " STRICT " -I'" RUNTIME_DIR "' -I'%s' -c '%s' -o '%s/t_main.o'", dir, m, dir);
  ck_assert_msg(sh(cmd) == 0, "failed: %s", cmd);
  /* meson names the runtime library of this build: a test without it fails */
  const char *lib = getenv("RUNTIME_LIB");
  ck_assert_msg(lib && access(lib, R_OK) == 0, "RUNTIME_LIB (%s) is not a readable library",
                lib ? lib : "unset");
  const char *flags = getenv("CB_LINK_FLAGS"); /* the runtime's sanitizers */
  char *link = fmt("cc " STRICT " -c '%s/t.c' -o '%s/t.o' && cc %s '%s/t_main.o' '%s/t.o' '%s' -lz -lm "
                   "-o '%s/trainer' && '%s/trainer' --help > '%s/help.txt'",
                   dir, dir, flags ? flags : "", dir, dir, lib, dir, dir, dir);
  ck_assert_msg(sh(link) == 0, "failed: %s", link);
  free(link);
  trainer_learns_separable_idx(dir);
  free(m), free(text), free(cmd);
  arena_free(a);
}
END_TEST

/* Names are arbitrary strings in the IR: they must not break the C. */
START_TEST(odd_names_are_escaped_and_compile) {
  Arena *a = arena_new();
  LProgram *p = prog_softmax(a);
  p->name = "my-net */ v2";
  lprog_find_buffer(p, "fc.weight")->name = "fc\"weight\\*/";
  lprog_find_buffer(p, "logits")->name = "int";
  p->kernels[1]->origin = "dense */ #include <stdio.h>";
  p->kernels[1]->name = "expf";
  ck_assert_str_eq(c_prefix(p), "my_net____v2");
  const char *dir = test_dir(a, "odd");
  emit_to(p, dir);
  char *cmd = fmt("cc " STRICT " -c '%s/t.c' -o '%s/t.o' && cc " STRICT " -I'" RUNTIME_DIR "' "
                  "-c '%s/t_main.c' -o '%s/t_main.o'", dir, dir, dir, dir);
  ck_assert_msg(sh(cmd) == 0, "failed: %s", cmd);
  char *cp = fmt("%s/t.c", dir);
  char *c = read_text(cp);
  ck_assert_msg(strstr(c, "{\"fc\\\"weight\\\\*/\", 0, 0, 2,") != NULL, "%.3000s", c);
  ck_assert_msg(strstr(c, "float *restrict int_2") != NULL, "%.3000s", c);
  ck_assert_msg(strstr(c, "int my_net____v2_init(void *state, uint64_t seed) {") != NULL, "%.3000s", c);
  free(cmd), free(cp), free(c);
  arena_free(a);
}
END_TEST

/* ---- refusals and the hash ------------------------------------------ */

static char *emit_error(LProgram *p) {
  char *err = NULL, *c = NULL, *h = NULL;
  size_t el = 0, cl = 0, hl = 0;
  FILE *ef = open_memstream(&err, &el), *cf = open_memstream(&c, &cl), *hf = open_memstream(&h, &hl);
  EmitOptions o = {.header_name = "t.h", .errors = ef};
  ck_assert(!c_emit(p, &o, cf, hf));
  fclose(ef), fclose(cf), fclose(hf);
  free(c), free(h);
  return err;
}

START_TEST(emit_refuses_state_write_in_predict) {
  Arena *a = arena_new();
  LProgram *p = prog_softmax(a);
  lprog_call(p, LENTRY_PREDICT, p->kernels[4]); /* sgd writes the weights */
  char *err = emit_error(p);
  ck_assert_msg(strstr(err, "kernel 'sgd': predict writes state buffer %fc.weight"), "%s", err);
  free(err);
  arena_free(a);
}
END_TEST

/* exp, log, cos and pow are the pass "math"'s to write out: an f32 build
 * refuses them rather than call the C library, whose bits differ between
 * targets; the double build (the gradient checks' reference) calls it. */
START_TEST(emit_refuses_raw_math_in_an_f32_build) {
  Arena *a = arena_new();
  LProgram *p = prog_softmax(a);
  char *err = emit_error(p);
  ck_assert_msg(strstr(err, "exp was not written out by the pass \"math\""), "%s", err);
  free(err);
  char *c = NULL, *h = NULL;
  size_t cl = 0, hl = 0;
  FILE *cf = open_memstream(&c, &cl), *hf = open_memstream(&h, &hl);
  EmitOptions o = {.header_name = "t.h", .real_double = true};
  ck_assert(c_emit(p, &o, cf, hf));
  fclose(cf), fclose(hf);
  ck_assert_msg(strstr(c, "exp(") && strstr(c, "log("), "%.3000s", c);
  free(c), free(h);
  c = emit_text(p, NULL); /* written out: no libm call left */
  ck_assert_msg(!strstr(c, "expf(") && !strstr(c, "logf("), "%.3000s", c);
  free(c);
  arena_free(a);
}
END_TEST

START_TEST(emit_refuses_work_in_init_and_unplanned_buffers) {
  Arena *a = arena_new();
  LProgram *p = prog_softmax(a);
  lprog_call(p, LENTRY_INIT, p->kernels[1]); /* fc_fwd: work buffer, x, n */
  char *err = emit_error(p);
  ck_assert_msg(strstr(err, "init uses work buffer %logits"), "%s", err);
  ck_assert_msg(strstr(err, "init uses ARG buffer %x"), "%s", err);
  ck_assert_msg(strstr(err, "init has no argument 'n'"), "%s", err);
  free(err);
  p = prog_softmax(a);
  lprog_find_buffer(p, "fc.bias")->offset = -1;
  err = emit_error(p);
  ck_assert_msg(strstr(err, "buffer %fc.bias is not planned"), "%s", err);
  free(err);
  arena_free(a);
}
END_TEST

START_TEST(hash_ignores_cosmetics_and_sees_semantics) {
  Arena *a = arena_new();
  uint64_t h0 = lprog_hash(prog_softmax(a));
  ck_assert_uint_eq(lprog_hash(prog_softmax(a)), h0);
  LProgram *p = prog_softmax(a);
  p->kernels[1]->loc.line = 99;
  p->kernels[1]->origin = "renamed";
  p->kernels[1]->name = "other";
  ck_assert_uint_eq(lprog_hash(p), h0);
  p = prog_softmax(a);
  p->kernels[4]->body->body->value->b->a->f = 0.25f; /* the SGD learning rate */
  ck_assert_uint_ne(lprog_hash(p), h0);
  p = prog_softmax(a);
  lprog_find_buffer(p, "fc.bias")->offset += 64;
  ck_assert_uint_ne(lprog_hash(p), h0);
  p = prog_softmax(a);
  p->batch = 16;
  ck_assert_uint_ne(lprog_hash(p), h0);
  ck_assert_uint_ne(lprog_hash(prog_intops(a)), h0);
  arena_free(a);
}
END_TEST

/* The test programs are valid loop IR (what a lowering must produce), and
 * the hash survives print -> read, where variables are created anew: the
 * conformance suite, which compiles them from that text, runs these
 * programs (only variable names may differ). */
START_TEST(programs_verify_and_hash_survives_text_round_trip) {
  Arena *a = arena_new();
  LProgram *progs[] = {prog_softmax(a), prog_intops(a), prog_floatops(a)};
  for (int i = 0; i < 3; i++) {
    char *err = NULL, *text = NULL;
    size_t el = 0, tl = 0;
    FILE *ef = open_memstream(&err, &el), *tf = open_memstream(&text, &tl);
    Diag *d = diag_new(ef);
    bool ok = lprog_verify(progs[i], d);
    lprog_print(tf, progs[i]);
    fclose(tf);
    LProgram *back = ok ? lprog_read(a, d, "t.loops", text, tl) : NULL;
    diag_free(d);
    fclose(ef);
    ck_assert_msg(ok, "program %d does not verify:\n%.3000s", i, err);
    ck_assert_msg(back != NULL, "program %d does not read back:\n%.3000s", i, err);
    ck_assert_uint_eq(lprog_hash(back), lprog_hash(progs[i]));
    free(err), free(text);
  }
  arena_free(a);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("cbackend");
  TCase *text = tcase_create("text");
  tcase_add_test(text, header_declares_api_sizes_and_table);
  tcase_add_test(text, kernels_print_as_readable_c_with_hints);
  tcase_add_test(text, source_uses_only_allowed_headers_and_no_static_data);
  tcase_add_test(text, emit_refuses_state_write_in_predict);
  tcase_add_test(text, emit_refuses_raw_math_in_an_f32_build);
  tcase_add_test(text, emit_refuses_work_in_init_and_unplanned_buffers);
  tcase_add_test(text, hash_ignores_cosmetics_and_sees_semantics);
  tcase_add_test(text, programs_verify_and_hash_survives_text_round_trip);
  suite_add_tcase(s, text);
  /* compiled with the host's cc (and nm, objdump: binutils) */
  TCase *runs = tcase_create("runs");
  tcase_set_timeout(runs, 120);
  tcase_add_test(runs, objects_have_no_data_or_bss_symbols);
  tcase_add_test(runs, main_fills_octo_model_and_links_with_runtime);
  tcase_add_test(runs, odd_names_are_escaped_and_compile);
  suite_add_tcase(s, runs);
  return s;
}

int main(void) {
  SRunner *r = srunner_create(suite());
  srunner_run_all(r, CK_NORMAL);
  int failed = srunner_ntests_failed(r);
  srunner_free(r);
  return failed ? 1 : 0;
}
