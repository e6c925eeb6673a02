// Requests are served concurrently: long calls on different servers overlap, a long call does
// not delay ping / search / other servers, calls on one server overlap too, responses may come
// out of order, and stdout lines never interleave under load.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { sandbox, textOf, timed, fileLines, waitUntil, SLOW } from './helpers.mjs';

const LONG_S = 2.5; // each long call lasts at least 2 s, as required

test('two long calls on different real servers run in parallel', async (t) => {
  const sb = sandbox(t);
  const p = await sb.serveInit({ mcpServers: { ev1: sb.everything(), ev2: sb.everything() } });
  // Warm both upstreams so that spawn time is not part of the measurement.
  await Promise.all([p.execute('ev1__echo', { message: 'w' }), p.execute('ev2__echo', { message: 'w' })]);
  const args = { duration: LONG_S, steps: 2 };
  const t0 = Date.now();
  const [a, b] = await Promise.all([
    timed(p.execute('ev1__trigger-long-running-operation', args, { timeout: 60 })),
    timed(p.execute('ev2__trigger-long-running-operation', args, { timeout: 60 })),
  ]);
  const wall = Date.now() - t0;
  for (const r of [a, b]) {
    assert.notEqual(r.value.isError, true, JSON.stringify(r.value));
    assert.match(textOf(r.value), /Long running operation completed/i);
    assert.ok(r.ms >= 2000, `each call must take ≥ 2 s, took ${r.ms} ms`);
  }
  const one = Math.max(a.ms, b.ms);
  // Sanitizer builds run everything slower: the slack grows with them, the bound stays below
  // the sum of the two calls (what a serial run would take).
  assert.ok(wall < 1.6 * LONG_S * 1000 + 500 * (SLOW - 1), `wall ${wall} ms for two ${LONG_S} s calls: not parallel`);
  assert.ok(wall <= one + 500 * SLOW, `wall ${wall} ms should be about the longer call (${one} ms)`);
});

test('a long call does not delay ping, search or a call on another server', async (t) => {
  const sb = sandbox(t);
  const p = await sb.serveInit({ mcpServers: { slow: sb.fake(), other: sb.fake() } });
  await Promise.all([p.execute('slow__echo', { message: 'w' }), p.execute('other__echo', { message: 'w' })]);
  let longDone = false;
  const long = p.execute('slow__sleep', { ms: 4000 }).then((r) => { longDone = true; return r; });
  await new Promise((r) => setTimeout(r, 200));
  const quick = await timed(Promise.all([
    p.request('ping'),
    p.search('echo'),
    p.execute('other__echo', { message: 'fast' }),
    p.tool('proxy_status', {}),
  ]));
  assert.equal(longDone, false, 'the quick requests must complete while the long call is still running');
  assert.ok(quick.ms < 1500 * SLOW, `quick requests took ${quick.ms} ms during a long call`);
  assert.equal(textOf(quick.value[2]), 'fast');
  assert.equal(textOf(await long), 'slept 4000');
});

// One thread reads every child's output: a server that stops reading its stdin while it sends
// pings (so mcpzip's answers fill a pipe nobody reads) must not hold up the others.
test('a server that floods pings and stops reading does not stall other servers', async (t) => {
  const sb = sandbox(t);
  const p = await sb.serveInit({ mcpServers: { stuck: sb.fake(), other: sb.fake() } });
  await Promise.all([p.execute('stuck__echo', { message: 'w' }), p.execute('other__echo', { message: 'w' })]);
  const marker = sb.file('flooding');
  const flood = p.execute('stuck__flood', { pings: 5000, marker }, { timeout: 8 });
  // The flood is under way (all pings written) before the other server is asked anything.
  await waitUntil(() => fs.existsSync(marker), { what: 'the flood to start' });
  const quick = await timed(Promise.all([
    p.execute('other__echo', { message: 'still here' }),
    p.execute('other__sleep', { ms: 50 }),
    p.search('echo'),
  ]));
  assert.equal(textOf(quick.value[0]), 'still here');
  assert.equal(textOf(quick.value[1]), 'slept 50');
  assert.ok(quick.ms < 2000 * SLOW, `calls to another server took ${quick.ms} ms during the flood`);
  const r = await flood;
  assert.equal(r.isError, true);
  assert.match(textOf(r), /timed out after 8 s/);
  assert.equal(textOf(await p.execute('other__echo', { message: 'after' })), 'after');
});

test('concurrent calls on one server overlap and use one process', async (t) => {
  const sb = sandbox(t);
  const starts = sb.file('starts.log');
  const p = await sb.serveInit({ mcpServers: { f: sb.fake('--start-log', starts) } });
  await p.execute('f__echo', { message: 'w' });
  const { value, ms } = await timed(Promise.all([1, 2, 3].map(() => p.execute('f__sleep', { ms: 2000 }))));
  value.forEach((r) => assert.equal(textOf(r), 'slept 2000'));
  assert.ok(ms < 1.6 * 2000 + 500 * (SLOW - 1), `three 2 s calls on one server took ${ms} ms: not concurrent`);
  assert.equal(fileLines(starts).length, 1);
});

test('responses complete out of order', async (t) => {
  const sb = sandbox(t);
  const p = await sb.serveInit({ mcpServers: { f: sb.fake() } });
  await p.execute('f__echo', { message: 'w' });
  const since = p.messages.length;
  const slow = p.request('tools/call', { name: 'execute_tool', arguments: { name: 'f__sleep', arguments: { ms: 1500 } } }, { id: 'slow' });
  const fast = p.request('tools/call', { name: 'execute_tool', arguments: { name: 'f__sleep', arguments: { ms: 10 } } }, { id: 'fast' });
  await Promise.all([slow, fast]);
  const order = p.messages.slice(since).map((m) => m.id);
  assert.deepEqual(order, ['fast', 'slow']);
});

test('stdout lines never interleave under concurrent large responses', async (t) => {
  const sb = sandbox(t);
  const p = await sb.serveInit({ mcpServers: { a: sb.fake(), b: sb.fake() } });
  const N = 40;
  const calls = [];
  for (let i = 0; i < N; i++) {
    const server = i % 2 ? 'a' : 'b';
    const msg = `${i}:`.padEnd(64 * 1024 + i * 97, String.fromCharCode(97 + (i % 26)));
    calls.push(p.execute(`${server}__echo`, { message: msg }).then((r) => assert.equal(textOf(r), msg)));
    calls.push(p.request('ping'));
  }
  await Promise.all(calls);
  assert.deepEqual(p.badLines, [], 'every stdout line must be one whole JSON message');
});
