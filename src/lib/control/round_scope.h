/* The part of the lab a pod/endpoint round of the control loop changes
 * (a scale, a deleted pod, a readiness or app state flip), so that the
 * round writes the store for that part only, as the controllers of a real
 * cluster write only the objects they reconcile: the pods that changed,
 * their workloads (status, replicas) with all their pods, and the services
 * whose endpoints those pods are or were (their Endpoints and slices), with
 * the pods those select. */
#ifndef NSLAB_CONTROL_ROUND_SCOPE_H
#define NSLAB_CONTROL_ROUND_SCOPE_H

#include <jansson.h>
#include <stdbool.h>

#include "base/strmap.h"
#include "k8s/objects.h"

struct round_scope {
  struct strmap pods;      /* "ns/name" */
  struct strmap workloads; /* "ns/name" of the scenario's deployments and replicasets */
  struct strmap services;  /* "ns/name" */
};

/* The scope of a round from the applied objects OLD to NEW. STATUS_CHANGED
 * (parallel to NEW's pods, or NULL): pods whose kubelet status changed
 * since the store last had them; STORE_CHANGED: the Pods, Deployments and
 * ReplicaSets written to the store since the last round
 * (store_changed_since), which are in the scope too. False (and *OUT
 * empty) when the two differ in more than pods and replica counts: nodes,
 * services or workloads added, removed or reordered, or a DaemonSet's pod
 * changed (servicelb's follow the LoadBalancers): the round stays whole. */
bool round_scope_find (const struct lab_objects *old, const struct lab_objects *new, const bool *status_changed,
                       const json_t *store_changed, struct round_scope *out);
void round_scope_free (struct round_scope *sc);
/* O's objects in SC (its nodes all): a view whose arrays are new and whose
 * elements are O's (shallow copies); round_scope_view_free frees only
 * what the view made. */
struct lab_objects *round_scope_view (const struct lab_objects *o, const struct round_scope *sc);
void round_scope_view_free (struct lab_objects *view);

#endif
