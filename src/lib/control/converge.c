/* Planning and applying one round of the control loop (see converge.h). */
#include "control/converge.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <sys/stat.h>

#include "base/hash.h"
#include "base/json.h"
#include "base/strmap.h"
#include "base/util.h"
#include "k8s/model.h"
#include "k8s/names.h"
#include "k8s/pod_template.h"
#include "k8s/rollout.h"
#include "kernel/iptables.h"
#include "kernel/nftables.h"
#include "plan/kube_proxy_nftables.h"
#include "plan/kube_proxy_sync.h"
#include "plan/op.h"
#include "state/journal.h"
#include "state/snapshot.h"
#include "state/state.h"

/* Stable partition: the kept first, in their order; returns how many. The
 * left-out stay behind them so scenario_free still frees them. */
#define PARTITION(arr, n, keep)                                                                                    \
  do                                                                                                               \
    {                                                                                                              \
      size_t k_ = 0;                                                                                               \
      __typeof__ (*(arr)) *tmp_ = xcalloc ((n) + 1, sizeof *tmp_);                                                 \
      for (size_t i_ = 0; i_ < (n); i_++)                                                                          \
        if ((keep)[i_])                                                                                            \
          tmp_[k_++] = (arr)[i_];                                                                                  \
      size_t kept_ = k_;                                                                                           \
      for (size_t i_ = 0; i_ < (n); i_++)                                                                          \
        if (!(keep)[i_])                                                                                           \
          tmp_[k_++] = (arr)[i_];                                                                                  \
      if ((n) > 0)                                                                                                 \
        memcpy ((arr), tmp_, (n) * sizeof *tmp_);                                                                  \
      free (tmp_);                                                                                                 \
      (n) = kept_;                                                                                                 \
    }                                                                                                              \
  while (0)

static const char *
workload_kind (enum workload_kind k)
{
  return k == WL_DEPLOYMENT ? "Deployment" : k == WL_REPLICASET ? "ReplicaSet" : k == WL_DAEMONSET ? "DaemonSet" : "Pod";
}

/* The scenario as the store says now. */
static int
adjust_scenario (struct scenario *sc, struct store *s, const struct lab_objects *o, struct stored_metas *pods,
                 nslab_error_t *err)
{
  int rc = 0;
  /* Each kind listed once, and only when the scenario has one. */
  bool want[2] = { false, false };
  for (size_t i = 0; i < sc->n_workloads; i++)
    if (sc->workloads[i].kind == WL_DEPLOYMENT || sc->workloads[i].kind == WL_REPLICASET)
      want[sc->workloads[i].kind == WL_DEPLOYMENT ? 0 : 1] = true;
  cleanup_stored_metas struct stored_metas deploys = { 0 }, rsets = { 0 }, svcs = { 0 };
  if (want[0] && store_list_meta (s, "Deployment", &deploys, err) < 0)
    rc = -1;
  if (rc == 0 && want[1] && store_list_meta (s, "ReplicaSet", &rsets, err) < 0)
    rc = -1;
  /* Of pods only which exist (and their uids and creation times) matters
   * here, of workloads their replicas, of services their type. */
  if (rc == 0 && store_list_meta (s, "Pod", pods, err) < 0)
    rc = -1;
  if (rc == 0 && sc->n_services && store_list_meta (s, "Service", &svcs, err) < 0)
    rc = -1;
  if (rc < 0)
    return -1;
  bool *keep = xcalloc (sc->n_workloads + sc->n_services + 1, sizeof *keep);
  for (size_t i = 0; rc == 0 && i < sc->n_workloads; i++)
    {
      struct workload_def *w = &sc->workloads[i];
      const struct stored_meta *obj
          = w->kind == WL_DAEMONSET ? NULL
                                    : stored_metas_get (w->kind == WL_DEPLOYMENT   ? &deploys
                                                        : w->kind == WL_REPLICASET ? &rsets
                                                                                   : pods,
                                                        w->ns, w->name);
      keep[i] = obj != NULL;
      /* servicelb's DaemonSet follows its LoadBalancer (made for a new
       * one, deleted with it, made again if deleted alone). */
      if (w->kind == WL_DAEMONSET)
        {
          const struct stored_meta *svc = stored_metas_get (&svcs, w->lb_svc_ns, w->lb_svc_name);
          keep[i] = svc && svc->type && strcmp (svc->type, "LoadBalancer") == 0;
          continue;
        }
      if (obj && w->kind != WL_POD && obj->has_replicas)
        w->replicas = obj->replicas < 0 ? 0 : obj->replicas > INT_MAX ? INT_MAX : (int) obj->replicas;
    }
  if (rc == 0)
    PARTITION (sc->workloads, sc->n_workloads, keep);
  memset (keep, 0, (sc->n_workloads + sc->n_services + 1) * sizeof *keep);
  /* The applied services by "ns/name" (a name holds no '/'), so that
   * matching each section is not a pass over all of them. */
  struct strmap applied;
  strmap_init (&applied);
  for (size_t k = 0; k < o->n_services; k++)
    {
      cleanup_free char *key = xasprintf ("%s/%s", o->services[k].ns, o->services[k].name);
      strmap_claim (&applied, key, k);
    }
  for (size_t i = 0; rc == 0 && i < sc->n_services; i++)
    {
      struct service_def *d = &sc->services[i];
      /* default/kubernetes is the API server's own: its bootstrap
       * controller makes it again (same ClusterIP, its EndpointSlice)
       * when it is deleted. */
      keep[i] = stored_metas_get (&svcs, d->ns, d->name) != NULL
                || (d->implicit && strcmp (d->ns, "default") == 0 && strcmp (d->name, "kubernetes") == 0);
      /* An existing service keeps its ClusterIP and NodePorts, as the
       * apiserver keeps them across updates. */
      cleanup_free char *key = xasprintf ("%s/%s", d->ns, d->name);
      size_t k;
      if (keep[i] && strmap_owner (&applied, key, &k))
        {
          const struct lab_service *ls = &o->services[k];
          if (!d->cluster_ip && !d->headless)
            d->cluster_ip = ls->cluster_ip;
          for (size_t p = 0; p < d->n_ports; p++)
            for (size_t q = 0; q < ls->n_ports; q++)
              if (!d->ports[p].node_port && ls->ports[q].node_port && ls->ports[q].port == d->ports[p].port
                  && ls->ports[q].protocol == d->ports[p].protocol && d->type != SVC_CLUSTER_IP)
                d->ports[p].node_port = ls->ports[q].node_port;
          /* So do its health-check node port and its load-balancer
           * address (MetalLB keeps an assigned address too). */
          if (!d->hc_node_port && ls->hc_node_port && d->type == SVC_LOAD_BALANCER && d->etp_local)
            d->hc_node_port = ls->hc_node_port;
          if (!d->lb_ip && d->type == SVC_LOAD_BALANCER && ls->type == SVC_LOAD_BALANCER && ls->n_lb_ips > 0
              && sc->cluster.lb_pool.len > 0 && cidr_contains (sc->cluster.lb_pool, ls->lb_ips[0]))
            d->lb_ip = ls->lb_ips[0];
        }
    }
  strmap_free (&applied);
  if (rc == 0)
    PARTITION (sc->services, sc->n_services, keep);
  free (keep);
  return rc;
}

/* ---- the live pods ---- */

struct live_buf {
  struct model_live live;
  json_t *meta_writes;   /* store meta keys -> values the round's rollouts set */
  json_t *meta;          /* the store's rollout/ meta keys -> values, read once per round */
  struct strmap *memos;  /* the scenario cache's deploy_memos, or NULL */
  struct stored_metas deploys; /* the stored Deployments (uid, resourceVersion) */
  struct model_rs **old_rs; /* per workload, its deployment's old replicasets */
  char (*new_hash)[11];
  bool again;            /* a rollout took a step: the next round takes the next */
  time_t wake_at;        /* the earliest progress deadline of a rollout (0: none) */
  struct model_live_pod *pods;
  struct model_live_node *nodes;
  struct model_live_workload *workloads;
  uint64_t *stored_ipam, *stored_serial; /* the meta values read (0: none) */
  char **keys;     /* strings the live structs borrow */
  size_t n_keys;
};

static const char *
keep_str (struct live_buf *b, char *s)
{
  *VEC_PUSH (b->keys, b->n_keys) = s;
  return s;
}

static void
live_buf_free (struct live_buf *b)
{
  free (b->pods);
  free (b->nodes);
  free (b->workloads);
  free (b->stored_ipam);
  free (b->stored_serial);
  json_decref (b->meta_writes);
  json_decref (b->meta);
  stored_metas_free (&b->deploys);
  for (size_t i = 0; b->old_rs && i < b->live.n_workloads; i++)
    free (b->old_rs[i]);
  free (b->old_rs);
  free (b->new_hash);
  for (size_t i = 0; i < b->n_keys; i++)
    free (b->keys[i]);
  free (b->keys);
}

static int64_t
parse_time_ns (const char *s)
{
  return (int64_t) time_parse_rfc3339 (s) * 1000000000;
}

static enum workload_kind
owner_workload (const struct lab_pod *p)
{
  return p->owner.kind == OBJ_DEPLOYMENT    ? WL_DEPLOYMENT
         : p->owner.kind == OBJ_REPLICASET ? WL_REPLICASET
         : p->owner.kind == OBJ_DAEMONSET  ? WL_DAEMONSET
                                           : WL_POD;
}

/* The pods of APPLIED the store still has (a pod deleted from the store is
 * not live: its workload gets a new one), with kubelet's readiness; per
 * node, host-local's last reserved address; per workload, the next name
 * serial. The last two live in the store's meta table; before the first
 * round they are what up allocated (host-local hands out addresses in
 * order, so the highest one is the last reserved). */
static int
converge_live (struct store *s, const struct plan *applied, const bool *ready, const struct scenario *sc,
               const struct stored_metas *stored, struct live_buf *b, nslab_error_t *err)
{
  const struct lab_objects *o = applied->objects;
  b->pods = xcalloc (o->n_pods + 1, sizeof *b->pods);
  b->nodes = xcalloc (o->n_nodes + 1, sizeof *b->nodes);
  b->workloads = xcalloc (sc->n_workloads + 1, sizeof *b->workloads);
  b->stored_ipam = xcalloc (o->n_nodes + 1, sizeof *b->stored_ipam);
  b->stored_serial = xcalloc (sc->n_workloads + 1, sizeof *b->stored_serial);
  size_t np = 0;
  for (size_t i = 0; i < o->n_pods; i++)
    {
      const struct lab_pod *p = &o->pods[i];
      const struct stored_meta *obj = stored_metas_get (stored, p->ns, p->name);
      if (obj == NULL)
        continue;
      struct model_live_pod *lp = &b->pods[np++];
      lp->ns = p->ns;
      lp->name = p->name;
      lp->owner_kind = owner_workload (p);
      lp->owner_name = p->owner.kind == OBJ_NONE ? p->name : p->owner.name;
      lp->replicaset = p->replicaset;
      lp->node = p->node;
      lp->ip = p->ip;
      lp->host_veth = p->host_veth;
      lp->app_kind = p->app.kind;
      lp->app_port = p->app.port;
      lp->app_command = p->app.command;
      lp->ready = ready[i];
      lp->readiness_known = true;
      lp->readiness_kind = p->readiness.kind;
      lp->readiness_port = p->readiness.port;
      lp->readiness_path = p->readiness.path;
      lp->created_ns = parse_time_ns (obj->created);
      lp->uid = obj->uid ? keep_str (b, xstrdup (obj->uid)) : NULL;
    }
  for (size_t i = 0; i < o->n_nodes; i++)
    {
      struct model_live_node *ln = &b->nodes[i];
      ln->name = o->nodes[i].name;
      cleanup_free char *key = xasprintf ("ipam/%s", o->nodes[i].name);
      uint64_t v = 0;
      if (store_meta_get (s, key, &v, err) < 0)
        return -1;
      b->stored_ipam[i] = v;
      if (v == 0)
        for (size_t k = 0; k < o->n_pods; k++)
          if (strcmp (o->pods[k].node, o->nodes[i].name) == 0 && o->pods[k].ip > v)
            v = o->pods[k].ip;
      ln->last_reserved_ip = (uint32_t) v;
    }
  /* Every workload's serial in one read, not a statement per workload. */
  json_t *serials = NULL;
  if (sc->n_workloads && store_meta_list_prefix (s, "serial/", &serials, err) < 0)
    return -1;
  for (size_t i = 0; i < sc->n_workloads; i++)
    {
      const struct workload_def *w = &sc->workloads[i];
      struct model_live_workload *lw = &b->workloads[i];
      lw->kind = w->kind;
      lw->ns = w->ns;
      lw->name = w->name;
      cleanup_free char *key = xasprintf ("serial/%s/%s/%s", workload_kind (w->kind), w->ns, w->name);
      uint64_t v = (uint64_t) json_integer_value (json_object_get (serials, key));
      b->stored_serial[i] = v;
      if (v == 0)
        /* up named its pods with serials 0 .. replicas-1 */
        for (size_t k = 0; k < o->n_pods; k++)
          if (owner_workload (&o->pods[k]) == w->kind && strcmp (o->pods[k].ns, w->ns) == 0
              && strcmp (o->pods[k].owner.kind == OBJ_NONE ? o->pods[k].name : o->pods[k].owner.name, w->name) == 0)
            v++;
      lw->next_serial = (uint32_t) v;
    }
  json_decref (serials);
  b->live = (struct model_live) { .pods = b->pods, .n_pods = np, .nodes = b->nodes, .n_nodes = o->n_nodes,
                                  .workloads = b->workloads, .n_workloads = sc->n_workloads,
                                  .now_ns = (int64_t) time (NULL) * 1000000000 };
  return 0;
}

/* What the next round continues from: written where it is not what
 * converge_live read. */
static int
save_allocators (struct store *s, const struct model *m, const struct live_buf *b, nslab_error_t *err)
{
  const char *mk;
  json_t *mv;
  json_object_foreach (b->meta_writes, mk, mv)
    if ((json_is_null (mv) ? store_meta_delete (s, mk, err) : store_meta_set (s, mk, (uint64_t) json_integer_value (mv), err))
        < 0)
      return -1;
  for (size_t i = 0; i < m->n_nodes; i++)
    if (m->nodes[i].last_reserved_ip)
      {
        /* converge_live's nodes are the applied plan's, by name */
        uint64_t was = 0;
        for (size_t k = 0; k < b->live.n_nodes; k++)
          if (strcmp (b->nodes[k].name, m->nodes[i].name) == 0)
            was = b->stored_ipam[k];
        if (was == m->nodes[i].last_reserved_ip)
          continue;
        cleanup_free char *key = xasprintf ("ipam/%s", m->nodes[i].name);
        if (store_meta_set (s, key, m->nodes[i].last_reserved_ip, err) < 0)
          return -1;
      }
  for (size_t i = 0; i < m->sc->n_workloads; i++)
    {
      const struct workload_def *w = &m->sc->workloads[i];
      /* the model's workloads are the adjusted scenario's, as converge_live's */
      if (i < b->live.n_workloads && b->stored_serial[i] != 0 && b->stored_serial[i] == m->next_serial[i])
        continue;
      cleanup_free char *key = xasprintf ("serial/%s/%s/%s", workload_kind (w->kind), w->ns, w->name);
      if (store_meta_set (s, key, m->next_serial[i], err) < 0)
        return -1;
    }
  return 0;
}

/* The parsed scenario and what adjust_scenario changes in it, as loaded:
 * the workloads and services (their order, replicas, addresses) and every
 * service's ports (their node ports). */
struct scenario_cache {
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime;
  struct scenario *sc;
  struct workload_def *workloads;
  struct service_def *services;
  size_t n_workloads, n_services;
  struct port_def *ports; /* every service's, one after the other */
  size_t n_ports;
  bool again; /* the last round took a rollout step */
  time_t wake_at; /* a rollout's progress deadline the loop must see pass (0: none) */
  /* What the rounds read of each stored Deployment, kept between rounds:
   * "ns/name" -> struct deploy_memo * (C structs, not JSON: at 1000
   * Deployments jansson's objects, arrays and numbers held ~1 MiB of the
   * loop's memory at rest for ~200 KiB of values). */
  struct strmap deploy_memos;
};

/* A Deployment's spec.strategy and the other fields its rollout reads, as
 * the API server defaulted them (strategy_of). */
struct deploy_strategy {
  struct rollout_strategy st;
  size_t history;        /* spec.revisionHistoryLimit */
  bool paused;           /* spec.paused */
  json_int_t deadline;   /* spec.progressDeadlineSeconds; 0: none */
};

/* The app a Deployment's template runs, as template_app read it. */
struct deploy_app {
  bool differs;          /* another app than the section's */
  enum app_kind kind;
  uint16_t port;
};

/* A stored Deployment as the rounds read it, valid while its
 * resourceVersion is the one read with it (the store's one monotonic
 * counter: a Deployment written again, or deleted and made again, has
 * another). A resourceVersion longer than the buffer is never kept: read
 * again each round. */
struct deploy_memo {
  bool tpl;              /* the rollout's part, read at tpl_rv */
  char tpl_rv[24];
  uint64_t fp;           /* template_fingerprint */
  struct deploy_strategy strategy;
  bool app;              /* template_app's part, read at app_rv */
  char app_rv[24];
  struct deploy_app template_app;
};

bool
scenario_cache_again (const struct scenario_cache *c)
{
  return c && (c->again || (c->wake_at && time (NULL) >= c->wake_at));
}

struct scenario_cache *
scenario_cache_new (void)
{
  return xcalloc (1, sizeof (struct scenario_cache));
}

static void
cache_drop (struct scenario_cache *c)
{
  if (c->sc)
    {
      /* scenario_free frees what the loaded arrays held, in their order */
      memcpy (c->sc->workloads, c->workloads, c->n_workloads * sizeof *c->workloads);
      memcpy (c->sc->services, c->services, c->n_services * sizeof *c->services);
      c->sc->n_workloads = c->n_workloads;
      c->sc->n_services = c->n_services;
      scenario_free (c->sc);
    }
  free (c->workloads);
  free (c->services);
  free (c->ports);
  for (size_t i = 0; i < c->deploy_memos.cap; i++)
    free (c->deploy_memos.vals ? c->deploy_memos.vals[i] : NULL);
  strmap_free (&c->deploy_memos);
  memset (c, 0, sizeof *c);
}

void
scenario_cache_free (struct scenario_cache *c)
{
  if (c == NULL)
    return;
  cache_drop (c);
  free (c);
}

/* The scenario at PATH as loaded, from the cache when the file is the one
 * it holds (put back as it was loaded), else loaded and kept. */
static int
cached_scenario (struct scenario_cache *c, const char *path, struct scenario **out, nslab_error_t *err)
{
  struct stat st;
  bool same = c->sc && stat (path, &st) == 0 && st.st_dev == c->dev && st.st_ino == c->ino && st.st_size == c->size
              && st.st_mtim.tv_sec == c->mtime.tv_sec && st.st_mtim.tv_nsec == c->mtime.tv_nsec;
  if (!same)
    {
      cache_drop (c);
      struct stat before;
      bool known = stat (path, &before) == 0;
      if (scenario_load (path, &c->sc, err) < 0)
        return -1;
      struct scenario *sc = c->sc;
      if (known)
        {
          c->dev = before.st_dev;
          c->ino = before.st_ino;
          c->size = before.st_size;
          c->mtime = before.st_mtim;
        }
      c->n_workloads = sc->n_workloads;
      c->n_services = sc->n_services;
      c->workloads = xcalloc (sc->n_workloads + 1, sizeof *c->workloads);
      memcpy (c->workloads, sc->workloads, sc->n_workloads * sizeof *sc->workloads);
      c->services = xcalloc (sc->n_services + 1, sizeof *c->services);
      memcpy (c->services, sc->services, sc->n_services * sizeof *sc->services);
      for (size_t i = 0; i < sc->n_services; i++)
        c->n_ports += sc->services[i].n_ports;
      c->ports = xcalloc (c->n_ports + 1, sizeof *c->ports);
      for (size_t i = 0, at = 0; i < sc->n_services; i++, at += sc->services[i - 1].n_ports)
        memcpy (c->ports + at, sc->services[i].ports, sc->services[i].n_ports * sizeof *c->ports);
      if (!known)
        {
          /* not stat-able: never matched, loaded afresh each round */
          c->ino = 0;
          c->size = -1;
        }
      *out = sc;
      return 0;
    }
  struct scenario *sc = c->sc;
  memcpy (sc->workloads, c->workloads, c->n_workloads * sizeof *c->workloads);
  memcpy (sc->services, c->services, c->n_services * sizeof *c->services);
  sc->n_workloads = c->n_workloads;
  sc->n_services = c->n_services;
  for (size_t i = 0, at = 0; i < sc->n_services; at += sc->services[i].n_ports, i++)
    memcpy (sc->services[i].ports, c->ports + at, sc->services[i].n_ports * sizeof *c->ports);
  *out = sc;
  return 0;
}

int
scenario_cache_load (struct scenario_cache *c, const char *path, nslab_error_t *err)
{
  struct scenario *sc = NULL;
  return cached_scenario (c, path, &sc, err);
}

/* ---- the deployment controller's rolling update ----
 * The store holds what a Deployment's ReplicaSets are (their replicas);
 * the store's meta table what nslab cannot put in them: per ReplicaSet,
 * a fingerprint of the Deployment template it was made for (the
 * EqualIgnoreHash of sync.go FindNewReplicaSet) and its revision. */

/* A Deployment's template as the API server would store it: its labels
 * and annotations, and its whole pod spec with the API server's defaults
 * (so kubectl apply of a manifest without the defaults is the same
 * template, and a change of any field of it, env, resources, volumes,
 * nodeSelector or tolerations alike, is a new one). */
static uint64_t
template_fingerprint (const json_t *deploy, char **canonical)
{
  const json_t *t = json_object_get (json_object_get (deploy, "spec"), "template");
  const json_t *meta = json_object_get (t, "metadata");
  json_t *d = json_pack ("{s:O?, s:O?, s:o}", "labels", json_object_get (meta, "labels"), "annotations",
                         json_object_get (meta, "annotations"), "spec",
                         pod_template_spec_defaulted (json_object_get (t, "spec")));
  char *text = json_dumps (d, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref (d);
  uint64_t h = fnv1a64 (text ? text : "");
  if (canonical)
    *canonical = text;
  else
    free (text);
  return h;
}

/* spec.strategy as the API server defaulted it: RollingUpdate, 25 %% /
 * 25 %% where unset; Recreate. An amount that does not parse is the
 * default (the API server would have refused it). spec.revisionHistoryLimit
 * 10 where unset, as SetDefaults_Deployment; spec.progressDeadlineSeconds
 * 600 where unset (0: none, as MaxInt32). */
static struct deploy_strategy
strategy_of (const json_t *deploy)
{
  const json_t *spec = json_object_get (deploy, "spec");
  const json_t *st = json_object_get (spec, "strategy");
  const char *type = json_string_value (json_object_get (st, "type"));
  const json_t *ru = json_object_get (st, "rollingUpdate");
  struct deploy_strategy d = { .st = { .recreate = type && strcmp (type, "Recreate") == 0,
                                       .max_surge = { true, true, 25 },
                                       .max_unavailable = { true, true, 25 } } };
  struct rollout_amount *a[2] = { &d.st.max_surge, &d.st.max_unavailable };
  const char *keys[2] = { "maxSurge", "maxUnavailable" };
  for (int i = 0; i < 2; i++)
    {
      const json_t *v = json_object_get (ru, keys[i]);
      struct rollout_amount x;
      if (json_is_integer (v) && json_integer_value (v) >= 0 && json_integer_value (v) <= 100000)
        *a[i] = (struct rollout_amount) { true, false, (int) json_integer_value (v) };
      else if (json_is_string (v) && rollout_amount_parse (json_string_value (v), &x) == 0 && x.value >= 0)
        *a[i] = x;
    }
  const json_t *hl = json_object_get (spec, "revisionHistoryLimit");
  d.history = json_is_integer (hl) && json_integer_value (hl) >= 0 ? (size_t) json_integer_value (hl) : 10;
  const json_t *pd = json_object_get (spec, "progressDeadlineSeconds");
  d.deadline = json_is_integer (pd) && json_integer_value (pd) > 0 ? json_integer_value (pd) : 600;
  if (d.deadline >= INT32_MAX)
    d.deadline = 0;
  d.paused = json_is_true (json_object_get (spec, "paused"));
  return d;
}

static void
encode_hash32 (uint32_t h, char out[11])
{
  char dec[11];
  snprintf (dec, sizeof dec, "%u", h);
  safe_encode_string (dec, out);
}

/* A rollout/ meta value as this round sees it: its own writes first (null:
 * deleted), then the store's as the round began (0: none). */
static uint64_t
meta_of (const struct live_buf *b, const char *key)
{
  json_t *w = json_object_get (b->meta_writes, key);
  if (w == NULL)
    w = json_object_get (b->meta, key);
  return (uint64_t) json_integer_value (w);
}

/* A stored Deployment's resourceVersion as text, for a memo. */
static bool
rv_text (const struct stored_meta *d, char out[24])
{
  return snprintf (out, 24, "%" PRIu64, d->resource_version) < 24;
}

/* The memo of Deployment DKEY (made empty when new), or NULL without a
 * scenario cache. */
static struct deploy_memo *
memo_of (struct live_buf *b, const char *dkey)
{
  if (b->memos == NULL)
    return NULL;
  struct deploy_memo *m = strmap_get (b->memos, dkey);
  if (m == NULL)
    m = strmap_put (b->memos, dkey, xcalloc (1, sizeof *m));
  return m;
}

struct rs_row {
  struct model_rs rs;
  uint64_t tpl;
  int available, pods; /* its live pods: ready ones, all (status.replicas) */
};

static int
cmp_revision (const void *a, const void *b)
{
  const struct rs_row *x = a, *y = b;
  return (x->rs.revision > y->rs.revision) - (x->rs.revision < y->rs.revision);
}


/* Whether OWNERS (ownerReferences as JSON text, or NULL) has a controller
 * reference to the KIND named NAME with UID. */
static bool
controlled_by (const char *owners, const char *kind, const char *name, const char *uid)
{
  json_t *refs = owners ? json_loads (owners, JSON_DECODE_ANY, NULL) : NULL;
  bool is = false;
  size_t i;
  const json_t *ref;
  json_array_foreach (refs, i, ref)
    if (json_is_true (json_object_get (ref, "controller")))
      {
        const char *k = json_string_value (json_object_get (ref, "kind"));
        const char *nm = json_string_value (json_object_get (ref, "name"));
        const char *u = json_string_value (json_object_get (ref, "uid"));
        is = k && nm && u && uid && strcmp (k, kind) == 0 && strcmp (nm, name) == 0 && strcmp (u, uid) == 0;
        break;
      }
  json_decref (refs);
  return is;
}

/* What every Deployment's sync of a round reads, read once per round:
 * the stored ReplicaSets, the live pods counted per ReplicaSet, the
 * rollout/scen records. */
struct rollout_round {
  struct stored_metas rsets;
  /* "ns/name" of a Deployment -> 1 + its index in by_deploy: the
   * ReplicaSets whose names are that Deployment's and a hash (NAME-HASH),
   * so that each Deployment's sync looks at its own few rather than at
   * every ReplicaSet of the lab. */
  struct strmap rs_group;
  struct rs_of_deploy {
    const struct stored_meta **v; /* in rsets */
    size_t n;
  } *by_deploy;
  size_t n_by_deploy;
  struct strmap rs_pods;   /* "ns/name" of a ReplicaSet -> 1 + its index in counts */
  struct rs_pod_count {
    int pods, ready;
  } *counts;
  size_t n_counts;
};

/* progress.go: whether deployment W's rollout went DEADLINE seconds (0:
 * none, or the rollout is complete or paused) without progressing (more
 * updated or available pods, fewer old ones: DeploymentProgressing), since
 * its new ReplicaSet became the new one. Its last progress is kept in
 * rollout/prog/NS/NAME (the counts, with a part of the new ReplicaSet's
 * hash) and rollout/progat/NS/NAME (when, in seconds); both go once there
 * is no deadline to watch, so the next rollout starts afresh. */
static bool
progress_deadline (const struct workload_def *w, const struct rs_row *nrs, const struct rs_row *old, size_t n_old,
                   json_int_t deadline, struct live_buf *b)
{
  cleanup_free char *pk = xasprintf ("rollout/prog/%s/%s", w->ns, w->name);
  cleanup_free char *tk = xasprintf ("rollout/progat/%s/%s", w->ns, w->name);
  uint64_t was = meta_of (b, pk), at = meta_of (b, tk);
  if (deadline == 0)
    {
      if (was || at)
        {
          json_object_set_new (b->meta_writes, pk, json_null ());
          json_object_set_new (b->meta_writes, tk, json_null ());
        }
      return false;
    }
  int old_pods = 0, available = nrs->available;
  for (size_t k = 0; k < n_old; k++)
    old_pods += old[k].pods, available += old[k].available;
#define CLAMP16(v) ((uint64_t) ((v) < 0 ? 0 : (v) > 0xffff ? 0xffff : (v)))
  uint64_t which = fnv1a64 (nrs->rs.hash) & 0x7fff;
  uint64_t now_counts = CLAMP16 (nrs->pods) | CLAMP16 (available) << 16 | CLAMP16 (old_pods) << 32 | which << 48;
#undef CLAMP16
  bool progressed = was == 0 || (was >> 48) != which || (now_counts & 0xffff) > (was & 0xffff)
                    || (now_counts >> 16 & 0xffff) > (was >> 16 & 0xffff)
                    || (now_counts >> 32 & 0xffff) < (was >> 32 & 0xffff);
  time_t now = time (NULL);
  if (progressed || at == 0)
    {
      json_object_set_new (b->meta_writes, tk, json_integer ((json_int_t) now));
      at = (uint64_t) now;
    }
  if (now_counts != was)
    json_object_set_new (b->meta_writes, pk, json_integer ((json_int_t) now_counts));
  time_t due = (time_t) at + (time_t) deadline;
  if (now > due)
    return true;
  if (b->wake_at == 0 || due + 1 < b->wake_at)
    b->wake_at = due + 1;
  return false;
}

/* rolloutRolling for deployment W (workload I): which ReplicaSet is new,
 * and one step of scaling it up or the old ones down. */
static int
rollout_deployment (struct store *s, const struct workload_def *w, size_t i, const struct rollout_round *round,
                    struct live_buf *b, nslab_error_t *err)
{
  /* The template's fingerprint: read again only when the Deployment was
   * written since. */
  char scen_hash[11];
  encode_hash32 (model_template_hash32 (w), scen_hash);
  const struct stored_meta *stored = stored_metas_get (&b->deploys, w->ns, w->name);
  if (stored == NULL)
    return 0;
  cleanup_free char *dkey = xasprintf ("%s/%s", w->ns, w->name);
  /* What the scenario's section adds that the stored template does not
   * show (nslab's readiness probe, the app behind an image) is part of the
   * template too: as nslab apply stored it with the Deployment, in one
   * transaction (the scenario file is written first, and a round between
   * the two must not see half a change), else the section's. Read each
   * round: nslab apply may change it alone. */
  cleanup_free char *sk = xasprintf ("rollout/scen/%s/%s", w->ns, w->name);
  uint64_t scen = (uint64_t) json_integer_value (json_object_get (b->meta, sk));
  if (scen == 0)
    {
      scen = fnv1a64 (scen_hash);
      json_object_set_new (b->meta_writes, sk, json_integer ((json_int_t) scen));
    }
  /* The stored template's part: read again only when the Deployment was
   * written since. */
  char rv_now[24];
  struct deploy_memo *memo = rv_text (stored, rv_now) ? memo_of (b, dkey) : NULL;
  uint64_t fp;
  struct deploy_strategy ds;
  if (memo && memo->tpl && strcmp (memo->tpl_rv, rv_now) == 0)
    fp = memo->fp, ds = memo->strategy;
  else
    {
      json_t *d = NULL;
      if (store_get (s, "Deployment", w->ns, w->name, &d, err) < 0)
        return -1;
      if (d == NULL)
        return 0;
      fp = template_fingerprint (d, NULL);
      ds = strategy_of (d);
      json_decref (d);
      if (memo)
        {
          memo->tpl = true;
          memcpy (memo->tpl_rv, rv_now, sizeof rv_now);
          memo->fp = fp;
          memo->strategy = ds;
        }
    }
  const struct rollout_strategy st = ds.st;
  const size_t history = ds.history;
  const bool paused = ds.paused;
  const json_int_t deadline = ds.deadline;
  fp = fnv1a64_mem (&scen, sizeof scen, fp);
  /* Its ReplicaSets: NAME-HASH in its namespace whose controller is this
   * Deployment (ClaimReplicaSets by ownerReference uid; a bare
   * ReplicaSet of a similar name is not one). */
  const char *uid = stored->uid;
  struct rs_row *rows = NULL;
  size_t n = 0;
  int rc = 0;
  uintptr_t group = (uintptr_t) strmap_get (&round->rs_group, dkey);
  const struct rs_of_deploy *g = group ? &round->by_deploy[group - 1] : NULL;
  for (size_t gi = 0; g && gi < g->n; gi++)
    {
      const struct stored_meta *rs = g->v[gi];
      if (!controlled_by (rs->owners, "Deployment", w->name, uid))
        continue;
      struct rs_row *r = VEC_PUSH (rows, n);
      snprintf (r->rs.hash, sizeof r->rs.hash, "%s", strrchr (rs->name, '-') + 1);
      r->rs.replicas = rs->has_replicas ? (int) rs->replicas : 0;
      cleanup_free char *tk = xasprintf ("rollout/tpl/%s/%s-%s", w->ns, w->name, r->rs.hash);
      cleanup_free char *rk = xasprintf ("rollout/rev/%s/%s-%s", w->ns, w->name, r->rs.hash);
      r->tpl = meta_of (b, tk);
      r->rs.revision = (int) meta_of (b, rk);
      if (r->rs.revision == 0)
        r->rs.revision = 1;
      cleanup_free char *key = xasprintf ("%s/%s", rs->ns, rs->name);
      uintptr_t at = (uintptr_t) strmap_get (&round->rs_pods, key);
      if (at)
        r->pods = round->counts[at - 1].pods, r->available = round->counts[at - 1].ready;
    }
  if (rc < 0)
    {
      free (rows);
      return -1;
    }
  if (n > 1)
    qsort (rows, n, sizeof *rows, cmp_revision);
  int max_rev = 0;
  bool any_tpl = false;
  ssize_t new_at = -1;
  for (size_t k = 0; k < n; k++)
    {
      max_rev = rows[k].rs.revision > max_rev ? rows[k].rs.revision : max_rev;
      any_tpl |= rows[k].tpl != 0;
      if (rows[k].tpl == fp)
        new_at = (ssize_t) k;
    }
  /* Before any rollout: the replicaset up or create made is the template's. */
  if (new_at < 0 && !any_tpl)
    for (size_t k = 0; k < n; k++)
      if (strcmp (rows[k].rs.hash, scen_hash) == 0)
        new_at = (ssize_t) k;
  /* Paused (sync.go sync: getAllReplicaSetsAndSyncRevision without
   * creating one): a new template gets no ReplicaSet until resumed; the
   * newest one stays the one scaled, its records as they are. */
  bool keep_records = false;
  if (new_at < 0 && paused && n > 0)
    {
      new_at = (ssize_t) n - 1;
      keep_records = true;
    }
  struct rs_row nrs = { 0 };
  if (new_at >= 0)
    {
      nrs = rows[new_at];
      memmove (rows + new_at, rows + new_at + 1, (n - (size_t) new_at - 1) * sizeof *rows);
      n--;
      /* A template changed back: the old replicaset is the new one again,
       * with the next revision (the old one moves to revision-history). */
      if (n > 0 && nrs.rs.revision < max_rev)
        nrs.rs.revision = max_rev + 1;
    }
  else
    {
      /* A new template: a new replicaset, named as up would name it when
       * that name is free, else after the template as the API holds it. */
      snprintf (nrs.rs.hash, sizeof nrs.rs.hash, "%s", scen_hash);
      for (size_t k = 0; k < n; k++)
        if (strcmp (rows[k].rs.hash, scen_hash) == 0)
          {
            /* named after the template as the API holds it */
            json_t *d = NULL;
            if (store_get (s, "Deployment", w->ns, w->name, &d, err) < 0)
              rc = -1;
            cleanup_free char *canonical = NULL;
            template_fingerprint (d, &canonical);
            json_decref (d);
            cleanup_free char *desc = xasprintf ("%s\n%s", scen_hash, canonical ? canonical : "");
            pod_template_hash (desc, nrs.rs.hash);
          }
      nrs.rs.revision = max_rev + 1;
      nrs.rs.replicas = 0;
    }
  if (!keep_records)
    {
      nrs.tpl = fp;
      cleanup_free char *tk = xasprintf ("rollout/tpl/%s/%s-%s", w->ns, w->name, nrs.rs.hash);
      cleanup_free char *rk = xasprintf ("rollout/rev/%s/%s-%s", w->ns, w->name, nrs.rs.hash);
      if (meta_of (b, tk) != fp)
        json_object_set_new (b->meta_writes, tk, json_integer ((json_int_t) fp));
      if (nrs.rs.revision > 1 && meta_of (b, rk) != (uint64_t) nrs.rs.revision)
        json_object_set_new (b->meta_writes, rk, json_integer (nrs.rs.revision));
    }
  /* One step per sync: the new one scaled up, or else the old ones down
   * (rolling.go rolloutRolling); Recreate (recreate.go): every old one to
   * 0 first, the new one up once their pods are gone. */
  int desired = w->replicas, all = nrs.rs.replicas;
  bool old_left = false;
  for (size_t k = 0; k < n; k++)
    all += rows[k].rs.replicas, old_left |= rows[k].rs.replicas > 0;
  int was = nrs.rs.replicas;
  bool old_pods = false;
  for (size_t k = 0; k < n; k++)
    old_pods |= rows[k].pods > 0;
  if (paused)
    {
      /* no rollout step (sync.go sync scales only); a Deployment with one
       * ReplicaSet scaled takes its replicas */
      if (!old_left)
        nrs.rs.replicas = desired;
    }
  else if (st.recreate && (old_left || old_pods))
    {
      for (size_t k = 0; k < n; k++)
        rows[k].rs.replicas = 0;
      b->again = true;
    }
  else if (!old_left)
    nrs.rs.replicas = desired;
  else
    {
      nrs.rs.replicas = rollout_reconcile_new (&st, desired, all, nrs.rs.replicas);
      if (nrs.rs.replicas == was)
        {
          struct rollout_rs *old = xcalloc (n + 1, sizeof *old);
          for (size_t k = 0; k < n; k++)
            old[k] = (struct rollout_rs) { rows[k].rs.replicas, rows[k].available };
          struct rollout_rs nr = { nrs.rs.replicas, nrs.available };
          if (rollout_reconcile_old (old, n, &nr, desired, rollout_max_unavailable (&st, desired)) > 0)
            b->again = true;
          for (size_t k = 0; k < n; k++)
            rows[k].rs.replicas = old[k].replicas;
          free (old);
        }
      else
        b->again = true;
    }
  /* cleanupDeployment, once the rollout is complete (DeploymentComplete:
   * the new one has every replica, available, and no old pod is left): the
   * oldest of the old ones beyond spec.revisionHistoryLimit go, but not
   * one with replicas or pods still. */
  bool complete = nrs.rs.replicas == desired && nrs.pods == desired && nrs.available == desired;
  for (size_t k = 0; k < n; k++)
    complete &= rows[k].rs.replicas == 0 && rows[k].pods == 0;
  size_t drop = complete && n > history ? n - history : 0;
  /* the old pods go with this round's sync: the next round cleans up (a
   * pod's readiness starts a round of its own) */
  bool old_pods_left = false;
  for (size_t k = 0; k < n; k++)
    old_pods_left |= rows[k].pods > 0;
  if (!complete && n > history && old_pods_left)
    b->again = true;
  b->old_rs[i] = xcalloc (n + 1, sizeof *b->old_rs[i]);
  size_t kept = 0;
  for (size_t k = 0; k < n; k++)
    if (k >= drop || rows[k].rs.replicas > 0 || rows[k].pods > 0)
      b->old_rs[i][kept++] = rows[k].rs;
    else
      {
        /* its records go with it (null: deleted by save_allocators, read
         * as absent meanwhile) */
        cleanup_free char *tk = xasprintf ("rollout/tpl/%s/%s-%s", w->ns, w->name, rows[k].rs.hash);
        cleanup_free char *rk = xasprintf ("rollout/rev/%s/%s-%s", w->ns, w->name, rows[k].rs.hash);
        json_object_set_new (b->meta_writes, tk, json_null ());
        json_object_set_new (b->meta_writes, rk, json_null ());
      }
  memcpy (b->new_hash[i], nrs.rs.hash, sizeof nrs.rs.hash);
  struct model_live_workload *lw = &b->workloads[i];
  lw->spec_read = true;
  lw->spec = rollout_spec_of (&st, desired, paused);
  lw->spec.deadline_exceeded = progress_deadline (w, &nrs, rows, n, complete || paused ? 0 : deadline, b);
  /* A deployment never rolled keeps the one replicaset of its template. */
  if (kept > 0 || strcmp (nrs.rs.hash, scen_hash) != 0)
    {
      lw->rolling = true;
      lw->new_hash = b->new_hash[i];
      lw->new_replicas = nrs.rs.replicas;
      lw->new_revision = nrs.rs.revision;
      lw->old_rs = b->old_rs[i];
      lw->n_old_rs = kept;
    }
  free (rows);
  return rc;
}

/* Whether the Deployment DKEY ("ns/name") is stored. */
static bool
deploy_stored (const struct live_buf *b, const char *dkey)
{
  const char *slash = strchr (dkey, '/');
  if (slash == NULL)
    return false;
  cleanup_free char *ns = xstrndup (dkey, (size_t) (slash - dkey));
  return stored_metas_get (&b->deploys, ns, slash + 1) != NULL;
}

/* The memos of Deployments no longer stored go (one made again has another
 * resourceVersion, so no memo is ever taken for it: this only keeps deleted
 * names from piling up). */
static void
forget_deleted_deployments (struct live_buf *b)
{
  if (b->memos == NULL)
    return;
  size_t gone = 0;
  for (size_t i = 0; i < b->memos->cap; i++)
    gone += b->memos->keys[i] && !deploy_stored (b, b->memos->keys[i]);
  if (gone == 0)
    return;
  struct strmap kept;
  strmap_init (&kept);
  for (size_t i = 0; i < b->memos->cap; i++)
    if (b->memos->keys[i] && deploy_stored (b, b->memos->keys[i]))
      strmap_put (&kept, b->memos->keys[i], b->memos->vals[i]);
    else if (b->memos->keys[i])
      free (b->memos->vals[i]);
  strmap_free (b->memos);
  *b->memos = kept;
}

/* kubectl set image (or apply, edit, rollout undo) changes the image in
 * the stored template only, not the scenario's section: the new pods of
 * deployment W run the app that image maps to, as a Deployment made
 * through the API (pod_template_app: [images], the built-ins, a
 * containerPort), with the default readiness probe for it unless the
 * section sets one. A template that still names the section's image (nslab
 * apply writes both) keeps the section's app. Read again only when the
 * Deployment was written since. */
static int
template_app (struct store *s, const struct scenario *sc, struct workload_def *w, struct live_buf *b,
              nslab_error_t *err)
{
  const struct stored_meta *stored = stored_metas_get (&b->deploys, w->ns, w->name);
  if (stored == NULL)
    return 0;
  cleanup_free char *dkey = xasprintf ("%s/%s", w->ns, w->name);
  char rv_now[24];
  struct deploy_memo *memo = rv_text (stored, rv_now) ? memo_of (b, dkey) : NULL;
  const struct deploy_app *known
      = memo && memo->app && strcmp (memo->app_rv, rv_now) == 0 ? &memo->template_app : NULL;
  struct deploy_app fresh;
  if (known == NULL)
    {
      json_t *d = NULL;
      if (store_get (s, "Deployment", w->ns, w->name, &d, err) < 0)
        return -1;
      const json_t *cs = json_at (d, "spec.template.spec.containers");
      struct app_def app;
      size_t at = pod_template_app (sc, cs, &app);
      const char *image = json_string_value (json_object_get (json_array_get (cs, at), "image"));
      bool own = image == NULL || (w->image ? strcmp (image, w->image) == 0 : str_has_prefix (image, "nslab/"));
      fresh = (struct deploy_app) { .differs = !own, .kind = app.kind, .port = app.port };
      json_decref (d);
      if (memo)
        {
          memo->app = true;
          memcpy (memo->app_rv, rv_now, sizeof rv_now);
          memo->template_app = fresh;
        }
      known = &fresh;
    }
  if (known->differs)
    {
      /* kind and port only: the section's command strings stay its own
       * (the cache puts the section back each round, scenario_free frees
       * them) */
      w->app.kind = known->kind;
      w->app.port = known->port;
      if (!w->readiness_set)
        w->readiness = w->app.kind == APP_HTTP ? (struct probe_def) { PROBE_TCP, w->app.port, NULL }
                                               : (struct probe_def) { PROBE_NONE, 0, NULL };
    }
  return 0;
}

static int
rollout_deployments (struct store *s, struct scenario *sc, struct live_buf *b, nslab_error_t *err)
{
  b->meta_writes = json_object ();
  b->old_rs = xcalloc (sc->n_workloads + 1, sizeof *b->old_rs);
  b->new_hash = xcalloc (sc->n_workloads + 1, sizeof *b->new_hash);
  bool any = false;
  for (size_t i = 0; i < sc->n_workloads; i++)
    any |= sc->workloads[i].kind == WL_DEPLOYMENT;
  if (!any)
    return 0;
  if (store_list_meta (s, "Deployment", &b->deploys, err) < 0)
    return -1;
  forget_deleted_deployments (b);
  struct rollout_round round = { 0 };
  if (store_list_meta (s, "ReplicaSet", &round.rsets, err) < 0)
    return -1;
  /* A Deployment's ReplicaSets are named NAME-HASH, the hash at most ten
   * characters without a '-' (a bare ReplicaSet named so is told apart by
   * its owner, in rollout_deployment). */
  strmap_init (&round.rs_group);
  for (size_t r = 0; r < round.rsets.n; r++)
    {
      const struct stored_meta *rs = &round.rsets.v[r];
      const char *dash = strrchr (rs->name, '-');
      if (dash == NULL || strlen (dash + 1) > 10)
        continue;
      cleanup_free char *dk = xasprintf ("%s/%.*s", rs->ns, (int) (dash - rs->name), rs->name);
      uintptr_t at = (uintptr_t) strmap_put (&round.rs_group, dk, (void *) (uintptr_t) (round.n_by_deploy + 1));
      if (at == round.n_by_deploy + 1)
        VEC_PUSH (round.by_deploy, round.n_by_deploy);
      struct rs_of_deploy *g = &round.by_deploy[at - 1];
      *VEC_PUSH (g->v, g->n) = rs;
    }
  /* Every rollout record at once (a few per Deployment): one read, not
   * one per record, and nothing of them kept between rounds. */
  int rc = store_meta_list_prefix (s, "rollout/", &b->meta, err);
  strmap_init (&round.rs_pods);
  for (size_t pi = 0; rc == 0 && pi < b->live.n_pods; pi++)
    {
      const struct model_live_pod *p = &b->pods[pi];
      if (p->replicaset == NULL)
        continue;
      cleanup_free char *rk = xasprintf ("%s/%s", p->ns, p->replicaset);
      uintptr_t at = (uintptr_t) strmap_put (&round.rs_pods, rk, (void *) (uintptr_t) (round.n_counts + 1));
      if (at == round.n_counts + 1)
        *VEC_PUSH (round.counts, round.n_counts) = (struct rs_pod_count) { 0 };
      round.counts[at - 1].pods++;
      round.counts[at - 1].ready += p->ready;
    }
  for (size_t i = 0; rc == 0 && i < sc->n_workloads; i++)
    if (sc->workloads[i].kind == WL_DEPLOYMENT && (rc = template_app (s, sc, &sc->workloads[i], b, err)) == 0)
      rc = rollout_deployment (s, &sc->workloads[i], i, &round, b, err);
  strmap_free (&round.rs_pods);
  free (round.counts);
  strmap_free (&round.rs_group);
  for (size_t g = 0; g < round.n_by_deploy; g++)
    free (round.by_deploy[g].v);
  free (round.by_deploy);
  stored_metas_free (&round.rsets);
  return rc;
}

int
converge_plan (const char *lab, const char *scenario_path, struct scenario_cache *cache, struct store *s,
               const struct plan *applied, const bool *ready, struct plan **out, nslab_error_t *err)
{
  (void) lab;
  struct scenario *sc = NULL;
  if (cache ? cached_scenario (cache, scenario_path, &sc, err) < 0 : scenario_load (scenario_path, &sc, err) < 0)
    return -1;
  size_t n_wl = sc->n_workloads, n_svc = sc->n_services;
  const struct lab_objects *o = applied->objects;
  struct stored_metas pods = { 0 }; /* the store's pods */
  int rc = adjust_scenario (sc, s, o, &pods, err);
  struct live_buf live = { 0 };
  if (rc == 0)
    rc = converge_live (s, applied, ready, sc, &pods, &live, err);
  live.memos = cache ? &cache->deploy_memos : NULL;
  if (rc == 0)
    rc = rollout_deployments (s, sc, &live, err);
  if (cache)
    {
      cache->again = rc == 0 && live.again;
      cache->wake_at = rc == 0 ? live.wake_at : 0;
    }
  stored_metas_free (&pods);
  struct model *m = NULL;
  if (rc == 0)
    rc = model_build_live (sc, &live.live, &m, err);
  /* One write transaction for all of them: the caller's when it holds one
   * (a test rolls the round back), else their own. */
  if (rc == 0 && store_in_write (s))
    rc = save_allocators (s, m, &live, err);
  else if (rc == 0 && (rc = store_begin (s, err)) == 0)
    rc = store_end (s, save_allocators (s, m, &live, err), err);
  if (rc == 0)
    *out = plan_from_model (m);
  model_free (m);
  live_buf_free (&live);
  sc->n_workloads = n_wl;
  sc->n_services = n_svc;
  if (cache == NULL)
    scenario_free (sc);
  return rc;
}

/* ---- applying ---- */

/* An op's key: its namespace and how it reads (op_describe), hashed: the
 * applied plan's ops are known by these between rounds rather than kept
 * (two of a lab's tens of thousands of ops colliding in 64 bits is not a
 * practical concern). SB: the caller's buffer for the text, reused from op
 * to op (a block allocated and freed per op was a third of the keys' cost). */
static uint64_t
op_key_hash (const struct plan_op *op, struct strbuf *sb)
{
  sb->len = 0;
  op_describe_to (sb, op);
  const char *ns = op->ns ? op->ns : "";
  uint64_t h = hash64_mem (ns, strlen (ns), 0);
  return hash64_mem (sb->buf ? sb->buf : "", sb->len, h);
}

struct proc_key {
  uint64_t netns, key; /* the hash of the namespace, op_key_hash of its process op */
  size_t at;           /* its place in the plan: the first of a namespace wins */
};

/* A node's rules (its namespace's first iptables op, and in nftables mode
 * its first nftables op): what the next sync needs of them, and a hash of
 * their text (whether they changed). */
struct rules_key {
  char *ns;
  enum plan_op_kind kind;               /* OP_IPTABLES or OP_NFTABLES */
  struct kube_proxy_digest *digest;     /* iptables */
  struct kube_proxy_nft_digest *nft;    /* nftables */
  uint64_t text;
};

struct op_keys {
  uint64_t *keys; /* op_key_hash of every op but the rules', sorted */
  size_t n_keys;
  struct proc_key *procs; /* sorted by netns, then at; one per netns */
  size_t n_procs;
  struct rules_key *rules; /* few: looked up by a scan */
  size_t n_rules;
};

static struct rules_key *
op_keys_rules (const struct op_keys *k, const char *ns, enum plan_op_kind kind)
{
  for (size_t i = 0; k && ns && i < k->n_rules; i++)
    if (k->rules[i].kind == kind && strcmp (k->rules[i].ns, ns) == 0)
      return &k->rules[i];
  return NULL;
}

/* Whether a node's rules changed, by their text's hash. */
static uint64_t
text_hash (const char *text)
{
  return hash64_mem (text ? text : "", text ? strlen (text) : 0, 0);
}

/* Keep DIGEST (iptables) or NFT (nftables; taken) as NS's, unless NS has
 * one of that kind already. */
static void
op_keys_add_rules (struct op_keys *k, const char *ns, const char *text, struct kube_proxy_digest *digest,
                   struct kube_proxy_nft_digest *nft)
{
  enum plan_op_kind kind = nft ? OP_NFTABLES : OP_IPTABLES;
  if (op_keys_rules (k, ns, kind))
    {
      kube_proxy_digest_free (digest);
      kube_proxy_nft_digest_free (nft);
      return;
    }
  *VEC_PUSH (k->rules, k->n_rules) = (struct rules_key) { .ns = xstrdup (ns), .kind = kind, .digest = digest,
                                                          .nft = nft, .text = text_hash (text) };
}

static int
cmp_u64 (const void *a, const void *b)
{
  uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
  return x < y ? -1 : x > y;
}

static int
cmp_proc (const void *a, const void *b)
{
  const struct proc_key *x = a, *y = b;
  if (x->netns != y->netns)
    return x->netns < y->netns ? -1 : 1;
  return x->at < y->at ? -1 : x->at > y->at;
}

/* Sort what was pushed; of several process ops in one namespace only the
 * first stays. */
static void
op_keys_seal (struct op_keys *k)
{
  qsort (k->keys, k->n_keys, sizeof *k->keys, cmp_u64);
  qsort (k->procs, k->n_procs, sizeof *k->procs, cmp_proc);
  size_t n = 0;
  for (size_t i = 0; i < k->n_procs; i++)
    if (n == 0 || k->procs[n - 1].netns != k->procs[i].netns)
      k->procs[n++] = k->procs[i];
  k->n_procs = n;
}

static void
op_keys_push (struct op_keys *k, const struct plan_op *op, size_t at, uint64_t h)
{
  *VEC_PUSH (k->keys, k->n_keys) = h;
  if (op->kind == OP_PROCESS)
    *VEC_PUSH (k->procs, k->n_procs) = (struct proc_key) { .netns = fnv1a64 (op->ns ? op->ns : ""), .key = h,
                                                           .at = at };
}

static bool
is_rules (const struct plan_op *op)
{
  return op->kind == OP_IPTABLES || op->kind == OP_NFTABLES;
}

struct op_keys *
op_keys_of (const struct plan *p)
{
  struct op_keys *k = xcalloc (1, sizeof *k);
  cleanup_strbuf struct strbuf sb = { 0 };
  for (size_t i = 0; i < p->n_ops; i++)
    if (!is_rules (&p->ops[i]))
      op_keys_push (k, &p->ops[i], i, op_key_hash (&p->ops[i], &sb));
    else if (p->ops[i].kind == OP_IPTABLES && p->ops[i].ns && !op_keys_rules (k, p->ops[i].ns, OP_IPTABLES))
      {
        /* a payload the sync cannot read keeps no digest: its text stays */
        struct kube_proxy_digest *d = NULL;
        nslab_error_t e = NULL;
        if (kube_proxy_digest_new (p->ops[i].u.ipt.payload, &d, &e) == 0)
          op_keys_add_rules (k, p->ops[i].ns, p->ops[i].u.ipt.payload, d, NULL);
        nslab_error_free (&e);
      }
    else if (p->ops[i].kind == OP_NFTABLES && p->ops[i].ns && !op_keys_rules (k, p->ops[i].ns, OP_NFTABLES))
      {
        struct kube_proxy_nft_digest *d = NULL;
        nslab_error_t e = NULL;
        if (kube_proxy_nft_digest_new (p->ops[i].u.nft.payload, &d, &e) == 0)
          op_keys_add_rules (k, p->ops[i].ns, p->ops[i].u.nft.payload, NULL, d);
        nslab_error_free (&e);
      }
  op_keys_seal (k);
  return k;
}

void
op_keys_free (struct op_keys *k)
{
  if (k == NULL)
    return;
  free (k->keys);
  free (k->procs);
  for (size_t i = 0; i < k->n_rules; i++)
    {
      free (k->rules[i].ns);
      kube_proxy_digest_free (k->rules[i].digest);
      kube_proxy_nft_digest_free (k->rules[i].nft);
    }
  free (k->rules);
  free (k);
}

static bool
op_keys_has (const struct op_keys *k, uint64_t h)
{
  return bsearch (&h, k->keys, k->n_keys, sizeof *k->keys, cmp_u64) != NULL;
}

/* op_key_hash of NETNS's process op, if it has one. */
static bool
op_keys_proc (const struct op_keys *k, const char *netns, uint64_t *out)
{
  uint64_t n = fnv1a64 (netns);
  size_t lo = 0, hi = k->n_procs;
  while (lo < hi)
    {
      size_t mid = lo + (hi - lo) / 2;
      if (k->procs[mid].netns < n)
        lo = mid + 1;
      else
        hi = mid;
    }
  if (lo == k->n_procs || k->procs[lo].netns != n)
    return false;
  *out = k->procs[lo].key;
  return true;
}

/* A sysctl of a pod's host veth in its node (net/ipv6/conf/VETH/accept_ra):
 * the veth's name is one component of the key. */
static bool
sysctl_of_veth (const struct strmap *veths, const char *key)
{
  if (key == NULL)
    return false;
  char part[64];
  for (const char *c = key; *c;)
    {
      size_t len = strcspn (c, "./");
      if (len > 0 && len < sizeof part)
        {
          memcpy (part, c, len);
          part[len] = 0;
          if (strmap_get (veths, part))
            return true;
        }
      c += len;
      if (*c)
        c++;
    }
  return false;
}

void
converge_compact (struct plan *p, const struct op_keys *keys)
{
  const struct lab_objects *o = p->objects;
  struct strmap pod_ns, veths;
  strmap_init (&pod_ns);
  strmap_init (&veths);
  for (size_t i = 0; i < o->n_pods; i++)
    {
      strmap_put (&pod_ns, o->pods[i].netns, (void *) 1);
      if (o->pods[i].host_veth)
        strmap_put (&veths, o->pods[i].host_veth, (void *) 1);
    }
  size_t n = 0;
  for (size_t i = 0; i < p->n_ops; i++)
    {
      struct plan_op *op = &p->ops[i];
      bool pods = (op->ns && strmap_get (&pod_ns, op->ns)) || op->kind == OP_CNI
                  || (op->kind == OP_LINK && op->u.link.peer_ns && strmap_get (&pod_ns, op->u.link.peer_ns))
                  || (op->kind == OP_LINK_SET && op->u.set.name && strmap_get (&veths, op->u.set.name))
                  || (op->kind == OP_SYSCTL && sysctl_of_veth (&veths, op->u.sysctl.key));
      if (pods)
        {
          op_free (op);
          continue;
        }
      /* A node's rules are known by their digest; any without one by
       * their text, which was built in a growing buffer: trimmed. */
      char **payload = op->kind == OP_IPTABLES   ? &op->u.ipt.payload
                       : op->kind == OP_NFTABLES ? &op->u.nft.payload
                                                 : NULL;
      if (payload && op_keys_rules (keys, op->ns, op->kind))
        {
          free (*payload);
          *payload = NULL;
        }
      else if (payload && *payload)
        *payload = xrealloc (*payload, strlen (*payload) + 1);
      p->ops[n++] = *op;
    }
  p->n_ops = n;
  p->ops = xrealloc (p->ops, (n + 1) * sizeof *p->ops);
  strmap_free (&pod_ns);
  strmap_free (&veths);
}

/* The lookups converge_apply makes per pod and per op, indexed once: a
 * pod by its netns in each plan's objects, the new plan's process op by
 * its netns. */
struct apply_index {
  struct strmap old_pods, new_pods; /* netns -> struct lab_pod * */
  struct strmap new_procs; /* netns -> struct plan_op * */
};

static void
index_plan (struct strmap *pods, struct strmap *procs, const struct plan *p)
{
  strmap_init (pods);
  const struct lab_objects *o = p->objects;
  for (size_t i = 0; i < o->n_pods; i++)
    strmap_put (pods, o->pods[i].netns, (void *) &o->pods[i]);
  if (procs == NULL)
    return;
  strmap_init (procs);
  for (size_t i = 0; i < p->n_ops; i++)
    if (p->ops[i].kind == OP_PROCESS)
      strmap_put (procs, p->ops[i].ns, (void *) &p->ops[i]);
}

static void
apply_index_free (struct apply_index *x)
{
  strmap_free (&x->old_pods);
  strmap_free (&x->new_pods);
  strmap_free (&x->new_procs);
}

static bool
has_pod (const struct strmap *pods, const char *netns, const struct lab_pod **out)
{
  const struct lab_pod *p = strmap_get (pods, netns);
  if (p && out)
    *out = p;
  return p != NULL;
}

/* A pod kept by name whose process op changed (a bare pod's app) is
 * replaced: torn down and made again. NEWP: the plan x indexes; NH: its
 * ops' keys, already made. */
static bool
replaced (const struct op_keys *old, const struct apply_index *x, const char *netns, const struct plan *newp,
          const uint64_t *nh)
{
  const struct plan_op *b = strmap_get (&x->new_procs, netns);
  uint64_t a = 0;
  if (b == NULL || !op_keys_proc (old, netns, &a))
    return false;
  return a != nh[b - newp->ops];
}

/* kube-proxy in nftables mode: one transaction per node with what changed
   (kube_proxy_nft_sync_payload), started in a child (nftables_start) so
   the nodes' transactions run at once; job->pid < 0 when nothing changed. */
static int
nft_sync (const struct plan_op *op, const struct plan *applied, const struct op_keys *old_keys, struct op_keys *keys,
          bool full_sync, bool *changed, struct child_job *job, nslab_error_t *err)
{
  job->pid = -1;
  /* What the node holds: known by its digest (after the first round),
   * else as the applied plan's text. */
  const struct rules_key *ok = op_keys_rules (old_keys, op->ns, OP_NFTABLES);
  const char *old = ok ? NULL : kube_proxy_nft_plan_payload (applied, op->ns);
  const char *new = op->u.nft.payload;
  bool first = op->ns && !op_keys_rules (keys, op->ns, OP_NFTABLES);
  struct kube_proxy_nft_digest *nd = NULL;
  cleanup_free char *payload = NULL;
  if (ok)
    {
      if (kube_proxy_nft_sync_digest (ok->nft, new, full_sync, &payload, first ? &nd : NULL, err) < 0)
        return nslab_error_wrap (err, "%s: kube-proxy sync", op->ns);
    }
  else if (old == NULL)
    payload = xstrdup (new);
  else if (kube_proxy_nft_sync_payload (old, new, full_sync, &payload, err) < 0)
    return nslab_error_wrap (err, "%s: kube-proxy sync", op->ns);
  if (first && nd == NULL)
    {
      nslab_error_t e = NULL;
      if (kube_proxy_nft_digest_new (new, &nd, &e) < 0)
        nd = NULL; /* kept as text: the next round reads it from the plan */
      nslab_error_free (&e);
    }
  if (first && nd)
    op_keys_add_rules (keys, op->ns, new, NULL, nd);
  else
    kube_proxy_nft_digest_free (nd);
  if (payload == NULL)
    return 0;
  if ((ok && ok->text != text_hash (new)) || (old && strcmp (old, new) != 0))
    *changed = true;
  if (nftables_start (op->ns, payload, job, err) < 0)
    return nslab_error_wrap (err, "%s: kube-proxy sync", op->ns);
  return 0;
}

/* The addresses APPLIED gave a node (not a pod: pods that go take theirs
 * with them) that NEWP no longer does (NEW_KEYS: its ops'): an L2
 * announcer's (plan/metallb.c) for a service gone or a leader that moved.
 * Withdrawn through RT; *any says whether there were some. */
static int
withdraw_stale_addrs (const struct control_runtime *rt, const struct apply_index *x, const struct plan *applied,
                      const struct op_keys *new_keys, bool *any, nslab_error_t *err)
{
  struct plan_op *stale = xcalloc (applied->n_ops + 1, sizeof *stale);
  size_t n = 0;
  cleanup_strbuf struct strbuf sb = { 0 };
  for (size_t i = 0; i < applied->n_ops; i++)
    {
      const struct plan_op *op = &applied->ops[i];
      if (op->kind != OP_ADDR || has_pod (&x->old_pods, op->ns, NULL))
        continue;
      if (!op_keys_has (new_keys, op_key_hash (op, &sb)))
        stale[n++] = *op; /* shallow: applied owns the strings */
    }
  int rc = n && rt->withdraw ? rt->withdraw (rt->arg, stale, n, err) : 0;
  *any = n > 0;
  free (stale);
  return rc;
}

int
converge_apply (const char *lab, const struct control_runtime *rt, const struct plan *applied,
                const struct op_keys *applied_keys, const struct plan *newp, bool full_sync, long long *rules_us,
                bool *snapshot_due, struct op_keys **new_keys, nslab_error_t *err)
{
  long long nft_us = 0;
  *snapshot_due = false;
  *new_keys = NULL;
  struct op_keys *own_keys = applied_keys ? NULL : op_keys_of (applied);
  const struct op_keys *old_keys = applied_keys ? applied_keys : own_keys;
  const struct lab_objects *ao = applied->objects, *no = newp->objects;
  /* What is applied after this round: its rules' digests as the rules
   * are synced, its other ops' keys while they are. */
  struct op_keys *keys = xcalloc (1, sizeof *keys);
  struct state_writer *w = NULL;
  if (state_open (lab, &w, err) < 0)
    {
      op_keys_free (keys);
      op_keys_free (own_keys);
      return -1;
    }
  int rc = 0;
  bool changed = false;
  /* 1. kube-proxy: every node's rules, before any pod goes, so no packet
   * is sent to a pod that is being torn down; the nodes' restores run at
   * once. */
  struct child_job *jobs = xcalloc (newp->n_ops + 1, sizeof *jobs);
  long long *started = xcalloc (newp->n_ops + 1, sizeof *started), ipt_us = 0;
  size_t n_jobs = 0;
  struct child_job *nft_jobs = xcalloc (newp->n_ops + 1, sizeof *nft_jobs);
  long long *nft_started = xcalloc (newp->n_ops + 1, sizeof *nft_started);
  size_t n_nft = 0;
  for (size_t i = 0; rc == 0 && i < newp->n_ops; i++)
    {
      const struct plan_op *op = &newp->ops[i];
      if (op->kind == OP_NFTABLES)
        {
          nft_started[n_nft] = monotonic_us ();
          if (nft_sync (op, applied, old_keys, keys, full_sync, &changed, &nft_jobs[n_nft], err) < 0)
            rc = -1;
          else if (nft_jobs[n_nft].pid >= 0)
            n_nft++;
          continue;
        }
      if (op->kind != OP_IPTABLES)
        continue;
      /* What the node holds: known by its digest (after the first round),
       * else as the applied plan's text. */
      const struct rules_key *ok = op_keys_rules (old_keys, op->ns, OP_IPTABLES);
      const char *old = ok ? NULL : kube_proxy_plan_payload (applied, op->ns);
      bool first = op->ns && !op_keys_rules (keys, op->ns, OP_IPTABLES);
      struct kube_proxy_digest *nd = NULL;
      cleanup_free char *payload = NULL;
      if (ok && ok->digest)
        {
          if (kube_proxy_sync_digest (ok->digest, op->u.ipt.payload, full_sync, &payload, first ? &nd : NULL,
                                      err) < 0)
            rc = nslab_error_wrap (err, "%s: kube-proxy sync", op->ns);
        }
      else if (old == NULL)
        payload = xstrdup (op->u.ipt.payload);
      else if (kube_proxy_sync_payload (old, op->u.ipt.payload, full_sync, &payload, err) < 0)
        rc = nslab_error_wrap (err, "%s: kube-proxy sync", op->ns);
      if (rc == 0 && first && nd == NULL)
        {
          nslab_error_t e = NULL;
          if (kube_proxy_digest_new (op->u.ipt.payload, &nd, &e) < 0)
            nd = NULL; /* kept as text: the next round reads it from the plan */
          nslab_error_free (&e);
        }
      if (rc == 0 && first && nd)
        op_keys_add_rules (keys, op->ns, op->u.ipt.payload, nd, NULL);
      else
        kube_proxy_digest_free (nd);
      if (payload
          && ((ok && ok->text != text_hash (op->u.ipt.payload)) || (old && strcmp (old, op->u.ipt.payload) != 0)))
        changed = true;
      if (rc == 0 && payload)
        {
          started[n_jobs] = monotonic_us ();
          if (iptables_restore_start (op->ns, payload, &jobs[n_jobs], err) < 0)
            rc = nslab_error_wrap (err, "%s: kube-proxy sync", op->ns);
          else
            n_jobs++;
        }
      if (payload && old && strcmp (old, op->u.ipt.payload) != 0)
        changed = true;
    }
  /* While the nodes' restores run: the new plan's op keys (once) and the
   * pods gone (or replaced). */
  struct apply_index x;
  index_plan (&x.old_pods, NULL, applied);
  index_plan (&x.new_pods, &x.new_procs, newp);
  uint64_t *nh = xcalloc (newp->n_ops + 1, sizeof *nh);
  cleanup_strbuf struct strbuf sb = { 0 };
  for (size_t i = 0; i < newp->n_ops; i++)
    if (!is_rules (&newp->ops[i]))
      op_keys_push (keys, &newp->ops[i], i, nh[i] = op_key_hash (&newp->ops[i], &sb));
  op_keys_seal (keys);
  char **gone = xcalloc (ao->n_pods + 1, sizeof *gone);
  size_t n_gone = 0;
  for (size_t i = 0; i < ao->n_pods; i++)
    if (!has_pod (&x.new_pods, ao->pods[i].netns, NULL) || replaced (old_keys, &x, ao->pods[i].netns, newp, nh))
      gone[n_gone++] = ao->pods[i].netns;
  changed = changed || n_gone > 0;
  for (size_t j = 0; j < n_jobs; j++)
    {
      nslab_error_t e = NULL;
      if (iptables_restore_finish (&jobs[j], &e) < 0)
        {
          nslab_error_keep_first (err, &e);
          rc = -1;
        }
      /* The restores run at once: the longest is what they cost. */
      if (monotonic_us () - started[j] > ipt_us)
        ipt_us = monotonic_us () - started[j];
    }
  for (size_t j = 0; j < n_nft; j++)
    {
      nslab_error_t e = NULL;
      if (nftables_finish (&nft_jobs[j], &e) < 0)
        {
          nslab_error_wrap (&e, "kube-proxy sync");
          nslab_error_keep_first (err, &e);
          rc = -1;
        }
      if (monotonic_us () - nft_started[j] > nft_us)
        nft_us = monotonic_us () - nft_started[j];
    }
  free (jobs);
  free (started);
  free (nft_jobs);
  free (nft_started);
  if (rules_us)
    *rules_us = ipt_us > nft_us ? ipt_us : nft_us;
  /* The runtime takes the lock for each request. */
  state_writer_close (w);
  w = NULL;
  bool withdrawn = false;
  if (rc == 0)
    rc = withdraw_stale_addrs (rt, &x, applied, keys, &withdrawn, err);
  changed = changed || withdrawn;
  if (rc == 0 && n_gone)
    rc = rt->teardown (rt->arg, gone, n_gone, err);
  /* 3. What the new plan has and the applied one has not: the new pods'
   * namespaces, links, addresses, routes and processes (and a node's
   * cni0 when its first pod arrives). */
  struct plan_op *todo = xcalloc (newp->n_ops + 1, sizeof *todo);
  size_t n_todo = 0;
  for (size_t i = 0; rc == 0 && i < newp->n_ops; i++)
    {
      const struct plan_op *op = &newp->ops[i];
      if (is_rules (op))
        continue;
      bool again = false;
      for (size_t g = 0; g < n_gone && !again; g++)
        {
          const struct lab_pod *np = NULL;
          again = strcmp (op->ns, gone[g]) == 0
                  || (op->kind == OP_LINK && op->u.link.peer_ns && strcmp (op->u.link.peer_ns, gone[g]) == 0)
                  /* a replaced pod's new sandbox is wired again by the plugins */
                  || (op->kind == OP_CNI && strcmp (op->u.cni.pod_ns, gone[g]) == 0)
                  /* its host veth went with it: enslaved again */
                  || (op->kind == OP_LINK_SET && has_pod (&x.new_pods, gone[g], &np) && np->host_veth
                      && strcmp (op->u.set.name, np->host_veth) == 0);
        }
      if (again || !op_keys_has (old_keys, nh[i]))
        todo[n_todo++] = *op; /* shallow: newp owns the strings */
    }
  if (rc == 0 && n_todo && rt->apply (rt->arg, todo, n_todo, err) < 0)
    {
      /* What was made of the new pods goes again; the next round retries. */
      char **made = xcalloc (no->n_pods + 1, sizeof *made);
      size_t n_made = 0;
      for (size_t i = 0; i < no->n_pods; i++)
        if (!has_pod (&x.old_pods, no->pods[i].netns, NULL) || replaced (old_keys, &x, no->pods[i].netns, newp, nh))
          made[n_made++] = no->pods[i].netns;
      nslab_error_t e = NULL;
      rt->teardown (rt->arg, made, n_made, &e);
      nslab_error_free (&e);
      free (made);
      rc = -1;
    }
  free (todo);
  /* The snapshot says what the lab is: rewritten only when that changed. */
  *snapshot_due = rc == 0 && (changed || n_todo);
  free (gone);
  free (nh);
  op_keys_free (own_keys);
  if (rc == 0)
    *new_keys = keys;
  else
    op_keys_free (keys);
  apply_index_free (&x);
  return rc;
}
