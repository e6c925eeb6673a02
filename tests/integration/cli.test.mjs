// The command line and the config file: --version, help, unknown commands, config validation
// (file + line:column, server + field, bad server names), unknown-field warnings, the default
// config path, ${VAR} expansion, logging to stderr / --log-file only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { sandbox, NODE, FAKE, textOf, waitUntil } from './helpers.mjs';

test('--version prints "mcpzip <version>" and exits 0', (t) => {
  const sb = sandbox(t);
  const r = sb.run(['--version']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout.trim(), /^mcpzip \d+\.\d+\.\d+\S*$/);
});

test('help prints usage on stdout and exits 0', (t) => {
  const sb = sandbox(t);
  const r = sb.run(['help']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /usage/i);
  // The usage must at least mention the serve command and its --config flag.
  assert.match(r.stdout, /serve/);
  assert.match(r.stdout, /--config/);
});

test('an unknown command exits 1 with a message on stderr and nothing on stdout', (t) => {
  const sb = sandbox(t);
  const r = sb.run(['frobnicate-xyz']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /frobnicate-xyz/);
  assert.equal(r.stdout, '');
});

// Invalid configs must make `serve` exit 1 before serving anything, with a message that lets
// the user find the problem: file and line:column for JSON syntax, server and field otherwise.
test('a JSON syntax error names the file and line:column', (t) => {
  const sb = sandbox(t);
  // The error (a missing comma) is on line 3.
  const cfg = sb.writeConfig('{\n  "mcpServers": {\n    "a": {"command": "x"} "b": {}\n  }\n}\n', 'broken.json');
  const r = sb.run(['serve', '--config', cfg]);
  assert.equal(r.status, 1, `expected exit 1, got ${r.status}; stderr: ${r.stderr}`);
  assert.ok(r.stderr.includes('broken.json'), `stderr must name the file: ${r.stderr}`);
  assert.match(r.stderr, /(\b3:\d+\b|line 3\b)/i, `stderr must give line 3 and a column: ${r.stderr}`);
  assert.equal(r.stdout, '', 'nothing may be written to stdout');
});

test('a missing config file is an error naming the file', (t) => {
  const sb = sandbox(t);
  const r = sb.run(['serve', '--config', sb.file('nope.json')]);
  assert.equal(r.status, 1);
  assert.ok(r.stderr.includes('nope.json'), r.stderr);
});

test('a bad field names the server and the field', (t) => {
  const sb = sandbox(t);
  const cfg = sb.writeConfig({ mcpServers: { goodone: { command: NODE, args: [FAKE] }, badsrv: { command: 42 } } });
  const r = sb.run(['serve', '--config', cfg]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /badsrv/);
  assert.match(r.stderr, /command/);
});

test('args that are not an array of strings are rejected, naming server and field', (t) => {
  const sb = sandbox(t);
  const cfg = sb.writeConfig({ mcpServers: { srvx: { command: NODE, args: 'not-an-array' } } });
  const r = sb.run(['serve', '--config', cfg]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /srvx/);
  assert.match(r.stderr, /args/);
});

// Server names become the routing prefix "server__tool": "__" or odd characters would make
// routing ambiguous, so they must be rejected.
for (const bad of ['a__b', 'has space', 'slash/name', 'ünï']) {
  test(`server name ${JSON.stringify(bad)} is rejected`, (t) => {
    const sb = sandbox(t);
    const cfg = sb.writeConfig({ mcpServers: { [bad]: { command: NODE, args: [FAKE] } } });
    const r = sb.run(['serve', '--config', cfg]);
    assert.equal(r.status, 1, `expected exit 1 for ${bad}; stderr: ${r.stderr}`);
    assert.ok(r.stderr.includes(bad), `stderr must name the server ${bad}: ${r.stderr}`);
  });
}

test('names with letters, digits, "_", "." and "-" are accepted', async (t) => {
  const sb = sandbox(t);
  const name = 'Ok_name.v-2';
  const p = await sb.serveInit({ mcpServers: { [name]: sb.fake() } });
  const st = await p.status();
  assert.deepEqual(st.servers.map((s) => s.name), [name]);
});

test('unknown fields only warn: serve still works and stderr names the field', async (t) => {
  const sb = sandbox(t);
  const p = sb.serve({
    mcpServers: { f: { ...sb.fake(), frobnicate_field: true } },
    totally_unknown_top: 1,
  }, { logLevel: 'warn' });
  const init = await p.initialize();
  assert.ok(init.serverInfo);
  await waitUntil(() => /frobnicate_field/.test(p.stderr) && /totally_unknown_top/.test(p.stderr),
    { what: 'warnings naming both unknown fields on stderr' });
});

test("Claude Code's entry shape (type stdio, empty env) is accepted", async (t) => {
  const sb = sandbox(t);
  const p = await sb.serveInit({ mcpServers: { f: { type: 'stdio', command: NODE, args: [FAKE], env: {} } } });
  const r = await p.execute('f__echo', { message: 'cc-shape' });
  assert.equal(textOf(r), 'cc-shape');
});

test('without --config, $XDG_CONFIG_HOME/compressed-mcp-proxy/config.json is used', async (t) => {
  const sb = sandbox(t);
  const dir = path.join(sb.xdgConfig, 'compressed-mcp-proxy');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ mcpServers: { defaultcfg: sb.fake() } }));
  const p = sb.start(['serve'], { env: { MCPZIP_LOG: 'debug' } });
  await p.initialize();
  const st = await p.status();
  assert.deepEqual(st.servers.map((s) => s.name), ['defaultcfg']);
});

test('${VAR} and ${VAR:-default} are expanded in args and env; GEMINI_API_KEY is not leaked', async (t) => {
  const sb = sandbox(t);
  const p = await sb.serveInit({
    mcpServers: {
      f: {
        command: NODE,
        args: [FAKE, '--name', '${FAKE_NAME_VAR}', '--tools', '${UNSET_TOOLS_VAR:-2}'],
        env: { GREETING: '${UNSET_GREETING:-hello-default}', FROM_ENV: 'x-${SET_VAR}-y' },
        cwd: sb.dir,
      },
    },
  }, { env: { FAKE_NAME_VAR: 'expanded-name', SET_VAR: 'middle', GEMINI_API_KEY: 'secret-gemini-key' } });
  const r = await p.execute('f__env', { names: ['GREETING', 'FROM_ENV', 'GEMINI_API_KEY', 'HOME'] });
  assert.ok(r.structuredContent, JSON.stringify(r));
  const s = r.structuredContent;
  assert.deepEqual(s.argv, ['--name', 'expanded-name', '--tools', '2']);
  assert.equal(s.env.GREETING, 'hello-default');
  assert.equal(s.env.FROM_ENV, 'x-middle-y');
  // The upstream inherits mcpzip's environment (HOME here)...
  assert.equal(s.env.HOME, sb.home);
  // ...but never mcpzip's own secrets.
  assert.equal(s.env.GEMINI_API_KEY, null, 'GEMINI_API_KEY must not reach upstreams');
  assert.equal(fs.realpathSync(s.cwd), fs.realpathSync(sb.dir));
});

test('cwd of a server entry is the working directory of the upstream', async (t) => {
  const sb = sandbox(t);
  const wd = sb.file('workdir');
  fs.mkdirSync(wd);
  const p = await sb.serveInit({ mcpServers: { f: { ...sb.fake(), cwd: wd } } });
  const r = await p.execute('f__env', {});
  assert.equal(fs.realpathSync(r.structuredContent.cwd), fs.realpathSync(wd));
});

// Logging goes to stderr only; stdout carries nothing but JSON-RPC, even at trace level.
test('at MCPZIP_LOG=trace stdout carries only JSON-RPC and logs go to stderr', async (t) => {
  const sb = sandbox(t);
  const p = sb.serve({ mcpServers: { f: sb.fake() } }, { logLevel: 'trace' });
  await p.initialize();
  await p.call('tools/list');
  await p.execute('f__echo', { message: 'x' });
  await p.search('echo');
  p.closeStdin();
  await p.waitExit();
  assert.deepEqual(p.badLines, [], 'non-JSON lines on stdout');
  for (const m of p.messages) assert.equal(m.jsonrpc, '2.0', `stdout message without jsonrpc 2.0: ${JSON.stringify(m)}`);
  assert.ok(p.stderr.length > 0, 'trace level must log something to stderr');
});

test('MCPZIP_LOG=error keeps stderr quiet in a normal session', async (t) => {
  const sb = sandbox(t);
  const p = sb.serve({ mcpServers: { f: sb.fake() } }, { logLevel: 'error' });
  await p.initialize();
  await p.execute('f__echo', { message: 'x' });
  const quiet = p.stderr.length;
  p.closeStdin();
  await p.waitExit();
  // Compare with trace: trace must log more than error for the same session.
  const p2 = sb.serve({ mcpServers: { f: sb.fake() } }, { logLevel: 'trace' });
  await p2.initialize();
  await p2.execute('f__echo', { message: 'x' });
  p2.closeStdin();
  await p2.waitExit();
  assert.ok(p2.stderr.length > quiet, `trace (${p2.stderr.length} bytes) must log more than error (${quiet} bytes)`);
});

test('--log-file writes the log to that file', async (t) => {
  const sb = sandbox(t);
  const log = sb.file('mcpzip.log');
  const p = sb.serve({ mcpServers: { f: sb.fake() } }, { args: ['--log-file', log], logLevel: 'debug' });
  await p.initialize();
  await p.execute('f__echo', { message: 'x' });
  p.closeStdin();
  await p.waitExit();
  assert.ok(fs.existsSync(log), 'log file must exist');
  assert.ok(fs.statSync(log).size > 0, 'log file must not be empty at debug level');
  assert.deepEqual(p.badLines, []);
});
