/* crc32.c: the CRC-32 of gzip and of our checkpoints (ISO-HDLC: reflected
 * polynomial 0xEDB88320, initial and final value 0xFFFFFFFF), the same
 * number zlib's crc32() gives. Four bits at a time from a 16-entry table
 * (small enough for a microcontroller's runtime); a long buffer, a whole
 * dataset, goes a byte at a time through a 256-entry table built on the
 * stack from it. */
#include "rt.h"

static const uint32_t nibble_table[16] = {
    0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4,
    0x4db26158, 0x5005713c, 0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
    0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
};

uint32_t rt_crc32(uint32_t crc, const void *data, size_t len) {
  const uint8_t *p = data;
  crc = ~crc;
  if (len >= 4096) { /* long enough to pay for a byte-wide table, built from the 16 */
    uint32_t table[256];
    for (uint32_t i = 0; i < 256; i++) {
      uint32_t c = (i >> 4) ^ nibble_table[i & 15];
      table[i] = (c >> 4) ^ nibble_table[c & 15];
    }
    for (size_t i = 0; i < len; i++) crc = (crc >> 8) ^ table[(crc ^ p[i]) & 255];
    return ~crc;
  }
  for (size_t i = 0; i < len; i++) {
    crc ^= p[i];
    crc = (crc >> 4) ^ nibble_table[crc & 15];
    crc = (crc >> 4) ^ nibble_table[crc & 15];
  }
  return ~crc;
}
