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

test('the dashboard shows the cluster, lists connections, users and topics of every node, messages and disconnects connections, closes a user', async () => {
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
    // confirm() before closing a user's connections: the test reads its text and accepts it.
    const dialogs = [];
    page.on('dialog', async d => { dialogs.push(d.message()); await d.accept(); });
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

    // A user id is text, never markup: in the table, the status and the confirm before closing the user's connections.
    const markup = env('MARKUP_USER');
    await page.fill('#users-value', markup);
    await page.click('#users-form button[type="submit"]');
    await page.waitForFunction(u => document.getElementById('users-status').textContent === `1 connection of ${u}`, markup);
    assert.equal(await page.textContent('#users-table tbody td'), env('MARKUP_ID'));
    await page.click('#users-close');
    await page.waitForFunction(() => document.getElementById('users-status').textContent.startsWith('closed '));
    assert.equal(await page.textContent('#users-status'), `closed 1 connection of ${markup}`);
    assert.deepEqual(dialogs, [`Close every connection of the user ${markup}, on every node?`]);
    assert.equal(await page.$$eval('img', imgs => imgs.length), 0);
    assert.equal(await page.evaluate(() => window.injected), undefined);
    assert.equal(await page.isHidden('#users-close'), true);

    // Users: alice has a connection on each node, listed with its node from both nodes' answers.
    await page.fill('#users-value', 'alice');
    await page.click('#users-form button[type="submit"]');
    await page.waitForFunction(() => document.querySelectorAll('#users-table tbody tr').length === 2);
    const alice = await page.$$eval('#users-table tbody tr', trs => trs.map(tr => ({ id: tr.cells[0].textContent, node: tr.cells[1].textContent, at: tr.cells[2].textContent })));
    assert.deepEqual(alice.map(a => a.id).sort(), [env('ALICE_A_ID'), env('ALICE_B_ID')].sort());
    assert.deepEqual(alice.map(a => a.node).sort(), [env('NODE_A'), env('NODE_B')].sort());
    assert.ok(alice.every(a => a.at.length > 0));
    assert.match(await page.textContent('#users-status'), /^2 connections of alice/);
    assert.equal(await page.isHidden('#users-notice'), true);
    assert.equal(await page.isVisible('#users-close'), true);
    // A row opens the connection's card, from the node that holds it.
    await page.click(`#users-table button[data-connection-id="${env('ALICE_B_ID')}"]`);
    const aliceCard = page.locator(`#users-results .connection[data-connection-id="${env('ALICE_B_ID')}"]`);
    await aliceCard.waitFor();
    assert.equal(await aliceCard.locator('[data-field="authMethod"]').textContent(), 'jwt');
    assert.equal(await aliceCard.locator('[data-field="node"]').textContent(), env('NODE_B'));

    // Connections: every node's, with the node column, in pages of three (the nodes' MaxPageSize).
    const rowsOf = selector => page.$$eval(selector, trs => trs.map(tr => [...tr.cells].map(c => c.textContent)));
    await page.click('#connections-load');
    await page.waitForFunction(() => document.querySelectorAll('#connection-list tbody tr').length === 3);
    const firstPage = await rowsOf('#connection-list tbody tr');
    assert.equal(await page.isVisible('#connections-next'), true);
    await page.click('#connections-next');
    await page.waitForFunction(() => document.querySelectorAll('#connection-list tbody tr').length === 1);
    assert.equal(await page.isHidden('#connections-next'), true);
    const listed = [...firstPage, ...await rowsOf('#connection-list tbody tr')];
    assert.equal(listed.length, expected - 1);
    assert.deepEqual(listed.map(r => r[0]), listed.map(r => r[0]).slice().sort());
    // Listing again starts from the first page.
    await page.click('#connections-load');
    await page.waitForFunction(() => document.querySelectorAll('#connection-list tbody tr').length === 3);
    assert.deepEqual(await rowsOf('#connection-list tbody tr'), firstPage);
    assert.deepEqual(listed.map(r => r[1]).sort(), [env('NODE_A'), env('NODE_B'), env('NODE_B'), env('NODE_B')].sort());
    assert.ok(listed.some(r => r[0] === env('BOB_ID') && r[1] === env('NODE_B') && r[2] === 'bob'));
    assert.match(await page.textContent('#connections-status'), new RegExp(`^${expected - 1} connections on every node`));

    // Topics: the live topics of both nodes, by prefix; one in detail with its subscribers and latest events.
    await page.fill('#topics-prefix', 'news');
    await page.click('#topics-form button[type="submit"]');
    await page.waitForFunction(() => document.querySelectorAll('#topic-list tbody tr').length === 2);
    const live = await page.$$eval('#topic-list tbody tr', trs => Object.fromEntries(trs.map(tr => [tr.cells[0].textContent, tr.cells[1].textContent])));
    assert.deepEqual(live, { 'news.>': '1', 'news.sports': '2' });
    await page.click('#topic-list button[data-topic="news.sports"]');
    await page.waitForFunction(() => document.getElementById('topic-history').hidden === false);
    assert.equal(await page.textContent('#topic-name'), 'news.sports');
    assert.equal(await page.textContent('#topic-subscribers'), '3');
    const events = await page.$$eval('#topic-history tbody tr', trs => trs.map(tr => [...tr.cells].map(c => c.textContent)));
    assert.deepEqual(events, JSON.parse(env('EXPECT_HISTORY')));
    assert.equal(await page.isHidden('#topic-notice'), true);

    await page.screenshot({ path: env('SCREENSHOT'), fullPage: true });

    // Find bob's connection, on the other node, by its id; send it a test message; disconnect it.
    const bob = env('BOB_ID');
    await page.fill('#find-value', bob);
    await page.click('#find button[type="submit"]');
    const card = page.locator(`#results .connection[data-connection-id="${bob}"]`);
    await card.waitFor();
    assert.equal(await card.locator('[data-field="node"]').textContent(), env('NODE_B'));
    assert.equal(await card.locator('[data-field="userId"]').textContent(), 'bob');
    assert.equal(await card.locator('[data-field="subscriptions"]').textContent(), 'news.sports');
    assert.equal(await card.locator('[data-field="sourceIp"]').textContent(), '127.0.0.1');

    await card.locator('[data-field="message"]').fill(env('TEST_MESSAGE'));
    await card.locator('[data-action="send"]').click();
    await page.waitForFunction(id => document.querySelector(`[data-connection-id="${id}"] [data-field="result"]`).textContent === 'sent', bob);
    await card.locator('[data-action="disconnect"]').click();
    await page.waitForFunction(id => document.querySelector(`[data-connection-id="${id}"] [data-field="result"]`).textContent === 'disconnected', bob);

    // A change without the dashboard's header is refused (the .NET tests send other sites' requests: Origin, Host).
    const forged = await page.evaluate(async id => (await fetch(`api/connections/${id}`, { method: 'DELETE' })).status, env('CAROL_ID'));
    assert.equal(forged, 403);
    const forgedUser = await page.evaluate(async () => (await fetch('api/user?userId=carol', { method: 'DELETE' })).status);
    assert.equal(forgedUser, 403);

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
