// `hacloud status [--json]`: asks the running node over its control socket and prints its
// tables, or the stable JSON (docs/status-json.md). Failures are one line on stderr, exit 1.
import { ControlClientError, requestControl } from '../status/control-client.js';
import { renderStatus } from '../status/render.js';
import { STATUS_JSON_FORMAT, type StatusJson } from '../status/status-json.js';

export interface StatusOptions {
  /** Print the stable JSON form instead of tables. */
  json: boolean;
  /** The node's control socket. */
  controlSocket: string;
}

/** Returns the process exit code. */
export async function runStatus(opts: StatusOptions): Promise<number> {
  let reply: unknown;
  try {
    reply = await requestControl(opts.controlSocket, 'status');
  } catch (e) {
    const message = e instanceof ControlClientError ? e.message : `cannot query ${opts.controlSocket}: ${(e as Error).message}`;
    writeErr(`hacloud: ${message}\n`);
    return 1;
  }
  const format = (reply as Partial<StatusJson> | null)?.format;
  if (format !== STATUS_JSON_FORMAT) {
    writeErr(`hacloud: the daemon at ${opts.controlSocket} answered with status format ${String(format)}, ` +
      `this client understands ${STATUS_JSON_FORMAT} (mixed hacloud versions?)\n`);
    if (!opts.json) return 1;
  }
  process.stdout.write(opts.json ? `${JSON.stringify(reply, null, 2)}\n` : renderStatus(reply as StatusJson));
  return 0;
}

function writeErr(text: string): void {
  try {
    process.stderr.write(text);
  } catch {
    // stderr is gone; the exit code still tells.
  }
}
