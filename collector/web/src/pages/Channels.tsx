import { useEffect, useMemo } from 'preact/hooks';
import { fmtInt } from '../format';
import { rows, version } from '../store/devices';
import { sources, useSourcesPolling } from '../store/sources';

const arr = (v: unknown) => (Array.isArray(v) ? v.map(String) : []);

/** Sort order for Kismet channel strings: 2.4 GHz, 5 GHz, then 6 GHz (…W6e). */
export function channelOrder(c: string): number {
  const m = /^(\d+)/.exec(c);
  const num = m ? Number(m[1]) : 9999;
  const band = /6e/i.test(c) ? 2 : num > 14 && num < 1000 ? 1 : 0;
  return band * 10000 + num + (c.length > String(num).length ? 0.5 : 0);
}

/** The primary channel number of a channel string ("36VHT80" -> "36"). */
const primary = (c: string) => {
  const m = /^(\d+)(?:W6e)?/i.exec(c);
  return m ? m[0] : c;
};

function heatClass(share: number): string {
  return `heat heat-${Math.min(10, Math.ceil(share * 10))}`;
}

export function Channels() {
  useEffect(() => useSourcesPolling(), []);
  const ver = version.value;

  const perChannel = useMemo(() => {
    const m = new Map<string, { devices: number; packets: number; aps: number }>();
    for (const r of rows) {
      if (!r.channel) continue;
      let e = m.get(r.channel);
      if (!e) m.set(r.channel, (e = { devices: 0, packets: 0, aps: 0 }));
      e.devices++;
      e.packets += r.packets;
      if (r.type === 'Wi-Fi AP') e.aps++;
    }
    return [...m.entries()].sort((a, b) => channelOrder(a[0]) - channelOrder(b[0]));
  }, [ver]);
  const maxDev = Math.max(1, ...perChannel.map(([, e]) => e.devices));
  const maxPk = Math.max(1, ...perChannel.map(([, e]) => e.packets));

  // Coverage: each sensor's share of time on each channel, from the list it
  // follows now (hop_channels, visited equally often) or the one it is locked on.
  const cover = useMemo(() => {
    const chans = new Set<string>();
    const rowsOut: { name: string; uuid: string; share: Map<string, number>; note: string }[] = [];
    for (const src of sources.value) {
      const raw = src.raw;
      const hop = arr(raw['kismet.datasource.hop_channels']).map(primary);
      const now = primary(String(raw['kismet.datasource.channel'] ?? ''));
      const share = new Map<string, number>();
      let note = '';
      if (raw['kismet.datasource.hopping'] && hop.length) {
        for (const c of hop) share.set(c, (share.get(c) ?? 0) + 1 / hop.length);
        note = `hops ${hop.length} channels at ${Number(raw['kismet.datasource.hop_rate']) || 0}/s`;
      } else if (now) {
        share.set(now, 1);
        note = 'locked';
      } else if (hop.length === 1) {
        share.set(hop[0], 1);
        note = 'locked';
      } else {
        note = 'no channel information (a file replay, or not tuned yet)';
      }
      for (const c of share.keys()) chans.add(c);
      rowsOut.push({ name: src.name, uuid: src.uuid, share, note });
    }
    const cols = [...chans].sort((a, b) => channelOrder(a) - channelOrder(b));
    const total = new Map<string, number>();
    for (const r of rowsOut) for (const [c, v] of r.share) total.set(c, (total.get(c) ?? 0) + v);
    return { cols, rows: rowsOut, total };
  }, [sources.value]);

  return (
    <section class="page" aria-labelledby="ch-h">
      <div class="page-head">
        <h1 id="ch-h">Channels</h1>
        <p class="muted">From the device list (each device counted on its last channel) and the sensors' channel plans.</p>
      </div>

      <section class="card" aria-labelledby="chd-h">
        <h2 id="chd-h">Devices and packets per channel</h2>
        {perChannel.length === 0 ? (
          <p class="muted">No device with a known channel yet.</p>
        ) : (
          <table class="grid bars" id="channel-table">
            <thead>
              <tr>
                <th scope="col">Channel</th><th scope="col">Devices</th><th scope="col">Access points</th><th scope="col">Packets</th>
              </tr>
            </thead>
            <tbody>
              {perChannel.map(([c, e]) => (
                <tr>
                  <th scope="row">{c}</th>
                  <td>
                    <span class="bar" aria-hidden="true">
                      <span class="bar-fill" style={{ width: `${(100 * e.devices) / maxDev}%` }} />
                    </span>{' '}
                    {fmtInt(e.devices)}
                  </td>
                  <td class="num">{fmtInt(e.aps)}</td>
                  <td>
                    <span class="bar" aria-hidden="true">
                      <span class="bar-fill alt" style={{ width: `${(100 * e.packets) / maxPk}%` }} />
                    </span>{' '}
                    {fmtInt(e.packets)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <section class="card" aria-labelledby="cov-h">
        <h2 id="cov-h">Coverage: which sensor listens where, how often</h2>
        <p class="muted">
          Each cell is the share of that sensor's time on the channel (its hop list visits every channel equally often). The last
          row adds them up: 1.0 means one radio's worth of listening.
        </p>
        {cover.cols.length === 0 ? (
          <p class="muted">No sensor reports a channel plan yet (file replays have none).</p>
        ) : (
          <div class="table-scroll">
            <table class="grid heatmap" id="coverage">
              <thead>
                <tr>
                  <th scope="col">Sensor</th>
                  {cover.cols.map((c) => (
                    <th scope="col">{c}</th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {cover.rows.map((r) => (
                  <tr>
                    <th scope="row" title={r.note}>{r.name}</th>
                    {cover.cols.map((c) => {
                      const v = r.share.get(c) ?? 0;
                      return (
                        <td class={heatClass(v)} aria-label={`${r.name}, channel ${c}: ${Math.round(v * 100)} %`}>
                          {v ? Math.round(v * 100) : ''}
                        </td>
                      );
                    })}
                  </tr>
                ))}
                <tr class="total">
                  <th scope="row">All sensors</th>
                  {cover.cols.map((c) => {
                    const v = cover.total.get(c) ?? 0;
                    return <td class={heatClass(Math.min(1, v))}>{v.toFixed(2)}</td>;
                  })}
                </tr>
              </tbody>
            </table>
          </div>
        )}
        {cover.rows.some((r) => r.share.size === 0) ? (
          <p class="muted small">
            Without a plan: {cover.rows.filter((r) => r.share.size === 0).map((r) => r.name).join(', ')}
          </p>
        ) : null}
      </section>
    </section>
  );
}
