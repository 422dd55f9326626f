/* The model: the scenario resolved the way a real cluster would resolve it.
 * Node pod CIDRs (kube-controller-manager), pod placement (scheduler), pod
 * names (deployment/replicaset controllers), pod IPs (host-local IPAM),
 * ClusterIPs and NodePorts (apiserver allocators), endpoints (endpointslice
 * controller), MACs and veth names. Pure and deterministic: the same
 * scenario always gives the same model. */
#ifndef NSLAB_MODEL_H
#define NSLAB_MODEL_H

#include "scenario/scenario.h"

struct model_nic {
  const struct nic_def *def;
  char *ifname;          /* enp0s3 */
  uint32_t addr;
  const struct network_def *net;
  uint8_t mac[6];        /* VirtualBox OUI 08:00:27 */
  char *peer_ifname;     /* the other end: "eth0" in the NAT router, "<node>-<if>" in the lab host */
  int peer_ns;           /* index into model->netns */
};

struct model_node {
  const struct node_def *def;
  char *name;
  int index;             /* node order = pod CIDR order */
  enum node_role role;
  bool schedulable;
  struct model_nic *nics;
  size_t n_nics;
  int internal_nic;
  uint32_t internal_ip;  /* INTERNAL-IP, VXLAN local address */
  struct cidr pod_cidr;  /* 10.42.0.0/24 */
  uint8_t vtep_mac[6];   /* flannel.1 MAC: locally administered unicast */
  /* cni = weave: the CIDR-aligned block of IPALLOC_RANGE this peer got from
   * Weave's IPAM ring (10.32.0.0/14, 10.44.0.0/14, 10.36.0.0/14 for three
   * peers) and the address `weave expose` gave the bridge, the first one
   * the peer allocated. Pods are allocated upward from there. */
  struct cidr weave_range;
  uint32_t weave_bridge_ip;
  int netns;             /* index into model->netns */
  size_t n_pods;
};

struct model_pod {
  const struct workload_def *wl;
  char *ns, *name;       /* demo, web-79ffc79c64-7lczb */
  char *replicaset;      /* web-79ffc79c64 (a deployment's), the replicaset's own name, NULL for a bare pod */
  int replica;           /* index within the workload */
  int node;              /* index into model->nodes */
  uint32_t ip;
  char *host_veth;       /* veth3a5f9c21 in the node namespace */
  uint8_t mac[6];        /* eth0 MAC */
  int netns;
};

struct model_endpoint {
  uint32_t ip;
  uint16_t port;
  int pod;               /* index into model->pods, -1 for the apiserver on a node */
  int node;              /* node the endpoint lives on */
};

struct model_svc_port {
  const struct port_def *def;
  char *name;            /* may be NULL */
  uint16_t port, target_port, node_port;
  enum l4proto protocol;
  /* Sorted by the string "ip:port", as kube-proxy sorts them. */
  struct model_endpoint *endpoints;
  size_t n_endpoints;
};

struct model_service {
  const struct service_def *def;
  char *ns, *name;
  enum svc_type type;
  uint32_t cluster_ip;
  struct model_svc_port *ports;
  size_t n_ports;
  bool affinity_client_ip;
  uint32_t affinity_timeout;
  /* LoadBalancer status (k3s servicelb): node INTERNAL-IPs, sorted. */
  uint32_t *lb_ips;
  size_t n_lb_ips;
};

enum netns_kind { NETNS_LABHOST, NETNS_NODE, NETNS_NATROUTER, NETNS_POD };

struct model_netns {
  char *name;            /* k3s-host, k3s-cp1, k3s-cp1-nat, k3s-demo-web-79ffc79c64-7lczb */
  enum netns_kind kind;
  int owner;             /* node index (NODE, NATROUTER), pod index (POD), -1 (LABHOST) */
  char *hostname;        /* UTS hostname: node or pod name */
};

struct model {
  const struct scenario *sc;
  char *lab;
  struct model_netns *netns;
  size_t n_netns;
  struct model_node *nodes;
  size_t n_nodes;
  struct model_pod *pods;
  size_t n_pods;
  struct model_service *services;
  size_t n_services;
};

/* Weave Net's IPAM for n peers joining one after the other (the first
 * claims the whole range alone, as `kubeadm init` + the weave DaemonSet run
 * before any `kubeadm join`; each later peer asks the peer with the most free
 * space, which donates per ipam/space.Donate). out[i] is the CIDR-aligned
 * block peer i allocates from, bridge[i] its first (expose) address.
 * Returns false if the range is too small for n peers. */
bool weave_ipam_ranges (struct cidr range, size_t n, struct cidr *out, uint32_t *bridge);

/* Resolve the scenario. Fails (exit code 2) only for what validation cannot
 * see without allocating: a full node subnet, an exhausted service range. */
int model_build (const struct scenario *sc, struct model **out, nslab_error_t *err);
void model_free (struct model *m);


#endif
