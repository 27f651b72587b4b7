// A tiny line of recent values on a canvas (one per sensor row).
import { useEffect, useRef } from 'preact/hooks';

export function Sparkline({ values, label, width = 100, height = 22 }: { values: number[]; label: string; width?: number; height?: number }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const c = ref.current;
    if (!c) return;
    const dpr = window.devicePixelRatio || 1;
    c.width = width * dpr;
    c.height = height * dpr;
    const g = c.getContext('2d');
    if (!g) return;
    g.scale(dpr, dpr);
    g.clearRect(0, 0, width, height);
    if (values.length < 2) return;
    const max = Math.max(1, ...values);
    g.strokeStyle = getComputedStyle(c).color || '#1f6feb';
    g.lineWidth = 1.2;
    g.beginPath();
    values.forEach((v, i) => {
      const x = (i / (values.length - 1)) * (width - 2) + 1;
      const y = height - 1 - (v / max) * (height - 2);
      if (i) g.lineTo(x, y);
      else g.moveTo(x, y);
    });
    g.stroke();
  }, [values, width, height]);
  return <canvas ref={ref} class="spark" width={width} height={height} role="img" aria-label={label} />;
}
