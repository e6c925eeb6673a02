// The five meta-tools against real upstreams from npm (server-everything, server-memory,
// server-filesystem): tools/list size and shape, search ranking and output format, describe
// returning the upstream's definition unchanged, execute passing results through unchanged,
// argument handling, proxy_status and proxy_refresh.
//
// One proxy is shared by the read-only tests of this file (starting three node servers per test
// would dominate the runtime); tests that change state get their own sandbox.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  sandbox, directSession, directTools, textOf, assertToolError, META_TOOLS, bare, waitUntil,
} from './helpers.mjs';

let sb;
let p; // the shared proxy: use proxy()
let fsRoot;
let direct; // direct session to server-everything: the reference for "unchanged"
let directEverything;
let directMemory;
let directFs;

let config;

// The shared proxy; if an earlier test crashed it, a new one is started so that one crash does
// not fail every later test of the file (the crash itself is reported by the test that caused it).
async function proxy() {
  if (p && !p.exit) return p;
  p = await sb.serveInit(config);
  await p.waitTools({ everything: 10, memory: directMemory.length, filesystem: directFs.length });
  return p;
}

before(async () => {
  sb = sandbox(null);
  fsRoot = sb.file('fsroot');
  fs.mkdirSync(fsRoot);
  fs.writeFileSync(path.join(fsRoot, 'hello.txt'), 'hello from the filesystem\nsecond line ✓\n');
  config = {
    mcpServers: {
      everything: sb.everything(),
      memory: sb.memory(),
      filesystem: sb.filesystem(fsRoot),
    },
  };
  direct = await directSession(sb, sb.everything());
  directEverything = await directTools(direct);
  const dm = await directSession(sb, sb.memory(sb.file('memory-direct.jsonl')));
  directMemory = await directTools(dm);
  const dfs = await directSession(sb, sb.filesystem(fsRoot));
  directFs = await directTools(dfs);
  // The catalog is built in the background on a cold start: proxy() waits until all three are in.
  await proxy();
});

after(async () => { await sb?.cleanup(); });

test('tools/list returns exactly the five meta-tools in at most 2048 bytes', async () => {
  const p = await proxy();
  const r = await p.call('tools/list', {});
  assert.deepEqual(r.tools.map((x) => x.name).sort(), [...META_TOOLS].sort());
  const bytes = Buffer.byteLength(JSON.stringify(r));
  assert.ok(bytes <= 2048, `tools/list result is ${bytes} bytes`);
  for (const tool of r.tools) {
    assert.equal(tool.inputSchema?.type, 'object', `${tool.name} inputSchema`);
    assert.equal(typeof tool.description, 'string');
  }
  const byName = Object.fromEntries(r.tools.map((x) => [x.name, x]));
  assert.deepEqual(byName.search_tools.inputSchema.required, ['query']);
  assert.deepEqual(byName.describe_tool.inputSchema.required, ['name']);
  assert.deepEqual(byName.execute_tool.inputSchema.required, ['name']);
  assert.equal(r.nextCursor, undefined, 'no pagination of five tools');
});

// --- search_tools -----------------------------------------------------------------------------

test('search "echo" ranks everything__echo first with the documented line format', async () => {
  const p = await proxy();
  const r = await p.search('echo');
  assert.notEqual(r.isError, true);
  const lines = textOf(r).split('\n').filter((l) => /^\S+__\S+: /.test(l));
  assert.equal(lines[0], 'everything__echo: Echoes back the input string [message:string*]');
  const res = r.structuredContent.results;
  assert.equal(res[0].name, 'everything__echo');
  assert.equal(res[0].server, 'everything');
  assert.equal(res[0].description, 'Echoes back the input string');
  assert.equal(typeof res[0].score, 'number');
  for (let i = 1; i < res.length; i++) assert.ok(res[i - 1].score >= res[i].score, 'results sorted best first');
  // One text line per structured result, in the same order.
  assert.deepEqual(lines.map((l) => l.split(':')[0]), res.map((x) => x.name));
});

test('search lists required and optional params with types', async () => {
  const p = await proxy();
  const r = await p.search('sum of two numbers');
  const line = textOf(r).split('\n').find((l) => l.startsWith('everything__get-sum: '));
  assert.equal(line, 'everything__get-sum: Returns the sum of two numbers [a:number*, b:number*]');
  const r2 = await p.search('long running operation progress', { server: 'everything' });
  const line2 = textOf(r2).split('\n').find((l) => l.startsWith('everything__trigger-long-running-operation: '));
  assert.ok(line2, textOf(r2));
  assert.match(line2, /\[duration:number, steps:number\]$/);
});

test('search finds memory create_entities and filesystem read_text_file', async () => {
  const p = await proxy();
  const r = await p.search('create entities knowledge graph');
  assert.ok(r.structuredContent.results.some((x) => x.name === 'memory__create_entities'), textOf(r));
  assert.equal(r.structuredContent.results[0].name, 'memory__create_entities', textOf(r));
  const r2 = await p.search('read text file contents');
  assert.ok(r2.structuredContent.results.some((x) => x.name === 'filesystem__read_text_file'), textOf(r2));
  assert.ok(textOf(r2).includes('filesystem__read_text_file: '), textOf(r2));
});

test('search shows only the first sentence of a long description (≤160 chars)', async () => {
  const p = await proxy();
  const r = await p.search('read_text_file');
  const line = textOf(r).split('\n').find((l) => l.startsWith('filesystem__read_text_file: '));
  assert.ok(line, textOf(r));
  const desc = line.slice('filesystem__read_text_file: '.length).replace(/ \[[^\]]*\]$/, '');
  assert.match(desc, /^Read the complete contents of a file from the file system as text\.?$/);
  assert.ok(desc.length <= 160);
  assert.match(line, /path:string\*/);
});

test('search limit and server filter are honoured', async () => {
  const p = await proxy();
  const r = await p.search('file', { limit: 2 });
  assert.ok(r.structuredContent.results.length <= 2);
  assert.ok(r.structuredContent.results.length >= 1);
  const r5 = await p.search('file');
  assert.equal(r5.structuredContent.results.length, 5, 'default_limit is 5 and "file" matches more than 5 tools');
  const rm = await p.search('delete', { server: 'memory' });
  assert.ok(rm.structuredContent.results.length >= 1);
  for (const x of rm.structuredContent.results) assert.equal(x.server, 'memory');
});

// Many tools share the query words (more candidates than the limit): the ranking must keep
// exactly `limit` distinct results, best first, and a larger limit returns that many.
test('search with more matches than the limit returns exactly limit results', async (t) => {
  const s2 = sandbox(t);
  const q = await s2.serveInit({ mcpServers: { f: s2.fake('--tools', '40') } });
  await q.waitTools({ f: 49 });
  for (const [query, limit, want] of [['generated tool number', undefined, 5], ['generated', 15, 15], ['generated', 3, 3]]) {
    const r = await q.search(query, limit ? { limit } : {});
    assert.notEqual(r.isError, true, textOf(r));
    const res = r.structuredContent.results;
    assert.equal(res.length, want, `${query} limit ${limit}: ${textOf(r)}`);
    assert.equal(new Set(res.map((x) => x.name)).size, want, 'no duplicates');
    for (let i = 1; i < res.length; i++) assert.ok(res[i - 1].score >= res[i].score, 'best first');
    assert.ok(res.filter((x) => /^f__gen_\d+$/.test(x.name)).length >= want - 2, `mostly generated tools: ${textOf(r)}`);
  }
});

test('search with no match says so, names the servers, and is not an error', async () => {
  const p = await proxy();
  const r = await p.search('zqxjkvw nonexistentwordxyz');
  assert.notEqual(r.isError, true);
  const t = textOf(r);
  assert.match(t, /no tools? (matched|found)|nothing matched|no match/i);
  for (const s of ['everything', 'memory', 'filesystem']) assert.ok(t.includes(s), `text names ${s}: ${t}`);
  assert.deepEqual(r.structuredContent.results, []);
});

test('search_tools without a query is an isError result', async () => {
  const p = await proxy();
  const r = await p.tool('search_tools', {});
  assertToolError(r, /query/i);
});

// --- describe_tool ----------------------------------------------------------------------------

test('describe_tool returns the upstream definition unchanged, name prefixed', async () => {
  const p = await proxy();
  for (const name of ['echo', 'get-sum', 'get-structured-content', 'trigger-long-running-operation']) {
    const up = directEverything.find((x) => x.name === name);
    const r = await p.describe(`everything__${name}`);
    assert.notEqual(r.isError, true, textOf(r));
    const d = JSON.parse(textOf(r));
    assert.equal(d.name, `everything__${name}`);
    assert.equal(d.description, up.description);
    assert.deepEqual(d.inputSchema, up.inputSchema, `${name} inputSchema`);
    if (up.title !== undefined) assert.equal(d.title, up.title);
    if (up.annotations !== undefined) assert.deepEqual(d.annotations, up.annotations);
    if (up.outputSchema !== undefined) assert.deepEqual(d.outputSchema, up.outputSchema, `${name} outputSchema`);
  }
  assert.ok(directEverything.find((x) => x.name === 'get-structured-content').outputSchema, 'reference has an outputSchema');
});

test('describe_tool matches every memory and filesystem tool schema', async () => {
  const p = await proxy();
  for (const [server, tools] of [['memory', directMemory], ['filesystem', directFs]]) {
    for (const up of tools) {
      const d = JSON.parse(textOf(await p.describe(`${server}__${up.name}`)));
      assert.deepEqual(d.inputSchema, up.inputSchema, `${server}__${up.name}`);
      assert.equal(d.description, up.description);
    }
  }
});

test('describe_tool of an unknown name is an error suggesting close names', async () => {
  const p = await proxy();
  const r = await p.describe('everything__ecoh');
  assertToolError(r, /everything__echo/);
  const r2 = await p.describe('memory__create_entitie');
  assertToolError(r2, /memory__create_entities/);
  assertToolError(await p.tool('describe_tool', {}), /name/i);
});

// --- execute_tool -----------------------------------------------------------------------------

// Executes through the proxy and directly, and requires deep equality of the two results.
async function sameAsDirect(name, args) {
  const p = await proxy();
  const via = await p.execute(`everything__${name}`, args);
  const ref = await direct.call('tools/call', { name, arguments: args });
  assert.deepEqual(via, ref, `${name}: proxy result differs from the upstream's own`);
  return via;
}

test('execute_tool passes text content through unchanged', async () => {
  const p = await proxy();
  const r = await sameAsDirect('echo', { message: 'héllo "wörld" \\ \n ✓ 🎉' });
  assert.ok(textOf(r).includes('héllo "wörld" \\ \n ✓ 🎉'));
});

test('execute_tool passes image content through byte-identical', async () => {
  const p = await proxy();
  const r = await sameAsDirect('get-tiny-image', {});
  const img = r.content.find((c) => c.type === 'image');
  assert.ok(img && img.data.length > 100, 'image content present');
  assert.equal(img.mimeType, 'image/png');
  assert.equal(Buffer.from(img.data, 'base64').subarray(1, 4).toString(), 'PNG');
});

test('execute_tool passes structuredContent through unchanged', async () => {
  const p = await proxy();
  const r = await sameAsDirect('get-structured-content', { location: 'Chicago' });
  assert.ok(r.structuredContent);
});

test('execute_tool passes resource links and annotated content unchanged', async () => {
  const p = await proxy();
  await sameAsDirect('get-resource-links', { count: 3 });
  await sameAsDirect('get-annotated-message', { messageType: 'error', includeImage: true });
  await sameAsDirect('get-sum', { a: 2, b: 40 });
});

test('execute_tool propagates an upstream isError result unchanged', async () => {
  const p = await proxy();
  const r = await sameAsDirect('get-sum', { a: 'not a number' });
  assert.equal(r.isError, true);
});

test('execute_tool accepts arguments as a JSON string holding an object', async () => {
  const p = await proxy();
  const r = await p.execute('everything__get-sum', JSON.stringify({ a: 1, b: 2 }));
  const ref = await direct.call('tools/call', { name: 'get-sum', arguments: { a: 1, b: 2 } });
  assert.deepEqual(r, ref);
});

test('execute_tool without arguments calls a no-argument tool', async () => {
  const p = await proxy();
  const r = await p.execute('everything__get-tiny-image');
  assert.ok(r.content.some((c) => c.type === 'image'), JSON.stringify(r).slice(0, 300));
});

test('execute_tool rejects arguments that are not an object', async () => {
  const p = await proxy();
  for (const bad of [42, [1, 2], 'not json', '[1,2]', '"str"', '42', true]) {
    const r = await p.execute('everything__echo', bad);
    assertToolError(r);
    assert.doesNotMatch(textOf(r), /^Echo:/, `arguments ${JSON.stringify(bad)} must not reach the upstream`);
  }
});

test('execute_tool of an unknown server prefix or a name without prefix is an error', async () => {
  const p = await proxy();
  assertToolError(await p.execute('nosuchserver__echo', { message: 'x' }), /nosuchserver/);
  assertToolError(await p.execute('echo', { message: 'x' }));
  assertToolError(await p.tool('execute_tool', {}), /name/i);
});

test('execute_tool on memory and filesystem works end to end', async () => {
  const p = await proxy();
  const c = await p.execute('memory__create_entities', {
    entities: [{ name: 'mcpzip_test_entity', entityType: 'thing', observations: ['created via proxy'] }],
  });
  assert.notEqual(c.isError, true, JSON.stringify(c));
  const g = await p.execute('memory__search_nodes', { query: 'mcpzip_test_entity' });
  assert.ok(JSON.stringify(g).includes('created via proxy'), JSON.stringify(g));
  const f = await p.execute('filesystem__read_text_file', { path: path.join(fsRoot, 'hello.txt') });
  assert.notEqual(f.isError, true, JSON.stringify(f));
  assert.ok(textOf(f).includes('hello from the filesystem\nsecond line ✓'), JSON.stringify(f));
  // A path outside the allowed directory is the upstream's isError, passed through.
  const denied = await p.execute('filesystem__read_text_file', { path: '/etc/hostname' });
  assert.equal(denied.isError, true, JSON.stringify(denied));
});

// --- proxy_status / proxy_refresh ------------------------------------------------------------

const STATES = ['connected', 'idle', 'failed', 'needs-auth', 'disabled', 'connecting'];

test('proxy_status reports every server with the documented fields and totals', async () => {
  const p = await proxy();
  await p.execute('everything__echo', { message: 'connect it' });
  const r = await p.tool('proxy_status', {});
  assert.notEqual(r.isError, true);
  assert.ok(textOf(r).length > 0);
  const st = r.structuredContent;
  assert.deepEqual(st.servers.map((s) => s.name).sort(), ['everything', 'filesystem', 'memory']);
  let sum = 0;
  for (const s of st.servers) {
    assert.equal(s.type, 'stdio');
    assert.ok(STATES.includes(s.state), `state ${s.state}`);
    assert.equal(typeof s.tools, 'number');
    assert.equal(typeof s.stale, 'boolean');
    assert.ok('last_error' in s && 'last_refresh' in s && 'pid' in s, JSON.stringify(s));
    sum += s.tools;
  }
  assert.equal(st.servers.find((s) => s.name === 'memory').tools, directMemory.length);
  assert.equal(st.servers.find((s) => s.name === 'filesystem').tools, directFs.length);
  assert.equal(st.totals.servers, 3);
  assert.equal(st.totals.tools, sum);
  // A server just used is running: its pid is a live process.
  const ev = st.servers.find((s) => s.name === 'everything');
  assert.equal(ev.state, 'connected');
  assert.equal(typeof ev.pid, 'number');
  assert.doesNotThrow(() => process.kill(ev.pid, 0));
});

test('proxy_refresh of one server reports ok with no changes', async () => {
  const p = await proxy();
  const r = await p.refresh('memory');
  assert.notEqual(r.isError, true, textOf(r));
  const s = r.structuredContent.servers;
  assert.equal(s.length, 1);
  assert.equal(s[0].name, 'memory');
  assert.equal(s[0].ok, true);
  assert.deepEqual(s[0].added, []);
  assert.deepEqual(s[0].removed, []);
});

test('proxy_refresh of all servers covers all three', async () => {
  const p = await proxy();
  const r = await p.refresh();
  assert.deepEqual(r.structuredContent.servers.map((s) => s.name).sort(), ['everything', 'filesystem', 'memory']);
  for (const s of r.structuredContent.servers) assert.equal(s.ok, true, JSON.stringify(s));
});

test('proxy_refresh of an unknown server is an error', async () => {
  const p = await proxy();
  assertToolError(await p.refresh('nosuchserver'), /nosuchserver/);
});

test('proxy_refresh reports added and removed tools', async (t) => {
  const s2 = sandbox(t);
  const extra = s2.file('extra.txt');
  fs.writeFileSync(extra, 'alpha_tool\n');
  const q = await s2.serveInit({ mcpServers: { f: s2.fake('--extra-tools-file', extra) } });
  await q.waitTools({ f: 10 });
  fs.writeFileSync(extra, 'beta_tool\n');
  const r = await q.refresh('f');
  const s = r.structuredContent.servers[0];
  assert.equal(s.ok, true);
  assert.deepEqual(s.added.map((n) => bare(n, 'f')), ['beta_tool']);
  assert.deepEqual(s.removed.map((n) => bare(n, 'f')), ['alpha_tool']);
  // The catalog follows: beta is found, alpha is gone.
  const found = await q.search('beta_tool');
  assert.ok(found.structuredContent.results.some((x) => x.name === 'f__beta_tool'));
  assertToolError(await q.describe('f__alpha_tool'));
});

test('a server that cannot start: status failed with last_error, refresh not ok, call isError', async (t) => {
  const s2 = sandbox(t);
  const q = await s2.serveInit({
    mcpServers: {
      good: s2.fake(),
      broken: { command: '/nonexistent/definitely-not-here', args: [] },
      dies: s2.fake('--fail-start'),
    },
  });
  for (const name of ['broken', 'dies']) {
    const r = await q.refresh(name);
    const s = r.structuredContent.servers[0];
    assert.equal(s.ok, false, JSON.stringify(s));
    assert.equal(typeof s.error, 'string');
    assert.ok(s.error.length > 0);
    const st = await q.status();
    const ss = st.servers.find((x) => x.name === name);
    assert.equal(ss.state, 'failed', JSON.stringify(ss));
    assert.equal(typeof ss.last_error, 'string');
    assertToolError(await q.execute(`${name}__echo`, { message: 'x' }));
  }
  // The good server is unaffected.
  assert.equal(textOf(await q.execute('good__echo', { message: 'fine' })), 'fine');
});

test('a disabled server is reported disabled, never started, and calls to it fail', async (t) => {
  const s2 = sandbox(t);
  const starts = s2.file('starts.log');
  const q = await s2.serveInit({
    mcpServers: {
      on: s2.fake(),
      off: { ...s2.fake('--start-log', starts), disabled: true },
    },
  });
  await q.waitTools({ on: 5 });
  const st = await q.status();
  assert.equal(st.servers.find((x) => x.name === 'off').state, 'disabled');
  assertToolError(await q.execute('off__echo', { message: 'x' }), /disabled/i);
  await q.refresh();
  assert.equal(fs.existsSync(starts), false, 'a disabled server must never be spawned');
  const r = await q.search('echo');
  assert.ok(!r.structuredContent.results.some((x) => x.server === 'off'), 'disabled tools are not searchable');
});

test('memory server writes to MEMORY_FILE_PATH from the entry env', async (t) => {
  const s2 = sandbox(t);
  const memFile = s2.file('mem-entry.jsonl');
  const q = await s2.serveInit({ mcpServers: { memory: s2.memory(memFile) } });
  const r = await q.execute('memory__create_entities', { entities: [{ name: 'persisted', entityType: 't', observations: ['o'] }] });
  assert.notEqual(r.isError, true, JSON.stringify(r));
  await waitUntil(() => fs.existsSync(memFile) && fs.readFileSync(memFile, 'utf8').includes('persisted'), { what: 'memory file' });
});
