#!/usr/bin/env bats
# Deployment rolling updates, as kube-controller-manager's deployment
# controller does them (pkg/controller/deployment rolling.go): a changed pod
# template gets a new ReplicaSet, scaled up while the old one is scaled down
# within maxSurge/maxUnavailable (25 %/25 %: for 2 replicas one pod more,
# none unavailable), one step per sync, gated by the new pods' readiness;
# the old ReplicaSet stays at 0; a template changed back reuses it.

bats_require_minimum_version 1.5.0

load helpers

setup () {
  common_setup
  command -v kubectl >/dev/null || skip "no kubectl on this machine (Debian: kubernetes-client)"
  export HOME=$BATS_TEST_TMPDIR   # kubectl's discovery cache
}

kc () { "$NSLAB" kubectl k3s "$@"; }

# The seed's web.yaml with an env var added to its container.
web_with_env () {
  sed 's/^\(          image: nginx:1.27-alpine\)$/\1\n          env:\n            - name: COLOR\n              value: blue/' \
    "$BATS_TEST_DIRNAME/golden-kubectl/web.yaml" > "$BATS_TEST_TMPDIR/web-blue.yaml"
  grep -q 'value: blue' "$BATS_TEST_TMPDIR/web-blue.yaml"
  echo "$BATS_TEST_TMPDIR/web-blue.yaml"
}

# Curl web-svc's ClusterIP from the my-helloworld pod until stopped; every
# answer's HTTP code (000: none) goes to $CODES.
start_curl_loop () {
  local ip pod
  ip=$(kc -n demo get svc web-svc -o jsonpath='{.spec.clusterIP}')
  pod=$(kc get pods -l app=my-helloworld -o jsonpath='{.items[0].metadata.name}')
  CODES=$BATS_TEST_TMPDIR/codes.$RANDOM
  # its own process group: stopping it stops the loop inside the pod too
  setsid "$NSLAB" exec k3s "pod/$pod" -- sh -c \
    "while :; do curl -s -m 2 -o /dev/null -w '%{http_code}\n' http://$ip/; sleep 0.05; done" \
    > "$CODES" 2>/dev/null &
  CURL_PID=$!
  sleep 0.5
}

stop_curl_loop () {
  kill -- -"$CURL_PID" 2>/dev/null || true
  wait "$CURL_PID" 2>/dev/null || true
  # the loop ran, and every request was answered
  [ "$(grep -ac '^200$' "$CODES")" -gt 5 ]
  local bad
  bad=$(grep -av '^200$' "$CODES" | head -5)
  [ -z "$bad" ] || { printf 'not answered: %s\n' "$bad" | od -c >&2; false; }
}

# The deployment's ScalingReplicaSet events, oldest first.
scaling_events () {
  kc -n demo get events --field-selector reason=ScalingReplicaSet -o jsonpath='{range .items[*]}{.message}{"\n"}{end}'
}

@test "rollout: kubectl apply of a changed template rolls web out to a new ReplicaSet, without downtime; back again reuses the old one" {
  "$NSLAB" up "$SEED" > /dev/null
  old=$(kc -n demo get rs -o jsonpath='{.items[0].metadata.name}')
  [ "$old" = web-8597f6f985 ]
  old_pods=$(kc -n demo get pods -l app=web -o jsonpath='{.items[*].metadata.name}')
  old_ips=$(kc -n demo get pods -l app=web -o jsonpath='{.items[*].status.podIP}')
  # the API server's generation on create
  [ "$(kc -n demo get deploy web -o jsonpath='{.metadata.generation}')" = 1 ]
  [ "$(kc -n demo get rs "$old" -o jsonpath='{.metadata.generation}')" = 1 ]
  start_curl_loop
  run kc apply -f "$(web_with_env)"
  [ "$status" -eq 0 ]
  [[ "$output" == *$'deployment.apps/web configured'* ]]
  # the API server moved the generation; rollout status waits for the
  # controller and prints kubectl's own lines
  [ "$(kc -n demo get deploy web -o jsonpath='{.metadata.generation}')" = 2 ]
  run timeout 60 "$NSLAB" kubectl k3s -n demo rollout status deploy/web
  [ "$status" -eq 0 ]
  [[ "$output" == *'deployment "web" successfully rolled out' ]]
  stop_curl_loop
  [ "$(kc -n demo get deploy web -o jsonpath='{.status.observedGeneration}')" = 2 ]
  # a second ReplicaSet, with the template's env; the old one at 0
  new=$(kc -n demo get deploy web -o jsonpath='{.metadata.name}')-$(kc -n demo get pods -l app=web -o jsonpath='{.items[0].metadata.labels.pod-template-hash}')
  [ "$new" != "$old" ]
  [[ "$new" =~ ^web-[bcdfghjklmnpqrstvwxz2456789]{1,10}$ ]]
  run kc -n demo get rs -o jsonpath='{range .items[*]}{.metadata.name} {.spec.replicas} {.metadata.annotations.deployment\.kubernetes\.io/revision} {.metadata.ownerReferences[0].name}{"\n"}{end}'
  [[ "$output" == *"$old 0 1 web"* ]]
  [[ "$output" == *"$new 2 2 web"* ]]
  [ "$(kc -n demo get rs "$new" -o jsonpath='{.spec.template.spec.containers[0].env[0].value} {.spec.template.spec.containers[0].image}')" = "blue nginx:1.27-alpine" ]
  [ "$(kc -n demo get deploy web -o jsonpath='{.metadata.annotations.deployment\.kubernetes\.io/revision}')" = 2 ]
  # 2 new pods: new names, new addresses, the new template's env
  run kc -n demo get pods -l app=web -o jsonpath='{range .items[*]}{.metadata.name} {.status.podIP} {.spec.containers[0].env[0].value}{"\n"}{end}'
  [ "${#lines[@]}" = 2 ]
  for l in "${lines[@]}"; do
    set -- $l
    [[ "$1" == "$new"-* ]]
    [[ " $old_pods " != *" $1 "* ]]
    [[ " $old_ips " != *" $2 "* ]]
    [ "$3" = blue ]
  done
  # the deployment controller's events, in order (seed 001's wording)
  [ "$(scaling_events)" = "Scaled up replica set $new from 0 to 1
Scaled down replica set $old from 2 to 1
Scaled up replica set $new from 1 to 2
Scaled down replica set $old from 1 to 0" ]
  # describe deploy as kubectl prints it
  run kc -n demo describe deploy web
  # (kubectl 1.20 lists only old replica sets that still have pods; 1.27 and later all of them)
  if [ "$(kubectl_minor)" -lt 27 ]; then olds='<none>'; else olds="$old (0/0 replicas created)"; fi
  [[ "$output" == *$'\nOldReplicaSets:  '"$olds"$'\nNewReplicaSet:   '"$new"$' (2/2 replicas created)\n'* ]]
  [[ "$output" == *'Progressing    True    NewReplicaSetAvailable'* ]]
  # nslab describe prints kubectl 1.32's
  run "$NSLAB" describe k3s -n demo deploy/web
  [[ "$output" == *$'\nOldReplicaSets:  '"$old"$' (0/0 replicas created)\nNewReplicaSet:   '"$new"$' (2/2 replicas created)\n'* ]]
  [ "$(kc -n demo get deploy web -o jsonpath='{.status.updatedReplicas} {.status.readyReplicas} {.status.availableReplicas}')" = "2 2 2" ]
  # the original template again: the old ReplicaSet is scaled back up, with revision 3
  start_curl_loop
  kc apply -f "$BATS_TEST_DIRNAME/golden-kubectl/web.yaml" > /dev/null
  run timeout 60 "$NSLAB" kubectl k3s -n demo rollout status deploy/web
  [ "$status" -eq 0 ]
  stop_curl_loop
  run kc -n demo get rs -o jsonpath='{range .items[*]}{.metadata.name} {.spec.replicas} {.metadata.annotations.deployment\.kubernetes\.io/revision}{"\n"}{end}'
  [[ "$output" == *"$old 2 3"* ]]
  [[ "$output" == *"$new 0 2"* ]]
  [ "$(kc -n demo get pods -l app=web -o jsonpath='{.items[*].metadata.labels.pod-template-hash}')" = "8597f6f985 8597f6f985" ]
  "$NSLAB" down k3s
}

@test "rollout: a template whose pods never get ready stops at one surge pod, the old ones serve on; the old template back finishes it" {
  lab=$(make_lab k3s 56)   # the seed lab, in a file the test may edit
  "$NSLAB" up "$lab" > /dev/null
  old=$(kc -n demo get rs -o jsonpath='{.items[0].metadata.name}')
  start_curl_loop
  # kubelet probes a port nothing listens on: the new pods stay unready
  sed -i 's/^image = nginx:1.27-alpine$/image = nginx:1.27-alpine\nreadiness = tcp:81/' "$lab"
  grep -q '^readiness = tcp:81$' "$lab"
  "$NSLAB" apply "$lab" > /dev/null
  sleep 3   # a probe period and more: no further step may come
  run kc -n demo rollout status deploy/web --watch=false
  [ "$output" = 'Waiting for deployment "web" rollout to finish: 1 out of 2 new replicas have been updated...' ]
  run kc -n demo get rs -o jsonpath='{range .items[*]}{.metadata.name} {.spec.replicas} {.status.readyReplicas}{"\n"}{end}'
  [[ "$output" == *"$old 2 2"* ]]
  [ "$(kc -n demo get pods -l app=web -o name | wc -l)" = 3 ]
  [ "$(kc -n demo get deploy web -o jsonpath='{.status.updatedReplicas} {.status.availableReplicas} {.status.unavailableReplicas}')" = "1 2 1" ]
  run kc -n demo get deploy web -o jsonpath='{range .status.conditions[*]}{.type} {.status} {.reason} {.message}{"\n"}{end}'
  [[ "$output" == *'Available True MinimumReplicasAvailable Deployment has minimum availability.'* ]]
  [[ "$output" == *'Progressing True ReplicaSetUpdated ReplicaSet "web-'*'" is progressing.'* ]]
  # back to the old template: its ReplicaSet is the new one again, the unready pod goes
  sed -i '/^readiness = tcp:81$/d' "$lab"
  "$NSLAB" apply "$lab" > /dev/null
  run timeout 60 "$NSLAB" kubectl k3s -n demo rollout status deploy/web
  [ "$status" -eq 0 ]
  [ "$output" = 'deployment "web" successfully rolled out' ]
  stop_curl_loop
  [ "$(kc -n demo get pods -l app=web -o jsonpath='{.items[*].metadata.labels.pod-template-hash}')" = "${old#web-} ${old#web-}" ]
  [ "$(kc -n demo get rs "$old" -o jsonpath='{.metadata.annotations.deployment\.kubernetes\.io/revision}')" = 3 ]
  "$NSLAB" down k3s
}

@test "rollout: kubectl set image, rollout history, undo and restart go through the same rolling update" {
  "$NSLAB" up "$SEED" > /dev/null
  [ "$(kc -n demo set image deploy/web nginx=nginx:1.28-alpine)" = "deployment.apps/web image updated" ]
  timeout 60 "$NSLAB" kubectl k3s -n demo rollout status deploy/web > /dev/null
  [ "$(kc -n demo get pods -l app=web -o jsonpath='{.items[*].spec.containers[0].image}')" = "nginx:1.28-alpine nginx:1.28-alpine" ]
  [ "$(kc -n demo get rs -o name | wc -l)" = 2 ]
  # kubectl's history: the deployment's ReplicaSets by revision
  run kc -n demo rollout history deploy/web
  [ "${lines[1]}" = "REVISION  CHANGE-CAUSE" ]
  [ "${lines[2]}" = "1         <none>" ]
  [ "${lines[3]}" = "2         <none>" ]
  run kc -n demo rollout history deploy/web --revision=1
  [[ "$output" == *$'Image:\tnginx:1.27-alpine'* ]]
  # undo: kubectl's JSON patch of the template back to revision 1's; its
  # ReplicaSet is scaled up again, as revision 3
  [ "$(kc -n demo rollout undo deploy/web)" = "deployment.apps/web rolled back" ]
  timeout 60 "$NSLAB" kubectl k3s -n demo rollout status deploy/web > /dev/null
  [ "$(kc -n demo get pods -l app=web -o jsonpath='{.items[*].spec.containers[0].image}')" = "nginx:1.27-alpine nginx:1.27-alpine" ]
  [ "$(kc -n demo get rs web-8597f6f985 -o jsonpath='{.spec.replicas} {.metadata.annotations.deployment\.kubernetes\.io/revision}')" = "2 3" ]
  [ "$(kc -n demo rollout undo deploy/web --to-revision=3)" = "deployment.apps/web skipped rollback (current template already matches revision 3)" ]
  before=$(kc -n demo get pods -l app=web -o jsonpath='{.items[*].metadata.name}')
  [ "$(kc -n demo rollout restart deploy/web)" = "deployment.apps/web restarted" ]
  timeout 60 "$NSLAB" kubectl k3s -n demo rollout status deploy/web > /dev/null
  after=$(kc -n demo get pods -l app=web -o jsonpath='{.items[*].metadata.name}')
  [ "$(kc -n demo get rs -o name | wc -l)" = 3 ]
  for p in $after; do [[ " $before " != *" $p "* ]]; done
  # the new ReplicaSet's template carries kubectl's restartedAt
  [[ "$(kc -n demo get rs -o jsonpath='{.items[*].spec.template.metadata.annotations.kubectl\.kubernetes\.io/restartedAt}')" == 20* ]]
  "$NSLAB" down k3s
}

@test "rollout: nslab apply of a changed image rolls web out the same way, without downtime" {
  lab=$(make_lab k3s 56)   # the seed lab, in a file the test may edit
  "$NSLAB" up "$lab" > /dev/null
  old=$(kc -n demo get rs -o jsonpath='{.items[0].metadata.name}')
  start_curl_loop
  sed -i 's/^image = nginx:1.27-alpine$/image = nginx:1.28-alpine/' "$lab"
  grep -q '^image = nginx:1.28-alpine$' "$lab"
  run "$NSLAB" apply "$lab"
  [ "$status" -eq 0 ]
  run timeout 60 "$NSLAB" kubectl k3s -n demo rollout status deploy/web
  [ "$status" -eq 0 ]
  stop_curl_loop
  new=web-$(kc -n demo get pods -l app=web -o jsonpath='{.items[0].metadata.labels.pod-template-hash}')
  [ "$new" != "$old" ]
  run kc -n demo get rs -o jsonpath='{range .items[*]}{.metadata.name} {.spec.replicas}{"\n"}{end}'
  [[ "$output" == *"$old 0"* ]]
  [[ "$output" == *"$new 2"* ]]
  [ "$(kc -n demo get pods -l app=web -o jsonpath='{.items[*].spec.containers[0].image}')" = "nginx:1.28-alpine nginx:1.28-alpine" ]
  [ "$(scaling_events | head -1)" = "Scaled up replica set $new from 0 to 1" ]
  # the new ReplicaSet is the one up makes of the edited lab
  [ "$new" = "web-$("$NSLAB" plan -o json "$lab" | jq -r '.workloads[] | select(.name == "web") | .pod_template_hash')" ]
  "$NSLAB" down k3s
}

@test "rollout: the Deployment's strategy: maxSurge 0 / maxUnavailable 1 scales the old one down first; Recreate all old pods, then the new ones" {
  "$NSLAB" up "$SEED" > /dev/null
  old=$(kc -n demo get rs -o jsonpath='{.items[0].metadata.name}')
  kc -n demo patch deploy web -p '{"spec":{"strategy":{"rollingUpdate":{"maxSurge":0,"maxUnavailable":1}}}}' > /dev/null
  kc -n demo set image deploy/web nginx=nginx:1.28-alpine > /dev/null
  timeout 60 "$NSLAB" kubectl k3s -n demo rollout status deploy/web > /dev/null
  new=web-$(kc -n demo get pods -l app=web -o jsonpath='{.items[0].metadata.labels.pod-template-hash}')
  [ "$(scaling_events)" = "Scaled down replica set $old from 2 to 1
Scaled up replica set $new from 0 to 1
Scaled down replica set $old from 1 to 0
Scaled up replica set $new from 1 to 2" ]
  kc -n demo patch deploy web -p '{"spec":{"strategy":{"type":"Recreate","rollingUpdate":null}}}' > /dev/null
  kc -n demo set image deploy/web nginx=nginx:1.29-alpine > /dev/null
  timeout 60 "$NSLAB" kubectl k3s -n demo rollout status deploy/web > /dev/null
  third=web-$(kc -n demo get pods -l app=web -o jsonpath='{.items[0].metadata.labels.pod-template-hash}')
  [ "$(scaling_events | tail -2)" = "Scaled down replica set $new from 2 to 0
Scaled up replica set $third from 0 to 2" ]
  [ "$(kc -n demo get pods -l app=web -o jsonpath='{.items[*].spec.containers[0].image}')" = "nginx:1.29-alpine nginx:1.29-alpine" ]
  "$NSLAB" down k3s
}

@test "rollout: a Deployment claims only the ReplicaSets it controls: a bare ReplicaSet web-canary next to deployment web stays untouched" {
  scen=$(make_lab k3s 56)
  printf '\n[replicaset demo/web-canary]\nlabels = app=canary\nreplicas = 1\nimage = nginx:1.27-alpine\n' >> "$scen"
  "$NSLAB" up "$scen" > /dev/null
  [ "$(kc -n demo get rs web-canary -o jsonpath='{.spec.replicas} {.metadata.ownerReferences}')" = "1 " ]
  kc -n demo set image deploy/web nginx=nginx:1.28-alpine > /dev/null
  run timeout 60 "$NSLAB" kubectl k3s -n demo rollout status deploy/web
  [ "$status" -eq 0 ]
  # the rollout scaled web's own ReplicaSets only
  [ "$(kc -n demo get rs web-canary -o jsonpath='{.spec.replicas} {.status.readyReplicas} {.metadata.ownerReferences}')" = "1 1 " ]
  [ "$(kc -n demo get pods -l app=canary -o jsonpath='{.items[*].spec.containers[0].image}')" = "nginx:1.27-alpine" ]
  [[ "$(scaling_events)" != *web-canary* ]]
  [ "$(kc -n demo get deploy web -o jsonpath='{.status.updatedReplicas} {.status.replicas}')" = "2 2" ]
  "$NSLAB" down k3s
}

@test "rollout: spec.revisionHistoryLimit 0: once the rollout is complete the old ReplicaSet goes, with its rollout records" {
  "$NSLAB" up "$SEED" > /dev/null
  old=$(kc -n demo get rs -o jsonpath='{.items[0].metadata.name}')
  kc -n demo patch deploy web -p '{"spec":{"revisionHistoryLimit":0}}' > /dev/null
  kc -n demo set image deploy/web nginx=nginx:1.28-alpine > /dev/null
  timeout 60 "$NSLAB" kubectl k3s -n demo rollout status deploy/web > /dev/null
  new=web-$(kc -n demo get pods -l app=web -o jsonpath='{.items[0].metadata.labels.pod-template-hash}')
  [ "$new" != "$old" ]
  # cleanupDeployment ran after the old pods were gone
  for _ in $(seq 100); do [ "$(kc -n demo get rs -o jsonpath='{.items[*].metadata.name}')" = "$new" ] && break; sleep 0.1; done
  [ "$(kc -n demo get rs -o jsonpath='{.items[*].metadata.name}')" = "$new" ]
  [ "$(kc -n demo get deploy web -o jsonpath='{.status.updatedReplicas} {.status.readyReplicas}')" = "2 2" ]
  # the old one's template and revision records went with it; the new one's stay
  meta () { sqlite3 "$STATE_ROOT/k3s/store.db" "select count(*) from meta where key like 'rollout/%/demo/$1'"; }
  [ "$(meta "$old")" = 0 ]
  [ "$(meta "$new")" = 2 ]
  "$NSLAB" down k3s
}

# The Progressing condition as kubectl -o jsonpath reads it: status reason message.
progressing () {
  kc -n demo get deploy web -o jsonpath='{range .status.conditions[?(@.type=="Progressing")]}{.status} {.reason} {.message}{end}'
}

# Until the Progressing condition's reason is $1 (the loop's next rounds), at most 10 s.
wait_progressing () {
  for _ in $(seq 100); do [[ "$(progressing)" == *" $1 "* ]] && return 0; sleep 0.1; done
  progressing >&2
  return 1
}

@test "rollout: kubectl rollout pause holds a changed template back (Progressing DeploymentPaused), resume rolls it out; max-replicas and Available follow the strategy" {
  "$NSLAB" up "$SEED" > /dev/null
  old=$(kc -n demo get rs -o jsonpath='{.items[0].metadata.name}')
  kc -n demo patch deploy web -p '{"spec":{"replicas":4,"strategy":{"rollingUpdate":{"maxSurge":0,"maxUnavailable":2}}}}' > /dev/null
  timeout 60 "$NSLAB" kubectl k3s -n demo rollout status deploy/web > /dev/null
  [ "$(kc -n demo rollout pause deploy/web)" = "deployment.apps/web paused" ]
  kc -n demo set image deploy/web nginx=nginx:1.28-alpine > /dev/null
  wait_progressing DeploymentPaused
  [ "$(progressing)" = "Unknown DeploymentPaused Deployment is paused" ]
  sleep 2   # rounds enough for a step: none comes
  [ "$(kc -n demo get rs -o jsonpath='{.items[*].metadata.name}')" = "$old" ]
  [ "$(kc -n demo get pods -l app=web -o jsonpath='{.items[*].spec.containers[0].image}')" = "nginx:1.27-alpine nginx:1.27-alpine nginx:1.27-alpine nginx:1.27-alpine" ]
  [ "$(kc -n demo rollout resume deploy/web)" = "deployment.apps/web resumed" ]
  run timeout 60 "$NSLAB" kubectl k3s -n demo rollout status deploy/web
  [ "$status" -eq 0 ]
  [[ "$output" == *'deployment "web" successfully rolled out' ]]
  new=web-$(kc -n demo get pods -l app=web -o jsonpath='{.items[0].metadata.labels.pod-template-hash}')
  [ "$new" != "$old" ]
  # maxSurge 0: never more than 4 pods, and the first step took 2 old ones down at once
  [ "$(kc -n demo get rs "$new" -o jsonpath='{.metadata.annotations.deployment\.kubernetes\.io/max-replicas} {.metadata.annotations.deployment\.kubernetes\.io/desired-replicas}')" = "4 4" ]
  [ "$(scaling_events | grep -m1 "Scaled down replica set $old")" = "Scaled down replica set $old from 4 to 2" ]
  [ "$(progressing)" = "True NewReplicaSetAvailable ReplicaSet \"$new\" has successfully progressed." ]
  "$NSLAB" down k3s
}

@test "rollout: spec.progressDeadlineSeconds: a rollout whose pods never get ready times out (ProgressDeadlineExceeded), kubectl rollout status exits 1" {
  lab=$(make_lab k3s 56)
  "$NSLAB" up "$lab" > /dev/null
  sed -i 's/^image = nginx:1.27-alpine$/image = nginx:1.27-alpine\nreadiness = tcp:81/' "$lab"
  "$NSLAB" apply "$lab" > /dev/null
  wait_progressing ReplicaSetUpdated
  # nslab apply writes the Deployment as the file has it (600 s): the deadline after it
  kc -n demo patch deploy web -p '{"spec":{"progressDeadlineSeconds":3}}' > /dev/null
  run timeout 60 "$NSLAB" kubectl k3s -n demo rollout status deploy/web
  [ "$status" -eq 1 ]
  [[ "$output" == *'error: deployment "web" exceeded its progress deadline' ]]
  [[ "$(progressing)" == 'False ProgressDeadlineExceeded ReplicaSet "web-'*'" has timed out progressing.' ]]
  # the old pods serve on; the old template back completes it
  [ "$(kc -n demo get deploy web -o jsonpath='{.status.conditions[?(@.type=="Available")].status}')" = True ]
  sed -i '/^readiness = tcp:81$/d' "$lab"
  "$NSLAB" apply "$lab" > /dev/null
  run timeout 60 "$NSLAB" kubectl k3s -n demo rollout status deploy/web
  [ "$status" -eq 0 ]
  [[ "$(progressing)" == 'True NewReplicaSetAvailable '* ]]
  "$NSLAB" down k3s
}

@test "rollout: kubectl 1.20's rollout pause, resume and status (a progress deadline exceeded too)" {
  K120=${NSLAB_TEST_KUBECTL_120:-/tmp/k120/usr/bin/kubectl}
  [ -x "$K120" ] || skip "no kubectl 1.20 at $K120 (NSLAB_TEST_KUBECTL_120)"
  k120 () { NSLAB_KUBECTL=$K120 "$NSLAB" kubectl k3s "$@"; }
  lab=$(make_lab k3s 56)
  "$NSLAB" up "$lab" > /dev/null
  [ "$(k120 -n demo rollout pause deploy/web)" = "deployment.apps/web paused" ]
  k120 -n demo set image deploy/web nginx=nginx:1.28-alpine > /dev/null
  wait_progressing DeploymentPaused
  [ "$(k120 -n demo rollout resume deploy/web)" = "deployment.apps/web resumed" ]
  run timeout 60 env NSLAB_KUBECTL="$K120" "$NSLAB" kubectl k3s -n demo rollout status deploy/web
  [ "$status" -eq 0 ]
  [[ "$output" == *'deployment "web" successfully rolled out' ]]
  sed -i 's/^image = nginx:1.27-alpine$/image = nginx:1.28-alpine\nreadiness = tcp:81/' "$lab"
  "$NSLAB" apply "$lab" > /dev/null
  k120 -n demo patch deploy web -p '{"spec":{"progressDeadlineSeconds":2}}' > /dev/null
  run timeout 60 env NSLAB_KUBECTL="$K120" "$NSLAB" kubectl k3s -n demo rollout status deploy/web
  [ "$status" -eq 1 ]
  [[ "$output" == *'error: deployment "web" exceeded its progress deadline' ]]
  "$NSLAB" down k3s
}

@test "rollout: a Deployment deleted and made again starts at revision 1, its rollout records gone with it" {
  lab=$(make_lab k3s 56)
  "$NSLAB" up "$lab" > /dev/null
  kc -n demo set image deploy/web nginx=nginx:1.28-alpine > /dev/null
  timeout 60 "$NSLAB" kubectl k3s -n demo rollout status deploy/web > /dev/null
  kc -n demo rollout undo deploy/web > /dev/null   # web-8597f6f985 again, as revision 3
  timeout 60 "$NSLAB" kubectl k3s -n demo rollout status deploy/web > /dev/null
  [ "$(kc -n demo get deploy web -o jsonpath='{.metadata.annotations.deployment\.kubernetes\.io/revision}')" = 3 ]
  meta () { sqlite3 "$STATE_ROOT/k3s/store.db" "select count(*) from meta where key like 'rollout/%/demo/web%' and key not like '%/web-svc%'"; }
  [ "$(meta)" -gt 0 ]
  kc -n demo delete deploy web > /dev/null
  [ "$(meta)" = 0 ]
  # made again from the lab's section (kubectl create would find the section still there)
  "$NSLAB" apply "$lab" > /dev/null
  run timeout 60 "$NSLAB" kubectl k3s -n demo rollout status deploy/web
  [ "$status" -eq 0 ]
  [ "$(kc -n demo get deploy web -o jsonpath='{.metadata.annotations.deployment\.kubernetes\.io/revision}')" = 1 ]
  run kc -n demo get rs -o jsonpath='{range .items[*]}{.metadata.annotations.deployment\.kubernetes\.io/revision} {.spec.replicas}{"\n"}{end}'
  [ "$output" = "1 2" ]
  [ "$(kc -n demo rollout history deploy/web | sed -n 3p)" = "1         <none>" ]
  "$NSLAB" down k3s
}

# The name of deploy/web's ReplicaSet whose pods run now.
web_rs () { echo "web-$(kc -n demo get pods -l app=web -o jsonpath='{.items[0].metadata.labels.pod-template-hash}')"; }

@test "rollout: a change of any field of the pod template's spec (resources, tolerations, nodeSelector, env) rolls out; a change of replicas alone does not" {
  "$NSLAB" up "$SEED" > /dev/null
  old=$(kc -n demo get rs -o jsonpath='{.items[0].metadata.name}')
  # the Deployment's replicas are no part of its template
  kc -n demo scale deploy/web --replicas=3 > /dev/null
  timeout 60 "$NSLAB" kubectl k3s -n demo rollout status deploy/web > /dev/null
  [ "$(kc -n demo get rs -o jsonpath='{.items[*].metadata.name} {.items[*].spec.replicas}')" = "$old 3" ]
  kc -n demo scale deploy/web --replicas=2 > /dev/null
  # resources: requests defaulted to the limits in the pods, Guaranteed
  kc -n demo set resources deploy/web -c nginx --limits=cpu=200m,memory=64Mi > /dev/null
  timeout 60 "$NSLAB" kubectl k3s -n demo rollout status deploy/web > /dev/null
  second=$(web_rs)
  [ "$second" != "$old" ]
  [ "$(kc -n demo get pods -l app=web -o jsonpath='{.items[0].spec.containers[0].resources.requests.cpu} {.items[0].spec.containers[0].resources.requests.memory} {.items[*].status.qosClass}')" = "200m 64Mi Guaranteed Guaranteed" ] || { kc -n demo get pods -l app=web -o yaml >&2; false; }
  [[ "$(kc -n demo describe pod "$(kc -n demo get pods -l app=web -o jsonpath='{.items[0].metadata.name}')")" =~ $'\n'QoS\ Class:\ +Guaranteed$'\n' ]]
  seen="$old $second"
  for patch in '{"spec":{"template":{"spec":{"tolerations":[{"key":"example.com/lab","operator":"Exists","effect":"NoSchedule"}]}}}}' \
               '{"spec":{"template":{"spec":{"nodeSelector":{"kubernetes.io/os":"linux"}}}}}' \
               '{"spec":{"template":{"spec":{"containers":[{"name":"nginx","env":[{"name":"COLOR","value":"red"}]}]}}}}'; do
    kc -n demo patch deploy web -p "$patch" > /dev/null
    timeout 60 "$NSLAB" kubectl k3s -n demo rollout status deploy/web > /dev/null
    rs=$(web_rs)
    [[ " $seen " != *" $rs "* ]] || { echo "no new ReplicaSet for $patch" >&2; false; }
    seen="$seen $rs"
  done
  [ "$(kc -n demo get rs -o name | wc -l)" = 5 ]
  # the last one's template has every change
  [ "$(kc -n demo get rs "$rs" -o jsonpath='{.spec.template.spec.tolerations[0].key} {.spec.template.spec.nodeSelector} {.spec.template.spec.containers[0].env[0].value} {.spec.template.spec.containers[0].resources.limits.cpu}')" = 'example.com/lab {"kubernetes.io/os":"linux"} red 200m' ]
  "$NSLAB" down k3s
}

@test "rollout: kubectl set image to an image of another app: the new pods run that app ([images]), the old image back runs nginx's again" {
  lab=$(make_lab k3s 56)   # the seed lab, in a file the test may edit
  printf '\n[images]\nagnhost = http:9376\n' >> "$lab"
  "$NSLAB" up "$lab" > /dev/null
  old=$(kc -n demo get rs -o jsonpath='{.items[0].metadata.name}')
  client=$(kc get pods -l app=my-helloworld -o jsonpath='{.items[0].metadata.name}')
  kc -n demo set image deploy/web nginx=registry.k8s.io/e2e-test-images/agnhost:2.52 > /dev/null
  # the default readiness probe follows the app (tcp:9376): the rollout completes
  run timeout 60 "$NSLAB" kubectl k3s -n demo rollout status deploy/web
  [ "$status" -eq 0 ] || { echo "$output"; kc -n demo get pods,rs -o wide; "$NSLAB" status k3s; kc -n demo get deploy web -o json; } >&2 || false
  [ "$(web_rs)" != "$old" ]
  run kc -n demo get pods -l app=web -o jsonpath='{range .items[*]}{.metadata.name} {.status.podIP} {.spec.containers[0].image}{"\n"}{end}'
  [ "${#lines[@]}" = 2 ]
  for l in "${lines[@]}"; do
    set -- $l
    [ "$3" = registry.k8s.io/e2e-test-images/agnhost:2.52 ]
    # agnhost's app answers on 9376, and nothing listens on nginx's 80
    run "$NSLAB" exec k3s "pod/$client" -- curl -s -m 3 "http://$2:9376/"
    [ "$status" -eq 0 ]
    [[ "$output" == *"$1"* ]] || { echo "$output" >&2; false; }
    run "$NSLAB" exec k3s "pod/$client" -- curl -s -m 3 "http://$2:80/"
    [ "$status" -eq 7 ]
  done
  # nginx again: the old ReplicaSet, nginx's app on 80
  kc -n demo set image deploy/web nginx=nginx:1.27-alpine > /dev/null
  run timeout 60 "$NSLAB" kubectl k3s -n demo rollout status deploy/web
  [ "$status" -eq 0 ] || { echo "$output"; kc -n demo get pods,rs -o wide; "$NSLAB" status k3s; kc -n demo get rs -o yaml; } >&2 || false
  [ "$(web_rs)" = "$old" ]
  ip=$(kc -n demo get pods -l app=web -o jsonpath='{.items[0].status.podIP}')
  run "$NSLAB" exec k3s "pod/$client" -- curl -s -m 3 -o /dev/null -w '%{http_code}' "http://$ip:80/"
  [ "$output" = 200 ]
  "$NSLAB" down k3s
}
