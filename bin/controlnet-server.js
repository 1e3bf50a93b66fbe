#!/usr/bin/env node
// The `controlnet-server` command (package.json "bin"): runs the build in dist/ (npm run build).
// From the sources, without building: npx tsx src/cli/main.ts …
import { existsSync } from 'node:fs';

const entry = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('controlnet-server: not built yet: run npm run build (or use npx tsx src/cli/main.ts)\n');
  process.exit(2);
}
await import(entry.href);
