#!/usr/bin/env bats
# The lab's API server (nslab-apiserver on cp1's INTERNAL-IP:6443) against
# the real kubectl of the machine: seed 001's commands print the seed's
# columns and values (names and IPs as the lab has them, ages aside; the
# golden outputs are in golden-kubectl/, spaces squeezed), writes through
# kubectl reach the lab's kernel, and bad requests get a Status, not a crash.

bats_require_minimum_version 1.5.0

load helpers

GOLD=$BATS_TEST_DIRNAME/golden-kubectl

setup () { kubectl_setup; }

# A golden describe (kubectl 1.32's text) as the kubectl found prints it.
gold_describe () {
  # describe svc reads v1 Endpoints: the server's deprecation warning first
  if [[ $1 == *describe-svc* ]] && kubectl_describe_reads_endpoints "$KMINOR"; then
    echo 'Warning: v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice'
  fi
  old_kubectl_describe "$KMINOR" < "$1"
}

# Ages vary with the run: AGE; kubectl's column padding: one space.
norm () { sed -E 's/\b[0-9]+(s|m[0-9]*s?|h)\b/AGE/g; s/ +/ /g'; }

@test "apiserver: seed 001's kubectl commands print the seed's columns and values" {
  "$NSLAB" up "$SEED" > /dev/null
  diff -u "$GOLD/get-nodes.txt" <(kc get nodes 2>&1 | norm)
  diff -u "$GOLD/get-svc-all-wide.txt" <(kc get svc -A -o wide 2>&1 | norm)
  diff -u "$GOLD/get-demo-deploy-pod-svc-wide.txt" <(kc -n demo get deploy,pod,svc -o wide 2>&1 | norm)
  diff -u "$GOLD/get-endpoints-wide.txt" <(kc get endpoints my-helloworld-rs-service -o wide 2>&1 | norm)
  diff -u "$GOLD/get-pods-selector-wide.txt" <(kc get pods -l app=my-helloworld -o wide 2>&1 | norm)
  diff -u <(gold_describe "$GOLD/describe-svc.txt") <(kc describe svc my-helloworld-rs-service 2>&1 | norm)
  # get nodes -o wide: the seed's header; the nodes run the host's kernel and the flavor's containerd
  run kc get nodes -o wide
  [ "$(echo "${lines[0]}" | tr -s ' ')" = "NAME STATUS ROLES AGE VERSION INTERNAL-IP EXTERNAL-IP OS-IMAGE KERNEL-VERSION CONTAINER-RUNTIME" ]
  [ "$(echo "${lines[1]}" | awk '{print $1, $2, $3, $5, $6, $7, $(NF-1), $NF}')" = "cp1 Ready control-plane v1.34.3+k3s1 192.168.56.10 <none> $(uname -r) containerd://2.1.5-k3s1" ]
  # nslab get prints the same tables from the same code
  diff -u <(kc get svc -A -o wide 2>&1 | norm) <("$NSLAB" get k3s svc -A -o wide 2>&1 | norm)
  diff -u <(kc -n demo get deploy,pod,svc -o wide 2>&1 | norm) <("$NSLAB" get k3s -n demo deploy,pod,svc -o wide 2>&1 | norm)
  diff -u <(kc -n demo get deploy/web 2>&1 | norm) <("$NSLAB" get k3s -n demo deploy/web 2>&1 | norm)
  run "$NSLAB" get k3s pods/nope
  [ "$status" -eq 1 ]
  [ "$output" = 'nslab: Error from server (NotFound): pods "nope" not found' ]
  # -o json, -o yaml, errors as kubectl prints them
  [ "$(kc -n demo get pods -o json | jq '.items | length')" = 2 ]
  kc -n demo get svc web-svc -o yaml | grep -qx '  clusterIP: 10.43.31.179'
  run kc get pod nope
  [ "$status" -eq 1 ]
  [ "$output" = 'Error from server (NotFound): pods "nope" not found' ]
  run kc version
  # kubectl before 1.28 prints the whole version.Info
  [[ "$output" == *"Server Version: v1.34.3+k3s1"* || "$output" == *'Server Version: version.Info{'*'GitVersion:"v1.34.3+k3s1"'* ]]
  # inside the control-plane node kubectl finds the lab on its own, as on the seed's ubuntu@cp1
  run "$NSLAB" exec k3s node/cp1 -- kubectl get pods -l app=my-helloworld -o wide
  [ "$status" -eq 0 ]
  diff -u "$GOLD/get-pods-selector-wide.txt" <(echo "$output" | norm)
  "$NSLAB" down k3s
}

@test "apiserver: kubectl scale, delete and label go through the store and the control loop" {
  "$NSLAB" up "$SEED" > /dev/null
  run kc -n demo scale deploy web --replicas=3
  [ "$output" = "deployment.apps/web scaled" ]
  # the loop adds the pod and the rules follow: curl reaches three pods
  for _ in $(seq 50); do
    [ "$(kc -n demo get endpointslices -o json | jq '[.items[].endpoints[]] | length')" = 3 ] && break
    sleep 0.2
  done
  pod=$(kc -n demo get pods -o name | head -1)
  seen=$(for _ in $(seq 30); do "$NSLAB" exec k3s -n demo "$pod" -- curl -s -m 2 http://10.43.31.179/ | pod_of; done | sort -u | wc -l)
  [ "$seen" = 3 ]
  victim=$(kc -n demo get pods -o jsonpath='{.items[0].metadata.name}')
  run kc -n demo delete pod "$victim"
  [ "$output" = "pod \"$victim\" deleted" ]
  for _ in $(seq 50); do
    names=$(kc -n demo get pods -o jsonpath='{.items[*].metadata.name}')
    [[ " $names " != *" $victim "* ]] && [ "$(echo "$names" | wc -w)" = 3 ] && break
    sleep 0.2
  done
  [[ " $names " != *" $victim "* ]]
  run kc -n demo label deploy web tier=frontend
  [ "$output" = "deployment.apps/web labeled" ]
  [ "$(kc -n demo get deploy web -o jsonpath='{.metadata.labels.tier}')" = frontend ]
  # a pod's label stays through the control loop's rounds (every 100 ms)
  labelled=$(kc -n demo get pods -o jsonpath='{.items[0].metadata.name}')
  run kc -n demo label pod "$labelled" tier=frontend
  [ "$output" = "pod/$labelled labeled" ]
  sleep 0.5
  [ "$(kc -n demo get pods -l tier=frontend -o name)" = "pod/$labelled" ]
  run kc -n demo delete svc web-svc
  [ "$output" = 'service "web-svc" deleted' ]
  for _ in $(seq 50); do
    "$NSLAB" exec k3s node/cp1 -- iptables-save -t nat | grep -q 'demo/web-svc' || break
    sleep 0.2
  done
  ! "$NSLAB" exec k3s node/cp1 -- iptables-save -t nat | grep -q 'demo/web-svc'
  run kc create namespace demo
  [ "$status" -eq 1 ]
  "$NSLAB" down k3s
}

@test "apiserver: HTTPS from a pod to the kubernetes service; malformed bodies get 400/422, the server keeps serving" {
  "$NSLAB" up "$SEED" > /dev/null
  pki=$STATE_ROOT/k3s/pki
  pod=$("$NSLAB" get k3s pods -o json | jq -r '.items[0].metadata.name')
  run "$NSLAB" exec k3s "pod/$pod" -- curl -s --cacert "$pki/ca.crt" https://10.43.0.1/api
  [ "$status" -eq 0 ]
  [ "$(echo "$output" | jq -r .serverAddressByClientCIDRs[0].serverAddress)" = "192.168.56.10:6443" ]
  c () { "$NSLAB" exec k3s host -- curl -s --cacert "$pki/ca.crt" --cert "$pki/client.crt" --key "$pki/client.key" "$@"; }
  api=https://192.168.56.10:6443/apis/apps/v1/namespaces/demo/deployments/web
  for body in '{' '[]' '{"spec":' 'null' "$(head -c 3000 /dev/urandom | base64)" '{"metadata":{"name":"other"}}' \
              '{"spec":{"replicas":-1}}' '{"spec":{"replicas":"x"}}'; do
    code=$(c -o /dev/null -w '%{http_code}' -X PATCH -H 'Content-Type: application/merge-patch+json' --data-binary "$body" "$api")
    [[ "$code" == 400 || "$code" == 422 ]]
  done
  c -X PATCH -H 'Content-Type: application/merge-patch+json' --data-binary '{"spec":{"replicas":-1}}' "$api" |
    jq -e '.kind == "Status" and .reason == "Invalid" and .code == 422'
  [ "$(c -o /dev/null -w '%{http_code}' -X PUT -d '{}' https://192.168.56.10:6443/api/v1/namespaces/demo/pods)" = 405 ]
  [ "$(c -o /dev/null -w '%{http_code}' https://192.168.56.10:6443/api/v1/frobs)" = 404 ]
  # kube-apiserver's health endpoints, without credentials, as a load balancer asks them
  for h in healthz livez readyz; do
    [ "$("$NSLAB" exec k3s host -- curl -s --cacert "$pki/ca.crt" "https://192.168.56.10:6443/$h")" = ok ]
    [ "$(kc get --raw "/$h")" = ok ]
  done
  [ "$(kc -n demo get deploy web -o jsonpath='{.spec.replicas}')" = 2 ]
  "$NSLAB" down k3s
}

# The seed lab without demo/web and demo/web-svc (and its checks, which name them).
lab_without_web () {
  mkdir -p "$BATS_TEST_TMPDIR/labs"
  [ -e "$BATS_TEST_TMPDIR/templates" ] || ln -s "$REPO/templates" "$BATS_TEST_TMPDIR/templates"
  awk '/^\[/ { skip = ($0 ~ /^\[(deployment demo\/web|service demo\/web-svc|check )/) } !skip' "$SEED" \
    > "$BATS_TEST_TMPDIR/labs/k3s.ini"
  echo "$BATS_TEST_TMPDIR/labs/k3s.ini"
}

@test "apiserver: the seed's web.yaml applied verbatim creates web (2 pods behind web-svc); again: unchanged" {
  "$NSLAB" up "$(lab_without_web)" > /dev/null
  run kc apply -f "$GOLD/web.yaml"
  [ "$status" -eq 1 ]
  [[ "$output" == *'namespaces "demo" not found'* ]]
  [ "$(kc create namespace demo)" = "namespace/demo created" ]
  run kc create namespace demo
  [ "$output" = 'Error from server (AlreadyExists): namespaces "demo" already exists' ]
  run kc apply -f "$GOLD/web.yaml"
  [ "$status" -eq 0 ]
  [ "$output" = $'deployment.apps/web created\nservice/web-svc created' ]
  ip=$(kc -n demo get svc web-svc -o jsonpath='{.spec.clusterIP}')
  pod=$(kc get pods -o jsonpath='{.items[0].metadata.name}')
  for _ in $(seq 100); do
    seen=$(for _ in $(seq 20); do "$NSLAB" exec k3s "pod/$pod" -- curl -s -m 1 "http://$ip/" | pod_of; done | sort -u | wc -l)
    [ "$seen" = 2 ] && break
    sleep 0.2
  done
  [ "$seen" = 2 ]
  run kc -n demo get deploy web -o wide
  [ "$(echo "${lines[1]}" | awk '{print $1, $2, $6, $7, $8}')" = "web 2/2 nginx nginx:1.27-alpine app=web" ]
  run kc apply -f "$GOLD/web.yaml"
  [ "$output" = $'deployment.apps/web unchanged\nservice/web-svc unchanged' ]
  # a Namespace manifest; a namespace's labels and annotations as kubectl writes them
  printf 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: tools\n' > "$BATS_TEST_TMPDIR/ns.yaml"
  [ "$(kc apply -f "$BATS_TEST_TMPDIR/ns.yaml")" = "namespace/tools created" ]
  [ "$(kc label ns demo tier=web)" = "namespace/demo labeled" ]
  # (kubectl 1.27 prints "annotate": its PrintFlags("annotate"), k8s.io/kubectl v0.27's annotate.go; 1.28 put "annotated" back)
  [ "$(kc annotate ns demo note=kept)" = "namespace/demo annotate$([ "$KMINOR" = 27 ] || echo d)" ]
  # a Pod manifest: the pod keeps the client's containers through the loop's rounds
  printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers:\n  - name: x\n    image: busybox\n    command: ["sleep", "3600"]\n' \
    > "$BATS_TEST_TMPDIR/pod.yaml"
  [ "$(kc apply -f "$BATS_TEST_TMPDIR/pod.yaml")" = "pod/x created" ]
  # kubectl create deployment, expose, run; an invalid object is a 422 naming the field
  [ "$(kc create deployment myapp --image=nginx --port=8080)" = "deployment.apps/myapp created" ]
  [ "$(kc expose deployment myapp --port=80 --target-port=8080 --name=myapp-svc)" = "service/myapp-svc exposed" ]
  [ "$(kc run tools --image=busybox -- sleep 3600)" = "pod/tools created" ]
  ip=$(kc get svc myapp-svc -o jsonpath='{.spec.clusterIP}')
  for _ in $(seq 100); do
    "$NSLAB" exec k3s pod/tools -- curl -s -m 1 "http://$ip/" | pod_of | grep -q '^myapp-' && break
    sleep 0.2
  done
  "$NSLAB" exec k3s pod/tools -- curl -s -m 1 "http://$ip/" | pod_of | grep -q '^myapp-'
  # the loop's rounds since (myapp's pods) kept them
  [ "$(kc apply -f "$BATS_TEST_TMPDIR/ns.yaml")" = "namespace/tools unchanged" ]
  [ "$(kc apply -f "$BATS_TEST_TMPDIR/pod.yaml")" = "pod/x unchanged" ]
  [ "$(kc get pod x -o jsonpath='{.spec.containers[*].name} {.spec.containers[0].image} {.status.containerStatuses[*].name}')" = "x busybox x" ]
  # no app runs in it (busybox): its container started with the pod, not at the epoch
  [ "$(kc get pod x -o jsonpath='{.status.containerStatuses[0].state.running.startedAt}')" = "$(kc get pod x -o jsonpath='{.status.startTime}')" ]
  [ "$(kc get ns demo -o jsonpath='{.metadata.labels.tier} {.metadata.annotations.note}')" = "web kept" ]
  run kc create service clusterip bad --tcp=70000:80
  [ "$status" -ne 0 ]
  # the scenario the lab keeps has them, as sections made through the API
  grep -qx '\[deployment demo/web\]' "$STATE_ROOT/k3s/scenario/k3s.ini"
  "$NSLAB" down k3s
}

@test "apiserver: a manifest's securityContext (capabilities.add, privileged) is the pod app's capabilities" {
  "$NSLAB" up "$SEED" > /dev/null
  pods=""
  for p in netadmin:'{"capabilities":{"add":["NET_ADMIN"]}}' priv:'{"privileged":true}' plain:'{}'; do
    pods+=$(printf -- '---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\nspec:\n  containers:\n  - name: web\n    image: nginx\n    securityContext: %s\n' "${p%%:*}" "${p#*:}")$'\n'
  done
  echo "$pods" > "$BATS_TEST_TMPDIR/pods.yaml"
  [ "$(kc apply -f "$BATS_TEST_TMPDIR/pods.yaml")" = $'pod/netadmin created\npod/priv created\npod/plain created' ]
  # The app (the echo server the pause process forked), seen from outside:
  # containerd's default set, plus NET_ADMIN (bit 12), or all of them.
  app_caps () {
    local pause app
    pause=$(pgrep -xf "nslab-pause k3s default/$1") && app=$(pgrep -P "$pause" -f "^nslab-echo") &&
      grep CapEff "/proc/$app/status" | cut -f2
  }
  for _ in $(seq 100); do
    [ -n "$(app_caps netadmin)" ] && [ -n "$(app_caps priv)" ] && [ -n "$(app_caps plain)" ] && break
    sleep 0.2
  done
  [ "$(app_caps netadmin)" = 00000000a80435fb ]
  [ "$(app_caps priv)" = "$(grep CapEff /proc/self/status | cut -f2)" ]
  [ "$(app_caps plain)" = 00000000a80425fb ]
  # what the pod runs (nslab exec, kubectl exec) has them too: ip link add only with NET_ADMIN
  "$NSLAB" exec k3s pod/netadmin -- ip link add x0 type bridge
  "$NSLAB" exec k3s pod/priv -- ip link add x0 type bridge
  run "$NSLAB" exec k3s pod/plain -- ip link add x0 type bridge
  [ "$status" -ne 0 ]
  [[ "$output" == *"Operation not permitted"* ]]
  # the API shows them as written; applied again: unchanged
  [ "$(kc get pod netadmin priv -o jsonpath='{.items[*].spec.containers[0].securityContext}')" = '{"capabilities":{"add":["NET_ADMIN"]}} {"privileged":true}' ]
  [ "$(kc apply -f "$BATS_TEST_TMPDIR/pods.yaml")" = $'pod/netadmin unchanged\npod/priv unchanged\npod/plain unchanged' ]
  "$NSLAB" down k3s
}

@test "apiserver: [images] maps an image kubectl run names to its app (myapp = http:9000)" {
  mkdir -p "$BATS_TEST_TMPDIR/labs"
  ln -s "$REPO/templates" "$BATS_TEST_TMPDIR/templates"
  { cat "$SEED"; printf '[images]\nmyapp = http:9000\n'; } > "$BATS_TEST_TMPDIR/labs/k3s.ini"
  "$NSLAB" up "$BATS_TEST_TMPDIR/labs/k3s.ini" > /dev/null
  [ "$(kc run x --image=example.com/team/myapp:1.2)" = "pod/x created" ]
  # the kept scenario's section names the image (and kubectl run's container name): the image
  # gives the mapped app, so no app key
  [ "$(grep -A4 -x '\[pod default/x\]' "$STATE_ROOT/k3s/scenario/k3s.ini" | sed -n '3,5p')" = $'image = example.com/team/myapp:1.2\ncontainer = x' ]
  from=$(kc -n demo get pods -o jsonpath='{.items[0].metadata.name}')
  for _ in $(seq 100); do
    ip=$(kc get pod x -o jsonpath='{.status.podIP}')
    [ -n "$ip" ] && [ "$("$NSLAB" exec k3s -n demo "pod/$from" -- curl -s -m 1 "http://$ip:9000/" | pod_of)" = x ] && break
    sleep 0.2
  done
  [ "$("$NSLAB" exec k3s -n demo "pod/$from" -- curl -s -m 1 "http://$ip:9000/" | pod_of)" = x ]
  # nothing maps busybox: no app, nothing listens
  [ "$(kc run y --image=busybox -- sleep 3600)" = "pod/y created" ]
  [ "$(grep -A4 -x '\[pod default/y\]' "$STATE_ROOT/k3s/scenario/k3s.ini" | sed -n '3,5p')" = $'image = busybox\ncontainer = y' ]
  # a containerPort the image's entry does not give: app says it
  [ "$(kc create deployment z --image=example.com/team/myapp:1.2 --port=8443)" = "deployment.apps/z created" ]
  [ "$(grep -A4 -x '\[deployment default/z\]' "$STATE_ROOT/k3s/scenario/k3s.ini" | sed -n '4,6p')" = $'image = example.com/team/myapp:1.2\napp = http:8443' ]
  "$NSLAB" down k3s
}

@test "apiserver: kubectl create deployment's and kubectl run's sections keep their image through nslab apply and a new up of the file" {
  "$NSLAB" up "$(make_lab k3s 56)" > /dev/null
  [ "$(kc create deployment hello --image=nginx:1.27)" = "deployment.apps/hello created" ]
  [ "$(kc run tst --image=nginx)" = "pod/tst created" ]
  images () {
    kc get pods -l "$1" -o jsonpath='{range .items[*]}{.spec.containers[*].name}={.spec.containers[*].image} {end}'
  }
  wait_images () {
    for _ in $(seq 100); do [ "$(images "$1")" = "$2" ] && return 0; sleep 0.2; done
    images "$1"; return 1
  }
  wait_images app=hello 'nginx=nginx:1.27 '
  wait_images run=tst 'tst=nginx '
  # the file, its hello scaled to 2, applied: the new pod has the image too
  cp "$STATE_ROOT/k3s/scenario/k3s.ini" "$BATS_TEST_TMPDIR/labs/k3s.ini"
  sed -i '/^\[deployment default\/hello\]/,/^\[/ s/^replicas = 1$/replicas = 2/' "$BATS_TEST_TMPDIR/labs/k3s.ini"
  "$NSLAB" apply "$BATS_TEST_TMPDIR/labs/k3s.ini" > /dev/null
  wait_images app=hello 'nginx=nginx:1.27 nginx=nginx:1.27 '
  # and a new lab from it has the same pods
  "$NSLAB" down k3s
  "$NSLAB" up "$BATS_TEST_TMPDIR/labs/k3s.ini" > /dev/null
  wait_images app=hello 'nginx=nginx:1.27 nginx=nginx:1.27 '
  wait_images run=tst 'tst=nginx '
  "$NSLAB" down k3s
}

@test "apiserver: kubectl logs" {
  "$NSLAB" up "$SEED" > /dev/null
  pod=$(kc -n demo get pods -o jsonpath='{.items[0].metadata.name}')
  run kc -n demo logs "$pod"
  [[ "$output" == *"listening on"*"80"* ]]
  run kc -n demo logs "$pod" --tail=1
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 1 ]
  # a deployment's logs are one of its pods'
  run kc -n demo logs deploy/web
  [[ "$output" == *"listening on"*"80"* ]]
  "$NSLAB" down k3s
}

# kubectl 1.30 and later speak WebSocket (v5.channel.k8s.io) for exec,
# earlier ones SPDY/3.1 (v4.channel.k8s.io): the same session either way.
@test "apiserver: kubectl exec passes output, stdin, a terminal and the exit code (WebSocket or SPDY by kubectl's version)" {
  "$NSLAB" up "$SEED" > /dev/null
  pod=$(kc -n demo get pods -o jsonpath='{.items[0].metadata.name}')
  ip=$(kc -n demo get pod "$pod" -o jsonpath='{.status.podIP}')
  run kc -n demo exec "$pod" -- ip -br addr
  [ "$status" -eq 0 ]
  [[ "$output" == *"eth0@"*" UP "*"$ip/24"* ]]
  run kc -n demo exec "$pod" -- sh -c 'exit 3'
  [ "$status" -eq 3 ]
  # stdout and stderr on their own streams
  rc=0
  kc -n demo exec "$pod" -- sh -c 'echo out; echo err >&2; exit 3' > "$BATS_TEST_TMPDIR/o" 2> "$BATS_TEST_TMPDIR/e" || rc=$?
  [ "$rc" -eq 3 ]
  [ "$(cat "$BATS_TEST_TMPDIR/o")" = out ]
  [ "$(head -1 "$BATS_TEST_TMPDIR/e")" = err ]
  grep -q "command terminated with exit code 3" "$BATS_TEST_TMPDIR/e"
  [ "$(echo hello | kc -n demo exec -i "$pod" -- cat)" = hello ]
  # stdin larger than a SPDY window, both ways
  head -c 300000 /dev/urandom | base64 -w 76 > "$BATS_TEST_TMPDIR/in"
  [ "$(kc -n demo exec -i "$pod" -- sha256sum < "$BATS_TEST_TMPDIR/in" | cut -d' ' -f1)" = \
    "$(sha256sum < "$BATS_TEST_TMPDIR/in" | cut -d' ' -f1)" ]
  # a large output arrives whole: 1.2 MB, far past the 64 KiB windows
  [ "$(kc -n demo exec "$pod" -- seq 200000 | sha256sum)" = "$(seq 200000 | sha256sum)" ]
  # a terminal: its size (kubectl sends script's 50x132), and the exit code through it
  run script -qec "stty rows 50 cols 132; $NSLAB kubectl k3s -n demo exec -it $pod -- sh -c 'stty size; tty; exit 4'" /dev/null
  [ "$status" -eq 4 ]
  [[ "$output" == *"50 132"* ]]
  [[ "$output" == *"/dev/pts/"* ]]
  # typed input through the terminal
  run script -qec "$NSLAB kubectl k3s -n demo exec -it $pod -- sh -c 'read x; echo typed-\$x; exit 5'" /dev/null <<< 42
  [ "$status" -eq 5 ]
  [[ "$output" == *"typed-42"* ]]
  # as runc starts a container's process: it leads a session whose
  # controlling terminal is the pty, and is its foreground group (pid,
  # process group, session and terminal's group the same, in the pod)
  run script -qec "$NSLAB kubectl k3s -n demo exec -it $pod -- awk '{ print \"ids\", \$1, \$5, \$6, \$8 }' /proc/self/stat" /dev/null
  [ "$status" -eq 0 ]
  [[ "$output" =~ ids\ ([0-9]+)\ ([0-9]+)\ ([0-9]+)\ ([0-9]+) ]]
  [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ] && [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[3]}" ] && [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[4]}" ]
  # so an interactive shell has job control, and its `exit 5` is the exit
  # code (a shell without its own group failed restoring the terminal's)
  run script -qec "$NSLAB kubectl k3s -n demo exec -it $pod -- sh" /dev/null < <(sleep 1; echo 'echo typed-$((40+2))'; sleep 0.5; echo 'exit 5'; sleep 3)
  [ "$status" -eq 5 ]
  [[ "$output" == *"typed-42"* ]]
  [[ "$output" != *"process group"* && "$output" != *"access tty"* ]]
  run kc -n demo exec nope -- true
  [ "$output" = 'Error from server (NotFound): pods "nope" not found' ]
  # the SPDY upgrade as the kubelet answers it: the client's first known
  # stream protocol, 403 when none is known, 400 without any
  pki=$STATE_ROOT/k3s/pki
  spdy () { "$NSLAB" exec k3s host -- curl -s -i --max-time 1 --cacert "$pki/ca.crt" --cert "$pki/client.crt" \
    --key "$pki/client.key" -X POST -H 'Connection: Upgrade' -H 'Upgrade: SPDY/3.1' "$@" \
    "https://192.168.56.10:6443/api/v1/namespaces/demo/pods/$pod/exec?command=true&stdout=true" | tr -d '\r'; }
  run spdy -H 'X-Stream-Protocol-Version: v5.channel.k8s.io' -H 'X-Stream-Protocol-Version: v3.channel.k8s.io'
  [[ "$output" == "HTTP/1.1 101 Switching Protocols"* ]]
  grep -qix 'connection: upgrade' <<< "$output"
  grep -qx 'Upgrade: SPDY/3.1' <<< "$output"
  grep -qx 'X-Stream-Protocol-Version: v3.channel.k8s.io' <<< "$output"
  run spdy -H 'X-Stream-Protocol-Version: v9.channel.k8s.io'
  [[ "$output" == "HTTP/1.1 403 Forbidden"* ]]
  grep -qx 'X-Accepted-Stream-Protocol-Versions: channel.k8s.io' <<< "$output"
  [[ "$output" == *"unable to negotiate protocol: client supports [v9.channel.k8s.io], server accepts [v4.channel.k8s.io v3.channel.k8s.io v2.channel.k8s.io channel.k8s.io]"* ]]
  run spdy
  [[ "$output" == "HTTP/1.1 400 Bad Request"*"X-Stream-Protocol-Version is required"* ]]
  # no exec session is left running
  ! pgrep -f "nslab exec k3s -n demo pod/$pod" > /dev/null
  "$NSLAB" down k3s
}

@test "apiserver: #8's Services as kubectl shows them: EXTERNAL-IP (servicelb, externalIPs), headless, traffic policies, kube-dns" {
  mkdir -p "$BATS_TEST_TMPDIR/labs"
  ln -s "$REPO/templates" "$BATS_TEST_TMPDIR/templates"
  { cat "$REPO/labs/k3s-services.ini"
    printf '[service default/web-headless]\nselector = app=web\nports = http:80->8080\ncluster_ip = None\n'
  } > "$BATS_TEST_TMPDIR/labs/svc.ini"
  "$NSLAB" up "$BATS_TEST_TMPDIR/labs/svc.ini" > /dev/null
  k () { "$NSLAB" kubectl svc "$@"; }
  row () { k get svc -A -o wide | awk -v ns="$1" -v n="$2" '$1 == ns && $2 == n { $7 = "AGE"; print }'; }
  # seed 001: traefik's EXTERNAL-IP is the nodes' INTERNAL-IPs (k3s servicelb), joined by commas
  [ "$(row kube-system traefik)" = "kube-system traefik LoadBalancer 10.43.121.230 192.168.56.10,192.168.56.11 80:31300/TCP,443:31309/TCP AGE app.kubernetes.io/instance=traefik-kube-system,app.kubernetes.io/name=traefik" ]
  [ "$(row kube-system kube-dns)" = "kube-system kube-dns ClusterIP 10.43.0.10 <none> 53/UDP,53/TCP,9153/TCP AGE k8s-app=kube-dns" ]
  [ "$(row default web-ext | awk '{print $3, $5, $6}')" = "ClusterIP 192.168.56.11 9090/TCP" ]
  [ "$(row default web-headless | awk '{print $3, $4, $5}')" = "ClusterIP None <none>" ]
  # the coredns pod is kube-dns's endpoint
  dns_ip=$(k -n kube-system get pods -l k8s-app=kube-dns -o jsonpath='{.items[0].status.podIP}')
  [ "$(k -n kube-system get endpointslices -l kubernetes.io/service-name=kube-dns -o jsonpath='{.items[0].endpoints[0].addresses[0]}')" = "$dns_ip" ]
  # describe: the lines kubectl prints from the #8 fields
  run k describe svc web-lb
  [ "$status" -eq 0 ]
  d=$(echo "$output" | tr -s ' ')
  # externalTrafficPolicy Local: servicelb lists only w1, the node with web's endpoint
  [[ "$d" == *$'\nLoadBalancer Ingress: 192.168.56.11\n'* ]]
  [[ "$d" == *$'\nExternal Traffic Policy: Local\n'* ]]
  hc=$(k get svc web-lb -o jsonpath='{.spec.healthCheckNodePort}')
  [ "$hc" -ge 30000 ] && [ "$hc" -le 32767 ]
  [[ "$d" == *$'\nHealthCheck NodePort: '"$hc"$'\n'* ]]
  [[ "$d" == *$'\nLoadBalancer Source Ranges: 192.168.56.1/32\n'* ]]
  # kubectl prints the internal traffic policy since 1.22
  # (kubectl prints a service's internal traffic policy from 1.31 on)
  [ "$KMINOR" -lt 31 ] || [[ "$(k describe svc web-itp | tr -s ' ')" == *$'\nInternal Traffic Policy: Local\n'* ]]
  [[ "$(k describe svc web-headless | tr -s ' ')" == *$'\nIP: None\nIPs: None\n'* ]]
  [[ "$(k describe svc web-ext | tr -s ' ')" == *$'\nExternal IPs: 192.168.56.11\n'* ]]
  "$NSLAB" down svc
}

@test "apiserver: kubectl describe deployment, pod and node print what a cluster's do (seed 001's describe deploy; events by involvedObject; node leases)" {
  "$NSLAB" up "$SEED" > /dev/null
  kc -n demo scale deploy web --replicas=3 > /dev/null
  for _ in $(seq 50); do
    [ "$(kc -n demo get deploy web -o jsonpath='{.status.availableReplicas}')" = 3 ] && break
    sleep 0.2
  done
  # seed 001's `kubectl -n demo describe deploy web`, line for line (the lab's image, 3 replicas)
  diff -u <(gold_describe "$GOLD/describe-deploy.txt") <(kc -n demo describe deploy web | sed -E 's/^(CreationTimestamp: *).*/\1TIME/' | norm)
  # the new pod's events, found by kubectl's involvedObject field selector
  new=$(kc -n demo get events --field-selector reason=Scheduled -o jsonpath='{.items[0].involvedObject.name}')
  node=$(kc -n demo get pod "$new" -o jsonpath='{.spec.nodeName}')
  run kc -n demo describe pod "$new"
  [ "$status" -eq 0 ]
  d=$(echo "$output" | tr -s ' ')
  [[ "$d" == *$'\nControlled By: ReplicaSet/web-8597f6f985\n'* ]]
  [[ "$d" == *$'\n Normal Scheduled '*' default-scheduler Successfully assigned demo/'"$new to $node"$'\n'* ]]
  [[ "$d" == *$'\n Normal Started '*' kubelet Started container nginx'* ]]
  # describe node: the lease kubelet renews, its conditions, the machine's capacity and the node's pods
  run kc describe node w1
  [ "$status" -eq 0 ]
  d=$(echo "$output" | tr -s ' ')
  [[ "$d" == *$'\nLease:\n HolderIdentity: w1\n AcquireTime: <unset>\n RenewTime: '* ]]
  [[ "$d" == *$'\n MemoryPressure False '*' KubeletHasSufficientMemory kubelet has sufficient memory available'* ]]
  [[ "$d" == *$'\n Ready True '*' KubeletReady kubelet is posting ready status'* ]]
  [[ "$d" == *$'\nCapacity:\n cpu: '"$(getconf _NPROCESSORS_ONLN)"$'\n'* ]]
  [[ "$d" != *"-9223372036854775808"* ]]
  pods=$(kc get pods -A --field-selector spec.nodeName=w1 -o name | wc -l)
  [[ "$d" == *$'\nNon-terminated Pods: ('"$pods"$' in total)\n'* ]]
  [ "$(kc -n kube-node-lease get leases -o jsonpath='{.items[*].spec.holderIdentity}')" = "cp1 w1 w2" ]
  run kc -n kube-node-lease delete lease w1
  [ "$status" -ne 0 ]
  "$NSLAB" down k3s
}

@test "apiserver: every pod has kubelet's service account dir; in-pod kubectl and curl reach https://kubernetes.default with it" {
  "$NSLAB" up "$SEED" > /dev/null
  sa=/var/run/secrets/kubernetes.io/serviceaccount
  pod=$(kc -n demo get pods -o jsonpath='{.items[0].metadata.name}')
  pe () { "$NSLAB" exec k3s -n demo "pod/$pod" -- "$@"; }
  [ "$(pe cat $sa/namespace)" = demo ]
  pe cmp -s $sa/ca.crt "$STATE_ROOT/k3s/pki/ca.crt"
  [ -n "$(pe cat $sa/token)" ]
  # read-only, as kubelet mounts it
  run pe touch $sa/x
  [ "$status" -ne 0 ]
  # the client-go way: the variables kubelet sets, the CA and the bearer token; the service's DNS name
  [ "$(pe sh -c 'echo $KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT')" = "10.43.0.1:443" ]
  # the same whichever way the pod is named (the guide's deploy/web), and
  # the control-plane node's kubeconfig under kubectl's other node names
  [ "$("$NSLAB" exec k3s -n demo deploy/web -- sh -c 'echo $KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT')" = "10.43.0.1:443" ]
  [ "$("$NSLAB" exec k3s no/cp1 -- sh -c 'echo $KUBECONFIG')" = "$STATE_ROOT/k3s/kubeconfig.yaml" ]
  run pe sh -c "curl -s --cacert $sa/ca.crt -H \"Authorization: Bearer \$(cat $sa/token)\" https://kubernetes.default.svc.cluster.local/api/v1/namespaces/demo/pods"
  [ "$status" -eq 0 ]
  [ "$(echo "$output" | jq '.items | length')" = 2 ]
  # kubectl inside the pod uses the in-cluster config (no kubeconfig)
  run pe env -u KUBECONFIG HOME="$BATS_TEST_TMPDIR" kubectl get pods -o name
  [ "$status" -eq 0 ]
  [ "$(echo "$output" | sort)" = "$(kc -n demo get pods -o name | sort)" ]
  # kube-system's coredns pod, and a pod made through the API later, have theirs
  dns=$(kc -n kube-system get pods -l k8s-app=kube-dns -o jsonpath='{.items[0].metadata.name}')
  [ "$("$NSLAB" exec k3s -n kube-system "pod/$dns" -- cat $sa/namespace)" = kube-system ]
  kc run tools --image=busybox -- sleep 3600 > /dev/null
  for _ in $(seq 50); do "$NSLAB" exec k3s pod/tools -- true 2>/dev/null && break; sleep 0.2; done
  [ "$("$NSLAB" exec k3s pod/tools -- cat $sa/namespace)" = default ]
  # made in the pods' mount namespaces only: the machine's /run gained nothing
  [ ! -e /run/secrets ]
  # one directory per namespace, shared by its pods, none half made
  [ "$(cd "$STATE_ROOT/k3s/files" && ls -d .serviceaccount-* | tr '\n' ' ')" = ".serviceaccount-default .serviceaccount-demo .serviceaccount-kube-system " ]
  [ "$(cat "$STATE_ROOT/k3s/files/.serviceaccount-demo/namespace")" = demo ]
  "$NSLAB" down k3s
}

@test "apiserver: kubectl get -w streams ADDED, MODIFIED and DELETED as the store moves; rollout status watches" {
  "$NSLAB" up "$SEED" > /dev/null
  out=$BATS_TEST_TMPDIR/watch
  timeout 30 "$NSLAB" kubectl k3s -n demo get pods -w --output-watch-events > "$out" 2>&1 &
  wpid=$!
  for _ in $(seq 50); do [ "$(grep -c '^ADDED' "$out")" -ge 2 ] && break; sleep 0.1; done
  [ "$(grep -c '^ADDED' "$out")" = 2 ]
  victim=$(kc -n demo get pods -o jsonpath='{.items[0].metadata.name}')
  kc -n demo scale deploy web --replicas=3 > /dev/null
  for _ in $(seq 50); do
    [ "$(kc -n demo get deploy web -o jsonpath='{.status.availableReplicas}')" = 3 ] && break
    sleep 0.2
  done
  kc -n demo delete pod "$victim" > /dev/null
  for _ in $(seq 100); do
    [ "$(grep -c '^ADDED' "$out")" -ge 4 ] && grep -q "^DELETED *$victim " "$out" && break
    sleep 0.1
  done
  kill "$wpid" 2>/dev/null || true
  wait "$wpid" || true
  cat "$out" >&2
  # the two pods the loop made, each ADDED (then MODIFIED once ready), the deleted one DELETED, nothing else
  [ "$(grep -c '^ADDED' "$out")" = 4 ]
  grep -q "^DELETED *$victim " "$out"
  [ "$(grep -vcE '^(EVENT|ADDED|MODIFIED|DELETED) ' "$out")" = 0 ]
  [ "$(kc -n demo get pods -o name | wc -l)" = 3 ]
  # the raw stream: one JSON event a line, after the list's resourceVersion
  rv=$(kc get --raw /api/v1/namespaces/demo/pods | jq -r .metadata.resourceVersion)
  [ "$rv" -gt 0 ]
  # timeoutSeconds is only the bound: the stream is read until the pod's
  # DELETED arrives (its termination takes seconds on a loaded machine).
  # nslab itself in the background, not the kc function's subshell: the
  # kill below reaches kubectl through nslab exec's relay
  "$NSLAB" kubectl k3s -n demo get --raw "/api/v1/namespaces/demo/pods?watch=true&resourceVersion=$rv&timeoutSeconds=60" > "$out.raw" &
  rpid=$!
  sleep 0.5
  kc -n demo label deploy web tier=frontend > /dev/null
  kc -n demo scale deploy web --replicas=2 > /dev/null
  for _ in $(seq 300); do
    grep -q '"type":"DELETED"' "$out.raw" && break
    sleep 0.1
  done
  sleep 0.5
  kill "$rpid" 2>/dev/null || true
  wait "$rpid" || true
  # scaled down: one pod DELETED, as the object was; the label is the deployment's, no pod event
  [ "$(jq -r 'select(.type == "DELETED") | .object.kind' "$out.raw")" = Pod ]
  [ "$(jq -r 'select(.type == "ADDED") | .type' "$out.raw")" = "" ]
  # kubectl rollout status reads the deployment through a watch
  run timeout 60 "$NSLAB" kubectl k3s -n demo rollout status deploy/web
  [ "$status" -eq 0 ] && [ "$output" = 'deployment "web" successfully rolled out' ] ||
    { echo "rollout status: $status: $output" >&2; kc -n demo get deploy web -o json >&2; false; }
  "$NSLAB" down k3s
}

@test "apiserver: a watch outlasts a store it cannot read for a moment; past 3 s it ends with kube-apiserver's ERROR event, logged" {
  "$NSLAB" up "$SEED" > /dev/null
  db=$STATE_ROOT/k3s/store.db
  hide () { sqlite3 -cmd '.timeout 10000' "$db" "UPDATE meta SET key = 'hidden' WHERE key = 'resourceVersion'"; }
  unhide () { sqlite3 -cmd '.timeout 10000' "$db" "UPDATE meta SET key = 'resourceVersion' WHERE key = 'hidden'"; }
  out=$BATS_TEST_TMPDIR/raw
  log=$BATS_TEST_TMPDIR/raw.log
  rv=$(kc get --raw /api/v1/namespaces/demo/pods | jq -r .metadata.resourceVersion)
  "$NSLAB" kubectl k3s -v=6 -n demo get --raw "/api/v1/namespaces/demo/pods?watch=true&resourceVersion=$rv&timeoutSeconds=60" > "$out" 2> "$log" &
  rpid=$!
  # The watch is open once kubectl has the answer's header (its -v=6 line
  # "GET ... 200 OK in N milliseconds"). A guessed half second can be too
  # short for a kubectl starting on a loaded machine: its request would
  # come while the store is hidden, and no event would ever reach it.
  for _ in $(seq 100); do grep -q ' 200 OK in ' "$log" && break; sleep 0.1; done
  grep -q ' 200 OK in ' "$log"
  # a second without the store: logged, the stream goes on
  hide
  sleep 1
  unhide
  kc -n demo scale deploy web --replicas=3 > /dev/null
  for _ in $(seq 100); do grep -q '"type":"ADDED"' "$out" && break; sleep 0.1; done
  grep -q '"type":"ADDED"' "$out"
  kill -0 "$rpid"
  grep -q '^watch /api/v1/namespaces/demo/pods: .*resourceVersion' "$STATE_ROOT/k3s/logs/apiserver.log"
  # longer: the ERROR event, a Status, ends the stream (kubectl's read ends cleanly)
  hide
  for _ in $(seq 100); do kill -0 "$rpid" 2>/dev/null || break; sleep 0.1; done
  unhide
  wait "$rpid"
  last=$(tail -n 1 "$out")
  [ "$(jq -r .type <<< "$last")" = ERROR ]
  [ "$(jq -r '.object | "\(.kind) \(.status) \(.reason) \(.code)"' <<< "$last")" = "Status Failure InternalError 500" ]
  jq -r .object.message <<< "$last" | grep -q resourceVersion
  # every line before it a pod's event
  [ "$(head -n -1 "$out" | jq -r '.object.kind' | sort -u)" = Pod ]
  # the server keeps serving
  [ "$(kc -n demo get pods -o name | wc -l)" = 3 ]
  "$NSLAB" down k3s
}
