// /datasource/all_sources.json, polled; packets/s from successive answers.
import { signal } from '@preact/signals';
import { getJson } from '../api';

export type Source = Record<string, unknown>;

export interface SourceView {
  uuid: string;
  name: string;
  raw: Source;
  /** Packets per second over the last poll interval. */
  pps: number;
  /** [unix s, packets/s] samples this page has seen (last 10 minutes). */
  history: [number, number][];
}

export const sources = signal<SourceView[]>([]);
export const sourcesError = signal('');
const HISTORY_SEC = 600;
let timer = 0;
let users = 0;
const last = new Map<string, { t: number; packets: number }>();
const hist = new Map<string, [number, number][]>();

export function sourceName(uuid: string): string {
  for (const s of sources.value) if (s.uuid === uuid) return s.name || uuid;
  return uuid;
}

export async function refreshSources() {
  try {
    const list = await getJson<Source[]>('datasource/all_sources.json');
    const now = Date.now() / 1000;
    const out: SourceView[] = [];
    for (const raw of list) {
      const uuid = String(raw['kismet.datasource.uuid'] ?? '');
      const packets = Number(raw['kismet.datasource.num_packets']) || 0;
      const prev = last.get(uuid);
      let pps = 0;
      if (prev && now > prev.t) pps = Math.max(0, (packets - prev.packets) / (now - prev.t));
      last.set(uuid, { t: now, packets });
      let h = hist.get(uuid);
      if (!h) hist.set(uuid, (h = []));
      if (prev) h.push([now, pps]);
      while (h.length && h[0][0] < now - HISTORY_SEC) h.shift();
      out.push({ uuid, name: String(raw['kismet.datasource.name'] ?? ''), raw, pps, history: h });
    }
    out.sort((a, b) => a.name.localeCompare(b.name));
    sources.value = out;
    sourcesError.value = '';
  } catch (e) {
    sourcesError.value = String((e as Error).message ?? e);
  }
}

async function tick() {
  await refreshSources();
  if (users > 0) timer = window.setTimeout(tick, document.hidden ? 15000 : 2000);
}

/** Polls while at least one user (page) wants it; returns the release. */
export function useSourcesPolling(): () => void {
  users++;
  if (users === 1) void tick();
  return () => {
    users--;
    if (users === 0) clearTimeout(timer);
  };
}
