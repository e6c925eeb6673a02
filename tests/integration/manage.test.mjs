// Editing the config from the command line: add (stdio and remote, claude-style), remove,
// enable/disable, init (without and with a terminal), help for every command, --config.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { sandbox, MCPZIP } from './helpers.mjs';

const defaultConfig = (sb) => path.join(sb.xdgConfig, 'compressed-mcp-proxy', 'config.json');
const readJson = (p) => JSON.parse(fs.readFileSync(p, 'utf8'));

test('add: stdio server with env and cwd; the config is created 0600 with 2-space JSON', (t) => {
  const sb = sandbox(t);
  const r = sb.run(['add', 'mem', '-e', 'A=1', '--env', 'B=x=y', '--cwd', '/tmp', '--', 'node', 'srv.js', '--port', '3']);
  assert.equal(r.status, 0, r.stderr);
  const p = defaultConfig(sb);
  assert.deepEqual(readJson(p).mcpServers.mem, { command: 'node', args: ['srv.js', '--port', '3'], env: { A: '1', B: 'x=y' }, cwd: '/tmp' });
  assert.equal(fs.statSync(p).mode & 0o777, 0o600);
  assert.equal(fs.statSync(path.dirname(p)).mode & 0o777, 0o700);
  assert.ok(fs.readFileSync(p, 'utf8').startsWith('{\n  "mcpServers": {\n    "mem": {\n'));
});

test('add: remote servers with --url/--header, --transport sse, and the claude-style form', (t) => {
  const sb = sandbox(t);
  const cfg = sb.file('c.json');
  assert.equal(sb.run(['add', '--config', cfg, 'api', '--url', 'https://a.example/mcp', '-H', 'Authorization: Bearer x', '--header', 'X-A: b']).status, 0);
  assert.equal(sb.run(['add', '--config', cfg, 'old', '--url', 'https://o.example/sse', '--transport', 'sse']).status, 0);
  const r = sb.run(['add', '--config', cfg, '--transport', 'http', 'cl', 'https://c.example/mcp', '-H', 'K: v']);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(readJson(cfg).mcpServers, {
    api: { type: 'http', url: 'https://a.example/mcp', headers: { Authorization: 'Bearer x', 'X-A': 'b' } },
    old: { type: 'sse', url: 'https://o.example/sse' },
    cl: { type: 'http', url: 'https://c.example/mcp', headers: { K: 'v' } },
  });
  assert.match(r.stdout, /Added http server "cl"/);
});

test('add refuses duplicates (unless --force), bad names, bad URLs and a missing command; nothing is written', (t) => {
  const sb = sandbox(t);
  const cfg = sb.file('c.json');
  assert.equal(sb.run(['add', '--config', cfg, 'a', '--', 'one']).status, 0);
  const before = fs.readFileSync(cfg, 'utf8');
  const dup = sb.run(['add', '--config', cfg, 'a', '--', 'two']);
  assert.equal(dup.status, 1);
  assert.match(dup.stderr, /already exists.*--force/);
  assert.equal(sb.run(['add', '--config', cfg, 'bad__name', '--', 'x']).status, 1);
  const url = sb.run(['add', '--config', cfg, 'u', '--url', 'ftp://x']);
  assert.equal(url.status, 1);
  assert.match(url.stderr, /https:\/\//);
  assert.equal(sb.run(['add', '--config', cfg, 'nocmd']).status, 1);
  assert.equal(fs.readFileSync(cfg, 'utf8'), before);
  assert.equal(sb.run(['add', '--config', cfg, '--force', 'a', '--', 'two']).status, 0);
  assert.deepEqual(readJson(cfg).mcpServers.a, { command: 'two' });
});

test('remove, disable and enable edit only that server and keep the rest of the file', (t) => {
  const sb = sandbox(t);
  const cfg = sb.writeConfig({ mcpServers: { a: { command: 'x' }, b: { command: 'y', args: ['1'] } }, call_timeout_seconds: 9 });
  fs.chmodSync(cfg, 0o640);
  assert.equal(sb.run(['disable', 'b', '--config', cfg]).status, 0);
  assert.deepEqual(readJson(cfg).mcpServers.b, { command: 'y', args: ['1'], disabled: true });
  assert.equal(sb.run(['enable', 'b', '--config', cfg]).status, 0);
  assert.deepEqual(readJson(cfg).mcpServers.b, { command: 'y', args: ['1'] });
  assert.equal(sb.run(['remove', 'a', '--config', cfg]).status, 0);
  assert.deepEqual(readJson(cfg), { mcpServers: { b: { command: 'y', args: ['1'] } }, call_timeout_seconds: 9 });
  assert.equal(fs.statSync(cfg).mode & 0o777, 0o640, 'mode of an existing config is kept');
  const missing = sb.run(['remove', 'zzz', '--config', cfg]);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /no server named "zzz".*Servers: b/);
});

test('init without a terminal writes a minimal valid config once and explains next steps', (t) => {
  const sb = sandbox(t);
  fs.mkdirSync(path.join(sb.home, '.cursor'), { recursive: true });
  fs.writeFileSync(path.join(sb.home, '.cursor', 'mcp.json'), JSON.stringify({ mcpServers: { c: { command: 'x' } } }));
  const r = sb.run(['init']);
  assert.equal(r.status, 0, r.stderr);
  const p = defaultConfig(sb);
  assert.deepEqual(readJson(p).mcpServers, {});
  assert.match(readJson(p).$comment, /mcpzip migrate/, 'the config explains itself');
  assert.equal(fs.statSync(p).mode & 0o777, 0o600);
  assert.match(r.stdout, /mcpzip migrate/);
  assert.match(r.stdout, /1 MCP server\(s\) found/);
  assert.match(r.stdout, /mcpzip add/);
  fs.writeFileSync(p, JSON.stringify({ mcpServers: { keep: { command: 'k' } } }));
  const again = sb.run(['init']);
  assert.equal(again.status, 0);
  assert.match(again.stdout, /already exists/);
  assert.deepEqual(readJson(p).mcpServers, { keep: { command: 'k' } }, 'never overwritten');
  // The written config is one serve accepts, without warnings about its comments.
  const v = sb.run(['list', '--json', '--config', p]);
  assert.equal(v.status, 0, v.stderr);
});

test('init on a terminal offers to migrate, adds a server and stores a Gemini key', (t) => {
  const sb = sandbox(t);
  fs.mkdirSync(path.join(sb.home, '.cursor'), { recursive: true });
  const cur = path.join(sb.home, '.cursor', 'mcp.json');
  fs.writeFileSync(cur, JSON.stringify({ mcpServers: { c1: { command: 'x' } } }));
  const r = spawnSync('script', ['-qec', `${MCPZIP} init`, '/dev/null'], {
    env: sb.env, cwd: sb.dir, input: 'y\nmine\nnode /x.js --flag\n\nKEY123\n', encoding: 'utf8', timeout: 20000,
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /Move 1 server\(s\) from Cursor/);
  const cfg = readJson(defaultConfig(sb));
  assert.deepEqual(cfg.mcpServers, { c1: { command: 'x' }, mine: { command: 'node', args: ['/x.js', '--flag'] } });
  assert.equal(cfg.gemini_api_key, 'KEY123');
  assert.deepEqual(Object.keys(readJson(cur).mcpServers), ['mcpzip']);
});

const commands = ['serve', 'init', 'migrate', 'add', 'remove', 'enable', 'disable', 'list', 'search', 'describe', 'call', 'refresh', 'doctor', 'help', 'version'];

test('help COMMAND and COMMAND --help print usage for every command', (t) => {
  const sb = sandbox(t);
  const all = sb.run(['help']);
  for (const c of commands) {
    assert.match(all.stdout, new RegExp(`^  ${c} `, 'm'), `help lists ${c}`);
    const r = sb.run(['help', c]);
    assert.equal(r.status, 0, `help ${c}: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`usage: mcpzip ${c}`), `help ${c}`);
    if (c !== 'help' && c !== 'version') {
      const h = sb.run([c, '--help']);
      assert.equal(h.status, 0);
      assert.match(h.stdout, /usage:/);
    }
  }
  assert.equal(sb.run(['help', 'nope']).status, 1);
  const bad = sb.run(['list', '--bogus']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--bogus/);
});
