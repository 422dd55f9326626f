#!/usr/bin/env bats
# Cluster DNS (issue 10): the coredns pods of kube-system behind kube-dns
# answer the Kubernetes DNS records, asked with the ordinary clients (dig,
# getent, curl) from pods whose resolv.conf kubelet wrote. The oracles: the
# lab's store (services, endpoints, pods as the API holds them), dig's own
# parsing of the answers, and the kernel's iptables on a node.

load helpers

LAB=$BATS_TEST_TMPDIR/dns.ini

store () { sqlite3 "$STATE_ROOT/dnsl/store.db" "$1"; }

# A pod's client, in demo or default.
in_demo () { "$NSLAB" exec dnsl -n demo pod/client -- "$@"; }
in_default () { "$NSLAB" exec dnsl -n default pod/client -- "$@"; }

dns_lab () {
  cat > "$LAB" <<EOF
[lab]
name = dnsl
template = $REPO/templates/k3s.ini
$1
[node cp1]
role = control-plane
nics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10
[node w1]
role = worker
nics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.11
[deployment demo/web]
labels = app=web
replicas = 2
app = http:80
[service demo/web-svc]
selector = app=web
ports = http:80
[service demo/web-headless]
selector = app=web
ports = http:80
cluster_ip = None
[pod demo/client]
command = sleep infinity
[pod default/client]
command = sleep infinity
EOF
  run "$NSLAB" up --wait "$LAB"
  [ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
}

# The ready endpoints of demo/SERVICE in the store, sorted, one a line.
store_endpoints () {
  store "select json_extract(a.value, '\$.ip') from objects o, json_each(json_extract(o.body, '\$.subsets[0].addresses')) a
         where o.kind = 'Endpoints' and o.namespace = 'demo' and o.name = '$1'" | sort
}

@test "dns: a coredns pod on the control plane behind kube-dns, with kube-proxy's ordinary rules" {
  dns_lab ""
  pod=$(store "select name from objects where kind='Pod' and namespace='kube-system'")
  [[ "$pod" =~ ^coredns-[0-9a-f]{8,10}-[a-z0-9]{5}$ ]]
  [ "$(store "select json_extract(body, '\$.spec.nodeName') from objects where kind='Pod' and name='$pod'")" = cp1 ]
  ip=$(store "select json_extract(body, '\$.status.podIP') from objects where kind='Pod' and name='$pod'")
  # kube-dns's endpoints are the coredns pod, on every port.
  [ "$(store "select json_extract(body, '\$.subsets[0].addresses[0].ip') from objects where kind='Endpoints' and name='kube-dns'")" = "$ip" ]
  [ "$(store "select json_extract(body, '\$.spec.clusterIP') from objects where kind='Service' and name='kube-dns'")" = 10.43.0.10 ]
  ip netns exec dnsl-w1 iptables-save -t nat | grep -q -- '-A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment "kube-system/kube-dns:dns -> '"$ip"':53" -j KUBE-SEP-'
  ps -eo args= | grep -qx "nslab-coredns --port 53 --domain cluster.local dnsl"
  # A node keeps the host's resolv.conf and /etc/hosts, plus the lab's node names.
  [ "$("$NSLAB" exec dnsl node/w1 -- cat /etc/resolv.conf)" = "$(cat /etc/resolv.conf)" ]
  [ "$("$NSLAB" exec dnsl node/w1 -- cat /etc/hosts)" = "$(cat /etc/hosts; printf '# nslab lab dnsl: its nodes\n192.168.56.10\tcp1\n192.168.56.11\tw1')" ]
  [ "$("$NSLAB" exec dnsl node/w1 -- getent hosts cp1 | awk '{print $1}')" = 192.168.56.10 ]
  # The headless service: spec.clusterIP None and no kube-proxy rule.
  [ "$(store "select json_extract(body, '\$.spec.clusterIP') from objects where kind='Service' and name='web-headless'")" = None ]
  ! ip netns exec dnsl-w1 iptables-save | grep -q web-headless
  "$NSLAB" down dnsl
}

@test "dns: services by name through the search path, SRV, headless, pod records, PTR, AAAA; the host's files untouched" {
  cp /etc/resolv.conf "$BATS_TEST_TMPDIR/resolv.before"
  cp /etc/hosts "$BATS_TEST_TMPDIR/hosts.before"
  dns_lab ""
  run in_demo cat /etc/resolv.conf
  [ "$output" = "$(printf 'search demo.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.43.0.10\noptions ndots:5')" ]
  run in_demo cat /etc/hosts
  [[ "$output" == *$'\n'"10.42.0.3"$'\t'"client" ]]
  cip=$(store "select json_extract(body, '\$.spec.clusterIP') from objects where kind='Service' and name='web-svc'")
  # From demo: the short name and the full one, with curl and getent.
  [ "$(in_demo curl -s -m 5 http://web-svc/ | sed -n 's/^namespace: //p')" = demo ]
  [ "$(in_demo curl -s -m 5 http://web-svc.demo.svc.cluster.local/ | sed -n 's/^namespace: //p')" = demo ]
  [ "$(in_demo getent hosts web-svc | awk '{print $1, $2}')" = "$cip web-svc.demo.svc.cluster.local" ]
  # From default: web-svc.demo resolves, web-svc alone does not.
  [ "$(in_default getent hosts web-svc.demo | awk '{print $1}')" = "$cip" ]
  run in_default curl -s -m 5 http://web-svc/
  [ "$status" -eq 6 ] # could not resolve host
  in_default dig web-svc.default.svc.cluster.local | grep -q 'status: NXDOMAIN'
  run in_default nslookup web-svc
  [[ "$output" == *"server can't find web-svc: NXDOMAIN"* ]]
  # SRV of the named port.
  [ "$(in_demo dig +short SRV _http._tcp.web-svc.demo.svc.cluster.local)" = "0 100 80 web-svc.demo.svc.cluster.local." ]
  # Headless: every ready endpoint, as the store lists them.
  [ "$(in_demo dig +short web-headless.demo.svc.cluster.local | sort)" = "$(store_endpoints web-headless)" ]
  [ "$(store_endpoints web-headless | wc -l)" -eq 2 ]
  # A pod's record; PTR of a ClusterIP and of an endpoint (named in every
  # service it backs); a pod in no service has no PTR (CoreDNS's Reverse).
  web=$(store_endpoints web-headless | head -1)
  [ "$(in_demo dig +short "${web//./-}.demo.pod.cluster.local")" = "$web" ]
  [ "$(in_demo dig +short -x "$cip")" = "web-svc.demo.svc.cluster.local." ]
  [ "$(in_demo dig +short -x 10.43.0.10)" = "kube-dns.kube-system.svc.cluster.local." ]
  [ "$(in_demo dig +short -x "$web" | sort | tr '\n' ' ')" = "${web//./-}.web-headless.demo.svc.cluster.local. ${web//./-}.web-svc.demo.svc.cluster.local. " ]
  in_demo dig -x 10.42.0.3 | grep -q 'status: NXDOMAIN'
  # AAAA of a service: no address, no error.
  run in_demo dig AAAA web-svc.demo.svc.cluster.local
  [[ "$output" == *"status: NOERROR"* && "$output" == *"ANSWER: 0,"* ]]
  # Outside the cluster's zones there is no upstream: refused, not a timeout.
  in_demo dig example.com | grep -q 'status: REFUSED'
  run in_demo getent hosts example.com
  [ "$status" -eq 2 ]
  "$NSLAB" down dnsl
  cmp /etc/resolv.conf "$BATS_TEST_TMPDIR/resolv.before"
  cmp /etc/hosts "$BATS_TEST_TMPDIR/hosts.before"
}

@test "dns: scale and delete show in the next answers" {
  dns_lab ""
  run "$NSLAB" scale dnsl -n demo deploy/web --replicas 3
  [ "$status" -eq 0 ]
  # The new pod's endpoint is written once it is ready (bounded wait).
  for _ in $(seq 100); do [ "$(store_endpoints web-headless | wc -l)" -eq 3 ] && break; sleep 0.1; done
  [ "$(store_endpoints web-headless | wc -l)" -eq 3 ]
  [ "$(in_demo dig +short web-headless.demo.svc.cluster.local | sort)" = "$(store_endpoints web-headless)" ]
  [ "$(in_demo dig +short SRV _http._tcp.web-headless.demo.svc.cluster.local | wc -l)" -eq 3 ]
  run "$NSLAB" delete dnsl -n demo service/web-svc
  [ "$status" -eq 0 ]
  in_demo dig web-svc.demo.svc.cluster.local | grep -q 'status: NXDOMAIN'
  "$NSLAB" down dnsl
}

@test "dns: TCP, truncation and retry over TCP, FORMERR for a malformed query, 1000 queries 1000 answers" {
  dns_lab ""
  run in_demo dig +tcp web-headless.demo.svc.cluster.local
  [[ "$output" == *"status: NOERROR"* && "$output" == *"(TCP)"* ]]
  # 12 endpoints' SRV records and their addresses do not fit in 512 bytes.
  run "$NSLAB" scale dnsl -n demo deploy/web --replicas 12
  [ "$status" -eq 0 ]
  for _ in $(seq 200); do [ "$(store_endpoints web-headless | wc -l)" -eq 12 ] && break; sleep 0.1; done
  [ "$(store_endpoints web-headless | wc -l)" -eq 12 ]
  run in_demo dig +noedns +ignore SRV _http._tcp.web-headless.demo.svc.cluster.local
  [[ "$output" =~ "flags: qr aa tc rd ra;" ]]
  [[ "$output" == *"ANSWER: 0,"* ]]
  # Without +ignore dig asks again over TCP, as glibc does.
  [ "$(in_demo dig +noedns +short SRV _http._tcp.web-headless.demo.svc.cluster.local | wc -l)" -eq 12 ]
  # A header announcing a question that is not there: FORMERR with its ID.
  run in_demo sh -c "printf '\\253\\315\\001\\000\\000\\001\\000\\000\\000\\000\\000\\000\\007w' | socat -t 2 - UDP:10.43.0.10:53 | od -An -tx1"
  [ "$(echo $output)" = "ab cd 81 01 00 00 00 00 00 00 00 00" ]
  # ... and the server goes on answering: 1000 queries in one dig, 1000 answers.
  for i in $(seq 1000); do echo "web-svc.demo.svc.cluster.local A +short"; done > "$BATS_TEST_TMPDIR/q"
  cip=$(store "select json_extract(body, '\$.spec.clusterIP') from objects where kind='Service' and name='web-svc'")
  [ "$(in_demo dig -f "$BATS_TEST_TMPDIR/q" | grep -cx "$cip")" -eq 1000 ]
  "$NSLAB" down dnsl
}

@test "dns: [cluster] dns = no: no coredns pod, no kube-dns, pods keep the host's resolv.conf" {
  dns_lab $'[cluster]\ndns = no'
  [ "$(store "select count(*) from objects where namespace='kube-system' and kind in ('Pod', 'Service', 'Deployment')")" -eq 0 ]
  [ "$(in_demo cat /etc/resolv.conf)" = "$(cat /etc/resolv.conf)" ]
  ! ps -eo args= | grep -q '^nslab-coredns'
  "$NSLAB" down dnsl
}

@test "dns: [cluster] dns_domain = lab.test: the pods search it and the cluster DNS answers for it alone" {
  dns_lab $'[cluster]\ndns_domain = lab.test'
  ps -eo args= | grep -qx "nslab-coredns --port 53 --domain lab.test dnsl"
  [ "$(in_demo cat /etc/resolv.conf | grep ^search)" = "search demo.svc.lab.test svc.lab.test lab.test" ]
  ip=$(store "select json_extract(body, '\$.spec.clusterIP') from objects where kind='Service' and name='web-svc'")
  [ "$(in_demo dig +short web-svc.demo.svc.lab.test)" = "$ip" ]
  [ "$(in_demo getent hosts web-svc | awk '{print $1, $2}')" = "$ip web-svc.demo.svc.lab.test" ]
  # cluster.local is no zone of this cluster: REFUSED, as CoreDNS with no upstream
  in_demo dig web-svc.demo.svc.cluster.local | grep -q 'status: REFUSED'
  "$NSLAB" down dnsl
}

@test "dns: dns_replicas = 2 puts two coredns pods behind kube-dns; a bad value is one line" {
  dns_lab $'[cluster]\ndns_replicas = 2'
  [ "$(store "select count(*) from objects where kind='Pod' and namespace='kube-system' and name like 'coredns-%'")" -eq 2 ]
  for _ in $(seq 100); do [ "$(store "select json_array_length(json_extract(body, '\$.subsets[0].addresses')) from objects where kind='Endpoints' and name='kube-dns'")" = 2 ] && break; sleep 0.1; done
  [ "$(in_demo dig +short web-svc.demo.svc.cluster.local | wc -l)" -eq 1 ]
  "$NSLAB" down dnsl
  printf '[lab]\nname = bad\ntemplate = %s/templates/k3s.ini\n[cluster]\ndns = no\ndns_replicas = 2\n[node n1]\nrole = control-plane\nnics = enp0s8=hostonly:192.168.56.10\n' "$REPO" > "$BATS_TEST_TMPDIR/bad.ini"
  run "$NSLAB" validate "$BATS_TEST_TMPDIR/bad.ini"
  [ "$status" -eq 2 ]
  [ "$output" = "nslab: $BATS_TEST_TMPDIR/bad.ini: [cluster] dns_replicas: needs dns = yes" ]
}
