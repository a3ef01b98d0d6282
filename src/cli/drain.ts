// `hacloud drain [PREFIX...]` / `hacloud undrain [PREFIX...]`: ask the running node over its
// control socket to withdraw its claims gracefully (or announce them again), and say what
// happened in one line. Failures are one line on stderr, exit 1.
import { ControlClientError, requestControl } from '../status/control-client.js';
import type { DrainReply } from '../status/control-commands.js';
import { formatDuration } from '../status/render.js';

export interface DrainOptions {
  undo: boolean;
  /** null: all of the node's claims. */
  prefixes: string[] | null;
  controlSocket: string;
  /** How long the node may wait for every peer to switch. */
  timeoutMs: number;
}

/** Returns the process exit code: 0 done, 1 failed or (drain) peers did not all switch in time. */
export async function runDrain(opts: DrainOptions): Promise<number> {
  const cmd = opts.undo ? 'undrain' : 'drain';
  let reply: DrainReply;
  try {
    reply = await requestControl(opts.controlSocket, cmd, opts.timeoutMs + 5_000, {
      prefixes: opts.prefixes, timeoutMs: opts.timeoutMs,
    }) as DrainReply;
  } catch (e) {
    const message = e instanceof ControlClientError ? e.message : `cannot query ${opts.controlSocket}: ${(e as Error).message}`;
    process.stderr.write(`hacloud: ${message}\n`);
    return 1;
  }
  if (reply.unknown.length > 0) {
    process.stderr.write(`hacloud: this node does not claim ${reply.unknown.join(', ')}\n`);
    if (reply.prefixes.length === 0) return 1;
  }
  const what = reply.prefixes.length > 0 ? reply.prefixes.join(', ') : 'nothing';
  if (opts.undo) {
    process.stdout.write(`announced again: ${what}\n`);
    return 0;
  }
  const peers = `${reply.acked}/${reply.peers} peers switched`;
  if (reply.settled) {
    process.stdout.write(`drained ${what}: ${peers} in ${formatDuration(reply.waitedMs)}; ` +
      'existing connections are still served until this node stops or undrains\n');
    return 0;
  }
  process.stdout.write(`drained ${what}, but only ${peers} within ${formatDuration(reply.waitedMs)}\n`);
  return 1;
}
