/* The lab's objects to and from JSON with jansson (schema: docs/state.md).
 * Reading is strict: a snapshot is only ever written by nslab, so anything
 * missing or of the wrong type means a damaged file, and the first such
 * member is named in the error. */
#include "k8s/objects.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "base/json.h"

static const char *const flavor_names[] = { [FLAVOR_K3S] = "k3s", [FLAVOR_KUBEADM] = "kubeadm" };
static const char *const net_kind_names[] = { [NET_NAT] = "nat", [NET_HOSTONLY] = "hostonly" };
static const char *const role_names[] = { [ROLE_CONTROL_PLANE] = "control-plane", [ROLE_WORKER] = "worker" };
static const char *const app_names[] = { [APP_NONE] = "none", [APP_HTTP] = "http", [APP_COMMAND] = "command",
                                            [APP_DNS] = "dns", [APP_KUBE_PROXY] = "kube-proxy", [APP_SVCLB] = "svclb" };
static const char *const svc_type_names[] = { [SVC_CLUSTER_IP] = "ClusterIP", [SVC_NODE_PORT] = "NodePort",
                                              [SVC_LOAD_BALANCER] = "LoadBalancer" };
static const char *const proto_names[] = { [PROTO_TCP] = "TCP", [PROTO_UDP] = "UDP", [PROTO_SCTP] = "SCTP" };
static const char *const obj_kind_names[] = { [OBJ_NONE] = "none", [OBJ_NODE] = "node", [OBJ_POD] = "pod",
                                              [OBJ_DEPLOYMENT] = "deployment", [OBJ_REPLICASET] = "replicaset",
                                              [OBJ_SERVICE] = "service", [OBJ_DAEMONSET] = "daemonset" };

/* ---- writing --------------------------------------------------------- */

static json_t *
labels_to_json (const struct label *l, size_t n)
{
  json_t *o = json_object ();
  for (size_t i = 0; i < n; i++)
    json_object_set_new (o, l[i].key, json_string (l[i].value));
  return o;
}

static json_t *
app_to_json (const struct lab_app *app)
{
  if (app->kind == APP_HTTP || app->kind == APP_DNS)
    return json_pack ("{s:s, s:i}", "type", app_names[app->kind], "port", (json_int_t) app->port);
  if (app->kind == APP_COMMAND)
    return json_pack ("{s:s, s:s}", "type", "command", "command", app->command ? app->command : "");
  if (app->kind == APP_SVCLB)
    return json_pack ("{s:s}", "type", app_names[app->kind]);
  return json_null ();
}

static json_t *
probe_to_json (const struct lab_probe *pr)
{
  if (pr->kind == PROBE_TCP)
    return json_pack ("{s:s, s:i}", "type", "tcp", "port", (json_int_t) pr->port);
  if (pr->kind == PROBE_HTTP)
    return json_pack ("{s:s, s:i, s:s}", "type", "http", "port", (json_int_t) pr->port, "path",
                      pr->path ? pr->path : "/");
  return json_null ();
}

static const char *const restart_policy_names[]
    = { [RESTART_ALWAYS] = "Always", [RESTART_ON_FAILURE] = "OnFailure", [RESTART_NEVER] = "Never" };

json_t *
capabilities_to_json (uint64_t caps)
{
  json_t *a = json_array ();
  for (unsigned n = 0; n < 64; n++)
    if ((caps >> n) & 1 && capability_name (n))
      json_array_append_new (a, json_string (capability_name (n)));
  return a;
}

int
capabilities_from_json (const json_t *a, uint64_t *out, nslab_error_t *err)
{
  *out = 0;
  if (a == NULL || json_is_null (a))
    return 0;
  if (!json_is_array (a))
    return nslab_error (err, EINVAL, "capabilities: not an array");
  size_t i;
  const json_t *v;
  json_array_foreach (a, i, v)
  {
    unsigned n;
    if (!json_is_string (v) || !capability_parse (json_string_value (v), &n))
      return nslab_error (err, EINVAL, "capabilities[%zu]: not a Linux capability", i);
    *out |= 1ULL << n;
  }
  return 0;
}

static json_t *
pod_to_json (const struct lab_pod *p)
{
  json_t *owner = json_null ();
  if (p->owner.kind != OBJ_NONE)
    owner = json_pack ("{s:s, s:s}", "kind", ENUM_NAME (obj_kind_names, p->owner.kind), "name", p->owner.name);
  json_t *o = json_pack ("{s:s, s:s, s:o, s:o, s:o, s:o, s:s, s:s, s:s, s:o, s:o, s:b}", "namespace", p->ns, "name",
                         p->name, "labels", labels_to_json (p->labels, p->n_labels), "owner", owner, "replicaset",
                         json_str_or_null (p->replicaset), "ip", json_ip (p->ip), "node", p->node, "host_veth",
                         p->host_veth, "netns", p->netns, "app", app_to_json (&p->app), "readiness",
                         probe_to_json (&p->readiness), "privileged", p->privileged);
  /* Only when it adds any: snapshots of older labs read the same. */
  if (p->cap_add)
    json_object_set_new (o, "capabilities", capabilities_to_json (p->cap_add));
  /* Only a bare pod's other policy: snapshots of older labs read the same. */
  if (p->restart_policy != RESTART_ALWAYS)
    json_object_set_new (o, "restart_policy", json_string (ENUM_NAME (restart_policy_names, p->restart_policy)));
  /* Likewise only a pod not ready yet (older snapshots: all ready). */
  if (!p->ready)
    json_object_set_new (o, "not_ready", json_true ());
  /* And an image the scenario names (without: nslab's own container). */
  if (p->image)
    json_object_set_new (o, "image", json_pack ("{s:s, s:s}", "image", p->image, "container", p->container));
  return o;
}

static json_t *
endpoints_to_json (const struct lab_endpoint *ep, size_t n)
{
  json_t *eps = json_array ();
  for (size_t e = 0; e < n; e++)
    json_array_append_new (eps, json_pack ("{s:o, s:i, s:o, s:s}", "ip", json_ip (ep[e].ip), "port",
                                           (json_int_t) ep[e].port, "pod", json_str_or_null (ep[e].pod), "node",
                                           ep[e].node));
  return eps;
}

static json_t *
service_to_json (const struct lab_service *s)
{
  json_t *selector = labels_to_json (s->selector, s->n_selector);
  json_t *ports = json_array ();
  for (size_t k = 0; k < s->n_ports; k++)
    {
      const struct lab_svc_port *p = &s->ports[k];
      json_t *pj = json_pack ("{s:o, s:s, s:i, s:i, s:i, s:o}", "name", json_str_or_null (p->name), "protocol",
                              ENUM_NAME (proto_names, p->protocol), "port", (json_int_t) p->port, "target_port",
                              (json_int_t) p->target_port, "node_port", (json_int_t) p->node_port, "endpoints",
                              endpoints_to_json (p->endpoints, p->n_endpoints));
      /* Written only when there are some: older state files have none. */
      if (p->n_not_ready)
        json_object_set_new (pj, "not_ready_endpoints", endpoints_to_json (p->not_ready, p->n_not_ready));
      json_array_append_new (ports, pj);
    }
  json_t *lb = json_array ();
  for (size_t i = 0; i < s->n_lb_ips; i++)
    json_array_append_new (lb, json_ip (s->lb_ips[i]));
  json_t *j = json_pack ("{s:s, s:s, s:s, s:o, s:b, s:o, s:o, s:o}", "namespace", s->ns, "name", s->name, "type",
                         ENUM_NAME (svc_type_names, s->type), "cluster_ip", json_ip (s->cluster_ip), "implicit",
                         s->implicit, "selector", selector, "ports", ports, "load_balancer_ips", lb);
  json_t *xips = json_array (), *ranges = json_array ();
  for (size_t i = 0; i < s->n_external_ips; i++)
    json_array_append_new (xips, json_ip (s->external_ips[i]));
  for (size_t i = 0; i < s->n_source_ranges; i++)
    {
      char c[CIDR_STRLEN];
      json_array_append_new (ranges, json_string (cidr_fmt (s->source_ranges[i], c)));
    }
  json_object_update_new (j, json_pack ("{s:b, s:i, s:b, s:b, s:o, s:o, s:i, s:o}", "affinity_client_ip",
                                        s->affinity_client_ip, "affinity_timeout",
                                        (json_int_t) s->affinity_timeout, "etp_local", s->etp_local, "itp_local",
                                        s->itp_local, "external_ips", xips, "source_ranges", ranges,
                                        "health_check_node_port", (json_int_t) s->hc_node_port, "load_balancer_ip",
                                        s->lb_ip ? json_ip (s->lb_ip) : json_null ()));
  return j;
}

void
objects_to_json (const struct lab_objects *o, json_t *obj)
{
  json_object_set_new (obj, "lab", json_string (o->lab));
  json_object_set_new (obj, "scenario", json_string (o->scenario));
  json_object_set_new (obj, "cluster",
                       json_pack ("{s:s, s:o, s:o, s:o, s:s}", "flavor", ENUM_NAME (flavor_names, o->flavor),
                                  "pod_cidr", json_cidr (o->pod_cidr), "service_cidr", json_cidr (o->service_cidr),
                                  "dns_ip", json_ip (o->dns_ip), "dns_domain", o->dns_domain));
  json_t *a = json_array ();
  for (size_t i = 0; i < o->n_networks; i++)
    json_array_append_new (a, json_pack ("{s:s, s:s, s:o}", "name", o->networks[i].name, "type",
                                         ENUM_NAME (net_kind_names, o->networks[i].kind), "cidr",
                                         json_cidr (o->networks[i].cidr)));
  json_object_set_new (obj, "networks", a);
  a = json_array ();
  for (size_t i = 0; i < o->n_nodes; i++)
    {
      const struct lab_node *n = &o->nodes[i];
      json_array_append_new (a, json_pack ("{s:s, s:s, s:o, s:o, s:o, s:s, s:b}", "name", n->name, "role",
                                           ENUM_NAME (role_names, n->role), "internal_ip", json_ip (n->internal_ip),
                                           "pod_cidr", json_cidr (n->pod_cidr), "vtep_mac",
                                           json_mac (n->vtep_mac), "netns", n->netns, "schedulable",
                                           n->schedulable));
    }
  json_object_set_new (obj, "nodes", a);
  a = json_array ();
  for (size_t i = 0; i < o->n_workloads; i++)
    {
      const struct lab_workload *w = &o->workloads[i];
      json_t *wj = json_pack ("{s:s, s:s, s:s, s:o, s:i, s:o, s:o}", "kind", ENUM_NAME (obj_kind_names, w->kind),
                              "namespace", w->ns, "name", w->name, "labels", labels_to_json (w->labels, w->n_labels),
                              "replicas", (json_int_t) w->replicas, "pod_template_hash",
                              json_str_or_null (w->pod_template_hash), "app", app_to_json (&w->app));
      /* Only when set, as a pod's: snapshots of older labs read the same. */
      if (w->privileged)
        json_object_set_new (wj, "privileged", json_true ());
      if (w->cap_add)
        json_object_set_new (wj, "capabilities", capabilities_to_json (w->cap_add));
      if (w->image)
        json_object_set_new (wj, "image", json_pack ("{s:s, s:s}", "image", w->image, "container", w->container));
      json_array_append_new (a, wj);
    }
  json_object_set_new (obj, "workloads", a);
  a = json_array ();
  for (size_t i = 0; i < o->n_pods; i++)
    json_array_append_new (a, pod_to_json (&o->pods[i]));
  json_object_set_new (obj, "pods", a);
  a = json_array ();
  for (size_t i = 0; i < o->n_services; i++)
    json_array_append_new (a, service_to_json (&o->services[i]));
  json_object_set_new (obj, "services", a);
}

/* ---- reading --------------------------------------------------------- */

static int
read_labels (struct json_reader *r, const json_t *o, const char *key, struct label **out, size_t *n)
{
  const json_t *l = jr_object (r, o, key);
  if (l == NULL)
    return -1;
  const char *k;
  const json_t *v;
  json_object_foreach ((json_t *) l, k, v)
    {
      if (!json_is_string (v))
        return jr_bad (r, key, "a value is not a string");
      struct label *e = VEC_PUSH (*out, *n);
      e->key = xstrdup (k);
      e->value = xstrdup (json_string_value (v));
    }
  return 0;
}

static int
read_app (struct json_reader *r, const json_t *o, struct lab_app *app)
{
  const json_t *j = json_object_get (o, "app");
  if (j == NULL || json_is_null (j))
    return 0;
  if (!json_is_object (j) || JR_ENUM (r, j, "type", app_names, &app->kind) < 0)
    return jr_bad (r, "app", "not {type, ...}");
  if (app->kind == APP_HTTP || app->kind == APP_DNS)
    return jr_u16 (r, j, "port", &app->port);
  if (app->kind == APP_COMMAND)
    return jr_str (r, j, "command", false, &app->command);
  return 0;
}

/* Absent: nslab's own container (snapshots written before images). */
static int
read_image (struct json_reader *r, const json_t *o, char **image, char **container)
{
  const json_t *j = json_object_get (o, "image");
  if (j == NULL)
    return 0;
  if (!json_is_object (j))
    return jr_bad (r, "image", "not {image, container}");
  return jr_str (r, j, "image", false, image) < 0 || jr_str (r, j, "container", false, container) < 0 ? -1 : 0;
}

static const char *const probe_names[] = { [PROBE_NONE] = "none", [PROBE_TCP] = "tcp", [PROBE_HTTP] = "http" };

/* Absent or null: no probe (snapshots written before probes). */
static int
read_probe (struct json_reader *r, const json_t *o, struct lab_probe *pr)
{
  const json_t *j = json_object_get (o, "readiness");
  if (j == NULL || json_is_null (j))
    return 0;
  if (!json_is_object (j) || JR_ENUM (r, j, "type", probe_names, &pr->kind) < 0)
    return jr_bad (r, "readiness", "not {type, port[, path]}");
  if (pr->kind == PROBE_NONE)
    return 0;
  if (jr_u16 (r, j, "port", &pr->port) < 0)
    return -1;
  if (pr->kind == PROBE_HTTP)
    return jr_str (r, j, "path", false, &pr->path);
  return 0;
}

static int
read_pod (struct json_reader *r, const json_t *j, struct lab_pod *p)
{
  if (!json_is_object (j))
    return jr_bad (r, "pod", "not an object");
  if (jr_str (r, j, "namespace", false, &p->ns) < 0 || jr_str (r, j, "name", false, &p->name) < 0
      || jr_str (r, j, "replicaset", true, &p->replicaset) < 0 || jr_ip (r, j, "ip", &p->ip) < 0
      || jr_str (r, j, "node", false, &p->node) < 0 || jr_str (r, j, "host_veth", false, &p->host_veth) < 0
      || jr_str (r, j, "netns", false, &p->netns) < 0)
    return -1;
  const json_t *owner = json_object_get (j, "owner");
  if (owner && !json_is_null (owner))
    {
      if (!json_is_object (owner) || JR_ENUM (r, owner, "kind", obj_kind_names, &p->owner.kind) < 0
          || jr_str (r, owner, "name", false, &p->owner.name) < 0)
        return jr_bad (r, "owner", "not a {kind, name} reference");
      p->owner.ns = xstrdup (p->ns);
    }
  p->ready = !json_is_true (json_object_get (j, "not_ready"));
  return read_labels (r, j, "labels", &p->labels, &p->n_labels) < 0 || read_app (r, j, &p->app) < 0
                 || read_image (r, j, &p->image, &p->container) < 0
                 || read_probe (r, j, &p->readiness) < 0 || jr_bool (r, j, "privileged", &p->privileged) < 0
                 || capabilities_from_json (json_object_get (j, "capabilities"), &p->cap_add, r->err) < 0
                 || (json_object_get (j, "restart_policy")
                     && JR_ENUM (r, j, "restart_policy", restart_policy_names, &p->restart_policy) < 0)
             ? -1
             : 0;
}

static int
read_endpoints (struct json_reader *r, const json_t *eps, const char *key, struct lab_endpoint **out, size_t *n_out)
{
  *n_out = json_array_size (eps);
  *out = xcalloc (*n_out ? *n_out : 1, sizeof **out);
  for (size_t e = 0; e < *n_out; e++)
    {
      const json_t *ej = json_array_get (eps, e);
      struct lab_endpoint *ep = &(*out)[e];
      if (!json_is_object (ej) || jr_ip (r, ej, "ip", &ep->ip) < 0 || jr_u16 (r, ej, "port", &ep->port) < 0
          || jr_str (r, ej, "pod", true, &ep->pod) < 0 || jr_str (r, ej, "node", false, &ep->node) < 0)
        return jr_bad (r, key, "an endpoint is not {ip, port, pod, node}");
    }
  return 0;
}

static int
read_port (struct json_reader *r, const json_t *j, struct lab_svc_port *p)
{
  if (!json_is_object (j) || jr_str (r, j, "name", true, &p->name) < 0
      || JR_ENUM (r, j, "protocol", proto_names, &p->protocol) < 0 || jr_u16 (r, j, "port", &p->port) < 0
      || jr_u16 (r, j, "target_port", &p->target_port) < 0 || jr_u16 (r, j, "node_port", &p->node_port) < 0)
    return -1;
  const json_t *eps = jr_array (r, j, "endpoints");
  if (eps == NULL || read_endpoints (r, eps, "endpoints", &p->endpoints, &p->n_endpoints) < 0)
    return -1;
  const json_t *nr = json_object_get (j, "not_ready_endpoints");
  if (nr == NULL)
    return 0;
  if (!json_is_array (nr))
    return jr_bad (r, "not_ready_endpoints", "not an array");
  return read_endpoints (r, nr, "not_ready_endpoints", &p->not_ready, &p->n_not_ready);
}

/* The spec fields added after the first state files: each optional. */
static int
read_service_spec (struct json_reader *r, const json_t *j, struct lab_service *s)
{
  s->affinity_client_ip = json_is_true (json_object_get (j, "affinity_client_ip"));
  s->etp_local = json_is_true (json_object_get (j, "etp_local"));
  s->itp_local = json_is_true (json_object_get (j, "itp_local"));
  json_int_t t = json_integer_value (json_object_get (j, "affinity_timeout"));
  json_int_t hc = json_integer_value (json_object_get (j, "health_check_node_port"));
  if (t < 0 || t > 86400 || hc < 0 || hc > 65535)
    return jr_bad (r, "affinity_timeout", "out of range");
  s->affinity_timeout = (uint32_t) t;
  s->hc_node_port = (uint16_t) hc;
  const char *lbip = json_string_value (json_object_get (j, "load_balancer_ip"));
  if (lbip && !ip_parse (lbip, &s->lb_ip))
    return jr_bad (r, "load_balancer_ip", "not an IPv4 address");
  const json_t *xips = json_object_get (j, "external_ips"), *ranges = json_object_get (j, "source_ranges");
  s->external_ips = xcalloc (json_array_size (xips) + 1, sizeof *s->external_ips);
  for (size_t k = 0; k < json_array_size (xips); k++)
    {
      const char *ip = json_string_value (json_array_get (xips, k));
      if (ip == NULL || !ip_parse (ip, &s->external_ips[s->n_external_ips++]))
        return jr_bad (r, "external_ips", "not a list of IPv4 addresses");
    }
  s->source_ranges = xcalloc (json_array_size (ranges) + 1, sizeof *s->source_ranges);
  for (size_t k = 0; k < json_array_size (ranges); k++)
    {
      const char *c = json_string_value (json_array_get (ranges, k));
      if (c == NULL || !cidr_parse (c, &s->source_ranges[s->n_source_ranges++], true))
        return jr_bad (r, "source_ranges", "not a list of CIDRs");
    }
  return 0;
}

static int
read_service (struct json_reader *r, const json_t *j, struct lab_service *s)
{
  if (!json_is_object (j) || jr_str (r, j, "namespace", false, &s->ns) < 0
      || jr_str (r, j, "name", false, &s->name) < 0 || JR_ENUM (r, j, "type", svc_type_names, &s->type) < 0
      || jr_ip (r, j, "cluster_ip", &s->cluster_ip) < 0 || jr_bool (r, j, "implicit", &s->implicit) < 0)
    return -1;
  if (read_labels (r, j, "selector", &s->selector, &s->n_selector) < 0)
    return -1;
  const json_t *ports = jr_array (r, j, "ports");
  const json_t *lb = ports ? jr_array (r, j, "load_balancer_ips") : NULL;
  if (lb == NULL)
    return -1;
  s->n_ports = json_array_size (ports);
  s->ports = xcalloc (s->n_ports ? s->n_ports : 1, sizeof *s->ports);
  for (size_t k = 0; k < s->n_ports; k++)
    if (read_port (r, json_array_get (ports, k), &s->ports[k]) < 0)
      return -1;
  s->n_lb_ips = json_array_size (lb);
  s->lb_ips = xcalloc (s->n_lb_ips ? s->n_lb_ips : 1, sizeof *s->lb_ips);
  for (size_t k = 0; k < s->n_lb_ips; k++)
    {
      const char *ip = json_string_value (json_array_get (lb, k));
      if (ip == NULL || !ip_parse (ip, &s->lb_ips[k]))
        return jr_bad (r, "load_balancer_ips", "not a list of IPv4 addresses");
    }
  return read_service_spec (r, j, s);
}

static int
read_objects (struct json_reader *r, const json_t *j, struct lab_objects *o)
{
  if (!json_is_object (j))
    return nslab_error (r->err, 0, "not a JSON object");
  if (jr_str (r, j, "lab", false, &o->lab) < 0 || jr_str (r, j, "scenario", false, &o->scenario) < 0)
    return -1;
  const json_t *c = json_object_get (j, "cluster");
  if (!json_is_object (c))
    return jr_bad (r, "cluster", "missing or not an object");
  snprintf (r->where, sizeof r->where, "cluster");
  if (JR_ENUM (r, c, "flavor", flavor_names, &o->flavor) < 0 || jr_cidr (r, c, "pod_cidr", &o->pod_cidr) < 0
      || jr_cidr (r, c, "service_cidr", &o->service_cidr) < 0 || jr_ip (r, c, "dns_ip", &o->dns_ip) < 0
      || jr_str (r, c, "dns_domain", false, &o->dns_domain) < 0)
    return -1;
  jr_at (r, NULL, 0);
  const json_t *nets = jr_array (r, j, "networks"), *nodes = jr_array (r, j, "nodes");
  const json_t *pods = jr_array (r, j, "pods"), *svcs = jr_array (r, j, "services");
  const json_t *wls = jr_array (r, j, "workloads");
  if (!nets || !nodes || !pods || !svcs || !wls)
    return -1;
  for (size_t i = 0; i < json_array_size (wls); i++)
    {
      const json_t *e = json_array_get (wls, i);
      struct lab_workload *w = VEC_PUSH (o->workloads, o->n_workloads);
      uint32_t replicas;
      jr_at (r, "workloads", i);
      if (!json_is_object (e) || JR_ENUM (r, e, "kind", obj_kind_names, &w->kind) < 0
          || (w->kind != OBJ_DEPLOYMENT && w->kind != OBJ_REPLICASET && w->kind != OBJ_DAEMONSET
              && jr_bad (r, "kind", "not a workload") < 0)
          || jr_str (r, e, "namespace", false, &w->ns) < 0 || jr_str (r, e, "name", false, &w->name) < 0
          || read_labels (r, e, "labels", &w->labels, &w->n_labels) < 0
          || jr_uint (r, e, "replicas", INT32_MAX, &replicas) < 0
          || jr_str (r, e, "pod_template_hash", true, &w->pod_template_hash) < 0 || read_app (r, e, &w->app) < 0
          || (json_object_get (e, "privileged") && jr_bool (r, e, "privileged", &w->privileged) < 0)
          || capabilities_from_json (json_object_get (e, "capabilities"), &w->cap_add, r->err) < 0
          || read_image (r, e, &w->image, &w->container) < 0)
        return -1;
      w->replicas = (int) replicas;
      w->new_replicas = w->replicas;
      w->rollout = rollout_spec_default (w->replicas);
    }
  for (size_t i = 0; i < json_array_size (nets); i++)
    {
      const json_t *e = json_array_get (nets, i);
      struct lab_network *n = VEC_PUSH (o->networks, o->n_networks);
      jr_at (r, "networks", i);
      if (jr_str (r, e, "name", false, &n->name) < 0 || JR_ENUM (r, e, "type", net_kind_names, &n->kind) < 0
          || jr_cidr (r, e, "cidr", &n->cidr) < 0)
        return -1;
    }
  for (size_t i = 0; i < json_array_size (nodes); i++)
    {
      const json_t *e = json_array_get (nodes, i);
      struct lab_node *n = VEC_PUSH (o->nodes, o->n_nodes);
      jr_at (r, "nodes", i);
      if (jr_str (r, e, "name", false, &n->name) < 0 || JR_ENUM (r, e, "role", role_names, &n->role) < 0
          || jr_ip (r, e, "internal_ip", &n->internal_ip) < 0 || jr_cidr (r, e, "pod_cidr", &n->pod_cidr) < 0
          || jr_mac (r, e, "vtep_mac", n->vtep_mac) < 0 || jr_str (r, e, "netns", false, &n->netns) < 0
          || jr_bool (r, e, "schedulable", &n->schedulable) < 0)
        return -1;
    }
  for (size_t i = 0; i < json_array_size (pods); i++)
    {
      jr_at (r, "pods", i);
      if (read_pod (r, json_array_get (pods, i), VEC_PUSH (o->pods, o->n_pods)) < 0)
        return -1;
    }
  for (size_t i = 0; i < json_array_size (svcs); i++)
    {
      jr_at (r, "services", i);
      if (read_service (r, json_array_get (svcs, i), VEC_PUSH (o->services, o->n_services)) < 0)
        return -1;
    }
  return 0;
}

int
objects_from_json (const json_t *j, struct lab_objects **out, nslab_error_t *err)
{
  struct json_reader r = { .err = err };
  struct lab_objects *o = xcalloc (1, sizeof *o);
  if (read_objects (&r, j, o) < 0)
    {
      objects_free (o);
      return -1;
    }
  *out = o;
  return 0;
}
