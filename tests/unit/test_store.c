/* The lab's object store: what up writes (the seed lab's objects as the
 * Kubernetes API holds them, with owner references that resolve), and the
 * store's own rules: one monotonic resourceVersion, a replaced object keeps
 * its uid and creationTimestamp, only root's regular files are opened. Runs
 * as root on a private temp state root. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dns/coredns.h"
#include "dns/kubernetes_plugin.h"
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
  ck_assert_ptr_nonnull (mkdtemp (state_dir));
  setenv ("NSLAB_STATE_DIR", state_dir, 1);
  cleanup_free char *path = unit_write_file ("rd.ini", lab);
  nslab_error_t err = NULL;
  struct scenario *sc = NULL;
  struct plan *p = NULL;
  ck_assert_msg (scenario_load (path, &sc, &err) == 0, "%s", err ? err->msg : "");
  ck_assert_int_eq (plan_build_starting (sc, &p, &err), 0);
  struct state_writer *w = NULL;
  ck_assert_msg (state_create ("rd", NULL, &w, &err) == 0, "%s", err ? err->msg : "");
  ck_assert_msg (store_create (w, p->objects, &err) == 0, "%s", err ? err->msg : "");
  state_writer_close (w);
  uint32_t plain_ip = 0;
  for (size_t i = 0; i < p->objects->n_pods; i++)
    if (strcmp (p->objects->pods[i].name, "plain") == 0)
      plain_ip = p->objects->pods[i].ip;
  struct store *s = NULL;
  ck_assert_int_eq (store_open ("rd", &s, &err), 0);
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
  store_close (s);
  plan_free (p);
  scenario_free (sc);
  rm_lab ();
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
  make_lab ();
  nslab_error_t err = NULL;
  struct store *s = open_store ();
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
  store_close (s);
  rm_lab ();
}
END_TEST

/* A write inside a read snapshot would fail at once whenever another writer
 * committed since it began (SQLITE_BUSY_SNAPSHOT, no waiting): refused. */
START_TEST (test_no_write_in_read_transaction)
{
  UNIT_REQUIRE_ROOT ();
  make_lab ();
  nslab_error_t err = NULL;
  struct store *s = open_store ();
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
  store_close (s);
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
  tcase_add_test (tc, test_not_ready_out_of_dns);
  tcase_add_test (tc, test_concurrent_writers_and_readers);
  tcase_add_test (tc, test_no_write_in_read_transaction);
  suite_add_tcase (s, tc);
  return s;
}

UNIT_MAIN (make_suite)
