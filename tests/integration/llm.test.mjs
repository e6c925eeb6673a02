// Search re-ranking by a language model (Gemini or an OpenAI-compatible server), against a local
// fake API: the model's order wins, exact names are never moved, and any failure or timeout
// falls back to the keyword ranking within the deadline. The key travels in a header and never
// reaches the log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { ROOT, NODE, sandbox, waitUntil, fileLines, timed } from './helpers.mjs';

const FAKE_LLM = path.join(ROOT, 'tests/fake/fake_llm.mjs');

async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

async function fakeLlm(sb, args) {
  const port = await freePort();
  sb.startRaw(NODE, [FAKE_LLM, '--port', String(port), ...args]);
  await waitUntil(() => new Promise((res) => {
    const c = net.connect(port, '127.0.0.1');
    c.once('connect', () => { c.destroy(); res(true); });
    c.once('error', () => res(false));
  }), { what: 'the fake LLM to listen' });
  return port;
}

const names = (r) => r.structuredContent.results.map((x) => x.name);

async function proxyWith(sb, llm, env = {}) {
  const p = await sb.serveInit({ mcpServers: { mem: sb.memory(), ev: sb.everything() }, search: { llm } },
    { env });
  await p.waitTools({ mem: 9, ev: 13 });
  return p;
}

test('gemini: the model\'s ranking comes first, the key goes in a header and not in logs', async (t) => {
  const sb = sandbox(t);
  const rec = sb.file('llm.jsonl');
  const port = await fakeLlm(sb, ['--answer', '["mem__read_graph", "ev__echo", "not__a_tool"]', '--record', rec]);
  const p = await proxyWith(sb, { provider: 'gemini', base_url: `http://127.0.0.1:${port}/v1beta`, model: 'gemini-test' },
    { GEMINI_API_KEY: 'gm-secret-key-123' });
  const keyword = names(await p.search('echo a message', { limit: 3 }));
  const r = await p.search('show me what is stored', { limit: 3 });
  assert.deepEqual(names(r).slice(0, 1), ['mem__read_graph']);
  assert.ok(!names(r).includes('not__a_tool'));
  const req = fileLines(rec).map((l) => JSON.parse(l)).find((x) => x.body.includes('show me what is stored'));
  assert.equal(req.url, '/v1beta/models/gemini-test:generateContent');
  assert.equal(req.headers['x-goog-api-key'], 'gm-secret-key-123');
  const sent = JSON.parse(req.body);
  assert.match(sent.contents[0].parts[0].text, /mem__\w+: .*\[/);
  assert.doesNotMatch(p.stderr, /gm-secret-key-123/);
  // An exact tool name is never re-ranked (and needs no model call).
  const before = fileLines(rec).length;
  assert.equal(names(await p.search('ev__get-sum'))[0], 'ev__get-sum');
  assert.equal(fileLines(rec).length, before);
  assert.ok(keyword.length > 0);
});

test('openai-compatible: answer parsed from chat text; key from api_key_env', async (t) => {
  const sb = sandbox(t);
  const rec = sb.file('llm.jsonl');
  const port = await fakeLlm(sb, ['--answer', '["ev__get-sum"]', '--record', rec]);
  const p = await proxyWith(sb, { provider: 'openai', base_url: `http://127.0.0.1:${port}/v1`, model: 'local-model',
    api_key_env: 'LOCAL_LLM_KEY' }, { LOCAL_LLM_KEY: 'sk-local-456' });
  const r = await p.search('add two numbers together', { limit: 5 });
  assert.equal(names(r)[0], 'ev__get-sum');
  const req = fileLines(rec).map((l) => JSON.parse(l)).at(-1);
  assert.equal(req.url, '/v1/chat/completions');
  assert.equal(req.headers.authorization, 'Bearer sk-local-456');
  assert.equal(JSON.parse(req.body).model, 'local-model');
  assert.doesNotMatch(p.stderr, /sk-local-456/);
});

test('a slow or failing model never fails search: keyword results within the deadline', async (t) => {
  const sb = sandbox(t);
  const slow = await fakeLlm(sb, ['--answer', '["mem__read_graph"]', '--delay', '5000']);
  const p = await proxyWith(sb, { provider: 'openai', base_url: `http://127.0.0.1:${slow}/v1`, model: 'm', timeout_ms: 500 });
  const { value, ms } = await timed(p.search('echo a message', { limit: 3 }));
  assert.ok(ms < 3000, `search took ${ms} ms with a 500 ms model deadline`);
  assert.equal(names(value)[0], 'ev__echo');

  const sb2 = sandbox(t);
  const broken = await fakeLlm(sb2, ['--status', '429']);
  const p2 = await proxyWith(sb2, { provider: 'openai', base_url: `http://127.0.0.1:${broken}/v1`, model: 'm' });
  assert.equal(names(await p2.search('echo a message', { limit: 3 }))[0], 'ev__echo');
  assert.match(p2.stderr, /HTTP 429/);
});
