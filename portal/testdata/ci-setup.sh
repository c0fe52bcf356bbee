#!/usr/bin/env bash
# Installs what the portal tests need on a fresh Debian/Ubuntu CI machine:
# PostgreSQL (the tests run initdb and pg_ctl themselves, as the postgres
# user, on a private unix socket — no server is started here), headless
# Chromium for the browser tests, and axe-core from the npm registry (the
# version pinned in a11y/package-lock.json) for the accessibility test.
# Run as root; .ci/run calls it. Running it again changes nothing.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" = 0 ]; then
  apt-get install -y -qq --no-install-recommends postgresql chromium fonts-dejavu-core >/dev/null
  command -v npm >/dev/null || apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || { echo "missing initdb (postgresql)" >&2; exit 1; }
command -v chromium >/dev/null || command -v chromium-browser >/dev/null || { echo "missing chromium" >&2; exit 1; }
command -v npm >/dev/null || { echo "missing npm (for axe-core)" >&2; exit 1; }
a11y="$(cd "$(dirname "$0")/a11y" && pwd)"
want="$(node -p "require('$a11y/package-lock.json').packages['node_modules/axe-core'].version")"
have="$(node -p "require('$a11y/node_modules/axe-core/package.json').version" 2>/dev/null || true)"
if [ "$want" != "$have" ] || [ ! -s "$a11y/node_modules/axe-core/axe.min.js" ]; then
  npm ci --prefix "$a11y" --no-audit --no-fund --ignore-scripts >/dev/null
fi
test -s "$a11y/node_modules/axe-core/axe.min.js" || { echo "axe-core did not install" >&2; exit 1; }
