// The Docker example cluster (examples/docker) for real: a private dockerd in its own namespaces,
// the example image built from the host's `npm ci` output, two servers sharing 10.0.0.1 and a
// client. The client must be served by one server, and by the other once that one is killed.
// Needs root and Debian's docker.io + docker-compose; if Docker cannot start, the test fails.
import { afterAll, describe, expect, it } from 'vitest';
import { ExampleCluster } from './docker/cluster.js';
import { sleep } from './docker/run.js';
import { startDockerSandbox, type DockerSandbox } from './docker/sandbox.js';

const servers = ['server-a', 'server-b'];
const firstAnswerTimeoutMs = 60_000;
// peer-timeout 5 s + keepalive 2 s in the compose file, with room for a loaded CI machine.
const failoverTimeoutMs = 45_000;
const answersNeededAfterFailover = 3;

const lastLine = (text: string) => text.trim().split('\n').pop() ?? '';

/** Throws if a container that should be running has stopped (its hacloud exited). */
async function failIfStopped(cluster: ExampleCluster, mustRun: string[], context: string): Promise<void> {
  const stopped = (await cluster.exitedServices()).filter((s) => mustRun.includes(s));
  if (stopped.length > 0) {
    throw new Error(`container(s) stopped: ${stopped.join(', ')} (their logs follow the failure); ${context}`);
  }
}

/**
 * Polls `exec client curl 10.0.0.1:8000` until `accept` holds; returns the answer and when it came.
 * Fails at once if a container in `mustRun` has stopped (hacloud exited), instead of at the timeout.
 */
async function waitForAnswer(
  cluster: ExampleCluster,
  accept: (answer: string) => boolean,
  mustRun: string[],
  timeoutMs: number,
) {
  const seen = new Set<string>();
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const answer = await cluster.fetchFromClient().catch((err: Error) => `(${lastLine(err.message)})`);
    if (accept(answer)) return { answer, atMs: Date.now() };
    seen.add(answer);
    await failIfStopped(cluster, mustRun, `answers so far: ${[...seen].join(', ')}`);
    await sleep(250);
  }
  throw new Error(`no acceptable answer from 10.0.0.1:8000 within ${timeoutMs} ms; got: ${[...seen].join(', ')}`);
}

describe('docker example cluster', () => {
  let sandbox: DockerSandbox | undefined;
  let cluster: ExampleCluster | undefined;

  afterAll(async () => {
    const problems: string[] = [];
    if (cluster) await cluster.down().catch((err: Error) => problems.push(err.message));
    if (sandbox) await sandbox.stop().catch((err: Error) => problems.push(err.message));
    if (problems.length > 0) throw new Error(problems.join('\n'));
  }, 180_000);

  it('serves the client from the other server after the active one is killed', async () => {
    const t0 = Date.now();
    const phases: string[] = [];
    const mark = (what: string) => phases.push(`${what} ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    sandbox = await startDockerSandbox();
    mark('dockerd up');
    const example = new ExampleCluster(sandbox);
    cluster = example;
    await example.provideBaseImage();
    mark('base image');
    await example.build();
    mark('example image');
    await example.up();
    mark('cluster up');
    try {
      // hacloud finds its peers by service name: Docker's embedded DNS must answer inside the containers.
      for (const s of [...servers, 'client']) {
        const address = await example.resolveFromClient(s).catch(async (err: Error) => {
          await failIfStopped(example, [...servers, 'client'], `resolving ${s} failed`);
          throw err;
        });
        expect(address).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      }

      const first = await waitForAnswer(example, (a) => servers.includes(a), [...servers, 'client'], firstAnswerTimeoutMs);
      mark(`served by ${first.answer}`);
      const survivor = servers.find((s) => s !== first.answer)!;

      await example.kill(first.answer);
      const killedAtMs = Date.now();
      mark(`killed ${first.answer}`);
      const switched = await waitForAnswer(example, (a) => a === survivor, [survivor, 'client'], failoverTimeoutMs);
      mark(`served by ${survivor} (${((switched.atMs - killedAtMs) / 1000).toFixed(1)} s after the kill)`);
      for (let i = 0; i < answersNeededAfterFailover; i++) expect(await example.fetchFromClient()).toBe(survivor);
      console.log(`docker example cluster: ${phases.join(' | ')}`);
    } catch (err) {
      console.error(`docker example cluster failed after: ${phases.join(' | ')}\n${await example.logs()}`);
      throw err;
    }
  }, 480_000);
});
