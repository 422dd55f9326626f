#!/usr/bin/env bats
# cni = host-gw (labs/kubeadm-hostgw.ini): flannel's routed backend. No
# flannel.1; one route per remote node's pod subnet via its INTERNAL-IP;
# pod packets cross enp0s8 as they are, pod IP to pod IP.

load helpers

LAB=$REPO/labs/kubeadm-hostgw.ini
client=hostgw-default-client   # node01, 10.244.1.3

up_hostgw () {
  run "$NSLAB" up "$LAB"
  [ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
}

@test "host-gw: routes to the other nodes' pod subnets via their INTERNAL-IPs, no VXLAN device" {
  up_hostgw
  run ip netns exec hostgw-node01 ip route
  [[ "$output" == *"10.244.0.0/24 via 192.168.56.30 dev enp0s8"* ]]
  [[ "$output" == *"10.244.1.0/24 dev cni0 proto kernel scope link src 10.244.1.1"* ]]
  [[ "$output" == *"10.244.2.0/24 via 192.168.56.32 dev enp0s8"* ]]
  ! ip netns exec hostgw-node01 ip link show flannel.1 2>/dev/null
  [ -z "$(ip netns exec hostgw-node01 ip -d link show type vxlan)" ]
  # Nothing to encapsulate: cni0 and the pods keep the underlay's MTU.
  ip netns exec hostgw-node01 ip link show cni0 | grep -q 'mtu 1500 '
  ip netns exec "$client" ip link show eth0 | grep -q 'mtu 1500 '
  "$NSLAB" down hostgw
}

@test "host-gw: cross-node pod traffic is on enp0s8 unencapsulated, pod IP to pod IP" {
  command -v tcpdump >/dev/null || skip "tcpdump is not installed (make deps)"
  up_hostgw
  start_dump hostgw-node01 enp0s8 'tcp port 8080 or udp port 8472' -nn -c 2
  run bash -c "ip netns exec $client curl -s -m 3 http://10.244.2.2:8080/ | sed -n 's/^pod: //p'"
  [ "$output" = "webapp-7777c487ff-r5hm2" ]
  wait "$dump" || true
  cat "$BATS_TEST_TMPDIR/dump"
  sed -n 1p "$BATS_TEST_TMPDIR/dump" | grep -qE 'IP 10\.244\.1\.3\.[0-9]+ > 10\.244\.2\.2\.8080: Flags \[S\]'
  sed -n 2p "$BATS_TEST_TMPDIR/dump" | grep -qE 'IP 10\.244\.2\.2\.8080 > 10\.244\.1\.3\.[0-9]+: Flags \[S\.\]'
  "$NSLAB" down hostgw
}

@test "host-gw: the ClusterIP and NodePort 30080 answer from every node and the lab host" {
  up_hostgw
  svc=$("$NSLAB" plan "$LAB" | awk '$2 == "webapp-service" { print $4; exit }')
  [[ "$svc" =~ ^10\.(9[6-9]|10[0-9]|11[01])\. ]]
  for ns in hostgw-controlplane hostgw-node01 hostgw-node02; do
    run ip netns exec "$ns" curl -s -m 3 "http://$svc:8080/"
    [[ "$output" == *"pod: webapp-7777c487ff-"* ]] || { echo "$ns: $output" >&2; false; }
  done
  for ip in 192.168.56.30 192.168.56.31 192.168.56.32; do
    run ip netns exec hostgw-host curl -s -m 3 "http://$ip:30080/"
    [[ "$output" == *"pod: webapp-7777c487ff-"* ]] || { echo "host -> $ip: $output" >&2; false; }
  done
  "$NSLAB" down hostgw
}
