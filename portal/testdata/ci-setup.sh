#!/usr/bin/env bash
# Installs what the portal tests need on a fresh Debian/Ubuntu CI machine:
# PostgreSQL (the tests run initdb and pg_ctl themselves, as the postgres
# user, on a private unix socket — no server is started here) and headless
# Chromium for the browser test. Run as root; .ci/run calls it.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" = 0 ]; then
  apt-get install -y -qq --no-install-recommends postgresql chromium fonts-dejavu-core >/dev/null
fi
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || { echo "missing initdb (postgresql)" >&2; exit 1; }
command -v chromium >/dev/null || command -v chromium-browser >/dev/null || { echo "missing chromium" >&2; exit 1; }
