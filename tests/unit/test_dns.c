/* The cluster DNS answers (dns/kubernetes_plugin.c): queries built and
 * answers read with ldns, compared with the records as dig prints them
 * (zone-file lines) and, for one answer, byte for byte with the RFC 1035
 * wire form. */
#include <arpa/inet.h>
#include <ldns/ldns.h>

#include "unit.h"
#include "base/ipaddr.h"
#include "dns/kubernetes_plugin.h"

static struct dns_port web_ports[] = { { "http", "tcp", 80, 8080 } };
static uint32_t web_eps[] = { IP4 (10, 42, 0, 2), IP4 (10, 42, 1, 2) };
static struct dns_port hl_ports[] = { { "http", "tcp", 80, 8080 }, { NULL, "udp", 53, 53 } };
static struct dns_port dns_ports[] = { { "dns", "udp", 53, 53 }, { "dns-tcp", "tcp", 53, 53 } };
static uint32_t dns_eps[] = { IP4 (10, 42, 0, 4) };
static struct dns_service services[] = {
  { "demo", "web-svc", IP4 (10, 43, 51, 194), web_ports, 1, web_eps, 2 },
  { "demo", "web-headless", 0, hl_ports, 2, web_eps, 2 },
  { "kube-system", "kube-dns", IP4 (10, 43, 0, 10), dns_ports, 2, dns_eps, 1 },
  { "demo", "empty", 0, web_ports, 1, NULL, 0 },
};
static struct dns_pod pods[] = { { "demo", IP4 (10, 42, 0, 2) }, { "demo", IP4 (10, 42, 1, 2) },
                                 { "default", IP4 (10, 42, 1, 9) } };
static struct dns_view view = { "cluster.local", 42, services, 4, pods, 3 };

static uint8_t *
query_wire (const char *name, ldns_rr_type type, bool edns, size_t *len)
{
  ldns_pkt *q = NULL;
  ck_assert_int_eq (ldns_pkt_query_new_frm_str (&q, name, type, LDNS_RR_CLASS_IN, LDNS_RD), LDNS_STATUS_OK);
  ldns_pkt_set_id (q, 0x1234);
  if (edns)
    ldns_pkt_set_edns_udp_size (q, 4096);
  uint8_t *w = NULL;
  ck_assert_int_eq (ldns_pkt2wire (&w, q, len), LDNS_STATUS_OK);
  ldns_pkt_free (q);
  return w;
}

/* Ask NAME/TYPE and parse the answer. */
static ldns_pkt *
ask (const struct dns_view *v, const char *name, ldns_rr_type type, bool tcp, bool edns)
{
  size_t len, alen;
  cleanup_free uint8_t *q = query_wire (name, type, edns, &len);
  cleanup_free uint8_t *a = NULL;
  ck_assert_int_eq (dns_answer (v, q, len, tcp, &a, &alen), 0);
  ldns_pkt *p = NULL;
  ck_assert_int_eq (ldns_wire2pkt (&p, a, alen), LDNS_STATUS_OK);
  ck_assert_uint_eq (ldns_pkt_id (p), 0x1234);
  ck_assert (ldns_pkt_qr (p));
  return p;
}

/* One section as zone-file lines, as dig prints them. */
static char *
section (const ldns_pkt *p, ldns_pkt_section sec)
{
  ldns_rr_list *l = ldns_pkt_get_section_clone (p, sec);
  char *s = ldns_rr_list2str (l);
  ldns_rr_list_deep_free (l);
  return s;
}

static void
expect (const struct dns_view *v, const char *name, ldns_rr_type type, ldns_pkt_rcode rcode, const char *answer)
{
  ldns_pkt *p = ask (v, name, type, false, false);
  ck_assert_int_eq (ldns_pkt_get_rcode (p), rcode);
  cleanup_free char *got = section (p, LDNS_SECTION_ANSWER);
  ck_assert_str_eq (got, answer);
  ldns_pkt_free (p);
}

START_TEST (test_a_wire)
{
  size_t len, alen;
  cleanup_free uint8_t *q = query_wire ("web-svc.demo.svc.cluster.local", LDNS_RR_TYPE_A, false, &len);
  cleanup_free uint8_t *a = NULL;
  ck_assert_int_eq (dns_answer (&view, q, len, false, &a, &alen), 0);
  static const uint8_t want[] = {
    0x12, 0x34, 0x85, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, /* QR AA RD, RA, NOERROR; 1 question, 1 answer */
    7, 'w', 'e', 'b', '-', 's', 'v', 'c', 4, 'd', 'e', 'm', 'o', 3, 's', 'v', 'c',
    7, 'c', 'l', 'u', 's', 't', 'e', 'r', 5, 'l', 'o', 'c', 'a', 'l', 0, 0, 1, 0, 1,
    0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4, 10, 43, 51, 194, /* the name compressed, TTL 5 */
  };
  ck_assert_uint_eq (alen, sizeof want);
  ck_assert_mem_eq (a, want, sizeof want);
}
END_TEST

START_TEST (test_services)
{
  expect (&view, "web-svc.demo.svc.cluster.local", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR,
          "web-svc.demo.svc.cluster.local.\t5\tIN\tA\t10.43.51.194\n");
  /* Names are case-insensitive; the answer keeps the question's case. */
  expect (&view, "Web-Svc.DEMO.svc.cluster.local", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR,
          "Web-Svc.DEMO.svc.cluster.local.\t5\tIN\tA\t10.43.51.194\n");
  expect (&view, "web-headless.demo.svc.cluster.local", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR,
          "web-headless.demo.svc.cluster.local.\t5\tIN\tA\t10.42.0.2\n"
          "web-headless.demo.svc.cluster.local.\t5\tIN\tA\t10.42.1.2\n");
  expect (&view, "10-42-1-2.web-headless.demo.svc.cluster.local", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR,
          "10-42-1-2.web-headless.demo.svc.cluster.local.\t5\tIN\tA\t10.42.1.2\n");
  expect (&view, "10-42-1-3.web-headless.demo.svc.cluster.local", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, "");
  /* A headless service without ready endpoints exists, with no address. */
  expect (&view, "empty.demo.svc.cluster.local", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, "");
  expect (&view, "nope.demo.svc.cluster.local", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, "");
  expect (&view, "web-svc.default.svc.cluster.local", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, "");
  /* The search path's misses: web-svc.demo tried in the demo namespace. */
  expect (&view, "web-svc.demo.demo.svc.cluster.local", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, "");
  expect (&view, "web-svc.svc.cluster.local", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, "");
  expect (&view, "demo.svc.cluster.local", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, "");
}
END_TEST

START_TEST (test_srv)
{
  ldns_pkt *p = ask (&view, "_http._tcp.web-svc.demo.svc.cluster.local", LDNS_RR_TYPE_SRV, false, false);
  cleanup_free char *an = section (p, LDNS_SECTION_ANSWER), *ad = section (p, LDNS_SECTION_ADDITIONAL);
  ck_assert_str_eq (an, "_http._tcp.web-svc.demo.svc.cluster.local.\t5\tIN\tSRV\t0 100 80 "
                        "web-svc.demo.svc.cluster.local.\n");
  ck_assert_str_eq (ad, "web-svc.demo.svc.cluster.local.\t5\tIN\tA\t10.43.51.194\n");
  ldns_pkt_free (p);
  /* Headless: one record per endpoint, on the endpoints' port. */
  p = ask (&view, "_http._tcp.web-headless.demo.svc.cluster.local", LDNS_RR_TYPE_SRV, false, false);
  cleanup_free char *an2 = section (p, LDNS_SECTION_ANSWER), *ad2 = section (p, LDNS_SECTION_ADDITIONAL);
  ck_assert_str_eq (an2, "_http._tcp.web-headless.demo.svc.cluster.local.\t5\tIN\tSRV\t0 50 8080 "
                         "10-42-0-2.web-headless.demo.svc.cluster.local.\n"
                         "_http._tcp.web-headless.demo.svc.cluster.local.\t5\tIN\tSRV\t0 50 8080 "
                         "10-42-1-2.web-headless.demo.svc.cluster.local.\n");
  ck_assert_str_eq (ad2, "10-42-0-2.web-headless.demo.svc.cluster.local.\t5\tIN\tA\t10.42.0.2\n"
                         "10-42-1-2.web-headless.demo.svc.cluster.local.\t5\tIN\tA\t10.42.1.2\n");
  ldns_pkt_free (p);
  expect (&view, "_dns._udp.kube-dns.kube-system.svc.cluster.local", LDNS_RR_TYPE_SRV, LDNS_RCODE_NOERROR,
          "_dns._udp.kube-dns.kube-system.svc.cluster.local.\t5\tIN\tSRV\t0 100 53 "
          "kube-dns.kube-system.svc.cluster.local.\n");
  /* A port name with the wrong protocol is no name at all. */
  expect (&view, "_dns._tcp.kube-dns.kube-system.svc.cluster.local", LDNS_RR_TYPE_SRV, LDNS_RCODE_NXDOMAIN, "");
}
END_TEST

START_TEST (test_pods_and_ptr)
{
  expect (&view, "10-42-1-8.demo.pod.cluster.local", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR,
          "10-42-1-8.demo.pod.cluster.local.\t5\tIN\tA\t10.42.1.8\n");
  expect (&view, "10-42-1-256.demo.pod.cluster.local", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, "");
  expect (&view, "10-42-1.demo.pod.cluster.local", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, "");
  expect (&view, "194.51.43.10.in-addr.arpa", LDNS_RR_TYPE_PTR, LDNS_RCODE_NOERROR,
          "194.51.43.10.in-addr.arpa.\t5\tIN\tPTR\tweb-svc.demo.svc.cluster.local.\n");
  expect (&view, "4.0.42.10.in-addr.arpa", LDNS_RR_TYPE_PTR, LDNS_RCODE_NOERROR,
          "4.0.42.10.in-addr.arpa.\t5\tIN\tPTR\t10-42-0-4.kube-dns.kube-system.svc.cluster.local.\n");
  expect (&view, "9.1.42.10.in-addr.arpa", LDNS_RR_TYPE_PTR, LDNS_RCODE_NOERROR,
          "9.1.42.10.in-addr.arpa.\t5\tIN\tPTR\t10-42-1-9.default.pod.cluster.local.\n");
  expect (&view, "99.1.42.10.in-addr.arpa", LDNS_RR_TYPE_PTR, LDNS_RCODE_NXDOMAIN, "");
}
END_TEST

START_TEST (test_negative)
{
  /* AAAA of a name that exists: NOERROR, no answer, the SOA for caches. */
  ldns_pkt *p = ask (&view, "web-svc.demo.svc.cluster.local", LDNS_RR_TYPE_AAAA, false, false);
  ck_assert_int_eq (ldns_pkt_get_rcode (p), LDNS_RCODE_NOERROR);
  ck_assert_uint_eq (ldns_pkt_ancount (p), 0);
  cleanup_free char *ns = section (p, LDNS_SECTION_AUTHORITY);
  ck_assert_str_eq (ns, "cluster.local.\t5\tIN\tSOA\tns.dns.cluster.local. hostmaster.cluster.local. 42 7200 1800 "
                        "86400 5\n");
  ck_assert (ldns_pkt_aa (p));
  ldns_pkt_free (p);
  p = ask (&view, "nothing.cluster.local", LDNS_RR_TYPE_A, false, false);
  ck_assert_int_eq (ldns_pkt_get_rcode (p), LDNS_RCODE_NXDOMAIN);
  ck_assert_uint_eq (ldns_pkt_nscount (p), 1);
  ldns_pkt_free (p);
  /* Outside the cluster's zones, no upstream: refused at once. */
  p = ask (&view, "example.com", LDNS_RR_TYPE_A, false, false);
  ck_assert_int_eq (ldns_pkt_get_rcode (p), LDNS_RCODE_REFUSED);
  ck_assert (!ldns_pkt_aa (p));
  ldns_pkt_free (p);
  /* The search path's last try of a short name: no such top-level name. */
  p = ask (&view, "web-svc", LDNS_RR_TYPE_A, false, false);
  ck_assert_int_eq (ldns_pkt_get_rcode (p), LDNS_RCODE_NXDOMAIN);
  ck_assert (!ldns_pkt_aa (p));
  ldns_pkt_free (p);
  /* The store cannot be read: SERVFAIL, not a false NXDOMAIN. */
  p = ask (NULL, "web-svc.demo.svc.cluster.local", LDNS_RR_TYPE_A, false, false);
  ck_assert_int_eq (ldns_pkt_get_rcode (p), LDNS_RCODE_SERVFAIL);
  ldns_pkt_free (p);
}
END_TEST

START_TEST (test_malformed)
{
  uint8_t *a = NULL;
  size_t alen;
  /* Too short for an ID: nothing to answer. */
  static const uint8_t shortq[] = { 0x12, 0x34, 0x01 };
  ck_assert_int_eq (dns_answer (&view, shortq, sizeof shortq, false, &a, &alen), -1);
  /* One question announced, none there: FORMERR with the ID. */
  static const uint8_t noq[] = { 0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 7, 'w' };
  ck_assert_int_eq (dns_answer (&view, noq, sizeof noq, false, &a, &alen), 0);
  static const uint8_t formerr[] = { 0xab, 0xcd, 0x81, 0x01, 0, 0, 0, 0, 0, 0, 0, 0 };
  ck_assert_uint_eq (alen, sizeof formerr);
  ck_assert_mem_eq (a, formerr, sizeof formerr);
  free (a);
  /* Two questions: FORMERR too. */
  size_t len;
  cleanup_free uint8_t *q = query_wire ("web-svc.demo.svc.cluster.local", LDNS_RR_TYPE_A, false, &len);
  q[5] = 2;
  ck_assert_int_eq (dns_answer (&view, q, len, false, &a, &alen), 0);
  ck_assert_uint_eq (a[3] & 0x0f, LDNS_RCODE_FORMERR);
  free (a);
  /* A response is never answered; another opcode is not implemented. */
  q[5] = 1;
  q[2] |= 0x80;
  ck_assert_int_eq (dns_answer (&view, q, len, false, &a, &alen), -1);
  q[2] = (uint8_t) ((q[2] & ~0x80) | (LDNS_PACKET_STATUS << 3));
  ck_assert_int_eq (dns_answer (&view, q, len, false, &a, &alen), 0);
  ck_assert_uint_eq (a[3] & 0x0f, LDNS_RCODE_NOTIMPL);
  free (a);
}
END_TEST

/* An answer beyond 512 bytes (no EDNS) goes out truncated and empty over
 * UDP, whole over TCP and with a large enough EDNS buffer. */
START_TEST (test_truncation)
{
  uint32_t eps[60];
  for (int i = 0; i < 60; i++)
    eps[i] = IP4 (10, 42, 0, 10 + i);
  struct dns_service big = { "demo", "big", 0, web_ports, 1, eps, 60 };
  struct dns_view v = { "cluster.local", 1, &big, 1, NULL, 0 };
  ldns_pkt *p = ask (&v, "big.demo.svc.cluster.local", LDNS_RR_TYPE_A, false, false);
  ck_assert (ldns_pkt_tc (p));
  ck_assert_uint_eq (ldns_pkt_ancount (p), 0);
  ldns_pkt_free (p);
  p = ask (&v, "big.demo.svc.cluster.local", LDNS_RR_TYPE_A, true, false);
  ck_assert (!ldns_pkt_tc (p));
  ck_assert_uint_eq (ldns_pkt_ancount (p), 60);
  ldns_pkt_free (p);
  p = ask (&v, "big.demo.svc.cluster.local", LDNS_RR_TYPE_A, false, true);
  ck_assert (!ldns_pkt_tc (p));
  ck_assert_uint_eq (ldns_pkt_ancount (p), 60);
  ck_assert_uint_eq (ldns_pkt_edns_udp_size (p), DNS_EDNS_SIZE);
  ldns_pkt_free (p);
}
END_TEST

static Suite *
make_suite (void)
{
  Suite *s = suite_create ("dns");
  TCase *tc = tcase_create ("core");
  tcase_add_test (tc, test_a_wire);
  tcase_add_test (tc, test_services);
  tcase_add_test (tc, test_srv);
  tcase_add_test (tc, test_pods_and_ptr);
  tcase_add_test (tc, test_negative);
  tcase_add_test (tc, test_malformed);
  tcase_add_test (tc, test_truncation);
  suite_add_tcase (s, tc);
  return s;
}

UNIT_MAIN (make_suite)
