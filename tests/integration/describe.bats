#!/usr/bin/env bats
# nslab describe against the oracle: the machine's real kubectl describe,
# through the lab's API server, for the same objects of the seed lab. The
# two must agree line for line, spacing included; only ages (which move
# between the two runs) are normalised.

bats_require_minimum_version 1.5.0

load helpers

setup () { kubectl_setup; }

# Ages vary with the run: AGE (the Events table's column, "(x2 over 5s)");
# so do a node's lease renewal and heartbeats: TIME (same width).
norm () {
  sed -E 's/\b[0-9]+(s|m[0-9]*s?|h|d)\b/AGE/g; s/[A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} [-+][0-9]{4}/TIME  TIME  TIME  TIME  /g'
}

# nslab describe and kubectl describe print the same for ARGS. nslab
# emulates kubectl 1.32 (1.33 is compared with what it prints of 1.32's
# text, old_kubectl_describe); an older kubectl (Debian's 1.20, 1.27-1.30) is
# compared with what it prints of 1.32's text (old_kubectl_describe), spaces
# squeezed (the lines it lacks widen 1.32's columns), without the Endpoints
# deprecation warning (a service's v1 Endpoints are read before 1.31).
same () {
  if [ "$KMINOR" -lt 31 ]; then
    old () { norm | tr -s ' ' | grep -v '^Warning: v1 Endpoints is deprecated'; }
    diff -u <(kc describe "$@" 2>&1 | old) <("$NSLAB" describe k3s "$@" 2>&1 | old | old_kubectl_describe "$KMINOR")
  else
    diff -u <(kc describe "$@" 2>&1 | norm) <("$NSLAB" describe k3s "$@" 2>&1 | norm | old_kubectl_describe "$KMINOR")
  fi
}

@test "describe: services, pods, deployments, replicasets, endpoints, nodes and namespaces as kubectl describe prints them, events included" {
  "$NSLAB" up "$SEED" > /dev/null
  # services: NodePort with "+ 3 more..." endpoints, ClusterIP, the API server's, DNS's two ports
  same svc my-helloworld-rs-service
  same -n demo svc/web-svc
  same svc kubernetes
  same -n kube-system service/kube-dns
  # deployments: template, conditions, the new ReplicaSet (the seed's `kubectl -n demo describe deploy web`)
  same -n demo deploy web
  same -n kube-system deployment coredns
  # every pod: node/IP, owner, container state, probe, conditions
  for p in $(kc get pods -A -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name} {end}'); do
    same -n "${p%%/*}" pod "${p#*/}"
  done
  same endpoints my-helloworld-rs-service
  # nodes: roles, lease, conditions, capacity, the node's pods
  for n in cp1 w1 w2; do same node "$n"; done
  same no/w1
  # replicasets (the pods they control, by phase) and namespaces
  same -n demo rs web-8597f6f985
  same -n kube-system replicaset/"$(kc -n kube-system get rs -o jsonpath='{.items[0].metadata.name}')"
  same ns demo
  same namespace/kube-system
  # after a scale-up: the deployment's ScalingReplicaSet event, the new pod's kubelet and scheduler events
  kc -n demo scale deploy web --replicas=3 > /dev/null
  for _ in $(seq 50); do
    [ "$(kc -n demo get deploy web -o jsonpath='{.status.availableReplicas}')" = 3 ] && break
    sleep 0.2
  done
  new=$(kc -n demo get events --field-selector reason=Scheduled -o jsonpath='{.items[0].involvedObject.name}')
  [ -n "$new" ]
  run "$NSLAB" describe k3s -n demo deploy/web
  [[ "$output" == *$'\nEvents:\n  Type    Reason             Age'* ]]
  [[ "$output" == *"deployment-controller  Scaled up replica set web-"*" from 2 to 3"* ]]
  same -n demo deploy web
  run "$NSLAB" describe k3s -n demo pod "$new"
  [[ "$output" == *"default-scheduler  Successfully assigned demo/$new to "* ]]
  same -n demo pod "$new"
  "$NSLAB" down k3s > /dev/null
}

@test "describe: as kubectl, a type alone describes all of them, a name that is no object every one it starts" {
  "$NSLAB" up "$SEED" > /dev/null
  # the seed's six my-helloworld-rs pods, one empty line after each
  run "$NSLAB" describe k3s pods my-helloworld
  [ "$(echo "$output" | grep -c '^Name: *my-helloworld-rs-')" = 6 ]
  same pods my-helloworld
  same -n demo deploy w
  same -n demo pods web-
  # every service of default, every ReplicaSet of demo, every namespace: two empty lines between
  same svc
  [ "$("$NSLAB" describe k3s svc | grep -c '^Name:')" = 2 ]
  same -n demo rs
  same ns
  same -n kube-system ep
  # no object and no prefix: the NotFound of the name; an empty namespace: kubectl's note
  run -1 "$NSLAB" describe k3s pods nope
  [ "$output" = 'nslab: Error from server (NotFound): pods "nope" not found' ]
  run "$NSLAB" describe k3s -n empty pods
  [ "$status" -eq 0 ]
  [ "$output" = 'No resources found in empty namespace.' ]
  same -n empty pods
  # TYPE/NAME is exact, as in kubectl
  run -1 "$NSLAB" describe k3s pod/my-helloworld
  [ "$output" = 'nslab: Error from server (NotFound): pods "my-helloworld" not found' ]
  "$NSLAB" down k3s > /dev/null
}

@test "describe: an unknown object is kubectl's NotFound (exit 1); an unknown type or one without a describer exit 2" {
  "$NSLAB" up "$SEED" > /dev/null
  run -1 "$NSLAB" describe k3s pod nope
  [ "$output" = "nslab: $(kc describe pod nope 2>&1)" ]
  [ "$output" = 'nslab: Error from server (NotFound): pods "nope" not found' ]
  run -1 "$NSLAB" describe k3s -n demo deploy/nope
  [ "$output" = 'nslab: Error from server (NotFound): deployments.apps "nope" not found' ]
  run -2 "$NSLAB" describe k3s foo bar
  [ "$output" = 'nslab: error: the server doesn'"'"'t have a resource type "foo"' ]
  run -2 "$NSLAB" describe k3s -n kube-node-lease lease w1
  [ "$output" = 'nslab: no describer for lease.coordination.k8s.io (pods, services, endpoints, deployments, replicasets, nodes, namespaces)' ]
  run -2 "$NSLAB" describe k3s
  [[ "$output" == "usage: nslab describe LAB"* ]]
  "$NSLAB" down k3s > /dev/null
  # a lab that is not up
  run "$NSLAB" describe k3s svc kubernetes
  [ "$status" -ne 0 ]
}
