/* The lab's object store: what up writes (the seed lab's objects as the
 * Kubernetes API holds them, with owner references that resolve), and the
 * store's own rules: one monotonic resourceVersion, a replaced object keeps
 * its uid and creationTimestamp, only root's regular files are opened. Runs
 * as root on a private temp state root. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/json.h"
#include "control/controller.h"
#include "control/converge.h"
#include "control/store_sync.h"
#include "dns/coredns.h"
#include "dns/kubernetes_plugin.h"
#include "k8s/resources.h"
#include "plan/kube_proxy_sync.h"
#include "plan/op.h"
#include "plan/plan.h"
#include "scenario/scenario.h"
#include "state/journal.h"
#include "state/state.h"
#include "state/store.h"

static char state_dir[] = "/tmp/nslab-store-unit-XXXXXX";

/* A lab as up leaves it, for one test: its scenario (a copy in the state
 * root's labs/, beside a templates link, as in a checkout), the plan built
 * of it, the lab's record and the store made of that plan, open. */
struct lab {
  char *path;
  struct scenario *sc;
  struct plan *p;
  struct store *s;
};

/* The lab of the scenario TEXT, or of the seed lab's when NULL, in a new
 * state root; STARTING: its pods planned as up starts them (probed pods
 * not ready yet). */
static void
lab_up (struct lab *l, const char *text, bool starting)
{
  ck_assert_ptr_nonnull (mkdtemp (state_dir));
  setenv ("NSLAB_STATE_DIR", state_dir, 1);
  l->path = xasprintf ("%s/labs/lab.ini", state_dir);
  cleanup_free char *dirs = xasprintf ("mkdir '%s/labs' && ln -s '%s' '%s/templates' && cp '%s' '%s'", state_dir,
                                       NSLAB_SRCDIR "/templates", state_dir,
                                       NSLAB_SRCDIR "/labs/k3s-virtualbox.ini", l->path);
  ck_assert_int_eq (system (dirs), 0);
  if (text)
    {
      FILE *f = fopen (l->path, "we");
      ck_assert_ptr_nonnull (f);
      ck_assert_int_ge (fputs (text, f), 0);
      ck_assert_int_eq (fclose (f), 0);
    }
  nslab_error_t err = NULL;
  l->sc = NULL;
  l->p = NULL;
  ck_assert_msg (scenario_load (l->path, &l->sc, &err) == 0, "%s", err ? err->msg : "");
  ck_assert_int_eq ((starting ? plan_build_starting : plan_build) (l->sc, &l->p, &err), 0);
  struct state_writer *w = NULL;
  ck_assert_msg (state_create (l->sc->lab, NULL, &w, &err) == 0, "%s", err ? err->msg : "");
  ck_assert_msg (store_create (w, l->p->objects, &err) == 0, "%s", err ? err->msg : "");
  state_writer_close (w);
  l->s = NULL;
  ck_assert_msg (store_open (l->sc->lab, &l->s, &err) == 0, "%s", err ? err->msg : "");
}

/* lab_up's lab closed and its state root removed. */
static void
lab_down (struct lab *l)
{
  if (l->s)
    store_close (l->s);
  plan_free (l->p);
  scenario_free (l->sc);
  free (l->path);
  cleanup_free char *cmd = xasprintf ("rm -rf '%s'", state_dir);
  ck_assert_int_eq (system (cmd), 0);
}

static struct store *
open_store (void)
{
  struct store *s = NULL;
  nslab_error_t err = NULL;
  ck_assert_msg (store_open ("k3s", &s, &err) == 0, "%s", err ? err->msg : "");
  return s;
}

static const char *
meta (const json_t *obj, const char *key)
{
  return json_string_value (json_object_get (json_object_get (obj, "metadata"), key));
}

START_TEST (test_up_objects)
{
  UNIT_REQUIRE_ROOT ();
  struct lab l;
  lab_up (&l, NULL, false);
  struct store *s = l.s;
  nslab_error_t err = NULL;
  json_t *pods = NULL, *rss = NULL, *deploys = NULL, *nodes = NULL;
  ck_assert_int_eq (store_list (s, "Pod", NULL, &pods, &err), 0);
  ck_assert_int_eq (store_list (s, "ReplicaSet", "demo", &rss, &err), 0);
  ck_assert_int_eq (store_list (s, "Deployment", "demo", &deploys, &err), 0);
  ck_assert_int_eq (store_list (s, "Node", NULL, &nodes, &err), 0);
  /* The seed: 8 pods and coredns's, the web deployment's replicaset web-<hash>, 3 nodes. */
  ck_assert_uint_eq (json_array_size (pods), 9);
  ck_assert_uint_eq (json_array_size (nodes), 3);
  ck_assert_uint_eq (json_array_size (deploys), 1);
  ck_assert_uint_eq (json_array_size (rss), 1);
  json_t *rs = json_array_get (rss, 0), *deploy = json_array_get (deploys, 0);
  /* Owner references name their owner's uid, as the controllers set them. */
  json_t *rs_owner = json_array_get (json_object_get (json_object_get (rs, "metadata"), "ownerReferences"), 0);
  ck_assert_str_eq (json_string_value (json_object_get (rs_owner, "uid")), meta (deploy, "uid"));
  size_t web = 0;
  for (size_t i = 0; i < json_array_size (pods); i++)
    {
      json_t *pod = json_array_get (pods, i);
      json_t *ref = json_array_get (json_object_get (json_object_get (pod, "metadata"), "ownerReferences"), 0);
      if (ref == NULL || strcmp (json_string_value (json_object_get (ref, "name")), meta (rs, "name")) != 0)
        continue;
      web++;
      ck_assert_str_eq (json_string_value (json_object_get (ref, "uid")), meta (rs, "uid"));
      /* The pod-template-hash label ties pod, replicaset and name together. */
      const char *hash = json_string_value (json_object_get (json_object_get (json_object_get (pod, "metadata"),
                                                                              "labels"), "pod-template-hash"));
      ck_assert_ptr_nonnull (strstr (meta (rs, "name"), hash));
      ck_assert_str_eq (json_string_value (json_object_get (json_object_get (pod, "status"), "phase")), "Running");
      /* Its readinessProbe says the period the control loop probes with. */
      json_t *probe = json_object_get (
          json_array_get (json_object_get (json_object_get (pod, "spec"), "containers"), 0), "readinessProbe");
      ck_assert_int_eq (json_integer_value (json_object_get (probe, "periodSeconds")) * 1000,
                        CONTROL_PROBE_PERIOD_MS);
    }
  ck_assert_uint_eq (web, 2);
  /* kubernetes.default is 10.43.0.1 with the apiserver on cp1:6443 behind it. */
  json_t *svc = NULL, *ep = NULL;
  ck_assert_int_eq (store_get (s, "Service", "default", "kubernetes", &svc, &err), 0);
  ck_assert_str_eq (json_string_value (json_object_get (json_object_get (svc, "spec"), "clusterIP")), "10.43.0.1");
  ck_assert_int_eq (store_get (s, "Endpoints", "default", "kubernetes", &ep, &err), 0);
  json_t *addr = json_array_get (json_object_get (json_array_get (json_object_get (ep, "subsets"), 0), "addresses"), 0);
  ck_assert_str_eq (json_string_value (json_object_get (addr, "ip")), "192.168.56.10");
  /* Its EndpointSlice is the apiserver's (reconcilers/endpointsadapter.go):
   * named as the service, the service-name label alone, no owner. The
   * EndpointSlice controller's are generateName'd: SERVICE- and five of
   * SafeEncodeString's characters. */
  json_t *slices = NULL;
  ck_assert_int_eq (store_list (s, "EndpointSlice", NULL, &slices, &err), 0);
  ck_assert_uint_eq (json_array_size (slices), 4);
  for (size_t i = 0; i < json_array_size (slices); i++)
    {
      json_t *sl = json_array_get (slices, i), *m = json_object_get (sl, "metadata");
      json_t *labels = json_object_get (m, "labels");
      const char *svc_name = json_string_value (json_object_get (labels, "kubernetes.io/service-name"));
      ck_assert_ptr_nonnull (svc_name);
      if (strcmp (svc_name, "kubernetes") == 0)
        {
          ck_assert_str_eq (meta (sl, "name"), "kubernetes");
          ck_assert_uint_eq (json_object_size (labels), 1);
          ck_assert_ptr_null (json_object_get (m, "ownerReferences"));
          continue;
        }
      const char *name = meta (sl, "name");
      size_t n = strlen (svc_name);
      ck_assert_msg (strncmp (name, svc_name, n) == 0 && name[n] == '-' && strlen (name + n + 1) == 5
                         && strspn (name + n + 1, "bcdfghjklmnpqrstvwxz2456789") == 5,
                     "%s", name);
      ck_assert_ptr_nonnull (json_object_get (m, "ownerReferences"));
    }
  json_decref (slices);
  /* Every object has its own uid and a resourceVersion of the one counter. */
  uint64_t rv = 0;
  ck_assert_int_eq (store_resource_version (s, &rv, &err), 0);
  ck_assert_uint_ge (rv, json_array_size (pods) + json_array_size (nodes) + 2);
  json_decref (svc);
  json_decref (ep);
  json_decref (pods);
  json_decref (rss);
  json_decref (deploys);
  json_decref (nodes);
  lab_down (&l);
}
END_TEST

START_TEST (test_put_get_delete)
{
  UNIT_REQUIRE_ROOT ();
  struct lab l;
  lab_up (&l, NULL, false);
  struct store *s = l.s;
  nslab_error_t err = NULL;
  json_t *pod = NULL;
  ck_assert_int_eq (store_get (s, "Pod", "demo", "nope", &pod, &err), 0);
  ck_assert_ptr_null (pod);
  uint64_t rv0 = 0, rv1 = 0;
  ck_assert_int_eq (store_resource_version (s, &rv0, &err), 0);
  json_t *cm = json_pack ("{s:s, s:s, s:{s:s, s:s}, s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap", "metadata",
                          "name", "cfg", "namespace", "demo", "data", "k", "v1");
  ck_assert_int_eq (store_put (s, cm, &err), 0);
  cleanup_free char *uid = xstrdup (meta (cm, "uid"));
  cleanup_free char *created = xstrdup (meta (cm, "creationTimestamp"));
  ck_assert_uint_eq (strlen (uid), 36);
  ck_assert_int_eq (store_resource_version (s, &rv1, &err), 0);
  ck_assert_uint_eq (rv1, rv0 + 1);
  char want_rv[32];
  snprintf (want_rv, sizeof want_rv, "%llu", (unsigned long long) rv1);
  ck_assert_str_eq (meta (cm, "resourceVersion"), want_rv);
  /* Replaced: a new resourceVersion, the same identity. */
  json_t *cm2 = json_pack ("{s:s, s:s, s:{s:s, s:s}, s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap", "metadata",
                           "name", "cfg", "namespace", "demo", "data", "k", "v2");
  ck_assert_int_eq (store_put (s, cm2, &err), 0);
  ck_assert_str_eq (meta (cm2, "uid"), uid);
  ck_assert_str_eq (meta (cm2, "creationTimestamp"), created);
  json_t *got = NULL;
  ck_assert_int_eq (store_get (s, "ConfigMap", "demo", "cfg", &got, &err), 0);
  ck_assert_str_eq (json_string_value (json_object_get (json_object_get (got, "data"), "k")), "v2");
  ck_assert_str_eq (meta (got, "resourceVersion"), meta (cm2, "resourceVersion"));
  /* A second reader sees what the first wrote (WAL, separate connection). */
  struct store *other = open_store ();
  json_t *seen = NULL;
  ck_assert_int_eq (store_get (other, "ConfigMap", "demo", "cfg", &seen, &err), 0);
  ck_assert_ptr_nonnull (seen);
  ck_assert_int_eq (store_delete (other, "ConfigMap", "demo", "cfg", &err), 0);
  json_decref (seen);
  ck_assert_int_eq (store_get (s, "ConfigMap", "demo", "cfg", &seen, &err), 0);
  ck_assert_ptr_null (seen);
  uint64_t rv2 = 0;
  ck_assert_int_eq (store_resource_version (s, &rv2, &err), 0);
  ck_assert_uint_eq (rv2, rv1 + 2);
  json_decref (got);
  json_decref (cm);
  json_decref (cm2);
  store_close (other);
  lab_down (&l);
}
END_TEST

/* What store_kinds_version answers for KIND, and what counting its rows
 * does: the count agrees. */
static struct store_kinds_version
kv_of (struct store *s, const char *kind, size_t *rows)
{
  nslab_error_t err = NULL;
  struct store_kinds_version kv;
  ck_assert_int_eq (store_kinds_version (s, kind, NULL, NULL, &kv, &err), 0);
  json_t *list = NULL;
  ck_assert_int_eq (store_list (s, kind, NULL, &list, &err), 0);
  *rows = json_array_size (list);
  json_decref (list);
  return kv;
}

static void
put_config_map (struct store *s, const char *name, const char *value)
{
  nslab_error_t err = NULL;
  json_t *cm = json_pack ("{s:s, s:s, s:{s:s, s:s}, s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap", "metadata",
                          "name", name, "namespace", "demo", "data", "k", value);
  ck_assert_int_eq (store_put (s, cm, &err), 0);
  json_decref (cm);
}

/* The pair of a kind changes with every put and delete of it (a new
 * object, a replaced one, the newest deleted, from another connection),
 * and only then; the count is the kind's objects'. So in a store made
 * before the kinds table, which counts its rows. */
START_TEST (test_kinds_version)
{
  UNIT_REQUIRE_ROOT ();
  struct lab l;
  lab_up (&l, NULL, false);
  nslab_error_t err = NULL;
  for (int pass = 0; pass < 2; pass++)
    {
      struct store *other = open_store ();
      size_t rows = 0, pod_rows = 0;
      struct store_kinds_version pods = kv_of (l.s, "Pod", &pod_rows);
      ck_assert_uint_eq (pods.count, pod_rows);
      ck_assert_uint_gt (pods.count, 0);
      struct store_kinds_version was = kv_of (l.s, "ConfigMap", &rows), now;
      ck_assert_uint_eq (was.count, rows);
      /* new, new, replaced (by the other connection), the newest deleted, the other deleted */
      for (int step = 0; step < 5; step++)
        {
          char name[16];
          snprintf (name, sizeof name, "kv%d-%d", pass, step == 1 ? 1 : 0);
          if (step < 2)
            put_config_map (l.s, name, "a");
          else if (step == 2)
            put_config_map (other, name, "b");
          else
            {
              snprintf (name, sizeof name, "kv%d-%d", pass, step == 3 ? 0 : 1);
              ck_assert_int_eq (store_delete (step == 3 ? l.s : other, "ConfigMap", "demo", name, &err), 0);
            }
          now = kv_of (l.s, "ConfigMap", &rows);
          ck_assert_msg (now.count != was.count || now.newest != was.newest, "pass %d step %d: the pair stayed", pass,
                         step);
          ck_assert_uint_eq (now.count, rows);
          was = now;
          struct store_kinds_version p = kv_of (l.s, "Pod", &pod_rows);
          ck_assert (p.count == pods.count && p.newest == pods.newest);
        }
      /* data_version: moved by the other connection's commit only */
      uint64_t dv0 = 0, dv1 = 0, dv2 = 0;
      ck_assert_int_eq (store_data_version (l.s, &dv0, &err), 0);
      kv_of (l.s, "ConfigMap", &rows);
      ck_assert_int_eq (store_data_version (l.s, &dv1, &err), 0);
      ck_assert_uint_eq (dv1, dv0);
      put_config_map (other, "kv-dv", "a");
      ck_assert_int_eq (store_data_version (l.s, &dv2, &err), 0);
      ck_assert_uint_ne (dv2, dv1);
      ck_assert_int_eq (store_delete (l.s, "ConfigMap", "demo", "kv-dv", &err), 0);
      /* every kind but ConfigMap: unmoved by them */
      struct store_kinds_version except;
      ck_assert_int_eq (store_kinds_version_except (l.s, (const char *const[4]) { "ConfigMap", NULL, NULL, NULL },
                                                    &except, &err),
                        0);
      put_config_map (l.s, "kv-last", "a");
      struct store_kinds_version after;
      ck_assert_int_eq (store_kinds_version_except (l.s, (const char *const[4]) { "ConfigMap", NULL, NULL, NULL },
                                                    &after, &err),
                        0);
      ck_assert (after.count == except.count && after.newest == except.newest);
      ck_assert_int_eq (store_delete (l.s, "ConfigMap", "demo", "kv-last", &err), 0);
      store_close (other);
      if (pass == 1)
        break;
      /* the store as an older nslab made it */
      store_close (l.s);
      cleanup_free char *db_path = xasprintf ("%s/k3s/store.db", state_dir);
      sqlite3 *db = NULL;
      ck_assert_int_eq (sqlite3_open (db_path, &db), SQLITE_OK);
      ck_assert_int_eq (sqlite3_exec (db, "DROP TRIGGER kinds_insert; DROP TRIGGER kinds_delete; DROP TABLE kinds;",
                                      NULL, NULL, NULL),
                        SQLITE_OK);
      sqlite3_close (db);
      l.s = open_store ();
    }
  lab_down (&l);
}
END_TEST

/* The light listings agree with the bodies they stand for. */
START_TEST (test_index_and_meta_lists)
{
  UNIT_REQUIRE_ROOT ();
  struct lab l;
  lab_up (&l, NULL, false);
  struct store *s = l.s;
  nslab_error_t err = NULL;
  static const char *const kinds[] = { "ReplicaSet", "EndpointSlice", "Pod", "Deployment" };
  for (size_t k = 0; k < ARRAY_SIZE (kinds); k++)
    {
      json_t *full = NULL, *index = NULL;
      struct stored_metas metas;
      ck_assert_int_eq (store_list (s, kinds[k], NULL, &full, &err), 0);
      ck_assert_int_eq (store_list_index (s, kinds[k], &index, &err), 0);
      ck_assert_int_eq (store_list_meta (s, kinds[k], &metas, &err), 0);
      ck_assert_uint_gt (json_array_size (full), 0);
      ck_assert_uint_eq (json_array_size (index), json_array_size (full));
      ck_assert_uint_eq (metas.n, json_array_size (full));
      for (size_t i = 0; i < json_array_size (full); i++)
        {
          json_t *b = json_array_get (full, i), *x = json_array_get (index, i);
          const struct stored_meta *m = &metas.v[i];
          ck_assert_str_eq (json_string_value (json_object_get (x, "kind")), kinds[k]);
          static const char *const keys[] = { "namespace", "name", "uid", "resourceVersion" };
          for (size_t j = 0; j < ARRAY_SIZE (keys); j++)
            ck_assert_str_eq (meta (x, keys[j]), meta (b, keys[j]));
          ck_assert_str_eq (m->ns, meta (b, "namespace") ?: "");
          ck_assert_str_eq (m->name, meta (b, "name"));
          ck_assert_str_eq (m->uid, meta (b, "uid"));
          ck_assert_str_eq (m->created, meta (b, "creationTimestamp"));
          char rv[24];
          snprintf (rv, sizeof rv, "%llu", (unsigned long long) m->resource_version);
          ck_assert_str_eq (rv, meta (b, "resourceVersion"));
          /* found by its name, as the loop looks it up */
          ck_assert_ptr_eq (stored_metas_get (&metas, m->ns, m->name), m);
          /* what the index carries of a body: a slice's service, whether a
           * replicaset has owners */
          json_t *bmeta = json_object_get (b, "metadata"), *xmeta = json_object_get (x, "metadata");
          const char *svc = json_string_value (json_object_get (json_object_get (bmeta, "labels"),
                                                                "kubernetes.io/service-name"));
          const char *xsvc = json_string_value (json_object_get (json_object_get (xmeta, "labels"),
                                                                 "kubernetes.io/service-name"));
          if (strcmp (kinds[k], "EndpointSlice") == 0)
            ck_assert_str_eq (xsvc, svc);
          else
            ck_assert_ptr_null (xsvc);
          ck_assert_int_eq (json_object_get (xmeta, "ownerReferences") != NULL,
                            strcmp (kinds[k], "ReplicaSet") == 0 && json_object_get (bmeta, "ownerReferences") != NULL);
          /* a replicaset's owners, as stored (a Deployment claims by them) */
          json_t *mrefs = m->owners ? json_loads (m->owners, JSON_DECODE_ANY, NULL) : NULL;
          if (strcmp (kinds[k], "ReplicaSet") == 0 && json_object_get (bmeta, "ownerReferences"))
            ck_assert (json_equal (mrefs, json_object_get (bmeta, "ownerReferences")));
          else
            ck_assert_ptr_null (mrefs);
          json_decref (mrefs);
          /* what the meta list carries of a spec */
          json_t *r = json_object_get (json_object_get (b, "spec"), "replicas");
          ck_assert_int_eq (m->has_replicas, json_is_integer (r));
          if (r)
            ck_assert_int_eq (m->replicas, json_integer_value (r));
          ck_assert_pstr_eq (m->type, json_string_value (json_object_get (json_object_get (b, "spec"), "type")));
        }
      /* a name it does not have, one before the first and one after the last */
      ck_assert_ptr_null (stored_metas_get (&metas, "default", "no-such-object"));
      ck_assert_ptr_null (stored_metas_get (&metas, "", ""));
      ck_assert_ptr_null (stored_metas_get (&metas, "~", "~"));
      json_decref (full);
      json_decref (index);
      stored_metas_free (&metas);
    }
  lab_down (&l);
}
END_TEST

/* The meta list from the columns SQLite fills as a body is written is the
 * one SQLite makes from the bodies themselves, for every kind the loop
 * lists, after puts too; and a store made before those columns (dropped
 * here) is listed from its bodies. */
START_TEST (test_meta_columns_as_bodies)
{
  UNIT_REQUIRE_ROOT ();
  struct lab l;
  lab_up (&l, NULL, false);
  nslab_error_t err = NULL;
  static const char *const kinds[] = { "ReplicaSet", "Pod", "Deployment", "Service", "Node", "EndpointSlice" };
  /* a put: a Deployment scaled, a Service of another type */
  json_t *d = NULL, *svc = NULL, *list = NULL;
  ck_assert_int_eq (store_list (l.s, "Deployment", NULL, &list, &err), 0);
  d = json_deep_copy (json_array_get (list, 0));
  json_decref (list);
  json_object_set_new (json_object_get (d, "spec"), "replicas", json_integer (9));
  ck_assert_int_eq (store_put (l.s, d, &err), 0);
  ck_assert_int_eq (store_list (l.s, "Service", NULL, &list, &err), 0);
  svc = json_deep_copy (json_array_get (list, 0));
  json_decref (list);
  json_object_set_new (json_object_get (svc, "spec"), "type", json_string ("NodePort"));
  ck_assert_int_eq (store_put (l.s, svc, &err), 0);
  for (int pass = 0; pass < 2; pass++)
    {
      for (size_t k = 0; k < ARRAY_SIZE (kinds); k++)
        {
          struct stored_metas cols, bodies;
          ck_assert_int_eq (store_list_meta (l.s, kinds[k], &cols, &err), 0);
          ck_assert_int_eq (store_list_meta_parsed (l.s, kinds[k], &bodies, &err), 0);
          ck_assert_uint_gt (bodies.n, 0);
          ck_assert_uint_eq (cols.n, bodies.n);
          for (size_t i = 0; i < cols.n; i++)
            {
              const struct stored_meta *a = &cols.v[i], *b = &bodies.v[i];
              ck_assert_msg (strcmp (a->ns, b->ns) == 0 && strcmp (a->name, b->name) == 0, "%s (pass %d): %s/%s, %s/%s",
                             kinds[k], pass, a->ns, a->name, b->ns, b->name);
              ck_assert_pstr_eq (a->uid, b->uid);
              ck_assert_pstr_eq (a->created, b->created);
              ck_assert_pstr_eq (a->type, b->type);
              ck_assert_pstr_eq (a->owners, b->owners);
              ck_assert_int_eq (a->has_replicas, b->has_replicas);
              ck_assert_int_eq (a->replicas, b->replicas);
              ck_assert_uint_eq (a->resource_version, b->resource_version);
              ck_assert_uint_gt (a->resource_version, 0);
            }
          /* the two puts are seen */
          const struct stored_meta *m = NULL;
          if (strcmp (kinds[k], "Deployment") == 0)
            {
              json_t *dm = json_object_get (d, "metadata");
              m = stored_metas_get (&cols, json_string_value (json_object_get (dm, "namespace")),
                                    json_string_value (json_object_get (dm, "name")));
              ck_assert (m && m->has_replicas && m->replicas == 9);
            }
          if (strcmp (kinds[k], "Service") == 0)
            {
              json_t *sm = json_object_get (svc, "metadata");
              m = stored_metas_get (&cols, json_string_value (json_object_get (sm, "namespace")),
                                    json_string_value (json_object_get (sm, "name")));
              ck_assert (m && m->type && strcmp (m->type, "NodePort") == 0);
            }
          stored_metas_free (&cols);
          stored_metas_free (&bodies);
        }
      if (pass == 1)
        break;
      /* the store as an older nslab made it: first without the index of
       * the columns (listed from the table's columns), then without them */
      store_close (l.s);
      cleanup_free char *db_path = xasprintf ("%s/k3s/store.db", state_dir);
      sqlite3 *db = NULL;
      ck_assert_int_eq (sqlite3_open (db_path, &db), SQLITE_OK);
      ck_assert_int_eq (sqlite3_exec (db, "DROP INDEX objects_meta;", NULL, NULL, NULL), SQLITE_OK);
      l.s = open_store ();
      for (size_t k = 0; k < ARRAY_SIZE (kinds); k++)
        {
          struct stored_metas cols, bodies;
          ck_assert_int_eq (store_list_meta (l.s, kinds[k], &cols, &err), 0);
          ck_assert_int_eq (store_list_meta_parsed (l.s, kinds[k], &bodies, &err), 0);
          ck_assert_uint_eq (cols.n, bodies.n);
          for (size_t i = 0; i < cols.n; i++)
            {
              ck_assert_str_eq (cols.v[i].name, bodies.v[i].name);
              ck_assert_pstr_eq (cols.v[i].owners, bodies.v[i].owners);
              ck_assert_uint_eq (cols.v[i].resource_version, bodies.v[i].resource_version);
            }
          stored_metas_free (&cols);
          stored_metas_free (&bodies);
        }
      store_close (l.s);
      ck_assert_int_eq (sqlite3_exec (db,
                                      "ALTER TABLE objects DROP COLUMN meta_owners; "
                                      "ALTER TABLE objects DROP COLUMN meta_type; "
                                      "ALTER TABLE objects DROP COLUMN meta_replicas; "
                                      "ALTER TABLE objects DROP COLUMN meta_created;",
                                      NULL, NULL, NULL),
                        SQLITE_OK);
      sqlite3_close (db);
      l.s = open_store ();
      struct stored_metas metas;
      ck_assert_int_eq (store_list_meta (l.s, "Pod", &metas, &err), 0);
      ck_assert_uint_gt (metas.n, 0);
      stored_metas_free (&metas);
    }
  json_decref (d);
  json_decref (svc);
  lab_down (&l);
}
END_TEST

/* A name prefix reads exactly the names that start with it. */
START_TEST (test_list_prefix)
{
  UNIT_REQUIRE_ROOT ();
  struct lab l;
  lab_up (&l, NULL, false);
  struct store *s = l.s;
  nslab_error_t err = NULL;
  static const char *const names[] = { "web.1", "web.2", "web1.1", "webx", "we.1", "web" };
  for (size_t i = 0; i < ARRAY_SIZE (names); i++)
    {
      json_t *cm = json_pack ("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", "v1", "kind", "ConfigMap", "metadata", "name",
                              names[i], "namespace", "demo");
      ck_assert_int_eq (store_put (s, cm, &err), 0);
      json_decref (cm);
    }
  json_t *got = NULL;
  ck_assert_int_eq (store_list_prefix (s, "ConfigMap", "demo", "web.", &got, &err), 0);
  ck_assert_uint_eq (json_array_size (got), 2);
  ck_assert_str_eq (meta (json_array_get (got, 0), "name"), "web.1");
  ck_assert_str_eq (meta (json_array_get (got, 1), "name"), "web.2");
  json_decref (got);
  ck_assert_int_eq (store_list_prefix (s, "ConfigMap", "default", "web.", &got, &err), 0);
  ck_assert_uint_eq (json_array_size (got), 0);
  json_decref (got);
  lab_down (&l);
}
END_TEST

/* The sync's cache skips what an earlier sync left and nobody touched
 * since, and never hides a write by someone else. */
START_TEST (test_sync_cache)
{
  UNIT_REQUIRE_ROOT ();
  struct lab l;
  lab_up (&l, NULL, false);
  struct store *s = l.s;
  const struct plan *p = l.p;
  nslab_error_t err = NULL;
  struct store_sync_cache *cache = store_sync_cache_new ();
  uint64_t rv0 = 0, rv1 = 0, rv2 = 0, rv3 = 0, observed = 0;
  ck_assert_int_eq (store_resource_version (s, &rv0, &err), 0);
  ck_assert_msg (store_sync (s, p->objects, 0, NULL, NULL, NULL, NULL, cache, rv0, &observed, &err) == 0, "%s",
                 err ? err->msg : "");
  ck_assert_int_eq (store_resource_version (s, &rv1, &err), 0);
  /* Again: the cache answers for every object, nothing is written. */
  ck_assert_int_eq (store_sync (s, p->objects, 0, NULL, NULL, NULL, NULL, cache, rv1, &observed, &err), 0);
  ck_assert_int_eq (store_resource_version (s, &rv2, &err), 0);
  ck_assert_uint_eq (rv2, rv1);
  /* Someone else changes a pod the loop owns and deletes a slice: the next
   * sync with the cache puts both back as an uncached one would. */
  json_t *pods = NULL, *slices = NULL;
  ck_assert_int_eq (store_list (s, "Pod", NULL, &pods, &err), 0);
  ck_assert_int_eq (store_list (s, "EndpointSlice", NULL, &slices, &err), 0);
  json_t *pod = json_deep_copy (json_array_get (pods, 0)), *slice = json_array_get (slices, 0);
  cleanup_free char *want = json_dumps (json_array_get (pods, 0), JSON_COMPACT | JSON_SORT_KEYS);
  json_object_set_new (json_object_get (pod, "status"), "podIP", json_string ("10.99.99.99"));
  ck_assert_int_eq (store_put (s, pod, &err), 0);
  ck_assert_int_eq (store_delete (s, "EndpointSlice", meta (slice, "namespace"), meta (slice, "name"), &err), 0);
  ck_assert_int_eq (store_resource_version (s, &rv3, &err), 0);
  ck_assert_int_eq (store_sync (s, p->objects, 0, NULL, NULL, NULL, NULL, cache, rv3, &observed, &err), 0);
  json_t *back = NULL, *slice_back = NULL;
  ck_assert_int_eq (store_get (s, "Pod", meta (pod, "namespace"), meta (pod, "name"), &back, &err), 0);
  ck_assert_str_ne (json_string_value (json_object_get (json_object_get (back, "status"), "podIP")), "10.99.99.99");
  /* the slice is made again (under a new generated name, as the
   * EndpointSlice controller would) */
  ck_assert_int_eq (store_list (s, "EndpointSlice", NULL, &slice_back, &err), 0);
  ck_assert_uint_eq (json_array_size (slice_back), json_array_size (slices));
  /* the pod is as before but for its resourceVersion */
  json_object_set (json_object_get (back, "metadata"), "resourceVersion",
                   json_object_get (json_object_get (json_array_get (pods, 0), "metadata"), "resourceVersion"));
  cleanup_free char *got = json_dumps (back, JSON_COMPACT | JSON_SORT_KEYS);
  ck_assert_str_eq (got, want);
  json_decref (back);
  json_decref (slice_back);
  json_decref (pod);
  json_decref (pods);
  json_decref (slices);
  store_sync_cache_free (cache);
  lab_down (&l);
}
END_TEST

/* What the loop keeps of an applied plan between rounds (converge_compact):
 * no op of a pod (its namespace's, its veth's, its CNI calls), every
 * other op as it was, the rules' payloads byte for byte, the objects. */
START_TEST (test_compact_keeps_nodes_and_rules)
{
  static const char *const labs[] = { "k3s-virtualbox", "kubeadm-cni-plugins", "k3s-services", "kubeadm-weave-vmware" };
  for (size_t l = 0; l < sizeof labs / sizeof *labs; l++)
    {
      nslab_error_t err = NULL;
      struct scenario *sc = NULL;
      struct plan *p = NULL, *q = NULL;
      cleanup_free char *path = xasprintf ("%s/labs/%s.ini", NSLAB_SRCDIR, labs[l]);
      ck_assert_msg (scenario_load (path, &sc, &err) == 0, "%s", err ? err->msg : "");
      ck_assert_int_eq (plan_build (sc, &p, &err), 0);
      ck_assert_int_eq (plan_build (sc, &q, &err), 0);
      struct op_keys *keys = op_keys_of (q);
      converge_compact (q, keys);
      const struct lab_objects *o = p->objects;
      ck_assert_uint_eq (q->objects->n_pods, o->n_pods);
      ck_assert_uint_eq (q->objects->n_services, o->n_services);
      /* pod namespaces and veths */
      size_t kept = 0, others = 0;
      for (size_t i = 0; i < p->n_ops; i++)
        {
          const struct plan_op *op = &p->ops[i];
          bool pods = op->kind == OP_CNI;
          for (size_t k = 0; k < o->n_pods && !pods; k++)
            {
              const struct lab_pod *pod = &o->pods[k];
              pods = strcmp (op->ns, pod->netns) == 0
                     || (op->kind == OP_LINK && op->u.link.peer_ns && strcmp (op->u.link.peer_ns, pod->netns) == 0)
                     || (pod->host_veth && op->kind == OP_LINK_SET && strcmp (op->u.set.name, pod->host_veth) == 0)
                     || (pod->host_veth && op->kind == OP_SYSCTL && strstr (op->u.sysctl.key, pod->host_veth));
            }
          if (pods)
            continue;
          others++;
          /* the same op, in the same order */
          ck_assert_msg (kept < q->n_ops, "%s: op %zu of the plan is not kept", labs[l], i);
          ck_assert_int_eq (q->ops[kept].kind, op->kind);
          ck_assert_str_eq (q->ops[kept].ns, op->ns);
          if (op->kind != OP_IPTABLES) /* (its text: below) */
            {
              cleanup_free char *a = op_describe (op), *b = op_describe (&q->ops[kept]);
              ck_assert_str_eq (b, a);
            }
          kept++;
        }
      ck_assert_uint_eq (q->n_ops, others);
      ck_assert_uint_lt (q->n_ops, p->n_ops);
      /* a node's kube-proxy rules are kept as their digest: the sync from
       * it to the same payload is empty, the full sync the same as from
       * the text */
      for (size_t i = 0; i < p->n_ops; i++)
        if (p->ops[i].kind == OP_IPTABLES && kube_proxy_plan_payload (p, p->ops[i].ns) == p->ops[i].u.ipt.payload)
          {
            ck_assert_ptr_null (kube_proxy_plan_payload (q, p->ops[i].ns));
            struct kube_proxy_digest *d = NULL;
            ck_assert_int_eq (kube_proxy_digest_new (p->ops[i].u.ipt.payload, &d, &err), 0);
            cleanup_free char *same = NULL, *full = NULL, *full_text = NULL;
            ck_assert_int_eq (kube_proxy_sync_digest (d, p->ops[i].u.ipt.payload, false, &same, NULL, &err), 0);
            ck_assert_ptr_null (same);
            ck_assert_int_eq (kube_proxy_sync_digest (d, p->ops[i].u.ipt.payload, true, &full, NULL, &err), 0);
            ck_assert_int_eq (kube_proxy_sync_payload (p->ops[i].u.ipt.payload, p->ops[i].u.ipt.payload, true,
                                                       &full_text, &err), 0);
            ck_assert_msg ((full == NULL) == (full_text == NULL) && (full == NULL || strcmp (full, full_text) == 0),
                           "%s: the full sync from the digest differs", labs[l]);
            kube_proxy_digest_free (d);
          }
      op_keys_free (keys);
      plan_free (p);
      plan_free (q);
      scenario_free (sc);
    }
}
END_TEST

/* An object the loop makes after up (a pod a scale or a delete asks for) is
 * created now, not when the lab was: kubectl's AGE and describe's Start Time
 * count from its creation. A label a client put on a pod stays (kubectl
 * label pod), the plan's own labels winning, as for namespaces and nodes. */
START_TEST (test_sync_new_pod_created_now_user_labels_kept)
{
  UNIT_REQUIRE_ROOT ();
  struct lab l;
  lab_up (&l, NULL, false);
  struct store *s = l.s;
  const struct plan *p = l.p;
  nslab_error_t err = NULL;
  uint64_t rv = 0, observed = 0;
  json_t *pods = NULL;
  ck_assert_int_eq (store_list (s, "Pod", NULL, &pods, &err), 0);
  json_t *gone = json_deep_copy (json_array_get (pods, 0)), *labelled = json_deep_copy (json_array_get (pods, 1));
  json_decref (pods);
  ck_assert_int_eq (store_delete (s, "Pod", meta (gone, "namespace"), meta (gone, "name"), &err), 0);
  json_t *labels = json_object_get (json_object_get (labelled, "metadata"), "labels");
  const char *app = json_string_value (json_object_get (labels, "app"));
  ck_assert_ptr_nonnull (app);
  cleanup_free char *app_was = xstrdup (app);
  json_object_set_new (labels, "tier", json_string ("front"));
  json_object_set_new (labels, "app", json_string ("other"));
  ck_assert_int_eq (store_put (s, labelled, &err), 0);
  /* the lab was made at 1970-01-01T00:00:00Z (created 0) */
  time_t before = time (NULL);
  ck_assert_int_eq (store_resource_version (s, &rv, &err), 0);
  ck_assert_msg (store_sync (s, p->objects, 0, NULL, NULL, NULL, NULL, NULL, rv, &observed, &err) == 0, "%s",
                 err ? err->msg : "");
  json_t *back = NULL;
  ck_assert_int_eq (store_get (s, "Pod", meta (gone, "namespace"), meta (gone, "name"), &back, &err), 0);
  ck_assert_ptr_nonnull (back);
  char want[32];
  time_format_rfc3339 (before, want);
  ck_assert_str_ge (meta (back, "creationTimestamp"), want);
  ck_assert_str_ge (json_string_value (json_object_get (json_object_get (back, "status"), "startTime")), want);
  json_decref (back);
  /* a pod that stayed keeps its creation time */
  ck_assert_int_eq (store_get (s, "Pod", meta (labelled, "namespace"), meta (labelled, "name"), &back, &err), 0);
  ck_assert_str_eq (meta (back, "creationTimestamp"), meta (labelled, "creationTimestamp"));
  json_t *blabels = json_object_get (json_object_get (back, "metadata"), "labels");
  ck_assert_str_eq (json_string_value (json_object_get (blabels, "tier")), "front");
  ck_assert_str_eq (json_string_value (json_object_get (blabels, "app")), app_was);
  json_decref (back);
  json_decref (gone);
  json_decref (labelled);
  lab_down (&l);
}
END_TEST

/* A pod deleted (nslab delete, kubectl delete) after a round read the
 * store is not written back by that round, whose plan still has it: the
 * next round's plan removes it. A round planned after the delete forgets
 * it. */
START_TEST (test_sync_pod_deleted_after_plan_stays_deleted)
{
  UNIT_REQUIRE_ROOT ();
  struct lab l;
  lab_up (&l, NULL, false);
  struct store *s = l.s;
  const struct plan *p = l.p;
  nslab_error_t err = NULL;
  uint64_t planned = 0, after = 0, observed = 0;
  json_t *pods = NULL;
  ck_assert_int_eq (store_list (s, "Pod", NULL, &pods, &err), 0);
  json_t *gone = json_deep_copy (json_array_get (pods, 0));
  json_decref (pods);
  ck_assert_int_eq (store_resource_version (s, &planned, &err), 0);
  ck_assert_int_eq (store_delete (s, "Pod", meta (gone, "namespace"), meta (gone, "name"), &err), 0);
  bool deleted = false;
  ck_assert_int_eq (store_pod_deleted_after (s, meta (gone, "namespace"), meta (gone, "name"), planned, &deleted, &err), 0);
  ck_assert (deleted);
  /* its uid is kept with the deletion (kubelet's Killing event names it) */
  char nskey[512];
  snprintf (nskey, sizeof nskey, "%s/%s", meta (gone, "namespace"), meta (gone, "name"));
  json_t *dm = NULL;
  ck_assert_int_eq (store_deleted_pod_uids (s, &dm, &err), 0);
  ck_assert_uint_eq (json_object_size (dm), 1);
  ck_assert_str_eq (json_string_value (json_object_get (dm, nskey)), meta (gone, "uid"));
  json_decref (dm);
  ck_assert_msg (store_sync (s, p->objects, 0, NULL, NULL, NULL, NULL, NULL, planned, &observed, &err) == 0, "%s",
                 err ? err->msg : "");
  ck_assert_uint_eq (observed, planned);
  json_t *back = NULL;
  ck_assert_int_eq (store_get (s, "Pod", meta (gone, "namespace"), meta (gone, "name"), &back, &err), 0);
  ck_assert_ptr_null (back);
  /* planned after the delete: the deletion is forgotten (a pod of that
   * name the next plan has is a new one) */
  ck_assert_int_eq (store_resource_version (s, &after, &err), 0);
  ck_assert_int_eq (store_sync (s, p->objects, 0, NULL, NULL, NULL, NULL, NULL, after, &observed, &err), 0);
  ck_assert_int_eq (store_pod_deleted_after (s, meta (gone, "namespace"), meta (gone, "name"), 0, &deleted, &err), 0);
  ck_assert (!deleted);
  ck_assert_int_eq (store_meta_list_prefix (s, "deleted/Pod/", &dm, &err), 0);
  ck_assert_uint_eq (json_object_size (dm), 0);
  json_decref (dm);
  ck_assert_int_eq (store_deleted_pod_uids (s, &dm, &err), 0);
  ck_assert_uint_eq (json_object_size (dm), 0);
  json_decref (dm);
  json_decref (gone);
  lab_down (&l);
}
END_TEST

static json_int_t
observed_generation (struct store *s)
{
  nslab_error_t err = NULL;
  json_t *d = NULL;
  ck_assert_int_eq (store_get (s, "Deployment", "demo", "web", &d, &err), 0);
  ck_assert_ptr_nonnull (d);
  json_t *g = json_object_get (json_object_get (d, "status"), "observedGeneration");
  json_int_t v = json_is_integer (g) ? json_integer_value (g) : -1;
  json_decref (d);
  return v;
}

/* A spec change written after the round planned (a PATCH between
 * converge_plan and store_sync) is not reported as observed by that
 * round's sync: kubectl rollout status must not succeed on the old
 * template's status. The next round's sync observes it, with or without
 * the loop's cache of what the rounds wrote (the next round wants the same
 * status, so the cache alone would skip the deployment: its observed
 * generation stayed behind until the periodic full sync, and kubectl
 * rollout status waited for "spec update to be observed" that long). */
static void
sync_observes_only_planned_generation (bool with_cache)
{
  struct lab l;
  lab_up (&l, NULL, false);
  struct store *s = l.s;
  const struct plan *p = l.p;
  nslab_error_t err = NULL;
  uint64_t planned = 0, now = 0, observed = 0;
  struct store_sync_cache *cache = with_cache ? store_sync_cache_new () : NULL;
  ck_assert_int_eq (store_resource_version (s, &planned, &err), 0);
  ck_assert_msg (store_sync (s, p->objects, 0, NULL, NULL, NULL, NULL, cache, planned, &observed, &err) == 0, "%s",
                 err ? err->msg : "");
  ck_assert_int_eq (observed_generation (s), 1);
  ck_assert_int_eq (store_resource_version (s, &planned, &err), 0);
  /* the API server's write: a new spec, generation 2 */
  json_t *d = NULL;
  ck_assert_int_eq (store_get (s, "Deployment", "demo", "web", &d, &err), 0);
  json_object_set_new (json_object_get (d, "metadata"), "generation", json_integer (2));
  json_object_set_new (json_object_get (d, "spec"), "minReadySeconds", json_integer (1));
  ck_assert_int_eq (store_put (s, d, &err), 0);
  json_decref (d);
  ck_assert_int_eq (store_sync (s, p->objects, 0, NULL, NULL, NULL, NULL, cache, planned, &observed, &err), 0);
  ck_assert_int_eq (observed_generation (s), 1);
  ck_assert_int_eq (store_resource_version (s, &now, &err), 0);
  ck_assert_int_eq (store_sync (s, p->objects, 0, NULL, NULL, NULL, NULL, cache, now, &observed, &err), 0);
  ck_assert_int_eq (observed_generation (s), 2);
  store_sync_cache_free (cache);
  lab_down (&l);
}

START_TEST (test_sync_observes_only_planned_generation)
{
  UNIT_REQUIRE_ROOT ();
  sync_observes_only_planned_generation (false);
}
END_TEST

START_TEST (test_sync_observes_only_planned_generation_cached)
{
  UNIT_REQUIRE_ROOT ();
  sync_observes_only_planned_generation (true);
}
END_TEST

/* A new ReplicaSet of a Deployment written after the round planned is not
 * made from that newer template (the round named it after the older one):
 * it waits for the next round, which made its plan with the new one. */
START_TEST (test_sync_new_replicaset_waits_for_planned_template)
{
  UNIT_REQUIRE_ROOT ();
  struct lab l;
  lab_up (&l, NULL, false);
  struct store *s = l.s;
  const struct plan *p = l.p;
  nslab_error_t err = NULL;
  uint64_t planned = 0, now = 0, observed = 0;
  json_t *rsets = NULL;
  ck_assert_int_eq (store_list (s, "ReplicaSet", "demo", &rsets, &err), 0);
  ck_assert_uint_eq (json_array_size (rsets), 1);
  cleanup_free char *rs = xstrdup (meta (json_array_get (rsets, 0), "name"));
  json_decref (rsets);
  ck_assert_int_eq (store_delete (s, "ReplicaSet", "demo", rs, &err), 0);
  ck_assert_int_eq (store_resource_version (s, &planned, &err), 0);
  json_t *d = NULL;
  ck_assert_int_eq (store_get (s, "Deployment", "demo", "web", &d, &err), 0);
  json_t *c0 = json_array_get (json_object_get (json_object_get (json_object_get (json_object_get (d, "spec"),
                                                                                       "template"), "spec"),
                                                "containers"), 0);
  json_object_set_new (c0, "image", json_string ("nginx:1.28-alpine"));
  ck_assert_int_eq (store_put (s, d, &err), 0);
  json_decref (d);
  ck_assert_int_eq (store_sync (s, p->objects, 0, NULL, NULL, NULL, NULL, NULL, planned, &observed, &err), 0);
  json_t *got = NULL;
  ck_assert_int_eq (store_get (s, "ReplicaSet", "demo", rs, &got, &err), 0);
  ck_assert_ptr_null (got);
  ck_assert_int_eq (store_resource_version (s, &now, &err), 0);
  ck_assert_int_eq (store_sync (s, p->objects, 0, NULL, NULL, NULL, NULL, NULL, now, &observed, &err), 0);
  ck_assert_int_eq (store_get (s, "ReplicaSet", "demo", rs, &got, &err), 0);
  ck_assert_ptr_nonnull (got);
  json_decref (got);
  lab_down (&l);
}
END_TEST

/* converge_plan of the store as it is, with the cache and without; each
 * rolled back, so both see the same allocators. */
static char *
converged (struct store *s, const char *path, struct scenario_cache *cache, const struct plan *applied)
{
  nslab_error_t err = NULL;
  bool *ready = xcalloc (applied->objects->n_pods + 1, sizeof *ready);
  for (size_t i = 0; i < applied->objects->n_pods; i++)
    ready[i] = true;
  struct plan *p = NULL;
  ck_assert_int_eq (store_begin (s, &err), 0);
  int rc = converge_plan ("k3s", path, cache, s, applied, ready, &p, &err);
  ck_assert_msg (rc == 0, "%s", err ? err->msg : "");
  store_end (s, -1, &err);
  nslab_error_free (&err);
  json_t *j = plan_to_json (p);
  char *text = json_dumps (j, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref (j);
  plan_free (p);
  free (ready);
  return text;
}

static void
set_replicas (struct store *s, const char *ns, const char *name, int n)
{
  nslab_error_t err = NULL;
  json_t *d = NULL;
  ck_assert_int_eq (store_get (s, "Deployment", ns, name, &d, &err), 0);
  ck_assert_ptr_nonnull (d);
  json_object_set_new (json_object_get (d, "spec"), "replicas", json_integer (n));
  ck_assert_int_eq (store_put (s, d, &err), 0);
  json_decref (d);
}

/* A stored Deployment's template image and strategy, as kubectl set image
 * and kubectl patch would change them. */
static void
set_template (struct store *s, const char *ns, const char *name, const char *image, const char *strategy)
{
  nslab_error_t err = NULL;
  json_t *d = NULL;
  ck_assert_int_eq (store_get (s, "Deployment", ns, name, &d, &err), 0);
  ck_assert_ptr_nonnull (d);
  json_t *c0 = json_array_get (json_at (d, "spec.template.spec.containers"), 0);
  ck_assert_ptr_nonnull (c0);
  json_object_set_new (c0, "image", json_string (image));
  json_object_set_new (json_object_get (d, "spec"), "strategy", json_pack ("{s:s}", "type", strategy));
  ck_assert_int_eq (store_put (s, d, &err), 0);
  json_decref (d);
}

/* The loop's cached scenario gives byte for byte the plan a fresh load
 * gives, through scaling, a deleted service, a new scenario file, a new
 * template (what the rounds keep of each Deployment is read again) and a
 * Deployment deleted and made again with another template (another uid). */
START_TEST (test_scenario_cache_same_plan)
{
  UNIT_REQUIRE_ROOT ();
  struct lab l;
  lab_up (&l, NULL, false);
  struct store *s = l.s;
  const struct plan *applied = l.p;
  const char *path = l.path;
  nslab_error_t err = NULL;
  struct scenario_cache *cache = scenario_cache_new ();
  json_t *svc = NULL, *web = NULL;
  for (int step = 0; step < 9; step++)
    {
      if (step == 1)
        set_replicas (s, "demo", "web", 4);
      if (step == 2)
        {
          ck_assert_int_eq (store_get (s, "Service", "default", "my-helloworld-rs-service", &svc, &err), 0);
          ck_assert_int_eq (store_delete (s, "Service", "default", "my-helloworld-rs-service", &err), 0);
        }
      if (step == 3)
        {
          /* back again: in the scenario's order, not the last round's */
          json_object_del (json_object_get (svc, "metadata"), "resourceVersion");
          ck_assert_int_eq (store_put (s, svc, &err), 0);
          set_replicas (s, "demo", "web", 0);
        }
      if (step == 4)
        {
          /* another file: loaded again */
          cleanup_free char *more = xasprintf ("printf '\\n# changed\\n' >> '%s'", path);
          ck_assert_int_eq (system (more), 0);
          set_replicas (s, "demo", "web", 2);
        }
      if (step == 6)
        set_template (s, "demo", "web", "busybox:1.36", "Recreate");
      if (step == 7)
        {
          ck_assert_int_eq (store_get (s, "Deployment", "demo", "web", &web, &err), 0);
          ck_assert_int_eq (store_delete (s, "Deployment", "demo", "web", &err), 0);
        }
      if (step == 8)
        {
          json_t *meta = json_object_get (web, "metadata");
          json_object_del (meta, "resourceVersion");
          json_object_set_new (meta, "uid", json_string ("0b6f3c2e-7a51-4f2e-9d0c-5e1f00000001"));
          ck_assert_int_eq (store_put (s, web, &err), 0);
          set_template (s, "demo", "web", "nslab/http-echo", "RollingUpdate");
        }
      cleanup_free char *with = converged (s, path, cache, applied);
      cleanup_free char *fresh = converged (s, path, NULL, applied);
      ck_assert_msg (strcmp (with, fresh) == 0, "step %d: the cached scenario planned otherwise", step);
    }
  json_decref (svc);
  json_decref (web);
  scenario_cache_free (cache);
  lab_down (&l);
}
END_TEST

START_TEST (test_untrusted_files)
{
  UNIT_REQUIRE_ROOT ();
  struct lab l;
  lab_up (&l, NULL, false);
  /* the store's files are swapped under it: closed first */
  store_close (l.s);
  l.s = NULL;
  nslab_error_t err = NULL;
  struct store *s = NULL;
  cleanup_free char *db = xasprintf ("%s/k3s/store.db", state_dir);
  cleanup_free char *moved = xasprintf ("%s/store.db.real", state_dir);
  /* A symlink in place of the store is never opened. */
  ck_assert_int_eq (rename (db, moved), 0);
  ck_assert_int_eq (symlink (moved, db), 0);
  ck_assert_int_eq (store_open ("k3s", &s, &err), -1);
  ck_assert_ptr_nonnull (strstr (err->msg, "store.db is a symlink: left as it is"));
  nslab_error_free (&err);
  unlink (db);
  ck_assert_int_eq (rename (moved, db), 0);
  /* Nor a WAL file someone else owns. */
  cleanup_free char *wal = xasprintf ("%s-wal", db);
  int fd = open (wal, O_WRONLY | O_CREAT | O_EXCL, 0600);
  ck_assert_int_ge (fd, 0);
  if (fchown (fd, 65534, 65534) == 0)
    {
      close (fd);
      ck_assert_int_eq (store_open ("k3s", &s, &err), -1);
      ck_assert_ptr_nonnull (strstr (err->msg, "store.db-wal is not a regular file owned by root"));
      nslab_error_free (&err);
    }
  else
    {
      ck_assert_int_eq (errno, EINVAL);
      close (fd);
      unit_skip (__func__, UNIT_NO_OTHER_UID_REASON);
    }
  unlink (wal);
  /* A lab without a store says so. */
  unlink (db);
  ck_assert_int_eq (store_open ("k3s", &s, &err), -1);
  ck_assert_ptr_nonnull (strstr (err->msg, "lab k3s has no store"));
  nslab_error_free (&err);
  lab_down (&l);
}
END_TEST

/* up's store of a lab whose pod "late" is probed on a port nothing
 * listens on: Ready False, and the DNS server's view (what it answers
 * from) of the headless service has only the ready pod's address. */
START_TEST (test_not_ready_out_of_dns)
{
  UNIT_REQUIRE_ROOT ();
  static const char lab[] = "[lab]\nname = rd\ntemplate = k3s\n[cluster]\ndns = no\n"
                            "[node cp1]\nrole = control-plane\nnics = enp0s8=hostonly:192.168.56.10\n"
                            "[pod demo/late]\nlabels = app=web\napp = http:80\nreadiness = tcp:81\n"
                            "[pod demo/plain]\nlabels = app=web\napp = http:80\nreadiness = none\n"
                            "[service demo/web]\nselector = app=web\nports = http:80\ncluster_ip = None\n";
  struct lab l;
  lab_up (&l, lab, true);
  const struct plan *p = l.p;
  struct store *s = l.s;
  nslab_error_t err = NULL;
  uint32_t plain_ip = 0;
  for (size_t i = 0; i < p->objects->n_pods; i++)
    if (strcmp (p->objects->pods[i].name, "plain") == 0)
      plain_ip = p->objects->pods[i].ip;
  json_t *late = NULL;
  ck_assert_int_eq (store_get (s, "Pod", "demo", "late", &late, &err), 0);
  json_t *conds = json_object_get (json_object_get (late, "status"), "conditions");
  size_t i;
  json_t *cd;
  int seen = 0;
  json_array_foreach (conds, i, cd)
    if (strcmp (json_string_value (json_object_get (cd, "type")), "Ready") == 0)
      {
        ck_assert_str_eq (json_string_value (json_object_get (cd, "status")), "False");
        seen++;
      }
  ck_assert_int_eq (seen, 1);
  json_decref (late);
  struct dns_view v = { 0 };
  ck_assert_msg (coredns_view_load (s, "cluster.local", &v, &err) == 0, "%s", err ? err->msg : "");
  const struct dns_service *web = NULL;
  for (size_t k = 0; k < v.n_services; k++)
    if (strcmp (v.services[k].name, "web") == 0)
      web = &v.services[k];
  ck_assert_ptr_nonnull (web);
  ck_assert_uint_eq (web->n_endpoints, 1);
  ck_assert_uint_eq (web->endpoints[0], plain_ip);
  dns_view_free (&v);
  lab_down (&l);
}
END_TEST

/* ---- concurrent writers and readers ------------------------------------ */

enum { WRITERS = 4, WRITER_ROUNDS = 120, READERS = 2, CHURN_ROUNDS = 200 };
/* Longer than the 5 s any lock wait had before: a writer on a loaded
 * machine holding the write lock that long. */
#define HOLD_US 5500000

static void __attribute__ ((noreturn))
child_failed (const char *who, nslab_error_t *err)
{
  fprintf (stderr, "%s: %s\n", who, err && *err ? (*err)->msg : "failed");
  _exit (1);
}

static json_t *
config_map (const char *name, int value)
{
  return json_pack ("{s:s, s:s, s:{s:s, s:s}, s:{s:i}}", "apiVersion", "v1", "kind", "ConfigMap", "metadata", "name",
                    name, "namespace", "demo", "data", "k", value);
}

/* Each round one kind of write, each its own connection's transaction;
 * every one but meta_set takes exactly one new resourceVersion per object. */
static void __attribute__ ((noreturn))
writer (int id)
{
  nslab_error_t err = NULL;
  struct store *s = NULL;
  if (store_open ("k3s", &s, &err) < 0)
    child_failed ("writer open", &err);
  for (int i = 0; i < WRITER_ROUNDS; i++)
    {
      char name[32];
      snprintf (name, sizeof name, "w%d-%d", id, i % 7);
      json_t *cm = config_map (name, i);
      int rc = 0;
      uint64_t rv;
      switch (i % 5)
        {
        case 0: rc = store_put (s, cm, &err); break;
        case 1: rc = store_delete (s, "ConfigMap", "demo", name, &err); break;
        case 2: rc = store_touch (s, &rv, &err); break;
        case 3: rc = store_meta_set (s, name, (uint64_t) i, &err); break;
        default:
          rc = store_begin (s, &err);
          for (int k = 0; rc == 0 && k < 3; k++)
            {
              json_t *o = config_map (name, i * 10 + k);
              rc = store_put (s, o, &err);
              json_decref (o);
            }
          rc = store_end (s, rc, &err);
        }
      json_decref (cm);
      if (rc < 0)
        child_failed ("writer", &err);
    }
  store_close (s);
  _exit (0);
}

/* Read snapshots (several kinds in one transaction), single reads, and the
 * readers' other calls, until the writers are done. */
static void __attribute__ ((noreturn))
reader (void)
{
  nslab_error_t err = NULL;
  struct store *s = NULL;
  if (store_open ("k3s", &s, &err) < 0)
    child_failed ("reader open", &err);
  static const char *const kinds[] = { "ConfigMap", "Pod", "Service" };
  for (int i = 0; getppid () != 1 && i < 100000; i++)
    {
      json_t *outs[3];
      uint64_t rv, v;
      struct store_kinds_version kv;
      json_t *one = NULL;
      if (store_list_kinds (s, 3, kinds, outs, &rv, &err) < 0 || store_get (s, "ConfigMap", "demo", "w0-0", &one, &err) < 0
          || store_kinds_version (s, "ConfigMap", "Pod", NULL, &kv, &err) < 0
          || store_meta_get (s, "w1-3", &v, &err) < 0)
        child_failed ("reader", &err);
      for (int k = 0; k < 3; k++)
        json_decref (outs[k]);
      json_decref (one);
      if (access ("done", F_OK) == 0)
        break;
    }
  store_close (s);
  _exit (0);
}

/* A connection opened and closed over and over, as each CLI command and
 * the apiserver's clients do: the closing one may checkpoint the WAL. */
static void __attribute__ ((noreturn))
churner (void)
{
  for (int i = 0; i < CHURN_ROUNDS; i++)
    {
      nslab_error_t err = NULL;
      struct store *s = NULL;
      uint64_t rv;
      if (store_open ("k3s", &s, &err) < 0 || store_resource_version (s, &rv, &err) < 0)
        child_failed ("churner", &err);
      store_close (s);
    }
  _exit (0);
}

static void __attribute__ ((noreturn))
holder (int ready_fd)
{
  nslab_error_t err = NULL;
  struct store *s = NULL;
  if (store_open ("k3s", &s, &err) < 0 || store_begin (s, &err) < 0)
    child_failed ("holder", &err);
  json_t *cm = config_map ("held", 1);
  if (store_put (s, cm, &err) < 0)
    child_failed ("holder", &err);
  if (write (ready_fd, "r", 1) != 1)
    _exit (1);
  usleep (HOLD_US);
  if (store_end (s, 0, &err) < 0)
    child_failed ("holder", &err);
  json_decref (cm);
  store_close (s);
  _exit (0);
}

/* No writer, reader or connection fails with "database is locked" while
 * another holds the write lock, however long, and no write is lost: the
 * resourceVersion moved by exactly the writes made. */
START_TEST (test_concurrent_writers_and_readers)
{
  UNIT_REQUIRE_ROOT ();
  struct lab l;
  lab_up (&l, NULL, false);
  nslab_error_t err = NULL;
  struct store *s = l.s;
  uint64_t rv0 = 0, rv1 = 0;
  ck_assert_int_eq (store_resource_version (s, &rv0, &err), 0);
  /* The readers stop when this file appears. */
  cleanup_free char *cwd = getcwd (NULL, 0);
  ck_assert_int_eq (chdir (state_dir), 0);
  int ready[2];
  ck_assert_int_eq (pipe (ready), 0);
  fflush (NULL);
  pid_t hold = fork ();
  ck_assert_int_ge (hold, 0);
  if (hold == 0)
    holder (ready[1]);
  char c;
  ck_assert_int_eq (read (ready[0], &c, 1), 1);
  pid_t pids[WRITERS + READERS + 1];
  size_t n = 0;
  for (int i = 0; i < WRITERS + READERS + 1; i++)
    {
      pid_t pid = fork ();
      ck_assert_int_ge (pid, 0);
      if (pid == 0)
        {
          if (i < WRITERS)
            writer (i);
          if (i < WRITERS + READERS)
            reader ();
          churner ();
        }
      pids[n++] = pid;
    }
  int failed = 0, status;
  ck_assert_int_eq (waitpid (hold, &status, 0), hold);
  failed += !WIFEXITED (status) || WEXITSTATUS (status) != 0;
  for (size_t i = 0; i < n; i++)
    {
      if (i == WRITERS)
        {
          /* The writers are done: let the readers finish. */
          int fd = open ("done", O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
          ck_assert_int_ge (fd, 0);
          close (fd);
        }
      ck_assert_int_eq (waitpid (pids[i], &status, 0), pids[i]);
      failed += !WIFEXITED (status) || WEXITSTATUS (status) != 0;
    }
  ck_assert_int_eq (chdir (cwd), 0);
  ck_assert_int_eq (failed, 0);
  ck_assert_int_eq (store_resource_version (s, &rv1, &err), 0);
  /* Per writer and 5 rounds: put 1, delete 1, touch 1, meta 0, three puts 3; the holder's put 1. */
  ck_assert_uint_eq (rv1 - rv0, (uint64_t) WRITERS * (WRITER_ROUNDS / 5) * 6 + 1);
  lab_down (&l);
}
END_TEST

/* A write inside a read snapshot would fail at once whenever another writer
 * committed since it began (SQLITE_BUSY_SNAPSHOT, no waiting): refused. */
START_TEST (test_no_write_in_read_transaction)
{
  UNIT_REQUIRE_ROOT ();
  struct lab l;
  lab_up (&l, NULL, false);
  nslab_error_t err = NULL;
  struct store *s = l.s;
  ck_assert_int_eq (store_read_begin (s, &err), 0);
  json_t *cm = config_map ("x", 1);
  ck_assert_int_eq (store_put (s, cm, &err), -1);
  ck_assert_ptr_nonnull (strstr (err->msg, "a write inside a read transaction"));
  nslab_error_free (&err);
  ck_assert_int_eq (store_meta_set (s, "k", 1, &err), -1);
  nslab_error_free (&err);
  ck_assert_int_eq (store_begin (s, &err), -1);
  nslab_error_free (&err);
  ck_assert_int_eq (store_read_end (s, &err), 0);
  ck_assert_int_eq (store_put (s, cm, &err), 0);
  json_decref (cm);
  lab_down (&l);
}
END_TEST

/* A deleted Deployment's rollout records go with it (a Deployment made
 * again with its name starts at revision 1); those of a Deployment whose
 * name merely starts with its name, or of one in another namespace, stay. */
START_TEST (test_delete_deployment_forgets_rollout)
{
  UNIT_REQUIRE_ROOT ();
  struct lab l;
  lab_up (&l, NULL, false);
  struct store *s = l.s;
  nslab_error_t err = NULL;
  static const char *const gone[] = { "rollout/scen/demo/web", "rollout/tpl/demo/web-5d8f9c7b6", "rollout/rev/demo/web-5d8f9c7b6",
                                      "rollout/tpl/demo/web-abcde", "rollout/prog/demo/web", "rollout/progat/demo/web" };
  static const char *const kept[] = { "rollout/scen/demo/web-canary", "rollout/tpl/demo/web-canary-5d8f9c7b6",
                                      "rollout/rev/demo/web-canary-5d8f9c7b6", "rollout/tpl/other/web-5d8f9c7b6",
                                      "rollout/rev/demo/webx-5d8f9c7b6", "rollout/scen/demo/web2",
                                      "rollout/progat/demo/web-canary" };
  for (size_t i = 0; i < ARRAY_SIZE (gone); i++)
    ck_assert_int_eq (store_meta_set (s, gone[i], 7, &err), 0);
  for (size_t i = 0; i < ARRAY_SIZE (kept); i++)
    ck_assert_int_eq (store_meta_set (s, kept[i], 9, &err), 0);
  ck_assert_int_eq (store_delete (s, "Deployment", "demo", "web", &err), 0);
  for (size_t i = 0; i < ARRAY_SIZE (gone); i++)
    {
      uint64_t v = 1;
      ck_assert_int_eq (store_meta_get (s, gone[i], &v, &err), 0);
      ck_assert_msg (v == 0, "%s kept", gone[i]);
    }
  for (size_t i = 0; i < ARRAY_SIZE (kept); i++)
    {
      uint64_t v = 0;
      ck_assert_int_eq (store_meta_get (s, kept[i], &v, &err), 0);
      ck_assert_msg (v == 9, "%s gone", kept[i]);
    }
  lab_down (&l);
}
END_TEST

static Suite *
make_suite (void)
{
  Suite *s = suite_create ("store");
  TCase *tc = tcase_create ("store");
  tcase_set_timeout (tc, 60);
  tcase_add_test (tc, test_up_objects);
  tcase_add_test (tc, test_put_get_delete);
  tcase_add_test (tc, test_kinds_version);
  tcase_add_test (tc, test_index_and_meta_lists);
  tcase_add_test (tc, test_meta_columns_as_bodies);
  tcase_add_test (tc, test_list_prefix);
  tcase_add_test (tc, test_sync_cache);
  tcase_add_test (tc, test_sync_observes_only_planned_generation);
  tcase_add_test (tc, test_sync_observes_only_planned_generation_cached);
  tcase_add_test (tc, test_sync_new_replicaset_waits_for_planned_template);
  tcase_add_test (tc, test_sync_new_pod_created_now_user_labels_kept);
  tcase_add_test (tc, test_scenario_cache_same_plan);
  tcase_add_test (tc, test_compact_keeps_nodes_and_rules);
  tcase_add_test (tc, test_untrusted_files);
  tcase_add_test (tc, test_not_ready_out_of_dns);
  tcase_add_test (tc, test_concurrent_writers_and_readers);
  tcase_add_test (tc, test_no_write_in_read_transaction);
  tcase_add_test (tc, test_sync_pod_deleted_after_plan_stays_deleted);
  tcase_add_test (tc, test_delete_deployment_forgets_rollout);
  suite_add_tcase (s, tc);
  return s;
}

UNIT_MAIN (make_suite)
