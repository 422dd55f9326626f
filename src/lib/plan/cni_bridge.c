/* What the CNI bridge plugin (with host-local IPAM) creates: cni0 on the
 * node once its first pod is set up, with the subnet's .1, one veth pair per
 * pod (hairpin on the bridge port, eth0 inside the pod), and inside the pod
 * the address and the routes host-local hands out. */
#include "base/util.h"
#include "plan/builder.h"

#define CNI_BRIDGE "cni0"

/* The plugin makes cni0 with the node's first pod and never deletes it:
 * a node whose pods have all gone keeps its bridge and gateway address.
 * host-local having handed out an address there says a pod once was. */
static bool
has_cni_bridge (const struct model_node *n)
{
  return n->n_pods > 0 || n->last_reserved_ip != 0;
}

void
cni_bridge_plan_node (struct plan *p, const struct model *m, const struct model_node *n)
{
  if (!has_cni_bridge (n))
    return;
  uint32_t pod_mtu = flannel_pod_mtu (m);
  const char *ns = plan_ns (m, n->netns);
  uint8_t mac[6];
  plan_local_mac (mac, "cni0/%s/%s", m->lab, n->name);
  plan_add_bridge (p, ns, CNI_BRIDGE, mac, pod_mtu);
  plan_add_sysctl (p, ns, "net/ipv6/conf/" CNI_BRIDGE "/accept_ra", "0");
  plan_add_pod_veths (p, m, n, CNI_BRIDGE, pod_mtu, true);
}

void
cni_bridge_plan_node_addr (struct plan *p, const struct model *m, const struct model_node *n)
{
  if (has_cni_bridge (n))
    plan_add_addr (p, plan_ns (m, n->netns), CNI_BRIDGE, cidr_network (n->pod_cidr) + 1, n->pod_cidr.len, 0);
}

/* Inside the pod: what the bridge plugin sets up in the container netns. */
void
cni_bridge_plan_pod (struct plan *p, const struct model *m, const struct model_pod *pod)
{
  const struct model_node *n = &m->nodes[pod->node];
  uint32_t gw = cidr_network (n->pod_cidr) + 1;
  const char *ns = plan_ns (m, pod->netns);
  plan_add_sysctl (p, ns, "net.ipv4.conf.eth0.arp_notify", "1");
  plan_add_sysctl (p, ns, "net.ipv6.conf.eth0.accept_dad", "0");
  plan_add_addr (p, ns, "eth0", pod->ip, n->pod_cidr.len, 0);
  plan_add_link_set (p, ns, "eth0", NULL, false);
  /* host-local "routes": the cluster CIDR, then isDefaultGateway's default. */
  plan_add_route (p, ns, m->sc->cluster.pod_cidr.addr, m->sc->cluster.pod_cidr.len, gw, "eth0");
  plan_add_route (p, ns, 0, 0, gw, "eth0");
}

/* See hypervisor_plan_bridges_up for why bridges come up last. */
void
cni_bridge_plan_bridges_up (struct plan *p, const struct model *m)
{
  for (size_t i = 0; i < m->n_nodes; i++)
    if (has_cni_bridge (&m->nodes[i]))
      plan_add_link_set (p, plan_ns (m, m->nodes[i].netns), CNI_BRIDGE, NULL, false);
}
