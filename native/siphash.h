/* SipHash-2-4 (Aumasson & Bernstein): a keyed hash for hash tables fed by the network. */
#ifndef HACLOUD_SIPHASH_H
#define HACLOUD_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

/* The 64-bit SipHash-2-4 of in[0, len) under the 128-bit key k (k[0] = key bytes 0..7 read
   little-endian, k[1] = bytes 8..15), as in the reference implementation. */
uint64_t siphash24(const uint64_t k[2], const uint8_t *in, size_t len);

#endif
