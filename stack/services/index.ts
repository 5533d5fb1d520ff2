/** The services of the local stack, in start order (stopped in reverse). */
import type { ServiceDefinition } from '../lib/service.js';
import { flink } from './flink.js';
import { kafka } from './kafka.js';
import { postgres } from './postgres.js';
import { s3 } from './s3.js';
import { trino } from './trino.js';

export const services: ServiceDefinition[] = [postgres, kafka, flink, s3, trino];
