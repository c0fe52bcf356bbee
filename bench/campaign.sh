#!/usr/bin/env bash
# campaign.sh - a healthcare campaign through sealgate and through Postfix +
# OpenDKIM, same harness, same run, interleaved (P S P S ...), loopback only.
#
#   bench/campaign (Go): N personalised marketing messages, 5-20 KB, to
#   distinct recipients in DOMAINS domains, C sessions of MPS messages, from
#   127.0.0.2 (the marketing client), and T transactional reminders from
#   127.0.0.3 (the EHR), one each time another N/T of the campaign has been
#   accepted, each on its own session; one campaign message in 10 is a
#   personal results and appointment notice with PHI (a synthetic patient's
#   name, date of birth, MRN, diagnosis with ICD-10 code, lab value)
#     --STARTTLS--> 127.0.0.1:PORT_A  MTA under test, DKIM-signing
#     --STARTTLS--> 127.0.0.1:PORT_B  the same program's sink (counts, times
#                   the reminders' arrival, verifies 1 in 50 DKIM signatures,
#                   counts the PHI notices and the TLS version each came over;
#                   a run is ok only if all of them arrived, none without TLS)
#
# Both MTAs get the same features: STARTTLS in (a certificate from a CA made
# here, verified by the generator), verified TLS out (the sink's certificate
# checked against that CA: sealgate policy `verify` with the sink as a
# trusted hop, so PHI may go over it; Postfix policy `secure
# match=sink.bench.invalid`), DKIM rsa-sha256 2048 with
# relaxed/relaxed by the same key (sealgate's signer; OpenDKIM as Postfix's
# milter), 250 only after fsync on a disk-backed spool, a log line per
# delivery, at most 20 outbound connections with reuse (Postfix:
# smtp_tls_connection_reuse through tlsproxy). sealgate also runs its PHI
# scan, spool encryption, traffic shaping (delivery.shaping, 20 connections
# for the loopback "provider", 19 of them for the campaign) and the marketing
# path (List-Unsubscribe headers, suppression check at RCPT); these cannot
# be had from Postfix. sealgate finds the PHI notices (and the reminders)
# and protects them by the `tls` method: verified TLS to the pinned sink,
# its audit log counted after the run (sg_phi_accepted: messages judged
# PHI; sg_phi_tls_verified: deliveries by method tls over verified TLS).
# Postfix relays the same notices over the same TLS without knowing they
# hold PHI: the comparison is of throughput, Postfix doing no PHI work.
#
# Knobs (environment):
#   N=20000 T=100 C=20 MPS=100 DOMAINS=8   load (bounded: N <= 1e6, T <= 1e4)
#   ROUNDS=3                               runs per MTA, interleaved
#   PORT_A=20125 PORT_B=20126 PORT_M=20127 PORT_K=20128
#                                          MTA, sink, sealgate metrics, OpenDKIM milter
#   TIMEOUT=900                            seconds per run (inject + drain)
#   TMPBASE=/var/tmp                       must be a real disk (not tmpfs)
#   MTAS="postfix sealgate"                which MTAs to run
#   SEALGATE=""                            a built binary; default: go build
#
# Prints a "RESULT mta=... accept_mps=... e2e_mps=... last_delivery_s=...
# txn_max_s=..." line per run, then medians with min-max and the ratios.
# Run as root on a fresh Debian machine after:
#   apt-get install -y postfix opendkim opendkim-tools openssl curl
set -u
set -o pipefail

N=${N:-20000}; T=${T:-100}; C=${C:-20}; MPS=${MPS:-100}; DOMAINS=${DOMAINS:-8}; ROUNDS=${ROUNDS:-3}
PORT_A=${PORT_A:-20125}; PORT_B=${PORT_B:-20126}; PORT_M=${PORT_M:-20127}; PORT_K=${PORT_K:-20128}
TIMEOUT=${TIMEOUT:-900}; TMPBASE=${TMPBASE:-/var/tmp}; MTAS=${MTAS:-"postfix sealgate"}; SEALGATE=${SEALGATE:-}
HERE=$(cd "$(dirname "$0")" && pwd)

die() { echo "campaign: $*" >&2; exit 2; }
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:/usr/local/go/bin:$PATH

for b in postfix postconf opendkim openssl ss awk go; do
  command -v "$b" >/dev/null 2>&1 || die "missing $b (apt-get install -y postfix opendkim opendkim-tools openssl curl)"
done
[ "$(id -u)" = 0 ] || die "must run as root (postfix start)"
[ "$(stat -f -c %T "$TMPBASE")" != tmpfs ] || die "$TMPBASE is tmpfs: fsync would be free"
id opendkim >/dev/null 2>&1 || die "no opendkim user (apt-get install -y opendkim)"

W=$(mktemp -d "$TMPBASE/campaign.XXXXXX") || die "mktemp failed"
chmod 755 "$W"
(cd "$HERE/.." && go build -o "$W/campaign" ./bench/campaign) || die "go build bench/campaign failed"
if [ -z "$SEALGATE" ]; then
  (cd "$HERE/.." && go build -o "$W/sealgate" ./cmd/sealgate) || die "go build failed"
  SEALGATE=$W/sealgate
fi
MTA_PID=""; DKIM_PID=""; PF_ETC=""; MTA=""

cleanup() {
  set +e
  stop_mta
  [ -n "${KEEP:-}" ] && echo "campaign: kept $W" >&2 || rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

. "$HERE/postfix-common.sh"

# ------------------------------------------------------------- keys, once
make_keys() {
  local k=$W/keys; mkdir -p "$k"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Bench CA" -keyout "$k/ca.key" -out "$k/ca.crt" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=relay.bench.invalid" -keyout "$k/tls.key" -out "$k/tls.csr" 2>/dev/null
  printf 'subjectAltName=DNS:relay.bench.invalid,DNS:sink.bench.invalid,IP:127.0.0.1\n' > "$k/san.ext"
  openssl x509 -req -in "$k/tls.csr" -CA "$k/ca.crt" -CAkey "$k/ca.key" -CAcreateserial -days 2 \
    -extfile "$k/san.ext" -out "$k/tls.crt" 2>/dev/null
  openssl genrsa -out "$k/dkim.key" 2048 2>/dev/null
  openssl rsa -in "$k/dkim.key" -pubout -out "$k/dkim.pub" 2>/dev/null
  [ -s "$k/tls.crt" ] && [ -s "$k/dkim.pub" ] || die "key generation failed"
  chmod 644 "$k/tls.key" "$k/dkim.key"  # a throwaway bench key, read by postfix and opendkim
}

domains_list() { local i; for i in $(seq 0 $(( DOMAINS - 1 ))); do echo "d$i.bench.invalid"; done; }

# ------------------------------------------------------------- Postfix + OpenDKIM
start_opendkim() {
  cat > "$R/opendkim.conf" <<DK
Syslog                  no
Background              no
Mode                    s
Domain                  clinic.bench.invalid
Selector                bench
KeyFile                 $W/keys/dkim.key
RequireSafeKeys         false
Canonicalization        relaxed/relaxed
SignatureAlgorithm      rsa-sha256
InternalHosts           127.0.0.0/8
OversignHeaders         From
UserID                  opendkim
Socket                  inet:$PORT_K@127.0.0.1
DK
  opendkim -f -x "$R/opendkim.conf" > "$R/opendkim.out" 2>&1 &
  DKIM_PID=$!
  wait_listen "$PORT_K" 15 || die "opendkim not listening: $(tail -3 "$R/opendkim.out")"
}

start_postfix() {
  start_opendkim
  pf_write_config campaign "$PORT_A" "$PORT_B" "$(printf '%s\n' \
    'tlsmgr    unix  -       -       n       1000?   1       tlsmgr' \
    'tlsproxy  unix  -       -       n       -       0       tlsproxy')"
  cat >> "$PF_ETC/main.cf" <<PF
smtpd_tls_cert_file = $W/keys/tls.crt
smtpd_tls_key_file = $W/keys/tls.key
smtpd_tls_security_level = may
smtp_tls_security_level = encrypt
smtp_tls_CAfile = $W/keys/ca.crt
smtp_tls_policy_maps = inline:{ { [127.0.0.1]:$PORT_B = secure match=sink.bench.invalid } }
smtp_tls_connection_reuse = yes
smtpd_milters = inet:127.0.0.1:$PORT_K
non_smtpd_milters = \$smtpd_milters
milter_default_action = tempfail
milter_protocol = 6
PF
  pf_start "$PORT_A"
  MTA_PID=$PF_PID
}
postfix_cpu() { # Postfix's processes and OpenDKIM
  echo $(( $(pf_cpu) + $(awk '{print $14+$15}' "/proc/$DKIM_PID/stat" 2>/dev/null || echo 0) ))
}
stop_postfix() {
  pf_stop
  [ -n "$DKIM_PID" ] && { kill -TERM "$DKIM_PID" 2>/dev/null; wait "$DKIM_PID" 2>/dev/null; DKIM_PID=""; wait_free "$PORT_K"; }
}

# ------------------------------------------------------------- sealgate
start_sealgate() {
  local routes="" d
  for d in $(domains_list); do routes="$routes\"$d\": \"127.0.0.1:$PORT_B\", "; done
  cat > "$R/sealgate.yaml" <<SG
hostname: relay.bench.invalid
data_dir: $R/data
tls: {cert: $W/keys/tls.crt, key: $W/keys/tls.key}
listeners:
  - {name: relay, address: "127.0.0.1:$PORT_A", tls: starttls, auth: none}
clients:
  - {name: news, kind: marketing, networks: ["127.0.0.2/32"], allowed_senders: ["*@clinic.bench.invalid"]}
  - {name: ehr, networks: ["127.0.0.3/32"], allowed_senders: ["*@clinic.bench.invalid"]}
delivery:
  routes: {${routes%, }}
  tls: {ca_file: $W/keys/ca.crt, policy: {default: verify}, trusted_hops: ["127.0.0.1:$PORT_B"]}
  max_connections_per_destination: 20
  shaping: {enabled: true, connections: 20}
dkim:
  - {domain: clinic.bench.invalid, selector: bench, key: $W/keys/dkim.key}
portal: {base_url: "https://portal.bench.invalid"}
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
sealgate_cpu() { awk '{print $14+$15}' "/proc/$MTA_PID/stat"; }
stop_sealgate() { kill -TERM "$MTA_PID" 2>/dev/null; wait "$MTA_PID" 2>/dev/null; }

stop_mta() {
  [ -n "$MTA_PID" ] || return 0
  case "$MTA" in postfix) stop_postfix ;; sealgate) stop_sealgate ;; esac
  MTA_PID=""; wait_free "$PORT_A"
}

# audit_phi counts, in sealgate's audit log, the messages judged PHI and the
# deliveries by method tls over a verified connection.
audit_phi() {
  awk '/"event":"accepted"/ && /"phi":true/ { a++ }
       /"event":"delivery"/ && /"method":"tls"/ && /"result":"delivered"/ && /"tls_verified":true/ { v++ }
       END { printf "sg_phi_accepted=%d sg_phi_tls_verified=%d", a, v }' "$1"
}

# ------------------------------------------------------------- one run
run_one() { # mta round
  MTA=$1; R=$W/$1-$2; mkdir -p "$R"
  "start_$MTA"
  local cpu0 cpu1 hz line
  cpu0=$("${MTA}_cpu"); hz=$(getconf CLK_TCK)
  line=$("$W/campaign" -label "$MTA" -mta "127.0.0.1:$PORT_A" -sink "127.0.0.1:$PORT_B" \
    -n "$N" -t "$T" -c "$C" -mps "$MPS" -domains "$DOMAINS" -timeout "${TIMEOUT}s" \
    -ca "$W/keys/ca.crt" -cert "$W/keys/tls.crt" -key "$W/keys/tls.key" -dkim-pub "$W/keys/dkim.pub" \
    2> "$R/campaign.err")
  cpu1=$("${MTA}_cpu")
  stop_mta
  [ -n "$line" ] || line="RESULT mta=$MTA ok=0 error=$(tail -1 "$R/campaign.err" | tr ' ' _)"
  [ "$MTA" = sealgate ] && line="$line $(audit_phi "$R/audit.log")"
  echo "$line round=$2 mta_cpu_s=$(awk -v c=$(( cpu1 - cpu0 )) -v h="$hz" 'BEGIN{printf "%.1f", c/h}')" | tee -a "$W/results"
}

make_keys
for round in $(seq 1 "$ROUNDS"); do
  for mta in $MTAS; do run_one "$mta" "$round"; done
done

awk '
/^RESULT/ { delete f; for (i=2;i<=NF;i++){split($i,kv,"="); f[kv[1]]=kv[2]}
  m=f["mta"]; n[m]++; k=n[m]; acc[m,k]=f["accept_mps"]; e2e[m,k]=f["e2e_mps"]; last[m,k]=f["last_delivery_s"]
  tmax[m,k]=f["txn_max_s"]; t50[m,k]=f["txn_p50_s"]; cpu[m,k]=f["mta_cpu_s"]; if(f["ok"]!=1) bad[m]++ }
function med(arr, m, k,   i,j,t,x) { for(i=1;i<=k;i++) x[i]=arr[m,i]+0
  for(i=1;i<=k;i++) for(j=i+1;j<=k;j++) if(x[j]<x[i]){t=x[i];x[i]=x[j];x[j]=t}
  lo=x[1]; hi=x[k]; return (k%2)?x[(k+1)/2]:(x[k/2]+x[k/2+1])/2 }
END {
  for (m in n) { k=n[m]
    a=med(acc,m,k); alo=lo; ahi=hi; e=med(e2e,m,k); elo=lo; ehi=hi; l=med(last,m,k)
    x=med(tmax,m,k); xlo=lo; xhi=hi; p=med(t50,m,k); c=med(cpu,m,k)
    printf "%-9s accepted %.1f msg/s (%.1f-%.1f), end to end %.1f msg/s (%.1f-%.1f), last delivery %.1fs, reminders p50 %.3fs max %.3fs (%.3f-%.3f), MTA CPU %.1fs, %d runs%s\n",
      m, a, alo, ahi, e, elo, ehi, l, p, x, xlo, xhi, c, k, (bad[m]?", " bad[m] " FAILED":"")
    ma[m]=a; me[m]=e }
  if (("postfix" in me) && ("sealgate" in me))
    printf "RATIO sealgate/postfix accepted = %.2f, end to end = %.2f\n", ma["sealgate"]/ma["postfix"], me["sealgate"]/me["postfix"] }' "$W/results"
