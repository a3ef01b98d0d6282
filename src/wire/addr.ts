// IP addresses, prefixes and endpoints as plain bytes. Pure code (no node:* imports) so the
// protocol core and the config loader share one parser.

export type Family = 4 | 6;

/** An IP prefix with its host bits cleared. `bytes` has 4 or 16 entries. */
export interface Prefix {
  readonly family: Family;
  readonly bytes: Uint8Array;
  readonly len: number;
}

export class AddressError extends Error {}

const V4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Parse a dotted IPv4 address; null if it is not one. */
export function parseIPv4(text: string): Uint8Array | null {
  const m = V4_RE.exec(text);
  if (!m) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = m[i + 1]!;
    if (part.length > 1 && part[0] === '0') return null; // no octal-looking octets
    const n = Number(part);
    if (n > 255) return null;
    out[i] = n;
  }
  return out;
}

/** Parse an IPv6 address (with `::` and an optional trailing dotted IPv4); null if not one. */
export function parseIPv6(text: string): Uint8Array | null {
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  if (text.length < 2 || !/^[0-9a-fA-F:.]+$/.test(text)) return null;
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groups = (part: string): number[] | null => {
    if (part === '') return [];
    const out: number[] = [];
    const items = part.split(':');
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      if (item.includes('.')) {
        if (i !== items.length - 1) return null;
        const v4 = parseIPv4(item);
        if (!v4) return null;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(item)) return null;
        out.push(parseInt(item, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return null;
  const total = head.length + tail.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return null;
  const all = [...head, ...new Array<number>(8 - total).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/** Parse either family; null if the text is not an IP address. */
export function parseAddress(text: string): Uint8Array | null {
  return parseIPv4(text) ?? parseIPv6(text);
}

export function formatAddress(bytes: Uint8Array): string {
  if (bytes.length === 4) return bytes.join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  // RFC 5952: compress the longest run (>= 2) of zero groups.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Clear the bits after `len`. Returns a new array. */
export function maskBytes(bytes: Uint8Array, len: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < out.length; i++) {
    const keep = Math.max(0, Math.min(8, len - i * 8));
    out[i] = out[i]! & ((0xff00 >> keep) & 0xff);
  }
  return out;
}

/**
 * Parse "ADDR/LEN" or a bare "ADDR" (a host prefix, /32 or /128 unless `defaultLen` is given).
 * Host bits are cleared. Throws AddressError with a message that names the input.
 */
export function parsePrefix(text: string, defaultLen?: number): Prefix {
  const slash = text.indexOf('/');
  const addrText = slash >= 0 ? text.slice(0, slash) : text;
  const bytes = parseAddress(addrText);
  if (!bytes) throw new AddressError(`'${text}' is not an IP address or prefix`);
  const family: Family = bytes.length === 4 ? 4 : 6;
  const max = family === 4 ? 32 : 128;
  let len = defaultLen ?? max;
  if (slash >= 0) {
    const lenText = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(lenText)) throw new AddressError(`'${text}' has an invalid prefix length`);
    len = Number(lenText);
  }
  if (len > max) throw new AddressError(`'${text}': prefix length ${len} is longer than ${max}`);
  return { family, bytes: maskBytes(bytes, len), len };
}

export function formatPrefix(p: Prefix): string {
  return `${formatAddress(p.bytes)}/${p.len}`;
}

/** Does `p` contain the address `addr` (4 or 16 bytes)? */
export function prefixContains(p: Prefix, addr: Uint8Array): boolean {
  if (addr.length !== p.bytes.length) return false;
  let bits = p.len;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff00 >> bits) & 0xff;
    if ((addr[i]! & mask) !== p.bytes[i]) return false;
  }
  return true;
}

export function prefixEquals(a: Prefix, b: Prefix): boolean {
  if (a.len !== b.len || a.family !== b.family) return false;
  for (let i = 0; i < a.bytes.length; i++) if (a.bytes[i] !== b.bytes[i]) return false;
  return true;
}

/** "host:port", "[v6]:port", "host" or a bare "port"; the host may be a name to resolve. */
export interface HostPort {
  host: string;
  port: number;
}

/**
 * Parse a peer or listen address. A bare number is a port (host ''). A bare IPv6 address
 * without brackets is taken as a host with the default port.
 */
export function parseHostPort(text: string, defaultPort: number): HostPort {
  const bad = (why: string) => new AddressError(`'${text}' ${why}`);
  const port = (p: string): number => {
    if (!/^\d{1,5}$/.test(p) || Number(p) > 65535) throw bad('has an invalid port');
    return Number(p);
  };
  if (text.length === 0) throw bad('is empty');
  if (/^\d+$/.test(text)) return { host: '', port: port(text) };
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    if (end < 0) throw bad("is missing ']'");
    const host = text.slice(1, end);
    if (!parseIPv6(host)) throw bad('has an invalid IPv6 address');
    const rest = text.slice(end + 1);
    if (rest === '') return { host, port: defaultPort };
    if (!rest.startsWith(':')) throw bad("has junk after ']'");
    return { host, port: port(rest.slice(1)) };
  }
  const colons = text.split(':').length - 1;
  if (colons === 0) return { host: validHost(text, bad), port: defaultPort };
  if (colons === 1) {
    const [h, p] = text.split(':') as [string, string];
    return { host: validHost(h, bad), port: port(p) };
  }
  if (parseIPv6(text)) return { host: text, port: defaultPort };
  throw bad('is not HOST[:PORT] (write IPv6 addresses as [ADDR]:PORT)');
}

function validHost(h: string, bad: (why: string) => Error): string {
  if (h === '' || !/^[A-Za-z0-9._-]+$/.test(h)) throw bad('has an invalid host name');
  return h;
}

/** Canonical endpoint text for an IP and port (see Endpoint in core/types.ts). */
export function formatEndpoint(ip: string, port: number): string {
  if (ip.startsWith('::ffff:') && parseIPv4(ip.slice(7))) ip = ip.slice(7);
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}
