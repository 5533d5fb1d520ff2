/**
 * Raw HTTP requests for the bad-input corpus: the request line, the URL and the headers, not only
 * bodies, sent over a plain socket (fetch cannot send most of them). Shared by the in-process
 * corpus (tests/integration/bad-input.test.ts) and the process test (tests/e2e/process-survival.test.ts).
 */
import { connect } from 'node:net';

/** Raw requests: the request line, the URL and the headers, not only bodies. */
export function rawRequestCorpus(): { name: string; raw: string }[] {
  const line = (target: string, extra = '', method = 'GET', version = 'HTTP/1.1') =>
    `${method} ${target} ${version}\r\nHost: 127.0.0.1\r\n${extra}Connection: close\r\n\r\n`;
  const post = (target: string, headers: string, body: string) =>
    `POST ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}Connection: close\r\n\r\n${body}`;
  return [
    { name: 'GET //[', raw: line('//[') },
    { name: 'GET http://[', raw: line('http://[') },
    { name: 'GET https://[::1', raw: line('https://[::1') },
    { name: 'GET //[/graphql', raw: line('//[/graphql') },
    { name: 'GET //evil.example/graphql', raw: line('//evil.example/graphql') },
    { name: 'POST //[', raw: post('//[', 'Content-Length: 2\r\n', '{}') },
    { name: 'GET /metrics as absolute form', raw: line('http://127.0.0.1/metrics') },
    { name: 'bad percent-encoding', raw: line('/graphql?query=%ZZ%') },
    { name: 'NUL and high bytes in the path', raw: line('/%00%ff%fe') },
    { name: 'asterisk target', raw: line('*', '', 'OPTIONS') },
    { name: 'unknown method', raw: line('/graphql', '', 'BREW') },
    { name: 'HTTP/9.9', raw: line('/graphql', '', 'GET', 'HTTP/9.9') },
    { name: 'HTTP/0.9 line', raw: 'GET /\r\n\r\n' },
    { name: 'no request line', raw: '\r\n\r\n\r\n' },
    { name: 'binary garbage', raw: '\u0000\u0001\u0002\u00ff GET / HTTP/1.1\r\n\r\n' },
    { name: 'URL over the header limit', raw: line(`/graphql?q=${'a'.repeat(100_000)}`) },
    { name: 'header over the limit', raw: line('/graphql', `X-Big: ${'b'.repeat(100_000)}\r\n`) },
    { name: 'Host: [', raw: 'GET /healthz HTTP/1.1\r\nHost: [\r\nConnection: close\r\n\r\n' },
    { name: 'no Host', raw: 'GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n' },
    { name: 'bare CR in a header', raw: line('/graphql', 'X-Request-Id: a\rb\r\n') },
    { name: 'header without colon', raw: line('/graphql', 'Garbage\r\n') },
    { name: 'odd request id', raw: line('/healthz', `X-Request-Id: ../../etc/passwd${'x'.repeat(500)}\r\n`) },
    {
      name: 'huge bearer token',
      raw: line('/graphql?query=%7B__typename%7D', `Authorization: Bearer ${'A'.repeat(12_000)}\r\n`),
    },
    {
      name: 'two authorization headers',
      raw: line('/graphql', 'Authorization: Bearer a.b.c\r\nAuthorization: Basic x\r\n'),
    },
    { name: 'negative Content-Length', raw: post('/graphql', 'Content-Length: -1\r\n', '{}') },
    { name: 'conflicting Content-Length', raw: post('/graphql', 'Content-Length: 2\r\nContent-Length: 3\r\n', '{}') },
    { name: 'Content-Length list', raw: post('/graphql', 'Content-Length: 2, 2\r\n', '{}') },
    {
      name: 'chunked with a bad chunk size',
      raw: post(
        '/graphql',
        'Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n',
        'zz\r\n{}\r\n0\r\n\r\n',
      ),
    },
    {
      name: 'chunked and Content-Length',
      raw: post('/graphql', 'Transfer-Encoding: chunked\r\nContent-Length: 4\r\n', '2\r\n{}\r\n0\r\n\r\n'),
    },
    {
      name: 'body shorter than declared',
      raw: post('/graphql', 'Content-Length: 1000\r\nContent-Type: application/json\r\n', '{"query"'),
    },
    {
      name: 'charset utf-16',
      raw: post('/graphql', 'Content-Type: application/json; charset=utf-16\r\nContent-Length: 2\r\n', '{}'),
    },
    { name: 'Expect: 100-continue', raw: post('/graphql', 'Expect: 100-continue\r\nContent-Length: 2\r\n', '{}') },
    {
      name: 'WebSocket upgrade to //[',
      raw: line(
        '//[',
        'Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n',
      ),
    },
    {
      name: 'WebSocket upgrade to /metrics',
      raw: line(
        '/metrics',
        'Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n',
      ),
    },
    {
      name: 'GET /graphql with a long operationName',
      raw: line(`/graphql?query=%7B__typename%7D&operationName=${'o'.repeat(6000)}`),
    },
  ];
}

/** Sends one raw request; the status of the answer, 'closed' when the peer closed without one. */
export function sendRaw(port: number, raw: string): Promise<number | 'closed'> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let got = '';
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(got);
      resolve(m ? Number(m[1]) : 'closed');
    };
    const timer = setTimeout(done, 5_000);
    socket.on('connect', () => socket.end(raw));
    socket.on('data', (d) => {
      got += d.toString('latin1');
    });
    socket.on('close', done);
    socket.on('error', done);
  });
}
