// Number, time and size formatting, one place.
const nf = new Intl.NumberFormat('en-US');

export const fmtInt = (n: number) => (Number.isFinite(n) ? nf.format(Math.round(n)) : '–');

export function fmtBytes(n: number): string {
  if (!Number.isFinite(n) || n <= 0) return '0 B';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n < 10 && i ? n.toFixed(1) : Math.round(n)} ${u[i]}`;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** Unix seconds as local "YYYY-MM-DD HH:MM:SS". */
export function fmtTime(sec: number): string {
  if (!sec) return '–';
  const d = new Date(sec * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** How long ago, relative to `now` (both Unix seconds). */
export function fmtAgo(sec: number, now: number): string {
  if (!sec) return '–';
  const d = Math.max(0, now - sec);
  if (d < 60) return `${Math.round(d)} s ago`;
  if (d < 3600) return `${Math.floor(d / 60)} min ago`;
  if (d < 86400) return `${Math.floor(d / 3600)} h ago`;
  if (d < 86400 * 60) return `${Math.floor(d / 86400)} d ago`;
  return fmtTime(sec).slice(0, 10);
}

export const fmtSignal = (dbm: number) => (dbm ? `${dbm} dBm` : '–');

export function fmtRate(perSec: number): string {
  if (!Number.isFinite(perSec)) return '–';
  if (perSec >= 10000) return `${(perSec / 1000).toFixed(1)} k/s`;
  if (perSec >= 100) return `${Math.round(perSec)}/s`;
  return `${perSec.toFixed(1)}/s`;
}

export function fmtFreq(khz: number): string {
  return khz ? `${(khz / 1000).toFixed(0)} MHz` : '–';
}
