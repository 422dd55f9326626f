#!/usr/bin/env bats
# cni = weave on the seed-000 lab (labs/kubeadm-weave-vmware.ini): the
# addresses Weave's IPAM hands out, one L2 segment for the whole range, pod
# traffic between nodes VXLAN-encapsulated on UDP 6784 between the node IPs,
# and the Services of the seed from every node and from the lab host.

load helpers

LAB=$REPO/labs/kubeadm-weave-vmware.ini
w1pod=weave-default-my-nginx-778c74d9d4-68wcz   # worker1, 10.36.0.1
w1bare=weave-default-nginx-pod                   # worker1, 10.36.0.2
w2pod=weave-default-my-nginx-778c74d9d4-4vnt8   # worker2, 10.44.0.1

CONF=$REPO/tests/integration/cni-conf/10-weave.conflist

# /etc as bytes, names, modes and times: nslab must never write the host's.
etc_digest () {
  tar -C / --sort=name -cf - etc 2>/dev/null | sha256sum
}

up_weave () {
  run "$NSLAB" up "$LAB"
  [ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
}

@test "weave: pods get addresses of their node's block, the whole range on eth0 and the bridge as gateway" {
  up_weave
  # The seed's blocks: master 10.32, worker1 10.36, worker2 10.44.
  ip netns exec weave-master ip -4 -o addr show dev weave | grep -q ' 10\.32\.0\.1/12 '
  ip netns exec weave-worker1 ip -4 -o addr show dev weave | grep -q ' 10\.36\.0\.0/12 '
  ip netns exec weave-worker2 ip -4 -o addr show dev weave | grep -q ' 10\.44\.0\.0/12 '
  ip netns exec "$w1pod" ip -4 -o addr show dev eth0 | grep -q ' 10\.36\.0\.1/12 '
  ip netns exec "$w1bare" ip -4 -o addr show dev eth0 | grep -q ' 10\.36\.0\.2/12 '
  ip netns exec "$w2pod" ip -4 -o addr show dev eth0 | grep -q ' 10\.44\.0\.1/12 '
  [ "$(ip netns exec "$w2pod" ip route show default)" = "default via 10.44.0.0 dev eth0 " ]
  # One L2 segment for the range: the kernel route of the bridge's /12.
  ip netns exec weave-worker1 ip route | grep -qx '10\.32\.0\.0/12 dev weave proto kernel scope link src 10\.36\.0\.0 *'
  # The bridge's ports: the vethwe pair's bridge end and the pods' veths.
  run ip netns exec weave-worker1 bash -c "ip -o link show master weave | awk -F': ' '{print \$2}' | sed 's/@.*//' | sort"
  [ "${lines[0]}" = vethwe-bridge ]
  [[ "${lines[1]}" =~ ^vethwepl[0-9a-f]{7}$ ]]
  [[ "${lines[2]}" =~ ^vethwepl[0-9a-f]{7}$ ]]
  ip netns exec weave-worker1 ip -d link show vxlan-6784 | grep -qE 'vxlan id 0 local 10\.10\.10\.11 dev ens32 .*dstport 6784'
  ip netns exec weave-worker1 ip -o link show vxlan-6784 | grep -q 'master datapath'
  ip netns exec weave-worker1 ip -o link show vethwe-datapath | grep -q 'master datapath'
  "$NSLAB" down weave
}

@test "weave: same-node pod traffic stays on the bridge; nothing reaches ens32" {
  command -v tcpdump >/dev/null || skip "tcpdump is not installed (make deps)"
  up_weave
  # Everything on ens32, decoded down to the inner frame: the links' own
  # chatter (IPv6 ND, IGMP) is flooded to the peers, the pods' traffic
  # must not be.
  start_dump weave-worker1 ens32 "" -nn -T vxlan
  run bash -c "ip netns exec $w1bare curl -s -m 3 http://10.36.0.1/ | sed -n 's/^pod: //p'"
  [ "$output" = "my-nginx-778c74d9d4-68wcz" ]
  sleep 0.5
  kill "$dump" 2>/dev/null || true
  wait "$dump" || true
  cat "$BATS_TEST_TMPDIR/dump"
  ! grep -E '10\.36\.0\.[12]\b' "$BATS_TEST_TMPDIR/dump"
  # and the bridge did carry it: the pods' ARP entries point at each other.
  ip netns exec "$w1bare" ip neigh show 10.36.0.1 | grep -q lladdr
  "$NSLAB" down weave
}

@test "weave: cross-node pod traffic leaves ens32 VXLAN-encapsulated between the node IPs on UDP 6784" {
  command -v tcpdump >/dev/null || skip "tcpdump is not installed (make deps)"
  up_weave
  start_dump weave-worker1 ens32 "udp port 6784" -nn -T vxlan
  run bash -c "ip netns exec $w1pod curl -s -m 3 http://10.44.0.1/ | sed -n 's/^pod: //p'"
  [ "$output" = "my-nginx-778c74d9d4-4vnt8" ]
  # Until the answer's frame is written: right after up the new links'
  # IPv6 neighbour solicitations and MLD reports cross the tunnel too, so
  # a count of VXLAN lines can be reached before the curl's frames are.
  for _ in $(seq 40); do grep -qE 'IP 10\.44\.0\.1\.80 > 10\.36\.0\.1\.[0-9]+: Flags \[S\.\]' "$BATS_TEST_TMPDIR/dump" && break; sleep 0.05; done
  kill "$dump" 2>/dev/null || true
  wait "$dump" || true
  cat "$BATS_TEST_TMPDIR/dump"
  # Outer header node IP to node IP on 6784, inner header pod IP to pod IP,
  # both directions; the first frames may be the ARP for 10.44.0.1.
  grep -qE '^[0-9:.]+ IP 10\.10\.10\.11\.[0-9]+ > 10\.10\.10\.12\.6784: VXLAN, flags \[I\] \(0x08\), vni 0$' "$BATS_TEST_TMPDIR/dump"
  grep -qE '^[0-9:.]+ IP 10\.10\.10\.12\.[0-9]+ > 10\.10\.10\.11\.6784: VXLAN' "$BATS_TEST_TMPDIR/dump"
  grep -qE 'IP 10\.36\.0\.1\.[0-9]+ > 10\.44\.0\.1\.80: Flags \[S\]' "$BATS_TEST_TMPDIR/dump"
  grep -qE 'IP 10\.44\.0\.1\.80 > 10\.36\.0\.1\.[0-9]+: Flags \[S\.\]' "$BATS_TEST_TMPDIR/dump"
  "$NSLAB" down weave
}

@test "weave: my-nginx's ClusterIP and NodePort 30080 answer from every node and the lab host" {
  up_weave
  for ns in weave-master weave-worker1 weave-worker2; do
    run ip netns exec "$ns" curl -s -m 3 http://10.96.0.15/
    [[ "$output" == *"pod: my-nginx-778c74d9d4-"* ]] || { echo "$ns ClusterIP: $output" >&2; false; }
    for ip in 10.10.10.10 10.10.10.11 10.10.10.12; do
      run ip netns exec "$ns" curl -s -m 3 "http://$ip:30080/"
      [[ "$output" == *"pod: my-nginx-778c74d9d4-"* ]] || { echo "$ns -> $ip:30080: $output" >&2; false; }
    done
  done
  for ip in 10.10.10.10 10.10.10.11 10.10.10.12; do
    run ip netns exec weave-host curl -s -m 3 "http://$ip:30080/"
    [[ "$output" == *"pod: my-nginx-778c74d9d4-"* ]] || { echo "host -> $ip:30080: $output" >&2; false; }
  done
  # From a pod, to the Service, across nodes and back to itself (hairpin).
  run ip netns exec "$w2pod" curl -s -m 3 http://10.96.0.15/
  [[ "$output" == *"pod: my-nginx-778c74d9d4-"* ]]
  "$NSLAB" down weave
}

@test "weave: the node's iptables carry Weave's chains and its masquerade for traffic leaving the range" {
  up_weave
  run ip netns exec weave-worker1 iptables-save
  for c in WEAVE-CANARY WEAVE-NPC WEAVE-NPC-DEFAULT WEAVE-NPC-EGRESS WEAVE-NPC-INGRESS WEAVE; do
    [[ "$output" == *":$c "* ]] || { echo "missing chain $c" >&2; false; }
  done
  [[ "$output" == *"-A WEAVE -s 10.32.0.0/12 ! -d 10.32.0.0/12 -j MASQUERADE"* ]]
  [[ "$output" == *"-A POSTROUTING -j WEAVE"* ]]
  # Weave's FORWARD rules come before kube-proxy's.
  run bash -c "ip netns exec weave-worker1 iptables -S FORWARD | sed -n 2p"
  # (iptables escapes the quotes in the comment, as on a real Weave node)
  [[ "$output" == "-A FORWARD -i weave -m comment --comment \"NOTE: this must go before \\'-j KUBE-FORWARD\\'\" -j WEAVE-NPC-EGRESS" ]]
  "$NSLAB" down weave
}

@test "weave: every node has Weave's 10-weave.conflist in its own mount namespace; the host's /etc stays byte for byte" {
  etc_before=$(etc_digest)
  mounts_before=$(grep -v ' /run/netns ' /proc/self/mountinfo)
  had_etc_cni=no
  [ -e /etc/cni ] && had_etc_cni=yes
  # `nslab plan` shows it (text and JSON), without root.
  run "$NSLAB" plan "$LAB"
  [[ "$output" == *"# process: nslab-pause weave node/master (hostname master, app: kube-proxy health servers: nslab-kube-proxy --hostname-override master weave)
#   in its mount namespace only, /etc/cni/net.d/10-weave.conflist:
#     {
#         \"cniVersion\": \"0.3.0\","* ]]
  "$NSLAB" plan -o json "$LAB" > "$BATS_TEST_TMPDIR/plan.json"
  for n in master worker1 worker2; do
    jq -j --arg n "$n" '.ops[] | select(.op == "process" and .owner.kind == "node" and .owner.name == $n)
      | .files[] | select(.path == "/etc/cni/net.d/10-weave.conflist") | .content' "$BATS_TEST_TMPDIR/plan.json" \
      | cmp - "$CONF"
  done
  up_weave
  for n in master worker1 worker2; do
    "$NSLAB" exec weave "node/$n" cat /etc/cni/net.d/10-weave.conflist | cmp - "$CONF"
  done
  # The rest of /etc is the host's, with the node's own /etc/hosts on top.
  "$NSLAB" exec weave node/master cat /etc/os-release | cmp - /etc/os-release
  "$NSLAB" exec weave node/worker1 grep -qx "10.10.10.12	worker2" /etc/hosts
  # The node may write there (kubelet, a learner): it stays the node's.
  "$NSLAB" exec weave node/master sh -c 'echo "{}" > /etc/cni/net.d/99-learner.conf; echo x >> /etc/os-release'
  "$NSLAB" exec weave node/master test -e /etc/cni/net.d/99-learner.conf
  run "$NSLAB" exec weave node/worker1 ls /etc/cni/net.d
  [ "$output" = "10-weave.conflist" ]
  [ "$(etc_digest)" = "$etc_before" ]
  [ "$had_etc_cni" = yes ] || [ ! -e /etc/cni ]
  "$NSLAB" down weave
  [ "$(etc_digest)" = "$etc_before" ]
  # The layers were mounted in the nodes' namespaces only (/run/netns is
  # the shared mount up makes, as iproute2 does).
  diff <(echo "$mounts_before") <(grep -v ' /run/netns ' /proc/self/mountinfo) >&2
}

@test "weave: the seed's load balancer: the lab host reaches my-nginx on 3.3.3.3:80, answered by one worker, through the NodePort's rules" {
  run "$NSLAB" plan "$LAB"
  [[ "$output" == *"default       my-nginx     LoadBalancer   10.96.0.15   3.3.3.3       80:30080/TCP             app=nginx"* ]]
  run "$NSLAB" up --wait "$LAB"
  [ "$status" -eq 0 ] || { echo "$output" >&2; false; }
  run "$NSLAB" test weave
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"loadbalancer-from-host"* ]]
  # The lab host (the VMs' gateway) routes the pool onto vmnet8 ...
  [ "$(ip netns exec weave-host ip route show 3.3.3.3)" = "3.3.3.3 dev vmnet8 proto static scope link " ]
  # ... both pods answer there ...
  seen=
  for _ in $(seq 30); do
    seen="$seen $(ip netns exec weave-host curl -s -m 3 http://3.3.3.3/ | sed -n 's/^pod: //p')"
  done
  [[ "$seen" == *my-nginx-778c74d9d4-68wcz* && "$seen" == *my-nginx-778c74d9d4-4vnt8* ]] || { echo "$seen" >&2; false; }
  # ... and the MAC it learnt for 3.3.3.3 is one worker's ens32, never master's.
  mac=$(ip netns exec weave-host ip neigh show 3.3.3.3 dev vmnet8 | awk '{print $3}')
  owners=0
  for n in worker1 worker2; do
    [ "$(ip netns exec "weave-$n" cat /sys/class/net/ens32/address)" != "$mac" ] || owners=$((owners + 1))
  done
  [ "$owners" -eq 1 ] || { echo "3.3.3.3 -> $mac" >&2; false; }
  [ "$(ip netns exec weave-master cat /sys/class/net/ens32/address)" != "$mac" ]
  # kube-proxy's "loadbalancer IP" rule on every node sends it where the NodePort goes.
  run ip netns exec weave-master iptables -t nat -S KUBE-SERVICES
  [[ "$output" == *'-A KUBE-SERVICES -d 3.3.3.3/32 -p tcp -m comment --comment "default/my-nginx loadbalancer IP" -m tcp --dport 80 -j KUBE-EXT-'* ]]
  "$NSLAB" down weave
}
