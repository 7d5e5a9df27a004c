/**
 * Issue 8, item 6: the size of the core's browser bundle. Bundles `src/browser.ts` with esbuild
 * for the browser (ESM, minified) and reports its bytes and its gzipped bytes, and every Node
 * built-in the bundle would import (there must be none: the core is sans-IO).
 *
 *   node --import tsx bench/bundle.ts       (prints JSON; exits 1 when a Node built-in is imported)
 */
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, type Plugin } from 'esbuild';

/** The browser-safe entry of the package. */
export const BROWSER_ENTRY = fileURLToPath(new URL('../src/browser.ts', import.meta.url));

export interface BundleSize {
  /** The minified bundle itself. */
  readonly code: Uint8Array;
  readonly minifiedBytes: number;
  readonly gzippedBytes: number;
  /** Node built-ins imported by the bundle, with who imports them (`node:net <- src/api/...`). */
  readonly nodeImports: string[];
}

const builtins = new Set(builtinModules);

/** Marks Node built-ins external (so the build goes on) and records who imported each. */
function recordNodeImports(found: string[]): Plugin {
  return {
    name: 'record-node-imports',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        const bare = args.path.replace(/^node:/, '').split('/')[0]!;
        if (!args.path.startsWith('node:') && !builtins.has(bare)) return undefined;
        found.push(`${args.path} <- ${args.importer}`);
        return { path: args.path, external: true };
      });
    },
  };
}

export async function bundleSize(entry = BROWSER_ENTRY): Promise<BundleSize> {
  const nodeImports: string[] = [];
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
    plugins: [recordNodeImports(nodeImports)],
  });
  const code = result.outputFiles[0]!.contents;
  return {
    code,
    minifiedBytes: code.length,
    gzippedBytes: gzipSync(code, { level: 9 }).length,
    nodeImports,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { code: _, ...size } = await bundleSize();
  console.log(JSON.stringify(size));
  if (size.nodeImports.length > 0) {
    console.error(`Node built-ins in the browser bundle:\n  ${size.nodeImports.join('\n  ')}`);
    process.exit(1);
  }
}
