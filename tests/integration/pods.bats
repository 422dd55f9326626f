#!/usr/bin/env bats
# Pods as containerd makes them: each node's pause process is PID 1 of a
# PID namespace of its own, each pod's nests in its node's, each with its own
# /proc; nslab exec joins the target's, so what it starts dies with it; the
# pause process restarts its app as kubelet does (restart_policy, back-off,
# CrashLoopBackOff) and keeps a status file (docs/state.md). The oracles are
# ps and /proc, read from inside and outside.

bats_require_minimum_version 1.5.0

load helpers

web1=web-8597f6f985-56kng   # on w1
web2=web-8597f6f985-bw5jd   # on w2

# Wait (up to 5 s) until field $2 of $1's status file is at least $3 (a
# count that moves on by itself, such as restarts under a short back-off).
wait_status_ge () {
  for _ in $(seq 100); do
    [ "$(status_of "$1" "$2")" -ge "$3" ] 2>/dev/null && return 0
    sleep 0.05
  done
  echo "status of $1: $(cat "$STATE_ROOT/$LAB/files/$1/status")" >&2
  return 1
}

# The app of the pause process of pod $1 (its only child).
app_of () { pgrep -P "$(pgrep -f "^nslab-pause $LAB $1\$")"; }

@test "pods: ps in a pod shows its pause process (PID 1) and its app only; ps on a node shows its pods and not another node's" {
  LAB=k3s
  "$NSLAB" up "$SEED" > /dev/null
  run "$NSLAB" exec k3s -n demo "pod/$web1" -- ps -eo pid=,ppid=,args=
  [ "$status" -eq 0 ]
  # ps itself is the third process: its parent is outside (0), as for kubectl exec.
  [ "$(echo "$output" | awk '{$1=$1}1')" = "1 0 nslab-pause k3s demo/$web1
2 1 nslab-echo 80
3 0 ps -eo pid=,ppid=,args=" ]
  # ps -e (the command's name, comm) names the app too, as it names nginx in a
  # container (the pause process's comm is its binary's: nslab-pause, or nslab
  # in a sanitizer build, which has no static pause binary)
  run "$NSLAB" exec k3s -n demo "pod/$web1" -- ps -eo pid=,comm=
  [ "$(echo "$output" | awk '$1 == 2 { print $2 }')" = nslab-echo ]
  # The pod's /proc is its own: the host's pid of the pause process is not there.
  host_pid=$(pgrep -f "^nslab-pause k3s demo/$web1\$")
  run "$NSLAB" exec k3s -n demo "pod/$web1" -- sh -c "tr '\\0' ' ' < /proc/1/cmdline"
  [ "$output" = "nslab-pause k3s demo/$web1 " ]
  # Seen from outside, the pause process's NSpid: host, node, pod.
  run awk '/^NSpid:/ { print $3, $4 }' "/proc/$host_pid/status"
  [[ "$output" =~ ^[0-9]+\ 1$ ]]

  run "$NSLAB" exec k3s node/w1 -- ps -eo args=
  [ "$status" -eq 0 ]
  [ "$(echo "$output" | head -1)" = "nslab-pause k3s node/w1" ]
  [[ "$output" == *"nslab-pause k3s demo/$web1"* ]]
  [[ "$output" != *"$web2"* ]]
  [[ "$output" != *"node/cp1"* ]]
  [[ "$output" != *"node/w2"* ]]
  # Exactly w1's pods, as the snapshot places them.
  want=$(jq -r '.pods[] | select(.node == "w1") | "nslab-pause k3s \(.namespace)/\(.name)"' "$STATE_ROOT/k3s/plan.json" | sort)
  [ "$(echo "$output" | grep '^nslab-pause' | grep -v node/ | sort)" = "$want" ]
  # Each pod's PID namespace nests in its node's: its parent is the node's.
  node_ns=$(readlink "/proc/$(pgrep -f '^nslab-pause k3s node/w1$')/ns/pid")
  pod_ns=$(readlink "/proc/$host_pid/ns/pid")
  [ "$node_ns" != "$pod_ns" ]
  node_pid=$(pgrep -f '^nslab-pause k3s node/w1$')
  [ "$(ps -o ppid= -p "$host_pid" | tr -d ' ')" = "$node_pid" ]
  # Forked by the node's pause process on nslab's request (its spawner), not
  # exec'd: its title is one string, written over the node's memory.
  [ "$(tr '\0' '|' < "/proc/$host_pid/cmdline")" = "nslab-pause k3s demo/$web1|" ]
  [ "$(tr '\0' '|' < "/proc/$node_pid/cmdline")" = "nslab-pause|k3s|node/w1|" ]
  "$NSLAB" down k3s
}

@test "pods: what nslab exec starts in a pod or a node dies with the lab at down" {
  "$NSLAB" up "$SEED" > /dev/null
  "$NSLAB" exec k3s -n demo "pod/$web1" -- sleep 4301 &
  "$NSLAB" exec k3s node/cp1 -- sh -c 'sleep 4302 & sleep 4303' &
  for _ in $(seq 100); do [ "$(pgrep -fc '^sleep 430[123]$')" -eq 3 ] && break; sleep 0.05; done
  [ "$(pgrep -fc '^sleep 430[123]$')" -eq 3 ]
  # The sleeps sit in the target's PID namespace.
  p=$(pgrep -xf 'sleep 4301')
  [ "$(readlink "/proc/$p/ns/pid")" = "$(readlink "/proc/$(pgrep -f "^nslab-pause k3s demo/$web1\$")/ns/pid")" ]
  "$NSLAB" down k3s
  wait
  run pgrep -fa '^sleep 430[123]$'
  [ "$status" -eq 1 ]
}

@test "pods: an app that exits is restarted as kubelet does: at once, then after a 10 s back-off in CrashLoopBackOff" {
  LAB=crash
  f=$(one_node_lab crash <<'INI'
[pod default/loop]
command = sleep 4400
INI
)
  "$NSLAB" up "$f" > /dev/null
  files=crash-default-loop
  wait_status $files state running
  [ "$(cat "$STATE_ROOT/crash/files/$files/status" | cut -d' ' -f1 | tr '\n' ' ')" = "state restarts started_at " ]
  [ "$(status_of $files restarts)" = 0 ]
  app=$(app_of default/loop)
  kill -KILL "$app"
  # The first exit: restarted at once (no back-off yet), restarts 1.
  wait_status $files restarts 1
  [ "$(status_of $files state)" = running ]
  [ "$(status_of $files exit_code)" = 137 ]
  app2=$(app_of default/loop)
  [ -n "$app2" ] && [ "$app2" != "$app" ]
  [ "$(ps -o args= -p "$app2")" = "sleep 4400" ]
  # The second: waiting in CrashLoopBackOff for kubelet's initial 10 s.
  kill -TERM "$app2"
  wait_status $files state waiting
  [ "$(status_of $files reason)" = CrashLoopBackOff ]
  [ "$(status_of $files restarts)" = 1 ]
  [ "$(status_of $files exit_code)" = 143 ]
  [ $(( $(status_of $files next_start) - $(status_of $files finished_at) )) -eq 10 ]
  [ -z "$(app_of default/loop)" ]
  "$NSLAB" down crash
}

@test "pods: after the back-off the app starts again; the HTTP app's port refuses while it is down" {
  LAB=k3s
  # Test-only: a 3 s initial back-off instead of 10 s.
  NSLAB_TEST_BACKOFF_MS=3000 "$NSLAB" up "$SEED" > /dev/null
  files=k3s-demo-$web1
  ip=$(jq -r ".pods[] | select(.name == \"$web1\") | .ip" "$STATE_ROOT/k3s/plan.json")
  run "$NSLAB" exec k3s node/w1 -- curl -s -m 3 "http://$ip/"
  [[ "$output" == *"pod: $web1"* ]]
  kill -KILL "$(app_of "demo/$web1")"
  wait_status "$files" restarts 1
  kill -KILL "$(app_of "demo/$web1")"
  wait_status "$files" state waiting
  [ $(( $(status_of "$files" next_start) - $(status_of "$files" finished_at) )) -eq 3 ]
  # While the app is down, nothing listens: the connection is refused (curl 7).
  run "$NSLAB" exec k3s node/w1 -- curl -s -m 3 "http://$ip/"
  [ "$status" -eq 7 ]
  # (still the same wait: the refusal was not a restart in progress)
  [ "$(status_of "$files" state)" = waiting ]
  [ "$(status_of "$files" restarts)" = 1 ]
  wait_status "$files" restarts 2
  [ "$(status_of "$files" state)" = running ]
  [ "$(ps -o args= -p "$(app_of "demo/$web1")")" = "nslab-echo 80" ]
  run "$NSLAB" exec k3s node/w1 -- curl -s -m 3 "http://$ip/"
  [ "$status" -eq 0 ]
  [[ "$output" == *"pod: $web1"* ]]
  grep -q "nslab-pause: back-off 3000 ms restarting failed app" "$STATE_ROOT/k3s/logs/$files.log"
  "$NSLAB" down k3s
}

@test "pods: restart_policy Never and OnFailure leave an exited app terminated" {
  LAB=policy
  f=$(one_node_lab policy <<'INI'
[pod default/never]
command = "sh -c 'exit 3'"
restart_policy = Never
[pod default/done]
command = "true"
restart_policy = OnFailure
[pod default/fails]
command = "sh -c 'exit 5'"
restart_policy = OnFailure
INI
)
  NSLAB_TEST_BACKOFF_MS=100 "$NSLAB" up "$f" > /dev/null
  wait_status policy-default-never state terminated
  [ "$(cat "$STATE_ROOT/policy/files/policy-default-never/status")" = "state terminated
reason Error
restarts 0
exit_code 3
finished_at $(status_of policy-default-never finished_at)
last_started_at $(status_of policy-default-never last_started_at)" ]
  # when the exited app had started (kubelet's terminated.startedAt)
  [ "$(status_of policy-default-never last_started_at)" -gt 0 ]
  [ "$(status_of policy-default-never last_started_at)" -le "$(status_of policy-default-never finished_at)" ]
  wait_status policy-default-done state terminated
  [ "$(status_of policy-default-done reason)" = Completed ]
  [ "$(status_of policy-default-done exit_code)" = 0 ]
  # OnFailure: a failure is restarted (over and over with a 100 ms back-off:
  # by now it may be past 2).
  wait_status_ge policy-default-fails restarts 2
  [ "$(status_of policy-default-fails exit_code)" = 5 ]
  # The terminated pods stay terminated; their pause processes live on.
  [ "$(status_of policy-default-never restarts)" = 0 ]
  pgrep -f '^nslab-pause policy default/never$' > /dev/null
  jq -e '[.ops[] | select(.op == "process" and .owner.kind == "pod") | .restart_policy] == ["Never", "OnFailure", "OnFailure"]' \
    "$STATE_ROOT/policy/plan.json"
  "$NSLAB" down policy
}

# "VETH NETNS" for each pod veth on node $1's cni0, as `ip link` on the node prints its peer.
node_veth_peers () {
  "$NSLAB" exec k3s "node/$1" -- ip -o link show master cni0 |
    sed -nE 's/^[0-9]+: (veth[0-9a-f]+)@if[0-9]+: .* link-netns ([^ ]+).*/\1 \2/p' | sort
}

# node $1's pods' names in its /run/netns must be exactly its pods' network
# namespaces: ip link's link-netns name of each pod veth and the namespace
# the snapshot puts behind that veth are the same nsfs inode.
check_node_netns () {
  local node=$1 veth name pod_ns want got
  want=$(jq -r --arg n "$node" '[.pods[] | select(.node == $n)] | length' "$STATE_ROOT/k3s/plan.json")
  [ "$("$NSLAB" exec k3s "node/$node" -- ip netns list | grep -c '^cni-')" -eq "$want" ]
  [ "$(node_veth_peers "$node" | wc -l)" -eq "$want" ]
  while read -r veth name; do
    [[ "$name" =~ ^cni-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]]
    pod_ns=$(jq -r --arg v "$veth" --arg n "$node" '.pods[] | select(.node == $n and .host_veth == $v) | .netns' \
      "$STATE_ROOT/k3s/plan.json")
    want=$(stat -L -c %i "/run/netns/$pod_ns")
    got=$("$NSLAB" exec k3s "node/$node" -- stat -L -c %i "/run/netns/$name")
    [ "$got" = "$want" ]
  done < <(node_veth_peers "$node")
}

@test "pods: a node's /run/netns has its pods' namespaces as containerd names them (cni-<uuid>), only in the node's mount namespace" {
  "$NSLAB" up "$SEED" > /dev/null
  for node in cp1 w1 w2; do check_node_netns "$node"; done
  # No leftover host mount points behind the names: ip addr on a node resolves every peer.
  run --separate-stderr "$NSLAB" exec k3s node/w1 -- ip addr
  [ "$status" -eq 0 ]
  [[ "$stderr" != *"invalid"* ]]
  [[ "$output" == *"link-netns cni-"* ]]
  # iproute2 on the node enters a pod by that name.
  name=$("$NSLAB" exec k3s node/w1 -- ip netns list | grep -m1 '^cni-' | cut -d' ' -f1)
  run "$NSLAB" exec k3s node/w1 -- ip netns exec "$name" ip -br -4 addr show eth0
  [ "$status" -eq 0 ]
  [[ "$output" =~ 10\.42\.1\.[0-9]+/24 ]]
  # The host keeps its own names (k3s-<namespace>-<pod>) and none of the nodes'.
  [ -z "$(ip netns list | grep '^cni-')" ]
  [ -n "$(ip netns list | grep "^k3s-demo-$web1")" ]
  [ -z "$(awk '$5 ~ /cni-/' /proc/self/mountinfo)" ]
  # A pod's mount namespace holds no namespace mounts at all (they cost O(N^2)),
  # and, as in a container, no names: its veth's peer is link-netnsid 0.
  [ "$(grep -c ' - nsfs ' "/proc/$(pgrep -f "^nslab-pause k3s demo/$web1\$")/mountinfo")" -eq 0 ]
  [ -z "$("$NSLAB" exec k3s -n demo "pod/$web1" -- ip netns list)" ]
  run --separate-stderr "$NSLAB" exec k3s -n demo "pod/$web1" -- ip addr show eth0
  [ "$status" -eq 0 ]
  [ -z "$stderr" ]
  [[ "$output" == *"link-netnsid 0"* ]]
  # Pods the control loop makes get theirs; pods it deletes lose them.
  "$NSLAB" scale k3s -n demo deploy/web --replicas 5 > /dev/null
  for node in cp1 w1 w2; do check_node_netns "$node"; done
  "$NSLAB" scale k3s -n demo deploy/web --replicas 1 > /dev/null
  for node in cp1 w1 w2; do check_node_netns "$node"; done
  "$NSLAB" down k3s
}
