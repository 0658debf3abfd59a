// Worker side of the contract, spoken by the official socket.io-client
// acting as an appliance against the real master binary.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startMaster } from '../lib/master.js';
import { Worker, envelope, isRecentSeconds, waitMs } from '../lib/peer.js';

describe('worker side', () => {
  /** @type {import('../lib/master.js').Master} */
  let master;
  let account;
  const cookie = 'sessionid=interop-secret-cookie';

  before(async () => {
    master = await startMaster();
    // The admin adds an account for user X before any appliance exists.
    account = await master.createAccount(master.users.admin, {
      account_id: 'dy123456',
      account_name: 'X的抖音账号',
      credentials: cookie,
      monitor_interval: 30,
      owner_id: master.users.x.id,
    });
  });

  after(async () => {
    await master?.stop();
  });

  test('contract scenario 1: worker:register with a millisecond timestamp gets worker:register:ack with the assigned account', async (t) => {
    const w = await Worker.start(master.url, { workerId: 'worker-001', token: master.workerToken, register: false });
    t.after(() => w.close());

    const sentAt = Date.now();
    const requestId = w.send('worker:register', w.registerPayload(), { timestamp: sentAt });
    const msg = await w.expect('worker:register:ack');

    assert.equal(msg.type, 'worker:register:ack');
    assert.equal(msg.version, 'v1');
    assert.equal(msg.requestId, requestId, 'the response echoes requestId');
    assert.ok(isRecentSeconds(msg.timestamp), `timestamp ${msg.timestamp} is Unix seconds`);
    assert.equal(msg.payload.success, true);
    assert.ok(Array.isArray(msg.payload.assigned_accounts), 'assigned_accounts is an array');
    const got = msg.payload.assigned_accounts.find((a) => a.id === account.id);
    assert.ok(got, `assigned_accounts ${JSON.stringify(msg.payload.assigned_accounts)} holds ${account.id}`);
    assert.equal(got.platform, 'douyin');
    assert.equal(got.account_id, 'dy123456');
    assert.equal(got.monitor_interval, 30);
    assert.equal(typeof got.credentials, 'string');
    assert.ok(got.credentials.length > 0, 'credentials travel to the worker');
    assert.ok(!got.credentials.includes('interop-secret-cookie'), 'credentials travel sealed, not in plaintext');

    // The master now shows the account on this worker.
    const list = await master.api('GET', '/accounts', { jwt: master.users.x.jwt });
    assert.equal(list.status, 200);
    const view = list.body.accounts.find((a) => a.id === account.id);
    assert.equal(view.worker_id, 'worker-001');
  });

  test('contract scenario 1 via the Socket.IO ack callback: the response arrives with the same requestId', async (t) => {
    const w = await Worker.start(master.url, { workerId: 'worker-002', token: master.workerToken, register: false });
    t.after(() => w.close());

    const requestId = 'req-register-42';
    const resp = await w.socket.timeout(waitMs).emitWithAck(
      'message',
      envelope('worker:register', w.registerPayload(), { requestId }),
    );
    assert.equal(resp.type, 'worker:register:ack');
    assert.equal(resp.requestId, requestId);
    assert.equal(resp.payload.success, true);
    assert.ok(Array.isArray(resp.payload.assigned_accounts));

    // The same reply also comes as a plain "message" event.
    const ev = await w.expect('worker:register:ack');
    assert.equal(ev.requestId, requestId);
    assert.deepEqual(ev.payload, resp.payload);

    // The classic callback form of emit works the same way.
    const hb = await new Promise((resolve, reject) => {
      w.socket.timeout(waitMs).emit('message', envelope('worker:heartbeat', {
        worker_id: 'worker-002', status: 'online', active_tasks: 0, memory_usage: 150.5, cpu_usage: 25.3,
      }, { requestId: 'req-hb-1' }), (err, reply) => (err ? reject(err) : resolve(reply)));
    });
    assert.equal(hb.type, 'worker:heartbeat:ack');
    assert.equal(hb.requestId, 'req-hb-1');
    assert.equal(hb.payload.success, true);
  });

  test('a worker on the default transports (long polling, then upgrade to WebSocket) registers and heartbeats', async (t) => {
    const w = await Worker.start(master.url, {
      workerId: 'worker-polling', token: master.workerToken, transports: ['polling', 'websocket'], register: false,
    });
    t.after(() => w.close());
    const engine = w.socket.io.engine;
    assert.equal(w.firstTransport, 'polling', 'the connection starts with long polling');

    const reply = await w.request('worker:register', w.registerPayload());
    assert.equal(reply.type, 'worker:register:ack');
    assert.equal(reply.payload.success, true);

    if (engine.transport.name !== 'websocket') {
      await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no upgrade to websocket')), waitMs);
        engine.once('upgrade', () => { clearTimeout(timer); resolve(); });
      });
    }
    assert.equal(engine.transport.name, 'websocket', 'the connection upgraded');

    const hb = await w.request('worker:heartbeat', {
      worker_id: 'worker-polling', status: 'online', active_tasks: 2, memory_usage: 99.5, cpu_usage: 12.5,
    });
    assert.equal(hb.type, 'worker:heartbeat:ack', JSON.stringify(hb));
    assert.equal(hb.payload.success, true);
    assert.equal(w.socket.connected, true);
  });

  test('a heartbeat may report every status the protocol defines', async (t) => {
    const w = await Worker.start(master.url, { workerId: 'worker-status', token: master.workerToken });
    t.after(() => w.close());
    for (const status of ['online', 'busy', 'draining', 'online']) {
      const hb = await w.request('worker:heartbeat', {
        worker_id: 'worker-status', status, active_tasks: 1, memory_usage: 10, cpu_usage: 1,
      });
      assert.equal(hb.type, 'worker:heartbeat:ack', `status ${status}: ${JSON.stringify(hb.payload)}`);
    }
  });

  test('an account added while a worker is connected reaches it as master:task:assign, and the ack settles it', async (t) => {
    const w = await Worker.start(master.url, { workerId: 'worker-assign', token: master.workerToken, maxAccounts: 50 });
    t.after(() => w.close());
    // The other workers of this file are closed by now, so this one is the
    // only candidate.
    const created = await master.createAccount(master.users.x, {
      account_id: 'dy-assign-1', account_name: 'second', credentials: { cookies: [{ name: 'sid', value: 'v' }] },
      monitor_interval: 45,
    });
    const assign = await w.expect((m) => m.type === 'master:task:assign' && m.payload.account_id === created.id);
    assert.equal(assign.payload.platform, 'douyin');
    assert.equal(assign.payload.monitor_interval, 45);
    assert.equal(typeof assign.payload.account_credentials, 'string');
    assert.ok(isRecentSeconds(assign.timestamp));
    // Worker.onControl has acked it; the account shows as running there.
    const view = await master.api('GET', `/accounts/${created.id}`, { jwt: master.users.x.jwt });
    assert.equal(view.status, 200);
    assert.equal(view.body.worker_id, 'worker-assign');
    assert.equal(view.body.status, 'active');
  });

  test('a heartbeating worker stays online past the liveness timeout', async (t) => {
    const w = await Worker.start(master.url, { workerId: 'worker-alive', token: master.workerToken });
    t.after(() => w.close());
    assert.equal(w.registerAck.payload.heartbeat_interval, 1, 'the master announces its heartbeat period in seconds');
    // Liveness timeout is 3 s: a silent worker would be dropped by now.
    await new Promise((r) => setTimeout(r, 3_500));
    assert.ok(w.heartbeats >= 2, `sent ${w.heartbeats} heartbeats`);
    assert.equal(w.socket.connected, true, 'still connected');
    const acks = w.inbox.filter((m) => m.type === 'worker:heartbeat:ack');
    assert.ok(acks.length >= 2 && acks.every((m) => m.payload.success === true));
    const ws = await master.api('GET', '/workers', { jwt: master.users.admin.jwt });
    assert.equal(ws.status, 200);
    const me = ws.body.workers.find((x) => x.id === 'worker-alive');
    assert.equal(me.status, 'online');
    assert.equal(me.connected, true);
  });

  test('the master exits 0 on SIGTERM', async () => {
    const { code, signal } = await master.stop();
    assert.equal(signal, null);
    assert.equal(code, 0, master.stderr);
  });
});
