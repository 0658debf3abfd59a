// Starts a real tidewatch-master process for a test file: a fresh data
// directory, an admin and two plain users (X and Y), an appliance enrollment
// token, `serve` on a free loopback port, and JWTs from the REST login.
//
// The binary comes from TIDEWATCH_MASTER_BIN; when that is unset it is built
// with `go build` from the repository root into a temporary directory that
// is removed again by stop().

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

/** Repository root: this file lives in <root>/interop/lib. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** How long serve may take to answer /healthz. */
const startTimeoutMs = 15_000;

/** How long serve may take to exit after SIGTERM. */
const stopTimeoutMs = 15_000;

/**
 * Short fleet durations so liveness logic runs in test time. The fake
 * appliance heartbeats at the interval the register ack announces.
 */
export const defaultServeFlags = [
  '--heartbeat-interval', '1s',
  '--liveness-timeout', '3s',
  '--disconnect-grace', '3s',
  '--sweep-interval', '200ms',
  '--shutdown-timeout', '10s',
];

/**
 * Runs a command to completion and returns its output.
 * @param {string} cmd
 * @param {string[]} args
 * @param {{cwd?: string, input?: string}} [opts]
 * @returns {Promise<{code: number|null, stdout: string, stderr: string}>}
 */
export function run(cmd, args, { cwd, input } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

/**
 * Runs a command and fails unless it exits 0.
 * @param {string} cmd
 * @param {string[]} args
 * @param {{cwd?: string, input?: string}} [opts]
 */
async function runOK(cmd, args, opts) {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    // Arguments never carry secrets here (passwords go through stdin).
    throw new Error(`${path.basename(cmd)} ${args.slice(0, 2).join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  }
  return r;
}

/**
 * Returns the master binary to run, building it when TIDEWATCH_MASTER_BIN
 * is unset. cleanup removes whatever was built.
 * @returns {Promise<{bin: string, cleanup: () => Promise<void>}>}
 */
export async function masterBinary() {
  const fromEnv = process.env.TIDEWATCH_MASTER_BIN;
  if (fromEnv) {
    return { bin: path.resolve(fromEnv), cleanup: async () => {} };
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tidewatch-interop-bin-'));
  const bin = path.join(dir, 'tidewatch-master');
  try {
    await runOK('go', ['build', '-o', bin, './cmd/tidewatch-master'], { cwd: repoRoot });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return { bin, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Picks a free loopback port by binding port 0 and letting it go.
 * @returns {Promise<number>}
 */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A user of the running master.
 * @typedef {{username: string, id: string, jwt: string, admin: boolean}} User
 */

/** The running master and what setup made in it. */
export class Master {
  /**
   * @param {object} f
   * @param {import('node:child_process').ChildProcess} f.proc
   * @param {string} f.url base URL, e.g. http://127.0.0.1:1234
   * @param {string} f.dataDir
   * @param {string} f.workerToken enrollment token for appliances
   * @param {() => Promise<void>} f.cleanupBinary
   */
  constructor({ proc, url, dataDir, workerToken, cleanupBinary }) {
    this.proc = proc;
    this.url = url;
    this.dataDir = dataDir;
    this.workerToken = workerToken;
    /** @type {{admin: User, x: User, y: User}} */
    this.users = /** @type {any} */ ({});
    this.stderr = '';
    this.cleanupBinary = cleanupBinary;
    /** @type {Promise<{code: number|null, signal: string|null}>} */
    this.exited = new Promise((resolve) => {
      proc.on('exit', (code, signal) => resolve({ code, signal }));
    });
    this.stopped = null;
  }

  /**
   * Calls the REST API and returns status and parsed body.
   * @param {string} method
   * @param {string} apiPath path under /api/v1, e.g. "/accounts"
   * @param {{jwt?: string, body?: unknown}} [opts]
   * @returns {Promise<{status: number, body: any}>}
   */
  async api(method, apiPath, { jwt, body } = {}) {
    const headers = { accept: 'application/json' };
    if (jwt) headers.authorization = `Bearer ${jwt}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${this.url}/api/v1${apiPath}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed = text;
    try { parsed = JSON.parse(text); } catch { /* keep the text */ }
    return { status: res.status, body: parsed };
  }

  /**
   * Logs in through REST and returns the JWT and user id.
   * @param {string} username
   * @param {string} password
   */
  async login(username, password) {
    const r = await this.api('POST', '/auth/login', { body: { username, password } });
    if (r.status !== 200 || typeof r.body?.token !== 'string') {
      throw new Error(`login of ${username} answered ${r.status}: ${JSON.stringify(r.body)}`);
    }
    return { jwt: r.body.token, id: r.body.user?.id, expiresAt: r.body.expires_at };
  }

  /**
   * Creates a Douyin account through REST as `by` and returns its view.
   * @param {User} by
   * @param {{account_id: string, account_name?: string, credentials?: unknown,
   *   monitor_interval?: number, owner_id?: string}} fields
   */
  async createAccount(by, fields) {
    const r = await this.api('POST', '/accounts', {
      jwt: by.jwt,
      body: { platform: 'douyin', monitor_interval: 30, credentials: '', ...fields },
    });
    if (r.status !== 201) {
      throw new Error(`creating account ${fields.account_id} answered ${r.status}: ${JSON.stringify(r.body)}`);
    }
    return r.body;
  }

  /**
   * Sends SIGTERM, waits for the process to exit and removes the data
   * directory (and a binary built for this run). Safe to call twice.
   * @returns {Promise<{code: number|null, signal: string|null}>}
   */
  stop() {
    this.stopped ??= (async () => {
      if (this.proc.exitCode === null && this.proc.signalCode === null) {
        this.proc.kill('SIGTERM');
      }
      const timer = setTimeout(() => this.proc.kill('SIGKILL'), stopTimeoutMs);
      const result = await this.exited;
      clearTimeout(timer);
      await rm(this.dataDir, { recursive: true, force: true });
      await this.cleanupBinary();
      return result;
    })();
    return this.stopped;
  }
}

/**
 * Starts a master with the setup every test file uses.
 * @param {{serveFlags?: string[]}} [opts]
 * @returns {Promise<Master>}
 */
export async function startMaster({ serveFlags = defaultServeFlags } = {}) {
  const { bin, cleanup } = await masterBinary();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'tidewatch-interop-data-'));
  const passwords = {};
  const specs = [
    { key: 'admin', username: 'admin', admin: true },
    { key: 'x', username: 'xavier', admin: false },
    { key: 'y', username: 'yvonne', admin: false },
  ];
  let master;
  try {
    for (const s of specs) {
      passwords[s.key] = randomBytes(12).toString('hex');
      const args = ['user', 'add', '--data', dataDir, '--username', s.username, '--password-stdin'];
      if (s.admin) args.push('--admin');
      await runOK(bin, args, { input: `${passwords[s.key]}\n` });
    }
    const tok = await runOK(bin, ['token', 'create', '--data', dataDir, '--name', 'interop-appliance']);
    const workerToken = tok.stdout.trim().split('\n').at(-1).trim();
    if (!workerToken) throw new Error('token create printed no token');

    const port = await freePort();
    const proc = spawn(bin, ['serve', '--listen', `127.0.0.1:${port}`, '--data', dataDir, ...serveFlags], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    master = new Master({ proc, url: `http://127.0.0.1:${port}`, dataDir, workerToken, cleanupBinary: cleanup });
    proc.stderr.setEncoding('utf8').on('data', (d) => {
      master.stderr += d;
      if (process.env.TIDEWATCH_INTEROP_VERBOSE) process.stderr.write(d);
    });
    await waitHealthy(master);
    for (const s of specs) {
      const { jwt, id } = await master.login(s.username, passwords[s.key]);
      master.users[s.key] = { username: s.username, id, jwt, admin: s.admin };
    }
    return master;
  } catch (err) {
    if (master) {
      await master.stop();
      err.message += `\nmaster stderr:\n${master.stderr}`;
    } else {
      await rm(dataDir, { recursive: true, force: true });
      await cleanup();
    }
    throw err;
  }
}

/**
 * Waits until serve logged its address and /healthz answers ok.
 * @param {Master} master
 */
async function waitHealthy(master) {
  const deadline = Date.now() + startTimeoutMs;
  let exited = false;
  master.exited.then(() => { exited = true; });
  while (Date.now() < deadline) {
    if (exited) throw new Error(`serve exited during start (code ${master.proc.exitCode})`);
    if (master.stderr.includes('master listening')) {
      try {
        const res = await fetch(`${master.url}/healthz`);
        const body = await res.json();
        if (res.ok && body.status === 'ok') return;
      } catch { /* not up yet */ }
    }
    await sleep(50);
  }
  throw new Error('serve did not become healthy in time');
}
