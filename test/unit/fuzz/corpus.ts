// Valid inputs to start the fuzz from, built with the public encoders (never byte constants
// of hacloud's formats): one control message of each type with boundary values, the control
// messages and packets of a live simulated mesh, and IPv4/IPv6 packets (RFC layouts).
import type { Rng } from '../../../src/core/types.js';
import { generateKeyPair } from '../../../src/crypto/keys.js';
import { parseAddress, parsePrefix } from '../../../src/wire/addr.js';
import { decodeControl, encodeControl, type ControlMessage } from '../../../src/wire/control.js';
import { meshPayloads } from './mesh-corpus.js';
import { OwnRecord } from '../../../src/core/own-record.js';
import { simRecordAuth } from '../../sim/sim-record-auth.js';

/** One of each control message, with boundary values in every field. */
export function handBuiltControl(rng: Rng): ControlMessage[] {
  const id = generateKeyPair(rng).id;
  const claims = ['10.0.0.1/32', '10.0.1.0/24', '0.0.0.0/0', '2001:db8::/32', '::/0', 'fe80::1/128', '::ffff:10.0.0.0/104']
    .map((c) => ({ prefix: parsePrefix(c) }));
  const peers = [
    { id, endpoints: ['192.0.2.1:3210', '[2001:db8::1]:1', '[::ffff:192.0.2.1]:65535'] },
    { id: '!', endpoints: [] },
    { id: '~'.repeat(255), endpoints: ['10.0.0.1:65535'] },
  ];
  const own = new OwnRecord(simRecordAuth(id), id, 1_700_000_000_000);
  const record = own.sign({ candidates: ['192.0.2.1:3210', '[2001:db8::1]:1'], relay: 1, claims, leaving: false });
  const small = own.sign({ candidates: [], relay: 0, claims: claims.slice(0, 1), leaving: true });
  return [
    { type: 'node-info', bootTimeMs: 1_700_000_000_000, seq: 1, record, peers },
    { type: 'node-info', bootTimeMs: 0, seq: 0xffff_ffff, record: small, peers: [] },
    { type: 'node-info', bootTimeMs: Number.MAX_VALUE, seq: 7, record: new Uint8Array(0), peers: peers.slice(0, 1) },
    { type: 'records', records: [record, small], sync: false },
    { type: 'records', records: [small], sync: true },
    { type: 'digest', count: 4_096, cursor: 1, hashes: [0, 0xffff_ffff, 1, 2] },
    { type: 'digest', count: 0, cursor: 0, hashes: [7] },
    { type: 'summary', count: 1_000, buckets: 256, next: 255, complete: [0, 254], entries: [{ id, version: 2 ** 53 - 1, state: 2 }, { id: '!', version: 0, state: 0 }] },
    { type: 'pull', ids: [id, '~'.repeat(255)] },
    { type: 'ping-req', target: id },
    { type: 'ping-ack', target: '!' },
    { type: 'states', entries: [{ id, version: 2 ** 53 - 1, state: 1, from: '~'.repeat(255) }, { id: '!', version: 0, state: 2 }, { id, version: 7, state: 0 }] },
    { type: 'info-ack', bootTimeMs: 1_700_000_000_000, seq: 3 },
    { type: 'leave', bootTimeMs: 1_700_000_000_000 },
    { type: 'leave-ack', bootTimeMs: 0.5 },
    { type: 'probe', id: 0, sentAtMs: 123.456 },
    { type: 'probe-ack', id: 0xffff_ffff, sentAtMs: 0 },
    { type: 'info-request' },
    // paths (issue 12): candidates and relay mode (in the record), the informant's RTT, reflexive addresses, punches
    {
      type: 'node-info', bootTimeMs: 1_700_000_000_000, seq: 2,
      record: own.sign({ candidates: ['198.51.100.7:3210', '[2001:db8::7]:65535', '0.0.0.0:0'], relay: 2, claims: claims.slice(0, 2), leaving: false }),
      peers: [{ id, endpoints: ['192.0.2.1:3210'], rttMs: 0 }, { id, endpoints: [], rttMs: 65_535 }],
    },
    { type: 'observed', endpoint: '203.0.113.9:40000' },
    { type: 'observed', endpoint: '[2001:db8::9]:1' },
    { type: 'punch-request', target: id, candidates: ['198.51.100.7:3210', '192.168.1.20:3210'] },
    { type: 'punch', origin: id, candidates: [] },
  ];
}

/** At most `cap` of each message type, so the many probes of a mesh run do not crowd out the rest. */
function perType(payloads: Uint8Array[], cap: number): Uint8Array[] {
  const count = new Map<string, number>();
  return payloads.filter((p) => {
    const r = decodeControl(p);
    const type = r.ok ? r.msg.type : 'invalid';
    count.set(type, (count.get(type) ?? 0) + 1);
    return count.get(type)! <= cap;
  });
}

export interface Corpus {
  /** The message types of handBuiltControl(): each must be reached by the fuzz. */
  controlTypes: Set<string>;
  control: Uint8Array[];
  packets: Uint8Array[];
}

export function corpus(rng: Rng, seed: number): Corpus {
  const built = handBuiltControl(rng);
  const mesh = meshPayloads(seed);
  return {
    controlTypes: new Set(built.map((m) => m.type)),
    control: [...built.map(encodeControl), ...perType(mesh.control, 12)],
    packets: [...ipPackets(), ...mesh.data.slice(0, 8)],
  };
}

export function ipv4(src: string, dst: string, optionWords = 0, payload = 8, padding = 0, protocol = 17): Uint8Array {
  const header = 20 + 4 * optionWords;
  const p = new Uint8Array(header + payload + padding);
  p[0] = 0x40 | (header / 4);
  p[2] = (header + payload) >> 8;
  p[3] = (header + payload) & 0xff;
  p[8] = 64;
  p[9] = protocol;
  p.set(parseAddress(src)!, 12);
  p.set(parseAddress(dst)!, 16);
  for (let i = 20; i < header; i++) p[i] = 1; // NOP options
  return p;
}

export function ipv6(src: string, dst: string, payload = 8, padding = 0, nextHeader = 58): Uint8Array {
  const p = new Uint8Array(40 + payload + padding);
  p[0] = 0x60;
  p[4] = payload >> 8;
  p[5] = payload & 0xff;
  p[6] = nextHeader;
  p[7] = 64;
  p.set(parseAddress(src)!, 8);
  p.set(parseAddress(dst)!, 24);
  return p;
}

/** IPv4 with and without options and padding, IPv6 with and without payload. */
export function ipPackets(): Uint8Array[] {
  return [
    ipv4('10.0.0.100', '10.0.0.1'), ipv4('192.0.2.1', '10.0.1.7', 10, 0, 0, 6), ipv4('0.0.0.0', '255.255.255.255', 1, 40, 3, 1),
    ipv4('10.0.0.1', '10.0.0.2', 0, 1400, 0, 6), ipv4('10.0.1.9', '10.0.2.5'), ipv4('10.0.2.5', '10.0.1.9', 2, 20, 1),
    ipv6('2001:db8::1', '2001:db8:1::7'), ipv6('::', 'ff02::1', 0, 6, 0), ipv6('fe80::1', '::ffff:10.0.0.1', 1200, 0, 17),
    ipv6('2001:db8::1', '2001:db8::2', 0, 0, 59), ipv6('2001:db8:1::1', '2001:db8:2::1', 100),
  ];
}
