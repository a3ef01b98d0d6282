/* The endpoint table of the UDP socket; see endpoints.h. */
#include "endpoints.h"
#include "siphash.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

_Static_assert((ENDPOINT_BUCKETS & (ENDPOINT_BUCKETS - 1)) == 0, "buckets: a power of two");
_Static_assert(ENDPOINT_BUCKETS >= 4 * ENDPOINT_CAP, "buckets: at most a quarter full");

static int random_key(uint64_t key[2]) {
  uint8_t *p = (uint8_t *)key;
  size_t got = 0;
  while (got < 2 * sizeof key[0]) {
    ssize_t n = getrandom(p + got, 2 * sizeof key[0] - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    got += (size_t)n;
  }
  return 0;
}

/* The key as SipHash's reference code reads its 16 bytes: two little-endian words. */
static void set_key(uint64_t out[2], const uint8_t key[16]) {
  out[0] = out[1] = 0;
  for (int i = 7; i >= 0; i--) {
    out[0] = out[0] << 8 | key[i];
    out[1] = out[1] << 8 | key[8 + i];
  }
}

int endpoints_init(endpoint_table_t *t, uint8_t *addrs, size_t addrs_bytes, const uint8_t *key) {
  memset(t, 0, sizeof *t);
  if (addrs_bytes < (size_t)ENDPOINT_CAP * ADDR_BYTES) return EINVAL;
  int err = key ? 0 : random_key(t->hash_key);
  if (err) return err;
  if (key) set_key(t->hash_key, key);
  t->endpoints = calloc(ENDPOINT_CAP, sizeof *t->endpoints);
  t->buckets = calloc(ENDPOINT_BUCKETS, sizeof *t->buckets);
  if (!t->endpoints || !t->buckets) {
    endpoints_free(t);
    return ENOMEM;
  }
  t->addrs = addrs;
  t->addrs_bytes = addrs_bytes;
  t->last_id = NO_ENDPOINT;
  return 0;
}

void endpoints_free(endpoint_table_t *t) {
  free(t->endpoints);
  free(t->buckets);
  t->endpoints = NULL;
  t->buckets = NULL;
}

void endpoints_reset(endpoint_table_t *t) {
  t->n = 0;
  t->last_id = NO_ENDPOINT;
  t->full = false;
  t->resets++;
  memset(t->buckets, 0, ENDPOINT_BUCKETS * sizeof *t->buckets);
}

bool endpoint_key(const struct sockaddr_storage *sa, uint8_t key[ADDR_BYTES]) {
  if (sa->ss_family == AF_INET6) {
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
    memcpy(key, &s6->sin6_addr, 16);
    memcpy(key + 16, &s6->sin6_port, 2);
    return true;
  }
  if (sa->ss_family == AF_INET) {
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
    memset(key, 0, 10);
    key[10] = key[11] = 0xff;
    memcpy(key + 12, &s4->sin_addr, 4);
    memcpy(key + 16, &s4->sin_port, 2);
    return true;
  }
  return false;
}

uint32_t endpoints_get(endpoint_table_t *t, const uint8_t key[ADDR_BYTES], const struct sockaddr_storage *sa,
                       socklen_t sa_len) {
  if (t->last_id != NO_ENDPOINT && memcmp(t->endpoints[t->last_id].key, key, ADDR_BYTES) == 0) return t->last_id;
  uint32_t b = (uint32_t)siphash24(t->hash_key, key, ADDR_BYTES) & (ENDPOINT_BUCKETS - 1);
  /* inserts never place a key further than the bound, so lookups stop there too */
  for (uint32_t probes = 0; probes < ENDPOINT_MAX_PROBES; probes++, b = (b + 1) & (ENDPOINT_BUCKETS - 1)) {
    uint32_t v = t->buckets[b];
    if (v != 0) {
      if (memcmp(t->endpoints[v - 1].key, key, ADDR_BYTES) == 0) return t->last_id = v - 1;
      continue;
    }
    uint32_t id = t->n;
    if (id >= ENDPOINT_CAP || (size_t)(id + 1) * ADDR_BYTES > t->addrs_bytes) break;
    if (sa_len > sizeof t->endpoints[id].sa) sa_len = sizeof t->endpoints[id].sa;
    endpoint_t *e = &t->endpoints[id];
    memcpy(e->key, key, ADDR_BYTES);
    memset(&e->sa, 0, sizeof e->sa);
    memcpy(&e->sa, sa, sa_len);
    e->sa_len = sa_len;
    memcpy(t->addrs + (size_t)id * ADDR_BYTES, key, ADDR_BYTES);
    t->buckets[b] = id + 1;
    t->n++;
    return t->last_id = id;
  }
  if (t->n < ENDPOINT_CAP) t->probe_limits++; /* room left, but the chain is too long */
  t->full = true;
  return NO_ENDPOINT;
}
