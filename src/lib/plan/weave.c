/* What Weave Net (weave-kube, fastdp) creates on a node, read from
 * weaveworks/weave net/bridge.go, plugin/net/cni.go and prog/weave-kube:
 *   - the bridge "weave" holding the address `weave expose` allocated, with
 *     the whole IPALLOC_RANGE as its prefix (one L2 segment for the cluster,
 *     hence the kernel route 10.32.0.0/12 dev weave proto kernel scope link);
 *   - the pair vethwe-bridge (port of weave) / vethwe-datapath (port of the
 *     datapath) that joins the bridge to the datapath;
 *   - "datapath" and its vxlan vport vxlan-6784, which carry the bridge's
 *     frames to the other peers on UDP 6784;
 *   - per pod, vethwepl<id> on weave with eth0 in the pod: the address with
 *     the range's prefix and a default route via the bridge address.
 * fastdp's datapath is an Open vSwitch kernel datapath programmed by the
 * weave router; nslab has no openvswitch module, so "datapath" is a Linux
 * bridge and vxlan-6784 a plain vxlan device flooding to every peer
 * (docs/weave.md says what differs). Weave's iptables rules are in the node
 * payload (kube_proxy_iptables.c). */
#include <string.h>

#include "base/util.h"
#include "plan/builder.h"

#define WEAVE_BRIDGE "weave"
#define WEAVE_DATAPATH "datapath"
#define WEAVE_VXLAN "vxlan-6784"
/* weave-kube's default WEAVE_MTU with fastdp: 1500 minus the VXLAN and
 * weave's own headroom. */
#define WEAVE_MTU 1376
/* fastdp's UDP port (the control port 6783 + 1). */
#define WEAVE_FASTDP_PORT 6784

void
weave_plan_node (struct plan *p, const struct model *m, const struct model_node *n)
{
  const char *ns = plan_ns (m, n->netns);
  uint8_t mac[6];
  plan_local_mac (mac, "weave/%s/%s", m->lab, n->name);
  plan_add_bridge (p, ns, WEAVE_BRIDGE, mac, WEAVE_MTU);
  plan_local_mac (mac, "datapath/%s/%s", m->lab, n->name);
  plan_add_bridge (p, ns, WEAVE_DATAPATH, mac, WEAVE_MTU);
  uint8_t mac2[6];
  plan_local_mac (mac, "vethwe-bridge/%s/%s", m->lab, n->name);
  plan_local_mac (mac2, "vethwe-datapath/%s/%s", m->lab, n->name);
  plan_add_veth (p, ns, "vethwe-bridge", mac, ns, "vethwe-datapath", mac2, WEAVE_MTU);
  plan_add_link_set (p, ns, "vethwe-bridge", WEAVE_BRIDGE, false);
  plan_add_link_set (p, ns, "vethwe-datapath", WEAVE_DATAPATH, false);

  /* The vport: fastdp's is "external" (VNI per peer pair, set per flow);
   * here one VNI 0 for the cluster, learning MACs from what arrives. */
  struct plan_link *vx = &plan_push (p, OP_LINK, ns)->u.link;
  vx->kind = LINK_VXLAN;
  vx->name = xstrdup (WEAVE_VXLAN);
  vx->mtu = m->sc->cluster.underlay_mtu - VXLAN_OVERHEAD;
  plan_local_mac (vx->mac, "vxlan-6784/%s/%s", m->lab, n->name);
  vx->has_mac = true;
  vx->vni = 0;
  vx->dstport = WEAVE_FASTDP_PORT;
  vx->local = n->internal_ip;
  vx->dev = xstrdup (n->nics[n->internal_nic].ifname);
  vx->learning = true;
  plan_add_link_set (p, ns, WEAVE_VXLAN, WEAVE_DATAPATH, false);

  /* weave's CreateAndAttachVeth turns hairpin on too, so a pod reaches
   * itself through a Service. */
  plan_add_pod_veths (p, m, n, WEAVE_BRIDGE, WEAVE_MTU, false);
}

/* `weave expose`: the bridge's address with the range's prefix; and the
 * flood entries that send broadcasts and unknown unicast to every peer, as
 * the weave router forwards them to all peers it is connected to. */
void
weave_plan_node_addr (struct plan *p, const struct model *m, const struct model_node *n)
{
  const char *ns = plan_ns (m, n->netns);
  plan_add_addr (p, ns, WEAVE_BRIDGE, n->weave_bridge_ip, m->sc->cluster.pod_cidr.len, 0);
  for (size_t i = 0; i < m->n_nodes; i++)
    {
      const struct model_node *peer = &m->nodes[i];
      if (peer == n)
        continue;
      struct plan_fdb *f = &plan_push (p, OP_FDB, ns)->u.fdb;
      f->dev = xstrdup (WEAVE_VXLAN);
      f->dst = peer->internal_ip;
    }
}

/* Inside the pod: SetupGuest and setupRoutes of the weave CNI plugin. */
void
weave_plan_pod (struct plan *p, const struct model *m, const struct model_pod *pod)
{
  const struct model_node *n = &m->nodes[pod->node];
  const char *ns = plan_ns (m, pod->netns);
  plan_add_addr (p, ns, "eth0", pod->ip, m->sc->cluster.pod_cidr.len, 0);
  plan_add_link_set (p, ns, "eth0", NULL, false);
  plan_add_route (p, ns, 0, 0, n->weave_bridge_ip, "eth0");
}

/* See hypervisor_plan_bridges_up for why bridges come up last. */
void
weave_plan_bridges_up (struct plan *p, const struct model *m)
{
  for (size_t i = 0; i < m->n_nodes; i++)
    {
      const char *ns = plan_ns (m, m->nodes[i].netns);
      plan_add_link_set (p, ns, WEAVE_DATAPATH, NULL, false);
      plan_add_link_set (p, ns, WEAVE_BRIDGE, NULL, false);
    }
}
