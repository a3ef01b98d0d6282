/*
 * UdpSocket: the UDP underlay with batched system calls (recvmmsg/sendmmsg) on a uv_poll_t.
 * node:dgram costs 6-8 us per received datagram and copies every send into a new Buffer; here
 * one wake-up reads up to maxBatch datagrams with a few recvmmsg calls and makes ONE JS call,
 * and sends are queued and leave in one sendmmsg per batch.
 *
 *   new UdpSocket({ family, host, port, bufferBytes, buffer, meta, addrs, slotBytes, maxBatch,
 *                   offload, onDatagrams(count, reset), onError(code, errno, message, fatal),
 *                   simulatedKernelSegments?, hashKey? })
 *     offload 1: use UDP GSO/GRO where the kernel has them (meta then needs maxSegments
 *     entries a slot). family 0 = dual-stack (AF_INET6, IPV6_V6ONLY off), 4 = IPv4 only,
 *     6 = IPv6 only. simulatedKernelSegments (tests only): refuse GSO messages of more
 *     segments with EINVAL, as kernels before 6.8 do above 64. hashKey (tests only): a
 *     16-byte endpoint-table key instead of a random one, so a test can build collisions.
 *     Throws an Error with .code (EADDRINUSE, EAFNOSUPPORT...) when it cannot bind.
 *   .start() .close() .localPort()
 *   .stats() -> [sent, sendDrops, received, recvDrops, softErrors, gso (0/1), gro (0/1),
 *                gsoSegments, endpointResets, endpointProbeLimits]
 *   .endpoint(ip, port) -> id (+ resetFlag if the endpoint table was cleared), or -1 when the
 *     address does not parse, this socket cannot reach its family, or it is closed
 *   .send(id, bytes) -> 1 queued, 0 dropped (unknown id / too large)
 *   .flush() -> datagrams handed to the kernel
 *   exports.udpConstants: the limits below (maxBatch, maxSegments, metaStride, addrBytes...),
 *     so the TypeScript side sizes buffer, meta and addrs from them
 *
 * Endpoints: each distinct peer address gets a small integer id from a table shared by both
 * directions (endpoints.c), so the hot path never parses or formats addresses: received
 * datagram i carries its sender's id in meta[3i+2], and JS formats the address of an id it has
 * not seen yet from addrs[id*18 ..] (16-byte IPv6 or IPv4-mapped address, 2-byte port,
 * big-endian). The table is bounded; when it is nearly full, or refused an address whose probe
 * chain grew too long, it is cleared at the start of a receive batch (reset = true) or in
 * endpoint(), and JS forgets its cached names. Queued sends keep their own copy of the
 * destination, so a reset never misdirects one.
 *
 * Received datagram i lies at buffer[meta[3i]] with length meta[3i+1]; buffer and meta are
 * overwritten on the next wake-up. meta may hold more datagrams than there are slots: with
 * UDP_GRO the kernel hands over up to UDP_SEGMENTS same-sized datagrams from one sender in one
 * slot (split here by the gso_size it reports), and flush() sends runs of same-sized datagrams
 * to one destination as one UDP_SEGMENT (GSO) message, so the kernel walks its UDP/IP/veth
 * path once per run instead of once per datagram. Both are detected at start-up and switched
 * off (GSO at the first send the kernel refuses) where unsupported. Every write into meta is
 * checked against its length: a datagram that does not fit is counted in recvDrops, never
 * written; and each wake-up first checks that JS has not detached or shrunk buffer, meta or
 * addrs (the socket then stops with EFAULT). ICMP errors (POLLERR on the socket) are cleared
 * with SO_ERROR and polling continues: libuv stops a poll handle on POLLERR by itself.
 */
#include "endpoints.h"
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

/* Receive slots per wake-up at most (the caller picks its maxBatch up to this). */
#define UDP_MAX_BATCH 1024u
/* Most datagrams the kernel packs into one GRO message or takes in one GSO message. Linux
   6.8 raised UDP_MAX_SEGMENTS from 64 to 128; the running kernel may be newer than the
   headers we build with (which normally lack the constant: it is not uapi), so never assume
   fewer than 128. Receiving, meta keeps room for this many per slot and anything beyond it is
   counted as dropped, never written; sending, runs are cut at it, and at 64 if the kernel
   refuses more (flush_queue). */
#if defined(UDP_MAX_SEGMENTS) && UDP_MAX_SEGMENTS > 128
#define UDP_SEGMENTS ((uint32_t)UDP_MAX_SEGMENTS)
#else
#define UDP_SEGMENTS 128u
#endif
#define UDP_OLD_MAX_SEGMENTS 64u
/* Largest payload of one GSO message (the kernel's limit is a 64 KiB IP packet). */
#define MAX_GSO_BYTES 65000u
/* Queued sends before a flush: one full GSO run. */
#define UDP_SEND_BATCH UDP_SEGMENTS
/* Largest datagram send() queues (the largest UDP payload is 65507: larger ones fail later). */
#define UDP_MAX_DATAGRAM_BYTES 65536u
/* Queued bytes before a flush, datagrams packed back to back. */
#define UDP_SEND_BUFFER_BYTES (1u << 20)
/* The smallest receive slot: the largest UDP payload, so nothing is ever truncated. */
#define UDP_MIN_SLOT_BYTES 65536u
/* meta entries per received datagram: offset, length, endpoint id. */
#define UDP_META_STRIDE 3u
/* Added to endpoint()'s id when the endpoint table was cleared first. */
#define RESET_FLAG 0x10000
#define CMSG_BYTES 64

_Static_assert(UDP_SEND_BUFFER_BYTES >= UDP_MAX_DATAGRAM_BYTES, "a send buffer holds the largest datagram");
_Static_assert(ENDPOINT_CAP < RESET_FLAG, "ids stay below the reset flag");

typedef struct {
  js_poll_t jp; /* first: the shared lifecycle (js-poll.h); it owns and closes the fd */
  int family; /* AF_INET or AF_INET6 of the socket */
  uint8_t *base;
  uint32_t *meta;
  uint32_t slot_bytes, max_batch, max_datagrams;
  bool reset_pending;
  bool gso, gro;
  int gso_errno;
  /* most datagrams per GSO message: UDP_MAX_SEGMENTS, lowered to UDP_OLD_MAX_SEGMENTS when
     the kernel refuses more (before Linux 6.8) */
  uint32_t gso_segments;
  /* tests only: refuse GSO messages of more segments, as an older kernel does (0: off) */
  uint32_t simulated_kernel_segments;

  endpoint_table_t table;

  /* receive scratch */
  struct mmsghdr *rmsg;
  struct iovec *riov;
  struct sockaddr_storage *rsa;
  uint8_t (*rctl)[CMSG_BYTES];

  /* send queue: datagrams packed back to back in sbuf */
  uint8_t *sbuf;
  uint32_t sbytes;
  struct mmsghdr smsg[UDP_SEND_BATCH];
  struct iovec siov[UDP_SEND_BATCH];
  struct sockaddr_storage ssa[UDP_SEND_BATCH];
  uint32_t sid[UDP_SEND_BATCH]; /* endpoint id of each queued datagram */
  uint32_t squeued;
  /* GSO messages built by flush from runs of the queue */
  struct mmsghdr gmsg[UDP_SEND_BATCH];
  uint8_t gctl[UDP_SEND_BATCH][CMSG_BYTES];

  double sent, send_drops, received, recv_drops, soft_errors;
} udp_t;

/* ---- lifecycle ------------------------------------------------------------------------ */

static void free_all(udp_t *u) { /* also the constructor's clean-up: u may be half-built */
  endpoints_free(&u->table);
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

/* How many of msgs[0..count) to hand to one sendmmsg: all, unless a test simulates a kernel
   that refuses GSO messages of more than simulated_kernel_segments (then up to that one). */
static uint32_t sendable(const udp_t *u, const uint32_t *counts, uint32_t count) {
  if (!u->simulated_kernel_segments || !counts) return count;
  for (uint32_t k = 0; k < count; k++)
    if (counts[k] > u->simulated_kernel_segments) return k;
  return count;
}

/* Send msgs[0..count) with sendmmsg; returns the datagrams the kernel took (counts[k]
   datagrams in message k, or 1 each when counts is NULL). A message that fails alone
   (unreachable, too big) is dropped and the rest still go; a full socket buffer drops the rest
   (the kernel would drop them too; no spinning). When the kernel refuses a GSO message,
   *gso_stop receives its index and the function returns at once. */
static uint32_t send_messages(udp_t *u, struct mmsghdr *msgs, uint32_t count, const uint32_t *counts,
                              int *gso_stop) {
  uint32_t done = 0, sent = 0;
  while (done < count) {
    uint32_t take = sendable(u, counts + (counts ? done : 0), count - done);
    int n = take ? sendmmsg(u->jp.fd, msgs + done, take, MSG_DONTWAIT) : (errno = EINVAL, -1);
    if (n > 0) {
      for (int k = 0; k < n; k++) sent += counts ? counts[done + k] : 1;
      done += (uint32_t)n;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      break;
    } else {
      /* EIO: a device without checksum offload; EINVAL: a segment over the MTU, or more
         segments than the kernel takes */
      if (gso_stop && msgs[done].msg_hdr.msg_controllen && (errno == EIO || errno == EINVAL || errno == EOPNOTSUPP)) {
        *gso_stop = (int)done;
        u->gso_errno = errno;
        return sent;
      }
      u->soft_errors++;
      done++;
    }
  }
  return sent;
}

/* Group runs of the queue from index `first` on (same destination, same size, the last may be
   shorter but not empty, at most gso_segments) into messages in u->gmsg, with their datagram counts in
   counts; returns the number of messages. */
static uint32_t build_gso(udp_t *u, uint32_t first, uint32_t counts[UDP_SEND_BATCH]) {
  uint32_t m = 0;
  for (uint32_t i = first; i < u->squeued;) {
    size_t seg = u->siov[i].iov_len;
    uint32_t j = i + 1;
    size_t total = seg;
    /* an empty datagram never joins a run: as a segment it would vanish (0 bytes of payload) */
    while (j < u->squeued && seg > 0 && j - i < u->gso_segments && u->sid[j] == u->sid[i] &&
           u->siov[j].iov_len > 0 && u->siov[j].iov_len <= seg && total + u->siov[j].iov_len <= MAX_GSO_BYTES) {
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
    counts[m++] = j - i;
    i = j;
  }
  return m;
}

static uint32_t flush_queue(udp_t *u) {
  uint32_t queued = u->squeued, sent = 0, first = 0;
  if (queued == 0) return 0;
  while (first < queued) {
    uint32_t counts[UDP_SEND_BATCH];
    uint32_t m = u->gso && queued - first > 1 ? build_gso(u, first, counts) : queued - first;
    if (m == queued - first) { /* no runs: plain datagrams */
      sent += send_messages(u, u->smsg + first, queued - first, NULL, NULL);
      break;
    }
    int stop = -1;
    sent += send_messages(u, u->gmsg, m, counts, &stop);
    if (stop < 0) break;
    for (int k = 0; k < stop; k++) first += counts[k];
    if (u->gso_errno == EINVAL && counts[stop] > UDP_OLD_MAX_SEGMENTS && u->gso_segments > UDP_OLD_MAX_SEGMENTS) {
      u->gso_segments = UDP_OLD_MAX_SEGMENTS; /* a kernel before 6.8: rebuild the rest in shorter runs */
      continue;
    }
    /* resend from the refused message on, one datagram each. A device that cannot do GSO at
       all: never again; a too-large segment (EINVAL, the path MTU shrank) is the kernel's
       business: it may still IP-fragment single datagrams */
    if (u->gso_errno != EINVAL) u->gso = false;
    sent += send_messages(u, u->smsg + first, queued - first, NULL, NULL);
    break;
  }
  u->sent += sent;
  u->send_drops += queued - sent;
  u->squeued = 0;
  u->sbytes = 0;
  return sent;
}

/* ---- receive -------------------------------------------------------------------------- */

static void clear_socket_error(udp_t *u) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(u->jp.fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err) u->soft_errors++;
}

/* The GRO segment size of a received message (its whole length without one). */
static uint32_t gro_segment(struct msghdr *h) {
  uint32_t seg = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
    if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
      int gso_size = 0;
      memcpy(&gso_size, CMSG_DATA(c), sizeof gso_size);
      if (gso_size > 0) seg = (uint32_t)gso_size;
    }
  }
  return seg;
}

/* Append datagram (offset, len, id) to meta; false (and counted as dropped) when meta is full. */
static inline bool put_meta(udp_t *u, uint32_t *count, uint32_t offset, uint32_t len, uint32_t id) {
  if (*count >= u->max_datagrams) {
    u->recv_drops++;
    return false;
  }
  uint32_t *m = u->meta + (size_t)UDP_META_STRIDE * *count;
  m[0] = offset;
  m[1] = len;
  m[2] = id;
  (*count)++;
  return true;
}

static void on_poll(uv_poll_t *h, int status, int events) {
  udp_t *u = h->data;
  js_poll_t *jp = &u->jp;
  if (jp->closing) return;
  napi_handle_scope scope;
  if (napi_open_handle_scope(jp->env, &scope) != napi_ok) return;
  if (!js_poll_buffers_intact(jp)) { /* JS detached or shrank buffer, meta or addrs */
    js_poll_stop(jp);
    js_poll_report(jp, EFAULT, true);
    goto out;
  }
  if (status < 0) clear_socket_error(u);
  bool reset = u->reset_pending;
  u->reset_pending = false;
  if (u->table.n + u->max_batch > ENDPOINT_CAP || u->table.full) {
    flush_queue(u); /* queued runs are grouped by id: never mix ids of two tables */
    endpoints_reset(&u->table);
    reset = true;
  }

  uint32_t count = 0, slots = 0; /* datagrams kept; slots filled (a dropped one wastes its slot) */
  int fatal = 0;
  /* each slot may carry UDP_SEGMENTS datagrams with GRO: keep room for that in meta */
  uint32_t per_slot = u->gro ? UDP_SEGMENTS : 1;
  while (slots < u->max_batch && count + per_slot <= u->max_datagrams) {
    uint32_t want = u->max_batch - slots;
    if (want > (u->max_datagrams - count) / per_slot) want = (u->max_datagrams - count) / per_slot;
    for (uint32_t i = 0; i < want; i++) {
      struct msghdr *m = &u->rmsg[i].msg_hdr;
      u->riov[i].iov_base = u->base + (size_t)(slots + i) * u->slot_bytes;
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
      uint32_t len = mm->msg_len;
      if ((mm->msg_hdr.msg_flags & MSG_TRUNC) || len > u->slot_bytes || !endpoint_key(&u->rsa[i], key)) {
        u->recv_drops++;
        continue;
      }
      /* NO_ENDPOINT: the table refused a too-long probe chain; it is cleared next wake-up */
      uint32_t id = endpoints_get(&u->table, key, &u->rsa[i], mm->msg_hdr.msg_namelen);
      uint32_t seg = u->gro && !(mm->msg_hdr.msg_flags & MSG_CTRUNC) ? gro_segment(&mm->msg_hdr) : 0;
      if (seg == 0 || seg > len) seg = len;
      uint32_t segments = len == 0 ? 1 : (len + seg - 1) / seg; /* an empty datagram is still one */
      if (id == NO_ENDPOINT) {
        u->recv_drops += segments;
        continue;
      }
      /* meta is compact even when a dropped datagram left its slot unused */
      uint32_t offset = (uint32_t)((uint8_t *)mm->msg_hdr.msg_iov->iov_base - u->base);
      for (uint32_t k = 0, at = 0; k < segments; k++, at += seg) {
        if (!put_meta(u, &count, offset + at, len - at < seg ? len - at : seg, id)) {
          u->recv_drops += segments - k - 1; /* the rest do not fit either */
          break;
        }
      }
    }
    if ((uint32_t)n < want) break; /* drained */
  }
  u->received += count;

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
  double v[] = {u->sent, u->send_drops, u->received, u->recv_drops, u->soft_errors, u->gso, u->gro,
                u->gso_segments, u->table.resets, u->table.probe_limits};
  uint32_t n = sizeof v / sizeof v[0];
  napi_value arr, x;
  NAPI_CALL(env, napi_create_array_with_length(env, n, &arr));
  for (uint32_t i = 0; i < n; i++) {
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
  if (port == 0 || port > 65535 || u->jp.closing) return int_result(env, -1); /* closed: addrs may be gone */
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
  if (!js_poll_buffers_intact(&u->jp)) return throw_range(env, "the UdpSocket's buffers were detached or shrunk");
  uint8_t key[ADDR_BYTES];
  endpoint_key(&sa, key);
  int32_t flag = 0;
  uint32_t id = endpoints_get(&u->table, key, &sa, sa_len);
  if (id == NO_ENDPOINT) {
    flush_queue(u); /* queued runs are grouped by id: never mix ids of two tables */
    endpoints_reset(&u->table);
    u->reset_pending = true; /* the next receive batch tells JS too (harmless twice) */
    flag = RESET_FLAG;
    id = endpoints_get(&u->table, key, &sa, sa_len); /* the first key of an empty table: fits */
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
  if (u->jp.closing || id >= u->table.n || len > UDP_MAX_DATAGRAM_BYTES) {
    u->send_drops++;
    return int_result(env, 0);
  }
  if (u->sbytes + len > UDP_SEND_BUFFER_BYTES) flush_queue(u);
  uint32_t i = u->squeued;
  const endpoint_t *e = &u->table.endpoints[id];
  memcpy(&u->ssa[i], &e->sa, e->sa_len);
  u->sid[i] = id;
  uint8_t *at = u->sbuf + u->sbytes;
  if (len) memcpy(at, data, len); /* data may be NULL for an empty (or detached) array */
  u->sbytes += (uint32_t)len;
  u->siov[i].iov_base = at;
  u->siov[i].iov_len = len;
  struct msghdr *m = &u->smsg[i].msg_hdr;
  m->msg_name = &u->ssa[i];
  m->msg_namelen = e->sa_len;
  m->msg_iov = &u->siov[i];
  m->msg_iovlen = 1;
  m->msg_control = NULL;
  m->msg_controllen = 0;
  m->msg_flags = 0;
  if (++u->squeued == UDP_SEND_BATCH) flush_queue(u);
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
  uint32_t simulated = 0;
  if (get_optional_u32(env, opts, "simulatedKernelSegments", 0, &simulated)) return NULL;
  uint8_t *hash_key = NULL; /* tests only: a known endpoint-table key, to build collisions */
  size_t hash_key_len = 0;
  napi_valuetype key_type;
  if (get_prop(env, opts, "hashKey", &v) || napi_typeof(env, v, &key_type) != napi_ok) return NULL;
  if (key_type != napi_undefined && arg_bytes(env, v, "hashKey", &hash_key, &hash_key_len)) return NULL;
  if (key_type != napi_undefined && (!hash_key || hash_key_len != 16)) return throw_range(env, "hashKey must have 16 bytes");
  if (family != 0 && family != 4 && family != 6) return throw_range(env, "family must be 0, 4 or 6");
  if (port > 65535) return throw_range(env, "port must be 0..65535");
  if (max_batch < 1 || max_batch > UDP_MAX_BATCH) return throw_range(env, "maxBatch must be 1..udpConstants.maxBatch");
  if (slot_bytes < UDP_MIN_SLOT_BYTES) return throw_range(env, "slotBytes must be at least udpConstants.minSlotBytes");
  if ((uint64_t)slot_bytes * max_batch > base_len || (uint64_t)slot_bytes * max_batch > UINT32_MAX)
    return throw_range(env, "buffer must hold maxBatch slots");
  if (meta_len < (size_t)UDP_META_STRIDE * max_batch * (offload ? UDP_SEGMENTS : 1))
    return throw_range(env, "meta must hold metaStride * maxBatch entries (x maxSegments with offload)");
  if (addrs_len < (size_t)ENDPOINT_CAP * ADDR_BYTES) return throw_range(env, "addrs must hold endpointCapacity * addrBytes bytes");

  const char *syscall;
  int af = AF_INET6;
  int fd = open_socket(family, host, port, buffer_bytes, &syscall, &af);
  if (fd < 0) return throw_errno(env, -fd, syscall, "cannot open the UDP socket");

  udp_t *u = calloc(1, sizeof *u);
  int err = u ? endpoints_init(&u->table, addrs, addrs_len, hash_key) : ENOMEM;
  if (!err) {
    u->rmsg = calloc(max_batch, sizeof *u->rmsg);
    u->riov = calloc(max_batch, sizeof *u->riov);
    u->rsa = calloc(max_batch, sizeof *u->rsa);
    u->rctl = calloc(max_batch, sizeof *u->rctl);
    u->sbuf = malloc(UDP_SEND_BUFFER_BYTES);
    if (!u->rmsg || !u->riov || !u->rsa || !u->rctl || !u->sbuf) err = ENOMEM;
  }
  if (err) {
    if (u) free_all(u);
    close(fd);
    return throw_errno(env, err, err == ENOMEM ? "malloc" : "getrandom", "UdpSocket");
  }
  u->family = af;
  u->base = base;
  u->meta = meta;
  u->slot_bytes = slot_bytes;
  u->max_batch = max_batch;
  u->max_datagrams = (uint32_t)(meta_len / UDP_META_STRIDE);
  u->gso_segments = UDP_SEGMENTS;
  u->simulated_kernel_segments = simulated;
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
  static const js_constant_t constants[] = {
      {"maxBatch", UDP_MAX_BATCH},
      {"maxSegments", UDP_SEGMENTS},
      {"oldKernelSegments", UDP_OLD_MAX_SEGMENTS},
      {"minSlotBytes", UDP_MIN_SLOT_BYTES},
      {"metaStride", UDP_META_STRIDE},
      {"sendBatch", UDP_SEND_BATCH},
      {"maxDatagramBytes", UDP_MAX_DATAGRAM_BYTES},
      {"endpointCapacity", ENDPOINT_CAP},
      {"endpointMaxProbes", ENDPOINT_MAX_PROBES},
      {"addrBytes", ADDR_BYTES},
      {"resetFlag", RESET_FLAG},
  };
  napi_status st = export_constants(env, exports, "udpConstants", constants, sizeof constants / sizeof constants[0]);
  if (st != napi_ok) return st;
  return define_class(env, exports, "UdpSocket", udp_new, methods, sizeof methods / sizeof methods[0]);
}
