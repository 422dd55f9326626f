/* What nslab reads of the CNI plugins' output: an ADD result (the address
 * host-local gave, the bridge and host veth) and a plugin's error object.
 * The texts are the real plugins' (containernetworking-plugins 1.1.1, as
 * nslab's applier got them); the error objects come from running the real
 * plugin when it is installed. */
#include "unit.h"

#include "runtime/cni.h"

/* bridge + host-local, CNI 0.3.1: the result cached for a pod of the
 * kubeadm-hostgw lab, verbatim. */
static const char bridge_result_031[]
    = "{\n    \"cniVersion\": \"0.3.1\",\n    \"interfaces\": [\n        {\n            \"name\": \"cni0\",\n"
      "            \"mac\": \"26:b4:da:30:99:33\"\n        },\n        {\n            \"name\": \"vethdcc8a7a3\",\n"
      "            \"mac\": \"4e:f5:5b:aa:19:85\"\n        },\n        {\n            \"name\": \"eth0\",\n"
      "            \"mac\": \"3a:0c:5a:2c:ce:21\",\n"
      "            \"sandbox\": \"/run/netns/hostgw-default-webapp-7777c487ff-k4vrb\"\n        }\n    ],\n"
      "    \"ips\": [\n        {\n            \"version\": \"4\",\n            \"interface\": 2,\n"
      "            \"address\": \"10.244.1.2/24\",\n            \"gateway\": \"10.244.1.1\"\n        }\n    ],\n"
      "    \"routes\": [\n        {\n            \"dst\": \"10.244.0.0/16\"\n        },\n        {\n"
      "            \"dst\": \"0.0.0.0/0\",\n            \"gw\": \"10.244.1.1\"\n        }\n    ],\n"
      "    \"dns\": {}\n}";

/* loopback: lo's addresses, no version member (its result is 1.0-shaped). */
static const char loopback_result[]
    = "{\n    \"cniVersion\": \"0.3.1\",\n    \"interfaces\": [\n        {\n            \"name\": \"lo\",\n"
      "            \"mac\": \"00:00:00:00:00:00\",\n"
      "            \"sandbox\": \"/run/netns/hostgw-default-client\"\n        }\n    ],\n"
      "    \"ips\": [\n        {\n            \"interface\": 0,\n            \"address\": \"127.0.0.1/8\"\n"
      "        },\n        {\n            \"interface\": 0,\n            \"address\": \"::1/128\"\n        }\n    ],\n"
      "    \"dns\": {}\n}";

START_TEST (test_result_bridge)
{
  struct cni_result r;
  nslab_error_t err = NULL;
  ck_assert_int_eq (cni_result_parse (bridge_result_031, &r, &err), 0);
  char c[CIDR_STRLEN], ip[IP_STRLEN];
  ck_assert_str_eq (cidr_fmt (r.ip, c), "10.244.1.2/24");
  ck_assert_str_eq (ip_fmt (r.gateway, ip), "10.244.1.1");
  ck_assert_str_eq (r.bridge, "cni0");
  ck_assert_str_eq (r.host_veth, "vethdcc8a7a3");
  cni_result_free (&r);
}
END_TEST

START_TEST (test_result_loopback)
{
  struct cni_result r;
  nslab_error_t err = NULL;
  ck_assert_int_eq (cni_result_parse (loopback_result, &r, &err), 0);
  char c[CIDR_STRLEN];
  ck_assert_str_eq (cidr_fmt (r.ip, c), "127.0.0.1/8");
  ck_assert_uint_eq (r.gateway, 0);
  ck_assert_ptr_null (r.bridge);
  ck_assert_ptr_null (r.host_veth);
  cni_result_free (&r);
}
END_TEST

START_TEST (test_result_refused)
{
  static const struct {
    const char *text, *msg;
  } bad[] = {
    { "", "CNI result: not JSON (line 1: '[' or '{' expected near end of file)" },
    { "[]", "CNI result: not an object with arrays \"interfaces\" and \"ips\"" },
    { "{\"ips\": {}}", "CNI result: not an object with arrays \"interfaces\" and \"ips\"" },
    { "{\"ips\": [{\"address\": \"10.0.0.2/24\", \"gateway\": \"x\"}]}", "CNI result: gateway is not an IPv4 address" },
  };
  for (size_t i = 0; i < ARRAY_SIZE (bad); i++)
    {
      struct cni_result r;
      nslab_error_t err = NULL;
      ck_assert_int_eq (cni_result_parse (bad[i].text, &r, &err), -1);
      ck_assert_str_eq (err->msg, bad[i].msg);
      ck_assert_ptr_null (r.bridge);
      nslab_error_free (&err);
    }
}
END_TEST

/* The real plugin's error object for an ADD without CNI_NETNS (skel's
 * check, before anything is touched: no privileges needed). */
START_TEST (test_error_of_real_plugin)
{
  if (access ("/usr/lib/cni/bridge", X_OK) != 0)
    {
      printf ("SKIP: test_error_of_real_plugin: /usr/lib/cni/bridge is not installed (make deps)\n");
      fflush (stdout);
      return;
    }
  FILE *f = popen ("echo '{\"cniVersion\":\"0.3.1\",\"name\":\"cbr0\",\"type\":\"bridge\"}' | env -i "
                   "CNI_COMMAND=ADD CNI_CONTAINERID=x CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni /usr/lib/cni/bridge",
                   "r");
  ck_assert_ptr_nonnull (f);
  char buf[4096];
  size_t n = fread (buf, 1, sizeof buf - 1, f);
  buf[n] = '\0';
  ck_assert_int_ne (pclose (f), 0);
  char *m = cni_error_message (buf);
  ck_assert_str_eq (m, "required env variables [CNI_NETNS] missing (code 4)");
  free (m);
  ck_assert_ptr_null (cni_error_message ("not json"));
  ck_assert_ptr_null (cni_error_message ("{\"code\": 1}"));
  m = cni_error_message ("{\"code\": 7, \"msg\": \"invalid network config\", \"details\": \"no ipam\"}");
  ck_assert_str_eq (m, "invalid network config: no ipam (code 7)");
  free (m);
}
END_TEST

static Suite *
make_suite (void)
{
  Suite *s = suite_create ("cni");
  TCase *tc = tcase_create ("parse");
  tcase_add_test (tc, test_result_bridge);
  tcase_add_test (tc, test_result_loopback);
  tcase_add_test (tc, test_result_refused);
  tcase_add_test (tc, test_error_of_real_plugin);
  suite_add_tcase (s, tc);
  return s;
}

UNIT_MAIN (make_suite)
