/**
 * The WebSocket side's timers (src/gateway/ws-adapter.ts): the server's keep-alive pings find peers
 * that stopped answering and release their subscriptions, a peer that answers stays, and a socket
 * that never sends `connection_init` is closed with 4408. Raw `ws` peers against a real gateway.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { WINDOWS_QUERY, startLiveGateway, type LiveGateway } from '../helpers/live.js';
import { uniqueId, waitFor } from '../helpers/wait.js';

const KEEPALIVE_MS = 300;

interface RawPeer {
  socket: WebSocket;
  pings: number;
  closed: Promise<number>;
}

/** A graphql-transport-ws peer that answers pings only when `autoPong`; acknowledged when `init`. */
async function rawPeer(url: string, opts: { autoPong: boolean; init: boolean }): Promise<RawPeer> {
  const socket = new WebSocket(url, 'graphql-transport-ws', { autoPong: opts.autoPong });
  const peer: RawPeer = {
    socket,
    pings: 0,
    closed: new Promise((resolve) => socket.once('close', (code) => resolve(code))),
  };
  socket.on('ping', () => (peer.pings += 1));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  if (opts.init) {
    const acked = new Promise<void>((resolve) =>
      socket.on('message', (raw) => {
        if ((JSON.parse(String(raw)) as { type: string }).type === 'connection_ack') resolve();
      }),
    );
    socket.send(JSON.stringify({ type: 'connection_init', payload: {} }));
    await acked;
  }
  return peer;
}

describe('live WebSocket keep-alive and connection_init deadline', () => {
  let gw: LiveGateway;
  const live = () => gw.gateway.services.live.stats();

  beforeAll(async () => {
    gw = await startLiveGateway({ LIVE_KEEPALIVE_MS: String(KEEPALIVE_MS) });
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('terminates a peer that stops answering pings and releases its subscription; a peer that answers stays', async () => {
    const user = uniqueId('live-ka');
    const silent = await rawPeer(gw.wsUrl, { autoPong: false, init: true });
    const answering = await rawPeer(gw.wsUrl, { autoPong: true, init: true });
    for (const peer of [silent, answering]) {
      peer.socket.send(
        JSON.stringify({ id: '1', type: 'subscribe', payload: { query: WINDOWS_QUERY, variables: { userId: user } } }),
      );
    }
    await waitFor(() => live().windowSubscribers >= 2, { timeoutMs: 10_000, what: 'both subscribed' });

    // Terminated (no closing handshake: 1006) one interval after the ping it did not answer.
    expect(await silent.closed).toBe(1006);
    expect(silent.pings).toBeGreaterThanOrEqual(1);
    await waitFor(() => live().windowSubscribers === 1, { timeoutMs: 10_000, what: 'silent peer released' });

    // The answering peer goes on being pinged and stays open across several intervals.
    const pingsNow = answering.pings;
    await waitFor(() => answering.pings >= pingsNow + 3, { timeoutMs: 10_000, what: 'three more pings' });
    expect(answering.socket.readyState).toBe(WebSocket.OPEN);
    expect(gw.gateway.services.live.stats().windowSubscribers).toBe(1);
    answering.socket.close();
    await waitFor(() => live().windowSubscribers === 0, { timeoutMs: 10_000, what: 'released' });
  });

  it('closes a socket that never sends connection_init with 4408', async () => {
    const idle = await rawPeer(gw.wsUrl, { autoPong: true, init: false });
    // graphql-ws's default wait is 3 s.
    expect(await idle.closed).toBe(4408);
  });
});
