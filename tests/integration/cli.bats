#!/usr/bin/env bats
# The CLI as a user meets it: validate and plan without root, bad input
# refused with one line and exit 2 before anything exists, and every lab
# shipped in labs/ coming up, answering and going away; help and usage
# conventions, -o json, the "Try:" lines, escaping, install and completion.

bats_require_minimum_version 1.5.0

load helpers

VERBS="validate plan up down ls status exec test export scale delete apply get describe kubectl"

# The verbs `nslab --help` lists, in its order.
usage_verbs () {
  "$NSLAB" --help | sed -n '/^commands:$/,/^$/p' | awk '/^  [a-z]/ { print $1 }' | tr '\n' ' ' | sed 's/ $//'
}

@test "cli: validate and plan need no root; plan -o json is JSON" {
  make_nobody_copy
  local bin=$NOBODY_DIR/bin/nslab seed=$NOBODY_DIR/labs/k3s-virtualbox.ini
  run as_nobody "$bin" validate "$seed"
  [ "$status" -eq 0 ]
  [ "$output" = "$seed: ok (lab k3s: 3 nodes, 9 pods, 4 services)" ]
  run as_nobody "$bin" plan "$seed"
  [ "$status" -eq 0 ]
  [[ "$output" == *"ip route add 10.42.1.0/24 via 10.42.1.0 dev flannel.1 onlink"* ]]
  as_nobody "$bin" plan -o json "$seed" | jq -e '.services | map(select(.name == "web-svc"))[0].cluster_ip == "10.43.31.179"'
  run as_nobody "$bin" plan -o yaml "$seed"
  [ "$status" -eq 2 ]
  [ "$output" = 'nslab: plan: unknown output format "yaml" (text or json)' ]
  rm -rf "$NOBODY_DIR"
}

@test "cli: a bad scenario is one line naming file, section and key, exit 2, and up creates nothing" {
  f=$BATS_TEST_TMPDIR/bad.ini
  sed 's/^cluster_ip = 10.43.31.179$/cluster_ip = 10.96.0.5/' "$SEED" > "$f"
  sed -i "s|^template = k3s|template = $REPO/templates/k3s.ini|" "$f"
  run "$NSLAB" validate "$f"
  [ "$status" -eq 2 ]
  [ "$output" = "nslab: $f: [service demo/web-svc] cluster_ip: 10.96.0.5 is outside service CIDR 10.43.0.0/16" ]
  run "$NSLAB" up "$f"
  [ "$status" -eq 2 ]
  [ "${#lines[@]}" -eq 1 ]
  [ -z "$(leftovers)" ]
  run "$NSLAB" frobnicate
  [ "$status" -eq 2 ]
  [ "$output" = 'nslab: unknown command "frobnicate" (see nslab --help)' ]
}

@test "cli: every lab in labs/ validates, comes up, answers on its first service and goes down" {
  for lab in "$REPO"/labs/*.ini; do
    name=$("$NSLAB" plan -o json "$lab" | jq -r .lab)
    "$NSLAB" up "$lab" > /dev/null
    # the first user service with endpoints, curled from the lab's first pod
    read -r pod ns ip port < <("$NSLAB" plan -o json "$lab" | jq -r '
      ([.services[] | select(.namespace != "kube-system" and .name != "kubernetes"
                             and (.ports[0].endpoints | length) > 0)][0]) as $s
      | [.pods[0].name, .pods[0].namespace, $s.cluster_ip, ($s.ports[0].port | tostring)] | join(" ")')
    run "$NSLAB" exec "$name" -n "$ns" "pod/$pod" -- curl -s -m 3 "http://$ip:$port/"
    [ "$status" -eq 0 ]
    [[ "$output" == *"pod: "* ]]
    "$NSLAB" down "$name"
  done
}

@test "cli: -h/--help on every verb and nslab help VERB print its usage on stdout, exit 0" {
  for verb in $VERBS; do
    run --separate-stderr "$NSLAB" "$verb" --help
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    [[ "${lines[0]}" == "usage: nslab $verb"* ]]
    help=$output
    run --separate-stderr "$NSLAB" "$verb" -h
    [ "$status" -eq 0 ]
    [ "$output" = "$help" ]
    run --separate-stderr "$NSLAB" help "$verb"
    [ "$status" -eq 0 ]
    [ "$output" = "$help" ]
  done
  for args in --help help; do
    run --separate-stderr "$NSLAB" $args
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    [ "${lines[0]}" = "usage: nslab COMMAND [ARGS]" ]
    [[ "$output" == *"--version"* ]]
    for verb in $VERBS; do [[ "$output" == *"  $verb "* ]]; done
  done
  # A verb added to cli.c but not to this list fails here, not silently.
  [ "$(usage_verbs)" = "$VERBS" ]
  for args in "help -h" "help --help"; do
    run --separate-stderr "$NSLAB" $args
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    [ "${lines[0]}" = "usage: nslab COMMAND [ARGS]" ]
  done
  run --separate-stderr "$NSLAB" --version
  [ "$status" -eq 0 ]
  [[ "$output" =~ ^"nslab "[0-9]+\.[0-9]+\.[0-9]+$ ]]
}

@test "cli: usage errors go to stderr with exit 2" {
  for args in "" "validate" "validate a b" "plan" "plan -x f.ini" "up" "down" "down -x" "ls extra" \
              "status" "status -x k3s" "exec" "exec k3s" "help nosuch" "nosuch"; do
    run --separate-stderr "$NSLAB" $args
    [ "$status" -eq 2 ] || { echo "nslab $args: exit $status"; return 1; }
    [ -z "$output" ] || { echo "nslab $args: stdout: $output"; return 1; }
    [ -n "$stderr" ]
  done
  run --separate-stderr "$NSLAB" validate
  [ "${stderr_lines[0]}" = "usage: nslab validate FILE" ]
  run --separate-stderr "$NSLAB" ls -o yaml
  [ "$status" -eq 2 ]
  [ "$stderr" = 'nslab: ls: unknown output format "yaml" (text or json)' ]
}

@test "cli: control, bidi and zero-width characters from the scenario or the command line are escaped" {
  f=$BATS_TEST_TMPDIR/bad.ini
  sed $'s/^cluster_ip = 10.43.31.179$/cluster_ip = 10.96.0.5\e[31m\xe2\x80\xae\xe2\x80\x8b/' "$SEED" > "$f"
  sed -i "s|^template = k3s|template = $REPO/templates/k3s.ini|" "$f"
  run "$NSLAB" validate "$f"
  [ "$status" -eq 2 ]
  [ "$output" = "nslab: $f: [service demo/web-svc] cluster_ip: \"10.96.0.5\\x1b[31m\\u202e\\u200b\" is not an IPv4 address" ]
  run "$NSLAB" $'x\e]0;title\a\xe2\x81\xa6'
  [ "$status" -eq 2 ]
  [ "$output" = 'nslab: unknown command "x\x1b]0;title\x07\u2066" (see nslab --help)' ]
  # Real newlines remain only between the message and its hint lines.
  "$NSLAB" up "$SEED" > /dev/null
  run "$NSLAB" exec k3s $'pod/a\nb' -- true
  [ "$status" -eq 2 ]
  [ "${lines[0]}" = 'nslab: lab k3s has no pod "a\nb" in namespace "default"' ]
  [ "${lines[1]}" = "valid targets: host, node/cp1, node/w1, node/w2" ]
  "$NSLAB" down k3s
}

@test "cli: ls and status -o json print what the text prints" {
  run "$NSLAB" ls -o json
  [ "$status" -eq 0 ]
  [ "$(echo "$output" | jq -c .)" = "[]" ]
  "$NSLAB" up "$SEED" > /dev/null
  "$NSLAB" ls -o json | jq -e 'length == 1 and .[0].name == "k3s" and .[0].nodes == 3 and .[0].pods == 9
                               and .[0].services == 4 and .[0].status == "up" and .[0].age_seconds >= 0'
  # The text table's row, field by field.
  read -r name nodes pods svcs _ st < <("$NSLAB" ls | sed -n 2p)
  [ "$("$NSLAB" ls -o json | jq -r '.[0] | "\(.name) \(.nodes) \(.pods) \(.services) \(.status)"')" = "$name $nodes $pods $svcs $st" ]

  run "$NSLAB" status -o json k3s
  [ "$status" -eq 0 ]
  echo "$output" | jq -e '.lab == "k3s" and .healthy == true and .status == "up" and .nodes == 3
                         and (.processes | length) == 12 and all(.processes[]; .alive and .netns_present)
                         and (.netns | length) > 0 and all(.netns[]; .present)'
  # Same processes as the text table.
  [ "$(echo "$output" | jq -r '.processes[] | "\(.kind) \(.name) \(.pid)"' | sort)" = \
    "$("$NSLAB" status k3s | awk '$1 == "node" || $1 == "pod" { print $1, $2, $6 }' | sort)" ]

  # A dead pause process: unhealthy, exit 1, in both formats.
  pid=$("$NSLAB" status -o json k3s | jq -r '.processes[] | select(.kind == "pod") | .pid' | head -1)
  kill -KILL "$pid"
  wait_gone "$pid"
  run --separate-stderr "$NSLAB" status -o json k3s
  [ "$status" -eq 1 ]
  echo "$output" | jq -e --argjson pid "$pid" '.healthy == false and (.processes[] | select(.pid == $pid) | .alive) == false'
  run "$NSLAB" status k3s
  [ "$status" -eq 1 ]
  [ "${lines[-1]}" = "unhealthy" ]
  "$NSLAB" down k3s
}

@test "cli: every Try: line printed by up runs as printed" {
  run "$NSLAB" up "$SEED"
  [ "$status" -eq 0 ]
  try=$(echo "$output" | sed -n '/^Try:$/,$p' | sed -n 's/^  //p')
  [ "$(echo "$try" | wc -l)" -ge 4 ]
  [ "$(echo "$try" | tail -1)" = "nslab down k3s" ]
  while IFS= read -r line; do
    # As a root shell with nslab installed would run it.
    out=$(bash -c "nslab () { \"$NSLAB\" \"\$@\"; }; $line" 2>&1) || { echo "failed: $line: $out"; return 1; }
    case $line in
      *curl*) [[ "$out" == *"pod: "* ]] ;;
      *"ip route"*) [[ "$out" == *"dev flannel.1"* ]] ;;
      *iptables-save*) [[ "$out" == *"*nat"*"-j KUBE-SVC-"* ]] ;;
      *down*) [ "$out" = "lab k3s is down" ] ;;
    esac
  done <<< "$try"
}

@test "cli: exec without root says what up says, exit 1" {
  make_nobody_copy
  local bin=$NOBODY_DIR/bin/nslab
  "$NSLAB" up "$SEED" > /dev/null
  run as_nobody "$bin" up "$NOBODY_DIR/labs/k3s-virtualbox.ini"
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
  up_says=$output
  run as_nobody "$bin" exec k3s node/cp1 -- true
  [ "$status" -eq 1 ]
  [ "$output" = "$up_says" ]
  run as_nobody "$bin" exec nolab node/cp1
  [ "$output" = "$up_says" ]
  "$NSLAB" down k3s
  rm -rf "$NOBODY_DIR"
}

@test "cli: bash completion offers verbs, .ini files, labs and exec targets" {
  source "$REPO/completion/nslab.bash"
  comp () { COMP_WORDS=("$NSLAB" "$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); COMPREPLY=(); _nslab; echo "${COMPREPLY[*]}"; }
  [ "$(comp "")" = "$(usage_verbs) help --help --version" ]
  [ "$(comp help "")" = "$(usage_verbs) help" ]
  [ "$(comp st)" = "status" ]
  [ "$(comp plan -o "")" = "text json" ]
  mkdir -p "$BATS_TEST_TMPDIR/c/sub"
  touch "$BATS_TEST_TMPDIR/c/a.ini" "$BATS_TEST_TMPDIR/c/b.txt"
  [ "$(cd "$BATS_TEST_TMPDIR/c" && comp validate "")" = "a.ini sub" ]
  [ "$(comp down "")" = "--all --ignore-not-found --help" ]
  [ "$(comp test -o "")" = "text tap" ]
  [ "$(comp up --w)" = "--wait" ]
  "$NSLAB" up "$SEED" > /dev/null
  [ "$(comp down k)" = "k3s" ]
  [ "$(comp exec "")" = "k3s" ]
  [ "$(comp exec k3s no)" = "node/cp1 node/w1 node/w2" ]
  [ "$(comp exec k3s -n demo "")" = "-n host node/cp1 node/w1 node/w2 pod/web-8597f6f985-56kng pod/web-8597f6f985-bw5jd" ]
  [ "$(comp exec k3s -n "")" = "default demo kube-system" ] || [ "$(comp exec k3s -n "")" = "default demo" ]
  [ "$(comp exec k3s node/cp1 "")" = "--" ]
  [ "$(comp scale "")" = "k3s" ]
  [ "$(comp scale k3s "")" = "-n deploy/ rs/" ]
  [ "$(comp scale k3s -n demo deploy/web "")" = "--replicas --timeout" ]
  [ "$(comp scale k3s deploy/web --replicas "")" = "" ]
  [ "$(comp delete k3s -n demo "")" = "-n deploy/ rs/ svc/ pod/web-8597f6f985-56kng pod/web-8597f6f985-bw5jd" ]
  [ "$(comp delete k3s svc/web-svc "")" = "--timeout" ]
  [ "$(comp apply --t)" = "--timeout" ]
  "$NSLAB" down k3s
}

@test "cli: make install PREFIX=X: validate and plan from another directory, man page, docs, completion; uninstall" {
  prefix=$BATS_TEST_TMPDIR/prefix
  # -o: install the binary under test as it is (never relink it).
  make -s -C "$REPO" -o "$NSLAB" NSLAB_BIN="$NSLAB" PREFIX="$prefix" install > /dev/null
  [ -x "$prefix/bin/nslab" ]
  [ -f "$prefix/share/man/man1/nslab.1" ]
  [ -f "$prefix/share/doc/nslab/README.md" ]
  [ -f "$prefix/share/doc/nslab/walkthroughs/k3s-virtualbox.md" ]
  [ -f "$prefix/share/bash-completion/completions/nslab" ]
  [ -f "$prefix/share/nslab/templates/k3s.ini" ]
  # A lab of the user's own, away from any templates/ directory, naming its
  # template by name: only the installed share/nslab/templates has it.
  mkdir -p "$BATS_TEST_TMPDIR/elsewhere/work"
  cp "$SEED" "$BATS_TEST_TMPDIR/elsewhere/work/mine.ini"
  grep -q '^template = k3s$' "$BATS_TEST_TMPDIR/elsewhere/work/mine.ini"
  cd "$BATS_TEST_TMPDIR/elsewhere"
  run "$prefix/bin/nslab" validate "$prefix/share/nslab/labs/k3s-virtualbox.ini"
  [ "$status" -eq 0 ]
  run "$prefix/bin/nslab" validate work/mine.ini
  [ "$status" -eq 0 ]
  [ "$output" = "work/mine.ini: ok (lab k3s: 3 nodes, 9 pods, 4 services)" ]
  run "$prefix/bin/nslab" plan work/mine.ini
  [ "$status" -eq 0 ]
  [[ "$output" == *"ip route add 10.42.1.0/24 via 10.42.1.0 dev flannel.1 onlink"* ]]
  # The same binary outside an install finds no template: the lookup is the
  # install's, not the build tree's (unless nslab is also installed under
  # the compiled-in default /usr/local).
  [ -e /usr/local/share/nslab/templates/k3s.ini ] || {
  mkdir -p "$BATS_TEST_TMPDIR/bare/bin"
  cp "$prefix/bin/nslab" "$BATS_TEST_TMPDIR/bare/bin/"
  run "$BATS_TEST_TMPDIR/bare/bin/nslab" validate work/mine.ini
  [ "$status" -eq 2 ]
  [[ "$output" == *'template: no template "k3s"'* ]]
  }
  cd "$REPO"
  make -s -C "$REPO" PREFIX="$prefix" uninstall
  [ -z "$(find "$prefix" -type f)" ]
}
