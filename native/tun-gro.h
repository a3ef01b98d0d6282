/* TUN writes with a virtio_net_hdr (IFF_VNET_HDR), coalescing TCP segments: tun-gro.c. */
#ifndef HACLOUD_TUN_GRO_H
#define HACLOUD_TUN_GRO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Most TCP segments merged into one write. */
#define TUN_GRO_MAX_SEGMENTS 64

/* Write one packet behind an all-zero virtio_net_hdr; bytes written or -errno. */
ssize_t tun_write_vnet(int fd, const uint8_t *data, size_t len);

/* Write packets meta[2i] (offset), meta[2i+1] (length), merging TCP runs into GSO writes while
   *gso_ok; clears *gso_ok if the kernel refuses one. Returns packets written. */
int32_t tun_write_coalesced(int fd, const uint8_t *data, const uint32_t *meta, uint32_t count, bool *gso_ok);

/* Merged writes so far and the segments they carried (process-wide). */
void tun_gro_stats(double *writes, double *segments);

#endif
