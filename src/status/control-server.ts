// The control socket: a Unix socket only root can open (0600 in a 0700 directory). Protocol:
// one JSON request line per connection, `{"cmd":"status"}` or with arguments
// (`{"cmd":"drain","prefixes":["10.0.0.1/32"]}`), answered by one JSON line — the handler's
// result, or `{"error":"..."}`. Nothing a client sends can throw into the daemon.
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { errorText } from '../log/text.js';

/** A request: its command and the rest of the JSON object as arguments. */
export interface ControlRequest {
  cmd: string;
  args: Record<string, unknown>;
}

export type ControlHandler = (request: ControlRequest) => Promise<unknown> | unknown;

export interface ControlServer {
  close(): Promise<void>;
}

/** A request line longer than this is refused (the real ones are ~20 bytes). */
export const MAX_REQUEST_BYTES = 4096;
/** A client that sends no complete line within this time is disconnected. */
export const REQUEST_TIMEOUT_MS = 5000;

export class ControlSocketError extends Error {}

export async function startControlServer(path: string, handle: ControlHandler): Promise<ControlServer> {
  prepareDirectory(path);
  await removeStaleSocket(path);

  const connections = new Set<Socket>();
  // allowHalfOpen: a client that sends its line and then shuts down its side still gets the reply.
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
    serveConnection(socket, handle);
  });
  // Errors after start-up (EMFILE on accept...) must not kill the node; a failing listen is
  // reported through the promise below.
  server.on('error', () => {});
  await listenPrivately(server, path);

  let closing: Promise<void> | undefined;
  return {
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of connections) socket.destroy();
      }).then(() => unlinkQuietly(path));
      return closing;
    },
  };
}

/** The parent directory is created 0700 if missing (an existing one is left as it is). */
function prepareDirectory(path: string): void {
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new ControlSocketError(`cannot create the directory of control socket ${path}: ${errorText(e)}`);
  }
}

/**
 * A socket file left by a crashed node is removed; one that still answers belongs to a running
 * node (refused), and a non-socket file at the path is never deleted.
 */
async function removeStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new ControlSocketError(`cannot check control socket ${path}: ${errorText(e)}`);
  }
  if (!isSocket) throw new ControlSocketError(`control socket ${path} exists and is not a socket; remove it or choose another --control-socket`);
  if (await answers(path)) {
    throw new ControlSocketError(`control socket ${path} is in use: another hacloud node is running (give each node its own --control-socket)`);
  }
  try {
    unlinkSync(path);
  } catch (e) {
    throw new ControlSocketError(`cannot remove stale control socket ${path}: ${errorText(e)}`);
  }
}

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createConnection(path);
    const done = (alive: boolean) => {
      probe.destroy();
      resolve(alive);
    };
    probe.setTimeout(1000, () => done(false));
    probe.once('connect', () => done(true));
    probe.once('error', () => done(false));
  });
}

/** Created under umask 077, then chmod 0600 in case the umask could not be applied. */
function listenPrivately(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(new ControlSocketError(`cannot listen on control socket ${path}: ${errorText(e)}`));
    server.once('error', onError);
    let oldMask: number | null = null;
    try {
      oldMask = process.umask(0o077);
    } catch {
      // process.umask() is unavailable in worker threads; chmod below still applies.
    }
    try {
      // For a Unix socket the bind happens synchronously inside listen(), under the umask.
      server.listen(path, () => {
        server.off('error', onError);
        try {
          chmodSync(path, 0o600);
          resolve();
        } catch (e) {
          server.close();
          reject(new ControlSocketError(`cannot restrict control socket ${path}: ${errorText(e)}`));
        }
      });
    } finally {
      if (oldMask !== null) process.umask(oldMask);
    }
  });
}

function serveConnection(socket: Socket, handle: ControlHandler): void {
  let buffered = '';
  let answered = false;
  socket.setEncoding('utf8');
  socket.setTimeout(REQUEST_TIMEOUT_MS, () => socket.destroy());
  socket.on('error', () => socket.destroy());

  const reply = (value: unknown) => {
    let text: string;
    try {
      text = JSON.stringify(value ?? null);
    } catch (e) {
      text = JSON.stringify({ error: `cannot encode the reply: ${errorText(e)}` });
    }
    if (!socket.destroyed) socket.end(`${text}\n`);
  };

  const answer = (line: string): void => {
    const parsed = parseRequest(line);
    if ('error' in parsed) reply(parsed);
    else runHandler(handle, parsed).then(reply, (e: unknown) => reply({ error: errorText(e) }));
  };
  socket.on('data', (chunk: string) => {
    if (answered) return;
    buffered += chunk;
    const newline = buffered.indexOf('\n');
    if (newline < 0) {
      if (Buffer.byteLength(buffered) > MAX_REQUEST_BYTES) {
        answered = true;
        reply({ error: `request longer than ${MAX_REQUEST_BYTES} bytes` });
      }
      return;
    }
    answered = true;
    answer(buffered.slice(0, newline));
  });
  // A client that half-closes without a newline still gets an answer.
  socket.on('end', () => {
    if (answered) return;
    answered = true;
    if (buffered.trim() === '') {
      reply({ error: 'empty request' });
      return;
    }
    answer(buffered);
  });
}

/** Exported for tests: validates one request line. */
export function parseRequest(line: string): ControlRequest | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { error: 'request is not JSON (expected {"cmd":"status"})' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { error: 'request must be a JSON object like {"cmd":"status"}' };
  }
  const cmd = (value as Record<string, unknown>)['cmd'];
  if (typeof cmd !== 'string' || cmd === '') return { error: 'request has no "cmd" string' };
  const { cmd: _cmd, ...args } = value as Record<string, unknown>;
  return { cmd, args };
}

async function runHandler(handle: ControlHandler, request: ControlRequest): Promise<unknown> {
  return handle(request);
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone (or the directory was removed): nothing to clean up.
  }
}

