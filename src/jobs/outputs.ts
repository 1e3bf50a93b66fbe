import { promises as fs } from 'node:fs';
import path from 'node:path';

/** Writes a job's PNGs as <id>-<n>.png (atomically: temp file, then rename) and returns the file names. */
export async function writeOutputs(outputDir: string, id: string, pngs: readonly Uint8Array[]): Promise<string[]> {
  await fs.mkdir(outputDir, { recursive: true });
  return Promise.all(
    pngs.map(async (png, n) => {
      const name = `${id}-${n}.png`;
      const tmp = path.join(outputDir, `.${name}.tmp`);
      await fs.writeFile(tmp, png);
      await fs.rename(tmp, path.join(outputDir, name));
      return name;
    }),
  );
}

let counter = 0;

/** Numeric job ids (the hosted API's ids are integers): milliseconds × 1000 + a per-process counter. */
export function newJobId(): string {
  counter = (counter + 1) % 1000;
  return String(BigInt(Date.now()) * 1000n + BigInt(counter));
}
