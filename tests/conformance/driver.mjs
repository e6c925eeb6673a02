// The client the MCP conformance suite drives, as `driver.mjs <server-url>`: it puts the test
// server behind mcpzip (a config with one "http" upstream), talks to `mcpzip serve` over stdio
// with the official SDK client as a host application would, and calls the scenario's tool
// through execute_tool. So what the suite checks is mcpzip's own client side.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const url = process.argv[2];
const scenario = process.env.MCP_CONFORMANCE_SCENARIO || '';
const bin = process.env.MCPZIP_BIN || path.join(root, 'mcpzip');

// What each scenario expects the client to do once connected.
const calls = {
  tools_call: [{ tool: 'add_numbers', args: { a: 5, b: 7 } }],
  'sse-retry': [{ tool: 'test_reconnection', args: {} }],
  'elicitation-sep1034-client-defaults': [{ tool: 'test_client_elicitation_defaults', args: {} }],
};

function log(...a) {
  process.stderr.write(`[driver] ${a.join(' ')}\n`);
}

const auth = scenario.startsWith('auth/');
// Authorization scenarios: the test server's tool is called through execute_tool, as the
// reference client does after connecting; the ones that must end without a token may fail.
if (auth) calls[scenario] = [{ tool: 'test-tool', args: {}, mayFail:
  ['auth/scope-retry-limit', 'auth/resource-mismatch'].includes(scenario) }];

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mcpzip-conf-'));
const config = path.join(home, 'config.json');
const server = { type: 'http', url };
// What the suite hands a client out of band (pre-registered and client-credentials clients).
const context = process.env.MCP_CONFORMANCE_CONTEXT ? JSON.parse(process.env.MCP_CONFORMANCE_CONTEXT) : {};
const oauth = {};
if (context.client_id) oauth.client_id = context.client_id;
if (context.client_secret) oauth.client_secret = context.client_secret;
if (scenario.startsWith('auth/client-credentials')) oauth.grant = 'client_credentials';
if (context.private_key_pem) {
  const key = path.join(home, 'client-key.pem');
  fs.writeFileSync(key, context.private_key_pem, { mode: 0o600 });
  oauth.private_key_file = key;
  if (context.signing_algorithm) oauth.signing_alg = context.signing_algorithm;
}
if (scenario === 'auth/basic-cimd') oauth.client_metadata_url = 'https://conformance-test.local/client-metadata.json';
if (Object.keys(oauth).length) server.oauth = oauth;
fs.writeFileSync(config, JSON.stringify({ mcpServers: { test: server } }));

const transport = new StdioClientTransport({
  command: bin,
  args: ['serve', '--config', config],
  env: { ...process.env, HOME: home, XDG_CACHE_HOME: path.join(home, 'cache'),
         XDG_CONFIG_HOME: path.join(home, 'config'), MCPZIP_LOG: process.env.MCPZIP_LOG || 'info',
         BROWSER: path.join(root, 'tests', 'conformance', 'browser.sh'), TEST_BROWSER_NODE: process.execPath },
  // MCPZIP_CONFORMANCE_LOG=FILE keeps mcpzip's log (the suite does not show a client's stderr).
  stderr: process.env.MCPZIP_CONFORMANCE_LOG ? fs.openSync(process.env.MCPZIP_CONFORMANCE_LOG, 'a') : 'inherit',
});
// As a host would: it can elicit, accepts with no fields filled in, and lets the SDK apply the
// schema's defaults. The request reaches it through mcpzip's relay.
const client = new Client({ name: 'mcpzip-conformance-driver', version: '1.0.0' },
  { capabilities: { elicitation: { form: { applyDefaults: true } } } });
client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: {} }));
let code = 0;
try {
  await client.connect(transport);
  await client.listTools();
  // Wait until mcpzip has loaded the test server's tools (or failed to).
  let status;
  for (let i = 0; i < 100; i++) {
    status = await client.callTool({ name: 'proxy_status', arguments: {} });
    const s = status.structuredContent.servers[0];
    if (s.last_refresh || s.state === 'failed' || s.state === 'needs-auth') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  log('status:', JSON.stringify(status.structuredContent.servers[0]));
  for (const c of calls[scenario] || []) {
    const r = await client.callTool({ name: 'execute_tool',
      arguments: { name: `test__${c.tool}`, arguments: c.args, timeout: 30 } });
    log(c.tool, '->', JSON.stringify(r));
    if (r.isError && !c.mayFail) code = 1;
  }
} catch (e) {
  log('error:', e.message);
  code = 1;
} finally {
  await client.close().catch(() => {});
  fs.rmSync(home, { recursive: true, force: true });
}
process.exit(code);
