/* The Kubernetes API over a lab's store (see api.h). */
#include "apiserver/api.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apiserver/create.h"
#include "apiserver/request.h"
#include "base/json.h"
#include "base/util.h"
#include "k8s/resources.h"
#include "state/lab_scenario.h"
#include "state/state.h"
#include "state/store.h"
#include "view/k8s_table.h"

/* The last list of each kind as the store had it at resourceVersion rv:
 * kubectl get of a 1000-pod lab is then a Table from memory, not 1000
 * bodies read from SQLite and parsed again, until something changes. */
struct list_cache {
  uint64_t rv;
  json_t *items;
};

struct api {
  pthread_mutex_t mu;
  struct store *store;
  char *lab, *version, *address;
  struct list_cache cache[16];
};

/* ---- the resources served (discovery) ----------------------------------- */

struct resource {
  const char *name, *singular, *kind, *group, *version;
  bool namespaced;
  const char *short_names[2];
  const char *category; /* "all" for the types kubectl get all shows */
  const char *subresources[3];
};

static const struct resource resources[] = {
  { "namespaces", "namespace", "Namespace", "", "v1", false, { "ns" }, NULL, { "status" } },
  { "nodes", "node", "Node", "", "v1", false, { "no" }, NULL, { "status" } },
  { "pods", "pod", "Pod", "", "v1", true, { "po" }, "all", { "log", "exec", "status" } },
  { "services", "service", "Service", "", "v1", true, { "svc" }, "all", { "status" } },
  { "endpoints", "endpoints", "Endpoints", "", "v1", true, { "ep" }, NULL, { NULL } },
  { "events", "event", "Event", "", "v1", true, { "ev" }, NULL, { NULL } },
  { "deployments", "deployment", "Deployment", "apps", "v1", true, { "deploy" }, "all", { "scale", "status" } },
  { "replicasets", "replicaset", "ReplicaSet", "apps", "v1", true, { "rs" }, "all", { "scale", "status" } },
  { "endpointslices", "endpointslice", "EndpointSlice", "discovery.k8s.io", "v1", true, { NULL }, NULL, { NULL } },
  { "leases", "lease", "Lease", "coordination.k8s.io", "v1", true, { NULL }, NULL, { NULL } },
};

static const char *const groups[] = { "apps", "discovery.k8s.io", "coordination.k8s.io" };

static_assert (ARRAY_SIZE (resources) <= 16, "struct api's cache has a slot per resource");

static json_t *
verbs (void)
{
  return json_pack ("[s,s,s,s,s,s,s,s]", "create", "delete", "deletecollection", "get", "list", "patch", "update",
                    "watch");
}

static json_t *
resource_list (const char *group, const char *version)
{
  json_t *list = json_array ();
  for (size_t i = 0; i < ARRAY_SIZE (resources); i++)
    {
      const struct resource *r = &resources[i];
      if (strcmp (r->group, group) != 0 || strcmp (r->version, version) != 0)
        continue;
      json_t *e = json_pack ("{s:s, s:s, s:b, s:s, s:o, s:s}", "name", r->name, "singularName", r->singular,
                             "namespaced", r->namespaced, "kind", r->kind, "verbs", verbs (),
                             "storageVersionHash", "");
      json_object_del (e, "storageVersionHash");
      if (r->short_names[0])
        json_object_set_new (e, "shortNames", json_pack ("[s]", r->short_names[0]));
      if (r->category)
        json_object_set_new (e, "categories", json_pack ("[s]", r->category));
      json_array_append_new (list, e);
      for (size_t k = 0; k < ARRAY_SIZE (r->subresources) && r->subresources[k]; k++)
        {
          const char *sub = r->subresources[k];
          cleanup_free char *name = xasprintf ("%s/%s", r->name, sub);
          json_t *sv = strcmp (sub, "exec") == 0 ? json_pack ("[s,s]", "create", "get")
                       : strcmp (sub, "log") == 0 ? json_pack ("[s]", "get")
                                                  : json_pack ("[s,s,s]", "get", "patch", "update");
          json_t *se = json_pack ("{s:s, s:s, s:b, s:s, s:o}", "name", name, "singularName", "", "namespaced",
                                  r->namespaced, "kind", strcmp (sub, "scale") == 0 ? "Scale" : r->kind, "verbs", sv);
          if (strcmp (sub, "scale") == 0)
            {
              json_object_set_new (se, "group", json_string ("autoscaling"));
              json_object_set_new (se, "version", json_string ("v1"));
            }
          if (strcmp (sub, "exec") == 0)
            json_object_set_new (se, "kind", json_string ("PodExecOptions"));
          json_array_append_new (list, se);
        }
    }
  cleanup_free char *gv = *group ? xasprintf ("%s/%s", group, version) : xstrdup (version);
  return json_pack ("{s:s, s:s, s:s, s:o}", "kind", "APIResourceList", "apiVersion", "v1", "groupVersion", gv,
                    "resources", list);
}

static json_t *
group_json (const char *g)
{
  cleanup_free char *gv = xasprintf ("%s/v1", g);
  return json_pack ("{s:s, s:[{s:s, s:s}], s:{s:s, s:s}}", "name", g, "versions", "groupVersion", gv, "version",
                    "v1", "preferredVersion", "groupVersion", gv, "version", "v1");
}

/* OpenAPI v3, as much as kubectl reads of it: the index (/openapi/v3) and,
 * per group version, a PATCH operation per kind with its
 * x-kubernetes-group-version-kind and the fieldValidation parameter, from
 * which kubectl apply learns that the server validates fields itself (it
 * then sends ?fieldValidation=Strict instead of fetching the whole schema). */
static json_t *
openapi_index (void)
{
  json_t *paths = json_object ();
  json_object_set_new (paths, "api/v1", json_pack ("{s:s}", "serverRelativeURL", "/openapi/v3/api/v1"));
  for (size_t i = 0; i < ARRAY_SIZE (groups); i++)
    {
      cleanup_free char *key = xasprintf ("apis/%s/v1", groups[i]);
      cleanup_free char *url = xasprintf ("/openapi/v3/apis/%s/v1", groups[i]);
      json_object_set_new (paths, key, json_pack ("{s:s}", "serverRelativeURL", url));
    }
  return json_pack ("{s:o}", "paths", paths);
}

static json_t *
openapi_group (const char *group, const char *version, const char *kube_version)
{
  json_t *paths = json_object ();
  for (size_t i = 0; i < ARRAY_SIZE (resources); i++)
    {
      const struct resource *r = &resources[i];
      if (strcmp (r->group, group) != 0 || strcmp (r->version, version) != 0)
        continue;
      cleanup_free char *path = *group ? xasprintf ("/apis/%s/%s/%s%s/{name}", group, version,
                                                    r->namespaced ? "namespaces/{namespace}/" : "", r->name)
                                       : xasprintf ("/api/%s/%s%s/{name}", version,
                                                    r->namespaced ? "namespaces/{namespace}/" : "", r->name);
      json_t *gvk = json_pack ("{s:s, s:s, s:s}", "group", group, "version", version, "kind", r->kind);
      json_t *op = json_pack ("{s:o, s:[{s:s, s:s, s:{s:s}}], s:{}}", "x-kubernetes-group-version-kind", gvk,
                              "parameters", "name", "fieldValidation", "in", "query", "schema", "type", "string",
                              "responses");
      json_object_set_new (paths, path, json_pack ("{s:o}", "patch", op));
    }
  return json_pack ("{s:s, s:{s:s, s:s}, s:o}", "openapi", "3.0.0", "info", "title", "Kubernetes", "version",
                    kube_version, "paths", paths);
}

/* OpenAPI v2 (/openapi/v2): a Document with its swagger version and info
 * and no definitions. kubectl before 1.27 fetches it for kubectl apply's
 * client-side validation and cannot apply without it; with no definition
 * for a kind, its validator skips the object (the server checks it) and
 * apply computes its patch from kubectl's own types. kubectl asks for the
 * protobuf form (gnostic's openapi_v2.Document); JSON for anyone else. */
static void
openapi_v2 (const struct api_request *req, const char *kube_version, struct api_response *out)
{
  if (req->accept == NULL || strstr (req->accept, "protobuf") == NULL)
    {
      out->code = 200;
      out->body = json_pack ("{s:s, s:{s:s, s:s}, s:{}, s:{}}", "swagger", "2.0", "info", "title", "Kubernetes",
                             "version", kube_version, "paths", "definitions");
      return;
    }
  /* Document { swagger = 1; info = 2 { title = 1; version = 2; } }: each
   * field a tag byte (number << 3 | 2, length-delimited) and a one-byte
   * length, so no NUL byte can occur and the text stays a C string. */
  size_t vlen = strnlen (kube_version, 100);
  struct strbuf sb = { 0 };
  sb_addf (&sb, "%c%c2.0%c%c%c%cKubernetes%c%c%.*s", 1 << 3 | 2, 3, 2 << 3 | 2, (int) (14 + vlen), 1 << 3 | 2, 10,
           2 << 3 | 2, (int) vlen, (int) vlen, kube_version);
  out->code = 200;
  out->text = sb_steal (&sb);
  /* Its media type as today's servers name it: Go's mime parser refuses the
   * "@v1.0" form kubectl asks for. */
  out->content_type = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";
}

static const struct resource *
resource_by_name (const char *group, const char *version, const char *name)
{
  for (size_t i = 0; i < ARRAY_SIZE (resources); i++)
    if (strcmp (resources[i].group, group) == 0 && strcmp (resources[i].version, version) == 0
        && strcmp (resources[i].name, name) == 0)
      return &resources[i];
  return NULL;
}

char *
api_path_for (const char *type, const char *ns, const char *name, const char **printed)
{
  static char printed_buf[ARRAY_SIZE (resources)][64];
  const struct resource *r = NULL;
  for (size_t i = 0; i < ARRAY_SIZE (resources) && r == NULL; i++)
    {
      const struct resource *c = &resources[i];
      char full[96];
      snprintf (full, sizeof full, "%s.%s", c->name, c->group);
      if (strcmp (type, c->name) == 0 || strcmp (type, c->singular) == 0
          || (c->short_names[0] && strcmp (type, c->short_names[0]) == 0) || (*c->group && strcmp (type, full) == 0))
        {
          r = c;
          snprintf (printed_buf[i], sizeof printed_buf[i], "%s%s%s", c->singular, *c->group ? "." : "", c->group);
          *printed = printed_buf[i];
        }
    }
  if (r == NULL)
    return NULL;
  struct strbuf sb;
  sb_init (&sb);
  if (*r->group)
    sb_addf (&sb, "/apis/%s/%s", r->group, r->version);
  else
    sb_addf (&sb, "/api/%s", r->version);
  if (r->namespaced && ns)
    sb_addf (&sb, "/namespaces/%s", ns);
  sb_addf (&sb, "/%s", r->name);
  if (name)
    sb_addf (&sb, "/%s", name);
  return sb_steal (&sb);
}

/* ---- answers ------------------------------------------------------------ */

static void
answer (struct api_response *out, int code, json_t *body)
{
  out->code = code;
  out->body = body;
}

static const char *
reason_for (int code)
{
  switch (code)
    {
    case 400:
      return "BadRequest";
    case 404:
      return "NotFound";
    case 405:
      return "MethodNotAllowed";
    case 409:
      return "AlreadyExists";
    case 415:
      return "UnsupportedMediaType";
    case 422:
      return "Invalid";
    default:
      return "InternalError";
    }
}

/* A Status failure, as the apiserver's errors package words them. */
static void
fail (struct api_response *out, int code, const char *kind, const char *name, const char *fmt, ...)
  __attribute__ ((format (printf, 5, 6)));
static void
fail (struct api_response *out, int code, const char *kind, const char *name, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  cleanup_free char *msg = xvasprintf (fmt, ap);
  va_end (ap);
  json_t *st = json_pack ("{s:s, s:s, s:{}, s:s, s:s, s:s, s:i}", "kind", "Status", "apiVersion", "v1", "metadata",
                          "status", "Failure", "message", msg, "reason", reason_for (code), "code", code);
  if (kind || name)
    {
      json_t *d = json_object ();
      if (name)
        json_object_set_new (d, "name", json_string (name));
      if (kind)
        json_object_set_new (d, "kind", json_string (kind));
      json_object_set_new (st, "details", d);
    }
  answer (out, code, st);
}

static void
not_found (struct api_response *out, const struct resource *r, const char *name)
{
  const char *qual = *r->group ? "." : "";
  fail (out, 404, r->name, name, "%s%s%s \"%s\" not found", r->name, qual, r->group, name);
}

static void
internal (struct api_response *out, nslab_error_t *err)
{
  cleanup_free char *msg = nslab_error_line (*err);
  nslab_error_free (err);
  fail (out, 500, NULL, NULL, "%s", msg);
}

void
api_response_free (struct api_response *r)
{
  json_decref (r->body);
  free (r->text);
  free (r->warning);
  *r = (struct api_response) { 0 };
}

/* ---- reads -------------------------------------------------------------- */

static char *
rv_string (struct api *a)
{
  uint64_t rv = 0;
  nslab_error_t e = NULL;
  if (store_resource_version (a->store, &rv, &e) < 0)
    nslab_error_free (&e);
  return xasprintf ("%llu", (unsigned long long) rv);
}

static bool
wants_table (const struct api_request *req)
{
  return req->accept && strstr (req->accept, "as=Table") != NULL;
}

static enum k8s_table_object
table_object (const struct api_request *req)
{
  if (req->include_object && strcmp (req->include_object, "Object") == 0)
    return K8S_TABLE_OBJECT_WHOLE;
  if (req->include_object && strcmp (req->include_object, "None") == 0)
    return K8S_TABLE_OBJECT_NONE;
  return K8S_TABLE_OBJECT_METADATA;
}

static void
serve_items (struct api *a, const struct api_request *req, const struct resource *r, json_t *items, bool single,
             struct api_response *out)
{
  cleanup_free char *rv = rv_string (a);
  if (wants_table (req))
    {
      answer (out, 200, k8s_table (r->kind, items, time (NULL), table_object (req), rv));
      json_decref (items);
      return;
    }
  if (single)
    {
      answer (out, 200, json_incref (json_array_get (items, 0)));
      json_decref (items);
      return;
    }
  cleanup_free char *kind = xasprintf ("%sList", r->kind);
  cleanup_free char *gv = *r->group ? xasprintf ("%s/%s", r->group, r->version) : xstrdup (r->version);
  answer (out, 200,
          json_pack ("{s:s, s:s, s:{s:s}, s:o}", "kind", kind, "apiVersion", gv, "metadata", "resourceVersion", rv,
                     "items", items));
}

/* The distinct values seen at one place of the cached objects. */
struct interned {
  json_t *v[16]; /* borrowed: each is held by the cached object it came from */
  size_t n;
};

/* PARENT's KEY made the value an earlier object had there, when equal. */
static void
intern (struct interned *seen, json_t *parent, const char *key)
{
  json_t *v = json_object_get (parent, key);
  if (v == NULL)
    return;
  for (size_t i = 0; i < seen->n; i++)
    if (json_equal (seen->v[i], v))
      {
        json_object_set (parent, key, seen->v[i]);
        return;
      }
  if (seen->n < ARRAY_SIZE (seen->v))
    seen->v[seen->n++] = v;
}

struct pod_parts {
  struct interned labels, owners, tolerations, security, projected, probes, ports, resources, conditions;
};

/* A lab's pods repeat the same labels, owners, tolerations, service
 * account volume and probes: the cache holds each once (a 1000-pod list is
 * otherwise megabytes of identical jansson trees), shared as each pod is
 * read so that the next one's parse reuses what a duplicate held. The
 * cache is only read, so sharing is safe. */
static void
intern_pod (json_t *pod, void *ctx)
{
  struct pod_parts *pp = ctx;
  json_t *meta = json_object_get (pod, "metadata"), *spec = json_object_get (pod, "spec"), *x;
  size_t k;
  intern (&pp->labels, meta, "labels");
  intern (&pp->owners, meta, "ownerReferences");
  intern (&pp->tolerations, spec, "tolerations");
  intern (&pp->security, spec, "securityContext");
  json_array_foreach (json_object_get (spec, "volumes"), k, x)
    intern (&pp->projected, x, "projected");
  json_array_foreach (json_object_get (spec, "containers"), k, x)
    {
      intern (&pp->probes, x, "readinessProbe");
      intern (&pp->ports, x, "ports");
      intern (&pp->resources, x, "resources");
    }
  intern (&pp->conditions, json_object_get (pod, "status"), "conditions");
}

static int
refill (struct api *a, struct list_cache *c, const char *kind, nslab_error_t *err)
{
  json_decref (c->items);
  c->items = NULL;
  struct pod_parts parts = { 0 };
  bool pods = strcmp (kind, "Pod") == 0;
  return store_list_each (a->store, kind, NULL, pods ? intern_pod : NULL, &parts, &c->items, err);
}

static void
get_list (struct api *a, const struct api_request *req, const struct resource *r, const char *ns,
          struct api_response *out)
{
  cleanup_free char *lmsg = NULL, *fmsg = NULL;
  struct selector *ls = selector_parse (SELECTOR_LABEL, req->label_selector, &lmsg);
  struct selector *fs = ls ? selector_parse (SELECTOR_FIELD, req->field_selector, &fmsg) : NULL;
  if (ls == NULL || fs == NULL)
    {
      selector_free (ls);
      fail (out, 400, NULL, NULL, "%s", lmsg ? lmsg : fmsg);
      return;
    }
  struct list_cache *c = &a->cache[r - resources];
  uint64_t rv = 0;
  nslab_error_t e = NULL;
  if (store_resource_version (a->store, &rv, &e) < 0
      || ((c->items == NULL || c->rv != rv) && refill (a, c, r->kind, &e) < 0))
    {
      selector_free (ls);
      selector_free (fs);
      c->items = NULL;
      internal (out, &e);
      return;
    }
  c->rv = rv;
  json_t *items = json_array ();
  size_t i;
  json_t *o;
  json_array_foreach (c->items, i, o)
    {
      const char *ons = json_string_value (json_object_get (json_object_get (o, "metadata"), "namespace"));
      if ((!r->namespaced || ns == NULL || (ons && strcmp (ons, ns) == 0)) && selector_matches (ls, o)
          && selector_matches (fs, o))
        json_array_append (items, o);
    }
  selector_free (ls);
  selector_free (fs);
  serve_items (a, req, r, items, false, out);
}

static json_t *
get_object (struct api *a, const struct resource *r, const char *ns, const char *name, struct api_response *out)
{
  json_t *obj = NULL;
  nslab_error_t e = NULL;
  if (store_get (a->store, r->kind, r->namespaced ? ns : "", name, &obj, &e) < 0)
    {
      internal (out, &e);
      return NULL;
    }
  if (obj == NULL)
    not_found (out, r, name);
  return obj;
}

/* The node leases of kube-node-lease (kubectl describe node prints its
 * node's): kubelet renews its node's every 10 s while it runs, and the
 * lab's kubelet is the control loop, which runs while the API serves; so a
 * node's lease is made from the node, renewed now. Read-only, as nothing
 * but kubelet writes them. */
static json_t *
node_lease (const json_t *node, const char *rv)
{
  const json_t *md = json_object_get (node, "metadata");
  const char *name = json_string_value (json_object_get (md, "name"));
  struct timespec t;
  clock_gettime (CLOCK_REALTIME, &t);
  char when[32];
  time_format_rfc3339 (t.tv_sec, when);
  /* MicroTime: "2026-01-24T06:49:08.123456Z". */
  cleanup_free char *renew = xasprintf ("%.19s.%06ldZ", when, t.tv_nsec / 1000);
  return json_pack ("{s:s, s:s, s:{s:s, s:s, s:s, s:O, s:[{s:s, s:s, s:s, s:O}]}, s:{s:s, s:i, s:s}}", "apiVersion",
                    "coordination.k8s.io/v1", "kind", "Lease", "metadata", "name", name, "namespace",
                    "kube-node-lease", "resourceVersion", rv, "creationTimestamp",
                    json_object_get (md, "creationTimestamp"), "ownerReferences", "apiVersion", "v1", "kind", "Node",
                    "name", name, "uid", json_object_get (md, "uid"), "spec", "holderIdentity", name,
                    "leaseDurationSeconds", (json_int_t) 40, "renewTime", renew);
}

static void
leases (struct api *a, const struct api_request *req, const struct resource *r, const char *ns, const char *name,
        struct api_response *out)
{
  if (strcmp (req->method, "GET") != 0)
    {
      fail (out, 405, NULL, NULL, "the server does not allow this method on the requested resource");
      return;
    }
  cleanup_free char *rv = rv_string (a);
  json_t *nodes = NULL;
  nslab_error_t e = NULL;
  if (store_list (a->store, "Node", NULL, &nodes, &e) < 0)
    {
      internal (out, &e);
      return;
    }
  json_t *items = json_array ();
  size_t i;
  json_t *n;
  if (ns == NULL || strcmp (ns, "kube-node-lease") == 0)
    json_array_foreach (nodes, i, n)
      {
        const char *nn = json_string_value (json_object_get (json_object_get (n, "metadata"), "name"));
        if (name == NULL || (nn && strcmp (nn, name) == 0))
          json_array_append_new (items, node_lease (n, rv));
      }
  json_decref (nodes);
  if (name && json_array_size (items) == 0)
    {
      json_decref (items);
      not_found (out, r, name);
      return;
    }
  if (name == NULL)
    {
      cleanup_free char *lmsg = NULL, *fmsg = NULL;
      struct selector *ls = selector_parse (SELECTOR_LABEL, req->label_selector, &lmsg);
      struct selector *fs = ls ? selector_parse (SELECTOR_FIELD, req->field_selector, &fmsg) : NULL;
      if (ls == NULL || fs == NULL)
        {
          selector_free (ls);
          json_decref (items);
          fail (out, 400, NULL, NULL, "%s", lmsg ? lmsg : fmsg);
          return;
        }
      json_t *kept = json_array ();
      json_array_foreach (items, i, n)
        if (selector_matches (ls, n) && selector_matches (fs, n))
          json_array_append (kept, n);
      selector_free (ls);
      selector_free (fs);
      json_decref (items);
      items = kept;
    }
  serve_items (a, req, r, items, name != NULL, out);
}

/* kubectl logs: the app's output, which the pause process keeps in the
 * lab's logs/LAB-NS-NAME.log (as kubelet keeps a container's under
 * /var/log/pods); ?tailLines keeps the last lines. The pod's containers
 * share its one app, so each of them has that output. ?container is
 * checked as the API server's validateContainer checks it
 * (pkg/registry/core/pod/strategy.go). */
static void
pod_log (struct api *a, const json_t *pod, const char *ns, const char *name, const char *container, const char *tail,
         struct api_response *out)
{
  const json_t *containers = json_object_get (json_object_get (pod, "spec"), "containers");
  if (container == NULL || *container == '\0')
    {
      if (json_array_size (containers) == 0)
        {
          fail (out, 400, NULL, NULL, "a container name must be specified for pod %s", name);
          return;
        }
      if (json_array_size (containers) > 1)
        {
          struct strbuf names;
          sb_init (&names);
          size_t i;
          const json_t *c;
          json_array_foreach (containers, i, c)
            sb_addf (&names, "%s%s", i ? " " : "", json_string_value (json_object_get (c, "name")) ?: "");
          fail (out, 400, NULL, NULL, "a container name must be specified for pod %s, choose one of: [%s]", name,
                names.buf ? names.buf : "");
          sb_free (&names);
          return;
        }
    }
  else
    {
      bool found = false;
      size_t i;
      const json_t *c;
      json_array_foreach (containers, i, c)
        found |= json_string_value (json_object_get (c, "name"))
                 && strcmp (json_string_value (json_object_get (c, "name")), container) == 0;
      if (!found)
        {
          fail (out, 400, NULL, NULL, "container %s is not valid for pod %s", container, name);
          return;
        }
    }
  cleanup_free char *path = xasprintf ("%s/%s/logs/%s-%s-%s.log", state_root (), a->lab, a->lab, ns, name);
  struct strbuf sb;
  sb_init (&sb);
  cleanup_file FILE *f = fopen (path, "re");
  char buf[8192];
  size_t n;
  while (f && (n = fread (buf, 1, sizeof buf, f)) > 0)
    sb_addn (&sb, buf, n);
  char *text = sb.buf ? sb_steal (&sb) : xstrdup ("");
  long keep = tail ? strtol (tail, NULL, 10) : -1;
  if (keep >= 0)
    {
      size_t len = strlen (text);
      char *p = text + len;
      long lines = 0;
      if (p > text && p[-1] == '\n')
        p--;
      while (p > text && (p[-1] != '\n' || ++lines < keep))
        p--;
      if (keep == 0)
        p = text + len;
      memmove (text, p, strlen (p) + 1);
    }
  out->code = 200;
  out->text = text;
}

/* ---- writes ------------------------------------------------------------- */

static int
put (struct api *a, json_t *obj, struct api_response *out)
{
  nslab_error_t e = NULL;
  if (store_put (a->store, obj, &e) < 0)
    {
      internal (out, &e);
      return -1;
    }
  return 0;
}

static json_t *
scale_of (const json_t *obj)
{
  const json_t *meta = json_object_get (obj, "metadata"), *spec = json_object_get (obj, "spec");
  json_t *sel = json_object_get (json_object_get (spec, "selector"), "matchLabels");
  struct strbuf sb;
  sb_init (&sb);
  const char *k;
  json_t *v;
  json_object_foreach (sel, k, v) sb_addf (&sb, "%s%s=%s", sb.len ? "," : "", k, json_string_value (v) ?: "");
  cleanup_free char *selector = sb_steal (&sb);
  return json_pack ("{s:s, s:s, s:{s:O, s:O, s:O, s:O, s:O}, s:{s:O}, s:{s:I, s:s}}", "kind", "Scale", "apiVersion",
                    "autoscaling/v1", "metadata", "name", json_object_get (meta, "name"), "namespace",
                    json_object_get (meta, "namespace"), "uid", json_object_get (meta, "uid"), "resourceVersion",
                    json_object_get (meta, "resourceVersion"), "creationTimestamp",
                    json_object_get (meta, "creationTimestamp"), "spec", "replicas",
                    json_object_get (spec, "replicas"), "status", "replicas",
                    (json_int_t) json_integer_value (json_object_get (json_object_get (obj, "status"), "replicas")), "selector",
                    selector ? selector : "");
}

/* What a patch may not change: who the object is. */
static bool
identity_kept (const json_t *before, const json_t *after)
{
  static const char *const keys[] = { "name", "namespace", "uid" };
  const json_t *m0 = json_object_get (before, "metadata"), *m1 = json_object_get (after, "metadata");
  for (size_t i = 0; i < ARRAY_SIZE (keys); i++)
    {
      /* json_equal is false when either is NULL: a cluster-scoped object has
       * no namespace before or after. */
      const json_t *v0 = json_object_get (m0, keys[i]), *v1 = json_object_get (m1, keys[i]);
      if ((v0 || v1) && !json_equal (v0, v1))
        return false;
    }
  return json_equal (json_object_get (before, "kind"), json_object_get (after, "kind"));
}

static void
patch_object (struct api *a, const struct api_request *req, const struct resource *r, json_t *obj,
              const char *sub, struct api_response *out)
{
  const char *ct = req->content_type ? req->content_type : "";
  bool json_patch = strstr (ct, "json-patch+json") != NULL;
  if (strstr (ct, "apply-patch") || (json_patch && sub))
    {
      fail (out, 415, NULL, NULL, "the body of the request was in an unknown format - accepted media types include: "
                                  "application/json-patch+json, application/merge-patch+json, "
                                  "application/strategic-merge-patch+json");
      return;
    }
  cleanup_free char *msg = NULL;
  json_t *patch = NULL;
  if (json_patch)
    {
      /* an array, which request_decode_body refuses */
      json_error_t je;
      patch = json_loadb (req->body ? req->body : "", req->body_len, JSON_REJECT_DUPLICATES, &je);
      if (patch == NULL)
        msg = xstrdup (je.text);
    }
  else
    patch = request_decode_body (req->body, req->body_len, &msg);
  if (patch == NULL)
    {
      fail (out, 400, NULL, NULL, "error decoding patch: %s", msg);
      return;
    }
  /* A copy: the patch may replace the name it points into. */
  cleanup_free char *name = xstrdup (json_string_value (json_object_get (json_object_get (obj, "metadata"), "name")) ?: "");
  if (sub && strcmp (sub, "scale") == 0)
    {
      json_t *rep = json_object_get (json_object_get (patch, "spec"), "replicas");
      if (rep && (!json_is_integer (rep) || json_integer_value (rep) < 0 || json_integer_value (rep) > 1000))
        {
          fail (out, 422, r->kind, name, "%s.%s \"%s\" is invalid: spec.replicas: Invalid value: %s: must be "
                "greater than or equal to 0 (and at most 1000 in a lab)", r->kind, r->group, name,
                json_is_integer (rep) ? "a number out of range" : "not an integer");
          json_decref (patch);
          return;
        }
      json_t *was_spec = json_deep_copy (json_object_get (obj, "spec"));
      if (rep)
        json_object_set (json_object_get (obj, "spec"), "replicas", rep);
      json_t *was = json_pack ("{s:o}", "spec", was_spec);
      json_object_set (was, "metadata", json_object_get (obj, "metadata"));
      resources_bump_generation (was, obj);
      json_decref (was);
      json_decref (patch);
      if (put (a, obj, out) == 0)
        answer (out, 200, scale_of (obj));
      return;
    }
  json_t *before = json_deep_copy (obj);
  cleanup_free char *why = NULL;
  int applied = 0;
  if (json_patch)
    applied = request_json_patch (obj, patch, &why);
  else if (strstr (ct, "strategic-merge-patch"))
    request_strategic_merge_patch (obj, patch);
  else
    request_merge_patch (obj, patch);
  json_decref (patch);
  if (applied < 0)
    {
      fail (out, 422, r->kind, name, "%s", why);
      json_decref (before);
      return;
    }
  if (!identity_kept (before, obj))
    fail (out, 422, r->kind, name, "%s \"%s\" is invalid: metadata: Invalid value: the name, namespace, uid and "
                                   "kind of an object cannot change", r->kind, name);
  else
    {
      const json_t *rep = json_object_get (json_object_get (obj, "spec"), "replicas");
      if (rep && (!json_is_integer (rep) || json_integer_value (rep) < 0))
        fail (out, 422, r->kind, name, "%s.%s \"%s\" is invalid: spec.replicas: Invalid value: %s: must be greater "
              "than or equal to 0", r->kind, r->group, name, json_is_integer (rep) ? "a negative number" : "not an integer");
      else
        {
          if (strcmp (r->kind, "Deployment") == 0 || strcmp (r->kind, "ReplicaSet") == 0)
            resources_bump_generation (before, obj);
          if (put (a, obj, out) == 0)
            answer (out, 200, json_incref (obj));
        }
    }
  json_decref (before);
}

static void
delete_object (struct api *a, const struct resource *r, const char *ns, json_t *obj, struct api_response *out)
{
  const char *name = json_string_value (json_object_get (json_object_get (obj, "metadata"), "name"));
  if (strcmp (r->kind, "Node") == 0 || strcmp (r->kind, "Namespace") == 0)
    {
      fail (out, 405, r->name, name, "a lab's %s cannot be deleted through its API (nslab down removes the lab)",
            r->name);
      return;
    }
  nslab_error_t e = NULL;
  if (store_delete (a->store, r->kind, r->namespaced ? ns : "", name, &e) < 0)
    {
      internal (out, &e);
      return;
    }
  answer (out, 200, json_incref (obj));
}

/* Bodies are JSON: a client that sends protobuf (kubectl create's typed
 * clients do) is told so and retries in JSON, as with an apiserver that
 * does not serve protobuf. */
static bool
body_is_json (const struct api_request *req)
{
  const char *ct = req->content_type;
  return req->body_len == 0 || ct == NULL || strstr (ct, "json") != NULL || strstr (ct, "yaml") != NULL;
}

static bool
body_is_protobuf (const struct api_request *req)
{
  return req->content_type && strstr (req->content_type, "application/vnd.kubernetes.protobuf") != NULL;
}

/* A Deployment, Service or Pod: a new section of the lab's scenario (create.h). */
static void
create_workload (struct api *a, const struct resource *r, const char *ns, const char *name, json_t *obj,
                 struct api_response *out)
{
  if (strcmp (r->kind, "Deployment") != 0 && strcmp (r->kind, "Service") != 0 && strcmp (r->kind, "Pod") != 0)
    {
      fail (out, 405, r->name, name, "the lab's API does not create %s (they are the controllers')", r->name);
      return;
    }
  json_t *nsobj = NULL;
  nslab_error_t e = NULL;
  if (store_get (a->store, "Namespace", "", ns, &nsobj, &e) < 0)
    {
      internal (out, &e);
      return;
    }
  if (nsobj == NULL)
    {
      fail (out, 404, "namespaces", ns, "namespaces \"%s\" not found", ns);
      return;
    }
  json_decref (nsobj);
  const char *qual = *r->group ? "." : "";
  cleanup_free char *field = NULL, *msg = NULL;
  /* The kept scenario's [images] decide the new pods' apps. */
  struct scenario *kept = NULL;
  if (lab_scenario_load (a->lab, &kept, &e) < 0)
    {
      internal (out, &e);
      return;
    }
  cleanup_free char *section = create_section (kept, obj, ns, &field, &msg);
  if (section == NULL)
    {
      scenario_free (kept);
      fail (out, 422, r->kind, name, "%s%s%s \"%s\" is invalid: %s: %s", r->kind, qual, r->group, name, field, msg);
      return;
    }
  json_t *stored = NULL;
  bool bad = false;
  int rc = create_commit (a->lab, kept, a->store, section, obj, r->kind, ns, name, &stored, &bad, &e);
  scenario_free (kept);
  if (rc < 0)
    {
      if (!bad)
        {
          internal (out, &e);
          return;
        }
      cleanup_free char *why = nslab_error_format (e);
      nslab_error_free (&e);
      fail (out, 422, r->kind, name, "%s%s%s \"%s\" is invalid: %s", r->kind, qual, r->group, name, why);
      return;
    }
  answer (out, 201, stored);
}

/* POST: Namespaces go into the store; Deployments, Services and Pods into
 * the lab's scenario first (create_workload). */
static void
create (struct api *a, const struct api_request *req, const struct resource *r, const char *ns,
        struct api_response *out)
{
  bool pb = body_is_protobuf (req);
  if (!pb && !body_is_json (req))
    {
      fail (out, 415, NULL, NULL, "the body of the request was in an unknown format - accepted media types include: "
                                  "application/json, application/yaml, application/vnd.kubernetes.protobuf");
      return;
    }
  cleanup_free char *msg = NULL;
  json_t *obj = pb ? request_decode_protobuf (req->body, req->body_len, &msg)
                   : request_decode_body (req->body, req->body_len, &msg);
  if (obj == NULL)
    {
      fail (out, 400, NULL, NULL, "%s", msg);
      return;
    }
  json_t *meta = json_object_get (obj, "metadata");
  const char *name = json_string_value (json_object_get (meta, "name"));
  const char *kind = json_string_value (json_object_get (obj, "kind"));
  if (kind && strcmp (kind, r->kind) != 0)
    fail (out, 400, NULL, NULL, "the API version in the data (%s) does not match the expected API version (%s)",
          json_string_value (json_object_get (obj, "apiVersion")) ?: "", r->version);
  else if (name == NULL || *name == '\0')
    fail (out, 422, r->kind, "", "%s \"\" is invalid: metadata.name: Required value: name or generateName is "
                                 "required", r->kind);
  else
    {
      json_t *there = NULL;
      nslab_error_t e = NULL;
      if (store_get (a->store, r->kind, r->namespaced ? ns : "", name, &there, &e) < 0)
        internal (out, &e);
      else if (there)
        fail (out, 409, r->name, name, "%s \"%s\" already exists", r->name, name);
      else if (strcmp (r->kind, "Namespace") != 0)
        create_workload (a, r, ns, name, obj, out);
      else
        {
          json_t *labels = json_object_get (meta, "labels");
          if (!json_is_object (labels))
            json_object_set_new (meta, "labels", labels = json_object ());
          json_object_set_new (labels, "kubernetes.io/metadata.name", json_string (name));
          json_object_set_new (obj, "apiVersion", json_string ("v1"));
          json_object_set_new (obj, "kind", json_string ("Namespace"));
          json_object_set_new (obj, "spec", json_pack ("{s:[s]}", "finalizers", "kubernetes"));
          json_object_set_new (obj, "status", json_pack ("{s:s}", "phase", "Active"));
          if (put (a, obj, out) == 0)
            answer (out, 201, json_incref (obj));
        }
      json_decref (there);
    }
  json_decref (obj);
}

/* ---- routing ------------------------------------------------------------ */

#define MAX_SEGS 10

static size_t
split_path (char *path, char **segs)
{
  size_t n = 0;
  for (char *save = NULL, *t = strtok_r (path, "/", &save); t; t = strtok_r (NULL, "/", &save))
    {
      if (n == MAX_SEGS)
        return MAX_SEGS + 1;
      segs[n++] = t;
    }
  return n;
}

static void
handle_resource (struct api *a, const struct api_request *req, const char *group, const char *version, char **s,
                 size_t n, struct api_response *out)
{
  const char *ns = NULL;
  /* namespaces/NS/RESOURCE...: the namespace's objects; namespaces[/NAME] itself otherwise. */
  if (n >= 3 && strcmp (s[0], "namespaces") == 0 && *group == '\0')
    {
      ns = s[1];
      s += 2;
      n -= 2;
    }
  else if (n >= 3 && strcmp (s[0], "namespaces") == 0)
    {
      ns = s[1];
      s += 2;
      n -= 2;
    }
  const struct resource *r = resource_by_name (group, version, s[0]);
  if (r == NULL || n > 3 || (ns && !r->namespaced))
    {
      fail (out, 404, NULL, NULL, "the server could not find the requested resource");
      return;
    }
  const char *name = n >= 2 ? s[1] : NULL, *sub = n == 3 ? s[2] : NULL;
  const char *method = req->method;
  if (strcmp (r->kind, "Lease") == 0)
    {
      if (sub)
        fail (out, 404, NULL, NULL, "the server could not find the requested resource");
      else
        leases (a, req, r, ns, name, out);
      return;
    }
  if (strcmp (r->kind, "Endpoints") == 0)
    out->warning = xstrdup ("299 - \"v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice\"");
  if (name == NULL)
    {
      if (strcmp (method, "GET") == 0)
        get_list (a, req, r, ns, out);
      else if (strcmp (method, "POST") == 0)
        create (a, req, r, r->namespaced ? (ns ? ns : "default") : "", out);
      else
        fail (out, 405, NULL, NULL, "the server does not allow this method on the requested resource");
      return;
    }
  if (sub && strcmp (sub, "log") == 0 && strcmp (r->kind, "Pod") == 0 && strcmp (method, "GET") == 0)
    {
      json_t *pod = get_object (a, r, ns, name, out);
      if (pod)
        pod_log (a, pod, ns, name, req->container, req->tail_lines, out);
      json_decref (pod);
      return;
    }
  if (sub && strcmp (sub, "scale") != 0 && strcmp (sub, "status") != 0)
    {
      fail (out, 404, NULL, NULL, "the server could not find the requested resource");
      return;
    }
  if (sub && strcmp (sub, "scale") == 0 && strcmp (r->kind, "Deployment") != 0 && strcmp (r->kind, "ReplicaSet") != 0)
    {
      fail (out, 404, NULL, NULL, "the server could not find the requested resource");
      return;
    }
  json_t *obj = get_object (a, r, ns, name, out);
  if (obj == NULL)
    return;
  if (strcmp (method, "GET") == 0)
    {
      if (sub && strcmp (sub, "scale") == 0)
        {
          answer (out, 200, scale_of (obj));
          json_decref (obj);
        }
      else
        serve_items (a, req, r, json_pack ("[o]", obj), true, out);
      return;
    }
  if (strcmp (method, "PATCH") == 0)
    patch_object (a, req, r, obj, sub, out);
  else if (strcmp (method, "DELETE") == 0 && sub == NULL)
    delete_object (a, r, ns, obj, out);
  else
    fail (out, 405, NULL, NULL, "the server does not allow this method on the requested resource");
  json_decref (obj);
}

static void
handle (struct api *a, const struct api_request *req, struct api_response *out)
{
  cleanup_free char *path = xstrdup (req->path ? req->path : "/");
  char *s[MAX_SEGS];
  size_t n = split_path (path, s);
  bool get = strcmp (req->method, "GET") == 0;
  if (n == 1 && strcmp (s[0], "version") == 0 && get)
    {
      answer (out, 200,
              json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "major", "1", "minor", "34",
                         "gitVersion", a->version, "gitCommit", "", "gitTreeState", "clean", "buildDate",
                         "2025-12-10T00:00:00Z", "goVersion", "go1.24.11", "compiler", "gc", "platform",
                         "linux/amd64", "emulationMajor", "1"));
      json_object_set_new (out->body, "emulationMinor", json_string ("34"));
      return;
    }
  /* kube-apiserver's health endpoints: plain "ok", no credentials needed
   * (system:public-info-viewer), as load balancers, kubeadm and k3s's own
   * checks and `kubectl get --raw /readyz` ask them. The one check that can
   * fail here is the datastore's (etcd's; kine's on k3s), worded as the
   * API server words a failed check. */
  if (n == 1 && get && (strcmp (s[0], "healthz") == 0 || strcmp (s[0], "livez") == 0 || strcmp (s[0], "readyz") == 0))
    {
      uint64_t rv = 0;
      nslab_error_t e = NULL;
      bool ok = store_resource_version (a->store, &rv, &e) == 0;
      nslab_error_free (&e);
      out->code = ok ? 200 : 500;
      out->text = ok ? xstrdup ("ok")
                     : xasprintf ("[+]ping ok\n[-]etcd failed: reason withheld\n%s check failed\n", s[0]);
      return;
    }
  if (n == 2 && strcmp (s[0], "openapi") == 0 && strcmp (s[1], "v3") == 0 && get)
    {
      answer (out, 200, openapi_index ());
      return;
    }
  if (n == 2 && strcmp (s[0], "openapi") == 0 && strcmp (s[1], "v2") == 0 && get)
    {
      openapi_v2 (req, a->version, out);
      return;
    }
  if (n >= 4 && n <= 5 && strcmp (s[0], "openapi") == 0 && strcmp (s[1], "v3") == 0 && get)
    {
      bool core = n == 4 && strcmp (s[2], "api") == 0;
      bool grp = n == 5 && strcmp (s[2], "apis") == 0;
      for (size_t i = 0; grp && i < ARRAY_SIZE (groups); i++)
        if (strcmp (s[3], groups[i]) == 0 && strcmp (s[4], "v1") == 0)
          {
            answer (out, 200, openapi_group (groups[i], "v1", a->version));
            return;
          }
      if (core && strcmp (s[3], "v1") == 0)
        {
          answer (out, 200, openapi_group ("", "v1", a->version));
          return;
        }
    }
  if (n == 1 && strcmp (s[0], "api") == 0 && get)
    {
      answer (out, 200,
              json_pack ("{s:s, s:[s], s:[{s:s, s:s}]}", "kind", "APIVersions", "versions", "v1",
                         "serverAddressByClientCIDRs", "clientCIDR", "0.0.0.0/0", "serverAddress", a->address));
      return;
    }
  if (n == 1 && strcmp (s[0], "apis") == 0 && get)
    {
      json_t *g = json_array ();
      for (size_t i = 0; i < ARRAY_SIZE (groups); i++)
        json_array_append_new (g, group_json (groups[i]));
      answer (out, 200, json_pack ("{s:s, s:s, s:o}", "kind", "APIGroupList", "apiVersion", "v1", "groups", g));
      return;
    }
  if (n == 2 && strcmp (s[0], "api") == 0 && strcmp (s[1], "v1") == 0 && get)
    {
      answer (out, 200, resource_list ("", "v1"));
      return;
    }
  bool known_group = false;
  for (size_t i = 0; n >= 2 && strcmp (s[0], "apis") == 0 && i < ARRAY_SIZE (groups); i++)
    known_group |= strcmp (s[1], groups[i]) == 0;
  if (known_group && n == 2 && get)
    {
      json_t *g = group_json (s[1]);
      json_object_set_new (g, "kind", json_string ("APIGroup"));
      json_object_set_new (g, "apiVersion", json_string ("v1"));
      answer (out, 200, g);
      return;
    }
  if (known_group && n == 3 && strcmp (s[2], "v1") == 0 && get)
    {
      answer (out, 200, resource_list (s[1], "v1"));
      return;
    }
  if (n >= 3 && n <= MAX_SEGS && strcmp (s[0], "api") == 0 && strcmp (s[1], "v1") == 0)
    {
      handle_resource (a, req, "", "v1", s + 2, n - 2, out);
      return;
    }
  if (known_group && n >= 4 && n <= MAX_SEGS && strcmp (s[2], "v1") == 0)
    {
      handle_resource (a, req, s[1], "v1", s + 3, n - 3, out);
      return;
    }
  fail (out, 404, NULL, NULL, "the server could not find the requested resource");
}

/* ---- watch ---------------------------------------------------------------- */

struct api_watch {
  const struct resource *r;
  char *ns; /* NULL: every namespace */
  struct selector *ls, *fs;
  bool table;
  enum k8s_table_object table_obj;
  uint64_t rv;   /* the store's version the last events were made at */
  json_t *known; /* "ns/name" -> the object as last sent */
  bool start_all;
  uint64_t since; /* the client's resourceVersion */
};

void
api_watch_free (struct api_watch *w)
{
  if (w == NULL)
    return;
  free (w->ns);
  selector_free (w->ls);
  selector_free (w->fs);
  json_decref (w->known);
  free (w);
}

struct api_watch *
api_watch_start (struct api *a, const struct api_request *req, const char *resource_version, struct api_response *out)
{
  *out = (struct api_response) { 0 };
  cleanup_free char *path = xstrdup (req->path ? req->path : "/");
  char *s[MAX_SEGS];
  size_t n = split_path (path, s);
  const char *group = NULL;
  char **rest = NULL;
  size_t nrest = 0;
  if (n >= 3 && n <= MAX_SEGS && strcmp (s[0], "api") == 0 && strcmp (s[1], "v1") == 0)
    group = "", rest = s + 2, nrest = n - 2;
  else if (n >= 4 && n <= MAX_SEGS && strcmp (s[0], "apis") == 0 && strcmp (s[2], "v1") == 0)
    group = s[1], rest = s + 3, nrest = n - 3;
  const char *ns = NULL;
  if (rest && nrest == 3 && strcmp (rest[0], "namespaces") == 0)
    ns = rest[1], rest += 2, nrest -= 2;
  const struct resource *r = rest && nrest == 1 ? resource_by_name (group, "v1", rest[0]) : NULL;
  if (r == NULL || (ns && !r->namespaced) || strcmp (r->kind, "Lease") == 0)
    {
      fail (out, 404, NULL, NULL, "the server could not find the requested resource");
      return NULL;
    }
  cleanup_free char *lmsg = NULL, *fmsg = NULL;
  struct selector *ls = selector_parse (SELECTOR_LABEL, req->label_selector, &lmsg);
  struct selector *fs = ls ? selector_parse (SELECTOR_FIELD, req->field_selector, &fmsg) : NULL;
  if (ls == NULL || fs == NULL)
    {
      selector_free (ls);
      fail (out, 400, NULL, NULL, "%s", lmsg ? lmsg : fmsg);
      return NULL;
    }
  struct api_watch *w = xcalloc (1, sizeof *w);
  w->r = r;
  w->ns = ns ? xstrdup (ns) : NULL;
  w->ls = ls;
  w->fs = fs;
  w->table = wants_table (req);
  w->table_obj = table_object (req);
  w->known = json_object ();
  char *end = NULL;
  unsigned long long since = resource_version && *resource_version ? strtoull (resource_version, &end, 10) : 0;
  w->start_all = since == 0;
  w->since = since;
  pthread_mutex_lock (&a->mu);
  /* The objects as the client last saw them: the list at its version,
   * which is the current one but for objects changed since. */
  json_t *items = NULL;
  nslab_error_t e = NULL;
  if (store_resource_version (a->store, &w->rv, &e) < 0 || store_list (a->store, r->kind, NULL, &items, &e) < 0)
    {
      pthread_mutex_unlock (&a->mu);
      internal (out, &e);
      api_watch_free (w);
      return NULL;
    }
  pthread_mutex_unlock (&a->mu);
  size_t i;
  json_t *o;
  json_array_foreach (items, i, o)
    {
      const json_t *md = json_object_get (o, "metadata");
      const char *rv = json_string_value (json_object_get (md, "resourceVersion"));
      const char *ons = json_string_value (json_object_get (md, "namespace"));
      if (r->namespaced && w->ns && (ons == NULL || strcmp (ons, w->ns) != 0))
        continue;
      if (!w->start_all && rv && strtoull (rv, NULL, 10) <= since && selector_matches (w->ls, o)
          && selector_matches (w->fs, o))
        {
          cleanup_free char *key
              = xasprintf ("%s/%s", ons ?: "", json_string_value (json_object_get (md, "name")) ?: "");
          json_object_set (w->known, key, o);
        }
    }
  json_decref (items);
  /* The first api_watch_next sends the rest as changes. */
  w->rv = 0;
  return w;
}

/* One line of a watch's stream: {"type":TYPE,"object":O} (O stolen). */
static void
add_event (const char *type, json_t *o, struct strbuf *out)
{
  json_t *ev = json_pack ("{s:s, s:o}", "type", type, "object", o);
  size_t len = 0;
  char *line = ev ? json_text (ev, JSON_COMPACT, &len) : NULL;
  json_decref (ev);
  if (line)
    {
      sb_addn (out, line, len);
      sb_addn (out, "\n", 1);
      free (line);
    }
}

static void
watch_event (struct api_watch *w, const char *type, json_t *obj, const char *rv, struct strbuf *out)
{
  json_t *o;
  if (w->table)
    {
      json_t *one = json_pack ("[O]", obj);
      o = k8s_table (w->r->kind, one, time (NULL), w->table_obj, rv);
      json_decref (one);
    }
  else
    o = json_incref (obj);
  add_event (type, o, out);
}

int
api_watch_next (struct api *a, struct api_watch *w, struct strbuf *out, nslab_error_t *err)
{
  uint64_t rv = 0;
  json_t *items = NULL;
  pthread_mutex_lock (&a->mu);
  int rc = store_resource_version (a->store, &rv, err);
  if (rc == 0 && rv != w->rv)
    {
      struct list_cache *c = &a->cache[w->r - resources];
      if (c->items == NULL || c->rv != rv)
        {
          rc = refill (a, c, w->r->kind, err);
          c->rv = rc == 0 ? rv : 0;
        }
      if (rc == 0)
        items = json_incref (c->items);
    }
  pthread_mutex_unlock (&a->mu);
  if (rc < 0)
    return -1;
  if (items == NULL)
    return 0;
  w->rv = rv;
  cleanup_free char *rvs = xasprintf ("%llu", (unsigned long long) rv);
  json_t *seen = json_object ();
  size_t i;
  json_t *o;
  json_array_foreach (items, i, o)
    {
      const json_t *md = json_object_get (o, "metadata");
      const char *ons = json_string_value (json_object_get (md, "namespace"));
      if (w->r->namespaced && w->ns && (ons == NULL || strcmp (ons, w->ns) != 0))
        continue;
      if (!selector_matches (w->ls, o) || !selector_matches (w->fs, o))
        continue;
      cleanup_free char *key = xasprintf ("%s/%s", ons ?: "", json_string_value (json_object_get (md, "name")) ?: "");
      json_object_set (seen, key, o);
      json_t *was = json_object_get (w->known, key);
      const char *uid = json_string_value (json_object_get (md, "uid"));
      const char *was_uid = json_string_value (json_object_get (json_object_get (was, "metadata"), "uid"));
      if (was && uid && was_uid && strcmp (uid, was_uid) != 0)
        {
          /* Deleted and made again under the same name. */
          watch_event (w, "DELETED", was, rvs, out);
          was = NULL;
        }
      if (was == NULL)
        watch_event (w, w->start_all ? "ADDED" : (w->since ? "MODIFIED" : "ADDED"), o, rvs, out);
      else if (!json_equal (was, o))
        watch_event (w, "MODIFIED", o, rvs, out);
    }
  /* Gone from the collection (or no longer selected): DELETED, as the
   * object was last seen. */
  const char *key;
  json_t *was;
  json_object_foreach (w->known, key, was)
    if (json_object_get (seen, key) == NULL)
      watch_event (w, "DELETED", was, rvs, out);
  json_decref (w->known);
  w->known = seen;
  /* After the first round, whatever appears is new. */
  w->start_all = true;
  json_decref (items);
  return 0;
}

void
api_watch_error (const nslab_error_t err, struct strbuf *out)
{
  struct api_response r = { 0 };
  cleanup_free char *msg = nslab_error_line (err);
  fail (&r, 500, NULL, NULL, "%s", msg);
  add_event ("ERROR", json_incref (r.body), out);
  api_response_free (&r);
}

void
api_handle (struct api *a, const struct api_request *req, struct api_response *out)
{
  *out = (struct api_response) { 0 };
  pthread_mutex_lock (&a->mu);
  handle (a, req, out);
  pthread_mutex_unlock (&a->mu);
}

int
api_open (const char *lab, const char *version, const char *address, struct api **out, nslab_error_t *err)
{
  struct api *a = xcalloc (1, sizeof *a);
  if (store_open (lab, &a->store, err) < 0)
    {
      free (a);
      return -1;
    }
  pthread_mutex_init (&a->mu, NULL);
  a->lab = xstrdup (lab);
  a->version = xstrdup (version);
  a->address = xstrdup (address);
  *out = a;
  return 0;
}

void
api_close (struct api *a)
{
  if (a == NULL)
    return;
  store_close (a->store);
  for (size_t i = 0; i < ARRAY_SIZE (a->cache); i++)
    json_decref (a->cache[i].items);
  pthread_mutex_destroy (&a->mu);
  free (a->lab);
  free (a->version);
  free (a->address);
  free (a);
}

const char *
api_lab (const struct api *a)
{
  return a->lab;
}
