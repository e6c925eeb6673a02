// The on-disk catalog cache: a warm start answers initialize (with tool counts) and search from
// the cache before any upstream has answered; the cache lives under $XDG_CACHE_HOME/mcpzip/
// (else $HOME/.cache/mcpzip/), one file per config path; corrupt files are rebuilt; a failing
// server keeps its cached tools marked stale; a removed server loses them; an empty list
// replaces.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { sandbox, fileLines, textOf, waitUntil, timed, SLOW } from './helpers.mjs';

function cacheFiles(dir) {
  const d = path.join(dir, 'mcpzip');
  try { return fs.readdirSync(d).map((f) => path.join(d, f)); } catch { return []; }
}

// Runs one session to completion so that the catalog of `config` is cached.
async function warm(sb, cfgPath, want, env = {}) {
  const p = sb.serve(cfgPath, { env });
  await p.initialize();
  await p.waitTools(want);
  p.closeStdin();
  const ex = await p.waitExit();
  assert.equal(ex.code, 0, `first run must exit 0: ${p.stderr.slice(-2000)}`);
  return p;
}

test('warm cache: initialize and search are answered from the cache before the upstream answers', async (t) => {
  const sb = sandbox(t);
  const starts = sb.file('starts.log');
  const cfg = sb.writeConfig({
    mcpServers: {
      cached: sb.fake('--tools', '30', '--start-log', starts, '--init-delay', '${FAKE_INIT_DELAY:-0}'),
    },
  });
  await warm(sb, cfg, { cached: 39 });
  assert.equal(cacheFiles(sb.cache).length, 1, 'one cache file after the first run');
  const firstRunStarts = fileLines(starts).length;

  // Second run: the upstream now takes 10 s to answer initialize.
  const t0 = Date.now();
  const p = sb.serve(cfg, { env: { FAKE_INIT_DELAY: '10000' } });
  const init = await p.initialize();
  const tInit = Date.now();
  // The instructions carry the cached tool count next to the server name.
  assert.match(init.instructions, /cached\D{0,40}\b39\b/, init.instructions);
  const r = await p.search('gen_29');
  const tSearch = Date.now();
  assert.ok(r.structuredContent.results.some((x) => x.name === 'cached__gen_29'), textOf(r));
  assert.ok(tSearch - t0 < 5000 * SLOW, `initialize + search took ${tSearch - t0} ms; they must not wait for the upstream`);
  // describe works from the cache as well.
  assert.equal(JSON.parse(textOf(await p.describe('cached__gen_29'))).name, 'cached__gen_29');
  // The upstream of this run cannot have answered its handshake yet (10 s delay), so everything
  // above came from the cache. At most one process was started for it (the background refresh).
  assert.ok(tInit - t0 < 10000, 'initialize was answered before the upstream could be ready');
  assert.ok(fileLines(starts).length - firstRunStarts <= 1, 'one upstream process at most');
  // The status shows the cached count and that the upstream is not connected yet.
  const st = await p.status();
  const s = st.servers[0];
  assert.equal(s.tools, 39);
  assert.notEqual(s.state, 'connected', 'the upstream is still in its 10 s handshake');
});

test('the cache lives under $XDG_CACHE_HOME/mcpzip, one file per config path', async (t) => {
  const sb = sandbox(t);
  const a = sb.writeConfig({ mcpServers: { alpha: sb.fake('--tools', '1') } }, 'a.json');
  const b = sb.writeConfig({ mcpServers: { beta: sb.fake('--tools', '2') } }, 'b.json');
  await warm(sb, a, { alpha: 10 });
  await warm(sb, b, { beta: 11 });
  const files = cacheFiles(sb.cache);
  assert.equal(files.length, 2, `two configs, two cache files: ${files}`);
  assert.equal(cacheFiles(path.join(sb.home, '.cache')).length, 0, 'nothing under $HOME/.cache when XDG_CACHE_HOME is set');
  // Each config sees only its own catalog on a warm start.
  const p = sb.serve(b);
  const init = await p.initialize();
  assert.doesNotMatch(init.instructions, /alpha/);
  const r = await p.search('generated tool number 0');
  assert.ok(r.structuredContent.results.every((x) => x.server === 'beta'), textOf(r));
});

test('without XDG_CACHE_HOME the cache goes to $HOME/.cache/mcpzip', async (t) => {
  const sb = sandbox(t);
  delete sb.env.XDG_CACHE_HOME;
  const cfg = sb.writeConfig({ mcpServers: { f: sb.fake() } });
  await warm(sb, cfg, { f: 9 });
  assert.equal(cacheFiles(path.join(sb.home, '.cache')).length, 1);
  assert.equal(cacheFiles(sb.cache).length, 0);
});

test('a corrupt cache file is reported and rebuilt', async (t) => {
  const sb = sandbox(t);
  const cfg = sb.writeConfig({ mcpServers: { f: sb.fake('--tools', '2') } });
  await warm(sb, cfg, { f: 11 });
  const [file] = cacheFiles(sb.cache);
  fs.writeFileSync(file, '{"this is": "not a valid cache", \x00\x01 garbage');
  const p = sb.serve(cfg, { logLevel: 'warn' });
  await p.initialize();
  await p.waitTools({ f: 11 });
  assert.match(p.stderr, /cache/i, 'a warning about the cache on stderr');
  assert.equal(textOf(await p.execute('f__echo', { message: 'ok' })), 'ok');
  p.closeStdin();
  assert.equal((await p.waitExit()).code, 0);
  assert.ok(!fs.readFileSync(file, 'latin1').includes('not a valid cache'), 'the cache file was rewritten');
  // And it is usable: a third run serves from it at once.
  const q = sb.serve(cfg, { env: {} });
  await q.initialize();
  const r = await q.search('generated tool number 1');
  assert.ok(r.structuredContent.results.some((x) => x.name === 'f__gen_1'), textOf(r));
});

test('a server that fails to refresh keeps its cached tools, marked stale', async (t) => {
  const sb = sandbox(t);
  const cfg = sb.writeConfig({ mcpServers: { f: sb.fake('--tools', '3', '${FAKE_FLAG:---noop}') } });
  await warm(sb, cfg, { f: 12 });
  const p = sb.serve(cfg, { env: { FAKE_FLAG: '--fail-start' } });
  await p.initialize();
  const st = await waitUntil(async () => {
    const s = (await p.status()).servers[0];
    return s.last_error ? s : false;
  }, { what: 'the background refresh to fail' });
  assert.equal(st.stale, true, JSON.stringify(st));
  assert.equal(st.tools, 12, 'cached tools kept');
  const r = await p.search('generated tool number 2');
  assert.ok(r.structuredContent.results.some((x) => x.name === 'f__gen_2'), textOf(r));
});

test('a server removed from the config loses its cached tools', async (t) => {
  const sb = sandbox(t);
  const cfg = sb.writeConfig({ mcpServers: { keep: sb.fake(), gone: sb.fake('--tools', '2') } });
  await warm(sb, cfg, { keep: 9, gone: 11 });
  sb.writeConfig({ mcpServers: { keep: sb.fake() } }); // same path, server removed
  const p = sb.serve(cfg);
  const init = await p.initialize();
  assert.doesNotMatch(init.instructions, /\bgone\b/);
  const r = await p.search('generated tool number');
  assert.ok(!r.structuredContent.results.some((x) => x.server === 'gone'), textOf(r));
  const st = await p.status();
  assert.deepEqual(st.servers.map((s) => s.name), ['keep']);
  assert.equal(st.totals.servers, 1);
});

test('an empty tool list replaces the cached one', async (t) => {
  const sb = sandbox(t);
  const extra = sb.file('extra.txt');
  fs.writeFileSync(extra, 'soon_gone_tool\n');
  const cfg = sb.writeConfig({ mcpServers: { f: sb.fake('--only-extra', '--extra-tools-file', extra) } });
  await warm(sb, cfg, { f: 1 });
  fs.writeFileSync(extra, '');
  const p = sb.serve(cfg);
  await p.initialize();
  const r = await p.refresh('f');
  assert.equal(r.structuredContent.servers[0].ok, true, JSON.stringify(r));
  const st = await p.status();
  assert.equal(st.servers[0].tools, 0);
  assert.equal(st.servers[0].stale, false);
  const s = await p.search('soon_gone_tool');
  assert.ok(!s.structuredContent.results.some((x) => x.name === 'f__soon_gone_tool'), textOf(s));
});

test('the cache is written when a session ends: exactly one file, no temp files left', async (t) => {
  const sb = sandbox(t);
  const cfg = sb.writeConfig({ mcpServers: { f: sb.fake() } });
  const { ms } = await timed(warm(sb, cfg, { f: 9 }));
  assert.ok(ms < 20000 * SLOW);
  const files = fs.readdirSync(path.join(sb.cache, 'mcpzip'));
  assert.equal(files.length, 1, `cache dir holds: ${files}`);
  assert.ok(fs.statSync(path.join(sb.cache, 'mcpzip', files[0])).size > 0);
});
