/**
 * Cluster profile: three brokers, topics with three copies of which two must acknowledge. Three
 * clients ingest without pause through a gateway into a private topic while a consumer worker
 * writes it to Postgres, and
 *  1. the broker leading partition 0 is SIGKILLed (no flush, no deregistration), then restarted;
 *  2. another broker is cut off from the others by pausing it (SIGSTOP) for longer than the
 *     controller's session timeout, then resumed (SIGCONT): a network partition as the rest of the
 *     cluster sees it.
 * Pass: no mutation fails beyond the clients' bounded retry; every acknowledged reading is on the
 * topic (exactly once where its mutation needed no retry) and in the table exactly once. The stall
 * (longest time without an acknowledgement) is measured and bounded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kafka as kafkaService, kafkaNodes } from '../../stack/services/kafka.js';
import { runningPid } from '../../stack/lib/process.js';
import { faultStackContext, restore } from '../helpers/faults.js';
import { waitFor } from '../helpers/wait.js';
import { IngestLoad, leaderOf, startPipeline, verify, waitForFullIsr, type Pipeline } from './pipeline.js';

/** Ingest may stand still this long around a fault: fencing (9 s) plus the producer's retries. */
const MAX_STALL_MS = 30_000;

describe('cluster: Kafka broker faults during continuous ingest', () => {
  const ctx = faultStackContext();
  let p: Pipeline;

  beforeAll(async () => {
    expect(ctx.config.stack.profile).toBe('cluster');
    p = await startPipeline('cluster-kafka');
  });

  afterAll(async () => {
    // Whatever happened, every broker runs and none stays paused before the next file.
    for (const n of kafkaNodes(ctx.config)) {
      const pid = runningPid(ctx.paths, n.name);
      if (pid !== undefined) process.kill(pid, 'SIGCONT');
    }
    await restore(ctx, kafkaService);
    await p?.stop();
  }, 180_000);

  it('loses no acknowledged reading when the partition leader is SIGKILLed', async () => {
    const load = new IngestLoad(p.gw.url, p.userPrefix);
    load.start();
    try {
      await waitFor(() => load.acknowledged().length >= 300, { timeoutMs: 60_000, what: '300 readings acknowledged' });
      const leader = await leaderOf(p.kafka, p.topic, 0);
      const victim = kafkaNodes(ctx.config).find((n) => n.id === leader)!;
      const pid = runningPid(ctx.paths, victim.name);
      expect(pid, `${victim.name} runs`).toBeDefined();
      const killedAt = Date.now();
      process.kill(pid!, 'SIGKILL');
      await waitFor(() => runningPid(ctx.paths, victim.name) === undefined, { what: `${victim.name} gone` });
      // Ingest goes on with two brokers: a new leader for partition 0, and two copies still in sync.
      const newLeader = await waitFor(
        async () => {
          const l = await leaderOf(p.kafka, p.topic, 0).catch(() => leader);
          return l !== leader ? l : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 500, what: 'a new leader for partition 0' },
      );
      const acksAtKill = load.acknowledged().length;
      await waitFor(() => load.acknowledged().length >= acksAtKill + 300, {
        timeoutMs: 90_000,
        what: '300 more readings acknowledged with a broker down',
      });
      const faultEnd = Date.now();
      const restartMs = await restore(ctx, kafkaService);
      const isrMs = await waitForFullIsr(p.kafka, p.topic);
      await load.stop();
      const stall = load.stallMs(killedAt, faultEnd);
      const verdict = await verify(p, load);
      console.log(
        JSON.stringify({
          fault: 'leader SIGKILL',
          killed: victim.name,
          newLeader,
          stallMs: stall,
          brokerRestartMs: restartMs,
          backInSyncMs: isrMs,
          ...verdict,
        }),
      );
      expect(verdict.abandonedMutations).toBe(0);
      expect(verdict.lostOnTopic).toBe(0);
      expect(verdict.lostInTable).toBe(0);
      expect(verdict.duplicatedOnTopic).toBe(0);
      expect(verdict.duplicatedInTable).toBe(0);
      expect(stall).toBeLessThan(MAX_STALL_MS);
    } finally {
      await load.stop();
    }
  }, 300_000);

  it('loses no acknowledged reading when a broker is cut off (SIGSTOP) and comes back (SIGCONT)', async () => {
    const load = new IngestLoad(p.gw.url, p.userPrefix);
    load.start();
    try {
      await waitFor(() => load.acknowledged().length >= 300, { timeoutMs: 60_000, what: '300 readings acknowledged' });
      // The leader of partition 1: its partitions must move, and the rest wait for it to drop out of sync.
      const leader = await leaderOf(p.kafka, p.topic, 1);
      const victim = kafkaNodes(ctx.config).find((n) => n.id === leader)!;
      const pid = runningPid(ctx.paths, victim.name)!;
      const pausedAt = Date.now();
      process.kill(pid, 'SIGSTOP');
      let resumedAt = 0;
      try {
        // Longer than the controller's session timeout (9 s) and the replica lag limit (10 s).
        const acksAtPause = load.acknowledged().length;
        await waitFor(() => load.acknowledged().length >= acksAtPause + 300, {
          timeoutMs: 90_000,
          what: '300 more readings acknowledged while a broker is cut off',
        });
        const minPauseMs = 15_000;
        const left = pausedAt + minPauseMs - Date.now();
        if (left > 0) await new Promise((r) => setTimeout(r, left));
      } finally {
        process.kill(pid, 'SIGCONT');
        resumedAt = Date.now();
      }
      const isrMs = await waitForFullIsr(p.kafka, p.topic);
      const acksAtResume = load.acknowledged().length;
      await waitFor(() => load.acknowledged().length >= acksAtResume + 200, {
        timeoutMs: 60_000,
        what: 'ingest going on after the broker rejoined',
      });
      await load.stop();
      const stall = load.stallMs(pausedAt, Date.now());
      const verdict = await verify(p, load);
      console.log(
        JSON.stringify({
          fault: 'broker SIGSTOP/SIGCONT',
          paused: victim.name,
          pausedMs: resumedAt - pausedAt,
          stallMs: stall,
          backInSyncMs: isrMs,
          ...verdict,
        }),
      );
      expect(verdict.abandonedMutations).toBe(0);
      expect(verdict.lostOnTopic).toBe(0);
      expect(verdict.lostInTable).toBe(0);
      expect(verdict.duplicatedOnTopic).toBe(0);
      expect(verdict.duplicatedInTable).toBe(0);
      expect(stall).toBeLessThan(MAX_STALL_MS);
    } finally {
      await load.stop();
    }
  }, 300_000);
});
