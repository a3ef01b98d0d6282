// Failover probe (run inside the client namespace):
// `node probe.js HOST PORT INTERVAL_MS MAX_SECONDS` opens a TCP connection to HOST:PORT every
// INTERVAL_MS and reads the server's name. It prints only changes, stamped with the system's
// monotonic clock (the same clock as process.hrtime in the benchmark process):
//   answer <ms> <name>   first reply from <name> after another name or silence
//   silent <ms>          first failed attempt after a reply
// and exits after MAX_SECONDS (bounded load even if the benchmark is killed).
import { connect } from 'node:net';

const ATTEMPT_TIMEOUT_MS = 1_000;
const MAX_OUTSTANDING = 100;

const [host, portText, intervalText, maxText] = process.argv.slice(2);
const port = Number(portText);
const intervalMs = Number(intervalText);
const maxSeconds = Number(maxText);
if (!host || !(port > 0) || !(intervalMs >= 1) || !(maxSeconds > 0)) {
  process.stderr.write('usage: probe.js HOST PORT INTERVAL_MS MAX_SECONDS\n');
  process.exit(2);
}

const nowMs = () => Number(process.hrtime.bigint() / 1000n) / 1000;
let current: string | null = null; // name answering now, null while silent
let outstanding = 0;

function report(name: string | null): void {
  if (name === current) return;
  current = name;
  process.stdout.write(name === null ? `silent ${nowMs().toFixed(1)}\n` : `answer ${nowMs().toFixed(1)} ${name}\n`);
}

function attempt(): void {
  if (outstanding >= MAX_OUTSTANDING) return;
  outstanding++;
  let data = '';
  let done = false;
  const finish = (name: string | null) => {
    if (done) return;
    done = true;
    outstanding--;
    clearTimeout(timer);
    socket.destroy();
    report(name);
  };
  const socket = connect({ host, port });
  const timer = setTimeout(() => finish(null), ATTEMPT_TIMEOUT_MS);
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    data += chunk;
    if (data.includes('\n')) finish(data.split('\n')[0]!.trim() || null);
  });
  socket.on('error', () => finish(null));
  socket.on('close', () => finish(data.trim() || null));
}

setInterval(attempt, intervalMs);
setTimeout(() => process.exit(0), maxSeconds * 1000);
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => process.exit(0));
