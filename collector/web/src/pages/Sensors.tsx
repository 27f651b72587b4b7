import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { errorText, postCmd, seg } from '../api';
import { Chart } from '../components/Chart';
import { JsonTree } from '../components/JsonTree';
import { Sparkline } from '../components/Sparkline';
import { fmtAgo, fmtBytes, fmtInt, fmtRate } from '../format';
import { href } from '../router';
import { isAdmin } from '../session';
import { refreshSources, sources, sourcesError, useSourcesPolling, type SourceView } from '../store/sources';
import { toast } from '../toast';

type J = Record<string, unknown>;
const s = (v: unknown) => (v == null ? '' : String(v));
const n = (v: unknown) => Number(v) || 0;
const arr = (v: unknown) => (Array.isArray(v) ? v.map(String) : []);

export function sourcePosition(raw: J): { lat: number; lon: number; alt?: number } | null {
  const l = raw['hopwire.datasource.location'];
  if (l && typeof l === 'object') {
    const o = l as J;
    if (Array.isArray(o['kismet.common.location.geopoint'])) {
      const g = o['kismet.common.location.geopoint'] as number[];
      if (g[0] || g[1]) return { lon: Number(g[0]), lat: Number(g[1]), alt: n(o['kismet.common.location.alt']) };
    }
    if (typeof o.lat === 'number' && typeof o.lon === 'number') return { lat: o.lat, lon: o.lon, alt: typeof o.alt === 'number' ? o.alt : undefined };
  }
  return null;
}

export function linkState(raw: J): { text: string; cls: string } {
  const running = raw['kismet.datasource.running'] === true || raw['kismet.datasource.running'] === 1;
  if (running) return { text: 'connected', cls: 'ok' };
  const last = n(raw['hopwire.datasource.last_seen']);
  return { text: last ? `down, last seen ${fmtAgo(last, Date.now() / 1000)}` : 'never connected', cls: 'bad' };
}

function Controls({ src }: { src: SourceView }) {
  const raw = src.raw;
  const [channel, setChannel] = useState(s(raw['kismet.datasource.channel']));
  const [hop, setHop] = useState(arr(raw['kismet.datasource.hop_channels']).join(','));
  const [rate, setRate] = useState(String(n(raw['kismet.datasource.hop_rate']) || 5));
  const [shuffle, setShuffle] = useState(raw['kismet.datasource.hop_shuffle'] !== false);
  const [result, setResult] = useState('');
  const [busy, setBusy] = useState(false);
  const base = `datasource/by-uuid/${seg(src.uuid)}`;
  const run = async (what: string, path: string, body: unknown) => {
    setBusy(true);
    setResult('');
    try {
      const ans = await postCmd(path, body);
      setResult(`${what}: ${ans.trim().slice(0, 300) || 'done'}`);
      toast(`${src.name}: ${what}`);
      await refreshSources();
    } catch (e) {
      setResult(`${what} failed: ${errorText(e)}`);
    } finally {
      setBusy(false);
    }
  };
  const list = () => hop.split(/[\s,]+/).map((c) => c.trim()).filter(Boolean);
  return (
    <section class="card" aria-labelledby="ctl-h">
      <h3 id="ctl-h">Channel control</h3>
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault();
          void run(`lock on ${channel}`, `${base}/set_channel.cmd`, { channel: channel.trim() });
        }}
      >
        <label for="ctl-channel">Lock on channel</label>
        <input id="ctl-channel" value={channel} onInput={(e) => setChannel(e.currentTarget.value)} placeholder="6, 6HT40+, 36VHT80" required />
        <button type="submit" disabled={busy}>Lock channel</button>
      </form>
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault();
          void run('hop list set', `${base}/set_channel.cmd`, { channels: list(), rate: Number(rate), shuffle: shuffle ? 1 : 0 });
        }}
      >
        <label for="ctl-hop">Hop over</label>
        <input id="ctl-hop" value={hop} onInput={(e) => setHop(e.currentTarget.value)} placeholder="1,6,11,36" required />
        <label for="ctl-rate">hops/s</label>
        <input id="ctl-rate" class="short" type="number" min={0.1} max={20} step={0.1} value={rate} onInput={(e) => setRate(e.currentTarget.value)} />
        <label class="check">
          <input type="checkbox" checked={shuffle} onChange={(e) => setShuffle(e.currentTarget.checked)} /> shuffle
        </label>
        <button type="submit" disabled={busy}>Set hop list</button>
      </form>
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault();
          void run('back to plan', `${base}/set_hop.cmd`, { rate: Number(rate) });
        }}
      >
        <button type="submit" disabled={busy}>Back to the group's plan</button>
        <span class="hint">Hands the sensor back to its group's plan (or its own list).</span>
      </form>
      {result ? <p role="status" class="result">{result}</p> : null}
    </section>
  );
}

function Detail({ src }: { src: SourceView }) {
  const raw = src.raw;
  const plan = (raw['hopwire.datasource.plan'] ?? {}) as J;
  const pos = sourcePosition(raw);
  const x = src.history.map((h) => h[0]);
  const series = useMemo(() => [{ label: src.name, values: src.history.map((h) => h[1]) }], [src.history.length, src.history[src.history.length - 1]?.[0]]);
  return (
    <section class="card detail" aria-labelledby="sd-h">
      <h2 id="sd-h">{src.name}</h2>
      <dl class="facts">
        <dt>UUID</dt><dd class="mono">{src.uuid}</dd>
        <dt>Definition</dt><dd class="mono">{s(raw['kismet.datasource.definition'])}</dd>
        <dt>Link</dt><dd>{linkState(raw).text} · {s(raw['hopwire.datasource.transport'])} from {s(raw['kismet.datasource.remote_ip'])}</dd>
        <dt>Channel now</dt><dd>{s(raw['kismet.datasource.channel']) || '–'}</dd>
        <dt>Hopping</dt>
        <dd>
          {raw['kismet.datasource.hopping'] ? `yes, ${n(raw['kismet.datasource.hop_rate'])}/s over ${arr(raw['kismet.datasource.hop_channels']).join(', ')}` : 'no'}
        </dd>
        <dt>Channels it can tune</dt><dd>{arr(raw['kismet.datasource.channels']).join(', ') || '–'}</dd>
        <dt>Group</dt><dd>{s(raw['hopwire.datasource.group']) || '–'}</dd>
        <dt>Plan</dt>
        <dd>
          {s(plan.mode)}
          {arr(plan.channels).length ? `: ${arr(plan.channels).join(', ')}` : ''}
          {plan.request_id ? (plan.acknowledged ? (plan.ok ? ' (taken)' : ` (refused: ${s(plan.message)})`) : ' (sent, not yet acknowledged)') : ''}
        </dd>
        <dt>Position</dt>
        <dd>
          {pos ? `${pos.lat.toFixed(6)}, ${pos.lon.toFixed(6)}${pos.alt ? `, ${pos.alt} m` : ''}` : 'not known'}
          {s(raw['hopwire.datasource.gps_name']) ? ` · GPS ${s(raw['hopwire.datasource.gps_name'])}` : ''}
          {s(raw['hopwire.datasource.metagps']) ? ` · virtual GPS ${s(raw['hopwire.datasource.metagps'])}` : ''}
        </dd>
        <dt>Ring</dt><dd>{fmtBytes(n(raw['hopwire.datasource.ring_bytes_used']))} of {fmtBytes(n(raw['hopwire.datasource.ring_bytes_total']))}</dd>
      </dl>
      <h3>Packets per second</h3>
      <Chart x={x} series={series} unit="packets/s" height={180} label={`Packets per second from ${src.name}, as this page polled them`} />
      {isAdmin.value ? <Controls src={src} /> : null}
      <details>
        <summary>All fields</summary>
        <JsonTree value={raw} label="source" />
      </details>
    </section>
  );
}

export function Sensors({ selected }: { selected: string }) {
  useEffect(() => useSourcesPolling(), []);
  const list = sources.value;
  const [filter, setFilter] = useState('');
  const detailRef = useRef<HTMLDivElement>(null);
  const shown = filter ? list.filter((x) => (x.name + ' ' + x.uuid + ' ' + s(x.raw['hopwire.datasource.group'])).toLowerCase().includes(filter.toLowerCase())) : list;
  const sel = list.find((x) => x.uuid === selected);
  const totalPps = list.reduce((a, x) => a + x.pps, 0);
  const up = list.filter((x) => linkState(x.raw).cls === 'ok').length;
  useEffect(() => {
    if (selected) detailRef.current?.scrollIntoView({ block: 'nearest' });
  }, [selected]);

  return (
    <section class="page" aria-labelledby="sensors-h">
      <div class="page-head">
        <h1 id="sensors-h">Sensors</h1>
        <p class="count" role="status">
          {list.length} sources · {up} connected · {fmtRate(totalPps)} packets
        </p>
      </div>
      {sourcesError.value ? <p class="error" role="alert">{sourcesError.value}</p> : null}
      <div class="filters">
        <div class="field grow">
          <label for="s-filter">Filter sensors</label>
          <input id="s-filter" type="search" value={filter} onInput={(e) => setFilter(e.currentTarget.value)} placeholder="name, UUID or group" />
        </div>
      </div>
      <div class="table-scroll">
        <table class="grid sensors" id="sensor-table">
          <caption class="sr-only">Capture sources, one per sensor radio</caption>
          <thead>
            <tr>
              <th scope="col">Name</th><th scope="col">Link</th><th scope="col">Type</th><th scope="col">Packets</th>
              <th scope="col">Packets/s</th><th scope="col">Errors</th><th scope="col">Ring drops</th><th scope="col">Kernel drops</th>
              <th scope="col">Reconnects</th><th scope="col">Channel</th><th scope="col">Hop list</th><th scope="col">Group / plan</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((x) => {
              const r = x.raw;
              const ls = linkState(r);
              const plan = (r['hopwire.datasource.plan'] ?? {}) as J;
              const hops = arr(r['kismet.datasource.hop_channels']);
              return (
                <tr class={x.uuid === selected ? 'selected' : ''}>
                  <th scope="row">
                    <a href={href('sensors', x.uuid)} aria-current={x.uuid === selected ? 'true' : undefined}>
                      {x.name || x.uuid}
                    </a>
                  </th>
                  <td><span class={`pill ${ls.cls}`}>{ls.text}</span></td>
                  <td>{s(r['kismet.datasource.type'])}</td>
                  <td class="num">{fmtInt(n(r['kismet.datasource.num_packets']))}</td>
                  <td class="num">
                    <Sparkline values={x.history.slice(-60).map((h) => h[1])} label={`recent packets per second of ${x.name}`} /> {fmtRate(x.pps)}
                  </td>
                  <td class="num">{fmtInt(n(r['kismet.datasource.num_error_packets']))}</td>
                  <td class="num">{fmtInt(n(r['hopwire.datasource.dropped_ring']))}</td>
                  <td class="num">{fmtInt(n(r['hopwire.datasource.dropped_kernel']))}</td>
                  <td class="num">{fmtInt(n(r['hopwire.datasource.reconnects']))}</td>
                  <td>{s(r['kismet.datasource.channel']) || '–'}</td>
                  <td title={hops.join(', ')}>{hops.length ? `${hops.length} ch${r['kismet.datasource.hopping'] ? ` @ ${n(r['kismet.datasource.hop_rate'])}/s` : ''}` : '–'}</td>
                  <td>
                    {s(r['hopwire.datasource.group']) || '–'} / {s(plan.mode) || '–'}
                    {plan.request_id && plan.acknowledged && !plan.ok ? <span class="bad"> refused</span> : null}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {list.length === 0 ? <p class="muted">No sensor has connected yet.</p> : null}
      <div ref={detailRef}>{sel ? <Detail src={sel} /> : list.length ? <p class="muted">Choose a sensor for its chart, plan and controls.</p> : null}</div>
    </section>
  );
}
