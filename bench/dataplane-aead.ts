// Micro-benchmark of the per-packet AEAD: every algorithm with each implementation (the addon's
// OpenSSL contexts vs node:crypto / libsodium), seal and open of 1400-byte packets in place.
//   npx tsc -p . && node dist/bench/dataplane-aead.js [packets]
import { createAead, type AeadImpl } from '../src/crypto/aead.js';
import { nativeAeadAvailable } from '../src/crypto/native-aead.js';

const PACKET_BYTES = 1400;
const packets = Number(process.argv[2] ?? 200_000);
const key = new Uint8Array(32).fill(7);
const aad = new Uint8Array(16).fill(1);
const buf = new Uint8Array(PACKET_BYTES + 16);

function measure(alg: 'chacha20' | 'aes256', impl: AeadImpl): { sealUs: number; openUs: number; mbps: number } {
  const a = createAead(alg, key, impl);
  const pt = buf.subarray(0, PACKET_BYTES);
  for (let i = 0; i < 2000; i++) { a.seal(i, aad, pt, buf); a.open(i, aad, buf, buf); } // warm-up
  let t = process.hrtime.bigint();
  for (let i = 0; i < packets; i++) a.seal(i, aad, pt, buf);
  const sealNs = Number(process.hrtime.bigint() - t);
  t = process.hrtime.bigint();
  for (let i = 0; i < packets; i++) { a.seal(i, aad, pt, buf); if (a.open(i, aad, buf, buf) < 0) throw new Error('open failed'); }
  const pairNs = Number(process.hrtime.bigint() - t);
  const openNs = pairNs - sealNs;
  a.destroy();
  return { sealUs: sealNs / packets / 1000, openUs: openNs / packets / 1000, mbps: (PACKET_BYTES * packets) / (sealNs / 1e9) / 1e6 };
}

console.log(`AEAD per ${PACKET_BYTES}-byte packet, ${packets} packets (native addon: ${nativeAeadAvailable() ? 'built' : 'missing'})`);
console.log('algorithm  impl     seal us  open us  seal MB/s');
for (const alg of ['aes256', 'chacha20'] as const) {
  for (const impl of ['native', 'js'] as const) {
    if (impl === 'native' && !nativeAeadAvailable()) continue;
    const r = measure(alg, impl);
    console.log(`${alg.padEnd(10)} ${impl.padEnd(7)} ${r.sealUs.toFixed(2).padStart(7)}  ${r.openUs.toFixed(2).padStart(7)}  ${r.mbps.toFixed(0).padStart(9)}`);
  }
}
