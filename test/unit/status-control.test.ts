import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ControlClientError, requestControl } from '../../src/status/control-client.js';
import { parseRequest, startControlServer, type ControlServer } from '../../src/status/control-server.js';

/** Send raw bytes, collect everything the server answers until it closes. */
function rawExchange(path: string, payload: string, endAfterWrite = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let text = '';
    socket.setEncoding('utf8');
    socket.on('connect', () => (endAfterWrite ? socket.end(payload) : socket.write(payload)));
    socket.on('data', (d: string) => (text += d));
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
  });
}

describe('control socket', () => {
  let dir: string;
  let server: ControlServer | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hacloud-ctl-'));
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers {"cmd":"status"} with the handler result as one JSON line', async () => {
    const path = join(dir, 'run', 'node.sock');
    const seen: string[] = [];
    server = await startControlServer(path, ({ cmd, args }) => {
      seen.push(`${cmd} ${JSON.stringify(args)}`);
      return { format: 1, hello: 'world' };
    });
    expect(await requestControl(path, 'status')).toEqual({ format: 1, hello: 'world' });
    expect(await rawExchange(path, '{"cmd":"status"}\n')).toBe('{"format":1,"hello":"world"}\n');
    // Arguments travel beside the command; a client cannot override the command through them.
    await requestControl(path, 'drain', 1000, { prefixes: ['10.0.0.1/32'], cmd: 'other' });
    expect(seen).toEqual(['status {}', 'status {}', 'drain {"prefixes":["10.0.0.1/32"]}']);
  });

  it('creates the socket 0600 in a new 0700 directory', async () => {
    const path = join(dir, 'run', 'hacloud', 'node.sock');
    server = await startControlServer(path, () => ({}));
    expect(statSync(path).isSocket()).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'run', 'hacloud')).mode & 0o777).toBe(0o700);
  });

  it('turns bad requests and handler failures into {"error": ...} and keeps serving', async () => {
    const path = join(dir, 'node.sock');
    server = await startControlServer(path, async ({ cmd }) => {
      if (cmd === 'boom') throw new Error('it broke');
      if (cmd === 'circular') {
        const o: Record<string, unknown> = {};
        o['self'] = o;
        return o;
      }
      return 'fine';
    });
    const err = async (payload: string, end = false) => JSON.parse(await rawExchange(path, payload, end)) as { error: string };
    expect((await err('not json\n')).error).toMatch(/not JSON/);
    expect((await err('[1,2]\n')).error).toMatch(/JSON object/);
    expect((await err('{"cmd":5}\n')).error).toMatch(/no "cmd"/);
    expect((await err('{"cmd":"boom"}\n')).error).toBe('it broke');
    expect((await err('{"cmd":"circular"}\n')).error).toMatch(/cannot encode/);
    expect((await err('x'.repeat(10_000))).error).toMatch(/longer than/);
    expect((await err('', true)).error).toBe('empty request');
    // Half-closed without a newline still gets an answer.
    expect(await rawExchange(path, '{"cmd":"ok"}', true)).toBe('"fine"\n');
    await expect(requestControl(path, 'boom')).rejects.toThrow(/answered: it broke/);
    expect(await requestControl(path, 'ok')).toBe('fine');
  });

  it('survives clients that vanish before the answer', async () => {
    const path = join(dir, 'node.sock');
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    server = await startControlServer(path, async () => {
      await gate;
      return { big: 'x'.repeat(100_000) };
    });
    await new Promise<void>((resolve) => {
      const s = createConnection(path, () => {
        s.write('{"cmd":"status"}\n');
        setTimeout(() => { s.destroy(); resolve(); }, 20);
      });
    });
    release();
    await new Promise((r) => setTimeout(r, 20));
    expect(((await requestControl(path, 'status')) as { big: string }).big).toHaveLength(100_000);
  });

  it('replaces a stale socket file but refuses one a live server answers on', async () => {
    const path = join(dir, 'node.sock');
    // A stale socket: bound, then the process "died" without unlinking.
    const stale = createServer();
    await new Promise<void>((r) => stale.listen(path, r));
    const live = await startControlServer(path, () => 'x').catch((e: Error) => e);
    expect(live).toBeInstanceOf(Error);
    expect((live as Error).message).toMatch(/is in use: another hacloud node is running/);
    await new Promise<void>((r) => stale.close(() => r()));
    // A process killed with SIGKILL leaves its socket file behind: a dead socket.
    const killed = spawnSync(process.execPath, ['-e',
      `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    expect(killed.signal).toBe('SIGKILL');
    expect(existsSync(path)).toBe(true);
    server = await startControlServer(path, () => 'new');
    expect(await requestControl(path, 'status')).toBe('new');
  });

  it('never deletes a regular file at the socket path', async () => {
    const path = join(dir, 'node.sock');
    writeFileSync(path, 'important');
    await expect(startControlServer(path, () => 'x')).rejects.toThrow(/exists and is not a socket/);
    expect(existsSync(path)).toBe(true);
  });

  it('close() stops answering and removes the socket file', async () => {
    const path = join(dir, 'node.sock');
    server = await startControlServer(path, () => 'x');
    await server.close();
    await server.close();
    expect(existsSync(path)).toBe(false);
    const err = await requestControl(path, 'status').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ControlClientError);
    expect((err as ControlClientError).message).toBe(`no hacloud daemon at ${path}: is it running?`);
    expect((err as ControlClientError).code).toBe('no-daemon');
  });
});

describe('parseRequest', () => {
  it('accepts an object with a cmd string; the other fields are its arguments', () => {
    expect(parseRequest('{"cmd":"status"}')).toEqual({ cmd: 'status', args: {} });
    expect(parseRequest(' {"cmd":"status","x":1} ')).toEqual({ cmd: 'status', args: { x: 1 } });
    expect(parseRequest('{"cmd":""}')).toHaveProperty('error');
    expect(parseRequest('null')).toHaveProperty('error');
    expect(parseRequest('"status"')).toHaveProperty('error');
  });
});
