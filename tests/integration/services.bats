#!/usr/bin/env bats
# Every Service kind kube-proxy knows (labs/k3s-services.ini):
# externalTrafficPolicy and internalTrafficPolicy Local, externalIPs, k3s
# servicelb LoadBalancers with source ranges, session affinity. One web pod
# on w1: cp1 is the node without local endpoints. Each test runs in both
# proxy modes (issue 8): "services (iptables): ..." on the shipped labs,
# "services (nftables): ..." on copies with [cluster] proxy_mode = nftables;
# where a test looks at kube-proxy's rules, each mode checks its own.

load helpers

# A copy of labs/$1 named $2 beside a link to the templates, as labs/ has
# them, in proxy mode $3 (default iptables: the file as shipped); prints
# its path.
lab_copy () {
  local f=$BATS_TEST_TMPDIR/labs/$2
  mkdir -p "$BATS_TEST_TMPDIR/labs"
  [ -e "$BATS_TEST_TMPDIR/templates" ] || ln -s "$REPO/templates" "$BATS_TEST_TMPDIR/templates"
  if [ "${3:-iptables}" = iptables ]; then
    cp "$REPO/labs/$1" "$f"
  elif grep -q '^\[cluster\]' "$REPO/labs/$1"; then
    sed "/^\[cluster\]/a proxy_mode = $3" "$REPO/labs/$1" > "$f"
  else
    { cat "$REPO/labs/$1"; printf '\n[cluster]\nproxy_mode = %s\n' "$3"; } > "$f"
  fi
  echo "$f"
}

# The shipped lab (the servicelb and health-server tests below run it in
# iptables mode; those parts do not depend on the proxy mode).
LAB=$REPO/labs/k3s-services.ini

# labs/k3s-services.ini in proxy mode $1 (iptables: the shipped file).
svc_lab () {
  if [ "$1" = iptables ]; then echo "$REPO/labs/k3s-services.ini"; else lab_copy k3s-services.ini svc.ini "$1"; fi
}

up_svc () {
  run "$NSLAB" up --wait "$(svc_lab "$1")"
  [ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
}

# ---- the behaviour, one function per test, $1 the proxy mode -------------

lab_checks () {
  up_svc "$1"
  run "$NSLAB" test svc
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"10 passed, 0 failed"* ]]
  "$NSLAB" down svc
}

etp_client_address () {
  up_svc "$1"
  run ip netns exec svc-host curl -s -m 3 http://192.168.56.11:30081/
  [[ "$output" == *"client: 192.168.56.1:"* ]] || { echo "$output" >&2; false; }
  run ip netns exec svc-host curl -s -m 3 http://192.168.56.10:30081/
  [ "$status" -eq 28 ]   # dropped, not refused: a timeout
  run ip netns exec svc-host curl -s -m 3 http://192.168.56.11:30082/
  [[ "$output" == *"client: 10.42.1.1:"* ]] || { echo "$output" >&2; false; }
  run ip netns exec svc-host curl -s -m 3 http://192.168.56.10:30082/
  [[ "$output" == *"client: 10.42.0.0:"* ]] || { echo "$output" >&2; false; }
  "$NSLAB" down svc
}

per_node_rules_iptables () {
  run ip netns exec svc-w1 iptables-save -t nat
  [[ "$output" == *'-A KUBE-EXT-W6DWRVOIQKRHXDQP -j KUBE-SVL-W6DWRVOIQKRHXDQP'* ]] || { echo "$output" >&2; false; }
  [[ "$output" == *'-A KUBE-SVL-W6DWRVOIQKRHXDQP -m comment --comment "default/web-local -> 10.42.1.2:8080" -j KUBE-SEP-'* ]]
  run ip netns exec svc-cp1 iptables-save
  [[ "$output" != *':KUBE-SVL-'* ]]
  [[ "$output" == *'-A KUBE-EXTERNAL-SERVICES -p tcp -m comment --comment "default/web-local has no local endpoints" -m addrtype --dst-type LOCAL -m tcp --dport 30081 -j DROP'* ]]
  [[ "$output" == *'-A KUBE-SERVICES -d 10.43.200.80/32 -p tcp -m comment --comment "default/web-itp has no local endpoints" -m tcp --dport 80 -j DROP'* ]]
  [[ "$output" =~ -A\ KUBE-NODEPORTS\ -p\ tcp\ -m\ comment\ --comment\ \"default/web-lb\ health\ check\ node\ port\"\ -m\ tcp\ --dport\ 3[0-2][0-9]{3}\ -j\ ACCEPT ]]
}

# The same in kube-proxy's nftables table (chain names from proxier.go:
# local-, external-, firewall-; the drops are no-endpoint-* elements).
per_node_rules_nftables () {
  local h='[A-Z2-7]{8}'
  run ip netns exec svc-w1 nft list table ip kube-proxy
  [[ "$output" =~ goto\ local-$h-default/web-local/tcp/ ]] || { echo "$output" >&2; false; }
  [[ "$output" =~ chain\ local-$h-default/web-local/tcp/\ \{[^}]*numgen\ random\ mod\ 1\ vmap\ \{\ 0\ :\ goto\ endpoint-$h-default/web-local/tcp/__10\.42\.1\.2/8080 ]]
  [[ "$output" =~ 10\.43\.200\.80\ \.\ tcp\ \.\ 80\ :\ goto\ local-$h-default/web-itp/tcp/ ]]
  [[ "$output" != *'comment "default/web-local" : drop'* ]]
  run ip netns exec svc-cp1 nft list table ip kube-proxy
  [[ "$output" != *'chain local-'* ]] || { echo "$output" >&2; false; }
  [[ "$output" == *'tcp . 30081 comment "default/web-local" : drop'* ]]
  [[ "$output" == *'10.43.200.80 . tcp . 80 comment "default/web-itp" : drop'* ]]
  # Source ranges: servicelb's address (w1's only: the Local policy's one node
  # with an endpoint) through the firewall chain, which drops all but the
  # lab host (cp1 is outside 192.168.56.1/32).
  [[ "$output" =~ 192\.168\.56\.11\ \.\ tcp\ \.\ 8081\ :\ goto\ firewall-$h-default/web-lb/tcp/ ]]
  [[ "$output" != *'192.168.56.10 . tcp . 8081 '* ]]
  [[ "$output" =~ ip\ saddr\ !=\ (\{\ )?192\.168\.56\.1(\ \})?\ drop ]]
  # No health-check node port rule: nftables mode leaves it to the
  # health server (no iptables either).
  run ip netns exec svc-cp1 iptables-save
  [[ "$output" != *'health check node port'* ]]
}

per_node_rules () {
  up_svc "$1"
  "per_node_rules_$1"
  "$NSLAB" down svc
}

session_affinity () {
  up_svc "$1"
  run bash -c "for i in \$(seq 20); do ip netns exec svc-default-client curl -s -m 3 http://10.43.200.81/ | sed -n 's/^pod: //p'; done"
  echo "$output"
  [ "$(printf '%s\n' "$output" | grep -c '^sticky-')" -eq 20 ]
  [ "$(printf '%s\n' "$output" | sort -u | wc -l)" -eq 1 ]
  "$NSLAB" down svc
}

status_and_kubectl () {
  run "$NSLAB" plan "$(svc_lab "$1")"
  # Seed 001's traefik row (two nodes here).
  [[ "$output" == *"kube-system   traefik       LoadBalancer   10.43.121.230   192.168.56.10,192.168.56.11   80:31300/TCP,443:31309/TCP   app.kubernetes.io/instance=traefik-kube-system,app.kubernetes.io/name=traefik"* ]] || { echo "$output" >&2; false; }
  [[ "$output" == *"web-ext       ClusterIP      10.43."*"192.168.56.11 "* ]] || { echo "$output" >&2; false; }
  # ETP Local: only w1, the node with the endpoint (servicelb's readyNodes).
  [[ "$output" =~ web-lb\ +LoadBalancer\ +10\.43\.[0-9.]+\ +192\.168\.56\.11\ +8081:3[0-9]+/TCP ]]
}

kubeadm_pool_arp () {
  run "$NSLAB" up --wait "$(lab_copy kubeadm-lb.ini kubeadm-lb.ini "$1")"
  [ "$status" -eq 0 ] || { echo "$output" >&2; false; }
  run "$NSLAB" test kadm-lb
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"2 passed, 0 failed"* ]]
  # The MAC the lab host learnt for each address is one worker's enp0s8.
  for ip in 192.168.56.241 192.168.56.242; do
    mac=$(ip netns exec kadm-lb-host ip neigh show "$ip" | awk '{print $5}')
    owners=0
    for n in controlplane node01 node02; do
      [ "$(ip netns exec "kadm-lb-$n" cat /sys/class/net/enp0s8/address)" != "$mac" ] || owners=$((owners + 1))
    done
    [ "$owners" -eq 1 ] || { echo "$ip -> $mac" >&2; false; }
    [ "$(ip netns exec kadm-lb-controlplane cat /sys/class/net/enp0s8/address)" != "$mac" ]
  done
  # kubeadm's kube-proxy serves healthz on every address (0.0.0.0:10256).
  run ip netns exec kadm-lb-host curl -s -m 3 -w '%{http_code}' http://192.168.56.21:10256/healthz
  [[ "$output" == *'"nodeEligible": true}200' ]] || { echo "$output" >&2; false; }
  "$NSLAB" down kadm-lb
}

kubeadm_pending () {
  np=$(lab_copy kubeadm-lb.ini np.ini "$1")
  sed -i '/^load_balancer_pool/d; s/^name = kadm-lb/name = kadm-np/' "$np"
  run "$NSLAB" plan "$np"
  [[ "$output" =~ webapp-lb\ +LoadBalancer\ +10\.[0-9.]+\ +\<pending\>\ +80:3[0-9]+/TCP ]] || { echo "$output" >&2; false; }
  [[ "$output" != *"/32 dev enp0s8"* ]]
}

apply_lb () {
  run "$NSLAB" up --wait "$(lab_copy kubeadm-lb.ini kubeadm-lb.ini "$1")"
  [ "$status" -eq 0 ] || { echo "$output" >&2; false; }
  edited=$(lab_copy kubeadm-lb.ini kubeadm-lb.ini "$1")
  printf '\n[service default/webapp-lb2]\ntype = LoadBalancer\nselector = app=webapp\nports = 8080\n' >> "$edited"
  run "$NSLAB" apply "$edited"
  [ "$status" -eq 0 ] || { echo "$output" >&2; false; }
  for _ in $(seq 100); do
    ip netns exec kadm-lb-host curl -s -m 1 http://192.168.56.243:8080/ | grep -q '^pod: webapp-' && break; sleep 0.1
  done
  ip netns exec kadm-lb-host curl -s -m 3 http://192.168.56.243:8080/ | grep -q '^pod: webapp-'
  ip netns exec kadm-lb-host curl -s -m 3 http://192.168.56.241/ | grep -q '^pod: webapp-'
  ip netns exec kadm-lb-host curl -s -m 3 http://192.168.56.242/ | grep -q '^client: 192\.168\.56\.1:'
  # Deleting webapp-lb: its address leaves the node that announced it.
  [ "$(for n in controlplane node01 node02; do ip netns exec "kadm-lb-$n" ip -br addr show dev enp0s8; done | grep -c '192\.168\.56\.241/32')" -eq 1 ]
  sed -i '/^\[service default\/webapp-lb\]/,/^$/d' "$edited"
  run "$NSLAB" apply "$edited"
  [ "$status" -eq 0 ] || { echo "$output" >&2; false; }
  for _ in $(seq 100); do
    held=$(for n in controlplane node01 node02; do ip netns exec "kadm-lb-$n" ip -br addr show dev enp0s8; done | grep -c '192\.168\.56\.241/32' || true)
    [ "$held" -eq 0 ] && break; sleep 0.1
  done
  [ "$held" -eq 0 ]
  ip netns exec kadm-lb-host curl -s -m 3 http://192.168.56.243:8080/ | grep -q '^pod: webapp-'
  "$NSLAB" down kadm-lb
}

udp_service () {
  up_svc "$1"
  run bash -c "echo q | ip netns exec svc-default-client socat -T2 - UDP4:10.43.200.82:53"
  [[ "$output" == udp-echo-* ]] || { echo "$output" >&2; false; }
  run bash -c "echo q | ip netns exec svc-host socat -T2 - UDP4:192.168.56.10:30053"
  [[ "$output" == udp-echo-* ]] || { echo "$output" >&2; false; }
  if [ "$1" = iptables ]; then
    run ip netns exec svc-cp1 iptables-save -t nat
    [[ "$output" == *'-A KUBE-SERVICES -d 10.43.200.82/32 -p udp -m comment --comment "default/udp-echo:dns cluster IP" -m udp --dport 53 -j KUBE-SVC-'* ]]
    # One service, three protocols, each port its own chain.
    [[ "$output" == *'-A KUBE-SERVICES -d 10.43.200.83/32 -p udp -m comment --comment "default/multi:dns cluster IP" -m udp --dport 53 -j KUBE-SVC-'* ]]
    [[ "$output" == *'-A KUBE-SERVICES -d 10.43.200.83/32 -p tcp -m comment --comment "default/multi:dns-tcp cluster IP" -m tcp --dport 53 -j KUBE-SVC-'* ]]
    [[ "$output" == *'-A KUBE-SERVICES -d 10.43.200.83/32 -p sctp -m comment --comment "default/multi:sig cluster IP" -m sctp --dport 3868 -j KUBE-SVC-'* ]]
  else
    run ip netns exec svc-cp1 nft list map ip kube-proxy service-ips
    local h='[A-Z2-7]{8}'
    [[ "$output" =~ 10\.43\.200\.82\ \.\ udp\ \.\ 53\ :\ goto\ service-$h-default/udp-echo/udp/dns ]] || { echo "$output" >&2; false; }
    [[ "$output" =~ 10\.43\.200\.83\ \.\ udp\ \.\ 53\ :\ goto\ service-$h-default/multi/udp/dns ]]
    [[ "$output" =~ 10\.43\.200\.83\ \.\ tcp\ \.\ 53\ :\ goto\ service-$h-default/multi/tcp/dns-tcp ]]
    [[ "$output" =~ 10\.43\.200\.83\ \.\ sctp\ \.\ 3868\ :\ goto\ service-$h-default/multi/sctp/sig ]]
  fi
  "$NSLAB" down svc
}

# ---- the tests: each behaviour in both proxy modes ----------------------

@test "services (iptables): the lab's checks pass from the lab host, the nodes and a pod (client addresses, drops, externalIPs, servicelb, source ranges)" { lab_checks iptables; }
@test "services (nftables): the lab's checks pass from the lab host, the nodes and a pod (client addresses, drops, externalIPs, servicelb, source ranges)" { lab_checks nftables; }

@test "services (iptables): ETP Local keeps the client's address on the node with the endpoint; Cluster masquerades on every node" { etp_client_address iptables; }
@test "services (nftables): ETP Local keeps the client's address on the node with the endpoint; Cluster masquerades on every node" { etp_client_address nftables; }

@test "services (iptables): the node with the endpoint has the Local policy chains, the other node the no-local-endpoints drops" { per_node_rules iptables; }
@test "services (nftables): the node with the endpoint has the Local policy chains, the other node the no-local-endpoints drops" { per_node_rules nftables; }

@test "services (iptables): session affinity keeps 20 requests from one client on one of 3 pods" { session_affinity iptables; }
@test "services (nftables): session affinity keeps 20 requests from one client on one of 3 pods" { session_affinity nftables; }

@test "services (iptables): status and kubectl show the policies, externalIPs and servicelb's EXTERNAL-IP" { status_and_kubectl iptables; }
@test "services (nftables): status and kubectl show the policies, externalIPs and servicelb's EXTERNAL-IP" { status_and_kubectl nftables; }

@test "services (iptables): kubeadm load_balancer_pool: the pool address answers ARP from one worker and serves the lab host" { kubeadm_pool_arp iptables; }
@test "services (nftables): kubeadm load_balancer_pool: the pool address answers ARP from one worker and serves the lab host" { kubeadm_pool_arp nftables; }

@test "services (iptables): kubeadm without a pool leaves a LoadBalancer <pending>" { kubeadm_pending iptables; }
@test "services (nftables): kubeadm without a pool leaves a LoadBalancer <pending>" { kubeadm_pending nftables; }

@test "services (iptables): apply adds a LoadBalancer to a running kubeadm lab (the next pool address is announced and served, the others keep theirs) and deletes one (its address withdrawn)" { apply_lb iptables; }
@test "services (nftables): apply adds a LoadBalancer to a running kubeadm lab (the next pool address is announced and served, the others keep theirs) and deletes one (its address withdrawn)" { apply_lb nftables; }

@test "services (iptables): a UDP service answers on its ClusterIP from a pod and on its NodePort from the lab host" { udp_service iptables; }
@test "services (nftables): a UDP service answers on its ClusterIP from a pod and on its NodePort from the lab host" { udp_service nftables; }

@test "services (iptables): nfacct = true: kube-proxy's counters exist in the node and count localhost NodePort connections" {
  lab=$(one_node_lab nf <<'INI'
[cluster]
nfacct = true
[deployment default/web]
labels = app=web
replicas = 1
app = http:8080
[service default/web]
type = NodePort
selector = app=web
ports = 8080@30081
INI
)
  run "$NSLAB" up --wait "$lab"
  [ "$status" -eq 0 ] || { echo "$output" >&2; false; }
  run ip netns exec nf-n1 iptables-save
  [[ "$output" == *'-A KUBE-FORWARD -m conntrack --ctstate INVALID -m nfacct --nfacct-name  ct_state_invalid_dropped_pkts -j DROP'* ]]
  ip netns exec nf-n1 curl -s -m 3 http://127.0.0.1:30081/ | grep -q '^pod: web-'
  # The localhost rule (the first in KUBE-NODEPORTS) counted that connection.
  run bash -c "ip netns exec nf-n1 iptables -t nat -L KUBE-NODEPORTS -v -n -x | awk '/localhost_nps_accepted_pkts/ { print \$1 }'"
  [ "$output" -ge 1 ]
  "$NSLAB" down nf
}

@test "services (nftables): no nfacct counters even with nfacct = true; NodePorts answer on the node's address, never on 127.0.0.1" {
  lab=$(one_node_lab nfn <<'INI'
[cluster]
nfacct = true
proxy_mode = nftables
[deployment default/web]
labels = app=web
replicas = 1
app = http:8080
[service default/web]
type = NodePort
selector = app=web
ports = 8080@30081
INI
)
  run "$NSLAB" plan "$lab"
  [[ "$output" != *"nfacct add"* ]] || { echo "$output" >&2; false; }
  run "$NSLAB" up --wait "$lab"
  [ "$status" -eq 0 ] || { echo "$output" >&2; false; }
  ip netns exec nfn-n1 curl -s -m 3 http://192.168.56.10:30081/ | grep -q '^pod: web-'
  # kube-proxy's nftables mode has no localhost NodePorts: nothing
  # listens there, so the connection is refused.
  run ip netns exec nfn-n1 curl -s -m 3 http://127.0.0.1:30081/
  [ "$status" -eq 7 ]
  run ip netns exec nfn-n1 nft list set ip kube-proxy nodeport-ips
  [[ "$output" == *"elements = { 192.168.56.10 }"* ]] || { echo "$output" >&2; false; }
  "$NSLAB" down nfn
}

# curl's status code for URL from the lab host, retried until it is WANT
# (the control loop and the health server each take a moment).
hc_status_becomes () {
  local want=$1 url=$2 got i
  for i in $(seq 50); do
    got=$(ip netns exec svc-host curl -s -o /dev/null -w '%{http_code}' -m 3 "$url")
    [ "$got" = "$want" ] && return 0
    sleep 0.1
  done
  echo "$url: $got, not $want" >&2
  return 1
}

@test "services: kube-proxy's health check node port answers 200 on the node with the endpoint, 503 on the other, and follows the endpoints" {
  up_svc iptables
  hc=$("$NSLAB" plan -o json "$LAB" | jq -r '.services[] | select(.name == "web-lb") | .health_check_node_port')
  [[ "$hc" =~ ^3[0-2][0-9]{3}$ ]]
  # up --wait returns at the loop's commit; the health server reads the
  # store every 100 ms.
  hc_status_becomes 200 "http://192.168.56.11:$hc/"
  run ip netns exec svc-host curl -s -i -m 3 "http://192.168.56.11:$hc/"
  [[ "$output" == "HTTP/1.1 200 OK"* ]] || { echo "$output" >&2; false; }
  [[ "$output" == *$'Content-Type: application/json\r'* ]]
  [[ "$output" == *$'X-Content-Type-Options: nosniff\r'* ]]
  [[ "$output" == *$'X-Load-Balancing-Endpoint-Weight: 1\r'* ]]
  [[ "$output" == *$'\r\n\r\n{\n\t"service": {\n\t\t"namespace": "default",\n\t\t"name": "web-lb"\n\t},\n\t"localEndpoints": 1,\n\t"serviceProxyHealthy": true\n}' ]]
  run ip netns exec svc-host curl -s -i -m 3 "http://192.168.56.10:$hc/healthz"
  [[ "$output" == "HTTP/1.1 503 Service Unavailable"* ]] || { echo "$output" >&2; false; }
  [[ "$output" == *'"localEndpoints": 0,'* ]]
  # The endpoint moves with the control loop: none left, then one again,
  # on whichever node the new pod went to.
  "$NSLAB" scale svc deploy/web --replicas 0
  hc_status_becomes 503 "http://192.168.56.11:$hc/"
  run ip netns exec svc-host curl -s -m 3 "http://192.168.56.11:$hc/"
  [[ "$output" == *'"localEndpoints": 0,'* ]]
  "$NSLAB" scale svc deploy/web --replicas 1
  node=$("$NSLAB" kubectl svc get pods -l app=web -o jsonpath='{.items[0].spec.nodeName}')
  case $node in cp1) on=192.168.56.10 off=192.168.56.11 ;; w1) on=192.168.56.11 off=192.168.56.10 ;; *) false ;; esac
  hc_status_becomes 200 "http://$on:$hc/"
  hc_status_becomes 503 "http://$off:$hc/"
  # A deleted service's health check closes on every node: the health
  # server reads only what changed, and a deletion shows in the count.
  "$NSLAB" delete svc svc/web-lb
  for ip in 192.168.56.10 192.168.56.11; do
    for _ in $(seq 100); do
      ip netns exec svc-host curl -s -o /dev/null -m 1 "http://$ip:$hc/" || break
      sleep 0.1
    done
    run ip netns exec svc-host curl -s -o /dev/null -m 1 "http://$ip:$hc/"
    [ "$status" -eq 7 ] || { echo "health check on $ip still answers ($status)" >&2; false; }
  done
  "$NSLAB" down svc
}

# web-lb's status.loadBalancer.ingress in the store, as "IP IP ..." (none: empty).
lb_ingress () {
  sqlite3 "$STATE_ROOT/svc/store.db" "select body from objects where kind = 'Service' and name = 'web-lb'" |
    jq -r '[.status.loadBalancer.ingress[]?.ip] | join(" ")'
}

# Wait (up to 10 s) until web-lb's ingress is "$1".
lb_ingress_becomes () {
  for _ in $(seq 100); do
    [ "$(lb_ingress)" = "$1" ] && return 0
    sleep 0.1
  done
  echo "web-lb ingress: '$(lb_ingress)', not '$1'" >&2
  return 1
}

# Service $1's events, oldest first: "TYPE REASON COMPONENT: MESSAGE".
svc_events () {
  sqlite3 "$STATE_ROOT/svc/store.db" "select json_extract(body, '$.type') || ' ' || json_extract(body, '$.reason') || ' ' ||
    json_extract(body, '$.source.component') || ': ' || json_extract(body, '$.message') from objects
    where kind = 'Event' and json_extract(body, '$.involvedObject.kind') = 'Service'
    and json_extract(body, '$.involvedObject.name') = '$1' order by json_extract(body, '$.firstTimestamp'), rowid"
}

# Wait (up to 10 s) until service $1 has the event line $2.
svc_event_seen () {
  for _ in $(seq 100); do
    svc_events "$1" | grep -qxF "$2" && return 0
    sleep 0.1
  done
  svc_events "$1" >&2
  return 1
}

@test "services: k3s servicelb with externalTrafficPolicy Local lists only the nodes with a ready endpoint, and follows the endpoints" {
  up_svc iptables
  # One web pod, on w1: w1's address only, though both nodes run a svclb pod.
  [ "$(lb_ingress)" = "192.168.56.11" ]
  run "$NSLAB" get svc svc web-lb
  [[ "$output" =~ web-lb\ +LoadBalancer\ +10\.43\.[0-9.]+\ +192\.168\.56\.11\ +8081: ]] || { echo "$output" >&2; false; }
  [ "$("$NSLAB" kubectl svc get svc web-lb -o jsonpath='{.status.loadBalancer.ingress[*].ip}')" = 192.168.56.11 ]
  # The Cluster policy's traefik keeps both.
  run "$NSLAB" get svc -n kube-system svc traefik
  [[ "$output" == *" 192.168.56.10,192.168.56.11 "* ]]
  # kube-proxy answers servicelb's address only: no "loadbalancer IP" rule for cp1's.
  run ip netns exec svc-w1 iptables-save -t nat
  [[ "$output" == *'-d 192.168.56.11/32 -p tcp -m comment --comment "default/web-lb loadbalancer IP" -m tcp --dport 8081 -j '* ]] || { echo "$output" >&2; false; }
  [[ "$output" != *'-d 192.168.56.10/32 -p tcp -m comment --comment "default/web-lb loadbalancer IP"'* ]]
  # No endpoint left: no ingress ("loadBalancer": {}), <pending>, and the rule goes.
  "$NSLAB" scale svc deploy/web --replicas 0 > /dev/null
  lb_ingress_becomes ""
  [ "$(sqlite3 "$STATE_ROOT/svc/store.db" "select body from objects where kind = 'Service' and name = 'web-lb'" |
    jq -c .status)" = '{"loadBalancer":{}}' ]
  run "$NSLAB" get svc svc web-lb
  [[ "$output" =~ web-lb\ +LoadBalancer\ +10\.43\.[0-9.]+\ +\<pending\>\ +8081: ]] || { echo "$output" >&2; false; }
  [ -z "$("$NSLAB" kubectl svc get svc web-lb -o jsonpath='{.status.loadBalancer.ingress}')" ]
  run ip netns exec svc-w1 iptables-save -t nat
  [[ "$output" != *'"default/web-lb loadbalancer IP"'* ]]
  # servicelb's events, worded as k3s's patchStatus words them
  svc_event_seen web-lb "Warning UnAvailableLoadBalancer service-lb-controller: There are no available nodes for LoadBalancer"
  # Back on w1: its address again.
  "$NSLAB" scale svc deploy/web --replicas 1 > /dev/null
  lb_ingress_becomes "192.168.56.11"
  svc_event_seen web-lb "Normal UpdatedLoadBalancer service-lb-controller: Updated LoadBalancer with new IPs: [] -> [192.168.56.11]"
  "$NSLAB" describe svc svc web-lb | grep -qE '^  Normal +UpdatedLoadBalancer +[0-9a-z]+( \(x[0-9]+ over [0-9a-z]+\))? +service-lb-controller +Updated LoadBalancer with new IPs: \[\] -> \[192\.168\.56\.11\]$'
  "$NSLAB" down svc
}

@test "services: kube-proxy's healthz and livez on each node (k3s binds them to 127.0.0.1:10256)" {
  up_svc iptables
  run ip netns exec svc-cp1 curl -s -i -m 3 http://127.0.0.1:10256/healthz
  [[ "$output" == "HTTP/1.1 200 OK"* ]] || { echo "$output" >&2; false; }
  [[ "$output" =~ \{\"lastUpdated\":\ \"20[0-9-]+\ [0-9:.]+\ \+0000\ UTC\ m=\+[0-9.]+\",\"currentTime\":\ \"[^\"]+\",\ \"nodeEligible\":\ true\}$ ]] || { echo "$output" >&2; false; }
  run ip netns exec svc-w1 curl -s -m 3 -w '%{http_code}' http://127.0.0.1:10256/livez
  [[ "$output" =~ ^\{\"lastUpdated\":\ \"[^\"]+\",\"currentTime\":\ \"[^\"]+\"\}200$ ]] || { echo "$output" >&2; false; }
  run ip netns exec svc-w1 curl -s -m 3 -w '%{http_code}' http://127.0.0.1:10256/metrics
  [ "$output" = $'404 page not found\n404' ]
  # Not on the node's address: refused.
  run ip netns exec svc-host curl -s -m 3 http://192.168.56.10:10256/healthz
  [ "$status" -eq 7 ]
  # One per node, in the node's network, ended with the lab.
  [ "$(ps -eo args= | grep -c '^nslab-kube-proxy .*--hostname-override [a-z0-9]* svc$')" -eq 2 ]
  # Each wakes on the store's commits: an inotify watch on the lab's state dir.
  dir_ino=$(printf '%x' "$(stat -c %i "$STATE_ROOT/svc")")
  for pid in $(pgrep -f '^nslab-kube-proxy .* svc$'); do
    cat "/proc/$pid/fdinfo/"* 2>/dev/null | grep -q "^inotify wd:[0-9]* ino:$dir_ino " || { echo "kube-proxy $pid: no watch" >&2; false; }
  done
  "$NSLAB" down svc
  [ "$(ps -eo args= | grep -c '^nslab-kube-proxy')" -eq 0 ]
}

# The svclb pod of DaemonSet $1 on node $2, from nslab status: "NAME IP".
svclb_pod () {
  "$NSLAB" status svc | awk -v ds="$1" -v node="$2" 'index($2, ds "-") == 1 && $NF == node { print $2, $(NF-1) }'
}

@test "services: k3s servicelb: a svclb DaemonSet per LoadBalancer, one pod per node, wired as klipper-lb and the portmap plugin wire it" {
  up_svc iptables
  db=$STATE_ROOT/svc/store.db
  uid=$(sqlite3 "$db" "select uid from objects where kind = 'Service' and namespace = 'kube-system' and name = 'traefik'")
  ds="svclb-traefik-${uid:0:8}"
  # status: one pod per node, READY 2/2 (lb-tcp-80, lb-tcp-443)
  run "$NSLAB" status svc
  [ "$(printf '%s\n' "$output" | grep -cE "^kube-system +$ds-[bcdfghjklmnpqrstvwxz2456789]{5} +2/2 +Running ")" -eq 2 ] || { echo "$output" >&2; false; }
  # the store: servicelb's DaemonSet, its pods owned by it, with the hostPorts
  run sqlite3 "$db" "select json_extract(body, '$.metadata.labels.\"svccontroller.k3s.cattle.io/svcname\"'), json_extract(body, '$.spec.selector.matchLabels.app'), json_extract(body, '$.status.numberReady') from objects where kind = 'DaemonSet' and namespace = 'kube-system' and name = '$ds'"
  [ "$output" = "traefik|$ds|2" ]
  run sqlite3 "$db" "select count(*) from objects where kind = 'Pod' and json_extract(body, '$.metadata.ownerReferences[0].kind') = 'DaemonSet' and json_extract(body, '$.metadata.ownerReferences[0].name') = '$ds' and json_extract(body, '$.spec.containers[1].ports[0].hostPort') = 443 and json_extract(body, '$.spec.containers[0].name') = 'lb-tcp-80'"
  [ "$output" = 2 ]
  # k3s's newDaemonSet, Priority admission, the DaemonSet controller's tolerations; no token, no resources
  run sqlite3 "$db" "select json_extract(body, '$.spec.priorityClassName'), json_extract(body, '$.spec.priority'), json_extract(body, '$.spec.serviceAccountName'), json_extract(body, '$.spec.automountServiceAccountToken'), json_type(body, '$.spec.volumes'), json_array_length(body, '$.spec.tolerations'), json_extract(body, '$.spec.tolerations[2].key'), json_extract(body, '$.status.qosClass') from objects where kind = 'Pod' and json_extract(body, '$.metadata.ownerReferences[0].name') = '$ds' limit 1"
  [ "$output" = "system-node-critical|2000001000|svclb|0||9|CriticalAddonsOnly|BestEffort" ] || { echo "$output" >&2; false; }
  read -r pod ip < <(svclb_pod "$ds" cp1)
  [[ "$ip" == 10.42.0.* ]]
  # the node: the portmap plugin's chains, behind kube-proxy's jump
  run ip netns exec svc-cp1 iptables-save -t nat
  [[ "$output" == *$'-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES\n-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT'* ]] || { echo "$output" >&2; false; }
  [[ "$output" =~ -A\ CNI-HOSTPORT-DNAT\ -p\ tcp\ -m\ comment\ --comment\ \"dnat\ name:\ \\\"cbr0\\\"\ id:\ \\\"[0-9a-f]{64}\\\"\"\ -m\ multiport\ --dports\ 80,443\ -j\ (CNI-DN-[0-9a-f]{21}) ]] || { echo "$output" >&2; false; }
  chain=${BASH_REMATCH[1]}
  [[ "$output" == *"-A $chain -p tcp -m tcp --dport 80 -j DNAT --to-destination $ip:80"* ]]
  [[ "$output" == *"-A $chain -s 127.0.0.1/32 -p tcp -m tcp --dport 443 -j CNI-HOSTPORT-SETMARK"* ]]
  # the pod: klipper-lb's entry, in its own namespace
  run ip netns exec "svc-kube-system-$pod" iptables-save -t nat
  [[ "$output" == *"-A PREROUTING ! -s 10.43.121.230/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.43.121.230:80"* ]] || { echo "$output" >&2; false; }
  [[ "$output" == *"-A POSTROUTING -d 10.43.121.230/32 -p tcp -j MASQUERADE"* ]]
  [ "$(ip netns exec "svc-kube-system-$pod" sysctl -n net.ipv4.ip_forward)" = 1 ]
  # Not privileged: containerd's default capabilities plus NET_ADMIN (servicelb's
  # securityContext.capabilities.add), no CAP_SYS_ADMIN, as the API shows it;
  # iptables works in it, for the entry script and for kubectl exec alike.
  pause=$(pgrep -f "^nslab-pause svc kube-system/$pod\$")
  [ "$(grep CapEff "/proc/$(pgrep -P "$pause")/status")" = "CapEff:	00000000a80435fb" ]
  run "$NSLAB" exec svc -n kube-system "pod/$pod" -- grep CapEff /proc/self/status
  [ "$output" = "CapEff:	00000000a80435fb" ]
  run "$NSLAB" exec svc -n kube-system "pod/$pod" -- iptables -t nat -S POSTROUTING
  [ "$status" -eq 0 ]
  [[ "$output" == *"-A POSTROUTING -d 10.43.121.230/32 -p tcp -j MASQUERADE"* ]]
  [ "$("$NSLAB" kubectl svc -n kube-system get pod "$pod" -o jsonpath='{.spec.containers[*].securityContext}')" = '{"capabilities":{"add":["NET_ADMIN"]}} {"capabilities":{"add":["NET_ADMIN"]}}' ]
  # Seed 001's traefik row: every node address answers at port 80. As on a
  # k3s node, kube-proxy's "loadbalancer IP" rule takes it first.
  run ip netns exec svc-host curl -s -m 3 http://192.168.56.10/
  [[ "$output" == "pod: traefik-"* ]] || { echo "$output" >&2; false; }
  [ "$(ip netns exec "svc-kube-system-$pod" iptables -t nat -L PREROUTING -v -x -n | awk '/dpt:80 / { print $1 }')" -eq 0 ]
  # What kube-proxy does not take goes through the host port and the svclb
  # pod: the node's own 127.0.0.1:80; traefik sees the svclb pod's address.
  run ip netns exec svc-cp1 curl -s -m 3 http://127.0.0.1/
  [[ "$output" == "pod: traefik-"* ]] || { echo "$output" >&2; false; }
  [[ "$output" == *"client: $ip:"* ]] || { echo "$output" >&2; false; }
  [ "$(ip netns exec "svc-kube-system-$pod" iptables -t nat -L PREROUTING -v -x -n | awk '/dpt:80 / { print $1 }')" -ge 1 ]
  "$NSLAB" down svc
}

@test "services: up returns once the svclb pods' entry scripts have their rules in, however slow their iptables" {
  # A pod's PATH starts with /usr/local/sbin (containerd's default): an
  # iptables there that waits stretches klipper-lb's script to seconds.
  # Mounted in this file's sandbox only, and only while up runs; nslab's
  # own iptables and the CNI plugins' name /usr/sbin.
  [ -d /usr/local/sbin ] || skip "no /usr/local/sbin to mount over"
  mount -t tmpfs -o mode=0755 tmpfs /usr/local/sbin
  printf '#!/bin/sh\nsleep 0.2\nexec /usr/sbin/iptables "$@"\n' > /usr/local/sbin/iptables
  chmod 755 /usr/local/sbin/iptables
  run "$NSLAB" up "$(svc_lab nftables)"
  umount /usr/local/sbin
  [ "$status" -eq 0 ] || { echo "$output" >&2; false; }
  # Right away: every svclb pod has its last rule, a MASQUERADE per port.
  local pods=0
  while read -r pod want; do
    run ip netns exec "svc-kube-system-$pod" iptables -t nat -S POSTROUTING
    [ "$(grep -c -- '-j MASQUERADE$' <<<"$output")" -eq "$want" ] || { echo "$pod: $output" >&2; false; }
    pods=$((pods + 1))
  done < <("$NSLAB" status svc | awk '$2 ~ /^svclb-traefik-/ { print $2, 2 } $2 ~ /^svclb-web-lb-/ { print $2, 1 }')
  [ "$pods" -eq 4 ]
  # And the first request to cp1's address is served (in nftables mode the
  # node's iptables nat hook takes it first, to the svclb pod).
  run ip netns exec svc-host curl -s -m 3 http://192.168.56.10/
  [[ "$output" == "pod: traefik-"* ]] || { echo "$output" >&2; false; }
  "$NSLAB" down svc
}

@test "services: deleting a LoadBalancer takes servicelb's DaemonSet, its pods and their host ports with it" {
  up_svc iptables
  uid=$(sqlite3 "$STATE_ROOT/svc/store.db" "select uid from objects where kind = 'Service' and namespace = 'kube-system' and name = 'traefik'")
  ds="svclb-traefik-${uid:0:8}"
  "$NSLAB" delete svc -n kube-system svc/traefik
  run "$NSLAB" status svc
  [[ "$output" != *"$ds"* ]] || { echo "$output" >&2; false; }
  [ "$(sqlite3 "$STATE_ROOT/svc/store.db" "select count(*) from objects where kind in ('DaemonSet', 'Pod') and name like '$ds%'")" -eq 0 ]
  run ip netns exec svc-cp1 iptables-save -t nat
  [[ "$output" != *"--dports 80,443"* ]] || { echo "$output" >&2; false; }
  [[ "$output" == *"--dports 8081 -j CNI-DN-"* ]]
  [ -z "$(ip netns list | grep "$ds")" ]
  "$NSLAB" down svc
}

@test "services: apply adds a LoadBalancer to a running k3s lab: servicelb's pods come up on every node and their host ports serve" {
  up_svc iptables
  mkdir -p "$BATS_TEST_TMPDIR/labs"
  [ -e "$BATS_TEST_TMPDIR/templates" ] || ln -s "$REPO/templates" "$BATS_TEST_TMPDIR/templates"
  edited=$BATS_TEST_TMPDIR/labs/k3s-services.ini
  cp "$LAB" "$edited"
  printf '\n[service default/web-lb2]\ntype = LoadBalancer\nselector = app=web\nports = 9191->8080\n' >> "$edited"
  run "$NSLAB" apply "$edited"
  [ "$status" -eq 0 ] || { echo "$output" >&2; false; }
  for _ in $(seq 100); do
    [ "$("$NSLAB" status svc | grep -cE '^kube-system +svclb-web-lb2-[0-9a-f]{8}-[a-z0-9]{5} +1/1 +Running ')" -eq 2 ] && break
    sleep 0.1
  done
  read -r pod ip < <(svclb_pod svclb-web-lb2 w1)
  [[ "$ip" == 10.42.1.* ]]
  # w1's own 127.0.0.1:9191: the portmap plugin's DNAT, the svclb pod's, the web pod
  run ip netns exec svc-w1 curl -s -m 3 http://127.0.0.1:9191/
  [[ "$output" == "pod: web-"* ]] || { echo "$output" >&2; false; }
  [[ "$output" == *"client: $ip:"* ]] || { echo "$output" >&2; false; }
  # and the lab host on both node addresses (kube-proxy's rule)
  ip netns exec svc-host curl -s -m 3 http://192.168.56.10:9191/ | grep -q '^pod: web-'
  # servicelb reported both nodes once their svclb pods were ready
  svc_event_seen web-lb2 "Normal UpdatedLoadBalancer service-lb-controller: Updated LoadBalancer with new IPs: [] -> [192.168.56.10 192.168.56.11]"
  "$NSLAB" down svc
}
