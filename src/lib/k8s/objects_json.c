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

/* Written through json_out (a tree for plan -o json, text for the
 * snapshot): a strict object is what json_pack made of it, dropped whole
 * when a string in it is refused (NULL, not UTF-8); members set after
 * the pack (strict cleared) go alone. */

static void
labels_to_json (struct json_out *o, const char *key, const struct label *l, size_t n)
{
  struct json_out sub;
  jo_open_object (o, key, false, &sub);
  for (size_t i = 0; i < n; i++)
    jo_str (&sub, l[i].key, l[i].value);
  jo_close (&sub);
}

static void
app_to_json (struct json_out *o, const struct lab_app *app)
{
  if (app->kind != APP_HTTP && app->kind != APP_DNS && app->kind != APP_COMMAND && app->kind != APP_SVCLB)
    {
      jo_null (o, "app");
      return;
    }
  struct json_out sub;
  jo_open_object (o, "app", true, &sub);
  jo_str (&sub, "type", app_names[app->kind]);
  if (app->kind == APP_HTTP || app->kind == APP_DNS)
    jo_int (&sub, "port", (json_int_t) app->port);
  else if (app->kind == APP_COMMAND)
    jo_str (&sub, "command", app->command ? app->command : "");
  jo_close (&sub);
}

static void
probe_to_json (struct json_out *o, const struct lab_probe *pr)
{
  if (pr->kind != PROBE_TCP && pr->kind != PROBE_HTTP)
    {
      jo_null (o, "readiness");
      return;
    }
  struct json_out sub;
  jo_open_object (o, "readiness", true, &sub);
  jo_str (&sub, "type", pr->kind == PROBE_TCP ? "tcp" : "http");
  jo_int (&sub, "port", (json_int_t) pr->port);
  if (pr->kind == PROBE_HTTP)
    jo_str (&sub, "path", pr->path ? pr->path : "/");
  jo_close (&sub);
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

void
capabilities_member (struct json_out *o, uint64_t caps)
{
  struct json_out a;
  jo_open_array (o, "capabilities", &a);
  for (unsigned n = 0; n < 64; n++)
    if ((caps >> n) & 1 && capability_name (n))
      jo_str (&a, NULL, capability_name (n));
  jo_close (&a);
}

/* {"image": ..., "container": ...}: a scenario's image. */
static void
image_to_json (struct json_out *o, const char *image, const char *container)
{
  struct json_out sub;
  jo_open_object (o, "image", true, &sub);
  jo_str (&sub, "image", image);
  jo_str (&sub, "container", container);
  jo_close (&sub);
}

static void
pod_to_json (struct json_out *a, const struct lab_pod *p)
{
  struct json_out o, sub;
  jo_open_object (a, NULL, true, &o);
  jo_str (&o, "namespace", p->ns);
  jo_str (&o, "name", p->name);
  labels_to_json (&o, "labels", p->labels, p->n_labels);
  if (p->owner.kind != OBJ_NONE)
    {
      jo_open_object (&o, "owner", true, &sub);
      jo_str (&sub, "kind", ENUM_NAME (obj_kind_names, p->owner.kind));
      jo_str (&sub, "name", p->owner.name);
      jo_close (&sub);
    }
  else
    jo_null (&o, "owner");
  jo_str_or_null (&o, "replicaset", p->replicaset);
  jo_ip (&o, "ip", p->ip);
  jo_str (&o, "node", p->node);
  jo_str (&o, "host_veth", p->host_veth);
  jo_str (&o, "netns", p->netns);
  app_to_json (&o, &p->app);
  probe_to_json (&o, &p->readiness);
  jo_bool (&o, "privileged", p->privileged);
  o.strict = false;
  /* Only when it adds any: snapshots of older labs read the same. */
  if (p->cap_add)
    capabilities_member (&o, p->cap_add);
  /* Only a bare pod's other policy: snapshots of older labs read the same. */
  if (p->restart_policy != RESTART_ALWAYS)
    jo_str (&o, "restart_policy", ENUM_NAME (restart_policy_names, p->restart_policy));
  /* Likewise only a pod not ready yet (older snapshots: all ready). */
  if (!p->ready)
    jo_bool (&o, "not_ready", true);
  /* And an image the scenario names (without: nslab's own container). */
  if (p->image)
    image_to_json (&o, p->image, p->container);
  jo_close (&o);
}

static void
endpoints_to_json (struct json_out *o, const char *key, const struct lab_endpoint *ep, size_t n)
{
  struct json_out a, e;
  jo_open_array (o, key, &a);
  for (size_t i = 0; i < n; i++)
    {
      jo_open_object (&a, NULL, true, &e);
      jo_ip (&e, "ip", ep[i].ip);
      jo_int (&e, "port", (json_int_t) ep[i].port);
      jo_str_or_null (&e, "pod", ep[i].pod);
      jo_str (&e, "node", ep[i].node);
      jo_close (&e);
    }
  jo_close (&a);
}

static void
service_to_json (struct json_out *a, const struct lab_service *s)
{
  struct json_out o, ports, pj, ips;
  jo_open_object (a, NULL, true, &o);
  jo_str (&o, "namespace", s->ns);
  jo_str (&o, "name", s->name);
  jo_str (&o, "type", ENUM_NAME (svc_type_names, s->type));
  jo_ip (&o, "cluster_ip", s->cluster_ip);
  jo_bool (&o, "implicit", s->implicit);
  labels_to_json (&o, "selector", s->selector, s->n_selector);
  jo_open_array (&o, "ports", &ports);
  for (size_t k = 0; k < s->n_ports; k++)
    {
      const struct lab_svc_port *p = &s->ports[k];
      jo_open_object (&ports, NULL, true, &pj);
      jo_str_or_null (&pj, "name", p->name);
      jo_str (&pj, "protocol", ENUM_NAME (proto_names, p->protocol));
      jo_int (&pj, "port", (json_int_t) p->port);
      jo_int (&pj, "target_port", (json_int_t) p->target_port);
      jo_int (&pj, "node_port", (json_int_t) p->node_port);
      endpoints_to_json (&pj, "endpoints", p->endpoints, p->n_endpoints);
      pj.strict = false;
      /* Written only when there are some: older state files have none. */
      if (p->n_not_ready)
        endpoints_to_json (&pj, "not_ready_endpoints", p->not_ready, p->n_not_ready);
      jo_close (&pj);
    }
  jo_close (&ports);
  jo_open_array (&o, "load_balancer_ips", &ips);
  for (size_t i = 0; i < s->n_lb_ips; i++)
    jo_ip (&ips, NULL, s->lb_ips[i]);
  jo_close (&ips);
  /* (numbers, flags and addresses: nothing here can be refused) */
  jo_bool (&o, "affinity_client_ip", s->affinity_client_ip);
  jo_int (&o, "affinity_timeout", (json_int_t) s->affinity_timeout);
  jo_bool (&o, "etp_local", s->etp_local);
  jo_bool (&o, "itp_local", s->itp_local);
  jo_open_array (&o, "external_ips", &ips);
  for (size_t i = 0; i < s->n_external_ips; i++)
    jo_ip (&ips, NULL, s->external_ips[i]);
  jo_close (&ips);
  jo_open_array (&o, "source_ranges", &ips);
  for (size_t i = 0; i < s->n_source_ranges; i++)
    jo_cidr (&ips, NULL, s->source_ranges[i]);
  jo_close (&ips);
  jo_int (&o, "health_check_node_port", (json_int_t) s->hc_node_port);
  jo_ip_or_null (&o, "load_balancer_ip", s->lb_ip);
  jo_close (&o);
}

void
objects_to_json (const struct lab_objects *o, struct json_out *out)
{
  struct json_out sub, a, e;
  jo_str (out, "lab", o->lab);
  jo_str (out, "scenario", o->scenario);
  jo_open_object (out, "cluster", true, &sub);
  jo_str (&sub, "flavor", ENUM_NAME (flavor_names, o->flavor));
  jo_cidr (&sub, "pod_cidr", o->pod_cidr);
  jo_cidr (&sub, "service_cidr", o->service_cidr);
  jo_ip (&sub, "dns_ip", o->dns_ip);
  jo_str (&sub, "dns_domain", o->dns_domain);
  jo_close (&sub);
  jo_open_array (out, "networks", &a);
  for (size_t i = 0; i < o->n_networks; i++)
    {
      jo_open_object (&a, NULL, true, &e);
      jo_str (&e, "name", o->networks[i].name);
      jo_str (&e, "type", ENUM_NAME (net_kind_names, o->networks[i].kind));
      jo_cidr (&e, "cidr", o->networks[i].cidr);
      jo_close (&e);
    }
  jo_close (&a);
  jo_open_array (out, "nodes", &a);
  for (size_t i = 0; i < o->n_nodes; i++)
    {
      const struct lab_node *n = &o->nodes[i];
      jo_open_object (&a, NULL, true, &e);
      jo_str (&e, "name", n->name);
      jo_str (&e, "role", ENUM_NAME (role_names, n->role));
      jo_ip (&e, "internal_ip", n->internal_ip);
      jo_cidr (&e, "pod_cidr", n->pod_cidr);
      jo_mac (&e, "vtep_mac", n->vtep_mac);
      jo_str (&e, "netns", n->netns);
      jo_bool (&e, "schedulable", n->schedulable);
      jo_close (&e);
    }
  jo_close (&a);
  jo_open_array (out, "workloads", &a);
  for (size_t i = 0; i < o->n_workloads; i++)
    {
      const struct lab_workload *w = &o->workloads[i];
      jo_open_object (&a, NULL, true, &e);
      jo_str (&e, "kind", ENUM_NAME (obj_kind_names, w->kind));
      jo_str (&e, "namespace", w->ns);
      jo_str (&e, "name", w->name);
      labels_to_json (&e, "labels", w->labels, w->n_labels);
      jo_int (&e, "replicas", (json_int_t) w->replicas);
      jo_str_or_null (&e, "pod_template_hash", w->pod_template_hash);
      app_to_json (&e, &w->app);
      e.strict = false;
      /* Only when set, as a pod's: snapshots of older labs read the same. */
      if (w->privileged)
        jo_bool (&e, "privileged", true);
      if (w->cap_add)
        capabilities_member (&e, w->cap_add);
      if (w->image)
        image_to_json (&e, w->image, w->container);
      jo_close (&e);
    }
  jo_close (&a);
  jo_open_array (out, "pods", &a);
  for (size_t i = 0; i < o->n_pods; i++)
    pod_to_json (&a, &o->pods[i]);
  jo_close (&a);
  jo_open_array (out, "services", &a);
  for (size_t i = 0; i < o->n_services; i++)
    service_to_json (&a, &o->services[i]);
  jo_close (&a);
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
