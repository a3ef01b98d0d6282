// The persistent identity of a password-mode node: its private key in a root-only state file,
// so the node keeps one identity across restarts and peers can pin it (trusted-keys works in
// password mode too). Key mode needs no file: --private-key is the identity.
//
// Format: the private key as `hacloud genkey` prints it (43 base64url characters) on one
// line; '#' comment lines are ignored. Created with mode 0600 in a directory created 0700 when
// the file is missing; refused with a one-line error when it is readable or writable by group
// or others, owned by another user, not a regular file, or not a valid key.
import { closeSync, constants, lstatSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../config/errors.js';
import { KeyFormatError, encodeKey, generateKeyPair, keyPairFromPrivate, type IdentityKeyPair } from '../crypto/keys.js';

const HEADER = '# hacloud node identity (private key). Keep it secret; peers know this node by its public key.\n';

/** Load the identity in `path`, creating it (and its directory) when missing. */
export function loadIdentityFile(path: string): { identity: IdentityKeyPair; created: boolean } {
  const st = statOrNull(path);
  if (!st) return { identity: create(path), created: true };
  const where = `identity-file ${path}`;
  if (!st.isFile()) throw new ConfigError(`${where}: not a regular file`);
  if ((st.mode & 0o077) !== 0) {
    throw new ConfigError(`${where}: readable or writable by group or others (mode ${(st.mode & 0o777).toString(8)}); ` +
      `run chmod 600 ${path}`);
  }
  if (typeof process.getuid === 'function' && st.uid !== process.getuid()) {
    throw new ConfigError(`${where}: owned by uid ${st.uid}, not by this user (uid ${process.getuid()})`);
  }
  const lines = readFileSync(path, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  if (lines.length !== 1) throw new ConfigError(`${where}: expected one private key line, found ${lines.length}`);
  try {
    return { identity: keyPairFromPrivate(lines[0]!, where), created: false };
  } catch (err) {
    if (err instanceof KeyFormatError) throw new ConfigError(err.message);
    throw err;
  }
}

function statOrNull(path: string) {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new ConfigError(`identity-file ${path}: ${(err as Error).message}`);
  }
}

function create(path: string): IdentityKeyPair {
  const identity = generateKeyPair();
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    // O_EXCL: never overwrite a key another process created meanwhile; O_NOFOLLOW: no symlink games
    const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      writeSync(fd, `${HEADER}${encodeKey(identity.seed)}\n`);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    throw new ConfigError(`identity-file ${path}: cannot create it: ${(err as Error).message}`);
  }
  return identity;
}
