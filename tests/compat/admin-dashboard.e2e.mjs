// The admin dashboard in a real browser (Debian's Chromium driven by playwright-core), against two gateway nodes
// sharing Redis, started by the .NET test (Operations/DashboardTests), which checks afterwards what the clients saw.
// node --test admin-dashboard.e2e.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const env = name => {
  const value = process.env[name];
  assert.ok(value, `the .NET test sets ${name}`);
  return value;
};

test('the dashboard shows the cluster, finds connections by id and by user, messages and disconnects them', async () => {
  const url = env('ADMIN_URL');
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    // Without credentials: 401 with a Basic challenge (which makes a browser ask for them), and nothing of the page.
    const anonymous = await browser.newContext();
    const refused = await anonymous.request.get(url);
    assert.equal(refused.status(), 401);
    assert.match(refused.headers()['www-authenticate'], /^Basic realm="Gateway admin"/);
    assert.doesNotMatch(await refused.text(), /<html/);
    await anonymous.close();

    // An API key as the Basic password works too (any user name).
    const byKey = await browser.newContext({ httpCredentials: { username: 'ops', password: env('API_KEY') } });
    const keyed = await (await byKey.newPage()).goto(url);
    assert.equal(keyed.status(), 200);
    await byKey.close();

    // An access key id and its secret, as the browser's login prompt would send them.
    const context = await browser.newContext({
      httpCredentials: { username: env('ACCESS_KEY_ID'), password: env('SECRET_ACCESS_KEY') },
      viewport: { width: 1280, height: 900 },
    });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', e => errors.push(e.message));
    // Script errors fail the test; refused requests the test makes on purpose show as console errors and do not.
    page.on('console', m => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text()); });
    const notFound = [];
    page.on('response', r => { if (r.status() === 404 && !r.url().includes('/api/connections/')) notFound.push(r.url()); });
    assert.equal((await page.goto(url)).status(), 200);

    const expected = Number(env('EXPECT_CONNECTIONS'));
    await page.waitForFunction(n => document.getElementById('connections').textContent === String(n), expected);
    assert.equal(await page.textContent('#node-count'), '2');
    assert.match(await page.textContent('#backplane'), /^redis connected/);
    assert.equal(await page.textContent('#node'), env('NODE_A'));
    const nodes = await page.$$eval('#nodes tbody tr', trs => trs.map(tr => [...tr.cells].map(c => c.textContent)));
    assert.deepEqual(nodes.map(n => n[0]).sort(), [env('NODE_A'), env('NODE_B')].sort());
    assert.equal(nodes.reduce((sum, n) => sum + Number(n[1]), 0), expected);

    // Topics of both nodes, merged: news.sports has subscribers on A and B.
    await page.waitForFunction(() => [...document.querySelectorAll('#topics tbody tr')].some(tr => tr.cells[0].textContent === 'news.sports' && tr.cells[1].textContent === '2'));
    const topics = await page.$$eval('#topics tbody tr', trs => Object.fromEntries(trs.map(tr => [tr.cells[0].textContent, tr.cells[1].textContent])));
    assert.deepEqual(topics, { 'news.sports': '2', 'news.>': '1' });

    // The chart: several samples, and messages flowing (the test keeps one client talking).
    await page.waitForFunction(() => {
      const line = document.querySelector('#chart-rates polyline[data-series="in"]');
      return line && line.getAttribute('points').split(' ').length >= 3;
    });
    await page.waitForFunction(() => Number(document.getElementById('rate-in').textContent) > 0);

    // Find by user: alice has a connection on each node.
    await page.selectOption('#find-kind', 'user');
    await page.fill('#find-value', 'alice');
    await page.click('#find button[type="submit"]');
    await page.waitForSelector('#results .connection');
    const alice = await page.$$eval('#results .connection', cards => cards.map(c => ({
      id: c.dataset.connectionId,
      user: c.querySelector('[data-field="userId"]').textContent,
      auth: c.querySelector('[data-field="authMethod"]').textContent,
      node: c.querySelector('[data-field="node"]').textContent,
    })));
    assert.equal(alice.length, 2);
    assert.deepEqual(alice.map(a => a.node).sort(), [env('NODE_A'), env('NODE_B')].sort());
    assert.ok(alice.every(a => a.user === 'alice' && a.auth === 'jwt'));
    assert.match(await page.textContent('#find-status'), /^2 connections of alice/);

    // Find bob's connection, on the other node, by its id; send it a test message; disconnect it.
    const bob = env('BOB_ID');
    await page.selectOption('#find-kind', 'connection');
    await page.fill('#find-value', bob);
    await page.click('#find button[type="submit"]');
    const card = page.locator(`#results .connection[data-connection-id="${bob}"]`);
    await card.waitFor();
    assert.equal(await card.locator('[data-field="node"]').textContent(), env('NODE_B'));
    assert.equal(await card.locator('[data-field="userId"]').textContent(), 'bob');
    assert.equal(await card.locator('[data-field="subscriptions"]').textContent(), 'news.sports');
    assert.equal(await card.locator('[data-field="sourceIp"]').textContent(), '127.0.0.1');
    await page.screenshot({ path: env('SCREENSHOT'), fullPage: true });

    await card.locator('[data-field="message"]').fill(env('TEST_MESSAGE'));
    await card.locator('[data-action="send"]').click();
    await page.waitForFunction(id => document.querySelector(`[data-connection-id="${id}"] [data-field="result"]`).textContent === 'sent', bob);
    await card.locator('[data-action="disconnect"]').click();
    await page.waitForFunction(id => document.querySelector(`[data-connection-id="${id}"] [data-field="result"]`).textContent === 'disconnected', bob);

    // A change without the dashboard's header is refused (the .NET tests send other sites' requests: Origin, Host).
    const forged = await page.evaluate(async id => (await fetch(`api/connections/${id}`, { method: 'DELETE' })).status, env('ALICE_A_ID'));
    assert.equal(forged, 403);

    // Unknown ids answer 404 in the page, not an exception.
    await page.fill('#find-value', 'AAAAAAAAAAAAAAAAAAAA');
    await page.click('#find button[type="submit"]');
    await page.waitForFunction(() => document.getElementById('find-status').textContent.startsWith('No connection'));
    assert.deepEqual(errors, []);
    assert.deepEqual(notFound, []);
    await context.close();
  } finally {
    await browser.close();
  }
});
