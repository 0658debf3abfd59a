// Error handling of the contract: "{type}:error" envelopes with the
// contract's codes, and connections that survive bad input.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startMaster } from '../lib/master.js';
import { Client, Peer, Worker, comment, envelope, isRecentSeconds } from '../lib/peer.js';

/**
 * Asserts msg is the contract's error envelope answering type with code.
 * @param {any} msg
 * @param {string} type the original type
 * @param {string} code
 */
function assertError(msg, type, code) {
  assert.equal(msg.type, `${type}:error`, JSON.stringify(msg));
  assert.equal(msg.version, 'v1');
  assert.ok(isRecentSeconds(msg.timestamp));
  assert.equal(msg.payload.success, false);
  assert.equal(msg.payload.error_code, code, msg.payload.error_message);
  assert.equal(typeof msg.payload.error_message, 'string');
  assert.ok(msg.payload.error_message.length > 0);
  assert.equal(typeof msg.payload.details, 'object');
}

describe('errors', () => {
  /** @type {import('../lib/master.js').Master} */
  let master;
  let account;

  before(async () => {
    master = await startMaster();
    account = await master.createAccount(master.users.x, { account_id: 'dy-err', account_name: 'err' });
  });

  after(async () => {
    await master?.stop();
  });

  test('worker:register with a wrong or missing enrollment token gets ERR_AUTH_FAILED and no worker role', async (t) => {
    const wrong = await Worker.start(master.url, { workerId: 'w-wrong', token: 'twk_not-a-real-token', register: false });
    t.after(() => wrong.close());
    assertError(await wrong.register(), 'worker:register', 'ERR_AUTH_FAILED');
    assert.equal(wrong.socket.connected, true, 'the connection stays up');
    // Still nobody: worker events are refused.
    const hb = await wrong.request('worker:heartbeat', {
      worker_id: 'w-wrong', status: 'online', active_tasks: 0, memory_usage: 1, cpu_usage: 1,
    });
    assertError(hb, 'worker:heartbeat', 'ERR_AUTH_FAILED');
    const det = await wrong.detect({ account_id: account.id, data: comment('c-wrong', '1') });
    assertError(det, 'worker:message:detected', 'ERR_AUTH_FAILED');

    const none = await Worker.start(master.url, { workerId: 'w-none', register: false });
    t.after(() => none.close());
    assertError(await none.register(), 'worker:register', 'ERR_AUTH_FAILED');

    const ws = await master.api('GET', '/workers', { jwt: master.users.admin.jwt });
    assert.ok(!ws.body.workers.some((w) => w.id === 'w-wrong' || w.id === 'w-none'), 'no worker was recorded');

    // The same socket registers once it presents the right token, here as
    // the payload's auth_token (the extension for peers without handshake
    // auth).
    const ack = await none.register({ auth_token: master.workerToken });
    assert.equal(ack.type, 'worker:register:ack');
    assert.equal(ack.payload.success, true);
  });

  test('an unknown version gets ERR_UNSUPPORTED_VERSION; v1.x is accepted', async (t) => {
    const w = await Worker.start(master.url, { workerId: 'w-version', token: master.workerToken, register: false });
    t.after(() => w.close());
    assertError(await w.request('worker:register', w.registerPayload(), { version: 'v2' }), 'worker:register', 'ERR_UNSUPPORTED_VERSION');
    assertError(await w.request('worker:register', w.registerPayload(), { version: '1' }), 'worker:register', 'ERR_UNSUPPORTED_VERSION');
    const ok = await w.request('worker:register', w.registerPayload(), { version: 'v1.1' });
    assert.equal(ok.type, 'worker:register:ack', 'a v1.1 peer is a v1 peer with optional extras');

    const c = await Peer.connect(master.url, { name: 'client-version' });
    t.after(() => c.close());
    assertError(await c.request('client:connect', { device_id: 'd', device_type: 'ios', auth_token: master.users.x.jwt }, { version: 'v9' }),
      'client:connect', 'ERR_UNSUPPORTED_VERSION');
  });

  test('malformed messages get ERR_INVALID_PAYLOAD and the connection stays up for a later valid message', async (t) => {
    const w = await Worker.start(master.url, { workerId: 'w-malformed', token: master.workerToken, register: false });
    t.after(() => w.close());
    const valid = w.registerPayload();
    const ts = Date.now();
    const cases = [
      { name: 'a string that is not JSON', raw: 'hello', type: 'unknown' },
      { name: 'a number', raw: 42, type: 'unknown' },
      { name: 'an array', raw: [1, 2], type: 'unknown' },
      { name: 'null', raw: null, type: 'unknown' },
      { name: 'no type', raw: { version: 'v1', payload: valid, timestamp: ts }, type: 'unknown' },
      { name: 'an unknown type', raw: { type: 'worker:dance', version: 'v1', payload: {}, timestamp: ts }, type: 'worker:dance' },
      { name: 'a type only the master sends', raw: envelope('master:notification:push', { id: 'x' }), type: 'master:notification:push' },
      { name: 'no version', raw: { type: 'worker:register', payload: valid, timestamp: ts }, type: 'worker:register' },
      { name: 'no timestamp', raw: { type: 'worker:register', version: 'v1', payload: valid }, type: 'worker:register' },
      { name: 'a timestamp that is no number', raw: envelope('worker:register', valid, { timestamp: 'yesterday' }), type: 'worker:register' },
      { name: 'a payload that is no object', raw: envelope('worker:register', 'x'), type: 'worker:register' },
      { name: 'no worker_id', raw: envelope('worker:register', { ...valid, worker_id: undefined }), type: 'worker:register', msg: /worker_id/ },
      { name: 'no capabilities', raw: envelope('worker:register', { ...valid, capabilities: [] }), type: 'worker:register', msg: /capabilities/ },
      { name: 'a port that is a string', raw: envelope('worker:register', { ...valid, port: '4000' }), type: 'worker:register', msg: /port/ },
      { name: 'a port out of range', raw: envelope('worker:register', { ...valid, port: 70000 }), type: 'worker:register', msg: /port/ },
      {
        name: 'an envelope over the size limit',
        raw: envelope('worker:register', { ...valid, name: 'x'.repeat(300 * 1024) }),
        type: 'worker:register',
        msg: /limit/,
      },
    ];
    for (const c of cases) {
      await t.test(c.name, async () => {
        const requestId = `bad-${c.name}`;
        const isObject = c.raw !== null && typeof c.raw === 'object' && !Array.isArray(c.raw);
        w.sendRaw(isObject ? { ...c.raw, requestId } : c.raw);
        const reply = await w.expect((m) => m.type === `${c.type}:error`, `${c.type}:error`);
        assertError(reply, c.type, 'ERR_INVALID_PAYLOAD');
        if (isObject) assert.equal(reply.requestId, requestId, 'errors echo the requestId when one could be read');
        if (c.msg) assert.match(reply.payload.error_message, c.msg);
        assert.equal(w.socket.connected, true, 'the connection stays up');
      });
    }
    // An event with no argument at all.
    w.socket.emit('message');
    assertError(await w.expect('unknown:error'), 'unknown', 'ERR_INVALID_PAYLOAD');
    assert.deepEqual(w.inbox, [], 'one error per bad message, nothing else');

    // The same socket still works; an envelope sent as JSON text is read too.
    w.sendRaw(JSON.stringify(envelope('worker:register', valid, { requestId: 'as-text' })));
    const ack = await w.expect('worker:register:ack');
    assert.equal(ack.requestId, 'as-text');
    assert.equal(ack.payload.success, true);
  });

  test('a registered worker gets errors for bad detections and still delivers good ones', async (t) => {
    const w = await Worker.start(master.url, { workerId: 'w-detect', token: master.workerToken });
    t.after(() => w.close());
    assertError(await w.detect({ account_id: account.id, message_type: 'video', data: comment('c1', '1') }),
      'worker:message:detected', 'ERR_INVALID_PAYLOAD');
    assertError(await w.detect({ account_id: account.id, data: comment('c2', '') }),
      'worker:message:detected', 'ERR_INVALID_PAYLOAD');
    assertError(await w.detect({ account_id: 'acc-nope', data: comment('c3', '3') }),
      'worker:message:detected', 'ERR_ACCOUNT_NOT_FOUND');
    assertError(await w.request('worker:message:detected', {
      worker_id: 'someone-else', account_id: account.id, message_type: 'comment', data: comment('c4', '4'),
    }), 'worker:message:detected', 'ERR_INVALID_PAYLOAD');
    // Client events from a worker are refused.
    assertError(await w.request('client:sync:request', { device_id: 'd' }), 'client:sync:request', 'ERR_INVALID_PAYLOAD');

    const ok = await w.detect({ account_id: account.id, data: comment('c5', '5') });
    assert.equal(ok.type, 'worker:message:ack');
    assert.equal(ok.payload.message_id, 'c5');
  });

  test('a client that sends worker events is refused and never becomes a worker', async (t) => {
    const c = await Client.start(master.url, { jwt: master.users.x.jwt, deviceId: 'sneaky-laptop' });
    t.after(() => c.close());
    const reg = await c.request('worker:register', {
      worker_id: 'sneaky', host: 'h', port: 1, version: '1', capabilities: ['douyin'], max_accounts: 5,
      auth_token: master.workerToken,
    });
    assertError(reg, 'worker:register', 'ERR_INVALID_PAYLOAD');
    assert.match(reg.payload.error_message, /client connection cannot send/);
    assertError(await c.request('worker:message:detected', {
      worker_id: 'sneaky', account_id: account.id, message_type: 'comment', data: comment('s1', '99'),
    }), 'worker:message:detected', 'ERR_INVALID_PAYLOAD');
    assertError(await c.request('worker:heartbeat', {
      worker_id: 'sneaky', status: 'online', active_tasks: 0, memory_usage: 0, cpu_usage: 0,
    }), 'worker:heartbeat', 'ERR_INVALID_PAYLOAD');

    const ws = await master.api('GET', '/workers', { jwt: master.users.admin.jwt });
    assert.ok(!ws.body.workers.some((w) => w.id === 'sneaky'));
    // Still a working client.
    assert.equal((await c.sync({ last_sync_time: 0 })).type, 'client:sync:response');
  });

  test('client:connect with a bad JWT gets ERR_AUTH_FAILED, and such a socket receives no notifications', async (t) => {
    const p = await Peer.connect(master.url, { name: 'bad-jwt' });
    t.after(() => p.close());
    for (const token of ['not-a-jwt', '', `${master.users.x.jwt}x`]) {
      assertError(await p.request('client:connect', { device_id: 'd', device_type: 'desktop', auth_token: token }),
        'client:connect', token === '' ? 'ERR_INVALID_PAYLOAD' : 'ERR_AUTH_FAILED');
    }
    assertError(await p.request('client:sync:request', { device_id: 'd' }), 'client:sync:request', 'ERR_AUTH_FAILED');
    assertError(await p.request('client:notification:read', { notification_id: 'n' }), 'client:notification:read', 'ERR_AUTH_FAILED');

    const owner = await Client.start(master.url, { jwt: master.users.x.jwt, deviceId: 'owner-phone' });
    t.after(() => owner.close());
    const w = await Worker.start(master.url, { workerId: 'w-push', token: master.workerToken });
    t.after(() => w.close());
    assert.equal((await w.detect({ account_id: account.id, data: comment('p1', '777') })).type, 'worker:message:ack');
    await owner.expect('master:notification:push');
    await p.expectNone('master:notification:push');
  });

  test('the master exits 0 on SIGTERM', async () => {
    const { code, signal } = await master.stop();
    assert.equal(signal, null);
    assert.equal(code, 0, master.stderr);
  });
});
