// Two real browser pages (Debian's Chromium, driven by playwright-core) chat through the gateway and the chat sample.
// Run by the .NET test that starts the gateway and the sample: node --test chat-browser.e2e.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const sampleUrl = process.env.CHAT_SAMPLE_URL;

test('a message typed in one page appears in the other', async () => {
  assert.ok(sampleUrl, 'CHAT_SAMPLE_URL must name the running chat sample');
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const alice = await browser.newPage();
    const bob = await browser.newPage();
    // With EXPECT_SSE the pages must reach the gateway through its event stream (the WebSocket is refused on the way).
    const streams = [];
    for (const page of [alice, bob]) page.on('request', request => { if (new URL(request.url()).pathname.endsWith('/sse')) streams.push(request.url()); });
    for (const page of [alice, bob]) {
      await page.goto(sampleUrl);
      await page.waitForFunction(() => document.getElementById('status').textContent === 'connected');
    }

    await alice.fill('#text', 'hello from alice');
    await alice.click('#send');
    for (const page of [bob, alice]) {
      await page.waitForFunction(() => [...document.querySelectorAll('#messages li')].some(li => li.textContent === 'hello from alice'), null, { timeout: 10_000 });
    }

    await bob.fill('#text', 'hi alice');
    await bob.press('#text', 'Enter');
    await alice.waitForFunction(() => [...document.querySelectorAll('#messages li')].some(li => li.textContent === 'hi alice'), null, { timeout: 10_000 });
    assert.deepEqual(await alice.$$eval('#messages li', items => items.map(i => i.textContent)), ['hello from alice', 'hi alice']);
    if (process.env.EXPECT_SSE) assert.ok(streams.length >= 2, `the pages opened ${streams.length} event streams`);
  } finally {
    await browser.close();
  }
});
