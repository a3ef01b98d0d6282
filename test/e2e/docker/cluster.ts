// Drives examples/docker (Dockerfile + docker-compose.yml) on a sandboxed daemon, the way its README
// does: build, up, `exec client curl 10.0.0.1:8000`, kill a server, down.
import { fileURLToPath } from 'node:url';
import { run } from './run.js';
import type { DockerSandbox } from './sandbox.js';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const composeFile = `${repoRoot}examples/docker/docker-compose.yml`;
const baseImageScript = `${repoRoot}scripts/docker-base-image.sh`;

/** The Dockerfile's default BASE; the test provides it locally since no registry is reachable. */
export const dockerfileBaseImage = 'node:20-bookworm-slim';
export const sharedIp = '10.0.0.1';

export class ExampleCluster {
  readonly project: string;

  constructor(private readonly sandbox: DockerSandbox) {
    this.project = `hacloud${sandbox.id}`;
  }

  compose(args: string[], timeoutMs: number): Promise<string> {
    return run(this.sandbox.tools['docker-compose'], ['-f', composeFile, '-p', this.project, ...args], {
      env: this.sandbox.env,
      cwd: repoRoot,
      timeoutMs,
    });
  }

  /** Imports the host-built stand-in for the official Node image under the tag the Dockerfile expects. */
  async provideBaseImage(): Promise<void> {
    await run('sh', [baseImageScript, dockerfileBaseImage], {
      env: { ...this.sandbox.env, DOCKER: this.sandbox.docker },
      timeoutMs: 120_000,
    });
  }

  build(): Promise<string> {
    return this.compose(['build'], 240_000);
  }

  up(): Promise<string> {
    return this.compose(['up', '-d', '--no-build'], 90_000);
  }

  /** `docker-compose exec client curl 10.0.0.1:8000`: the answering server's host name; throws with curl's error. */
  async fetchFromClient(timeoutS = 2): Promise<string> {
    const out = await this.compose(
      ['exec', '-T', 'client', 'curl', '--silent', '--show-error', '--max-time', String(timeoutS), `http://${sharedIp}:8000/`],
      (timeoutS + 15) * 1000,
    );
    return out.trim();
  }

  /** Resolves a service name from inside the client through Docker's embedded DNS (as hacloud does). */
  async resolveFromClient(service: string): Promise<string> {
    const script = `require('node:dns').lookup(${JSON.stringify(service)}, (e, a) => { if (e) { console.error(e.message); process.exit(1) } console.log(a) })`;
    const out = await this.compose(['exec', '-T', 'client', 'node', '-e', script], 30_000);
    return out.trim();
  }

  /** Services of this project whose container has stopped (e.g. hacloud exited on an error). */
  async exitedServices(): Promise<string[]> {
    const out = await run(
      this.sandbox.docker,
      ['ps', '--all', '--filter', `label=com.docker.compose.project=${this.project}`, '--filter', 'status=exited',
        '--format', '{{.Label "com.docker.compose.service"}}'],
      { env: this.sandbox.env, timeoutMs: 15_000 },
    );
    return out.split('\n').filter(Boolean);
  }

  kill(service: string): Promise<string> {
    return this.compose(['kill', service], 60_000);
  }

  /** The last lines of every container's log, for a failure report; never throws. */
  async logs(): Promise<string> {
    const out = await this.compose(['logs', '--no-color', '--tail', '60'], 30_000).catch((err: Error) => err.message);
    return out;
  }

  /** Removes the containers, the network and the images the compose file built. */
  down(): Promise<string> {
    return this.compose(['down', '--rmi', 'all', '--volumes', '--remove-orphans', '--timeout', '5'], 90_000);
  }
}
