#!/usr/bin/env bats
# A workload's pods carry its template's containers, as the ReplicaSet
# controller makes them (GetPodFromTemplate) and the API server defaults
# them, whether kubectl create deployment or kubectl apply made the
# workload: names and images in -o jsonpath, describe pod and kubectl logs
# -c agree.

bats_require_minimum_version 1.5.0

load helpers

setup () { kubectl_setup; }

# Wait until NS has N running pods labelled SEL.
wait_pods () {
  for _ in $(seq 100); do
    [ "$(kc -n "$1" get pods -l "$2" -o name | wc -l)" = "$3" ] && return 0
    sleep 0.2
  done
  return 1
}

@test "pod template: kubectl create deployment's pods run its container (name nginx, image nginx)" {
  "$NSLAB" up "$SEED" > /dev/null
  [ "$(kc create deployment hello --image=nginx --port=80)" = "deployment.apps/hello created" ]
  wait_pods default app=hello 1
  [ "$(kc get pods -l app=hello -o jsonpath='{.items[*].spec.containers[*].name} {.items[*].spec.containers[*].image}')" = "nginx nginx" ]
  # the API server's defaults: an untagged image is pulled Always
  [ "$(kc get pods -l app=hello -o jsonpath='{.items[0].spec.containers[0].imagePullPolicy} {.items[0].spec.containers[0].terminationMessagePath} {.items[0].spec.containers[0].ports[0].protocol}')" = "Always /dev/termination-log TCP" ]
  # kubelet's status: the image as containerd resolved it
  [ "$(kc get pods -l app=hello -o jsonpath='{.items[0].status.containerStatuses[0].name} {.items[0].status.containerStatuses[0].image}')" = "nginx docker.io/library/nginx:latest" ]
  [[ "$(kc get pods -l app=hello -o jsonpath='{.items[0].status.containerStatuses[0].imageID}')" == docker.io/library/nginx@sha256:* ]]
  # the replicaset's template is the deployment's
  [ "$(kc get rs -l app=hello -o jsonpath='{.items[0].spec.template.spec.containers[0].name}')" = nginx ]
  pod=$(kc get pods -l app=hello -o jsonpath='{.items[0].metadata.name}')
  run kc logs "$pod" -c nginx
  [ "$status" -eq 0 ]
  [[ "$output" == *"listening on"*"80"* ]]
  # kubelet's events name the container and its image
  run kc describe pod "$pod"
  [[ "$output" == *'Container image "nginx" already present on machine'* ]]
  [[ "$output" == *'Started container nginx'* ]]
  # scenario-made workloads have the container the scenario gives them: the seed's nginx of
  # nginx:1.27-alpine (image =), with containerd's name and an imageID; without image, nslab's own
  [ "$(kc -n demo get pods -o jsonpath='{.items[*].spec.containers[*].name} {.items[*].spec.containers[*].image}')" = "nginx nginx nginx:1.27-alpine nginx:1.27-alpine" ]
  [ "$(kc -n demo get pods -o jsonpath='{.items[*].status.containerStatuses[*].image}')" = "docker.io/library/nginx:1.27-alpine docker.io/library/nginx:1.27-alpine" ]
  [[ "$(kc -n demo get pods -o jsonpath='{.items[0].status.containerStatuses[0].imageID}')" == docker.io/library/nginx@sha256:* ]]
  [ "$(kc -n demo get rs -o jsonpath='{.items[0].spec.template.spec.containers[0].name} {.items[0].spec.template.spec.containers[0].imagePullPolicy}')" = "nginx IfNotPresent" ]
  [ "$(kc get pods -l app=my-helloworld -o jsonpath='{.items[0].spec.containers[0].name} {.items[0].spec.containers[0].image}')" = "app nslab/http-echo" ]
  # the seed's web.yaml is what the lab already has: unchanged, no new replicaset
  run kc apply -f "$BATS_TEST_DIRNAME/golden-kubectl/web.yaml"
  [[ "$output" == *$'Warning: resource deployments/web is missing the kubectl.kubernetes.io/last-applied-configuration annotation'*$'\ndeployment.apps/web configured\n'* ]]
  [[ "$output" == *$'\nservice/web-svc configured' ]]
  [ "$(kc -n demo get rs -o name)" = "replicaset.apps/web-8597f6f985" ]
  "$NSLAB" down k3s
}

@test "pod template: an applied Deployment's pods have its containers; describe, logs -c and apply again agree" {
  "$NSLAB" up "$SEED" > /dev/null
  kc create namespace shop > /dev/null
  cat > "$BATS_TEST_TMPDIR/shop.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: 2
  selector:
    matchLabels:
      app: shop
  template:
    metadata:
      labels:
        app: shop
    spec:
      containers:
      - name: sidecar
        image: busybox:1.36
        command: ["sleep", "infinity"]
      - name: web
        image: nginx:1.27
        args: ["-g", "daemon off;"]
        ports:
        - containerPort: 80
        env:
        - name: MODE
          value: shop
        resources:
          limits:
            memory: 64Mi
        securityContext:
          capabilities:
            add: ["NET_ADMIN"]
YAML
  [ "$(kc apply -f "$BATS_TEST_TMPDIR/shop.yaml")" = "deployment.apps/web created" ]
  wait_pods shop app=shop 2
  [ "$(kc -n shop get pods -o jsonpath='{.items[*].spec.containers[*].name}')" = "sidecar web sidecar web" ]
  [ "$(kc -n shop get pods -o jsonpath='{.items[0].spec.containers[*].image}')" = "busybox:1.36 nginx:1.27" ]
  [ "$(kc -n shop get pods -o jsonpath='{.items[0].spec.containers[1].env[0].value} {.items[0].spec.containers[1].resources.limits.memory} {.items[0].spec.containers[1].imagePullPolicy}')" = "shop 64Mi IfNotPresent" ]
  [ "$(kc -n shop get pods -o jsonpath='{.items[0].status.containerStatuses[*].name}')" = "sidecar web" ]
  [ "$(kc -n shop get pods -o jsonpath='{.items[0].status.containerStatuses[*].image}')" = "docker.io/library/busybox:1.36 docker.io/library/nginx:1.27" ]
  # the app is the first container that maps to one (nginx's, on its port 80): it answers
  pod=$(kc -n shop get pods -o jsonpath='{.items[0].metadata.name}')
  ip=$(kc -n shop get pod "$pod" -o jsonpath='{.status.podIP}')
  from=$(kc -n demo get pods -o jsonpath='{.items[0].metadata.name}')
  for _ in $(seq 100); do
    [ "$("$NSLAB" exec k3s -n demo "pod/$from" -- curl -s -m 1 "http://$ip/" | pod_of)" = "$pod" ] && break
    sleep 0.2
  done
  [ "$("$NSLAB" exec k3s -n demo "pod/$from" -- curl -s -m 1 "http://$ip/" | pod_of)" = "$pod" ]
  # every container runs as the pod's one app does: READY 2/2
  [ "$(kc -n shop get pod "$pod" --no-headers | awk '{print $2, $3}')" = "2/2 Running" ]
  # describe pod: the Containers section names each with its image
  run kc -n shop describe pod "$pod"
  [ "$status" -eq 0 ]
  containers=$(echo "$output" | sed -n '/^Containers:/,/^Conditions:/p')
  echo "$containers" | grep -qx '  sidecar:'
  echo "$containers" | grep -qx '  web:'
  [ "$(echo "$containers" | grep -E '^    Image:' | awk '{print $2}' | tr '\n' ' ')" = "busybox:1.36 nginx:1.27 " ]
  [ "$(echo "$containers" | grep -E '^    Image ID:' | awk '{print $3}' | cut -d@ -f1 | tr '\n' ' ')" = "docker.io/library/busybox docker.io/library/nginx " ]
  echo "$containers" | grep -q 'MODE: *shop'
  # kubectl logs: -c names a container; a wrong name is the API server's 400
  run kc -n shop logs "$pod" -c web
  [ "$status" -eq 0 ]
  [[ "$output" == *"listening on"*"80"* ]]
  run kc -n shop logs "$pod" -c nope
  [ "$status" -ne 0 ]
  # (kubectl 1.32 checks the name itself, older ones ask the API server)
  [[ "$output" == "error: container nope is not valid for pod $pod" ||
     "$output" == "Error from server (BadRequest): container nope is not valid for pod $pod" ]]
  # the API server's own answer
  run "$NSLAB" kubectl k3s get --raw "/api/v1/namespaces/shop/pods/$pod/log?container=nope"
  [ "$status" -ne 0 ]
  [[ "$output" == *"container nope is not valid for pod $pod"* ]]
  [[ "$("$NSLAB" kubectl k3s get --raw "/api/v1/namespaces/shop/pods/$pod/log?container=web")" == *"listening on"* ]]
  run "$NSLAB" kubectl k3s get --raw "/api/v1/namespaces/shop/pods/$pod/log"
  [[ "$output" == *"a container name must be specified for pod $pod, choose one of: [sidecar web]"* ]]
  # kubectl logs without -c: the first container, as kubectl says (before
  # 1.21 kubectl asks for one, in the API server's words)
  run kc -n shop logs "$pod"
  [[ "$output" == *'Defaulted container "sidecar" out of: sidecar, web'* ||
     "$output" == "error: a container name must be specified for pod $pod, choose one of: [sidecar web]" ]]
  # applied again: nothing changed
  [ "$(kc apply -f "$BATS_TEST_TMPDIR/shop.yaml")" = "deployment.apps/web unchanged" ]
  # scaled: the new pod is made from the same template
  kc -n shop scale deploy web --replicas=3 > /dev/null
  wait_pods shop app=shop 3
  [ "$(kc -n shop get pods -o jsonpath='{.items[*].spec.containers[*].name}')" = "sidecar web sidecar web sidecar web" ]
  "$NSLAB" down k3s
}

@test "pod template: the seed's web.yaml on a lab without web: its pods are nginx, nginx:1.27-alpine, as on the seed's cluster" {
  mkdir -p "$BATS_TEST_TMPDIR/labs"
  ln -s "$REPO/templates" "$BATS_TEST_TMPDIR/templates"
  awk '/^\[/ { skip = ($0 ~ /^\[(deployment demo\/web|service demo\/web-svc|check )/) } !skip' "$SEED" \
    > "$BATS_TEST_TMPDIR/labs/k3s.ini"
  "$NSLAB" up "$BATS_TEST_TMPDIR/labs/k3s.ini" > /dev/null
  kc create namespace demo > /dev/null
  kc apply -f "$BATS_TEST_DIRNAME/golden-kubectl/web.yaml" > /dev/null
  wait_pods demo app=web 2
  [ "$(kc -n demo get pods -o jsonpath='{.items[*].spec.containers[*].name} {.items[*].spec.containers[*].image}')" = "nginx nginx nginx:1.27-alpine nginx:1.27-alpine" ]
  [ "$(kc -n demo get pods -o jsonpath='{.items[*].status.containerStatuses[*].image}')" = "docker.io/library/nginx:1.27-alpine docker.io/library/nginx:1.27-alpine" ]
  # the deployment, its replicaset and its pods say the same
  [ "$(kc -n demo get rs -o jsonpath='{.items[0].spec.template.spec.containers[0].image}')" = "nginx:1.27-alpine" ]
  pod=$(kc -n demo get pods -o jsonpath='{.items[0].metadata.name}')
  run kc -n demo describe pod "$pod"
  [[ "$output" == *$'\n  nginx:\n'* ]]
  [[ "$output" == *$'\n    Image:          nginx:1.27-alpine\n'* ]]
  [[ "$output" == *'Container image "nginx:1.27-alpine" already present on machine'* ]]
  # one container: kubectl logs needs no -c, and -c nginx is the same
  diff <(kc -n demo logs "$pod") <(kc -n demo logs "$pod" -c nginx)
  [ "$(kc apply -f "$BATS_TEST_DIRNAME/golden-kubectl/web.yaml")" = $'deployment.apps/web unchanged\nservice/web-svc unchanged' ]
  "$NSLAB" down k3s
}

@test "pod template: kubelet's container IDs (containerd://<64 hex>), a new one per start; lastState keeps the old; describe prints them" {
  "$NSLAB" up "$SEED" > /dev/null
  pod=$(kc -n demo get pods -o jsonpath='{.items[0].metadata.name}')
  cid () { kc -n demo get pod "$pod" -o jsonpath="{.status.containerStatuses[0].$1}"; }
  id=$(cid containerID)
  [[ "$id" =~ ^containerd://[0-9a-f]{64}$ ]]
  # one per container start: every pod's differs, and a pod of two containers has two
  [ "$(kc get pods -A -o jsonpath='{range .items[*]}{.status.containerStatuses[*].containerID}{"\n"}{end}' | tr ' ' '\n' | sort -u | grep -c '^containerd://')" \
    = "$(kc get pods -A -o jsonpath='{range .items[*]}{.spec.containers[*].name}{"\n"}{end}' | wc -w)" ]
  # kubectl describe pod (every version's) and nslab describe print it, and containerd's imageID
  image_id=$(cid imageID)
  [[ "$image_id" =~ ^docker\.io/library/nginx@sha256:[0-9a-f]{64}$ ]]
  for d in "kc -n demo describe pod $pod" "$NSLAB describe k3s -n demo pod $pod"; do
    run $d
    [[ "$output" == *$'\n    Container ID:   '"$id"$'\n    Image:          nginx:1.27-alpine\n    Image ID:       '"$image_id"$'\n'* ]]
  done
  # the app killed: kubelet starts a new container, with a new ID; the old
  # one is Last State's
  pause=$(pgrep -xf "nslab-pause k3s demo/$pod")
  app=$(pgrep -P "$pause" | head -1)
  kill -9 "$app"
  for _ in $(seq 100); do [ "$(cid restartCount)" = 1 ] && break; sleep 0.1; done
  new=$(cid containerID)
  [[ "$new" =~ ^containerd://[0-9a-f]{64}$ ]] && [ "$new" != "$id" ]
  [ "$(cid lastState.terminated.containerID)" = "$id" ]
  # the same in the next rounds of the loop: derived, not drawn
  sleep 1
  [ "$(cid containerID)" = "$new" ]
  "$NSLAB" down k3s
}

@test "pod template: the API server's and its admission plugins' pod defaults, for a scenario's pod and kubectl run's, as describe pod shows them" {
  "$NSLAB" up "$SEED" > /dev/null
  kc run tst --image=nginx > /dev/null
  wait_pods default run=tst 1
  web=$(kc -n demo get pods -o jsonpath='{.items[0].metadata.name}')
  fields='{.spec.restartPolicy} {.spec.dnsPolicy} {.spec.terminationGracePeriodSeconds} {.spec.schedulerName} {.spec.securityContext} {.spec.enableServiceLinks} {.spec.serviceAccountName} {.spec.serviceAccount} {.spec.preemptionPolicy} {.spec.priority}'
  for p in "-n demo $web" "tst"; do
    # shellcheck disable=SC2086
    [ "$(kc get pod $p -o jsonpath="$fields")" = "Always ClusterFirst 30 default-scheduler {} true default default PreemptLowerPriority 0" ]
    # shellcheck disable=SC2086
    [ "$(kc get pod $p -o jsonpath='{range .spec.tolerations[*]}{.key}:{.effect}:{.operator}:{.tolerationSeconds} {end}')" = "node.kubernetes.io/not-ready:NoExecute:Exists:300 node.kubernetes.io/unreachable:NoExecute:Exists:300 " ]
    # shellcheck disable=SC2086
    vol=$(kc get pod $p -o jsonpath='{.spec.volumes[0].name}')
    [[ "$vol" =~ ^kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}$ ]]
    # shellcheck disable=SC2086
    [ "$(kc get pod $p -o jsonpath='{.spec.volumes[0].projected.sources[*]}' | jq -sc .)" = '[{"serviceAccountToken":{"expirationSeconds":3607,"path":"token"}},{"configMap":{"items":[{"key":"ca.crt","path":"ca.crt"}],"name":"kube-root-ca.crt"}},{"downwardAPI":{"items":[{"fieldRef":{"apiVersion":"v1","fieldPath":"metadata.namespace"},"path":"namespace"}]}}]' ]
    # shellcheck disable=SC2086
    [ "$(kc get pod $p -o jsonpath='{.spec.containers[0].volumeMounts[0].mountPath} {.spec.containers[0].volumeMounts[0].name} {.spec.containers[0].volumeMounts[0].readOnly}')" = "/var/run/secrets/kubernetes.io/serviceaccount $vol true" ]
    # shellcheck disable=SC2086
    run kc describe pod $p
    [[ "$output" == *$'\n    Mounts:\n      /var/run/secrets/kubernetes.io/serviceaccount from '"$vol"$' (ro)\n'* ]]
    [[ "$output" == *$'\n  '"$vol"$':\n    Type:'*$'Projected (a volume that contains injected data from multiple sources)\n    TokenExpirationSeconds:  3607\n    ConfigMapName:           kube-root-ca.crt\n'* ]]
    [[ "$output" == *$'\nTolerations:                 node.kubernetes.io/not-ready:NoExecute op=Exists for 300s\n                             node.kubernetes.io/unreachable:NoExecute op=Exists for 300s\n'* ]]
  done
  # the token is where the mount says: the pod reads its namespace there
  [ "$("$NSLAB" exec k3s -n demo "pod/$web" -- cat /var/run/secrets/kubernetes.io/serviceaccount/namespace)" = demo ]
  # no resources: BestEffort, in the status and in describe
  [ "$(kc get pod tst -o jsonpath='{.status.qosClass}')" = BestEffort ]
  [[ "$(kc describe pod tst)" == *$'\nQoS Class:                   BestEffort\n'* ]]
  "$NSLAB" down k3s
}

@test "pod template: add-on pods as their manifests and admission make them: coredns's priority class, account, token, dnsPolicy, tolerations, resources (Burstable)" {
  "$NSLAB" up "$SEED" > /dev/null
  dns () { kc -n kube-system get pods -l k8s-app=kube-dns -o jsonpath="$1"; }
  # k3s's manifests/coredns.yaml, then Priority and serviceaccount admission
  [ "$(dns '{.items[0].spec.priorityClassName} {.items[0].spec.priority} {.items[0].spec.preemptionPolicy} {.items[0].spec.serviceAccountName} {.items[0].spec.serviceAccount} {.items[0].spec.dnsPolicy} {.items[0].spec.nodeSelector}')" = 'system-cluster-critical 2000000000 PreemptLowerPriority coredns coredns Default {"kubernetes.io/os":"linux"}' ]
  [ "$(dns '{range .items[0].spec.tolerations[*]}{.key}:{.effect}:{.operator}:{.tolerationSeconds} {end}')" = "CriticalAddonsOnly::Exists: node-role.kubernetes.io/control-plane:NoSchedule:Exists: node-role.kubernetes.io/master:NoSchedule:Exists: node.kubernetes.io/not-ready:NoExecute:Exists:300 node.kubernetes.io/unreachable:NoExecute:Exists:300 " ]
  [ "$(dns '{.items[0].spec.containers[0].resources}' | jq -cS .)" = '{"limits":{"memory":"170Mi"},"requests":{"cpu":"100m","memory":"70Mi"}}' ]
  vol=$(dns '{.items[0].spec.volumes[0].name}')
  [[ "$vol" =~ ^kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}$ ]]
  [ "$(dns '{.items[0].spec.containers[0].volumeMounts[0].mountPath} {.items[0].spec.containers[0].volumeMounts[0].name}')" = "/var/run/secrets/kubernetes.io/serviceaccount $vol" ]
  # requests below the memory limit, no cpu limit: Burstable
  [ "$(dns '{.items[0].status.qosClass}')" = Burstable ]
  run kc -n kube-system describe pod "$(dns '{.items[0].metadata.name}')"
  [[ "$output" =~ $'\n'Priority:\ +2000000000$'\n'Priority\ Class\ Name:\ +system-cluster-critical$'\n' ]] || { echo "$output" >&2; false; }
  [[ "$output" == *$'\n    Limits:\n      memory:  170Mi\n    Requests:\n      cpu:        100m\n      memory:     70Mi\n'* ]] || { echo "$output" >&2; false; }
  [[ "$output" =~ $'\n'QoS\ Class:\ +Burstable$'\n'Node-Selectors:\ +kubernetes.io/os=linux$'\n'Tolerations:\ +CriticalAddonsOnly\ op=Exists$'\n' ]] || { echo "$output" >&2; false; }
  "$NSLAB" down k3s
}
