// Seeded mutations of configuration text: YAML files (line and token edits, values swapped
// for YAML's odd corners, raw byte edits that may break UTF-8) and command lines (tokens
// dropped, repeated, swapped, split, joined, or edited inside). The pieces come from the
// valid corpus, so new keys and flags are fuzzed as soon as the corpus uses them.
import type { ByteMutator } from './mutate.js';

const MAX_YAML_BYTES = 32 * 1024;
const MAX_ARGS = 64;

/** Values where YAML, numbers, durations, addresses and paths have their corners. */
export const ODD_VALUES = [
  '', '~', 'null', 'Null', 'true', 'false', 'yes', 'no', 'on', 'off', 'y', '0', '-0', '-1', '1', '01', '0x1f', '0o17',
  '1e3', '1e309', '-1e309', '.nan', '.inf', '-.inf', '9'.repeat(40), '4294967296', '2147483648', '65535', '65536',
  '0.0001', '1.5s', '300ms', '5m', '1h', '1d', '0s', '-5s', '1e9ms', '99999999h', 'auto', '10.0.0.1', '10.0.0.1/33',
  '10.0.0.256', '::1', '::ffff:10.0.0.1/120', '[::1]:3210', '[::1]:99999', 'host:0', ':3210', 'a..b', '-', '--', '%d',
  'hacloud%d%d', '/', '/dev/null', '../../etc/passwd', 'a'.repeat(300), 'é', '\u2028', '\ufeff', '\u0000', '"', "'", '"\\u0000"',
  "'it''s'", '"\\x"', '[a, b]', '{a: 1}', '[]', '{}', '&a x', '*a', '*missing', '!!binary aGk=', '!!int "3"', '!!str 3',
  '!custom x', '!!set {a}', '? x', '- x', '|', '>-', '|+\n  two\n  lines', 'a: b: c', 'a #c', '#', '\t', '@x', '`x`',
  '<<: *a', 'aes256-gcm', 'chacha20-poly1305', 'plain', 'aes256-gcm,plain', ',,', 'tun', 'tap',
];
const YAML_LINES = ['---', '...', '%YAML 1.2', '%TAG ! tag:x,2000:', 'x: &a {k: v}', '<<: *a', '? [a, b]', ': x', '- - -', '{', ']', '\t', ''];
const SPECIAL_ARGS = ['--', '-', '-vvv', '-qq', '-vq', 'genkey', 'status', 'demo', '--no-routes', '--no-auto-claim', '--no-x', '--config', '--config='];
const ODD_CHARS = [':', '-', '/', '%', '[', ']', '{', '}', '=', ',', ' ', '\t', '\n', '\r', '\0', '#', '&', '*', '!', '"', "'", '\\', 'é', '\uffff', '\ud800'];

export class TextMutator {
  private readonly lines: string[];

  constructor(private readonly m: ByteMutator, yamlCorpus: readonly string[], private readonly tokens: readonly string[]) {
    this.lines = yamlCorpus.flatMap((t) => t.split('\n')).filter((l) => l.trim() !== '');
  }

  /** An edit inside a string: odd characters, odd values, cuts, repeats. */
  string(s: string): string {
    const m = this.m;
    const at = m.int(s.length + 1);
    switch (m.int(8)) {
      case 0: return s.slice(0, at) + m.pick(ODD_CHARS) + s.slice(at);
      case 1: return s.slice(0, at) + s.slice(at + 1 + m.int(8));
      case 2: return m.pick(ODD_VALUES);
      case 3: return s.slice(0, at) + m.pick(ODD_VALUES) + s.slice(at);
      case 4: return s.slice(0, at);
      case 5: return s + s.slice(at);
      case 6: return s.replace(/\d+/, () => m.pick(['0', '-1', '256', '65536', '4294967296', '9'.repeat(20)]));
      default: return s.toUpperCase();
    }
  }

  /** A mutated config file, as the bytes to write (not always valid UTF-8). */
  yaml(text: string): Uint8Array {
    const m = this.m;
    const lines = text.split('\n');
    const ops = 1 + m.int(4);
    for (let k = 0; k < ops; k++) {
      const i = m.int(lines.length);
      const line = lines[i] ?? '';
      switch (m.int(10)) {
        case 0: lines.splice(i, 1); break;
        case 1: lines.splice(i, 0, line); break;
        case 2: { const j = m.int(lines.length); lines[i] = lines[j]!; lines[j] = line; break; }
        case 3: lines.splice(i, 0, m.pick(this.lines)); break; // a line of another corpus file
        case 4: lines[i] = m.pick(['', ' ', '  ', '\t', '    ']) + line.trimStart(); break; // indentation
        case 5: lines[i] = this.string(line); break;
        case 6: { // another value
          const colon = line.indexOf(':');
          lines[i] = colon >= 0 ? `${line.slice(0, colon + 1)} ${m.pick(ODD_VALUES)}` : `${line}: ${m.pick(ODD_VALUES)}`;
          break;
        }
        case 7: { // another key
          const colon = line.indexOf(':');
          const key = m.pick(this.lines).split(':')[0]!.trim();
          lines[i] = (colon >= 0 ? line.slice(0, line.length - line.trimStart().length) + key + line.slice(colon) : `${key}: ${line}`);
          break;
        }
        case 8: lines.splice(i, 0, m.pick(YAML_LINES)); break;
        default: lines[i] = `${line} ${m.pick(['&a', '*a', '#', '!!str', '!x', '[', '{'])}`; break;
      }
    }
    let bytes: Uint8Array = new TextEncoder().encode(lines.join(m.int(10) ? '\n' : '\r\n'));
    if (m.int(5) === 0) bytes = m.mutate(bytes, 1 + m.int(2)); // raw bytes: invalid UTF-8, NULs
    return bytes.length > MAX_YAML_BYTES ? bytes.subarray(0, MAX_YAML_BYTES) : bytes;
  }

  /** A mutated command line. */
  argv(args: readonly string[]): string[] {
    const m = this.m;
    const out = [...args];
    const ops = 1 + m.int(3);
    for (let k = 0; k < ops; k++) {
      const i = m.int(out.length + 1);
      switch (m.int(8)) {
        case 0: if (out.length) out.splice(Math.min(i, out.length - 1), 1); break;
        case 1: if (out.length) out.splice(i, 0, out[Math.min(i, out.length - 1)]!); break;
        case 2: out.splice(i, 0, m.pick(this.tokens)); break;
        case 3: out.splice(i, 0, m.pick(ODD_VALUES)); break;
        case 4: if (i < out.length) out[i] = this.string(out[i]!); break;
        case 5: if (i + 1 < out.length) out.splice(i, 2, `${out[i]}=${out[i + 1]}`); break; // --flag=value
        case 6: { // --flag=value → --flag value, or a swap
          const t = out[i];
          if (t?.includes('=')) out.splice(i, 1, t.slice(0, t.indexOf('=')), t.slice(t.indexOf('=') + 1));
          else if (out.length > 1) { const j = m.int(out.length); out[i] = out[j]!; out[j] = t ?? ''; }
          break;
        }
        default: // help and version are rare: rendering the help costs more than parsing
          out.splice(i, 0, m.int(16) ? m.pick(SPECIAL_ARGS) : m.pick(['--help', '-h', '--version', '-V']));
      }
    }
    return out.slice(0, MAX_ARGS);
  }
}
