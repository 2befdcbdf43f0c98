// clients/js resuming its session (a gateway with Connections:ResumeWindow). The socket is cut without a close frame in
// the middle of a burst of events (a TCP proxy between client and gateway resets both sides), or closed by the client
// with 4000; the client comes back with its resume token, the count of frames it received and a fresh JWT, keeps its
// connection id and subscriptions, and gets what it missed once and in order, without subscribing again.
// Run by Compatibility/JsClientTests: node --test js-client-resume.e2e.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayClient, Socket, clientUrl, mint, next, publish, startProxy, take, until } from './js-client-helpers.mjs';

test('a socket cut mid-burst is resumed: same connection, every event once and in order, nothing resubscribed', async () => {
  const target = new URL(clientUrl);
  const proxy = await startProxy(target);
  let gate = null;
  let tokens = 0;
  const client = new GatewayClient(`ws://127.0.0.1:${proxy.port}${target.pathname}`, {
    WebSocket: Socket,
    getToken: async () => { tokens++; await gate; return mint('resumer'); },
  });
  const unexpected = [];
  client.on('recovered', e => unexpected.push(`recovered ${e.channel}`));
  client.on('error', e => unexpected.push(`error ${e.code} ${e.message}`));
  try {
    const first = await client.connect();
    const firstToken = client.resumeToken;
    assert.equal(typeof firstToken, 'string');
    const events = client.subscribe('events.resume');
    const iterator = events[Symbol.asyncIterator]();
    await events.ready;

    // A burst of 40 events, one after another; the socket is cut once 10 have arrived, and the client may come back
    // only after the 30th was published. Events in flight at the cut, and those published meanwhile, come after the resume.
    // Events that reached the client before the cut: at least the 10 taken, perhaps one or two more already on the wire.
    let arrived = 0;
    client.on('event', e => { if (e.channel === 'events.resume') arrived++; });
    let release;
    gate = new Promise(r => { release = r; });
    const lost = next(client, 'disconnected');
    const resumed = next(client, 'resumed', 10_000);
    let published = 0;
    const burst = (async () => {
      for (let n = 1; n <= 40; n++) {
        await publish('events.resume', 'tick', { n });
        published = n;
        if (n === 30) release();
      }
    })();
    const received = [];
    for (const e of await take(iterator, 10)) received.push(e);
    proxy.drop();
    const dropped = await lost;
    const beforeCut = arrived;
    assert.equal(dropped.code, 1006);
    assert.equal(dropped.willRetry, true);
    const info = await resumed;
    assert.ok(published >= 30, 'the client came back after the 30th event');
    assert.equal(info.connectionId, first.connectionId);
    assert.equal(client.connectionId, first.connectionId);
    // The gateway counts what it sent past the frames the client said it received: every event published by the resume
    // (30 or more) that had not arrived before the cut.
    assert.ok(beforeCut >= 10 && beforeCut < 30, `arrived before the cut ${beforeCut}`);
    assert.ok(info.missed >= 30 - beforeCut && info.missed <= 40 - beforeCut, `missed ${info.missed} with ${beforeCut} before the cut`);
    assert.notEqual(client.resumeToken, firstToken);
    assert.equal(tokens, 2, 'a fresh token for the resume');
    for (const e of await take(iterator, 30, 10_000)) received.push(e);
    await burst;
    assert.deepEqual(received.map(e => e.data.n), Array.from({ length: 40 }, (_, i) => i + 1));
    assert.deepEqual(received.map(e => e.offset), Array.from({ length: 40 }, (_, i) => i + 1));

    // The in-band refresh answer carries a resume token too; the client keeps it for the next resume.
    const refreshed = await client.refreshToken();
    assert.equal(typeof refreshed.resumeToken, 'string');
    assert.equal(client.resumeToken, refreshed.resumeToken);

    // Closed by the client with 4000 ("I will resume") while a request is on its way: resumed again, the answer follows.
    const again = next(client, 'resumed');
    const answer = client.request('echo', { n: 'across' });
    client.reconnect();
    assert.equal((await again).connectionId, first.connectionId);
    assert.equal((await answer).n, 'across');
    await publish('events.resume', 'tick', { n: 41 });
    assert.deepEqual((await take(iterator, 1)).map(e => e.offset), [41]);
    await until(() => events.active, 'the subscription is active');
    assert.deepEqual(unexpected, []);
  } finally {
    client.close();
    proxy.close();
  }
});
