/** A Dockerfile instruction after line continuations are joined and comment lines dropped. */
export interface Instruction {
  keyword: string;
  args: string;
  /** Index of the build stage (0 = first FROM); -1 before any FROM (ARGs for FROM). */
  stage: number;
}

/** Splits a Dockerfile into instructions the way the builder reads it (no variable expansion). */
export function parseDockerfile(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  let pending = '';
  let stage = -1;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    // Comment lines are dropped, also inside a continued instruction (parser directives included).
    if (line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = (pending + line).trim();
    pending = '';
    if (!full) continue;
    const match = /^(\S+)\s*(.*)$/.exec(full)!;
    const keyword = match[1]!.toUpperCase();
    if (keyword === 'FROM') stage += 1;
    instructions.push({ keyword, args: match[2]!, stage });
  }
  return instructions;
}

/** `KEY=value KEY2=value2` of ENV/ARG (unquoted values only, which is all these Dockerfiles use). */
export function parseAssignments(args: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of args.split(/\s+/).filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq > 0) out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}
