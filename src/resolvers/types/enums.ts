/**
 * GraphQL enums. The enum values' internal values are the wire names, so resolvers receive
 * `heart_rate` for HEART_RATE and never translate by hand.
 */
import { registerEnumType } from 'type-graphql';

export enum Metric {
  HEART_RATE = 'heart_rate',
  STEPS = 'steps',
  CALORIES = 'calories',
  DISTANCE = 'distance',
  FLOORS = 'floors',
  ELEVATION = 'elevation',
  ACTIVE_ZONE_MINUTES = 'active_zone_minutes',
  SPO2 = 'spo2',
  HRV_RMSSD = 'hrv_rmssd',
  BREATHING_RATE = 'breathing_rate',
  SKIN_TEMPERATURE_DELTA = 'skin_temperature_delta',
}
registerEnumType(Metric, { name: 'Metric', description: 'A metric of the catalogue (lower snake case on Kafka).' });

export enum Bucket {
  SECOND = 'SECOND',
  MINUTE = 'MINUTE',
  FIVE_MINUTES = 'FIVE_MINUTES',
  FIFTEEN_MINUTES = 'FIFTEEN_MINUTES',
  HOUR = 'HOUR',
  DAY = 'DAY',
}
registerEnumType(Bucket, {
  name: 'Bucket',
  description:
    "Bucket width, labelled by its start. HOUR and DAY are local hours and days of the query's timeZone (a DST day has 23 or 25 hours); narrower buckets are aligned to the Unix epoch.",
});

export enum Fill {
  NONE = 'NONE',
  PREVIOUS = 'PREVIOUS',
  LINEAR = 'LINEAR',
}
registerEnumType(Fill, {
  name: 'Fill',
  description: 'How a series fills buckets without readings (docs/api.md).',
  valuesConfig: {
    NONE: { description: 'Buckets without readings are left out.' },
    PREVIOUS: { description: 'Every bucket is present; an empty one carries the values of the bucket before it.' },
    LINEAR: {
      description:
        'Every bucket is present; an empty one is interpolated linearly in time between its neighbours (after the last bucket with readings, the last values are carried forward).',
    },
  },
});
