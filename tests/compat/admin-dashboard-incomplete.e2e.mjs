// The admin dashboard in a real browser (Debian's Chromium driven by playwright-core) when a node does not answer: one
// gateway node and a silent one on Redis, started by the .NET test (Operations/DashboardTests). The users, connections
// and topics views show what the answering node said, and name the silent node above it.
// node --test admin-dashboard-incomplete.e2e.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const env = name => {
  const value = process.env[name];
  assert.ok(value, `the .NET test sets ${name}`);
  return value;
};

test('an answer without every node is shown with the nodes that did not answer', async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const context = await browser.newContext({ httpCredentials: { username: env('ACCESS_KEY_ID'), password: env('SECRET_ACCESS_KEY') } });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', e => errors.push(e.message));
    page.on('console', m => { if (m.type() === 'error') errors.push(m.text()); });
    assert.equal((await page.goto(env('ADMIN_URL'))).status(), 200);
    const missing = `Incomplete: nodes that did not answer in time: ${env('SILENT_NODE')}.`;

    await page.fill('#users-value', 'alice');
    await page.click('#users-form button[type="submit"]');
    await page.waitForFunction(() => document.getElementById('users-status').textContent.startsWith('1 connection'));
    assert.equal(await page.textContent('#users-notice'), missing);
    assert.equal(await page.isVisible('#users-notice'), true);
    assert.equal(await page.textContent('#users-table tbody td'), env('ALICE_ID'));

    await page.click('#connections-load');
    await page.waitForFunction(() => document.querySelectorAll('#connection-list tbody tr').length === 1);
    assert.equal(await page.textContent('#connections-notice'), missing);

    await page.click('#topics-form button[type="submit"]');
    await page.waitForFunction(() => document.querySelectorAll('#topic-list tbody tr').length === 1);
    assert.equal(await page.textContent('#topics-notice'), missing);
    await page.click('#topic-list button[data-topic="news.sports"]');
    await page.waitForFunction(() => document.getElementById('topic-subscribers').textContent === '1');
    assert.equal(await page.textContent('#topic-notice'), missing);
    assert.deepEqual(errors, []);
    await context.close();
  } finally {
    await browser.close();
  }
});
