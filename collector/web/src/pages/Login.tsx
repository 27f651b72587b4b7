import { useRef, useState } from 'preact/hooks';
import { describeLoginError, login, loginWithToken, session } from '../session';

export function Login() {
  const [mode, setMode] = useState<'password' | 'token'>('password');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const user = useRef<HTMLInputElement>(null);
  const pass = useRef<HTMLInputElement>(null);
  const token = useRef<HTMLInputElement>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      if (mode === 'password') await login(user.current!.value.trim(), pass.current!.value);
      else await loginWithToken(token.current!.value.trim());
      if (pass.current) pass.current.value = '';
    } catch (err) {
      setError(describeLoginError(err));
    } finally {
      setBusy(false);
    }
  };

  const note = session.value.note;
  return (
    <main class="login" id="main">
      <div class="login-card">
        <h1>
          <img src="./favicon.svg" alt="" width={28} height={28} /> Hopwire
        </h1>
        <p class="muted">Sign in to the collector.</p>
        {note ? (
          <p class="note" role="status">
            {note}
          </p>
        ) : null}
        <div class="tabs" role="tablist" aria-label="How to sign in">
          <button type="button" role="tab" id="tab-password" aria-controls="login-form" aria-selected={mode === 'password'} onClick={() => setMode('password')}>
            Password
          </button>
          <button type="button" role="tab" id="tab-token" aria-controls="login-form" aria-selected={mode === 'token'} onClick={() => setMode('token')}>
            API token
          </button>
        </div>
        <form id="login-form" role="tabpanel" aria-labelledby={mode === 'password' ? 'tab-password' : 'tab-token'} onSubmit={submit}>
          {mode === 'password' ? (
            <>
              <label for="login-user">User name</label>
              <input id="login-user" ref={user} name="username" autoComplete="username" defaultValue="admin" required />
              <label for="login-password">Password</label>
              <input id="login-password" ref={pass} name="password" type="password" autoComplete="current-password" required />
            </>
          ) : (
            <>
              <label for="login-token">API token</label>
              <input id="login-token" ref={token} name="token" type="password" autoComplete="off" placeholder="hw_…" required />
              <p class="hint">
                Tokens carry a role: a <code>readonly</code> token shows everything and changes nothing. An admin makes one under
                Settings, or with <code>hopwire-collector token create --role readonly --name NAME</code>.
              </p>
            </>
          )}
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Signing in…' : 'Sign in'}
          </button>
          {error ? (
            <p class="error" role="alert">
              {error}
            </p>
          ) : null}
        </form>
        <section class="hint" aria-labelledby="pw-where">
          <h2 id="pw-where">Where is the password?</h2>
          <p>
            There is no default password. On its first start the collector creates the user <code>admin</code> with a random
            password and writes it to <code>&lt;state-dir&gt;/admin-password</code> (mode 0600), for example{' '}
            <code>/var/lib/hopwire/admin-password</code>, or <code>var/quickstart/state/admin-password</code> for the quick start.
            It logs that path at start.
          </p>
          <p>
            To set a new one: <code>hopwire-collector user passwd --state-dir &lt;state-dir&gt;</code> (the file is then removed).
          </p>
        </section>
      </div>
    </main>
  );
}
