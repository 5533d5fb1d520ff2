/** Display helpers shared by the pages. */
export const METRICS = [
  ['HEART_RATE', 'heart rate', 'bpm'],
  ['STEPS', 'steps', 'steps'],
  ['CALORIES', 'calories', 'kcal'],
  ['DISTANCE', 'distance', 'm'],
  ['SPO2', 'SpO2', '%'],
  ['HRV_RMSSD', 'HRV (RMSSD)', 'ms'],
  ['BREATHING_RATE', 'breathing rate', 'breaths/min'],
] as const;

export type MetricName = (typeof METRICS)[number][0];

export const unitOf = (metric: string): string => METRICS.find((m) => m[0] === metric)?.[2] ?? '';
export const labelOf = (metric: string): string => METRICS.find((m) => m[0] === metric)?.[1] ?? metric;

export function number(v: number | null | undefined, digits = 1): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  return v.toLocaleString(undefined, { maximumFractionDigits: digits });
}

export function time(iso: string | null | undefined): string {
  if (!iso) return '–';
  const d = new Date(iso);
  return d.toLocaleString(undefined, { hour12: false });
}

export const seconds = (iso: string): number => Date.parse(iso) / 1000;

/** The last `hours` hours up to now, aligned to the minute so repeated polls share cache keys. */
export function lastHours(hours: number): { from: string; to: string } {
  const to = Math.ceil(Date.now() / 60_000) * 60_000;
  return { from: new Date(to - hours * 3_600_000).toISOString(), to: new Date(to).toISOString() };
}
