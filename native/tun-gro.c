/*
 * Writing to a TUN device opened with IFF_VNET_HDR: every write starts with a virtio_net_hdr,
 * which lets us hand the kernel one large TCP segment (gso_type TCPV4) instead of many small
 * ones. The kernel then runs its IP/TCP receive path once per coalesced segment, like GRO on a
 * NIC: writing decrypted packets one by one cost ~4 us each, mostly TCP receive work per packet.
 *
 * Coalescing rules (a packet that breaks one starts a new group, so nothing is ever reordered):
 * consecutive IPv4 TCP packets without IP options or fragmentation, of the same flow (addresses,
 * ports, TOS, TTL, DF), with identical TCP header bytes apart from sequence number and checksum
 * (so the same ACK, window, options), plain ACK segments (PSH allowed on the last one), payloads
 * of the first one's size (the last may be shorter), contiguous sequence numbers, up to 64
 * segments and 65535 bytes. The merged packet keeps the first header with the total length, a
 * fresh IP checksum and the TCP pseudo-header sum for the kernel to complete (NEEDS_CSUM).
 * Everything else is written as it is, with an all-zero header.
 */
#include "tun-gro.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/virtio_net.h>

#define MAX_IP_BYTES 65535u
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10

static uint8_t merged[MAX_IP_BYTES]; /* the event loop is single-threaded: one scratch buffer */
static double merged_writes, merged_segments;

void tun_gro_stats(double *writes, double *segments) {
  *writes = merged_writes;
  *segments = merged_segments;
}

static ssize_t writev_retry(int fd, const struct iovec *iov, int n) {
  ssize_t r;
  do r = writev(fd, iov, n);
  while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : r;
}

ssize_t tun_write_vnet(int fd, const uint8_t *data, size_t len) {
  struct virtio_net_hdr h;
  memset(&h, 0, sizeof h);
  struct iovec iov[2] = {{&h, sizeof h}, {(void *)data, len}};
  return writev_retry(fd, iov, 2);
}

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

typedef struct {
  const uint8_t *p;
  uint32_t len, thlen, payload, seq;
  uint8_t flags;
} seg_t;

/* Is this an IPv4 TCP data segment we may merge? Fills s. */
static bool parse(const uint8_t *p, uint32_t len, seg_t *s) {
  if (len < 40 || p[0] != 0x45 || p[9] != 6) return false;           /* IPv4, no options, TCP */
  if (rd16(p + 2) != len || (rd16(p + 6) & 0x3fff) != 0) return false; /* exact length, no fragments */
  uint32_t thlen = (uint32_t)(p[32] >> 4) * 4;
  if (thlen < 20 || 20 + thlen > len) return false;
  uint8_t flags = p[33];
  if ((flags & ~(TCP_ACK | TCP_PSH)) || !(flags & TCP_ACK)) return false; /* no SYN/FIN/RST/URG/ECE/CWR */
  s->p = p;
  s->len = len;
  s->thlen = thlen;
  s->payload = len - 20 - thlen;
  s->seq = rd32(p + 24);
  s->flags = flags;
  return s->payload > 0;
}

/* Same flow and same TCP header apart from sequence number, flags (PSH) and checksum. */
static bool same_flow(const seg_t *a, const seg_t *b) {
  if (a->thlen != b->thlen || a->p[1] != b->p[1] || a->p[8] != b->p[8] || (a->p[6] & 0x40) != (b->p[6] & 0x40))
    return false;
  if (memcmp(a->p + 12, b->p + 12, 8) != 0) return false; /* addresses */
  const uint8_t *ta = a->p + 20, *tb = b->p + 20;
  return memcmp(ta, tb, 4) == 0 &&                  /* ports */
         memcmp(ta + 8, tb + 8, 5) == 0 &&          /* ack number, data offset */
         memcmp(ta + 14, tb + 14, 2) == 0 &&        /* window */
         memcmp(ta + 18, tb + 18, a->thlen - 18) == 0; /* urgent pointer, options */
}

static uint16_t fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)sum;
}

static bool write_merged(int fd, const seg_t *segs, int n, uint32_t *failed_segments) {
  const seg_t *first = &segs[0];
  uint32_t hlen = 20 + first->thlen, total = hlen;
  memcpy(merged, first->p, hlen);
  for (int i = 0; i < n; i++) {
    memcpy(merged + total, segs[i].p + 20 + segs[i].thlen, segs[i].payload);
    total += segs[i].payload;
  }
  uint8_t *ip = merged, *th = merged + 20;
  wr16(ip + 2, (uint16_t)total);
  ip[10] = ip[11] = 0;
  uint32_t sum = 0;
  for (int i = 0; i < 20; i += 2) sum += rd16(ip + i);
  wr16(ip + 10, (uint16_t)~fold(sum));
  th[13] = (uint8_t)(first->flags | (segs[n - 1].flags & TCP_PSH));
  /* pseudo-header sum, not complemented: the kernel adds the segment and stores the result */
  uint32_t tcp_len = total - 20;
  sum = rd16(ip + 12) + rd16(ip + 14) + rd16(ip + 16) + rd16(ip + 18) + 6 + tcp_len;
  wr16(th + 16, fold(sum));

  struct virtio_net_hdr h;
  memset(&h, 0, sizeof h);
  h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
  h.hdr_len = (uint16_t)hlen;
  h.gso_size = (uint16_t)first->payload;
  h.csum_start = 20;
  h.csum_offset = 16;
  struct iovec iov[2] = {{&h, sizeof h}, {merged, total}};
  if (writev_retry(fd, iov, 2) >= 0) {
    merged_writes++;
    merged_segments += n;
    return true;
  }
  *failed_segments = (uint32_t)n;
  return false;
}

int32_t tun_write_coalesced(int fd, const uint8_t *data, const uint32_t *meta, uint32_t count, bool *gso_ok) {
  int32_t written = 0;
  seg_t segs[TUN_GRO_MAX_SEGMENTS];
  uint32_t i = 0;
  while (i < count) {
    const uint8_t *p = data + meta[2 * i];
    uint32_t len = meta[2 * i + 1];
    int n = 0;
    if (*gso_ok && parse(p, len, &segs[0]) && !(segs[0].flags & TCP_PSH)) {
      n = 1;
      uint32_t total = segs[0].len, next_seq = segs[0].seq + segs[0].payload;
      while (i + n < count && n < TUN_GRO_MAX_SEGMENTS) {
        seg_t *s = &segs[n];
        if (!parse(data + meta[2 * (i + n)], meta[2 * (i + n) + 1], s) || !same_flow(&segs[0], s) ||
            s->seq != next_seq || s->payload > segs[0].payload || total + s->payload > MAX_IP_BYTES)
          break;
        total += s->payload;
        next_seq += s->payload;
        n++;
        if (s->payload < segs[0].payload || (s->flags & TCP_PSH)) break; /* the last segment */
      }
    }
    if (n > 1) {
      uint32_t failed = 0;
      if (write_merged(fd, segs, n, &failed)) {
        written += n;
        i += (uint32_t)n;
        continue;
      }
      *gso_ok = false; /* the kernel refused: write them one by one, now and from now on */
    }
    if (tun_write_vnet(fd, p, len) >= 0) written++;
    i++;
  }
  return written;
}
