/* kubectl describe's printers (view/k8s_describe.h) against real kubectl:
 * tests/unit/describe/ holds objects of the seed lab as the lab's API
 * served them (kubectl get -o json) and, taken at the same moment, what
 * the machine's kubectl describe (v1.32) printed for them (a ReplicaSet
 * with the pods its selector lists, a namespace: kubectl describe rs, ns). The text must
 * be byte for byte the same: the tabwriter's column blocks included. */
#include "unit.h"

#include <jansson.h>

#include "view/k8s_describe.h"

static json_t *
load_json (const char *name)
{
  cleanup_free char *path = xasprintf ("%s/tests/unit/describe/%s", NSLAB_SRCDIR, name);
  json_error_t e;
  json_t *v = json_load_file (path, 0, &e);
  ck_assert_msg (v != NULL, "%s: %s", path, e.text);
  return v;
}

static char *
load_text (const char *name)
{
  cleanup_free char *path = xasprintf ("%s/tests/unit/describe/%s", NSLAB_SRCDIR, name);
  FILE *f = fopen (path, "re");
  ck_assert_msg (f != NULL, "%s", path);
  struct strbuf sb;
  sb_init (&sb);
  char buf[4096];
  size_t n;
  while ((n = fread (buf, 1, sizeof buf, f)) > 0)
    sb_addn (&sb, buf, n);
  fclose (f);
  return sb_steal (&sb);
}

/* OBJ's describe text (events: an empty list, as when there are none)
 * equals kubectl's in EXPECTED. */
static void
check_with_pods (const char *obj_file, const char *expected_file, const char *slices_file, const char *rs_file,
                 const char *pods_file)
{
  json_t *obj = load_json (obj_file), *events = json_array ();
  json_t *slices = slices_file ? load_json (slices_file) : NULL, *rs = rs_file ? load_json (rs_file) : NULL;
  json_t *pods = pods_file ? load_json (pods_file) : NULL;
  struct k8s_describe_related rel = { .events = events,
                                      .slices = json_object_get (slices, "items"),
                                      .replicasets = json_object_get (rs, "items"),
                                      .pods = json_object_get (pods, "items") };
  cleanup_free char *got = k8s_describe (obj, &rel, time (NULL));
  cleanup_free char *want = load_text (expected_file);
  ck_assert_ptr_nonnull (got);
  ck_assert_str_eq (got, want);
  json_decref (obj);
  json_decref (events);
  json_decref (slices);
  json_decref (rs);
  json_decref (pods);
}

static void
check (const char *obj_file, const char *expected_file, const char *slices_file, const char *rs_file)
{
  check_with_pods (obj_file, expected_file, slices_file, rs_file, NULL);
}

START_TEST (pod)
{
  check ("pod.json", "pod.txt", NULL, NULL);
}
END_TEST

START_TEST (service)
{
  check ("service.json", "service.txt", "service-slices.json", NULL);
}
END_TEST

START_TEST (endpoints)
{
  check ("endpoints.json", "endpoints.txt", NULL, NULL);
}
END_TEST

START_TEST (deployment)
{
  check ("deployment.json", "deployment.txt", NULL, "deployment-replicasets.json");
}
END_TEST

/* The ReplicaSet's pods are counted by phase among those it controls. */
START_TEST (replicaset)
{
  check_with_pods ("replicaset.json", "replicaset.txt", NULL, NULL, "replicaset-pods.json");
  json_t *rs = load_json ("replicaset.json"), *pods = load_json ("replicaset-pods.json");
  json_t *items = json_object_get (pods, "items");
  json_object_set_new (json_object_get (json_array_get (items, 0), "status"), "phase", json_string ("Pending"));
  json_object_del (json_object_get (json_array_get (items, 1), "metadata"), "ownerReferences");
  struct k8s_describe_related rel = { .pods = items };
  cleanup_free char *got = k8s_describe (rs, &rel, time (NULL));
  ck_assert_ptr_nonnull (strstr (got, "\nPods Status:    0 Running / 1 Waiting / 0 Succeeded / 0 Failed\n"));
  json_decref (rs);
  json_decref (pods);
}
END_TEST

START_TEST (namespace)
{
  check ("namespace.json", "namespace.txt", NULL, NULL);
}
END_TEST

START_TEST (no_describer)
{
  json_t *lease = json_pack ("{s:s, s:{s:s}}", "kind", "Lease", "metadata", "name", "w1");
  ck_assert (!k8s_describe_known ("Lease"));
  ck_assert_ptr_null (k8s_describe (lease, NULL, 0));
  json_decref (lease);
}
END_TEST

static Suite *
make_suite (void)
{
  Suite *s = suite_create ("k8s_describe");
  TCase *tc = tcase_create ("core");
  tcase_add_test (tc, pod);
  tcase_add_test (tc, service);
  tcase_add_test (tc, endpoints);
  tcase_add_test (tc, deployment);
  tcase_add_test (tc, replicaset);
  tcase_add_test (tc, namespace);
  tcase_add_test (tc, no_describer);
  suite_add_tcase (s, tc);
  return s;
}

UNIT_MAIN (make_suite)
