/**
 * Browser apps the gateway serves itself (GraphiQL, the dashboard): one script and one stylesheet
 * each, bundled from the npm packages with esbuild (no CDN: users may be offline). The gateway
 * builds them in memory on the first request (a second or two, once per process); a build step
 * (`npm run graphiql:build`, `npm run dashboard:build`) writes the same files under dist/ for
 * deployments that install without devDependencies, where esbuild and the front-end packages are
 * absent.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Logger } from '../logger.js';
import type { Route } from '../http/http-handler.js';

export interface WebAssets {
  js: Buffer;
  css: Buffer;
}

export interface WebApp {
  /** Name in logs and errors, e.g. 'GraphiQL'. */
  name: string;
  /** The entry module (TypeScript) of the browser script. */
  entry: string;
  /** Where the build step writes app.js and app.css. */
  prebuiltDir: string;
}

export async function bundleApp(app: WebApp): Promise<WebAssets> {
  // Imported on demand: esbuild is a devDependency, and production need not serve these pages.
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: { app: app.entry },
    bundle: true,
    write: false,
    outdir: 'web-out',
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
  if (!js || !css) throw new Error(`esbuild produced no ${app.name} script or stylesheet`);
  return { js: Buffer.from(js.contents), css: Buffer.from(css.contents) };
}

export function readPrebuilt(dir: string): WebAssets | undefined {
  const js = join(dir, 'app.js');
  const css = join(dir, 'app.css');
  if (!existsSync(js) || !existsSync(css)) return undefined;
  return { js: readFileSync(js), css: readFileSync(css) };
}

/** Builds when the tools are installed, else falls back to prebuilt files; throws when neither exists. */
export async function loadAssets(app: WebApp, buildCommand: string): Promise<WebAssets> {
  try {
    return await bundleApp(app);
  } catch (err) {
    const prebuilt = readPrebuilt(app.prebuiltDir);
    if (prebuilt) return prebuilt;
    throw new Error(
      `${app.name} assets could not be built (${(err as Error).message}) and ${app.prebuiltDir} has none: run ${buildCommand}`,
    );
  }
}

/** The build step: writes app.js and app.css under the app's prebuilt folder. */
export async function writePrebuilt(app: WebApp): Promise<string> {
  const started = Date.now();
  const { js, css } = await bundleApp(app);
  mkdirSync(app.prebuiltDir, { recursive: true });
  writeFileSync(join(app.prebuiltDir, 'app.js'), js);
  writeFileSync(join(app.prebuiltDir, 'app.css'), css);
  return `wrote ${app.prebuiltDir}/app.js (${js.length} bytes) and app.css (${css.length} bytes) in ${Date.now() - started} ms`;
}

/**
 * GET `${prefix}/app.js` and `${prefix}/app.css`, loaded once on first use (and again after a
 * failed load), with an ETag so a browser revalidates instead of downloading again.
 */
export function assetRoutes(prefix: string, name: string, load: () => Promise<WebAssets>, logger: Logger): Route[] {
  let assets: Promise<WebAssets & { etag: string }> | undefined;
  const get = () => {
    assets ??= load()
      .then((a) => {
        logger.info({ jsBytes: a.js.length, cssBytes: a.css.length }, `${name} assets ready`);
        return { ...a, etag: `"${createHash('sha1').update(a.js).update(a.css).digest('base64url')}"` };
      })
      .catch((err: unknown) => {
        assets = undefined; // try again on the next request
        throw err;
      });
    return assets;
  };

  const serve = (kind: 'js' | 'css') => async (req: IncomingMessage, res: ServerResponse) => {
    let a: Awaited<ReturnType<typeof get>>;
    try {
      a = await get();
    } catch (err) {
      logger.error({ err: (err as Error).message }, `${name} assets unavailable`);
      res.statusCode = 503;
      res.setHeader('content-type', 'text/plain; charset=utf-8');
      res.end((err as Error).message);
      return;
    }
    res.setHeader('etag', a.etag);
    res.setHeader('cache-control', 'no-cache');
    if (req.headers['if-none-match'] === a.etag) {
      res.statusCode = 304;
      res.end();
      return;
    }
    res.setHeader('content-type', kind === 'js' ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8');
    res.end(a[kind]);
  };

  return [
    { method: 'GET', path: `${prefix}/app.js`, handle: serve('js') },
    { method: 'GET', path: `${prefix}/app.css`, handle: serve('css') },
  ];
}
