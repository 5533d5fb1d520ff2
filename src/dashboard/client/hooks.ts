/** Small React hooks the pages share: polling a query, and a live subscription into a bounded list. */
import { useEffect, useRef, useState } from 'react';
import { ApiError, gql, subscribe } from './api.js';

export interface Polled<T> {
  data: T | undefined;
  error: ApiError | undefined;
  loading: boolean;
  /** Round trip of the last answer, as this browser saw it. */
  elapsedMs?: number;
}

/** Runs `query` now and every `everyMs` (0: once) while mounted or until its inputs change. */
export function usePoll<T>(query: string, variables: Record<string, unknown>, everyMs: number): Polled<T> {
  const [state, setState] = useState<Polled<T>>({ data: undefined, error: undefined, loading: true });
  const key = JSON.stringify(variables);
  useEffect(() => {
    let alive = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      try {
        const started = performance.now();
        const data = await gql<T>(query, JSON.parse(key) as Record<string, unknown>);
        const elapsedMs = performance.now() - started;
        if (alive) setState({ data, error: undefined, loading: false, elapsedMs });
      } catch (err) {
        const e = err instanceof ApiError ? err : new ApiError('NETWORK', (err as Error).message);
        if (alive) setState((s) => ({ data: s.data, error: e, loading: false }));
      }
      if (alive && everyMs > 0) timer = setTimeout(() => void run(), everyMs);
    };
    void run();
    return () => {
      alive = false;
      clearTimeout(timer);
    };
  }, [query, key, everyMs]);
  return state;
}

/** The newest `max` events of a subscription, newest first. */
export function useLive<T, E>(
  query: string,
  variables: Record<string, unknown>,
  pick: (data: T) => E,
  max = 50,
): { events: E[]; error: ApiError | undefined } {
  const [events, setEvents] = useState<E[]>([]);
  const [error, setError] = useState<ApiError | undefined>();
  const pickRef = useRef(pick);
  pickRef.current = pick;
  const key = JSON.stringify(variables);
  useEffect(() => {
    setEvents([]);
    return subscribe<T>(
      query,
      JSON.parse(key) as Record<string, unknown>,
      (data) => {
        setError(undefined);
        setEvents((list) => [pickRef.current(data), ...list].slice(0, max));
      },
      setError,
    );
  }, [query, key, max]);
  return { events, error };
}
