// Kernel receive-buffer drops of the UDP sockets on one port, from /proc/net/udp and udp6 (the
// per-socket "drops" column: datagrams the kernel threw away because the socket's receive
// buffer was full, before hacloud could read them). Per network namespace, as the socket is.
import { readFileSync } from 'node:fs';

const FILES = ['/proc/net/udp', '/proc/net/udp6'];

/**
 * Sum of the drops column over the sockets bound to `port` in one /proc/net/udp{,6} text;
 * null if no line matches (or the text is not in that format).
 */
export function udpDropsOnPort(text: string, port: number): number | null {
  const lines = text.split('\n');
  const header = lines[0]?.trim().split(/\s+/) ?? [];
  const dropsAt = header.indexOf('drops');
  if (dropsAt < 0 || header[1] !== 'local_address') return null;
  // the header names "tx_queue rx_queue" and "tr tm->when" as two columns each; the rows as one
  const column = dropsAt - 2;
  let sum: number | null = null;
  for (const line of lines.slice(1)) {
    const cols = line.trim().split(/\s+/);
    const local = cols[1];
    if (local === undefined || cols.length <= column) continue;
    if (parseInt(local.slice(local.lastIndexOf(':') + 1), 16) !== port) continue;
    const drops = Number(cols[column]);
    if (Number.isFinite(drops)) sum = (sum ?? 0) + drops;
  }
  return sum;
}

/** Kernel receive-buffer drops of our sockets on `port` (IPv4 and IPv6); null if unreadable. */
export function kernelReceiveDrops(port: number, read: (file: string) => string = (f) => readFileSync(f, 'utf8')): number | null {
  let sum: number | null = null;
  for (const file of FILES) {
    let text: string;
    try {
      text = read(file);
    } catch {
      continue; // no IPv6, or no /proc
    }
    const n = udpDropsOnPort(text, port);
    if (n !== null) sum = (sum ?? 0) + n;
  }
  return sum;
}
