# Shared setup/teardown for the integration tests. They run as root inside
# the sandbox of tests/integration/in-sandbox (own network, mount and pid
# namespace, a /run of its own without the machine's mounts). Every test snapshots the invoking namespace
# first and, in teardown, asserts that nslab left nothing behind: no named
# namespace, no nslab process, no mount under /run/netns, no state dir, and
# an unchanged `ip -d link`, `ip addr`, `ip route`, `ip neigh`,
# `iptables-save`, `nft list ruleset` and `sysctl -a -r '^net\.'`.

NSLAB=${NSLAB:-$BATS_TEST_DIRNAME/../../bin/nslab}
REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
SEED=$REPO/labs/k3s-virtualbox.ini
STATE_ROOT=${NSLAB_STATE_DIR:-/run/nslab}

# The invoking namespace, normalised: counters and the save timestamps are
# the only things allowed to differ.
snapshot_invoking_ns () {
  {
    echo "== ip -d link"; ip -d link
    echo "== ip addr"; ip addr
    echo "== ip route"; ip route show table all
    echo "== ip neigh"; ip neigh
    echo "== iptables-save"; iptables-save 2>/dev/null | sed -E '/^#/d; s/\[[0-9]+:[0-9]+\]/[0:0]/'
    echo "== nft"; nft list ruleset 2>/dev/null | sed -E 's/counter packets [0-9]+ bytes [0-9]+/counter/'
    echo "== sysctl"; sysctl -a -r '^net\.' 2>/dev/null | grep -vE '^net\.netfilter\.nf_conntrack_count|^net\.ipv4\.tcp_fastopen_key|^net\.core\.netdev_rss_key'
  }
}

# Everything nslab could leave behind, as text (empty = nothing). Only what
# the sandbox can own: its /run is a fresh tmpfs with none of the machine's
# mounts (in-sandbox detached them), and ps sees only its pid namespace, so a
# lab or a named netns on the machine is not counted.
leftovers () {
  local ns
  ns=$(ip netns list 2>/dev/null)
  [ -n "$ns" ] && echo "netns: $ns"
  local procs
  procs=$(ps -eo pid=,args= | grep -E 'nslab-(pause|echo|controller|coredns|kube-proxy)' | grep -v grep)
  [ -n "$procs" ] && echo "processes: $procs"
  local mounts
  mounts=$(awk 'index($5, "/run/netns/") == 1 { print $5 }' /proc/self/mountinfo)
  [ -n "$mounts" ] && echo "mounts: $mounts"
  if [ -d "$STATE_ROOT" ] && [ -n "$(ls -A "$STATE_ROOT")" ]; then
    echo "state: $(ls -A "$STATE_ROOT")"
  fi
  return 0
}

assert_nothing_left () {
  local left
  left=$(leftovers)
  if [ -n "$left" ]; then
    echo "left behind: $left" >&2
    return 1
  fi
  snapshot_invoking_ns > "$BATS_TEST_TMPDIR/after"
  if ! diff -u "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/after" >&2; then
    echo "the invoking namespace changed" >&2
    return 1
  fi
}

common_setup () {
  [ "$(id -u)" = 0 ] || skip "needs root (CAP_NET_ADMIN + CAP_SYS_ADMIN)"
  # Outside the sandbox these tests would take down the machine's labs
  # (`down --all` below) and count its netns as leftovers.
  [ -n "${NSLAB_TEST_SANDBOX:-}" ] || skip "not in the test sandbox: run tests/run (make check)"
  [ -x "$NSLAB" ] || skip "nslab binary not built: $NSLAB"
  # A failed earlier test must not poison this one.
  "$NSLAB" down --all >/dev/null 2>&1 || true
  snapshot_invoking_ns > "$BATS_TEST_TMPDIR/before"
  NSLAB_TEST_SET_UP=1
}

# common_setup for the tests that drive the machine's kubectl against the
# seed lab k3s (kc): skipped without one; KMINOR is its minor version.
kubectl_setup () {
  common_setup
  command -v kubectl >/dev/null || skip "no kubectl on this machine (Debian: kubernetes-client)"
  export HOME=$BATS_TEST_TMPDIR   # kubectl's discovery cache
  KMINOR=$(kubectl_minor)
}

kc () { "$NSLAB" kubectl k3s "$@"; }

common_teardown () {
  local rc=0
  # A test skipped in setup (not root, not in the sandbox) has nothing to
  # check, and its cleanup below must not run: outside the sandbox it would
  # take down the machine's labs and netns.
  [ "${NSLAB_TEST_SET_UP:-}" = 1 ] || return 0
  # make_nobody_copy's dir is outside BATS_TEST_TMPDIR (nobody must reach
  # it): a test that failed before its own rm -rf would leave it in /tmp.
  [ -z "${NOBODY_DIR:-}" ] || rm -rf "$NOBODY_DIR"
  # After a failed test body its own `down` never ran: just clean up, the
  # failure is already reported.
  if [ "${BATS_TEST_COMPLETED:-}" = 1 ]; then
    assert_nothing_left || rc=1
  else
    rc=2
    # What the labs' API servers and control loops said, shown with the
    # failure (a CI run's only trace of their errors).
    local log
    for log in "$STATE_ROOT"/*/logs/apiserver.log "$STATE_ROOT"/*/logs/controller.log; do
      [ -s "$log" ] || continue
      echo "== ${log#"$STATE_ROOT"/} (last 15 lines) =="
      tail -n 15 "$log"
    done >&2
  fi
  # Clean up whatever a failed test left, so the next one starts fresh.
  if [ "$rc" != 0 ]; then
    "$NSLAB" down --all >/dev/null 2>&1 || true
    for n in $(ip netns list 2>/dev/null | awk '{print $1}'); do ip netns del "$n" 2>/dev/null; done
    rm -rf "${STATE_ROOT:?}"/* 2>/dev/null
  fi
  [ "$rc" != 2 ] || rc=0
  return $rc
}

setup () { common_setup; }
teardown () { common_teardown; }

# Write a copy of the seed lab with another name and host-only addresses.
# $1 name, $2 third octet of the host-only network (56 = the seed's).
make_lab () {
  local name=$1 octet=$2 f=$BATS_TEST_TMPDIR/labs/$1.ini
  mkdir -p "$BATS_TEST_TMPDIR/labs"
  [ -e "$BATS_TEST_TMPDIR/templates" ] || ln -s "$REPO/templates" "$BATS_TEST_TMPDIR/templates"
  sed -E "s/^name = k3s$/name = $name/; s/192\.168\.56\./192.168.$octet./g" "$SEED" > "$f"
  if [ "$octet" != 56 ]; then
    printf '\n[network hostonly]\ntype = hostonly\ncidr = 192.168.%s.0/24\ngateway = 192.168.%s.1\nbridge = vboxnet0\n' \
      "$octet" "$octet" >> "$f"
  fi
  echo "$f"
}

# A one-node k3s lab named $1 in $BATS_TEST_TMPDIR/$1.ini, its workload
# sections read from stdin; prints the file's path.
one_node_lab () {
  local f=$BATS_TEST_TMPDIR/$1.ini
  # No cluster DNS: the smallest lab has no pod the test did not ask for
  # (dns.bats tests the coredns pods).
  # A leading [cluster] section of the input joins the helper's own.
  local in cluster rest
  in=$(cat)
  cluster=$(printf '%s\n' "$in" | awk 'NR == 1 && $0 == "[cluster]" { c = 1; next } /^\[/ { c = 0 } c')
  rest=$(printf '%s\n' "$in" | awk 'NR == 1 && $0 == "[cluster]" { c = 1; next } /^\[/ { c = 0 } !c')
  { printf '[lab]\nname = %s\ntemplate = %s/templates/k3s.ini\n[cluster]\ndns = no\n' "$1" "$REPO"
    [ -z "$cluster" ] || printf '%s\n' "$cluster"
    printf '[node n1]\nrole = control-plane\nnics = enp0s8=hostonly:192.168.56.10\n'
    printf '%s\n' "$rest"; } > "$f"
  echo "$f"
}

# Body of an HTTP answer from the echo server: the "pod:" line.
pod_of () { sed -n 's/^pod: //p'; }

# A world-readable copy of the binary, templates and labs, so tests can run
# nslab as an unprivileged user whatever the permissions of the checkout
# (a clone under /root is not reachable by nobody). Sets NOBODY_DIR.
make_nobody_copy () {
  NOBODY_DIR=$(mktemp -d /tmp/nslab-nobody.XXXXXX)
  chmod 0755 "$NOBODY_DIR"
  mkdir -p "$NOBODY_DIR/bin"
  cp "$NSLAB" "$NOBODY_DIR/bin/nslab"
  cp -r "$REPO/templates" "$REPO/labs" "$NOBODY_DIR/"
  chmod -R a+rX "$NOBODY_DIR"
}

as_nobody () { setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all -- "$@"; }

# After kill -9: SIGKILL takes effect when the process next runs, which on a
# loaded machine can be after the next command looks. Wait (up to 5 s) until
# it has exited: gone, or a zombie (which nslab counts as dead).
wait_gone () {
  local st
  for _ in $(seq 100); do
    st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || echo gone)
    { [ "$st" = gone ] || [ "$st" = Z ]; } && return 0
    sleep 0.05
  done
  echo "pid $1 still running 5 s after kill" >&2
  return 1
}

# Start tcpdump in namespace $1 on interface $2 with filter $3 (and any
# further tcpdump options) into $BATS_TEST_TMPDIR/dump; returns once the
# capture is attached ("listening on"), so no packet of the test is missed.
# Its pid is in $dump; it stops by itself after 10 s.
start_dump () {
  local ns=$1 dev=$2 filter=$3
  shift 3
  ip netns exec "$ns" timeout 10 tcpdump -l "$@" -i "$dev" $filter > "$BATS_TEST_TMPDIR/dump" 2> "$BATS_TEST_TMPDIR/dump.err" &
  dump=$!
  for _ in $(seq 100); do grep -q '^listening on' "$BATS_TEST_TMPDIR/dump.err" && break; sleep 0.05; done
  grep -q '^listening on' "$BATS_TEST_TMPDIR/dump.err"
}

# Crash POD's app (lab k3s, pod's pause process titled "nslab-pause k3s NS/POD")
# twice: kubelet restarts it at once the first time, then backs off, so the
# pod is left in CrashLoopBackOff (for NSLAB_TEST_BACKOFF_MS set at up).
crash_twice () {
  local pause app app2
  pause=$(pgrep -xf "nslab-pause k3s $1")
  app=$(pgrep -P "$pause" | head -1)
  [ -n "$app" ] || return 1
  kill -9 "$app"
  for _ in $(seq 100); do
    app2=$(pgrep -P "$pause" | head -1)
    [ -n "$app2" ] && [ "$app2" != "$app" ] && break; sleep 0.02
  done
  [ -n "$app2" ] && [ "$app2" != "$app" ] || return 1
  kill -9 "$app2"
}

# The minor version of the kubectl on PATH: 20 for Debian's
# kubernetes-client (what make deps installs when there is none), 32 for
# the `kubectl` package. Kubectl before 1.30 speaks SPDY/3.1 for exec (the
# same tests pass), and describe's text differs by version (see
# old_kubectl_describe).
kubectl_minor () {
  kubectl version --client -o json 2>/dev/null | jq -r '.clientVersion.minor' | tr -dc 0-9
}

# Whether kubectl 1.$1's describe of a service reads its v1 Endpoints (and
# so gets the server's deprecation Warning first), as before 1.31; from
# 1.31 on it lists the service's EndpointSlices.
kubectl_describe_reads_endpoints () { [ "$1" -lt 31 ]; }

# What kubectl 1.$1's describe prints of the same objects, from the text
# kubectl 1.32 prints (STDIN; spaces squeezed or not), as kubectl's
# pkg/describe/describe.go has it at each release (v0.N.0 of
# k8s.io/kubectl):
# - a projected volume's config map source: "ConfigMapOptional: <nil>"
#   (the *bool) up to 1.32, "Optional: false" from 1.33 on;
# - a service's "Internal Traffic Policy:" line: from 1.31 on;
# - a pod template's "Node-Selectors:" and "Tolerations:" (a line per
#   toleration): from 1.30 on;
# - a pod's "Service Account:": from 1.25 on (kubernetes#111192);
# - the last column of a node's pods table: "Age" from 1.21, "AGE" in 1.20.
# The lines kubectl does not print widen the columns of the ones it does:
# compare with spaces squeezed when this changes anything (1.30 and older).
old_kubectl_describe () {
  local minor=$1
  local e=(-e '')
  [ "$minor" -ge 31 ] || e+=(-e '/^Internal Traffic Policy:/d')
  [ "$minor" -lt 33 ] || e+=(-e 's/^( +)ConfigMapOptional:( +)<nil>$/\1Optional:\2         false/')
  [ "$minor" -ge 25 ] || e+=(-e '/^Service Account:/d')
  [ "$minor" -ge 21 ] || e+=(-e 's/^( +Namespace +Name +CPU Requests +CPU Limits +Memory Requests +Memory Limits +)Age$/\1AGE/')
  # A template's tolerations take a line each: the ones after the first are
  # indented values without a label of their own.
  sed -E "${e[@]}" | if [ "$minor" -ge 30 ]; then cat; else
    awk '/^ +(Node-Selectors|Tolerations):/ { skip = 1; next }
         skip && /^ +[^ ]*[^ :]( op=[A-Za-z]+)?( for [0-9]+s)?$/ { next }
         { skip = 0; print }'
  fi
}

# kube-proxy's own check of its partial syncs: the periodic full sync writes
# every chain from the whole state, so the rules the partial rounds left must
# be byte for byte what it leaves. Lab k3s must be up with
# NSLAB_CONTROL_TRACE=1 and NSLAB_CONTROL_SYNC_PERIOD_S=$SYNC_PERIOD; $1 prints
# every node's rules. Right after up (whose rules are a full sync: the loop's
# first periodic one is a period after it starts, as kube-proxy's is after
# its first sync) or a full round, a series of scale and delete changes (each
# a partial round: "scoped" in the log, no "full" among them, which the period
# leaves room for), then the rules before and after the next full round.
SYNC_PERIOD=20
# demo/web-svc's endpoints in the rules $1 prints, summed over the nodes:
# its KUBE-SVC chain's KUBE-SEP jumps, or its nftables numgen map's gotos.
# (iptables: one rule per endpoint, its comment quoted, a statistic match
# before the jump on all but the last.)
web_jumps () { "$1" | grep -oE '"demo/web-svc -> [^"]*".* -j KUBE-SEP-|goto endpoint-[A-Z2-7]{8}-demo/web-svc/' | wc -l; }
# Wait ($2 polls of 50 ms) for a full round of lab k3s's control loop logged
# after line $1 of its log (NSLAB_CONTROL_TRACE=1); fails if none came.
wait_full_round_after () {
  local log=$STATE_ROOT/k3s/logs/controller.log
  for _ in $(seq "$2"); do sed -n "$(($1 + 1)),\$p" "$log" | grep -q '^round full' && return 0; sleep 0.05; done
  sed -n "$(($1 + 1)),\$p" "$log" | grep -q '^round full'
}
full_sync_oracle () {
  local rules=$1 log=$STATE_ROOT/k3s/logs/controller.log from mark before after p
  from=$(grep -n '^round full' "$log" | tail -1 | cut -d: -f1)
  from=${from:-0}
  "$NSLAB" scale k3s -n demo deploy/web --replicas 4
  for _ in $(seq 100); do [ "$(web_jumps "$rules")" -eq 12 ] && break; sleep 0.05; done
  [ "$(web_jumps "$rules")" -eq 12 ]
  p=$(sqlite3 "$STATE_ROOT/k3s/store.db" "select name from objects where kind='Pod' and namespace='demo' and name like 'web-%' order by name limit 1")
  "$NSLAB" delete k3s -n demo pod/"$p"
  "$NSLAB" scale k3s -n demo deploy/web --replicas 1
  "$NSLAB" scale k3s -n demo deploy/web --replicas 3
  for _ in $(seq 100); do [ "$(web_jumps "$rules")" -eq 9 ] && break; sleep 0.05; done
  [ "$(web_jumps "$rules")" -eq 9 ]
  sleep 0.5
  mark=$(wc -l < "$log")
  before=$("$rules")
  # The changes were partial rounds, none of them a full one.
  sed -n "$((from + 1)),${mark}p" "$log" | grep '^round' > "$BATS_TEST_TMPDIR/rounds"
  cat "$BATS_TEST_TMPDIR/rounds" >&2
  grep -q ' scoped' "$BATS_TEST_TMPDIR/rounds"
  ! grep -q '^round full' "$BATS_TEST_TMPDIR/rounds"
  wait_full_round_after "$mark" $((SYNC_PERIOD * 20 + 100))
  after=$("$rules")
  [ -n "$before" ]
  diff <(echo "$before") <(echo "$after") >&2
}

# Field $2 of the status file of the pause process whose files dir is $1
# (lab $LAB).
status_of () { awk -v k="$2" '$1 == k { print $2 }' "$STATE_ROOT/$LAB/files/$1/status"; }

# Wait (up to 5 s) until the status file of $1 says "$2 $3".
wait_status () {
  for _ in $(seq 100); do
    [ "$(status_of "$1" "$2")" = "$3" ] && return 0
    sleep 0.05
  done
  echo "status of $1: $(cat "$STATE_ROOT/$LAB/files/$1/status")" >&2
  return 1
}
