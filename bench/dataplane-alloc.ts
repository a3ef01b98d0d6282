// Allocation per packet on the data path: two real engines with real SecureChannels, each
// behind the real DataPlane, joined by an in-process wire. Packets go A -> B and B -> A
// (TUN read, route, seal, "UDP", open, deliver), and the bench reports the JS heap bytes
// allocated per packet and the number of GCs (a perfect hot path shows ~0 B and 0 GCs).
//   npx tsc -p . && node dist/bench/dataplane-alloc.js [packets] [--algorithm chacha20|aes256|plain]
//
// The loop fakes (src/daemon/warmup.ts, which warms the JIT the same way at start-up) reuse
// every buffer and view (unlike src/io/memory.ts, whose transport copies each datagram, by
// design for tests), so whatever is counted is allocated by the engine, the channel or the
// data plane themselves.
// Heap bytes are the growth of V8's used heap over chunks of packets in which no GC ran.
// Reading the heap statistics costs ~1 KB per chunk, so ~2 B/packet is this bench's own floor.
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import type { AlgorithmName } from '../src/crypto/aead.js';
import { systemRng } from '../src/crypto/rng.js';
import { connectedLoopPair } from '../src/daemon/warmup.js';

const argv = process.argv.slice(2);
const PACKETS = Number(argv.find((a) => /^\d+$/.test(a)) ?? 200_000);
const algIdx = argv.indexOf('--algorithm');
const ALGORITHM = (algIdx >= 0 ? argv[algIdx + 1] : 'chacha20') as AlgorithmName;
const PACKET_BYTES = 1200;
const BATCH = 16; // TUN packets per read batch
const CHUNK = 512; // packets per heap sample

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
  for (let i = 0; i < 20_000 / (2 * BATCH); i++) round(); // JIT warm-up
  await new Promise((r) => setImmediate(r));
  const delivered0 = a.tun.stats.writePackets + b.tun.stats.writePackets;

  obs.observe({ entryTypes: ['gc'] });
  let sampledBytes = 0;
  let sampledPackets = 0;
  let sent = 0;
  const t0 = process.hrtime.bigint();
  while (sent < PACKETS) {
    const before = getHeapStatistics().used_heap_size;
    let n = 0;
    while (n < CHUNK) { round(); n += 2 * BATCH; }
    const after = getHeapStatistics().used_heap_size;
    if (after >= before) { sampledBytes += after - before; sampledPackets += n; } // else a GC ran
    sent += n;
  }
  const ns = Number(process.hrtime.bigint() - t0);
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setTimeout(r, 50));
  obs.disconnect();
  const delivered = a.tun.stats.writePackets + b.tun.stats.writePackets - delivered0;
  a.plane.stop();
  b.plane.stop();
  console.log(`dataplane-alloc: ${sent} packets of ${PACKET_BYTES} B (${ALGORITHM}, both directions, batches of ${BATCH})`);
  console.log(`  delivered          ${delivered}${delivered < sent ? '  (LOSS: check the setup)' : ''}`);
  console.log(`  heap bytes/packet  ${(sampledBytes / Math.max(1, sampledPackets)).toFixed(1)}  (over ${sampledPackets} packets in GC-free chunks)`);
  console.log(`  GCs                ${gcs} (minor ${minor}) = ${((gcs * 100_000) / sent).toFixed(1)} per 100 000 packets`);
  console.log(`  time               ${(ns / sent / 1000).toFixed(2)} us/packet (seal+open+routing, one core)`);
  if (delivered < sent) process.exitCode = 1;
}

await main();
