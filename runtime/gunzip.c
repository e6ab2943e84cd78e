/* gunzip.c: gzip files (RFC 1952) and the DEFLATE streams they hold
 * (RFC 1951), decoded from memory into a buffer that grows up to a limit
 * the caller sets. The trainer reads its datasets with it (Debian ships
 * them as .gz), so the runtime needs only a C library and builds for any
 * target the way the trainer does.
 *
 * Every input is hostile: each Huffman code is checked against the
 * code-length rules (none over-subscribed; only a single one-bit code may
 * be incomplete, as zlib allows), each distance against the output of its
 * own member, each member's CRC-32 and length against its trailer, and no
 * byte is written past the limit, so a small file cannot make us allocate
 * more than the caller allowed.
 *
 * Huffman codes decode through a 2^FAST_BITS table indexed by the next
 * input bits; the rare longer code is decoded one bit at a time from the
 * canonical code's counts (the method of zlib's puff.c). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "rt.h"

enum {
  MAX_BITS = 15,      /* the longest code DEFLATE allows */
  FAST_BITS = 11,     /* codes this short decode in one table lookup */
  MAX_LIT_CODES = 288,
  MAX_DIST_CODES = 30,
  SYM_BITS = 9,       /* a table entry is (length << SYM_BITS) | symbol */
};

typedef struct {
  uint16_t count[MAX_BITS + 1];     /* codes of each length; count[0]: unused symbols */
  uint16_t symbol[MAX_LIT_CODES];   /* symbols ordered by code */
  uint16_t fast[1u << FAST_BITS];   /* by the next FAST_BITS bits; 0: a longer code */
} Huffman;

typedef struct {
  const uint8_t *in;
  size_t n, pos;      /* the input and the next byte to load into bits */
  uint64_t bits;      /* loaded bits not used yet, the next one lowest */
  int nbits;
  uint8_t *out;
  size_t len, cap, limit; /* bytes written, allocated, allowed */
  size_t member;      /* where the current member's output starts */
  GzStatus status;    /* GZ_DONE while nothing went wrong */
  const char *msg;    /* why, for GZ_CORRUPT */
} Gz;

static void fail(Gz *g, GzStatus status, const char *msg) {
  if (g->status != GZ_DONE) return; /* the first problem is the one to report */
  g->status = status;
  g->msg = msg;
}

/* --- bits: LSB first, as DEFLATE packs them --- */

static void refill(Gz *g) {
  while (g->nbits <= 56 && g->pos < g->n) {
    g->bits |= (uint64_t)g->in[g->pos++] << g->nbits;
    g->nbits += 8;
  }
}

/* The next k (<= 32) bits; 0 and GZ_TRUNCATED when the input ends first. */
static uint32_t getbits(Gz *g, int k) {
  if (g->nbits < k) {
    refill(g);
    if (g->nbits < k) {
      fail(g, GZ_TRUNCATED, NULL);
      return 0;
    }
  }
  uint32_t v = (uint32_t)(g->bits & ((UINT64_C(1) << k) - 1));
  g->bits >>= k;
  g->nbits -= k;
  return v;
}

static void align_to_byte(Gz *g) {
  int drop = g->nbits & 7;
  g->bits >>= drop;
  g->nbits -= drop;
}

/* Input bytes not consumed yet, whole bytes only (after align_to_byte). */
static size_t bytes_left(const Gz *g) { return (g->n - g->pos) + (size_t)(g->nbits / 8); }

/* --- output --- */

/* Room for k more bytes: false (GZ_FULL, or GZ_NOMEM) when the limit or
 * memory forbids. The buffer doubles, from 64 KiB, up to the limit. */
static bool reserve(Gz *g, size_t k) {
  if (g->cap - g->len >= k) return true;
  if (g->limit - g->len < k) {
    fail(g, GZ_FULL, NULL);
    return false;
  }
  size_t want = g->len + k, cap = g->cap < 65536 ? 65536 : g->cap;
  while (cap < want && cap <= SIZE_MAX / 2) cap *= 2;
  if (cap < want || cap > g->limit) cap = g->limit;
  uint8_t *p = realloc(g->out, cap);
  if (!p) {
    fail(g, GZ_NOMEM, NULL);
    return false;
  }
  g->out = p;
  g->cap = cap;
  return true;
}

static bool put(Gz *g, uint8_t byte) {
  if (g->len == g->cap && !reserve(g, 1)) return false;
  g->out[g->len++] = byte;
  return true;
}

/* --- Huffman codes --- */

static unsigned reverse_bits(unsigned code, int len) {
  unsigned r = 0;
  for (int i = 0; i < len; i++, code >>= 1) r = r << 1 | (code & 1);
  return r;
}

/* Builds the canonical code of length[0..n). Returns how many codes of
 * the longest length are left unused (0: a complete code), or -1 when
 * the lengths over-subscribe. A code with no symbols at all counts as
 * complete: a block may have no distances, and decoding one then fails. */
static int huffman_build(Huffman *h, const uint8_t *length, int n) {
  memset(h->count, 0, sizeof h->count);
  for (int s = 0; s < n; s++) h->count[length[s]]++;
  memset(h->fast, 0, sizeof h->fast);
  if (h->count[0] == n) return 0;
  int left = 1;
  for (int len = 1; len <= MAX_BITS; len++) {
    left = 2 * left - h->count[len];
    if (left < 0) return -1;
  }
  uint16_t offset[MAX_BITS + 2];
  offset[1] = 0;
  for (int len = 1; len <= MAX_BITS; len++) offset[len + 1] = offset[len] + h->count[len];
  for (int s = 0; s < n; s++)
    if (length[s]) h->symbol[offset[length[s]]++] = (uint16_t)s;
  /* Canonical codes count up within a length and double to the next. */
  unsigned code = 0;
  int k = 0;
  for (int len = 1; len <= FAST_BITS; len++, code <<= 1)
    for (int i = 0; i < h->count[len]; i++, k++, code++) {
      unsigned entry = (unsigned)len << SYM_BITS | h->symbol[k];
      for (unsigned j = reverse_bits(code, len); j < (1u << FAST_BITS); j += 1u << len)
        h->fast[j] = (uint16_t)entry;
    }
  return left;
}

/* An incomplete code is allowed only when it is one code of one bit. */
static bool huffman_usable(const Huffman *h, int n, int left) {
  return left == 0 || (left > 0 && n - h->count[0] == 1 && h->count[1] == 1);
}

/* The next symbol, or -1 (the input ends, or no code matches). */
static inline int huffman_decode(Gz *g, const Huffman *h) {
  if (g->nbits < MAX_BITS) refill(g);
  unsigned entry = h->fast[g->bits & ((1u << FAST_BITS) - 1)];
  if (entry) {
    int len = (int)(entry >> SYM_BITS);
    if (len > g->nbits) { /* the table read zeros past the end of the input */
      fail(g, GZ_TRUNCATED, NULL);
      return -1;
    }
    g->bits >>= len;
    g->nbits -= len;
    return (int)(entry & ((1u << SYM_BITS) - 1));
  }
  int code = 0, first = 0, index = 0; /* this length's first code and symbol */
  for (int len = 1; len <= MAX_BITS; len++) {
    if (g->nbits == 0) {
      fail(g, GZ_TRUNCATED, NULL);
      return -1;
    }
    code |= (int)(g->bits & 1);
    g->bits >>= 1;
    g->nbits--;
    int count = h->count[len];
    if (code - first < count) return h->symbol[index + code - first];
    index += count;
    first = (first + count) << 1;
    code <<= 1;
  }
  fail(g, GZ_CORRUPT, "invalid code");
  return -1;
}

/* --- blocks --- */

static const uint16_t length_base[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,
                                         15, 17, 19, 23, 27, 31, 35, 43, 51,  59,
                                         67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t length_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                         2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint16_t dist_base[30] = {1,    2,    3,    4,    5,    7,     9,     13,
                                       17,   25,   33,   49,   65,   97,    129,   193,
                                       257,  385,  513,  769,  1025, 1537,  2049,  3073,
                                       4097, 6145, 8193, 12289, 16385, 24577};
static const uint8_t dist_extra[30] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6,
                                       6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

static void inflate_stored(Gz *g) {
  align_to_byte(g);
  uint32_t len = getbits(g, 16), nlen = getbits(g, 16);
  if (g->status != GZ_DONE) return;
  if (len != (~nlen & 0xffff)) { fail(g, GZ_CORRUPT, "invalid stored block lengths"); return; }
  for (; len > 0 && g->nbits >= 8; len--) /* bytes already loaded into bits */
    if (!put(g, (uint8_t)getbits(g, 8))) return;
  for (; len > 0; len--) {
    if (g->pos == g->n) {
      fail(g, GZ_TRUNCATED, NULL);
      return;
    }
    if (!put(g, g->in[g->pos++])) return;
  }
}

static void inflate_codes(Gz *g, const Huffman *lit, const Huffman *dist) {
  for (;;) {
    int sym = huffman_decode(g, lit);
    if (sym < 0) return;
    if (sym < 256) {
      if (g->len < g->cap)
        g->out[g->len++] = (uint8_t)sym;
      else if (!put(g, (uint8_t)sym))
        return;
      continue;
    }
    if (sym == 256) return; /* end of block */
    sym -= 257;
    if (sym >= 29) { fail(g, GZ_CORRUPT, "invalid literal/length code"); return; }
    size_t len = length_base[sym] + getbits(g, length_extra[sym]);
    int dsym = huffman_decode(g, dist);
    if (dsym < 0) return;
    if (dsym >= 30) { fail(g, GZ_CORRUPT, "invalid distance code"); return; }
    size_t d = dist_base[dsym] + getbits(g, dist_extra[dsym]);
    if (g->status != GZ_DONE) return;
    if (d > g->len - g->member) { fail(g, GZ_CORRUPT, "invalid distance too far back"); return; }
    if (g->cap - g->len >= len) { /* the common case: no check per byte */
      for (size_t i = 0; i < len; i++, g->len++) g->out[g->len] = g->out[g->len - d];
      continue;
    }
    for (; len > 0; len--)
      if (!put(g, g->out[g->len - d])) return;
  }
}

static void fixed_codes(Huffman *lit, Huffman *dist) {
  uint8_t length[MAX_LIT_CODES];
  for (int s = 0; s < MAX_LIT_CODES; s++)
    length[s] = s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8;
  huffman_build(lit, length, MAX_LIT_CODES);
  /* All 32 five-bit codes, so that the two invalid ones (30, 31) decode
   * and are refused as distances, as zlib does. */
  memset(length, 5, 32);
  huffman_build(dist, length, 32);
}

static void dynamic_codes(Gz *g, Huffman *lit, Huffman *dist) {
  static const uint8_t order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5,
                                    11, 4, 12, 3, 13, 2, 14, 1, 15};
  uint8_t length[MAX_LIT_CODES + MAX_DIST_CODES];
  int nlit = (int)getbits(g, 5) + 257, ndist = (int)getbits(g, 5) + 1;
  int ncode = (int)getbits(g, 4) + 4;
  if (g->status != GZ_DONE) return;
  if (nlit > 286 || ndist > 30)
    { fail(g, GZ_CORRUPT, "too many length or distance symbols"); return; }
  memset(length, 0, 19);
  for (int i = 0; i < ncode; i++) length[order[i]] = (uint8_t)getbits(g, 3);
  Huffman lengths_code;
  if (g->status != GZ_DONE) return;
  if (huffman_build(&lengths_code, length, 19) != 0)
    { fail(g, GZ_CORRUPT, "invalid code lengths set"); return; }
  for (int i = 0; i < nlit + ndist;) {
    int sym = huffman_decode(g, &lengths_code);
    if (sym < 0) return;
    if (sym < 16) {
      length[i++] = (uint8_t)sym;
      continue;
    }
    uint8_t value = 0;
    int repeat;
    if (sym == 16) {
      if (i == 0) { fail(g, GZ_CORRUPT, "invalid bit length repeat"); return; }
      value = length[i - 1];
      repeat = 3 + (int)getbits(g, 2);
    } else {
      repeat = sym == 17 ? 3 + (int)getbits(g, 3) : 11 + (int)getbits(g, 7);
    }
    if (g->status != GZ_DONE) return;
    if (i + repeat > nlit + ndist) { fail(g, GZ_CORRUPT, "invalid bit length repeat"); return; }
    while (repeat--) length[i++] = value;
  }
  if (length[256] == 0) { fail(g, GZ_CORRUPT, "invalid code -- missing end-of-block"); return; }
  int left = huffman_build(lit, length, nlit);
  if (left < 0 || !huffman_usable(lit, nlit, left))
    { fail(g, GZ_CORRUPT, "invalid literal/lengths set"); return; }
  left = huffman_build(dist, length + nlit, ndist);
  if (left < 0 || !huffman_usable(dist, ndist, left))
    { fail(g, GZ_CORRUPT, "invalid distances set"); return; }
}

/* --- gzip members --- */

static uint8_t header_byte(Gz *g, uint32_t *crc) {
  uint8_t b = (uint8_t)getbits(g, 8);
  *crc = rt_crc32(*crc, &b, 1);
  return b;
}

static void member(Gz *g, const Huffman *fixed_lit, const Huffman *fixed_dist) {
  enum { FHCRC = 2, FEXTRA = 4, FNAME = 8, FCOMMENT = 16, FRESERVED = 0xe0 };
  uint32_t hcrc = 0;
  /* The magic is checked byte by byte, so that one stray byte after the
   * last member is "not a gzip stream", not a truncated one. */
  if (header_byte(g, &hcrc) != 0x1f && g->status == GZ_DONE) {
    fail(g, GZ_CORRUPT, "not a gzip stream");
    return;
  }
  if (header_byte(g, &hcrc) != 0x8b && g->status == GZ_DONE) {
    fail(g, GZ_CORRUPT, "not a gzip stream");
    return;
  }
  uint8_t method = header_byte(g, &hcrc), flags = header_byte(g, &hcrc);
  for (int i = 0; i < 6; i++) header_byte(g, &hcrc); /* mtime, extra flags, OS */
  if (g->status != GZ_DONE) return;
  if (method != 8) { fail(g, GZ_CORRUPT, "unknown compression method"); return; }
  if (flags & FRESERVED) { fail(g, GZ_CORRUPT, "unknown header flags set"); return; }
  if (flags & FEXTRA) {
    unsigned xlen = header_byte(g, &hcrc);
    xlen |= (unsigned)header_byte(g, &hcrc) << 8;
    while (xlen-- && g->status == GZ_DONE) header_byte(g, &hcrc);
  }
  if (flags & FNAME)
    while (header_byte(g, &hcrc) && g->status == GZ_DONE) {}
  if (flags & FCOMMENT)
    while (header_byte(g, &hcrc) && g->status == GZ_DONE) {}
  if (flags & FHCRC && getbits(g, 16) != (hcrc & 0xffff) && g->status == GZ_DONE)
    { fail(g, GZ_CORRUPT, "header crc mismatch"); return; }
  g->member = g->len;
  Huffman lit, dist;
  for (bool last = false; !last && g->status == GZ_DONE;) {
    last = getbits(g, 1);
    switch (getbits(g, 2)) {
    case 0: inflate_stored(g); break;
    case 1: inflate_codes(g, fixed_lit, fixed_dist); break;
    case 2:
      dynamic_codes(g, &lit, &dist);
      if (g->status == GZ_DONE) inflate_codes(g, &lit, &dist);
      break;
    default: fail(g, GZ_CORRUPT, "invalid block type");
    }
  }
  align_to_byte(g);
  uint32_t crc = getbits(g, 32), size = getbits(g, 32);
  if (g->status != GZ_DONE) return;
  if (crc != rt_crc32(0, g->out + g->member, g->len - g->member))
    { fail(g, GZ_CORRUPT, "incorrect data check"); return; }
  if (size != (uint32_t)(g->len - g->member))
    { fail(g, GZ_CORRUPT, "incorrect length check"); return; }
}

GzStatus rt_gunzip(const uint8_t *in, size_t n, size_t limit, GzOut *out) {
  Gz g = {.in = in, .n = n, .limit = limit, .status = GZ_DONE};
  Huffman fixed_lit, fixed_dist;
  fixed_codes(&fixed_lit, &fixed_dist);
  do
    member(&g, &fixed_lit, &fixed_dist);
  while (g.status == GZ_DONE && bytes_left(&g) > 0); /* concatenated members, as gzip -c a b */
  out->data = g.out;
  out->len = g.len;
  out->msg = g.msg;
  return g.status;
}
