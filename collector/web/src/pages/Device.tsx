import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { apiUrl, errorText, getJson, isMissingRoute, postCmd, seg } from '../api';
import { Chart, type Series } from '../components/Chart';
import { JsonTree } from '../components/JsonTree';
import { fmtBytes, fmtFreq, fmtInt, fmtTime } from '../format';
import { href } from '../router';
import { isAdmin } from '../session';
import { alerts, alertsAvailable, severityName } from '../store/alerts';
import { toast } from '../toast';

type J = Record<string, unknown>;
const o = (v: unknown): J => (v && typeof v === 'object' && !Array.isArray(v) ? (v as J) : {});
const a = (v: unknown): J[] => (Array.isArray(v) ? (v as J[]) : []);
const s = (v: unknown) => (v == null ? '' : String(v));
const n = (v: unknown) => Number(v) || 0;
const list = (v: unknown) => (Array.isArray(v) ? v.join(', ') : s(v));

const POLL_MS = 2000;
const MAX_SAMPLES = 900;

interface Samples {
  x: number[];
  bySensor: Map<string, (number | null)[]>;
  names: Map<string, string>;
}

function Handshake({ msgs }: { msgs: unknown }) {
  const seen = new Set(Array.isArray(msgs) ? msgs.map(Number) : []);
  return (
    <span class="hs" aria-label={`EAPOL handshake messages seen: ${[...seen].sort().join(', ') || 'none'} of 4`}>
      {[1, 2, 3, 4].map((m) => (
        <span class={seen.has(m) ? 'hs-m on' : 'hs-m'} aria-hidden="true">
          M{m}
        </span>
      ))}
      {seen.size === 4 ? <span class="muted"> complete</span> : null}
    </span>
  );
}

function SsidTable({ title, rows }: { title: string; rows: J[] }) {
  if (!rows.length) return null;
  return (
    <section aria-label={title}>
      <h3>{title}</h3>
      <div class="table-scroll">
        <table class="grid">
          <thead>
            <tr>
              <th scope="col">SSID</th><th scope="col">Encryption</th><th scope="col">AKMs</th><th scope="col">Ciphers</th>
              <th scope="col">MFP</th><th scope="col">Channel</th><th scope="col">Mode</th><th scope="col">PHY</th>
              <th scope="col">WPS</th><th scope="col">Country</th><th scope="col">Frames</th><th scope="col">First / last seen</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr>
                <td>
                  {n(r['dot11.advertisedssid.cloaked']) ? <em>hidden</em> : s(r['dot11.advertisedssid.ssid'])}
                  {r['hopwire.advertisedssid.mesh_id'] ? <span class="muted"> mesh {s(r['hopwire.advertisedssid.mesh_id'])}</span> : null}
                </td>
                <td>{s(r['dot11.advertisedssid.crypt_string'])}{r['hopwire.advertisedssid.owe_transition'] ? ' (OWE transition)' : ''}</td>
                <td>{list(r['hopwire.crypt.akms'])}{a(r['hopwire.crypt.wpa_akms']).length ? ` · WPA: ${list(r['hopwire.crypt.wpa_akms'])}` : ''}</td>
                <td>{list(r['hopwire.crypt.pairwise'])}</td>
                <td>{n(r['dot11.advertisedssid.wpa_mfp_required']) ? 'required' : n(r['dot11.advertisedssid.wpa_mfp_supported']) ? 'capable' : 'no'}</td>
                <td>{s(r['dot11.advertisedssid.channel'])}</td>
                <td>{s(r['dot11.advertisedssid.ht_mode'])}</td>
                <td>{list(r['hopwire.advertisedssid.phy'])}</td>
                <td>{n(r['dot11.advertisedssid.wps_state']) ? s(r['dot11.advertisedssid.wps_state']) : ''}</td>
                <td>{s(r['dot11.advertisedssid.dot11d_country'])}</td>
                <td class="num">
                  {fmtInt(n(r['hopwire.advertisedssid.beacons']) || n(r['hopwire.advertisedssid.probe_responses']))}
                </td>
                <td>
                  {fmtTime(n(r['dot11.advertisedssid.first_time']))} / {fmtTime(n(r['dot11.advertisedssid.last_time']))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function NameTag({ dkey, dev, onDone }: { dkey: string; dev: J; onDone: () => void }) {
  const [name, setName] = useState(s(dev['kismet.device.base.username']) || '');
  const [tagName, setTagName] = useState('notes');
  const [tagValue, setTagValue] = useState(s(o(dev['kismet.device.base.tags'])['notes']));
  const [msg, setMsg] = useState('');
  const run = async (what: string, path: string, body: unknown) => {
    setMsg('');
    try {
      await postCmd(path, body);
      toast(`${what} saved`);
      onDone();
    } catch (e) {
      setMsg(isMissingRoute(e) ? `This collector does not have ${path.split('/').pop()} yet.` : errorText(e));
    }
  };
  return (
    <section class="card" aria-labelledby="nt-h">
      <h2 id="nt-h">Name and tag</h2>
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault();
          void run('Name', `devices/by-key/${seg(dkey)}/set_name.cmd`, { username: name });
        }}
      >
        <label for="dev-name">Name</label>
        <input id="dev-name" value={name} onInput={(e) => setName(e.currentTarget.value)} maxLength={128} />
        <button type="submit">Set name</button>
      </form>
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault();
          void run('Tag', `devices/by-key/${seg(dkey)}/set_tag.cmd`, { tagname: tagName, tagvalue: tagValue });
        }}
      >
        <label for="dev-tagname">Tag</label>
        <input id="dev-tagname" value={tagName} onInput={(e) => setTagName(e.currentTarget.value)} maxLength={64} />
        <label for="dev-tagvalue">Value</label>
        <input id="dev-tagvalue" value={tagValue} onInput={(e) => setTagValue(e.currentTarget.value)} maxLength={1024} />
        <button type="submit">Set tag</button>
      </form>
      {msg ? <p class="error" role="alert">{msg}</p> : null}
    </section>
  );
}

export function Device({ dkey }: { dkey: string }) {
  const [dev, setDev] = useState<J | null>(null);
  const [error, setError] = useState('');
  const [tick, setTick] = useState(0);
  const samples = useRef<Samples>({ x: [], bySensor: new Map(), names: new Map() });
  const [sampleVer, setSampleVer] = useState(0);

  useEffect(() => {
    samples.current = { x: [], bySensor: new Map(), names: new Map() };
    setDev(null);
    setError('');
  }, [dkey]);

  useEffect(() => {
    let live = true;
    let timer = 0;
    const get = async () => {
      try {
        const d = await getJson<J>(`devices/by-key/${seg(dkey)}/device.json`);
        if (!live) return;
        setDev(d);
        setError('');
        record(d);
      } catch (e) {
        if (!live) return;
        setError(isMissingRoute(e) ? 'The collector does not know this device (it may have been dropped).' : errorText(e));
      }
      if (live) timer = window.setTimeout(get, document.hidden ? 10000 : POLL_MS);
    };
    const record = (d: J) => {
      const S = samples.current;
      const t = Date.now() / 1000;
      const seen = a(d['kismet.device.base.seenby']);
      for (const sb of seen) {
        const uuid = s(sb['kismet.common.seenby.uuid']);
        S.names.set(uuid, s(sb['hopwire.seenby.name']) || uuid);
        if (!S.bySensor.has(uuid)) S.bySensor.set(uuid, S.x.map(() => null));
      }
      S.x.push(t);
      for (const [uuid, vals] of S.bySensor) {
        const sb = seen.find((x) => s(x['kismet.common.seenby.uuid']) === uuid);
        const v = sb ? n(o(sb['kismet.common.seenby.signal'])['kismet.common.signal.last_signal']) : 0;
        vals.push(v ? v : null);
      }
      if (S.x.length > MAX_SAMPLES) {
        S.x.shift();
        for (const vals of S.bySensor.values()) vals.shift();
      }
      setSampleVer((v) => v + 1);
    };
    void get();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [dkey, tick]);

  const chart = useMemo(() => {
    const S = samples.current;
    const series: Series[] = [...S.bySensor.entries()].map(([uuid, vals]) => ({ label: S.names.get(uuid) ?? uuid, values: vals.slice() }));
    return { x: S.x.slice(), series };
  }, [sampleVer]);

  if (!dev) {
    return (
      <section class="page" aria-labelledby="dev-h">
        <h1 id="dev-h">Device</h1>
        <p class="mono">{dkey}</p>
        {error ? <p class="error" role="alert">{error}</p> : <p aria-live="polite">Loading…</p>}
        <p>
          <a href={href('devices')}>Back to devices</a>
        </p>
      </section>
    );
  }

  const mac = s(dev['kismet.device.base.macaddr']);
  const d11 = o(dev['dot11.device']);
  const sig = o(dev['kismet.device.base.signal']);
  const loc = o(dev['kismet.device.base.location']);
  const gp = o(loc['kismet.common.location.avg_loc'])['kismet.common.location.geopoint'];
  const avg = Array.isArray(gp) ? (gp as number[]) : undefined; // [lon, lat]
  const seen = a(dev['kismet.device.base.seenby']);
  const assocClients = Object.entries(o(d11['dot11.device.associated_client_map']));
  const clientOf = Object.values(o(d11['dot11.device.client_map'])).map(o);
  const probed = a(d11['dot11.device.probed_ssid_map']);
  const assocReq = a(d11['hopwire.dot11.device.assoc_requests']);
  const tags = o(dev['kismet.device.base.tags']);
  const macs = new Set([mac.toUpperCase()]);
  const about = alerts.value.filter((al) => [al.transmitter, al.source, al.dest, al.other].some((m) => macs.has(m.toUpperCase())));
  const now = Math.floor(Date.now() / 1000);
  const title = s(dev['kismet.device.base.username']) || s(dev['kismet.device.base.commonname']) || mac;

  return (
    <section class="page device" aria-labelledby="dev-h">
      <p class="crumbs">
        <a href={href('devices')}>Devices</a> › {title}
      </p>
      <div class="page-head">
        <h1 id="dev-h">{title}</h1>
        <p class="muted">
          <span class="mono">{mac}</span> · {s(dev['kismet.device.base.type'])} · {s(dev['kismet.device.base.manuf'])}
          {dev['hopwire.device.randomized_mac'] ? ' · randomised MAC' : ''}
        </p>
      </div>
      {error ? <p class="error" role="alert">{error}</p> : null}

      <div class="downloads">
        <a class="button" href={apiUrl(`devices/pcap/by-key/${seg(dkey)}/packets.pcapng`)} download={`${mac.replace(/:/g, '')}-live.pcapng`}>
          Live pcap-ng (streams until you cancel)
        </a>
        <a class="button" href={apiUrl(`pcap/history.pcapng?device=${seg(dkey)}`)} download={`${mac.replace(/:/g, '')}-history.pcapng`}>
          Historic pcap-ng (packet log)
        </a>
        <a class="button" href={apiUrl(`pcap/history.pcapng?device=${seg(dkey)}&from=${now - 3600}`)} download={`${mac.replace(/:/g, '')}-last-hour.pcapng`}>
          Last hour
        </a>
      </div>

      <section class="card" aria-labelledby="ov-h">
        <h2 id="ov-h">Overview</h2>
        <dl class="facts">
          <dt>Key</dt><dd class="mono">{s(dev['kismet.device.base.key'])}</dd>
          <dt>Name (beacon)</dt><dd>{s(dev['kismet.device.base.name']) || '–'}</dd>
          <dt>Encryption</dt><dd>{s(dev['kismet.device.base.crypt'])}</dd>
          <dt>First seen</dt><dd>{fmtTime(n(dev['kismet.device.base.first_time']))}</dd>
          <dt>Last seen</dt><dd>{fmtTime(n(dev['kismet.device.base.last_time']))}</dd>
          <dt>Channel</dt><dd>{s(dev['kismet.device.base.channel']) || '–'} ({fmtFreq(n(dev['kismet.device.base.frequency']))})</dd>
          <dt>Signal (last / min / max)</dt>
          <dd>
            {n(sig['kismet.common.signal.last_signal']) || '–'} / {n(sig['kismet.common.signal.min_signal']) || '–'} / {n(sig['kismet.common.signal.max_signal']) || '–'} dBm
          </dd>
          <dt>Packets</dt>
          <dd>
            {fmtInt(n(dev['kismet.device.base.packets.total']))} (tx {fmtInt(n(dev['kismet.device.base.packets.tx_total']))}, rx{' '}
            {fmtInt(n(dev['kismet.device.base.packets.rx_total']))}, mgmt {fmtInt(n(dev['kismet.device.base.packets.llc']))}, data{' '}
            {fmtInt(n(dev['kismet.device.base.packets.data']))}, encrypted {fmtInt(n(dev['kismet.device.base.packets.crypt']))}, errors{' '}
            {fmtInt(n(dev['kismet.device.base.packets.error']))})
          </dd>
          <dt>Data</dt><dd>{fmtBytes(n(dev['kismet.device.base.datasize']))}</dd>
          <dt>Location</dt>
          <dd>{avg && avg.length >= 2 ? `${Number(avg[1]).toFixed(6)}, ${Number(avg[0]).toFixed(6)} (average of ${fmtInt(n(loc['hopwire.location.count']))} fixes)` : 'none'}</dd>
          {Object.keys(tags).length ? (
            <>
              <dt>Tags</dt>
              <dd>{Object.entries(tags).map(([k, v]) => `${k}: ${s(v)}`).join(' · ')}</dd>
            </>
          ) : null}
          {d11['hopwire.dot11.device.auth_algorithms'] && a(d11['hopwire.dot11.device.auth_algorithms']).length ? (
            <>
              <dt>Authentication</dt>
              <dd>{list(d11['hopwire.dot11.device.auth_algorithms'])}</dd>
            </>
          ) : null}
        </dl>
      </section>

      {isAdmin.value ? <NameTag dkey={dkey} dev={dev} onDone={() => setTick(tick + 1)} /> : null}

      <section class="card" aria-labelledby="sb-h">
        <h2 id="sb-h">Seen by {seen.length} sensor{seen.length === 1 ? '' : 's'}</h2>
        <table class="grid" id="seenby">
          <thead>
            <tr>
              <th scope="col">Sensor</th><th scope="col">Packets</th><th scope="col">Signal last / min / max</th><th scope="col">First seen</th><th scope="col">Last seen</th>
            </tr>
          </thead>
          <tbody>
            {seen.map((sb) => {
              const ss = o(sb['kismet.common.seenby.signal']);
              return (
                <tr>
                  <td>{s(sb['hopwire.seenby.name']) || s(sb['kismet.common.seenby.uuid'])}</td>
                  <td class="num">{fmtInt(n(sb['kismet.common.seenby.num_packets']))}</td>
                  <td>
                    {n(ss['kismet.common.signal.last_signal']) || '–'} / {n(ss['kismet.common.signal.min_signal']) || '–'} / {n(ss['kismet.common.signal.max_signal']) || '–'}
                  </td>
                  <td>{fmtTime(n(sb['kismet.common.seenby.first_time']))}</td>
                  <td>{fmtTime(n(sb['kismet.common.seenby.last_time']))}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
        <h3>Signal over time</h3>
        <Chart
          x={chart.x}
          series={chart.series}
          unit="dBm"
          label={`Signal of ${mac} per sensor, sampled every ${POLL_MS / 1000} s while this page is open`}
        />
      </section>

      <SsidTable title="Advertised SSIDs (beacons)" rows={a(d11['dot11.device.advertised_ssid_map'])} />
      <SsidTable title="Responded SSIDs (probe responses)" rows={a(d11['dot11.device.responded_ssid_map'])} />

      {assocClients.length ? (
        <section class="card" aria-labelledby="cl-h">
          <h2 id="cl-h">Clients ({assocClients.length})</h2>
          <ul class="columns">
            {assocClients.map(([cmac, key]) => (
              <li>
                <a href={href('device', s(key))} class="mono">{cmac}</a>
              </li>
            ))}
          </ul>
        </section>
      ) : null}

      {clientOf.length ? (
        <section class="card" aria-labelledby="co-h">
          <h2 id="co-h">Access points it talks to</h2>
          <table class="grid">
            <thead>
              <tr>
                <th scope="col">BSSID</th><th scope="col">Packets</th><th scope="col">Data</th><th scope="col">Handshake</th><th scope="col">First / last</th>
              </tr>
            </thead>
            <tbody>
              {clientOf.map((c) => (
                <tr>
                  <td>
                    <a href={href('device', s(c['dot11.client.bssid_key']))} class="mono">{s(c['dot11.client.bssid'])}</a>
                  </td>
                  <td class="num">{fmtInt(n(c['hopwire.dot11.client.packets']))}</td>
                  <td class="num">{fmtBytes(n(c['dot11.client.datasize']))}</td>
                  <td><Handshake msgs={c['hopwire.dot11.client.eapol_messages']} /></td>
                  <td>{fmtTime(n(c['dot11.client.first_time']))} / {fmtTime(n(c['dot11.client.last_time']))}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ) : null}

      {probed.length || n(d11['hopwire.dot11.device.wildcard_probes']) ? (
        <section class="card" aria-labelledby="pr-h">
          <h2 id="pr-h">Probed SSIDs</h2>
          <p class="muted">{fmtInt(n(d11['hopwire.dot11.device.wildcard_probes']))} wildcard (broadcast) probes</p>
          {probed.length ? (
            <table class="grid">
              <thead>
                <tr><th scope="col">SSID</th><th scope="col">Probes</th><th scope="col">First / last</th></tr>
              </thead>
              <tbody>
                {probed.map((p) => (
                  <tr>
                    <td>{s(p['dot11.probedssid.ssid'])}</td>
                    <td class="num">{fmtInt(n(p['hopwire.probedssid.count']))}</td>
                    <td>{fmtTime(n(p['dot11.probedssid.first_time']))} / {fmtTime(n(p['dot11.probedssid.last_time']))}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
        </section>
      ) : null}

      {assocReq.length ? (
        <section class="card" aria-labelledby="ar-h">
          <h2 id="ar-h">Association requests</h2>
          <table class="grid">
            <thead>
              <tr><th scope="col">BSSID</th><th scope="col">SSID</th><th scope="col">Asked for</th><th scope="col">MFP</th><th scope="col">Last</th></tr>
            </thead>
            <tbody>
              {assocReq.map((r) => (
                <tr>
                  <td class="mono">{s(r['hopwire.assoc.bssid'])}</td>
                  <td>{s(r['hopwire.assoc.ssid'])}{r['hopwire.assoc.reassoc'] ? ' (reassociation)' : ''}</td>
                  <td>{s(r['hopwire.assoc.crypt_string'])} {list(r['hopwire.crypt.akms'])}</td>
                  <td>{r['hopwire.assoc.mfp_required'] ? 'required' : r['hopwire.assoc.mfp_supported'] ? 'capable' : 'no'}</td>
                  <td>{fmtTime(n(r['hopwire.assoc.last_time']))}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ) : null}

      <section class="card" aria-labelledby="al-h">
        <h2 id="al-h">Alerts about this device</h2>
        {alertsAvailable.value === false ? (
          <p class="muted">This collector does not serve alerts yet.</p>
        ) : about.length ? (
          <ul>
            {about.slice(0, 50).map((al) => (
              <li>
                <span class={`sev sev-${severityName(al.severity)}`}>{severityName(al.severity)}</span> {fmtTime(al.timestamp)} <strong>{al.header}</strong> {al.text}
              </li>
            ))}
          </ul>
        ) : (
          <p class="muted">None.</p>
        )}
      </section>

      <section class="card" aria-labelledby="all-h">
        <h2 id="all-h">Everything the tracker knows</h2>
        <JsonTree value={dev} label="device" />
      </section>
    </section>
  );
}
