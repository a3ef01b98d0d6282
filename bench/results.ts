// Machine description and the history file bench/RESULTS.md (newest run first).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';

const HEADER = `# Benchmark results

Written by \`npm run bench\` (\`-- --quick\` for the short run), newest first. Compare numbers
only within one run: the machine may have been busy. How each row is set up: bench/README.md.
`;

export function machineLine(): string {
  let model = cpus()[0]?.model ?? 'unknown CPU';
  try {
    model = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? model;
  } catch {
    // keep os.cpus()'s
  }
  return `${cpus().length} × ${model}, Linux ${release()}, Node ${process.version}, hacloud ${gitVersion()}`;
}

function gitVersion(): string {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${commit} + uncommitted changes` : commit;
  } catch {
    return 'unknown version';
  }
}

/** Insert a run's section above the older ones, creating the file if needed. */
export function recordResults(file: string, section: string): void {
  const old = existsSync(file) ? readFileSync(file, 'utf8') : HEADER;
  const at = old.search(/^## /m);
  const next = at < 0 ? `${old.trimEnd()}\n\n${section.trimEnd()}\n` : `${old.slice(0, at)}${section.trimEnd()}\n\n${old.slice(at)}`;
  writeFileSync(file, next);
}
