/** The question `health` asks Kafka: does a broker answer, and who is the controller. */
import type { Admin, Kafka } from 'kafkajs';
import type { HealthCheck } from '../health/health.service.js';

export function kafkaCheck(kafka: Kafka): HealthCheck & { stop(): Promise<void> } {
  let admin: Admin | undefined;
  return {
    name: 'kafka',
    async check() {
      // One admin connection, reused across checks; dropped and rebuilt after a failure.
      try {
        if (!admin) {
          admin = kafka.admin({ retry: { retries: 0 } });
          await admin.connect();
        }
        const cluster = await admin.describeCluster();
        return `${cluster.brokers.length} broker(s), controller ${cluster.controller ?? 'none'}`;
      } catch (err) {
        const stale = admin;
        admin = undefined;
        await stale?.disconnect().catch(() => undefined);
        throw err;
      }
    },
    async stop() {
      await admin?.disconnect().catch(() => undefined);
      admin = undefined;
    },
  };
}
