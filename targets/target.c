/* The target table and the configuration of a compilation's target.
 * Adding a target is adding a row; what a feature means (a wider vector
 * unit, an FPU, an int8 dot product) is one line of the feature table. */
#include "target.h"

#include "backend.h"

#include <string.h>

static const Target targets[] = {
    {"x86_64", "x86_64-linux-gnu", ARCH_X86_64, "x86-64-v2", "+sse4.2", true, NULL, NULL,
     "host default; AVX2 / AVX-512 VNNI with -mcpu=native", &c_backend},
    {"armv7", "armv7-linux-gnueabihf", ARCH_ARM, "cortex-a7", "+neon,+vfp4", true,
     "arm-linux-gnueabihf-gcc", "qemu-arm", "cortex-a7, NEON, hard float", &c_backend},
    {"cortex-m4", "thumbv7em-none-eabihf", ARCH_ARM, "cortex-m4", "+vfp4d16sp", false, NULL, NULL,
     "bare metal, single-precision FPU", &c_backend},
    {"aarch64", "aarch64-linux-gnu", ARCH_AARCH64, "cortex-a53", "+neon,+fp-armv8", true,
     "aarch64-linux-gnu-gcc", "qemu-aarch64", "64-bit ARM Linux", &c_backend},
    {"riscv64", "riscv64-linux-gnu", ARCH_RISCV64, "generic-rv64", "+m,+a,+f,+d,+c", true,
     "riscv64-linux-gnu-gcc", "qemu-riscv64", "rv64gc, lp64d", &c_backend},
    {"riscv32", "riscv32-unknown-elf", ARCH_RISCV32, "generic-rv32", "+m,+a,+c", false, NULL,
     NULL, "rv32imac, ilp32, no FPU: soft-float, later integer-only trainers", &c_backend},
};

enum { NTARGETS = sizeof targets / sizeof targets[0] };

const Target *target_default(void) { return &targets[0]; }

const Target *target_lookup(const char *name) {
  for (int i = 0; i < NTARGETS; i++)
    if (strcmp(targets[i].name, name) == 0 || strcmp(targets[i].triple, name) == 0)
      return &targets[i];
  /* Common spellings of the same triples. */
  if (strcmp(name, "x86_64-pc-linux-gnu") == 0 || strcmp(name, "x86_64-unknown-linux-gnu") == 0 ||
      strcmp(name, "x86-64") == 0)
    return &targets[0];
  if (strcmp(name, "arm") == 0 || strcmp(name, "arm-linux-gnueabihf") == 0) return &targets[1];
  if (strcmp(name, "arm64") == 0 || strcmp(name, "aarch64-unknown-linux-gnu") == 0)
    return &targets[3];
  return NULL;
}

void target_list(FILE *out) {
  fprintf(out, "%-10s %-24s %-13s %s\n", "target", "triple", "cpu", "notes");
  for (int i = 0; i < NTARGETS; i++)
    fprintf(out, "%-10s %-24s %-13s %s\n", targets[i].name, targets[i].triple, targets[i].cpu,
            targets[i].notes);
}

/* What a feature gives, per architecture (LLVM's feature names). A vector
 * feature turned off leaves the vector width of what is left (x86 keeps
 * SSE; without NEON an ARM core has none). */
typedef enum { GIVES_VECTOR, GIVES_FPU, GIVES_DOT_I8, GIVES_VNNI_VEX, GIVES_VNNI_EVEX, GIVES_VL } Gives;

static const struct {
  TargetArch arch;
  const char *name;
  Gives gives;
  int bits, off_bits; /* GIVES_VECTOR: width with it, and without it */
} features[] = {
    {ARCH_X86_64, "sse2", GIVES_VECTOR, 128, 0},
    {ARCH_X86_64, "sse4.2", GIVES_VECTOR, 128, 128},
    {ARCH_X86_64, "avx", GIVES_VECTOR, 256, 128},
    {ARCH_X86_64, "avx2", GIVES_VECTOR, 256, 128},
    {ARCH_X86_64, "avx512f", GIVES_VECTOR, 512, 256},
    {ARCH_X86_64, "avx512vnni", GIVES_VNNI_EVEX, 0, 0},
    {ARCH_X86_64, "avx512vl", GIVES_VL, 0, 0},
    {ARCH_X86_64, "avxvnni", GIVES_VNNI_VEX, 0, 0},
    {ARCH_ARM, "neon", GIVES_VECTOR, 128, 0},
    {ARCH_ARM, "vfp4", GIVES_FPU, 0, 0},
    {ARCH_ARM, "vfp4d16sp", GIVES_FPU, 0, 0},
    {ARCH_ARM, "fp-armv8", GIVES_FPU, 0, 0},
    {ARCH_ARM, "dotprod", GIVES_DOT_I8, 0, 0},
    {ARCH_AARCH64, "neon", GIVES_VECTOR, 128, 0},
    {ARCH_AARCH64, "fp-armv8", GIVES_FPU, 0, 0},
    {ARCH_AARCH64, "dotprod", GIVES_DOT_I8, 0, 0},
    {ARCH_RISCV64, "f", GIVES_FPU, 0, 0},
    {ARCH_RISCV64, "v", GIVES_VECTOR, 128, 0},
    {ARCH_RISCV32, "f", GIVES_FPU, 0, 0},
    {ARCH_RISCV32, "v", GIVES_VECTOR, 128, 0},
};

/* Applies "+name" or "-name" (len bytes) to c. */
static void apply_feature(TargetConfig *c, const char *item, size_t len) {
  bool on = item[0] == '+';
  for (size_t i = 0; i < sizeof features / sizeof features[0]; i++) {
    if (features[i].arch != c->target->arch || strlen(features[i].name) != len - 1 ||
        strncmp(features[i].name, item + 1, len - 1) != 0)
      continue;
    switch (features[i].gives) {
    case GIVES_VECTOR:
      if (on && features[i].bits > c->vector_bits) c->vector_bits = features[i].bits;
      if (!on && c->vector_bits > features[i].off_bits) c->vector_bits = features[i].off_bits;
      /* LLVM turns off what needs the vector unit turned off: AVX-VNNI
       * needs AVX2, the AVX-512 features AVX512F */
      if (!on && c->target->arch == ARCH_X86_64 && features[i].off_bits < 512)
        c->x86_vnni_evex = c->x86_avx512vl = false;
      if (!on && c->target->arch == ARCH_X86_64 && features[i].off_bits < 256)
        c->x86_vnni_vex = false;
      break;
    case GIVES_FPU: c->has_fpu = on; break;
    case GIVES_DOT_I8: c->has_dot_i8 = on; break;
    case GIVES_VNNI_VEX: c->x86_vnni_vex = on; break;
    case GIVES_VNNI_EVEX: c->x86_vnni_evex = on; break;
    case GIVES_VL: c->x86_avx512vl = on; break;
    }
  }
}

/* Walks a feature list; false at the first item that is not +name / -name. */
static bool apply_features(TargetConfig *c, const char *list, char *err, size_t errlen) {
  const char *p = list;
  while (p && *p) {
    const char *end = strchr(p, ',');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len < 2 || (p[0] != '+' && p[0] != '-')) {
      snprintf(err, errlen, "-mattr=%s: '%.*s' is not +FEATURE or -FEATURE", list, (int)len, p);
      return false;
    }
    apply_feature(c, p, len);
    p = end ? end + 1 : NULL;
  }
  return true;
}

/* The Arm CPUs whose LLVM 19 definition includes dotprod, so that -mcpu
 * alone (e.g. cortex-a76) gives the int8 quad form as -mattr=+dotprod
 * does: every CPU of `llc-19 -mtriple=TRIPLE -mcpu=help` for which llc
 * compiles a call of llvm.aarch64.neon.sdot (llvm.arm.neon.sdot for
 * armv7), plus apple-m1..m3, which -mcpu=help does not list. A CPU not
 * here keeps its other features in LLVM; only octoc's choice of the quad
 * form needs this list. */
static const char *const dotprod_cpus_aarch64[] = {
    "ampere1", "ampere1a", "ampere1b", "apple-a13", "apple-a14", "apple-a15", "apple-a16",
    "apple-a17", "apple-m1", "apple-m2", "apple-m3", "apple-m4", "cortex-a510", "cortex-a520",
    "cortex-a520ae", "cortex-a55", "cortex-a65", "cortex-a65ae", "cortex-a710", "cortex-a715",
    "cortex-a720", "cortex-a720ae", "cortex-a725", "cortex-a75", "cortex-a76", "cortex-a76ae",
    "cortex-a77", "cortex-a78", "cortex-a78ae", "cortex-a78c", "cortex-r82", "cortex-r82ae",
    "cortex-x1", "cortex-x1c", "cortex-x2", "cortex-x3", "cortex-x4", "cortex-x925", "exynos-m4",
    "exynos-m5", "neoverse-512tvb", "neoverse-e1", "neoverse-n1", "neoverse-n2", "neoverse-n3",
    "neoverse-v1", "neoverse-v2", "neoverse-v3", "neoverse-v3ae", "oryon-1", "saphira", "tsv110",
    NULL};
static const char *const dotprod_cpus_arm[] = {
    "cortex-a55", "cortex-a710", "cortex-a75", "cortex-a76", "cortex-a76ae", "cortex-a77",
    "cortex-a78", "cortex-a78ae", "cortex-a78c", "cortex-x1", "cortex-x1c", "exynos-m4",
    "exynos-m5", "neoverse-n1", "neoverse-n2", "neoverse-v1", NULL};

/* Likewise the x86 CPUs with vpdpbusd, by encoding, and those with
 * AVX512VL: the CPUs for which `llc-19 -mcpu=CPU` compiles
 * llvm.x86.avx512.vpdpbusd.128 with -mattr=-avxvnni (AVX512-VNNI and
 * AVX512VL), with -mattr=-avx512vnni (AVX-VNNI), and with
 * -mattr=+avx512vnni,-avxvnni (AVX512VL). */
static const char *const vnni_evex_cpus[] = {
    "cascadelake", "cooperlake", "emeraldrapids", "graniterapids", "graniterapids-d",
    "graniterapids_d", "icelake-client", "icelake-server", "icelake_client", "icelake_server",
    "rocketlake", "sapphirerapids", "tigerlake", "znver4", "znver5", NULL};
static const char *const vnni_vex_cpus[] = {
    "alderlake", "arrowlake", "arrowlake-s", "arrowlake_s", "clearwaterforest", "emeraldrapids",
    "gracemont", "grandridge", "graniterapids", "graniterapids-d", "graniterapids_d", "lunarlake",
    "meteorlake", "pantherlake", "raptorlake", "sapphirerapids", "sierraforest", "znver5", NULL};
static const char *const avx512vl_cpus[] = {
    "cannonlake", "skx", "skylake-avx512", "skylake_avx512", "x86-64-v4", NULL};

/* The x86 CPUs with 256-bit (AVX2) and with 512-bit (AVX512F) vectors:
 * those for which `llc-19 -mcpu=CPU` compiles llvm.x86.avx2.pmadd.wd, and
 * those for which it compiles a <16 x float> multiply into zmm registers.
 * -mcpu=native asks the host instead (apply_native). */
static const char *const avx2_cpus[] = {
    "alderlake", "arrowlake", "arrowlake-s", "arrowlake_s", "bdver4", "broadwell",
    "clearwaterforest", "core-avx2", "core_4th_gen_avx", "core_4th_gen_avx_tsx",
    "core_5th_gen_avx", "core_5th_gen_avx_tsx", "gracemont", "grandridge", "haswell", "lunarlake",
    "meteorlake", "pantherlake", "raptorlake", "sierraforest", "skylake", "x86-64-v3", "znver1",
    "znver2", "znver3", NULL};
static const char *const avx512_cpus[] = {
    "cannonlake", "cascadelake", "cooperlake", "emeraldrapids", "graniterapids",
    "graniterapids-d", "graniterapids_d", "icelake-client", "icelake-server", "icelake_client",
    "icelake_server", "knl", "knm", "mic_avx512", "rocketlake", "sapphirerapids", "skx",
    "skylake-avx512", "skylake_avx512", "tigerlake", "x86-64-v4", "znver4", "znver5", NULL};

static bool listed(const char *const *list, const char *cpu) {
  for (; list && *list; list++)
    if (strcmp(*list, cpu) == 0) return true;
  return false;
}

static bool cpu_has_dotprod(const Target *t, const char *cpu) {
  return listed(t->arch == ARCH_AARCH64 ? dotprod_cpus_aarch64
                : t->arch == ARCH_ARM   ? dotprod_cpus_arm
                                        : NULL,
                cpu);
}

/* The host's own x86 features, for -mcpu=native. */
static void apply_native(TargetConfig *c) {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2")) apply_feature(c, "+avx2", 5);
  if (__builtin_cpu_supports("avx512f")) apply_feature(c, "+avx512f", 8);
  if (__builtin_cpu_supports("avx512vnni")) apply_feature(c, "+avx512vnni", 11);
  if (__builtin_cpu_supports("avx512vl")) apply_feature(c, "+avx512vl", 9);
  if (__builtin_cpu_supports("avxvnni")) apply_feature(c, "+avxvnni", 8);
#else
  (void)c;
#endif
}

bool target_is_host(const Target *t) {
#if defined(__x86_64__)
  return t->arch == ARCH_X86_64;
#else
  (void)t;
  return false;
#endif
}

bool target_configure(TargetConfig *out, const Target *t, const char *mcpu, const char *mattr,
                      char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  out->target = t;
  out->cpu = mcpu ? mcpu : t->cpu;
  out->has_fpu = t->arch == ARCH_X86_64; /* SSE2 floats are part of x86-64 itself */
  if (!apply_features(out, t->features, err, errlen)) return false;
  if (mcpu && strcmp(mcpu, "native") == 0) {
    if (!target_is_host(t)) {
      snprintf(err, errlen, "-mcpu=native: target %s is not this machine's; name its CPU "
               "(default %s)", t->name, t->cpu);
      return false;
    }
    apply_native(out);
  }
  if (cpu_has_dotprod(t, out->cpu)) out->has_dot_i8 = true; /* -mattr=-dotprod still wins */
  if (t->arch == ARCH_X86_64) {
    if (listed(avx2_cpus, out->cpu) && out->vector_bits < 256) out->vector_bits = 256;
    if (listed(avx512_cpus, out->cpu)) out->vector_bits = 512;
    if (listed(vnni_evex_cpus, out->cpu)) out->x86_vnni_evex = out->x86_avx512vl = true;
    if (listed(avx512vl_cpus, out->cpu)) out->x86_avx512vl = true;
    if (listed(vnni_vex_cpus, out->cpu)) out->x86_vnni_vex = true;
  }
  out->mattr = mattr && *mattr ? mattr : NULL;
  if (out->mattr && !apply_features(out, out->mattr, err, errlen)) return false;
  if (t->arch == ARCH_X86_64)
    out->has_dot_i8 = out->x86_vnni_vex || (out->x86_vnni_evex && out->x86_avx512vl);
  return true;
}
