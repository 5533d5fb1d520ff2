/**
 * Builds the gateway's services once per process, and starts and stops them in order. Each new
 * capability adds itself here (one entry in `GatewayServices`, one in the parts list).
 */
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { createKafka } from '../kafka/client.js';
import { createPool } from '../timescale/pool.js';
import { createHealthService } from '../health/health.service.js';
import { flinkCheck, kafkaCheck, postgresCheck, trinoCheck } from '../health/checks.js';
import type { GatewayServices } from './context.js';

/** A collaborator with a lifecycle; started in list order, stopped in reverse. */
interface Part {
  name: string;
  start?(): Promise<void>;
  stop(): Promise<void>;
}

export interface ServiceSet {
  services: GatewayServices;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function buildServices(config: Config, logger: Logger): ServiceSet {
  const pool = createPool(config, logger);
  const kafka = createKafka(config, logger);
  const kafkaHealth = kafkaCheck(kafka);

  const services: GatewayServices = {
    health: createHealthService([kafkaHealth, flinkCheck(config), trinoCheck(config), postgresCheck(pool)]),
  };

  const parts: Part[] = [
    { name: 'postgres pool', stop: () => pool.end() },
    { name: 'kafka health', stop: () => kafkaHealth.stop() },
  ];

  return {
    services,
    async start() {
      for (const p of parts) await p.start?.();
    },
    async stop() {
      for (const p of [...parts].reverse()) {
        try {
          await p.stop();
        } catch (err) {
          logger.warn({ err, part: p.name }, 'error while stopping');
        }
      }
    },
  };
}
