import { type Dirent, promises as fs } from 'node:fs';
import path from 'node:path';
import type * as ort from 'onnxruntime-node';
import type { AnnotatorSessions } from '../preprocessors/types.js';
import { openSession, type SessionSettings } from './session.js';
import { sessionBytes } from './session-bytes.js';
import type { SessionBudget } from './session-registry.js';

export const DEFAULT_ANNOTATOR_FILE = 'model.onnx';

// One path component: no separators, no "..", so a name cannot reach outside the annotators folder.
const COMPONENT = /^(?!\.{1,2}$)[A-Za-z0-9_.-]+$/;

async function isFile(p: string): Promise<boolean> {
  return fs.stat(p).then(
    (s) => s.isFile(),
    () => false,
  );
}

export interface CachedAnnotatorSessions extends AnnotatorSessions {
  /** Releases every open session (the worker calls this when it frees memory). */
  release(): Promise<void>;
}

/**
 * The default AnnotatorSessions: `dir/<name>/<file>` opened with openSession on first use and cached by
 * path. A missing file is looked up again on every call, so an annotator installed while the server runs
 * is found without a restart. With a `budget`, each session is counted in it and may be closed to make room.
 */
export function createAnnotatorSessions(dir: string, settings: SessionSettings, budget?: SessionBudget): CachedAnnotatorSessions {
  const cache = new Map<string, Promise<ort.InferenceSession>>();
  return {
    async session(name: string, file = DEFAULT_ANNOTATOR_FILE) {
      if (!COMPONENT.test(name) || !COMPONENT.test(file)) throw new Error(`invalid annotator path ${name}/${file}`);
      const modelPath = path.join(dir, name, file);
      const cached = cache.get(modelPath);
      if (cached !== undefined) {
        return cached.then((session) => {
          budget?.use(modelPath);
          return session;
        });
      }
      if (!(await isFile(modelPath))) return null;
      const opening: Promise<ort.InferenceSession> = (async () => {
        const close = async () => {
          if (cache.get(modelPath) === opening) cache.delete(modelPath);
          await opening.then(
            (s) => s.release(),
            () => undefined,
          );
        };
        await budget?.admit({ key: modelPath, kind: 'annotator', bytes: await sessionBytes(modelPath), close });
        try {
          return (await openSession(modelPath, settings)).session;
        } catch (err) {
          budget?.forget(modelPath);
          throw err;
        }
      })();
      cache.set(modelPath, opening);
      // A file that fails to open is retried next time (it may be replaced).
      opening.catch(() => {
        if (cache.get(modelPath) === opening) cache.delete(modelPath);
      });
      return opening;
    },
    async release() {
      const open = [...cache.values()];
      for (const key of cache.keys()) budget?.forget(key);
      cache.clear();
      await Promise.all(
        open.map((p) =>
          p.then(
            (s) => s.release(),
            () => undefined,
          ),
        ),
      );
    },
  };
}

/** Names of the annotator folders under `dir` that hold at least one `.onnx` file, sorted. */
export async function listAnnotators(dir: string): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const found: string[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory() && !entry.isSymbolicLink()) continue;
    const files = await fs.readdir(path.join(dir, entry.name)).catch(() => [] as string[]);
    if (files.some((f) => f.endsWith('.onnx'))) found.push(entry.name);
  }
  return found.sort();
}
