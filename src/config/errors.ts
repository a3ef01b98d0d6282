// Configuration errors. A ConfigError's message is the whole one-line report the user sees
// (after "hacloud: "): it names the flag or the file:line and key, and says what is wrong.
import { escapeControls } from '../log/text.js';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';

  /** The message quotes the user's keys and values: their control characters are escaped. */
  constructor(message: string) {
    super(escapeControls(message));
  }
}

/**
 * A value is wrong, but the caller knows where it came from: value parsers throw this and
 * the YAML/CLI readers turn it into a ConfigError that names the key or flag.
 */
export class ValueError extends Error {
  override readonly name = 'ValueError';
}
