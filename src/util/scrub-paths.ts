import path from 'node:path';

let processRoots: string[] = [process.cwd()];

/** The folders of this process (the models folder first): set once at start from the config. */
export function setPathRoots(roots: readonly string[]): void {
  processRoots = [...new Set([...roots, process.cwd()])];
}

export function pathRoots(): readonly string[] {
  return processRoots;
}

const SYSTEM_PATH =
  /(^|[\s"'(=:[])\/(?:home|root|tmp|var|usr|opt|srv|mnt|media|data|app|models|etc|proc|workspace|work|private|Users|nix|run)(?=[/\s"'),;\]]|$)(?:\/[^\s"'),;\]]*)?/g;

/**
 * Replaces this machine's folders in a message sent to a client: a path under one of `roots` (the models
 * folder first) becomes relative to it ("tiny-sd15/unet/model.onnx"), and any other absolute path under a
 * well-known top folder (/home, /tmp, /models, ...) becomes "[path]".
 */
export function scrubPaths(message: string, roots: readonly string[] = processRoots): string {
  let out = message;
  for (const root of roots) {
    if (!root || root === path.sep) continue;
    const base = root.replace(/\/+$/, '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    // The root itself, not a longer name that starts like it (/app, not /apple).
    out = out.replace(new RegExp(`${base}/`, 'g'), '').replace(new RegExp(`${base}(?![\\w.-])`, 'g'), '.');
  }
  return out.replace(SYSTEM_PATH, '$1[path]');
}
