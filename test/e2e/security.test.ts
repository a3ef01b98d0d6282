// The secure channel between real processes: nodes that share the password talk; a node with
// the wrong password or an untrusted key never gets a packet through a TUN and shows up only
// as rejected handshakes; and a known payload never appears in clear on the underlay — while
// the same capture of a plain-mode pair does show it (so the check can fail).
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BRIDGE, useLab, type Lab, type LabProcess } from './lab.js';
import { HACLOUD_BIN, requireBuilt, startHacloud, TCP_FIXTURE, waitFor } from './hacloud.js';

const MARKER = 'hacloud-secret-marker-';

async function pingOk(lab: Lab, host: string, ip: string): Promise<boolean> {
  return (await lab.exec(host, 'ping', ['-c', '1', '-W', '1', ip], { check: false })).code === 0;
}

/** Send MARKER-laden text over TCP from `host` to ip:port (a 'sink' must listen there). */
async function sendMarker(lab: Lab, host: string, ip: string): Promise<string> {
  const script = `const s=require('net').connect(9100,'${ip}',()=>s.end('${MARKER}'.repeat(200)));` +
    `let r='';s.on('data',d=>r+=d);s.on('end',()=>{console.log(r.trim())});s.on('error',e=>console.log('error',e.code))`;
  return (await lab.exec(host, process.execPath, ['-e', script], { check: false, timeoutMs: 15_000 })).stdout;
}

describe('secure channel end to end', () => {
  const lab = useLab(['a', 'b', 'c', 'k1', 'k2', 'k3', 'p1', 'p2'], requireBuilt);
  let intruder: LabProcess | undefined;
  let a: LabProcess | undefined;
  const keys = new Map<string, { priv: string; pub: string }>();

  beforeAll(async () => {
    const l = lab();
    for (const k of ['k1', 'k2', 'k3']) {
      const out = (await l.exec('k1', process.execPath, [HACLOUD_BIN, 'genkey'])).stdout;
      keys.set(k, { priv: /private-key: (\S+)/.exec(out)![1]!, pub: /public-key: (\S+)/.exec(out)![1]! });
    }
    const key = (k: string) => keys.get(k)!;
    const env = { PASSWORD: 'right-password' };
    [a] = await Promise.all([
      startHacloud(l, 'a', ['--ip', '10.0.0.1', '-c', l.ip('b'), '-c', l.ip('c')], { env }),
      startHacloud(l, 'b', ['--ip', '10.0.0.2', '-c', l.ip('a')], { env }),
      // Key mode: k1 and k2 trust each other; k3 trusts k1, but k1 does not trust k3.
      startHacloud(l, 'k1', ['--ip', '10.1.0.1', '-c', l.ip('k2'), '-c', l.ip('k3'), '--private-key', key('k1').priv, '--trusted-key', key('k2').pub]),
      startHacloud(l, 'k2', ['--ip', '10.1.0.2', '-c', l.ip('k1'), '--private-key', key('k2').priv, '--trusted-key', key('k1').pub]),
      startHacloud(l, 'k3', ['--ip', '10.1.0.3', '-c', l.ip('k1'), '--private-key', key('k3').priv, '--trusted-key', key('k1').pub]),
    ]);
    intruder = await startHacloud(l, 'c', ['--ip', '10.0.0.3', '-c', l.ip('a'), '-c', l.ip('b')], { env: { PASSWORD: 'wrong-password' } });
  });

  it('nodes with the same password talk, a wrong password gets nothing through', async () => {
    const l = lab();
    await waitFor('a <-> b', 10_000, async () => ((await pingOk(l, 'a', '10.0.0.2')) ? true : null));
    // c has had time to retry its handshakes many times by now.
    expect(await pingOk(l, 'c', '10.0.0.1')).toBe(false);
    expect(await pingOk(l, 'c', '10.0.0.2')).toBe(false);
    expect(await pingOk(l, 'a', '10.0.0.3')).toBe(false);
    // a logged the rejected handshakes, and c never saw a peer.
    await a!.waitForLine(/dropped \d+ packet\(s\): mac/, 5000); // mac1 is keyed with the psk
    expect(intruder!.tail(200)).not.toMatch(/peer \S+ connected|route 10\.0\.0\.[12]\/32 ->/);
  });

  it('key mode: trusted keys talk, an untrusted key is refused', async () => {
    const l = lab();
    await waitFor('k1 <-> k2', 10_000, async () => ((await pingOk(l, 'k1', '10.1.0.2')) ? true : null));
    expect(await pingOk(l, 'k3', '10.1.0.1')).toBe(false);
    expect(await pingOk(l, 'k1', '10.1.0.3')).toBe(false);
  });

  it('the underlay never carries the plaintext (a plain-mode pair does, as a control)', async () => {
    const l = lab();
    const plainArgs = ['--algorithm', 'plain'];
    await Promise.all([
      startHacloud(l, 'p1', ['--ip', '10.2.0.1', '-c', l.ip('p2'), ...plainArgs], { env: { PASSWORD: 'p' } }),
      startHacloud(l, 'p2', ['--ip', '10.2.0.2', '-c', l.ip('p1'), ...plainArgs], { env: { PASSWORD: 'p' } }),
    ]);
    const captured = async (from: string, to: string, ip: string): Promise<Buffer> => {
      const pcap = join(tmpdir(), `hc-${l.id}-${from}.pcap`);
      const sink = l.spawn(to, process.execPath, [TCP_FIXTURE, 'sink', '9100']);
      await sink.waitForLine(/READY/, 5000);
      await waitFor(`${from} -> ${ip}`, 10_000, async () => ((await pingOk(l, from, ip)) ? true : null));
      const capture = l.spawn(BRIDGE, 'tcpdump', ['-i', 'any', '--immediate-mode', '-U', '-w', pcap]);
      try {
        await capture.waitForLine(/listening on/, 10_000);
        expect(await sendMarker(l, from, ip)).toMatch(/^sha256 /m);
        await new Promise((r) => setTimeout(r, 300));
        await capture.stop();
        await sink.stop();
        return readFileSync(pcap);
      } finally {
        rmSync(pcap, { force: true });
      }
    };
    const plain = await captured('p1', 'p2', '10.2.0.2');
    expect(plain.toString('latin1')).toContain(MARKER); // the capture does see payloads in clear
    const encrypted = await captured('a', 'b', '10.0.0.2');
    expect(encrypted.length).toBeGreaterThan(4000); // the transfer was captured...
    expect(encrypted.toString('latin1')).not.toContain(MARKER); // ...but never in clear
  });
});
