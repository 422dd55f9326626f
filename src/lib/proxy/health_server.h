/* The HTTP servers of one node's kube-proxy (cmd_kube_proxy.c runs it as
 * the node's app): the proxier's /healthz and /livez, and one service
 * health check per health-check node port, answering from the lab's store
 * (read-only, as kube-proxy reads the API), re-read when its
 * resourceVersion moves, so the control loop's endpoint changes show. */
#ifndef NSLAB_PROXY_HEALTH_SERVER_H
#define NSLAB_PROXY_HEALTH_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/ipaddr.h"

struct kube_proxy_health_config {
  const char *lab, *node;
  uint32_t healthz_ip;               /* --healthz-bind-address (0: 0.0.0.0) */
  uint16_t healthz_port;             /* 10256 */
  const struct cidr *nodeport_cidrs; /* --nodeport-addresses; none: every address (0.0.0.0) */
  size_t n_nodeport_cidrs;
};

/* Serve until killed; returns only on a failure to start. */
int kube_proxy_health_serve (const struct kube_proxy_health_config *cfg, nslab_error_t *err);

#endif
