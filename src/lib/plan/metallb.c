/* The L2 announcer of a kubeadm lab's load_balancer_pool, as MetalLB's
 * layer2 mode behaves on the wire: the leader node for a service's
 * address (k8s/model.c l2_leader, MetalLB's node ordering) answers ARP for
 * it with its own NIC's MAC, and kube-proxy's "loadbalancer IP" rule on
 * that node DNATs what arrives.
 *
 * MetalLB's speaker answers ARP from user space without the node owning
 * the address. nslab has no speaker process, and the kernel's own proxy
 * ARP (ip neigh add proxy) cannot stand in for it: arp_process() answers
 * for a proxy entry only when the route to the address leaves by another
 * device, and a pool on the node network is routed out of the very NIC
 * the request came in on. So the leader holds the address as a /32 on its
 * INTERNAL-IP NIC: the kernel answers ARP with that NIC's MAC, as the
 * speaker does, and PREROUTING DNAT sends service traffic to the
 * endpoints exactly as on a MetalLB node. What differs: the node itself
 * also answers other ports and ping on the address, and NodePorts are
 * reachable on it (addrtype LOCAL), which a MetalLB node does not do. */
#include "plan/builder.h"

void
metallb_plan_node (struct plan *p, const struct model *m, const struct model_node *n)
{
  if (n->internal_nic < 0)
    return;
  const char *dev = n->nics[n->internal_nic].ifname;
  for (size_t s = 0; s < m->n_services; s++)
    {
      const struct model_service *svc = &m->services[s];
      if (svc->type == SVC_LOAD_BALANCER && svc->lb_node == n->index && svc->n_lb_ips > 0)
        plan_add_addr (p, plan_ns (m, n->netns), dev, svc->lb_ips[0], 32, 0);
    }
}
