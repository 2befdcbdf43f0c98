// A browser cannot set headers on a WebSocket: it offers its JWT as a subprotocol, new WebSocket(url, ['bearer', token]).
// Debian's Chromium (driven by playwright-core) proves the gateway accepts that and answers with 'bearer', never the
// token. Run by the .NET test that starts a gateway with JWT authentication: node --test browser-token.e2e.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const url = process.env.GATEWAY_CLIENT_URL;
const token = process.env.GOOD_TOKEN;
const badToken = process.env.BAD_TOKEN;

test('Chromium connects with its token in Sec-WebSocket-Protocol and a bad token is refused', async () => {
  assert.ok(url && token && badToken, 'the .NET test passes the gateway URL and the tokens');
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage();
    const open = await page.evaluate(({ url, token }) => new Promise((resolve, reject) => {
      const ws = new WebSocket(url, ['bearer', token]);
      const frames = [];
      ws.onmessage = e => {
        frames.push(JSON.parse(e.data));
        if (frames.length === 1) ws.send(JSON.stringify({ action: 'whoami' }));
        if (frames.length === 2) { ws.close(1000); resolve({ protocol: ws.protocol, frames }); }
      };
      ws.onclose = e => { if (frames.length < 2) reject(new Error('closed ' + e.code)); };
    }), { url, token });
    assert.equal(open.protocol, 'bearer');
    assert.equal(open.frames[0].type, 'connected');
    assert.equal(open.frames[1].userId, 'browser-user');
    assert.equal(open.frames[1].method, 'jwt');

    const refused = await page.evaluate(({ url, badToken }) => new Promise(resolve => {
      const ws = new WebSocket(url, ['bearer', badToken]);
      let opened = false;
      ws.onopen = () => { opened = true; };
      ws.onclose = e => resolve({ opened, code: e.code });
    }), { url, badToken });
    assert.deepEqual(refused, { opened: false, code: 1006 });
  } finally {
    await browser.close();
  }
});
