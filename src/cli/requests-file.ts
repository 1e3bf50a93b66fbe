/** One request of the input: its line number (1-based) and body, or why the line is not a request. */
export type InputEntry = { line: number; body: Record<string, unknown> } | { line: number; error: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The command line's input: one request body (a JSON object, pretty-printed or not) or JSONL (one body
 * per line; blank lines are skipped). A line that is not a JSON object becomes an error entry, so the
 * other lines still run.
 */
export function parseRequests(text: string): InputEntry[] {
  const source = text.replace(/^\uFEFF/, '');
  if (source.trim() === '') return [];
  try {
    const whole: unknown = JSON.parse(source);
    if (isObject(whole)) return [{ line: 1, body: whole }];
  } catch {
    // Not one JSON document: read it as JSONL below.
  }
  const entries: InputEntry[] = [];
  source.split('\n').forEach((raw, k) => {
    const text = raw.trim();
    if (text === '') return;
    const line = k + 1;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      entries.push({ line, error: `not valid JSON (${(err as Error).message})` });
      return;
    }
    entries.push(isObject(value) ? { line, body: value } : { line, error: 'must be a JSON object (one request body per line)' });
  });
  return entries;
}
