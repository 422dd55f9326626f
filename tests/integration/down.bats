#!/usr/bin/env bats
# nslab down: exactly what was recorded, without the scenario, whatever is
# already gone.

load helpers

@test "down: removes everything, without the scenario file" {
  f=$(make_lab k3s 56)
  "$NSLAB" up "$f" >/dev/null
  rm -f "$f"
  run "$NSLAB" down k3s
  [ "$status" -eq 0 ]
  [ "$output" = "lab k3s is down" ]
}

@test "down: copes with namespaces and processes already gone" {
  "$NSLAB" up "$SEED" >/dev/null
  ip netns del k3s-w2
  ip netns del k3s-demo-web-8597f6f985-56kng
  pid=$(ps -eo pid=,args= | awk '/nslab-pause k3s node\/w1$/{print $1}')
  [ -n "$pid" ]
  kill -9 "$pid"
  wait_gone "$pid"
  run "$NSLAB" status k3s
  [ "$status" -eq 1 ]
  [[ "$output" =~ $'\n'"k3s-w2 "+"no"$'\n' ]]
  [[ "$output" =~ $'\n'"node "+"w1 "[^$'\n']*" dead"$'\n' ]]
  run "$NSLAB" down k3s
  [ "$status" -eq 0 ]
}

@test "down: returns under an init that never reaps, as a container's (timeout, sleep infinity) may be" {
  # nslab up and down in a PID namespace whose PID 1 waits for its own
  # child only: whatever up leaves orphaned there stays a zombie. A process
  # of the lab among them kept its node's PID namespace from emptying, and
  # down failed after 10 s ("did not exit within 10 s of SIGKILL").
  run unshare --pid --fork --mount-proc timeout 120 \
    bash -c '"$0" up "$1" > /dev/null && "$0" down k3s' "$NSLAB" "$SEED"
  [ "$status" -eq 0 ] || { echo "$output" >&2; false; }
  [ "$output" = "lab k3s is down" ]
}

@test "down: a pod's process outside its node's PID namespace (as an older nslab left one) dies after the nodes" {
  # down waits for the nodes first, whose PID namespaces take their pods
  # along, then goes through the pods' records: one whose process is still
  # there (not nested in its node) is killed and waited for then.
  "$NSLAB" up "$SEED" >/dev/null
  setsid bash -c 'exec -a "nslab-pause k3s default/stray" sleep 4711' &
  pid=$!
  for _ in $(seq 50); do
    grep -q 'nslab-pause k3s' "/proc/$pid/cmdline" && break
    sleep 0.1
  done
  start=$(awk '{print $22}' "/proc/$pid/stat")
  ns=$(awk '$1 == "proc" && $2 == "pod" { print $5; exit }' "$STATE_ROOT/k3s/journal")
  printf 'proc pod default/stray - %s w1 %s %s\n' "$ns" "$pid" "$start" >> "$STATE_ROOT/k3s/journal"
  run "$NSLAB" down k3s
  [ "$status" -eq 0 ]
  [ "$output" = "lab k3s is down" ]
  # killed before down returned: gone (this shell reaped it) or a zombie
  if [ -e "/proc/$pid" ]; then
    [ "$(awk '{print $3}' "/proc/$pid/stat")" = Z ]
  fi
  wait "$pid" || true
}

@test "down: a lab that is not up" {
  run "$NSLAB" down nolab
  [ "$status" -eq 1 ]
  [ "$output" = "nslab: lab nolab is not up" ]
}

@test "down --all: every lab" {
  "$NSLAB" up "$SEED" >/dev/null
  "$NSLAB" up "$(make_lab k3b 57)" >/dev/null
  run "$NSLAB" down --all
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf 'lab k3b is down\nlab k3s is down')" ]
}

@test "down: waits while another nslab holds the lab's lock" {
  "$NSLAB" up "$SEED" >/dev/null
  exec 8>>"$STATE_ROOT/k3s/lock"
  flock -x 8
  "$NSLAB" down k3s > "$BATS_TEST_TMPDIR/down.out" 2>&1 8>&- &
  dpid=$!
  sleep 0.3
  # still waiting, nothing removed yet
  kill -0 "$dpid"
  [ -n "$(ip netns list)" ]
  exec 8>&-
  wait "$dpid"
  [ "$(cat "$BATS_TEST_TMPDIR/down.out")" = "lab k3s is down" ]
}

@test "down: a pod's app and everything it started die with the pod" {
  f=$(one_node_lab procs <<'INI'
[pod default/forker]
command = "sh -c 'sleep 4242 & sleep 4243 & wait'"
INI
)
  "$NSLAB" up "$f" > /dev/null
  # Both sleeps, exec'd (a forked child still shows sh's command line): up
  # to 5 s, the machine may be busy.
  for _ in $(seq 100); do [ "$(pgrep -fc '^sleep 424[23]$')" -eq 2 ] && break; sleep 0.05; done
  [ "$(pgrep -fc '^sleep 424[23]$')" -eq 2 ]
  "$NSLAB" down procs
  for _ in $(seq 100); do pgrep -f 'sleep 424[23]' > /dev/null || break; sleep 0.05; done
  run pgrep -fa '^sleep 424[23]$|sleep 4242 &'
  [ "$status" -eq 1 ]
}
