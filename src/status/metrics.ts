// Prometheus metrics (prom-client, in a registry of our own so nothing global leaks in).
// Every value is taken from one status snapshot per scrape: the metrics' collect() hooks read
// the snapshot the scrape just took, so one scrape never mixes two moments.
// Failed handshakes are counted among the drops ('auth', 'untrusted', 'handshake-state',
// 'rate-limited'); hacloud_handshakes_total counts the completed ones.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { StatusJson } from './status-json.js';

export interface MetricsServer {
  /** Where it listens (the port is the real one when 0 was asked for). */
  readonly address: { host: string; port: number };
  close(): Promise<void>;
}

export interface MetricsOptions {
  /** Also export prom-client's process metrics (CPU, RSS, event loop lag). Default true. */
  processMetrics?: boolean;
}

export class MetricsListenError extends Error {}

export interface MetricsRegistry {
  readonly registry: Registry;
  /** Take a snapshot and render the text exposition format. */
  scrape(): Promise<string>;
}

export function createMetricsRegistry(getStatus: () => StatusJson, opts: MetricsOptions = {}): MetricsRegistry {
  const registry = new Registry();
  let current: StatusJson | null = null;
  const snapshot = (): StatusJson => {
    if (!current) throw new Error('metrics collected outside a scrape');
    return current;
  };
  const registers = [registry];

  new Gauge({
    name: 'hacloud_info', help: 'Constant 1, labelled with this node\'s id and version.', labelNames: ['id', 'version'], registers,
    collect() {
      const s = snapshot();
      this.reset();
      this.set({ id: s.node.id, version: s.node.version }, 1);
    },
  });
  new Gauge({
    name: 'hacloud_uptime_seconds', help: 'Seconds since this node started.', registers,
    collect() { this.set(snapshot().node.uptimeMs / 1000); },
  });
  new Gauge({
    name: 'hacloud_peers', help: 'Connected peers.', registers,
    collect() { this.set(snapshot().peers.length); },
  });
  new Gauge({
    name: 'hacloud_claims', help: 'Prefixes this node claims.', registers,
    collect() { this.set(snapshot().node.claims.length); },
  });
  new Gauge({
    name: 'hacloud_active_claims', help: 'Prefixes for which this node is the active claimant.', registers,
    collect() { this.set(snapshot().routes.filter((r) => r.activeIsSelf).length); },
  });
  new Gauge({
    name: 'hacloud_routes', help: 'Prefixes known in the mesh (claimed by this node or its peers).', registers,
    collect() { this.set(snapshot().routes.length); },
  });
  new Gauge({
    name: 'hacloud_claim_state',
    help: "This node's claims: 1 for the claim's current role (active, standby, withdrawn), 0 for the others.",
    labelNames: ['prefix', 'role'], registers,
    collect() {
      this.reset();
      for (const c of snapshot().claims) {
        for (const role of ['active', 'standby', 'withdrawn']) this.set({ prefix: c.prefix, role }, c.role === role ? 1 : 0);
      }
    },
  });
  new Gauge({
    name: 'hacloud_claim_healthy', help: "1 while the health check of this node's claim passes (claims with a check only).",
    labelNames: ['prefix'], registers,
    collect() {
      this.reset();
      for (const c of snapshot().claims) if (c.health) this.set({ prefix: c.prefix }, c.health.healthy ? 1 : 0);
    },
  });
  new Gauge({
    name: 'hacloud_claim_priority', help: "Priority of this node's claims.", labelNames: ['prefix'], registers,
    collect() {
      this.reset();
      for (const c of snapshot().claims) this.set({ prefix: c.prefix }, c.priority);
    },
  });
  new Gauge({
    name: 'hacloud_denied_claims', help: 'Claims of connected peers this node ignores (claim rights, route safety, the cap).',
    registers,
    collect() { this.set(snapshot().peers.reduce((n, p) => n + p.deniedClaims.length, 0)); },
  });
  new Gauge({
    name: 'hacloud_peer_rtt_seconds', help: 'Smoothed round-trip time to each peer.', labelNames: ['peer'], registers,
    collect() {
      this.reset();
      for (const p of snapshot().peers) if (p.rttMs !== null) this.set({ peer: p.id }, p.rttMs / 1000);
    },
  });
  new Counter({
    name: 'hacloud_traffic_bytes_total', help: 'Bytes of IP packets through the tunnel, by peer and direction (rx, tx).',
    labelNames: ['peer', 'direction'], registers,
    collect() {
      this.reset();
      for (const p of snapshot().peers) {
        this.inc({ peer: p.id, direction: 'rx' }, p.rx.bytes);
        this.inc({ peer: p.id, direction: 'tx' }, p.tx.bytes);
      }
    },
  });
  new Counter({
    name: 'hacloud_traffic_packets_total', help: 'IP packets through the tunnel, by peer and direction (rx, tx).',
    labelNames: ['peer', 'direction'], registers,
    collect() {
      this.reset();
      for (const p of snapshot().peers) {
        this.inc({ peer: p.id, direction: 'rx' }, p.rx.packets);
        this.inc({ peer: p.id, direction: 'tx' }, p.tx.packets);
      }
    },
  });
  new Counter({
    name: 'hacloud_relayed_bytes_total', help: 'Bytes this node forwarded as a relay between two of its peers (outer datagrams).',
    registers,
    collect() {
      this.reset();
      this.inc(snapshot().relay.forwarded.bytes);
    },
  });
  new Counter({
    name: 'hacloud_relayed_packets_total', help: 'Datagrams this node forwarded as a relay between two of its peers.', registers,
    collect() {
      this.reset();
      this.inc(snapshot().relay.forwarded.packets);
    },
  });
  new Gauge({
    name: 'hacloud_peer_relayed', help: 'Per peer: 1 while traffic to it goes through a relay peer, 0 on a direct path.',
    labelNames: ['peer'], registers,
    collect() {
      this.reset();
      for (const p of snapshot().peers) this.set({ peer: p.id }, p.path.kind === 'relay' ? 1 : 0);
    },
  });
  new Counter({
    name: 'hacloud_dropped_packets_total', help: 'Dropped datagrams and packets, by reason.', labelNames: ['reason'], registers,
    collect() {
      this.reset();
      for (const [reason, count] of Object.entries(snapshot().drops.byReason)) this.inc({ reason }, count);
    },
  });
  new Counter({
    name: 'hacloud_socket_datagrams_total', help: 'Datagrams the UDP socket sent and received (native socket only).',
    labelNames: ['direction'], registers,
    collect() {
      this.reset();
      const k = snapshot().socket;
      if (k?.sent != null) this.inc({ direction: 'tx' }, k.sent);
      if (k?.received != null) this.inc({ direction: 'rx' }, k.received);
    },
  });
  new Counter({
    name: 'hacloud_socket_dropped_total',
    help: 'Datagrams dropped at the UDP socket: send (not sent), receive (read, no slot), kernel (receive buffer full, before hacloud read them).',
    labelNames: ['where'], registers,
    collect() {
      this.reset();
      const k = snapshot().socket;
      if (k?.sendDrops != null) this.inc({ where: 'send' }, k.sendDrops);
      if (k?.receiveDrops != null) this.inc({ where: 'receive' }, k.receiveDrops);
      if (k?.kernelReceiveDrops != null) this.inc({ where: 'kernel' }, k.kernelReceiveDrops);
    },
  });
  new Counter({
    name: 'hacloud_handshakes_total', help: 'Handshakes completed (first contacts, rekeys, re-handshakes).', registers,
    collect() {
      this.reset();
      this.inc(snapshot().handshakes.total ?? 0);
    },
  });
  new Counter({
    name: 'hacloud_failovers_total', help: 'Switches of a prefix to another claimant because the active one timed out, left or restarted.', registers,
    collect() {
      this.reset();
      this.inc(snapshot().failovers.total);
    },
  });
  new Gauge({
    name: 'hacloud_last_failover_gap_seconds',
    help: 'For each prefix with a recent failover: how long the old claimant had been silent when this node switched.',
    labelNames: ['prefix'], registers,
    collect() {
      this.reset();
      for (const f of latestFailoverPerPrefix(snapshot())) this.set({ prefix: f.prefix }, f.gapMs / 1000);
    },
  });
  new Gauge({
    name: 'hacloud_last_failover_timestamp_seconds', help: 'For each prefix with a recent failover: when it happened (Unix time).',
    labelNames: ['prefix'], registers,
    collect() {
      this.reset();
      for (const f of latestFailoverPerPrefix(snapshot())) this.set({ prefix: f.prefix }, Date.parse(f.time) / 1000);
    },
  });
  if (opts.processMetrics !== false) collectDefaultMetrics({ register: registry });

  return {
    registry,
    async scrape(): Promise<string> {
      current = getStatus();
      try {
        // All collect() hooks run synchronously inside this call, before any other scrape can
        // replace `current`.
        return await registry.metrics();
      } finally {
        current = null;
      }
    },
  };
}

function latestFailoverPerPrefix(s: StatusJson): StatusJson['failovers']['recent'] {
  const seen = new Set<string>();
  // recent is newest first: the first one seen per prefix is its latest.
  return s.failovers.recent.filter((f) => !seen.has(f.prefix) && seen.add(f.prefix));
}

/** Serves GET /metrics with node:http; any other path is 404. */
export function startMetricsServer(
  listen: { host: string; port: number },
  getStatus: () => StatusJson,
  opts: MetricsOptions = {},
): Promise<MetricsServer> {
  const metrics = createMetricsRegistry(getStatus, opts);
  const server = createServer((req, res) => {
    handleRequest(metrics, req, res).catch(() => res.destroy());
  });
  server.on('clientError', (_e, socket) => socket.destroy());
  const where = listen.host.includes(':') ? `[${listen.host}]:${listen.port}` : `${listen.host}:${listen.port}`;

  return new Promise((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => {
      const why = e.code === 'EADDRINUSE' ? 'address already in use' : e.code === 'EADDRNOTAVAIL' ? 'no such local address' : e.message;
      reject(new MetricsListenError(`cannot serve metrics on ${where}: ${why}`));
    };
    server.once('error', onError);
    server.listen(listen.port, listen.host, () => {
      server.off('error', onError);
      server.on('error', () => {}); // later socket errors must not kill the node
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : listen.port;
      let closing: Promise<void> | undefined;
      resolve({
        address: { host: listen.host, port },
        close() {
          closing ??= new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }).then(() => metrics.registry.clear());
          return closing;
        },
      });
    });
  });
}

async function handleRequest(metrics: MetricsRegistry, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { 'content-type': 'text/plain; charset=utf-8', allow: 'GET, HEAD' }).end('method not allowed\n');
    return;
  }
  if (path === '/') {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('hacloud metrics: see /metrics\n');
    return;
  }
  if (path !== '/metrics') {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found; metrics are at /metrics\n');
    return;
  }
  let body: string;
  try {
    body = await metrics.scrape();
  } catch (e) {
    res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`cannot collect metrics: ${(e as Error).message}\n`);
    return;
  }
  res.writeHead(200, { 'content-type': metrics.registry.contentType });
  res.end(req.method === 'HEAD' ? undefined : body);
}
