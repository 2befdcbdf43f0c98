// clients/js in a real browser (Debian's Chromium, driven by playwright-core): a page imports the module, connects with
// a token from its callback, subscribes, receives published events in order and gets a command's answer.
// Run by Compatibility/JsClientTests: node --test js-client-browser.e2e.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import { chromium } from 'playwright-core';
import { clientUrl, mint, publish } from './js-client-helpers.mjs';

const page = token => `<!doctype html><meta charset="utf-8"><title>client</title><ul id="events"></ul>
<script type="module">
  import { GatewayClient } from '/gateway-client.js';
  const client = new GatewayClient(${JSON.stringify(clientUrl)}, { getToken: async () => ${JSON.stringify(token)}, tokenTransport: 'subprotocol' });
  window.report = { events: [], states: [] };
  client.on('state', s => window.report.states.push(s));
  const sub = client.subscribe('events.browser');
  sub.ready.then(async frame => {
    window.report.subscribed = frame;
    window.report.pong = await client.ping();
  });
  (async () => {
    for await (const event of sub) {
      window.report.events.push(event.data.n);
      const li = document.createElement('li');
      li.textContent = String(event.data.n);
      document.getElementById('events').appendChild(li);
    }
  })();
</script>`;

test('the library runs in Chromium', async () => {
  const library = await readFile(new URL('../../clients/js/src/gateway-client.js', import.meta.url), 'utf8');
  const server = http.createServer((req, res) => {
    if (req.url === '/gateway-client.js') {
      res.setHeader('content-type', 'text/javascript; charset=utf-8');
      return res.end(library);
    }
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(page(mint('browser-user')));
  });
  await new Promise(r => server.listen(0, '127.0.0.1', r));
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const tab = await browser.newPage();
    const errors = [];
    tab.on('pageerror', e => errors.push(e.message));
    await tab.goto(`http://127.0.0.1:${server.address().port}/`);
    await tab.waitForFunction(() => window.report?.pong, null, { timeout: 10_000 });
    for (let n = 1; n <= 5; n++) await publish('events.browser', 'tick', { n });
    await tab.waitForFunction(() => window.report.events.length === 5, null, { timeout: 10_000 });
    const report = await tab.evaluate(() => window.report);
    assert.deepEqual(report.events, [1, 2, 3, 4, 5]);
    assert.equal(report.subscribed.type, 'subscribed');
    assert.equal(report.pong.type, 'pong');
    assert.deepEqual(report.states, ['connecting', 'open']);
    assert.deepEqual(await tab.$$eval('#events li', items => items.map(i => i.textContent)), ['1', '2', '3', '4', '5']);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    server.close();
  }
});
