// Shutdown: on stdin EOF, SIGTERM or SIGINT the proxy exits 0 within a few seconds and its
// upstream processes are gone; in-flight calls get to finish first; if the proxy itself is
// killed, its upstreams die with it (PR_SET_PDEATHSIG).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sandbox, descendants, alive, waitUntil, timed, textOf, fileLines, SLOW } from './helpers.mjs';

const EXIT_MS = 5000 * SLOW;

// Starts a proxy with two upstreams (one real, one fake) both connected; returns the proxy and
// the pids of its child processes.
async function running(sb) {
  const starts = sb.file('starts.log');
  const p = await sb.serveInit({ mcpServers: { ev: sb.everything(), f: sb.fake('--start-log', starts) } });
  await p.execute('ev__echo', { message: 'x' });
  await p.execute('f__echo', { message: 'x' });
  const kids = descendants(p.pid);
  const fakePid = Number(fileLines(starts)[0].split(' ')[0]);
  assert.ok(kids.includes(fakePid), `the fake upstream ${fakePid} is a descendant of mcpzip (${kids})`);
  assert.ok(kids.length >= 2, `two upstreams running: ${kids}`);
  return { p, kids };
}

async function assertGone(pids) {
  await waitUntil(() => pids.every((x) => !alive(x)), { timeout: EXIT_MS, what: `child processes ${pids} to be gone` });
}

test('stdin EOF: exit 0 within a few seconds, children gone', async (t) => {
  const sb = sandbox(t);
  const { p, kids } = await running(sb);
  p.closeStdin();
  const { value: ex, ms } = await timed(p.waitExit(EXIT_MS));
  assert.deepEqual(ex, { code: 0, signal: null });
  assert.ok(ms < EXIT_MS, `exit took ${ms} ms`);
  await assertGone(kids);
});

for (const sig of ['SIGTERM', 'SIGINT']) {
  test(`${sig}: exit 0 within a few seconds, children gone`, async (t) => {
    const sb = sandbox(t);
    const { p, kids } = await running(sb);
    process.kill(p.pid, sig);
    const ex = await p.waitExit(EXIT_MS);
    assert.deepEqual(ex, { code: 0, signal: null });
    await assertGone(kids);
  });
}

test('EOF with a call in flight: the call finishes and is answered before exit', async (t) => {
  const sb = sandbox(t);
  const p = await sb.serveInit({ mcpServers: { f: sb.fake() } });
  await p.execute('f__echo', { message: 'warm' });
  const inflight = p.execute('f__sleep', { ms: 1000 });
  await new Promise((r) => setTimeout(r, 200));
  p.closeStdin();
  const r = await inflight;
  assert.equal(textOf(r), 'slept 1000');
  assert.equal((await p.waitExit(EXIT_MS)).code, 0);
});

test('EOF with a call that never finishes: exit 0 within a few seconds anyway', async (t) => {
  const sb = sandbox(t);
  const p = await sb.serveInit({ mcpServers: { f: sb.fake() } });
  await p.execute('f__echo', { message: 'warm' });
  const kids = descendants(p.pid);
  p.execute('f__hang', {}, { timeout: 600 }).catch(() => {});
  await new Promise((r) => setTimeout(r, 200));
  p.closeStdin();
  const { value: ex, ms } = await timed(p.waitExit(15000 * SLOW));
  assert.equal(ex.code, 0);
  assert.ok(ms < 10000 * SLOW, `exit with a hung call took ${ms} ms`);
  await assertGone(kids);
});

test('EOF before initialize, with upstreams never used: exit 0', async (t) => {
  const sb = sandbox(t);
  const p = sb.serve({ mcpServers: { f: sb.fake(), ev: sb.everything() } });
  p.closeStdin();
  assert.deepEqual(await p.waitExit(EXIT_MS), { code: 0, signal: null });
});

test('SIGKILL of the proxy takes its upstreams down with it', async (t) => {
  const sb = sandbox(t);
  const { p, kids } = await running(sb);
  process.kill(p.pid, 'SIGKILL');
  await p.waitExit(EXIT_MS);
  await assertGone(kids);
});
