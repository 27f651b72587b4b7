// Per-browser settings, kept in localStorage (nothing here is a secret).
import { effect, signal, type Signal } from '@preact/signals';

function stored<T>(key: string, initial: T): Signal<T> {
  let value = initial;
  try {
    const raw = localStorage.getItem('hopwire.' + key);
    if (raw !== null) value = { ...{ v: initial }, ...JSON.parse(raw) }.v as T;
  } catch {
    /* private mode or bad JSON: defaults */
  }
  const s = signal<T>(value);
  effect(() => {
    try {
      localStorage.setItem('hopwire.' + key, JSON.stringify({ v: s.value }));
    } catch {
      /* quota: keep it in memory */
    }
  });
  return s;
}

/** Visible device-table columns, in order. */
export const deviceColumns = stored<string[]>('devices.columns', [
  'name', 'mac', 'type', 'ssid', 'manuf', 'crypt', 'channel', 'signal', 'packets', 'seenby', 'last',
]);
/** How often the device list asks for changes (ms). */
export const pollMs = stored<number>('poll.ms', 1000);
/** Event bus: 'auto' tries /eventbus/events.ws and falls back to polling. */
export const eventBusMode = stored<'auto' | 'off'>('eventbus.mode', 'auto');
/** Desktop notifications for new alerts (the browser asks for permission). */
export const notifyAlerts = stored<boolean>('alerts.notify', false);
/** Acknowledged alerts (by hash). Kismet's API has no acknowledge command. */
export const ackedAlerts = stored<string[]>('alerts.acked', []);
/** Map: a tile URL template ({z}/{x}/{y}); empty = a plain scaled plane. */
export const tileUrl = stored<string>('map.tiles', '');
/** Map: the floor plan's corners (lat/lon), when one is uploaded. */
export const floorPlanBounds = stored<{ north: number; west: number; south: number; east: number } | null>(
  'map.floorplan.bounds',
  null,
);
