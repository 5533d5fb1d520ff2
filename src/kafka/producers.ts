/**
 * The producers the processes create, with the settings each one's guarantees rest on. Every
 * producer that writes keyed messages uses the Java client's murmur2 partitioner, so a user's
 * messages land in the partition any other producer (or Flink) would pick for the same key.
 */
import { Partitioners, type Kafka, type Producer } from 'kafkajs';
import { KeyHashPartitioner } from './partitioner.js';
import { useOneBufferProduceEncoding } from './produce-request.encoder.js';

/** The gateway's producer of `fitbit_ingestion`, in process or in the producer thread. */
export function createReadingProducer(kafka: Kafka): Producer {
  // Produce requests written into one buffer (byte for byte kafkajs's): record encoding was most
  // of the producer's CPU.
  useOneBufferProduceEncoding();
  return kafka.producer({
    // The Java client's murmur2 partitioner: a user's readings land in the partition any other
    // producer (or Flink) would pick for the same key. Computed once per key (./partitioner.ts).
    createPartitioner: KeyHashPartitioner,
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    // Bounded, so that an outage surfaces as an error within the ack timeout rather than never.
    retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 1000 },
  });
}

/** The worker's producer of dead letters: keys kept as received, so a user's refusals stay in order. */
export function createDlqProducer(kafka: Kafka): Producer {
  return kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
}
