/* The lab's objects as Kubernetes API objects (see resources.h). The shapes
 * follow what `kubectl get -o json` shows on a k3s or kubeadm cluster; fields
 * a learner would not miss (managedFields, generation history) are left out. */
#include "k8s/resources.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/statvfs.h>
#include <sys/sysinfo.h>
#include <unistd.h>
#include <sys/utsname.h>

#include "base/hash.h"
#include "base/json.h"
#include "base/strmap.h"
#include "base/util.h"
#include "k8s/names.h"
#include "k8s/pod_template.h"
#include "k8s/rollout.h"
#include "scenario/flavor.h"

void
resources_new_uid (char out[37])
{
  uint8_t b[16];
  size_t got = 0;
  while (got < sizeof b)
    {
      ssize_t n = getrandom (b + got, sizeof b - got, 0);
      if (n > 0)
        got += (size_t) n;
    }
  b[6] = (uint8_t) ((b[6] & 0x0f) | 0x40); /* version 4 */
  b[8] = (uint8_t) ((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
  snprintf (out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3],
            b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

struct builder {
  json_t *items;
  char created[32];
  const char *lab;
};

void
resources_bump_generation (const json_t *before, json_t *obj)
{
  if (json_equal (json_object_get (before, "spec"), json_object_get (obj, "spec")))
    return;
  json_t *gen = json_object_get (json_object_get (before, "metadata"), "generation");
  json_object_set_new (json_object_get (obj, "metadata"), "generation",
                       json_integer ((json_is_integer (gen) ? json_integer_value (gen) : 1) + 1));
}

/* metadata with a fresh uid; NS NULL for cluster-scoped objects. Returns the
 * object (owned by the items array) so the caller can fill spec and status. */
static json_t *
add_object (struct builder *b, const char *api_version, const char *kind, const char *ns, const char *name,
            json_t *labels)
{
  char uid[37];
  resources_new_uid (uid);
  json_t *meta = json_pack ("{s:s, s:s, s:s}", "name", name, "uid", uid, "creationTimestamp", b->created);
  if (ns)
    json_object_set_new (meta, "namespace", json_string (ns));
  if (labels)
    json_object_set_new (meta, "labels", labels);
  /* The API server's generation on create (rest.BeforeCreate), for the
   * kinds whose controllers report status.observedGeneration. */
  if (strcmp (kind, "Deployment") == 0 || strcmp (kind, "ReplicaSet") == 0)
    json_object_set_new (meta, "generation", json_integer (1));
  json_t *obj = json_pack ("{s:s, s:s, s:o}", "apiVersion", api_version, "kind", kind, "metadata", meta);
  json_array_append_new (b->items, obj);
  return obj;
}

static const char *
uid_of (json_t *obj)
{
  return json_string_value (json_object_get (json_object_get (obj, "metadata"), "uid"));
}

static void
set_owner (json_t *obj, const char *api_version, const char *kind, json_t *owner)
{
  json_t *meta = json_object_get (obj, "metadata");
  json_object_set_new (meta, "ownerReferences",
                       json_pack ("[{s:s, s:s, s:s, s:s, s:b, s:b}]", "apiVersion", api_version, "kind", kind, "name",
                                  json_string_value (json_object_get (json_object_get (owner, "metadata"), "name")),
                                  "uid", uid_of (owner), "controller", 1, "blockOwnerDeletion", 1));
}

static json_t *
labels_json (const struct label *l, size_t n, const char *extra_key, const char *extra_value)
{
  json_t *o = json_object ();
  for (size_t i = 0; i < n; i++)
    json_object_set_new (o, l[i].key, json_string (l[i].value));
  if (extra_key)
    json_object_set_new (o, extra_key, json_string (extra_value));
  return o;
}

/* The LoadBalancer a servicelb pod or DaemonSet serves, by the labels
 * servicelb gives them. */
static const struct lab_service *
servicelb_service (const struct lab_objects *o, const struct label *l, size_t n)
{
  const char *name = NULL, *ns = NULL;
  for (size_t i = 0; i < n; i++)
    if (strcmp (l[i].key, "svccontroller.k3s.cattle.io/svcname") == 0)
      name = l[i].value;
    else if (strcmp (l[i].key, "svccontroller.k3s.cattle.io/svcnamespace") == 0)
      ns = l[i].value;
  for (size_t i = 0; name && ns && i < o->n_services; i++)
    if (strcmp (o->services[i].ns, ns) == 0 && strcmp (o->services[i].name, name) == 0)
      return &o->services[i];
  return NULL;
}

/* servicelb's containers: one per port, lb-<proto>-<port>, klipper-lb with
 * NET_ADMIN, hostPort = containerPort = the port, and the entry script's
 * environment (DEST_IPS of the Local policy comes from status.hostIPs). */
static json_t *
servicelb_containers (const struct lab_service *s)
{
  json_t *cs = json_array ();
  char ip[CIDR_STRLEN];
  struct strbuf ranges;
  sb_init (&ranges);
  for (size_t i = 0; i < s->n_source_ranges; i++)
    sb_addf (&ranges, "%s%s", i ? "," : "", cidr_fmt (s->source_ranges[i], ip));
  for (size_t k = 0; s && k < s->n_ports; k++)
    {
      const struct lab_svc_port *p = &s->ports[k];
      cleanup_free char *name = xasprintf ("lb-%s-%u", proto_lower (p->protocol), p->port);
      char port[8], dport[8];
      snprintf (port, sizeof port, "%u", p->port);
      snprintf (dport, sizeof dport, "%u", s->etp_local ? p->node_port : p->port);
      json_t *env = json_pack ("[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}, {s:s, s:s}]", "name", "SRC_PORT", "value", port,
                               "name", "SRC_RANGES", "value", ranges.len ? ranges.buf : "0.0.0.0/0", "name",
                               "DEST_PROTO", "value", proto_name (p->protocol), "name", "DEST_PORT", "value", dport);
      if (s->etp_local)
        json_array_append_new (env, json_pack ("{s:s, s:{s:{s:s}}}", "name", "DEST_IPS", "valueFrom", "fieldRef",
                                               "fieldPath", "status.hostIPs"));
      else
        json_array_append_new (env, json_pack ("{s:s, s:s}", "name", "DEST_IPS", "value", ip_fmt (s->cluster_ip, ip)));
      json_array_append_new (cs, json_pack ("{s:s, s:s, s:s, s:[{s:s, s:i, s:i, s:s}], s:o, s:{s:{s:[s]}}}", "name",
                                            name, "image", "rancher/klipper-lb:v0.4.9", "imagePullPolicy",
                                            "IfNotPresent", "ports", "name", name, "containerPort",
                                            (json_int_t) p->port, "hostPort", (json_int_t) p->port, "protocol",
                                            proto_name (p->protocol), "env", env, "securityContext", "capabilities",
                                            "add", "NET_ADMIN"));
    }
  free (ranges.buf);
  return cs;
}

/* The pod's one container: the image the scenario names (as kubectl
 * create deployment --image writes it: name and image, no ports), else
 * the app nslab runs, or the pause process alone. */
static json_t *
containers_json (const struct lab_app *app, const char *image, const char *container)
{
  if (image)
    {
      json_t *c = json_pack ("{s:s, s:s}", "name", container, "image", image);
      if (app->kind == APP_COMMAND)
        json_object_set_new (c, "command", json_pack ("[s, s, s]", "/bin/sh", "-c", app->command ? app->command : ""));
      /* with the API server's defaults, as a manifest's container is stored */
      json_t *a = json_pack ("[o]", c);
      json_t *d = pod_template_default_containers (a);
      json_decref (a);
      return d;
    }
  if (app->kind == APP_HTTP)
    return json_pack ("[{s:s, s:s, s:[{s:i, s:s}]}]", "name", "app", "image", "nslab/http-echo", "ports",
                      "containerPort", (json_int_t) app->port, "protocol", "TCP");
  /* As CoreDNS's manifest (k3s's and kubeadm's alike): "dns" 53/UDP,
   * "dns-tcp" 53/TCP (no metrics server here, so no 9153), and its
   * resources. */
  if (app->kind == APP_DNS)
    return json_pack ("[{s:s, s:s, s:{s:{s:s}, s:{s:s, s:s}}, s:[{s:s, s:i, s:s}, {s:s, s:i, s:s}]}]", "name",
                      "coredns", "image", "nslab/coredns", "resources", "limits", "memory", "170Mi", "requests",
                      "cpu", "100m", "memory", "70Mi", "ports", "name", "dns", "containerPort", (json_int_t) app->port,
                      "protocol", "UDP", "name", "dns-tcp", "containerPort", (json_int_t) app->port, "protocol", "TCP");
  if (app->kind == APP_COMMAND)
    return json_pack ("[{s:s, s:s, s:[s, s, s]}]", "name", "app", "image", "nslab/command", "command", "/bin/sh",
                      "-c", app->command ? app->command : "");
  return json_pack ("[{s:s, s:s}]", "name", "pause", "image", "nslab/pause");
}

/* A container's securityContext as the API shows it (capabilities before
 * privileged, the API's field order); NULL when the workload sets neither. */
static json_t *
security_context_json (bool privileged, uint64_t cap_add)
{
  if (!privileged && !cap_add)
    return NULL;
  json_t *sc = json_object ();
  if (cap_add)
    json_object_set_new (sc, "capabilities", json_pack ("{s:o}", "add", capabilities_to_json (cap_add)));
  if (privileged)
    json_object_set_new (sc, "privileged", json_true ());
  return sc;
}

/* readinessProbe as the API server returns it, defaults filled in
 * (timeoutSeconds 1, successThreshold 1, failureThreshold 3; httpGet scheme
 * HTTP) and the period the lab's kubelet probes with (LAB_PROBE_PERIOD_S,
 * not the API's default 10 s). NULL for no probe. */
static json_t *
probe_json (const struct lab_probe *pr)
{
  json_t *handler;
  if (pr->kind == PROBE_TCP)
    handler = json_pack ("{s:{s:i}}", "tcpSocket", "port", (json_int_t) pr->port);
  else if (pr->kind == PROBE_HTTP)
    handler = json_pack ("{s:{s:s, s:i, s:s}}", "httpGet", "path", pr->path ? pr->path : "/", "port",
                         (json_int_t) pr->port, "scheme", "HTTP");
  else
    return NULL;
  json_object_update_new (handler, json_pack ("{s:i, s:i, s:i, s:i}", "timeoutSeconds", (json_int_t) LAB_PROBE_TIMEOUT_S,
                                              "periodSeconds", (json_int_t) LAB_PROBE_PERIOD_S, "successThreshold",
                                              (json_int_t) 1, "failureThreshold",
                                              (json_int_t) LAB_PROBE_FAILURE_THRESHOLD));
  return handler;
}

/* What the add-ons' manifests give their pod template besides containers:
 * CoreDNS's (k3s's manifests/coredns.yaml, kubeadm's addons/dns manifest)
 * priority class, service account, tolerations (k3s's tolerate the old
 * master taint too), node selector and dnsPolicy Default (its upstream is
 * the node's resolv.conf, not itself); servicelb's DaemonSet's (k3s's
 * newDaemonSet). Another pod's SPEC is left as it is. */
static void
addon_spec (json_t *spec, enum flavor f, const struct lab_app *app, const struct lab_service *lb)
{
  if (lb)
    json_object_update_new (
        spec, json_pack ("{s:s, s:s, s:b, s:{s:[{s:s, s:s}]}, s:[{s:s, s:s, s:s}, {s:s, s:s, s:s}, {s:s, s:s}]}",
                         "priorityClassName", "system-node-critical", "serviceAccountName", "svclb",
                         "automountServiceAccountToken", 0, "securityContext", "sysctls", "name",
                         "net.ipv4.ip_forward", "value", "1", "tolerations", "key", "node-role.kubernetes.io/master",
                         "operator", "Exists", "effect", "NoSchedule", "key", "node-role.kubernetes.io/control-plane",
                         "operator", "Exists", "effect", "NoSchedule", "key", "CriticalAddonsOnly", "operator",
                         "Exists"));
  else if (app->kind == APP_DNS)
    {
      json_t *tols = json_pack ("[{s:s, s:s}, {s:s, s:s, s:s}]", "key", "CriticalAddonsOnly", "operator", "Exists",
                                "key", "node-role.kubernetes.io/control-plane", "operator", "Exists", "effect",
                                "NoSchedule");
      if (f == FLAVOR_K3S)
        json_array_append_new (tols, json_pack ("{s:s, s:s, s:s}", "key", "node-role.kubernetes.io/master",
                                                "operator", "Exists", "effect", "NoSchedule"));
      else /* kubeadm's toleration names no operator: Equal, the default */
        json_object_del (json_array_get (tols, 1), "operator");
      json_object_update_new (spec, json_pack ("{s:s, s:s, s:o, s:{s:s}, s:s}", "priorityClassName",
                                               "system-cluster-critical", "serviceAccountName", "coredns",
                                               "tolerations", tols, "nodeSelector", "kubernetes.io/os", "linux",
                                               "dnsPolicy", "Default"));
    }
}

/* The tolerations the DaemonSet controller adds to every pod it makes
 * (util.AddOrUpdateDaemonPodTolerations, for pods without host network):
 * it runs on not-ready, unreachable, pressured and cordoned nodes. */
static void
daemon_pod_tolerations (json_t *spec)
{
  json_t *tols = json_object_get (spec, "tolerations");
  if (!json_is_array (tols))
    json_object_set_new (spec, "tolerations", tols = json_array ());
  static const char *const taints[][2] = {
    { "node.kubernetes.io/not-ready", "NoExecute" },      { "node.kubernetes.io/unreachable", "NoExecute" },
    { "node.kubernetes.io/disk-pressure", "NoSchedule" }, { "node.kubernetes.io/memory-pressure", "NoSchedule" },
    { "node.kubernetes.io/pid-pressure", "NoSchedule" },  { "node.kubernetes.io/unschedulable", "NoSchedule" },
  };
  for (size_t i = 0; i < ARRAY_SIZE (taints); i++)
    json_array_append_new (tols, json_pack ("{s:s, s:s, s:s}", "key", taints[i][0], "operator", "Exists", "effect",
                                            taints[i][1]));
}

static json_t *
template_json (const struct lab_objects *o, const struct lab_workload *w, const char *hash)
{
  json_t *labels = labels_json (w->labels, w->n_labels, hash ? "pod-template-hash" : NULL, hash);
  const struct lab_service *lb = w->app.kind == APP_SVCLB ? servicelb_service (o, w->labels, w->n_labels) : NULL;
  json_t *containers = lb ? servicelb_containers (lb) : containers_json (&w->app, w->image, w->container);
  /* servicelb's containers carry their own (capabilities.add NET_ADMIN) */
  json_t *sc = lb ? NULL : security_context_json (w->privileged, w->cap_add);
  if (sc)
    json_object_set_new (json_array_get (containers, 0), "securityContext", sc);
  json_t *t = json_pack ("{s:{s:o}, s:{s:o, s:s}}", "metadata", "labels", labels, "spec", "containers", containers,
                         "restartPolicy", "Always");
  addon_spec (json_object_get (t, "spec"), o->flavor, &w->app, lb);
  return t;
}

static void
add_namespace (struct builder *b, json_t *seen, const char *ns)
{
  if (json_object_get (seen, ns))
    return;
  json_object_set_new (seen, ns, json_true ());
  json_t *o = add_object (b, "v1", "Namespace", NULL, ns,
                          json_pack ("{s:s}", "kubernetes.io/metadata.name", ns));
  json_object_set_new (o, "spec", json_pack ("{s:[s]}", "finalizers", "kubernetes"));
  json_object_set_new (o, "status", json_pack ("{s:s}", "phase", "Active"));
}

/* What kubelet reports of its machine: the nodes of a lab share the host's
 * kernel and OS, and run the flavor's kubelet and containerd. */
static json_t *
node_info (enum flavor f)
{
  const struct flavor_defaults *d = flavor_defaults (f);
  struct utsname u;
  if (uname (&u) < 0)
    u.release[0] = '\0';
  char os[256] = "Linux";
  cleanup_file FILE *fp = fopen ("/etc/os-release", "re");
  char line[512];
  while (fp && fgets (line, sizeof line, fp))
    if (str_has_prefix (line, "PRETTY_NAME="))
      {
        char *v = str_trim (line + strlen ("PRETTY_NAME="));
        size_t n = strlen (v);
        if (n >= 2 && v[0] == '"' && v[n - 1] == '"')
          v[n - 1] = '\0', v++;
        snprintf (os, sizeof os, "%s", v);
      }
  return json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "architecture", "amd64", "operatingSystem", "linux",
                    "osImage", os, "kernelVersion", u.release, "kubeletVersion", d->kube_version,
                    "kubeProxyVersion", d->kube_version, "containerRuntimeVersion", d->container_runtime);
}

/* The machine's resources as kubelet reports them (every node of a lab
 * shares them): cpu cores, memory and the root filesystem in Ki, kubelet's
 * default of 110 pods;
 * allocatable the same, as with no reservations configured (kubectl
 * describe node computes its percentages from allocatable). */
static json_t *
node_capacity (void)
{
  struct sysinfo si;
  unsigned long long mem_ki = sysinfo (&si) == 0 ? (unsigned long long) si.totalram * si.mem_unit / 1024 : 0;
  long cpus = sysconf (_SC_NPROCESSORS_ONLN);
  cleanup_free char *cpu = xasprintf ("%ld", cpus > 0 ? cpus : 1);
  cleanup_free char *mem = xasprintf ("%lluKi", mem_ki);
  /* ephemeral-storage: the size of the filesystem of kubelet's root dir
   * (/var/lib/kubelet on the machine's root). */
  struct statvfs fs;
  unsigned long long disk_ki = statvfs ("/", &fs) == 0 ? (unsigned long long) fs.f_blocks * fs.f_frsize / 1024 : 0;
  cleanup_free char *disk = xasprintf ("%lluKi", disk_ki);
  return json_pack ("{s:s, s:s, s:s, s:s}", "cpu", cpu, "memory", mem, "pods", "110", "ephemeral-storage", disk);
}

/* kubelet's node conditions (setters.go), all healthy: the pressure ones
 * False with their "has sufficient" reasons, then Ready. */
static json_t *
node_conditions (const char *at)
{
  json_t *c = json_array ();
  static const char *const pressure[][3] = {
    { "MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available" },
    { "DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure" },
    { "PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available" },
  };
  for (size_t i = 0; i < ARRAY_SIZE (pressure); i++)
    json_array_append_new (c, json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", pressure[i][0], "status", "False",
                                         "reason", pressure[i][1], "message", pressure[i][2], "lastHeartbeatTime",
                                         at, "lastTransitionTime", at));
  json_array_append_new (c, json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", "Ready", "status", "True", "reason",
                                       "KubeletReady", "message", "kubelet is posting ready status",
                                       "lastHeartbeatTime", at, "lastTransitionTime", at));
  return c;
}

static void
add_node (struct builder *b, const struct lab_objects *o, const struct lab_node *n)
{
  char ip[IP_STRLEN], cidr[CIDR_STRLEN];
  json_t *labels = json_pack ("{s:s, s:s, s:s, s:s, s:s}", "beta.kubernetes.io/arch", "amd64",
                              "beta.kubernetes.io/os", "linux", "kubernetes.io/arch", "amd64",
                              "kubernetes.io/hostname", n->name, "kubernetes.io/os", "linux");
  if (n->role == ROLE_CONTROL_PLANE)
    {
      /* k3s labels its servers "true"; kubeadm sets the label empty. Neither
       * sets the old node-role.kubernetes.io/master any more (the seed's
       * v1.34.3+k3s1 shows ROLES control-plane alone). */
      const char *v = o->flavor == FLAVOR_K3S ? "true" : "";
      json_object_set_new (labels, "node-role.kubernetes.io/control-plane", json_string (v));
    }
  json_t *node = add_object (b, "v1", "Node", NULL, n->name, labels);
  cidr_fmt (n->pod_cidr, cidr);
  json_t *spec = json_pack ("{s:s, s:[s]}", "podCIDR", cidr, "podCIDRs", cidr);
  if (!n->schedulable)
    json_object_set_new (spec, "taints",
                         json_pack ("[{s:s, s:s}]", "key", "node-role.kubernetes.io/control-plane", "effect",
                                    "NoSchedule"));
  json_object_set_new (node, "spec", spec);
  json_object_set_new (node, "status",
                       json_pack ("{s:[{s:s, s:s}, {s:s, s:s}], s:o, s:o, s:o}", "addresses", "type", "InternalIP",
                                  "address", ip_fmt (n->internal_ip, ip), "type", "Hostname", "address", n->name,
                                  "conditions", node_conditions (b->created), "capacity", node_capacity (),
                                  "allocatable", node_capacity ()));
  json_object_set_new (json_object_get (node, "status"), "nodeInfo", node_info (o->flavor));
}

/* The pods of each workload, counted for their status in one pass over the
 * pods (a count per workload by scanning them all was quadratic: a
 * thousand workloads of two pods took a million compares each round of the
 * control loop). COUNTS[i] for o->workloads[i]. */
struct pod_counts {
  int n, ready;          /* the workload's pods, and of them the ready ones */
  int updated, updated_ready; /* of a deployment's: its new replicaset's */
};

static void
count_pods (const struct lab_objects *o, struct pod_counts *counts)
{
  struct strmap by_key; /* "kind/ns/name" -> index + 1 */
  strmap_init (&by_key);
  for (size_t i = 0; i < o->n_workloads; i++)
    {
      const struct lab_workload *w = &o->workloads[i];
      cleanup_free char *key = xasprintf ("%d/%s/%s", (int) w->kind, w->ns, w->name);
      strmap_put (&by_key, key, (void *) (uintptr_t) (i + 1));
    }
  for (size_t i = 0; i < o->n_pods; i++)
    {
      const struct lab_pod *p = &o->pods[i];
      if (p->owner.kind == OBJ_NONE || p->owner.name == NULL)
        continue;
      cleanup_free char *key = xasprintf ("%d/%s/%s", (int) p->owner.kind, p->ns, p->owner.name);
      uintptr_t at = (uintptr_t) strmap_get (&by_key, key);
      if (at == 0)
        continue;
      struct pod_counts *c = &counts[at - 1];
      const struct lab_workload *w = &o->workloads[at - 1];
      bool updated = true;
      if (w->kind == OBJ_DEPLOYMENT && w->n_old_rs && p->replicaset && w->pod_template_hash)
        {
          const char *h = strrchr (p->replicaset, '-');
          updated = h && strcmp (h + 1, w->pod_template_hash) == 0;
        }
      c->n++;
      c->ready += p->ready;
      c->updated += updated;
      c->updated_ready += updated && p->ready;
    }
  strmap_free (&by_key);
}

static json_t *
replicas_status (int n)
{
  return json_pack ("{s:i, s:i, s:i, s:i, s:i}", "replicas", (json_int_t) n, "readyReplicas", (json_int_t) n,
                    "availableReplicas", (json_int_t) n, "fullyLabeledReplicas", (json_int_t) n,
                    "observedGeneration", (json_int_t) 1);
}

/* A deployment and its replicaset, or a replicaset alone; returns the
 * replicaset, which owns the pods. */
/* A deployment's replicaset's annotations (deployment_util.go
 * SetNewReplicaSetAnnotations): its revision, and once the deployment has
 * been rolled out, desired-replicas and max-replicas (replicas + maxSurge). */
static json_t *
rollout_annotations (const struct lab_workload *w, int revision)
{
  cleanup_free char *rev = xasprintf ("%d", revision > 0 ? revision : 1);
  json_t *a = json_pack ("{s:s}", "deployment.kubernetes.io/revision", rev);
  if (w->n_old_rs)
    {
      cleanup_free char *desired = xasprintf ("%d", w->replicas);
      cleanup_free char *maxr = xasprintf ("%d", w->replicas + w->rollout.max_surge);
      json_object_set_new (a, "deployment.kubernetes.io/desired-replicas", json_string (desired));
      json_object_set_new (a, "deployment.kubernetes.io/max-replicas", json_string (maxr));
    }
  return a;
}

/* A deployment's old ReplicaSet (rolling.go keeps them, scaled to 0, up
 * to revisionHistoryLimit): the template it was made with is the store's
 * (store_sync keeps a replicaset's template); its pods, those of the plan
 * still named after it. */
static void
add_old_replicaset (struct builder *b, const struct lab_objects *o, const struct lab_workload *w,
                    const struct lab_old_rs *r, json_t *deploy, json_t *rs_by_key)
{
  cleanup_free char *name = xasprintf ("%s-%s", w->name, r->hash);
  int n = 0, ready = 0;
  for (size_t i = 0; r->replicas > 0 && i < o->n_pods; i++)
    if (o->pods[i].replicaset && strcmp (o->pods[i].replicaset, name) == 0 && strcmp (o->pods[i].ns, w->ns) == 0)
      n++, ready += o->pods[i].ready;
  json_t *rs = add_object (b, "apps/v1", "ReplicaSet", w->ns, name,
                           labels_json (w->labels, w->n_labels, "pod-template-hash", r->hash));
  set_owner (rs, "apps/v1", "Deployment", deploy);
  json_object_set_new (json_object_get (rs, "metadata"), "annotations", rollout_annotations (w, r->revision));
  json_object_set_new (rs, "spec",
                       json_pack ("{s:i, s:{s:o}, s:o}", "replicas", (json_int_t) r->replicas, "selector",
                                  "matchLabels", labels_json (w->labels, w->n_labels, "pod-template-hash", r->hash),
                                  "template", template_json (o, w, r->hash)));
  json_t *st = json_pack ("{s:i, s:i}", "replicas", (json_int_t) n, "observedGeneration", (json_int_t) 1);
  if (n)
    json_object_update_new (st, json_pack ("{s:i, s:i, s:i}", "readyReplicas", (json_int_t) ready,
                                           "availableReplicas", (json_int_t) ready, "fullyLabeledReplicas",
                                           (json_int_t) n));
  json_object_set_new (rs, "status", st);
  cleanup_free char *key = xasprintf ("%s/%s", w->ns, name);
  json_object_set (rs_by_key, key, rs);
}

static json_t *
add_workload (struct builder *b, const struct lab_objects *o, const struct lab_workload *w,
              const struct pod_counts *pc, json_t *rs_by_key)
{
  int n = pc->n;
  if (w->kind == OBJ_DAEMONSET)
    {
      /* servicelb.go newDaemonSet: its labels, selector app=NAME, the
       * rolling update of one pod at a time; status as the DaemonSet
       * controller reports every node's pod running and ready. */
      json_t *ds = add_object (b, "apps/v1", "DaemonSet", w->ns, w->name, labels_json (w->labels, w->n_labels, NULL, NULL));
      json_t *labels = json_object_get (json_object_get (ds, "metadata"), "labels");
      json_object_del (labels, "app");
      json_object_set_new (labels, "svccontroller.k3s.cattle.io/nodeselector", json_string ("false"));
      json_object_set_new (ds, "spec",
                           json_pack ("{s:{s:{s:s}}, s:o, s:{s:s, s:{s:i, s:i}}, s:i}", "selector", "matchLabels",
                                      "app", w->name, "template", template_json (o, w, NULL), "updateStrategy",
                                      "type", "RollingUpdate", "rollingUpdate", "maxUnavailable", (json_int_t) 1,
                                      "maxSurge", (json_int_t) 0, "revisionHistoryLimit", (json_int_t) 10));
      json_object_set_new (ds, "status",
                           json_pack ("{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i}", "currentNumberScheduled",
                                      (json_int_t) n, "desiredNumberScheduled", (json_int_t) n, "numberAvailable",
                                      (json_int_t) n, "numberMisscheduled", (json_int_t) 0, "numberReady",
                                      (json_int_t) n, "updatedNumberScheduled", (json_int_t) n,
                                      "observedGeneration", (json_int_t) 1, "numberUnavailable", (json_int_t) 0));
      return ds;
    }
  const char *hash = w->kind == OBJ_DEPLOYMENT ? w->pod_template_hash : NULL;
  json_t *deploy = NULL;
  if (w->kind == OBJ_DEPLOYMENT)
    {
      deploy = add_object (b, "apps/v1", "Deployment", w->ns, w->name, labels_json (w->labels, w->n_labels, NULL, NULL));
      cleanup_free char *rev = xasprintf ("%d", w->revision > 0 ? w->revision : 1);
      json_object_set_new (json_object_get (deploy, "metadata"), "annotations",
                           json_pack ("{s:s}", "deployment.kubernetes.io/revision", rev));
      json_object_set_new (deploy, "spec",
                           json_pack ("{s:i, s:{s:o}, s:o, s:{s:s}}", "replicas", (json_int_t) w->replicas,
                                      "selector", "matchLabels", labels_json (w->labels, w->n_labels, NULL, NULL),
                                      "template", template_json (o, w, NULL), "strategy", "type", "RollingUpdate"));
      /* The API server's defaults (apps/v1 SetDefaults_Deployment). */
      json_t *spec = json_object_get (deploy, "spec");
      json_object_set_new (json_object_get (spec, "strategy"), "rollingUpdate",
                           json_pack ("{s:s, s:s}", "maxUnavailable", "25%", "maxSurge", "25%"));
      json_object_set_new (spec, "revisionHistoryLimit", json_integer (10));
      json_object_set_new (spec, "progressDeadlineSeconds", json_integer (600));
      json_t *st = replicas_status (n);
      json_object_del (st, "fullyLabeledReplicas");
      json_object_set_new (st, "updatedReplicas", json_integer (pc->updated));
      /* A rolling update: the ready pods are the available ones
       * (minReadySeconds 0); status.unavailableReplicas the ones missing. */
      if (w->n_old_rs)
        {
          json_object_set_new (st, "readyReplicas", json_integer (pc->ready));
          json_object_set_new (st, "availableReplicas", json_integer (pc->ready));
          /* calculateStatus: every replicaset's pods less the available ones */
          if (n > pc->ready)
            json_object_set_new (st, "unavailableReplicas", json_integer (n - pc->ready));
        }
      /* The deployment controller's conditions (in the order it writes
       * them, Available, then Progressing): complete once the new replica
       * set has every replica available and no old pod is left
       * (DeploymentComplete), progressing while it rolls. */
      bool complete = pc->updated == w->replicas && n == w->replicas && pc->updated_ready == w->replicas;
      bool available = w->n_old_rs == 0
                       || pc->ready >= w->replicas - w->rollout.max_unavailable;
      cleanup_free char *progressed = xasprintf (complete || w->n_old_rs == 0
                                                     ? "ReplicaSet \"%s-%s\" has successfully progressed."
                                                     : "ReplicaSet \"%s-%s\" is progressing.",
                                                 w->name, hash);
      /* paused: checkPausedConditions' condition stands while it is */
      const char *progress_status = "True",
                 *progress_reason = complete || w->n_old_rs == 0 ? "NewReplicaSetAvailable" : "ReplicaSetUpdated";
      if (w->rollout.deadline_exceeded && !complete)
        {
          progress_status = "False";
          progress_reason = "ProgressDeadlineExceeded";
          free (progressed);
          progressed = xasprintf ("ReplicaSet \"%s-%s\" has timed out progressing.", w->name, hash);
        }
      else if (w->rollout.paused)
        {
          progress_status = "Unknown";
          progress_reason = "DeploymentPaused";
          free (progressed);
          progressed = xstrdup ("Deployment is paused");
        }
      json_object_set_new (st, "conditions",
                           json_pack ("[{s:s, s:s, s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s, s:s, s:s}]", "type",
                                      "Available", "status", available ? "True" : "False", "reason",
                                      available ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable", "message",
                                      available ? "Deployment has minimum availability."
                                                : "Deployment does not have minimum availability.",
                                      "lastUpdateTime", b->created, "lastTransitionTime", b->created, "type",
                                      "Progressing", "status", progress_status, "reason", progress_reason,
                                      "message", progressed, "lastUpdateTime", b->created, "lastTransitionTime",
                                      b->created));
      json_object_set_new (deploy, "status", st);
    }
  cleanup_free char *rs_name = hash ? xasprintf ("%s-%s", w->name, hash) : xstrdup (w->name);
  json_t *rs = add_object (b, "apps/v1", "ReplicaSet", w->ns, rs_name,
                           labels_json (w->labels, w->n_labels, hash ? "pod-template-hash" : NULL, hash));
  if (deploy)
    {
      set_owner (rs, "apps/v1", "Deployment", deploy);
      json_object_set_new (json_object_get (rs, "metadata"), "annotations", rollout_annotations (w, w->revision));
    }
  json_object_set_new (rs, "spec",
                       json_pack ("{s:i, s:{s:o}, s:o}", "replicas",
                                  (json_int_t) (deploy ? w->new_replicas : w->replicas), "selector",
                                  "matchLabels",
                                  labels_json (w->labels, w->n_labels, hash ? "pod-template-hash" : NULL, hash),
                                  "template", template_json (o, w, hash)));
  json_object_set_new (rs, "status", replicas_status (deploy && w->n_old_rs ? pc->updated : n));
  if (deploy && w->n_old_rs)
    {
      json_t *rst = json_object_get (rs, "status");
      json_object_set_new (rst, "readyReplicas", json_integer (pc->updated_ready));
      json_object_set_new (rst, "availableReplicas", json_integer (pc->updated_ready));
    }
  for (size_t k = 0; deploy && k < w->n_old_rs; k++)
    add_old_replicaset (b, o, w, &w->old_rs[k], deploy, rs_by_key);
  return rs;
}

static json_t *
add_pod (struct builder *b, const struct lab_objects *o, const struct lab_pod *p, json_t *owner)
{
  char ip[IP_STRLEN], host_ip[IP_STRLEN] = "";
  const struct lab_node *node = objects_find_node (o, p->node);
  if (node)
    ip_fmt (node->internal_ip, host_ip);
  json_t *pod = add_object (b, "v1", "Pod", p->ns, p->name, labels_json (p->labels, p->n_labels, NULL, NULL));
  if (owner)
    set_owner (pod, "apps/v1", p->owner.kind == OBJ_DAEMONSET ? "DaemonSet" : "ReplicaSet", owner);
  const struct lab_service *lb = p->app.kind == APP_SVCLB ? servicelb_service (o, p->labels, p->n_labels) : NULL;
  json_t *containers = lb ? servicelb_containers (lb) : containers_json (&p->app, p->image, p->container);
  /* servicelb's containers carry their own (capabilities.add NET_ADMIN);
   * the pod's one container the workload's. */
  json_t *sc = lb ? NULL : security_context_json (p->privileged, p->cap_add);
  if (sc)
    json_object_set_new (json_array_get (containers, 0), "securityContext", sc);
  json_t *probe = probe_json (&p->readiness);
  if (probe)
    json_object_set_new (json_array_get (containers, 0), "readinessProbe", probe);
  /* One status per container (servicelb's pods have one per port; the
   * pause process's app stands for all of them). */
  json_t *cstatus = json_array ();
  for (size_t k = 0; k < json_array_size (containers) && p->image == NULL; k++)
    {
      const char *cname = json_string_value (json_object_get (json_array_get (containers, k), "name"));
      const char *image = json_string_value (json_object_get (json_array_get (containers, k), "image"));
      json_array_append_new (cstatus, json_pack ("{s:s, s:s, s:b, s:b, s:i, s:{s:{s:s}}}", "name", cname, "image",
                                                 image, "ready", p->ready, "started", 1, "restartCount", (json_int_t) 0,
                                                 "state", "running", "startedAt", b->created));
    }
  /* A scenario's image: as containerd resolved it, with its imageID. */
  if (p->image)
    {
      json_t *like = json_pack ("{s:b, s:b, s:i, s:{s:{s:s}}}", "ready", p->ready, "started", 1, "restartCount",
                                (json_int_t) 0, "state", "running", "startedAt", b->created);
      json_decref (cstatus);
      cstatus = pod_template_statuses (containers, like);
      json_decref (like);
    }
  json_t *spec = json_pack ("{s:o, s:s, s:s}", "containers", containers, "nodeName", p->node, "restartPolicy",
                            p->restart_policy == RESTART_NEVER        ? "Never"
                            : p->restart_policy == RESTART_ON_FAILURE ? "OnFailure"
                                                                      : "Always");
  addon_spec (spec, o->flavor, &p->app, lb);
  if (p->owner.kind == OBJ_DAEMONSET)
    daemon_pod_tolerations (spec);
  json_object_set_new (pod, "spec", spec);
  ip_fmt (p->ip, ip);
  /* kubelet's four conditions; Ready and ContainersReady wait for the
   * readiness probe. */
  const char *ready = p->ready ? "True" : "False";
  json_object_set_new (pod, "status",
                       json_pack ("{s:s, s:s, s:s, s:[{s:s}], s:s, s:[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}, {s:s, s:s}], "
                                  "s:o}",
                                  "phase", "Running", "hostIP", host_ip, "podIP", ip, "podIPs", "ip", ip, "startTime",
                                  b->created, "conditions", "type", "Initialized", "status", "True", "type", "Ready",
                                  "status", ready, "type", "ContainersReady", "status", ready, "type", "PodScheduled",
                                  "status", "True", "containerStatuses", cstatus));
  pod_template_pod_defaults (pod, b->lab);
  return pod;
}

static json_t *
find_pod_uid (json_t *pods, const char *name)
{
  return json_object_get (pods, name);
}

/* The spec fields the apiserver fills in or keeps: traffic policies (the
   external one only for services reachable from outside, defaulted to
   Cluster), affinity, externalIPs, source ranges, the health-check node
   port it allocated, allocateLoadBalancerNodePorts. */
static void
service_spec_policies (json_t *spec, const struct lab_service *s)
{
  char ip[CIDR_STRLEN];
  json_object_set_new (spec, "internalTrafficPolicy", json_string (s->itp_local ? "Local" : "Cluster"));
  if (s->type != SVC_CLUSTER_IP || s->n_external_ips > 0)
    json_object_set_new (spec, "externalTrafficPolicy", json_string (s->etp_local ? "Local" : "Cluster"));
  if (s->affinity_client_ip)
    {
      json_object_set_new (spec, "sessionAffinity", json_string ("ClientIP"));
      json_object_set_new (spec, "sessionAffinityConfig",
                           json_pack ("{s:{s:i}}", "clientIP", "timeoutSeconds", (json_int_t) s->affinity_timeout));
    }
  if (s->n_external_ips)
    {
      json_t *a = json_array ();
      for (size_t i = 0; i < s->n_external_ips; i++)
        json_array_append_new (a, json_string (ip_fmt (s->external_ips[i], ip)));
      json_object_set_new (spec, "externalIPs", a);
    }
  if (s->n_source_ranges)
    {
      json_t *a = json_array ();
      for (size_t i = 0; i < s->n_source_ranges; i++)
        json_array_append_new (a, json_string (cidr_fmt (s->source_ranges[i], ip)));
      json_object_set_new (spec, "loadBalancerSourceRanges", a);
    }
  if (s->hc_node_port)
    json_object_set_new (spec, "healthCheckNodePort", json_integer (s->hc_node_port));
  if (s->lb_ip)
    json_object_set_new (spec, "loadBalancerIP", json_string (ip_fmt (s->lb_ip, ip)));
  if (s->type == SVC_LOAD_BALANCER)
    json_object_set_new (spec, "allocateLoadBalancerNodePorts", json_true ());
}

static void
add_service (struct builder *b, const struct lab_service *s, json_t *pods_by_name)
{
  char ip[IP_STRLEN];
  json_t *svc = add_object (b, "v1", "Service", s->ns, s->name, NULL);
  /* servicelb names its DaemonSet after the uid: the plan's. */
  char svc_uid[37];
  cleanup_free char *uid_key = service_uid_key (b->lab, s->ns, s->name);
  uid_from_key (uid_key, svc_uid);
  json_object_set_new (json_object_get (svc, "metadata"), "uid", json_string (svc_uid));
  if (s->implicit && strcmp (s->name, "kubernetes") == 0)
    json_object_set_new (json_object_get (svc, "metadata"), "labels",
                         json_pack ("{s:s, s:s}", "component", "apiserver", "provider", "kubernetes"));
  json_t *ports = json_array ();
  for (size_t k = 0; k < s->n_ports; k++)
    {
      const struct lab_svc_port *p = &s->ports[k];
      json_t *jp = json_pack ("{s:s, s:i, s:i}", "protocol", proto_name (p->protocol), "port", (json_int_t) p->port,
                              "targetPort", (json_int_t) p->target_port);
      if (p->name)
        json_object_set_new (jp, "name", json_string (p->name));
      if (p->node_port)
        json_object_set_new (jp, "nodePort", json_integer (p->node_port));
      json_array_append_new (ports, jp);
    }
  if (s->cluster_ip)
    ip_fmt (s->cluster_ip, ip);
  else
    snprintf (ip, sizeof ip, "None");
  json_t *spec = json_pack ("{s:s, s:s, s:[s], s:[s], s:o, s:s}", "type", svc_type_name (s->type), "clusterIP", ip,
                            "clusterIPs", ip, "ipFamilies", "IPv4", "ports", ports, "sessionAffinity", "None");
  /* The defaults the apiserver fills in (kubectl describe prints them). */
  json_object_set_new (spec, "ipFamilyPolicy", json_string ("SingleStack"));
  json_object_set_new (spec, "internalTrafficPolicy", json_string ("Cluster"));
  if (s->type == SVC_NODE_PORT || s->type == SVC_LOAD_BALANCER)
    json_object_set_new (spec, "externalTrafficPolicy", json_string ("Cluster"));
  if (s->n_selector)
    json_object_set_new (spec, "selector", labels_json (s->selector, s->n_selector, NULL, NULL));
  service_spec_policies (spec, s);
  json_object_set_new (svc, "spec", spec);
  /* ingress is omitempty: a service with none (not a LoadBalancer, or one
   * servicelb has no ready node for) has "loadBalancer": {}. */
  json_t *lb = json_object ();
  if (s->n_lb_ips)
    {
      json_t *ingress = json_array ();
      for (size_t i = 0; i < s->n_lb_ips; i++)
        json_array_append_new (ingress, json_pack ("{s:s}", "ip", ip_fmt (s->lb_ips[i], ip)));
      json_object_set_new (lb, "ingress", ingress);
    }
  json_object_set_new (svc, "status", json_pack ("{s:o}", "loadBalancer", lb));

  /* Endpoints (what `kubectl get endpoints` reads): one subset per port,
   * since each port's endpoints come from its own target port. */
  json_t *ep = add_object (b, "v1", "Endpoints", s->ns, s->name, NULL);
  json_t *subsets = json_array ();
  /* EndpointSlice (what kube-proxy reads), owned by the service. */
  /* default/kubernetes's slice is the API server's own (its endpoints
   * reconciler, reconcilers/endpointsadapter.go): named as the service,
   * the service-name label alone, no owner. */
  bool apiserver_slice = s->implicit && strcmp (s->ns, "default") == 0 && strcmp (s->name, "kubernetes") == 0;
  cleanup_free char *slice_name = NULL;
  if (apiserver_slice)
    slice_name = xstrdup (s->name);
  else
    {
      char uid[37], suffix[6];
      resources_new_uid (uid);
      /* generateName: the service name and five characters of
       * SafeEncodeString's alphabet (utilrand.String(5)). */
      safe_random_string (fnv1a64_str (uid), 5, suffix);
      slice_name = xasprintf ("%s-%s", s->name, suffix);
    }
  json_t *slice_labels = json_pack ("{s:s}", "kubernetes.io/service-name", s->name);
  if (!apiserver_slice)
    json_object_set_new (slice_labels, "endpointslice.kubernetes.io/managed-by",
                         json_string ("endpointslice-controller.k8s.io"));
  json_t *slice = add_object (b, "discovery.k8s.io/v1", "EndpointSlice", s->ns, slice_name, slice_labels);
  if (!apiserver_slice)
    set_owner (slice, "v1", "Service", svc);
  json_t *slice_eps = json_array (), *slice_ports = json_array (), *seen = json_object ();
  for (size_t k = 0; k < s->n_ports; k++)
    {
      const struct lab_svc_port *p = &s->ports[k];
      /* Endpoints: ready pods under addresses, the others under
       * notReadyAddresses; the slice: one endpoint per address, its
       * conditions saying which (a not-ready pod neither serves nor
       * terminates). */
      json_t *addrs[2] = { json_array (), json_array () };
      for (int nr = 0; nr < 2; nr++)
        for (size_t e = 0; e < (nr ? p->n_not_ready : p->n_endpoints); e++)
          {
            const struct lab_endpoint *le = nr ? &p->not_ready[e] : &p->endpoints[e];
            json_t *a = json_pack ("{s:s, s:s}", "ip", ip_fmt (le->ip, ip), "nodeName", le->node);
            json_t *pod = le->pod ? find_pod_uid (pods_by_name, le->pod) : NULL;
            if (pod)
              json_object_set_new (a, "targetRef",
                                   json_pack ("{s:s, s:s, s:s, s:s}", "kind", "Pod", "namespace", s->ns, "name",
                                              le->pod, "uid", uid_of (pod)));
            json_array_append_new (addrs[nr], a);
            if (json_object_get (seen, ip))
              continue;
            json_object_set_new (seen, ip, json_true ());
            json_t *se = json_pack ("{s:[s], s:{s:b, s:b, s:b}, s:s}", "addresses", ip, "conditions", "ready", !nr,
                                    "serving", !nr, "terminating", 0, "nodeName", le->node);
            if (json_object_get (a, "targetRef"))
              json_object_set (se, "targetRef", json_object_get (a, "targetRef"));
            json_array_append_new (slice_eps, se);
          }
      uint16_t target = p->n_endpoints ? p->endpoints[0].port : p->n_not_ready ? p->not_ready[0].port : p->target_port;
      json_t *port = json_pack ("{s:i, s:s}", "port", (json_int_t) target, "protocol", proto_name (p->protocol));
      if (p->name)
        json_object_set_new (port, "name", json_string (p->name));
      /* The EndpointSlice controller always sets a port's name (kubectl
       * describe dereferences it); Endpoints omit an empty one. */
      json_t *sp = json_deep_copy (port);
      if (!p->name)
        json_object_set_new (sp, "name", json_string (""));
      json_array_append_new (slice_ports, sp);
      if (json_array_size (addrs[0]) || json_array_size (addrs[1]))
        {
          json_t *sub = json_pack ("{s:[O]}", "ports", port);
          if (json_array_size (addrs[0]))
            json_object_set (sub, "addresses", addrs[0]);
          if (json_array_size (addrs[1]))
            json_object_set (sub, "notReadyAddresses", addrs[1]);
          json_array_append_new (subsets, sub);
        }
      json_decref (addrs[0]);
      json_decref (addrs[1]);
      json_decref (port);
    }
  json_decref (seen);
  if (json_array_size (subsets))
    json_object_set_new (ep, "subsets", subsets);
  else
    json_decref (subsets);
  json_object_set_new (slice, "addressType", json_string ("IPv4"));
  json_object_set_new (slice, "endpoints", slice_eps);
  json_object_set_new (slice, "ports", slice_ports);
}

json_t *
resources_from_objects (const struct lab_objects *o, time_t now)
{
  struct builder b = { .items = json_array (), .lab = o->lab };
  time_format_rfc3339 (now, b.created);

  /* The namespaces every cluster has, then the lab's own. */
  json_t *ns_seen = json_object ();
  static const char *const system_ns[] = { "default", "kube-node-lease", "kube-public", "kube-system" };
  for (size_t i = 0; i < ARRAY_SIZE (system_ns); i++)
    add_namespace (&b, ns_seen, system_ns[i]);
  for (size_t i = 0; i < o->n_workloads; i++)
    add_namespace (&b, ns_seen, o->workloads[i].ns);
  for (size_t i = 0; i < o->n_pods; i++)
    add_namespace (&b, ns_seen, o->pods[i].ns);
  for (size_t i = 0; i < o->n_services; i++)
    add_namespace (&b, ns_seen, o->services[i].ns);
  json_decref (ns_seen);

  for (size_t i = 0; i < o->n_nodes; i++)
    add_node (&b, o, &o->nodes[i]);
  /* Owners first: a pod's ownerReference carries its replicaset's uid. */
  json_t *rs_by_key = json_object ();
  struct pod_counts *counts = xcalloc (o->n_workloads + 1, sizeof *counts);
  count_pods (o, counts);
  for (size_t i = 0; i < o->n_workloads; i++)
    {
      json_t *rs = add_workload (&b, o, &o->workloads[i], &counts[i], rs_by_key);
      cleanup_free char *key = xasprintf ("%s/%s", o->workloads[i].ns,
                                          json_string_value (json_object_get (json_object_get (rs, "metadata"), "name")));
      json_object_set (rs_by_key, key, rs);
    }
  free (counts);
  /* Pods by "ns/name" for the endpoints' targetRefs. */
  json_t *pods_by_key = json_object ();
  for (size_t i = 0; i < o->n_pods; i++)
    {
      const struct lab_pod *p = &o->pods[i];
      cleanup_free char *rs_key = p->replicaset                     ? xasprintf ("%s/%s", p->ns, p->replicaset)
                                  : p->owner.kind == OBJ_DAEMONSET ? xasprintf ("%s/%s", p->ns, p->owner.name)
                                                                   : NULL;
      json_t *pod = add_pod (&b, o, p, rs_key ? json_object_get (rs_by_key, rs_key) : NULL);
      cleanup_free char *key = xasprintf ("%s/%s", p->ns, p->name);
      json_object_set (pods_by_key, key, pod);
    }
  /* Endpoints name pods of the service's own namespace: those by name,
   * made once per namespace. */
  json_t *local_by_ns = json_object ();
  for (size_t i = 0; i < o->n_services; i++)
    {
      json_t *local = json_object_get (local_by_ns, o->services[i].ns);
      if (local == NULL)
        {
          local = json_object ();
          const char *key;
          json_t *pod;
          size_t nslen = strlen (o->services[i].ns);
          json_object_foreach (pods_by_key, key, pod)
            if (strncmp (key, o->services[i].ns, nslen) == 0 && key[nslen] == '/')
              json_object_set (local, key + nslen + 1, pod);
          json_object_set_new (local_by_ns, o->services[i].ns, local);
        }
      add_service (&b, &o->services[i], local);
    }
  json_decref (local_by_ns);
  json_decref (rs_by_key);
  json_decref (pods_by_key);
  return b.items;
}
