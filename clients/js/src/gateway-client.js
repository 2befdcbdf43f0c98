// The Gateway's JavaScript client: one module, no dependencies, for browsers and Node.
// It keeps a session alive across dropped sockets (reconnect with backoff and jitter, resume, recovery by offset),
// correlates answers by id, and hands the application every topic event once and in order.

const BUILT_IN_ANSWERS = new Set(['subscribed', 'unsubscribed', 'presence', 'history', 'published', 'publish_failed', 'join', 'leave', 'error']);

/** An error the gateway answered, or one of the client's own (`timeout`, `queue_full`, `closed`, `connection_lost`). */
export class GatewayError extends Error {
  constructor(code, message, frame) {
    super(message || code);
    this.name = 'GatewayError';
    this.code = code;
    this.frame = frame;
  }
}

/** A small listener registry, the same in browsers and Node. */
class Emitter {
  #listeners = new Map();

  /** Adds a listener; returns a function that removes it. */
  on(type, listener) {
    let set = this.#listeners.get(type);
    if (!set) this.#listeners.set(type, set = new Set());
    set.add(listener);
    return () => this.off(type, listener);
  }

  off(type, listener) {
    this.#listeners.get(type)?.delete(listener);
  }

  /** Adds a listener called at most once. */
  once(type, listener) {
    const off = this.on(type, value => { off(); listener(value); });
    return off;
  }

  _emit(type, value) {
    const set = this.#listeners.get(type);
    if (!set) return false;
    for (const listener of [...set]) {
      try {
        listener(value);
      } catch (e) {
        // A throwing listener must not break the stream for the others; it is reported where it can be seen.
        if (type !== 'error') this._emit('error', e); else setTimeout(() => { throw e; });
      }
    }
    return set.size > 0;
  }
}

/** Whether a topic matches a subscription pattern (`*` one segment, `>` the rest). */
export function topicMatches(pattern, topic) {
  if (pattern === topic) return true;
  if (!pattern.includes('*') && !pattern.endsWith('>')) return false;
  const p = pattern.split('.');
  const t = topic.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>' && i === p.length - 1) return t.length > i;
    if (i >= t.length) return false;
    if (p[i] !== '*' && p[i] !== t[i]) return false;
  }
  return p.length === t.length;
}

const EARLY_LIMIT = 10_000;

const isPattern = channel => channel.includes('*') || channel.endsWith('>');

/** The `exp` of a JWT in milliseconds since the epoch, or undefined when the token is not a JWT with one. */
export function tokenExpiry(token) {
  if (typeof token !== 'string') return undefined;
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const base64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const padded = base64 + '='.repeat((4 - base64.length % 4) % 4);
    const bytes = Uint8Array.from(atob(padded), c => c.charCodeAt(0));
    const payload = JSON.parse(new TextDecoder().decode(bytes));
    return typeof payload.exp === 'number' ? payload.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * One topic subscription: listeners (`event`, `join`, `leave`, `recovered`, `error`) and an async iterator of events.
 * It lives across reconnects until `unsubscribe()`.
 */
export class Subscription extends Emitter {
  #client;
  #iterators = new Set();
  #settle;
  // Events that came before anyone listened (a replay right behind the subscribed answer, say), for the first who does.
  #early = [];
  #heard = false;

  constructor(client, channel, since) {
    super();
    this.#client = client;
    /** The topic or pattern. */
    this.channel = channel;
    /** Whether the server has confirmed the subscription on the current connection. */
    this.active = false;
    /** True once unsubscribed, or refused by the server. */
    this.closed = false;
    this._since = since ?? null;
    this._pending = false;
    this._sends = 0;
    /** Resolves with the first `subscribed` answer; rejects when the server refuses the subscription. */
    this.ready = new Promise((resolve, reject) => { this.#settle = { resolve, reject }; });
    this.ready.catch(() => {});
  }

  /** Where the topic's stream stands: the last offset received and its history's epoch (null without history). */
  get position() {
    const p = this.#client._positions.get(this.channel);
    return p && p.epoch != null ? { offset: p.offset, epoch: p.epoch } : null;
  }

  /** Ends the subscription (on the server too when connected). Resolves with the `unsubscribed` answer, or null offline. */
  unsubscribe() {
    if (this.closed) return Promise.resolve(null);
    this._end(null);
    return this.#client._unsubscribe(this);
  }

  /** The topic's present members: the `presence` answer. */
  presence(options) {
    return this.#client.presence(this.channel, options);
  }

  [Symbol.asyncIterator]() {
    const queue = [];
    let wake = null;
    let ended = null;
    const off = this.on('event', event => {
      if (wake) { const w = wake; wake = null; w.resolve({ value: event, done: false }); } else queue.push(event);
    });
    const iterator = {
      finish: error => {
        off();
        ended = { error };
        if (wake) { const w = wake; wake = null; if (error) w.reject(error); else w.resolve({ value: undefined, done: true }); }
      },
      next: () => {
        if (queue.length) return Promise.resolve({ value: queue.shift(), done: false });
        if (ended) return ended.error ? Promise.reject(ended.error) : Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve, reject) => { wake = { resolve, reject }; });
      },
      return: () => {
        this.#iterators.delete(iterator);
        iterator.finish(null);
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]() { return iterator; },
    };
    if (this.closed) iterator.finish(null); else this.#iterators.add(iterator);
    return iterator;
  }

  on(type, listener) {
    const off = super.on(type, listener);
    if (type === 'event' && !this.#heard) {
      this.#heard = true;
      if (this.#early.length) {
        queueMicrotask(() => {
          const early = this.#early;
          this.#early = [];
          for (const event of early) this._emit('event', event);
        });
      }
    }
    return off;
  }

  _deliver(event) {
    if (!this.#heard) {
      if (this.#early.push(event) > EARLY_LIMIT) this.#early.shift();
      return;
    }
    if (this.#early.length) this.#early.push(event); else this._emit('event', event);
  }

  _confirmed(frame) {
    this.active = true;
    this._pending = false;
    this.#settle.resolve(frame);
  }

  _end(error) {
    if (this.closed) return;
    this.closed = true;
    this.active = false;
    if (error) {
      this.#settle.reject(error);
      this._emit('error', error);
    } else {
      this.#settle.reject(new GatewayError('closed', 'unsubscribed before the server confirmed it'));
    }
    for (const iterator of this.#iterators) iterator.finish(error);
    this.#iterators.clear();
  }
}

/** A streamed answer of the connector envelope: an async iterator of text chunks, and `result` for the final frame. */
export class ChunkStream {
  #queue = [];
  #wake = null;
  #ended = null;
  #settle;

  constructor() {
    /** Whether the server acknowledged the message (`ack`), with its `message_number`. */
    this.ack = null;
    /** Resolves with `{ fullResponse, tokenUsage, frame }` at `stream_end` (or a plain `response`); rejects on `error`. */
    this.result = new Promise((resolve, reject) => { this.#settle = { resolve, reject }; });
    this.result.catch(() => {});
  }

  _chunk(text) {
    if (this.#ended) return;
    if (this.#wake) { const w = this.#wake; this.#wake = null; w.resolve({ value: text, done: false }); } else this.#queue.push(text);
  }

  _finish(error, result) {
    if (this.#ended) return;
    this.#ended = { error };
    if (error) this.#settle.reject(error); else this.#settle.resolve(result);
    if (this.#wake) {
      const w = this.#wake;
      this.#wake = null;
      if (error) w.reject(error); else w.resolve({ value: undefined, done: true });
    }
  }

  next() {
    if (this.#queue.length) return Promise.resolve({ value: this.#queue.shift(), done: false });
    if (this.#ended) return this.#ended.error ? Promise.reject(this.#ended.error) : Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => { this.#wake = { resolve, reject }; });
  }

  return() {
    this.#queue.length = 0;
    this._finish(null, null);
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator]() { return this; }
}

// ----- the Server-Sent Events fallback -----

/**
 * What an event-stream connection sends through, across its streams (a resumed session keeps it): its send URL and the
 * sequence numbers of its posts, sent one at a time in order, each retried with its number until the gateway takes it
 * (a retried number is not applied twice).
 */
class SseLink {
  constructor(fetchImpl, onError) {
    this.fetch = fetchImpl;
    this.onError = onError;
    this.url = null;
    this.id = null;
    this.seq = 0;
    this.chain = Promise.resolve();
    this.onGone = null;
  }

  /** Takes the connected frame of a stream: a new connection starts a new numbering (posts of the old one are dropped). */
  connected(frame, base) {
    if (frame.connectionId === this.id || !frame.sendUrl) return;
    this.id = frame.connectionId;
    this.url = new URL(frame.sendUrl, base).toString();
    this.seq = 0;
    this.chain = Promise.resolve();
  }

  post(data) {
    const id = this.id;
    const seq = ++this.seq;
    const binary = typeof data !== 'string';
    this.chain = this.chain.then(async () => {
      for (let wait = 250; this.id === id; wait = Math.min(wait * 2, 4000)) {
        let status = 0;
        let answer = null;
        try {
          const response = await this.fetch(`${this.url}&seq=${seq}`, {
            method: 'POST',
            body: data,
            headers: { 'Content-Type': binary ? 'application/octet-stream' : 'text/plain;charset=UTF-8' },
          });
          status = response.status;
          if (status === 409) answer = await response.json().catch(() => null);
        } catch { /* the network: try again */ }
        if (status === 202) return;
        if (status === 409 && answer?.expectedSeq < seq) {
          // The gateway has fewer than this client sent (a post lost with a node): go on from its count.
          this.seq += answer.expectedSeq - seq;
          return this.post(data);
        }
        if (status === 410) { this.id = null; this.onGone?.(); return; }
        if (status >= 400 && status < 500 && status !== 429) {
          this.onError(new GatewayError('send_failed', `the gateway refused a message (${status})`));
          return;
        }
        await new Promise(resolve => setTimeout(resolve, wait));
      }
    });
  }
}

const base64Bytes = text => Uint8Array.from(atob(text), c => c.charCodeAt(0)).buffer;

/**
 * The event stream in the shape of a WebSocket, as the client uses one (`onopen`, `onmessage`, `onclose`, `send`,
 * `close`, `readyState`): frames come as events, from an EventSource where there is one and from a fetch stream
 * elsewhere (Node 20); sends go through the connection's SseLink.
 */
class SseSocket {
  constructor(url, link, EventSourceImpl, fetchImpl) {
    this.readyState = 0;
    this.onopen = this.onmessage = this.onclose = this.onerror = null;
    this.link = link;
    this.url = url;
    link.onGone = () => this.#end(1006, 'the connection is gone');
    const on = (type, data) => this.#event(type, data);
    if (EventSourceImpl) {
      const es = this.es = new EventSourceImpl(url);
      es.onopen = () => this.#opened();
      es.onmessage = e => on('message', e.data);
      for (const type of ['connected', 'binary', 'close']) es.addEventListener(type, e => on(type, e.data));
      // An EventSource reconnects by itself; this client reconnects (and resumes) its own way.
      es.onerror = () => this.#end(1006, 'the event stream failed');
    } else {
      this.abort = new AbortController();
      this.#read(fetchImpl, on).catch(() => {}).finally(() => this.#end(1006, 'the event stream ended'));
    }
  }

  async #read(fetchImpl, on) {
    const response = await fetchImpl(this.url, { headers: { Accept: 'text/event-stream' }, signal: this.abort.signal });
    if (response.status !== 200 || !response.body) return;
    this.#opened();
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    let type = 'message';
    let data = [];
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let end;
      while ((end = buffer.search(/\r\n|\r|\n/)) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + (buffer.startsWith('\r\n', end) ? 2 : 1));
        if (line === '') {
          if (data.length) on(type, data.join('\n'));
          type = 'message';
          data = [];
        } else if (line[0] !== ':') {
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const text = colon < 0 ? '' : line.slice(colon + (line[colon + 1] === ' ' ? 2 : 1));
          if (field === 'event') type = text; else if (field === 'data') data.push(text);
        }
      }
    }
  }

  #opened() {
    if (this.readyState !== 0) return;
    this.readyState = 1;
    this.onopen?.();
  }

  #event(type, data) {
    if (this.readyState > 1) return;
    if (type === 'close') {
      let frame = {};
      try { frame = JSON.parse(data); } catch { /* no detail */ }
      return this.#end(frame.code ?? 1006, frame.reason ?? '', true);
    }
    if (type === 'connected') {
      try { this.link.connected(JSON.parse(data), this.url); } catch { /* not JSON: no send URL */ }
    }
    this.onmessage?.({ data: type === 'binary' ? base64Bytes(data) : data });
  }

  #end(code, reason, wasClean = false) {
    if (this.readyState > 1) return;
    this.readyState = 3;
    this.es?.close();
    this.abort?.abort();
    this.onclose?.({ code, reason, wasClean });
  }

  send(data) {
    this.link.post(data);
  }

  /** 1000 (or any code but 4000–4099, "I will resume") closes the connection on the gateway; those drop the stream only. */
  close(code = 1000) {
    if (this.readyState > 1) return;
    const url = this.link.url;
    if (!(code >= 4000 && code <= 4099) && url) {
      this.link.id = null;
      this.link.fetch(url, { method: 'DELETE' }).catch(() => {});
    }
    this.readyState = 3;
    this.es?.close();
    this.abort?.abort();
  }
}

/** The event-stream URL of a WebSocket URL: `ws://host/prod` → `http://host/prod/sse`. */
export function sseUrl(url) {
  const u = new URL(url, globalThis.location?.href);
  u.protocol = u.protocol === 'wss:' ? 'https:' : u.protocol === 'ws:' ? 'http:' : u.protocol;
  u.pathname = u.pathname.replace(/\/$/, '') + '/sse';
  return u;
}

const DEFAULTS = {
  naming: 'action',
  tokenTransport: 'query',
  tokenParam: 'token',
  protocols: [],
  requestTimeout: 10_000,
  connectTimeout: 10_000,
  queueSize: 1000,
  resume: true,
  connectedFrame: true,
  refresh: { enabled: true, leadTime: 30_000, retryDelay: 5_000 },
  reconnect: { enabled: true, firstDelay: 0, baseDelay: 500, maxDelay: 30_000, factor: 2, maxAttempts: Infinity, stableAfter: 5_000 },
  heartbeat: { interval: 0, timeout: 10_000 },
  transport: 'auto',
  webSocketRetryAfter: 300_000,
};

/**
 * A client of the Gateway. Events: `connected`, `disconnected`, `resumed`, `recovered`, `event`, `message`, `error`,
 * `state`. See clients/js/README.md.
 */
export class GatewayClient extends Emitter {
  #url;
  #o;
  #Socket;
  #ws = null;
  #generation = 0;
  #state = 'idle';
  #handshake = false;
  #attempt = 0;
  #timers = { retry: null, connect: null, stable: null, refresh: null, heartbeat: null, pong: null };
  #nextId = 1;
  #pending = new Map();
  #queue = [];
  #subs = new Map();
  #replayLeft = 0;
  // Data frames received on this session after its connected frame, across resumes: a resume asks for what comes after.
  #received = 0;
  #refreshSupported = true;
  #token;
  #opened = null;
  // The transport of the next connection, when the client fell back to the event stream, and what the stream sends through.
  #sse = false;
  #fellBackAt = 0;
  #link;

  /** Last offset and epoch per topic: what recovery resumes from and what duplicates are told apart by. */
  _positions = new Map();

  constructor(url, options = {}) {
    super();
    this.#url = url;
    this.#o = {
      ...DEFAULTS,
      ...options,
      refresh: { ...DEFAULTS.refresh, ...(options.refresh ?? {}) },
      reconnect: { ...DEFAULTS.reconnect, ...(options.reconnect ?? {}) },
      heartbeat: { ...DEFAULTS.heartbeat, ...(options.heartbeat ?? {}) },
    };
    if (options.refresh === false) this.#o.refresh.enabled = false;
    if (options.reconnect === false) this.#o.reconnect.enabled = false;
    if (!['action', 'type'].includes(this.#o.naming)) throw new TypeError("naming is 'action' or 'type'");
    if (!['query', 'subprotocol'].includes(this.#o.tokenTransport)) throw new TypeError("tokenTransport is 'query' or 'subprotocol'");
    if (!['auto', 'websocket', 'sse'].includes(this.#o.transport)) throw new TypeError("transport is 'auto', 'websocket' or 'sse'");
    this.#Socket = options.WebSocket ?? globalThis.WebSocket;
    this.#sse = this.#o.transport === 'sse' || (this.#o.transport === 'auto' && typeof this.#Socket !== 'function');
    if (!this.#sse && typeof this.#Socket !== 'function') throw new TypeError('no WebSocket: pass options.WebSocket (for example the ws package on Node 20)');
    const fetchImpl = options.fetch ?? globalThis.fetch?.bind(globalThis);
    this.#link = new SseLink(fetchImpl, e => this._emit('error', e));
    /** The current connection's id (kept across a resume), or null. */
    this.connectionId = null;
    /** The newest resume token the server gave, or null. */
    this.resumeToken = null;
    /** The last connected (or resumed) frame, with any members `$connect` added (such as `connector_run_id`). */
    this.connectedFrame = null;
    if (options.connect !== false) queueMicrotask(() => { if (this.#state === 'idle') this.connect(); });
  }

  /** `idle`, `connecting`, `open`, `reconnecting` or `closed`. */
  get state() { return this.#state; }

  /** The transport of the current (or next) connection: `websocket`, or `sse` for the Server-Sent Events fallback. */
  get transport() { return this.#sse ? 'sse' : 'websocket'; }

  /** Messages waiting for a connection. */
  get queued() { return this.#queue.length; }

  /** Opens the connection (done on construction unless `connect: false`); resolves at the first connected frame. */
  connect() {
    if (!this.#opened) {
      let settle;
      const promise = new Promise((resolve, reject) => { settle = { resolve, reject }; });
      promise.catch(() => {});
      this.#opened = { promise, settle };
    }
    if (this.#state === 'idle') {
      this.#setState('connecting');
      this.#open();
    }
    return this.#opened.promise;
  }

  /** Closes for good (the session is not kept): no reconnect; pending requests and queued sends are rejected. */
  close(code = 1000, reason = '') {
    if (this.#state === 'closed') return;
    this.#setState('closed');
    this.#generation++;
    this.#clearTimers();
    const ws = this.#ws;
    this.#ws = null;
    if (ws) {
      try { ws.close(code, reason); } catch { /* already closing */ }
    }
    const error = new GatewayError('closed', 'the client was closed');
    this.#failAll(error, true);
    for (const sub of this.#subs.values()) sub._end(null);
    this.#subs.clear();
    this.#opened?.settle.reject(error);
    this._emit('disconnected', { code, reason, willRetry: false, wasClean: true });
  }

  /**
   * Drops the socket as a network failure would, keeping the session: the server holds it for its resume window (the
   * close code 4000 says "I will resume") and the client reconnects and resumes at once.
   */
  reconnect(code = 4000, reason = 'reconnecting') {
    const ws = this.#ws;
    if (!ws) return;
    ws.onerror = () => {};
    try { ws.close(code, reason); } catch { /* already closing */ }
    this.#onClose(ws, code, reason, false);
  }

  /** Sends a message to a route without waiting for an answer; queued while disconnected (throws `queue_full`). */
  send(action, payload = {}) {
    this.#enqueue(this.#command(action, payload, undefined), null);
  }

  /** Sends raw text (or a binary buffer) as it is; queued while disconnected. */
  sendRaw(data) {
    this.#enqueue(typeof data === 'string' || data instanceof ArrayBuffer || ArrayBuffer.isView(data) ? data : JSON.stringify(data), null);
  }

  /**
   * Sends a message with an `id` and resolves with the first frame that echoes it (a connector `ack` is skipped; a
   * streamed answer resolves with its `stream_end`). Rejects with a GatewayError on an error frame or the timeout.
   */
  request(action, payload = {}, options = {}) {
    return this.#request(action, payload, options, null);
  }

  /** A streamed answer of a connector-envelope route: chunks as they come, then `result`. */
  stream(action, payload = {}, options = {}) {
    const chunks = new ChunkStream();
    this.#request(action, payload, options, chunks).then(
      frame => chunks._finish(null, frame.type === 'response'
        ? { fullResponse: frame.response, tokenUsage: frame.token_usage ?? null, frame }
        : { fullResponse: frame.full_response, tokenUsage: frame.token_usage ?? null, frame }),
      error => chunks._finish(error));
    return chunks;
  }

  /** Subscribes to a topic or pattern; `since: {offset, epoch}` recovers what was missed. Returns the subscription at once. */
  subscribe(channel, options = {}) {
    if (typeof channel !== 'string' || !channel) throw new TypeError('subscribe needs a channel');
    const existing = this.#subs.get(channel);
    if (existing && !existing.closed) return existing;
    if (this.#state === 'closed') throw new GatewayError('closed', 'the client was closed');
    const sub = new Subscription(this, channel, options.since);
    if (options.since && !isPattern(channel)) {
      this._positions.set(channel, { epoch: options.since.epoch, offset: options.since.offset });
    }
    this.#subs.set(channel, sub);
    if (this.#state === 'open') this.#sendSubscribe(sub, options.since ?? null);
    return sub;
  }

  /** The subscriptions held, by channel. */
  get subscriptions() { return new Map(this.#subs); }

  /** `ping` → the `pong` frame. */
  ping(options) { return this.#builtIn('ping', {}, options); }

  /** The members of a topic with presence: the `presence` answer. */
  presence(channel, options) { return this.#builtIn('presence', { channel }, options); }

  /** Publishes an event to a topic (with `Topics:ClientPublish`); resolves with `published`, rejects on `publish_failed`. */
  publish(channel, type, data, options) { return this.#builtIn('publish', { channel, type, data }, options); }

  /** Reads a topic's history: `since`, `limit`; resolves with the `history` answer. */
  history(channel, options = {}) {
    const payload = { channel };
    if (options.since) payload.since = options.since;
    return this.#builtIn('history', payload, options, options.limit);
  }

  /** Renews the connection's JWT now (getToken() is asked for it); resolves with `refreshed`. */
  async refreshToken(options) {
    const token = await this.#o.getToken?.();
    if (!token) throw new GatewayError('invalid_request', 'getToken() returned no token');
    this.#token = token;
    return this.#builtIn('refresh', { token }, options);
  }

  // ----- sending -----

  #command(name, payload, id, limit) {
    let frame;
    if (this.#o.naming === 'type') {
      frame = { type: name, data: payload };
    } else {
      frame = { action: name, ...payload };
      frame.action = name;
    }
    if (limit !== undefined) frame.limit = limit;
    if (id !== undefined) frame.id = id;
    return JSON.stringify(frame);
  }

  #builtIn(name, payload, options = {}, limit) {
    const key = this.#o.routes?.[name] ?? name;
    return this.#request(key, payload, { ...options, limit }, null);
  }

  #request(action, payload, options, chunks) {
    const id = this.#nextId++;
    const text = this.#command(action, payload, id, options.limit);
    return new Promise((resolve, reject) => {
      const entry = { id, resolve, reject, chunks, timeout: options.timeout ?? this.#o.requestTimeout, timer: null, socket: null };
      try {
        this.#enqueue(text, entry);
      } catch (e) {
        reject(e);
      }
    });
  }

  #enqueue(text, entry) {
    if (this.#state === 'closed') throw new GatewayError('closed', 'the client was closed');
    if (this.#state === 'open' && this.#queue.length === 0 && this.#transmit(text, entry)) return;
    if (this.#queue.length >= this.#o.queueSize) throw new GatewayError('queue_full', `the outgoing queue holds ${this.#o.queueSize} messages`);
    this.#queue.push({ text, entry });
  }

  #transmit(text, entry) {
    const ws = this.#ws;
    if (!ws || ws.readyState !== 1) return false;
    if (entry) {
      entry.socket = ws;
      this.#pending.set(entry.id, entry);
      this.#arm(entry);
    }
    ws.send(text);
    return true;
  }

  #arm(entry) {
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => {
      this.#pending.delete(entry.id);
      entry.reject(new GatewayError('timeout', `no answer to request ${entry.id} within ${entry.timeout} ms`));
    }, entry.timeout);
  }

  #flush() {
    while (this.#queue.length && this.#state === 'open') {
      const { text, entry } = this.#queue[0];
      if (!this.#transmit(text, entry)) return;
      this.#queue.shift();
    }
  }

  #sendSubscribe(sub, since) {
    sub._pending = true;
    // Subscribing again after a connection was lost is a recovery, answered by a `recovered` event.
    sub._recovering = sub._sends++ > 0;
    sub._sentSince = since;
    sub._sentOn = this.#ws;
    const payload = { channel: sub.channel };
    if (since) payload.since = since;
    const key = this.#o.routes?.subscribe ?? 'subscribe';
    const id = this.#nextId++;
    const entry = {
      id,
      timeout: this.#o.requestTimeout,
      timer: null,
      socket: null,
      subscription: sub,
      resolve: frame => this.#subscribed(sub, frame),
      reject: error => {
        if (error.code === 'timeout' || error.code === 'connection_lost') return; // tried again on the next connection
        if (this.#subs.get(sub.channel) === sub) this.#subs.delete(sub.channel);
        sub._end(error);
        this._emit('error', error);
      },
    };
    // Subscriptions are state, not queued messages: they go out on each connection before the queue is flushed.
    this.#transmit(this.#command(key, payload, id), entry);
  }

  #subscribed(sub, frame) {
    if (sub.closed) return;
    const channel = sub.channel;
    if (!isPattern(channel)) {
      const position = this._positions.get(channel);
      if (typeof frame.epoch === 'string' && typeof frame.offset === 'number') {
        if (frame.recovered === true) {
          // The missed events follow this answer, after the offset sent (those already received are told apart by it).
          const current = position && position.epoch === frame.epoch ? position.offset : null;
          const sent = sub._sentSince?.offset ?? current ?? frame.offset;
          this._positions.set(channel, { epoch: frame.epoch, offset: current != null ? Math.max(sent, current) : sent });
        } else if (!position || position.epoch !== frame.epoch || frame.recovered === false) {
          this._positions.set(channel, { epoch: frame.epoch, offset: frame.offset });
        } else {
          position.offset = Math.max(position.offset ?? frame.offset, frame.offset);
        }
      }
    }
    sub._session = this.connectionId;
    const wasRecovering = sub._recovering || sub._sentSince != null;
    sub._confirmed(frame);
    if (wasRecovering) {
      const recovered = frame.recovered === true;
      const info = { channel, recovered, subscription: sub, frame };
      sub._emit('recovered', info);
      this._emit('recovered', info);
    }
    sub._sentSince = null;
    sub._recovering = false;
  }

  _unsubscribe(sub) {
    if (this.#subs.get(sub.channel) === sub) this.#subs.delete(sub.channel);
    if (!isPattern(sub.channel)) this._positions.delete(sub.channel);
    if (this.#state !== 'open') return Promise.resolve(null);
    return this.#builtIn('unsubscribe', { channel: sub.channel });
  }

  // ----- connecting -----

  async #open() {
    const generation = ++this.#generation;
    let token;
    if (this.#o.getToken) {
      try {
        token = await this.#o.getToken();
      } catch (e) {
        if (generation !== this.#generation || this.#state === 'closed') return;
        this._emit('error', new GatewayError('token', 'getToken() failed: ' + (e?.message ?? e), undefined));
        this.#scheduleRetry({ code: 1006, reason: 'no token', wasClean: false });
        return;
      }
    }
    if (generation !== this.#generation || this.#state === 'closed') return;
    this.#token = token;
    const sse = this.#sse;
    const url = sse ? sseUrl(this.#url) : new URL(this.#url, globalThis.location?.href);
    if (token && (sse || this.#o.tokenTransport === 'query')) url.searchParams.set(this.#o.tokenParam, token);
    const resuming = this.#o.resume && this.resumeToken;
    if (resuming) {
      url.searchParams.set('resume', this.resumeToken);
      url.searchParams.set('received', String(this.#received));
    }
    const protocols = [...this.#o.protocols];
    if (token && this.#o.tokenTransport === 'subprotocol') protocols.unshift('bearer', token);
    let ws;
    try {
      const EventSourceImpl = this.#o.EventSource === undefined ? globalThis.EventSource : this.#o.EventSource;
      ws = sse ? new SseSocket(url.toString(), this.#link, EventSourceImpl, this.#link.fetch)
        : protocols.length ? new this.#Socket(url.toString(), protocols) : new this.#Socket(url.toString());
    } catch (e) {
      this._emit('error', e);
      this.#scheduleRetry({ code: 1006, reason: String(e?.message ?? e), wasClean: false });
      return;
    }
    this.#ws = ws;
    this.#handshake = true;
    ws.binaryType = 'arraybuffer';
    this.#timers.connect = setTimeout(() => {
      if (this.#ws === ws && this.#handshake) {
        ws.onerror = () => {};
        try { ws.close(4000, 'connect timeout'); } catch { /* closing */ }
        this.#onClose(ws, 1006, 'connect timeout', false);
      }
    }, this.#o.connectTimeout);
    ws.onopen = () => {
      if (this.#ws !== ws) return;
      ws.wasOpen = true;
      if (!this.#o.connectedFrame) this.#fresh({ type: 'connected', connectionId: null });
    };
    ws.onmessage = event => { if (this.#ws === ws) this.#onFrame(event.data); };
    ws.onclose = event => this.#onClose(ws, event.code, event.reason, event.wasClean);
    ws.onerror = () => { /* a close event follows */ };
  }

  #onClose(ws, code, reason, wasClean) {
    if (this.#ws !== ws) return;
    this.#ws = null;
    this.#handshake = false;
    this.#clearTimers();
    ws.onopen = ws.onmessage = ws.onclose = null;
    // Closing a socket that is still connecting makes it report an error (on Node's ws, one nobody hears would throw).
    ws.onerror = () => {};
    for (const sub of this.#subs.values()) sub.active = false;
    if (this.#state === 'closed') return;
    if (this.#o.transport === 'auto') {
      // A WebSocket that never opened (a proxy refused the upgrade, or nothing answered): the event stream next. A stream
      // that never opened: the WebSocket again. After webSocketRetryAfter on the stream, a reconnect tries the WebSocket first.
      const sse = ws instanceof SseSocket;
      if (!ws.wasOpen) this.#sse = !sse || typeof this.#Socket !== 'function';
      else if (sse && Date.now() - this.#fellBackAt >= this.#o.webSocketRetryAfter && typeof this.#Socket === 'function') this.#sse = false;
      if (this.#sse && !sse) this.#fellBackAt = Date.now();
    }
    this.#scheduleRetry({ code, reason: reason ?? '', wasClean: !!wasClean });
  }

  #scheduleRetry(info) {
    const r = this.#o.reconnect;
    const willRetry = r.enabled && this.#attempt < r.maxAttempts && (r.shouldReconnect ? r.shouldReconnect(info) : info.code !== 1000);
    let delay = null;
    if (willRetry) {
      const n = this.#attempt++;
      delay = n === 0 ? r.firstDelay : Math.random() * Math.min(r.maxDelay, r.baseDelay * Math.pow(r.factor, n - 1));
      this.#setState('reconnecting');
      this.#timers.retry = setTimeout(() => { this.#timers.retry = null; this.#open(); }, delay);
    }
    this._emit('disconnected', { ...info, willRetry, delay });
    if (!willRetry) {
      this.#setState('closed');
      const error = new GatewayError('closed', `the connection closed (${info.code}) and will not be retried`);
      this.#failAll(error, true);
      for (const sub of this.#subs.values()) sub._end(null);
      this.#subs.clear();
      this.#opened?.settle.reject(error);
    }
  }

  #setState(state) {
    if (this.#state === state) return;
    this.#state = state;
    this._emit('state', state);
  }

  #clearTimers() {
    for (const key of Object.keys(this.#timers)) {
      clearTimeout(this.#timers[key]);
      clearInterval(this.#timers[key]);
      this.#timers[key] = null;
    }
  }

  /** Rejects requests sent on an earlier socket (their answer cannot come any more) and, with `queued`, the queue too. */
  #failAll(error, queued) {
    for (const [id, entry] of this.#pending) {
      if (entry.socket === this.#ws && !queued) continue;
      this.#pending.delete(id);
      clearTimeout(entry.timer);
      entry.reject(error);
    }
    if (queued) {
      for (const { entry } of this.#queue) entry?.reject(error);
      this.#queue.length = 0;
    }
  }

  #ready() {
    this.#handshake = false;
    clearTimeout(this.#timers.connect);
    this.#setState('open');
    clearTimeout(this.#timers.stable);
    this.#timers.stable = setTimeout(() => { this.#attempt = 0; }, this.#o.reconnect.stableAfter);
    this.#startHeartbeat();
    this.#scheduleRefresh();
  }

  #fresh(frame) {
    this.connectionId = frame.connectionId ?? null;
    this.resumeToken = frame.resumeToken ?? null;
    this.connectedFrame = frame;
    this.#received = 0;
    for (const [channel, position] of this._positions) if (position.epoch == null) this._positions.delete(channel);
    this.#ready();
    // A new connection: answers to what the old one was asked will not come.
    this.#failAll(new GatewayError('connection_lost', 'the connection was lost before the answer came'), false);
    this._emit('connected', { connectionId: this.connectionId, resumed: false, frame });
    for (const sub of this.#subs.values()) {
      if (sub.closed) continue;
      const position = isPattern(sub.channel) ? null : this._positions.get(sub.channel);
      const since = position && position.epoch != null && position.offset != null ? { offset: position.offset, epoch: position.epoch } : null;
      this.#sendSubscribe(sub, since);
    }
    this.#flush();
    this.#opened?.settle.resolve({ connectionId: this.connectionId, resumed: false, frame });
  }

  #resumed(frame) {
    this.resumeToken = frame.resumeToken ?? null;
    this.connectedFrame = frame;
    this.#ready();
    for (const sub of this.#subs.values()) if (sub._session === this.connectionId) sub.active = true;
    const missed = typeof frame.missed === 'number' ? frame.missed : 0;
    this._emit('resumed', { connectionId: this.connectionId, missed, frame });
    this._emit('connected', { connectionId: this.connectionId, resumed: true, frame });
    this.#replayLeft = missed;
    this.#flush();
    if (missed === 0) this.#afterReplay();
  }

  /** After a resume's missed frames: subscriptions whose answer was lost with the old socket are asked again; the queue goes out. */
  #afterReplay() {
    if (this.#state !== 'open') return;
    for (const sub of this.#subs.values()) {
      if (!sub.closed && sub._session !== this.connectionId && sub._sentOn !== this.#ws) {
        const position = isPattern(sub.channel) ? null : this._positions.get(sub.channel);
        const since = position && position.epoch != null ? { offset: position.offset, epoch: position.epoch } : null;
        this.#sendSubscribe(sub, since);
      }
    }
  }

  // ----- receiving -----

  #onFrame(data) {
    if (!this.#handshake) this.#received++;
    if (typeof data !== 'string') {
      this.#countReplay();
      this._emit('message', data);
      return;
    }
    let frame;
    try { frame = JSON.parse(data); } catch { frame = undefined; }
    if (this.#handshake && frame && typeof frame === 'object') {
      if (frame.type === 'resumed') return this.#resumed(frame);
      if (frame.type === 'error' && frame.code === 'resume_failed') {
        // The session is gone; the connected frame of a fresh connection follows, then topics are recovered by offset.
        this.resumeToken = null;
        this._emit('error', new GatewayError('resume_failed', frame.message, frame));
        return;
      }
      if (frame.type === 'connected') return this.#fresh(frame);
      this.#fresh({ type: 'connected', connectionId: null });
      this.#received++;
    }
    this.#countReplay();
    if (!frame || typeof frame !== 'object' || Array.isArray(frame)) {
      this._emit('message', data);
      return;
    }
    this.#dispatch(frame);
  }

  #countReplay() {
    if (this.#replayLeft > 0 && --this.#replayLeft === 0) queueMicrotask(() => this.#afterReplay());
  }

  #dispatch(frame) {
    if (this.#timers.pong && frame.type === 'pong' && frame.id === this._heartbeatId) {
      clearTimeout(this.#timers.pong);
      this.#timers.pong = null;
      return;
    }
    if (frame.type === 'refreshed' || (frame.type === 'connected' && frame.resumeToken)) {
      if (typeof frame.resumeToken === 'string') this.resumeToken = frame.resumeToken;
    }
    if (frame.id !== undefined && frame.id !== null && this.#pending.has(frame.id)) {
      this.#answer(this.#pending.get(frame.id), frame);
      return;
    }
    if (typeof frame.channel === 'string' && typeof frame.type === 'string') {
      if (frame.type === 'join' || frame.type === 'leave') {
        let matched = false;
        for (const sub of this.#subs.values()) {
          if (!sub.closed && topicMatches(sub.channel, frame.channel)) { matched = true; sub._emit(frame.type, frame); }
        }
        if (!matched) this._emit('message', frame);
        return;
      }
      if (!BUILT_IN_ANSWERS.has(frame.type) && frame.by === undefined) {
        this.#event(frame);
        return;
      }
    }
    if (frame.type === 'error') this._emit('error', new GatewayError(frame.code ?? 'error', frame.message, frame));
    else this._emit('message', frame);
  }

  #event(frame) {
    const channel = frame.channel;
    if (typeof frame.offset === 'number') {
      const position = this._positions.get(channel);
      if (position && position.offset != null && frame.offset <= position.offset) return; // seen already
      if (position) position.offset = frame.offset; else this._positions.set(channel, { epoch: null, offset: frame.offset });
    }
    for (const sub of this.#subs.values()) {
      if (!sub.closed && topicMatches(sub.channel, channel)) sub._deliver(frame);
    }
    this._emit('event', frame);
  }

  #answer(entry, frame) {
    if (entry.chunks) {
      switch (frame.type) {
        case 'response':
          entry.chunks._chunk(frame.response);
          break;
        case 'ack':
          entry.chunks.ack = frame;
          return this.#arm(entry);
        case 'stream_start':
          return this.#arm(entry);
        case 'stream_chunk':
          entry.chunks._chunk(frame.chunk);
          return this.#arm(entry);
      }
    } else if (frame.type === 'ack' && typeof frame.message_number === 'number') {
      return this.#arm(entry);
    } else if (frame.type === 'stream_start' || frame.type === 'stream_chunk') {
      return this.#arm(entry);
    }
    this.#pending.delete(entry.id);
    clearTimeout(entry.timer);
    if (frame.type === 'error') {
      entry.reject(new GatewayError(frame.code ?? 'error', frame.message, frame));
    } else if (frame.type === 'publish_failed') {
      entry.reject(new GatewayError(frame.reason ?? 'publish_failed', frame.message, frame));
    } else {
      entry.resolve(frame);
    }
  }

  // ----- keeping the connection -----

  #scheduleRefresh() {
    clearTimeout(this.#timers.refresh);
    const r = this.#o.refresh;
    if (!r.enabled || !this.#o.getToken || !this.#refreshSupported) return;
    const expiry = tokenExpiry(this.#token);
    if (expiry === undefined) return;
    // A token that lives less than the lead time is renewed halfway through its life, not over and over.
    const left = expiry - Date.now();
    const delay = Math.max(0, left - r.leadTime, left / 2);
    this.#timers.refresh = setTimeout(() => this.#refresh(), Math.min(delay, 2_147_483_647));
  }

  async #refresh() {
    const ws = this.#ws;
    try {
      const frame = await this.refreshToken();
      if (typeof frame.resumeToken === 'string') this.resumeToken = frame.resumeToken;
      this._emit('refreshed', { expiresAt: frame.expiresAt, frame });
      if (this.#ws === ws) this.#scheduleRefresh();
    } catch (e) {
      if (this.#ws !== ws || this.#state !== 'open') return;
      if (e.code === 'invalid_request') {
        // The server takes no in-band refresh (no JWT configured there): the next connection asks getToken() anyway.
        this.#refreshSupported = false;
      } else {
        this.#timers.refresh = setTimeout(() => this.#refresh(), this.#o.refresh.retryDelay);
      }
      this._emit('error', e);
    }
  }

  #startHeartbeat() {
    const h = this.#o.heartbeat;
    if (!h.interval) return;
    clearInterval(this.#timers.heartbeat);
    this.#timers.heartbeat = setInterval(() => {
      const ws = this.#ws;
      if (!ws || this.#state !== 'open' || this.#timers.pong) return;
      this._heartbeatId = `hb${this.#nextId++}`;
      ws.send(this.#command(this.#o.routes?.ping ?? 'ping', {}, this._heartbeatId));
      this.#timers.pong = setTimeout(() => {
        this.#timers.pong = null;
        // No pong: the socket is dead or stuck. Drop it and resume.
        this.reconnect(4001, 'heartbeat timeout');
      }, h.timeout);
    }, h.interval);
  }
}

export default GatewayClient;
