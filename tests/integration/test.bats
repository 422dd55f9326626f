#!/usr/bin/env bats
# nslab test on the seed lab: its own checks pass; every kind passes and
# fails on purpose (checks/kinds.ini: p-* must pass, f-* must fail, each
# failure saying what was expected and what was seen); TAP and JUnit
# (against checks/junit.xsd with xmllint); --wait; up --wait; down
# --ignore-not-found.

bats_require_minimum_version 1.5.0

load helpers

KINDS="$BATS_TEST_DIRNAME/checks/kinds.ini"

@test "test: the seed lab's own checks pass (text, TAP, JUnit), up --wait" {
  run "$NSLAB" up --wait "$SEED"
  [ "$status" -eq 0 ] || { echo "$output" >&2; false; }
  run "$NSLAB" test k3s
  echo "$output"
  [ "$status" -eq 0 ]
  n=$(grep -c '^\[check ' "$SEED")
  [ "$(grep -c '^ok ' <<<"$output")" -eq "$n" ]
  [[ "${lines[-1]}" == "$n passed, 0 failed"* ]]
  run "$NSLAB" test -o tap --junit "$BATS_TEST_TMPDIR/j.xml" k3s
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "1..$n" ]
  [ "$(grep -cE '^ok [0-9]+ - ' <<<"$output")" -eq "$n" ]
  xmllint --noout --schema "$BATS_TEST_DIRNAME/checks/junit.xsd" "$BATS_TEST_TMPDIR/j.xml"
  [ "$(xmllint --xpath 'count(//testcase)' "$BATS_TEST_TMPDIR/j.xml")" -eq "$n" ]
  [ "$(xmllint --xpath 'count(//failure)' "$BATS_TEST_TMPDIR/j.xml")" -eq 0 ]
  "$NSLAB" down k3s
}

@test "test: every kind passes and fails on purpose; failures show expected and seen" {
  "$NSLAB" up "$SEED" >/dev/null
  cp "$KINDS" "$BATS_TEST_TMPDIR/kinds.ini"
  # nft sees kube-proxy's rules only when iptables is the nf_tables one.
  if ip netns exec k3s-w1 iptables --version | grep -q nf_tables; then
    printf '[check p-nft-present]\ntype = nft\ntarget = node/w1\nmatch = chain KUBE-SERVICES\n' >> "$BATS_TEST_TMPDIR/kinds.ini"
  fi
  run "$NSLAB" test --wait k3s "$BATS_TEST_TMPDIR/kinds.ini"
  echo "$output"
  [ "$status" -eq 1 ]
  total=$(grep -c '^\[check ' "$BATS_TEST_TMPDIR/kinds.ini")
  pass=$(grep -c '^\[check p-' "$BATS_TEST_TMPDIR/kinds.ini")
  [ "${#lines[@]}" -eq $((total + 1)) ]
  for name in $(sed -n 's/^\[check \(p-[^]]*\)\]/\1/p' "$BATS_TEST_TMPDIR/kinds.ini"); do
    grep -q "^ok   $name (" <<<"$output" || { echo "not ok: $name"; false; }
  done
  for name in $(sed -n 's/^\[check \(f-[^]]*\)\]/\1/p' "$BATS_TEST_TMPDIR/kinds.ini"); do
    grep -q "^FAIL $name (" <<<"$output" || { echo "not FAIL: $name"; false; }
  done
  [[ "${lines[-1]}" == "$pass passed, $((total - pass)) failed"* ]]
  # What was expected against what was seen.
  grep -q '^FAIL f-http-status .*expected 1/1 with status 404, seen 0/1 (first failure: status 200)' <<<"$output"
  grep -q '^FAIL f-http-backends .*expected at least 2 backends, seen 1 (web-8597f6f985-56kng)' <<<"$output"
  grep -q '^FAIL f-tcp .*expected reachable, seen tcp 10.42.1.2:81 unreachable (Connection refused)' <<<"$output"
  grep -q '^FAIL f-command .*expected output matching /^w1$/, seen: cp1' <<<"$output"
  grep -q '^FAIL f-nft .*expected a line of nft list ruleset matching /nslab-no-such-table/, seen none' <<<"$output"
  grep -q '^FAIL f-target .*lab k3s has no node "nope"' <<<"$output"

  run "$NSLAB" test -o tap --junit "$BATS_TEST_TMPDIR/j.xml" k3s "$BATS_TEST_TMPDIR/kinds.ini"
  [ "$status" -eq 1 ]
  [ "${lines[0]}" = "1..$total" ]
  [ "$(grep -cE '^not ok [0-9]+ - f-' <<<"$output")" -eq $((total - pass)) ]
  [ "$(grep -cE '^ok [0-9]+ - p-' <<<"$output")" -eq "$pass" ]
  xmllint --noout --schema "$BATS_TEST_DIRNAME/checks/junit.xsd" "$BATS_TEST_TMPDIR/j.xml"
  [ "$(xmllint --xpath 'count(//testcase/failure)' "$BATS_TEST_TMPDIR/j.xml")" -eq $((total - pass)) ]
  [ "$(xmllint --xpath 'string(//testsuite/@failures)' "$BATS_TEST_TMPDIR/j.xml")" -eq $((total - pass)) ]
  "$NSLAB" down k3s
}

@test "test: bad checks file, unknown lab, down --ignore-not-found" {
  printf '[check a]\ntype = htp\n' > "$BATS_TEST_TMPDIR/bad.ini"
  "$NSLAB" up "$SEED" >/dev/null
  run "$NSLAB" test k3s "$BATS_TEST_TMPDIR/bad.ini"
  [ "$status" -eq 2 ]
  [ "$output" = "nslab: $BATS_TEST_TMPDIR/bad.ini: [check a] type: unknown check type \"htp\" (did you mean http?)" ]
  "$NSLAB" down k3s
  run "$NSLAB" test k3s
  [ "$status" -ne 0 ]
  [[ "$output" == *'unknown lab "k3s"'* ]]
  run "$NSLAB" down k3s
  [ "$status" -ne 0 ]
  run "$NSLAB" down --ignore-not-found k3s
  [ "$status" -eq 0 ]
}

@test "containers: a read-only /proc/sys names the flag; root without a capability names it" {
  # What docker does without systempaths=unconfined: /proc/sys read-only.
  run unshare --mount sh -c 'mount --make-rprivate / && mount --bind -o ro /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys && "$0" up "$1"' "$NSLAB" "$SEED"
  echo "$output"
  [ "$status" -ne 0 ]
  [[ "$output" == *"Read-only file system"* ]]
  [[ "$output" == *$'\n'"/proc/sys is read-only: run the container with --security-opt systempaths=unconfined (or --privileged); see docs/containers.md"* ]]
  [ -z "$(ip netns list)" ]
  command -v setpriv >/dev/null || skip "setpriv (util-linux) is not installed"
  run setpriv --bounding-set=-sys_admin -- "$NSLAB" up "$SEED"
  [ "$status" -eq 1 ]
  [ "$output" = "nslab: root without CAP_SYS_ADMIN"$'\n'"in a container, add --cap-add SYS_ADMIN (or --privileged; docs/containers.md)" ]
  run setpriv --bounding-set=-sys_admin,-net_admin -- "$NSLAB" ls
  [ "$status" -eq 1 ]
  [ "${lines[0]}" = "nslab: root without CAP_NET_ADMIN and CAP_SYS_ADMIN" ]
  [ "${lines[1]}" = "in a container, add --cap-add NET_ADMIN --cap-add SYS_ADMIN (or --privileged; docs/containers.md)" ]
}

@test "export: the bundle holds the state, the journal, the app logs and each namespace's kernel view" {
  "$NSLAB" up "$SEED" >/dev/null
  run "$NSLAB" export k3s -o "$BATS_TEST_TMPDIR/k3s.tar.gz"
  echo "$output"
  [ "$status" -eq 0 ]
  bsdtar -tf "$BATS_TEST_TMPDIR/k3s.tar.gz" > "$BATS_TEST_TMPDIR/list"
  grep -qx 'k3s/state/plan.json' "$BATS_TEST_TMPDIR/list"
  grep -qx 'k3s/state/journal' "$BATS_TEST_TMPDIR/list"
  # The store, readable as it is: the pods the lab has.
  grep -qx 'k3s/state/store.db' "$BATS_TEST_TMPDIR/list"
  mkdir "$BATS_TEST_TMPDIR/x"
  bsdtar -xf "$BATS_TEST_TMPDIR/k3s.tar.gz" -C "$BATS_TEST_TMPDIR/x" k3s/state
  [ "$(sqlite3 "$BATS_TEST_TMPDIR/x/k3s/state/store.db" 'pragma integrity_check')" = ok ]
  [ "$(sqlite3 "$BATS_TEST_TMPDIR/x/k3s/state/store.db" "select count(*) from objects where kind = 'Pod'")" -eq 9 ]
  # One log per pod of the lab.
  [ "$(grep -c '^k3s/state/logs/.*\.log$' "$BATS_TEST_TMPDIR/list")" -eq "$(ls /run/nslab/k3s/logs | wc -l)" ]
  # Every namespace the lab has, each with its dumps.
  for ns in $(ip netns list | awk '{print $1}'); do
    for f in ip-addr ip-link ip-route ip-rule ip-neigh bridge-fdb iptables-save nft-ruleset sysctl-net; do
      grep -qx "k3s/netns/$ns/$f.txt" "$BATS_TEST_TMPDIR/list" || { echo "missing $ns/$f"; false; }
    done
  done
  # The contents are what the kernel shows there.
  # (IPv6 link-local routes come and go with DAD: IPv4 only.)
  diff <(bsdtar -xOf "$BATS_TEST_TMPDIR/k3s.tar.gz" k3s/netns/k3s-cp1/ip-route.txt | grep -v :) \
       <(ip -n k3s-cp1 route show table all | grep -v :)
  bsdtar -xOf "$BATS_TEST_TMPDIR/k3s.tar.gz" k3s/netns/k3s-cp1/bridge-fdb.txt | grep -q 'dev flannel.1 dst 192.168.56.11'
  bsdtar -xOf "$BATS_TEST_TMPDIR/k3s.tar.gz" k3s/netns/k3s-w1/iptables-save.txt | grep -q -- '-A KUBE-SERVICES -d 10.43.31.179'
  cmp <(bsdtar -xOf "$BATS_TEST_TMPDIR/k3s.tar.gz" k3s/state/plan.json) /run/nslab/k3s/plan.json
  run "$NSLAB" export nope -o "$BATS_TEST_TMPDIR/x.tar.gz"
  [ "$status" -ne 0 ]
  [ ! -e "$BATS_TEST_TMPDIR/x.tar.gz" ]
  "$NSLAB" down k3s
}

@test "test: every shipped lab's checks pass" {
  for f in "$REPO"/labs/*.ini; do
    grep -q '^\[check ' "$f" || { echo "$f has no checks"; false; }
    lab=$(sed -n 's/^name = //p' "$f" | head -n 1)
    "$NSLAB" up --wait "$f" >/dev/null
    run "$NSLAB" test "$lab"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "${lines[-1]}" == *" passed, 0 failed"* ]]
    "$NSLAB" down "$lab"
  done
}
