#!/usr/bin/env bats
# cni_runtime = plugins: pods wired by the real CNI plugins of Debian's
# containernetworking-plugins (bridge + host-local + loopback), called as
# containerd calls them. The real plugin is the oracle for nslab's builtin
# wiring: the same lab in both runtimes must leave the same node-side and
# pod-side state.

load helpers

CNI_DIR=/usr/lib/cni

setup () {
  common_setup
  for p in bridge host-local loopback; do
    [ -x "$CNI_DIR/$p" ] || skip "$CNI_DIR/$p is not installed (containernetworking-plugins, make deps)"
  done
  # host-local's default dataDir: nslab must never write there.
  ls -laR /var/lib/cni > "$BATS_TEST_TMPDIR/varlibcni.before" 2>&1 || true
}

teardown () {
  ls -laR /var/lib/cni > "$BATS_TEST_TMPDIR/varlibcni.after" 2>&1 || true
  diff "$BATS_TEST_TMPDIR/varlibcni.before" "$BATS_TEST_TMPDIR/varlibcni.after" >&2 || {
    common_teardown; echo "the machine's /var/lib/cni changed" >&2; return 1; }
  common_teardown
}

# labs/$1.ini with [cluster] cni_runtime = $2, in the test's dir next to the
# templates; prints its path.
lab_with_runtime () {
  local src=$REPO/labs/$1.ini f=$BATS_TEST_TMPDIR/labs/$1-$2.ini
  mkdir -p "$BATS_TEST_TMPDIR/labs"
  [ -e "$BATS_TEST_TMPDIR/templates" ] || ln -s "$REPO/templates" "$BATS_TEST_TMPDIR/templates"
  if grep -q '^\[cluster\]' "$src"; then
    sed "/^\[cluster\]/a cni_runtime = $2" "$src" > "$f"
  else
    { cat "$src"; printf '\n[cluster]\ncni_runtime = %s\n' "$2"; } > "$f"
  fi
  echo "$f"
}

# The lab's node and pod namespaces as the kernel has them: links with every
# attribute `ip -d` shows (MTU, qlen, flags, bridge and bridge-port settings,
# hairpin), addresses, routes of every table, and the per-interface and
# forwarding sysctls. Masked: what is random on a real node with the real
# plugin (MACs and the bridge ids and link-local addresses derived from
# them, the host veth names, ifindexes) and the running timers.
dump_state () {
  local lab=$1 ns
  for ns in $(ip netns list | awk '{print $1}' | grep "^$lab-" | grep -v -e '-host$' | sort); do
    # IPv6 duplicate address detection (about a second) settles first.
    for _ in $(seq 100); do
      [ -z "$(ip netns exec "$ns" ip -6 addr show tentative)" ] && break
      sleep 0.05
    done
    echo "== $ns"
    ip netns exec "$ns" ip -d -o link show | sed -E \
      -e 's/^[0-9]+: //' -e 's/@if[0-9]+/@ifN/' -e 's/link-netns [^ ]+/link-netns X/' \
      -e 's/link-netnsid [0-9]+/link-netnsid N/' -e 's/([0-9a-f]{2}:){5}[0-9a-f]{2}/MAC/g' \
      -e 's/(hello_timer|tcn_timer|topology_change_timer|gc_timer|hold_timer|message_age_timer|forward_delay_timer) +[0-9.]+/\1 T/g' \
      -e 's/(bridge_id|designated_root|designated_bridge) [^ ]+/\1 BRID/g' -e 's/veth[0-9a-f]{8}/vethX/g' | sort
    ip netns exec "$ns" ip -o addr show | sed -E -e 's/^[0-9]+: //' -e 's/veth[0-9a-f]{8}/vethX/g' \
      -e 's/fe80::[0-9a-f:]+/fe80::X/' | sort
    ip netns exec "$ns" ip route show table all | sed -E 's/veth[0-9a-f]{8}/vethX/g; s/fe80::[0-9a-f:]+/fe80::X/' | sort
    ip netns exec "$ns" sysctl -a 2>/dev/null | grep -E '^net\.ipv4\.ip_forward |^net\.ipv[46]\.(conf|neigh)\.' \
      | sed -E 's/veth[0-9a-f]{8}/vethX/g' | sort
  done
}

up_ok () {
  run "$NSLAB" up "$1"
  [ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
}

# Up the lab in both runtimes and compare; $1 lab file, $2 lab name.
same_state () {
  up_ok "$(lab_with_runtime "$1" builtin)"
  dump_state "$2" > "$BATS_TEST_TMPDIR/builtin"
  "$NSLAB" down "$2"
  up_ok "$(lab_with_runtime "$1" plugins)"
  dump_state "$2" > "$BATS_TEST_TMPDIR/plugins"
  # The plugins really made it: cni0 and veths nslab did not name.
  ip netns exec "$2-$3" ip -o link show | grep -qE ' veth[0-9a-f]{8}@if[0-9]+: .* master cni0 '
  "$NSLAB" down "$2"
  [ "$(grep -c '^== ' "$BATS_TEST_TMPDIR/plugins")" -ge 6 ]
  [ "$(wc -l < "$BATS_TEST_TMPDIR/plugins")" -gt 1000 ]
  diff -u "$BATS_TEST_TMPDIR/builtin" "$BATS_TEST_TMPDIR/plugins"
}

@test "cni plugins: the seed-000 lab (flannel vxlan) has the same node and pod state as with the builtin wiring" {
  same_state kubeadm-vmware vmware worker1
}

@test "cni plugins: host-gw and k3s (forceAddress, CNI 1.0.0) have the same state as with the builtin wiring" {
  same_state kubeadm-hostgw hostgw node01
  same_state k3s-virtualbox k3s w1
}

@test "cni plugins: called as containerd calls them; leases in the lab dir; ClusterIP and NodePort answer" {
  up_ok "$(lab_with_runtime kubeadm-vmware plugins)"
  # `nslab plan` shows each call: environment and stdin; CNI_NETNS is the
  # pod's namespace under the name containerd gives it on the node.
  run "$NSLAB" plan "$BATS_TEST_TMPDIR/labs/kubeadm-vmware-plugins.ini"
  [[ "$output" == *"CNI_COMMAND=ADD CNI_CONTAINERID="*" CNI_NETNS=/var/run/netns/cni-"*" CNI_IFNAME=eth0 CNI_ARGS='IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=nginx-pod;K8S_POD_INFRA_CONTAINER_ID="*"' CNI_PATH=/usr/lib/cni /usr/lib/cni/bridge <<<'{\"cniVersion\":\"0.3.1\",\"hairpinMode\":true,\"ipMasq\":false,\"ipam\":{\"ranges\":[[{\"subnet\":\"10.244.1.0/24\"}]],\"routes\":[{\"dst\":\"10.244.0.0/16\"}],\"type\":\"host-local\"},\"isDefaultGateway\":true,\"isGateway\":true,\"mtu\":1450,\"name\":\"cbr0\",\"type\":\"bridge\"}'"* ]]
  # The nodes have kube-flannel's 10-flannel.conflist, and every bridge call
  # is the delegate the flannel plugin makes of it: the list's name and
  # cniVersion, its flannel entry's delegate keys, as they are.
  conf=$REPO/tests/integration/cni-conf/10-flannel.conflist
  for n in master worker1 worker2; do
    "$NSLAB" exec vmware "node/$n" cat /etc/cni/net.d/10-flannel.conflist | cmp - "$conf"
  done
  "$NSLAB" plan -o json "$BATS_TEST_TMPDIR/labs/kubeadm-vmware-plugins.ini" > "$BATS_TEST_TMPDIR/plan.json"
  run jq -r --slurpfile l "$conf" '[.ops[] | select(.op == "cni" and .type == "bridge") | .config | fromjson
    | (.name == $l[0].name and .cniVersion == $l[0].cniVersion
       and (. as $c | $l[0].plugins[0].delegate | to_entries | all($c[.key] == .value)))] | unique' \
    "$BATS_TEST_TMPDIR/plan.json"
  [ "$output" = '[
  true
]' ]
  # Each call journaled (loopback and bridge per pod), before its ADD.
  [ "$(grep -c '^cni vmware-worker[12] vmware-default-[a-z0-9-]* [0-9a-f]\{64\} \(lo loopback\|eth0 bridge\) {' "$STATE_ROOT/vmware/journal")" -eq 6 ]
  # host-local's leases, as on a node's /var/lib/cni/networks/cbr0, in the lab dir.
  [ "$(ls "$STATE_ROOT/vmware/cni/vmware-worker1/networks/cbr0" | sort | tr '\n' ' ')" = "10.244.1.2 10.244.1.3 last_reserved_ip.0 lock " ]
  [ "$(ls "$STATE_ROOT/vmware/cni/vmware-worker2/networks/cbr0" | sort | tr '\n' ' ')" = "10.244.2.2 last_reserved_ip.0 lock " ]
  # The result as the plugin gave it, cached like libcni's: the sandbox is the
  # CNI_NETNS it got, the name the pod's namespace has on its node (there,
  # `ip netns exec NAME` reaches the pod with that address).
  run bash -c "jq -r '.ips[0].address + \" via \" + .ips[0].gateway + \" \" + .interfaces[2].sandbox' \
    $STATE_ROOT/vmware/cni/vmware-worker1/results/cbr0-*-eth0 | sort"
  [ "${#lines[@]}" -eq 2 ]
  for i in 0 1; do
    read -r addr _ gw sandbox <<< "${lines[$i]}"
    [ "$addr $gw" = "10.244.1.$((i + 2))/24 10.244.1.1" ]
    [[ "$sandbox" == /var/run/netns/cni-* ]]
    [ "$("$NSLAB" exec vmware node/worker1 -- ip netns exec "${sandbox##*/}" ip -4 -o addr show eth0 | awk '{print $4}')" = "$addr" ]
  done
  run ip netns exec vmware-default-nginx-pod ip route
  [ "$output" = "default via 10.244.1.1 dev eth0 
10.244.0.0/16 via 10.244.1.1 dev eth0 
10.244.1.0/24 dev eth0 proto kernel scope link src 10.244.1.2 " ]
  for ns in vmware-master vmware-worker1 vmware-worker2 vmware-default-nginx-pod; do
    run ip netns exec "$ns" curl -s -m 3 http://10.96.0.15/
    [[ "$output" == *"pod: my-nginx-67999cfb45-"* ]] || { echo "$ns: $output" >&2; false; }
  done
  for ip in 10.10.10.10 10.10.10.11 10.10.10.12; do
    run ip netns exec vmware-host curl -s -m 3 "http://$ip:30080/"
    [[ "$output" == *"pod: my-nginx-67999cfb45-"* ]] || { echo "host -> $ip: $output" >&2; false; }
  done
  "$NSLAB" down vmware
}

@test "cni plugins: a deleted pod gets DEL (its lease released); its replacement is wired by the plugins at host-local's next address" {
  up_ok "$(lab_with_runtime kubeadm-vmware plugins)"
  leases=$STATE_ROOT/vmware/cni/vmware-worker2/networks/cbr0
  old=$(sqlite3 "$STATE_ROOT/vmware/store.db" "select name from objects where kind='Pod' and json_extract(body,'$.spec.nodeName')='worker2'")
  [ -n "$old" ]
  [ -e "$leases/10.244.2.2" ]
  run "$NSLAB" delete vmware pod/"$old"
  [ "$status" -eq 0 ]
  # Wait (bounded) for the replacement's ADD and the old pod's DEL: the runtime agent may make the new pod first.
  for _ in $(seq 200); do [ -e "$leases/10.244.2.3" ] && [ ! -e "$leases/10.244.2.2" ] && break; sleep 0.05; done
  [ ! -e "$leases/10.244.2.2" ]
  [ -e "$leases/10.244.2.3" ]
  [ "$(cat "$leases/last_reserved_ip.0")" = 10.244.2.3 ]
  new=$(sqlite3 "$STATE_ROOT/vmware/store.db" "select name from objects where kind='Pod' and json_extract(body,'$.spec.nodeName')='worker2'")
  [ -n "$new" ] && [ "$new" != "$old" ]
  ip netns exec "vmware-default-$new" ip -br addr show eth0 | grep -q ' 10\.244\.2\.3/24 '
  # Its calls journaled like the first ones: 2 more (lo and eth0).
  [ "$(grep -c "^cni vmware-worker2 vmware-default-$new " "$STATE_ROOT/vmware/journal")" -eq 2 ]
  "$NSLAB" down vmware
}

@test "cni plugins: kill -9 of up right after a plugin's ADD, then down: nothing left" {
  f=$(lab_with_runtime kubeadm-vmware plugins)
  first=$("$NSLAB" plan -o json "$f" | jq '[.ops[] | .op] | index("cni")')
  [ "$first" -gt 0 ]
  for n in $((first + 1)) $((first + 2)); do
    run env NSLAB_TEST_CRASH_AFTER=$n "$NSLAB" up "$f"
    [ "$status" -ne 0 ]
    grep -q '^cni ' "$STATE_ROOT/vmware/journal"
    run "$NSLAB" down vmware
    [ "$status" -eq 0 ] || { echo "$output" >&2; false; }
    [ -z "$(leftovers)" ]
  done
}

@test "cni plugins: cni_runtime = plugins needs the bridge plugin's CNI" {
  f=$BATS_TEST_TMPDIR/w.ini
  printf '[lab]\nname = w\ntemplate = %s\n[cluster]\ncni_runtime = plugins\n[node a]\nrole = control-plane\nnics = enp0s8=hostonly:192.168.56.10\n' \
    "$REPO/templates/kubeadm-weave.ini" > "$f"
  run "$NSLAB" up "$f"
  [ "$status" -eq 2 ]
  [[ "$output" == *"[cluster] cni_runtime: plugins wires pods with the bridge plugin, as flannel delegates to it: it needs cni flannel or host-gw, not weave" ]]
}
