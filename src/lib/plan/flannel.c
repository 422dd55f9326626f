/* What flannel (vxlan backend; host-gw at the end) creates on a node: flannel.1 with the node's
 * VTEP MAC, the network address of the node's subnet as a /32, and per remote
 * node the ARP entry of its VTEP, the FDB entry pointing that MAC at the node's
 * INTERNAL-IP, and the onlink route to its pod subnet. Its iptables rules are
 * part of the node payload (kube_proxy_iptables.c). */
#include <string.h>

#include "base/util.h"
#include "plan/builder.h"

static char *
vtep_name (const struct model *m)
{
  return xasprintf ("flannel.%u", m->sc->cluster.vxlan_vni);
}

/* flannel.1: VNI, local = INTERNAL-IP, dev = its NIC, nolearning, MTU-50. */
void
flannel_plan_vtep (struct plan *p, const struct model *m, const struct model_node *n)
{
  const struct cluster_def *c = &m->sc->cluster;
  const char *ns = plan_ns (m, n->netns);
  struct plan_link *vx = &plan_push (p, OP_LINK, ns)->u.link;
  vx->kind = LINK_VXLAN;
  vx->name = vtep_name (m);
  vx->mtu = c->underlay_mtu - VXLAN_OVERHEAD;
  memcpy (vx->mac, n->vtep_mac, 6);
  vx->has_mac = true;
  vx->vni = c->vxlan_vni;
  vx->dstport = c->vxlan_port;
  vx->local = n->internal_ip;
  vx->dev = xstrdup (n->nics[n->internal_nic].ifname);
  vx->learning = false;
  /* vx points into the op array, which the next push may move. */
  cleanup_free char *dev = vtep_name (m);
  plan_add_link_set (p, ns, dev, NULL, false);
  /* The name has a dot, so the key is a path (see struct plan_sysctl). */
  cleanup_free char *accept_ra = xasprintf ("net/ipv6/conf/%s/accept_ra", dev);
  plan_add_sysctl (p, ns, accept_ra, "0");
}

/* No broadcast routes, and a source address for host-to-pod traffic. */
void
flannel_plan_vtep_addr (struct plan *p, const struct model *m, const struct model_node *n)
{
  cleanup_free char *dev = vtep_name (m);
  plan_add_addr (p, plan_ns (m, n->netns), dev, cidr_network (n->pod_cidr), 32, 0);
}

/* The MTU flannel writes to subnet.env (FLANNEL_MTU), which the bridge
 * plugin gives cni0 and the pods: the VXLAN backend leaves room for its
 * header, host-gw sends pod packets unencapsulated. */
uint32_t
flannel_pod_mtu (const struct model *m)
{
  uint32_t mtu = m->sc->cluster.underlay_mtu;
  return m->sc->cluster.cni == CNI_HOST_GW ? mtu : mtu - VXLAN_OVERHEAD;
}

/* host-gw (backend/hostgw, routenetwork.go): per remote node, a route to
 * its pod subnet via its INTERNAL-IP on the NIC that holds ours; nothing
 * else, so pod packets cross the underlay with the pod IPs on the wire. */
void
flannel_plan_hostgw_routes (struct plan *p, const struct model *m, const struct model_node *n)
{
  const char *ns = plan_ns (m, n->netns);
  const char *dev = n->nics[n->internal_nic].ifname;
  for (size_t i = 0; i < m->n_nodes; i++)
    {
      const struct model_node *peer = &m->nodes[i];
      if (peer != n)
        plan_add_route (p, ns, cidr_network (peer->pod_cidr), peer->pod_cidr.len, peer->internal_ip, dev);
    }
}

void
flannel_plan_peers (struct plan *p, const struct model *m, const struct model_node *n)
{
  cleanup_free char *dev = vtep_name (m);
  const char *ns = plan_ns (m, n->netns);
  for (size_t i = 0; i < m->n_nodes; i++)
    {
      const struct model_node *peer = &m->nodes[i];
      if (peer == n)
        continue;
      struct plan_neigh *ne = &plan_push (p, OP_NEIGH, ns)->u.neigh;
      ne->dev = xstrdup (dev);
      ne->ip = cidr_network (peer->pod_cidr);
      memcpy (ne->lladdr, peer->vtep_mac, 6);
      struct plan_fdb *f = &plan_push (p, OP_FDB, ns)->u.fdb;
      f->dev = xstrdup (dev);
      memcpy (f->lladdr, peer->vtep_mac, 6);
      f->dst = peer->internal_ip;
      struct plan_route *r = plan_add_route (p, ns, cidr_network (peer->pod_cidr), peer->pod_cidr.len,
                                             cidr_network (peer->pod_cidr), dev);
      r->onlink = true;
    }
}
