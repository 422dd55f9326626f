/* A pod from its ReplicaSet's template: the API server's container defaults
 * (pkg/apis/core/v1/defaults.go: SetDefaults_Container, _ContainerPort,
 * _Probe, _HTTPGetAction, _ObjectFieldSelector), the image references
 * containerd reports (docker's reference normalization: docker.io,
 * library/, :latest), and one status per container. */
#include "unit.h"

#include <jansson.h>

#include "k8s/pod_template.h"
#include "scenario/scenario.h"

static json_t *
parse (const char *text)
{
  json_error_t e;
  json_t *j = json_loads (text, 0, &e);
  ck_assert_msg (j != NULL, "%s", e.text);
  return j;
}

START_TEST (test_image_refs)
{
  static const struct { const char *in, *out; } v[] = {
    { "nginx", "docker.io/library/nginx:latest" },
    { "nginx:1.27-alpine", "docker.io/library/nginx:1.27-alpine" },
    { "bitnami/redis:7", "docker.io/bitnami/redis:7" },
    { "registry.k8s.io/e2e-test-images/agnhost:2.39", "registry.k8s.io/e2e-test-images/agnhost:2.39" },
    { "localhost/app", "localhost/app:latest" },
    { "myhost:5000/team/app", "myhost:5000/team/app:latest" },
    { "nginx@sha256:0123", "docker.io/library/nginx@sha256:0123" },
  };
  for (size_t i = 0; i < ARRAY_SIZE (v); i++)
    {
      cleanup_free char *ref = pod_template_image_ref (v[i].in);
      ck_assert_str_eq (ref, v[i].out);
    }
}
END_TEST

START_TEST (test_container_defaults)
{
  /* what kubectl create deployment --image=nginx --port=80 sends, and a
   * manifest's container that sets its own policy and a probe */
  json_t *in = parse ("[{\"name\":\"nginx\",\"image\":\"nginx\",\"ports\":[{\"containerPort\":80,\"name\":\"\","
                      "\"protocol\":\"\",\"hostPort\":0}],\"resources\":{}},"
                      "{\"name\":\"side\",\"image\":\"busybox:1.36\",\"imagePullPolicy\":\"Never\","
                      "\"env\":[{\"name\":\"IP\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"status.podIP\"}}}],"
                      "\"readinessProbe\":{\"httpGet\":{\"port\":8080}}},"
                      "{\"name\":\"pinned\",\"image\":\"nginx@sha256:0123\"},"
                      "{\"name\":\"latest\",\"image\":\"nginx:latest\"}]");
  json_t *out = pod_template_default_containers (in);
  json_t *want = parse (
      "[{\"name\":\"nginx\",\"image\":\"nginx\",\"ports\":[{\"containerPort\":80,\"protocol\":\"TCP\"}],"
      "\"resources\":{},\"imagePullPolicy\":\"Always\",\"terminationMessagePath\":\"/dev/termination-log\","
      "\"terminationMessagePolicy\":\"File\"},"
      "{\"name\":\"side\",\"image\":\"busybox:1.36\",\"imagePullPolicy\":\"Never\","
      "\"env\":[{\"name\":\"IP\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"status.podIP\",\"apiVersion\":\"v1\"}}}],"
      "\"readinessProbe\":{\"httpGet\":{\"port\":8080,\"path\":\"/\",\"scheme\":\"HTTP\"},\"timeoutSeconds\":1,"
      "\"periodSeconds\":10,\"successThreshold\":1,\"failureThreshold\":3},"
      "\"terminationMessagePath\":\"/dev/termination-log\",\"terminationMessagePolicy\":\"File\",\"resources\":{}},"
      "{\"name\":\"pinned\",\"image\":\"nginx@sha256:0123\",\"imagePullPolicy\":\"IfNotPresent\","
      "\"terminationMessagePath\":\"/dev/termination-log\",\"terminationMessagePolicy\":\"File\",\"resources\":{}},"
      "{\"name\":\"latest\",\"image\":\"nginx:latest\",\"imagePullPolicy\":\"Always\","
      "\"terminationMessagePath\":\"/dev/termination-log\",\"terminationMessagePolicy\":\"File\",\"resources\":{}}]");
  cleanup_free char *got = json_dumps (out, JSON_SORT_KEYS);
  ck_assert_msg (json_equal (out, want), "%s", got);
  /* the input is the template's: left as it was */
  ck_assert_str_eq (json_string_value (json_object_get (json_array_get (json_object_get (json_array_get (in, 0),
                                                                                           "ports"), 0), "name")), "");
  json_decref (in);
  json_decref (out);
  json_decref (want);
}
END_TEST

START_TEST (test_pod_from_template)
{
  /* the plan's pod: its one app container and kubelet's status for it */
  json_t *pod = parse ("{\"kind\":\"Pod\",\"spec\":{\"containers\":[{\"name\":\"app\",\"image\":\"nslab/http-echo\"}],"
                       "\"nodeName\":\"w1\"},\"status\":{\"phase\":\"Running\",\"containerStatuses\":[{\"name\":\"app\","
                       "\"image\":\"nslab/http-echo\",\"ready\":true,\"started\":true,\"restartCount\":0,"
                       "\"state\":{\"running\":{\"startedAt\":\"2026-01-24T06:49:08Z\"}}}]}}");
  json_t *tpl = parse ("[{\"name\":\"sidecar\",\"image\":\"busybox:1.36\"},{\"name\":\"web\",\"image\":\"nginx:1.27\","
                       "\"resources\":{\"limits\":{\"memory\":\"64Mi\",\"cpu\":\"1\"},\"requests\":{\"cpu\":\"100m\"}}}]");
  pod_template_apply (pod, tpl);
  const json_t *cs = json_object_get (json_object_get (pod, "spec"), "containers");
  ck_assert_uint_eq (json_array_size (cs), 2);
  ck_assert_str_eq (json_string_value (json_object_get (json_array_get (cs, 1), "name")), "web");
  ck_assert_str_eq (json_string_value (json_object_get (json_array_get (cs, 1), "imagePullPolicy")), "IfNotPresent");
  ck_assert_str_eq (json_string_value (json_object_get (json_object_get (pod, "spec"), "nodeName")), "w1");
  /* a Pod's requests default to its limits, the ones it sets kept */
  const json_t *req = json_object_get (json_object_get (json_array_get (cs, 1), "resources"), "requests");
  ck_assert_str_eq (json_string_value (json_object_get (req, "memory")), "64Mi");
  ck_assert_str_eq (json_string_value (json_object_get (req, "cpu")), "100m");
  /* the template is the replicaset's: left as it was */
  ck_assert_ptr_null (
      json_object_get (json_object_get (json_object_get (json_array_get (tpl, 1), "resources"), "requests"), "memory"));
  const json_t *st = json_object_get (json_object_get (pod, "status"), "containerStatuses");
  ck_assert_uint_eq (json_array_size (st), 2);
  static const char *const names[] = { "sidecar", "web" };
  static const char *const images[] = { "docker.io/library/busybox:1.36", "docker.io/library/nginx:1.27" };
  static const char *const repos[] = { "docker.io/library/busybox@sha256:", "docker.io/library/nginx@sha256:" };
  for (size_t k = 0; k < 2; k++)
    {
      const json_t *s = json_array_get (st, k);
      ck_assert_str_eq (json_string_value (json_object_get (s, "name")), names[k]);
      ck_assert_str_eq (json_string_value (json_object_get (s, "image")), images[k]);
      const char *id = json_string_value (json_object_get (s, "imageID"));
      ck_assert (str_has_prefix (id, repos[k]));
      ck_assert_uint_eq (strlen (id), strlen (repos[k]) + 64);
      /* the pod's one app stands for every container */
      ck_assert (json_is_true (json_object_get (s, "ready")));
      ck_assert_str_eq (json_string_value (json_object_get (json_object_get (json_object_get (s, "state"), "running"),
                                                           "startedAt")), "2026-01-24T06:49:08Z");
    }
  /* the same image: the same ID; another: another */
  json_t *again = pod_template_statuses (tpl, NULL);
  ck_assert_str_eq (json_string_value (json_object_get (json_array_get (again, 1), "imageID")),
                    json_string_value (json_object_get (json_array_get (st, 1), "imageID")));
  ck_assert_str_ne (json_string_value (json_object_get (json_array_get (again, 0), "imageID")),
                    json_string_value (json_object_get (json_array_get (again, 1), "imageID")));
  ck_assert (json_is_false (json_object_get (json_array_get (again, 0), "ready")));
  json_decref (again);
  /* no template containers: the plan's pod stays */
  json_t *empty = json_array ();
  json_t *before = json_deep_copy (pod);
  pod_template_apply (pod, empty);
  ck_assert (json_equal (pod, before));
  json_decref (empty);
  json_decref (before);
  json_decref (tpl);
  json_decref (pod);
}
END_TEST

/* containerd's container IDs: one per start of a container, the same in
 * every process that derives it. The expected digest is coreutils':
 * printf 'k3s\0uid-1\0nginx\0%s\0' 2 | sha256sum. */
START_TEST (test_container_ids)
{
  cleanup_free char *id = pod_template_container_id ("k3s", "uid-1", "nginx", 2);
  ck_assert_str_eq (id, "containerd://0b2cfbb41bf8a6bf9902a413dc96e64fa6e00a764136d26d7d87958885213318");
  static const struct { const char *lab, *uid, *name; long long n; } other[] = {
    { "k3s2", "uid-1", "nginx", 2 }, { "k3s", "uid-2", "nginx", 2 },
    { "k3s", "uid-1", "side", 2 },   { "k3s", "uid-1", "nginx", 3 },
  };
  for (size_t i = 0; i < ARRAY_SIZE (other); i++)
    {
      cleanup_free char *o = pod_template_container_id (other[i].lab, other[i].uid, other[i].name, other[i].n);
      ck_assert_str_ne (o, id);
    }
  /* a running container restarted twice: its own ID, the one before it
   * in lastState; a waiting one (back-off): the exited one's in both; a
   * terminated one (restartPolicy Never) in state.terminated too */
  json_t *pod = parse ("{\"metadata\":{\"uid\":\"uid-1\"},\"status\":{\"containerStatuses\":["
                       "{\"name\":\"nginx\",\"restartCount\":2,\"state\":{\"running\":{}},"
                       "\"lastState\":{\"terminated\":{\"exitCode\":137}}},"
                       "{\"name\":\"side\",\"restartCount\":1,\"state\":{\"waiting\":{}},"
                       "\"lastState\":{\"terminated\":{\"exitCode\":1}}},"
                       "{\"name\":\"job\",\"restartCount\":0,\"state\":{\"terminated\":{\"exitCode\":0}}},"
                       "{\"restartCount\":0}]}}");
  pod_template_set_container_ids (pod, "k3s");
  const json_t *css = json_object_get (json_object_get (pod, "status"), "containerStatuses");
  static const struct { size_t at; const char *path[3]; const char *name; long long n; } want[] = {
    { 0, { "containerID" }, "nginx", 2 },
    { 0, { "lastState", "terminated", "containerID" }, "nginx", 1 },
    { 1, { "containerID" }, "side", 1 },
    { 1, { "lastState", "terminated", "containerID" }, "side", 1 },
    { 2, { "containerID" }, "job", 0 },
    { 2, { "state", "terminated", "containerID" }, "job", 0 },
  };
  for (size_t i = 0; i < ARRAY_SIZE (want); i++)
    {
      const json_t *v = json_array_get (css, want[i].at);
      for (size_t k = 0; k < 3 && want[i].path[k]; k++)
        v = json_object_get (v, want[i].path[k]);
      cleanup_free char *w = pod_template_container_id ("k3s", "uid-1", want[i].name, want[i].n);
      ck_assert_msg (json_is_string (v) && strcmp (json_string_value (v), w) == 0, "want[%zu]", i);
    }
  /* a status without a name gets none */
  ck_assert_ptr_null (json_object_get (json_array_get (css, 3), "containerID"));
  json_decref (pod);
}
END_TEST

/* The API server's pod defaults and what its admission plugins add, as a
 * cluster's `kubectl get pod -o yaml` of a `kubectl run` pod shows them
 * (SetDefaults_PodSpec; the serviceaccount, Priority and
 * DefaultTolerationSeconds admission plugins). */
START_TEST (test_pod_defaults)
{
  json_t *pod = parse ("{\"metadata\":{\"namespace\":\"default\",\"name\":\"tst\"},\"spec\":{\"containers\":["
                       "{\"name\":\"tst\",\"image\":\"nginx\"},{\"name\":\"side\",\"image\":\"busybox\","
                       "\"volumeMounts\":[{\"mountPath\":\"/data\",\"name\":\"data\"}]}],"
                       "\"volumes\":[{\"name\":\"data\",\"emptyDir\":{}}],"
                       "\"tolerations\":[{\"key\":\"node.kubernetes.io/unreachable\",\"operator\":\"Exists\","
                       "\"effect\":\"NoExecute\",\"tolerationSeconds\":60}]}}");
  pod_template_pod_defaults (pod, "k3s");
  json_t *spec = json_object_get (pod, "spec");
  const char *vol = json_string_value (json_object_get (json_array_get (json_object_get (spec, "volumes"), 1), "name"));
  ck_assert_ptr_nonnull (vol);
  /* kube-api-access- and utilrand.String(5)'s alphabet */
  ck_assert_uint_eq (strlen (vol), 21);
  ck_assert (str_has_prefix (vol, "kube-api-access-"));
  ck_assert_uint_eq (strspn (vol + 16, "bcdfghjklmnpqrstvwxz2456789"), 5);
  cleanup_free char *want_text = xasprintf (
      "{\"containers\":[{\"name\":\"tst\",\"image\":\"nginx\",\"volumeMounts\":[{\"mountPath\":"
      "\"/var/run/secrets/kubernetes.io/serviceaccount\",\"name\":\"%s\",\"readOnly\":true}]},"
      "{\"name\":\"side\",\"image\":\"busybox\",\"volumeMounts\":[{\"mountPath\":\"/data\",\"name\":\"data\"},"
      "{\"mountPath\":\"/var/run/secrets/kubernetes.io/serviceaccount\",\"name\":\"%s\",\"readOnly\":true}]}],"
      "\"volumes\":[{\"name\":\"data\",\"emptyDir\":{}},{\"name\":\"%s\",\"projected\":{\"defaultMode\":420,"
      "\"sources\":[{\"serviceAccountToken\":{\"expirationSeconds\":3607,\"path\":\"token\"}},"
      "{\"configMap\":{\"name\":\"kube-root-ca.crt\",\"items\":[{\"key\":\"ca.crt\",\"path\":\"ca.crt\"}]}},"
      "{\"downwardAPI\":{\"items\":[{\"fieldRef\":{\"apiVersion\":\"v1\",\"fieldPath\":\"metadata.namespace\"},"
      "\"path\":\"namespace\"}]}}]}}],"
      "\"tolerations\":[{\"key\":\"node.kubernetes.io/unreachable\",\"operator\":\"Exists\",\"effect\":\"NoExecute\","
      "\"tolerationSeconds\":60},{\"key\":\"node.kubernetes.io/not-ready\",\"operator\":\"Exists\","
      "\"effect\":\"NoExecute\",\"tolerationSeconds\":300}],"
      "\"restartPolicy\":\"Always\",\"dnsPolicy\":\"ClusterFirst\",\"terminationGracePeriodSeconds\":30,"
      "\"schedulerName\":\"default-scheduler\",\"securityContext\":{},\"enableServiceLinks\":true,\"priority\":0,"
      "\"preemptionPolicy\":\"PreemptLowerPriority\",\"serviceAccountName\":\"default\",\"serviceAccount\":\"default\"}",
      vol, vol, vol);
  json_t *want = parse (want_text);
  ck_assert (json_equal (spec, want));
  /* idempotent: a second pass (the control loop's next round) adds nothing */
  json_t *again = json_deep_copy (pod);
  pod_template_pod_defaults (again, "k3s");
  ck_assert (json_equal (again, pod));
  /* the same pod of another lab: another volume name */
  json_t *other = parse ("{\"metadata\":{\"namespace\":\"default\",\"name\":\"tst\"},\"spec\":{\"containers\":[]}}");
  pod_template_pod_defaults (other, "k3s2");
  ck_assert_str_ne (json_string_value (json_object_get (json_array_get (json_object_get (json_object_get (other, "spec"), "volumes"), 0), "name")), vol);
  /* an add-on's pod (k3s's coredns manifest): its priority class's value,
   * its own service account with the token, its tolerations kept and the
   * NoExecute ones added; its own dnsPolicy */
  json_t *sys = parse ("{\"metadata\":{\"namespace\":\"kube-system\",\"name\":\"coredns-x\"},\"spec\":{"
                       "\"containers\":[{\"name\":\"coredns\",\"image\":\"coredns\"}],\"dnsPolicy\":\"Default\","
                       "\"priorityClassName\":\"system-cluster-critical\",\"serviceAccountName\":\"coredns\","
                       "\"tolerations\":[{\"key\":\"CriticalAddonsOnly\",\"operator\":\"Exists\"}]}}");
  pod_template_pod_defaults (sys, "k3s");
  const json_t *sspec = json_object_get (sys, "spec");
  ck_assert_int_eq (json_integer_value (json_object_get (sspec, "priority")), 2000000000);
  ck_assert_str_eq (json_string_value (json_object_get (sspec, "preemptionPolicy")), "PreemptLowerPriority");
  ck_assert_str_eq (json_string_value (json_object_get (sspec, "dnsPolicy")), "Default");
  ck_assert_str_eq (json_string_value (json_object_get (sspec, "serviceAccount")), "coredns");
  ck_assert (str_has_prefix (json_string_value (json_object_get (json_array_get (json_object_get (sspec, "volumes"), 0), "name")),
                             "kube-api-access-"));
  const json_t *stols = json_object_get (sspec, "tolerations");
  ck_assert_uint_eq (json_array_size (stols), 3);
  ck_assert_str_eq (json_string_value (json_object_get (json_array_get (stols, 0), "key")), "CriticalAddonsOnly");
  ck_assert_int_eq (json_integer_value (json_object_get (json_array_get (stols, 2), "tolerationSeconds")), 300);
  /* servicelb's: system-node-critical, no token (automountServiceAccountToken false) */
  json_t *lb = parse ("{\"metadata\":{\"namespace\":\"kube-system\",\"name\":\"svclb-x\"},\"spec\":{"
                      "\"containers\":[{\"name\":\"lb-tcp-80\",\"image\":\"rancher/klipper-lb:v0.4.9\"}],"
                      "\"priorityClassName\":\"system-node-critical\",\"serviceAccountName\":\"svclb\","
                      "\"automountServiceAccountToken\":false}}");
  pod_template_pod_defaults (lb, "k3s");
  const json_t *lspec = json_object_get (lb, "spec");
  ck_assert_int_eq (json_integer_value (json_object_get (lspec, "priority")), 2000001000);
  ck_assert_ptr_null (json_object_get (lspec, "volumes"));
  ck_assert_ptr_null (json_object_get (json_array_get (json_object_get (lspec, "containers"), 0), "volumeMounts"));
  json_decref (lb);
  /* a template's new containers get the pod's token mount too */
  json_t *tpl = parse ("[{\"name\":\"web\",\"image\":\"nginx:1.27\"}]");
  pod_template_apply (pod, tpl);
  const json_t *m = json_array_get (json_object_get (json_array_get (json_object_get (spec, "containers"), 0), "volumeMounts"), 0);
  ck_assert_str_eq (json_string_value (json_object_get (m, "name")), vol);
  json_decref (tpl);
  json_decref (sys);
  json_decref (other);
  json_decref (again);
  json_decref (want);
  json_decref (pod);
}
END_TEST

/* qos.ComputePodQOS's classes, as pkg/apis/core/helper/qos's tests have
 * them: quantities compared by value ("1" is "1000m"), zero ones not
 * counted, every container (init ones too) in the sum. */
START_TEST (test_qos_class)
{
  static const struct {
    const char *spec, *want;
  } cases[] = {
    { "{\"containers\":[{\"name\":\"a\"}]}", "BestEffort" },
    { "{\"containers\":[{\"name\":\"a\",\"resources\":{}}]}", "BestEffort" },
    { "{\"containers\":[{\"resources\":{\"requests\":{\"cpu\":\"0\",\"memory\":\"0\"}}}]}", "BestEffort" },
    /* not a compute resource QoS counts */
    { "{\"containers\":[{\"resources\":{\"requests\":{\"nvidia.com/gpu\":\"1\"}}}]}", "BestEffort" },
    { "{\"containers\":[{\"resources\":{\"requests\":{\"cpu\":\"100m\",\"memory\":\"100Mi\"},"
      "\"limits\":{\"cpu\":\"100m\",\"memory\":\"100Mi\"}}}]}", "Guaranteed" },
    { "{\"containers\":[{\"resources\":{\"requests\":{\"cpu\":\"1\",\"memory\":\"1Gi\"},"
      "\"limits\":{\"cpu\":\"1000m\",\"memory\":\"1024Mi\"}}}]}", "Guaranteed" },
    { "{\"containers\":[{\"resources\":{\"requests\":{\"cpu\":\"0.5\",\"memory\":\"1e3\"},"
      "\"limits\":{\"cpu\":\"500m\",\"memory\":\"1k\"}}}]}", "Guaranteed" },
    /* coredns's manifest */
    { "{\"containers\":[{\"resources\":{\"requests\":{\"cpu\":\"100m\",\"memory\":\"70Mi\"},"
      "\"limits\":{\"memory\":\"170Mi\"}}}]}", "Burstable" },
    { "{\"containers\":[{\"resources\":{\"requests\":{\"cpu\":\"100m\"}}}]}", "Burstable" },
    /* one container guaranteed, another best effort */
    { "{\"containers\":[{\"resources\":{\"requests\":{\"cpu\":\"100m\",\"memory\":\"100Mi\"},"
      "\"limits\":{\"cpu\":\"100m\",\"memory\":\"100Mi\"}}},{\"name\":\"b\"}]}", "Burstable" },
    /* limits above requests */
    { "{\"containers\":[{\"resources\":{\"requests\":{\"cpu\":\"100m\",\"memory\":\"100Mi\"},"
      "\"limits\":{\"cpu\":\"200m\",\"memory\":\"100Mi\"}}}]}", "Burstable" },
    /* only cpu limited */
    { "{\"containers\":[{\"resources\":{\"requests\":{\"cpu\":\"100m\"},\"limits\":{\"cpu\":\"100m\"}}}]}",
      "Burstable" },
    /* an init container's requests count */
    { "{\"containers\":[{\"resources\":{\"requests\":{\"cpu\":\"100m\",\"memory\":\"100Mi\"},"
      "\"limits\":{\"cpu\":\"100m\",\"memory\":\"100Mi\"}}}],"
      "\"initContainers\":[{\"resources\":{\"requests\":{\"memory\":\"10Mi\"}}}]}", "Burstable" },
    /* two guaranteed containers: the sums match */
    { "{\"containers\":[{\"resources\":{\"requests\":{\"cpu\":\"1\",\"memory\":\"1G\"},"
      "\"limits\":{\"cpu\":\"1\",\"memory\":\"1G\"}}},{\"resources\":{\"requests\":{\"cpu\":\"2\",\"memory\":\"1M\"},"
      "\"limits\":{\"cpu\":\"2\",\"memory\":\"1M\"}}}]}", "Guaranteed" },
  };
  for (size_t i = 0; i < ARRAY_SIZE (cases); i++)
    {
      json_t *spec = parse (cases[i].spec);
      ck_assert_msg (strcmp (pod_template_qos_class (spec), cases[i].want) == 0, "case %zu: %s, want %s", i,
                     pod_template_qos_class (spec), cases[i].want);
      json_decref (spec);
    }
  /* a pod from a template: requests defaulted to the limits first, so
   * limits alone make it Guaranteed; its status says so */
  json_t *pod = parse ("{\"metadata\":{\"namespace\":\"default\",\"name\":\"g\"},\"spec\":{\"containers\":[]},"
                       "\"status\":{\"phase\":\"Running\"}}");
  json_t *tpl = parse ("[{\"name\":\"g\",\"image\":\"nginx\",\"resources\":{\"limits\":{\"cpu\":\"250m\","
                       "\"memory\":\"64Mi\"}}}]");
  pod_template_pod_defaults (pod, "k3s");
  ck_assert_str_eq (json_string_value (json_object_get (json_object_get (pod, "status"), "qosClass")), "BestEffort");
  pod_template_apply (pod, tpl);
  ck_assert_str_eq (json_string_value (json_object_get (json_object_get (pod, "status"), "qosClass")), "Guaranteed");
  json_decref (tpl);
  json_decref (pod);
}
END_TEST

/* Two templates are the same as the API server stores them (the
 * Deployment controller's EqualIgnoreHash): a manifest without the
 * defaults equals the stored template with them; any field of the spec
 * changed is another one. */
START_TEST (test_spec_defaulted)
{
  json_t *manifest = parse ("{\"containers\":[{\"name\":\"web\",\"image\":\"nginx:1.27\",\"ports\":[{\"containerPort\":80}]}],"
                            "\"nodeSelector\":{},\"volumes\":[]}");
  json_t *stored = parse ("{\"containers\":[{\"name\":\"web\",\"image\":\"nginx:1.27\",\"imagePullPolicy\":\"IfNotPresent\","
                          "\"ports\":[{\"containerPort\":80,\"protocol\":\"TCP\"}],\"resources\":{},"
                          "\"terminationMessagePath\":\"/dev/termination-log\",\"terminationMessagePolicy\":\"File\"}],"
                          "\"restartPolicy\":\"Always\",\"dnsPolicy\":\"ClusterFirst\",\"terminationGracePeriodSeconds\":30,"
                          "\"schedulerName\":\"default-scheduler\",\"securityContext\":{}}");
  json_t *a = pod_template_spec_defaulted (manifest), *b = pod_template_spec_defaulted (stored);
  ck_assert (json_equal (a, b));
  static const char *const changes[] = {
    "{\"nodeSelector\":{\"kubernetes.io/os\":\"linux\"}}",
    "{\"tolerations\":[{\"key\":\"x\",\"operator\":\"Exists\"}]}",
    "{\"volumes\":[{\"name\":\"data\",\"emptyDir\":{}}]}",
    "{\"dnsPolicy\":\"Default\"}",
    "{\"terminationGracePeriodSeconds\":5}",
  };
  for (size_t i = 0; i < ARRAY_SIZE (changes); i++)
    {
      json_t *m = json_deep_copy (manifest);
      json_t *c = parse (changes[i]);
      json_object_update (m, c);
      json_t *d = pod_template_spec_defaulted (m);
      ck_assert_msg (!json_equal (d, b), "%s", changes[i]);
      json_decref (d);
      json_decref (c);
      json_decref (m);
    }
  /* a container's env, resources, args */
  static const char *const container_changes[] = {
    "{\"env\":[{\"name\":\"COLOR\",\"value\":\"red\"}]}",
    "{\"resources\":{\"limits\":{\"cpu\":\"100m\"}}}",
    "{\"args\":[\"-v\"]}",
  };
  for (size_t i = 0; i < ARRAY_SIZE (container_changes); i++)
    {
      json_t *m = json_deep_copy (manifest);
      json_t *c = parse (container_changes[i]);
      json_object_update (json_array_get (json_object_get (m, "containers"), 0), c);
      json_t *d = pod_template_spec_defaulted (m);
      ck_assert_msg (!json_equal (d, b), "%s", container_changes[i]);
      json_decref (d);
      json_decref (c);
      json_decref (m);
    }
  /* the arguments are not changed */
  ck_assert_ptr_nonnull (json_object_get (manifest, "nodeSelector"));
  json_decref (a);
  json_decref (b);
  json_decref (stored);
  json_decref (manifest);
}
END_TEST

/* The app nslab runs for a pod of containers made through the API: the
 * first container whose image maps to one, its containerPort for http. */
START_TEST (test_template_app)
{
  struct app_def app;
  json_t *c = parse ("[{\"name\":\"side\",\"image\":\"busybox\"},{\"name\":\"web\",\"image\":\"nginx:1.27\"}]");
  ck_assert_uint_eq (pod_template_app (NULL, c, &app), 1);
  ck_assert_int_eq (app.kind, APP_HTTP);
  ck_assert_uint_eq (app.port, 80);
  json_decref (c);
  c = parse ("[{\"name\":\"x\",\"image\":\"example.com/x:1\",\"ports\":[{\"containerPort\":8080}]}]");
  ck_assert_uint_eq (pod_template_app (NULL, c, &app), 0);
  ck_assert_int_eq (app.kind, APP_HTTP);
  ck_assert_uint_eq (app.port, 8080);
  json_decref (c);
  c = parse ("[{\"name\":\"x\",\"image\":\"busybox:1.36\"}]");
  ck_assert_uint_eq (pod_template_app (NULL, c, &app), 0);
  ck_assert_int_eq (app.kind, APP_NONE);
  json_decref (c);
}
END_TEST

static Suite *
make_suite (void)
{
  Suite *s = suite_create ("pod_template");
  TCase *tc = tcase_create ("core");
  tcase_add_test (tc, test_image_refs);
  tcase_add_test (tc, test_container_defaults);
  tcase_add_test (tc, test_pod_from_template);
  tcase_add_test (tc, test_container_ids);
  tcase_add_test (tc, test_pod_defaults);
  tcase_add_test (tc, test_qos_class);
  tcase_add_test (tc, test_spec_defaulted);
  tcase_add_test (tc, test_template_app);
  suite_add_tcase (s, tc);
  return s;
}

UNIT_MAIN (make_suite)
