// Shared by the tests of clients/js: tokens, waiting, the management API, and the library itself.
import { createHmac } from 'node:crypto';
import WebSocket from 'ws';

export { GatewayClient, GatewayError } from '../../clients/js/src/gateway-client.js';

// Node 20 has no global WebSocket: the client takes a constructor, here the ws package's.
export const Socket = globalThis.WebSocket ?? WebSocket;
export const clientUrl = process.env.GATEWAY_CLIENT_URL;
export const managementUrl = (process.env.GATEWAY_MANAGEMENT_URL ?? '').replace(/\/$/, '');

/** An HS256 JWT as the gateway's test configuration accepts it. */
export function mint(subject, lifetimeSeconds = 300, extra = {}) {
  const b64 = value => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const head = b64({ alg: 'HS256', typ: 'JWT' });
  const body = b64({ sub: subject, iss: process.env.JWT_ISSUER, aud: process.env.JWT_AUDIENCE, iat: now, nbf: now, exp: now + lifetimeSeconds, ...extra });
  const signature = createHmac('sha256', process.env.JWT_SECRET).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${signature}`;
}

/** Resolves once check() is truthy; rejects after ms. */
export async function until(check, what, ms = 5000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise(r => setTimeout(r, 10));
  }
}

/** The next emission of an event, within ms. */
export function next(emitter, type, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { off(); reject(new Error(`no ${type} within ${ms} ms`)); }, ms);
    const off = emitter.on(type, value => { clearTimeout(timer); off(); resolve(value); });
  });
}

/** POST /@topics/{topic} on the management API (of the given base URL). */
export async function publish(topic, type, data, base = managementUrl) {
  const response = await fetch(`${base}/@topics/${encodeURIComponent(topic)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type, data }),
  });
  if (!response.ok) throw new Error(`publish answered ${response.status}`);
  return response.json();
}

/** Takes n values from an async iterator, within ms. */
export async function take(iterator, n, ms = 5000) {
  const values = [];
  const timer = setTimeout(() => iterator.return?.(), ms);
  try {
    while (values.length < n) {
      const { value, done } = await iterator.next();
      if (done) break;
      values.push(value);
    }
  } finally {
    clearTimeout(timer);
  }
  if (values.length < n) throw new Error(`only ${values.length} of ${n} values within ${ms} ms`);
  return values;
}

/**
 * A TCP proxy in front of the gateway, for network failures: drop() cuts every connection at once without a close frame;
 * stall() stops forwarding on the connections open now, leaving them open (a half-dead path); new connections pass.
 */
export async function startProxy(target) {
  const net = await import('node:net');
  const pairs = new Set();
  const server = net.createServer(client => {
    const upstream = net.connect(Number(target.port), target.hostname);
    const pair = { client, upstream };
    pairs.add(pair);
    for (const s of [client, upstream]) {
      s.on('error', () => {});
      s.on('close', () => pairs.delete(pair));
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise(r => server.listen(0, '127.0.0.1', r));
  return {
    port: server.address().port,
    drop() {
      for (const { client, upstream } of pairs) { client.resetAndDestroy(); upstream.resetAndDestroy(); }
    },
    stall() {
      for (const { client, upstream } of pairs) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
    },
    close() { this.drop(); server.close(); },
  };
}
