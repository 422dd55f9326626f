/* The cluster DNS server the coredns pods run (nslab-coredns, started by
 * the pod's pause process as its app): UDP and TCP on the pod's port 53,
 * answers from kubernetes_plugin.c over the lab's store, read-only. Its
 * Services and Endpoints are re-read as soon as one of them changes
 * (checked at most once a millisecond), so `scale`, `delete pod`, `apply`
 * and the control loop's endpoint changes show in the next answer. Answers are cached by
 * the query's bytes (CoreDNS's cache plugin) until the view changes. */
#ifndef NSLAB_DNS_COREDNS_H
#define NSLAB_DNS_COREDNS_H

#include <stdint.h>

#include "base/error.h"
#include "dns/kubernetes_plugin.h"
#include "state/store.h"

/* The Services and their ready Endpoints in store S as a dns_view for ZONE. */
int coredns_view_load (struct store *s, const char *zone, struct dns_view *out, nslab_error_t *err);

/* What the server cannot do but lives on with (the store unreadable for a
 * while): the caller logs it (the pod's log). */
typedef void (*coredns_log_fn) (const struct nslab_error_s *err);

/* Serve LAB's cluster DNS for ZONE ("cluster.local"; NULL: the one in the
 * lab's snapshot) on PORT in the current network namespace until killed;
 * returns only on a setup failure (the sockets). READY_FD (>= 0) is closed
 * once both sockets are bound and the first view is loaded: the pod's
 * runtime counts the pod started then (pause_app.ready_fd). */
int coredns_serve (const char *lab, const char *zone, uint16_t port, int ready_fd, coredns_log_fn log,
                   nslab_error_t *err);

#endif
