/* base32 (RFC 4648 vectors) and kube-proxy's chain names against values
 * seen on real clusters (SHA-256 itself is nettle's). */
#include "unit.h"

#include "base/ipaddr.h"
#include "k8s/kube_proxy_chains.h"

START_TEST (test_base32_rfc4648)
{
  static const struct { const char *in, *out; } v[] = {
    { "", "" },           { "f", "MY======" },     { "fo", "MZXQ====" },
    { "foo", "MZXW6===" }, { "foob", "MZXW6YQ=" }, { "fooba", "MZXW6YTB" },
    { "foobar", "MZXW6YTBOI======" },
  };
  for (size_t i = 0; i < ARRAY_SIZE (v); i++)
    {
      char out[32];
      base32_std_encode ((const uint8_t *) v[i].in, strlen (v[i].in), out);
      ck_assert_str_eq (out, v[i].out);
    }
}
END_TEST

START_TEST (test_chain_names_reference_table)
{
  static const struct { const char *prefix, *input, *chain; } v[] = {
    { KUBE_SVC_PREFIX, "default/kubernetes:httpstcp", "KUBE-SVC-NPX46M4PTMTKRN6Y" },
    { KUBE_SVC_PREFIX, "kube-system/kube-dns:dnsudp", "KUBE-SVC-TCOU7JCQXEZGVUNU" },
    { KUBE_SVC_PREFIX, "kube-system/kube-dns:dns-tcptcp", "KUBE-SVC-ERIFXISQEP7F7OF4" },
    { KUBE_SVC_PREFIX, "kube-system/kube-dns:metricstcp", "KUBE-SVC-JD5MR3NA4I4DYORP" },
    { KUBE_SVC_PREFIX, "kube-system/traefik:webtcp", "KUBE-SVC-UQMCRMJZLI3FTLDP" },
    { KUBE_SVC_PREFIX, "kube-system/traefik:websecuretcp", "KUBE-SVC-CVG3OEGEH7H5P3HQ" },
    { KUBE_SEP_PREFIX, "default/my-nginxtcp10.244.3.3:80", "KUBE-SEP-MEZP33SDGZXSPSO5" },
    { KUBE_SEP_PREFIX, "kube-system/kube-dns:dnsudp10.42.0.7:53", "KUBE-SEP-4SSQDR46DMIXOOUO" },
    /* The same hash under the other prefixes (kube-proxy reuses it). */
    { KUBE_EXT_PREFIX, "kube-system/traefik:webtcp", "KUBE-EXT-UQMCRMJZLI3FTLDP" },
    { KUBE_SVL_PREFIX, "kube-system/traefik:webtcp", "KUBE-SVL-UQMCRMJZLI3FTLDP" },
    { KUBE_FW_PREFIX, "kube-system/traefik:webtcp", "KUBE-FW-UQMCRMJZLI3FTLDP" },
  };
  for (size_t i = 0; i < ARRAY_SIZE (v); i++)
    {
      char out[KUBE_CHAIN_MAX];
      kube_chain_name (out, v[i].prefix, v[i].input);
      ck_assert_str_eq (out, v[i].chain);
    }
}
END_TEST

START_TEST (test_chain_helpers)
{
  char out[KUBE_CHAIN_MAX];
  cleanup_free char *https = kube_svc_port_name ("default", "kubernetes", "https");
  cleanup_free char *nginx = kube_svc_port_name ("default", "my-nginx", NULL);
  cleanup_free char *empty = kube_svc_port_name ("default", "my-nginx", "");
  cleanup_free char *dns = kube_svc_port_name ("kube-system", "kube-dns", "dns");
  ck_assert_str_eq (https, "default/kubernetes:https");
  ck_assert_str_eq (nginx, "default/my-nginx");
  ck_assert_str_eq (empty, "default/my-nginx");

  kube_svc_chain (out, KUBE_SVC_PREFIX, https, "tcp");
  ck_assert_str_eq (out, "KUBE-SVC-NPX46M4PTMTKRN6Y");
  kube_svc_chain (out, KUBE_SVC_PREFIX, nginx, "tcp");
  ck_assert_str_eq (out, "KUBE-SVC-L65ENXXZWWSAPRCR");
  kube_sep_chain (out, nginx, "tcp", IP4 (10, 244, 2, 3), 80);
  ck_assert_str_eq (out, "KUBE-SEP-TIQJFJVSHRJZTTZW");
  kube_sep_chain (out, nginx, "tcp", IP4 (10, 244, 3, 3), 80);
  ck_assert_str_eq (out, "KUBE-SEP-MEZP33SDGZXSPSO5");
  kube_sep_chain (out, dns, "udp", IP4 (10, 42, 0, 7), 53);
  ck_assert_str_eq (out, "KUBE-SEP-4SSQDR46DMIXOOUO");

  char h[KUBE_HASH_LEN + 1];
  kube_hash16 (h, "default/kubernetes:httpstcp");
  ck_assert_str_eq (h, "NPX46M4PTMTKRN6Y");
}
END_TEST

static Suite *
make_suite (void)
{
  Suite *s = suite_create ("kubehash");
  TCase *tc = tcase_create ("core");
  tcase_add_test (tc, test_base32_rfc4648);
  tcase_add_test (tc, test_chain_names_reference_table);
  tcase_add_test (tc, test_chain_helpers);
  suite_add_tcase (s, tc);
  return s;
}

UNIT_MAIN (make_suite)
