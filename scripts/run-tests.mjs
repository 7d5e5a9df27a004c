#!/usr/bin/env node
// Runs every *.test.ts under test/ (or the paths given) with node:test through tsx.
// Usage: node scripts/run-tests.mjs [dir-or-file ...]
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function collect(path, out) {
  if (statSync(path).isDirectory()) {
    for (const name of readdirSync(path).sort()) collect(join(path, name), out);
  } else if (path.endsWith('.test.ts')) {
    out.push(path);
  }
  return out;
}

const roots = process.argv.slice(2);
const files = [];
for (const root of roots.length > 0 ? roots : ['test']) collect(root, files);
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-concurrency=2',
    // A test file whose tests are all done but that left a handle open (a socket, a real-time
    // timer) must not hold up the whole run; and no single test may hang past ten minutes.
    '--test-force-exit',
    '--test-timeout=600000',
    '--test-reporter=spec',
    ...files,
  ],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
