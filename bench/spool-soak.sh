#!/usr/bin/env bash
# spool-soak.sh - kill -9 sealgate again and again under SMTP load and count
# what every accepted message became: delivered, lost or duplicated.
#
#   spoolsoak senders --SMTP--> 127.0.0.1 sealgate serve --SMTP--> 127.0.0.1 sink
#                               (killed with SIGKILL after a random time,
#                                started again, CYCLES times)
#
# The sink defers a share of the recipients with 451 and holds a share of
# the deliveries for 200 ms, so kills land while mail is queued, being
# retried and in flight. After the last cycle the load stops, the sink
# takes everything, and the gateway runs until every message answered 250
# has arrived (or DRAIN runs out); then it gets SIGTERM. The helper that
# drives it all is bench/spoolsoak (Go, built here).
#
# Knobs (environment):
#   CYCLES=50            kill -9 cycles
#   SENDERS=4            concurrent SMTP senders (five messages per connection)
#   SIZE=4096            message size in bytes
#   MIN_UP=300ms MAX_UP=1500ms   how long the gateway runs before each kill
#   DEFER=0.2 SLOW=0.05  share of recipients deferred, of deliveries held
#   MAX_MESSAGES=200000  most messages sent in the whole run
#   DRAIN=120s           longest wait for delivery after the last cycle
#   TMPBASE=/var/tmp     the data folder goes here: a real disk, not tmpfs
#   SEALGATE=""          a built binary; default: go build ../cmd/sealgate
#   KEEP=0               1 keeps the work folder (data, gateway.log); a failed run keeps it
#
# Prints what happened and a "RESULT cycles=… accepted=… delivered=… lost=…
# duplicated=…" line. Exits 0 when nothing accepted was lost and every
# start succeeded, 1 otherwise, 2 on a set-up error. Network: loopback only.
set -u
set -o pipefail

CYCLES=${CYCLES:-50}; SENDERS=${SENDERS:-4}; SIZE=${SIZE:-4096}
MIN_UP=${MIN_UP:-300ms}; MAX_UP=${MAX_UP:-1500ms}; DEFER=${DEFER:-0.2}; SLOW=${SLOW:-0.05}
MAX_MESSAGES=${MAX_MESSAGES:-200000}; DRAIN=${DRAIN:-120s}
TMPBASE=${TMPBASE:-/var/tmp}; SEALGATE=${SEALGATE:-}; KEEP=${KEEP:-0}
HERE=$(cd "$(dirname "$0")" && pwd)

die() { echo "spool-soak: $*" >&2; exit 2; }
command -v go >/dev/null 2>&1 || die "missing go"
[ "$(stat -f -c %T "$TMPBASE")" != tmpfs ] || die "$TMPBASE is tmpfs: fsync would be free"

W=$(mktemp -d "$TMPBASE/spoolsoak.XXXXXX") || die "mktemp failed"
# The work folder stays when asked to, or when the run failed (for gateway.log).
cleanup() {
  local rc=$?
  if [ "$KEEP" = 1 ] || [ "$rc" != 0 ]; then echo "spool-soak: kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
if [ -z "$SEALGATE" ]; then
  (cd "$HERE/.." && go build -o "$W/sealgate" ./cmd/sealgate) || die "go build sealgate failed"
  SEALGATE=$W/sealgate
fi
(cd "$HERE/.." && go build -o "$W/spoolsoak" ./bench/spoolsoak) || die "go build spoolsoak failed"

echo "spool-soak: $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $CYCLES cycles, $SENDERS senders, $SIZE bytes"
"$W/spoolsoak" -sealgate "$SEALGATE" -dir "$W" -cycles "$CYCLES" -senders "$SENDERS" -size "$SIZE" \
  -min-up "$MIN_UP" -max-up "$MAX_UP" -defer "$DEFER" -slow "$SLOW" \
  -max-messages "$MAX_MESSAGES" -drain "$DRAIN"
