// Shared by the compatibility tests: where the gateway is, and a WebSocket client that queues what it receives.
import WebSocket from 'ws';

export const clientUrl = process.env.GATEWAY_CLIENT_URL ?? 'ws://127.0.0.1:8080/';
export const managementUrl = (process.env.GATEWAY_MANAGEMENT_URL ?? 'http://127.0.0.1:8081').replace(/\/$/, '');
export const stage = process.env.GATEWAY_STAGE ?? 'prod';

// The SDKs sign every call; the gateway under test has no credentials configured and ignores the signature.
export const credentials = { accessKeyId: 'AKIDCOMPATTEST', secretAccessKey: 'compat-test-secret' };
export const region = 'us-east-1';

/** Connects and resolves once the connected frame has told the client its id. */
export function connect(url = clientUrl) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const frames = [];
    const waiters = [];
    let closed;
    const closedPromise = new Promise(r => { closed = r; });
    ws.on('message', (data, isBinary) => {
      const frame = { data: Buffer.from(data), isBinary, text: Buffer.from(data).toString('utf8') };
      if (waiters.length) waiters.shift()(frame); else frames.push(frame);
    });
    ws.on('close', (code, reason) => closed({ code, reason: reason.toString() }));
    ws.on('error', reject);
    const client = {
      ws,
      id: undefined,
      closed: closedPromise,
      next(timeoutMs = 5000) {
        if (frames.length) return Promise.resolve(frames.shift());
        return new Promise((res, rej) => {
          const timer = setTimeout(() => rej(new Error('no frame within ' + timeoutMs + ' ms')), timeoutMs);
          waiters.push(f => { clearTimeout(timer); res(f); });
        });
      },
      close() { ws.close(); },
    };
    client.next().then(first => {
      const msg = JSON.parse(first.text);
      if (msg.type !== 'connected') reject(new Error('first frame was not the connected frame: ' + first.text));
      client.id = msg.connectionId;
      resolve(client);
    }, reject);
  });
}

/** A connection id of the right shape that no node has minted. */
export const unknownId = 'AAAAAAAAAAAAAAAAAAAA';
