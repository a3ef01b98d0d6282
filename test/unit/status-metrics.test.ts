import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createMetricsRegistry, MetricsListenError, startMetricsServer, type MetricsServer } from '../../src/status/metrics.js';
import { buildStatusJson, type StatusJson } from '../../src/status/status-json.js';
import { engineStatus, INFO, SELF, SERVER_B, SOCKET } from './status-fixture.js';

function status(): StatusJson {
  return buildStatusJson(INFO, engineStatus());
}

/** The value of one sample, by exact series text (name plus labels as prom-client writes them). */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

function get(port: number, path: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('metrics', () => {
  it('exports the documented series with the snapshot values', async () => {
    const text = await createMetricsRegistry(status, { processMetrics: false }).scrape();
    expect(sample(text, 'hacloud_peers')).toBe(1);
    expect(sample(text, 'hacloud_claims')).toBe(1);
    expect(sample(text, 'hacloud_active_claims')).toBe(1);
    expect(sample(text, 'hacloud_routes')).toBe(3);
    expect(sample(text, 'hacloud_denied_claims')).toBe(0);
    expect(sample(text, 'hacloud_claim_state{prefix="10.0.0.100/32",role="active"}')).toBe(1);
    expect(sample(text, 'hacloud_claim_state{prefix="10.0.0.100/32",role="standby"}')).toBe(0);
    expect(sample(text, 'hacloud_claim_priority{prefix="10.0.0.100/32"}')).toBe(100);
    expect(text).not.toContain('hacloud_claim_healthy{'); // its claim has no health check
    expect(sample(text, 'hacloud_uptime_seconds')).toBe(125);
    expect(sample(text, `hacloud_info{id="${SELF}",version="0.1.0"}`)).toBe(1);
    expect(sample(text, `hacloud_traffic_bytes_total{peer="${SERVER_B}",direction="rx"}`)).toBe(1_572_864);
    expect(sample(text, `hacloud_traffic_bytes_total{peer="${SERVER_B}",direction="tx"}`)).toBe(96_000);
    expect(sample(text, `hacloud_traffic_packets_total{peer="${SERVER_B}",direction="rx"}`)).toBe(1200);
    expect(sample(text, `hacloud_traffic_packets_total{peer="${SERVER_B}",direction="tx"}`)).toBe(1100);
    expect(sample(text, 'hacloud_dropped_packets_total{reason="replay"}')).toBe(5);
    expect(sample(text, 'hacloud_dropped_packets_total{reason="auth"}')).toBe(2);
    expect(sample(text, 'hacloud_dropped_packets_total{reason="no-route"}')).toBe(0);
    expect(sample(text, 'hacloud_failovers_total')).toBe(3);
    expect(sample(text, 'hacloud_handshakes_total')).toBe(4);
    // The newest failover per prefix, not the older one of 10.0.0.1/32 (gap 0).
    expect(sample(text, 'hacloud_last_failover_gap_seconds{prefix="10.0.0.1/32"}')).toBe(0.79);
    expect(sample(text, 'hacloud_last_failover_timestamp_seconds{prefix="10.0.0.1/32"}')).toBe(Date.UTC(2026, 0, 2, 3, 3, 35) / 1000);
    expect(sample(text, `hacloud_peer_rtt_seconds{peer="${SERVER_B}"}`)).toBeCloseTo(0.000457, 9);
    expect(text).toContain('# TYPE hacloud_traffic_bytes_total counter');
    expect(text).toContain('# TYPE hacloud_peers gauge');
    expect(text).not.toContain('process_cpu');
  });

  it('counts what this node relayed and which peers it reaches through a relay', async () => {
    const e = engineStatus();
    e.relay.forwarded = { packets: 12, bytes: 34_567 };
    e.peers[0]!.path = { kind: 'relay', via: SELF };
    const text = await createMetricsRegistry(() => buildStatusJson(INFO, e), { processMetrics: false }).scrape();
    expect(sample(text, 'hacloud_relayed_bytes_total')).toBe(34_567);
    expect(sample(text, 'hacloud_relayed_packets_total')).toBe(12);
    expect(sample(text, `hacloud_peer_relayed{peer="${SERVER_B}"}`)).toBe(1);
    expect(sample(await createMetricsRegistry(status, { processMetrics: false }).scrape(), `hacloud_peer_relayed{peer="${SERVER_B}"}`)).toBe(0);
  });

  it("counts the socket's datagrams and its drops, the kernel's included; none for Node's socket", async () => {
    const text = await createMetricsRegistry(() => buildStatusJson({ ...INFO, socket: SOCKET }, engineStatus()), { processMetrics: false }).scrape();
    expect(sample(text, 'hacloud_socket_datagrams_total{direction="tx"}')).toBe(1_200);
    expect(sample(text, 'hacloud_socket_datagrams_total{direction="rx"}')).toBe(1_500);
    expect(sample(text, 'hacloud_socket_dropped_total{where="send"}')).toBe(1);
    expect(sample(text, 'hacloud_socket_dropped_total{where="receive"}')).toBe(2);
    expect(sample(text, 'hacloud_socket_dropped_total{where="kernel"}')).toBe(3);
    const dgram = { ...SOCKET, implementation: 'dgram', sent: null, sendDrops: null, received: null, receiveDrops: null, errors: null };
    const fallback = await createMetricsRegistry(() => buildStatusJson({ ...INFO, socket: dgram }, engineStatus()), { processMetrics: false }).scrape();
    expect(sample(fallback, 'hacloud_socket_datagrams_total{direction="tx"}')).toBeUndefined();
    expect(sample(fallback, 'hacloud_socket_dropped_total{where="kernel"}')).toBe(3);
  });

  it('counts the claims of peers this node ignores', async () => {
    const e = engineStatus();
    e.peers[0]!.deniedClaims = [{ prefix: '0.0.0.0/1', reason: 'outside-allowed-routes' }, { prefix: '10.0.0.7/32', reason: 'no-right' }];
    const text = await createMetricsRegistry(() => buildStatusJson(INFO, e), { processMetrics: false }).scrape();
    expect(sample(text, 'hacloud_denied_claims')).toBe(2);
  });

  it('follows the status from scrape to scrape, dropping series of vanished peers', async () => {
    let s = status();
    const metrics = createMetricsRegistry(() => s, { processMetrics: false });
    expect(sample(await metrics.scrape(), 'hacloud_peers')).toBe(1);
    const e = engineStatus();
    e.peers = [];
    e.failovers = [];
    e.failoversTotal = 0;
    s = buildStatusJson(INFO, e);
    const text = await metrics.scrape();
    expect(sample(text, 'hacloud_peers')).toBe(0);
    expect(text).not.toContain('hacloud_traffic_bytes_total{');
    expect(text).not.toContain('hacloud_last_failover_gap_seconds{');
    expect(sample(text, 'hacloud_failovers_total')).toBe(0);
  });

  describe('HTTP server', () => {
    let server: MetricsServer | undefined;
    afterEach(async () => {
      await server?.close();
      server = undefined;
    });

    it('serves GET /metrics in the Prometheus text format, with process metrics', async () => {
      server = await startMetricsServer({ host: '127.0.0.1', port: 0 }, status);
      const res = await get(server.address.port, '/metrics');
      expect(res.status).toBe(200);
      expect(res.type).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(sample(res.body, 'hacloud_failovers_total')).toBe(3);
      expect(res.body).toContain('process_resident_memory_bytes');
      expect((await get(server.address.port, '/nope')).status).toBe(404);
      expect((await get(server.address.port, '/metrics', 'POST')).status).toBe(405);
      expect((await get(server.address.port, '/metrics', 'HEAD')).body).toBe('');
    });

    it('answers 500 when the status cannot be taken, and keeps serving', async () => {
      let fail = true;
      server = await startMetricsServer({ host: '127.0.0.1', port: 0 }, () => {
        if (fail) throw new Error('engine gone');
        return status();
      }, { processMetrics: false });
      const bad = await get(server.address.port, '/metrics');
      expect(bad.status).toBe(500);
      expect(bad.body).toContain('engine gone');
      fail = false;
      expect((await get(server.address.port, '/metrics')).status).toBe(200);
    });

    it('reports a port in use in one line', async () => {
      server = await startMetricsServer({ host: '127.0.0.1', port: 0 }, status, { processMetrics: false });
      const err = await startMetricsServer({ host: '127.0.0.1', port: server.address.port }, status).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MetricsListenError);
      expect((err as Error).message).toBe(`cannot serve metrics on 127.0.0.1:${server.address.port}: address already in use`);
    });
  });
});
