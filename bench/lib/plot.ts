/**
 * bench/results/growth.svg: one panel per growth series, drawn from the figures in
 * bench/results/*.json that carry `series` and `x` (see Figure in report.ts). Plain SVG written by
 * hand, so no plotting dependency; the x axis is logarithmic when the points span 20x or more.
 *
 *   npx tsx bench/lib/plot.ts        (the cohort, flink and scale benchmarks also call it)
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Figure } from './report.js';

const resultsDir = join(import.meta.dirname, '..', 'results');

interface Point {
  x: number;
  y: number;
  label: string;
}
interface Series {
  name: string;
  xUnit: string;
  yUnit: string;
  bench: string;
  points: Point[];
}

function collect(): Series[] {
  if (!existsSync(resultsDir)) return [];
  const bySeries = new Map<string, Series>();
  for (const file of readdirSync(resultsDir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(join(resultsDir, file), 'utf8'));
    } catch {
      continue;
    }
    const figures = (Array.isArray(raw) ? raw : ((raw as { figures?: unknown }).figures ?? [])) as Figure[];
    if (!Array.isArray(figures)) continue;
    for (const f of figures) {
      if (
        typeof f.series !== 'string' ||
        typeof f.x !== 'number' ||
        typeof f.figure !== 'number' ||
        !Number.isFinite(f.figure)
      )
        continue;
      const s = bySeries.get(f.series) ?? {
        name: f.series,
        xUnit: f.xUnit ?? '',
        yUnit: f.unit,
        bench: file.replace(/\.json$/, ''),
        points: [],
      };
      s.points.push({ x: f.x, y: f.figure, label: f.name });
      bySeries.set(f.series, s);
    }
  }
  for (const s of bySeries.values()) s.points.sort((a, b) => a.x - b.x);
  return [...bySeries.values()].filter((s) => s.points.length > 0);
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (n: number): string =>
  n >= 1_000_000
    ? `${+(n / 1_000_000).toFixed(1)}M`
    : n >= 10_000
      ? `${+(n / 1000).toFixed(0)}k`
      : n >= 1000
        ? `${+(n / 1000).toFixed(1)}k`
        : String(+n.toFixed(n < 10 ? 2 : 0));

/** About five round ticks from 0 to at least max. */
function linearTicks(max: number): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  for (let t = 0; t <= max + step * 0.999; t += step) ticks.push(+t.toFixed(10));
  return ticks;
}

function panel(s: Series, ox: number, oy: number, w: number, h: number): string {
  const m = { l: 58, r: 16, t: 34, b: 44 };
  const pw = w - m.l - m.r;
  const ph = h - m.t - m.b;
  const xs = s.points.map((p) => p.x);
  const xmin = Math.min(...xs);
  const xmax = Math.max(...xs);
  const logX = xmin > 0 && xmax / xmin >= 20;
  const xt = (x: number): number => {
    if (xmax === xmin) return pw / 2;
    return logX
      ? ((Math.log10(x) - Math.log10(xmin)) / (Math.log10(xmax) - Math.log10(xmin))) * pw
      : ((x - xmin) / (xmax - xmin)) * pw;
  };
  const yTicks = linearTicks(Math.max(...s.points.map((p) => p.y)));
  const ymax = yTicks.at(-1)!;
  const yt = (y: number): number => ph - (y / ymax) * ph;
  const out: string[] = [];
  out.push(`<g transform="translate(${ox},${oy})">`);
  out.push(`<rect x="0.5" y="0.5" width="${w - 1}" height="${h - 1}" fill="#fff" stroke="#ddd"/>`);
  out.push(`<text x="${w / 2}" y="20" text-anchor="middle" font-size="13" font-weight="bold">${esc(s.name)}</text>`);
  out.push(`<g transform="translate(${m.l},${m.t})">`);
  for (const t of yTicks) {
    out.push(`<line x1="0" x2="${pw}" y1="${yt(t)}" y2="${yt(t)}" stroke="#eee"/>`);
    out.push(`<text x="-6" y="${yt(t) + 4}" text-anchor="end" font-size="10">${fmt(t)}</text>`);
  }
  for (const p of s.points) {
    out.push(`<line x1="${xt(p.x)}" x2="${xt(p.x)}" y1="${ph}" y2="${ph + 4}" stroke="#888"/>`);
    out.push(`<text x="${xt(p.x)}" y="${ph + 16}" text-anchor="middle" font-size="10">${fmt(p.x)}</text>`);
  }
  out.push(
    `<line x1="0" x2="${pw}" y1="${ph}" y2="${ph}" stroke="#888"/><line x1="0" x2="0" y1="0" y2="${ph}" stroke="#888"/>`,
  );
  out.push(
    `<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="${s.points.map((p) => `${xt(p.x).toFixed(1)},${yt(p.y).toFixed(1)}`).join(' ')}"/>`,
  );
  for (const p of s.points) {
    out.push(
      `<circle cx="${xt(p.x).toFixed(1)}" cy="${yt(p.y).toFixed(1)}" r="3.5" fill="#1f77b4"><title>${esc(`${p.label}: ${p.y} ${s.yUnit}`)}</title></circle>`,
    );
    out.push(
      `<text x="${xt(p.x).toFixed(1)}" y="${(yt(p.y) - 7).toFixed(1)}" text-anchor="middle" font-size="9" fill="#1f77b4">${fmt(p.y)}</text>`,
    );
  }
  out.push(
    `<text x="${pw / 2}" y="${ph + 34}" text-anchor="middle" font-size="11">${esc(s.xUnit)}${logX ? ' (log scale)' : ''}</text>`,
  );
  out.push(
    `<text transform="translate(-44,${ph / 2}) rotate(-90)" text-anchor="middle" font-size="11">${esc(s.yUnit)}</text>`,
  );
  out.push('</g></g>');
  return out.join('\n');
}

/** Writes bench/results/growth.svg; returns its path, or undefined when no figure has a series. */
export function renderGrowthSvg(): string | undefined {
  const series = collect();
  if (series.length === 0) return undefined;
  const cols = Math.min(2, series.length);
  const rows = Math.ceil(series.length / cols);
  const w = 440;
  const h = 280;
  const header = 30;
  const width = cols * w + 10;
  const height = rows * h + header + 10;
  const body = series.map((s, i) => panel(s, 5 + (i % cols) * w, header + Math.floor(i / cols) * h, w - 10, h - 10));
  const svg = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="#fafafa"/>`,
    `<text x="10" y="20" font-size="14">Growth curves from bench/results/*.json (generated; ${new Date().toISOString().slice(0, 10)})</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
  const file = join(resultsDir, 'growth.svg');
  writeFileSync(file, svg);
  return file;
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  const file = renderGrowthSvg();
  console.log(file ? `wrote ${file}` : 'no growth figures (series/x) in bench/results/*.json');
}
