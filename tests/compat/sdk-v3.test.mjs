// The official AWS SDK for JavaScript v3 management client, unchanged, pointed at the gateway.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ApiGatewayManagementApiClient, PostToConnectionCommand, GetConnectionCommand, DeleteConnectionCommand,
  GoneException, PayloadTooLargeException,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { connect, managementUrl, stage, credentials, region, unknownId } from './helpers.mjs';

for (const endpoint of [`${managementUrl}/${stage}`, managementUrl]) {
  const api = new ApiGatewayManagementApiClient({ endpoint, region, credentials });

  test(`v3 post, get and delete via ${endpoint}`, async () => {
    const client = await connect();
    await api.send(new PostToConnectionCommand({ ConnectionId: client.id, Data: 'hello from sdk v3' }));
    const text = await client.next();
    assert.equal(text.isBinary, false);
    assert.equal(text.text, 'hello from sdk v3');

    const bytes = new Uint8Array([0xff, 0x00, 0xc3, 0x28]);
    await api.send(new PostToConnectionCommand({ ConnectionId: client.id, Data: bytes }));
    const binary = await client.next();
    assert.equal(binary.isBinary, true);
    assert.deepEqual([...binary.data], [...bytes]);

    const info = await api.send(new GetConnectionCommand({ ConnectionId: client.id }));
    assert.equal(info.$metadata.httpStatusCode, 200);
    assert.ok(info.ConnectedAt instanceof Date && !isNaN(info.ConnectedAt));
    assert.ok(info.LastActiveAt instanceof Date && info.LastActiveAt >= info.ConnectedAt);
    assert.equal(info.Identity.SourceIp, '127.0.0.1');
    assert.ok(Math.abs(Date.now() - info.ConnectedAt.getTime()) < 60_000);

    const deleted = await api.send(new DeleteConnectionCommand({ ConnectionId: client.id }));
    assert.equal(deleted.$metadata.httpStatusCode, 204);
    assert.equal((await client.closed).code, 1000);
    await assert.rejects(api.send(new PostToConnectionCommand({ ConnectionId: client.id, Data: 'late' })), GoneException);
  });

  test(`v3 errors map to the SDK's exceptions via ${endpoint}`, async () => {
    const gone = await api.send(new PostToConnectionCommand({ ConnectionId: unknownId, Data: 'x' })).catch(e => e);
    assert.ok(gone instanceof GoneException, `expected GoneException, got ${gone?.name}`);
    assert.equal(gone.$metadata.httpStatusCode, 410);
    await assert.rejects(api.send(new GetConnectionCommand({ ConnectionId: unknownId })), GoneException);
    await assert.rejects(api.send(new DeleteConnectionCommand({ ConnectionId: unknownId })), GoneException);

    const client = await connect();
    const big = await api.send(new PostToConnectionCommand({ ConnectionId: client.id, Data: 'x'.repeat(128 * 1024 + 1) })).catch(e => e);
    assert.ok(big instanceof PayloadTooLargeException, `expected PayloadTooLargeException, got ${big?.name}`);
    assert.equal(big.$metadata.httpStatusCode, 413);
    await api.send(new PostToConnectionCommand({ ConnectionId: client.id, Data: 'x'.repeat(128 * 1024) }));
    assert.equal((await client.next()).data.length, 128 * 1024);
    client.close();
  });
}
