// Real processes for the browser tests and the benchmark: a collector on
// loopback ports chosen at run time, sensors replaying captures, the UI's
// front, and Debian's chromium through playwright-core. Mirrors
// tests/integration/conftest.py.
import { spawn, spawnSync } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const HERE = dirname(fileURLToPath(import.meta.url));
export const SOURCE_DIR = resolve(process.env.HOPWIRE_SOURCE_DIR ?? join(HERE, '..', '..', '..'));
export const BUILD_DIR = resolve(process.env.HOPWIRE_BUILD_DIR ?? join(SOURCE_DIR, 'build'));
export const COLLECTOR = join(BUILD_DIR, 'collector', 'hopwire-collector');
export const SENSOR = join(BUILD_DIR, 'sensor', 'hopwire-sensor');
export const DATA = join(SOURCE_DIR, 'tests', 'data');
export const TOOLS = join(SOURCE_DIR, 'tests', 'tools');
export const WEB = join(SOURCE_DIR, 'collector', 'web');
export const CHROMIUM = process.env.HOPWIRE_CHROMIUM ?? '/usr/bin/chromium';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

export async function waitForPort(port, { timeout = 20000, proc } = {}) {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    if (proc && proc.exitCode !== null) throw new Error(`process exited with ${proc.exitCode} before listening`);
    const ok = await new Promise((r) => {
      const c = connect(port, '127.0.0.1');
      c.on('connect', () => {
        c.destroy();
        r(true);
      });
      c.on('error', () => r(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`nothing listening on port ${port} after ${timeout} ms`);
}

/** Waits for a binary the lead may be rebuilding right now. */
export async function needBinary(path, waitMs = 180000) {
  const deadline = Date.now() + waitMs;
  while (!existsSync(path)) {
    if (Date.now() > deadline) throw new Error(`${path} is missing (build the project first)`);
    console.log(`waiting for ${path} ...`);
    await sleep(15000);
  }
}

export async function until(fn, { timeout = 10000, every = 100, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await sleep(every);
  }
  throw new Error(`timed out after ${timeout} ms waiting for ${what}${last instanceof Error ? ': ' + last.message : ''}`);
}

export class Collector {
  constructor(workdir, { extraArgs = [], env = {} } = {}) {
    this.workdir = workdir;
    this.stateDir = join(workdir, 'state');
    this.extraArgs = extraArgs;
    this.env = { ...process.env, ...env };
    delete this.env.HOPWIRE_ADMIN_PASSWORD;
    if (env.HOPWIRE_ADMIN_PASSWORD) this.env.HOPWIRE_ADMIN_PASSWORD = env.HOPWIRE_ADMIN_PASSWORD;
    this.logPath = join(workdir, 'collector.log');
  }

  async start() {
    await needBinary(COLLECTOR);
    this.port = await freePort();
    this.url = `http://127.0.0.1:${this.port}`;
    const log = openSync(this.logPath, 'a');
    this.proc = spawn(COLLECTOR, ['--state-dir', this.stateDir, '--listen', `127.0.0.1:${this.port}`, '--remote-capture-port', '0', ...this.extraArgs], {
      env: this.env,
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    await waitForPort(this.port, { proc: this.proc });
    return this;
  }

  get password() {
    return this.env.HOPWIRE_ADMIN_PASSWORD ?? readFileSync(join(this.stateDir, 'admin-password'), 'utf8').trim();
  }

  auth(user = 'admin', password = this.password) {
    return 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
  }

  /** fetch with admin credentials (or opts.headers.Authorization). */
  async fetch(path, opts = {}) {
    const headers = { Authorization: this.auth(), ...(opts.headers ?? {}) };
    let body = opts.body;
    if (body !== undefined && typeof body !== 'string') {
      body = JSON.stringify(body);
      headers['Content-Type'] = 'application/json';
    }
    return fetch(this.url + path, { method: opts.method ?? (body !== undefined ? 'POST' : 'GET'), headers, body });
  }

  async json(path, opts) {
    const r = await this.fetch(path, opts);
    const t = await r.text();
    if (!r.ok) throw new Error(`${opts?.method ?? 'GET'} ${path}: ${r.status} ${t.slice(0, 200)}`);
    return JSON.parse(t);
  }

  async status(path) {
    return (await this.fetch(path)).status;
  }

  token(role, name) {
    const r = spawnSync(COLLECTOR, ['token', 'create', '--state-dir', this.stateDir, '--role', role, '--name', name], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`token create: ${r.stderr}`);
    return r.stdout.trim();
  }

  async stop() {
    if (!this.proc || this.proc.exitCode !== null) return;
    this.proc.kill('SIGTERM');
    const done = new Promise((r) => this.proc.once('exit', r));
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 20000);
    await done;
    clearTimeout(t);
  }

  log() {
    return existsSync(this.logPath) ? readFileSync(this.logPath, 'utf8') : '';
  }
}

export class Sensor {
  constructor(collector, source, { extra = [], logPath } = {}) {
    this.collector = collector;
    this.args = ['--connect', `127.0.0.1:${collector.port}`, '--user', 'admin', '--source', source, ...extra];
    this.env = { ...process.env, HOPWIRE_PASSWORD: collector.password };
    delete this.env.HOPWIRE_APIKEY;
    this.logPath = logPath ?? join(collector.workdir, `sensor-${Math.random().toString(36).slice(2, 8)}.log`);
  }

  async start() {
    await needBinary(SENSOR);
    const log = openSync(this.logPath, 'a');
    this.proc = spawn(SENSOR, this.args, { env: this.env, stdio: ['ignore', log, log] });
    closeSync(log);
    this.exited = new Promise((r) => this.proc.once('exit', (code) => r(code)));
    return this;
  }

  async wait(timeout = 120000) {
    let t;
    const code = await Promise.race([this.exited, new Promise((r) => (t = setTimeout(() => r('timeout'), timeout)))]);
    clearTimeout(t);
    if (code === 'timeout') {
      this.proc.kill('SIGKILL');
      throw new Error(`sensor did not finish in ${timeout} ms:\n${this.output()}`);
    }
    return code;
  }

  async run(timeout) {
    await this.start();
    return this.wait(timeout);
  }

  async stop() {
    if (this.proc && this.proc.exitCode === null) {
      this.proc.kill('SIGTERM');
      await Promise.race([this.exited, sleep(10000)]);
      if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
    }
  }

  output() {
    return existsSync(this.logPath) ? readFileSync(this.logPath, 'utf8') : '';
  }
}

/** A crafted capture from tests/tools/make_capture.py (cached per options). */
export function craftCapture(dir, frames, opts = {}) {
  const name = `crafted-${frames}-` + Object.entries(opts).map(([k, v]) => `${k}${v}`).join('-') + '.pcap';
  const out = join(dir, name);
  if (existsSync(out)) return out;
  const args = [join(TOOLS, 'make_capture.py'), out, '--frames', String(frames)];
  for (const [k, v] of Object.entries(opts)) args.push('--' + k.replace(/_/g, '-'), String(v));
  const r = spawnSync('python3', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`make_capture.py: ${r.stderr}`);
  return out;
}

export function tempDir(prefix) {
  const d = mkdtempSync(join(tmpdir(), prefix));
  return { path: d, remove: () => rmSync(d, { recursive: true, force: true }) };
}

/** Builds collector/web (npm ci if needed) unless dist/ is there and newer. */
export function ensureUiBuilt({ force = false } = {}) {
  const dist = join(WEB, 'dist', 'index.html');
  if (!force && existsSync(dist)) return;
  const run = (cmd, args) => {
    console.log(`[ui] ${cmd} ${args.join(' ')} (in collector/web)`);
    const r = spawnSync(cmd, args, { cwd: WEB, stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed in ${WEB}`);
  };
  if (!existsSync(join(WEB, 'node_modules'))) run('npm', ['ci', '--no-audit', '--no-fund']);
  run('npm', ['run', 'build']);
}

/** Chromium as the issue says: Debian's, headless, nothing phoning home. */
export async function launchBrowser(chromium, { userDataDir } = {}) {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  const args = [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ];
  if (userDataDir) {
    // One persistent context in a fresh, empty profile directory.
    return chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args, viewport: { width: 1400, height: 900 } });
  }
  // launch() gives the browser a fresh, empty --user-data-dir of its own.
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args });
}

export function ensureDir(d) {
  mkdirSync(d, { recursive: true });
  return d;
}
