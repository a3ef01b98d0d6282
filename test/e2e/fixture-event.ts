// The fixtures in test/e2e/fixtures print one event a line: "WORD {json}". This reads the JSON.
export function fixtureEvent(line: string): Record<string, unknown> {
  return JSON.parse(line.slice(line.indexOf(' ') + 1)) as Record<string, unknown>;
}
