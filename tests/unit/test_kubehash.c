/* SHA-256 (FIPS 180-4 / NIST CAVP vectors), base32 (RFC 4648 vectors) and
 * kube-proxy's chain names against values seen on real clusters. */
#include "unit.h"

#include "base/ipaddr.h"
#include "k8s/kube_proxy_chains.h"
#include "base/sha256.h"

static void
hex (const uint8_t *d, size_t n, char *out)
{
  for (size_t i = 0; i < n; i++)
    sprintf (out + 2 * i, "%02x", d[i]);
}

static void
check_sha (const char *msg, size_t len, const char *want)
{
  uint8_t d[SHA256_DIGEST_LEN];
  char h[65];
  sha256 (msg, len, d);
  hex (d, sizeof d, h);
  ck_assert_str_eq (h, want);
}

START_TEST (test_sha256_vectors)
{
  check_sha ("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  check_sha ("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  /* Two-block message (448 bits: the padding spills into a second block). */
  check_sha ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
             "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  check_sha ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
             112, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}
END_TEST

START_TEST (test_sha256_incremental_million_a)
{
  /* One million 'a' fed in odd-sized pieces exercises the block buffer. */
  struct sha256_ctx c;
  char chunk[997];
  uint8_t d[SHA256_DIGEST_LEN];
  char h[65];
  memset (chunk, 'a', sizeof chunk);
  sha256_init (&c);
  size_t left = 1000000;
  while (left > 0)
    {
      size_t n = left < sizeof chunk ? left : sizeof chunk;
      sha256_update (&c, chunk, n);
      left -= n;
    }
  sha256_final (&c, d);
  hex (d, sizeof d, h);
  ck_assert_str_eq (h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}
END_TEST

START_TEST (test_sha256_boundaries)
{
  /* 55, 56, 63, 64 and 65 bytes: the length field just fits, just does not
     fit, and messages around a full block. Values from coreutils sha256sum. */
  static const struct { size_t n; const char *want; } v[] = {
    { 55, "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072" },
    { 56, "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e" },
    { 63, "75220b47218278e656f2013bb8f0c455a25eaf01e86c64924e9d48d89776d6f2" },
    { 64, "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c" },
    { 65, "9537c5fdf120482f7d58d25e9ed583f52c02b4e304ea814db1633ad565aed7e9" },
  };
  char buf[65];
  memset (buf, 'x', sizeof buf);
  for (size_t i = 0; i < ARRAY_SIZE (v); i++)
    check_sha (buf, v[i].n, v[i].want);
}
END_TEST

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
  tcase_add_test (tc, test_sha256_vectors);
  tcase_add_test (tc, test_sha256_incremental_million_a);
  tcase_add_test (tc, test_sha256_boundaries);
  tcase_add_test (tc, test_base32_rfc4648);
  tcase_add_test (tc, test_chain_names_reference_table);
  tcase_add_test (tc, test_chain_helpers);
  suite_add_tcase (s, tc);
  return s;
}

UNIT_MAIN (make_suite)
