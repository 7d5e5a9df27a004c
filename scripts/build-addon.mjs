#!/usr/bin/env node
// Builds the optional TAP/TUN addon (native/tap, binding.gyp) with node-gyp. The addon is optional:
// when it cannot be built (not Linux, no compiler, no node-gyp, no headers) this prints a warning and
// exits 0, so `npm install` and `npm ci` never fail because of it; the core and the simulator do not
// need it, and `src/bindings/node/tap.ts` reports ENOTSUP when it is missing.
// Set NETSTACK_SKIP_ADDON=1 to skip the build.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function warn(message) {
  console.warn(`netstack-ts: the TAP/TUN addon was not built (${message}); TAP/TUN devices are unavailable.`);
  process.exit(0);
}

/** node-gyp's CLI script: npm's lifecycle variable, then the copy bundled with npm. */
function findNodeGyp() {
  const candidates = [];
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  if (process.env.npm_execpath) {
    // npm_execpath is npm's bin/npm-cli.js; node-gyp sits in npm's own node_modules.
    candidates.push(
      join(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    );
  }
  const prefix = join(dirname(process.execPath), '..');
  for (const lib of ['lib/node_modules', 'node_modules']) {
    candidates.push(join(prefix, lib, 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  }
  return candidates.find((path) => existsSync(path));
}

if (process.env.NETSTACK_SKIP_ADDON === '1') warn('NETSTACK_SKIP_ADDON=1');
if (process.platform !== 'linux') warn(`TAP/TUN is Linux only, this is ${process.platform}`);
const nodeGyp = findNodeGyp();
if (nodeGyp === undefined) warn('node-gyp not found');

const args = [nodeGyp, 'rebuild'];
// Use the headers installed next to this node binary when present, so no download is needed.
const prefix = join(dirname(process.execPath), '..');
if (
  existsSync(join(prefix, 'include', 'node', 'node_api.h')) &&
  existsSync(join(prefix, 'include', 'node', 'common.gypi'))
) {
  args.push(`--nodedir=${prefix}`);
}
const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
if (result.error !== undefined) warn(result.error.message);
if (result.status !== 0) warn(`node-gyp exited with ${result.status ?? result.signal}`);
console.log('netstack-ts: built the TAP/TUN addon (build/Release/netstack_tap.node)');
