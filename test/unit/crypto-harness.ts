// Test harness for the secure channel: a seeded Rng and a tiny in-memory network that
// delivers datagrams between SecureChannels in virtual time (latency, jitter, loss,
// duplication and a per-datagram intercept hook), and runs each channel's timers.
import type { ChannelSink } from '../../src/core/channel.js';
import type { DropReason, Endpoint, MsgKind, PeerId, Rng } from '../../src/core/types.js';
import { SecureChannel, type SecureChannelOptions } from '../../src/crypto/channel.js';
import { createInitiation, type HandshakeIdentity } from '../../src/crypto/handshake.js';
import { generateKeyPair, type IdentityKeyPair } from '../../src/crypto/keys.js';
import { mac1Key, sealInitiation } from '../../src/crypto/macs.js';

/** xoshiro128** seeded through splitmix32: reproducible, fast, good enough for tests. */
export class SeededRng implements Rng {
  private s = new Uint32Array(4);

  constructor(seed: number) {
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
  }

  u32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2]! ^= s[0]!; s[3]! ^= s[1]!; s[1]! ^= s[2]!; s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  next(): number {
    return this.u32() / 0x1_0000_0000;
  }

  fill(buf: Uint8Array): void {
    for (let i = 0; i < buf.length; i += 4) {
      const v = this.u32();
      for (let j = 0; j < 4 && i + j < buf.length; j++) buf[i + j] = (v >>> (8 * j)) & 0xff;
    }
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

export interface Received { now: number; peer: PeerId; endpoint: Endpoint; kind: MsgKind; payload: Uint8Array }

export class TestNode implements ChannelSink {
  channel!: SecureChannel;
  readonly drops = new Map<DropReason, number>();
  readonly received: Received[] = [];
  readonly established: { now: number; peer: PeerId; endpoint: Endpoint }[] = [];
  readonly selfEndpoints: Endpoint[] = [];
  readonly errors: unknown[] = [];
  /** Called for every authenticated message, after it was recorded. */
  onMsg: ((r: Received) => void) | null = null;

  constructor(readonly net: Net, public endpoint: Endpoint, readonly identity: IdentityKeyPair) {}

  get id(): PeerId {
    return this.identity.id;
  }

  send(to: Endpoint, datagram: Uint8Array): void {
    // like the kernel: a datagram to one of our own addresses comes from that address
    this.net.transmit(this.net.nodes.get(to) === this ? to : this.endpoint, to, datagram);
  }

  onEstablished(now: number, peer: PeerId, endpoint: Endpoint): void {
    this.established.push({ now, peer, endpoint });
  }

  onMessage(now: number, peer: PeerId, endpoint: Endpoint, kind: MsgKind, payload: Uint8Array): void {
    const r = { now, peer, endpoint, kind, payload: payload.slice() };
    this.received.push(r);
    this.onMsg?.(r);
  }

  onSelf(endpoint: Endpoint): void {
    this.selfEndpoints.push(endpoint);
  }

  onDrop(reason: DropReason): void {
    this.drops.set(reason, (this.drops.get(reason) ?? 0) + 1);
  }

  dropCount(reason?: DropReason): number {
    if (reason) return this.drops.get(reason) ?? 0;
    let n = 0;
    for (const v of this.drops.values()) n += v;
    return n;
  }

  dataPayloads(from: PeerId): string[] {
    return this.received.filter((r) => r.peer === from && r.kind === 0).map((r) => new TextDecoder().decode(r.payload));
  }
}

export interface Packet { at: number; seq: number; from: Endpoint; to: Endpoint; data: Uint8Array }

export type Verdict = 'pass' | 'drop';

export interface NetOptions {
  latencyMs?: number;
  jitterMs?: number;
  lossRate?: number;
  dupRate?: number;
}

export class Net {
  now = 0;
  readonly rng: SeededRng;
  readonly nodes = new Map<Endpoint, TestNode>();
  private queue: Packet[] = [];
  private seq = 0;
  /** Every datagram put on the wire, in order (copies). */
  readonly log: Packet[] = [];
  /** Decide per datagram; default pass. */
  intercept: ((p: Packet) => Verdict) | null = null;

  constructor(seed: number, readonly opts: NetOptions = {}) {
    this.rng = new SeededRng(seed);
  }

  addNode(endpoint: Endpoint, options: Partial<SecureChannelOptions> = {}, identity?: IdentityKeyPair): TestNode {
    const id = identity ?? generateKeyPair(this.rng);
    const node = new TestNode(this, endpoint, id);
    node.channel = new SecureChannel({
      identity: id,
      rng: this.rng,
      sink: node,
      onInternalError: (e) => node.errors.push(e),
      ...options,
    });
    this.nodes.set(endpoint, node);
    return node;
  }

  transmit(from: Endpoint, to: Endpoint, datagram: Uint8Array): void {
    const { latencyMs = 1, jitterMs = 0, lossRate = 0, dupRate = 0 } = this.opts;
    const p: Packet = { at: 0, seq: this.seq++, from, to, data: datagram.slice() };
    this.log.push(p);
    if (this.intercept && this.intercept(p) === 'drop') return;
    if (lossRate > 0 && this.rng.next() < lossRate) return;
    const copies = dupRate > 0 && this.rng.next() < dupRate ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      this.enqueue({ ...p, seq: this.seq++, at: this.now + latencyMs + jitterMs * this.rng.next() });
    }
  }

  /** Deliver `data` to `to` at `at` (tests use it to replay or reorder by hand). */
  enqueue(p: Packet): void {
    let i = this.queue.length;
    while (i > 0 && (this.queue[i - 1]!.at > p.at || (this.queue[i - 1]!.at === p.at && this.queue[i - 1]!.seq > p.seq))) i--;
    this.queue.splice(i, 0, p);
  }

  inFlight(): number {
    return this.queue.length;
  }

  /** Run until `untilMs` (virtual), delivering packets and firing timers in time order. */
  run(untilMs: number): void {
    for (let guard = 0; ; guard++) {
      if (guard > 5_000_000) throw new Error(`network never went quiet before ${untilMs} ms (timer livelock?)`);
      const nextPacket = this.queue.length ? this.queue[0]!.at : Infinity;
      let nextTimer = Infinity;
      let timerNode: TestNode | null = null;
      for (const n of this.nodes.values()) {
        const d = n.channel.nextDeadline();
        if (d < nextTimer) { nextTimer = d; timerNode = n; }
      }
      const next = Math.min(nextPacket, nextTimer);
      if (next > untilMs) break;
      this.now = Math.max(this.now, next);
      if (nextPacket <= nextTimer) {
        const p = this.queue.shift()!;
        this.nodes.get(p.to)?.channel.receive(this.now, p.from, p.data);
      } else {
        timerNode!.channel.timeout(this.now);
        // timeout() must deal with everything due, or a real event loop would spin
        if (timerNode!.channel.nextDeadline() <= this.now) throw new Error(`timer livelock at ${this.now} ms`);
      }
    }
    this.now = Math.max(this.now, untilMs);
  }

  /** Run for `ms` more. */
  advance(ms: number): void {
    this.run(this.now + ms);
  }
}

export const PSK = new Uint8Array(32).fill(7);

/** Two nodes with the same psk; `a` connects to `b` unless told otherwise. */
export function pair(seed: number, opts: NetOptions = {}, chOpts: Partial<SecureChannelOptions> = {}) {
  const net = new Net(seed, opts);
  const a = net.addNode('10.0.0.1:3210', { psk: PSK, ...chOpts });
  const b = net.addNode('10.0.0.2:3210', { psk: PSK, ...chOpts });
  return { net, a, b };
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);

let forger: IdentityKeyPair | undefined;

/**
 * A valid message 1 to `target` from a made-up initiator, as an attacker who knows mac1's key
 * material (the psk, or in key mode the target's public key, which is no secret) can write it.
 */
export function forgeInitiation(
  rng: SeededRng, target: TestNode, o: { psk?: Uint8Array; wallMs: number; cookie?: Uint8Array },
): Uint8Array {
  // message 1 does not carry the static key, so one made-up identity serves every forgery
  forger ??= generateKeyPair(new SeededRng(0xf0f0));
  const id: HandshakeIdentity = { keyPair: forger, psk: o.psk ?? new Uint8Array(32), algorithms: ['chacha20'], instanceId: new Uint8Array(8) };
  const e = new Uint8Array(32);
  rng.fill(e);
  const hs = createInitiation(id, rng.u32() & 0x7fff_ffff, e, o.wallMs);
  return sealInitiation(hs.body, mac1Key(o.psk ?? target.identity.publicKey), o.cookie ?? null);
}

export const msgType = (p: Packet): number => p.data[0]!;
