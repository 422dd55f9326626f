/* kubelet's readiness prober: a TCP connect or an HTTP GET to a pod's IP,
 * made from the pod's node (the socket is created in the node's network
 * namespace, as kubelet's probes come from the node). Many probes run at
 * once: one poll over all of them, each with its own timeout. */
#ifndef NSLAB_CONTROL_PROBER_H
#define NSLAB_CONTROL_PROBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "scenario/scenario.h" /* enum probe_kind */

struct probe {
  enum probe_kind kind;
  const char *node_netns; /* where the probe starts */
  uint32_t ip;
  uint16_t port;
  const char *path;       /* PROBE_HTTP */
  bool ok;                /* out: connected (TCP) or an HTTP status 200-399 */
};

/* Run every probe, in batches of a few hundred at once (open files), each
 * batch at most timeout_ms. A probe that cannot even start (no such
 * namespace, no socket) fails; only a broken poll is an error. */
int probe_run_all (struct probe *probes, size_t n, int timeout_ms, nslab_error_t *err);

#endif
