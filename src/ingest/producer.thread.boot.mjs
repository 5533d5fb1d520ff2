// Internal: the producer thread's entry (src/ingest/threaded.publisher.ts). A worker thread does
// not get the module hooks of the thread that started it: neither tsx's (`npm run dev` runs the
// gateway as `tsx src/gateway/main.ts`) nor vitest's transform (tests build the gateway in process).
// Compiled (`npm run build`, `npm start`), the thread's JavaScript sits beside this file; from the
// sources, this plain module registers tsx's ESM hooks for the thread, then loads its TypeScript.
import { existsSync } from 'node:fs';
import { URL } from 'node:url';

const compiled = new URL('./producer.thread.js', import.meta.url);
if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./producer.thread.ts');
}
