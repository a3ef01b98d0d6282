// A rough strength estimate for the network password, to warn at start (never to refuse:
// only an empty password is refused). A captured message 1 lets anyone guess offline at
// Argon2id's cost (password.ts), so what matters is how many guesses a password survives.
//
// Estimate: length x log2(size of the character classes used), with common passwords (and
// those with a few digits or symbols stuck on) counted as nearly nothing. Below
// STRONG_BITS it is "weak". No dictionary can be complete; this catches the obvious.

/** About 2^60 guesses at ~0.15 s each: far beyond an attacker with a GPU farm for years. */
export const STRONG_BITS = 60;

const COMMON = new Set([
  'password', 'passw0rd', 'secret', 'changeme', 'change-me', 'letmein', 'welcome', 'admin', 'administrator',
  'qwerty', 'qwertz', 'azerty', 'abc123', 'iloveyou', 'monkey', 'dragon', 'master', 'hacloud', 'vpncloud',
  'vpn', 'network', 'test', 'testing', 'default', 'root', 'toor', 'guest', 'hello', 'trustno1', 'sunshine',
  'football', 'baseball', 'shadow', 'superman', 'princess', 'starwars', 'whatever', 'mysecret', 'p@ssw0rd',
]);

/** Bits of guessing work `password` is worth, roughly. */
export function passwordBits(password: string): number {
  const core = password.toLowerCase().replace(/[\d\W_]+$/u, '').replace(/^[\d\W_]+/u, '');
  if (COMMON.has(password.toLowerCase()) || COMMON.has(core)) return 10;
  if (/^(.)\1*$/u.test(password) || /^(0123456789|123456789|12345678|1234567|123456|987654321)/.test(password)) return 10;
  let pool = 0;
  if (/[a-z]/.test(password)) pool += 26;
  if (/[A-Z]/.test(password)) pool += 26;
  if (/\d/.test(password)) pool += 10;
  if (/[^A-Za-z0-9]/.test(password)) pool += 33;
  return [...password].length * Math.log2(Math.max(pool, 2));
}

/** A one-line warning for a weak password, or null. */
export function weakPasswordWarning(password: string): string | null {
  const bits = passwordBits(password);
  if (bits >= STRONG_BITS) return null;
  return `the password is weak (about ${Math.round(bits)} bits): anyone who captures one handshake can guess it ` +
    'offline; use 16+ random characters (e.g. openssl rand -base64 18), or key mode for anything exposed';
}
