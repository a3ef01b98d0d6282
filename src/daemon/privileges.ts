// --pid-file and --user/--group. Privileges are dropped after the TUN device, the sockets and
// the control socket exist: groups first (supplementary, then primary), then the user — once
// the uid is gone the process could no longer change its groups.
import { execFileSync } from 'node:child_process';
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import type { Logger } from '../log/logger.js';

export class PrivilegeError extends Error {}

export function writePidFile(path: string): void {
  try {
    writeFileSync(path, `${process.pid}\n`, { mode: 0o644 });
  } catch (e) {
    throw new PrivilegeError(`cannot write pid file ${path}: ${(e as Error).message}`);
  }
}

/** Removes the file if it still holds our pid; quietly does nothing otherwise. */
export function removePidFile(path: string): void {
  try {
    if (readFileSync(path, 'utf8').trim() !== String(process.pid)) return;
    unlinkSync(path);
  } catch {
    // Gone already, or not ours to remove any more after a privilege drop.
  }
}

export interface Account {
  name: string;
  id: number;
  /** Primary group (users only). */
  gid?: number;
}

/** Parse one line of /etc/passwd or /etc/group format; null if malformed. */
export function parseDbLine(line: string): Account | null {
  const f = line.split(':');
  if (f.length < 3 || !f[0] || !/^\d+$/.test(f[2] ?? '')) return null;
  const account: Account = { name: f[0], id: Number(f[2]) };
  if (f.length >= 7 && /^\d+$/.test(f[3] ?? '')) account.gid = Number(f[3]);
  return account;
}

/**
 * Look a user or group up by name or numeric id: getent first (it also sees LDAP/NSS), then the
 * local file. Returns null when it does not exist.
 */
export function lookupAccount(db: 'passwd' | 'group', nameOrId: string, readDb = defaultReadDb): Account | null {
  const text = readDb(db, nameOrId);
  for (const line of text.split('\n')) {
    const a = parseDbLine(line);
    if (a && (a.name === nameOrId || String(a.id) === nameOrId)) return a;
  }
  return null;
}

function defaultReadDb(db: 'passwd' | 'group', key: string): string {
  try {
    return execFileSync('getent', [db, key], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 });
  } catch {
    // getent missing, or exit 2 = not found: the local file decides.
    try {
      return readFileSync(`/etc/${db}`, 'utf8');
    } catch {
      return '';
    }
  }
}

/**
 * Switch to `user` (and `group`, else the user's primary group). Throws PrivilegeError with
 * a one-line message when an account does not exist or the switch is refused.
 */
export function dropPrivileges(user: string | null | undefined, group: string | null | undefined, log: Logger): void {
  if (!user && !group) return;
  const u = user ? lookupAccount('passwd', user) : null;
  if (user && !u) throw new PrivilegeError(`user '${user}' does not exist (--user)`);
  let gid: number | undefined;
  if (group) {
    const g = lookupAccount('group', group);
    if (!g) throw new PrivilegeError(`group '${group}' does not exist (--group)`);
    gid = g.id;
  } else {
    gid = u?.gid;
  }
  if (!process.setuid || !process.setgid || !process.setgroups) {
    throw new PrivilegeError('--user/--group are not supported on this platform');
  }
  try {
    if (gid !== undefined) {
      // Only the target group: root's supplementary groups (disk, adm...) must not survive.
      process.setgroups([gid]);
      process.setgid(gid);
    }
    if (u) process.setuid(u.id);
  } catch (e) {
    const as = [user && `user '${user}'`, group && `group '${group}'`].filter(Boolean).join(' and ');
    throw new PrivilegeError(`cannot switch to ${as}: ${(e as Error).message} (hacloud must start as root to drop privileges)`);
  }
  if (u && (process.getuid?.() !== u.id || process.geteuid?.() !== u.id)) {
    throw new PrivilegeError(`switching to user '${user}' did not take effect`);
  }
  log.info('dropped privileges', { uid: process.getuid?.(), gid: process.getgid?.(), user: u?.name, group: group ?? undefined });
}
