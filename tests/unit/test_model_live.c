/* model_build_live: a scenario resolved against a running lab's pods, as
 * the ReplicaSet controller, the scheduler and host-local would go on from
 * them. The oracle for "unchanged" is model_build's own first resolution
 * (the lab as `nslab up` made it); the others are the controllers' rules. */
#include "unit.h"

#include "base/ipaddr.h"
#include "k8s/model.h"
#include "base/json.h"
#include "k8s/objects.h"
#include "k8s/resources.h"
#include "plan/plan.h"
#include "scenario/scenario.h"

static char *
fmt_ip (uint32_t ip)
{
  static char buf[8][IP_STRLEN];
  static int i;
  i = (i + 1) % 8;
  return ip_fmt (ip, buf[i]);
}

/* Three schedulable k3s nodes, a deployment, a replicaset, a bare pod and
 * a service over the deployment. */
static struct scenario *
lab (int replicas, const char *web_app, const char *solo_app, const char *solo_labels)
{
  cleanup_free char *text = xasprintf ("[lab]\nname = live\ntemplate = k3s\n"
                                       "[node cp1]\nrole = control-plane\nnics = eth0=hostonly:192.168.56.10\n"
                                       "[node w1]\nnics = eth0=hostonly:192.168.56.11\n"
                                       "[node w2]\nnics = eth0=hostonly:192.168.56.12\n"
                                       "[deployment demo/web]\nlabels = app=web\nreplicas = %d\napp = %s\n"
                                       "[replicaset demo/rs]\nlabels = app=rs\nreplicas = 2\napp = http:8080\n"
                                       "[pod demo/solo]\nlabels = %s\napp = %s\n"
                                       "[service demo/web-svc]\nselector = app=web\nports = 80\n",
                                       replicas, web_app, solo_labels, solo_app);
  static int n;
  cleanup_free char *name = xasprintf ("live%d.ini", n++);
  cleanup_free char *path = unit_write_file (name, text);
  struct scenario *sc = NULL;
  nslab_error_t err = NULL;
  if (scenario_load (path, &sc, &err) < 0)
    ck_abort_msg ("scenario_load: %s", err->msg);
  return sc;
}

static struct model *
build (const struct scenario *sc, const struct model_live *live)
{
  struct model *m = NULL;
  nslab_error_t err = NULL;
  if (model_build_live (sc, live, &m, &err) < 0)
    ck_abort_msg ("model_build_live: %s", err->msg);
  return m;
}

/* The running lab as the control loop would read it from the store: every
 * pod of m ready, created one second apart in model order. */
struct live_buf {
  struct model_live live;
  struct model_live_pod pods[64];
  struct model_live_node nodes[8];
  struct model_live_workload workloads[8];
};

static void
live_from_model (const struct model *m, struct live_buf *b)
{
  memset (b, 0, sizeof *b);
  ck_assert_uint_le (m->n_pods, 64);
  for (size_t i = 0; i < m->n_pods; i++)
    {
      const struct model_pod *p = &m->pods[i];
      struct model_live_pod *lp = &b->pods[i];
      lp->ns = p->ns;
      lp->name = p->name;
      lp->owner_kind = p->wl->kind;
      lp->owner_name = p->wl->name;
      lp->replicaset = p->replicaset;
      lp->node = m->nodes[p->node].name;
      lp->ip = p->ip;
      lp->app_kind = p->wl->app.kind;
      lp->app_port = p->wl->app.port;
      lp->app_command = p->wl->app.command;
      lp->ready = p->ready;
      lp->created_ns = (int64_t) (i + 1) * 1000000000;
      lp->ready_ns = lp->created_ns + 500000000;
    }
  for (size_t i = 0; i < m->n_nodes; i++)
    {
      b->nodes[i].name = m->nodes[i].name;
      b->nodes[i].last_reserved_ip = m->nodes[i].last_reserved_ip;
    }
  for (size_t i = 0; i < m->sc->n_workloads; i++)
    {
      b->workloads[i].kind = m->sc->workloads[i].kind;
      b->workloads[i].ns = m->sc->workloads[i].ns;
      b->workloads[i].name = m->sc->workloads[i].name;
      b->workloads[i].next_serial = m->next_serial[i];
    }
  b->live = (struct model_live){ b->pods, m->n_pods, b->nodes, m->n_nodes, b->workloads, m->sc->n_workloads, 0 };
}

static const struct model_pod *
find_pod (const struct model *m, const char *name)
{
  for (size_t i = 0; i < m->n_pods; i++)
    if (strcmp (m->pods[i].name, name) == 0)
      return &m->pods[i];
  return NULL;
}

static size_t
count_pods (const struct model *m, const char *workload)
{
  size_t n = 0;
  for (size_t i = 0; i < m->n_pods; i++)
    n += strcmp (m->pods[i].wl->name, workload) == 0;
  return n;
}

static const struct model_service *
web_svc (const struct model *m)
{
  for (size_t i = 0; i < m->n_services; i++)
    if (strcmp (m->services[i].name, "web-svc") == 0)
      return &m->services[i];
  ck_abort_msg ("no web-svc");
  return NULL;
}

static char *
plan_json (const struct model *m)
{
  struct plan *p = plan_from_model (m);
  json_t *j = plan_to_json (p);
  char *s = json_dumps (j, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref (j);
  plan_free (p);
  return s;
}

/* Nothing changed: the model is the running lab, pod for pod, and so is
 * its plan (every op, every object). */
START_TEST (test_live_unchanged)
{
  struct scenario *sc = lab (3, "http:80", "http:8080", "app=solo");
  struct model *m0 = build (sc, NULL);
  struct live_buf b;
  live_from_model (m0, &b);
  struct model *m1 = build (sc, &b.live);
  ck_assert_uint_eq (m1->n_pods, m0->n_pods);
  for (size_t i = 0; i < m0->n_pods; i++)
    {
      ck_assert_str_eq (m1->pods[i].name, m0->pods[i].name);
      ck_assert_str_eq (fmt_ip (m1->pods[i].ip), fmt_ip (m0->pods[i].ip));
      ck_assert_int_eq (m1->pods[i].node, m0->pods[i].node);
      ck_assert_str_eq (m1->pods[i].host_veth, m0->pods[i].host_veth);
      ck_assert_mem_eq (m1->pods[i].mac, m0->pods[i].mac, 6);
    }
  for (size_t i = 0; i < m0->n_nodes; i++)
    ck_assert_uint_eq (m1->nodes[i].last_reserved_ip, m0->nodes[i].last_reserved_ip);
  for (size_t i = 0; i < sc->n_workloads; i++)
    ck_assert_uint_eq (m1->next_serial[i], m0->next_serial[i]);
  cleanup_free char *j0 = plan_json (m0);
  cleanup_free char *j1 = plan_json (m1);
  ck_assert_str_eq (j1, j0);
  model_free (m0);
  model_free (m1);
  scenario_free (sc);
}
END_TEST

/* 2 -> 5: the two stay, three new pods get names no pod had (the serials a
 * fresh 5-replica lab would use for its replicas 2..4), spread over the
 * nodes counting the kept ones, addresses after each node's last reserved. */
START_TEST (test_live_scale_up)
{
  struct scenario *sc2 = lab (2, "http:80", "http:8080", "app=solo");
  struct scenario *sc5 = lab (5, "http:80", "http:8080", "app=solo");
  struct model *m0 = build (sc2, NULL), *fresh5 = build (sc5, NULL);
  struct live_buf b;
  live_from_model (m0, &b);
  struct model *m1 = build (sc5, &b.live);
  ck_assert_uint_eq (count_pods (m1, "web"), 5);
  for (size_t i = 0; i < m0->n_pods; i++)
    {
      const struct model_pod *p = find_pod (m1, m0->pods[i].name);
      ck_assert_msg (p != NULL, "kept pod %s", m0->pods[i].name);
      ck_assert_uint_eq (p->ip, m0->pods[i].ip);
      ck_assert_int_eq (p->node, m0->pods[i].node);
    }
  size_t per_node[3] = { 0 }, n_new = 0;
  for (size_t i = 0; i < m1->n_pods; i++)
    {
      const struct model_pod *p = &m1->pods[i];
      if (strcmp (p->wl->name, "web") != 0)
        continue;
      per_node[p->node]++;
      if (find_pod (m0, p->name))
        continue;
      n_new++;
      ck_assert_msg (find_pod (fresh5, p->name) != NULL, "new pod %s has a fresh lab's serial name", p->name);
      /* host-local: after the node's last reserved address. */
      ck_assert_msg (p->ip > m0->nodes[p->node].last_reserved_ip, "%s got %s, last reserved %s", p->name,
                     fmt_ip (p->ip), fmt_ip (m0->nodes[p->node].last_reserved_ip));
      ck_assert_uint_le (m1->nodes[p->node].last_reserved_ip, m0->nodes[p->node].last_reserved_ip + 3);
    }
  ck_assert_uint_eq (n_new, 3);
  ck_assert_uint_eq (m1->next_serial[0], 5);
  /* 5 over 3 nodes: 2, 2, 1 in some order. */
  for (int i = 0; i < 3; i++)
    ck_assert_msg (per_node[i] == 1 || per_node[i] == 2, "node %d has %zu web pods", i, per_node[i]);
  /* In a running lab a new pod is no endpoint until kubelet sees it ready:
   * the two kept ones only. */
  ck_assert_uint_eq (web_svc (m1)->ports[0].n_endpoints, 2);
  model_free (m0);
  model_free (fresh5);
  model_free (m1);
  scenario_free (sc2);
  scenario_free (sc5);
}
END_TEST

/* 5 -> 1, all ready: getPodsToDelete deletes the doubled-up pods first
 * (rank = the workload's pods on the node), so the one pod alone on its
 * node stays. With that one not ready it goes first, and of the doubled-up
 * ones the newest go: the oldest stays. */
START_TEST (test_live_scale_down)
{
  struct scenario *sc5 = lab (5, "http:80", "http:8080", "app=solo");
  struct scenario *sc1 = lab (1, "http:80", "http:8080", "app=solo");
  struct model *m0 = build (sc5, NULL);
  struct live_buf b;
  live_from_model (m0, &b);
  size_t per_node[3] = { 0 };
  for (size_t i = 0; i < 5; i++)
    per_node[m0->pods[i].node]++;
  int alone = -1, oldest_doubled = -1;
  for (int i = 0; i < 5; i++)
    if (per_node[m0->pods[i].node] == 1)
      alone = i;
    else if (oldest_doubled < 0)
      oldest_doubled = i;
  ck_assert_int_ge (alone, 0);
  ck_assert_int_ge (oldest_doubled, 0);

  struct model *m1 = build (sc1, &b.live);
  ck_assert_uint_eq (count_pods (m1, "web"), 1);
  ck_assert_str_eq (m1->pods[0].name, m0->pods[alone].name);
  ck_assert_uint_eq (m1->pods[0].ip, m0->pods[alone].ip);
  ck_assert_uint_eq (m1->next_serial[0], 5);
  model_free (m1);

  b.pods[alone].ready = false;
  m1 = build (sc1, &b.live);
  ck_assert_uint_eq (count_pods (m1, "web"), 1);
  ck_assert_str_eq (m1->pods[0].name, m0->pods[oldest_doubled].name);
  model_free (m1);

  /* LogarithmicScaleDown: ready 3 and 3.5 seconds before Now are in one
   * power-of-two bucket of nanoseconds (2^31..2^32), so the UID decides,
   * not the time: the lower UID is deleted first even though it is older. */
  b.pods[alone].ready = true;
  for (int i = 0; i < 5; i++)
    b.pods[i].uid = "m";
  int x = -1, y = -1;
  for (int i = 0; i < 5; i++)
    if (per_node[m0->pods[i].node] == 2)
      {
        if (x < 0)
          x = i;
        else if (m0->pods[i].node == m0->pods[x].node)
          y = i;
      }
  ck_assert_int_ge (y, 0);
  /* Keep 4 of 5: one pod goes. Only x and y are not the oldest by far. */
  struct scenario *sc4 = lab (4, "http:80", "http:8080", "app=solo");
  b.live.now_ns = (int64_t) 1000 * 1000000000;
  for (int i = 0; i < 5; i++)
    b.pods[i].ready_ns = 1000000000;
  b.pods[x].ready_ns = b.live.now_ns - 3500000000;
  b.pods[y].ready_ns = b.live.now_ns - 3000000000;
  b.pods[x].uid = "a";
  b.pods[y].uid = "b";
  m1 = build (sc4, &b.live);
  ck_assert (find_pod (m1, m0->pods[x].name) == NULL);
  ck_assert (find_pod (m1, m0->pods[y].name) != NULL);
  model_free (m1);
  /* Without Now, plainly: the newer ready time goes. */
  b.live.now_ns = 0;
  m1 = build (sc4, &b.live);
  ck_assert (find_pod (m1, m0->pods[x].name) != NULL);
  ck_assert (find_pod (m1, m0->pods[y].name) == NULL);
  model_free (m1);
  scenario_free (sc4);

  model_free (m0);
  scenario_free (sc5);
  scenario_free (sc1);
}
END_TEST

/* A not-ready pod keeps its namespace and address but is no endpoint. */
START_TEST (test_live_not_ready)
{
  struct scenario *sc = lab (2, "http:80", "http:8080", "app=solo");
  struct model *m0 = build (sc, NULL);
  struct live_buf b;
  live_from_model (m0, &b);
  b.pods[0].ready = false;
  struct model *m1 = build (sc, &b.live);
  ck_assert_uint_eq (m1->n_pods, m0->n_pods);
  ck_assert (!m1->pods[0].ready);
  ck_assert_str_eq (m1->pods[0].name, m0->pods[0].name);
  bool has_netns = false;
  for (size_t i = 0; i < m1->n_netns; i++)
    has_netns |= m1->netns[i].kind == NETNS_POD && m1->netns[i].owner == 0;
  ck_assert (has_netns);
  const struct model_service *s = web_svc (m1);
  ck_assert_uint_eq (s->ports[0].n_endpoints, 1);
  ck_assert_uint_eq (s->ports[0].endpoints[0].ip, m0->pods[1].ip);
  ck_assert_uint_eq (web_svc (m0)->ports[0].n_endpoints, 2);
  model_free (m0);
  model_free (m1);
  scenario_free (sc);
}
END_TEST

/* A pod that went away frees its address, but host-local goes on after the
 * last reserved one: the replacement does not get it back. Once the range
 * wraps, the lowest free address comes round again. */
START_TEST (test_live_freed_ip)
{
  struct scenario *sc = lab (3, "http:80", "http:8080", "app=solo");
  struct model *m0 = build (sc, NULL);
  struct live_buf b;
  live_from_model (m0, &b);
  /* web's first pod is gone (deleted by hand): drop it from the live pods. */
  const struct model_pod *gone = &m0->pods[0];
  b.live.pods = &b.pods[1];
  b.live.n_pods--;
  struct model *m1 = build (sc, &b.live);
  ck_assert_uint_eq (count_pods (m1, "web"), 3);
  ck_assert (find_pod (m1, gone->name) == NULL);
  const struct model_pod *repl = NULL;
  for (size_t i = 0; i < m1->n_pods; i++)
    if (!find_pod (m0, m1->pods[i].name))
      repl = &m1->pods[i];
  ck_assert_ptr_nonnull (repl);
  ck_assert_uint_ne (repl->ip, gone->ip);
  ck_assert_str_eq (fmt_ip (repl->ip), fmt_ip (m0->nodes[repl->node].last_reserved_ip + 1));
  ck_assert_uint_eq (m1->nodes[repl->node].last_reserved_ip, repl->ip);
  ck_assert_uint_eq (m1->next_serial[0], 4);
  int node = repl->node;
  model_free (m1);

  /* The last reserved address is the end of the range: wrap to .2 upward,
   * skipping the addresses live pods hold. */
  for (size_t i = 0; i < m0->n_nodes; i++)
    b.nodes[i].last_reserved_ip = cidr_broadcast (m0->nodes[i].pod_cidr) - 1;
  m1 = build (sc, &b.live);
  for (size_t i = 0; i < m1->n_pods; i++)
    if (!find_pod (m0, m1->pods[i].name))
      repl = &m1->pods[i];
  ck_assert_int_eq (repl->node, node);
  uint32_t want = cidr_network (m0->nodes[node].pod_cidr) + 2;
  for (bool used = true; used;)
    {
      used = false;
      for (size_t i = 0; i < b.live.n_pods; i++)
        if (b.live.pods[i].ip == want)
          used = true;
      want += used;
    }
  ck_assert_str_eq (fmt_ip (repl->ip), fmt_ip (want));
  model_free (m1);
  model_free (m0);
  scenario_free (sc);
}
END_TEST

/* A new app is a new pod template: a new replicaset hash, every pod
 * replaced, none of the old ones in the model, no old address reused. The
 * replicaset's pods with an unchanged app stay. */
START_TEST (test_live_new_template)
{
  struct scenario *sc0 = lab (2, "http:80", "http:8080", "app=solo");
  struct scenario *sc1 = lab (2, "http:8000", "http:8080", "app=solo");
  struct model *m0 = build (sc0, NULL);
  struct live_buf b;
  live_from_model (m0, &b);
  struct model *m1 = build (sc1, &b.live);
  ck_assert_uint_eq (count_pods (m1, "web"), 2);
  ck_assert_str_ne (m1->pods[0].replicaset, m0->pods[0].replicaset);
  for (size_t i = 0; i < m1->n_pods; i++)
    {
      const struct model_pod *p = &m1->pods[i];
      if (strcmp (p->wl->name, "web") == 0)
        {
          ck_assert_msg (find_pod (m0, p->name) == NULL, "old pod %s kept", p->name);
          ck_assert_str_eq (p->replicaset, m1->pods[0].replicaset);
          for (size_t k = 0; k < m0->n_pods; k++)
            ck_assert_uint_ne (p->ip, m0->pods[k].ip);
        }
      else
        ck_assert_msg (find_pod (m0, p->name) != NULL, "%s replaced", p->name);
    }
  ck_assert_uint_eq (m1->n_pods, m0->n_pods);
  model_free (m0);
  model_free (m1);
  scenario_free (sc0);
  scenario_free (sc1);
}
END_TEST

/* A rolling update's step (the control loop's deployment controller
 * decides the replicas): with the new template's ReplicaSet at 1 and the
 * old one at 2, both old pods stay, with their old app, and one new pod of
 * the new template is made; at old 1 / new 2 one old pod goes (the
 * ReplicaSet controller's choice: the newer one), the new pods stay. The
 * model's objects carry both ReplicaSets with their replicas. */
START_TEST (test_live_rolling_step)
{
  struct scenario *sc0 = lab (2, "http:80", "http:8080", "app=solo");
  struct scenario *sc1 = lab (2, "http:8000", "http:8080", "app=solo");
  struct model *m0 = build (sc0, NULL);
  struct live_buf b;
  live_from_model (m0, &b);
  const char *old_hash = strrchr (m0->pods[0].replicaset, '-') + 1;
  struct model_rs old = { .replicas = 2, .revision = 1 };
  snprintf (old.hash, sizeof old.hash, "%s", old_hash);
  struct model_live_workload *lw = &b.workloads[0];
  ck_assert_str_eq (lw->name, "web");
  *lw = (struct model_live_workload) { .kind = lw->kind, .ns = lw->ns, .name = lw->name,
                                       .next_serial = lw->next_serial, .rolling = true, .new_replicas = 1,
                                       .new_revision = 2, .old_rs = &old, .n_old_rs = 1 };
  struct model *m1 = build (sc1, &b.live);
  ck_assert_uint_eq (count_pods (m1, "web"), 3);
  const char *new_rs = NULL;
  size_t n_old = 0;
  for (size_t i = 0; i < m1->n_pods; i++)
    {
      const struct model_pod *p = &m1->pods[i];
      if (strcmp (p->wl->name, "web") != 0)
        continue;
      if (find_pod (m0, p->name))
        {
          /* an old pod: its replicaset and app are the old template's */
          n_old++;
          ck_assert_str_eq (p->replicaset, m0->pods[0].replicaset);
          ck_assert_ptr_nonnull (p->old_app);
          ck_assert_uint_eq (p->old_app->port, 80);
        }
      else
        {
          new_rs = p->replicaset;
          ck_assert_ptr_null (p->old_app);
          ck_assert (!p->ready);
        }
    }
  ck_assert_uint_eq (n_old, 2);
  ck_assert_ptr_nonnull (new_rs);
  ck_assert_str_ne (new_rs, m0->pods[0].replicaset);
  struct lab_objects *o = objects_from_model (m1);
  const struct lab_workload *w = &o->workloads[0];
  ck_assert_str_eq (w->name, "web");
  ck_assert_int_eq (w->new_replicas, 1);
  ck_assert_int_eq (w->revision, 2);
  ck_assert_uint_eq (w->n_old_rs, 1);
  ck_assert_str_eq (w->old_rs[0].hash, old_hash);
  ck_assert_int_eq (w->old_rs[0].replicas, 2);
  for (size_t i = 0; i < o->n_pods; i++)
    if (strcmp (o->pods[i].name, m0->pods[0].name) == 0)
      ck_assert_uint_eq (o->pods[i].app.port, 80);
  objects_free (o);
  /* the next step: old 1, new 2 */
  struct live_buf b2;
  live_from_model (m1, &b2);
  for (size_t i = 0; i < m1->n_pods; i++)
    if (m1->pods[i].old_app)
      b2.pods[i].app_port = m1->pods[i].old_app->port;
  old.replicas = 1;
  b2.workloads[0] = (struct model_live_workload) { .kind = b2.workloads[0].kind, .ns = b2.workloads[0].ns,
                                                   .name = b2.workloads[0].name,
                                                   .next_serial = b2.workloads[0].next_serial, .rolling = true,
                                                   .new_replicas = 2, .new_revision = 2, .old_rs = &old,
                                                   .n_old_rs = 1 };
  struct model *m2 = build (sc1, &b2.live);
  ck_assert_uint_eq (count_pods (m2, "web"), 4 - 1);
  size_t kept_old = 0, kept_new = 0;
  for (size_t i = 0; i < m2->n_pods; i++)
    if (strcmp (m2->pods[i].wl->name, "web") == 0)
      {
        kept_old += find_pod (m0, m2->pods[i].name) != NULL;
        kept_new += find_pod (m1, m2->pods[i].name) != NULL && find_pod (m0, m2->pods[i].name) == NULL;
      }
  ck_assert_uint_eq (kept_old, 1);
  ck_assert_uint_eq (kept_new, 1);
  /* the older of the two old pods stays (newer ones go first) */
  ck_assert_ptr_nonnull (find_pod (m2, m0->pods[0].name));
  model_free (m2);
  model_free (m0);
  model_free (m1);
  scenario_free (sc0);
  scenario_free (sc1);
}
END_TEST

/* A bare pod is kept by name: new labels are patched in place (it stays,
 * same address), a new app needs a new pod (same name, next address). */
START_TEST (test_live_bare_pod)
{
  struct scenario *sc0 = lab (2, "http:80", "http:8080", "app=solo");
  struct scenario *relabel = lab (2, "http:80", "http:8080", "app=solo, tier=x");
  struct scenario *newapp = lab (2, "http:80", "http:9090", "app=solo");
  struct model *m0 = build (sc0, NULL);
  const struct model_pod *solo0 = find_pod (m0, "solo");
  ck_assert_ptr_nonnull (solo0);
  struct live_buf b;
  live_from_model (m0, &b);
  struct model *m1 = build (relabel, &b.live);
  const struct model_pod *solo1 = find_pod (m1, "solo");
  ck_assert_ptr_nonnull (solo1);
  ck_assert_uint_eq (solo1->ip, solo0->ip);
  ck_assert_int_eq (solo1->node, solo0->node);
  ck_assert_str_eq (solo1->host_veth, solo0->host_veth);
  model_free (m1);
  m1 = build (newapp, &b.live);
  solo1 = find_pod (m1, "solo");
  ck_assert_ptr_nonnull (solo1);
  ck_assert_uint_ne (solo1->ip, solo0->ip);
  ck_assert_uint_eq (m1->n_pods, m0->n_pods);
  model_free (m1);
  model_free (m0);
  scenario_free (sc0);
  scenario_free (relabel);
  scenario_free (newapp);
}
END_TEST

static const json_t *
pod_container (const json_t *items, const char *name)
{
  size_t i;
  const json_t *o;
  json_array_foreach (items, i, o)
  {
    const json_t *meta = json_object_get (o, "metadata");
    if (strcmp (json_string_value (json_object_get (o, "kind")), "Pod") == 0
        && strcmp (json_string_value (json_object_get (meta, "name")), name) == 0)
      return json_array_get (json_object_get (json_object_get (o, "spec"), "containers"), 0);
  }
  ck_abort_msg ("no Pod %s", name);
  return NULL;
}

/* readiness: tcp on an http app's port by default, none for a command;
 * carried into the lab's objects (JSON round trip) and the store's Pods as
 * the API writes readinessProbe. Only a non-default probe is part of the
 * pod template (hash). */
START_TEST (test_readiness_carried)
{
  cleanup_free char *path = unit_write_file (
      "ready.ini", "[lab]\nname = ready\ntemplate = k3s\n"
                   "[node cp1]\nrole = control-plane\nnics = eth0=hostonly:192.168.56.10\n"
                   "[deployment demo/web]\nlabels = app=web\napp = http:80\n"
                   "[deployment demo/web2]\nlabels = app=web\napp = http:80\nreadiness = tcp:80\n"
                   "[deployment demo/web3]\nlabels = app=web\napp = http:80\nreadiness = http:80/healthz\n"
                   "[pod demo/cmd]\ncommand = sleep 100\n"
                   "[pod demo/cmd2]\ncommand = sleep 100\nreadiness = tcp:9000\n");
  struct scenario *sc = NULL;
  nslab_error_t err = NULL;
  if (scenario_load (path, &sc, &err) < 0)
    ck_abort_msg ("%s", err->msg);
  ck_assert_int_eq (sc->workloads[0].readiness.kind, PROBE_TCP);
  ck_assert_uint_eq (sc->workloads[0].readiness.port, 80);
  ck_assert_int_eq (sc->workloads[2].readiness.kind, PROBE_HTTP);
  ck_assert_str_eq (sc->workloads[2].readiness.path, "/healthz");
  ck_assert_int_eq (sc->workloads[3].readiness.kind, PROBE_NONE);
  ck_assert_int_eq (sc->workloads[4].readiness.kind, PROBE_TCP);
  struct model *m = build (sc, NULL);
  /* The default written out keeps the template (and the hash); another
   * probe is a new template. */
  const char *variants[] = { "", "readiness = tcp:80\n", "readiness = tcp:81\n" };
  char *rs[3];
  for (int v = 0; v < 3; v++)
    {
      cleanup_free char *text = xasprintf ("[lab]\nname = ready\ntemplate = k3s\n"
                                           "[node cp1]\nrole = control-plane\nnics = eth0=hostonly:192.168.56.10\n"
                                           "[deployment demo/web]\nlabels = app=web\napp = http:80\n%s",
                                           variants[v]);
      cleanup_free char *vp = unit_write_file ("ready-v.ini", text);
      struct scenario *vsc = NULL;
      if (scenario_load (vp, &vsc, &err) < 0)
        ck_abort_msg ("%s", err->msg);
      struct model *vm = build (vsc, NULL);
      rs[v] = xstrdup (vm->pods[0].replicaset);
      model_free (vm);
      scenario_free (vsc);
    }
  ck_assert_str_eq (rs[0], rs[1]);
  ck_assert_str_ne (rs[0], rs[2]);
  for (int v = 0; v < 3; v++)
    free (rs[v]);

  struct lab_objects *o = objects_from_model (m);
  ck_assert_int_eq (o->pods[2].readiness.kind, PROBE_HTTP);
  ck_assert_uint_eq (o->pods[2].readiness.port, 80);
  ck_assert_str_eq (o->pods[2].readiness.path, "/healthz");
  json_t *j = json_object ();
  objects_to_json (o, &(struct json_out) { .obj = j });
  cleanup_free char *first = json_dumps (j, JSON_COMPACT | JSON_SORT_KEYS);
  struct lab_objects *back = NULL;
  if (objects_from_json (j, &back, &err) < 0)
    ck_abort_msg ("%s", err->msg);
  json_decref (j);
  ck_assert_str_eq (back->pods[2].readiness.path, "/healthz");
  ck_assert_int_eq (back->pods[3].readiness.kind, PROBE_NONE);
  j = json_object ();
  objects_to_json (back, &(struct json_out) { .obj = j });
  cleanup_free char *second = json_dumps (j, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref (j);
  ck_assert_str_eq (first, second);

  json_t *items = resources_from_objects (o, 1700000000);
  cleanup_free char *tcp = json_dumps (json_object_get (pod_container (items, m->pods[0].name), "readinessProbe"),
                                       JSON_COMPACT | JSON_SORT_KEYS);
  /* the period the lab's kubelet probes with (LAB_PROBE_PERIOD_S), not the API's default 10 */
  ck_assert_str_eq (tcp, "{\"failureThreshold\":3,\"periodSeconds\":2,\"successThreshold\":1,"
                         "\"tcpSocket\":{\"port\":80},\"timeoutSeconds\":1}");
  cleanup_free char *http = json_dumps (json_object_get (pod_container (items, m->pods[2].name), "readinessProbe"),
                                        JSON_COMPACT | JSON_SORT_KEYS);
  ck_assert_str_eq (http, "{\"failureThreshold\":3,\"httpGet\":{\"path\":\"/healthz\",\"port\":80,\"scheme\":\"HTTP\"},"
                          "\"periodSeconds\":2,\"successThreshold\":1,\"timeoutSeconds\":1}");
  ck_assert_ptr_null (json_object_get (pod_container (items, "cmd"), "readinessProbe"));
  json_decref (items);
  objects_free (back);
  objects_free (o);
  model_free (m);
  scenario_free (sc);
}
END_TEST

/* An object of KIND named NAME in the resources. */
static const json_t *
find_item (const json_t *items, const char *kind, const char *name)
{
  size_t i;
  const json_t *o;
  json_array_foreach (items, i, o)
  {
    const json_t *meta = json_object_get (o, "metadata");
    if (strcmp (json_string_value (json_object_get (o, "kind")), kind) == 0
        && strcmp (json_string_value (json_object_get (meta, "name")), name) == 0)
      return o;
  }
  ck_abort_msg ("no %s %s", kind, name);
  return NULL;
}

/* A Deployment's strategy as its controller read it is what its status
 * shows (deployment_util.go): the new ReplicaSet's max-replicas annotation
 * is replicas + MaxSurge, Available is True while at least replicas -
 * MaxUnavailable pods are available; paused, Progressing is Unknown,
 * DeploymentPaused (sync.go checkPausedConditions); past its progress
 * deadline, False, ProgressDeadlineExceeded (progress.go). Without it, the
 * API server's defaults, 25 % / 25 %. */
START_TEST (test_live_strategy_in_status)
{
  struct scenario *sc0 = lab (2, "http:80", "http:8080", "app=solo");
  struct scenario *sc1 = lab (2, "http:8000", "http:8080", "app=solo");
  struct model *m0 = build (sc0, NULL);
  const char *old_hash = strrchr (m0->pods[0].replicaset, '-') + 1;
  struct model_rs old = { .replicas = 2, .revision = 1 };
  snprintf (old.hash, sizeof old.hash, "%s", old_hash);
  /* maxSurge 0, maxUnavailable 1 (for 2 replicas); default: 1 and 0 */
  const struct rollout_strategy surge0 = { .max_surge = { true, false, 0 }, .max_unavailable = { true, false, 1 } };
  struct rollout_spec specs[] = { rollout_spec_of (&surge0, 2, false), rollout_spec_default (2),
                                  rollout_spec_of (&surge0, 2, true), rollout_spec_of (&surge0, 2, false) };
  specs[3].deadline_exceeded = true;
  const bool read[] = { true, false, true, true };
  const char *want_max[] = { "2", "3", "2", "2" }, *want_avail[] = { "True", "False", "True", "True" };
  const char *want_progress[] = { "True ReplicaSetUpdated", "True ReplicaSetUpdated", "Unknown DeploymentPaused",
                                  "False ProgressDeadlineExceeded" };
  for (size_t v = 0; v < ARRAY_SIZE (specs); v++)
    {
      struct live_buf b;
      live_from_model (m0, &b);
      b.pods[0].ready = false; /* one old pod of two available */
      struct model_live_workload *lw = &b.workloads[0];
      *lw = (struct model_live_workload) { .kind = lw->kind, .ns = lw->ns, .name = lw->name,
                                           .next_serial = lw->next_serial, .rolling = true, .new_replicas = 1,
                                           .new_revision = 2, .old_rs = &old, .n_old_rs = 1,
                                           .spec_read = read[v], .spec = specs[v] };
      struct model *m1 = build (sc1, &b.live);
      struct lab_objects *o = objects_from_model (m1);
      json_t *items = resources_from_objects (o, 1700000000);
      cleanup_free char *new_rs = xasprintf ("web-%s", o->workloads[0].pod_template_hash);
      const json_t *rs = find_item (items, "ReplicaSet", new_rs);
      ck_assert_str_eq (json_string_value (json_object_get (json_object_get (json_object_get (rs, "metadata"),
                                                                             "annotations"),
                                                            "deployment.kubernetes.io/max-replicas")),
                        want_max[v]);
      const json_t *conds = json_object_get (json_object_get (find_item (items, "Deployment", "web"), "status"),
                                             "conditions");
      ck_assert_str_eq (json_string_value (json_object_get (json_array_get (conds, 0), "type")), "Available");
      ck_assert_str_eq (json_string_value (json_object_get (json_array_get (conds, 0), "status")), want_avail[v]);
      cleanup_free char *progress
          = xasprintf ("%s %s", json_string_value (json_object_get (json_array_get (conds, 1), "status")),
                       json_string_value (json_object_get (json_array_get (conds, 1), "reason")));
      ck_assert_str_eq (progress, want_progress[v]);
      json_decref (items);
      objects_free (o);
      model_free (m1);
    }
  model_free (m0);
  scenario_free (sc0);
  scenario_free (sc1);
}
END_TEST

static Suite *
make_suite (void)
{
  Suite *s = suite_create ("model_live");
  TCase *tc = tcase_create ("core");
  tcase_add_test (tc, test_live_unchanged);
  tcase_add_test (tc, test_live_scale_up);
  tcase_add_test (tc, test_live_scale_down);
  tcase_add_test (tc, test_live_not_ready);
  tcase_add_test (tc, test_live_freed_ip);
  tcase_add_test (tc, test_live_new_template);
  tcase_add_test (tc, test_live_rolling_step);
  tcase_add_test (tc, test_live_bare_pod);
  tcase_add_test (tc, test_readiness_carried);
  tcase_add_test (tc, test_live_strategy_in_status);
  suite_add_tcase (s, tc);
  return s;
}

UNIT_MAIN (make_suite)
