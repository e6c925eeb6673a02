#!/usr/bin/env python3
"""bench.py - the mcpzip performance benchmarks (startup, search and execute latency, memory,
size, concurrency). Python 3 standard library only; the timing itself is done by the C driver
build/bench/mcpdrive (see bench/mcpdrive.c), Python only writes its scripts and reads its JSON.

Usage: python3 bench/bench.py [options]      (run from anywhere; bench/run.sh builds first)

  --bin PATH          mcpzip binary (default: <repo>/mcpzip)
  --build DIR         where mcpdrive and upstream_echo were built (default: <repo>/build/bench)
  --shared DIR        the search data (default: $MCPZIP_SHARED or <repo>/../shared/search)
  --tools N           take catalogs in name order until at least N tools (default 1000)
  --startup-runs N    cold starts to time (default 40)
  --queries N         distinct search queries (default 1200; the dev set plus generated ones)
  --calls N           execute_tool round trips, each paired with a direct one (default 2000)
  --bursts N          rounds of the 100-concurrent-calls test (default 3)
  --settle-ms N       pause after each cold start of the real config (default 300)
  --json FILE         also write every number as JSON
  --raw DIR           keep every raw sample (ns) there
  --keep              keep the temp dir (HOME, config, cache, logs, scripts)
  --only LIST         comma list of: size,startup,session (default all)

Every run uses a fresh temporary HOME with XDG_CACHE_HOME / XDG_CONFIG_HOME inside it, so the
user's own config and cache are never read or written.
"""
import argparse
import glob
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROTO = "2025-06-18"


def rpc(id_, method, params=None):
    m = {"jsonrpc": "2.0", "id": id_, "method": method}
    if params is not None:
        m["params"] = params
    return json.dumps(m, separators=(",", ":"), ensure_ascii=False)


def note(method, params=None):
    m = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        m["params"] = params
    return json.dumps(m, separators=(",", ":"))


INIT = rpc(1, "initialize", {"protocolVersion": PROTO, "capabilities": {},
                             "clientInfo": {"name": "mcpzip-bench", "version": "1"}})
INITIALIZED = note("notifications/initialized")


def tool_call(id_, name, arguments):
    return rpc(id_, "tools/call", {"name": name, "arguments": arguments})


class Ids:
    def __init__(self, start=100):
        self.n = start

    def __call__(self):
        self.n += 1
        return self.n


# ---------------------------------------------------------------------------------------------
# setup

def pick_catalogs(cat_dir, want):
    picked, total = [], 0
    for path in sorted(glob.glob(os.path.join(cat_dir, "*.json"))):
        if total >= want:
            break
        n = len(json.load(open(path, encoding="utf-8")))
        picked.append((os.path.splitext(os.path.basename(path))[0], path, n))
        total += n
    return picked, total


def make_env(tmp):
    home = os.path.join(tmp, "home")
    env = dict(os.environ)
    for k in list(env):
        if k.endswith("_API_KEY"):
            del env[k]
    env.update(HOME=home, XDG_CACHE_HOME=os.path.join(home, ".cache"),
               XDG_CONFIG_HOME=os.path.join(home, ".config"),
               XDG_DATA_HOME=os.path.join(home, ".local", "share"))
    env.pop("MCPZIP_LOG", None)  # the default log level, as a user would run it
    for d in ("HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME"):
        os.makedirs(env[d], exist_ok=True)
    return env


STOP = set("""a an the and or of to in on for with by from at as is are be this that it its
into your you can will when if not all any each which use used using will via per than then
their there these those such also more most other only one two may must should would could
been has have had was were do does did but so no yes new get set list""".split())


def words(text):
    return [w for w in re.findall(r"[A-Za-z][A-Za-z0-9]+", text or "")
            if len(w) >= 3 and w.lower() not in STOP]


def typo(word, rng):
    if len(word) < 5:
        return word
    i = rng.randrange(1, len(word) - 2)
    if rng.random() < 0.5:
        return word[:i] + word[i + 1:]            # a dropped letter
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]  # two letters swapped


def make_queries(shared, picked, n, seed=1):
    """The dev queries, then generated ones over the picked tools in five styles, all
    distinct; "limit" alternates between the default (5) and 10."""
    rng = random.Random(seed)
    out, seen = [], set()

    def add(q):
        q = " ".join(q.split())
        if q and q.lower() not in seen:
            seen.add(q.lower())
            out.append(q)

    dev = os.path.join(shared, "dev-queries.json")
    if os.path.exists(dev):
        for e in json.load(open(dev, encoding="utf-8")):
            add(e["query"])
    tools = []
    for server, path, _ in picked:
        for t in json.load(open(path, encoding="utf-8")):
            tools.append((server, t.get("name", ""), t.get("description") or ""))
    rng.shuffle(tools)
    style = 0
    while len(out) < n and style < 50 * n:
        server, name, desc = tools[style % len(tools)]
        dw = words(desc) or words(name.replace("_", " ").replace("-", " "))
        kind = style % 5
        style += 1
        if kind == 0 and dw:        # keywords from the description
            add(" ".join(rng.sample(dw, min(len(dw), rng.randint(2, 4)))).lower())
        elif kind == 1:             # the tool name as words
            add(re.sub(r"[_\-]+", " ", re.sub(r"([a-z])([A-Z])", r"\1 \2", name)).lower())
        elif kind == 2:             # an exact prefixed name
            add(f"{server}__{name}" if rng.random() < 0.5 else name)
        elif kind == 3 and dw:      # server-hinted
            add(f"{server}: " + " ".join(rng.sample(dw, min(len(dw), 2))).lower())
        elif kind == 4 and dw:      # typos
            add(" ".join(typo(w.lower(), rng) for w in rng.sample(dw, min(len(dw), 3))))
    return out[:n]


def run_drive(args, script, tmp, tag, env, timeout):
    path = os.path.join(tmp, f"{tag}.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        for op in script:
            f.write(json.dumps(op, ensure_ascii=False) + "\n")
    cmd = [os.path.join(args.build, "mcpdrive"), path]
    if args.raw:
        d = os.path.join(args.raw, tag)
        os.makedirs(d, exist_ok=True)
        cmd.append(d)
    t0 = time.monotonic()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    wall = time.monotonic() - t0
    if p.returncode != 0:
        sys.stderr.write(p.stderr)
        raise SystemExit(f"bench: the {tag} driver failed (exit {p.returncode}); logs in {tmp}")
    if p.stderr.strip():
        sys.stderr.write(p.stderr)
    res = json.loads(p.stdout)
    res["wall_s"] = wall
    return res


# ---------------------------------------------------------------------------------------------
# the benchmarks

def bench_size(args):
    out = {}
    fd, tmpbin = tempfile.mkstemp(prefix="mcpzip-stripped-")
    os.close(fd)
    try:
        subprocess.run(["strip", "-o", tmpbin, args.bin], check=True)
        out["stripped_bytes"] = os.stat(tmpbin).st_size
    finally:
        os.unlink(tmpbin)
    out["unstripped_bytes"] = os.stat(args.bin).st_size
    ldd = subprocess.run(["ldd", args.bin], capture_output=True, text=True).stdout
    libs = [l.split()[0] for l in ldd.splitlines() if l.strip()]
    out["ldd_lines"] = len(libs)
    out["ldd_libs"] = libs
    out["ldd_needed"] = [l for l in libs if not l.startswith(("linux-vdso", "/lib64/ld-linux"))]
    return out


def warm_cache(args, env, tmp, cfg_path, expect_servers):
    """Runs the proxy once until every server is loaded, then stops it so it saves the cache."""
    ids = Ids(10)
    status = tool_call(ids(), "proxy_status", {})
    script = [
        {"op": "spawn", "as": "px", "argv": [args.bin, "serve", "--config", cfg_path],
         "stderr": os.path.join(tmp, "warm.log")},
        {"op": "call", "to": "px", "line": INIT},
        {"op": "send", "to": "px", "line": INITIALIZED},
        {"op": "until", "to": "px", "line": status, "absent": "connecting",
         "timeout_ms": 90000, "interval_ms": 250},
        {"op": "until", "to": "px", "line": status, "absent": "not loaded",
         "timeout_ms": 30000, "interval_ms": 250},
        {"op": "sleep", "ms": 1500},
        {"op": "close", "who": "px"},
    ]
    run_drive(args, script, tmp, "warm", env, 180)
    caches = glob.glob(os.path.join(env["XDG_CACHE_HOME"], "mcpzip", "catalog-*.json"))
    if len(caches) != 1:
        raise SystemExit(f"bench: expected one catalog cache, found {caches}")
    nservers, ntools = cache_counts(caches[0])
    if nservers is not None and nservers != expect_servers:
        print(f"bench: warning: the cache holds {nservers} servers, expected {expect_servers}",
              file=sys.stderr)
    return {"cache_file": caches[0], "cache_bytes": os.stat(caches[0]).st_size,
            "cache_servers": nservers, "cache_tools": ntools}


def cache_counts(path):
    """Servers and tools in the cache file, read leniently (the format may change). Format 2 is
    a summary line {"summary": {name: {"tools": n}}} and then a line per tool; earlier formats
    held {"servers": {name: [tools]}}. (None, None) when it cannot tell."""
    best = (None, None)
    for line in open(path, encoding="utf-8"):
        try:
            d = json.loads(line)
        except ValueError:
            continue
        if not isinstance(d, dict):
            continue
        for key in ("summary", "servers"):
            servers = d.get(key)
            if not isinstance(servers, dict):
                continue
            n = 0
            for v in servers.values():
                if isinstance(v, dict):
                    v = v.get("tools")
                n += len(v) if isinstance(v, list) else v if isinstance(v, int) else 0
            if best[1] is None or n > best[1]:
                best = (len(servers), n)
    return best


def bench_startup(args, env, tmp, cfg_path, cache_file):
    """Cold starts from the warm cache, three ways:
    - "startup": the real config. Right after answering initialize mcpzip starts refreshing
      every server, so the first search competes for the CPU with ~50 Python upstreams starting
      (as it would with real servers, which are mostly heavier Node processes);
    - "startup_quiet": the same catalog behind a config whose servers are `true` (spawned, they
      exit at once): mcpzip's own work plus the cost of forking 50 children;
    - "startup_alone": the same with every server's command missing (exec fails at once, the
      cached tools stay searchable as stale): no child runs, only loading the cache and
      building the index. (Disabled servers would not do: their cached tools are hidden.)
    The quiet and alone configs get a copy of the warm cache file (it is named by a hash of the
    config path, see catalog_cache_path); if that naming changes their first search finds
    nothing and the report shows errors."""
    ids = Ids(1000)
    then = [INITIALIZED, tool_call(ids(), "search_tools", {"query": "create a github issue"})]
    common = {"op": "startup", "line": INIT, "runs": 1, "then": then,
              "then_expect": "github__create_issue"}
    variants = [
        # The floor: the same harness starting a trivial C MCP server (exec + ld.so + pipes).
        {"op": "startup", "argv": [os.path.join(args.build, "upstream_echo")], "line": INIT,
         "runs": 1, "settle_ms": 20, "timed": "floor_startup",
         "stderr": os.path.join(tmp, "startup-floor.log")},
        dict(common, argv=[args.bin, "serve", "--config", cfg_path], timed="startup",
             then_timed="startup_first_search", settle_ms=args.settle_ms,
             stderr=os.path.join(tmp, "startup.log")),
    ]
    for variant in ("quiet", "alone"):
        path = os.path.join(env["XDG_CONFIG_HOME"], f"mcpzip-bench-{variant}.json")
        cfg = json.load(open(cfg_path, encoding="utf-8"))
        for srv in cfg["mcpServers"].values():
            if variant == "quiet":
                srv["command"], srv["args"] = "true", []
            else:
                srv["command"], srv["args"] = "/nonexistent/mcpzip-bench-no-such-command", []
        with open(path, "w", encoding="utf-8") as f:
            json.dump(cfg, f, indent=1)
        shutil.copyfile(cache_file, os.path.join(os.path.dirname(cache_file), "catalog-%s.json" %
                                                 hashlib.sha256(path.encode()).hexdigest()[:16]))
        variants.append(dict(common, argv=[args.bin, "serve", "--config", path],
                             timed=f"startup_{variant}",
                             then_timed=f"startup_{variant}_first_search", settle_ms=100,
                             stderr=os.path.join(tmp, f"startup-{variant}.log")))
    # Round-robin, so that load from other processes hits every variant alike. The first three
    # rounds end each proxy by closing its stdin (timing the exit); later ones use SIGKILL.
    script = []
    for i in range(args.startup_runs):
        for v in variants:
            script.append(dict(v, graceful_runs=1 if i < 3 else 0))
    return run_drive(args, script, tmp, "startup", env, 300)


def bench_session(args, env, tmp, cfg_path, queries, catalogs):
    ids = Ids(100000)
    rng = random.Random(7)
    px_argv = [args.bin, "serve", "--config", cfg_path]
    status = tool_call(ids(), "proxy_status", {})
    script = [
        {"op": "spawn", "as": "px", "argv": px_argv, "stderr": os.path.join(tmp, "session.log")},
        {"op": "call", "to": "px", "line": INIT},
        {"op": "rss", "of": "px", "label": "after_initialize"},
        {"op": "send", "to": "px", "line": INITIALIZED},
        {"op": "until", "to": "px", "line": status, "absent": "connecting",
         "timeout_ms": 90000, "interval_ms": 250},
        {"op": "until", "to": "px", "line": status, "absent": "not loaded",
         "timeout_ms": 30000, "interval_ms": 250},
        {"op": "sleep", "ms": 1500},
        {"op": "rss", "of": "px", "label": "idle_loaded"},
    ]

    def search(a, timed=None):
        op = {"op": "call", "to": "px", "line": tool_call(ids(), "search_tools", a)}
        if timed:
            op["timed"] = timed
        return op

    def cpu(label):
        return {"op": "cpu", "of": "px", "label": label}

    # Warm-up with other words (the first search after the refresh rebuilds the index). Then
    # "search": every query once, each new to the index's query cache. Then "search_repeat":
    # 30 of them over and over, answered from the query cache (256 entries), which measures
    # everything around the ranking: JSON-RPC, result formatting, pipes. mcpzip's CPU time is
    # read before and after each pass.
    script += [search({"query": f"warm up {w}"}) for w in
               ("files", "issue", "page", "query", "deploy", "user", "email", "chart")]
    script.append(cpu("search_start"))
    for q in queries:
        a = {"query": q}
        if rng.random() < 0.5:
            a["limit"] = 10
        script.append(search(a, "search"))
    script.append(cpu("search_end"))
    script += [search({"query": q}) for q in queries[:30]]
    script.append(cpu("repeat_start"))
    for i in range(len(queries)):
        script.append(search({"query": queries[i % 30]}, "search_repeat"))
    script.append(cpu("repeat_end"))
    script.append({"op": "rss", "of": "px", "label": "after_search"})

    # execute_tool: the same tools/call through mcpzip and straight to the same kind of
    # upstream process, interleaved so drift and noise hit both alike.
    github = next((p for s, p, _ in catalogs if s == "github"), None)
    script += [
        {"op": "spawn", "as": "up", "argv": [os.path.join(args.build, "upstream_echo")]},
        {"op": "call", "to": "up", "line": INIT},
        {"op": "send", "to": "up", "line": INITIALIZED},
    ]
    if github:
        script += [
            {"op": "spawn", "as": "rp", "argv": [sys.executable, args.replay, github]},
            {"op": "call", "to": "rp", "line": INIT},
            {"op": "send", "to": "rp", "line": INITIALIZED},
        ]
    for i in range(500):  # ping: the floor of a round trip through mcpzip
        script.append({"op": "call", "to": "px", "timed": "ping_proxy",
                       "line": rpc(ids(), "ping")})
        script.append({"op": "call", "to": "up", "timed": "ping_direct",
                       "line": rpc(ids(), "ping")})
    for i in range(100):  # warm-up, untimed
        script.append({"op": "call", "to": "px", "line": tool_call(
            ids(), "execute_tool", {"name": "bench__echo", "arguments": {"text": "w"}})})
        script.append({"op": "call", "to": "up", "line": tool_call(ids(), "echo", {"text": "w"})})
    script.append(cpu("exec_start"))
    for i in range(args.calls):
        text = f"hello {i}"
        script.append({"op": "call", "to": "px", "timed": "exec_proxy", "line": tool_call(
            ids(), "execute_tool", {"name": "bench__echo", "arguments": {"text": text}})})
        script.append({"op": "call", "to": "up", "timed": "exec_direct",
                       "line": tool_call(ids(), "echo", {"text": text})})
    script.append(cpu("exec_end"))
    if github:
        gargs = {"owner": "octo", "repo": "bench", "title": "benchmark issue"}
        for i in range(args.calls // 4):
            script.append({"op": "call", "to": "px", "timed": "exec_proxy_replay", "line":
                           tool_call(ids(), "execute_tool",
                                     {"name": "github__create_issue", "arguments": gargs})})
            script.append({"op": "call", "to": "rp", "timed": "exec_direct_replay",
                           "line": tool_call(ids(), "create_issue", gargs)})
    script.append({"op": "rss", "of": "px", "label": "after_execute"})

    # Concurrency: calls to a tool that sleeps 100 ms, all written at once.
    def burst(n, name, to="px"):
        if to == "px":
            lines = [tool_call(ids(), "execute_tool",
                               {"name": "bench__sleep", "arguments": {"ms": 100}})
                     for _ in range(n)]
        else:
            lines = [tool_call(ids(), "sleep", {"ms": 100}) for _ in range(n)]
        return {"op": "burst", "to": to, "timed": name, "lines": lines}

    for _ in range(args.bursts):
        script += [burst(100, "burst100_direct", "up"), {"op": "sleep", "ms": 200},
                   burst(100, "burst100"), {"op": "sleep", "ms": 200},
                   burst(64, "burst64"), {"op": "sleep", "ms": 200}]
    script += [
        {"op": "rss", "of": "px", "label": "end"},
        {"op": "close", "who": "px", "timed": "shutdown"},
        {"op": "close", "who": "up"},
    ]
    if github:
        script.append({"op": "close", "who": "rp"})
    return run_drive(args, script, tmp, "session", env, 600)


# ---------------------------------------------------------------------------------------------
# report

def cpu_times():
    """(busy, steal, total) jiffies from the first line of /proc/stat."""
    try:
        f = [int(x) for x in open("/proc/stat", encoding="utf-8").readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = f[3] + (f[4] if len(f) > 4 else 0)
    steal = f[7] if len(f) > 7 else 0
    return (sum(f) - idle, steal, sum(f))


def machine():
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in open("/proc/meminfo", encoding="utf-8"):
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) // 1024} MiB"
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0
    return {"nproc": os.cpu_count(), "cpu": cpu, "kernel": os.uname().release, "mem": mem,
            "load1_before": round(load, 2)}


def us(ns):
    return ns / 1000.0


def ms(ns):
    return ns / 1e6


def fmt_stats(s, unit):
    f = us if unit == "us" else ms
    dec = 1 if unit == "us" else 2
    return (f"{f(s['p50']):.{dec}f} / {f(s['p90']):.{dec}f} / {f(s['p99']):.{dec}f} "
            f"(min {f(s['min']):.{dec}f}, max {f(s['max']):.{dec}f}) {unit}")


def failed(st, name):
    f = st.get(name + "/failed")
    return f" [{f['n']} runs died or hung: see stderr]" if f else ""


def errs(s):
    return f" [{s['errors']} errors]" if s.get("errors") else ""


def report(r):
    rows = []  # (metric, value, target, verdict)

    def verdict(ok):
        return "ok" if ok else "OFF TARGET"

    m = r["machine"]
    print()
    print(f"machine: {m['nproc']} CPUs, {m['cpu']}, kernel {m['kernel']}, {m['mem']} RAM, "
          f"load avg before {m['load1_before']}, after {m.get('load1_after', '?')}; all CPUs "
          f"{m.get('cpu_busy_during_pct', '?')}% busy during the run (this benchmark included), "
          f"steal {m.get('steal_during_pct', '?')}%")
    if "setup" in r:
        s = r["setup"]
        print(f"catalog: {s['servers']} real catalogs (first by name) = {s['tools']} tools, plus "
              f"the 2-tool bench upstream; warm cache {s['cache_bytes'] / 1e6:.2f} MB, "
              f"{s['cache_tools'] if s['cache_tools'] is not None else '?'} tools")
    if "startup" in r:
        st = r["startup"]["stats"]
        s = st["startup"]
        rows.append(("startup: exec -> initialize response, median / p90",
                     f"{ms(s['p50']):.2f} / {ms(s['p90']):.2f} ms (min {ms(s['min']):.2f}, "
                     f"n={s['n']})" +
                     failed(st, "startup"), "< 5 ms median", verdict(ms(s['p50']) < 5)))
        f = st["startup_first_search"]
        rows.append(("startup: exec -> first search_tools answer, median / p90",
                     f"{ms(f['p50']):.1f} / {ms(f['p90']):.1f} ms" + errs(f), "", ""))
        for v, label in (("quiet", "servers are `true` (50 forks, no CPU contention)"),
                         ("alone", "servers missing (no child: load + index only)")):
            q, qf = st.get(f"startup_{v}"), st.get(f"startup_{v}_first_search")
            if q is None or qf is None:
                rows.append((f"  {label}", "no run answered" + failed(st, f"startup_{v}"), "",
                             ""))
                continue
            rows.append((f"  {label}: init / first search, median (p90)",
                         f"{ms(q['p50']):.2f} / {ms(qf['p50']):.1f} ms ({ms(q['p90']):.2f} / "
                         f"{ms(qf['p90']):.1f})" + errs(qf) + failed(st, f"startup_{v}"), "", ""))
        fl = st["floor_startup"]
        rows.append(("  floor: exec -> initialize of a trivial C server (harness+exec+ld.so)",
                     f"{ms(fl['p50']):.2f} / {ms(fl['p90']):.2f} ms", "", ""))
        h, ha = st["startup/hwm_kb"], st.get("startup_alone/hwm_kb")
        rows.append(("startup: VmHWM after the first search (cache loaded, index built)",
                     f"{h['p50'] / 1024:.1f} MiB" + (f" (servers missing: {ha['p50'] / 1024:.1f} MiB)"
                                                    if ha else ""), "", ""))
        e = st["startup/exit"]
        rows.append(("startup: stdin closed right after the first search -> exit",
                     f"{ms(e['p50']):.1f} ms (max {ms(e['max']):.1f}, n={e['n']})", "", ""))
    if "session" in r:
        st = r["session"]["stats"]
        s = st["search"]
        rows.append(("search_tools round trip, median / p90 / p99",
                     fmt_stats(s, "us") + f" n={s['n']}", "< 200 us (want < 100 us)",
                     verdict(us(s['p50']) < 200) + ("" if us(s['p50']) < 100 else
                                                   " (>100 us)")))
        s = st["search_repeat"]
        rows.append(("  30 queries over and over (query cache hits: all but the ranking)",
                     fmt_stats(s, "us") + f" n={s['n']}", "", ""))
        p, d = st["exec_proxy"], st["exec_direct"]
        added = p["p50"] - d["p50"]
        rows.append(("execute_tool via mcpzip -> C echo upstream, median / p90 / p99",
                     fmt_stats(p, "us") + f" n={p['n']}", "", ""))
        rows.append(("  same tools/call direct to the C echo upstream",
                     fmt_stats(d, "us"), "", ""))
        rows.append(("  added latency (median difference)", f"{us(added):.1f} us",
                     "< 200 us", verdict(us(added) < 200)))
        if "exec_proxy_replay" in st:
            p2, d2 = st["exec_proxy_replay"], st["exec_direct_replay"]
            rows.append(("  same with replay_server.py (github__create_issue), via / direct",
                         f"{us(p2['p50']):.1f} / {us(d2['p50']):.1f} us -> added "
                         f"{us(p2['p50'] - d2['p50']):.1f} us", "", ""))
        rows.append(("ping round trip via mcpzip / to the C upstream (harness floor)",
                     f"{us(st['ping_proxy']['p50']):.1f} / {us(st['ping_direct']['p50']):.1f} us",
                     "", ""))
        rss = {e["label"]: e for e in r["session"]["rss"]}

        def cpu_per(a, b, n, key="cpu_ns"):
            if a not in rss or b not in rss or rss[a][key] < 0 or n == 0:
                return None
            return (rss[b][key] - rss[a][key]) / n / 1000.0

        c1 = cpu_per("search_start", "search_end", st["search"]["n"])
        c2 = cpu_per("repeat_start", "repeat_end", st["search_repeat"]["n"])
        c3 = cpu_per("exec_start", "exec_end", st["exec_proxy"]["n"], "stat_cpu_ns")
        if c1 is not None and c2 is not None:
            rows.append(("mcpzip CPU time per search_tools: new query / cached query",
                         f"{c1:.1f} / {c2:.1f} us (all threads, schedstat)", "", ""))
        if c3 is not None:
            rows.append(("mcpzip CPU time per execute_tool (utime+stime, 10 ms ticks)",
                         f"{c3:.1f} us", "", ""))
        rows.append(("RSS right after initialize (catalog loading lazily) (VmRSS)",
                     f"{rss['after_initialize']['vmrss_kb'] / 1024:.1f} MiB", "", ""))
        rows.append(("idle RSS, 1,000 tools loaded and refreshed (VmRSS; VmHWM so far)",
                     f"{rss['idle_loaded']['vmrss_kb'] / 1024:.1f} MiB "
                     f"({rss['idle_loaded']['vmhwm_kb'] / 1024:.1f} MiB)", "", ""))
        hwm = rss["end"]["vmhwm_kb"]
        rows.append(("peak RSS after search + execute + bursts (VmHWM)",
                     f"{hwm / 1024:.1f} MiB (VmRSS now {rss['end']['vmrss_kb'] / 1024:.1f} MiB)",
                     "< 8 MB", verdict(hwm < 8 * 1024)))
        rows.append(("  VmHWM after the search load / after execute",
                     f"{rss['after_search']['vmhwm_kb'] / 1024:.1f} / "
                     f"{rss['after_execute']['vmhwm_kb'] / 1024:.1f} MiB", "", ""))
        b, b64, bd = st["burst100"], st["burst64"], st["burst100_direct"]
        rows.append(("100 concurrent execute_tool, each sleeping 100 ms: wall time",
                     f"{ms(b['p50']):.1f} ms (runs {b['n']}, errors in "
                     f"{int(st['burst100/each']['errors'] / b['n'])}/100 responses)",
                     "~100 ms, no errors",
                     verdict(ms(b['p50']) < 200 and st['burst100/each']['errors'] == 0)))
        rows.append(("  64 concurrent via mcpzip / 100 direct to the upstream",
                     f"{ms(b64['p50']):.1f} ms (errors {int(st['burst64/each']['errors'])}) / "
                     f"{ms(bd['p50']):.1f} ms", "", ""))
        rows.append(("stdin closed -> exit after the session",
                     f"{ms(st['shutdown']['p50']):.1f} ms", "", ""))
    if "size" in r:
        s = r["size"]
        rows.append(("stripped binary size", f"{s['stripped_bytes']:,} bytes "
                     f"({s['stripped_bytes'] / 1024:.0f} KiB)", "", ""))
        rows.append(("ldd", f"{s['ldd_lines']} lines: " + ", ".join(
            os.path.basename(l) for l in s["ldd_libs"]), "", ""))
    w = max(len(x[0]) for x in rows)
    v = max(len(x[1]) for x in rows)
    print()
    print(f"{'metric':<{w}}  {'value':<{v}}  target")
    print(f"{'-' * w}  {'-' * v}  {'-' * 20}")
    for name, val, target, ok in rows:
        print(f"{name:<{w}}  {val:<{v}}  {target}{'  ' + ok if ok else ''}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(REPO, "mcpzip"))
    ap.add_argument("--build", default=os.path.join(REPO, "build", "bench"))
    ap.add_argument("--shared", default=os.environ.get(
        "MCPZIP_SHARED", os.path.join(os.path.dirname(REPO), "shared", "search")))
    ap.add_argument("--tools", type=int, default=1000)
    ap.add_argument("--startup-runs", type=int, default=40)
    ap.add_argument("--settle-ms", type=int, default=300)
    ap.add_argument("--queries", type=int, default=1200)
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--bursts", type=int, default=3)
    ap.add_argument("--json")
    ap.add_argument("--raw")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--only", default="size,startup,session")
    args = ap.parse_args()
    args.bin = os.path.abspath(args.bin)
    args.build = os.path.abspath(args.build)
    args.shared = os.path.abspath(args.shared)
    args.replay = os.path.join(args.shared, "replay_server.py")
    only = set(args.only.split(","))
    for f in (args.bin, os.path.join(args.build, "mcpdrive"),
              os.path.join(args.build, "upstream_echo")):
        if not os.access(f, os.X_OK):
            raise SystemExit(f"bench: {f} is missing; run bench/run.sh (it builds everything)")
    if not os.path.exists(args.replay):
        raise SystemExit(f"bench: no search data at {args.shared}; pass --shared DIR or set "
                         "MCPZIP_SHARED")

    r = {"machine": machine()}
    t_cpu = cpu_times()
    tmp = tempfile.mkdtemp(prefix="mcpzip-bench-")
    ok = False
    try:
        # Benchmark a private copy: the binary in the work tree may be rebuilt meanwhile.
        r["binary"] = {"path": args.bin, "mtime": time.strftime(
            "%Y-%m-%dT%H:%M:%S", time.localtime(os.stat(args.bin).st_mtime))}
        shutil.copy2(args.bin, os.path.join(tmp, "mcpzip"))
        args.bin = os.path.join(tmp, "mcpzip")
        if "size" in only:
            r["size"] = bench_size(args)
        env = make_env(tmp)
        if only & {"startup", "session"}:
            picked, total = pick_catalogs(os.path.join(args.shared, "catalogs"), args.tools)
            servers = {s: {"command": sys.executable, "args": [args.replay, p]}
                       for s, p, _ in picked}
            servers["bench"] = {"command": os.path.join(args.build, "upstream_echo"), "args": []}
            cfg_path = os.path.join(env["XDG_CONFIG_HOME"], "mcpzip-bench.json")
            with open(cfg_path, "w", encoding="utf-8") as f:
                json.dump({"mcpServers": servers}, f, indent=1)
            t0 = time.monotonic()
            print(f"bench: warming the cache: {len(picked)} catalogs, {total} tools ...",
                  file=sys.stderr)
            r["setup"] = {"servers": len(picked), "tools": total, "config": cfg_path}
            r["setup"].update(warm_cache(args, env, tmp, cfg_path, len(servers)))
            print(f"bench:   done in {time.monotonic() - t0:.1f} s", file=sys.stderr)
        if "startup" in only:
            print(f"bench: startup x{args.startup_runs} ...", file=sys.stderr)
            r["startup"] = bench_startup(args, env, tmp, cfg_path, r["setup"]["cache_file"])
            print(f"bench:   done in {r['startup']['wall_s']:.1f} s", file=sys.stderr)
        if "session" in only:
            queries = make_queries(args.shared, picked, args.queries)
            r["setup"]["queries"] = len(queries)
            print(f"bench: session: {len(queries)} queries, {args.calls} execute pairs, "
                  f"{args.bursts}x bursts ...", file=sys.stderr)
            r["session"] = bench_session(args, env, tmp, cfg_path, queries, picked)
            print(f"bench:   done in {r['session']['wall_s']:.1f} s", file=sys.stderr)
        ok = True
        t_end = cpu_times()
        if t_cpu and t_end and t_end[2] > t_cpu[2]:
            d = [b - a for a, b in zip(t_cpu, t_end)]
            r["machine"]["cpu_busy_during_pct"] = round(100 * d[0] / d[2], 1)
            r["machine"]["steal_during_pct"] = round(100 * d[1] / d[2], 1)
        r["machine"]["load1_after"] = round(os.getloadavg()[0], 2)
    finally:
        if args.keep or not ok:
            print(f"bench: kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    report(r)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(r, f, indent=1)


if __name__ == "__main__":
    main()
