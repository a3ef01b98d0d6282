// A misbehaving member for the simulator: a normal channel whose outgoing NodeInfo messages
// are rewritten by the test (extra claims, a lying boot time, a poisoned peer list). The
// rogue is authenticated like any member, so this is what a compromised or malicious node
// can send; the receivers' engines are the real ones.
import type { Channel } from '../../src/core/channel.js';
import { MsgKind, type Endpoint, type PeerId } from '../../src/core/types.js';
import { decodeControl, encodeControl, type NodeInfo } from '../../src/wire/control.js';
import type { ChannelContext, ChannelFactory } from './harness.js';

/** Rewrite (or keep, by returning it unchanged) a NodeInfo the rogue sends to `to`. */
export type InfoRewrite = (info: NodeInfo, to: PeerId) => NodeInfo;

/**
 * Wraps `inner`'s channels for the node named `rogue`; every other node is left alone.
 * `sent` hears whether the channel took each rewritten NodeInfo (a session may not be ready).
 */
export function rogueChannel(inner: ChannelFactory, rogue: string, rewrite: InfoRewrite, sent?: (ok: boolean) => void): ChannelFactory {
  const factory: ChannelFactory = (ctx: ChannelContext) => {
    const ch = inner(ctx);
    if (ctx.name !== rogue) return ch;
    return new Proxy(ch, {
      get(target, prop, receiver) {
        if (prop !== 'send') {
          const v = Reflect.get(target, prop, receiver) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        }
        return (now: number, peer: PeerId, kind: MsgKind, payload: Uint8Array): boolean => {
          const res = kind === MsgKind.Control ? decodeControl(payload) : null;
          if (res?.ok !== true || res.msg.type !== 'node-info') return target.send(now, peer, kind, payload);
          const ok = target.send(now, peer, kind, encodeControl(rewrite(res.msg, peer)));
          sent?.(ok);
          return ok;
        };
      },
    }) as Channel;
  };
  if (inner.recordAuth) factory.recordAuth = inner.recordAuth;
  return factory;
}

/** `count` gossip entries with `perEntry` endpoints each, all on `host` (distinct ports). */
export function poisonedPeers(host: string, count: number, perEntry: number): { id: PeerId; endpoints: Endpoint[] }[] {
  const out: { id: PeerId; endpoints: Endpoint[] }[] = [];
  let port = 1024;
  for (let i = 0; i < count; i++) {
    const endpoints: Endpoint[] = [];
    for (let j = 0; j < perEntry; j++) endpoints.push(`${host}:${port++}`);
    out.push({ id: `ghost-${i.toString().padStart(5, '0')}`.padEnd(43, 'x'), endpoints });
  }
  return out;
}
