// Everything MCP carries besides tools, relayed through mcpzip: progress and cancellation of
// execute_tool, server-to-client requests (sampling, elicitation, roots) answered by the real
// SDK client downstream, resources, templates, prompts, completion, logging, and pinned tools.
// The upstream is the real server-everything (stdio and streamableHttp).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import {
  CreateMessageRequestSchema, ElicitRequestSchema, ListRootsRequestSchema,
  LoggingMessageNotificationSchema, ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import {
  MCPZIP, NODE, EVERYTHING, sandbox, waitUntil, textOf, recorded, WAIT_MS,
} from './helpers.mjs';

async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

// Connects an SDK client that can sample, elicit and list roots, with its handlers installed
// before the handshake (upstreams ask for roots as soon as they connect).
async function connect(sb, config, { capabilities, handlers = true } = {}) {
  const cfgPath = sb.writeConfig(config);
  const transport = new StdioClientTransport({
    command: MCPZIP, args: ['serve', '--config', cfgPath], cwd: sb.dir,
    env: { ...sb.env, MCPZIP_LOG: 'debug' }, stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d) => { stderr += d; });
  const client = new Client({ name: 'relay-test', version: '1.0.0' }, {
    capabilities: capabilities ?? { sampling: {}, elicitation: {}, roots: { listChanged: true } },
  });
  const seen = { sampling: [], elicitation: [], roots: 0, logs: [], toolsChanged: 0 };
  if (handlers) {
    client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
      seen.sampling.push(req.params);
      return { model: 'test-model', role: 'assistant', content: { type: 'text', text: 'sampled by the test client' } };
    });
    client.setRequestHandler(ElicitRequestSchema, async (req) => {
      seen.elicitation.push(req.params);
      const props = req.params.requestedSchema?.properties || {};
      const content = {};
      for (const [k, v] of Object.entries(props)) {
        content[k] = v.type === 'boolean' ? true : v.type === 'number' || v.type === 'integer' ? 3
          : v.enum ? v.enum[0] : 'x';
      }
      return { action: 'accept', content };
    });
    client.setRequestHandler(ListRootsRequestSchema, async () => {
      seen.roots++;
      return { roots: [{ uri: `file://${sb.dir}`, name: 'sandbox' }] };
    });
  }
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => { seen.logs.push(n.params); });
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => { seen.toolsChanged++; });
  await client.connect(transport, { timeout: WAIT_MS });
  t_after(sb, async () => { await client.close().catch(() => {}); });
  return { client, seen, stderr: () => stderr };
}

function t_after(sb, fn) {
  const prev = sb.cleanup;
  sb.cleanup = async () => { await fn(); await prev(); };
}

const exec = (client, name, args, opts) =>
  client.callTool({ name: 'execute_tool', arguments: { name, arguments: args } }, undefined, opts);

async function waitCatalog(client, server, min) {
  await waitUntil(async () => {
    const r = await client.callTool({ name: 'proxy_status', arguments: {} });
    const s = r.structuredContent.servers.find((x) => x.name === server);
    return s && s.tools >= min;
  }, { what: `${server} to list ${min} tools`, interval: 100 });
}

for (const mode of ['stdio', 'streamableHttp']) {
  test(`relays over ${mode}: progress, sampling, elicitation, roots, resources, prompts, completion, logging`, async (t) => {
    const sb = sandbox(null);
    t.after(() => sb.cleanup());
    let entry = sb.everything();
    if (mode === 'streamableHttp') {
      const port = await freePort();
      sb.startRaw(NODE, [EVERYTHING, 'streamableHttp'], { env: { PORT: String(port) } });
      await waitUntil(() => new Promise((res) => {
        const c = net.connect(port, '127.0.0.1');
        c.once('connect', () => { c.destroy(); res(true); });
        c.once('error', () => res(false));
      }), { what: 'server-everything to listen' });
      entry = { type: 'http', url: `http://127.0.0.1:${port}/mcp` };
    }
    const { client, seen } = await connect(sb, { mcpServers: { ev: entry } });
    const caps = client.getServerCapabilities();
    assert.ok(caps.resources?.subscribe && caps.prompts && caps.completions && caps.logging, JSON.stringify(caps));
    // With roots declared, server-everything adds its roots and sampling tools (14+ tools).
    await waitCatalog(client, 'ev', 14);

    // Progress: the client's token comes back on the upstream's progress notifications.
    const progress = [];
    const long = await exec(client, 'ev__trigger-long-running-operation', { duration: 1, steps: 3 },
      { onprogress: (p) => progress.push(p) });
    assert.match(textOf(long), /Long running operation completed/);
    // mcpzip relays all three before the result (the raw-protocol test in this file checks the
    // order); the SDK client dispatches notifications a tick late, so its handler may miss the
    // last one that arrives just before the response.
    assert.ok(progress.length >= 2, JSON.stringify(progress));
    progress.forEach((p, i) => assert.deepEqual({ progress: p.progress, total: p.total }, { progress: i + 1, total: 3 }));

    // Sampling: the upstream asks the client's model through mcpzip.
    const sampled = await exec(client, 'ev__trigger-sampling-request', { prompt: 'say hi', maxTokens: 10 });
    assert.match(JSON.stringify(sampled.content), /sampled by the test client/);
    assert.equal(seen.sampling.length, 1);

    // Elicitation: the upstream asks the user through mcpzip.
    const elicited = await exec(client, 'ev__trigger-elicitation-request', {});
    assert.equal(elicited.isError, undefined, JSON.stringify(elicited));
    assert.equal(seen.elicitation.length, 1);
    assert.match(JSON.stringify(elicited.content), /accept/i);

    // Roots: the upstream reads the client's roots.
    const roots = await exec(client, 'ev__get-roots-list', {});
    assert.match(JSON.stringify(roots.content), /sandbox/);
    assert.ok(seen.roots >= 1);

    // Resources: listed across pages, read, subscribed; templates listed.
    const all = [];
    let cursor;
    do {
      const page = await client.listResources(cursor ? { cursor } : {});
      all.push(...page.resources);
      cursor = page.nextCursor;
    } while (cursor);
    assert.ok(all.length >= 5, `resources: ${all.length}`);
    const first = all[0];
    const read = await client.readResource({ uri: first.uri });
    assert.equal(read.contents[0].uri, first.uri);
    assert.deepEqual(await client.subscribeResource({ uri: first.uri }), {});
    assert.deepEqual(await client.unsubscribeResource({ uri: first.uri }), {});
    const templates = await client.listResourceTemplates();
    assert.ok(templates.resourceTemplates.some((x) => x.uriTemplate.startsWith('demo://resource/dynamic/text/')));
    const dyn = await client.readResource({ uri: 'demo://resource/dynamic/text/7' });
    assert.match(dyn.contents[0].uri, /dynamic\/text\/7/);

    // Prompts: listed with the server prefix, fetched by it.
    const prompts = await client.listPrompts();
    assert.ok(prompts.prompts.some((p) => p.name === 'ev__simple-prompt'), JSON.stringify(prompts));
    const got = await client.getPrompt({ name: 'ev__args-prompt', arguments: { city: 'Lyon' } });
    assert.match(JSON.stringify(got.messages), /Lyon/);

    // Completion: routed by the prompt it completes.
    const comp = await client.complete({ ref: { type: 'ref/prompt', name: 'ev__completable-prompt' },
      argument: { name: 'department', value: 'E' } });
    assert.ok(comp.completion.values.includes('Engineering'), JSON.stringify(comp));

    // Logging: the level reaches the upstream, and its messages reach us named by server.
    await client.setLoggingLevel('debug');
    await exec(client, 'ev__toggle-simulated-logging', {});
    await waitUntil(() => seen.logs.length > 0, { what: 'a log message from the upstream' });
    assert.equal(seen.logs[0].logger, 'ev');
    await exec(client, 'ev__toggle-simulated-logging', {});
  });
}

test('progress notifications reach the client under its token, before the result', async (t) => {
  const sb = sandbox(t);
  const p = await sb.serveInit({ mcpServers: { ev: sb.everything() } });
  await p.waitTools({ ev: 13 });
  const since = p.messages.length;
  const r = await p.request('tools/call', { _meta: { progressToken: 'tok-42' }, name: 'execute_tool',
    arguments: { name: 'ev__trigger-long-running-operation', arguments: { duration: 1, steps: 3 } } });
  assert.match(JSON.stringify(r.result), /completed/);
  const after = p.messages.slice(since);
  const notes = after.filter((m) => m.method === 'notifications/progress');
  assert.deepEqual(notes.map((m) => [m.params.progressToken, m.params.progress, m.params.total]),
    [['tok-42', 1, 3], ['tok-42', 2, 3], ['tok-42', 3, 3]]);
  const resultAt = after.findIndex((m) => m.id === r.id);
  assert.ok(after.indexOf(notes[2]) < resultAt, 'the last progress precedes the result');
});

test('cancelling execute_tool cancels the upstream call and gets no response', async (t) => {
  const sb = sandbox(null);
  t.after(() => sb.cleanup());
  const rec = sb.file('fake.jsonl');
  const { client } = await connect(sb, { mcpServers: { f: sb.fake('--record', rec) } });
  await waitCatalog(client, 'f', 3);
  const ac = new AbortController();
  const call = exec(client, 'f__hang', {}, { signal: ac.signal });
  await waitUntil(() => recorded(rec).some((m) => m.method === 'tools/call'), { what: 'the call upstream' });
  ac.abort('user gave up');
  await assert.rejects(call);
  const upstreamCall = recorded(rec).find((m) => m.method === 'tools/call');
  const cancelled = await waitUntil(() => recorded(rec).find((m) => m.method === 'notifications/cancelled'),
    { what: 'notifications/cancelled upstream' });
  assert.equal(cancelled.params.requestId, upstreamCall.id);
  // The proxy still serves.
  assert.match(textOf(await exec(client, 'f__echo', { message: 'still here' })), /still here/);
});

test('a client without sampling: the upstream is not offered it, and a request gets an error', async (t) => {
  const sb = sandbox(null);
  t.after(() => sb.cleanup());
  const { client } = await connect(sb, { mcpServers: { ev: sb.everything() } },
    { capabilities: {}, handlers: false });
  await waitCatalog(client, 'ev', 13);
  // server-everything registers its sampling tool only for clients that can sample.
  const found = await client.callTool({ name: 'describe_tool', arguments: { name: 'ev__trigger-sampling-request' } });
  assert.equal(found.isError, true);
});

test('pinned tools: expose lists them in tools/list and they are called by name', async (t) => {
  const sb = sandbox(null);
  t.after(() => sb.cleanup());
  const { client, seen } = await connect(sb, {
    mcpServers: { ev: sb.everything(), mem: sb.memory() }, expose: ['ev__echo', 'mem__*'],
  });
  await waitUntil(async () => {
    const { tools } = await client.listTools();
    return tools.some((x) => x.name === 'ev__echo') && tools.filter((x) => x.name.startsWith('mem__')).length === 9;
  }, { what: 'pinned tools in tools/list', interval: 100 });
  const { tools } = await client.listTools();
  assert.ok(tools.some((x) => x.name === 'search_tools'));
  assert.ok(!tools.some((x) => x.name === 'ev__get-sum'), 'only pinned tools are listed');
  const echo = tools.find((x) => x.name === 'ev__echo');
  assert.deepEqual(echo.inputSchema.required, ['message']);
  const r = await client.callTool({ name: 'ev__echo', arguments: { message: 'direct' } });
  assert.deepEqual(r.content, [{ type: 'text', text: 'Echo: direct' }]);
  const bad = await client.callTool({ name: 'ev__get-sum', arguments: { a: 1, b: 2 } }).catch((e) => e);
  assert.match(String(bad.message || JSON.stringify(bad)), /Unknown tool/);
  assert.ok(seen.toolsChanged >= 1, 'tools/list_changed sent when the pinned set appeared');
});

test('pinned tools: "auto" exposes a small catalog whole', async (t) => {
  const sb = sandbox(null);
  t.after(() => sb.cleanup());
  const { client } = await connect(sb, { mcpServers: { mem: sb.memory() }, expose: 'auto' });
  await waitUntil(async () => (await client.listTools()).tools.length === 5 + 9,
    { what: 'the memory tools in tools/list', interval: 100 });
  const r = await client.callTool({ name: 'mem__read_graph', arguments: {} });
  assert.equal(r.isError, undefined, JSON.stringify(r));
});
