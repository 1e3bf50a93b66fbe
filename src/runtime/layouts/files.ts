/** Small filesystem probes the layout adapters share. */
import { promises as fs } from 'node:fs';
import path from 'node:path';

export async function isFile(p: string): Promise<boolean> {
  return fs.stat(p).then(
    (s) => s.isFile(),
    () => false,
  );
}

export async function isDir(p: string): Promise<boolean> {
  return fs.stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

export async function readJson(p: string): Promise<Record<string, unknown> | null> {
  try {
    const value: unknown = JSON.parse(await fs.readFile(p, 'utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Entries of `dir` (sorted), following symlinks; [] when it cannot be read. */
export async function entries(dir: string): Promise<{ name: string; dir: boolean; file: boolean }[]> {
  let names: string[];
  try {
    names = (await fs.readdir(dir)).sort();
  } catch {
    return [];
  }
  const stats = await Promise.all(names.map((n) => fs.stat(path.join(dir, n)).catch(() => null)));
  return names.flatMap((name, i) => {
    const s = stats[i];
    return s ? [{ name, dir: s.isDirectory(), file: s.isFile() }] : [];
  });
}

/** `<dir>/<part>/model.onnx` when it exists, else null. */
export async function componentModel(dir: string, part: string): Promise<string | null> {
  const file = path.join(dir, part, 'model.onnx');
  return (await isFile(file)) ? file : null;
}
