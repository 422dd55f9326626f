/* Resolve a validated scenario into the cluster a real k3s/kubeadm would
 * build from it. Each step mirrors the component that does it for real:
 *   node pod CIDRs   kube-controller-manager (nodeipam, range allocator)
 *   pod placement    kube-scheduler (spread, then least loaded)
 *   pod names        deployment / replicaset controllers
 *   pod IPs          host-local IPAM (.1 gateway, .2 upward)
 *   ClusterIPs       apiserver service IP allocator (dynamic upper band)
 *   NodePorts        apiserver port allocator (dynamic upper band)
 *   endpoints        endpointslice controller
 * Randomness is replaced by hashes of the scenario, so runs repeat. */
#include "k8s/model.h"

#include <stdlib.h>
#include <string.h>

#include <nettle/sha2.h>

#include "k8s/names.h"
#include "base/strmap.h"
#include "base/shellsplit.h"
#include "base/util.h"

static int
model_error (nslab_error_t *err, const struct origin *o, const char *key, const char *fmt, ...)
  __attribute__ ((format (printf, 4, 5)));

static int
model_error (nslab_error_t *err, const struct origin *o, const char *key, const char *fmt, ...)
{
  va_list ap;
  struct strbuf sb;
  sb_init (&sb);
  if (o && o->file)
    sb_addf (&sb, "%s: [%s] %s: ", o->file, o->section, key);
  va_start (ap, fmt);
  sb_vaddf (&sb, fmt, ap);
  va_end (ap);
  cleanup_free char *msg = sb_steal (&sb);
  return nslab_error_invalid (err, "%s", msg);
}

static int
add_netns (struct model *m, char *name, enum netns_kind kind, int owner, const char *hostname)
{
  struct model_netns *ns = VEC_PUSH (m->netns, m->n_netns);
  ns->name = name;
  ns->kind = kind;
  ns->owner = owner;
  ns->hostname = hostname ? xstrdup (hostname) : NULL;
  return (int) m->n_netns - 1;
}

static int
check_netns_names_unique (struct model *m, nslab_error_t *err)
{
  struct strmap seen;
  strmap_init (&seen);
  int rc = 0;
  for (size_t i = 0; i < m->n_netns && rc == 0; i++)
    {
      size_t first = strmap_claim (&seen, m->netns[i].name, i);
      if (first != i)
        rc = nslab_error_invalid (err, "%s: two objects of lab %s would get the same namespace name %s; rename a node, network or pod",
                                  m->sc->files[0], m->lab, m->netns[first].name);
    }
  strmap_free (&seen);
  return rc;
}

/* Host-side name of a host-only NIC in the lab host: "<node>-<ifname>" reads
 * best; past IFNAMSIZ fall back to a hash. */
static char *
hostonly_peer_name (const char *lab, const char *node, const char *ifname)
{
  if (strlen (node) + 1 + strlen (ifname) <= 15)
    return xasprintf ("%s-%s", node, ifname);
  char key[512];
  snprintf (key, sizeof key, "%s/%s/%s", lab, node, ifname);
  return xasprintf ("nic%08x", (unsigned) (fnv1a64_str (key) & 0xffffffffu));
}

static int
build_nodes (struct model *m, nslab_error_t *err)
{
  const struct scenario *sc = m->sc;
  const struct cluster_def *c = &sc->cluster;
  m->nodes = xcalloc (sc->n_nodes, sizeof *m->nodes);
  m->n_nodes = sc->n_nodes;
  for (size_t i = 0; i < sc->n_nodes; i++)
    {
      const struct node_def *d = &sc->nodes[i];
      struct model_node *n = &m->nodes[i];
      char key[512];
      n->def = d;
      n->name = xstrdup (d->name);
      n->index = (int) i;
      n->role = d->role;
      n->schedulable = d->schedulable;
      n->pod_cidr = cidr_subnet (c->pod_cidr, c->node_mask, (uint32_t) i);
      if (!cidr_contains (c->pod_cidr, n->pod_cidr.addr))
        return model_error (err, &d->origin, "nics", "too many nodes for pod CIDR");
      n->netns = add_netns (m, xasprintf ("%s-%s", m->lab, d->name), NETNS_NODE, (int) i, d->name);
      snprintf (key, sizeof key, "vtep/%s/%s", m->lab, d->name);
      mac_local (fnv1a64_str (key), n->vtep_mac);
      n->nics = xcalloc (d->n_nics, sizeof *n->nics);
      n->n_nics = d->n_nics;
      n->internal_nic = d->internal_nic;
      for (size_t k = 0; k < d->n_nics; k++)
        {
          struct model_nic *nic = &n->nics[k];
          nic->def = &d->nics[k];
          nic->ifname = xstrdup (d->nics[k].ifname);
          nic->addr = d->nics[k].addr;
          nic->net = &sc->networks[d->nics[k].network];
          snprintf (key, sizeof key, "nic/%s/%s/%s", m->lab, d->name, nic->ifname);
          if (nic->net->hypervisor == HV_VMWARE)
            {
              static const uint8_t vmware_vm_oui[3] = { 0x00, 0x0c, 0x29 };
              mac_vendor (vmware_vm_oui, fnv1a64_str (key), nic->mac);
            }
          else
            mac_virtualbox (fnv1a64_str (key), nic->mac);
          if (nic->net->kind == NET_NAT)
            {
              /* One NAT router per node and NAT NIC, as VirtualBox runs
               * one NAT engine per VM: every node can be 10.0.2.15. */
              nic->peer_ifname = xstrdup ("eth0");
              nic->peer_ns = add_netns (m, xasprintf ("%s-%s-%s", m->lab, d->name, nic->net->name),
                                        NETNS_NATROUTER, (int) i, NULL);
            }
          else
            {
              nic->peer_ifname = hostonly_peer_name (m->lab, d->name, nic->ifname);
              nic->peer_ns = 0; /* the lab host */
            }
        }
      n->internal_ip = n->nics[n->internal_nic].addr;
    }
  /* flanneld's host-gw backend routes each pod subnet via the node's
   * INTERNAL-IP, so every node must reach every other one directly: one
   * shared segment (a NAT network is one router per VM, not shared). */
  for (size_t i = 1; c->cni == CNI_HOST_GW && i < m->n_nodes; i++)
    {
      const struct network_def *net = m->nodes[i].nics[m->nodes[i].internal_nic].net;
      if (net != m->nodes[0].nics[m->nodes[0].internal_nic].net || net->kind != NET_HOSTONLY)
        return model_error (err, &sc->nodes[i].origin, "nics",
                            "cni host-gw needs every node's INTERNAL-IP on one hostonly network (as %s's %s), "
                            "the next hop of its pod subnet route",
                            m->nodes[0].name, m->nodes[0].nics[m->nodes[0].internal_nic].ifname);
    }
  if (c->cni == CNI_WEAVE && m->n_nodes > 0)
    {
      cleanup_free struct cidr *ranges = xcalloc (m->n_nodes, sizeof *ranges);
      cleanup_free uint32_t *bridges = xcalloc (m->n_nodes, sizeof *bridges);
      if (!weave_ipam_ranges (c->pod_cidr, m->n_nodes, ranges, bridges))
        {
          char b[CIDR_STRLEN];
          return model_error (err, &sc->nodes[0].origin, "nics", "Weave's IPAM cannot split pod CIDR %s among %zu nodes",
                              cidr_fmt (c->pod_cidr, b), m->n_nodes);
        }
      for (size_t i = 0; i < m->n_nodes; i++)
        {
          m->nodes[i].weave_range = ranges[i];
          m->nodes[i].weave_bridge_ip = bridges[i];
        }
    }
  return 0;
}

/* The block a node's pods get their addresses from and the first and last
 * address of it the IPAM hands to pods: host-local's node subnet (.2 up,
 * the gateway .1 and broadcast excluded) or Weave's block (above the
 * bridge's address, the range's broadcast excluded). */
static struct cidr
node_pod_block (const struct model *m, const struct model_node *n, uint32_t *first, uint32_t *last)
{
  const struct cluster_def *c = &m->sc->cluster;
  if (c->cni == CNI_WEAVE)
    {
      *first = n->weave_bridge_ip + 1;
      *last = cidr_broadcast (n->weave_range);
      if (*last == cidr_broadcast (c->pod_cidr))
        (*last)--;
      return n->weave_range;
    }
  *first = cidr_network (n->pod_cidr) + 2;
  *last = cidr_broadcast (n->pod_cidr) - 1;
  return n->pod_cidr;
}

/* ---- Weave Net IPAM (weaveworks/weave ipam/ring, ipam/space) ----------- */

struct span {
  uint64_t start, end; /* [start, end) */
};

/* address.Range.BiggestCIDRRange: the biggest CIDR-aligned block inside
 * [start, start+size). msb is the highest power of two <= size. */
static struct span
biggest_cidr_range (uint64_t start, uint64_t size)
{
  uint64_t msb = 1;
  while (msb * 2 <= size)
    msb *= 2;
  uint64_t masked_size = size & (msb - 1), masked_start = start & (msb - 1);
  if (masked_start == 0)
    return (struct span){ start, start + msb };
  if (msb - masked_start <= masked_size)
    return (struct span){ start + msb - masked_start, start + 2 * msb - masked_start };
  uint64_t half = msb / 2;
  if (half >= masked_start)
    return (struct span){ start + half - masked_start, start + 2 * half - masked_start };
  return (struct span){ start + msb - masked_start, start + msb - masked_start + half };
}

struct weave_peer {
  struct span *owned; /* sorted, disjoint */
  size_t n_owned;
  uint64_t bridge;    /* the one address allocated when the next peer joins */
};

/* The free chunks of a peer: what it owns minus its bridge address. */
static size_t
peer_free (const struct weave_peer *p, struct span *out)
{
  size_t n = 0;
  for (size_t i = 0; i < p->n_owned; i++)
    {
      struct span o = p->owned[i];
      if (p->bridge >= o.start && p->bridge < o.end)
        {
          if (p->bridge > o.start)
            out[n++] = (struct span){ o.start, p->bridge };
          if (p->bridge + 1 < o.end)
            out[n++] = (struct span){ p->bridge + 1, o.end };
        }
      else
        out[n++] = o;
    }
  return n;
}

static uint64_t
peer_n_free (const struct weave_peer *p)
{
  uint64_t n = 0;
  for (size_t i = 0; i < p->n_owned; i++)
    n += p->owned[i].end - p->owned[i].start;
  return n - 1;
}

static void
peer_remove (struct weave_peer *p, struct span d)
{
  for (size_t i = 0; i < p->n_owned; i++)
    {
      struct span o = p->owned[i];
      if (d.start < o.start || d.end > o.end)
        continue;
      if (d.start == o.start && d.end == o.end)
        {
          memmove (&p->owned[i], &p->owned[i + 1], (p->n_owned - i - 1) * sizeof *p->owned);
          p->n_owned--;
        }
      else if (d.start == o.start)
        p->owned[i].start = d.end;
      else if (d.end == o.end)
        p->owned[i].end = d.start;
      else
        {
          VEC_PUSH (p->owned, p->n_owned);
          memmove (&p->owned[i + 2], &p->owned[i + 1], (p->n_owned - i - 2) * sizeof *p->owned);
          p->owned[i].end = d.start;
          p->owned[i + 1] = (struct span){ d.end, o.end };
        }
      return;
    }
}

static struct cidr
span_cidr (struct span s)
{
  uint8_t len = 32;
  while (len > 0 && ((uint64_t) 1 << (33 - len)) <= s.end - s.start && (s.start & (((uint64_t) 1 << (33 - len)) - 1)) == 0)
    len--;
  return (struct cidr){ (uint32_t) s.start, len };
}

bool
weave_ipam_ranges (struct cidr range, size_t n, struct cidr *out, uint32_t *bridge)
{
  uint64_t start = cidr_network (range), end = start + cidr_size (range);
  struct weave_peer *peers = xcalloc (n ? n : 1, sizeof *peers);
  struct span *chunks = NULL;
  bool ok = true;
  for (size_t i = 0; i < n && ok; i++)
    {
      struct weave_peer *p = &peers[i];
      if (i == 0)
        *VEC_PUSH (p->owned, p->n_owned) = (struct span){ start, end };
      else
        {
          /* ChoosePeersToAskForSpace weighs peers by free space; nslab
           * asks the one with the most, lowest index on a tie. */
          size_t donor = 0;
          for (size_t k = 1; k < i; k++)
            if (peer_n_free (&peers[k]) > peer_n_free (&peers[donor]))
              donor = k;
          struct weave_peer *d = &peers[donor];
          chunks = xrealloc (chunks, (d->n_owned + 1) * sizeof *chunks);
          size_t nc = peer_free (d, chunks);
          struct span big = { 0, 0 };
          uint64_t big_size = 0, n_free = 0;
          for (size_t c = 0; c < nc; c++)
            {
              n_free += chunks[c].end - chunks[c].start;
              if (chunks[c].end - chunks[c].start >= big_size)
                {
                  struct span b = biggest_cidr_range (chunks[c].start, chunks[c].end - chunks[c].start);
                  if (b.end - b.start >= big_size)
                    {
                      big = b;
                      big_size = b.end - b.start;
                    }
                }
            }
          if (big_size == 0)
            {
              ok = false;
              break;
            }
          /* Donate no more than half of what is free. */
          if (big_size > n_free / 2)
            big.start += big_size / 2;
          peer_remove (d, big);
          *VEC_PUSH (p->owned, p->n_owned) = big;
        }
      /* `weave expose`: the lowest owned address that is neither the
       * range's network nor its broadcast address. */
      struct span first = p->owned[0];
      p->bridge = first.start == start ? start + 1 : first.start;
      if (p->bridge >= first.end || p->bridge >= end - 1)
        ok = false;
    }
  for (size_t i = 0; i < n; i++)
    {
      if (ok)
        {
          /* The block the bridge address is in; the first peer's is what
           * is left at the start of the range. */
          struct span b = peers[i].owned[0];
          out[i] = span_cidr (b);
          bridge[i] = (uint32_t) peers[i].bridge;
        }
      free (peers[i].owned);
    }
  free (peers);
  free (chunks);
  return ok;
}

/* The description a deployment's pod-template-hash is computed from: what
 * makes up its pod template here (labels and app). */
static char *
template_desc (const struct workload_def *w)
{
  struct strbuf sb;
  sb_init (&sb);
  sb_addf (&sb, "%s/%s", w->ns, w->name);
  for (size_t i = 0; i < w->n_labels; i++)
    sb_addf (&sb, ",%s=%s", w->labels[i].key, w->labels[i].value);
  sb_addf (&sb, ";app=%d:%u:%s", (int) w->app.kind, w->app.port, w->app.command ? w->app.command : "");
  /* Only when set: templates without an image keep the hashes they had. */
  if (w->image)
    sb_addf (&sb, ";image=%s;container=%s", w->image, w->container);
  /* A readiness probe other than the default is part of the template too
   * (the default leaves every hash as it was before probes). */
  const struct probe_def *r = &w->readiness;
  bool is_default = w->app.kind == APP_HTTP ? r->kind == PROBE_TCP && r->port == w->app.port : r->kind == PROBE_NONE;
  if (!is_default)
    sb_addf (&sb, ";ready=%d:%u:%s", (int) r->kind, r->port, r->path ? r->path : "");
  return sb_steal (&sb);
}

uint32_t
model_template_hash32 (const struct workload_def *w)
{
  cleanup_free char *desc = template_desc (w);
  return fnv1a32 (desc, strlen (desc), FNV32_INIT);
}

/* The names taken: the model's pods so far and every live pod, as
 * "NS/NAME" (neither has a slash). */
static void
pod_name_take (struct strmap *taken, const char *ns, const char *name)
{
  cleanup_free char *k = xasprintf ("%s/%s", ns, name);
  strmap_put (taken, k, (void *) 1);
}

static bool
pod_name_taken (const struct strmap *taken, const char *ns, const char *name)
{
  cleanup_free char *k = xasprintf ("%s/%s", ns, name);
  return strmap_get (taken, k) != NULL;
}

/* The serial of a new pod replaces the generator's randomness: the name is
 * a hash of lab/ns/workload/serial, and serials only grow over a lab's
 * life, so a name comes back only on a hash collision, which is rehashed. */
static char *
generate_pod_name (const struct model *m, const struct strmap *taken, const struct workload_def *w, int replica,
                   const char *hash)
{
  if (w->kind == WL_POD)
    return xstrdup (w->name);
  for (unsigned salt = 0;; salt++)
    {
      char key[512], suffix[6];
      snprintf (key, sizeof key, "%s/%s/%s/%d/%u", m->lab, w->ns, w->name, replica, salt);
      safe_random_string (fnv1a64_str (key), 5, suffix);
      char *name = w->kind == WL_DEPLOYMENT ? xasprintf ("%s-%s-%s", w->name, hash, suffix)
                                            : xasprintf ("%s-%s", w->name, suffix);
      if (!pod_name_taken (taken, w->ns, name))
        return name;
      free (name);
    }
}

static bool
node_allowed (const struct workload_def *w, const struct model_node *n)
{
  if (w->n_nodes == 0)
    return n->schedulable;
  for (size_t i = 0; i < w->n_nodes; i++)
    if (strcmp (w->nodes[i], n->name) == 0)
      return true;
  return false;
}

/* The LoadBalancer whose servicelb pods a DaemonSet runs, NULL for
 * other workloads. */
static const struct service_def *
servicelb_def (const struct model *m, const struct workload_def *w)
{
  return w->kind == WL_DAEMONSET ? m->lb_def[w - m->sc->workloads] : NULL;
}

static void
servicelb_defs (struct model *m)
{
  const struct scenario *sc = m->sc;
  m->lb_def = xcalloc (sc->n_workloads + 1, sizeof *m->lb_def);
  struct strmap by_name;
  strmap_init (&by_name);
  for (size_t i = 0; i < sc->n_services; i++)
    {
      cleanup_free char *k = xasprintf ("%s/%s", sc->services[i].ns, sc->services[i].name);
      strmap_put (&by_name, k, (void *) &sc->services[i]);
    }
  for (size_t w = 0; w < sc->n_workloads; w++)
    if (sc->workloads[w].kind == WL_DAEMONSET && sc->workloads[w].lb_svc_ns)
      {
        cleanup_free char *k = xasprintf ("%s/%s", sc->workloads[w].lb_svc_ns, sc->workloads[w].lb_svc_name);
        m->lb_def[w] = strmap_get (&by_name, k);
      }
  strmap_free (&by_name);
}

/* The scheduler's NodePorts filter: does a pod placed on node N already
 * hold one of W's host ports (servicelb's: each port of its service)? A
 * second LoadBalancer on a port stays Pending where the first runs. */
static bool
host_ports_taken (const struct model *m, const struct workload_def *w, int n)
{
  const struct service_def *mine = servicelb_def (m, w);
  for (size_t i = 0; mine && i < m->n_pods; i++)
    {
      const struct service_def *other = m->pods[i].node == n ? servicelb_def (m, m->pods[i].wl) : NULL;
      for (size_t a = 0; other && a < mine->n_ports; a++)
        for (size_t b = 0; b < other->n_ports; b++)
          if (mine->ports[a].port == other->ports[b].port && mine->ports[a].protocol == other->ports[b].protocol)
            return true;
    }
  return false;
}

/* kube-scheduler's default scoring, reduced to what decides placement in a
 * lab: spread the replicas of one workload (PodTopologySpread's hostname
 * default constraint), then prefer the least loaded node, then node order. */
static int
schedule_pod (const struct model *m, const struct workload_def *w, const size_t *same_on_node, uint32_t pinned_ip,
              const struct origin *o, nslab_error_t *err)
{
  if (pinned_ip)
    {
      /* A pinned IP decides the node: only its node's host-local range can
       * hand it out. */
      for (size_t i = 0; i < m->n_nodes; i++)
        {
          uint32_t first, last;
          if (!cidr_contains (node_pod_block (m, &m->nodes[i], &first, &last), pinned_ip))
            continue;
          if (w->n_nodes && !node_allowed (w, &m->nodes[i]))
            {
              char ip[IP_STRLEN];
              return model_error (err, o, w->kind == WL_POD ? "ip" : "ips",
                                  "%s belongs to node %s (pod CIDR), which the workload may not run on",
                                  ip_fmt (pinned_ip, ip), m->nodes[i].name);
            }
          return (int) i;
        }
      char ip[IP_STRLEN];
      return model_error (err, o, w->kind == WL_POD ? "ip" : "ips", "%s is in no node's pod CIDR",
                          ip_fmt (pinned_ip, ip));
    }
  /* The DaemonSet controller: a pod for every node that lacks one and
   * has its host ports free (-2: none left, not an error). */
  if (w->kind == WL_DAEMONSET)
    {
      for (size_t i = 0; i < m->n_nodes; i++)
        if (node_allowed (w, &m->nodes[i]) && same_on_node[i] == 0 && !host_ports_taken (m, w, (int) i))
          return (int) i;
      return -2;
    }
  int best = -1;
  size_t best_same = 0, best_total = 0;
  for (size_t i = 0; i < m->n_nodes; i++)
    {
      const struct model_node *n = &m->nodes[i];
      if (!node_allowed (w, n))
        continue;
      size_t same = same_on_node[i];
      if (best < 0 || same < best_same || (same == best_same && n->n_pods < best_total))
        {
          best = (int) i;
          best_same = same;
          best_total = n->n_pods;
        }
    }
  if (best < 0)
    return model_error (err, o, w->n_nodes ? "nodes" : "replicas",
                        "no schedulable node for the pods (control-plane nodes are tainted in this flavor; set nodes = or schedulable = true)");
  return best;
}

static bool
ip_in_list (const uint32_t *ips, size_t n, uint32_t ip)
{
  for (size_t i = 0; i < n; i++)
    if (ips[i] == ip)
      return true;
  return false;
}

/* host-local: gateway .1 reserved, first pod .2, then upward; pinned
 * addresses are taken by their pods and skipped by the others. */
static int
assign_pod_ips (struct model *m, nslab_error_t *err)
{
  uint32_t *pinned = xcalloc (m->n_pods, sizeof *pinned);
  size_t n_pinned = 0;
  for (size_t i = 0; i < m->n_pods; i++)
    if (m->pods[i].ip)
      pinned[n_pinned++] = m->pods[i].ip;
  uint32_t *next = xcalloc (m->n_nodes, sizeof *next);
  int ret = 0;
  for (size_t i = 0; i < m->n_pods; i++)
    {
      struct model_pod *p = &m->pods[i];
      const struct model_node *n = &m->nodes[p->node];
      uint32_t first, last;
      struct cidr block = node_pod_block (m, n, &first, &last);
      if (p->ip)
        continue;
      uint32_t ip = next[p->node] ? next[p->node] : first;
      while (ip <= last && ip_in_list (pinned, n_pinned, ip))
        ip++;
      if (ip > last)
        {
          char c[CIDR_STRLEN];
          ret = model_error (err, &p->wl->origin, "replicas", "node %s has no free address left in its pod CIDR %s",
                             n->name, cidr_fmt (block, c));
          break;
        }
      p->ip = ip;
      next[p->node] = ip + 1;
    }
  free (pinned);
  free (next);
  return ret;
}

/* Far beyond what a machine runs as namespaces; keeps planning linear-ish. */
#define MODEL_MAX_PODS 5000

/* ---- A running lab (model_build_live) ------------------------------------ */

static int
node_index (const struct model *m, const char *name)
{
  for (size_t i = 0; name && i < m->n_nodes; i++)
    if (strcmp (m->nodes[i].name, name) == 0)
      return (int) i;
  return -1;
}

static bool
live_app_is (const struct model_live_pod *lp, const struct app_def *app)
{
  if (lp->app_kind != app->kind)
    return false;
  if (app->kind == APP_HTTP || app->kind == APP_DNS)
    return lp->app_port == app->port;
  if (app->kind == APP_COMMAND)
    return lp->app_command && app->command && strcmp (lp->app_command, app->command) == 0;
  return true;
}

/* Is the live pod one of the workload's (any template)? */
static bool
live_owned_by (const struct model_live_pod *lp, const struct workload_def *w)
{
  return lp->owner_kind == w->kind && strcmp (lp->ns, w->ns) == 0 && lp->owner_name
         && strcmp (lp->owner_name, w->name) == 0;
}

/* Is it one of the workload's pods of its current template, on a node the
 * lab still has? A deployment's template is its replicaset's hash; a
 * replicaset's pods and a bare pod are checked by their app (a bare pod's
 * node and IP are immutable too). */
static bool
live_current (const struct model *m, const struct model_live_pod *lp, const struct workload_def *w,
              const char *hash)
{
  if (!live_owned_by (lp, w) || node_index (m, lp->node) < 0 || lp->ip == 0)
    return false;
  switch (w->kind)
    {
    case WL_DEPLOYMENT:
      {
        cleanup_free char *rs = xasprintf ("%s-%s", w->name, hash);
        return lp->replicaset && strcmp (lp->replicaset, rs) == 0;
      }
    case WL_REPLICASET:
      return lp->replicaset && strcmp (lp->replicaset, w->name) == 0 && live_app_is (lp, &w->app);
    case WL_DAEMONSET:
      return live_app_is (lp, &w->app) && node_allowed (w, &m->nodes[node_index (m, lp->node)]);
    case WL_POD:
      if (strcmp (lp->name, w->name) != 0 || !live_app_is (lp, &w->app))
        return false;
      if (w->n_nodes && strcmp (w->nodes[0], lp->node) != 0)
        return false;
      return w->n_ips == 0 || w->ips[0] == lp->ip;
    }
  return false;
}

static int
log2_floor (int64_t d)
{
  return d > 0 ? 63 - __builtin_clzll ((unsigned long long) d) : -1;
}

/* controller.ActivePodsWithRanks for two different times: <0 when a goes
 * first (the newer; an unknown time before a known one), >0 when b does;
 * with Now, times in one power-of-two bucket of age are ordered by UID. */
static int
time_order (int64_t ta, int64_t tb, const char *uid_a, const char *uid_b, int64_t now)
{
  if (now == 0 || ta == 0 || tb == 0)
    {
      if (ta == 0 || tb == 0)
        return ta == 0 ? -1 : 1;
      return ta > tb ? -1 : 1;
    }
  int diff = log2_floor (now - ta) - log2_floor (now - tb);
  if (diff == 0)
    {
      int c = strcmp (uid_a ? uid_a : "", uid_b ? uid_b : "");
      return c < 0 ? -1 : c > 0 ? 1 : 0;
    }
  return diff < 0 ? -1 : 1;
}

/* The live pods a workload owns (live_owned_by), in live order. */
struct live_owned {
  size_t *idx;
  size_t n;
};

static char *
owner_key (enum workload_kind kind, const char *ns, const char *name)
{
  return xasprintf ("%d\t%s\t%s", (int) kind, ns, name);
}

/* own[w] for every workload of the scenario: one pass over the live pods
 * instead of one per workload. */
static struct live_owned *
live_owned_index (const struct scenario *sc, const struct model_live *live)
{
  struct live_owned *own = xcalloc (sc->n_workloads + 1, sizeof *own);
  struct strmap wl;
  strmap_init (&wl);
  for (size_t w = 0; w < sc->n_workloads; w++)
    {
      cleanup_free char *k = owner_key (sc->workloads[w].kind, sc->workloads[w].ns, sc->workloads[w].name);
      strmap_put (&wl, k, (void *) (w + 1));
    }
  for (size_t i = 0; live && i < live->n_pods; i++)
    {
      const struct model_live_pod *lp = &live->pods[i];
      if (lp->owner_name == NULL)
        continue;
      cleanup_free char *k = owner_key (lp->owner_kind, lp->ns, lp->owner_name);
      size_t w = (size_t) strmap_get (&wl, k);
      if (w)
        *VEC_PUSH (own[w - 1].idx, own[w - 1].n) = i;
    }
  /* Two workloads of one kind and name in one namespace share the pods. */
  for (size_t w = 0; w < sc->n_workloads; w++)
    {
      cleanup_free char *k = owner_key (sc->workloads[w].kind, sc->workloads[w].ns, sc->workloads[w].name);
      size_t first = (size_t) strmap_get (&wl, k) - 1;
      if (first != w && own[first].n)
        {
          own[w].idx = xcalloc (own[first].n, sizeof *own[w].idx);
          memcpy (own[w].idx, own[first].idx, own[first].n * sizeof *own[w].idx);
          own[w].n = own[first].n;
        }
    }
  strmap_free (&wl);
  return own;
}

static void
live_owned_free (struct live_owned *own, size_t n)
{
  for (size_t w = 0; own && w < n; w++)
    free (own[w].idx);
  free (own);
}

struct rank_cand {
  size_t live;  /* index into live->pods */
  int rank;     /* active pods of the workload on the same node */
};

/* ActivePodsWithRanks.Less: does a go before b in the deletion order?
 * Every pod here runs (phase Running, no restarts, no deletion cost). */
static bool
delete_before (const struct model_live *live, const struct rank_cand *a, const struct rank_cand *b)
{
  const struct model_live_pod *pa = &live->pods[a->live], *pb = &live->pods[b->live];
  bool ua = !pa->node || !*pa->node, ub = !pb->node || !*pb->node;
  if (ua != ub)
    return ua;
  if (pa->ready != pb->ready)
    return !pa->ready;
  if (a->rank != b->rank)
    return a->rank > b->rank;
  int o = 0;
  if (pa->ready && pb->ready && pa->ready_ns != pb->ready_ns)
    o = time_order (pa->ready_ns, pb->ready_ns, pa->uid, pb->uid, live->now_ns);
  else if (pa->created_ns != pb->created_ns)
    o = time_order (pa->created_ns, pb->created_ns, pa->uid, pb->uid, live->now_ns);
  if (o != 0)
    return o < 0;
  return a->live > b->live; /* later in creation order first */
}

/* The live pods model_build_live keeps for workload w, in live order:
 * keep[i] set for each. Returns how many. */
static size_t
live_keep (const struct model *m, const struct model_live *live, const struct workload_def *w, const char *hash,
           int replicas, const struct live_owned *own, bool *keep)
{
  cleanup_free struct rank_cand *c = xcalloc (own->n + 1, sizeof *c);
  size_t n = 0;
  for (size_t k = 0; k < own->n; k++)
    if (live_current (m, &live->pods[own->idx[k]], w, hash))
      c[n++].live = own->idx[k];
  if (n <= (size_t) replicas)
    {
      for (size_t i = 0; i < n; i++)
        keep[c[i].live] = true;
      return n;
    }
  /* getPodsRankedByRelatedPodsOnSameNode: related pods are all the
   * workload's pods (every replicaset of a deployment). */
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < own->n; k++)
      {
        size_t j = own->idx[k];
        if (live->pods[j].node && live->pods[c[i].live].node
            && strcmp (live->pods[j].node, live->pods[c[i].live].node) == 0)
          c[i].rank++;
      }
  for (size_t i = 1; i < n; i++)
    for (size_t j = i; j > 0 && delete_before (live, &c[j], &c[j - 1]); j--)
      {
        struct rank_cand t = c[j];
        c[j] = c[j - 1];
        c[j - 1] = t;
      }
  size_t drop = n - (size_t) replicas;
  for (size_t i = drop; i < n; i++)
    keep[c[i].live] = true;
  return (size_t) replicas;
}

static bool
live_ip_used (const struct model *m, const struct model_live *live, uint32_t ip)
{
  for (size_t i = 0; i < m->n_pods; i++)
    if (m->pods[i].ip == ip)
      return true;
  for (size_t i = 0; i < live->n_pods; i++)
    if (live->pods[i].ip == ip)
      return true;
  return false;
}

/* host-local's allocator for the new pods (fresh[i]): a requested address
 * is reserved as is; otherwise RangeIter starts after last_reserved_ip (or
 * at the range start), runs to the end, wraps, and takes the first address
 * no pod holds. Every reservation becomes the last reserved one. Weave's
 * IPAM takes the lowest free address of the peer's block. */
static int
assign_pod_ips_live (struct model *m, const struct model_live *live, const bool *fresh, nslab_error_t *err)
{
  for (size_t i = 0; i < m->n_pods; i++)
    {
      struct model_pod *p = &m->pods[i];
      struct model_node *n = &m->nodes[p->node];
      if (!fresh[i])
        continue;
      if (p->ip)
        {
          n->last_reserved_ip = p->ip;
          continue;
        }
      uint32_t first, last;
      struct cidr block = node_pod_block (m, n, &first, &last);
      uint32_t ip = first;
      if (m->sc->cluster.cni != CNI_WEAVE && n->last_reserved_ip >= first && n->last_reserved_ip <= last)
        ip = n->last_reserved_ip == last ? first : n->last_reserved_ip + 1;
      uint64_t size = (uint64_t) last - first + 1, k;
      for (k = 0; k < size && live_ip_used (m, live, ip); k++)
        ip = ip == last ? first : ip + 1;
      if (k == size)
        {
          char c[CIDR_STRLEN];
          return model_error (err, &p->wl->origin, "replicas", "node %s has no free address left in its pod CIDR %s",
                              n->name, cidr_fmt (block, c));
        }
      p->ip = ip;
      n->last_reserved_ip = ip;
    }
  return 0;
}

/* live->workloads by owner_key (the first of a key wins). */
static void
live_serial_index (const struct model_live *live, struct strmap *out)
{
  strmap_init (out);
  for (size_t i = 0; live && i < live->n_workloads; i++)
    {
      const struct model_live_workload *lw = &live->workloads[i];
      cleanup_free char *k = owner_key (lw->kind, lw->ns, lw->name);
      strmap_put (out, k, (void *) (i + 1));
    }
}

static const struct model_live_workload *
live_workload (const struct model_live *live, const struct strmap *serials, const struct workload_def *w)
{
  cleanup_free char *k = owner_key (w->kind, w->ns, w->name);
  size_t i = (size_t) strmap_get (serials, k);
  return i ? &live->workloads[i - 1] : NULL;
}

static uint32_t
live_next_serial (const struct model_live *live, const struct strmap *serials, const struct workload_def *w)
{
  const struct model_live_workload *lw = live_workload (live, serials, w);
  return lw ? lw->next_serial : 0;
}

static struct model_pod *
push_pod (struct model *m, const struct workload_def *wl, char *name, const char *hash, int replica, int node)
{
  struct model_pod *p = VEC_PUSH (m->pods, m->n_pods);
  p->wl = wl;
  p->ns = xstrdup (wl->ns);
  p->name = name;
  if (wl->kind == WL_DEPLOYMENT)
    p->replicaset = xasprintf ("%s-%s", wl->name, hash);
  else if (wl->kind == WL_REPLICASET)
    p->replicaset = xstrdup (wl->name);
  p->replica = replica;
  p->node = node;
  p->ready = true;
  return p;
}

static int
build_pods (struct model *m, const struct model_live *live, nslab_error_t *err)
{
  const struct scenario *sc = m->sc;
  size_t total = 0;
  for (size_t w = 0; w < sc->n_workloads; w++)
    {
      total += (size_t) sc->workloads[w].replicas;
      if (total > MODEL_MAX_PODS)
        return model_error (err, &sc->workloads[w].origin, "replicas",
                            "the lab would have more than %d pods", MODEL_MAX_PODS);
    }
  m->next_serial = xcalloc (sc->n_workloads + 1, sizeof *m->next_serial);
  servicelb_defs (m);
  char (*hashes)[11] = xcalloc (sc->n_workloads + 1, sizeof *hashes);
  for (size_t w = 0; w < sc->n_workloads; w++)
    if (sc->workloads[w].kind == WL_DEPLOYMENT)
      {
        cleanup_free char *desc = template_desc (&sc->workloads[w]);
        pod_template_hash (desc, hashes[w]);
      }
  /* A deployment being rolled out: its ReplicaSets as its controller has
   * them this round (live_rollout), else the template's alone. */
  m->new_rs = xcalloc (sc->n_workloads + 1, sizeof *m->new_rs);
  m->old_rs = xcalloc (sc->n_workloads + 1, sizeof *m->old_rs);
  m->n_old_rs = xcalloc (sc->n_workloads + 1, sizeof *m->n_old_rs);
  m->rollout_spec = xcalloc (sc->n_workloads + 1, sizeof *m->rollout_spec);
  m->n_rs_sets = sc->n_workloads;
  struct strmap serials;
  live_serial_index (live, &serials);
  for (size_t w = 0; w < sc->n_workloads; w++)
    {
      const struct workload_def *wl = &sc->workloads[w];
      const struct model_live_workload *lw = live_workload (live, &serials, wl);
      m->new_rs[w].replicas = wl->replicas;
      m->rollout_spec[w] = lw && lw->spec_read ? lw->spec : rollout_spec_default (wl->replicas);
      if (lw && lw->rolling && wl->kind == WL_DEPLOYMENT)
        {
          if (lw->new_hash)
            snprintf (hashes[w], sizeof hashes[w], "%s", lw->new_hash);
          m->new_rs[w].replicas = lw->new_replicas;
          m->new_rs[w].revision = lw->new_revision;
          m->old_rs[w] = xcalloc (lw->n_old_rs + 1, sizeof *m->old_rs[w]);
          if (lw->n_old_rs)
            memcpy (m->old_rs[w], lw->old_rs, lw->n_old_rs * sizeof *lw->old_rs);
          m->n_old_rs[w] = lw->n_old_rs;
        }
      memcpy (m->new_rs[w].hash, hashes[w], sizeof hashes[w]);
    }
  /* Which live pods stay: decided for every workload first, so the
   * scheduler sees all of them when it places the new ones. */
  bool *keep = xcalloc (live ? live->n_pods + 1 : 1, sizeof *keep);
  struct live_owned *own = live_owned_index (sc, live);
  for (size_t w = 0; live && w < sc->n_workloads; w++)
    {
      live_keep (m, live, &sc->workloads[w], hashes[w], m->new_rs[w].replicas, &own[w], keep);
      for (size_t k = 0; k < m->n_old_rs[w]; k++)
        live_keep (m, live, &sc->workloads[w], m->old_rs[w][k].hash, m->old_rs[w][k].replicas, &own[w], keep);
    }
  struct strmap taken;
  strmap_init (&taken);
  for (size_t i = 0; live && i < live->n_pods; i++)
    pod_name_take (&taken, live->pods[i].ns, live->pods[i].name);
  for (size_t i = 0; live && i < live->n_pods; i++)
    if (keep[i])
      m->nodes[node_index (m, live->pods[i].node)].n_pods++;
  bool *fresh = NULL;
  size_t n_fresh = 0;
  int ret = 0;
  for (size_t w = 0; w < sc->n_workloads && ret == 0; w++)
    {
      const struct workload_def *wl = &sc->workloads[w];
      cleanup_free size_t *same_on_node = xcalloc (m->n_nodes, sizeof *same_on_node);
      cleanup_free bool *ip_held = xcalloc (wl->n_ips + 1, sizeof *ip_held);
      int have = 0;
      for (size_t o = 0; live && o < own[w].n; o++)
        {
          size_t i = own[w].idx[o];
          if (!keep[i])
            continue;
          const struct model_live_pod *lp = &live->pods[i];
          int node = node_index (m, lp->node);
          /* a deployment's pod of an old ReplicaSet keeps it, and its app */
          const char *rs_hash = hashes[w];
          bool old_rs = false;
          if (wl->kind == WL_DEPLOYMENT && lp->replicaset && strrchr (lp->replicaset, '-')
              && strcmp (strrchr (lp->replicaset, '-') + 1, hashes[w]) != 0)
            rs_hash = strrchr (lp->replicaset, '-') + 1, old_rs = true;
          struct model_pod *p = push_pod (m, wl, xstrdup (lp->name), rs_hash, -1, node);
          /* a running pod's app never changes in place (a round may see a
           * new scenario before the store's new template) */
          if (wl->kind == WL_DEPLOYMENT && !live_app_is (lp, &wl->app))
            {
              p->old_app = xcalloc (1, sizeof *p->old_app);
              p->old_app->kind = lp->app_kind;
              p->old_app->port = lp->app_port;
              p->old_app->command = lp->app_command ? xstrdup (lp->app_command) : NULL;
              size_t argc;
              const char *why;
              if (lp->app_command && shell_split (lp->app_command, &p->old_app->argv, &argc, &why) < 0)
                p->old_app->argv = NULL;
            }
          /* nor its readiness probe (pod spec; the round that first sees an
           * edited section may still have the old template's hash) */
          if (wl->kind == WL_DEPLOYMENT && lp->readiness_known)
            {
              p->old_readiness = xcalloc (1, sizeof *p->old_readiness);
              *p->old_readiness = (struct probe_def) { lp->readiness_kind, lp->readiness_port,
                                                       lp->readiness_path ? xstrdup (lp->readiness_path) : NULL };
            }
          pod_name_take (&taken, p->ns, p->name);
          p->ip = lp->ip;
          p->ready = lp->ready;
          p->host_veth = lp->host_veth ? xstrdup (lp->host_veth) : NULL;
          *VEC_PUSH (fresh, n_fresh) = false;
          same_on_node[node]++;
          for (size_t k = 0; k < wl->n_ips; k++)
            if (wl->ips[k] == lp->ip)
              ip_held[k] = true;
          have += !old_rs;
        }
      uint32_t serial = live_next_serial (live, &serials, wl);
      for (int r = have; r < m->new_rs[w].replicas; r++)
        {
          uint32_t pinned = 0;
          for (size_t k = 0; k < wl->n_ips && !pinned; k++)
            if (!ip_held[k])
              {
                pinned = wl->ips[k];
                ip_held[k] = true;
              }
          int node = schedule_pod (m, wl, same_on_node, pinned, &wl->origin, err);
          /* A DaemonSet's pods that would stay Pending are left out. */
          if (node == -2)
            break;
          if (node < 0)
            {
              ret = -1;
              break;
            }
          same_on_node[node]++;
          char *name = generate_pod_name (m, &taken, wl, (int) serial, hashes[w]);
          struct model_pod *p = push_pod (m, wl, name, hashes[w], (int) serial, node);
          pod_name_take (&taken, p->ns, p->name);
          p->ip = pinned;
          /* In a running lab a new pod is no endpoint until kubelet has
           * seen it ready (its probe, or its app running). */
          if (live)
            p->ready = false;
          *VEC_PUSH (fresh, n_fresh) = true;
          serial++;
          m->nodes[node].n_pods++;
        }
      m->next_serial[w] = serial;
    }
  free (hashes);
  free (keep);
  live_owned_free (own, sc->n_workloads);
  strmap_free (&taken);
  strmap_free (&serials);
  if (ret == 0 && live)
    {
      for (size_t i = 0; i < m->n_nodes; i++)
        for (size_t k = 0; k < live->n_nodes; k++)
          if (live->nodes[k].name && strcmp (live->nodes[k].name, m->nodes[i].name) == 0)
            m->nodes[i].last_reserved_ip = live->nodes[k].last_reserved_ip;
      ret = assign_pod_ips_live (m, live, fresh, err);
    }
  else if (ret == 0)
    {
      ret = assign_pod_ips (m, err);
      /* What host-local's last_reserved_ip.0 says after those pods. */
      for (size_t i = 0; ret == 0 && i < m->n_pods; i++)
        m->nodes[m->pods[i].node].last_reserved_ip = m->pods[i].ip;
    }
  free (fresh);
  if (ret < 0)
    return -1;
  /* The host veths of each node, "NODE\tNAME". */
  struct strmap veths;
  strmap_init (&veths);
  for (size_t i = 0; i < m->n_pods; i++)
    if (m->pods[i].host_veth)
      {
        cleanup_free char *k = xasprintf ("%d\t%s", m->pods[i].node, m->pods[i].host_veth);
        strmap_put (&veths, k, (void *) 1);
      }
  for (size_t i = 0; i < m->n_pods; i++)
    {
      struct model_pod *p = &m->pods[i];
      char key[512], veth[16];
      if (p->host_veth)
        continue;
      /* veth names must be unique per node; a collision of 32-bit hashes
       * is rehashed with a salt. */
      for (unsigned salt = 0;; salt++)
        {
          snprintf (key, sizeof key, "veth/%s/%s/%s/%u", m->lab, p->ns, p->name, salt);
          veth_name (fnv1a64_str (key), veth);
          /* Weave's CNI plugin names it "vethwepl" + the first 7
           * characters of the container ID. */
          if (m->sc->cluster.cni == CNI_WEAVE)
            {
              char hex[13];
              memcpy (hex, veth, sizeof hex);
              snprintf (veth, sizeof veth, "vethwepl%.7s", hex + 4);
            }
          cleanup_free char *k = xasprintf ("%d\t%s", p->node, veth);
          if (strmap_get (&veths, k) == NULL)
            {
              strmap_put (&veths, k, (void *) 1);
              break;
            }
        }
      p->host_veth = xstrdup (veth);
    }
  strmap_free (&veths);
  for (size_t i = 0; i < m->n_pods; i++)
    {
      struct model_pod *p = &m->pods[i];
      char key[512];
      snprintf (key, sizeof key, "eth0/%s/%s/%s", m->lab, p->ns, p->name);
      mac_local (fnv1a64_str (key), p->mac);
      p->netns = add_netns (m, xasprintf ("%s-%s-%s", m->lab, p->ns, p->name), NETNS_POD, (int) i, p->name);
    }
  return 0;
}

/* The apiserver's allocators split a range into a static band at the bottom
 * (for pinned values) and a dynamic band above it, and hand out dynamic
 * values from the upper band first. offset = clamp(size/div, lo, hi). */
static uint64_t
range_offset (uint64_t size, uint64_t div, uint64_t lo, uint64_t hi)
{
  uint64_t o = size / div;
  if (o < lo)
    o = lo;
  if (o > hi)
    o = hi;
  return o < size ? o : 0;
}

/* Find a free slot in [0,size): start in the dynamic band at a hashed
 * position and probe upward, then fall back to the static band. */
static bool
allocate_slot (uint64_t size, uint64_t offset, uint64_t seed, bool (*taken) (uint64_t, void *), void *arg,
               uint64_t *out)
{
  uint64_t dyn = size - offset;
  for (uint64_t i = 0; i < dyn; i++)
    {
      uint64_t v = offset + (seed + i) % dyn;
      if (!taken (v, arg))
        {
          *out = v;
          return true;
        }
    }
  for (uint64_t v = 0; v < offset; v++)
    if (!taken (v, arg))
      {
        *out = v;
        return true;
      }
  return false;
}

struct ip_taken_ctx {
  const struct model *m;
  uint32_t base; /* first usable address = network + 1 */
  const uint32_t *extra;
  size_t n_extra;
};

static bool
cluster_ip_taken (uint64_t slot, void *arg)
{
  struct ip_taken_ctx *c = arg;
  uint32_t ip = c->base + (uint32_t) slot;
  for (size_t i = 0; i < c->m->n_services; i++)
    if (c->m->services[i].cluster_ip == ip)
      return true;
  return ip_in_list (c->extra, c->n_extra, ip);
}

struct port_taken_ctx {
  const struct model *m;
  uint16_t base;
  const uint16_t *pinned;
  size_t n_pinned;
};

static bool
node_port_taken (uint64_t slot, void *arg)
{
  struct port_taken_ctx *c = arg;
  uint16_t port = (uint16_t) (c->base + slot);
  for (size_t i = 0; i < c->n_pinned; i++)
    if (c->pinned[i] == port)
      return true;
  for (size_t i = 0; i < c->m->n_services; i++)
    {
      if (c->m->services[i].hc_node_port == port)
        return true;
      for (size_t k = 0; k < c->m->services[i].n_ports; k++)
        if (c->m->services[i].ports[k].node_port == port)
          return true;
    }
  return false;
}

static int
compare_endpoints (const void *a, const void *b)
{
  const struct model_endpoint *x = a, *y = b;
  char sx[32], sy[32], ip[IP_STRLEN];
  snprintf (sx, sizeof sx, "%s:%u", ip_fmt (x->ip, ip), x->port);
  snprintf (sy, sizeof sy, "%s:%u", ip_fmt (y->ip, ip), y->port);
  return strcmp (sx, sy);
}

static int
compare_ip_strings (const void *a, const void *b)
{
  char sa[IP_STRLEN], sb[IP_STRLEN];
  return strcmp (ip_fmt (*(const uint32_t *) a, sa), ip_fmt (*(const uint32_t *) b, sb));
}

static bool
is_apiserver_service (const struct service_def *d)
{
  return strcmp (d->ns, "default") == 0 && strcmp (d->name, "kubernetes") == 0 && d->n_selector == 0;
}

/* The pods by namespace and label, "NS\tKEY=VALUE" -> the pods that have
 * it, in model order: a selector's pods are among those of its first
 * label, so no service looks at every pod. */
struct pod_index {
  struct strmap map; /* key -> list index + 1 */
  struct live_owned *lists;
  size_t n_lists;
};

static void
pod_index_build (const struct model *m, struct pod_index *ix)
{
  strmap_init (&ix->map);
  ix->lists = NULL;
  ix->n_lists = 0;
  for (size_t p = 0; p < m->n_pods; p++)
    {
      const struct workload_def *w = m->pods[p].wl;
      for (size_t l = 0; l < w->n_labels; l++)
        {
          cleanup_free char *k = xasprintf ("%s\t%s=%s", m->pods[p].ns, w->labels[l].key, w->labels[l].value);
          size_t at = (size_t) strmap_put (&ix->map, k, (void *) (ix->n_lists + 1));
          if (at == ix->n_lists + 1)
            VEC_PUSH (ix->lists, ix->n_lists);
          struct live_owned *list = &ix->lists[at - 1];
          /* A label given twice lists the pod once. */
          if (list->n == 0 || list->idx[list->n - 1] != p)
            *VEC_PUSH (list->idx, list->n) = p;
        }
    }
}

static void
pod_index_free (struct pod_index *ix)
{
  live_owned_free (ix->lists, ix->n_lists);
  strmap_free (&ix->map);
}

static void
build_endpoints (struct model *m, const struct pod_index *ix, struct model_service *s)
{
  const struct service_def *d = s->def;
  for (size_t k = 0; k < s->n_ports; k++)
    {
      struct model_svc_port *sp = &s->ports[k];
      if (is_apiserver_service (d))
        {
          /* The apiserver runs on every control-plane node's INTERNAL-IP. */
          for (size_t i = 0; i < m->n_nodes; i++)
            if (m->nodes[i].role == ROLE_CONTROL_PLANE)
              {
                struct model_endpoint *e = VEC_PUSH (sp->endpoints, sp->n_endpoints);
                e->ip = m->nodes[i].internal_ip;
                e->port = sp->target_port;
                e->pod = -1;
                e->node = (int) i;
              }
        }
      else if (d->n_selector > 0)
        {
          cleanup_free char *key = xasprintf ("%s\t%s=%s", d->ns, d->selector[0].key, d->selector[0].value);
          size_t at = (size_t) strmap_get (&ix->map, key);
          const struct live_owned *cand = at ? &ix->lists[at - 1] : NULL;
          for (size_t c = 0; cand && c < cand->n; c++)
            {
              size_t p = cand->idx[c];
              const struct model_pod *pod = &m->pods[p];
              if (strcmp (pod->ns, d->ns) != 0
                  || !labels_match (pod->wl->labels, pod->wl->n_labels, d->selector, d->n_selector))
                continue;
              /* The EndpointSlice controller keeps a not-ready pod's
               * endpoint with conditions.ready false; kube-proxy and
               * CoreDNS skip it. */
              struct model_endpoint *e = pod->ready ? VEC_PUSH (sp->endpoints, sp->n_endpoints)
                                                    : VEC_PUSH (sp->not_ready, sp->n_not_ready);
              e->ip = pod->ip;
              e->port = sp->target_port;
              e->pod = (int) p;
              e->node = pod->node;
            }
        }
      if (sp->n_endpoints > 1)
        qsort (sp->endpoints, sp->n_endpoints, sizeof *sp->endpoints, compare_endpoints);
      if (sp->n_not_ready > 1)
        qsort (sp->not_ready, sp->n_not_ready, sizeof *sp->not_ready, compare_endpoints);
    }
}

/* MetalLB's layer2 leader for a service: among the nodes whose speaker
 * may announce (not excluded from external load balancers, as kubeadm
 * labels its control-plane nodes; with externalTrafficPolicy Local only
 * nodes with a ready endpoint), the first in the order of
 * sha256("<node>#<ip>"). -1: nobody announces. */
static int
l2_leader (const struct model *m, const struct model_service *s, uint32_t ip)
{
  char ipbuf[IP_STRLEN];
  uint8_t best[SHA256_DIGEST_SIZE];
  int leader = -1;
  ip_fmt (ip, ipbuf);
  for (size_t n = 0; n < m->n_nodes; n++)
    {
      if (m->nodes[n].role == ROLE_CONTROL_PLANE)
        continue;
      bool local = false;
      for (size_t k = 0; k < s->n_ports && !local; k++)
        for (size_t e = 0; e < s->ports[k].n_endpoints && !local; e++)
          local = s->ports[k].endpoints[e].node == (int) n;
      if (s->etp_local && !local)
        continue;
      cleanup_free char *in = xasprintf ("%s#%s", m->nodes[n].name, ipbuf);
      uint8_t d[SHA256_DIGEST_SIZE];
      struct sha256_ctx ctx;
      sha256_init (&ctx);
      sha256_update (&ctx, strlen (in), (const uint8_t *) in);
      sha256_digest (&ctx, sizeof d, d);
      if (leader < 0 || memcmp (d, best, sizeof d) < 0)
        {
          leader = (int) n;
          memcpy (best, d, sizeof d);
        }
    }
  return leader;
}

/* status.loadBalancer of a LoadBalancer service. k3s's servicelb
 * (klipper-lb) runs on every node and reports the nodes' INTERNAL-IPs,
 * sorted. kubeadm has no load-balancer controller: EXTERNAL-IP stays
 * <pending> unless the scenario gives a pool, from which (as MetalLB's
 * allocator) the pinned load_balancer_ip or the lowest free host address
 * in service order is assigned (none left: <pending>). */
static void
load_balancer_status (struct model *m, struct model_service *s)
{
  const struct cluster_def *c = &m->sc->cluster;
  if (c->flavor == FLAVOR_K3S)
    {
      /* servicelb's podIPs: the nodes running a ready svclb pod of the
       * service (none: <pending>, as for a port another LoadBalancer holds);
       * with externalTrafficPolicy Local (getStatus's readyNodes) only those
       * that also have a ready endpoint pod of the service, from its
       * EndpointSlices: the others would drop the traffic. */
      s->lb_ips = xcalloc (m->n_nodes + 1, sizeof *s->lb_ips);
      cleanup_free bool *runs = xcalloc (m->n_nodes + 1, sizeof *runs);
      cleanup_free bool *has_endpoint = xcalloc (m->n_nodes + 1, sizeof *has_endpoint);
      for (size_t k = 0; k < s->n_ports; k++)
        for (size_t e = 0; e < s->ports[k].n_endpoints; e++)
          if (s->ports[k].endpoints[e].pod >= 0)
            has_endpoint[s->ports[k].endpoints[e].node] = true;
      for (size_t i = 0; i < m->n_pods; i++)
        if (m->pods[i].ready && servicelb_def (m, m->pods[i].wl) == s->def)
          runs[m->pods[i].node] = true;
      for (size_t n = 0; n < m->n_nodes; n++)
        if (runs[n] && (!s->etp_local || has_endpoint[n]))
          s->lb_ips[s->n_lb_ips++] = m->nodes[n].internal_ip;
      qsort (s->lb_ips, s->n_lb_ips, sizeof *s->lb_ips, compare_ip_strings);
      return;
    }
  if (c->lb_pool.len == 0)
    return;
  uint32_t ip = s->def->lb_ip;
  if (!ip)
    {
      uint64_t size = cidr_size (c->lb_pool);
      uint32_t first = cidr_network (c->lb_pool) + (size > 2 ? 1 : 0);
      uint32_t last = cidr_network (c->lb_pool) + (uint32_t) (size - (size > 2 ? 2 : 1));
      for (uint32_t a = first; a <= last && !ip; a++)
        {
          bool used = false;
          for (size_t i = 0; i < m->sc->n_services && !used; i++)
            used = m->sc->services[i].lb_ip == a;
          for (size_t i = 0; i + 1 < m->n_services && !used; i++)
            used = m->services[i].n_lb_ips > 0 && m->services[i].lb_ips[0] == a;
          if (!used)
            ip = a;
        }
      /* A full pool: MetalLB leaves the service <pending>. */
      if (!ip)
        return;
    }
  s->lb_ips = xcalloc (1, sizeof *s->lb_ips);
  s->lb_ips[s->n_lb_ips++] = ip;
  s->lb_node = l2_leader (m, s, ip);
}

static int
build_services (struct model *m, nslab_error_t *err)
{
  const struct scenario *sc = m->sc;
  const struct cluster_def *c = &sc->cluster;
  struct cidr svc = c->service_cidr;
  m->services = xcalloc (sc->n_services ? sc->n_services : 1, sizeof *m->services);
  m->n_services = 0;

  /* Pinned ClusterIPs and NodePorts are reserved before anything dynamic,
   * as the apiserver's static band guarantees. */
  uint32_t *pinned_ips = xcalloc (sc->n_services + 2, sizeof *pinned_ips);
  size_t n_pinned_ips = 0;
  size_t n_ports_total = 0;
  for (size_t i = 0; i < sc->n_services; i++)
    {
      if (sc->services[i].cluster_ip)
        pinned_ips[n_pinned_ips++] = sc->services[i].cluster_ip;
      n_ports_total += sc->services[i].n_ports;
    }
  /* kubernetes (.1) and kube-dns are never handed out dynamically. */
  pinned_ips[n_pinned_ips++] = cidr_network (svc) + 1;
  pinned_ips[n_pinned_ips++] = c->dns_ip;
  uint16_t *pinned_ports = xcalloc (n_ports_total + sc->n_services + 1, sizeof *pinned_ports);
  size_t n_pinned_ports = 0;
  for (size_t i = 0; i < sc->n_services; i++)
    for (size_t k = 0; k < sc->services[i].n_ports; k++)
      if (sc->services[i].type != SVC_CLUSTER_IP && sc->services[i].ports[k].node_port)
        pinned_ports[n_pinned_ports++] = sc->services[i].ports[k].node_port;
  for (size_t i = 0; i < sc->n_services; i++)
    if (sc->services[i].hc_node_port)
      pinned_ports[n_pinned_ports++] = sc->services[i].hc_node_port;

  struct pod_index pods;
  pod_index_build (m, &pods);
  int ret = 0;
  for (size_t i = 0; i < sc->n_services && ret == 0; i++)
    {
      const struct service_def *d = &sc->services[i];
      struct model_service *s = &m->services[m->n_services++];
      char key[512];
      s->def = d;
      s->ns = xstrdup (d->ns);
      s->name = xstrdup (d->name);
      s->type = d->type;
      s->affinity_client_ip = d->affinity_client_ip;
      s->affinity_timeout = d->affinity_timeout;
      s->cluster_ip = d->cluster_ip;
      s->etp_local = d->etp_local;
      s->itp_local = d->itp_local;
      s->external_ips = d->external_ips;
      s->n_external_ips = d->n_external_ips;
      s->source_ranges = d->source_ranges;
      s->n_source_ranges = d->n_source_ranges;
      s->lb_node = -1;
      if (!s->cluster_ip && !d->headless)
        {
          /* usable addresses: network+1 .. broadcast-1 */
          uint64_t size = cidr_size (svc) - 2;
          struct ip_taken_ctx ctx = { m, cidr_network (svc) + 1, pinned_ips, n_pinned_ips };
          uint64_t slot;
          snprintf (key, sizeof key, "clusterip/%s/%s", d->ns, d->name);
          if (!allocate_slot (size, range_offset (size, 16, 16, 256), fnv1a64_str (key), cluster_ip_taken, &ctx,
                              &slot))
            {
              char cs[CIDR_STRLEN];
              ret = model_error (err, &d->origin, "cluster_ip", "service CIDR %s is full", cidr_fmt (svc, cs));
              break;
            }
          s->cluster_ip = ctx.base + (uint32_t) slot;
        }
      s->ports = xcalloc (d->n_ports, sizeof *s->ports);
      s->n_ports = d->n_ports;
      for (size_t k = 0; k < d->n_ports; k++)
        {
          const struct port_def *pd = &d->ports[k];
          struct model_svc_port *sp = &s->ports[k];
          sp->def = pd;
          sp->name = pd->name ? xstrdup (pd->name) : NULL;
          sp->port = pd->port;
          sp->target_port = pd->target_port ? pd->target_port : pd->port;
          sp->protocol = pd->protocol;
          if (d->type == SVC_CLUSTER_IP)
            continue;
          sp->node_port = pd->node_port;
          if (!sp->node_port)
            {
              uint64_t size = (uint64_t) c->nodeport_max - c->nodeport_min + 1;
              struct port_taken_ctx ctx = { m, c->nodeport_min, pinned_ports, n_pinned_ports };
              uint64_t slot;
              snprintf (key, sizeof key, "nodeport/%s/%s/%s/%u", d->ns, d->name, proto_lower (pd->protocol),
                        pd->port);
              if (!allocate_slot (size, range_offset (size, 32, 16, 128), fnv1a64_str (key), node_port_taken, &ctx,
                                  &slot))
                {
                  ret = model_error (err, &d->origin, "ports", "no free NodePort left in %u-%u", c->nodeport_min,
                                     c->nodeport_max);
                  break;
                }
              sp->node_port = (uint16_t) (c->nodeport_min + slot);
            }
        }
      if (ret != 0)
        break;
      /* The apiserver gives a LoadBalancer with externalTrafficPolicy
       * Local a health-check node port from the NodePort range. */
      if (d->type == SVC_LOAD_BALANCER && d->etp_local)
        {
          s->hc_node_port = d->hc_node_port;
          if (!s->hc_node_port)
            {
              uint64_t size = (uint64_t) c->nodeport_max - c->nodeport_min + 1;
              struct port_taken_ctx ctx = { m, c->nodeport_min, pinned_ports, n_pinned_ports };
              uint64_t slot;
              snprintf (key, sizeof key, "healthcheck/%s/%s", d->ns, d->name);
              if (!allocate_slot (size, range_offset (size, 32, 16, 128), fnv1a64_str (key), node_port_taken, &ctx,
                                  &slot))
                {
                  ret = model_error (err, &d->origin, "health_check_node_port", "no free NodePort left in %u-%u",
                                     c->nodeport_min, c->nodeport_max);
                  break;
                }
              s->hc_node_port = (uint16_t) (c->nodeport_min + slot);
            }
        }
      build_endpoints (m, &pods, s);
      if (d->type == SVC_LOAD_BALANCER)
        load_balancer_status (m, s);
    }
  pod_index_free (&pods);
  free (pinned_ips);
  free (pinned_ports);
  return ret;
}

bool
model_probe_decided (const struct workload_def *w)
{
  return (w->app.kind == APP_HTTP || w->app.kind == APP_DNS) && w->readiness.kind == PROBE_TCP
         && w->readiness.port == w->app.port;
}

static int
build (const struct scenario *sc, const struct model_live *live, bool starting, struct model **out,
       nslab_error_t *err)
{
  struct model *m = xcalloc (1, sizeof *m);
  m->sc = sc;
  m->lab = xstrdup (sc->lab);
  add_netns (m, xasprintf ("%s-host", sc->lab), NETNS_LABHOST, -1, NULL);
  int rc = build_nodes (m, err) < 0 || build_pods (m, live, err) < 0 ? -1 : 0;
  /* kubelet reports a container with a readiness probe not ready until
   * the probe first succeeds (prober_manager: initial result Failure),
   * unless up already knows that first probe's result (model_probe_decided). */
  for (size_t i = 0; rc == 0 && starting && i < m->n_pods; i++)
    if (m->pods[i].wl->readiness.kind != PROBE_NONE && !model_probe_decided (m->pods[i].wl))
      m->pods[i].ready = false;
  if (rc < 0 || build_services (m, err) < 0 || check_netns_names_unique (m, err) < 0)
    {
      model_free (m);
      return -1;
    }
  *out = m;
  return 0;
}

int
model_build (const struct scenario *sc, struct model **out, nslab_error_t *err)
{
  return build (sc, NULL, false, out, err);
}

int
model_build_starting (const struct scenario *sc, struct model **out, nslab_error_t *err)
{
  return build (sc, NULL, true, out, err);
}

int
model_build_live (const struct scenario *sc, const struct model_live *live, struct model **out, nslab_error_t *err)
{
  return build (sc, live, false, out, err);
}

void
model_free (struct model *m)
{
  if (m == NULL)
    return;
  for (size_t i = 0; i < m->n_netns; i++)
    {
      free (m->netns[i].name);
      free (m->netns[i].hostname);
    }
  free (m->netns);
  for (size_t i = 0; i < m->n_nodes; i++)
    {
      struct model_node *n = &m->nodes[i];
      for (size_t k = 0; k < n->n_nics; k++)
        {
          free (n->nics[k].ifname);
          free (n->nics[k].peer_ifname);
        }
      free (n->nics);
      free (n->name);
    }
  free (m->nodes);
  for (size_t i = 0; i < m->n_pods; i++)
    {
      free (m->pods[i].ns);
      free (m->pods[i].name);
      free (m->pods[i].replicaset);
      if (m->pods[i].old_app)
        {
          free (m->pods[i].old_app->command);
          shell_argv_free (m->pods[i].old_app->argv);
        }
      free (m->pods[i].old_app);
      if (m->pods[i].old_readiness)
        free (m->pods[i].old_readiness->path);
      free (m->pods[i].old_readiness);
      free (m->pods[i].host_veth);
    }
  free (m->pods);
  for (size_t i = 0; i < m->n_services; i++)
    {
      struct model_service *s = &m->services[i];
      for (size_t k = 0; k < s->n_ports; k++)
        {
          free (s->ports[k].name);
          free (s->ports[k].endpoints);
          free (s->ports[k].not_ready);
        }
      free (s->ports);
      free (s->lb_ips);
      free (s->ns);
      free (s->name);
    }
  free (m->services);
  free (m->next_serial);
  for (size_t i = 0; i < m->n_rs_sets; i++)
    free (m->old_rs[i]);
  free (m->old_rs);
  free (m->n_old_rs);
  free (m->new_rs);
  free (m->rollout_spec);
  free (m->lb_def);
  free (m->lab);
  free (m);
}
