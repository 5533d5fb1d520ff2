/**
 * Side effect only: kafkajs's per-partition grouping replaced by a linear one
 * (src/kafka/partition-grouping.ts). Imported first by the producer thread, before anything loads
 * kafkajs; imported later it changes nothing.
 */
import { useLinearPartitionGrouping } from './partition-grouping.js';

useLinearPartitionGrouping();
