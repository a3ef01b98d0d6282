#!/usr/bin/env node
// The web server of each site in examples/multi-site (plain Node, no dependencies):
//   GET /        -> "<site name>\n", so a client can see which site served it
//   GET /health  -> 200 "ok", or 503 "down" while the down file exists
// Creating the down file takes the site out of rotation without stopping anything (hacloud's
// health check fails, the claim is withdrawn, the front sends traffic to the next site);
// removing it brings the site back. Stopping the process makes the check fail just the same.
//
//   node site-web.mjs --name site-a [--port 8080] [--down-file /run/site-web.down]
import { existsSync } from 'node:fs';
import http from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    name: { type: 'string' },
    port: { type: 'string', default: '8080' },
    'down-file': { type: 'string', default: '/run/site-web.down' },
  },
});
const name = values.name;
const port = Number(values.port);
const downFile = values['down-file'];
if (!name || !(Number.isInteger(port) && port > 0 && port < 65536)) {
  console.error('usage: site-web.mjs --name NAME [--port PORT] [--down-file FILE]');
  process.exit(2);
}

const server = http.createServer((req, res) => {
  if (req.url === '/health') {
    const down = existsSync(downFile);
    res.writeHead(down ? 503 : 200, { 'content-type': 'text/plain' }).end(down ? 'down\n' : 'ok\n');
    return;
  }
  res.writeHead(200, { 'content-type': 'text/plain' }).end(`${name}\n`);
});
server.on('error', (e) => {
  console.error(`site-web: ${e.message}`);
  process.exit(1);
});
server.listen(port, () => console.log(`site-web: ${name} listening on port ${port} (health down while ${downFile} exists)`));
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
