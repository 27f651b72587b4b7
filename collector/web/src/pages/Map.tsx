// Sensors and located devices on a plane: Web Mercator coordinates (which,
// over a building or a city, is a plain scaled plane), optionally over a
// floor-plan image the operator uploads (kept in this browser) or over
// tiles from a URL template the operator sets. Nothing is fetched from
// anywhere by default.
import type { JSX } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { fmtInt } from '../format';
import { floorPlanBounds, tileUrl } from '../prefs';
import { href, navigate } from '../router';
import { rows, version } from '../store/devices';
import { sources, useSourcesPolling } from '../store/sources';
import { sourcePosition } from './Sensors';

const MAX_DEVICES = 5000;
const TILE = 256;

/** lon/lat to world units (0..256 at zoom 0). */
export function project(lat: number, lon: number): [number, number] {
  const s = Math.sin((Math.max(-85, Math.min(85, lat)) * Math.PI) / 180);
  return [((lon + 180) / 360) * TILE, (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * TILE];
}

/** Metres per world unit at a latitude. */
const metresPerUnit = (lat: number) => (40075016.686 * Math.cos((lat * Math.PI) / 180)) / TILE;

// The floor plan image lives in IndexedDB (it may be larger than localStorage allows).
function idb(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const r = indexedDB.open('hopwire', 1);
    r.onupgradeneeded = () => r.result.createObjectStore('files');
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}
async function loadPlan(): Promise<Blob | null> {
  const db = await idb();
  return new Promise((resolve) => {
    const q = db.transaction('files').objectStore('files').get('floorplan');
    q.onsuccess = () => resolve((q.result as Blob) ?? null);
    q.onerror = () => resolve(null);
  });
}
async function savePlan(b: Blob | null) {
  const db = await idb();
  await new Promise<void>((resolve, reject) => {
    const t = db.transaction('files', 'readwrite');
    if (b) t.objectStore('files').put(b, 'floorplan');
    else t.objectStore('files').delete('floorplan');
    t.oncomplete = () => resolve();
    t.onerror = () => reject(t.error);
  });
}

interface View {
  x: number;
  y: number;
  w: number;
  h: number;
}

export function MapPage() {
  useEffect(() => useSourcesPolling(), []);
  const ver = version.value;
  const [planUrl, setPlanUrl] = useState('');
  const [view, setView] = useState<View | null>(null);
  const [size, setSize] = useState({ w: 800, h: 520 });
  const box = useRef<HTMLDivElement>(null);
  const drag = useRef<{ x: number; y: number; v: View } | null>(null);

  useEffect(() => {
    let url = '';
    loadPlan()
      .then((b) => {
        if (b) setPlanUrl((url = URL.createObjectURL(b)));
      })
      .catch(() => {});
    return () => url && URL.revokeObjectURL(url);
  }, []);

  useEffect(() => {
    const el = box.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(() => setSize({ w: el.clientWidth, h: Math.max(320, Math.round(el.clientWidth * 0.6)) }));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const sensors = sources.value
    .map((s) => ({ s, pos: sourcePosition(s.raw) }))
    .filter((x): x is { s: (typeof x)['s']; pos: { lat: number; lon: number } } => !!x.pos);
  const located = useMemo(() => rows.filter((r) => r.lat !== null && r.lon !== null), [ver]);
  const bounds = floorPlanBounds.value;

  // The extent of everything there is to show.
  const extent = useMemo(() => {
    const pts: [number, number][] = [];
    for (const x of sensors) pts.push(project(x.pos.lat, x.pos.lon));
    for (const r of located.slice(0, MAX_DEVICES)) pts.push(project(r.lat!, r.lon!));
    if (bounds) {
      pts.push(project(bounds.north, bounds.west));
      pts.push(project(bounds.south, bounds.east));
    }
    if (!pts.length) return null;
    let [x0, y0] = pts[0];
    let [x1, y1] = pts[0];
    for (const [x, y] of pts) {
      x0 = Math.min(x0, x); x1 = Math.max(x1, x);
      y0 = Math.min(y0, y); y1 = Math.max(y1, y);
    }
    const pad = Math.max(x1 - x0, y1 - y0, 0.0004) * 0.15;
    return { x: x0 - pad, y: y0 - pad, w: x1 - x0 + 2 * pad, h: y1 - y0 + 2 * pad };
  }, [sensors.length, located, bounds]);

  // Fit the extent to the box's aspect ratio.
  const fit = (e: View): View => {
    const aspect = size.w / size.h;
    let { x, y, w, h } = e;
    if (w / h > aspect) {
      const nh = w / aspect;
      y -= (nh - h) / 2;
      h = nh;
    } else {
      const nw = h * aspect;
      x -= (nw - w) / 2;
      w = nw;
    }
    return { x, y, w, h };
  };
  const v = view ?? (extent ? fit(extent) : null);

  const zoom = (f: number, cx?: number, cy?: number) => {
    if (!v) return;
    const px = cx ?? v.x + v.w / 2;
    const py = cy ?? v.y + v.h / 2;
    setView({ x: px - (px - v.x) * f, y: py - (py - v.y) * f, w: v.w * f, h: v.h * f });
  };
  const pan = (dx: number, dy: number) => v && setView({ ...v, x: v.x + dx * v.w, y: v.y + dy * v.h });

  const onKey = (e: JSX.TargetedKeyboardEvent<SVGSVGElement>) => {
    const k: Record<string, () => void> = {
      ArrowLeft: () => pan(-0.1, 0), ArrowRight: () => pan(0.1, 0), ArrowUp: () => pan(0, -0.1), ArrowDown: () => pan(0, 0.1),
      '+': () => zoom(0.8), '=': () => zoom(0.8), '-': () => zoom(1.25), '0': () => setView(null),
    };
    if (k[e.key]) {
      k[e.key]();
      e.preventDefault();
    }
  };

  const toWorld = (ev: MouseEvent): [number, number] | null => {
    const svg = ev.currentTarget as SVGSVGElement;
    const rect = svg.getBoundingClientRect();
    if (!v) return null;
    return [v.x + ((ev.clientX - rect.left) / rect.width) * v.w, v.y + ((ev.clientY - rect.top) / rect.height) * v.h];
  };

  // Tiles for the current view, when a template is set.
  const tiles = useMemo(() => {
    if (!tileUrl.value || !v) return [];
    const z = Math.max(0, Math.min(19, Math.round(Math.log2(size.w / v.w))));
    const span = TILE / 2 ** z;
    const out: { x: number; y: number; span: number; url: string }[] = [];
    const tx0 = Math.floor(v.x / span), tx1 = Math.floor((v.x + v.w) / span);
    const ty0 = Math.max(0, Math.floor(v.y / span)), ty1 = Math.min(2 ** z - 1, Math.floor((v.y + v.h) / span));
    for (let tx = tx0; tx <= tx1; tx++) {
      for (let ty = ty0; ty <= ty1; ty++) {
        if (out.length >= 64) break;
        const wx = ((tx % 2 ** z) + 2 ** z) % 2 ** z;
        out.push({ x: tx * span, y: ty * span, span, url: tileUrl.value.replace('{z}', String(z)).replace('{x}', String(wx)).replace('{y}', String(ty)) });
      }
    }
    return out;
  }, [tileUrl.value, v?.x, v?.y, v?.w, size.w]);

  // A scale bar of a round number of metres, about a fifth of the width.
  const scale = useMemo(() => {
    if (!v) return null;
    const centerLat = (() => {
      const y = v.y + v.h / 2;
      const n = Math.PI - (2 * Math.PI * y) / TILE;
      return (180 / Math.PI) * Math.atan(0.5 * (Math.exp(n) - Math.exp(-n)));
    })();
    const mPerUnit = metresPerUnit(centerLat);
    const target = (v.w / 5) * mPerUnit;
    const p = 10 ** Math.floor(Math.log10(target));
    const m = [1, 2, 5, 10].map((k) => k * p).filter((x) => x <= target).pop() ?? p;
    return { metres: m, units: m / mPerUnit };
  }, [v?.w, v?.y, v?.h]);

  const r = v ? v.w / 180 : 1; // marker size in world units (constant on screen)
  const planBox = bounds ? (() => {
    const [x0, y0] = project(bounds.north, bounds.west);
    const [x1, y1] = project(bounds.south, bounds.east);
    return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
  })() : null;

  return (
    <section class="page" aria-labelledby="map-h">
      <div class="page-head">
        <h1 id="map-h">Map</h1>
        <p class="count" role="status">
          {sensors.length} of {sources.value.length} sensors and {fmtInt(located.length)} devices have a position
        </p>
      </div>
      <div class="map-tools">
        <button type="button" onClick={() => zoom(0.8)} disabled={!v}>Zoom in</button>
        <button type="button" onClick={() => zoom(1.25)} disabled={!v}>Zoom out</button>
        <button type="button" onClick={() => setView(null)} disabled={!v}>Fit all</button>
        <span class="hint">Drag to pan, wheel to zoom; on the map: arrow keys, + and −, 0 to fit.</span>
      </div>
      <div class="map-box" ref={box}>
        {v ? (
          <svg
            class="map"
            viewBox={`${v.x} ${v.y} ${v.w} ${v.h}`}
            width={size.w}
            height={size.h}
            tabIndex={0}
            role="img"
            aria-label={`Map of ${sensors.length} sensors and ${located.length} devices`}
            onKeyDown={onKey}
            onWheel={(e) => {
              e.preventDefault();
              const p = toWorld(e);
              if (p) zoom(e.deltaY > 0 ? 1.2 : 1 / 1.2, p[0], p[1]);
            }}
            onMouseDown={(e) => {
              drag.current = { x: e.clientX, y: e.clientY, v };
            }}
            onMouseMove={(e) => {
              const d = drag.current;
              if (!d) return;
              const rect = (e.currentTarget as SVGSVGElement).getBoundingClientRect();
              setView({ ...d.v, x: d.v.x - ((e.clientX - d.x) / rect.width) * d.v.w, y: d.v.y - ((e.clientY - d.y) / rect.height) * d.v.h });
            }}
            onMouseUp={() => (drag.current = null)}
            onMouseLeave={() => (drag.current = null)}
          >
            <rect class="map-bg" x={v.x} y={v.y} width={v.w} height={v.h} />
            {tiles.map((t) => (
              <image href={t.url} x={t.x} y={t.y} width={t.span} height={t.span} preserveAspectRatio="none" />
            ))}
            {planUrl && planBox ? (
              <image class="plan" href={planUrl} x={planBox.x} y={planBox.y} width={planBox.w} height={planBox.h} preserveAspectRatio="none" />
            ) : null}
            {located.slice(0, MAX_DEVICES).map((d) => {
              const [x, y] = project(d.lat!, d.lon!);
              return (
                <circle class={`dev ${d.type === 'Wi-Fi AP' ? 'ap' : 'cl'}`} cx={x} cy={y} r={r * 0.5} onClick={() => navigate('device', d.key)}>
                  <title>{`${d.name || d.mac} (${d.type})`}</title>
                </circle>
              );
            })}
            {sensors.map(({ s, pos }) => {
              const [x, y] = project(pos.lat, pos.lon);
              return (
                <g class="sensor" onClick={() => navigate('sensors', s.uuid)}>
                  <path d={`M ${x} ${y - r * 1.6} L ${x + r * 1.3} ${y + r} L ${x - r * 1.3} ${y + r} Z`} />
                  <text x={x + r * 1.8} y={y + r * 0.5} font-size={r * 2.2}>{s.name}</text>
                  <title>{s.name}</title>
                </g>
              );
            })}
            {scale ? (
              <g class="scale">
                <line x1={v.x + v.w * 0.04} y1={v.y + v.h * 0.95} x2={v.x + v.w * 0.04 + scale.units} y2={v.y + v.h * 0.95} stroke-width={r * 0.4} />
                <text x={v.x + v.w * 0.04} y={v.y + v.h * 0.95 - r} font-size={r * 2}>
                  {scale.metres >= 1000 ? `${scale.metres / 1000} km` : `${scale.metres} m`}
                </text>
              </g>
            ) : null}
          </svg>
        ) : (
          <p class="note" id="map-empty">
            Nothing has a position yet. Sensors get one from <code>location:</code> in the fleet file, <code>--fixed-gps</code> or a
            virtual GPS (<code>metagps=</code>); devices from the GPS of the packets they are heard in.
          </p>
        )}
      </div>
      {located.length > MAX_DEVICES ? <p class="muted">Showing {fmtInt(MAX_DEVICES)} of {fmtInt(located.length)} located devices.</p> : null}

      {sensors.length ? (
        <section class="card" aria-labelledby="mpos-h">
          <h2 id="mpos-h">Sensor positions</h2>
          <table class="grid">
            <thead>
              <tr><th scope="col">Sensor</th><th scope="col">Latitude</th><th scope="col">Longitude</th></tr>
            </thead>
            <tbody>
              {sensors.map(({ s, pos }) => (
                <tr>
                  <th scope="row"><a href={href('sensors', s.uuid)}>{s.name}</a></th>
                  <td class="num">{pos.lat.toFixed(6)}</td>
                  <td class="num">{pos.lon.toFixed(6)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ) : null}

      <section class="card" aria-labelledby="mset-h">
        <h2 id="mset-h">Background</h2>
        <form class="inline" onSubmit={(e) => e.preventDefault()}>
          <label for="plan-file">Floor plan image</label>
          <input
            id="plan-file"
            type="file"
            accept="image/png,image/jpeg,image/svg+xml,image/webp"
            onChange={async (e) => {
              const f = e.currentTarget.files?.[0];
              if (!f) return;
              await savePlan(f);
              if (planUrl) URL.revokeObjectURL(planUrl);
              setPlanUrl(URL.createObjectURL(f));
              if (!floorPlanBounds.value && extent) {
                const c = extent;
                const toLatLon = (x: number, y: number) => {
                  const n = Math.PI - (2 * Math.PI * y) / TILE;
                  return [(180 / Math.PI) * Math.atan(0.5 * (Math.exp(n) - Math.exp(-n))), (x / TILE) * 360 - 180];
                };
                const [north, west] = toLatLon(c.x, c.y);
                const [south, east] = toLatLon(c.x + c.w, c.y + c.h);
                floorPlanBounds.value = { north, west, south, east };
              }
            }}
          />
          {planUrl ? (
            <button
              type="button"
              onClick={async () => {
                await savePlan(null);
                URL.revokeObjectURL(planUrl);
                setPlanUrl('');
              }}
            >
              Remove floor plan
            </button>
          ) : null}
        </form>
        <p class="hint">The image stays in this browser. Place it by its corners:</p>
        <form class="inline" onSubmit={(e) => e.preventDefault()}>
          {(['north', 'west', 'south', 'east'] as const).map((k) => (
            <>
              <label for={`plan-${k}`}>{k[0].toUpperCase() + k.slice(1)}</label>
              <input
                id={`plan-${k}`}
                class="short"
                type="number"
                step="any"
                value={bounds ? bounds[k] : ''}
                onChange={(e) => {
                  const val = Number(e.currentTarget.value);
                  const b = floorPlanBounds.value ?? { north: 0, west: 0, south: 0, east: 0 };
                  floorPlanBounds.value = { ...b, [k]: val };
                }}
              />
            </>
          ))}
        </form>
        <form class="inline" onSubmit={(e) => e.preventDefault()}>
          <label for="tile-url">Tile URL template</label>
          <input
            id="tile-url"
            class="wide"
            value={tileUrl.value}
            placeholder="/tiles/{z}/{x}/{y}.png"
            onChange={(e) => (tileUrl.value = e.currentTarget.value.trim())}
          />
        </form>
        <p class="hint">
          Empty by default: the map makes no request anywhere. The UI's Content-Security-Policy allows images only from the
          collector's own address, so serve tiles through it (for example a reverse-proxy path) or allow the tile server's origin in
          the collector's settings.
        </p>
      </section>
    </section>
  );
}
