/* k3s servicelb's pods (pkg/cloudprovider/servicelb.go, rancher/klipper-lb):
 * what each svclb pod does to the node and to itself. The node: kubelet
 * sets the pod's sysctl net.ipv4.ip_forward=1, and the CNI portmap plugin
 * (chained after the bridge in k3s's flannel conflist, called by containerd
 * with the containers' hostPorts as runtimeConfig.portMappings) DNATs each
 * host port to the pod: CNI-HOSTPORT-DNAT, CNI-DN-<hash> and the
 * masquerade mark, appended to PREROUTING and OUTPUT, so behind kube-proxy's
 * KUBE-SERVICES jump. The real plugin makes them (an OP_CNI, as in
 * cni_runtime = plugins), in either runtime mode. The pod: klipper-lb's
 * entry script, once per container (one per port, in port order): FORWARD
 * ACCEPT from the source ranges, DROP to the destination, DNAT of the port
 * to the destination and MASQUERADE, in the pod's own network namespace. */
#include <string.h>

#include "base/json.h"
#include "base/util.h"
#include "plan/builder.h"

const struct model_service *
servicelb_service (const struct model *m, const struct model_pod *pod)
{
  const struct workload_def *w = pod->wl;
  if (w == NULL || w->kind != WL_DAEMONSET || w->lb_svc_ns == NULL)
    return NULL;
  for (size_t i = 0; i < m->n_services; i++)
    if (strcmp (m->services[i].ns, w->lb_svc_ns) == 0 && strcmp (m->services[i].name, w->lb_svc_name) == 0)
      return &m->services[i];
  return NULL;
}

/* entry's start_proxy with the container's environment: SRC_PORT = the
 * port, SRC_RANGES = the source ranges joined by "," (0.0.0.0/0 without),
 * DEST_PROTO; Cluster policy: DEST_PORT = the port, DEST_IPS = the
 * ClusterIP; Local: the NodePort on status.hostIPs (this node's address). */
char *
servicelb_entry_script (const struct model *m, const struct model_pod *pod)
{
  const struct model_service *s = servicelb_service (m, pod);
  struct strbuf sb;
  sb_init (&sb);
  sb_add (&sb, "set -e; [ \"$(cat /proc/sys/net/ipv4/ip_forward)\" = 1 ]");
  if (s == NULL)
    return sb_steal (&sb);
  char ranges[1024] = "0.0.0.0/0", ip[IP_STRLEN];
  size_t off = 0;
  for (size_t i = 0; i < s->n_source_ranges && off < sizeof ranges - CIDR_STRLEN - 1; i++)
    {
      char c[CIDR_STRLEN];
      off += (size_t) snprintf (ranges + off, sizeof ranges - off, "%s%s", i ? "," : "",
                                cidr_fmt (s->source_ranges[i], c));
    }
  uint32_t dest = s->etp_local ? m->nodes[pod->node].internal_ip : s->cluster_ip;
  ip_fmt (dest, ip);
  for (size_t k = 0; k < s->n_ports; k++)
    {
      const struct model_svc_port *p = &s->ports[k];
      const char *proto = proto_name (p->protocol);
      unsigned dport = s->etp_local ? p->node_port : p->port;
      /* The ACCEPT sees the packet after the DNAT below: klipper-lb's
         entry matches DEST_PORT there, not the service port. */
      sb_addf (&sb, "; iptables -t filter -I FORWARD -s %s -p %s --dport %u -j ACCEPT", ranges, proto, dport);
      sb_addf (&sb, "; iptables -t filter -A FORWARD -d %s/32 -p %s --dport %u -j DROP", ip, proto, dport);
      sb_addf (&sb, "; iptables -t nat -I PREROUTING ! -s %s/32 -p %s --dport %u -j DNAT --to %s:%u", ip, proto,
               p->port, ip, dport);
      sb_addf (&sb, "; iptables -t nat -I POSTROUTING -d %s/32 -p %s -j MASQUERADE", ip, proto);
    }
  /* entry ends blocked on a fifo (</pause); the lab keeps the host's
   * files untouched, so it sleeps instead. Its rules are in by then: it
   * closes the ready fd (plan_app.ready_fd), and the pod counts as started.
   * A client of the LoadBalancer right after up would otherwise race the
   * script: refused before its DNAT, or, between its DNAT and its
   * MASQUERADE, a connection conntrack keeps unmasqueraded, which hangs. */
  sb_addf (&sb, "; exec sleep infinity %d>&-", PLAN_APP_READY_FD);
  return sb_steal (&sb);
}

void
servicelb_plan_pod (struct plan *p, const struct model *m, const struct model_pod *pod)
{
  const struct model_service *s = servicelb_service (m, pod);
  if (s == NULL)
    return;
  const struct model_node *n = &m->nodes[pod->node];
  const char *pod_ns = plan_ns (m, pod->netns);
  /* securityContext.sysctls, set by kubelet in the sandbox's namespace */
  plan_add_sysctl (p, pod_ns, "net.ipv4.ip_forward", "1");
  json_t *maps = json_array ();
  for (size_t k = 0; k < s->n_ports; k++)
    json_array_append_new (maps, json_pack ("{s:i, s:i, s:s}", "hostPort", (json_int_t) s->ports[k].port,
                                            "containerPort", (json_int_t) s->ports[k].port, "protocol",
                                            proto_lower (s->ports[k].protocol)));
  /* The bridge plugin's result as containerd passes it on: the pod's
   * address on its eth0 (portmap reads only the addresses). */
  struct cidr net = m->sc->cluster.cni == CNI_WEAVE ? n->weave_range : n->pod_cidr;
  char addr[CIDR_STRLEN + 4], gw[IP_STRLEN], pod_ip[IP_STRLEN];
  snprintf (addr, sizeof addr, "%s/%u", ip_fmt (pod->ip, pod_ip), net.len);
  ip_fmt (m->sc->cluster.cni == CNI_WEAVE ? n->weave_bridge_ip : net.addr + 1, gw);
  cleanup_free char *node_netns = plan_pod_node_netns (m, pod);
  cleanup_free char *sandbox = xasprintf (PLAN_NODE_NETNS_DIR "/%s", node_netns);
  const char *version = m->sc->cluster.flavor == FLAVOR_K3S ? "1.0.0" : "0.3.1";
  json_t *prev = json_pack ("{s:s, s:[{s:s, s:s}], s:[{s:s, s:s, s:i}]}", "cniVersion", version, "interfaces", "name",
                            "eth0", "sandbox", sandbox, "ips", "address", addr, "gateway", gw, "interface",
                            (json_int_t) 0);
  json_t *conf = json_pack ("{s:s, s:s, s:s, s:{s:b}, s:{s:o}, s:o}", "cniVersion", version, "name", "cbr0", "type",
                            "portmap", "capabilities", "portMappings", 1, "runtimeConfig", "portMappings", maps,
                            "prevResult", prev);
  cleanup_free char *id = plan_sandbox_id (m, pod);
  plan_add_cni (p, m, pod, id, "eth0", "portmap", "cbr0", json_compact (conf), 0);
}
