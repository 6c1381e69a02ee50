/**
 * The page's built assets. The sources (src/ui/web: Preact components in TSX) are built by Vite
 * into a cache folder named after a hash of those sources and of the Vite, Preact and diff versions, so
 * a fresh clone builds them on the UI's first start (a few seconds) and every later start, and
 * every other process, reuses them; nothing built is committed. Two processes building at once
 * each build into their own folder and the first rename wins.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, relative } from 'node:path';

export const WEB_SOURCE_DIR = join(import.meta.dirname, 'web');
/** Builds kept in the cache folder (each about 40 KB); older ones are removed after a build. */
export const BUILDS_KEPT = 5;
const ROOT = join(import.meta.dirname, '..', '..');

function cacheDir(): string {
  return join(process.env.KSTACK_CACHE_DIR ?? join(homedir(), '.cache', 'kstack'), 'ui');
}

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

function packageVersion(name: string): string {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as {
    version: string;
  };
  return manifest.version;
}

/** The hash naming one build: every source file's path and bytes, and the toolchain's versions. */
export function sourceHash(): string {
  const hash = createHash('sha256');
  hash.update(
    `vite ${packageVersion('vite')} preact ${packageVersion('preact')} diff ${packageVersion('diff')}\n`,
  );
  for (const file of files(WEB_SOURCE_DIR)) {
    hash.update(`${relative(WEB_SOURCE_DIR, file)}\n`);
    hash.update(readFileSync(file));
  }
  hash.update(readFileSync(join(import.meta.dirname, 'assets.ts')));
  return hash.digest('hex').slice(0, 16);
}

/** The folder holding index.html and its assets for the current sources, built first if missing. */
export async function builtAssets(log: (line: string) => void = () => {}): Promise<string> {
  const outDir = join(cacheDir(), sourceHash());
  if (existsSync(join(outDir, 'index.html'))) return outDir;
  mkdirSync(cacheDir(), { recursive: true });
  const building = `${outDir}.building-${process.pid}`;
  const started = Date.now();
  const { build } = await import('vite');
  await build({
    root: WEB_SOURCE_DIR,
    configFile: false,
    logLevel: 'warn',
    base: '/',
    oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
    resolve: { alias: [{ find: /^react(-dom)?$/, replacement: 'preact/compat' }] },
    build: { outDir: building, emptyOutDir: true, sourcemap: false, reportCompressedSize: false },
  });
  try {
    renameSync(building, outDir);
  } catch (error) {
    // Another process renamed its build first: use it.
    rmSync(building, { recursive: true, force: true });
    if (!existsSync(join(outDir, 'index.html'))) throw error;
  }
  log(`built the UI's page in ${Date.now() - started} ms (${outDir})`);
  pruneOldBuilds();
  return outDir;
}

/** Removes all but the BUILDS_KEPT newest finished builds (never one being built). */
function pruneOldBuilds(): void {
  const builds = readdirSync(cacheDir(), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && /^[0-9a-f]{16}$/.test(entry.name))
    .map((entry) => ({
      path: join(cacheDir(), entry.name),
      mtimeMs: statSync(join(cacheDir(), entry.name)).mtimeMs,
    }))
    .sort((a, b) => b.mtimeMs - a.mtimeMs);
  for (const old of builds.slice(BUILDS_KEPT)) rmSync(old.path, { recursive: true, force: true });
}

if (import.meta.main) {
  // `node src/ui/assets.ts`: build ahead of time (setup, CI) and print where.
  process.stdout.write(`${await builtAssets((line) => process.stdout.write(`${line}\n`))}\n`);
}
