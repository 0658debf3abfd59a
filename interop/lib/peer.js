// Peers of the wire contract built on the official socket.io-client: a
// buffered "message" inbox with expect/expectNone, a fake appliance (worker)
// and a client device.

import { io } from 'socket.io-client';
import { randomUUID } from 'node:crypto';

/** How long an expected message may take. */
export const waitMs = 5_000;

/** How long to watch for a message that must not come. */
export const quietMs = 600;

/** Transports of a socket that skips long polling. */
export const websocketOnly = ['websocket'];

/**
 * Builds a contract envelope. The timestamp defaults to Date.now(), in
 * milliseconds, exactly as the contract's own JavaScript test sends it.
 * @param {string} type
 * @param {unknown} payload
 * @param {{requestId?: string, timestamp?: number, version?: string}} [opts]
 */
export function envelope(type, payload, { requestId, timestamp = Date.now(), version = 'v1' } = {}) {
  const env = { type, version, payload, timestamp };
  if (requestId !== undefined) env.requestId = requestId;
  return env;
}

/**
 * A socket with an inbox of received "message" envelopes.
 */
export class Peer {
  /**
   * @param {import('socket.io-client').Socket} socket
   * @param {string} name for failure messages
   */
  constructor(socket, name) {
    this.socket = socket;
    this.name = name;
    /** @type {any[]} */
    this.inbox = [];
    /** @type {Set<() => void>} */
    this.waiters = new Set();
    // The manager opens its engine synchronously inside io(), so this is
    // the transport the connection started with.
    this.firstTransport = socket.io.engine?.transport?.name;
    socket.on('message', (msg) => {
      this.inbox.push(msg);
      for (const w of [...this.waiters]) w();
    });
  }

  /**
   * Opens a socket and waits for the Socket.IO connection.
   * @param {string} url
   * @param {{name?: string, auth?: object, transports?: string[], reconnection?: boolean,
   *   reconnectionDelay?: number}} [opts]
   */
  static async connect(url, { name = 'peer', auth, transports = websocketOnly, ...rest } = {}) {
    const socket = io(url, {
      forceNew: true, // every peer is a separate device with its own connection
      transports,
      auth,
      reconnection: false,
      timeout: waitMs,
      ...rest,
    });
    const peer = new Peer(socket, name);
    await peer.connected();
    return peer;
  }

  /** Waits until the socket is connected (again). */
  connected() {
    if (this.socket.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`${this.name}: not connected within ${waitMs} ms`)), waitMs);
      const onConnect = () => done();
      const onError = (err) => done(new Error(`${this.name}: connect_error: ${err.message}`));
      const done = (err) => {
        clearTimeout(timer);
        this.socket.off('connect', onConnect);
        this.socket.off('connect_error', onError);
        if (err) reject(err); else resolve();
      };
      this.socket.on('connect', onConnect);
      this.socket.on('connect_error', onError);
    });
  }

  /**
   * Emits an envelope as the "message" event and returns its requestId.
   * @param {string} type
   * @param {unknown} payload
   * @param {{requestId?: string, timestamp?: number, version?: string}} [opts]
   */
  send(type, payload, opts = {}) {
    const requestId = opts.requestId ?? `${this.name}-${randomUUID()}`;
    this.socket.emit('message', envelope(type, payload, { ...opts, requestId }));
    return requestId;
  }

  /**
   * Emits anything as the "message" event.
   * @param {unknown} value
   */
  sendRaw(value) {
    this.socket.emit('message', value);
  }

  /**
   * Sends a request and waits for the reply carrying its requestId: the
   * response type or "{type}:error".
   * @param {string} type
   * @param {unknown} payload
   * @param {{requestId?: string, timestamp?: number, version?: string}} [opts]
   */
  request(type, payload, opts = {}) {
    const requestId = this.send(type, payload, opts);
    return this.expect((m) => m?.requestId === requestId, `reply to ${type} (${requestId})`);
  }

  /**
   * Removes and returns the first buffered or future message matching want
   * (a type or a predicate); fails after waitMs.
   * @param {string | ((m: any) => boolean)} want
   * @param {string} [what] description for the failure message
   * @param {number} [timeout]
   * @returns {Promise<any>}
   */
  expect(want, what, timeout = waitMs) {
    const match = typeof want === 'string' ? (m) => m?.type === want : want;
    const label = what ?? (typeof want === 'string' ? want : 'a matching message');
    const take = () => {
      const i = this.inbox.findIndex(match);
      return i < 0 ? undefined : this.inbox.splice(i, 1)[0];
    };
    const found = take();
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const check = () => {
        const m = take();
        if (m !== undefined) {
          cleanup();
          resolve(m);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        const seen = this.inbox.map((m) => m?.type).join(', ') || 'nothing';
        reject(new Error(`${this.name}: no ${label} within ${timeout} ms; inbox holds: ${seen}`));
      }, timeout);
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }

  /**
   * Waits quietMs and fails if a message matching want arrived (or was
   * already buffered).
   * @param {string | ((m: any) => boolean)} want
   * @param {number} [ms]
   */
  async expectNone(want, ms = quietMs) {
    const match = typeof want === 'string' ? (m) => m?.type === want : want;
    await new Promise((r) => setTimeout(r, ms));
    const got = this.inbox.filter(match);
    if (got.length > 0) {
      throw new Error(`${this.name}: unexpected ${JSON.stringify(got[0])}`);
    }
  }

  /** Forgets buffered messages. */
  drain() {
    this.inbox.length = 0;
  }

  /** Closes the socket for good. */
  close() {
    this.socket.disconnect();
  }
}

/**
 * A fake appliance: connects with its enrollment token in the handshake,
 * registers, heartbeats at the period the master announces and acks task
 * assignments, as a real appliance does.
 */
export class Worker extends Peer {
  /**
   * @param {string} url
   * @param {{workerId: string, token?: string, maxAccounts?: number, transports?: string[],
   *   register?: boolean}} opts register=false only connects.
   */
  static async start(url, { workerId, token, maxAccounts = 10, transports = websocketOnly, register = true }) {
    const socket = io(url, {
      forceNew: true,
      transports,
      auth: token === undefined ? undefined : { token },
      reconnection: false,
      timeout: waitMs,
    });
    const w = new Worker(socket, workerId);
    w.workerId = workerId;
    w.maxAccounts = maxAccounts;
    w.heartbeats = 0;
    /** @type {string[]} account ids this appliance was told to run */
    w.tasks = [];
    socket.on('message', (msg) => w.onControl(msg));
    await w.connected();
    if (register) {
      w.registerAck = await w.register();
      if (w.registerAck.type !== 'worker:register:ack') {
        w.close();
        throw new Error(`${workerId}: register answered ${JSON.stringify(w.registerAck)}`);
      }
    }
    return w;
  }

  /** The contract's worker:register payload for this appliance. */
  registerPayload(extra = {}) {
    return {
      worker_id: this.workerId,
      host: '127.0.0.1',
      port: 4000,
      version: '1.0.0',
      capabilities: ['douyin'],
      max_accounts: this.maxAccounts,
      ...extra,
    };
  }

  /** Registers and, on success, starts heartbeating; returns the reply. */
  async register(extra = {}) {
    const reply = await this.request('worker:register', this.registerPayload(extra));
    if (reply.type === 'worker:register:ack') {
      for (const a of reply.payload.assigned_accounts ?? []) this.tasks.push(a.id);
      this.startHeartbeat(reply.payload.heartbeat_interval ?? 10);
    }
    return reply;
  }

  /** Heartbeats every interval seconds until close. */
  startHeartbeat(intervalSeconds) {
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = setInterval(() => {
      if (!this.socket.connected) return;
      this.heartbeats++;
      this.send('worker:heartbeat', {
        worker_id: this.workerId, status: 'online', active_tasks: this.tasks.length,
        memory_usage: 150.5, cpu_usage: 25.3,
      });
    }, Math.max(0.2, intervalSeconds) * 1000);
    this.heartbeatTimer.unref();
  }

  /** Answers master → worker control messages the way an appliance does. */
  onControl(msg) {
    if (msg?.type === 'master:task:assign') {
      const id = msg.payload?.account_id;
      if (!this.tasks.includes(id)) this.tasks.push(id);
      this.send('master:task:assign:ack', { success: true, account_id: id });
    } else if (msg?.type === 'master:task:revoke') {
      this.tasks = this.tasks.filter((t) => t !== msg.payload?.account_id);
    }
  }

  /**
   * Reports a detected item and returns the master's reply.
   * @param {{account_id: string, message_type?: string, data: object}} item
   */
  detect({ account_id, message_type = 'comment', data }, opts = {}) {
    return this.request('worker:message:detected', {
      worker_id: this.workerId, account_id, message_type, data,
    }, opts);
  }

  /** Stops heartbeating and closes the socket. */
  close() {
    clearInterval(this.heartbeatTimer);
    super.close();
  }
}

/**
 * A client device: connects, sends client:connect with the user's JWT and
 * keeps the ack.
 */
export class Client extends Peer {
  /**
   * @param {string} url
   * @param {{jwt: string, deviceId: string, deviceType?: string, transports?: string[],
   *   reconnection?: boolean, reconnectionDelay?: number}} opts
   */
  static async start(url, { jwt, deviceId, deviceType = 'desktop', transports = websocketOnly, ...rest }) {
    const socket = io(url, {
      forceNew: true, transports, reconnection: false, timeout: waitMs, ...rest,
    });
    const c = new Client(socket, deviceId);
    c.jwt = jwt;
    c.deviceId = deviceId;
    c.deviceType = deviceType;
    await c.connected();
    c.connectAck = await c.hello();
    if (c.connectAck.type !== 'client:connect:ack') {
      c.close();
      throw new Error(`${deviceId}: client:connect answered ${JSON.stringify(c.connectAck)}`);
    }
    return c;
  }

  /** Sends client:connect (again, after a reconnect) and returns the reply. */
  hello() {
    return this.request('client:connect', {
      device_id: this.deviceId,
      device_type: this.deviceType,
      device_name: `interop ${this.deviceId}`,
      auth_token: this.jwt,
    });
  }

  /**
   * Sends client:sync:request and returns the reply.
   * @param {{last_sync_time?: number, cursor?: string, limit?: number}} [fields]
   */
  sync(fields = {}) {
    return this.request('client:sync:request', { device_id: this.deviceId, ...fields });
  }

  /**
   * Pages through client:sync:request with the cursor until has_more is
   * false; returns every page's payload.
   * @param {{last_sync_time?: number, cursor?: string, limit?: number}} [fields]
   */
  async syncAll(fields = {}) {
    const pages = [];
    let cursor = fields.cursor;
    for (let i = 0; i < 100; i++) {
      const reply = await this.sync({ ...fields, cursor });
      if (reply.type !== 'client:sync:response') throw new Error(`sync answered ${JSON.stringify(reply)}`);
      pages.push(reply.payload);
      if (!reply.payload.has_more) return pages;
      cursor = reply.payload.cursor;
    }
    throw new Error('sync did not finish within 100 pages');
  }

  /**
   * Sends client:notification:read and returns the reply.
   * @param {string} id
   */
  read(id) {
    return this.request('client:notification:read', { notification_id: id });
  }
}

/**
 * Asserts nothing but tells whether v is a Unix time in seconds close to
 * now (the master always emits seconds).
 * @param {unknown} v
 */
export function isRecentSeconds(v) {
  return Number.isInteger(v) && Math.abs(v - Date.now() / 1000) < 600;
}

/** Current Unix time in whole seconds. */
export function nowSeconds() {
  return Math.floor(Date.now() / 1000);
}

/** Sleeps ms milliseconds. */
export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * A comment as the appliance reports it; ids are strings on the wire.
 * @param {string} id the appliance's id, echoed as message_id and related_id
 * @param {string} platformId the platform's comment id (deduplication key)
 * @param {object} [extra]
 */
export function comment(id, platformId, extra = {}) {
  return {
    id,
    platform_comment_id: platformId,
    content: '好棒的视频!',
    author_name: '用户A',
    author_id: 'user123',
    post_id: 'video789',
    post_title: '我的最新视频',
    created_at: Date.now(),
    ...extra,
  };
}
