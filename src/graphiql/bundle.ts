/**
 * Builds GraphiQL's browser assets (one JS file, one CSS file) from the npm packages with esbuild.
 * The gateway builds them in memory on the first GraphiQL request (about two seconds, once per
 * process); `npm run graphiql:build` writes the same files to dist/graphiql for deployments that
 * install without devDependencies, where esbuild and graphiql are absent.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface GraphiqlAssets {
  js: Buffer;
  css: Buffer;
}

export const ENTRY = join(import.meta.dirname, 'client', 'main.ts');
export const PREBUILT_DIR = join(import.meta.dirname, '..', '..', 'dist', 'graphiql');

export async function bundleGraphiql(): Promise<GraphiqlAssets> {
  // Imported on demand: esbuild is a devDependency, and production does not serve GraphiQL.
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: { app: ENTRY },
    bundle: true,
    write: false,
    outdir: 'graphiql-out',
    format: 'iife',
    platform: 'browser',
    target: ['es2020'],
    minify: true,
    legalComments: 'none',
    define: { 'process.env.NODE_ENV': '"production"' },
    loader: { '.woff': 'dataurl', '.woff2': 'dataurl', '.ttf': 'dataurl', '.svg': 'dataurl', '.png': 'dataurl' },
    logLevel: 'silent',
  });
  const js = result.outputFiles.find((f) => f.path.endsWith('.js'));
  const css = result.outputFiles.find((f) => f.path.endsWith('.css'));
  if (!js || !css) throw new Error('esbuild produced no GraphiQL script or stylesheet');
  return { js: Buffer.from(js.contents), css: Buffer.from(css.contents) };
}

export function readPrebuilt(dir = PREBUILT_DIR): GraphiqlAssets | undefined {
  const js = join(dir, 'app.js');
  const css = join(dir, 'app.css');
  if (!existsSync(js) || !existsSync(css)) return undefined;
  return { js: readFileSync(js), css: readFileSync(css) };
}

/** Builds when the tools are installed, else falls back to prebuilt files; throws when neither exists. */
export async function loadGraphiqlAssets(): Promise<GraphiqlAssets> {
  try {
    return await bundleGraphiql();
  } catch (err) {
    const prebuilt = readPrebuilt();
    if (prebuilt) return prebuilt;
    throw new Error(
      `GraphiQL assets could not be built (${(err as Error).message}) and dist/graphiql has none: run npm run graphiql:build`,
    );
  }
}
