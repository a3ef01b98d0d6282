// What real engines say to each other: a short seeded simulator run (test/sim) of a small
// mesh with claims, gossip, ping traffic, a crash, a restart and a graceful stop, recording
// every payload an engine hands to its channel. The fuzz corpus of control messages and
// data packets thus comes from the engine's own encoders, whatever fields they grow.
import { MsgKind } from '../../../src/core/types.js';
import { Sim, simChannel } from '../../sim/harness.js';

export interface MeshPayloads {
  control: Uint8Array[];
  data: Uint8Array[];
}

export function meshPayloads(seed: number): MeshPayloads {
  const out: MeshPayloads = { control: [], data: [] };
  const seen = new Set<string>();
  const sim = new Sim({
    seed,
    link: { loss: 0.05, duplicate: 0.02 },
    channel: (ctx) => {
      const ch = simChannel(ctx);
      const send = ch.send.bind(ch);
      ch.send = (now, peer, kind, payload) => {
        const key = `${kind}:${Buffer.from(payload).toString('hex')}`;
        if (kind !== MsgKind.Keepalive && !seen.has(key)) {
          seen.add(key);
          (kind === MsgKind.Control ? out.control : out.data).push(payload.slice());
        }
        return send(now, peer, kind, payload);
      };
      return ch;
    },
  });
  sim.add(
    { name: 'a', ip: '10.0.0.1', claims: ['10.0.1.0/24', '2001:db8:1::/48'], seeds: ['b'] },
    { name: 'b', ip: '10.0.0.1', claims: ['10.0.1.0/24'], seeds: ['a'], identity: 'password' },
    { name: 'c', ip: '10.0.0.100', seeds: ['a', 'b'] },
    { name: 'd', ip: '10.0.0.200', claims: ['0.0.0.0/0', '::/0'], seeds: ['c'] },
  );
  sim.start('a', 'b', 'c', 'd');
  sim.run(2_000);
  const ping = sim.ping('c', '10.0.0.1', 20);
  sim.ping('d', '10.0.1.7', 50);
  sim.run(500);
  sim.crash('a');
  sim.run(2_000);
  sim.restart('a');
  sim.run(2_000);
  sim.stop('b');
  sim.run(2_000);
  ping.stopped = true;
  return out;
}
