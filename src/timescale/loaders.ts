/**
 * Per-request DataLoaders behind the User fields. One loader per distinct field arguments, so
 * `users(ids: [...]) { latest(metric: HEART_RATE) }` is one statement for every user of the
 * request, and asking for two metrics is two. Built fresh for each request: nothing is cached
 * across requests, so a reading stored a moment ago shows on the next request.
 */
import DataLoader from 'dataloader';
import type { WireMetric } from '../domain/metrics.js';
import type { ReadingsService, StoredReading } from './readings.service.js';
import type { SeriesArgs, SeriesColumns, SeriesPoint, SeriesService } from './series.service.js';
import { columnsOfPoints } from './series.columns.js';

export interface Loaders {
  latest(metric: WireMetric): DataLoader<string, StoredReading | null>;
  series(args: SeriesArgs): DataLoader<string, SeriesPoint[]>;
  /** The same series as columns, loaded through `series(args)`: asking for both is one statement. */
  seriesColumns(args: SeriesArgs): DataLoader<string, SeriesColumns>;
}

export function createLoaders(services: { series: SeriesService; readings: ReadingsService }): Loaders {
  const latest = new Map<string, DataLoader<string, StoredReading | null>>();
  const series = new Map<string, DataLoader<string, SeriesPoint[]>>();
  const columns = new Map<string, DataLoader<string, SeriesColumns>>();
  const seriesKey = (args: SeriesArgs): string =>
    [
      args.metric,
      args.from.getTime(),
      args.to.getTime(),
      args.bucket,
      args.timeZone ?? 'UTC',
      args.fill ?? 'NONE',
      args.maxPoints ?? '',
    ].join('|');
  const loaders: Loaders = {
    latest(metric) {
      let loader = latest.get(metric);
      if (!loader) {
        loader = new DataLoader(async (ids) => {
          const byUser = await services.readings.latestForUsers(ids, metric);
          return ids.map((id) => byUser.get(id) ?? null);
        });
        latest.set(metric, loader);
      }
      return loader;
    },
    series(args) {
      const key = seriesKey(args);
      let loader = series.get(key);
      if (!loader) {
        loader = new DataLoader(async (ids) => {
          const byUser = await services.series.seriesForUsers(ids, args);
          return ids.map((id) => byUser.get(id) ?? []);
        });
        series.set(key, loader);
      }
      return loader;
    },
    seriesColumns(args) {
      const key = seriesKey(args);
      let loader = columns.get(key);
      if (!loader) {
        const points = loaders.series(args);
        loader = new DataLoader(async (ids) => {
          const byUser = await points.loadMany(ids);
          return byUser.map((p) => (p instanceof Error ? p : columnsOfPoints(p)));
        });
        columns.set(key, loader);
      }
      return loader;
    },
  };
  return loaders;
}
