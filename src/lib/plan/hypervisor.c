/* What the hypervisor and the VM's DHCP client create: VirtualBox (or VMware)
 * NICs, each node's NAT router behind its NAT NIC, the host-only network's
 * bridge in the lab host (vboxnet0 with the host's .1), and the addresses and
 * routes of the DHCP lease (metric 100) and of netplan's static host-only
 * addresses. The VMware variant differs only in the vendor's MAC prefixes. */
#include <linux/rtnetlink.h>
#include <string.h>

#include "base/util.h"
#include "k8s/names.h"
#include "plan/builder.h"
#include "plan/kube_proxy_iptables.h"

/* VirtualBox's NAT engine answers as 52:54:00:12:35:02 (gateway). */
static const uint8_t vbox_nat_gateway_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x35, 0x02 };
/* VMware's NAT device answers with a MAC of its own OUI. */
static const uint8_t vmware_oui[3] = { 0x00, 0x50, 0x56 };

void
hypervisor_plan_labhost (struct plan *p, const struct model *m)
{
  const struct scenario *sc = m->sc;
  const char *ns = plan_ns (m, 0);
  /* vboxnet0: the host-only network's bridge, holding the host's .1. */
  for (size_t i = 0; i < sc->n_networks; i++)
    {
      const struct network_def *net = &sc->networks[i];
      if (net->kind != NET_HOSTONLY)
        continue;
      uint8_t mac[6];
      plan_local_mac (mac, "bridge/%s/%s", sc->lab, net->bridge);
      plan_add_bridge (p, ns, net->bridge, mac, sc->cluster.underlay_mtu);
      plan_add_addr (p, ns, net->bridge, net->gateway, net->cidr.len, 0);
    }
}

/* The node's NICs as the hypervisor wires them: the NAT NIC to its own NAT
 * router, the host-only NICs to the lab host's bridge. */
void
hypervisor_plan_node_nics (struct plan *p, const struct model *m, const struct model_node *n)
{
  const struct cluster_def *c = &m->sc->cluster;
  const char *ns = plan_ns (m, n->netns);
  for (size_t k = 0; k < n->n_nics; k++)
    {
      const struct model_nic *nic = &n->nics[k];
      bool nat = nic->net->kind == NET_NAT;
      uint8_t peer_mac[6];
      if (nat && nic->net->hypervisor == HV_VMWARE)
        {
          char key[512];
          snprintf (key, sizeof key, "natgw/%s/%s", m->lab, nic->net->name);
          mac_vendor (vmware_oui, fnv1a64_str (key), peer_mac);
        }
      else if (nat)
        memcpy (peer_mac, vbox_nat_gateway_mac, 6);
      else
        plan_local_mac (peer_mac, "peer/%s/%s/%s", m->lab, n->name, nic->ifname);
      plan_add_veth (p, ns, nic->ifname, nic->mac, plan_ns (m, nic->peer_ns), nic->peer_ifname, peer_mac,
                     c->underlay_mtu);
    }
  for (size_t k = 0; k < n->n_nics; k++)
    {
      const struct model_nic *nic = &n->nics[k];
      plan_add_link_set (p, ns, nic->ifname, NULL, false);
      plan_add_link_set (p, plan_ns (m, nic->peer_ns), nic->peer_ifname,
                         nic->net->kind == NET_NAT ? NULL : nic->net->bridge, false);
    }
}

/* The NAT NIC's address from the DHCP lease (with the client's metric),
 * host-only NICs static (netplan). */
void
hypervisor_plan_nic_addrs (struct plan *p, const struct model *m, const struct model_node *n)
{
  for (size_t k = 0; k < n->n_nics; k++)
    {
      const struct model_nic *nic = &n->nics[k];
      plan_add_addr (p, plan_ns (m, n->netns), nic->ifname, nic->addr, nic->net->cidr.len,
                     nic->net->kind == NET_NAT ? DHCP_METRIC : 0);
    }
}

/* The first NAT NIC carries the default route the DHCP lease gives, with a
 * host route to the gateway as systemd-networkd and dhclient add it. A VM
 * whose only network is a VMware one (vmnet8: one segment, VMware's NAT
 * device as gateway) has its default route there instead, as the static
 * configuration of seed 000's VMs has it. */
void
hypervisor_plan_dhcp_routes (struct plan *p, const struct model *m, const struct model_node *n)
{
  const char *ns = plan_ns (m, n->netns);
  bool have_nat = false;
  for (size_t k = 0; k < n->n_nics; k++)
    have_nat = have_nat || n->nics[k].net->kind == NET_NAT;
  if (!have_nat)
    for (size_t k = 0; k < n->n_nics; k++)
      {
        const struct model_nic *nic = &n->nics[k];
        if (nic->net->hypervisor != HV_VMWARE)
          continue;
        plan_add_route (p, ns, 0, 0, nic->net->gateway, nic->ifname)->protocol = RTPROT_STATIC;
        return;
      }
  for (size_t k = 0; k < n->n_nics; k++)
    {
      const struct model_nic *nic = &n->nics[k];
      if (nic->net->kind != NET_NAT)
        continue;
      struct plan_route *r = plan_add_route (p, ns, nic->net->gateway, 32, 0, nic->ifname);
      r->scope_link = true;
      r->protocol = RTPROT_DHCP;
      r->src = nic->addr;
      r->metric = DHCP_METRIC;
      r = plan_add_route (p, ns, 0, 0, nic->net->gateway, nic->ifname);
      r->protocol = RTPROT_DHCP;
      r->src = nic->addr;
      r->metric = DHCP_METRIC;
      break;
    }
}

/* The NAT router answers the gateway (and DNS) address and masquerades what
 * leaves the NAT network. */
void
hypervisor_plan_natrouters (struct plan *p, const struct model *m, const struct model_node *n)
{
  for (size_t k = 0; k < n->n_nics; k++)
    {
      const struct model_nic *nic = &n->nics[k];
      if (nic->net->kind != NET_NAT)
        continue;
      const char *ns = plan_ns (m, nic->peer_ns);
      plan_add_sysctl (p, ns, "net.ipv4.ip_forward", "1");
      plan_add_addr (p, ns, nic->peer_ifname, nic->net->gateway, nic->net->cidr.len, 0);
      if (nic->net->dns)
        plan_add_addr (p, ns, nic->peer_ifname, nic->net->dns, nic->net->cidr.len, 0);
      plan_push (p, OP_IPTABLES, ns)->u.ipt.payload = iptables_natrouter_payload (m, n->index, (int) k);
    }
}

/* Bridges come up last, once their ports are up on both ends. A bridge
 * opened with a live port has carrier at once and its queue is activated
 * on the spot; one that gains carrier later waits for the kernel's
 * linkwatch, which handles such events at most once a second, and drops
 * what it is asked to send meanwhile (the first SYN of a learner's curl). */
void
hypervisor_plan_bridges_up (struct plan *p, const struct model *m)
{
  const struct scenario *sc = m->sc;
  for (size_t i = 0; i < sc->n_networks; i++)
    if (sc->networks[i].kind == NET_HOSTONLY)
      plan_add_link_set (p, plan_ns (m, 0), sc->networks[i].bridge, NULL, false);
}

/* A load_balancer_pool off the nodes' segment (seed 000's 3.3.3.3, where a
 * cloud load balancer's public address would be) is reached as a router
 * in front of MetalLB's layer-2 mode reaches one: a static route putting
 * the pool on the segment, where the leader node answers ARP for its
 * address (metallb.c). The lab host stands where that router is (VMware's
 * NAT device, the VMs' gateway). Planned once the bridge is up: the kernel
 * refuses a route over a link that is down. */
void
hypervisor_plan_lb_pool_route (struct plan *p, const struct model *m)
{
  struct cidr pool = m->sc->cluster.lb_pool;
  if (pool.len == 0 || m->n_nodes == 0 || m->nodes[0].internal_nic < 0)
    return;
  const struct model_node *n = &m->nodes[0];
  const struct network_def *net = n->nics[n->internal_nic].net;
  if (net->kind != NET_HOSTONLY || cidr_overlaps (net->cidr, pool))
    return;
  struct plan_route *r = plan_add_route (p, plan_ns (m, 0), cidr_network (pool), pool.len, 0, net->bridge);
  r->scope_link = true;
  r->protocol = RTPROT_STATIC;
}
