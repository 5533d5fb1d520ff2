/**
 * A time chart: uPlot (small, fast, canvas) inside a React component. Times are epoch seconds and
 * drawn in the browser's local time zone.
 */
import { createElement as h, useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Line {
  label: string;
  color: string;
  values: (number | null)[];
  /** Dashed, thin: a bound rather than the value itself. */
  dashed?: boolean;
}

export interface ChartProps {
  title: string;
  unit?: string | undefined;
  times: number[];
  lines: Line[];
  /** Fills between two lines (indexes into `lines`), e.g. p50..p95 or min..max. */
  band?: [number, number] | undefined;
  height?: number;
}

export function Chart(props: ChartProps) {
  const el = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  const shape = `${props.lines.map((l) => l.label).join('|')}|${props.band?.join('-') ?? ''}`;

  useEffect(() => {
    const target = el.current;
    if (!target) return;
    const width = Math.max(300, target.clientWidth);
    const opts: uPlot.Options = {
      width,
      height: props.height ?? 220,
      scales: { x: { time: true } },
      series: [
        {},
        ...props.lines.map((l) => ({
          label: l.label,
          stroke: l.color,
          width: l.dashed ? 1 : 2,
          ...(l.dashed ? { dash: [4, 4] } : {}),
          spanGaps: false,
        })),
      ],
      axes: [{}, { label: props.unit ?? '', size: 60 }],
      ...(props.band
        ? { bands: [{ series: [props.band[1] + 1, props.band[0] + 1], fill: 'rgba(64,128,255,0.15)' }] }
        : {}),
    };
    plot.current = new uPlot(opts, [[], ...props.lines.map(() => [])], target);
    const resize = () =>
      plot.current?.setSize({ width: Math.max(300, target.clientWidth), height: props.height ?? 220 });
    window.addEventListener('resize', resize);
    return () => {
      window.removeEventListener('resize', resize);
      plot.current?.destroy();
      plot.current = undefined;
    };
    // Rebuilt only when the set of lines changes; data updates go through setData below.
  }, [shape]);

  useEffect(() => {
    plot.current?.setData([props.times, ...props.lines.map((l) => l.values)] as uPlot.AlignedData);
  }, [props.times, props.lines]);

  return h(
    'figure',
    { className: 'chart', 'data-points': props.times.length },
    h('figcaption', null, props.title, props.times.length === 0 ? ' (no data in this range)' : ''),
    h('div', { ref: el }),
  );
}
