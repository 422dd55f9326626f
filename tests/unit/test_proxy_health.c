/* kube-proxy's health answers (proxy/service_health.c): the service health
 * check's body against the text of kube-proxy's handler (service_health.go,
 * its dedented template) and the length a real kube-proxy sent (an nmap
 * capture of one: "Content-Length: 127" for default/wp-nginx-service),
 * local endpoints counted from the store's objects as
 * EndpointsMap.LocalReadyEndpoints counts them, and Go's time format. */
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
  tcase_add_test (tc, test_proxier_answers);
  suite_add_tcase (s, tc);
  return s;
}

UNIT_MAIN (make_suite)
