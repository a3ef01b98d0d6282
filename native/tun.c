/*
 * hacloud native addon: TUN device access for Node.js (N-API).
 *
 * Node has no way to open a TUN device usefully: net.Socket rejects the fd, libuv threadpool
 * reads are slow and block shutdown, and a pipe wrap merges queued writes into one writev
 * (corrupting packets). So this file opens the device and writes one packet per write(),
 * and poller.c reads it with a uv_poll_t on the main loop.
 *
 * Exports:
 *   openTun(path, name, vnetHdr, tso) -> { fd, name, tso }    name may be a template such as
 *                                           "hacloud%d"; tso: offer TSO for IPv4 (poller.c cuts it);
 *                                           vnetHdr: IFF_VNET_HDR (every read and write starts
 *                                           with a 10-byte virtio_net_hdr, see tun-gro.c)
 *   write(fd, bytes, offset, length, vnet) -> bytes written, or -errno (never throws for I/O errors)
 *   writeBatch(fd, bytes, meta, count, mode) -> packets written; meta holds [offset, length]
 *                                           pairs; mode 0 plain, 1 vnet header, 2 vnet header
 *                                           and TCP segments coalesced (tun-gro.c)
 *   close(fd) -> 0 or -errno
 *   tunConstants                            writeBatch modes (writePlain, writeVnet,
 *                                           writeCoalesced) and maxCoalescedSegments
 *   groStats(out)                           fills the Float64Array out with [merged writes,
 *                                           segments in them] since start (process-wide, tun-gro.c)
 *   Poller                                  see poller.c
 *   NativeAead                              see aead.c
 *   UdpSocket                               see udp.c
 */
#include "common.h"
#include "tun-gro.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/if.h>
#include <linux/if_tun.h>

static napi_value open_tun(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) return throw_type(env, "openTun(path, name[, vnetHdr, tso]) needs 2 arguments");
  bool vnet = false;
  if (argc >= 3) napi_get_value_bool(env, argv[2], &vnet);

  char path[4096];
  char name[IFNAMSIZ];
  if (arg_string(env, argv[0], "device path", path, sizeof path) != 0) return NULL;
  if (arg_string(env, argv[1], "interface name", name, sizeof name) != 0) return NULL;

  /* Non-blocking for the poll loop; close-on-exec so ifup/ifdown scripts don't inherit it. */
  int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return throw_errno(env, errno, "open", path);

  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI; /* raw IP packets, no 4-byte packet-info prefix */
  /* No TUNSETOFFLOAD: the kernel keeps checksumming and segmenting what we read; the header
     only lets our writes carry large TCP segments. */
  if (vnet) ifr.ifr_flags |= IFF_VNET_HDR;
  bool tso = false;
  if (argc >= 4) napi_get_value_bool(env, argv[3], &tso);
  memcpy(ifr.ifr_name, name, strlen(name));
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, err, "ioctl(TUNSETIFF)", name[0] ? name : "(kernel-chosen name)");
  }

  /* TSO: the kernel may hand us IPv4 TCP runs as one large segment, cut up in poller.c (and
     so leaves checksums to us: TUN_F_CSUM). Without it everything arrives MTU-sized. */
  bool tso_on = vnet && tso && ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4) == 0;

  napi_value result, fd_value, name_value, tso_value;
  NAPI_CALL(env, napi_create_object(env, &result));
  NAPI_CALL(env, napi_create_int32(env, fd, &fd_value));
  NAPI_CALL(env, napi_create_string_utf8(env, ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ),
                                         &name_value));
  NAPI_CALL(env, napi_set_named_property(env, result, "fd", fd_value));
  NAPI_CALL(env, napi_set_named_property(env, result, "name", name_value));
  NAPI_CALL(env, napi_get_boolean(env, tso_on, &tso_value));
  NAPI_CALL(env, napi_set_named_property(env, result, "tso", tso_value));
  return result;
}

static ssize_t write_packet(int fd, const uint8_t *data, size_t len) {
  ssize_t n;
  do n = write(fd, data, len);
  while (n < 0 && errno == EINTR);
  return n < 0 ? -errno : n;
}

static napi_value write_one(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) return throw_type(env, "write(fd, bytes, offset, length) needs 4 arguments");
  bool vnet = false;
  if (argc >= 5) napi_get_value_bool(env, argv[4], &vnet);
  int32_t fd;
  uint8_t *data;
  size_t size;
  uint32_t offset, length;
  if (arg_int32(env, argv[0], "fd", &fd) || arg_bytes(env, argv[1], "bytes", &data, &size) ||
      arg_uint32(env, argv[2], "offset", &offset) || arg_uint32(env, argv[3], "length", &length))
    return NULL;
  if ((size_t)offset + length > size) return throw_range(env, "offset + length is past the end");
  napi_value result;
  ssize_t n = vnet ? tun_write_vnet(fd, data + offset, length) : write_packet(fd, data + offset, length);
  NAPI_CALL(env, napi_create_int32(env, (int32_t)n, &result));
  return result;
}

/* writeBatch modes */
#define TUN_WRITE_PLAIN 0
#define TUN_WRITE_VNET 1
#define TUN_WRITE_COALESCED 2

/* Cleared for good when the kernel refuses a coalesced write (one TUN device per process). */
static bool gso_ok = true;

static napi_value write_batch(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) return throw_type(env, "writeBatch(fd, bytes, meta, count) needs 4 arguments");
  uint32_t mode = 0;
  if (argc >= 5 && arg_uint32(env, argv[4], "mode", &mode)) return NULL;
  int32_t fd;
  uint8_t *data;
  uint32_t *meta;
  size_t size, meta_len;
  uint32_t count;
  if (arg_int32(env, argv[0], "fd", &fd) || arg_bytes(env, argv[1], "bytes", &data, &size) ||
      arg_u32array(env, argv[2], "meta", &meta, &meta_len) ||
      arg_uint32(env, argv[3], "count", &count))
    return NULL;
  if ((size_t)count * 2 > meta_len) return throw_range(env, "meta holds fewer than count packets");
  for (uint32_t i = 0; i < count; i++)
    if ((size_t)meta[2 * i] + meta[2 * i + 1] > size)
      return throw_range(env, "a packet in meta lies past the end of bytes");

  /* TUN write errors are per packet (EINVAL: not IPv4/IPv6, EIO: link down), so keep going;
     the caller counts count - written as drops. */
  int32_t written = 0;
  if (mode > TUN_WRITE_COALESCED) return throw_range(env, "mode must be 0, 1 or 2");
  if (mode == TUN_WRITE_COALESCED) {
    written = tun_write_coalesced(fd, data, meta, count, &gso_ok);
  } else {
    for (uint32_t i = 0; i < count; i++) {
      const uint8_t *p = data + meta[2 * i];
      if ((mode == TUN_WRITE_VNET ? tun_write_vnet(fd, p, meta[2 * i + 1]) : write_packet(fd, p, meta[2 * i + 1])) >= 0) written++;
    }
  }
  napi_value result;
  NAPI_CALL(env, napi_create_int32(env, written, &result));
  return result;
}

/* Into a caller's Float64Array rather than a fresh array: it is read around every write batch. */
static napi_value gro_stats(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  double *out;
  size_t len;
  if (argc < 1 || arg_f64array(env, argv[0], "out", &out, &len)) return NULL;
  if (len < 2) return throw_range(env, "out must hold 2 numbers");
  tun_gro_stats(&out[0], &out[1]);
  return NULL;
}

static napi_value close_fd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  if (argc < 1 || arg_int32(env, argv[0], "fd", &fd)) return NULL;
  /* No EINTR retry: on Linux the fd is released even when close() is interrupted. */
  int rc = close(fd) < 0 ? -errno : 0;
  napi_value result;
  NAPI_CALL(env, napi_create_int32(env, rc, &result));
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"openTun", NULL, open_tun, NULL, NULL, NULL, napi_enumerable, NULL},
      {"write", NULL, write_one, NULL, NULL, NULL, napi_enumerable, NULL},
      {"writeBatch", NULL, write_batch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, close_fd, NULL, NULL, NULL, napi_enumerable, NULL},
      {"groStats", NULL, gro_stats, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  NAPI_CALL(env, napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  static const js_constant_t constants[] = {
      {"writePlain", TUN_WRITE_PLAIN},
      {"writeVnet", TUN_WRITE_VNET},
      {"writeCoalesced", TUN_WRITE_COALESCED},
      {"maxCoalescedSegments", TUN_GRO_MAX_SEGMENTS},
  };
  NAPI_CALL(env, export_constants(env, exports, "tunConstants", constants, sizeof constants / sizeof constants[0]));
  NAPI_CALL(env, poller_register(env, exports));
  NAPI_CALL(env, aead_register(env, exports));
  NAPI_CALL(env, udp_register(env, exports));
  return exports;
}

NAPI_MODULE_INIT() { return init(env, exports); }
