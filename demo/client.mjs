// The demo: drives `mcpzip serve --config demo/config.json` exactly as Claude Code would, with
// the official MCP SDK client over stdio, and prints what the model would see at each step.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = process.env.MCPZIP_BIN || path.join(root, 'mcpzip');

const transport = new StdioClientTransport({
  command: bin,
  args: ['serve', '--config', path.join(root, 'demo', 'config.json')],
  env: { ...process.env, MCPZIP_DEMO_ROOT: root },
  stderr: 'inherit',
});
const client = new Client({ name: 'mcpzip-demo', version: '1.0.0' });

function show(title, text) {
  console.log(`\n== ${title}\n${text}`);
}
const textOf = (r) => r.content.filter((c) => c.type === 'text').map((c) => c.text).join('\n');

await client.connect(transport);
const info = client.getServerVersion();
show('initialize', `${info.name} ${info.version}\n${client.getInstructions()}`);

const { tools } = await client.listTools();
show('tools/list (what the model loads every turn)',
  `${tools.map((t) => t.name).join(', ')} — ${JSON.stringify({ tools }).length} bytes`);

// On a first run the servers are still starting: wait until each has listed its tools (later
// runs answer at once from the catalog cache).
for (let i = 0; i < 150; i++) {
  const st = await client.callTool({ name: 'proxy_status', arguments: {} });
  if (st.structuredContent.servers.every((s) => s.last_refresh || s.state === 'failed')) break;
  await new Promise((r) => setTimeout(r, 200));
}
const found = await client.callTool({ name: 'search_tools', arguments: { query: 'echo a message' } });
show('search_tools "echo a message"', textOf(found));

show('search_tools "remember a fact about a person"', textOf(await client.callTool({
  name: 'search_tools', arguments: { query: 'remember a fact about a person' } })));

show('describe_tool everything__echo', textOf(await client.callTool({
  name: 'describe_tool', arguments: { name: 'everything__echo' } })));

show('execute_tool everything__echo', textOf(await client.callTool({
  name: 'execute_tool',
  arguments: { name: 'everything__echo', arguments: { message: 'hello through mcpzip' } } })));

show('execute_tool filesystem__list_directory', textOf(await client.callTool({
  name: 'execute_tool',
  arguments: { name: 'filesystem__list_directory', arguments: { path: path.join(root, 'demo') } } })));

show('proxy_status', textOf(await client.callTool({ name: 'proxy_status', arguments: {} })));
await client.close();
