/*
 * UdpSocket: the UDP underlay with batched system calls (recvmmsg/sendmmsg) on a uv_poll_t.
 * node:dgram costs 6-8 us per received datagram and copies every send into a new Buffer; here
 * one wake-up reads up to maxBatch datagrams with a few recvmmsg calls and makes ONE JS call,
 * and sends are queued and leave in one sendmmsg per batch.
 *
 *   new UdpSocket({ family, host, port, bufferBytes, buffer, meta, addrs, slotBytes, maxBatch,
 *                   offload, onDatagrams(count, reset), onError(code, errno, message, fatal) })
 *     offload 1: use UDP GSO/GRO where the kernel has them (meta then needs 64 entries a slot).
 *     family 0 = dual-stack (AF_INET6, IPV6_V6ONLY off), 4 = IPv4 only, 6 = IPv6 only.
 *     Throws an Error with .code (EADDRINUSE, EAFNOSUPPORT...) when it cannot bind.
 *   .start() .close() .localPort()
 *   .stats() -> [sent, sendDrops, received, recvDrops, softErrors, gso (0/1), gro (0/1)]
 *   .endpoint(ip, port) -> id (+ RESET_FLAG if the endpoint table was cleared), or -1 when the
 *     address does not parse or this socket cannot reach its family
 *   .send(id, bytes) -> 1 queued, 0 dropped (unknown id / too large)
 *   .flush() -> datagrams handed to the kernel
 *
 * Endpoints: each distinct peer address gets a small integer id from a table shared by both
 * directions, so the hot path never parses or formats addresses: received datagram i carries
 * its sender's id in meta[3i+2], and JS formats the address of an id it has not seen yet from
 * addrs[id*18 ..] (16-byte IPv6 or IPv4-mapped address, 2-byte port, big-endian). The table is
 * bounded; when it is nearly full it is cleared at the start of a receive batch (reset = true)
 * or in endpoint(), and JS forgets its cached names. Queued sends keep their own copy of the
 * destination, so a reset never misdirects one.
 *
 * Received datagram i lies at buffer[meta[3i]] with length meta[3i+1]; buffer and meta are
 * overwritten on the next wake-up. meta may hold more datagrams than there are slots: with
 * UDP_GRO the kernel hands over up to 64 same-sized datagrams from one sender in one slot
 * (split here by the gso_size it reports), and flush() sends runs of same-sized datagrams to
 * one destination as one UDP_SEGMENT (GSO) message, so the kernel walks its UDP/IP/veth path
 * once per run instead of once per datagram. Both are detected at start-up and switched off
 * (GSO at the first send the kernel refuses) where unsupported. ICMP errors (POLLERR on the socket) are cleared with
 * SO_ERROR and polling continues: libuv stops a poll handle on POLLERR by itself.
 */
#include "js-poll.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define MAX_BATCH 1024u
#define SEND_BATCH 64u
#define SEND_SLOT_BYTES 65536u
#define ENDPOINT_CAP 4096u
#define HASH_BUCKETS 8192u /* power of two, 2x the capacity: short probe chains */
#define ADDR_BYTES 18u
#define RESET_FLAG 0x10000
#define NO_ENDPOINT 0xffffffffu
/* Kernel limits for one GSO/GRO message: UDP_MAX_SEGMENTS and the largest UDP payload. */
#define MAX_SEGMENTS 64u
#define MAX_GSO_BYTES 65000u
#define CMSG_BYTES 64

typedef struct {
  uint8_t key[ADDR_BYTES]; /* 16-byte IPv6 / v4-mapped address + port (network order) */
  struct sockaddr_storage sa;
  socklen_t sa_len;
} endpoint_t;

typedef struct {
  js_poll_t jp; /* first: the shared lifecycle (js-poll.h); it owns and closes the fd */
  int family; /* AF_INET or AF_INET6 of the socket */
  uint8_t *base;
  uint32_t *meta;
  uint8_t *addrs;
  uint32_t slot_bytes, max_batch, max_datagrams;
  bool reset_pending;
  bool gso, gro;
  int gso_errno;

  /* endpoint table */
  endpoint_t *endpoints;
  uint32_t n_endpoints;
  uint32_t *buckets; /* id + 1, 0 = empty */
  uint32_t last_id;

  /* receive scratch */
  struct mmsghdr *rmsg;
  struct iovec *riov;
  struct sockaddr_storage *rsa;
  uint8_t (*rctl)[CMSG_BYTES];

  /* send queue */
  uint8_t *sbuf;
  struct mmsghdr smsg[SEND_BATCH];
  struct iovec siov[SEND_BATCH];
  struct sockaddr_storage ssa[SEND_BATCH];
  uint32_t sid[SEND_BATCH]; /* endpoint id of each queued datagram */
  uint32_t squeued;
  /* GSO messages built by flush from runs of the queue */
  struct mmsghdr gmsg[SEND_BATCH];
  uint8_t gctl[SEND_BATCH][CMSG_BYTES];

  double sent, send_drops, received, recv_drops, soft_errors;
} udp_t;

/* ---- endpoint table ------------------------------------------------------------------- */

static uint32_t hash_key(const uint8_t *k) {
  uint32_t h = 2166136261u;
  for (unsigned i = 0; i < ADDR_BYTES; i++) h = (h ^ k[i]) * 16777619u;
  return h;
}

/* The table key of a socket address; false for a family we do not handle. */
static bool key_of(const struct sockaddr_storage *sa, uint8_t key[ADDR_BYTES]) {
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

static void table_reset(udp_t *u) {
  u->n_endpoints = 0;
  u->last_id = NO_ENDPOINT;
  memset(u->buckets, 0, HASH_BUCKETS * sizeof *u->buckets);
}

static uint32_t table_find(udp_t *u, const uint8_t *key, uint32_t *bucket) {
  uint32_t b = hash_key(key) & (HASH_BUCKETS - 1);
  for (;; b = (b + 1) & (HASH_BUCKETS - 1)) {
    uint32_t v = u->buckets[b];
    if (v == 0) break;
    if (memcmp(u->endpoints[v - 1].key, key, ADDR_BYTES) == 0) return v - 1;
  }
  *bucket = b;
  return NO_ENDPOINT;
}

/* Id of `key`, inserting it (with sockaddr `sa`) if new; NO_ENDPOINT if the table is full. */
static uint32_t table_get(udp_t *u, const uint8_t *key, const struct sockaddr_storage *sa, socklen_t sa_len) {
  if (u->last_id != NO_ENDPOINT && memcmp(u->endpoints[u->last_id].key, key, ADDR_BYTES) == 0) return u->last_id;
  uint32_t bucket;
  uint32_t id = table_find(u, key, &bucket);
  if (id == NO_ENDPOINT) {
    if (u->n_endpoints >= ENDPOINT_CAP) return NO_ENDPOINT;
    id = u->n_endpoints++;
    endpoint_t *e = &u->endpoints[id];
    memcpy(e->key, key, ADDR_BYTES);
    memcpy(&e->sa, sa, sa_len);
    e->sa_len = sa_len;
    memcpy(u->addrs + id * ADDR_BYTES, key, ADDR_BYTES);
    u->buckets[bucket] = id + 1;
  }
  u->last_id = id;
  return id;
}

/* ---- lifecycle ------------------------------------------------------------------------ */

static void free_all(udp_t *u) { /* also the constructor's clean-up: u may be half-built */
  free(u->endpoints);
  free(u->buckets);
  free(u->rmsg);
  free(u->riov);
  free(u->rsa);
  free(u->rctl);
  free(u->sbuf);
  free(u);
}

/* Errors a socket reports for an earlier datagram (ICMP) or a single send; the fd is fine. */
static bool is_soft_error(int err) {
  return err == ECONNREFUSED || err == EHOSTUNREACH || err == ENETUNREACH || err == EHOSTDOWN ||
         err == EMSGSIZE || err == EPERM || err == EACCES || err == EADDRNOTAVAIL || err == EINVAL ||
         err == ENOBUFS || err == EAFNOSUPPORT || err == ECONNRESET;
}

/* ---- send ----------------------------------------------------------------------------- */

/* Send msgs[0..count) with sendmmsg; returns the datagrams the kernel took (counts[k]
   datagrams in message k, or 1 each when counts is NULL). A message that fails alone
   (unreachable, too big) is dropped and the rest still go; a full socket buffer drops the rest
   (the kernel would drop them too; no spinning). When the kernel refuses a GSO message,
   *gso_stop receives its index and the function returns at once. */
static uint32_t send_messages(udp_t *u, struct mmsghdr *msgs, uint32_t count, const uint32_t *counts,
                              int *gso_stop) {
  uint32_t done = 0, sent = 0;
  while (done < count) {
    int n = sendmmsg(u->jp.fd, msgs + done, count - done, MSG_DONTWAIT);
    if (n > 0) {
      for (int k = 0; k < n; k++) sent += counts ? counts[done + k] : 1;
      done += (uint32_t)n;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      break;
    } else {
      if (gso_stop && msgs[done].msg_hdr.msg_controllen && (errno == EIO || errno == EINVAL || errno == EOPNOTSUPP)) {
        *gso_stop = (int)done; /* EIO: a device without checksum offload; EINVAL: segment > MTU */
        u->gso_errno = errno;
        return sent;
      }
      u->soft_errors++;
      done++;
    }
  }
  return sent;
}

/* Group runs of the queue (same destination, same size, the last may be shorter) into GSO
   messages; returns the number of messages built in u->gmsg. */
static uint32_t build_gso(udp_t *u) {
  uint32_t m = 0;
  for (uint32_t i = 0; i < u->squeued;) {
    size_t seg = u->siov[i].iov_len;
    uint32_t j = i + 1;
    size_t total = seg;
    while (j < u->squeued && j - i < MAX_SEGMENTS && u->sid[j] == u->sid[i] && u->siov[j].iov_len <= seg &&
           total + u->siov[j].iov_len <= MAX_GSO_BYTES) {
      total += u->siov[j].iov_len;
      bool shorter = u->siov[j].iov_len < seg;
      j++;
      if (shorter) break; /* only the last segment may be shorter */
    }
    struct msghdr *h = &u->gmsg[m].msg_hdr;
    *h = u->smsg[i].msg_hdr;
    h->msg_iov = &u->siov[i];
    h->msg_iovlen = j - i;
    h->msg_control = NULL;
    h->msg_controllen = 0;
    if (j - i > 1) {
      memset(u->gctl[m], 0, CMSG_BYTES);
      h->msg_control = u->gctl[m];
      h->msg_controllen = CMSG_SPACE(sizeof(uint16_t));
      struct cmsghdr *c = CMSG_FIRSTHDR(h);
      c->cmsg_level = SOL_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      uint16_t gso_size = (uint16_t)seg;
      memcpy(CMSG_DATA(c), &gso_size, sizeof gso_size);
    }
    u->gmsg[m].msg_len = j - i; /* remember the datagram count (the kernel overwrites it) */
    m++;
    i = j;
  }
  return m;
}

static uint32_t flush_queue(udp_t *u) {
  uint32_t queued = u->squeued, sent = 0;
  if (queued == 0) return 0;
  uint32_t m = u->gso && queued > 1 ? build_gso(u) : queued;
  if (m < queued) {
    uint32_t counts[SEND_BATCH];
    for (uint32_t k = 0; k < m; k++) counts[k] = u->gmsg[k].msg_len;
    int stop = -1;
    sent = send_messages(u, u->gmsg, m, counts, &stop);
    if (stop >= 0) { /* resend from the refused message on, one datagram each */
      /* a device that cannot do it at all: never again; a too-large segment (EINVAL, the path
         MTU shrank) is the kernel's business: it may still IP-fragment single datagrams */
      if (u->gso_errno != EINVAL) u->gso = false;
      uint32_t first = 0;
      for (int k = 0; k < stop; k++) first += counts[k];
      sent += send_messages(u, u->smsg + first, queued - first, NULL, NULL);
    }
  } else {
    sent = send_messages(u, u->smsg, queued, NULL, NULL);
  }
  u->sent += sent;
  u->send_drops += queued - sent;
  u->squeued = 0;
  return sent;
}

/* ---- receive -------------------------------------------------------------------------- */

static void clear_socket_error(udp_t *u) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(u->jp.fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err) u->soft_errors++;
}

static void on_poll(uv_poll_t *h, int status, int events) {
  udp_t *u = h->data;
  js_poll_t *jp = &u->jp;
  if (jp->closing) return;
  if (status < 0) clear_socket_error(u);
  bool reset = u->reset_pending;
  u->reset_pending = false;
  if (u->n_endpoints + u->max_batch > ENDPOINT_CAP) {
    flush_queue(u); /* queued runs are grouped by id: never mix ids of two tables */
    table_reset(u);
    reset = true;
  }

  uint32_t count = 0, slots = 0; /* datagrams kept; slots filled (a dropped one wastes its slot) */
  int fatal = 0;
  /* each slot may carry MAX_SEGMENTS datagrams with GRO: keep room for that in meta */
  uint32_t per_slot = u->gro ? MAX_SEGMENTS : 1;
  while (slots < u->max_batch && count + per_slot <= u->max_datagrams) {
    uint32_t want = u->max_batch - slots;
    if (want > (u->max_datagrams - count) / per_slot) want = (u->max_datagrams - count) / per_slot;
    for (uint32_t i = 0; i < want; i++) {
      struct msghdr *m = &u->rmsg[i].msg_hdr;
      u->riov[i].iov_base = u->base + (slots + i) * u->slot_bytes;
      u->riov[i].iov_len = u->slot_bytes;
      m->msg_iov = &u->riov[i];
      m->msg_iovlen = 1;
      m->msg_name = &u->rsa[i];
      m->msg_namelen = sizeof u->rsa[i];
      m->msg_control = u->gro ? u->rctl[i] : NULL;
      m->msg_controllen = u->gro ? CMSG_BYTES : 0;
      m->msg_flags = 0;
    }
    int n = recvmmsg(u->jp.fd, u->rmsg, want, MSG_DONTWAIT, NULL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (is_soft_error(errno)) { /* a queued ICMP error, now cleared: keep reading */
        u->soft_errors++;
        continue;
      }
      fatal = errno;
      break;
    }
    slots += (uint32_t)n;
    for (int i = 0; i < n; i++) {
      struct mmsghdr *mm = &u->rmsg[i];
      uint8_t key[ADDR_BYTES];
      if ((mm->msg_hdr.msg_flags & MSG_TRUNC) || !key_of(&u->rsa[i], key)) {
        u->recv_drops++;
        continue;
      }
      uint32_t id = table_get(u, key, &u->rsa[i], mm->msg_hdr.msg_namelen);
      if (id == NO_ENDPOINT) { /* cannot happen: the table had room for a whole batch */
        u->recv_drops++;
        continue;
      }
      /* meta is compact even when a dropped datagram left its slot unused */
      uint32_t offset = (uint32_t)((uint8_t *)mm->msg_hdr.msg_iov->iov_base - u->base);
      uint32_t seg = mm->msg_len;
      if (u->gro) {
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mm->msg_hdr); c; c = CMSG_NXTHDR(&mm->msg_hdr, c)) {
          if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
            int gso_size = 0;
            memcpy(&gso_size, CMSG_DATA(c), sizeof gso_size);
            if (gso_size > 0) seg = (uint32_t)gso_size;
          }
        }
        if (mm->msg_hdr.msg_flags & MSG_CTRUNC) seg = mm->msg_len; /* cannot happen: room for one int */
      }
      for (uint32_t at = 0; at < mm->msg_len && count < u->max_datagrams; at += seg) {
        uint32_t len = mm->msg_len - at < seg ? mm->msg_len - at : seg;
        u->meta[3 * count] = offset + at;
        u->meta[3 * count + 1] = len;
        u->meta[3 * count + 2] = id;
        count++;
      }
      if (mm->msg_len == 0) { /* an empty datagram is still a datagram */
        u->meta[3 * count] = offset;
        u->meta[3 * count + 1] = 0;
        u->meta[3 * count + 2] = id;
        count++;
      }
    }
    if ((uint32_t)n < want) break; /* drained */
  }
  u->received += count;

  napi_handle_scope scope;
  if (napi_open_handle_scope(jp->env, &scope) != napi_ok) return;
  if (count > 0 || reset) {
    napi_value argv[2];
    if (napi_create_uint32(jp->env, count, &argv[0]) == napi_ok && napi_get_boolean(jp->env, reset, &argv[1]) == napi_ok)
      js_poll_call(jp, 2, argv);
  }
  if (jp->closing) goto out;
  if (fatal) {
    js_poll_report(jp, fatal, true);
    js_poll_stop(jp);
    goto out;
  }
  if (status < 0) js_poll_resume(jp);
out:
  js_poll_leave(jp, scope);
}

static void udp_free(js_poll_t *jp) { free_all((udp_t *)jp); }

static const js_poll_class_t udp_class = {
    .name = "UdpSocket",
    .on_data = "onDatagrams",
    .callbacks_msg = "onDatagrams and onError must be functions",
    .poll_fail_msg = "cannot poll the UDP socket",
    .closed_msg = "socket is closed",
    .owns_fd = true,
    .on_poll = on_poll,
    .free = udp_free,
};

/* ---- JS methods ----------------------------------------------------------------------- */

static udp_t *unwrap(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  return (udp_t *)js_poll_unwrap(env, info, &udp_class, argc, argv);
}

static napi_value int_result(napi_env env, int32_t v) {
  napi_value r;
  NAPI_CALL(env, napi_create_int32(env, v, &r));
  return r;
}

static napi_value udp_close(napi_env env, napi_callback_info info) {
  udp_t *u = unwrap(env, info, NULL, NULL);
  if (!u || u->jp.closing) return NULL;
  flush_queue(u);
  js_poll_close(&u->jp);
  return NULL;
}

static napi_value udp_local_port(napi_env env, napi_callback_info info) {
  udp_t *u = unwrap(env, info, NULL, NULL);
  if (!u) return NULL;
  struct sockaddr_storage sa;
  socklen_t len = sizeof sa;
  if (u->jp.fd < 0 || getsockname(u->jp.fd, (struct sockaddr *)&sa, &len) < 0) return int_result(env, -1);
  uint16_t port = sa.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&sa)->sin6_port : ((struct sockaddr_in *)&sa)->sin_port;
  return int_result(env, ntohs(port));
}

static napi_value udp_stats(napi_env env, napi_callback_info info) {
  udp_t *u = unwrap(env, info, NULL, NULL);
  if (!u) return NULL;
  double v[7] = {u->sent, u->send_drops, u->received, u->recv_drops, u->soft_errors, u->gso, u->gro};
  napi_value arr, x;
  NAPI_CALL(env, napi_create_array_with_length(env, 7, &arr));
  for (uint32_t i = 0; i < 7; i++) {
    NAPI_CALL(env, napi_create_double(env, v[i], &x));
    NAPI_CALL(env, napi_set_element(env, arr, i, x));
  }
  return arr;
}

static napi_value udp_endpoint(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  udp_t *u = unwrap(env, info, &argc, argv);
  if (!u) return NULL;
  char ip[64];
  uint32_t port;
  if (argc < 2 || arg_string(env, argv[0], "ip", ip, sizeof ip) || arg_uint32(env, argv[1], "port", &port)) return NULL;
  if (port == 0 || port > 65535) return int_result(env, -1);
  struct sockaddr_storage sa;
  memset(&sa, 0, sizeof sa);
  socklen_t sa_len;
  struct in_addr a4;
  struct in6_addr a6;
  bool is4 = inet_pton(AF_INET, ip, &a4) == 1;
  bool is6 = !is4 && inet_pton(AF_INET6, ip, &a6) == 1;
  if (u->family == AF_INET6) {
    if (!is4 && !is6) return int_result(env, -1);
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&sa;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons((uint16_t)port);
    if (is4) { /* only a dual-stack socket reaches IPv4, as a v4-mapped address */
      int v6only = 1;
      socklen_t l = sizeof v6only;
      if (getsockopt(u->jp.fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &l) < 0 || v6only) return int_result(env, -1);
      s6->sin6_addr.s6_addr[10] = s6->sin6_addr.s6_addr[11] = 0xff;
      memcpy(&s6->sin6_addr.s6_addr[12], &a4, 4);
    } else {
      s6->sin6_addr = a6;
    }
    sa_len = sizeof *s6;
  } else {
    if (!is4) return int_result(env, -1);
    struct sockaddr_in *s4 = (struct sockaddr_in *)&sa;
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    s4->sin_addr = a4;
    sa_len = sizeof *s4;
  }
  uint8_t key[ADDR_BYTES];
  key_of(&sa, key);
  int32_t flag = 0;
  uint32_t id = table_get(u, key, &sa, sa_len);
  if (id == NO_ENDPOINT) {
    flush_queue(u); /* queued runs are grouped by id: never mix ids of two tables */
    table_reset(u);
    u->reset_pending = true; /* the next receive batch tells JS too (harmless twice) */
    flag = RESET_FLAG;
    id = table_get(u, key, &sa, sa_len);
  }
  return int_result(env, (int32_t)id + flag);
}

static napi_value udp_send(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  udp_t *u = unwrap(env, info, &argc, argv);
  if (!u) return NULL;
  uint32_t id;
  uint8_t *data;
  size_t len;
  if (argc < 2 || arg_uint32(env, argv[0], "id", &id) || arg_bytes(env, argv[1], "bytes", &data, &len)) return NULL;
  if (u->jp.closing || id >= u->n_endpoints || len > SEND_SLOT_BYTES) {
    u->send_drops++;
    return int_result(env, 0);
  }
  uint32_t i = u->squeued;
  const endpoint_t *e = &u->endpoints[id];
  memcpy(&u->ssa[i], &e->sa, e->sa_len);
  u->sid[i] = id;
  uint8_t *slot = u->sbuf + (size_t)i * SEND_SLOT_BYTES;
  memcpy(slot, data, len);
  u->siov[i].iov_base = slot;
  u->siov[i].iov_len = len;
  struct msghdr *m = &u->smsg[i].msg_hdr;
  m->msg_name = &u->ssa[i];
  m->msg_namelen = e->sa_len;
  m->msg_iov = &u->siov[i];
  m->msg_iovlen = 1;
  m->msg_control = NULL;
  m->msg_controllen = 0;
  m->msg_flags = 0;
  if (++u->squeued == SEND_BATCH) flush_queue(u);
  return int_result(env, 1);
}

static napi_value udp_flush(napi_env env, napi_callback_info info) {
  udp_t *u = unwrap(env, info, NULL, NULL);
  if (!u) return NULL;
  return int_result(env, u->jp.closing ? 0 : (int32_t)flush_queue(u));
}

/* ---- construction --------------------------------------------------------------------- */

static void set_buffer(int fd, int force_opt, int opt, int bytes) {
  if (setsockopt(fd, SOL_SOCKET, force_opt, &bytes, sizeof bytes) == 0) return; /* root */
  setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof bytes); /* capped at net.core.[rw]mem_max */
}

/* Create and bind the socket; -errno on failure (with *syscall naming the failed call). */
static int open_socket(uint32_t family, const char *host, uint32_t port, uint32_t buffer_bytes,
                       const char **syscall, int *out_family) {
  int af = family == 4 ? AF_INET : AF_INET6;
  *syscall = "socket";
  int fd = socket(af, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  struct sockaddr_storage sa;
  memset(&sa, 0, sizeof sa);
  socklen_t len;
  if (af == AF_INET6) {
    int v6only = family == 6 ? 1 : 0;
    *syscall = "setsockopt(IPV6_V6ONLY)";
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only) < 0) goto fail;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&sa;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons((uint16_t)port);
    *syscall = "inet_pton";
    if (host[0] && inet_pton(AF_INET6, host, &s6->sin6_addr) != 1) { errno = EINVAL; goto fail; }
    len = sizeof *s6;
  } else {
    struct sockaddr_in *s4 = (struct sockaddr_in *)&sa;
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    *syscall = "inet_pton";
    if (host[0] && inet_pton(AF_INET, host, &s4->sin_addr) != 1) { errno = EINVAL; goto fail; }
    len = sizeof *s4;
  }
  if (buffer_bytes) {
    set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, (int)buffer_bytes);
    set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, (int)buffer_bytes);
  }
  *syscall = "bind";
  if (bind(fd, (struct sockaddr *)&sa, len) < 0) goto fail;
  *out_family = af;
  return fd;
fail: {
    int err = errno;
    close(fd);
    return -err;
  }
}

static napi_value udp_new(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], self, v;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  napi_valuetype t;
  if (argc < 1 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_object)
    return throw_type(env, "new UdpSocket(options) needs an options object");
  napi_value opts = argv[0];
  uint32_t family, port, buffer_bytes, slot_bytes, max_batch, offload;
  char host[64];
  napi_value buffer, meta_v, addrs_v;
  uint8_t *base, *addrs;
  uint32_t *meta;
  size_t base_len, meta_len, addrs_len;
  if (get_u32(env, opts, "family", &family) || get_u32(env, opts, "port", &port) ||
      get_u32(env, opts, "bufferBytes", &buffer_bytes) || get_u32(env, opts, "slotBytes", &slot_bytes) ||
      get_u32(env, opts, "maxBatch", &max_batch) || get_u32(env, opts, "offload", &offload) ||
      get_prop(env, opts, "host", &v) ||
      arg_string(env, v, "host", host, sizeof host) || get_prop(env, opts, "buffer", &buffer) ||
      arg_bytes(env, buffer, "buffer", &base, &base_len) || get_prop(env, opts, "meta", &meta_v) ||
      arg_u32array(env, meta_v, "meta", &meta, &meta_len) || get_prop(env, opts, "addrs", &addrs_v) ||
      arg_bytes(env, addrs_v, "addrs", &addrs, &addrs_len))
    return NULL;
  if (family != 0 && family != 4 && family != 6) return throw_range(env, "family must be 0, 4 or 6");
  if (port > 65535) return throw_range(env, "port must be 0..65535");
  if (max_batch < 1 || max_batch > MAX_BATCH) return throw_range(env, "maxBatch must be 1..1024");
  if (slot_bytes < 65536) return throw_range(env, "slotBytes must be at least 65536");
  if ((uint64_t)slot_bytes * max_batch > base_len || (uint64_t)slot_bytes * max_batch > UINT32_MAX)
    return throw_range(env, "buffer must hold maxBatch slots");
  if (meta_len < 3 * (size_t)max_batch * (offload ? MAX_SEGMENTS : 1))
    return throw_range(env, "meta must hold 3 * maxBatch entries (x 64 with offload)");
  if (addrs_len < ENDPOINT_CAP * ADDR_BYTES) return throw_range(env, "addrs must hold 4096 * 18 bytes");

  const char *syscall;
  int af = AF_INET6;
  int fd = open_socket(family, host, port, buffer_bytes, &syscall, &af);
  if (fd < 0) return throw_errno(env, -fd, syscall, "cannot open the UDP socket");

  udp_t *u = calloc(1, sizeof *u);
  if (u) {
    u->endpoints = calloc(ENDPOINT_CAP, sizeof *u->endpoints);
    u->buckets = calloc(HASH_BUCKETS, sizeof *u->buckets);
    u->rmsg = calloc(max_batch, sizeof *u->rmsg);
    u->riov = calloc(max_batch, sizeof *u->riov);
    u->rsa = calloc(max_batch, sizeof *u->rsa);
    u->rctl = calloc(max_batch, sizeof *u->rctl);
    u->sbuf = malloc((size_t)SEND_BATCH * SEND_SLOT_BYTES);
  }
  if (!u || !u->endpoints || !u->buckets || !u->rmsg || !u->riov || !u->rsa || !u->rctl || !u->sbuf) {
    if (u) free_all(u);
    close(fd);
    return throw_errno(env, ENOMEM, "malloc", "UdpSocket");
  }
  u->family = af;
  u->base = base;
  u->meta = meta;
  u->addrs = addrs;
  u->slot_bytes = slot_bytes;
  u->max_batch = max_batch;
  u->max_datagrams = (uint32_t)(meta_len / 3);
  u->last_id = NO_ENDPOINT;
  if (offload) {
    /* Both exist since Linux 5.0; an older kernel refuses the option and we do without. */
    int on = 1, seg = 0;
    socklen_t len = sizeof seg;
    u->gro = setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof on) == 0;
    u->gso = getsockopt(fd, SOL_UDP, UDP_SEGMENT, &seg, &len) == 0;
  }

  napi_value keep[] = {buffer, meta_v, addrs_v};
  if (js_poll_init(&u->jp, &udp_class, env, self, opts, fd, keep, 3)) return NULL; /* closed fd, freed u */
  return self;
}

napi_status udp_register(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      JS_POLL_METHOD("start", js_poll_start_method, &udp_class),
      JS_METHOD("close", udp_close),
      JS_METHOD("localPort", udp_local_port),
      JS_METHOD("stats", udp_stats),
      JS_METHOD("endpoint", udp_endpoint),
      JS_METHOD("send", udp_send),
      JS_METHOD("flush", udp_flush),
  };
  return define_class(env, exports, "UdpSocket", udp_new, methods, sizeof methods / sizeof methods[0]);
}
