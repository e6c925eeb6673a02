// The real Claude Code CLI (npm @anthropic-ai/claude-code, offline with HOME in the sandbox):
// servers added with `claude mcp add` in user and local scope (stdio, and http with headers)
// are migrated, the rest of ~/.claude.json is left as Claude wrote it, and afterwards
// `claude mcp list` health-checks the one `mcpzip` entry by starting `mcpzip serve` and reports
// it connected, with the migrated stdio server's tools reachable through it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { sandbox, ROOT, NODE, MEMORY, MCPZIP, SLOW } from './helpers.mjs';

// The platform package holds the native binary; bin/claude.exe is only linked to it by a
// postinstall script that `npm ci` may not run.
const CLAUDE = path.join(ROOT, 'node_modules/@anthropic-ai/claude-code-linux-x64/claude');

function claude(sb, cwd, args) {
  const r = spawnSync(CLAUDE, args, {
    cwd, env: { ...sb.env, MCP_TIMEOUT: String(20000 * SLOW), DISABLE_AUTOUPDATER: '1', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' },
    encoding: 'utf8', timeout: 60000 * SLOW,
  });
  assert.equal(r.error, undefined, `claude ${args.join(' ')}: ${r.error}`);
  return r;
}

test('claude mcp add (user + local, stdio + http with headers) → mcpzip migrate → claude mcp list shows mcpzip connected', { skip: !fs.existsSync(CLAUDE) && 'claude-code is not installed (npm ci)' }, (t) => {
  const sb = sandbox(t);
  const project = path.join(sb.dir, 'proj');
  fs.mkdirSync(project);
  const realProject = fs.realpathSync(project);
  const add1 = claude(sb, project, ['mcp', 'add', '-s', 'user', 'memory', '-e', `MEMORY_FILE_PATH=${sb.file('mem.jsonl')}`, '--', NODE, MEMORY]);
  assert.equal(add1.status, 0, add1.stderr + add1.stdout);
  const add2 = claude(sb, project, ['mcp', 'add', '-s', 'local', '--transport', 'http', 'remote', 'http://127.0.0.1:9/mcp', '-H', 'Authorization: Bearer s3cret']);
  assert.equal(add2.status, 0, add2.stderr + add2.stdout);
  const cj = path.join(sb.home, '.claude.json');
  const before = JSON.parse(fs.readFileSync(cj, 'utf8'));
  assert.ok(before.mcpServers.memory && before.projects[realProject].mcpServers.remote, 'claude wrote both scopes');

  const m = spawnSync(MCPZIP, ['migrate', '--project', project], { cwd: project, env: sb.env, encoding: 'utf8', timeout: 20000 });
  assert.equal(m.status, 0, m.stderr + m.stdout);

  const after = JSON.parse(fs.readFileSync(cj, 'utf8'));
  assert.deepEqual(Object.keys(after), Object.keys(before), 'top-level keys and their order kept');
  for (const k of Object.keys(before)) if (k !== 'mcpServers' && k !== 'projects') assert.deepEqual(after[k], before[k], k);
  assert.deepEqual(Object.keys(after.mcpServers), ['mcpzip']);
  assert.deepEqual(after.projects[realProject].mcpServers, {});
  const cfg = JSON.parse(fs.readFileSync(path.join(sb.xdgConfig, 'compressed-mcp-proxy', 'config.json'), 'utf8'));
  assert.deepEqual(cfg.mcpServers.memory, { command: NODE, args: [MEMORY], env: { MEMORY_FILE_PATH: sb.file('mem.jsonl') } });
  assert.deepEqual(cfg.mcpServers.remote, { type: 'http', url: 'http://127.0.0.1:9/mcp', headers: { Authorization: 'Bearer s3cret' } });

  const list = claude(sb, project, ['mcp', 'list']);
  assert.equal(list.status, 0, list.stderr + list.stdout);
  const self = fs.realpathSync(MCPZIP).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  assert.match(list.stdout, new RegExp(`^mcpzip: ${self} serve - .*Connected`, 'm'), list.stdout);
  assert.ok(!/^memory:/m.test(list.stdout) && !/^remote:/m.test(list.stdout), list.stdout);
  const get = claude(sb, project, ['mcp', 'get', 'mcpzip']);
  assert.equal(get.status, 0, get.stderr);
  assert.match(get.stdout, /User config/);

  // The migrated server is reachable through mcpzip from the terminal.
  const s = spawnSync(MCPZIP, ['search', 'read graph', '--server', 'memory'], { env: sb.env, encoding: 'utf8', timeout: 30000 });
  assert.equal(s.status, 0, s.stderr);
  assert.match(s.stdout, /^memory__read_graph:/m);

  // Migrating again changes nothing, and Claude still sees exactly one mcpzip.
  const again = spawnSync(MCPZIP, ['migrate', '--project', project], { cwd: project, env: sb.env, encoding: 'utf8' });
  assert.equal(again.status, 0);
  assert.match(again.stdout, /Nothing to change/);
});
