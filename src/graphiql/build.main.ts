/** `npm run graphiql:build`: writes dist/graphiql/app.js and app.css (see bundle.ts for when this is needed). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleGraphiql, PREBUILT_DIR } from './bundle.js';

const started = Date.now();
const { js, css } = await bundleGraphiql();
mkdirSync(PREBUILT_DIR, { recursive: true });
writeFileSync(join(PREBUILT_DIR, 'app.js'), js);
writeFileSync(join(PREBUILT_DIR, 'app.css'), css);
console.log(
  `wrote ${PREBUILT_DIR}/app.js (${js.length} bytes) and app.css (${css.length} bytes) in ${Date.now() - started} ms`,
);
