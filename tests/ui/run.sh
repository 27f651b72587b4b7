#!/bin/sh
# The browser tests as ctest runs them: their npm packages (pinned in
# tests/ui/package-lock.json), then the tests against the UI the collector
# itself serves. Skipped (exit 77) when Debian's chromium is missing.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -x /usr/bin/chromium ]; then
  echo "skipped: /usr/bin/chromium is missing (deploy/setup-debian.sh test installs it)"
  exit 77
fi
if [ ! -d "$here/node_modules" ] || [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi
export HOPWIRE_UI_FROM=collector
exec node "$here/run.mjs"
