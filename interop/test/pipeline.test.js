// End to end through every real part: a comment or message on the fake
// Douyin is found by the appliance's headless Chromium, stored by the
// master and pushed to a device speaking the official socket.io-client.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startMaster } from '../lib/master.js';
import { Client } from '../lib/peer.js';
import { Appliance, FakeDouyin } from '../lib/fleet.js';

/** The accounts' poll interval, seconds. */
const interval = 5;
/** Poll interval plus jitter (±20 %) plus the 2 s the issue allows. */
const deadlineMs = interval * 1200 + 2000;
/** The first cycle also waits for Chromium to start. */
const firstDeadlineMs = deadlineMs + 20_000;

describe('pipeline: fake Douyin → appliance → master → socket.io-client', () => {
  let master;
  let fake;
  let appliance;
  let phone;
  let fan;
  let account;
  const latencies = [];

  before(async () => {
    master = await startMaster();
    fake = await FakeDouyin.start();
    fan = await fake.control('POST', 'accounts', { nickname: '端到端测试号' });
    account = await master.createAccount(master.users.x, {
      account_id: fan.uid, account_name: fan.nickname, credentials: fan.credentials, monitor_interval: interval,
    });
    appliance = await Appliance.start({
      masterURL: master.url, token: master.workerToken, fakeURL: fake.url, workerID: 'interop-pi',
    });
    phone = await Client.start(master.url, { jwt: master.users.x.jwt, deviceId: 'pipeline-phone' });
  });

  after(async () => {
    phone?.close();
    const a = await appliance?.stop();
    await fake?.stop();
    await master?.stop();
    if (latencies.length) {
      const sorted = [...latencies].sort((x, y) => x - y);
      console.log(`detection latency over ${sorted.length}: min ${sorted[0]} ms, median ${sorted[Math.floor(sorted.length / 2)]} ms, max ${sorted.at(-1)} ms`);
    }
    assert.equal(a?.code, 0, `appliance exit: ${JSON.stringify(a)}\n${appliance?.stderr.slice(-2000)}`);
  });

  /** Waits for the push of one item, recording its latency. */
  async function pushOf(relatedSuffix, timeout, since) {
    const m = await phone.expect(
      (msg) => msg.type === 'master:notification:push' && msg.payload.related_id.endsWith(relatedSuffix),
      `push for ${relatedSuffix}`, timeout,
    );
    latencies.push(Date.now() - since);
    return m.payload;
  }

  test('a fan comment reaches the device with the contract fields', async () => {
    const t0 = Date.now();
    const c = await fake.control('POST', `accounts/${fan.uid}/comments`, { text: '端到端：好棒的视频!' });
    const p = await pushOf(c.cid, firstDeadlineMs, t0);
    assert.equal(p.type, 'comment');
    assert.equal(p.account_id, account.id);
    assert.equal(p.account_name, '端到端测试号');
    assert.equal(p.title, '新评论');
    assert.match(p.content, /: 端到端：好棒的视频!$/);
    assert.ok(p.id.length > 0);
  });

  test('each later comment arrives within the poll interval plus 2 s', async () => {
    for (let i = 0; i < 3; i++) {
      const t0 = Date.now();
      const c = await fake.control('POST', `accounts/${fan.uid}/comments`, { text: `第${i}条评论` });
      const p = await pushOf(c.cid, deadlineMs, t0);
      assert.match(p.content, new RegExp(`第${i}条评论$`));
    }
  });

  test('a direct message arrives, and the creator\'s own comment and message do not', async () => {
    await fake.control('POST', `accounts/${fan.uid}/comments`, { text: '作者自己的回复', from_creator: true });
    await fake.control('POST', `accounts/${fan.uid}/dms`, { text: '我自己发的', from_me: true });
    const t0 = Date.now();
    const dm = await fake.control('POST', `accounts/${fan.uid}/dms`, { text: '你好，想咨询一下' });
    const m = await phone.expect(
      (msg) => msg.type === 'master:notification:push' && msg.payload.type === 'direct_message',
      'direct message push', deadlineMs,
    );
    latencies.push(Date.now() - t0);
    assert.equal(m.payload.title, '新私信');
    assert.match(m.payload.content, /: 你好，想咨询一下$/);
    assert.ok(m.payload.related_id.includes(String(dm.serverId ?? dm.server_id ?? '')));
    await phone.expectNone(
      (msg) => msg.type === 'master:notification:push' && /作者自己的回复|我自己发的/.test(msg.payload.content),
      interval * 1200 + 1000,
    );
  });
});
