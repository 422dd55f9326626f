#!/usr/bin/env bats
# The CLI as a user meets it: validate and plan without root, bad input
# refused with one line and exit 2 before anything exists, and every lab
# shipped in labs/ coming up, answering and going away.

load helpers

@test "cli: validate and plan need no root; plan -o json is JSON" {
  make_nobody_copy
  local bin=$NOBODY_DIR/bin/nslab seed=$NOBODY_DIR/labs/k3s-virtualbox.ini
  run as_nobody "$bin" validate "$seed"
  [ "$status" -eq 0 ]
  [ "$output" = "$seed: ok (lab k3s: 3 nodes, 8 pods, 4 services)" ]
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
