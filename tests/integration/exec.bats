#!/usr/bin/env bats
# nslab exec on the seed lab: targets (node, pod, deploy, rs, host), exit
# codes, stdin/stdout/stderr passthrough, the environment, each pod's own
# hostname and /etc files (the host's untouched), the echo servers, and the
# error messages. Pods of demo/web: web-8597f6f985-56kng on w1 (10.42.1.2),
# web-8597f6f985-bw5jd on w2.

bats_require_minimum_version 1.5.0

load helpers

web1=web-8597f6f985-56kng
web2=web-8597f6f985-bw5jd

up_seed () {
  run "$NSLAB" up "$SEED"
  [ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
}

@test "exec: node, pod, deploy, rs and host targets; the host's hostname and /etc stay" {
  uts_before=$(hostname)
  etc_hostname_before=$(cat /etc/hostname)
  etc_hosts_before=$(cat /etc/hosts)
  had_rancher=no
  [ -e /var/lib/rancher ] && had_rancher=yes
  up_seed
  run "$NSLAB" exec k3s node/cp1 -- hostname
  [ "$status" -eq 0 ]
  [ "$output" = "cp1" ]
  run "$NSLAB" exec k3s node/cp1 -- ip -4 -o addr show enp0s8
  [[ "$output" == *"inet 192.168.56.10/24"* ]]
  # The command may follow TARGET without "--".
  run "$NSLAB" exec k3s node/w2 cat /etc/hostname
  [ "$output" = "w2" ]

  run "$NSLAB" exec k3s -n demo "pod/$web2" -- hostname
  [ "$output" = "$web2" ]
  run "$NSLAB" exec k3s -n demo "pod/$web2" -- cat /etc/hostname
  [ "$output" = "$web2" ]
  run "$NSLAB" exec k3s -n demo "pod/$web2" -- cat /etc/resolv.conf
  [[ "$output" == *"nameserver 10.43.0.10"* ]]
  # deploy/NAME: its first pod by name; the -n spellings.
  run "$NSLAB" exec k3s -n demo deploy/web -- hostname
  [ "$output" = "$web1" ]
  run "$NSLAB" exec k3s deployment/web --namespace=demo -- hostname
  [ "$output" = "$web1" ]
  run "$NSLAB" exec k3s -ndemo rs/web-8597f6f985 -- hostname
  [ "$output" = "$web1" ]
  run "$NSLAB" exec k3s rs/my-helloworld-rs -- hostname
  [[ "$output" == my-helloworld-rs-* ]]

  # host: the lab host's network namespace only (our hostname).
  run "$NSLAB" exec k3s host -- ip -o link show vboxnet0
  [ "$status" -eq 0 ]
  [[ "$output" == *"vboxnet0"* ]]
  run "$NSLAB" exec k3s host -- hostname
  [ "$output" = "$uts_before" ]

  [ "$(hostname)" = "$uts_before" ]
  [ "$(cat /etc/hostname)" = "$etc_hostname_before" ]
  [ "$(cat /etc/hosts)" = "$etc_hosts_before" ]
  # k3s's agent writes its conflist below its data dir; the node has it,
  # the host's /var/lib does not (nor a pod: a container sees neither).
  "$NSLAB" exec k3s node/w1 cat /var/lib/rancher/k3s/agent/etc/cni/net.d/10-flannel.conflist \
    | cmp - "$REPO/tests/integration/cni-conf/k3s-10-flannel.conflist"
  [ "$had_rancher" = yes ] || [ ! -e /var/lib/rancher ]
  run "$NSLAB" exec k3s -n demo "pod/$web2" -- ls /var/lib/rancher/k3s/agent/etc/cni/net.d
  [ "$status" -ne 0 ]
  "$NSLAB" down k3s
}

@test "exec: exit codes, stdin, stdout and stderr, environment, default shell" {
  up_seed
  run "$NSLAB" exec k3s node/cp1 -- sh -c 'exit 7'
  [ "$status" -eq 7 ]
  run "$NSLAB" exec k3s node/cp1 -- false
  [ "$status" -eq 1 ]
  run "$NSLAB" exec k3s node/cp1 -- sh -c 'kill -TERM $$'
  [ "$status" -eq 143 ]
  # what stops nslab exec stops its command (as sudo relays it): timeout(1),
  # a script's kill; the command's end is the exec's status, nothing left
  run -124 timeout 1 "$NSLAB" exec k3s -n demo pod/$web1 -- sleep 30
  "$NSLAB" exec k3s -n demo pod/$web1 -- sh -c 'trap "echo got TERM; exit 3" TERM; sleep 30 & wait' \
    > "$BATS_TEST_TMPDIR/term" &
  xpid=$!
  sleep 1
  kill -TERM "$xpid"
  st=0
  wait "$xpid" || st=$?
  [ "$st" -eq 3 ]
  [ "$(cat "$BATS_TEST_TMPDIR/term")" = "got TERM" ]
  ! pgrep -x sleep
  run -127 "$NSLAB" exec k3s node/cp1 -- no-such-command-xyz
  [ "$output" = "nslab: exec no-such-command-xyz: No such file or directory" ]

  run bash -c "printf 'a\nb\n' | '$NSLAB' exec k3s -n demo deploy/web -- cat"
  [ "$status" -eq 0 ]
  [ "$output" = $'a\nb' ]
  run bash -c "'$NSLAB' exec k3s node/w1 -- sh -c 'echo out; echo err >&2' 2>'$BATS_TEST_TMPDIR/err'"
  [ "$output" = "out" ]
  [ "$(cat "$BATS_TEST_TMPDIR/err")" = "err" ]
  FOO=bar run "$NSLAB" exec k3s node/w1 -- sh -c 'echo "$FOO"'
  [ "$output" = "bar" ]
  # No command: a shell, here reading its commands from stdin.
  run bash -c "echo 'echo shell on \$(hostname)' | SHELL= '$NSLAB' exec k3s node/w1"
  [ "$status" -eq 0 ]
  [ "$output" = "shell on w1" ]
  # In a terminal: the command is its foreground group while it runs, a
  # group of its own in the pod's PID namespace, so an interactive shell
  # has job control and `exit 5` is the exit status.
  run script -qec "'$NSLAB' exec k3s -n demo pod/$web1 -- awk '{ print \"ids\", \$1, \$5, \$8 }' /proc/self/stat" /dev/null
  [[ "$output" =~ ids\ ([0-9]+)\ ([0-9]+)\ ([0-9]+) ]]
  [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ] && [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[3]}" ]
  run script -qec "'$NSLAB' exec k3s -n demo pod/$web1 -- sh" /dev/null < <(sleep 1; echo 'echo typed-$((40+2))'; sleep 0.5; echo 'exit 5'; sleep 1)
  [ "$status" -eq 5 ]
  [[ "$output" == *"typed-42"* ]]
  [[ "$output" != *"process group"* && "$output" != *"access tty"* ]]
  # and the terminal is the caller's foreground group's again afterwards
  run script -qec "'$NSLAB' exec k3s node/w1 -- true; ps -o stat= -p \$\$" /dev/null
  [[ "$output" == *"+"* ]]
  "$NSLAB" down k3s
}

@test "exec: a pod reaches another pod's echo server, and a service" {
  up_seed
  web2_ip=$("$NSLAB" exec k3s -n demo "pod/$web2" -- ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1)
  [ -n "$web2_ip" ]
  run "$NSLAB" exec k3s -n demo "pod/$web1" -- curl -s -m 5 "http://$web2_ip/hello"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "pod: $web2" ]
  [ "${lines[1]}" = "namespace: demo" ]
  [ "${lines[2]}" = "pod_ip: $web2_ip" ]
  [ "${lines[3]}" = "node: w2" ]
  # Pod to pod: no NAT, the client is web1's own address.
  [[ "${lines[4]}" == "client: 10.42.1.2:"* ]]
  [ "${lines[5]}" = "server: $web2_ip:80" ]
  [ "${lines[6]}" = "method: GET /hello" ]
  run bash -c "'$NSLAB' exec k3s -n demo deploy/web -- curl -s -m 3 http://10.43.31.179/ | sed -n 's/^namespace: //p'"
  [ "$output" = "demo" ]
  "$NSLAB" down k3s
}

@test "exec: unknown lab or target, usage, a process that is gone" {
  up_seed
  run "$NSLAB" exec k3s pod/nope -- true
  [ "$status" -eq 2 ]
  [ "${lines[0]}" = 'nslab: lab k3s has no pod "nope" in namespace "default"' ]
  [ "${lines[1]}" = "valid targets: host, node/cp1, node/w1, node/w2" ]
  [[ "$output" == *"-n demo: deploy/web pod/$web1 pod/$web2"* ]]
  [[ "$output" == *"-n default: rs/my-helloworld-rs pod/my-helloworld-rs-"* ]]
  run "$NSLAB" exec k3s node/nosuch -- true
  [ "$status" -eq 2 ]
  [ "${lines[0]}" = 'nslab: lab k3s has no node "nosuch"' ]
  run "$NSLAB" exec k3s svc/web-svc -- true
  [ "$status" -eq 2 ]
  [[ "$output" == 'nslab: invalid target "svc/web-svc"'* ]]
  run "$NSLAB" exec nolab node/cp1 -- true
  [ "$status" -eq 2 ]
  [ "$output" = 'nslab: unknown lab "nolab" (labs up: k3s)' ]
  run "$NSLAB" exec k3s
  [ "$status" -eq 2 ]
  [[ "$output" == "usage: nslab exec LAB"* ]]

  pid=$(pgrep -f "^nslab-pause k3s demo/$web2\$")
  [ -n "$pid" ]
  kill -KILL "$pid"
  wait_gone "$pid"
  run "$NSLAB" exec k3s -n demo "pod/$web2" -- true
  [ "$status" -eq 1 ]
  [ "$output" = "nslab: pod/$web2 is not running (pid $pid gone); try nslab status k3s" ]
  "$NSLAB" down k3s
}

# Device names in a target: from sysfs, and from netlink (`ip -o link`, the
# oracle, which does not look at /sys), sorted on one line.
sys_devices () { "$NSLAB" exec k3s "$@" -- ls /sys/class/net | sort | tr '\n' ' '; }
ip_devices () {
  "$NSLAB" exec k3s "$@" -- ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | sort | tr '\n' ' '
}

@test "exec: /sys in a node and in a pod shows its own devices; the invoking /sys stays" {
  host_sys_before=$(ls /sys/class/net | sort | tr '\n' ' ')
  host_mounts_before=$(grep -E ' /sys( |/)' /proc/self/mountinfo | awk '{print $3, $5, $9}')
  up_seed
  node=$(sys_devices node/w1)
  [ "$node" = "$(ip_devices node/w1)" ]
  for dev in lo enp0s3 enp0s8 cni0 flannel.1; do
    [[ " $node" == *" $dev "* ]] || { echo "no $dev in w1's /sys: $node" >&2; return 1; }
  done
  [[ "$node" == *" veth"* ]]
  pod=$(sys_devices -n demo "pod/$web1")
  [ "$pod" = "$(ip_devices -n demo "pod/$web1")" ]
  [ "$pod" = "eth0 lo " ]
  # sysfs answers for the pod's devices, not the machine's: eth0's MAC.
  run "$NSLAB" exec k3s -n demo "pod/$web1" -- cat /sys/class/net/eth0/address
  [ "$output" = "$("$NSLAB" exec k3s -n demo "pod/$web1" -- ip -o link show eth0 | sed -E 's/.*link\/ether ([0-9a-f:]+).*/\1/')" ]

  # one sysfs on the pod's /sys and on the node's, their own: the template
  # they copy has none for theirs to cover
  [ "$("$NSLAB" exec k3s -n demo "pod/$web1" -- awk '$5 == "/sys"' /proc/self/mountinfo | wc -l)" = 1 ]
  [ "$("$NSLAB" exec k3s node/w1 -- awk '$5 == "/sys"' /proc/self/mountinfo | wc -l)" = 1 ]

  [ "$(ls /sys/class/net | sort | tr '\n' ' ')" = "$host_sys_before" ]
  [ "$(grep -E ' /sys( |/)' /proc/self/mountinfo | awk '{print $3, $5, $9}')" = "$host_mounts_before" ]
  "$NSLAB" down k3s
}

@test "exec: where /sys is read-only (a container's), the pods' and nodes' own /sys are too" {
  # up, exec and down in a mount namespace of their own whose /sys is
  # read-only, as docker mounts it; /run/netns made there stays there
  run unshare --mount --propagation slave sh -c '
    mount -o remount,bind,ro /sys &&
    "$0" up "$1" > /dev/null &&
    "$0" exec k3s -n demo deploy/web -- awk '\''$5 == "/sys" { print $6 }'\'' /proc/self/mountinfo &&
    "$0" exec k3s node/w1 -- awk '\''$5 == "/sys" { print $6 }'\'' /proc/self/mountinfo &&
    "$0" exec k3s node/w1 -- ls /sys/class/net/cni0 > /dev/null &&
    "$0" down k3s > /dev/null' "$NSLAB" "$SEED"
  [ "$status" -eq 0 ] || { echo "$output" >&2; false; }
  [ "${lines[0]%%,*}" = ro ]
  [ "${lines[1]%%,*}" = ro ]
  [ "${#lines[@]}" = 2 ]
}

@test "exec: a pod has containerd's default capabilities, a node all of them; ip link add in a pod is refused unless privileged" {
  f=$(one_node_lab caps <<'INI'
[pod default/plain]
app = command
command = sleep 300

[pod default/priv]
app = command
command = sleep 301
privileged = true

[pod default/netadmin]
app = command
command = sleep 302
capabilities = NET_ADMIN

[deployment default/tools]
labels = app=tools
app = command
command = sleep 303
capabilities = NET_RAW, NET_ADMIN
privileged = true
INI
)
  "$NSLAB" up "$f" >/dev/null
  # CapEff of every process in a Docker/containerd container: 00000000a80425fb.
  run "$NSLAB" exec caps pod/plain -- grep CapEff /proc/self/status
  [ "$output" = "CapEff:	00000000a80425fb" ]
  run "$NSLAB" exec caps pod/plain -- ip link add x0 type bridge
  [ "$status" -ne 0 ]
  [[ "$output" == *"Operation not permitted"* ]]
  run "$NSLAB" exec caps --privileged pod/plain -- ip link add x0 type bridge
  [ "$status" -eq 0 ]
  run "$NSLAB" exec caps pod/priv -- ip link add x1 type bridge
  [ "$status" -eq 0 ]
  # The node (as ssh to a VM) keeps them all.
  [ "$("$NSLAB" exec caps node/n1 -- grep CapEff /proc/self/status)" = "$(grep CapEff /proc/self/status)" ]
  # The pods' apps themselves, seen from outside.
  plain=$(pgrep -xf 'sleep 300') priv=$(pgrep -xf 'sleep 301')
  [ "$(grep CapEff "/proc/$plain/status")" = "CapEff:	00000000a80425fb" ]
  [ "$(grep CapBnd "/proc/$plain/status")" = "CapBnd:	00000000a80425fb" ]
  [ "$(grep CapEff "/proc/$priv/status")" = "$(grep CapEff /proc/self/status)" ]
  # capabilities = NET_ADMIN: containerd's set plus bit 12, for the app and for
  # nslab exec (kubectl exec runs with the container's); no CAP_SYS_ADMIN.
  netadmin=$(pgrep -xf 'sleep 302')
  [ "$(grep CapEff "/proc/$netadmin/status")" = "CapEff:	00000000a80435fb" ]
  [ "$(grep CapBnd "/proc/$netadmin/status")" = "CapBnd:	00000000a80435fb" ]
  run "$NSLAB" exec caps pod/netadmin -- grep CapEff /proc/self/status
  [ "$output" = "CapEff:	00000000a80435fb" ]
  run "$NSLAB" exec caps pod/netadmin -- ip link add x2 type bridge
  [ "$status" -eq 0 ]
  # Mounting needs CAP_SYS_ADMIN, which it has not.
  run "$NSLAB" exec caps pod/netadmin -- mount -t tmpfs none /mnt
  [ "$status" -ne 0 ]
  # The pod as the API serves it: securityContext.capabilities.add, not privileged.
  [ "$(sqlite3 "$STATE_ROOT/caps/store.db" "select json_extract(body, '$.spec.containers[0].securityContext') from objects where kind = 'Pod' and name = 'netadmin'")" = '{"capabilities":{"add":["NET_ADMIN"]}}' ]
  # A workload's template shows it too, on the Deployment, its ReplicaSet and its pod.
  sc='{"capabilities":{"add":["NET_ADMIN","NET_RAW"]},"privileged":true}'
  [ "$(sqlite3 "$STATE_ROOT/caps/store.db" "select kind, json_extract(body, '$.spec.template.spec.containers[0].securityContext') from objects where kind in ('Deployment', 'ReplicaSet') and name like 'tools%' order by kind")" = "Deployment|$sc"$'\n'"ReplicaSet|$sc" ]
  [ "$(sqlite3 "$STATE_ROOT/caps/store.db" "select json_extract(body, '$.spec.containers[0].securityContext') from objects where kind = 'Pod' and name like 'tools-%'")" = "$sc" ]
  "$NSLAB" down caps
}
