// Who is signed in, and with which role. The collector issues the KISMET
// session cookie (HttpOnly) when a request carries HTTP Basic credentials;
// the UI never stores a password.
import { computed, signal } from '@preact/signals';
import { ApiError, getJson, isMissingRoute, request, setUnauthorizedHandler } from './api';

export type Role = 'admin' | 'readonly' | string;

export interface Session {
  state: 'checking' | 'signed-out' | 'signed-in';
  user: string;
  role: Role;
  /** Why the UI is at the login page (expired session, logout, ...). */
  note: string;
}

export const session = signal<Session>({ state: 'checking', user: '', role: '', note: '' });
export const isAdmin = computed(() => session.value.state === 'signed-in' && session.value.role === 'admin');

const USER_KEY = 'hopwire.user';
// Set by logout, so a reload of this tab does not sign in again with a
// cookie the collector could not revoke.
const LOGGED_OUT_KEY = 'hopwire.signed-out';

function basic(user: string, password: string): string {
  // btoa takes Latin-1; encode UTF-8 first so any password works.
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return 'Basic ' + btoa(bin);
}

/**
 * The role of the current credentials. GET /session/info.json answers
 * {"user", "role"}; a collector without that route is asked for the token
 * list, which only admins may read (403 for everyone else).
 */
async function findRole(): Promise<{ user?: string; role: Role }> {
  try {
    const info = await getJson<{ user?: string; role?: string }>('session/info.json');
    if (info && typeof info.role === 'string') return { user: info.user, role: info.role };
  } catch (e) {
    if (!isMissingRoute(e)) throw e;
  }
  try {
    await request('auth/apikey/list.json');
    return { role: 'admin' };
  } catch (e) {
    if (e instanceof ApiError && e.status === 403) return { role: 'readonly' };
    throw e;
  }
}

async function signedIn(userHint: string) {
  const hint = userHint || sessionStorage.getItem(USER_KEY) || '';
  if (hint) sessionStorage.setItem(USER_KEY, hint);
  sessionStorage.removeItem(LOGGED_OUT_KEY);
  // Show the pages at once (the device list starts loading); controls appear
  // when the role is known (until then the UI is read-only).
  session.value = { state: 'signed-in', user: hint, role: '', note: '' };
  try {
    const { user, role } = await findRole();
    if (user) sessionStorage.setItem(USER_KEY, user);
    if (session.value.state === 'signed-in') session.value = { ...session.value, user: user || hint, role };
  } catch {
    if (session.value.state === 'signed-in') session.value = { ...session.value, role: 'readonly' };
  }
}

/** On start: is there a valid session cookie already? */
export async function checkSession(): Promise<void> {
  if (sessionStorage.getItem(LOGGED_OUT_KEY)) {
    session.value = { state: 'signed-out', user: '', role: '', note: '' };
    return;
  }
  try {
    await request('session/check_session', { login: true });
    await signedIn('');
  } catch (e) {
    session.value = {
      state: 'signed-out',
      user: '',
      role: '',
      note: e instanceof ApiError && e.status === 401 ? '' : describeLoginError(e),
    };
  }
}

export function describeLoginError(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.status === 401) return 'Wrong user name or password.';
    if (e.status === 429) return 'Too many failed logins from this address. ' + e.body.trim();
    if (e.status === 0) return 'The collector does not answer. Is it running?';
    return `The collector answered ${e.status}: ${e.body.trim().slice(0, 200)}`;
  }
  return String(e);
}

/** Password login: the answer sets the KISMET cookie. */
export async function login(user: string, password: string): Promise<void> {
  await request('session/check_login', { login: true, headers: { Authorization: basic(user, password) } });
  await signedIn(user);
}

/**
 * API token login (how a read-only operator signs in: tokens carry roles).
 * The collector accepts a token as the KISMET cookie; if it does not set one
 * itself for a Bearer login, the UI sets it (readable by this page's
 * scripts, unlike the password session cookie; see docs/ui.md).
 */
export async function loginWithToken(token: string): Promise<void> {
  const res = await request('session/check_login', { login: true, headers: { Authorization: 'Bearer ' + token } });
  void res;
  // Did the collector issue a session cookie? (It is HttpOnly, so ask.)
  try {
    await request('session/check_session', { login: true });
  } catch {
    const secure = location.protocol === 'https:' ? '; Secure' : '';
    document.cookie = `KISMET=${encodeURIComponent(token)}; Path=/; SameSite=Strict${secure}`;
    await request('session/check_session', { login: true });
  }
  await signedIn('API token');
}

/**
 * Logout: POST /session/logout.cmd ends the session and clears the cookie.
 * A collector without that route keeps the session until it expires
 * (8 h of disuse); the UI says so.
 */
export async function logout(): Promise<void> {
  let note = 'Signed out.';
  try {
    await request('session/logout.cmd', { method: 'POST', login: true, body: {} });
  } catch (e) {
    if (isMissingRoute(e)) {
      note =
        'Signed out of this page. This collector has no logout route, so the session cookie stays valid until it expires (8 hours unused); close the browser to end it.';
    }
  }
  // A token cookie set by the UI itself can be cleared here.
  document.cookie = 'KISMET=; Path=/; Max-Age=0; SameSite=Strict';
  sessionStorage.removeItem(USER_KEY);
  sessionStorage.setItem(LOGGED_OUT_KEY, '1');
  session.value = { state: 'signed-out', user: '', role: '', note };
}

setUnauthorizedHandler(() => {
  if (session.value.state === 'signed-in') {
    session.value = { state: 'signed-out', user: '', role: '', note: 'Your session ended. Please sign in again.' };
  }
});
