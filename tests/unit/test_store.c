/* The lab's object store: what up writes (the seed lab's objects as the
 * Kubernetes API holds them, with owner references that resolve), and the
 * store's own rules: one monotonic resourceVersion, a replaced object keeps
 * its uid and creationTimestamp, only root's regular files are opened. Runs
 * as root on a private temp state root. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>

#include "k8s/resources.h"
#include "plan/plan.h"
#include "scenario/scenario.h"
#include "state/journal.h"
#include "state/state.h"
#include "state/store.h"

static char state_dir[] = "/tmp/nslab-store-unit-XXXXXX";

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
  make_lab ();
  struct store *s = open_store ();
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
    }
  ck_assert_uint_eq (web, 2);
  /* kubernetes.default is 10.43.0.1 with the apiserver on cp1:6443 behind it. */
  json_t *svc = NULL, *ep = NULL;
  ck_assert_int_eq (store_get (s, "Service", "default", "kubernetes", &svc, &err), 0);
  ck_assert_str_eq (json_string_value (json_object_get (json_object_get (svc, "spec"), "clusterIP")), "10.43.0.1");
  ck_assert_int_eq (store_get (s, "Endpoints", "default", "kubernetes", &ep, &err), 0);
  json_t *addr = json_array_get (json_object_get (json_array_get (json_object_get (ep, "subsets"), 0), "addresses"), 0);
  ck_assert_str_eq (json_string_value (json_object_get (addr, "ip")), "192.168.56.10");
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
  store_close (s);
  rm_lab ();
}
END_TEST

START_TEST (test_put_get_delete)
{
  UNIT_REQUIRE_ROOT ();
  make_lab ();
  struct store *s = open_store ();
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
  store_close (s);
  rm_lab ();
}
END_TEST

START_TEST (test_untrusted_files)
{
  UNIT_REQUIRE_ROOT ();
  make_lab ();
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
  rm_lab ();
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
  tcase_add_test (tc, test_untrusted_files);
  suite_add_tcase (s, tc);
  return s;
}

UNIT_MAIN (make_suite)
