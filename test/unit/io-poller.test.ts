// The native Poller (the TUN read loop) on a FIFO instead of a TUN device, so it runs without
// privileges: it sizes from the addon's pollerConstants, and it stops with EFAULT rather than
// write into a buffer JS has detached or shrunk since construction.
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadNative, type NativePoller } from '../../src/native/addon.js';

const native = loadNative();
const P = native.pollerConstants;
const MAX_BATCH = 4;

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

/** A FIFO opened read-write and non-blocking: we write into it, the poller reads it. */
function fifo(): number {
  const dir = mkdtempSync(join(tmpdir(), 'hacloud-poller-'));
  const path = join(dir, 'fifo');
  execFileSync('mkfifo', [path]);
  const fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
  cleanups.push(() => {
    closeSync(fd);
    rmSync(dir, { recursive: true });
  });
  return fd;
}

function poller(fd: number, meta: Uint32Array, buffer = new Uint8Array(MAX_BATCH * P.minReadBytes)) {
  const got: number[][] = [];
  const errors: string[] = [];
  const p: NativePoller = new native.Poller({
    fd, buffer, meta, slotBytes: P.minReadBytes, headroomBytes: 0, tailroomBytes: 0, maxBatch: MAX_BATCH,
    onPackets: (count, segmented, dropped) => got.push([count, segmented, dropped, ...meta.subarray(0, P.metaStride * count)]),
    onError: (code, _errno, _message, fatal) => errors.push(`${code}${fatal ? ' fatal' : ''}`),
  });
  cleanups.push(() => p.close());
  p.start();
  return { got, errors, buffer };
}

describe('native Poller buffers', () => {
  it('reads into the slots it was given', async () => {
    const fd = fifo();
    const { got, buffer } = poller(fd, new Uint32Array(P.metaStride * MAX_BATCH));
    writeSync(fd, Buffer.from('hello'));
    await expect.poll(() => got).toEqual([[1, 0, 0, 0, 5]]);
    expect(Buffer.from(buffer.subarray(0, 5)).toString()).toBe('hello');
  });

  it('stops with EFAULT when JS detached its buffer', async () => {
    const fd = fifo();
    const { got, errors, buffer } = poller(fd, new Uint32Array(P.metaStride * MAX_BATCH));
    structuredClone(buffer.buffer, { transfer: [buffer.buffer] });
    writeSync(fd, Buffer.from('hello'));
    await expect.poll(() => errors).toEqual(['EFAULT fatal']);
    expect(got).toEqual([]);
  });

  it('stops with EFAULT when JS shrank a resizable meta', async () => {
    const fd = fifo();
    const bytes = 4 * P.metaStride * MAX_BATCH;
    // resizable ArrayBuffers (ES2024) are in Node 20 but not in this project's ES2022 typings
    type Resizable = ArrayBuffer & { resize(n: number): void };
    const Resizable = ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => Resizable;
    const resizable = new Resizable(bytes, { maxByteLength: bytes });
    const { got, errors } = poller(fd, new Uint32Array(resizable)); // length-tracking view
    resizable.resize(4);
    writeSync(fd, Buffer.from('hello'));
    await expect.poll(() => errors).toEqual(['EFAULT fatal']);
    expect(got).toEqual([]);
  });
});
