// The classic Amazon API Gateway WebSocket chat, unchanged in spirit: $connect stores the connection,
// $disconnect removes it, sendmessage broadcasts to every stored connection through the management API
// with the AWS SDK. Here the "Lambda functions" are routes of a small HTTP server, and the connections
// are kept in memory. It also serves the chat page and the gateway's JavaScript client it uses (clients/js).
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import {
  ApiGatewayManagementApiClient, PostToConnectionCommand, GoneException,
} from '@aws-sdk/client-apigatewaymanagementapi';

const port = Number(process.env.PORT ?? 3000);
// The client library, from the repository (docker-compose mounts clients/js beside the sample for this).
const clientLibrary = new URL('../../clients/js/src/gateway-client.js', import.meta.url);
const gatewayUrl = process.env.GATEWAY_WS_URL ?? 'ws://localhost:8080/';
const connections = new Set();

// The management API is plain HTTP on loopback by default; behind TLS use https.
const scheme = process.env.MANAGEMENT_SCHEME ?? 'http';
const credentials = { accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'local', secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'local' };

const routes = {
  async '/connect'(event) {
    connections.add(event.requestContext.connectionId);
    return { statusCode: 200 };
  },

  async '/disconnect'(event) {
    connections.delete(event.requestContext.connectionId);
    return { statusCode: 200 };
  },

  async '/sendmessage'(event) {
    const { domainName, stage } = event.requestContext;
    const api = new ApiGatewayManagementApiClient({ endpoint: `${scheme}://${domainName}/${stage}`, region: 'us-east-1', credentials });
    const { data } = JSON.parse(event.body);
    // Every connection gets its copy; one that is gone is forgotten, and one that fails otherwise does not fail the rest.
    await Promise.allSettled([...connections].map(async connectionId => {
      try {
        await api.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: String(data) }));
      } catch (e) {
        if (e instanceof GoneException) connections.delete(connectionId);
        else console.error(`could not post to ${connectionId}:`, e.name);
      }
    }));
    return { statusCode: 200 };
  },
};

http.createServer(async (req, res) => {
  try {
    if (req.method === 'GET' && (req.url === '/' || req.url.startsWith('/?'))) {
      const page = (await readFile(new URL('./index.html', import.meta.url), 'utf8')).replace("'__GATEWAY_WS_URL__'", () => JSON.stringify(gatewayUrl));
      res.setHeader('content-type', 'text/html; charset=utf-8');
      return res.end(page);
    }

    if (req.method === 'GET' && req.url === '/gateway-client.js') {
      res.setHeader('content-type', 'text/javascript; charset=utf-8');
      return res.end(await readFile(clientLibrary));
    }

    const route = routes[req.url];
    if (req.method !== 'POST' || !route) {
      res.statusCode = 404;
      return res.end();
    }

    let body = '';
    for await (const chunk of req) {
      body += chunk;
      if (body.length > 1024 * 1024) {
        res.statusCode = 413;
        return res.end();
      }
    }
    const result = await route(JSON.parse(body));
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(result));
  } catch (e) {
    console.error(e);
    res.statusCode = 500;
    res.end();
  }
}).listen(port, '127.0.0.1', () => console.log(`chat backend on http://localhost:${port}`));
