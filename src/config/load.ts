// Reads a YAML config file into a Settings layer. Keys are kebab-case and mirror the flags;
// every problem is one ConfigError line "FILE:LINE: KEY: what is wrong".
import { readFileSync } from 'node:fs';
import {
  isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument,
  type Document, type Node, type YAMLMap,
} from 'yaml';
import { ConfigError } from './errors.js';
import {
  FIELD_KEYS, FIELDS, parseSourced, parseSourcedObject, splitCommaList, VPNCLOUD_ONLY_KEYS, YAML_SECTIONS,
  type FieldKey, type FieldSpec, type Settings, type Sourced,
} from './fields.js';
import { closest } from './suggest.js';
import { scalar, type Scalar } from './values.js';

export { ConfigError } from './errors.js';

const FIELD_BY_YAML = new Map<string, FieldKey>(FIELD_KEYS.map((k) => [FIELDS[k].yaml, k]));

/** Read and parse a config file. Unreadable files are a ConfigError too. */
export function loadConfigFile(path: string): Settings {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config file ${path}: ${describeFsError(e)}`);
  }
  return parseConfigText(text, path);
}

function describeFsError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'it is a directory';
  return (e as Error).message;
}

/** Parse YAML text; `fileName` is used in messages only. */
export function parseConfigText(text: string, fileName: string): Settings {
  const lines = new LineCounter();
  const doc = parseDocument(text, { keepSourceTokens: true, lineCounter: lines, prettyErrors: false });
  function lineOf(offset: number | undefined): number {
    return lines.linePos(offset ?? 0).line;
  }
  function fail(offset: number | undefined, message: string): never {
    throw new ConfigError(`${fileName}:${lineOf(offset)}: ${message}`);
  }

  const firstError = doc.errors[0];
  if (firstError) {
    // yaml's messages may carry a code frame after the first line; keep one line.
    fail(firstError.pos[0], `invalid YAML: ${firstError.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`);
  }
  const root = doc.contents;
  if (root === null || (isScalar(root) && root.value === null)) return {}; // empty file: all defaults
  if (!isMap(root)) fail(root.range?.[0], 'expected settings as "key: value" lines at the top level');

  const settings: Settings = {};
  const deref = (node: unknown): unknown => (isAlias(node) ? node.resolve(doc as Document) : node);

  const walk = (map: YAMLMap, prefix: string): void => {
    for (const pair of map.items) {
      const keyNode = pair.key as Node | null;
      const keyOffset = keyNode?.range?.[0];
      if (!isScalar(keyNode) || typeof keyNode.value !== 'string') fail(keyOffset, 'keys must be plain names');
      const name = prefix + (keyNode as { value: string }).value;
      const value = deref(pair.value);

      if (prefix === '' && (YAML_SECTIONS as readonly string[]).includes(name)) {
        if (value === null || (isScalar(value) && value.value === null)) continue;
        if (!isMap(value)) fail(keyOffset, `${name}: expected a section of "key: value" lines`);
        walk(value as YAMLMap, `${name}.`);
        continue;
      }
      const key = FIELD_BY_YAML.get(name);
      if (!key) fail(keyOffset, unknownKeyMessage(name, prefix));
      readField(key!, value, keyOffset, name);
    }
  };

  const readField = (key: FieldKey, node: unknown, keyOffset: number | undefined, name: string): void => {
    const spec = FIELDS[key] as FieldSpec<unknown>;
    if (node === null || (isScalar(node) && node.value === null)) return; // "key:" or "key: ~" = unset
    const items: ({ scalar: Scalar; offset: number | undefined } | { object: unknown; offset: number | undefined })[] = [];
    const addScalar = (n: unknown): void => {
      n = deref(n);
      const offset = (n as Node | null)?.range?.[0] ?? keyOffset;
      if (!isScalar(n)) {
        fail(offset, spec.merge === 'single'
          ? `${name}: expected a single value, not a ${isSeq(n) ? 'list' : 'section'}`
          : `${name}: list items must be single values`);
      }
      const value = (n as { value: unknown }).value;
      if (value === null) fail(offset, `${name}: empty value in the list`);
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
        fail(offset, `${name}: unsupported value`);
      }
      const text = typeof value === 'string' ? value : ((n as { source?: string }).source ?? String(value));
      if (spec.commaList && typeof value === 'string') {
        const parts = splitCommaList(value);
        if (parts.length === 0) fail(offset, `${name}: empty list`);
        for (const p of parts) items.push({ scalar: scalar(p), offset });
      } else {
        items.push({ scalar: scalar(value as string | number | boolean, text), offset });
      }
    };
    if (spec.yamlMap && isMap(node)) {
      for (const pair of node.items) {
        const k = deref(pair.key);
        const kOffset = (k as Node | null)?.range?.[0] ?? keyOffset;
        if (!isScalar(k) || k.value === null || typeof k.value === 'object') fail(kOffset, `${name}: keys must be plain values`);
        const keyText = (k as { source?: string }).source ?? String((k as { value: unknown }).value);
        const v = deref(pair.value);
        const values = isSeq(v) ? v.items.map(deref) : [v];
        if (values.length === 0 || values.some((x) => !isScalar(x) || x.value === null)) {
          fail(kOffset, `${name}: ${keyText}: expected a prefix or a list of prefixes`);
        }
        for (const x of values as { value: unknown; range?: [number, number, number] }[]) {
          items.push({ scalar: scalar(`${keyText}=${String(x.value)}`), offset: x.range?.[0] ?? kOffset });
        }
      }
    } else if (isSeq(node)) {
      if (spec.merge === 'single') fail(node.range?.[0] ?? keyOffset, `${name}: expected a single value, not a list`);
      for (const item of node.items) {
        const d = deref(item);
        if (spec.parseObject && isMap(d)) items.push({ object: (d as YAMLMap).toJSON(), offset: (d as Node).range?.[0] ?? keyOffset });
        else addScalar(item);
      }
    } else {
      addScalar(node);
    }

    const parsed: Sourced<unknown>[] = items.map((item) => {
      const where = `${fileName}:${lineOf(item.offset)}: ${name}`;
      return 'object' in item ? parseSourcedObject(spec, item.object, where) : parseSourced(spec, item.scalar, where);
    });
    (settings as Record<string, Sourced<unknown>[]>)[key] = parsed;
  };

  walk(root as YAMLMap, '');
  return settings;
}

function unknownKeyMessage(name: string, prefix: string): string {
  const why = VPNCLOUD_ONLY_KEYS[name];
  if (why) return `${name}: not supported: ${why}`;
  const siblings = [
    ...FIELD_KEYS.map((k) => FIELDS[k].yaml).filter((y) => y.startsWith(prefix) && !y.slice(prefix.length).includes('.')),
    ...(prefix === '' ? YAML_SECTIONS : []),
  ];
  const guess = closest(name, siblings);
  const flagGuess = guess === null ? FIELD_KEYS.find((k) => FIELDS[k].flag === name && FIELDS[k].yaml !== name) : undefined;
  const hint = guess ? ` (did you mean '${guess}'?)` : flagGuess ? ` (in a config file it is '${FIELDS[flagGuess].yaml}')` : '';
  return `unknown key '${name}'${hint}`;
}
