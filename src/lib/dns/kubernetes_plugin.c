/* CoreDNS's kubernetes plugin over a dns_view (kubernetes_plugin.h). */
#include "dns/kubernetes_plugin.h"

#include <arpa/inet.h>
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

#define DNS_HEADER_LEN 12
#define DNS_UDP_PLAIN 512
/* SOA timers of the plugin's zone apex (plugin/kubernetes: refresh 7200,
 * retry 1800, expire 86400, minimum = the record TTL). */
#define SOA_REFRESH 7200
#define SOA_RETRY 1800
#define SOA_EXPIRE 86400
#define MAX_LABELS 8

void
dns_view_free (struct dns_view *v)
{
  if (v == NULL)
    return;
  for (size_t i = 0; i < v->n_services; i++)
    {
      struct dns_service *s = &v->services[i];
      free (s->ns);
      free (s->name);
      for (size_t k = 0; k < s->n_ports; k++)
        free (s->ports[k].name);
      free (s->ports);
      free (s->endpoints);
    }
  free (v->services);
  for (size_t i = 0; i < v->n_pods; i++)
    free (v->pods[i].ns);
  free (v->pods);
  free (v->zone);
  memset (v, 0, sizeof *v);
}

/* ---- records ---------------------------------------------------------- */

struct reply {
  ldns_pkt *pkt;
  const struct dns_view *v;
  const ldns_rdf *qname; /* as asked: answers echo its case */
};

static ldns_rr *
rr_new (const ldns_rdf *owner, ldns_rr_type type)
{
  ldns_rr *rr = ldns_rr_new ();
  ldns_rr_set_owner (rr, ldns_rdf_clone (owner));
  ldns_rr_set_type (rr, type);
  ldns_rr_set_class (rr, LDNS_RR_CLASS_IN);
  ldns_rr_set_ttl (rr, DNS_TTL);
  return rr;
}

static ldns_rdf *
dname (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

static ldns_rdf *
dname (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  cleanup_free char *s = NULL;
  if (vasprintf (&s, fmt, ap) < 0)
    abort ();
  va_end (ap);
  ldns_rdf *r = ldns_dname_new_frm_str (s);
  if (r == NULL)
    abort (); /* our own names are always valid */
  return r;
}

static ldns_rdf *
rdf_a (uint32_t ip)
{
  uint32_t be = htonl (ip);
  return ldns_rdf_new_frm_data (LDNS_RDF_TYPE_A, sizeof be, &be);
}

static void
push (struct reply *r, ldns_pkt_section sec, ldns_rr *rr)
{
  ldns_pkt_push_rr (r->pkt, sec, rr);
}

static void
add_a (struct reply *r, ldns_pkt_section sec, const ldns_rdf *owner, uint32_t ip)
{
  ldns_rr *rr = rr_new (owner, LDNS_RR_TYPE_A);
  ldns_rr_push_rdf (rr, rdf_a (ip));
  push (r, sec, rr);
}

/* 10.42.1.8 -> "10-42-1-8", the plugin's name for an address. */
static void
dashed (uint32_t ip, char out[16])
{
  snprintf (out, 16, "%u-%u-%u-%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

/* The zone's SOA, in the authority section of a negative answer or as the
 * answer to SOA at the apex. */
static ldns_rr *
soa (const struct dns_view *v, const char *zone)
{
  ldns_rdf *apex = dname ("%s.", zone);
  ldns_rr *rr = rr_new (apex, LDNS_RR_TYPE_SOA);
  ldns_rdf_deep_free (apex);
  ldns_rr_push_rdf (rr, dname ("ns.dns.%s.", zone));
  ldns_rr_push_rdf (rr, dname ("hostmaster.%s.", zone));
  ldns_rr_push_rdf (rr, ldns_native2rdf_int32 (LDNS_RDF_TYPE_INT32, v->serial));
  ldns_rr_push_rdf (rr, ldns_native2rdf_int32 (LDNS_RDF_TYPE_PERIOD, SOA_REFRESH));
  ldns_rr_push_rdf (rr, ldns_native2rdf_int32 (LDNS_RDF_TYPE_PERIOD, SOA_RETRY));
  ldns_rr_push_rdf (rr, ldns_native2rdf_int32 (LDNS_RDF_TYPE_PERIOD, SOA_EXPIRE));
  ldns_rr_push_rdf (rr, ldns_native2rdf_int32 (LDNS_RDF_TYPE_PERIOD, DNS_TTL));
  return rr;
}

/* NXDOMAIN (the name does not exist) or NODATA (it does, without records
 * of that type): the zone's SOA in the authority section either way, for
 * the client's negative cache. */
static void
negative (struct reply *r, const char *zone, bool nxdomain)
{
  if (nxdomain)
    ldns_pkt_set_rcode (r->pkt, LDNS_RCODE_NXDOMAIN);
  push (r, LDNS_SECTION_AUTHORITY, soa (r->v, zone));
}

/* ---- lookups ---------------------------------------------------------- */

static const struct dns_service *
find_service (const struct dns_view *v, const char *ns, const char *name)
{
  for (size_t i = 0; i < v->n_services; i++)
    if (strcmp (v->services[i].ns, ns) == 0 && strcmp (v->services[i].name, name) == 0)
      return &v->services[i];
  return NULL;
}

static bool
namespace_has_services (const struct dns_view *v, const char *ns)
{
  for (size_t i = 0; i < v->n_services; i++)
    if (strcmp (v->services[i].ns, ns) == 0)
      return true;
  return false;
}

/* "a-b-c-d" (pod and endpoint names) to an address. */
static bool
parse_dashed (const char *s, uint32_t *out)
{
  uint32_t ip = 0;
  for (int i = 0; i < 4; i++)
    {
      if (*s < '0' || *s > '9')
        return false;
      unsigned v = 0;
      int digits = 0;
      while (*s >= '0' && *s <= '9')
        {
          v = v * 10 + (unsigned) (*s++ - '0');
          if (++digits > 3 || v > 255)
            return false;
        }
      if (*s != (i < 3 ? '-' : '\0'))
        return false;
      if (i < 3)
        s++;
      ip = ip << 8 | v;
    }
  *out = ip;
  return true;
}

/* <svc>.<ns>.svc: the ClusterIP, or every ready endpoint when headless. */
static void
answer_service_a (struct reply *r, const struct dns_service *s)
{
  if (s->cluster_ip)
    add_a (r, LDNS_SECTION_ANSWER, r->qname, s->cluster_ip);
  else
    for (size_t i = 0; i < s->n_endpoints; i++)
      add_a (r, LDNS_SECTION_ANSWER, r->qname, s->endpoints[i]);
}

static void
add_srv (struct reply *r, uint16_t weight, uint16_t port, ldns_rdf *target)
{
  ldns_rr *rr = rr_new (r->qname, LDNS_RR_TYPE_SRV);
  ldns_rr_push_rdf (rr, ldns_native2rdf_int16 (LDNS_RDF_TYPE_INT16, 0));
  ldns_rr_push_rdf (rr, ldns_native2rdf_int16 (LDNS_RDF_TYPE_INT16, weight));
  ldns_rr_push_rdf (rr, ldns_native2rdf_int16 (LDNS_RDF_TYPE_INT16, port));
  ldns_rr_push_rdf (rr, target);
  push (r, LDNS_SECTION_ANSWER, rr);
}

/* _<port>._<proto>.<svc>.<ns>.svc: the service name and port, or per
 * endpoint its own name and the target port (headless), with their A
 * records as additional data. Weights share 100 as the plugin's do. */
static void
answer_srv (struct reply *r, const struct dns_service *s, const struct dns_port *p)
{
  const char *zone = r->v->zone;
  if (s->cluster_ip)
    {
      ldns_rdf *t = dname ("%s.%s.svc.%s.", s->name, s->ns, zone);
      add_srv (r, 100, p->port, ldns_rdf_clone (t));
      add_a (r, LDNS_SECTION_ADDITIONAL, t, s->cluster_ip);
      ldns_rdf_deep_free (t);
      return;
    }
  uint16_t weight = s->n_endpoints ? (uint16_t) (100 / s->n_endpoints) : 0;
  if (weight == 0)
    weight = 1;
  for (size_t i = 0; i < s->n_endpoints; i++)
    {
      char d[16];
      dashed (s->endpoints[i], d);
      ldns_rdf *t = dname ("%s.%s.%s.svc.%s.", d, s->name, s->ns, zone);
      add_srv (r, weight, p->target, ldns_rdf_clone (t));
      add_a (r, LDNS_SECTION_ADDITIONAL, t, s->endpoints[i]);
      ldns_rdf_deep_free (t);
    }
}

/* The endpoint of S whose dashed address is LABEL, or 0. */
static uint32_t
find_endpoint (const struct dns_service *s, const char *label)
{
  uint32_t ip;
  if (!parse_dashed (label, &ip))
    return 0;
  for (size_t i = 0; i < s->n_endpoints; i++)
    if (s->endpoints[i] == ip)
      return ip;
  return 0;
}

static const struct dns_port *
find_port (const struct dns_service *s, const char *name, const char *proto)
{
  for (size_t k = 0; k < s->n_ports; k++)
    if (s->ports[k].name && strcmp (s->ports[k].name, name) == 0 && strcmp (s->ports[k].proto, proto) == 0)
      return &s->ports[k];
  return NULL;
}

/* L[0..n-1] before "svc.<zone>": <ns>, <svc>.<ns>, <ep>.<svc>.<ns> or
 * _<port>._<proto>.<svc>.<ns>. */
static void
answer_svc (struct reply *r, ldns_rr_type qt, char **l, size_t n)
{
  const struct dns_view *v = r->v;
  bool a = qt == LDNS_RR_TYPE_A || qt == LDNS_RR_TYPE_ANY;
  const struct dns_service *s = n >= 2 ? find_service (v, l[n - 1], l[n - 2]) : NULL;
  uint32_t ip = 0;
  const struct dns_port *p = NULL;
  if (n == 0)
    negative (r, v->zone, false);
  else if (n == 1)
    negative (r, v->zone, !namespace_has_services (v, l[0]));
  else if (s == NULL || n > 4)
    negative (r, v->zone, true);
  else if (n == 2)
    {
      if (a && (s->cluster_ip || s->n_endpoints))
        answer_service_a (r, s);
      else
        negative (r, v->zone, false);
    }
  else if (n == 3)
    {
      if ((ip = find_endpoint (s, l[0])) == 0)
        negative (r, v->zone, true);
      else if (a)
        add_a (r, LDNS_SECTION_ANSWER, r->qname, ip);
      else
        negative (r, v->zone, false);
    }
  else if (l[0][0] != '_' || l[1][0] != '_' || (p = find_port (s, l[0] + 1, l[1] + 1)) == NULL)
    negative (r, v->zone, true);
  else if ((qt == LDNS_RR_TYPE_SRV || qt == LDNS_RR_TYPE_ANY) && (s->cluster_ip || s->n_endpoints))
    answer_srv (r, s, p);
  else
    negative (r, v->zone, false);
}

/* L[0..n-1] before "pod.<zone>": <ns> or <a-b-c-d>.<ns> (pods insecure:
 * any well-formed address in any namespace). */
static void
answer_pod (struct reply *r, ldns_rr_type qt, char **l, size_t n)
{
  uint32_t ip;
  if (n <= 1)
    negative (r, r->v->zone, false);
  else if (n != 2 || !parse_dashed (l[0], &ip))
    negative (r, r->v->zone, true);
  else if (qt == LDNS_RR_TYPE_A || qt == LDNS_RR_TYPE_ANY)
    add_a (r, LDNS_SECTION_ANSWER, r->qname, ip);
  else
    negative (r, r->v->zone, false);
}

/* A name under <zone>, split into its labels L[0..n-1] (left to right,
 * zone removed). */
static void
answer_zone (struct reply *r, ldns_rr_type qt, char **l, size_t n)
{
  const struct dns_view *v = r->v;
  if (n == 0 && (qt == LDNS_RR_TYPE_SOA || qt == LDNS_RR_TYPE_ANY))
    push (r, LDNS_SECTION_ANSWER, soa (v, v->zone));
  else if (n == 0 && qt == LDNS_RR_TYPE_NS)
    {
      ldns_rr *rr = rr_new (r->qname, LDNS_RR_TYPE_NS);
      ldns_rr_push_rdf (rr, dname ("ns.dns.%s.", v->zone));
      push (r, LDNS_SECTION_ANSWER, rr);
    }
  else if (n == 0)
    negative (r, v->zone, false);
  else if (strcmp (l[n - 1], "svc") == 0)
    answer_svc (r, qt, l, n - 1);
  else if (strcmp (l[n - 1], "pod") == 0)
    answer_pod (r, qt, l, n - 1);
  else
    negative (r, v->zone, true);
}

static void
add_ptr (struct reply *r, ldns_rdf *target)
{
  ldns_rr *rr = rr_new (r->qname, LDNS_RR_TYPE_PTR);
  ldns_rr_push_rdf (rr, target);
  push (r, LDNS_SECTION_ANSWER, rr);
}

/* <d>.<c>.<b>.<a>.in-addr.arpa: the services whose ClusterIP it is, the
 * endpoints it is (named <ep>.<svc>.<ns>.svc), else the pod. */
static void
answer_reverse (struct reply *r, ldns_rr_type qt, char **l, size_t n)
{
  const struct dns_view *v = r->v;
  uint32_t ip = 0;
  bool valid = n == 4;
  for (size_t i = 0; valid && i < 4; i++)
    {
      char *end;
      unsigned long b = strtoul (l[3 - i], &end, 10);
      valid = l[3 - i][0] >= '0' && l[3 - i][0] <= '9' && *end == '\0' && b <= 255 && strlen (l[3 - i]) <= 3;
      ip = ip << 8 | (uint32_t) b;
    }
  size_t before = ldns_pkt_ancount (r->pkt);
  bool want = qt == LDNS_RR_TYPE_PTR || qt == LDNS_RR_TYPE_ANY;
  bool exists = false;
  char d[16];
  dashed (ip, d);
  for (size_t i = 0; valid && i < v->n_services; i++)
    {
      const struct dns_service *s = &v->services[i];
      if (s->cluster_ip && s->cluster_ip == ip)
        {
          exists = true;
          if (want)
            add_ptr (r, dname ("%s.%s.svc.%s.", s->name, s->ns, v->zone));
        }
      for (size_t e = 0; e < s->n_endpoints; e++)
        if (s->endpoints[e] == ip)
          {
            exists = true;
            if (want)
              add_ptr (r, dname ("%s.%s.%s.svc.%s.", d, s->name, s->ns, v->zone));
          }
    }
  for (size_t i = 0; valid && !exists && i < v->n_pods; i++)
    if (v->pods[i].ip == ip)
      {
        exists = true;
        if (want)
          add_ptr (r, dname ("%s.%s.pod.%s.", d, v->pods[i].ns, v->zone));
      }
  if (ldns_pkt_ancount (r->pkt) == before)
    negative (r, "in-addr.arpa", !exists);
}

/* Does NAME (lower case, no trailing dot) end in ZONE? Then *rel_len is the
 * length of what comes before ".ZONE" (0 at the apex). */
static bool
in_zone (const char *name, const char *zone, size_t *rel_len)
{
  size_t nl = strlen (name), zl = strlen (zone);
  if (nl == zl && strcmp (name, zone) == 0)
    {
      *rel_len = 0;
      return true;
    }
  if (nl > zl + 1 && name[nl - zl - 1] == '.' && strcmp (name + nl - zl, zone) == 0)
    {
      *rel_len = nl - zl - 1;
      return true;
    }
  return false;
}

/* Split the first REL_LEN bytes of NAME (modified) at dots. */
static size_t
split_labels (char *name, size_t rel_len, char **l)
{
  if (rel_len == 0)
    return 0;
  name[rel_len] = '\0';
  size_t n = 0;
  for (char *p = name;; )
    {
      if (n == MAX_LABELS)
        return MAX_LABELS + 1;
      l[n++] = p;
      char *dot = strchr (p, '.');
      if (dot == NULL)
        return n;
      *dot = '\0';
      p = dot + 1;
    }
}

/* The question's name in lower case, labels joined by dots, no trailing
 * dot, from its wire form (ldns_rdf2str would cost a third of an answer).
 * A dot or NUL inside a label becomes \1, which no cluster name holds, so
 * the labels stay where they are and such a name matches nothing. */
static void
qname_text (const ldns_rdf *rdf, char out[LDNS_MAX_DOMAINLEN + 1])
{
  const uint8_t *d = ldns_rdf_data (rdf);
  size_t size = ldns_rdf_size (rdf), i = 0, n = 0;
  while (i < size && d[i] != 0 && i + 1 + d[i] <= size)
    {
      if (n)
        out[n++] = '.';
      for (size_t k = 0; k < d[i] && n < LDNS_MAX_DOMAINLEN; k++)
        {
          char c = (char) d[i + 1 + k];
          out[n++] = c >= 'A' && c <= 'Z' ? (char) (c - 'A' + 'a') : c == '.' || c == '\0' ? '\1' : c;
        }
      i += 1 + d[i];
    }
  out[n] = '\0';
}

static void
answer_question (struct reply *r, const ldns_rr *q)
{
  ldns_rr_type qt = ldns_rr_get_type (q);
  char name[LDNS_MAX_DOMAINLEN + 1];
  qname_text (ldns_rr_owner (q), name);
  char *l[MAX_LABELS + 1];
  size_t rel;
  /* Authoritative for the cluster's zones only. */
  bool ours = true;
  if (ldns_rr_get_class (q) != LDNS_RR_CLASS_IN && ldns_rr_get_class (q) != LDNS_RR_CLASS_ANY)
    {
      ldns_pkt_set_rcode (r->pkt, LDNS_RCODE_REFUSED);
      ours = false;
    }
  else if (in_zone (name, r->v->zone, &rel))
    {
      size_t n = split_labels (name, rel, l);
      if (n > MAX_LABELS)
        negative (r, r->v->zone, true);
      else
        answer_zone (r, qt, l, n);
    }
  else if (in_zone (name, "in-addr.arpa", &rel))
    {
      size_t n = split_labels (name, rel, l);
      if (n > MAX_LABELS)
        negative (r, "in-addr.arpa", true);
      else
        answer_reverse (r, qt, l, n);
    }
  else if (in_zone (name, "ip6.arpa", &rel))
    negative (r, "ip6.arpa", true); /* an IPv4 cluster: no address has a name */
  else
    {
      /* No upstream (forward . /etc/resolv.conf) in a lab: refuse at once
       * rather than let a client wait for a timeout; but a single label
       * (the search path's last try of `web-svc`) is no name an upstream
       * has: NXDOMAIN, as it would say. */
      ldns_pkt_set_rcode (r->pkt, name[0] && strchr (name, '.') == NULL ? LDNS_RCODE_NXDOMAIN : LDNS_RCODE_REFUSED);
      ours = false;
    }
  ldns_pkt_set_aa (r->pkt, ours);
}

/* ---- messages --------------------------------------------------------- */

/* A reply with nothing but the header (FORMERR, NOTIMP) for a query ldns
 * could not or need not parse: its ID and opcode, QR set. */
static int
header_only (const uint8_t *q, uint8_t rcode, uint8_t **out, size_t *out_len)
{
  uint8_t *b = xcalloc (1, DNS_HEADER_LEN);
  b[0] = q[0];
  b[1] = q[1];
  b[2] = (uint8_t) (0x80 | (q[2] & 0x78) | (q[2] & 0x01)); /* QR, opcode, RD */
  b[3] = rcode & 0x0f;
  *out = b;
  *out_len = DNS_HEADER_LEN;
  return 0;
}

static void
drop_records (ldns_pkt *p)
{
  ldns_rr_list_deep_free (ldns_pkt_answer (p));
  ldns_rr_list_deep_free (ldns_pkt_authority (p));
  ldns_rr_list_deep_free (ldns_pkt_additional (p));
  ldns_pkt_set_answer (p, ldns_rr_list_new ());
  ldns_pkt_set_authority (p, ldns_rr_list_new ());
  ldns_pkt_set_additional (p, ldns_rr_list_new ());
  ldns_pkt_set_ancount (p, 0);
  ldns_pkt_set_nscount (p, 0);
  ldns_pkt_set_arcount (p, 0);
}

static int
to_wire (ldns_pkt *p, uint8_t **out, size_t *out_len)
{
  uint8_t *wire = NULL;
  size_t size = 0;
  if (ldns_pkt2wire (&wire, p, &size) != LDNS_STATUS_OK)
    return -1;
  *out = wire;
  *out_len = size;
  return 0;
}

int
dns_answer (const struct dns_view *v, const uint8_t *query, size_t len, bool tcp, uint8_t **out, size_t *out_len)
{
  *out = NULL;
  *out_len = 0;
  /* Without a whole header there is no ID to answer to; a response is
   * never answered (no loops between servers). */
  if (len < DNS_HEADER_LEN || (query[2] & 0x80))
    return -1;
  uint8_t opcode = (query[2] >> 3) & 0x0f;
  if (opcode != LDNS_PACKET_QUERY)
    return header_only (query, LDNS_RCODE_NOTIMPL, out, out_len);
  ldns_pkt *q = NULL;
  if (ldns_wire2pkt (&q, query, len) != LDNS_STATUS_OK)
    return header_only (query, LDNS_RCODE_FORMERR, out, out_len);
  if (ldns_pkt_qdcount (q) != 1 || ldns_rr_list_rr_count (ldns_pkt_question (q)) != 1
      || ldns_pkt_ancount (q) != 0)
    {
      ldns_pkt_free (q);
      return header_only (query, LDNS_RCODE_FORMERR, out, out_len);
    }
  const ldns_rr *qrr = ldns_rr_list_rr (ldns_pkt_question (q), 0);
  ldns_pkt *p = ldns_pkt_new ();
  ldns_pkt_set_id (p, ldns_pkt_id (q));
  ldns_pkt_set_qr (p, true);
  ldns_pkt_set_opcode (p, LDNS_PACKET_QUERY);
  ldns_pkt_set_rd (p, ldns_pkt_rd (q));
  ldns_pkt_set_ra (p, true);
  ldns_pkt_set_rcode (p, LDNS_RCODE_NOERROR);
  ldns_pkt_push_rr (p, LDNS_SECTION_QUESTION, ldns_rr_clone (qrr));
  size_t limit = DNS_UDP_PLAIN;
  if (ldns_pkt_edns (q))
    {
      ldns_pkt_set_edns_udp_size (p, DNS_EDNS_SIZE);
      uint16_t theirs = ldns_pkt_edns_udp_size (q);
      limit = theirs < DNS_UDP_PLAIN ? DNS_UDP_PLAIN : theirs > DNS_EDNS_SIZE ? DNS_EDNS_SIZE : theirs;
    }
  struct reply r = { .pkt = p, .v = v, .qname = ldns_rr_owner (qrr) };
  if (v)
    answer_question (&r, qrr);
  else
    ldns_pkt_set_rcode (p, LDNS_RCODE_SERVFAIL);
  int rc = to_wire (p, out, out_len);
  if (rc == 0 && !tcp && *out_len > limit)
    {
      free (*out);
      *out = NULL;
      drop_records (p);
      ldns_pkt_set_tc (p, true);
      rc = to_wire (p, out, out_len);
    }
  ldns_pkt_free (p);
  ldns_pkt_free (q);
  return rc;
}
