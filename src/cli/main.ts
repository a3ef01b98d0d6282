// Entry point (bin/hacloud.js calls main). Every failure ends as one line on stderr:
// configuration errors exit 2, anything else 1; the stack only with -v or HACLOUD_DEBUG=1.
import { ConfigError } from '../config/errors.js';
import { createLogger } from '../log/logger.js';
import { parseCommand, type Command, type Env } from './args.js';
import { errorText } from '../log/text.js';

export async function main(argv: string[]): Promise<void> {
  let showStack = wantsStack(argv, process.env);
  try {
    const command = parseCommand(argv, process.env);
    if (command.kind === 'run' && (command.config.logLevel === 'debug' || command.config.logLevel === 'trace')) {
      showStack = true;
    }
    process.exitCode = await execute(command);
  } catch (e) {
    if (e instanceof ConfigError) {
      writeErr(`hacloud: ${oneLine(e.message)}\n`);
      process.exitCode = 2;
      return;
    }
    const message = errorText(e);
    writeErr(`hacloud: ${oneLine(message)}${showStack ? '' : ' (HACLOUD_DEBUG=1 shows details)'}\n`);
    if (showStack && e instanceof Error && e.stack) writeErr(`${e.stack}\n`);
    process.exitCode = 1;
  }
}

async function execute(command: Command): Promise<number> {
  switch (command.kind) {
    case 'print':
      process.stdout.write(command.text.endsWith('\n') ? command.text : `${command.text}\n`);
      return 0;
    case 'run': {
      // The daemon makes its own logger; start-up warnings are reported here, once.
      if (command.config.warnings.length > 0) {
        const log = createLogger({ level: command.config.logLevel, file: command.config.logFile });
        for (const warning of command.config.warnings) log.warn(warning);
        log.close();
      }
      const { runDaemon } = await import('../daemon/run.js');
      return runDaemon(command.config);
    }
    case 'genkey': {
      const { runGenkey } = await import('./genkey.js');
      const text = runGenkey();
      process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
      return 0;
    }
    case 'status': {
      const { runStatus } = await import('./status.js');
      return runStatus({ json: command.json, controlSocket: command.controlSocket });
    }
    case 'drain':
    case 'undrain': {
      const { runDrain } = await import('./drain.js');
      return runDrain({ undo: command.kind === 'undrain', prefixes: command.prefixes, controlSocket: command.controlSocket, timeoutMs: command.timeoutMs });
    }
    case 'demo': {
      const { runDemo } = await import('./demo.js');
      return runDemo({ logLevel: command.logLevel });
    }
  }
}

/** Before the command line is parsed we can only guess: -v anywhere, or HACLOUD_DEBUG=1. */
function wantsStack(argv: string[], env: Env): boolean {
  return env['HACLOUD_DEBUG'] === '1' || argv.some((a) => a === '--verbose' || /^-v+$/.test(a));
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}

function writeErr(text: string): void {
  try {
    process.stderr.write(text);
  } catch {
    // stderr is gone; the exit code still tells.
  }
}
