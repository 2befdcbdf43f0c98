// aws-sdk v2's ApiGatewayManagementApi, unchanged, pointed at the gateway.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import AWS from 'aws-sdk';
import { connect, managementUrl, stage, credentials, region, unknownId } from './helpers.mjs';

for (const endpoint of [`${managementUrl}/${stage}`, managementUrl]) {
  const api = new AWS.ApiGatewayManagementApi({ endpoint, region, credentials, maxRetries: 0 });

  test(`v2 post, get and delete via ${endpoint}`, async () => {
    const client = await connect();
    await api.postToConnection({ ConnectionId: client.id, Data: 'hello from sdk v2' }).promise();
    const text = await client.next();
    assert.equal(text.isBinary, false);
    assert.equal(text.text, 'hello from sdk v2');

    await api.postToConnection({ ConnectionId: client.id, Data: Buffer.from([0xfe, 0xff]) }).promise();
    const binary = await client.next();
    assert.equal(binary.isBinary, true);
    assert.deepEqual([...binary.data], [0xfe, 0xff]);

    const info = await api.getConnection({ ConnectionId: client.id }).promise();
    assert.ok(info.ConnectedAt instanceof Date && !isNaN(info.ConnectedAt));
    assert.ok(info.LastActiveAt instanceof Date);
    assert.equal(info.Identity.SourceIp, '127.0.0.1');

    await api.deleteConnection({ ConnectionId: client.id }).promise();
    assert.equal((await client.closed).code, 1000);
  });

  test(`v2 errors carry the SDK's error codes via ${endpoint}`, async () => {
    const gone = await api.postToConnection({ ConnectionId: unknownId, Data: 'x' }).promise().catch(e => e);
    assert.equal(gone.code, 'GoneException');
    assert.equal(gone.statusCode, 410);

    const client = await connect();
    const big = await api.postToConnection({ ConnectionId: client.id, Data: 'x'.repeat(128 * 1024 + 1) }).promise().catch(e => e);
    assert.equal(big.code, 'PayloadTooLargeException');
    assert.equal(big.statusCode, 413);
    client.close();
  });
}
