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
