// `mcpzip migrate`: every client source, faithful conversion, conflicts, backups and undo,
// idempotency, the self-entry guard, --dry-run's diff, key order / permissions / final newline
// of the client's file, and --config in the entry it writes. Each test runs in its own HOME.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { sandbox, MCPZIP } from './helpers.mjs';

const defaultConfig = (sb) => path.join(sb.xdgConfig, 'compressed-mcp-proxy', 'config.json');
const readJson = (p) => JSON.parse(fs.readFileSync(p, 'utf8'));
const put = (p, obj, { newline = true, mode } = {}) => {
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, JSON.stringify(obj, null, 2) + (newline ? '\n' : ''));
  if (mode !== undefined) fs.chmodSync(p, mode);
  return p;
};
const backups = (p) => fs.readdirSync(path.dirname(p)).filter((f) => f.startsWith(path.basename(p) + '.mcpzip-backup-'));
const SELF = fs.realpathSync(MCPZIP);

function claudeJson(sb, project) {
  return {
    numStartups: 3,
    theme: 'dark',
    mcpServers: {
      mem: { type: 'stdio', command: 'node', args: ['/srv/mem.js'], env: { A: '1' } },
      web: { type: 'http', url: 'https://example.com/mcp', headers: { Authorization: 'Bearer t0k' } },
    },
    tipsHistory: { x: 1 },
    projects: {
      [project]: {
        allowedTools: [],
        mcpServers: { local1: { type: 'sse', url: 'http://127.0.0.1:9/sse' } },
        hasTrustDialogAccepted: true,
      },
    },
    userID: 'abc',
  };
}

test('Claude Code: user and local scope and .mcp.json move into the config; the client keeps one mcpzip entry, its key order, mode and missing final newline', (t) => {
  const sb = sandbox(t);
  const project = fs.realpathSync(sb.dir);
  const cj = put(path.join(sb.home, '.claude.json'), claudeJson(sb, project), { newline: false, mode: 0o640 });
  const original = fs.readFileSync(cj, 'utf8');
  put(path.join(project, '.mcp.json'), { mcpServers: { shared: { command: 'npx', args: ['-y', 'x'] } } });
  const r = sb.run(['migrate', '--project', project]);
  assert.equal(r.status, 0, r.stderr + r.stdout);

  const cfg = readJson(defaultConfig(sb));
  assert.deepEqual(Object.keys(cfg.mcpServers).sort(), ['local1', 'mem', 'shared', 'web']);
  assert.deepEqual(cfg.mcpServers.mem, { command: 'node', args: ['/srv/mem.js'], env: { A: '1' } });
  assert.deepEqual(cfg.mcpServers.web, { type: 'http', url: 'https://example.com/mcp', headers: { Authorization: 'Bearer t0k' } });
  assert.deepEqual(cfg.mcpServers.local1, { type: 'sse', url: 'http://127.0.0.1:9/sse' });
  assert.equal(fs.statSync(defaultConfig(sb)).mode & 0o777, 0o600, 'config is created 0600');

  const after = fs.readFileSync(cj, 'utf8');
  const j = JSON.parse(after);
  assert.deepEqual(Object.keys(j), ['numStartups', 'theme', 'mcpServers', 'tipsHistory', 'projects', 'userID'], 'key order kept');
  assert.deepEqual(j.mcpServers, { mcpzip: { type: 'stdio', command: SELF, args: ['serve'], env: {} } });
  assert.deepEqual(j.projects[project].mcpServers, {});
  assert.deepEqual(Object.keys(j.projects[project]), ['allowedTools', 'mcpServers', 'hasTrustDialogAccepted']);
  assert.ok(!after.endsWith('\n'), 'no final newline added');
  assert.ok(after.includes('\n  "theme": "dark",\n'), 'two-space indentation');
  assert.equal(fs.statSync(cj).mode & 0o777, 0o640, 'permissions kept');
  const b = backups(cj);
  assert.equal(b.length, 1);
  assert.equal(fs.readFileSync(path.join(sb.home, b[0]), 'utf8'), original, 'backup holds the original bytes');
  assert.deepEqual(readJson(path.join(project, '.mcp.json')).mcpServers, { mcpzip: { type: 'stdio', command: SELF, args: ['serve'], env: {} } });
  assert.match(r.stdout, /mem.*imported/);
});

const sources = [
  {
    id: 'claude-desktop', file: (sb) => path.join(sb.xdgConfig, 'Claude', 'claude_desktop_config.json'), key: 'mcpServers',
    entries: { fs1: { command: 'npx', args: ['-y', '@m/fs', '/tmp'], env: { K: 'v' } } },
    want: { fs1: { command: 'npx', args: ['-y', '@m/fs', '/tmp'], env: { K: 'v' } } },
    self: { command: SELF, args: ['serve'] },
  },
  {
    id: 'claude-desktop', name: 'claude-desktop (macOS path)', file: (sb) => path.join(sb.home, 'Library', 'Application Support', 'Claude', 'claude_desktop_config.json'), key: 'mcpServers',
    entries: { m1: { command: 'uvx', args: ['mcp-server-time'] } },
    want: { m1: { command: 'uvx', args: ['mcp-server-time'] } },
    self: { command: SELF, args: ['serve'] },
  },
  {
    id: 'cursor', file: (sb) => path.join(sb.home, '.cursor', 'mcp.json'), key: 'mcpServers',
    entries: { gh: { command: 'gh-mcp', env: { T: '${env:GH_TOKEN}' } }, remote: { url: 'https://r.example/mcp', headers: { 'X-Key': 'k' } } },
    want: { gh: { command: 'gh-mcp', env: { T: '${GH_TOKEN}' } }, remote: { type: 'http', url: 'https://r.example/mcp', headers: { 'X-Key': 'k' } } },
    self: { command: SELF, args: ['serve'] },
  },
  {
    id: 'windsurf', file: (sb) => path.join(sb.home, '.codeium', 'windsurf', 'mcp_config.json'), key: 'mcpServers',
    entries: { w1: { serverUrl: 'https://w.example/sse' }, w2: { command: 'w2', disabled: true } },
    want: { w1: { type: 'sse', url: 'https://w.example/sse' }, w2: { command: 'w2', disabled: true } },
    self: { command: SELF, args: ['serve'] },
  },
  {
    id: 'gemini', file: (sb) => path.join(sb.home, '.gemini', 'settings.json'), key: 'mcpServers',
    extra: { theme: 'GitHub', selectedAuthType: 'oauth' },
    entries: { g1: { httpUrl: 'https://g.example/mcp', headers: { A: 'b' }, timeout: 30000 }, g2: { url: 'https://g.example/sse' }, g3: { command: 'py', args: ['s.py'], cwd: '/srv', trust: true } },
    want: { g1: { type: 'http', url: 'https://g.example/mcp', headers: { A: 'b' }, timeout_seconds: 30 }, g2: { type: 'sse', url: 'https://g.example/sse' }, g3: { command: 'py', args: ['s.py'], cwd: '/srv' } },
    self: { command: SELF, args: ['serve'] },
  },
  {
    id: 'vscode', file: (sb) => path.join(sb.xdgConfig, 'Code', 'User', 'mcp.json'), key: 'servers',
    extra: { inputs: [{ id: 'tok', type: 'promptString' }] },
    entries: { v1: { type: 'stdio', command: 'node', args: ['${userHome}/s.js'] }, v2: { type: 'http', url: 'https://v.example/mcp' }, prompt: { type: 'http', url: 'https://p.example', headers: { Authorization: '${input:tok}' } } },
    want: { v1: { command: 'node', args: [null] }, v2: { type: 'http', url: 'https://v.example/mcp' } },
    self: { type: 'stdio', command: SELF, args: ['serve'] },
    kept: ['prompt'],
  },
];

for (const src of sources) {
  test(`source ${src.name || src.id}: converted faithfully, replaced by one mcpzip entry, other content kept`, (t) => {
    const sb = sandbox(t);
    const f = put(src.file(sb), { ...(src.extra || {}), [src.key]: src.entries });
    const r = sb.run(['migrate', '--from', src.id]);
    assert.equal(r.status, 0, r.stderr + r.stdout);
    const cfg = readJson(defaultConfig(sb)).mcpServers;
    for (const [name, want] of Object.entries(src.want)) {
      if (src.id === 'vscode' && name === 'v1') want.args = [`${sb.home}/s.js`];
      assert.deepEqual(cfg[name], want, `${name}: ${JSON.stringify(cfg[name])}`);
    }
    assert.equal(Object.keys(cfg).length, Object.keys(src.want).length, JSON.stringify(cfg));
    const client = readJson(f);
    for (const [k, v] of Object.entries(src.extra || {})) assert.deepEqual(client[k], v);
    const kept = {};
    for (const k of src.kept || []) kept[k] = src.entries[k];
    assert.deepEqual(client[src.key], { ...kept, mcpzip: src.self });
    if (src.kept) assert.match(r.stdout, /prompt.*not migrated.*input:tok/);
  });
}

test('conflicts: identical entries are merged, different ones renamed NAME-CLIENT and reported; --on-conflict keep and replace', (t) => {
  const sb = sandbox(t);
  const cfgPath = defaultConfig(sb);
  put(cfgPath, { mcpServers: { same: { command: 'a' }, gh: { command: 'gh-old' } }, idle_timeout_minutes: 7 });
  put(path.join(sb.home, '.cursor', 'mcp.json'), { mcpServers: { same: { command: 'a' }, gh: { command: 'gh-new' } } });
  const r = sb.run(['migrate', '--from', 'cursor']);
  assert.equal(r.status, 0, r.stderr);
  const cfg = readJson(cfgPath);
  assert.deepEqual(cfg.mcpServers, { same: { command: 'a' }, gh: { command: 'gh-old' }, 'gh-cursor': { command: 'gh-new' } });
  assert.equal(cfg.idle_timeout_minutes, 7, 'existing settings kept');
  assert.match(r.stdout, /gh.*conflict.*"gh-cursor"/);
  assert.match(r.stdout, /same.*identical/);

  const sb2 = sandbox(t);
  put(defaultConfig(sb2), { mcpServers: { gh: { command: 'gh-old' } } });
  const cur = put(path.join(sb2.home, '.cursor', 'mcp.json'), { mcpServers: { gh: { command: 'gh-new' } } });
  assert.equal(sb2.run(['migrate', '--on-conflict', 'keep']).status, 0);
  assert.deepEqual(readJson(defaultConfig(sb2)).mcpServers, { gh: { command: 'gh-old' } });
  assert.deepEqual(readJson(cur).mcpServers.gh, { command: 'gh-new' }, 'kept in the client');
  const r3 = sb2.run(['migrate', '--on-conflict', 'replace']);
  assert.equal(r3.status, 0, r3.stderr);
  assert.deepEqual(readJson(defaultConfig(sb2)).mcpServers, { gh: { command: 'gh-new' } });
  assert.deepEqual(Object.keys(readJson(cur).mcpServers), ['mcpzip']);
});

test('idempotent: a second run changes no byte and makes no backup', (t) => {
  const sb = sandbox(t);
  const cj = put(path.join(sb.home, '.claude.json'), { mcpServers: { a: { command: 'x' } } });
  assert.equal(sb.run(['migrate']).status, 0);
  const snap = [fs.readFileSync(cj, 'utf8'), fs.readFileSync(defaultConfig(sb), 'utf8'), backups(cj).length];
  const r = sb.run(['migrate']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Nothing to change/);
  assert.deepEqual([fs.readFileSync(cj, 'utf8'), fs.readFileSync(defaultConfig(sb), 'utf8'), backups(cj).length], snap);
});

test('self-entry guard: entries that start mcpzip are never imported, and one already in the config is removed', (t) => {
  const sb = sandbox(t);
  put(defaultConfig(sb), { mcpServers: { loop: { command: SELF, args: ['serve'] } } });
  const cj = put(path.join(sb.home, '.claude.json'), { mcpServers: {
    mcpzip: { command: '/old/bin/mcpzip', args: ['serve'] }, alias: { command: SELF, args: ['serve'] },
    rusty: { command: '/home/u/.cargo/bin/mcpzip', args: ['serve'] }, real: { command: 'r' } } });
  const r = sb.run(['migrate']);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(readJson(defaultConfig(sb)).mcpServers, { real: { command: 'r' } });
  assert.match(r.stdout, /loop: removed from mcpzip's config/);
  const client = readJson(cj).mcpServers;
  assert.deepEqual(Object.keys(client).sort(), ['alias', 'mcpzip', 'rusty']);
  assert.equal(client.mcpzip.command, SELF, 'the mcpzip entry points at this binary');
});

test('--dry-run prints a unified diff of every file and writes nothing', (t) => {
  const sb = sandbox(t);
  const cj = put(path.join(sb.home, '.claude.json'), { a: 1, mcpServers: { one: { type: 'stdio', command: 'x', args: [], env: {} } } });
  const before = fs.readFileSync(cj, 'utf8');
  const r = sb.run(['migrate', '--dry-run']);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(r.stdout.includes(`--- ${cj}\n+++ ${cj} (after migrate)\n@@ -`), r.stdout);
  assert.match(r.stdout, /^-    "one": \{$/m);
  assert.match(r.stdout, /^\+    "mcpzip": \{$/m);
  assert.ok(r.stdout.includes(`--- /dev/null\n+++ ${defaultConfig(sb)} (after migrate)\n@@ -0,0 +1,`), r.stdout);
  assert.match(r.stdout, /^\+      "command": "x"$/m);
  assert.equal(fs.readFileSync(cj, 'utf8'), before);
  assert.equal(fs.existsSync(defaultConfig(sb)), false);
  assert.equal(backups(cj).length, 0);
});

test('--undo restores every file of the latest run, and refuses when a file changed since (unless --force)', (t) => {
  const sb = sandbox(t);
  const cfgPath = defaultConfig(sb);
  put(cfgPath, { mcpServers: { old: { command: 'o' } } });
  const cfgBefore = fs.readFileSync(cfgPath, 'utf8');
  const cj = put(path.join(sb.home, '.claude.json'), { mcpServers: { a: { command: 'x' } } });
  const cjBefore = fs.readFileSync(cj, 'utf8');
  assert.equal(sb.run(['migrate']).status, 0);
  assert.notEqual(fs.readFileSync(cj, 'utf8'), cjBefore);
  const u = sb.run(['migrate', '--undo']);
  assert.equal(u.status, 0, u.stderr);
  assert.equal(fs.readFileSync(cj, 'utf8'), cjBefore);
  assert.equal(fs.readFileSync(cfgPath, 'utf8'), cfgBefore);
  assert.notEqual(sb.run(['migrate', '--undo']).status, 0, 'nothing left to undo');

  assert.equal(sb.run(['migrate']).status, 0);
  fs.appendFileSync(cj, ' ');
  const refused = sb.run(['migrate', '--undo']);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /changed after the migration/);
  assert.equal(sb.run(['migrate', '--undo', '--force']).status, 0);
  assert.equal(fs.readFileSync(cj, 'utf8'), cjBefore);
});

test('--undo of a run that created the config moves the new config aside', (t) => {
  const sb = sandbox(t);
  put(path.join(sb.home, '.claude.json'), { mcpServers: { a: { command: 'x' } } });
  assert.equal(sb.run(['migrate']).status, 0);
  assert.ok(fs.existsSync(defaultConfig(sb)));
  assert.equal(sb.run(['migrate', '--undo']).status, 0);
  assert.equal(fs.existsSync(defaultConfig(sb)), false);
});

test('a non-default --config is passed in the client entry; --claude-config (Rust flag) and --client-config pick a file', (t) => {
  const sb = sandbox(t);
  const cfgPath = sb.file('my-config.json');
  const cc = put(sb.file('other-claude.json'), { mcpServers: { a: { command: 'x' } } });
  const r = sb.run(['migrate', '--config', cfgPath, '--claude-config', cc]);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(readJson(cc).mcpServers.mcpzip.args, ['serve', '--config', cfgPath]);
  assert.deepEqual(readJson(cfgPath).mcpServers, { a: { command: 'x' } });
  const vs = put(sb.file('some-mcp.json'), { servers: { v: { type: 'stdio', command: 'v' } } });
  assert.equal(sb.run(['migrate', '--config', cfgPath, '--client-config', vs]).status, 0);
  assert.deepEqual(readJson(cfgPath).mcpServers.v, { command: 'v' });
  assert.deepEqual(Object.keys(readJson(vs).servers), ['mcpzip']);
});

test('a malformed client file is reported with line:column and nothing is written', (t) => {
  const sb = sandbox(t);
  const bad = sb.file('bad.json');
  fs.writeFileSync(bad, '{\n  "mcpServers": {\n    "a": {"command": "x"},\n  }\n}\n');
  const r = sb.run(['migrate', '--client-config', bad]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /bad\.json:4:\d+/);
  assert.equal(fs.existsSync(defaultConfig(sb)), false);
});

test('an existing config that is not valid JSON is never overwritten', (t) => {
  const sb = sandbox(t);
  const cfgPath = defaultConfig(sb);
  fs.mkdirSync(path.dirname(cfgPath), { recursive: true });
  fs.writeFileSync(cfgPath, '{ broken');
  const cj = put(path.join(sb.home, '.claude.json'), { mcpServers: { a: { command: 'x' } } });
  const before = fs.readFileSync(cj, 'utf8');
  const r = sb.run(['migrate']);
  assert.equal(r.status, 1);
  assert.equal(fs.readFileSync(cfgPath, 'utf8'), '{ broken');
  assert.equal(fs.readFileSync(cj, 'utf8'), before);
});

test('no client files: says so and exits 0', (t) => {
  const sb = sandbox(t);
  const r = sb.run(['migrate']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /No MCP client config files found/);
});
