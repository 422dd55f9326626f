/* Server-side tables (see k8s_table.h). */
#include "view/k8s_table.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/table.h"
#include "base/json.h"
#include "base/util.h"
#include "view/pods.h"

struct column {
  const char *name, *type, *format, *description;
  int priority;
};

/* Kubernetes' column definitions, name, type, format and priority as
 * printers.go declares them (the descriptions are shortened). */
#define COL_NAME { "Name", "string", "name", "Name must be unique within a namespace.", 0 }
#define COL_AGE { "Age", "string", "", "CreationTimestamp is a timestamp representing the server time when this object was created.", 0 }
#define COL(n, t, p, d) { n, t, "", d, p }

static const struct column pod_cols[] = {
  COL_NAME,
  COL ("Ready", "string", 0, "The aggregate readiness state of this pod for accepting traffic."),
  COL ("Status", "string", 0, "The aggregate status of the containers in this pod."),
  COL ("Restarts", "string", 0, "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
  COL_AGE,
  COL ("IP", "string", 1, "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated."),
  COL ("Node", "string", 1, "NodeName is a request to schedule this pod onto a specific node."),
  COL ("Nominated Node", "string", 1, "nominatedNodeName is set only when this pod preempts other pods on the node."),
  COL ("Readiness Gates", "string", 1, "If specified, all readiness gates will be evaluated for pod readiness."),
  { 0 },
};
static const struct column node_cols[] = {
  COL_NAME,
  COL ("Status", "string", 0, "The status of the node"),
  COL ("Roles", "string", 0, "The roles of the node"),
  COL_AGE,
  COL ("Version", "string", 0, "Kubelet Version reported by the node."),
  COL ("Internal-IP", "string", 1, "List of addresses reachable to the node."),
  COL ("External-IP", "string", 1, "List of addresses reachable to the node."),
  COL ("OS-Image", "string", 1, "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy))."),
  COL ("Kernel-Version", "string", 1, "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64)."),
  COL ("Container-Runtime", "string", 1, "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2)."),
  { 0 },
};
static const struct column svc_cols[] = {
  COL_NAME,
  COL ("Type", "string", 0, "type determines how the Service is exposed."),
  COL ("Cluster-IP", "string", 0, "clusterIP is the IP address of the service and is usually assigned randomly."),
  COL ("External-IP", "string", 0, "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service."),
  COL ("Port(s)", "string", 0, "The list of ports that are exposed by this service."),
  COL_AGE,
  COL ("Selector", "string", 1, "Route service traffic to pods with label keys and values matching this selector."),
  { 0 },
};
static const struct column ep_cols[] = {
  COL_NAME,
  COL ("Endpoints", "string", 0, "Endpoints of the Endpoints object."),
  COL_AGE,
  { 0 },
};
static const struct column eps_cols[] = {
  COL_NAME,
  COL ("AddressType", "string", 0, "addressType specifies the type of address carried by this EndpointSlice."),
  COL ("Ports", "string", 0, "ports specifies the list of network ports exposed by each endpoint in this slice."),
  COL ("Endpoints", "string", 0, "endpoints is a list of unique endpoints in this slice."),
  COL_AGE,
  { 0 },
};
static const struct column deploy_cols[] = {
  COL_NAME,
  COL ("Ready", "string", 0, "Number of the pod with ready state"),
  COL ("Up-to-date", "integer", 0, "Total number of non-terminated pods targeted by this deployment that have the desired template spec."),
  COL ("Available", "integer", 0, "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment."),
  COL_AGE,
  COL ("Containers", "string", 1, "Names of each container in the template."),
  COL ("Images", "string", 1, "Images referenced by each container in the template."),
  COL ("Selector", "string", 1, "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment."),
  { 0 },
};
static const struct column rs_cols[] = {
  COL_NAME,
  COL ("Desired", "integer", 0, "Replicas is the number of desired replicas."),
  COL ("Current", "integer", 0, "Replicas is the most recently observed number of replicas."),
  COL ("Ready", "integer", 0, "The number of ready replicas for this replica set."),
  COL_AGE,
  COL ("Containers", "string", 1, "Names of each container in the template."),
  COL ("Images", "string", 1, "Images referenced by each container in the template."),
  COL ("Selector", "string", 1, "Selector is a label query over pods that should match the replica count."),
  { 0 },
};
static const struct column ns_cols[] = {
  COL_NAME,
  COL ("Status", "string", 0, "The status of the namespace"),
  COL_AGE,
  { 0 },
};
static const struct column event_cols[] = {
  COL ("Last Seen", "string", 0, "The last time the event was seen"),
  COL ("Type", "string", 0, "The type of the event"),
  COL ("Reason", "string", 0, "The reason of the event"),
  COL ("Object", "string", 0, "The object that the event is about"),
  COL ("Subobject", "string", 1, "The subobject that the event is about"),
  COL ("Source", "string", 1, "The source of the event"),
  COL ("Message", "string", 0, "The message of the event"),
  COL ("First Seen", "string", 1, "The first time the event was seen"),
  COL ("Count", "string", 1, "The number of times the event has occurred"),
  COL ("Name", "string", 1, "The name of the event"),
  { 0 },
};
static const struct column default_cols[] = { COL_NAME, COL_AGE, { 0 } };

/* ---- field access ------------------------------------------------------ */

const char *
k8s_str (const json_t *o, const char *path)
{
  const char *s = json_string_value (json_at (o, path));
  return s ? s : "";
}

json_int_t
k8s_num (const json_t *o, const char *path)
{
  return json_integer_value (json_at (o, path));
}

static char *
age_of (const json_t *o, const char *path, time_t now)
{
  time_t t = kubectl_parse_time (k8s_str (o, path));
  if (t == 0)
    return xstrdup ("<unknown>");
  return kubectl_human_duration ((long) (now - t));
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

char *
k8s_format_labels (const json_t *map, const char *none)
{
  size_t n = json_object_size (map);
  if (n == 0)
    return xstrdup (none);
  char **v = xcalloc (n, sizeof *v);
  size_t i = 0;
  const char *k;
  json_t *val;
  json_object_foreach ((json_t *) map, k, val) v[i++] = xasprintf ("%s=%s", k, json_string_value (val) ?: "");
  qsort (v, n, sizeof *v, cmp_str);
  struct strbuf sb;
  sb_init (&sb);
  for (i = 0; i < n; i++)
    {
      sb_addf (&sb, "%s%s", i ? "," : "", v[i]);
      free (v[i]);
    }
  free (v);
  return sb_steal (&sb);
}

char *
k8s_format_label_selector (const json_t *sel)
{
  const json_t *ml = json_object_get (sel, "matchLabels"), *me = json_object_get (sel, "matchExpressions");
  if (json_object_size (ml) == 0 && json_array_size (me) == 0)
    return xstrdup ("<none>");
  struct strbuf sb;
  sb_init (&sb);
  if (json_object_size (ml))
    {
      cleanup_free char *m = k8s_format_labels (ml, "");
      sb_add (&sb, m);
    }
  size_t i;
  const json_t *e;
  json_array_foreach (me, i, e)
    {
      const char *op = k8s_str (e, "operator");
      if (sb.len)
        sb_add (&sb, ",");
      if (strcmp (op, "Exists") == 0)
        sb_add (&sb, k8s_str (e, "key"));
      else if (strcmp (op, "DoesNotExist") == 0)
        sb_addf (&sb, "!%s", k8s_str (e, "key"));
      else
        {
          sb_addf (&sb, "%s %s (", k8s_str (e, "key"), strcmp (op, "In") == 0 ? "in" : "notin");
          size_t j;
          const json_t *v;
          json_array_foreach (json_object_get (e, "values"), j, v) sb_addf (&sb, "%s%s", j ? "," : "",
                                                                            json_string_value (v) ?: "");
          sb_add (&sb, ")");
        }
    }
  return sb_steal (&sb);
}

/* Container names or images of a pod template, joined by ",". */
static char *
template_list (const json_t *o, const char *field)
{
  struct strbuf sb;
  sb_init (&sb);
  size_t i;
  const json_t *c;
  json_array_foreach (json_at (o, "spec.template.spec.containers"), i, c) sb_addf (&sb, "%s%s", i ? "," : "",
                                                                              k8s_str (c, field));
  return sb_steal (&sb);
}

/* ---- rows -------------------------------------------------------------- */

struct row {
  json_t *cells;
};

static void
cell_s (json_t *cells, const char *s)
{
  json_array_append_new (cells, json_string (s));
}

static void
cell_own (json_t *cells, char *s)
{
  json_array_append_new (cells, json_string (s));
  free (s);
}

static void
cell_i (json_t *cells, json_int_t v)
{
  json_array_append_new (cells, json_integer (v));
}

static void
pod_cells (json_t *c, const json_t *o, time_t now)
{
  struct pod_row r;
  pod_row_from_json (o, now, &r);
  char ready[32];
  snprintf (ready, sizeof ready, "%d/%d", r.ready, r.total);
  cell_s (c, r.name);
  cell_s (c, ready);
  cell_s (c, r.status);
  cell_s (c, r.restarts_col);
  cell_own (c, kubectl_human_duration (r.age));
  cell_s (c, r.ip);
  cell_s (c, r.node);
  cell_s (c, "<none>");
  cell_s (c, "<none>");
  pod_row_free (&r);
}

/* findNodeRoles: the node-role.kubernetes.io/ROLE labels (and the legacy
 * kubernetes.io/role), sorted. */
static char *
node_roles (const json_t *o)
{
  const json_t *labels = json_at (o, "metadata.labels");
  const char *k;
  json_t *v;
  char *roles[16];
  size_t n = 0;
  json_object_foreach ((json_t *) labels, k, v)
    {
      if (n == ARRAY_SIZE (roles))
        break;
      if (str_has_prefix (k, "node-role.kubernetes.io/") && k[strlen ("node-role.kubernetes.io/")])
        roles[n++] = xstrdup (k + strlen ("node-role.kubernetes.io/"));
      else if (strcmp (k, "kubernetes.io/role") == 0 && json_string_value (v) && *json_string_value (v))
        roles[n++] = xstrdup (json_string_value (v));
    }
  if (n == 0)
    return xstrdup ("<none>");
  qsort (roles, n, sizeof *roles, cmp_str);
  struct strbuf sb;
  sb_init (&sb);
  for (size_t i = 0; i < n; i++)
    {
      sb_addf (&sb, "%s%s", i ? "," : "", roles[i]);
      free (roles[i]);
    }
  return sb_steal (&sb);
}

static char *
node_address (const json_t *o, const char *type)
{
  size_t i;
  const json_t *a;
  json_array_foreach (json_at (o, "status.addresses"), i, a)
      if (strcmp (k8s_str (a, "type"), type) == 0)
        return xstrdup (k8s_str (a, "address"));
  return xstrdup ("<none>");
}

static const char *
or_unknown (const char *s)
{
  return *s ? s : "<unknown>";
}

static void
node_cells (json_t *c, const json_t *o, time_t now)
{
  const char *status = "Unknown";
  size_t i;
  const json_t *cond;
  json_array_foreach (json_at (o, "status.conditions"), i, cond)
      if (strcmp (k8s_str (cond, "type"), "Ready") == 0)
        status = strcmp (k8s_str (cond, "status"), "True") == 0 ? "Ready" : "NotReady";
  cell_s (c, k8s_str (o, "metadata.name"));
  if (json_is_true (json_at (o, "spec.unschedulable")))
    cell_own (c, xasprintf ("%s,SchedulingDisabled", status));
  else
    cell_s (c, status);
  cell_own (c, node_roles (o));
  cell_own (c, age_of (o, "metadata.creationTimestamp", now));
  cell_s (c, k8s_str (o, "status.nodeInfo.kubeletVersion"));
  cell_own (c, node_address (o, "InternalIP"));
  cell_own (c, node_address (o, "ExternalIP"));
  cell_s (c, or_unknown (k8s_str (o, "status.nodeInfo.osImage")));
  cell_s (c, or_unknown (k8s_str (o, "status.nodeInfo.kernelVersion")));
  cell_s (c, or_unknown (k8s_str (o, "status.nodeInfo.containerRuntimeVersion")));
}

static char *
join_strings (const json_t *arr, const char *none)
{
  if (json_array_size (arr) == 0)
    return xstrdup (none);
  struct strbuf sb;
  sb_init (&sb);
  size_t i;
  const json_t *v;
  json_array_foreach (arr, i, v) sb_addf (&sb, "%s%s", i ? "," : "", json_string_value (v) ?: "");
  return sb_steal (&sb);
}

/* getServiceExternalIP. */
static char *
svc_external_ip (const json_t *o)
{
  const char *type = k8s_str (o, "spec.type");
  const json_t *ext = json_at (o, "spec.externalIPs");
  if (strcmp (type, "ExternalName") == 0)
    return xstrdup (k8s_str (o, "spec.externalName"));
  if (strcmp (type, "LoadBalancer") == 0)
    {
      struct strbuf sb;
      sb_init (&sb);
      size_t i;
      const json_t *ing;
      json_array_foreach (json_at (o, "status.loadBalancer.ingress"), i, ing)
        {
          const char *v = *k8s_str (ing, "ip") ? k8s_str (ing, "ip") : k8s_str (ing, "hostname");
          if (*v)
            sb_addf (&sb, "%s%s", sb.len ? "," : "", v);
        }
      const json_t *e;
      json_array_foreach (ext, i, e) sb_addf (&sb, "%s%s", sb.len ? "," : "", json_string_value (e) ?: "");
      if (sb.len == 0)
        {
          sb_free (&sb);
          return xstrdup ("<pending>");
        }
      return sb_steal (&sb);
    }
  return join_strings (ext, "<none>");
}

static char *
svc_ports (const json_t *o)
{
  const json_t *ports = json_at (o, "spec.ports");
  if (json_array_size (ports) == 0)
    return xstrdup ("<none>");
  struct strbuf sb;
  sb_init (&sb);
  size_t i;
  const json_t *p;
  json_array_foreach (ports, i, p)
    {
      sb_addf (&sb, "%s%lld", i ? "," : "", (long long) k8s_num (p, "port"));
      if (k8s_num (p, "nodePort"))
        sb_addf (&sb, ":%lld", (long long) k8s_num (p, "nodePort"));
      sb_addf (&sb, "/%s", *k8s_str (p, "protocol") ? k8s_str (p, "protocol") : "TCP");
    }
  return sb_steal (&sb);
}

static void
svc_cells (json_t *c, const json_t *o, time_t now)
{
  cell_s (c, k8s_str (o, "metadata.name"));
  cell_s (c, k8s_str (o, "spec.type"));
  cell_s (c, *k8s_str (o, "spec.clusterIP") ? k8s_str (o, "spec.clusterIP") : "<none>");
  cell_own (c, svc_external_ip (o));
  cell_own (c, svc_ports (o));
  cell_own (c, age_of (o, "metadata.creationTimestamp", now));
  cell_own (c, k8s_format_labels (json_at (o, "spec.selector"), "<none>"));
}

/* At most this many addresses, then " + N more..." (printers.go). */
#define MAX_ENDPOINTS 3

struct ep_list {
  struct strbuf sb;
  int shown, count;
};

static void
ep_add (struct ep_list *l, const char *s)
{
  if (l->shown < MAX_ENDPOINTS)
    {
      sb_addf (&l->sb, "%s%s", l->shown ? "," : "", s);
      l->shown++;
    }
  l->count++;
}

static char *
ep_done (struct ep_list *l, const char *none)
{
  if (l->count > l->shown)
    sb_addf (&l->sb, " + %d more...", l->count - l->shown);
  if (l->count == 0)
    {
      sb_free (&l->sb);
      return xstrdup (none);
    }
  return sb_steal (&l->sb);
}


/* formatEndpoints: per subset, per port, per ready address "ip:port". */
static char *
k8s_format_endpoints (const json_t *subsets)
{
  struct ep_list l = { .shown = 0 };
  sb_init (&l.sb);
  size_t i, j, k;
  const json_t *ss, *port, *addr;
  json_array_foreach (subsets, i, ss)
    {
      const json_t *ports = json_object_get (ss, "ports"), *addrs = json_object_get (ss, "addresses");
      if (json_array_size (ports) == 0)
        json_array_foreach (addrs, k, addr) ep_add (&l, k8s_str (addr, "ip"));
      json_array_foreach (ports, j, port) json_array_foreach (addrs, k, addr)
        {
          char hp[96];
          snprintf (hp, sizeof hp, "%s:%lld", k8s_str (addr, "ip"), (long long) k8s_num (port, "port"));
          ep_add (&l, hp);
        }
    }
  return ep_done (&l, "<none>");
}

static void
ep_cells (json_t *c, const json_t *o, time_t now)
{
  cell_s (c, k8s_str (o, "metadata.name"));
  cell_own (c, k8s_format_endpoints (json_object_get (o, "subsets")));
  cell_own (c, age_of (o, "metadata.creationTimestamp", now));
}

static void
eps_cells (json_t *c, const json_t *o, time_t now)
{
  cell_s (c, k8s_str (o, "metadata.name"));
  cell_s (c, k8s_str (o, "addressType"));
  const json_t *ports = json_object_get (o, "ports");
  struct strbuf sb;
  sb_init (&sb);
  size_t i, j;
  const json_t *p, *e, *a;
  json_array_foreach (ports, i, p) sb_addf (&sb, "%s%lld", i ? "," : "", (long long) k8s_num (p, "port"));
  if (sb.len == 0)
    {
      sb_free (&sb);
      cell_s (c, "<unset>");
    }
  else
    cell_own (c, sb_steal (&sb));
  struct ep_list l = { .shown = 0 };
  sb_init (&l.sb);
  json_array_foreach (json_object_get (o, "endpoints"), i, e) json_array_foreach (json_object_get (e, "addresses"), j,
                                                                                  a) ep_add (&l, json_string_value (a)
                                                                                                     ?: "");
  cell_own (c, ep_done (&l, "<unset>"));
  cell_own (c, age_of (o, "metadata.creationTimestamp", now));
}

static void
workload_wide (json_t *c, const json_t *o)
{
  cell_own (c, template_list (o, "name"));
  cell_own (c, template_list (o, "image"));
  cell_own (c, k8s_format_label_selector (json_at (o, "spec.selector")));
}

static void
deploy_cells (json_t *c, const json_t *o, time_t now)
{
  cell_s (c, k8s_str (o, "metadata.name"));
  const json_t *r = json_at (o, "spec.replicas");
  cell_own (c, xasprintf ("%lld/%lld", (long long) k8s_num (o, "status.readyReplicas"),
                          (long long) (r ? json_integer_value (r) : 1)));
  cell_i (c, k8s_num (o, "status.updatedReplicas"));
  cell_i (c, k8s_num (o, "status.availableReplicas"));
  cell_own (c, age_of (o, "metadata.creationTimestamp", now));
  workload_wide (c, o);
}

static void
rs_cells (json_t *c, const json_t *o, time_t now)
{
  cell_s (c, k8s_str (o, "metadata.name"));
  const json_t *r = json_at (o, "spec.replicas");
  cell_i (c, r ? json_integer_value (r) : 1);
  cell_i (c, k8s_num (o, "status.replicas"));
  cell_i (c, k8s_num (o, "status.readyReplicas"));
  cell_own (c, age_of (o, "metadata.creationTimestamp", now));
  workload_wide (c, o);
}

static void
ns_cells (json_t *c, const json_t *o, time_t now)
{
  cell_s (c, k8s_str (o, "metadata.name"));
  cell_s (c, k8s_str (o, "status.phase"));
  cell_own (c, age_of (o, "metadata.creationTimestamp", now));
}

static void
event_cells (json_t *c, const json_t *o, time_t now)
{
  const char *last = *k8s_str (o, "lastTimestamp") ? "lastTimestamp" : "eventTime";
  const char *first = *k8s_str (o, "firstTimestamp") ? "firstTimestamp" : "eventTime";
  json_int_t count = k8s_num (o, "count");
  cleanup_free char *last_age = age_of (o, last, now);
  if (count > 1)
    {
      cleanup_free char *span = kubectl_human_duration ((long) (kubectl_parse_time (k8s_str (o, last))
                                                                - kubectl_parse_time (k8s_str (o, first))));
      cell_own (c, xasprintf ("%s (x%lld over %s)", last_age, (long long) count, span));
    }
  else
    cell_s (c, last_age);
  cell_s (c, k8s_str (o, "type"));
  cell_s (c, k8s_str (o, "reason"));
  char *kind = xstrdup (k8s_str (o, "involvedObject.kind"));
  for (char *p = kind; *p; p++)
    *p = (char) tolower ((unsigned char) *p);
  cell_own (c, xasprintf ("%s/%s", kind, k8s_str (o, "involvedObject.name")));
  free (kind);
  cell_s (c, k8s_str (o, "involvedObject.fieldPath"));
  if (*k8s_str (o, "source.host"))
    cell_own (c, xasprintf ("%s, %s", k8s_str (o, "source.component"), k8s_str (o, "source.host")));
  else
    cell_s (c, k8s_str (o, "source.component"));
  cell_s (c, k8s_str (o, "message"));
  cell_own (c, age_of (o, first, now));
  cell_i (c, count);
  cell_s (c, k8s_str (o, "metadata.name"));
}

static void
default_cells (json_t *c, const json_t *o, time_t now)
{
  cell_s (c, k8s_str (o, "metadata.name"));
  cell_own (c, age_of (o, "metadata.creationTimestamp", now));
}

static const struct column lease_cols[] = {
  COL_NAME,
  COL ("Holder", "string", 0, "The holder of the lease."),
  COL_AGE,
  { 0 },
};

static void
lease_cells (json_t *c, const json_t *o, time_t now)
{
  cell_s (c, k8s_str (o, "metadata.name"));
  cell_s (c, k8s_str (o, "spec.holderIdentity"));
  cell_own (c, age_of (o, "metadata.creationTimestamp", now));
}

static const struct printer {
  const char *kind;
  const struct column *cols;
  void (*cells) (json_t *c, const json_t *o, time_t now);
} printers[] = {
  { "Pod", pod_cols, pod_cells },
  { "Node", node_cols, node_cells },
  { "Service", svc_cols, svc_cells },
  { "Endpoints", ep_cols, ep_cells },
  { "EndpointSlice", eps_cols, eps_cells },
  { "Deployment", deploy_cols, deploy_cells },
  { "ReplicaSet", rs_cols, rs_cells },
  { "Namespace", ns_cols, ns_cells },
  { "Event", event_cols, event_cells },
  { "Lease", lease_cols, lease_cells },
};

static const struct printer default_printer = { "", default_cols, default_cells };

static const struct printer *
printer_for (const char *kind)
{
  for (size_t i = 0; i < ARRAY_SIZE (printers); i++)
    if (strcmp (printers[i].kind, kind) == 0)
      return &printers[i];
  return &default_printer;
}

bool
k8s_table_known (const char *kind)
{
  return printer_for (kind) != &default_printer;
}

json_t *
k8s_table (const char *kind, const json_t *items, time_t now, enum k8s_table_object obj, const char *rv)
{
  const struct printer *p = printer_for (kind);
  json_t *cols = json_array ();
  for (const struct column *c = p->cols; c->name; c++)
    json_array_append_new (cols, json_pack ("{s:s, s:s, s:s, s:s, s:i}", "name", c->name, "type", c->type, "format",
                                            c->format, "description", c->description, "priority", c->priority));
  json_t *rows = json_array ();
  size_t i;
  const json_t *item;
  json_array_foreach (items, i, item)
    {
      json_t *cells = json_array ();
      p->cells (cells, item, now);
      json_t *row = json_pack ("{s:o}", "cells", cells);
      if (obj == K8S_TABLE_OBJECT_WHOLE)
        json_object_set (row, "object", (json_t *) item);
      else if (obj == K8S_TABLE_OBJECT_METADATA)
        json_object_set_new (row, "object",
                             json_pack ("{s:s, s:s, s:O}", "kind", "PartialObjectMetadata", "apiVersion",
                                        "meta.k8s.io/v1", "metadata", json_object_get (item, "metadata")));
      json_array_append_new (rows, row);
    }
  return json_pack ("{s:s, s:s, s:{s:s}, s:o, s:o}", "kind", "Table", "apiVersion", "meta.k8s.io/v1", "metadata",
                    "resourceVersion", rv ? rv : "", "columnDefinitions", cols, "rows", rows);
}

/* ---- printing ----------------------------------------------------------- */

static char *
cell_text (const json_t *v)
{
  if (json_is_string (v))
    return xstrdup (json_string_value (v));
  if (json_is_integer (v))
    return xasprintf ("%lld", (long long) json_integer_value (v));
  if (json_is_true (v))
    return xstrdup ("true");
  if (json_is_false (v))
    return xstrdup ("false");
  if (json_is_real (v))
    return xasprintf ("%g", json_real_value (v));
  return xstrdup ("<none>");
}

void
k8s_table_print (const json_t *table, bool wide, bool with_ns, const char *prefix, FILE *out)
{
  const json_t *cols = json_object_get (table, "columnDefinitions"), *rows = json_object_get (table, "rows");
  size_t n = json_array_size (cols);
  bool *show = xcalloc (n ? n : 1, sizeof *show);
  const char *header[32];
  size_t nh = 0;
  if (with_ns)
    header[nh++] = "NAMESPACE";
  char *upper[32];
  size_t nu = 0;
  for (size_t i = 0; i < n && nh < ARRAY_SIZE (header) - 1; i++)
    {
      const json_t *c = json_array_get (cols, i);
      show[i] = wide || k8s_num (c, "priority") == 0;
      if (!show[i])
        continue;
      char *u = xstrdup (k8s_str (c, "name"));
      for (char *q = u; *q; q++)
        *q = (char) toupper ((unsigned char) *q);
      upper[nu++] = u;
      header[nh++] = u;
    }
  header[nh] = NULL;
  struct table t;
  table_init (&t, header);
  size_t r;
  const json_t *row;
  json_array_foreach (rows, r, row)
    {
      char *cells[32];
      size_t k = 0;
      if (with_ns)
        cells[k++] = xstrdup (k8s_str (row, "object.metadata.namespace"));
      const json_t *rc = json_object_get (row, "cells");
      for (size_t i = 0; i < n && k < nh; i++)
        {
          if (!show[i])
            continue;
          char *s = cell_text (json_array_get (rc, i));
          if (prefix && strcmp (k8s_str (json_array_get (cols, i), "format"), "name") == 0)
            {
              char *p = xasprintf ("%s/%s", prefix, s);
              free (s);
              s = p;
            }
          cells[k++] = s;
        }
      table_row (&t, (const char *const *) cells);
      for (size_t i = 0; i < k; i++)
        free (cells[i]);
    }
  if (t.n_rows)
    table_print (&t, out);
  table_free (&t);
  for (size_t i = 0; i < nu; i++)
    free (upper[i]);
  free (show);
}
