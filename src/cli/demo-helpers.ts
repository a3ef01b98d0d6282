// The two small programs `hacloud demo` runs inside its namespaces (so it needs no socat or
// curl): `serve NAME PORT`, a TCP service answering every connection with an HTTP response
// whose body is NAME (so `curl 10.0.0.1:8000` works too), and `probe HOST PORT INTERVAL_MS`,
// which starts a connection attempt every INTERVAL_MS and prints one line per outcome:
//   reply <startEpochMs> <endEpochMs> <name>
//   fail <startEpochMs> <endEpochMs> <reason>
// Attempts overlap, so a connection hanging on a dead route never delays the next one.
import { createConnection, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const ATTEMPT_TIMEOUT_MS = 1000;

export function serve(name: string, port: number): void {
  const body = `${name}\n`;
  const server = createServer((socket) => {
    socket.on('error', () => socket.destroy());
    socket.end(`HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    socket.resume(); // read (and discard) any request, so closing never resets the connection
  });
  server.listen(port, () => process.stdout.write(`serving ${name} on port ${port}\n`));
}

/** The name in a response: the body's last non-empty line. */
export function replyName(response: string): string | null {
  const split = response.indexOf('\r\n\r\n');
  if (split < 0) return null;
  const name = response.slice(split + 4).trim();
  return name === '' ? null : name;
}

export function probe(host: string, port: number, intervalMs: number): void {
  const attempt = () => {
    const start = Date.now();
    let data = '';
    let done = false;
    const finish = (outcome: 'reply' | 'fail', detail: string) => {
      if (done) return;
      done = true;
      socket.destroy();
      process.stdout.write(`${outcome} ${start} ${Date.now()} ${detail}\n`);
    };
    const socket = createConnection({ host, port });
    socket.setEncoding('utf8');
    socket.setTimeout(ATTEMPT_TIMEOUT_MS, () => finish('fail', 'timeout'));
    socket.on('data', (d: string) => (data += d));
    socket.on('end', () => {
      const name = replyName(data);
      if (name === null) finish('fail', 'bad-reply');
      else finish('reply', name);
    });
    socket.on('error', (e: NodeJS.ErrnoException) => finish('fail', e.code ?? 'error'));
  };
  attempt();
  setInterval(attempt, intervalMs);
}

export function main(args: string[]): void {
  const [role, a, b, c] = args;
  if (role === 'serve' && a && b) serve(a, Number(b));
  else if (role === 'probe' && a && b && c) probe(a, Number(b), Number(c));
  else {
    process.stderr.write('usage: demo-helpers.js serve NAME PORT | probe HOST PORT INTERVAL_MS\n');
    process.exitCode = 2;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main(process.argv.slice(2));
