/* From the model to the ordered list of self-contained ops. The components
 * (builder.h) plan what each piece of a real node creates; this file holds the
 * op constructors and the apply order. */
#include "plan/plan.h"

#include <linux/rtnetlink.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "k8s/names.h"
#include "plan/builder.h"
#include "plan/kube_proxy_iptables.h"
#include "plan/kube_proxy_nftables.h"
#include "plan/op.h"

const char *
plan_ns (const struct model *m, int netns)
{
  return m->netns[netns].name;
}

struct plan_op *
plan_push (struct plan *p, enum plan_op_kind kind, const char *ns)
{
  struct plan_op *op = VEC_PUSH (p->ops, p->n_ops);
  op->kind = kind;
  op->ns = xstrdup (ns);
  return op;
}

void
plan_add_sysctl (struct plan *p, const char *ns, const char *key, const char *value)
{
  struct plan_op *op = plan_push (p, OP_SYSCTL, ns);
  op->u.sysctl.key = xstrdup (key);
  op->u.sysctl.value = xstrdup (value);
}

static void
set_mac (uint8_t dst[6], bool *has, const uint8_t *mac)
{
  if (mac)
    {
      memcpy (dst, mac, 6);
      *has = true;
    }
}

struct plan_link *
plan_add_veth (struct plan *p, const char *ns, const char *name, const uint8_t *mac, const char *peer_ns,
               const char *peer, const uint8_t *peer_mac, uint32_t mtu)
{
  struct plan_link *l = &plan_push (p, OP_LINK, ns)->u.link;
  l->kind = LINK_VETH;
  l->name = xstrdup (name);
  l->mtu = mtu;
  set_mac (l->mac, &l->has_mac, mac);
  l->peer_name = xstrdup (peer);
  l->peer_ns = xstrdup (peer_ns);
  set_mac (l->peer_mac, &l->peer_has_mac, peer_mac);
  return l;
}

void
plan_add_bridge (struct plan *p, const char *ns, const char *name, const uint8_t *mac, uint32_t mtu)
{
  struct plan_link *l = &plan_push (p, OP_LINK, ns)->u.link;
  l->kind = LINK_BRIDGE;
  l->name = xstrdup (name);
  l->mtu = mtu;
  set_mac (l->mac, &l->has_mac, mac);
}

void
plan_add_link_set (struct plan *p, const char *ns, const char *name, const char *master, bool hairpin)
{
  struct plan_link_set *s = &plan_push (p, OP_LINK_SET, ns)->u.set;
  s->name = xstrdup (name);
  s->master = master ? xstrdup (master) : NULL;
  s->hairpin = hairpin;
  s->up = true;
}

void
plan_add_addr (struct plan *p, const char *ns, const char *dev, uint32_t addr, uint8_t len, uint32_t metric)
{
  struct plan_addr *a = &plan_push (p, OP_ADDR, ns)->u.addr;
  a->dev = xstrdup (dev);
  a->addr.addr = addr;
  a->addr.len = len;
  a->metric = metric;
}

struct plan_route *
plan_add_route (struct plan *p, const char *ns, uint32_t dst, uint8_t len, uint32_t gw, const char *dev)
{
  struct plan_route *r = &plan_push (p, OP_ROUTE, ns)->u.route;
  r->dst.addr = dst;
  r->dst.len = len;
  r->gw = gw;
  r->dev = xstrdup (dev);
  r->protocol = RTPROT_BOOT;
  return r;
}

void
plan_add_pod_veths (struct plan *p, const struct model *m, const struct model_node *n, const char *bridge,
                    uint32_t mtu, bool bridge_plugin)
{
  const char *ns = plan_ns (m, n->netns);
  for (size_t i = 0; i < m->n_pods; i++)
    {
      const struct model_pod *pod = &m->pods[i];
      if (pod->node != n->index)
        continue;
      uint8_t host_mac[6];
      plan_local_mac (host_mac, "hostveth/%s/%s/%s", m->lab, pod->ns, pod->name);
      plan_add_veth (p, ns, pod->host_veth, host_mac, plan_ns (m, pod->netns), "eth0", pod->mac, mtu)->no_queue
          = bridge_plugin;
      if (bridge_plugin)
        {
          cleanup_free char *key = xasprintf ("net/ipv6/conf/%s/accept_ra", pod->host_veth);
          plan_add_sysctl (p, ns, key, "0");
        }
      plan_add_link_set (p, ns, pod->host_veth, bridge, true);
    }
}

void
plan_local_mac (uint8_t mac[6], const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  cleanup_free char *key = xvasprintf (fmt, ap);
  va_end (ap);
  mac_local (fnv1a64_str (key), mac);
}

static void
plan_namespaces (struct plan *p, const struct model *m)
{
  static const enum plan_netns_kind kinds[] = { [NETNS_LABHOST] = PLAN_NETNS_LABHOST, [NETNS_NODE] = PLAN_NETNS_NODE,
                                                [NETNS_NATROUTER] = PLAN_NETNS_NATROUTER, [NETNS_POD] = PLAN_NETNS_POD };
  for (size_t i = 0; i < m->n_netns; i++)
    {
      const struct model_netns *mn = &m->netns[i];
      struct plan_netns *n = &plan_push (p, OP_NETNS, mn->name)->u.netns;
      n->kind = kinds[mn->kind];
      if (mn->kind == NETNS_NODE || mn->kind == NETNS_NATROUTER)
        {
          n->owner.kind = OBJ_NODE;
          n->owner.name = xstrdup (m->nodes[mn->owner].name);
        }
      else if (mn->kind == NETNS_POD)
        {
          const struct model_pod *pod = &m->pods[mn->owner];
          n->owner.kind = OBJ_POD;
          n->owner.ns = xstrdup (pod->ns);
          n->owner.name = xstrdup (pod->name);
          n->node = xstrdup (m->nodes[pod->node].name);
        }
    }
}

/* Everything on one node, in the order a real node gets it: kubelet's
 * sysctls, the VM's NICs, flannel.1, the bridge plugin's cni0 and pod
 * veths (or Weave's bridge, datapath and pod veths), the addresses, the DHCP lease's routes, flannel's per-node
 * entries, the iptables state of kubelet, kube-proxy and flannel, and in
 * nftables proxy mode kube-proxy's nftables table (after the iptables
 * payload: see apply_nftables). */
static void
plan_node (struct plan *p, const struct model *m, const struct model_node *n, const struct kube_proxy_services *ks,
           const struct kube_proxy_nft *knft)
{
  bool weave = m->sc->cluster.cni == CNI_WEAVE, vxlan = m->sc->cluster.cni == CNI_FLANNEL;
  /* With the real plugins, cni0 and the pod veths are the bridge plugin's. */
  bool builtin = m->sc->cluster.cni_runtime == CNI_RUNTIME_BUILTIN;
  kubelet_plan_sysctls (p, m, n);
  hypervisor_plan_node_nics (p, m, n);
  if (vxlan)
    flannel_plan_vtep (p, m, n);
  if (builtin)
    (weave ? weave_plan_node : cni_bridge_plan_node) (p, m, n);
  hypervisor_plan_nic_addrs (p, m, n);
  if (builtin)
    (weave ? weave_plan_node_addr : cni_bridge_plan_node_addr) (p, m, n);
  if (vxlan)
    flannel_plan_vtep_addr (p, m, n);
  hypervisor_plan_dhcp_routes (p, m, n);
  if (vxlan)
    flannel_plan_peers (p, m, n);
  else if (!weave)
    flannel_plan_hostgw_routes (p, m, n);
  kube_proxy_plan_node (p, m, n, ks);
  if (knft)
    kube_proxy_nft_plan_node (p, m, n, knft);
  metallb_plan_node (p, m, n);
}

struct plan *
plan_from_model (const struct model *m)
{
  struct plan *p = xcalloc (1, sizeof *p);
  p->objects = objects_from_model (m);
  /* Apply order: every namespace first (veth peers need their target),
   * then the lab host's bridges, each node with its NICs, NAT routers and
   * pod veths, the inside of each pod, the bridges brought up once their
   * ports are, and the processes last, once the network they live in is
   * complete. */
  plan_namespaces (p, m);
  hypervisor_plan_labhost (p, m);
  struct kube_proxy_services *ks = NULL;
  struct kube_proxy_nft *knft = NULL;
  if (m->sc->cluster.proxy_mode == PROXY_IPTABLES)
    ks = kube_proxy_services (m);
  else
    knft = kube_proxy_nft_services (m);
  for (size_t i = 0; i < m->n_nodes; i++)
    {
      plan_node (p, m, &m->nodes[i], ks, knft);
      hypervisor_plan_natrouters (p, m, &m->nodes[i]);
    }
  kube_proxy_services_free (ks);
  kube_proxy_nft_free (knft);
  bool weave = m->sc->cluster.cni == CNI_WEAVE;
  bool builtin = m->sc->cluster.cni_runtime == CNI_RUNTIME_BUILTIN;
  /* The plugins run in pod order, so that host-local hands out the
   * addresses the model gave (k8s/model.c follows host-local's order). */
  for (size_t i = 0; i < m->n_pods; i++)
    (!builtin ? cni_plugins_plan_pod : weave ? weave_plan_pod : cni_bridge_plan_pod) (p, m, &m->pods[i]);
  /* The hostPorts of servicelb's pods, once each pod has its address. */
  for (size_t i = 0; i < m->n_pods; i++)
    servicelb_plan_pod (p, m, &m->pods[i]);
  hypervisor_plan_bridges_up (p, m);
  hypervisor_plan_lb_pool_route (p, m);
  if (builtin)
    (weave ? weave_plan_bridges_up : cni_bridge_plan_bridges_up) (p, m);
  kubelet_plan_processes (p, m);
  return p;
}

int
plan_build (const struct scenario *sc, struct plan **out, nslab_error_t *err)
{
  struct model *m = NULL;
  if (model_build (sc, &m, err) < 0)
    return -1;
  *out = plan_from_model (m);
  model_free (m);
  return 0;
}

int
plan_build_starting (const struct scenario *sc, struct plan **out, nslab_error_t *err)
{
  struct model *m = NULL;
  if (model_build_starting (sc, &m, err) < 0)
    return -1;
  *out = plan_from_model (m);
  model_free (m);
  return 0;
}

void
plan_free (struct plan *p)
{
  if (p == NULL)
    return;
  for (size_t i = 0; i < p->n_ops; i++)
    op_free (&p->ops[i]);
  free (p->ops);
  objects_free (p->objects);
  free (p);
}
