#!/usr/bin/env bats
# Root's `down` acts on what it reads under the state root: anything there
# that root did not write, or that names something outside the lab, is
# refused with one line, and nothing it points at is harmed.

load helpers

# A hand-made lab dir $STATE_ROOT/$1 (root's, 0700) whose journal is the
# header followed by stdin.
fake_lab () {
  mkdir -p -m 0755 "$STATE_ROOT"
  mkdir -m 0700 "$STATE_ROOT/$1"
  { printf 'nslab-state 1\nlab %s\ncreated %s\nscenario -\n' "$1" "$(date +%s)"; cat; } > "$STATE_ROOT/$1/journal"
  chmod 0600 "$STATE_ROOT/$1/journal"
  : > "$STATE_ROOT/$1/lock"
  chmod 0600 "$STATE_ROOT/$1/lock"
}

@test "state: a symlinked lab dir is not a lab: down, down --all and ls leave it and its target alone" {
  victim=$BATS_TEST_TMPDIR/victim
  mkdir -m 0700 "$victim"
  echo keep > "$victim/file"
  printf 'nslab-state 1\nlab evil\nnetns evil-x\n' > "$victim/journal"
  mkdir -p -m 0755 "$STATE_ROOT"
  ln -s "$victim" "$STATE_ROOT/evil"
  run "$NSLAB" down evil
  [ "$status" -eq 1 ]
  [ "$output" = "nslab: $STATE_ROOT/evil is not an nslab lab (a symlink or not a directory): left as it is" ]
  run "$NSLAB" ls
  [ "${#lines[@]}" -eq 1 ]
  run "$NSLAB" down --all
  [ "$status" -eq 0 ]
  [ "$output" = "nslab: skipped $STATE_ROOT/evil is not an nslab lab (a symlink or not a directory): left as it is" ]
  [ "$(cat "$victim/file")" = keep ]
  [ -f "$victim/journal" ] && [ -L "$STATE_ROOT/evil" ]
  rm "$STATE_ROOT/evil"
}

@test "state: a symlinked journal is refused and its target not truncated; the lab goes down once it is back" {
  "$NSLAB" up "$(one_node_lab sec </dev/null)" >/dev/null
  victim=$BATS_TEST_TMPDIR/victim
  printf 'precious\nno newline at the end' > "$victim"
  mv "$STATE_ROOT/sec/journal" "$BATS_TEST_TMPDIR/journal"
  ln -s "$victim" "$STATE_ROOT/sec/journal"
  run "$NSLAB" down sec
  [ "$status" -eq 1 ]
  [ "$output" = "nslab: $STATE_ROOT/sec/journal is a symlink: left as it is" ]
  [ "$(cat "$victim")" = "$(printf 'precious\nno newline at the end')" ]
  [ "$(ip netns list | wc -l)" -eq 2 ]
  rm "$STATE_ROOT/sec/journal"
  mv "$BATS_TEST_TMPDIR/journal" "$STATE_ROOT/sec/journal"
  run "$NSLAB" down sec
  [ "$status" -eq 0 ]
}

@test "state: removing the lab dir never follows a link out of it" {
  "$NSLAB" up "$(one_node_lab sec </dev/null)" >/dev/null
  victim=$BATS_TEST_TMPDIR/victim
  mkdir "$victim"
  echo keep > "$victim/file"
  ln -s "$victim" "$STATE_ROOT/sec/files/evil"
  ln -s "$victim/file" "$STATE_ROOT/sec/logs/evil.log"
  run "$NSLAB" down sec
  [ "$status" -eq 0 ]
  [ "$(cat "$victim/file")" = keep ]
}

@test "state: netns records outside the lab (../x, absolute, another prefix) are refused; the rest goes down" {
  "$NSLAB" up "$(one_node_lab sec </dev/null)" >/dev/null
  echo keep > /run/victim
  ip netns add other-ns
  printf 'netns other-ns\nnetns /run/victim\nnetns ../victim\n' >> "$STATE_ROOT/sec/journal"
  run "$NSLAB" down sec
  [ "$status" -eq 1 ]
  [ "$output" = 'nslab: refused journal record "netns ../victim": not a namespace name of lab sec (sec-NAME): left as it is' ]
  # the lab's own namespaces and processes are gone, the record stays
  [ "$(ip netns list | awk '{print $1}')" = other-ns ]
  [ -z "$(pgrep -f '^nslab-pause sec ')" ]
  [ -d "$STATE_ROOT/sec" ]
  [ "$(cat /run/victim)" = keep ]
  run "$NSLAB" down sec
  [ "$status" -eq 1 ]
  [ "$(cat /run/victim)" = keep ]
  [ "$(ip netns list | awk '{print $1}')" = other-ns ]
  ip netns del other-ns
  rm -f /run/victim
  rm -rf "${STATE_ROOT:?}/sec"
}

@test "state: a namespace with the lab's prefix that the lab did not create is left alone" {
  ip netns add sec-taken
  ip netns add sec-forged
  ino=$(stat -c '%d %i' /run/netns/sec-forged)
  fake_lab sec <<EOF2
netns sec-taken
netns sec-forged
netns-ino sec-forged 1 ${ino#* }
EOF2
  run "$NSLAB" down sec
  [ "$status" -eq 1 ]
  [ "$output" = "nslab: sec-forged: /run/netns/sec-forged is not the namespace this lab created: left as it is" ]
  [ "$(ip netns list | awk '{print $1}' | sort | tr '\n' ' ')" = "sec-forged sec-taken " ]
  # without a recorded identity a mounted namespace is never ours either
  sed -i '/^netns sec-forged$/d; /^netns-ino/d' "$STATE_ROOT/sec/journal"
  run "$NSLAB" down sec
  [ "$status" -eq 1 ]
  [ "$output" = "nslab: sec-taken: /run/netns/sec-taken is not the namespace this lab created: left as it is" ]
  [ "$(ip netns list | wc -l)" -eq 2 ]
  ip netns del sec-taken
  ip netns del sec-forged
  rm -rf "${STATE_ROOT:?}/sec"
}

@test "state: an empty namespace placeholder left by a kill before the mount is cleaned by down" {
  mkdir -p /run/netns
  : > /run/netns/sec-n1
  chmod 0 /run/netns/sec-n1
  fake_lab sec <<<'netns sec-n1'
  run "$NSLAB" down sec
  [ "$status" -eq 0 ]
  [ ! -e /run/netns/sec-n1 ]
}

@test "state: a forged proc record naming a live process that is not a pause process is refused" {
  sleep 4711 &
  pid=$!
  start=$(awk '{print $22}' "/proc/$pid/stat")
  fake_lab sec <<<"proc pod default/x pod/x sec-n1 n1 $pid $start"
  run "$NSLAB" down sec
  [ "$status" -eq 1 ]
  [ "$output" = "nslab: refused journal record \"proc default/x\": pid $pid is not a pause process of lab sec: left as it is" ]
  kill -0 "$pid"
  [ "$(awk '{print $22}' "/proc/$pid/stat")" = "$start" ]
  [ -d "$STATE_ROOT/sec" ]
  kill "$pid"
  wait "$pid" || true
  rm -rf "${STATE_ROOT:?}/sec"
}

@test "state: a foreign directory under the state root: ls ignores it, down refuses it, down --all leaves it" {
  mkdir -p -m 0755 "$STATE_ROOT"
  mkdir -m 0700 "$STATE_ROOT/foreign"
  echo data > "$STATE_ROOT/foreign/file"
  "$NSLAB" up "$(one_node_lab sec </dev/null)" >/dev/null
  run "$NSLAB" ls
  [ "${#lines[@]}" -eq 2 ]
  [[ "${lines[1]}" == "sec "* ]]
  run "$NSLAB" down foreign
  [ "$status" -eq 1 ]
  [ "$output" = "nslab: $STATE_ROOT/foreign is not an nslab lab (no valid state header): left as it is" ]
  run "$NSLAB" down --all
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf 'nslab: skipped %s/foreign is not an nslab lab (no valid state header): left as it is\nlab sec is down' "$STATE_ROOT")" ]
  [ "$(cat "$STATE_ROOT/foreign/file")" = data ]
  [ ! -e "$STATE_ROOT/foreign/lock" ]
  # a journal of an unknown version is refused whole, not half-read
  printf 'nslab-state 9\nlab foreign\nnetns foreign-x\n' > "$STATE_ROOT/foreign/journal"
  run "$NSLAB" down foreign
  [ "$status" -eq 1 ]
  [ "$output" = "nslab: $STATE_ROOT/foreign/journal: unknown state version \"nslab-state 9\" (this nslab reads nslab-state 1): left as it is" ]
  [ "$(cat "$STATE_ROOT/foreign/file")" = data ]
  rm -rf "${STATE_ROOT:?}/foreign"
}

@test "state: down --all on a shared state root takes down its labs and nothing else" {
  shared=$(mktemp -d /tmp/nslab-shared.XXXXXX)
  chmod 0755 "$shared"
  mkdir "$shared/keepdir"
  echo keep > "$shared/keepdir/file"
  echo keep > "$shared/keepfile"
  NSLAB_STATE_DIR=$shared "$NSLAB" up "$(one_node_lab sec </dev/null)" >/dev/null
  run env NSLAB_STATE_DIR="$shared" "$NSLAB" down --all
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf 'nslab: skipped %s/keepdir is owned by uid 0 with mode 0755: nslab only trusts %s; left as it is\nlab sec is down' "$shared" "a lab dir owned by root and closed to group and others")" ]
  [ "$(cat "$shared/keepdir/file")" = keep ] && [ "$(cat "$shared/keepfile")" = keep ]
  [ "$(ls -A "$shared" | tr '\n' ' ')" = "keepdir keepfile " ]
  # a world-writable root (/tmp itself, say) is refused whole
  chmod 1777 "$shared"
  run env NSLAB_STATE_DIR="$shared" "$NSLAB" down --all
  [ "$status" -eq 1 ]
  [ "$output" = "nslab: $shared is owned by uid 0 with mode 1777: nslab only trusts a state root owned by root and not writable by group or others; left as it is" ]
  [ "$(cat "$shared/keepdir/file")" = keep ]
  rm -rf "$shared"
}

@test "state: a lab dir or state root not owned by root, or writable by others, is refused and left as it is" {
  "$NSLAB" up "$(one_node_lab sec </dev/null)" >/dev/null
  chown 65534 "$STATE_ROOT/sec"
  # the lab's control loop stops once it can no longer trust its dir (it
  # wakes on the dir's change): wait for that before the dir is root's again,
  # or a loaded machine lets it sleep through the whole window
  # (until it has exited: a zombie or gone; an exiting process loses its
  # command line before it is a zombie, so pgrep alone says so too early)
  pid=$(awk '$1 == "proc" && $2 == "control" && $3 == "controller" { print $7 }' "$STATE_ROOT/sec/journal")
  [ -n "$pid" ]
  exited () { [ ! -e "/proc/$pid/stat" ] || [[ "$(cat "/proc/$pid/stat" 2>/dev/null)" =~ \)\ [ZX]\  ]]; }
  for _ in $(seq 100); do exited && break; sleep 0.1; done
  exited
  run "$NSLAB" down sec
  [ "$status" -eq 1 ]
  [ "$output" = "nslab: $STATE_ROOT/sec is owned by uid 65534 with mode 0700: nslab only trusts a lab dir owned by root and closed to group and others; left as it is" ]
  chown 0 "$STATE_ROOT/sec"
  chmod 0777 "$STATE_ROOT/sec"
  run "$NSLAB" down sec
  [ "$status" -eq 1 ]
  [ "$output" = "nslab: $STATE_ROOT/sec is owned by uid 0 with mode 0777: nslab only trusts a lab dir owned by root and closed to group and others; left as it is" ]
  chmod 0700 "$STATE_ROOT/sec"
  chown 65534 "$STATE_ROOT"
  run "$NSLAB" down --all
  [ "$status" -eq 1 ]
  [ "$output" = "nslab: $STATE_ROOT is owned by uid 65534 with mode 0755: nslab only trusts a state root owned by root and not writable by group or others; left as it is" ]
  run "$NSLAB" up "$(one_node_lab sed </dev/null)"
  [ "$status" -eq 1 ]
  chown 0 "$STATE_ROOT"
  # nothing was touched meanwhile: the lab's namespaces and node are whole
  # and it goes down; its own processes (control loop, runtime agent, API
  # server) stopped when they could no longer trust its dir, and status
  # names them and nothing else
  [ "$(ip netns list | wc -l)" -eq 2 ]
  run "$NSLAB" status sec
  [[ "$output" =~ $'\n'"node "+"n1 "[^$'\n']*" alive"$'\n' ]]
  [ -z "$(echo "$output" | grep ' dead$' | grep -v '^control ')" ]
  [[ "$output" != *"PROBLEM"* ]]
  # and names the way back (nothing restarts them)
  echo "$output" | grep -qxF "the lab's control loop is not running: nothing applies changes, probes pods or answers kubectl; nslab down sec, then nslab up its scenario file, brings it back"
  run "$NSLAB" down sec
  [ "$status" -eq 0 ]
}

@test "state: exec, status and ls trust a snapshot only if it is root's own file: a symlink or a foreign owner is refused" {
  f=$(one_node_lab sec <<'INI'
[pod default/p]
INI
)
  "$NSLAB" up "$f" >/dev/null
  snap=$STATE_ROOT/sec/plan.json
  mv "$snap" "$BATS_TEST_TMPDIR/plan.json"
  # A snapshot pointing elsewhere: never read through the link.
  ln -s "$BATS_TEST_TMPDIR/plan.json" "$snap"
  run "$NSLAB" exec sec node/n1 -- true
  [ "$status" -eq 1 ]
  [ "$output" = "nslab: $snap is a symlink: left as it is" ]
  run "$NSLAB" status sec
  [ "$status" -eq 1 ]
  [ "$output" = "nslab: $snap is a symlink: left as it is" ]
  rm "$snap"
  # A snapshot someone else wrote.
  cp "$BATS_TEST_TMPDIR/plan.json" "$snap"
  chown 65534 "$snap"
  run "$NSLAB" exec sec pod/p -- true
  [ "$status" -eq 1 ]
  [ "$output" = "nslab: $snap is not a regular file owned by root: left as it is" ]
  # The journal alone still takes the lab down, and ls still lists it.
  run "$NSLAB" ls
  [[ "${lines[1]}" == "sec "* ]]
  run "$NSLAB" down sec
  [ "$status" -eq 0 ]
}

@test "state: a damaged snapshot is refused with the member that is wrong" {
  "$NSLAB" up "$(one_node_lab sec </dev/null)" >/dev/null
  snap=$STATE_ROOT/sec/plan.json
  jq '.nodes[0].internal_ip = "300.1.1.1"' "$snap" > "$BATS_TEST_TMPDIR/bad.json"
  cat "$BATS_TEST_TMPDIR/bad.json" > "$snap"
  run "$NSLAB" exec sec node/n1 -- true
  [ "$status" -eq 1 ]
  [ "$output" = "nslab: $snap: nodes[0].internal_ip: missing or not an IPv4 address" ]
  run "$NSLAB" down sec
  [ "$status" -eq 0 ]
}
