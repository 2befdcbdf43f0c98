// The Gateway admin dashboard: polls /admin/api/overview and draws it; finds, messages and disconnects connections.
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
  const kind = $('find-kind').value, value = $('find-value').value.trim();
  const results = $('results');
  results.replaceChildren();
  if (!value) return;
  text('find-status', 'searching…');
  const r = kind === 'user'
    ? await call(`users/${encodeURIComponent(value)}/connections`)
    : await call(`connections/${encodeURIComponent(value)}`);
  if (!r.ok) { text('find-status', r.body.message ?? `error ${r.status}`); return; }
  const found = kind === 'user' ? r.body.connections : [r.body];
  text('find-status', kind === 'user' ? `${r.body.total} connection${r.body.total === 1 ? '' : 's'} of ${value}` : '');
  results.replaceChildren(...found.map(show));
}

document.addEventListener('DOMContentLoaded', () => {
  $('find').addEventListener('submit', find);
  $('pause').addEventListener('click', () => {
    paused = !paused;
    $('pause').textContent = paused ? 'Resume' : 'Pause';
    if (paused) clearTimeout(timer); else refresh();
  });
  refresh();
});
