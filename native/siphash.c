/*
 * SipHash-2-4, written from the paper ("SipHash: a fast short-input PRF", 2012): keyed, so a
 * sender that picks its addresses cannot predict which of them collide in our tables.
 * Checked against the paper's vectors (empty input: 726fdb47dd0e0e31; 00..0e: a129ca6149be45e5).
 */
#include "siphash.h"

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND             \
  do {                       \
    v0 += v1;                \
    v1 = ROTL(v1, 13);       \
    v1 ^= v0;                \
    v0 = ROTL(v0, 32);       \
    v2 += v3;                \
    v3 = ROTL(v3, 16);       \
    v3 ^= v2;                \
    v0 += v3;                \
    v3 = ROTL(v3, 21);       \
    v3 ^= v0;                \
    v2 += v1;                \
    v1 = ROTL(v1, 17);       \
    v1 ^= v2;                \
    v2 = ROTL(v2, 32);       \
  } while (0)

static uint64_t le64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

uint64_t siphash24(const uint64_t k[2], const uint8_t *in, size_t len) {
  uint64_t v0 = 0x736f6d6570736575ULL ^ k[0], v1 = 0x646f72616e646f6dULL ^ k[1];
  uint64_t v2 = 0x6c7967656e657261ULL ^ k[0], v3 = 0x7465646279746573ULL ^ k[1];
  size_t whole = len - len % 8;
  for (size_t i = 0; i < whole; i += 8) {
    uint64_t m = le64(in + i);
    v3 ^= m;
    SIPROUND;
    SIPROUND;
    v0 ^= m;
  }
  uint64_t b = (uint64_t)len << 56; /* the last block: the remaining bytes and the length */
  for (size_t i = 0; i < len % 8; i++) b |= (uint64_t)in[whole + i] << (8 * i);
  v3 ^= b;
  SIPROUND;
  SIPROUND;
  v0 ^= b;
  v2 ^= 0xff;
  SIPROUND;
  SIPROUND;
  SIPROUND;
  SIPROUND;
  return v0 ^ v1 ^ v2 ^ v3;
}
