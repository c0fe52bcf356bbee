# postfix-common.sh - sourced by relay-compare.sh and campaign.sh: a private
# Postfix instance on loopback relaying everything to one next hop, and the
# port helpers both scripts use. Nothing of the system's Postfix is touched.
#
# Callers set R (the run's directory) and define die().

# wait_listen PORT SECONDS: until something listens on 127.0.0.1:PORT.
wait_listen() { local i; for i in $(seq $(( $2 * 10 ))); do
  [ -n "$(ss -Htln "sport = :$1")" ] && return 0; sleep 0.1; done; return 1; }
# wait_free PORT: until nothing listens on PORT (10 s at most).
wait_free() { local i; for i in $(seq 100); do
  [ -z "$(ss -Htln "sport = :$1")" ] && return 0; sleep 0.1; done; return 1; }

# pf_write_config NAME LISTEN_PORT NEXTHOP_PORT [EXTRA_SERVICE_LINES]: main.cf
# and master.cf in $R/etc for an instance that takes mail from 127.0.0.0/8
# on LISTEN_PORT and relays it all to [127.0.0.1]:NEXTHOP_PORT. The caller
# appends its own main.cf settings (TLS, milters) to $PF_ETC/main.cf.
pf_write_config() {
  PF_ETC=$R/etc; PF_SPOOL=$R/spool; local data=$R/data
  mkdir -p "$PF_ETC" "$PF_SPOOL" "$data"; chown postfix "$data"
  cat > "$PF_ETC/main.cf" <<PF
compatibility_level = 3.6
queue_directory = $PF_SPOOL
data_directory = $data
mail_owner = postfix
setgid_group = postdrop
syslog_name = $1
maillog_file = $R/maillog
maillog_file_prefixes = $R
myhostname = relay.bench.invalid
mydomain = bench.invalid
myorigin = \$myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
mydestination =
local_recipient_maps =
local_transport = error:5.1.1 local delivery disabled
alias_maps =
alias_database =
relay_domains =
relayhost = [127.0.0.1]:$3
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtp_dns_support_level = disabled
smtp_host_lookup = native
biff = no
append_dot_mydomain = no
smtpd_banner = \$myhostname ESMTP
PF
  { echo "127.0.0.1:$2 inet n - n - - smtpd"
    cat <<'PF'
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
PF
    [ -n "${4:-}" ] && printf '%s\n' "$4"
  } > "$PF_ETC/master.cf"
}

# pf_start LISTEN_PORT: checks and starts the instance; PF_PID is its master.
pf_start() {
  postfix -c "$PF_ETC" check >/dev/null 2>&1 || die "postfix check failed: $(postfix -c "$PF_ETC" check 2>&1 | tail -2)"
  postfix -c "$PF_ETC" start >/dev/null 2>&1 || die "postfix start failed"
  local i; for i in $(seq 100); do [ -s "$PF_SPOOL/pid/master.pid" ] && break; sleep 0.1; done
  PF_PID=$(tr -d ' \n' < "$PF_SPOOL/pid/master.pid")
  wait_listen "$1" 15 || die "Postfix not listening"
  sleep 1
}

# pf_cpu: clock ticks of the master, its reaped children and live children.
pf_cpu() {
  { awk '{print $14+$15+$16+$17}' "/proc/$PF_PID/stat"
    for c in $(ps -o pid= --ppid "$PF_PID"); do awk '{print $14+$15}' "/proc/$c/stat" 2>/dev/null; done
  } | awk '{s+=$1} END{print s+0}'
}

# pf_queue: messages in the instance's queue.
pf_queue() { find "$PF_SPOOL/maildrop" "$PF_SPOOL/incoming" "$PF_SPOOL/active" "$PF_SPOOL/deferred" "$PF_SPOOL/hold" -type f 2>/dev/null | wc -l; }

# pf_stop: stops the instance, killing the master if it does not go.
pf_stop() {
  postfix -c "$PF_ETC" stop >/dev/null 2>&1
  local i; for i in $(seq 100); do kill -0 "$PF_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$PF_PID" 2>/dev/null
}
