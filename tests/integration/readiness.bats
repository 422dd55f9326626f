#!/usr/bin/env bats
# Readiness as kubelet has it (issue 11): a pod with a readiness probe starts
# not ready (Ready and ContainersReady False, READY 0/1), its endpoint is in
# the EndpointSlice with conditions.ready false and in no kube-proxy rule
# until a probe passes; up --wait waits for every pod's readiness and names
# the ones that are not. The oracles: the store (as the API would hold it),
# the node's own iptables-save, and traffic to the ClusterIP.

load helpers

store () { sqlite3 "$STATE_ROOT/rd/store.db" "$1"; }

# demo/web (default probe: tcp on its app's port, open) and demo/late
# (probed on 81, where nothing listens until the test opens it), both
# selected by demo/web-svc.
rd_lab () {
  one_node_lab rd <<'EOF'
[deployment demo/web]
labels = app=web
replicas = 1
app = http:80
[pod demo/late]
labels = app=web
app = http:80
readiness = tcp:81
[service demo/web-svc]
selector = app=web
ports = http:80
cluster_ip = 10.43.0.80
EOF
}

late_ip () { store "select json_extract(body, '$.status.podIP') from objects where kind='Pod' and name='late'"; }

# late's Ready and ContainersReady conditions and containerStatuses[0].ready.
late_ready () {
  store "select (select group_concat(json_extract(c.value, '$.type') || '=' || json_extract(c.value, '$.status'), ' ')
                 from json_each(json_extract(body, '$.status.conditions')) c
                 where json_extract(c.value, '$.type') in ('Ready', 'ContainersReady'))
                || ' ' || json_extract(body, '$.status.containerStatuses[0].ready')
         from objects where kind='Pod' and name='late'"
}

# conditions.ready of late's address in web-svc's EndpointSlice.
late_slice_ready () {
  store "select json_extract(e.value, '$.conditions.ready') from objects o, json_each(json_extract(o.body, '$.endpoints')) e
         where o.kind='EndpointSlice' and json_extract(o.body, '$.metadata.labels.\"kubernetes.io/service-name\"')='web-svc'
         and json_extract(e.value, '$.addresses[0]') = '$(late_ip)'"
}

# The DNAT targets of web-svc's KUBE-SEP chains in the node's nat table.
sep_targets () {
  ip netns exec rd-n1 iptables-save -t nat | sed -nE 's/^-A KUBE-SEP-[A-Z0-9]+ .*"demo\/web-svc:http".* --to-destination ([0-9.]+):80$/\1/p' | sort
}

@test "readiness: a pod probed on a closed port starts and stays 0/1, in the slice not ready, out of the rules" {
  f=$(rd_lab)
  run "$NSLAB" up "$f"
  [ "$status" -eq 0 ]
  # up's own summary already says so.
  [[ "$output" =~ "demo "+"late "+"0/1 "+"Running" ]]
  [[ "$output" =~ "demo "+"web-"[a-z0-9-]+" "+"1/1 "+"Running" ]]
  ip=$(late_ip)
  [ -n "$ip" ]
  web=$(store "select json_extract(body, '$.status.podIP') from objects where kind='Pod' and name like 'web-%'")
  # Never ready: after several probe periods still not.
  for _ in 1 2 3; do
    [ "$(late_ready)" = "Ready=False ContainersReady=False 0" ]
    [ "$(late_slice_ready)" = 0 ]
    [ "$(sep_targets)" = "$web" ]
    sleep 1
  done
  # Endpoints: the ready pod under addresses, late under notReadyAddresses.
  store "select body from objects where kind='Endpoints' and name='web-svc'" \
    | jq -e --arg l "$ip" --arg w "$web" '.subsets[0].addresses == [.subsets[0].addresses[0]] and .subsets[0].addresses[0].ip == $w
                                          and .subsets[0].notReadyAddresses[0].ip == $l'
  "$NSLAB" status -o json rd | jq -e '[.pod_status[] | select(.name == "late") | .ready] == [0]'
  # Every request to the ClusterIP reaches the ready pod.
  for _ in $(seq 10); do
    "$NSLAB" exec rd -n demo pod/late -- curl -s -m 2 http://10.43.0.80/ | pod_of | grep -q '^web-'
  done
  "$NSLAB" down rd
}

@test "readiness: up --wait --timeout times out naming the pod that is not ready" {
  f=$(rd_lab)
  run "$NSLAB" up --wait --timeout 3s "$f"
  [ "$status" -ne 0 ]
  [[ "$output" == *"1 pod is not ready after 3000 ms: demo/late (readiness tcp:81)"* ]]
  [[ "$output" != *"demo/web-"* ]]
  "$NSLAB" down rd
  # A bad duration is one line, nothing created.
  run "$NSLAB" up --wait --timeout soon "$f"
  [ "$status" -eq 2 ]
  [[ "$output" == *'--timeout: "soon" is not a duration'* ]]
  [ ! -e "$STATE_ROOT/rd" ]
}

@test "readiness: opening the probed port makes the pod ready and its endpoint appear" {
  f=$(rd_lab)
  "$NSLAB" up "$f" >/dev/null
  ip=$(late_ip)
  [ "$(late_ready)" = "Ready=False ContainersReady=False 0" ]
  # Something listens on 81 in the pod (it dies with the pod at down).
  "$NSLAB" exec rd -n demo pod/late -- socat TCP-LISTEN:81,fork,reuseaddr EXEC:/bin/true >/dev/null 2>&1 &
  for _ in $(seq 100); do [ "$(late_ready)" = "Ready=True ContainersReady=True 1" ] && break; sleep 0.05; done
  [ "$(late_ready)" = "Ready=True ContainersReady=True 1" ]
  [ "$(late_slice_ready)" = 1 ]
  sep_targets | grep -qx "$ip"
  [ "$(sep_targets | wc -l)" -eq 2 ]
  # Both pods answer through the ClusterIP now.
  seen=$(for _ in $(seq 30); do "$NSLAB" exec rd -n demo pod/late -- curl -s -m 2 http://10.43.0.80/ | pod_of; done | sed 's/-.*//' | sort -u | tr '\n' ' ')
  [ "$seen" = "late web " ]
  "$NSLAB" down rd
}
