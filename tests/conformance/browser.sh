#!/bin/sh
# The "browser" for authorization tests: the authorization servers used there redirect at once
# to the redirect_uri, so following the redirects delivers the code to mcpzip's own loopback
# callback. curl when installed, else Node's fetch ($TEST_BROWSER_NODE, else node on PATH).
if command -v curl >/dev/null 2>&1; then
    exec curl -s -L -o /dev/null --max-time 20 "$1"
fi
exec "${TEST_BROWSER_NODE:-node}" -e \
    'fetch(process.argv[1], {signal: AbortSignal.timeout(20000)}).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' \
    "$1"
