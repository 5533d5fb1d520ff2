// Internal: the producer thread's entry (src/ingest/threaded.publisher.ts). A worker thread does
// not get the module hooks of the thread that started it: neither tsx's (the gateway runs as
// `tsx src/gateway/main.ts`) nor vitest's transform (tests build the gateway in process). So this
// plain module registers tsx's ESM hooks for the thread, then loads the thread's TypeScript body.
import { register } from 'tsx/esm/api';

register();
await import('./producer.thread.ts');
