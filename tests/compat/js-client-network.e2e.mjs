// clients/js when the network fails between it and the gateway (a TCP proxy in between): a path that stops carrying
// anything is noticed by the client's heartbeat, and the client connects again and recovers its topics by offset.
// Run by Compatibility/JsClientTests: node --test js-client-network.e2e.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayClient, Socket, clientUrl, next, publish, startProxy, take } from './js-client-helpers.mjs';

test('a stalled connection is noticed by the heartbeat, replaced, and its topics recovered', async () => {
  const target = new URL(clientUrl);
  const proxy = await startProxy(target);
  const client = new GatewayClient(`ws://127.0.0.1:${proxy.port}${target.pathname}`, {
    WebSocket: Socket,
    heartbeat: { interval: 200, timeout: 500 },
  });
  try {
    const first = await client.connect();
    const events = client.subscribe('events.stall');
    const iterator = events[Symbol.asyncIterator]();
    await events.ready;
    for (let n = 1; n <= 5; n++) await publish('events.stall', 'tick', { n });
    assert.deepEqual((await take(iterator, 5)).map(e => e.data.n), [1, 2, 3, 4, 5]);

    const lost = next(client, 'disconnected', 3000);
    const recovered = next(client, 'recovered', 5000);
    proxy.stall();
    for (let n = 6; n <= 10; n++) await publish('events.stall', 'tick', { n });
    const dropped = await lost;
    assert.equal(dropped.code, 4001);
    assert.equal(dropped.reason, 'heartbeat timeout');
    assert.equal(dropped.willRetry, true);
    assert.equal((await recovered).recovered, true);
    assert.notEqual(client.connectionId, first.connectionId);
    for (let n = 11; n <= 12; n++) await publish('events.stall', 'tick', { n });
    const rest = await take(iterator, 7);
    assert.deepEqual(rest.map(e => e.data.n), [6, 7, 8, 9, 10, 11, 12]);
  } finally {
    client.close();
    proxy.close();
  }
});
