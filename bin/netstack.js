#!/usr/bin/env node
// The `netstack` command: runs the compiled CLI (built into dist/ by `npm install`).
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(compiled)) {
  process.stderr.write('netstack: dist/ is missing; run `npm install` (or `npm run build`) first\n');
  process.exit(1);
}
await import(compiled.href);
