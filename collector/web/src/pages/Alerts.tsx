import { useMemo, useState } from 'preact/hooks';
import { fmtTime } from '../format';
import { ackedAlerts, notifyAlerts } from '../prefs';
import { href } from '../router';
import { acknowledge, alerts, alertsAvailable, alertsError, SEVERITY, severityName, unacknowledge, unacked } from '../store/alerts';
import { byKey } from '../store/devices';

function deviceLink(mac: string) {
  if (!mac || mac === '00:00:00:00:00:00' || mac === 'FF:FF:FF:FF:FF:FF') return <span class="mono">{mac || '–'}</span>;
  const key = `4202770D00000000_0000${mac.replace(/:/g, '').toUpperCase()}`;
  return byKey.has(key) ? (
    <a class="mono" href={href('device', key)}>{mac}</a>
  ) : (
    <span class="mono">{mac}</span>
  );
}

export function Alerts() {
  const [minSev, setMinSev] = useState('0');
  const [header, setHeader] = useState('');
  const [q, setQ] = useState('');
  const [showAcked, setShowAcked] = useState(false);
  const acked = useMemo(() => new Set(ackedAlerts.value), [ackedAlerts.value]);
  const headers = useMemo(() => [...new Set(alerts.value.map((a) => a.header))].sort(), [alerts.value]);
  const shown = alerts.value.filter(
    (a) =>
      a.severity >= Number(minSev) &&
      (!header || a.header === header) &&
      (showAcked || !acked.has(a.hash)) &&
      (!q || (a.text + ' ' + a.header + ' ' + a.transmitter + ' ' + a.source + ' ' + a.dest).toLowerCase().includes(q.toLowerCase())),
  );
  const permission = 'Notification' in window ? Notification.permission : 'unsupported';

  return (
    <section class="page" aria-labelledby="al-h">
      <div class="page-head">
        <h1 id="al-h">Alerts</h1>
        <p class="count" role="status" id="alert-count">
          {alertsAvailable.value === false ? 'not available' : `${shown.length} shown · ${unacked.value} unacknowledged · ${alerts.value.length} in all`}
        </p>
      </div>
      {alertsAvailable.value === false ? (
        <p class="note" id="alerts-missing">
          This collector does not serve alerts yet (<code>/alerts/last-time/TS/alerts.json</code> answered 404). The page checks again
          every minute and fills in as soon as they are there.
        </p>
      ) : null}
      {alertsError.value ? <p class="error" role="alert">{alertsError.value}</p> : null}

      <form class="filters" role="search" aria-label="Filter alerts" onSubmit={(e) => e.preventDefault()}>
        <div class="field">
          <label for="a-sev">Severity at least</label>
          <select id="a-sev" value={minSev} onChange={(e) => setMinSev(e.currentTarget.value)}>
            {Object.entries(SEVERITY).map(([v, l]) => (
              <option value={v}>{l}</option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="a-header">Alert</label>
          <select id="a-header" value={header} onChange={(e) => setHeader(e.currentTarget.value)}>
            <option value="">any</option>
            {headers.map((h) => (
              <option value={h}>{h}</option>
            ))}
          </select>
        </div>
        <div class="field grow">
          <label for="a-q">Search</label>
          <input id="a-q" type="search" value={q} onInput={(e) => setQ(e.currentTarget.value)} placeholder="text or MAC" />
        </div>
        <div class="field actions">
          <label class="check">
            <input type="checkbox" checked={showAcked} onChange={(e) => setShowAcked(e.currentTarget.checked)} /> show acknowledged
          </label>
          <button type="button" disabled={!shown.some((a) => !acked.has(a.hash))} onClick={() => acknowledge(shown.map((a) => a.hash))}>
            Acknowledge all shown
          </button>
          {permission !== 'unsupported' ? (
            <button
              type="button"
              aria-pressed={notifyAlerts.value && permission === 'granted'}
              onClick={async () => {
                if (notifyAlerts.value) notifyAlerts.value = false;
                else if ((await Notification.requestPermission()) === 'granted') notifyAlerts.value = true;
              }}
            >
              Desktop notifications {notifyAlerts.value && permission === 'granted' ? 'on' : 'off'}
            </button>
          ) : null}
        </div>
      </form>
      <p class="hint">Acknowledgements are kept in this browser (Kismet's API has no acknowledge command).</p>

      <div class="table-scroll">
        <table class="grid" id="alert-table">
          <caption class="sr-only">Alerts, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Severity</th><th scope="col">Time</th><th scope="col">Alert</th><th scope="col">Class</th>
              <th scope="col">Text</th><th scope="col">Transmitter</th><th scope="col">Source</th><th scope="col">Destination</th>
              <th scope="col">Channel</th><th scope="col">Acknowledged</th>
            </tr>
          </thead>
          <tbody>
            {shown.slice(0, 1000).map((a) => {
              const isAcked = acked.has(a.hash);
              return (
                <tr class={isAcked ? 'acked' : ''}>
                  <td><span class={`sev sev-${severityName(a.severity)}`}>{severityName(a.severity)}</span></td>
                  <td>{fmtTime(a.timestamp)}</td>
                  <th scope="row">{a.header}</th>
                  <td>{a.cls}</td>
                  <td>{a.text}</td>
                  <td>{deviceLink(a.transmitter)}</td>
                  <td>{deviceLink(a.source)}</td>
                  <td>{deviceLink(a.dest)}</td>
                  <td>{a.channel}</td>
                  <td>
                    <label class="check">
                      <input
                        type="checkbox"
                        checked={isAcked}
                        onChange={(e) => (e.currentTarget.checked ? acknowledge([a.hash]) : unacknowledge([a.hash]))}
                      />
                      <span class="sr-only">acknowledge {a.header} at {fmtTime(a.timestamp)}</span>
                    </label>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {shown.length === 0 && alertsAvailable.value ? <p class="muted">No alerts{alerts.value.length ? ' match' : ''}.</p> : null}
    </section>
  );
}
