// Client side of the control socket (see control-server.ts): send one request line, read one
// JSON reply line. Used by `hacloud status` and the demo.
import { createConnection } from 'node:net';

export class ControlClientError extends Error {
  constructor(message: string, readonly code: 'no-daemon' | 'denied' | 'timeout' | 'protocol' | 'remote') {
    super(message);
  }
}

const MAX_REPLY_BYTES = 16 * 1024 * 1024;

/** Resolves with the daemon's reply; a reply of the form {"error": "..."} rejects (code 'remote'). */
export function requestControl(
  path: string, cmd: string, timeoutMs = 5000, args: Record<string, unknown> = {},
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let buffered = '';
    let settled = false;
    const finish = (err: ControlClientError | null, value?: unknown) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (err) reject(err);
      else resolve(value);
    };
    socket.setEncoding('utf8');
    socket.setTimeout(timeoutMs, () =>
      finish(new ControlClientError(`the hacloud daemon at ${path} did not answer within ${timeoutMs} ms`, 'timeout')));
    socket.on('connect', () => socket.write(`${JSON.stringify({ ...args, cmd })}\n`));
    socket.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED' || e.code === 'ENOTDIR') {
        finish(new ControlClientError(`no hacloud daemon at ${path}: is it running?`, 'no-daemon'));
      } else if (e.code === 'EACCES' || e.code === 'EPERM') {
        finish(new ControlClientError(`cannot open ${path}: permission denied (the control socket is root-only; try sudo)`, 'denied'));
      } else {
        finish(new ControlClientError(`cannot talk to the hacloud daemon at ${path}: ${e.message}`, 'protocol'));
      }
    });
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      if (buffered.length > MAX_REPLY_BYTES) {
        finish(new ControlClientError(`reply from ${path} is too large`, 'protocol'));
        return;
      }
      const newline = buffered.indexOf('\n');
      if (newline >= 0) settle(buffered.slice(0, newline));
    });
    socket.on('end', () => {
      if (buffered.trim() !== '') settle(buffered);
      else finish(new ControlClientError(`the hacloud daemon at ${path} closed the connection without an answer`, 'protocol'));
    });

    function settle(line: string): void {
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        finish(new ControlClientError(`the reply from ${path} is not JSON`, 'protocol'));
        return;
      }
      if (typeof value === 'object' && value !== null && typeof (value as { error?: unknown }).error === 'string') {
        finish(new ControlClientError(`the daemon at ${path} answered: ${(value as { error: string }).error}`, 'remote'));
        return;
      }
      finish(null, value);
    }
  });
}
