// Interface configuration through iproute2 (`ip`), run with execFile (no shell, so names and
// addresses are never interpreted). Failures become one-line errors naming the command.
import { execFile } from 'node:child_process';
import { parseAddress } from '../wire/addr.js';

export interface InterfaceAddress {
  ip: string;
  prefixLen: number;
}

export class InterfaceConfigError extends Error {
  override name = 'InterfaceConfigError';
}

/** IPv6 refuses to run on links with a smaller MTU (RFC 8200), and the kernel drops its addresses. */
const IPV6_MIN_MTU = 1280;
const IP_TIMEOUT_MS = 10_000;

function runIp(args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('ip', args, { timeout: IP_TIMEOUT_MS }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      const code = (err as NodeJS.ErrnoException).code;
      const why =
        code === 'ENOENT'
          ? "the 'ip' command was not found — install iproute2"
          : stderr.trim().split('\n').pop() || err.message.split('\n')[0];
      reject(new InterfaceConfigError(`ip ${args.join(' ')} failed: ${why}`));
    });
  });
}

/** Checks the addresses before anything is changed, so a bad one leaves no half-set device. */
function validate(device: string, mtu: number, addresses: readonly InterfaceAddress[]): void {
  if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) {
    throw new InterfaceConfigError(`invalid MTU ${mtu} for ${device}: must be 68..65535`);
  }
  for (const a of addresses) {
    const bytes = parseAddress(a.ip);
    if (!bytes) throw new InterfaceConfigError(`'${a.ip}' is not an IP address`);
    const max = bytes.length * 8;
    if (!Number.isInteger(a.prefixLen) || a.prefixLen < 0 || a.prefixLen > max) {
      throw new InterfaceConfigError(`invalid prefix length /${a.prefixLen} for ${a.ip}`);
    }
    if (bytes.length === 16 && mtu < IPV6_MIN_MTU) {
      throw new InterfaceConfigError(
        `IPv6 address ${a.ip} needs an MTU of at least ${IPV6_MIN_MTU} on ${device} (MTU is ${mtu})`,
      );
    }
  }
}

/** Add the addresses, set the MTU and bring the device up. */
export async function configureInterface(
  device: string,
  mtu: number,
  addresses: readonly InterfaceAddress[],
): Promise<void> {
  validate(device, mtu, addresses);
  // MTU first, so the addresses (IPv6 in particular) land on a link that already has its final MTU.
  await runIp(['link', 'set', 'dev', device, 'mtu', String(mtu)]);
  for (const a of addresses) {
    // No DAD needed: TUN devices are NOARP, so the kernel skips it for IPv6 anyway.
    await runIp(['addr', 'add', `${a.ip}/${a.prefixLen}`, 'dev', device]);
  }
  await runIp(['link', 'set', 'dev', device, 'up']);
}
