/*
 * hacloud native addon: TUN device access for Node.js (N-API).
 *
 * Node has no way to open a TUN device usefully: net.Socket rejects the fd, libuv threadpool
 * reads are slow and block shutdown, and a pipe wrap merges queued writes into one writev
 * (corrupting packets). So this file opens the device and writes one packet per write(),
 * and poller.c reads it with a uv_poll_t on the main loop.
 *
 * Exports:
 *   openTun(path, name) -> { fd, name }    name may be a template such as "hacloud%d"
 *   write(fd, bytes, offset, length) -> bytes written, or -errno (never throws for I/O errors)
 *   writeBatch(fd, bytes, meta, count) -> packets written; meta holds [offset, length] pairs
 *   close(fd) -> 0 or -errno
 *   Poller                                  see poller.c
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/if.h>
#include <linux/if_tun.h>

static napi_value open_tun(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) return throw_type(env, "openTun(path, name) needs 2 arguments");

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
  memcpy(ifr.ifr_name, name, strlen(name));
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, err, "ioctl(TUNSETIFF)", name[0] ? name : "(kernel-chosen name)");
  }

  napi_value result, fd_value, name_value;
  NAPI_CALL(env, napi_create_object(env, &result));
  NAPI_CALL(env, napi_create_int32(env, fd, &fd_value));
  NAPI_CALL(env, napi_create_string_utf8(env, ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ),
                                         &name_value));
  NAPI_CALL(env, napi_set_named_property(env, result, "fd", fd_value));
  NAPI_CALL(env, napi_set_named_property(env, result, "name", name_value));
  return result;
}

static ssize_t write_packet(int fd, const uint8_t *data, size_t len) {
  ssize_t n;
  do n = write(fd, data, len);
  while (n < 0 && errno == EINTR);
  return n < 0 ? -errno : n;
}

static napi_value write_one(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) return throw_type(env, "write(fd, bytes, offset, length) needs 4 arguments");
  int32_t fd;
  uint8_t *data;
  size_t size;
  uint32_t offset, length;
  if (arg_int32(env, argv[0], "fd", &fd) || arg_bytes(env, argv[1], "bytes", &data, &size) ||
      arg_uint32(env, argv[2], "offset", &offset) || arg_uint32(env, argv[3], "length", &length))
    return NULL;
  if ((size_t)offset + length > size) return throw_range(env, "offset + length is past the end");
  napi_value result;
  NAPI_CALL(env, napi_create_int32(env, (int32_t)write_packet(fd, data + offset, length), &result));
  return result;
}

static napi_value write_batch(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) return throw_type(env, "writeBatch(fd, bytes, meta, count) needs 4 arguments");
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
  for (uint32_t i = 0; i < count; i++)
    if (write_packet(fd, data + meta[2 * i], meta[2 * i + 1]) >= 0) written++;
  napi_value result;
  NAPI_CALL(env, napi_create_int32(env, written, &result));
  return result;
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
  };
  NAPI_CALL(env, napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  NAPI_CALL(env, poller_register(env, exports));
  return exports;
}

NAPI_MODULE_INIT() { return init(env, exports); }
