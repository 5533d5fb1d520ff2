/**
 * The `pipelineStatus` types. Kafka offsets and lags are 64-bit integers; they are exposed as
 * Float, exact up to 2^53, since GraphQL's Int stops at 2^31.
 */
import { Field, Float, Int, ObjectType } from 'type-graphql';
import { ServiceHealth } from './health.type.js';

@ObjectType({ description: 'One partition of a topic.' })
export class TopicPartitionStatus {
  @Field(() => Int)
  partition!: number;

  @Field(() => Float, { description: 'Oldest retained offset.' })
  startOffset!: number;

  @Field(() => Float, { description: 'Offset the next message will get (high watermark).' })
  endOffset!: number;
}

@ObjectType({ description: 'One Kafka topic of the pipeline.' })
export class TopicStatus {
  @Field(() => String)
  name!: string;

  @Field(() => Boolean, { description: 'The brokers answered for this topic.' })
  ok!: boolean;

  @Field(() => [TopicPartitionStatus])
  partitions!: TopicPartitionStatus[];

  @Field(() => Float, { description: 'Messages retained: sum over partitions of end minus start offset.' })
  retained!: number;

  @Field(() => String, { nullable: true })
  detail!: string | null;
}

@ObjectType({ description: 'How far a consumer group is behind on one partition.' })
export class PartitionLag {
  @Field(() => Int)
  partition!: number;

  @Field(() => Float)
  endOffset!: number;

  @Field(() => Float, {
    nullable: true,
    description:
      'Null when the group never committed this partition (lag then counts from the oldest retained message).',
  })
  committedOffset!: number | null;

  @Field(() => Float, { description: 'endOffset minus committedOffset: messages not yet processed.' })
  lag!: number;
}

@ObjectType({ description: 'A consumer group reading a pipeline topic.' })
export class ConsumerGroupStatus {
  @Field(() => String)
  groupId!: string;

  @Field(() => String)
  topic!: string;

  @Field(() => String, { description: "What reads with this group: 'timescale-writer' or 'flink-job'." })
  role!: string;

  @Field(() => Boolean, { description: 'The brokers answered for this group.' })
  ok!: boolean;

  @Field(() => String, {
    description:
      "The broker's view: Stable, Empty, PreparingRebalance, CompletingRebalance, Dead, or Unknown. Flink assigns partitions itself, so its group shows Empty while the job runs.",
  })
  state!: string;

  @Field(() => Int)
  members!: number;

  @Field(() => Float)
  totalLag!: number;

  @Field(() => [PartitionLag])
  partitions!: PartitionLag[];

  @Field(() => String, { nullable: true })
  detail!: string | null;
}

@ObjectType({ description: 'The last completed checkpoint of the Flink job.' })
export class FlinkCheckpoint {
  @Field(() => Float)
  id!: number;

  @Field(() => String)
  status!: string;

  @Field(() => Date, { nullable: true })
  completedAt!: Date | null;

  @Field(() => Float, { nullable: true })
  durationMs!: number | null;

  @Field(() => Float, { nullable: true })
  sizeBytes!: number | null;
}

@ObjectType({ description: 'The Flink processing job, from the JobManager REST API.' })
export class FlinkJobStatus {
  @Field(() => String)
  name!: string;

  @Field(() => Boolean, { description: 'The JobManager answered.' })
  reachable!: boolean;

  @Field(() => Boolean)
  running!: boolean;

  @Field(() => String, {
    nullable: true,
    description: 'RUNNING, RESTARTING, FAILING...; null when no job of this name is alive.',
  })
  state!: string | null;

  @Field(() => String, { nullable: true })
  jobId!: string | null;

  @Field(() => Int, { nullable: true })
  checkpointsCompleted!: number | null;

  @Field(() => Int, { nullable: true })
  checkpointsFailed!: number | null;

  @Field(() => FlinkCheckpoint, { nullable: true })
  lastCheckpoint!: FlinkCheckpoint | null;

  @Field(() => Float)
  latencyMs!: number;

  @Field(() => String, { nullable: true })
  detail!: string | null;
}

@ObjectType({
  description:
    'The lakehouse tier: which range of readings the lake holds, how far it trails the hot store, and hours waiting to be rewritten.',
})
export class LakeStatus {
  @Field(() => Boolean, { description: 'False with LAKE_ENABLED=false: every aggregate reads the hot store.' })
  enabled!: boolean;

  @Field(() => Boolean)
  ok!: boolean;

  @Field(() => Date, { nullable: true, description: 'Oldest tiered hour (readings before it: hot store only).' })
  lakeFrom!: Date | null;

  @Field(() => Date, { nullable: true, description: 'Newest tiered time: every reading before it is in the lake.' })
  tieredUntil!: Date | null;

  @Field(() => Float, {
    nullable: true,
    description: 'Seconds between tieredUntil and now: the part of "now" answered by the hot store.',
  })
  lagSeconds!: number | null;

  @Field(() => Int, {
    description: 'Tiered hours changed since (late readings, erasures), answered by the hot store until rewritten.',
  })
  dirtyHours!: number;

  @Field(() => Date, { nullable: true, description: 'When the tierer last finished a cycle.' })
  lastCycleAt!: Date | null;

  @Field(() => String, { nullable: true })
  detail!: string | null;
}

@ObjectType({ description: 'The whole pipeline as seen from this gateway instance (admin).' })
export class PipelineStatus {
  @Field(() => Date)
  checkedAt!: Date;

  @Field(() => [TopicStatus])
  topics!: TopicStatus[];

  @Field(() => [ConsumerGroupStatus])
  consumerGroups!: ConsumerGroupStatus[];

  @Field(() => FlinkJobStatus)
  flink!: FlinkJobStatus;

  @Field(() => [ServiceHealth], {
    description: 'Kafka (the offset queries above), Postgres and Trino (a real SELECT 1 each), each with its latency.',
  })
  services!: ServiceHealth[];

  @Field(() => LakeStatus)
  lake!: LakeStatus;
}

@ObjectType({ description: 'A message the worker refused and sent to the dead-letter topic.' })
export class DeadLetter {
  @Field(() => Int)
  partition!: number;

  @Field(() => String)
  offset!: string;

  @Field(() => Date, { description: 'When the worker published it to the dead-letter topic.' })
  time!: Date;

  @Field(() => String, { description: 'The error-code header, e.g. INVALID_TIME.' })
  code!: string;

  @Field(() => String, { description: 'The error-message header: why it was refused.' })
  message!: string;

  @Field(() => String, { nullable: true, description: 'The request id of the mutation that produced it, if any.' })
  requestId!: string | null;

  @Field(() => String, { description: 'The refused message as received, cut to 500 characters.' })
  value!: string;
}
