/* Events in the lab's store (see events.h). The words are the components'
 * own: the scheduler's "Successfully assigned NS/POD to NODE", kubelet's
 * "Started container NAME" and "Back-off restarting failed container NAME in
 * pod POD_NS(UID)", the ReplicaSet controller's "Created pod: NAME", the
 * Deployment controller's "Scaled up replica set RS from N to M" (seed 001's
 * describe deploy, k3s 1.34; before 1.28 it said "to M" only). */
#include "control/events.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/ipaddr.h"
#include "base/strmap.h"
#include "base/util.h"

static char *
rfc3339 (int64_t now_ns)
{
  char b[32];
  time_format_rfc3339 ((time_t) (now_ns / 1000000000), b);
  return xstrdup (b);
}

static bool
str_eq (const json_t *o, const char *key, const char *v)
{
  const char *s = json_string_value (json_object_get (o, key));
  return (s == NULL && (v == NULL || *v == '\0')) || (s && v && strcmp (s, v) == 0);
}

int
events_record (struct store *s, const struct event_def *ev, int64_t now_ns, nslab_error_t *err)
{
  const char *ns = ev->ns ? ev->ns : "default";
  cleanup_free char *uid = ev->uid ? xstrdup (ev->uid) : NULL;
  if (uid == NULL)
    {
      json_t *obj = NULL;
      if (store_get (s, ev->kind, ev->ns, ev->name, &obj, err) < 0)
        return -1;
      const char *u = json_string_value (json_object_get (json_object_get (obj, "metadata"), "uid"));
      uid = u ? xstrdup (u) : NULL;
      json_decref (obj);
    }
  cleanup_free char *ts = rfc3339 (now_ns);
  /* The event correlator: the same source, object, type, reason and
   * message is one event seen again. Only the object's own events are
   * read: the recorder names them OBJECT.<time> (below), and listing every
   * event of the namespace per event made a round that starts 100 pods
   * (400 events) take 3.9 s. */
  json_t *list = NULL;
  cleanup_free char *prefix = xasprintf ("%s.", ev->name);
  if (store_list_prefix (s, "Event", ns, prefix, &list, err) < 0)
    return -1;
  for (size_t i = 0; i < json_array_size (list); i++)
    {
      json_t *e = json_array_get (list, i), *io = json_object_get (e, "involvedObject"),
             *src = json_object_get (e, "source");
      if (str_eq (io, "kind", ev->kind) && str_eq (io, "namespace", ev->ns) && str_eq (io, "name", ev->name)
          && str_eq (io, "uid", uid) && str_eq (e, "type", ev->type) && str_eq (e, "reason", ev->reason)
          && str_eq (e, "message", ev->message) && str_eq (src, "component", ev->component)
          && str_eq (src, "host", ev->host))
        {
          json_t *copy = json_deep_copy (e);
          json_decref (list);
          json_object_set_new (copy, "count", json_integer (json_integer_value (json_object_get (copy, "count")) + 1));
          json_object_set_new (copy, "lastTimestamp", json_string (ts));
          json_object_del (json_object_get (copy, "metadata"), "resourceVersion");
          int rc = store_put (s, copy, err);
          json_decref (copy);
          return rc;
        }
    }
  json_decref (list);
  /* client-go's recorder: fmt.Sprintf("%v.%x", ref.Name, t.UnixNano()). */
  /* Events recorded in the same nanosecond get the next ones, as their
   * names are distinct on a cluster. */
  char *name = NULL;
  for (uint64_t t = (uint64_t) now_ns;; t++)
    {
      free (name);
      name = xasprintf ("%s.%" PRIx64, ev->name, t);
      json_t *there = NULL;
      if (store_get (s, "Event", ns, name, &there, err) < 0)
        {
          free (name);
          return -1;
        }
      json_decref (there);
      if (there == NULL)
        break;
    }
  json_t *io = json_pack ("{s:s, s:s, s:s}", "kind", ev->kind, "name", ev->name, "apiVersion", ev->api_version);
  if (ev->ns)
    json_object_set_new (io, "namespace", json_string (ev->ns));
  if (uid)
    json_object_set_new (io, "uid", json_string (uid));
  json_t *src = json_pack ("{s:s}", "component", ev->component);
  if (ev->host)
    json_object_set_new (src, "host", json_string (ev->host));
  json_t *e = json_pack ("{s:s, s:s, s:{s:s, s:s}, s:o, s:s, s:s, s:o, s:s, s:s, s:i, s:s, s:n, s:s, s:s}",
                         "apiVersion", "v1", "kind", "Event", "metadata", "name", name, "namespace", ns,
                         "involvedObject", io, "reason", ev->reason, "message", ev->message, "source", src,
                         "firstTimestamp", ts, "lastTimestamp", ts, "count", (json_int_t) 1, "type", ev->type,
                         "eventTime", "reportingComponent", ev->component, "reportingInstance",
                         ev->host ? ev->host : "");
  free (name);
  int rc = store_put (s, e, err);
  json_decref (e);
  return rc;
}

int
events_expire (struct store *s, time_t now, nslab_error_t *err)
{
  json_t *list = NULL;
  if (store_list (s, "Event", NULL, &list, err) < 0)
    return -1;
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < json_array_size (list); i++)
    {
      json_t *e = json_array_get (list, i), *meta = json_object_get (e, "metadata");
      time_t last = time_parse_rfc3339 (json_string_value (json_object_get (e, "lastTimestamp")));
      if (now - last > EVENTS_TTL_S)
        rc = store_delete (s, "Event", json_string_value (json_object_get (meta, "namespace")),
                           json_string_value (json_object_get (meta, "name")), err);
    }
  json_decref (list);
  return rc;
}

json_t *
events_pod_uids (struct store *s, nslab_error_t *err)
{
  /* Columns only: no pod's body is read (twice as fast at 2000 pods), and
   * no JSON value made of a pod but its uid. */
  struct stored_metas pods;
  if (store_list_meta (s, "Pod", &pods, err) < 0)
    return NULL;
  json_t *map = json_object ();
  for (size_t i = 0; i < pods.n; i++)
    if (pods.v[i].uid)
      {
        cleanup_free char *key = xasprintf ("%s/%s", pods.v[i].ns, pods.v[i].name);
        json_object_set_new (map, key, json_string (pods.v[i].uid));
      }
  stored_metas_free (&pods);
  /* And the pods deleted from the store since the loop's last round
   * (nslab delete, kubectl delete); a pod of that name in the store now is
   * a newer one, and its uid wins. */
  json_t *gone = NULL;
  if (store_deleted_pod_uids (s, &gone, err) < 0)
    {
      json_decref (map);
      return NULL;
    }
  json_object_update_missing (map, gone);
  json_decref (gone);
  return map;
}

static const char *
container_name (const struct lab_pod *p)
{
  if (p->container)
    return p->container; /* the scenario's container key */
  return p->app.kind == APP_NONE ? "pause" : "app";
}

static const char *
container_image (const struct lab_pod *p)
{
  if (p->image)
    return p->image;
  return p->app.kind == APP_HTTP      ? "nslab/http-echo"
         : p->app.kind == APP_COMMAND ? "nslab/command"
         : p->app.kind == APP_DNS     ? "nslab/coredns"
         : p->app.kind == APP_SVCLB   ? "rancher/klipper-lb:v0.4.9"
                                      : "nslab/pause";
}

static int
pod_event (struct store *s, const struct lab_pod *p, const char *uid, const char *type, const char *reason,
           const char *message, const char *component, const char *host, int64_t now_ns, nslab_error_t *err)
{
  struct event_def ev = { .kind = "Pod", .api_version = "v1", .ns = p->ns, .name = p->name, .uid = uid,
                          .type = type, .reason = reason, .message = message, .component = component,
                          .host = host };
  return events_record (s, &ev, now_ns, err);
}

/* kubelet starting the pod's containers, each in turn: Pulled, Created,
 * Started, under the names and images of the stored pod's spec (its
 * template's, for a pod of a workload made through the API), or the
 * plan's one container. */
static int
container_started (struct store *s, const struct lab_pod *p, const json_t *containers, const char *uid,
                   int64_t now_ns, nslab_error_t *err)
{
  size_t n = json_array_size (containers);
  for (size_t k = 0; k < (n ? n : 1); k++)
    {
      const json_t *c = json_array_get (containers, k);
      const char *name = json_string_value (json_object_get (c, "name"));
      const char *image = json_string_value (json_object_get (c, "image"));
      cleanup_free char *pulled = xasprintf ("Container image \"%s\" already present on machine",
                                             image ? image : container_image (p));
      cleanup_free char *created = xasprintf ("Created container %s", name ? name : container_name (p));
      cleanup_free char *started = xasprintf ("Started container %s", name ? name : container_name (p));
      if (pod_event (s, p, uid, "Normal", "Pulled", pulled, "kubelet", p->node, now_ns, err) < 0
          || pod_event (s, p, uid, "Normal", "Created", created, "kubelet", p->node, now_ns, err) < 0
          || pod_event (s, p, uid, "Normal", "Started", started, "kubelet", p->node, now_ns, err) < 0)
        return -1;
    }
  return 0;
}

int
events_container (struct store *s, const struct lab_pod *p, bool backoff, int64_t now_ns, nslab_error_t *err)
{
  json_t *obj = NULL;
  if (store_get (s, "Pod", p->ns, p->name, &obj, err) < 0)
    return -1;
  json_auto_t *pod = obj;
  const char *u = json_string_value (json_object_get (json_object_get (pod, "metadata"), "uid"));
  const json_t *containers = json_object_get (json_object_get (pod, "spec"), "containers");
  /* servicelb's pods: the plan's one event set stands for its containers */
  if (p->app.kind == APP_SVCLB)
    containers = NULL;
  if (!backoff)
    return container_started (s, p, containers, u, now_ns, err);
  const char *first = json_string_value (json_object_get (json_array_get (containers, 0), "name"));
  /* format.Pod: NAME_NAMESPACE(UID). */
  cleanup_free char *msg = xasprintf ("Back-off restarting failed container %s in pod %s_%s(%s)",
                                      first ? first : container_name (p), p->name, p->ns, u ? u : "");
  return pod_event (s, p, u, "Warning", "BackOff", msg, "kubelet", p->node, now_ns, err);
}

/* Per plan, indexed once: its pods by "ns/name" and each replicaset's
 * pod count by "ns/rs" (value count + 1, as a pointer). */
struct pod_index {
  struct strmap pods, rs; /* rs: "ns/rs" -> index + 1 in counts */
  int *counts;
};

static void
pod_index_init (struct pod_index *x, const struct lab_objects *o)
{
  strmap_init (&x->pods);
  strmap_init (&x->rs);
  x->counts = xcalloc (o->n_pods + 1, sizeof *x->counts);
  size_t n_rs = 0;
  for (size_t i = 0; i < o->n_pods; i++)
    {
      const struct lab_pod *p = &o->pods[i];
      cleanup_free char *k = xasprintf ("%s/%s", p->ns, p->name);
      strmap_put (&x->pods, k, (void *) p);
      if (p->replicaset == NULL)
        continue;
      cleanup_free char *r = xasprintf ("%s/%s", p->ns, p->replicaset);
      uintptr_t at = (uintptr_t) strmap_put (&x->rs, r, (void *) (uintptr_t) (n_rs + 1));
      if (at == n_rs + 1)
        n_rs++;
      x->counts[at - 1]++;
    }
}

static void
pod_index_free (struct pod_index *x)
{
  strmap_free (&x->pods);
  strmap_free (&x->rs);
  free (x->counts);
}

static bool
has_pod (const struct pod_index *x, const char *ns, const char *name)
{
  cleanup_free char *k = xasprintf ("%s/%s", ns, name);
  return strmap_get (&x->pods, k) != NULL;
}

static int
count_rs (const struct pod_index *x, const char *ns, const char *rs)
{
  cleanup_free char *k = xasprintf ("%s/%s", ns, rs);
  uintptr_t at = (uintptr_t) strmap_get (&x->rs, k);
  return at ? x->counts[at - 1] : 0;
}

/* The deployment controller, once per replicaset whose size changed. */
static int
scaling_events (struct store *s, const struct pod_index *before, const struct pod_index *after,
                const struct lab_objects *o, json_t *done, int64_t now_ns, nslab_error_t *err)
{
  for (size_t i = 0; i < o->n_pods; i++)
    {
      const struct lab_pod *p = &o->pods[i];
      if (p->owner.kind != OBJ_DEPLOYMENT || p->replicaset == NULL)
        continue;
      cleanup_free char *key = xasprintf ("%s/%s", p->ns, p->replicaset);
      if (json_object_get (done, key))
        continue;
      json_object_set_new (done, key, json_true ());
      int was = count_rs (before, p->ns, p->replicaset), now = count_rs (after, p->ns, p->replicaset);
      if (was == now)
        continue;
      cleanup_free char *msg = xasprintf ("Scaled %s replica set %s from %d to %d", now > was ? "up" : "down",
                                          p->replicaset, was, now);
      struct event_def ev = { .kind = "Deployment", .api_version = "apps/v1", .ns = p->ns, .name = p->owner.name,
                              .type = "Normal", .reason = "ScalingReplicaSet", .message = msg,
                              .component = "deployment-controller" };
      if (events_record (s, &ev, now_ns, err) < 0)
        return -1;
    }
  return 0;
}

/* Go's %v of a []string: [a b c]. */
static void
ips_go (struct strbuf *sb, const uint32_t *ips, size_t n)
{
  char ip[IP_STRLEN];
  sb_add (sb, "[");
  for (size_t i = 0; i < n; i++)
    sb_addf (sb, "%s%s", i ? " " : "", ip_fmt (ips[i], ip));
  sb_add (sb, "]");
}

/* k3s's servicelb (pkg/cloudprovider/servicelb.go, patchStatus) when a
 * LoadBalancer's status.loadBalancer changes: UpdatedLoadBalancer with the
 * old and new ingress IPs, or UnAvailableLoadBalancer when none is left. A
 * Service that is no LoadBalancer has no status of servicelb's. */
static int
servicelb_events (struct store *s, const struct lab_objects *before, const struct lab_objects *after, int64_t now_ns,
                  nslab_error_t *err)
{
  if (after->flavor != FLAVOR_K3S)
    return 0;
  for (size_t i = 0; i < after->n_services; i++)
    {
      const struct lab_service *sv = &after->services[i], *was = NULL;
      if (sv->type != SVC_LOAD_BALANCER)
        continue;
      for (size_t k = 0; k < before->n_services && was == NULL; k++)
        if (strcmp (before->services[k].ns, sv->ns) == 0 && strcmp (before->services[k].name, sv->name) == 0
            && before->services[k].type == SVC_LOAD_BALANCER)
          was = &before->services[k];
      size_t n_was = was ? was->n_lb_ips : 0;
      if (n_was == sv->n_lb_ips && (n_was == 0 || memcmp (was->lb_ips, sv->lb_ips, n_was * sizeof *sv->lb_ips) == 0))
        continue;
      struct strbuf msg;
      sb_init (&msg);
      struct event_def ev = { .kind = "Service", .api_version = "v1", .ns = sv->ns, .name = sv->name,
                              .component = "service-lb-controller" };
      if (sv->n_lb_ips == 0)
        {
          ev.type = "Warning";
          ev.reason = "UnAvailableLoadBalancer";
          sb_add (&msg, "There are no available nodes for LoadBalancer");
        }
      else
        {
          ev.type = "Normal";
          ev.reason = "UpdatedLoadBalancer";
          sb_add (&msg, "Updated LoadBalancer with new IPs: ");
          ips_go (&msg, was ? was->lb_ips : NULL, n_was);
          sb_add (&msg, " -> ");
          ips_go (&msg, sv->lb_ips, sv->n_lb_ips);
        }
      ev.message = msg.buf;
      int rc = events_record (s, &ev, now_ns, err);
      sb_free (&msg);
      if (rc < 0)
        return -1;
    }
  return 0;
}

int
events_round (struct store *s, const struct lab_objects *before, const struct lab_objects *after, json_t *old_uids,
              int64_t now_ns, nslab_error_t *err)
{
  struct pod_index xb, xa;
  pod_index_init (&xb, before);
  pod_index_init (&xa, after);
  json_t *done = json_object ();
  int rc = scaling_events (s, &xb, &xa, after, done, now_ns, err);
  if (rc == 0)
    rc = scaling_events (s, &xb, &xa, before, done, now_ns, err);
  json_decref (done);
  /* Gone pods: the replicaset deleted them when it shrank; kubelet stops
   * their containers. */
  for (size_t i = 0; rc == 0 && i < before->n_pods; i++)
    {
      const struct lab_pod *p = &before->pods[i];
      if (has_pod (&xa, p->ns, p->name))
        continue;
      cleanup_free char *key = xasprintf ("%s/%s", p->ns, p->name);
      const char *uid = json_string_value (json_object_get (old_uids, key));
      if (p->replicaset && count_rs (&xa, p->ns, p->replicaset) < count_rs (&xb, p->ns, p->replicaset))
        {
          cleanup_free char *msg = xasprintf ("Deleted pod: %s", p->name);
          struct event_def ev = { .kind = "ReplicaSet", .api_version = "apps/v1", .ns = p->ns,
                                  .name = p->replicaset, .type = "Normal", .reason = "SuccessfulDelete",
                                  .message = msg, .component = "replicaset-controller" };
          rc = events_record (s, &ev, now_ns, err);
        }
      cleanup_free char *msg = xasprintf ("Stopping container %s", container_name (p));
      if (rc == 0)
        rc = pod_event (s, p, uid, "Normal", "Killing", msg, "kubelet", p->node, now_ns, err);
    }
  /* New pods: created by their replicaset, scheduled, started. */
  for (size_t i = 0; rc == 0 && i < after->n_pods; i++)
    {
      const struct lab_pod *p = &after->pods[i];
      if (has_pod (&xb, p->ns, p->name))
        continue;
      if (p->replicaset)
        {
          cleanup_free char *msg = xasprintf ("Created pod: %s", p->name);
          struct event_def ev = { .kind = "ReplicaSet", .api_version = "apps/v1", .ns = p->ns,
                                  .name = p->replicaset, .type = "Normal", .reason = "SuccessfulCreate",
                                  .message = msg, .component = "replicaset-controller" };
          rc = events_record (s, &ev, now_ns, err);
        }
      cleanup_free char *msg = xasprintf ("Successfully assigned %s/%s to %s", p->ns, p->name, p->node);
      if (rc == 0)
        rc = pod_event (s, p, NULL, "Normal", "Scheduled", msg, "default-scheduler", NULL, now_ns, err);
      if (rc == 0)
        rc = events_container (s, p, false, now_ns, err);
    }
  if (rc == 0)
    rc = servicelb_events (s, before, after, now_ns, err);
  pod_index_free (&xb);
  pod_index_free (&xa);
  return rc;
}
