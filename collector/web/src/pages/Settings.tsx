import { useEffect, useState } from 'preact/hooks';
import { errorText, getJson, isMissingRoute, postCmd } from '../api';
import { busState } from '../eventbus';
import { fmtTime } from '../format';
import { eventBusMode, pollMs } from '../prefs';
import { isAdmin, session } from '../session';
import { status } from '../store/status';
import { toast } from '../toast';

interface Token {
  'kismet.httpd.auth.name': string;
  'kismet.httpd.auth.role': string;
  'kismet.httpd.auth.expiration': number;
  'hopwire.auth.created'?: number;
}

const ROLES = ['readonly', 'admin', 'datasource', 'scanreport', 'gps'];

function Tokens() {
  const [list, setList] = useState<Token[] | null>(null);
  const [error, setError] = useState('');
  const [name, setName] = useState('');
  const [role, setRole] = useState('readonly');
  const [duration, setDuration] = useState('30d');
  const [fresh, setFresh] = useState<{ name: string; token: string } | null>(null);

  const refresh = async () => {
    try {
      setList(await getJson<Token[]>('auth/apikey/list.json'));
      setError('');
    } catch (e) {
      setError(errorText(e));
    }
  };
  useEffect(() => void refresh(), []);

  const create = async (e: Event) => {
    e.preventDefault();
    try {
      const token = (await postCmd('auth/apikey/generate.cmd', { name: name.trim(), role, duration: duration.trim() || 0 })).trim();
      setFresh({ name: name.trim(), token });
      setName('');
      await refresh();
    } catch (err) {
      setError(errorText(err));
    }
  };
  const revoke = async (n: string) => {
    if (!confirm(`Revoke the token "${n}"? Whatever uses it loses access at once.`)) return;
    try {
      await postCmd('auth/apikey/revoke.cmd', { name: n });
      toast(`Token ${n} revoked`);
      await refresh();
    } catch (err) {
      setError(errorText(err));
    }
  };

  return (
    <section class="card" aria-labelledby="tok-h">
      <h2 id="tok-h">API tokens</h2>
      <p class="hint">
        Sensors use <code>datasource</code> tokens, phones and boards <code>scanreport</code>, GPS feeds <code>gps</code>; a{' '}
        <code>readonly</code> token signs a person in to this UI without controls.
      </p>
      {error ? <p class="error" role="alert">{error}</p> : null}
      <table class="grid" id="token-table">
        <thead>
          <tr><th scope="col">Name</th><th scope="col">Role</th><th scope="col">Created</th><th scope="col">Expires</th><th scope="col"><span class="sr-only">Actions</span></th></tr>
        </thead>
        <tbody>
          {(list ?? []).map((t) => (
            <tr>
              <th scope="row">{t['kismet.httpd.auth.name']}</th>
              <td>{t['kismet.httpd.auth.role']}</td>
              <td>{fmtTime(t['hopwire.auth.created'] ?? 0)}</td>
              <td>{t['kismet.httpd.auth.expiration'] ? fmtTime(t['kismet.httpd.auth.expiration']) : 'never'}</td>
              <td>
                <button type="button" class="danger" onClick={() => revoke(t['kismet.httpd.auth.name'])}>
                  Revoke<span class="sr-only"> {t['kismet.httpd.auth.name']}</span>
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {list && list.length === 0 ? <p class="muted">No tokens.</p> : null}
      <form class="inline" onSubmit={create}>
        <label for="tok-name">Name</label>
        <input id="tok-name" value={name} onInput={(e) => setName(e.currentTarget.value)} required maxLength={64} pattern="[A-Za-z0-9._-]+" title="letters, digits, . _ -" />
        <label for="tok-role">Role</label>
        <select id="tok-role" value={role} onChange={(e) => setRole(e.currentTarget.value)}>
          {ROLES.map((r) => (
            <option value={r}>{r}</option>
          ))}
        </select>
        <label for="tok-dur">Lifetime</label>
        <input id="tok-dur" class="short" value={duration} onInput={(e) => setDuration(e.currentTarget.value)} placeholder="30d, 12h, 0 = never" />
        <button type="submit" class="primary">Create token</button>
      </form>
      {fresh ? (
        <div class="note" role="status" id="new-token">
          <p>
            Token <strong>{fresh.name}</strong>, shown only this once:
          </p>
          <p>
            <code class="secret">{fresh.token}</code>{' '}
            <button type="button" onClick={() => navigator.clipboard?.writeText(fresh.token).then(() => toast('Copied'))}>
              Copy
            </button>{' '}
            <button type="button" onClick={() => setFresh(null)}>Hide</button>
          </p>
        </div>
      ) : null}
    </section>
  );
}

function Fleet() {
  const [result, setResult] = useState('');
  const [busy, setBusy] = useState(false);
  const reload = async () => {
    setBusy(true);
    try {
      const ans = await postCmd('admin/reload.cmd', {});
      setResult(ans.trim() || 'Fleet file reloaded.');
    } catch (e) {
      setResult(isMissingRoute(e) ? 'This collector has no reload route.' : `Refused: ${errorText(e)}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="card" aria-labelledby="fleet-h">
      <h2 id="fleet-h">Fleet file</h2>
      <p>
        Reloading checks the collector's YAML file and, if it has no errors, applies it: connected sensors get their new plans
        without reconnecting. A file with errors is refused and nothing changes; the answer lists each error with its line.
      </p>
      <p class="hint">
        To check a file before it is in place: <code>hopwire-collector config check /etc/hopwire/collector.yaml</code>
      </p>
      <button type="button" onClick={reload} disabled={busy}>
        Check and reload the fleet file
      </button>
      {result ? <pre class="result" role="status">{result}</pre> : null}
    </section>
  );
}

export function Settings() {
  const admin = isAdmin.value;
  const st = status.value?.raw ?? {};
  return (
    <section class="page" aria-labelledby="set-h">
      <div class="page-head">
        <h1 id="set-h">Settings</h1>
        <p class="muted">
          Signed in{session.value.user ? ` as ${session.value.user}` : ''}, role <strong id="role">{session.value.role}</strong>.
        </p>
      </div>
      {admin ? <Tokens /> : null}
      <section class="card" aria-labelledby="pw-h">
        <h2 id="pw-h">Password</h2>
        <p>The collector changes passwords on its own host (there is no REST route for it):</p>
        <pre>hopwire-collector user passwd --state-dir /var/lib/hopwire</pre>
        <p class="hint">
          It asks for the new password (or reads <code>--password-file</code>), stores only its salted hash and removes the
          generated <code>admin-password</code> file.
        </p>
      </section>
      {admin ? <Fleet /> : null}
      <section class="card" aria-labelledby="ui-h">
        <h2 id="ui-h">This browser</h2>
        <form class="inline" onSubmit={(e) => e.preventDefault()}>
          <label for="set-poll">Device updates every</label>
          <select id="set-poll" value={String(pollMs.value)} onChange={(e) => (pollMs.value = Number(e.currentTarget.value))}>
            {[500, 1000, 2000, 5000, 10000].map((ms) => (
              <option value={String(ms)}>{ms / 1000} s</option>
            ))}
          </select>
          <label for="set-bus">Event bus</label>
          <select id="set-bus" value={eventBusMode.value} onChange={(e) => (eventBusMode.value = e.currentTarget.value as 'auto' | 'off')}>
            <option value="auto">use when the collector has it</option>
            <option value="off">off (poll only)</option>
          </select>
          <span class="hint" id="bus-state">
            now: {busState.value}
          </span>
        </form>
      </section>
      <section class="card" aria-labelledby="about-h">
        <h2 id="about-h">Collector</h2>
        <dl class="facts">
          <dt>Version</dt><dd>{String(st['kismet.system.version'] ?? '–')}</dd>
          <dt>Up since</dt><dd>{fmtTime(Number(st['kismet.system.timestamp.start_sec']) || 0)}</dd>
          <dt>Storage</dt><dd>{String(st['hopwire.system.storage.state'] ?? (st['hopwire.system.storage.write_errors'] ? 'errors' : 'ok'))}</dd>
        </dl>
      </section>
    </section>
  );
}
