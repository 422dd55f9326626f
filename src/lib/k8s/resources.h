/* The lab's objects as the Kubernetes API holds them: Namespaces, Nodes,
 * Deployments, ReplicaSets, Pods, Services, Endpoints and EndpointSlices, in
 * the JSON shape of their API version (v1, apps/v1, discovery.k8s.io/v1),
 * with labels, owner references (by uid) and status as the controllers of a
 * real cluster would have written them once everything is running. This is
 * what the lab's store (state/store.h) keeps, and what kubectl will be served. */
#ifndef NSLAB_K8S_RESOURCES_H
#define NSLAB_K8S_RESOURCES_H

#include <jansson.h>
#include <time.h>

#include "k8s/objects.h"

/* A JSON array of every object of the lab. Each has metadata.uid (a fresh
 * random UUID, as the apiserver gives) and metadata.creationTimestamp (now);
 * owner references point at the owners' uids. resourceVersion is the store's
 * to assign. */
json_t *resources_from_objects (const struct lab_objects *o, time_t now);

/* A random (version 4) UUID, as Kubernetes gives every object. */
void resources_new_uid (char out[37]);

/* The API server's metadata.generation: 1 when first stored (absent: 1),
 * one more in OBJ when its spec differs from BEFORE's (what a controller's
 * status.observedGeneration catches up with). Every writer of a spec (the
 * API server, nslab apply, nslab scale) moves it the same way. */
void resources_bump_generation (const json_t *before, json_t *obj);

#endif
