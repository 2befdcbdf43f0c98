// The Gateway admin dashboard: polls /admin/api/overview and draws it; finds, messages and disconnects connections;
// lists every node's connections, looks users up (and closes all their connections), lists live topics and shows one
// with its subscribers, presence and latest events. The cluster-wide views call the management API's own queries,
// mapped under /admin/api: connections, user?userId=, topics, topic?topic=, topic/history?topic=.
// Every value from the server is written as text (textContent, or setAttribute with numbers computed here; never
// innerHTML): channel names, user agents and attributes come from clients, and JSON escaping is no HTML escaping (client
// frames keep `<` as `<`; this API's escapes are not a promise), so escaping for HTML is this page's job.
'use strict';

const api = 'api/';
const $ = id => document.getElementById(id);
const number = new Intl.NumberFormat('en', { maximumFractionDigits: 1 });
let paused = false;
let timer = null;

async function call(path, init = {}) {
  const response = await fetch(api + path, { cache: 'no-store', ...init });
  const body = await response.json().catch(() => ({}));
  return { ok: response.ok, status: response.status, body };
}

function change(path, method, body) {
  return call(path, { method, body, headers: { 'X-Gateway-Admin': '1', 'Content-Type': 'text/plain; charset=utf-8' } });
}

function text(id, value) { $(id).textContent = value; }

function when(iso) {
  const d = new Date(iso);
  return isNaN(d) ? '' : d.toLocaleString();
}

function rows(tbody, items, cells, mark) {
  tbody.replaceChildren(...items.map(item => {
    const tr = document.createElement('tr');
    if (mark && mark(item)) tr.className = 'self';
    for (const value of cells(item)) {
      const td = document.createElement('td');
      td.textContent = value;
      tr.append(td);
    }
    return tr;
  }));
}

const svgNs = 'http://www.w3.org/2000/svg';
function svgElement(name, attributes, content) {
  const element = document.createElementNS(svgNs, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
  if (content !== undefined) element.textContent = content;
  return element;
}

// A line chart of samples: one polyline per series, a few grid lines, the maximum and the time span as labels.
function chart(svg, samples, series) {
  const width = 600, height = 180, left = 40, bottom = 18, top = 8;
  const max = Math.max(1, ...samples.flatMap(s => series.map(([key]) => s[key])));
  const scale = niceMax(max);
  const t0 = samples.length ? samples[0].t : 0, t1 = samples.length ? samples[samples.length - 1].t : 1;
  const x = t => left + (t1 === t0 ? width - left : (t - t0) / (t1 - t0) * (width - left));
  const y = v => top + (1 - v / scale) * (height - top - bottom);
  const parts = [];
  for (const fraction of [0, 0.5, 1]) {
    parts.push(svgElement('line', { class: 'grid', x1: left, x2: width, y1: y(scale * fraction), y2: y(scale * fraction) }));
    parts.push(svgElement('text', { class: 'axis', x: 2, y: y(scale * fraction) + 4 }, number.format(scale * fraction)));
  }
  if (samples.length) {
    parts.push(svgElement('text', { class: 'axis', x: left, y: height - 2 }, new Date(t0).toLocaleTimeString()));
    parts.push(svgElement('text', { class: 'axis', x: width, y: height - 2, 'text-anchor': 'end' }, new Date(t1).toLocaleTimeString()));
  }
  for (const [key, cls] of series) {
    const points = samples.map(s => `${x(s.t).toFixed(1)},${y(s[key]).toFixed(1)}`).join(' ');
    parts.push(svgElement('polyline', { class: `series ${cls}`, points, 'data-series': key }));
  }
  svg.replaceChildren(...parts);
}

function niceMax(value) {
  const power = Math.pow(10, Math.floor(Math.log10(value)));
  for (const step of [1, 2, 5, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}

async function refresh() {
  try {
    const { ok, status, body } = await call('overview');
    if (!ok) { text('updated', `error ${status}: ${body.message ?? ''}`); return; }
    text('node', body.node);
    const backplane = $('backplane');
    backplane.textContent = body.backplane === 'none' ? 'single node' : `${body.backplane} ${body.backplaneAvailable ? 'connected' : 'unavailable'}`;
    backplane.className = 'badge ' + (body.backplaneAvailable ? 'good' : 'bad');
    if (body.draining) { backplane.textContent += ', draining'; backplane.className = 'badge bad'; }
    $('partial').hidden = !body.partial;
    text('partial', body.partial ?? '');
    text('connections', number.format(body.cluster.connections));
    text('rate-in', number.format(body.cluster.messagesInPerSecond));
    text('rate-out', number.format(body.cluster.messagesOutPerSecond));
    text('subscriptions', number.format(body.cluster.subscriptions));
    text('node-count', body.cluster.nodes);
    chart($('chart-connections'), body.samples, [['connections', 'connections']]);
    chart($('chart-rates'), body.samples, [['in', 'in'], ['out', 'out']]);
    rows($('nodes').tBodies[0], body.nodes,
      n => [n.nodeId, number.format(n.connections), number.format(n.messagesInPerSecond), number.format(n.messagesOutPerSecond), number.format(n.subscriptions), when(n.startedAt)],
      n => n.nodeId === body.node);
    rows($('topics').tBodies[0], body.topics, t => [t.pattern, number.format(t.subscribers)]);
    $('topics-empty').hidden = body.topics.length > 0;
    text('updated', 'updated ' + new Date().toLocaleTimeString());
    schedule(Math.min(5, Math.max(1, body.sampleIntervalSeconds)) * 1000);
  } catch (error) {
    text('updated', 'unreachable: ' + error.message);
    schedule(5000);
  }
}

function schedule(ms) {
  clearTimeout(timer);
  if (!paused) timer = setTimeout(refresh, ms);
}

function show(connection) {
  const card = $('connection-template').content.firstElementChild.cloneNode(true);
  card.dataset.connectionId = connection.connectionId;
  const field = name => card.querySelector(`[data-field="${name}"]`);
  for (const key of ['connectionId', 'node', 'authMethod', 'sourceIp', 'queuedMessages']) field(key).textContent = connection[key];
  field('userId').textContent = connection.userId ?? '(anonymous)';
  field('userAgent').textContent = connection.userAgent ?? '';
  field('connectedAt').textContent = when(connection.connectedAt);
  field('lastActiveAt').textContent = when(connection.lastActiveAt);
  field('subscriptions').textContent = connection.subscriptions.length ? connection.subscriptions.join(', ') : 'none';
  field('attributes').textContent = Object.keys(connection.attributes).length ? JSON.stringify(connection.attributes) : 'none';
  const result = field('result');
  const id = encodeURIComponent(connection.connectionId);
  card.querySelector('[data-action="send"]').addEventListener('click', async () => {
    const r = await change(`connections/${id}/messages`, 'POST', field('message').value);
    result.textContent = r.ok ? 'sent' : `not sent: ${r.body.result ?? r.body.message ?? r.status}`;
  });
  card.querySelector('[data-action="disconnect"]').addEventListener('click', async event => {
    const r = await change(`connections/${id}`, 'DELETE');
    result.textContent = r.ok ? 'disconnected' : `not disconnected (${r.status})`;
    if (r.ok) {
      field('state').textContent = 'closed';
      field('state').className = 'badge bad';
      for (const button of card.querySelectorAll('button')) button.disabled = true;
    }
  });
  return card;
}

async function find(event) {
  event.preventDefault();
  const value = $('find-value').value.trim();
  if (value) await showConnection(value, $('results'), $('find-status'));
}

// Finds one connection (on any node) and shows its card in place of what `into` held.
async function showConnection(id, into, status) {
  into.replaceChildren();
  status.textContent = 'searching…';
  const r = await call(`connections/${encodeURIComponent(id)}`);
  if (!r.ok) { status.textContent = r.body.message ?? `error ${r.status}`; return; }
  status.textContent = '';
  into.replaceChildren(show(r.body));
}

// A connection id as a button that shows the connection's card in `into`.
function connectionButton(id, into, status) {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'link';
  button.dataset.connectionId = id;
  button.textContent = id;
  button.addEventListener('click', () => showConnection(id, into, status));
  return button;
}

// A table row of cells: strings are written as text, elements are put in as they are.
function row(cells) {
  const tr = document.createElement('tr');
  for (const value of cells) {
    const td = document.createElement('td');
    if (value instanceof Node) td.append(value); else td.textContent = value ?? '';
    tr.append(td);
  }
  return tr;
}

// The notice of a cluster-wide answer that some node did not give.
function notice(element, body) {
  const missing = body.complete === false;
  element.hidden = !missing;
  element.textContent = !missing ? ''
    : body.missingNodes && body.missingNodes.length
      ? `Incomplete: nodes that did not answer in time: ${body.missingNodes.join(', ')}.`
      : 'Incomplete: the other nodes cannot be reached.';
}

function query(parameters) {
  return new URLSearchParams(Object.entries(parameters).filter(([, v]) => v !== undefined && v !== null && v !== '')).toString();
}

// Connections of every node, a page at a time.
const connectionPage = { cursor: null };
async function listConnections(next) {
  if (!next) connectionPage.cursor = null;
  text('connections-status', 'loading…');
  const r = await call('connections?' + query({ cursor: connectionPage.cursor }));
  if (!r.ok) { text('connections-status', r.body.message ?? `error ${r.status}`); return; }
  const table = $('connection-list');
  table.hidden = false;
  table.tBodies[0].replaceChildren(...r.body.items.map(c =>
    row([connectionButton(c.connectionId, $('results'), $('find-status')), c.node, c.userId ?? '(anonymous)', when(c.connectedAt)])));
  notice($('connections-notice'), r.body);
  connectionPage.cursor = r.body.nextCursor;
  $('connections-next').hidden = !r.body.nextCursor;
  text('connections-status', `${number.format(r.body.count)} connection${r.body.count === 1 ? '' : 's'} on every node`);
}

// A user's connections on every node.
let shownUser = null;
async function lookUpUser(event) {
  event?.preventDefault();
  const userId = $('users-value').value.trim();
  if (!userId) return;
  text('users-status', 'searching…');
  $('users-results').replaceChildren();
  const r = await call('user?' + query({ userId }));
  if (!r.ok) {
    shownUser = null;
    text('users-status', r.body.message ?? `error ${r.status}`);
    $('users-table').hidden = true;
    $('users-close').hidden = true;
    $('users-notice').hidden = true;
    return;
  }
  shownUser = userId;
  const table = $('users-table');
  table.hidden = r.body.items.length === 0;
  table.tBodies[0].replaceChildren(...r.body.items.map(c =>
    row([connectionButton(c.connectionId, $('users-results'), $('users-status')), c.node, when(c.connectedAt)])));
  notice($('users-notice'), r.body);
  $('users-close').hidden = r.body.count === 0;
  text('users-status', `${r.body.count} connection${r.body.count === 1 ? '' : 's'} of ${userId}`);
}

async function closeUser() {
  const userId = shownUser;
  if (userId === null || !confirm(`Close every connection of the user ${userId}, on every node?`)) return;
  const r = await change('user?' + query({ userId, reason: 'Closed from the dashboard' }), 'DELETE');
  if (!r.ok) { text('users-status', r.body.message ?? `error ${r.status}`); return; }
  $('users-close').hidden = true;
  $('users-table').hidden = true;
  $('users-results').replaceChildren();
  notice($('users-notice'), r.body);
  text('users-status', `closed ${r.body.closed} connection${r.body.closed === 1 ? '' : 's'} of ${userId}`);
}

// Live topics of every node, a page at a time, and one topic in detail.
const topicPage = { prefix: '', cursor: null };
async function listTopics(event, next) {
  event?.preventDefault();
  if (!next) { topicPage.prefix = $('topics-prefix').value.trim(); topicPage.cursor = null; }
  text('topics-status', 'loading…');
  const r = await call('topics?' + query({ prefix: topicPage.prefix, cursor: topicPage.cursor }));
  if (!r.ok) {
    text('topics-status', r.body.message ?? `error ${r.status}`);
    $('topic-list').hidden = true;
    $('topics-next').hidden = true;
    $('topics-notice').hidden = true;
    return;
  }
  const table = $('topic-list');
  table.hidden = r.body.items.length === 0;
  table.tBodies[0].replaceChildren(...r.body.items.map(t => {
    // A pattern (with * or >) is listed with its subscribers; a topic opens in detail.
    let name = t.channel;
    if (!/[*>]/.test(t.channel)) {
      name = document.createElement('button');
      name.type = 'button';
      name.className = 'link';
      name.dataset.topic = t.channel;
      name.textContent = t.channel;
      name.addEventListener('click', () => showTopic(t.channel));
    }
    return row([name, number.format(t.subscribers)]);
  }));
  notice($('topics-notice'), r.body);
  topicPage.cursor = r.body.nextCursor;
  $('topics-next').hidden = !r.body.nextCursor;
  text('topics-status', r.body.items.length ? '' : 'No live topics' + (topicPage.prefix ? ` under ${topicPage.prefix}` : '') + '.');
}

const latestEvents = 20;
async function showTopic(topic) {
  const detail = $('topic-detail');
  detail.hidden = false;
  detail.dataset.topic = topic;
  text('topic-name', topic);
  text('topic-subscribers', '…');
  $('topic-members-block').hidden = true;
  $('topic-history').hidden = true;
  text('topic-history-status', 'loading…');
  const r = await call('topic?' + query({ topic }));
  if (detail.dataset.topic !== topic) return;
  if (!r.ok) { text('topic-subscribers', r.body.message ?? `error ${r.status}`); text('topic-history-status', ''); return; }
  text('topic-subscribers', number.format(r.body.subscribers));
  notice($('topic-notice'), r.body);
  if (Array.isArray(r.body.members)) {
    $('topic-members-block').hidden = false;
    $('topic-members').tBodies[0].replaceChildren(...r.body.members.map(m =>
      row([m.connectionId, m.userId ?? '(anonymous)', m.info === undefined || m.info === null ? '' : JSON.stringify(m.info)])));
  }

  // The latest events: where the history stands (its last offset), then the events after a few before it.
  const head = await call('topic/history?' + query({ topic, limit: 1 }));
  if (detail.dataset.topic !== topic) return;
  if (head.status === 404) { text('topic-history-status', 'This topic keeps no history.'); return; }
  if (!head.ok) { text('topic-history-status', head.body.message ?? `error ${head.status}`); return; }
  let events = head.body.events;
  if (head.body.offset > 0 && !(head.body.complete && events.length <= 1)) {
    const since = Math.max(0, head.body.offset - latestEvents);
    const page = await call('topic/history?' + query({ topic, since, epoch: head.body.epoch, limit: latestEvents }));
    if (detail.dataset.topic !== topic) return;
    if (!page.ok) { text('topic-history-status', page.body.message ?? `error ${page.status}`); return; }
    events = page.body.events;
  }
  text('topic-history-status', events.length ? `The latest ${events.length} event${events.length === 1 ? '' : 's'} kept, newest first.` : 'No events kept.');
  const table = $('topic-history');
  table.hidden = events.length === 0;
  table.tBodies[0].replaceChildren(...events.slice().reverse().map(e => {
    const tr = row([e.offset === undefined ? '' : String(e.offset), e.type ?? '', JSON.stringify(e.data) ?? '']);
    tr.cells[2].className = 'data';
    return tr;
  }));
}

document.addEventListener('DOMContentLoaded', () => {
  $('find').addEventListener('submit', find);
  $('connections-load').addEventListener('click', () => listConnections(false));
  $('connections-next').addEventListener('click', () => listConnections(true));
  $('users-form').addEventListener('submit', lookUpUser);
  $('users-close').addEventListener('click', closeUser);
  $('topics-form').addEventListener('submit', event => listTopics(event, false));
  $('topics-next').addEventListener('click', () => listTopics(null, true));
  $('pause').addEventListener('click', () => {
    paused = !paused;
    $('pause').textContent = paused ? 'Resume' : 'Pause';
    if (paused) clearTimeout(timer); else refresh();
  });
  refresh();
});
