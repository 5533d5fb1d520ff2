/**
 * The object store of the `lake` catalog: S3Proxy, a real S3 API server, over a folder under the
 * stack directory. Trino's native S3 file system talks to it exactly as it would to AWS S3 or
 * MinIO (compose.yml runs MinIO), so the lake's code path is the production one.
 *
 * The bucket is created after start with a signed S3 `PUT /bucket` (SigV4 through the platform's
 * crypto), so no AWS SDK is needed for one request.
 */
import { createHash, createHmac } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fetchWithMaven } from '../lib/maven.js';
import { javaBin } from '../lib/java.js';
import { marker, runningPid, spawnDetached, stopProcess } from '../lib/process.js';
import type { ServiceDefinition, StackContext } from '../lib/service.js';

const NAME = 's3';

function dirs(ctx: StackContext) {
  const dist = join(ctx.paths.dist, 's3proxy');
  const home = join(ctx.paths.data, NAME);
  return { dist, jar: join(dist, 'lib', 's3proxy.jar'), home, objects: join(home, 'objects') };
}

function writeProperties(ctx: StackContext): string {
  const d = dirs(ctx);
  const { endpoint, accessKey, secretKey } = ctx.config.lake.s3;
  mkdirSync(d.objects, { recursive: true });
  const file = join(d.home, 's3proxy.properties');
  writeFileSync(
    file,
    [
      `s3proxy.endpoint=${endpoint}`,
      's3proxy.authorization=aws-v2-or-v4',
      `s3proxy.identity=${accessKey}`,
      `s3proxy.credential=${secretKey}`,
      // Newer AWS SDKs (Trino's) send headers S3Proxy does not know, such as
      // x-amz-optional-object-attributes on ListObjectsV2; they only ask for optional extras.
      's3proxy.ignore-unknown-headers=true',
      'jclouds.provider=filesystem-nio2',
      `jclouds.identity=${accessKey}`,
      `jclouds.credential=${secretKey}`,
      `jclouds.filesystem.basedir=${d.objects}`,
      '',
    ].join('\n'),
  );
  return file;
}

const sha256 = (data: string): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data).digest();

/** One SigV4-signed S3 request with an empty body (enough for creating and probing a bucket). */
export async function signedS3Request(
  s3: StackContext['config']['lake']['s3'],
  method: 'PUT' | 'HEAD' | 'GET',
  path: string,
  timeoutMs = 5_000,
): Promise<Response> {
  const url = new URL(path, s3.endpoint);
  const now = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  const day = now.slice(0, 8);
  const payloadHash = sha256('');
  const headers: Record<string, string> = {
    host: url.host,
    'x-amz-content-sha256': payloadHash,
    'x-amz-date': now,
  };
  const signed = Object.keys(headers).sort();
  const canonical = [
    method,
    url.pathname,
    url.searchParams.toString(),
    ...signed.map((h) => `${h}:${headers[h]}`),
    '',
    signed.join(';'),
    payloadHash,
  ].join('\n');
  const scope = `${day}/${s3.region}/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', now, scope, sha256(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${s3.secretKey}`, day), s3.region), 's3'), 'aws4_request');
  const signature = createHmac('sha256', key).update(toSign).digest('hex');
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${s3.accessKey}/${scope}, SignedHeaders=${signed.join(';')}, Signature=${signature}`;
  return fetch(url, { method, headers, signal: AbortSignal.timeout(timeoutMs) });
}

export const s3: ServiceDefinition = {
  name: NAME,
  startTimeoutMs: 60_000,
  processes: () => [NAME],
  async fetch(ctx) {
    await fetchWithMaven(join(ctx.repoDir, 'stack', 's3proxy', 'pom.xml'), dirs(ctx).dist, ctx.log);
  },
  async start(ctx) {
    if (runningPid(ctx.paths, NAME) !== undefined) return;
    const d = dirs(ctx);
    if (!existsSync(d.jar)) throw new Error(`s3: ${d.jar} is missing; run \`npm run stack:fetch\` first`);
    const properties = writeProperties(ctx);
    spawnDetached(ctx.paths, {
      name: NAME,
      command: javaBin(ctx.config.stack.javaHome),
      args: [marker(NAME), '-Xmx256m', '-jar', d.jar, '--properties', properties],
      cwd: d.home,
      env: {},
    });
  },
  async probe(ctx) {
    // Any S3 answer (even 404 for a bucket not created yet) proves the server parses signed requests.
    const res = await signedS3Request(ctx.config.lake.s3, 'GET', '/');
    if (res.status >= 500) throw new Error(`S3 endpoint answered HTTP ${res.status}`);
  },
  async afterStart(ctx) {
    const { bucket } = ctx.config.lake.s3;
    const head = await signedS3Request(ctx.config.lake.s3, 'HEAD', `/${bucket}`);
    if (head.ok) return;
    const res = await signedS3Request(ctx.config.lake.s3, 'PUT', `/${bucket}`);
    // 409: created meanwhile by another start.
    if (!res.ok && res.status !== 409)
      throw new Error(`creating bucket ${bucket}: HTTP ${res.status} ${await res.text()}`);
  },
  endpoints(ctx) {
    return { s3: ctx.config.lake.s3.endpoint, bucket: ctx.config.lake.s3.bucket };
  },
  async stop(ctx) {
    await stopProcess(ctx.paths, NAME, 10_000);
  },
};
