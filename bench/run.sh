#!/bin/sh
# bench/run.sh - build mcpzip and the benchmark tools, run every benchmark, print the table.
#
#   bench/run.sh [bench.py options]       e.g. bench/run.sh --json /tmp/bench.json
#
# The search data defaults to ../shared/search beside the repository (as in CI); override with
# MCPZIP_SHARED=DIR or --shared DIR. Takes about 2-3 minutes on a 2-core machine. See
# bench/README.md for what each number means.
set -eu
cd "$(dirname "$0")/.."

# Only our own targets: bench/search_bench.c has its own owner and its own runner.
make -s mcpzip build/bench/mcpdrive build/bench/upstream_echo build/bench/upstream_http \
    build/bench/httpdirect

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), kernel $(uname -r)"
echo "mcpzip:  $(./mcpzip version 2>/dev/null || echo '?'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- src 2>/dev/null || echo ' + uncommitted src changes')"
python3 bench/bench.py "$@"
echo
echo "remote (Streamable HTTP) upstream:"
python3 bench/http_bench.py
