/* The iptables state of a node, as iptables-restore input.
 *
 * A real node's tables are written by three components: kubelet (the
 * KUBE-FIREWALL anti-martian chain, hint and canary chains), kube-proxy in
 * iptables mode (service chains, one restore per sync) and flannel (masquerade
 * and forward chains). nslab has no running daemons, so it writes what they
 * would have left behind in one `iptables-restore --noflush` payload per node,
 * applied to a fresh network namespace. */
#ifndef NSLAB_IPTABLES_RULES_H
#define NSLAB_IPTABLES_RULES_H

#include "k8s/model.h"

/* Complete iptables-restore --noflush input for node `node` of the model:
   mangle, filter, nat tables as a real k3s (or kubeadm, per
   m->sc->cluster.flavor) node has them after kubelet, kube-proxy and flannel
   started. Caller frees. NULL if node is out of range. */
char *iptables_node_payload (const struct model *m, int node);

/* The service model both proxy modes read, built once per plan: the
   model's service ports in kube-proxy's test order, with the iptables text
   of every port that is the same on every node written once (the rest,
   ports with a Local traffic policy or source ranges, is written per node
   by iptables_node_payload_with). The fields it reads from model_service:
   type, cluster_ip, ports (name, protocol, port, node_port, endpoints with
   their node), affinity, etp_local, itp_local, external_ips, lb_ips,
   source_ranges, hc_node_port. */
struct kube_proxy_services;
struct kube_proxy_services *kube_proxy_services (const struct model *m);
void kube_proxy_services_free (struct kube_proxy_services *ks);
/* iptables_node_payload with the service rules KS (NULL: none, as without
   kube-proxy in iptables mode). */
char *iptables_node_payload_with (const struct model *m, int node, const struct kube_proxy_services *ks);

/* NAT router of node `node`, NIC `nic` (a NAT network): masquerade what comes
   from the NAT network, like the VirtualBox NAT engine does. Caller frees.
   NULL if node/nic are out of range or the NIC is not on a NAT network. */
char *iptables_natrouter_payload (const struct model *m, int node, int nic);

/* How kube-proxy sees one service port on one node (CategorizeEndpoints
   and the servicePortInfo predicates of pkg/proxy), the same in both proxy
   modes. node_port and n_lb are 0 where the type has none. */
struct kube_port_view {
  bool has_endpoints;          /* usable endpoints anywhere in the cluster */
  bool externally_accessible;  /* node port, load-balancer IPs or externalIPs */
  bool ext_local, int_local;   /* ExternalPolicyLocal, InternalPolicyLocal */
  bool uses_cluster, uses_local;
  size_t n_local;              /* endpoints on this node */
  bool has_internal, has_external;
};
struct kube_port_view kube_proxy_port_view (const struct model_service *svc, const struct model_svc_port *port,
                                            uint16_t node_port, size_t n_lb, int node);
/* Whether a port's rules depend on the node they are written for: Local
   policies pick the node's endpoints, source ranges may hold its address. */
bool kube_proxy_port_per_node (const struct model_service *svc);

/* kube-proxy's masquerade mark as it writes it: fmt.Sprintf("%#08x",
   1<<bit), which Go renders as "0x00004000" for bit 14. out needs 16 bytes. */
char *kube_proxy_mark (int masquerade_bit, char out[16]);

/* kube-proxy's probability string for 1/n: "%0.10f". out needs 16 bytes. */
char *kube_proxy_probability (int n, char out[16]);

#endif
