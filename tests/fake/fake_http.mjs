// A scriptable Streamable HTTP MCP server for what real servers cannot be made to show on
// demand: a 401, a 500 with a message, plain JSON answers instead of SSE. It records every
// request (method, path, headers, body) as one JSON line in --record FILE, so tests can assert
// exactly what mcpzip sent.
//
//   node fake_http.mjs --port N [--mode ok|401|500] [--record FILE]
// Prints "listening PORT" on stdout once ready.
import fs from 'node:fs';
import http from 'node:http';

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const mode = opt('mode', 'ok');
const record = opt('record', null);
const port = Number(opt('port', '0'));
const session = `sess-${process.pid}`;

const tools = [
  { name: 'hello', description: 'Say hello to someone', inputSchema: { type: 'object', properties: { who: { type: 'string' } }, required: ['who'] } },
];

function reply(res, status, body, headers = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(body === undefined ? '' : JSON.stringify(body));
}

const server = http.createServer((req, res) => {
  let body = '';
  req.on('data', (d) => { body += d; });
  req.on('end', () => {
    if (record) {
      fs.appendFileSync(record, `${JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body })}\n`);
    }
    if (mode === '401') {
      res.writeHead(401, { 'WWW-Authenticate': 'Bearer realm="fake"', 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: 'invalid_token', error_description: 'no token' }));
      return;
    }
    if (mode === '500') {
      reply(res, 500, { jsonrpc: '2.0', id: null, error: { code: -32603, message: 'database is on fire' } });
      return;
    }
    if (req.method === 'GET') { res.writeHead(405); res.end(); return; }
    if (req.method === 'DELETE') { res.writeHead(200); res.end(); return; }
    let msg;
    try { msg = JSON.parse(body); } catch { reply(res, 400, { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } }); return; }
    if (msg.id === undefined) { res.writeHead(202); res.end(); return; }
    const ok = (result) => reply(res, 200, { jsonrpc: '2.0', id: msg.id, result }, { 'Mcp-Session-Id': session });
    switch (msg.method) {
      case 'initialize':
        ok({ protocolVersion: msg.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'fake-http', version: '1' } });
        break;
      case 'tools/list':
        ok({ tools });
        break;
      case 'tools/call':
        ok({ content: [{ type: 'text', text: `hello ${msg.params.arguments.who}` }], structuredContent: { greeted: msg.params.arguments.who } });
        break;
      default:
        reply(res, 200, { jsonrpc: '2.0', id: msg.id, error: { code: -32601, message: 'Method not found' } });
    }
  });
});
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
