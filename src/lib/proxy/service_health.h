/* kube-proxy's health answers (pkg/proxy/healthcheck): what one node's
 * kube-proxy knows from the API (here: the lab's store) and the bodies it
 * writes. Pure: store lists in, values and bytes out, so unit tests compare
 * them with kube-proxy's own text. health_server.c serves them. */
#ifndef NSLAB_PROXY_SERVICE_HEALTH_H
#define NSLAB_PROXY_SERVICE_HEALTH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/strmap.h"

/* A Service with a health-check node port (spec.healthCheckNodePort: a
 * LoadBalancer with externalTrafficPolicy Local) and its endpoints on this
 * node, counted as EndpointsMap.LocalReadyEndpoints counts them: distinct
 * ready ip:port pairs over all of the service's ports. */
struct hc_service {
  char *ns, *name;
  uint16_t port;
  int local_endpoints;
};

struct hc_view {
  struct hc_service *services; /* sorted by namespace, then name */
  size_t n_services;
  bool node_eligible;          /* the Node object exists (SyncNode: not deleted) */
};

/* What the view is made from, kept between reads of the store, as
 * kube-proxy's informers keep their caches: a change of a running lab then
 * reads only the objects it put. Every Service's health-check port, every
 * Endpoints' local ready count on the node, every Node's name. */
struct hc_cache {
  struct strmap ports; /* "namespace/name" of each Service -> its port + 1 (1: none) */
  struct strmap local; /* "namespace/name" of each Endpoints -> its count + 1 */
  struct strmap nodes; /* the name of each Node -> 1 */
};
/* The kinds it is made from, in the order hc_cache_put_lists takes them. */
extern const char *const hc_cache_kinds[3];
void hc_cache_init (struct hc_cache *c);
void hc_cache_free (struct hc_cache *c);
/* OBJ, of KIND ("Service", "Endpoints" or "Node"; others are left out), as
 * the store has it now, seen from node NODE. */
void hc_cache_put (struct hc_cache *c, const char *kind, const json_t *obj, const char *node);
/* Every object of LISTS (the store's lists of hc_cache_kinds, in order). */
void hc_cache_put_lists (struct hc_cache *c, const json_t *const lists[3], const char *node);
/* How many objects it holds. Deleted objects are never put again: a store
 * whose three kinds count otherwise deleted some, and is read again whole. */
size_t hc_cache_count (const struct hc_cache *c);
void hc_cache_view (const struct hc_cache *c, const char *node, struct hc_view *out);

/* From the store's lists (store_list of Service, Endpoints and Node) for
 * node NODE: hc_cache_put_lists into a fresh cache, then its view. */
void hc_view_from_json (const json_t *services, const json_t *endpoints, const json_t *nodes, const char *node,
                        struct hc_view *out);
void hc_view_free (struct hc_view *v);

/* The service health check's body (service_health.go hcHandler), without a
 * trailing newline. The status is 200 when count != 0 and the proxy is
 * healthy, else 503. Caller frees. */
char *hc_service_body (const char *ns, const char *name, int count, bool proxy_healthy);

/* Go's time.Time.String() of a wall-clock time in UTC with its monotonic
 * reading: "2026-12-01 04:05:06.123456789 +0000 UTC m=+12.000000001";
 * wall_ns 0 is the zero time ("0001-01-01 00:00:00 +0000 UTC"). */
void hc_go_time (int64_t wall_ns, int64_t mono_ns, char out[80]);

/* /healthz and /livez of the proxier's health server (proxier_health.go):
 * healthy is the proxier's state (no update queued longer than the health
 * timeout); /healthz adds the node's eligibility. The body for
 * last_updated (as hc_go_time wrote it; replaced by now when healthy).
 * Returns the HTTP status. */
int hc_proxier_answer (bool livez, bool healthy, bool node_eligible, const char *last_updated, const char *now,
                       char **body);

#endif
