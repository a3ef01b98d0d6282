# Built by `node-gyp rebuild` from package.json's "install" script (so `npm ci` builds it).
# Output: build/Release/hacloud_native.node, loaded by src/native/addon.ts.
{
  "targets": [
    {
      "target_name": "hacloud_native",
      "sources": ["native/common.c", "native/tun.c", "native/tun-gro.c", "native/js-poll.c", "native/poller.c", "native/aead.c", "native/udp.c", "native/endpoints.c", "native/siphash.c"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
      "cflags_c": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
