#!/usr/bin/env bats
# kube-proxy's nftables mode ([cluster] proxy_mode = nftables): the seed lab
# with its services answering through `table ip kube-proxy` on every node,
# checked with real clients (curl, socat) and the kernel's own `nft list`.
# Every test also checks (teardown) that down leaves nothing.

load helpers

# The seed with proxy_mode = nftables, plus what the seed lacks: a
# ClientIP-affinity service over web's pods, a UDP service, a NodePort
# service without endpoints.
nft_lab () {
  # In labs/ beside templates/, where nslab looks for "template = k3s".
  local f=$BATS_TEST_TMPDIR/labs/k3s-nft.ini
  mkdir -p "$BATS_TEST_TMPDIR/labs"
  [ -e "$BATS_TEST_TMPDIR/templates" ] || ln -s "$REPO/templates" "$BATS_TEST_TMPDIR/templates"
  { cat "$SEED"
    printf '\n[cluster]\nproxy_mode = nftables\n'
    printf '\n[service demo/sticky]\nselector = app=web\nports = 80\ncluster_ip = 10.43.7.7\nsession_affinity = ClientIP\n'
    printf '\n[deployment demo/udp]\nlabels = app=udp\nreplicas = 2\nnodes = w1, w2\n'
    printf 'command = "socat UDP4-RECVFROM:5353,fork EXEC:hostname"\n'
    printf '\n[service demo/udp-svc]\nselector = app=udp\nports = 53/udp->5353\ncluster_ip = 10.43.5.3\n'
    printf '\n[service demo/nobody]\ntype = NodePort\nselector = app=nobody\nports = 80@30099\ncluster_ip = 10.43.9.9\n'
  } > "$f"
  echo "$f"
}

up_nft () {
  run "$NSLAB" up "$(nft_lab)"
  [ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
}

# nft list of NODE's kube-proxy table.
kp () { ip netns exec "k3s-$1" nft list table ip kube-proxy; }

# Endpoint chains of demo/web-svc in NODE's table.
web_endpoint_chains () { kp "$1" | grep -cE '^	chain endpoint-[A-Z2-7]{8}-demo/web-svc/tcp/__' || true; }

@test "nftables: every node has kube-proxy's table and no kube-proxy iptables chains; the seed's checks pass" {
  up_nft
  for n in cp1 w1 w2; do
    kp $n | grep -qF 'comment "rules for kube-proxy"'
    kp $n | grep -qE '^	chain service-[A-Z2-7]{8}-demo/web-svc/tcp/ \{$'
    kp $n | grep -qF 'numgen random mod 2 vmap { 0 : goto endpoint-'
    # kubelet's and flannel's iptables rules stay, kube-proxy writes none.
    ip netns exec k3s-$n iptables-save | grep -q -- '-A KUBE-FIREWALL '
    ip netns exec k3s-$n iptables-save | grep -q -- '-A FLANNEL-POSTRTG '
    ! ip netns exec k3s-$n iptables-save | grep -qE 'KUBE-(SVC|SEP|SERVICES|NODEPORTS|PROXY-CANARY)'
  done
  # NodePorts answer on each node's INTERNAL-IP only (nodePortAddresses
  # "primary", the nftables mode's default).
  kp cp1 | grep -A3 'set nodeport-ips' | grep -qF 'elements = { 192.168.56.10 }'
  kp w2 | grep -A3 'set nodeport-ips' | grep -qF 'elements = { 192.168.56.12 }'
  run "$NSLAB" test k3s
  echo "$output"
  [ "$status" -eq 0 ]
  echo "$output" | grep -qE '^[0-9]+ passed, 0 failed'
  # nslab export bundles each namespace's nft ruleset.
  "$NSLAB" export k3s -o "$BATS_TEST_TMPDIR/k3s.tar.gz"
  bsdtar -xOf "$BATS_TEST_TMPDIR/k3s.tar.gz" k3s/netns/k3s-w1/nft-ruleset.txt | grep -qF 'elements = { 192.168.56.11 }'
  "$NSLAB" down k3s
}

@test "nftables: ClusterIP from every node, NodePort from the lab host on every node, not on the NAT address" {
  up_nft
  for n in cp1 w1 w2; do
    body=$(ip netns exec k3s-$n curl -s -m 3 http://10.43.31.179/)
    echo "$body" | grep -qE '^pod: web-'
  done
  for ip in 192.168.56.10 192.168.56.11 192.168.56.12; do
    body=$(ip netns exec k3s-host curl -s -m 3 http://$ip:31885/)
    echo "$body" | grep -qE '^pod: my-helloworld-rs-'
  done
  # 10.0.2.15 is the node's too, but not a NodePort address in this mode.
  run ip netns exec k3s-cp1 curl -s -m 3 http://10.0.2.15:31885/
  [ "$status" -eq 7 ]
  "$NSLAB" down k3s
}

@test "nftables: session affinity keeps 20 requests on one pod; without it they spread" {
  up_nft
  pods=$(for _ in $(seq 20); do ip netns exec k3s-cp1 curl -s -m 3 http://10.43.7.7/ | pod_of; done | sort | uniq -c)
  echo "$pods"
  [ "$(echo "$pods" | wc -l)" -eq 1 ]
  [ "$(echo "$pods" | awk '{print $1}')" -eq 20 ]
  # The affinity set remembers the client (cp1's address toward the pod).
  kp cp1 | grep -qE '^	set affinity-[A-Z2-7]{8}-demo/sticky/tcp/__'
  kp cp1 | grep -qF 'flags dynamic,timeout'
  kp cp1 | grep -A6 'set affinity-' | grep -qF 'elements = {'
  spread=$(for _ in $(seq 40); do ip netns exec k3s-cp1 curl -s -m 3 http://10.43.31.179/ | pod_of; done | sort -u | wc -l)
  [ "$spread" -eq 2 ]
  "$NSLAB" down k3s
}

@test "nftables: a UDP service answers; no endpoints: ClusterIP and NodePort rejected" {
  up_nft
  seen=$(for _ in $(seq 20); do echo x | ip netns exec k3s-cp1 socat -T1 - UDP4:10.43.5.3:53; done | sort -u)
  echo "$seen"
  [ "$(echo "$seen" | grep -c '^udp-')" -eq 2 ]
  kp cp1 | grep -qF '10.43.9.9 . tcp . 80 comment "demo/nobody" : goto reject-chain'
  kp cp1 | grep -qF 'tcp . 30099 comment "demo/nobody" : goto reject-chain'
  # Rejected (connection refused, curl 7), not dropped (a timeout, 28).
  run ip netns exec k3s-cp1 curl -s -m 3 http://10.43.9.9/
  [ "$status" -eq 7 ]
  run ip netns exec k3s-host curl -s -m 3 http://192.168.56.11:30099/
  [ "$status" -eq 7 ]
  # A port the ClusterIP does not serve: rejected by cluster-ips-check.
  run ip netns exec k3s-cp1 curl -s -m 3 http://10.43.31.179:81/
  [ "$status" -eq 7 ]
  "$NSLAB" down k3s
}

@test "nftables: scale and delete through the control loop rewrite every node's table" {
  up_nft
  run "$NSLAB" scale k3s -n demo deploy/web --replicas 4
  [ "$status" -eq 0 ]
  for _ in $(seq 100); do [ "$(web_endpoint_chains cp1)" -eq 4 ] && break; sleep 0.05; done
  for n in cp1 w1 w2; do [ "$(web_endpoint_chains $n)" -eq 4 ]; done
  kp w1 | grep -qF 'numgen random mod 4 vmap'
  spread=$(for _ in $(seq 60); do ip netns exec k3s-cp1 curl -s -m 3 http://10.43.31.179/ | pod_of; done | sort -u | wc -l)
  [ "$spread" -eq 4 ]
  run "$NSLAB" scale k3s -n demo deploy/web --replicas 1
  [ "$status" -eq 0 ]
  # Stale endpoint chains are deleted, not only emptied.
  for n in cp1 w1 w2; do [ "$(web_endpoint_chains $n)" -eq 1 ]; done
  kp cp1 | grep -qF 'numgen random mod 1 vmap'
  ip netns exec k3s-cp1 curl -s -m 3 http://10.43.31.179/ | grep -qE '^pod: web-'
  run "$NSLAB" delete k3s svc/my-helloworld-rs-service
  [ "$status" -eq 0 ]
  for n in cp1 w1 w2; do ! kp $n | grep -q 'my-helloworld-rs-service'; done
  run ip netns exec k3s-host curl -s -m 3 http://192.168.56.10:31885/
  [ "$status" -ne 0 ]
  "$NSLAB" down k3s
}

@test "nftables: plan shows the nft -f payload per node, -o json an nftables op" {
  f=$(nft_lab)
  run "$NSLAB" plan "$f"
  [ "$status" -eq 0 ]
  [ "$(echo "$output" | grep -c "^nft -f - <<'EOF'$")" -eq 3 ]
  echo "$output" | grep -qF 'add table ip kube-proxy { comment "rules for kube-proxy" ; }'
  ! echo "$output" | grep -q 'KUBE-SVC-'
  # (stderr has the warning about demo/nobody's selector)
  json=$("$NSLAB" plan -o json "$f" 2>/dev/null)
  [ "$(echo "$json" | jq '[.ops[] | select(.op == "nftables")] | length')" -eq 3 ]
  echo "$json" | jq -r '.ops[] | select(.op == "nftables" and .netns == "k3s-w1") | .payload' | grep -qF 'add element ip kube-proxy nodeport-ips { 192.168.56.11 }'
}

@test "nftables: status names a missing chain or table; the control loop's full sync puts them back" {
  # kube-proxy's full sync is every 30 s; 8 here, so the test need not wait
  # that long. The damage is done right after a full round, so that status
  # sees it before the next one repairs it.
  NSLAB_CONTROL_TRACE=1 NSLAB_CONTROL_SYNC_PERIOD_S=8 up_nft
  run "$NSLAB" status k3s
  [ "$status" -eq 0 ]
  # A full round from now on (one before it, on a slow machine, could leave
  # the next one due at once).
  wait_full_round_after "$(wc -l < "$STATE_ROOT/k3s/logs/controller.log")" 200
  # A service chain is in use by its map element: empty the map first.
  ip netns exec k3s-w1 nft flush map ip kube-proxy service-ips
  ip netns exec k3s-w1 nft delete chain ip kube-proxy 'service-653IMDJ6-demo/web-svc/tcp/'
  ip netns exec k3s-w2 nft delete table ip kube-proxy
  run "$NSLAB" status k3s
  echo "$output"
  echo "$output" | grep -qE '^k3s-w1 +nftables: chain service-653IMDJ6-demo/web-svc/tcp/ is missing$'
  echo "$output" | grep -qE '^k3s-w2 +nftables table ip kube-proxy is missing$'
  # The full sync writes the whole table again.
  for _ in $(seq 90); do
    ip netns exec k3s-w2 nft list table ip kube-proxy > /dev/null 2>&1 \
      && ip netns exec k3s-w1 nft list map ip kube-proxy service-ips | grep -q '10.43.31.179 . tcp . 80' && break
    sleep 0.5
  done
  ip netns exec k3s-w1 curl -s -m 3 http://10.43.31.179/ | grep -qE '^pod: web-'
  ip netns exec k3s-w2 curl -s -m 3 http://10.43.31.179/ | grep -qE '^pod: web-'
  run "$NSLAB" status k3s
  [ "$status" -eq 0 ]
  "$NSLAB" down k3s
}

all_nft () {
  local n
  for n in cp1 w1 w2; do echo "== $n"; kp "$n"; done
}

@test "nftables: after scale and delete (partial syncs), the full sync leaves every node's table byte for byte as it was" {
  NSLAB_CONTROL_TRACE=1 NSLAB_CONTROL_SYNC_PERIOD_S=$SYNC_PERIOD up_nft
  full_sync_oracle all_nft
  "$NSLAB" down k3s
}

# Each shipped lab with proxy_mode = nftables in its [cluster] section
# (added, or set in the one it has). Its checks of kube-proxy's iptables
# rules become checks of the same in nftables: a service's ClusterIP
# ("-A KUBE-SERVICES ... NS/NAME cluster IP") is its service-ips element,
# a NodePort ("-A KUBE-NODEPORTS ... NS/NAME") its service-nodeports one,
# an endpoint ("-A KUBE-SEP-... -s IP/32 ... NS/NAME:PORT") its endpoint chain.
nft_variant () {
  local f=$1 out=$BATS_TEST_TMPDIR/labs/nft-$(basename "$1")
  mkdir -p "$BATS_TEST_TMPDIR/labs"
  [ -e "$BATS_TEST_TMPDIR/templates" ] || ln -s "$REPO/templates" "$BATS_TEST_TMPDIR/templates"
  awk '
    # One section at a time: an iptables check of KUBE-SERVICES or
    # KUBE-NODEPORTS becomes an nft check; any other stays as it is.
    function flush(   i, kube) {
      kube = 0
      for (i = 1; i <= n; i++)
        if (sec[i] ~ /^match = -A KUBE-(SERVICES|NODEPORTS|SEP-)/) kube = 1
      for (i = 1; i <= n; i++) {
        l = sec[i]
        if (kube && l == "type = iptables") l = "type = nft"
        else if (kube && l ~ /^match = -A KUBE-SERVICES /) {
          sub(/ cluster IP$/, "", l); sub(/.*\.\*/, "", l); l = "match = : goto service-[A-Z2-7]{8}-" l "/" }
        else if (kube && l ~ /^match = -A KUBE-NODEPORTS /) {
          sub(/.*\.\*/, "", l); l = "match = : goto external-[A-Z2-7]{8}-" l "/" }
        else if (kube && l ~ /^match = -A KUBE-SEP-/) {
          # The address and comment of an endpoint ("NS/NAME:PORT" or a prefix of
          # it) become its endpoint chain: endpoint-HASH-NS/NAME/PROTO/PORT__IP/PORT.
          ip = l; sub(/.*-s /, "", ip); sub(/\/32.*/, "", ip)
          c = l; sub(/.*--comment "/, "", c); sub(/"$/, "", c)
          if (c ~ /:/) { sub(/:/, "/[a-z]+/", c) } else c = c ".*"
          l = "match = chain endpoint-[A-Z2-7]{8}-" c "__" ip "/" }
        print l
      }
      n = 0
    }
    /^\[/ { flush() }
    { sec[++n] = $0 }
    END { flush() }
  ' "$f" > "$out.tmp"
  if grep -q '^\[cluster\]' "$out.tmp"; then
    sed '/^\[cluster\]/a proxy_mode = nftables' "$out.tmp" > "$out"
  else
    { cat "$out.tmp"; printf '\n[cluster]\nproxy_mode = nftables\n'; } > "$out"
  fi
  rm -f "$out.tmp"
  echo "$out"
}

@test "nftables: every shipped lab's checks pass in nftables mode" {
  for f in "$REPO"/labs/*.ini; do
    v=$(nft_variant "$f")
    lab=$(sed -n 's/^name = //p' "$v" | head -n 1)
    "$NSLAB" up --wait "$v" >/dev/null
    ip netns exec "$lab-$(sed -n 's/^\[node \(.*\)\]$/\1/p' "$v" | head -n 1)" nft list table ip kube-proxy > /dev/null
    run "$NSLAB" test "$lab"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "${lines[-1]}" == *" passed, 0 failed"* ]]
    "$NSLAB" down "$lab"
  done
}
