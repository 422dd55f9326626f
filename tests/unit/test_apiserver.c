/* The API server's pure parts: server-side Table cells as Kubernetes'
 * printers format them (the expectations are kubectl's own output in the
 * seeds: "+ 3 more...", "<none>", "<pending>", "80:31885/TCP"), label and
 * field selectors as labels.Parse reads them, merge patches (RFC 7386's
 * examples), Status answers; and watches over a real store (a private temp
 * state root with the seed lab's objects): the events a change makes. */
#include "unit.h"

#include <jansson.h>
#include <sqlite3.h>

#include "apiserver/api.h"
#include "apiserver/create.h"
#include "apiserver/request.h"
#include "base/json.h"
#include "plan/plan.h"
#include "scenario/scenario.h"
#include "state/journal.h"
#include "state/state.h"
#include "state/store.h"
#include "view/k8s_table.h"

static json_t *
load (const char *s)
{
  json_error_t e;
  json_t *v = json_loads (s, 0, &e);
  ck_assert_msg (v != NULL, "%s", e.text);
  return v;
}

static const char *
cell (json_t *table, size_t row, size_t col)
{
  return json_string_value (json_array_get (json_object_get (json_array_get (json_object_get (table, "rows"), row),
                                                             "cells"),
                                            col));
}

START_TEST (endpoints_cell)
{
  json_t *items = load ("[{\"kind\":\"Endpoints\",\"metadata\":{\"name\":\"s\",\"creationTimestamp\":"
                        "\"2026-01-01T00:00:00Z\"},\"subsets\":[{\"addresses\":[{\"ip\":\"10.42.0.23\"},{\"ip\":"
                        "\"10.42.0.24\"},{\"ip\":\"10.42.1.10\"},{\"ip\":\"10.42.1.9\"},{\"ip\":\"10.42.2.11\"},{\"ip\":"
                        "\"10.42.2.12\"}],\"ports\":[{\"port\":8080,\"protocol\":\"TCP\"}]}]},"
                        "{\"kind\":\"Endpoints\",\"metadata\":{\"name\":\"e\"}}]");
  json_t *t = k8s_table ("Endpoints", items, time_parse_rfc3339 ("2026-01-01T21:00:00Z"), K8S_TABLE_OBJECT_METADATA,
                         "7");
  ck_assert_str_eq (cell (t, 0, 1), "10.42.0.23:8080,10.42.0.24:8080,10.42.1.10:8080 + 3 more...");
  ck_assert_str_eq (cell (t, 0, 2), "21h");
  ck_assert_str_eq (cell (t, 1, 1), "<none>");
  ck_assert_str_eq (cell (t, 1, 2), "<unknown>");
  ck_assert_str_eq (json_string_value (json_object_get (t, "kind")), "Table");
  ck_assert_str_eq (json_string_value (json_object_get (json_object_get (t, "metadata"), "resourceVersion")), "7");
  json_decref (t);
  json_decref (items);
}
END_TEST

START_TEST (service_cells)
{
  json_t *items = load (
      "[{\"metadata\":{\"name\":\"my-helloworld-rs-service\",\"namespace\":\"default\"},\"spec\":{\"type\":"
      "\"NodePort\",\"clusterIP\":\"10.43.45.254\",\"ports\":[{\"port\":80,\"nodePort\":31885,\"protocol\":\"TCP\"}],"
      "\"selector\":{\"app\":\"my-helloworld\"}}},"
      "{\"metadata\":{\"name\":\"traefik\",\"namespace\":\"kube-system\"},\"spec\":{\"type\":\"LoadBalancer\","
      "\"clusterIP\":\"10.43.121.230\",\"ports\":[{\"port\":80,\"nodePort\":31300,\"protocol\":\"TCP\"},{\"port\":443,"
      "\"nodePort\":31309,\"protocol\":\"TCP\"}],\"selector\":{\"app.kubernetes.io/name\":\"traefik\","
      "\"app.kubernetes.io/instance\":\"traefik-kube-system\"}},\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":"
      "\"192.168.56.10\"},{\"ip\":\"192.168.56.11\"},{\"ip\":\"192.168.56.12\"}]}}},"
      "{\"metadata\":{\"name\":\"lb\"},\"spec\":{\"type\":\"LoadBalancer\",\"clusterIP\":\"10.43.0.9\"}}]");
  json_t *t = k8s_table ("Service", items, 0, K8S_TABLE_OBJECT_METADATA, "1");
  ck_assert_str_eq (cell (t, 0, 3), "<none>");
  ck_assert_str_eq (cell (t, 0, 4), "80:31885/TCP");
  ck_assert_str_eq (cell (t, 0, 6), "app=my-helloworld");
  /* the seed's traefik row */
  ck_assert_str_eq (cell (t, 1, 3), "192.168.56.10,192.168.56.11,192.168.56.12");
  ck_assert_str_eq (cell (t, 1, 4), "80:31300/TCP,443:31309/TCP");
  ck_assert_str_eq (cell (t, 1, 6), "app.kubernetes.io/instance=traefik-kube-system,app.kubernetes.io/name=traefik");
  ck_assert_str_eq (cell (t, 2, 3), "<pending>");
  ck_assert_str_eq (cell (t, 2, 4), "<none>");
  ck_assert_str_eq (cell (t, 2, 6), "<none>");
  /* row.object carries the metadata (kubectl -A takes NAMESPACE from it) */
  json_t *obj = json_object_get (json_array_get (json_object_get (t, "rows"), 1), "object");
  ck_assert_str_eq (json_string_value (json_object_get (obj, "kind")), "PartialObjectMetadata");
  ck_assert_str_eq (json_string_value (json_object_get (json_object_get (obj, "metadata"), "namespace")), "kube-system");
  char *buf = NULL;
  size_t len = 0;
  FILE *out = open_memstream (&buf, &len);
  k8s_table_print (t, true, true, NULL, out);
  fclose (out);
  ck_assert_str_eq (buf,
                    "NAMESPACE     NAME                       TYPE           CLUSTER-IP      EXTERNAL-IP                 "
                    "                PORT(S)                      AGE         SELECTOR\n"
                    "default       my-helloworld-rs-service   NodePort       10.43.45.254    <none>                      "
                    "                80:31885/TCP                 <unknown>   app=my-helloworld\n"
                    "kube-system   traefik                    LoadBalancer   10.43.121.230   192.168.56.10,192.168.56.11,"
                    "192.168.56.12   80:31300/TCP,443:31309/TCP   <unknown>   app.kubernetes.io/instance=traefik-kube-system,"
                    "app.kubernetes.io/name=traefik\n"
                    "              lb                         LoadBalancer   10.43.0.9       <pending>                   "
                    "                <none>                       <unknown>   <none>\n");
  free (buf);
  json_decref (t);
  json_decref (items);
}
END_TEST

START_TEST (deployment_and_node_cells)
{
  json_t *items = load ("[{\"metadata\":{\"name\":\"web\"},\"spec\":{\"replicas\":2,\"selector\":{\"matchLabels\":{"
                        "\"app\":\"web\"}},\"template\":{\"spec\":{\"containers\":[{\"name\":\"nginx\",\"image\":"
                        "\"nginx:1.27-alpine\"}]}}},\"status\":{\"readyReplicas\":2,\"updatedReplicas\":2,"
                        "\"availableReplicas\":2}}]");
  json_t *t = k8s_table ("Deployment", items, 0, K8S_TABLE_OBJECT_NONE, "1");
  ck_assert_str_eq (cell (t, 0, 1), "2/2");
  ck_assert_int_eq (json_integer_value (json_array_get (json_object_get (json_array_get (json_object_get (t, "rows"), 0),
                                                                         "cells"),
                                                        2)),
                    2);
  ck_assert_str_eq (cell (t, 0, 5), "nginx");
  ck_assert_str_eq (cell (t, 0, 6), "nginx:1.27-alpine");
  ck_assert_str_eq (cell (t, 0, 7), "app=web");
  ck_assert_ptr_null (json_object_get (json_array_get (json_object_get (t, "rows"), 0), "object"));
  json_decref (t);
  json_decref (items);
  items = load ("[{\"metadata\":{\"name\":\"cp1\",\"labels\":{\"node-role.kubernetes.io/control-plane\":\"true\","
                "\"node-role.kubernetes.io/etcd\":\"true\"}},\"status\":{\"conditions\":[{\"type\":\"Ready\","
                "\"status\":\"True\"}],\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"192.168.56.10\"}]}}]");
  t = k8s_table ("Node", items, 0, K8S_TABLE_OBJECT_METADATA, "1");
  ck_assert_str_eq (cell (t, 0, 1), "Ready");
  ck_assert_str_eq (cell (t, 0, 2), "control-plane,etcd");
  ck_assert_str_eq (cell (t, 0, 5), "192.168.56.10");
  ck_assert_str_eq (cell (t, 0, 6), "<none>");
  ck_assert_str_eq (cell (t, 0, 7), "<unknown>");
  json_decref (t);
  json_decref (items);
}
END_TEST

static bool
sel_match (enum selector_kind k, const char *s, const char *obj)
{
  char *msg = NULL;
  struct selector *sel = selector_parse (k, s, &msg);
  ck_assert_msg (sel != NULL, "%s: %s", s, msg);
  json_t *o = load (obj);
  bool r = selector_matches (sel, o);
  json_decref (o);
  selector_free (sel);
  return r;
}

START_TEST (selectors)
{
  const char *pod = "{\"metadata\":{\"name\":\"x\",\"namespace\":\"demo\",\"labels\":{\"app\":\"web\",\"tier\":"
                    "\"fe\"}},\"spec\":{\"nodeName\":\"w1\"}}";
  ck_assert (sel_match (SELECTOR_LABEL, "app=web", pod));
  ck_assert (sel_match (SELECTOR_LABEL, "app==web,tier", pod));
  ck_assert (!sel_match (SELECTOR_LABEL, "app!=web", pod));
  ck_assert (sel_match (SELECTOR_LABEL, "tier in (be, fe)", pod));
  ck_assert (!sel_match (SELECTOR_LABEL, "tier notin (fe)", pod));
  ck_assert (sel_match (SELECTOR_LABEL, "!canary", pod));
  ck_assert (!sel_match (SELECTOR_LABEL, "canary", pod));
  ck_assert (sel_match (SELECTOR_LABEL, "", pod));
  ck_assert (sel_match (SELECTOR_FIELD, "metadata.name=x,spec.nodeName=w1", pod));
  ck_assert (!sel_match (SELECTOR_FIELD, "metadata.namespace!=demo", pod));
  ck_assert (sel_match (SELECTOR_FIELD, "status.phase=", pod));
  char *msg = NULL;
  ck_assert_ptr_null (selector_parse (SELECTOR_LABEL, "app=web,,", &msg));
  ck_assert_ptr_nonnull (msg);
  free (msg);
  ck_assert_ptr_null (selector_parse (SELECTOR_LABEL, "tier in (a", &msg));
  free (msg);
  ck_assert_ptr_null (selector_parse (SELECTOR_FIELD, "metadata.name", &msg));
  free (msg);
}
END_TEST

/* RFC 7386, appendix A. */
START_TEST (merge_patch)
{
  static const char *const cases[][3] = {
    { "{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}" },
    { "{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}" },
    { "{\"a\":\"b\"}", "{\"a\":null}", "{}" },
    { "{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}" },
    { "{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}" },
    { "{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}" },
    { "{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}", "{\"a\":{\"b\":\"d\"}}" },
    { "{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}" },
    { "{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}" },
    { "{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}" },
    /* a strategic merge patch's directives are not fields */
    { "{\"a\":1}", "{\"$setElementOrder/c\":[{\"n\":1}],\"$retainKeys\":[\"a\"],\"a\":2}", "{\"a\":2}" },
  };
  for (size_t i = 0; i < ARRAY_SIZE (cases); i++)
    {
      json_t *t = load (cases[i][0]), *p = load (cases[i][1]), *want = load (cases[i][2]);
      request_merge_patch (t, p);
      char *got = json_dumps (t, JSON_COMPACT | JSON_SORT_KEYS);
      ck_assert_msg (json_equal (t, want), "case %zu: %s", i, got);
      free (got);
      json_decref (t);
      json_decref (p);
      json_decref (want);
    }
  /* A strategic merge patch merges a template's named lists by name, as
   * strategicpatch does for containers and env (patchMergeKey name):
   * kubectl set image's patch, kubectl apply's of a changed container, a
   * $patch: delete element; other lists are replaced. */
  static const char *const strategic[][3] = {
    { "{\"containers\":[{\"name\":\"nginx\",\"image\":\"a\",\"ports\":[{\"containerPort\":80}]},{\"name\":\"s\",\"image\":\"b\"}]}",
      "{\"containers\":[{\"name\":\"nginx\",\"image\":\"c\"}]}",
      "{\"containers\":[{\"name\":\"nginx\",\"image\":\"c\",\"ports\":[{\"containerPort\":80}]},{\"name\":\"s\",\"image\":\"b\"}]}" },
    { "{\"containers\":[{\"name\":\"n\",\"env\":[{\"name\":\"A\",\"value\":\"1\"}]}]}",
      "{\"$setElementOrder/containers\":[{\"name\":\"n\"}],\"containers\":[{\"name\":\"n\",\"env\":[{\"name\":\"B\",\"value\":\"2\"}]}]}",
      "{\"containers\":[{\"name\":\"n\",\"env\":[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\",\"value\":\"2\"}]}]}" },
    { "{\"containers\":[{\"name\":\"n\"},{\"name\":\"s\"}]}", "{\"containers\":[{\"$patch\":\"delete\",\"name\":\"s\"}]}",
      "{\"containers\":[{\"name\":\"n\"}]}" },
    { "{\"args\":[\"a\",\"b\"]}", "{\"args\":[\"c\"]}", "{\"args\":[\"c\"]}" },
  };
  for (size_t i = 0; i < ARRAY_SIZE (strategic); i++)
    {
      json_t *t = load (strategic[i][0]), *p = load (strategic[i][1]), *want = load (strategic[i][2]);
      request_strategic_merge_patch (t, p);
      char *got = json_dumps (t, JSON_COMPACT | JSON_SORT_KEYS);
      ck_assert_msg (json_equal (t, want), "strategic case %zu: %s", i, got);
      free (got);
      json_decref (t);
      json_decref (p);
      json_decref (want);
    }
  /* RFC 6902, as kubectl rollout undo sends it (RFC 6902's own examples:
   * add to an object and into an array, remove, replace; ~1 is '/') */
  static const char *const jp[][3] = {
    { "{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\"}]", "{\"baz\":\"qux\",\"foo\":\"bar\"}" },
    { "{\"foo\":[\"bar\",\"baz\"]}", "[{\"op\":\"add\",\"path\":\"/foo/1\",\"value\":\"qux\"}]", "{\"foo\":[\"bar\",\"qux\",\"baz\"]}" },
    { "{\"foo\":[\"bar\",\"qux\",\"baz\"]}", "[{\"op\":\"remove\",\"path\":\"/foo/1\"}]", "{\"foo\":[\"bar\",\"baz\"]}" },
    { "{\"baz\":\"qux\",\"foo\":\"bar\"}", "[{\"op\":\"replace\",\"path\":\"/baz\",\"value\":\"boo\"}]", "{\"baz\":\"boo\",\"foo\":\"bar\"}" },
    { "{\"m\":{\"a/b\":1}}", "[{\"op\":\"replace\",\"path\":\"/m/a~1b\",\"value\":2}]", "{\"m\":{\"a/b\":2}}" },
    { "{\"foo\":[1]}", "[{\"op\":\"add\",\"path\":\"/foo/-\",\"value\":2}]", "{\"foo\":[1,2]}" },
  };
  for (size_t i = 0; i < ARRAY_SIZE (jp); i++)
    {
      json_t *t = load (jp[i][0]), *want = load (jp[i][2]);
      json_t *ops = json_loads (jp[i][1], 0, NULL);
      char *why = NULL;
      ck_assert_int_eq (request_json_patch (t, ops, &why), 0);
      ck_assert_msg (json_equal (t, want), "json patch case %zu", i);
      json_decref (t);
      json_decref (ops);
      json_decref (want);
    }
  /* replacing a member that is not there, an unknown op: refused */
  static const char *const jp_bad[] = { "[{\"op\":\"replace\",\"path\":\"/x\",\"value\":1}]",
                                        "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/b\"}]",
                                        "[{\"op\":\"remove\",\"path\":\"/a/b/c\"}]", "{}" };
  for (size_t i = 0; i < ARRAY_SIZE (jp_bad); i++)
    {
      json_t *t = load ("{\"a\":1}"), *ops = json_loads (jp_bad[i], 0, NULL);
      char *why = NULL;
      ck_assert_int_eq (request_json_patch (t, ops, &why), -1);
      ck_assert_ptr_nonnull (why);
      free (why);
      json_decref (t);
      json_decref (ops);
    }
  char *msg = NULL;
  ck_assert_ptr_null (request_decode_body ("[1]", 3, &msg));
  ck_assert_str_eq (msg, "couldn't get version/kind; json parse error: the request body is not a JSON object");
  free (msg);
  ck_assert_ptr_null (request_decode_body ("{\"a\":1,\"a\":2}", 13, &msg));
  free (msg);
}
END_TEST

START_TEST (paths)
{
  const char *w = NULL;
  char *p = api_path_for ("deploy", "demo", "web", &w);
  ck_assert_str_eq (p, "/apis/apps/v1/namespaces/demo/deployments/web");
  ck_assert_str_eq (w, "deployment.apps");
  free (p);
  p = api_path_for ("no", "demo", NULL, &w);
  ck_assert_str_eq (p, "/api/v1/nodes");
  ck_assert_str_eq (w, "node");
  free (p);
  p = api_path_for ("endpointslices.discovery.k8s.io", NULL, NULL, &w);
  ck_assert_str_eq (p, "/apis/discovery.k8s.io/v1/endpointslices");
  free (p);
  ck_assert_ptr_null (api_path_for ("frobs", NULL, NULL, &w));
}
END_TEST

/* The keys create_section writes after a pod's labels for its container
 * NAME of IMAGE (with PORT as its first containerPort when nonzero) in a
 * lab whose scenario is SC. Caller frees. */
static char *
pod_section_keys (const struct scenario *sc, const char *name, const char *image, int port, char **section)
{
  json_t *obj = json_pack ("{s:s, s:{s:s}, s:{s:[{s:s, s:s}]}}", "kind", "Pod", "metadata", "name", "x", "spec",
                           "containers", "name", name, "image", image);
  if (port)
    json_object_set_new (json_array_get (json_object_get (json_object_get (obj, "spec"), "containers"), 0),
                         "ports", json_pack ("[{s:i}]", "containerPort", port));
  char *field = NULL, *msg = NULL;
  *section = create_section (sc, obj, "default", &field, &msg);
  ck_assert_msg (*section != NULL, "%s: %s", field, msg);
  json_decref (obj);
  const char *keys = strstr (*section, "\nlabels = run=x\n");
  ck_assert_ptr_nonnull (keys);
  return xstrdup (keys + strlen ("\nlabels = run=x\n"));
}

/* A pod made through the API becomes a section naming its image (and its
 * container, where kubectl named it otherwise than create deployment
 * does), with app only where the image alone would not give it: [images]
 * over the built-ins; an HTTP app moves to the first containerPort; an
 * explicit none stays none; an image nothing maps runs the echo server
 * only on a containerPort. Loaded again (nslab apply of the lab's file),
 * the section gives the pod the same image, container and app. */
START_TEST (image_apps)
{
  static const char base[] = "[lab]\nname = img\ntemplate = k3s\n"
                             "[node cp1]\nrole = control-plane\n"
                             "nics = enp0s3=nat:10.0.2.15, enp0s8=hostonly:192.168.56.10\n";
  static const char images[] = "[images]\nmyapp = http:9000\nhttpd = none\n";
  cleanup_free char *with_images = xasprintf ("%s%s", base, images);
  char *path = unit_write_file ("images.ini", with_images);
  struct scenario *sc = NULL;
  nslab_error_t err = NULL;
  ck_assert_msg (scenario_load (path, &sc, &err) == 0, "%s", err ? err->msg : "");
  static const struct {
    const char *name, *image;
    int port;
    bool with_scenario;
    const char *want;
    enum app_kind kind;
    uint16_t app_port;
  } cases[] = {
    { "myapp", "example.com/team/myapp:1.2", 0, true, "image = example.com/team/myapp:1.2\n", APP_HTTP, 9000 },
    { "myapp", "example.com/team/myapp:1.2", 8443, true, "image = example.com/team/myapp:1.2\napp = http:8443\n",
      APP_HTTP, 8443 },
    { "myapp", "example.com/team/myapp:1.2", 0, false, "image = example.com/team/myapp:1.2\n", APP_NONE, 0 },
    { "httpd", "httpd:2.4", 0, true, "image = httpd:2.4\n", APP_NONE, 0 },
    { "httpd", "httpd:2.4", 8080, true, "image = httpd:2.4\n", APP_NONE, 0 },
    { "httpd", "httpd:2.4", 0, false, "image = httpd:2.4\n", APP_HTTP, 80 },
    { "nginx", "nginx", 0, true, "image = nginx\n", APP_HTTP, 80 },
    { "nginx", "nginx:1.27", 8080, true, "image = nginx:1.27\napp = http:8080\n", APP_HTTP, 8080 },
    { "busybox", "busybox", 0, true, "image = busybox\n", APP_NONE, 0 },
    { "busybox", "busybox", 5000, true, "image = busybox\napp = http:5000\n", APP_HTTP, 5000 },
    /* kubectl run names the container after the pod */
    { "x", "nginx", 0, true, "image = nginx\ncontainer = x\n", APP_HTTP, 80 },
    /* no image reference the scenario takes: nslab's own container, as before images */
    { "x", "NGINX", 80, true, "app = http:80\n", APP_HTTP, 80 },
  };
  for (size_t i = 0; i < ARRAY_SIZE (cases); i++)
    {
      cleanup_free char *section = NULL;
      cleanup_free char *keys
          = pod_section_keys (cases[i].with_scenario ? sc : NULL, cases[i].name, cases[i].image, cases[i].port, &section);
      ck_assert_msg (strcmp (keys, cases[i].want) == 0, "%s port %d: %s, want %s", cases[i].image, cases[i].port,
                     keys, cases[i].want);
      /* applied again */
      cleanup_free char *text = xasprintf ("%s%s", cases[i].with_scenario ? with_images : base, section);
      char *again_path = unit_write_file ("again.ini", text);
      struct scenario *again = NULL;
      ck_assert_msg (scenario_load (again_path, &again, &err) == 0, "%s", err ? err->msg : "");
      const struct workload_def *w = NULL;
      for (size_t k = 0; k < again->n_workloads; k++)
        if (strcmp (again->workloads[k].name, "x") == 0)
          w = &again->workloads[k];
      ck_assert_ptr_nonnull (w);
      bool valid = strcmp (cases[i].image, "NGINX") != 0;
      ck_assert (valid ? w->image && strcmp (w->image, cases[i].image) == 0 : w->image == NULL);
      ck_assert (valid ? w->container && strcmp (w->container, cases[i].name) == 0 : w->container == NULL);
      ck_assert_int_eq (w->app.kind, cases[i].kind);
      ck_assert_uint_eq (w->app.port, cases[i].app_port);
      scenario_free (again);
      free (again_path);
    }
  scenario_free (sc);
  free (path);
}
END_TEST

/* A manifest's securityContext becomes the scenario's privileged and
 * capabilities keys (any container's, the pod's one app standing for all);
 * what is no Linux capability is a 422 naming the field. */
START_TEST (security_context_keys)
{
  json_t *obj = json_pack ("{s:s, s:{s:s}, s:{s:[{s:s, s:s, s:{s:{s:[s, s]}}}, {s:s, s:s, s:{s:b}}]}}", "kind", "Pod",
                           "metadata", "name", "x", "spec", "containers", "name", "a", "image", "busybox",
                           "securityContext", "capabilities", "add", "NET_RAW", "CAP_NET_ADMIN", "name", "b", "image",
                           "busybox", "securityContext", "privileged", 1);
  char *field = NULL, *msg = NULL;
  char *section = create_section (NULL, obj, "default", &field, &msg);
  ck_assert_msg (section != NULL, "%s: %s", field, msg);
  ck_assert_msg (strstr (section, "\nprivileged = true\ncapabilities = NET_ADMIN, NET_RAW\n") != NULL, "%s", section);
  free (section);
  json_t *add = json_object_get (json_object_get (json_object_get (json_array_get (json_object_get (
                                     json_object_get (obj, "spec"), "containers"), 0), "securityContext"),
                                     "capabilities"), "add");
  json_array_append_new (add, json_string ("ALL"));
  ck_assert_ptr_null (create_section (NULL, obj, "default", &field, &msg));
  ck_assert_str_eq (field, "spec.containers[0].securityContext.capabilities.add[2]");
  ck_assert_str_eq (msg, "Unsupported value: \"ALL\": a Linux capability (NET_ADMIN, NET_RAW, ...; for ALL set privileged)");
  free (field);
  free (msg);
  json_decref (obj);
  /* none: no keys, containerd's default set */
  obj = json_pack ("{s:s, s:{s:s}, s:{s:[{s:s, s:s}]}}", "kind", "Pod", "metadata", "name", "x", "spec",
                   "containers", "name", "a", "image", "busybox");
  section = create_section (NULL, obj, "default", &field, &msg);
  ck_assert_ptr_nonnull (section);
  ck_assert_ptr_null (strstr (section, "privileged"));
  ck_assert_ptr_null (strstr (section, "capabilities"));
  free (section);
  json_decref (obj);
}
END_TEST

static char state_dir[] = "/tmp/nslab-api-unit-XXXXXX";

/* A state root with the seed lab's record and store in it. */
static void
make_lab (void)
{
  ck_assert_ptr_nonnull (mkdtemp (state_dir));
  setenv ("NSLAB_STATE_DIR", state_dir, 1);
  nslab_error_t err = NULL;
  struct scenario *sc = NULL;
  struct plan *p = NULL;
  ck_assert_msg (scenario_load (NSLAB_SRCDIR "/labs/k3s-virtualbox.ini", &sc, &err) == 0, "%s", err->msg);
  ck_assert_int_eq (plan_build (sc, &p, &err), 0);
  struct state_writer *w = NULL;
  ck_assert_msg (state_create ("k3s", NULL, &w, &err) == 0, "%s", err ? err->msg : "");
  ck_assert_msg (store_create (w, p->objects, &err) == 0, "%s", err ? err->msg : "");
  state_writer_close (w);
  plan_free (p);
  scenario_free (sc);
}

static void
rm_lab (void)
{
  cleanup_free char *cmd = xasprintf ("rm -rf '%s'", state_dir);
  ck_assert_int_eq (system (cmd), 0);
}

/* The events of one api_watch_next as "TYPE name" lines, in order. */
static char *
next_events (struct api *a, struct api_watch *w)
{
  struct strbuf raw, out;
  sb_init (&raw);
  sb_init (&out);
  nslab_error_t err = NULL;
  ck_assert_msg (api_watch_next (a, w, &raw, &err) == 0, "%s", err ? err->msg : "");
  for (char *save = NULL, *line = strtok_r (raw.buf ? raw.buf : (char *) "", "\n", &save); line;
       line = strtok_r (NULL, "\n", &save))
    {
      json_t *ev = load (line);
      const json_t *obj = json_object_get (ev, "object");
      if (strcmp (json_string_value (json_object_get (obj, "kind")), "Table") == 0)
        obj = json_object_get (json_array_get (json_object_get (obj, "rows"), 0), "object");
      sb_addf (&out, "%s %s\n", json_string_value (json_object_get (ev, "type")),
               json_string_value (json_object_get (json_object_get (obj, "metadata"), "name")));
      json_decref (ev);
    }
  sb_free (&raw);
  return out.buf ? sb_steal (&out) : xstrdup ("");
}

START_TEST (watch_events)
{
  if (geteuid () != 0)
    return; /* the store opens only root's files */
  make_lab ();
  nslab_error_t err = NULL;
  struct api *a = NULL;
  ck_assert_msg (api_open ("k3s", "v1.34.3+k3s1", "192.168.56.10:6443", &a, &err) == 0, "%s", err ? err->msg : "");
  struct api_request list = { .method = "GET", .path = "/api/v1/namespaces/demo/pods", .accept = "application/json" };
  struct api_response r;
  api_handle (a, &list, &r);
  ck_assert_int_eq (r.code, 200);
  json_t *items = json_incref (json_object_get (r.body, "items"));
  cleanup_free char *rv = xstrdup (json_string_value (json_object_get (json_object_get (r.body, "metadata"),
                                                                       "resourceVersion")));
  api_response_free (&r);
  ck_assert_int_eq (json_array_size (items), 2);
  const char *first = json_string_value (json_object_get (json_object_get (json_array_get (items, 0), "metadata"),
                                                          "name"));
  const char *second = json_string_value (json_object_get (json_object_get (json_array_get (items, 1), "metadata"),
                                                           "name"));

  /* From the list's version: nothing yet. As Table rows (kubectl get -w). */
  struct api_request wr = list;
  wr.accept = "application/json;as=Table;v=1;g=meta.k8s.io";
  struct api_watch *w = api_watch_start (a, &wr, rv, &r);
  ck_assert_ptr_nonnull (w);
  cleanup_free char *none = next_events (a, w);
  ck_assert_str_eq (none, "");
  /* Without a version: every object, ADDED. */
  struct api_watch *all = api_watch_start (a, &list, NULL, &r);
  cleanup_free char *added = next_events (a, all);
  cleanup_free char *want_added = xasprintf ("ADDED %s\nADDED %s\n", first, second);
  ck_assert_str_eq (added, want_added);

  /* One pod relabelled, the other deleted, a pod of another namespace made. */
  struct store *s = NULL;
  ck_assert_int_eq (store_open ("k3s", &s, &err), 0);
  json_t *p0 = json_deep_copy (json_array_get (items, 0));
  json_object_set_new (json_object_get (json_object_get (p0, "metadata"), "labels"), "tier", json_string ("x"));
  json_object_del (json_object_get (p0, "metadata"), "resourceVersion");
  ck_assert_int_eq (store_put (s, p0, &err), 0);
  ck_assert_int_eq (store_delete (s, "Pod", "demo", second, &err), 0);
  json_t *other = json_deep_copy (json_array_get (items, 0));
  json_object_set_new (json_object_get (other, "metadata"), "namespace", json_string ("default"));
  json_object_set_new (json_object_get (other, "metadata"), "name", json_string ("elsewhere"));
  json_object_del (json_object_get (other, "metadata"), "uid");
  json_object_del (json_object_get (other, "metadata"), "resourceVersion");
  ck_assert_int_eq (store_put (s, other, &err), 0);
  cleanup_free char *changed = next_events (a, w);
  cleanup_free char *want = xasprintf ("MODIFIED %s\nDELETED %s\n", first, second);
  ck_assert_str_eq (changed, want);
  cleanup_free char *again = next_events (a, w);
  ck_assert_str_eq (again, "");

  /* A selector the relabelled pod leaves: DELETED for that watch. */
  struct api_request sel = list;
  sel.label_selector = "tier=x";
  struct api_watch *sw = api_watch_start (a, &sel, NULL, &r);
  cleanup_free char *sel_added = next_events (a, sw);
  cleanup_free char *want_sel = xasprintf ("ADDED %s\n", first);
  ck_assert_str_eq (sel_added, want_sel);
  json_object_set_new (json_object_get (json_object_get (p0, "metadata"), "labels"), "tier", json_string ("y"));
  ck_assert_int_eq (store_put (s, p0, &err), 0);
  cleanup_free char *left = next_events (a, sw);
  cleanup_free char *want_left = xasprintf ("DELETED %s\n", first);
  ck_assert_str_eq (left, want_left);

  /* A store it cannot read: the poll fails, nothing is appended, and the
   * next one takes up where it started (the change made meanwhile comes). */
  cleanup_free char *db_path = xasprintf ("%s/k3s/%s", state_dir, STORE_FILE);
  sqlite3 *db = NULL;
  ck_assert_int_eq (sqlite3_open (db_path, &db), SQLITE_OK);
  sqlite3_busy_timeout (db, 10000);
  ck_assert_int_eq (sqlite3_exec (db, "UPDATE meta SET key = 'hidden' WHERE key = 'resourceVersion'", NULL, NULL, NULL),
                    SQLITE_OK);
  struct strbuf raw;
  sb_init (&raw);
  nslab_error_t werr = NULL;
  ck_assert_int_eq (api_watch_next (a, sw, &raw, &werr), -1);
  ck_assert_ptr_nonnull (werr);
  ck_assert_uint_eq (raw.len, 0);
  ck_assert_int_eq (sqlite3_exec (db, "UPDATE meta SET key = 'resourceVersion' WHERE key = 'hidden'", NULL, NULL, NULL),
                    SQLITE_OK);
  sqlite3_close (db);
  json_object_set_new (json_object_get (json_object_get (p0, "metadata"), "labels"), "tier", json_string ("x"));
  ck_assert_int_eq (store_put (s, p0, &err), 0);
  cleanup_free char *back = next_events (a, sw);
  cleanup_free char *want_back = xasprintf ("ADDED %s\n", first);
  ck_assert_str_eq (back, want_back);
  /* What ends a watch that cannot go on: kube-apiserver's ERROR event, a
   * Status with the error's message. */
  cleanup_free char *msg = nslab_error_line (werr);
  api_watch_error (werr, &raw);
  nslab_error_free (&werr);
  ck_assert_uint_gt (raw.len, 0);
  ck_assert_int_eq (raw.buf[raw.len - 1], '\n');
  ck_assert_ptr_null (memchr (raw.buf, '\n', raw.len - 1));
  json_t *ev = load (raw.buf);
  ck_assert_str_eq (json_string_value (json_object_get (ev, "type")), "ERROR");
  const json_t *st = json_object_get (ev, "object");
  ck_assert_str_eq (json_string_value (json_object_get (st, "kind")), "Status");
  ck_assert_str_eq (json_string_value (json_object_get (st, "status")), "Failure");
  ck_assert_str_eq (json_string_value (json_object_get (st, "reason")), "InternalError");
  ck_assert_int_eq (json_integer_value (json_object_get (st, "code")), 500);
  ck_assert_str_eq (json_string_value (json_object_get (st, "message")), msg);
  ck_assert_ptr_nonnull (strstr (msg, "resourceVersion"));
  json_decref (ev);
  sb_free (&raw);

  /* Errors as answers: an unknown collection, a bad selector. */
  struct api_request bad = list;
  bad.path = "/api/v1/frobs";
  ck_assert_ptr_null (api_watch_start (a, &bad, NULL, &r));
  ck_assert_int_eq (r.code, 404);
  api_response_free (&r);
  bad = list;
  bad.label_selector = "a in (";
  ck_assert_ptr_null (api_watch_start (a, &bad, NULL, &r));
  ck_assert_int_eq (r.code, 400);
  api_response_free (&r);

  json_decref (p0);
  json_decref (other);
  json_decref (items);
  store_close (s);
  api_watch_free (w);
  api_watch_free (all);
  api_watch_free (sw);
  api_close (a);
  rm_lab ();
}
END_TEST

/* /openapi/v2, which kubectl before 1.27 needs for kubectl apply: gnostic's
 * openapi_v2.Document in protobuf when asked for it (as `protoc
 * --decode_raw` reads it: 1: "2.0", 2 { 1: "Kubernetes", 2: VERSION }), in
 * a media type Go's mime.ParseMediaType accepts; JSON otherwise. */
START_TEST (openapi_v2)
{
  if (geteuid () != 0)
    return;
  make_lab ();
  nslab_error_t err = NULL;
  struct api *a = NULL;
  ck_assert_msg (api_open ("k3s", "v1.34.3+k3s1", "192.168.56.10:6443", &a, &err) == 0, "%s", err ? err->msg : "");
  struct api_request req = { .method = "GET", .path = "/openapi/v2",
                             .accept = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf" };
  struct api_response r;
  api_handle (a, &req, &r);
  ck_assert_int_eq (r.code, 200);
  ck_assert_str_eq (r.content_type, "application/com.github.proto-openapi.spec.v2.v1.0+protobuf");
  static const char want[] = "\x0a\x03" "2.0" "\x12\x1a" "\x0a\x0a" "Kubernetes" "\x12\x0c" "v1.34.3+k3s1";
  ck_assert_uint_eq (strlen (r.text), sizeof want - 1);
  ck_assert_mem_eq (r.text, want, sizeof want - 1);
  api_response_free (&r);
  req.accept = "application/json";
  api_handle (a, &req, &r);
  ck_assert_int_eq (r.code, 200);
  ck_assert_str_eq (json_string_value (json_object_get (r.body, "swagger")), "2.0");
  api_response_free (&r);
  api_close (a);
  rm_lab ();
}
END_TEST

/* The server's answers are written by json_text: the bytes json_dumps
 * writes, small and large (past glibc's mmap threshold, where realloc
 * moves pages), and its length. */
START_TEST (answer_text_as_json_dumps)
{
  json_t *big = json_array ();
  for (int i = 0; i < 20000; i++)
    json_array_append_new (big, json_pack ("{s:i, s:s}", "i", i, "s", "quote \" tab \t \u00e9"));
  json_t *values[] = { json_object (), json_array (), json_string ("a\nb"), json_integer (-3), big };
  for (size_t k = 0; k < ARRAY_SIZE (values); k++)
    for (size_t flags = 0; flags < 2; flags++)
      {
        size_t f = flags ? JSON_COMPACT : JSON_INDENT (2);
        char *want = json_dumps (values[k], f | JSON_ENCODE_ANY);
        size_t len = 99;
        char *got = json_text (values[k], f | JSON_ENCODE_ANY, &len);
        ck_assert_ptr_nonnull (got);
        ck_assert_uint_eq (len, strlen (want));
        ck_assert_str_eq (got, want);
        free (want);
        free (got);
      }
  size_t big_len = 0;
  char *big_text = json_text (big, JSON_COMPACT, &big_len);
  ck_assert_uint_gt (big_len, 512 * 1024);
  free (big_text);
  for (size_t k = 0; k < ARRAY_SIZE (values); k++)
    json_decref (values[k]);
}
END_TEST

/* One list of members, set into a jansson object or written as text
 * (json_out, the plan ops' snapshot text): the same bytes, with what
 * jansson drops (a NULL value, a string that is not UTF-8) dropped in
 * both. */
static void
members (struct json_out *o)
{
  static const uint8_t mac[6] = { 0x08, 0x00, 0x27, 0xab, 0xcd, 0xef };
  jo_str (o, "s", "web \"x\"\n\u00e9");
  jo_str (o, "gone", NULL);
  jo_str (o, "bad", "ok\xff");
  jo_str_or_null (o, "maybe", NULL);
  jo_str_or_null (o, "there", "v");
  jo_int (o, "big", INT64_MIN);
  jo_int (o, "zero", 0);
  jo_bool (o, "t", true);
  jo_bool (o, "f", false);
  jo_null (o, "n");
  jo_ip (o, "ip", 0x0a2a0001);
  jo_cidr (o, "cidr", (struct cidr) { .addr = 0x0a2a0000, .len = 24 });
  jo_mac (o, "mac", mac);
  jo_ip_or_null (o, "no ip", 0);
  jo_ip_or_null (o, "an ip", 0x0a2a0002);
  jo_mac_or_null (o, "no mac", NULL);
  jo_mac_or_null (o, "a mac", mac);
  jo_set (o, "tree", json_pack ("{s:[i, s], s:n}", "a", 1, "b", "c"));
  jo_set (o, "refused", json_pack ("{s:s}", "a", NULL));
  jo_str (o, "last", "");
}

START_TEST (json_out_tree_and_text_agree)
{
  struct json_out tree = { .obj = json_object () };
  members (&tree);
  char *want = json_dumps (tree.obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref (tree.obj);
  struct strbuf sb;
  sb_init (&sb);
  sb_addn (&sb, "{", 1);
  struct json_out text = { .sb = &sb };
  members (&text);
  sb_addn (&sb, "}", 1);
  char *got = sb_steal (&sb);
  ck_assert_str_eq (got, want);
  ck_assert_ptr_null (strstr (got, "gone"));
  ck_assert_ptr_null (strstr (got, "bad"));
  ck_assert_ptr_null (strstr (got, "refused"));
  ck_assert_ptr_nonnull (strstr (got, "\"maybe\":null"));
  free (got);
  free (want);
  /* nothing set: an empty object */
  sb_init (&sb);
  struct json_out none = { .sb = &sb };
  jo_str (&none, "x", NULL);
  ck_assert_uint_eq (sb.len, 0);
  sb_free (&sb);
}
END_TEST

/* Nested objects and arrays, as the plan's ops write them (an owner, an
 * app with its argv, env, files): the same members through json_out
 * nested (tree and text) as jansson's json_pack and array appends keep
 * them, what they drop included. */
static void
nested_members (struct json_out *o)
{
  static char *const strv[] = { "a", "b\xff", "c", NULL };
  static char *const files[] = { "/etc/a", "x", "/etc/b", "bad\xfe", "/etc/c", "y", NULL };
  struct json_out sub, a, f;
  static const struct {
    const char *key, *kind, *ns, *name;
  } owners[] = {
    { "owner", "Pod", NULL, "web" }, { "no name", "Pod", "default", NULL }, { "bad ns", "Pod", "d\xff", "web" },
    { "with ns", "Node", "default", "cp1" },
  };
  for (size_t i = 0; i < ARRAY_SIZE (owners); i++)
    {
      jo_open_object (o, owners[i].key, true, &sub);
      jo_str (&sub, "kind", owners[i].kind);
      jo_str_or_null (&sub, "namespace", owners[i].ns);
      jo_str (&sub, "name", owners[i].name);
      jo_close (&sub);
    }
  jo_strv (o, "strv", strv);
  jo_strv (o, "none", NULL);
  jo_open_array (o, "files", &a);
  for (char *const *pc = files; pc[0] && pc[1]; pc += 2)
    {
      jo_open_object (&a, NULL, true, &f);
      jo_str (&f, "path", pc[0]);
      jo_str (&f, "content", pc[1]);
      jo_close (&f);
    }
  jo_close (&a);
  /* a strict object keeps a nested array that lost an element, and is
   * dropped with a nested strict object that failed */
  jo_open_object (o, "app", true, &sub);
  jo_str (&sub, "type", "command");
  jo_strv (&sub, "argv", strv);
  jo_close (&sub);
  jo_open_object (o, "outer", true, &sub);
  jo_str (&sub, "a", "b");
  jo_open_object (&sub, "inner", true, &f);
  jo_str (&f, "x", NULL);
  jo_close (&f);
  jo_close (&sub);
  /* not strict: keeps what it can */
  jo_open_object (o, "loose", false, &sub);
  jo_str (&sub, "gone", NULL);
  jo_int (&sub, "n", 7);
  jo_close (&sub);
  jo_open_array (o, "empty", &a);
  jo_close (&a);
  jo_open_object (o, "empty obj", true, &sub);
  jo_close (&sub);
  /* labels: a key jansson refuses goes alone; an object under one, whole */
  jo_open_object (o, "labels", false, &sub);
  jo_str (&sub, "ok", "1");
  jo_str (&sub, "k\xff", "v");
  jo_close (&sub);
  jo_open_object (o, "key\xfe", false, &sub);
  jo_str (&sub, "x", "y");
  jo_close (&sub);
  jo_str (o, "after", "z");
}

static json_t *
strv_as_jansson (char *const *v)
{
  json_t *a = json_array ();
  for (; *v; v++)
    json_array_append_new (a, json_string (*v));
  return a;
}

START_TEST (json_out_nested_as_json_pack)
{
  static char *const strv[] = { "a", "b\xff", "c", NULL };
  json_t *want_tree = json_object ();
  json_t *v = json_pack ("{s:s, s:o, s:s}", "kind", "Pod", "namespace", json_null (), "name", "web");
  json_object_set_new (want_tree, "owner", v);
  ck_assert_ptr_null (json_pack ("{s:s, s:o, s:s}", "kind", "Pod", "namespace", json_string ("default"), "name", NULL));
  ck_assert_ptr_null (json_pack ("{s:s, s:o, s:s}", "kind", "Pod", "namespace", json_string ("d\xff"), "name", "web"));
  json_object_set_new (want_tree, "with ns",
                       json_pack ("{s:s, s:o, s:s}", "kind", "Node", "namespace", json_string ("default"), "name", "cp1"));
  json_object_set_new (want_tree, "strv", strv_as_jansson (strv));
  json_object_set_new (want_tree, "none", json_null ());
  json_t *files = json_array ();
  json_array_append_new (files, json_pack ("{s:s, s:s}", "path", "/etc/a", "content", "x"));
  json_array_append_new (files, json_pack ("{s:s, s:s}", "path", "/etc/b", "content", "bad\xfe"));
  json_array_append_new (files, json_pack ("{s:s, s:s}", "path", "/etc/c", "content", "y"));
  json_object_set_new (want_tree, "files", files);
  json_object_set_new (want_tree, "app", json_pack ("{s:s, s:o}", "type", "command", "argv", strv_as_jansson (strv)));
  ck_assert_ptr_null (json_pack ("{s:s, s:o}", "a", "b", "inner", json_pack ("{s:s}", "x", NULL)));
  json_object_set_new (want_tree, "loose", json_pack ("{s:i}", "n", 7));
  json_object_set_new (want_tree, "empty", json_array ());
  json_object_set_new (want_tree, "empty obj", json_object ());
  json_t *labels = json_object ();
  json_object_set_new (labels, "ok", json_string ("1"));
  ck_assert_int_eq (json_object_set_new (labels, "k\xff", json_string ("v")), -1);
  json_object_set_new (want_tree, "labels", labels);
  ck_assert_int_eq (json_object_set_new (want_tree, "key\xfe", json_pack ("{s:s}", "x", "y")), -1);
  json_object_set_new (want_tree, "after", json_string ("z"));
  char *want = json_dumps (want_tree, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref (want_tree);
  ck_assert_ptr_nonnull (strstr (want, "\"files\":[{\"path\":\"/etc/a\",\"content\":\"x\"},{\"path\":\"/etc/c\""));

  struct json_out tree = { .obj = json_object () };
  nested_members (&tree);
  char *got_tree = json_dumps (tree.obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref (tree.obj);
  ck_assert_str_eq (got_tree, want);

  struct strbuf sb;
  sb_init (&sb);
  sb_addn (&sb, "{", 1);
  struct json_out text = { .sb = &sb };
  nested_members (&text);
  sb_addn (&sb, "}", 1);
  char *got_text = sb_steal (&sb);
  ck_assert_str_eq (got_text, want);
  free (got_text);
  free (got_tree);
  free (want);
}
END_TEST

/* json_text writes compact text itself: byte for byte what json_dumps
 * writes, for every escape, UTF-8 of each length, keys that need escaping,
 * nesting, numbers, and NULL for what jansson refuses (invalid UTF-8). */
START_TEST (compact_text_as_json_dumps)
{
  char all[0x80 + 1];
  for (int c = 1; c < 0x80; c++)
    all[c - 1] = (char) c;
  all[0x7f] = '\0';
  json_t *obj = json_object ();
  json_object_set_new (obj, "plain", json_string ("abc"));
  json_object_set_new (obj, "ascii", json_string (all));
  json_object_set_new (obj, "utf8", json_string ("\u00e9 \u20ac \U0001F600 \u07ff \uffff"));
  json_object_set_new (obj, "nul", json_stringn ("a\0b", 3));
  json_object_set_new (obj, "k\"e\\y\n\x01", json_true ());
  json_object_set_new (obj, "", json_false ());
  json_object_set_new (obj, "slash/", json_string ("/</script>"));
  json_object_set_new (obj, "ints", json_pack ("[I, I, i, i]", (json_int_t) INT64_MAX, (json_int_t) INT64_MIN, 0, -1));
  json_object_set_new (obj, "reals", json_pack ("[f, f, f]", 1.0, 0.1, -2.5e-300));
  json_t *nested = json_pack ("{s:[[], {}, [n, {s:{}}]]}", "x", "y");
  ck_assert_ptr_nonnull (nested);
  json_object_set_new (obj, "nested", nested);
  json_object_setn_new (obj, "n\0ul", 4, json_null ());
  json_t *values[] = { obj, json_array (), json_object (), json_string ("\t"), json_integer (7), json_real (3.0), json_null () };
  size_t flag_sets[] = { JSON_COMPACT, JSON_COMPACT | JSON_PRESERVE_ORDER, JSON_COMPACT | JSON_ENCODE_ANY,
                         JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER, JSON_COMPACT | JSON_SORT_KEYS,
                         JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ESCAPE_SLASH, 0 };
  for (size_t k = 0; k < ARRAY_SIZE (values); k++)
    for (size_t f = 0; f < ARRAY_SIZE (flag_sets); f++)
      {
        char *want = json_dumps (values[k], flag_sets[f]);
        size_t len = 99;
        char *got = json_text (values[k], flag_sets[f], &len);
        if (want == NULL)
          {
            ck_assert_ptr_null (got);
            continue;
          }
        ck_assert_ptr_nonnull (got);
        ck_assert_uint_eq (len, strlen (want));
        ck_assert_str_eq (got, want);
        free (want);
        free (got);
      }
  /* invalid UTF-8 (each kind jansson refuses) is refused as jansson does */
  static const char *const bad[] = { "\x80", "\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                                     "\xf5\x80\x80\x80", "\xc3", "\xe2\x82", "ok\xff" };
  for (size_t i = 0; i < ARRAY_SIZE (bad); i++)
    {
      json_t *a = json_pack ("[o]", json_stringn_nocheck (bad[i], strlen (bad[i])));
      char *want = json_dumps (a, JSON_COMPACT);
      size_t len = 0;
      char *got = json_text (a, JSON_COMPACT, &len);
      ck_assert_msg (want == NULL && got == NULL, "bad[%zu]: %s / %s", i, want ? want : "NULL", got ? got : "NULL");
      json_decref (a);
    }
  for (size_t k = 0; k < ARRAY_SIZE (values); k++)
    json_decref (values[k]);
}
END_TEST

static Suite *
make_suite (void)
{
  Suite *s = suite_create ("apiserver");
  TCase *tc = tcase_create ("core");
  tcase_add_test (tc, endpoints_cell);
  tcase_add_test (tc, service_cells);
  tcase_add_test (tc, deployment_and_node_cells);
  tcase_add_test (tc, selectors);
  tcase_add_test (tc, merge_patch);
  tcase_add_test (tc, paths);
  tcase_add_test (tc, image_apps);
  tcase_add_test (tc, security_context_keys);
  tcase_add_test (tc, watch_events);
  tcase_add_test (tc, openapi_v2);
  tcase_add_test (tc, answer_text_as_json_dumps);
  tcase_add_test (tc, compact_text_as_json_dumps);
  tcase_add_test (tc, json_out_tree_and_text_agree);
  tcase_add_test (tc, json_out_nested_as_json_pack);
  suite_add_tcase (s, tc);
  return s;
}

UNIT_MAIN (make_suite)
