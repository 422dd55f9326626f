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
