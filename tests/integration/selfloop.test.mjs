// A config whose server runs mcpzip with that same config must not start itself forever: the
// nested serve refuses, the outer one reports why as that server's error and keeps serving.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { MCPZIP, sandbox, waitUntil, taggedPids } from './helpers.mjs';

test('a server entry that runs mcpzip with the same config fails clearly, once', async (t) => {
  const sb = sandbox(t);
  const cfg = sb.file('config.json');
  sb.writeConfig({ mcpServers: { me: { command: MCPZIP, args: ['serve', '--config', cfg] }, ev: sb.everything() } });
  const p = sb.serve(cfg);
  await p.initialize();
  const st = await waitUntil(async () => {
    const s = await p.status();
    const me = s.servers.find((x) => x.name === 'me');
    return me.state === 'failed' && me.last_error ? s : false;
  }, { what: 'the self entry to fail' });
  const me = st.servers.find((x) => x.name === 'me');
  assert.match(me.last_error, /runs mcpzip with this same config/);
  // Only one nested mcpzip was ever started: no process tree growing under us.
  const mcpzips = taggedPids(sb.tag).filter((pid) => {
    try { return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('serve'); } catch { return false; }
  });
  assert.ok(mcpzips.length <= 2, `mcpzip processes: ${mcpzips.length}`);
  assert.deepEqual(await p.call('ping', {}), {});
});
