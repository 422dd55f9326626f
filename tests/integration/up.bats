#!/usr/bin/env bats
# nslab up on the seed lab (labs/k3s-virtualbox.ini): what exists afterwards
# and that the cluster works as the seed describes it.

load helpers

web1=k3s-demo-web-8597f6f985-56kng   # on w1
cp1pod=k3s-default-my-helloworld-rs-b44j4  # a pod on cp1

up_seed () {
  run "$NSLAB" up "$SEED"
  [ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
}

@test "up: prints nodes, pods, services and how to exec" {
  up_seed
  [[ "${lines[0]}" =~ ^"lab k3s is up: 3 nodes, 9 pods, 4 services (" ]]
  [[ "$output" == *"cp1    Ready    control-plane   192.168.56.10   10.42.0.0/24   k3s-cp1"* ]]
  [[ "$output" == *"w2     Ready    <none>          192.168.56.12   10.42.2.0/24   k3s-w2"* ]]
  [[ "$output" =~ $'\n'"demo "+"web-8597f6f985-56kng "+"1/1     Running   10.42.1.2   w1     http-echo:80" ]]
  [[ "$output" =~ $'\n'"kube-system   coredns-66ccd6cd5c-8jvnv   1/1     Running   10.42.0.4   cp1    coredns:53" ]]
  [[ "$output" == *"demo          web-svc                    ClusterIP   10.43.31.179   <none>        80/TCP                   app=web"* ]]
  [[ "$output" == *"default       my-helloworld-rs-service   NodePort    10.43.45.254   <none>        80:31885/TCP"* ]]
  [[ "$output" == *"nslab exec k3s -n demo pod/web-8597f6f985-56kng -- curl -s http://10.43.31.179:80/"* ]]
  "$NSLAB" down k3s
}

@test "up: a state root on a disk file system gets a tmpfs of its own, unless labs are already there" {
  disk=$BATS_TEST_TMPDIR/disk
  mkdir -m 0755 "$disk"
  [ "$(stat -f -c %T "$disk")" != tmpfs ] || skip "the test's directory is on a tmpfs: no disk file system here"
  mkdir -p "$STATE_ROOT"
  mount --bind "$disk" "$STATE_ROOT"
  f=$(one_node_lab mem <<'INI'
[pod default/p]
command = sleep infinity
INI
)
  "$NSLAB" up "$f" > /dev/null
  [ "$(stat -f -c %T "$STATE_ROOT")" = tmpfs ]
  [ -d "$STATE_ROOT/mem" ]
  [ -z "$(ls -A "$disk")" ]
  # The pod's /etc files are bound from the lab dir on the new tmpfs.
  [ "$("$NSLAB" exec mem pod/p -- cat /etc/hostname)" = p ]
  "$NSLAB" down mem
  umount "$STATE_ROOT"
  # A lab already on the disk (NSLAB_STATE_DIR is never mounted over): the
  # next up leaves the root as it is, and both labs are seen and go down.
  NSLAB_STATE_DIR=$STATE_ROOT "$NSLAB" up "$(one_node_lab ondisk </dev/null)" > /dev/null
  "$NSLAB" up "$(make_lab mem 57)" > /dev/null
  [ "$(stat -f -c %T "$STATE_ROOT")" != tmpfs ]
  [ "$(ls "$disk")" = "$(printf 'mem\nondisk')" ]
  run "$NSLAB" down --all
  [ "$status" -eq 0 ]
  [ -z "$(ls -A "$disk")" ]
  umount "$STATE_ROOT"
}

@test "up: the kernel logs nothing about nslab's netlink requests (no malformed attribute)" {
  command -v dmesg >/dev/null || skip "dmesg is not installed"
  dmesg >/dev/null 2>&1 || skip "the kernel log is not readable here"
  before=$(dmesg | wc -l)
  up_seed
  # Every line the kernel logged during up; none may be about a malformed
  # attribute (libnl 3.7's u32 IFLA_VXLAN_PORT logged one per flannel.1).
  new=$(dmesg | tail -n +"$((before + 1))")
  ! grep -E "invalid length|nslab" <<< "$new"
  # And the VXLAN device is what flannel makes: the port as it should be.
  ip netns exec k3s-cp1 ip -d link show flannel.1 | grep -E "vxlan id 1 local 192\.168\.56\.10 dev enp0s8 .*dstport 8472 .*nolearning"
  "$NSLAB" down k3s
}

@test "up: the lab's store holds its objects as the API would, each pod's IP the one its eth0 has" {
  up_seed
  db=$STATE_ROOT/k3s/store.db
  # sqlite3, an outside reader, sees the whole cluster in one committed state.
  [ "$(sqlite3 "$db" "select count(*) from objects where kind = 'Pod'")" -eq 9 ]
  [ "$(sqlite3 "$db" "select count(*) from objects where kind = 'Node'")" -eq 3 ]
  [ "$(sqlite3 "$db" "select count(distinct uid) from objects")" -eq "$(sqlite3 "$db" "select count(*) from objects")" ]
  # One statement, one snapshot: the running control loop may commit between two sqlite3 calls.
  [ "$(sqlite3 "$db" "select (select value from meta where key = 'resourceVersion') >= (select max(resource_version) from objects)")" = 1 ]
  [ "$(sqlite3 "$db" "pragma journal_mode")" = wal ]
  # Each pod's status.podIP and spec.nodeName against the kernel and the plan.
  while IFS='|' read -r ns name body; do
    ip=$(jq -r .status.podIP <<< "$body")
    [ "$(ip -n "k3s-$ns-$name" -4 -o addr show dev eth0 | awk '{print $4}')" = "$ip/24" ]
    [ "$(jq -r .spec.nodeName <<< "$body")" = "$("$NSLAB" plan -o json "$SEED" | jq -r --arg n "$name" '.pods[] | select(.name == $n) | .node')" ]
  done < <(sqlite3 "$db" "select namespace, name, body from objects where kind = 'Pod'")
  # A deployment's pods are owned by its replicaset, which the deployment owns.
  rs_uid=$(sqlite3 "$db" "select uid from objects where kind = 'ReplicaSet' and namespace = 'demo'")
  [ "$(sqlite3 "$db" "select body from objects where kind = 'Pod' and namespace = 'demo'" | jq -r '.metadata.ownerReferences[0].uid' | sort -u)" = "$rs_uid" ]
  "$NSLAB" down k3s
}

@test "up: every namespace is there, prefixed with the lab name" {
  up_seed
  run bash -c "ip netns list | awk '{print \$1}' | sort"
  expected=$(printf '%s\n' k3s-cp1 k3s-cp1-nat k3s-default-my-helloworld-rs-5j6zd k3s-default-my-helloworld-rs-b44j4 \
    k3s-default-my-helloworld-rs-bqnk6 k3s-default-my-helloworld-rs-j9wbw k3s-default-my-helloworld-rs-jn6fh \
    k3s-default-my-helloworld-rs-sxsgh k3s-demo-web-8597f6f985-56kng k3s-demo-web-8597f6f985-bw5jd k3s-host \
    k3s-kube-system-coredns-66ccd6cd5c-8jvnv \
    k3s-w1 k3s-w1-nat k3s-w2 k3s-w2-nat | sort)
  [ "$output" = "$expected" ]
  run bash -c "ip netns exec k3s-cp1 ip -br link | awk '{print \$1}' | sed 's/@.*//'"
  [ "$output" = "$(printf '%s\n' lo enp0s3 enp0s8 flannel.1 cni0 veth1b841caa veth26d589f8 veth13ce1257)" ]
  "$NSLAB" down k3s
}

@test "up: 40 requests to the ClusterIP from a pod on cp1 reach both web pods" {
  up_seed
  for i in $(seq 40); do
    ip netns exec "$cp1pod" curl -s -m 3 http://10.43.31.179/ | pod_of
  done > "$BATS_TEST_TMPDIR/answers"
  run sort -u "$BATS_TEST_TMPDIR/answers"
  [ "$output" = "$(printf '%s\n' web-8597f6f985-56kng web-8597f6f985-bw5jd)" ]
  [ "$(wc -l < "$BATS_TEST_TMPDIR/answers")" -eq 40 ]
  "$NSLAB" down k3s
}

@test "up: the ClusterIP answers from node cp1 and by hairpin from a web pod itself" {
  up_seed
  for i in $(seq 30); do ip netns exec k3s-cp1 curl -s -m 3 http://10.43.31.179/ | pod_of; done > "$BATS_TEST_TMPDIR/node"
  run sort -u "$BATS_TEST_TMPDIR/node"
  [ "$output" = "$(printf '%s\n' web-8597f6f985-56kng web-8597f6f985-bw5jd)" ]
  # The pod reaches its own service; when DNAT picks itself, the answer comes
  # back through the bridge (hairpin on) with the source masqueraded.
  for i in $(seq 30); do ip netns exec "$web1" curl -s -m 3 http://10.43.31.179/; done > "$BATS_TEST_TMPDIR/hp"
  run bash -c "pod_of () { sed -n 's/^pod: //p'; }; pod_of < '$BATS_TEST_TMPDIR/hp' | sort -u"
  [ "$output" = "$(printf '%s\n' web-8597f6f985-56kng web-8597f6f985-bw5jd)" ]
  grep -q "^client: 10.42.1.1:" "$BATS_TEST_TMPDIR/hp"   # hairpin: masqueraded to cni0's address
  "$NSLAB" down k3s
}

@test "up: NodePort from the lab host, pod to pod across nodes, ping across nodes" {
  up_seed
  run bash -c "ip netns exec k3s-host curl -s -m 3 http://192.168.56.11:31885/ | sed -n 's/^namespace: //p'"
  [ "$output" = "default" ]
  run bash -c "ip netns exec $cp1pod curl -s -m 3 http://10.42.2.2/ | sed -n 's/^pod: //p'"
  [ "$output" = "web-8597f6f985-bw5jd" ]
  command -v ping >/dev/null || skip "ping is not installed (iputils-ping)"
  ip netns exec k3s-cp1 ping -c1 -W2 192.168.56.12
  ip netns exec "$cp1pod" ping -c1 -W2 10.42.1.2
  "$NSLAB" down k3s
}

@test "up: tcpdump on w1's enp0s8 sees pod traffic from cp1 VXLAN-encapsulated (UDP 8472, VNI 1)" {
  command -v tcpdump >/dev/null || skip "tcpdump is not installed (make deps)"
  up_seed
  start_dump k3s-w1 enp0s8 'udp port 8472' -n -c 2
  # the echo pod on w1 answers a pod on cp1: both directions cross the VXLAN
  run bash -c "ip netns exec $cp1pod curl -s -m 3 http://10.42.1.2/ | sed -n 's/^pod: //p'"
  [ "$output" = "web-8597f6f985-56kng" ]
  wait "$dump" || true
  cat "$BATS_TEST_TMPDIR/dump"
  # tcpdump decodes UDP 8472 as OTV (that port's IANA owner), as on a real
  # node; VNI 1 shows as "instance 1". The SYN goes out, the SYN-ACK comes
  # back: no retransmission, so the lab forwards from its first packet on.
  sed -n 1p "$BATS_TEST_TMPDIR/dump" | grep -qE 'IP 192\.168\.56\.10\.[0-9]+ > 192\.168\.56\.11\.8472: OTV, flags \[I\] \(0x08\), overlay 0, instance 1$'
  sed -n 2p "$BATS_TEST_TMPDIR/dump" | grep -qE 'IP 10\.42\.0\.2\.[0-9]+ > 10\.42\.1\.2\.80: Flags \[S\]'
  sed -n 3p "$BATS_TEST_TMPDIR/dump" | grep -qE 'IP 192\.168\.56\.11\.[0-9]+ > 192\.168\.56\.10\.8472: OTV'
  sed -n 4p "$BATS_TEST_TMPDIR/dump" | grep -qE 'IP 10\.42\.1\.2\.80 > 10\.42\.0\.2\.[0-9]+: Flags \[S\.\]'
  "$NSLAB" down k3s
}

@test "up: cp1's addresses, routes, neighbours and FDB are what the plan says" {
  "$NSLAB" plan "$SEED" > "$BATS_TEST_TMPDIR/plan"
  up_seed
  # the plan's "expected `ip route`" block for cp1
  awk '/^## netns k3s-cp1 \(node/{on=1} on&&/^## netns/&&!/k3s-cp1 \(node/{on=0}
       on&&/^# expected `ip route`/{r=1;next} r&&/^#   /{sub(/^#   /,"");print;next} r{r=0}' \
    "$BATS_TEST_TMPDIR/plan" > "$BATS_TEST_TMPDIR/route.want"
  [ -s "$BATS_TEST_TMPDIR/route.want" ]
  ip netns exec k3s-cp1 ip route | sed 's/ *$//' > "$BATS_TEST_TMPDIR/route.got"
  diff -u "$BATS_TEST_TMPDIR/route.want" "$BATS_TEST_TMPDIR/route.got"
  # `ip -br addr` exactly as the plan expects it: "@ifN" peer indexes and
  # the EUI-64 IPv6 link-local addresses included (the kernel adds those
  # once a link has carrier, so give it a moment).
  norm () { sed -E 's/ +/ /g; s/ $//'; }
  awk '/^## netns k3s-cp1 \(node/{on=1} on&&/^## netns/&&!/k3s-cp1 \(node/{on=0}
       on&&/^# expected `ip -br addr`/{r=1;next} r&&/^#   /{sub(/^#   /,"");print;next} r{r=0}' \
    "$BATS_TEST_TMPDIR/plan" | norm > "$BATS_TEST_TMPDIR/addr.want"
  [ "$(wc -l < "$BATS_TEST_TMPDIR/addr.want")" -eq 8 ]
  grep -q 'enp0s3@if2 UP 10.0.2.15/24 metric 100 fe80::a00:27ff:' "$BATS_TEST_TMPDIR/addr.want"
  for _ in $(seq 30); do
    ip netns exec k3s-cp1 ip -br addr | norm > "$BATS_TEST_TMPDIR/addr.got"
    cmp -s "$BATS_TEST_TMPDIR/addr.want" "$BATS_TEST_TMPDIR/addr.got" && break
    sleep 0.1
  done
  diff -u "$BATS_TEST_TMPDIR/addr.want" "$BATS_TEST_TMPDIR/addr.got"
  # neighbours and FDB, from the plan's commands
  awk '/^## netns k3s-cp1 \(node/{on=1} on&&/^## netns/&&!/k3s-cp1 \(node/{on=0}
       on&&/^ip neigh add/{print $4" dev "$8" lladdr "$6" PERMANENT"}' "$BATS_TEST_TMPDIR/plan" | sort > "$BATS_TEST_TMPDIR/neigh.want"
  [ "$(wc -l < "$BATS_TEST_TMPDIR/neigh.want")" -eq 2 ]
  ip netns exec k3s-cp1 ip neigh show nud permanent | sed 's/ *$//' | sort > "$BATS_TEST_TMPDIR/neigh.got"
  diff -u "$BATS_TEST_TMPDIR/neigh.want" "$BATS_TEST_TMPDIR/neigh.got"
  awk '/^## netns k3s-cp1 \(node/{on=1} on&&/^## netns/&&!/k3s-cp1 \(node/{on=0}
       on&&/^bridge fdb append/{print $4" dst "$8" self permanent"}' "$BATS_TEST_TMPDIR/plan" | sort > "$BATS_TEST_TMPDIR/fdb.want"
  [ "$(wc -l < "$BATS_TEST_TMPDIR/fdb.want")" -eq 2 ]
  ip netns exec k3s-cp1 bridge fdb show dev flannel.1 | sed 's/ *$//' | sort > "$BATS_TEST_TMPDIR/fdb.got"
  diff -u "$BATS_TEST_TMPDIR/fdb.want" "$BATS_TEST_TMPDIR/fdb.got"
  "$NSLAB" down k3s
}

@test "up: flannel.1, sysctls, hairpin and the host-only bridge" {
  up_seed
  run ip netns exec k3s-cp1 ip -d link show flannel.1
  [[ "$output" == *"mtu 1450 "* ]]
  [[ "$output" == *"vxlan id 1 local 192.168.56.10 dev enp0s8 "*"dstport 8472 nolearning "* ]]
  [ "$(ip netns exec k3s-cp1 sysctl -n net.ipv4.ip_forward)" = 1 ]
  [ "$(ip netns exec k3s-cp1 sysctl -n net.bridge.bridge-nf-call-iptables)" = 1 ]
  run ip netns exec k3s-cp1 bridge -d link show dev veth1b841caa
  [[ "$output" == *"master cni0 "* ]]
  [[ "$output" == *"hairpin on"* ]]
  run ip netns exec k3s-host ip -br addr show vboxnet0
  [[ "$output" == "vboxnet0"*"UP"*"192.168.56.1/24"* ]]
  run ip netns exec k3s-host bridge link
  [[ "$output" == *"cp1-enp0s8"*"master vboxnet0"* ]]
  "$NSLAB" down k3s
}

@test "up: the lab's veths have the queue counts of a veth ip link makes (the kernel's default)" {
  up_seed
  # The oracle: a veth made by iproute2 with no counts, in a network
  # namespace that goes away with it. nslab names the counts (it saves an
  # RCU grace period per veth); `ip -d link` must not tell the difference.
  want=$(unshare --net sh -c 'ip link add qa type veth peer name qb && ip -d link show qa' \
    | grep -o 'numtxqueues [0-9]* numrxqueues [0-9]*')
  [ -n "$want" ]
  [ "$(ip netns exec k3s-cp1 ip -d link show dev veth1b841caa | grep -o 'numtxqueues [0-9]* numrxqueues [0-9]*')" = "$want" ]
  [ "$(ip netns exec "$cp1pod" ip -d link show dev eth0 | grep -o 'numtxqueues [0-9]* numrxqueues [0-9]*')" = "$want" ]
  [ "$(ip netns exec k3s-cp1 ip -d link show dev enp0s8 | grep -o 'numtxqueues [0-9]* numrxqueues [0-9]*')" = "$want" ]
  "$NSLAB" down k3s
}

@test "up: each node's kube-proxy chains are the plan's (iptables-restore --noflush)" {
  "$NSLAB" plan "$SEED" > "$BATS_TEST_TMPDIR/plan"
  up_seed
  for node in cp1 w1 w2; do
    awk -v ns="k3s-$node" '$0 ~ "^## netns "ns" \\(node"{on=1;next} on&&/^## netns/{on=0}
         on&&/^:KUBE-/{print $1}' "$BATS_TEST_TMPDIR/plan" | sort -u > "$BATS_TEST_TMPDIR/chains.want"
    [ "$(wc -l < "$BATS_TEST_TMPDIR/chains.want")" -gt 10 ]
    ip netns exec "k3s-$node" iptables-save | awk '/^:KUBE-/{print $1}' | sort -u > "$BATS_TEST_TMPDIR/chains.got"
    diff -u "$BATS_TEST_TMPDIR/chains.want" "$BATS_TEST_TMPDIR/chains.got"
  done
  run ip netns exec k3s-cp1 iptables-save -t nat
  [[ "$output" == *"-A KUBE-SERVICES -d 10.43.31.179/32 -p tcp -m comment --comment \"demo/web-svc cluster IP\" -m tcp --dport 80 -j KUBE-SVC-"* ]]
  # the NAT router masquerades the node's NAT network
  run ip netns exec k3s-cp1-nat iptables-save -t nat
  [[ "$output" == *"MASQUERADE"* ]]
  "$NSLAB" down k3s
}

@test "up: a lab that is already up is refused and left as it is" {
  up_seed
  before=$(ip netns list | wc -l)
  run "$NSLAB" up "$SEED"
  [ "$status" -eq 1 ]
  [ "$output" = "nslab: lab k3s is already up (nslab down k3s first)" ]
  [ "$(ip netns list | wc -l)" -eq "$before" ]
  run "$NSLAB" status k3s
  [ "$status" -eq 0 ]
  "$NSLAB" down k3s
}

@test "up: non-root users get one line saying root is needed" {
  command -v setpriv >/dev/null || skip "setpriv (util-linux) is not installed"
  make_nobody_copy
  for verb in "up $NOBODY_DIR/labs/k3s-virtualbox.ini" "down k3s" "ls" "status k3s"; do
    run as_nobody "$NOBODY_DIR/bin/nslab" $verb
    [ "$status" -eq 1 ]
    [ "$output" = "nslab: needs root: CAP_NET_ADMIN + CAP_SYS_ADMIN" ]
  done
  rm -rf "$NOBODY_DIR"
}

@test "up: a failure half-way rolls back and leaves nothing, with the program's error" {
  # An `iptables` whose backend restore program rejects the payload.
  fake=$BATS_TEST_TMPDIR/fakebin
  mkdir -p "$fake"
  printf '#!/bin/sh\necho "iptables v1.8.9 (legacy)"\n' > "$fake/iptables-legacy"
  ln -s iptables-legacy "$fake/iptables"
  printf '#!/bin/sh\ncat >/dev/null\necho "iptables-restore: line 42 failed" >&2\nexit 1\n' > "$fake/iptables-legacy-restore"
  chmod +x "$fake/iptables-legacy" "$fake/iptables-legacy-restore"
  PATH=$fake:$PATH run "$NSLAB" up "$SEED"
  [ "$status" -eq 1 ]
  [[ "$output" =~ ^"nslab: k3s-"[a-z0-9-]+": iptables-restore: line 42 failed"$ ]]
  [ -z "$(ip netns list)" ]
  [ ! -e "$STATE_ROOT/k3s" ]
}

@test "up: a pod whose command cannot run fails the whole up, names the pod, and leaves nothing" {
  f=$(one_node_lab badapp <<'INI'
[pod default/ok]
app = http:80
[pod default/broken]
command = /nonexistent/app --flag
INI
)
  run "$NSLAB" up "$f"
  [ "$status" -eq 1 ]
  [ "$output" = 'nslab: badapp-default-broken: start pod default/broken: exec "/nonexistent/app": No such file or directory' ]
  [ -z "$(leftovers)" ]
}

@test "up: pause processes hold no network namespace mounts (none pinned, no O(N^2) mount copies)" {
  ip netns add bystander
  mkdir -p /tmp/nsfs-elsewhere && touch /tmp/nsfs-elsewhere/ns
  mount --bind /proc/self/ns/net /tmp/nsfs-elsewhere/ns
  "$NSLAB" up "$SEED" >/dev/null
  host_nsfs=$(grep -c ' - nsfs ' /proc/self/mountinfo)
  [ "$host_nsfs" -gt 10 ]
  n=0
  for p in $(pgrep -f '^nslab-pause k3s '); do
    # A node holds its own pods' namespaces under the names containerd gives
    # them in its /run/netns (and nothing else); a pod holds none.
    want=0 node=$(tr '\0' ' ' < "/proc/$p/cmdline" | sed -n 's|^nslab-pause k3s node/\([^ ]*\) $|\1|p')
    [ -n "$node" ] && want=$(jq --arg n "$node" '[.pods[] | select(.node == $n)] | length' "$STATE_ROOT/k3s/plan.json")
    [ "$(grep -c ' - nsfs ' "/proc/$p/mountinfo")" -eq "$want" ] || { echo "pause $p holds nsfs mounts:" >&2; grep ' - nsfs ' "/proc/$p/mountinfo" >&2; return 1; }
    [ "$(grep ' - nsfs ' "/proc/$p/mountinfo" | grep -vc ' /run/netns/cni-[0-9a-f-]* ')" -eq 0 ]
    # Still the host's file system otherwise, and the pod's own /sys.
    grep -q ' / / ' "/proc/$p/mountinfo"
    grep -q ' /sys .* - sysfs ' "/proc/$p/mountinfo"
    n=$((n + 1))
  done
  [ "$n" -eq 12 ]
  "$NSLAB" down k3s >/dev/null
  umount /tmp/nsfs-elsewhere/ns && rm -r /tmp/nsfs-elsewhere
  ip netns del bystander
}
