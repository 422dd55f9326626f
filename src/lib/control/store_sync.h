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
/* A hash of what pod_status would set on POD from kubelet's side: with
 * the stored object the same, the same hash means the same status. */
typedef uint64_t (*store_pod_status_hash_fn) (const json_t *pod, void *arg);

/* What the rounds before wrote or found in the store: an object whose
 * stored resourceVersion is still the one a round left, and that the next
 * round wants as that round wanted it, is not read, compared or written
 * again. Anyone's write moves the resourceVersion, so the cache never hides
 * a change; _clear makes the next sync compare everything (the loop's full
 * sync). */
struct store_sync_cache;
struct store_sync_cache *store_sync_cache_new (void);
void store_sync_cache_clear (struct store_sync_cache *c);
void store_sync_cache_free (struct store_sync_cache *c);

/* PLANNED_RV: the store's resourceVersion the round planned from. Sets
 * meta observedResourceVersion (and *observed) to the new resourceVersion
 * when nothing was written since PLANNED_RV, else to PLANNED_RV. CACHE (or
 * NULL: compare every object) is read and updated; it needs POD_STATUS_HASH
 * when there is a POD_STATUS. */
/* Called once everything is written, before the transaction commits (and
 * marks the change observed): what must be in place when commands see the
 * change (the snapshot). Failing rolls the sync back. */
typedef int (*store_sync_ready_fn) (void *arg, nslab_error_t *err);
int store_sync (struct store *s, const struct lab_objects *o, time_t created, store_pod_status_fn pod_status,
                store_pod_status_hash_fn pod_status_hash, store_sync_ready_fn ready, void *arg,
                struct store_sync_cache *cache, uint64_t planned_rv, uint64_t *observed,
                nslab_error_t *err);
/* store_sync of a part of the lab only: SCOPE, the new plan's objects a
 * round changed, and OLD_SCOPE, the applied plan's same ones (by name).
 * The objects of either are read, compared, written and (gone from SCOPE)
 * deleted, as store_sync would; nothing else in the store is looked at.
 * The same store as store_sync of the whole new plan when everything the
 * two plans differ in, and every object built from it, is in both scopes
 * (the control loop's pod/endpoint rounds: converge.h). */
int store_sync_scoped (struct store *s, const struct lab_objects *scope, const struct lab_objects *old_scope,
                       time_t created, store_pod_status_fn pod_status, store_pod_status_hash_fn pod_status_hash,
                       store_sync_ready_fn ready, void *arg, struct store_sync_cache *cache, uint64_t planned_rv,
                       uint64_t *observed, nslab_error_t *err);

#endif
