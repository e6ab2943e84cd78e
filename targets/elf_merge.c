/* elf_merge.h: two ELF relocatable objects joined into one.
 *
 * Read both into flat tables (sections, symbols), number the output's
 * sections (the first object's, then the second's, then one symbol table
 * and one string table), resolve the global symbols by name, renumber the
 * symbols the relocations name, and write the object. Every offset and
 * count read is checked against the input's size. */
#include "elf_merge.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
  SHT_SYMTAB = 2, SHT_STRTAB = 3, SHT_RELA = 4, SHT_NOBITS = 8, SHT_REL = 9, SHT_GROUP = 17,
  SHT_SYMTAB_SHNDX = 18, SHT_LLVM_ADDRSIG = 0x6fff4c03,
  SHT_ARM_EXIDX = 0x70000001, /* x86-64's SHT_X86_64_UNWIND too: ARM's only on EM_ARM */
  SHT_PROC_ATTRIBUTES = 0x70000003, /* ARM's and RISC-V's build attributes */
  SHF_INFO_LINK = 0x40, SHF_LINK_ORDER = 0x80,
  SHN_UNDEF = 0, SHN_LORESERVE = 0xff00, SHN_XINDEX = 0xffff,
  STB_LOCAL = 0, STB_GLOBAL = 1, STV_HIDDEN = 2,
  EM_ARM = 40, EM_RISCV = 243,
};

typedef struct Sec {
  const char *name;
  uint32_t type, link, info;
  uint64_t flags, addralign, entsize, size;
  const unsigned char *data; /* NULL for SHT_NOBITS */
  unsigned out;              /* index in the output, 0: not written */
  bool copy;                 /* the first object's section out, byte for byte: not written */
  unsigned char *owned;      /* data rewritten here (freed with the object), or NULL */
} Sec;

typedef struct Sym {
  const char *name;
  unsigned char info, other;
  uint16_t shndx;
  uint64_t value, size;
  unsigned out; /* index in the output */
} Sym;

typedef struct Obj {
  const unsigned char *p;
  size_t len;
  bool is64;
  unsigned machine;
  Sec *sec;
  unsigned nsec, symtab;
  Sym *sym;
  unsigned nsym;
} Obj;

typedef struct Merge {
  char *why;
  size_t whylen;
  bool failed;
} Merge;

static bool fail(Merge *m, const char *fmt, ...) {
  if (!m->failed) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->why, m->whylen, fmt, ap);
    va_end(ap);
  }
  m->failed = true;
  return false;
}

static uint64_t rd(const unsigned char *p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

static void wr(unsigned char *p, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++, v >>= 8) p[i] = (unsigned char)v;
}

/* Bytes [off, off + n) lie inside the object. */
static bool inside(const Obj *o, uint64_t off, uint64_t n) {
  return off <= o->len && n <= o->len - off;
}

/* The NUL-terminated string at off of section s, or NULL. */
static const char *string_at(const Sec *s, uint64_t off) {
  if (!s->data || off >= s->size || !memchr(s->data + off, 0, s->size - off)) return NULL;
  return (const char *)s->data + off;
}

static bool read_sections(Merge *m, Obj *o, const char *which) {
  const unsigned char *p = o->p;
  int w = o->is64 ? 8 : 4;
  uint64_t shoff = rd(p + (o->is64 ? 0x28 : 0x20), w);
  unsigned shentsize = (unsigned)rd(p + (o->is64 ? 0x3A : 0x2E), 2);
  unsigned shnum = (unsigned)rd(p + (o->is64 ? 0x3C : 0x30), 2);
  unsigned shstrndx = (unsigned)rd(p + (o->is64 ? 0x3E : 0x32), 2);
  if (shnum == 0 || shstrndx >= shnum || shentsize != (o->is64 ? 64u : 40u) ||
      !inside(o, shoff, (uint64_t)shnum * shentsize))
    return fail(m, "the %s object's section table is malformed", which);
  o->sec = calloc(shnum, sizeof *o->sec);
  if (!o->sec) return fail(m, "out of memory");
  o->nsec = shnum;
  for (unsigned i = 0; i < shnum; i++) {
    const unsigned char *h = p + shoff + (uint64_t)i * shentsize;
    Sec *s = &o->sec[i];
    s->type = (uint32_t)rd(h + 4, 4);
    s->flags = rd(h + 8, w);
    uint64_t off = rd(h + 8 + 2 * w, w);
    s->size = rd(h + 8 + 3 * w, w);
    s->link = (uint32_t)rd(h + 8 + 4 * w, 4);
    s->info = (uint32_t)rd(h + 12 + 4 * w, 4);
    s->addralign = rd(h + 16 + 4 * w, w);
    s->entsize = rd(h + 16 + 5 * w, w);
    if (s->type != SHT_NOBITS && i > 0) {
      if (!inside(o, off, s->size)) return fail(m, "the %s object's section %u is cut", which, i);
      s->data = p + off;
    }
  }
  for (unsigned i = 0; i < shnum; i++) {
    Sec *s = &o->sec[i];
    s->name = i ? string_at(&o->sec[shstrndx], rd(p + shoff + (uint64_t)i * shentsize, 4)) : "";
    if (!s->name) return fail(m, "the %s object's section %u has no name", which, i);
  }
  return true;
}

static bool read_symbols(Merge *m, Obj *o, const char *which) {
  o->symtab = 0;
  for (unsigned i = 1; i < o->nsec; i++) {
    if (o->sec[i].type != SHT_SYMTAB) continue;
    if (o->symtab) return fail(m, "the %s object has two symbol tables", which);
    o->symtab = i;
  }
  if (!o->symtab) return fail(m, "the %s object has no symbol table", which);
  const Sec *st = &o->sec[o->symtab];
  unsigned ent = o->is64 ? 24 : 16;
  if (st->entsize != ent || st->size % ent || st->link == 0 || st->link >= o->nsec ||
      o->sec[st->link].type != SHT_STRTAB || !st->data)
    return fail(m, "the %s object's symbol table is malformed", which);
  o->nsym = (unsigned)(st->size / ent);
  o->sym = calloc(o->nsym ? o->nsym : 1, sizeof *o->sym);
  if (!o->sym) return fail(m, "out of memory");
  for (unsigned i = 0; i < o->nsym; i++) {
    const unsigned char *e = st->data + (uint64_t)i * ent;
    Sym *s = &o->sym[i];
    s->name = string_at(&o->sec[st->link], rd(e, 4));
    if (o->is64) {
      s->info = e[4], s->other = e[5], s->shndx = (uint16_t)rd(e + 6, 2);
      s->value = rd(e + 8, 8), s->size = rd(e + 16, 8);
    } else {
      s->value = rd(e + 4, 4), s->size = rd(e + 8, 4);
      s->info = e[12], s->other = e[13], s->shndx = (uint16_t)rd(e + 14, 2);
    }
    if (!s->name) return fail(m, "the %s object's symbol %u has no name", which, i);
    if (s->shndx == SHN_XINDEX || (s->shndx != SHN_UNDEF && s->shndx < SHN_LORESERVE &&
                                   s->shndx >= o->nsec))
      return fail(m, "the %s object's symbol %s has a section this cannot join", which, s->name);
  }
  return true;
}

static bool read_object(Merge *m, Obj *o, const unsigned char *p, size_t len, const char *which) {
  *o = (Obj){.p = p, .len = len};
  if (len < 64 || memcmp(p, "\177ELF", 4) != 0 || (p[4] != 1 && p[4] != 2) || p[5] != 1 ||
      rd(p + 16, 2) != 1)
    return fail(m, "the %s object is not a little-endian ELF relocatable object", which);
  o->is64 = p[4] == 2;
  o->machine = (unsigned)rd(p + 18, 2);
  return read_sections(m, o, which) && read_symbols(m, o, which);
}

static void free_object(Obj *o) {
  for (unsigned i = 0; o->sec && i < o->nsec; i++) free(o->sec[i].owned);
  free(o->sec);
  free(o->sym);
}

static bool is_rel(const Sec *s) { return s->type == SHT_REL || s->type == SHT_RELA; }

/* Sections the output makes anew (symbols, strings) or drops. */
static bool skipped(const Obj *o, unsigned i) {
  const Sec *s = &o->sec[i];
  return i == 0 || s->type == SHT_SYMTAB || s->type == SHT_STRTAB ||
         s->type == SHT_LLVM_ADDRSIG; /* optional: without it, every symbol counts as taken */
}

/* Sections an object has once: the target's build attributes (which a
 * linker reads once per object) and the empty stack note. */
static bool once(const Sec *s, unsigned machine) {
  return (s->type == SHT_PROC_ATTRIBUTES && (machine == EM_ARM || machine == EM_RISCV)) ||
         strcmp(s->name, ".note.GNU-stack") == 0;
}

/* The first object's section that s, the second's, repeats byte for
 * byte, or NULL. */
static const Sec *first_copy(const Obj *a, const Sec *s) {
  for (unsigned i = 1; i < a->nsec; i++) {
    const Sec *t = &a->sec[i];
    if (t->out && t->type == s->type && t->flags == s->flags && t->size == s->size &&
        strcmp(t->name, s->name) == 0 &&
        (!s->data || !t->data || memcmp(s->data, t->data, s->size) == 0))
      return t;
  }
  return NULL;
}

/* A growing output buffer. */
typedef struct Buf {
  unsigned char *p;
  size_t len, cap;
  bool oom;
} Buf;

static unsigned char *grow(Buf *b, size_t n) {
  if (b->oom) return NULL;
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n) cap *= 2;
    unsigned char *p = realloc(b->p, cap);
    if (!p) {
      b->oom = true;
      return NULL;
    }
    b->p = p, b->cap = cap;
  }
  unsigned char *at = b->p + b->len;
  memset(at, 0, n);
  b->len += n;
  return at;
}

static void align_to(Buf *b, uint64_t a) {
  if (a > 1 && b->len % a) grow(b, (size_t)(a - b->len % a));
}

static uint32_t add_string(Buf *strtab, const char *s) {
  size_t n = strlen(s) + 1;
  uint32_t at = (uint32_t)strtab->len;
  unsigned char *p = grow(strtab, n);
  if (p) memcpy(p, s, n);
  return at;
}

/* --- Arm build attributes ---
 * ("Addenda to, and Errata in, the ABI for the Arm Architecture": a
 * version byte 'A', then per vendor a length, the vendor's name and
 * sub-sections of a tag, a length and attributes: a ULEB128 tag and a
 * ULEB128 or NUL-terminated value.) LLVM records its functions'
 * optimisation goals (Tag_ABI_optimization_goals 30,
 * Tag_ABI_FP_optimization_goals 31) only when they all agree: the part
 * with the optnone initialisers has none, the other "speed". Joined, the
 * goals are mixed, which is no tag. */

static bool uleb(const unsigned char *p, size_t n, size_t *at, uint64_t *v) {
  *v = 0;
  for (int shift = 0; *at < n && shift < 64; shift += 7) {
    unsigned char b = p[(*at)++];
    *v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}

/* Whether an "aeabi" attribute's value is a string. */
static bool string_valued(uint64_t tag) {
  return tag == 4 || tag == 5 || tag == 65 || tag == 67 || (tag > 32 && tag % 2 == 1);
}

/* The attributes of [p, p + n) (one sub-section's) without the goal tags,
 * appended to out; false when they do not parse. */
static bool drop_goals(const unsigned char *p, size_t n, Buf *out) {
  size_t at = 0;
  while (at < n) {
    size_t from = at;
    uint64_t tag, v;
    if (!uleb(p, n, &at, &tag)) return false;
    if (tag == 32 && !uleb(p, n, &at, &v)) return false; /* Tag_compatibility: flag, then name */
    if (string_valued(tag) || tag == 32) {
      const unsigned char *z = memchr(p + at, 0, n - at);
      if (!z) return false;
      at = (size_t)(z - p) + 1;
    } else if (!uleb(p, n, &at, &v)) {
      return false;
    }
    if (tag == 30 || tag == 31) continue;
    unsigned char *to = grow(out, at - from);
    if (to) memcpy(to, p + from, at - from);
  }
  return true;
}

/* An Arm attributes section without its optimisation goals, in *out;
 * false when it does not parse (only "aeabi" file-scope attributes are
 * taken apart, anything else is copied). */
static bool arm_without_goals(const Sec *s, Buf *out) {
  const unsigned char *p = s->data;
  size_t n = (size_t)s->size, at = 1;
  if (!p || n < 1 || p[0] != 'A') return false;
  unsigned char *v = grow(out, 1);
  if (v) *v = 'A';
  while (at < n) {
    if (n - at < 4) return false;
    size_t len = (size_t)rd(p + at, 4), start = out->len;
    if (len < 5 || len > n - at) return false;
    const unsigned char *vendor = p + at + 4, *end = p + at + len;
    const unsigned char *z = memchr(vendor, 0, (size_t)(end - vendor));
    if (!z) return false;
    if (strcmp((const char *)vendor, "aeabi") != 0) {
      unsigned char *to = grow(out, len);
      if (to) memcpy(to, p + at, len);
      at += len;
      continue;
    }
    size_t named = (size_t)(z - vendor) + 1; /* the vendor's name and its NUL */
    unsigned char *head = grow(out, 4 + named); /* the length is written below */
    if (head) memcpy(head + 4, vendor, named);
    for (const unsigned char *q = z + 1; q < end;) {
      if (end - q < 5) return false;
      size_t sub = (size_t)rd(q + 1, 4), sub_start = out->len;
      if (q[0] != 1 || sub < 5 || sub > (size_t)(end - q)) return false; /* file scope only */
      unsigned char *sh = grow(out, 5);
      if (sh) sh[0] = 1;
      if (!drop_goals(q + 5, sub - 5, out)) return false;
      if (out->p) wr(out->p + sub_start + 1, out->len - sub_start, 4);
      q += sub;
    }
    if (out->p) wr(out->p + start, out->len - start, 4);
    at += len;
  }
  return !out->oom;
}

/* a and b, two Arm attributes sections, the same but for the goals:
 * a's data becomes a without them (what one object of both parts would
 * say). */
static bool join_goals(Sec *a, const Sec *b) {
  Buf x = {0}, y = {0};
  bool same = arm_without_goals(a, &x) && arm_without_goals(b, &y) && x.len == y.len &&
              memcmp(x.p, y.p, x.len) == 0;
  free(y.p);
  if (!same) {
    free(x.p);
    return false;
  }
  a->owned = x.p;
  a->data = x.p;
  a->size = x.len;
  return true;
}

/* Output section numbers for both objects' sections; the count, with the
 * null section, in *n. */
static bool number_sections(Merge *m, Obj *o[2], unsigned machine, unsigned *n) {
  unsigned next = 1;
  for (int k = 0; k < 2; k++)
    for (unsigned i = 1; i < o[k]->nsec; i++) {
      Sec *s = &o[k]->sec[i];
      if (s->type == SHT_GROUP || s->type == SHT_SYMTAB_SHNDX)
        return fail(m, "section %s (type %u) cannot be joined", s->name, s->type);
      if (skipped(o[k], i)) continue;
      if (k == 1 && once(s, machine)) {
        /* one copy; the second's symbols in it (RISC-V's $d) go to the first's */
        const Sec *t = first_copy(o[0], s);
        if (!t && machine == EM_ARM && s->type == SHT_PROC_ATTRIBUTES)
          for (unsigned j = 1; !t && j < o[0]->nsec; j++)
            if (o[0]->sec[j].type == s->type && o[0]->sec[j].out && join_goals(&o[0]->sec[j], s))
              t = &o[0]->sec[j];
        if (!t) return fail(m, "the two objects' %s differ", s->name);
        s->out = t->out;
        s->copy = true;
        continue;
      }
      s->out = next++;
    }
  *n = next;
  return true;
}

/* A global symbol of either object, by name. */
typedef struct Global {
  Sym *in[2]; /* its entry in each object, or NULL */
  bool local;  /* hidden, defined in one object and used by the other */
} Global;

static bool defined(const Sym *s) { return s->shndx != SHN_UNDEF; }

static bool resolve_globals(Merge *m, Obj *o[2], Global **out, unsigned *n) {
  Global *g = calloc((size_t)o[0]->nsym + o[1]->nsym + 1, sizeof *g);
  if (!g) return fail(m, "out of memory");
  unsigned count = 0;
  for (int k = 0; k < 2; k++)
    for (unsigned i = 1; i < o[k]->nsym; i++) {
      Sym *s = &o[k]->sym[i];
      if (s->info >> 4 == STB_LOCAL) continue;
      Global *hit = NULL;
      for (unsigned j = 0; k == 1 && j < count && !hit; j++)
        if (g[j].in[0] && strcmp(g[j].in[0]->name, s->name) == 0) hit = &g[j];
      if (!hit) hit = &g[count++];
      hit->in[k] = s;
    }
  for (unsigned j = 0; j < count; j++) {
    Sym *a = g[j].in[0], *b = g[j].in[1];
    if (a && b && defined(a) && defined(b)) {
      free(g);
      return fail(m, "both objects define %s", a->name);
    }
    const Sym *def = a && defined(a) ? a : b && defined(b) ? b : NULL;
    g[j].local = a && b && def && (def->other & 3) == STV_HIDDEN;
  }
  *out = g;
  *n = count;
  return true;
}

/* The symbol an output entry is made from: the definition if there is
 * one, else the first object's reference; a reference weak in one object
 * and not in the other is not weak. */
static Sym chosen(const Global *g) {
  Sym *a = g->in[0], *b = g->in[1];
  Sym s = a && defined(a) ? *a : b && defined(b) ? *b : a ? *a : *b;
  if (a && b && !defined(&s) && ((a->info >> 4) == STB_GLOBAL || (b->info >> 4) == STB_GLOBAL))
    s.info = (unsigned char)(STB_GLOBAL << 4 | (s.info & 15));
  return s;
}

/* An output section header. */
typedef struct Head {
  uint32_t name, type, link, info;
  uint64_t flags, offset, size, addralign, entsize;
} Head;

static void put_symbol(Buf *symtab, Buf *strtab, const Sym *s, bool is64) {
  unsigned char *e = grow(symtab, is64 ? 24 : 16);
  uint32_t name = *s->name ? add_string(strtab, s->name) : 0;
  if (!e) return;
  wr(e, name, 4);
  if (is64) {
    e[4] = s->info, e[5] = s->other;
    wr(e + 6, s->shndx, 2), wr(e + 8, s->value, 8), wr(e + 16, s->size, 8);
  } else {
    wr(e + 4, s->value, 4), wr(e + 8, s->size, 4);
    e[12] = s->info, e[13] = s->other;
    wr(e + 14, s->shndx, 2);
  }
}

/* s with its section renumbered for the output; false if that section
 * is not in the output. */
static bool placed(Merge *m, const Obj *o, Sym *s) {
  if (s->shndx == SHN_UNDEF || s->shndx >= SHN_LORESERVE) return true;
  unsigned out = o->sec[s->shndx].out;
  if (!out) return fail(m, "symbol %s lies in a section that is not joined", s->name);
  s->shndx = (uint16_t)out;
  return true;
}

/* The symbol table: each object's locals, then the globals made local,
 * then the other globals. Sets every input symbol's output index and
 * *first_global. */
static bool write_symbols(Merge *m, Obj *o[2], Global *g, unsigned ng, Buf *symtab,
                          Buf *strtab, unsigned *first_global) {
  bool is64 = o[0]->is64;
  unsigned next = 1;
  grow(symtab, is64 ? 24 : 16); /* the null symbol */
  for (int k = 0; k < 2; k++)
    for (unsigned i = 1; i < o[k]->nsym; i++) {
      Sym s = o[k]->sym[i];
      if (s.info >> 4 != STB_LOCAL) continue;
      if (!placed(m, o[k], &s)) return false;
      put_symbol(symtab, strtab, &s, is64);
      o[k]->sym[i].out = next++;
    }
  for (int pass = 0; pass < 2; pass++) {
    if (pass == 1) *first_global = next;
    for (unsigned j = 0; j < ng; j++) {
      if (g[j].local != (pass == 0)) continue;
      Sym s = chosen(&g[j]);
      const Obj *from = g[j].in[0] && defined(g[j].in[0]) ? o[0]
                        : g[j].in[1] && defined(g[j].in[1]) ? o[1] : o[0];
      if (!placed(m, from, &s)) return false;
      if (g[j].local) s.info = (unsigned char)(STB_LOCAL << 4 | (s.info & 15)), s.other = 0;
      put_symbol(symtab, strtab, &s, is64);
      for (int k = 0; k < 2; k++)
        if (g[j].in[k]) g[j].in[k]->out = next;
      next++;
    }
  }
  return true;
}

/* A relocation section's entries with their symbols renumbered. */
static bool copy_relocations(Merge *m, const Obj *o, const Sec *s, unsigned char *to) {
  bool rela = s->type == SHT_RELA;
  uint64_t ent = o->is64 ? (rela ? 24 : 16) : (rela ? 12 : 8);
  if (s->entsize != ent || s->size % ent) return fail(m, "relocations %s are malformed", s->name);
  memcpy(to, s->data, s->size);
  for (uint64_t at = 0; at < s->size; at += ent) {
    unsigned char *info = to + at + (o->is64 ? 8 : 4);
    uint64_t v = rd(info, o->is64 ? 8 : 4);
    uint64_t sym = o->is64 ? v >> 32 : v >> 8, type = o->is64 ? v & 0xffffffffu : v & 0xff;
    if (sym >= o->nsym) return fail(m, "relocations %s name symbol %llu of %u", s->name,
                                    (unsigned long long)sym, o->nsym);
    uint64_t out = sym ? o->sym[sym].out : 0;
    wr(info, o->is64 ? out << 32 | type : out << 8 | type, o->is64 ? 8 : 4);
  }
  return true;
}

/* The header of output section s (from object o), its link and info
 * renumbered. */
static bool head_of(Merge *m, const Obj *o, const Sec *s, unsigned symtab_out, Head *h) {
  *h = (Head){.type = s->type, .flags = s->flags, .size = s->size,
              .addralign = s->addralign, .entsize = s->entsize};
  if (is_rel(s)) {
    if (s->link != o->symtab || s->info == 0 || s->info >= o->nsec || !o->sec[s->info].out)
      return fail(m, "relocations %s apply to no joined section", s->name);
    h->link = symtab_out;
    h->info = o->sec[s->info].out;
    return true;
  }
  bool exidx = o->machine == EM_ARM && s->type == SHT_ARM_EXIDX;
  if ((s->flags & SHF_LINK_ORDER) || exidx) {
    if (s->link == 0 || s->link >= o->nsec || !o->sec[s->link].out)
      return fail(m, "section %s is linked to no joined section", s->name);
    h->link = o->sec[s->link].out;
  } else if (s->link) {
    return fail(m, "section %s links to section %u: not understood", s->name, s->link);
  }
  if (!s->info) return true;
  if (!(s->flags & SHF_INFO_LINK) || s->info >= o->nsec || !o->sec[s->info].out)
    return fail(m, "section %s has info %u: not understood", s->name, s->info);
  h->info = o->sec[s->info].out;
  return true;
}

static void put_head(Buf *b, const Head *h, bool is64) {
  unsigned char *e = grow(b, is64 ? 64 : 40);
  if (!e) return;
  int w = is64 ? 8 : 4;
  wr(e, h->name, 4), wr(e + 4, h->type, 4), wr(e + 8, h->flags, w);
  wr(e + 8 + 2 * w, h->offset, w), wr(e + 8 + 3 * w, h->size, w);
  wr(e + 8 + 4 * w, h->link, 4), wr(e + 12 + 4 * w, h->info, 4);
  wr(e + 16 + 4 * w, h->addralign, w), wr(e + 16 + 5 * w, h->entsize, w);
}

static bool join(Merge *m, Obj *o[2], Buf *file) {
  bool is64 = o[0]->is64;
  const unsigned char *a = o[0]->p, *b = o[1]->p;
  unsigned ehsize = is64 ? 64 : 52;
  /* the same machine, flags (ABI) and identification */
  if (o[1]->is64 != is64 || memcmp(a, b, 16) != 0 || rd(a + 18, 2) != rd(b + 18, 2) ||
      rd(a + (is64 ? 0x30 : 0x24), 4) != rd(b + (is64 ? 0x30 : 0x24), 4))
    return fail(m, "the objects are for different machines or ABIs");
  unsigned machine = (unsigned)rd(a + 18, 2), nsec = 0, ng = 0, first_global = 0;
  Global *g = NULL;
  if (!number_sections(m, o, machine, &nsec) || !resolve_globals(m, o, &g, &ng)) return false;
  unsigned symtab_out = nsec, strtab_out = nsec + 1, total = nsec + 2;
  Buf symtab = {0}, strtab = {0};
  Head *head = calloc(total, sizeof *head);
  bool ok = head && (add_string(&strtab, ""), true) &&
            write_symbols(m, o, g, ng, &symtab, &strtab, &first_global);
  grow(file, ehsize);
  for (int k = 0; ok && k < 2; k++)
    for (unsigned i = 1; ok && i < o[k]->nsec; i++) {
      const Sec *s = &o[k]->sec[i];
      if (!s->out || s->copy) continue;
      Head *h = &head[s->out];
      ok = head_of(m, o[k], s, symtab_out, h);
      h->name = add_string(&strtab, s->name);
      if (!ok || s->type == SHT_NOBITS) continue;
      align_to(file, s->addralign);
      h->offset = file->len;
      unsigned char *to = grow(file, (size_t)s->size);
      if (!to) break;
      if (is_rel(s)) ok = copy_relocations(m, o[k], s, to);
      else memcpy(to, s->data, (size_t)s->size);
    }
  if (ok) {
    head[symtab_out] = (Head){.name = add_string(&strtab, ".symtab"), .type = SHT_SYMTAB,
                              .link = strtab_out, .info = first_global, .size = symtab.len,
                              .addralign = is64 ? 8 : 4, .entsize = is64 ? 24 : 16};
    head[strtab_out] = (Head){.name = add_string(&strtab, ".strtab"), .type = SHT_STRTAB,
                              .size = strtab.len, .addralign = 1};
    align_to(file, is64 ? 8 : 4);
    head[symtab_out].offset = file->len;
    unsigned char *to = grow(file, symtab.len);
    if (to && symtab.len) memcpy(to, symtab.p, symtab.len);
    head[strtab_out].offset = file->len;
    head[strtab_out].size = strtab.len;
    to = grow(file, strtab.len);
    if (to && strtab.len) memcpy(to, strtab.p, strtab.len);
    align_to(file, is64 ? 8 : 4);
    uint64_t shoff = file->len;
    for (unsigned i = 0; i < total; i++) put_head(file, &head[i], is64);
    if (file->p && !file->oom) {
      memcpy(file->p, a, ehsize); /* the first object's header, renumbered */
      unsigned char *p = file->p;
      if (is64) {
        wr(p + 0x20, 0, 8), wr(p + 0x28, shoff, 8), wr(p + 0x36, 0, 2), wr(p + 0x38, 0, 2);
        wr(p + 0x3C, total, 2), wr(p + 0x3E, strtab_out, 2);
      } else {
        wr(p + 0x1C, 0, 4), wr(p + 0x20, shoff, 4), wr(p + 0x2A, 0, 2), wr(p + 0x2C, 0, 2);
        wr(p + 0x30, total, 2), wr(p + 0x32, strtab_out, 2);
      }
    }
    if (total >= SHN_LORESERVE) ok = fail(m, "too many sections (%u)", total);
  }
  if (symtab.oom || strtab.oom || file->oom || (!head && !m->failed)) ok = fail(m, "out of memory");
  free(symtab.p);
  free(strtab.p);
  free(head);
  free(g);
  return ok;
}

bool elf_merge(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen,
               unsigned char **out, size_t *len, char *why, size_t whylen) {
  Merge m = {why, whylen, false};
  Obj oa = {0}, ob = {0};
  Obj *o[2] = {&oa, &ob};
  Buf file = {0};
  bool ok = read_object(&m, &oa, a, alen, "first") && read_object(&m, &ob, b, blen, "second") &&
            join(&m, o, &file);
  free_object(&oa);
  free_object(&ob);
  if (!ok) {
    free(file.p);
    file.p = NULL, file.len = 0;
  }
  *out = file.p;
  *len = file.len;
  return ok;
}
