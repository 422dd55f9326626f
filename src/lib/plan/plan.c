/* From the model to the ordered list of kernel operations. What each node
 * gets, and in which shape, is what a real node has after VirtualBox,
 * netplan/DHCP, flannel, the CNI bridge plugin, kubelet and kube-proxy have
 * run; the comments name who creates each object on a real node. */
#include "plan/plan.h"

#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>

#include "plan/kube_proxy_iptables.h"
#include "k8s/names.h"
#include "base/util.h"

/* VirtualBox's NAT engine answers as 52:54:00:12:35:02 (gateway). */
static const uint8_t vbox_nat_gateway_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x35, 0x02 };
/* flannel.1 MTU = underlay MTU - 50 (VXLAN overhead), and so cni0 and pods. */
#define VXLAN_OVERHEAD 50

static struct plan_op *
push_op (struct plan *p, enum plan_op_kind kind, int ns)
{
  struct plan_op *op = VEC_PUSH (p->ops, p->n_ops);
  op->kind = kind;
  op->ns = ns;
  return op;
}

static void
plan_sysctl (struct plan *p, int ns, const char *key, const char *value)
{
  struct plan_op *op = push_op (p, OP_SYSCTL, ns);
  op->u.sysctl.key = xstrdup (key);
  op->u.sysctl.value = xstrdup (value);
}

static struct plan_link *
plan_veth (struct plan *p, int ns, const char *name, const uint8_t *mac, int peer_ns, const char *peer,
           const uint8_t *peer_mac, uint32_t mtu)
{
  struct plan_op *op = push_op (p, OP_LINK, ns);
  struct plan_link *l = &op->u.link;
  l->kind = LINK_VETH;
  l->name = xstrdup (name);
  l->mtu = mtu;
  if (mac)
    {
      memcpy (l->mac, mac, 6);
      l->has_mac = true;
    }
  l->peer_name = xstrdup (peer);
  l->peer_ns = peer_ns;
  if (peer_mac)
    {
      memcpy (l->peer_mac, peer_mac, 6);
      l->peer_has_mac = true;
    }
  return l;
}

static void
plan_bridge (struct plan *p, int ns, const char *name, const uint8_t *mac, uint32_t mtu)
{
  struct plan_op *op = push_op (p, OP_LINK, ns);
  op->u.link.kind = LINK_BRIDGE;
  op->u.link.name = xstrdup (name);
  op->u.link.mtu = mtu;
  if (mac)
    {
      memcpy (op->u.link.mac, mac, 6);
      op->u.link.has_mac = true;
    }
}

static void
plan_link_set (struct plan *p, int ns, const char *name, const char *master, bool hairpin)
{
  struct plan_op *op = push_op (p, OP_LINK_SET, ns);
  op->u.set.name = xstrdup (name);
  op->u.set.master = master ? xstrdup (master) : NULL;
  op->u.set.hairpin = hairpin;
  op->u.set.up = true;
}

static void
plan_addr (struct plan *p, int ns, const char *dev, uint32_t addr, uint8_t len, uint32_t metric)
{
  struct plan_op *op = push_op (p, OP_ADDR, ns);
  op->u.addr.dev = xstrdup (dev);
  op->u.addr.addr.addr = addr;
  op->u.addr.addr.len = len;
  op->u.addr.metric = metric;
}

static struct plan_route *
plan_route (struct plan *p, int ns, uint32_t dst, uint8_t len, uint32_t gw, const char *dev)
{
  struct plan_op *op = push_op (p, OP_ROUTE, ns);
  struct plan_route *r = &op->u.route;
  r->dst.addr = dst;
  r->dst.len = len;
  r->gw = gw;
  r->dev = xstrdup (dev);
  r->protocol = RTPROT_BOOT;
  return r;
}

static void
plan_process (struct plan *p, int ns, enum process_role role, int owner, char *title, const char *hostname,
              const struct app_def *app)
{
  struct plan_op *op = push_op (p, OP_PROCESS, ns);
  op->u.proc.role = role;
  op->u.proc.owner = owner;
  op->u.proc.title = title;
  op->u.proc.hostname = xstrdup (hostname);
  op->u.proc.app = app;
}

static void
plan_labhost (struct plan *p)
{
  const struct scenario *sc = p->model->sc;
  /* vboxnet0: the host-only network's bridge, holding the host's .1. */
  for (size_t i = 0; i < sc->n_networks; i++)
    {
      const struct network_def *net = &sc->networks[i];
      if (net->kind != NET_HOSTONLY)
        continue;
      char key[256];
      uint8_t mac[6];
      snprintf (key, sizeof key, "bridge/%s/%s", sc->lab, net->bridge);
      mac_local (fnv1a64_str (key), mac);
      plan_bridge (p, 0, net->bridge, mac, sc->cluster.underlay_mtu);
      plan_addr (p, 0, net->bridge, net->gateway, net->cidr.len, 0);
    }
}

/* Create the node's NICs as VirtualBox wires them: the NAT NIC to its own
 * NAT router, the host-only NICs to the lab host's bridge. */
static void
plan_node_nics (struct plan *p, const struct model_node *n)
{
  const struct cluster_def *c = &p->model->sc->cluster;
  for (size_t k = 0; k < n->n_nics; k++)
    {
      const struct model_nic *nic = &n->nics[k];
      bool nat = nic->net->kind == NET_NAT;
      uint8_t peer_mac[6];
      if (nat && nic->net->hypervisor == HV_VMWARE)
        {
          /* VMware's NAT device answers with a MAC of its own OUI. */
          static const uint8_t vmware_oui[3] = { 0x00, 0x50, 0x56 };
          char key[512];
          snprintf (key, sizeof key, "natgw/%s/%s", p->model->lab, nic->net->name);
          mac_vendor (vmware_oui, fnv1a64_str (key), peer_mac);
        }
      else if (nat)
        memcpy (peer_mac, vbox_nat_gateway_mac, 6);
      else
        {
          char key[512];
          snprintf (key, sizeof key, "peer/%s/%s/%s", p->model->lab, n->name, nic->ifname);
          mac_local (fnv1a64_str (key), peer_mac);
        }
      plan_veth (p, n->netns, nic->ifname, nic->mac, nic->peer_ns, nic->peer_ifname, peer_mac, c->underlay_mtu);
    }
  for (size_t k = 0; k < n->n_nics; k++)
    {
      const struct model_nic *nic = &n->nics[k];
      plan_link_set (p, n->netns, nic->ifname, NULL, false);
      plan_link_set (p, nic->peer_ns, nic->peer_ifname, nic->net->kind == NET_NAT ? NULL : nic->net->bridge, false);
    }
}

static void
plan_node (struct plan *p, const struct model_node *n)
{
  const struct model *m = p->model;
  const struct cluster_def *c = &m->sc->cluster;
  uint32_t pod_mtu = c->underlay_mtu - VXLAN_OVERHEAD;
  const struct model_nic *underlay = &n->nics[n->internal_nic];
  int ns = n->netns;
  char key[512];

  /* kubelet / k3s / kube-proxy sysctls; br_netfilter must see bridged pod
   * traffic or conntrack cannot undo DNAT on same-node replies. */
  plan_sysctl (p, ns, "net.ipv4.ip_forward", "1");
  plan_sysctl (p, ns, "net.bridge.bridge-nf-call-iptables", "1");
  plan_sysctl (p, ns, "net.bridge.bridge-nf-call-ip6tables", "1");
  plan_sysctl (p, ns, "net.ipv4.conf.all.route_localnet", "1");

  plan_node_nics (p, n);

  /* flannel.1: VNI, local = INTERNAL-IP, dev = its NIC, nolearning, MTU-50. */
  struct plan_op *op = push_op (p, OP_LINK, ns);
  struct plan_link *vx = &op->u.link;
  vx->kind = LINK_VXLAN;
  vx->name = xasprintf ("flannel.%u", c->vxlan_vni);
  vx->mtu = pod_mtu;
  memcpy (vx->mac, n->vtep_mac, 6);
  vx->has_mac = true;
  vx->vni = c->vxlan_vni;
  vx->dstport = c->vxlan_port;
  vx->local = n->internal_ip;
  vx->dev = xstrdup (underlay->ifname);
  vx->learning = false;
  cleanup_free char *flannel_dev = xstrdup (vx->name);
  plan_link_set (p, ns, flannel_dev, NULL, false);
  cleanup_free char *accept_ra = xasprintf ("net/ipv6/conf/%s/accept_ra", flannel_dev);
  plan_sysctl (p, ns, accept_ra, "0");

  /* cni0 exists once the first pod is set up by the bridge plugin. */
  if (n->n_pods > 0)
    {
      uint8_t mac[6];
      snprintf (key, sizeof key, "cni0/%s/%s", m->lab, n->name);
      mac_local (fnv1a64_str (key), mac);
      plan_bridge (p, ns, "cni0", mac, pod_mtu);
      plan_sysctl (p, ns, "net/ipv6/conf/cni0/accept_ra", "0");
      for (size_t i = 0; i < m->n_pods; i++)
        {
          const struct model_pod *pod = &m->pods[i];
          if (pod->node != n->index)
            continue;
          /* The kernel would pick a random MAC; a hashed one keeps the
           * IPv6 link-local addresses (EUI-64) the same run after run. */
          uint8_t host_mac[6];
          snprintf (key, sizeof key, "hostveth/%s/%s/%s", m->lab, pod->ns, pod->name);
          mac_local (fnv1a64_str (key), host_mac);
          plan_veth (p, ns, pod->host_veth, host_mac, pod->netns, "eth0", pod->mac, pod_mtu);
          plan_link_set (p, ns, pod->host_veth, "cni0", true);
        }
    }

  /* Addresses: the NAT NIC from VirtualBox's DHCP (metric 100 from the
   * DHCP client), host-only NICs static (netplan). */
  for (size_t k = 0; k < n->n_nics; k++)
    {
      const struct model_nic *nic = &n->nics[k];
      plan_addr (p, ns, nic->ifname, nic->addr, nic->net->cidr.len, nic->net->kind == NET_NAT ? 100 : 0);
    }
  if (n->n_pods > 0)
    plan_addr (p, ns, "cni0", cidr_network (n->pod_cidr) + 1, n->pod_cidr.len, 0);
  /* flannel gives flannel.1 the network address of the node's subnet as a
   * /32: no broadcast routes, a source address for host-to-pod traffic. */
  plan_addr (p, ns, flannel_dev, cidr_network (n->pod_cidr), 32, 0);

  /* The first NAT NIC carries the default route the DHCP lease gives. */
  for (size_t k = 0; k < n->n_nics; k++)
    {
      const struct model_nic *nic = &n->nics[k];
      if (nic->net->kind != NET_NAT)
        continue;
      struct plan_route *r = plan_route (p, ns, nic->net->gateway, 32, 0, nic->ifname);
      r->scope_link = true;
      r->protocol = RTPROT_DHCP;
      r->src = nic->addr;
      r->metric = 100;
      r = plan_route (p, ns, 0, 0, nic->net->gateway, nic->ifname);
      r->protocol = RTPROT_DHCP;
      r->src = nic->addr;
      r->metric = 100;
      break;
    }

  /* flannel, per remote node: ARP entry for its VTEP, FDB entry pointing
   * its MAC at its INTERNAL-IP, then the onlink route to its pod subnet. */
  for (size_t i = 0; i < m->n_nodes; i++)
    {
      const struct model_node *peer = &m->nodes[i];
      if (peer == n)
        continue;
      op = push_op (p, OP_NEIGH, ns);
      op->u.neigh.dev = xstrdup (flannel_dev);
      op->u.neigh.ip = cidr_network (peer->pod_cidr);
      memcpy (op->u.neigh.lladdr, peer->vtep_mac, 6);
      op = push_op (p, OP_FDB, ns);
      op->u.fdb.dev = xstrdup (flannel_dev);
      memcpy (op->u.fdb.lladdr, peer->vtep_mac, 6);
      op->u.fdb.dst = peer->internal_ip;
      struct plan_route *r = plan_route (p, ns, cidr_network (peer->pod_cidr), peer->pod_cidr.len,
                                         cidr_network (peer->pod_cidr), flannel_dev);
      r->onlink = true;
    }

  op = push_op (p, OP_IPTABLES, ns);
  op->u.ipt.payload = iptables_node_payload (m, n->index);
}

/* VirtualBox NAT: the router answers the gateway (and DNS) address and
 * masquerades what leaves the NAT network. */
static void
plan_natrouters (struct plan *p, const struct model_node *n)
{
  for (size_t k = 0; k < n->n_nics; k++)
    {
      const struct model_nic *nic = &n->nics[k];
      if (nic->net->kind != NET_NAT)
        continue;
      int ns = nic->peer_ns;
      plan_sysctl (p, ns, "net.ipv4.ip_forward", "1");
      plan_addr (p, ns, nic->peer_ifname, nic->net->gateway, nic->net->cidr.len, 0);
      if (nic->net->dns)
        plan_addr (p, ns, nic->peer_ifname, nic->net->dns, nic->net->cidr.len, 0);
      struct plan_op *op = push_op (p, OP_IPTABLES, ns);
      op->u.ipt.payload = iptables_natrouter_payload (p->model, n->index, (int) k);
    }
}

/* /etc/hosts as kubelet writes it for a pod (pkg/kubelet/kubelet_pods.go). */
static char *
pod_etc_hosts (const struct model_pod *pod)
{
  char ip[IP_STRLEN];
  return xasprintf ("# Kubernetes-managed hosts file.\n"
                    "127.0.0.1\tlocalhost\n"
                    "::1\tlocalhost ip6-localhost ip6-loopback\n"
                    "fe00::0\tip6-localnet\n"
                    "fe00::0\tip6-mcastprefix\n"
                    "fe00::1\tip6-allnodes\n"
                    "fe00::2\tip6-allrouters\n"
                    "%s\t%s\n",
                    ip_fmt (pod->ip, ip), pod->name);
}

/* /etc/resolv.conf for dnsPolicy ClusterFirst. */
static char *
pod_resolv_conf (const struct model *m, const struct model_pod *pod)
{
  char ip[IP_STRLEN];
  const char *dom = m->sc->cluster.dns_domain;
  return xasprintf ("search %s.svc.%s svc.%s %s\nnameserver %s\noptions ndots:5\n", pod->ns, dom, dom, dom,
                    ip_fmt (m->sc->cluster.dns_ip, ip));
}

/* Inside the pod: what the bridge plugin sets up in the container netns. */
static void
plan_pod (struct plan *p, const struct model_pod *pod)
{
  const struct model *m = p->model;
  const struct model_node *n = &m->nodes[pod->node];
  uint32_t gw = cidr_network (n->pod_cidr) + 1;
  int ns = pod->netns;
  plan_sysctl (p, ns, "net.ipv4.conf.eth0.arp_notify", "1");
  plan_sysctl (p, ns, "net.ipv6.conf.eth0.accept_dad", "0");
  plan_addr (p, ns, "eth0", pod->ip, n->pod_cidr.len, 0);
  plan_link_set (p, ns, "eth0", NULL, false);
  /* host-local "routes": the cluster CIDR, then isDefaultGateway's default. */
  plan_route (p, ns, m->sc->cluster.pod_cidr.addr, m->sc->cluster.pod_cidr.len, gw, "eth0");
  plan_route (p, ns, 0, 0, gw, "eth0");
}

/* Bridges come up last, once their ports are up on both ends. A bridge
 * opened with a live port has carrier at once and its queue is activated
 * on the spot; one that gains carrier later waits for the kernel's
 * linkwatch, which handles such events at most once a second, and drops
 * what it is asked to send meanwhile (the first SYN of a learner's curl). */
static void
plan_bridges_up (struct plan *p)
{
  const struct model *m = p->model;
  const struct scenario *sc = m->sc;
  for (size_t i = 0; i < sc->n_networks; i++)
    if (sc->networks[i].kind == NET_HOSTONLY)
      plan_link_set (p, 0, sc->networks[i].bridge, NULL, false);
  for (size_t i = 0; i < m->n_nodes; i++)
    if (m->nodes[i].n_pods > 0)
      plan_link_set (p, m->nodes[i].netns, "cni0", NULL, false);
}

static void
plan_processes (struct plan *p)
{
  const struct model *m = p->model;
  for (size_t i = 0; i < m->n_nodes; i++)
    {
      const struct model_node *n = &m->nodes[i];
      plan_process (p, n->netns, PROC_NODE, (int) i, xasprintf ("nslab-pause %s node/%s", m->lab, n->name), n->name,
                    NULL);
    }
  for (size_t i = 0; i < m->n_pods; i++)
    {
      const struct model_pod *pod = &m->pods[i];
      char ip[IP_STRLEN];
      plan_process (p, pod->netns, PROC_POD, (int) i, xasprintf ("nslab-pause %s %s/%s", m->lab, pod->ns, pod->name),
                    pod->name, &pod->wl->app);
      struct plan_process *proc = &p->ops[p->n_ops - 1].u.proc;
      /* The downward-API variables a pod spec would typically expose. */
      proc->env = xcalloc (6, sizeof (char *));
      proc->env[0] = xasprintf ("POD_NAME=%s", pod->name);
      proc->env[1] = xasprintf ("POD_NAMESPACE=%s", pod->ns);
      proc->env[2] = xasprintf ("POD_IP=%s", ip_fmt (pod->ip, ip));
      proc->env[3] = xasprintf ("NODE_NAME=%s", m->nodes[pod->node].name);
      proc->env[4] = xasprintf ("HOSTNAME=%s", pod->name);
      proc->etc_hosts = pod_etc_hosts (pod);
      proc->resolv_conf = pod_resolv_conf (m, pod);
    }
}

int
plan_build (const struct scenario *sc, struct plan **out, nslab_error_t *err)
{
  struct model *m = NULL;
  if (model_build (sc, &m, err) < 0)
    return -1;
  struct plan *p = xcalloc (1, sizeof *p);
  p->model = m;
  /* Apply order: every namespace first (veth peers need their target),
   * then the lab host's bridges, each node with its NICs, NAT routers and
   * pod veths, the inside of each pod, the bridges brought up once their
   * ports are, and the processes last, once the network they live in is
   * complete. */
  for (size_t i = 0; i < m->n_netns; i++)
    push_op (p, OP_NETNS, (int) i);
  plan_labhost (p);
  for (size_t i = 0; i < m->n_nodes; i++)
    {
      plan_node (p, &m->nodes[i]);
      plan_natrouters (p, &m->nodes[i]);
    }
  for (size_t i = 0; i < m->n_pods; i++)
    plan_pod (p, &m->pods[i]);
  plan_bridges_up (p);
  plan_processes (p);
  *out = p;
  return 0;
}

void
plan_free (struct plan *p)
{
  if (p == NULL)
    return;
  for (size_t i = 0; i < p->n_ops; i++)
    {
      struct plan_op *op = &p->ops[i];
      switch (op->kind)
        {
        case OP_NETNS:
          break;
        case OP_SYSCTL:
          free (op->u.sysctl.key);
          free (op->u.sysctl.value);
          break;
        case OP_LINK:
          free (op->u.link.name);
          free (op->u.link.peer_name);
          free (op->u.link.dev);
          break;
        case OP_LINK_SET:
          free (op->u.set.name);
          free (op->u.set.master);
          break;
        case OP_ADDR:
          free (op->u.addr.dev);
          break;
        case OP_ROUTE:
          free (op->u.route.dev);
          break;
        case OP_NEIGH:
          free (op->u.neigh.dev);
          break;
        case OP_FDB:
          free (op->u.fdb.dev);
          break;
        case OP_IPTABLES:
          free (op->u.ipt.payload);
          break;
        case OP_PROCESS:
          free (op->u.proc.title);
          free (op->u.proc.hostname);
          for (char **e = op->u.proc.env; e && *e; e++)
            free (*e);
          free (op->u.proc.env);
          free (op->u.proc.etc_hosts);
          free (op->u.proc.resolv_conf);
          break;
        }
    }
  free (p->ops);
  model_free (p->model);
  free (p);
}
