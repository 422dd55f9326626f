/* kubectl describe's text for the objects the lab's API serves, from the
 * same JSON the API server answers (apiserver/api.h): the printers of
 * k8s.io/kubectl/pkg/describe/describe.go as of the kubectl the project
 * tests against (v1.32), field for field, aligned by an emulation of Go's
 * text/tabwriter as describe configures it (minwidth 0, padding 2, spaces)
 * and its PrefixWriter's two-space levels. `nslab describe` prints it;
 * real kubectl against the API server prints the same. */
#ifndef NSLAB_VIEW_K8S_DESCRIBE_H
#define NSLAB_VIEW_K8S_DESCRIBE_H

#include <jansson.h>
#include <stdbool.h>
#include <time.h>

/* What a describer reads besides the object itself, as the API lists them. */
struct k8s_describe_related {
  const json_t *events;      /* the object's events (items), or NULL: no Events section */
  const json_t *slices;      /* Service: its EndpointSlices (items) */
  const json_t *replicasets; /* Deployment: the namespace's ReplicaSets (items) */
  const json_t *lease;       /* Node: its Lease in kube-node-lease, or NULL */
  const json_t *pods;        /* Node: its non-terminated pods; ReplicaSet: those its selector lists (items) */
};

/* Whether KIND ("Pod", "Service", "Endpoints", "Deployment", "ReplicaSet",
 * "Node", "Namespace") has a describer. */
bool k8s_describe_known (const char *kind);
/* The text kubectl describe prints for OBJ (its "kind" picks the describer)
 * at NOW; NULL when the kind has no describer. Caller frees. */
char *k8s_describe (const json_t *obj, const struct k8s_describe_related *rel, time_t now);

#endif
