// clients/js against a started gateway (JWT, topics with history and presence, client publishing, a connector route):
// subscribe and events, command correlation, the queue while disconnected, recovery by offset, token refresh,
// presence, a streamed answer. Run by Compatibility/JsClientTests: node --test js-client.e2e.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { GatewayClient, GatewayError, Socket, clientUrl, mint, until, next, publish, take } from './js-client-helpers.mjs';

const naming = process.env.CLIENT_NAMING ?? 'action';

// A connector backend: /ask streams NDJSON chunks; /plain answers at once.
function startBackend(port) {
  const server = http.createServer(async (req, res) => {
    for await (const _ of req) { /* the event */ }
    if (req.url === '/ask') {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      for (const text of ['Hel', 'lo', ' world']) {
        res.write(JSON.stringify({ text }) + '\n');
        await new Promise(r => setTimeout(r, 5));
      }
      res.end(JSON.stringify({ usage: { output_tokens: 3 } }) + '\n');
    } else if (req.url === '/broken') {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write(JSON.stringify({ text: 'Hel' }) + '\n');
      setTimeout(() => res.destroy(), 20);
    } else {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ text: 'plain answer' }));
    }
  });
  return new Promise(resolve => server.listen(port, '127.0.0.1', () => resolve(server)));
}

test(`the client, ${naming} naming`, async () => {
  assert.ok(clientUrl, 'GATEWAY_CLIENT_URL names the gateway');
  const backend = process.env.BACKEND_PORT ? await startBackend(Number(process.env.BACKEND_PORT)) : null;
  let tokens = 0;
  let gate = null;
  const alice = new GatewayClient(clientUrl, {
    WebSocket: Socket,
    naming,
    // A short-lived token: the client refreshes it in band 2.5 s before it expires.
    getToken: async () => { tokens++; await gate; return mint('alice', 4); },
    refresh: { leadTime: 2500 },
    queueSize: 3,
    requestTimeout: 3000,
  });
  const bob = new GatewayClient(clientUrl, { WebSocket: Socket, naming, getToken: () => mint('bob'), tokenTransport: 'subprotocol' });
  const errors = [];
  alice.on('error', e => errors.push(e));
  try {
    const first = await alice.connect();
    assert.match(first.connectionId, /^[A-Za-z0-9_-]{20}$/);
    assert.equal(alice.state, 'open');
    await bob.connect();

    // Subscribe, then events in order with their offsets, through the async iterator and a listener alike.
    const events = alice.subscribe('events.a');
    const iterator = events[Symbol.asyncIterator]();
    const heard = [];
    events.on('event', e => heard.push(e.data.n));
    const subscribed = await events.ready;
    assert.equal(subscribed.type, 'subscribed');
    assert.equal(typeof subscribed.epoch, 'string');
    for (let n = 1; n <= 3; n++) await publish('events.a', 'tick', { n });
    const firstThree = await take(iterator, 3);
    assert.deepEqual(firstThree.map(e => [e.type, e.channel, e.data.n, e.offset]), [['tick', 'events.a', 1, 1], ['tick', 'events.a', 2, 2], ['tick', 'events.a', 3, 3]]);
    assert.deepEqual(events.position, { offset: 3, epoch: subscribed.epoch });

    // Commands answered by id, several at once, each to its own promise.
    const [pong, history, published, echoed] = await Promise.all([
      alice.ping(),
      alice.history('events.a', { limit: 2 }),
      alice.publish('chat.room1', 'message', { text: 'hi' }),
      // The $default route echoes the message as sent, id included: a route answer correlated like a command's.
      alice.request('echo', { x: 1 }),
    ]);
    assert.equal(pong.type, 'pong');
    assert.deepEqual(history.events.map(e => e.data.n), [1, 2]);
    assert.equal(history.complete, false);
    assert.equal(published.type, 'published');
    assert.equal(naming === 'type' ? echoed.data.x : echoed.x, 1);

    // Errors come back as rejections with the gateway's code.
    await assert.rejects(alice.subscribe('not a channel').ready, e => e instanceof GatewayError && e.code === 'invalid_request');
    await assert.rejects(alice.publish('other.topic', 'message', {}), e => e.code === 'not_allowed');

    // Presence: bob joins the room alice is in; the presence answer lists both; bob leaves.
    const room = alice.subscribe('room.1');
    await room.ready;
    const joined = next(room, 'join');
    await bob.subscribe('room.1').ready;
    assert.equal((await joined).member.userId, 'bob');
    const members = await room.presence();
    assert.deepEqual(members.members.map(m => m.userId).sort(), ['alice', 'bob']);
    const left = next(room, 'leave');
    bob.close();
    assert.equal((await left).member.userId, 'bob');

    // A streamed answer of the connector envelope: chunks in order, then the full response and its usage.
    if (backend) {
      const stream = alice.stream('ask', { prompt: 'hi' });
      const chunks = [];
      for await (const chunk of stream) chunks.push(chunk);
      assert.deepEqual(chunks, ['Hel', 'lo', ' world']);
      const result = await stream.result;
      assert.equal(result.fullResponse, 'Hello world');
      assert.deepEqual(result.tokenUsage, { output_tokens: 3 });
      assert.equal(stream.ack.type, 'ack');
      const plain = alice.stream('plain', {});
      assert.deepEqual(await take(plain, 1), ['plain answer']);
      assert.equal((await plain.result).fullResponse, 'plain answer');
      // A stream that breaks off: the chunks that came, then the iterator throws the gateway's error.
      const broken = alice.stream('broken', {});
      const got = [];
      await assert.rejects((async () => { for await (const chunk of broken) got.push(chunk); })(),
        e => e instanceof GatewayError && e.code === 'internal_error' && e.message === 'The stream ended early.');
      assert.deepEqual(got, ['Hel']);
      await assert.rejects(broken.result, e => e.code === 'internal_error');
      const answered = await alice.request('ask', { prompt: 'again' });
      assert.equal(answered.type, 'stream_end');
      assert.equal(answered.full_response, 'Hello world');
    }

    // The token is refreshed in band before it expires, getToken() giving the new one.
    const refreshed = await next(alice, 'refreshed', 6000);
    assert.match(refreshed.expiresAt, /^\d{4}-\d\d-\d\dT/);

    // Disconnected (getToken() held back on the reconnect): sends wait in the queue, in order, up to its size.
    let release;
    gate = new Promise(r => { release = r; });
    const connectedAgain = next(alice, 'connected');
    const recovered = next(alice, 'recovered');
    const tokensBefore = tokens;
    alice.reconnect();
    assert.equal(alice.state, 'reconnecting');
    const queued = [alice.request('echo', { n: 1 }), alice.request('echo', { n: 2 })];
    alice.send('echo', { n: 3 });
    assert.equal(alice.queued, 3);
    assert.throws(() => alice.send('echo', { n: 4 }), e => e.code === 'queue_full');
    await assert.rejects(alice.ping(), e => e.code === 'queue_full');
    // Events published meanwhile are recovered after the reconnect, by offset, once each.
    for (let n = 4; n <= 6; n++) await publish('events.a', 'tick', { n });
    await until(() => tokens > tokensBefore, 'getToken() asked again on reconnect');
    release();
    const again = await connectedAgain;
    assert.notEqual(again.connectionId, first.connectionId);
    assert.deepEqual(await recovered, { channel: 'events.a', recovered: true, subscription: events, frame: (await recovered).frame });
    const answers = await Promise.all(queued);
    assert.deepEqual(answers.map(a => naming === 'type' ? a.data.n : a.n), [1, 2]);
    await publish('events.a', 'tick', { n: 7 });
    const rest = await take(iterator, 4);
    assert.deepEqual(rest.map(e => [e.data.n, e.offset]), [[4, 4], [5, 5], [6, 6], [7, 7]]);
    assert.deepEqual(heard, [1, 2, 3, 4, 5, 6, 7]);

    // Unsubscribing ends the iterator; later events reach nobody.
    const kept = events.position;
    await events.unsubscribe();
    assert.deepEqual(await iterator.next(), { value: undefined, done: true });

    // A position kept by the application (across a page load, say) recovers what came after it, on a new client.
    await publish('events.a', 'tick', { n: 8 });
    const later = new GatewayClient(clientUrl, { WebSocket: Socket, naming, getToken: () => mint('carol') });
    try {
      const recoveredLater = next(later, 'recovered');
      const resumedFrom = later.subscribe('events.a', { since: { offset: 5, epoch: kept.epoch } });
      assert.equal((await recoveredLater).recovered, true);
      assert.deepEqual((await take(resumedFrom[Symbol.asyncIterator](), 3)).map(e => e.data.n), [6, 7, 8]);
      // Too old an epoch: told to reload, nothing replayed.
      const stale = next(later, 'recovered');
      later.subscribe('events.b', { since: { offset: 1, epoch: 'not-this-one' } });
      assert.equal((await stale).recovered, false);

      // Pushes to the connection and other frames that answer nothing are messages.
      const pushed = next(later, 'message');
      const response = await fetch(`${process.env.GATEWAY_MANAGEMENT_URL}/@connections/${later.connectionId}`, { method: 'POST', body: 'a push' });
      assert.equal(response.status, 200);
      assert.equal(await pushed, 'a push');

      // The backend disconnecting the client (close 1000) is final: no reconnect.
      const ended = next(later, 'disconnected');
      assert.equal((await fetch(`${process.env.GATEWAY_MANAGEMENT_URL}/@connections/${later.connectionId}`, { method: 'DELETE' })).status, 204);
      const closed = await ended;
      assert.equal(closed.code, 1000);
      assert.equal(closed.willRetry, false);
      assert.equal(later.state, 'closed');
    } finally {
      later.close();
    }
    assert.equal(errors.filter(e => e.code !== 'not_allowed' && e.code !== 'invalid_request').length, 0, errors.map(String).join('\n'));
  } finally {
    alice.close();
    bob.close();
    backend?.close();
  }
});

// Independent of the naming: run with the action naming only.
if (naming === 'action') test('reconnects with bounded full-jitter backoff, then gives up', async () => {
  // A port nobody listens on: every attempt is refused by the operating system.
  const server = http.createServer();
  await new Promise(r => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  await new Promise(r => server.close(r));
  let tokens = 0;
  const client = new GatewayClient(`ws://127.0.0.1:${port}/`, {
    WebSocket: Socket,
    getToken: () => { tokens++; return 'token'; },
    reconnect: { firstDelay: 0, baseDelay: 40, factor: 2, maxDelay: 100, maxAttempts: 5 },
  });
  const lost = [];
  client.on('disconnected', e => lost.push(e));
  const states = [];
  client.on('state', s => states.push(s));
  const failed = client.connect();
  await assert.rejects(failed, e => e.code === 'closed');
  assert.equal(client.state, 'closed');
  assert.equal(lost.length, 6);
  assert.equal(tokens, 6, 'getToken() before each attempt');
  assert.deepEqual(lost.map(e => e.willRetry), [true, true, true, true, true, false]);
  assert.equal(lost[0].delay, 0);
  const bounds = [40, 80, 100, 100];
  lost.slice(1, 5).forEach((e, i) => assert.ok(e.delay >= 0 && e.delay <= bounds[i], `retry ${i + 2} waited ${e.delay} ms, at most ${bounds[i]}`));
  assert.equal(states.at(-1), 'closed');
  assert.throws(() => client.send('x'), e => e.code === 'closed');
});

test(`an event the gateway sends twice reaches the application once, ${naming} naming`, async () => {
  // The socket records every frame as it came off the wire.
  const wire = [];
  class RecordingSocket extends Socket {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', e => { if (typeof e.data === 'string') wire.push(JSON.parse(e.data)); });
    }
  }
  const client = new GatewayClient(clientUrl, { WebSocket: RecordingSocket, naming, getToken: () => mint('dave') });
  try {
    const events = client.subscribe('events.twice');
    const delivered = [];
    events.on('event', e => delivered.push(e.offset));
    const subscribed = await events.ready;
    for (let n = 1; n <= 3; n++) await publish('events.twice', 'tick', { n });
    await until(() => delivered.length === 3, 'three events');
    // Subscribing again from offset 0 makes the gateway send the three events once more.
    const again = await client.request('subscribe', { channel: 'events.twice', since: { offset: subscribed.offset, epoch: subscribed.epoch } });
    assert.equal(again.recovered, true);
    await publish('events.twice', 'tick', { n: 4 });
    await until(() => delivered.length === 4, 'the fourth event');
    const sent = wire.filter(f => f.type === 'tick').map(f => f.offset);
    assert.deepEqual(sent.slice(0, 3), [1, 2, 3]);
    assert.deepEqual(sent.slice(-1), [4]);
    assert.equal(sent.length, 7, `the gateway sent ${JSON.stringify(sent)}`);
    assert.deepEqual(delivered, [1, 2, 3, 4]);
  } finally {
    client.close();
  }
});
