/* The answers of CoreDNS's kubernetes plugin, as both flavors' Corefile
 * configures it (`kubernetes cluster.local in-addr.arpa ip6.arpa { pods
 * insecure; fallthrough in-addr.arpa ip6.arpa; ttl 5 }`, no forward
 * upstream here), computed from a snapshot of the cluster's Services,
 * Endpoints and Pods (struct dns_view) with no I/O, so that unit tests and
 * the fuzzer drive it with plain bytes. Messages are parsed and built with
 * ldns. The records follow the Kubernetes DNS specification
 * (kubernetes/dns docs/specification.md):
 *
 *   <svc>.<ns>.svc.<zone>              A: the ClusterIP, or every ready endpoint (headless)
 *   <ep>.<svc>.<ns>.svc.<zone>         A: the endpoint whose dashed address is <ep>
 *   _<port>._<proto>.<svc>.<ns>.svc.<zone>  SRV per named port (headless: one per endpoint)
 *   <a-b-c-d>.<ns>.pod.<zone>          A: a.b.c.d (pods insecure)
 *   <d>.<c>.<b>.<a>.in-addr.arpa       PTR: service, endpoint or pod
 *
 * AAAA of an existing name is NOERROR with no answer (IPv4 clusters), an
 * unknown name in the zone NXDOMAIN, a name outside it REFUSED (no
 * upstream) but for a single label (NXDOMAIN, as the root would answer
 * `web-svc.`), a malformed query FORMERR. UDP answers larger than the
 * client's buffer (512 bytes without EDNS) go out with TC set and no
 * records, so the client asks again over TCP. */
#ifndef NSLAB_DNS_KUBERNETES_PLUGIN_H
#define NSLAB_DNS_KUBERNETES_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The plugin's default record TTL (ttl 5). */
#define DNS_TTL 5
/* The UDP payload we advertise and send at most with EDNS (DNS flag day 2020). */
#define DNS_EDNS_SIZE 1232

struct dns_port {
  char *name;          /* may be NULL: no SRV record */
  char proto[5];       /* "tcp", "udp", "sctp" */
  uint16_t port;       /* the service port */
  uint16_t target;     /* the endpoints' port (headless SRV) */
};

struct dns_service {
  char *ns, *name;
  uint32_t cluster_ip;  /* 0: headless */
  struct dns_port *ports;
  size_t n_ports;
  uint32_t *endpoints;  /* ready addresses, unique, ascending */
  size_t n_endpoints;
};

struct dns_pod {
  char *ns;
  uint32_t ip;
};

struct dns_view {
  char *zone;           /* "cluster.local" (lower case, no trailing dot) */
  uint32_t serial;      /* the SOA serial: the store's resourceVersion */
  struct dns_service *services;
  size_t n_services;
  struct dns_pod *pods;
  size_t n_pods;
};

void dns_view_free (struct dns_view *v);

/* The answer to QUERY (LEN bytes, as received) in *OUT (malloc'd, *OUT_LEN
 * bytes): 0, or -1 when nothing must be sent back (too short to carry an
 * ID, or a response rather than a query). TCP: no size limit. V NULL: the
 * cluster's objects cannot be read (yet): SERVFAIL. */
int dns_answer (const struct dns_view *v, const uint8_t *query, size_t len, bool tcp, uint8_t **out,
                size_t *out_len);

#endif
