// Allocation per packet on the data path: two real engines with real SecureChannels, each
// behind the real DataPlane, joined by an in-process wire. Packets go A -> B and B -> A
// (TUN read, route, seal, "UDP", open, deliver), and the bench reports the JS heap bytes
// allocated per packet and per batch, the sites that allocate, and the GCs that ran.
//   npx tsc -p . && node dist/bench/dataplane-alloc.js [packets] [--algorithm chacha20|aes256|plain] [--batch N]
//
// The loop fakes (src/daemon/warmup.ts, which warms the JIT the same way at start-up) reuse
// every buffer and view (unlike a transport that copies each datagram, by
// design for tests), so whatever is counted is allocated by the engine, the channel or the
// data plane themselves. Bytes come from V8's sampling heap profiler (every 64 bytes on
// average, objects freed by GC included), so they do not depend on when GCs run. Compare
// --batch 1, 16 and 64 to tell per-batch from per-packet allocation.
import { Session } from 'node:inspector';
import { PerformanceObserver } from 'node:perf_hooks';
import type { AlgorithmName } from '../src/crypto/aead.js';
import { systemRng } from '../src/crypto/rng.js';
import { connectedLoopPair } from '../src/daemon/warmup.js';

const argv = process.argv.slice(2);
const PACKETS = Number(argv[0] !== undefined && /^\d+$/.test(argv[0]) ? argv[0] : 200_000);
const algIdx = argv.indexOf('--algorithm');
const ALGORITHM = (algIdx >= 0 ? argv[algIdx + 1] : 'chacha20') as AlgorithmName;
const PACKET_BYTES = 1200;
const batchIdx = argv.indexOf('--batch');
const BATCH = batchIdx >= 0 ? Number(argv[batchIdx + 1]) : 16; // TUN packets per read batch
const SAMPLING_INTERVAL_BYTES = 64;
const WARM_UP_ROUNDS = 5_000;

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

/** The inspector's HeapProfiler, on this very isolate. */
class HeapSampler {
  private readonly session = new Session();
  constructor() {
    this.session.connect();
  }

  post<T>(method: string, params: object = {}): Promise<T> {
    return new Promise((resolve, reject) =>
      this.session.post(method, params, (err, res) => (err ? reject(err) : resolve(res as T))));
  }

  async start(): Promise<void> {
    await this.post('HeapProfiler.enable');
    await this.post('HeapProfiler.startSampling', {
      samplingInterval: SAMPLING_INTERVAL_BYTES, includeObjectsCollectedByMinorGC: true, includeObjectsCollectedByMajorGC: true,
    });
  }

  /** Bytes allocated since start(), by innermost function and source position. */
  async stop(): Promise<Map<string, number>> {
    const { profile } = await this.post<{ profile: { head: ProfileNode } }>('HeapProfiler.stopSampling');
    this.session.disconnect();
    const sites = new Map<string, number>();
    const walk = (n: ProfileNode): void => {
      const f = n.callFrame;
      const site = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/dist\//, '')}:${f.lineNumber + 1}`;
      if (n.selfSize > 0) sites.set(site, (sites.get(site) ?? 0) + n.selfSize);
      n.children.forEach(walk);
    };
    walk(profile.head);
    return sites;
  }
}

async function main(): Promise<void> {
  const pair = connectedLoopPair({ algorithm: ALGORITHM, rng: systemRng(), batch: BATCH, packetBytes: PACKET_BYTES });
  if (!pair) throw new Error('the loop pair did not connect');
  const { a, b, wire } = pair;

  let gcs = 0;
  let minor = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcs++;
      if ((e as unknown as { detail?: { kind?: number } }).detail?.kind === 1) minor++; // NODE_PERFORMANCE_GC_MINOR
    }
  });

  const round = (): void => { a.tun.read(); wire.pump(); b.tun.read(); wire.pump(); };
  for (let i = 0; i < WARM_UP_ROUNDS; i++) round(); // until V8 has optimised the per-batch code too
  await new Promise((r) => setImmediate(r));
  const delivered0 = a.tun.stats.writePackets + b.tun.stats.writePackets;

  obs.observe({ entryTypes: ['gc'] });
  const sampler = new HeapSampler();
  await sampler.start();
  let sent = 0;
  let batches = 0;
  const t0 = process.hrtime.bigint();
  while (sent < PACKETS) {
    round();
    sent += 2 * BATCH;
    batches += 4; // two TUN reads, two datagram batches
  }
  const ns = Number(process.hrtime.bigint() - t0);
  const sites = await sampler.stop();
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setTimeout(r, 50));
  obs.disconnect();
  const delivered = a.tun.stats.writePackets + b.tun.stats.writePackets - delivered0;
  a.plane.stop();
  b.plane.stop();
  console.log(`dataplane-alloc: ${sent} packets of ${PACKET_BYTES} B (${ALGORITHM}, both directions, batches of ${BATCH})`);
  console.log(`  delivered          ${delivered}${delivered < sent ? '  (LOSS: check the setup)' : ''}`);
  const bytes = [...sites.values()].reduce((x, y) => x + y, 0);
  console.log(`  heap bytes/packet  ${(bytes / sent).toFixed(2)}  (${(bytes / batches).toFixed(1)} per batch; sampled every ${SAMPLING_INTERVAL_BYTES} B)`);
  for (const [site, n] of [...sites].sort((x, y) => y[1] - x[1]).slice(0, 5)) {
    console.log(`    ${(n / sent).toFixed(2).padStart(6)} B/packet  ${site}`);
  }
  console.log(`  GCs                ${gcs} (minor ${minor}) = ${((gcs * 100_000) / sent).toFixed(1)} per 100 000 packets`);
  console.log(`  time               ${(ns / sent / 1000).toFixed(2)} us/packet (seal+open+routing, one core)`);
  if (delivered < sent) process.exitCode = 1;
}

await main();
