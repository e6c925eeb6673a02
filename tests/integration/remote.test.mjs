// Remote upstreams: mcpzip as a Streamable HTTP and legacy SSE client of the real
// server-everything (started on 127.0.0.1 in its streamableHttp and sse modes), plus a small
// fake HTTP server for what real servers do not show on demand (401, 500, plain JSON answers,
// what headers arrive).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {
  ROOT, NODE, EVERYTHING, sandbox, waitUntil, textOf, assertToolError, timed, fileLines, WAIT_MS,
} from './helpers.mjs';

const FAKE_HTTP = path.join(ROOT, 'tests/fake/fake_http.mjs');

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitPort(port) {
  await waitUntil(() => new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    c.once('connect', () => { c.destroy(); resolve(true); });
    c.once('error', () => resolve(false));
  }), { what: `port ${port} to accept connections`, interval: 100 });
}

// Starts server-everything in an HTTP mode on a free port; returns { port, driver }.
async function everything(sb, mode, port) {
  port = port || await freePort();
  const driver = sb.startRaw(NODE, [EVERYTHING, mode], { env: { PORT: String(port) }, name: `everything-${mode}` });
  await waitPort(port);
  return { port, driver };
}

async function stop(driver) {
  try { process.kill(driver.pid, 'SIGKILL'); } catch { /* gone */ }
  await driver.waitExit().catch(() => {});
}

for (const mode of ['streamableHttp', 'sse']) {
  const type = mode === 'sse' ? 'sse' : 'http';
  const suffix = mode === 'sse' ? '/sse' : '/mcp';

  test(`${type}: handshake, search, describe, execute text and image, concurrency`, async (t) => {
    const sb = sandbox(t);
    const { port } = await everything(sb, mode);
    const p = await sb.serveInit({ mcpServers: { ev: { type, url: `http://127.0.0.1:${port}${suffix}` } } });
    await p.waitTools({ ev: 10 });

    const found = await p.search('echo back a message');
    assert.equal(found.structuredContent.results[0].name, 'ev__echo');

    const desc = JSON.parse(textOf(await p.describe('ev__echo')));
    assert.equal(desc.name, 'ev__echo');
    assert.deepEqual(desc.inputSchema.required, ['message']);

    const echo = await p.execute('ev__echo', { message: `hi over ${type}` });
    assert.equal(echo.isError, undefined);
    assert.deepEqual(echo.content, [{ type: 'text', text: `Echo: hi over ${type}` }]);

    // Image content comes through byte for byte: a PNG, base64-encoded.
    const img = await p.execute('ev__get-tiny-image', {});
    const image = img.content.find((c) => c.type === 'image');
    assert.ok(image, 'image content present');
    assert.equal(image.mimeType, 'image/png');
    assert.equal(Buffer.from(image.data, 'base64').subarray(1, 4).toString(), 'PNG');

    // A long-running tool reports progress before its result; the response is still matched.
    const long = await p.execute('ev__trigger-long-running-operation', { duration: 1, steps: 4 });
    assert.match(textOf(long), /Long running operation completed/);
    if (type === 'http') assert.match(p.stderr, /\[ev\] progress 4\/4/);

    // Five 1-second calls at once take about one second, not five.
    const { ms } = await timed(Promise.all([1, 2, 3, 4, 5].map(() =>
      p.execute('ev__trigger-long-running-operation', { duration: 1, steps: 1 }))));
    assert.ok(ms < 3500, `5 concurrent 1 s calls took ${ms} ms`);
  });

  test(`${type}: the server restarts mid-session and the next call succeeds`, async (t) => {
    const sb = sandbox(t);
    const first = await everything(sb, mode);
    const p = await sb.serveInit({ mcpServers: { ev: { type, url: `http://127.0.0.1:${first.port}${suffix}` } } });
    await p.waitTools({ ev: 10 });
    assert.match(textOf(await p.execute('ev__echo', { message: 'before' })), /Echo: before/);

    await stop(first.driver);
    await everything(sb, mode, first.port);
    // For SSE the dropped stream is noticed and the next call re-initializes; for HTTP the
    // server no longer knows the session, which mcpzip renews and sends the call again. Either
    // way the very first call after the restart succeeds.
    const after = await p.execute('ev__echo', { message: 'after' });
    assert.equal(after.isError, undefined, textOf(after));
    assert.match(textOf(after), /Echo: after/);
    if (type === 'http') assert.match(p.stderr, /no longer knows the session/);
  });
}

test('http: configured headers with ${VAR} are sent; JSON answers; protocol and session headers', async (t) => {
  const sb = sandbox(t);
  const port = await freePort();
  const rec = sb.file('requests.jsonl');
  sb.startRaw(NODE, [FAKE_HTTP, '--port', String(port), '--record', rec]);
  await waitPort(port);
  const p = await sb.serveInit({
    mcpServers: { fh: { type: 'http', url: `http://127.0.0.1:${port}/mcp`,
                        headers: { Authorization: 'Bearer ${FAKE_TOKEN}', 'X-Team': '${TEAM:-core}' } } },
  }, { env: { FAKE_TOKEN: 's3cr3t-token' } });
  await p.waitTools({ fh: 1 });
  const r = await p.execute('fh__hello', { who: 'Ada' });
  assert.deepEqual(r, { content: [{ type: 'text', text: 'hello Ada' }], structuredContent: { greeted: 'Ada' } });

  const reqs = fileLines(rec).map((l) => JSON.parse(l));
  const init = reqs.find((q) => q.body.includes('"initialize"'));
  assert.equal(init.headers.authorization, 'Bearer s3cr3t-token');
  assert.equal(init.headers['x-team'], 'core');
  assert.match(init.headers.accept, /application\/json/);
  assert.match(init.headers.accept, /text\/event-stream/);
  assert.match(init.headers['user-agent'], /^mcpzip\//);
  const call = reqs.find((q) => q.body.includes('"tools/call"'));
  assert.equal(call.headers['mcp-protocol-version'], '2025-11-25');
  assert.match(call.headers['mcp-session-id'], /^sess-/);
  // The secret never reaches mcpzip's log, even at debug level.
  assert.doesNotMatch(p.stderr, /s3cr3t-token/);

  // Shutdown ends the session with DELETE.
  p.closeStdin();
  await p.waitExit();
  const del = fileLines(rec).map((l) => JSON.parse(l)).find((q) => q.method === 'DELETE');
  assert.ok(del, 'DELETE sent on shutdown');
  assert.match(del.headers['mcp-session-id'], /^sess-/);
});

test('http: a 401 is reported as needs-auth with what to do; a 500 quotes the server', async (t) => {
  const sb = sandbox(t);
  const p401 = await freePort();
  const p500 = await freePort();
  sb.startRaw(NODE, [FAKE_HTTP, '--port', String(p401), '--mode', '401']);
  sb.startRaw(NODE, [FAKE_HTTP, '--port', String(p500), '--mode', '500']);
  await waitPort(p401);
  await waitPort(p500);
  const p = await sb.serveInit({
    mcpServers: {
      locked: { type: 'http', url: `http://127.0.0.1:${p401}/mcp` },
      broken: { type: 'http', url: `http://127.0.0.1:${p500}/mcp` },
    },
  });
  const st = await waitUntil(async () => {
    const s = await p.status();
    const locked = s.servers.find((x) => x.name === 'locked');
    const broken = s.servers.find((x) => x.name === 'broken');
    return locked.state === 'needs-auth' && broken.state === 'failed' ? s : false;
  }, { what: 'needs-auth and failed states' });
  const locked = st.servers.find((x) => x.name === 'locked');
  assert.match(locked.last_error, /requires authorization \(HTTP 401/);
  assert.match(locked.last_error, /"headers"/);
  const broken = st.servers.find((x) => x.name === 'broken');
  assert.match(broken.last_error, /HTTP 500 .*database is on fire/);

  assertToolError(await p.execute('locked__anything', {}), /authoriz/);
  assertToolError(await p.execute('broken__anything', {}), /database is on fire/);
  // The proxy keeps serving.
  assert.deepEqual(await p.call('ping', {}), {});
});

test('http: an unreachable server fails clearly and does not stall other work', async (t) => {
  const sb = sandbox(t);
  const port = await freePort();
  const p = await sb.serveInit({ mcpServers: { gone: { type: 'http', url: `http://127.0.0.1:${port}/mcp` } } });
  const r = await p.execute('gone__x', {}, { timeout: 5 });
  assertToolError(r, /cannot reach server "gone"/);
  assert.deepEqual(await p.call('ping', {}), {});
});
