/* The Kubernetes API over a lab's store, transport aside: one request in
 * (method, path, query, Accept, body), one answer out (status code, JSON,
 * a Warning header). The HTTPS server (server.h) and `nslab get` both call
 * api_handle, so what kubectl prints and what nslab prints come from the
 * same code.
 *
 * Served: discovery (/api, /apis, /api/v1, /apis/GROUP[/VERSION]), /version,
 * and namespaces, nodes, pods, services, endpoints, events (v1),
 * deployments and replicasets (apps/v1), endpointslices
 * (discovery.k8s.io/v1): get and list as objects, lists or server-side
 * Tables (view/k8s_table.h), label and field selectors; writes through the
 * store, which the lab's control loop follows: delete, merge and strategic
 * merge patches (kubectl label, kubectl apply of an existing object), the
 * scale subresource (kubectl scale), and creating namespaces. */
#ifndef NSLAB_APISERVER_API_H
#define NSLAB_APISERVER_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"
#include "base/util.h"

struct api;

/* LAB's API (its store opened now); VERSION: the flavor's gitVersion;
 * ADDRESS: "192.168.56.10:6443" as discovery names the server. */
int api_open (const char *lab, const char *version, const char *address, struct api **out, nslab_error_t *err);
void api_close (struct api *a);
/* The lab A serves. */
const char *api_lab (const struct api *a);

struct api_request {
  const char *method, *path;
  const char *accept, *content_type;
  /* Query parameters (NULL: absent). */
  const char *label_selector, *field_selector, *include_object;
  const char *tail_lines; /* pods/log ?tailLines */
  const char *container;  /* pods/log ?container */
  const char *body;
  size_t body_len;
};

struct api_response {
  int code;
  json_t *body;
  char *text;    /* a plain-text answer instead (pods/log), or NULL */
  const char *content_type; /* text's type when not text/plain, or NULL */
  char *warning; /* a Warning header's text ("299 - \"...\""), or NULL */
};

/* Answer REQ; never fails (errors are Status answers). Thread-safe. */
void api_handle (struct api *a, const struct api_request *req, struct api_response *out);
void api_response_free (struct api_response *r);

/* A watch (?watch=true on a collection: kubectl get -w, rollout status):
 * the changes of the collection's objects after the request's
 * resourceVersion, as the events the API streams, one JSON object a line
 * ({"type":"ADDED|MODIFIED|DELETED","object":...}, the object as a Table
 * row when the request accepts Tables). The store keeps no history: a
 * watch compares lists of the collection taken as the store's
 * resourceVersion moves; objects changed between the requested version and
 * the watch's start come as MODIFIED (ADDED for all of them when the
 * request names no version, or "0"), and one deleted meanwhile is missed. */
struct api_watch;
/* REQ's watch, or NULL with *out the error to answer (a 404 for an unknown
 * collection, a 400 for a bad selector). */
struct api_watch *api_watch_start (struct api *a, const struct api_request *req, const char *resource_version,
                                   struct api_response *out);
/* Append to OUT the events since the last call (or the start). -1 with
 * *err when the store could not be read: nothing was appended, and the
 * next call tries again from where this one started. Thread-safe. */
int api_watch_next (struct api *a, struct api_watch *w, struct strbuf *out, nslab_error_t *err);
/* Append the event that ends a watch on an error, as kube-apiserver's:
 * {"type":"ERROR","object":<a Status of code 500 with ERR's message>}. */
void api_watch_error (const nslab_error_t err, struct strbuf *out);
void api_watch_free (struct api_watch *w);

/* The path of TYPE's collection ("pods", "po", "deploy", "deployments.apps",
 * "svc", ...) in NS (NULL: all namespaces, or cluster-scoped), with NAME
 * when not NULL: "/api/v1/namespaces/demo/pods/web-...". *printed: how
 * kubectl names the type before a name ("pod", "deployment.apps"). NULL
 * when TYPE is not served. */
char *api_path_for (const char *type, const char *ns, const char *name, const char **printed);

#endif
