// `mcpzip doctor`: a healthy setup exits 0; broken configs, missing programs, unset variables,
// unreachable URLs, self-references and readable secrets each exit 1 with a fix; --json; the
// live progress display on a terminal (colour unless NO_COLOR).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { sandbox, MCPZIP } from './helpers.mjs';

test('a healthy config: exit 0, tool counts listed', (t) => {
  const sb = sandbox(t);
  const cfg = sb.writeConfig({ mcpServers: { memory: sb.memory(), off: { command: 'x', disabled: true } } });
  fs.chmodSync(cfg, 0o600);
  const r = sb.run(['doctor', '--config', cfg]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /valid, 2 server/);
  assert.match(r.stdout, /memory {2}9 tools/);
  assert.match(r.stdout, /off .*disabled/);
  assert.match(r.stdout, /All good/);
});

test('each failure gets a suggested fix and the exit status is 1; --json reports the same', (t) => {
  const sb = sandbox(t);
  const cfg = sb.writeConfig({ mcpServers: {
    memory: sb.memory(),
    missing: { command: 'no-such-program-xyz' },
    novar: { command: 'node', env: { TOKEN: '${MCPZIP_TEST_UNSET_VAR}' } },
    remote: { type: 'http', url: 'http://127.0.0.1:9/mcp', headers: { Authorization: 'Bearer x' } },
  } });
  fs.chmodSync(cfg, 0o600);
  const r = sb.run(['doctor', '--config', cfg]);
  assert.equal(r.status, 1, r.stdout);
  assert.match(r.stdout, /missing: fix: install the program/);
  assert.match(r.stdout, /novar: fix: export the variable/);
  assert.match(r.stdout, /remote: fix: check the URL/);
  assert.match(r.stdout, /remote: auth: Authorization header/);
  assert.match(r.stdout, /3 problem\(s\) found/);
  const j = sb.run(['doctor', '--json', '--config', cfg]);
  assert.equal(j.status, 1);
  const doc = JSON.parse(j.stdout);
  assert.equal(doc.ok, false);
  assert.equal(doc.servers.find((s) => s.name === 'memory').tools, 9);
  const miss = doc.servers.find((s) => s.name === 'missing');
  assert.equal(miss.ok, false);
  assert.match(miss.fix, /install/);
  assert.equal(doc.problems.length, 3);
});

test('config problems: malformed JSON (line:column), a missing file, a self-reference, secrets readable by others', (t) => {
  const sb = sandbox(t);
  const bad = sb.writeConfig('{\n  "mcpServers": {,}\n}', 'bad.json');
  const r = sb.run(['doctor', '--config', bad]);
  assert.equal(r.status, 1);
  assert.match(r.stdout, /bad\.json:2:\d+/);
  const none = sb.run(['doctor', '--config', sb.file('none.json')]);
  assert.equal(none.status, 1);
  assert.match(none.stdout, /mcpzip init/);
  const loop = sb.writeConfig({ mcpServers: { me: { command: MCPZIP, args: ['serve'] } }, gemini_api_key: 'k' }, 'loop.json');
  fs.chmodSync(loop, 0o644);
  const l = sb.run(['doctor', '--json', '--config', loop]);
  assert.equal(l.status, 1);
  const doc = JSON.parse(l.stdout);
  assert.ok(doc.problems.some((p) => /starts mcpzip itself/.test(p.what) && p.fix === 'mcpzip remove me'), l.stdout);
  assert.ok(doc.problems.some((p) => /readable by other users/.test(p.what) && p.fix === `chmod 600 ${fs.realpathSync(loop)}`), l.stdout);
});

test('on a terminal the progress display redraws in place with colour, and NO_COLOR turns colour off', (t) => {
  const sb = sandbox(t);
  const cfg = sb.writeConfig({ mcpServers: { memory: sb.memory() } });
  fs.chmodSync(cfg, 0o600);
  const run = (extra) => spawnSync('script', ['-qec', `${MCPZIP} doctor --config ${cfg}`, '/dev/null'], {
    env: { ...sb.env, TERM: 'xterm', ...extra }, cwd: sb.dir, encoding: 'utf8', timeout: 30000,
  });
  const r = run({});
  assert.equal(r.status, 0, r.stdout);
  assert.ok(r.stdout.includes('\x1b[1A'), 'cursor moves up to redraw');
  assert.ok(r.stdout.includes('\x1b[32m'), 'green for success');
  assert.match(r.stdout, /memory {2}(\x1b\[[0-9;]*m)?9 tools/);
  const plain = run({ NO_COLOR: '1' });
  assert.equal(plain.status, 0);
  assert.ok(!/\x1b\[[0-9;]*m/.test(plain.stdout), 'no colour with NO_COLOR');
});
