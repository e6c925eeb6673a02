// The downstream JSON-RPC/MCP protocol: version negotiation (raw and through the official SDK
// client), ping, unknown methods, ids echoed exactly, malformed / invalid / oversized lines
// answered with errors while serving continues, and notifications never answered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sandbox, PROTOCOL_VERSIONS, LATEST_VERSION, META_TOOLS, WAIT_MS } from './helpers.mjs';

const cfg = (sb, extra = {}) => ({ mcpServers: { f: sb.fake() }, ...extra });

for (const v of PROTOCOL_VERSIONS) {
  test(`SDK client: initialize offering ${v} gets ${v} back and the meta-tools work`, async (t) => {
    const sb = sandbox(t);
    const { client, transport } = await sb.connect(cfg(sb), { protocolVersion: v });
    assert.equal(transport.negotiated, v);
    assert.ok(client.getServerCapabilities()?.tools, 'server must declare the tools capability');
    assert.ok(client.getServerVersion()?.name, 'serverInfo.name');
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((x) => x.name).sort(), [...META_TOOLS].sort());
    await client.ping();
    const r = await client.callTool({ name: 'execute_tool', arguments: { name: 'f__echo', arguments: { message: `v${v}` } } });
    assert.deepEqual(r.content, [{ type: 'text', text: `v${v}` }]);
  });
}

test('raw: every supported version is echoed, any other gets the latest', async (t) => {
  const sb = sandbox(t);
  for (const v of [...PROTOCOL_VERSIONS, '1999-01-01', '2025-99-99', 'garbage']) {
    const p = sb.serve(cfg(sb));
    const r = await p.call('initialize', { protocolVersion: v, capabilities: {}, clientInfo: { name: 'x', version: '1' } });
    const want = PROTOCOL_VERSIONS.includes(v) ? v : LATEST_VERSION;
    assert.equal(r.protocolVersion, want, `offered ${v}`);
    assert.ok(r.capabilities && r.capabilities.tools, 'tools capability');
    assert.equal(typeof r.serverInfo?.name, 'string');
    p.closeStdin();
    assert.equal((await p.waitExit()).code, 0);
  }
});

test('initialize instructions name every configured server', async (t) => {
  const sb = sandbox(t);
  const p = sb.serve({ mcpServers: { alpha_srv: sb.fake(), 'beta.srv': sb.fake() } });
  const r = await p.initialize();
  assert.equal(typeof r.instructions, 'string');
  assert.match(r.instructions, /alpha_srv/);
  assert.match(r.instructions, /beta\.srv/);
});

test('ping answers an empty result; string, zero and negative ids are echoed exactly', async (t) => {
  const sb = sandbox(t);
  const p = await sb.serveInit(cfg(sb));
  for (const id of ['abc', 0, -7, 'x'.repeat(300), 'ünï ✓']) {
    const r = await p.request('ping', undefined, { id });
    assert.deepEqual(r, { jsonrpc: '2.0', id, result: {} });
  }
});

test('unknown methods get -32601 with the request id', async (t) => {
  const sb = sandbox(t);
  const p = await sb.serveInit(cfg(sb));
  // resources/*, prompts/*, completion/* and logging/* are relayed (relay.test.mjs).
  for (const m of ['no/such/method', 'tasks/list', 'sampling/createMessage', 'tools/unknown']) {
    const r = await p.request(m, {});
    assert.equal(r.error?.code, -32601, `${m}: ${JSON.stringify(r)}`);
    assert.equal(r.result, undefined);
  }
});

test('notifications are never answered, known or not', async (t) => {
  const sb = sandbox(t);
  const p = await sb.serveInit(cfg(sb));
  const before = p.messages.length;
  await p.notify('notifications/initialized');
  await p.notify('notifications/cancelled', { requestId: 999, reason: 'x' });
  await p.notify('notifications/no-such-thing', {});
  await p.notify('some/method/without/id', {});
  const r = await p.request('ping', undefined, { id: 'after-notifications' });
  assert.deepEqual(r.result, {});
  // The only message since must be the ping's response.
  assert.deepEqual(p.messages.slice(before), [r]);
});

// Sends one bad line, waits for the error response with id null, checks it, then checks a
// ping is still answered: the proxy must neither die nor stall.
async function badLine(p, line, code, { idMayBe = [null] } = {}) {
  const since = p.messages.length;
  await p.sendRaw(line);
  const err = await p.waitMessage((m) => m && m.error !== undefined && m.result === undefined,
    { since, what: `error response to ${JSON.stringify(String(line).slice(0, 60))}` });
  assert.equal(err.jsonrpc, '2.0');
  assert.ok(idMayBe.some((x) => JSON.stringify(x) === JSON.stringify(err.id)), `id ${JSON.stringify(err.id)} not in ${JSON.stringify(idMayBe)}`);
  assert.equal(err.error.code, code, `line ${JSON.stringify(String(line).slice(0, 60))} → ${JSON.stringify(err)}`);
  assert.equal(typeof err.error.message, 'string');
  const pong = await p.request('ping');
  assert.deepEqual(pong.result, {});
  return err;
}

test('malformed JSON gets -32700 with id null and serving continues', async (t) => {
  const sb = sandbox(t);
  const p = await sb.serveInit(cfg(sb));
  await badLine(p, '{"jsonrpc":"2.0","id":1,"method":', -32700);
  await badLine(p, '{not json at all', -32700);
  await badLine(p, '}', -32700);
  await badLine(p, '{"jsonrpc":"2.0","id":2,"method":"ping"} trailing', -32700);
  await badLine(p, Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x7b]), -32700);
  await badLine(p, '{"jsonrpc":"2.0","id":3,"method":"ping","params":{"a":[1,2,}}', -32700);
  await badLine(p, '[' + '['.repeat(100000), -32700); // deep nesting must not overflow the stack
  await badLine(p, '{"a":'.repeat(50000), -32700);
  assert.equal(p.exit, null);
});

test('structurally invalid requests get -32600 and serving continues', async (t) => {
  const sb = sandbox(t);
  const p = await sb.serveInit(cfg(sb));
  // The id cannot be echoed (it is not a valid id), so it must be null.
  await badLine(p, JSON.stringify({ jsonrpc: '2.0', id: { a: 1 }, method: 'ping' }), -32600);
  await badLine(p, JSON.stringify({ jsonrpc: '2.0', id: [1], method: 'ping' }), -32600);
  // A usable id may be echoed or not.
  await badLine(p, JSON.stringify({ jsonrpc: '2.0', id: 11, method: 42 }), -32600, { idMayBe: [null, 11] });
  await badLine(p, JSON.stringify({ id: 12, method: 'ping' }), -32600, { idMayBe: [null, 12] });
  await badLine(p, JSON.stringify({ jsonrpc: '1.0', id: 13, method: 'ping' }), -32600, { idMayBe: [null, 13] });
  await badLine(p, JSON.stringify({ jsonrpc: '2.0', id: 14 }), -32600, { idMayBe: [null, 14] });
  // JSON values that are not request objects at all.
  await badLine(p, '42', -32600);
  await badLine(p, '"a string"', -32600);
  await badLine(p, 'null', -32600);
  await badLine(p, 'true', -32600);
  assert.equal(p.exit, null);
});

test('batches, blank lines and CRLF do not kill or stall the proxy', async (t) => {
  const sb = sandbox(t);
  const p = await sb.serveInit(cfg(sb));
  await p.sendRaw('[]');
  await p.sendRaw('[1,2,3]');
  await p.sendRaw('');
  await p.sendRaw('   \t ');
  await p.sendRaw(JSON.stringify({ jsonrpc: '2.0', id: 'crlf', method: 'ping' }) + '\r');
  const r = await p.request('ping', undefined, { id: 'after-junk' });
  assert.deepEqual(r.result, {});
  assert.equal(p.exit, null);
});

// Lines over max_message_bytes are refused with -32600 / id null, and the next line is served.
test('a line over max_message_bytes gets -32600 with id null; the next line is served', async (t) => {
  const sb = sandbox(t);
  const limit = 65536;
  const p = await sb.serveInit(cfg(sb, { max_message_bytes: limit }));
  // A valid request well over the limit...
  const big = JSON.stringify({ jsonrpc: '2.0', id: 'big', method: 'ping', params: { pad: 'x'.repeat(limit * 3) } });
  const err = await badLine(p, big, -32600);
  assert.equal(err.id, null);
  // ...the oversized request must not also be answered as a ping afterwards.
  assert.ok(!p.messages.some((m) => m.id === 'big'), 'the oversized request must not be executed');
  // A request just under the limit is served normally.
  const under = { jsonrpc: '2.0', id: 'under', method: 'ping', params: { pad: 'y'.repeat(limit - 200) } };
  assert.ok(Buffer.byteLength(JSON.stringify(under)) < limit);
  const since = p.messages.length;
  await p.send(under);
  const ok = await p.waitMessage((m) => m.id === 'under', { since });
  assert.deepEqual(ok.result, {});
  // Several oversized lines in a row, one of them garbage, then a normal request.
  await badLine(p, 'z'.repeat(limit * 2), -32600);
  await badLine(p, '{"x":"' + 'q'.repeat(limit + 10) + '"}', -32600);
});

test('the default limit is 16 MiB: a 17 MiB line is refused, the next line is served', async (t) => {
  const sb = sandbox(t);
  const p = await sb.serveInit(cfg(sb));
  const big = JSON.stringify({ jsonrpc: '2.0', id: 'huge', method: 'ping', params: { pad: 'x'.repeat(17 * 1024 * 1024) } });
  const err = await badLine(p, big, -32600);
  assert.equal(err.id, null);
  assert.ok(!p.messages.some((m) => m.id === 'huge'));
});

test('a 1 MiB request under the default limit is served normally', async (t) => {
  const sb = sandbox(t);
  const p = await sb.serveInit(cfg(sb));
  const msg = 'm'.repeat(1024 * 1024);
  const r = await p.execute('f__echo', { message: msg });
  assert.equal(r.content[0].text, msg);
});

test('tools/call of a name that is not a meta-tool is answered with an error', async (t) => {
  const sb = sandbox(t);
  const p = await sb.serveInit(cfg(sb));
  const r = await p.request('tools/call', { name: 'f__echo', arguments: { message: 'x' } });
  // Either a JSON-RPC error or an isError tool result is acceptable; silence is not.
  assert.ok(r.error || r.result?.isError === true, JSON.stringify(r));
  const r2 = await p.request('tools/call', {});
  assert.ok(r2.error || r2.result?.isError === true, JSON.stringify(r2));
});

test('a burst of 200 pipelined pings is answered once each', async (t) => {
  const sb = sandbox(t);
  const p = await sb.serveInit(cfg(sb));
  const lines = [];
  for (let i = 0; i < 200; i++) lines.push(JSON.stringify({ jsonrpc: '2.0', id: `b${i}`, method: 'ping' }));
  const since = p.messages.length;
  await p.sendRaw(lines.join('\n')); // one write, many lines
  await p.waitMessage(() => p.messages.length - since >= 200, { since, what: '200 responses', timeout: WAIT_MS });
  const ids = p.messages.slice(since).map((m) => m.id).sort();
  assert.deepEqual(ids, Array.from({ length: 200 }, (_, i) => `b${i}`).sort());
});
