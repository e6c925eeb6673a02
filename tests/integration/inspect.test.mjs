// list, search, describe, call and refresh from the terminal, against the real memory and
// everything servers: the same answers as the meta-tools, --json for scripts, exit codes, the
// catalog cache written for serve, and no colour codes when output is not a terminal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { sandbox, textOf } from './helpers.mjs';

function setup(t) {
  const sb = sandbox(t);
  const cfg = sb.writeConfig({ mcpServers: { memory: sb.memory(), every: sb.everything(), off: { command: 'nope', disabled: true } } });
  return { sb, cfg };
}

test('list shows type, state and tool counts; --tools names them; --json is proxy_status; no ANSI when piped', (t) => {
  const { sb, cfg } = setup(t);
  const r = sb.run(['list', '--tools', '--config', cfg]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^memory\s+stdio\s+connected\s+9\b/m);
  assert.match(r.stdout, /^every\s+stdio\s+\S+\s+1[34]\b/m);
  assert.match(r.stdout, /^off\s+stdio\s+disabled\s+0\b/m);
  assert.match(r.stdout, /^    memory__create_entities$/m);
  assert.ok(!r.stdout.includes('\x1b['), 'no colour codes when stdout is not a terminal');
  const j = sb.run(['list', '--json', '--tools', '--config', cfg]);
  assert.equal(j.status, 0, j.stderr);
  const doc = JSON.parse(j.stdout);
  const mem = doc.servers.find((s) => s.name === 'memory');
  assert.equal(mem.tools, 9);
  assert.ok(mem.tool_names.includes('read_graph'));
  assert.equal(doc.totals.servers, 3);
});

test('search prints the search_tools lines; --limit, --server and --json work; refresh wrote the cache', (t) => {
  const { sb, cfg } = setup(t);
  const r = sb.run(['search', 'create', 'entities', '--limit', '3', '--config', cfg]);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.ok(lines.length >= 1 && lines.length <= 3, r.stdout);
  assert.match(lines[0], /^memory__create_entities: .*\[entities:array\*\]/);
  const j = sb.run(['search', 'echo', '--server', 'every', '--json', '--config', cfg]);
  assert.equal(j.status, 0, j.stderr);
  const res = JSON.parse(j.stdout);
  assert.equal(res[0].name, 'every__echo');
  assert.ok(res.every((x) => x.server === 'every'));
  assert.ok(fs.readdirSync(path.join(sb.cache, 'mcpzip')).some((f) => f.startsWith('catalog-')), 'catalog cache written');
  const bad = sb.run(['search', 'x', '--server', 'nosuch', '--config', cfg]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /No server named "nosuch"/);
});

test('describe prints the definition as the server gave it; unknown names exit 1 with a suggestion', (t) => {
  const { sb, cfg } = setup(t);
  const r = sb.run(['describe', 'every__echo', '--config', cfg]);
  assert.equal(r.status, 0, r.stderr);
  const def = JSON.parse(r.stdout);
  assert.equal(def.name, 'every__echo');
  assert.equal(def.inputSchema.properties.message.type, 'string');
  assert.ok(r.stdout.includes('\n  "name": "every__echo"'), 'pretty-printed');
  const bad = sb.run(['describe', 'every__ecoh', '--config', cfg]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /every__echo/);
});

test('call passes JSON inline, from @file and from stdin; tool errors exit 1; --json prints the CallToolResult', (t) => {
  const { sb, cfg } = setup(t);
  const a = sb.run(['call', 'every__echo', '{"message":"hi there"}', '--config', cfg]);
  assert.equal(a.status, 0, a.stderr);
  assert.equal(a.stdout.trim(), 'Echo: hi there');
  const f = sb.file('args.json');
  fs.writeFileSync(f, JSON.stringify({ a: 2, b: 40 }));
  const b = sb.run(['call', 'every__get-sum', `@${f}`, '--config', cfg]);
  assert.equal(b.status, 0, b.stderr);
  assert.match(b.stdout, /42/);
  const c = sb.run(['call', 'every__echo', '-', '--json', '--config', cfg], { input: '{"message":"stdin"}' });
  assert.equal(c.status, 0, c.stderr);
  assert.equal(textOf(JSON.parse(c.stdout)), 'Echo: stdin');
  const bad = sb.run(['call', 'nosuch__tool', '{}', '--config', cfg]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /No server named "nosuch"/);
  const notobj = sb.run(['call', 'every__echo', '[1]', '--config', cfg]);
  assert.equal(notobj.status, 1);
  assert.match(notobj.stderr, /JSON object/);
});

test('refresh reloads every enabled server with plain progress lines and exits 1 when one fails', (t) => {
  const sb = sandbox(t);
  const cfg = sb.writeConfig({ mcpServers: { memory: sb.memory(), broken: { command: 'definitely-not-a-program-xyz' } } });
  const r = sb.run(['refresh', '--config', cfg]);
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /^ {2}\S+ memory {2}9 tools/m);
  assert.match(r.stdout, /broken {2}failed: .*definitely-not-a-program-xyz/);
  assert.match(r.stdout, /1 server\(s\) refreshed, 1 failed, 9 tools/);
  const one = sb.run(['refresh', 'memory', '--config', cfg]);
  assert.equal(one.status, 0, one.stderr);
  assert.equal(sb.run(['refresh', 'nosuch', '--config', cfg]).status, 1);
});
