#!/usr/bin/env python3
"""HTTP upstream benchmark: execute_tool overhead over calling the same Streamable HTTP server
directly, and 100 concurrent calls.

The upstream is bench/upstream_http.c (C, keep-alive, plain JSON). The baseline is
bench/httpdirect.c: tools/call posted straight to it through mcpzip's own HTTP client. The
measured path is a client on mcpzip's stdio (bench/mcpdrive.c) calling execute_tool, which mcpzip
posts to the same server. "Added" is the difference of the medians; it includes the stdio hop
(a ping round trip through mcpzip is ~20 us, see bench/README.md).

Usage: python3 bench/http_bench.py [--calls N]   (after `make bench`)
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build", "bench")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--bin", default=os.path.join(ROOT, "mcpzip"))
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="mcpzip-httpbench-")
    env = dict(os.environ, HOME=tmp, XDG_CACHE_HOME=os.path.join(tmp, "cache"),
               XDG_CONFIG_HOME=os.path.join(tmp, "config"))
    for k in list(env):
        if k.endswith("_API_KEY") or k.startswith("MCPZIP_"):
            del env[k]
    up = subprocess.Popen([os.path.join(BUILD, "upstream_http"), "0"], stdout=subprocess.PIPE,
                          text=True)
    try:
        port = int(up.stdout.readline().split()[1])
        url = f"http://127.0.0.1:{port}/mcp"
        direct = subprocess.run([os.path.join(BUILD, "httpdirect"), url, str(args.calls)],
                                capture_output=True, text=True, check=True).stdout.split()
        direct = {k: float(v) for k, v in (x.split("=") for x in direct)}
        cfg = os.path.join(tmp, "config.json")
        with open(cfg, "w") as f:
            json.dump({"mcpServers": {"h": {"type": "http", "url": url}}}, f)
        init = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "bench", "version": "1"}}})
        status = json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                             "params": {"name": "proxy_status", "arguments": {}}})

        def call(i, name, a):
            return json.dumps({"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": {
                "name": "execute_tool", "arguments": {"name": name, "arguments": a}}})
        script = [
            {"op": "spawn", "as": "px", "argv": [args.bin, "serve", "--config", cfg],
             "stderr": os.path.join(tmp, "mcpzip.log")},
            {"op": "call", "to": "px", "line": init},
            {"op": "send", "to": "px", "line": json.dumps(
                {"jsonrpc": "2.0", "method": "notifications/initialized"})},
            {"op": "until", "to": "px", "line": status, "absent": "not loaded",
             "present": "connected", "timeout_ms": 20000, "interval_ms": 50},
        ]
        script += [{"op": "call", "to": "px", "line": call(1000 + i, "h__echo", {}),
                    "timed": "warm" if i < 50 else "via"} for i in range(args.calls + 50)]
        for r in range(3):
            script.append({"op": "burst", "to": "px", "timed": "burst100", "lines": [
                call(100000 + r * 1000 + i, "h__sleep", {"ms": 100}) for i in range(100)]})
        script.append({"op": "close", "who": "px"})
        path = os.path.join(tmp, "script.jsonl")
        with open(path, "w") as f:
            f.write("\n".join(json.dumps(op) for op in script) + "\n")
        out = subprocess.run([os.path.join(BUILD, "mcpdrive"), path], capture_output=True,
                             text=True, env=env, check=True).stdout
        stats = json.loads(out)["stats"]
        via, burst = stats["via"], stats["burst100"]
        print(f"direct tools/call (mcpzip's HTTP client): median {direct['p50_us']:.1f} us, "
              f"p90 {direct['p90_us']:.1f}, p99 {direct['p99_us']:.1f}")
        print(f"execute_tool via mcpzip (stdio -> HTTP): median {via['p50'] / 1000:.1f} us, "
              f"p90 {via['p90'] / 1000:.1f}, p99 {via['p99'] / 1000:.1f}, errors {via['errors']}")
        print(f"added latency (median difference): {via['p50'] / 1000 - direct['p50_us']:.1f} us "
              f"(target < 300 us)")
        print(f"100 concurrent execute_tool, each sleeping 100 ms: wall {burst['p50'] / 1e6:.1f} ms "
              f"median of {burst['n']} runs, errors {burst['errors']}")
    finally:
        up.kill()
        up.wait()


if __name__ == "__main__":
    sys.exit(main())
