// clients/js falling back to the event stream: a proxy in front of the gateway refuses every WebSocket upgrade (as some
// corporate proxies do) and passes plain HTTP. The client's WebSocket fails before it opens; it connects again over the
// Server-Sent Events fallback by itself (Node 20: a fetch stream, no EventSource) and everything works the same: commands
// answered by id, topics in order, binary, a resumed session, a close the gateway reports.
// Run by Compatibility/JsClientTests: node --test js-client-sse.e2e.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { ApiGatewayManagementApiClient, PostToConnectionCommand, GetConnectionCommand, DeleteConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { GatewayClient, Socket, clientUrl, managementUrl, mint, next, publish, take, until } from './js-client-helpers.mjs';

/** An HTTP proxy to the gateway that answers every upgrade 403 and streams everything else through. */
async function startRefusingProxy(target) {
  const server = http.createServer((request, response) => {
    const upstream = http.request({ host: target.hostname, port: target.port, path: request.url, method: request.method, headers: request.headers }, answer => {
      response.writeHead(answer.statusCode, answer.headers);
      answer.pipe(response);
    });
    upstream.on('error', () => response.destroy());
    request.pipe(upstream);
    response.on('close', () => upstream.destroy());
  });
  let upgrades = 0;
  server.on('upgrade', (request, socket) => {
    upgrades++;
    socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  });
  await new Promise(resolve => server.listen(0, '127.0.0.1', resolve));
  return { port: server.address().port, get upgrades() { return upgrades; }, close: () => { server.closeAllConnections(); server.close(); } };
}

test('behind a proxy that refuses WebSockets the client falls back to the event stream and works the same', async () => {
  const target = new URL(clientUrl);
  const proxy = await startRefusingProxy(target);
  const client = new GatewayClient(`ws://127.0.0.1:${proxy.port}${target.pathname}`, { WebSocket: Socket, getToken: async () => mint('sse-user') });
  const errors = [];
  client.on('error', e => errors.push(`${e.code} ${e.message}`));
  try {
    const first = await client.connect();
    assert.equal(client.transport, 'sse');
    assert.ok(proxy.upgrades >= 1, 'the WebSocket was tried first');
    assert.equal(typeof client.resumeToken, 'string');

    // Commands correlated by id, a route's answer, topics in order, binary both ways.
    assert.equal((await client.ping()).type, 'pong');
    const echoed = await client.request('anything', { text: 'hi\nthere' });
    assert.equal(echoed.text, 'hi\nthere');
    const events = client.subscribe('events.sse');
    const iterator = events[Symbol.asyncIterator]();
    await events.ready;
    for (let n = 1; n <= 5; n++) await publish('events.sse', 'tick', { n });
    assert.deepEqual((await take(iterator, 5)).map(e => e.data.n), [1, 2, 3, 4, 5]);
    const binary = next(client, 'message');
    client.sendRaw(new Uint8Array([0, 1, 254, 255]));
    assert.deepEqual([...new Uint8Array(await binary)], [0, 1, 254, 255]);

    // Many sends at once are applied in the order they were made.
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => client.request('anything', { i })));
    assert.deepEqual(answers.map(a => a.i), Array.from({ length: 20 }, (_, i) => i));

    // The stream drops (close 4000, "I will resume"): the session resumes over the stream, with what was published meanwhile.
    const resumed = next(client, 'resumed', 10_000);
    client.reconnect();
    for (let n = 6; n <= 10; n++) await publish('events.sse', 'tick', { n });
    const info = await resumed;
    assert.equal(info.connectionId, first.connectionId);
    assert.equal(client.transport, 'sse');
    assert.deepEqual((await take(iterator, 5)).map(e => e.data.n), [6, 7, 8, 9, 10]);
    assert.equal((await client.request('anything', { after: 'resume' })).after, 'resume');

    // close() ends the connection on the gateway (the management API finds it gone).
    const id = client.connectionId;
    client.close();
    await until(async () => (await fetch(`${managementUrl}/@connections/${id}`)).status === 410, 'the connection is gone');
    assert.deepEqual(errors, []);
  } finally {
    client.close();
    proxy.close();
  }
});

test("transport: 'websocket' never falls back, and transport: 'sse' goes straight to the stream", async () => {
  const target = new URL(clientUrl);
  const proxy = await startRefusingProxy(target);
  const stubborn = new GatewayClient(`ws://127.0.0.1:${proxy.port}${target.pathname}`, { WebSocket: Socket, transport: 'websocket', getToken: async () => mint('a'), reconnect: { maxAttempts: 2, baseDelay: 10 } });
  const direct = new GatewayClient(clientUrl, { transport: 'sse', getToken: async () => mint('b') });
  try {
    await assert.rejects(stubborn.connect());
    assert.equal(stubborn.transport, 'websocket');
    assert.equal(proxy.upgrades, 3);
    await direct.connect();
    assert.equal(direct.transport, 'sse');
    assert.equal((await direct.request('anything', { n: 1 })).n, 1);
  } finally {
    stubborn.close();
    direct.close();
    proxy.close();
  }
});

test('after webSocketRetryAfter on the stream, a reconnect tries the WebSocket first, and resumes on the stream when it is still refused', async () => {
  const target = new URL(clientUrl);
  const proxy = await startRefusingProxy(target);
  const client = new GatewayClient(`ws://127.0.0.1:${proxy.port}${target.pathname}`, { WebSocket: Socket, webSocketRetryAfter: 0, getToken: async () => mint('retry') });
  try {
    const first = await client.connect();
    assert.equal(client.transport, 'sse');
    assert.equal(proxy.upgrades, 1);
    const resumed = next(client, 'resumed', 10_000);
    client.reconnect();
    assert.equal((await resumed).connectionId, first.connectionId);
    assert.equal(proxy.upgrades, 2, 'the WebSocket was tried again first');
    assert.equal(client.transport, 'sse');
  } finally {
    client.close();
    proxy.close();
  }
});

test("the AWS SDK's management calls work unchanged on an event-stream connection", async () => {
  const api = new ApiGatewayManagementApiClient({ endpoint: `${managementUrl}/prod`, region: 'us-east-1', credentials: { accessKeyId: 'AKIDSSE', secretAccessKey: 'sse-test-secret' } });
  const client = new GatewayClient(clientUrl, { transport: 'sse', getToken: async () => mint('sdk') });
  try {
    const { connectionId } = await client.connect();
    const text = next(client, 'message');
    await api.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: 'hello from sdk v3' }));
    assert.equal(await text, 'hello from sdk v3');
    const binary = next(client, 'message');
    await api.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: new Uint8Array([0xff, 0x00, 0xc3, 0x28]) }));
    assert.deepEqual([...new Uint8Array(await binary)], [0xff, 0x00, 0xc3, 0x28]);
    const info = await api.send(new GetConnectionCommand({ ConnectionId: connectionId }));
    assert.equal(info.Identity.SourceIp, '127.0.0.1');
    const closed = next(client, 'disconnected');
    await api.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
    const end = await closed;
    assert.equal(end.code, 1000);
    assert.equal(end.willRetry, false);
  } finally {
    client.close();
  }
});
