// clients/js through a node that goes away: the test that starts this script publishes a burst of events on TOPIC
// (data {n}), stops or kills the node the client is on, and writes "go" on standard input each time the client may
// connect again (getToken() waits for it), so that events published meanwhile must be recovered. With PROXY=1 the client
// goes through a TCP proxy, and "drop" on standard input cuts its socket without a close frame.
// Prints one line per happening; "done <json>" with the n of every event received, in order, once all EXPECT came.
import { createInterface } from 'node:readline';
import { GatewayClient, Socket, clientUrl, startProxy } from './js-client-helpers.mjs';

const topic = process.env.TOPIC ?? 'events.burst';
const expect = Number(process.env.EXPECT ?? 30);
const say = line => process.stdout.write(line + '\n');

const goes = [];
const waiting = [];
const target = new URL(clientUrl);
const proxy = process.env.PROXY ? await startProxy(target) : null;
createInterface({ input: process.stdin }).on('line', line => {
  if (line.trim() === 'drop') proxy.drop();
  if (line.trim() !== 'go') return;
  if (waiting.length) waiting.shift()(); else goes.push(true);
});
const go = () => goes.length ? (goes.shift(), Promise.resolve()) : new Promise(r => waiting.push(r));

let calls = 0;
const client = new GatewayClient(proxy ? `ws://127.0.0.1:${proxy.port}${target.pathname}` : clientUrl, {
  WebSocket: Socket,
  getToken: async () => { if (calls++ > 0) await go(); return undefined; },
  reconnect: { baseDelay: 100, maxDelay: 1000 },
  requestTimeout: 5000,
});
client.on('connected', e => say(`connected ${e.connectionId} ${e.resumed}`));
client.on('resumed', e => say(`resumed ${e.connectionId} ${e.missed}`));
client.on('disconnected', e => say(`disconnected ${e.code} ${e.willRetry} ${e.delay}`));
client.on('recovered', e => say(`recovered ${e.channel} ${e.recovered}`));
client.on('error', e => say(`error ${e.code ?? ''} ${e.message}`));

const received = [];
const timer = setTimeout(() => { say(`timeout ${JSON.stringify(received)}`); process.exit(1); }, Number(process.env.TIMEOUT_MS ?? 30_000));
const subscription = client.subscribe(topic);
subscription.ready.then(
  () => say(`subscribed ${client.connectionId}`),
  e => { say(`refused ${e.message}`); process.exit(1); });
await new Promise(resolve => subscription.on('event', event => {
  received.push(event.data.n);
  if (received.length === expect) resolve();
}));
clearTimeout(timer);
// Anything doubled would arrive right behind: give it a moment to show.
await new Promise(r => setTimeout(r, 200));
say(`done ${JSON.stringify(received)} ${JSON.stringify(subscription.position)}`);
client.close();
proxy?.close();
process.exit(0);
