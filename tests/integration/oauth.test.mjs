// OAuth for remote servers (issue 4), end to end against real peers:
//  - the official conformance suite's authorization scenarios, with mcpzip behind the driver and
//    a BROWSER script that follows the authorization redirect to mcpzip's own callback;
//  - a real authorization server (oauth2-mock-server, from npm) in front of an SDK-based MCP
//    server that checks bearer tokens, for what the conformance mock never does: refresh tokens,
//    rotation, revocation, two processes refreshing at once, reusing mcp-remote's token file,
//    and `mcpzip auth status|login|logout` (login headless, with the final URL pasted).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { OAuth2Server } from 'oauth2-mock-server';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { ROOT, NODE, MCPZIP, sandbox, waitUntil, textOf, sleep } from './helpers.mjs';

const SUITE = path.join(ROOT, 'node_modules/@modelcontextprotocol/conformance/dist/index.js');
const DRIVER = path.join(ROOT, 'tests/conformance/driver.mjs');
const CURL_BROWSER = path.join(ROOT, 'tests/conformance/browser.sh');
// The environment that makes that script mcpzip's browser.
const FOLLOW = { BROWSER: CURL_BROWSER, TEST_BROWSER_NODE: NODE };

// Runs one scenario; also returns mcpzip's own log, taken at trace level.
function runScenario(scenario) {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'mcpzip-conformance-'));
  const log = path.join(out, 'mcpzip.log');
  try {
    const r = spawnSync(NODE, [SUITE, 'client', '--command', `${NODE} ${DRIVER}`, '--scenario', scenario,
      '--timeout', '60000', '-o', out], {
      cwd: ROOT, encoding: 'utf8', timeout: 120000,
      env: { ...process.env, MCPZIP_BIN: MCPZIP, MCPZIP_CONFORMANCE_LOG: log, MCPZIP_LOG: 'trace' },
    });
    const mcpzipLog = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '';
    return { status: r.status, output: `${r.stdout}\n${r.stderr}`, mcpzipLog };
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

// Every scenario of `--suite auth` plus the extra ones issue 4 lists. Not here:
// auth/cross-app-access-complete-flow (enterprise ID-JAG token exchange, not in scope).
const SCENARIOS = [
  'auth/metadata-default', 'auth/metadata-var1', 'auth/metadata-var2', 'auth/metadata-var3',
  'auth/basic-cimd', 'auth/scope-from-www-authenticate', 'auth/scope-from-scopes-supported',
  'auth/scope-omitted-when-undefined', 'auth/scope-step-up', 'auth/scope-retry-limit',
  'auth/token-endpoint-auth-basic', 'auth/token-endpoint-auth-post', 'auth/token-endpoint-auth-none',
  'auth/pre-registration', 'auth/2025-03-26-oauth-metadata-backcompat',
  'auth/2025-03-26-oauth-endpoint-fallback', 'auth/resource-mismatch', 'auth/offline-access-scope',
  'auth/offline-access-not-supported', 'auth/client-credentials-basic', 'auth/client-credentials-jwt',
];

for (const scenario of SCENARIOS) {
  test(`conformance client scenario ${scenario}`, () => {
    const { status, output, mcpzipLog } = runScenario(scenario);
    // eslint-disable-next-line no-control-regex
    const plain = output.replace(/\x1b\[[0-9;]*m/g, '');
    assert.match(plain, /Passed: (\d+)\/\1, 0 failed, 0 warnings/, plain.slice(-4000));
    assert.match(plain, /OVERALL: PASSED/, plain.slice(-4000));
    assert.equal(status, 0, plain.slice(-4000));
    // Even at trace level, mcpzip's log shows no token, code, client secret or key.
    assert.match(mcpzipLog, /mcpzip\[\d+\]/);
    assert.doesNotMatch(mcpzipLog, /Sanitizer|runtime error/, mcpzipLog.slice(-3000));
    assert.doesNotMatch(mcpzipLog, /test-token-\d|cc-token|test-auth-code|test-client-secret|conformance-test-secret|pre-registered-secret|PRIVATE KEY/);
  });
}

// ---------------------------------------------------------------------------------------------
// A real authorization server and a protected MCP server

async function listen(server) {
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server.address().port;
}

// Starts oauth2-mock-server and an MCP server that accepts only the access tokens it issued,
// until they expire. The AS hooks keep the refresh tokens single-use (rotation) and count uses.
async function startWorld(t) {
  const as = new OAuth2Server();
  await as.issuer.keys.generate('RS256');
  await as.start(0, '127.0.0.1');
  const w = {
    issuer: as.issuer.url, ttl: 3600, access: new Map(), refresh: new Set(),
    refreshUses: [], invalidGrants: 0, codes: 0, secrets: new Set(),
  };
  as.service.on('beforeResponse', (resp, req) => {
    const body = req.body || {};
    if (body.grant_type === 'refresh_token') {
      w.refreshUses.push(body.refresh_token);
      if (!w.refresh.has(body.refresh_token)) {
        w.invalidGrants++;
        resp.statusCode = 400;
        resp.body = { error: 'invalid_grant', error_description: 'refresh token revoked or already used' };
        return;
      }
      w.refresh.delete(body.refresh_token);
    } else if (body.grant_type === 'authorization_code') {
      w.codes++;
      w.secrets.add(body.code);
    }
    resp.body.expires_in = w.ttl;
    w.access.set(resp.body.access_token, Date.now() + w.ttl * 1000);
    w.secrets.add(resp.body.access_token);
    if (resp.body.refresh_token) {
      w.refresh.add(resp.body.refresh_token);
      w.secrets.add(resp.body.refresh_token);
    }
  });
  const tool = () => {
    const server = new McpServer({ name: 'protected', version: '1.0.0' });
    server.tool('whoami', 'Says who the token belongs to', async () => ({ content: [{ type: 'text', text: 'johndoe' }] }));
    return server;
  };
  const sse = new Map(); // legacy HTTP+SSE sessions
  const mcp = http.createServer(async (req, res) => {
    const base = `http://127.0.0.1:${mcp.address().port}`;
    const u = new URL(req.url, base);
    const prm = u.pathname.match(/^\/\.well-known\/oauth-protected-resource(\/mcp|\/sse)$/);
    if (prm) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ resource: `${base}${prm[1]}`, authorization_servers: [w.issuer] }));
      return;
    }
    const which = u.pathname === '/messages' ? '/sse' : u.pathname;
    if (which !== '/mcp' && which !== '/sse') {
      res.writeHead(404).end();
      return;
    }
    const auth = req.headers.authorization || '';
    const exp = auth.startsWith('Bearer ') ? w.access.get(auth.slice(7)) : undefined;
    if (!exp || exp < Date.now()) {
      res.writeHead(401, { 'WWW-Authenticate':
        `Bearer error="invalid_token", resource_metadata="${base}/.well-known/oauth-protected-resource${which}"` });
      res.end();
      return;
    }
    if (u.pathname === '/sse' && req.method === 'GET') {
      const transport = new SSEServerTransport('/messages', res);
      sse.set(transport.sessionId, transport);
      res.on('close', () => sse.delete(transport.sessionId));
      await tool().connect(transport);
      return;
    }
    if (u.pathname === '/messages' && req.method === 'POST') {
      const transport = sse.get(u.searchParams.get('sessionId'));
      if (!transport) { res.writeHead(404).end(); return; }
      await transport.handlePostMessage(req, res);
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(405).end();
      return;
    }
    const server = tool();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => { transport.close(); server.close(); });
    await server.connect(transport);
    await transport.handleRequest(req, res);
  });
  const port = await listen(mcp);
  w.url = `http://127.0.0.1:${port}/mcp`;
  w.sseUrl = `http://127.0.0.1:${port}/sse`;
  t.after(async () => {
    mcp.closeAllConnections?.();
    await new Promise((r) => mcp.close(r));
    await as.stop();
  });
  return w;
}

function config(w, extra = {}) {
  return { mcpServers: { prot: { type: 'http', url: w.url, oauth: { client_id: 'mcpzip-test', ...extra } } } };
}

// A BROWSER that only records that it was asked to open something.
function recordingBrowser(sb) {
  const p = sb.file('browser.sh');
  fs.writeFileSync(p, `#!/bin/sh\necho "$1" >> "${sb.file('browser.log')}"\n`, { mode: 0o755 });
  return p;
}

const tokenFile = (sb, url) => path.join(sb.xdgConfig, 'compressed-mcp-proxy', 'auth',
  `${crypto.createHash('sha256').update(url).digest('hex').slice(0, 32)}.json`);

// Makes the stored access token expired, on disk and at the MCP server.
function expire(sb, w) {
  const f = tokenFile(sb, w.url);
  const tok = JSON.parse(fs.readFileSync(f, 'utf8'));
  w.access.set(tok.access_token, 0);
  tok.expires_at = Math.floor(Date.now() / 1000) - 10;
  fs.writeFileSync(f, JSON.stringify(tok), { mode: 0o600 });
}

function assertNoSecrets(w, text) {
  for (const s of w.secrets) assert.ok(!text.includes(s), 'a token or code appeared in the output');
  assert.doesNotMatch(text, /Sanitizer|runtime error/, text.slice(-3000));
}

// Runs `mcpzip <args>` without blocking this process (which serves the AS and the MCP server).
function runAsync(sb, args, extraEnv = {}) {
  return new Promise((resolve) => {
    const child = spawn(MCPZIP, args, { cwd: sb.dir, env: { ...sb.env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

async function callWhoami(p) {
  const r = await p.execute('prot__whoami', {});
  assert.ok(!r.isError, JSON.stringify(r));
  assert.equal(textOf(r), 'johndoe');
}

test('oauth: sign-in through the browser, then refresh, rotation, revocation and two processes', async (t) => {
  const w = await startWorld(t);
  const sb = sandbox(t);

  // 1. First use: the browser (curl following the redirect) completes the sign-in.
  let p = await sb.serveInit(config(w), { env: FOLLOW });
  await p.waitTools({ prot: 1 });
  await callWhoami(p);
  assert.equal(w.codes, 1);
  const st = fs.statSync(tokenFile(sb, w.url));
  assert.equal(st.mode & 0o777, 0o600);
  assert.equal(fs.statSync(path.dirname(tokenFile(sb, w.url))).mode & 0o777, 0o700);
  p.child.stdin.end();
  await p.waitExit();
  assertNoSecrets(w, p.stderr);

  // 2. Restart with the access token expired: refreshed without a browser, rotated.
  expire(sb, w);
  const browser = recordingBrowser(sb);
  p = await sb.serveInit(config(w), { env: { BROWSER: browser } });
  await p.waitTools({ prot: 1 });
  await callWhoami(p);
  assert.equal(w.refreshUses.length, 1);
  assert.equal(w.codes, 1);
  assert.ok(!fs.existsSync(sb.file('browser.log')), 'no browser for a refresh');
  p.child.stdin.end();
  await p.waitExit();
  assertNoSecrets(w, p.stderr);

  // 3. Two processes with the same store find the token expired at once: the rotating refresh
  // token is used once, and both end up with working tokens.
  expire(sb, w);
  const before = w.refreshUses.length;
  const shared = sb.writeConfig(config(w), 'shared.json');
  const a = sb.serve(shared, { env: { BROWSER: browser } });
  const b = sb.serve(shared, { env: { BROWSER: browser } });
  await Promise.all([a.initialize(), b.initialize()]);
  await Promise.all([a.waitTools({ prot: 1 }), b.waitTools({ prot: 1 })]);
  await Promise.all([callWhoami(a), callWhoami(b)]);
  const uses = w.refreshUses.slice(before);
  assert.equal(w.invalidGrants, 0, `refresh tokens used: ${uses.length}`);
  assert.equal(new Set(uses).size, uses.length, 'a refresh token was used twice');
  assert.ok(!fs.existsSync(sb.file('browser.log')));
  for (const d of [a, b]) { d.child.stdin.end(); await d.waitExit(); assertNoSecrets(w, d.stderr); }

  // 4. The refresh token is revoked: the tokens are dropped and a new sign-in follows.
  expire(sb, w);
  w.refresh.clear();
  p = await sb.serveInit(config(w), { env: FOLLOW });
  await p.waitTools({ prot: 1 });
  await callWhoami(p);
  assert.ok(w.invalidGrants >= 1);
  assert.equal(w.codes, 2);
  p.child.stdin.end();
  await p.waitExit();
  assertNoSecrets(w, p.stderr);
});

test('oauth: a pending sign-in leaves the server in needs-auth with the URL; the proxy keeps serving', async (t) => {
  const w = await startWorld(t);
  const sb = sandbox(t);
  const p = await sb.serveInit(config(w, { timeout_seconds: 30 }), { env: { BROWSER: recordingBrowser(sb) } });
  const st = await waitUntil(async () => {
    const s = (await p.status()).servers[0];
    return s.state === 'needs-auth' ? s : false;
  }, { what: 'needs-auth' });
  assert.match(st.last_error, /authorization pending/);
  const r = await p.execute('prot__whoami', {});
  assert.ok(r.isError);
  assert.match(textOf(r), /authorization pending.*open http:\/\/(127\.0\.0\.1|localhost):\d+\/authorize\?/s);
  assert.deepEqual(await p.call('ping', {}), {});
  // The user opens the URL (here: follows it with curl); the next call connects.
  const url = fs.readFileSync(sb.file('browser.log'), 'utf8').trim().split('\n')[0];
  assert.equal((await fetch(url)).status, 200);
  await waitUntil(async () => w.codes === 1, { what: 'code exchange' });
  await waitUntil(async () => !(await p.execute('prot__whoami', {})).isError, { what: 'authorized call' });
  assertNoSecrets(w, p.stderr);
});

test('oauth: a legacy SSE server gets the same sign-in and the token on its stream and posts', async (t) => {
  const w = await startWorld(t);
  const sb = sandbox(t);
  const p = await sb.serveInit({ mcpServers: { prot: { type: 'sse', url: w.sseUrl, oauth: { client_id: 'mcpzip-test' } } } },
    { env: FOLLOW });
  await p.waitTools({ prot: 1 });
  await callWhoami(p);
  assert.equal(w.codes, 1);
  assertNoSecrets(w, p.stderr);
});

test('oauth: mcp-remote tokens for this exact URL are reused and copied into our store', async (t) => {
  const w = await startWorld(t);
  const sb = sandbox(t);
  const token = `mr-${crypto.randomUUID()}`;
  w.access.set(token, Date.now() + 3600e3);
  w.secrets.add(token);
  const dir = path.join(sb.home, '.mcp-auth', 'mcp-remote-0.1.37');
  fs.mkdirSync(dir, { recursive: true });
  const hash = crypto.createHash('md5').update(w.url).digest('hex');
  fs.writeFileSync(path.join(dir, `${hash}_tokens.json`),
    JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: 3600 }, null, 2), { mode: 0o600 });
  const p = await sb.serveInit(config(w), { env: { BROWSER: recordingBrowser(sb) } });
  await p.waitTools({ prot: 1 }).catch((e) => { throw new Error(`${e.message}\n${p.stderr}`); });
  await callWhoami(p);
  assert.ok(!fs.existsSync(sb.file('browser.log')));
  assert.equal(JSON.parse(fs.readFileSync(tokenFile(sb, w.url), 'utf8')).access_token, token);
  assert.match(p.stderr, /reusing mcp-remote's tokens/);
  assertNoSecrets(w, p.stderr);
});

test('oauth: mcpzip auth login (headless, URL pasted), status and logout', async (t) => {
  const w = await startWorld(t);
  const sb = sandbox(t);
  const cfg = sb.writeConfig(config(w));
  const child = spawn(MCPZIP, ['auth', 'login', 'prot', '--config', cfg], {
    cwd: sb.dir, env: { ...sb.env, BROWSER: recordingBrowser(sb) }, stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  const exited = new Promise((r) => child.on('exit', r));
  t.after(() => child.kill());
  const url = await waitUntil(() => fs.existsSync(sb.file('browser.log'))
    && fs.readFileSync(sb.file('browser.log'), 'utf8').trim(), { what: 'the authorization URL' });
  // The browser cannot reach this machine: take the redirect's address and paste it.
  const res = await fetch(url, { redirect: 'manual' });
  const location = res.headers.get('location');
  assert.match(location, /^http:\/\/127\.0\.0\.1:\d+\/oauth\/callback\?code=/);
  child.stdin.write(`${location}\n`);
  assert.equal(await exited, 0, err);
  assert.match(out, /signed in to "prot"/);
  assert.equal(w.codes, 1);

  let r = sb.run(['auth', 'status', '--config', cfg]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /prot \(http:\/\/127\.0\.0\.1:\d+\/mcp\)\n {2}authorized until/);
  assert.match(r.stdout, new RegExp(`issuer: ${w.issuer.replace(/[.]/g, '\\.')}`));
  assertNoSecrets(w, out + err + r.stdout + r.stderr);

  // Other commands use the stored tokens.
  r = await runAsync(sb, ['call', 'prot__whoami', '{}', '--config', cfg]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /johndoe/);

  r = sb.run(['auth', 'logout', 'prot', '--config', cfg]);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(!fs.existsSync(tokenFile(sb, w.url)));
  r = sb.run(['auth', 'status', '--config', cfg]);
  assert.match(r.stdout, /not signed in/);
  // Without tokens, commands other than serve and auth login open no browser: they say what to run.
  fs.rmSync(sb.file('browser.log'));
  r = await runAsync(sb, ['call', 'prot__whoami', '{}', '--config', cfg], { BROWSER: recordingBrowser(sb) });
  assert.notEqual(r.status, 0);
  assert.match(r.stdout + r.stderr, /mcpzip auth login prot/);
  assert.ok(!fs.existsSync(sb.file('browser.log')));
  r = sb.run(['auth', 'login', 'nope', '--config', cfg]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /no server named "nope"/);
  await sleep(0);
});
