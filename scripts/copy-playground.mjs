// Part of `npm run build`: the playground page's files (plain ES modules, HTML, CSS: no build step of
// their own) go next to the compiled server, where src/server/routes/playground.ts looks for them.
import { cpSync, rmSync } from 'node:fs';

const from = new URL('../src/playground/', import.meta.url);
const to = new URL('../dist/src/playground/', import.meta.url);
rmSync(to, { recursive: true, force: true });
cpSync(from, to, { recursive: true });
