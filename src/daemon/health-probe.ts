// One health check of a claim's service: a TCP connect, an HTTP(S) GET that must answer 2xx,
// or a command that must exit 0 — each bounded by a timeout. Never throws: the outcome is
// { ok, detail } with a one-line detail for logs and status.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { HealthProbeSpec } from '../config/types.js';
import { runScript, scriptFailure, scriptOk } from './script.js';

export type { HealthProbeSpec };

export interface ProbeResult {
  ok: boolean;
  detail: string;
}

/** Text form, as written in the config (`tcp: 127.0.0.1:80`, `http: URL`, `exec: "cmd"`). */
export function describeProbe(p: HealthProbeSpec): string {
  switch (p.kind) {
    case 'tcp':
      return `tcp ${p.host.includes(':') ? `[${p.host}]` : p.host}:${p.port}`;
    case 'http':
      return `http ${p.url}`;
    case 'exec':
      return `exec ${p.command}`;
  }
}

export function runProbe(p: HealthProbeSpec, timeoutMs: number, env: Record<string, string> = {}): Promise<ProbeResult> {
  switch (p.kind) {
    case 'tcp':
      return probeTcp(p.host, p.port, timeoutMs);
    case 'http':
      return probeHttp(p.url, timeoutMs);
    case 'exec':
      return runScript(p.command, env, timeoutMs).then((r) => ({
        ok: scriptOk(r),
        detail: scriptOk(r) ? 'exit 0' : `${scriptFailure(r)}${r.lastLine ? `: ${r.lastLine}` : ''}`,
      }));
  }
}

function probeTcp(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect({ host, port });
    const done = (r: ProbeResult) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done({ ok: false, detail: `no connection within ${timeoutMs} ms` }), timeoutMs);
    socket.once('connect', () => done({ ok: true, detail: `connected in ${Date.now() - started} ms` }));
    socket.once('error', (e: NodeJS.ErrnoException) => done({ ok: false, detail: e.code ?? e.message }));
  });
}

function probeHttp(url: string, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: ProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(r);
    };
    const request = url.startsWith('https:') ? httpsRequest : httpRequest;
    const req = request(url, { method: 'GET', headers: { 'user-agent': 'hacloud-health-check', connection: 'close' } }, (res) => {
      const status = res.statusCode ?? 0;
      res.resume(); // the body does not matter; read it so the socket can close
      done(status >= 200 && status < 300 ? { ok: true, detail: `HTTP ${status}` } : { ok: false, detail: `HTTP ${status}` });
    });
    const timer = setTimeout(() => done({ ok: false, detail: `no answer within ${timeoutMs} ms` }), timeoutMs);
    req.once('error', (e: NodeJS.ErrnoException) => done({ ok: false, detail: e.code ?? e.message }));
    req.end();
  });
}
