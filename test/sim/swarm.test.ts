// Randomized swarm: 200 seeds, each a different cluster (size, claims, settings, link
// quality, identity modes, clock skew) put through random crashes, restarts, graceful stops,
// partitions (symmetric and one-way), loss bursts and stalled processes, then a quiet phase.
// Invariants:
//   safety   — at any time, a running node routes a shared IP to a dead process only within
//              peerTimeout + one keepalive after the death (or after its own stall ended);
//   liveness — once the network is quiet (healed, no loss) long enough to reconnect, every
//              live node routes each shared IP to the same live claimant of its most specific
//              prefix — the one that serves it, and exactly one does — and the mesh is complete.
import { describe, expect, it } from 'vitest';
import { parseIPv4 } from '../../src/wire/addr.js';
import { expectedClaimant, runSeeded, seedGraphConnected, Sim, type NodeSpec } from './harness.js';
import { secureChannel } from './secure-channel.js';

/**
 * SIM_SWARM_SEEDS=5000 for a longer soak, SIM_SWARM_FIRST=<n> for other seeds,
 * SIM_SWARM_CHANNEL=secure to run over the real SecureChannel; SIM_SEED=<n> replays one run.
 */
const SECURE = process.env['SIM_SWARM_CHANNEL'] === 'secure';
const SEEDS = Number(process.env['SIM_SWARM_SEEDS'] ?? 200);
const FIRST_SEED = Number(process.env['SIM_SWARM_FIRST'] ?? 1_000);
const SHARED = ['10.0.0.1', '10.0.0.2'];
const SETTINGS = [
  { keepaliveMs: 100, peerTimeoutMs: 800 },
  { keepaliveMs: 200, peerTimeoutMs: 1_500 },
  { keepaliveMs: 250, peerTimeoutMs: 1_000 },
];

interface Totals {
  crashes: number;
  restarts: number;
  stops: number;
  partitions: number;
  freezes: number;
  failovers: number;
}

function swarm(seed: number, totals: Totals): void {
  const sim0 = new Sim({ seed }); // only for its rng: the scenario is drawn from the seed too
  const rng = sim0.rng.fork();
  const settings = rng.pick(SETTINGS);
  const channel = SECURE ? secureChannel(Uint8Array.from({ length: 32 }, () => rng.int(256))) : undefined;
  const sim = new Sim({ seed, ...settings, ...(channel ? { channel } : {}), link: { latencyMs: rng.range(0.2, 5), jitterMs: rng.range(0, 5) } });
  const { keepaliveMs: k, peerTimeoutMs: t } = settings;

  // Sometimes every node starts in the same millisecond: equal boot times, the id decides.
  const sameStart = rng.chance(0.3);
  const n = 4 + rng.int(4);
  const servers1 = 2 + rng.int(2);
  const specs: NodeSpec[] = [];
  for (let i = 0; i < n; i++) {
    const seeds = i === 0 ? [] : [`n${rng.int(i)}`];
    if (rng.chance(0.5)) seeds.push(`n${rng.int(n)}`); // may be itself: self detection
    const spec: NodeSpec = {
      name: `n${i}`,
      ip: i < servers1 ? SHARED[0]! : `10.0.1.${i}`,
      seeds: [...new Set(seeds)],
      identity: rng.chance(0.5) ? 'key' : 'password',
      wallSkewMs: sameStart ? 0 : rng.range(-300, 300),
    };
    // two more nodes share 10.0.0.2, one of them sometimes as the /31 backup
    if (i >= servers1 && i < servers1 + 2) spec.claims = [i === servers1 && rng.chance(0.4) ? '10.0.0.2/31' : '10.0.0.2/32'];
    specs.push(spec);
  }
  sim.add(...specs);
  if (sameStart) sim.start(...specs.map((s) => s.name));
  else for (const s of specs) sim.at(rng.range(0, 1_000), () => sim.start(s.name));

  const unfrozenAt = new Map<string, number>();

  // safety, checked every 20 simulated ms
  const violations: string[] = [];
  const check = (): void => {
    for (const node of sim.live()) {
      if (node.frozenUntil > sim.now) continue;
      for (const ip of SHARED) {
        const r = node.engine!.routeFor(parseIPv4(ip)!);
        if (r === null || sim.isLiveId(r)) continue;
        const since = Math.max(sim.diedAt.get(r) ?? -Infinity, unfrozenAt.get(node.name) ?? -Infinity);
        if (sim.now - since > t + k) violations.push(`t=${sim.now.toFixed(0)} ${node.name} routes ${ip} to dead ${sim.nameOf(r)} (dead since ${since.toFixed(0)})`);
      }
    }
    sim.after(20, check);
  };
  sim.after(0, check);

  // chaos
  const chaosEnd = 1_000 + rng.range(8_000, 15_000);
  sim.run(1_000);
  while (sim.now < chaosEnd) {
    sim.run(rng.range(200, 1_500));
    const running = sim.live().filter((x) => x.stopAt === null);
    const down = sim.all.filter((x) => !x.alive);
    const roll = rng.next();
    if (roll < 0.2 && running.length > 1) {
      sim.crash(rng.pick(running).name);
      totals.crashes++;
    } else if (roll < 0.4 && down.length > 0) {
      sim.start(rng.pick(down).name);
      totals.restarts++;
    } else if (roll < 0.5 && running.length > 1) {
      sim.stop(rng.pick(running).name); // exits within 500 ms
      totals.stops++;
    } else if (roll < 0.7) {
      const side = sim.all.filter(() => rng.chance(0.5)).map((x) => x.endpoint);
      const rest = sim.all.map((x) => x.endpoint).filter((e) => !side.includes(e));
      sim.net.partition(side, rest, rng.chance(0.3));
      const healIn = rng.range(500, 4_000);
      sim.after(healIn, () => sim.net.heal());
      totals.partitions++;
    } else if (roll < 0.85) {
      sim.net.setProfile({ loss: rng.range(0, 0.3), duplicate: rng.range(0, 0.02), reorder: rng.range(0, 0.05) });
    } else if (running.length > 0) {
      const v = rng.pick(running).name;
      const ms = rng.range(200, 3_000);
      sim.freeze(v, ms);
      sim.after(ms, () => unfrozenAt.set(v, sim.now));
      totals.freezes++;
    }
  }

  // quiet: healed, lossless, nobody crashes; long enough to reconnect. Nodes can only find
  // each other through seeds (and gossip from those), so restart crashed nodes until the
  // seed graph of the running ones is connected — as the HA guide says, configure peers.
  sim.run(600); // gracefully stopping nodes exit first
  for (const dead of sim.all.filter((x) => !x.alive)) {
    if (!seedGraphConnected(sim)) sim.start(dead.name);
  }
  sim.net.heal();
  sim.net.setProfile({ loss: 0, duplicate: 0, reorder: 0 });
  const maxReconnectMs = sim.live()[0]?.engine?.timing.reconnectMaxMs ?? 5_000;
  sim.run(3_000 + t + 1.25 * maxReconnectMs);

  expect(violations.slice(0, 5).join('\n')).toBe('');
  const live = sim.live();
  for (const ip of SHARED) {
    const want = expectedClaimant(sim, ip);
    const got = Object.fromEntries(live.map((x) => [x.name, sim.routeOf(x.name, ip)]));
    expect(got, `routes for ${ip}`).toEqual(Object.fromEntries(live.map((x) => [x.name, want])));
  }
  for (const node of live) {
    const peers = node.engine!.status(sim.clock(node)).peers.map((p) => sim.nameOf(p.id)).sort();
    expect(peers, `${node.name}'s peers`).toEqual(live.filter((x) => x !== node).map((x) => x.name).sort());
  }
  totals.failovers += sim.events((e) => e.event.type === 'route-change' && e.event.cause !== 'claims').length;
}

const CHUNK = 50;

describe('randomized swarm', () => {
  const only = process.env['SIM_SEED'];
  const seeds = only ? [Number(only)] : Array.from({ length: SEEDS }, (_, i) => FIRST_SEED + i);
  for (let at = 0; at < seeds.length; at += CHUNK) {
    const chunk = seeds.slice(at, at + CHUNK);
    const name = `seeds ${chunk[0]}..${chunk.at(-1)}: crashes, restarts, stops, partitions, loss and stalls keep routing safe and convergent`;
    it(name, { timeout: 60_000 + chunk.length * 500 }, async () => {
      const totals: Totals = { crashes: 0, restarts: 0, stops: 0, partitions: 0, freezes: 0, failovers: 0 };
      for (const seed of chunk) {
        runSeeded('swarm', seed, (s) => swarm(s, totals));
        await new Promise((resolve) => setImmediate(resolve)); // let the test runner's RPC breathe
      }
      if (!only) {
        // the runs really exercised failures
        expect(totals.crashes).toBeGreaterThan(chunk.length);
        expect(totals.partitions).toBeGreaterThan(chunk.length);
        expect(totals.failovers).toBeGreaterThan(chunk.length);
      }
    });
  }
});
