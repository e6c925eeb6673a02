// The stdio upstream client, driven through faults only the fake server can show: crash mid-call
// (fails at once, restarts on next use, never retried), garbage on stdout, calls that never
// answer (timeout → isError + notifications/cancelled upstream), an upstream that never
// finishes its handshake, paginated tools/list, tools/list_changed, upstream→client requests,
// and content of every type passed through unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import {
  sandbox, directSession, textOf, assertToolError, fileLines, recorded, waitUntil, timed, alive, SLOW,
} from './helpers.mjs';

test('every content type, structuredContent, isError and _meta pass through unchanged', async (t) => {
  const sb = sandbox(t);
  const p = await sb.serveInit({ mcpServers: { f: sb.fake() } });
  const d = await directSession(sb, sb.fake());
  for (const name of ['rich', 'fail']) {
    const via = await p.execute(`f__${name}`, {});
    const ref = await d.call('tools/call', { name, arguments: {} });
    assert.deepEqual(via, ref, `${name}: proxy result differs from the upstream's own`);
  }
  const rich = await p.execute('f__rich', {});
  assert.deepEqual(rich.content.map((c) => c.type), ['text', 'image', 'audio', 'resource', 'resource', 'resource_link']);
  // The image bytes survive exactly (all 256 byte values).
  assert.deepEqual([...Buffer.from(rich.content[1].data, 'base64')], Array.from({ length: 256 }, (_, i) => i));
  const fail = await p.execute('f__fail', {});
  assert.equal(fail.isError, true);
  assert.deepEqual(fail._meta, { 'fake/reason': 'asked' });
});

test('a crash mid-call fails that call at once; the next call restarts the server; no retry', async (t) => {
  const sb = sandbox(t);
  const starts = sb.file('starts.log');
  const rec = sb.file('record.jsonl');
  const p = await sb.serveInit({
    mcpServers: { f: sb.fake('--start-log', starts, '--record', rec) },
    call_timeout_seconds: 60,
  });
  assert.equal(textOf(await p.execute('f__echo', { message: 'before' })), 'before');
  const firstPid = Number(fileLines(starts)[0].split(' ')[0]);
  // With a 60 s timeout, "at once" means the crash was detected, not timed out.
  const { value: r, ms } = await timed(p.execute('f__crash', {}, { timeout: 60 }));
  assertToolError(r);
  assert.ok(ms < 5000 * SLOW, `crash must fail the call promptly, took ${ms} ms`);
  assert.doesNotMatch(textOf(r), /timed out/i);
  // The next call spawns the server again and succeeds.
  assert.equal(textOf(await p.execute('f__echo', { message: 'after' })), 'after');
  const lines = fileLines(starts);
  assert.equal(lines.length, 2, `expected exactly one restart: ${lines.join(' | ')}`);
  assert.ok(!alive(firstPid), 'the crashed process is gone');
  // Never retried: the crash call reached an upstream exactly once over both processes.
  const crashCalls = recorded(rec).filter((m) => m.method === 'tools/call' && m.params?.name === 'crash');
  assert.equal(crashCalls.length, 1, 'a failed call must not be retried automatically');
});

test('a crash fails every in-flight call on that server, not other servers', async (t) => {
  const sb = sandbox(t);
  const p = await sb.serveInit({ mcpServers: { f: sb.fake(), g: sb.fake() }, call_timeout_seconds: 60 });
  await p.execute('f__echo', { message: 'warm' });
  await p.execute('g__echo', { message: 'warm' });
  const slowF = timed(p.execute('f__sleep', { ms: 30000 }));
  const slowG = p.execute('g__sleep', { ms: 1500 });
  await new Promise((r) => setTimeout(r, 300)); // let the sleeps reach the upstreams
  const crash = await p.execute('f__crash', {});
  assertToolError(crash);
  const { value: rf, ms } = await slowF;
  assertToolError(rf);
  assert.ok(ms < 10000 * SLOW, `in-flight call on the crashed server must fail at once, took ${ms} ms`);
  assert.equal(textOf(await slowG), 'slept 1500');
});

test('garbage lines on the upstream stdout are skipped', async (t) => {
  const sb = sandbox(t);
  const p = await sb.serveInit({ mcpServers: { f: sb.fake('--garbage', '--tools', '3') } });
  await p.waitTools({ f: 12 });
  for (let i = 0; i < 5; i++) assert.equal(textOf(await p.execute('f__echo', { message: `m${i}` })), `m${i}`);
  const st = await p.status();
  assert.equal(st.servers[0].state, 'connected');
});

test('a call that never answers times out per `timeout`, sends notifications/cancelled upstream', async (t) => {
  const sb = sandbox(t);
  const rec = sb.file('record.jsonl');
  const p = await sb.serveInit({ mcpServers: { f: sb.fake('--record', rec) }, call_timeout_seconds: 120 });
  await p.execute('f__echo', { message: 'warm' });
  const { value: r, ms } = await timed(p.execute('f__hang', {}, { timeout: 1 }));
  assertToolError(r, /timed out/i);
  assert.ok(ms >= 900, `timed out too early: ${ms} ms`);
  assert.ok(ms < 1000 + 4000 * SLOW, `timed out too late: ${ms} ms`);
  // The upstream got notifications/cancelled for exactly the hang request.
  const hang = await waitUntil(() => recorded(rec).find((m) => m.method === 'tools/call' && m.params?.name === 'hang'),
    { what: 'hang call in the record' });
  const cancel = await waitUntil(() => recorded(rec).find((m) => m.method === 'notifications/cancelled'),
    { what: 'notifications/cancelled in the record' });
  assert.deepEqual(cancel.params.requestId, hang.id);
  assert.equal(cancel.id, undefined, 'cancelled is a notification');
  // Not retried, and the connection is still usable afterwards.
  assert.equal(recorded(rec).filter((m) => m.params?.name === 'hang').length, 1);
  assert.equal(textOf(await p.execute('f__echo', { message: 'still ok' })), 'still ok');
});

test('the timeout in the message says after how many seconds', async (t) => {
  const sb = sandbox(t);
  const p = await sb.serveInit({ mcpServers: { f: sb.fake() } });
  const r = await p.execute('f__hang', {}, { timeout: 2 });
  assertToolError(r, /timed out/i);
  assert.match(textOf(r), /\b2(\.0)?\s*s/);
});

test('call_timeout_seconds and per-server timeout_seconds apply without a per-call timeout', async (t) => {
  const sb = sandbox(t);
  const p = await sb.serveInit({
    mcpServers: { g: sb.fake(), s: { ...sb.fake(), timeout_seconds: 1 } },
    call_timeout_seconds: 2,
  });
  const { value: rs, ms: mss } = await timed(p.execute('s__hang', {}));
  assertToolError(rs, /timed out/i);
  assert.ok(mss >= 900 && mss < 1000 + 4000 * SLOW, `per-server timeout 1 s took ${mss} ms`);
  const { value: rg, ms: msg } = await timed(p.execute('g__hang', {}));
  assertToolError(rg, /timed out/i);
  assert.ok(msg >= 1900 && msg < 2000 + 4000 * SLOW, `global timeout 2 s took ${msg} ms`);
});

test('an upstream that never finishes its handshake: the call times out, the proxy stays up', async (t) => {
  const sb = sandbox(t);
  const p = await sb.serveInit({ mcpServers: { f: sb.fake('--no-init'), g: sb.fake() } });
  const { value: r, ms } = await timed(p.execute('f__echo', { message: 'x' }, { timeout: 2 }));
  assertToolError(r);
  assert.ok(ms < 2000 + 5000 * SLOW, `took ${ms} ms`);
  assert.deepEqual((await p.request('ping')).result, {});
  assert.equal(textOf(await p.execute('g__echo', { message: 'ok' })), 'ok');
});

test('tools/list pagination: all pages are fetched into the catalog', async (t) => {
  const sb = sandbox(t);
  const rec = sb.file('record.jsonl');
  const p = await sb.serveInit({ mcpServers: { f: sb.fake('--tools', '25', '--page-size', '4', '--record', rec) } });
  const st = await p.waitTools({ f: 34 });
  assert.equal(st.servers[0].tools, 34, '9 base tools + 25 generated');
  const d = JSON.parse(textOf(await p.describe('f__gen_24')));
  assert.equal(d.name, 'f__gen_24');
  const r = await p.search('gen_24');
  assert.ok(r.structuredContent.results.some((x) => x.name === 'f__gen_24'), textOf(r));
  // More than one tools/list request carried a cursor.
  assert.ok(recorded(rec).filter((m) => m.method === 'tools/list' && m.params?.cursor).length >= 8);
});

test('notifications/tools/list_changed triggers a refresh of that server', async (t) => {
  const sb = sandbox(t);
  const extra = sb.file('extra.txt');
  const p = await sb.serveInit({ mcpServers: { f: sb.fake('--extra-tools-file', extra) } });
  await p.waitTools({ f: 9 });
  assertToolError(await p.describe('f__brand_new_tool'));
  await p.execute('f__add_tool', { name: 'brand_new_tool' });
  await waitUntil(async () => (await p.describe('f__brand_new_tool')).isError !== true,
    { what: 'f__brand_new_tool in the catalog after list_changed' });
  const r = await p.search('brand_new_tool');
  assert.ok(r.structuredContent.results.some((x) => x.name === 'f__brand_new_tool'));
});

test('a tool not in the catalog but on a configured server is still tried', async (t) => {
  const sb = sandbox(t);
  const p = await sb.serveInit({ mcpServers: { f: sb.fake() } });
  await p.waitTools({ f: 9 });
  // hidden_echo is never listed by the fake, yet it answers calls.
  const r = await p.execute('f__hidden_echo', { message: 'found anyway' });
  assert.equal(textOf(r), 'found anyway');
  // A tool the upstream itself does not know: its error comes back as an error.
  const r2 = await p.execute('f__really_missing', {});
  assert.ok(r2.isError === true, JSON.stringify(r2));
});

test('upstream ping is answered; unsupported upstream requests get a JSON-RPC error', async (t) => {
  const sb = sandbox(t);
  const p = await sb.serveInit({ mcpServers: { f: sb.fake() } });
  const r = await p.execute('f__ask_client', {}, { timeout: 30 });
  const s = r.structuredContent;
  assert.ok(s, JSON.stringify(r));
  assert.equal(s.ping.timeout, undefined, 'the proxy must answer an upstream ping');
  assert.deepEqual(s.ping.result, {});
  assert.equal(s.unsupported.timeout, undefined, 'unsupported requests must not be left unanswered');
  assert.equal(typeof s.unsupported.error?.code, 'number', JSON.stringify(s.unsupported));
});

test('one upstream process serves many concurrent calls', async (t) => {
  const sb = sandbox(t);
  const starts = sb.file('starts.log');
  const p = await sb.serveInit({ mcpServers: { f: sb.fake('--start-log', starts) } });
  const calls = Array.from({ length: 20 }, (_, i) => p.execute('f__echo', { message: `c${i}` }));
  const rs = await Promise.all(calls);
  rs.forEach((r, i) => assert.equal(textOf(r), `c${i}`));
  assert.equal(fileLines(starts).length, 1, 'exactly one process for the server');
  const st = await p.status();
  const pid = Number(fileLines(starts)[0].split(' ')[0]);
  assert.equal(st.servers[0].pid, pid, 'proxy_status reports the upstream pid');
  assert.equal(st.servers[0].state, 'connected');
});

test('upstream stderr reaches the proxy log prefixed with the server name', async (t) => {
  const sb = sandbox(t);
  const p = await sb.serveInit({ mcpServers: { loudsrv: sb.fake() }, call_timeout_seconds: 30 }, { logLevel: 'debug' });
  await p.execute('loudsrv__crash', {});
  await waitUntil(() => p.stderr.split('\n').some((l) => l.includes('loudsrv') && l.includes('fake: crashing on request')),
    { what: 'upstream stderr line with server name in the proxy log' });
});
