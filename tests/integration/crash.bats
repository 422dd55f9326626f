#!/usr/bin/env bats
# Crash safety: nslab up is killed with SIGKILL at 10 different points
# (NSLAB_TEST_CRASH_AFTER=N: after N plan ops); nslab down must then leave
# nothing, without the scenario.

load helpers

@test "crash: kill -9 of up at 10 points, then down leaves nothing each time" {
  # Spread over the plan: the first namespaces, the middle of the links,
  # the iptables payloads, the processes, and after the last op (restores
  # still running, "complete" not yet written).
  n=$("$NSLAB" plan -o json "$SEED" | jq '.ops | length')
  [ "$n" -gt 100 ]
  points="0 1 2 $((n / 8)) $((n / 4)) $((n / 2)) $((3 * n / 4)) $((n - 5)) $((n - 1)) $n"
  for p in $points; do
    run env NSLAB_TEST_CRASH_AFTER=$p "$NSLAB" up "$SEED"
    [ "$status" -eq 137 ] || { echo "crash point $p: status $status: $output" >&2; return 1; }
    run "$NSLAB" ls
    [[ "${lines[1]}" =~ ^"k3s "+.*" incomplete"$ ]] || { echo "point $p: $output" >&2; return 1; }
    run "$NSLAB" down k3s
    [ "$status" -eq 0 ] || { echo "point $p: down: $output" >&2; return 1; }
    assert_nothing_left || { echo "crash point $p left something" >&2; return 1; }
  done
}

@test "crash: kill -9 of down in the middle, then down again finishes" {
  "$NSLAB" up "$SEED" >/dev/null
  # One teardown step per recorded process (pause processes and the control
  # loop): count the records, not ps rows (a pod's app shows as nslab-pause
  # until it has renamed itself).
  procs=$(( $(grep -c '^proc ' "$STATE_ROOT/k3s/journal") - $(grep -c '^gone-proc ' "$STATE_ROOT/k3s/journal" || true) ))
  nsn=$(ip netns list | wc -l)
  [ "$procs" -gt 0 ] && [ "$nsn" -gt 3 ]
  # Steps of down: each process killed, each namespace deleted, the record
  # removed. After all processes and 3 namespaces:
  run env NSLAB_TEST_CRASH_AFTER=$((procs + 3)) "$NSLAB" down k3s
  [ "$status" -eq 137 ]
  [ "$(pgrep -fc '^nslab-pause k3s ')" -eq 0 ]
  [ "$(ip netns list | wc -l)" -eq $((nsn - 3)) ]
  run "$NSLAB" ls
  [[ "${lines[1]}" =~ ^"k3s "+.*" up"$ ]]
  run "$NSLAB" down k3s
  [ "$status" -eq 0 ]
  [ "$output" = "lab k3s is down" ]
}

@test "crash: Ctrl-C during down finishes the teardown, then ends nslab" {
  "$NSLAB" up "$SEED" >/dev/null
  procs=$(( $(grep -c '^proc ' "$STATE_ROOT/k3s/journal") - $(grep -c '^gone-proc ' "$STATE_ROOT/k3s/journal" || true) ))
  # A Ctrl-C ends a process only where SIGINT is not ignored: a CI job started
  # in the background inherits it ignored, so give down the default, as a
  # terminal would.
  run env --default-signal=INT NSLAB_TEST_CRASH_AFTER=$((procs + 3)) NSLAB_TEST_CRASH_SIGNAL=INT "$NSLAB" down k3s
  echo "down: status $status, output: $output" >&2
  [ "$status" -eq 130 ]
  [ "$output" = "lab k3s is down" ]
}

@test "crash: Ctrl-C during up rolls back by itself at 6 points (also before the first op) and leaves nothing" {
  n=$("$NSLAB" plan -o json "$SEED" | jq '.ops | length')
  for p in 0 1 $((n / 4)) $((n / 2)) $((n * 3 / 4)) $((n - 1)); do
    run env NSLAB_TEST_CRASH_AFTER=$p NSLAB_TEST_CRASH_SIGNAL=INT "$NSLAB" up "$SEED"
    [ "$status" -eq 1 ]
    [ "$output" = "nslab: interrupted by Interrupt: rolled back" ]
    [ -z "$(leftovers)" ] || { echo "after SIGINT at op $p: $(leftovers)" >&2; false; }
  done
}
