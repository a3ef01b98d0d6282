/*
 * The UDP socket's endpoint table (udp.c): peer address <-> small integer id, shared by both
 * directions so the hot path never parses or formats an address. Bounded, and fed by whoever
 * sends us a datagram, so it is built to resist a sender choosing its source addresses (an
 * IPv6 /64 gives plenty): SipHash under a per-table random key, linear probing cut off at
 * ENDPOINT_MAX_PROBES. An insert that would probe further is refused like one into a full
 * table, and the caller clears the table (the ids are then renumbered; see udp.c).
 */
#ifndef HACLOUD_ENDPOINTS_H
#define HACLOUD_ENDPOINTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Endpoints the table holds (ids 0..ENDPOINT_CAP-1) before it must be cleared. */
#define ENDPOINT_CAP 4096u
/* Hash buckets: a power of two, four times the capacity. Linear probing clusters: at half
   load the longest chain of a full table often passes 32 (20 000 random fills: longest 54,
   1% over 32); at a quarter load it stays short (longest 19, halving per extra step). */
#define ENDPOINT_BUCKETS 16384u
/* Longest probe chain: with random hashing a full table reaches it with odds of roughly 1e-9,
   so in practice only a sender who beats the keyed hash does; it then costs a reset. */
#define ENDPOINT_MAX_PROBES 32u
/* Bytes per endpoint in the JS-visible address table: a 16-byte IPv6 (or v4-mapped)
   address and the port, big-endian. */
#define ADDR_BYTES 18u
#define NO_ENDPOINT 0xffffffffu

typedef struct {
  uint8_t key[ADDR_BYTES]; /* the address as in the JS table */
  struct sockaddr_storage sa;
  socklen_t sa_len;
} endpoint_t;

typedef struct {
  endpoint_t *endpoints;
  uint32_t *buckets; /* id + 1, 0 = empty */
  uint32_t n;
  uint32_t last_id; /* a one-entry cache: datagrams come in runs from one sender */
  uint64_t hash_key[2];
  uint8_t *addrs; /* the JS table of addresses, addrs_bytes long */
  size_t addrs_bytes;
  bool full; /* an insert was refused since the last reset */
  double resets, probe_limits;
} endpoint_table_t;

/* Allocate the table with a fresh random hash key, or with `key` (16 bytes; tests only) when
   not NULL; 0, or a positive errno. */
int endpoints_init(endpoint_table_t *t, uint8_t *addrs, size_t addrs_bytes, const uint8_t *key);
void endpoints_free(endpoint_table_t *t);
void endpoints_reset(endpoint_table_t *t);
/* The table key of a socket address; false for a family we do not handle. */
bool endpoint_key(const struct sockaddr_storage *sa, uint8_t key[ADDR_BYTES]);
/* The id of `key`, inserting it (with sockaddr sa) if new; NO_ENDPOINT when it cannot be
   inserted (table full, or its probe chain would be too long): then t->full is set. */
uint32_t endpoints_get(endpoint_table_t *t, const uint8_t key[ADDR_BYTES], const struct sockaddr_storage *sa,
                       socklen_t sa_len);

#endif
