/* test_gunzip.c: the runtime's own gzip decoder (runtime/gunzip.c) and
 * CRC-32 (runtime/crc32.c), against zlib as the reference: every block
 * type and zlib strategy, header fields, several members, the output limit,
 * every truncation and every single-bit corruption of a stream (never a
 * crash, never wrong data reported as good), and hand-made invalid
 * streams with the message each gets. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "rt.h"

/* Deterministic test data of a few kinds: compressible and not. */
static uint8_t *make_data(int kind, size_t n) {
  uint8_t *p = malloc(n ? n : 1);
  ck_assert_ptr_nonnull(p);
  uint32_t x = 2463534242u + (uint32_t)kind;
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    switch (kind) {
    case 0: p[i] = 0; break;                                         /* runs */
    case 1: p[i] = (uint8_t)x; break;                                /* noise */
    case 2: p[i] = (uint8_t)("the quick brown fox "[i % 20] + (x % 17 == 0)); break;
    default: p[i] = (uint8_t)((i % 28) * (i / 28 % 28) / 3 + (x & 3)); break; /* image-like */
    }
  }
  return p;
}

/* data as gzip by zlib (level, strategy; header fields when hdr != NULL). */
static uint8_t *zlib_gzip(const uint8_t *data, size_t n, int level, int strategy,
                          gz_header *hdr, size_t *zlen) {
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  ck_assert_int_eq(deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, strategy), Z_OK);
  if (hdr)
    ck_assert_int_eq(deflateSetHeader(&zs, hdr), Z_OK);
  size_t cap = deflateBound(&zs, n) + 64;
  uint8_t *z = malloc(cap);
  ck_assert_ptr_nonnull(z);
  zs.next_in = (Bytef *)data;
  zs.avail_in = (uInt)n;
  zs.next_out = z;
  zs.avail_out = (uInt)cap;
  ck_assert_int_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
  *zlen = cap - zs.avail_out;
  deflateEnd(&zs);
  return z;
}

static void expect_decodes_to(const uint8_t *z, size_t zlen, const uint8_t *data, size_t n,
                              const char *what) {
  GzOut o = {0};
  GzStatus st = rt_gunzip(z, zlen, SIZE_MAX, &o);
  ck_assert_msg(st == GZ_DONE, "%s: status %d (%s)", what, st, o.msg ? o.msg : "");
  ck_assert_msg(o.len == n, "%s: %zu bytes, want %zu", what, o.len, n);
  ck_assert_msg(n == 0 || memcmp(o.data, data, n) == 0, "%s: wrong bytes", what);
  free(o.data);
}

START_TEST(decodes_what_zlib_writes_at_every_level_and_strategy) {
  const size_t sizes[] = {0, 1, 2, 100, 65535, 65536, 70000, 300000};
  const int levels[] = {0, 1, 6, 9};
  const int strategies[] = {Z_DEFAULT_STRATEGY, Z_FILTERED, Z_HUFFMAN_ONLY, Z_RLE, Z_FIXED};
  for (int kind = 0; kind < 4; kind++)
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
      uint8_t *data = make_data(kind, sizes[si]);
      for (size_t li = 0; li < sizeof levels / sizeof *levels; li++)
        for (size_t ti = 0; ti < sizeof strategies / sizeof *strategies; ti++) {
          size_t zlen;
          uint8_t *z = zlib_gzip(data, sizes[si], levels[li], strategies[ti], NULL, &zlen);
          char what[96];
          snprintf(what, sizeof what, "kind %d, %zu bytes, level %d, strategy %d", kind,
                   sizes[si], levels[li], strategies[ti]);
          expect_decodes_to(z, zlen, data, sizes[si], what);
          free(z);
        }
      free(data);
    }
}
END_TEST

START_TEST(reads_header_fields_and_checks_the_header_crc) {
  uint8_t *data = make_data(2, 5000);
  uint8_t extra[] = {'A', 'B', 3, 0, 1, 2, 3};
  gz_header h;
  memset(&h, 0, sizeof h);
  h.extra = extra;
  h.extra_len = sizeof extra;
  h.name = (Bytef *)"train-images-idx3-ubyte";
  h.comment = (Bytef *)"a comment";
  h.hcrc = 1;
  size_t zlen;
  uint8_t *z = zlib_gzip(data, 5000, 6, Z_DEFAULT_STRATEGY, &h, &zlen);
  ck_assert_int_eq(z[3], 2 | 4 | 8 | 16); /* FHCRC FEXTRA FNAME FCOMMENT */
  expect_decodes_to(z, zlen, data, 5000, "with header fields");
  z[12 + sizeof extra + 3] ^= 1; /* a letter of the name: the header CRC no longer matches */
  GzOut o = {0};
  ck_assert_int_eq(rt_gunzip(z, zlen, SIZE_MAX, &o), GZ_CORRUPT);
  ck_assert_str_eq(o.msg, "header crc mismatch");
  free(o.data);
  free(z);
  free(data);
}
END_TEST

START_TEST(concatenated_members_decode_one_after_the_other) {
  uint8_t *a = make_data(3, 40000), *b = make_data(1, 3000);
  size_t alen, blen;
  uint8_t *za = zlib_gzip(a, 40000, 9, Z_DEFAULT_STRATEGY, NULL, &alen);
  uint8_t *zb = zlib_gzip(b, 3000, 1, Z_DEFAULT_STRATEGY, NULL, &blen);
  uint8_t *z = malloc(alen + blen + 1), *ab = malloc(43000);
  ck_assert(z && ab);
  memcpy(z, za, alen);
  memcpy(z + alen, zb, blen);
  memcpy(ab, a, 40000);
  memcpy(ab + 40000, b, 3000);
  expect_decodes_to(z, alen + blen, ab, 43000, "two members");
  z[alen + blen] = 0; /* one byte that is not a member */
  GzOut o = {0};
  ck_assert_int_eq(rt_gunzip(z, alen + blen + 1, SIZE_MAX, &o), GZ_CORRUPT);
  ck_assert_str_eq(o.msg, "not a gzip stream");
  free(o.data);
  z[alen] = 'x'; /* the second member's magic */
  o = (GzOut){0};
  ck_assert_int_eq(rt_gunzip(z, alen + blen, SIZE_MAX, &o), GZ_CORRUPT);
  ck_assert_str_eq(o.msg, "not a gzip stream");
  free(o.data);
  free(z), free(ab), free(za), free(zb), free(a), free(b);
}
END_TEST

START_TEST(stops_at_the_limit_with_exactly_limit_bytes) {
  const int levels[] = {0, 6};
  for (size_t li = 0; li < 2; li++) {
    uint8_t *data = make_data(3, 100000);
    size_t zlen;
    uint8_t *z = zlib_gzip(data, 100000, levels[li], Z_DEFAULT_STRATEGY, NULL, &zlen);
    const size_t limits[] = {0, 1, 20, 4096, 65536, 99999, 100000, 100001};
    for (size_t k = 0; k < sizeof limits / sizeof *limits; k++) {
      GzOut o = {0};
      GzStatus st = rt_gunzip(z, zlen, limits[k], &o);
      size_t want = limits[k] < 100000 ? limits[k] : 100000;
      ck_assert_int_eq(st, limits[k] < 100000 ? GZ_FULL : GZ_DONE);
      ck_assert_uint_eq(o.len, want);
      ck_assert(want == 0 || memcmp(o.data, data, want) == 0);
      free(o.data);
    }
    free(z);
    free(data);
  }
}
END_TEST

START_TEST(every_truncation_is_truncated_with_a_prefix_of_the_data) {
  const int levels[] = {0, 6};
  for (size_t li = 0; li < 2; li++) {
    uint8_t *data = make_data(2, 3000);
    size_t zlen;
    uint8_t *z = zlib_gzip(data, 3000, levels[li], Z_DEFAULT_STRATEGY, NULL, &zlen);
    for (size_t cut = 0; cut < zlen; cut++) {
      GzOut o = {0};
      GzStatus st = rt_gunzip(z, cut, SIZE_MAX, &o);
      ck_assert_msg(st == GZ_TRUNCATED, "cut at %zu of %zu: status %d", cut, zlen, st);
      ck_assert(o.len <= 3000 && (o.len == 0 || memcmp(o.data, data, o.len) == 0));
      free(o.data);
    }
    free(z);
    free(data);
  }
}
END_TEST

/* Each single-bit corruption: no crash (the ASan build runs this too), and
 * whatever decodes as good is the original. */
START_TEST(no_single_bit_flip_gives_wrong_data_as_good) {
  uint8_t *data = make_data(3, 4000);
  size_t zlen;
  uint8_t *z = zlib_gzip(data, 4000, 9, Z_DEFAULT_STRATEGY, NULL, &zlen);
  int corrupt = 0;
  for (size_t bit = 0; bit < 8 * zlen; bit++) {
    z[bit / 8] ^= (uint8_t)(1u << bit % 8);
    GzOut o = {0};
    GzStatus st = rt_gunzip(z, zlen, SIZE_MAX, &o);
    if (st == GZ_DONE)
      ck_assert_msg(o.len == 4000 && memcmp(o.data, data, 4000) == 0, "bit %zu", bit);
    else
      corrupt++;
    free(o.data);
    z[bit / 8] ^= (uint8_t)(1u << bit % 8);
  }
  /* Flips in mtime, extra flags and OS (bytes 4-9) are harmless, and so
   * are those in the padding bits after the last block. */
  ck_assert_int_ge(corrupt, (int)(8 * zlen) - 48 - 7);
  free(z);
  free(data);
}
END_TEST

/* Bits into a buffer, LSB first as DEFLATE packs them. */
typedef struct {
  uint8_t buf[64];
  size_t nbits;
} Bits;

static void bits_put(Bits *b, uint32_t v, int n) {
  for (int i = 0; i < n; i++, b->nbits++)
    if (v >> i & 1)
      b->buf[b->nbits / 8] |= (uint8_t)(1u << b->nbits % 8);
}

/* Huffman codes go in from their most significant bit. */
static void bits_code(Bits *b, uint32_t code, int len) {
  for (int i = len - 1; i >= 0; i--)
    bits_put(b, code >> i & 1, 1);
}

static const char *corrupt_message(Bits *b) {
  static uint8_t z[128];
  static const uint8_t head[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
  memcpy(z, head, 10);
  size_t n = (b->nbits + 7) / 8;
  memcpy(z + 10, b->buf, n);
  memset(z + 10 + n, 0, 8); /* a trailer: it is never reached */
  GzOut o = {0};
  GzStatus st = rt_gunzip(z, 10 + n + 8, SIZE_MAX, &o);
  free(o.data);
  ck_assert_int_eq(st, GZ_CORRUPT);
  return o.msg;
}

START_TEST(hand_made_invalid_streams_say_why) {
  Bits b = {0};
  bits_put(&b, 1, 1), bits_put(&b, 3, 2); /* final, type 3 */
  ck_assert_str_eq(corrupt_message(&b), "invalid block type");
  b = (Bits){0};
  bits_put(&b, 1, 1), bits_put(&b, 0, 2), bits_put(&b, 0, 5); /* stored, aligned */
  bits_put(&b, 5, 16), bits_put(&b, 5, 16);                   /* NLEN is not ~LEN */
  ck_assert_str_eq(corrupt_message(&b), "invalid stored block lengths");
  b = (Bits){0};
  bits_put(&b, 1, 1), bits_put(&b, 1, 2); /* fixed codes */
  bits_code(&b, 1, 7);                    /* length 3 (symbol 257) */
  bits_code(&b, 0, 5);                    /* distance 1, with nothing written yet */
  ck_assert_str_eq(corrupt_message(&b), "invalid distance too far back");
  b = (Bits){0};
  bits_put(&b, 1, 1), bits_put(&b, 1, 2);
  bits_code(&b, 0xc6, 8); /* symbol 286: not a length */
  ck_assert_str_eq(corrupt_message(&b), "invalid literal/length code");
  b = (Bits){0};
  bits_put(&b, 1, 1), bits_put(&b, 1, 2);
  bits_code(&b, 0x30 + 'a', 8); /* a literal, then a match with distance symbol 30 */
  bits_code(&b, 1, 7), bits_code(&b, 30, 5);
  ck_assert_str_eq(corrupt_message(&b), "invalid distance code");
  b = (Bits){0};
  bits_put(&b, 1, 1), bits_put(&b, 2, 2);             /* dynamic */
  bits_put(&b, 30, 5), bits_put(&b, 0, 5), bits_put(&b, 0, 4); /* 287 literal/lengths */
  ck_assert_str_eq(corrupt_message(&b), "too many length or distance symbols");
  b = (Bits){0};
  bits_put(&b, 1, 1), bits_put(&b, 2, 2);
  bits_put(&b, 0, 5), bits_put(&b, 0, 5), bits_put(&b, 0, 4);
  for (int i = 0; i < 4; i++) bits_put(&b, 1, 3); /* four 1-bit code-length codes */
  ck_assert_str_eq(corrupt_message(&b), "invalid code lengths set");
}
END_TEST

START_TEST(crc32_is_zlibs) {
  uint8_t *data = make_data(1, 10000);
  ck_assert_uint_eq(rt_crc32(0, data, 0), crc32(0, Z_NULL, 0));
  ck_assert_uint_eq(rt_crc32(0, "123456789", 9), 0xcbf43926u); /* the check value */
  for (size_t n = 1; n <= 10000; n = n * 3 + 1) {
    uint32_t whole = rt_crc32(0, data, n);
    ck_assert_uint_eq(whole, crc32(0, data, (uInt)n));
    ck_assert_uint_eq(rt_crc32(rt_crc32(0, data, n / 2), data + n / 2, n - n / 2), whole);
  }
  free(data);
}
END_TEST

int main(void) {
  Suite *s = suite_create("gunzip");
  TCase *tc = tcase_create("gunzip");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, decodes_what_zlib_writes_at_every_level_and_strategy);
  tcase_add_test(tc, reads_header_fields_and_checks_the_header_crc);
  tcase_add_test(tc, concatenated_members_decode_one_after_the_other);
  tcase_add_test(tc, stops_at_the_limit_with_exactly_limit_bytes);
  tcase_add_test(tc, every_truncation_is_truncated_with_a_prefix_of_the_data);
  tcase_add_test(tc, no_single_bit_flip_gives_wrong_data_as_good);
  tcase_add_test(tc, hand_made_invalid_streams_say_why);
  tcase_add_test(tc, crc32_is_zlibs);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
