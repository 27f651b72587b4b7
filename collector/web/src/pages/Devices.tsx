import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { VirtualTable } from '../components/VirtualTable';
import { fmtInt } from '../format';
import { deviceColumns } from '../prefs';
import { navigate, replaceParams, route } from '../router';
import { load, reloadDevices, rows, version, type DeviceRow } from '../store/devices';
import { sources, useSourcesPolling } from '../store/sources';
import { status } from '../store/status';
import { computeView, emptyFilters, filterKeys, type Filters } from '../store/view';
import { columnById, deviceColumnDefs } from './columns';

const TYPES = ['Wi-Fi AP', 'Wi-Fi Client', 'Wi-Fi Bridged', 'Wi-Fi Ad-Hoc', 'Wi-Fi WDS', 'Wi-Fi Device'];
const CRYPTS = ['None', 'Open', 'WEP', 'WPA', 'WPA2', 'WPA3', 'OWE'];
const WITHIN: [string, string][] = [['60', '1 minute'], ['300', '5 minutes'], ['900', '15 minutes'], ['3600', '1 hour'], ['86400', '24 hours']];
/** While the list changes, re-filter and re-sort at most this often. */
const REFRESH_MS = 1000;

function filtersFrom(params: URLSearchParams): Filters {
  const f = { ...emptyFilters };
  for (const k of filterKeys) f[k] = params.get(k) ?? '';
  return f;
}

function csvCell(v: string | number): string {
  const s = String(v);
  return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}

export function Devices() {
  useEffect(() => useSourcesPolling(), []);
  const params = route.value.params;
  const [filters, setFilters] = useState<Filters>(() => filtersFrom(params));
  const [sortCol, setSortCol] = useState(params.get('sort') ?? 'last');
  const [sortDesc, setSortDesc] = useState((params.get('dir') ?? 'desc') === 'desc');
  const [view, setView] = useState<DeviceRow[]>([]);
  const [computeMs, setComputeMs] = useState(0);
  const scrolling = useRef(false);
  const pending = useRef(false);
  const lastCompute = useRef(0);
  const timer = useRef(0);
  const ver = version.value;
  // The timers below call recompute later: it reads the latest choices.
  const cur = useRef({ filters, sortCol, sortDesc });
  cur.current = { filters, sortCol, sortDesc };

  const recompute = () => {
    clearTimeout(timer.current);
    timer.current = 0;
    pending.current = false;
    const t0 = performance.now();
    const c = cur.current;
    const col = columnById.get(c.sortCol);
    const v = computeView(rows, c.filters, load.value.serverTime || Date.now() / 1000, col ? col.sortKey : null, c.sortDesc);
    lastCompute.current = performance.now();
    setComputeMs(lastCompute.current - t0);
    setView(v);
  };

  // Filters and sort: at once (text fields are debounced where typed).
  useEffect(() => {
    recompute();
    const p: Record<string, string> = { ...filters, sort: sortCol, dir: sortDesc ? 'desc' : 'asc' };
    replaceParams(p);
  }, [filters, sortCol, sortDesc]);

  // Data changes: at most once per REFRESH_MS, and not while scrolling.
  useEffect(() => {
    if (scrolling.current) {
      pending.current = true;
      return;
    }
    const since = performance.now() - lastCompute.current;
    if (since >= REFRESH_MS || view.length === 0) recompute();
    else if (!timer.current) timer.current = window.setTimeout(recompute, REFRESH_MS - since);
  }, [ver]);

  useEffect(() => () => clearTimeout(timer.current), []);

  const onScrolling = (s: boolean) => {
    scrolling.current = s;
    if (!s && pending.current) recompute();
  };

  const cols = useMemo(
    () => deviceColumns.value.map((id) => columnById.get(id)).filter((c): c is NonNullable<typeof c> => !!c),
    [deviceColumns.value],
  );

  const set = (k: keyof Filters, v: string) => setFilters((f) => (f[k] === v ? f : { ...f, [k]: v }));
  const textTimer = useRef(0);
  const setText = (k: keyof Filters, v: string) => {
    clearTimeout(textTimer.current);
    textTimer.current = window.setTimeout(() => set(k, v), 150);
  };
  const active = filterKeys.filter((k) => filters[k] !== '').length;

  const onSort = (id: string) => {
    if (id === sortCol) setSortDesc(!sortDesc);
    else {
      setSortCol(id);
      setSortDesc(['last', 'first', 'packets', 'bytes', 'signal', 'seenby', 'clients'].includes(id));
    }
  };

  const download = () => {
    const chosen = cols.some((c) => c.id === 'key') ? cols : [...cols, columnById.get('key')!];
    const lines = [chosen.map((c) => csvCell(c.label)).join(',')];
    for (const r of view) lines.push(chosen.map((c) => csvCell(c.csv(r))).join(','));
    const url = URL.createObjectURL(new Blob([lines.join('\n') + '\n'], { type: 'text/csv' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = 'hopwire-devices.csv';
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  };

  const L = load.value;
  const total = rows.length;
  const collectorCount = Number(status.value?.raw['kismet.system.devices.count'] ?? NaN);

  return (
    <section class="page devices" aria-labelledby="devices-h">
      <div class="page-head">
        <h1 id="devices-h">Devices</h1>
        <p class="count" role="status" aria-live="polite" id="device-count">
          {L.phase === 'loading'
            ? `Loading… ${fmtInt(L.loaded)}${L.expected ? ' of ' + fmtInt(L.expected) : ''} devices`
            : `${fmtInt(view.length)} of ${fmtInt(total)} devices`}
        </p>
        <p class="muted small" id="device-live">
          {L.phase === 'live' ? 'live' : L.phase === 'stale' ? 'connection trouble, retrying' : L.phase}
          {L.lastDelta ? ` · ${fmtInt(L.lastDelta)} changed in the last update` : ''}
          {computeMs ? ` · filtered and sorted in ${Math.round(computeMs)} ms` : ''}
          {Number.isFinite(collectorCount) && L.phase === 'live' && Math.abs(collectorCount - total) > Math.max(10, total * 0.01) ? (
            <>
              {' '}
              · the collector now tracks {fmtInt(collectorCount)}{' '}
              <button type="button" class="link" onClick={reloadDevices}>
                reload list
              </button>
            </>
          ) : null}
        </p>
      </div>

      <form class="filters" role="search" aria-label="Filter devices" onSubmit={(e) => e.preventDefault()}>
        <div class="field grow">
          <label for="f-q">Search</label>
          <input id="f-q" type="search" placeholder="MAC, name, SSID, manufacturer" defaultValue={filters.q} onInput={(e) => setText('q', e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="f-type">Type</label>
          <select id="f-type" value={filters.type} onChange={(e) => set('type', e.currentTarget.value)}>
            <option value="">any</option>
            {TYPES.map((t) => (
              <option value={t}>{t.replace(/^Wi-Fi /, '')}</option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="f-ssid">SSID</label>
          <input id="f-ssid" defaultValue={filters.ssid} onInput={(e) => setText('ssid', e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="f-manuf">Manufacturer</label>
          <input id="f-manuf" defaultValue={filters.manuf} onInput={(e) => setText('manuf', e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="f-crypt">Encryption</label>
          <select id="f-crypt" value={filters.crypt} onChange={(e) => set('crypt', e.currentTarget.value)}>
            <option value="">any</option>
            {CRYPTS.map((c) => (
              <option value={c}>{c}</option>
            ))}
          </select>
        </div>
        <div class="field narrow">
          <label for="f-signal">Signal ≥ (dBm)</label>
          <input id="f-signal" type="number" min={-120} max={0} step={1} defaultValue={filters.minSignal} onInput={(e) => setText('minSignal', e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="f-sensor">Seen by</label>
          <select id="f-sensor" value={filters.sensor} onChange={(e) => set('sensor', e.currentTarget.value)}>
            <option value="">any sensor</option>
            {sources.value.map((s) => (
              <option value={s.uuid}>{s.name || s.uuid}</option>
            ))}
            {filters.sensor && !sources.value.some((s) => s.uuid === filters.sensor) ? <option value={filters.sensor}>{filters.sensor}</option> : null}
          </select>
        </div>
        <div class="field">
          <label for="f-within">Last seen</label>
          <select id="f-within" value={filters.within} onChange={(e) => set('within', e.currentTarget.value)}>
            <option value="">any time</option>
            {WITHIN.map(([v, l]) => (
              <option value={v}>within {l}</option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="f-rnd">Randomised MAC</label>
          <select id="f-rnd" value={filters.randomized} onChange={(e) => set('randomized', e.currentTarget.value)}>
            <option value="">either</option>
            <option value="yes">only randomised</option>
            <option value="no">only global</option>
          </select>
        </div>
        <div class="field actions">
          <button
            type="reset"
            disabled={active === 0}
            onClick={() => {
              setFilters({ ...emptyFilters });
            }}
          >
            Clear{active ? ` (${active})` : ''}
          </button>
          <details class="menu">
            <summary>Columns</summary>
            <fieldset class="menu-body">
              <legend>Visible columns</legend>
              {deviceColumnDefs.map((c) => (
                <label class="check">
                  <input
                    type="checkbox"
                    checked={deviceColumns.value.includes(c.id)}
                    onChange={(e) => {
                      const on = e.currentTarget.checked;
                      const cur = deviceColumns.value.filter((id) => id !== c.id);
                      deviceColumns.value = on ? deviceColumnDefs.map((d) => d.id).filter((id) => id === c.id || cur.includes(id)) : cur;
                    }}
                  />{' '}
                  {c.label}
                </label>
              ))}
            </fieldset>
          </details>
          <button type="button" onClick={download} disabled={view.length === 0}>
            Download CSV
          </button>
        </div>
      </form>

      <VirtualTable
        id="device-table"
        label="Devices"
        rows={view}
        columns={cols}
        sortCol={sortCol}
        sortDesc={sortDesc}
        onSort={onSort}
        onOpen={(r) => navigate('device', r.key)}
        onScrolling={onScrolling}
        version={ver}
        empty={
          L.phase === 'loading' ? 'Loading devices…' : total === 0 ? 'No devices yet. Devices appear here as sensors hear them.' : 'No device matches these filters.'
        }
      />
    </section>
  );
}
