// Handshake flooder for the flood test and benchmark (flood-scenario.ts). Runs inside its own
// lab namespace and sends, for a bounded time and at a paced rate, datagrams that a hacloud
// node must reject, from one socket per source address it owns:
//   random    random bytes of random length
//   lookalike a message-1 shape with random content: half of them a captured message 1's first
//             4 bytes (type, version, reserved) and exact length, the others type 1, version 1
//             or 2, zero reserved bytes, a length near a captured one or in 40..256
//   replay    a real message 1 captured from a legitimate node, sent again unchanged
//   forged    (key mode, --victim-key) a fresh, valid message 1 from a made-up identity: mac1's
//             key is the victim's public key, no secret, so any stranger can write one, and
//             the victim must do X25519 work to answer it until it asks for cookies
// Apart from 'forged' it knows nothing of the handshake beyond "type byte 1, version byte": a
// rewrite of the handshake does not make it stale.
//
// Sockets: the native addon's batched UDP socket (sendmmsg), GSO off so every datagram is its
// own packet, never started (answers are left to the kernel to drop), all sharing one small
// receive buffer. The sources take turns in short bursts (--burst, default 4), so datagrams
// of many sources interleave as they would from independent senders, and sending is paced in
// steps of 0.2 ms so the flood arrives smooth (run it SCHED_FIFO, as flood-scenario.ts does,
// to keep it smooth on busy cores).
//
//   node dist/bench/flooder.js --to4 IP:PORT [--to6 IP6:PORT] --sources FILE (one IP a line)
//     --rate N --seconds S [--replay FILE (hex, one datagram a line)] [--burst N]
//     [--mix random:1,lookalike:2,replay:2,forged:0.1] [--victim-key ID]
// Prints "flood rate t=S sent=N rate=R/s" every second and one "flood done {json}" line at the
// end (also on SIGTERM/SIGINT).
import { randomFillSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { createInitiation, type HandshakeIdentity } from '../src/crypto/handshake.js';
import { generateKeyPair, peerIdToPublicKey } from '../src/crypto/keys.js';
import { mac1Key, sealInitiation } from '../src/crypto/macs.js';
import { loadNative, type NativeUdpSocket } from '../src/native/addon.js';
import { parseHostPort } from '../src/wire/addr.js';

/** The addon sends a socket's queue when 64 datagrams are queued: larger bursts gain nothing. */
const MAX_BURST = 64;
const ENDPOINT_TABLE_BYTES = 4096 * 18;
const RECEIVE_SLOT_BYTES = 65536;
const SOCKET_BUFFER_BYTES = 256 * 1024;
/**
 * Pacing step. Sub-millisecond, so the flood reaches the victim smooth, as from independent
 * senders: with a millisecond timer it would come in clumps with idle gaps between, and the
 * tokens a victim's rate limiter refills during a gap go to whoever arrives in it.
 */
const SLOT_MS = 0.2;
/** Back to the event loop this often (signals, output). */
const YIELD_MS = 20;
/** After a stall, catch up at most this much (a burst far above the rate would not be a steady flood). */
const MAX_CATCH_UP_MS = 250;
const POOL_REFRESH_BYTES = 65536;
const POOL_BYTES = 1 << 20;
const RANDOM_MAX_BYTES = 1200;
const LOOKALIKE_MIN_BYTES = 40;
const LOOKALIKE_MAX_BYTES = 256;
const KINDS = ['random', 'lookalike', 'replay', 'forged'] as const;
type Kind = (typeof KINDS)[number];

export interface FloodSummary {
  sources: number;
  sources4: number;
  sources6: number;
  /** Datagrams the kernel accepted, and those the sockets dropped (full buffers, errors). */
  sent: number;
  sendDrops: number;
  byKind: Record<Kind, number>;
  seconds: number;
  /** Mean over the whole run, and the per-second rates (datagrams the kernel accepted). */
  meanRate: number;
  perSecond: number[];
  cpuSeconds: number;
}

interface Source {
  socket: NativeUdpSocket;
  /** The socket's endpoint id of the target. */
  to: number;
}

/** One socket bound to `ip`, its target registered; never started (nothing is read). */
function openSource(ip: string, target: string, shared: { buffer: Uint8Array; meta: Uint32Array; addrs: Uint8Array }): Source {
  const UdpSocket = loadNative().UdpSocket;
  if (!UdpSocket) throw new Error('the native addon has no UDP socket: rebuild it with `npm run install`');
  const six = isIP(ip) === 6;
  const socket = new UdpSocket({
    family: six ? 6 : 4, host: ip, port: 0, bufferBytes: SOCKET_BUFFER_BYTES, ...shared,
    slotBytes: RECEIVE_SLOT_BYTES, maxBatch: 1, offload: 0,
    onDatagrams: () => {},
    onError: () => {},
  });
  const { host, port } = parseHostPort(target, 0);
  const to = socket.endpoint(host, port);
  if (to < 0) throw new Error(`cannot send from ${ip} to ${target}`);
  return { socket, to };
}

/**
 * Fresh valid messages 1 to the victim whose id is `victimId` (key mode), as a stranger writes
 * them: a made-up identity (message 1 does not carry it), a random ephemeral and index each,
 * the current time, mac1 keyed with the victim's public key, no cookie.
 */
function forger(victimId: string): () => Uint8Array {
  const id: HandshakeIdentity = {
    keyPair: generateKeyPair(), psk: new Uint8Array(32), algorithms: ['chacha20'], instanceId: randomFillSync(new Uint8Array(8)),
  };
  const key = mac1Key(peerIdToPublicKey(victimId));
  const ephemeral = new Uint8Array(32);
  const index = new Uint32Array(1);
  return () => {
    randomFillSync(ephemeral);
    randomFillSync(index);
    return sealInitiation(createInitiation(id, index[0]! & 0x7fff_ffff, ephemeral, Date.now()).body, key, null);
  };
}

function parseMix(text: string, haveReplays: boolean, canForge: boolean): [Kind, number][] {
  const weights = new Map<Kind, number>();
  for (const part of text.split(',')) {
    const [name, w] = part.split(':');
    if (!KINDS.includes(name as Kind) || !(Number(w) >= 0)) throw new Error(`bad --mix entry '${part}'`);
    weights.set(name as Kind, Number(w));
  }
  if (!haveReplays) weights.delete('replay');
  if (!canForge) weights.delete('forged');
  const total = [...weights.values()].reduce((a, b) => a + b, 0);
  if (total <= 0) throw new Error('--mix: no kind with a weight above 0');
  let acc = 0;
  return [...weights].map(([k, w]) => [k, (acc += w / total)]);
}

function readReplays(file: string | undefined): Uint8Array[] {
  if (!file) return [];
  return readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean).map((h) => Uint8Array.from(Buffer.from(h, 'hex')));
}

function main(): void {
  const { values } = parseArgs({
    options: {
      to4: { type: 'string' }, to6: { type: 'string' }, sources: { type: 'string' },
      rate: { type: 'string' }, seconds: { type: 'string' }, replay: { type: 'string' },
      burst: { type: 'string', default: '4' },
      'victim-key': { type: 'string' },
      mix: { type: 'string', default: 'random:1,lookalike:2,replay:2' },
    },
  });
  const rate = Number(values.rate);
  const burst = Number(values.burst);
  if (!(burst >= 1 && burst <= MAX_BURST)) throw new Error(`--burst must be 1..${MAX_BURST}`);
  const seconds = Number(values.seconds);
  if (!(rate > 0) || !(seconds > 0 && seconds <= 600)) throw new Error('need --rate > 0 and --seconds in (0, 600]');
  const replays = readReplays(values.replay);
  const forge = values['victim-key'] ? forger(values['victim-key']) : null;
  const mix = parseMix(values.mix, replays.length > 0, forge !== null);
  const addrs = values.sources ? readFileSync(values.sources, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean) : [];
  const shared = { buffer: new Uint8Array(RECEIVE_SLOT_BYTES), meta: new Uint32Array(3), addrs: new Uint8Array(ENDPOINT_TABLE_BYTES) };
  const sources = addrs.map((ip) => {
    const target = isIP(ip) === 6 ? values.to6 : values.to4;
    if (!target) throw new Error(`no target for the family of ${ip} (--to4/--to6)`);
    return openSource(ip, target, shared);
  });
  if (sources.length === 0) throw new Error('--sources: no source addresses');

  const lookalikeLengths = [...new Set(replays.flatMap((r) => [r.length - 2, r.length, r.length + 2, r.length + 16]))]
    .filter((n) => n >= LOOKALIKE_MIN_BYTES && n <= LOOKALIKE_MAX_BYTES);
  const pool = new Uint8Array(POOL_BYTES);
  randomFillSync(pool);
  const scratch = new Uint8Array(LOOKALIKE_MAX_BYTES);
  const byKind: Record<Kind, number> = { random: 0, lookalike: 0, replay: 0, forged: 0 };
  let replayCursor = 0;
  const randomInt = (n: number) => Math.floor(Math.random() * n);
  const pick = (): Kind => {
    const r = Math.random();
    for (const [k, upTo] of mix) if (r < upTo) return k;
    return mix[mix.length - 1]![0];
  };
  const datagram = (): Uint8Array => {
    const kind = pick();
    byKind[kind]++;
    if (kind === 'replay') return replays[replayCursor++ % replays.length]!;
    if (kind === 'forged') return forge!();
    const off = randomInt(POOL_BYTES - RANDOM_MAX_BYTES);
    if (kind === 'random') return pool.subarray(off, off + 1 + randomInt(RANDOM_MAX_BYTES));
    const model = replays.length > 0 && Math.random() < 0.5 ? replays[randomInt(replays.length)]! : null;
    const len = model ? Math.min(model.length, LOOKALIKE_MAX_BYTES)
      : lookalikeLengths.length > 0 && Math.random() < 0.5 ? lookalikeLengths[randomInt(lookalikeLengths.length)]!
        : LOOKALIKE_MIN_BYTES + randomInt(LOOKALIKE_MAX_BYTES - LOOKALIKE_MIN_BYTES + 1);
    scratch.set(pool.subarray(off, off + len));
    if (model) {
      scratch.set(model.subarray(0, 4));
    } else {
      scratch[0] = 1;
      scratch[1] = 1 + randomInt(2);
      scratch[2] = 0;
      scratch[3] = 0;
    }
    return scratch.subarray(0, len);
  };

  const sentNow = () => sources.reduce((n, s) => n + (s.socket.stats()[0] ?? 0), 0);
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  let queued = 0;
  let cursor = 0;
  let lastSecond = 0;
  let lastSent = 0;
  const perSecond: number[] = [];
  console.log(`flood started sources=${sources.length} rate=${rate}/s seconds=${seconds}`);

  const sendDue = (elapsed: number): void => {
    let due = Math.floor((rate * elapsed) / 1000) - queued;
    const cap = Math.ceil((rate * MAX_CATCH_UP_MS) / 1000);
    if (due > cap) {
      queued += due - cap; // skipped, not owed: the rate reported is what really left
      due = cap;
    }
    while (due > 0) {
      const src = sources[cursor++ % sources.length]!;
      const n = Math.min(due, burst);
      for (let i = 0; i < n; i++) src.socket.send(src.to, datagram());
      src.socket.flush();
      due -= n;
      queued += n;
    }
  };
  const report = (elapsed: number): void => {
    const second = Math.floor(elapsed / 1000);
    if (second <= lastSecond) return;
    const sent = sentNow();
    perSecond.push(sent - lastSent);
    console.log(`flood rate t=${second} sent=${sent} rate=${sent - lastSent}/s`);
    lastSent = sent;
    lastSecond = second;
  };
  // Paced by sleeping SLOT_MS at a time (Atomics.wait: timers have no sub-millisecond step),
  // in stretches of YIELD_MS between which the event loop runs.
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  const run = (): void => {
    const stretchEnd = performance.now() + YIELD_MS;
    while (!finished && performance.now() < stretchEnd) {
      sendDue(performance.now() - start);
      Atomics.wait(sleeper, 0, 0, SLOT_MS);
    }
    randomFillSync(pool, randomInt(POOL_BYTES - POOL_REFRESH_BYTES), POOL_REFRESH_BYTES);
    const elapsed = performance.now() - start;
    report(elapsed);
    if (elapsed >= seconds * 1000) finish();
    else if (!finished) setImmediate(run);
  };
  setImmediate(run);

  let finished = false;
  function finish(): void {
    if (finished) return;
    finished = true;
    const elapsedS = (performance.now() - start) / 1000;
    let sent = 0;
    let sendDrops = 0;
    for (const s of sources) {
      const [ok = 0, dropped = 0, , , errors = 0] = s.socket.stats();
      sent += ok;
      sendDrops += dropped + errors;
    }
    const cpu = process.cpuUsage(cpu0);
    const summary: FloodSummary = {
      sources: sources.length,
      sources4: addrs.filter((a) => isIP(a) === 4).length,
      sources6: addrs.filter((a) => isIP(a) === 6).length,
      sent,
      sendDrops,
      byKind,
      seconds: elapsedS,
      meanRate: sent / elapsedS,
      perSecond,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
    };
    console.log(`flood done ${JSON.stringify(summary)}`);
    for (const s of sources) s.socket.close();
    process.exit(0);
  }
  process.on('SIGTERM', finish);
  process.on('SIGINT', finish);
}

try {
  main();
} catch (e) {
  console.error(`flooder: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(2);
}
