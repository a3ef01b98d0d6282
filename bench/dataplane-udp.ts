// Micro-benchmark of the UDP transports on loopback: CPU time per 1432-byte datagram for
// node:dgram and the native transport (sendmmsg/recvmmsg, with and without GSO/GRO), sender
// and receiver in this one process, paced in rounds so nothing is dropped.
//   npx tsc -p . && node dist/bench/dataplane-udp.js [datagrams]
import { openUdpTransport, type Transport, type UdpOptions } from '../src/io/udp.js';
import { openNativeUdpTransport } from '../src/io/udp-native.js';

const DATAGRAM_BYTES = 1432;
const ROUND = 256;
const total = Number(process.argv[2] ?? 200_000);

type Open = (o: UdpOptions) => Promise<Transport & { localPort: number }>;
const impls: [string, Open][] = [
  ['dgram', openUdpTransport],
  ['native', openNativeUdpTransport],
  ['native, no GSO/GRO', (o) => openNativeUdpTransport({ ...o, offload: false })],
];

async function measure(open: Open): Promise<{ usPerDatagram: number; received: number; sent: number }> {
  const a = await open({ listen: '127.0.0.1:0' });
  const b = await open({ listen: '127.0.0.1:0' });
  let received = 0;
  let wake: (() => void) | null = null;
  b.onDatagram(() => { if (++received % ROUND === 0 && wake) wake(); });
  const to = `127.0.0.1:${b.localPort}`;
  const data = new Uint8Array(DATAGRAM_BYTES).fill(3);
  const cpu0 = process.cpuUsage();
  let sent = 0;
  for (; sent < total; sent += ROUND) {
    const round = new Promise<void>((resolve) => { wake = resolve; });
    for (let i = 0; i < ROUND; i++) a.send(to, data);
    a.flush();
    await Promise.race([round, new Promise((r) => setTimeout(r, 200))]); // a lost datagram must not hang us
  }
  const cpu = process.cpuUsage(cpu0);
  await a.close();
  await b.close();
  return { usPerDatagram: (cpu.user + cpu.system) / sent, received, sent };
}

console.log(`UDP loopback, ${total} datagrams of ${DATAGRAM_BYTES} bytes: CPU us per datagram (send + receive, user + system)`);
for (const [name, open] of impls) {
  const r = await measure(open);
  console.log(`${name.padEnd(20)} ${r.usPerDatagram.toFixed(2).padStart(6)} us   received ${r.received}/${r.sent}`);
}
