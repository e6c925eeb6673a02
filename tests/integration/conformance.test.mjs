// The official MCP conformance suite in client mode. The suite starts its test server and runs
// tests/conformance/driver.mjs with the server's URL; the driver puts that server behind
// `mcpzip serve` as an http upstream, so the client under test is mcpzip's own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, NODE, MCPZIP } from './helpers.mjs';

const SUITE = path.join(ROOT, 'node_modules/@modelcontextprotocol/conformance/dist/index.js');
const DRIVER = path.join(ROOT, 'tests/conformance/driver.mjs');

export function runScenario(scenario) {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'mcpzip-conformance-'));
  try {
    const r = spawnSync(NODE, [SUITE, 'client', '--command', `${NODE} ${DRIVER}`, '--scenario', scenario,
      '--timeout', '60000', '-o', out], {
      cwd: ROOT, encoding: 'utf8', timeout: 120000, env: { ...process.env, MCPZIP_BIN: MCPZIP },
    });
    return { status: r.status, output: `${r.stdout}\n${r.stderr}` };
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

for (const scenario of ['initialize', 'tools_call', 'sse-retry', 'elicitation-sep1034-client-defaults']) {
  test(`conformance client scenario ${scenario}`, () => {
    const { status, output } = runScenario(scenario);
    // eslint-disable-next-line no-control-regex
    const plain = output.replace(/\x1b\[[0-9;]*m/g, '');
    assert.match(plain, /Passed: (\d+)\/\1, 0 failed, 0 warnings/, plain.slice(-4000));
    assert.match(plain, /OVERALL: PASSED/, plain.slice(-4000));
    assert.equal(status, 0, plain.slice(-4000));
  });
}
