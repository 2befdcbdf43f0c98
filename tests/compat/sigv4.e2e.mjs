// Management credentials against the real AWS SDK signers. Run by the .NET test that starts a gateway with
// credentials configured: node --test sigv4.e2e.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import AWS from 'aws-sdk';
import {
  ApiGatewayManagementApiClient, PostToConnectionCommand, GetConnectionCommand, DeleteConnectionCommand,
  ForbiddenException,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { SignatureV4 } from '@smithy/signature-v4';
import { createHash, createHmac } from 'node:crypto';
import { connect, managementUrl, stage, region } from './helpers.mjs';

// The hash the signer is given (the SDK's clients bundle their own): SHA-256, or HMAC-SHA256 with a key.
class Sha256 {
  constructor(secret) { this.hash = secret ? createHmac('sha256', Buffer.from(secret)) : createHash('sha256'); }
  update(data) { this.hash.update(typeof data === 'string' ? data : Buffer.from(data)); }
  async digest() { return new Uint8Array(this.hash.digest()); }
}

const good = { accessKeyId: process.env.GATEWAY_ACCESS_KEY_ID, secretAccessKey: process.env.GATEWAY_SECRET_ACCESS_KEY };
const apiKey = process.env.GATEWAY_API_KEY;
assert.ok(good.accessKeyId && good.secretAccessKey && apiKey, 'the .NET test passes the configured credentials');
const endpoint = `${managementUrl}/${stage}`;
const client = credentials => new ApiGatewayManagementApiClient({ endpoint, region, credentials, maxAttempts: 1 });

test('v3 and v2 signing with configured credentials succeed, with a stage and a percent-encoded id', async () => {
  const ws = await connect();
  await client(good).send(new PostToConnectionCommand({ ConnectionId: ws.id, Data: 'signed v3' }));
  assert.equal((await ws.next()).text, 'signed v3');
  const info = await client(good).send(new GetConnectionCommand({ ConnectionId: ws.id }));
  assert.equal(info.Identity.SourceIp, '127.0.0.1');

  const v2 = new AWS.ApiGatewayManagementApi({ endpoint, region, credentials: good, maxRetries: 0 });
  await v2.postToConnection({ ConnectionId: ws.id, Data: 'signed v2' }).promise();
  assert.equal((await ws.next()).text, 'signed v2');

  // An id the SDK must percent-encode: the signature over the encoded path verifies, and the id itself is refused.
  const v3Bad = await client(good).send(new PostToConnectionCommand({ ConnectionId: 'AAAAAAAAAAAAAAAAAAA=', Data: 'x' })).catch(e => e);
  assert.equal(v3Bad.name, 'BadRequestException');
  assert.equal(v3Bad.$metadata.httpStatusCode, 400);
  const v2Bad = await v2.postToConnection({ ConnectionId: 'AAAAAAAAAAAAAAAAAA/=', Data: 'x' }).promise().catch(e => e);
  assert.equal(v2Bad.code, 'BadRequestException');

  await client(good).send(new DeleteConnectionCommand({ ConnectionId: ws.id }));
  assert.equal((await ws.closed).code, 1000);
});

test('a wrong secret, an unknown key id and a stale date are forbidden', async () => {
  const ws = await connect();
  for (const [what, api] of [
    ['wrong secret', client({ ...good, secretAccessKey: 'not-the-secret' })],
    ['unknown key id', client({ accessKeyId: 'AKIDUNKNOWN', secretAccessKey: good.secretAccessKey })],
    ['stale date', new ApiGatewayManagementApiClient({ endpoint, region, credentials: good, maxAttempts: 1, systemClockOffset: -20 * 60 * 1000 })],
  ]) {
    const error = await api.send(new PostToConnectionCommand({ ConnectionId: ws.id, Data: 'x' })).catch(e => e);
    assert.ok(error instanceof ForbiddenException, `${what}: expected ForbiddenException, got ${error?.name}`);
    assert.equal(error.$metadata.httpStatusCode, 403);
  }

  const v2 = new AWS.ApiGatewayManagementApi({ endpoint, region, credentials: { accessKeyId: good.accessKeyId, secretAccessKey: 'wrong' }, maxRetries: 0 });
  assert.equal((await v2.postToConnection({ ConnectionId: ws.id, Data: 'x' }).promise().catch(e => e)).code, 'ForbiddenException');
  ws.close();
});

test('a signed request whose body or path is altered after signing is forbidden', async () => {
  const ws = await connect();
  const signer = new SignatureV4({ credentials: good, region, service: 'execute-api', sha256: Sha256 });
  const url = new URL(`${endpoint}/@connections/${ws.id}`);
  const sign = body => signer.sign({
    method: 'POST', protocol: url.protocol, hostname: url.hostname, port: Number(url.port), path: url.pathname,
    headers: { host: url.host, 'content-type': 'application/octet-stream' }, body,
  });

  const signed = await sign('original');
  const ok = await fetch(url, { method: 'POST', headers: signed.headers, body: 'original' });
  assert.equal(ok.status, 200);
  assert.equal((await ws.next()).text, 'original');

  const alteredBody = await fetch(url, { method: 'POST', headers: signed.headers, body: 'tampered' });
  assert.equal(alteredBody.status, 403);
  assert.equal(alteredBody.headers.get('x-amzn-errortype'), 'ForbiddenException');

  const other = await connect();
  const alteredPath = await fetch(new URL(`${endpoint}/@connections/${other.id}`), { method: 'POST', headers: signed.headers, body: 'original' });
  assert.equal(alteredPath.status, 403);
  ws.close();
  other.close();
});

test('API keys work in x-api-key and as a bearer token; anonymous calls are refused even from loopback', async () => {
  const ws = await connect();
  const url = `${endpoint}/@connections/${ws.id}`;
  assert.equal((await fetch(url, { method: 'POST', headers: { 'x-api-key': apiKey }, body: 'by key' })).status, 200);
  assert.equal((await ws.next()).text, 'by key');
  assert.equal((await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${apiKey}` }, body: 'by bearer' })).status, 200);
  assert.equal((await ws.next()).text, 'by bearer');
  assert.equal((await fetch(url, { method: 'POST', headers: { 'x-api-key': 'wrong-key' }, body: 'x' })).status, 403);
  const anonymous = await fetch(url, { method: 'POST', body: 'x' });
  assert.equal(anonymous.status, 403);
  assert.equal(anonymous.headers.get('x-amzn-errortype'), 'ForbiddenException');
  ws.close();
});
