// The daemon: the one place where the sans-IO engine meets the TUN device, the UDP socket,
// the clock, the file system and the operator's tools (status socket, metrics, stats file,
// kernel routes, hooks). Start-up failures are one-line errors; SIGINT/SIGTERM tell the
// peers we leave (so they fail over at once) and tear everything down within a second.
import { formatAddress, formatEndpoint, formatPrefix, type Prefix } from '../wire/addr.js';
import { claimedPrefixes, claimRightsMap, ownClaims } from '../config/resolve.js';
import { HaPlumbing } from './ha.js';
import { ClaimPolicy } from '../core/claim-policy.js';
import { ConfigError } from '../config/errors.js';
import type { Config } from '../config/types.js';
import { createEngine, type Engine } from '../core/engine.js';
import { SecureChannel } from '../crypto/channel.js';
import { identityRecordAuth } from '../crypto/record-auth.js';
import { KeyFormatError } from '../crypto/keys.js';
import { openTun, type TunDevice } from '../io/tun.js';
import type { Transport } from '../io/udp.js';
import { openPreferredUdpTransport } from '../io/udp-native.js';
import { createLogger, type Logger } from '../log/logger.js';
import { readVersion } from '../version.js';
import { startControlServer } from '../status/control-server.js';
import { startMetricsServer } from '../status/metrics.js';
import { startStatsFile, DEFAULT_STATS_INTERVAL_MS } from '../status/stats-file.js';
import { buildStatusJson, type SocketJson, type StatusJson } from '../status/status-json.js';
import { kernelReceiveDrops } from '../io/proc-udp.js';
import { warmUpDataPath } from './warmup.js';
import { DataPlane, monotonicMs } from './dataplane.js';
import { logEngineEvent } from './event-log.js';
import { runHook } from './hooks.js';
import { loadTrust } from './identity.js';
import { autoMtu } from './mtu.js';
import { dropPrivileges, removePidFile, writePidFile } from './privileges.js';
import { systemRng } from '../crypto/rng.js';
import { resolvePeers } from './resolve.js';
import { KernelRoutes } from './routes.js';
import { shortId } from '../log/text.js';
import { networkInterfaces } from 'node:os';
import { hostCandidates, withListenPort } from './candidates.js';
import type { RelayMode } from '../wire/control.js';
import { RELAY_OVERHEAD_BYTES } from '../core/constants.js';

const RELAY_MODES: Record<Config['relay'], RelayMode> = { off: 0, on: 1, preferred: 2 };

/** Peers given by name are looked up again this often (a moved DNS entry is found again). */
const RESOLVE_INTERVAL_MS = 60_000;
/** Interface addresses (host candidates) are read again this often: a roaming host's new LAN address. */
const HOST_CANDIDATES_INTERVAL_MS = 10_000;
/** After SIGTERM, wait at most this long for peers to acknowledge our Leave. */
const LEAVE_WAIT_MS = 300;
const LEAVE_POLL_MS = 10;

type Closer = () => Promise<void> | void;

/** Runs the node until SIGINT/SIGTERM; returns the process exit code. */
export async function runDaemon(config: Config): Promise<number> {
  const log = createLogger({ level: config.logLevel, file: config.logFile });
  const closers: Closer[] = [];
  let exitCode = 0;
  try {
    const node = await startNode(config, log, closers);
    exitCode = await node.untilStopped;
    await node.leave();
  } catch (err) {
    if (err instanceof KeyFormatError) throw new ConfigError(err.message);
    throw err;
  } finally {
    for (const close of closers.reverse()) {
      try {
        await close();
      } catch (err) {
        log.warn(`shutdown: ${(err as Error).message}`);
      }
    }
    log.info('stopped');
    log.close();
  }
  return exitCode;
}

interface RunningNode {
  untilStopped: Promise<number>;
  leave(): Promise<void>;
}

async function startNode(config: Config, log: Logger, closers: Closer[]): Promise<RunningNode> {
  const trust = loadTrust(config);
  log.setNodeId(shortId(trust.identity.id));
  if (trust.createdIdentityFile) log.info(`created identity file ${trust.createdIdentityFile} (id ${trust.identity.id})`);
  const rng = systemRng();
  const warm = warmUpDataPath(trust.algorithms[0] ?? 'chacha20', rng);
  if ('error' in warm) log.debug(`data path warm-up skipped: ${warm.error}`);
  else log.debug(`data path warm-up: ${warm.packets} packets in ${warm.ms.toFixed(0)} ms`);

  const transport: Transport = await openPreferredUdpTransport({
    listen: config.listen.host ? formatEndpoint(config.listen.host, config.listen.port) : config.listen.port,
    onError: (err) => log.debug(`udp: ${err.message}`),
  }, (why) => log.warn(`udp: ${why}`));
  closers.push(() => transport.close());

  const mtu = config.mtu === 'auto' ? autoMtu() : config.mtu;
  const tun: TunDevice = await openTun({
    name: config.device.name,
    path: config.device.path,
    mtu,
    ...(config.ip ? { address: { ip: formatAddress(config.ip.address), prefixLen: config.ip.prefix.len } } : {}),
  });
  closers.push(() => tun.close());

  // Kernel routes for subnets other nodes claim outside our own network.
  const ownNetworks: Prefix[] = [...(config.ip ? [config.ip.prefix] : []), ...config.claims.map((c) => c.prefix)];
  const routes = config.routes ? new KernelRoutes({ device: tun.name, ownNetworks, allowedRoutes: config.allowedRoutes, log }) : null;
  if (routes) closers.push(() => routes.close());

  const claimRights = claimRightsMap(config);
  if (claimRights) {
    // Our peers apply the same rights to us: say so now rather than leave a silent black hole.
    const policy = new ClaimPolicy(claimRights, config.allowedRoutes);
    const uncovered = claimedPrefixes(config).filter((p) => policy.denial(trust.identity.id, p) === 'no-right');
    if (uncovered.length > 0) {
      log.warn(`claim-rights give this node (${shortId(trust.identity.id)}) no right to ${uncovered.map(formatPrefix).join(', ')}: ` +
        'peers with the same rights ignore those claims');
    }
  }

  const routesChanged = debounce(() => syncRoutes());
  const ha = new HaPlumbing(config, tun.name, trust.identity.id, log);
  closers.push(() => ha.close());
  const engine: Engine = createEngine({
    config: {
      claims: ownClaims(config).map((c) => ({
        prefix: c.prefix, priority: c.priority, preempt: c.preempt, preemptDelayMs: c.preemptDelayMs,
        health: c.health ? { rise: c.health.rise, fall: c.health.fall } : null,
      })),
      claimRights,
      allowedRoutes: config.allowedRoutes,
      bootTimeMs: Date.now(),
      seeds: [],
      keepaliveMs: config.keepaliveMs,
      peerTimeoutMs: config.peerTimeoutMs,
      relay: RELAY_MODES[config.relay],
      // Relayed datagrams carry RELAY_OVERHEAD_BYTES more: bigger packets get an ICMP "too big".
      relayMtu: autoMtu() - RELAY_OVERHEAD_BYTES,
      relayLimit: { ...config.relayLimit },
    },
    makeChannel: (sink) =>
      new SecureChannel({
        identity: trust.identity,
        ...(trust.psk ? { psk: trust.psk } : {}),
        ...(trust.trustedPeers ? { trustedPeers: trust.trustedPeers } : {}),
        algorithms: trust.algorithms,
        rng,
        wallClock: Date.now,
        sink,
        onInternalError: (err) => log.error(`internal error in packet handling: ${(err as Error).message}`),
      }),
    recordAuth: identityRecordAuth(trust.identity),
    send: (to, datagram) => transport.send(to, datagram),
    deliver: (packet) => void tun.write(packet),
    onEvent: (e) => {
      logEngineEvent(log, e);
      if (e.type === 'route-change') routesChanged();
      ha.onEvent(e);
    },
    rng,
  });
  const plane = new DataPlane(engine, tun, transport);
  plane.start();
  closers.push(() => plane.stop());
  ha.start(engine, () => plane.poke());
  log.info(`listening on port ${transport.localPort}, device ${tun.name} mtu ${mtu}` +
    (config.ip ? ` address ${config.ip.text}` : ''));

  // -c peers: resolved now and again periodically.
  const refreshSeeds = async (): Promise<void> => {
    const endpoints = await resolvePeers(config.peers, log);
    engine.setSeeds(monotonicMs(), endpoints);
    plane.poke();
  };
  await refreshSeeds();
  if (config.peers.length > 0) {
    const resolver = setInterval(() => void refreshSeeds(), RESOLVE_INTERVAL_MS);
    resolver.unref();
    closers.push(() => clearInterval(resolver));
  }

  // Our own candidates for peers that cannot use the address they see us at (paths).
  const advertise = withListenPort(config.advertise, transport.localPort);
  const refreshCandidates = async (resolveNames: boolean): Promise<void> => {
    const host = hostCandidates(networkInterfaces(), {
      listenHost: config.listen.host, port: transport.localPort, tunDevice: tun.name, overlay: ownNetworks,
    });
    const resolved = resolveNames && advertise.length > 0 ? await resolvePeers(advertise, log, 'advertise-address') : undefined;
    engine.setCandidates(monotonicMs(), { host, ...(resolved ? { advertise: resolved } : {}) });
    plane.poke();
  };
  await refreshCandidates(true);
  let candidateRounds = 0;
  const candidateTimer = setInterval(() => {
    candidateRounds++;
    void refreshCandidates(candidateRounds % Math.round(RESOLVE_INTERVAL_MS / HOST_CANDIDATES_INTERVAL_MS) === 0);
  }, HOST_CANDIDATES_INTERVAL_MS);
  candidateTimer.unref();
  closers.push(() => clearInterval(candidateTimer));

  function syncRoutes(): void {
    if (!routes) return;
    void routes.sync(engine.prefixesRoutedToOthers());
  }

  if (config.ifup) await runHook('ifup', config.ifup, { IFNAME: tun.name }, log);
  if (config.ifdown) {
    const script = config.ifdown;
    closers.push(() => runHook('ifdown', script, { IFNAME: tun.name }, log));
  }

  const version = readVersion();
  const getStatus = (): StatusJson =>
    buildStatusJson(
      {
        version,
        device: tun.name,
        addresses: config.ip ? [config.ip.text] : [],
        listen: `${config.listen.host || '*'}:${transport.localPort}`,
        controlSocket: config.controlSocket,
        nowWallMs: Date.now(),
        socket: socketJson(transport),
      },
      engine.status(monotonicMs()),
    );
  const control = await startControlServer(config.controlSocket, ({ cmd, args }) => {
    if (cmd === 'status') return getStatus();
    const haReply = ha.control(cmd, args, () => plane.poke());
    if (haReply) return haReply;
    throw new Error(`unknown command '${cmd}'`);
  }).catch((err: Error) => {
    log.warn(`control socket disabled: ${err.message}`);
    return null;
  });
  if (control) closers.push(() => control.close());
  if (config.metricsListen) {
    const metrics = await startMetricsServer(config.metricsListen, getStatus);
    closers.push(() => metrics.close());
  }
  if (config.statsFile) {
    const stats = startStatsFile(config.statsFile, DEFAULT_STATS_INTERVAL_MS, getStatus, log);
    closers.push(() => stats.close());
  }
  if (config.pidFile) {
    const pidFile = config.pidFile;
    writePidFile(pidFile);
    closers.push(() => removePidFile(pidFile));
  }
  if (config.user || config.group) {
    dropPrivileges(config.user, config.group, log);
    if (routes) log.warn('kernel routes cannot change after dropping privileges: new claims get no route (use --no-routes to silence)');
  }

  const untilStopped = new Promise<number>((resolve) => {
    const stop = (signal: string) => () => {
      log.info(`${signal}: leaving the network`);
      resolve(0);
    };
    process.once('SIGINT', stop('SIGINT'));
    process.once('SIGTERM', stop('SIGTERM'));
    process.on('SIGHUP', () => log.reopen());
    tun.onError((err) => {
      log.error(err.message);
      resolve(1);
    });
  });

  return {
    untilStopped,
    leave: async () => {
      engine.leave(monotonicMs());
      plane.poke();
      const until = monotonicMs() + LEAVE_WAIT_MS;
      while (!engine.leaveSettled && monotonicMs() < until) await sleep(LEAVE_POLL_MS);
    },
  };
}

function debounce(fn: () => void): () => void {
  let queued = false;
  return () => {
    if (queued) return;
    queued = true;
    setImmediate(() => {
      queued = false;
      fn();
    });
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}


/** The socket's own counters (native only) and the kernel's receive-buffer drops on its port. */
function socketJson(transport: Transport): SocketJson {
  const c = transport.counters?.();
  return {
    implementation: c ? 'native' : 'dgram',
    sent: c?.sent ?? null,
    sendDrops: c?.sendDrops ?? null,
    received: c?.received ?? null,
    receiveDrops: c?.receiveDrops ?? null,
    errors: c?.errors ?? null,
    kernelReceiveDrops: kernelReceiveDrops(transport.localPort),
  };
}
