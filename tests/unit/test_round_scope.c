/* The control loop's pod/endpoint rounds (control/round_scope.h): a store
 * synced for a round's scope only is the store a sync of the whole lab
 * makes. The oracle after each change: a full sync of the same objects,
 * without the cache, finds nothing to write or delete. */
#include "unit.h"

#include <jansson.h>

#include "control/round_scope.h"
#include "control/store_sync.h"
#include "base/json.h"
#include "k8s/objects.h"
#include "plan/plan.h"
#include "scenario/scenario.h"
#include "state/journal.h"
#include "state/state.h"
#include "state/store.h"

static char state_dir[] = "/tmp/nslab-unit-scope-XXXXXX";

static struct lab_objects *
seed_objects (void)
{
  nslab_error_t err = NULL;
  struct scenario *sc = NULL;
  struct plan *p = NULL;
  ck_assert_msg (scenario_load (NSLAB_SRCDIR "/labs/k3s-virtualbox.ini", &sc, &err) == 0, "%s", err->msg);
  ck_assert_int_eq (plan_build (sc, &p, &err), 0);
  json_t *j = json_object ();
  objects_to_json (p->objects, &(struct json_out) { .obj = j });
  struct lab_objects *o = NULL;
  ck_assert_int_eq (objects_from_json (j, &o, &err), 0);
  json_decref (j);
  plan_free (p);
  scenario_free (sc);
  return o;
}

/* O changed through its JSON (EDIT on its "objects" form). */
static struct lab_objects *
edited (const struct lab_objects *o, void (*edit) (json_t *j))
{
  json_t *j = json_object ();
  objects_to_json (o, &(struct json_out) { .obj = j });
  edit (j);
  struct lab_objects *out = NULL;
  nslab_error_t err = NULL;
  ck_assert_msg (objects_from_json (j, &out, &err) == 0, "%s", err ? err->msg : "");
  json_decref (j);
  return out;
}

static json_t *
find (json_t *arr, const char *key, const char *prefix)
{
  for (size_t i = 0; i < json_array_size (arr); i++)
    {
      const char *v = json_string_value (json_object_get (json_array_get (arr, i), key));
      if (v && strncmp (v, prefix, strlen (prefix)) == 0)
        return json_array_get (arr, i);
    }
  return NULL;
}

static void
workload_replicas (json_t *j, const char *name, int delta)
{
  json_t *w = find (json_object_get (j, "workloads"), "name", name);
  ck_assert_ptr_nonnull (w);
  json_object_set_new (w, "replicas", json_integer (json_integer_value (json_object_get (w, "replicas")) + delta));
}

/* kubelet's probe fails on a web pod: not ready. */
static void
web_not_ready (json_t *j)
{
  json_t *p = find (json_object_get (j, "pods"), "name", "web-");
  ck_assert_ptr_nonnull (p);
  json_object_set_new (p, "not_ready", json_true ());
}

/* scale my-helloworld-rs 6 -> 5: its last pod goes. */
static void
rs_scale_down (json_t *j)
{
  json_t *pods = json_object_get (j, "pods");
  for (size_t i = json_array_size (pods); i-- > 0;)
    if (strncmp (json_string_value (json_object_get (json_array_get (pods, i), "name")), "my-helloworld-rs-", 17)
        == 0)
      {
        json_array_remove (pods, i);
        break;
      }
  workload_replicas (j, "my-helloworld-rs", -1);
}

/* scale web 2 -> 3: a new pod next to the others (a name and address of
 * its own). */
static void
web_scale_up (json_t *j)
{
  json_t *pods = json_object_get (j, "pods");
  json_t *p = json_deep_copy (find (pods, "name", "web-"));
  json_object_set_new (p, "name", json_string ("web-7d4b9c6f5d-zzzzz"));
  json_object_set_new (p, "netns", json_string ("k3s-pod-zzzzz"));
  json_object_set_new (p, "host_veth", json_string ("vethzzzzz"));
  json_object_set_new (p, "ip", json_string ("10.42.1.250"));
  json_object_del (p, "not_ready");
  json_array_append_new (pods, p);
  workload_replicas (j, "web", +1);
}

/* the web pod that was not ready is deleted (a new one takes its place
 * in the next round). */
static void
web_pod_deleted (json_t *j)
{
  json_t *pods = json_object_get (j, "pods");
  for (size_t i = 0; i < json_array_size (pods); i++)
    if (json_object_get (json_array_get (pods, i), "not_ready"))
      {
        json_array_remove (pods, i);
        return;
      }
  ck_abort_msg ("no pod not ready");
}

static void
service_removed (json_t *j)
{
  json_t *svcs = json_object_get (j, "services");
  for (size_t i = 0; i < json_array_size (svcs); i++)
    if (strcmp (json_string_value (json_object_get (json_array_get (svcs, i), "name")), "web-svc") == 0)
      {
        json_array_remove (svcs, i);
        return;
      }
  ck_abort_msg ("no web-svc");
}

static uint64_t
version (struct store *s)
{
  uint64_t rv = 0;
  nslab_error_t err = NULL;
  ck_assert_int_eq (store_resource_version (s, &rv, &err), 0);
  return rv;
}

static size_t
count (struct store *s, const char *kind)
{
  json_t *l = NULL;
  nslab_error_t err = NULL;
  ck_assert_int_eq (store_list_index (s, kind, &l, &err), 0);
  size_t n = json_array_size (l);
  json_decref (l);
  return n;
}

/* kubelet's part as the control loop plays it (set_pod_status): the start
 * time it reported first stays. */
static void
keep_start_time (json_t *pod, const json_t *was, void *arg)
{
  (void) arg;
  json_t *t = json_object_get (json_object_get (was, "status"), "startTime");
  if (t && json_object_get (pod, "status"))
    json_object_set (json_object_get (pod, "status"), "startTime", t);
}

static uint64_t
same_status (const json_t *pod, void *arg)
{
  (void) pod;
  (void) arg;
  return 1;
}

START_TEST (test_scoped_sync_is_full_sync)
{
  UNIT_REQUIRE_ROOT ();
  ck_assert_ptr_nonnull (mkdtemp (state_dir));
  setenv ("NSLAB_STATE_DIR", state_dir, 1);
  nslab_error_t err = NULL;
  struct lab_objects *o = seed_objects ();
  struct state_writer *w = NULL;
  ck_assert_msg (state_create ("k3s", NULL, &w, &err) == 0, "%s", err ? err->msg : "");
  ck_assert_msg (store_create (w, o, &err) == 0, "%s", err ? err->msg : "");
  state_writer_close (w);
  struct store *s = NULL;
  ck_assert_int_eq (store_open ("k3s", &s, &err), 0);
  struct store_sync_cache *cache = store_sync_cache_new ();
  uint64_t observed = 0;
  ck_assert_msg (store_sync (s, o, 0, keep_start_time, same_status, NULL, NULL, cache, version (s), &observed, &err) == 0, "%s",
                 err ? err->msg : "");
  void (*changes[]) (json_t *) = { web_not_ready, rs_scale_down, web_scale_up, web_pod_deleted };
  /* what each change scopes: pods, workloads, services */
  const size_t want[][3] = { { 2, 1, 1 }, { 6, 1, 1 }, { 3, 1, 1 }, { 3, 1, 1 } };
  for (size_t c = 0; c < ARRAY_SIZE (changes); c++)
    {
      struct lab_objects *n = edited (o, changes[c]);
      struct round_scope sc;
      ck_assert_msg (round_scope_find (o, n, NULL, NULL, &sc), "change %zu: not a pod/endpoint round", c);
      ck_assert_uint_eq (sc.pods.n, want[c][0]);
      ck_assert_uint_eq (sc.workloads.n, want[c][1]);
      ck_assert_uint_eq (sc.services.n, want[c][2]);
      struct lab_objects *now_view = round_scope_view (n, &sc), *was_view = round_scope_view (o, &sc);
      size_t pods_before = count (s, "Pod");
      uint64_t before = version (s);
      ck_assert_msg (store_sync_scoped (s, now_view, was_view, 0, keep_start_time, same_status, NULL, NULL, cache, before, &observed,
                                        &err) == 0,
                     "%s", err ? err->msg : "");
      round_scope_view_free (now_view);
      round_scope_view_free (was_view);
      round_scope_free (&sc);
      /* it wrote the change */
      ck_assert_uint_gt (version (s), before);
      ck_assert_uint_eq (count (s, "Pod"), pods_before + n->n_pods - o->n_pods);
      /* and a full sync, comparing every object, finds nothing left */
      uint64_t scoped = version (s);
      ck_assert_int_eq (store_sync (s, n, 0, keep_start_time, same_status, NULL, NULL, NULL, scoped, &observed, &err), 0);
      ck_assert_msg (version (s) == scoped, "change %zu: the full sync wrote what the scoped one did not", c);
      objects_free (o);
      o = n;
    }
  /* A service gone is not a pod/endpoint round. */
  struct lab_objects *n = edited (o, service_removed);
  struct round_scope sc;
  ck_assert (!round_scope_find (o, n, NULL, NULL, &sc));
  ck_assert_uint_eq (sc.pods.n + sc.workloads.n + sc.services.n, 0);
  round_scope_free (&sc);
  objects_free (n);
  objects_free (o);
  store_sync_cache_free (cache);
  store_close (s);
  cleanup_free char *cmd = xasprintf ("rm -rf '%s'", state_dir);
  ck_assert_int_eq (system (cmd), 0);
}
END_TEST

static Suite *
make_suite (void)
{
  Suite *s = suite_create ("round_scope");
  TCase *tc = tcase_create ("round_scope");
  tcase_set_timeout (tc, 60);
  tcase_add_test (tc, test_scoped_sync_is_full_sync);
  suite_add_tcase (s, tc);
  return s;
}

UNIT_MAIN (make_suite)
