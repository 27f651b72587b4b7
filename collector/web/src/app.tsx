import { useEffect } from 'preact/hooks';
import { busState, startBus, stopBus } from './eventbus';
import { fmtInt, fmtRate } from './format';
import { lazy } from './lazy';
import { Devices } from './pages/Devices';
import { Login } from './pages/Login';
import { eventBusMode } from './prefs';
import { href, route } from './router';
import { isAdmin, logout, session } from './session';
import { startAlerts, stopAlerts, unacked } from './store/alerts';
import { load, startDevices, stopDevices } from './store/devices';
import { startStatus, status, stopStatus } from './store/status';
import { dismiss, toasts } from './toast';

const Device = lazy(() => import('./pages/Device').then((m) => m.Device));
const Sensors = lazy(() => import('./pages/Sensors').then((m) => m.Sensors));
const Channels = lazy(() => import('./pages/Channels').then((m) => m.Channels));
const Alerts = lazy(() => import('./pages/Alerts').then((m) => m.Alerts));
const MapPage = lazy(() => import('./pages/Map').then((m) => m.MapPage));
const Settings = lazy(() => import('./pages/Settings').then((m) => m.Settings));

const NAV: [string, string][] = [
  ['devices', 'Devices'],
  ['sensors', 'Sensors'],
  ['channels', 'Channels'],
  ['alerts', 'Alerts'],
  ['map', 'Map'],
  ['settings', 'Settings'],
];

function Toasts() {
  return (
    <div class="toasts" role="status" aria-live="polite">
      {toasts.value.map((t) => (
        <div class={`toast toast-${t.kind}`}>
          {t.href ? <a href={t.href}>{t.text}</a> : <span>{t.text}</span>}
          <button type="button" class="close" aria-label="Dismiss" onClick={() => dismiss(t.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}

function Header() {
  const st = status.value;
  const L = load.value;
  const s = session.value;
  return (
    <header class="top">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <a class="brand" href={href('devices')}>
        <img src="./favicon.svg" alt="" width={22} height={22} /> Hopwire
      </a>
      <nav aria-label="Pages">
        <ul>
          {NAV.map(([id, label]) => (
            <li>
              <a href={href(id)} aria-current={route.value.page === id || (id === 'devices' && route.value.page === 'device') ? 'page' : undefined}>
                {label}
                {id === 'alerts' && unacked.value ? (
                  <span class="badge" aria-label={`${unacked.value} unacknowledged`}>
                    {unacked.value > 99 ? '99+' : unacked.value}
                  </span>
                ) : null}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <div class="top-status" aria-label="Collector status">
        <span title="devices the collector tracks">{fmtInt(Number(st?.raw['kismet.system.devices.count'] ?? L.loaded))} devices</span>
        <span title="packets received per second, all sensors">{fmtRate(st?.packetsPerSec ?? 0)}</span>
        <span class={`dot ${L.phase === 'live' ? 'ok' : L.phase === 'stale' || L.phase === 'error' ? 'bad' : ''}`} title={`updates: ${L.phase}; event bus: ${busState.value}`}>
          {L.phase === 'live' ? 'live' : L.phase}
        </span>
      </div>
      <div class="who">
        <span id="whoami">
          {s.user ? `${s.user} · ` : ''}
          {s.role || 'role…'}
          {s.role && !isAdmin.value ? ' (read-only)' : ''}
        </span>
        <button type="button" onClick={() => void logout()} id="logout">
          Sign out
        </button>
      </div>
    </header>
  );
}

function Page() {
  const r = route.value;
  switch (r.page) {
    case 'device':
      return <Device dkey={r.arg} />;
    case 'sensors':
      return <Sensors selected={r.arg} />;
    case 'channels':
      return <Channels />;
    case 'alerts':
      return <Alerts />;
    case 'map':
      return <MapPage />;
    case 'settings':
      return <Settings />;
    case 'devices':
      return <Devices />;
    default:
      return (
        <section class="page">
          <h1>Not found</h1>
          <p>
            No page <code>{r.page}</code>. <a href={href('devices')}>Devices</a>
          </p>
        </section>
      );
  }
}

function Shell() {
  useEffect(() => {
    startDevices();
    startStatus();
    startAlerts();
    return () => {
      stopDevices();
      stopStatus();
      stopAlerts();
      stopBus();
    };
  }, []);
  useEffect(() => {
    if (eventBusMode.value === 'auto') startBus();
    else stopBus();
  }, [eventBusMode.value]);
  useEffect(() => {
    const titles: Record<string, string> = Object.fromEntries(NAV);
    document.title = `${titles[route.value.page] ?? 'Device'} · Hopwire`;
  }, [route.value.page]);
  return (
    <div class={`shell ${isAdmin.value ? 'role-admin' : 'role-readonly'}`}>
      <Header />
      <main id="main" tabIndex={-1}>
        <Page />
      </main>
      <Toasts />
    </div>
  );
}

export function App() {
  const s = session.value;
  if (s.state === 'checking') return <p class="boot" aria-live="polite">Connecting to the collector…</p>;
  if (s.state === 'signed-out') return <Login />;
  return <Shell />;
}
