// Small texts that logs, errors and status output share, so every place words them alike.

/** Characters of a node id shown in logs and tables: plenty to tell a mesh's nodes apart. */
const SHORT_ID_CHARS = 8;

export function shortId(id: string): string {
  return id.length > SHORT_ID_CHARS ? id.slice(0, SHORT_ID_CHARS) : id;
}

/** The message of a thrown value, whatever was thrown. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Control characters escaped (\n, \t, \xNN, \u2028): text that came from outside (a config
 * key, a flag's value, a peer's message) stays on one line and cannot drive the terminal.
 */
export function escapeControls(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    const code = c.charCodeAt(0);
    return code > 0xff ? `\\u${code.toString(16)}` : `\\x${code.toString(16).padStart(2, '0')}`;
  });
}
