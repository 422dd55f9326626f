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

/* kubelet's prober workers, as one thread of the control loop: a batch of
 * probes runs there while the loop goes on, as kube-proxy's sync never
 * waits for kubelet's probes (a batch can take its whole timeout). One
 * batch at a time. */
struct prober;
int prober_start (struct prober **out, nslab_error_t *err);
/* Readable when the batch finished (prober_collect drains it). */
int prober_fd (const struct prober *p);
/* Whether a batch was handed over and not collected yet. */
bool prober_busy (const struct prober *p);
/* Hand PROBES over (their strings copied; the caller keeps the array), to
 * run with probe_run_all's TIMEOUT_MS. Not while busy. */
void prober_submit (struct prober *p, const struct probe *probes, size_t n, int timeout_ms);
/* The finished batch, in the order submitted: 1 with *PROBES (free with
 * probes_free) and *N, 0 when none finished (yet), -1 with *err when the
 * batch failed as probe_run_all fails (the batch is dropped). */
int prober_collect (struct prober *p, struct probe **probes, size_t *n, nslab_error_t *err);
void probes_free (struct probe *probes, size_t n);
/* Waits for a running batch (at most its timeout), then stops the thread. */
void prober_stop (struct prober *p);

#endif
