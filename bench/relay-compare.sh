#!/usr/bin/env bash
# relay-compare.sh - sealgate against Postfix as an outbound relay, same
# harness, same run, interleaved (P S P S ...), on loopback only.
#
#   smtp-source (C lanes, MPS msgs/session) --> 127.0.0.1:PORT_A  MTA under test
#        --> 127.0.0.1:PORT_B  smtp-sink (discards, counts)
#
# Both MTAs are driven by identical code (lanes, sink, drain, measure) and
# run with the same durability (250 only after fsync on a disk-backed
# filesystem), no TLS and no DKIM on either side, a log line per delivery,
# and at most 20 outbound connections to the sink with reuse. sealgate runs
# with its PHI scan and spool encryption on (they cannot be switched off).
#
# Knobs (environment):
#   N=20000 SIZE=5120 C=20 MPS=100   as in ../shared/bench/postfix-relay.sh
#   ROUNDS=3                         runs per MTA, interleaved
#   PORT_A=20025 PORT_B=20026        MTA and sink ports (127.0.0.1)
#   PORT_M=20027                     sealgate's metrics (queue size for the drain check)
#   TIMEOUT=600                      seconds per run for inject + drain
#   TMPBASE=/var/tmp                 must be a real disk (not tmpfs)
#   MTAS="postfix sealgate"          which MTAs to run
#   SEALGATE=""                      a built binary; default: go build ../cmd/sealgate
#
# Prints one "RESULT mta=... e2e_mps=..." line per run, then medians with
# min-max and the ratio sealgate/postfix of the end-to-end medians.
# Run as root (Postfix must start). Needs Debian's postfix package.
set -u
set -o pipefail

N=${N:-20000}; SIZE=${SIZE:-5120}; C=${C:-20}; MPS=${MPS:-100}; ROUNDS=${ROUNDS:-3}
PORT_A=${PORT_A:-20025}; PORT_B=${PORT_B:-20026}; PORT_M=${PORT_M:-20027}; TIMEOUT=${TIMEOUT:-600}
TMPBASE=${TMPBASE:-/var/tmp}; MTAS=${MTAS:-"postfix sealgate"}; SEALGATE=${SEALGATE:-}
HERE=$(cd "$(dirname "$0")" && pwd)

die() { echo "relay-compare: $*" >&2; exit 2; }
now() { date +%s.%N; }
fdiff() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f", b-a}'; }
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:/usr/local/go/bin:$PATH

for b in postfix postconf postqueue smtp-sink smtp-source ss awk curl; do
  command -v "$b" >/dev/null 2>&1 || die "missing $b (apt-get install -y postfix curl)"
done
[ "$(id -u)" = 0 ] || die "must run as root (postfix start)"
[ "$(stat -f -c %T "$TMPBASE")" != tmpfs ] || die "$TMPBASE is tmpfs: fsync would be free"

W=$(mktemp -d "$TMPBASE/relaycmp.XXXXXX") || die "mktemp failed"
chmod 755 "$W"
if [ -z "$SEALGATE" ]; then
  (cd "$HERE/.." && go build -o "$W/sealgate" ./cmd/sealgate) || die "go build failed"
  SEALGATE=$W/sealgate
fi
SINK_PID=""; MTA_PID=""; PF_ETC=""; LANE_PIDS=()

cleanup() {
  set +e
  for p in "${LANE_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  pkill -TERM -f "smtp-source .*127.0.0.1:$PORT_A" 2>/dev/null
  stop_mta
  [ -n "$SINK_PID" ] && kill -TERM "$SINK_PID" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

. "$HERE/postfix-common.sh"

# ------------------------------------------------------------- the sink
start_sink() {
  smtp-sink -c -u nobody -h sink.bench.invalid -m 1024 "127.0.0.1:$PORT_B" 1024 > "$R/sink.out" 2> "$R/sink.err" &
  SINK_PID=$!
  wait_listen "$PORT_B" 10 || die "smtp-sink did not come up"
}
sink_count() { tail -c 96 "$R/sink.out" 2>/dev/null | tr '\r' '\n' | awk -F'mesg=' 'NF>1{m=$2} END{print m+0}'; }
stop_sink() { kill -TERM "$SINK_PID" 2>/dev/null; wait "$SINK_PID" 2>/dev/null; SINK_PID=""; wait_free "$PORT_B"; }

# ------------------------------------------------------------- Postfix
start_postfix() {
  pf_write_config relaycmp "$PORT_A" "$PORT_B"
  pf_start "$PORT_A"
  MTA_PID=$PF_PID
}
postfix_queue() { pf_queue; }
postfix_cpu() { pf_cpu; }
stop_postfix() { pf_stop; }

# ------------------------------------------------------------- sealgate
start_sealgate() {
  cat > "$R/sealgate.yaml" <<SG
hostname: relay.bench.invalid
data_dir: $R/data
listeners:
  - {name: relay, address: "127.0.0.1:$PORT_A", tls: none, auth: none}
clients:
  - {name: bench, networks: ["127.0.0.0/8"], allowed_senders: ["*@client.bench.invalid"]}
delivery:
  routes: {"dest.bench.invalid": "127.0.0.1:$PORT_B"}
  tls: {policy: {default: may, "dest.bench.invalid": none}}
  max_connections_per_destination: 20
encryption: {order: [tls]}
metrics: {listen: "127.0.0.1:$PORT_M"}
limits: {messages_per_client_per_minute: 0, max_connections_per_client: 1000, connections_per_client_per_minute: 0}
log: {audit_file: $R/audit.log}
SG
  "$SEALGATE" serve --config "$R/sealgate.yaml" > "$R/sealgate.out" 2> "$R/maillog" &
  MTA_PID=$!
  wait_listen "$PORT_A" 15 || die "sealgate not listening: $(tail -3 "$R/maillog")"
  sleep 1
}
sealgate_queue() { curl -s "http://127.0.0.1:$PORT_M/metrics" | awk '/^sealgate_queue_messages /{print $2+0; found=1} END{if(!found) print 1}'; }
sealgate_cpu() { awk '{print $14+$15}' "/proc/$MTA_PID/stat"; }
stop_sealgate() { kill -TERM "$MTA_PID" 2>/dev/null; wait "$MTA_PID" 2>/dev/null; }

stop_mta() {
  [ -n "$MTA_PID" ] || return 0
  case "$MTA" in postfix) stop_postfix ;; sealgate) stop_sealgate ;; esac
  MTA_PID=""; wait_free "$PORT_A"
}

# ------------------------------------------------------------- one run
lane() { # index msgs
  local i=$1 left=$2 k rc=0
  while [ "$left" -gt 0 ]; do
    if [ "$MPS" -gt 0 ] && [ "$MPS" -lt "$left" ]; then k=$MPS; else k=$left; fi
    smtp-source -4 -d -N -s 1 -m "$k" -l "$SIZE" -M client.bench.invalid \
      -f "sender@client.bench.invalid" -t "rcpt@dest.bench.invalid" \
      "127.0.0.1:$PORT_A" >> "$R/lanes/$i.err" 2>&1 || { rc=1; break; }
    left=$(( left - k ))
  done
  echo "$(now) $rc" > "$R/lanes/$i.done"
}

run_one() { # mta round
  MTA=$1; R=$W/$1-$2; mkdir -p "$R/lanes"
  start_sink
  "start_$MTA"
  local cpu0 t0 deadline per extra i m d
  cpu0=$("${MTA}_cpu"); t0=$(now)
  deadline=$(awk -v t="$t0" -v d="$TIMEOUT" 'BEGIN{printf "%.3f", t+d}')
  per=$(( N / C )); extra=$(( N % C )); LANE_PIDS=()
  for i in $(seq 0 $(( C - 1 ))); do
    m=$per; [ "$i" -lt "$extra" ] && m=$(( m + 1 ))
    [ "$m" -gt 0 ] && { lane "$i" "$m" & LANE_PIDS+=($!); }
  done
  wait "${LANE_PIDS[@]}"
  local tacc fail tend="" ok=1
  tacc=$(cat "$R"/lanes/*.done | awk '$1>m{m=$1} END{printf "%.6f", m}')
  fail=$(cat "$R"/lanes/*.done | awk '$2!=0{f++} END{print f+0}')
  while :; do
    if [ "$(sink_count)" -ge "$N" ] && [ "$("${MTA}_queue")" -eq 0 ]; then tend=$(now); break; fi
    if awk -v n="$(now)" -v d="$deadline" 'BEGIN{exit !(n>d)}'; then ok=0; tend=$(now); break; fi
    sleep 0.05
  done
  local cpu1 sinkn hz
  cpu1=$("${MTA}_cpu"); sinkn=$(sink_count); hz=$(getconf CLK_TCK)
  [ "$fail" = 0 ] && [ "$sinkn" -ge "$N" ] || ok=0
  stop_mta; stop_sink
  awk -v mta="$MTA" -v r="$2" -v N="$N" -v S="$SIZE" -v C="$C" -v acc="$(fdiff "$t0" "$tacc")" \
      -v e2e="$(fdiff "$t0" "$tend")" -v cpu="$(( cpu1 - cpu0 ))" -v hz="$hz" -v sink="$sinkn" -v ok="$ok" \
    'BEGIN{printf "RESULT mta=%s round=%d n=%d size=%d c=%d accept_mps=%.1f e2e_mps=%.1f mta_cpu_s=%.2f us_per_msg=%.0f sink=%d ok=%d\n",
      mta, r, N, S, C, N/acc, N/e2e, cpu/hz, cpu/hz/N*1e6, sink, ok}' | tee -a "$W/results"
}

for round in $(seq 1 "$ROUNDS"); do
  for mta in $MTAS; do run_one "$mta" "$round"; done
done

awk '
/^RESULT/ { for (i=2;i<=NF;i++){split($i,kv,"="); f[kv[1]]=kv[2]}
  m=f["mta"]; n[m]++; v[m,n[m]]=f["e2e_mps"]; a[m,n[m]]=f["accept_mps"]; c[m,n[m]]=f["us_per_msg"]; if(f["ok"]!=1) bad[m]++ }
function med(arr, m, k,   i,j,t,x) { for(i=1;i<=k;i++) x[i]=arr[m,i]
  for(i=1;i<=k;i++) for(j=i+1;j<=k;j++) if(x[j]<x[i]){t=x[i];x[i]=x[j];x[j]=t}
  lo=x[1]; hi=x[k]; return (k%2)?x[(k+1)/2]:(x[k/2]+x[k/2+1])/2 }
END {
  for (m in n) { e=med(v,m,n[m]); elo=lo; ehi=hi; ac=med(a,m,n[m]); cu=med(c,m,n[m])
    printf "%-9s end-to-end median %7.1f msg/s (min %.1f, max %.1f), accepted median %.1f msg/s, CPU %.0f us/msg, %d runs%s\n",
      m, e, elo, ehi, ac, cu, n[m], (bad[m]?", " bad[m] " FAILED":"")
    med_e[m]=e }
  if (("postfix" in med_e) && ("sealgate" in med_e))
    printf "RATIO sealgate/postfix end-to-end = %.2f\n", med_e["sealgate"]/med_e["postfix"] }' "$W/results"
