// A time-series chart on uPlot, loaded on first use (its ~20 KB stay out of
// the initial bundle). Data: x = Unix seconds, one array per series.
import { useEffect, useRef, useState } from 'preact/hooks';
import type uPlotType from 'uplot';

export interface Series {
  label: string;
  /** Values (null = gap), aligned with `x`. */
  values: (number | null)[];
}

interface Props {
  x: number[];
  series: Series[];
  /** Unit shown on the axis and in the label, e.g. "dBm" or "packets/s". */
  unit: string;
  height?: number;
  /** Text alternative for screen readers (what the chart shows). */
  label: string;
  yRange?: [number, number];
}

type UPlotCtor = typeof uPlotType;
let loading: Promise<UPlotCtor> | null = null;
function loadUPlot(): Promise<UPlotCtor> {
  if (!loading) {
    loading = Promise.all([import('uplot'), import('uplot/dist/uPlot.min.css')]).then(([m]) => m.default);
  }
  return loading;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];
export const seriesColor = (i: number) => PALETTE[i % PALETTE.length];

export function Chart(p: Props) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlotType | null>(null);
  const shape = useRef('');
  const [ctor, setCtor] = useState<UPlotCtor | null>(null);
  const [failed, setFailed] = useState('');

  useEffect(() => {
    let live = true;
    loadUPlot().then(
      (c) => live && setCtor(() => c),
      (e) => live && setFailed(String(e)),
    );
    return () => {
      live = false;
      plot.current?.destroy();
      plot.current = null;
    };
  }, []);

  useEffect(() => {
    const el = box.current;
    if (!ctor || !el) return;
    const data = [p.x, ...p.series.map((s) => s.values)] as uPlotType.AlignedData;
    const key = p.series.map((s) => s.label).join('\u0000') + '|' + p.unit;
    if (!plot.current || shape.current !== key) {
      plot.current?.destroy();
      shape.current = key;
      const dark = matchMedia('(prefers-color-scheme: dark)').matches;
      const axis = { stroke: dark ? '#c9d1d9' : '#333', grid: { stroke: dark ? '#30363d' : '#e5e5e5' } };
      plot.current = new ctor(
        {
          width: Math.max(200, el.clientWidth),
          height: p.height ?? 200,
          legend: { show: true },
          scales: { x: { time: true }, y: p.yRange ? { range: p.yRange } : { auto: true } },
          axes: [axis, { ...axis, label: p.unit, size: 60 }],
          series: [{}, ...p.series.map((s, i) => ({ label: s.label, stroke: seriesColor(i), width: 1.5, spanGaps: false }))],
        },
        data,
        el,
      );
    } else {
      plot.current.setData(data);
    }
  }, [ctor, p.x, p.series, p.unit]);

  useEffect(() => {
    const el = box.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(() => {
      if (plot.current) plot.current.setSize({ width: Math.max(200, el.clientWidth), height: p.height ?? 200 });
    });
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  return (
    <figure class="chart">
      <div ref={box} class="chart-box" role="img" aria-label={p.label} />
      {failed ? <p class="error">Chart could not load: {failed}</p> : null}
      {!p.x.length ? <figcaption class="muted">No samples yet: the chart fills as this page watches.</figcaption> : null}
    </figure>
  );
}
