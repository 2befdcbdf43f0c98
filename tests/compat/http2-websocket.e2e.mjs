// WebSockets over HTTP/2 (RFC 8441) in Debian's Chromium, driven by playwright-core. Chromium opens a WebSocket as an
// extended CONNECT stream only on an HTTP/2 connection it already has to the origin, so the page is first loaded from
// the gateway (over TLS, where ALPN picks h2), then opens its sockets. The test certificate is trusted through
// Chromium's SPKI flag. Debian's Chromium 156 needs no --enable-features flag for WebSockets over HTTP/2: they are on
// by default (its binary knows a feature switch only for WebSockets over HTTP/3). Run by the .NET test that starts the
// gateway and checks, on the server, which protocol the handshakes came over: node --test http2-websocket.e2e.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const origin = process.env.GATEWAY_ORIGIN;
const spki = process.env.GATEWAY_SPKI;

test('Chromium opens WebSockets over its HTTP/2 connection to the gateway', async () => {
  assert.ok(origin && spki, 'the .NET test passes the gateway origin and its certificate key hash');
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
      `--ignore-certificate-errors-spki-list=${spki}`],
  });
  try {
    const page = await browser.newPage();
    const loaded = await page.goto(`${origin}/healthz`);
    assert.equal(loaded.status(), 200);
    const result = await page.evaluate(async () => {
      const navigation = performance.getEntriesByType('navigation')[0].nextHopProtocol;
      const open = text => new Promise((resolve, reject) => {
        const ws = new WebSocket(`wss://${location.host}/prod`);
        let id;
        ws.onmessage = e => {
          const frame = e.data;
          if (id === undefined) { id = JSON.parse(frame).connectionId; ws.send(text); return; }
          ws.close(1000, 'done');
          resolve({ id, echo: frame });
        };
        ws.onerror = () => reject(new Error('the WebSocket failed'));
      });
      const sockets = await Promise.all([open('first over h2'), open('second over h2')]);
      return { navigation, sockets };
    });
    assert.equal(result.navigation, 'h2');
    assert.deepEqual(result.sockets.map(s => s.echo), ['first over h2', 'second over h2']);
    // The ids go to the .NET test, which looks up the protocol each handshake used.
    console.log(`CONNECTION_IDS=${result.sockets.map(s => s.id).join(',')}`);
  } finally {
    await browser.close();
  }
});
