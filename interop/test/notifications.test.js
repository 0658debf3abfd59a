// Client side of the contract: push to every device, sync after a
// reconnect, read state across devices, isolation between users and big
// platform ids, with the official socket.io-client against the real master.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startMaster } from '../lib/master.js';
import { Client, Worker, comment, isRecentSeconds, nowSeconds, sleep, waitMs } from '../lib/peer.js';

describe('notifications', () => {
  /** @type {import('../lib/master.js').Master} */
  let master;
  /** @type {Worker} */
  let worker;
  let accX;
  let accY;
  let seq = 0;
  /** A fresh worker message id and platform id for each detection. */
  const next = (prefix) => {
    seq++;
    return { id: `${prefix}-${seq}`, platformId: String(1_000_000 + seq) };
  };
  /** Reports a fresh comment on acc and returns the master's ack. */
  const detect = async (acc, prefix, extra = {}) => {
    const { id, platformId } = next(prefix);
    const ack = await worker.detect({ account_id: acc.id, data: comment(id, platformId, extra) });
    assert.equal(ack.type, 'worker:message:ack', JSON.stringify(ack));
    assert.equal(ack.payload.success, true);
    assert.equal(ack.payload.message_id, id);
    return id;
  };
  /** Opens a device of user u; closed when the test ends. */
  const device = async (t, u, deviceId, opts = {}) => {
    const c = await Client.start(master.url, { jwt: u.jwt, deviceId, ...opts });
    t.after(() => c.close());
    return c;
  };
  /** Every notification a device can sync, oldest first. */
  const syncEverything = async (c) => (await c.syncAll({ last_sync_time: 0 })).flatMap((p) => p.notifications);

  before(async () => {
    master = await startMaster();
    const { admin, x, y } = master.users;
    accX = await master.createAccount(admin, { account_id: 'dy-x', account_name: 'X的抖音账号', owner_id: x.id });
    accY = await master.createAccount(y, { account_id: 'dy-y', account_name: 'Y的抖音账号' });
    worker = await Worker.start(master.url, { workerId: 'worker-notify', token: master.workerToken });
  });

  after(async () => {
    worker?.close();
    await master?.stop();
  });

  test('contract scenario 2: a detected comment is pushed to both devices of the owner and acked to the worker', async (t) => {
    const a = await device(t, master.users.x, 'device-a');
    // Device B takes the default path: long polling, then the upgrade.
    const b = await device(t, master.users.x, 'device-b', { transports: ['polling', 'websocket'] });
    assert.equal(b.firstTransport, 'polling');
    assert.equal(a.connectAck.payload.success, true);
    assert.match(a.connectAck.payload.session_id, /\S/);
    assert.notEqual(a.connectAck.payload.session_id, b.connectAck.payload.session_id);
    assert.equal(typeof a.connectAck.payload.unread_notifications, 'number');

    const data = {
      id: 'cmt-001',
      platform_comment_id: '123456',
      content: '好棒的视频!',
      author_name: '用户A',
      author_id: 'user123',
      post_id: 'video789',
      post_title: '我的最新视频',
      created_at: 1697000000,
    };
    const ack = await worker.detect({ account_id: accX.id, message_type: 'comment', data });
    assert.equal(ack.type, 'worker:message:ack');
    assert.equal(ack.version, 'v1');
    assert.equal(ack.payload.success, true);
    assert.equal(ack.payload.message_id, 'cmt-001');

    const pushes = await Promise.all([a, b].map((c) => c.expect('master:notification:push')));
    for (const msg of pushes) {
      assert.equal(msg.type, 'master:notification:push');
      assert.equal(msg.version, 'v1');
      assert.ok(isRecentSeconds(msg.timestamp), `envelope timestamp ${msg.timestamp} in seconds`);
      const p = msg.payload;
      assert.equal(typeof p.id, 'string');
      assert.ok(p.id.length > 0);
      assert.equal(p.type, 'comment');
      assert.equal(p.account_id, accX.id);
      assert.equal(p.account_name, 'X的抖音账号');
      assert.equal(p.title, '新评论');
      assert.equal(p.content, '用户A: 好棒的视频!');
      assert.equal(p.related_id, 'cmt-001');
      assert.ok(isRecentSeconds(p.created_at), `created_at ${p.created_at} in seconds`);
    }
    assert.deepEqual(pushes[0].payload, pushes[1].payload, 'both devices get the same notification');

    // Resending the same item (an appliance retrying from its outbox) is
    // acked again and notifies nobody.
    const dup = await worker.detect({ account_id: accX.id, message_type: 'comment', data: { ...data, id: 'cmt-001' } });
    assert.equal(dup.type, 'worker:message:ack');
    assert.equal(dup.payload.success, true);
    assert.equal(dup.payload.message_id, 'cmt-001');
    assert.equal(dup.payload.duplicate, true);
    await Promise.all([a, b].map((c) => c.expectNone('master:notification:push')));
  });

  test('a detected direct message is pushed as type direct_message', async (t) => {
    const a = await device(t, master.users.x, 'device-dm');
    const ack = await worker.detect({
      account_id: accX.id,
      message_type: 'direct_message',
      data: {
        id: 'dm-001', platform_message_id: '998877', content: '你好', sender_id: 's1', sender_name: '用户B',
        conversation_id: 'conv-1', created_at: Date.now(),
      },
    });
    assert.equal(ack.payload.message_id, 'dm-001');
    const p = (await a.expect('master:notification:push')).payload;
    assert.equal(p.type, 'direct_message');
    assert.equal(p.title, '新私信');
    assert.equal(p.content, '用户B: 你好');
    assert.equal(p.related_id, 'dm-001');
  });

  test('sync after a reconnect returns exactly the notifications missed meanwhile, oldest first', async (t) => {
    const c = await device(t, master.users.x, 'device-sync');
    await detect(accX, 'seen');
    const seen = (await c.expect('master:notification:push')).payload;
    assert.match(seen.cursor, /^\d+$/, 'pushes carry the sync cursor');

    // last_sync_time is in whole seconds and the master includes the second
    // before it (so nothing is lost); wait until everything this device
    // already has is older than that window, so "exactly" is checkable.
    while (nowSeconds() < seen.created_at + 2) await sleep(100);
    const lastSyncTime = nowSeconds();
    c.socket.disconnect();

    const missed = [];
    for (let i = 0; i < 3; i++) missed.push(await detect(accX, 'missed'));

    c.socket.connect();
    await c.connected();
    // A new connection is nobody until client:connect.
    const early = await c.sync({ last_sync_time: lastSyncTime });
    assert.equal(early.type, 'client:sync:request:error');
    assert.equal(early.payload.error_code, 'ERR_AUTH_FAILED');

    const hello = await c.hello();
    assert.equal(hello.type, 'client:connect:ack');
    assert.equal(hello.payload.success, true);
    assert.ok(hello.payload.unread_notifications >= 4);

    const relatedIds = (r) => r.payload.notifications.map((n) => n.related_id);
    const bySeconds = await c.sync({ last_sync_time: lastSyncTime });
    assert.equal(bySeconds.type, 'client:sync:response');
    assert.equal(bySeconds.payload.success, true);
    assert.deepEqual(relatedIds(bySeconds), missed);
    assert.equal(bySeconds.payload.has_more, false);
    for (const n of bySeconds.payload.notifications) {
      assert.equal(n.type, 'comment');
      assert.equal(n.title, '新评论');
      assert.equal(n.account_id, accX.id);
      assert.equal(n.read, false);
      assert.ok(isRecentSeconds(n.created_at));
    }

    const byMillis = await c.sync({ last_sync_time: lastSyncTime * 1000 });
    assert.deepEqual(relatedIds(byMillis), missed, 'last_sync_time in milliseconds means the same');

    const byCursor = await c.sync({ cursor: seen.cursor });
    assert.deepEqual(relatedIds(byCursor), missed, 'the cursor of the last push seen gives the same');
    assert.equal(byCursor.payload.cursor, byCursor.payload.notifications.at(-1).cursor);

    const upToDate = await c.sync({ cursor: byCursor.payload.cursor });
    assert.deepEqual(upToDate.payload.notifications, []);
    assert.equal(upToDate.payload.has_more, false);
    await c.expectNone('master:notification:push', 100);
  });

  test('after an unplanned drop, Socket.IO reconnects by itself and the device syncs what it missed', async (t) => {
    const c = await device(t, master.users.x, 'device-auto', {
      reconnection: true, reconnectionDelay: 300, reconnectionDelayMax: 300, randomizationFactor: 0,
    });
    await detect(accX, 'before-drop');
    const last = (await c.expect('master:notification:push')).payload;

    const reconnected = new Promise((resolve) => c.socket.io.once('reconnect', resolve));
    const dropped = new Promise((resolve) => c.socket.once('disconnect', resolve));
    c.socket.io.engine.close(); // the connection goes away under the socket
    await dropped;
    assert.equal(c.socket.active, true, 'not a deliberate disconnect: the client will reconnect');
    const missed = [await detect(accX, 'during-drop'), await detect(accX, 'during-drop')];
    await reconnected;
    await c.connected();
    assert.equal((await c.hello()).type, 'client:connect:ack');
    const r = await c.sync({ cursor: last.cursor });
    assert.deepEqual(r.payload.notifications.map((n) => n.related_id), missed);
  });

  test('sync pages with has_more and cursor: a small limit, and the default page of 100', async (t) => {
    const c = await device(t, master.users.x, 'device-pages');
    await detect(accX, 'page-start');
    const start = (await c.expect('master:notification:push')).payload.cursor;
    const want = [];
    for (let i = 0; i < 5; i++) want.push(await detect(accX, 'page'));

    const pages = await c.syncAll({ cursor: start, limit: 2 });
    assert.deepEqual(pages.map((p) => p.notifications.length), [2, 2, 1]);
    assert.deepEqual(pages.map((p) => p.has_more), [true, true, false]);
    assert.deepEqual(pages.flatMap((p) => p.notifications.map((n) => n.related_id)), want, 'oldest first, no gaps, no repeats');
    for (const p of pages) assert.equal(p.cursor, p.notifications.at(-1).cursor);

    // Past the server's default page: 100, then the rest.
    for (let i = 0; i < 100; i++) want.push(await detect(accX, 'bulk'));
    const big = await c.syncAll({ cursor: start });
    assert.deepEqual(big.map((p) => p.notifications.length), [100, 5]);
    assert.deepEqual(big.map((p) => p.has_more), [true, false]);
    assert.deepEqual(big.flatMap((p) => p.notifications.map((n) => n.related_id)), want);
    // A limit above the page size is capped, not honoured.
    const capped = await c.sync({ cursor: start, limit: 1000 });
    assert.equal(capped.payload.notifications.length, 100);
    assert.equal(capped.payload.has_more, true);
  });

  test('a read on one device reaches the other devices, shows in sync and lowers the unread count', async (t) => {
    const a = await device(t, master.users.x, 'device-read-a');
    const b = await device(t, master.users.x, 'device-read-b');
    const admin = await device(t, master.users.admin, 'device-read-admin');
    await detect(accX, 'to-read');
    const id = (await a.expect('master:notification:push')).payload.id;
    await b.expect((m) => m.type === 'master:notification:push' && m.payload.id === id);
    const unreadBefore = (await device(t, master.users.x, 'device-read-c')).connectAck.payload.unread_notifications;

    const ack = await a.read(id);
    assert.equal(ack.type, 'client:notification:read:ack', JSON.stringify(ack));
    assert.equal(ack.payload.success, true);
    assert.equal(ack.payload.notification_id, id);

    const note = await b.expect('master:notification:read');
    assert.equal(note.payload.notification_id, id);
    assert.ok(isRecentSeconds(note.payload.read_at));
    assert.equal(note.payload.device_id, 'device-read-a');
    await a.expectNone('master:notification:read');
    await admin.expectNone('master:notification:read', 0);

    const synced = (await syncEverything(b)).find((n) => n.id === id);
    assert.equal(synced.read, true);
    const unreadAfter = (await device(t, master.users.x, 'device-read-d')).connectAck.payload.unread_notifications;
    assert.equal(unreadAfter, unreadBefore - 1);

    // Read state is per user: the admin has not read it.
    assert.equal((await syncEverything(admin)).find((n) => n.id === id).read, false);

    // Reading again is acked and tells nobody.
    assert.equal((await a.read(id)).type, 'client:notification:read:ack');
    await b.expectNone('master:notification:read');

    const unknown = await a.read('ntf-does-not-exist');
    assert.equal(unknown.type, 'client:notification:read:error');
    assert.equal(unknown.payload.error_code, 'ERR_NOT_FOUND');
  });

  test("a client of user X never sees user Y's notifications; the admin sees both", async (t) => {
    const x = await device(t, master.users.x, 'device-iso-x');
    const y = await device(t, master.users.y, 'device-iso-y');
    const admin = await device(t, master.users.admin, 'device-iso-admin');

    await detect(accY, 'for-y');
    const yPush = (await y.expect('master:notification:push')).payload;
    assert.equal(yPush.account_id, accY.id);
    assert.equal((await admin.expect('master:notification:push')).payload.id, yPush.id);

    await detect(accX, 'for-x');
    const xPush = (await x.expect('master:notification:push')).payload;
    assert.equal(xPush.account_id, accX.id);
    assert.equal((await admin.expect('master:notification:push')).payload.id, xPush.id);

    await x.expectNone('master:notification:push');
    await y.expectNone('master:notification:push', 0);

    const xAll = await syncEverything(x);
    assert.ok(xAll.some((n) => n.id === xPush.id));
    assert.ok(xAll.every((n) => n.account_id === accX.id), 'X syncs only its own account');
    const yAll = await syncEverything(y);
    assert.ok(yAll.every((n) => n.account_id === accY.id), 'Y syncs only its own account');
    assert.ok(yAll.some((n) => n.id === yPush.id));
    const adminAll = await syncEverything(admin);
    assert.ok(adminAll.some((n) => n.id === xPush.id) && adminAll.some((n) => n.id === yPush.id));

    const steal = await x.read(yPush.id);
    assert.equal(steal.type, 'client:notification:read:error');
    assert.equal(steal.payload.error_code, 'ERR_NOT_FOUND', "Y's notification does not exist for X");
    await y.expectNone('master:notification:read', 100);
    assert.equal((await syncEverything(y)).find((n) => n.id === yPush.id).read, false);

    const rest = await master.api('GET', '/notifications?limit=500', { jwt: master.users.x.jwt });
    assert.equal(rest.status, 200);
    assert.ok(rest.body.notifications.every((n) => n.account_id === accX.id));
  });

  test('a 19-digit platform_comment_id sent as a string keeps every digit', async (t) => {
    const c = await device(t, master.users.x, 'device-bigid');
    // Both ids become the same float64 (9007199254740993 and ...992 do too):
    // a decoder that went through a JSON number would merge them.
    const big = '7312345678901234567';
    const neighbour = '7312345678901234568';
    assert.equal(Number(big), Number(neighbour));

    const first = await worker.detect({ account_id: accX.id, data: comment(big, big, { post_id: big, author_id: big }) });
    assert.equal(first.payload.success, true);
    assert.equal(first.payload.message_id, big);
    const p1 = (await c.expect('master:notification:push')).payload;
    assert.equal(p1.related_id, big);

    // The neighbouring id is a different comment, not a duplicate.
    const second = await worker.detect({ account_id: accX.id, data: comment(neighbour, neighbour) });
    assert.equal(second.payload.success, true);
    assert.notEqual(second.payload.duplicate, true, 'the last digit tells the comments apart');
    assert.equal((await c.expect('master:notification:push')).payload.related_id, neighbour);

    // The same 19-digit id again is a duplicate.
    const again = await worker.detect({ account_id: accX.id, data: comment('resend', big) });
    assert.equal(again.payload.duplicate, true);
    await c.expectNone('master:notification:push');

    // As a JSON number it cannot arrive intact, so the master refuses it
    // rather than store a changed id; a small number is fine.
    const asNumber = await worker.detect({ account_id: accX.id, data: comment('num', Number(big)) });
    assert.equal(asNumber.type, 'worker:message:detected:error');
    assert.equal(asNumber.payload.error_code, 'ERR_INVALID_PAYLOAD');
    assert.match(asNumber.payload.error_message, /string/);
    const small = await worker.detect({ account_id: accX.id, data: comment('small-num', 4242) });
    assert.equal(small.type, 'worker:message:ack');

    const rest = await master.api('GET', `/notifications?account_id=${accX.id}&limit=10`, { jwt: master.users.x.jwt });
    assert.equal(rest.status, 200);
    const rel = rest.body.notifications.map((n) => n.related_id);
    assert.ok(rel.includes(big) && rel.includes(neighbour), `REST shows ${rel.join(', ')}`);
    const synced = await c.sync({ cursor: String(Number(p1.cursor) - 1), limit: 1 });
    assert.equal(synced.payload.notifications[0].related_id, big);
  });

  test('the master exits 0 on SIGTERM', { timeout: waitMs * 4 }, async () => {
    worker.close();
    const { code, signal } = await master.stop();
    assert.equal(signal, null);
    assert.equal(code, 0, master.stderr);
  });
});
