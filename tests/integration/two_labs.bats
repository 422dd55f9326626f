#!/usr/bin/env bats
# Several labs at once; the same name twice; a clashing lab.

load helpers

@test "two labs: both up at once, each working on its own" {
  "$NSLAB" up "$SEED" >/dev/null
  run "$NSLAB" up "$(make_lab k3b 57)"
  [ "$status" -eq 0 ]
  run "$NSLAB" ls
  [ "${#lines[@]}" -eq 3 ]
  [[ "${lines[1]}" == "k3b "* ]]
  [[ "${lines[2]}" == "k3s "* ]]
  run bash -c "ip netns exec k3b-cp1 curl -s -m 3 http://10.43.31.179/ | sed -n 's/^namespace: //p'"
  [ "$output" = "demo" ]
  run bash -c "ip netns exec k3s-host curl -s -m 3 http://192.168.56.10:31885/ | sed -n 's/^namespace: //p'"
  [ "$output" = "default" ]
  run bash -c "ip netns exec k3b-host curl -s -m 3 http://192.168.57.10:31885/ | sed -n 's/^namespace: //p'"
  [ "$output" = "default" ]
  "$NSLAB" down k3s
  # the other lab is untouched
  run "$NSLAB" status k3b
  [ "$status" -eq 0 ]
  "$NSLAB" down k3b
}

@test "two labs: the same name twice is a clear error" {
  "$NSLAB" up "$SEED" >/dev/null
  f=$(make_lab k3s 58)
  run "$NSLAB" up "$f"
  [ "$status" -eq 1 ]
  [ "$output" = "nslab: lab k3s is already up (nslab down k3s first)" ]
  "$NSLAB" down k3s
}

@test "two labs: a lab on an overlapping host-only network is refused before anything is created" {
  "$NSLAB" up "$SEED" >/dev/null
  before=$(ip netns list | sort)
  run "$NSLAB" up "$(make_lab k3c 56)"
  [ "$status" -eq 2 ]
  [ "$output" = "nslab: lab k3c clashes with lab k3s, which is up: host-only network hostonly 192.168.56.0/24 overlaps its network hostonly 192.168.56.0/24" ]
  [ "$(ip netns list | sort)" = "$before" ]
  [ ! -e "$STATE_ROOT/k3c" ]
  "$NSLAB" down k3s
}

@test "two labs: a namespace name already taken is refused before anything is created" {
  ip netns add k3s-w1
  run "$NSLAB" up "$SEED"
  [ "$status" -eq 1 ]
  [ "$output" = "nslab: network namespace k3s-w1 already exists (/run/netns/k3s-w1); remove it or rename lab k3s" ]
  [ "$(ip netns list | awk '{print $1}')" = "k3s-w1" ]
  ip netns del k3s-w1
}

@test "two labs: two clashing labs started at the same instant, 50 times: exactly one wins each time" {
  a=$(one_node_lab racea </dev/null)
  b=$(one_node_lab raceb </dev/null)
  gate=$BATS_TEST_TMPDIR/gate
  for i in $(seq 50); do
    # Both wait on a shared lock of the gate the test holds exclusively,
    # and start together when it lets go.
    exec 9>"$gate"
    flock -x 9
    rm -f "$gate".a "$gate".b
    sh -c ': > "$1.a"; exec flock -s "$1" "$2" up "$3"' x "$gate" "$NSLAB" "$a" >"$BATS_TEST_TMPDIR/a.out" 2>&1 9>&- &
    pa=$!
    sh -c ': > "$1.b"; exec flock -s "$1" "$2" up "$3"' x "$gate" "$NSLAB" "$b" >"$BATS_TEST_TMPDIR/b.out" 2>&1 9>&- &
    pb=$!
    for _ in $(seq 200); do
      [ -e "$gate".a ] && [ -e "$gate".b ] && break
      sleep 0.005
    done
    sleep 0.01
    exec 9>&-
    sa=0 sb=0
    wait "$pa" || sa=$?
    wait "$pb" || sb=$?
    if [ "$sa" = 0 ] && [ "$sb" = 2 ]; then
      win=racea lose=raceb out=$BATS_TEST_TMPDIR/b.out
    elif [ "$sb" = 0 ] && [ "$sa" = 2 ]; then
      win=raceb lose=racea out=$BATS_TEST_TMPDIR/a.out
    else
      echo "round $i: racea exit $sa, raceb exit $sb" >&2
      cat "$BATS_TEST_TMPDIR/a.out" "$BATS_TEST_TMPDIR/b.out" >&2
      "$NSLAB" down --all >/dev/null 2>&1 || true
      return 1
    fi
    [[ "$(cat "$out")" == "nslab: lab $lose clashes with lab $win, which is up: "* ]] || { cat "$out" >&2; return 1; }
    "$NSLAB" down "$win" >/dev/null
    [ -z "$(leftovers)" ] || { echo "round $i: $(leftovers)" >&2; return 1; }
  done
}
