// permessage-deflate with real clients: ws with perMessageDeflate, and Chromium, which always offers it. Each checks
// what the gateway answered in the 101 and echoes a large JSON message (compressed both ways: the .NET test that starts
// the gateway counts the messages it compressed). Run by that test: node --test compression.e2e.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { chromium } from 'playwright-core';

const url = process.env.GATEWAY_CLIENT_URL;
const large = JSON.stringify({ action: 'relay', chunks: Array.from({ length: 400 }, (_, i) => ({ n: i, token: `word-${i % 13}` })) });

test('ws with perMessageDeflate negotiates it and a large message round-trips', async () => {
  assert.ok(url, 'the .NET test passes the gateway URL');
  const ws = new WebSocket(url, { perMessageDeflate: { threshold: 0, clientNoContextTakeover: true } });
  const answered = new Promise(resolve => ws.once('upgrade', res => resolve(res.headers['sec-websocket-extensions'])));
  const frames = [];
  const done = new Promise((resolve, reject) => {
    ws.on('message', (data, binary) => {
      frames.push(data.toString());
      if (frames.length === 1) ws.send(large);
      if (frames.length === 2) resolve();
    });
    ws.on('error', reject);
    ws.on('close', code => reject(new Error('closed ' + code)));
  });
  await done;
  assert.match(await answered, /^permessage-deflate; server_no_context_takeover; client_no_context_takeover/);
  assert.equal(ws.extensions, 'permessage-deflate');
  assert.equal(JSON.parse(frames[0]).type, 'connected');
  assert.equal(frames[1], large);
  ws.removeAllListeners('close');
  await new Promise(resolve => { ws.once('close', resolve); ws.close(1000); });
});

test('Chromium negotiates it and a large message round-trips', async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage();
    const result = await page.evaluate(({ url, large }) => new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      const frames = [];
      ws.onmessage = e => {
        frames.push(e.data);
        if (frames.length === 1) ws.send(large);
        if (frames.length === 2) { ws.close(1000); resolve({ extensions: ws.extensions, echoed: frames[1] === large }); }
      };
      ws.onclose = e => { if (frames.length < 2) reject(new Error('closed ' + e.code)); };
    }), { url, large });
    assert.match(result.extensions, /^permessage-deflate; server_no_context_takeover; client_no_context_takeover/);
    assert.equal(result.echoed, true);
  } finally {
    await browser.close();
  }
});
