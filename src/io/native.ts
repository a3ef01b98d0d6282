// Loads the compiled N-API addon (native/*.c, built by node-gyp during `npm ci`) and types its
// API. The addon is loaded lazily, so code that never touches a real TUN device (unit tests
// with the in-memory fakes) works without a compiler.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

const ADDON_FILE = 'build/Release/hacloud_native.node';

export interface NativePollerOptions {
  fd: number;
  /** Packet storage: maxBatch slots of slotBytes each. */
  buffer: Uint8Array;
  /** Receives [offset, length] of each packet read on a wake-up. */
  meta: Uint32Array;
  slotBytes: number;
  headroomBytes: number;
  tailroomBytes: number;
  maxBatch: number;
  /** One call per wake-up; buffer/meta are valid only during the call. */
  onPackets(count: number): void;
  /** `fatal`: the poller stopped (device gone); otherwise a soft per-datagram socket error. */
  onError(code: string, errno: number, message: string, fatal: boolean): void;
}

export interface NativePoller {
  start(): void;
  stop(): void;
  /** Stops polling and frees the libuv handle; does not close the fd. Idempotent. */
  close(): void;
}

export interface NativeAddon {
  /** Throws an Error with .code/.errno/.syscall on failure. `name` may be a template ("x%d"). */
  openTun(path: string, name: string): { fd: number; name: string };
  /** Bytes written, or -errno (EAGAIN, EIO...). Never throws for I/O errors. */
  write(fd: number, bytes: Uint8Array, offset: number, length: number): number;
  /** Packets written out of `count`; meta holds [offset, length] pairs. */
  writeBatch(fd: number, bytes: Uint8Array, meta: Uint32Array, count: number): number;
  /** 0 or -errno. */
  close(fd: number): number;
  Poller: new (options: NativePollerOptions) => NativePoller;
}

let cached: NativeAddon | undefined;

export function loadNative(): NativeAddon {
  if (cached) return cached;
  // This file runs from src/io (vitest) or dist/src/io (compiled): look in both package roots.
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [resolve(here, '../..', ADDON_FILE), resolve(here, '../../..', ADDON_FILE)];
  const file = candidates.find((c) => existsSync(c));
  if (!file) {
    throw new Error(
      `hacloud native addon is not built (no ${ADDON_FILE} in the package): run \`npm ci\` ` +
        'or `npm run install` (needs python3, make and a C compiler)',
    );
  }
  try {
    cached = createRequire(import.meta.url)(file) as NativeAddon;
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new Error(`cannot load hacloud native addon ${file}: ${why} — rebuild it with \`npm run install\``);
  }
  return cached;
}
