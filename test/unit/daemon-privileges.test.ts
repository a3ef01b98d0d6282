import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dropPrivileges, lookupAccount, parseDbLine, PrivilegeError, removePidFile, writePidFile } from '../../src/daemon/privileges.js';
import { createLogger } from '../../src/log/logger.js';

const PASSWD = 'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n';
const GROUP = 'root:x:0:\nnogroup:x:65534:\n';
const fakeDb = (db: 'passwd' | 'group') => (db === 'passwd' ? PASSWD : GROUP);

describe('account lookup', () => {
  it('parses passwd and group lines', () => {
    expect(parseDbLine('nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin')).toEqual({ name: 'nobody', id: 65534, gid: 65534 });
    expect(parseDbLine('nogroup:x:65534:')).toEqual({ name: 'nogroup', id: 65534 });
    expect(parseDbLine('')).toBeNull();
    expect(parseDbLine('broken:x:abc:')).toBeNull();
  });

  it('finds accounts by name or numeric id, and null when missing', () => {
    expect(lookupAccount('passwd', 'nobody', fakeDb)).toEqual({ name: 'nobody', id: 65534, gid: 65534 });
    expect(lookupAccount('passwd', '65534', fakeDb)?.name).toBe('nobody');
    expect(lookupAccount('group', 'nogroup', fakeDb)?.id).toBe(65534);
    expect(lookupAccount('passwd', 'nosuchuser', fakeDb)).toBeNull();
  });

  it('resolves real accounts of this machine through getent or /etc/passwd', () => {
    expect(lookupAccount('passwd', 'root')).toMatchObject({ name: 'root', id: 0, gid: 0 });
    expect(lookupAccount('passwd', 'no-such-user-hacloud')).toBeNull();
  });
});

describe('dropPrivileges', () => {
  const log = createLogger({ sink: () => {} });
  it('refuses an unknown user or group with a one-line message, changing nothing', () => {
    const uid = process.getuid!();
    expect(() => dropPrivileges('no-such-user-hacloud', null, log)).toThrow(new PrivilegeError("user 'no-such-user-hacloud' does not exist (--user)"));
    expect(() => dropPrivileges(null, 'no-such-group-hacloud', log)).toThrow(/group 'no-such-group-hacloud' does not exist \(--group\)/);
    expect(process.getuid!()).toBe(uid);
  });

  it('does nothing without a user or group', () => {
    expect(() => dropPrivileges(null, undefined, log)).not.toThrow();
  });
});

describe('pid file', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'hacloud-pid-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes our pid and removes only a file that still holds it', () => {
    const path = join(dir, 'hacloud.pid');
    writePidFile(path);
    expect(readFileSync(path, 'utf8')).toBe(`${process.pid}\n`);
    removePidFile(path);
    expect(existsSync(path)).toBe(false);
    writeFileSync(path, '1\n');
    removePidFile(path);
    expect(readFileSync(path, 'utf8')).toBe('1\n');
    removePidFile(join(dir, 'none.pid'));
  });

  it('says which pid file cannot be written', () => {
    expect(() => writePidFile(join(dir, 'no', 'dir.pid'))).toThrow(/^cannot write pid file .*no\/dir\.pid: ENOENT/);
  });
});
