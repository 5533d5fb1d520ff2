/** The Trino read path: what the rest of the gateway imports. */
export { createTrinoService } from './trino.service.js';
export type {
  CallOptions,
  CohortPoint,
  LeaderboardEntry,
  TrinoPing,
  TrinoService,
  TrinoServiceOptions,
  TrinoServicePhase,
  TrinoServiceStats,
} from './trino.service.js';
export { TrinoError, type TrinoErrorCode, isTrinoError } from './trino.errors.js';
export { trinoCheck } from './health.check.js';
