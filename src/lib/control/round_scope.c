/* The scope of a pod/endpoint round (see round_scope.h). */
#include "control/round_scope.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"

static char *
key_of (const char *ns, const char *name)
{
  return xasprintf ("%s/%s", ns ? ns : "", name ? name : "");
}

static void
add (struct strmap *m, const char *ns, const char *name)
{
  cleanup_free char *k = key_of (ns, name);
  strmap_put (m, k, (void *) 1);
}

static bool
has (const struct strmap *m, const char *ns, const char *name)
{
  cleanup_free char *k = key_of (ns, name);
  return strmap_get (m, k) != NULL;
}

static bool
same_str (const char *a, const char *b)
{
  return (a == NULL && b == NULL) || (a && b && strcmp (a, b) == 0);
}

/* The scenario workload a pod belongs to (NULL: a bare pod). */
static const char *
pod_workload (const struct lab_pod *p)
{
  return p->owner.kind == OBJ_DEPLOYMENT || p->owner.kind == OBJ_REPLICASET ? p->owner.name : NULL;
}

static bool
selects (const struct lab_service *s, const struct lab_pod *p)
{
  if (s->n_selector == 0 || strcmp (s->ns, p->ns) != 0)
    return false;
  for (size_t i = 0; i < s->n_selector; i++)
    {
      bool found = false;
      for (size_t k = 0; k < p->n_labels && !found; k++)
        found = strcmp (p->labels[k].key, s->selector[i].key) == 0
                && strcmp (p->labels[k].value, s->selector[i].value) == 0;
      if (!found)
        return false;
    }
  return true;
}

/* What the store and the rules show of a pod, the same in both plans. */
static bool
same_pod (const struct lab_pod *a, const struct lab_pod *b)
{
  return a->ip == b->ip && a->ready == b->ready && a->owner.kind == b->owner.kind
         && same_str (a->owner.name, b->owner.name) && same_str (a->replicaset, b->replicaset)
         && same_str (a->node, b->node) && same_str (a->netns, b->netns) && same_str (a->host_veth, b->host_veth)
         && a->n_labels == b->n_labels;
}

static const struct lab_pod *
find_pod (const struct strmap *index, const struct lab_objects *o, const char *ns, const char *name)
{
  cleanup_free char *k = key_of (ns, name);
  uintptr_t at = (uintptr_t) strmap_get (index, k);
  return at ? &o->pods[at - 1] : NULL;
}

static void
index_pods (struct strmap *m, const struct lab_objects *o)
{
  strmap_init (m);
  for (size_t i = 0; i < o->n_pods; i++)
    {
      cleanup_free char *k = key_of (o->pods[i].ns, o->pods[i].name);
      strmap_put (m, k, (void *) (uintptr_t) (i + 1));
    }
}

void
round_scope_free (struct round_scope *sc)
{
  strmap_free (&sc->pods);
  strmap_free (&sc->workloads);
  strmap_free (&sc->services);
  strmap_init (&sc->pods);
  strmap_init (&sc->workloads);
  strmap_init (&sc->services);
}

/* Add every pod of O that a scoped workload owns or a scoped service
 * selects, and every scoped pod's workload; true when something was added. */
static bool
close_over (const struct lab_objects *o, struct round_scope *sc)
{
  size_t before = sc->pods.n + sc->workloads.n;
  const struct lab_service **svcs = xcalloc (o->n_services + 1, sizeof *svcs);
  size_t n_svcs = 0;
  for (size_t s = 0; s < o->n_services; s++)
    if (has (&sc->services, o->services[s].ns, o->services[s].name))
      svcs[n_svcs++] = &o->services[s];
  for (size_t i = 0; i < o->n_pods; i++)
    {
      const struct lab_pod *p = &o->pods[i];
      const char *w = pod_workload (p);
      bool in = has (&sc->pods, p->ns, p->name) || (w && has (&sc->workloads, p->ns, w));
      for (size_t s = 0; !in && s < n_svcs; s++)
        in = selects (svcs[s], p);
      if (!in)
        continue;
      add (&sc->pods, p->ns, p->name);
      if (w)
        add (&sc->workloads, p->ns, w);
    }
  free (svcs);
  return sc->pods.n + sc->workloads.n != before;
}

bool
round_scope_find (const struct lab_objects *old, const struct lab_objects *new, const bool *status_changed,
                  const json_t *store_changed, struct round_scope *out)
{
  strmap_init (&out->pods);
  strmap_init (&out->workloads);
  strmap_init (&out->services);
  if (old->n_nodes != new->n_nodes || old->n_services != new->n_services || old->n_workloads != new->n_workloads)
    return false;
  for (size_t i = 0; i < new->n_nodes; i++)
    if (strcmp (old->nodes[i].name, new->nodes[i].name) != 0)
      return false;
  for (size_t i = 0; i < new->n_services; i++)
    if (strcmp (old->services[i].ns, new->services[i].ns) != 0
        || strcmp (old->services[i].name, new->services[i].name) != 0)
      return false;
  for (size_t i = 0; i < new->n_workloads; i++)
    {
      const struct lab_workload *a = &old->workloads[i], *b = &new->workloads[i];
      if (a->kind != b->kind || strcmp (a->ns, b->ns) != 0 || strcmp (a->name, b->name) != 0)
        return false;
      /* and a deployment's ReplicaSets as its controller has them (one
       * cleaned up, one scaled without a pod yet) */
      bool same_rs = a->new_replicas == b->new_replicas && a->revision == b->revision && a->n_old_rs == b->n_old_rs
                     && a->rollout.max_surge == b->rollout.max_surge
                     && a->rollout.max_unavailable == b->rollout.max_unavailable
                     && a->rollout.paused == b->rollout.paused
                     && a->rollout.deadline_exceeded == b->rollout.deadline_exceeded;
      for (size_t k = 0; same_rs && k < a->n_old_rs; k++)
        same_rs = strcmp (a->old_rs[k].hash, b->old_rs[k].hash) == 0 && a->old_rs[k].replicas == b->old_rs[k].replicas
                  && a->old_rs[k].revision == b->old_rs[k].revision;
      if (a->replicas != b->replicas || !same_str (a->pod_template_hash, b->pod_template_hash)
          || !same_str (a->image, b->image) || !same_rs)
        add (&out->workloads, b->ns, b->name);
    }
  /* The pods that changed, on both sides. */
  struct strmap old_ix, new_ix;
  index_pods (&old_ix, old);
  index_pods (&new_ix, new);
  bool ok = true;
  for (size_t i = 0; ok && i < new->n_pods; i++)
    {
      const struct lab_pod *p = &new->pods[i], *was = find_pod (&old_ix, old, p->ns, p->name);
      if (was && same_pod (was, p) && !(status_changed && status_changed[i]))
        continue;
      ok = p->owner.kind != OBJ_DAEMONSET && !(was && was->owner.kind == OBJ_DAEMONSET);
      add (&out->pods, p->ns, p->name);
    }
  for (size_t i = 0; ok && i < old->n_pods; i++)
    {
      const struct lab_pod *p = &old->pods[i];
      if (find_pod (&new_ix, new, p->ns, p->name))
        continue;
      ok = p->owner.kind != OBJ_DAEMONSET;
      add (&out->pods, p->ns, p->name);
    }
  /* What was written to the store since: its objects are compared again. */
  for (size_t i = 0; ok && i < json_array_size (store_changed); i++)
    {
      const json_t *row = json_array_get (store_changed, i);
      const char *kind = json_string_value (json_object_get (row, "kind"));
      const json_t *meta = json_object_get (row, "metadata");
      const char *ns = json_string_value (json_object_get (meta, "namespace"));
      const char *name = json_string_value (json_object_get (meta, "name"));
      if (kind == NULL || ns == NULL || name == NULL)
        continue;
      if (strcmp (kind, "Pod") == 0)
        {
          const struct lab_pod *p = find_pod (&new_ix, new, ns, name);
          const struct lab_pod *q = find_pod (&old_ix, old, ns, name);
          ok = !(p && p->owner.kind == OBJ_DAEMONSET) && !(q && q->owner.kind == OBJ_DAEMONSET);
          add (&out->pods, ns, name);
          continue;
        }
      /* a deployment by its name, a replicaset by its own or its deployment's (NAME-HASH) */
      for (size_t w = 0; w < new->n_workloads; w++)
        {
          const struct lab_workload *lw = &new->workloads[w];
          size_t len = strlen (lw->name);
          if (strcmp (lw->ns, ns) == 0
              && (strcmp (lw->name, name) == 0
                  || (strcmp (kind, "ReplicaSet") == 0 && strncmp (name, lw->name, len) == 0 && name[len] == '-')))
            add (&out->workloads, ns, lw->name);
        }
    }
  /* The services whose endpoints the changed pods are or were. */
  const struct lab_pod **changed = xcalloc (old->n_pods + new->n_pods + 1, sizeof *changed);
  size_t n_changed = 0;
  for (size_t side = 0; ok && side < 2; side++)
    {
      const struct lab_objects *o = side ? old : new;
      for (size_t i = 0; i < o->n_pods; i++)
        if (has (&out->pods, o->pods[i].ns, o->pods[i].name))
          changed[n_changed++] = &o->pods[i];
    }
  for (size_t s = 0; ok && s < new->n_services; s++)
    {
      bool in = false;
      for (size_t i = 0; i < n_changed && !in; i++)
        in = selects (&new->services[s], changed[i]) || selects (&old->services[s], changed[i]);
      if (in)
        add (&out->services, new->services[s].ns, new->services[s].name);
    }
  free (changed);
  strmap_free (&old_ix);
  strmap_free (&new_ix);
  if (!ok)
    {
      round_scope_free (out);
      return false;
    }
  /* Until nothing is added: a scoped workload's pods, a scoped service's
   * pods, their workloads, on both sides (a pod one side has and the other
   * not is deleted or made by the scoped sync). */
  for (bool grew = true; grew;)
    {
      /* both sides every time: no short circuit */
      bool from_new = close_over (new, out);
      bool from_old = close_over (old, out);
      grew = from_new || from_old;
    }
  return true;
}

struct lab_objects *
round_scope_view (const struct lab_objects *o, const struct round_scope *sc)
{
  struct lab_objects *v = xcalloc (1, sizeof *v);
  *v = *o;
  v->workloads = xcalloc (o->n_workloads + 1, sizeof *v->workloads);
  v->pods = xcalloc (o->n_pods + 1, sizeof *v->pods);
  v->services = xcalloc (o->n_services + 1, sizeof *v->services);
  v->n_workloads = v->n_pods = v->n_services = 0;
  for (size_t i = 0; i < o->n_workloads; i++)
    if (has (&sc->workloads, o->workloads[i].ns, o->workloads[i].name))
      v->workloads[v->n_workloads++] = o->workloads[i];
  for (size_t i = 0; i < o->n_pods; i++)
    if (has (&sc->pods, o->pods[i].ns, o->pods[i].name))
      v->pods[v->n_pods++] = o->pods[i];
  for (size_t i = 0; i < o->n_services; i++)
    if (has (&sc->services, o->services[i].ns, o->services[i].name))
      v->services[v->n_services++] = o->services[i];
  return v;
}

void
round_scope_view_free (struct lab_objects *view)
{
  if (view == NULL)
    return;
  free (view->workloads);
  free (view->pods);
  free (view->services);
  free (view);
}
