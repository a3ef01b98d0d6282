// Layers of settings → one. Later layers win (file < PASSWORD env < command line); lists of
// peers, claims and trusted keys are joined instead, so a flag adds to the file's list.
import { FIELD_KEYS, FIELDS, type Settings } from './fields.js';

export function mergeSettings(...layers: Settings[]): Settings {
  const out: Record<string, unknown[]> = {};
  for (const key of FIELD_KEYS) {
    const append = FIELDS[key].merge === 'append';
    for (const layer of layers) {
      const values = layer[key];
      if (values === undefined || values.length === 0) continue;
      out[key] = append && out[key] ? [...out[key], ...values] : [...values];
    }
  }
  return out as Settings;
}
