#!/usr/bin/env bats
# nslab ls / nslab status

load helpers

@test "ls: nothing up" {
  run "$NSLAB" ls
  [ "$status" -eq 0 ]
  [ "$output" = "NAME   NODES   PODS   SERVICES   AGE   STATUS" ]
}

@test "ls: labs with counts and age" {
  "$NSLAB" up "$SEED" >/dev/null
  run "$NSLAB" ls
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "NAME   NODES   PODS   SERVICES   AGE   STATUS" ]
  [[ "${lines[1]}" =~ ^"k3s    3       9      4          "[0-9]+s" "+"up"$ ]]
  "$NSLAB" down k3s
}

@test "status: every node and pod process alive, every namespace present" {
  "$NSLAB" up "$SEED" >/dev/null
  run "$NSLAB" status k3s
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" =~ ^"lab k3s: up, age "[0-9]+s", 3 nodes, 9 pods, 4 services"$ ]]
  # 3 nodes, 9 pods and the lab's control loop, runtime agent and API server
  [ "$(printf '%s\n' "$output" | grep -c ' alive$')" -eq 15 ]
  [[ "$output" =~ $'\n'"control "+"controller "+"cp1 "+"- "+"k3s-cp1 "+[0-9]+" "+"alive"$'\n' ]]
  [ "$(printf '%s\n' "$output" | grep -cE '^k3s-[a-z0-9-]+ +yes$')" -eq 16 ]
  [ "${lines[-1]}" = "healthy" ]
  # The pod's row: its node and IP from the snapshot, as `kubectl get pod -o wide` shows them.
  [[ "$output" =~ $'\n'"pod "+"demo/web-8597f6f985-56kng "+"w1     10.42.1.2       k3s-demo-web-8597f6f985-56kng " ]]
  "$NSLAB" down k3s
}

@test "status: a killed pod process shows dead and the exit code is 1" {
  "$NSLAB" up "$SEED" >/dev/null
  pid=$(ps -eo pid=,args= | awk '/nslab-pause k3s demo\/web-8597f6f985-bw5jd$/{print $1}')
  kill -9 "$pid"
  wait_gone "$pid"
  run "$NSLAB" status k3s
  [ "$status" -eq 1 ]
  [[ "$output" == *"demo/web-8597f6f985-bw5jd"*"dead"* ]]
  [ "${lines[-1]}" = "unhealthy" ]
  "$NSLAB" down k3s
}

@test "status: a killed control loop shows dead and the lab unhealthy (nothing restarts pods or follows endpoints)" {
  "$NSLAB" up "$SEED" >/dev/null
  ctl=$(awk '$1 == "proc" && $2 == "control" && $3 == "controller" { print $7 }' "$STATE_ROOT/k3s/journal")
  kill -9 "$ctl"
  wait_gone "$ctl"
  run "$NSLAB" status k3s
  [ "$status" -eq 1 ]
  [[ "$output" =~ $'\n'"control "+"controller "+"cp1 "+"- "+"k3s-cp1 "+"$ctl "+"dead"$'\n' ]]
  [ "${lines[-1]}" = "unhealthy" ]
  "$NSLAB" status -o json k3s | jq -e --argjson pid "$ctl" '.healthy == false and ([.control[] | select(.name == "controller" and .pid == $pid and (.alive | not))] | length) == 1'
  "$NSLAB" down k3s
}

@test "status: a lab that is not up" {
  run "$NSLAB" status nolab
  [ "$status" -eq 1 ]
  [ "$output" = "nslab: lab nolab is not up" ]
}

@test "status: a deleted cni0, a flushed nat table and a deleted chain make the lab unhealthy, each named" {
  "$NSLAB" up "$SEED" >/dev/null
  # The lab's control loop would write its chains back (kube-proxy's
  # resync): freeze it, as if kube-proxy were stopped on every node.
  ctl=$(awk '$1 == "proc" && $2 == "control" && $3 == "controller" { print $7 }' "$STATE_ROOT/k3s/journal")
  kill -STOP "$ctl"
  ip -n k3s-cp1 link del cni0
  ip netns exec k3s-w1 iptables -t nat -F
  ip netns exec k3s-w2 iptables -t filter -F KUBE-FORWARD
  ip netns exec k3s-w2 iptables -t filter -D FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
  ip netns exec k3s-w2 iptables -t filter -X KUBE-FORWARD
  run "$NSLAB" status k3s
  [ "$status" -eq 1 ]
  [ "${lines[-1]}" = "unhealthy" ] || { echo "$output" >&2; false; }
  [[ "$output" == *"k3s-cp1   link cni0 is missing"* ]]
  [[ "$output" == *"k3s-w1    nat table: "*" rules are missing"* ]]
  [[ "$output" == *"k3s-w2    filter table: chain KUBE-FORWARD is missing"* ]]
  # The pods' veths on cp1 are still there: only what is gone is named.
  [[ "$output" != *"link veth"* ]]
  "$NSLAB" status -o json k3s | jq -e '.healthy == false and ([.problems[].netns] | sort) == ["k3s-cp1", "k3s-w1", "k3s-w2", "k3s-w2"]'
  kill -CONT "$ctl"
  "$NSLAB" down k3s
}

# The store's pods in status's kubectl table: NAMESPACE NAME READY STATUS RESTARTS AGE IP NODE.
pod_line () { "$NSLAB" status k3s | awk -v p="$1" '$1 == "demo" && $2 == p'; }

@test "status and ls: the store's pods after scale, as kubectl get pods -o wide shows them" {
  "$NSLAB" up "$SEED" >/dev/null
  run "$NSLAB" scale k3s -n demo deploy/web --replicas 3
  [ "$status" -eq 0 ]
  new=$(sqlite3 "$STATE_ROOT/k3s/store.db" "select name from objects where kind='Pod' and namespace='demo' and name like 'web-%' and name not in ('web-8597f6f985-56kng', 'web-8597f6f985-bw5jd')")
  [ -n "$new" ]
  ip=$(sqlite3 "$STATE_ROOT/k3s/store.db" "select json_extract(body, '$.status.podIP') || ' ' || json_extract(body, '$.spec.nodeName') from objects where kind='Pod' and name='$new'")
  run "$NSLAB" status k3s
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" =~ ^"lab k3s: up, age "[0-9]+s", 3 nodes, 10 pods, 4 services"$ ]]
  [[ "$output" =~ "NAMESPACE "+"NAME "+"READY   STATUS    RESTARTS   AGE   IP          NODE" ]]
  # The new pod, ready, with the address and node the store gave it; its
  # namespace and process are there too.
  [[ "$(pod_line "$new")" =~ ^"demo "+"$new "+"1/1 "+"Running "+"0 "+[0-9]+s" "+"${ip% *} "+"${ip#* }"$ ]]
  ip netns list | grep -q "^k3s-demo-$new"
  [ "$(printf '%s\n' "$output" | grep -c ' alive$')" -eq 16 ]
  "$NSLAB" status -o json k3s | jq -e --arg p "$new" '.pods == 10 and .health == "healthy" and ([.pod_status[] | select(.name == $p and .status == "Running" and .ready == 1)] | length) == 1'
  run "$NSLAB" ls
  [[ "${lines[1]}" =~ ^"k3s    3       10     4          "[0-9]+s" "+"up"$ ]]
  "$NSLAB" down k3s
}

@test "status: an app killed twice is in CrashLoopBackOff (degraded, exit 3), then Running with RESTARTS 2 (Ns ago)" {
  # The back-off outlasts the four commands that look at it: under the
  # sanitizers, two test files at a time, they took over 3 s together.
  run env NSLAB_TEST_BACKOFF_MS=6000 "$NSLAB" up "$SEED"
  [ "$status" -eq 0 ]
  pod=web-8597f6f985-56kng
  # kubelet restarts it at once the first time, then backs off.
  crash_twice "demo/$pod"
  for _ in $(seq 100); do [[ "$(pod_line $pod)" == *CrashLoopBackOff* ]] && break; sleep 0.02; done
  # As kubelet counts: one restart done, the next one waits.
  [[ "$(pod_line $pod)" =~ ^"demo "+"$pod "+"0/1 "+"CrashLoopBackOff "+"1 ("[0-9]+s" ago) " ]]
  run "$NSLAB" status k3s
  [ "$status" -eq 3 ]
  [ "${lines[-1]}" = "degraded" ]
  run "$NSLAB" ls
  [[ "${lines[1]}" == *" degraded" ]]
  "$NSLAB" status -o json k3s | jq -e --arg p "$pod" '.health == "degraded" and .healthy == false and ([.pod_status[] | select(.degraded) | .name] == [$p])'
  # After the back-off: running, ready again, two restarts.
  for _ in $(seq 300); do [[ "$(pod_line $pod)" == *" 1/1 "* ]] && break; sleep 0.05; done
  [[ "$(pod_line $pod)" =~ ^"demo "+"$pod "+"1/1 "+"Running "+"2 ("[0-9]+s" ago) " ]]
  run "$NSLAB" status k3s
  [ "$status" -eq 0 ]
  [ "${lines[-1]}" = "healthy" ]
  "$NSLAB" down k3s
}
