// QR login end to end: the REST API starts a login, the appliance opens the
// fake Douyin's login page in real Chromium, every rotated QR reaches the
// user's device, a simulated scan logs the account in, and from then on its
// comments are pushed. Refusal, timeout and cancel end a login cleanly, and
// the new cookies never show in the master's files, logs or answers.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { defaultServeFlags, startMaster } from '../lib/master.js';
import { Client } from '../lib/peer.js';
import { Appliance, FakeDouyin } from '../lib/fleet.js';

const loginTimeoutS = 8;

/** Every regular file below dir. */
async function files(dir) {
  const out = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...await files(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

describe('QR login through an appliance', () => {
  let master;
  let fake;
  let appliance;
  let phone;
  let account;
  let creator;

  before(async () => {
    master = await startMaster({ serveFlags: [...defaultServeFlags, '--login-timeout', `${loginTimeoutS}s`] });
    fake = await FakeDouyin.start(['--qr-rotate', '2s']);
    creator = await fake.control('POST', 'accounts', { nickname: '扫码登录的号' });
    // The account starts without credentials: it needs a login.
    account = await master.createAccount(master.users.x, { account_id: creator.uid, account_name: '待登录', monitor_interval: 5 });
    appliance = await Appliance.start({ masterURL: master.url, token: master.workerToken, fakeURL: fake.url, workerID: 'login-pi' });
    phone = await Client.start(master.url, { jwt: master.users.x.jwt, deviceId: 'login-phone' });
    // Wait until the appliance is registered, so a login can start.
    for (let i = 0; i < 100; i++) {
      const r = await master.api('GET', '/workers', { jwt: master.users.admin.jwt });
      if (r.body.workers?.some((w) => w.id === 'login-pi' && w.status === 'online')) break;
      await new Promise((res) => setTimeout(res, 100));
    }
  });

  after(async () => {
    phone?.close();
    await appliance?.stop();
    await fake?.stop();
    await master?.stop();
  });

  /** Starts a login as user X and returns its session. */
  async function startLogin() {
    const r = await master.api('POST', `/accounts/${account.id}/login`, { jwt: master.users.x.jwt });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    return r.body;
  }

  /** Waits for a master:login:update of session id matching pred. */
  function update(id, pred, what, timeout = 20_000) {
    return phone.expect((m) => m.type === 'master:login:update' && m.payload.session_id === id && pred(m.payload), what, timeout);
  }

  /** The fake's newest pending login. */
  async function fakeLogin() {
    for (let i = 0; i < 100; i++) {
      const ls = await fake.control('GET', 'logins');
      const pending = (ls.logins ?? ls).filter((l) => l.status !== 'confirmed' && l.status !== 'refused' && l.status !== 'expired');
      if (pending.length) return pending.at(-1);
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error('no pending login on the fake');
  }

  test('scan and confirm: QR codes rotate, the account logs in, and its comments arrive', async () => {
    const s = await startLogin();
    const first = await update(s.session_id, (p) => p.status === 'qr_ready', 'first QR');
    assert.match(first.payload.qr_code_data, /^data:image\/png;base64,/);
    const second = await update(s.session_id, (p) => p.status === 'qr_ready' && p.qr_code_data !== first.payload.qr_code_data, 'rotated QR');
    assert.notEqual(second.payload.qr_code_data, first.payload.qr_code_data);
    const polled = await master.api('GET', `/login-sessions/${s.session_id}`, { jwt: master.users.x.jwt });
    assert.equal(polled.status, 200);
    assert.equal(polled.body.status, 'qr_ready');
    assert.ok(polled.body.qr_updates >= 2);
    const other = await master.api('GET', `/login-sessions/${s.session_id}`, { jwt: master.users.y.jwt });
    assert.equal(other.status, 404, 'another user cannot see the login');

    const fl = await fakeLogin();
    await fake.control('POST', `logins/${fl.id}/scanned`, {});
    await fake.control('POST', `logins/${fl.id}/confirmed`, { uid: creator.uid });
    const done = await update(s.session_id, (p) => p.status === 'succeeded', 'success');
    assert.equal(done.payload.user_info.nickname, '扫码登录的号');

    const acc = await master.api('GET', `/accounts/${account.id}`, { jwt: master.users.x.jwt });
    assert.equal(acc.body.has_credentials, true);
    assert.ok(acc.body.credentials_updated_at > 0);
    assert.ok(acc.body.credentials_expires_at > Date.now() / 1000, 'expiry from the session cookies');

    const c = await fake.control('POST', `accounts/${creator.uid}/comments`, { text: '登录后的第一条评论' });
    const push = await phone.expect(
      (m) => m.type === 'master:notification:push' && m.payload.related_id.endsWith(c.cid), 'comment push', 40_000,
    );
    assert.match(push.payload.content, /登录后的第一条评论$/);
    const active = await master.api('GET', `/accounts/${account.id}`, { jwt: master.users.x.jwt });
    assert.equal(active.body.status, 'active');

    // The session cookie never shows in the master's files, logs or answers.
    const info = await fake.control('GET', `accounts/${creator.uid}`);
    const secret = info.credentials.cookies.find((k) => k.name === 'sessionid').value;
    assert.ok(secret.length >= 16);
    const dirs = [master.dataDir, appliance.dataDir];
    for (const dir of dirs) {
      for (const f of await files(dir)) {
        if ((await stat(f)).size > 50 << 20) continue;
        const body = await readFile(f);
        assert.equal(body.includes(Buffer.from(secret)), false, `${f} holds the session cookie in plaintext`);
      }
    }
    assert.equal(master.stderr.includes(secret), false, 'master log');
    assert.equal(appliance.stderr.includes(secret), false, 'appliance log');
    for (const p of ['/accounts', `/accounts/${account.id}`, `/login-sessions/${s.session_id}`, '/notifications']) {
      const r = await master.api('GET', p, { jwt: master.users.x.jwt });
      assert.equal(JSON.stringify(r.body).includes(secret), false, `GET ${p}`);
    }
  });

  test('a refused login ends as failed/refused', async () => {
    const s = await startLogin();
    await update(s.session_id, (p) => p.status === 'qr_ready', 'QR');
    const fl = await fakeLogin();
    await fake.control('POST', `logins/${fl.id}/refused`, {});
    const u = await update(s.session_id, (p) => p.status === 'failed', 'refusal');
    assert.equal(u.payload.error_type, 'refused');
  });

  test('a login nobody scans times out', async () => {
    const s = await startLogin();
    const u = await update(s.session_id, (p) => p.status === 'failed', 'timeout', (loginTimeoutS + 20) * 1000);
    assert.equal(u.payload.error_type, 'timeout');
  });

  test('a cancelled login ends as cancelled and cannot be cancelled twice', async () => {
    const s = await startLogin();
    await update(s.session_id, (p) => p.status === 'qr_ready', 'QR');
    const r = await master.api('DELETE', `/login-sessions/${s.session_id}`, { jwt: master.users.x.jwt });
    assert.equal(r.status, 200);
    assert.equal(r.body.status, 'cancelled');
    await update(s.session_id, (p) => p.status === 'cancelled', 'cancel update');
    const again = await master.api('DELETE', `/login-sessions/${s.session_id}`, { jwt: master.users.x.jwt });
    assert.equal(again.status, 409);
  });
});
