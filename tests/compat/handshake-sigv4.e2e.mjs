// $connect with AWS Signature Version 4 (Amazon's IAM authorization), signed by the real AWS signer, in headers and
// as a presigned URL. Run by the .NET test that starts a gateway with Auth:SigV4 on: node --test handshake-sigv4.e2e.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { SignatureV4 } from '@smithy/signature-v4';
import { createHash, createHmac } from 'node:crypto';
import { connect, clientUrl, stage, region } from './helpers.mjs';

class Sha256 {
  constructor(secret) { this.hash = secret ? createHmac('sha256', Buffer.from(secret)) : createHash('sha256'); }
  update(data) { this.hash.update(typeof data === 'string' ? data : Buffer.from(data)); }
  async digest() { return new Uint8Array(this.hash.digest()); }
}

const good = { accessKeyId: process.env.GATEWAY_ACCESS_KEY_ID, secretAccessKey: process.env.GATEWAY_SECRET_ACCESS_KEY };
assert.ok(good.accessKeyId && good.secretAccessKey, 'the .NET test passes the configured credentials');
const base = new URL(clientUrl);
const signer = credentials => new SignatureV4({ credentials, region, service: 'execute-api', sha256: Sha256 });
const handshake = (path = `/${stage}`) => ({
  method: 'GET', protocol: 'http:', hostname: base.hostname, port: Number(base.port), path, query: {},
  headers: { host: base.host },
});

/** The status a refused handshake was answered with. */
function refusal(url, headers = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on('unexpected-response', (_, res) => { resolve(res.statusCode); ws.terminate(); });
    ws.on('open', () => { ws.close(); reject(new Error('the handshake was accepted')); });
    ws.on('error', () => {});
  });
}

const urlOf = (request) => {
  const query = new URLSearchParams(request.query).toString();
  return `ws://${base.host}${request.path}${query ? '?' + query : ''}`;
};

async function whoami(client) {
  client.ws.send(JSON.stringify({ action: 'whoami' }));
  return JSON.parse((await client.next()).text);
}

test('a handshake signed in its headers connects as the access key', async () => {
  const signed = await signer(good).sign(handshake());
  const client = await connectWith(urlOf(signed), signed.headers);
  const me = await whoami(client);
  assert.equal(me.userId, good.accessKeyId);
  assert.equal(me.method, 'sigv4');
  client.close();
});

test('a presigned URL connects, as a browser would use it', async () => {
  const presigned = await signer(good).presign(handshake(), { expiresIn: 300 });
  assert.ok(presigned.query['X-Amz-Signature']);
  const client = await connect(urlOf(presigned));
  assert.equal((await whoami(client)).userId, good.accessKeyId);
  client.close();
});

test('a wrong secret, an unknown key, another path, an expired presign and no signature are refused with 401', async () => {
  const wrong = await signer({ ...good, secretAccessKey: 'not-the-secret' }).sign(handshake());
  assert.equal(await refusal(urlOf(wrong), wrong.headers), 401);

  const unknown = await signer({ accessKeyId: 'AKIDUNKNOWN', secretAccessKey: good.secretAccessKey }).sign(handshake());
  assert.equal(await refusal(urlOf(unknown), unknown.headers), 401);

  const signedForStage = await signer(good).sign(handshake());
  assert.equal(await refusal(`ws://${base.host}/`, signedForStage.headers), 401);

  const stale = await signer(good).presign(handshake(), { expiresIn: 60, signingDate: new Date(Date.now() - 20 * 60 * 1000) });
  assert.equal(await refusal(urlOf(stale)), 401);

  const tampered = await signer(good).presign(handshake(), { expiresIn: 300 });
  assert.equal(await refusal(urlOf({ ...tampered, query: { ...tampered.query, extra: '1' } })), 401);

  assert.equal(await refusal(urlOf(handshake())), 401);
});

function connectWith(url, headers) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    const frames = [];
    const waiters = [];
    ws.on('message', data => {
      const frame = { text: Buffer.from(data).toString('utf8') };
      if (waiters.length) waiters.shift()(frame); else frames.push(frame);
    });
    ws.on('unexpected-response', (_, res) => reject(new Error(`handshake answered ${res.statusCode}`)));
    ws.on('error', reject);
    const client = {
      ws,
      next: () => frames.length ? Promise.resolve(frames.shift()) : new Promise(res => waiters.push(res)),
      close: () => ws.close(),
    };
    client.next().then(first => { assert.equal(JSON.parse(first.text).type, 'connected'); resolve(client); }, reject);
  });
}
