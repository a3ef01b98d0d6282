// --ifup / --ifdown: a shell command run with IFNAME (and whatever the daemon adds) in its
// environment. Bounded in time; a failing or hanging script is logged, never fatal.
import type { Logger } from '../log/logger.js';
import { runScript, scriptFailure } from './script.js';

export { DEFAULT_HOOK_TIMEOUT_MS } from '../config/defaults.js';
import { DEFAULT_HOOK_TIMEOUT_MS } from '../config/defaults.js';

export async function runHook(
  kind: string,
  script: string,
  env: { [k: string]: string },
  log: Logger,
  timeoutMs = DEFAULT_HOOK_TIMEOUT_MS,
): Promise<void> {
  const r = await runScript(script, env, timeoutMs);
  const output = r.lastLine === undefined ? {} : { output: r.lastLine };
  if (r.startError !== undefined) log.warn(`${kind} script could not be started`, { error: r.startError });
  else if (r.timedOut) log.warn(`${kind} script timed out and was stopped`, { timeoutMs, ...output });
  else if (r.code !== 0) log.warn(`${kind} script failed`, { exit: r.code ?? r.signal ?? scriptFailure(r), ms: r.ms, ...output });
  else log.debug(`${kind} script done`, { ms: r.ms, ...output });
}
