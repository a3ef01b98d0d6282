// Crypto micro-benchmark: seal+open of 1400-byte packets on the in-place AEAD path, for each
// algorithm; then the same through two SecureChannels (header, replay window, callbacks);
// plus the cost of a handshake and of the password KDF.
//   npx tsc -p . && node dist/bench/aead.js [--seconds 2]
// Prints numbers only; nothing here asserts a speed.
import { createAead, type AlgorithmName } from '../src/crypto/aead.js';
import { SecureChannel } from '../src/crypto/channel.js';
import { generateKeyPair } from '../src/crypto/keys.js';
import { deriveNetworkSecrets, PWHASH_MEM_LIMIT_BYTES, PWHASH_OPS_LIMIT } from '../src/crypto/password.js';
import { systemRng } from '../src/crypto/rng.js';
import type { ChannelSink } from '../src/core/channel.js';
import type { Rng } from '../src/core/types.js';

const PACKET_BYTES = 1400;
const secondsArg = process.argv.indexOf('--seconds');
const SECONDS = secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : 2;

const rng: Rng = systemRng();

function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

interface Rate { wallPps: number; cpuPps: number }

/**
 * Run `fn` (one packet per call) for about SECONDS. Returns packets per second of wall time
 * and per second of this process's CPU time; the second is the steadier number on a busy
 * machine (other processes steal wall time, not CPU time).
 */
function rate(fn: (i: number) => void): Rate {
  for (let i = 0; i < 2000; i++) fn(i); // warm up the JIT
  let n = 0;
  const cpu0 = process.cpuUsage();
  const start = nowMs();
  const end = start + SECONDS * 1000;
  while (nowMs() < end) {
    for (let k = 0; k < 1000; k++) fn(n++);
  }
  const wallS = (nowMs() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  return { wallPps: n / wallS, cpuPps: n / cpuS };
}

function report(label: string, r: Rate): void {
  const mb = (pps: number) => ((pps * PACKET_BYTES) / 1e6).toFixed(0).padStart(6);
  console.log(`${label.padEnd(36)} ${mb(r.cpuPps)} MB/s per CPU-second ${(1e6 / r.cpuPps).toFixed(2).padStart(6)} us CPU/packet` +
    `   (wall: ${mb(r.wallPps)} MB/s)`);
}

function aeadPath(alg: AlgorithmName): void {
  const key = new Uint8Array(32);
  rng.fill(key);
  const tx = createAead(alg, key);
  const rx = createAead(alg, key);
  const aad = new Uint8Array(16);
  const buf = new Uint8Array(PACKET_BYTES + 16);
  rng.fill(buf);
  const pt = buf.subarray(0, PACKET_BYTES);
  const sealed = buf.subarray(0, PACKET_BYTES + tx.tagBytes);
  report(`aead ${alg} seal+open (in place)`, rate((i) => {
    tx.seal(i, aad, pt, buf);
    if (rx.open(i, aad, sealed, buf) !== PACKET_BYTES) throw new Error('open failed');
  }));
}

function channelPath(alg: AlgorithmName): void {
  const psk = new Uint8Array(32).fill(1);
  // during the handshake the sinks queue copies; on the data path a's sink copies into one
  // reused buffer (standing in for the kernel's copy in a UDP send)
  const queue: [string, Uint8Array][] = [];
  const wire = new Uint8Array(PACKET_BYTES + 32);
  let wireLen = 0;
  let dataPath = false;
  let delivered = 0;
  const sink = (name: string): ChannelSink => ({
    send: (_to, d) => {
      if (dataPath) { wire.set(d); wireLen = d.length; } else queue.push([name, d.slice()]);
    },
    onEstablished: () => {},
    onMessage: () => { delivered++; },
    onSelf: () => {},
    onDrop: (r) => { throw new Error(`unexpected drop: ${r}`); },
  });
  const a = new SecureChannel({ identity: generateKeyPair(), psk, rng, algorithms: [alg], sink: sink('a') });
  const b = new SecureChannel({ identity: generateKeyPair(), psk, rng, algorithms: [alg], sink: sink('b') });
  a.connect(0, 'b');
  while (queue.length) {
    const [from, d] = queue.shift()!;
    (from === 'a' ? b : a).receive(0, from, d);
  }
  if (!a.isEstablished(b.localId)) throw new Error('bench handshake failed');
  dataPath = true;
  const payload = new Uint8Array(PACKET_BYTES);
  rng.fill(payload);
  const datagram = wire.subarray(0, PACKET_BYTES + 32);
  report(`channel ${alg} send+receive`, rate(() => {
    a.send(1, b.localId, 0, payload);
    b.receive(1, 'a', wireLen === datagram.length ? datagram : wire.subarray(0, wireLen));
  }));
  if (delivered === 0) throw new Error('nothing delivered');
}

function handshakeCost(): void {
  const psk = new Uint8Array(32).fill(1);
  const n = 300;
  const start = nowMs();
  for (let i = 0; i < n; i++) {
    const q: [string, Uint8Array][] = [];
    const mk = (name: string) => new SecureChannel({
      identity: generateKeyPair(), psk, rng,
      sink: { send: (_t, d) => q.push([name, d.slice()]), onEstablished() {}, onMessage() {}, onSelf() {}, onDrop() {} },
    });
    const a = mk('a');
    const b = mk('b');
    a.connect(0, 'b');
    while (q.length) {
      const [from, d] = q.shift()!;
      (from === 'a' ? b : a).receive(0, from, d);
    }
  }
  console.log(`handshake (2 identities + 3 messages + confirm)   ${((nowMs() - start) / n).toFixed(2)} ms`);
}

function passwordCost(): void {
  const start = nowMs();
  deriveNetworkSecrets('benchmark password');
  const kdf = `password KDF (Argon2id, ops ${PWHASH_OPS_LIMIT}, ${PWHASH_MEM_LIMIT_BYTES / 2 ** 20} MiB)`;
  console.log(`${kdf.padEnd(50)}${(nowMs() - start).toFixed(0)} ms`);
}

console.log(`hacloud crypto bench: ${PACKET_BYTES}-byte packets, ${SECONDS} s per line, node ${process.version}`);
for (const alg of ['chacha20', 'aes256', 'plain'] as const) aeadPath(alg);
for (const alg of ['chacha20', 'aes256', 'plain'] as const) channelPath(alg);
handshakeCost();
passwordCost();
