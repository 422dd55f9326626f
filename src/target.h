/* The targets of nslab exec and nslab test: "host", node/NAME, pod/NAME,
 * deploy/NAME, rs/NAME of a running lab, resolved through its snapshot
 * (typed objects) and journal (the recorded processes) and opened for
 * runtime/enter. */
#ifndef NSLAB_TARGET_H
#define NSLAB_TARGET_H

#include <stdint.h>

#include "base/error.h"
#include "runtime/enter.h"

struct plan;
struct state;

/* A running lab's snapshot and journal; "unknown lab" lists the labs up. */
struct lab_view {
  const char *lab;
  struct plan *snap;
  struct state *st;
};
int lab_view_load (const char *lab, struct lab_view *v, nslab_error_t *err);
void lab_view_free (struct lab_view *v);

/* Resolve ARG (in namespace NS for pods and workloads) and open its
 * namespaces into F. *IS_HOST: the lab host (network namespace only).
 * *POD_CAPS (may be NULL): for a pod whose workload is not privileged, the
 * capabilities its processes have (containerd's default set and what its
 * securityContext adds); 0 for anything else (no limit). */
int target_open (const struct lab_view *v, const char *arg, const char *ns, struct enter_fds *f, bool *is_host,
                 uint64_t *pod_caps, nslab_error_t *err);

/* For what a target's environment holds (nslab exec): whether ARG enters
 * a pod (pod/, deploy/, rs/ or a bare pod name), and the node's name when
 * it enters a node (node/, nodes/, no/; NULL otherwise). */
bool target_enters_pod (const char *arg);
const char *target_node_name (const char *arg);

/* Wait until every pod is ready, or TIMEOUT_MS passes (an error naming
 * each pod that is not, and what it waits for): a pod with a readiness
 * probe when the store's Ready condition is True (the control loop probes
 * it, as kubelet does); one without, when its http app accepts on its
 * port (a TCP connect from inside the pod to its own IP). */
int target_wait_ready (const struct lab_view *v, uint32_t timeout_ms, nslab_error_t *err);

#endif
