/* The lab's objects copied out of the model, and kubectl-style lookups over
 * them (see objects.h). */
#include "k8s/objects.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "k8s/model.h"

static char *
dup_or_null (const char *s)
{
  return s ? xstrdup (s) : NULL;
}

static enum obj_kind
owner_kind (enum workload_kind k)
{
  switch (k)
    {
    case WL_DEPLOYMENT:
      return OBJ_DEPLOYMENT;
    case WL_REPLICASET:
      return OBJ_REPLICASET;
    case WL_DAEMONSET:
      return OBJ_DAEMONSET;
    case WL_POD:
      break;
    }
  return OBJ_NONE;
}

/* Built with VEC_PUSH, so a label may be pushed onto the copy later. */
static void
copy_labels (struct label **out, size_t *n_out, const struct label *in, size_t n)
{
  *out = NULL;
  *n_out = 0;
  for (size_t i = 0; i < n; i++)
    {
      struct label *l = VEC_PUSH (*out, *n_out);
      l->key = xstrdup (in[i].key);
      l->value = xstrdup (in[i].value);
    }
}

static struct lab_endpoint *
endpoints_from_model (const struct model *m, const struct model_endpoint *me, size_t n)
{
  struct lab_endpoint *out = xcalloc (n ? n : 1, sizeof *out);
  for (size_t e = 0; e < n; e++)
    {
      out[e].ip = me[e].ip;
      out[e].port = me[e].port;
      out[e].pod = me[e].pod >= 0 ? xstrdup (m->pods[me[e].pod].name) : NULL;
      out[e].node = xstrdup (m->nodes[me[e].node].name);
    }
  return out;
}

static void
endpoints_free (struct lab_endpoint *eps, size_t n)
{
  for (size_t e = 0; e < n; e++)
    {
      free (eps[e].pod);
      free (eps[e].node);
    }
  free (eps);
}

static void
copy_service (const struct model *m, const struct model_service *ms, struct lab_service *s)
{
  s->ns = xstrdup (ms->ns);
  s->name = xstrdup (ms->name);
  s->type = ms->type;
  s->cluster_ip = ms->cluster_ip;
  s->implicit = ms->def->implicit;
  copy_labels (&s->selector, &s->n_selector, ms->def->selector, ms->def->n_selector);
  s->n_ports = ms->n_ports;
  s->ports = xcalloc (ms->n_ports ? ms->n_ports : 1, sizeof *s->ports);
  for (size_t k = 0; k < ms->n_ports; k++)
    {
      const struct model_svc_port *mp = &ms->ports[k];
      struct lab_svc_port *p = &s->ports[k];
      p->name = dup_or_null (mp->name);
      p->protocol = mp->protocol;
      p->port = mp->port;
      p->target_port = mp->target_port;
      p->node_port = mp->node_port;
      p->n_endpoints = mp->n_endpoints;
      p->endpoints = endpoints_from_model (m, mp->endpoints, mp->n_endpoints);
      p->n_not_ready = mp->n_not_ready;
      p->not_ready = endpoints_from_model (m, mp->not_ready, mp->n_not_ready);
    }
  s->n_lb_ips = ms->n_lb_ips;
  s->lb_ips = xcalloc (ms->n_lb_ips ? ms->n_lb_ips : 1, sizeof *s->lb_ips);
  if (ms->n_lb_ips)
    memcpy (s->lb_ips, ms->lb_ips, ms->n_lb_ips * sizeof *s->lb_ips);
  s->affinity_client_ip = ms->affinity_client_ip;
  s->affinity_timeout = ms->affinity_timeout;
  s->etp_local = ms->etp_local;
  s->itp_local = ms->itp_local;
  s->hc_node_port = ms->hc_node_port;
  s->lb_ip = ms->def ? ms->def->lb_ip : 0;
  s->n_external_ips = ms->n_external_ips;
  s->external_ips = xcalloc (ms->n_external_ips ? ms->n_external_ips : 1, sizeof *s->external_ips);
  if (ms->n_external_ips)
    memcpy (s->external_ips, ms->external_ips, ms->n_external_ips * sizeof *s->external_ips);
  s->n_source_ranges = ms->n_source_ranges;
  s->source_ranges = xcalloc (ms->n_source_ranges ? ms->n_source_ranges : 1, sizeof *s->source_ranges);
  if (ms->n_source_ranges)
    memcpy (s->source_ranges, ms->source_ranges, ms->n_source_ranges * sizeof *s->source_ranges);
}

struct lab_objects *
objects_from_model (const struct model *m)
{
  const struct scenario *sc = m->sc;
  struct lab_objects *o = xcalloc (1, sizeof *o);
  o->lab = xstrdup (m->lab);
  o->scenario = xstrdup (sc->files[0]);
  o->flavor = sc->cluster.flavor;
  o->pod_cidr = sc->cluster.pod_cidr;
  o->service_cidr = sc->cluster.service_cidr;
  o->dns_ip = sc->cluster.dns_ip;
  o->dns_domain = xstrdup (sc->cluster.dns_domain);
  for (size_t i = 0; i < sc->n_networks; i++)
    {
      struct lab_network *n = VEC_PUSH (o->networks, o->n_networks);
      n->name = xstrdup (sc->networks[i].name);
      n->kind = sc->networks[i].kind;
      n->cidr = sc->networks[i].cidr;
    }
  for (size_t i = 0; i < m->n_nodes; i++)
    {
      const struct model_node *mn = &m->nodes[i];
      struct lab_node *n = VEC_PUSH (o->nodes, o->n_nodes);
      n->name = xstrdup (mn->name);
      n->role = mn->role;
      n->schedulable = mn->schedulable;
      n->internal_ip = mn->internal_ip;
      n->pod_cidr = mn->pod_cidr;
      memcpy (n->vtep_mac, mn->vtep_mac, 6);
      n->netns = xstrdup (m->netns[mn->netns].name);
    }
  for (size_t i = 0; i < m->n_pods; i++)
    {
      const struct model_pod *mp = &m->pods[i];
      struct lab_pod *p = VEC_PUSH (o->pods, o->n_pods);
      p->ns = xstrdup (mp->ns);
      p->name = xstrdup (mp->name);
      p->owner.kind = owner_kind (mp->wl->kind);
      if (p->owner.kind != OBJ_NONE)
        {
          p->owner.ns = xstrdup (mp->wl->ns);
          p->owner.name = xstrdup (mp->wl->name);
        }
      p->replicaset = dup_or_null (mp->replicaset);
      p->ip = mp->ip;
      p->node = xstrdup (m->nodes[mp->node].name);
      p->host_veth = xstrdup (mp->host_veth);
      p->netns = xstrdup (m->netns[mp->netns].name);
      const struct app_def *app = mp->old_app ? mp->old_app : &mp->wl->app;
      p->app.kind = app->kind;
      p->app.port = app->port;
      p->app.command = dup_or_null (app->command);
      p->image = dup_or_null (mp->wl->image);
      p->container = dup_or_null (mp->wl->container);
      p->privileged = mp->wl->privileged;
      p->cap_add = mp->wl->cap_add;
      p->restart_policy = mp->wl->restart_policy;
      p->ready = mp->ready;
      p->readiness.kind = mp->wl->readiness.kind;
      p->readiness.port = mp->wl->readiness.port;
      p->readiness.path = dup_or_null (mp->wl->readiness.path);
      /* a live deployment pod keeps the probe it was made with; without
       * one known, an old ReplicaSet's pod takes its own app's default */
      if (mp->old_readiness)
        {
          free (p->readiness.path);
          p->readiness.kind = mp->old_readiness->kind;
          p->readiness.port = mp->old_readiness->port;
          p->readiness.path = dup_or_null (mp->old_readiness->path);
        }
      else if (mp->old_app && !mp->wl->readiness_set)
        {
          p->readiness.kind = mp->old_app->kind == APP_HTTP ? PROBE_TCP : PROBE_NONE;
          p->readiness.port = mp->old_app->kind == APP_HTTP ? mp->old_app->port : 0;
        }
      copy_labels (&p->labels, &p->n_labels, mp->wl->labels, mp->wl->n_labels);
      if (mp->wl->kind == WL_DEPLOYMENT)
        {
          /* The deployment controller adds the hash to each pod's labels. */
          const char *hash = strrchr (mp->replicaset, '-') + 1;
          struct label *l = VEC_PUSH (p->labels, p->n_labels);
          l->key = xstrdup ("pod-template-hash");
          l->value = xstrdup (hash);
        }
    }
  for (size_t i = 0; i < sc->n_workloads; i++)
    {
      const struct workload_def *wd = &sc->workloads[i];
      if (wd->kind == WL_POD)
        continue;
      struct lab_workload *w = VEC_PUSH (o->workloads, o->n_workloads);
      w->kind = owner_kind (wd->kind);
      w->ns = xstrdup (wd->ns);
      w->name = xstrdup (wd->name);
      copy_labels (&w->labels, &w->n_labels, wd->labels, wd->n_labels);
      w->replicas = wd->replicas;
      w->app.kind = wd->app.kind;
      w->app.port = wd->app.port;
      w->app.command = dup_or_null (wd->app.command);
      w->image = dup_or_null (wd->image);
      w->container = dup_or_null (wd->container);
      w->privileged = wd->privileged;
      w->cap_add = wd->cap_add;
      w->new_replicas = wd->replicas;
      if (wd->kind == WL_DEPLOYMENT && i < m->n_rs_sets)
        {
          w->pod_template_hash = xstrdup (m->new_rs[i].hash);
          w->new_replicas = m->new_rs[i].replicas;
          w->revision = m->new_rs[i].revision;
          w->rollout = m->rollout_spec[i];
          for (size_t k = 0; k < m->n_old_rs[i]; k++)
            {
              struct lab_old_rs *r = VEC_PUSH (w->old_rs, w->n_old_rs);
              r->hash = xstrdup (m->old_rs[i][k].hash);
              r->replicas = m->old_rs[i][k].replicas;
              r->revision = m->old_rs[i][k].revision;
            }
        }
    }
  for (size_t i = 0; i < m->n_services; i++)
    copy_service (m, &m->services[i], VEC_PUSH (o->services, o->n_services));
  return o;
}

static void
ref_free (struct obj_ref *r)
{
  free (r->ns);
  free (r->name);
}

void
objects_free (struct lab_objects *o)
{
  if (o == NULL)
    return;
  for (size_t i = 0; i < o->n_networks; i++)
    free (o->networks[i].name);
  free (o->networks);
  for (size_t i = 0; i < o->n_nodes; i++)
    {
      free (o->nodes[i].name);
      free (o->nodes[i].netns);
    }
  free (o->nodes);
  for (size_t i = 0; i < o->n_pods; i++)
    {
      struct lab_pod *p = &o->pods[i];
      free (p->ns);
      free (p->name);
      ref_free (&p->owner);
      free (p->replicaset);
      free (p->node);
      free (p->host_veth);
      free (p->netns);
      free (p->app.command);
      free (p->image);
      free (p->container);
      free (p->readiness.path);
      labels_free (p->labels, p->n_labels);
    }
  free (o->pods);
  for (size_t i = 0; i < o->n_workloads; i++)
    {
      struct lab_workload *w = &o->workloads[i];
      free (w->ns);
      free (w->name);
      labels_free (w->labels, w->n_labels);
      free (w->pod_template_hash);
      for (size_t k = 0; k < w->n_old_rs; k++)
        free (w->old_rs[k].hash);
      free (w->old_rs);
      free (w->app.command);
      free (w->image);
      free (w->container);
    }
  free (o->workloads);
  for (size_t i = 0; i < o->n_services; i++)
    {
      struct lab_service *s = &o->services[i];
      free (s->ns);
      free (s->name);
      labels_free (s->selector, s->n_selector);
      for (size_t k = 0; k < s->n_ports; k++)
        {
          endpoints_free (s->ports[k].endpoints, s->ports[k].n_endpoints);
          endpoints_free (s->ports[k].not_ready, s->ports[k].n_not_ready);
          free (s->ports[k].name);
        }
      free (s->ports);
      free (s->lb_ips);
      free (s->external_ips);
      free (s->source_ranges);
    }
  free (o->services);
  free (o->lab);
  free (o->scenario);
  free (o->dns_domain);
  free (o);
}

const char *
obj_kind_name (enum obj_kind k)
{
  switch (k)
    {
    case OBJ_NODE:
      return "node";
    case OBJ_POD:
      return "pod";
    case OBJ_DEPLOYMENT:
      return "deployment";
    case OBJ_REPLICASET:
      return "replicaset";
    case OBJ_SERVICE:
      return "service";
    case OBJ_DAEMONSET:
      return "daemonset";
    case OBJ_NONE:
      break;
    }
  return "none";
}

const struct lab_node *
objects_find_node (const struct lab_objects *o, const char *name)
{
  for (size_t i = 0; i < o->n_nodes; i++)
    if (strcmp (o->nodes[i].name, name) == 0)
      return &o->nodes[i];
  return NULL;
}

static bool
pod_matches (const struct lab_pod *p, enum obj_kind kind, const char *name)
{
  switch (kind)
    {
    case OBJ_POD:
      return strcmp (p->name, name) == 0;
    case OBJ_DEPLOYMENT:
      return p->owner.kind == OBJ_DEPLOYMENT && strcmp (p->owner.name, name) == 0;
    case OBJ_REPLICASET:
      return p->replicaset && strcmp (p->replicaset, name) == 0;
    case OBJ_DAEMONSET:
      return p->owner.kind == OBJ_DAEMONSET && strcmp (p->owner.name, name) == 0;
    case OBJ_NONE:
    case OBJ_NODE:
    case OBJ_SERVICE:
      break;
    }
  return false;
}

const struct lab_pod *
objects_find_pod (const struct lab_objects *o, enum obj_kind kind, const char *ns, const char *name)
{
  const struct lab_pod *best = NULL;
  for (size_t i = 0; i < o->n_pods; i++)
    {
      const struct lab_pod *p = &o->pods[i];
      if (strcmp (p->ns, ns) == 0 && pod_matches (p, kind, name)
          && (best == NULL || strcmp (p->name, best->name) < 0))
        best = p;
    }
  return best;
}

static bool
listed (char **list, size_t n, const char *s)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp (list[i], s) == 0)
      return true;
  return false;
}

char *
objects_targets_hint (const struct lab_objects *o, size_t max_pods)
{
  struct strbuf sb;
  sb_init (&sb);
  sb_add (&sb, "valid targets: host");
  for (size_t i = 0; i < o->n_nodes; i++)
    sb_addf (&sb, ", node/%s", o->nodes[i].name);
  char **namespaces = NULL;
  size_t n_ns = 0;
  for (size_t i = 0; i < o->n_pods; i++)
    if (!listed (namespaces, n_ns, o->pods[i].ns))
      *VEC_PUSH (namespaces, n_ns) = o->pods[i].ns;
  for (size_t k = 0; k < n_ns; k++)
    {
      char **owners = NULL;
      size_t n_owners = 0, shown = 0;
      sb_addf (&sb, "\n  -n %s:", namespaces[k]);
      for (size_t i = 0; i < o->n_pods; i++)
        {
          const struct lab_pod *p = &o->pods[i];
          if (strcmp (p->ns, namespaces[k]) != 0 || p->owner.kind == OBJ_NONE)
            continue;
          cleanup_free char *ref = xasprintf ("%s/%s", p->owner.kind == OBJ_DEPLOYMENT ? "deploy" : "rs",
                                              p->owner.name);
          if (!listed (owners, n_owners, ref))
            {
              sb_addf (&sb, " %s", ref);
              *VEC_PUSH (owners, n_owners) = ref;
              ref = NULL;
            }
        }
      for (size_t i = 0; i < o->n_pods; i++)
        if (strcmp (o->pods[i].ns, namespaces[k]) == 0 && shown++ < max_pods)
          sb_addf (&sb, " pod/%s", o->pods[i].name);
      if (shown > max_pods)
        sb_addf (&sb, " (and %zu more pods)", shown - max_pods);
      for (size_t i = 0; i < n_owners; i++)
        free (owners[i]);
      free (owners);
    }
  free (namespaces);
  return sb_steal (&sb);
}
