/* kube-proxy's health answers (proxy/service_health.c): the service health
 * check's body against the text of kube-proxy's handler (service_health.go,
 * its dedented template) and the length a real kube-proxy sent (an nmap
 * capture of one: "Content-Length: 127" for default/wp-nginx-service),
 * local endpoints counted from the store's objects as
 * EndpointsMap.LocalReadyEndpoints counts them, the cache the health
 * server keeps between reads against a fresh read, and Go's time format. */
#include <jansson.h>

#include "unit.h"
#include "proxy/service_health.h"

START_TEST (test_service_body)
{
  char *b = hc_service_body ("default", "web-lb", 1, true);
  ck_assert_str_eq (b, "{\n\t\"service\": {\n\t\t\"namespace\": \"default\",\n\t\t\"name\": \"web-lb\"\n\t},\n"
                       "\t\"localEndpoints\": 1,\n\t\"serviceProxyHealthy\": true\n}");
  free (b);
  b = hc_service_body ("default", "wp-nginx-service", 1, true);
  ck_assert_uint_eq (strlen (b), 127);
  free (b);
  b = hc_service_body ("shop", "checkout-lb", 0, false);
  ck_assert_ptr_nonnull (strstr (b, "\"localEndpoints\": 0,\n\t\"serviceProxyHealthy\": false\n}"));
  free (b);
  /* %q escapes */
  b = hc_service_body ("a\"b", "c\\d", 2, true);
  ck_assert_ptr_nonnull (strstr (b, "\"namespace\": \"a\\\"b\",\n\t\t\"name\": \"c\\\\d\""));
  free (b);
}
END_TEST

static const char *services_json
    = "[{\"metadata\":{\"namespace\":\"default\",\"name\":\"web-lb\"},\"spec\":{\"healthCheckNodePort\":31118}},"
      " {\"metadata\":{\"namespace\":\"default\",\"name\":\"web-np\"},\"spec\":{}},"
      " {\"metadata\":{\"namespace\":\"a\",\"name\":\"two\"},\"spec\":{\"healthCheckNodePort\":32000}},"
      " {\"metadata\":{\"namespace\":\"a\",\"name\":\"none\"},\"spec\":{\"healthCheckNodePort\":32001}}]";
/* web-lb: one pod on w1, one on cp1; two: two ports, one pod on w1 with
 * the same target port for both (one ip:port) and one with two. */
static const char *endpoints_json
    = "[{\"metadata\":{\"namespace\":\"default\",\"name\":\"web-lb\"},\"subsets\":[{\"addresses\":["
      "{\"ip\":\"10.42.1.2\",\"nodeName\":\"w1\"},{\"ip\":\"10.42.0.5\",\"nodeName\":\"cp1\"}],"
      "\"ports\":[{\"port\":8080,\"protocol\":\"TCP\"}]}]},"
      " {\"metadata\":{\"namespace\":\"a\",\"name\":\"two\"},\"subsets\":["
      "{\"addresses\":[{\"ip\":\"10.42.1.3\",\"nodeName\":\"w1\"},{\"ip\":\"10.42.1.4\",\"nodeName\":\"w1\"}],"
      "\"ports\":[{\"name\":\"http\",\"port\":8080,\"protocol\":\"TCP\"}]},"
      "{\"addresses\":[{\"ip\":\"10.42.1.3\",\"nodeName\":\"w1\"}],"
      "\"ports\":[{\"name\":\"alt\",\"port\":8080,\"protocol\":\"TCP\"}]},"
      "{\"addresses\":[{\"ip\":\"10.42.1.4\",\"nodeName\":\"w1\"}],"
      "\"ports\":[{\"name\":\"metrics\",\"port\":9090,\"protocol\":\"TCP\"}]}]}]";
static const char *nodes_json = "[{\"metadata\":{\"name\":\"cp1\"}},{\"metadata\":{\"name\":\"w1\"}}]";

static void
load (const char *node, struct hc_view *v)
{
  json_t *s = json_loads (services_json, 0, NULL), *e = json_loads (endpoints_json, 0, NULL),
         *n = json_loads (nodes_json, 0, NULL);
  ck_assert (s && e && n);
  hc_view_from_json (s, e, n, node, v);
  json_decref (s);
  json_decref (e);
  json_decref (n);
}

START_TEST (test_view)
{
  struct hc_view v;
  load ("w1", &v);
  ck_assert (v.node_eligible);
  ck_assert_uint_eq (v.n_services, 3); /* web-np has no health-check port */
  ck_assert_str_eq (v.services[0].ns, "a");
  ck_assert_str_eq (v.services[0].name, "none");
  ck_assert_int_eq (v.services[0].local_endpoints, 0);
  ck_assert_str_eq (v.services[1].name, "two");
  ck_assert_uint_eq (v.services[1].port, 32000);
  /* 10.42.1.3:8080, 10.42.1.4:8080, 10.42.1.4:9090 */
  ck_assert_int_eq (v.services[1].local_endpoints, 3);
  ck_assert_str_eq (v.services[2].name, "web-lb");
  ck_assert_int_eq (v.services[2].local_endpoints, 1);
  hc_view_free (&v);
  load ("cp1", &v);
  ck_assert_int_eq (v.services[1].local_endpoints, 0);
  ck_assert_int_eq (v.services[2].local_endpoints, 1);
  hc_view_free (&v);
  load ("gone", &v);
  ck_assert (!v.node_eligible);
  ck_assert_int_eq (v.services[2].local_endpoints, 0);
  hc_view_free (&v);
}
END_TEST

/* What a watch delivers, put into the kept cache one object at a time,
 * gives the view a fresh read of the changed lists gives. */
START_TEST (test_cache_follows_changes)
{
  json_t *lists[] = { json_loads (services_json, 0, NULL), json_loads (endpoints_json, 0, NULL),
                      json_loads (nodes_json, 0, NULL) };
  struct hc_cache c;
  hc_cache_init (&c);
  hc_cache_put_lists (&c, (const json_t *const *) lists, "w1");
  ck_assert_uint_eq (hc_cache_count (&c), 4 + 2 + 2);
  /* web-lb's w1 pod went; a/none lost its health-check port; a/new came */
  json_t *ep = json_loads ("{\"metadata\":{\"namespace\":\"default\",\"name\":\"web-lb\"},\"subsets\":[{"
                           "\"addresses\":[{\"ip\":\"10.42.0.5\",\"nodeName\":\"cp1\"}],"
                           "\"ports\":[{\"port\":8080,\"protocol\":\"TCP\"}]}]}",
                           0, NULL);
  json_t *none = json_loads ("{\"metadata\":{\"namespace\":\"a\",\"name\":\"none\"},\"spec\":{}}", 0, NULL);
  json_t *fresh = json_loads ("{\"metadata\":{\"namespace\":\"a\",\"name\":\"new\"},"
                              "\"spec\":{\"healthCheckNodePort\":30001}}",
                              0, NULL);
  ck_assert (ep && none && fresh);
  hc_cache_put (&c, "Endpoints", ep, "w1");
  hc_cache_put (&c, "Service", none, "w1");
  hc_cache_put (&c, "Service", fresh, "w1");
  hc_cache_put (&c, "Event", fresh, "w1"); /* not a kind of the view */
  ck_assert_uint_eq (hc_cache_count (&c), 9);
  struct hc_view got, want;
  hc_cache_view (&c, "w1", &got);
  /* the same as reading the edited lists afresh */
  json_array_set (lists[1], 0, ep);
  json_array_set (lists[0], 3, none);
  json_array_append (lists[0], fresh);
  hc_view_from_json (lists[0], lists[1], lists[2], "w1", &want);
  ck_assert_uint_eq (got.n_services, 3);
  ck_assert_uint_eq (got.n_services, want.n_services);
  for (size_t i = 0; i < got.n_services; i++)
    {
      ck_assert_str_eq (got.services[i].ns, want.services[i].ns);
      ck_assert_str_eq (got.services[i].name, want.services[i].name);
      ck_assert_uint_eq (got.services[i].port, want.services[i].port);
      ck_assert_int_eq (got.services[i].local_endpoints, want.services[i].local_endpoints);
    }
  ck_assert_str_eq (got.services[0].name, "new");
  ck_assert_uint_eq (got.services[0].port, 30001);
  ck_assert_str_eq (got.services[2].name, "web-lb");
  ck_assert_int_eq (got.services[2].local_endpoints, 0);
  ck_assert (got.node_eligible && want.node_eligible);
  hc_view_free (&got);
  hc_view_free (&want);
  hc_cache_free (&c);
  json_decref (ep);
  json_decref (none);
  json_decref (fresh);
  for (size_t k = 0; k < 3; k++)
    json_decref (lists[k]);
}
END_TEST

START_TEST (test_proxier_answers)
{
  char t[80], z[80], *body = NULL;
  /* 2026-12-01 03:49:20.6061 UTC, 0.66 s after start */
  hc_go_time (1796096960606100000ll, 663781677, t);
  ck_assert_str_eq (t, "2026-12-01 03:49:20.6061 +0000 UTC m=+0.663781677");
  hc_go_time (1796096960000000000ll, 12000000001ll, t);
  ck_assert_str_eq (t, "2026-12-01 03:49:20 +0000 UTC m=+12.000000001");
  hc_go_time (0, 0, z);
  ck_assert_str_eq (z, "0001-01-01 00:00:00 +0000 UTC");
  ck_assert_int_eq (hc_proxier_answer (false, true, true, z, t, &body), 200);
  ck_assert_str_eq (body, "{\"lastUpdated\": \"2026-12-01 03:49:20 +0000 UTC m=+12.000000001\",\"currentTime\": "
                          "\"2026-12-01 03:49:20 +0000 UTC m=+12.000000001\", \"nodeEligible\": true}");
  free (body);
  /* a deleted node: /healthz fails, /livez does not */
  ck_assert_int_eq (hc_proxier_answer (false, true, false, z, t, &body), 503);
  ck_assert_str_eq (body, "{\"lastUpdated\": \"0001-01-01 00:00:00 +0000 UTC\",\"currentTime\": "
                          "\"2026-12-01 03:49:20 +0000 UTC m=+12.000000001\", \"nodeEligible\": false}");
  free (body);
  ck_assert_int_eq (hc_proxier_answer (true, true, false, z, t, &body), 200);
  ck_assert_str_eq (body, "{\"lastUpdated\": \"2026-12-01 03:49:20 +0000 UTC m=+12.000000001\",\"currentTime\": "
                          "\"2026-12-01 03:49:20 +0000 UTC m=+12.000000001\"}");
  free (body);
  ck_assert_int_eq (hc_proxier_answer (true, false, true, z, t, &body), 503);
  free (body);
}
END_TEST

static Suite *
make_suite (void)
{
  Suite *s = suite_create ("proxy_health");
  TCase *tc = tcase_create ("core");
  tcase_add_test (tc, test_service_body);
  tcase_add_test (tc, test_view);
  tcase_add_test (tc, test_cache_follows_changes);
  tcase_add_test (tc, test_proxier_answers);
  suite_add_tcase (s, tc);
  return s;
}

UNIT_MAIN (make_suite)
