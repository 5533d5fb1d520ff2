/**
 * The kafkajs types the rest of the gateway names. Only src/kafka imports kafkajs (a lint rule
 * holds it), so upgrading or replacing the driver touches this folder and nothing else.
 */
export type {
  Admin,
  Consumer,
  EachBatchPayload,
  IHeaders,
  Kafka,
  KafkaMessage,
  Message,
  Producer,
} from 'kafkajs';
