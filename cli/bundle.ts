/**
 * Bundles the two binaries with esbuild into dist/bundle/ (run by `npm run build` after tsc):
 * resolving ~150 separate ES modules is most of a cold start of the tsc output, and every module
 * record stays in memory. ESM with code splitting, so the cluster layer (libp2p), which
 * cli/gregormq.ts imports dynamically, stays a chunk of its own loaded after the client port
 * opens, and the code both binaries share is one chunk. Native add-ons cannot be bundled: they
 * stay imports resolved from node_modules, which dist/bundle/ sits under.
 *
 *   node dist/cli/bundle.js [outdir]
 */
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Packages with native add-ons (or optional ones, like pino-pretty, looked up at run time). */
const EXTERNAL = ['lz4-napi', '@napi-rs/snappy', '@node-rs/crc32', '@node-rs/xxhash', 'pino-pretty'];

/** dist/cli/bundle.js -> the repo root. */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Where the bundle goes by default; package.json's bins point here. */
export const BUNDLE_DIR = join(ROOT, 'dist', 'bundle');

/** Bundles cli/gregormq.ts and cli/gregorctl.ts; returns the broker's entry file. */
export async function bundleBinaries(outdir = BUNDLE_DIR): Promise<string> {
  const { build } = await import('esbuild');
  await rm(outdir, { recursive: true, force: true });
  await build({
    entryPoints: [join(ROOT, 'cli', 'gregormq.ts'), join(ROOT, 'cli', 'gregorctl.ts')],
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: EXTERNAL,
    sourcemap: 'linked',
    // CommonJS dependencies call require(); ESM output has none, so give each chunk one.
    banner: {
      js: "import { createRequire as __gregorRequire } from 'node:module'; const require = __gregorRequire(import.meta.url);",
    },
    logLevel: 'warning',
  });
  return join(outdir, 'gregormq.js');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  bundleBinaries(process.argv[2]).catch((err: unknown) => {
    process.stderr.write(`bundle: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
