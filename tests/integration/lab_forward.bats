#!/usr/bin/env bats
# bin/lab-forward: the way the README gives a Vagrant VM's host browser a
# lab's NodePort. The sandbox's own namespace stands for the VM: it has no
# route to the lab's 192.168.56.0/24 (that lives in the lab host's
# namespace), yet through the forwarder a NodePort answers there, from the
# pods the plan puts behind it, and nothing of the invoking namespace
# changes (helpers' teardown).

bats_require_minimum_version 1.5.0

load helpers

FWD=$REPO/bin/lab-forward

# Start the forwarder in the background and wait (up to 10 s) until its
# port answers. $1 listen port, the rest lab-forward's arguments.
start_forward () {
  local port=$1; shift
  # fd 3 closed: bats waits for whoever holds it, and a forwarder (or its
  # socat) left by a failed test must not hang the whole run.
  NSLAB=$NSLAB setsid "$FWD" -b 127.0.0.1 "$@" "$port" 2>"$BATS_TEST_TMPDIR/fwd.err" 3>&- &
  FWD_PID=$!
  for _ in $(seq 100); do
    curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$port/" && return 0
    kill -0 "$FWD_PID" 2>/dev/null || { cat "$BATS_TEST_TMPDIR/fwd.err" >&2; return 1; }
    sleep 0.1
  done
  echo "lab-forward: port $port never answered" >&2
  return 1
}

stop_forward () {
  [ -n "${FWD_PID:-}" ] || return 0
  # The forwarder leads its own process group (setsid): its socat goes too.
  kill -- -"$FWD_PID" 2>/dev/null || kill "$FWD_PID" 2>/dev/null || true
  wait "$FWD_PID" 2>/dev/null || true
  FWD_PID=
}

# A test that failed before its stop_forward leaves no forwarder behind.
teardown () {
  stop_forward
  common_teardown
}

@test "lab-forward: a NodePort answers in the invoking namespace, from the pods the plan puts behind it" {
  run "$NSLAB" up "$SEED"
  [ "$status" -eq 0 ]
  # The invoking namespace cannot reach the lab's host-only network itself.
  run curl -s --max-time 1 http://192.168.56.10:31885/
  [ "$status" -ne 0 ]

  start_forward 18080 k3s 192.168.56.10:31885
  # The oracle: the plan's my-helloworld-rs pods, "name ip" per line.
  "$NSLAB" plan -o json "$SEED" | jq -r '.pods[] | select(.replicaset == "my-helloworld-rs") | "\(.name) \(.ip)"' \
    | sort > "$BATS_TEST_TMPDIR/want"
  [ "$(wc -l < "$BATS_TEST_TMPDIR/want")" -eq 6 ]
  for _ in $(seq 12); do
    out=$(curl -s --max-time 5 http://127.0.0.1:18080/)
    pod=$(echo "$out" | sed -n 's/^pod: //p')
    ip=$(echo "$out" | sed -n 's/^pod_ip: //p')
    grep -qx "$pod $ip" "$BATS_TEST_TMPDIR/want" || { echo "unexpected answer: $out" >&2; false; }
    echo "$pod" >> "$BATS_TEST_TMPDIR/seen"
  done
  # kube-proxy's random choice over 6 endpoints: 12 requests reach more than one.
  [ "$(sort -u "$BATS_TEST_TMPDIR/seen" | wc -l)" -gt 1 ]
  stop_forward
  "$NSLAB" down k3s
}

@test "lab-forward: a lab that is not up and bad arguments fail before listening" {
  run -2 "$FWD" nolab 192.168.56.10:31885 18081
  [[ "$output" == *"nolab"* ]]
  run -2 "$FWD" k3s 192.168.56.10 18081
  [[ "$output" == *"not IPV4ADDR:PORT"* ]]
  run -2 "$FWD" k3s 192.168.56.10:31885 http
  [[ "$output" == *"listen port"* ]]
  run -2 "$FWD" -b localhost k3s 192.168.56.10:31885
  [[ "$output" == *"bind address"* ]]
  # Nothing listens afterwards.
  run curl -s --max-time 1 http://127.0.0.1:18081/
  [ "$status" -ne 0 ]
}
