/**
 * The benchmarks' stand-in servers (the reads bench's bare graphql-js handler, the query bench's
 * `--floor`): node:http on 127.0.0.1, a random port, each POST body parsed as JSON and handed to
 * `answer`, whose result goes back as JSON. A rejection answers 500 with a GraphQL-shaped error.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export async function serveJson(
  answer: (body: unknown) => Promise<unknown>,
): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      Promise.resolve()
        .then(() => answer(JSON.parse(Buffer.concat(chunks).toString('utf8'))))
        .then(
          (result) => {
            const body = JSON.stringify(result);
            res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
            res.end(body);
          },
          (err: unknown) => {
            res.writeHead(500, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ errors: [{ message: (err as Error).message }] }));
          },
        );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}
