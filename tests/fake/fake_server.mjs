#!/usr/bin/env node
// A scriptable fake MCP upstream speaking newline-delimited JSON-RPC on stdio.
//
// It exists only for the faults real servers cannot be made to show: crashes mid-call, calls
// that never answer, garbage on stdout, paginated tools/list, list_changed on demand, and a
// record of every message it received (so tests can assert that notifications/cancelled
// arrived). Plain Node, no dependencies.
//
// Options (argv):
//   --name NAME              server name reported in serverInfo (default "fake")
//   --tools N                add N generated tools gen_0 .. gen_{N-1}
//   --page-size K            paginate tools/list: K tools per page, with nextCursor
//   --garbage                print non-JSON lines on stdout before every message it sends
//   --record FILE            append every received line to FILE (one JSON message per line)
//   --start-log FILE         append "<pid> <epoch ms> <argv json>" to FILE at start
//   --extra-tools-file FILE  each line of FILE (read at every tools/list) names an extra tool
//   --init-delay MS          wait MS before answering initialize
//   --no-init                never answer initialize
//   --fail-start             write the start log, print to stderr, exit 1 at once
//   --only-extra             list only the tools of --extra-tools-file (none if it is empty)
//   --noop                   ignored (a harmless value for ${VAR:-default} in test configs)
//
// Tools:
//   echo {message}          text content = message
//   sleep {ms}              answers "slept <ms>" after ms milliseconds (concurrent-safe)
//   hang {}                 never answers
//   crash {code?}           exits the process mid-call (default code 3)
//   fail {}                 a CallToolResult with isError: true and _meta
//   rich {}                 every content type + structuredContent + _meta
//   env {names?}            argv, cwd, pid and the named environment variables
//   add_tool {name}         appends name to --extra-tools-file, sends notifications/tools/list_changed
//   ask_client {}           sends a ping and an unsupported request to the client, returns the answers
//   hidden_echo {message}   callable but never listed in tools/list
//   flood {pings?, marker?} stops reading stdin for good, then sends `pings` ping requests
//                           (default 5000) and a burst of stderr lines, then creates the file
//                           `marker` if given; never answers: the client's replies pile up in
//                           a pipe nobody reads
import fs from 'node:fs';

const opts = {
  name: 'fake', tools: 0, pageSize: 0, garbage: false, record: null, startLog: null,
  extraToolsFile: null, initDelay: 0, noInit: false, failStart: false, onlyExtra: false,
};
{
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i++) {
    switch (a[i]) {
      case '--name': opts.name = a[++i]; break;
      case '--tools': opts.tools = Number(a[++i]); break;
      case '--page-size': opts.pageSize = Number(a[++i]); break;
      case '--garbage': opts.garbage = true; break;
      case '--record': opts.record = a[++i]; break;
      case '--start-log': opts.startLog = a[++i]; break;
      case '--extra-tools-file': opts.extraToolsFile = a[++i]; break;
      case '--init-delay': opts.initDelay = Number(a[++i]); break;
      case '--no-init': opts.noInit = true; break;
      case '--fail-start': opts.failStart = true; break;
      case '--only-extra': opts.onlyExtra = true; break;
      case '--noop': break;
      default: process.stderr.write(`fake: unknown option ${a[i]}\n`); break;
    }
  }
}

if (opts.startLog) {
  fs.appendFileSync(opts.startLog, `${process.pid} ${Date.now()} ${JSON.stringify(process.argv.slice(2))}\n`);
}
if (opts.failStart) {
  process.stderr.write('fake: --fail-start given, exiting with status 1\n');
  process.exit(1);
}

const SUPPORTED = ['2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25'];

// 256 bytes 0..255: any re-encoding or truncation of the base64 by the proxy shows up.
const ALL_BYTES_B64 = Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString('base64');

const RICH_RESULT = {
  content: [
    { type: 'text', text: 'rich: ünïcødé ✓ "quotes" \\ backslash\nnewline\ttab \u0001 control' },
    { type: 'image', data: ALL_BYTES_B64, mimeType: 'image/png', annotations: { audience: ['user'], priority: 0.5 } },
    { type: 'audio', data: ALL_BYTES_B64, mimeType: 'audio/wav' },
    { type: 'resource', resource: { uri: 'file:///tmp/fake.txt', mimeType: 'text/plain', text: 'embedded resource' } },
    { type: 'resource', resource: { uri: 'file:///tmp/fake.bin', mimeType: 'application/octet-stream', blob: ALL_BYTES_B64 } },
    { type: 'resource_link', uri: 'file:///tmp/linked.txt', name: 'linked.txt', description: 'a link', mimeType: 'text/plain' },
  ],
  structuredContent: { answer: 42, nested: { list: [1, 2.5, -3e-7, null, true, 'x'], empty: {} }, big: 12345678901234 },
  isError: false,
  _meta: { 'fake/trace': 'abc123', progressToken: null },
};

const BASE_TOOLS = [
  {
    name: 'echo', title: 'Fake Echo',
    description: 'Echo the message back unchanged. Used to check plain calls.',
    inputSchema: { type: 'object', properties: { message: { type: 'string', description: 'text to echo' } }, required: ['message'] },
    annotations: { readOnlyHint: true },
  },
  {
    name: 'sleep',
    description: 'Sleep for the given number of milliseconds, then answer. Used for concurrency tests.',
    inputSchema: { type: 'object', properties: { ms: { type: 'integer', minimum: 0 } }, required: ['ms'] },
  },
  {
    name: 'hang',
    description: 'Never answer this call. Used for timeout and cancellation tests.',
    inputSchema: { type: 'object', properties: {} },
  },
  {
    name: 'crash',
    description: 'Exit the server process in the middle of the call. Used for crash recovery tests.',
    inputSchema: { type: 'object', properties: { code: { type: 'integer' } } },
  },
  {
    name: 'fail',
    description: 'Return a tool result flagged as an error.',
    inputSchema: { type: 'object', properties: {} },
  },
  {
    name: 'rich',
    description: 'Return every content type with structured content and metadata.',
    inputSchema: { type: 'object', properties: {} },
    outputSchema: { type: 'object', properties: { answer: { type: 'number' } }, required: ['answer'] },
  },
  {
    name: 'env',
    description: 'Report argv, working directory and selected environment variables.',
    inputSchema: { type: 'object', properties: { names: { type: 'array', items: { type: 'string' } } } },
  },
  {
    name: 'add_tool',
    description: 'Add a tool to the list and notify the client that the list changed.',
    inputSchema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
  },
  {
    name: 'ask_client',
    description: 'Send a ping and an unsupported request to the client and report the answers.',
    inputSchema: { type: 'object', properties: {} },
  },
];

function currentTools() {
  const tools = opts.onlyExtra ? [] : [...BASE_TOOLS];
  for (let i = 0; i < opts.tools; i++) {
    tools.push({
      name: `gen_${i}`,
      description: `Generated tool number ${i} for pagination tests. It does nothing useful.`,
      inputSchema: { type: 'object', properties: { value: { type: 'string' } } },
    });
  }
  for (const n of extraToolNames()) {
    tools.push({
      name: n,
      description: `Extra tool ${n} read from the extra tools file.`,
      inputSchema: { type: 'object', properties: {} },
    });
  }
  return tools;
}

function extraToolNames() {
  if (!opts.extraToolsFile) return [];
  let text = '';
  try { text = fs.readFileSync(opts.extraToolsFile, 'utf8'); } catch { return []; }
  return text.split('\n').map((s) => s.trim()).filter(Boolean);
}

let garbageN = 0;
function send(msg) {
  let out = '';
  if (opts.garbage) {
    garbageN++;
    out += `fake garbage line ${garbageN}: this is not JSON {\n`;
    out += `}{ still not json ${garbageN}\n`;
  }
  out += JSON.stringify(msg) + '\n';
  process.stdout.write(out);
}

const result = (id, r) => send({ jsonrpc: '2.0', id, result: r });
const error = (id, code, message) => send({ jsonrpc: '2.0', id, error: { code, message } });
const text = (t) => ({ content: [{ type: 'text', text: t }] });

let nextOutId = 1;
const waiting = new Map(); // our requests to the client, by id
function askClient(method, params, ms = 5000) {
  const id = `fake-${nextOutId++}`;
  send({ jsonrpc: '2.0', id, method, ...(params ? { params } : {}) });
  return new Promise((resolve) => {
    const t = setTimeout(() => { waiting.delete(id); resolve({ timeout: true }); }, ms);
    waiting.set(id, (m) => { clearTimeout(t); resolve(m); });
  });
}

async function callTool(id, name, args) {
  args = args || {};
  switch (name) {
    case 'echo':
    case 'hidden_echo':
      return result(id, text(String(args.message)));
    case 'sleep': {
      const ms = Number(args.ms) || 0;
      setTimeout(() => result(id, text(`slept ${ms}`)), ms);
      return;
    }
    case 'hang':
      return; // never answer
    case 'flood': {
      process.stdin.pause();
      process.stdin.removeAllListeners('data');
      const n = Number.isInteger(args.pings) ? args.pings : 5000;
      for (let i = 0; i < n; i++) send({ jsonrpc: '2.0', id: `flood-${i}`, method: 'ping' });
      for (let i = 0; i < 200; i++) process.stderr.write(`fake: flood line ${i}\n`);
      if (typeof args.marker === 'string') fs.writeFileSync(args.marker, 'flooding\n');
      setInterval(() => {}, 1000); // stdin no longer keeps the process alive
      return; // never answer
    }
    case 'crash':
      process.stderr.write('fake: crashing on request\n');
      process.exit(Number.isInteger(args.code) ? args.code : 3);
      return;
    case 'fail':
      return result(id, { content: [{ type: 'text', text: 'failure requested' }], isError: true, _meta: { 'fake/reason': 'asked' } });
    case 'rich':
      return result(id, RICH_RESULT);
    case 'env': {
      const names = Array.isArray(args.names) ? args.names : [];
      const env = {};
      for (const n of names) env[n] = n in process.env ? process.env[n] : null;
      const s = { argv: process.argv.slice(2), cwd: process.cwd(), pid: process.pid, env };
      return result(id, { content: [{ type: 'text', text: JSON.stringify(s) }], structuredContent: s });
    }
    case 'add_tool': {
      if (!opts.extraToolsFile) return result(id, { ...text('no --extra-tools-file'), isError: true });
      fs.appendFileSync(opts.extraToolsFile, `${args.name}\n`);
      result(id, text(`added ${args.name}`));
      send({ jsonrpc: '2.0', method: 'notifications/tools/list_changed' });
      return;
    }
    case 'ask_client': {
      const [ping, unsupported] = await Promise.all([
        askClient('ping'),
        askClient('x-fake/unsupported', { q: 1 }),
      ]);
      const s = { ping, unsupported };
      return result(id, { content: [{ type: 'text', text: JSON.stringify(s) }], structuredContent: s });
    }
    default:
      if (/^gen_\d+$/.test(name) || extraToolNames().includes(name)) return result(id, text(`called ${name}`));
      return error(id, -32602, `Unknown tool: ${name}`);
  }
}

function handle(msg) {
  if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) return;
  if (msg.method === undefined) {
    // A response to one of our requests.
    const w = waiting.get(msg.id);
    if (w) { waiting.delete(msg.id); w(msg); }
    return;
  }
  const { id, method, params } = msg;
  const isRequest = id !== undefined;
  switch (method) {
    case 'initialize': {
      if (opts.noInit) return;
      const v = params && SUPPORTED.includes(params.protocolVersion) ? params.protocolVersion : '2025-11-25';
      const r = {
        protocolVersion: v,
        capabilities: { tools: { listChanged: true } },
        serverInfo: { name: opts.name, version: '1.0.0' },
      };
      if (opts.initDelay > 0) setTimeout(() => result(id, r), opts.initDelay);
      else result(id, r);
      return;
    }
    case 'ping':
      if (isRequest) result(id, {});
      return;
    case 'tools/list': {
      const all = currentTools();
      if (opts.pageSize > 0) {
        const start = params && params.cursor ? Number(Buffer.from(params.cursor, 'base64').toString()) : 0;
        const page = all.slice(start, start + opts.pageSize);
        const r = { tools: page };
        if (start + opts.pageSize < all.length) r.nextCursor = Buffer.from(String(start + opts.pageSize)).toString('base64');
        return result(id, r);
      }
      return result(id, { tools: all });
    }
    case 'tools/call':
      return void callTool(id, params && params.name, params && params.arguments);
    default:
      if (method.startsWith('notifications/')) return; // recorded already, nothing to answer
      if (isRequest) error(id, -32601, `Method not found: ${method}`);
  }
}

let buf = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buf += chunk;
  let nl;
  while ((nl = buf.indexOf('\n')) >= 0) {
    const line = buf.slice(0, nl);
    buf = buf.slice(nl + 1);
    if (!line.trim()) continue;
    if (opts.record) fs.appendFileSync(opts.record, line.trim() + '\n');
    let msg;
    try { msg = JSON.parse(line); } catch { process.stderr.write(`fake: bad JSON from client: ${line.slice(0, 80)}\n`); continue; }
    handle(msg);
  }
});
process.stdin.on('end', () => process.exit(0));
