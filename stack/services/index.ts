/** The services of the local stack, in start order (stopped in reverse). */
import type { ServiceDefinition } from '../lib/service.js';
import { kafka } from './kafka.js';
import { postgres } from './postgres.js';

export const services: ServiceDefinition[] = [postgres, kafka];
