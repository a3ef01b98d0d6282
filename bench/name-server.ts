// Tiny TCP service for the failover benchmark (run inside a server namespace):
// `node name-server.js PORT NAME` answers every connection with NAME and closes it.
import { createServer } from 'node:net';

const [portText, name] = process.argv.slice(2);
const port = Number(portText);
if (!(port > 0 && port < 65536) || !name) {
  process.stderr.write('usage: name-server.js PORT NAME\n');
  process.exit(2);
}
const server = createServer((socket) => {
  socket.on('error', () => socket.destroy());
  socket.end(`${name}\n`);
});
server.listen(port, () => process.stdout.write(`listening ${port}\n`));
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => process.exit(0));
