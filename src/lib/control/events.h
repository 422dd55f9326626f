/* Events (v1 Event) in the lab's store, as the components of a real cluster
 * record them through client-go's event recorder and the apiserver keeps
 * them: named <object>.<UnixNano in hex>, with involvedObject, reason,
 * message, type (Normal/Warning), source.component (and host for kubelet),
 * firstTimestamp, lastTimestamp and count. An event equal to a stored one
 * (same source, object, type, reason and message: the event correlator's
 * key) bumps that one's count and lastTimestamp instead of adding another.
 * Events older than an hour (the apiserver's --event-ttl) are dropped. */
#ifndef NSLAB_CONTROL_EVENTS_H
#define NSLAB_CONTROL_EVENTS_H

#include <time.h>

#include "base/error.h"
#include "k8s/objects.h"
#include "state/store.h"

#define EVENTS_TTL_S 3600

struct event_def {
  const char *kind, *api_version; /* involvedObject: "Pod", "v1" */
  const char *ns, *name, *uid;    /* uid NULL: looked up in the store (none when absent) */
  const char *type;               /* "Normal" or "Warning" */
  const char *reason, *message;
  const char *component, *host;   /* host NULL but for kubelet */
};

/* Record one event at NOW (Unix nanoseconds). */
int events_record (struct store *s, const struct event_def *ev, int64_t now_ns, nslab_error_t *err);
/* Drop the events whose lastTimestamp is more than EVENTS_TTL_S before NOW. */
int events_expire (struct store *s, time_t now, nslab_error_t *err);

/* The uids of the pods the store holds now ("ns/name" -> uid), taken before
 * a round's store sync so gone pods' events still name their uid. */
json_t *events_pod_uids (struct store *s, nslab_error_t *err);
/* What changed between BEFORE and AFTER, as the scheduler, the ReplicaSet
 * and Deployment controllers and kubelet word it: a new pod is Scheduled
 * (default-scheduler), SuccessfulCreate (replicaset-controller, on its
 * replicaset) and Pulled/Created/Started (kubelet); a gone pod is Killing
 * (kubelet) and, when its replicaset shrank, SuccessfulDelete; a
 * deployment's replicaset that grew or shrank is ScalingReplicaSet
 * (deployment-controller); a k3s LoadBalancer whose ingress IPs changed is
 * UpdatedLoadBalancer (or UnAvailableLoadBalancer with none left;
 * service-lb-controller). OLD_UIDS from events_pod_uids. */
int events_round (struct store *s, const struct lab_objects *before, const struct lab_objects *after,
                  json_t *old_uids, int64_t now_ns, nslab_error_t *err);
/* kubelet's events for a container it saw exit: BackOff (Warning) while it
 * waits, Pulled/Created/Started when it runs again. */
int events_container (struct store *s, const struct lab_pod *p, bool backoff, int64_t now_ns, nslab_error_t *err);

#endif
