/**
 * How the dashboard talks to the gateway that served it: GraphQL over HTTP POST for reads, and
 * graphql-ws on the same path for live panels. The token (when auth is required) is kept in
 * localStorage and sent as `authorization: Bearer ...` on both.
 */
import { createClient, type Client } from 'graphql-ws';

const PATH = '/graphql';
const TOKEN_KEY = 'fitbit-dashboard-token';

export interface GqlError {
  message: string;
  extensions?: { code?: string; [k: string]: unknown };
}

/** A failed request, with the gateway's code (UNAUTHENTICATED, FORBIDDEN, TRINO_BUSY...). */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const token = {
  get: (): string | null => localStorage.getItem(TOKEN_KEY),
  set(value: string | null): void {
    if (value) localStorage.setItem(TOKEN_KEY, value);
    else localStorage.removeItem(TOKEN_KEY);
    resetLive();
  },
};

const authHeader = (): Record<string, string> => {
  const t = token.get();
  return t ? { authorization: `Bearer ${t}` } : {};
};

/** One operation; throws ApiError with the first error's code. Partial data is not used. */
export async function gql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await fetch(PATH, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...authHeader() },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json().catch(() => ({}))) as { data?: T | null; errors?: GqlError[] };
  const error = body.errors?.[0];
  if (error) throw new ApiError(error.extensions?.code ?? `HTTP ${res.status}`, error.message);
  if (!body.data) throw new ApiError(`HTTP ${res.status}`, 'no data in the answer');
  return body.data;
}

let live: Client | undefined;

/** The page's one graphql-ws connection, made on first use; it reconnects by itself. */
export function liveClient(): Client {
  live ??= createClient({
    url: `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}${PATH}`,
    connectionParams: () => authHeader(),
    retryAttempts: Infinity,
    shouldRetry: () => true,
    lazy: true,
  });
  return live;
}

function resetLive(): void {
  void live?.dispose();
  live = undefined;
}

/** Subscribes; returns the function that ends the subscription. */
export function subscribe<T>(
  query: string,
  variables: Record<string, unknown>,
  onData: (data: T) => void,
  onError: (err: ApiError) => void,
): () => void {
  return liveClient().subscribe<T>(
    { query, variables },
    {
      next: (r) => {
        const e = r.errors?.[0] as GqlError | undefined;
        if (e) onError(new ApiError(e.extensions?.code ?? 'ERROR', e.message));
        else if (r.data) onData(r.data as T);
      },
      error: (err) =>
        onError(new ApiError('CONNECTION', err instanceof Error ? err.message : 'the live connection closed')),
      complete: () => undefined,
    },
  );
}
