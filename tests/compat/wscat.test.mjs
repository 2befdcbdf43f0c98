// wscat, as a newcomer would use it: -x sends each message after connecting, then it prints what came back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { clientUrl, connect } from './helpers.mjs';

const wscat = createRequire(import.meta.url).resolve('wscat/bin/wscat');

function run(args) {
  return new Promise((resolve, reject) => {
    // stdin stays open: wscat quits at once when its input ends.
    const child = spawn(process.execPath, [wscat, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', d => { out += d; });
    child.stderr.on('data', d => { err += d; });
    const timer = setTimeout(() => { child.kill(); reject(new Error('wscat did not exit: ' + out + err)); }, 15_000);
    child.on('exit', code => { clearTimeout(timer); resolve({ code, lines: out.split('\n').filter(Boolean), err }); });
  });
}

test('wscat -x gets the connected frame, the echo and a broadcast back', async () => {
  const listener = await connect();
  const { code, lines, err } = await run(['-c', clientUrl, '-x', 'hello', '-x', '{"action":"sendmessage","text":"to everyone"}', '-w', '1']);
  assert.equal(code, 0, err);
  assert.equal(JSON.parse(lines[0]).type, 'connected');
  assert.deepEqual(lines.slice(1), ['hello', '{"action":"sendmessage","text":"to everyone"}']);
  assert.equal((await listener.next()).text, '{"action":"sendmessage","text":"to everyone"}');
  listener.close();
});

test('wscat reaches the stage path too', async () => {
  const { code, lines } = await run(['-c', new URL('prod', clientUrl).href, '-x', 'staged', '-w', '1']);
  assert.equal(code, 0);
  assert.equal(lines.at(-1), 'staged');
});
