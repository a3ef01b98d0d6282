/*
 * Poller: reads every queued packet from a non-blocking fd (a TUN device) on the Node event
 * loop, with a uv_poll_t rather than libuv's threadpool (which was 4-7x slower and left a read
 * blocked forever on shutdown).
 *
 *   new Poller({ fd, buffer, meta, slotBytes, headroomBytes, tailroomBytes, maxBatch,
 *                onPackets(count, segmented, dropped), onError(code, errno, message, fatal) })
 *   (segmented: how many of the count packets were cut from TSO reads; dropped: reads thrown
 *   away, with a bogus vnet header or a TSO segment that does not fit the batch)
 *   .start()  .stop()  .close()
 *   exports.pollerConstants: the limits the options are checked against (maxBatch,
 *   minReadBytes, metaStride, vnetHeaderBytes, tsoSlots, tsoMetaPackets)
 *
 * On each wake-up the poller read()s packets until EAGAIN, at most maxBatch so one busy device
 * cannot starve the rest of the loop (epoll is level-triggered, so leftovers wake us again).
 * Packet i goes into slot i of `buffer` (slotBytes each), headroomBytes after the slot start,
 * leaving tailroomBytes free after the largest possible packet so callers can add an encryption
 * header and tag in place. meta[2i] and meta[2i+1] receive its offset and length. Then ONE JS
 * call: onPackets(count, ...). `buffer` and `meta` are overwritten on the next wake-up, so
 * their contents are valid only during that call. Every write into them is bounded by the
 * sizes checked at construction, and each wake-up first checks that JS has not detached or
 * shrunk them since (then the poller stops with EFAULT rather than write).
 *
 * vnetHeaderBytes (optional, 0 or 10): the device was opened with IFF_VNET_HDR, so each read
 * starts with a virtio_net_hdr; it is read into the headroom and dropped, after completing a
 * checksum the kernel left to us (NEEDS_CSUM). With TSO offered to the kernel (TUNSETOFFLOAD,
 * tun.c) a read may be one large IPv4 TCP segment (gso_type TCPV4): it is cut here into
 * gso_size segments with their own headers and checksums, written into the following slots
 * (which is why such a read takes 3 slots), so JS still sees ordinary MTU-sized packets while
 * the kernel handled the whole run as one packet. meta may then hold more than maxBatch
 * packets (up to its length / 2). Other GSO types are dropped.
 *
 * While polling, the JS object is strongly referenced (GC cannot silently stop it) and the
 * handle keeps the loop alive; stop() and close() release both, so a closed device never
 * keeps the process from exiting.
 */
#include "js-poll.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>
#include <linux/virtio_net.h>

/* A read that asks for fewer bytes than this could silently truncate an IP packet. */
#define MIN_READ_BYTES 65535u
#define MAX_BATCH 4096u
#define META_STRIDE 2u
/* A read with a vnet header may be a TSO segment: it takes this many slots (one read, two
   for the packets cut from it) and keeps this many meta packets free for them: 64 KiB cut at
   MSS 536 (hacloud's smallest MTU, 576) gives 123. A segment that cuts into more than fit
   (a peer announcing a tinier MSS) is dropped and counted. */
#define TSO_SLOTS 3u
#define TSO_META_PACKETS 128u
/* Wake-ups flagged as errors, in a row, without any packet or errno to show for them. */
#define MAX_ERROR_STREAK 8u

typedef struct {
  js_poll_t jp; /* first: the shared lifecycle (js-poll.h) */
  uint8_t *base;
  uint32_t *meta;
  uint32_t slot_bytes, headroom, tailroom, read_bytes, max_batch, vnet, max_packets;
  uint32_t segmented; /* packets of this wake-up cut from TSO reads */
  uint32_t dropped;   /* reads of this wake-up dropped: bogus vnet header, TSO that does not fit */
  uint32_t error_streak;
} poller_t;

/* Errors a socket reports for an earlier datagram (ICMP); the fd itself is still fine. */
static bool is_soft_error(int err) {
  return err == ECONNREFUSED || err == EHOSTUNREACH || err == ENETUNREACH || err == EHOSTDOWN ||
         err == EMSGSIZE;
}

/* Complete the checksum of a packet the kernel handed over with NEEDS_CSUM; false if bogus. */
static bool finish_checksum(uint8_t *pkt, uint32_t len, const struct virtio_net_hdr *h) {
  uint32_t start = h->csum_start, field = (uint32_t)h->csum_start + h->csum_offset;
  if (start >= len || field + 2 > len) return false;
  uint32_t sum = 0;
  for (uint32_t i = start; i + 1 < len; i += 2) sum += (uint32_t)(pkt[i] << 8 | pkt[i + 1]);
  if ((len - start) & 1) sum += (uint32_t)pkt[len - 1] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  uint16_t c = (uint16_t)~sum;
  pkt[field] = (uint8_t)(c >> 8);
  pkt[field + 1] = (uint8_t)c;
  return true;
}

/* Ones-complement sum of len bytes added to sum, in network order; not folded, not inverted. */
static uint32_t csum_partial(const uint8_t *p, uint32_t len, uint32_t sum) {
  uint64_t acc = 0;
  uint32_t w;
  for (; len >= 4; p += 4, len -= 4) { /* native-order words: the fold below is order-neutral */
    memcpy(&w, p, 4);
    acc += w;
  }
  uint16_t half = 0;
  if (len >= 2) { memcpy(&half, p, 2); acc += half; p += 2; len -= 2; }
  if (len) { uint8_t last[2] = {p[0], 0}; memcpy(&half, last, 2); acc += half; }
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  uint16_t be = (uint16_t)(((acc & 0xff) << 8) | (acc >> 8)); /* the sum of swapped words, swapped */
#else
  uint16_t be = (uint16_t)acc;
#endif
  uint32_t total = sum + be;
  while (total >> 16) total = (total & 0xffff) + (total >> 16);
  return total;
}

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

/* Cut an IPv4 TCP super-segment into gso_size segments at out (out_offset in the buffer);
   returns the packets added to meta, or 0 to drop it. */
static uint32_t segment_tcp4(poller_t *p, const uint8_t *pkt, uint32_t len, const struct virtio_net_hdr *h,
                             uint32_t out_offset, uint32_t out_cap, uint32_t count) {
  if (len < 40 || (pkt[0] >> 4) != 4 || pkt[9] != 6) return 0;
  uint32_t ihl = (uint32_t)(pkt[0] & 15) * 4;
  if (ihl < 20 || ihl + 20 > len) return 0;
  uint32_t thlen = (uint32_t)(pkt[ihl + 12] >> 4) * 4, hlen = ihl + thlen, mss = h->gso_size;
  if (thlen < 20 || hlen >= len || mss == 0) return 0;
  uint32_t payload = len - hlen, nseg = (payload + mss - 1) / mss;
  uint32_t room = p->headroom + p->tailroom; /* every packet keeps the room the batch promises */
  if (count + nseg > p->max_packets || (uint64_t)payload + (uint64_t)nseg * (hlen + room) > out_cap) return 0;
  uint16_t id = rd16(pkt + 4);
  uint32_t seq = (uint32_t)pkt[ihl + 4] << 24 | (uint32_t)pkt[ihl + 5] << 16 | (uint32_t)pkt[ihl + 6] << 8 | pkt[ihl + 7];
  uint8_t flags = pkt[ihl + 13];
  uint32_t pseudo_addrs = rd16(pkt + 12) + rd16(pkt + 14) + rd16(pkt + 16) + rd16(pkt + 18) + 6;
  for (uint32_t i = 0, at = p->headroom; i < nseg; i++) {
    uint8_t *out = p->base + out_offset + at;
    uint32_t chunk = payload - i * mss < mss ? payload - i * mss : mss, seg_len = hlen + chunk;
    memcpy(out, pkt, hlen);
    memcpy(out + hlen, pkt + hlen + i * mss, chunk);
    wr16(out + 2, (uint16_t)seg_len);
    wr16(out + 4, (uint16_t)(id + i));
    out[10] = out[11] = 0;
    wr16(out + 10, (uint16_t)~csum_partial(out, ihl, 0));
    uint8_t *th = out + ihl;
    uint32_t sq = seq + i * mss;
    th[4] = (uint8_t)(sq >> 24); th[5] = (uint8_t)(sq >> 16); th[6] = (uint8_t)(sq >> 8); th[7] = (uint8_t)sq;
    th[13] = (uint8_t)(i + 1 < nseg ? flags & ~0x09 : flags); /* FIN and PSH only on the last */
    if (i > 0) th[13] &= (uint8_t)~0x80;                      /* CWR only on the first */
    th[16] = th[17] = 0;
    wr16(th + 16, (uint16_t)~csum_partial(th, thlen + chunk, pseudo_addrs + thlen + chunk));
    p->meta[META_STRIDE * (count + i)] = out_offset + at;
    p->meta[META_STRIDE * (count + i) + 1] = seg_len;
    at += seg_len + room;
  }
  return nseg;
}

/* Strip and apply the virtio_net_hdr in front of the packet read at `offset`; returns the
   packets added to meta (0: dropped). A TSO read is segmented into the slots after it. */
static uint32_t take_vnet_packet(poller_t *p, uint32_t offset, uint32_t len, uint32_t count, uint32_t slot,
                                 uint32_t *slots_used) {
  uint8_t *pkt = p->base + offset;
  struct virtio_net_hdr h;
  memcpy(&h, pkt - p->vnet, sizeof h);
  *slots_used = 1;
  if (h.gso_type == VIRTIO_NET_HDR_GSO_TCPV4) {
    if (slot + TSO_SLOTS > p->max_batch) return 0; /* cannot happen: the loop keeps the slots free */
    uint32_t out = (slot + 1) * p->slot_bytes;
    *slots_used = TSO_SLOTS;
    uint32_t n = segment_tcp4(p, pkt, len, &h, out, (TSO_SLOTS - 1) * p->slot_bytes, count);
    p->segmented += n;
    return n;
  }
  if (h.gso_type != VIRTIO_NET_HDR_GSO_NONE) return 0;
  if ((h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && !finish_checksum(pkt, len, &h)) return 0;
  if (count >= p->max_packets) return 0; /* cannot happen: the loop keeps meta room */
  p->meta[META_STRIDE * count] = offset;
  p->meta[META_STRIDE * count + 1] = len;
  return 1;
}

static void on_poll(uv_poll_t *h, int status, int events) {
  poller_t *p = h->data;
  js_poll_t *jp = &p->jp;
  if (jp->closing) return;
  napi_handle_scope scope;
  if (napi_open_handle_scope(jp->env, &scope) != napi_ok) return;
  if (!js_poll_buffers_intact(jp)) { /* JS detached or shrank buffer or meta */
    js_poll_stop(jp);
    js_poll_report(jp, EFAULT, true);
    goto out;
  }

  uint32_t count = 0, slot = 0;
  int err = 0;
  p->segmented = 0;
  p->dropped = 0;
  /* with vnet headers a read may need TSO_SLOTS slots and TSO_META_PACKETS meta entries */
  uint32_t slot_need = p->vnet ? TSO_SLOTS : 1, meta_need = p->vnet ? TSO_META_PACKETS : 1;
  for (uint32_t tries = 0; slot + slot_need <= p->max_batch && count + meta_need <= p->max_packets && tries < p->max_batch;
       tries++) {
    uint32_t offset = (p->vnet ? slot : count) * p->slot_bytes + p->headroom;
    ssize_t n = read(jp->fd, p->base + offset - p->vnet, p->read_bytes + p->vnet);
    if (n > 0 && p->vnet) {
      uint32_t used = 1, got = (uint32_t)n > p->vnet ? take_vnet_packet(p, offset, (uint32_t)n - p->vnet, count, slot, &used) : 0;
      if (got == 0) p->dropped++;
      count += got;
      slot += used;
    } else if (n > 0) {
      p->meta[META_STRIDE * count] = offset;
      p->meta[META_STRIDE * count + 1] = (uint32_t)n;
      count++;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      err = errno;
      break;
    } else if (n < 0) {
      break; /* drained */
    } /* n == 0: an empty datagram on a socket; a TUN never returns one */
  }

  if (count > 0 || p->dropped > 0) {
    p->error_streak = 0;
    napi_value argv[3];
    if (napi_create_uint32(jp->env, count, &argv[0]) == napi_ok &&
        napi_create_uint32(jp->env, p->segmented, &argv[1]) == napi_ok &&
        napi_create_uint32(jp->env, p->dropped, &argv[2]) == napi_ok)
      js_poll_call(jp, 3, argv);
    if (jp->closing) goto out; /* closed from inside onPackets */
  }

  if (status < 0 && !err && count == 0 && ++p->error_streak >= MAX_ERROR_STREAK) err = EIO;
  if (err && is_soft_error(err)) {
    js_poll_report(jp, err, false);
  } else if (err) {
    /* The device is unusable (EBADFD after `ip link del`): stop, so a level-triggered error
       cannot spin the CPU, and tell JS loudly. */
    js_poll_stop(jp);
    js_poll_report(jp, err, true);
    goto out;
  }
  if (status < 0) js_poll_resume(jp);
out:
  js_poll_leave(jp, scope);
}

static void poller_free(js_poll_t *jp) { free(jp); }

/* start/stop/close are js_poll_*_method; close() leaves the fd to the caller (close(fd)). */
static const js_poll_class_t poller_class = {
    .name = "Poller",
    .on_data = "onPackets",
    .poll_fail_msg = "cannot poll the device",
    .closed_msg = "poller is closed",
    .owns_fd = false,
    .on_poll = on_poll,
    .free = poller_free,
};

static napi_value poller_new(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], self, v;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  napi_valuetype t;
  if (argc < 1 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_object)
    return throw_type(env, "new Poller(options) needs an options object");
  napi_value opts = argv[0];

  int32_t fd;
  uint32_t slot_bytes, headroom, tailroom, max_batch;
  uint8_t *base;
  uint32_t *meta;
  size_t base_len, meta_len;
  if (get_prop(env, opts, "fd", &v) || arg_int32(env, v, "fd", &fd) ||
      get_u32(env, opts, "slotBytes", &slot_bytes) ||
      get_u32(env, opts, "headroomBytes", &headroom) ||
      get_u32(env, opts, "tailroomBytes", &tailroom) ||
      get_u32(env, opts, "maxBatch", &max_batch))
    return NULL;
  napi_value buffer, meta_value;
  if (get_prop(env, opts, "buffer", &buffer) || arg_bytes(env, buffer, "buffer", &base, &base_len) ||
      get_prop(env, opts, "meta", &meta_value) ||
      arg_u32array(env, meta_value, "meta", &meta, &meta_len))
    return NULL;
  if (max_batch < 1 || max_batch > MAX_BATCH) return throw_range(env, "maxBatch must be 1..pollerConstants.maxBatch");
  uint32_t vnet = 0;
  if (get_optional_u32(env, opts, "vnetHeaderBytes", 0, &vnet)) return NULL;
  if (vnet != 0 && vnet != sizeof(struct virtio_net_hdr)) return throw_range(env, "vnetHeaderBytes must be 0 or 10");
  if (vnet > headroom) return throw_range(env, "headroomBytes must hold the vnet header");
  if ((uint64_t)slot_bytes < (uint64_t)headroom + tailroom + MIN_READ_BYTES)
    return throw_range(env, "slotBytes must hold headroom + pollerConstants.minReadBytes + tailroom bytes");
  if ((uint64_t)slot_bytes * max_batch > base_len || (uint64_t)slot_bytes * max_batch > UINT32_MAX)
    return throw_range(env, "buffer must hold maxBatch slots (and stay under 4 GiB)");
  if (meta_len < META_STRIDE * (size_t)max_batch) return throw_range(env, "meta must hold metaStride * maxBatch entries");
  if (meta_len / META_STRIDE > UINT32_MAX) return throw_range(env, "meta is too large");

  if (vnet && (max_batch < TSO_SLOTS || meta_len < META_STRIDE * TSO_META_PACKETS))
    return throw_range(env, "with vnet headers maxBatch must be >= tsoSlots and meta hold metaStride * tsoMetaPackets entries");

  poller_t *p = calloc(1, sizeof *p);
  if (!p) return throw_errno(env, ENOMEM, "calloc", "Poller");
  p->base = base;
  p->meta = meta;
  p->slot_bytes = slot_bytes;
  p->headroom = headroom;
  p->read_bytes = slot_bytes - headroom - tailroom;
  p->max_batch = max_batch;
  p->vnet = vnet;
  p->max_packets = vnet ? (uint32_t)(meta_len / META_STRIDE) : max_batch;
  p->tailroom = tailroom;

  napi_value keep[] = {buffer, meta_value};
  if (js_poll_init(&p->jp, &poller_class, env, self, opts, fd, keep, 2)) return NULL;
  return self;
}

napi_status poller_register(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      JS_POLL_METHOD("start", js_poll_start_method, &poller_class),
      JS_POLL_METHOD("stop", js_poll_stop_method, &poller_class),
      JS_POLL_METHOD("close", js_poll_close_method, &poller_class),
  };
  static const js_constant_t constants[] = {
      {"maxBatch", MAX_BATCH},
      {"minReadBytes", MIN_READ_BYTES},
      {"metaStride", META_STRIDE},
      {"vnetHeaderBytes", sizeof(struct virtio_net_hdr)},
      {"tsoSlots", TSO_SLOTS},
      {"tsoMetaPackets", TSO_META_PACKETS},
  };
  napi_status st = export_constants(env, exports, "pollerConstants", constants, sizeof constants / sizeof constants[0]);
  if (st != napi_ok) return st;
  return define_class(env, exports, "Poller", poller_new, methods, sizeof methods / sizeof methods[0]);
}
