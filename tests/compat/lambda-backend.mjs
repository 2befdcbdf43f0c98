// A backend written for AWS Lambda, run as an HTTP server: it receives the gateway's Lambda-proxy events and
// answers through the management API with the idiom handler code uses on AWS, unchanged:
//   new AWS.ApiGatewayManagementApi({ endpoint: event.requestContext.domainName + '/' + event.requestContext.stage })
import http from 'node:http';
import AWS from 'aws-sdk';
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';

const credentials = { accessKeyId: 'AKIDCOMPATTEST', secretAccessKey: 'compat-test-secret' };

async function handler(event) {
  const { domainName, stage, connectionId } = event.requestContext;
  if (event.body === 'sdk') {
    const v2 = new AWS.ApiGatewayManagementApi({ endpoint: domainName + '/' + stage, region: 'us-east-1', credentials });
    await v2.postToConnection({ ConnectionId: connectionId, Data: 'v2 via ' + domainName }).promise();
    const v3 = new ApiGatewayManagementApiClient({ endpoint: 'https://' + domainName + '/' + stage, region: 'us-east-1', credentials });
    await v3.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: 'v3 via ' + domainName }));
  }
  return { statusCode: 200 };
}

http.createServer((req, res) => {
  let body = '';
  req.on('data', c => { body += c; });
  req.on('end', async () => {
    try {
      const result = await handler(JSON.parse(body));
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(result));
    } catch (e) {
      console.error(e);
      res.statusCode = 500;
      res.end(String(e));
    }
  });
}).listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening'));
