// Starts the other real processes of an end-to-end run: the fake Douyin
// and an appliance. Binaries come from TIDEWATCH_FAKEDOUYIN_BIN and
// TIDEWATCH_APPLIANCE_BIN, or are built from the repository like the master.

import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, repoRoot, run } from './master.js';

/**
 * Returns a binary: the path in env, else one built into a temp dir.
 * @param {string} envName
 * @param {string} cmd the ./cmd/<cmd> package
 */
async function binary(envName, cmd) {
  if (process.env[envName]) return { bin: path.resolve(process.env[envName]), cleanup: async () => {} };
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tidewatch-interop-bin-'));
  const bin = path.join(dir, cmd);
  const r = await run('go', ['build', '-o', bin, `./cmd/${cmd}`], { cwd: repoRoot });
  if (r.code !== 0) throw new Error(`go build ${cmd}: ${r.stderr}`);
  return { bin, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A started process with its stderr kept for failure messages. */
class Proc {
  constructor(name, proc, cleanup) {
    this.name = name;
    this.proc = proc;
    this.stderr = '';
    this.cleanup = cleanup;
    this.exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
    proc.stderr.setEncoding('utf8').on('data', (d) => {
      this.stderr += d;
      if (process.env.TIDEWATCH_INTEROP_VERBOSE) process.stderr.write(`[${name}] ${d}`);
    });
  }

  /** SIGTERM, wait (SIGKILL after 15 s), clean up; returns the exit. */
  async stop() {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 15_000);
    const r = await this.exited;
    clearTimeout(timer);
    await this.cleanup();
    return r;
  }
}

/** The fake Douyin, with its control API. */
export class FakeDouyin extends Proc {
  /** @param {string[]} [extraArgs] e.g. ['--qr-rotate', '2s'] */
  static async start(extraArgs = []) {
    const { bin, cleanup } = await binary('TIDEWATCH_FAKEDOUYIN_BIN', 'tidewatch-fakedouyin');
    const port = await freePort();
    const proc = spawn(bin, ['--listen', `127.0.0.1:${port}`, ...extraArgs], { stdio: ['ignore', 'ignore', 'pipe'] });
    const f = new FakeDouyin('fakedouyin', proc, cleanup);
    f.url = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 100; i++) {
      try {
        const r = await fetch(`${f.url}/__fake/accounts`);
        if (r.ok) return f;
      } catch { /* not up yet */ }
      await sleep(100);
    }
    await f.stop();
    throw new Error(`fake douyin did not start: ${f.stderr}`);
  }

  /**
   * Calls the control API.
   * @param {string} method
   * @param {string} p path under /__fake/
   * @param {unknown} [body]
   */
  async control(method, p, body) {
    const r = await fetch(`${this.url}/__fake/${p}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} /__fake/${p} answered ${r.status}: ${text}`);
    return JSON.parse(text);
  }
}

/** A tidewatch-appliance process with its own data directory. */
export class Appliance extends Proc {
  /**
   * @param {{masterURL: string, token: string, fakeURL: string, workerID: string}} o
   */
  static async start({ masterURL, token, fakeURL, workerID }) {
    const { bin, cleanup: cleanBin } = await binary('TIDEWATCH_APPLIANCE_BIN', 'tidewatch-appliance');
    const data = await mkdtemp(path.join(os.tmpdir(), 'tidewatch-interop-appliance-'));
    const setup = await freePort();
    const proc = spawn(bin, [
      'run', '--data', data, '--master', masterURL, '--token', token, '--worker-id', workerID,
      '--setup-listen', `127.0.0.1:${setup}`, '--heartbeat', '1s',
      '--douyin-www-origin', fakeURL, '--douyin-creator-origin', fakeURL,
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    const a = new Appliance('appliance', proc, async () => {
      await rm(data, { recursive: true, force: true });
      await cleanBin();
    });
    a.dataDir = data;
    return a;
  }
}
