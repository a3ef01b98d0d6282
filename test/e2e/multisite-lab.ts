// The lab of examples/multi-site and the helpers its test drives it with: a front router and
// an internet client on the public bridge, two sites each behind its own masquerading router.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT, type Lab, type LabOptions, type LabProcess } from './lab.js';
import { startHacloud, statusJson, waitFor } from './hacloud.js';

export const EXAMPLE_DIR = join(REPO_ROOT, 'examples/multi-site');
export const SITE_WEB = join(EXAMPLE_DIR, 'site-web.mjs');
export const SHARED_PREFIX = '10.0.0.1/32';
/** The example files' placeholders: the front's public address and where the files are installed. */
const EXAMPLE_PUBLIC_IP = '203.0.113.10';
const EXAMPLE_INSTALL_DIR = '/etc/hacloud/multi-site/';

export const LAYOUT: LabOptions = {
  hosts: ['front', 'client', 'routera', 'routerb'],
  lans: [
    { router: 'routera', hosts: ['sitea'] },
    { router: 'routerb', hosts: ['siteb'] },
  ],
};
export type Site = 'sitea' | 'siteb';
/** What each site's web server answers with. */
export const SITE_NAME: Record<Site, string> = { sitea: 'site-a', siteb: 'site-b' };

/** The password every example config shares (read from front.yaml, so the test follows it). */
export function examplePassword(): string {
  const doc = parse(readFileSync(join(EXAMPLE_DIR, 'front.yaml'), 'utf8')) as { crypto: { password: string } };
  return doc.crypto.password;
}

/** A private directory for the lab's copies of the example configs. */
export class ConfigDir {
  readonly path = mkdtempSync(join(tmpdir(), 'hacloud-multisite-'));

  /** examples/multi-site/NAME.yaml with this lab's front address and this checkout's paths. */
  write(lab: Lab, name: string): string {
    const text = readFileSync(join(EXAMPLE_DIR, `${name}.yaml`), 'utf8')
      .replaceAll(EXAMPLE_PUBLIC_IP, lab.ip('front'))
      .replaceAll(EXAMPLE_INSTALL_DIR, `${EXAMPLE_DIR}/`);
    const file = join(this.path, `${name}.yaml`);
    writeFileSync(file, text, { mode: 0o600 });
    return file;
  }

  downFile(site: Site): string {
    return join(this.path, `${site}.down`);
  }

  remove(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}

/** Start a site's web server (examples/multi-site/site-web.mjs) on port 8080. */
export async function startWeb(lab: Lab, site: Site, dir: ConfigDir): Promise<LabProcess> {
  const p = lab.spawn(site, process.execPath, [SITE_WEB, '--name', SITE_NAME[site], '--port', '8080', '--down-file', dir.downFile(site)]);
  await p.waitForLine(/listening on port 8080/, 5000);
  return p;
}

/** The front router with examples/multi-site/front.yaml, port forward included (its ifup). */
export function startFront(lab: Lab, dir: ConfigDir): Promise<LabProcess> {
  return startHacloud(lab, 'front', ['--config', dir.write(lab, 'front')]);
}

/** One HTTP GET from `host` (curl, like the README); the body, or null on any failure. */
export async function httpGet(lab: Lab, host: string, url: string, timeoutMs = 300): Promise<string | null> {
  const r = await lab.exec(host, 'curl', ['-sf', '--max-time', String(timeoutMs / 1000), url], { check: false, timeoutMs: timeoutMs + 5000 });
  return r.code === 0 ? r.stdout.trim() : null;
}

/** The internet client asks the front's public address, port 80. */
export function askFront(lab: Lab, timeoutMs?: number): Promise<string | null> {
  return httpGet(lab, 'client', `http://${lab.ip('front')}/`, timeoutMs);
}

const HTTP_PROBE = new URL('./fixtures/http-probe.mjs', import.meta.url).pathname;
/** The prober's request rate and per-request timeout. */
const PROBE_EVERY_MS = 20;
const PROBE_TIMEOUT_MS = 500;
/** A prober stops on its own after this long, should a test forget it. */
const PROBE_MAX_MS = 60_000;

/** Poll with curl until `site` answers on the front's public address. */
export function waitForSite(lab: Lab, site: Site, timeoutMs: number): Promise<true> {
  return waitFor(`${SITE_NAME[site]} to answer on the front's public address`, timeoutMs, async () =>
    (await askFront(lab)) === SITE_NAME[site] ? true : null, 50);
}

/**
 * While `from` is answering, do `event` (a kill, say); returns when it happened (wall clock)
 * and how long until `to` first answered the internet client after it.
 */
export async function measureSwitch(lab: Lab, from: Site, to: Site, event: () => unknown, timeoutMs: number): Promise<{ atMs: number; ms: number }> {
  const prober = await Prober.start(lab, from);
  try {
    const atMs = Date.now();
    await event();
    return { atMs, ms: await prober.firstAnswer(to, atMs, timeoutMs) };
  } finally {
    await prober.stop();
  }
}

/** The internet client asking the front's public address every 20 ms, for switch times. */
export class Prober {
  private constructor(private readonly proc: LabProcess) {}

  /** Start one and wait until `site` answers through it. */
  static async start(lab: Lab, site: Site): Promise<Prober> {
    const url = `http://${lab.ip('front')}/`;
    const proc = lab.spawn('client', process.execPath, [HTTP_PROBE, url, String(PROBE_EVERY_MS), String(PROBE_TIMEOUT_MS), String(PROBE_MAX_MS)]);
    const prober = new Prober(proc);
    await prober.firstAnswer(site, 0, 10_000);
    return prober;
  }

  /** Milliseconds from `sinceMs` (wall clock) to the first answer from `site` after it. */
  firstAnswer(site: Site, sinceMs: number, timeoutMs: number): Promise<number> {
    const answer = SITE_NAME[site];
    return waitFor(`${answer} to answer the internet client`, timeoutMs, async () => {
      for (const line of this.proc.lines) {
        const [at, text] = line.split(' ');
        if (text === answer && Number(at) >= sinceMs) return Number(at) - sinceMs;
      }
      return null;
    }, 20);
  }

  /** Every answer after `sinceMs`, in order (to check nothing else answered). */
  answersSince(sinceMs: number): string[] {
    return this.proc.lines.map((l) => l.split(' ')).filter(([at]) => Number(at) >= sinceMs).map(([, text]) => text!);
  }

  stop(): Promise<unknown> {
    return this.proc.stop();
  }
}

/** The front's view of the shared prefix: its claimants, preferred first. */
export async function frontRoute(lab: Lab) {
  const status = await statusJson(lab, 'front');
  return status.routes.find((r) => r.prefix === SHARED_PREFIX) ?? null;
}

/**
 * The front's own account of its latest failover of the shared prefix, relative to `sinceMs`
 * (a wall-clock time, e.g. a kill): "switched 812 ms after (cause timeout, gap 801 ms)".
 */
export async function frontSwitchSince(lab: Lab, sinceMs: number): Promise<string> {
  const f = (await statusJson(lab, 'front')).failovers.recent.find((x) => x.prefix === SHARED_PREFIX);
  if (!f || Date.parse(f.time) < sinceMs) return 'no failover recorded';
  return `switched ${Date.parse(f.time) - sinceMs} ms after (cause ${f.cause}, gap ${f.gapMs} ms)`;
}

/** Wait until the front lists `count` claimants of the shared prefix (a site's claim advertised). */
export function waitForClaimants(lab: Lab, count: number, timeoutMs: number): Promise<true> {
  return waitFor(`the front to list ${count} claimants of ${SHARED_PREFIX}`, timeoutMs, async () =>
    ((await frontRoute(lab))?.claimants.length ?? 0) === count ? true : null, 100);
}
