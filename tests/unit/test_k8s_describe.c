/* kubectl describe's printers (view/k8s_describe.h) against real kubectl:
 * tests/unit/describe/ holds objects of the seed lab as the lab's API
 * served them (kubectl get -o json) and, taken at the same moment, what
 * the machine's kubectl describe (v1.32) printed for them. The text must
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
check (const char *obj_file, const char *expected_file, const char *slices_file, const char *rs_file)
{
  json_t *obj = load_json (obj_file), *events = json_array ();
  json_t *slices = slices_file ? load_json (slices_file) : NULL, *rs = rs_file ? load_json (rs_file) : NULL;
  struct k8s_describe_related rel = { .events = events,
                                      .slices = json_object_get (slices, "items"),
                                      .replicasets = json_object_get (rs, "items") };
  cleanup_free char *got = k8s_describe (obj, &rel, time (NULL));
  cleanup_free char *want = load_text (expected_file);
  ck_assert_ptr_nonnull (got);
  ck_assert_str_eq (got, want);
  json_decref (obj);
  json_decref (events);
  json_decref (slices);
  json_decref (rs);
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

START_TEST (no_describer)
{
  json_t *ns = json_pack ("{s:s, s:{s:s}}", "kind", "Namespace", "metadata", "name", "demo");
  ck_assert (!k8s_describe_known ("Namespace"));
  ck_assert_ptr_null (k8s_describe (ns, NULL, 0));
  json_decref (ns);
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
  tcase_add_test (tc, no_describer);
  suite_add_tcase (s, tc);
  return s;
}

UNIT_MAIN (make_suite)
