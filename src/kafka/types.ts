/**
 * The kafkajs types the rest of the code names (clients, batches, messages, headers), re-exported
 * from here so that src/kafka is the only folder that depends on the driver's package: an upgrade
 * or a change of client touches this folder, and the import guard (tests/unit/imports.test.ts)
 * keeps it that way.
 */
export type { Admin, Consumer, EachBatchPayload, IHeaders, Kafka, Message, Producer } from 'kafkajs';
