/* The store side of the control loop: after each round, the lab's objects
 * (the new plan's) go into the store as the API would hold them, in one
 * transaction: pods, replicasets, endpoints and endpoint slices as their
 * controllers would write them (created, updated, deleted), the status of
 * the user's deployments and services; a put that changes nothing keeps its
 * resourceVersion. */
#ifndef NSLAB_CONTROL_STORE_SYNC_H
#define NSLAB_CONTROL_STORE_SYNC_H

#include <jansson.h>
#include <stdint.h>
#include <time.h>

#include "base/error.h"
#include "k8s/objects.h"
#include "state/store.h"

/* Called for each Pod before it is stored: set its status from what kubelet
 * knows (POD the new object, WAS the stored one or NULL). */
typedef void (*store_pod_status_fn) (json_t *pod, const json_t *was, void *arg);

/* PLANNED_RV: the store's resourceVersion the round planned from. Sets
 * meta observedResourceVersion (and *observed) to the new resourceVersion
 * when nothing was written since PLANNED_RV, else to PLANNED_RV. */
int store_sync (struct store *s, const struct lab_objects *o, time_t created, store_pod_status_fn pod_status,
                void *arg, uint64_t planned_rv, uint64_t *observed, nslab_error_t *err);

#endif
